"""Runs trained on a Dask cluster equal runs trained locally; a worker that dies mid-run is resumed.

Uses a real ``distributed.LocalCluster`` with two worker processes (one thread each) and the Omniglot
model on 40 random classes, a few updates per run.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path

import cloudpickle
import pytest
import torch

from plasticity_utils import executors, training
from plasticity_utils.experiments import omniglot as om
from plasticity_utils.tasks.omniglot import OmniglotTask

distributed = pytest.importorskip("distributed")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the tests folder

CONFIG = om.Config(task=OmniglotTask(n_way=5, n_test_classes=10), updates=4, batch=2, lr=1e-3, filters=8,
                   eval_every=2, curve_episodes=4, eval_episodes=5)
TIMINGS = ("seconds", "seconds_per_update")


def trainer():
    images = torch.rand(40, 20, 31, 31, generator=torch.Generator().manual_seed(0))
    return functools.partial(om.train_seed, CONFIG, device=torch.device("cpu"), images=images, progress=False)


def strip(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


class DieOnce:
    """Train; the first time, stop after one update (checkpointed) and kill the worker process."""

    def __init__(self, train_seed, marker: Path) -> None:
        self.train_seed, self.marker = train_seed, marker

    def __call__(self, seed: int, checkpoint: Path):
        if not self.marker.exists():
            self.marker.write_text("died")
            os.environ[training.STOP_AT] = str(time.time())
            try:
                self.train_seed(seed, checkpoint)
            except training.Unfinished:
                os._exit(1)  # the worker dies mid-run; its checkpoint stays on disk
        os.environ.pop(training.STOP_AT, None)
        self.marker.write_text(f"resumed from checkpoint: {checkpoint.exists()}")
        return self.train_seed(seed, checkpoint)


def test_dask_runs_equal_local_runs(cluster, tmp_path):
    local = training.RunStore(tmp_path / "local").run_many([0, 1, 2], CONFIG, trainer(), executor="local")
    store = training.RunStore(tmp_path / "dask")
    on_dask = store.run_many([0, 1, 2], CONFIG, trainer(), executor=cluster)
    assert strip(on_dask) == strip(local)
    # the stored runs are loaded, not trained again, whoever asks
    assert store.run_many([0, 1, 2], CONFIG, lambda *a: pytest.fail("retrained"), executor="local") == on_dask
    with executors.using(cluster.scheduler_address):  # an address works as well
        assert store.run_many([2], CONFIG, trainer()) == on_dask[2:]


def test_a_worker_that_dies_mid_run_is_resumed(cluster, tmp_path):
    (expected,) = training.RunStore(tmp_path / "local").run_many([3], CONFIG, trainer(), executor="local")
    marker = tmp_path / "marker"
    store = training.RunStore(tmp_path / "dask")
    (record,) = store.run_many([3], CONFIG, DieOnce(trainer(), marker), executor=cluster)
    assert marker.read_text() == "resumed from checkpoint: True"  # a worker died, another resumed its run
    assert strip([record]) == strip([expected])


def test_resolve_and_its_errors(monkeypatch, cluster):
    monkeypatch.delenv(executors.EXECUTOR, raising=False)
    assert executors.resolve() == "local"
    monkeypatch.setenv(executors.EXECUTOR, "slurm")
    with pytest.raises(ValueError, match="PLASTICITY_EXECUTOR"):
        executors.resolve()
    monkeypatch.setenv(executors.EXECUTOR, "dask")
    monkeypatch.delenv(executors.SCHEDULER, raising=False)
    with pytest.raises(ValueError, match="PLASTICITY_DASK_SCHEDULER"):
        executors.resolve()
    monkeypatch.setenv(executors.SCHEDULER, cluster.scheduler_address)
    client = executors.resolve()
    assert isinstance(client, distributed.Client) and executors.resolve(cluster) is executors.resolve(cluster)
    with executors.using("local"):
        assert executors.resolve() == "local"
    with pytest.raises(ValueError):
        executors.resolve("threads")
    with pytest.raises(TypeError):
        executors.resolve(42)


def test_a_sweep_on_dask_equals_the_local_sweep(cluster, tmp_path, monkeypatch):
    from plasticity_utils import sweep
    from plasticity_utils.experiments import binary_patterns as bp
    from plasticity_utils.experiments.contract import Profile
    from plasticity_utils.tasks.patterns import PatternTask

    base = bp.Config(task=PatternTask(n_bits=12, n_patterns=2, cycles=1, show=2, gap=1, test_show=2), episodes=3)
    monkeypatch.setitem(bp.PROFILES, "smoke", Profile({"released": base}, 2, "test"))
    tables = {}
    for name, executor in (("local", "local"), ("dask", cluster)):
        monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / name))
        s = sweep.run_sweep("binary_patterns", "smoke", {"lr": [1e-3, 3e-3]}, [0, 1], executor=executor)
        tables[name] = sweep.table(s)
    assert tables["dask"].equals(tables["local"])
