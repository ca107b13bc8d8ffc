"""Speed and memory of the plastic recurrent layer: fused (recomputing backward) vs reference (autograd).

Runs each implementation in its own process (so peak memory is its own) on full training episodes
(forward + backward through all steps) and prints episodes/s and peak resident memory side by side.
Defaults are the 1000-bit task: N = 1001 neurons, T = 106 steps, batch 1, 2 threads. The CIFAR ablation's
update at cpu (notebook 03): ``--n 1025 --steps 201 --batch 16 --clamp --impls fused [--alpha shared]``.

    python benchmarks/plastic_layer.py [--n 1001] [--steps 106] [--batch 1] [--episodes 5] [--threads 2]
        [--alpha per_connection|shared] [--clamp] [--impls reference fused]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def measure(impl: str, n: int, steps: int, batch: int, episodes: int, threads: int, rule: str,
            alpha: str = "per_connection", clamp: bool = False) -> dict:
    import torch

    from plasticity_utils.plastic import PlasticRecurrent

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = PlasticRecurrent(n, rule=rule, alpha=alpha, input_mode="clamp" if clamp else "add")
    inputs = torch.sign(torch.randn(batch, steps, n))
    # clamping: as the image episodes, a third of the neurons clamped at each step, the rest free
    inputs = inputs * (torch.rand(batch, steps, n) < 1 / 3) if clamp else 20 * inputs
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def episode() -> None:
        xs, _ = net(inputs, impl=impl)
        (xs[:, -1] ** 2).sum().backward()

    episode()  # warm-up (allocator, thread pool)
    start = time.perf_counter()
    for _ in range(episodes):
        episode()
    seconds = (time.perf_counter() - start) / episodes
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"impl": impl, "s_per_call": seconds, "peak_mb": peak_mb, "base_mb": base_mb}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1001)
    p.add_argument("--steps", type=int, default=106)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--episodes", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rule", default="hebb", choices=["hebb", "oja"])
    p.add_argument("--alpha", default="per_connection", choices=["per_connection", "shared"])
    p.add_argument("--clamp", action="store_true", help="clamping inputs (the image task) instead of added ones")
    p.add_argument("--impls", nargs="+", default=["reference", "fused"], choices=["reference", "fused"])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        print(json.dumps(measure(a.worker, a.n, a.steps, a.batch, a.episodes, a.threads, a.rule, a.alpha, a.clamp)))
        return
    print(f"plastic layer: N={a.n}, T={a.steps}, batch={a.batch}, rule={a.rule}, {a.alpha} alpha, "
          f"{'clamping' if a.clamp else 'added'} inputs, {a.threads} threads, {a.episodes} timed calls "
          f"(forward + backward of the batch) after one warm-up")
    rows = {}
    for impl in a.impls:
        args = [sys.executable, __file__, "--worker", impl] + [f"--{k}={v}" for k, v in
                [("n", a.n), ("steps", a.steps), ("batch", a.batch), ("episodes", a.episodes),
                 ("threads", a.threads), ("rule", a.rule), ("alpha", a.alpha)]] + ["--clamp"] * a.clamp
        rows[impl] = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        r = rows[impl]
        print(f"  {impl:9s}  {a.batch / r['s_per_call']:6.2f} episodes/s  ({r['s_per_call']:.3f} s per call of "
              f"{a.batch})"
              f"  peak RSS {r['peak_mb']:7.0f} MB  (of which {r['peak_mb'] - r['base_mb']:6.0f} MB above the "
              f"{r['base_mb']:.0f} MB after import)")
    if len(rows) < 2:
        return
    speedup = rows["reference"]["s_per_call"] / rows["fused"]["s_per_call"]
    memory = rows["fused"]["peak_mb"] / rows["reference"]["peak_mb"]
    print(f"fused vs reference: {speedup:.2f}x episodes/s (target >= 2), {memory:.3f}x peak memory (target <= 0.25)")


if __name__ == "__main__":
    main()
