"""Runs trained on a Dask cluster equal runs trained locally; a worker that dies mid-run is resumed; the
caller sees the runs' progress; a task names its dataset instead of carrying it.

Uses a real ``distributed.LocalCluster`` with two worker processes (one thread each) and the Omniglot
model on 40 random classes (the full set where ``make data`` fetched it), a few updates per run.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import cloudpickle
import pytest
import torch

from plasticity_utils import environment, executors, training
from plasticity_utils.experiments import omniglot as om
from plasticity_utils.tasks.omniglot import OmniglotTask

distributed = pytest.importorskip("distributed")
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import the tests folder

CONFIG = om.Config(task=OmniglotTask(n_way=5, n_test_classes=10), updates=4, batch=2, lr=1e-3, filters=8,
                   eval_every=2, curve_episodes=4, eval_episodes=5)
TIMINGS = ("seconds", "seconds_per_update")


def trainer():
    images = torch.rand(40, 20, 31, 31, generator=torch.Generator().manual_seed(0))
    return om.trainer(CONFIG, "cpu", images=images)


def run_many(store, seeds, train, **options):
    return store.train([training.Job(seeds, CONFIG, train)], **options)[0]


def strip(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in records]


@pytest.fixture(autouse=True)
def one_thread():
    """Local reference runs single-threaded, as every Dask task and local worker process trains (a
    convolution's gradient summed by two threads differs in its last bits)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


class DieOnce:
    """Train; the first time, stop after one update (checkpointed) and kill the worker process."""

    def __init__(self, train, marker: Path) -> None:
        self.train, self.marker = train, marker

    def __call__(self, seeds: list[int], checkpoint: Path):
        if not self.marker.exists():
            self.marker.write_text("died")
            os.environ[training.STOP_AT] = str(time.time())
            try:
                self.train(seeds, checkpoint)
            except training.Unfinished:
                os._exit(1)  # the worker dies mid-run; its checkpoint stays on disk
        os.environ.pop(training.STOP_AT, None)
        self.marker.write_text(f"resumed from checkpoint: {checkpoint.exists()}")
        return self.train(seeds, checkpoint)


def test_dask_runs_equal_local_runs(cluster, tmp_path):
    local = run_many(training.RunStore(tmp_path / "local"), [0, 1, 2], trainer(), executor="local")
    store = training.RunStore(tmp_path / "dask")
    on_dask = run_many(store, [0, 1, 2], trainer(), executor=cluster)
    assert strip(on_dask) == strip(local)
    # the stored runs are loaded, not trained again, whoever asks
    assert run_many(store, [0, 1, 2], lambda *a: pytest.fail("retrained"), executor="local") == on_dask
    with executors.using(cluster.scheduler_address):  # an address works as well
        assert run_many(store, [2], trainer()) == on_dask[2:]


def test_a_worker_that_dies_mid_run_is_resumed(cluster, tmp_path):
    (expected,) = run_many(training.RunStore(tmp_path / "local"), [3], trainer(), executor="local")
    marker = tmp_path / "marker"
    store = training.RunStore(tmp_path / "dask")
    (record,) = run_many(store, [3], DieOnce(trainer(), marker), executor=cluster)
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


def square_after(item: tuple[int, float]) -> int:
    value, seconds = item
    time.sleep(seconds)
    if value < 0:
        raise ArithmeticError(f"negative: {value}")
    return value * value


def test_results_come_in_order_with_a_progress_bar_and_the_dashboard_once(cluster, capsys):
    client = distributed.Client(cluster, set_as_default=False)  # a new client: its dashboard is announced
    try:
        # the first item finishes last: the bar counts completions, the results keep the items' order
        items = [(1, 1.0), (2, 0.0), (3, 0.2)]
        assert executors.map_on_dask(client, square_after, items, ["a", "b", "c"], desc="squares") == [1, 4, 9]
        assert executors.map_on_dask(client, square_after, [(4, 0.0)], ["d"]) == [16]
        out, err = capsys.readouterr()
        link = executors.dashboard(client)
        expected = f"Dask dashboard: {link}" if link else f"Dask scheduler {client.scheduler.address}: no dashboard"
        assert out.count("Dask ") == 1 and expected in out  # printed once per client
        assert "squares (dask): 100%" in err and "3/3" in err and "runs (dask): 100%" in err
        with pytest.raises(ArithmeticError, match="negative: -1"):  # a task's error is raised here
            executors.map_on_dask(client, square_after, [(2, 0.0), (-1, 0.0)], ["e", "f"])
    finally:
        client.close()


needs_omniglot = pytest.mark.skipif(not (environment.data_dir() / "images_background.zip").is_file(),
                                    reason="Omniglot not fetched (make data)")


@needs_omniglot
def test_tasks_name_the_images_and_workers_load_them(cluster, tmp_path, monkeypatch):
    """Notebook 04's runs: each task carries where the 119 MiB of images are, not the images; the workers
    load them (once per process) and train the same runs as the array given in this process."""
    shipped: list[int] = []
    real = executors.map_on_dask

    def measured(client, fn, items, names, **kw):
        shipped.extend(len(cloudpickle.dumps((fn, item))) for item in items)
        return real(client, fn, items, names, **kw)

    monkeypatch.setattr(executors, "map_on_dask", measured)
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / "dask"))
    with warnings.catch_warnings(record=True) as caught, executors.using(cluster):
        warnings.simplefilter("always")
        on_dask = om.run("smoke", seeds=[0, 1], config=CONFIG, progress=False)
    assert len(shipped) == 2 and max(shipped) < 1 << 20, shipped  # a task, pickled, is small
    assert not [str(w.message) for w in caught if "distributed" in w.filename or "graph" in str(w.message)]
    images = om.load_images()[0]
    assert om.load_images()[0] is images and om.images_ref().load() is images  # read once per process
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / "local"))
    local = om.run("smoke", seeds=[0, 1], config=CONFIG, images=images.clone(), progress=False, batched=False)
    assert strip(on_dask.runs["plastic"]) == strip(local.runs["plastic"])
    assert on_dask.extra["scores"] == local.extra["scores"]
