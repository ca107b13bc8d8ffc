"""The three optimisers of the experiment: Adam, our RMSprop (decay 0.9, L1 in the loss) and the released one.

What the paper gives. Its text (arXiv:1609.02228, §4.1 "Applying BOHP") says only that at the end of
each episode "the errors and gradients at each timestep are used to update network parameters (weights
and plasticity coefficients) according to error backpropagation and gradient descent": it names no
optimiser, and gives no step size, decay or epsilon.

What the authors' released scripts do (github.com/ThomasMiconi/LearningToLearnBOHP: reversal/reversal.py,
oneshot/oneshot.py, completion/completion.py, the same update in each; :class:`ReleasedRMSprop2016`): a
hand-written RMSprop over w, alpha, the readout and the biases whose mean square decays by 0.99
(``mem += .01 * (dparam * dparam - mem)``) and is set to g^2 at the first episode (``if episode == 0: mem
+= dparam * dparam``), with 1e-8 added under the root (``np.sqrt(mem + 1e-8)``), every update clipped to
``MAXDW`` (``np.clip(-ETA * delta, -MAXDW, MAXDW)``), then a separate L1 step ``WPEN * sign`` on w, alpha
and the readout, not on the biases (``alpha -= WPEN * np.sign(alpha)``, decoupled from the loss), in
completion.py with an L2 step ``WPEN2 * theta`` as well. Step sizes per task (the scripts' defaults, which
their README calls the paper's): one-shot and reversal ETA 0.01, MAXDW 0.01, WPEN 1e-4; completion ETA
0.03, MAXDW 0.1, WPEN 1e-3, WPEN2 1e-4 (:data:`RELEASED2016`). The loss is the episode's error summed
over its scored steps (the learning-period errors are zeroed), as in our RMSprop.

Our RMSprop (:class:`RMSprop2016`, the ``rmsprop2016`` variants) came first, from an earlier record of the
2016 training (an RMSprop with updates clipped to +-0.01 and an L1 penalty 1e-4 on w, alpha and the output
weights); its other settings are ours and differ from the released ones, so it is named as ours. Its
decay 0.9 (Tieleman & Hinton's 2012 lecture, which introduced RMSprop),
epsilon 1e-8 added to the root mean square, a mean square that starts at 0 without bias correction (as
torch's RMSprop), the L1 penalty as part of the loss (its gradient enters the mean square like the loss
gradient's; 0 at exactly 0), no penalty on the biases, and the step size of each variant's config
(0.01 for one-shot and reversal, as our Adam runs). The loss it minimises is the episode's error summed
over the scored steps (runs.episode_losses), our reading of §4.1 ("the errors and gradients at each timestep
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
RELEASED_CODE = "authors' released code, github.com/ThomasMiconi/LearningToLearnBOHP"
RELEASED_OPTIMISER = Reported("hand-written RMSprop: mean square decaying by 0.99, set to g^2 at the first episode, "
                              "1e-8 under the root; every update clipped (MAXDW); then an L1 step WPEN * sign(theta) "
                              "on w, alpha and the readout, not in the loss; one-shot / reversal: step 0.01, clip 0.01, "
                              "L1 1e-4; completion: step 0.03, clip 0.1, L1 1e-3 and an L2 step 1e-4",
                              f"{RELEASED_CODE}: reversal/reversal.py, oneshot/oneshot.py, completion/completion.py")
RMSPROP2016 = {"decay": 0.9, "eps": 1e-8, "clip": 0.01, "l1": 1e-4}  # ours: clip and l1 as recorded; decay, eps ours
# The released optimiser's settings per task: the defaults of each released script (their ETA is the config's lr,
# which equals it: 0.03 completion, 0.01 the others). decay 0.99, eps 1e-8 under the root: all three scripts.
RELEASED2016 = {
    "completion": {"clip": 0.1, "l1": 1e-3, "l2": 1e-4},  # completion.py: MAXDW .1, WPEN 1e-3, WPEN2 1e-4
    "one_shot": {"clip": 0.01, "l1": 1e-4, "l2": 0.0},  # oneshot.py: MAXDW .01, WPEN 1e-4
    "reversal": {"clip": 0.01, "l1": 1e-4, "l2": 0.0},  # reversal.py: MAXDW .01, WPEN 1e-4
}
RELEASED_DECAY, RELEASED_EPS = 0.99, 1e-8
# How figures and claims name each optimiser (the variants' name suffixes: "", "_rmsprop2016", "_released2016").
OPTIMISER_LABELS = {"adam": "Adam", "rmsprop2016": "our RMSprop (decay 0.9, L1 in the loss)",
                    "released2016": "released RMSprop (decay 0.99, L1 step)"}


class _ClippedRMSprop(torch.optim.Optimizer):
    """The loop both RMSprop variants share: per element, a mean square ``m`` of the gradient, the step
    ``lr * g / denominator(m)`` clipped to ``[-clip, clip]``; the subclasses say how ``g`` and ``m`` start
    and what follows the step. Every operation is per element, so a batch of independent runs trains
    exactly as each run alone."""

    def __init__(self, params, defaults: dict) -> None:
        name = type(self).__name__
        for key in ("lr", "eps", "clip"):
            if not defaults[key] > 0:
                raise ValueError(f"{name}: {key} must be > 0, got {defaults[key]}")
        if not 0 <= defaults["decay"] < 1 or any(defaults.get(k, 0) < 0 for k in ("l1", "l2")):
            raise ValueError(f"{name}: need 0 <= decay < 1 and penalties >= 0, got "
                             + ", ".join(f"{k}={v}" for k, v in defaults.items() if k in ("decay", "l1", "l2")))
        super().__init__(params, defaults)

    def _gradient(self, p: Tensor, group: dict) -> Tensor:
        return p.grad

    def _first_square(self, g: Tensor, group: dict) -> Tensor:
        raise NotImplementedError

    def _denominator(self, m: Tensor, eps: float) -> Tensor:
        raise NotImplementedError

    def _after_step(self, p: Tensor, group: dict) -> None:
        pass

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
                g, state = self._gradient(p, group), self.state[p]
                if not state:
                    state["square_avg"] = self._first_square(g, group)
                else:
                    state["square_avg"].mul_(group["decay"]).addcmul_(g, g, value=1 - group["decay"])
                update = (g / self._denominator(state["square_avg"], group["eps"])).mul_(group["lr"])
                p.sub_(update.clamp_(-group["clip"], group["clip"]))
                self._after_step(p, group)
        return loss


class RMSprop2016(_ClippedRMSprop):
    """RMSprop with every update clipped to ``[-clip, clip]`` and an L1 penalty ``l1 * |theta|`` in the loss
    (our reading of the 2016 text, before the released scripts were checked).

    Per element, with g the gradient of the loss::

        g     <- g + l1 * sign(theta)                    (the penalty's gradient)
        m     <- decay * m + (1 - decay) * g^2           (m starts at 0)
        theta <- theta - clamp(lr * g / (sqrt(m) + eps), -clip, clip)

    ``l1`` (like the other settings) can differ between parameter groups.
    """

    def __init__(self, params, lr: float = 0.01, decay: float = RMSPROP2016["decay"], eps: float = RMSPROP2016["eps"],
                 clip: float = RMSPROP2016["clip"], l1: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "decay": decay, "eps": eps, "clip": clip, "l1": l1})

    def _gradient(self, p: Tensor, group: dict) -> Tensor:
        return p.grad + group["l1"] * torch.sign(p) if group["l1"] else p.grad

    def _first_square(self, g: Tensor, group: dict) -> Tensor:
        m = torch.zeros_like(g, memory_format=torch.preserve_format)
        return m.addcmul_(g, g, value=1 - group["decay"])  # the first update of an m starting at 0

    def _denominator(self, m: Tensor, eps: float) -> Tensor:
        return m.sqrt() + eps


class ReleasedRMSprop2016(_ClippedRMSprop):
    """The optimiser of the authors' released 2016 scripts (reversal/reversal.py, oneshot/oneshot.py,
    completion/completion.py), written from their description. Per element, with g the loss gradient::

        m     <- g^2                                   (the first step)
        m     <- decay * m + (1 - decay) * g^2         (later steps; decay 0.99)
        theta <- theta - clamp(lr * g / sqrt(m + eps), -clip, clip)
        theta <- theta - l1 * sign(theta) - l2 * theta (the penalised groups: w, alpha, readout)

    The penalty is a step of its own after the gradient step, not a term of the loss: it neither enters
    the mean square nor is clipped. ``l1``/``l2`` can differ between parameter groups (0: not penalised).

    Only the optimiser is the released one: the scripts compute the plastic layer's gradients by hand,
    with the tanh derivative taken at the already squashed activity (``dyda = (1 - np.tanh(y) *
    np.tanh(y)) * dyda`` with ``y = np.tanh(...)``), where ours are exact (autograd).
    """

    def __init__(self, params, lr: float = 0.01, decay: float = RELEASED_DECAY, eps: float = RELEASED_EPS,
                 clip: float = 0.01, l1: float = 0.0, l2: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "decay": decay, "eps": eps, "clip": clip, "l1": l1, "l2": l2})

    def _first_square(self, g: Tensor, group: dict) -> Tensor:
        return g * g  # the first episode: m = g^2

    def _denominator(self, m: Tensor, eps: float) -> Tensor:
        return (m + eps).sqrt()

    def _after_step(self, p: Tensor, group: dict) -> None:
        if group["l1"] or group["l2"]:
            p.sub_(group["l1"] * torch.sign(p) + group["l2"] * p)


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


class ClippedReleasedRMSprop2016(_ClampsToNonNegative, ReleasedRMSprop2016):
    """:class:`ReleasedRMSprop2016`, then ``alpha <- max(alpha, 0)``."""


def make_optimizer(config: Config, nets: PlasticNets) -> torch.optim.Optimizer:
    """``config``'s optimiser over ``nets``' parameters. Both RMSprops penalise w, alpha and the readout
    weights v (for completion, whose plastic layer is the output layer: w and alpha), not the biases;
    released2016 with its task's clip and penalties (:data:`RELEASED2016`)."""
    clipped = [nets.alpha] if config.clip_alpha else []
    if config.optimizer == "adam":
        if clipped:
            return ClippedAdam(nets.parameters(), clipped, lr=config.lr)
        return torch.optim.Adam(nets.parameters(), lr=config.lr)
    penalised = [p for name, p in nets.named_parameters() if name in ("w", "alpha", "v")]
    free = [p for name, p in nets.named_parameters() if name not in ("w", "alpha", "v")]
    if config.optimizer == "released2016":
        r = RELEASED2016[config.task]
        groups = [{"params": penalised, "l1": r["l1"], "l2": r["l2"]}, {"params": free, "l1": 0.0, "l2": 0.0}]
        if clipped:
            return ClippedReleasedRMSprop2016(groups, clipped, lr=config.lr, clip=r["clip"])
        return ReleasedRMSprop2016(groups, lr=config.lr, clip=r["clip"])
    groups = [{"params": penalised, "l1": RMSPROP2016["l1"]}, {"params": free, "l1": 0.0}]
    if clipped:
        return ClippedRMSprop2016(groups, clipped, lr=config.lr)
    return RMSprop2016(groups, lr=config.lr)


def describe(config: Config) -> str:
    """The optimiser of ``config`` in words, for budgets and printouts."""
    if config.optimizer == "adam":
        return f"Adam lr {config.lr:g}"
    if config.optimizer == "released2016":
        r = RELEASED2016[config.task]
        l2 = f", L2 step {r['l2']:g}" if r["l2"] else ""
        return (f"released RMSprop: step {config.lr:g}, decay {RELEASED_DECAY:g} from g^2, updates clipped to "
                f"+-{r['clip']:g}, then L1 step {r['l1']:g}{l2} on w, alpha, readout")
    r = RMSPROP2016
    return (f"our RMSprop (decay {r['decay']:g}, L1 in the loss): step {config.lr:g}, updates clipped to "
            f"+-{r['clip']:g}, L1 {r['l1']:g} on w, alpha, readout")
