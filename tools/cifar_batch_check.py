"""Does the CIFAR experiment (notebook 03) learn as well per episode seen in batches as one at a time?

The paper profile of :mod:`plasticity_utils.experiments.natural_images` cannot train the authors' 100,000
one-episode updates per variant on one GPU in minutes (0.142 s per update on an H100 (benchmarks/README.md): ~4 h per
variant), so it would take them in batches. This trains the ``cpu`` profile's per-connection network
(seed 0, the same 1,500 episodes) once at the papers' batch 1, lr 1e-4, and once per ``--batch`` at the
square-root-scaled rate (:func:`~plasticity_utils.training.sqrt_scaled_lr`, the rule
the 50-bit baselines use), and prints each run's training loss as a fraction of the zeros baseline's
loss over the last ``--window`` episodes seen, at a few points along the way.

    python tools/cifar_batch_check.py --batch 16 [--episodes 1500] [--json out.json]

Each run trains in its own process (one thread each) so two runs share a 2-core machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def train(batch: int, lr: float, episodes: int, seed: int) -> dict:
    import torch

    from plasticity_utils.environment import data_dir
    from plasticity_utils.experiments import natural_images as ni

    torch.set_num_threads(1)
    pools = ni.image_pools(data_dir())
    config = dataclasses.replace(ni.PROFILES["cpu"].configs["per_connection"], episodes=episodes - episodes % batch,
                                 batch=batch, lr=lr, train_images=len(pools.train))
    ((record, _),) = ni.train_seeds(config, [seed], None, torch.device("cpu"), pools, progress=False)
    return {"batch": batch, "lr": lr, "updates": len(record["loss"]), "loss": record["loss"],
            "zero_loss": record["zero_loss"], "seconds_per_update": record["seconds_per_episode"]}


def fraction(run: dict, episodes: int, window: int) -> float:
    """Loss / zeros-baseline loss over the ``window`` episodes seen before ``episodes``."""
    b = run["batch"]
    last, first = episodes // b, max(0, (episodes - window) // b)
    return float(np.sum(run["loss"][first:last]) / np.sum(run["zero_loss"][first:last]))


def main(argv: list[str] | None = None) -> None:
    from plasticity_utils.training import sqrt_scaled_lr

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[16])
    parser.add_argument("--episodes", type=int, default=1500)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    plans = [(1, 1e-4)] + [(b, sqrt_scaled_lr(1e-4, b)) for b in args.batch]
    with ProcessPoolExecutor(2) as pool:
        runs = list(pool.map(train, *zip(*plans), [args.episodes] * len(plans), [args.seed] * len(plans)))
    points = [p for p in (250, 500, 1000, 1500, 3000, 10_000) if p <= args.episodes]
    print(f"per-connection alpha, seed {args.seed}: training loss / zeros baseline, last {args.window} episodes seen")
    print(f"{'batch':>5s} {'lr':>8s} {'s/update':>9s} " + " ".join(f"{p:>7,d}" for p in points))
    for r in runs:
        print(f"{r['batch']:5d} {r['lr']:8.1e} {r['seconds_per_update']:9.3f} "
              + " ".join(f"{fraction(r, p, args.window):7.3f}" for p in points))
    if args.json:
        args.json.write_text(json.dumps(runs))


if __name__ == "__main__":
    main()
