"""One module per paper experiment, each following the contract of :mod:`.contract`, and the one list of them.

:data:`REGISTRY` names every experiment: its module (imported on first use), its notebook and the optional
parts of the contract it declares (:data:`.contract.CAPABILITIES`). The command line
(``python -m plasticity_utils``), chunks (:mod:`plasticity_utils.chunks`), sweeps (:mod:`plasticity_utils.sweep`)
and the conformance test (``tests/test_registry.py``) read it; nothing else lists the experiments.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its module's dotted path, its notebook (from the project's root) and the
    capabilities its module declares (names of :data:`.contract.CAPABILITIES`)."""

    name: str
    module: str
    notebook: str
    capabilities: frozenset[str] = frozenset()

    def load(self) -> ModuleType:
        """The experiment module (imported now if it was not)."""
        return importlib.import_module(self.module)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def require(self, capability: str) -> Experiment:
        """This entry if it declares ``capability``, else a ValueError naming those that do."""
        if not self.can(capability):
            raise ValueError(f"{self.name} lacks the capability {capability!r}; experiments with it: "
                             f"{names(capability)}")
        return self

    def run(self, profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
            batched: bool | None = None) -> Any:
        """The module's ``run`` (trains or loads the profile's runs); ``batched`` (None: the profile's
        ``Options.batched``) needs the capability "batched"."""
        more = {} if batched is None else {"batched": batched}
        if more:
            self.require("batched")
        return self.load().run(profile, seeds=seeds, force=force, device=device, **more)


def _entry(name: str, notebook: str, *capabilities: str) -> tuple[str, Experiment]:
    return name, Experiment(name, f"{__name__}.{name}", f"notebooks/{notebook}.ipynb", frozenset(capabilities))


REGISTRY: dict[str, Experiment] = dict([
    _entry("bohp2016", "00_bohp_2016"),
    _entry("binary_patterns", "01_binary_patterns", "batched", "sweep"),
    _entry("plastic_vs_lstm", "02_plastic_vs_lstm", "batched"),
    _entry("natural_images", "03_natural_images"),
    _entry("omniglot", "04_omniglot", "batched", "sweep"),
    _entry("maze", "05_maze", "batched"),
    _entry("critiques", "06_critiques"),
])


def names(capability: str | None = None) -> tuple[str, ...]:
    """The registered experiments (those declaring ``capability`` if given), in the notebooks' order."""
    return tuple(n for n, e in REGISTRY.items() if capability is None or e.can(capability))


def experiment(name: str, capability: str | None = None) -> Experiment:
    """The registry entry of ``name``; an unknown name, or one lacking ``capability``, is a ValueError."""
    if name not in REGISTRY:
        raise ValueError(f"unknown experiment {name!r}; choose one of {names()}")
    return REGISTRY[name] if capability is None else REGISTRY[name].require(capability)
