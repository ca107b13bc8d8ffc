"""Binary pattern memorisation episodes (NIPS 2017 workshop Fig. 2; ICML 2018 §4.1).

An episode shows ``n_patterns`` random ±1 patterns (exactly half of each pattern's bits +1),
``cycles`` times, each time in a fresh random order, each pattern for ``show`` steps followed by
``gap`` steps of zero input; then one of the patterns with exactly half its bits zeroed is shown for
``test_show`` steps. The network must output the full pattern at the last step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..validation import check, label


@dataclass(frozen=True)
class PatternTask:
    n_bits: int = 1000
    n_patterns: int = 5
    cycles: int = 2
    show: int = 6
    gap: int = 4
    test_show: int = 6

    def __post_init__(self) -> None:
        check(self, counts=("n_bits", "n_patterns", "cycles", "show", "test_show"), non_negative=("gap",))
        if self.n_bits < 2 or self.n_bits % 2:
            raise ValueError(f"{label(self)}: n_bits must be even and >= 2 (balanced patterns), got {self.n_bits}")

    @property
    def steps(self) -> int:
        return self.cycles * self.n_patterns * (self.show + self.gap) + self.test_show


def balanced_patterns(batch: int, n_patterns: int, n_bits: int, generator: torch.Generator) -> Tensor:
    """(batch, n_patterns, n_bits) patterns of ±1, each with exactly n_bits/2 bits at +1."""
    ranks = torch.rand(batch, n_patterns, n_bits, generator=generator).argsort(-1).argsort(-1)
    return torch.where(ranks < n_bits // 2, 1.0, -1.0)


def presentation_inputs(items: Tensor, cycles: int, show: int, gap: int, test_show: int,
                        generator: torch.Generator) -> tuple[Tensor, int]:
    """The presentation phase shared by the pattern and image tasks: inputs (B, steps, n + 1) that show
    each of ``items`` (B, K, n) ``cycles`` times, each cycle in a fresh random order, each item for
    ``show`` steps followed by ``gap`` zero steps; the last column is the bias input, 1 at every step.
    The final ``test_show`` steps are left zero; returns the inputs and the first of those steps."""
    batch, count, n = items.shape
    rows = torch.arange(batch)
    inputs = torch.zeros(batch, cycles * count * (show + gap) + test_show, n + 1)
    inputs[:, :, -1] = 1.0
    t = 0
    for _ in range(cycles):
        order = torch.rand(batch, count, generator=generator).argsort(1)
        for k in range(count):
            inputs[:, t : t + show, :-1] = items[rows, order[:, k]].unsqueeze(1)
            t += show + gap
    return inputs, t


def pattern_episode(task: PatternTask, batch: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Inputs (batch, steps, n_bits + 1) -- the last column is the bias input, always 1 -- and the
    target (batch, n_bits): the full version of the degraded test pattern."""
    patterns = balanced_patterns(batch, task.n_patterns, task.n_bits, generator)
    rows = torch.arange(batch)
    inputs, t = presentation_inputs(patterns, task.cycles, task.show, task.gap, task.test_show, generator)
    test = torch.randint(task.n_patterns, (batch,), generator=generator)
    target = patterns[rows, test]
    keep = torch.rand(batch, task.n_bits, generator=generator).argsort(-1).argsort(-1) < task.n_bits // 2
    inputs[:, t:, :-1] = (target * keep).unsqueeze(1)
    return inputs, target


def sign_error(output: Tensor, target: Tensor) -> Tensor:
    """Fraction of bits whose output sign differs from the target, per episode (batch,)."""
    return (torch.sign(output) != target).float().mean(-1)
