"""Scoring a trained model after training: its class sets (held-out, training, the released test script's),
the pooled accuracies and their intervals."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from ...batched import Runs
from ...environment import pick_device
from ...stats import SIGNIFICANCE, wilson_interval, z_of
from ...tasks.omniglot import OmniglotTask, class_split
from ..contract import Result
from .config import CLASS_SETS, Config
from .network import build, evaluate, score_generator

RELEASED_SPLIT_SEED = 0  # the shuffle whose last 100 classes the released test script scores, whatever the model


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
