"""The first check of a new GPU machine: one command, bounded time.

On the GPU machine (torch, numpy, scipy, pandas, matplotlib, seaborn, tqdm, pillow suffice; no pytest, no
papermill), from the repository root, with the Omniglot zips and the CIFAR subset in ``data/`` (``make data``;
23 MB)::

    PYTHONUNBUFFERED=1 python tools/gpu_check.py --out OUT_DIR --minutes 2

It writes under ``--out``: ``device.txt`` (the GPU and torch), ``equality.txt`` (batched runs equal
separate runs on this device, float64, as ``tests/test_batched.py`` checks on the CPU), ``graphs.txt`` and
``graphs.json`` (``benchmarks/graphs.py``: one update eager vs replayed from a CUDA graph, per case), ``gpu.json`` and
``gpu.txt`` (``benchmarks/gpu.py`` at the paper profile: seconds per update, floors, predicted wall
time), and ``results-omniglot-paper.tar.gz`` (a first chunk of the Omniglot paper profile, resumable:
``python -m plasticity_utils chunks unpack`` it here, or carry it to the next call). Each step is
timed and a failing step does not stop the later ones. ``--smoke`` runs every step on tiny settings
(the CPU test of this script).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def step(name: str, out: Path, fn) -> bool:
    """Run ``fn()``, its printed output into ``out/<name>.txt`` and to the console; True if it succeeded."""
    start = time.perf_counter()
    buffer = io.StringIO()
    ok = True
    try:
        with contextlib.redirect_stdout(buffer):
            fn()
    except Exception:  # keep going: the next steps are independent
        ok = False
        buffer.write(traceback.format_exc())
    seconds = time.perf_counter() - start
    if torch.cuda.is_available():  # hand the step's cached memory back before the next step
        torch.cuda.empty_cache()
    text = buffer.getvalue() + f"[{name}: {'ok' if ok else 'FAILED'} in {seconds:.1f} s]\n"
    (out / f"{name}.txt").write_text(text)
    print(text, flush=True)
    return ok


def device_info(device: torch.device) -> None:
    print(f"torch {torch.__version__}, python {sys.version.split()[0]}, device {device}")
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        print(f"{p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs")


def equality(device: torch.device) -> None:
    """Batched training equals separate training on ``device`` (float64, tiny configs)."""
    from dataclasses import replace

    from plasticity_utils.experiments import binary_patterns as bp
    from plasticity_utils.experiments import maze as mz
    from plasticity_utils.experiments import omniglot as om
    from plasticity_utils.experiments import plastic_vs_lstm as pvl
    from plasticity_utils.tasks.maze import MazeTask
    from plasticity_utils.tasks.omniglot import OmniglotTask
    from plasticity_utils.tasks.patterns import PatternTask

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        images = torch.rand(40, 20, 31, 31, generator=torch.Generator().manual_seed(1)).double()
        config = om.Config(task=OmniglotTask(n_way=5, n_test_classes=10), updates=5, batch=3, lr=1e-3, filters=8,
                           eval_every=2, curve_episodes=6, eval_episodes=7)
        pattern = bp.Config(task=PatternTask(n_bits=16, n_patterns=2, cycles=1, show=2, gap=1, test_show=2),
                            episodes=4, batch=2)
        cases = [("omniglot", lambda: om.train_seeds(config, [0, 3], None, device, images, progress=False),
                  lambda s: om.train_seeds(config, [s], None, device, images, progress=False)[0]),
                 ("patterns", lambda: bp.train_seeds(pattern, [0, 3], None, device, progress=False),
                  lambda s: bp.train_seeds(pattern, [s], None, device, progress=False)[0])]
        for condition in ("plastic", "nonplastic"):  # the maze: one rollout over the run axis, each run's own mazes
            maze = mz.Config(task=MazeTask(size=5, steps=12), condition=condition, hidden=6, batch=3, updates=3)
            cases.append((f"maze {condition}", lambda c=maze: mz.train_seeds(c, [0, 3], None, device, progress=False),
                          lambda s, c=maze: mz.train_seeds(c, [s], None, device, progress=False)[0]))
        for model in ("rnn", "lstm_clamp"):  # the batched references against the fused RNN and cuDNN's LSTM
            base = replace(pvl.BASELINES[model], extra=60, episodes=12, batch=4, lr=1e-2)
            cases.append((model, lambda base=base: pvl.train_baseline_seeds(base, [0, 3], None, device, progress=False),
                          lambda s, base=base: pvl.train_baseline_seeds(base, [s], None, device, progress=False)[0]))
        for name, batched, alone in cases:
            worst = 0.0
            for s, (_, params) in zip([0, 3], batched()):
                _, ref = alone(s)
                worst = max(worst, max(float((params[k].double() - ref[k].double()).abs().max()) for k in ref))
            print(f"{name}: largest parameter difference batched vs separate {worst:.2e}")
            if worst > 1e-8:
                raise AssertionError(f"{name}: batched training differs from separate training by {worst:.2e}")
    finally:
        torch.set_default_dtype(old)


def benchmark(device: torch.device, out: Path, smoke: bool) -> None:
    import gpu  # benchmarks/gpu.py

    args = ["--device", str(device), "--json", str(out / "gpu.json")]
    if smoke:
        args += ["--only", "plastic_vs_lstm", "--updates", "1", "--runs", "2"]
    gpu.main(args)


def graphs(device: torch.device, out: Path, smoke: bool) -> None:
    import graphs as cuda_graphs  # benchmarks/graphs.py

    args = ["--device", str(device), "--json", str(out / "graphs.json")]
    cuda_graphs.main(args + (["--smoke", "--repeat", "1"] if smoke else []))


def chunk(device: torch.device, out: Path, minutes: float, smoke: bool) -> None:
    from plasticity_utils import chunks

    profile = "smoke" if smoke else "paper"
    done = chunks.train_chunk("omniglot", profile, minutes, device=str(device))
    print("finished" if done else f"time limit of {minutes} min reached; the archive resumes it")
    print(chunks.pack("omniglot", profile, out / f"results-omniglot-{profile}.tar.gz"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--minutes", type=float, default=4.0, help="time for the Omniglot training chunk")
    parser.add_argument("--device", default=None)
    parser.add_argument("--smoke", action="store_true", help="tiny settings everywhere (a CPU check)")
    parser.add_argument("--skip", nargs="*", default=[], choices=["equality", "graphs", "benchmark", "chunk"])
    args = parser.parse_args(argv)
    from plasticity_utils.environment import pick_device

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    args.out.mkdir(parents=True, exist_ok=True)
    device = pick_device(args.device)
    results = [step("device", args.out, lambda: device_info(device))]
    if "equality" not in args.skip:
        results.append(step("equality", args.out, lambda: equality(device)))
    # the paper-profile benchmark before the CUDA-graph experiments, whose failed captures can hold memory
    if "benchmark" not in args.skip:
        results.append(step("gpu", args.out, lambda: benchmark(device, args.out, args.smoke)))
    if "graphs" not in args.skip:
        results.append(step("graphs", args.out, lambda: graphs(device, args.out, args.smoke)))
    if "chunk" not in args.skip:
        results.append(step("chunk", args.out, lambda: chunk(device, args.out, args.minutes, args.smoke)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
