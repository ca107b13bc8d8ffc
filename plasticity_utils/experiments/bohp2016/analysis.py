"""Measures on trained runs: which runs learned, and the sign of their pattern -> hidden plasticity.

The paper (§4.3-4.4) reports that all reversal networks, and some one-shot networks, have negative
plasticity coefficients on the connections from the pattern inputs to the hidden units. Two readings
are measured here:

* per unit (the primary one): a hidden unit is *strongly plastic* when the mean alpha over its 8
  pattern inputs exceeds :data:`STRONG` in magnitude; over the runs that learned, strongly plastic
  units are counted negative vs positive, with the runs that have at least one strongly negative unit;
* per run (strict): a run is *negative* when every hidden unit's mean pattern alpha is negative.

Both readings count the runs that learned only: a run that failed (often with every unit positive) has
no learned solution whose sign could be read, so it is counted apart.

The cut-offs, each checked at half and twice its value by the verdicts (:func:`..contract.sensitive`):
"""

from __future__ import annotations

import numpy as np

from ...tasks.bohp2016 import LabelTask
from .optim import describe
from .runs import Variant
from .variants import TASKS

# A run has learned when it misses fewer than 5% of the scored steps of the frozen episodes: one wrong label in
# 20 where chance misses half; the paper's Fig. 2a-3a show errors near 0 without a number.
SOLVED = 0.05
# A task is learned reliably when at most a quarter of its runs fail (5 of 20): the paper's figures show a
# narrow interquartile range, which a quarter of failed runs would still leave near 0 at its upper end.
# The verdicts vary the tolerated share of failures (0.125-0.5), not RELIABLE itself (twice 0.75 exceeds 1).
FAILURES_TOLERATED = 0.25
RELIABLE = 1 - FAILURES_TOLERATED
# A hidden unit is strongly plastic when |mean alpha over its pattern inputs| > STRONG: 1 is ten times the scale
# alpha starts at (init_scale 0.1), so a unit past it was made plastic by training; the value was chosen after
# the first runs, hence checked at 0.5 and 2.
STRONG = 1.0


def success(runs: Variant, threshold: float = SOLVED) -> np.ndarray:
    """(runs,) bool: runs whose miss rate on the frozen episodes (scored steps) is below ``threshold``."""
    return runs.final_miss < threshold


def pattern_alpha(runs: Variant) -> np.ndarray:
    """(runs, n_bits, n_hidden): plasticity coefficients of the pattern -> hidden connections."""
    task = TASKS[runs.config.task]
    return np.asarray(runs.params["alpha"][:, : task.n_bits])


def unit_signs(runs: Variant) -> np.ndarray:
    """(runs, n_hidden): mean plasticity coefficient of each hidden unit's pattern inputs."""
    return pattern_alpha(runs).mean(1)


def unit_counts(units: np.ndarray, learned: np.ndarray, strong: float = STRONG) -> dict[str, int]:
    """Per-unit sign counts from each unit's mean pattern alpha ``units`` (runs, n_hidden) and the
    runs' ``learned`` mask (runs,): over the learned runs, the strongly plastic units (``|mean| >
    strong``) that are negative / positive and the runs with at least one of each; over all runs, the
    runs whose units are all positive and how many of those learned."""
    units, learned = np.asarray(units, dtype=float), np.asarray(learned, dtype=bool)
    neg, pos = units < -strong, units > strong
    all_positive = (units > 0).all(1)
    return {
        "runs": len(units),
        "learned": int(learned.sum()),
        "negative_units": int(neg[learned].sum()),
        "positive_units": int(pos[learned].sum()),
        "learned_with_negative": int(neg[learned].any(1).sum()),
        "learned_with_positive": int(pos[learned].any(1).sum()),
        "all_positive_runs": int(all_positive.sum()),
        "all_positive_learned": int((all_positive & learned).sum()),
    }


def sign_counts(runs: Variant, strong: float = STRONG) -> dict[str, int]:
    """:func:`unit_counts` of a variant's trained runs."""
    return unit_counts(unit_signs(runs), success(runs), strong)


def sign_stats(runs: Variant, learned_only: bool = False) -> dict[str, float]:
    """The strict per-run reading: a run counts as *negative* when the pattern inputs of every hidden
    unit have a negative mean alpha (the paper, preprocessed text: "connections pattern nodes hidden
    nodes negative plasticity coefficients"), *positive* when every unit's mean is positive, *mixed*
    otherwise. ``learned_only``: the shares over the runs that learned (:func:`success`), with the
    runs left out counted apart (``failed``, ``failed_all_positive``)."""
    units = unit_signs(runs)
    a = pattern_alpha(runs)
    extra = {}
    if learned_only:
        ok = success(runs)
        extra = {"failed": int((~ok).sum()), "failed_all_positive": int(((units > 0).all(1) & ~ok).sum())}
        units, a = units[ok], a[ok]
    if not len(units):
        return {"runs": 0, **extra}
    return {
        **extra,
        "runs": len(units),
        "share_runs_negative": float((units < 0).all(1).mean()),
        "share_runs_mixed": float(((units < 0).any(1) & (units > 0).any(1)).mean()),
        "share_runs_positive": float((units > 0).all(1).mean()),
        "share_runs_all_16_negative": float((a < 0).all((1, 2)).mean()),
        "share_connections_negative": float((a < 0).mean()),
    }


def after_reversal_miss(runs: Variant) -> np.ndarray:
    """(runs,): miss rate on the scored steps after the swap (reversal tasks only)."""
    task = TASKS[runs.config.task]
    if not isinstance(task, LabelTask) or task.reversal_at is None:
        raise ValueError(f"{runs.name} has no reversal")
    later = runs.scored.copy()
    later[: task.reversal_at] = False
    return runs.step_miss[:, later].mean(1)


def median_run(runs: Variant) -> int:
    """Index of the run with the median final error (the 'typical' network)."""
    order = np.argsort(runs.final_error)
    return int(order[len(order) // 2])


def iqr(values: np.ndarray) -> str:
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return f"{q2:.3g} [{q1:.3g}, {q3:.3g}]"


def budget(runs: Variant) -> str:
    c = runs.config
    return f"{len(runs.seeds)} runs x {c.episodes:,} episodes (last {c.frozen} frozen), {describe(c)}"
