"""The plastic LSTM: its step against the equations, a plain LSTM without plasticity, finite-difference
gradients through whole episodes, batched runs, argument checks, and its benchmark's smoke run."""

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.func import functional_call

from plasticity_utils.plastic import ALPHA_MODES, RULES
from plasticity_utils.plastic_lstm import PlasticLSTM

PLASTIC = list(itertools.product(RULES, ["per_connection", "shared"]))


def make_lstm(rule="hebb", alpha="per_connection", n_inputs=3, hidden=4, seed=0, learn_eta=True):
    torch.manual_seed(seed)
    lstm = PlasticLSTM(n_inputs, hidden, rule=rule, alpha=alpha, learn_eta=learn_eta, init_scale=0.5).double()
    with torch.no_grad():
        lstm.connection.eta.fill_(0.3)  # large eta and alpha: the trace matters, so errors would show
    return lstm


def episode(batch=2, steps=5, n_inputs=3, seed=1):
    return torch.randn(batch, steps, n_inputs, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("rule,alpha", PLASTIC)
def test_step_is_the_documented_equations(rule, alpha):
    lstm = make_lstm(rule, alpha)
    g = torch.Generator().manual_seed(2)
    x, h, c = (torch.randn(2, n, generator=g, dtype=torch.float64) for n in (3, 4, 4))
    hebb = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
    new_h, new_c, new_hebb = lstm.step(x, (h, c, hebb))
    pre = x @ lstm.weight_ih.t() + lstm.bias
    u_i, u_f, u_o = lstm.weight_hh.chunk(3)
    w, a = lstm.connection.w, lstm.connection.alpha
    i = torch.sigmoid(pre[:, :4] + h @ u_i.t())
    f = torch.sigmoid(pre[:, 4:8] + h @ u_f.t())
    cand = torch.tanh(pre[:, 8:12] + torch.einsum("bi,bij->bj", h, w + a * hebb))
    o = torch.sigmoid(pre[:, 12:] + h @ u_o.t())
    expected_c = f * c + i * cand
    torch.testing.assert_close(new_c, expected_c, rtol=0, atol=1e-14)
    torch.testing.assert_close(new_h, o * torch.tanh(expected_c), rtol=0, atol=1e-14)
    eta = 0.3
    if rule == "hebb":  # Eq. 2 with pre = h(t-1), post = g(t)
        expected_hebb = (1 - eta) * hebb + eta * h.unsqueeze(2) * cand.unsqueeze(1)
    else:  # Eq. 3
        expected_hebb = hebb + eta * cand.unsqueeze(1) * (h.unsqueeze(2) - cand.unsqueeze(1) * hebb)
    torch.testing.assert_close(new_hebb, expected_hebb, rtol=0, atol=1e-14)


def test_episode_is_its_steps_and_continues_from_a_state():
    lstm = make_lstm("oja")
    u = episode(steps=6)
    hs, cs, hebb = lstm(u)
    state = None
    for t in range(6):
        state = lstm.step(u[:, t], state)
        torch.testing.assert_close(state[0], hs[:, t], rtol=0, atol=1e-15)
        torch.testing.assert_close(state[1], cs[:, t], rtol=0, atol=1e-15)
    torch.testing.assert_close(state[2], hebb, rtol=0, atol=1e-15)
    first = lstm(u[:, :2])
    rest = lstm(u[:, 2:], (first[0][:, -1], first[1][:, -1], first[2]))
    torch.testing.assert_close(torch.cat([first[0], rest[0]], 1), hs, rtol=0, atol=1e-15)
    torch.testing.assert_close(rest[2], hebb, rtol=0, atol=1e-15)


@pytest.mark.parametrize("alpha", ALPHA_MODES)
@pytest.mark.parametrize("cell", [False, True])
def test_without_plasticity_it_is_pytorchs_lstm(alpha, cell):
    """alpha="none", or any alpha set to zero, computes nn.LSTM / nn.LSTMCell with the same weights, gradients
    included (float64); the trace is still kept when alpha is a zero parameter."""
    torch.manual_seed(0)
    native = (torch.nn.LSTMCell(3, 5) if cell else torch.nn.LSTM(3, 5, batch_first=True)).double()
    lstm = PlasticLSTM.from_lstm(native, alpha=alpha, rule="oja")
    assert lstm.weight_ih.dtype == torch.float64
    if lstm.plastic:
        with torch.no_grad():
            lstm.connection.alpha.zero_()
            lstm.connection.eta.fill_(0.5)
    u = episode(batch=3, steps=7)
    hs, cs, hebb = lstm(u)
    if cell:
        h = c = torch.zeros(3, 5, dtype=torch.float64)
        expected = []
        for t in range(7):
            h, c = native(u[:, t], (h, c))
            expected.append(h)
        expected = torch.stack(expected, 1)
        expected_c = c
    else:
        expected, (_, c_n) = native(u)
        expected_c = c_n[0]
    torch.testing.assert_close(hs, expected, rtol=0, atol=1e-13)
    torch.testing.assert_close(cs[:, -1], expected_c, rtol=0, atol=1e-13)
    assert (hebb is None) == (alpha == "none")
    weights = torch.linspace(-1, 1, 7 * 5, dtype=torch.float64).view(7, 5)
    (hs * weights).sum().backward()
    (expected * weights).sum().backward()
    w_hh = native.weight_hh if cell else native.weight_hh_l0
    i, f, g, o = w_hh.grad.chunk(4)
    torch.testing.assert_close(lstm.weight_hh.grad, torch.cat([i, f, o]), rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(lstm.connection.w.grad, g.t(), rtol=1e-10, atol=1e-13)
    w_ih = native.weight_ih if cell else native.weight_ih_l0
    torch.testing.assert_close(lstm.weight_ih.grad, w_ih.grad, rtol=1e-10, atol=1e-13)
    if alpha != "none":  # alpha = 0 still learns: its gradient is the trace's effect
        assert lstm.connection.alpha.grad.abs().sum() > 0


@pytest.mark.parametrize("rule,alpha", PLASTIC)
def test_gradients_through_an_episode_match_finite_differences(rule, alpha):
    """torch.autograd.gradcheck (float64) of a loss on every hidden state and the final trace with respect to
    the inputs and every parameter, eta included, through a 5-step episode."""
    lstm = make_lstm(rule, alpha)
    names = [n for n, _ in lstm.named_parameters()]
    assert "connection.eta" in names and "connection.alpha" in names
    u = episode().requires_grad_()
    g = torch.Generator().manual_seed(3)
    weights = torch.randn(2, 5, 4, generator=g, dtype=torch.float64)
    trace_weights = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)

    def loss(u, *params):
        hs, cs, hebb = functional_call(lstm, dict(zip(names, params)), (u,))
        return (hs * weights).sum() + (cs[:, -1] ** 2).sum() + (hebb * trace_weights).sum()

    params = tuple(p.detach().clone().requires_grad_() for p in lstm.parameters())
    assert torch.autograd.gradcheck(loss, (u, *params), eps=1e-6, atol=1e-7)


def test_fixed_eta_is_a_buffer_and_gets_no_gradient():
    lstm = make_lstm(learn_eta=False)
    assert "connection.eta" not in dict(lstm.named_parameters()) and "connection.eta" in lstm.state_dict()
    lstm(episode())[0].sum().backward()
    assert lstm.connection.alpha.grad is not None and not lstm.connection.eta.requires_grad


@pytest.mark.parametrize("rule,alpha", PLASTIC)
def test_batched_runs_equal_each_run(rule, alpha):
    """The leading run axis of plasticity_utils.batched.Runs (torch.func.vmap): each run's outputs and
    gradients are those of the run alone."""
    from plasticity_utils.batched import Runs

    lstms = [make_lstm(rule, alpha, seed=s) for s in range(3)]
    with torch.no_grad():
        lstms[1].connection.eta.fill_(0.1)
    runs = Runs(lstms)
    u = torch.stack([episode(seed=s) for s in range(3)])
    hs, cs, hebb = runs(u)
    (hs.sum() + hebb.pow(2).sum()).backward()
    for r, lstm in enumerate(lstms):
        h1, c1, hebb1 = lstm(u[r])
        (h1.sum() + hebb1.pow(2).sum()).backward()
        torch.testing.assert_close(hs[r], h1, rtol=0, atol=1e-13)
        torch.testing.assert_close(hebb[r], hebb1, rtol=0, atol=1e-13)
        for name, p in lstm.named_parameters():
            torch.testing.assert_close(runs.parameter(name).grad[r], p.grad, rtol=1e-10, atol=1e-13, msg=name)


def test_parameter_shapes_and_initialisation():
    torch.manual_seed(0)
    lstm = PlasticLSTM(5, 400, alpha="shared")
    shapes = {n: tuple(p.shape) for n, p in lstm.named_parameters()}
    assert shapes == {"weight_ih": (1600, 5), "weight_hh": (1200, 400), "bias": (1600,),
                      "connection.w": (400, 400), "connection.alpha": (), "connection.eta": ()}
    bound = 1 / 400 ** 0.5
    for name in ("weight_ih", "weight_hh", "bias", "connection.w"):
        p = lstm.get_parameter(name)
        assert -bound <= p.min() and p.max() <= bound and p.std() > 0.5 * bound, name
    none = PlasticLSTM(5, 7, alpha="none")
    assert none.initial_state(2)[2] is None and "connection.alpha" not in none.state_dict()


@pytest.mark.parametrize("kwargs,match", [
    ({"rule": "stdp"}, "rule='stdp'"), ({"alpha": "per_neuron"}, "alpha='per_neuron'"), ({"eta": 2.0}, "eta"),
    ({"hidden": 0}, "hidden >= 1"), ({"n_inputs": 0}, "n_inputs"), ({"alpha_init": "xavier"}, "init='xavier'")])
def test_bad_arguments_fail_clearly(kwargs, match):
    args = {"n_inputs": 3, "hidden": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        PlasticLSTM(**args)


def test_bad_inputs_and_states_fail_clearly():
    lstm = PlasticLSTM(3, 4)
    with pytest.raises(ValueError, match=r"inputs must be \(batch, time, 3\), got \(2, 5\)"):
        lstm(torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"inputs must be \(batch, time, 3\), got \(2, 5, 4\)"):
        lstm(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"inputs must be \(batch, 3\), got \(2, 5, 3\)"):
        lstm.step(torch.zeros(2, 5, 3))
    h, c, hebb = lstm.initial_state(2)
    with pytest.raises(ValueError, match=r"h and c must be \(2, 4\)"):
        lstm.step(torch.zeros(2, 3), (h[:1], c, hebb))
    with pytest.raises(ValueError, match=r"hebb must be \(2, 4, 4\), got None"):
        lstm.step(torch.zeros(2, 3), (h, c, None))
    with pytest.raises(ValueError, match="tuple"):
        lstm.step(torch.zeros(2, 3), (h, c))
    with pytest.raises(ValueError, match="takes no trace"):
        PlasticLSTM(3, 4, alpha="none").step(torch.zeros(2, 3), (h, c, hebb))
    with pytest.raises(TypeError, match="nn.LSTM or nn.LSTMCell"):
        PlasticLSTM.from_lstm(torch.nn.GRU(3, 4))
    with pytest.raises(ValueError, match="one-layer"):
        PlasticLSTM.from_lstm(torch.nn.LSTM(3, 4, num_layers=2))


def test_benchmark_smoke_runs():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "plastic_lstm.py"
    out = subprocess.run([sys.executable, str(script), "--smoke"], capture_output=True, text=True, check=True,
                         timeout=300).stdout
    for model in ("plastic_lstm", "lstm", "plastic_rnn"):
        assert f"\n{model} " in out, out
    assert "ratio" in out and "floor" in out
