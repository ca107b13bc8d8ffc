"""The paper's claims judged against our runs: what others report, the verdict functions, and claims().

The paper reports its findings as figures and text, without numbers, so each verdict applies an
explicit criterion to our measured numbers. Every verdict function is a pure function of numbers
(tested on hand-made inputs for every verdict word it can return).
"""

from __future__ import annotations

import numpy as np

from ..contract import Claim, Reported, verdict
from .analysis import RELIABLE, SOLVED, STRONG, after_reversal_miss, budget, iqr, sign_counts, sign_stats, success
from .runs import Result
from .variants import VARIANTS

PAPER = "Miconi 2016, arXiv:1609.02228"
PAPER_LEARNED = {
    "completion": Reported("median error near 0, narrow interquartile range over 20 runs", f"{PAPER}, §4.2, Fig. 1a"),
    "one_shot": Reported("median error near 0, narrow interquartile range over 20 runs", f"{PAPER}, §4.3, Fig. 2a"),
    "reversal": Reported("median error near 0, narrow interquartile range over 20 runs", f"{PAPER}, §4.4, Fig. 3a"),
}
PAPER_SIGN_REVERSAL = Reported("all networks trained for reversal have negative plasticity on the pattern -> hidden "
                               "connections (no counts)", f"{PAPER}, §4.4")
PAPER_SIGN_ONE_SHOT = Reported("some one-shot networks have negative plasticity on all pattern -> hidden connections "
                               "(no counts)", f"{PAPER}, §4.3-4.4")
PAPER_CLIPPED = Reported("plasticity coefficients clipped to positive values: reversal not learned, one-shot still "
                         "learned (data not shown)", f"{PAPER}, §4.4")
# Numbers from this project's audit of OUR code (not the authors' released code, which this project has not run).
AUDIT = "this project's audit (issue 11)"
AUDIT_ADAM = Reported("over learned reversal runs, strongly plastic units 24 negative vs 5 positive; every learned "
                      "run had a strongly negative unit; the 3 all-positive runs all failed to learn",
                      f"{AUDIT}, earlier Adam runs of our code")
AUDIT_RMSPROP = Reported("0 of 17 learned reversal runs had a strongly positive unit",
                         f"{AUDIT}, our code with the 2016 optimiser")
OPTIMISER_SUFFIX = {"": "Adam", "_rmsprop2016": "2016 RMSprop"}


# ------------------------------------------------------------------------------------ verdicts
def learned_verdict(learned: int, runs: int, episodes: int, paper_episodes: int) -> str:
    """"Learned reliably": at least :data:`RELIABLE` of the ``runs`` learned (miss rate < :data:`SOLVED`)."""
    what = f"{learned}/{runs} runs miss < {SOLVED:.0%} of the scored steps"
    if runs and learned >= RELIABLE * runs:
        return verdict("reproduced", what)
    if episodes < paper_episodes:
        return verdict("not reached within our budget",
                       f"{what} after {episodes:,} episodes (the paper trained {paper_episodes:,})")
    if learned:
        return verdict("partly reproduced", f"only {what}; the paper's runs learn reliably")
    return verdict("not reproduced", f"no run learns ({what}); the paper's runs learn reliably")


def unit_sign_verdict(learned: int, with_negative: int, negative_units: int, positive_units: int, *,
                      earlier: str = "") -> str:
    """"All reversal networks have negative pattern -> hidden plasticity", per unit over the learned
    runs: reproduced when every learned run has a strongly negative unit and no strongly plastic unit
    is positive; partly when every learned run has one, or most strongly plastic units are negative.
    ``earlier`` (numbers of earlier runs of our code) is added to a shortfall's reason."""
    also = f"; {earlier}" if earlier else ""
    if learned == 0:
        return verdict("not reached within our budget", f"no run learned, so no learned network to inspect{also}")
    found = (f"{with_negative}/{learned} learned runs have a strongly negative unit; strongly plastic units "
             f"{negative_units} negative vs {positive_units} positive")
    if with_negative == learned and positive_units == 0:
        return verdict("reproduced", found)
    if with_negative == learned or negative_units > positive_units:
        return verdict("partly reproduced", f"{found} (the paper: all negative){also}")
    return verdict("not reproduced", f"{found} (the paper: all negative){also}")


def one_shot_sign_verdict(learned: int, with_negative: int) -> str:
    """"Some one-shot networks have negative plasticity" (in contrast with reversal, where all do), per
    unit: reproduced when some but not all learned one-shot runs have a strongly negative unit."""
    if learned == 0:
        return verdict("not reached within our budget", "no one-shot run learned, so no learned network to inspect")
    found = f"{with_negative}/{learned} learned one-shot runs have a strongly negative unit"
    if 0 < with_negative < learned:
        return verdict("reproduced", f"{found} (the paper: some)")
    if with_negative == learned:
        return verdict("partly reproduced", f"{found}: all of them, where the paper finds it in only some "
                                            "(its contrast with reversal is not seen)")
    return verdict("not reproduced", f"{found} (the paper: some)")


def strict_sign_verdict(reversal_negative: float, one_shot_negative: float) -> str:
    """The strict per-run reading: the share of runs whose every hidden unit has a negative mean
    pattern alpha should be 1 for reversal and strictly between 0 and 1 for one-shot."""
    found = f"runs with every unit negative: reversal {reversal_negative:.0%}, one-shot {one_shot_negative:.0%}"
    if reversal_negative == 1 and 0 < one_shot_negative < 1:
        return verdict("reproduced", found)
    if reversal_negative >= 0.75 and one_shot_negative < reversal_negative:
        return verdict("partly reproduced", f"{found} (the paper: all reversal runs, some one-shot runs)")
    return verdict("not reproduced", f"{found} (the paper: all reversal runs, some one-shot runs)")


def clipped_verdict(after_swap_miss: float, one_shot_learned: float, one_shot_miss: float) -> str:
    """The clipped-alpha ablation from the medians over runs: reversal counts as prevented when the
    clipped networks miss >= 0.4 of the steps after the swap (chance 0.5); one-shot as still learned
    when >= :data:`RELIABLE` of its clipped runs learned (partly: median miss rate < 0.25)."""
    prevented = after_swap_miss >= 0.4
    found = (f"reversal with clipped alpha misses {after_swap_miss:.2f} after the swap (chance 0.5); "
             f"{one_shot_learned:.0%} of clipped one-shot runs learn (median miss {one_shot_miss:.3f})")
    if prevented and one_shot_learned >= RELIABLE:
        return verdict("reproduced", found)
    if prevented and one_shot_miss < 0.25:
        return verdict("partly reproduced", f"{found}: reversal prevented; one-shot well above chance but fewer "
                                            f"than {RELIABLE:.0%} of runs below {SOLVED:.0%}")
    why = "reversal is still learned" if not prevented else "one-shot is not learned either"
    return verdict("not reproduced", f"{found}: {why}")


# -------------------------------------------------------------------------------------- claims
def _title(name: str) -> str:
    for suffix, optimiser in OPTIMISER_SUFFIX.items():
        if suffix and name.endswith(suffix):
            return f"{name[: -len(suffix)].replace('_', '-')} ({optimiser})"
    return name.replace("_", "-")


def _unit_text(c: dict[str, int]) -> str:
    return (f"{c['learned']}/{c['runs']} runs learned; among them, strongly plastic units (|mean pattern alpha| > "
            f"{STRONG:g}) {c['negative_units']} negative vs {c['positive_units']} positive, learned runs with a "
            f"strongly negative unit {c['learned_with_negative']}/{c['learned']}; runs with every unit positive "
            f"{c['all_positive_runs']} ({c['all_positive_learned']} of them learned)")


def claims(result: Result) -> list[Claim]:
    """The paper's claims judged against ``result`` (rows whose variants were not run are left out)."""
    have = result.batches
    out = []
    for name in ("completion", "one_shot", "reversal", "one_shot_rmsprop2016", "reversal_rmsprop2016"):
        if name not in have:
            continue
        r, ok = have[name], success(have[name])
        unit = "sign errors per bit" if r.config.task == "completion" else "misclassified steps"
        out.append(Claim(
            f"{_title(name)}: learned reliably (frozen episodes)", str(PAPER_LEARNED[r.config.task]), "",
            f"error {iqr(r.final_error)} (median [IQR]); {unit} {iqr(r.final_miss)}; "
            f"{ok.sum()}/{len(ok)} runs below {SOLVED:.0%}",
            budget(r), learned_verdict(int(ok.sum()), len(ok), r.config.episodes, VARIANTS[name].episodes)))
    for suffix, optimiser in OPTIMISER_SUFFIX.items():
        rev, one = have.get(f"reversal{suffix}"), have.get(f"one_shot{suffix}")
        earlier = str(AUDIT_ADAM if suffix == "" else AUDIT_RMSPROP)
        if rev is not None:
            c = sign_counts(rev)
            out.append(Claim(
                f"reversal ({optimiser}): negative pattern->hidden plasticity in every learned run (per unit)",
                str(PAPER_SIGN_REVERSAL), "", _unit_text(c), budget(rev),
                unit_sign_verdict(c["learned"], c["learned_with_negative"], c["negative_units"], c["positive_units"],
                                  earlier=earlier)))
        if one is not None:
            c = sign_counts(one)
            out.append(Claim(
                f"one-shot ({optimiser}): negative pattern->hidden plasticity in some learned runs (per unit)",
                str(PAPER_SIGN_ONE_SHOT), "", _unit_text(c), budget(one),
                one_shot_sign_verdict(c["learned"], c["learned_with_negative"])))
        if rev is not None and one is not None:
            s_rev, s_one = sign_stats(rev), sign_stats(one)
            out.append(Claim(
                f"negative pattern->hidden plasticity, strict per run ({optimiser}): all reversal runs, some one-shot",
                f"{PAPER_SIGN_REVERSAL}; {PAPER_SIGN_ONE_SHOT}", "",
                f"runs whose hidden units all have a negative mean pattern alpha: reversal "
                f"{s_rev['share_runs_negative']:.0%} (mixed signs {s_rev['share_runs_mixed']:.0%}), one-shot "
                f"{s_one['share_runs_negative']:.0%} (mixed {s_one['share_runs_mixed']:.0%})",
                budget(rev), strict_sign_verdict(s_rev["share_runs_negative"], s_one["share_runs_negative"])))
    if all(k in have for k in ("one_shot", "reversal", "one_shot_clipped", "reversal_clipped")):
        clipped_one = have["one_shot_clipped"]
        after = {k: float(np.median(after_reversal_miss(have[k]))) for k in ("reversal", "reversal_clipped")}
        miss = {k: float(np.median(have[k].final_miss)) for k in ("one_shot", "one_shot_clipped")}
        learned = success(clipped_one)
        out.append(Claim(
            "alpha clipped >= 0: one-shot still learned, reversal not", str(PAPER_CLIPPED), "",
            f"reversal, miss rate after the swap (chance 0.5), median: clipped {after['reversal_clipped']:.2f}, "
            f"unclipped {after['reversal']:.2f}; one-shot miss rate, median: clipped {miss['one_shot_clipped']:.3f} "
            f"({learned.sum()}/{len(learned)} runs below {SOLVED:.0%}), unclipped {miss['one_shot']:.3f}",
            budget(have["reversal_clipped"]),
            clipped_verdict(after["reversal_clipped"], float(learned.mean()), miss["one_shot_clipped"])))
    return out
