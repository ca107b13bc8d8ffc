"""Episodes per second and peak memory of the non-plastic baselines of notebook 02.

One training update (episode sampling, forward, backward, Adam step) of the 2051-neuron recurrent
network and the 2000-unit LSTM on the 50-bit task (11 steps per episode), for several numbers of
episodes per update. The recurrent network is timed twice: the dedicated
``baselines.RecurrentBaseline`` (hand-written backward) and ``PlasticRecurrent(2051, alpha="none")``
(plain autograd loop). The update is training's (``plastic_vs_lstm.baseline_step`` on one run, Adam fused
where available: ``plastic_vs_lstm.make_optimizer``). Peak memory is the process's peak RSS (CPU) or
``torch.cuda.max_memory_allocated`` (CUDA) after each configuration, so CPU values only grow.
"CPU ms/ep" is process CPU time per episode summed over threads: on a shared machine it is the
better measure of cost (the wall clock also counts time spent waiting for the cores).

    python benchmarks/baselines.py [--batches 1 8 32 64] [--seconds 10] [--threads 1] [--device cuda]
"""

from __future__ import annotations

import argparse
import time

import torch

from plasticity_utils.batched import Generators, Runs
from plasticity_utils.environment import peak_memory_mb, pick_device
from plasticity_utils.experiments import plastic_vs_lstm as pvl
from plasticity_utils.plastic import PlasticRecurrent


def time_updates(config: pvl.BaselineConfig, device: torch.device, seconds: float,
                 model=None) -> tuple[float, float]:
    """Wall-clock episodes per second of ``config``'s training update, measured for about
    ``seconds`` of process CPU time, and the process CPU seconds per episode (all threads; unaffected by other
    processes competing for the cores, unlike the wall clock)."""
    generators = Generators([torch.Generator().manual_seed(0)])
    net = Runs([model or pvl.build_baseline(config)]).to(device)  # one run: the module itself, as in training
    optimizer = pvl.make_optimizer(config, net)
    step = pvl.baseline_step(config, device)

    def update() -> None:
        losses, _ = step(0, net, generators)
        optimizer.zero_grad(set_to_none=True)
        losses.sum().backward()
        optimizer.step()

    for _ in range(2):  # warm-up
        update()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start, cpu_start, updates = time.perf_counter(), time.process_time(), 0
    while time.process_time() - cpu_start < seconds or updates < 3:  # CPU seconds: robust to a busy machine
        update()
        updates += 1
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    episodes = updates * config.batch
    return episodes / (time.perf_counter() - start), (time.process_time() - cpu_start) / episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8, 32, 64])
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per configuration")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--models", nargs="+", default=["rnn", "rnn_plasticrecurrent", "lstm_clamp", "lstm"])
    args = parser.parse_args()
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device={device}, torch threads={torch.get_num_threads()}, {pvl.TASK.steps} steps per episode")
    print(f"{'model':<22}{'batch':>6}{'episodes/s':>12}{'ms/episode':>12}{'CPU ms/ep':>11}{'peak MB':>10}")
    for name in args.models:
        base = pvl.BASELINES["rnn" if name.startswith("rnn") else name]
        for batch in args.batches:
            config = pvl.replace(base, batch=batch, episodes=batch)
            model = None
            if name == "rnn_plasticrecurrent":
                model = _PlasticRecurrentNoAlpha(config.task.n_bits + 1 + config.extra)
            rate, cpu = time_updates(config, device, args.seconds, model)
            print(f"{name:<22}{batch:>6}{rate:>12.1f}{1000 / rate:>12.2f}{1000 * cpu:>11.2f}{peak_memory_mb(device):>10.0f}",
                  flush=True)


class _PlasticRecurrentNoAlpha(torch.nn.Module):
    """``PlasticRecurrent(n, alpha="none")`` behind the baseline's interface (inputs padded to n)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.net = PlasticRecurrent(n, alpha="none", learn_eta=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        inputs = torch.nn.functional.pad(inputs, (0, self.net.n - inputs.shape[2]))
        return self.net(inputs)[0]


if __name__ == "__main__":
    main()
