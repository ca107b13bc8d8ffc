"""The network, its training on image episodes, and the stored runs (the CIFAR-10 pools they draw from)."""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ...batched import Generators, Runs, finish_runs, stack, train_runs
from ...data import DataRef, folder_key, load_cifar10, loaded
from ...environment import data_dir, peak_memory_mb, pick_device, results_dir
from ...plastic import PlasticRecurrent
from ...tasks.images import ImagePools, ImageTask, grayscale, image_episode, reconstruction_loss
from ...training import Job, RunStore, trainer_of
from .config import Config, EXPERIMENT, TRAINED, profile_config


def build(config: Config) -> PlasticRecurrent:
    """N = pixels + 1 bias neuron, clamped inputs; w and alpha 0.01 N(0,1), eta learned from 0.01."""
    return PlasticRecurrent(
        config.task.n_pixels + 1, input_mode="clamp", rule=config.rule, alpha=config.alpha,
        eta=config.eta, learn_eta=config.learn_eta,
    )


def final_output(net: PlasticRecurrent | Runs, inputs: Tensor, impl: str = "fused") -> Tensor:
    """The pixel neurons at the last step, (..., B, n_pixels), for ``inputs`` (..., B, T, N) on the network's
    device (a leading run axis with :class:`~plasticity_utils.batched.Runs`)."""
    xs, _ = net(inputs, impl=impl)
    return xs[..., -1, :-1]


def train_seeds(config: Config, seeds: list[int], checkpoint: Path | None, device: torch.device,
                pools: ImagePools | DataRef, progress: bool = True) -> list[tuple[dict, dict]]:
    """Train one network per seed (all as one model over a run axis, :func:`~plasticity_utils.batched.train_runs`;
    one seed: the network itself) on training images (``pools.train``; a :class:`~plasticity_utils.data.DataRef`
    loads the pools where this runs: :func:`pools_ref`); per update record each run's loss, the zeros
    baseline's loss on the same episodes (so curves can be read as a fraction of it) and eta."""
    pools = loaded(pools)

    def step(_: int, net: Runs, gens: Generators):
        episodes = [image_episode(config.task, pools.train, config.batch, g) for g in gens]
        inputs, target, erased = (stack(getattr(e, k) for e in episodes).to(device)
                                  for k in ("inputs", "target", "erased"))
        losses = reconstruction_loss(final_output(net, inputs, config.impl), target, erased).mean(-1)
        zero_loss = reconstruction_loss(torch.zeros_like(target), target, erased).mean(-1)
        eta = net.parameter("connection.eta").detach().cpu().reshape(-1)
        return losses, {"zero_loss": zero_loss.tolist(), "eta": eta.tolist()}

    gap = "" if config.task.gap == ImageTask().gap else f", {config.task.gap} zero steps"
    erasure = "" if type(config.task) is ImageTask else f", {type(config.task).__name__}"
    desc = (f"{config.alpha} alpha{gap}{erasure}, {len(pools.train)} images, seed{'s' * (len(seeds) > 1)} "
            f"{', '.join(map(str, seeds))}")
    net, histories, (seconds, _) = train_runs(
        seeds, lambda: build(config), lambda net: torch.optim.Adam(net.parameters(), lr=config.lr), step,
        config.episodes // config.batch, device=device, checkpoint=checkpoint, desc=desc, progress=progress)
    updates = max(1, len(histories[0]))
    records = [{**{key: [h[key] for h in history] for key in Config.RECORD_KEYS},
                "seconds_per_episode": seconds / len(seeds) / updates,  # wall time per update, this run's share
                "episodes_timed": len(history), "peak_memory_mb": peak_memory_mb(device), "device": str(device)}
               for history in histories]
    return finish_runs(net, seeds, records, seconds, device)


def trainer(config: Config, device: str | None = None,
            pools: ImagePools | DataRef | None = None) -> functools.partial:
    """A picklable ``train(seeds, checkpoint)`` for one config (:func:`train_seeds`): the device is picked and the
    pools (default: every class, :func:`pools_ref`) are loaded where it runs."""
    return trainer_of(train_seeds, config, device, pools=pools_ref() if pools is None else pools)


def train_variants(profile: str, variants: tuple[str, ...] = TRAINED, seeds: list[int] | None = None,
                   force: bool = False, device: str | None = None,
                   pools: ImagePools | DataRef | None = None) -> dict[str, list[dict]]:
    """Train (or load) every seed of each variant at ``profile``, one run per call (on the CPU, every variant's
    runs go to the worker processes together); returns each variant's stored records."""
    source = pools_ref() if pools is None else pools  # the CIFAR-10 pools: a task loads them where it runs
    jobs = []
    for variant in variants:
        config, default_seeds = stored_config(profile, variant, loaded(source))
        jobs.append(Job(default_seeds if seeds is None else seeds, config, trainer(config, device, source),
                        f"{variant}-"))
    records = RunStore(results_dir(EXPERIMENT, profile)).train(jobs, force=force)
    return dict(zip(variants, records))


def image_pools(root: Path | str, classes: tuple[int, ...] | None = None) -> ImagePools:
    """Preprocessed CIFAR-10 train and test images from ``root`` (whatever subset is present;
    :func:`~plasticity_utils.tasks.images.grayscale`); with ``classes`` (CIFAR-10 label numbers), only
    the images of those classes."""
    pools = []
    for split in ("train", "test"):
        images, labels = load_cifar10(Path(root), split)
        if classes is not None:
            images = images[np.isin(labels, classes)]
        pools.append(grayscale(images))
    return ImagePools(*pools)


def pools_ref(root: Path | None = None, classes: tuple[int, ...] | None = None) -> DataRef:
    """The preprocessed CIFAR-10 pools of ``root`` (default ``data_dir()``; only ``classes``, if given) as a
    training task carries them: loaded (:func:`image_pools`) once per process where it runs."""
    return DataRef(image_pools, (folder_key(root or data_dir()), classes))


def stored_config(profile: str, variant: str, pools: ImagePools) -> tuple[Config, list[int]]:
    """The config a run is stored under (the profile's, with the size of the training pool) and seeds."""
    config, seeds, _ = profile_config(profile, variant)
    return replace(config, train_images=len(pools.train)), seeds


def trained(profile: str, variant: str, seed: int = 0, device: str | None = None,
            pools: ImagePools | None = None) -> PlasticRecurrent:
    """The stored network of one variant (:data:`TRAINED`) and seed (train it first with :func:`run`)."""
    config, _ = stored_config(profile, variant, pools if pools is not None else pools_ref().load())
    return stored_network(RunStore(results_dir(EXPERIMENT, profile)), config, seed, f"{variant}-", device)


def stored_network(store: RunStore, config: Config, seed: int, tag: str, device: str | None = None
                   ) -> PlasticRecurrent:
    """The network of a run of ``store`` (its ``config``, ``seed`` and ``tag``), in evaluation mode."""
    net = build(config)
    net.load_state_dict(store.params(seed, config, tag=tag))
    return net.to(pick_device(device)).eval()
