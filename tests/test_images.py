"""The natural-image task (plasticity_utils.tasks.images): preprocessing, episodes, loss and correlation, and the
plastic layer on its episodes; the experiment module is tested in test_natural_images.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from plasticity_utils import stats
from plasticity_utils.plastic import PlasticRecurrent
from plasticity_utils.tasks.images import (ZERO_NUDGE, ImageTask, RandomErasureTask, erased_correlation, grayscale,
                                           image_episode, normalise, reconstruction_loss)

SMALL = ImageTask(side=6, n_images=3, cycles=2, show=3, gap=2, test_show=2)


def random_images(n: int, side: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, side, side, 3), dtype=np.uint8)


def small_pool(n: int = 12, side: int = 6) -> torch.Tensor:
    return grayscale(random_images(n, side))


# --------------------------------------------------------------------------- preprocessing
def test_grayscale_is_sum_of_channels_zero_mean_and_unit_peak():
    images = random_images(20, 32)
    gray = grayscale(images)
    assert gray.shape == (20, 1024) and gray.dtype == torch.float32
    assert torch.allclose(gray.abs().max(1).values, torch.ones(20))
    assert torch.allclose(gray.mean(1), torch.zeros(20), atol=1e-5)
    # same result as doing it by hand for one image (R + G + B, row-major pixels)
    s = images[3].astype(float).sum(-1).ravel()
    expected = (s - s.mean()) / np.abs(s - s.mean()).max()
    assert np.allclose(gray[3].numpy(), expected, atol=1e-6)


def test_grayscale_nudges_exact_zeros_so_every_pixel_clamps():
    img = np.zeros((1, 2, 2, 3), np.uint8)
    img[0, :, :, 0] = [[0, 10], [20, 10]]  # mean 10: two pixels are exactly 0 after centring
    gray = grayscale(img)
    assert torch.equal(gray[0], torch.tensor([-1.0, ZERO_NUDGE, 1.0, ZERO_NUDGE]))
    flat = grayscale(np.full((1, 4, 4, 3), 77, np.uint8))  # a constant image: all pixels at the nudge
    assert torch.all(flat == ZERO_NUDGE)
    assert (grayscale(random_images(200, 32)) != 0).all()


def test_grayscale_rejects_wrong_shape():
    with pytest.raises(ValueError, match="N, H, W, 3"):
        grayscale(np.zeros((2, 32, 32), np.uint8))


# --------------------------------------------------------------------------- episodes
def test_default_task_matches_the_papers():
    task = ImageTask()
    assert task.n_pixels == 1024 and task.steps == 201  # 3 cycles x 3 images x (20 + 2) + 3


def test_episode_structure():
    task, pool = SMALL, small_pool()
    ep = image_episode(task, pool, 5, torch.Generator().manual_seed(1))
    n, period = task.n_pixels, task.show + task.gap
    assert ep.inputs.shape == (5, task.steps, n + 1)
    assert torch.all(ep.inputs[:, :, -1] == 1)  # bias clamped to 1 on every step
    for b in range(5):
        stored = ep.stored[b]
        assert len({tuple(x.tolist()) for x in stored}) == task.n_images  # distinct pool images
        assert any(torch.equal(ep.target[b], s) for s in stored)
        for c in range(task.cycles):  # each cycle shows every stored image once, for `show` steps, then a gap
            shown = []
            for k in range(task.n_images):
                t = (c * task.n_images + k) * period
                block = ep.inputs[b, t : t + task.show, :-1]
                assert torch.all(block == block[0])
                shown.append(next(i for i in range(task.n_images) if torch.equal(block[0], stored[i])))
                assert torch.all(ep.inputs[b, t + task.show : t + period, :-1] == 0)
            assert sorted(shown) == list(range(task.n_images))
        probe = ep.inputs[b, -task.test_show :, :-1]
        assert torch.all(probe == ep.probe[b])
        # one contiguous half erased: the first n/2 pixels (top rows) or the last n/2 (bottom rows)
        top, bottom = torch.arange(n) < n // 2, torch.arange(n) >= n // 2
        assert torch.equal(ep.erased[b], top) or torch.equal(ep.erased[b], bottom)
        assert torch.all(ep.probe[b][ep.erased[b]] == 0)
        assert torch.equal(ep.probe[b][~ep.erased[b]], ep.target[b][~ep.erased[b]])
        assert torch.all(ep.probe[b][~ep.erased[b]] != 0)  # every kept pixel clamps its neuron


def test_episodes_use_both_halves_and_all_positions():
    ep = image_episode(SMALL, small_pool(), 400, torch.Generator().manual_seed(2))
    bottom = ep.erased[:, -1].float().mean().item()
    assert 0.4 < bottom < 0.6
    which = [next(i for i in range(3) if torch.equal(ep.target[b], ep.stored[b, i])) for b in range(400)]
    assert set(np.bincount(which, minlength=3) > 90) == {True}


def test_half_erasure_draws_one_half_per_episode_from_the_generator():
    # the draw that chose the half before ImageTask.erase held it: one uniform per episode, < 0.5 -> the bottom
    g = torch.Generator().manual_seed(5)
    erased = SMALL.erase(200, g)
    bottom = torch.rand(200, generator=torch.Generator().manual_seed(5)) < 0.5
    n = SMALL.n_pixels
    assert torch.equal(erased[:, n // 2:], bottom[:, None].expand(-1, n // 2))
    assert torch.equal(erased[:, :n // 2], ~bottom[:, None].expand(-1, n // 2))


def test_random_erasure_erases_the_fraction_anywhere_and_keeps_the_rest_of_the_episode():
    pool, n = small_pool(), SMALL.n_pixels
    task = RandomErasureTask(**vars(SMALL))
    a = image_episode(SMALL, pool, 300, torch.Generator().manual_seed(6))
    b = image_episode(task, pool, 300, torch.Generator().manual_seed(6))
    # the same images, presentations and probed image: only the erased pixels differ (drawn last)
    assert torch.equal(a.stored, b.stored) and torch.equal(a.target, b.target)
    assert torch.equal(a.inputs[:, :-SMALL.test_show], b.inputs[:, :-SMALL.test_show])
    assert torch.all(b.erased.sum(-1) == n // 2)  # as many pixels as the half erasure
    assert torch.all(b.probe[b.erased] == 0) and torch.equal(b.probe[~b.erased], b.target[~b.erased])
    # every pixel is erased about half the time, and a probe's erased pixels are not one of the two halves
    rate = b.erased.float().mean(0)
    assert rate.min() > 0.38 and rate.max() < 0.62
    halves = (b.erased[:, : n // 2].all(-1) | b.erased[:, n // 2:].all(-1)).float().mean()
    assert halves < 0.05
    # neighbours are erased independently of each other (about half the time given one is), unlike the halves
    pair = (b.erased[:, :-1] & b.erased[:, 1:]).float().mean() / b.erased[:, :-1].float().mean()
    assert 0.4 < pair < 0.6
    assert torch.all(RandomErasureTask(**vars(SMALL), fraction=0.25).erase(4, torch.Generator()).sum(-1) == 9)
    with pytest.raises(ValueError, match="fraction"):
        RandomErasureTask(fraction=1.0)


def test_normalise_is_grayscale_without_the_channel_sum():
    images = random_images(4, 6)
    gray = images.astype(np.float64).sum(-1).reshape(4, -1)
    assert torch.equal(normalise(gray), grayscale(images))
    ink = np.zeros((2, 36))
    ink[:, :6] = 1.0  # a stroke on a blank background
    out = normalise(ink)
    assert torch.allclose(out.mean(1), torch.zeros(2), atol=1e-6) and torch.allclose(out.abs().max(1).values,
                                                                                    torch.ones(2))


def test_novel_probe_control_shows_the_same_episode_with_an_unstored_probe():
    pool = small_pool()
    a = image_episode(SMALL, pool, 6, torch.Generator().manual_seed(8))
    b = image_episode(SMALL, pool, 6, torch.Generator().manual_seed(8), probe="novel")
    assert torch.equal(a.stored, b.stored) and torch.equal(a.erased, b.erased)
    steps = SMALL.steps - SMALL.test_show
    assert torch.equal(a.inputs[:, :steps], b.inputs[:, :steps])
    for k in range(6):
        assert not any(torch.equal(b.target[k], s) for s in b.stored[k])
        assert torch.equal(b.probe[k], b.target[k].masked_fill(b.erased[k], 0.0))
        assert torch.all(b.inputs[k, steps:, :-1] == b.probe[k])
    with pytest.raises(ValueError, match="probe"):
        image_episode(SMALL, pool, 1, torch.Generator(), probe="other")  # type: ignore[arg-type]


def test_episodes_are_seeded():
    pool = small_pool()
    a = image_episode(SMALL, pool, 3, torch.Generator().manual_seed(3))
    b = image_episode(SMALL, pool, 3, torch.Generator().manual_seed(3))
    c = image_episode(SMALL, pool, 3, torch.Generator().manual_seed(4))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)


def test_episode_rejects_bad_pools():
    with pytest.raises(ValueError, match="pool must be"):
        image_episode(SMALL, torch.zeros(10, 35), 1, torch.Generator())
    with pytest.raises(ValueError, match="needs 3"):
        image_episode(SMALL, small_pool(3), 1, torch.Generator())  # 3 stored + 1 spare for the control
    with pytest.raises(ValueError, match="side"):
        ImageTask(side=5)


# --------------------------------------------------------------------------- loss and correlation
def test_loss_counts_only_erased_pixels():
    target = torch.tensor([[1.0, -1.0, 0.5, 0.5]])
    erased = torch.tensor([[False, False, True, True]])
    output = torch.tensor([[9.0, 9.0, 0.0, 1.5]])
    assert reconstruction_loss(output, target, erased).item() == pytest.approx(0.25 + 1.0)


def test_correlation_matches_numpy_and_is_undefined_for_constant_output():
    g = torch.Generator().manual_seed(5)
    out, tgt = torch.randn(4, 64, generator=g, dtype=torch.float64), torch.randn(4, 64, generator=g, dtype=torch.float64)
    erased = torch.arange(64).expand(4, 64) >= 32
    r = erased_correlation(out, tgt, erased)
    for b in range(4):
        assert r[b].item() == pytest.approx(np.corrcoef(out[b, 32:], tgt[b, 32:])[0, 1], abs=1e-12)
    assert erased_correlation(tgt, tgt, erased).allclose(torch.ones(4, dtype=torch.float64))
    assert torch.isnan(erased_correlation(torch.zeros_like(tgt), tgt, erased)).all()


def test_fused_and_reference_gradients_agree_on_an_image_episode():
    task, pool = SMALL, small_pool()
    ep = image_episode(task, pool, 2, torch.Generator().manual_seed(7))
    grads = {}
    for impl in ("fused", "reference"):
        torch.manual_seed(1)
        net = PlasticRecurrent(task.n_pixels + 1, input_mode="clamp", alpha="per_connection").double()
        with torch.no_grad():  # larger weights than at init, so the free neurons are far from linear
            net.connection.w.mul_(30), net.connection.alpha.mul_(30)
        xs, _ = net(ep.inputs.double(), impl=impl)
        reconstruction_loss(xs[:, -1, :-1], ep.target.double(), ep.erased).sum().backward()
        grads[impl] = [p.grad.clone() for p in net.parameters()]
    for f, r in zip(grads["fused"], grads["reference"]):
        assert torch.allclose(f, r, rtol=1e-9, atol=1e-12)
    assert grads["fused"][0].abs().sum() > 0


def test_paired_difference():
    mean, half = stats.paired_difference(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 2.0]))
    assert mean == pytest.approx(0.0) and half == pytest.approx(1.96 * 1.0 / np.sqrt(3))
    assert stats.compare((mean, half)) == "not different"
    assert stats.compare((-1.0, 0.5)) == "lower" and stats.compare((1.0, 0.5)) == "higher"
    # the 95% half-width is rescaled to the level asked: 1.96 -> 1.645 (0.1) and 2.241 (0.025)
    assert stats.z_of(0.05) == pytest.approx(1.95996, abs=1e-5)
    assert stats.compare((-1.8, 1.96), 0.1) == "lower" and stats.compare((-1.8, 1.96)) == "not different"
    assert stats.compare((-2.1, 1.96)) == "lower" and stats.compare((-2.1, 1.96), 0.025) == "not different"
    with pytest.raises(ValueError):
        stats.compare((0.0, 1.0), 1.5)
