"""The maze's conditions, config and profiles, and what a stored run holds."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from ...plastic import RULES
from ...tasks.maze import MazeTask
from ...validation import check
from ..contract import Options, Profile, Record, record_keys, select_profile


CONDITIONS = {"plastic": "per_connection", "nonplastic": "none", "homogeneous": "shared"}
PENALTIES = ("sum_sq", "entropy")


class _MazeTiming(Record, total=False):
    cpu_seconds: float  # CPU seconds of the training, this run's share
    batch: int  # episodes per update


class MazeRecord(_MazeTiming):
    """An agent's run: one entry per update (means over its ``batch`` episodes)."""

    reward: list[float]  # total reward of an episode
    hits: list[float]  # times an episode reached the reward square
    loss: list[float]  # the A2C loss (:func:`a2c_loss`)
    eta: list[float]  # the plasticity rate after the update
    value_loss: list[float]  # the value term of the loss, divided by the episode's steps
    penalty: list[float]  # the policy-concentration term, divided by the episode's steps


@dataclass(frozen=True)
class Config:
    RECORD_KEYS: ClassVar[tuple[str, ...]] = record_keys(MazeRecord)  # what a stored run must hold

    task: MazeTask = field(default_factory=MazeTask)
    condition: str = "plastic"
    hidden: int = 200
    batch: int = 30  # episodes per update
    updates: int = 100
    lr: float = 1e-4
    adam_eps: float = 1e-4
    gamma: float = 0.9
    value_coef: float = 0.03
    penalty: str = "sum_sq"
    penalty_coef: float = 0.1
    rule: str = "oja"
    eta: float = 0.01
    init_scale: float = 0.01

    def __post_init__(self) -> None:
        check(self, types={"task": MazeTask}, choices={"condition": tuple(CONDITIONS), "penalty": PENALTIES,
                                                        "rule": RULES},
              counts=("hidden", "batch", "updates"), positive=("lr", "adam_eps", "init_scale"), unit=("gamma",),
              non_negative_real=("value_coef", "penalty_coef"), rate=("eta",))

    @property
    def episodes(self) -> int:
        return self.updates * self.batch


# Memory of one batched run (float32, batch 30 x 250 steps), measured on the CPU as peak RSS: 1.30 GB for
# one run and 1.83 GB for two over 2 updates (1.36 GB for one over 3): ~0.55 GB per run, the fused layer's
# batched replay keeping a trace checkpoint every ~16 steps. (Through the reference layer it was ~7 GB per run.)
RUN_BYTES_FLOAT32 = 0.6e9


def runs_per_batch(device: torch.device, runs: int, share: float = 0.8) -> int:
    """How many runs of the paper's agent (hidden 200, batch 30, 250 steps) one batched model may hold on
    ``device``: ``share`` of its memory (a GPU's, or the machine's for the CPU) over the memory per run
    measured above at the default dtype; at least 1, at most ``runs``. A whole condition (15 runs) on any
    GPU of 16 GB or more and on the 24 GiB CPU machine. The batch's checkpoint is named by its seeds, so an
    interrupted batch resumes only on a device that forms the same groups."""
    if device.type == "cuda":
        memory = torch.cuda.get_device_properties(device).total_memory
    else:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    per_run = RUN_BYTES_FLOAT32 * torch.get_default_dtype().itemsize / 4
    return max(1, min(runs, int(share * memory // per_run)))


def _profile(updates: int, runs: int, note: str, batched: bool = False) -> Profile:
    # batched: the runs of a condition train as one batched model, as many at a time as runs_per_batch allows
    return Profile({c: Config(updates=updates, condition=c) for c in CONDITIONS}, runs, note,
                   Options(batched=batched, extra={"eval_episodes": 100, "chance_episodes": 300, "last": 0.2}))


# Scale is the only thing a profile changes: updates (of `batch` episodes) per run and runs per condition.
# cpu: about 60 minutes for the 3 conditions on 2 cores, derived from measured seconds per update
# (see benchmarks/maze.py and the notebook); paper: about 200,000 episodes and 15 runs per condition.
PROFILES = {
    "smoke": _profile(1, 2, "pipeline check only"),
    "cpu": _profile(120, 4, "4 runs x 120 updates of 30 episodes = 3,600 episodes per run and condition"),
    "paper": _profile(6700, 15, "15 runs x 6,700 updates of 30 episodes = 201,000 episodes per run and condition; "
                                "the runs of a condition trained as one batched model, as many at a time as the "
                                "device's memory holds (all 15 on any GPU of 16 GB or more)", batched=True),
}


def profile_config(profile: str) -> tuple[Config, list[int]]:
    """The plastic condition's config at ``profile`` and the seeds (one per run)."""
    p = select_profile(PROFILES, profile)
    return p.configs["plastic"], list(range(p.seeds))
