"""Held-out scoring: the networks and the memory-free predictors on the same episodes of CIFAR-10 test images."""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from ...plastic import PlasticRecurrent
from ...stats import paired_difference
from ...tasks.images import Episode, ImagePools, ImageTask, erased_correlation, image_episode, reconstruction_loss
from .config import TEXT_VARIANT, profile_config
from .runs import final_output, trained


EVAL_SEED = 20_171_204  # held-out episodes: the same stream for every network and baseline
EVAL_BATCH = 10


CONTROL = "per_connection alpha, probe not stored (control)"
BASELINES = ("zeros (no memory)", "mean training image (no memory)")


def text_schedule_scores(profile: str, seed: int, device: str | None, pools: ImagePools,
                         episodes: int) -> dict:
    """The text-gap network (:data:`TEXT_VARIANT`) on held-out episodes of its own schedule, beside the two
    memory-free baselines and its unstored-probe control on the same episodes: ``scores`` and ``differences``
    (the network minus each, paired over episodes), as :func:`run` gives them for the released gap."""
    config, _, _ = profile_config(profile, TEXT_VARIANT)
    outputs = predictors({"network": trained(profile, TEXT_VARIANT, seed, device, pools)}, pools)
    scores, differences = memory_scores(outputs, "network", config.task, pools.test, episodes)
    return {"scores": scores, "differences": differences}


def memory_scores(outputs: dict[str, Predictor], network: str, task: ImageTask, test_pool: Tensor,
                  episodes: int) -> tuple[dict, dict]:
    """Every predictor of ``outputs`` on the same held-out episodes, and ``network`` on the same episodes with
    an unstored probe (:data:`CONTROL`); then ``network`` minus each other predictor, paired over episodes
    (mean and 95% half-width)."""
    scores = {name: evaluate(predict, task, test_pool, episodes) for name, predict in outputs.items()}
    scores[CONTROL] = evaluate(outputs[network], task, test_pool, episodes, probe="novel")
    loss = scores[network]["loss"]
    return scores, {name: paired_difference(loss, s["loss"]) for name, s in scores.items() if name != network}


# --------------------------------------------------------------------------- held-out evaluation
Predictor = Callable[[Episode], Tensor]  # an episode batch -> predicted pixels (B, n_pixels) on the CPU


def held_out_episodes(task: ImageTask, test_pool: Tensor, episodes: int, seed: int = EVAL_SEED,
                      batch: int = EVAL_BATCH, probe: str = "stored") -> Iterator[Episode]:
    """The held-out episodes, from test images only: the same ones on every call with the same arguments
    (``probe="novel"``: the same episodes, but the probe is an image that was not stored)."""
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, episodes, batch):
        yield image_episode(task, test_pool, min(batch, episodes - start), generator, probe)  # type: ignore[arg-type]


def network_predictor(net: PlasticRecurrent) -> Predictor:
    @torch.no_grad()
    def predict(ep: Episode) -> Tensor:
        return final_output(net, ep.inputs.to(net.connection.w.device)).cpu()
    return predict


def constant_predictor(image: Tensor) -> Predictor:
    """Predicts the same image whatever the episode: zeros, or the mean training image."""
    return lambda ep: image.expand_as(ep.target)


def evaluate(predict: Predictor, task: ImageTask, test_pool: Tensor, episodes: int,
             seed: int = EVAL_SEED, probe: str = "stored") -> dict[str, np.ndarray]:
    """Per held-out episode: reconstruction loss and Pearson correlation on the erased half.

    ``probe="novel"`` scores the memory control: the same episodes with a probe that was never
    stored, which a network can only complete from the visible half and image statistics."""
    losses, corrs = [], []
    for ep in held_out_episodes(task, test_pool, episodes, seed, probe=probe):
        out = predict(ep)
        losses.append(reconstruction_loss(out, ep.target, ep.erased))
        corrs.append(erased_correlation(out, ep.target, ep.erased))
    return {"loss": torch.cat(losses).double().numpy(), "corr": torch.cat(corrs).double().numpy()}


def neighbour_predictor(side: int, sweeps: int | None = None) -> Predictor:
    """A memory-free inpainting: every erased pixel becomes the mean of its 4 neighbours, the shown pixels
    held at their values, repeated ``sweeps`` times (default ``side``) from zeros (Jacobi sweeps of Laplace's
    equation). It completes an image from its visible pixels alone, which suits scattered erasures far better
    than a contiguous half."""
    sweeps = side if sweeps is None else sweeps

    def predict(ep: Episode) -> Tensor:
        shown = ~ep.erased.reshape(-1, 1, side, side)
        image = ep.probe.reshape(-1, 1, side, side).double()
        ones = torch.ones_like(image)
        kernel = image.new_tensor([[0, 1, 0], [1, 0, 1], [0, 1, 0]]).reshape(1, 1, 3, 3)
        count = torch.nn.functional.conv2d(ones, kernel, padding=1)  # neighbours inside the image: 2, 3 or 4
        estimate = image
        for _ in range(sweeps):
            mean = torch.nn.functional.conv2d(estimate, kernel, padding=1) / count
            estimate = torch.where(shown, image, mean)
        return estimate.reshape(ep.probe.shape).to(ep.probe.dtype)
    return predict


def predictors(nets: dict[str, PlasticRecurrent], pools: ImagePools) -> dict[str, Predictor]:
    """The trained networks followed by the two memory-free baselines."""
    out = {name: network_predictor(net) for name, net in nets.items()}
    out["zeros (no memory)"] = constant_predictor(torch.zeros(pools.train.shape[1]))
    out["mean training image (no memory)"] = constant_predictor(pools.train.mean(0))
    return out


def held_out_table(scores: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """One row per predictor: mean loss (with its 95% interval) and mean correlation on the erased half."""
    rows = []
    for name, s in scores.items():
        n = len(s["loss"])
        corr = s["corr"][~np.isnan(s["corr"])]
        rows.append({
            "predictor": name,
            "loss": s["loss"].mean(),
            "loss 95% ±": 1.96 * s["loss"].std(ddof=1) / np.sqrt(n) if n > 1 else float("nan"),
            "correlation": corr.mean() if corr.size else float("nan"),
            "episodes": n,
        })
    return pd.DataFrame(rows).set_index("predictor")
