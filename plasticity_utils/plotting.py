"""One plotting style for every figure, and the learning-curve band the papers use."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .training import atomic_write


def setup() -> None:
    """The shared style: seaborn ticks, colour-blind palette, readable sizes."""
    sns.set_theme(context="notebook", style="ticks", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 150, "axes.spines.top": False,
                         "axes.spines.right": False})
    pd.set_option("display.max_colwidth", None)  # summary tables show whole verdicts and budgets, never "..."


def smooth(curves: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average along the last axis (the first ``window-1`` points average fewer)."""
    if window <= 1:
        return np.asarray(curves, dtype=float)
    c = np.cumsum(np.asarray(curves, dtype=float), axis=-1)
    out = c.copy()
    out[..., window:] = c[..., window:] - c[..., :-window]
    counts = np.minimum(np.arange(1, c.shape[-1] + 1), window)
    return out / counts


def band(
    ax: plt.Axes,
    x: np.ndarray,
    runs: np.ndarray,
    *,
    label: str,
    center: Literal["mean", "median"] = "mean",
    spread: Literal["minmax", "iqr"] = "minmax",
    color=None,
) -> None:
    """Plot the centre line of ``runs`` (seeds x points) with a min-max or 25-75% band."""
    runs = np.asarray(runs, dtype=float)
    mid = runs.mean(0) if center == "mean" else np.median(runs, 0)
    lo, hi = (runs.min(0), runs.max(0)) if spread == "minmax" else np.percentile(runs, [25, 75], 0)
    (line,) = ax.plot(x, mid, label=label, color=color, lw=1.6)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, lw=0, rasterized=True)


def save(fig: plt.Figure, name: str, figures: Path, *, vector: bool = True, dpi: float | None = None) -> Path:
    """Save ``fig`` as ``figures/<name>.png`` (at ``dpi``, default ``savefig.dpi``: 150) and return its path.
    Each file is written whole, by a rename: a reader never sees part of it.

    ``vector``: also ``figures/<name>.pdf`` beside it, the version a paper includes (line plots,
    scatter plots). Figures made of images (reconstructions, weight matrices, maze maps) pass
    ``vector=False``: their pixels gain nothing from a PDF. The PDF carries no creation date, so
    re-saving the same figure gives the same file."""
    path = atomic_write(figures / f"{name}.png",
                        lambda f: fig.savefig(f, format="png", bbox_inches="tight", dpi=dpi))
    if vector:
        atomic_write(path.with_suffix(".pdf"), lambda f: fig.savefig(f, format="pdf", bbox_inches="tight",
                                                                    metadata={"CreationDate": None}))
    return path


def save_table(frame: pd.DataFrame, name: str, figures: Path) -> Path:
    """Save a figure's table as ``figures/<name>.csv`` (written whole, by a rename, as :func:`save`)."""
    return atomic_write(figures / f"{name}.csv", lambda f: frame.to_csv(f), mode="w")
