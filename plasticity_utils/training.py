"""Training loops that survive interruption, and a per-seed cache of finished runs.

A run is trained by :func:`train` and stored by :class:`RunStore` as ``seed<k>.json`` (config and
learning curve) plus ``seed<k>.pt`` (final parameters). While it trains, a checkpoint (model,
optimiser, sampling RNG, curve so far) is written every ``checkpoint_seconds``; an interrupted run
resumes from it. A stored run whose config differs from the requested one is retrained.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

Metrics = dict[str, float]
EpisodeFn = Callable[[int], tuple[Tensor, Metrics]]


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
    :func:`elapsed` gives the whole run's training time even after a resume.
    """
    if episodes < 0:
        raise ValueError(f"episodes must be >= 0, got {episodes}")
    history: list[Metrics] = []
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        history = state["history"]
    last_save = time.monotonic()
    bar = tqdm(range(len(history), episodes), desc=desc, initial=len(history), total=episodes,
               disable=not progress, mininterval=2.0)
    for i in bar:
        wall, cpu = time.perf_counter(), time.process_time()
        loss, metrics = episode(i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.append({"loss": loss.item(), **metrics,
                        "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu})
        if i % 10 == 0:
            bar.set_postfix({k: f"{v:.3g}" for k, v in history[-1].items() if k not in ("wall", "cpu")})
        if checkpoint is not None and time.monotonic() - last_save > checkpoint_seconds:
            _save_checkpoint(checkpoint, model, optimizer, scheduler, generator, history)
            last_save = time.monotonic()
    return history


def elapsed(history: list[Metrics]) -> tuple[float, float]:
    """Total (wall-clock, CPU) seconds of the updates in ``history``, as recorded by :func:`train`."""
    return sum(h["wall"] for h in history), sum(h["cpu"] for h in history)


def _save_checkpoint(path: Path, model, optimizer, scheduler, generator, history) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": history,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def _jsonable(config: Any) -> dict:
    return json.loads(json.dumps(asdict(config) if is_dataclass(config) else dict(config)))


@dataclass
class RunStore:
    """Finished runs of one experiment and profile, one file pair per seed, under ``root``."""

    root: Path

    def json_path(self, seed: int, tag: str = "") -> Path:
        return self.root / f"{tag}seed{seed}.json"

    def checkpoint_path(self, seed: int, config: Any, tag: str = "") -> Path:
        """Checkpoints are named by a hash of the config, so a changed config never resumes one."""
        digest = hashlib.sha1(json.dumps(_jsonable(config), sort_keys=True).encode()).hexdigest()[:10]
        return self.root / f"{tag}seed{seed}-{digest}.ckpt"

    def params_path(self, seed: int, tag: str = "") -> Path:
        return self.root / f"{tag}seed{seed}.pt"

    def load(self, seed: int, config: Any, tag: str = "") -> dict | None:
        """The stored run for ``seed`` if it was trained with exactly ``config``."""
        path = self.json_path(seed, tag)
        if not path.exists():
            return None
        record = json.loads(path.read_text())
        return record if record["config"] == _jsonable(config) else None

    def save(self, seed: int, config: Any, record: dict, params: dict[str, Tensor], tag: str = "") -> dict:
        self.root.mkdir(parents=True, exist_ok=True)
        record = {"config": _jsonable(config), "seed": seed, **record}
        torch.save(params, self.params_path(seed, tag))
        tmp = self.json_path(seed, tag).with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(self.json_path(seed, tag))
        self.checkpoint_path(seed, config, tag).unlink(missing_ok=True)
        return record

    def params(self, seed: int, tag: str = "") -> dict[str, Tensor]:
        return torch.load(self.params_path(seed, tag), weights_only=True)

    def run(
        self,
        seed: int,
        config: Any,
        train_seed: Callable[[int, Path], tuple[dict, dict[str, Tensor]]],
        *,
        force: bool = False,
        tag: str = "",
    ) -> dict:
        """Load the stored run for ``seed`` or train it with ``train_seed(seed, checkpoint_path)``.

        ``train_seed`` returns the record to store (curve, timings, evaluations) and the final
        parameters. ``force`` discards any stored run and checkpoint.
        """
        checkpoint = self.checkpoint_path(seed, config, tag)
        if force:
            checkpoint.unlink(missing_ok=True)
        else:
            stored = self.load(seed, config, tag)
            if stored is not None:
                return stored
            if self.json_path(seed, tag).exists():
                print(f"{self.json_path(seed, tag).name}: config changed, retraining")
        record, params = train_seed(seed, checkpoint)
        return self.save(seed, config, record, params, tag)

    def run_many(
        self,
        seeds: list[int],
        config: Any,
        train_seed: Callable[[int, Path], tuple[dict, dict[str, Tensor]]],
        *,
        force: bool = False,
        tag: str = "",
        workers: int | None = None,
    ) -> list[dict]:
        """:meth:`run` for every seed, in ``workers`` processes of one thread each (default:
        ``$PLASTICITY_WORKERS`` or 1). The plastic layers are memory-bound, so on a 2-core CPU two
        single-threaded runs side by side train about twice as fast as one run on two threads.
        ``train_seed`` must then be picklable (a module-level function or a ``functools.partial``)."""
        workers = workers or int(os.environ.get("PLASTICITY_WORKERS", "1"))
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if workers == 1 or len(seeds) < 2:
            return [self.run(s, config, train_seed, force=force, tag=tag) for s in seeds]
        with ProcessPoolExecutor(min(workers, len(seeds)), mp_context=get_context("spawn"),
                                 initializer=torch.set_num_threads, initargs=(1,)) as pool:
            futures = [pool.submit(self.run, s, config, train_seed, force=force, tag=tag) for s in seeds]
            return [f.result() for f in tqdm(futures, desc=f"{tag or 'runs'} ({workers} workers)")]
