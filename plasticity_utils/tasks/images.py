"""Natural-image memorisation episodes (NIPS 2017 workshop Fig. 3; ICML 2018 §4.2).

Images are CIFAR-10 pictures in grayscale (sum of R, G, B), each made zero-mean and divided by its
largest absolute value, so every pixel lies in [-1, 1]. An episode shows ``n_images`` images
``cycles`` times, each time in a fresh random order, each image for ``show`` steps followed by
``gap`` steps of zero input; then one of the images with one contiguous half (top or bottom, at
random) zeroed is shown for ``test_show`` steps (3 x 3 x (20 + 2) + 3 = 201 steps). The network must
output the erased half at the last step. :class:`RandomErasureTask` erases pixels drawn at random instead.

Inputs *clamp* the neurons they touch: a neuron whose input is non-zero outputs that input (see
:class:`~plasticity_utils.plastic.PlasticRecurrent`, ``input_mode="clamp"``). The last input column is
the bias neuron, clamped to 1 on every step. Clamping is decided by ``input != 0``, so a pixel that is
exactly 0 after normalisation would silently be left free while its image is shown. :func:`grayscale`
therefore moves exact zeros to ``ZERO_NUDGE`` (1e-6): such pixels are clamped like all the others,
and the change is far below anything the loss can see. Only erased pixels and gap steps are 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ..validation import check, label
from .patterns import presentation_inputs

ZERO_NUDGE = 1e-6  # exact zeros become this, so that every shown pixel clamps its neuron


@dataclass(frozen=True)
class ImageTask:
    side: int = 32  # images are side x side pixels (CIFAR-10: 32)
    n_images: int = 3
    cycles: int = 3
    show: int = 20
    gap: int = 2
    test_show: int = 3

    def __post_init__(self) -> None:
        check(self, counts=("side", "n_images", "cycles", "show", "test_show"), non_negative=("gap",))
        if self.side < 2 or self.side % 2:
            raise ValueError(f"{label(self)}: side must be even and >= 2 (the probe erases half the rows), "
                             f"got {self.side}")

    @property
    def n_pixels(self) -> int:
        return self.side * self.side

    @property
    def steps(self) -> int:
        return self.cycles * self.n_images * (self.show + self.gap) + self.test_show

    def erase(self, batch: int, generator: torch.Generator) -> Tensor:
        """The pixels zeroed in each probe, (B, n_pixels) bool: one contiguous half, the top or the bottom
        (one draw per episode)."""
        bottom = torch.rand(batch, generator=generator) < 0.5  # erase the bottom half, else the top half
        lower = torch.arange(self.n_pixels) >= self.n_pixels // 2  # row-major: the second half is the bottom
        return torch.where(bottom.unsqueeze(1), lower, ~lower)


@dataclass(frozen=True)
class RandomErasureTask(ImageTask):
    """The same episodes with a harder erasure (a question of the ICML 2018 course summary's critique): a
    ``fraction`` of the pixels drawn at random in each probe, independently of where they lie in the image."""

    fraction: float = 0.5  # of the pixels erased: 0.5 erases as many as the half-image erasure

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self, open_unit=("fraction",))

    def erase(self, batch: int, generator: torch.Generator) -> Tensor:
        """round(fraction x n_pixels) pixels per probe, uniformly at random: the ranks of i.i.d. uniforms."""
        ranks = torch.rand(batch, self.n_pixels, generator=generator).argsort(-1).argsort(-1)
        return ranks < round(self.fraction * self.n_pixels)


class Episode(NamedTuple):
    inputs: Tensor  # (B, steps, n_pixels + 1); the last column is the bias input, always 1
    target: Tensor  # (B, n_pixels): the full version of the probed image
    erased: Tensor  # (B, n_pixels) bool: the half of the probe that was zeroed
    stored: Tensor  # (B, n_images, n_pixels): the images of the episode, in their first order
    probe: Tensor  # (B, n_pixels): the half-erased image shown at the end


class ImagePools(NamedTuple):
    train: Tensor  # (N_train, n_pixels) preprocessed training images
    test: Tensor  # (N_test, n_pixels) preprocessed test images, never used for training


def grayscale(images: np.ndarray) -> Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, H*W): R + G + B, minus the image's mean, divided by its
    largest absolute value (a constant image becomes all 0 before the nudge); exact zeros are
    replaced by ``ZERO_NUDGE`` so that every pixel of a shown image clamps its neuron."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images (N, H, W, 3), got shape {images.shape}")
    return normalise(images.astype(np.float64).sum(-1).reshape(len(images), -1))


def normalise(gray: np.ndarray) -> Tensor:
    """Gray levels (N, n_pixels) -> float32 (N, n_pixels) as the episodes show them: minus each image's mean,
    divided by its largest absolute value, exact zeros moved to ``ZERO_NUDGE`` (see :func:`grayscale`)."""
    gray = np.array(gray, dtype=np.float64).reshape(len(gray), -1)
    gray -= gray.mean(1, keepdims=True)
    peak = np.abs(gray).max(1, keepdims=True)
    gray = np.divide(gray, peak, out=np.zeros_like(gray), where=peak > 0)
    gray[gray == 0] = ZERO_NUDGE
    return torch.from_numpy(gray.astype(np.float32))


def image_episode(task: ImageTask, pool: Tensor, batch: int, generator: torch.Generator,
                  probe: Literal["stored", "novel"] = "stored") -> Episode:
    """Sample ``batch`` episodes from the preprocessed images ``pool`` (N, n_pixels).

    Each episode uses ``n_images`` distinct images of the pool, drawn uniformly. ``probe="novel"`` is
    a control, not the task: the probe is then a further image that was *not* shown in the episode,
    so nothing stored can help; with the same generator state both modes show the same images and
    erase the same half.
    """
    if probe not in ("stored", "novel"):
        raise ValueError(f"probe={probe!r} is not 'stored' or 'novel'")
    if pool.dim() != 2 or pool.shape[1] != task.n_pixels:
        raise ValueError(f"pool must be (N, {task.n_pixels}), got {tuple(pool.shape)}")
    if len(pool) < task.n_images + 1:
        raise ValueError(f"pool holds {len(pool)} images, an episode needs {task.n_images} + 1")
    index = torch.stack([torch.randperm(len(pool), generator=generator)[: task.n_images + 1] for _ in range(batch)])
    stored, unseen = pool[index[:, :-1]], pool[index[:, -1]]  # (B, n_images, n_pixels), (B, n_pixels)
    rows = torch.arange(batch)
    inputs, t = presentation_inputs(stored, task.cycles, task.show, task.gap, task.test_show, generator)
    which = torch.randint(task.n_images, (batch,), generator=generator)
    target = stored[rows, which] if probe == "stored" else unseen
    erased = task.erase(batch, generator)
    probe = target.masked_fill(erased, 0.0)
    inputs[:, t:, :-1] = probe.unsqueeze(1)
    return Episode(inputs, target, erased, stored, probe)


def reconstruction_loss(output: Tensor, target: Tensor, erased: Tensor) -> Tensor:
    """Summed squared error over the erased pixels, per episode (B,). The papers sum over all
    pixels, but the clamped ones equal their target and contribute nothing."""
    return ((output - target) ** 2 * erased).sum(-1)


def erased_correlation(output: Tensor, target: Tensor, erased: Tensor) -> Tensor:
    """Pearson correlation between output and target over the erased pixels, per episode (B,).
    NaN where the output is constant there (e.g. the all-zeros baseline): it is undefined."""
    mask = erased.to(output.dtype)
    count = mask.sum(-1, keepdim=True)
    o = output - (output * mask).sum(-1, keepdim=True) / count
    g = target - (target * mask).sum(-1, keepdim=True) / count
    cov = (o * g * mask).sum(-1)
    var_o, var_g = (o * o * mask).sum(-1), (g * g * mask).sum(-1)
    scale = (var_o * var_g).sqrt()
    return torch.where(var_o > 1e-12 * count.squeeze(-1), cov / scale, torch.full_like(cov, float("nan")))
