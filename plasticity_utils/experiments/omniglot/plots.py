"""Notebook 04's figure: the held-out learning curve and the accuracy on each class set after training."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ... import report
from ...environment import figures_dir
from ...plotting import band, save
from ..contract import Result
from .config import CLASS_SETS
from .evaluation import curves, summary
from .verdicts import PAPER_ACCURACY, comparison_table


def figures(result: Result) -> dict[str, Path]:
    """Left: held-out learning curve (and the training batches' accuracy); right: final accuracy on the
    three class sets with 95% intervals, beside the paper's number. Also the comparison table."""
    records, s = result.runs["plastic"], summary(result)
    folder = figures_dir(result.profile)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11.5, 3.9), gridspec_kw={"width_ratios": [1.6, 1]})
    episodes, heldout = curves(records)
    band(ax, episodes, 100 * heldout, label=f"held-out classes: mean, min-max over {len(records)} seeds")
    config = records[0]["config"]
    block = config["eval_every"] * config["batch"]
    train_acc = np.array([r["train_accuracy"] for r in records]).mean(0)
    ax.plot((np.arange(len(train_acc)) + 0.5) * block, 100 * train_acc, lw=1, ls="--",
            label="training batches (mean over seeds)")
    ax.axhline(100 * s["chance"], color="gray", lw=0.8, ls=":", label="chance")
    ax.axhline(PAPER_ACCURACY[0], color="k", lw=0.8, ls="-.", label="paper, after 5M episodes")
    ax.set(xlabel="training episodes per seed", ylabel="accuracy (%)", ylim=(0, 100),
           title="learning curve")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    for i, name in enumerate(CLASS_SETS):
        a = s[name]
        mid = 100 * a["accuracy"]
        bx.errorbar([i], [mid], yerr=[[mid - 100 * a["low"]], [100 * a["high"] - mid]], fmt="o", capsize=4)
        bx.scatter(np.full(len(records), i + 0.18), 100 * np.array(a["per_seed"]), s=8, color="gray")
    bx.axhline(PAPER_ACCURACY[0], color="k", lw=0.8, ls="-.")
    bx.set_xticks(range(len(CLASS_SETS)), ["held-out", "training", "released\nprotocol"])
    bx.set(ylabel="accuracy (%)", xlim=(-0.5, len(CLASS_SETS) - 0.4), ylim=(0, 100),
           title=f"after training, {s['eval_episodes']} episodes per seed\nand class set (95% Wilson; dots: seeds)")
    fig.suptitle("Omniglot 5-way 1-shot with a plastic output layer", y=1.04)
    report.save_table(comparison_table(s), "omniglot_comparison", folder)
    return {"accuracy": save(fig, "omniglot_heldout_curve", folder), "table": folder / "omniglot_comparison.md"}
