"""The two optimisers of the experiment: Adam (ours) and the 2016 paper's clipped RMSprop with an L1 penalty.

What the paper gives. Its text (arXiv:1609.02228, §4.1 "Applying BOHP") says only that at the end of
each episode "the errors and gradients at each timestep are used to update network parameters (weights
and plasticity coefficients) according to error backpropagation and gradient descent": it names no
optimiser, and gives no step size, decay or epsilon. The 2016 training, as this project records it, used
a hand-written RMSprop whose every update is clipped to +-0.01, with an L1 penalty of 1e-4 on w, alpha
and the output weights; those two numbers are used here as given.

What we chose. RMSprop's decay 0.9 (Tieleman & Hinton's 2012 lecture, which introduced RMSprop),
epsilon 1e-8 added to the root mean square, a mean square that starts at 0 without bias correction (as
torch's RMSprop), the L1 penalty as part of the loss (its gradient enters the mean square like the loss
gradient's; 0 at exactly 0), no penalty on the biases, and the step size of each variant's config
(0.01 for one-shot and reversal, as our Adam runs). The loss it minimises is the episode's error summed
over the scored steps (runs.train_runs), our reading of §4.1 ("the errors and gradients at each timestep
are used"), where our Adam runs take the mean. This matters: RMSprop's steps do not depend on the loss's
scale, so the penalty's weight is only defined relative to it, and against the mean error (16-18 times
smaller for one-shot and reversal) the same 1e-4 drove w, alpha and the readout of every reversal run to
~0 within the first episodes, where the loss gradients are still tiny (4 of 4 runs stuck at chance
after 3,000 episodes, seeds 0-3), while against the summed error those runs learn as without a penalty.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..contract import Reported
from .network import PlasticNets
from .variants import Config

PAPER_OPTIMISER = Reported("parameters updated at the end of each episode 'according to error backpropagation and "
                           "gradient descent'; no optimiser, step size, decay or epsilon given",
                           "Miconi 2016, arXiv:1609.02228, §4.1")
RECORDED_OPTIMISER = Reported("hand-written RMSprop, every update clipped to +-0.01, L1 penalty 1e-4 on w, alpha "
                              "and the output weights",
                              "this project's audit of the 2016 experiments (issue 11); not in the paper's text")
RMSPROP2016 = {"decay": 0.9, "eps": 1e-8, "clip": 0.01, "l1": 1e-4}  # clip and l1: as recorded; decay, eps: ours


class RMSprop2016(torch.optim.Optimizer):
    """RMSprop with every update clipped to ``[-clip, clip]`` and an L1 penalty ``l1 * |theta|``.

    Per element, with g the gradient of the loss::

        g     <- g + l1 * sign(theta)                    (the penalty's gradient)
        m     <- decay * m + (1 - decay) * g^2           (m starts at 0)
        theta <- theta - clamp(lr * g / (sqrt(m) + eps), -clip, clip)

    ``l1`` (like the other settings) can differ between parameter groups. Every operation is per
    element, so a batch of independent runs trains exactly as each run alone.
    """

    def __init__(self, params, lr: float = 0.01, decay: float = RMSPROP2016["decay"], eps: float = RMSPROP2016["eps"],
                 clip: float = RMSPROP2016["clip"], l1: float = 0.0) -> None:
        for name, value in {"lr": lr, "eps": eps, "clip": clip}.items():
            if not value > 0:
                raise ValueError(f"RMSprop2016: {name} must be > 0, got {value}")
        if not 0 <= decay < 1 or not l1 >= 0:
            raise ValueError(f"RMSprop2016: need 0 <= decay < 1 and l1 >= 0, got decay={decay}, l1={l1}")
        super().__init__(params, {"lr": lr, "decay": decay, "eps": eps, "clip": clip, "l1": l1})

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + group["l1"] * torch.sign(p) if group["l1"] else p.grad
                state = self.state[p]
                if not state:
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                m = state["square_avg"]
                m.mul_(group["decay"]).addcmul_(g, g, value=1 - group["decay"])
                update = (g / (m.sqrt() + group["eps"])).mul_(group["lr"]).clamp_(-group["clip"], group["clip"])
                p.sub_(update)
        return loss


class _ClampsToNonNegative:
    """Optimiser mixin: after each step, ``p <- max(p, 0)`` for the tensors in ``clipped``
    (projection onto non-negative plasticity coefficients, the paper's clipped-alpha ablation)."""

    def __init__(self, params, clipped: list[Tensor], **kwargs) -> None:
        super().__init__(params, **kwargs)  # type: ignore[call-arg]
        self.clipped = clipped

    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)  # type: ignore[misc]
        for p in self.clipped:
            p.clamp_(min=0)
        return loss


class ClippedAdam(_ClampsToNonNegative, torch.optim.Adam):
    """Adam, then ``alpha <- max(alpha, 0)``."""


class ClippedRMSprop2016(_ClampsToNonNegative, RMSprop2016):
    """:class:`RMSprop2016`, then ``alpha <- max(alpha, 0)``."""


def make_optimizer(config: Config, nets: PlasticNets) -> torch.optim.Optimizer:
    """``config``'s optimiser over ``nets``' parameters. rmsprop2016 penalises w, alpha and the readout
    weights v (for completion, whose plastic layer is the output layer: w and alpha), not the biases."""
    clipped = [nets.alpha] if config.clip_alpha else []
    if config.optimizer == "adam":
        if clipped:
            return ClippedAdam(nets.parameters(), clipped, lr=config.lr)
        return torch.optim.Adam(nets.parameters(), lr=config.lr)
    penalised = [p for name, p in nets.named_parameters() if name in ("w", "alpha", "v")]
    free = [p for name, p in nets.named_parameters() if name not in ("w", "alpha", "v")]
    groups = [{"params": penalised, "l1": RMSPROP2016["l1"]}, {"params": free, "l1": 0.0}]
    if clipped:
        return ClippedRMSprop2016(groups, clipped, lr=config.lr)
    return RMSprop2016(groups, lr=config.lr)


def describe(config: Config) -> str:
    """The optimiser of ``config`` in words, for budgets and printouts."""
    if config.optimizer == "adam":
        return f"Adam lr {config.lr:g}"
    r = RMSPROP2016
    return (f"2016 RMSprop: step {config.lr:g}, decay {r['decay']:g}, updates clipped to +-{r['clip']:g}, "
            f"L1 {r['l1']:g} on w, alpha, readout")
