"""Questions the papers leave open, answered as experiments: the "Critiques" that close the ICML 2018 course
summary (002_211b927b97543b95.txt). No paper makes these claims; each question is stated as a claim that our
runs can confirm or refute, with the outcome that answers it either way fixed before the runs.

* **Plasticity in an LSTM** ("Many widely used architectures like LSTMs could be tried along with a plastic
  component"): on the 50-bit task of notebook 02 (2 patterns, 3 steps on, 1 off, one cycle, the test
  pattern for 3 steps), an LSTM of :data:`HIDDEN` units with a plastic hidden-to-candidate connection
  (:class:`~plasticity_utils.baselines.PlasticLSTMBaseline`: ``w + alpha * Hebb``, the decaying Hebbian rule,
  eta learned from 0.01) against the same LSTM without it (``torch.nn.LSTM``) and against the plastic RNN of
  51 neurons (notebook 02's), at equal episodes, the same seeds drawing the same episodes (paired).
  Both LSTMs: inputs as they are (x1, no bias column), read out from their first 50 hidden units, Adam
  :data:`LSTM_LR`, one episode per update; the plastic RNN as in notebook 02 (inputs x20, Adam 3e-4).

The other two questions of the critique (test sets unlike the training set; random-pixel erasure of the
test images) are not run yet: :data:`NOT_RUN` gives each a row that says so.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..baselines import TASK, BaselineConfig
from ..environment import check_seeds, figures_dir, pick_device, results_dir
from ..plotting import band, save, save_table, smooth
from ..stats import SIGNIFICANCE, compare, paired_difference
from ..training import Job, RunStore, fixed_threads
from . import binary_patterns as bp
from .contract import Claim, Profile, Reported, Result, missed, select_profile, sensitive, verdict

EXPERIMENT = "critiques"
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


def _profile(episodes: int, seeds: int, note: str) -> Profile:
    return Profile({name: replace(c, episodes=episodes) for name, c in CONFIGS.items()}, seeds, note)


# Scale is the only thing a profile changes: episodes per seed and seeds (no paper budget: these are questions).
PROFILES = {
    "smoke": _profile(20, 2, "pipeline check only"),
    "cpu": _profile(10_000, 10, "10 seeds x 10,000 episodes of each network, one episode per update"),
    "paper": _profile(10_000, 10, "as cpu: no paper gives a budget for these questions"),
}

QUESTION = Reported("not claimed: a question from the critique ('Many widely used architectures like LSTMs could "
                    "be tried along with a plastic component')", "ICML 2018 course summary, Critiques, "
                                                                 "002_211b927b97543b95.txt")
NOT_RUN = {
    "different test distributions: a plastic network tested on data unlike its training data, against a "
    "non-plastic one": "'how plastic networks will behave if the test sets are completely different from the "
                       "training dataset. Will the performance be the same as non-plastic networks?'",
    "random-pixel erasure of the test images (instead of a contiguous half)": "'The removed pixels of test images "
                                                                              "could have been made more random'",
}
# Cut-offs, fixed before the runs they judge; each verdict is also computed at half and twice them.
FINAL = 1000  # the final error of a run: its mean sign error over its last FINAL episodes
LEVEL = SIGNIFICANCE  # two-sided level of the paired comparison over seeds (0.05)
_LEVEL = "significance level"


def profile_config(profile: str) -> dict[str, tuple[BaselineConfig | bp.Config, list[int]]]:
    """Model name -> (config, seeds) for ``profile``."""
    p = select_profile(PROFILES, profile)
    return {name: (config, p.seeds_for(name)) for name, config in p.configs.items()}


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None) -> Result:
    """Train (or load) every seed of every network of ``profile`` (see the contract), one run per process."""
    table = profile_config(profile)
    seeds = None if seeds is None else check_seeds(seeds)
    jobs = [Job(default if seeds is None else seeds, config, bp.trainer(config, device), f"{name}-")
            for name, (config, default) in table.items()]
    records = RunStore(results_dir(EXPERIMENT, profile)).train(jobs, group=1, force=force)
    return Result(EXPERIMENT, profile, dict(zip(table, records)), str(pick_device(device)))


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
    return missed(f"no significant difference ({how})", episodes, None)


def budget(records: list[dict]) -> str:
    episodes = len(records[0]["error"])
    seconds = np.mean([r["seconds"] for r in records]) / episodes
    return f"{len(records)} seeds x {episodes:,} episodes, 1 per update ({1000 * seconds:.1f} ms/episode)"


def claims(result: Result) -> list[Claim]:
    """The plastic LSTM against the LSTM and against the plastic RNN (paired over seeds, checked at half and twice
    the significance level); one row per question not run yet."""
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
    for what, quote in NOT_RUN.items():
        out.append(Claim(f"critique: {what}", f"not claimed: a question from the critique ({quote})", "",
                         "not run yet", "none", verdict("not reached within our budget", "not run yet: no runs")))
    return out


def table(result: Result) -> pd.DataFrame:
    """One row per network: parameters, seeds, episodes, final error (mean and range over seeds), speed."""
    rows = {}
    for name, records in result.runs.items():
        final = np.array(list(final_errors(records).values()))
        rows[LABELS[name]] = {"trainable parameters": records[0]["n_params"], "seeds": len(records),
                              "episodes": len(records[0]["error"]),
                              f"final error (last {FINAL:,}), mean": round(float(final.mean()), 4),
                              "min": round(float(final.min()), 4), "max": round(float(final.max()), 4),
                              "ms per episode": round(1000 * np.mean([r["seconds"] for r in records])
                                                      / len(records[0]["error"]), 2)}
    return pd.DataFrame.from_dict(rows, orient="index")


def figures(result: Result, window: int = 100) -> dict[str, Path]:
    """The three networks' learning curves (trailing ``window``-episode error, band over seeds), and the table."""
    folder = figures_dir(result.profile)
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, records in result.runs.items():
        errors = smooth(np.array([r["error"] for r in records]), window)
        band(ax, np.arange(1, errors.shape[1] + 1), errors, label=f"{LABELS[name]} ({len(records)} seeds)")
    ax.set(xscale="log", yscale="log", xlabel="training episode",
           ylabel=f"error (wrong bits, trailing {window}-episode mean;\nband: min-max over seeds)",
           title="Two 50-bit patterns: a plastic component in an LSTM")
    ax.legend(frameon=False, fontsize=8)
    name = "critiques_plastic_lstm"
    return {"curves": save(fig, name, folder), "table": save_table(table(result), name, folder)}


__all__ = ["PROFILES", "MODELS", "LABELS", "CONFIGS", "HIDDEN", "LSTM_LR", "FINAL", "profile_config", "run",
           "claims", "figures", "table", "final_errors", "comparison", "better_verdict"]
