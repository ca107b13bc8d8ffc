"""The network (a fixed convolutional embedding and a plastic output layer) and its episodes.

    y(t) = softmax( sum_i [w_ij + alpha_ij * Hebb_ij(t)] x_i(t) + 1000 * l_j(t) )
    Hebb_ij(t+1) = Hebb_ij(t) + eta * y_j(t) * (x_i(t) - y_j(t) * Hebb_ij(t))         (Oja, Eq. 3)
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...batched import Runs, stack
from ...plastic import PlasticConnection
from ...tasks.omniglot import Episode, OmniglotTask, omniglot_episode
from .config import Config


class OmniglotNet(nn.Module):
    """Conv embedding + plastic output layer (see the module docstring)."""

    def __init__(self, n_way: int = 5, filters: int = 64, label_scale: float = 1000.0, eta: float = 0.01) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for k in range(4):
            layers += [nn.Conv2d(1 if k == 0 else filters, filters, 3, stride=2), nn.Tanh()]
        self.embed = nn.Sequential(*layers, nn.Flatten())
        self.out = PlasticConnection(filters, n_way, rule="oja", alpha="per_connection", w_init="normal",
                                     alpha_init="uniform", eta=eta, learn_eta=True, init_scale=0.01)
        self.label_scale = label_scale

    def embedding(self, images: Tensor) -> Tensor:
        """(B, T, 31, 31) -> (B, T, filters); all steps go through the convolutions at once."""
        b, t, h, w = images.shape
        return self.embed(images.reshape(b * t, 1, h, w)).reshape(b, t, -1)

    def step(self, x: Tensor, label: Tensor, hebb: Tensor) -> tuple[Tensor, Tensor]:
        """One step: y = softmax(x (w + alpha * Hebb) + 1000 * label), then Oja's rule with pre = x, post = y."""
        y = torch.softmax(self.out(x, hebb) + self.label_scale * label, dim=-1)
        return y, self.out.update(hebb, x, y)

    def forward(self, images: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Run whole episodes from Hebb = 0: ``images`` (B, T, H, W), ``labels`` (B, T, n_way).
        Returns the outputs y(1..T) as (B, T, n_way) and the final trace."""
        xs = self.embedding(images)
        hebb = self.out.initial_trace(images.shape[0])
        ys = []
        for t in range(images.shape[1]):
            y, hebb = self.step(xs[:, t], labels[:, t], hebb)
            ys.append(y)
        return torch.stack(ys, 1), hebb

    def loss(self, images: Tensor, labels: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Binary cross-entropy between the test step's output and the one-hot ``target`` (B,), averaged over
        episodes and outputs, and which episodes were right (B,): the argmax of the test step is the target."""
        ys, _ = self(images, labels)
        y = ys[:, -1]
        loss = F.binary_cross_entropy(y.clamp(1e-7, 1 - 1e-7), F.one_hot(target, y.shape[-1]).to(y.dtype))
        return loss, y.argmax(-1) == target


def build(config: Config) -> OmniglotNet:
    return OmniglotNet(config.task.n_way, config.filters, config.label_scale, config.eta)


def episode_loss(net: Runs, ep: Episode, device: torch.device) -> tuple[Tensor, Tensor]:
    """Per run, on episodes stacked along a leading run axis: :meth:`OmniglotNet.loss` (runs,) and which
    episodes were right (runs, B)."""
    return net.call("loss", ep.images.to(device), ep.labels.to(device), ep.target.to(device))


def run_episodes(images: Tensor, classes: Sequence[Tensor], task: OmniglotTask, batch: int,
                 generators: Iterable[torch.Generator]) -> Episode:
    """``batch`` episodes per run, run r's from ``classes[r]`` drawn with its own generator, stacked along a
    leading run axis: (runs, batch, ...)."""
    eps = [omniglot_episode(images, c, task, batch, g) for c, g in zip(classes, generators)]
    return Episode(*(stack([getattr(e, f) for e in eps]) for f in Episode._fields))


@torch.no_grad()
def evaluate(net: Runs, images: Tensor, classes: Sequence[Tensor], task: OmniglotTask, episodes: int,
             generators: Sequence[torch.Generator], device: torch.device, batch: int = 500) -> np.ndarray:
    """(runs, episodes): run r correct (1) or wrong (0) on each of ``episodes`` episodes built only from
    ``classes[r]``, drawn with ``generators[r]`` in chunks of ``batch``; no gradient."""
    correct = []
    for start in range(0, episodes, batch):
        ep = run_episodes(images, classes, task, min(batch, episodes - start), generators)
        correct.append(episode_loss(net, ep, device)[1].cpu())
    return torch.cat(correct, 1).numpy().astype(int)


def eval_generator(seed: int, point: int) -> torch.Generator:
    """Episode sampler for evaluation ``point`` of run ``seed`` (-1: the final evaluation), independent of
    training's sampler, so that resuming a run or changing the curve's spacing never changes the episodes."""
    state = np.random.SeedSequence([seed, point + 1, 0x0E7A]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(state))


def score_generator(seed: int, class_set: int) -> torch.Generator:
    """Episode sampler for :func:`score` of run ``seed`` on class set number ``class_set``: independent of
    training's sampler and of the learning curve's, fixed by the seed alone."""
    state = np.random.SeedSequence([seed, class_set, 0x5C0E]).generate_state(1)[0]
    return torch.Generator().manual_seed(int(state))
