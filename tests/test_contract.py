"""The experiment contract: profiles, claims and the shared verdict functions, on hand-made numbers."""

import pytest

from plasticity_utils.experiments import contract as c


@pytest.mark.parametrize("first, budget, word", [(180, 400, "reproduced"), (250, 400, "reproduced"),
                                                (251, 400, "partly reproduced"), (None, 400, "not reproduced"),
                                                (None, 200, "not reproduced"), (None, 199, "not reached within our budget")])
def test_episodes_to_threshold(first, budget, word):
    v = c.episodes_to_threshold(first, 200, budget, released="released code: later too")
    assert c.word_of(v) == word and v.startswith(word + ":")
    assert ("released code: later too" in v) == (word != "reproduced")  # attribution explains shortfalls


@pytest.mark.parametrize("ours, theirs, word", [
    (5_000, 2_000_000, "not reached within our budget"),  # below the paper's budget
    (1_999, 2_000, "not reached within our budget"),  # just below
    (2_000, 2_000, "not reproduced"),  # as long as the paper: the miss is the claim's
    (5_000, 2_000, "not reproduced"),  # longer
    (5_000, None, "not reproduced")])  # the paper gives no budget: decided conservatively
def test_budget_rule_on_both_sides_of_the_boundary(ours, theirs, word):
    v = c.missed("not below the threshold", ours, theirs)
    assert c.word_of(v) == word
    assert f"{ours:,}" in v
    if word == "not reached within our budget":
        assert f"of the paper's {theirs:,} episodes" in v
    if theirs is None:
        assert "the paper gives no budget, so the miss is not put down to ours" in v
        asked = c.missed("not below the threshold", ours, theirs, no_budget="no paper asks this")
        assert c.word_of(asked) == word and "no paper asks this, so the miss" in asked and "paper gives" not in asked


def test_budget_rule_states_the_fraction_and_whose_budget():
    v = c.missed("not below 0.01", 5_000, 2_000_000, released="the released code misses it too")
    assert v == ("not reached within our budget: not below 0.01 after 5,000 of the paper's 2,000,000 episodes "
                 "(0.25%); the released code misses it too")
    assert c.missed("no interval", 1, 2, unit="seeds", of="the").endswith("after 1 of the 2 seeds (50%)")
    assert c.missed("x", 300, 300, of="the released code's").startswith("not reproduced: x after 300 episodes, at least")
    assert [c.share(a, b) for a, b in ((96_000, 5_000_000), (3_600, 200_000), (1, 2), (1, 3))] == \
        ["1.9%", "1.8%", "50%", "33%"]


def _judge(cutoff: float) -> str:
    """A hand-made threshold-dependent verdict on a measured 1.5: reproduced above the cut-off, partly
    when it exceeds a tenth of the cut-off by 0.3 / 1.5, else not reproduced."""
    if 1.5 > cutoff:
        return c.verdict("reproduced", f"1.5 > {cutoff:g}")
    if 0.3 > cutoff / 10:
        return c.verdict("partly reproduced", f"1.5 <= {cutoff:g}")
    return c.verdict("not reproduced", f"1.5 <= {cutoff:g}")


def test_sensitivity_rule_keeps_a_word_that_holds_from_half_to_twice_the_cutoff():
    v = c.sensitive(_judge, {"cut-off": 0.7})  # 0.35, 0.7, 1.4: all below 1.5
    assert v == "reproduced: 1.5 > 0.7"


def test_sensitivity_rule_qualifies_a_word_that_changes_within_the_range():
    v = c.sensitive(_judge, {"cut-off": 1.0})  # at 2.0 the claim fails
    assert v.startswith("partly reproduced (threshold-dependent): ") and c.word_of(v) == "partly reproduced"
    assert v == ("partly reproduced (threshold-dependent): at our cut-offs (cut-off 1): reproduced: 1.5 > 1; "
                 "at cut-off 0.5: reproduced; at cut-off 2: partly reproduced (1.5 <= 2)")  # numbers where it differs
    up = c.sensitive(_judge, {"cut-off": 2.0})  # partly at the cut-off, reproduced at half of it: not upgraded
    assert up.startswith("partly reproduced (threshold-dependent): ") and "at cut-off 1: reproduced (1.5 > 1)" in up
    not_up = c.sensitive(lambda x: c.verdict("reproduced" if x < 1 else "not reproduced", f"{x:g}"), {"cut-off": 1.5})
    assert not_up.startswith("not reproduced (threshold-dependent): ") and "at cut-off 0.75: reproduced (0.75)" in not_up
    down = c.sensitive(_judge, {"cut-off": 4.0})  # 2, 4, 8: partly, not, not: no "reproduced" anywhere
    assert down.startswith("not reproduced (threshold-dependent): ") and "at cut-off 2: partly reproduced (1.5 <= 2)" in down
    assert c.sensitive(_judge, {"cut-off": 12.0}) == "not reproduced: 1.5 <= 12"  # 6, 12, 24: the same word


def test_sensitivity_rule_varies_each_cutoff_in_turn():
    seen = []

    def judge(a, b):
        seen.append((a, b))
        return c.verdict("reproduced" if a * b <= 2 else "not reproduced", f"a*b = {a * b:g}")

    assert c.sensitive(judge, {"a": 1.0, "b": 1.0}) == "reproduced: a*b = 1"
    assert seen == [(1, 1), (0.5, 1), (2, 1), (1, 0.5), (1, 2)]  # one at a time, the other kept
    v = c.sensitive(judge, {"a": 2.0, "b": 1.0})
    assert v.startswith("partly reproduced (threshold-dependent): at our cut-offs (a 2, b 1): reproduced: a*b = 2")
    assert "at a 4: not reproduced (a*b = 4)" in v and "at b 2: not reproduced (a*b = 4)" in v and "at a 1: reproduced;" in v
    with pytest.raises(ValueError, match="cut-off"):
        c.sensitive(judge, {})


def test_qualified_verdicts_are_known_words():
    v = c.verdict("partly reproduced", "x", c.THRESHOLD_DEPENDENT)
    c.Claim("x", "p", "", "o", "b", v)
    assert c.word_of("not reproduced: x") == "not reproduced" and c.word_of("reproduced") == "reproduced"
    with pytest.raises(ValueError, match="qualifier"):
        c.verdict("reproduced", "x", "roughly")
    with pytest.raises(ValueError, match="verdict"):
        c.Claim("x", "p", "", "o", "b", "reproduced (roughly): x")


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


@pytest.mark.parametrize("text, word", [
    ("reproduced: episode 841 vs ~2,000", "partly reproduced"),  # a pass on another task is at most partly
    ("partly reproduced: later", "partly reproduced"),
    ("not reproduced: missed", "not reproduced"),
    ("not reached within our budget: after 1 of 3", "not reached within our budget")])
def test_a_variant_that_changes_the_task_is_at_most_partly_reproduced(text, word):
    v = c.variant(text, "6/4/2 presentation, not the claim's 3/1/1")
    assert c.word_of(v) == word
    assert v == f"{word} ({c.DIFFERENT_PRESENTATION}): 6/4/2 presentation, not the claim's 3/1/1; the variant itself: {text}"
    c.Claim("x", "p", "", "o", "b", v)


def test_a_variant_keeps_the_threshold_qualifier():
    v = c.variant(c.verdict("partly reproduced", "[ours] ...", c.THRESHOLD_DEPENDENT), "another presentation")
    assert v == ("partly reproduced (different presentation; threshold-dependent): another presentation; the variant "
                 "itself: partly reproduced (threshold-dependent): [ours] ...")
    assert c.parts(v)[:2] == ("partly reproduced", (c.DIFFERENT_PRESENTATION, c.THRESHOLD_DEPENDENT))
    assert c.parts("partly reproduced (threshold-dependent): [ours] x") == ("partly reproduced", (c.THRESHOLD_DEPENDENT,),
                                                                            "[ours] x")
    assert c.parts("not reproduced") == ("not reproduced", (), "")
    with pytest.raises(ValueError, match="qualifier"):
        c.verdict("reproduced", "x", "threshold-dependent; roughly")


# ------------------------------------------------------------------------------ typed profile options
def test_options_are_typed_with_extras_beside():
    p = c.Profile({"a": 1}, 1, "", {"batched": True, "eval_episodes": 3})
    assert p.options == c.Options(batched=True, extra={"eval_episodes": 3}) and p.options.batched is True
    assert p.options["eval_episodes"] == 3 and p.options["batched"] is True  # one mapping over both
    assert dict(p.options) == {"batched": True, "eval_episodes": 3} and "window" not in p.options
    assert p.options.get("window", 7) == 7 and c.Options.of(p.options) is p.options
    assert c.Profile({"a": 1}, 1).options == c.Options() and not c.Options().batched
    with pytest.raises(TypeError, match="batched"):
        c.Profile({"a": 1}, 1, "", {"batched": "yes"})  # a word is not a flag
    with pytest.raises(ValueError, match="typed options"):
        c.Options(extra={"batched": True})
    with pytest.raises(KeyError):
        c.Options()["eval_episodes"]


# ------------------------------------------------------------------------------ the checked interface
def _module(**parts):
    """A hand-made module named as an experiment module would be."""
    import types

    module = types.ModuleType("plasticity_utils.experiments.handmade")
    module.__dict__.update(parts)
    return module


PROFILES = {name: c.Profile({"a": 1}, 1) for name in ("smoke", "cpu", "paper")}


def _run(profile, *, seeds=None, force=False, device=None):
    pass


def _batched_run(profile, *, seeds=None, force=False, device=None, batched=None, extra=1):
    pass


def test_check_accepts_a_complete_module_and_names_what_an_empty_one_lacks():
    complete = _module(PROFILES=PROFILES, run=_run, claims=lambda result: [], figures=lambda result, rows=2: {})
    assert c.check(complete, ()) is complete
    with pytest.raises(c.ContractError) as e:
        c.check(_module(), ())
    assert all(f"missing {k}: " in str(e.value) for k in c.REQUIRED)
    with pytest.raises(c.ContractError, match="not registered: add it to REGISTRY"):
        c.check(complete)  # without capabilities: those its registry entry declares


def test_check_names_wrong_signatures_profiles_and_undeclared_capabilities():
    wrong = _module(PROFILES={"cpu": PROFILES["cpu"]}, run=lambda profile, seeds=None, force=True: None,
                    claims=lambda: [], figures=lambda result, extra: {}, metric=lambda record: 0.0)
    with pytest.raises(c.ContractError) as e:
        c.check(wrong, ())
    text = str(e.value)
    for words in ["PROFILES must map exactly ('smoke', 'cpu', 'paper')", "run must take the keyword force=False",
                  "run must take the keyword device=None", "claims() must take result first",
                  "figures(result, extra) must take result first and nothing else without a default",
                  "metric is defined but the registry entry does not declare the capability 'sweep'"]:
        assert words in text, words
    batched = _module(PROFILES={**PROFILES, "paper": c.Profile({"a": 1}, 1, "", {"batched": True})},
                      run=_batched_run, claims=lambda result: [], figures=lambda result: {})
    assert c.check(batched, ("batched",)) is batched
    with pytest.raises(c.ContractError) as e:
        c.check(batched, ())
    assert "run takes batched=" in str(e.value) and "PROFILES ['paper'] set Options.batched" in str(e.value)
    with pytest.raises(c.ContractError, match="run must take the keyword batched=None"):
        c.check(_module(PROFILES=PROFILES, run=_run, claims=lambda result: [], figures=lambda result: {}), ("batched",))
    with pytest.raises(c.ContractError) as e:
        c.check(_module(PROFILES=PROFILES, run=_run, claims=lambda result: [], figures=lambda result: {},
                        trainer=lambda config, device=None: None, METRIC=""), ("sweep",))
    assert "missing tag" in str(e.value) and "missing metric" in str(e.value) and "METRIC must be a non-empty str" in \
        str(e.value)
    with pytest.raises(c.ContractError, match="unknown capabilities"):
        c.check(_module(), ("fast",))
