"""Plastic connections: a fixed weight plus a Hebbian trace scaled by a trained coefficient.

Notation follows "Differentiable plasticity" (Miconi, Clune, Stanley, ICML 2018):

    Eq. 1   x_j(t) = tanh( sum_i [w_ij + alpha_ij * Hebb_ij(t)] * x_i(t-1) )
    Eq. 2   Hebb_ij(t+1) = (1 - eta) * Hebb_ij(t) + eta * x_i(t-1) * x_j(t)              (decaying Hebb)
    Eq. 3   Hebb_ij(t+1) = Hebb_ij(t) + eta * x_j(t) * (x_i(t-1) - x_j(t) * Hebb_ij(t))   (Oja's rule)

Traces have shape (batch, n_pre, n_post) and are reset to zero at the start of each episode.

The public modules (exported by the package): :class:`PlasticConnection` (one plastic connection, for
feed-forward plastic layers), :class:`PlasticRecurrent` (a recurrent plastic tanh layer run a whole episode
at a time) and :class:`PlasticCell` (the same layer one time step at a time, for closed-loop models).

Two implementations of the recurrent layer are kept side by side:

* ``impl="reference"``: a plain Python loop over :meth:`PlasticRecurrent.step`, differentiated by
  autograd. It reads exactly like the equations and is the ground truth the tests compare against.
* ``impl="fused"``: :class:`PlasticRNNFunction`, a custom autograd function with a hand-written
  backward pass. The forward keeps only the activities and a trace checkpoint every
  ``checkpoint_every`` steps; the backward recomputes the traces segment by segment, so memory is
  O(T*N + sqrt(T)*N^2) instead of O(T*N^2), and works in place on a few N x N buffers. Under
  ``torch.func.vmap`` (independent runs trained as one model) it runs :class:`PlasticRunsFunction`, the
  same computation for R runs at once.
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

    The caller chooses the activation and which activities are pre- and postsynaptic: a feed-forward
    plastic layer uses it directly (the Omniglot network's softmax output layer); :class:`PlasticCell` and
    :class:`PlasticRecurrent` wrap it as a recurrent tanh layer.

    Example: a plastic softmax layer over 3 steps of an episode (pre = the input, post = the output).

    >>> import torch
    >>> from plasticity_utils import PlasticConnection
    >>> _ = torch.manual_seed(0)
    >>> layer = PlasticConnection(6, 3, rule="oja")
    >>> xs = torch.randn(4, 3, 6)  # (batch, time, n_pre)
    >>> hebb = layer.initial_trace(4)
    >>> for t in range(3):
    ...     y = torch.softmax(layer(xs[:, t], hebb), dim=-1)  # Eq. 1 with a softmax
    ...     hebb = layer.update(hebb, xs[:, t], y)             # Eq. 3
    >>> y.shape, hebb.shape
    (torch.Size([4, 3]), torch.Size([4, 6, 3]))
    >>> y[:, 0].sum().backward()
    >>> layer.w.grad.shape, layer.alpha.grad.shape, layer.eta.grad.shape
    (torch.Size([6, 3]), torch.Size([6, 3]), torch.Size([]))
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


class _PlasticTanhLayer(nn.Module):
    """What :class:`PlasticRecurrent` and :class:`PlasticCell` share: a recurrent :class:`PlasticConnection`
    (``connection``), one time step (:meth:`step`) and whole episodes (:meth:`episode`)."""

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

    def step(self, x: Tensor, hebb: Tensor | None, inputs: Tensor, *, inplace: bool = False,
             eta: float | None = None) -> tuple[Tensor, Tensor | None]:
        """One time step: x(t) from x(t-1) by Eq. 1, then the trace by Eq. 2/3.

        ``inplace``: when autograd is off (``torch.no_grad``), update the trace in place (``hebb`` is
        overwritten; several times faster for large traces); ``eta``: the rate that update uses, as a Python
        number (default: read from ``connection.eta``; pass it once per episode to spare a read per step).
        """
        c = self.connection
        drive = c(x, hebb)
        if self.input_mode == "add":
            new_x = torch.tanh(drive + inputs)
        else:
            new_x = torch.where(inputs != 0, inputs, torch.tanh(drive))
        if c.plastic:
            if inplace and not torch.is_grad_enabled():
                hebb_update_(hebb, x, new_x, c.eta.item() if eta is None else eta, c.rule)
            else:
                hebb = c.update(hebb, x, new_x)
        return new_x, hebb

    def episode(
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
        xs, hebb, _ = PlasticRNNFunction.apply(
            inputs, c.w, c.alpha, c.eta, c.rule, self.input_mode == "clamp", checkpoint_every
        )
        return xs, hebb


class PlasticRecurrent(_PlasticTanhLayer):
    """A fully recurrent, plastic tanh network (Eq. 1 with a recurrent connection), run a whole episode
    at a time: for open-loop tasks, whose inputs are known before the episode starts.

    ``input_mode="add"``: the input is added to the pre-activation (the binary-pattern tasks).
    ``input_mode="clamp"``: a neuron whose input is non-zero outputs that input instead of tanh
    (the natural-image task). All other options go to :class:`PlasticConnection`. The forward
    (:meth:`episode`) runs the fused :class:`PlasticRNNFunction` by default.

    Example: 10 neurons, 4 episodes of 20 steps, a loss on the last step, and backpropagation.

    >>> import torch
    >>> from plasticity_utils import PlasticRecurrent
    >>> _ = torch.manual_seed(0)
    >>> net = PlasticRecurrent(10, rule="oja", alpha="per_connection")
    >>> xs, hebb = net(torch.randn(4, 20, 10))
    >>> xs.shape, hebb.shape
    (torch.Size([4, 20, 10]), torch.Size([4, 10, 10]))
    >>> xs[:, -1].pow(2).mean().backward()
    >>> sorted(name for name, p in net.named_parameters() if p.grad is not None)
    ['connection.alpha', 'connection.eta', 'connection.w']
    """

    def forward(
        self, inputs: Tensor, impl: Literal["fused", "reference"] = "fused", checkpoint_every: int | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """:meth:`episode`: x(1..T) as (B, T, n) and Hebb(T) from ``inputs`` (B, T, n)."""
        return self.episode(inputs, impl, checkpoint_every)


class PlasticCell(_PlasticTanhLayer):
    """The plastic recurrent layer one time step at a time, for closed-loop models (an agent whose next
    input depends on its last output): ``cell(inputs, (x, hebb)) -> (x, hebb)``, Eq. 1 then Eq. 2 / 3:

        x_j(t) = tanh( u_j(t) + sum_i [w_ij + alpha_ij * Hebb_ij(t)] * x_i(t-1) ),   Hebb(t) -> Hebb(t+1)

    with u(t) = ``inputs`` (B, n). Options as :class:`PlasticRecurrent` (``input_mode``, and ``rule``,
    ``alpha``, ``eta``, ``learn_eta``, inits for the :class:`PlasticConnection`), and the same parameter
    names, so a state dict moves between the two. A state of ``None`` starts from rest (x = 0, Hebb = 0).
    Autograd through a loop of cell steps stores one trace per step; :meth:`episode` runs a whole recorded
    episode through the fused function instead (the maze agent plays without a graph, then replays).

    Example: an agent loop whose next input depends on the output, then backpropagation.

    >>> import torch
    >>> from plasticity_utils import PlasticCell
    >>> _ = torch.manual_seed(0)
    >>> cell = PlasticCell(8, rule="hebb", alpha="shared", learn_eta=False)
    >>> state, u, outputs = None, torch.randn(2, 8), []
    >>> for t in range(5):
    ...     state = cell(u, state)
    ...     x, hebb = state
    ...     u = x.roll(1, dims=1)  # closed loop: the next input depends on this output
    ...     outputs.append(x)
    >>> x.shape, hebb.shape
    (torch.Size([2, 8]), torch.Size([2, 8, 8]))
    >>> torch.stack(outputs, 1).sum().backward()
    >>> cell.connection.alpha.grad is not None, cell.connection.eta.requires_grad
    (True, False)
    """

    def forward(self, inputs: Tensor, state: tuple[Tensor, Tensor | None] | None = None, *, inplace: bool = False,
                eta: float | None = None) -> tuple[Tensor, Tensor | None]:
        """One step (:meth:`step`): the new (x, Hebb) from ``inputs`` (B, n) and the state (x, Hebb), ``None``
        for rest. ``inplace`` and ``eta``: the in-place trace update of rollouts without autograd."""
        if inputs.dim() != 2 or inputs.shape[1] != self.n:
            raise ValueError(f"inputs must be (batch, {self.n}), got {tuple(inputs.shape)}")
        x, hebb = self.initial_state(inputs.shape[0]) if state is None else state
        return self.step(x, hebb, inputs, inplace=inplace, eta=eta)


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

    It also returns the trace checkpoints the backward starts from (non-differentiable). Under
    ``torch.func.vmap`` (independent runs batched, :mod:`plasticity_utils.batched`) its :meth:`vmap` rule
    runs :class:`PlasticRunsFunction`, the same computation with a leading run axis, so batched runs keep
    this backward and its memory instead of autograd through every step.
    """

    @staticmethod
    def forward(inputs: Tensor, w: Tensor, alpha: Tensor, eta: Tensor, rule: str, clamp: bool,  # type: ignore[override]
                checkpoint_every: int | None) -> tuple[Tensor, Tensor, Tensor]:
        out, hebb, checkpoints = _forward_runs(inputs[None], w[None], alpha[None], eta[None], rule, clamp,
                                               checkpoint_every)
        return out[0], hebb[0], checkpoints[0]

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        x, w, alpha, eta, rule, clamp, checkpoint_every = inputs
        out, hebb, checkpoints = output
        ctx.save_for_backward(x, w, alpha, eta, out, checkpoints)
        ctx.rule, ctx.clamp, ctx.k = rule, clamp, _interval(x.shape[1], checkpoint_every)
        ctx.mark_non_differentiable(hebb, checkpoints)

    @staticmethod
    def backward(ctx, grad_out: Tensor, _grad_hebb: Tensor | None, _grad_checkpoints: Tensor | None):  # type: ignore[override]
        x, w, alpha, eta, out, checkpoints = ctx.saved_tensors
        grads = _backward_runs(x[None], w[None], alpha[None], eta[None], out[None], checkpoints[None],
                               grad_out[None], ctx.rule, ctx.clamp, ctx.k, ctx.needs_input_grad[0])
        g_inputs, g_w, g_alpha, g_eta = (None if g is None else g[0] for g in grads)
        return g_inputs, g_w, g_alpha, g_eta, None, None, None

    @staticmethod
    def vmap(info, in_dims, inputs, w, alpha, eta, rule, clamp, checkpoint_every):  # type: ignore[override]
        """R independent runs: every tensor argument gets a leading run axis (an unbatched one is shared
        by every run), and :class:`PlasticRunsFunction` computes them together."""
        runs = info.batch_size

        def leading(t: Tensor, dim: int | None) -> Tensor:
            return t.unsqueeze(0).expand(runs, *t.shape) if dim is None else t.movedim(dim, 0)

        args = [leading(t, d) for t, d in zip((inputs, w, alpha, eta), in_dims[:4])]
        return PlasticRunsFunction.apply(*args, rule, clamp, checkpoint_every), (0, 0, 0)


class PlasticRunsFunction(torch.autograd.Function):
    """:class:`PlasticRNNFunction` for R independent runs at once: ``inputs`` (R, B, T, n), ``w`` (R, n, n),
    ``alpha`` (R, n, n) or (R,), ``eta`` (R,); returns (R, B, T, n), (R, B, n, n) and the checkpoints.
    Run r's outputs and gradients are those of run r alone (``tests/test_plastic.py``)."""

    @staticmethod
    def forward(ctx, inputs, w, alpha, eta, rule, clamp, checkpoint_every):  # type: ignore[override]
        out, hebb, checkpoints = _forward_runs(inputs, w, alpha, eta, rule, clamp, checkpoint_every)
        ctx.save_for_backward(inputs, w, alpha, eta, out, checkpoints)
        ctx.rule, ctx.clamp, ctx.k = rule, clamp, _interval(inputs.shape[2], checkpoint_every)
        ctx.mark_non_differentiable(hebb, checkpoints)
        return out, hebb, checkpoints

    @staticmethod
    def backward(ctx, grad_out, _grad_hebb, _grad_checkpoints):  # type: ignore[override]
        inputs, w, alpha, eta, out, checkpoints = ctx.saved_tensors
        grads = _backward_runs(inputs, w, alpha, eta, out, checkpoints, grad_out, ctx.rule, ctx.clamp, ctx.k,
                               ctx.needs_input_grad[0])
        return (*grads, None, None, None)


def _interval(steps: int, checkpoint_every: int | None) -> int:
    """Steps between trace checkpoints: ``checkpoint_every``, or about sqrt(T) (memory O(sqrt(T) N^2))."""
    return checkpoint_every or max(1, math.ceil(math.sqrt(steps)))


def _per_episode(t: Tensor, runs: int, batch: int) -> Tensor | float:
    """A per-run scalar (eta, a shared alpha) as what the per-step kernels take: a Python number for one
    run (the scalar arguments of ``baddbmm``/``add``), else one value per episode row (R * B, 1)."""
    return float(t[0]) if runs == 1 else t.repeat_interleave(batch).unsqueeze(1)


def _axpy(y: Tensor, x: Tensor, a: Tensor | float, inplace: bool = False) -> Tensor:
    """y + a * x (into ``y`` if ``inplace``), ``a`` a number or one value per row."""
    if isinstance(a, float):
        return y.add_(x, alpha=a) if inplace else torch.add(y, x, alpha=a)
    return y.addcmul_(x, a) if inplace else torch.addcmul(y, x, a)


def _run_dots(a: Tensor, b: Tensor, runs: int) -> Tensor:
    """<a_r, b_r> for each run r (a and b carry R * B rows); one run: BLAS's dot, ~2x a batched product's speed."""
    if runs == 1:
        return torch.dot(a.reshape(-1), b.reshape(-1)).view(1)
    return torch.bmm(a.reshape(runs, 1, -1), b.reshape(runs, -1, 1)).view(runs)


def _forward_runs(inputs: Tensor, w: Tensor, alpha: Tensor, eta: Tensor, rule: str, clamp: bool,
                  checkpoint_every: int | None) -> tuple[Tensor, Tensor, Tensor]:
    """The forward of R runs (shapes as in :class:`PlasticRunsFunction`): x(1..T) (R, B, T, n), Hebb(T)
    and the trace every ``k`` steps (R, C, B, n, n). Episodes of all runs are rows of one (R * B) batch."""
    runs, batch, steps, n = inputs.shape
    rows = runs * batch
    k = _interval(steps, checkpoint_every)
    eta_s = _per_episode(eta, runs, batch)
    u = inputs.reshape(rows, steps, n)
    xs = inputs.new_empty(steps + 1, rows, n)
    xs[0].zero_()
    hebb = inputs.new_zeros(rows, n, n)
    buf = torch.empty_like(hebb)
    checkpoints = inputs.new_empty(-(-steps // k), rows, n, n)
    clamped = u != 0 if clamp else None  # once for the episode, not once per step
    for t in range(steps):
        if t % k == 0:
            checkpoints[t // k].copy_(hebb)
        _effective_weight(w, alpha, hebb, out=buf)
        pre = torch.bmm(xs[t].unsqueeze(1), buf).squeeze(1)
        if clamp:
            torch.where(clamped[:, t], u[:, t], torch.tanh(pre), out=xs[t + 1])
        else:
            torch.tanh(pre + u[:, t], out=xs[t + 1])
        _trace_step(hebb, xs[t], xs[t + 1], eta_s, rule, out=hebb)
    out = xs[1:].transpose(0, 1).reshape(runs, batch, steps, n)
    return out, hebb.view(runs, batch, n, n), checkpoints.view(-1, runs, batch, n, n).transpose(0, 1)


def _backward_runs(inputs: Tensor, w: Tensor, alpha: Tensor, eta: Tensor, out: Tensor, checkpoints: Tensor,
                   grad_out: Tensor, rule: str, clamp: bool, k: int, needs_input_grad: bool):
    """Gradients (inputs, w, alpha, eta) of R runs, each with its run axis; see :class:`PlasticRNNFunction`."""
    runs, batch, steps, n = inputs.shape
    rows = runs * batch
    n_checkpoints = checkpoints.shape[1]
    shared = alpha.dim() == 1
    eta_s = _per_episode(eta, runs, batch)
    alpha_s = _per_episode(alpha, runs, batch) if shared else None
    u = inputs.reshape(rows, steps, n)
    xs = torch.cat([out.new_zeros(1, rows, n), out.reshape(rows, steps, n).transpose(0, 1)])  # x(0..T)
    checkpoints = checkpoints.transpose(0, 1).reshape(n_checkpoints, rows, n, n)
    grad_out = grad_out.reshape(rows, steps, n).transpose(0, 1)  # (T, R * B, n)

    g_pre_all = inputs.new_empty(steps, rows, n)  # dL/d(pre-activation), for dL/dw at the end
    # dx(t)/dpre(t) for every step at once: 1 - x(t)^2, zero where the input clamps the neuron
    slope = 1 - xs[1:] * xs[1:]
    free = (u == 0).transpose(0, 1) if clamp else None  # (T, R * B, n)
    if clamp:
        slope = torch.where(free, slope, 0.0)
    g_inputs = torch.zeros_like(u) if needs_input_grad and clamp else None
    g_alpha = torch.zeros_like(alpha)
    g_eta_steps = inputs.new_zeros(steps, runs)  # each step's share of dL/deta, summed at the end
    g_hebb = inputs.new_zeros(rows, n, n)  # dL/dHebb(t), carried backwards
    g_x = grad_out[steps - 1].clone()  # dL/dx(t), carried backwards
    segment = inputs.new_empty(min(k, steps) + 1, rows, n, n)
    buf = torch.empty_like(g_hebb)

    for s in reversed(range(n_checkpoints)):
        start, stop = s * k, min((s + 1) * k, steps)
        segment[0].copy_(checkpoints[s])  # recompute Hebb(start..stop-1)
        for t in range(start, stop - 1):
            _trace_step(segment[t - start], xs[t], xs[t + 1], eta_s, rule, out=segment[t - start + 1])
        for t in reversed(range(start, stop)):
            hebb, x, y = segment[t - start], xs[t], xs[t + 1]
            # dL/dx(t-1): starts as the loss's own gradient (not copied: every update below is out of place)
            g_x_prev = grad_out[t - 1] if t > 0 else None
            # -- trace update Hebb(t) -> Hebb(t+1) (skipped at the last step: Hebb(T) is not used)
            if t < steps - 1:
                gH_y = torch.bmm(g_hebb, y.unsqueeze(2)).squeeze(2)  # sum_j gH_ij y_j
                xT_gH = torch.bmm(x.unsqueeze(1), g_hebb).squeeze(1)  # sum_i x_i gH_ij
                if rule == "hebb":
                    torch.sub(_run_dots(x, gH_y, runs), _run_dots(g_hebb, hebb, runs), out=g_eta_steps[t])
                    _axpy(g_x, xT_gH, eta_s, inplace=True)
                    g_hebb.mul_(1 - eta_s if isinstance(eta_s, float) else (1 - eta_s).unsqueeze(2))
                else:
                    diag = (g_hebb * hebb).sum(1)  # sum_i gH_ij H_ij, (R * B, n)
                    torch.sub(_run_dots(x, gH_y, runs), _run_dots(y * y, diag, runs), out=g_eta_steps[t])
                    _axpy(g_x, xT_gH - 2 * y * diag, eta_s, inplace=True)
                    g_hebb.mul_((1 - eta_s * y * y).unsqueeze(1))
                if g_x_prev is not None:
                    g_x_prev = _axpy(g_x_prev, gH_y, eta_s)
            # -- activation
            if g_inputs is not None:
                g_inputs[:, t] = torch.where(free[t], 0.0, g_x)
            g_pre = torch.mul(g_x, slope[t], out=g_pre_all[t])
            # -- Eq. 1: pre = x (w + alpha * Hebb)
            if g_x_prev is not None:
                if shared:
                    through_w = torch.bmm(g_pre.view(runs, batch, n), w.transpose(1, 2)).view(rows, n)
                    g_x_prev = g_x_prev + through_w + alpha_s * torch.bmm(hebb, g_pre.unsqueeze(2)).squeeze(2)
                else:
                    _effective_weight(w, alpha, hebb, out=buf)
                    g_x_prev = torch.baddbmm(g_x_prev.unsqueeze(2), buf, g_pre.unsqueeze(2)).squeeze(2)
            if shared:
                g_alpha += torch.bmm(torch.bmm(x.unsqueeze(1), hebb), g_pre.unsqueeze(2)).view(runs, batch).sum(1)
                if isinstance(alpha_s, float):
                    g_hebb.baddbmm_(x.unsqueeze(2), g_pre.unsqueeze(1), alpha=alpha_s)
                else:
                    g_hebb.baddbmm_(x.unsqueeze(2), (alpha_s * g_pre).unsqueeze(1))
            else:
                torch.bmm(x.unsqueeze(2), g_pre.unsqueeze(1), out=buf)  # x g^T
                if batch == 1:
                    g_alpha.addcmul_(buf, hebb)
                else:
                    g_alpha += (buf * hebb).view(runs, batch, n, n).sum(1)
                g_hebb.view(runs, batch, n, n).addcmul_(alpha.unsqueeze(1), buf.view(runs, batch, n, n))
            if g_x_prev is not None:
                g_x = g_x_prev
    if needs_input_grad and not clamp:  # dL/dinput(t) = dL/dpre(t) when the input is added
        g_inputs = g_pre_all.transpose(0, 1)
    g_inputs = None if g_inputs is None else g_inputs.reshape(runs, batch, steps, n)
    # dL/dw = sum_t x(t-1) g(t)^T per run, one batched matrix product over all steps and episodes
    x_prev = xs[:-1].view(steps, runs, batch, n).permute(1, 3, 0, 2).reshape(runs, n, steps * batch)
    g_w = torch.bmm(x_prev, g_pre_all.view(steps, runs, batch, n).transpose(0, 1).reshape(runs, steps * batch, n))
    return g_inputs, g_w, g_alpha, g_eta_steps.sum(0)


def _effective_weight(w: Tensor, alpha: Tensor, hebb: Tensor, out: Tensor) -> Tensor:
    """w + alpha * Hebb per run, written into ``out`` (R * B, n, n): ``w`` (R, n, n), ``alpha`` (R, n, n) or
    (R,), ``hebb`` and ``out`` with the R runs' B episodes as rows."""
    runs, n = w.shape[0], w.shape[-1]
    a = alpha.view(runs, 1, 1, 1) if alpha.dim() == 1 else alpha.unsqueeze(1)
    torch.addcmul(w.unsqueeze(1), a, hebb.view(runs, -1, n, n), out=out.view(runs, -1, n, n))
    return out


def hebb_update_(hebb: Tensor, x: Tensor, y: Tensor, eta: float, rule: str) -> None:
    """In-place Eq. 2 / Eq. 3 on ``hebb`` (B, n_pre, n_post), for rollouts that build no graph."""
    _trace_step(hebb, x, y, eta, rule, out=hebb)


def _trace_step(hebb: Tensor, x: Tensor, y: Tensor, eta: float | Tensor, rule: str, out: Tensor) -> None:
    """Eq. 2 / Eq. 3 from ``hebb`` into ``out`` (which may be ``hebb`` itself); ``eta`` a number, or one
    value per row (B, 1) when the rows belong to runs with their own eta."""
    if isinstance(eta, float):
        if rule == "hebb":
            torch.baddbmm(hebb, x.unsqueeze(2), y.unsqueeze(1), beta=1 - eta, alpha=eta, out=out)
        else:
            torch.mul(hebb, (1 - eta * y * y).unsqueeze(1), out=out)
            out.baddbmm_(x.unsqueeze(2), y.unsqueeze(1), alpha=eta)
        return
    if rule == "hebb":
        torch.mul(hebb, (1 - eta).unsqueeze(2), out=out)
    else:
        torch.mul(hebb, (1 - eta * y * y).unsqueeze(1), out=out)
    out.baddbmm_(x.unsqueeze(2), (eta * y).unsqueeze(1))
