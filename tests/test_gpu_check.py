"""The GPU check (tools/gpu_check.py) runs end to end on the CPU with tiny settings, so that a broken script is
found before it runs on a GPU."""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import gpu_check  # noqa: E402


def test_gpu_check_smoke_on_cpu(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / "results"))
    out = tmp_path / "out"
    assert gpu_check.main(["--smoke", "--out", str(out), "--minutes", "5", "--device", "cpu"]) == 0
    assert "device cpu" in (out / "device.txt").read_text()
    equality = (out / "equality.txt").read_text()
    assert "omniglot: largest parameter difference" in equality and "patterns:" in equality
    assert "rnn:" in equality and "lstm_clamp:" in equality
    assert "needs a CUDA device" in (out / "graphs.txt").read_text() and (out / "graphs.json").exists()
    assert "predicted wall time" in (out / "gpu.txt").read_text() and (out / "gpu.json").exists()
    with tarfile.open(out / "results-omniglot-smoke.tar.gz") as tar:
        assert any(n.endswith(".json") for n in tar.getnames())


def test_a_failing_step_is_reported_and_the_rest_runs(tmp_path):
    def boom():
        raise RuntimeError("no GPU here")

    assert gpu_check.step("broken", tmp_path, boom) is False
    text = (tmp_path / "broken.txt").read_text()
    assert "no GPU here" in text and "FAILED" in text
    with pytest.raises(SystemExit):
        gpu_check.main(["--out", str(tmp_path), "--skip", "nothing"])


def test_a_failing_probe_is_listed_and_the_others_run(monkeypatch):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import gpu  # benchmarks/gpu.py

    real = gpu.probe

    def probe(module, call, updates):
        if module is gpu.pl:  # the baselines' probes
            raise RuntimeError("CUDA out of memory. Tried to allocate 1 GB")
        return real(module, call, updates)

    monkeypatch.setattr(gpu, "probe", probe)
    failed: list[str] = []
    rows = gpu.probes(torch.device("cpu"), 1, {"plastic_vs_lstm"}, 1, failed)
    assert [r["probe"].split(",")[0] for r in rows] == ["plastic_vs_lstm plastic (N=51)"]
    assert len(failed) == 3 and all("out of memory" in f for f in failed)
