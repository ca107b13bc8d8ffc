"""Training every variant's runs as one batch, scoring the frozen episodes, and the stored result.

All runs of a variant (20 in the paper) are trained together as one batch of independent networks:
every parameter has a leading ``runs`` dimension, each run samples its own episodes from its own seed,
the loss is the sum of the runs' losses and both optimisers act per element, so training runs together
gives the same networks as training each one alone (tested). One episode per update; the last
``frozen`` (500) episodes are run with the parameters frozen and are the ones scored (paper §4.1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ...config import check_seeds, pick_device, results_dir
from ...tasks.bohp2016 import Episode
from ...training import Job, RunStore, elapsed, fixed_threads, train
from .. import contract
from .network import PlasticNets, build, step_errors
from .optim import make_optimizer
from .sampling import PURPOSE_FROZEN, PURPOSE_TRAIN, sample_runs
from .variants import PROFILES, TASKS, Config


def train_runs(config: Config, seeds: list[int], checkpoint: Path | None = None, device: torch.device | None = None,
               progress: bool = True) -> tuple[dict, dict[str, Tensor]]:
    """Train one network per seed (all together), then score the frozen episodes.

    Returns the record (per-run learning curve over all episodes, per-step errors on the frozen
    episodes) and the final parameters (each with a leading runs dimension).
    """
    device = device or torch.device("cpu")
    task = TASKS[config.task]
    nets = build(config, seeds).to(device)
    optimizer = make_optimizer(config, nets)
    cache: dict[int, Episode] = {}

    def episode(i: int):
        chunk, k = divmod(i, config.chunk)
        if chunk not in cache:
            cache.clear()
            e = sample_runs(task, seeds, PURPOSE_TRAIN, chunk, config.chunk)
            cache[chunk] = Episode(e.inputs.to(device), e.targets.to(device), e.scored.to(device))
        e = cache[chunk]
        one = Episode(e.inputs[:, k : k + 1], e.targets[:, k : k + 1], e.scored)
        error, _ = step_errors(nets, one)
        per_run = error[..., one.scored].mean((1, 2))  # (runs,): mean error over the scored steps
        # Adam: the runs' mean errors over the scored steps. Both RMSprops: the episode's error summed over its
        # scored steps, the paper's per-episode error (§4.1) and the released scripts' loss (optim.py).
        loss = per_run.sum() if config.optimizer == "adam" else error[..., one.scored].sum()
        per_run = per_run.detach().cpu()
        # the progress bar shows the mean over runs; the per-run errors ("r<k>/error") stay out of it
        return loss, {"error": float(per_run.mean()), **{f"r{r}/error": float(v) for r, v in enumerate(per_run)}}

    desc = config.task + (" clipped" if config.clip_alpha else "") + \
        (f" {config.optimizer}" if config.optimizer != "adam" else "")
    history = train(nets, optimizer, episode, config.trained, generator=torch.Generator().manual_seed(seeds[0]),
                    checkpoint=checkpoint, desc=desc, progress=progress)
    train_seconds, cpu_seconds = elapsed(history)
    frozen = evaluate(nets, config, seeds, device)
    # (a checkpoint written before the per-run keys were named "r<k>/error" holds them as "run<k>")
    curve = np.array([[h[f"r{r}/error"] if f"r{r}/error" in h else h[f"run{r}"] for h in history]
                      for r in range(len(seeds))]).reshape(len(seeds), -1)
    curve = np.concatenate([curve, frozen["episode_error"]], 1)
    record = {
        "seeds": list(seeds),
        "curve": np.round(curve, 5).tolist(),  # (runs, episodes): mean error over the scored steps
        "frozen_step_error": frozen["step_error"].tolist(),  # (runs, steps)
        "frozen_step_miss": frozen["step_miss"].tolist(),  # (runs, steps)
        "scored": frozen["scored"].tolist(),  # (steps,)
        "seconds": train_seconds,  # wall clock (inflated when the machine is shared)
        "cpu_seconds_per_episode": cpu_seconds / max(len(history), 1),  # CPU time per update (all runs)
    }
    return record, {k: v.detach().cpu() for k, v in nets.state_dict().items()}


@torch.no_grad()
def evaluate(nets: PlasticNets, config: Config, seeds: list[int], device: torch.device) -> dict[str, np.ndarray]:
    """Score ``config.frozen`` fresh episodes per run with the parameters frozen (paper §4.1)."""
    e = sample_runs(TASKS[config.task], seeds, PURPOSE_FROZEN, 0, config.frozen)
    e = Episode(e.inputs.to(device), e.targets.to(device), e.scored.to(device))
    error, miss = step_errors(nets, e)
    return {
        "episode_error": error[..., e.scored].mean(2).cpu().numpy(),  # (runs, frozen)
        "step_error": error.mean(1).cpu().numpy(),  # (runs, steps)
        "step_miss": miss.mean(1).cpu().numpy(),
        "scored": e.scored.cpu().numpy(),
    }


@dataclass
class Runs:
    """One variant's batch of runs: the stored record and the final parameters (leading dim: runs)."""

    name: str
    config: Config
    record: dict
    params: dict[str, Tensor]

    @property
    def seeds(self) -> list[int]:
        return list(self.record["seeds"])

    @property
    def curve(self) -> np.ndarray:
        return np.array(self.record["curve"])

    @property
    def step_error(self) -> np.ndarray:
        return np.array(self.record["frozen_step_error"])

    @property
    def step_miss(self) -> np.ndarray:
        return np.array(self.record["frozen_step_miss"])

    @property
    def scored(self) -> np.ndarray:
        return np.array(self.record["scored"], dtype=bool)

    @property
    def final_error(self) -> np.ndarray:
        """(runs,): error on the frozen episodes, averaged over the scored steps."""
        return self.step_error[:, self.scored].mean(1)

    @property
    def final_miss(self) -> np.ndarray:
        return self.step_miss[:, self.scored].mean(1)

    def per_run(self) -> list[dict]:
        """The batch record split into one record per run (what :attr:`Result.runs` holds)."""
        shared = {k: self.record[k] for k in ("config", "scored", "seconds", "cpu_seconds_per_episode")
                  if k in self.record}
        per_run = ("curve", "frozen_step_error", "frozen_step_miss")
        return [{"seed": s, **shared, **{k: self.record[k][r] for k in per_run if k in self.record}}
                for r, s in enumerate(self.seeds)]


@dataclass
class Result(contract.Result):
    """:class:`contract.Result` whose ``batches`` hold each variant's runs as arrays (``result["reversal"]``)."""

    batches: dict[str, Runs] = field(default_factory=dict)

    def __getitem__(self, variant: str) -> Runs:
        return self.batches[variant]

    @classmethod
    def of(cls, profile: str, batches: dict[str, Runs], device: str = "cpu") -> Result:
        return cls("bohp2016", profile, {n: b.per_run() for n, b in batches.items()}, device, batches=batches)


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        variants: tuple[str, ...] | None = None, progress: bool = True) -> Result:
    """Train (or load the stored) runs of every variant at ``profile`` (see the contract); each
    variant's runs train as one batch, stored under ``results/bohp2016/<profile>/``. ``variants``:
    a subset to train or load (default: all of the profile's)."""
    p = contract.select_profile(PROFILES, profile)
    seeds = list(range(p.seeds)) if seeds is None else check_seeds(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one run")
    names = tuple(p.configs) if variants is None else tuple(variants)
    unknown = sorted(set(names) - set(p.configs))
    if unknown:
        raise ValueError(f"unknown variants {unknown}; choose from {tuple(p.configs)}")
    dev = pick_device(device)
    store = RunStore(results_dir("bohp2016", profile))
    batches = {}
    for name in names:
        config = p.configs[name]
        key = {**asdict(config), "seeds": seeds}  # the stored batch is retrained if either changes
        tag = f"{name}-"
        ((record,),) = store.train([Job([seeds[0]], key, lambda _s, ck, c=config: [train_runs(c, seeds, ck, dev, progress)],
                                        tag)], force=force)
        batches[name] = Runs(name, config, record, store.params(seeds[0], key, tag))
    return Result.of(profile, batches, str(dev))
