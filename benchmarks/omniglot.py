"""Speed of one Omniglot training update (sample B episodes, forward, backward, Adam step), as
``om.train_seeds`` makes it for one seed (a run axis of one: the network itself).

    python benchmarks/omniglot.py [--batch 16 64 128] [--updates 10] [--threads N] [--device cpu]

Prints, per batch size, wall and process-CPU seconds per update, episodes per second and peak memory
(resident set size on the CPU, allocated memory on CUDA). On a shared machine the CPU seconds of a
single-threaded run are the steadier figure: wall time then depends on the other processes' load.
Uses the real Omniglot images when ``make data`` has been run, else random images of the same shape.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from plasticity_utils.batched import Runs
from plasticity_utils.environment import peak_memory_mb, pick_device
from plasticity_utils.experiments import omniglot as om
from plasticity_utils.tasks.omniglot import class_split


def bench(images: torch.Tensor, batch: int, updates: int, device: torch.device) -> dict:
    config = om.Config(batch=batch)
    net = Runs([om.build(config)]).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(0)
    train, _ = class_split(len(images), config.task.n_test_classes, 0)
    wall, cpu = [], []
    for i in range(updates + 2):  # two warm-up updates
        w0, c0 = time.perf_counter(), time.process_time()
        losses, _ = om.episode_loss(net, om.run_episodes(images, [train], config.task, batch, [generator]), device)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i >= 2:
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
    return {"batch": batch, "wall": float(np.median(wall)), "cpu": float(np.median(cpu)),
            "memory": peak_memory_mb(device)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    try:
        images, _ = om.load_images()
    except FileNotFoundError:
        print("Omniglot not found (run `make data`): timing on random images of the same shape")
        images = torch.rand(1623, 20, 31, 31)
    print(f"device={device}, threads={torch.get_num_threads()}, {args.updates} timed updates per batch size")
    for b in args.batch:
        r = bench(images, b, args.updates, device)
        print(f"batch {b:4d}: {r['wall']:.3f} s/update wall ({b / r['wall']:7.1f} episodes/s), "
              f"{r['cpu']:.3f} CPU s/update ({1e3 * r['cpu'] / b:.2f} CPU ms/episode), "
              f"peak memory {r['memory']:.0f} MB")


if __name__ == "__main__":
    main()
