"""What is trained: the config of a variant's runs, the paper's variants and the profiles (Miconi 2016, §4).

The 2016 paper ("Learning to learn with backpropagation of Hebbian plasticity", arXiv:1609.02228) trains
20 runs per experiment, one episode per update; the last 500 episodes are run with the parameters
frozen and are the ones scored (§4.1). Its experiments: pattern completion (§4.2, 5,000 episodes),
one-shot learning (§4.3) and reversal learning (§4.4, 10,000 episodes each), plus the ablation with
plasticity coefficients clipped to positive values (§4.4, "data not shown").

The trace's retention 1 - gamma is fixed per task (Eq. 1 names gamma "a time constant" and the text gives no
value); the authors' released scripts set it (ALPHATRACE) and their runexp.py files sweep it. The retention
sweep (:data:`RETENTION_SWEEP`) trains each task's Adam variant again at every value those sweeps use
(:data:`RETENTIONS`), nothing else changed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from ...tasks.bohp2016 import ONE_SHOT, REVERSAL, CompletionTask, LabelTask
from ...validation import check, label
from ..contract import Profile, Record, record_keys

TASKS: dict[str, CompletionTask | LabelTask] = {
    "completion": CompletionTask(),
    "one_shot": ONE_SHOT,
    "reversal": REVERSAL,
}
OPTIMIZERS = ("adam", "rmsprop2016", "released2016")  # see optim.py
N_HIDDEN = 2  # one-shot / reversal: 2 plastic hidden units


class _BohpTiming(Record, total=False):
    cpu_seconds_per_episode: float  # this run's share of the CPU time per update (the runs of a call train together)


class BohpRecord(_BohpTiming):
    """A run of one 2016 variant: its whole curve and its scoring on the frozen episodes."""

    curve: list[float]  # per episode (trained, then frozen): mean error over the scored steps
    frozen_step_error: list[float]  # per step of the frozen episodes: mean error
    frozen_step_miss: list[float]  # per step of the frozen episodes: fraction of misses
    scored: list[bool]  # per step: whether the step is scored


@dataclass(frozen=True)
class Config:
    RECORD_KEYS: ClassVar[tuple[str, ...]] = record_keys(BohpRecord)  # what a stored run must hold

    task: str = "one_shot"  # completion | one_shot | reversal
    episodes: int = 10_000  # in all, including the frozen ones (paper: 5,000 completion, 10,000 others)
    frozen: int = 500  # last episodes: no update, these are scored
    retention: float = 0.98  # 1 - gamma of Eq. 1
    clip_alpha: bool = False  # ablation: alpha <- max(alpha, 0) after each optimiser step (and at init)
    optimizer: str = "adam"  # adam | rmsprop2016 (our RMSprop) | released2016 (the released scripts'), see optim.py
    lr: float = 0.01  # Adam's learning rate, or the step size of either RMSprop
    init_scale: float = 0.1  # w, alpha, biases ~ init_scale * N(0, 1), as in the authors' code
    chunk: int = 100  # episodes sampled at a time per run (each chunk from its own stream, see sampling.stream)

    def __post_init__(self) -> None:
        check(self, choices={"task": tuple(TASKS), "optimizer": OPTIMIZERS}, counts=("episodes", "frozen", "chunk"),
              open_unit=("retention",), flags=("clip_alpha",), positive=("lr", "init_scale"))
        if self.frozen >= self.episodes:
            raise ValueError(f"{label(self)}: need 1 <= frozen < episodes (the frozen episodes are what is scored, "
                             f"the others are trained), got frozen={self.frozen}, episodes={self.episodes}")

    @property
    def gamma(self) -> float:
        return 1 - self.retention

    @property
    def trained(self) -> int:
        return self.episodes - self.frozen


# Config's public home is the package: error messages read "bohp2016.Config: ..." (as before the module
# became a package) and the package's listing of its config dataclasses finds it there.
Config.__module__ = __name__.rpartition(".")[0]

# Every variant at the paper's budget. The paper's five experiments (the clipped ones: the ablation, for
# which it shows no data), then one-shot and reversal again with our RMSprop (decay 0.9, L1 in the loss), so
# that the sign of plasticity can be compared under both optimisers, then the three tasks with the released
# scripts' optimiser as released (optim.ReleasedRMSprop2016; its step, the scripts' ETA, equals the others':
# 0.03 for completion, 0.01 for the others). The variants' configs key their stored runs: a new variant is
# added, an existing one never changed.
VARIANTS = {
    "completion": Config(task="completion", episodes=5_000, retention=0.75, lr=0.03),
    "one_shot": Config(task="one_shot", episodes=10_000, retention=0.98),
    "reversal": Config(task="reversal", episodes=10_000, retention=0.98),
    "one_shot_clipped": Config(task="one_shot", episodes=10_000, retention=0.98, clip_alpha=True),
    "reversal_clipped": Config(task="reversal", episodes=10_000, retention=0.98, clip_alpha=True),
    "one_shot_rmsprop2016": Config(task="one_shot", episodes=10_000, retention=0.98, optimizer="rmsprop2016"),
    "reversal_rmsprop2016": Config(task="reversal", episodes=10_000, retention=0.98, optimizer="rmsprop2016"),
    "completion_released2016": Config(task="completion", episodes=5_000, retention=0.75, lr=0.03,
                                      optimizer="released2016"),
    "one_shot_released2016": Config(task="one_shot", episodes=10_000, retention=0.98, optimizer="released2016"),
    "reversal_released2016": Config(task="reversal", episodes=10_000, retention=0.98, optimizer="released2016"),
}

# The retentions (ALPHATRACE) the released runexp.py files train, 20 seeds each, all of them put together
# (github.com/ThomasMiconi/LearningToLearnBOHP): completion/runexp.py .75 (.98 and .5 commented out),
# oneshot/runexp.py .95, .98, .9, reversal/runexp.py .98, .95, .75.
RETENTIONS = (0.75, 0.9, 0.95, 0.98)
RETENTION_TASKS = ("completion", "one_shot", "reversal")  # the Adam variant of each task is swept


def retention_variant(task: str, retention: float) -> str:
    """The variant of ``task`` (Adam) at ``retention``: the task's own variant at its released default
    (0.75 completion, 0.98 the others), else ``<task>_retention<100 x retention>`` of the sweep."""
    if retention == VARIANTS[task].retention:
        return task
    return f"{task}_retention{round(100 * retention)}"


# The retention sweep: each task's Adam variant at the other retentions, its setup (episodes, optimiser, step,
# runs) unchanged. Appended after the paper's variants, whose configs (and so their stored runs) stay as they are.
RETENTION_SWEEP = {retention_variant(task, r): replace(VARIANTS[task], retention=r)
                   for task in RETENTION_TASKS for r in RETENTIONS if r != VARIANTS[task].retention}
VARIANTS.update(RETENTION_SWEEP)
# At smoke, the sweep is one retention per task, the swept value farthest from the task's default.
SMOKE_SWEEP = tuple(retention_variant(task, max(RETENTIONS, key=lambda r: abs(r - VARIANTS[task].retention)))
                    for task in RETENTION_TASKS)


def _profile(episode_fraction: float, frozen: int, seeds: int, note: str,
             sweep: tuple[str, ...] = tuple(RETENTION_SWEEP)) -> Profile:
    """Every variant with its episodes scaled by ``episode_fraction`` and ``frozen`` scored episodes; of the
    retention sweep, the variants named in ``sweep`` (default: all)."""
    configs = {name: replace(c, episodes=round(c.episodes * episode_fraction), frozen=frozen)
               for name, c in VARIANTS.items() if name not in RETENTION_SWEEP or name in sweep}
    return Profile(configs, seeds, note)


# Scale is the only thing a profile changes, besides the smoke profile's shorter retention sweep; each variant's
# runs train together as one batch. The retention sweep at cpu: 9 variants (3 per task) x 20 runs, 3 x 5,000 +
# 6 x 10,000 episodes, about 5-7 CPU minutes (what a variant's 20 runs cost per update, from the stored runs:
# ~1.8 ms CPU completion, ~6 ms one-shot / reversal; a run costs little beside the update, so fewer runs would save
# little).
PROFILES = {
    "smoke": _profile(0.04, 50, 3, "pipeline check only: 3 runs x 200 / 400 episodes (last 50 frozen); the "
                                   "retention sweep at one other retention per task", sweep=SMOKE_SWEEP),
    "cpu": _profile(1.0, 500, 20, "the paper's budget: 20 runs x 5,000 (completion) / 10,000 episodes, "
                                  "last 500 frozen; the retention sweep at 0.75, 0.9, 0.95, 0.98 with the same "
                                  "runs and episodes"),
    "paper": _profile(1.0, 500, 20, "the paper's budget (as cpu)"),
}
