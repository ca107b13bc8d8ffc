"""Memorising natural images with a plastic recurrent network (NIPS 2017 Fig. 3; ICML 2018 §4.2).

1024 pixel neurons plus a bias neuron, fully recurrent and plastic (Eq. 1-2), tanh; inputs clamp the
neurons they touch. Each episode stores three CIFAR-10 images in the Hebbian traces and must complete
a half-erased copy of one of them (see :mod:`plasticity_utils.tasks.images`). Loss: summed squared
error of the erased pixels at the last step. Two variants: one plasticity coefficient per connection
(``alpha="per_connection"``) and the ICML 2018 ablation with one shared coefficient (``"shared"``).

Everything scored or shown is on held-out episodes built from CIFAR-10 *test* images; training only
ever samples the training images. Two baselines need no memory of the episode: predicting zeros
(the mean of every normalised image) and predicting the mean training image.

Modules: :mod:`.config` (variants, config, profiles), :mod:`.runs` (the network and its training),
:mod:`.evaluation` (held-out scoring), :mod:`.structure` (w's and alpha's structure), :mod:`.verdicts` (what
the papers report, the rows), :mod:`.plots`; this package runs them (:func:`run`) and re-exports their names.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np

from ...environment import check_seeds, pick_device
from ...plastic import PlasticRecurrent
from ...tasks.images import ImagePools
from ...training import fixed_threads
from ..contract import Result, select_profile
from .config import (ACCEPTABLE_EPISODES, AUTHORS_EPISODES, CPU_EPISODES, Config, EXPERIMENT, ImageRecord, MIN_SEEDS,
                     PAPER_BATCH1, PROFILES, TEXT_GAP, TEXT_VARIANT, TRAINED, VARIANTS, one_seed_config, profile_config)
from .evaluation import (BASELINES, CONTROL, EVAL_BATCH, EVAL_SEED, Predictor, constant_predictor, evaluate,
                         held_out_episodes, held_out_table, memory_scores, neighbour_predictor, network_predictor,
                         predictors, text_schedule_scores)
from .plots import figures, plot_ablation, plot_reconstructions
from .runs import (build, final_output, image_pools, pools_ref, stored_config, stored_network, train_seeds,
                   train_variants, trained, trainer)
from .structure import (MIDLINE_ROWS, STANDS_OUT, band_ratio, displacement_profile, half_field_ratios, line_ratio,
                        magnitude_ratio, midline_pixels, neighbour_pairs, other_pairs, pixel_block, pixel_offsets,
                        plot_matrices, structure_verdict)
from .verdicts import (PAPER_ABLATION, PAPER_BANDS, PAPER_LINES, PAPER_MEMORY, PAPER_TEXT_GAP, RELEASED_ABLATION,
                       RELEASED_CODE, RELEASED_GAP, RELEASED_MEMORY, RELEASED_TRAIN_IMAGES, SUMMARY_STRUCTURE,
                       ablation_comparison, ablation_verdict, budget, claims, episodes_of, memory_numbers,
                       memory_verdict, structure_claims, training_seconds)


class _SeedLosses(TypedDict, total=False):
    seed_losses: dict[str, list[float]]  # with several seeds: variant -> each seed's mean held-out loss (paired)


class Evaluations(_SeedLosses):
    """``Result.extra`` of :func:`run`: the first seed's networks and the baselines on held-out episodes."""

    pools: ImagePools  # the preprocessed images
    nets: dict[str, PlasticRecurrent]  # "<alpha> alpha" -> the first seed's trained network
    outputs: dict[str, Any]  # predictor name -> its predictor (:func:`predictors`: networks and baselines)
    scores: dict[str, dict[str, np.ndarray]]  # predictor -> per-episode "loss" and "correlation"
    differences: dict[str, Any]  # per-connection minus each other predictor, paired over episodes (mean, 95%)
    text_gap: Any  # the text's schedule (3 zero steps) network beside its own baselines (text_schedule_scores)


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        pools: ImagePools | None = None) -> Result:
    """Train (or load) both variants, then score the first seed's networks, both memory-free
    baselines and the unstored-probe control on the same held-out test episodes.

    ``result.extra``: :class:`Evaluations`."""
    pools = pools if pools is not None else pools_ref().load()
    given = None if seeds is None else check_seeds(seeds)
    runs = train_variants(profile, TRAINED, given, force, device, pools)
    seeds = select_profile(PROFILES, profile).seeds_for("per_connection") if given is None else given
    nets = {f"{alpha} alpha": trained(profile, alpha, seeds[0], device, pools) for alpha in VARIANTS}
    config, _, eval_episodes = profile_config(profile)
    outputs = predictors(nets, pools)
    scores, differences = memory_scores(outputs, "per_connection alpha", config.task, pools.test, eval_episodes)
    extra = Evaluations(pools=pools, nets=nets, outputs=outputs, scores=scores, differences=differences,
                        text_gap=text_schedule_scores(profile, seeds[0], device, pools, eval_episodes))
    if len(seeds) > 1:  # every seed's networks on the same held-out episodes: the ablation, paired over seeds
        extra["seed_losses"] = {alpha: [float(scores[f"{alpha} alpha"]["loss"].mean())] + [
            float(evaluate(network_predictor(trained(profile, alpha, s, device, pools)), config.task, pools.test,
                           eval_episodes)["loss"].mean()) for s in seeds[1:]] for alpha in VARIANTS}
    return Result(EXPERIMENT, profile, runs, str(pick_device(device)), extra)


__all__ = [  # the experiment's interface (the contract) and every module's names, re-exported
    "run", "Evaluations",
    # config.py
    "EXPERIMENT", "VARIANTS", "TEXT_GAP", "TEXT_VARIANT", "TRAINED", "ImageRecord", "Config", "MIN_SEEDS",
    "CPU_EPISODES", "PROFILES", "PAPER_BATCH1", "ACCEPTABLE_EPISODES", "AUTHORS_EPISODES", "profile_config",
    "one_seed_config",
    # runs.py
    "build", "final_output", "train_seeds", "train_variants", "image_pools", "pools_ref", "stored_config", "trained",
    "stored_network", "trainer",
    # evaluation.py
    "EVAL_SEED", "EVAL_BATCH", "CONTROL", "BASELINES", "text_schedule_scores", "memory_scores", "Predictor",
    "held_out_episodes", "network_predictor", "constant_predictor", "evaluate", "neighbour_predictor", "predictors",
    "held_out_table",
    # structure.py
    "STANDS_OUT", "MIDLINE_ROWS", "pixel_block", "pixel_offsets", "neighbour_pairs", "other_pairs", "midline_pixels",
    "magnitude_ratio", "line_ratio", "band_ratio", "half_field_ratios", "structure_verdict", "displacement_profile",
    "plot_matrices",
    # verdicts.py
    "PAPER_MEMORY", "PAPER_ABLATION", "RELEASED_CODE", "RELEASED_TRAIN_IMAGES", "RELEASED_MEMORY", "RELEASED_ABLATION",
    "PAPER_TEXT_GAP", "RELEASED_GAP", "PAPER_LINES", "PAPER_BANDS", "SUMMARY_STRUCTURE", "memory_verdict",
    "ablation_verdict", "episodes_of", "training_seconds", "budget", "ablation_comparison", "claims", "memory_numbers",
    "structure_claims",
    # plots.py
    "figures", "plot_ablation", "plot_reconstructions",
]
