"""Training in chunks of bounded time, and carrying a run store as an archive (plasticity_utils/chunks.py), and
their verb of the command line (python -m plasticity_utils chunks)."""

from __future__ import annotations

import json
import tarfile

import pytest
import torch

from plasticity_utils import chunks, cli
from plasticity_utils.experiments import omniglot as om
from plasticity_utils.experiments.contract import Profile
from plasticity_utils.tasks.omniglot import OmniglotTask

CONFIG = om.Config(task=OmniglotTask(n_way=5, n_test_classes=10), updates=6, batch=2, lr=1e-3, filters=8,
                   eval_every=3, curve_episodes=4, eval_episodes=5)


@pytest.fixture
def tiny_omniglot(monkeypatch, tmp_path):
    """The smoke profile of omniglot on 40 random classes, results under tmp_path."""
    images = torch.rand(40, 20, 31, 31, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(om, "images_ref", lambda root=None: images)  # what run() trains and scores on
    monkeypatch.setitem(om.PROFILES, "smoke", Profile({"plastic": CONFIG}, 2, "test", {"eval_episodes": 5}))
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / "results"))
    return tmp_path


def stored(tmp_path) -> dict[str, dict]:
    folder = tmp_path / "results" / "omniglot" / "smoke"
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


@pytest.mark.parametrize("batched", [False, True])
def test_chunks_resume_to_the_uninterrupted_result(tiny_omniglot, monkeypatch, batched):
    tmp = tiny_omniglot
    assert chunks.train_chunk("omniglot", "smoke", 1e-9, batched=batched) is False  # stops after one update
    assert list((tmp / "results" / "omniglot" / "smoke").glob("*.ckpt")) and not stored(tmp)
    runs = 0
    while not chunks.train_chunk("omniglot", "smoke", 1e-9, batched=batched):  # one update per chunk
        runs += 1
        assert runs < 20
    resumed = stored(tmp)
    assert len(resumed) == 2 and not list((tmp / "results" / "omniglot" / "smoke").glob("*.ckpt"))
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp / "again"))
    om.run("smoke", batched=batched, progress=False)
    again = {p.name: json.loads(p.read_text()) for p in sorted((tmp / "again" / "omniglot" / "smoke").glob("*.json"))}
    strip = lambda r: {k: v for k, v in r.items() if k not in ("seconds", "seconds_per_update", "batched")}  # noqa: E731
    assert {k: strip(v) for k, v in resumed.items()} == {k: strip(v) for k, v in again.items()}


def test_pack_and_unpack_carry_the_store(tiny_omniglot, monkeypatch):
    tmp = tiny_omniglot
    chunks.train_chunk("omniglot", "smoke", 10)
    archive = chunks.pack("omniglot", "smoke", tmp / "out" / "store.tar.gz")
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp / "elsewhere"))
    names = chunks.unpack(archive)
    assert sorted(n.split("/")[-1] for n in names if n.endswith(".json")) == sorted(stored(tmp))
    calls = []
    monkeypatch.setattr(om, "train_seeds", lambda *a, **k: calls.append(a))
    result = om.run("smoke", progress=False)  # loads the unpacked runs, trains nothing
    assert not calls and len(result.runs["plastic"]) == 2


def test_bad_arguments_and_foreign_archives(tiny_omniglot):
    tmp = tiny_omniglot
    with pytest.raises(ValueError, match="unknown experiment"):
        chunks.train_chunk("mnist", "smoke", 1)
    with pytest.raises(ValueError, match="minutes"):
        chunks.train_chunk("omniglot", "smoke", 0)
    with pytest.raises(ValueError, match="natural_images lacks the capability 'batched'"):
        chunks.train_chunk("natural_images", "smoke", 1, batched=True)
    with pytest.raises(FileNotFoundError):
        chunks.pack("maze", "smoke", tmp / "x.tar.gz")
    evil = tmp / "evil.tar.gz"
    (tmp / "passwd").write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(tmp / "passwd", arcname="../../passwd")
    with pytest.raises(ValueError, match="unexpected member"):
        chunks.unpack(evil)


def test_cli_exit_codes(tiny_omniglot, monkeypatch, capsys):
    assert cli.main(["chunks", "run", "omniglot", "--profile", "smoke", "--minutes", "1e-9"]) == chunks.RESUME
    assert cli.main(["chunks", "run", "omniglot", "--profile", "smoke", "--minutes", "10"]) == 0
    out = tiny_omniglot / "a.tar.gz"
    assert cli.main(["chunks", "pack", "omniglot", "--profile", "smoke", "-o", str(out)]) == 0 and out.exists()
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tiny_omniglot / "elsewhere"))
    capsys.readouterr()
    assert cli.main(["chunks", "unpack", str(out)]) == 0
    assert capsys.readouterr().out == "4 files unpacked\n"  # two finished runs: record and parameters each


def test_a_damaged_archive_is_one_error_line_naming_it(tiny_omniglot, capsys):
    tmp = tiny_omniglot
    assert cli.main(["chunks", "run", "omniglot", "--profile", "smoke", "--minutes", "10"]) == 0
    archive = chunks.pack("omniglot", "smoke", tmp / "store.tar.gz")
    raw = archive.read_bytes()
    for name, content in [("truncated.tar.gz", raw[: len(raw) // 2]), ("foreign.tar.gz", b"not an archive" * 10)]:
        (tmp / name).write_bytes(content)
        with pytest.raises(ValueError, match=f"{name} is damaged"):
            chunks.unpack(tmp / name)
        capsys.readouterr()
        assert cli.main(["chunks", "unpack", str(tmp / name)]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith(f"error: {tmp / name} is damaged")
    assert cli.main(["chunks", "pack", "maze", "--profile", "smoke", "-o", str(tmp / "x.tar.gz")]) == 1
    assert "nothing stored for maze" in capsys.readouterr().err
    assert cli.main(["chunks", "run", "natural_images", "--profile", "smoke", "--minutes", "1", "--batched"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: natural_images lacks the capability 'batched'")
