"""The critique experiment's profiles: the 50-bit networks' episodes and seeds; the image and Omniglot networks
on the schedules of notebooks 03 (its one-seed networks) and 04 at the same profile."""

from __future__ import annotations

from dataclasses import replace

from ...baselines import BaselineConfig
from ...tasks.images import RandomErasureTask
from .. import binary_patterns as bp
from .. import natural_images as ni
from .. import omniglot as og
from ..contract import Profile, select_profile
from .lstm import CONFIGS

IMAGE_MODELS = ("random_erasure", "animals")  # the image networks trained here (images.IMAGE_LABELS)


# Question 1 on Omniglot: notebook 04's network and schedule at the same profile, trained on the background set's
# 964 characters only (its seed holds out 100 of them, as 04 holds out 100 of all 1,623), tested on the evaluation
# set's 659 characters: alphabets never seen.
OMNIGLOT = "omniglot_background"
SMOKE_SCORING = {"eval_episodes": 2, "omniglot_episodes": 50}  # smoke: image and Omniglot episodes scored (a
# pipeline check: each image network evaluation costs ~0.25 s per episode here)
OMNIGLOT_SCORED = 2000  # scored episodes per class set at cpu and paper: a difference of two accuracies
# near 90% then has a 95% half-width of ~1.9 points, below half the margin SAME


def image_configs(profile: str) -> dict[str, ni.Config]:
    """The image networks of :data:`~.images.IMAGE_LABELS` before their ``train_images`` is known, one schedule for all."""
    half = ni.one_seed_config(profile)
    return {"half": half, "random_erasure": replace(half, task=RandomErasureTask(**vars(half.task))), "animals": half}


def _profile(profile: str, episodes: int, seeds: int, note: str) -> Profile:
    configs = {name: replace(c, episodes=episodes) for name, c in CONFIGS.items()}
    images = {name: c for name, c in image_configs(profile).items() if name in IMAGE_MODELS}
    others = {**images, OMNIGLOT: og.PROFILES[profile].configs["plastic"]}
    return Profile({**configs, **others}, {**dict.fromkeys(configs, seeds), **dict.fromkeys(others, 1)},
                   f"{note}; the image networks and the Omniglot network: 1 seed each, on the schedules of "
                   "notebook 03's one-seed networks and of 04", SMOKE_SCORING if profile == "smoke" else
                   {"eval_episodes": ni.PROFILES[profile].options["eval_episodes"],
                    "omniglot_episodes": OMNIGLOT_SCORED})


# Scale is the only thing a profile changes: episodes per seed and seeds (no paper budget: these are questions).
PROFILES = {
    "smoke": _profile("smoke", 20, 2, "pipeline check only"),
    "cpu": _profile("cpu", 10_000, 10, "10 seeds x 10,000 episodes of each 50-bit network, one episode per update"),
    "paper": _profile("paper", 10_000, 10, "as cpu for the 50-bit networks: no paper gives a budget for these "
                                            "questions"),
}


def profile_config(profile: str) -> dict[str, tuple[BaselineConfig | bp.Config | ni.Config, list[int]]]:
    """Model name -> (config, seeds) for ``profile``: the 50-bit networks (:data:`~.lstm.MODELS`), then the image
    networks (:data:`IMAGE_MODELS`; their ``train_images`` is set by :func:`~.images.image_config` from the images
    found) and the Omniglot network."""
    p = select_profile(PROFILES, profile)
    return {name: (config, p.seeds_for(name)) for name, config in p.configs.items()}
