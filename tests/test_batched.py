"""Independent runs trained as one batched model (plasticity_utils/batched.py) equal separate runs.

Checked in float64 on the CPU: the batched Omniglot training of several seeds gives, seed by seed, the
parameters, learning curve and evaluations of its separate training; an interrupted batch resumes to the
same result; the run store trains only the seeds it lacks, as one batch.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from plasticity_utils import training
from plasticity_utils.batched import Generators, Runs
from plasticity_utils.experiments import omniglot as om
from plasticity_utils.tasks.omniglot import OmniglotTask, omniglot_episode

TASK = OmniglotTask(n_way=5, n_test_classes=10)
CONFIG = om.Config(task=TASK, updates=5, batch=3, lr=1e-3, filters=8, eval_every=2, curve_episodes=6,
                   eval_episodes=7)



@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """40 random 'characters' x 20 drawers: structure does not matter here, only equality."""
    return torch.rand(40, 20, 31, 31, generator=torch.Generator().manual_seed(1)).double()


def test_runs_forward_equals_each_model(float64, images):
    nets = []
    for s in (0, 1, 2):
        torch.manual_seed(s)
        nets.append(om.OmniglotNet(filters=8))
    runs = Runs(nets)
    assert runs.runs == 3 and runs.parameter("out.w").shape == (3, 8, 5)
    eps = [omniglot_episode(images, torch.arange(40), TASK, 4, torch.Generator().manual_seed(s)) for s in range(3)]
    ys, hebb = runs(torch.stack([e.images for e in eps]), torch.stack([e.labels for e in eps]))
    for r, (net, e) in enumerate(zip(nets, eps)):
        y1, h1 = net(e.images, e.labels)
        torch.testing.assert_close(ys[r], y1, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(hebb[r], h1, rtol=1e-12, atol=1e-12)
        assert all(torch.equal(v, net.state_dict()[k]) for k, v in runs.state_dict_of(r).items())
    with pytest.raises(ValueError):
        Runs([])


def test_generators_checkpoint_round_trip():
    gens = Generators([torch.Generator().manual_seed(s) for s in (4, 5)])
    state = gens.get_state()
    first = [torch.rand(3, generator=g) for g in gens.generators]
    gens.set_state(state)
    assert all(torch.equal(a, torch.rand(3, generator=g)) for a, g in zip(first, gens.generators))
    with pytest.raises(ValueError, match="generators"):
        gens.set_state(state[:1])


def assert_same_run(batched: tuple[dict, dict], alone: tuple[dict, dict]) -> None:
    (rb, pb), (ra, pa) = batched, alone
    assert pb.keys() == pa.keys()
    for k in pa:
        torch.testing.assert_close(pb[k], pa[k], rtol=1e-9, atol=1e-11, msg=k)
    for key in ("test_classes", "eval_correct", "train_accuracy", "n_params"):
        assert rb[key] == ra[key], key
    assert rb["curve"] == ra["curve"]
    np.testing.assert_allclose(rb["loss"], ra["loss"], rtol=1e-9)
    assert rb["eta"] == pytest.approx(ra["eta"], rel=1e-9)


def test_batched_training_equals_separate_training(float64, images):
    seeds = [0, 3, 7]
    batched = om.train_seeds(CONFIG, seeds, None, torch.device("cpu"), images, progress=False)
    for s, run in zip(seeds, batched):
        (alone,) = om.train_seeds(CONFIG, [s], None, torch.device("cpu"), images, progress=False)  # no vmap
        assert_same_run(run, alone)
        assert "batched" not in alone[0]
    assert batched[0][0]["batched"]["seeds"] == seeds
    # the runs differ from each other (each has its own initialisation and episodes)
    assert not torch.equal(batched[0][1]["out.w"], batched[1][1]["out.w"])


def test_interrupted_batch_resumes_to_the_same_result(float64, images, tmp_path, monkeypatch):
    seeds, device = [1, 2], torch.device("cpu")
    whole = om.train_seeds(CONFIG, seeds, None, device, images, progress=False)
    checkpoint = tmp_path / "batch.ckpt"
    monkeypatch.setenv(training.STOP_AT, str(time.time()))  # already past: stop after the first update
    with pytest.raises(training.Unfinished, match="update 1 of 5"):
        om.train_seeds(CONFIG, seeds, checkpoint, device, images, progress=False)
    assert checkpoint.exists()
    monkeypatch.setenv(training.STOP_AT, str(time.time() + 3600))
    resumed = om.train_seeds(CONFIG, seeds, checkpoint, device, images, progress=False)
    for a, b in zip(resumed, whole):
        assert_same_run(a, b)


def test_run_store_trains_only_missing_seeds_as_one_batch(float64, images, tmp_path):
    store = training.RunStore(tmp_path)
    calls: list[list[int]] = []

    def train_seeds(seeds, checkpoint):
        calls.append(list(seeds))
        assert checkpoint.name.startswith(("seeds" if len(seeds) > 1 else "seed") + "-".join(map(str, seeds)))
        return om.train_seeds(CONFIG, seeds, checkpoint, torch.device("cpu"), images, progress=False)

    def run_batch(seeds, **options):
        return store.train([training.Job(seeds, CONFIG, train_seeds)], group=None, **options)[0]

    first = run_batch([0, 2])
    assert calls == [[0, 2]] and [r["seed"] for r in first] == [0, 2]
    both = run_batch([0, 1, 2])
    assert calls == [[0, 2], [1]] and both[0] == first[0] and both[2] == first[1]
    assert run_batch([0, 1, 2]) == both and len(calls) == 2
    run_batch([1], force=True)
    assert calls[-1] == [1]
    assert not list(tmp_path.glob("*.ckpt"))  # the batch checkpoint is removed once its runs are stored


def test_time_limit_needs_a_number(monkeypatch):
    monkeypatch.setenv(training.STOP_AT, "soon")
    with pytest.raises(ValueError, match="PLASTICITY_STOP_AT"):
        training.stop_at()
    monkeypatch.delenv(training.STOP_AT)
    assert training.stop_at() is None


@pytest.mark.parametrize("learn_eta", [True, False])
def test_batched_pattern_runs_equal_separate_runs(float64, learn_eta):
    from plasticity_utils.experiments import binary_patterns as bp
    from plasticity_utils.tasks.patterns import PatternTask

    config = bp.Config(task=PatternTask(n_bits=16, n_patterns=2, cycles=1, show=2, gap=1, test_show=2), episodes=4,
                       batch=2, learn_eta=learn_eta, eta=0.05)
    seeds = [0, 5]
    batched = bp.train_seeds(config, seeds, None, torch.device("cpu"), progress=False)
    for s, (record, params) in zip(seeds, batched):
        ((alone, alone_params),) = bp.train_seeds(config, [s], None, torch.device("cpu"), progress=False)  # no vmap
        assert params.keys() == alone_params.keys()
        for k in params:
            torch.testing.assert_close(params[k], alone_params[k], rtol=1e-9, atol=1e-11, msg=k)
        assert record["error"] == alone["error"]
        np.testing.assert_allclose(record["loss"], alone["loss"], rtol=1e-9)
        np.testing.assert_allclose(record["eta"], alone["eta"], rtol=1e-9)
    assert not torch.equal(batched[0][1]["connection.w"], batched[1][1]["connection.w"])


def test_run_batched_or_not_stores_the_same_runs(float64, monkeypatch, tmp_path):
    from plasticity_utils.experiments import binary_patterns as bp
    from plasticity_utils.experiments.contract import Profile
    from plasticity_utils.tasks.patterns import PatternTask

    task = PatternTask(n_bits=12, n_patterns=2, cycles=1, show=2, gap=1, test_show=2)
    monkeypatch.setitem(bp.PROFILES, "smoke", Profile({"released": bp.Config(task=task, episodes=3),
                                                       "text": bp.Config(task=task, episodes=2, lr=1e-3)}, 2, "test"))
    results = {}
    for batched in (False, True):
        monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / str(batched)))
        results[batched] = bp.run("smoke", batched=batched)
    for name in ("released", "text"):
        for a, b in zip(results[False].runs[name], results[True].runs[name]):
            assert "batched" in b and "batched" not in a
            assert a["error"] == b["error"] and a["seed"] == b["seed"]
            np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-9)


@pytest.mark.parametrize("condition", ["plastic", "nonplastic", "homogeneous"])
def test_batched_maze_runs_equal_separate_runs(float64, condition):
    from plasticity_utils.experiments import maze as mz
    from plasticity_utils.tasks.maze import MazeTask

    config = mz.Config(task=MazeTask(size=5, steps=12), condition=condition, hidden=6, batch=3, updates=3)
    seeds = [0, 4]
    batched = mz.train_seeds(config, seeds, None, torch.device("cpu"), progress=False)
    for s, (record, params) in zip(seeds, batched):
        ((alone, alone_params),) = mz.train_seeds(config, [s], None, torch.device("cpu"), progress=False)  # no vmap
        assert params.keys() == alone_params.keys()
        for k in params:
            torch.testing.assert_close(params[k], alone_params[k], rtol=1e-9, atol=1e-11, msg=k)
        assert record["reward"] == pytest.approx(alone["reward"], rel=1e-12) and record["hits"] == alone["hits"]
        for key in ("loss", "eta", "value_loss", "penalty"):
            np.testing.assert_allclose(record[key], alone[key], rtol=1e-9, err_msg=key)
        assert record["n_params"] == alone["n_params"] and record["batched"]["seeds"] == seeds
    assert not torch.equal(batched[0][1]["policy.weight"], batched[1][1]["policy.weight"])


def test_maze_runs_draw_like_separate_mazes():
    from plasticity_utils.tasks.maze import MazeBatch, MazeTask

    task = MazeTask(size=5, steps=30)
    together = MazeBatch(task, 4, [torch.Generator().manual_seed(s) for s in (1, 2)])
    apart = [MazeBatch(task, 4, [torch.Generator().manual_seed(s)]) for s in (1, 2)]
    assert together.reset().shape == (2, 4, task.n_obs) and [env.reset() for env in apart]
    moves, finds = torch.Generator().manual_seed(0), torch.zeros(2, dtype=torch.long)
    for _ in range(30):
        actions = torch.randint(4, (2, 4), generator=moves)
        obs, reward = together.step(actions)
        finds += (reward >= task.reward - task.wall_penalty).sum(1)
        for r, env in enumerate(apart):
            o, rw = env.step(actions[r:r + 1])
            assert torch.equal(o, obs[r:r + 1]) and torch.equal(rw, reward[r:r + 1])
            assert torch.equal(env.pos, together.pos[r:r + 1])
    assert (finds > 0).all() and finds[0] != finds[1]  # both runs drew teleports, at different steps
    assert torch.equal(together.reward_pos, torch.cat([e.reward_pos for e in apart]))


def test_run_store_trains_in_groups(float64, images, tmp_path):
    store = training.RunStore(tmp_path)
    calls: list[list[int]] = []

    def train_seeds(seeds, checkpoint):
        calls.append(list(seeds))
        return om.train_seeds(CONFIG, seeds, checkpoint, torch.device("cpu"), images, progress=False)

    records = store.train([training.Job([0, 1, 2], CONFIG, train_seeds)], group=2)[0]
    assert calls == [[0, 1], [2]] and [r["seed"] for r in records] == [0, 1, 2]
    with pytest.raises(ValueError, match="group"):
        store.train([training.Job([0], CONFIG, train_seeds)], group=0)


@pytest.mark.parametrize("name", ["rnn", "lstm_clamp", "lstm", "plastic_lstm"])
def test_batched_baseline_runs_equal_separate_runs(float64, name):
    """The 50-bit baselines (notebooks 02 and 06): R runs of the one update (under vmap, the modules' reference
    implementations) equal R single runs (the RNN's hand-written backward, nn.LSTM with its gradient hooks,
    the plastic LSTM's step loop)."""
    import dataclasses

    from plasticity_utils.experiments import critiques
    from plasticity_utils.experiments import plastic_vs_lstm as pvl

    base = critiques.CONFIGS[name] if name == "plastic_lstm" else pvl.BASELINES[name]
    config = dataclasses.replace(base, extra=60, episodes=12, batch=4, lr=1e-2)
    seeds = [0, 3]
    batched = pvl.train_baseline_seeds(config, seeds, None, torch.device("cpu"), progress=False)
    for s, (record, params) in zip(seeds, batched):
        ((alone, alone_params),) = pvl.train_baseline_seeds(config, [s], None, torch.device("cpu"), progress=False)
        assert params.keys() == alone_params.keys() and record["n_params"] == alone["n_params"]
        for k in params:
            torch.testing.assert_close(params[k], alone_params[k], rtol=1e-9, atol=1e-11, msg=k)
        assert record["error"] == alone["error"] and len(record["error"]) == 3
        np.testing.assert_allclose(record["loss"], alone["loss"], rtol=1e-9)
        assert record["batched"]["seeds"] == seeds and "batched" not in alone
    first = {"rnn": "w", "plastic_lstm": "lstm.connection.alpha"}.get(name, "lstm.weight_hh_l0")
    assert not torch.equal(batched[0][1][first], batched[1][1][first])
    if name == "lstm_clamp":  # the pinned entries did not move in either run
        for _, params in batched:
            mask, value = params["pin_mask_bias_ih_l0"], params["pin_value_bias_ih_l0"]
            assert torch.equal(params["lstm.bias_ih_l0"][mask], value[mask])


def test_notebook_02_batched_or_not_stores_the_same_baseline_runs(float64, monkeypatch, tmp_path):
    import dataclasses

    from plasticity_utils.experiments import plastic_vs_lstm as pvl
    from plasticity_utils.experiments.contract import Profile

    configs = {name: dataclasses.replace(pvl.BASELINES[name], extra=55, episodes=6, batch=2) for name in ("rnn", "lstm_clamp")}
    monkeypatch.setitem(pvl.PROFILES, "smoke", Profile(configs, 2, "test", {"window": 2, "batched": False}))
    results, calls = {}, []
    real = training.RunStore.train
    monkeypatch.setattr(training.RunStore, "train", lambda self, jobs, **kw: calls.append(kw) or real(self, jobs, **kw))
    for batched in (False, True):
        monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / str(batched)))
        results[batched] = pvl.run("smoke", models=tuple(configs), batched=batched)
    assert [c["group"] for c in calls] == [1, None]  # one way into the store for every model, per run()
    for name in configs:
        for a, b in zip(results[False].runs[name], results[True].runs[name]):
            assert b["batched"]["seeds"] == [0, 1] and "batched" not in a
            assert a["error"] == b["error"] and a["seed"] == b["seed"] and a["n_params"] == b["n_params"]
            np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-9)
