"""The experiment contract shared by every module in ``experiments/``.

Each experiment module exposes the same four things::

    PROFILES: dict[str, Profile]                      # smoke | cpu | paper: configs per variant, seeds
    run(profile, *, seeds=None, force=False, device=None) -> Result
    claims(result) -> list[Claim]                     # paper / authors' released code / ours, verdict
    figures(result) -> dict[str, Path]                # saved into config.figures_dir(result.profile)

A notebook is then: parameters, narrative, ``run``, ``figures``, ``claims`` written to the summary by
:func:`plasticity_utils.report.record`. Numbers from the papers and from runs of the authors' released
code are :class:`Reported` constants in the experiment module, each with its source; a verdict is
computed from measured numbers by a small function that is unit-tested on hand-made results.

Adding an experiment: copy ``binary_patterns.py`` (the smallest complete example) and its test
``tests/test_binary_patterns.py``; keep its shape: a frozen ``Config`` validated field by field
(:func:`plasticity_utils.validation.check`), ``train_seed(config, seed, checkpoint, device)`` returning
(record, parameters) for :class:`~plasticity_utils.training.RunStore`, ``PROFILES``, ``run``, the
``Reported`` constants, one verdict function per claim, ``claims`` and ``figures``; then copy
``notebooks/01_binary_patterns.ipynb`` and change the module it imports and the name it records under.
Two optional parts, also shown there: ``train_batch(config, seeds, checkpoint, device)`` trains several
seeds as one batched model for a GPU (:func:`plasticity_utils.batched.train_runs`; test it equal to
``train_seed`` in float64 as ``tests/test_batched.py`` does), and ``trainer`` / ``metric`` / ``METRIC`` /
``tag`` make the experiment sweepable (:mod:`plasticity_utils.sweep`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from ..config import check_profile

# A verdict is one of these words, followed by a sentence that says whose claim fails where.
VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "not reached within our budget")


@dataclass(frozen=True)
class Reported:
    """A number reported by someone else than this project's runs, and where it comes from."""

    value: str
    source: str

    def __str__(self) -> str:
        return f"{self.value} ({self.source})"


@dataclass(frozen=True)
class Profile:
    """What a profile changes: the config of every variant and how many seeds each trains."""

    configs: Mapping[str, Any]
    seeds: int | Mapping[str, int]  # one count for every variant, or one per variant
    note: str = ""  # how the budget and rates were chosen, stated beside the results
    options: Mapping[str, Any] = field(default_factory=dict)  # e.g. held-out episodes scored after training

    def __post_init__(self) -> None:
        if not self.configs:
            raise ValueError("Profile: configs must name at least one variant")
        counts = self.seeds.values() if isinstance(self.seeds, Mapping) else [self.seeds]
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in counts):
            raise ValueError(f"Profile: seeds must be integers >= 1, got {self.seeds!r}")
        if isinstance(self.seeds, Mapping) and set(self.seeds) != set(self.configs):
            raise ValueError(f"Profile: seeds name {sorted(self.seeds)}, configs {sorted(self.configs)}")

    def seeds_for(self, variant: str) -> list[int]:
        """The default seeds of one variant."""
        return list(range(self.seeds[variant] if isinstance(self.seeds, Mapping) else self.seeds))


def select_profile(profiles: Mapping[str, Profile], profile: str) -> Profile:
    check_profile(profile)
    if profile not in profiles:
        raise ValueError(f"profile={profile!r} is not defined here; choose one of {tuple(profiles)}")
    return profiles[profile]


@dataclass
class Result:
    """What :func:`run` returns: the stored records of every variant (one per seed) at a profile."""

    experiment: str
    profile: str
    runs: dict[str, list[dict]]
    device: str
    extra: dict[str, Any] = field(default_factory=dict)  # evaluations made by run() after training

    def __post_init__(self) -> None:
        check_profile(self.profile)

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(self.runs)


@dataclass(frozen=True)
class Claim:
    """One row of the summary: a claim judged three ways (the paper's text, the authors' released
    code where known, ours) with the budget ours was measured after and a verdict."""

    claim: str
    paper: str
    released: str
    ours: str
    budget: str
    verdict: str

    def __post_init__(self) -> None:
        if not any(self.verdict == v or self.verdict.startswith(v + ":") for v in VERDICTS):
            raise ValueError(f"verdict {self.verdict!r} must start with one of {VERDICTS}")

    def row(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def verdict(word: str, why: str = "") -> str:
    """``word`` (one of :data:`VERDICTS`) followed by the reason, e.g. ``"not reproduced: ..."``."""
    if word not in VERDICTS:
        raise ValueError(f"{word!r} is not one of {VERDICTS}")
    return f"{word}: {why}" if why else word


def episodes_to_threshold(first: int | None, paper: int, budget: int, *, slack: float = 1.25,
                          released: str = "") -> str:
    """Verdict on "below the threshold after about ``paper`` episodes": reproduced if ours gets there
    within ``slack`` x ``paper``; reproduced later (partly) if within the budget; else not reached.
    ``released`` (what the authors' released code does, if known) is added to a shortfall's reason."""
    also = f"; {released}" if released else ""
    if first is None:
        return verdict("not reached within our budget", f"not below the threshold in {budget:,} episodes{also}")
    if first <= slack * paper:
        return verdict("reproduced", f"episode {first:,} vs the paper's ~{paper:,}")
    return verdict("partly reproduced", f"reached at episode {first:,}, later than the paper's ~{paper:,}{also}")


def below(value: float, bound: float, what: str, *, released: str = "") -> str:
    """Verdict on "``what`` is below ``bound``" from the measured ``value`` (``released`` as above)."""
    also = f"; {released}" if released else ""
    if value < bound:
        return verdict("reproduced", f"{what} {value:.3g} < {bound:g}")
    return verdict("not reproduced", f"{what} {value:.3g} >= {bound:g}{also}")
