"""The figures: reconstructions of held-out probes, the ablation's curves and scores, and the trained matrices."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import Tensor

from ...environment import figures_dir
from ...plotting import band, save, smooth
from ...tasks.images import ImageTask
from ..contract import Result
from .config import TEXT_GAP, VARIANTS, profile_config
from .evaluation import BASELINES, EVAL_SEED, Predictor, held_out_episodes
from .structure import plot_matrices


def figures(result: Result, rows: int = 5) -> dict[str, Path]:
    """Fig. 3 left (reconstructions of held-out episodes), Fig. 3 right (w and alpha), and the ablation's
    training curves, saved into the profile's figures folder."""
    out, folder = {}, figures_dir(result.profile)
    nets, pools, scores = result.extra["nets"], result.extra["pools"], result.extra["scores"]
    task = profile_config(result.profile)[0].task
    fig = plot_reconstructions({name: result.extra["outputs"][name] for name in nets}, task, pools.test, rows=rows)
    out["reconstructions"] = save(fig, "natural_images_reconstructions", folder, vector=False)  # images
    fig = plot_matrices(nets["per_connection alpha"], side=task.side)
    # two 1025 x 1025 heatmaps of near-noise, which no PNG compresses: at 150 dpi they took 2.2 MB
    out["matrices"] = save(fig, "natural_images_matrices", folder, vector=False, dpi=100)
    out["ablation"] = save(plot_ablation(result.runs, scores), "natural_images_ablation", folder)
    return out


def plot_ablation(runs: dict[str, list[dict]], scores: dict[str, dict[str, np.ndarray]]) -> plt.Figure:
    """Training loss of every variant (trailing mean), raw and as a fraction of predicting zeros.

    Each run's x axis counts its own episodes (updates x its batch), and every curve is averaged over
    the same number of episodes (the first variant's window), whatever its batch."""
    first = next(iter(runs.values()))[0]
    span = first["config"]["batch"] * max(1, min(100, len(first["loss"]) // 10))  # the window, in episodes
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 3.8))
    for variant, recs in runs.items():
        batch = recs[0]["config"]["batch"]
        window = max(1, round(span / batch))  # in this variant's updates
        loss = np.array([r["loss"] for r in recs])
        rel = loss / np.array([r["zero_loss"] for r in recs])
        x = batch * np.arange(1, loss.shape[1] + 1)  # episodes seen
        name = f"{variant} alpha" if variant in VARIANTS else f"per_connection alpha, the text's {TEXT_GAP}-step gap"
        band(ax, x, smooth(loss, window), label=f"{name} ({len(recs)} seed(s))")
        band(bx, x, smooth(rel, window), label=name)
    for name, style in zip(BASELINES, ("--", ":")):
        ax.axhline(scores[name]["loss"].mean(), color="k", lw=0.9, ls=style, label=f"{name}, held-out")
    bx.axhline(1.0, color="k", lw=0.9, ls="--", label="zeros (no memory)")
    ax.set(xlabel="training episodes seen", ylabel="summed squared error, erased half",
           title=f"training loss ({span}-episode mean)")
    bx.set(xlabel="training episodes seen", ylabel="loss / loss of predicting zeros", title="relative training loss")
    ax.legend(frameon=False, fontsize=8), bx.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- figures
def plot_reconstructions(outputs: dict[str, Predictor], task: ImageTask, test_pool: Tensor, rows: int = 4,
                         seed: int = EVAL_SEED) -> plt.Figure:
    """Fig. 3 left on held-out episodes: the stored images (the probed one framed), the erased
    probe, and each predictor's output at the last step (clamped half = probe)."""
    ep = next(held_out_episodes(task, test_pool, rows, seed, batch=rows))
    names = list(outputs)
    preds = {name: outputs[name](ep) for name in names}
    cols = task.n_images + 1 + len(names)
    fig, axes = plt.subplots(rows, cols, figsize=(1.35 * cols, 1.45 * rows), squeeze=False)
    side = task.side
    for r in range(rows):
        panels = [ep.stored[r, k] for k in range(task.n_images)] + [ep.probe[r]] + [preds[n][r] for n in names]
        titles = [f"image {k + 1}" for k in range(task.n_images)] + ["probe"] + names
        for c, (img, title) in enumerate(zip(panels, titles)):
            ax = axes[r, c]
            ax.imshow(img.reshape(side, side).float().numpy(), cmap="gray", vmin=-1, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < task.n_images and torch.equal(ep.stored[r, c], ep.target[r]):
                for spine in ax.spines.values():
                    spine.set_visible(True), spine.set_color("tab:orange"), spine.set_linewidth(2.5)
            if r == 0:
                ax.set_title(title, fontsize=8)
    fig.tight_layout(pad=0.3)
    return fig
