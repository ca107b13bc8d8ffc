"""Training loops that survive interruption, and a store of finished runs keyed by their config.

A run is trained by :func:`train` and stored by :class:`RunStore` under a name made of its seed and a
hash of its config, ``<tag>seed<k>-<digest>``: ``.json`` (config and learning curve), ``.pt`` (final
parameters), ``.ckpt`` while it trains (model, optimiser, sampling RNG, curve so far, written every
``checkpoint_seconds``; an interrupted run resumes from it) and ``.lock``. Runs of different configs
never replace each other. Every file is written to a uniquely named temporary file and renamed, so a
reader never sees half a file; the lock lets exactly one process train a given run at a time (a
second one waits, then loads what the first stored). A file that cannot be read is moved aside (its
new name is reported) and the run is retrained.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import json
import math
import os
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, is_dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple, Sequence, TypedDict

import torch
from torch import Tensor, nn
# Text bars, not widgets: executed notebooks keep them (coalesced by tools/notebooks.py) and they survive
# an offline HTML export, where a widget without its saved state shows nothing.
from tqdm.std import tqdm

from .environment import check_flag, check_seeds, pick_device, shown, workers_from_env

Metrics = dict[str, float]
EpisodeFn = Callable[[int], tuple[Tensor, Metrics]]
TrainRuns = Callable[[list[int], "Path | None"], list[tuple[dict, dict[str, Tensor]]]]


class CorruptFileWarning(UserWarning):
    """A stored file could not be read; it was moved aside and its run is retrained."""


class DivergedError(FloatingPointError):
    """The loss became NaN or infinite: the run stops and is not stored as finished."""


class Unfinished(RuntimeError):
    """Training reached the time limit ``$PLASTICITY_STOP_AT`` (a Unix time): the run was checkpointed
    and is not stored as finished; calling the same ``run()`` again resumes it (see ``chunks.py``)."""


STOP_AT = "PLASTICITY_STOP_AT"


def stop_at() -> float | None:
    """The time limit of this process's training, from ``$PLASTICITY_STOP_AT`` (Unix seconds), or None."""
    value = os.environ.get(STOP_AT, "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"${STOP_AT} must be a Unix time in seconds, got {value!r}") from None


THREADS = 1
"""CPU threads every run trains (and is scored) with, wherever it trains. A sum split over n threads is
added in another order than on one, so with torch's default (the machine's core count) a run's numbers would
depend on the machine and on where it trains (this process, a local worker process, a Dask worker). One
fixed setting makes them the same everywhere; one thread, because the plastic layers are memory-bound: on a
2-core CPU two one-thread runs side by side train about twice as fast as one run on two threads."""


@contextlib.contextmanager
def fixed_threads() -> Iterator[None]:
    """Compute on :data:`THREADS` CPU threads inside the block (also a decorator), then restore the
    process's setting. :meth:`RunStore.train` trains every run inside it, and each
    experiment's ``run()`` scores its stored runs inside it, so stored and reported numbers do not depend on the
    machine's core count. On a GPU it changes only the host's threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sqrt_scaled_lr(lr: float, batch: int) -> float:
    """The papers' one-episode learning rate for ``batch`` episodes per update: Adam's step has about
    the same size whatever the batch, and the gradient noise falls as 1/sqrt(batch), so the
    square-root rule keeps the noise injected per episode seen about constant. Used where a profile
    batches what the papers trained one episode at a time (notebooks 02 and 03)."""
    return lr * math.sqrt(batch)


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    episode: EpisodeFn,
    episodes: int,
    *,
    generator: torch.Generator,
    checkpoint: Path | None = None,
    checkpoint_seconds: float = 60.0,
    scheduler: Any = None,
    desc: str = "train",
    progress: bool = True,
) -> list[Metrics]:
    """Minimise ``episode(i)[0]`` for ``episodes`` updates; return the per-update metrics.

    ``episode(i)`` samples its data from ``generator`` and returns the loss and a dict of floats.
    Each update's entry also holds ``wall`` and ``cpu``: its wall-clock and process CPU seconds
    (``episode(i)``, backward and optimiser step). They are checkpointed with the rest, so
    :func:`elapsed` gives the whole run's training time even after a resume. A loss that is NaN or
    infinite raises :class:`DivergedError` before the update is applied (the last checkpoint stays).
    Past the time limit ``$PLASTICITY_STOP_AT`` (:func:`stop_at`), the run is checkpointed and
    :class:`Unfinished` is raised (without a checkpoint path, it runs to the end).
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 0:
        raise ValueError(f"episodes must be an integer >= 0, got {episodes!r}")
    history: list[Metrics] = []
    state = _read_checkpoint(checkpoint) if checkpoint is not None else None
    if state is not None and set(state["model"]) != set(model.state_dict()):
        # written for another model (an earlier layout of this run's parameters): start from scratch
        move_aside(checkpoint, ValueError("its parameters are not this model's"))
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = state["history"]
    last_save, limit = time.monotonic(), stop_at() if checkpoint is not None else None
    bar = tqdm(range(len(history), episodes), desc=desc, initial=len(history), total=episodes,
               disable=not progress, mininterval=2.0)
    for i in bar:
        wall, cpu = time.perf_counter(), time.process_time()
        loss, metrics = episode(i)
        value = loss.item()
        if not math.isfinite(value):
            raise DivergedError(f"{desc}: the loss is {value} at update {i + 1} of {episodes}; the run is "
                                "not stored (lower the learning rate or check the config)"
                                + (f"; last checkpoint: {shown(checkpoint)}" if checkpoint is not None and
                                   checkpoint.exists() else ""))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.append({"loss": value, **metrics,
                        "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
        if i % 10 == 0:
            # per-run metrics of a batch of runs ("r3/loss") stay out of the bar
            bar.set_postfix({k: f"{v:.3g}" for k, v in history[-1].items() if k not in ("wall", "cpu") and "/" not in k})
        if limit is not None and time.time() >= limit and i + 1 < episodes:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, generator, history)
            bar.close()
            raise Unfinished(f"{desc}: time limit reached after update {i + 1} of {episodes}; checkpointed in "
                             f"{checkpoint.name}, run again to resume")
        if checkpoint is not None and time.monotonic() - last_save > checkpoint_seconds:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, generator, history)
            last_save = time.monotonic()
    return history


def elapsed(history: list[Metrics]) -> tuple[float, float]:
    """Total (wall-clock, CPU) seconds of the updates in ``history``, as recorded by :func:`train`."""
    return sum(h["wall"] for h in history), sum(h["cpu"] for h in history)


# ------------------------------------------------------------------------------ files
def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "wb") -> Path:
    """Write ``path`` through ``write(file)`` into a uniquely named temporary file beside it, then
    rename it into place: readers see the old file or the new one, never a part, and concurrent
    writers never share a temporary file. The file gets the permissions of any file this process
    creates (``0o666`` less the umask), not the temporary file's private ``0o600``, so a worker running
    as another user of a shared store can read it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.chmod(f.fileno(), 0o666 & ~_umask())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """This process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def move_aside(path: Path, error: BaseException) -> Path:
    """Rename an unreadable ``path`` to ``<path>.corrupt-<time>`` and warn, naming both. Where it cannot
    be renamed (a read-only store), an ``OSError`` says that the file is unreadable, and why it stays."""
    target = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    try:
        path.replace(target)
    except FileNotFoundError:  # another process moved it first
        return target
    except OSError as e:
        raise _cannot_set_aside(path, f"cannot be read ({type(error).__name__}: {error})", e, "moved aside") from None
    warnings.warn(f"{shown(path)} could not be read ({type(error).__name__}: {error}); moved to {target.name}, "
                  "the run is trained again", CorruptFileWarning, stacklevel=3)
    return target


def _cannot_set_aside(path: Path, problem: str, why: OSError, done: str) -> OSError:
    """The error for a stored ``path`` with a ``problem`` that could not be ``done`` (moved aside, removed)."""
    return OSError(f"{shown(path)} {problem}, and it could not be {done} to train the "
                   f"run again ({why.strerror or why}{': the store is read-only' if why.errno == errno.EROFS else ''}); "
                   "replace or delete it, or set PLASTICITY_RESULTS to a writable folder")


def _read_checkpoint(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        state = torch.load(path, weights_only=False)
        if not isinstance(state, dict) or not {"model", "optimizer", "history"} <= state.keys():
            raise ValueError("not a checkpoint written by train()")
        return state
    except Exception as e:  # truncated, empty or foreign file: start this run from scratch
        move_aside(path, e)
        return None


def _save_checkpoint(path: Path, model, optimizer, scheduler, generator, history) -> None:
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": history,
    }
    atomic_write(path, lambda f: torch.save(state, f))


class _Optional(TypedDict, total=False):
    batched: dict[str, Any]  # trained as one batched model: {"seeds", "seconds", "device"}
    seconds: float  # wall-clock seconds of the training (a batched run's share of the batch's); absent from
    #                 the first image runs stored (03's seed 0), which timed per update (seconds_per_episode)


class Record(_Optional):
    """One trained run (one seed of one variant) as the run store keeps it (``<tag>seed<k>-<hash>.json``, beside
    its parameters) and :class:`~plasticity_utils.experiments.contract.Result` holds it. These fields every record
    has; an experiment declares its own (the curves its notebook reads) in a subclass, and its config's
    ``RECORD_KEYS`` are that subclass's own fields (:func:`record_keys`): a stored record lacking one is moved
    aside and retrained."""

    config: dict[str, Any]  # the config's fields (nested dataclasses as dicts): what the file name's hash is of
    seed: int  # seeds the parameters' initialisation and the run's episode sampler
    n_params: int  # trainable parameters of the network (pinned entries excluded)


def record_keys(record: type) -> tuple[str, ...]:
    """The required fields a :class:`Record` subclass adds to :class:`Record` (in declaration order): what a
    stored record of that experiment must hold. Fields declared in a ``total=False`` base are documented but
    not required (timings added after the first runs were stored)."""
    own = [k for k in record.__annotations__ if k not in Record.__annotations__]  # inherited ones included
    return tuple(k for k in own if k in record.__required_keys__)


def _jsonable(config: Any) -> dict:
    return json.loads(json.dumps(asdict(config) if is_dataclass(config) else dict(config)))


def config_digest(config: Any) -> str:
    """10 hex digits of the SHA-1 of the config's canonical JSON: the key of its stored runs."""
    return hashlib.sha1(json.dumps(_jsonable(config), sort_keys=True).encode()).hexdigest()[:10]


@contextlib.contextmanager
def file_lock(path: Path, what: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if needed); say so when another process holds it,
    naming ``what`` (default: the lock's run, ``<stem> in <store>``, the store shown by :func:`shown`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            what = what or f"{path.stem} in {shown(path.parent)}"
            print(f"{what}: another process is training it; waiting for it to finish", file=sys.stderr)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ------------------------------------------------------------------------------ the store
@dataclass
class RunStore:
    """Finished runs of one experiment and profile under ``root``, one file set per seed and config."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def stem(self, seed: int, config: Any, tag: str = "") -> str:
        return f"{tag}seed{seed}-{config_digest(config)}"

    def json_path(self, seed: int, config: Any, tag: str = "") -> Path:
        return self.root / f"{self.stem(seed, config, tag)}.json"

    def params_path(self, seed: int, config: Any, tag: str = "") -> Path:
        return self.root / f"{self.stem(seed, config, tag)}.pt"

    def checkpoint_path(self, seed: int, config: Any, tag: str = "") -> Path:
        """Checkpoints are named by a hash of the config, so a changed config never resumes one."""
        return self.root / f"{self.stem(seed, config, tag)}.ckpt"

    def lock_path(self, seed: int, config: Any, tag: str = "") -> Path:
        return self.root / f"{self.stem(seed, config, tag)}.lock"

    def load(self, seed: int, config: Any, tag: str = "") -> dict | None:
        """The stored run for ``seed`` trained with exactly ``config``, or None.

        A record or parameter file that cannot be read is moved aside (with a warning naming it)
        and None is returned, so the caller retrains; so is a record that lacks a key its config's
        class lists in ``RECORD_KEYS`` (the curve its experiment reads). Where the store is read-only,
        such a file is an ``OSError`` that names it. Runs stored under the earlier layout
        (``<tag>seed<k>.json`` / ``.pt``) with the same config are renamed into this one.
        """
        self._adopt_legacy(seed, config, tag)
        path, params = self.json_path(seed, config, tag), self.params_path(seed, config, tag)
        if not path.exists():
            return None
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or record.get("config") != _jsonable(config):
                raise ValueError("its config is missing or is not the config it is named for")
            missing = [k for k in getattr(config, "RECORD_KEYS", ()) if k not in record]
            if missing:
                raise ValueError(f"it lacks {', '.join(map(repr, missing))}, which every run of "
                                 f"{type(config).__name__} records")
        except (ValueError, UnicodeDecodeError) as e:
            move_aside(path, e)
            return None
        try:
            torch.load(params, weights_only=True)
        except Exception as e:
            if params.exists():
                move_aside(params, e)
            else:
                warnings.warn(f"{shown(params)} is missing beside {path.name}; the run is trained again",
                              CorruptFileWarning, stacklevel=2)
            try:
                path.unlink(missing_ok=True)
            except OSError as why:
                raise _cannot_set_aside(path, f"is unusable: its parameters {params.name} are missing or "
                                        "unreadable", why, "removed") from None
            return None
        return record

    def _adopt_legacy(self, seed: int, config: Any, tag: str) -> None:
        old_json, old_pt = self.root / f"{tag}seed{seed}.json", self.root / f"{tag}seed{seed}.pt"
        if not (old_json.exists() and old_pt.exists()) or self.json_path(seed, config, tag).exists():
            return
        try:
            same = json.loads(old_json.read_text()).get("config") == _jsonable(config)
        except (ValueError, AttributeError):
            return  # unreadable legacy files are left alone
        if same:
            old_pt.replace(self.params_path(seed, config, tag))
            old_json.replace(self.json_path(seed, config, tag))

    def save(self, seed: int, config: Any, record: dict, params: dict[str, Tensor], tag: str = "") -> dict:
        """Store a finished run (parameters first, so a record never points at missing parameters)."""
        record = {"config": _jsonable(config), "seed": seed, **record}
        atomic_write(self.params_path(seed, config, tag), lambda f: torch.save(params, f))
        atomic_write(self.json_path(seed, config, tag), lambda f: f.write(json.dumps(record)), mode="w")
        self.checkpoint_path(seed, config, tag).unlink(missing_ok=True)
        return record

    def params(self, seed: int, config: Any, tag: str = "") -> dict[str, Tensor]:
        """The final parameters of the stored run (``config`` may be a record's ``"config"``)."""
        path = self.params_path(seed, config, tag)
        try:
            return torch.load(path, weights_only=True)
        except FileNotFoundError:
            raise FileNotFoundError(f"{shown(path)}: no stored parameters for this run; train it first with "
                                    "the experiment's run()") from None
        except Exception as e:
            raise RuntimeError(f"{shown(path)} cannot be read ({type(e).__name__}: {e}); delete it and the .json "
                               "beside it, or run again with force=True, to retrain") from None

    def train(self, jobs: "Sequence[Job]", *, group: int | None = 1, force: bool = False,
              workers: int | None = None, executor: Any = None) -> list[list[dict]]:
        """The one way runs are trained into the store: for each :class:`Job` (the seeds of one config), its
        stored records in seed order, the runs not yet stored trained first.

        ``group`` says how the missing runs of a job are grouped into calls of ``job.train(seeds,
        checkpoint)``: 1 (one run per call: what a CPU does fastest), k (k runs per call, as one batched model,
        where memory allows no more), or None (all of a job's runs in one call: a GPU). Each call is one
        task, run on the executor of :func:`plasticity_utils.executors.resolve`: here, in ``workers``
        processes of one thread each (default ``$PLASTICITY_WORKERS`` or 1), or one Dask task per call;
        ``job.train`` must then be picklable (a module-level function or a ``functools.partial`` of one).
        A call returns one (record, parameters) per seed; every run is stored as if trained alone and
        trains on :data:`THREADS` threads (:func:`fixed_threads`). ``force`` retrains this config's runs
        (runs of other configs are kept). One process at a time trains a given run: the others wait for
        its lock, then load what it stored. A call's checkpoint is named by its seeds and config, so an
        interrupted call resumes only as the same group.
        """
        from . import executors

        if group is not None and (isinstance(group, bool) or not isinstance(group, int) or group < 1):
            raise ValueError(f"group must be an integer >= 1 or None, got {group!r}")
        check_flag("force", force)
        jobs = [j._replace(seeds=tuple(check_seeds(j.seeds))) for j in jobs]
        stored = [{s: None if force else self.load(s, j.config, j.tag) for s in j.seeds} for j in jobs]
        tasks = []
        for job, records in zip(jobs, stored):
            todo = [s for s, r in records.items() if r is None]
            size = group or max(1, len(todo))
            tasks += [job._replace(seeds=tuple(todo[i:i + size])) for i in range(0, len(todo), size)]
        where = executors.resolve(executor)
        if where == "local":  # a bad setting is an error whether or not anything is left to train
            workers = workers_from_env() if workers is None else workers
            if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
                raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
        if tasks and where != "local":
            executors.map_on_dask(where, functools.partial(_train_task, self.root, force), tasks,
                                  [self._task_name(t) for t in tasks],
                                  desc=",".join(sorted({j.tag for j in jobs})) or "runs")
        elif tasks:
            if workers == 1 or len(tasks) < 2:
                for t in tasks:
                    self._train_task(t, force)
            else:
                with ProcessPoolExecutor(min(workers, len(tasks)), mp_context=get_context("spawn"),
                                         initializer=_end_with_parent, initargs=(os.getpid(),)) as pool:
                    futures = [pool.submit(_train_task, self.root, force, t) for t in tasks]
                    for f in tqdm(futures, desc=f"{len(tasks)} trainings ({workers} workers)"):
                        f.result()
        out = []
        for job, loaded in zip(jobs, stored):  # read back only what was trained here
            records = [self.load(s, job.config, job.tag) if loaded[s] is None else loaded[s] for s in job.seeds]
            if any(r is None for r in records):  # only if a stored file went bad after it was written
                raise RuntimeError(f"{self._task_name(job)}: a run could not be read back after training")
            out.append(records)
        return out

    def _task_name(self, task: "Job") -> str:
        if len(task.seeds) == 1:
            return self.stem(task.seeds[0], task.config, task.tag)
        return f"{task.tag}seeds{'-'.join(map(str, task.seeds))}-{config_digest(task.config)}"

    def _train_task(self, task: "Job", force: bool) -> None:
        """Train one call's runs (those still missing once their locks are held) and store each."""
        with contextlib.ExitStack() as locks:
            for s in task.seeds:
                locks.enter_context(file_lock(self.lock_path(s, task.config, task.tag)))
            seeds = list(task.seeds) if force else [s for s in task.seeds
                                                    if self.load(s, task.config, task.tag) is None]
            if not seeds:
                return  # trained by another process while this one waited
            checkpoint = self.root / f"{self._task_name(task._replace(seeds=tuple(seeds)))}.ckpt"
            if force:
                checkpoint.unlink(missing_ok=True)
            with fixed_threads():
                results = task.train(seeds, checkpoint)
            if len(results) != len(seeds):
                raise ValueError(f"{task.train!r} returned {len(results)} runs for {len(seeds)} seeds")
            for s, (record, params) in zip(seeds, results):
                self.save(s, task.config, record, params, task.tag)
            checkpoint.unlink(missing_ok=True)


def _end_with_parent(parent: int) -> None:
    """Worker initializer: the worker ends when the process that started it does (Linux's parent-death
    signal), so a killed notebook or script leaves no worker training on; what the worker last
    checkpointed stays, and the next call resumes from it. Elsewhere a worker finishes its run."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent ended before the signal was armed
            os._exit(1)


class Job(NamedTuple):
    """Runs to train or load: their seeds, their (one) config, the function that trains a group of them
    (``train(seeds, checkpoint) -> [(record, parameters) per seed]``), and their names' tag."""

    seeds: Sequence[int]
    config: Any
    train: TrainRuns
    tag: str = ""


def trainer_of(train_seeds: Callable[..., list], config: Any, device: str | None = None,
               **options: Any) -> functools.partial:
    """The picklable ``train(seeds, checkpoint)`` a :class:`Job` carries, for an experiment's one trainer
    ``train_seeds(config, seeds, checkpoint, device, **options)``: the device is picked where it runs
    (a worker process, a Dask worker), so ``device`` is its name (None: the best there)."""
    return functools.partial(_train_on, config, train_seeds=train_seeds, device=device, options=options)


def _train_on(config: Any, seeds: list[int], checkpoint: Path | None, *, train_seeds: Callable[..., list],
              device: str | None, options: dict) -> list[tuple[dict, dict[str, Tensor]]]:
    return train_seeds(config, seeds, checkpoint, pick_device(device), **options)


def _train_task(root: Path, force: bool, task: Job) -> None:
    """One task of :meth:`RunStore.train` in a worker process or on a Dask worker."""
    RunStore(root)._train_task(task, force)

