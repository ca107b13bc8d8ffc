"""What the papers and the released code report, and the rows that judge our runs against them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...stats import SIGNIFICANCE, compare, paired_difference
from ..contract import Claim, Reported, Result, missed, sensitive, verdict
from .config import CLASS_SETS
from .evaluation import pooled_interval, summary

# What others report (see :mod:`.contract`). The seed text is a course summary of the ICML 2018 paper (not the paper
# itself): its text gives 98.3% and its table, beside the other methods, 98.03 ± 0.80.
SUMMARY = "ICML 2018 course summary, Experiment 3, 002_211b927b97543b95.txt"
PAPER_ACCURACY = (98.3, 0.8)  # % and its 95% interval's half-width, the summary's text (published value, not ours)
PAPER_EPISODES = 5_000_000
MIN_SEEDS = 2  # an interval over seeds needs at least two
PAPER = Reported("'The overall accuracy (i.e. the proportion of episodes with correct classification, aggregated over "
                 "all test episodes of all runs) is 98.3%, with a 95% confidence interval of 0.80%'; 'The median "
                 "accuracy across the 10 runs was 98.5%'; 10 models each 'tested on 100 episodes using previously "
                 "unseen test classes', trained 'over 5,000,000 episodes' (its table: 98.03 ± 0.80)", SUMMARY)
# A seed failed when its held-out accuracy stays below chance + FAILED_MARGIN (20% + 10 points = 30% for 5-way):
# a learned seed is far above it (the cpu profile's seeds: 87-92%), while 100 held-out episodes at chance
# give 20 ± 8 points (95%), so a seed at chance lies below it and one that merely starts to learn does not.
FAILED_MARGIN = 0.10
PAPER_MEDIAN = 98.5  # % over the 10 runs, the summary's text ("The median accuracy across the 10 runs was 98.5%")
PAPER_MEDIAN_QUOTE = "'The median accuracy across the 10 runs was 98.5%, indicating consistency in learning'"
# How far below 98.5% our median may fall and still match it: the summary's own 95% half-width for its pooled
# accuracy (0.80 points), the only measure of spread it gives.
MEDIAN_TOLERANCE = PAPER_ACCURACY[1]
RELEASED = Reported(
    "its test script scores every model on the last 100 classes of a seed-0 shuffle, while each model held out "
    "the last 100 of its own seed's shuffle: for 9 of the 10 published models ~94% of the scored classes were "
    "training classes", "reading of the authors' released code (figures/released_code.md)")
# Published 5-way 1-shot accuracies of other methods, as listed with the paper's result (%).
PUBLISHED = {
    "Memory Networks": "82.8",
    "Matching Networks": "98.1",
    "ProtoNets": "97.4",
    "Memory Module": "98.4",
    "MAML": "98.7 ± 0.4",
    "SNAIL": "99.07 ± 0.16",
    "Differentiable plasticity (paper)": "98.03 ± 0.80 (the text: 98.3)",
}
# The summary's reading of its table: 'largely similar to those reported for ... MAML and ... Matching Networks',
# 'slightly below those reported for the SNAIL method'. "Largely similar" read as within SIMILAR points of the
# lower of the two (Matching Networks, 98.1%); the tolerance is the summary's own 95% half-width (0.80 points),
# its only measure of spread. Fixed before the runs it judges; checked at half and twice its value.
SIMILAR_TO = ("MAML", "Matching Networks")
ABOVE_US = "SNAIL"
SIMILAR = PAPER_ACCURACY[1]
TABLE_QUOTE = ("'The results of the plastic approach are largely similar to those reported for the computationally "
               "intensive MAML method and the classification-specialized Matching Networks method'; 'slightly below "
               "those reported for the SNAIL method' (Table 1: MAML 98.7 ± 0.4, Matching Networks 98.1, SNAIL "
               "99.07 ± 0.16, ProtoNets 97.4, Memory Module 98.4, Memory Networks 82.8; published values, each "
               "method's own protocol and budget)")



def budget(s: dict) -> str:
    """The training behind a :func:`summary`, in words."""
    return (f"{s['seeds']} seeds x {s['train_episodes']:,} episodes ({s['updates']:,} updates of {s['batch']} "
            f"episodes, Adam {s['lr']:.2g}), {1e3 * s['seconds_per_episode']:.1f} ms/episode; "
            f"scored on {s['eval_episodes']:,} episodes per seed and class set")


def _pct(a: dict) -> str:
    return f"{100 * a['accuracy']:.1f}% [{100 * a['low']:.1f}, {100 * a['high']:.1f}]"


def heldout_verdict(accuracy: float, high: float, chance: float, low: float, episodes: int,
                    level: float = SIGNIFICANCE) -> str:
    """The paper's 98.3 ± 0.8%: reproduced if our interval (``low``, ``high``: Wilson at the two-sided
    ``level``, 95% for 0.05) reaches its lower end; otherwise the budget rule (:func:`.contract.missed`): not
    reached within our budget when we trained fewer episodes than the paper, not reproduced when we trained as
    many."""
    paper, spread = PAPER_ACCURACY
    if 100 * high >= paper - spread:
        return verdict("reproduced", f"our {1 - level:.1%} interval reaches the paper's {paper} ± {spread}%")
    gap = f"{paper - 100 * accuracy:.1f} points short"
    if low <= chance:
        gap += f", no learning measurable (the interval includes chance, {100 * chance:.0f}%)"
    return missed(gap, episodes, PAPER_EPISODES, unit="training episodes per seed")


def generalisation_verdict(heldout: list[float], training: list[float], *, episodes: int, left_out: int = 0,
                           level: float = SIGNIFICANCE) -> str:
    """Held-out vs training classes, paired by seed (mean difference and its 95% interval over seeds):
    a significant shortfall on held-out classes means a score on training classes (the released test
    script's, for 9 of its 10 models) overstates the held-out accuracy. No shortfall detected is
    *reproduced* only after the paper's ``episodes``; before them it is *partly reproduced*: no gap
    detected at this budget, which says nothing of a gap smaller than the interval or one that opens
    later. ``left_out``: failed seeds not among those given (see :func:`failed_seeds`); ``level``: the
    two-sided significance level of the comparison."""
    apart = f" ({left_out} failed seed{'s' * (left_out > 1)} left out)" if left_out else ""
    if len(heldout) < MIN_SEEDS:
        return missed(f"no interval over seeds{apart}", len(heldout), MIN_SEEDS, unit="seeds", of="the")
    diff = paired_difference(np.array(heldout), np.array(training))
    d = f"held-out minus training {100 * diff[0]:+.1f} ± {100 * diff[1]:.1f} points over {len(heldout)} seeds{apart}"
    if compare(diff, level) == "lower":
        return verdict("not reproduced", f"{d}: a score on training classes, as the released test script's for 9 "
                                         "of its 10 models, overstates the held-out accuracy")
    if episodes >= PAPER_EPISODES:
        return verdict("reproduced", f"no gap detected: {d}")
    return verdict("partly reproduced", f"no gap detected at this budget: {d}; a gap within the interval, or one "
                                        f"that opens later, is not excluded (the paper: {PAPER_EPISODES:,} episodes "
                                        f"per seed, ours {episodes:,})")


def failed_seeds(records: list[dict], heldout: list[float], chance: float, margin: float = FAILED_MARGIN) -> list[dict]:
    """The seeds whose held-out accuracy (``heldout``, in the order of ``records``) is below ``chance +
    margin``, each with what its record shows about why: a learned eta below zero, a held-out learning
    curve that never left that band."""
    out = []
    for r, a in zip(records, heldout):
        if a >= chance + margin:
            continue
        why = []
        if r["eta"] < 0:
            why.append(f"learned eta ended below zero ({r['eta']:.3f})")
        curve = r["curve"]["heldout"]
        if max(curve) < chance + margin:
            why.append(f"held-out curve flat: never above {100 * max(curve):.0f}% in {len(curve)} points")
        out.append({"seed": r["seed"], "accuracy": a, "why": "; ".join(why) or "no cause in the record"})
    return out


def spread(values: list[float]) -> str:
    """Per-seed accuracies in words: mean, sd, min, max (%)."""
    v = 100 * np.array(values)
    sd = f"sd {v.std(ddof=1):.1f}, " if len(v) > 1 else ""
    return f"per seed: mean {v.mean():.1f}%, {sd}min {v.min():.1f}%, max {v.max():.1f}%"


def _failed_words(failed: list[dict], chance: float, others: list[float]) -> str:
    cut = f"held-out < chance + {100 * FAILED_MARGIN:.0f} points = {100 * (chance + FAILED_MARGIN):.0f}%"
    if not failed:
        return f"no failed seed ({cut})"
    listed = "; ".join(f"seed {f['seed']} ({100 * f['accuracy']:.1f}%: {f['why']})" for f in failed)
    rest = f"; the other {len(others)}: {spread(others)}" if others else ""
    return f"failed seeds ({cut}): {listed}{rest}"


def median_verdict(per_seed: list[float], episodes: int, tolerance: float = MEDIAN_TOLERANCE) -> str:
    """The summary's median over runs, 98.5%: reproduced when our median over every seed (failed ones
    included, as a median over the paper's runs would) is at most ``tolerance`` points below it; otherwise
    the budget rule (:func:`.contract.missed`) on the training episodes per seed."""
    median = 100 * float(np.median(per_seed))
    where = f"median {median:.1f}% over {len(per_seed)} seeds"
    if median >= PAPER_MEDIAN - tolerance:
        return verdict("reproduced", f"{where}, at least {PAPER_MEDIAN} - {tolerance:g} points")
    return missed(f"{where}, {PAPER_MEDIAN - median:.1f} points below {PAPER_MEDIAN}%", episodes, PAPER_EPISODES,
                  unit="training episodes per seed")


def table_verdict(low: float, high: float, episodes: int, similar: float = SIMILAR) -> str:
    """The summary's place in Table 1: largely similar to MAML and Matching Networks (our interval, ``low`` to
    ``high`` as fractions, reaches within ``similar`` points of the lower of their published numbers) and not
    above SNAIL (our interval's low end at most SNAIL's number). The published numbers were measured under each
    method's own protocol and budget: this places our accuracy among them; it does not rank the methods."""
    published = {m: float(a.split()[0]) for m, a in PUBLISHED.items()}  # "98.7 ± 0.4" -> 98.7
    nearest = min(SIMILAR_TO, key=published.get)
    floor, ceiling = published[nearest] - similar, published[ABOVE_US]
    ours = f"our interval {100 * low:.1f}-{100 * high:.1f}%"
    if 100 * high >= floor and 100 * low <= ceiling:
        return verdict("reproduced", f"{ours} reaches {floor:.2f}% ({nearest}' {published[nearest]:g} - {similar:g}) "
                                     f"and is not above {ABOVE_US}'s {ceiling:g}%")
    if 100 * low > ceiling:
        return verdict("not reproduced", f"{ours} is above {ABOVE_US}'s {ceiling:g}%")
    others = set(PUBLISHED) - {*SIMILAR_TO, ABOVE_US, "Differentiable plasticity (paper)"}
    below = [m for m in PUBLISHED if m in others and 100 * high < published[m]]
    return missed(f"{ours} is below {floor:.2f}%" + (f" (and below {', '.join(below)})" if below else ""),
                  episodes, PAPER_EPISODES, unit="training episodes per seed")


def protocol_verdict(leaks: list[float]) -> str:
    """Is the released test protocol, applied to our models, a held-out score? Only if no scored class
    was a training class of any model."""
    leaky = [f for f in leaks if f > 0]
    if not leaky:
        return verdict("reproduced", "every model's scored classes were its held-out classes")
    return verdict("not reproduced", f"for {len(leaky)} of our {len(leaks)} models {100 * np.mean(leaky):.0f}% "
                                     "(mean) of the classes the released protocol scores were training classes; "
                                     "the paper's 98.3%, from that protocol, is not a held-out figure")


def _leak_words(leaks: list[float]) -> str:
    leaky = [f for f in leaks if f > 0]
    if not leaky:
        return "none of them was a training class of any model"
    return (f"for {len(leaky)} of the {len(leaks)} models {100 * np.mean(leaky):.0f}% of them (mean) were training "
            f"classes, for the other {len(leaks) - len(leaky)} none")


def claims(result: Result) -> list[Claim]:
    """Held-out accuracy against the paper's (pooled over every seed, as the paper pools its runs, with
    the spread over seeds and the failed seeds listed apart); held-out against training classes over the
    seeds that learned (its failed-seed cut-off checked at half and twice :data:`FAILED_MARGIN`); the
    released protocol."""
    s = summary(result)
    records = result.runs["plastic"]
    held, train_, rel = (s[name] for name in CLASS_SETS)
    b, chance = budget(s), s["chance"]
    failed = failed_seeds(records, held["per_seed"], chance)
    gone = {f["seed"] for f in failed}
    others = [a for r, a in zip(records, held["per_seed"]) if r["seed"] not in gone]

    def judge_heldout(level: float) -> str:
        low, high = pooled_interval(held, level)
        return heldout_verdict(held["accuracy"], high, chance, low, s["train_episodes"], level)

    def judge(margin: float, level: float) -> str:
        out = {f["seed"] for f in failed_seeds(records, held["per_seed"], chance, margin)}
        keep = [i for i, r in enumerate(records) if r["seed"] not in out]
        return generalisation_verdict([held["per_seed"][i] for i in keep], [train_["per_seed"][i] for i in keep],
                                      episodes=s["train_episodes"], left_out=len(out), level=level)

    return [
        Claim("Omniglot 5-way 1-shot accuracy on held-out classes", str(PAPER), str(RELEASED),
              f"{_pct(held)} (95% Wilson, {held['n_episodes']:,} episodes pooled over {s['seeds']} seeds); "
              f"{spread(held['per_seed'])}; {_failed_words(failed, chance, others)}", b,
              sensitive(judge_heldout, {"significance level": SIGNIFICANCE})),
        Claim("Omniglot: accuracy on held-out classes is not below accuracy on training classes",
              f"implied: the summary's table sets 98.03 ± 0.80 beside methods scored on classes never trained on "
              f"({SUMMARY})", str(RELEASED),
              f"held-out {_pct(held)}, training {_pct(train_)}; paired by seed over the seeds that learned "
              f"({len(others)} of {s['seeds']})", b,
              sensitive(judge, {"failed: held-out < chance +": FAILED_MARGIN, "significance level": SIGNIFICANCE})),
        Claim("Omniglot: the reported accuracy is measured on each model's held-out classes",
              str(PAPER), str(RELEASED),
              f"our models scored as the released script does (seed 0's last 100 classes): {_pct(rel)}; "
              f"{_leak_words(s['leak'])}", b,
              protocol_verdict(s["leak"])),
        Claim("Omniglot: median held-out accuracy over the runs", f"{PAPER_MEDIAN_QUOTE} ({SUMMARY})", "",
              f"median {100 * float(np.median(held['per_seed'])):.1f}% over {s['seeds']} seeds beside the pooled "
              f"{100 * held['accuracy']:.1f}%; {spread(held['per_seed'])}", b,
              sensitive(lambda t: median_verdict(held["per_seed"], s["train_episodes"], t),
                        {"points below 98.5% allowed": MEDIAN_TOLERANCE})),
        Claim("Omniglot: beside Table 1's other methods, similar to MAML and Matching Networks, below SNAIL",
              f"{TABLE_QUOTE} ({SUMMARY})", "",
              f"held-out {_pct(held)}; what our budget can say: where our models stand among the published numbers "
              f"after {s['train_episodes']:,} of the paper's {PAPER_EPISODES:,} episodes; what it cannot: a ranking "
              f"of the methods (their numbers are published, not run here)", b,
              sensitive(lambda t: table_verdict(held["low"], held["high"], s["train_episodes"], t),
                        {"'largely similar' = points below 98.1%": SIMILAR})),
    ]


def comparison_table(s: dict) -> pd.DataFrame:
    """Published 5-way 1-shot accuracies (labelled as such) and our measured rows."""

    rows = [{"method": m, "accuracy (%)": a, "source": "published"} for m, a in PUBLISHED.items()]
    for name in CLASS_SETS:
        a = s[name]
        rows.append({"method": f"Differentiable plasticity (ours), {name} classes",
                     "accuracy (%)": f"{100 * a['accuracy']:.1f} [{100 * a['low']:.1f}, {100 * a['high']:.1f}]",
                     "source": f"measured: {budget(s)}; 95% Wilson interval"})
    return pd.DataFrame(rows)

