"""Independent runs trained as one batched model.

On a GPU every experiment here is launch-bound: an update costs about the same for 1 episode as for 256
(issue 13's measurements), so training R seeds (or conditions) one after the other wastes R - 1 of every
R kernel launches' worth of time, and separate processes sharing one GPU each slow down 10-14x. Here the
R runs become one model whose parameters carry a leading run axis:

* :class:`Runs` stacks R copies of a module (``torch.func.stack_module_state``) and calls the shared
  forward on each run's own inputs through ``torch.func.vmap`` + ``functional_call``;
* the loss is the **sum** of the runs' losses, so the gradient of run r's slice is exactly the gradient
  of run r's own loss (the runs share no parameter);
* Adam (and any optimiser whose update is elementwise, with the same hyperparameters for every run)
  applied to the stacked tensors is then R separate Adams: its moments and step are per element;
* each run samples its episodes from its own generator (:class:`Generators`), seeded as the separate
  run would be, so batched training equals separate training (tested in float64).

What must not be used with it: gradient clipping by a global norm, or any per-tensor statistic in the
optimiser (LAMB, LARS), which would couple the runs.
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap


class Runs(nn.Module):
    """R independent copies of ``models[0]``'s architecture, each with its own parameters.

    ``runs(*args)`` calls the module's ``forward`` once per run on ``args`` sliced along their first
    axis (every argument carries the run axis first) and stacks the outputs along a new first axis.
    """

    def __init__(self, models: Sequence[nn.Module]) -> None:
        super().__init__()
        if not models:
            raise ValueError("Runs needs at least one model")
        kinds = {type(m) for m in models}
        if len(kinds) != 1:
            raise ValueError(f"Runs needs models of one class, got {sorted(k.__name__ for k in kinds)}")
        params, buffers = stack_module_state(list(models))
        self.names = list(params)
        self.buffer_names = list(buffers)
        # nn.Parameter names may not contain dots: keep them in order, with the module's names beside
        self.stacked = nn.ParameterList([nn.Parameter(params[n].detach().clone()) for n in self.names])
        for i, n in enumerate(self.buffer_names):
            self.register_buffer(f"buffer{i}", buffers[n].clone())
        base = copy.deepcopy(models[0])
        self._base = [base.to("meta")]  # a list: not a submodule, so its (meta) parameters stay out of ours

    @property
    def runs(self) -> int:
        return self.stacked[0].shape[0]

    def _state(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        params = dict(zip(self.names, self.stacked))
        buffers = {n: getattr(self, f"buffer{i}") for i, n in enumerate(self.buffer_names)}
        return params, buffers

    def forward(self, *args: Any) -> Any:
        base = self._base[0]

        def one(params, buffers, *a):
            return functional_call(base, (params, buffers), a)

        params, buffers = self._state()
        return vmap(one, randomness="error")(params, buffers, *args)

    def state_dict_of(self, run: int) -> dict[str, Tensor]:
        """Run ``run``'s parameters and buffers, keyed as in the single module's ``state_dict``."""
        params, buffers = self._state()
        return {n: t[run].detach().clone() for n, t in {**params, **buffers}.items()}

    def parameter(self, name: str) -> Tensor:
        """The stacked parameter ``name`` (e.g. ``"out.eta"``), shape (runs, ...)."""
        return self.stacked[self.names.index(name)]


class Generators:
    """One random generator per run, checkpointed together (``get_state`` / ``set_state`` like a
    ``torch.Generator``, so :func:`plasticity_utils.training.train` can save and resume them)."""

    def __init__(self, generators: Sequence[torch.Generator]) -> None:
        self.generators = list(generators)

    def __getitem__(self, run: int) -> torch.Generator:
        return self.generators[run]

    def __len__(self) -> int:
        return len(self.generators)

    def get_state(self) -> list[Tensor]:
        return [g.get_state() for g in self.generators]

    def set_state(self, states: Sequence[Tensor]) -> None:
        if len(states) != len(self.generators):
            raise ValueError(f"checkpoint holds {len(states)} generators, this batch has {len(self.generators)}")
        for g, s in zip(self.generators, states):
            g.set_state(s)


def stack(tensors: Sequence[Tensor]) -> Tensor:
    """Stack per-run tensors along a new first (run) axis."""
    return torch.stack(list(tensors), 0)
