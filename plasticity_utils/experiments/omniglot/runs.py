"""Training: one network per seed on its seed's training classes, each with its held-out learning curve;
the Omniglot images; what a sweep trains and tabulates."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ...batched import Generators, Runs, finish_runs, train_runs
from ...data import DataRef, folder_key, load_omniglot, loaded
from ...environment import data_dir
from ...tasks.omniglot import class_split
from ...training import trainer_of
from .config import Config
from .network import build, episode_loss, eval_generator, evaluate, run_episodes


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
