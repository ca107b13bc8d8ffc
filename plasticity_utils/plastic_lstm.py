"""A plastic LSTM: an LSTM whose recurrent connection into the cell candidate is a plastic connection.

Notation as :mod:`plasticity_utils.plastic` (Miconi, Clune, Stanley, ICML 2018, Eq. 1-3) and PyTorch's
LSTM (gate order i, f, g, o). With x(t) the input, h(t) the hidden state, c(t) the cell state and
sigma the logistic function, one step is::

    i(t) = sigma(W_i x(t) + U_i h(t-1) + b_i)
    f(t) = sigma(W_f x(t) + U_f h(t-1) + b_f)
    o(t) = sigma(W_o x(t) + U_o h(t-1) + b_o)
    g_j(t) = tanh( (W_g x(t) + b_g)_j + sum_i [w_ij + alpha_ij * Hebb_ij(t)] * h_i(t-1) )      Eq. 1
    c(t) = f(t) * c(t-1) + i(t) * g(t)
    h(t) = o(t) * tanh(c(t))
    Hebb_ij(t+1) = (1 - eta) * Hebb_ij(t) + eta * h_i(t-1) * g_j(t)                           Eq. 2
    Hebb_ij(t+1) = Hebb_ij(t) + eta * g_j(t) * (h_i(t-1) - g_j(t) * Hebb_ij(t))                Eq. 3

from h(0) = c(0) = 0 and Hebb = 0 at the start of each episode. The plastic connection is the
hidden-to-candidate weight (PyTorch's ``weight_hh`` rows of g, stored transposed as ``w`` (pre, post),
like every :class:`~plasticity_utils.plastic.PlasticConnection`): presynaptic activity h(t-1), postsynaptic
activity the candidate g(t). This is the choice of the authors' released plastic LSTM (Miconi et al., ICLR
2019, "Backpropamine", ``awd-lstm-lm/mylstm.py`` in ``uber-research/differentiable-plasticity``), whose
comments read "we replace h2c / Whg / Uc with a plastic connection composed of w, alpha and hebb" and, of the
"output in the Hebbian product of input by output", "Better to leave it at 'i2c'" (input to cell: the
candidate); without neuromodulation its "decay" trace is Eq. 2. The gates' recurrent
weights ``U_i, U_f, U_o`` stay fixed within an episode. With ``alpha="none"`` (or alpha = 0) the step is
PyTorch's LSTM cell (:meth:`PlasticLSTM.from_lstm` copies an ``nn.LSTM``'s weights; the same equations, summed in
another order: equal to 1e-13 in float64, outputs and gradients, ``tests/test_plastic_lstm.py``).

The released code also offers an alpha per postsynaptic neuron, neuromodulated eta and trace clipping;
they are not here: the alpha modes, rules and eta are those of the project's plastic layer.

Whole episodes run as a loop of steps differentiated by autograd (the reference implementation), which
keeps one trace per step: memory O(T * B * n^2). Plain tensor operations only, so ``torch.func.vmap``
(:class:`~plasticity_utils.batched.Runs`) batches independent runs along a leading run axis.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .plastic import AlphaMode, Init, PlasticConnection, Rule

State = tuple[Tensor, Tensor, Tensor | None]


class PlasticLSTM(nn.Module):
    """An LSTM with a plastic hidden-to-candidate connection (the module docstring's equations).

    Parameters
    ----------
    n_inputs, hidden: sizes of x(t) and of h(t), c(t).
    rule: ``"hebb"`` (Eq. 2) or ``"oja"`` (Eq. 3), applied with pre = h(t-1) and post = g(t).
    alpha: ``"per_connection"``, ``"shared"`` or ``"none"`` (a plain LSTM), as in
        :class:`~plasticity_utils.plastic.PlasticConnection`.
    eta, learn_eta: the plasticity rate (initial value; trained when ``learn_eta``).
    alpha_init, init_scale: alpha's initialisation, as in ``PlasticConnection`` (normal, times 0.01).

    The fixed weights start as PyTorch's LSTM: uniform on [-1/sqrt(hidden), 1/sqrt(hidden)], including the
    plastic connection's ``w``; one bias per gate row (``nn.LSTM`` has two, ``bias_ih + bias_hh``).

    Parameters: ``weight_ih`` (4 hidden, n_inputs), rows i, f, g, o; ``weight_hh`` (3 hidden, hidden), rows
    i, f, o (the gates' U); ``bias`` (4 hidden); ``connection``, the plastic ``PlasticConnection(hidden,
    hidden)``: ``connection.w`` (hidden, hidden) is U_g transposed, and ``connection.alpha``,
    ``connection.eta``.

    ``lstm(inputs)`` runs whole episodes: ``inputs`` (B, T, n_inputs) gives h(1..T) and c(1..T), both
    (B, T, hidden), and Hebb after the last step (B, hidden, hidden) (``None`` without plasticity); an
    episode continues from ``state=(h, c, hebb)``. :meth:`step` is one time step, for closed-loop models.

    Example: 4 episodes of 6 steps, a loss on the last hidden state, and backpropagation.

    >>> import torch
    >>> from plasticity_utils import PlasticLSTM
    >>> _ = torch.manual_seed(0)
    >>> lstm = PlasticLSTM(3, 8, rule="oja", alpha="per_connection")
    >>> hs, cs, hebb = lstm(torch.randn(4, 6, 3))
    >>> hs.shape, cs.shape, hebb.shape
    (torch.Size([4, 6, 8]), torch.Size([4, 6, 8]), torch.Size([4, 8, 8]))
    >>> hs[:, -1].pow(2).mean().backward()
    >>> sorted(name for name, p in lstm.named_parameters() if p.grad is not None)
    ['bias', 'connection.alpha', 'connection.eta', 'connection.w', 'weight_hh', 'weight_ih']
    >>> state = lstm.step(torch.randn(4, 3), (hs[:, -1], cs[:, -1], hebb))  # one more step: (h, c, Hebb)
    >>> [tuple(s.shape) for s in state]
    [(4, 8), (4, 8), (4, 8, 8)]
    """

    def __init__(
        self,
        n_inputs: int,
        hidden: int,
        *,
        rule: Rule = "hebb",
        alpha: AlphaMode = "per_connection",
        eta: float = 0.01,
        learn_eta: bool = True,
        alpha_init: Init = "normal",
        init_scale: float = 0.01,
    ) -> None:
        super().__init__()
        if n_inputs < 1 or hidden < 1:
            raise ValueError(f"need n_inputs, hidden >= 1, got n_inputs={n_inputs}, hidden={hidden}")
        self.n_inputs, self.hidden = n_inputs, hidden
        self.connection = PlasticConnection(hidden, hidden, rule=rule, alpha=alpha, eta=eta, learn_eta=learn_eta,
                                            alpha_init=alpha_init, init_scale=init_scale)
        bound = 1 / math.sqrt(hidden)
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden, n_inputs).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden, hidden).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(4 * hidden).uniform_(-bound, bound))
        with torch.no_grad():
            self.connection.w.uniform_(-bound, bound)

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM | nn.LSTMCell, **options) -> PlasticLSTM:
        """A plastic LSTM whose fixed weights are those of ``lstm`` (one layer, one direction, with biases):
        ``weight_ih`` as it is, ``weight_hh``'s i, f, o rows, its g rows transposed as ``connection.w``, and
        ``bias = bias_ih + bias_hh``. ``options`` go to the constructor (``rule``, ``alpha``, ...); the
        result has ``lstm``'s dtype and device. With ``alpha="none"`` it computes what ``lstm`` computes."""
        if isinstance(lstm, nn.LSTM):
            if lstm.num_layers != 1 or lstm.bidirectional or not lstm.bias or lstm.proj_size:
                raise ValueError("from_lstm takes a one-layer, one-direction nn.LSTM with biases and no projection")
            w_ih, w_hh, b_ih, b_hh = lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0
        elif isinstance(lstm, nn.LSTMCell):
            if not lstm.bias:
                raise ValueError("from_lstm takes an nn.LSTMCell with biases")
            w_ih, w_hh, b_ih, b_hh = lstm.weight_ih, lstm.weight_hh, lstm.bias_ih, lstm.bias_hh
        else:
            raise TypeError(f"from_lstm takes an nn.LSTM or nn.LSTMCell, got {type(lstm).__name__}")
        hidden = lstm.hidden_size
        new = cls(lstm.input_size, hidden, **options).to(device=w_ih.device, dtype=w_ih.dtype)
        i, f, g, o = w_hh.detach().chunk(4, dim=0)
        with torch.no_grad():
            new.weight_ih.copy_(w_ih)
            new.weight_hh.copy_(torch.cat([i, f, o]))
            new.connection.w.copy_(g.t())
            new.bias.copy_(b_ih + b_hh)
        return new

    @property
    def plastic(self) -> bool:
        return self.connection.plastic

    def initial_state(self, batch: int) -> State:
        """h(0) = 0, c(0) = 0 and Hebb = 0 (``None`` without plasticity), one of each per episode."""
        h = self.weight_ih.new_zeros(batch, self.hidden)
        trace = self.connection.initial_trace(batch) if self.plastic else None
        return h, torch.zeros_like(h), trace

    def step(self, inputs: Tensor, state: State | None = None) -> State:
        """One time step: (h(t), c(t), Hebb(t+1)) from x(t) = ``inputs`` (B, n_inputs) and the state
        (h(t-1), c(t-1), Hebb(t)), ``None`` for rest."""
        if inputs.dim() != 2 or inputs.shape[1] != self.n_inputs:
            raise ValueError(f"inputs must be (batch, {self.n_inputs}), got {tuple(inputs.shape)}")
        state = self._checked_state(state, inputs.shape[0])
        return self._step(inputs @ self.weight_ih.t() + self.bias, *state)

    def forward(self, inputs: Tensor, state: State | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """A whole episode: ``inputs`` (B, T, n_inputs) -> h(1..T) (B, T, hidden), c(1..T) (B, T, hidden) and
        the trace after the last step (B, hidden, hidden) (``None`` without plasticity). ``state``: (h, c, Hebb)
        to continue from, ``None`` (default) for rest."""
        if inputs.dim() != 3 or inputs.shape[2] != self.n_inputs:
            raise ValueError(f"inputs must be (batch, time, {self.n_inputs}), got {tuple(inputs.shape)}")
        h, c, hebb = self._checked_state(state, inputs.shape[0])
        drive = inputs @ self.weight_ih.t() + self.bias  # the input part of every step at once, (B, T, 4 hidden)
        hs, cs = [], []
        for t in range(inputs.shape[1]):
            h, c, hebb = self._step(drive[:, t], h, c, hebb)
            hs.append(h)
            cs.append(c)
        return torch.stack(hs, 1), torch.stack(cs, 1), hebb

    def _step(self, drive: Tensor, h: Tensor, c: Tensor, hebb: Tensor | None) -> State:
        """The module docstring's step from the input part ``drive`` = W x(t) + b (B, 4 hidden), rows i, f, g, o."""
        i_x, f_x, g_x, o_x = drive.chunk(4, dim=-1)
        i_h, f_h, o_h = (h @ self.weight_hh.t()).chunk(3, dim=-1)
        g = torch.tanh(g_x + self.connection(h, hebb))  # Eq. 1: pre = h(t-1)
        c = torch.sigmoid(f_x + f_h) * c + torch.sigmoid(i_x + i_h) * g
        new_h = torch.sigmoid(o_x + o_h) * torch.tanh(c)
        if self.plastic:
            hebb = self.connection.update(hebb, h, g)  # Eq. 2 / 3: pre = h(t-1), post = g(t)
        return new_h, c, hebb

    def _checked_state(self, state: State | None, batch: int) -> State:
        if state is None:
            return self.initial_state(batch)
        if not isinstance(state, tuple) or len(state) != 3:
            raise ValueError("state must be a tuple (h, c, hebb) or None")
        h, c, hebb = state
        expected = (batch, self.hidden)
        if tuple(h.shape) != expected or tuple(c.shape) != expected:
            raise ValueError(f"state's h and c must be {expected}, got {tuple(h.shape)} and {tuple(c.shape)}")
        if self.plastic and (hebb is None or tuple(hebb.shape) != (batch, self.hidden, self.hidden)):
            got = None if hebb is None else tuple(hebb.shape)
            raise ValueError(f"state's hebb must be {(batch, self.hidden, self.hidden)}, got {got}")
        if not self.plastic and hebb is not None:
            raise ValueError("a non-plastic LSTM (alpha='none') takes no trace: state's hebb must be None")
        return h, c, hebb

    def extra_repr(self) -> str:
        return f"{self.n_inputs} -> {self.hidden}"
