"""The shared field checks (plasticity_utils.validation) and their use by every config and task dataclass."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, replace

import numpy as np
import pytest

from plasticity_utils import baselines
from plasticity_utils.experiments import binary_patterns as bp
from plasticity_utils.experiments import bohp2016 as bohp
from plasticity_utils.experiments import maze as mz
from plasticity_utils.experiments import natural_images as ni
from plasticity_utils.experiments import omniglot as om
from plasticity_utils.experiments import plastic_vs_lstm as pvl
from plasticity_utils.tasks import bohp2016 as bohp_tasks
from plasticity_utils.tasks import images, maze, omniglot, patterns
from plasticity_utils.validation import check, label

# --------------------------------------------------------------------------- the helper itself


@dataclass(frozen=True)
class Probe:
    """One field, checked as ``category``."""

    value: object
    category: str

    def __post_init__(self) -> None:
        if self.category == "choices":
            check(self, choices={"value": ("a", "b")})
        elif self.category == "types":
            check(self, types={"value": tuple})
        else:
            check(self, **{self.category: ("value",)})


NAN, INF = math.nan, math.inf
# category: (accepted, rejected with ValueError, rejected with TypeError)
CASES = {
    "counts": ([1, 7], [0, -3], [1.5, 1.0, True, "3", None, np.int64(3)]),
    "non_negative": ([0, 5], [-1], [0.0, False, "0"]),
    "positive": ([1e-5, 3, 20.0], [0, 0.0, -1e-4, INF, NAN], [True, "0.1", None]),
    "non_negative_real": ([0, 0.0, 0.1], [-0.1, INF, NAN], [False, "0"]),
    "unit": ([0, 0.5, 1.0], [-0.01, 1.01, NAN], [True, "0.5"]),
    "open_unit": ([0.5, 1e-9], [0, 1, 1.0, NAN], ["0.5", None]),
    "rate": ([1, 0.01, 1.0], [0, 0.0, 1.5, -0.1, NAN], [None, True]),
    "flags": ([True, False], [], [0, 1, "True", None, np.bool_(True)]),
    "choices": (["a", "b"], ["c", "A", ""], [1, None, ("a",)]),
    "types": ([(1, 2), ()], [], [[1, 2], "ab"]),
}
PARAMS = [(c, v, outcome) for c, (good, bad, wrong) in CASES.items()
          for outcome, values in ((None, good), (ValueError, bad), (TypeError, wrong)) for v in values]


@pytest.mark.parametrize("category, value, error", PARAMS, ids=[f"{c}-{v!r}" for c, v, _ in PARAMS])
def test_check_categories(category, value, error):
    if error is None:
        Probe(value, category)
        return
    with pytest.raises(error) as info:
        Probe(value, category)
    message = str(info.value)
    assert message.startswith("test_validation.Probe: value must be ")
    assert repr(value) in message


def test_unknown_category_is_a_programming_error():
    with pytest.raises(TypeError, match="unknown categories"):
        check(Probe(1, "counts"), count=("value",))


def test_message_names_class_field_value_and_what_is_allowed():
    with pytest.raises(ValueError) as info:
        bp.Config(batch=0)
    assert str(info.value) == "binary_patterns.Config: batch must be an integer >= 1, got 0"
    with pytest.raises(TypeError, match=r"batch must be an integer >= 1, got 1.5 \(float\)"):
        bp.Config(batch=1.5)
    with pytest.raises(TypeError, match=r"^maze.Config: condition must be one of \('plastic', "):
        mz.Config(condition=3)
    with pytest.raises(TypeError, match=r"task must be a PatternTask, got \{'n_bits': 10\} \(dict\)"):
        bp.Config(task={"n_bits": 10})


# --------------------------------------------------------------------------- every config and task dataclass
# One valid instance of every config/task dataclass of the package.
BASES = [bp.Config(), ni.Config(), pvl.BaselineConfig(), om.Config(), mz.Config(), bohp.Config(),
         patterns.PatternTask(), images.ImageTask(), images.RandomErasureTask(), omniglot.OmniglotTask(), maze.MazeTask(),
         bohp_tasks.CompletionTask(), bohp_tasks.LabelTask(), bohp_tasks.REVERSAL]
NOT_CONFIGS = {bohp.Result, bohp.Variant, mz.Episode}  # dataclasses that hold results, not settings


def test_bases_list_every_dataclass_of_the_package():
    modules = [bp, ni, pvl, baselines, om, mz, bohp, patterns, images, omniglot, maze, bohp_tasks]
    found = {obj for m in modules for obj in vars(m).values()
             if isinstance(obj, type) and dataclasses.is_dataclass(obj)
             and (obj.__module__ == m.__name__ or obj.__module__.startswith(f"{m.__name__}."))}
    assert found - NOT_CONFIGS == {type(b) for b in BASES}


FIELDS = [(b, f.name) for b in BASES for f in dataclasses.fields(b)]


@pytest.mark.parametrize("base, name", FIELDS, ids=[f"{label(b)}.{n}" for b, n in FIELDS])
def test_every_field_is_checked(base, name):
    """A value of no sensible type in any field is refused with a message naming the field."""
    with pytest.raises(TypeError, match=rf"^{label(base)}: {name} must be"):
        replace(base, **{name: object()})


# The review's cases, per experiment config: batch 0, no episodes/updates, a negative learning rate, a bad string.
REVIEW = {
    bp.Config: {"batch": 0, "episodes": 0, "lr": -3e-4, "rule": "hebbian", "alpha": "all", "impl": "cuda"},
    ni.Config: {"batch": 0, "episodes": 0, "lr": -1e-4, "rule": "oja ", "alpha": "per-connection", "impl": ""},
    pvl.BaselineConfig: {"batch": 0, "episodes": 0, "lr": -3e-5, "model": "gru"},
    om.Config: {"batch": 0, "updates": 0, "lr": -3e-5, "decay": 0.0, "eta": 1.5},
    mz.Config: {"batch": 0, "updates": 0, "lr": -1e-4, "condition": "lstm", "penalty": "l2", "rule": "bcm"},
    bohp.Config: {"chunk": 0, "episodes": 0, "lr": -0.01, "task": "maze", "frozen": 0},
}
REVIEW_CASES = [(cls, k, v) for cls, cases in REVIEW.items() for k, v in cases.items()]


@pytest.mark.parametrize("cls, name, value", REVIEW_CASES, ids=[f"{c.__module__.rsplit('.', 1)[-1]}-{k}={v!r}"
                                                                 for c, k, v in REVIEW_CASES])
def test_review_cases_are_refused(cls, name, value):
    with pytest.raises(ValueError, match=rf"\.{cls.__name__}: {name} must be .*got {re.escape(repr(value))}$"):
        cls(**{name: value})


def test_cross_field_checks():
    with pytest.raises(ValueError, match="multiple of batch"):
        pvl.BaselineConfig(episodes=10, batch=3)
    with pytest.raises(ValueError, match="frozen < episodes"):
        bohp.Config(episodes=500, frozen=500)  # nothing left to train
    with pytest.raises(ValueError, match="n_test_classes must be >= n_way"):
        omniglot.OmniglotTask(n_way=5, n_test_classes=4)
    with pytest.raises(ValueError, match="must be >= n_bits=50"):
        pvl.BaselineConfig(model="lstm", extra=49)
    pvl.BaselineConfig(model="rnn", extra=0)  # a non-plastic network as small as the plastic one
    with pytest.raises(ValueError, match="wall_penalty must be < reward"):
        maze.MazeTask(reward=1.0, wall_penalty=1.0)


def test_every_profile_validates():
    """Each module's configs at every profile (as the experiments' ``run`` builds them) validate again,
    with at least one seed; counted, so the test cannot pass vacuously."""
    checked = 0

    def revalidate(config, seeds):
        nonlocal checked
        replace(config)  # runs __post_init__ again
        if dataclasses.is_dataclass(config.task):
            replace(config.task)
        assert seeds and all(isinstance(s, int) and s >= 0 for s in seeds)
        checked += 1

    for p in bp.PROFILES.values():
        for name, config in p.configs.items():
            revalidate(config, p.seeds_for(name))
    for profile in ni.PROFILES:
        for alpha in ni.TRAINED:
            config, seeds, eval_episodes = ni.profile_config(profile, alpha)
            assert isinstance(eval_episodes, int) and eval_episodes >= 1
            revalidate(config, seeds)
    for profile in pvl.PROFILES:
        for config, seeds in pvl.profile_config(profile).values():
            revalidate(config, seeds)
    for profile in om.PROFILES:
        revalidate(*om.profile_config(profile))
    for profile in mz.PROFILES:
        config, seeds = mz.profile_config(profile)
        for condition in mz.CONDITIONS:
            revalidate(replace(config, condition=condition), seeds)
    for p in bohp.PROFILES.values():
        for config in p.configs.values():
            revalidate(config, list(range(p.seeds)))
    profiles = sum(len(p.configs) for p in bp.PROFILES.values()) + len(ni.TRAINED) * len(ni.PROFILES) + \
        sum(len(p.configs) for p in pvl.PROFILES.values()) + \
        len(om.PROFILES) + 3 * len(mz.PROFILES) + sum(len(p.configs) for p in bohp.PROFILES.values())
    assert checked == profiles > 0
