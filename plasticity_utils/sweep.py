"""Sweeps: a grid over config fields and seeds, each point stored as an ordinary run.

    python -m plasticity_utils sweep omniglot --profile cpu lr=3e-4,1e-3 batch=32,256 seeds=0-4
    python -m plasticity_utils sweep omniglot --profile cpu lr=1e-3,3e-3 updates=300 seeds=0-1 \\
        --executor dask --scheduler tcp://host:8786

Each point of the grid replaces those fields of the profile's config (``task.n_way=...`` reaches into a
nested config; an integer field takes a whole number, also written as a float such as ``1e3``, and
``2.7e0`` is an error, never truncated) and trains every seed; all (point, seed) runs go to the executor at once
(:mod:`plasticity_utils.executors`: local processes or a Dask cluster), so the points train in parallel.
Runs land in the experiment's run store, keyed by their config like any other run: re-running a sweep
loads them, and a point equal to the profile's own config reuses the profile's runs. :func:`table`
gives the final metric per point with its spread over seeds, :func:`plot` draws it. ``--scheduler``
alone implies ``--executor dask``; a bad field, value or flag ends the command with one ``error:`` line.

An experiment can be swept when its registry entry declares the capability "sweep"
(:data:`plasticity_utils.experiments.contract.CAPABILITIES`): its module has ``trainer(config, device)`` (a
picklable ``train(seeds, checkpoint)`` that loads its own data, so a remote worker needs only the data
folder), ``metric(record)`` with its description ``METRIC``, and ``tag(variant)`` (its runs' name prefix).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from . import executors, experiments
from .environment import check_seeds, results_dir
from .experiments.contract import Profile, select_profile
from .training import Job, RunStore

if TYPE_CHECKING:  # pandas is imported where a table is built
    import pandas as pd


@dataclass
class Sweep:
    """A finished sweep: the grid's points (field -> value), their configs and stored records per seed."""

    experiment: str
    profile: str
    variant: str
    metric: str
    seeds: list[int]
    points: list[dict[str, Any]]
    configs: list[Any]
    records: list[list[dict]]  # per point, one record per seed


def module_of(experiment: str):
    """The module of a registered experiment with the capability "sweep"."""
    return experiments.experiment(experiment, "sweep").load()


def variant_of(profile: Profile, variant: str | None) -> str:
    """``variant``, checked to be one of ``profile``'s (None: its first)."""
    variant = variant or next(iter(profile.configs))
    if variant not in profile.configs:
        raise ValueError(f"variant {variant!r} is not one of {tuple(profile.configs)}")
    return variant


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,5"`` -> [0, 2, 5]."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.partition("-")
            seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    except ValueError:
        raise ValueError(f"seeds={text!r}: write a range such as 0-4 or a list such as 0,2,5") from None
    return check_seeds(seeds)


def convert(base: Any, name: str, text: str) -> Any:
    """``text`` as the type of ``base``'s (possibly dotted) field ``name``."""
    head, _, rest = name.partition(".")
    if not dataclasses.is_dataclass(base) or head not in {f.name for f in dataclasses.fields(base)}:
        fields = sorted(f.name for f in dataclasses.fields(base)) if dataclasses.is_dataclass(base) else []
        raise ValueError(f"{type(base).__name__} has no field {head!r}; fields: {fields}")
    current = getattr(base, head)
    if rest:
        return convert(current, rest, text)
    if isinstance(current, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{name}={text!r}: expected true or false")
        return text.lower() in ("true", "1")
    if isinstance(current, int):
        return whole_number(name, text)
    if isinstance(current, (float, str)):
        try:
            return type(current)(text)
        except ValueError:
            raise ValueError(f"{name}={text!r}: expected a {type(current).__name__}") from None
    raise ValueError(f"{name}: only number, flag and string fields can be swept, not {type(current).__name__}")


def whole_number(name: str, text: str) -> int:
    """An integer field's value: ``"300"``, or a number written as a float that is exactly whole
    (``"1e3"``, ``"2.0"`` -> 1000, 2); anything else (``"2.7e0"``) is an error, never truncated."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r}: expected an integer") from None
    if not value.is_integer():
        raise ValueError(f"{name}={text!r}: expected an integer, and {value:g} is not a whole number")
    return int(value)


def replaced(base: Any, point: Mapping[str, Any]) -> Any:
    """``base`` with the (possibly dotted) fields of ``point`` replaced; the config validates itself."""
    nested: dict[str, dict[str, Any]] = {}
    flat = {}
    for name, value in point.items():
        head, _, rest = name.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            flat[name] = value
    for head, sub in nested.items():
        flat[head] = replaced(getattr(base, head), sub)
    return dataclasses.replace(base, **flat)


def parse_grid(items: Sequence[str], base: Any) -> tuple[dict[str, list[Any]], list[int] | None]:
    """``["lr=3e-4,1e-3", "seeds=0-4"]`` -> ({"lr": [0.0003, 0.001]}, [0, 1, 2, 3, 4])."""
    grid: dict[str, list[Any]] = {}
    seeds = None
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not values:
            raise ValueError(f"{item!r}: write field=value[,value...]")
        if name == "seeds":
            seeds = parse_seeds(values)
        else:
            grid[name] = [convert(base, name, v) for v in values.split(",")]
    return grid, seeds


def points_of(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def run_sweep(experiment: str, profile: str, grid: Mapping[str, Sequence[Any]], seeds: Sequence[int] | None = None,
              *, variant: str | None = None, executor: Any = None, force: bool = False,
              device: str | None = None) -> Sweep:
    """Train (or load) every seed of every point of ``grid`` on ``profile``'s config of ``variant``."""
    module = module_of(experiment)
    p = select_profile(module.PROFILES, profile)
    variant = variant_of(p, variant)
    base = p.configs[variant]
    seeds = p.seeds_for(variant) if seeds is None else check_seeds(list(seeds))
    points = points_of(grid)
    configs = [replaced(base, point) for point in points]
    jobs = [Job(seeds, c, module.trainer(c, device), module.tag(variant)) for c in configs]
    records = RunStore(results_dir(experiment, profile)).train(jobs, force=force, executor=executor)
    return Sweep(experiment, profile, variant, module.METRIC, list(seeds), points, configs, records)


def table(sweep: Sweep) -> pd.DataFrame:
    """One row per point: its field values, the metric's mean, standard deviation, min and max over seeds."""
    import pandas as pd

    metric = module_of(sweep.experiment).metric
    rows = []
    for point, records in zip(sweep.points, sweep.records):
        values = np.array([metric(r) for r in records], dtype=float)
        rows.append({**point, "seeds": len(values), "mean": values.mean(),
                     "sd": values.std(ddof=1) if len(values) > 1 else float("nan"),
                     "min": values.min(), "max": values.max()})
    return pd.DataFrame(rows)


def plot(sweep: Sweep, x: str, ax=None):
    """The metric against field ``x``: mean over seeds (line), each seed (dots), one line per other point."""
    import matplotlib.pyplot as plt

    metric = module_of(sweep.experiment).metric
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    others = sorted({tuple((k, v) for k, v in p.items() if k != x) for p in sweep.points})
    for other in others:
        chosen = [(p[x], [metric(r) for r in recs]) for p, recs in zip(sweep.points, sweep.records)
                  if tuple((k, v) for k, v in p.items() if k != x) == other]
        xs = [c[0] for c in chosen]
        label = ", ".join(f"{k}={v}" for k, v in other) or None
        (line,) = ax.plot(xs, [np.mean(v) for _, v in chosen], marker="o", label=label)
        for xv, vals in chosen:
            ax.scatter([xv] * len(vals), vals, s=10, color=line.get_color(), alpha=0.5)
    ax.set(xlabel=x, ylabel=textwrap.fill(sweep.metric, 32))
    values = sorted({p[x] for p in sweep.points})
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(values, [f"{v:g}" for v in values])
    if len(others) > 1:
        ax.legend(frameon=False, fontsize=8)
    return ax


def executor_of(name: str | None, scheduler: str | None) -> str | None:
    """The executor of ``--executor`` and ``--scheduler`` (None: the defaults of :func:`executors.resolve`)."""
    if scheduler and name == "local":
        raise ValueError("--scheduler is the Dask scheduler's address: use it with --executor dask")
    if scheduler:
        return scheduler
    if name == "dask" and not os.environ.get(executors.SCHEDULER, "").strip():
        raise ValueError("--executor dask needs the scheduler's address: add --scheduler tcp://host:8786 "
                         f"(or set ${executors.SCHEDULER})")
    return name


def arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m plasticity_utils sweep`` on ``parser``."""
    parser.add_argument("experiment", choices=experiments.names("sweep"))
    parser.add_argument("grid", nargs="+", help="field=v1,v2,... (dotted for nested configs) and seeds=0-4")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--variant", default=None)
    parser.add_argument("--executor", default=None, choices=executors.NAMES,
                        help=f"local (default: ${executors.EXECUTOR} or local) or dask")
    parser.add_argument("--scheduler", default=None,
                        help=f"Dask scheduler address, e.g. tcp://host:8786 (with --executor dask; default: "
                             f"${executors.SCHEDULER})")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--device", default=None)
    parser.set_defaults(command=command)


def command(args: argparse.Namespace) -> int:
    """Run the sweep of ``args`` (:func:`arguments`) and print its table."""
    module = module_of(args.experiment)
    p = select_profile(module.PROFILES, args.profile)
    grid, seeds = parse_grid(args.grid, p.configs[variant_of(p, args.variant)])
    executor = executor_of(args.executor, args.scheduler)
    sweep = run_sweep(args.experiment, args.profile, grid, seeds, variant=args.variant, executor=executor,
                      force=args.force, device=args.device)
    print(f"{args.experiment} at {args.profile}, variant {sweep.variant}; metric: {sweep.metric}")
    print(table(sweep).to_string(index=False))
    return 0
