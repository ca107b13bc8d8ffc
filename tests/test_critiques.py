"""Notebook 06's experiment: the critique's questions as claims (verdicts on hand-made results), its networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plasticity_utils.baselines import PlasticLSTMBaseline, build_baseline, n_trainable
from plasticity_utils.experiments import critiques
from plasticity_utils.experiments.contract import Result, parts
from plasticity_utils.stats import paired_difference


def records(finals: list[float], episodes: int = 2000, start: int = 0) -> list[dict]:
    """One run per seed whose error is 0.5 for the first half and ``final`` for the second."""
    return [{"seed": start + s, "error": [0.5] * (episodes // 2) + [f] * (episodes // 2), "n_params": 1,
             "seconds": 1.0} for s, f in enumerate(finals)]


def test_final_errors_and_their_pairing_by_seed():
    a = records([0.10, 0.20, 0.30])
    b = records([0.15, 0.22, 0.40, 0.9])  # seed 3 has no partner: left out
    assert critiques.final_errors(a) == pytest.approx({0: 0.10, 1: 0.20, 2: 0.30})
    diff, half, pairs = critiques.comparison(a, b)
    assert pairs == 3 and diff == pytest.approx(np.mean([-0.05, -0.02, -0.10]))
    assert half == pytest.approx(1.96 * np.std([-0.05, -0.02, -0.10], ddof=1) / np.sqrt(3))
    # the window: over the last 2,000 episodes half of each run is at 0.5
    assert critiques.final_errors(a, last=2000)[0] == pytest.approx(0.3)


def test_better_verdict_reads_each_outcome():
    assert parts(critiques.better_verdict((-0.05, 0.01, 10), "x", 10_000))[0] == "reproduced"
    assert parts(critiques.better_verdict((0.05, 0.01, 10), "x", 10_000))[0] == "not reproduced"
    tie = critiques.better_verdict((-0.005, 0.01, 10), "x", 10_000)
    assert parts(tie)[0] == "not reproduced" and "no significant difference" in tie and critiques.NO_BUDGET in tie
    # the level moves the interval: a difference 1.5 half-widths below 0 passes at 0.1 but not at 0.01
    assert parts(critiques.better_verdict((-0.012, 0.01, 10), "x", 10_000, level=0.1))[0] == "reproduced"
    assert parts(critiques.better_verdict((-0.012, 0.01, 10), "x", 10_000, level=0.01))[0] == "not reproduced"


def test_claims_from_hand_made_runs_and_the_questions_not_run():
    runs = {"plastic_lstm": records([0.05, 0.06, 0.04, 0.05]), "lstm": records([0.20, 0.21, 0.19, 0.22]),
            "plastic_rnn": records([0.05, 0.07, 0.03, 0.06])}
    rows = critiques.claims(Result("critiques", "smoke", runs, "cpu"))
    assert len(rows) == 2 + len(critiques.NOT_RUN)
    assert parts(rows[0].verdict)[0] == "reproduced"  # plastic LSTM far below the LSTM
    assert parts(rows[1].verdict)[0] == "not reproduced"  # no difference from the plastic RNN
    assert all(r.ours == "not run yet" and parts(r.verdict)[0] == "not reached within our budget" for r in rows[2:])


def test_plastic_lstm_baseline_reads_its_first_units_and_learns_plasticity():
    torch.manual_seed(0)
    net = PlasticLSTMBaseline(5, 8)
    out = net(torch.randn(3, 4, 5))
    assert out.shape == (3, 4, 8)
    out[:, -1, :5].pow(2).sum().backward()
    assert net.lstm.connection.alpha.grad.abs().sum() > 0 and net.lstm.connection.eta.grad is not None
    with pytest.raises(ValueError, match="need 1 <= n_inputs <= hidden"):
        PlasticLSTMBaseline(5, 4)
    config = critiques.CONFIGS["plastic_lstm"]
    lstm = n_trainable(build_baseline(critiques.CONFIGS["lstm"]))
    h = critiques.HIDDEN
    assert lstm == 4 * h * (50 + h) + 8 * h  # nn.LSTM's two biases
    # one bias per gate, plus alpha (h x h) and eta
    assert n_trainable(build_baseline(config)) == 4 * h * (50 + h) + 4 * h + h * h + 1


@pytest.mark.parametrize("memory_free, control, word", [
    (["lower"] * 3, "lower", "reproduced"),
    (["lower"] * 3, "not different", "partly reproduced"),
    (["lower", "lower", "not different"], "lower", "not reproduced"),  # the inpainting does as well
    (["lower", "higher", "lower"], "lower", "not reproduced"),
])
def test_recall_verdict(memory_free, control, word):
    assert parts(critiques.recall_verdict(memory_free, control, "x", 1500))[0] == word


def image_result(network: float, control: float, inpainting: float, episodes: int = 50) -> Result:
    """Hand-made scores of every image condition: zeros 100, mean image 90, the rest as given (+- noise)."""
    rng = np.random.default_rng(0)

    def scores(mean):
        return {"loss": mean + rng.normal(0, 1, episodes), "corr": np.full(episodes, 0.5)}

    images = {}
    for condition in critiques.CONDITIONS:
        s = {critiques.NETWORK: scores(network), critiques.CONTROL: scores(control),
             critiques.MEMORY_FREE[0]: scores(100), critiques.MEMORY_FREE[1]: scores(90),
             critiques.MEMORY_FREE[2]: scores(inpainting)}
        images[condition] = {"scores": s, "differences": {
            k: paired_difference(s[critiques.NETWORK]["loss"], v["loss"]) for k, v in s.items()
            if k != critiques.NETWORK}}
    runs = {name: [{"seed": 0, "seconds_per_episode": 1.0}] for name in critiques.IMAGE_MODELS}
    return Result("critiques", "smoke", runs, "cpu", {"images": images})


def test_image_claims_from_hand_made_scores():
    rows = critiques.image_claims(image_result(network=40, control=80, inpainting=85))
    assert [r.claim.split(": ", 1)[1] for r in rows] == [critiques.CONDITIONS[c][3] for c in critiques.QUESTIONS]
    assert all(parts(r.verdict)[0] == "reproduced" for r in rows)
    assert all(r.paper.startswith("not claimed: a question from the critique") for r in rows)
    assert "0.40 of predicting zeros" in rows[0].ours and "half -> half erasure" in rows[0].ours
    # the memory is not used: the unstored probe is completed as well
    assert {parts(r.verdict)[0] for r in critiques.image_claims(image_result(40, 40, 85))} == {"partly reproduced"}
    # the inpainting beats the network: not reproduced (no paper budget to blame ours)
    rows = critiques.image_claims(image_result(40, 80, 30))
    assert {parts(r.verdict)[0] for r in rows} == {"not reproduced"}
    table = critiques.image_table(image_result(40, 80, 85))
    assert list(table.index) == list(critiques.CONDITIONS) and table.loc["animals -> vehicles", "network"] == \
        pytest.approx(0.40, abs=0.01)


def test_nearest_neighbour_picks_the_label_of_the_closest_labelled_step():
    labels = torch.zeros(2, 4, 3)
    labels[:, :3] = torch.eye(3)[[2, 0, 1]]  # steps 0, 1, 2 carry labels 2, 0, 1; step 3 is the test step
    features = torch.tensor([[[1., 0], [0, 1], [-1, 0], [0.1, 1]],  # closest to step 1 -> label 0
                             [[1., 0], [0, 1], [-1, 0], [2, 0.1]]])  # closest to step 0 -> label 2
    assert critiques.nearest_neighbour(features, labels, torch.tensor([0, 1])).tolist() == [True, False]


@pytest.mark.parametrize("words, word", [
    (["higher"] * 3, "reproduced"),
    (["higher", "not different", "higher"], "not reproduced"),  # no budget: not put down to ours
    (["higher", "lower", "higher"], "not reproduced"),
])
def test_plastic_verdict(words, word):
    out = critiques.plastic_verdict(words, 1000)
    assert parts(out)[0] == word
    # a miss says why no budget excuses it: no paper asks the question (not "the paper gives no budget")
    assert (critiques.NO_BUDGET in out) == ("not different" in words) and "the paper gives" not in out


@pytest.mark.parametrize("difference, word", [
    ((-0.01, 0.02), "reproduced"),  # within 5 points, whole interval
    ((-0.12, 0.02), "not reproduced"),  # drops by more than 5 points
    ((-0.05, 0.03), "not reproduced"),  # straddles the margin: undecided, and no budget to blame
])
def test_same_verdict(difference, word):
    out = critiques.same_verdict(difference, 1000)
    assert parts(out)[0] == word
    assert ("undecided" in out) == (difference == (-0.05, 0.03))
    # the margin matters: a 7-point drop is "the same" within 10 points, not within 5
    assert parts(critiques.same_verdict((-0.07, 0.01), 1000, margin=0.10))[0] == "reproduced"


def test_accuracy_difference_of_independent_samples():
    a, b = np.r_[np.ones(80), np.zeros(20)], np.r_[np.ones(60), np.zeros(140)]
    mean, half = critiques.accuracy_difference(a, b)
    assert mean == pytest.approx(0.5) and half == pytest.approx(1.96 * np.sqrt(0.8 * 0.2 / 100 + 0.3 * 0.7 / 200))


def test_omniglot_claims_from_hand_made_scores():
    rng = np.random.default_rng(0)

    def correct(p, n=4000):
        return (rng.random(n) < p).astype(int)

    scores = {critiques.OMNIGLOT_SETS[0]: {critiques.PLASTIC: correct(0.90)},
              critiques.OMNIGLOT_SETS[1]: {critiques.PLASTIC: correct(0.90)}}
    for s in critiques.OMNIGLOT_SETS:
        scores[s].update({name: correct(p) for name, p in zip(critiques.NON_PLASTIC, (0.6, 0.2, 0.4))})
    runs = {critiques.OMNIGLOT: [{"seed": 0, "n_classes": 964, "test_classes": list(range(100)), "seconds": 600}]}
    rows = critiques.omniglot_claims(Result("critiques", "smoke", runs, "cpu", {"omniglot": scores}))
    assert [parts(r.verdict)[0] for r in rows] == ["reproduced", "reproduced"]
    assert "864 training characters" in rows[0].budget
    scores[critiques.OMNIGLOT_SETS[1]][critiques.PLASTIC] = correct(0.55)  # unseen alphabets: worse than the NN
    rows = critiques.omniglot_claims(Result("critiques", "smoke", runs, "cpu", {"omniglot": scores}))
    assert [parts(r.verdict)[0] for r in rows] == ["not reproduced", "not reproduced"]
    table = critiques.omniglot_table(Result("critiques", "smoke", runs, "cpu", {"omniglot": scores}))
    assert len(table) == 2 * (1 + len(critiques.NON_PLASTIC)) and (table["95% low"] <= table["accuracy %"]).all()


def test_image_networks_share_the_schedule_of_notebook_03s_one_seed_networks():
    from dataclasses import replace

    from plasticity_utils.experiments import natural_images as ni
    from plasticity_utils.tasks.images import ImageTask, RandomErasureTask

    for profile in ni.PROFILES:
        configs = critiques.image_configs(profile)
        text = ni.profile_config(profile, ni.TEXT_VARIANT)[0]
        assert configs["half"] == configs["animals"] == replace(text, task=ImageTask())  # the released gap
        assert configs["random_erasure"] == replace(configs["half"], task=RandomErasureTask())
        assert {n: critiques.PROFILES[profile].configs[n] for n in critiques.IMAGE_MODELS} == {
            n: configs[n] for n in critiques.IMAGE_MODELS}
    # at cpu: 1,500 one-episode updates (their stored runs), not the ablation's 5,008 in updates of 16
    cpu = critiques.image_configs("cpu")["half"]
    assert (cpu.episodes, cpu.batch, cpu.lr) == (1500, 1, 1e-4) != (ni.CPU_EPISODES, 16, 4e-4)
