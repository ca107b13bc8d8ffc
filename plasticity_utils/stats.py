"""Intervals and comparisons shared by the experiments' verdicts."""

from __future__ import annotations

import math

import numpy as np


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95% for z = 1.96) of a binomial proportion ``correct / n``."""
    if n < 1:
        raise ValueError("need at least one trial")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of ``a - b`` over pairs (episodes, or seeds) and the half-width of its 95% normal interval."""
    d = np.asarray(a, float) - np.asarray(b, float)
    half = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("inf")
    return float(d.mean()), float(half)


def compare(diff: tuple[float, float]) -> str:
    """Read a paired difference a - b (mean, 95% half-width): ``"lower"`` if a is significantly
    lower than b, ``"higher"`` if significantly higher, else ``"not different"``."""
    mean, half = diff
    return "lower" if mean + half < 0 else "higher" if mean - half > 0 else "not different"
