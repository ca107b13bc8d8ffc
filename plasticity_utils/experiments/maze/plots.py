"""Notebook 05's figures: reward curves per condition and the trained agent's episodes."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ...environment import figures_dir
from ...plotting import band, save
from ...tasks.maze import MazeTask, maze_grid
from ..contract import Result
from .agent import Episode
from .config import CONDITIONS, PROFILES
from .verdicts import LABELS, finds, reward_curves


def figures(result: Result) -> dict[str, Path]:
    """Reward curves (median and 25-75% over runs) and the best evaluation episode of the plastic agent."""
    folder, cfg = figures_dir(result.profile), PROFILES[result.profile].configs["plastic"]
    window, k = max(1, cfg.updates // 12), max(1, round(result.extra["last"] * cfg.updates))
    colors = dict(zip([*CONDITIONS, "random"], [*plt.rcParams["axes.prop_cycle"].by_key()["color"][:3], "0.5"]))
    fig, ax = plt.subplots(figsize=(7, 4))
    for condition, rs in result.runs.items():
        x, curves = reward_curves(rs, window)
        band(ax, x, curves, label=f"{LABELS[condition]} ({len(rs)} runs)", center="median", spread="iqr",
             color=colors[condition])
    ax.axhline(float(result.extra["chance"].total_reward().mean()), color="k", lw=0.8, ls="--",
               label="uniformly random policy")
    ax.axvspan(x[-k], x[-1], color="0.9", zorder=0, label="compared by the rank-sum test")
    ax.set(xlabel="training episodes", ylabel="reward per episode (mean of each batch)",
           title=f"Maze: median and 25-75% over runs (trailing mean over {window * cfg.batch} episodes)")
    ax.legend(frameon=False, fontsize=9)
    out = {"reward": save(fig, "maze_reward", folder)}
    h, task = finds(result), result.extra["task"]
    best = int(np.argmax(h["plastic"]))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1, 1.1]},
                                   layout="constrained")
    plot_episode(ax0, result.extra["evals"]["plastic"], best, task,
                 title=f"plastic agent, best of {len(h['plastic'])} episodes: reward found {int(h['plastic'][best])} times")
    ax0.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False, fontsize=8, ncol=2)
    bins = np.arange(0, max(int(v.max()) for v in h.values()) + 2) - 0.5
    for condition, v in h.items():
        ax1.hist(v, bins=bins, histtype="step", lw=1.6, color=colors[condition],
                 label=f"{LABELS[condition]}: mean {v.mean():.2f}")
    ax1.set(xlabel="times the reward was found in an episode", ylabel=f"episodes (of {len(h['plastic'])})",
            title=f"all {len(h['plastic'])} evaluation episodes (first run of each condition)")
    ax1.legend(frameon=False, fontsize=9)
    out["trajectory"] = save(fig, "maze_trajectory", folder)
    return out


def plot_episode(ax, ep: Episode, index: int, task: MazeTask, title: str = "") -> None:
    """The maze (walls dark), a heat map of the squares one episode visited, its path (into the
    reward square at each find), the start (centre), the reward square (star) and the squares the
    agent was teleported to after each find (triangles)."""
    grid = maze_grid(task.size).numpy()
    pos = ep.positions[index].cpu().numpy()
    r = ep.reward_pos[index].cpu().numpy()
    visits = np.zeros(grid.shape)
    np.add.at(visits, (pos[:, 0], pos[:, 1]), 1)
    ax.imshow(grid, cmap="Greys", vmin=0, vmax=1.4)
    im = ax.imshow(np.ma.masked_where(grid | (visits == 0), visits), cmap="viridis")
    finds = np.flatnonzero(ep.rewards[index].cpu().numpy() >= task.reward - task.wall_penalty)
    start = 0
    for t in [*finds, len(pos) - 1]:  # positions[t] is before step t, positions[t + 1] after it
        seg = pos[start : t + 1]
        if t in finds:
            seg = np.vstack([seg, r])
        ax.plot(seg[:, 1], seg[:, 0], color="w", lw=0.9, alpha=0.8)
        start = t + 1
    ax.plot(pos[0, 1], pos[0, 0], "o", color="tab:blue", ms=7, label="start (centre)")
    ax.plot(r[1], r[0], "*", color="tab:red", ms=16, label="reward (invisible to the agent)")
    if finds.size:
        ax.plot(pos[finds + 1, 1], pos[finds + 1, 0], "^", color="tab:orange", ms=7, ls="none",
                label="teleported to, after a find")
    ax.set(xticks=[], yticks=[], title=title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="visits")
