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
    """``figures/`` for real runs; smoke runs write beside their results so they never overwrite them."""
    check_profile(profile)
    if profile == "smoke":
        return Path(os.environ.get("PLASTICITY_RESULTS", ROOT / "results")) / "smoke-figures"
    return Path(os.environ.get("PLASTICITY_FIGURES", ROOT / "figures"))


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


def pick_device(requested: str | None = None) -> torch.device:
    """``requested`` if given, else CUDA when present, else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


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
