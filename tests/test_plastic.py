"""The plastic layer: equations, fused vs reference agreement, finite-difference gradients."""

import itertools

import pytest
import torch

from plasticity_utils.plastic import PlasticConnection, PlasticRecurrent, hebb_update, recurrent_episode


def make_net(rule, alpha, mode, n=6, seed=0):
    torch.manual_seed(seed)
    net = PlasticRecurrent(n, input_mode=mode, rule=rule, alpha=alpha, init_scale=0.5).double()
    with torch.no_grad():
        net.connection.eta.fill_(0.3)  # large eta: the trace matters a lot, so errors would show
    return net


def episode_inputs(mode, batch=2, steps=9, n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(batch, steps, n, generator=g, dtype=torch.float64)
    if mode == "clamp":
        u = u * (torch.rand(batch, steps, n, generator=g, dtype=torch.float64) < 0.4)
    return u


def test_hebb_rule_is_eq2_elementwise():
    g = torch.Generator().manual_seed(0)
    h, x, y = torch.randn(1, 3, 4, generator=g), torch.randn(1, 3, generator=g), torch.randn(1, 4, generator=g)
    eta = 0.2
    new = hebb_update(h, x, y, eta, "hebb")
    for i, j in itertools.product(range(3), range(4)):
        assert new[0, i, j].item() == pytest.approx(((1 - eta) * h[0, i, j] + eta * x[0, i] * y[0, j]).item(), abs=1e-6)


def test_oja_rule_is_eq3_elementwise():
    g = torch.Generator().manual_seed(0)
    h, x, y = torch.randn(1, 3, 4, generator=g), torch.randn(1, 3, generator=g), torch.randn(1, 4, generator=g)
    eta = 0.2
    new = hebb_update(h, x, y, eta, "oja")
    for i, j in itertools.product(range(3), range(4)):
        expected = h[0, i, j] + eta * y[0, j] * (x[0, i] - y[0, j] * h[0, i, j])
        assert new[0, i, j].item() == pytest.approx(expected.item(), abs=1e-6)


def test_step_is_eq1():
    net = make_net("hebb", "per_connection", "add", n=4)
    c = net.connection
    x, hebb = torch.randn(1, 4, dtype=torch.float64), torch.randn(1, 4, 4, dtype=torch.float64)
    u = torch.randn(1, 4, dtype=torch.float64)
    new_x, _ = net.step(x, hebb, u)
    for j in range(4):
        pre = sum((c.w[i, j] + c.alpha[i, j] * hebb[0, i, j]) * x[0, i] for i in range(4)) + u[0, j]
        assert new_x[0, j].item() == pytest.approx(torch.tanh(pre).item(), abs=1e-12)


def test_clamp_mode_outputs_the_input_where_it_is_nonzero():
    net = make_net("hebb", "per_connection", "clamp")
    u = episode_inputs("clamp")
    xs, _ = net(u, impl="fused")
    clamped = u != 0
    assert clamped.any() and (~clamped).any()
    assert torch.equal(xs[clamped], u[clamped])
    assert (xs[~clamped].abs() < 1).all()


@pytest.mark.parametrize("rule,alpha,mode", list(itertools.product(["hebb", "oja"], ["per_connection", "shared"],
                                                                  ["add", "clamp"])))
@pytest.mark.parametrize("checkpoint_every", [1, 4, None])
def test_fused_matches_reference(rule, alpha, mode, checkpoint_every):
    net = make_net(rule, alpha, mode)
    u = episode_inputs(mode).requires_grad_(True)
    target = torch.randn(u.shape, dtype=torch.float64)
    results = []
    for impl in ("reference", "fused"):
        xs, hebb = net(u, impl=impl, checkpoint_every=checkpoint_every)
        loss = ((xs - target) ** 2).sum()
        results.append((xs, hebb, torch.autograd.grad(loss, [u, *net.parameters()])))
    (xs_r, h_r, g_r), (xs_f, h_f, g_f) = results
    torch.testing.assert_close(xs_f, xs_r, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_f, h_r, rtol=0, atol=1e-12)
    for a, b in zip(g_f, g_r):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("rule,alpha,mode", [("hebb", "per_connection", "add"), ("oja", "shared", "clamp"),
                                             ("oja", "per_connection", "add"), ("hebb", "shared", "add")])
def test_fused_gradients_match_finite_differences(rule, alpha, mode):
    net = make_net(rule, alpha, mode, n=4)
    c = net.connection
    # in clamp mode the inputs choose which neurons are clamped (input != 0), a discontinuous
    # function of the inputs: finite differences with respect to them are meaningless there
    u = episode_inputs(mode, batch=2, steps=5, n=4).requires_grad_(mode == "add")
    weights = torch.randn(2, 5, 4, dtype=torch.float64)

    def f(u, w, a, eta):
        xs, _ = recurrent_episode(u, w, a, eta, rule=rule, clamp=mode == "clamp", checkpoint_every=2)
        return (xs * weights).sum()

    params = (u, c.w.detach().clone().requires_grad_(True), c.alpha.detach().clone().requires_grad_(True),
              c.eta.detach().clone().requires_grad_(True))
    assert torch.autograd.gradcheck(f, params, eps=1e-6, atol=1e-7)


def test_gradients_reach_every_parameter_and_learning_reduces_loss():
    torch.manual_seed(0)
    net = PlasticRecurrent(8, rule="hebb")
    u = torch.randn(1, 12, 8)
    target = torch.sign(torch.randn(1, 8))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        xs, _ = net(u)
        loss = ((xs[:, -1] - target) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_parameter_counts():
    assert sum(p.numel() for p in PlasticConnection(1001, 1001).parameters()) == 2 * 1001**2 + 1
    assert sum(p.numel() for p in PlasticConnection(5, 3, alpha="shared").parameters()) == 15 + 1 + 1
    fixed = PlasticConnection(5, 3, alpha="none", learn_eta=False)
    assert [n for n, _ in fixed.named_parameters()] == ["w"]
    assert not fixed.plastic


def test_nonplastic_network_ignores_the_trace():
    net = PlasticRecurrent(5, alpha="none")
    u = torch.randn(2, 4, 5)
    xs, hebb = net(u)
    assert hebb is None and net.initial_state(2)[1] is None  # no (B, n, n) trace is allocated
    x = torch.zeros(2, 5)
    for t in range(4):
        x = torch.tanh(x @ net.connection.w + u[:, t])
    torch.testing.assert_close(xs[:, -1], x)


def test_uniform_init_and_scale():
    torch.manual_seed(0)
    c = PlasticConnection(100, 100, alpha_init="uniform")
    assert 0 <= c.alpha.min() and c.alpha.max() <= 0.01
    assert c.w.std().item() == pytest.approx(0.01, rel=0.05)
    assert c.eta.item() == pytest.approx(0.01)


@pytest.mark.parametrize("kwargs", [{"rule": "stdp"}, {"alpha": "diagonal"}, {"eta": 1.5}, {"w_init": "xavier"}])
def test_bad_parameters_fail_clearly(kwargs):
    with pytest.raises(ValueError):
        PlasticConnection(3, 3, **kwargs)


def test_bad_inputs_fail_clearly():
    net = PlasticRecurrent(4)
    with pytest.raises(ValueError, match="inputs must be"):
        net(torch.zeros(2, 3, 5))
    with pytest.raises(ValueError, match="impl"):
        net(torch.zeros(1, 3, 4), impl="fast")
    with pytest.raises(ValueError, match="input_mode"):
        PlasticRecurrent(4, input_mode="multiply")


@pytest.mark.parametrize("rule,alpha,mode", list(itertools.product(["hebb", "oja"], ["per_connection", "shared"],
                                                                  ["add", "clamp"])))
@pytest.mark.parametrize("batch", [1, 2])
def test_fused_layer_under_vmap_equals_each_run(rule, alpha, mode, batch):
    """Batched runs (torch.func.vmap through plasticity_utils.batched.Runs) take the fused layer's vmap
    rule: each run's activities, trace and gradients are those of the run alone."""
    from plasticity_utils.batched import Runs

    nets = [make_net(rule, alpha, mode, seed=seed) for seed in range(3)]
    with torch.no_grad():
        nets[1].connection.eta.fill_(0.1)  # runs differ in eta too
    runs = Runs(nets)
    u = torch.stack([episode_inputs(mode, batch=batch, seed=s) for s in range(3)])
    target = torch.randn(u.shape, dtype=torch.float64)
    xs, hebb = runs(u, impl="fused", checkpoint_every=3)
    ((xs - target) ** 2).sum().backward()
    for r, net in enumerate(nets):
        x1, h1 = net(u[r], impl="fused", checkpoint_every=3)
        ((x1 - target[r]) ** 2).sum().backward()
        torch.testing.assert_close(xs[r], x1, rtol=0, atol=1e-12)
        torch.testing.assert_close(hebb[r], h1, rtol=0, atol=1e-12)
        for name, p in net.named_parameters():
            torch.testing.assert_close(runs.parameter(name).grad[r], p.grad, rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize("mode", ["add", "clamp"])
@pytest.mark.parametrize("batch", [1, 3])
def test_nonplastic_fused_matches_reference(mode, batch):
    """alpha=None: the fused kernel (no trace) against the step loop, activities and gradients."""
    torch.manual_seed(2)
    w = (0.5 * torch.randn(6, 6, dtype=torch.float64)).requires_grad_()
    u = episode_inputs(mode, batch=batch).requires_grad_(True)
    target = torch.randn(u.shape, dtype=torch.float64)
    results = []
    for impl in ("reference", "fused"):
        xs, hebb = recurrent_episode(u, w, clamp=mode == "clamp", impl=impl)
        assert hebb is None
        results.append((xs, torch.autograd.grad(((xs - target) ** 2).sum(), [u, w])))
    (xs_r, g_r), (xs_f, g_f) = results
    torch.testing.assert_close(xs_f, xs_r, rtol=0, atol=1e-14)
    for a, b in zip(g_f, g_r):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["add", "clamp"])
def test_nonplastic_fused_gradients_match_finite_differences(mode):
    torch.manual_seed(1)
    w = (0.5 * torch.randn(6, 6, dtype=torch.float64)).requires_grad_()
    u = episode_inputs(mode, batch=2, steps=5).requires_grad_(mode == "add")  # see the plastic test above
    weights = torch.randn(2, 5, 6, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda u, w: (recurrent_episode(u, w, clamp=mode == "clamp")[0] * weights).sum(),
                                    (u, w))


@pytest.mark.parametrize("mode", ["add", "clamp"])
def test_nonplastic_fused_under_vmap_equals_each_run(mode):
    """R non-plastic runs through the kernel's run axis (its vmap rule) are the R runs alone."""
    torch.manual_seed(3)
    ws = (0.5 * torch.randn(3, 6, 6, dtype=torch.float64)).requires_grad_()
    u = torch.stack([episode_inputs(mode, seed=s) for s in range(3)])
    target = torch.randn(u.shape, dtype=torch.float64)
    xs = torch.func.vmap(lambda u, w: recurrent_episode(u, w, clamp=mode == "clamp")[0])(u, ws)
    (g_ws,) = torch.autograd.grad(((xs - target) ** 2).sum(), [ws])
    for r in range(3):
        w = ws[r].detach().requires_grad_()
        x1, _ = recurrent_episode(u[r], w, clamp=mode == "clamp")
        (g_w,) = torch.autograd.grad(((x1 - target[r]) ** 2).sum(), [w])
        torch.testing.assert_close(xs[r], x1, rtol=0, atol=1e-14)
        torch.testing.assert_close(g_ws[r], g_w, rtol=1e-12, atol=1e-14)


def test_nested_vmap_joins_the_run_axes():
    """vmap of vmap (2 x 3 runs): the inner rule's run axis takes the outer vmap axis in; run by run alone."""
    torch.manual_seed(5)
    ws = (0.5 * torch.randn(2, 3, 6, 6, dtype=torch.float64)).requires_grad_()
    alphas = 0.5 * torch.randn(2, 3, 6, 6, dtype=torch.float64)
    eta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)  # shared by every run
    u = episode_inputs("add", batch=2)  # shared too

    def episode(w, a):
        return recurrent_episode(u, w, a, eta, rule="oja", checkpoint_every=4)[0]

    xs = torch.func.vmap(torch.func.vmap(episode))(ws, alphas)
    g_ws, g_eta = torch.autograd.grad(xs.pow(2).sum(), [ws, eta])
    g_eta_alone = torch.zeros_like(g_eta)
    for i, j in itertools.product(range(2), range(3)):
        w = ws[i, j].detach().requires_grad_()
        x1 = recurrent_episode(u, w, alphas[i, j], eta, rule="oja", checkpoint_every=4)[0]
        g_w, g_e = torch.autograd.grad(x1.pow(2).sum(), [w, eta])
        g_eta_alone += g_e
        torch.testing.assert_close(xs[i, j], x1, rtol=0, atol=1e-14)
        torch.testing.assert_close(g_ws[i, j], g_w, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(g_eta, g_eta_alone, rtol=1e-12, atol=1e-14)
