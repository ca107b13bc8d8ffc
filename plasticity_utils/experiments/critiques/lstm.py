"""Question 3: plasticity in an LSTM, on notebook 02's 50-bit task (see the package's docstring)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...baselines import TASK, BaselineConfig
from ...plotting import band, smooth
from ...stats import compare, paired_difference
from .. import binary_patterns as bp
from ..contract import Claim, Result, missed, sensitive, verdict
from .questions import _LEVEL, LEVEL, NO_BUDGET, QUESTION

HIDDEN = 200  # units of both LSTMs: 4 x the pattern size (the 50 units read out and 150 more)
LSTM_LR = 1e-3  # Adam rate of both LSTMs, chosen on a 1,000-episode pilot of each (seed 0): both learn
MODELS = ("plastic_lstm", "lstm", "plastic_rnn")
LABELS = {"plastic_lstm": f"plastic LSTM, {HIDDEN} units", "lstm": f"LSTM, {HIDDEN} units",
          "plastic_rnn": "plastic RNN, 51 neurons (notebook 02)"}
CONFIGS = {
    "plastic_lstm": BaselineConfig("plastic_lstm", task=TASK, extra=HIDDEN, input_scale=1.0, lr=LSTM_LR),
    "lstm": BaselineConfig("lstm", task=TASK, extra=HIDDEN, input_scale=1.0, lr=LSTM_LR),
    "plastic_rnn": bp.Config(task=TASK, input_scale=20.0, lr=3e-4, eta=0.01, learn_eta=True),
}
FINAL = 1000  # the final error of a run: its mean sign error over its last FINAL episodes


def final_errors(records: list[dict], last: int = FINAL) -> dict[int, float]:
    """Seed -> the run's mean sign error over its last ``last`` episodes (one episode per update)."""
    return {r["seed"]: float(np.mean(r["error"][-last:])) for r in records}


def comparison(a: list[dict], b: list[dict], last: int = FINAL) -> tuple[float, float, int]:
    """``a`` minus ``b``: the final error (:func:`final_errors`) paired by seed (the same seed draws the same
    episodes for every network): mean difference, 95% half-width, number of pairs."""
    fa, fb = final_errors(a, last), final_errors(b, last)
    seeds = sorted(set(fa) & set(fb))
    diff, half = paired_difference(np.array([fa[s] for s in seeds]), np.array([fb[s] for s in seeds]))
    return diff, half, len(seeds)


def better_verdict(diff: tuple[float, float, int], what: str, episodes: int, level: float = LEVEL) -> str:
    """Verdict on "``what``": the first network's final error is lower than the second's, from their paired
    difference (:func:`comparison`) at the two-sided ``level``. Lower: reproduced; higher: not reproduced;
    no significant difference: the budget rule with no budget given (:func:`.contract.missed`: not
    reproduced at our budget, which it names)."""
    mean, half, pairs = diff
    word = compare((mean, half), level)
    how = f"final error difference {mean:+.4f} ± {half:.4f} (95%), {pairs} seeds paired, level {level:g}"
    if word == "lower":
        return verdict("reproduced", f"{what}: {how}")
    if word == "higher":
        return verdict("not reproduced", f"the opposite holds: {how}")
    return missed(f"no significant difference ({how})", episodes, None, no_budget=NO_BUDGET)


def budget(records: list[dict]) -> str:
    episodes = len(records[0]["error"])
    seconds = np.mean([r["seconds"] for r in records]) / episodes
    return f"{len(records)} seeds x {episodes:,} episodes, 1 per update ({1000 * seconds:.1f} ms/episode)"


def table(result: Result) -> pd.DataFrame:
    """One row per 50-bit network: parameters, seeds, episodes, final error (mean and range over seeds), speed."""
    rows = {}
    for name, records in [(n, r) for n, r in result.runs.items() if n in MODELS]:
        final = np.array(list(final_errors(records).values()))
        rows[LABELS[name]] = {"trainable parameters": records[0]["n_params"], "seeds": len(records),
                              "episodes": len(records[0]["error"]),
                              f"final error (last {FINAL:,}), mean": round(float(final.mean()), 4),
                              "min": round(float(final.min()), 4), "max": round(float(final.max()), 4),
                              "ms per episode": round(1000 * np.mean([r["seconds"] for r in records])
                                                      / len(records[0]["error"]), 2)}
    return pd.DataFrame.from_dict(rows, orient="index")


def lstm_claims(result: Result) -> list[Claim]:
    """The plastic LSTM against the LSTM and against the plastic RNN (paired over seeds, checked at half and twice
    the significance level), where both networks of a pair were trained."""
    out, runs = [], result.runs
    pairs = [("plastic_lstm", "lstm", "a plastic component improves the LSTM"),
             ("plastic_lstm", "plastic_rnn", "the plastic LSTM improves on the plastic RNN")]
    for a, b, what in [(a, b, w) for a, b, w in pairs if a in runs and b in runs]:
        episodes = len(runs[a][0]["error"])
        diff = comparison(runs[a], runs[b])
        fa, fb = final_errors(runs[a]), final_errors(runs[b])
        ours = (f"final error (last {FINAL:,} episodes) {np.mean(list(fa.values())):.4f} vs "
                f"{np.mean(list(fb.values())):.4f}; "
                f"{a} - {b} {diff[0]:+.4f} ± {diff[1]:.4f} (95%, {diff[2]} seeds paired)")
        out.append(Claim(f"50-bit task, {what}: {LABELS[a]} vs {LABELS[b]}, final error at equal episodes",
                         str(QUESTION), "not in the released code", ours,
                         f"{budget(runs[a])}; {b}: {budget(runs[b])}",
                         sensitive(lambda level, d=diff, w=what, e=episodes: better_verdict(d, w, e, level),
                                   {_LEVEL: LEVEL})))
    return out


def plot_curves(result: Result, window: int = 100) -> plt.Figure:
    """The three networks' learning curves: trailing ``window``-episode error, band (min-max) over seeds."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, records in [(n, r) for n, r in result.runs.items() if n in MODELS]:
        errors = smooth(np.array([r["error"] for r in records]), window)
        band(ax, np.arange(1, errors.shape[1] + 1), errors, label=f"{LABELS[name]} ({len(records)} seeds)")
    ax.set(xscale="log", yscale="log", xlabel="training episode",
           ylabel=f"error (wrong bits, trailing {window}-episode mean;\nband: min-max over seeds)",
           title="Two 50-bit patterns: a plastic component in an LSTM")
    ax.legend(frameon=False, fontsize=8)
    return fig
