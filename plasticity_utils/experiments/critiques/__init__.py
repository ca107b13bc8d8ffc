"""Questions the papers leave open, answered as experiments: the "Critiques" that close the ICML 2018 course
summary (002_211b927b97543b95.txt). No paper makes these claims; each question is stated as a claim that our
runs can confirm or refute, with the outcome that answers it either way fixed before the runs.

* **Plasticity in an LSTM** ("Many widely used architectures like LSTMs could be tried along with a plastic
  component"): on the 50-bit task of notebook 02 (2 patterns, 3 steps on, 1 off, one cycle, the test
  pattern for 3 steps), an LSTM of :data:`HIDDEN` units with a plastic hidden-to-candidate connection
  (:class:`~plasticity_utils.baselines.PlasticLSTMBaseline`: ``w + alpha * Hebb``, the decaying Hebbian rule,
  eta learned from 0.01) against the same LSTM without it (``torch.nn.LSTM``) and against the plastic RNN of
  51 neurons (notebook 02's), at equal episodes, the same seeds drawing the same episodes (paired).
  Both LSTMs: inputs as they are (x1, no bias column), read out from their first 50 hidden units, Adam
  :data:`LSTM_LR`, one episode per update; the plastic RNN as in notebook 02 (inputs x20, Adam 3e-4).

* **A harder erasure** ("The removed pixels of test images could have been made more random"): notebook 03's
  image memory (per-connection alpha, on the schedule of 03's one-seed networks,
  :func:`~plasticity_utils.experiments.natural_images.one_seed_config`) trained on random-pixel erasure
  (:class:`~plasticity_utils.tasks.images.RandomErasureTask`, half of the pixels, drawn per probe) beside the
  half-erased network on the same schedule (seed 0, stored with 03's runs), each tested on both erasures.
* **Test sets unlike the training set** ("how plastic networks will behave if the test sets are completely
  different from the training dataset"), on images: the same memory trained on CIFAR-10's animal classes only,
  tested on held-out animals, on vehicles (classes never seen) and on Omniglot characters (a different kind of
  picture, 31x31 padded to 32x32); the all-class half-erased network on Omniglot characters too.

Each image condition scores the network on :data:`EVAL_SEED`'s held-out episodes beside three memory-free
predictors (zeros, the mean training image, and an inpainting from the visible pixels,
:func:`~plasticity_utils.experiments.natural_images.neighbour_predictor`, which random erasure favours) and
beside the same network given a probe it never stored (a non-plastic memory's situation: only the probe itself
to go on). The question is answered *yes* (reproduced) when the network beats all three and the unstored probe,
paired over episodes; *partly* when it beats the three but an unstored probe is completed as well.

* **Test sets unlike the training set, on Omniglot**: notebook 04's network and schedule trained on the background
  set's characters only (its seed holds out 100 of them), scored 5-way 1-shot on those 100 and on the evaluation
  set's 659 characters (alphabets never seen), beside three non-plastic predictors on the same episodes: a
  nearest neighbour on the network's own embedding, the network with its plasticity coefficients at 0, and a
  nearest neighbour on the pixels (:func:`omniglot_claims`).
"""

from __future__ import annotations

from pathlib import Path

from ...environment import check_seeds, figures_dir, pick_device, results_dir
from ...plotting import save, save_table
from ...training import Job, RunStore, fixed_threads
from .. import binary_patterns as bp
from .. import natural_images as ni
from .. import omniglot as og
from ..contract import Claim, Result, verdict
from .images import (ANIMALS, CONDITIONS, CONTROL, IMAGE_LABELS, MEMORY_FREE, NETWORK, OWN_TASK, QUESTIONS,
                     REFERENCES, TRAIN_CLASSES, VEHICLES, image_budget, image_claims, image_config, image_networks,
                     image_scores, image_table, omniglot_pictures, plot_image_conditions, recall_verdict)
from .lstm import (CONFIGS, FINAL, HIDDEN, LABELS, LSTM_LR, MODELS, better_verdict, comparison, final_errors,
                   lstm_claims, plot_curves, table)
from .omniglot import (NON_PLASTIC, OMNIGLOT_SETS, PLASTIC, SAME, accuracy_difference, background_images,
                       background_ref, evaluation_images, nearest_neighbour, omniglot_claims, omniglot_correct,
                       omniglot_scores, omniglot_set, omniglot_table, plastic_verdict, plot_omniglot, same_verdict)
from .profiles import IMAGE_MODELS, OMNIGLOT, OMNIGLOT_SCORED, PROFILES, SMOKE_SCORING, image_configs, profile_config
from .questions import DISTRIBUTIONS, ERASURE, EXPERIMENT, LEVEL, NO_BUDGET, NOT_RUN, QUESTION


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None) -> Result:
    """Train (or load) every seed of every network of ``profile`` (see the contract), one run per process, and
    the half-erasure network on the same schedule (stored with notebook 03's runs); then score every image
    condition (:data:`CONDITIONS`) on held-out episodes. ``result.extra["images"]``: condition -> ``scores`` (predictor
    -> per-episode loss and correlation) and ``differences`` (the network minus each other predictor)."""
    table = profile_config(profile)
    seeds = None if seeds is None else check_seeds(seeds)
    jobs = []
    for name, (config, default) in table.items():
        if name in IMAGE_MODELS:
            config = image_config(profile, name)
            train = ni.trainer(config, device, ni.pools_ref(classes=TRAIN_CLASSES[name]))
        elif name == OMNIGLOT:
            train = og.trainer(config, device, images=background_ref())
        else:
            train = bp.trainer(config, device)
        jobs.append(Job(default if seeds is None else seeds, config, train, f"{name}-"))
    first = (seeds or [0])[0]
    half = image_config(profile, "half")  # stored with notebook 03's runs (the same network, the same store)
    RunStore(results_dir(ni.EXPERIMENT, profile)).train(
        [Job([first], half, ni.trainer(half, device), "per_connection-")])
    records = RunStore(results_dir(EXPERIMENT, profile)).train(jobs, group=1, force=force)
    result = Result(EXPERIMENT, profile, dict(zip(table, records)), str(pick_device(device)))
    result.extra["images"] = image_scores(result, first, device)
    result.extra["omniglot"] = omniglot_scores(result, device)
    return result


def claims(result: Result) -> list[Claim]:
    """Every question's rows: the plastic LSTM's (:func:`~.lstm.lstm_claims`), the images'
    (:func:`~.images.image_claims`) and Omniglot's (:func:`~.omniglot.omniglot_claims`) where they were scored;
    one row per question not run yet."""
    out = lstm_claims(result)
    out += image_claims(result) if "images" in result.extra else []
    out += omniglot_claims(result) if "omniglot" in result.extra else []
    for what, quote in NOT_RUN.items():
        out.append(Claim(f"critique: {what}", f"not claimed: a question from the critique ({quote})", "",
                         "not run yet", "none", verdict("not reached within our budget", "not run yet: no runs")))
    return out


def figures(result: Result, window: int = 100) -> dict[str, Path]:
    """Each question's figure and table, saved into the profile's figures folder: the LSTMs' learning curves
    (trailing ``window``-episode error, band over seeds), the image conditions and the Omniglot accuracies."""
    folder, name = figures_dir(result.profile), "critiques_plastic_lstm"
    out = {"curves": save(plot_curves(result, window), name, folder), "table": save_table(table(result), name, folder)}
    if "images" in result.extra:
        out["images"] = save(plot_image_conditions(image_table(result)), "critiques_images", folder)
        out["images table"] = save_table(image_table(result), "critiques_images", folder)
    if "omniglot" in result.extra:
        out["omniglot"] = save(plot_omniglot(omniglot_table(result)), "critiques_omniglot", folder)
        out["omniglot table"] = save_table(omniglot_table(result), "critiques_omniglot", folder)
    return out


__all__ = [  # the experiment's interface (the contract), then each question's parts, re-exported from its module
    "EXPERIMENT", "PROFILES", "profile_config", "run", "claims", "figures",
    # questions.py: what is asked and the rules
    "QUESTION", "DISTRIBUTIONS", "ERASURE", "NOT_RUN", "NO_BUDGET", "LEVEL",
    # lstm.py: plasticity in an LSTM
    "MODELS", "LABELS", "CONFIGS", "HIDDEN", "LSTM_LR", "FINAL", "final_errors", "comparison", "better_verdict",
    "lstm_claims", "table", "plot_curves",
    # profiles.py
    "IMAGE_MODELS", "OMNIGLOT", "SMOKE_SCORING", "OMNIGLOT_SCORED", "image_configs",
    # images.py: a harder erasure, images unlike the training set
    "ANIMALS", "VEHICLES", "IMAGE_LABELS", "TRAIN_CLASSES", "CONDITIONS", "OWN_TASK", "REFERENCES", "QUESTIONS",
    "NETWORK", "CONTROL", "MEMORY_FREE", "image_config", "image_networks", "image_scores", "omniglot_pictures",
    "recall_verdict", "image_budget", "image_claims", "image_table", "plot_image_conditions",
    # omniglot.py: alphabets never seen
    "OMNIGLOT_SETS", "PLASTIC", "NON_PLASTIC", "SAME", "omniglot_set", "background_images", "evaluation_images",
    "background_ref", "nearest_neighbour", "omniglot_correct", "omniglot_scores", "plastic_verdict", "same_verdict",
    "accuracy_difference", "omniglot_claims", "omniglot_table", "plot_omniglot",
]
