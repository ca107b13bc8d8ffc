"""The binary-pattern episodes: structure and statistics as the papers describe them."""

import pytest
import torch

from plasticity_utils.tasks.patterns import PatternTask, balanced_patterns, pattern_episode, sign_error


def test_patterns_are_balanced():
    p = balanced_patterns(4, 5, 1000, torch.Generator().manual_seed(0))
    assert p.shape == (4, 5, 1000)
    assert set(p.unique().tolist()) == {-1.0, 1.0}
    assert (p.sum(-1) == 0).all()


def test_episode_structure_of_the_1000_bit_task():
    task = PatternTask()
    assert task.steps == 106
    inputs, target = pattern_episode(task, 3, torch.Generator().manual_seed(1))
    assert inputs.shape == (3, 106, 1001) and target.shape == (3, 1000)
    assert (inputs[:, :, -1] == 1).all()  # bias input on every step
    for b in range(3):
        for cycle in range(2):
            shown = []
            for k in range(5):
                t = (cycle * 5 + k) * 10
                block = inputs[b, t : t + 6, :-1]
                assert (block == block[0]).all()  # 6 steps of the same pattern
                assert (inputs[b, t + 6 : t + 10, :-1] == 0).all()  # then 4 steps of zero input
                shown.append(block[0])
            shown = torch.stack(shown)
            assert (shown.sum(-1) == 0).all()
            assert torch.linalg.matrix_rank(shown) == 5  # five distinct patterns, each once per cycle
            if cycle == 0:
                first = shown
        # the second cycle shows the same five patterns (in its own order)
        assert {tuple(r.tolist()) for r in first} == {tuple(r.tolist()) for r in shown}
        probe = inputs[b, 100:, :-1]
        assert (probe == probe[0]).all()
        assert (probe[0] == 0).sum() == 500  # exactly half the bits erased
        kept = probe[0] != 0
        assert torch.equal(probe[0][kept], target[b][kept])
        assert any(torch.equal(target[b], p) for p in first)


def test_orders_differ_between_cycles_and_episodes():
    task = PatternTask(n_bits=20)
    g = torch.Generator().manual_seed(2)
    firsts = {tuple(pattern_episode(task, 1, g)[0][0, 0, :-1].tolist()) for _ in range(20)}
    assert len(firsts) == 20  # fresh patterns every episode


def test_reduced_task_of_the_50_bit_experiment():
    task = PatternTask(n_bits=50, n_patterns=2, cycles=1, show=3, gap=1, test_show=3)
    assert task.steps == 11
    inputs, _ = pattern_episode(task, 2, torch.Generator().manual_seed(0))
    assert inputs.shape == (2, 11, 51)


def test_seeded_episodes_repeat():
    a = pattern_episode(PatternTask(n_bits=10), 2, torch.Generator().manual_seed(5))
    b = pattern_episode(PatternTask(n_bits=10), 2, torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_sign_error():
    target = torch.tensor([[1.0, -1.0, 1.0, -1.0]])
    assert sign_error(torch.tensor([[0.5, -0.2, -0.1, -3.0]]), target).item() == 0.25


@pytest.mark.parametrize("kwargs", [{"n_bits": 7}, {"n_patterns": 0}, {"gap": -1}, {"show": 0}])
def test_bad_task_parameters(kwargs):
    with pytest.raises(ValueError):
        PatternTask(**kwargs)
