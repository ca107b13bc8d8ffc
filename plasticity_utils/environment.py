"""Paths, profiles, devices and seeds shared by every experiment."""

from __future__ import annotations

import os
import random
import resource
from pathlib import Path
from typing import Mapping, TypeVar

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ("smoke", "cpu", "paper")
T = TypeVar("T")


def data_dir() -> Path:
    """Where datasets live (``$PLASTICITY_DATA`` or ``<project>/data``)."""
    return Path(os.environ.get("PLASTICITY_DATA", ROOT / "data"))


def results_dir(experiment: str, profile: str) -> Path:
    """Saved training runs of one experiment at one profile (``$PLASTICITY_RESULTS`` or ``results/``)."""
    check_profile(profile)
    return Path(os.environ.get("PLASTICITY_RESULTS", ROOT / "results")) / experiment / profile


def figures_dir(profile: str) -> Path:
    """Where a profile's figures and summary rows go: ``figures/`` for ``cpu``, ``figures/paper/`` for
    ``paper`` (``$PLASTICITY_FIGURES`` replaces ``figures/``), so neither overwrites the other; smoke
    runs write beside their results, never into ``figures/``."""
    check_profile(profile)
    if profile == "smoke":
        return Path(os.environ.get("PLASTICITY_RESULTS", ROOT / "results")) / "smoke-figures"
    base = Path(os.environ.get("PLASTICITY_FIGURES", ROOT / "figures"))
    return base if profile == "cpu" else base / profile


def shown(path: Path | str) -> str:
    """``path`` as messages show it: relative to the working directory when inside it, else to the
    project when inside it (``results/omniglot/cpu``), else as given: no machine paths in logs."""
    path = Path(path)
    for base in (Path.cwd(), ROOT):
        if path.is_absolute() and path.is_relative_to(base):
            return str(path.relative_to(base)) or "."
    return str(path)


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is not one of {PROFILES}")
    return profile


def select(profile: str, table: Mapping[str, T]) -> T:
    """The entry of ``table`` for ``profile``, with a clear error for an unknown name."""
    check_profile(profile)
    if profile not in table:
        raise ValueError(f"profile={profile!r} is not defined here; choose one of {tuple(table)}")
    return table[profile]


def pick_device(requested: str | torch.device | None = None) -> torch.device:
    """``requested`` if given, else CUDA when present, else the CPU; a device this machine lacks is
    an error that says what it has."""
    if requested is None or requested == "":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError) as e:
        raise ValueError(f"device={requested!r} is not a torch device name ({e}); use None, 'cpu' or 'cuda'") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device={requested!r}: this machine has no CUDA GPU visible to torch "
                             f"(torch {torch.__version__}); use device=None or 'cpu'")
        if device.index is not None and device.index >= count:
            raise ValueError(f"device={requested!r}: only {count} CUDA device(s) are visible")
    elif device.type != "cpu":
        raise ValueError(f"device={requested!r}: only 'cpu' and 'cuda' devices are supported")
    return device


# ------------------------------------------------------------------ strict parameters
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def parse_flag(text: str | bool, name: str = "flag") -> bool:
    """A boolean from the command line: 1/true/yes/on or 0/false/no/off (any case); else an error."""
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(f"{name}={text!r} is not a boolean: use one of {_TRUE[:2]} or {_FALSE[:2]}")


def check_flag(name: str, value: object) -> bool:
    """``value`` if it is a real bool (``force="false"`` would otherwise count as true)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} ({type(value).__name__})")
    return value


def check_seeds(seeds: object) -> list[int]:
    """``seeds`` as a list of distinct integers >= 0, with an error naming the bad entry."""
    if isinstance(seeds, (str, bytes, int)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a list of integers >= 0 (or None), got {seeds!r}")
    out = list(seeds)  # type: ignore[call-overload]
    for s in out:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be integers >= 0, got {s!r} in {out!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {out!r}")
    return [int(s) for s in out]


def parse_workers(text: str, name: str = "PLASTICITY_WORKERS") -> int:
    """A count of worker processes from the command line or environment: an integer >= 1."""
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if workers < 1:
        raise ValueError(f"{name}={text!r} must be an integer >= 1 (make figures WORKERS=2)")
    return workers


def workers_from_env() -> int:
    """``$PLASTICITY_WORKERS`` (default 1), checked by :func:`parse_workers`."""
    return parse_workers(os.environ.get("PLASTICITY_WORKERS", "1"))


def peak_memory_mb(device: torch.device) -> float:
    """Peak memory so far: allocated CUDA memory on a GPU, else the process's peak resident set (Linux, MB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a CPU generator for task sampling."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
