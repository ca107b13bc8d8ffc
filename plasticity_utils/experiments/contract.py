"""The experiment contract: what every module in ``experiments/`` provides, checked by :func:`check`.

An experiment module provides (:data:`REQUIRED`)::

    PROFILES: dict[str, Profile]         # exactly smoke | cpu | paper: configs per variant, seeds, Options
    run(profile, *, seeds=None, force=False, device=None, ...) -> Result   # trains or loads the stored runs
    claims(result) -> list[Claim]        # paper / authors' released code / ours, verdict
    figures(result) -> dict[str, Path]   # saved into environment.figures_dir(result.profile)

(further keywords of ``run`` have defaults), and each optional part that its registry entry declares
(:data:`CAPABILITIES`)::

    batched:  run(..., batched=None)     # a variant's missing seeds as one batched model (None: Options.batched)
    sweep:    trainer(config, device=None) -> train(seeds, checkpoint)   # picklable; loads its own data
              tag(variant) -> str, metric(record) -> float, METRIC: str   # run names, the swept number

:func:`check` raises :class:`ContractError` naming every part a module lacks; ``tests/test_registry.py``
checks every registered experiment with it and runs each one's smoke profile through ``run``, ``claims``
and ``figures``. A notebook is then: parameters, narrative, ``run``, ``figures``, ``claims`` written to
the summary by :func:`plasticity_utils.report.record`. Numbers from the papers and from runs of the
authors' released code are :class:`Reported` constants in the experiment module, each with its source; a
verdict is computed from measured numbers by a small function that is unit-tested on hand-made results.

Adding a seventh experiment means a task (``tasks/``), one experiment module registered in one place
(:data:`plasticity_utils.experiments.REGISTRY`: its module, notebook and capabilities), a test and a
notebook; nothing else needs editing: the command line (``python -m plasticity_utils``), chunks, sweeps
and the conformance test read the registry. Copy ``binary_patterns.py`` (the smallest complete example)
and keep its shape: a :class:`Record` subclass that documents each field a run stores (the config's
``RECORD_KEYS = record_keys(...)``); a frozen ``Config`` validated field by field
(:func:`plasticity_utils.validation.check`);
one trainer ``train_seeds(config, seeds, checkpoint, device, progress)`` written once over a leading run
axis (:func:`plasticity_utils.batched.train_runs`: one seed is the network itself, several are one batched
model), returning (record, parameters) per seed; ``trainer(config, device)`` wrapping it picklably for
:meth:`plasticity_utils.training.RunStore.train`; ``PROFILES``; ``run``; the ``Reported`` constants; one
verdict function per claim; ``claims`` and ``figures``; where ``run`` evaluates after training, a ``TypedDict``
for ``Result.extra`` (``Evaluations`` in :mod:`.omniglot`, :mod:`.maze`, :mod:`.natural_images`). Copy its test
``tests/test_binary_patterns.py``
(with R runs equal to R single runs in float64, as ``tests/test_batched.py`` does) and
``notebooks/01_binary_patterns.ipynb`` (change the module it imports and the name it records under).
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field, fields
from types import ModuleType
from typing import Any, Callable, Collection, Iterator, Mapping

import numpy as np

from ..environment import PROFILES as PROFILE_NAMES, check_flag, check_profile
from ..training import Record, record_keys  # noqa: F401  (part of the contract: an experiment's records)

# A verdict is one of these words, followed by a sentence that says whose claim fails where. A word may carry
# qualifiers in brackets (QUALIFIERS, several joined by "; "), e.g. "partly reproduced (threshold-dependent): ...".
VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "not reached within our budget")
THRESHOLD_DEPENDENT = "threshold-dependent"  # the word changes within half to twice a verdict's cut-off
DIFFERENT_PRESENTATION = "different presentation"  # a variant that shows the task otherwise than the claim's
DIFFERENT_RULE = "different rule"  # a variant whose network learns by another plasticity rule than the claim's
QUALIFIERS = (THRESHOLD_DEPENDENT, DIFFERENT_PRESENTATION, DIFFERENT_RULE)


@dataclass(frozen=True)
class Reported:
    """A number reported by someone else than this project's runs, and where it comes from."""

    value: str
    source: str

    def __str__(self) -> str:
        return f"{self.value} ({self.source})"


@dataclass(frozen=True)
class Options(Mapping[str, Any]):
    """What a profile sets besides its configs and seeds: the typed options every experiment reads, and
    ``extra``, an experiment's own (e.g. ``eval_episodes``, held-out episodes scored after training).

    Read a typed option as an attribute (``options.batched``); the whole is also a read-only mapping over
    both (``options["eval_episodes"]``, ``options["batched"]``), so an experiment's own options need no
    field here."""

    batched: bool = False  # train a variant's missing seeds as one batched model (capability "batched")
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_flag("batched", self.batched)
        clash = sorted(set(self.extra) & set(self._typed()))
        if clash:
            raise ValueError(f"Options: {clash} are typed options; set them as fields, not in extra")
        object.__setattr__(self, "extra", dict(self.extra))  # a copy: the profile does not share it

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> Options:
        """``options`` as :class:`Options`: typed names (``batched``) go to their fields, the rest to ``extra``."""
        if isinstance(options, Options):
            return options
        typed = {k: v for k, v in options.items() if k in cls._typed()}
        return cls(**typed, extra={k: v for k, v in options.items() if k not in typed})

    @classmethod
    def _typed(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name != "extra")

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key) if key in self._typed() else self.extra[key]

    def __iter__(self) -> Iterator[str]:
        return iter((*self._typed(), *self.extra))

    def __len__(self) -> int:
        return len(self._typed()) + len(self.extra)


@dataclass(frozen=True)
class Profile:
    """What a profile changes: the config of every variant, how many seeds each trains, and its
    :class:`Options` (a plain mapping is read as one: :meth:`Options.of`)."""

    configs: Mapping[str, Any]
    seeds: int | Mapping[str, int]  # one count for every variant, or one per variant
    note: str = ""  # how the budget and rates were chosen, stated beside the results
    options: Options = field(default_factory=Options)

    def __post_init__(self) -> None:
        if not self.configs:
            raise ValueError("Profile: configs must name at least one variant")
        counts = self.seeds.values() if isinstance(self.seeds, Mapping) else [self.seeds]
        if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in counts):
            raise ValueError(f"Profile: seeds must be integers >= 1, got {self.seeds!r}")
        if isinstance(self.seeds, Mapping) and set(self.seeds) != set(self.configs):
            raise ValueError(f"Profile: seeds name {sorted(self.seeds)}, configs {sorted(self.configs)}")
        object.__setattr__(self, "options", Options.of(self.options))

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
    runs: dict[str, list[Record]]
    device: str
    extra: dict[str, Any] = field(default_factory=dict)  # evaluations made by run() after training

    def __post_init__(self) -> None:
        check_profile(self.profile)

    @property
    def variants(self) -> tuple[str, ...]:
        return tuple(self.runs)


# ------------------------------------------------------------------------------ the checked interface
# name -> (what it is, the parameters it requires in order, keyword -> default it must take); the types are
# the docstring's; "" as a parameter list marks a constant.
REQUIRED = {
    "PROFILES": ("dict[str, Profile], exactly the profiles " + " | ".join(PROFILE_NAMES), None, {}),
    "run": ("run(profile, *, seeds=None, force=False, device=None, ...) -> Result", ("profile",),
            {"seeds": None, "force": False, "device": None}),
    "claims": ("claims(result) -> list[Claim]", ("result",), {}),
    "figures": ("figures(result) -> dict[str, Path]", ("result",), {}),
}
# capability -> the parts a module declaring it provides, as in REQUIRED ("run" adds keywords to run's)
CAPABILITIES = {
    "batched": {"run": ("run(..., batched=None): a variant's missing seeds as one batched model", ("profile",),
                        {"batched": None})},
    "sweep": {"trainer": ("trainer(config, device=None) -> a picklable train(seeds, checkpoint)", ("config",),
                          {"device": None}),
              "tag": ("tag(variant) -> str, its runs' name prefix", ("variant",), {}),
              "metric": ("metric(record) -> float, the number a sweep tabulates", ("record",), {}),
              "METRIC": ("METRIC: str, what metric measures", "", {})},
}


class ContractError(TypeError):
    """A module does not provide what the experiment contract requires (the message lists every part)."""


def check(module: ModuleType, capabilities: Collection[str] | None = None) -> ModuleType:
    """``module`` if it provides every part of :data:`REQUIRED` and of each capability in ``capabilities``
    (default: those its entry in :data:`plasticity_utils.experiments.REGISTRY` declares), and provides no
    capability it does not declare; else :class:`ContractError` naming every part missing or wrong."""
    name = module.__name__
    if capabilities is None:
        from . import REGISTRY

        entry = next((e for e in REGISTRY.values() if e.module == name), None)
        if entry is None:
            raise ContractError(f"{name} is not registered: add it to REGISTRY in plasticity_utils/experiments/"
                                "__init__.py (its module, notebook and capabilities)")
        capabilities = entry.capabilities
    unknown = sorted(set(capabilities) - set(CAPABILITIES))
    if unknown:
        raise ContractError(f"{name}: unknown capabilities {unknown}; the contract knows {tuple(CAPABILITIES)}")
    parts = [*REQUIRED.items(), *(item for cap in capabilities for item in CAPABILITIES[cap].items())]
    problems = list(dict.fromkeys(p for k, spec in parts for p in _problems(module, k, *spec)))  # once each
    problems += _undeclared(module, set(capabilities))
    if problems:
        raise ContractError(f"{name} does not follow the experiment contract "
                            f"(plasticity_utils/experiments/contract.py):\n  " + "\n  ".join(problems))
    return module


def _problems(module: ModuleType, name: str, doc: str, required: tuple[str, ...] | str | None,
              keywords: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``module.<name>`` as :data:`REQUIRED` describes it ([] if nothing)."""
    if not hasattr(module, name):
        return [f"missing {name}: {doc}"]
    value = getattr(module, name)
    if name == "PROFILES":
        if not isinstance(value, Mapping) or set(value) != set(PROFILE_NAMES):
            got = sorted(value) if isinstance(value, Mapping) else type(value).__name__
            return [f"PROFILES must map exactly {PROFILE_NAMES} to a Profile each, got {got}"]
        return [f"PROFILES[{k!r}] is a {type(v).__name__}, not a Profile" for k, v in value.items()
                if not isinstance(v, Profile)]
    if required == "":
        return [] if isinstance(value, str) and value else [f"{name} must be a non-empty str: {doc}"]
    if not callable(value):
        return [f"{name} is not callable: {doc}"]
    params = inspect.signature(value).parameters
    positional = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    wanted = [p.name for p in params.values()
              if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    problems = []
    if positional[:len(required)] != list(required) or wanted != list(required):
        problems.append(f"{name}{inspect.signature(value)} must take {', '.join(required)} first and nothing else "
                        f"without a default: {doc}")
    for k, default in keywords.items():
        p = params.get(k)
        if p is None or p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) or p.default is not default:
            problems.append(f"{name} must take the keyword {k}={default!r}: {doc}")
    return problems


def _undeclared(module: ModuleType, declared: set[str]) -> list[str]:
    """Capabilities ``module`` provides without declaring them (its registry entry would not offer them)."""
    problems = []
    if "batched" not in declared:
        if hasattr(module, "run") and callable(module.run) and "batched" in inspect.signature(module.run).parameters:
            problems.append("run takes batched= but the registry entry does not declare the capability 'batched'")
        profiles = getattr(module, "PROFILES", {})
        on = [k for k, p in profiles.items() if isinstance(p, Profile) and p.options.batched] \
            if isinstance(profiles, Mapping) else []
        if on:
            problems.append(f"PROFILES {on} set Options.batched but the registry entry does not declare 'batched'")
    if "sweep" not in declared and hasattr(module, "metric"):  # every experiment has a trainer; a metric marks a sweep
        problems.append("metric is defined but the registry entry does not declare the capability 'sweep'")
    return problems


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
        try:
            word_of(self.verdict)
        except ValueError:
            raise ValueError(f"verdict {self.verdict!r} must start with one of {VERDICTS}") from None

    def row(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def verdict(word: str, why: str = "", qualifier: str = "") -> str:
    """``word`` (one of :data:`VERDICTS`), its ``qualifier`` if any (one of :data:`QUALIFIERS`), then the
    reason, e.g. ``"not reproduced: ..."`` or ``"partly reproduced (threshold-dependent): ..."``."""
    if word not in VERDICTS:
        raise ValueError(f"{word!r} is not one of {VERDICTS}")
    if qualifier and not all(q in QUALIFIERS for q in qualifier.split("; ")):
        raise ValueError(f"qualifier {qualifier!r} is not one of {QUALIFIERS} (several joined by '; ')")
    head = f"{word} ({qualifier})" if qualifier else word
    return f"{head}: {why}" if why else head


def parts(text: str) -> tuple[str, tuple[str, ...], str]:
    """A :func:`verdict` taken apart: its word, its qualifiers and its reason ("" when none)."""
    for w in sorted(VERDICTS, key=len, reverse=True):  # "not reproduced" before "reproduced"
        if not text.startswith(w):
            continue
        rest, qualifiers = text[len(w):], ()
        if rest.startswith(" (") and ")" in rest:
            inside, rest = rest[2:].split(")", 1)
            qualifiers = tuple(inside.split("; "))
            if not all(q in QUALIFIERS for q in qualifiers):
                continue
        if rest == "" or rest.startswith(":"):
            return w, qualifiers, rest[1:].strip()
    raise ValueError(f"{text!r} does not start with one of {VERDICTS}")


def word_of(text: str) -> str:
    """The verdict word that starts ``text`` (a :func:`verdict`), without its qualifier or reason."""
    return parts(text)[0]


def variant(text: str, how: str, qualifier: str = DIFFERENT_PRESENTATION) -> str:
    """The verdict ``text`` on a variant that changes the task the claim was made for (``how`` says what
    it changes), read as a verdict on the claim: at most *partly reproduced*, labelled with ``qualifier``
    (kept beside any qualifier ``text`` has); the reason gives ``how``, then ``text`` whole as the verdict
    on the variant itself. A variant that passes shows that the claim's network can do a different task,
    not that it does what the claim says."""
    word, qualifiers, _ = parts(text)
    word = "partly reproduced" if word == "reproduced" else word
    return verdict(word, f"{how}; the variant itself: {text}", "; ".join((qualifier, *qualifiers)))


# --------------------------------------------------------------------------------- the budget rule
def share(ours: float, theirs: float) -> str:
    """``ours / theirs`` as a percentage with two significant digits ("0.25%", "1.9%", "50%")."""
    text = np.format_float_positional(100 * ours / theirs, precision=2, fractional=False, trim="-")
    return f"{text}%"


def missed(what: str, ours: int, theirs: int | None, *, unit: str = "episodes", of: str = "the paper's",
           released: str = "", no_budget: str = "the paper gives no budget") -> str:
    """The one verdict for a claim our runs miss, from our budget and the budget the claim was made at.

    * ``ours >= theirs``: *not reproduced*, we trained at least as long as the claim needs;
    * ``ours < theirs``: *not reached within our budget*, with the fraction ("after 5,000 of the paper's
      2,000,000 episodes (0.25%)");
    * ``theirs is None`` (the paper gives no budget): *not reproduced*, and the reason says why there is
      none (``no_budget``: the paper gives none; a question no paper asks has none). This is the
      conservative reading: a miss is blamed on our budget only when the paper shows that it trained longer.

    ``what`` says what was missed ("not below the threshold"); ``unit`` what is counted (episodes, seeds,
    updates); ``of`` whose budget ``theirs`` is ("the paper's", "the released code's"); ``released``
    (what the authors' released code does, if known) is added to the reason.
    """
    also = f"; {released}" if released else ""
    if theirs is None:
        return verdict("not reproduced", f"{what} after {ours:,} {unit}; {no_budget}, so the miss is "
                                         f"not put down to ours{also}")
    if ours >= theirs:
        return verdict("not reproduced", f"{what} after {ours:,} {unit}, at least {of} {theirs:,}{also}")
    return verdict("not reached within our budget",
                   f"{what} after {ours:,} of {of} {theirs:,} {unit} ({share(ours, theirs)}){also}")


def episodes_to_threshold(first: int | None, paper: int, budget: int, *, slack: float = 1.25,
                          released: str = "") -> str:
    """Verdict on "below the threshold after about ``paper`` episodes": reproduced if ours gets there
    within ``slack`` x ``paper``; reproduced later (partly) if within the budget; a miss goes through
    :func:`missed` with ``paper`` as the paper's budget (so 5,000 episodes without reaching what the
    paper reaches within 2,000 is *not reproduced*). ``released`` (what the authors' released code does,
    if known) is added to a shortfall's reason."""
    also = f"; {released}" if released else ""
    if first is None:
        return missed("not below the threshold", budget, paper, released=released)
    if first <= slack * paper:
        return verdict("reproduced", f"episode {first:,} vs the paper's ~{paper:,}")
    return verdict("partly reproduced", f"reached at episode {first:,}, later than the paper's ~{paper:,}{also}")


def below(value: float, bound: float, what: str, *, released: str = "") -> str:
    """Verdict on "``what`` is below ``bound``" from the measured ``value`` (``released`` as above)."""
    also = f"; {released}" if released else ""
    if value < bound:
        return verdict("reproduced", f"{what} {value:.3g} < {bound:g}")
    return verdict("not reproduced", f"{what} {value:.3g} >= {bound:g}{also}")


# ---------------------------------------------------------------------------- the sensitivity rule
SENSITIVITY = (0.5, 2.0)  # a threshold-dependent verdict is recomputed at half and twice its cut-off


def sensitive(judge: Callable[..., str], cutoffs: Mapping[str, float], *,
              factors: tuple[float, ...] = SENSITIVITY) -> str:
    """A threshold-dependent verdict checked across its cut-offs' plausible range.

    ``judge(*values)`` is the verdict (a :func:`verdict` string) with the cut-offs set to ``values``, in the
    order of ``cutoffs`` (name in the reason -> the value the verdict uses, e.g. ``{"|mean pattern alpha| >":
    1.0}``). The verdict is computed at the cut-offs and with each cut-off in turn set to ``value * f`` for
    each of ``factors`` (half and twice by default), the others kept:

    * the same word everywhere: that word, with the reason of the verdict at the cut-offs;
    * different words, *reproduced* at the cut-offs: *partly reproduced (threshold-dependent)*, since the
      claim holds at some cut-offs only;
    * different words, another word at the cut-offs: that word, qualified as threshold-dependent (a claim
      missed at our cut-offs is not upgraded because a looser one would pass it).

    When the words differ, the reason gives the verdict at our cut-offs in full, then each other setting's
    word, with the first clause of its reason (its numbers) where the word differs from ours.
    """
    if not cutoffs:
        raise ValueError("sensitive: name at least one cut-off")
    base = tuple(cutoffs.values())
    settings: list[tuple[str, tuple[float, ...]]] = [
        ("our cut-offs (" + ", ".join(f"{n} {v:g}" for n, v in cutoffs.items()) + ")", base)]
    for k, (name, value) in enumerate(cutoffs.items()):
        for f in factors:
            values = base[:k] + (value * f,) + base[k + 1:]
            settings.append((f"{name} {value * f:g}", values))
    judged = [(label, judge(*values)) for label, values in settings]
    words = [word_of(v) for _, v in judged]
    if len(set(words)) == 1:
        return judged[0][1]
    ours, _, why = parts(judged[0][1])
    shown = [f"at {judged[0][0]}: {ours}" + (f": {why}" if why else "")]
    for (label, v), w in zip(judged[1:], words[1:]):
        first = parts(v)[2].split("; ")[0]
        shown.append(f"at {label}: {w}" + (f" ({first})" if w != ours and first else ""))
    word = "partly reproduced" if ours == "reproduced" else ours
    return verdict(word, "; ".join(shown), THRESHOLD_DEPENDENT)
