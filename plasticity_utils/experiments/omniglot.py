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

Batching. Here ``batch`` independent episodes (each with its own trace) are averaged per update, and
``lr`` is the optimiser's rate for that batch (the paper: 3e-5 at batch 1). The decay keeps the paper's
schedule in episodes: every ``decay_episodes / batch`` updates. ``batch=1`` is exactly the paper's setup.
How the `cpu` profile's rate was chosen is stated next to :data:`PROFILES`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Iterable, Sequence, TypedDict

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import report
from ..batched import Generators, Runs, finish_runs, stack, train_runs
from ..environment import check_flag, check_seeds, data_dir, figures_dir, pick_device, results_dir
from ..data import DataRef, folder_key, load_omniglot, loaded
from ..plastic import PlasticConnection
from ..plotting import band, save
from ..stats import SIGNIFICANCE, compare, paired_difference, wilson_interval, z_of
from ..tasks.omniglot import Episode, OmniglotTask, class_split, omniglot_episode
from ..training import Job, RunStore, fixed_threads, trainer_of
from ..validation import check
from .contract import (Claim, Options, Profile, Record, Reported, Result, missed, record_keys, select_profile,
                       sensitive, verdict)

# What others report (see :mod:`.contract`). The seed text is a course summary of the ICML 2018 paper (not the paper
# itself): its text gives 98.3% and its table, beside the other methods, 98.03 ± 0.80.
SUMMARY = "ICML 2018 course summary, Experiment 3, 002_211b927b97543b95.txt"
PAPER_ACCURACY = (98.3, 0.8)  # % and its 95% interval's half-width, the summary's text (published value, not ours)
PAPER_EPISODES = 5_000_000
MIN_SEEDS = 2  # an interval over seeds needs at least two
PAPER = Reported("'The overall accuracy (i.e. the proportion of episodes with correct classification, aggregated over "
                 "all test episodes of all runs) is 98.3%, with a 95% confidence interval of 0.80%'; 'The median "
                 "accuracy across the 10 runs was 98.5%'; 10 models each 'tested on 100 episodes using previously "
                 "unseen test classes', trained 'over 5,000,000 episodes' (its table: 98.03 ± 0.80)", SUMMARY)
# A seed failed when its held-out accuracy stays below chance + FAILED_MARGIN (20% + 10 points = 30% for 5-way):
# a learned seed is far above it (the cpu profile's seeds: 87-92%), while 100 held-out episodes at chance
# give 20 ± 8 points (95%), so a seed at chance lies below it and one that merely starts to learn does not.
FAILED_MARGIN = 0.10
PAPER_MEDIAN = 98.5  # % over the 10 runs, the summary's text ("The median accuracy across the 10 runs was 98.5%")
PAPER_MEDIAN_QUOTE = "'The median accuracy across the 10 runs was 98.5%, indicating consistency in learning'"
# How far below 98.5% our median may fall and still match it: the summary's own 95% half-width for its pooled
# accuracy (0.80 points), the only measure of spread it gives.
MEDIAN_TOLERANCE = PAPER_ACCURACY[1]
RELEASED_SPLIT_SEED = 0  # the shuffle whose last 100 classes the released test script scores, whatever the model
RELEASED = Reported(
    "its test script scores every model on the last 100 classes of a seed-0 shuffle, while each model held out "
    "the last 100 of its own seed's shuffle: for 9 of the 10 published models ~94% of the scored classes were "
    "training classes", "reading of the authors' released code (figures/released_code.md)")
# Published 5-way 1-shot accuracies of other methods, as listed with the paper's result (%).
PUBLISHED = {
    "Memory Networks": "82.8",
    "Matching Networks": "98.1",
    "ProtoNets": "97.4",
    "Memory Module": "98.4",
    "MAML": "98.7 ± 0.4",
    "SNAIL": "99.07 ± 0.16",
    "Differentiable plasticity (paper)": "98.03 ± 0.80 (the text: 98.3)",
}
# The summary's reading of its table: 'largely similar to those reported for ... MAML and ... Matching Networks',
# 'slightly below those reported for the SNAIL method'. "Largely similar" read as within SIMILAR points of the
# lower of the two (Matching Networks, 98.1%); the tolerance is the summary's own 95% half-width (0.80 points),
# its only measure of spread. Fixed before the runs it judges; checked at half and twice its value.
SIMILAR_TO = ("MAML", "Matching Networks")
ABOVE_US = "SNAIL"
SIMILAR = PAPER_ACCURACY[1]
TABLE_QUOTE = ("'The results of the plastic approach are largely similar to those reported for the computationally "
               "intensive MAML method and the classification-specialized Matching Networks method'; 'slightly below "
               "those reported for the SNAIL method' (Table 1: MAML 98.7 ± 0.4, Matching Networks 98.1, SNAIL "
               "99.07 ± 0.16, ProtoNets 97.4, Memory Module 98.4, Memory Networks 82.8; published values, each "
               "method's own protocol and budget)")


class _OmniglotTraining(Record, total=False):
    train_classes_count: int  # classes it trained on
    loss: list[float]  # training loss, mean of each block of ``eval_every`` updates
    train_accuracy: list[float]  # training-episode accuracy, the same blocks
    eta: float  # the plasticity rate at the end
    seconds_per_update: float  # wall seconds per update, curve evaluations included


class OmniglotRecord(_OmniglotTraining):
    """A run on Omniglot: its class split, its held-out curve and its final scoring."""

    curve: dict[str, list]  # "episodes" seen and the held-out accuracy there ("heldout"), the last after training
    test_classes: list[int]  # the held-out classes, drawn from the seed (tasks.omniglot.class_split)
    n_classes: int  # classes in the images it trained on
    eval_correct: list[int]  # 1/0 per held-out scoring episode after training


class Evaluations(TypedDict):
    """``Result.extra`` of :func:`run`: each trained model scored after training."""

    scores: dict[int, dict[str, list[int]]]  # seed -> class set (:func:`class_sets`) -> 1/0 per scoring episode
    eval_episodes: int  # scoring episodes per class set


@dataclass(frozen=True)
class Config:
    RECORD_KEYS: ClassVar[tuple[str, ...]] = record_keys(OmniglotRecord)  # what a stored run must hold

    task: OmniglotTask = field(default_factory=OmniglotTask)
    updates: int = 5_000_000  # optimiser steps; episodes = updates * batch
    batch: int = 1  # independent episodes per update
    lr: float = 3e-5  # Adam's learning rate for one update of `batch` episodes (paper: 3e-5, batch 1)
    decay: float = 0.666
    decay_episodes: int = 1_000_000  # lr *= decay every this many episodes (paper schedule)
    filters: int = 64
    label_scale: float = 1000.0
    eta: float = 0.01
    eval_every: int = 50_000  # updates between two points of the held-out learning curve
    curve_episodes: int = 100  # held-out episodes per point of the curve
    eval_episodes: int = 100  # held-out episodes of the final evaluation, per seed

    def __post_init__(self) -> None:
        check(self, types={"task": OmniglotTask}, positive=("lr", "label_scale"), rate=("decay", "eta"),
              counts=("updates", "batch", "decay_episodes", "filters", "eval_every", "curve_episodes",
                      "eval_episodes"))

    @property
    def episodes(self) -> int:
        return self.updates * self.batch


# Scale is the only thing a profile changes. cpu: 5 seeds x 1,000 updates of 256 episodes = 256,000 episodes
# per seed, Adam 1e-3: the best rate of notebook 04's own sweep at 256 episodes per update (LR_SWEEP; the
# notebook's prose gives the earlier profile and the probes behind it).
# paper, re-planned for one GPU: 5M batch-1 updates take >24 h per seed there (0.0177 s per update
# on an H100, benchmarks/README.md), so the paper's 5,000,000 episodes per seed come as 19,532 updates of 256,
# the lr decay kept every 1,000,000 episodes, and the 10 seeds train together (train_seeds). The rate, 1e-3,
# is the best of notebook 04's sweep at 256 episodes per update (LR_SWEEP); the linear rule would give 7.7e-3,
# above the 3e-3 that drove eta below zero in probes at 32 episodes per update. The paper's own schedule is
# PAPER_BATCH1.
PAPER_BATCH1 = Config()
PAPER_GPU = Config(updates=19_532, batch=256, lr=1e-3, eval_every=500)
# ``eval_episodes`` (option): episodes per seed and class set scored by :func:`run` after training.
PROFILES = {
    "smoke": Profile({"plastic": Config(updates=20, batch=16, lr=1e-3, eval_every=10, curve_episodes=50)}, 2,
                     "pipeline check only", {"eval_episodes": 50}),
    "cpu": Profile({"plastic": Config(updates=1000, batch=256, lr=1e-3, eval_every=50)}, 5,
                   "5 seeds x 256,000 episodes (1,000 updates of 256, Adam 1e-3: the best rate of notebook 04's sweep "
                   "at 256 episodes per update), 5.1% of the paper's 5,000,000", {"eval_episodes": 500}),
    "paper": Profile({"plastic": PAPER_GPU}, 10,
                     "the paper's 10 seeds x 5,000,000 episodes, on one GPU: 19,532 updates of 256 episodes at Adam "
                     "1e-3 (the paper: one episode per update at 3e-5), the 10 seeds trained as one batched model",
                     Options(batched=True, extra={"eval_episodes": 1000})),
}
# A question the paper leaves open (answered by a sweep in notebook 04): which Adam rate at 256 episodes per update, the batch of the
# GPU plan? Swept with plasticity_utils.sweep (grid, seeds) per profile; the rest of the config is the profile's.
LR_SWEEP = {
    "smoke": ({"lr": [1e-3, 3e-3], "batch": [4], "updates": [4], "eval_every": [2]}, [0]),
    "cpu": ({"lr": [3e-4, 1e-3, 3e-3], "batch": [256], "updates": [500], "eval_every": [50]}, [0, 1]),
    "paper": ({"lr": [3e-4, 1e-3, 3e-3], "batch": [256], "updates": [19_532], "eval_every": [500]}, [0, 1, 2]),
}
CLASS_SETS = ("held-out", "training", "released protocol")  # what run() scores each trained model on


def profile_config(profile: str) -> tuple[Config, list[int]]:
    p = select_profile(PROFILES, profile)
    return p.configs["plastic"], p.seeds_for("plastic")


class OmniglotNet(nn.Module):
    """Conv embedding + plastic output layer (see the module docstring)."""

    def __init__(self, n_way: int = 5, filters: int = 64, label_scale: float = 1000.0, eta: float = 0.01) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for k in range(4):
            layers += [nn.Conv2d(1 if k == 0 else filters, filters, 3, stride=2), nn.Tanh()]
        self.embed = nn.Sequential(*layers, nn.Flatten())
        self.out = PlasticConnection(filters, n_way, rule="oja", alpha="per_connection", w_init="normal",
                                     alpha_init="uniform", eta=eta, learn_eta=True, init_scale=0.01)
        self.label_scale = label_scale

    def embedding(self, images: Tensor) -> Tensor:
        """(B, T, 31, 31) -> (B, T, filters); all steps go through the convolutions at once."""
        b, t, h, w = images.shape
        return self.embed(images.reshape(b * t, 1, h, w)).reshape(b, t, -1)

    def step(self, x: Tensor, label: Tensor, hebb: Tensor) -> tuple[Tensor, Tensor]:
        """One step: y = softmax(x (w + alpha * Hebb) + 1000 * label), then Oja's rule with pre = x, post = y."""
        y = torch.softmax(self.out(x, hebb) + self.label_scale * label, dim=-1)
        return y, self.out.update(hebb, x, y)

    def forward(self, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Run whole episodes from Hebb = 0: ``images`` (B, T, H, W), ``labels`` (B, T, n_way).
        Returns the outputs y(1..T) as (B, T, n_way) and the final trace."""
        xs = self.embedding(images)
        hebb = self.out.initial_trace(images.shape[0])
        ys = []
        for t in range(images.shape[1]):
            y, hebb = self.step(xs[:, t], labels[:, t], hebb)
            ys.append(y)
        return torch.stack(ys, 1), hebb

    def loss(self, images: Tensor, labels: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Binary cross-entropy between the test step's output and the one-hot ``target`` (B,), averaged over
        episodes and outputs, and which episodes were right (B,): the argmax of the test step is the target."""
        ys, _ = self(images, labels)
        y = ys[:, -1]
        loss = F.binary_cross_entropy(y.clamp(1e-7, 1 - 1e-7), F.one_hot(target, y.shape[-1]).to(y.dtype))
        return loss, y.argmax(-1) == target


def build(config: Config) -> OmniglotNet:
    return OmniglotNet(config.task.n_way, config.filters, config.label_scale, config.eta)


def episode_loss(net: Runs, ep: Episode, device: torch.device) -> tuple[Tensor, Tensor]:
    """Per run, on episodes stacked along a leading run axis: :meth:`OmniglotNet.loss` (runs,) and which
    episodes were right (runs, B)."""
    return net.call("loss", ep.images.to(device), ep.labels.to(device), ep.target.to(device))


def run_episodes(images: Tensor, classes: Sequence[Tensor], task: OmniglotTask, batch: int,
                 generators: Iterable[torch.Generator]) -> Episode:
    """``batch`` episodes per run, run r's from ``classes[r]`` drawn with its own generator, stacked along a
    leading run axis: (runs, batch, ...)."""
    eps = [omniglot_episode(images, c, task, batch, g) for c, g in zip(classes, generators)]
    return Episode(*(stack([getattr(e, f) for e in eps]) for f in Episode._fields))


@torch.no_grad()
def evaluate(net: Runs, images: Tensor, classes: Sequence[Tensor], task: OmniglotTask, episodes: int,
             generators: Sequence[torch.Generator], device: torch.device, batch: int = 500) -> np.ndarray:
    """(runs, episodes): run r correct (1) or wrong (0) on each of ``episodes`` episodes built only from
    ``classes[r]``, drawn with ``generators[r]`` in chunks of ``batch``; no gradient."""
    correct = []
    for start in range(0, episodes, batch):
        ep = run_episodes(images, classes, task, min(batch, episodes - start), generators)
        correct.append(episode_loss(net, ep, device)[1].cpu())
    return torch.cat(correct, 1).numpy().astype(int)


def eval_generator(seed: int, point: int) -> torch.Generator:
    """Episode sampler for evaluation ``point`` of run ``seed`` (-1: the final evaluation), independent of
    training's sampler, so that resuming a run or changing the curve's spacing never changes the episodes."""
    state = np.random.SeedSequence([seed, point + 1, 0x0E7A]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(state))


def score_generator(seed: int, class_set: int) -> torch.Generator:
    """Episode sampler for :func:`score` of run ``seed`` on class set number ``class_set``: independent of
    training's sampler and of the learning curve's, fixed by the seed alone."""
    state = np.random.SeedSequence([seed, class_set, 0x5C0E]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(state))


def train_seeds(config: Config, seeds: list[int], checkpoint: Path | None, device: torch.device,
                images: Tensor | DataRef, progress: bool = True) -> list[tuple[dict, dict]]:
    """Train one network per seed (all as one model over a run axis, :func:`~plasticity_utils.batched.train_runs`;
    one seed: the network itself), each on the training classes of ``class_split(.., seed)`` of ``images`` (or of
    the images a :class:`~plasticity_utils.data.DataRef` loads where this runs: :func:`images_ref`), with its own
    episode sampler.

    Each record stores the held-out class indices, the held-out learning curve (accuracy on ``curve_episodes``
    held-out episodes every ``eval_every`` updates) and the final evaluation on ``eval_episodes`` held-out
    episodes (per-episode 0/1, so seeds can be pooled).
    """
    task, images = config.task, loaded(images)
    splits = [class_split(len(images), task.n_test_classes, s) for s in seeds]
    train_classes, test_classes = [train for train, _ in splits], [test for _, test in splits]

    def heldout(net: Runs, point: int, episodes: int) -> np.ndarray:
        return evaluate(net, images, test_classes, task, episodes, [eval_generator(s, point) for s in seeds], device)

    def step(i: int, net: Runs, gens: Generators):
        metrics = {}
        if i % config.eval_every == 0:  # held-out accuracy of the weights before update i
            metrics["heldout"] = heldout(net, i, config.curve_episodes).mean(1).tolist()
        losses, correct = episode_loss(net, run_episodes(images, train_classes, task, config.batch, gens), device)
        metrics["accuracy"] = correct.float().mean(1).tolist()
        metrics["eta"] = net.parameter("out.eta").detach().cpu().tolist()
        return losses, metrics

    # seconds: sample, forward, backward, Adam step and the curve's evaluations
    net, histories, (seconds, _) = train_runs(
        seeds, lambda: build(config), lambda net: torch.optim.Adam(net.parameters(), lr=config.lr), step,
        config.updates, device=device, checkpoint=checkpoint, progress=progress,
        make_scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(
            opt, step_size=max(1, config.decay_episodes // config.batch), gamma=config.decay))
    finals = heldout(net, config.updates, config.curve_episodes)  # last point of the curve
    evals = heldout(net, -1, config.eval_episodes)
    eta = net.parameter("out.eta").detach().cpu()
    records = [_record(config, histories[r], len(images), *splits[r], finals[r], evals[r], float(eta[r]),
                       seconds / len(seeds)) for r in range(len(seeds))]
    return finish_runs(net, seeds, records, seconds, device)


def _record(config: Config, history: list[dict], n_classes: int, train_classes: Tensor, test_classes: Tensor,
            final: np.ndarray, eval_correct: np.ndarray, eta: float, seconds: float) -> dict:
    points = [i for i, h in enumerate(history) if "heldout" in h]
    return {
        "train_classes_count": len(train_classes),
        "test_classes": test_classes.tolist(),
        "n_classes": n_classes,
        "curve": {
            "episodes": [i * config.batch for i in points] + [config.episodes],
            "heldout": [history[i]["heldout"] for i in points] + [float(final.mean())],
        },
        # training loss and accuracy, averaged over blocks of `eval_every` updates
        "loss": _block_means([h["loss"] for h in history], config.eval_every),
        "train_accuracy": _block_means([h["accuracy"] for h in history], config.eval_every),
        "eta": eta,
        "eval_correct": eval_correct.tolist(),
        "seconds": seconds,
        "seconds_per_update": seconds / max(1, len(history)),
    }


def _block_means(values: list[float], block: int) -> list[float]:
    return [float(np.mean(values[i:i + block])) for i in range(0, len(values), block)]


def load_images(root: Path | None = None) -> tuple[Tensor, list[str]]:
    """All 1,623 Omniglot characters (n_classes, 20, 31, 31), ink = 1, from ``make data`` (default
    folder: ``data_dir()``), and their names; read once per process, then the same tensor every call."""
    return DataRef(_read_images, (folder_key(root or data_dir()),)).load()


def images_ref(root: Path | None = None) -> DataRef:
    """What a training task carries instead of the images: it loads them (:func:`load_images`) where it runs."""
    return DataRef(_images, (folder_key(root or data_dir()),))


def _read_images(root: str) -> tuple[Tensor, list[str]]:
    images, names = load_omniglot(Path(root), size=31)
    return torch.from_numpy(images), names


def _images(root: str) -> Tensor:
    return DataRef(_read_images, (root,)).load()[0]  # the tensor load_images(root) returns


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


# Sweeps (plasticity_utils.sweep): what a sweep trains, how it names runs, what it tabulates.
METRIC = "held-out accuracy at the end of training (the curve's last point)"


def trainer(config: Config, device: str | None = None, *, images: Tensor | DataRef | None = None,
            progress: bool = False) -> functools.partial:
    """A picklable ``train(seeds, checkpoint)`` for one config (:func:`train_seeds`): the device is picked and
    the images (default: the full set, :func:`images_ref`) are loaded where it runs (a Dask worker)."""
    return trainer_of(train_seeds, config, device, images=images_ref() if images is None else images,
                      progress=progress)


def tag(variant: str) -> str:
    return ""  # one variant: runs are named seed<k>-<digest>


def metric(record: dict) -> float:
    return float(record["curve"]["heldout"][-1])


def check_split(record: dict, config: Config, n_classes: int) -> None:
    """A stored run's held-out classes must be the ones its seed held out of this dataset."""
    expected = class_split(n_classes, config.task.n_test_classes, record["seed"])[1].tolist()
    if record["n_classes"] != n_classes or record["test_classes"] != expected:
        raise ValueError(f"stored run seed {record['seed']} was trained on another class split "
                         f"({record['n_classes']} classes); retrain with force=True")


def class_sets(record: dict) -> dict[str, Tensor]:
    """The classes a trained model is scored on: its own held-out classes, its training classes, and the
    classes the released test script scores every model on (the last ``n_test`` of a seed-0 shuffle,
    :data:`RELEASED_SPLIT_SEED`), which are held out only for the seed-0 model."""
    n, held_out = record["n_classes"], torch.tensor(record["test_classes"])
    training = torch.tensor(sorted(set(range(n)) - set(record["test_classes"])))
    released = class_split(n, len(held_out), RELEASED_SPLIT_SEED)[1]
    return {"held-out": held_out, "training": training, "released protocol": released}


def leak(record: dict) -> float:
    """Fraction of the released protocol's scored classes that were training classes of this model."""
    scored = class_sets(record)["released protocol"].tolist()
    return float(np.mean([c not in set(record["test_classes"]) for c in scored]))


def load_net(record: dict, params: dict[str, Tensor], images: Tensor,
             device: torch.device) -> tuple[Runs, OmniglotTask]:
    """A stored run's network (evaluation mode, as a run axis of one) and task, after checking ``images`` is
    its dataset."""
    if record["n_classes"] != len(images):
        raise ValueError(f"run was trained on {record['n_classes']} classes, images hold {len(images)}")
    config = Config(**{**record["config"], "task": OmniglotTask(**record["config"]["task"])})
    net = build(config).to(device)
    net.load_state_dict(params)
    return Runs([net]).eval(), config.task


def score(record: dict, params: dict[str, Tensor], images: Tensor, episodes: int,
          device: torch.device) -> dict[str, list[int]]:
    """Correct (1) or wrong (0) on ``episodes`` episodes from each of :func:`class_sets`, no gradient. Each
    set has its own sampler, fixed by the seed, so scores do not depend on the order or on other sets."""
    net, task = load_net(record, params, images, device)
    return {name: evaluate(net, images, [classes], task, episodes, [score_generator(record["seed"], k)],
                           device)[0].tolist()
            for k, (name, classes) in enumerate(class_sets(record).items())}


def evaluate_stored(record: dict, params: dict[str, Tensor], images: Tensor, episodes: int, seed: int,
                    device: str | None = None) -> np.ndarray:
    """Re-evaluate a stored run on exactly its own held-out classes (``record["test_classes"]``)."""
    dev = pick_device(device)
    net, task = load_net(record, params, images, dev)
    classes = torch.tensor(record["test_classes"])
    return evaluate(net, images, [classes], task, episodes, [torch.Generator().manual_seed(seed)], dev)[0]


def pooled_interval(scores: dict, level: float = SIGNIFICANCE) -> tuple[float, float]:
    """The Wilson interval (low, high) at the two-sided ``level`` of a class set's pooled accuracy
    (``summary(result)[name]``)."""
    n = scores["n_episodes"]
    return wilson_interval(round(scores["accuracy"] * n), n, z_of(level))


def summary(result: Result) -> dict:
    """Per class set: the accuracy pooled over seeds with its 95% Wilson interval, and per seed; the budget."""
    records, scores = result.runs["plastic"], result.extra["scores"]
    config = records[0]["config"]
    out = {"seeds": len(records), "chance": 1 / config["task"]["n_way"], "eval_episodes": result.extra["eval_episodes"],
           "train_episodes": config["updates"] * config["batch"], "batch": config["batch"],
           "updates": config["updates"], "lr": config["lr"],
           "seconds_per_update": float(np.mean([r["seconds_per_update"] for r in records])),
           "train_minutes": float(sum(r["seconds"] for r in records)) / 60,
           "leak": [leak(r) for r in records]}
    out["seconds_per_episode"] = out["seconds_per_update"] / config["batch"]
    for name in CLASS_SETS:
        correct = np.concatenate([scores[r["seed"]][name] for r in records])
        k, n = int(correct.sum()), len(correct)
        lo, hi = wilson_interval(k, n)
        out[name] = {"accuracy": k / n, "low": lo, "high": hi, "n_episodes": n,
                     "per_seed": [float(np.mean(scores[r["seed"]][name])) for r in records]}
    return out


def curves(records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Held-out learning curves: training episodes (points,) and accuracy (seeds, points)."""
    return np.array(records[0]["curve"]["episodes"]), np.array([r["curve"]["heldout"] for r in records])


def budget(s: dict) -> str:
    """The training behind a :func:`summary`, in words."""
    return (f"{s['seeds']} seeds x {s['train_episodes']:,} episodes ({s['updates']:,} updates of {s['batch']} "
            f"episodes, Adam {s['lr']:.2g}), {1e3 * s['seconds_per_episode']:.1f} ms/episode; "
            f"scored on {s['eval_episodes']:,} episodes per seed and class set")


def _pct(a: dict) -> str:
    return f"{100 * a['accuracy']:.1f}% [{100 * a['low']:.1f}, {100 * a['high']:.1f}]"


def heldout_verdict(accuracy: float, high: float, chance: float, low: float, episodes: int,
                    level: float = SIGNIFICANCE) -> str:
    """The paper's 98.3 ± 0.8%: reproduced if our interval (``low``, ``high``: Wilson at the two-sided
    ``level``, 95% for 0.05) reaches its lower end; otherwise the budget rule (:func:`.contract.missed`): not
    reached within our budget when we trained fewer episodes than the paper, not reproduced when we trained as
    many."""
    paper, spread = PAPER_ACCURACY
    if 100 * high >= paper - spread:
        return verdict("reproduced", f"our {1 - level:.1%} interval reaches the paper's {paper} ± {spread}%")
    gap = f"{paper - 100 * accuracy:.1f} points short"
    if low <= chance:
        gap += f", no learning measurable (the interval includes chance, {100 * chance:.0f}%)"
    return missed(gap, episodes, PAPER_EPISODES, unit="training episodes per seed")


def generalisation_verdict(heldout: list[float], training: list[float], *, episodes: int, left_out: int = 0,
                           level: float = SIGNIFICANCE) -> str:
    """Held-out vs training classes, paired by seed (mean difference and its 95% interval over seeds):
    a significant shortfall on held-out classes means a score on training classes (the released test
    script's, for 9 of its 10 models) overstates the held-out accuracy. No shortfall detected is
    *reproduced* only after the paper's ``episodes``; before them it is *partly reproduced*: no gap
    detected at this budget, which says nothing of a gap smaller than the interval or one that opens
    later. ``left_out``: failed seeds not among those given (see :func:`failed_seeds`); ``level``: the
    two-sided significance level of the comparison."""
    apart = f" ({left_out} failed seed{'s' * (left_out > 1)} left out)" if left_out else ""
    if len(heldout) < MIN_SEEDS:
        return missed(f"no interval over seeds{apart}", len(heldout), MIN_SEEDS, unit="seeds", of="the")
    diff = paired_difference(np.array(heldout), np.array(training))
    d = f"held-out minus training {100 * diff[0]:+.1f} ± {100 * diff[1]:.1f} points over {len(heldout)} seeds{apart}"
    if compare(diff, level) == "lower":
        return verdict("not reproduced", f"{d}: a score on training classes, as the released test script's for 9 "
                                         "of its 10 models, overstates the held-out accuracy")
    if episodes >= PAPER_EPISODES:
        return verdict("reproduced", f"no gap detected: {d}")
    return verdict("partly reproduced", f"no gap detected at this budget: {d}; a gap within the interval, or one "
                                        f"that opens later, is not excluded (the paper: {PAPER_EPISODES:,} episodes "
                                        f"per seed, ours {episodes:,})")


def failed_seeds(records: list[dict], heldout: list[float], chance: float, margin: float = FAILED_MARGIN) -> list[dict]:
    """The seeds whose held-out accuracy (``heldout``, in the order of ``records``) is below ``chance +
    margin``, each with what its record shows about why: a learned eta below zero, a held-out learning
    curve that never left that band."""
    out = []
    for r, a in zip(records, heldout):
        if a >= chance + margin:
            continue
        why = []
        if r["eta"] < 0:
            why.append(f"learned eta ended below zero ({r['eta']:.3f})")
        curve = r["curve"]["heldout"]
        if max(curve) < chance + margin:
            why.append(f"held-out curve flat: never above {100 * max(curve):.0f}% in {len(curve)} points")
        out.append({"seed": r["seed"], "accuracy": a, "why": "; ".join(why) or "no cause in the record"})
    return out


def spread(values: list[float]) -> str:
    """Per-seed accuracies in words: mean, sd, min, max (%)."""
    v = 100 * np.array(values)
    sd = f"sd {v.std(ddof=1):.1f}, " if len(v) > 1 else ""
    return f"per seed: mean {v.mean():.1f}%, {sd}min {v.min():.1f}%, max {v.max():.1f}%"


def _failed_words(failed: list[dict], chance: float, others: list[float]) -> str:
    cut = f"held-out < chance + {100 * FAILED_MARGIN:.0f} points = {100 * (chance + FAILED_MARGIN):.0f}%"
    if not failed:
        return f"no failed seed ({cut})"
    listed = "; ".join(f"seed {f['seed']} ({100 * f['accuracy']:.1f}%: {f['why']})" for f in failed)
    rest = f"; the other {len(others)}: {spread(others)}" if others else ""
    return f"failed seeds ({cut}): {listed}{rest}"


def median_verdict(per_seed: list[float], episodes: int, tolerance: float = MEDIAN_TOLERANCE) -> str:
    """The summary's median over runs, 98.5%: reproduced when our median over every seed (failed ones
    included, as a median over the paper's runs would) is at most ``tolerance`` points below it; otherwise
    the budget rule (:func:`.contract.missed`) on the training episodes per seed."""
    median = 100 * float(np.median(per_seed))
    where = f"median {median:.1f}% over {len(per_seed)} seeds"
    if median >= PAPER_MEDIAN - tolerance:
        return verdict("reproduced", f"{where}, at least {PAPER_MEDIAN} - {tolerance:g} points")
    return missed(f"{where}, {PAPER_MEDIAN - median:.1f} points below {PAPER_MEDIAN}%", episodes, PAPER_EPISODES,
                  unit="training episodes per seed")


def table_verdict(low: float, high: float, episodes: int, similar: float = SIMILAR) -> str:
    """The summary's place in Table 1: largely similar to MAML and Matching Networks (our interval, ``low`` to
    ``high`` as fractions, reaches within ``similar`` points of the lower of their published numbers) and not
    above SNAIL (our interval's low end at most SNAIL's number). The published numbers were measured under each
    method's own protocol and budget: this places our accuracy among them; it does not rank the methods."""
    published = {m: float(a.split()[0]) for m, a in PUBLISHED.items()}  # "98.7 ± 0.4" -> 98.7
    nearest = min(SIMILAR_TO, key=published.get)
    floor, ceiling = published[nearest] - similar, published[ABOVE_US]
    ours = f"our interval {100 * low:.1f}-{100 * high:.1f}%"
    if 100 * high >= floor and 100 * low <= ceiling:
        return verdict("reproduced", f"{ours} reaches {floor:.2f}% ({nearest}' {published[nearest]:g} - {similar:g}) "
                                     f"and is not above {ABOVE_US}'s {ceiling:g}%")
    if 100 * low > ceiling:
        return verdict("not reproduced", f"{ours} is above {ABOVE_US}'s {ceiling:g}%")
    others = set(PUBLISHED) - {*SIMILAR_TO, ABOVE_US, "Differentiable plasticity (paper)"}
    below = [m for m in PUBLISHED if m in others and 100 * high < published[m]]
    return missed(f"{ours} is below {floor:.2f}%" + (f" (and below {', '.join(below)})" if below else ""),
                  episodes, PAPER_EPISODES, unit="training episodes per seed")


def protocol_verdict(leaks: list[float]) -> str:
    """Is the released test protocol, applied to our models, a held-out score? Only if no scored class
    was a training class of any model."""
    leaky = [f for f in leaks if f > 0]
    if not leaky:
        return verdict("reproduced", "every model's scored classes were its held-out classes")
    return verdict("not reproduced", f"for {len(leaky)} of our {len(leaks)} models {100 * np.mean(leaky):.0f}% "
                                     "(mean) of the classes the released protocol scores were training classes; "
                                     "the paper's 98.3%, from that protocol, is not a held-out figure")


def _leak_words(leaks: list[float]) -> str:
    leaky = [f for f in leaks if f > 0]
    if not leaky:
        return "none of them was a training class of any model"
    return (f"for {len(leaky)} of the {len(leaks)} models {100 * np.mean(leaky):.0f}% of them (mean) were training "
            f"classes, for the other {len(leaks) - len(leaky)} none")


def claims(result: Result) -> list[Claim]:
    """Held-out accuracy against the paper's (pooled over every seed, as the paper pools its runs, with
    the spread over seeds and the failed seeds listed apart); held-out against training classes over the
    seeds that learned (its failed-seed cut-off checked at half and twice :data:`FAILED_MARGIN`); the
    released protocol."""
    s = summary(result)
    records = result.runs["plastic"]
    held, train_, rel = (s[name] for name in CLASS_SETS)
    b, chance = budget(s), s["chance"]
    failed = failed_seeds(records, held["per_seed"], chance)
    gone = {f["seed"] for f in failed}
    others = [a for r, a in zip(records, held["per_seed"]) if r["seed"] not in gone]

    def judge_heldout(level: float) -> str:
        low, high = pooled_interval(held, level)
        return heldout_verdict(held["accuracy"], high, chance, low, s["train_episodes"], level)

    def judge(margin: float, level: float) -> str:
        out = {f["seed"] for f in failed_seeds(records, held["per_seed"], chance, margin)}
        keep = [i for i, r in enumerate(records) if r["seed"] not in out]
        return generalisation_verdict([held["per_seed"][i] for i in keep], [train_["per_seed"][i] for i in keep],
                                      episodes=s["train_episodes"], left_out=len(out), level=level)

    return [
        Claim("Omniglot 5-way 1-shot accuracy on held-out classes", str(PAPER), str(RELEASED),
              f"{_pct(held)} (95% Wilson, {held['n_episodes']:,} episodes pooled over {s['seeds']} seeds); "
              f"{spread(held['per_seed'])}; {_failed_words(failed, chance, others)}", b,
              sensitive(judge_heldout, {"significance level": SIGNIFICANCE})),
        Claim("Omniglot: accuracy on held-out classes is not below accuracy on training classes",
              f"implied: the summary's table sets 98.03 ± 0.80 beside methods scored on classes never trained on "
              f"({SUMMARY})", str(RELEASED),
              f"held-out {_pct(held)}, training {_pct(train_)}; paired by seed over the seeds that learned "
              f"({len(others)} of {s['seeds']})", b,
              sensitive(judge, {"failed: held-out < chance +": FAILED_MARGIN, "significance level": SIGNIFICANCE})),
        Claim("Omniglot: the reported accuracy is measured on each model's held-out classes",
              str(PAPER), str(RELEASED),
              f"our models scored as the released script does (seed 0's last 100 classes): {_pct(rel)}; "
              f"{_leak_words(s['leak'])}", b,
              protocol_verdict(s["leak"])),
        Claim("Omniglot: median held-out accuracy over the runs", f"{PAPER_MEDIAN_QUOTE} ({SUMMARY})", "",
              f"median {100 * float(np.median(held['per_seed'])):.1f}% over {s['seeds']} seeds beside the pooled "
              f"{100 * held['accuracy']:.1f}%; {spread(held['per_seed'])}", b,
              sensitive(lambda t: median_verdict(held["per_seed"], s["train_episodes"], t),
                        {"points below 98.5% allowed": MEDIAN_TOLERANCE})),
        Claim("Omniglot: beside Table 1's other methods, similar to MAML and Matching Networks, below SNAIL",
              f"{TABLE_QUOTE} ({SUMMARY})", "",
              f"held-out {_pct(held)}; what our budget can say: where our models stand among the published numbers "
              f"after {s['train_episodes']:,} of the paper's {PAPER_EPISODES:,} episodes; what it cannot: a ranking "
              f"of the methods (their numbers are published, not run here)", b,
              sensitive(lambda t: table_verdict(held["low"], held["high"], s["train_episodes"], t),
                        {"'largely similar' = points below 98.1%": SIMILAR})),
    ]


def comparison_table(s: dict) -> pd.DataFrame:
    """Published 5-way 1-shot accuracies (labelled as such) and our measured rows."""

    rows = [{"method": m, "accuracy (%)": a, "source": "published"} for m, a in PUBLISHED.items()]
    for name in CLASS_SETS:
        a = s[name]
        rows.append({"method": f"Differentiable plasticity (ours), {name} classes",
                     "accuracy (%)": f"{100 * a['accuracy']:.1f} [{100 * a['low']:.1f}, {100 * a['high']:.1f}]",
                     "source": f"measured: {budget(s)}; 95% Wilson interval"})
    return pd.DataFrame(rows)


def figures(result: Result) -> dict[str, Path]:
    """Left: held-out learning curve (and the training batches' accuracy); right: final accuracy on the
    three class sets with 95% intervals, beside the paper's number. Also the comparison table."""
    records, s = result.runs["plastic"], summary(result)
    folder = figures_dir(result.profile)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 3.9), gridspec_kw={"width_ratios": [1.6, 1]})
    episodes, heldout = curves(records)
    band(ax, episodes, 100 * heldout, label=f"held-out classes: mean, min-max over {len(records)} seeds")
    config = records[0]["config"]
    block = config["eval_every"] * config["batch"]
    train_acc = np.array([r["train_accuracy"] for r in records]).mean(0)
    ax.plot((np.arange(len(train_acc)) + 0.5) * block, 100 * train_acc, lw=1, ls="--",
            label="training batches (mean over seeds)")
    ax.axhline(100 * s["chance"], color="gray", lw=0.8, ls=":", label="chance")
    ax.axhline(PAPER_ACCURACY[0], color="k", lw=0.8, ls="-.", label="paper, after 5M episodes")
    ax.set(xlabel="training episodes per seed", ylabel="accuracy (%)", ylim=(0, 100),
           title="learning curve")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    for i, name in enumerate(CLASS_SETS):
        a = s[name]
        mid = 100 * a["accuracy"]
        bx.errorbar([i], [mid], yerr=[[mid - 100 * a["low"]], [100 * a["high"] - mid]], fmt="o", capsize=4)
        bx.scatter(np.full(len(records), i + 0.18), 100 * np.array(a["per_seed"]), s=8, color="gray")
    bx.axhline(PAPER_ACCURACY[0], color="k", lw=0.8, ls="-.")
    bx.set_xticks(range(len(CLASS_SETS)), ["held-out", "training", "released\nprotocol"])
    bx.set(ylabel="accuracy (%)", xlim=(-0.5, len(CLASS_SETS) - 0.4), ylim=(0, 100),
           title=f"after training, {s['eval_episodes']} episodes per seed\nand class set (95% Wilson; dots: seeds)")
    fig.suptitle("Omniglot 5-way 1-shot with a plastic output layer", y=1.04)
    report.save_table(comparison_table(s), "omniglot_comparison", folder)
    return {"accuracy": save(fig, "omniglot_heldout_curve", folder), "table": folder / "omniglot_comparison.md"}


__all__ = ["Config", "PROFILES", "CLASS_SETS", "PAPER", "RELEASED", "PUBLISHED", "OmniglotNet", "build",
           "episode_loss", "evaluate", "train_seeds", "trainer", "run", "claims", "figures", "summary", "class_sets",
           "leak", "score",
           "heldout_verdict", "generalisation_verdict", "protocol_verdict", "failed_seeds", "spread", "FAILED_MARGIN"]
