"""The paper-vs-ours summary table and the profile/path helpers."""

import json

import numpy as np
import pytest

from plasticity_utils import environment, plotting, report


def test_record_writes_rows_and_rebuilds_the_table(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path))
    row = {"claim": "error < 1%", "paper": "200", "ours": "230", "budget": "10 x 300", "verdict": "later"}
    report.record("01_x", [row], "cpu")
    report.record("00_y", [{**row, "claim": "other | piped"}], "cpu")
    assert json.loads((tmp_path / "summary" / "01_x.json").read_text()) == [{"released": "", **row}]
    table = (tmp_path / "README.md").read_text()
    assert table.index("## 00_y") < table.index("## 01_x")
    assert "| error < 1% | 200 |  | 230 | 10 x 300 | later |" in table
    assert "other \\| piped" in table
    report.record("01_x", [{**row, "ours": "190"}], "cpu")  # re-running replaces, never appends
    assert (tmp_path / "README.md").read_text().count("error < 1%") == 1


def test_the_table_names_the_other_profiles_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path))
    row = {"claim": "c", "paper": "p", "ours": "o", "budget": "b", "verdict": "reproduced"}
    report.record("01_x", [row], "cpu")
    assert "another profile" not in (tmp_path / "README.md").read_text()
    report.record("01_x", [row], "paper")
    report.write_table(tmp_path)
    assert "[`paper`](paper/README.md): 01_x." in (tmp_path / "README.md").read_text()
    assert "another profile" not in (tmp_path / "paper" / "README.md").read_text()


def test_save_table_writes_a_markdown_table(tmp_path):
    import pandas as pd

    table = pd.DataFrame([{"method": "a | b", "accuracy (%)": 98.3}, {"method": "ours", "accuracy (%)": "80.7"}])
    path = report.save_table(table, "cmp", tmp_path / "figs")
    assert path.read_text().splitlines() == ["| method | accuracy (%) |", "|---|---|",
                                             "| a \\| b | 98.3 |", "| ours | 80.7 |"]


def test_smoke_rows_go_elsewhere_and_are_marked(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / "results"))
    row = {"claim": "c", "paper": "p", "ours": "o", "budget": "b", "verdict": "reproduced"}
    table = report.record("01_x", [row], "smoke")
    assert not (tmp_path / "figures").exists()
    assert "not a reproduction" in table["verdict"][0]


def test_rows_must_be_complete(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path))
    with pytest.raises(ValueError, match="verdict"):
        report.record("x", [{"claim": "c", "paper": "p", "ours": "o", "budget": "b"}], "cpu")


def test_profiles_are_checked():
    assert environment.select("cpu", {"smoke": 1, "cpu": 2}) == 2
    with pytest.raises(ValueError, match="profile"):
        environment.select("fast", {"cpu": 2})
    with pytest.raises(ValueError, match="profile"):
        environment.results_dir("x", "gpu")


def test_smooth_is_a_trailing_mean():
    curve = np.array([[4.0, 2.0, 0.0, 0.0, 6.0]])
    np.testing.assert_allclose(plotting.smooth(curve, 2), [[4.0, 3.0, 1.0, 0.0, 3.0]])
    np.testing.assert_allclose(plotting.smooth(curve, 1), curve)


def test_save_writes_the_png_and_a_reproducible_pdf_beside_it(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    plotting.setup()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1, 2], [1, 0, 2])
    png = plotting.save(fig, "curve", tmp_path / "figures")
    pdf = png.with_suffix(".pdf")
    assert png == tmp_path / "figures" / "curve.png" and pdf.read_bytes().startswith(b"%PDF")
    with Image.open(png) as im:
        assert png.read_bytes().startswith(b"\x89PNG") and max(im.size) <= 4 * 150 + 10  # savefig.dpi 150
    first = pdf.read_bytes()
    plotting.save(fig, "curve", tmp_path / "figures")
    assert pdf.read_bytes() == first  # no creation date: the same figure gives the same file
    # figures made of images: PNG only, at the resolution asked for
    small = plotting.save(fig, "image", tmp_path / "figures", vector=False, dpi=50)
    assert not small.with_suffix(".pdf").exists()
    with Image.open(small) as im:
        assert max(im.size) <= 4 * 50 + 10
    plt.close(fig)


def test_tables_in_notebooks_are_never_cut():
    import pandas as pd

    plotting.setup()
    long = "partly: reversal prevented; one-shot with clipped alpha well above chance (median miss 0.076)"
    assert long in repr(pd.DataFrame([{"verdict": long}])) and long in pd.DataFrame([{"v": long}]).to_html()


def test_claims_fill_the_released_column_and_old_rows_leave_it_blank(tmp_path, monkeypatch):
    from plasticity_utils.experiments.contract import Claim

    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path))
    (tmp_path / "summary").mkdir()
    (tmp_path / "summary" / "00_old.json").write_text(json.dumps(
        [{"claim": "c0", "paper": "p", "ours": "o", "budget": "b", "verdict": "reproduced"}]))
    report.record("01_new", [Claim("c1", "p", "r (audit)", "o", "b", "not reproduced: why")], "cpu")
    table = (tmp_path / "README.md").read_text()
    assert "| c0 | p |  | o | b | reproduced |" in table
    assert "| c1 | p | r (audit) | o | b | not reproduced: why |" in table
