"""Plastic connections: a fixed weight plus a Hebbian trace scaled by a trained coefficient.

Notation follows "Differentiable plasticity" (Miconi, Clune, Stanley, ICML 2018):

    Eq. 1   x_j(t) = tanh( sum_i [w_ij + alpha_ij * Hebb_ij(t)] * x_i(t-1) )
    Eq. 2   Hebb_ij(t+1) = (1 - eta) * Hebb_ij(t) + eta * x_i(t-1) * x_j(t)              (decaying Hebb)
    Eq. 3   Hebb_ij(t+1) = Hebb_ij(t) + eta * x_j(t) * (x_i(t-1) - x_j(t) * Hebb_ij(t))   (Oja's rule)

Traces have shape (batch, n_pre, n_post) and are reset to zero at the start of each episode.

Two implementations of the recurrent layer are kept side by side:

* ``impl="reference"``: a plain Python loop over :meth:`PlasticRecurrent.step`, differentiated by
  autograd. It reads exactly like the equations and is the ground truth the tests compare against.
* ``impl="fused"``: :class:`PlasticRNNFunction`, a custom autograd function with a hand-written
  backward pass. The forward keeps only the activities and a trace checkpoint every
  ``checkpoint_every`` steps; the backward recomputes the traces segment by segment, so memory is
  O(T*N + sqrt(T)*N^2) instead of O(T*N^2), and works in place on a few N x N buffers.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

Rule = Literal["hebb", "oja"]
AlphaMode = Literal["per_connection", "shared", "none"]
InputMode = Literal["add", "clamp"]
Init = Literal["normal", "uniform"]

RULES = ("hebb", "oja")
ALPHA_MODES = ("per_connection", "shared", "none")
INPUT_MODES = ("add", "clamp")
INITS = ("normal", "uniform")


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {allowed}")


def _init(shape: tuple[int, ...], kind: str, scale: float) -> Tensor:
    _check_choice("init", kind, INITS)
    t = torch.randn(shape) if kind == "normal" else torch.rand(shape)
    return scale * t


def hebb_update(hebb: Tensor, pre: Tensor, post: Tensor, eta: Tensor | float, rule: Rule) -> Tensor:
    """One trace update, Eq. 2 (``rule="hebb"``) or Eq. 3 (``rule="oja"``).

    ``hebb``: (B, n_pre, n_post); ``pre`` = x(t-1): (B, n_pre); ``post`` = x(t): (B, n_post).
    """
    outer = pre.unsqueeze(2) * post.unsqueeze(1)
    if rule == "hebb":
        return (1 - eta) * hebb + eta * outer
    if rule == "oja":
        return hebb + eta * post.unsqueeze(1) * (pre.unsqueeze(2) - post.unsqueeze(1) * hebb)
    raise ValueError(f"rule={rule!r} is not one of {RULES}")


class PlasticConnection(nn.Module):
    """A plastic connection from ``n_pre`` to ``n_post`` neurons: weight ``w + alpha * Hebb``.

    Parameters
    ----------
    rule: ``"hebb"`` (Eq. 2) or ``"oja"`` (Eq. 3).
    alpha: ``"per_connection"`` (one coefficient per connection), ``"shared"`` (one scalar for the
        whole connection, the papers' "homogeneous" network) or ``"none"`` (non-plastic: ``w`` only).
    eta: initial plasticity rate (a scalar, 0.01 in the papers); ``learn_eta`` makes it trainable.
    w_init / alpha_init: ``"normal"`` or ``"uniform"`` (on [0, 1)), times ``init_scale`` (0.01).
    """

    def __init__(
        self,
        n_pre: int,
        n_post: int,
        *,
        rule: Rule = "hebb",
        alpha: AlphaMode = "per_connection",
        eta: float = 0.01,
        learn_eta: bool = True,
        w_init: Init = "normal",
        alpha_init: Init = "normal",
        init_scale: float = 0.01,
    ) -> None:
        super().__init__()
        if n_pre < 1 or n_post < 1:
            raise ValueError(f"need n_pre, n_post >= 1, got {n_pre}, {n_post}")
        _check_choice("rule", rule, RULES)
        _check_choice("alpha", alpha, ALPHA_MODES)
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta must lie in [0, 1], got {eta}")
        self.n_pre, self.n_post = n_pre, n_post
        self.rule: Rule = rule
        self.alpha_mode: AlphaMode = alpha
        self.w = nn.Parameter(_init((n_pre, n_post), w_init, init_scale))
        if alpha == "per_connection":
            self.alpha: nn.Parameter | None = nn.Parameter(_init((n_pre, n_post), alpha_init, init_scale))
        elif alpha == "shared":
            self.alpha = nn.Parameter(_init((), alpha_init, init_scale))
        else:
            self.alpha = None
        eta_t = torch.tensor(float(eta))
        if learn_eta:
            self.eta: Tensor = nn.Parameter(eta_t)
        else:
            self.register_buffer("eta", eta_t)

    @property
    def plastic(self) -> bool:
        return self.alpha is not None

    def initial_trace(self, batch: int) -> Tensor:
        """Hebb(0) = 0, one trace per episode of the batch."""
        return self.w.new_zeros(batch, self.n_pre, self.n_post)

    def forward(self, pre: Tensor, hebb: Tensor | None) -> Tensor:
        """Synaptic drive of Eq. 1: sum_i [w_ij + alpha_ij * Hebb_ij] * pre_i, shape (B, n_post)."""
        drive = pre @ self.w
        if self.alpha is not None:
            if hebb is None:
                raise ValueError("a plastic connection needs its trace")
            drive = drive + torch.bmm(pre.unsqueeze(1), self.alpha * hebb).squeeze(1)
        return drive

    def update(self, hebb: Tensor, pre: Tensor, post: Tensor) -> Tensor:
        """Hebb(t+1) from Hebb(t), x(t-1) = ``pre`` and x(t) = ``post`` (Eq. 2 or 3)."""
        return hebb_update(hebb, pre, post, self.eta, self.rule)

    def extra_repr(self) -> str:
        return f"{self.n_pre} -> {self.n_post}, rule={self.rule}, alpha={self.alpha_mode}"


class PlasticRecurrent(nn.Module):
    """A fully recurrent, plastic tanh network (Eq. 1 with a recurrent connection).

    ``input_mode="add"``: the input is added to the pre-activation (the binary-pattern tasks).
    ``input_mode="clamp"``: a neuron whose input is non-zero outputs that input instead of tanh
    (the natural-image task). All other options go to :class:`PlasticConnection`.
    """

    def __init__(self, n: int, *, input_mode: InputMode = "add", **connection: object) -> None:
        super().__init__()
        _check_choice("input_mode", input_mode, INPUT_MODES)
        self.n = n
        self.input_mode: InputMode = input_mode
        self.connection = PlasticConnection(n, n, **connection)  # type: ignore[arg-type]

    def initial_state(self, batch: int) -> tuple[Tensor, Tensor | None]:
        """x(0) = 0 and Hebb(0) = 0 (no trace, ``None``, for a non-plastic network)."""
        trace = self.connection.initial_trace(batch) if self.connection.plastic else None
        return self.connection.w.new_zeros(batch, self.n), trace

    def step(self, x: Tensor, hebb: Tensor | None, inputs: Tensor) -> tuple[Tensor, Tensor | None]:
        """One time step: x(t) from x(t-1) by Eq. 1, then the trace by Eq. 2/3."""
        drive = self.connection(x, hebb)
        if self.input_mode == "add":
            new_x = torch.tanh(drive + inputs)
        else:
            new_x = torch.where(inputs != 0, inputs, torch.tanh(drive))
        if self.connection.plastic:
            hebb = self.connection.update(hebb, x, new_x)
        return new_x, hebb

    def forward(
        self, inputs: Tensor, impl: Literal["fused", "reference"] = "fused", checkpoint_every: int | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Run a whole episode from rest. ``inputs``: (B, T, n). Returns x(1..T) as (B, T, n) and Hebb(T)
        (``None`` for a non-plastic network)."""
        if inputs.dim() != 3 or inputs.shape[2] != self.n:
            raise ValueError(f"inputs must be (batch, time, {self.n}), got {tuple(inputs.shape)}")
        if impl == "reference" or not self.connection.plastic:
            x, hebb = self.initial_state(inputs.shape[0])
            xs = []
            for t in range(inputs.shape[1]):
                x, hebb = self.step(x, hebb, inputs[:, t])
                xs.append(x)
            return torch.stack(xs, 1), hebb
        if impl != "fused":
            raise ValueError(f"impl={impl!r} is not one of ('fused', 'reference')")
        c = self.connection
        if not torch.is_grad_enabled():  # evaluation: no backward, so keep no trace checkpoints
            checkpoint_every = inputs.shape[1]
        return PlasticRNNFunction.apply(
            inputs, c.w, c.alpha, c.eta, c.rule, self.input_mode == "clamp", checkpoint_every
        )


class PlasticRNNFunction(torch.autograd.Function):
    """Whole-episode forward and hand-written backward of :class:`PlasticRecurrent` (Eq. 1-3).

    Returns x(1..T) as (B, T, n) and Hebb(T). Gradients flow from the activities to ``inputs``,
    ``w``, ``alpha`` (per-connection or shared) and ``eta``; Hebb(T) is returned for inspection and
    is not differentiable (every loss in the papers is a function of the activities).
    Backward, per step t (x = x(t-1), y = x(t), H = Hebb(t-1), gH = dL/dHebb(t)):

        trace (Eq. 2): dL/dy += eta x^T gH;  dL/dx += eta gH y;  dL/deta += <gH, x y^T - H>;
                       gH <- (1 - eta) gH
        trace (Eq. 3): dL/dy += eta x^T gH - 2 eta y * diag(H^T gH);  dL/dx += eta gH y;
                       dL/deta += <gH, (x - y H) y>;  gH <- gH * (1 - eta y^2) (column-wise)
        Eq. 1:         g = dL/dy * (1 - y^2);  dL/dx += (w + alpha H) g;  dL/dw += x g^T;
                       dL/dalpha += (x g^T) * H;  gH += alpha * (x g^T)
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        inputs: Tensor,
        w: Tensor,
        alpha: Tensor,
        eta: Tensor,
        rule: str,
        clamp: bool,
        checkpoint_every: int | None,
    ) -> tuple[Tensor, Tensor]:
        batch, steps, n = inputs.shape
        k = checkpoint_every or max(1, math.ceil(math.sqrt(steps)))
        eta_f = float(eta)
        xs = inputs.new_empty(steps + 1, batch, n)
        xs[0].zero_()
        hebb = inputs.new_zeros(batch, n, n)
        buf = torch.empty_like(hebb)
        checkpoints = []
        clamped = inputs != 0 if clamp else None  # once for the episode, not once per step
        for t in range(steps):
            if t % k == 0:
                checkpoints.append(hebb.clone())
            _effective_weight(w, alpha, hebb, out=buf)
            pre = torch.bmm(xs[t].unsqueeze(1), buf).squeeze(1)
            if clamp:
                torch.where(clamped[:, t], inputs[:, t], torch.tanh(pre), out=xs[t + 1])
            else:
                torch.tanh(pre + inputs[:, t], out=xs[t + 1])
            hebb_update_(hebb, xs[t], xs[t + 1], eta_f, rule)
        ctx.save_for_backward(inputs, w, alpha, eta, xs, *checkpoints)
        ctx.rule, ctx.clamp, ctx.k = rule, clamp, k
        ctx.mark_non_differentiable(hebb)
        return xs[1:].transpose(0, 1), hebb

    @staticmethod
    def backward(ctx, grad_out: Tensor, _grad_hebb: Tensor | None):  # type: ignore[override]
        inputs, w, alpha, eta, xs, *checkpoints = ctx.saved_tensors
        rule, clamp, k = ctx.rule, ctx.clamp, ctx.k
        batch, steps, n = inputs.shape
        eta_f = float(eta)
        shared = alpha.dim() == 0
        grad_out = grad_out.transpose(0, 1)  # (T, B, n)

        g_pre_all = inputs.new_empty(steps, batch, n)  # dL/d(pre-activation), for dL/dw at the end
        # dx(t)/dpre(t) for every step at once: 1 - x(t)^2, zero where the input clamps the neuron
        slope = 1 - xs[1:] * xs[1:]
        free = (inputs == 0).transpose(0, 1) if clamp else None  # (T, B, n)
        if clamp:
            slope = torch.where(free, slope, 0.0)
        g_inputs = None
        if ctx.needs_input_grad[0] and clamp:
            g_inputs = torch.zeros_like(inputs)
        g_alpha = torch.zeros_like(alpha)
        g_eta_steps = inputs.new_zeros(steps)  # each step's share of dL/deta, summed at the end
        g_hebb = inputs.new_zeros(batch, n, n)  # dL/dHebb(t), carried backwards
        g_x = grad_out[steps - 1].clone()  # dL/dx(t), carried backwards
        segment = inputs.new_empty(min(k, steps) + 1, batch, n, n)
        buf = torch.empty_like(g_hebb)

        for s in reversed(range(len(checkpoints))):
            start, stop = s * k, min((s + 1) * k, steps)
            segment[0].copy_(checkpoints[s])  # recompute Hebb(start..stop-1)
            for t in range(start, stop - 1):
                _trace_step(segment[t - start], xs[t], xs[t + 1], eta_f, rule, out=segment[t - start + 1])
            for t in reversed(range(start, stop)):
                hebb, x, y = segment[t - start], xs[t], xs[t + 1]
                # dL/dx(t-1): starts as the loss's own gradient (not copied: every update below is out of place)
                g_x_prev = grad_out[t - 1] if t > 0 else None
                # -- trace update Hebb(t) -> Hebb(t+1) (skipped at the last step: Hebb(T) is not used)
                if t < steps - 1:
                    gH_y = torch.bmm(g_hebb, y.unsqueeze(2)).squeeze(2)  # sum_j gH_ij y_j
                    xT_gH = torch.bmm(x.unsqueeze(1), g_hebb).squeeze(1)  # sum_i x_i gH_ij
                    if rule == "hebb":
                        torch.sub(torch.dot(x.reshape(-1), gH_y.reshape(-1)),
                                  torch.dot(g_hebb.reshape(-1), hebb.reshape(-1)), out=g_eta_steps[t])
                        g_x.add_(xT_gH, alpha=eta_f)
                        g_hebb.mul_(1 - eta_f)
                    else:
                        diag = (g_hebb * hebb).sum(1)  # sum_i gH_ij H_ij, (B, n)
                        torch.sub(torch.dot(x.reshape(-1), gH_y.reshape(-1)),
                                  torch.dot((y * y).reshape(-1), diag.reshape(-1)), out=g_eta_steps[t])
                        g_x.add_(xT_gH - 2 * y * diag, alpha=eta_f)
                        g_hebb.mul_((1 - eta_f * y * y).unsqueeze(1))
                    if g_x_prev is not None:
                        g_x_prev = torch.add(g_x_prev, gH_y, alpha=eta_f)
                # -- activation
                if g_inputs is not None:
                    g_inputs[:, t] = torch.where(free[t], 0.0, g_x)
                g_pre = torch.mul(g_x, slope[t], out=g_pre_all[t])
                # -- Eq. 1: pre = x (w + alpha * Hebb)
                if g_x_prev is not None:
                    if shared:
                        g_x_prev = g_x_prev + g_pre @ w.t() + alpha * torch.bmm(hebb, g_pre.unsqueeze(2)).squeeze(2)
                    else:
                        _effective_weight(w, alpha, hebb, out=buf)
                        g_x_prev = torch.baddbmm(g_x_prev.unsqueeze(2), buf, g_pre.unsqueeze(2)).squeeze(2)
                if shared:
                    g_alpha += torch.bmm(torch.bmm(x.unsqueeze(1), hebb), g_pre.unsqueeze(2)).sum()
                    g_hebb.baddbmm_(x.unsqueeze(2), g_pre.unsqueeze(1), alpha=float(alpha))
                else:
                    torch.bmm(x.unsqueeze(2), g_pre.unsqueeze(1), out=buf)  # x g^T
                    if batch == 1:
                        g_alpha.addcmul_(buf[0], hebb[0])
                    else:
                        g_alpha += (buf * hebb).sum(0)
                    g_hebb.addcmul_(alpha, buf)
                if g_x_prev is not None:
                    g_x = g_x_prev
        if ctx.needs_input_grad[0] and not clamp:  # dL/dinput(t) = dL/dpre(t) when the input is added
            g_inputs = g_pre_all.transpose(0, 1).clone()
        g_eta = g_eta_steps.sum()
        # dL/dw = sum_t x(t-1) g(t)^T, one matrix product over all steps and episodes
        g_w = xs[:-1].reshape(-1, n).t() @ g_pre_all.reshape(-1, n)
        return g_inputs, g_w, g_alpha, g_eta.reshape(eta.shape), None, None, None


def _effective_weight(w: Tensor, alpha: Tensor, hebb: Tensor, out: Tensor) -> Tensor:
    """w + alpha * Hebb, written into ``out`` (B, n, n)."""
    return torch.addcmul(w, alpha, hebb, out=out)


def hebb_update_(hebb: Tensor, x: Tensor, y: Tensor, eta: float, rule: str) -> None:
    """In-place Eq. 2 / Eq. 3 on ``hebb`` (B, n_pre, n_post), for rollouts that build no graph."""
    _trace_step(hebb, x, y, eta, rule, out=hebb)


def _trace_step(hebb: Tensor, x: Tensor, y: Tensor, eta: float, rule: str, out: Tensor) -> None:
    """Eq. 2 / Eq. 3 from ``hebb`` into ``out`` (which may be ``hebb`` itself)."""
    if rule == "hebb":
        torch.baddbmm(hebb, x.unsqueeze(2), y.unsqueeze(1), beta=1 - eta, alpha=eta, out=out)
    else:
        torch.mul(hebb, (1 - eta * y * y).unsqueeze(1), out=out)
        out.baddbmm_(x.unsqueeze(2), y.unsqueeze(1), alpha=eta)
