"""Question 2 (a harder erasure) and question 1 on images (test sets unlike the training set): notebook 03's
image memory trained on other erasures and classes, scored against memory-free predictors (see the package's
docstring)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ...data import folder_key
from ...environment import data_dir, results_dir
from ...stats import compare
from ...tasks.images import RandomErasureTask, normalise
from ...training import RunStore
from .. import natural_images as ni
from ..contract import Claim, Result, missed, select_profile, sensitive, verdict
from .omniglot import evaluation_images
from .profiles import IMAGE_MODELS, PROFILES, image_configs, profile_config
from .questions import _LEVEL, DISTRIBUTIONS, ERASURE, EXPERIMENT, LEVEL, NO_BUDGET

# The image questions: notebook 03's per-connection network on the schedule of its one-seed networks at the same
# profile (ni.one_seed_config), trained on other data.
ANIMALS = (2, 3, 4, 5, 6, 7)  # CIFAR-10 labels: bird, cat, deer, dog, frog, horse
VEHICLES = (0, 1, 8, 9)  # airplane, automobile, ship, truck
IMAGE_LABELS = {"half": "trained on half erasure, all classes (stored with notebook 03's runs)",
                "random_erasure": "trained on random erasure, all classes", "animals": "trained on animals only"}
TRAIN_CLASSES = {"half": None, "random_erasure": None, "animals": ANIMALS}


# The image conditions, fixed before the runs: name -> (network, erasure of the test probes, test images, what it
# asks). The networks are IMAGE_LABELS'; "half" is the per-connection network on the same schedule, stored with
# notebook 03's runs (its first seed).
CONDITIONS = {
    "half -> half erasure": ("half", "half", "test", "the half-erasure memory on its own task (reference)"),
    "half -> random erasure": ("half", "random", "test", "a memory trained on half-image erasure completes probes "
                                                         "with half of their pixels erased at random"),
    "random -> random erasure": ("random_erasure", "random", "test", "a memory trained on random erasure completes "
                                                                     "randomly erased probes"),
    "random -> half erasure": ("random_erasure", "half", "test", "a memory trained on random erasure completes "
                                                                 "half-erased probes"),
    "animals -> animals": ("animals", "half", "test animals", "the animal-trained memory on held-out animals "
                                                              "(reference)"),
    "animals -> vehicles": ("animals", "half", "test vehicles", "a memory trained on animal images (6 CIFAR-10 "
                            "classes) completes vehicles (the other 4, never seen)"),
    "animals -> Omniglot": ("animals", "half", "Omniglot", "a memory trained on animal images completes Omniglot "
                                                           "characters"),
    "all classes -> Omniglot": ("half", "half", "Omniglot", "a memory trained on all CIFAR-10 classes completes "
                                                            "Omniglot characters"),
}
OWN_TASK = {"half": "half -> half erasure", "random_erasure": "random -> random erasure",
            "animals": "animals -> animals"}  # each network on the kind of data it trained on
REFERENCES = ("half -> half erasure", "animals -> animals")  # the conditions that are not questions
QUESTIONS = {"half -> random erasure": ERASURE, "random -> random erasure": ERASURE, "random -> half erasure": ERASURE,
             "animals -> vehicles": DISTRIBUTIONS, "animals -> Omniglot": DISTRIBUTIONS,
             "all classes -> Omniglot": DISTRIBUTIONS}
NETWORK, CONTROL = "network", "network, probe not stored (control)"
MEMORY_FREE = (*ni.BASELINES, "inpainting from the shown pixels (no memory)")  # zeros, the mean training image


def image_networks(result: Result, seed: int, device: str | None = None) -> dict[str, torch.nn.Module]:
    """The image networks of :data:`IMAGE_LABELS` for ``seed``: the half-erasure network (stored with notebook
    03's runs) and this experiment's stored ones."""
    stores = {"half": (RunStore(results_dir(ni.EXPERIMENT, result.profile)), "per_connection-")}
    stores.update({name: (RunStore(results_dir(EXPERIMENT, result.profile)), f"{name}-") for name in IMAGE_MODELS})
    return {name: ni.stored_network(store, image_config(result.profile, name), seed, tag, device)
            for name, (store, tag) in stores.items()}


def image_config(profile: str, name: str) -> ni.Config:
    """The config an image network (:data:`IMAGE_LABELS`) is stored under: the profile's, with the number of
    training images of its classes (:data:`TRAIN_CLASSES`) found in the data folder."""
    return replace(image_configs(profile)[name],
                   train_images=len(ni.pools_ref(classes=TRAIN_CLASSES[name]).load().train))


def omniglot_pictures(root: Path | None = None, side: int = 32) -> Tensor:
    """Omniglot's evaluation-set characters as pictures for the image memory: each character's first drawing
    (ink 1 on 0, 31 x 31), padded with background to ``side`` x ``side``, normalised as the CIFAR-10 images are
    (:func:`~plasticity_utils.tasks.images.normalise`): (characters, side^2)."""
    first = evaluation_images(folder_key(root or data_dir()))[:, 0].numpy()
    pad = side - first.shape[-1]
    if pad < 0:
        raise ValueError(f"Omniglot characters are {first.shape[-1]} pixels wide, more than side={side}")
    return normalise(np.pad(first, ((0, 0), (0, pad), (0, pad))))


def image_scores(result: Result, seed: int, device: str | None = None) -> dict[str, dict]:
    """Every condition of :data:`CONDITIONS`: its network, the three memory-free predictors (the mean image is
    that of the network's own training images) and the network with an unstored probe, on the same held-out
    episodes (:func:`~plasticity_utils.experiments.natural_images.memory_scores`)."""
    episodes = select_profile(PROFILES, result.profile).options["eval_episodes"]
    nets = image_networks(result, seed, device)
    pools = {name: ni.pools_ref(classes=classes).load() for name, classes in TRAIN_CLASSES.items()}
    tests = {"test": pools["half"].test, "test animals": pools["animals"].test,
             "test vehicles": ni.pools_ref(classes=VEHICLES).load().test, "Omniglot": omniglot_pictures()}
    task = ni.profile_config(result.profile)[0].task
    erasures = {"half": task, "random": RandomErasureTask(**vars(task))}
    out = {}
    for condition, (net, erasure, test, _) in CONDITIONS.items():
        predict = {**ni.predictors({NETWORK: nets[net]}, pools[net]), MEMORY_FREE[2]: ni.neighbour_predictor(task.side)}
        scores, differences = ni.memory_scores(predict, NETWORK, erasures[erasure], tests[test], episodes)
        scores[CONTROL] = scores.pop(ni.CONTROL)
        differences[CONTROL] = differences.pop(ni.CONTROL)
        out[condition] = {"scores": scores, "differences": differences}
    return out


def recall_verdict(vs_memory_free: list[str], vs_control: str, what: str, episodes: int) -> str:
    """Verdict on "``what``": the network completes the probe better than every memory-free predictor and
    better than it completes an unstored probe (:func:`compare` words of the network minus each). Better than
    all and than the control: reproduced; than all but not the control: partly (nothing shows the memory is
    used); otherwise not better than a memory-free predictor, through the budget rule with no budget given."""
    if all(v == "lower" for v in vs_memory_free) and vs_control == "lower":
        return verdict("reproduced", f"{what}: better than every memory-free predictor, and an unstored probe is "
                                     "completed worse (the memory is used)")
    if all(v == "lower" for v in vs_memory_free):
        return verdict("partly reproduced", f"{what}: better than every memory-free predictor, but an unstored "
                                            "probe is completed as well: no evidence that the memory is used")
    return missed(f"{what}: not better than every memory-free predictor", episodes, None, no_budget=NO_BUDGET)


def image_budget(result: Result) -> str:
    """The image networks' training and the held-out scoring, in words."""
    config = profile_config(result.profile)[IMAGE_MODELS[0]][0]
    episodes = select_profile(PROFILES, result.profile).options["eval_episodes"]
    seconds = ", ".join(f"{name} {result.runs[name][0]['seconds_per_episode']:.2f} s" for name in IMAGE_MODELS)
    return (f"1 seed per network x {config.episodes:,} episodes, batch {config.batch} at lr {config.lr:g} (the "
            f"schedule of notebook 03's one-seed networks at {result.profile}; the released code: "
            f"{ni.AUTHORS_EPISODES:,}); {episodes:,} held-out episodes per condition; {seconds} per update")


def image_claims(result: Result) -> list[Claim]:
    """One row per image question of :data:`QUESTIONS`: :func:`recall_verdict` from the network minus each
    memory-free predictor and minus its unstored-probe control, paired over held-out episodes, at half and
    twice the significance level; the numbers beside those of the network's reference condition."""
    out, scores = [], result.extra["images"]
    episodes = profile_config(result.profile)[IMAGE_MODELS[0]][0].episodes
    for condition, quote in QUESTIONS.items():
        net, _, _, what = CONDITIONS[condition]
        d = scores[condition]["differences"]
        reference = OWN_TASK[net]
        ours = f"{condition}: {loss_numbers(scores[condition]['scores'])}"
        if reference != condition:
            ours += f"; the same network in '{reference}': {relative_loss(scores[reference]['scores'])}"
        out.append(Claim(f"critique, images: {what}", f"not claimed: a question from the critique ({quote})",
                         "not in the released code", ours, image_budget(result),
                         sensitive(lambda level, d=d, w=what: recall_verdict(
                             [compare(d[m], level) for m in MEMORY_FREE], compare(d[CONTROL], level), w, episodes),
                             {_LEVEL: LEVEL})))
    return out


def relative_loss(scores: dict[str, dict[str, np.ndarray]]) -> str:
    """The network's mean held-out loss as a fraction of predicting zeros."""
    return f"loss {scores[NETWORK]['loss'].mean() / scores[MEMORY_FREE[0]]['loss'].mean():.2f} of predicting zeros"


def loss_numbers(scores: dict[str, dict[str, np.ndarray]]) -> str:
    """The network's mean held-out loss beside its control's and each memory-free predictor's."""
    others = ", ".join(f"{scores[m]['loss'].mean():.1f} ({m.split(' (')[0]})" for m in MEMORY_FREE)
    return (f"network loss {scores[NETWORK]['loss'].mean():.1f} ({relative_loss(scores)}), unstored probe "
            f"{scores[CONTROL]['loss'].mean():.1f}; memory-free: {others}")


def image_table(result: Result) -> pd.DataFrame:
    """One row per image condition: each predictor's mean held-out loss as a fraction of predicting zeros, and the
    network's correlation with the erased pixels."""
    rows = {}
    for condition, entry in result.extra["images"].items():
        s = entry["scores"]
        zeros = s[MEMORY_FREE[0]]["loss"].mean()
        rows[condition] = {name.split(" (")[0] if name != CONTROL else "unstored probe":
                           round(float(s[name]["loss"].mean() / zeros), 3) for name in (NETWORK, CONTROL, *MEMORY_FREE)}
        rows[condition]["network correlation"] = round(float(np.nanmean(s[NETWORK]["corr"])), 3)
        rows[condition]["zeros loss"] = round(float(zeros), 1)
    return pd.DataFrame.from_dict(rows, orient="index")


def plot_image_conditions(t: pd.DataFrame) -> plt.Figure:
    """Each condition's held-out loss as a fraction of predicting zeros: the network, its unstored-probe control
    and the memory-free predictors (bars), references marked."""
    columns = [c for c in t.columns if c not in ("network correlation", "zeros loss", "zeros")]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(t) * len(columns) / 2 + 1))
    height = 0.8 / len(columns)
    y = np.arange(len(t))
    for k, column in enumerate(columns):
        ax.barh(y + k * height, t[column], height, label=column)
    ax.axvline(1.0, color="k", lw=0.8, ls="--")
    ax.set_yticks(y + 0.4 - height / 2, [f"{c} (reference)" if c in REFERENCES else c for c in t.index])
    ax.invert_yaxis()
    ax.set(xlabel="held-out loss / loss of predicting zeros (lower is better)",
           title="Image memory on erasures and images unlike its training")
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2)
    fig.tight_layout()
    return fig
