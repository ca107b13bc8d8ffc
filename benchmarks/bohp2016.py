"""Speed of the Miconi 2016 networks: updates per second when R runs are trained as one batch.

Prints, for each number of runs, the wall-clock and CPU time per update of the trainer's model and loss
(one episode per run through ``batched.Runs`` holding the network's native run axis, forward + backward +
the variant's optimiser step) and the episodes/s over all runs, plus the process's peak memory.
Usage: python benchmarks/bohp2016.py [--variant one_shot] [--runs 1 20 80] [--updates 200]
"""

from __future__ import annotations

import argparse
import resource
import time

from plasticity_utils.batched import Runs
from plasticity_utils.environment import pick_device
from plasticity_utils.experiments import bohp2016 as bohp
from plasticity_utils.tasks.bohp2016 import Episode
from plasticity_utils.training import fixed_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", default="one_shot", choices=list(bohp.VARIANTS))
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 20, 80])
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    device = pick_device(args.device)
    config = bohp.VARIANTS[args.variant]
    print(f"{args.variant} ({bohp.describe(config)}) on {device}: {args.updates} updates per setting")
    for runs in args.runs:
        seeds = list(range(runs))
        net = Runs([bohp.build(config, seeds)], native=True).to(device)
        optimizer = bohp.make_optimizer(config, net.module)
        e = bohp.sample_runs(bohp.TASKS[config.task], seeds, bohp.PURPOSE_TRAIN, 0, 1)
        e = Episode(e.inputs.to(device), e.targets.to(device), e.scored.to(device))
        with fixed_threads():
            for i in range(args.updates + 10):
                if i == 10:  # warm-up done
                    wall, cpu = time.perf_counter(), time.process_time()
                losses, _ = bohp.episode_losses(config, net, e)
                optimizer.zero_grad()
                losses.sum().backward()
                optimizer.step()
            wall, cpu = (time.perf_counter() - wall) / args.updates, (time.process_time() - cpu) / args.updates
        print(f"runs {runs:3d}: {wall * 1e3:6.2f} ms wall, {cpu * 1e3:6.2f} ms CPU per update "
              f"-> {runs / wall:8.0f} episodes/s")
    print(f"peak memory (max RSS): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
