"""Where independent runs are trained: local processes (the default) or a Dask distributed cluster.

Every experiment's runs go through :meth:`plasticity_utils.training.RunStore.train`, which hands each
group of runs (one seed on a CPU; several, trained as one batched model, on a GPU) to the executor chosen
here, in this order:

1. the ``executor`` argument of ``RunStore.train`` (the Python API);
2. the one set by ``with executors.using(...)`` around any experiment's ``run()``;
3. ``$PLASTICITY_EXECUTOR`` (``local`` or ``dask``; ``make figures EXECUTOR=dask``), with
   ``$PLASTICITY_DASK_SCHEDULER`` the scheduler's address for ``dask``.

An executor is ``"local"`` (``$PLASTICITY_WORKERS`` single-threaded processes on this machine),
``"dask"`` (a client to ``$PLASTICITY_DASK_SCHEDULER``), a scheduler address (``"tcp://host:8786"``),
a ``distributed.Client``, or a cluster object (``LocalCluster``, ``dask_jobqueue.SLURMCluster``: anything
with a ``scheduler_address``). With Dask, each group is one task that trains and stores its runs
on a worker: the run store must sit on a filesystem every worker sees (the
locks are ``flock`` locks, held by one process at a time, released if it dies), one run is trained by
exactly one worker, and a run whose worker died is retried by Dask and resumes from its checkpoint.
The caller shows a progress bar that advances as runs come back and prints the dashboard's address
once per client; a task carries what names its dataset (:class:`plasticity_utils.data.DataRef`), and
the worker loads it, once per process.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import weakref
from typing import Any, Callable, Iterator, Sequence

from tqdm.std import tqdm

EXECUTOR = "PLASTICITY_EXECUTOR"
SCHEDULER = "PLASTICITY_DASK_SCHEDULER"
NAMES = ("local", "dask")

_current: contextvars.ContextVar[Any] = contextvars.ContextVar("plasticity_executor", default=None)
_clients: dict[Any, Any] = {}
_announced: "weakref.WeakSet[Any]" = weakref.WeakSet()  # clients whose dashboard address was printed


@contextlib.contextmanager
def using(executor: Any) -> Iterator[None]:
    """Train every run started inside the block with ``executor`` (see the module docstring)."""
    token = _current.set(executor)
    try:
        yield
    finally:
        _current.reset(token)


def resolve(executor: Any = None) -> Any:
    """``"local"`` or a ``distributed.Client``, from ``executor`` or the defaults above."""
    if executor is None:
        executor = _current.get()
    if executor is None:
        executor = os.environ.get(EXECUTOR, "").strip() or "local"
        if executor not in NAMES:
            raise ValueError(f"${EXECUTOR}={executor!r}: choose one of {NAMES}")
    if isinstance(executor, str):
        if executor == "local":
            return "local"
        if executor == "dask":
            address = os.environ.get(SCHEDULER, "").strip()
            if not address:
                raise ValueError(f"executor 'dask' needs the scheduler's address in ${SCHEDULER} "
                                 "(e.g. tcp://127.0.0.1:8786), or pass a Client or cluster object")
            return client(address)
        if "://" in executor:
            return client(executor)
        raise ValueError(f"executor={executor!r}: choose one of {NAMES}, a scheduler address, a Client or a cluster")
    return client(executor)


def client(target: Any) -> Any:
    """A (cached) ``distributed.Client`` for an address, a cluster, or the client itself."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - pinned in environment.yml
        raise ImportError("the dask executor needs `distributed` (pinned in environment.yml)") from None
    if isinstance(target, Client):
        return target
    if not isinstance(target, str) and not hasattr(target, "scheduler_address"):
        raise TypeError(f"not an executor: {target!r} (a Client, a cluster or an address is expected)")
    key = target if isinstance(target, str) else id(target)
    cached = _clients.get(key)
    if cached is None or cached.status in ("closed", "closing"):
        cached = _clients[key] = Client(target, set_as_default=False)
    return cached


def dashboard(dask_client: Any) -> str | None:
    """The address of the client's dashboard (None when the scheduler serves none)."""
    try:
        return dask_client.dashboard_link or None
    except Exception:  # no dashboard (e.g. started without bokeh): nothing to show
        return None


def map_on_dask(dask_client: Any, fn: Callable[[Any], Any], items: Sequence[Any], names: Sequence[str],
                desc: str = "runs") -> list:
    """``[fn(item) for item in items]`` as Dask tasks (one per item, never cached as pure, each named for
    the dashboard), returned in order; a task's error is raised here. A progress bar in this process
    advances as tasks finish (the runs' own bars print in the workers' logs), and the first call for a
    client prints its dashboard's address."""
    from distributed import as_completed

    if dask_client not in _announced:
        _announced.add(dask_client)
        link = dashboard(dask_client)
        print(f"Dask dashboard: {link}" if link else
              f"Dask scheduler {dask_client.scheduler.address}: no dashboard (bokeh is not installed where it runs)")
    futures = [dask_client.submit(fn, item, pure=False, key=f"{name}-{os.urandom(4).hex()}")
               for item, name in zip(items, names)]
    position = {f.key: i for i, f in enumerate(futures)}
    results: list = [None] * len(futures)
    try:
        with tqdm(total=len(futures), desc=f"{desc} (dask)", mininterval=1.0) as bar:
            for future in as_completed(futures, loop=dask_client.loop):
                results[position[future.key]] = future.result()  # a failed task raises its error here
                bar.update()
    except BaseException:
        dask_client.cancel(futures)  # nothing left training for a caller that stopped waiting
        raise
    return results
