"""Training a variant's runs, scoring the frozen episodes, and the stored results.

The runs of a variant (20 in the paper) train together through :func:`plasticity_utils.batched.train_runs`
as one :class:`~.network.PlasticNets`, whose parameters carry the run axis natively: each run samples its
own episodes from its own seed, the loss is the sum of the runs' losses and every optimiser acts per
element, so training runs together gives the same networks as training each one alone (tested). One
episode per update; the last ``frozen`` (500) episodes are run with the parameters frozen and are the ones
scored (paper §4.1). Each run is stored as its own record (:class:`~plasticity_utils.training.RunStore`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ...batched import Generators, Runs, finish_runs, train_runs
from ...environment import check_seeds, pick_device, results_dir
from ...tasks.bohp2016 import Episode
from ...training import Job, RunStore, fixed_threads, trainer_of
from .. import contract
from .network import PlasticNets, build, step_errors
from .optim import make_optimizer
from .sampling import PURPOSE_FROZEN, PURPOSE_TRAIN, sample_runs
from .variants import PROFILES, TASKS, Config


def episode_losses(config: Config, nets: Runs | PlasticNets, episode: Episode) -> tuple[Tensor, Tensor]:
    """Each run's loss on ``episode`` and its mean error over the scored steps, both (runs,).

    Adam: the mean error over the scored steps. Both RMSprops: the episode's error summed over its scored
    steps, the paper's per-episode error (§4.1) and the released scripts' loss (optim.py)."""
    error, _ = step_errors(nets, episode)
    scored = error[..., episode.scored]
    mean = scored.mean((1, 2))
    return (mean if config.optimizer == "adam" else scored.sum((1, 2))), mean.detach()


def _on(e: Episode, device: torch.device) -> Episode:
    return Episode(e.inputs.to(device), e.targets.to(device), e.scored.to(device))


def train_seeds(config: Config, seeds: list[int], checkpoint: Path | None = None,
                device: torch.device | None = None, progress: bool = True) -> list[tuple[dict, dict[str, Tensor]]]:
    """Train one network per seed (all together), then score the frozen episodes.

    Returns, per seed, the record (its learning curve over all episodes, its per-step errors on the frozen
    episodes) and its final parameters."""
    device = device or torch.device("cpu")
    task = TASKS[config.task]
    cache: dict[int, Episode] = {}

    def step(i: int, net: Runs, _: Generators):
        chunk, k = divmod(i, config.chunk)
        if chunk not in cache:
            cache.clear()
            cache[chunk] = _on(sample_runs(task, seeds, PURPOSE_TRAIN, chunk, config.chunk), device)
        e = cache[chunk]
        loss, error = episode_losses(config, net, Episode(e.inputs[:, k : k + 1], e.targets[:, k : k + 1], e.scored))
        return loss, {"error": error.cpu().tolist()}

    desc = config.task + (" clipped" if config.clip_alpha else "") + \
        (f" {config.optimizer}" if config.optimizer != "adam" else "")
    net, histories, (seconds, cpu_seconds) = train_runs(
        seeds, functools.partial(build, config), lambda net: make_optimizer(config, net.module), step, config.trained,
        device=device, checkpoint=checkpoint, desc=desc, progress=progress, native=True)
    frozen = evaluate(net, config, seeds, device)
    records = []
    for r, history in enumerate(histories):
        curve = np.concatenate([[h["error"] for h in history], frozen["episode_error"][r]])
        records.append({
            "curve": np.round(curve, 5).tolist(),  # (episodes,): mean error over the scored steps
            "frozen_step_error": frozen["step_error"][r].tolist(),  # (steps,)
            "frozen_step_miss": frozen["step_miss"][r].tolist(),  # (steps,)
            "scored": frozen["scored"].tolist(),  # (steps,)
            # this run's share of the CPU time per update (all runs of the call train together)
            "cpu_seconds_per_episode": cpu_seconds / len(seeds) / max(len(history), 1),
        })
    return finish_runs(net, seeds, records, seconds, device)


@torch.no_grad()
def evaluate(nets: Runs | PlasticNets, config: Config, seeds: list[int], device: torch.device) -> dict[str, np.ndarray]:
    """Score ``config.frozen`` fresh episodes per run with the parameters frozen (paper §4.1)."""
    e = _on(sample_runs(TASKS[config.task], seeds, PURPOSE_FROZEN, 0, config.frozen), device)
    error, miss = step_errors(nets, e)
    return {
        "episode_error": error[..., e.scored].mean(2).cpu().numpy(),  # (runs, frozen)
        "step_error": error.mean(1).cpu().numpy(),  # (runs, steps)
        "step_miss": miss.mean(1).cpu().numpy(),
        "scored": e.scored.cpu().numpy(),
    }


def trainer(config: Config, device: str | None = None, progress: bool = True) -> functools.partial:
    """A picklable ``train(seeds, checkpoint)`` for one config (the device is picked where it runs)."""
    return trainer_of(train_seeds, config, device, progress=progress)


def tag(variant: str) -> str:
    return f"{variant}-"


@dataclass
class Variant:
    """One variant's runs: their stored records (one per seed) and their final parameters, each stacked
    along a leading run axis (``params["alpha"]``: (runs, n_in, n_plastic))."""

    name: str
    config: Config
    records: list[dict]
    params: dict[str, Tensor]

    @classmethod
    def of(cls, name: str, config: Config, records: list[dict], params: list[dict[str, Tensor]]) -> Variant:
        """From each run's record and parameters (as the run store holds them)."""
        return cls(name, config, list(records), {k: torch.stack([p[k] for p in params]) for k in params[0]})

    def _rows(self, key: str) -> np.ndarray:
        return np.array([r[key] for r in self.records])

    @property
    def seeds(self) -> list[int]:
        return [r["seed"] for r in self.records]

    @property
    def curve(self) -> np.ndarray:
        """(runs, episodes): mean error over the scored steps of every episode, the frozen ones last."""
        return self._rows("curve")

    @property
    def step_error(self) -> np.ndarray:
        """(runs, steps): error at each step of the frozen episodes."""
        return self._rows("frozen_step_error")

    @property
    def step_miss(self) -> np.ndarray:
        return self._rows("frozen_step_miss")

    @property
    def scored(self) -> np.ndarray:
        return np.array(self.records[0]["scored"], dtype=bool)

    @property
    def final_error(self) -> np.ndarray:
        """(runs,): error on the frozen episodes, averaged over the scored steps."""
        return self.step_error[:, self.scored].mean(1)

    @property
    def final_miss(self) -> np.ndarray:
        return self.step_miss[:, self.scored].mean(1)

    @property
    def seconds(self) -> float:
        """Wall-clock seconds the runs trained, summed over their shares (inflated when the machine is shared)."""
        return float(sum(r["seconds"] for r in self.records))

    @property
    def cpu_seconds_per_update(self) -> float:
        """CPU seconds per update of all the runs together, summed over their shares."""
        return float(sum(r["cpu_seconds_per_episode"] for r in self.records))


@dataclass
class Result(contract.Result):
    """:class:`contract.Result` whose ``batches`` hold each variant's runs as arrays (``result["reversal"]``)."""

    batches: dict[str, Variant] = field(default_factory=dict)

    def __getitem__(self, variant: str) -> Variant:
        return self.batches[variant]

    @classmethod
    def of(cls, profile: str, variants: dict[str, Variant], device: str = "cpu") -> Result:
        return cls("bohp2016", profile, {n: v.records for n, v in variants.items()}, device, batches=variants)


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        variants: tuple[str, ...] | None = None, progress: bool = True) -> Result:
    """Train (or load the stored) runs of every variant at ``profile`` (see the contract); the missing runs
    of a variant train together in one call, each stored as its own run under ``results/bohp2016/<profile>/``.
    ``variants``: a subset to train or load (default: all of the profile's)."""
    p = contract.select_profile(PROFILES, profile)
    seeds = list(range(p.seeds)) if seeds is None else check_seeds(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one run")
    names = tuple(p.configs) if variants is None else tuple(variants)
    unknown = sorted(set(names) - set(p.configs))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {tuple(p.configs)}")
    store = RunStore(results_dir("bohp2016", profile))
    jobs = [Job(seeds, p.configs[n], trainer(p.configs[n], device, progress), tag(n)) for n in names]
    records = store.train(jobs, group=None, force=force)
    out = {n: Variant.of(n, p.configs[n], rs, [store.params(r["seed"], p.configs[n], tag(n)) for r in rs])
           for n, rs in zip(names, records)}
    return Result.of(profile, out, str(pick_device(device)))
