"""Non-plastic baselines for pattern memorisation (NIPS 2017 workshop Fig. 2 right; ICML 2018 §4.1).

Both baselines read their answer from the pattern units at the last step, like the plastic network.

* :class:`RecurrentBaseline`: the papers' network without plasticity,
  ``x(t) = tanh(x(t-1) W + input(t))`` (Eq. 1 with alpha = 0), from x(0) = 0. The input drives the
  first columns; the remaining neurons are the "extra" neurons (2000 in the papers, 2051 in all).
  It is the plastic layer's episode without a trace, :func:`~plasticity_utils.plastic.recurrent_episode`
  with ``alpha=None`` (whose fused implementation has a hand-written backward).
* :class:`LSTMBaseline`: ``torch.nn.LSTM(n_inputs, hidden)``; the output is the first ``n_inputs``
  hidden units. With ``clamp=True`` those units copy the sign of their input whenever it is non-zero
  (the authors' "clamping", which makes the LSTM's input units behave like the RNNs' input neurons).
  ``impl="reference"`` computes the same LSTM step by step in plain tensor operations, which
  ``torch.func.vmap`` can batch over independent runs (``nn.LSTM`` has no batching rule).

The clamp pins, for each clamped unit k < n_inputs (PyTorch's gate order is i, f, g, o):

==========================  ==========================  =========================================
parameter entry             pinned value                effect when input k is x = +-100
==========================  ==========================  =========================================
``weight_ih[g-row k, :]``   10 at column k, 0 elsewhere cell candidate g = tanh(+-1000 + ...) = +-1
``bias_ih[i-row k]``        +10                         input gate open (i > 0 in any case)
``bias_ih[f-row k]``        -1000                       forget gate shut: f = 0, c(t) = i g
``bias_ih[g-row k]``        0                           no offset on the candidate
``bias_ih[o-row k]``        +10                         output gate open
``bias_hh[.-row k]``        0 (all four gates)          the redundant second bias is off
==========================  ==========================  =========================================

so h_k = o tanh(i g) has the sign of input k (o, i > 0) as long as the trainable drive to the
candidate and the forget gate (recurrent weights times |h| <= 1) stays far below 1000. Everything
else stays trainable, including the clamped units' recurrent weights and their input-gate,
forget-gate and output-gate input weights: when input k is zero (gaps, erased bits) the unit is free
and computes g from the recurrent state. Pinned entries get a zero gradient (a hook), so Adam never
moves them (its moments stay zero). |h_k| <= tanh(1) = 0.76 for a clamped unit, so the squared
error never reaches zero; the sign error can.

Training (:class:`BaselineConfig`, :func:`baseline_step`, :func:`train_baseline_seeds`): one update over a run
axis for both models, used by the 50-bit comparison (:mod:`.experiments.plastic_vs_lstm`) and by the 1000-bit
task's "unable to succeed ... with a non-plastic RNN or LSTM" (:mod:`.experiments.binary_patterns`). Loss: the
summed squared error of the pattern units at the last step (mean over the ``batch`` episodes of an update);
error: the fraction of wrong signs, as for the plastic network.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .batched import BatchStep, Generators, Runs, finish_runs, stack, train_runs
from .plastic import recurrent_episode
from .plastic_lstm import PlasticLSTM
from .tasks.patterns import PatternTask, pattern_episode, sign_error
from .training import Record, record_keys, trainer_of
from .validation import check, label

CLAMP_GAIN = 10.0  # weight from input k to the cell candidate of unit k
GATE_OPEN = 10.0  # bias of the input and output gates of a clamped unit
GATE_SHUT = -1000.0  # bias of the forget gate of a clamped unit


class RecurrentBaseline(nn.Module):
    """Fully recurrent tanh network without plasticity: ``x(t) = tanh(x(t-1) W + input(t))``.

    ``W`` starts at ``init_scale * N(0, 1)`` like the plastic network's ``w``. The episode is
    :func:`~plasticity_utils.plastic.recurrent_episode` with ``alpha=None``: ``impl="fused"`` runs its
    hand-written backward (one matrix product for dL/dW over the whole episode, about half the cost of
    autograd at 2051 neurons); ``impl="reference"`` is the plain autograd loop it is tested against.
    """

    def __init__(self, n: int, init_scale: float = 0.01) -> None:
        super().__init__()
        if n < 1:
            raise ValueError(f"need n >= 1, got {n}")
        self.n = n
        self.w = nn.Parameter(init_scale * torch.randn(n, n))

    def forward(self, inputs: Tensor, impl: Literal["fused", "reference"] = "fused") -> Tensor:
        """``inputs``: (B, T, k) with k <= n, added to the first k neurons. Returns x(1..T), (B, T, n)."""
        if inputs.dim() != 3 or inputs.shape[2] > self.n:
            raise ValueError(f"inputs must be (batch, time, k <= {self.n}), got {tuple(inputs.shape)}")
        return recurrent_episode(F.pad(inputs, (0, self.n - inputs.shape[2])), self.w, impl=impl)[0]


class LSTMBaseline(nn.Module):
    """``torch.nn.LSTM(n_inputs, hidden)`` read out from its first ``n_inputs`` hidden units.

    ``clamp=True`` pins the entries listed in the module docstring so that hidden unit k copies the
    sign of input k whenever that input is non-zero.
    """

    def __init__(self, n_inputs: int, hidden: int, clamp: bool = False) -> None:
        super().__init__()
        if n_inputs < 1 or hidden < n_inputs:
            raise ValueError(f"need 1 <= n_inputs <= hidden, got n_inputs={n_inputs}, hidden={hidden}")
        self.n_inputs, self.hidden, self.clamp = n_inputs, hidden, clamp
        self.lstm = nn.LSTM(n_inputs, hidden, batch_first=True)
        self._pinned: list[str] = []
        if clamp:
            for name, (mask, value) in self._clamp_entries().items():
                self.register_buffer(f"pin_mask_{name}", mask)
                self.register_buffer(f"pin_value_{name}", value)
                getattr(self.lstm, name).register_hook(self._zero_pinned_grad(name))
                self._pinned.append(name)
            self.pin_()

    def _clamp_entries(self) -> dict[str, tuple[Tensor, Tensor]]:
        """Mask and value of every pinned entry, per LSTM parameter (gate rows i, f, g, o)."""
        h, k = self.hidden, torch.arange(self.n_inputs)
        i_rows, f_rows, g_rows, o_rows = k, h + k, 2 * h + k, 3 * h + k
        w_mask = torch.zeros(4 * h, self.n_inputs, dtype=torch.bool)
        w_mask[g_rows] = True
        w_value = torch.zeros(4 * h, self.n_inputs)
        w_value[g_rows, k] = CLAMP_GAIN
        b_mask = torch.zeros(4 * h, dtype=torch.bool)
        b_mask[torch.cat([i_rows, f_rows, g_rows, o_rows])] = True
        b_ih = torch.zeros(4 * h)
        b_ih[i_rows], b_ih[f_rows], b_ih[o_rows] = GATE_OPEN, GATE_SHUT, GATE_OPEN
        return {
            "weight_ih_l0": (w_mask, w_value),
            "bias_ih_l0": (b_mask, b_ih),
            "bias_hh_l0": (b_mask.clone(), torch.zeros(4 * h)),
        }

    def _zero_pinned_grad(self, name: str):
        """Gradient hook: pinned entries get no gradient (the mask is looked up at call time so
        that it follows the module across devices)."""
        return lambda grad: grad.masked_fill(getattr(self, f"pin_mask_{name}"), 0.0)

    @torch.no_grad()
    def pin_(self) -> None:
        """(Re)write the pinned entries; a no-op without the clamp."""
        for name in self._pinned:
            p = getattr(self.lstm, name)
            mask, value = getattr(self, f"pin_mask_{name}"), getattr(self, f"pin_value_{name}")
            p.copy_(torch.where(mask, value, p))

    def forward(self, inputs: Tensor, impl: Literal["native", "reference"] = "native") -> Tensor:
        """``inputs``: (B, T, n_inputs). Returns the hidden states h(1..T), (B, T, hidden), from zero
        initial hidden and cell states. ``impl="native"`` runs ``nn.LSTM`` (cuDNN on a GPU);
        ``"reference"`` runs :meth:`reference`."""
        if inputs.dim() != 3 or inputs.shape[2] != self.n_inputs:
            raise ValueError(f"inputs must be (batch, time, {self.n_inputs}), got {tuple(inputs.shape)}")
        if impl == "native":
            return self.lstm(inputs)[0]
        if impl != "reference":
            raise ValueError(f"impl={impl!r} is not one of ('native', 'reference')")
        return self.reference(inputs)

    def reference(self, inputs: Tensor) -> Tensor:
        """PyTorch's LSTM equations, one step at a time (gate order i, f, g, o)::

            (i, f, g, o) = x(t) W_ih^T + b_ih + h(t-1) W_hh^T + b_hh
            c(t) = sigmoid(f) c(t-1) + sigmoid(i) tanh(g);   h(t) = sigmoid(o) tanh(c(t))

        With the clamp, the pinned entries are read through ``torch.where(mask, value, p)``: the same
        values as the pinned parameter, and no gradient reaches them (no hook needed, so it holds under
        ``vmap``, where the hooks on this module's own parameters do not see the batched copies)."""
        lstm = self.lstm
        w_ih, b_ih, b_hh = lstm.weight_ih_l0, lstm.bias_ih_l0, lstm.bias_hh_l0
        if self.clamp:
            w_ih, b_ih, b_hh = (torch.where(getattr(self, f"pin_mask_{name}"), getattr(self, f"pin_value_{name}"), p)
                                for name, p in (("weight_ih_l0", w_ih), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)))
        drive = inputs @ w_ih.t() + (b_ih + b_hh)  # (B, T, 4 hidden): the input part of every step at once
        h = c = inputs.new_zeros(inputs.shape[0], self.hidden)
        hs = []
        for t in range(inputs.shape[1]):
            i, f, g, o = (drive[:, t] + h @ lstm.weight_hh_l0.t()).chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
        return torch.stack(hs, 1)

    def extra_repr(self) -> str:
        return f"clamp={self.clamp}"


class PlasticLSTMBaseline(nn.Module):
    """:class:`~plasticity_utils.plastic_lstm.PlasticLSTM` read out from its first ``n_inputs`` hidden units, as
    :class:`LSTMBaseline` is (no clamp): an LSTM with a plastic hidden-to-candidate connection (per-connection
    alpha, the decaying Hebbian rule, eta learned from 0.01). Its episode is plain tensor operations, so one
    implementation serves one run and, under ``vmap``, several."""

    def __init__(self, n_inputs: int, hidden: int) -> None:
        super().__init__()
        if n_inputs < 1 or hidden < n_inputs:
            raise ValueError(f"need 1 <= n_inputs <= hidden, got n_inputs={n_inputs}, hidden={hidden}")
        self.n_inputs, self.hidden = n_inputs, hidden
        self.lstm = PlasticLSTM(n_inputs, hidden)

    def forward(self, inputs: Tensor, impl: Literal["fused", "reference"] = "fused") -> Tensor:
        """``inputs``: (B, T, n_inputs). Returns h(1..T), (B, T, hidden); ``impl`` is accepted for the
        other baselines' sake (both names run the same step loop)."""
        return self.lstm(inputs)[0]


def n_trainable(module: nn.Module) -> int:
    """Trainable parameters, not counting the entries the clamp pins."""
    total = sum(p.numel() for p in module.parameters() if p.requires_grad)
    pinned = sum(int(b.sum()) for n, b in module.named_buffers() if n.split(".")[-1].startswith("pin_mask_"))
    return total - pinned


# The reduced task the papers' baselines were run on: 2 patterns of 50 bits, 3 steps on, 1 off, one cycle,
# the test pattern for 3 steps (NIPS 2017 §3.2).
TASK = PatternTask(n_bits=50, n_patterns=2, cycles=1, show=3, gap=1, test_show=3)


class BaselineRecord(Record):
    """A baseline's run: one entry per update (``batch`` episodes)."""

    error: list[float]  # fraction of wrong signs of the pattern units at the last step (mean over the episodes)
    loss: list[float]  # summed squared error of the pattern units at the last step (mean over the episodes)


MODELS = ("rnn", "lstm", "plastic_lstm")
LSTMS = ("lstm", "plastic_lstm")  # read out from their first n_bits hidden units; no bias-neuron input


@dataclass(frozen=True)
class BaselineConfig:
    RECORD_KEYS: ClassVar[tuple[str, ...]] = record_keys(BaselineRecord)  # what a stored run must hold

    model: str = "rnn"  # "rnn" | "lstm" | "plastic_lstm" (PlasticLSTMBaseline)
    clamp: bool = False  # "lstm" only: pin the first n_bits units to their inputs
    task: PatternTask = field(default_factory=lambda: TASK)
    extra: int = 2000  # rnn: neurons beside the n_bits + 1 input neurons; the LSTMs: hidden units
    input_scale: float = 20.0
    lr: float = 3e-5
    episodes: int = 1000  # episodes seen (updates = episodes / batch)
    batch: int = 1  # episodes per update

    def __post_init__(self) -> None:
        check(self, types={"task": PatternTask}, choices={"model": MODELS}, flags=("clamp",),
              counts=("episodes", "batch"), non_negative=("extra",), positive=("input_scale", "lr"))
        if self.clamp and self.model != "lstm":
            raise ValueError(f"{label(self)}: clamp applies to the LSTM only")
        if self.model in LSTMS and self.extra < self.task.n_bits:
            raise ValueError(f"{label(self)}: extra (the LSTM's hidden units) must be >= n_bits={self.task.n_bits} "
                             f"(read out from its first n_bits units), got {self.extra}")
        if self.episodes % self.batch:
            raise ValueError(f"{label(self)}: episodes ({self.episodes}) must be a multiple of batch ({self.batch})")


def build_baseline(config: BaselineConfig) -> nn.Module:
    if config.model == "rnn":
        return RecurrentBaseline(config.task.n_bits + 1 + config.extra)
    if config.model == "plastic_lstm":
        return PlasticLSTMBaseline(config.task.n_bits, config.extra)
    return LSTMBaseline(config.task.n_bits, config.extra, clamp=config.clamp)


def make_optimizer(config: BaselineConfig, model: nn.Module) -> torch.optim.Adam:
    """Adam at ``config.lr``; the fused implementation (one kernel for the whole update, about 7x
    faster than the default on 4-16 million CPU parameters) where this torch build offers it."""
    try:
        return torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(model.parameters(), lr=config.lr)


def baseline_episode(config: BaselineConfig, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """``config.batch`` episodes drawn from ``generator``: the scaled inputs (batch, steps, k) and the
    targets (batch, n_bits). The LSTMs get no bias-neuron column (they have their own biases)."""
    inputs, target = pattern_episode(config.task, config.batch, generator)
    if config.model in LSTMS:
        inputs = inputs[..., :config.task.n_bits]
    return inputs * config.input_scale, target


def readout_loss(config: BaselineConfig, hidden: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
    """The pattern units at the last step, ``hidden[..., -1, :n_bits]``, against ``target`` (any leading
    axes, e.g. runs): the mean over episodes of the summed squared error, and the sign error of each episode."""
    out = hidden[..., -1, :config.task.n_bits]
    return ((out - target) ** 2).sum(-1).mean(-1), sign_error(out, target)


def baseline_step(config: BaselineConfig, device: torch.device) -> BatchStep:
    """One update of a batch of baselines (:data:`~plasticity_utils.batched.BatchStep`): each run samples
    ``config.batch`` episodes from its own generator; returns each run's mean loss (:func:`readout_loss`)
    and sign error. One run calls the module's ``forward`` (``nn.LSTM``, cuDNN on a GPU; the RNN's
    hand-written backward); several runs, under ``vmap``, its ``impl="reference"``: plain tensor operations
    that ``vmap`` can batch (``nn.LSTM`` and the hand-written backward have no batching rule), tested equal."""

    def step(_: int, net: Runs, gens: Generators) -> tuple[Tensor, dict[str, list[float]]]:
        episodes = [baseline_episode(config, g) for g in gens]
        inputs, target = (stack(e[k] for e in episodes).to(device) for k in (0, 1))
        hidden = net(inputs) if net.single else net(inputs, impl="reference")
        losses, error = readout_loss(config, hidden, target)
        return losses, {"error": error.mean(-1).tolist()}

    return step


def train_baseline_seeds(config: BaselineConfig, seeds: list[int], checkpoint: Path | None, device: torch.device,
                         progress: bool = True) -> list[tuple[dict, dict]]:
    """Train one baseline per seed (all as one model over a run axis, :func:`~plasticity_utils.batched.train_runs`;
    one seed: the module itself) with :func:`baseline_step`; each run's curve is its error and loss per update.
    The clamp holds under ``vmap`` by construction (:meth:`~plasticity_utils.baselines.LSTMBaseline.reference`)."""
    n_params = n_trainable(build_baseline(config))  # the pinned entries of the clamp do not count
    desc = f"{_name(config)} seed {seeds[0]}" if len(seeds) == 1 else f"{_name(config)} seeds {seeds[0]}-{seeds[-1]}"
    net, histories, (seconds, _) = train_runs(
        seeds, lambda: build_baseline(config), lambda net: make_optimizer(config, net), baseline_step(config, device),
        config.episodes // config.batch, device=device, checkpoint=checkpoint, desc=desc, progress=progress)
    records = [{**{key: [h[key] for h in history] for key in BaselineConfig.RECORD_KEYS}, "n_params": n_params}
               for history in histories]
    return finish_runs(net, seeds, records, seconds, device)


def baseline_trainer(config: BaselineConfig, device: str | None = None) -> functools.partial:
    """A picklable ``train(seeds, checkpoint)`` for one baseline config (the device is picked where it runs)."""
    return trainer_of(train_baseline_seeds, config, device)


def _name(config: BaselineConfig) -> str:
    return config.model + ("+clamp" if config.clamp else "")
