"""The grid maze environment (ICML 2018 §4.4) and the A2C agent that explores it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from plasticity_utils.batched import Runs
from plasticity_utils.experiments import maze as mz
from plasticity_utils.tasks.maze import OBS, MazeBatch, MazeTask, maze_grid

UP, DOWN, LEFT, RIGHT = range(4)


def make_env(batch: int = 4, seed: int = 0, **task) -> MazeBatch:
    """One run's ``batch`` mazes: every tensor carries the run axis (of length 1) first."""
    return MazeBatch(MazeTask(**task), batch, [torch.Generator().manual_seed(seed)])


def test_grid_layout():
    grid = maze_grid(9)
    assert grid.shape == (11, 11)
    assert grid[0].all() and grid[-1].all() and grid[:, 0].all() and grid[:, -1].all()
    inner = grid[1:-1, 1:-1]
    rows, cols = torch.meshgrid(torch.arange(1, 10), torch.arange(1, 10), indexing="ij")
    assert torch.equal(inner, (rows % 2 == 0) & (cols % 2 == 0))  # pillars on every other square
    assert int((~grid).sum()) == 81 - 16
    assert not grid[5, 5]


def test_bad_task_rejected():
    with pytest.raises(ValueError, match="odd"):
        MazeTask(size=8)
    with pytest.raises(ValueError, match="steps"):
        MazeTask(steps=0)
    with pytest.raises(ValueError, match="condition"):
        mz.Config(condition="lstm")
    with pytest.raises(ValueError, match="penalty"):
        mz.Config(penalty="l2")


def test_reset_start_and_reward_square():
    env = make_env(batch=3000)
    env.reset()
    assert env.pos.shape == env.reward_pos.shape == (1, 3000, 2)
    assert (env.pos == torch.tensor([5, 5])).all()  # the agent starts at the centre
    grid, reward_pos = env.grid, env.reward_pos[0]
    assert not grid[reward_pos[:, 0], reward_pos[:, 1]].any()  # reward never on a wall
    assert not (reward_pos == torch.tensor([5, 5])).all(1).any()  # nor on the start square
    squares = {tuple(p) for p in reward_pos.tolist()}
    assert len(squares) == 64  # every other free square is used


def test_walls_block_and_cost():
    env = make_env(batch=3)
    env.place(agent=torch.tensor([[[1, 1], [1, 2], [5, 5]]]), reward=torch.tensor([[[9, 9]] * 3]))
    # up into the border, down into the pillar (2, 2), down from the centre into (6, 5) (free)
    obs, reward = env.step(torch.tensor([[UP, DOWN, DOWN]]))
    assert env.pos.tolist() == [[[1, 1], [1, 2], [6, 5]]]
    assert torch.allclose(reward, torch.tensor([[-0.1, -0.1, 0.0]]))
    assert torch.allclose(obs[..., OBS["reward"]], reward)  # the next input shows the reward


def test_reward_and_teleport():
    env = make_env(batch=2000)
    env.place(agent=torch.tensor([[[1, 2]] * 2000]), reward=torch.tensor([[[1, 3]] * 2000]))
    _, reward = env.step(torch.full((1, 2000), RIGHT))
    assert torch.allclose(reward, torch.full((1, 2000), 10.0))
    pos = env.pos[0]
    assert not env.grid[pos[:, 0], pos[:, 1]].any()  # teleported onto a free square
    assert not (pos == torch.tensor([1, 3])).all(1).any()  # never the reward square itself
    assert len({tuple(p) for p in pos.tolist()}) == 64  # all other free squares are reachable
    assert (env.reward_pos == torch.tensor([1, 3])).all()  # the reward stays put for the episode


def test_observation_layout():
    env = make_env(batch=2, steps=250)
    obs = env.reset()
    assert obs.shape == (1, 2, 16)
    obs = obs[0]
    # at the centre, the 4 diagonal neighbours are pillars
    assert obs[0, OBS["neighbourhood"]].tolist() == [1, 0, 1, 0, 0, 0, 1, 0, 1]
    assert obs[0, OBS["reward"]] == 0 and obs[0, OBS["time"]] == 0 and obs[0, OBS["bias"]] == 1
    assert obs[:, OBS["action"]].sum() == 0  # no previous action at t = 0
    env.place(agent=torch.tensor([[[1, 1], [3, 9]]]), reward=torch.tensor([[[9, 9], [9, 9]]]))
    obs, _ = env.step(torch.tensor([[RIGHT, UP]]))  # to (1, 2) and (2, 9)
    obs = obs[0]
    assert obs[0, OBS["neighbourhood"]].tolist() == [1, 1, 1, 0, 0, 0, 0, 1, 0]
    assert obs[1, OBS["neighbourhood"]].tolist() == [0, 0, 1, 1, 0, 1, 0, 0, 1]
    assert torch.allclose(obs[:, OBS["time"]], torch.full((2,), 1 / 250))
    assert obs[0, OBS["action"]].tolist() == [0, 0, 0, 1] and obs[1, OBS["action"]].tolist() == [1, 0, 0, 0]
    assert make_env(previous_action=False).reset().shape == (1, 4, 12)


@pytest.mark.parametrize("actions", [
    torch.tensor([[0, 1, 2, 4]]), torch.tensor([[0, -1, 2, 3]]), torch.tensor([[0.0, 1.0, 2.0, 3.0]]),
    torch.tensor([[0, 1, 2]]), torch.tensor([0, 1, 2, 3]), torch.zeros(1, 4, 1, dtype=torch.long),
    torch.tensor([[True, False, True, False]]), [[0, 1, 2, 3]],
])
def test_bad_actions_rejected(actions):
    env = make_env(batch=4)
    with pytest.raises(ValueError, match="actions"):
        env.step(actions)


def test_episode_ends():
    env = make_env(batch=2, steps=3)
    for _ in range(3):
        env.step(torch.tensor([[0, 1]]))
    assert env.done
    with pytest.raises(ValueError, match="reset"):
        env.step(torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="free"):
        env.place(agent=torch.tensor([[[2, 2], [1, 1]]]))
    with pytest.raises(ValueError, match="shape"):
        env.place(agent=torch.tensor([[2, 2], [1, 1]]))
    with pytest.raises(ValueError, match="generators"):
        MazeBatch(MazeTask(), 2, torch.Generator())


def play_random(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    env = make_env(batch=8, seed=seed, steps=100)
    (g,) = env.generators
    positions, rewards = [], []
    while not env.done:
        _, r = env.step(torch.randint(4, (1, 8), generator=g))
        positions.append(env.pos)
        rewards.append(r)
    return torch.stack(positions), torch.stack(rewards)


def test_repeatable_under_seed():
    p1, r1 = play_random(3)
    p2, r2 = play_random(3)
    p3, _ = play_random(4)
    assert torch.equal(p1, p2) and torch.equal(r1, r2)
    assert not torch.equal(p1, p3)
    steps = (p1[1:] - p1[:-1]).abs().sum(-1)
    assert ((steps <= 1) | (r1[1:] == 10)).all()  # moves are single squares except teleports


def test_sample_actions_follows_softmax():
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])).unsqueeze(1).expand(2, 40000, 4)
    a = mz.sample_actions(logits, [torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)])
    assert a.shape == (2, 40000)
    for run, p in enumerate(([0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1])):
        freq = torch.bincount(a[run], minlength=4).float() / 40000
        assert torch.allclose(freq, torch.tensor(p), atol=0.01)


def test_discounted_returns():
    r = torch.tensor([[1.0, 0.0, 2.0]])
    assert torch.allclose(mz.discounted_returns(r, 0.9), torch.tensor([[1 + 0.81 * 2, 1.8, 2.0]]))


@pytest.mark.parametrize("condition", ["plastic", "nonplastic", "homogeneous"])
def test_agent_parameters(condition):
    agent = mz.build(mz.Config(condition=condition))
    alpha = agent.rnn.connection.alpha
    assert agent.rnn.connection.rule == "oja"
    assert {"plastic": (200, 200), "homogeneous": (), "nonplastic": None}[condition] == (
        None if alpha is None else tuple(alpha.shape))
    if alpha is not None:
        assert 0 <= alpha.min().item() and alpha.max().item() < 0.01  # 0.01 U(0, 1)
        assert agent.rnn.connection.eta.item() == pytest.approx(0.01) and agent.rnn.connection.eta.requires_grad
    assert agent.i2h.in_features == 16 and agent.policy.out_features == 4 and agent.value.out_features == 1


@pytest.mark.parametrize("condition", ["plastic", "nonplastic", "homogeneous"])
@pytest.mark.parametrize("penalty", ["sum_sq", "entropy"])
def test_replay_gives_closed_loop_gradient(condition, penalty):
    """Gradients through the recorded episode replayed open-loop (fused plastic layer) equal those
    taken step by step through the closed loop itself."""
    torch.manual_seed(0)
    cfg = mz.Config(condition=condition, hidden=12, batch=3, task=MazeTask(steps=30), penalty=penalty,
                    init_scale=0.5)
    agent = mz.build(cfg).double()
    ep = mz.rollout(Runs([agent]), MazeBatch(cfg.task, cfg.batch, [torch.Generator().manual_seed(1)]),
                    keep_graph=True).of_run(0)
    loss_ref, _ = mz.a2c_loss(ep.logits, ep.values, ep.actions, ep.rewards, cfg)
    grads_ref = torch.autograd.grad(loss_ref, [p for p in agent.parameters() if p.requires_grad], allow_unused=True)
    logits, values = agent.replay(ep.obs)
    assert torch.allclose(logits, ep.logits, atol=1e-12)
    loss, _ = mz.a2c_loss(logits, values, ep.actions, ep.rewards, cfg)
    grads = torch.autograd.grad(loss, [p for p in agent.parameters() if p.requires_grad], allow_unused=True)
    assert loss.item() == pytest.approx(loss_ref.item(), rel=1e-12)
    for a, b in zip(grads, grads_ref):
        if b is None:
            assert a is None or float(a.abs().max()) == 0
        else:
            assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)
    assert any(b is not None and float(b.abs().max()) > 0 for b in grads_ref)


def test_training_is_repeatable_and_recorded():
    cfg = mz.Config(condition="homogeneous", hidden=16, batch=4, updates=2, task=MazeTask(steps=20))
    ((r1, p1),) = mz.train_seeds(cfg, [5], None, torch.device("cpu"), progress=False)
    ((r2, p2),) = mz.trainer(cfg, "cpu", progress=False)([5], None)
    assert r1["reward"] == r2["reward"] and len(r1["reward"]) == 2
    assert all(torch.equal(p1[k], p2[k]) for k in p1)
    assert set(mz.Config.RECORD_KEYS) <= set(r1) and all(len(r1[k]) == 2 for k in mz.Config.RECORD_KEYS)
    assert r1["batch"] == 4 and np.isfinite(r1["loss"]).all() and "batched" not in r1
    assert r1["n_params"] == sum(p.numel() for p in mz.build(cfg).parameters() if p.requires_grad)
    assert pickle.loads(pickle.dumps(mz.trainer(cfg, "cpu"))).args == (cfg,)


def test_rank_sum():
    lo = [{"reward": [0.0] * 9 + [float(i)], "batch": 30} for i in range(4)]
    hi = [{"reward": [0.0] * 9 + [10.0 + i], "batch": 30} for i in range(4)]
    res = mz.rank_sum(hi, lo, last=0.1)
    assert res["p_per_run"] == pytest.approx(2 / 70)  # exact two-sided p, 4 vs 4, complete separation
    assert res["U"] == 16 and res["updates_compared"] == 1
    assert mz.rank_sum(lo, lo, last=0.1)["p_per_run"] == pytest.approx(1.0)


def test_random_episodes_chance_level():
    task = MazeTask(steps=60)
    a = mz.random_episodes(task, 16, seed=2)
    b = mz.random_episodes(task, 16, seed=2)
    assert torch.equal(a.positions, b.positions) and a.positions.shape == (16, 61, 2)
    assert a.obs.shape == (16, 60, 16) and a.rewards.shape == (16, 60)
    assert torch.equal(a.hits(task), (a.rewards == 10).sum(1))
    assert mz.hits_test(a, b, task) == pytest.approx(1.0)
    # a bump is a step that leaves the agent where it was without finding the reward
    stayed = (a.positions[:, 1:] == a.positions[:, :-1]).all(-1) & (a.rewards < task.reward)
    assert torch.equal(a.bumps(task), stayed.sum(1)) and a.bumps(task).sum() > 0


def test_plot_episode_marks_every_find():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    task = MazeTask(steps=200)
    ep = mz.random_episodes(task, 20, seed=0)
    i = int(ep.hits(task).argmax())
    fig, ax = plt.subplots()
    mz.plot_episode(ax, ep, i, task)
    teleports = [line for line in ax.lines if line.get_marker() == "^"]
    assert len(teleports[0].get_xdata()) == int(ep.hits(task)[i]) > 0
    plt.close(fig)


# ------------------------------------------------------------------ claims on hand-made numbers
@pytest.mark.parametrize("a, b, p, word", [(5.0, 3.0, 0.01, "reproduced"), (5.0, 3.0, 0.3, "not reached within our budget"),
                                          (2.0, 3.0, 0.4, "not reached within our budget"),
                                          (2.0, 3.0, 0.01, "not reproduced")])
def test_comparison_verdict(a, b, p, word):
    v = mz.comparison_verdict(a, b, p, 4, 3600)
    assert v.startswith(word + ":") and "4 vs 4 runs" in v
    if word == "not reached within our budget":
        assert "after 3,600 of the paper's 200,000 episodes per run (1.8%)" in v


def test_comparison_verdict_at_another_level():
    assert mz.comparison_verdict(5.0, 3.0, 0.04, 4, 3600).startswith("reproduced:")
    assert mz.comparison_verdict(5.0, 3.0, 0.04, 4, 3600, level=0.025).startswith("not reached within our budget:")


def _courses(nonplastic, homogeneous, plastic=np.linspace(0, 10, 100)):
    return {c: mz.course([{"reward": list(curve)}] * 3) for c, curve in
            [("plastic", plastic), ("nonplastic", nonplastic), ("homogeneous", homogeneous)]}


def test_course_reads_the_median_runs_first_middle_and_last_fifth():
    c = mz.course([{"reward": list(np.arange(100.0))}, {"reward": list(np.arange(100.0) + 1)},
                   {"reward": list(np.arange(100.0) + 50)}])
    assert (c["first"], c["middle"], c["end"]) == (10.5, 40.5, 90.5)  # run 2 is the median: 1-20, 31-50, 81-100
    assert c["rise"] == 80 and c["late"] == 50


def test_stuck_verdict_each_outcome():
    flat = np.r_[np.linspace(0, 3, 25), np.full(75, 3.0)]  # rose, then stalled below the plastic net's 10
    rising = np.linspace(0, 6, 100)
    assert mz.stuck_verdict(_courses(flat, flat), 3600).startswith("reproduced:")
    assert mz.stuck_verdict(_courses(flat, rising), 3600).startswith("not reached within our budget:")
    assert mz.stuck_verdict(_courses(flat, rising), 200_000).startswith("not reproduced:")
    never = np.full(100, -1.0)  # never rose: stuck from the start
    assert mz.stuck_verdict(_courses(never, flat), 3600).startswith("reproduced:")
    above = np.r_[np.linspace(0, 12, 25), np.full(75, 12.0)]  # stalled, but above the plastic net
    v = mz.stuck_verdict(_courses(flat, above), 200_000)
    assert v.startswith("not reproduced:") and "not below plastic" in v
    # slowing: the last half gains 0.43 of a 2.94 rise (15%): stuck at a fifth, not at a tenth
    slow = np.r_[np.linspace(0, 3.6, 30), np.linspace(3.6, 4.2, 70)]
    assert mz.stuck_verdict(_courses(flat, slow), 3600, stall=0.2).startswith("reproduced:")
    assert mz.stuck_verdict(_courses(flat, slow), 3600).startswith("not reached within our budget:")


def test_a_miss_at_the_papers_budget_is_not_reproduced():
    assert mz.comparison_verdict(5.0, 3.0, 0.3, 15, 201_000).startswith("not reproduced:")
    assert mz.returns_verdict(1, False, 6, 200_000).startswith("not reproduced:")


@pytest.mark.parametrize("best, above, word", [(3, True, "reproduced"), (5, False, "not reached within our budget"),
                                               (1, False, "not reached within our budget")])
def test_returns_verdict(best, above, word):
    v = mz.returns_verdict(best, above, 6, 3600)
    assert v.startswith(word + ":") and (("random policy does as much" in v) == (best >= 2 and not above))


def test_profiles_name_every_condition_with_the_same_budget():
    for p in mz.PROFILES.values():
        assert set(p.configs) == set(mz.CONDITIONS)
        assert all(c.condition == name for name, c in p.configs.items())
        assert len({(c.updates, c.batch) for c in p.configs.values()}) == 1
    assert "1,000,000 updates" in mz.RELEASED.value and "released_code.md" in mz.RELEASED.source


def test_runs_per_batch_follows_the_device_memory(monkeypatch):
    from types import SimpleNamespace

    for gib, runs in ((139, 15), (16, 15), (4, 5), (1, 1)):
        monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _, gib=gib: SimpleNamespace(total_memory=gib * 2**30))
        assert mz.runs_per_batch(torch.device("cuda"), 15) == runs
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _: SimpleNamespace(total_memory=139 * 2**30))
    assert mz.runs_per_batch(torch.device("cuda"), 4) == 4  # never more than the runs asked for
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda _: SimpleNamespace(total_memory=4 * 2**30))
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert mz.runs_per_batch(torch.device("cuda"), 15) == 2  # twice the bytes per run
    finally:
        torch.set_default_dtype(old)
    assert 1 <= mz.runs_per_batch(torch.device("cpu"), 15) <= 15


def test_train_conditions_batched_or_not_stores_the_same_runs(monkeypatch, tmp_path):
    """The CPU path (one run per call) and the batched path (calls of runs_per_batch runs) store the same
    runs; the store is reached once, with every condition's job."""
    from plasticity_utils.experiments.contract import Profile
    from plasticity_utils.training import RunStore

    task = MazeTask(size=5, steps=8)
    configs = {c: mz.Config(task=task, condition=c, hidden=6, batch=2, updates=2) for c in mz.CONDITIONS}
    monkeypatch.setitem(mz.PROFILES, "smoke", Profile(configs, 3, "test", {"batched": False}))
    monkeypatch.setattr(mz.runs, "runs_per_batch", lambda device, runs: 2)  # where train_conditions looks it up
    groups, train = [], RunStore.train
    monkeypatch.setattr(RunStore, "train", lambda self, jobs, **kw: groups.append((len(jobs), kw["group"]))
                        or train(self, jobs, **kw))
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # batched and separate runs agree to rounding only
    try:
        results = {}
        for batched in (False, True):
            monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / str(batched)))
            results[batched] = mz.train_conditions("smoke", batched=batched, progress=False)
    finally:
        torch.set_default_dtype(old)
    assert groups == [(3, 1), (3, 2)]
    for c in mz.CONDITIONS:
        alone, together = results[False][c], results[True][c]
        assert [r["seed"] for r in alone] == [r["seed"] for r in together] == [0, 1, 2]
        assert ["batched" in r for r in together] == [True, True, False] and not any("batched" in r for r in alone)
        for a, b in zip(alone, together):
            np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-9)
            assert a["reward"] == pytest.approx(b["reward"], rel=1e-12)
