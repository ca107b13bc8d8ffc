"""Omniglot 5-way 1-shot episodes (ICML 2018 §4.3).

The 1,623 characters are split once per run, with the run's seed, into training classes and 100
held-out classes (:func:`class_split`). An episode draws ``n_way`` distinct classes from one side of
the split and gives each a random rotation of 0/90/180/270 degrees, applied to every image of that
class in the episode. It has ``n_way + 1`` steps: one labelled image per class, in random order,
then an unlabelled test image of one of the classes, drawn by another drawer than its labelled one.
The label of class slot ``k`` is the one-hot vector ``e_k``; the test step carries no label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..validation import check, label


@dataclass(frozen=True)
class OmniglotTask:
    n_way: int = 5
    n_test_classes: int = 100  # held out: the paper's 1,523 / 100 split of 1,623 characters
    rotate: bool = True

    def __post_init__(self) -> None:
        check(self, counts=("n_way", "n_test_classes"), flags=("rotate",))
        if self.n_way < 2:
            raise ValueError(f"{label(self)}: n_way must be >= 2, got {self.n_way}")
        if self.n_test_classes < self.n_way:
            raise ValueError(f"{label(self)}: n_test_classes must be >= n_way={self.n_way}, got {self.n_test_classes}")

    @property
    def steps(self) -> int:
        """``n_way`` labelled steps and one test step."""
        return self.n_way + 1


class Episode(NamedTuple):
    """A batch of episodes. ``images``: (B, steps, H, W); ``labels``: (B, steps, n_way), one-hot on the
    labelled steps and zero on the test step; ``target``: (B,) the test image's label.
    Bookkeeping (for tests and plots): ``classes`` (B, n_way) dataset class of each label,
    ``slots`` (B, steps) label shown (or, at the test step, to be found) at each step,
    ``drawers`` (B, steps) drawer of each image, ``rotations`` (B, n_way) quarter turns per class."""

    images: Tensor
    labels: Tensor
    target: Tensor
    classes: Tensor
    slots: Tensor
    drawers: Tensor
    rotations: Tensor


def class_split(n_classes: int, n_test: int, seed: int) -> tuple[Tensor, Tensor]:
    """Shuffle the classes with ``seed``; the last ``n_test`` are held out. Returns the sorted
    (training, held-out) class indices. Depends only on ``n_classes``, ``n_test`` and ``seed``."""
    if not 0 < n_test < n_classes:
        raise ValueError(f"need 0 < n_test < n_classes, got n_test={n_test}, n_classes={n_classes}")
    perm = torch.randperm(n_classes, generator=torch.Generator().manual_seed(seed))
    return perm[:-n_test].sort().values, perm[-n_test:].sort().values


def omniglot_episode(
    images: Tensor, classes: Tensor, task: OmniglotTask, batch: int, generator: torch.Generator
) -> Episode:
    """``batch`` independent episodes drawn from ``images`` (n_classes, drawers, H, W), using only the
    class indices in ``classes`` (one side of :func:`class_split`)."""
    if images.dim() != 4:
        raise ValueError(f"images must be (classes, drawers, H, W), got {tuple(images.shape)}")
    n_way, drawers = task.n_way, images.shape[1]
    if len(classes) < n_way or drawers < 2:
        raise ValueError(f"need >= {n_way} classes and >= 2 drawers, got {len(classes)} and {drawers}")
    rows = torch.arange(batch).unsqueeze(1)
    # n_way distinct classes per episode; label k <-> classes[:, k]
    chosen = classes[torch.rand(batch, len(classes), generator=generator).argsort(1)[:, :n_way]]
    # labelled steps show each label once in random order; the test step shows label `target`
    order = torch.rand(batch, n_way, generator=generator).argsort(1)
    target = torch.randint(n_way, (batch,), generator=generator)
    slots = torch.cat([order, target.unsqueeze(1)], 1)
    labelled = torch.randint(drawers, (batch, n_way), generator=generator)
    other = (labelled[rows[:, 0], target] + torch.randint(1, drawers, (batch,), generator=generator)) % drawers
    drawer = torch.cat([labelled[rows, order], other.unsqueeze(1)], 1)
    pictures = images[chosen[rows, slots], drawer]  # (B, steps, H, W)
    if task.rotate:
        rotations = torch.randint(4, (batch, n_way), generator=generator)
        turns = rotations[rows, slots]
        every = torch.stack([torch.rot90(pictures, k, dims=(-2, -1)) for k in range(4)])
        pictures = every[turns, rows, torch.arange(task.steps)]
    else:
        rotations = torch.zeros(batch, n_way, dtype=torch.long)
    labels = torch.zeros(batch, task.steps, n_way)
    labels[:, :n_way] = torch.nn.functional.one_hot(order, n_way).float()
    return Episode(pictures, labels, target, chosen, slots, drawer, rotations)
