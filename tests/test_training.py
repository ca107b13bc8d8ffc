"""Resumable training and the per-seed run cache."""

from dataclasses import dataclass

import pytest
import torch

from plasticity_utils.training import RunStore, elapsed, train


@dataclass(frozen=True)
class Cfg:
    episodes: int = 20
    lr: float = 0.05


def setup_run(seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1)
    return model, torch.optim.Adam(model.parameters(), lr=0.05), torch.Generator().manual_seed(seed)


def regression_episode(model, generator, fail_at=None):
    def episode(i):
        if i == fail_at:
            raise KeyboardInterrupt
        x = torch.randn(8, 3, generator=generator)
        y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
        loss = ((model(x) - y) ** 2).mean()
        return loss, {"mse": loss.item()}
    return episode


def test_train_learns_and_records_every_episode():
    model, opt, g = setup_run()
    history = train(model, opt, regression_episode(model, g), 200, generator=g, progress=False)
    assert len(history) == 200
    assert history[-1]["mse"] < 0.01 * history[0]["mse"]


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    model, opt, g = setup_run()
    full = train(model, opt, regression_episode(model, g), 30, generator=g, progress=False)

    ckpt = tmp_path / "run.ckpt"
    model, opt, g = setup_run()
    with pytest.raises(KeyboardInterrupt):  # checkpoint after every episode, die at episode 17
        train(model, opt, regression_episode(model, g, fail_at=17), 30, generator=g, checkpoint=ckpt,
              checkpoint_seconds=0, progress=False)
    assert ckpt.exists()
    model, opt, g = setup_run(seed=99)  # a fresh process: nothing but the checkpoint carries over
    resumed = train(model, opt, regression_episode(model, g), 30, generator=g, checkpoint=ckpt, progress=False)
    assert [h["mse"] for h in resumed] == pytest.approx([h["mse"] for h in full], rel=1e-6)


def test_elapsed_time_survives_a_resume(tmp_path):
    """Training time is recorded per update and checkpointed: after a resume, elapsed() still counts
    the updates trained before the interruption (each made slow on purpose)."""
    import time

    def slow(episode, seconds):
        def fn(i):
            time.sleep(seconds if i < 5 else 0.0)
            return episode(i)
        return fn

    ckpt = tmp_path / "run.ckpt"
    model, opt, g = setup_run()
    with pytest.raises(KeyboardInterrupt):
        train(model, opt, slow(regression_episode(model, g, fail_at=5), 0.05), 10, generator=g, checkpoint=ckpt,
              checkpoint_seconds=0, progress=False)
    model, opt, g = setup_run()
    resumed = train(model, opt, regression_episode(model, g), 10, generator=g, checkpoint=ckpt, progress=False)
    wall, cpu = elapsed(resumed)
    assert len(resumed) == 10 and all(h["wall"] >= 0 and h["cpu"] >= 0 for h in resumed)
    assert sum(h["wall"] for h in resumed[:5]) >= 5 * 0.05  # the sleeps before the interruption
    assert wall >= 0.25 and cpu < wall  # sleeping costs wall time, not CPU time


def test_runstore_caches_and_retrains_when_the_config_changes(tmp_path):
    store = RunStore(tmp_path)
    calls = []

    def train_seed(seed, checkpoint):
        calls.append(seed)
        return {"curve": [seed, 1.0]}, {"w": torch.full((2,), float(seed))}

    first = store.run(3, Cfg(), train_seed)
    assert first["curve"] == [3, 1.0] and first["config"] == {"episodes": 20, "lr": 0.05}
    assert store.run(3, Cfg(), train_seed) == first and calls == [3]  # cached
    store.run(3, Cfg(episodes=21), train_seed)  # changed config: retrained
    store.run(3, Cfg(episodes=21), train_seed, force=True)  # forced: retrained
    assert calls == [3, 3, 3]
    assert torch.equal(store.params(3)["w"], torch.full((2,), 3.0))


def test_checkpoints_are_specific_to_the_config(tmp_path):
    store = RunStore(tmp_path)
    assert store.checkpoint_path(0, Cfg()) != store.checkpoint_path(0, Cfg(lr=0.1))
    assert store.checkpoint_path(0, Cfg()) == store.checkpoint_path(0, Cfg())


def test_negative_episodes_rejected():
    model, opt, g = setup_run()
    with pytest.raises(ValueError):
        train(model, opt, regression_episode(model, g), -1, generator=g)


def tiny_train_seed(seed, checkpoint):
    model, opt, g = setup_run(seed)
    history = train(model, opt, regression_episode(model, g), 5, generator=g, progress=False)
    return {"mse": [h["mse"] for h in history]}, model.state_dict()


def test_parallel_workers_give_the_same_runs(tmp_path):
    serial = RunStore(tmp_path / "a").run_many([0, 1], Cfg(), tiny_train_seed, workers=1)
    parallel = RunStore(tmp_path / "b").run_many([0, 1], Cfg(), tiny_train_seed, workers=2)
    assert [r["seed"] for r in parallel] == [0, 1]
    for s, p in zip(serial, parallel):
        assert p["mse"] == pytest.approx(s["mse"], rel=1e-5)
    with pytest.raises(ValueError):
        RunStore(tmp_path / "c").run_many([0, 1], Cfg(), tiny_train_seed, workers=-1)
