"""Differentiable plasticity (Miconi et al.): plastic layers, tasks and training loops.

The plastic layers (:mod:`plasticity_utils.plastic`), exported here:

- :class:`PlasticConnection`: one plastic connection, weight ``w + alpha * Hebb`` (feed-forward layers);
- :class:`PlasticRecurrent`: a recurrent plastic tanh layer, run a whole episode at a time (open loop);
- :class:`PlasticCell`: the same layer one time step at a time (closed-loop models);
- :class:`PlasticLSTM` (:mod:`plasticity_utils.plastic_lstm`): an LSTM whose hidden-to-candidate weight is plastic.

They are imported on first use, so ``import plasticity_utils`` alone does not load torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The one place the version is written: pyproject.toml reads it (``dynamic = ["version"]``).
__version__ = "0.1.0"

_EXPORTS = {"PlasticConnection": "plastic", "PlasticRecurrent": "plastic", "PlasticCell": "plastic",
            "PlasticLSTM": "plastic_lstm"}
__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from .plastic import PlasticCell, PlasticConnection, PlasticRecurrent
    from .plastic_lstm import PlasticLSTM


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
