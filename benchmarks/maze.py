"""Speed and memory of the grid maze (ICML 2018 §4.4): episodes/s of the environment alone and of a
full A2C update (closed-loop rollout + open-loop replay + backward + Adam) for each condition.

Each condition runs in its own process so that its peak memory (resident set size, and CUDA memory
when a GPU is used) is its own. CPU time is printed next to wall time: on a shared machine wall time
depends on the load, CPU time much less.

    python benchmarks/maze.py [--updates 3] [--batch 30] [--threads N] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from plasticity_utils.batched import Runs
from plasticity_utils.environment import pick_device
from plasticity_utils.experiments import maze as mz
from plasticity_utils.tasks.maze import MazeBatch, MazeTask


def bench_env(batch: int, episodes: int, device: torch.device) -> dict:
    """Random actions, no network: the cost of the environment itself."""
    g = torch.Generator().manual_seed(0)
    env = MazeBatch(MazeTask(), batch, [g], device)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(max(1, episodes // batch)):
        env.reset()
        while not env.done:
            env.step(torch.randint(4, env.shape, generator=g))
    n = max(1, episodes // batch) * batch
    return {"batch": batch, "episodes_per_s": n / (time.perf_counter() - wall),
            "episodes_per_cpu_s": n / (time.process_time() - cpu)}


def bench_update(condition: str, batch: int, updates: int, device: torch.device) -> dict:
    """Seconds per A2C update of ``batch`` episodes of one run (the agent itself, as training calls it),
    split into rollout and replay+backward+step."""
    cfg = mz.Config(condition=condition, batch=batch)
    torch.manual_seed(0)
    net = Runs([mz.build(cfg)]).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, eps=cfg.adam_eps)
    env = MazeBatch(cfg.task, batch, [torch.Generator().manual_seed(0)], device)
    times = {"rollout": 0.0, "learn": 0.0, "cpu": 0.0}
    for i in range(updates + 1):  # the first update warms up and is not timed
        t0, c0 = time.perf_counter(), time.process_time()
        ep = mz.rollout(net, env)
        t1 = time.perf_counter()
        logits, values = net.call("replay", ep.obs)
        losses, _ = mz.a2c_loss(logits, values, ep.actions, ep.rewards, cfg)
        opt.zero_grad()
        losses.sum().backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i:
            times["rollout"] += t1 - t0
            times["learn"] += time.perf_counter() - t1
            times["cpu"] += time.process_time() - c0
    total = times["rollout"] + times["learn"]
    out = {"condition": condition, "batch": batch, "s_per_update": total / updates,
           "rollout_s": times["rollout"] / updates, "replay_backward_s": times["learn"] / updates,
           "cpu_s_per_update": times["cpu"] / updates, "episodes_per_s": batch * updates / total,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if device.type == "cuda":
        out["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=3, help="timed updates per condition")
    parser.add_argument("--batch", type=int, default=30, help="episodes per update (30 as in the authors' code)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    if args.child:
        print(json.dumps(bench_update(args.child, args.batch, args.updates, device)))
        return

    print(f"device={device}, torch threads={torch.get_num_threads()}, 250 steps per episode")
    print("\nenvironment alone (random actions):")
    for batch in (1, 30, 300):
        r = bench_env(batch, max(batch, 60), device)
        print(f"  batch {batch:4d}: {r['episodes_per_s']:8.1f} episodes/s  ({r['episodes_per_cpu_s']:8.1f} per CPU-s)")
    print(f"\nfull A2C update, batch {args.batch}, mean of {args.updates} updates after one warm-up:")
    for condition in mz.CONDITIONS:
        cmd = [sys.executable, __file__, "--child", condition, "--updates", str(args.updates),
               "--batch", str(args.batch)] + (["--threads", str(args.threads)] if args.threads else []) + (
               ["--device", args.device] if args.device else [])
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        mem = f"peak RSS {r['peak_rss_mb']:.0f} MB" + (f", CUDA {r['peak_cuda_mb']:.0f} MB" if "peak_cuda_mb" in r else "")
        print(f"  {condition:12s} {r['s_per_update']:6.2f} s/update (rollout {r['rollout_s']:.2f}, "
              f"replay+backward+step {r['replay_backward_s']:.2f}; CPU {r['cpu_s_per_update']:.2f} s)  "
              f"{r['episodes_per_s']:6.1f} episodes/s  {mem}")


if __name__ == "__main__":
    main()
