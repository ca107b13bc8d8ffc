"""Intervals and comparisons shared by the experiments' verdicts."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

# The two-sided level of every significance test and interval behind a verdict: the conventional 5%, fixed
# before the runs it judges. Each verdict that depends on it is also computed at half and twice this level
# (0.025 and 0.1; :func:`plasticity_utils.experiments.contract.sensitive`).
SIGNIFICANCE = 0.05


def z_of(level: float) -> float:
    """The normal quantile of a two-sided ``level``: 1.96 for 0.05."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return NormalDist().inv_cdf(1 - level / 2)


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


def compare(diff: tuple[float, float], level: float = SIGNIFICANCE) -> str:
    """Read a paired difference a - b (mean, 95% half-width, as :func:`paired_difference` gives it):
    ``"lower"`` if a is significantly lower than b at the two-sided ``level``, ``"higher"`` if
    significantly higher, else ``"not different"``. At another level than 0.05 the normal interval's
    half-width is rescaled by ``z_of(level) / 1.96``."""
    mean, half = diff
    half = half * z_of(level) / 1.96
    return "lower" if mean + half < 0 else "higher" if mean - half > 0 else "not different"
