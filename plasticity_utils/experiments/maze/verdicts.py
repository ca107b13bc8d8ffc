"""What the papers and the released code report, the analysis of the reward curves, and the rows."""

from __future__ import annotations

import numpy as np
from scipy import stats

from ...plotting import smooth
from ...stats import SIGNIFICANCE
from ..contract import Claim, Reported, Result, missed, sensitive, verdict
from .config import PROFILES
from .runs import hits_test


# What others report (see :mod:`.contract`).
PAPER_EPISODES = 200_000  # training episodes per run behind the paper's maze claims (ICML 2018 §4.4, Fig. 4)
PAPER_SEPARATION = Reported("plastic clearly above non-plastic (15 runs per condition, ~200,000 episodes, "
                            "rank-sum test)", "ICML 2018 §4.4, Fig. 4")
PAPER_HOMOGENEOUS = Reported("homogeneous plastic below full plastic", "ICML 2018 §4.4, Fig. 4")
PAPER_STUCK = Reported("'The non-plastic and homogeneous networks get stuck on a sub-optimal policy' (Results 2)",
                       "ICML 2018 course summary, maze, 002_211b927b97543b95.txt")
# "Stuck": over the last half of training the median run gains less than STALL of its whole rise (first to
# last fifth of training): a tenth, so that a curve still climbing at a tenth of its earlier pace is not stuck.
STALL = 0.10
PAPER_RETURNS = Reported("the agent returns to the reward after each teleport", "ICML 2018 §4.4")
RELEASED = Reported("one episode per update for ~1,000,000 updates per run (its figure keeps runs with at least "
                    "9,000 plotted points)", "authors' released maze code, read for this project (figures/released_code.md)")


def reward_curves(records: list[dict], window: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """x = episodes trained (after each update) and the runs' reward per episode (runs x updates),
    each run smoothed by a trailing mean over ``window`` updates."""
    rewards = np.array([r["reward"] for r in records], dtype=float)
    x = np.arange(1, rewards.shape[1] + 1) * records[0]["batch"]
    return x, smooth(rewards, window)


def final_rewards(records: list[dict], last: float = 0.2) -> np.ndarray:
    """Each run's mean reward per episode over the last ``last`` fraction of its updates."""
    rewards = np.array([r["reward"] for r in records], dtype=float)
    k = max(1, int(round(last * rewards.shape[1])))
    return rewards[:, -k:].mean(1)


def course(records: list[dict], last: float = 0.2) -> dict[str, float]:
    """The median run's reward per episode over the first, the middle (ending half-way) and the last ``last``
    fraction of training; ``rise`` = last - first, ``late`` = last - middle (the last half's gain)."""
    rewards = np.array([r["reward"] for r in records], dtype=float)
    n = rewards.shape[1]
    k = max(1, int(round(last * n)))
    first, middle, end = (float(np.median(rewards[:, a:a + k].mean(1))) for a in (0, max(0, n // 2 - k), n - k))
    return {"first": first, "middle": middle, "end": end, "rise": end - first, "late": end - middle}


def stuck_verdict(courses: dict[str, dict[str, float]], episodes: int, stall: float = STALL) -> str:
    """Verdict on "the non-plastic and homogeneous networks get stuck on a sub-optimal policy": each ends below
    the plastic network and has stalled (its last half's gain below ``stall`` x its whole rise; no gain at all
    when it never rose). A miss goes through the budget rule (:func:`.contract.missed`)."""
    top = courses["plastic"]["end"]
    words, ok = [], True
    for name in ("nonplastic", "homogeneous"):
        c = courses[name]
        stalled = c["late"] < stall * max(c["rise"], 0.0) if c["rise"] > 0 else c["late"] <= 0
        below = c["end"] < top
        ok &= stalled and below
        words.append(f"{LABELS[name]} {'stalled' if stalled else 'still rising'} (last half {c['late']:+.2f} of a "
                     f"{c['rise']:+.2f} rise), {'below' if below else 'not below'} plastic ({c['end']:.2f} vs {top:.2f})")
    if ok:
        return verdict("reproduced", "; ".join(words))
    return missed("; ".join(words), episodes, PAPER_EPISODES, unit="episodes per run")


def rank_sum(a: list[dict], b: list[dict], last: float = 0.2) -> dict:
    """Wilcoxon rank-sum (Mann-Whitney U) tests, two-sided, of reward between two conditions over the
    last ``last`` fraction of training.

    ``per_run``: one value per run (its mean reward there); the runs are independent, so this is the
    test to trust, but with few runs its smallest attainable p-value is large (0.029 for 4 vs 4).
    ``pooled``: every update's batch-mean reward of every run as one sample; updates of one run are
    not independent, so this p-value is optimistic and is shown for comparison only.
    """
    fa, fb = final_rewards(a, last), final_rewards(b, last)
    per_run = stats.mannwhitneyu(fa, fb, alternative="two-sided")
    k = max(1, int(round(last * len(a[0]["reward"]))))
    pa = np.concatenate([r["reward"][-k:] for r in a])
    pb = np.concatenate([r["reward"][-k:] for r in b])
    pooled = stats.ranksums(pa, pb)
    return {"median_a": float(np.median(fa)), "median_b": float(np.median(fb)), "n_a": len(fa), "n_b": len(fb),
            "U": float(per_run.statistic), "p_per_run": float(per_run.pvalue),
            "p_pooled": float(pooled.pvalue), "updates_compared": k}


LABELS = {"plastic": "plastic", "nonplastic": "non-plastic", "homogeneous": "homogeneous plastic",
          "random": "random policy"}


def comparison_verdict(median_a: float, median_b: float, p: float, runs: int, episodes: int,
                       level: float = SIGNIFICANCE) -> str:
    """Verdict on "a collects more reward than b" from the rank-sum test over runs (two-sided, at ``level``)."""
    where = f"{median_a:.2f} vs {median_b:.2f} reward/episode, p = {p:.2f} over {runs} vs {runs} runs"
    if median_a > median_b and p < level:
        return verdict("reproduced", where)
    if median_a < median_b and p < level:
        return verdict("not reproduced", f"significantly the other way: {where}")
    return missed(f"no significant difference ({where})", episodes, PAPER_EPISODES, unit="episodes per run")


def returns_verdict(best_finds: int, above_chance: bool, random_best: int, episodes: int) -> str:
    """Verdict on "the trained agent returns to the reward": its best evaluation episode finds the
    reward at least twice, and over all episodes it finds it more often than a random policy (a best
    episode alone proves nothing: a random walk also finds the reward several times now and then).
    A miss after ``episodes`` training episodes per run goes through the budget rule (:func:`.contract.missed`)."""
    if best_finds >= 2 and above_chance:
        return verdict("reproduced", f"best episode {best_finds} finds, and above the random policy overall")
    if best_finds >= 2:
        return missed(f"best episode {best_finds} finds, but a random policy does as much (its best episode: "
                      f"{random_best}) and the agent is not above it overall", episodes, PAPER_EPISODES,
                      unit="episodes per run")
    return missed(f"no evaluation episode finds the reward twice (best {best_finds})", episodes, PAPER_EPISODES,
                  unit="episodes per run")


def speed(runs: dict[str, list[dict]], key: str = "seconds") -> dict[str, float]:
    """Mean seconds per update of each condition: wall-clock (``key="seconds"``) or the process's CPU time
    (``"cpu_seconds"``, which other processes on the machine do not inflate)."""
    return {c: float(np.mean([r[key] / len(r["reward"]) for r in rs])) for c, rs in runs.items()}


def budget(result: Result) -> str:
    cfg, n = PROFILES[result.profile].configs["plastic"], len(result.runs["plastic"])
    cpu = all("cpu_seconds" in r for rs in result.runs.values() for r in rs)
    s = speed(result.runs, "cpu_seconds" if cpu else "seconds")
    minutes = sum(r["seconds"] for rs in result.runs.values() for r in rs) / 60
    return (f"{n} runs x {cfg.updates} updates of {cfg.batch} episodes = {cfg.episodes:,} episodes per run and "
            f"condition (released code: ~1,000,000 updates of 1 episode); {s['plastic']:.1f} / {s['nonplastic']:.1f} "
            f"/ {s['homogeneous']:.1f} s {'of CPU time ' if cpu else ''}per update (plastic / non-plastic / "
            f"homogeneous); {minutes:.0f} min of wall time in all on {result.device}")


def finds(result: Result) -> dict[str, np.ndarray]:
    """Rewards found per evaluation episode, per condition and for the random policy."""
    return {c: ep.hits(result.extra["task"]).cpu().numpy() for c, ep in result.extra["evals"].items()}


def claims(result: Result) -> list[Claim]:
    """The separation claims (rank-sum over runs) and the trained agent's returns to the reward."""
    tests, b, last = result.extra["tests"], budget(result), result.extra["last"]
    episodes = PROFILES[result.profile].configs["plastic"].episodes
    final = {c: float(np.median(final_rewards(rs, last))) for c, rs in result.runs.items()}
    main, homo = tests[("plastic", "nonplastic")], tests[("plastic", "homogeneous")]
    h = finds(result)
    p_chance = hits_test(result.extra["evals"]["plastic"], result.extra["evals"]["random"], result.extra["task"])
    level = {"significance level": SIGNIFICANCE}
    courses = {c: course(rs, last) for c, rs in result.runs.items()}

    def compared(test: dict) -> str:
        return sensitive(lambda a: comparison_verdict(test["median_a"], test["median_b"], test["p_per_run"],
                                                      test["n_a"], episodes, a), level)

    def returns(a: float) -> str:
        above = bool(h["plastic"].mean() > h["random"].mean() and p_chance < a)
        return returns_verdict(int(h["plastic"].max()), above, int(h["random"].max()), episodes)

    return [
        Claim("maze: plastic vs non-plastic reward per episode at the end of training (median over runs)",
              str(PAPER_SEPARATION), str(RELEASED),
              f"{final['plastic']:.2f} vs {final['nonplastic']:.2f}; rank-sum p = {main['p_per_run']:.3f} "
              f"({main['n_a']} vs {main['n_b']} runs; pooled updates p = {main['p_pooled']:.2g})", b,
              compared(main)),
        Claim("maze: homogeneous plastic (one shared alpha) vs full plastic", str(PAPER_HOMOGENEOUS), "",
              f"{final['homogeneous']:.2f} vs {final['plastic']:.2f}; rank-sum p = {homo['p_per_run']:.3f}", b,
              compared(homo)),
        Claim("maze: the non-plastic and homogeneous networks get stuck below the plastic one (learning curves)",
              str(PAPER_STUCK), "",
              "median reward per episode, first / middle / last fifth of training: " + "; ".join(
                  f"{LABELS[c]} {k['first']:.2f} / {k['middle']:.2f} / {k['end']:.2f}" for c, k in courses.items()),
              b, sensitive(lambda t: stuck_verdict(courses, episodes, t), {"stalled: last-half gain / rise <": STALL})),
        Claim("maze: trained plastic agent finds the reward at least twice in one episode", str(PAPER_RETURNS), "",
              f"best of {len(h['plastic'])} episodes: {int(h['plastic'].max())} finds; mean {h['plastic'].mean():.2f} "
              f"per episode (uniformly random policy: best {int(h['random'].max())}, mean {h['random'].mean():.2f}; "
              f"p = {p_chance:.2g})", b, sensitive(returns, level)),
    ]
