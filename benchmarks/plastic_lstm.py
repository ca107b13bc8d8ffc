"""Seconds per update and peak memory of the plastic LSTM against the plain LSTM and the plastic RNN at the
50-bit task's sizes, and each update's ratio to the device's floor.

    python benchmarks/plastic_lstm.py [--batches 1 8] [--updates 5] [--rule hebb] [--alpha per_connection]
                                      [--device cuda] [--threads 1] [--smoke]

One update is what training does (notebook 02, ``plastic_vs_lstm``): a batch of 50-bit episodes
(``plastic_vs_lstm.TASK``, 11 steps), the squared error of the first 50 units at the last step, backward, and an
Adam step, for each number of episodes per update (``--batches``: 1 on a CPU, where a plastic LSTM of 2000
units keeps several hidden x hidden tensors (16 MB each) per step and episode for the backward, and 1 and 32 on
CUDA). The models:

  plastic_lstm  ``PlasticLSTM(50, 2000)`` (``--rule``, ``--alpha``, eta learned), the step loop by autograd
  lstm          ``LSTMBaseline(50, 2000)``: ``nn.LSTM`` (cuDNN on a GPU), the notebook's LSTM baseline
  plastic_rnn   ``PlasticRecurrent(51)``, the size of the notebook's plastic network (the fused layer; same
                ``--rule`` and ``--alpha``)

Each (model, batch) runs in a process of its own, so its peak memory is its own: the peak resident set on a
CPU (including what torch needs after import, printed as ``base MB``), ``torch.cuda.max_memory_allocated`` on
CUDA. ``s/upd`` is the median over ``--updates`` timed updates after one warm-up. ``floor`` is
max(bytes / bandwidth, flops / matmul rate) with the device's rates measured by ``gpu.py``'s
``device_limits`` and its cost models (``gpu.py``'s docstring): the plastic RNN is one plastic N x N layer;
the plain LSTM is a dense recurrent network; the plastic LSTM is both, the dense cost for its fixed weights
and the plastic cost for its hidden x hidden trace. ``ratio`` is s/upd over the floor. A row whose process
fails (say, out of memory) is printed as FAILED and the others still run. ``--smoke`` shrinks everything
(8 bits, 16 LSTM units, batch 2, 2 updates, small rate measurements) to check that the script runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from plasticity_utils.environment import peak_memory_mb, pick_device  # noqa: E402

MODELS = ("plastic_lstm", "lstm", "plastic_rnn")


def build(model: str, n_bits: int, hidden: int, rule: str, alpha: str) -> torch.nn.Module:
    """The benchmarked network; every one maps (B, T, n_bits + 1) episodes to (B, T, units)."""
    from plasticity_utils.baselines import LSTMBaseline
    from plasticity_utils.plastic import PlasticRecurrent
    from plasticity_utils.plastic_lstm import PlasticLSTM

    if model == "plastic_lstm":
        return _DropBias(PlasticLSTM(n_bits, hidden, rule=rule, alpha=alpha))
    if model == "lstm":
        return _DropBias(LSTMBaseline(n_bits, hidden))
    if model == "plastic_rnn":
        return _First(PlasticRecurrent(n_bits + 1, rule=rule, alpha=alpha))
    raise ValueError(f"model={model!r} is not one of {MODELS}")


class _DropBias(torch.nn.Module):
    """The LSTMs take the pattern bits without the task's bias column (they have biases), as notebook 02's LSTM."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self.net(inputs[..., :-1])
        return out[0] if isinstance(out, tuple) else out


class _First(_DropBias):
    """The plastic RNN takes every column (bias included) and returns (activities, trace)."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs)[0]


def measure(model: str, task: dict, hidden: int, batch: int, updates: int, rule: str, alpha: str,
            device: torch.device) -> dict:
    """Median seconds of one training update of ``model`` on episodes of ``task`` (a ``PatternTask``'s fields)
    and the peak memory of this process."""
    from plasticity_utils.tasks.patterns import PatternTask, pattern_episode

    base_mb = peak_memory_mb(device)
    task = PatternTask(**task)
    n_bits = task.n_bits
    torch.manual_seed(0)
    net = build(model, n_bits, hidden, rule, alpha).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-5)
    generator = torch.Generator().manual_seed(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    def update() -> None:
        inputs, target = pattern_episode(task, batch, generator)
        inputs, target = (20 * inputs).to(device), target.to(device)
        out = net(inputs)
        loss = (out[:, -1, :n_bits] - target).pow(2).sum(-1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    update()  # warm-up: allocator, thread pool, Adam's state
    walls = []
    for _ in range(updates):
        sync()
        start = time.perf_counter()
        update()
        sync()
        walls.append(time.perf_counter() - start)
    params = {n: p.numel() for n, p in net.named_parameters()}
    return {"model": model, "batch": batch, "s_per_update": statistics.median(walls),
            "peak_mb": peak_memory_mb(device), "base_mb": base_mb, "params": params, "steps": task.steps}


def cost(row: dict, n_bits: int, hidden: int) -> tuple[float, float]:
    """(bytes, flops) of one update of the row's model, by ``gpu.py``'s cost models."""
    import gpu  # benchmarks/gpu.py

    steps, batch, params = row["steps"], row["batch"], row["params"]
    if row["model"] == "plastic_rnn":
        return gpu.plastic_cost(n_bits + 1, steps, batch)
    if row["model"] == "lstm":
        return gpu.dense_cost(sum(params.values()), steps, batch)
    fixed = sum(n for name, n in params.items() if not name.startswith("net.connection."))
    dense_bytes, dense_flops = gpu.dense_cost(fixed, steps, batch)
    plastic_bytes, plastic_flops = gpu.plastic_cost(hidden, steps, batch)
    return dense_bytes + plastic_bytes, dense_flops + plastic_flops


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=None,
                        help="episodes per update (default: 1 on a CPU; 1 and 32, the paper profile's, on CUDA)")
    parser.add_argument("--updates", type=int, default=5, help="timed updates per row")
    parser.add_argument("--n-bits", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=2000, help="units of the plastic and the plain LSTM")
    parser.add_argument("--rule", default="hebb", choices=["hebb", "oja"])
    parser.add_argument("--alpha", default="per_connection", choices=["per_connection", "shared"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that the script runs")
    parser.add_argument("--worker", nargs=3, metavar=("MODEL", "BATCH", "TASK"), help=argparse.SUPPRESS)
    a = parser.parse_args(argv)
    if a.smoke:
        a.batches, a.updates, a.n_bits, a.hidden = [2], 2, 8, 16
    device = pick_device(a.device)
    if a.batches is None:
        a.batches = [1, 32] if device.type == "cuda" else [1]
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.worker:
        model, batch, task = a.worker
        print(json.dumps(measure(model, json.loads(task), a.hidden, int(batch), a.updates, a.rule, a.alpha, device)))
        return

    import gpu  # benchmarks/gpu.py: the device's rates
    from plasticity_utils.experiments.plastic_vs_lstm import TASK

    task = json.dumps(dataclasses.asdict(dataclasses.replace(TASK, n_bits=a.n_bits)))

    limits = gpu.device_limits(device, *((2**20, 256) if a.smoke else ()))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; measured: copy {limits['bandwidth'] / 1e9:.1f} GB/s, "
          f"float32 matmul {limits['peak'] / 1e12:.2f} TFLOP/s")
    print(f"50-bit task sizes: {a.n_bits} bits, LSTMs of {a.hidden} units, plastic RNN of {a.n_bits + 1} neurons; "
          f"rule={a.rule}, alpha={a.alpha}; median of {a.updates} updates after one warm-up"
          + (" (--smoke: tiny sizes, the numbers mean nothing)" if a.smoke else ""))
    print(f"{'model':<14}{'batch':>6}{'s/upd':>10}{'peak MB':>10}{'base MB':>9}{'MB/upd':>10}{'GFLOP':>9}"
          f"{'floor s':>11}{'ratio':>8}")
    worker_args = [f"--hidden={a.hidden}", f"--updates={a.updates}", f"--rule={a.rule}",
                   f"--alpha={a.alpha}", f"--device={device}"] + ([f"--threads={a.threads}"] if a.threads else [])
    for batch in a.batches:
        for model in a.models:
            done = subprocess.run([sys.executable, __file__, "--worker", model, str(batch), task, *worker_args],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"{model:<14}{batch:>6}  FAILED: {last[:150]}", flush=True)
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            bytes_, flops = cost(row, a.n_bits, a.hidden)
            floor = max(bytes_ / limits["bandwidth"], flops / limits["peak"])
            print(f"{model:<14}{batch:>6}{row['s_per_update']:>10.4f}{row['peak_mb']:>10.0f}{row['base_mb']:>9.0f}"
                  f"{bytes_ / 1e6:>10.1f}{flops / 1e9:>9.3f}{floor:>11.6f}{row['s_per_update'] / floor:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
