"""The three episode tasks of Miconi 2016, "Learning to learn with backpropagation of Hebbian plasticity".

Every generator returns an :class:`Episode`: inputs (batch, steps, n_in) in the default float dtype,
per-step targets and a (steps,) mask of the steps that are scored (the rest are ignored by the loss, as
in the paper).

* Pattern completion (§4.2): a random ±1 pattern of ``n_bits``, then the same pattern with a single
  bit kept (all others 0). Target: the full pattern; only step 2 is scored (squared error).
* One-shot learning (§4.3): two random ±1 patterns (differing in at least one bit) alternate,
  pattern A on even steps with label 0, pattern B on odd steps with label 1. The input is the
  pattern followed by two label bits, which hold the one-hot label only during the first
  ``label_steps`` steps and are 0 afterwards. Target: the label; the label steps are not scored.
* Reversal learning (§4.4): as one-shot, but from step ``reversal_at`` the patterns swap (B now on
  even steps with label 0), and the new labels are given again for ``label_steps`` steps.

The label of step t is always ``t % 2``: what changes at the reversal is which pattern it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from ..validation import check, label


class Episode(NamedTuple):
    inputs: Tensor  # (batch, steps, n_in)
    targets: Tensor  # completion: (batch, steps, n_bits) floats; label tasks: (batch, steps) class indices
    scored: Tensor  # (steps,) bool: which steps the loss and the error count


@dataclass(frozen=True)
class CompletionTask:
    """Pattern completion: ``n_bits`` inputs, ``n_bits`` outputs, 2 steps."""

    n_bits: int = 8

    def __post_init__(self) -> None:
        check(self, counts=("n_bits",))

    steps = 2

    @property
    def n_in(self) -> int:
        return self.n_bits

    @property
    def n_out(self) -> int:
        return self.n_bits


@dataclass(frozen=True)
class LabelTask:
    """One-shot (``reversal_at=None``) or reversal learning of two pattern-label associations."""

    n_bits: int = 8
    steps: int = 20
    label_steps: int = 2
    reversal_at: int | None = None

    def __post_init__(self) -> None:
        check(self, counts=("n_bits", "steps", "label_steps") + (() if self.reversal_at is None else ("reversal_at",)))
        if not self.label_steps < self.steps:
            raise ValueError(f"{label(self)}: need 1 <= label_steps < steps, got {self.label_steps}, {self.steps}")
        if self.reversal_at is not None and not self.label_steps <= self.reversal_at <= self.steps - self.label_steps:
            raise ValueError(f"{label(self)}: reversal_at={self.reversal_at} must leave room for both label periods")

    @property
    def n_in(self) -> int:
        return self.n_bits + 2  # pattern bits, then the two label bits

    n_out = 2

    def label_given(self) -> Tensor:
        """(steps,) bool: the steps at which the label bits are shown (and which are not scored)."""
        t = torch.arange(self.steps)
        given = t < self.label_steps
        if self.reversal_at is not None:
            given |= (t >= self.reversal_at) & (t < self.reversal_at + self.label_steps)
        return given

    def pattern_b_shown(self) -> Tensor:
        """(steps,) bool: True where pattern B is shown (odd steps, even steps after the reversal)."""
        t = torch.arange(self.steps)
        odd = t % 2 == 1
        if self.reversal_at is None:
            return odd
        return odd ^ (t >= self.reversal_at)


ONE_SHOT = LabelTask()
REVERSAL = LabelTask(reversal_at=10)


def random_patterns(batch: int, n_bits: int, generator: torch.Generator) -> Tensor:
    """(batch, n_bits) random ±1 patterns, each bit +1 with probability 1/2."""
    return torch.randint(0, 2, (batch, n_bits), generator=generator).to(torch.get_default_dtype()) * 2 - 1


def distinct_pair(batch: int, n_bits: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Two batches of random ±1 patterns; B is redrawn wherever it equals A in every bit."""
    a = random_patterns(batch, n_bits, generator)
    b = random_patterns(batch, n_bits, generator)
    same = (a == b).all(1)
    while same.any():
        b[same] = random_patterns(int(same.sum()), n_bits, generator)
        same = (a == b).all(1)
    return a, b


def completion_episode(task: CompletionTask, batch: int, generator: torch.Generator) -> Episode:
    """Step 1: the full pattern. Step 2: one random bit of it kept, the others 0. Target: the pattern."""
    pattern = random_patterns(batch, task.n_bits, generator)
    kept = torch.randint(task.n_bits, (batch,), generator=generator)
    cue = torch.zeros_like(pattern)
    rows = torch.arange(batch)
    cue[rows, kept] = pattern[rows, kept]
    inputs = torch.stack([pattern, cue], 1)
    targets = pattern.unsqueeze(1).expand(batch, task.steps, task.n_bits).clone()
    return Episode(inputs, targets, torch.tensor([False, True]))


def label_episode(task: LabelTask, batch: int, generator: torch.Generator) -> Episode:
    """Alternating patterns A and B with labels ``t % 2``; label bits shown only while ``label_given``."""
    a, b = distinct_pair(batch, task.n_bits, generator)
    b_shown = task.pattern_b_shown()
    patterns = torch.where(b_shown[None, :, None], b.unsqueeze(1), a.unsqueeze(1))  # (batch, steps, n_bits)
    labels = (torch.arange(task.steps) % 2).expand(batch, task.steps).clone()
    one_hot = torch.nn.functional.one_hot(labels, 2).to(torch.get_default_dtype())
    label_bits = one_hot * task.label_given()[None, :, None]
    inputs = torch.cat([patterns, label_bits], -1)
    return Episode(inputs, labels, ~task.label_given())
