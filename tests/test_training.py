"""Resumable training and the per-seed run cache."""

import errno
import functools
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import ClassVar
from multiprocessing import get_context
from pathlib import Path

import pytest
import torch

from plasticity_utils import training
from plasticity_utils.training import CorruptFileWarning, Job, RunStore, elapsed, train


def per_seed(train_seed):
    """A trainer of one seed, ``train_seed(seed, checkpoint) -> (record, params)``, as the store's
    ``train(seeds, checkpoint)`` for groups of one."""
    return functools.partial(_one_seed, train_seed)


def _one_seed(train_seed, seeds, checkpoint):
    assert len(seeds) == 1, seeds
    return [train_seed(seeds[0], checkpoint)]


def one(store, seeds, config, train_seed, *, tag="", **options):
    """The stored records of ``seeds`` (one record for a single int), trained one by one by ``train_seed``."""
    records = store.train([Job([seeds] if isinstance(seeds, int) else seeds, config, per_seed(train_seed), tag)],
                          **options)[0]
    return records[0] if isinstance(seeds, int) else records


@dataclass(frozen=True)
class Cfg:
    episodes: int = 20
    lr: float = 0.05


def setup_run(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1)
    return model, torch.optim.Adam(model.parameters(), lr=0.05), torch.Generator().manual_seed(seed)


def regression_episode(model, generator, fail_at=None):
    def episode(i):
        if i == fail_at:
            raise KeyboardInterrupt
        x = torch.randn(8, 3, generator=generator)
        y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
        loss = ((model(x) - y) ** 2).mean()
        return loss, {"mse": loss.item()}
    return episode


def test_train_learns_and_records_every_episode():
    model, opt, g = setup_run()
    history = train(model, opt, regression_episode(model, g), 200, generator=g, progress=False)
    assert len(history) == 200
    assert history[-1]["mse"] < 0.01 * history[0]["mse"]


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    model, opt, g = setup_run()
    full = train(model, opt, regression_episode(model, g), 30, generator=g, progress=False)

    ckpt = tmp_path / "run.ckpt"
    model, opt, g = setup_run()
    with pytest.raises(KeyboardInterrupt):  # checkpoint after every episode, die at episode 17
        train(model, opt, regression_episode(model, g, fail_at=17), 30, generator=g, checkpoint=ckpt,
              checkpoint_seconds=0, progress=False)
    assert ckpt.exists()
    model, opt, g = setup_run(seed=99)  # a fresh process: nothing but the checkpoint carries over
    resumed = train(model, opt, regression_episode(model, g), 30, generator=g, checkpoint=ckpt, progress=False)
    assert [h["mse"] for h in resumed] == pytest.approx([h["mse"] for h in full], rel=1e-6)


def test_elapsed_time_survives_a_resume(tmp_path):
    """Training time is recorded per update and checkpointed: after a resume, elapsed() still counts
    the updates trained before the interruption (each made slow on purpose)."""
    import time

    def slow(episode, seconds):
        def fn(i):
            time.sleep(seconds if i < 5 else 0.0)
            return episode(i)
        return fn

    ckpt = tmp_path / "run.ckpt"
    model, opt, g = setup_run()
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, slow(regression_episode(model, g, fail_at=5), 0.05), 10, generator=g, checkpoint=ckpt,
              checkpoint_seconds=0, progress=False)
    model, opt, g = setup_run()
    resumed = train(model, opt, regression_episode(model, g), 10, generator=g, checkpoint=ckpt, progress=False)
    wall, cpu = elapsed(resumed)
    assert len(resumed) == 10 and all(h["wall"] >= 0 and h["cpu"] >= 0 for h in resumed)
    assert sum(h["wall"] for h in resumed[:5]) >= 5 * 0.05  # the sleeps before the interruption
    assert wall >= 0.25 and cpu < wall  # sleeping costs wall time, not CPU time


def test_runstore_caches_and_retrains_when_the_config_changes(tmp_path):
    store = RunStore(tmp_path)
    calls = []

    def train_seed(seed, checkpoint):
        calls.append(seed)
        return {"curve": [seed, 1.0]}, {"w": torch.full((2,), float(seed))}

    first = one(store, 3, Cfg(), train_seed)
    assert first["curve"] == [3, 1.0] and first["config"] == {"episodes": 20, "lr": 0.05}
    assert one(store, 3, Cfg(), train_seed) == first and calls == [3]  # cached
    one(store, 3, Cfg(episodes=21), train_seed)  # changed config: retrained
    one(store, 3, Cfg(episodes=21), train_seed, force=True)  # forced: retrained
    assert calls == [3, 3, 3]
    assert torch.equal(store.params(3, Cfg())["w"], torch.full((2,), 3.0))


def test_checkpoints_are_specific_to_the_config(tmp_path):
    store = RunStore(tmp_path)
    assert store.checkpoint_path(0, Cfg()) != store.checkpoint_path(0, Cfg(lr=0.1))
    assert store.checkpoint_path(0, Cfg()) == store.checkpoint_path(0, Cfg())


def test_negative_episodes_rejected():
    model, opt, g = setup_run()
    with pytest.raises(ValueError):
        train(model, opt, regression_episode(model, g), -1, generator=g)


def tiny_train_seed(seed, checkpoint):
    model, opt, g = setup_run(seed)
    history = train(model, opt, regression_episode(model, g), 5, generator=g, progress=False)
    return {"mse": [h["mse"] for h in history]}, model.state_dict()


def test_parallel_workers_give_the_same_runs(tmp_path):
    serial = one(RunStore(tmp_path / "a"), [0, 1], Cfg(), tiny_train_seed, workers=1)
    parallel = one(RunStore(tmp_path / "b"), [0, 1], Cfg(), tiny_train_seed, workers=2)
    assert [r["seed"] for r in parallel] == [0, 1]
    assert parallel == serial  # bit for bit: every run trains on training.THREADS threads, wherever it trains
    with pytest.raises(ValueError):
        one(RunStore(tmp_path / "c"), [0, 1], Cfg(), tiny_train_seed, workers=-1)


def thread_counting_train_seed(seed, checkpoint):
    """A run that records the thread count it trained with, beside its curve."""
    record, params = tiny_train_seed(seed, checkpoint)
    return {**record, "threads": torch.get_num_threads()}, params


@pytest.mark.parametrize("process_threads", [1, 2, 4])
def test_runs_train_on_the_fixed_thread_count_whatever_the_process_default(tmp_path, process_threads):
    before = torch.get_num_threads()
    torch.set_num_threads(process_threads)
    try:
        store = RunStore(tmp_path / str(process_threads))
        alone = one(store, 0, Cfg(), thread_counting_train_seed, workers=1)
        ((batch, _),) = store.train([Job([1, 2], Cfg(), lambda seeds, ck: [thread_counting_train_seed(s, ck) for s in seeds])],
                                     group=None)
        assert torch.get_num_threads() == process_threads  # restored afterwards
    finally:
        torch.set_num_threads(before)
    assert alone["threads"] == batch["threads"] == training.THREADS


def test_fixed_threads_restores_the_setting_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), training.fixed_threads():
        assert torch.get_num_threads() == training.THREADS
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------ the run store: keys, files, locks
def test_runs_of_different_configs_live_side_by_side(tmp_path):
    store = RunStore(tmp_path)
    a = one(store, 0, Cfg(), lambda s, ck: ({"v": 1}, {"w": torch.ones(1)}))
    b = one(store, 0, Cfg(lr=0.1), lambda s, ck: ({"v": 2}, {"w": torch.zeros(1)}))  # a probe
    assert store.load(0, Cfg()) == a and store.load(0, Cfg(lr=0.1)) == b  # the probe replaced nothing
    assert torch.equal(store.params(0, Cfg())["w"], torch.ones(1))
    assert torch.equal(store.params(0, Cfg(lr=0.1))["w"], torch.zeros(1))
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))


def test_force_discards_only_its_own_config(tmp_path):
    store = RunStore(tmp_path)
    one(store, 0, Cfg(), lambda s, ck: ({"v": 1}, {}))
    one(store, 0, Cfg(lr=0.1), lambda s, ck: ({"v": 2}, {}))
    assert one(store, 0, Cfg(), lambda s, ck: ({"v": 3}, {}), force=True)["v"] == 3
    assert store.load(0, Cfg(lr=0.1))["v"] == 2


@pytest.mark.parametrize("bad", ["false", "notabool", 1, None])
def test_force_must_be_a_real_bool(tmp_path, bad):
    with pytest.raises(TypeError, match="force must be True or False"):
        one(RunStore(tmp_path), 0, Cfg(), tiny_train_seed, force=bad)


@pytest.mark.parametrize("seeds, kind", [(["a"], ValueError), ([0, -1], ValueError), ([0, 0], ValueError),
                                         ("01", TypeError), (3, TypeError), ([True], ValueError)])
def test_bad_seeds_are_named(tmp_path, seeds, kind):
    with pytest.raises(kind, match="seeds"):
        RunStore(tmp_path).train([Job(seeds, Cfg(), per_seed(tiny_train_seed))])


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_worker_counts_are_errors(tmp_path, workers):
    with pytest.raises(ValueError, match="workers"):
        one(RunStore(tmp_path), [0, 1], Cfg(), tiny_train_seed, workers=workers)


def test_bad_workers_variable_is_an_error(tmp_path, monkeypatch):
    for text in ("0", "two", "-3"):
        monkeypatch.setenv("PLASTICITY_WORKERS", text)
        with pytest.raises(ValueError, match="PLASTICITY_WORKERS"):
            one(RunStore(tmp_path), [0, 1], Cfg(), tiny_train_seed)


def nan_episode(model, generator):
    def episode(i):
        loss = model(torch.randn(4, 3, generator=generator)).mean()
        return loss * (float("nan") if i == 3 else 1.0), {}
    return episode


def test_a_diverged_run_stops_and_is_not_stored(tmp_path):
    def train_seed(seed, checkpoint):
        model, opt, g = setup_run(seed)
        train(model, opt, nan_episode(model, g), 10, generator=g, checkpoint=checkpoint, progress=False)
        return {}, model.state_dict()

    store = RunStore(tmp_path)
    with pytest.raises(FloatingPointError, match="nan at update 4 of 10"):
        one(store, 0, Cfg(), train_seed)
    assert store.load(0, Cfg()) is None and not store.json_path(0, Cfg()).exists()


def test_zero_updates_and_non_integer_counts_are_rejected():
    model, opt, g = setup_run()
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(ValueError, match="episodes must be an integer"):
            train(model, opt, regression_episode(model, g), bad, generator=g)


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
@pytest.mark.parametrize("which", ["json", "params"])
def test_a_corrupt_stored_file_is_moved_aside_and_retrained(tmp_path, damage, which):
    store = RunStore(tmp_path)
    one(store, 0, Cfg(), lambda s, ck: ({"v": 1}, {"w": torch.arange(1000.0)}))
    path = store.json_path(0, Cfg()) if which == "json" else store.params_path(0, Cfg())
    raw = path.read_bytes()
    path.write_bytes({"truncate": raw[: len(raw) // 2], "empty": b"", "garbage": b"\x00\x01{not json"}[damage])
    with pytest.warns(CorruptFileWarning, match=path.name) as caught:
        again = one(store, 0, Cfg(), lambda s, ck: ({"v": 2}, {"w": torch.ones(1)}))
    assert again["v"] == 2 and torch.equal(store.params(0, Cfg())["w"], torch.ones(1))
    moved = list(tmp_path.glob(f"{path.name}.corrupt-*"))
    assert len(moved) == 1 and moved[0].name in str(caught[0].message)


@pytest.mark.parametrize("damage", [b"", b"PK\x03\x04 truncated"])
def test_a_corrupt_checkpoint_is_moved_aside_and_the_run_starts_over(tmp_path, damage):
    ckpt = tmp_path / "run.ckpt"
    ckpt.write_bytes(damage)
    model, opt, g = setup_run()
    with pytest.warns(CorruptFileWarning, match="run.ckpt"):
        history = train(model, opt, regression_episode(model, g), 5, generator=g, checkpoint=ckpt, progress=False)
    assert len(history) == 5 and len(list(tmp_path.glob("run.ckpt.corrupt-*"))) == 1


def test_missing_params_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"seed4-[0-9a-f]{10}\.pt"):
        RunStore(tmp_path).params(4, Cfg())


def test_runs_stored_under_the_old_layout_are_adopted(tmp_path):
    (tmp_path / "x-seed1.json").write_text(json.dumps({"config": {"episodes": 20, "lr": 0.05}, "seed": 1, "v": 7}))
    torch.save({"w": torch.ones(2)}, tmp_path / "x-seed1.pt")
    store = RunStore(tmp_path)
    assert one(store, 1, Cfg(), lambda s, ck: pytest.fail("retrained"), tag="x-")["v"] == 7
    assert store.params_path(1, Cfg(), "x-").exists() and not (tmp_path / "x-seed1.json").exists()


def _save_many(root, n):
    store = RunStore(Path(root))
    for i in range(n):
        store.save(0, Cfg(), {"i": i}, {"w": torch.full((20_000,), float(i))})


def _read_many(root, n):
    store, seen = RunStore(Path(root)), 0
    for _ in range(n):
        if store.json_path(0, Cfg()).exists():
            json.loads(store.json_path(0, Cfg()).read_text())  # never a half-written file
            torch.load(store.params_path(0, Cfg()), weights_only=True)
            seen += 1
    return seen


def test_concurrent_writers_and_readers_never_collide(tmp_path):
    ctx = get_context("spawn")
    with ctx.Pool(3) as pool:
        jobs = [pool.apply_async(_save_many, (str(tmp_path), 40)) for _ in range(2)]
        reader = pool.apply_async(_read_many, (str(tmp_path), 200))
        for j in jobs:
            j.get(timeout=120)
        reader.get(timeout=120)
    assert RunStore(tmp_path).load(0, Cfg())["i"] == 39
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def _slow_train_seed(log, seed, checkpoint):
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    time.sleep(1.0)
    return {"trainer": os.getpid()}, {"w": torch.ones(1)}


def test_one_run_is_trained_by_one_process_at_a_time(tmp_path):
    log = tmp_path / "calls.txt"
    fn = functools.partial(_slow_train_seed, str(log))
    ctx = get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(one, [(RunStore(tmp_path / "store"), 0, Cfg(), fn)] * 2)
    assert len(log.read_text().split()) == 1  # trained once; the other process waited and loaded it
    assert results[0] == results[1]


@dataclass(frozen=True)
class CurveCfg(Cfg):
    RECORD_KEYS: ClassVar[tuple[str, ...]] = ("curve",)


def test_a_record_without_its_curve_is_moved_aside_and_retrained(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = RunStore(tmp_path / "store")
    one(store, 0, CurveCfg(), lambda s, ck: ({"curve": [1.0]}, {"w": torch.ones(1)}))
    path = store.json_path(0, CurveCfg())
    record = json.loads(path.read_text())
    del record["curve"]
    path.write_text(json.dumps(record))
    with pytest.warns(CorruptFileWarning, match=rf"store/{path.name} could not be read .*lacks 'curve'") as caught:
        assert store.load(0, CurveCfg()) is None
    assert "/" + str(tmp_path) not in str(caught[0].message)  # shown relative to the working directory
    again = one(store, 0, CurveCfg(), lambda s, ck: ({"curve": [2.0]}, {"w": torch.ones(1)}))
    assert again["curve"] == [2.0] and len(list((tmp_path / "store").glob("*.corrupt-*"))) == 1


def test_an_unreadable_file_of_a_read_only_store_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = RunStore(tmp_path / "store")
    one(store, 0, Cfg(), lambda s, ck: ({"v": 1}, {"w": torch.ones(1)}))
    path = store.json_path(0, Cfg())
    path.write_text("{truncated")

    def read_only(self, target):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "replace", read_only)
    with pytest.raises(OSError) as caught:
        one(store, 0, Cfg(), lambda s, ck: pytest.fail("trained into a read-only store"))
    message = str(caught.value)
    assert message.startswith(f"store/{path.name} cannot be read (JSONDecodeError")
    assert "could not be moved aside" in message and "the store is read-only" in message
    assert str(tmp_path) not in message


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_stored_files_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        store = RunStore(tmp_path)
        one(store, 0, Cfg(), lambda s, ck: ({"v": 1}, {"w": torch.ones(1)}))
    finally:
        os.umask(old)
    for path in (store.json_path(0, Cfg()), store.params_path(0, Cfg())):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


def test_a_waiting_process_is_told_which_run_holds_it(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    lock = RunStore(tmp_path / "results" / "x").lock_path(3, Cfg(), "t-")
    entered = threading.Event()

    def second():
        with training.file_lock(lock):
            entered.set()

    with training.file_lock(lock):
        waiter = threading.Thread(target=second)
        waiter.start()
        deadline = time.monotonic() + 10
        while "waiting" not in (err := capsys.readouterr().err) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not entered.is_set()
    waiter.join(10)
    assert entered.is_set()
    assert f"{lock.stem} in results/x: another process is training it" in err and str(tmp_path) not in err


def test_a_checkpoint_of_another_model_is_set_aside(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    model, opt, g = setup_run()
    torch.save({"model": {"other.weight": torch.zeros(1)}, "optimizer": opt.state_dict(), "history": [],
                "generator": g.get_state(), "torch_rng": torch.get_rng_state()}, ckpt)
    with pytest.warns(CorruptFileWarning):
        history = train(model, opt, regression_episode(model, g), 3, generator=g, checkpoint=ckpt, progress=False)
    assert len(history) == 3 and not ckpt.exists()  # trained from scratch; the foreign file moved aside


def test_record_keys_are_a_typed_records_own_required_fields():
    from typing import TypedDict

    from plasticity_utils.training import Record, record_keys

    class Timing(Record, total=False):
        cpu_seconds: float

    class Curve(Timing):
        error: list[float]
        loss: list[float]

    assert record_keys(Curve) == ("error", "loss")  # not Record's, not the optional timing
    assert set(Record.__required_keys__) == {"config", "seed", "n_params"}
    assert Record.__optional_keys__ == {"batched", "seconds"}
    assert record_keys(TypedDict("Empty", {})) == ()


def sleeping_train_seed(seed, checkpoint):
    """A run that records its worker's pid in $PIDS_DIR, then trains for a minute (here: sleeps)."""
    (Path(os.environ["PIDS_DIR"]) / str(os.getpid())).touch()
    time.sleep(60)
    return tiny_train_seed(seed, checkpoint)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" not in f.read()  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="the parent-death signal is Linux's")
def test_killing_the_parent_ends_its_workers(tmp_path):
    import signal
    import subprocess
    import sys

    pids = tmp_path / "pids"
    pids.mkdir()
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path\n"
              "from test_training import Cfg, RunStore, one, sleeping_train_seed\n"
              "one(RunStore(Path(sys.argv[2])), [0, 1], Cfg(), sleeping_train_seed, workers=2)\n")
    parent = subprocess.Popen([sys.executable, "-c", script, str(Path(__file__).parent), str(tmp_path / "store")],
                              env={**os.environ, "PIDS_DIR": str(pids)})
    try:
        deadline = time.monotonic() + 120
        while len(list(pids.iterdir())) < 2:  # both workers are training
            assert time.monotonic() < deadline and parent.poll() is None, "the workers did not start"
            time.sleep(0.2)
        workers = [int(p.name) for p in pids.iterdir()]
        parent.send_signal(signal.SIGKILL)  # no cleanup of any kind in the parent
        parent.wait()
        deadline = time.monotonic() + 20
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_running, workers)), "a worker kept training after its parent was killed"
    finally:
        parent.kill()
        for p in pids.iterdir():
            if _running(int(p.name)):
                os.kill(int(p.name), signal.SIGKILL)
