"""Plastic network vs non-plastic RNN vs LSTM on 50-bit patterns (NIPS 2017 workshop Fig. 2 right;
ICML 2018 §4.1).

The reduced task: 2 balanced ±1 patterns of 50 bits, shown once each for 3 steps followed by 1 zero
step, then one of them with half its bits zeroed for 3 steps (11 steps). Loss: summed squared error
of the 50 pattern units at the last step; error: fraction of wrong signs (as in the 1000-bit task).

* ``plastic``: the network of :mod:`.binary_patterns` (50 + 1 bias neurons, inputs x20, eta learned
  from 0.01 as in the authors' comparison code, Adam 3e-4), trained by its own
  :func:`~.binary_patterns.train_seed`; ``plastic_eta05``: the same with eta fixed at 0.05, the
  value the paper gives for this faster presentation.
* ``rnn``: the same network without plasticity and with 2000 extra neurons (2051 in all), inputs x20,
  Adam 3e-5 (:class:`~plasticity_utils.baselines.RecurrentBaseline`).
* ``lstm`` / ``lstm_clamp``: ``torch.nn.LSTM(50, 2000)`` read out from its first 50 hidden units,
  inputs x100 (no bias column: the LSTM has its own biases), Adam 3e-5, without / with the authors'
  clamp (:class:`~plasticity_utils.baselines.LSTMBaseline`).

The baselines can train on ``batch`` episodes per update (the mean loss over the batch); the papers
used one. Curves are indexed by episodes seen, so runs with different batches share one axis.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor, nn

from ..baselines import LSTMBaseline, RecurrentBaseline, n_trainable
from ..config import pick_device, results_dir, seed_everything, select
from ..plotting import smooth
from ..tasks.patterns import PatternTask, pattern_episode, sign_error
from ..training import RunStore, elapsed, train
from ..validation import check, label
from . import binary_patterns as bp

TASK = PatternTask(n_bits=50, n_patterns=2, cycles=1, show=3, gap=1, test_show=3)
MODELS = ("plastic", "plastic_eta05", "rnn", "lstm_clamp", "lstm")


@dataclass(frozen=True)
class BaselineConfig:
    model: str = "rnn"  # "rnn" | "lstm"
    clamp: bool = False  # LSTM only: pin the first 50 units to their inputs
    task: PatternTask = field(default_factory=lambda: TASK)
    extra: int = 2000  # rnn: neurons beside the 50 + 1 input neurons; lstm: hidden units
    input_scale: float = 20.0
    lr: float = 3e-5
    episodes: int = 1000  # episodes seen (updates = episodes / batch)
    batch: int = 1  # episodes per update

    def __post_init__(self) -> None:
        check(self, types={"task": PatternTask}, choices={"model": ("rnn", "lstm")}, flags=("clamp",),
              counts=("episodes", "batch"), non_negative=("extra",), positive=("input_scale", "lr"))
        if self.clamp and self.model != "lstm":
            raise ValueError(f"{label(self)}: clamp applies to the LSTM only")
        if self.model == "lstm" and self.extra < self.task.n_bits:
            raise ValueError(f"{label(self)}: extra (the LSTM's hidden units) must be >= n_bits={self.task.n_bits} "
                             f"(read out from its first n_bits units), got {self.extra}")
        if self.episodes % self.batch:
            raise ValueError(f"{label(self)}: episodes ({self.episodes}) must be a multiple of batch ({self.batch})")


PLASTIC = bp.Config(task=TASK, episodes=2000, input_scale=20.0, lr=3e-4, eta=0.01, learn_eta=True)
PLASTICS = {"plastic": PLASTIC, "plastic_eta05": replace(PLASTIC, eta=0.05, learn_eta=False)}
BASELINES = {
    "rnn": BaselineConfig("rnn", input_scale=20.0),
    "lstm_clamp": BaselineConfig("lstm", clamp=True, input_scale=100.0),
    "lstm": BaselineConfig("lstm", clamp=False, input_scale=100.0),
}


def sqrt_scaled_lr(lr: float, batch: int) -> float:
    """The papers' one-episode learning rate for ``batch`` episodes per update: Adam's step has about
    the same size whatever the batch, and the gradient noise falls as 1/sqrt(batch), so the
    square-root rule keeps the noise injected per episode seen about constant."""
    return lr * math.sqrt(batch)


def _profile(plastic: tuple[int, int], baselines: dict[str, tuple[int, int, int]]) -> dict:
    """(episodes, seeds) for both plastic nets; (episodes, batch, seeds) per baseline."""
    table: dict = {name: (replace(c, episodes=plastic[0]), plastic[1]) for name, c in PLASTICS.items()}
    for name, (episodes, batch, seeds) in baselines.items():
        base = BASELINES[name]
        table[name] = (replace(base, episodes=episodes, batch=batch, lr=sqrt_scaled_lr(base.lr, batch)), seeds)
    return table


# Scale is the only thing a profile changes: episodes, episodes per update (with the learning rate
# scaled to match), seeds. WINDOW: episodes in the trailing mean of a curve (the authors logged the
# mean error of every 100 episodes).
# cpu (about 45 min on 2 cores): measured 1-thread CPU time per episode on a busy machine, batch 32:
# plastic 4 ms, rnn 5.6 ms, lstm_clamp 22.9 ms; assuming ~1.5x from the second core for the
# matrix-bound baselines: 2 x 5 x 5000 x 4 ms + 153,600 x 3.7 ms + 2 x 51,200 x 15 ms
# = 200 + 570 + 1560 s (about 39 min; 57 min if the second core brings nothing).
PROFILES = {
    "smoke": _profile((40, 2), {"rnn": (32, 8, 1), "lstm_clamp": (16, 8, 1), "lstm": (16, 8, 1)}),
    "cpu": _profile((5000, 5), {"rnn": (153_600, 32, 1), "lstm_clamp": (51_200, 32, 1), "lstm": (51_200, 32, 1)}),
    "paper": _profile((5000, 10), {"rnn": (1_000_000, 1, 3), "lstm_clamp": (1_000_000, 1, 3),
                                   "lstm": (1_000_000, 1, 3)}),
}
WINDOW = {"smoke": 8, "cpu": 100, "paper": 100}


def profile_config(profile: str) -> dict[str, tuple[bp.Config | BaselineConfig, list[int]]]:
    """Model name -> (config, seeds) for ``profile``."""
    return {name: (config, list(range(n))) for name, (config, n) in select(profile, PROFILES).items()}


def build_baseline(config: BaselineConfig) -> nn.Module:
    if config.model == "rnn":
        return RecurrentBaseline(config.task.n_bits + 1 + config.extra)
    return LSTMBaseline(config.task.n_bits, config.extra, clamp=config.clamp)


def make_optimizer(config: BaselineConfig, model: nn.Module) -> torch.optim.Adam:
    """Adam at ``config.lr``; the fused implementation (one kernel for the whole update, about 7x
    faster than the default on 4-16 million CPU parameters) where this torch build offers it."""
    try:
        return torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=config.lr)


def baseline_step(config: BaselineConfig, model: nn.Module, generator: torch.Generator,
                  device: torch.device) -> Callable[[], tuple[Tensor, dict[str, float]]]:
    """A function that samples ``config.batch`` episodes and returns (mean loss, {"error": ...})."""
    n = config.task.n_bits

    def step() -> tuple[Tensor, dict[str, float]]:
        inputs, target = pattern_episode(config.task, config.batch, generator)
        if config.model == "lstm":
            inputs = inputs[..., :n]  # drop the RNNs' bias-neuron column: the LSTM has its own biases
        inputs, target = inputs.to(device) * config.input_scale, target.to(device)
        out = model(inputs)[:, -1, :n]
        loss = ((out - target) ** 2).sum(-1).mean()
        return loss, {"error": sign_error(out, target).mean().item()}

    return step


def train_baseline_seed(config: BaselineConfig, seed: int, checkpoint: Path | None, device: torch.device,
                        progress: bool = True) -> tuple[dict, dict]:
    """Train one baseline from seed ``seed``; return its curve (error and loss per update)."""
    generator = seed_everything(seed)
    model = build_baseline(config).to(device)
    optimizer = make_optimizer(config, model)
    step = baseline_step(config, model, generator, device)
    name = config.model + ("+clamp" if config.clamp else "")
    history = train(model, optimizer, lambda _: step(), config.episodes // config.batch, generator=generator,
                    checkpoint=checkpoint, desc=f"{name} seed {seed}", progress=progress)
    record = {
        "error": [h["error"] for h in history],
        "loss": [h["loss"] for h in history],
        "seconds": elapsed(history)[0],
        "n_params": n_trainable(model),
    }
    return record, {k: v.cpu() for k, v in model.state_dict().items()}


def run(profile: str, models: tuple[str, ...] = MODELS, seeds: list[int] | None = None, force: bool = False,
        device: str | None = None) -> dict[str, list[dict]]:
    """Train (or load) every seed of every model of ``profile``; model name -> stored records.

    ``seeds`` replaces the profile's seeds for every model.
    """
    unknown = set(models) - set(MODELS)
    if unknown:
        raise ValueError(f"unknown models {sorted(unknown)}; choose from {MODELS}")
    table = profile_config(profile)
    dev = pick_device(device)
    store = RunStore(results_dir("plastic_vs_lstm", profile))
    out = {}
    for name in models:
        config, default_seeds = table[name]
        fn = functools.partial(bp.train_seed if name in PLASTICS else train_baseline_seed, config, device=dev)
        out[name] = store.run_many(default_seeds if seeds is None else seeds, config, fn, force=force,
                                   tag=f"{name}-")
    return out


def curves(records: list[dict], window: int, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Episodes seen and each seed's error averaged over the trailing ``window`` episodes
    (seeds x points), at about ``points`` log-spaced positions for plotting on a log axis."""
    batch = records[0]["config"]["batch"]
    errors = smooth(np.array([r["error"] for r in records]), max(1, window // batch))
    episodes = batch * np.arange(1, errors.shape[1] + 1)
    keep = np.unique(np.geomspace(1, errors.shape[1], points).astype(int) - 1)
    return episodes[keep], errors[:, keep]


def error_at(records: list[dict], window: int, episodes: int) -> float | None:
    """Across-seed mean of the trailing ``window``-episode error after ``episodes`` episodes
    (None if the runs are shorter)."""
    batch = records[0]["config"]["batch"]
    errors = np.array([r["error"] for r in records])
    update = -(-episodes // batch)  # the update that contains episode ``episodes``
    if update > errors.shape[1]:
        return None
    return float(smooth(errors, max(1, window // batch))[:, update - 1].mean())


def landmarks(records: list[dict], window: int, threshold: float = 0.01) -> dict:
    """The first episode count at which the across-seed mean of the trailing ``window``-episode error
    is below ``threshold``, the lowest value of that mean and where, the error over the last
    ``window`` episodes (mean, worst seed), timing."""
    batch = records[0]["config"]["batch"]
    updates = max(1, window // batch)
    errors = np.array([r["error"] for r in records])
    mean_curve = smooth(errors, updates).mean(0)
    mean_curve[: updates - 1] = np.inf  # a trailing mean needs a full window
    below = np.flatnonzero(mean_curve < threshold)
    final = errors[:, -updates:].mean(1)
    episodes = errors.shape[1] * batch
    return {
        "first_below": int(below[0] + 1) * batch if below.size else None,
        "best_mean": float(mean_curve.min()),
        "best_at": int(mean_curve.argmin() + 1) * batch,
        "final_mean": float(final.mean()),
        "final_worst": float(final.max()),
        "seconds_per_episode": float(np.mean([r["seconds"] for r in records])) / episodes,
        "episodes": episodes,
        "batch": batch,
        "seeds": len(records),
        "n_params": records[0]["n_params"],
    }


__all__ = ["TASK", "MODELS", "BaselineConfig", "PLASTIC", "PLASTICS", "BASELINES", "PROFILES", "WINDOW",
           "sqrt_scaled_lr", "profile_config", "build_baseline", "make_optimizer", "baseline_step",
           "train_baseline_seed", "run", "curves", "error_at", "landmarks", "replace"]
