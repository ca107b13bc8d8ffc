"""Does capturing a whole update in a CUDA graph remove the launch overhead? Measured per case.

    python benchmarks/graphs.py [--device cuda] [--repeat 5] [--smoke] [--json out.json]

On a launch-bound GPU an update costs about (kernels x per-launch cost): ~22 us per kernel in earlier
H100 timings (``benchmarks/launch.py``). A CUDA graph replays the recorded kernels without the Python,
dispatcher and launch cost of each, which is what the 20-minute target needs. Per case this times one
update (forward, loss, backward, Adam step) from static inputs:

  eager s    median seconds of the update run normally
  graph s    median seconds of ``graph.replay()`` of the same update captured with ``torch.cuda.graph``
             (Adam with ``capturable=True``; inputs copied into the static tensors before a replay
             would cost one copy more), or why the capture failed (a host read inside the update,
             such as the fused plastic layer's ``float(eta)``, cannot be captured)
  kernels    operations that compute in one update (``benchmarks/gpu.py``'s counter)
  speed-up   eager / graph

The cases are the launch-bound updates of the paper profile: the 1000-bit network (one run, and the plan's
10 seeds as one batched model), the CIFAR network (random images: the timing does not depend on them), the maze agent's replay (one run, and 5 runs batched) with a
stand-in loss (the A2C loss reads its parts on the host for logging; the closed-loop rollout, which reads
on the host at every step, is not capturable as a whole and is not timed here) and Omniglot (random
images). On a CPU only the eager column is measured (``--smoke`` shrinks every case, for the tests). On CUDA
each case runs in a process of its own (``--no-isolate`` to keep them in one).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu  # noqa: E402  (the dispatch counter, sync, the experiment modules)

from plasticity_utils.batched import Runs  # noqa: E402
from plasticity_utils.environment import pick_device, seed_everything  # noqa: E402
from plasticity_utils.tasks.maze import MazeBatch  # noqa: E402
from plasticity_utils.tasks.images import image_episode, reconstruction_loss  # noqa: E402
from plasticity_utils.tasks.omniglot import omniglot_episode  # noqa: E402
from plasticity_utils.tasks.patterns import pattern_episode  # noqa: E402

Case = tuple[str, nn.Module, Callable[[], Tensor]]  # name, model, loss of the static inputs


def cases(device: torch.device, smoke: bool) -> list[Case]:
    """(name, model, loss function) per case; every loss reads only tensors already on ``device``."""
    out: list[Case] = []
    g = seed_everything(0)
    bp, ni, mz, om = gpu.bp, gpu.ni, gpu.mz, gpu.om

    cfg = bp.PROFILES["paper"].configs["released"]
    if smoke:
        cfg = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, n_bits=20))
    inputs, target = (t.to(device) for t in pattern_episode(cfg.task, 1, g))
    inputs = inputs * cfg.input_scale
    for impl in ("reference", "fused"):
        net = bp.build(cfg).to(device)
        out.append((f"1000-bit released (N={cfg.task.n_bits + 1}, T={cfg.task.steps}), {impl}, batch 1", net,
                    lambda net=net, impl=impl: ((net(inputs, impl=impl)[0][:, -1, :-1] - target) ** 2).sum(-1).mean()))

    runs = 2 if smoke else len(bp.PROFILES["paper"].seeds_for("released"))  # the batched model: 10 seeds, vmap
    stacked = (inputs.expand(runs, *inputs.shape).contiguous(), target.expand(runs, *target.shape).contiguous())
    for impl in ("reference", "fused"):
        batched = Runs([bp.build(cfg) for _ in range(runs)]).to(device)
        out.append((f"1000-bit released, {runs} seeds batched (vmap), {impl}, batch 1", batched,
                    lambda net=batched, impl=impl: ((net(stacked[0], impl=impl)[0][:, :, -1, :-1] - stacked[1]) ** 2)
                    .sum(-1).mean(-1).sum()))

    cfg = ni.PROFILES["paper"].configs["per_connection"]
    if smoke:
        cfg = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, side=6))
    pool = torch.randn(50, cfg.task.n_pixels, generator=g)
    for batch in (1, 16):
        ep = image_episode(cfg.task, pool, batch, g)
        ep = ep._replace(inputs=ep.inputs.to(device), target=ep.target.to(device), erased=ep.erased.to(device))
        for impl in ("reference", "fused"):
            net = ni.build(cfg).to(device)
            out.append((f"CIFAR per-connection (N={cfg.task.n_pixels + 1}, T={cfg.task.steps}), {impl}, batch {batch}",
                        net, lambda net=net, ep=ep, impl=impl: reconstruction_loss(
                            ni.final_output(net, ep.inputs, impl), ep.target, ep.erased).mean()))

    cfg = mz.PROFILES["paper"].configs["plastic"]
    if smoke:
        cfg = dataclasses.replace(cfg, hidden=8, task=dataclasses.replace(cfg.task, steps=12))
    agent = mz.build(cfg).to(device)
    obs = mz.rollout(Runs([agent]), MazeBatch(cfg.task, cfg.batch, [g], device)).obs[0]
    for impl in ("reference", "fused"):
        agent = mz.build(cfg).to(device)

        def replay_loss(agent=agent, impl=impl) -> Tensor:
            logits, values = agent.replay(obs, impl=impl)
            return logits.square().mean() + values.square().mean()  # a stand-in for the A2C loss

        out.append((f"maze replay (hidden {cfg.hidden}, T={cfg.task.steps}, batch {cfg.batch}), {impl}",
                    agent, replay_loss))
    runs = 2 if smoke else mz.runs_per_batch(device, 5)  # up to 5 of the plan's batch, as memory allows
    obs_runs = obs.expand(runs, *obs.shape).contiguous()
    for impl in ("reference", "fused"):
        batched = Runs([mz.build(cfg) for _ in range(runs)]).to(device)

        def batched_replay_loss(net=batched, impl=impl) -> Tensor:
            logits, values = net.call("replay", obs_runs, impl=impl)
            return logits.square().mean() + values.square().mean()

        out.append((f"maze replay, {runs} runs batched (vmap), {impl}", batched, batched_replay_loss))

    cfg = om.PROFILES["paper"].configs["plastic"]
    images = torch.rand(40, 20, 31, 31, generator=g)
    ep = omniglot_episode(images, torch.arange(40), cfg.task, 8 if smoke else cfg.batch, g)
    ep = ep._replace(images=ep.images.to(device), labels=ep.labels.to(device), target=ep.target.to(device))
    net = om.build(cfg).to(device)
    out.append((f"Omniglot, batch {len(ep.target)}", net, lambda net=net, ep=ep: net.loss(ep.images, ep.labels, ep.target)[0]))
    return out


def timed(fn: Callable[[], object], device: torch.device, repeat: int) -> float:
    fn()
    gpu.sync(device)
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        gpu.sync(device)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls)


def measure(name: str, model: nn.Module, loss_fn: Callable[[], Tensor], device: torch.device, repeat: int) -> dict:
    cuda = device.type == "cuda"
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, capturable=cuda)

    def update() -> Tensor:
        optimizer.zero_grad(set_to_none=False)
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        return loss

    row: dict = {"case": name, "eager_s": timed(update, device, repeat)}
    counter = gpu.Count()
    with counter:
        update()
    row["kernels"] = counter.kernels
    if not cuda:
        row["graph"] = "needs a CUDA device"
        return row
    try:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up outside the capture, as torch.cuda.graph requires
            for _ in range(3):
                update()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            update()
        row["graph_s"] = timed(graph.replay, device, repeat)
        row["speedup"] = row["eager_s"] / row["graph_s"]
    except Exception as error:  # report and go on: one case's failure says something about that case only
        row["graph"] = f"capture failed: {type(error).__name__}: {str(error).splitlines()[0][:160]}"
    return row


def release(device: torch.device) -> None:
    """Return the memory of everything already dropped to the device (cached blocks, graph pools)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def print_row(r: dict) -> None:
    name = r["case"]
    if "error" in r:
        print(f"{name:66s} FAILED eager: {r['error'].splitlines()[0][:160]}", flush=True)
        return
    graph = f"{r['graph_s']:9.5f} {r['speedup']:8.1f}" if "graph_s" in r else f"{'-':>9s} {'-':>8s}"
    print(f"{name:66s} {r['eager_s']:9.5f} {graph} {r['kernels']:7d}" + (f"  {r['graph']}" if "graph" in r else ""),
          flush=True)


def measure_cases(device: torch.device, smoke: bool, repeat: int, only: int | None = None) -> tuple[list[dict], int]:
    """Measure every case (or case number ``only``) in this process: (rows, number of cases)."""
    todo = cases(device, smoke)
    n = len(todo)
    if only is not None:
        todo = [todo[only]]
    rows = []
    while todo:
        name, model, loss_fn = todo.pop(0)
        try:
            r = measure(name, model, loss_fn, device, repeat)
        except Exception as error:  # say, out of memory: report it and measure the other cases
            r = {"case": name, "error": f"{type(error).__name__}: {error}"}
        finally:
            del model, loss_fn
            release(device)
        rows.append(r)
        print_row(r)
    return rows, n


def measure_isolated(device: torch.device, smoke: bool, repeat: int) -> tuple[list[dict], int]:
    """Each case in a process of its own: a failed capture keeps its graph's private memory pool until the
    process ends (measured on an H200: after two failed captures every later case ran out of memory, even with
    the pools' owners dropped and the cache emptied), so no case may inherit another's failure."""
    rows: list[dict] = []
    n, i = 1, 0
    with tempfile.TemporaryDirectory() as tmp:
        while i < n:
            out = Path(tmp) / f"case{i}.json"
            cmd = [sys.executable, __file__, "--device", str(device), "--repeat", str(repeat), "--case", str(i),
                   "--json", str(out), "--quiet"] + (["--smoke"] if smoke else [])
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0 or not out.exists():
                last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                r = {"case": f"case {i}", "error": f"process failed ({done.returncode}): {last}"}
            else:
                result = json.loads(out.read_text())
                n, r = result["cases"], result["rows"][0]
            rows.append(r)
            print_row(r)
            i += 1
    return rows, n


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny cases (the CPU test of this script)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--case", type=int, default=None, help="measure case number CASE only, in this process")
    parser.add_argument("--isolate", action=argparse.BooleanOptionalAction, default=None,
                        help="each case in its own process (default: on CUDA)")
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    device = pick_device(args.device)
    isolate = (device.type == "cuda") if args.isolate is None else args.isolate
    if not args.quiet:
        print(f"{'case':66s} {'eager s':>9s} {'graph s':>9s} {'speed-up':>8s} {'kernels':>7s}")
    if isolate and args.case is None:
        rows, n = measure_isolated(device, args.smoke, args.repeat)
    else:
        with contextlib.redirect_stdout(io.StringIO()) if args.quiet else contextlib.nullcontext():
            rows, n = measure_cases(device, args.smoke, args.repeat, args.case)
    if args.json:
        args.json.write_text(json.dumps({"device": str(device), "torch": torch.__version__, "cases": n,
                                         "isolated": isolate, "rows": rows}, indent=1))
    return rows


if __name__ == "__main__":
    main()
