"""Plastic connections: a fixed weight plus a Hebbian trace scaled by a trained coefficient.

Notation follows "Differentiable plasticity" (Miconi, Clune, Stanley, ICML 2018):

    Eq. 1   x_j(t) = tanh( sum_i [w_ij + alpha_ij * Hebb_ij(t)] * x_i(t-1) )
    Eq. 2   Hebb_ij(t+1) = (1 - eta) * Hebb_ij(t) + eta * x_i(t-1) * x_j(t)              (decaying Hebb)
    Eq. 3   Hebb_ij(t+1) = Hebb_ij(t) + eta * x_j(t) * (x_i(t-1) - x_j(t) * Hebb_ij(t))   (Oja's rule)

Traces have shape (batch, n_pre, n_post) and are reset to zero at the start of each episode.

Public part (first in this file):

* :func:`hebb_update` / :func:`hebb_update_`: one trace update, Eq. 2 or 3 (differentiable / in place);
* :class:`PlasticConnection`: one plastic connection, for feed-forward plastic layers;
* :class:`PlasticRecurrent`: a recurrent plastic tanh layer, run a whole episode at a time;
* :class:`PlasticCell`: the same layer one time step at a time, for closed-loop models;
* :func:`recurrent_episode`: a whole episode of that layer as a function of its parameters (also the
  non-plastic network, ``alpha=None``: :class:`~plasticity_utils.baselines.RecurrentBaseline`).

A whole episode has two implementations, chosen by ``impl``:

* ``"reference"``: a Python loop over time steps, differentiated by autograd. It reads exactly like the
  equations and is the ground truth the tests compare against.
* ``"fused"``: :class:`PlasticRunsFunction`, a custom autograd function with a hand-written backward (its
  adjoint equations are in the private part). The forward keeps only the activities and a trace checkpoint
  every ``checkpoint_every`` steps; the backward recomputes the traces segment by segment, so memory is
  O(T*N + sqrt(T)*N^2) instead of O(T*N^2), and works in place on a few N x N buffers. It computes R
  independent runs at once along a leading run axis, which is how it runs under ``torch.func.vmap``.

The private part (after the marked line below) holds the reference step's pieces and the fused kernels.
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
Impl = Literal["fused", "reference"]

RULES = ("hebb", "oja")
ALPHA_MODES = ("per_connection", "shared", "none")
INPUT_MODES = ("add", "clamp")
INITS = ("normal", "uniform")
IMPLS = ("fused", "reference")


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


def hebb_update_(hebb: Tensor, x: Tensor, y: Tensor, eta: float, rule: str) -> None:
    """In-place Eq. 2 / Eq. 3 on ``hebb`` (B, n_pre, n_post), for rollouts that build no graph."""
    _trace_step(hebb, x, y, eta, rule, out=hebb)


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
        if self.alpha is not None and hebb is None:
            raise ValueError("a plastic connection needs its trace")
        return _drive(pre, self.w, self.alpha, hebb)

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

    @property
    def clamp(self) -> bool:
        return self.input_mode == "clamp"

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
        new_x = _activate(c(x, hebb), inputs, inputs != 0 if self.clamp else None)
        if c.plastic:
            if inplace and not torch.is_grad_enabled():
                hebb_update_(hebb, x, new_x, c.eta.item() if eta is None else eta, c.rule)
            else:
                hebb = c.update(hebb, x, new_x)
        return new_x, hebb

    def episode(self, inputs: Tensor, impl: Impl = "fused",
                checkpoint_every: int | None = None) -> tuple[Tensor, Tensor | None]:
        """Run a whole episode from rest (:func:`recurrent_episode`). ``inputs``: (B, T, n). Returns x(1..T)
        as (B, T, n) and Hebb(T) (``None`` for a non-plastic network, ``alpha="none"``: the same kernel as
        :class:`~plasticity_utils.baselines.RecurrentBaseline`)."""
        if inputs.dim() != 3 or inputs.shape[2] != self.n:
            raise ValueError(f"inputs must be (batch, time, {self.n}), got {tuple(inputs.shape)}")
        c = self.connection
        return recurrent_episode(inputs, c.w, c.alpha, c.eta, rule=c.rule, clamp=self.clamp, impl=impl,
                                 checkpoint_every=checkpoint_every)


class PlasticRecurrent(_PlasticTanhLayer):
    """A fully recurrent, plastic tanh network (Eq. 1 with a recurrent connection), run a whole episode
    at a time: for open-loop tasks, whose inputs are known before the episode starts.

    ``input_mode="add"``: the input is added to the pre-activation (the binary-pattern tasks).
    ``input_mode="clamp"``: a neuron whose input is non-zero outputs that input instead of tanh
    (the natural-image task). All other options go to :class:`PlasticConnection`. The forward
    (:meth:`episode`) runs the fused :class:`PlasticRunsFunction` by default.

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

    def forward(self, inputs: Tensor, impl: Impl = "fused",
                checkpoint_every: int | None = None) -> tuple[Tensor, Tensor | None]:
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


def recurrent_episode(inputs: Tensor, w: Tensor, alpha: Tensor | None = None, eta: Tensor | None = None, *,
                      rule: Rule = "hebb", clamp: bool = False, impl: Impl = "fused",
                      checkpoint_every: int | None = None) -> tuple[Tensor, Tensor | None]:
    """A whole episode of the recurrent tanh layer (Eq. 1, then Eq. 2 or 3) from x(0) = 0, Hebb(0) = 0.

    ``inputs``: u(1..T) as (B, T, n), added to the pre-activation, or, with ``clamp``, the output of every
    neuron whose input is non-zero. ``w``: (n, n). ``alpha``: (n, n) per connection, () shared, or ``None``
    for the non-plastic network x(t) = tanh(x(t-1) w + u(t)) (``eta`` and ``rule`` then unused).
    Returns x(1..T) as (B, T, n) and Hebb(T) (``None`` without plasticity; not differentiable with the
    fused implementation). ``impl``: ``"fused"`` (:class:`PlasticRunsFunction`, trace checkpoints every
    ``checkpoint_every`` steps, default about sqrt(T)) or ``"reference"`` (the step loop, by autograd).
    """
    if impl == "reference":
        return _reference_episode(inputs, w, alpha, eta, rule, clamp)
    _check_choice("impl", impl, IMPLS)
    if not torch.is_grad_enabled():  # evaluation: no backward, so keep no trace checkpoints
        checkpoint_every = inputs.shape[1]
    xs, hebb, _ = PlasticRunsFunction.apply(inputs, w, alpha, None if alpha is None else eta, rule, clamp,
                                            checkpoint_every, False)
    return xs, hebb


# ==========================================================================================================
# Private part: the reference step's pieces, then the fused kernels behind recurrent_episode(impl="fused").
# ==========================================================================================================


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {allowed}")


def _init(shape: tuple[int, ...], kind: str, scale: float) -> Tensor:
    _check_choice("init", kind, INITS)
    t = torch.randn(shape) if kind == "normal" else torch.rand(shape)
    return scale * t


def _drive(pre: Tensor, w: Tensor, alpha: Tensor | None, hebb: Tensor | None) -> Tensor:
    """Eq. 1's sum: pre w + pre (alpha * Hebb), shape (B, n_post); ``w`` alone without plasticity."""
    drive = pre @ w
    if alpha is not None:
        drive = drive + torch.bmm(pre.unsqueeze(1), alpha * hebb).squeeze(1)
    return drive


def _activate(drive: Tensor, u: Tensor, clamped: Tensor | None, out: Tensor | None = None) -> Tensor:
    """x(t) from the drive and the input u(t): tanh(drive + u), or, where ``clamped`` (u != 0) is given,
    u itself there and tanh(drive) elsewhere. ``out``: where to write it."""
    if clamped is None:
        return torch.tanh(drive + u, out=out)
    return torch.where(clamped, u, torch.tanh(drive), out=out)


def _reference_episode(inputs: Tensor, w: Tensor, alpha: Tensor | None, eta: Tensor | None, rule: str,
                       clamp: bool) -> tuple[Tensor, Tensor | None]:
    """:func:`recurrent_episode` as a loop of Eq. 1 and Eq. 2 / 3 steps, differentiated by autograd."""
    batch, steps, n = inputs.shape
    x = w.new_zeros(batch, n)
    hebb = None if alpha is None else w.new_zeros(batch, n, n)
    xs = []
    for t in range(steps):
        u = inputs[:, t]
        y = _activate(_drive(x, w, alpha, hebb), u, u != 0 if clamp else None)
        if alpha is not None:
            hebb = hebb_update(hebb, x, y, eta, rule)  # type: ignore[arg-type]
        x = y
        xs.append(x)
    return torch.stack(xs, 1), hebb


class PlasticRunsFunction(torch.autograd.Function):
    """Whole-episode forward and hand-written backward of the recurrent tanh layer (Eq. 1-3) for R
    independent runs at once, each with its own parameters: ``inputs`` (R, B, T, n), ``w`` (R, n, n),
    ``alpha`` (R, n, n) per connection, (R,) shared, or ``None`` (non-plastic), ``eta`` (R,) (``None``
    without plasticity). Returns x(1..T) (R, B, T, n), Hebb(T) (R, B, n, n) and the trace checkpoints the
    backward starts from (R, C, B, n, n); the last two are not differentiable (every loss in the papers is
    a function of the activities) and are ``None`` without plasticity. Run r's outputs and gradients are
    those of run r alone (``tests/test_plastic.py``); the R runs' B episodes are the rows of one R * B batch.

    With ``run_axis=False`` every tensor and output lacks the run axis (one run: :func:`recurrent_episode`).
    Under ``torch.func.vmap`` (independent runs trained as one model, :mod:`plasticity_utils.batched`) its
    :meth:`vmap` rule makes vmap's axis the run axis, so batched runs keep this backward and its memory
    instead of autograd through every step.

    Forward, step t = 1..T, with x(0) = 0, H(0) = 0 and H(t) the trace after t steps (the paper's
    Hebb(t+1)), W(t) = w + alpha * H(t-1) (elementwise; alpha a scalar when shared)::

        pre_j(t) = sum_i x_i(t-1) W_ij(t)                                         Eq. 1
        x_j(t)   = tanh(pre_j(t) + u_j(t))     or, clamping:  u_j(t) if u_j(t) != 0, else tanh(pre_j(t))
        H_ij(t)  = (1 - eta) H_ij(t-1) + eta x_i(t-1) x_j(t)                      Eq. 2
        H_ij(t)  = (1 - eta x_j(t)^2) H_ij(t-1) + eta x_i(t-1) x_j(t)             Eq. 3

    Backward (adjoint), t = T..1, with gx(t) = dL/dx(t) and gH(t) = dL/dH(t) gathered from every later use,
    gx(t) starting as the loss's own dL/dx(t) and gH(T) = 0 (H(T) feeds nothing):

      trace step t, Eq. 2 (:func:`_hebb_adjoint`):
        gx_j(t)    += eta sum_i x_i(t-1) gH_ij(t)
        gx_i(t-1)  += eta sum_j gH_ij(t) x_j(t)
        dL/deta    += sum_ij gH_ij(t) (x_i(t-1) x_j(t) - H_ij(t-1))
        gH_ij(t-1)  = (1 - eta) gH_ij(t)
      trace step t, Eq. 3 (:func:`_oja_adjoint`), with d_j = sum_i gH_ij(t) H_ij(t-1):
        gx_j(t)    += eta sum_i x_i(t-1) gH_ij(t) - 2 eta x_j(t) d_j
        gx_i(t-1)  += eta sum_j gH_ij(t) x_j(t)
        dL/deta    += sum_ij gH_ij(t) x_i(t-1) x_j(t) - sum_j x_j(t)^2 d_j
        gH_ij(t-1)  = (1 - eta x_j(t)^2) gH_ij(t)
      activation (gx(t) is now complete):
        g_j(t)      = dL/dpre_j(t) = gx_j(t) (1 - x_j(t)^2)           (0 where clamped)
        dL/du_j(t)  = g_j(t) (added input);   gx_j(t) where clamped, else 0 (clamping input)
      Eq. 1 (:func:`_per_connection_adjoint`, :func:`_shared_alpha_adjoint`):
        gx_i(t-1)  += sum_j W_ij(t) g_j(t)
        dL/dw_ij    += x_i(t-1) g_j(t)                 (all steps at once, one matrix product at the end)
        dL/dalpha_ij += x_i(t-1) g_j(t) H_ij(t-1)       (shared alpha: summed over i, j)
        gH_ij(t-1)  += alpha_ij x_i(t-1) g_j(t)

    Parameter gradients are summed over the B episodes of a run. Without plasticity only the activation and
    Eq. 1 lines remain, with W = w (:func:`_fixed_forward`, :func:`_fixed_backward`).
    """

    @staticmethod
    def forward(inputs: Tensor, w: Tensor, alpha: Tensor | None, eta: Tensor | None,  # type: ignore[override]
                rule: str, clamp: bool, checkpoint_every: int | None,
                run_axis: bool) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """``run_axis=False``: one run, every tensor and output without the run axis."""
        if alpha is None:  # the non-plastic kernel takes the tensors with or without the run axis
            return _fixed_forward(inputs, w, clamp).movedim(0, -2), None, None
        if not run_axis:
            outs = PlasticRunsFunction.forward(*_one_run(inputs, w, alpha, eta), rule, clamp, checkpoint_every, True)
            return tuple(o[0] for o in outs)  # type: ignore[return-value]
        return _forward_runs(inputs, w, alpha, eta, rule, clamp, checkpoint_every)  # type: ignore[arg-type]

    @staticmethod
    def setup_context(ctx, inputs, output):  # type: ignore[override]
        x, w, alpha, eta, rule, clamp, checkpoint_every, run_axis = inputs
        out, hebb, checkpoints = output
        ctx.save_for_backward(x, w, alpha, eta, out, checkpoints)
        ctx.rule, ctx.clamp, ctx.run_axis = rule, clamp, run_axis
        ctx.k = _interval(x.shape[-2], checkpoint_every)
        if alpha is not None:
            ctx.mark_non_differentiable(hebb, checkpoints)

    @staticmethod
    def backward(ctx, grad_out: Tensor, _grad_hebb: Tensor | None, _grad_checkpoints: Tensor | None):  # type: ignore[override]
        inputs, w, alpha, eta, out, checkpoints = ctx.saved_tensors
        if alpha is None:
            g_inputs, g_w = _fixed_backward(inputs, w, out.movedim(-2, 0), grad_out.movedim(-2, 0), ctx.clamp,
                                            ctx.needs_input_grad[0], ctx.needs_input_grad[1])
            return g_inputs, g_w, None, None, None, None, None, None
        if not ctx.run_axis:
            inputs, w, alpha, eta, out, checkpoints, grad_out = _one_run(inputs, w, alpha, eta, out, checkpoints,
                                                                         grad_out)
        grads = _backward_runs(inputs, w, alpha, eta, out, checkpoints, grad_out, ctx.rule, ctx.clamp, ctx.k,
                               ctx.needs_input_grad[0])
        if not ctx.run_axis:
            grads = tuple(None if g is None else g[0] for g in grads)
        return (*grads, None, None, None, None)

    @staticmethod
    def vmap(info, in_dims, inputs, w, alpha, eta, rule, clamp, checkpoint_every, run_axis):  # type: ignore[override]
        """Under vmap, every tensor argument's vmap axis becomes its run axis, or, if it has one already, joins
        it (V slices of R runs are V * R runs); an argument vmap does not batch is shared by every slice."""
        size = info.batch_size

        def runs_first(t: Tensor | None, dim: int | None) -> Tensor | None:
            if t is None:
                return None
            t = t.expand(size, *t.shape) if dim is None else t.movedim(dim, 0)
            return t.flatten(0, 1) if run_axis else t

        args = [runs_first(t, d) for t, d in zip((inputs, w, alpha, eta), in_dims[:4])]
        outs = PlasticRunsFunction.apply(*args, rule, clamp, checkpoint_every, True)
        if run_axis:
            outs = tuple(None if o is None else o.unflatten(0, (size, -1)) for o in outs)
        return outs, tuple(None if o is None else 0 for o in outs)


# -- small pieces of the kernels ------------------------------------------------------------------------


def _one_run(*tensors: Tensor | None) -> list[Tensor | None]:
    """A run axis of length 1 in front of every tensor."""
    return [None if t is None else t[None] for t in tensors]


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


def _effective_weight(w: Tensor, alpha: Tensor, hebb: Tensor, out: Tensor) -> Tensor:
    """W = w + alpha * Hebb per run, written into ``out`` (R * B, n, n): ``w`` (R, n, n), ``alpha`` (R, n, n)
    or (R,), ``hebb`` and ``out`` with the R runs' B episodes as rows."""
    runs, n = w.shape[0], w.shape[-1]
    a = alpha.view(runs, 1, 1, 1) if alpha.dim() == 1 else alpha.unsqueeze(1)
    torch.addcmul(w.unsqueeze(1), a, hebb.view(runs, -1, n, n), out=out.view(runs, -1, n, n))
    return out


def _trace_step(hebb: Tensor, x: Tensor, y: Tensor, eta: float | Tensor, rule: str, out: Tensor) -> None:
    """Eq. 2 / Eq. 3 from ``hebb`` into ``out`` (which may be ``hebb`` itself); ``eta`` a number, or one
    value per row (B, 1) when the rows belong to runs with their own eta."""
    if isinstance(eta, float):
        if rule == "hebb" and out is hebb:  # in place: baddbmm(out=) would first copy the trace onto itself
            hebb.baddbmm_(x.unsqueeze(2), y.unsqueeze(1), beta=1 - eta, alpha=eta)
        elif rule == "hebb":
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


def _slopes(xs: Tensor, free: Tensor | None) -> Tensor:
    """dx(t)/dpre(t) for every step at once: 1 - x(t)^2, zero where a clamping input fixes the neuron."""
    slope = 1 - xs * xs
    return slope if free is None else torch.where(free, slope, 0.0)


# -- the adjoint of one trace step (Eq. 2 / Eq. 3), see PlasticRunsFunction ------------------------------


def _hebb_adjoint(g_hebb: Tensor, g_x: Tensor, gH_y: Tensor, xT_gH: Tensor, hebb: Tensor, x: Tensor, y: Tensor,
                  eta: float | Tensor, runs: int, g_eta: Tensor) -> None:
    """Eq. 2: gx(t) += eta x(t-1) gH;  dL/deta's share (into ``g_eta``) = <x(t-1), gH x(t)> - <gH, H(t-1)>;
    gH <- (1 - eta) gH. ``gH_y`` = gH x(t), ``xT_gH`` = x(t-1) gH (the caller adds eta gH x(t) to gx(t-1))."""
    torch.sub(_run_dots(x, gH_y, runs), _run_dots(g_hebb, hebb, runs), out=g_eta)
    _axpy(g_x, xT_gH, eta, inplace=True)
    g_hebb.mul_(1 - eta if isinstance(eta, float) else (1 - eta).unsqueeze(2))


def _oja_adjoint(g_hebb: Tensor, g_x: Tensor, gH_y: Tensor, xT_gH: Tensor, hebb: Tensor, x: Tensor, y: Tensor,
                 eta: float | Tensor, runs: int, g_eta: Tensor) -> None:
    """Eq. 3, with d_j = sum_i gH_ij H_ij(t-1): gx(t) += eta (x(t-1) gH - 2 x(t) d);  dL/deta's share =
    <x(t-1), gH x(t)> - <x(t)^2, d>;  gH <- gH (1 - eta x(t)^2) column-wise. Arguments as :func:`_hebb_adjoint`."""
    diag = (g_hebb * hebb).sum(1)  # d, (R * B, n)
    torch.sub(_run_dots(x, gH_y, runs), _run_dots(y * y, diag, runs), out=g_eta)
    _axpy(g_x, xT_gH - 2 * y * diag, eta, inplace=True)
    g_hebb.mul_((1 - eta * y * y).unsqueeze(1))


# -- the adjoint of Eq. 1 for one step, per alpha mode, see PlasticRunsFunction --------------------------


def _per_connection_adjoint(g_x_prev: Tensor | None, g_pre: Tensor, x: Tensor, hebb: Tensor, w: Tensor,
                            alpha: Tensor, g_hebb: Tensor, g_alpha: Tensor, buf: Tensor, batch: int) -> Tensor | None:
    """alpha (R, n, n): gx(t-1) += W g (returned; ``None`` at t = 1, where x(0) is no variable);
    dL/dalpha += (x(t-1)^T g) * H(t-1);  gH += alpha * (x(t-1)^T g). ``buf``: an (R * B, n, n) scratch."""
    runs, n = w.shape[0], w.shape[-1]
    if g_x_prev is not None:
        _effective_weight(w, alpha, hebb, out=buf)
        g_x_prev = torch.baddbmm(g_x_prev.unsqueeze(2), buf, g_pre.unsqueeze(2)).squeeze(2)
    torch.bmm(x.unsqueeze(2), g_pre.unsqueeze(1), out=buf)  # x(t-1)^T g
    g_hebb.view(runs, batch, n, n).addcmul_(alpha.unsqueeze(1), buf.view(runs, batch, n, n))
    if batch == 1:
        g_alpha.addcmul_(buf, hebb)
    else:  # the products into the scratch itself: a fresh (R * B, n, n) tensor per step costs more than the product
        g_alpha += buf.mul_(hebb).view(runs, batch, n, n).sum(1)
    return g_x_prev


def _shared_alpha_adjoint(g_x_prev: Tensor | None, g_pre: Tensor, x: Tensor, hebb: Tensor, w: Tensor,
                          alpha: float | Tensor, g_hebb: Tensor, g_alpha: Tensor, buf: Tensor,
                          batch: int) -> Tensor | None:
    """One alpha per run (``alpha`` as :func:`_per_episode` gives it): gx(t-1) += g w^T + alpha H(t-1) g
    (no W built); dL/dalpha += x(t-1) H(t-1) g^T;  gH += alpha x(t-1)^T g. Arguments as
    :func:`_per_connection_adjoint` (``buf`` unused)."""
    runs, n = w.shape[0], w.shape[-1]
    if g_x_prev is not None:
        through_w = torch.bmm(g_pre.view(runs, batch, n), w.transpose(1, 2)).view(-1, n)
        g_x_prev = g_x_prev + through_w + alpha * torch.bmm(hebb, g_pre.unsqueeze(2)).squeeze(2)
    g_alpha += torch.bmm(torch.bmm(x.unsqueeze(1), hebb), g_pre.unsqueeze(2)).view(runs, batch).sum(1)
    if isinstance(alpha, float):
        g_hebb.baddbmm_(x.unsqueeze(2), g_pre.unsqueeze(1), alpha=alpha)
    else:
        g_hebb.baddbmm_(x.unsqueeze(2), (alpha * g_pre).unsqueeze(1))
    return g_x_prev


# -- the plastic kernels --------------------------------------------------------------------------------


def _forward_runs(inputs: Tensor, w: Tensor, alpha: Tensor, eta: Tensor, rule: str, clamp: bool,
                  checkpoint_every: int | None) -> tuple[Tensor, Tensor, Tensor]:
    """The forward of R plastic runs (shapes as in :class:`PlasticRunsFunction`): x(1..T) (R, B, T, n),
    H(T) and the trace every ``k`` steps (R, C, B, n, n), H(0), H(k), ..."""
    runs, batch, steps, n = inputs.shape
    rows = runs * batch
    k = _interval(steps, checkpoint_every)
    eta_s = _per_episode(eta, runs, batch)
    u = inputs.reshape(rows, steps, n)
    xs = inputs.new_empty(steps + 1, rows, n)  # x(0..T)
    xs[0].zero_()
    hebb = inputs.new_zeros(rows, n, n)
    buf = torch.empty_like(hebb)
    checkpoints = inputs.new_empty(-(-steps // k), rows, n, n)
    clamped = u != 0 if clamp else None  # once for the episode, not once per step
    for t in range(steps):  # xs[t + 1] = x(t + 1) from x(t) and H(t); then H(t + 1)
        if t % k == 0:
            checkpoints[t // k].copy_(hebb)
        pre = torch.bmm(xs[t].unsqueeze(1), _effective_weight(w, alpha, hebb, out=buf)).squeeze(1)
        _activate(pre, u[:, t], None if clamped is None else clamped[:, t], out=xs[t + 1])
        _trace_step(hebb, xs[t], xs[t + 1], eta_s, rule, out=hebb)
    out = xs[1:].transpose(0, 1).reshape(runs, batch, steps, n)
    return out, hebb.view(runs, batch, n, n), checkpoints.view(-1, runs, batch, n, n).transpose(0, 1)


def _backward_runs(inputs: Tensor, w: Tensor, alpha: Tensor, eta: Tensor, out: Tensor, checkpoints: Tensor,
                   grad_out: Tensor, rule: str, clamp: bool, k: int, needs_input_grad: bool):
    """Gradients (inputs, w, alpha, eta) of R plastic runs, each with its run axis: the adjoint equations
    of :class:`PlasticRunsFunction`, the traces recomputed from each checkpoint segment by segment."""
    runs, batch, steps, n = inputs.shape
    rows = runs * batch
    n_checkpoints = checkpoints.shape[1]
    shared = alpha.dim() == 1
    eta_s = _per_episode(eta, runs, batch)
    alpha_s = _per_episode(alpha, runs, batch) if shared else alpha
    trace_adjoint = _hebb_adjoint if rule == "hebb" else _oja_adjoint
    eq1_adjoint = _shared_alpha_adjoint if shared else _per_connection_adjoint
    u = inputs.reshape(rows, steps, n)
    xs = torch.cat([out.new_zeros(1, rows, n), out.reshape(rows, steps, n).transpose(0, 1)])  # x(0..T)
    checkpoints = checkpoints.transpose(0, 1).reshape(n_checkpoints, rows, n, n)
    grad_out = grad_out.reshape(rows, steps, n).transpose(0, 1)  # (T, R * B, n)

    free = (u == 0).transpose(0, 1) if clamp else None  # (T, R * B, n)
    slope = _slopes(xs[1:], free)
    g_pre_all = inputs.new_empty(steps, rows, n)  # g(t) = dL/dpre(t) of every step, for dL/dw at the end
    g_inputs = torch.zeros_like(u) if needs_input_grad and clamp else None
    g_alpha = torch.zeros_like(alpha)
    g_eta_steps = inputs.new_zeros(steps, runs)  # each step's share of dL/deta, summed at the end
    g_hebb = inputs.new_zeros(rows, n, n)  # gH, carried backwards
    g_x = grad_out[steps - 1].clone()  # gx, carried backwards
    segment = inputs.new_empty(min(k, steps) + 1, rows, n, n)
    buf = torch.empty_like(g_hebb)

    for s in reversed(range(n_checkpoints)):
        start, stop = s * k, min((s + 1) * k, steps)
        segment[0].copy_(checkpoints[s])  # recompute the traces this segment's steps read
        for t in range(start, stop - 1):
            _trace_step(segment[t - start], xs[t], xs[t + 1], eta_s, rule, out=segment[t - start + 1])
        for t in reversed(range(start, stop)):  # step t + 1 of the equations: x = x(t), y = x(t + 1), H(t)
            hebb, x, y = segment[t - start], xs[t], xs[t + 1]
            # gx(t) starts as the loss's own dL/dx(t) (not copied: every update below is out of place)
            g_x_prev = grad_out[t - 1] if t > 0 else None
            if t < steps - 1:  # trace step H(t) -> H(t + 1); the last trace feeds nothing
                gH_y = torch.bmm(g_hebb, y.unsqueeze(2)).squeeze(2)  # sum_j gH_ij y_j
                xT_gH = torch.bmm(x.unsqueeze(1), g_hebb).squeeze(1)  # sum_i x_i gH_ij
                trace_adjoint(g_hebb, g_x, gH_y, xT_gH, hebb, x, y, eta_s, runs, g_eta_steps[t])
                if g_x_prev is not None:
                    g_x_prev = _axpy(g_x_prev, gH_y, eta_s)
            if g_inputs is not None:  # clamping input: the neuron's gradient where it is clamped
                g_inputs[:, t] = torch.where(free[t], 0.0, g_x)
            g_pre = torch.mul(g_x, slope[t], out=g_pre_all[t])
            g_x_prev = eq1_adjoint(g_x_prev, g_pre, x, hebb, w, alpha_s, g_hebb, g_alpha, buf, batch)
            if g_x_prev is not None:
                g_x = g_x_prev
    if needs_input_grad and not clamp:  # added input: dL/du(t) = g(t)
        g_inputs = g_pre_all.transpose(0, 1)
    g_inputs = None if g_inputs is None else g_inputs.reshape(runs, batch, steps, n)
    # dL/dw = sum_t x(t-1)^T g(t) per run, one batched matrix product over all steps and episodes
    x_prev = xs[:-1].view(steps, runs, batch, n).permute(1, 3, 0, 2).reshape(runs, n, steps * batch)
    g_w = torch.bmm(x_prev, g_pre_all.view(steps, runs, batch, n).transpose(0, 1).reshape(runs, steps * batch, n))
    return g_inputs, g_w, g_alpha, g_eta_steps.sum(0)


# -- the non-plastic kernels (alpha = None): x(t) = tanh(x(t-1) w + u(t)) ---------------------------------


def _mm(x: Tensor, w: Tensor, c: Tensor | None = None) -> Tensor:
    """(c +) x w for one run (``w`` (n, n): mm, or addmm, which sums into ``c`` in the same BLAS call) or for
    each of R runs (``w`` (R, n, n), ``x`` and ``c`` (R, B, n): bmm / baddbmm)."""
    if w.dim() == 2:
        return torch.mm(x, w) if c is None else torch.addmm(c, x, w)
    return torch.bmm(x, w) if c is None else torch.baddbmm(c, x, w)


def _fixed_forward(inputs: Tensor, w: Tensor, clamp: bool) -> Tensor:
    """x(1..T) of the non-plastic network as (T, [R,] B, n) from ``inputs`` ([R,] B, T, n) and ``w``
    ([R,] n, n), with or without the run axis."""
    steps = inputs.shape[-2]
    xs = inputs.new_empty(steps, *inputs.shape[:-2], inputs.shape[-1])
    clamped = inputs != 0 if clamp else None
    for t in range(steps):  # xs[t] = x(t + 1); x(0) = 0 leaves u(1) alone in x(1)
        u = inputs[..., t, :]
        if clamped is not None:
            _activate(_mm(xs[t - 1], w) if t > 0 else torch.zeros_like(u), u, clamped[..., t, :], out=xs[t])
        else:
            torch.tanh(_mm(xs[t - 1], w, c=u) if t > 0 else u, out=xs[t])
    return xs


def _fixed_backward(inputs: Tensor, w: Tensor, xs: Tensor, grad_out: Tensor, clamp: bool, needs_input_grad: bool,
                    needs_w_grad: bool) -> tuple[Tensor | None, Tensor | None]:
    """Gradients (inputs, w) of the non-plastic network from x(1..T) ``xs`` and dL/dx(1..T) ``grad_out``, both
    (T, [R,] B, n): the activation and Eq. 1 lines of :class:`PlasticRunsFunction`'s adjoint with W = w."""
    steps, n = xs.shape[0], xs.shape[-1]
    free = (inputs == 0).movedim(-2, 0) if clamp else None
    slope = _slopes(xs, free)
    g_pre = torch.empty_like(xs)  # g(t) = dL/dpre(t)
    g_inputs = torch.zeros_like(xs) if needs_input_grad and clamp else None
    g_x = grad_out[steps - 1]
    for t in reversed(range(steps)):
        if g_inputs is not None:
            g_inputs[t] = torch.where(free[t], 0.0, g_x)
        torch.mul(g_x, slope[t], out=g_pre[t])
        if t > 0:  # gx(t-1) = the loss's own + g(t) w^T
            g_x = _mm(g_pre[t], w.transpose(-1, -2), c=grad_out[t - 1])
    if needs_input_grad and not clamp:
        g_inputs = g_pre
    g_w = None
    if needs_w_grad and w.dim() == 2:  # sum_t x(t-1)^T g(t) over t >= 2 (x(0) = 0): one matrix product
        g_w = xs[:-1].reshape(-1, n).t() @ g_pre[1:].reshape(-1, n)
    elif needs_w_grad:  # the same per run
        runs = w.shape[0]
        g_w = torch.bmm(xs[:-1].permute(1, 3, 0, 2).reshape(runs, n, -1),
                        g_pre[1:].transpose(0, 1).reshape(runs, -1, n))
    return None if g_inputs is None else g_inputs.movedim(0, -2), g_w
