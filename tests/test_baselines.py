"""The non-plastic baselines (plasticity_utils.baselines): the RNN and the (clamped) LSTM; the experiment of notebook 02
is tested in test_plastic_vs_lstm.py."""

from __future__ import annotations

import pytest
import torch

from plasticity_utils.baselines import CLAMP_GAIN, GATE_OPEN, GATE_SHUT, LSTMBaseline, RecurrentBaseline, n_trainable
from plasticity_utils.experiments import plastic_vs_lstm as pvl
from plasticity_utils.plastic import PlasticRecurrent
from plasticity_utils.tasks.patterns import pattern_episode


def test_recurrent_baseline_is_the_plastic_network_without_plasticity():
    torch.manual_seed(0)
    n, k = 12, 5
    base = RecurrentBaseline(n, init_scale=0.5).double()
    ref = PlasticRecurrent(n, alpha="none").double()
    with torch.no_grad():
        ref.connection.w.copy_(base.w)
    inputs = torch.randn(3, 7, k, dtype=torch.float64)
    padded = torch.nn.functional.pad(inputs, (0, n - k))
    torch.testing.assert_close(base(inputs), ref(padded)[0], rtol=0, atol=1e-14)


def test_fused_and_reference_recurrent_baseline_agree():
    torch.manual_seed(4)
    base = RecurrentBaseline(30, init_scale=0.3).double()
    inputs = 20.0 * torch.randn(3, 11, 8, dtype=torch.float64).sign()
    grads = []
    for impl in ("fused", "reference"):
        xs = base(inputs, impl=impl)
        (xs[:, -1, :5] - 1).pow(2).sum().backward()
        grads.append((xs.detach(), base.w.grad.clone()))
        base.w.grad = None
    torch.testing.assert_close(grads[0][0], grads[1][0], rtol=0, atol=1e-14)
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-12, atol=1e-14)


def test_recurrent_baseline_rejects_bad_arguments():
    with pytest.raises(ValueError):
        RecurrentBaseline(4)(torch.zeros(1, 3, 5))
    with pytest.raises(ValueError):
        RecurrentBaseline(4)(torch.zeros(1, 3, 4), impl="cuda-graph")


def _presented_steps(task, inputs):
    """Mask (B, T, n_bits) of the inputs that are non-zero (patterns and kept test bits)."""
    return inputs[..., : task.n_bits] != 0


@pytest.mark.parametrize("n_inputs, hidden", [(6, 20), (50, 2000)])
def test_clamped_lstm_units_follow_their_inputs(n_inputs, hidden):
    """With the clamp, hidden unit k has the sign of input k at every step where input k is shown."""
    torch.manual_seed(2)
    task = pvl.replace(pvl.TASK, n_bits=n_inputs)
    inputs, _ = pattern_episode(task, 4, torch.Generator().manual_seed(0))
    x = 100.0 * inputs[..., :n_inputs]
    shown = _presented_steps(task, inputs)
    clamped = LSTMBaseline(n_inputs, hidden, clamp=True)
    with torch.no_grad():
        h = clamped(x)[..., :n_inputs]
    assert torch.equal(torch.sign(h[shown]), torch.sign(x[shown]))
    # the same LSTM without the clamp does not copy its inputs: the check above can fail
    free = LSTMBaseline(n_inputs, hidden, clamp=False)
    with torch.no_grad():
        agree = (torch.sign(free(x)[..., :n_inputs][shown]) == torch.sign(x[shown])).float().mean()
    assert agree < 0.8


def test_clamp_survives_training_and_pins_exactly_the_documented_entries():
    torch.manual_seed(3)
    n_inputs, hidden = 4, 10
    model = LSTMBaseline(n_inputs, hidden, clamp=True)
    p, k = model.lstm, torch.arange(n_inputs)
    g_rows, f_rows = 2 * hidden + k, hidden + k
    # rows that must receive gradient: all but the pinned candidate rows and the clamped units'
    # forget-gate rows (sigmoid(-1000) = 0 exactly, so no gradient reaches them: frozen by saturation)
    free_rows = torch.ones(4 * hidden, dtype=torch.bool)
    free_rows[g_rows] = False
    free_rows[f_rows] = False
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = 100.0 * torch.randint(-1, 2, (3, 6, n_inputs), generator=gen).float()
        loss = (model(x)[:, -1] - 1).pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        assert p.weight_ih_l0.grad[g_rows].abs().sum() == 0
        assert p.bias_ih_l0.grad[torch.cat([k, f_rows, g_rows, 3 * hidden + k])].abs().sum() == 0
        assert (p.weight_ih_l0.grad[free_rows] != 0).float().mean() > 0.9
        assert (p.weight_hh_l0.grad[free_rows] != 0).float().mean() > 0.9
        assert (p.weight_hh_l0.grad[g_rows] != 0).float().mean() > 0.9  # free when the input is 0
        optimizer.step()
    expected = torch.zeros(n_inputs, n_inputs)
    expected[k, k] = CLAMP_GAIN
    assert torch.equal(p.weight_ih_l0[g_rows], expected)
    assert torch.equal(p.bias_ih_l0[k], torch.full((n_inputs,), GATE_OPEN))
    assert torch.equal(p.bias_ih_l0[f_rows], torch.full((n_inputs,), GATE_SHUT))
    assert torch.equal(p.bias_ih_l0[g_rows], torch.zeros(n_inputs))
    assert torch.equal(p.bias_ih_l0[3 * hidden + k], torch.full((n_inputs,), GATE_OPEN))
    assert torch.equal(p.bias_hh_l0[torch.cat([k, f_rows, g_rows, 3 * hidden + k])], torch.zeros(4 * n_inputs))
    total = sum(v.numel() for v in p.parameters())
    assert n_trainable(model) == total - n_inputs**2 - 8 * n_inputs
