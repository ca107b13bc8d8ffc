"""The figures: learning curves in the paper's format (Fig. 1a-3a), per-step errors, trained networks,
the sign of plasticity per hidden unit, the clipped-alpha ablation, the optimisers and the final error
against the trace's retention (the released scripts' sweep)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ...environment import figures_dir
from ...plotting import band, save, smooth
from ...tasks.bohp2016 import CompletionTask
from .analysis import STRONG, median_run, retention_runs, success, unit_signs
from .optim import OPTIMISER_LABELS
from .runs import Result, Variant
from .variants import N_HIDDEN, RETENTION_SWEEP, RETENTION_TASKS, TASKS, VARIANTS


def variant_label(runs: Variant) -> str:
    """How a variant differs from the others of its task: optimiser, and alpha clipped or not."""
    optimiser = OPTIMISER_LABELS[runs.config.optimizer]
    return optimiser + (", alpha clipped >= 0" if runs.config.clip_alpha else "")


def _shade_unscored(ax, scored: np.ndarray, steps: np.ndarray) -> None:
    for t in steps[~scored]:
        ax.axvspan(t - 0.5, t + 0.5, color="0.9", lw=0, zorder=0)


def figure_learning_curves(result: Result, window: int = 20):
    """The paper's figure format: per-episode error (mean over the scored steps), median and IQR over
    runs, the last ``frozen`` episodes with parameters frozen (trailing average of ``window`` episodes);
    one panel per task, one band per optimiser (the clipped ablation and the retention sweep are left out)."""
    unclipped = [r for n, r in result.batches.items() if not r.config.clip_alpha and n not in RETENTION_SWEEP]
    tasks = [t for t in TASKS if any(r.config.task == t for r in unclipped)]
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.3), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        shown = [r for r in unclipped if r.config.task == task]
        for r in shown:
            curve = smooth(r.curve, window)
            x = np.arange(1, curve.shape[1] + 1)
            band(ax, x, curve, label=f"{variant_label(r)}: median, IQR ({len(curve)} runs)", center="median",
                 spread="iqr")
        ax.axvspan(shown[0].config.trained, shown[0].config.episodes, color="0.85", lw=0, zorder=0, label="frozen")
        ax.set(title=task.replace("_", "-"), xlabel="episode",
               ylabel="squared error" if task == "completion" else "cross-entropy", yscale="log")
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def figure_step_errors(result: Result, names=("completion", "one_shot", "reversal"), metric="error"):
    """Error at each step of the episode on the frozen episodes: median and IQR over runs, one panel per
    task. Grey: steps that are not scored (completion step 1, label steps)."""
    names = [n for n in names if n in result.batches]
    tasks = list(dict.fromkeys(result[n].config.task for n in names))
    fig, axes = plt.subplots(1, len(tasks), figsize=(4 * len(tasks), 3.2), squeeze=False)
    for name in names:
        r = result[name]
        ax = axes[0, tasks.index(r.config.task)]
        values = r.step_error if metric == "error" else r.step_miss
        steps = np.arange(1, values.shape[1] + 1)
        band(ax, steps, values, label=variant_label(r), center="median", spread="iqr")
        _shade_unscored(ax, r.scored, steps)
        ylabel = {"error": "squared error" if r.config.task == "completion" else "cross-entropy",
                  "miss": "fraction wrong"}[metric]
        ax.set(title=r.config.task.replace("_", "-"), xlabel="step of the episode", ylabel=ylabel,
               xticks=steps if len(steps) < 4 else steps[::2], yscale="log" if metric == "error" else "linear")
    for ax in axes[0]:
        if len(ax.get_lines()) > 1:
            ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def figure_network(runs: Variant, run: int | None = None):
    """Heatmaps of one trained network (the median run by default): w, alpha and the readout."""
    run = median_run(runs) if run is None else run
    task = TASKS[runs.config.task]
    p = {k: v[run].numpy() for k, v in runs.params.items()}
    if isinstance(task, CompletionTask):
        rows, cols = [f"in {i + 1}" for i in range(task.n_bits)], [f"out {j + 1}" for j in range(task.n_bits)]
        mats = [("w", p["w"], rows, cols), ("alpha", p["alpha"], rows, cols)]
    else:
        rows = [f"pattern {i + 1}" for i in range(task.n_bits)] + ["label 1", "label 2"]
        hidden = [f"hidden {j + 1}" for j in range(N_HIDDEN)]
        mats = [("w (input -> hidden)", p["w"], rows, hidden), ("alpha (input -> hidden)", p["alpha"], rows, hidden),
                ("hidden -> output", p["v"], hidden, ["out 1", "out 2"])]
    fig, axes = plt.subplots(1, len(mats), figsize=(3.6 * len(mats), 3.6),
                             gridspec_kw={"width_ratios": [m[1].shape[1] + 1.5 for m in mats]})
    for ax, (title, m, ylabels, xlabels) in zip(axes, mats):
        lim = np.abs(m).max()
        im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set(title=title, xticks=range(len(xlabels)), yticks=range(len(ylabels)))
        ax.set_xticklabels(xlabels, rotation=45, ha="right", fontsize=8)
        ax.set_yticklabels(ylabels, fontsize=8)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"{runs.name.replace('_', '-')}: run {runs.seeds[run]} "
                 f"(median final error {runs.final_error[run]:.3g})")
    fig.tight_layout()
    return fig


SIGN_VARIANTS = ("one_shot", "reversal", "one_shot_rmsprop2016", "reversal_rmsprop2016", "one_shot_released2016",
                 "reversal_released2016", "one_shot_clipped", "reversal_clipped")


def figure_signs(result: Result, names=SIGN_VARIANTS):
    """Each hidden unit's mean alpha over its pattern inputs (one dot per unit, the units of a run
    joined), coloured by the run's miss rate on the frozen episodes; hollow: runs that did not learn.
    Dashed: the strongly-plastic threshold (|mean| > STRONG)."""
    names = [n for n in names if n in result.batches]
    fig, ax = plt.subplots(figsize=(1.3 * len(names) + 2.5, 3.6))
    sc = None
    for i, name in enumerate(names):
        r = result[name]
        units, learned = unit_signs(r), success(r)
        x = i + (np.linspace(-0.25, 0.25, len(units)) if len(units) > 1 else np.zeros(1))
        ax.plot(np.repeat(x[None], units.shape[1], 0), units.T, color="0.7", lw=0.6, zorder=1)
        xs, ys = np.repeat(x, units.shape[1]), units.ravel()
        miss, ok = np.repeat(r.final_miss, units.shape[1]), np.repeat(learned, units.shape[1])
        sc = ax.scatter(xs[ok], ys[ok], c=miss[ok], cmap="viridis_r", vmin=0, vmax=0.5, s=18, zorder=2)
        ax.scatter(xs[~ok], ys[~ok], facecolors="none", edgecolors="0.3", s=18, lw=0.8, zorder=2)
    ax.axhline(0, color="k", lw=0.8)
    for y in (-STRONG, STRONG):
        ax.axhline(y, color="0.5", lw=0.8, ls="--")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n.replace("_rmsprop2016", "\nour RMSprop").replace("_released2016", "\nreleased RMSprop")
                        .replace("_clipped", "\nclipped")
                        .replace("_", "-") for n in names], fontsize=8)
    ax.set(ylabel="mean alpha of a hidden unit's\npattern inputs", title="Sign of plasticity across runs "
           "(hollow: run did not learn)")
    if sc is not None:
        fig.colorbar(sc, ax=ax, label="miss rate (frozen)")
    fig.tight_layout()
    return fig


def figure_retention(result: Result):
    """Final error (frozen episodes) against the trace's retention 1 - gamma, one panel per task (Adam):
    each run a dot, the median with its interquartile range; dashed, the released scripts' default (the
    sweep: their runexp.py files, github.com/ThomasMiconi/LearningToLearnBOHP)."""
    sweeps = {t: retention_runs(result.batches, t) for t in RETENTION_TASKS}
    sweeps = {t: runs for t, runs in sweeps.items() if runs}
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4 * len(sweeps), 3.3), squeeze=False)
    for ax, (task, runs) in zip(axes[0], sweeps.items()):
        x = np.arange(len(runs))
        for i, r in zip(x, runs.values()):
            ax.scatter(np.full(len(r.final_error), i) + np.linspace(-0.12, 0.12, len(r.final_error)), r.final_error,
                       s=10, color="0.6", zorder=1)
        q1, q2, q3 = np.array([np.percentile(r.final_error, [25, 50, 75]) for r in runs.values()]).T
        ax.errorbar(x, q2, yerr=[q2 - q1, q3 - q2], color="k", marker="o", capsize=3, zorder=2,
                    label=f"median, IQR ({len(next(iter(runs.values())).seeds)} runs)")
        default = list(runs).index(VARIANTS[task].retention) if VARIANTS[task].retention in runs else None
        if default is not None:
            ax.axvline(default, color="C3", ls="--", lw=1, label="released default")
        ylabel = "squared error" if task == "completion" else "cross-entropy"
        ax.set(title=task.replace("_", "-"), xlabel="retention 1 - gamma", ylabel=f"final {ylabel} (frozen)",
               xticks=x, yscale="log")
        ax.set_xticklabels([f"{r:g}" for r in runs])
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def figures(result: Result) -> dict[str, Path]:
    """Every figure of the variants in ``result``, saved into the profile's figures folder."""
    out, folder, have = {}, figures_dir(result.profile), result.batches

    def keep(key: str, fig) -> None:
        out[key] = save(fig, f"bohp2016_{key}", folder)

    if any(not r.config.clip_alpha and n not in RETENTION_SWEEP for n, r in have.items()):
        keep("learning_curves", figure_learning_curves(result))
    if any(n in have for n in ("completion", "one_shot", "reversal")):
        keep("step_errors", figure_step_errors(result))
    for name in ("completion", "one_shot", "reversal", "reversal_rmsprop2016", "reversal_released2016"):
        if name in have:
            keep(f"network_{name}", figure_network(have[name]))
    if any(n in have for n in SIGN_VARIANTS):
        keep("alpha_signs", figure_signs(result))
    for key, names in (("clipped_alpha", ("one_shot", "one_shot_clipped", "reversal", "reversal_clipped")),
                       ("optimisers", ("one_shot", "one_shot_rmsprop2016", "one_shot_released2016", "reversal",
                                       "reversal_rmsprop2016", "reversal_released2016"))):
        if any(n in have for n in names):
            keep(key, figure_step_errors(result, names=names, metric="miss"))
    if any(n in have for n in RETENTION_SWEEP):
        keep("retention", figure_retention(result))
    return out
