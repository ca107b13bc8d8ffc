"""Omniglot 5-way 1-shot classification with a plastic output layer (ICML 2018 §4.3).

A fixed convolutional embedding (4 layers, 3x3, stride 2, no padding, 64 channels, tanh:
31 -> 15 -> 7 -> 3 -> 1) feeds a 64 x 5 plastic layer. At step t of an episode, with embedding
x(t) and label l(t) (one-hot on the labelled steps, zero on the test step):

    y(t) = softmax( sum_i [w_ij + alpha_ij * Hebb_ij(t)] x_i(t) + 1000 * l_j(t) )
    Hebb_ij(t+1) = Hebb_ij(t) + eta * y_j(t) * (x_i(t) - y_j(t) * Hebb_ij(t))         (Oja, Eq. 3)

so each labelled step writes its image's embedding into its label's column of the trace, and the
test step reads them back. Loss: binary cross-entropy between y at the test step and the one-hot
target. The paper trains with Adam (3e-5), one episode per update, for 5,000,000 episodes, the
learning rate multiplied by 0.666 every 1,000,000 episodes.

Batching: ``batch`` episodes per update at the rate ``lr`` for that batch (see :mod:`.config`).

Modules: :mod:`.config` (config, profiles, records), :mod:`.network` (the network and its episodes), :mod:`.runs`
(training, the images, the sweep interface), :mod:`.evaluation` (scoring after training), :mod:`.verdicts` (what
the papers report, the rows), :mod:`.plots`; this package runs them (:func:`run`) and re-exports their names.
"""

from __future__ import annotations

from typing import TypedDict

from torch import Tensor

from ...data import loaded
from ...environment import check_flag, check_seeds, pick_device, results_dir
from ...training import Job, RunStore, fixed_threads
from ..contract import Result, select_profile
from .config import CLASS_SETS, LR_SWEEP, PAPER_BATCH1, PAPER_GPU, PROFILES, Config, OmniglotRecord, profile_config
from .evaluation import (RELEASED_SPLIT_SEED, check_split, class_sets, curves, evaluate_stored, leak, load_net,
                         pooled_interval, score, summary)
from .network import OmniglotNet, build, episode_loss, eval_generator, evaluate, run_episodes, score_generator
from .plots import figures
from .runs import METRIC, images_ref, load_images, metric, tag, train_seeds, trainer
from .verdicts import (ABOVE_US, FAILED_MARGIN, MEDIAN_TOLERANCE, MIN_SEEDS, PAPER, PAPER_ACCURACY, PAPER_EPISODES,
                       PAPER_MEDIAN, PAPER_MEDIAN_QUOTE, PUBLISHED, RELEASED, SIMILAR, SIMILAR_TO, SUMMARY, TABLE_QUOTE,
                       budget, claims, comparison_table, failed_seeds, generalisation_verdict, heldout_verdict,
                       median_verdict, protocol_verdict, spread, table_verdict)


class Evaluations(TypedDict):
    """``Result.extra`` of :func:`run`: each trained model scored after training."""

    scores: dict[int, dict[str, list[int]]]  # seed -> class set (:func:`class_sets`) -> 1/0 per scoring episode
    eval_episodes: int  # scoring episodes per class set


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        batched: bool | None = None, config: Config | None = None, images: Tensor | None = None,
        progress: bool = True) -> Result:
    """Train (or load) every seed of ``profile`` on ``images`` (default: the full Omniglot set), then score
    each trained model on ``eval_episodes`` episodes (the profile's option) from each of its
    :data:`CLASS_SETS` (see :func:`class_sets`); ``config`` replaces the profile's (tests).
    ``batched``: train the missing seeds together as one batched model (:func:`train_seeds`; default:
    the profile's ``batched`` option, on for ``paper``), else one by one (``$PLASTICITY_WORKERS`` processes)."""
    p = select_profile(PROFILES, profile)
    config = config or p.configs["plastic"]
    seeds = p.seeds_for("plastic") if seeds is None else check_seeds(seeds)
    source = images_ref() if images is None else images  # the full set: a task loads it where it runs
    images = loaded(source)
    dev = pick_device(device)
    store = RunStore(results_dir("omniglot", profile))
    batched = p.options.batched if batched is None else check_flag("batched", batched)
    (records,) = store.train([Job(seeds, config, trainer(config, device, images=source, progress=progress))],
                             group=None if batched else 1, force=force)
    for record in records:
        check_split(record, config, len(images))
    episodes = p.options["eval_episodes"]
    scores = {r["seed"]: score(r, store.params(r["seed"], config), images, episodes, dev) for r in records}
    return Result("omniglot", profile, {"plastic": records}, str(dev), Evaluations(scores=scores, eval_episodes=episodes))


__all__ = [  # the experiment's interface (the contract) and every module's names, re-exported
    "run", "Evaluations",
    # config.py
    "Config", "OmniglotRecord", "PAPER_BATCH1", "PAPER_GPU", "PROFILES", "LR_SWEEP", "CLASS_SETS", "profile_config",
    # network.py
    "OmniglotNet", "build", "episode_loss", "run_episodes", "evaluate", "eval_generator", "score_generator",
    # runs.py
    "train_seeds", "load_images", "images_ref", "METRIC", "trainer", "tag", "metric",
    # evaluation.py
    "RELEASED_SPLIT_SEED", "check_split", "class_sets", "leak", "load_net", "score", "evaluate_stored",
    "pooled_interval", "summary", "curves",
    # verdicts.py
    "SUMMARY", "PAPER_ACCURACY", "PAPER_EPISODES", "MIN_SEEDS", "PAPER", "FAILED_MARGIN", "PAPER_MEDIAN",
    "PAPER_MEDIAN_QUOTE", "MEDIAN_TOLERANCE", "RELEASED", "PUBLISHED", "SIMILAR_TO", "ABOVE_US", "SIMILAR",
    "TABLE_QUOTE", "budget", "heldout_verdict", "generalisation_verdict", "failed_seeds", "spread", "median_verdict",
    "table_verdict", "protocol_verdict", "claims", "comparison_table",
    # plots.py
    "figures",
]
