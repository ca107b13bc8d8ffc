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

import copy
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import torch
from torch import Tensor

from ..baselines import TASK, BaselineConfig
from ..data import DataRef, folder_key
from ..environment import check_seeds, data_dir, figures_dir, pick_device, results_dir
from ..plotting import band, save, save_table, smooth
from ..stats import SIGNIFICANCE, compare, paired_difference, wilson_interval, z_of
from ..tasks.images import RandomErasureTask, normalise
from ..training import Job, RunStore, fixed_threads, trainer_of
from . import binary_patterns as bp
from . import natural_images as ni
from . import omniglot as og
from .contract import Claim, Profile, Reported, Result, missed, select_profile, sensitive, verdict

EXPERIMENT = "critiques"
HIDDEN = 200  # units of both LSTMs: 4 x the pattern size (the 50 units read out and 150 more)
LSTM_LR = 1e-3  # Adam rate of both LSTMs, chosen on a 1,000-episode pilot of each (seed 0): both learn
MODELS = ("plastic_lstm", "lstm", "plastic_rnn")
LABELS = {"plastic_lstm": f"plastic LSTM, {HIDDEN} units", "lstm": f"LSTM, {HIDDEN} units",
          "plastic_rnn": "plastic RNN, 51 neurons (notebook 02)"}
CONFIGS = {
    "plastic_lstm": BaselineConfig("plastic_lstm", task=TASK, extra=HIDDEN, input_scale=1.0, lr=LSTM_LR),
    "lstm": BaselineConfig("lstm", task=TASK, extra=HIDDEN, input_scale=1.0, lr=LSTM_LR),
    "plastic_rnn": bp.Config(task=TASK, input_scale=20.0, lr=3e-4, eta=0.01, learn_eta=True),
}


# The image questions: notebook 03's per-connection network on the schedule of its one-seed networks at the same
# profile (ni.one_seed_config), trained on other data.
ANIMALS = (2, 3, 4, 5, 6, 7)  # CIFAR-10 labels: bird, cat, deer, dog, frog, horse
VEHICLES = (0, 1, 8, 9)  # airplane, automobile, ship, truck
IMAGE_MODELS = ("random_erasure", "animals")
IMAGE_LABELS = {"half": "trained on half erasure, all classes (notebook 03)",
                "random_erasure": "trained on random erasure, all classes", "animals": "trained on animals only"}
TRAIN_CLASSES = {"half": None, "random_erasure": None, "animals": ANIMALS}


# Question 1 on Omniglot: notebook 04's network and schedule at the same profile, trained on the background set's
# 964 characters only (its seed holds out 100 of them, as 04 holds out 100 of all 1,623), tested on the evaluation
# set's 659 characters: alphabets never seen.
OMNIGLOT = "omniglot_background"
SMOKE_SCORING = {"eval_episodes": 2, "omniglot_episodes": 50}  # smoke: image and Omniglot episodes scored (a pipeline
# check: each image network evaluation costs ~0.25 s per episode here)
OMNIGLOT_SCORED = 2000  # scored episodes per class set at cpu and paper: a difference of two accuracies
# near 90% then has a 95% half-width of ~1.9 points, below half the margin SAME


def _image_configs(profile: str) -> dict[str, ni.Config]:
    """The image networks of :data:`IMAGE_LABELS` before their ``train_images`` is known, one schedule for all."""
    half = ni.one_seed_config(profile)
    return {"half": half, "random_erasure": replace(half, task=RandomErasureTask(**vars(half.task))), "animals": half}


def _profile(profile: str, episodes: int, seeds: int, note: str) -> Profile:
    configs = {name: replace(c, episodes=episodes) for name, c in CONFIGS.items()}
    images = {name: c for name, c in _image_configs(profile).items() if name in IMAGE_MODELS}
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

QUESTION = Reported("not claimed: a question from the critique ('Many widely used architectures like LSTMs could "
                    "be tried along with a plastic component')", "ICML 2018 course summary, Critiques, "
                                                                 "002_211b927b97543b95.txt")
DISTRIBUTIONS = ("'how plastic networks will behave if the test sets are completely different from the training "
                 "dataset. Will the performance be the same as non-plastic networks?'")
ERASURE = "'The removed pixels of test images could have been made more random, similar to experiment 1'"
NOT_RUN: dict[str, str] = {}  # question -> the critique's words, for a question without runs (a row says so)
# Cut-offs, fixed before the runs they judge; each verdict is also computed at half and twice them.
NO_BUDGET = "no paper asks this question or gives its budget"  # the reason a missed critique row is "not
# reproduced" (contract.missed): no published training length puts the miss down to ours
FINAL = 1000  # the final error of a run: its mean sign error over its last FINAL episodes
LEVEL = SIGNIFICANCE  # two-sided level of the paired comparison over seeds (0.05)
_LEVEL = "significance level"


# The image conditions, fixed before the runs: name -> (network, erasure of the test probes, test images, what it
# asks). The networks are IMAGE_LABELS'; "half" is the per-connection network on the same
# schedule, stored with notebook 03's runs (its first seed).
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


def profile_config(profile: str) -> dict[str, tuple[BaselineConfig | bp.Config | ni.Config, list[int]]]:
    """Model name -> (config, seeds) for ``profile``: the 50-bit networks (:data:`MODELS`), then the image
    networks (:data:`IMAGE_MODELS`; their ``train_images`` is set by :func:`run` from the images found)."""
    p = select_profile(PROFILES, profile)
    return {name: (config, p.seeds_for(name)) for name, config in p.configs.items()}


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
            train = trainer_of(ni.train_seeds, config, device, pools=ni.pools_ref(classes=TRAIN_CLASSES[name]))
        elif name == OMNIGLOT:
            train = og.trainer(config, device, images=background_ref())
        else:
            train = bp.trainer(config, device)
        jobs.append(Job(default if seeds is None else seeds, config, train, f"{name}-"))
    first = (seeds or [0])[0]
    half = image_config(profile, "half")  # stored with notebook 03's runs (the same network, the same store)
    RunStore(results_dir(ni.EXPERIMENT, profile)).train(
        [Job([first], half, trainer_of(ni.train_seeds, half, device, pools=ni.pools_ref()), "per_connection-")])
    records = RunStore(results_dir(EXPERIMENT, profile)).train(jobs, group=1, force=force)
    result = Result(EXPERIMENT, profile, dict(zip(table, records)), str(pick_device(device)))
    result.extra["images"] = image_scores(result, first, device)
    result.extra["omniglot"] = omniglot_scores(result, device)
    return result


def omniglot_set(root: str, which: str) -> Tensor:
    """The characters of one Omniglot set (``"images_background"`` or ``"images_evaluation"``) of the folder
    ``root``, (characters, 20, 31, 31): notebook 04's images (read once per process)."""
    images, names = og.load_images(Path(root))
    return images[[i for i, name in enumerate(names) if name.startswith(f"{which}/")]]


def background_images(root: str) -> Tensor:
    """Omniglot's background-set characters (964, 20, 31, 31)."""
    return omniglot_set(root, "images_background")


def evaluation_images(root: str) -> Tensor:
    """Omniglot's evaluation-set characters (659, 20, 31, 31): the alphabets the background set leaves out."""
    return omniglot_set(root, "images_evaluation")


def background_ref(root: Path | None = None) -> DataRef:
    """The background set as a training task carries it: loaded (:func:`background_images`) where it runs."""
    return DataRef(background_images, (folder_key(root or data_dir()),))


OMNIGLOT_SETS = ("unseen characters of the training alphabets", "unseen alphabets (the evaluation set)")
PLASTIC = "plastic network"
NON_PLASTIC = ("nearest neighbour on its embedding", "its plastic readout at alpha = 0", "nearest neighbour on pixels")
SAME = 0.05  # "the same performance": unseen alphabets within 5 accuracy points of unseen characters of the training
# alphabets; notebook 04's cpu seeds spread over 5 points on held-out classes (87-92%), so a smaller gap is within
# what a seed alone moves (checked at half and twice: 2.5 and 10 points)


def nearest_neighbour(features: Tensor, labels: Tensor, target: Tensor) -> Tensor:
    """(B,) bool: the labelled step whose ``features`` (B, T, F) are closest (cosine) to the test step's (the last)
    carries the ``target`` label; ``labels`` (B, T, n_way) one-hot on the labelled steps."""
    n = labels.shape[-1]
    similarity = torch.nn.functional.cosine_similarity(features[:, -1:], features[:, :n], dim=-1)  # (B, n)
    guess = labels[:, :n].argmax(-1).gather(1, similarity.argmax(1, keepdim=True))[:, 0]
    return guess == target


@torch.no_grad()
def omniglot_correct(net: og.OmniglotNet, images: Tensor, classes: Tensor, task: og.OmniglotTask, episodes: int,
                     generator: torch.Generator, batch: int = 500) -> dict[str, np.ndarray]:
    """Correct (1) or wrong (0) on ``episodes`` 5-way 1-shot episodes of ``classes``, the same episodes for the
    plastic network and each non-plastic baseline (:data:`NON_PLASTIC`): a nearest neighbour on the network's own
    embedding, the network with its plasticity coefficients at 0 (a fixed readout of the same embedding), and a
    nearest neighbour on the pixels."""
    frozen = copy.deepcopy(net)
    frozen.out.alpha.zero_()
    device = next(net.parameters()).device
    out: dict[str, list[Tensor]] = {name: [] for name in (PLASTIC, *NON_PLASTIC)}
    for start in range(0, episodes, batch):
        ep = og.omniglot_episode(images, classes, task, min(batch, episodes - start), generator)
        pictures, labels, target = ep.images.to(device), ep.labels.to(device), ep.target.to(device)
        out[PLASTIC].append(net.loss(pictures, labels, target)[1])
        out[NON_PLASTIC[0]].append(nearest_neighbour(net.embedding(pictures), labels, target))
        out[NON_PLASTIC[1]].append(frozen.loss(pictures, labels, target)[1])
        out[NON_PLASTIC[2]].append(nearest_neighbour(pictures.flatten(2), labels, target))
    return {name: torch.cat(v).cpu().numpy().astype(int) for name, v in out.items()}


def omniglot_scores(result: Result, device: str | None = None) -> dict[str, dict[str, np.ndarray]]:
    """The background-trained network (its first seed) and the non-plastic baselines on :data:`OMNIGLOT_SETS`:
    the 100 background characters its seed held out, and every character of the evaluation set; each set with
    its own sampler fixed by the seed (:func:`~plasticity_utils.experiments.omniglot.score_generator`)."""
    record = result.runs[OMNIGLOT][0]
    config = profile_config(result.profile)[OMNIGLOT][0]
    background, dev = background_ref().load(), pick_device(device)
    params = RunStore(results_dir(EXPERIMENT, result.profile)).params(record["seed"], config, tag=f"{OMNIGLOT}-")
    net, task = og.load_net(record, params, background, dev)
    evaluation = evaluation_images(folder_key(data_dir()))
    sets = {OMNIGLOT_SETS[0]: (background, torch.tensor(record["test_classes"])),
            OMNIGLOT_SETS[1]: (evaluation, torch.arange(len(evaluation)))}
    episodes = select_profile(PROFILES, result.profile).options["omniglot_episodes"]
    return {name: omniglot_correct(net.module, images, classes, task, episodes, og.score_generator(record["seed"], k))
            for k, (name, (images, classes)) in enumerate(sets.items())}


def plastic_verdict(vs_non_plastic: list[str], episodes: int) -> str:
    """Verdict on "on unseen alphabets the plastic network beats the non-plastic networks with its embedding":
    :func:`compare` words of plastic minus each non-plastic baseline's accuracy, paired over episodes.
    Higher than every one: reproduced; lower than one: not reproduced; else no difference from one, through the
    budget rule with no budget given."""
    if all(v == "higher" for v in vs_non_plastic):
        return verdict("reproduced", "more accurate than every non-plastic baseline on the same episodes")
    if "lower" in vs_non_plastic:
        return verdict("not reproduced", "a non-plastic baseline is more accurate on the same episodes")
    return missed("not more accurate than every non-plastic baseline", episodes, None, no_budget=NO_BUDGET)


def same_verdict(difference: tuple[float, float], episodes: int, margin: float = SAME, level: float = LEVEL) -> str:
    """Verdict on "the performance is the same on unseen alphabets": the accuracy on unseen alphabets minus that on
    unseen characters of the training alphabets (mean, 95% half-width), against ``-margin``. The whole interval
    (at ``level``) above it: reproduced; below it: not reproduced (the accuracy drops by more); straddling it:
    undecided, through the budget rule with no budget given."""
    mean, half = difference
    half *= z_of(level) / 1.96
    how = f"difference {100 * mean:+.1f} ± {100 * half:.1f} points (level {level:g}), margin {100 * margin:g} points"
    if mean - half > -margin:
        return verdict("reproduced", f"the same within the margin: {how}")
    if mean + half < -margin:
        return verdict("not reproduced", f"the accuracy drops by more than the margin: {how}")
    return missed(f"undecided ({how})", episodes, None, no_budget=NO_BUDGET)


def accuracy_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Accuracy of ``a`` minus that of ``b`` (independent 0/1 samples) and the half-width of its 95% interval."""
    pa, pb = a.mean(), b.mean()
    return float(pa - pb), float(1.96 * np.sqrt(pa * (1 - pa) / len(a) + pb * (1 - pb) / len(b)))


def omniglot_claims(result: Result) -> list[Claim]:
    """The two rows of question 1 on Omniglot: the plastic network against the non-plastic baselines on unseen
    alphabets (paired over episodes), and its accuracy there against that on unseen characters of the training
    alphabets (:data:`SAME`); each at half and twice its cut-offs."""
    scores = result.extra["omniglot"]
    unseen, familiar = scores[OMNIGLOT_SETS[1]], scores[OMNIGLOT_SETS[0]]
    episodes = profile_config(result.profile)[OMNIGLOT][0].episodes
    n = len(unseen[PLASTIC])
    accuracy = ", ".join(f"{name} {100 * unseen[name].mean():.1f}%" for name in NON_PLASTIC)
    rec = result.runs[OMNIGLOT][0]
    budget = (f"1 seed x {episodes:,} episodes (notebook 04's {result.profile} schedule) on the background set's "
              f"{rec['n_classes'] - len(rec['test_classes'])} training characters; {n:,} scored episodes per set; "
              f"{rec['seconds'] / 60:.0f} min of training")
    diffs = {name: paired_difference(unseen[PLASTIC], unseen[name]) for name in NON_PLASTIC}
    drop = accuracy_difference(unseen[PLASTIC], familiar[PLASTIC])
    return [
        Claim("critique, Omniglot: on alphabets never seen in training, the plastic network beats non-plastic "
              "networks with the same embedding (5-way 1-shot)", f"not claimed: a question from the critique "
              f"({DISTRIBUTIONS})", "not in the released code",
              f"unseen alphabets: plastic {100 * unseen[PLASTIC].mean():.1f}%; {accuracy}", budget,
              sensitive(lambda level: plastic_verdict([compare(d, level) for d in diffs.values()], episodes),
                        {_LEVEL: LEVEL})),
        Claim("critique, Omniglot: the plastic network's accuracy on alphabets never seen is the same as on unseen "
              "characters of the alphabets it trained on", f"not claimed: a question from the critique "
              f"({DISTRIBUTIONS})", "not in the released code",
              (f"plastic network: {100 * unseen[PLASTIC].mean():.1f}% on unseen alphabets vs "
               f"{100 * familiar[PLASTIC].mean():.1f}% on unseen characters of the training alphabets"), budget,
              sensitive(lambda margin, level: same_verdict(drop, episodes, margin, level),
                        {"margin (accuracy)": SAME, _LEVEL: LEVEL})),
    ]


def omniglot_table(result: Result) -> pd.DataFrame:
    """Accuracy (%) and its 95% Wilson interval of every predictor on both class sets."""
    rows = {}
    for s in OMNIGLOT_SETS:
        for p, correct in result.extra["omniglot"][s].items():
            low, high = wilson_interval(int(correct.sum()), len(correct))
            rows[(s, p)] = {"accuracy %": round(100 * correct.mean(), 1), "95% low": round(100 * low, 1),
                            "95% high": round(100 * high, 1), "episodes": len(correct)}
    return pd.DataFrame.from_dict(rows, orient="index")


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
    select_profile(PROFILES, profile)  # a clear error for an unknown profile
    return replace(_image_configs(profile)[name],
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


def final_errors(records: list[dict], last: int = FINAL) -> dict[int, float]:
    """Seed -> the run's mean sign error over its last ``last`` episodes (one episode per update)."""
    return {r["seed"]: float(np.mean(r["error"][-last:])) for r in records}


def comparison(a: list[dict], b: list[dict], last: int = FINAL) -> tuple[float, float, int]:
    """``a`` minus ``b``: the final error (:func:`final_errors`) paired by seed (the same seed draws the same
    episodes for every network): mean difference, 95% half-width, number of pairs."""
    fa, fb = final_errors(a, last), final_errors(b, last)
    seeds = sorted(set(fa) & set(fb))
    diff, half = paired_difference(np.array([fa[s] for s in seeds]), np.array([fb[s] for s in seeds]))
    return diff, half, len(seeds)


def better_verdict(diff: tuple[float, float, int], what: str, episodes: int, level: float = LEVEL) -> str:
    """Verdict on "``what``": the first network's final error is lower than the second's, from their paired
    difference (:func:`comparison`) at the two-sided ``level``. Lower: reproduced; higher: not reproduced;
    no significant difference: the budget rule with no budget given (:func:`.contract.missed`: not
    reproduced at our budget, which it names)."""
    mean, half, pairs = diff
    word = compare((mean, half), level)
    how = f"final error difference {mean:+.4f} ± {half:.4f} (95%), {pairs} seeds paired, level {level:g}"
    if word == "lower":
        return verdict("reproduced", f"{what}: {how}")
    if word == "higher":
        return verdict("not reproduced", f"the opposite holds: {how}")
    return missed(f"no significant difference ({how})", episodes, None, no_budget=NO_BUDGET)


def budget(records: list[dict]) -> str:
    episodes = len(records[0]["error"])
    seconds = np.mean([r["seconds"] for r in records]) / episodes
    return f"{len(records)} seeds x {episodes:,} episodes, 1 per update ({1000 * seconds:.1f} ms/episode)"


def claims(result: Result) -> list[Claim]:
    """The plastic LSTM against the LSTM and against the plastic RNN (paired over seeds, checked at half and twice
    the significance level); one row per question not run yet."""
    out, runs = [], result.runs
    pairs = [("plastic_lstm", "lstm", "a plastic component improves the LSTM"),
             ("plastic_lstm", "plastic_rnn", "the plastic LSTM improves on the plastic RNN")]
    for a, b, what in [(a, b, w) for a, b, w in pairs if a in runs and b in runs]:
        episodes = len(runs[a][0]["error"])
        diff = comparison(runs[a], runs[b])
        fa, fb = final_errors(runs[a]), final_errors(runs[b])
        ours = (f"final error (last {FINAL:,} episodes) {np.mean(list(fa.values())):.4f} vs "
                f"{np.mean(list(fb.values())):.4f}; "
                f"{a} - {b} {diff[0]:+.4f} ± {diff[1]:.4f} (95%, {diff[2]} seeds paired)")
        out.append(Claim(f"50-bit task, {what}: {LABELS[a]} vs {LABELS[b]}, final error at equal episodes",
                         str(QUESTION), "not in the released code", ours,
                         f"{budget(runs[a])}; {b}: {budget(runs[b])}",
                         sensitive(lambda level, d=diff, w=what, e=episodes: better_verdict(d, w, e, level),
                                   {_LEVEL: LEVEL})))
    out += image_claims(result) if "images" in result.extra else []
    out += omniglot_claims(result) if "omniglot" in result.extra else []
    for what, quote in NOT_RUN.items():
        out.append(Claim(f"critique: {what}", f"not claimed: a question from the critique ({quote})", "",
                         "not run yet", "none", verdict("not reached within our budget", "not run yet: no runs")))
    return out


def image_budget(result: Result) -> str:
    """The image networks' training and the held-out scoring, in words."""
    config = profile_config(result.profile)[IMAGE_MODELS[0]][0]
    episodes = select_profile(PROFILES, result.profile).options["eval_episodes"]
    seconds = ", ".join(f"{name} {result.runs[name][0]['seconds_per_episode']:.2f} s" for name in IMAGE_MODELS)
    return (f"1 seed per network x {config.episodes:,} episodes, batch {config.batch} at lr {config.lr:g} (the "
            f"schedule of notebook 03's one-seed networks at {result.profile}; the released code: {ni.AUTHORS_EPISODES:,}); {episodes:,} held-out "
            f"episodes per condition; {seconds} per update")


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


def table(result: Result) -> pd.DataFrame:
    """One row per 50-bit network: parameters, seeds, episodes, final error (mean and range over seeds), speed."""
    rows = {}
    for name, records in [(n, r) for n, r in result.runs.items() if n in MODELS]:
        final = np.array(list(final_errors(records).values()))
        rows[LABELS[name]] = {"trainable parameters": records[0]["n_params"], "seeds": len(records),
                              "episodes": len(records[0]["error"]),
                              f"final error (last {FINAL:,}), mean": round(float(final.mean()), 4),
                              "min": round(float(final.min()), 4), "max": round(float(final.max()), 4),
                              "ms per episode": round(1000 * np.mean([r["seconds"] for r in records])
                                                      / len(records[0]["error"]), 2)}
    return pd.DataFrame.from_dict(rows, orient="index")


def figures(result: Result, window: int = 100) -> dict[str, Path]:
    """The three networks' learning curves (trailing ``window``-episode error, band over seeds), and the table."""
    folder = figures_dir(result.profile)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, records in [(n, r) for n, r in result.runs.items() if n in MODELS]:
        errors = smooth(np.array([r["error"] for r in records]), window)
        band(ax, np.arange(1, errors.shape[1] + 1), errors, label=f"{LABELS[name]} ({len(records)} seeds)")
    ax.set(xscale="log", yscale="log", xlabel="training episode",
           ylabel=f"error (wrong bits, trailing {window}-episode mean;\nband: min-max over seeds)",
           title="Two 50-bit patterns: a plastic component in an LSTM")
    ax.legend(frameon=False, fontsize=8)
    name = "critiques_plastic_lstm"
    out = {"curves": save(fig, name, folder), "table": save_table(table(result), name, folder)}
    if "images" in result.extra:
        out["images"] = save(plot_image_conditions(image_table(result)), "critiques_images", folder)
        out["images table"] = save_table(image_table(result), "critiques_images", folder)
    if "omniglot" in result.extra:
        out["omniglot"] = save(plot_omniglot(omniglot_table(result)), "critiques_omniglot", folder)
        out["omniglot table"] = save_table(omniglot_table(result), "critiques_omniglot", folder)
    return out


def plot_omniglot(t: pd.DataFrame) -> plt.Figure:
    """Accuracy of the plastic network and the non-plastic baselines on both class sets, with 95% intervals."""
    fig, ax = plt.subplots(figsize=(10, 3.4))
    predictors = list(dict.fromkeys(p for _, p in t.index))
    width = 0.8 / len(predictors)
    for k, name in enumerate(predictors):
        rows = t.xs(name, level=1)
        x = np.arange(len(rows)) + k * width
        ax.bar(x, rows["accuracy %"], width, label=name,
               yerr=[rows["accuracy %"] - rows["95% low"], rows["95% high"] - rows["accuracy %"]], capsize=3)
    ax.axhline(20, color="k", lw=0.8, ls="--", label="chance (5-way)")
    ax.set_xticks(np.arange(len(OMNIGLOT_SETS)) + 0.4 - width / 2, OMNIGLOT_SETS)
    ax.set(ylabel="5-way 1-shot accuracy (%)", ylim=(0, 100),
           title="Omniglot: trained on the background alphabets only")
    ax.legend(frameon=False, fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


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


__all__ = ["PROFILES", "MODELS", "LABELS", "CONFIGS", "HIDDEN", "LSTM_LR", "FINAL", "profile_config", "run",
           "claims", "figures", "table", "final_errors", "comparison", "better_verdict", "IMAGE_MODELS", "CONDITIONS",
           "QUESTIONS", "REFERENCES", "image_config", "image_networks", "image_scores", "omniglot_pictures",
           "recall_verdict", "image_claims", "image_table", "plot_image_conditions", "OMNIGLOT", "OMNIGLOT_SETS",
           "NON_PLASTIC", "SAME", "omniglot_set", "background_images", "evaluation_images", "background_ref",
           "nearest_neighbour",
           "omniglot_correct", "omniglot_scores", "plastic_verdict", "same_verdict", "accuracy_difference",
           "omniglot_claims", "omniglot_table", "plot_omniglot"]
