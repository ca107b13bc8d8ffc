"""Sweeps over config fields and seeds (plasticity_utils/sweep.py, python -m plasticity_utils sweep), run locally on
a tiny pattern task."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from plasticity_utils import cli, sweep  # noqa: E402
from plasticity_utils.experiments import binary_patterns as bp  # noqa: E402
from plasticity_utils.experiments.contract import Profile  # noqa: E402
from plasticity_utils.tasks.patterns import PatternTask  # noqa: E402

TASK = PatternTask(n_bits=12, n_patterns=2, cycles=1, show=2, gap=1, test_show=2)
BASE = bp.Config(task=TASK, episodes=3)


@pytest.fixture
def tiny(monkeypatch, tmp_path):
    monkeypatch.setitem(bp.PROFILES, "smoke", Profile({"released": BASE, "text": BASE}, 2, "test"))
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path))
    monkeypatch.delenv("PLASTICITY_EXECUTOR", raising=False)
    return tmp_path


def test_parse_grid_and_seeds():
    grid, seeds = sweep.parse_grid(["lr=3e-4,1e-3", "episodes=5,1e1", "task.show=3", "learn_eta=false", "seeds=0-2,7"],
                                   BASE)
    assert grid == {"lr": [3e-4, 1e-3], "episodes": [5, 10], "task.show": [3], "learn_eta": [False]}
    assert seeds == [0, 1, 2, 7]
    assert len(sweep.points_of(grid)) == 4
    config = sweep.replaced(BASE, {"task.show": 3, "lr": 1e-3})
    assert config.task.show == 3 and config.lr == 1e-3 and config.task.gap == TASK.gap
    for bad, match in [("momentum=0.9", "no field"), ("lr=fast", "expected a float"), ("lr", "field=value"),
                       ("learn_eta=maybe", "true or false"), ("seeds=a-b", "range"), ("task=1", "only number")]:
        with pytest.raises(ValueError, match=match):
            sweep.parse_grid([bad], BASE)
    with pytest.raises(ValueError):  # the config validates the swept value
        sweep.replaced(BASE, {"lr": -1.0})
    with pytest.raises(ValueError, match="maze lacks the capability 'sweep'"):
        sweep.module_of("maze")


def test_sweep_stores_ordinary_runs_and_tabulates(tiny, monkeypatch):
    base_runs = bp.run("smoke", schedules=("released",))  # the profile's own runs
    s = sweep.run_sweep("binary_patterns", "smoke", {"lr": [BASE.lr, 1e-3]}, [0, 1], variant="released")
    assert [p["lr"] for p in s.points] == [BASE.lr, 1e-3] and s.seeds == [0, 1]
    assert s.records[0] == base_runs.runs["released"]  # the point equal to the profile's config reuses its runs
    ((alone, _),) = bp.train_seeds(s.configs[1], [1], None, bp.pick_device("cpu"), progress=False)
    assert s.records[1][1]["error"] == alone["error"]  # each point's run is the ordinary run of its config
    t = sweep.table(s)
    assert list(t["lr"]) == [BASE.lr, 1e-3] and list(t["seeds"]) == [2, 2]
    assert t["mean"][1] == pytest.approx(np.mean([bp.metric(r) for r in s.records[1]]))
    assert sweep.plot(s, "lr") is not None
    # a second call loads everything
    monkeypatch.setattr(bp, "train_seeds", lambda *a, **k: pytest.fail("retrained"))
    again = sweep.run_sweep("binary_patterns", "smoke", {"lr": [BASE.lr, 1e-3]}, [0, 1], variant="released")
    assert again.records == s.records
    with pytest.raises(ValueError, match="variant"):
        sweep.run_sweep("binary_patterns", "smoke", {"lr": [1e-3]}, variant="fast")


def test_cli_prints_the_table(tiny, capsys):
    assert cli.main(["sweep", "binary_patterns", "--profile", "smoke", "lr=1e-3,2e-3", "seeds=0"]) == 0
    out = capsys.readouterr().out
    assert "metric: mean sign error" in out and "0.002" in out


def test_integer_fields_are_never_truncated():
    grid, _ = sweep.parse_grid(["episodes=2e0,2.0,1e1,7"], BASE)
    assert grid["episodes"] == [2, 2, 10, 7] and all(type(v) is int for v in grid["episodes"])
    for bad in ("episodes=2.7e0", "episodes=1.5", "batch=1.5e0", "task.show=2.5", "episodes=two"):
        with pytest.raises(ValueError, match="expected an integer"):
            sweep.parse_grid([bad], BASE)


def test_cli_user_errors_are_one_line(tiny, capsys, monkeypatch):
    monkeypatch.delenv("PLASTICITY_DASK_SCHEDULER", raising=False)
    for args, words in [(["episodes=2.7e0"], ["episodes='2.7e0'", "whole number"]),
                        (["momentum=0.9"], ["no field 'momentum'"]),
                        (["lr=1e-3", "--executor", "dask"], ["--scheduler", "PLASTICITY_DASK_SCHEDULER"]),
                        (["lr=1e-3", "--executor", "local", "--scheduler", "tcp://h:1"], ["--executor dask"]),
                        (["lr=1e-3", "--variant", "fast"], ["variant 'fast'", "('released', 'text')"])]:
        assert cli.main(["sweep", "binary_patterns", "--profile", "smoke", *args]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err
        assert all(w in err for w in words), err
    assert sweep.executor_of(None, "tcp://h:1") == "tcp://h:1" and sweep.executor_of(None, None) is None
