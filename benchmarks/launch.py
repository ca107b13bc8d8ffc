"""What one kernel launch cost in earlier H100 timings of this code: kernels per update, counted here, against the
seconds per update those timings report (measured there, one experiment alone per process, torch 2.11).

    python benchmarks/launch.py [--only maze omniglot]

Each row runs the separate (one run at a time) training function of an experiment at the batch those timings
timed, for 1 + 1 updates, and counts the operations of the second one under ``benchmarks/gpu.py``'s
dispatch counter: ``kernels`` (operations that compute, about the launches on a GPU) and ``syncs`` (host
reads of a device value). ``us/kernel`` = the reported seconds / kernels: if an update is launch-bound,
this is the cost of one launch as that machine paid it, the number that turns a kernel count into
a GPU time (gpu.py's ``--assume``). Caveat: the reported timings are of the code as it was then; the counts
are of the code as it is now (the maze steps have since lost 3 of their 4 host reads per step).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu  # noqa: E402  (benchmarks/gpu.py: the counter and the experiment modules)

from plasticity_utils.environment import data_dir  # noqa: E402

CPU = torch.device("cpu")
REPORTED = "one H100, torch 2.11 + CUDA 13, earlier code (reported, not measured here)"


def count(module, call) -> dict:
    with gpu.spied(module) as out:
        call(2)
    c = out["count"]
    return {"ops": c.ops, "kernels": c.kernels, "syncs": c.syncs}


def rows(only: set[str] | None) -> list[tuple[str, float, dict]]:
    """(setting, reported seconds per update, counts) for every setting those timings cover."""
    out = []

    def add(name, reported, module, call):
        if not only or name.split()[0] in only:
            out.append((name, reported, count(module, call)))
            print(f"  counted {name}", file=sys.stderr, flush=True)

    bp, pl, ni, mz, om = gpu.bp, gpu.pl, gpu.ni, gpu.mz, gpu.om
    cfg = bp.PROFILES["paper"].configs["released"]
    for impl, reported in (("fused", 0.069), ("reference", 0.094)):
        add(f"binary_patterns 1000-bit released (T={cfg.task.steps}), {impl}, batch 1", reported, bp,
            lambda k, impl=impl: bp.train_seeds(dataclasses.replace(cfg, episodes=k, impl=impl), [0], None, CPU, progress=False))
    for model, reported in (("lstm_clamp", 0.013), ("rnn", 0.0053)):
        base = pl.BASELINES[model]
        add(f"plastic_vs_lstm {model}, batch 1", reported, pl,
            lambda k, base=base: pl.train_baseline_seeds(dataclasses.replace(base, episodes=k, batch=1), [0], None, CPU,
                                                         progress=False))
    if not only or "natural_images" in only:
        pools = ni.image_pools(data_dir())
        cfg = ni.PROFILES["paper"].configs["per_connection"]
        for batch, reported in ((1, 0.142), (16, 0.186)):
            add(f"natural_images per_connection, batch {batch}", reported, ni,
                lambda k, batch=batch: ni.train_seeds(dataclasses.replace(cfg, episodes=k, batch=batch), [0], None, CPU,
                                                      pools, progress=False))
    for condition, reported in (("plastic", 0.59), ("nonplastic", 0.39)):
        cfg = mz.PROFILES["paper"].configs[condition]
        add(f"maze {condition}, batch 30", reported, mz,
            lambda k, cfg=cfg: mz.train_seeds(dataclasses.replace(cfg, updates=k, batch=30), [0], None, CPU,
                                             progress=False))
    if not only or "omniglot" in only:
        images = om.load_images()[0]
        cfg = om.PROFILES["paper"].configs["plastic"]
        for batch, reported in ((1, 0.0177), (32, 0.0223), (256, 0.0344)):
            add(f"omniglot batch {batch}", reported, om,
                lambda k, batch=batch: om.train_seeds(dataclasses.replace(cfg, updates=k, batch=batch), [0], None, CPU,
                                                      images, progress=False))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="experiment modules to count")
    args = parser.parse_args(argv)
    table = rows(set(args.only) if args.only else None)
    print(f"reported: {REPORTED}; counted: this code, one update of the separate training function")
    print(f"{'setting':60s} {'reported s':>10s} {'ops':>7s} {'kernels':>7s} {'syncs':>5s} {'us/kernel':>9s}")
    for name, reported, c in table:
        print(f"{name:60s} {reported:10.4f} {c['ops']:7d} {c['kernels']:7d} {c['syncs']:5d} "
              f"{1e6 * reported / c['kernels']:9.1f}")


if __name__ == "__main__":
    main()
