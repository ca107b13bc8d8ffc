"""Seconds per update of every experiment at its `paper` profile, against the device's floor, and the
predicted wall time of the whole paper profile on this device.

    python benchmarks/gpu.py [--device cuda] [--updates 3] [--only omniglot maze] [--json out.json]

Each probe runs the experiment's own training function on the paper profile's config, cut to
``1 + updates + 1`` updates: the first (warm-up, and the learning curve's first evaluation) is dropped,
the next ``updates`` are timed (median wall time of one update: sample, forward, backward, optimiser
step), the last is run under a dispatch counter. Printed per probe:

  s/upd      the measured median seconds per update
  ops        aten operations dispatched in one update (forward, backward, optimiser)
  kernels    those of them that compute (not views, reshapes or reads of one value): about the kernel
             launches on a GPU, where each costs ``launch`` seconds at least
  syncs      values read back on the host in one update (``.item()``, ``bool(t)``, ``.cpu()``, ``.tolist()``): on a GPU each waits
             for every queued kernel, so the launch latency of what precedes it is not hidden. Copies to
             the host (``.cpu()``, ``.tolist()``) also wait but are invisible on a CPU probe.
  MB, GFLOP  what one update must move through memory and compute at least (the cost models below)
  floor      max(MB / bandwidth, GFLOP / peak), both measured on this device (a large copy, a large matmul)
  launch fl. kernels x the measured time of one tiny operation: the floor of a launch-bound update
  ratio      s/upd over max(floor, launch floor)
  peak GB    (CUDA only, in the --json rows and the progress lines) the most memory the probe allocated
  predicted  the paper profile's plan (runs x updates; runs trained as one batched model count once)
             times s/upd

Cost models (lower bounds, float32): a plastic N x N layer over T steps and B episodes moves its trace
four times per step (written forward, read backward, its gradient written and read): 4 N^2 T B floats,
and computes ~24 N^2 T B flops (Eq. 1-2 forward ~8 N^2 per step, backward twice that); a dense recurrent
network with P weights reads them about 4 times per step (forward, two backward products, gradient
accumulation) and computes 6 P T B flops; every trained parameter is touched ~10 times by the update
(gradient, Adam's two moments, read and write). Convolutions: 6 x their forward multiply-adds.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plasticity_utils import training  # noqa: E402
from plasticity_utils.baselines import BaselineConfig, train_baseline_seeds  # noqa: E402
from plasticity_utils.environment import data_dir, pick_device  # noqa: E402
from plasticity_utils.experiments import binary_patterns as bp  # noqa: E402
from plasticity_utils.experiments import maze as mz  # noqa: E402
from plasticity_utils.experiments import natural_images as ni  # noqa: E402
from plasticity_utils.experiments import omniglot as om  # noqa: E402
from plasticity_utils.experiments import plastic_vs_lstm as pl  # noqa: E402

F32 = 4


# ------------------------------------------------------------------------------ the device
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeat: int) -> float:
    fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeat


def device_limits(device: torch.device, copy_floats: int | None = None, matmul_side: int | None = None) -> dict[str, float]:
    """Measured: copy bandwidth (bytes/s), float32 matmul rate (flop/s), time of one tiny operation (s).
    ``copy_floats`` and ``matmul_side``: the sizes measured (default: large enough for the device's rates)."""
    n = copy_floats or (32 * 2**20 if device.type == "cpu" else 256 * 2**20)
    a, b = torch.empty(n, device=device), torch.empty(n, device=device)
    bandwidth = 2 * n * F32 / timed(lambda: b.copy_(a), device, 5)
    m = matmul_side or (2048 if device.type == "cpu" else 8192)
    x, y = torch.randn(m, m, device=device), torch.randn(m, m, device=device)
    peak = 2 * m**3 / timed(lambda: x @ y, device, 3)
    tiny = torch.zeros(1, device=device)
    launch = timed(lambda: tiny.add_(1), device, 2000)
    return {"bandwidth": bandwidth, "peak": peak, "launch": launch}


# ------------------------------------------------------------------------------ cost models
def params_of(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def plastic_cost(n: int, steps: int, batch: int) -> tuple[float, float]:
    """(bytes, flops) of one update of a plastic N x N layer (w, alpha) over ``steps`` and ``batch``."""
    return (4 * n * n * steps * batch + 10 * 2 * n * n) * F32, 24.0 * n * n * steps * batch


def dense_cost(weights: int, steps: int, batch: int) -> tuple[float, float]:
    """(bytes, flops) of one update of a dense recurrent network with ``weights`` trained weights."""
    return (4 * weights * steps + 10 * weights) * F32, 6.0 * weights * steps * batch


def conv_cost(config: om.Config, runs: int) -> tuple[float, float]:
    """(bytes, flops) of one Omniglot update: 4 stride-2 3x3 convolutions per image, 6 images per episode."""
    images = config.task.steps * config.batch * runs
    side, cin, macs, acts = 31, 1, 0, 0
    for _ in range(4):
        side = (side - 3) // 2 + 1
        macs += side * side * config.filters * cin * 9
        acts += side * side * config.filters
        cin = config.filters
    net = om.build(config)
    return (3 * acts * images + 31 * 31 * images + 10 * params_of(net) * runs) * F32, 6.0 * macs * images


# ------------------------------------------------------------------------------ probes
NO_KERNEL = {"_unsafe_view", "_reshape_alias", "lift_fresh", "_local_scalar_dense"}


class Count(TorchDispatchMode):
    """Counts the aten operations dispatched, those that launch a kernel, and host reads of one value."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = self.kernels = self.syncs = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        self.ops += 1
        self.kernels += not (func.is_view or name in NO_KERNEL)
        self.syncs += name == "_local_scalar_dense" or _to_host(name, args, kwargs or {})
        return func(*args, **(kwargs or {}))


def _to_host(name: str, args: tuple, kwargs: dict) -> bool:
    """A copy from a device to the host (``.cpu()``, ``.tolist()`` of a device tensor): it waits for the device."""
    if name == "_to_copy":
        target = kwargs.get("device")
        return target is not None and torch.device(target).type == "cpu" and args[0].device.type != "cpu"
    if name == "copy_":
        return args[0].device.type == "cpu" and args[1].device.type != "cpu"
    return False


@contextlib.contextmanager
def spied(module):
    """Replace ``module.train`` by a wrapper that starts counting dispatched operations at the last update
    and keeps the history; yields a dict that gets ``history`` and the counter."""
    real, out = training.train, {}

    def train(model, optimizer, episode, episodes, **kwargs):
        counter = Count()

        def counted(i):
            if i == episodes - 1:
                counter.__enter__()
            return episode(i)

        try:
            out["history"] = real(model, optimizer, counted, episodes, **kwargs)
        finally:
            if counter.ops:
                counter.__exit__(None, None, None)
        out["count"] = counter
        return out["history"]

    module.train = training.train = train  # batched runs reach train() through plasticity_utils.training
    try:
        yield out
    finally:
        module.train = training.train = real


def probe(module, call: Callable[[int], object], updates: int) -> dict:
    """Run ``call(total_updates)`` (which trains through ``module.train``); median time of the timed updates."""
    with spied(module) as out:
        call(updates + 2)
    walls = [h["wall"] for h in out["history"][1:-1]]
    count = out["count"]
    return {"s_per_update": statistics.median(walls), "ops": count.ops, "kernels": count.kernels, "syncs": count.syncs}


def probes(device: torch.device, updates: int, only: set[str] | None, runs: int | None = None,
           failed: list[str] | None = None) -> list[dict]:
    """One row per probe that ran; a probe that raised is listed in ``failed`` (name: error) instead."""
    rows = []
    failed = [] if failed is None else failed

    def add(name, module, call, cost, plan, batched_runs=1, full_runs=None, note=""):
        """``cost`` (bytes, flops) of the probed update; ``plan`` updates of the profile's batched model,
        whose ``full_runs`` runs (when --runs cuts the probe to ``batched_runs``) scale the bytes and flops."""
        if only and name.split()[0] not in only:
            return
        t0 = time.perf_counter()
        if device.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        try:
            m = probe(module, call, updates)
        except Exception as error:  # one probe's failure (say, out of memory) must not lose the others
            failed.append(f"{name}: {type(error).__name__}: {str(error).splitlines()[0][:200]}")
            print(f"  FAILED {failed[-1]}", file=sys.stderr, flush=True)
            return
        if device.type == "cuda":
            m["peak_gb"] = torch.cuda.max_memory_allocated(device) / 1e9
        rows.append({"probe": name, **m, "bytes": cost[0], "flops": cost[1], "plan_updates": plan,
                     "batched_runs": batched_runs, "full_runs": full_runs or batched_runs, "note": note,
                     "probe_seconds": time.perf_counter() - t0})
        print(f"  probed {name} in {rows[-1]['probe_seconds']:.0f} s" +
              (f", peak {m['peak_gb']:.1f} GB allocated" if "peak_gb" in m else ""), file=sys.stderr, flush=True)

    # 1000-bit patterns: every schedule x its seeds x 1,000 episodes, batch 1, each schedule's seeds batched
    paper = bp.PROFILES["paper"]
    for name, cfg in paper.configs.items():
        seeds = paper.seeds_for(name)[:runs]
        train = train_baseline_seeds if isinstance(cfg, BaselineConfig) else bp.train_seeds
        short = lambda k, cfg=cfg, seeds=seeds, train=train: train(dataclasses.replace(cfg, episodes=k), seeds, None,
                                                                   device, progress=False)
        n, steps = cfg.task.n_bits + 1, cfg.task.steps
        if isinstance(cfg, BaselineConfig):  # the 1000-bit baselines: a dense RNN or an LSTM
            h = cfg.extra
            b, f = dense_cost((n + h) ** 2 if cfg.model == "rnn" else 4 * h * (n - 1 + h), steps, cfg.batch)
        elif cfg.alpha == "none":  # the same network without plasticity: w only
            b, f = dense_cost(n * n, steps, cfg.batch)
        else:
            b, f = plastic_cost(n, steps, cfg.batch)
        add(f"binary_patterns {name} (T={steps}), {len(seeds)} seeds batched", bp, short,
            (len(seeds) * b, len(seeds) * f), cfg.episodes, batched_runs=len(seeds),
            full_runs=len(paper.seeds_for(name)))
    # 50-bit: plastic variants 10 seeds x 5,000 (batched); baselines 3 seeds x 1,000,000 episodes in updates
    # of 32, each baseline's seeds batched
    paper = pl.PROFILES["paper"]
    cfg, seeds = paper.configs["plastic"], paper.seeds_for("plastic")[:runs]
    b, f = plastic_cost(cfg.task.n_bits + 1, cfg.task.steps, 1)
    add(f"plastic_vs_lstm plastic (N=51), {len(seeds)} seeds batched", bp,
        lambda k: bp.train_seeds(dataclasses.replace(cfg, episodes=k), seeds, None, device, progress=False),
        (len(seeds) * b, len(seeds) * f), sum(paper.configs[v].episodes for v in pl.PLASTICS),
        batched_runs=len(seeds), full_runs=len(paper.seeds_for("plastic")),
        note=f"{len(pl.PLASTICS)} variants, 3/1/1 probed")
    for model in ("rnn", "lstm_clamp", "lstm"):
        cfg, seeds = paper.configs[model], paper.seeds_for(model)[:runs]
        b, f = dense_cost(params_of(pl.build_baseline(cfg)), cfg.task.steps, cfg.batch)
        add(f"plastic_vs_lstm {model}, {len(seeds)} seeds batched x {cfg.batch} episodes", pl,
            lambda k, cfg=cfg, seeds=seeds: pl.train_baseline_seeds(dataclasses.replace(cfg, episodes=k * cfg.batch),
                                                                    seeds, None, device, progress=False),
            (len(seeds) * b, len(seeds) * f), cfg.episodes // cfg.batch, batched_runs=len(seeds),
            full_runs=len(paper.seeds_for(model)))
    # natural images: per-connection and shared alpha, 1 seed x 100,000 episodes each, in updates of 16
    paper = ni.PROFILES["paper"]
    pools = ni.image_pools(data_dir()) if not only or "natural_images" in only else None
    cfg = paper.configs["per_connection"]
    n = cfg.task.side ** 2 + 1
    add(f"natural_images per_connection (N={n}, T={cfg.task.steps}), batch {cfg.batch}", ni,
        lambda k: ni.train_seeds(dataclasses.replace(cfg, episodes=k * cfg.batch), [0], None, device, pools,
                                 progress=False),
        plastic_cost(n, cfg.task.steps, cfg.batch), len(paper.configs) * paper.seeds * cfg.episodes // cfg.batch,
        note="the shared-alpha variant counted at the per-connection one's cost")
    # maze: 3 conditions x 15 runs x 6,700 updates of 30 episodes, as many runs batched as the memory holds
    paper = mz.PROFILES["paper"]
    group = mz.runs_per_batch(device, paper.seeds)
    seeds = list(range(group))[:runs]
    batches = -(-paper.seeds // group)
    for condition in ("plastic", "nonplastic"):
        cfg = paper.configs[condition]
        weights = params_of(mz.build(cfg))
        bytes_, flops = dense_cost(weights, cfg.task.steps, cfg.batch)
        if condition == "plastic":
            pb, pf = plastic_cost(cfg.hidden, cfg.task.steps, cfg.batch)
            bytes_, flops = bytes_ + pb, flops + pf
        add(f"maze {condition} (hidden {cfg.hidden}, T={cfg.task.steps}, batch {cfg.batch}), {len(seeds)} runs batched",
            mz, lambda k, cfg=cfg: mz.train_seeds(dataclasses.replace(cfg, updates=k), seeds, None, device, progress=False),
            (len(seeds) * bytes_, len(seeds) * flops), (2 if condition == "plastic" else 1) * batches * cfg.updates,
            batched_runs=len(seeds), full_runs=group,
            note="the plastic probe also stands for the homogeneous condition" if condition == "plastic" else "")
    # Omniglot: 10 seeds x 19,532 updates of 256 episodes, trained as one batched model
    paper = om.PROFILES["paper"]
    cfg, seeds = paper.configs["plastic"], paper.seeds_for("plastic")[:runs]
    images = om.load_images()[0] if not only or "omniglot" in only else None
    add(f"omniglot {len(seeds)} seeds batched x {cfg.batch} episodes", om,
        lambda k: om.train_seeds(dataclasses.replace(cfg, updates=k), seeds, None, device, images, progress=False),
        conv_cost(cfg, len(seeds)), cfg.updates, batched_runs=len(seeds), full_runs=len(paper.seeds_for("plastic")))
    return rows


def plan_floor(rows: list[dict], limits: dict[str, float]) -> float:
    """Seconds the probed plan needs at least on a device with these limits: per probe, its updates times
    max(bytes / bandwidth, flops / peak, kernels x launch), the bytes and flops scaled from the probed runs
    to the profile's batched runs (the kernels do not grow with the runs batched)."""
    total = 0.0
    for r in rows:
        scale = r["full_runs"] / r["batched_runs"]
        floor = scale * max(r["bytes"] / limits["bandwidth"], r["flops"] / limits["peak"])
        total += r["plan_updates"] * max(floor, r["kernels"] * limits["launch"])
    return total


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--updates", type=int, default=3, help="timed updates per probe")
    parser.add_argument("--only", nargs="*", default=None, help="experiment modules to probe")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--runs", type=int, default=None,
                        help="batch at most this many runs in the batched probes (a CPU's memory); the prediction "
                             "then holds for that many runs, not the profile's")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--assume", nargs=3, type=float, action="append", default=[],
                        metavar=("BYTES_PER_S", "FLOPS", "LAUNCH_S"),
                        help="also print the plan's floor on a device with this bandwidth, float32 rate and "
                             "time per kernel launch (a device not at hand: assumed, not measured); repeatable")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    limits = device_limits(device)
    print(f"device: {name}; torch {torch.__version__}; measured: copy {limits['bandwidth'] / 1e9:.1f} GB/s, "
          f"float32 matmul {limits['peak'] / 1e12:.2f} TFLOP/s, one tiny op {1e6 * limits['launch']:.1f} us")
    failed: list[str] = []
    rows = probes(device, args.updates, set(args.only) if args.only else None, args.runs, failed)
    header = (f"{'probe':58s} {'s/upd':>9s} {'ops':>6s} {'kernels':>7s} {'syncs':>5s} {'MB':>8s} {'GFLOP':>8s} {'floor s':>9s} "
              f"{'launch fl.':>10s} {'ratio':>7s} {'updates':>10s} {'predicted':>10s}")
    print(header)
    total = 0.0
    for r in rows:
        floor = max(r["bytes"] / limits["bandwidth"], r["flops"] / limits["peak"])
        launch = r["kernels"] * limits["launch"]
        r.update(floor=floor, launch_floor=launch, ratio=r["s_per_update"] / max(floor, launch),
                 predicted_s=r["plan_updates"] * r["s_per_update"])
        total += r["predicted_s"]
        print(f"{r['probe']:58s} {r['s_per_update']:9.4f} {r['ops']:6d} {r['kernels']:7d} {r['syncs']:5d} {r['bytes'] / 1e6:8.1f} "
              f"{r['flops'] / 1e9:8.2f} {floor:9.5f} {launch:10.5f} {r['ratio']:7.1f} {r['plan_updates']:10,d} "
              f"{r['predicted_s'] / 3600:9.2f}h" + (f"  ({r['note']})" if r["note"] else ""))
    print(f"predicted wall time of the probed paper profile on this device: {total / 3600:.1f} h "
          f"(BOHP not probed: its paper profile equals cpu, measured at 6.5 min on the 2-core CPU)")
    print(f"floor of the probed paper profile on this device: {plan_floor(rows, limits) / 3600:.2f} h")
    for assume in args.assume:
        assumed = dict(zip(("bandwidth", "peak", "launch"), assume))
        print(f"floor of the probed paper profile on the assumed device ({assumed['bandwidth'] / 1e12:g} TB/s, "
              f"{assumed['peak'] / 1e12:g} TFLOP/s, {assumed['launch'] * 1e6:g} us per launch; not measured): "
              f"{plan_floor(rows, assumed) / 60:.1f} min, of which launches {plan_floor(rows, {**assumed, 'bandwidth': float('inf'), 'peak': float('inf')}) / 60:.1f} min")
    for line in failed:
        print(f"FAILED probe (not in the totals): {line}")
    if args.runs:
        print(f"batched probes cut to {args.runs} runs (--runs): their rows predict {args.runs} runs, not the profile's")
    if args.json:
        args.json.write_text(json.dumps({"device": name, "limits": limits, "rows": rows, "failed": failed}, indent=1))


if __name__ == "__main__":
    main()
