"""The experiment contract: profiles, claims and the shared verdict functions, on hand-made numbers."""

import pytest

from plasticity_utils.experiments import contract as c


@pytest.mark.parametrize("first, word", [(180, "reproduced"), (250, "reproduced"), (251, "partly reproduced"),
                                        (None, "not reached within our budget")])
def test_episodes_to_threshold(first, word):
    v = c.episodes_to_threshold(first, 200, 400, released="released code: later too")
    assert v.startswith(word + ":")
    assert ("released code: later too" in v) == (word != "reproduced")  # attribution explains shortfalls


@pytest.mark.parametrize("value, word", [(0.009, "reproduced"), (0.01, "not reproduced"), (0.3, "not reproduced")])
def test_below(value, word):
    assert c.below(value, 0.01, "error").startswith(word + ":")


def test_claims_need_a_known_verdict_word():
    c.Claim("x", "p", "", "o", "b", "partly reproduced: later")
    with pytest.raises(ValueError, match="verdict"):
        c.Claim("x", "p", "", "o", "b", "looks fine")
    with pytest.raises(ValueError):
        c.verdict("great")


def test_profiles_and_results_are_checked():
    with pytest.raises(ValueError, match="seeds"):
        c.Profile({"a": 1}, 0)
    with pytest.raises(ValueError, match="variant"):
        c.Profile({}, 1)
    with pytest.raises(ValueError, match="profile"):
        c.select_profile({"cpu": c.Profile({"a": 1}, 1)}, "paper")
    with pytest.raises(ValueError, match="profile"):
        c.Result("x", "gpu", {}, "cpu")
    assert str(c.Reported("98.3%", "ICML 2018 Table 1")) == "98.3% (ICML 2018 Table 1)"


def test_seeds_per_variant():
    p = c.Profile({"a": 1, "b": 2}, {"a": 3, "b": 1})
    assert p.seeds_for("a") == [0, 1, 2] and p.seeds_for("b") == [0]
    assert c.Profile({"a": 1}, 2).seeds_for("a") == [0, 1]
    with pytest.raises(ValueError, match="seeds name"):
        c.Profile({"a": 1, "b": 2}, {"a": 3})
