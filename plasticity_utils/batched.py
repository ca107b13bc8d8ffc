"""Independent runs trained as one batched model.

On a GPU every experiment here is launch-bound: an update costs about the same for 1 episode as for 256,
so training R seeds (or conditions) one after the other wastes R - 1 of every R kernel launches' worth of
time, and separate processes sharing one GPU each slow down 10-14x. Here the R runs become one model whose
parameters carry a leading run axis:

* :class:`Runs` stacks R copies of a module (``torch.func.stack_module_state``) and calls the shared
  forward on each run's own inputs through ``torch.func.vmap`` + ``functional_call``;
* the loss is the **sum** of the runs' losses, so the gradient of run r's slice is exactly the gradient
  of run r's own loss (the runs share no parameter);
* Adam (and any optimiser whose update is elementwise, with the same hyperparameters for every run)
  applied to the stacked tensors is then R separate Adams: its moments and step are per element;
* each run samples its episodes from its own generator (:class:`Generators`), seeded as the separate
  run would be, so batched training equals separate training (tested in float64);
* a module whose parameters already carry the run axis (``Runs(..., native=True)``: one module for all
  runs, written over a leading run axis and initialised per run by itself) is held and called as it is.

What must not be used with it: gradient clipping by a global norm, or any per-tensor statistic in the
optimiser (LAMB, LARS), which would couple the runs.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap


class Runs(nn.Module):
    """R independent copies of ``models[0]``'s architecture, each with its own parameters: the model every
    experiment trains, whatever R.

    ``runs(*args)`` calls the module's ``forward`` once per run on ``args`` sliced along their first
    axis (every argument carries the run axis first) and stacks the outputs along a new first axis.
    For R = 1 that is a plain call of the one module on ``args[0]`` (no ``vmap``: the CPU's fastest path,
    and modules such as ``nn.LSTM`` keep their fused kernels); for R > 1 the stacked parameters go through
    ``torch.func.vmap``, the module's ``batched_forward`` method standing in for ``forward`` (a module whose
    ``forward`` cannot run under ``vmap`` names an equivalent one that can).

    ``native=True``: ``models`` is one module that carries the run axis itself (every parameter and buffer
    of shape (runs, ...), its methods taking and returning the run axis first, each run's slice computed
    from that run's own parameters and inputs alone). It is held and called as it is, without ``vmap``;
    per run, its parameters are the slices ``[run]``.
    """

    def __init__(self, models: Sequence[nn.Module], batched_forward: str = "forward", native: bool = False) -> None:
        super().__init__()
        if not models:
            raise ValueError("Runs needs at least one model")
        kinds = {type(m) for m in models}
        if len(kinds) != 1:
            raise ValueError(f"Runs needs models of one class, got {sorted(k.__name__ for k in kinds)}")
        if native and len(models) != 1:
            raise ValueError(f"a model that carries the run axis natively holds every run: got {len(models)} models")
        self.batched_forward = batched_forward
        self.native = native
        if native or len(models) == 1:
            self.module = models[0]
            return
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
    def single(self) -> bool:
        """One module without a run axis (R = 1)."""
        return not self.native and "module" in self._modules

    @property
    def runs(self) -> int:
        if self.native:
            return next(self.module.parameters()).shape[0]
        return 1 if self.single else self.stacked[0].shape[0]

    def _state(self) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
        if self.single or self.native:
            return dict(self.module.named_parameters()), dict(self.module.named_buffers())
        params = dict(zip(self.names, self.stacked))
        buffers = {n: getattr(self, f"buffer{i}") for i, n in enumerate(self.buffer_names)}
        return params, buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Per run: ``module(*args_r, **kwargs)``; the keyword arguments are shared by every run."""
        return self.call("forward", *args, **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Per run: ``module.<method>(*args_r, **kwargs)`` (e.g. an agent's ``step``), outputs stacked."""
        if self.native:
            return getattr(self.module, method)(*args, **kwargs)
        if self.single:
            out = getattr(self.module, method)(*(a[0] if isinstance(a, Tensor) else a for a in args), **kwargs)
            if isinstance(out, tuple):
                return tuple(o.unsqueeze(0) if isinstance(o, Tensor) else o for o in out)
            return out.unsqueeze(0) if isinstance(out, Tensor) else out
        if method == "forward":
            method = self.batched_forward
        adapter = _Method(self._base[0], method)
        none_at: list[int] = []  # vmap returns tensors only: a None in an output tuple travels as a 0-d zero

        def one(params, buffers, *a):
            state = {f"module.{k}": v for k, v in {**params, **buffers}.items()}
            out = functional_call(adapter, state, a, kwargs)
            if isinstance(out, tuple):
                none_at[:] = [i for i, o in enumerate(out) if o is None]
                out = tuple(torch.zeros(()) if o is None else o for o in out)
            return out

        params, buffers = self._state()
        out = vmap(one, randomness="error")(params, buffers, *args)
        return tuple(None if i in none_at else o for i, o in enumerate(out)) if none_at else out

    def state_dict_of(self, run: int) -> dict[str, Tensor]:
        """Run ``run``'s parameters and buffers (on the CPU), keyed as in the single module's ``state_dict``."""
        if self.single:
            if run != 0:
                raise IndexError(f"run {run} of 1")
            return {n: t.detach().cpu().clone() for n, t in self.module.state_dict().items()}
        if self.native:
            return {n: t[run].detach().cpu().clone() for n, t in self.module.state_dict().items()}
        params, buffers = self._state()
        return {n: t[run].detach().cpu().clone() for n, t in {**params, **buffers}.items()}

    def parameter(self, name: str) -> Tensor:
        """The stacked parameter or buffer ``name`` (e.g. ``"out.eta"``), shape (runs, ...)."""
        if self.single:  # no dictionaries of every parameter per call: it is read every update
            try:
                return self.module.get_parameter(name).unsqueeze(0)
            except AttributeError:
                return self.module.get_buffer(name).unsqueeze(0)
        params, buffers = self._state()
        return {**params, **buffers}[name]

    def n_params(self, run: int = 0) -> int:
        """Trainable parameters of one run."""
        params, _ = self._state()
        return sum(p.numel() // self.runs for p in params.values() if p.requires_grad)


class _Method(nn.Module):
    """Calls one method of ``module`` as its forward (so ``functional_call`` can reach any method)."""

    def __init__(self, module: nn.Module, method: str) -> None:
        super().__init__()
        self.module, self.method = module, method

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.module, self.method)(*args, **kwargs)


class Generators:
    """One random generator per run, checkpointed together (``get_state`` / ``set_state`` like a
    ``torch.Generator``, so :func:`plasticity_utils.training.train` can save and resume them)."""

    def __init__(self, generators: Sequence[torch.Generator]) -> None:
        self.generators = list(generators)

    def __iter__(self) -> Iterator[torch.Generator]:
        return iter(self.generators)

    def get_state(self) -> list[Tensor]:
        return [g.get_state() for g in self.generators]

    def set_state(self, states: Sequence[Tensor]) -> None:
        if len(states) != len(self.generators):
            raise ValueError(f"checkpoint holds {len(states)} generators, this batch has {len(self.generators)}")
        for g, s in zip(self.generators, states):
            g.set_state(s)


def finish_runs(net: Runs, seeds: Sequence[int], records: Sequence[dict], seconds: float,
                device: torch.device) -> list[tuple[dict, dict[str, Tensor]]]:
    """Each run's (record, parameters) for the run store: ``records[r]`` (the experiment's own fields)
    plus the run's share of the batch's wall time, its trainable-parameter count (unless the record
    gives its own) and, for R > 1, how it was batched."""
    out = []
    for r, record in enumerate(records):
        record = {"n_params": net.n_params(r), **record, "seconds": seconds / len(seeds)}
        if len(seeds) > 1:
            record["batched"] = {"seeds": list(seeds), "seconds": seconds, "device": str(device)}
        out.append((record, net.state_dict_of(r)))
    return out


def stack(tensors: Iterable[Tensor]) -> Tensor:
    """Stack per-run tensors along a new first (run) axis."""
    return torch.stack(list(tensors), 0)


# A step of a batch of runs: (update index, the batched model, the runs' generators) -> the runs' losses
# (runs,) and per-run metrics {name: one float per run}.
BatchStep = Callable[[int, Runs, Generators], tuple[Tensor, dict[str, list[float]]]]


def train_runs(seeds: Sequence[int], build: Callable[..., nn.Module], make_optimizer: Callable[[Runs], Any],
               step: BatchStep, updates: int, *, device: torch.device, checkpoint: Path | None = None,
               make_scheduler: Callable[[Any], Any] | None = None, desc: str | None = None,
               progress: bool = True, start: Callable[[Runs, Generators], None] | None = None,
               batched_forward: str = "forward",
               native: bool = False) -> tuple[Runs, list[list[dict]], tuple[float, float]]:
    """The one training loop of every experiment: one run per seed, all as one model over a leading run axis
    (:class:`Runs`; for one seed, the module itself): each run's parameters are initialised and its
    sampler seeded exactly as a separate run of that seed (``seed_everything(seed)`` then ``build()``);
    every update minimises the sum of the runs' losses. ``start(net, generators)`` runs once before
    training (and before a checkpoint is restored), where a separate run would build what draws from its
    generator at construction (an environment). Returns the trained :class:`Runs`, each run's
    history (its own metrics and ``loss`` per update, as :func:`~plasticity_utils.training.train` gives a
    separate run) and the batch's (wall, CPU) seconds. Checkpoints and time limits as in ``train``.

    ``native=True``: ``build(seeds)`` returns one module that carries the run axis itself and initialises
    each run from that run's seed (``Runs(..., native=True)``); each run's generator is seeded as above."""
    from .environment import seed_everything
    from .training import elapsed, train

    models, generators = [], []
    for s in seeds:
        generators.append(seed_everything(s))
        if not native:
            models.append(build())
    if native:
        models.append(build(list(seeds)))
    net = Runs(models, batched_forward, native).to(device)
    gens = Generators(generators)
    optimizer = make_optimizer(net)
    scheduler = make_scheduler(optimizer) if make_scheduler is not None else None
    if start is not None:
        start(net, gens)

    def episode(i: int):
        losses, per_run = step(i, net, gens)
        metrics = {f"r{r}/loss": float(v) for r, v in enumerate(losses.detach().cpu())}
        for name, values in per_run.items():
            metrics.update({f"r{r}/{name}": float(v) for r, v in enumerate(values)})
            metrics[name] = float(sum(values) / len(values))  # the mean over runs, for the progress bar
        return losses.sum(), metrics

    if desc is None:
        desc = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]} batched"
    history = train(net, optimizer, episode, updates, generator=gens, checkpoint=checkpoint,
                    scheduler=scheduler, desc=desc, progress=progress)
    return net, split_runs(history, len(seeds)), elapsed(history)


def split_runs(history: list[dict], runs: int) -> list[list[dict]]:
    """Each run's own history from the batch's (``"r3/loss"`` -> run 3's ``"loss"``), in one pass."""
    out: list[list[dict]] = [[] for _ in range(runs)]
    for h in history:
        entries: list[dict] = [{} for _ in range(runs)]
        for key, value in h.items():
            run, sep, name = key.partition("/")
            if sep and run[:1] == "r" and run[1:].isdigit():
                entries[int(run[1:])][name] = value
        for r in range(runs):
            out[r].append(entries[r])
    return out
