"""Memorising binary patterns with a plastic recurrent network (NIPS 2017 Fig. 2; ICML 2018 §4.1).

The network has one neuron per pattern bit plus a bias neuron whose input is always 1; the input
tensor is multiplied by ``input_scale`` (20) and added to the pre-activation. Loss: summed squared
error between the pattern neurons at the last step and the full pattern.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..config import pick_device, results_dir, seed_everything, select
from ..plastic import ALPHA_MODES, RULES, PlasticRecurrent
from ..plotting import smooth
from ..tasks.patterns import PatternTask, pattern_episode, sign_error
from ..training import RunStore, elapsed, train
from ..validation import IMPLS, check


@dataclass(frozen=True)
class Config:
    task: PatternTask = field(default_factory=PatternTask)
    episodes: int = 300
    batch: int = 1
    input_scale: float = 20.0
    lr: float = 3e-4
    rule: str = "hebb"
    alpha: str = "per_connection"
    eta: float = 0.01
    learn_eta: bool = True
    impl: str = "fused"

    def __post_init__(self) -> None:
        check(self, types={"task": PatternTask}, counts=("episodes", "batch"), positive=("input_scale", "lr"),
              rate=("eta",), flags=("learn_eta",), choices={"rule": RULES, "alpha": ALPHA_MODES, "impl": IMPLS})


# Scale is the only thing a profile changes: episodes per seed and the number of seeds.
PROFILES = {
    "smoke": (Config(episodes=12), 2),
    "cpu": (Config(episodes=400), 10),
    "paper": (Config(episodes=1000), 10),
}


def profile_config(profile: str) -> tuple[Config, list[int]]:
    config, n_seeds = select(profile, PROFILES)
    return config, list(range(n_seeds))


def build(config: Config) -> PlasticRecurrent:
    return PlasticRecurrent(
        config.task.n_bits + 1, input_mode="add", rule=config.rule, alpha=config.alpha,
        eta=config.eta, learn_eta=config.learn_eta,
    )


def train_seed(config: Config, seed: int, checkpoint: Path | None, device: torch.device,
               progress: bool = True) -> tuple[dict, dict]:
    """Train one network from seed ``seed``; return its curve (per-episode loss, error, eta)."""
    generator = seed_everything(seed)
    net = build(config).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    n = config.task.n_bits

    def episode(_: int):
        inputs, target = pattern_episode(config.task, config.batch, generator)
        inputs, target = inputs.to(device) * config.input_scale, target.to(device)
        xs, _ = net(inputs, impl=config.impl)
        out = xs[:, -1, :n]
        loss = ((out - target) ** 2).sum(-1).mean()
        return loss, {"error": sign_error(out, target).mean().item(), "eta": net.connection.eta.item()}

    history = train(net, optimizer, episode, config.episodes, generator=generator, checkpoint=checkpoint,
                    desc=f"seed {seed}", progress=progress)
    record = {
        "error": [h["error"] for h in history],
        "loss": [h["loss"] for h in history],
        "eta": [h["eta"] for h in history],
        "seconds": elapsed(history)[0],
        "n_params": sum(p.numel() for p in net.parameters() if p.requires_grad),
    }
    return record, {k: v.cpu() for k, v in net.state_dict().items()}


def run(profile: str, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        config: Config | None = None, workers: int | None = None) -> list[dict]:
    """Train (or load) every seed of ``profile``; returns the stored records."""
    default, default_seeds = profile_config(profile)
    config = config or default
    store = RunStore(results_dir("binary_patterns", profile))
    fn = functools.partial(train_seed, config, device=pick_device(device))
    return store.run_many(default_seeds if seeds is None else seeds, config, fn, force=force, workers=workers)


def landmarks(records: list[dict], window: int = 10, threshold: float = 0.01) -> dict:
    """Numbers the notebook reports: the first episode where the across-seed mean of the trailing
    ``window``-episode error drops below ``threshold``, and the error over the last ``window``
    episodes (mean and worst seed)."""
    errors = np.array([r["error"] for r in records])
    mean_curve = smooth(errors, window).mean(0)
    below = np.flatnonzero(mean_curve < threshold)
    final = errors[:, -window:].mean(1)
    return {
        "first_below": int(below[0]) + 1 if below.size else None,
        "final_mean": float(final.mean()),
        "final_worst": float(final.max()),
        "seconds_per_episode": float(np.mean([r["seconds"] / len(r["error"]) for r in records])),
        "episodes": errors.shape[1],
        "seeds": errors.shape[0],
    }


__all__ = ["Config", "PROFILES", "profile_config", "build", "train_seed", "run", "landmarks", "asdict", "replace"]
