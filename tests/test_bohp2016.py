"""Tests of the Miconi 2016 (BOHP) tasks and networks, and of the paper's analytic gradients (§3, Appendix).

The analytic-gradient test implements the paper's recursive derivation (Eq. 3-4) independently of
autograd and checks it against autograd through the project's plastic layer
(:class:`plasticity_utils.plastic.PlasticConnection`) run over a whole episode.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from plasticity_utils.experiments import bohp2016 as bohp
from plasticity_utils.plastic import PlasticConnection
from plasticity_utils.tasks.bohp2016 import (
    ONE_SHOT,
    REVERSAL,
    CompletionTask,
    LabelTask,
    completion_episode,
    label_episode,
)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------- tasks
def test_completion_episode():
    task = CompletionTask()
    e = completion_episode(task, 500, gen())
    assert e.inputs.shape == (500, 2, 8) and e.targets.shape == (500, 2, 8)
    assert e.scored.tolist() == [False, True]
    pattern, cue = e.inputs[:, 0], e.inputs[:, 1]
    assert set(pattern.unique().tolist()) == {-1.0, 1.0}
    assert abs(pattern.mean()) < 0.05  # each bit +1 with probability 1/2
    assert ((cue != 0).sum(1) == 1).all()  # a single bit kept ...
    assert (cue[cue != 0] == pattern[cue != 0]).all()  # ... with the pattern's value
    assert (e.targets == pattern.unsqueeze(1)).all()
    kept = (cue != 0).float().argmax(1)
    assert len(kept.unique()) == 8  # every position gets kept sometimes


@pytest.mark.parametrize("task", [ONE_SHOT, REVERSAL])
def test_label_episode(task: LabelTask):
    e = label_episode(task, 300, gen(1))
    assert e.inputs.shape == (300, 20, 10) and e.targets.shape == (300, 20)
    patterns, label_bits = e.inputs[..., :8], e.inputs[..., 8:]
    a, b = patterns[:, 0], patterns[:, 1]
    assert (a != b).any(1).all()  # the two patterns differ in at least one bit
    assert (e.targets == torch.arange(20) % 2).all()  # label of step t: t % 2
    given = [0, 1] if task.reversal_at is None else [0, 1, 10, 11]
    assert e.scored.tolist() == [t not in given for t in range(20)]
    for t in range(20):
        swapped = task.reversal_at is not None and t >= task.reversal_at
        expected = (b if (t % 2 == 1) != swapped else a)
        assert (patterns[:, t] == expected).all(), t
        if t in given:
            assert (label_bits[:, t] == torch.nn.functional.one_hot(e.targets[:, t], 2).float()).all()
        else:
            assert (label_bits[:, t] == 0).all()


def test_distinct_pairs_on_tiny_patterns():
    e = label_episode(LabelTask(n_bits=1), 200, gen(2))  # 1 bit: B must be -A
    assert (e.inputs[:, 0, 0] == -e.inputs[:, 1, 0]).all()


def test_bad_parameters():
    with pytest.raises(ValueError):
        LabelTask(label_steps=0)
    with pytest.raises(ValueError):
        LabelTask(reversal_at=19)
    with pytest.raises(ValueError):
        bohp.Config(task="maze")
    with pytest.raises(ValueError):
        bohp.Config(retention=1.0)
    with pytest.raises(ValueError):
        bohp.profile_config("laptop", "one_shot")
    with pytest.raises(ValueError):
        bohp.profile_config("smoke", "two_shot")


def test_profiles_keep_the_paper_setup():
    for name, paper in bohp.EXPERIMENTS.items():
        cpu, seeds = bohp.profile_config("cpu", name)
        assert cpu == paper and len(seeds) == 20  # cpu = the paper's budget: 20 runs, 5,000 / 10,000 episodes
        smoke, _ = bohp.profile_config("smoke", name)
        assert replace(smoke, episodes=paper.episodes, frozen=paper.frozen) == paper  # only the scale differs
    assert bohp.EXPERIMENTS["completion"].retention == 0.75 and bohp.EXPERIMENTS["completion"].episodes == 5000
    assert bohp.EXPERIMENTS["reversal"].retention == 0.98 and bohp.EXPERIMENTS["reversal"].episodes == 10000


# --------------------------------------------------------------------- batched nets vs the layer
def episode_through_layer(conn: PlasticConnection, x: torch.Tensor, bias: torch.Tensor | None = None):
    """Run one feed-forward episode through the project's layer: y(t) = tanh(x(t)(w + alpha Hebb(t)) + b),
    Hebb(t+1) from x(t), y(t). Returns y (T, n_post) and the traces used at each step (T, n_pre, n_post)."""
    hebb = conn.initial_trace(1)
    ys, hebbs = [], []
    for t in range(x.shape[0]):
        hebbs.append(hebb[0])
        drive = conn(x[t : t + 1], hebb)
        y = torch.tanh(drive if bias is None else drive + bias)
        hebb = conn.update(hebb, x[t : t + 1], y)
        ys.append(y[0])
    return torch.stack(ys), torch.stack(hebbs)


def layer_of_run(nets: bohp.PlasticNets, r: int) -> PlasticConnection:
    conn = PlasticConnection(nets.n_in, nets.n_plastic, eta=nets.gamma, learn_eta=False).double()
    with torch.no_grad():
        conn.eta.fill_(nets.gamma)  # exactly gamma in float64 (the layer stores eta in float32 first)
        conn.w.copy_(nets.w[r])
        conn.alpha.copy_(nets.alpha[r])
    return conn


def test_batched_nets_equal_the_plastic_layer_per_run():
    seeds = [3, 4, 5]
    nets = bohp.build(bohp.EXPERIMENTS["reversal"], seeds).double()
    with torch.no_grad():
        nets.alpha.mul_(30)  # make the plastic term matter
    e = bohp.sample_runs(REVERSAL, seeds, bohp.PURPOSE_TRAIN, 0, 4)
    hidden, logits = nets(e.inputs.double())
    for r in range(len(seeds)):
        for k in range(4):
            y, _ = episode_through_layer(layer_of_run(nets, r), e.inputs[r, k].double(), nets.b[r])
            torch.testing.assert_close(hidden[r, k], y, rtol=0, atol=1e-12)
            torch.testing.assert_close(logits[r, k], y @ nets.v[r] + nets.c[r], rtol=0, atol=1e-12)


# ----------------------------------------------------------------- the paper's analytic gradients
def paper_gradients(x, y, hebb, alpha, gamma, cross_terms=True):
    """dy_j(t_z)/dw_kj and dy_j(t_z)/dalpha_kj, each (T, n_pre, n_post), by Miconi 2016 Eq. 3-4:

        dy_raw(t_z)/dw_k     = x_k(t_z)               + sum_l alpha_l x_l(t_z) dHebb_l(t_z)/dw_k
        dy_raw(t_z)/dalpha_k = x_k(t_z) Hebb_k(t_z)   + sum_l alpha_l x_l(t_z) dHebb_l(t_z)/dalpha_k
        dHebb_l(t_z)/dtheta  = sum_{t_u < t_z} c(t_z, t_u) x_l(t_u) dy(t_u)/dtheta
        dy/dtheta            = (1 - y^2) dy_raw/dtheta

    where c(t_z, t_u) = gamma (1 - gamma)^(t_z - t_u - 1) is the weight of step t_u's product in
    Hebb(t_z) under Eq. 1 (the paper prints it with gamma as the retention). The sum over l runs
    over *all* inputs of the cell (``cross_terms=False`` keeps only l = k, for the negative control).
    """
    steps, n_pre = x.shape
    dw = torch.zeros(steps, n_pre, y.shape[1], dtype=x.dtype)
    da = torch.zeros_like(dw)
    for tz in range(steps):
        dhebb_w = torch.zeros(n_pre, n_pre, y.shape[1], dtype=x.dtype)  # [l, k, j] = dHebb_lj / dw_kj
        dhebb_a = torch.zeros_like(dhebb_w)
        for tu in range(tz):
            c = gamma * (1 - gamma) ** (tz - tu - 1)
            dhebb_w += c * x[tu][:, None, None] * dw[tu][None]
            dhebb_a += c * x[tu][:, None, None] * da[tu][None]
        if not cross_terms:
            eye = torch.eye(n_pre, dtype=x.dtype)[:, :, None]
            dhebb_w, dhebb_a = dhebb_w * eye, dhebb_a * eye
        feedback_w = torch.einsum("lj,l,lkj->kj", alpha, x[tz], dhebb_w)
        feedback_a = torch.einsum("lj,l,lkj->kj", alpha, x[tz], dhebb_a)
        dw[tz] = (1 - y[tz] ** 2) * (x[tz][:, None] + feedback_w)
        da[tz] = (1 - y[tz] ** 2) * (x[tz][:, None] * hebb[tz] + feedback_a)
    return dw, da


def autograd_jacobians(conn: PlasticConnection, x: torch.Tensor):
    """d y_j(t) / d w and d alpha by autograd: (T, n_post, n_pre, n_post) each."""
    y, _ = episode_through_layer(conn, x)
    jw = torch.zeros(*y.shape, *conn.w.shape, dtype=x.dtype)
    ja = torch.zeros_like(jw)
    for t in range(y.shape[0]):
        for j in range(y.shape[1]):
            jw[t, j], ja[t, j] = torch.autograd.grad(y[t, j], (conn.w, conn.alpha), retain_graph=True)
    return jw, ja


def paper_jacobians(conn: PlasticConnection, x: torch.Tensor, cross_terms: bool = True):
    """The paper's per-cell gradients laid out as full Jacobians (cells do not touch each other's weights)."""
    with torch.no_grad():
        y, hebb = episode_through_layer(conn, x)
    dw, da = paper_gradients(x, y, hebb, conn.alpha.detach(), float(conn.eta), cross_terms)
    cell = torch.eye(y.shape[1], dtype=x.dtype)[None, :, None, :]  # [., j, ., j'] = delta_jj'
    return dw.permute(0, 2, 1)[..., None] * cell, da.permute(0, 2, 1)[..., None] * cell  # [t, j, k, j']


def plastic_episode(gamma: float, seed: int, n_pre: int = 5, n_post: int = 3, steps: int = 7):
    torch.manual_seed(seed)
    conn = PlasticConnection(n_pre, n_post, eta=gamma, learn_eta=False, init_scale=0.5).double()
    with torch.no_grad():
        conn.alpha.mul_(6)  # strong plasticity, both signs: the trace terms dominate the gradient
    x = torch.randn(steps, n_pre, generator=gen(seed), dtype=torch.float64)
    return conn, x


@pytest.mark.parametrize("gamma", [0.25, 0.02, 0.7])  # retention 0.75 (completion), 0.98 (one-shot), 0.3
def test_paper_gradients_match_autograd_through_the_plastic_layer(gamma):
    conn, x = plastic_episode(gamma, seed=int(gamma * 100))
    jw, ja = autograd_jacobians(conn, x)
    pw, pa = paper_jacobians(conn, x)
    assert ja.abs().max() > 0.05  # the alpha gradients are not trivially small
    torch.testing.assert_close(pw, jw, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(pa, ja, rtol=1e-10, atol=1e-12)


def test_the_check_has_teeth():
    """Dropping the paper's cross terms (effects of w_k on the other traces Hebb_l) breaks the match."""
    conn, x = plastic_episode(0.25, seed=7)
    jw, ja = autograd_jacobians(conn, x)
    pw, pa = paper_jacobians(conn, x, cross_terms=False)
    assert (pw - jw).abs().max() > 1e-3 and (pa - ja).abs().max() > 1e-3


def test_paper_gradients_give_the_loss_gradient_of_the_one_shot_network():
    """Chain rule on top of Eq. 3-4: dL/dtheta = sum_t dL/dy(t) (direct, through the softmax) * dy(t)/dtheta.
    Checked against autograd through the experiment's batched network (one run, one reversal episode)."""
    nets = bohp.build(bohp.EXPERIMENTS["reversal"], [11]).double()
    with torch.no_grad():
        nets.alpha.mul_(40)
        nets.v.mul_(20)
    e = bohp.sample_runs(REVERSAL, [11], bohp.PURPOSE_TRAIN, 0, 1)
    e = e._replace(inputs=e.inputs.double())
    error, _ = bohp.step_errors(nets, e)
    loss = error[..., e.scored].sum()
    g_w, g_alpha = torch.autograd.grad(loss, (nets.w, nets.alpha))

    x = e.inputs[0, 0]
    with torch.no_grad():
        conn = layer_of_run(nets, 0)
        y, hebb = episode_through_layer(conn, x, nets.b[0])
        p = torch.softmax(y @ nets.v[0] + nets.c[0], -1)
        dl_dz = (p - torch.nn.functional.one_hot(e.targets[0, 0], 2)) * e.scored[:, None]
        dl_dy = dl_dz @ nets.v[0].T  # (T, n_hidden): direct effect of y(t) on the loss at step t
    dw, da = paper_gradients(x, y, hebb, nets.alpha[0].detach(), nets.gamma)
    torch.testing.assert_close(torch.einsum("tj,tkj->kj", dl_dy, dw), g_w[0], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(torch.einsum("tj,tkj->kj", dl_dy, da), g_alpha[0], rtol=1e-9, atol=1e-12)
    assert g_alpha.abs().max() > 1e-3


# ---------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("name", ["completion", "reversal_clipped"])
def test_runs_trained_together_equal_runs_trained_alone(name):
    config = replace(bohp.EXPERIMENTS[name], episodes=45, frozen=5, chunk=16)
    together, p_together = bohp.train_runs(config, [0, 1, 2], progress=False)
    alone, p_alone = bohp.train_runs(config, [1], progress=False)
    for k in p_alone:
        torch.testing.assert_close(p_together[k][1], p_alone[k][0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(torch.tensor(together["curve"][1]), torch.tensor(alone["curve"][0]),
                               rtol=1e-4, atol=1e-5)
    assert not torch.equal(p_together["w"][0], p_together["w"][1])  # different seeds, different runs
    if config.clip_alpha:
        assert (p_together["alpha"] >= 0).all()


def test_training_reduces_the_completion_error_seeded():
    """Seeded regression: 300 updates on pattern completion (3 runs) lower the error; the values are
    pinned so that an unintended change to the task, the network, the optimiser or the seeding shows up."""
    config = replace(bohp.EXPERIMENTS["completion"], episodes=350, frozen=50)
    record, _ = bohp.train_runs(config, [0, 1, 2], progress=False)
    curve = torch.tensor(record["curve"])
    assert curve[:, -50:].mean() < 0.3 * curve[:, :50].mean()
    torch.testing.assert_close(curve[:, 0], torch.tensor([9.26344, 7.14389, 7.27512]), rtol=0, atol=1e-4)
    torch.testing.assert_close(curve[:, -50:].mean(1), torch.tensor([1.63381, 1.48650, 2.06484]), rtol=0, atol=2e-3)


# ---------------------------------------------------------------------------------------- analysis
def test_sign_stats_after_reversal_miss_and_verdicts():
    alpha = torch.zeros(4, 10, 2)
    alpha[0, :8] = -1.0  # both hidden units negative
    alpha[1, :8, 0], alpha[1, :8, 1] = -1.0, 1.0  # mixed
    alpha[2, :8] = 1.0  # positive
    alpha[3, :8] = -1.0
    alpha[3, 0, 0] = 0.5  # unit means still negative, but not all 16 connections
    alpha[:, 8:] = 5.0  # label -> hidden coefficients are not pattern connections
    miss = torch.zeros(4, 20)
    miss[0, 12:] = 1.0  # run 0 wrong on every scored step after the swap
    miss[1, 10:12] = 1.0  # label steps are not scored
    record = {"frozen_step_miss": miss.tolist(), "scored": REVERSAL.label_given().logical_not().tolist()}
    r = bohp.Result("reversal", bohp.EXPERIMENTS["reversal"], record, {"alpha": alpha})
    s = bohp.sign_stats(r)
    assert (s["share_runs_negative"], s["share_runs_mixed"], s["share_runs_positive"]) == (0.5, 0.25, 0.25)
    assert s["share_runs_all_16_negative"] == 0.25
    assert bohp.after_reversal_miss(r).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert bohp.sign_verdict(1.0, 0.3) == "reproduced"
    assert bohp.sign_verdict(1.0, 0.0).startswith("partly")
    assert bohp.sign_verdict(0.5, 0.2) == "not reproduced"
