"""The command line over the contract (python -m plasticity_utils): list, run, and one error line per mistake;
its verbs chunks and sweep are tested in tests/test_chunks.py and tests/test_sweep.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from plasticity_utils import cli, experiments  # noqa: E402
from plasticity_utils.environment import ROOT  # noqa: E402
from plasticity_utils.experiments import binary_patterns as bp  # noqa: E402
from plasticity_utils.experiments.contract import Profile  # noqa: E402
from plasticity_utils.tasks.patterns import PatternTask  # noqa: E402

BASE = bp.Config(task=PatternTask(n_bits=12, n_patterns=2, cycles=1, show=2, gap=1, test_show=2), episodes=3)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    """binary_patterns' smoke profile on 12-bit patterns, results under tmp_path."""
    monkeypatch.setitem(bp.PROFILES, "smoke", Profile({"released": BASE, "text": BASE}, 2, "test"))
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path))
    return tmp_path


def test_list_names_every_experiment_its_notebook_and_capabilities(capsys):
    assert cli.main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(experiments.names())
    assert lines[1].split() == ["binary_patterns", "notebooks/01_binary_patterns.ipynb", "batched,", "sweep"]
    assert lines[0].split() == ["bohp2016", "notebooks/00_bohp_2016.ipynb", "-"]


def test_run_prints_the_claims_table_and_the_figures(tiny, capsys):
    assert cli.main(["run", "binary_patterns", "--profile", "smoke", "--seeds", "0", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("binary_patterns at profile smoke on cpu: released (2 runs), text (2 runs)\n")
    assert "| claim | paper | released | ours | budget | verdict |" in out
    assert "| smoke run: pipeline check only, not a reproduction |" in out  # as the summary shows a smoke run
    name, figure = out.split("\nfigures:\n")[1].strip().split(": ")
    assert name == "curves" and Path(figure).is_file() and Path(figure).parent == tiny / "smoke-figures"
    stored = sorted(p.name.rsplit("-", 1)[0] for p in (tiny / "binary_patterns" / "smoke").glob("*.json"))
    assert stored == ["released-seed0", "released-seed1", "text-seed0", "text-seed1"]  # <variant>-seed<k>-<hash>


@pytest.mark.parametrize("args, words", [
    (["run", "binary_patterns", "--profile", "gpu"], "profile='gpu' is not one of"),
    (["run", "binary_patterns", "--profile", "smoke", "--seeds", "0", "0"], "seeds must be distinct"),
    (["run", "natural_images", "--profile", "smoke", "--batched"], "natural_images lacks the capability 'batched'"),
    (["sweep", "binary_patterns", "--profile", "smoke", "lr"], "'lr': write field=value"),
])
def test_user_errors_are_one_line(tiny, capsys, args, words):
    assert cli.main(args) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and words in err, err


def test_unknown_verbs_and_experiments_are_usage_errors(capsys):
    for args in (["train", "maze"], ["run", "mnist"], ["sweep", "maze", "lr=1"], ["chunks", "run", "mnist"]):
        with pytest.raises(SystemExit) as e:
            cli.main(args)
        assert e.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_python_dash_m_runs_the_command_line():
    done = subprocess.run([sys.executable, "-m", "plasticity_utils", "list"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.split()[0] == "bohp2016"
