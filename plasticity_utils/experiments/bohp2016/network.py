"""The networks of Miconi 2016: one plastic layer of tanh units, for a batch of independent runs.

Eq. 2   y_j(t) = tanh( sum_i [w_ij + alpha_ij * Hebb_ij(t)] * x_i(t) + b_j )
Eq. 1   Hebb_ij(t+1) = (1 - gamma) * Hebb_ij(t) + gamma * x_i(t) * y_j(t)       (Hebb(0) = 0)

Pattern completion (§4.2): 8 inputs -> 8 plastic tanh outputs. One-shot / reversal (§4.3-4.4):
10 inputs -> 2 plastic tanh hidden units -> 2-way softmax (fixed weights). The paper derives the
gradients analytically (§3, Eq. 3-4); here autograd computes them, and ``tests/test_bohp2016.py``
checks the paper's recursive derivation against autograd.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...plastic import hebb_update
from ...tasks.bohp2016 import CompletionTask, Episode
from .sampling import PURPOSE_INIT, stream
from .variants import N_HIDDEN, TASKS, Config


class PlasticNets(nn.Module):
    """``runs`` independent networks with one plastic tanh layer (Eq. 1-2) and an optional fixed
    softmax readout. Parameters have a leading ``runs`` dimension:

    w, alpha: (runs, n_in, n_plastic); b: (runs, n_plastic); v: (runs, n_plastic, n_out); c: (runs, n_out).
    Each run is initialised from its own seed's stream and computed from its own slices alone, so the runs
    train as one model without ``vmap`` (:class:`plasticity_utils.batched.Runs` with ``native=True``).
    """

    def __init__(self, seeds: list[int], n_in: int, n_plastic: int, n_out: int | None, gamma: float,
                 init_scale: float = 0.1) -> None:
        super().__init__()
        if not seeds:
            raise ValueError("need at least one seed")
        if not 0 < gamma < 1:
            raise ValueError(f"gamma must lie in (0, 1), got {gamma}")
        self.gamma = gamma
        self.n_in, self.n_plastic, self.n_out = n_in, n_plastic, n_out
        shapes = {"w": (n_in, n_plastic), "alpha": (n_in, n_plastic), "b": (n_plastic,)}
        if n_out is not None:
            shapes |= {"v": (n_plastic, n_out), "c": (n_out,)}
        init = {k: [] for k in shapes}
        for s in seeds:  # each run drawn from its own stream, in a fixed order
            g = stream(s, PURPOSE_INIT)
            for k, shape in shapes.items():
                init[k].append(init_scale * torch.randn(shape, generator=g))
        for k, values in init.items():
            setattr(self, k, nn.Parameter(torch.stack(values)))
        if n_out is not None:
            with torch.no_grad():
                self.v.abs_()  # hidden -> output weights start positive, as in the authors' code

    @property
    def runs(self) -> int:
        return self.w.shape[0]

    def forward(self, inputs: Tensor) -> tuple[Tensor, Tensor | None]:
        """``inputs``: (runs, batch, steps, n_in). Returns the plastic layer's activity
        (runs, batch, steps, n_plastic) and the readout logits (runs, batch, steps, n_out) or None."""
        runs, batch, steps, n_in = inputs.shape
        if runs != self.runs or n_in != self.n_in:
            raise ValueError(f"inputs must be ({self.runs}, batch, steps, {self.n_in}), got {tuple(inputs.shape)}")
        hebb = inputs.new_zeros(runs * batch, n_in, self.n_plastic)  # Hebb(0) = 0, one trace per episode
        w, alpha, b = self.w.unsqueeze(1), self.alpha.unsqueeze(1), self.b.unsqueeze(1)
        ys = []
        for t in range(steps):
            x = inputs[:, :, t]  # (runs, batch, n_in)
            weight = w + alpha * hebb.view(runs, batch, n_in, self.n_plastic)  # w + alpha * Hebb(t)
            y = torch.tanh((x.unsqueeze(2) @ weight).squeeze(2) + b)  # Eq. 2
            hebb = hebb_update(hebb, x.reshape(-1, n_in), y.reshape(-1, self.n_plastic), self.gamma, "hebb")  # Eq. 1
            ys.append(y)
        ys_t = torch.stack(ys, 2)
        if self.n_out is None:
            return ys_t, None
        logits = torch.bmm(ys_t.reshape(runs, -1, self.n_plastic), self.v) + self.c.unsqueeze(1)
        return ys_t, logits.view(runs, batch, steps, self.n_out)


def build(config: Config, seeds: list[int]) -> PlasticNets:
    """One network per seed for ``config``'s task (alpha clamped to >= 0 at init for the clipped ablation)."""
    task = TASKS[config.task]
    if isinstance(task, CompletionTask):
        nets = PlasticNets(seeds, task.n_in, task.n_out, None, config.gamma, config.init_scale)
    else:
        nets = PlasticNets(seeds, task.n_in, N_HIDDEN, task.n_out, config.gamma, config.init_scale)
    if config.clip_alpha:
        with torch.no_grad():
            nets.alpha.clamp_(min=0)
    return nets


def step_errors(nets: nn.Module, episode: Episode) -> tuple[Tensor, Tensor]:
    """Per-step error and miss rate of ``nets`` (:class:`PlasticNets`, or the ``Runs`` holding them), each
    (runs, batch, steps).

    Completion: summed squared error over the 8 outputs, and the fraction of outputs whose sign is
    wrong. Label tasks: cross-entropy of the softmax, and 1 where its most probable label is wrong.
    """
    hidden, logits = nets(episode.inputs)
    if logits is None:
        error = ((hidden - episode.targets) ** 2).sum(-1)
        miss = (torch.sign(hidden) != episode.targets).float().mean(-1)
    else:
        error = F.cross_entropy(logits.flatten(0, 2), episode.targets.flatten(), reduction="none")
        error = error.view(episode.targets.shape)
        miss = (logits.argmax(-1) != episode.targets).float()
    return error, miss
