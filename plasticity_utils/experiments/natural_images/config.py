"""What is trained: the experiment's variants, the run config and records, and the profiles (the papers' setup;
scale is the only thing a profile changes)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from ...plastic import ALPHA_MODES, RULES
from ...tasks.images import ImageTask
from ...training import sqrt_scaled_lr
from ...validation import IMPLS, check, label
from ..contract import Profile, Record, record_keys, select_profile


EXPERIMENT = "natural_images"
VARIANTS = ("per_connection", "shared")  # the ablation: alpha per connection vs one alpha shared by all
# The NIPS 2017 text: "3 time steps of zero input between image presentations" (§3.3); the released images.py
# (interpresdelay 2) and ImageTask's default use 2. TEXT_VARIANT is the per-connection network on the text's gap.
TEXT_GAP = 3
TEXT_VARIANT = "per_connection_text_gap"
TRAINED = (*VARIANTS, TEXT_VARIANT)


class _ImageTiming(Record, total=False):
    seconds_per_episode: float  # wall seconds per update, this run's share (named when updates were episodes)
    episodes_timed: int  # the updates that time is over
    peak_memory_mb: float  # peak memory of the device it trained on
    device: str  # where it trained


class ImageRecord(_ImageTiming):
    """A run on image episodes: one entry per update (``batch`` episodes, means over them)."""

    loss: list[float]  # summed squared error over the erased pixels at the last step
    zero_loss: list[float]  # the same episodes' loss of an all-zeros output: curves are read as a fraction of it
    eta: list[float]  # the plasticity rate after the update


@dataclass(frozen=True)
class Config:
    RECORD_KEYS: ClassVar[tuple[str, ...]] = record_keys(ImageRecord)  # what a stored run must hold

    task: ImageTask = field(default_factory=ImageTask)
    episodes: int = 1500  # episodes seen (updates = episodes / batch)
    batch: int = 1
    lr: float = 1e-4
    rule: str = "hebb"
    alpha: str = "per_connection"
    eta: float = 0.01
    learn_eta: bool = True
    impl: str = "fused"
    train_images: int = 0  # size of the training pool, set by :func:`run`: other data means a new run

    def __post_init__(self) -> None:
        check(self, types={"task": ImageTask}, counts=("episodes", "batch"), non_negative=("train_images",),
              positive=("lr",), rate=("eta",), flags=("learn_eta",),
              choices={"rule": RULES, "alpha": ALPHA_MODES, "impl": IMPLS})
        if self.episodes % self.batch:
            raise ValueError(f"{label(self)}: episodes ({self.episodes}) must be a multiple of batch ({self.batch})")


def _schedule(episodes: int, batch: int, **fields) -> Config:
    """``episodes`` seen in updates of ``batch`` at the square-root-scaled rate."""
    return Config(episodes=episodes, batch=batch, lr=sqrt_scaled_lr(Config.lr, batch), **fields)


def _profile(episodes: int, seeds: int | dict[str, int], eval_episodes: int, note: str, batch: int = 1,
             text: tuple[int, int] | None = None) -> Profile:
    """Both variants at ``episodes`` seen, ``batch`` per update at the square-root-scaled rate, and the
    per-connection network on the text's schedule (:data:`TEXT_VARIANT`) the same way or at ``text`` =
    (episodes, batch); ``eval_episodes`` held-out test episodes scored per predictor."""
    configs = {alpha: _schedule(episodes, batch, alpha=alpha) for alpha in VARIANTS}
    configs[TEXT_VARIANT] = _schedule(*(text or (episodes, batch)), alpha="per_connection",
                                      task=ImageTask(gap=TEXT_GAP))
    return Profile(configs, seeds, note, {"eval_episodes": eval_episodes})


# The ablation compares two variants; one network of each tells two networks apart, not the variants (the seed's
# initialisation and episode order are confounded with the variant). It is judged only over at least MIN_SEEDS
# seeds per variant, paired by seed: 3 is the fewest pairs whose spread says anything about the difference
# (with 2, its interval rests on one degree of freedom).
MIN_SEEDS = 3

# cpu: the ablation's variants at >= 5,000 episodes each (313 updates of 16), over MIN_SEEDS seeds; at 17-24 s per
# update with two workers (benchmarks/README.md) that is ~5.5 h of training, stored and resumable.
CPU_EPISODES = 5008

# Scale is the only thing a profile changes. paper: the authors' 100,000 episodes per variant in updates of 16
# episodes at 4 x the authors' rate (sqrt(16)); tools/cifar_batch_check.py compares the two schedules' learning
# per episode seen, and benchmarks/README.md holds the costs per update both profiles are sized from. The
# authors' schedule stays available as PAPER_BATCH1.
PROFILES = {
    "smoke": _profile(3, 1, 4, "pipeline check only"),
    "cpu": _profile(CPU_EPISODES, {"per_connection": MIN_SEEDS, "shared": MIN_SEEDS, TEXT_VARIANT: 1}, 200,
                    f"{MIN_SEEDS} seeds x {CPU_EPISODES:,} episodes per variant of the ablation in updates of 16 at "
                    "4e-4, 1 seed x 1,500 one-episode updates at 1e-4 of the text's schedule (the released code: "
                    "100,000 one-episode updates)", batch=16, text=(1500, 1)),
    "paper": _profile(100_000, 1, 1000, "1 seed x 100,000 episodes per variant (the authors' budget) in updates of "
                                        "16 at 4e-4 (the authors: 1 at 1e-4; sqrt-scaled rate)", batch=16),
}
PAPER_BATCH1 = _profile(100_000, 1, 1000, "the authors' schedule: 100,000 one-episode updates at 1e-4")


ACCEPTABLE_EPISODES = 3000  # the released code's "acceptable results after ~3000 episodes": the budget a missed memory
# claim is judged against (the smaller of its two, so a miss is put down to our budget as rarely as possible)
AUTHORS_EPISODES = 100_000  # the released code's training length (nbiter; PAPER_BATCH1): the budget of the ablation
# and of the matrices' structure (the papers show the matrices 'after training' and give no length)


def profile_config(profile: str, variant: str = "per_connection") -> tuple[Config, list[int], int]:
    """The profile's config for one variant (:data:`TRAINED`), its seeds and the number of held-out episodes."""
    if variant not in TRAINED:
        raise ValueError(f"variant={variant!r} is not one of {TRAINED}")
    p = select_profile(PROFILES, profile)
    return p.configs[variant], p.seeds_for(variant), p.options["eval_episodes"]


def one_seed_config(profile: str, task: ImageTask | None = None) -> Config:
    """The per-connection network on the schedule of ``profile``'s one-seed networks (:data:`TEXT_VARIANT`'s: at
    cpu 1,500 one-episode updates, elsewhere the ablation's), on ``task`` (default: the released code's episodes)."""
    return replace(profile_config(profile, TEXT_VARIANT)[0], task=task or ImageTask())
