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

The paper also describes how the trained networks are organised (§4.2-4.3), measured here per run by
:func:`structure` from the fixed weights w and the plasticity coefficients alpha: for completion, each
input's fixed connection to its own output against its fixed connections to the others, and the others'
plasticity against their fixed weights; for one-shot and reversal, the fixed weights from the label bits
against those from the pattern bits, and the plasticity of the pattern connections against that of the
label connections.

The cut-offs, each checked at half and twice its value by the verdicts (:func:`..contract.sensitive`):
"""

from __future__ import annotations

import numpy as np

from typing import Mapping

from ...tasks.bohp2016 import LabelTask
from .optim import describe
from .runs import Variant
from .variants import RETENTIONS, TASKS, retention_variant

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


def input_rows(runs: Variant, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Parameter ``key`` (``"w"`` or ``"alpha"``) of the input -> hidden connections of a label task,
    split by input: the pattern bits' (runs, n_bits, n_hidden) and the label bits' (runs, 2, n_hidden)."""
    task = TASKS[runs.config.task]
    if not isinstance(task, LabelTask):
        raise ValueError(f"{runs.name} has no pattern and label inputs")
    m = np.asarray(runs.params[key])
    return m[:, : task.n_bits], m[:, task.n_bits :]


def pattern_alpha(runs: Variant) -> np.ndarray:
    """(runs, n_bits, n_hidden): plasticity coefficients of the pattern -> hidden connections."""
    return input_rows(runs, "alpha")[0]


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


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b elementwise: inf where only b is 0, nan where both are (no contrast to read)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return a / b


def structure(runs: Variant) -> dict[str, np.ndarray]:
    """The organisation of each trained network (Miconi 2016, §4.2-4.3), each entry (runs,).

    Completion (§4.2: "each input node sends [one] strong, fixed connection [to the] corresponding output
    node, [as well as one] plastic connection [to] every output node"): ``fixed_strong`` / ``fixed_other``,
    the mean |w| of the self-connections (input i -> output i) / of the other connections, and
    ``plastic_strong`` / ``plastic_other``, the mean |alpha| / the mean |w| of the other connections
    (alpha scales a trace that stays within [-1, 1], so alpha is the largest change plasticity makes to a
    connection: plastic rather than fixed when it exceeds w); ``self_alpha``, the self-connections' mean
    |alpha|, and ``other_alpha_positive``, the share of the other connections with alpha > 0 (the paper's
    schema draws them excitatory), are shown, not judged.

    One-shot and reversal (§4.3: the hidden nodes "receive strong, fixed connections [from the] label bits,
    [but] receive strong plastic connections [from the] pattern bit[s]"; §4.4: reversal networks are
    "similar"): ``fixed_strong`` / ``fixed_other``, the mean |w| label -> hidden / pattern -> hidden, and
    ``plastic_strong`` / ``plastic_other``, the mean |alpha| pattern -> hidden / label -> hidden.

    ``fixed`` and ``plastic`` are the two ratios (strong / other)."""
    if isinstance(TASKS[runs.config.task], LabelTask):
        (w_pattern, w_label), (a_pattern, a_label) = (
            (np.abs(m).mean((1, 2)) for m in input_rows(runs, k)) for k in ("w", "alpha"))
        out = {"fixed_strong": w_label, "fixed_other": w_pattern, "plastic_strong": a_pattern, "plastic_other": a_label}
    else:
        w, alpha = (np.asarray(runs.params[k]) for k in ("w", "alpha"))
        own = np.eye(w.shape[1], dtype=bool)
        out = {"fixed_strong": np.abs(w[:, own]).mean(1), "fixed_other": np.abs(w[:, ~own]).mean(1),
               "plastic_strong": np.abs(alpha[:, ~own]).mean(1), "plastic_other": np.abs(w[:, ~own]).mean(1),
               "self_alpha": np.abs(alpha[:, own]).mean(1), "other_alpha_positive": (alpha[:, ~own] > 0).mean(1)}
    return {**out, "fixed": _ratio(out["fixed_strong"], out["fixed_other"]),
            "plastic": _ratio(out["plastic_strong"], out["plastic_other"])}


def after_reversal_miss(runs: Variant) -> np.ndarray:
    """(runs,): miss rate on the scored steps after the swap (reversal tasks only)."""
    task = TASKS[runs.config.task]
    if not isinstance(task, LabelTask) or task.reversal_at is None:
        raise ValueError(f"{runs.name} has no reversal")
    later = runs.scored.copy()
    later[: task.reversal_at] = False
    return runs.step_miss[:, later].mean(1)


def retention_runs(batches: Mapping[str, Variant], task: str) -> dict[float, Variant]:
    """The runs of ``task`` (Adam) at each retention of the sweep present in ``batches``, by retention
    (ascending): the task's own variant at its default, the sweep's variants at the others."""
    names = {r: retention_variant(task, r) for r in RETENTIONS}
    return {r: batches[n] for r, n in names.items() if n in batches}


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
