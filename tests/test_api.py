"""The package's public API: its exports, the docstring examples, and the step-wise PlasticCell against
the whole-episode PlasticRecurrent."""

import doctest
import itertools
import subprocess
import sys

import pytest
import torch

import plasticity_utils
from plasticity_utils import plastic, plastic_lstm
from plasticity_utils.plastic import PlasticCell, PlasticConnection, PlasticRecurrent

PUBLIC = {"PlasticConnection": plastic, "PlasticRecurrent": plastic, "PlasticCell": plastic,
          "PlasticLSTM": plastic_lstm}


def test_exports_are_the_plastic_modules():
    assert set(plasticity_utils.__all__) == {"__version__", *PUBLIC}
    for name, module in PUBLIC.items():
        assert getattr(plasticity_utils, name) is getattr(module, name)
    with pytest.raises(AttributeError, match="no attribute 'PlasticGRU'"):
        plasticity_utils.PlasticGRU  # noqa: B018


def test_version_is_a_release_number():
    parts = plasticity_utils.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_importing_the_package_does_not_load_torch():
    code = ("import sys, plasticity_utils; print('torch' in sys.modules); "
            "plasticity_utils.PlasticCell; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_example_runs(name):
    obj = getattr(PUBLIC[name], name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs={})
    examples = sum(len(t.examples) for t in tests)
    assert examples >= 5, f"{name} has no docstring example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for t in tests:
        runner.run(t)
    assert runner.failures == 0, f"{runner.failures} of {examples} examples of {name}'s docstring failed (output above)"


def _pair(rule, alpha, mode, learn_eta=True, n=5):
    torch.manual_seed(0)
    layer = PlasticRecurrent(n, input_mode=mode, rule=rule, alpha=alpha, learn_eta=learn_eta, init_scale=0.5).double()
    with torch.no_grad():
        layer.connection.eta.fill_(0.3)
    cell = PlasticCell(n, input_mode=mode, rule=rule, alpha=alpha, learn_eta=learn_eta).double()
    cell.load_state_dict(layer.state_dict())  # same parameter names
    g = torch.Generator().manual_seed(1)
    u = torch.randn(3, 8, n, generator=g, dtype=torch.float64)
    if mode == "clamp":
        u = u * (torch.rand(3, 8, n, generator=g, dtype=torch.float64) < 0.4)
    return layer, cell, u


@pytest.mark.parametrize("rule,alpha,mode", list(itertools.product(
    plastic.RULES, plastic.ALPHA_MODES, plastic.INPUT_MODES)))
def test_cell_steps_equal_the_fused_episode(rule, alpha, mode):
    """Cell steps from rest give the fused layer's activities, final trace and gradients (float64)."""
    layer, cell, u = _pair(rule, alpha, mode)
    xs, hebb = layer(u)
    state, steps = None, []
    for t in range(u.shape[1]):
        state = cell(u[:, t], state)
        steps.append(state[0])
    assert torch.allclose(torch.stack(steps, 1), xs, atol=1e-12)
    assert (hebb is None) == (state[1] is None) and (hebb is None or torch.allclose(state[1], hebb, atol=1e-12))
    weights = torch.linspace(-1, 1, u.shape[1] * u.shape[2], dtype=torch.float64).view(u.shape[1:])
    (xs * weights).sum().backward()
    (torch.stack(steps, 1) * weights).sum().backward()
    for (name, p), q in zip(layer.named_parameters(), cell.parameters()):
        if p.grad is None:  # eta of a non-plastic layer: unused
            assert alpha == "none" and q.grad is None, name
        else:
            assert torch.allclose(p.grad, q.grad, rtol=1e-9, atol=1e-12), name
    episode, _ = cell.episode(u)  # the cell's own whole-episode pass is the fused layer's
    assert torch.equal(episode, xs)


@pytest.mark.parametrize("rule", plastic.RULES)
def test_in_place_rollout_step_equals_the_step(rule):
    _, cell, u = _pair(rule, "per_connection", "add", learn_eta=False)
    x, hebb = cell(u[:, 0])
    with torch.no_grad():
        expected_x, expected_hebb = cell(u[:, 1], (x, hebb))
        trace = hebb.detach().clone()
        new_x, new_hebb = cell(u[:, 1], (x, trace), inplace=True, eta=0.3)
    assert new_hebb is trace  # updated in place
    assert torch.equal(new_x, expected_x) and torch.allclose(new_hebb, expected_hebb, atol=1e-14)
    x2, hebb2 = cell(u[:, 1], (x, hebb), inplace=True)  # autograd on: never in place
    assert hebb2 is not hebb and hebb2.requires_grad


def test_cell_rejects_inputs_of_the_wrong_shape():
    cell = PlasticCell(4)
    with pytest.raises(ValueError, match=r"inputs must be \(batch, 4\), got \(2, 3\)"):
        cell(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"inputs must be \(batch, 4\), got \(2, 5, 4\)"):
        cell(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match="input_mode='multiply'"):
        PlasticCell(4, input_mode="multiply")


def test_connection_is_the_cells_recurrent_weight():
    cell = PlasticCell(3, alpha="none")
    assert isinstance(cell.connection, PlasticConnection) and cell.initial_state(2)[1] is None
    assert sorted(cell.state_dict()) == ["connection.eta", "connection.w"]
