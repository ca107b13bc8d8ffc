"""Memorising binary patterns with a plastic recurrent network (NIPS 2017 Fig. 2; ICML 2018 §4.1).

The network has one neuron per pattern bit plus a bias neuron whose input is always 1; the input
tensor is multiplied by ``input_scale`` (20) and added to the pre-activation. Loss: summed squared
error between the pattern neurons at the last step and the full pattern.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace, field
from pathlib import Path
from typing import ClassVar

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..batched import Generators, Runs, finish_runs, stack, train_runs
from ..environment import check_flag, check_seeds, figures_dir, pick_device, results_dir
from ..plastic import ALPHA_MODES, RULES, PlasticRecurrent
from ..plotting import band, save, smooth
from ..tasks.patterns import PatternTask, pattern_episode, sign_error
from ..training import Job, RunStore, fixed_threads, trainer_of
from ..validation import IMPLS, check
from .contract import (Claim, Options, Profile, Record, Reported, Result, below, episodes_to_threshold, missed,
                       record_keys, select_profile, sensitive, verdict)
from ..baselines import BaselineConfig, baseline_trainer


class PatternRecord(Record):
    """A plastic network's run on a pattern task: one entry per episode (``batch`` 1 in every profile)."""

    error: list[float]  # fraction of the pattern neurons whose sign is wrong at the last step
    loss: list[float]  # summed squared error of the pattern neurons at the last step
    eta: list[float]  # the plasticity rate after the episode's update


@dataclass(frozen=True)
class Config:
    RECORD_KEYS: ClassVar[tuple[str, ...]] = record_keys(PatternRecord)  # what a stored run must hold

    task: PatternTask = field(default_factory=PatternTask)
    episodes: int = 300
    batch: int = 1
    input_scale: float = 20.0
    lr: float = 3e-4
    rule: str = "hebb"
    alpha: str = "per_connection"
    eta: float = 0.01
    learn_eta: bool = True
    impl: str = "fused"

    def __post_init__(self) -> None:
        check(self, types={"task": PatternTask}, counts=("episodes", "batch"), positive=("input_scale", "lr"),
              rate=("eta",), flags=("learn_eta",), choices={"rule": RULES, "alpha": ALPHA_MODES, "impl": IMPLS})


# The two schedules: the authors' released code (simple.py: each pattern 6 steps + 4 zero steps, 2 cycles,
# test pattern 6 steps, Adam 3e-4) and the papers' text (each pattern 10 steps + 3 zero steps, 3 cycles,
# Adam 1e-3; the text gives no duration for the degraded test pattern: 10 steps here, as each pattern). Both
# learn eta, as the released code does; "text_eta" is the text's schedule with eta fixed at 0.01, as the text
# states it ("While η ... could also be optimized, for simplicity here it is kept fixed at 0.01", NIPS 2017 §2).
TEXT_TASK = PatternTask(show=10, gap=3, cycles=3, test_show=10)
TEXT_ETA = 0.01
ROW_NAMES = {"released": "released schedule", "text": "text schedule", "text_eta": "text schedule, η fixed at 0.01"}
# The non-plastic networks of the text's "we were unable to succeed in solving the original task with a non-plastic
# RNN or LSTM", each on the released schedule: the same 1,001 neurons with alpha = 0, and the two baselines the
# text then ran on its reduced 50-bit task (plasticity_utils.baselines: 2000 extra neurons; a 2000-unit LSTM with
# the authors' clamp, inputs x100), with the released 50-bit code's optimiser (Adam 3e-5, one episode per update,
# the released simple/lstm.py): the papers give no setup for their 1000-bit attempts.
NONPLASTIC = "released_rnn"
NONPLASTICS = {NONPLASTIC: "the same 1,001 neurons, α = 0",
               "released_rnn2000": "an RNN with 2000 extra neurons (3,001 in all), Adam 3e-5",
               "released_lstm": "a 2000-unit LSTM with the authors' clamp, Adam 3e-5"}
BASELINES = {"released_rnn2000": BaselineConfig("rnn", task=PatternTask(), extra=2000, input_scale=20.0, lr=3e-5),
             "released_lstm": BaselineConfig("lstm", clamp=True, task=PatternTask(), extra=2000, input_scale=100.0,
                                             lr=3e-5)}
SCHEDULES = {"released": "released code: 6 / 4 / 2 cycles, Adam 3e-4",
             "text": "paper text: 10 / 3 / 3 cycles, test 10, Adam 1e-3",
             "text_eta": "paper text, η fixed at 0.01: 10 / 3 / 3 cycles, test 10, Adam 1e-3",
             **{name: f"released schedule, non-plastic: {how}" for name, how in NONPLASTICS.items()}}


def _profile(released: int, text: int, seeds: int, note: str, batched: bool = False,
             fewer: int | None = None, baselines: dict[str, tuple[int, int]] | None = None) -> Profile:
    """Episodes of the released and text schedules (text_eta: as text; the non-plastic RNN: as released), seeds
    of each (``fewer``: the count of the fixed-eta and non-plastic variants, where given); (episodes, seeds) of
    each 2000-unit baseline trained (none by default)."""
    text_config = Config(task=TEXT_TASK, lr=1e-3, episodes=text)
    configs = {"released": Config(episodes=released), "text": text_config,
               "text_eta": replace(text_config, eta=TEXT_ETA, learn_eta=False),
               NONPLASTIC: Config(episodes=released, alpha="none")}
    counts = {name: seeds for name in configs} | ({"text_eta": fewer, NONPLASTIC: fewer} if fewer else {})
    for name, (episodes, n) in (baselines or {}).items():
        configs[name], counts[name] = replace(BASELINES[name], episodes=episodes), n
    return Profile(configs, counts, note, Options(batched=batched))


CPU_BASELINES = {"released_rnn2000": (1000, 3), "released_lstm": (500, 3)}
# Scale is the only thing a profile changes: episodes per seed and the number of seeds. The text
# schedule's episodes are 205 steps against 106, so the cpu profile gives it half the episodes: the
# same number of network steps per seed.
PROFILES = {
    "smoke": _profile(4, 2, 2, "pipeline check only", baselines={"released_rnn2000": (2, 1), "released_lstm": (2, 1)}),
    "cpu": _profile(400, 200, 10, "10 seeds x (400 released / 200 text) episodes, 5 seeds of the text schedule "
                                  "with η fixed: ~42,000 network steps per seed and schedule (the paper's claim is "
                                  "about its first ~200 episodes); 5 seeds of the non-plastic RNN; 3 seeds x 1,000 "
                                  "episodes of the 2000-neuron RNN, 3 x 500 of the LSTM (~2 s per episode here)",
                  fewer=5, baselines=CPU_BASELINES),
    "paper": _profile(1000, 1000, 10, "10 seeds x 1,000 episodes per schedule, the 10 seeds of a schedule "
                                      "trained as one batched model; 3 seeds x 1,000 episodes of the 2000-neuron "
                                      "RNN and the LSTM", batched=True,
                    baselines={"released_rnn2000": (1000, 3), "released_lstm": (1000, 3)}),
}

# What others report (see :mod:`.contract`).
PAPER_EPISODES = 200
PAPER_ERROR = 0.01  # the papers' "error < 1%": their threshold, not ours, so it is not varied
# Our cut-offs, fixed before the runs they judge; each verdict that uses one is also computed at half and
# twice it (contract.sensitive):
LATENESS = 0.25  # "after about 200 episodes": reached up to a quarter later (by episode 250) counts as "about"
CURVE_TOLERANCE = 0.01  # largest difference per 50-episode block from the released code's curve: the two
#                         released seeds themselves differ by up to ~0.01 in a block
PAPER = Reported("error < 1% after about 200 episodes",
                 "NIPS 2017 workshop, Fig. 2 left; ICML 2018 §4.1")
PAPER_NONPLASTIC = Reported("'despite much exploration, we were unable to succeed in solving the original task with a "
                            "non-plastic RNN or LSTM' (§3.2); no budget given",
                            "NIPS 2017 workshop, 000_4572b6549c8d2525.txt")
RELEASED_BLOCKS = (0.206, 0.077, 0.037, 0.017, 0.020, 0.014)  # mean error per 50 episodes, episodes 1-300
RELEASED_EPISODES = 300  # the episodes of the released code's curve that ours is compared with
RELEASED = Reported("mean error per 50-episode block " + " ".join(f"{b:.3f}" for b in RELEASED_BLOCKS)
                    + " (episodes 1-300): not below 1% by episode 300",
                    "authors' released code (simple.py), 2 seeds on one GPU, run for this project (figures/released_code.md)")


def profile_config(profile: str) -> tuple[Config, list[int]]:
    """The released schedule's config and the seeds (what other experiments build on)."""
    p = select_profile(PROFILES, profile)
    return p.configs["released"], p.seeds_for("released")


def build(config: Config) -> PlasticRecurrent:
    return PlasticRecurrent(
        config.task.n_bits + 1, input_mode="add", rule=config.rule, alpha=config.alpha,
        eta=config.eta, learn_eta=config.learn_eta,
    )


def train_seeds(config: Config, seeds: list[int], checkpoint: Path | None, device: torch.device,
                progress: bool | None = None) -> list[tuple[dict, dict]]:
    """Train one network per seed (all as one model over a run axis, :func:`~plasticity_utils.batched.train_runs`;
    one seed: the network itself); each run's curve is its per-episode loss, sign error and eta. ``progress``
    (default: for several runs only) shows a progress bar. Under ``vmap``
    (R > 1) the fused layer runs its batched form (:class:`~plasticity_utils.plastic.PlasticRunsFunction`)."""
    n = config.task.n_bits

    def step(_: int, net: Runs, gens: Generators):
        episodes = [pattern_episode(config.task, config.batch, g) for g in gens]
        inputs = stack([e[0] for e in episodes]).to(device) * config.input_scale
        target = stack([e[1] for e in episodes]).to(device)
        xs, _ = net(inputs, impl=config.impl)
        out = xs[:, :, -1, :n]
        losses = ((out - target) ** 2).sum(-1).mean(-1)
        eta = net.parameter("connection.eta").detach().cpu().reshape(-1).tolist()
        return losses, {"error": sign_error(out, target).mean(-1).tolist(), "eta": eta}

    net, histories, (seconds, _) = train_runs(
        seeds, lambda: build(config), lambda net: torch.optim.Adam(net.parameters(), lr=config.lr), step,
        config.episodes, device=device, checkpoint=checkpoint, progress=len(seeds) > 1 if progress is None else progress)
    records = [{key: [h[key] for h in history] for key in Config.RECORD_KEYS} for history in histories]
    return finish_runs(net, seeds, records, seconds, device)


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        schedules: tuple[str, ...] | None = None, batched: bool | None = None) -> Result:
    """Train (or load) every seed of each schedule (default: all of the profile's) at ``profile`` (see the
    contract). ``batched``: train each schedule's missing seeds as one batched model (one call of
    :func:`train_seeds`; default: the profile's ``batched`` option, on for ``paper``), else one run per call."""
    p = select_profile(PROFILES, profile)
    schedules = tuple(p.configs) if schedules is None else tuple(schedules)
    unknown = set(schedules) - set(p.configs)
    if unknown:
        raise ValueError(f"unknown schedules {sorted(unknown)}; choose from {tuple(p.configs)}")
    seeds = None if seeds is None else check_seeds(seeds)
    dev = pick_device(device)
    store = RunStore(results_dir("binary_patterns", profile))
    batched = p.options.batched if batched is None else check_flag("batched", batched)
    jobs = [Job(p.seeds_for(name) if seeds is None else seeds, p.configs[name], trainer(p.configs[name], device),
                tag(name)) for name in schedules]
    records = store.train(jobs, group=None if batched else 1, force=force)
    return Result("binary_patterns", profile, dict(zip(schedules, records)), str(dev))


# Sweeps (plasticity_utils.sweep): what a sweep trains, how it names runs, what it tabulates.
METRIC = "mean sign error over the last 10 episodes"


def trainer(config: Config | BaselineConfig, device: str | None = None) -> functools.partial:
    """A picklable ``train(seeds, checkpoint)`` for one config (the device is picked where it runs): the plastic
    network's :func:`train_seeds`, or a baseline's :func:`~plasticity_utils.baselines.train_baseline_seeds`."""
    if isinstance(config, BaselineConfig):
        return baseline_trainer(config, device)
    return trainer_of(train_seeds, config, device)


def tag(variant: str) -> str:
    return f"{variant}-"


def metric(record: dict) -> float:
    return float(np.mean(record["error"][-10:]))


def landmarks(records: list[dict], window: int = 10, threshold: float = PAPER_ERROR) -> dict:
    """Numbers the notebook reports: the first episode where the across-seed mean of the trailing
    ``window``-episode error drops below ``threshold``, and the error over the last ``window``
    episodes (mean and worst seed)."""
    errors = np.array([r["error"] for r in records])
    mean_curve = smooth(errors, window).mean(0)
    below = np.flatnonzero(mean_curve < threshold)
    final = errors[:, -window:].mean(1)
    return {
        "first_below": int(below[0]) + 1 if below.size else None,
        "final_mean": float(final.mean()),
        "final_worst": float(final.max()),
        "seconds_per_episode": float(np.mean([r["seconds"] / len(r["error"]) for r in records])),
        "episodes": errors.shape[1],
        "seeds": errors.shape[0],
    }


def block_means(records: list[dict], block: int = 50, upto: int = 300) -> np.ndarray | None:
    """Across-seed mean error per ``block`` episodes over episodes 1..``upto`` (None if shorter)."""
    errors = np.array([r["error"] for r in records])
    if errors.shape[1] < upto:
        return None
    return errors[:, :upto].reshape(len(records), -1, block).mean((0, 2))


def budget(records: list[dict], device: str = "") -> str:
    """Seeds x episodes, and the wall time per episode on the device the runs trained on (a batched run
    records it; else ``device``, where this result was computed). A batched run's seconds are its share of
    the batch's wall time."""
    m = landmarks(records)
    steps = PatternTask(**records[0]["config"]["task"]).steps
    batches = [r["batched"] for r in records if r.get("batched")]
    how = ", the seeds trained as one batched model" if len(batches) == len(records) else ""
    device = batches[0]["device"] if batches else device
    on = f" on {device}" if device else ""
    return (f"{m['seeds']} seeds x {m['episodes']} episodes of {steps} steps, batch 1 "
            f"({m['seconds_per_episode']:.2f} s/episode{on}{how})")


def matches_released(ours: np.ndarray | None, tolerance: float = CURVE_TOLERANCE, *, episodes: int = 0) -> str:
    """Verdict on "our released-schedule curve equals the released code's": every 50-episode block
    within ``tolerance`` (absolute error) of the released code's, measured over episodes 1-300
    (``ours`` is None when our ``episodes`` are fewer: the budget rule, :func:`.contract.missed`)."""
    if ours is None:
        return missed("no curve to compare", episodes, RELEASED_EPISODES, of="the released code's")
    gap = float(np.max(np.abs(ours - np.array(RELEASED_BLOCKS))))
    if gap <= tolerance:
        return verdict("reproduced", f"largest block difference {gap:.4f} <= {tolerance}")
    return verdict("not reproduced", f"largest block difference {gap:.4f} > {tolerance}")


def claims(result: Result) -> list[Claim]:
    """The 1000-bit claims, judged for the released schedule and the paper text's schedule."""
    out = []
    released = result.runs.get("released")
    if released:
        m, b = landmarks(released), budget(released, result.device)
        blocks = block_means(released)
        out.append(Claim(
            "1000-bit patterns, released schedule: episodes until mean error < 1%", str(PAPER), str(RELEASED),
            str(m["first_below"]) if m["first_below"] else f"not reached in {m['episodes']}", b,
            first_below_verdict(m, released="the released code is not below 1% by episode 300 either: its "
                                            "schedule is not the one the paper's text describes")))
        out.append(Claim(
            "1000-bit patterns, released schedule: learning curve equals the released code's",
            "", str(RELEASED),
            "mean error per 50-episode block " + (" ".join(f"{v:.3f}" for v in blocks) if blocks is not None
                                                  else "n/a (fewer than 300 episodes)"),
            b, sensitive(lambda tol: matches_released(blocks, tol, episodes=m["episodes"]),
                         {"largest block difference <=": CURVE_TOLERANCE})))
    text_only = "not in the released code (it implements 6 / 4 / 2 only)"
    for name, how, released in (("text", "paper text's schedule", text_only),
                                ("text_eta", "paper text's schedule, η fixed at 0.01 as the text states",
                                 f"{text_only}; the released code learns η")):
        text = result.runs.get(name)
        if not text:
            continue
        m, b = landmarks(text), budget(text, result.device)
        out.append(Claim(
            f"1000-bit patterns, {how}: episodes until mean error < 1%", str(PAPER), released,
            str(m["first_below"]) if m["first_below"] else f"not reached in {m['episodes']}", b,
            first_below_verdict(m)))
    plastic = result.runs.get("released")
    for name in [k for k in NONPLASTICS if k in result.runs]:
        m, runs = landmarks(result.runs[name]), result.runs[name]
        kind = "an LSTM" if name == "released_lstm" else "a non-plastic RNN"
        out.append(Claim(
            f"1000-bit patterns, {kind} ({NONPLASTICS[name]}, released schedule): not solved",
            str(PAPER_NONPLASTIC), "", f"{m['final_mean']:.2%} mean over the last 10 episodes (worst seed "
            f"{m['final_worst']:.2%}); first below 1%: {m['first_below'] or 'never'}",
            budget(runs, result.device), nonplastic_verdict(m, landmarks(plastic) if plastic else None)))
    for name, records in [(k, v) for k, v in result.runs.items() if k not in NONPLASTICS]:
        m = landmarks(records)
        out.append(Claim(
            f"1000-bit patterns, {ROW_NAMES.get(name, name)}: error at the end of training below 1%", str(PAPER), "",
            f"{m['final_mean']:.2%} mean over the last 10 episodes (worst seed {m['final_worst']:.2%})",
            budget(records, result.device), below(m["final_mean"], PAPER_ERROR, "mean error")))
    return out


def nonplastic_verdict(m: dict, plastic: dict | None) -> str:
    """"We were unable to succeed in solving the original task with a non-plastic RNN": not reproduced if our
    non-plastic network gets below the papers' 1% (:data:`PAPER_ERROR`, theirs, not varied); else partly
    reproduced, since the papers give no budget for their attempts and ours is short."""
    if m["first_below"] is not None:
        return verdict("not reproduced", f"the non-plastic network is below 1% by episode {m['first_below']}")
    beside = (f"; the plastic network on the same schedule is below 1% by episode {plastic['first_below']}"
              if plastic and plastic["first_below"] else "")
    return verdict("partly reproduced", f"not below 1% in {m['episodes']} episodes (final {m['final_mean']:.2%})"
                                        f"{beside}; the papers give no budget for their attempts, so longer training "
                                        "is not ruled out")


def first_below_verdict(m: dict, released: str = "") -> str:
    """"Below 1% after about 200 episodes" from :func:`landmarks`, at our slack and at half and twice it."""
    return sensitive(lambda late: episodes_to_threshold(m["first_below"], PAPER_EPISODES, m["episodes"],
                                                        slack=1 + late, released=released),
                     {"lateness allowed (fraction of the paper's episodes)": LATENESS})


def figures(result: Result, window: int = 10) -> dict[str, Path]:
    """The learning curves of every schedule, against episodes and against network steps trained."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for name, records in result.runs.items():
        errors = smooth(np.array([r["error"] for r in records]), window)
        episodes = np.arange(1, errors.shape[1] + 1)
        steps = PatternTask(**records[0]["config"]["task"]).steps
        label = f"{SCHEDULES[name]} ({len(records)} seeds)"
        band(axes[0], episodes, errors, label=label)
        band(axes[1], episodes * steps, errors, label=label)
    for ax, xlabel in zip(axes, ("training episode", "network steps trained (episodes x steps)")):
        ax.axhline(0.01, color="k", lw=0.8, ls="--", label="1% error")
        ax.set(xlabel=xlabel, yscale="log")
    axes[0].set(ylabel=f"error (fraction of wrong bits,\ntrailing {window}-episode mean; band: min-max)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2,
               frameon=False, fontsize=8)  # below the panels: the curves fill both
    fig.suptitle("Five 1000-bit patterns: learning curves of the schedules")
    return {"curves": save(fig, "binary_patterns_1000bit", figures_dir(result.profile))}


__all__ = ["Config", "PROFILES", "SCHEDULES", "TEXT_TASK", "PAPER", "RELEASED", "profile_config", "build",
           "train_seeds", "trainer", "run", "claims", "figures", "landmarks", "block_means", "matches_released"]
