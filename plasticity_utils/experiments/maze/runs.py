"""Training the agents (one per seed, over a run axis) and playing the trained ones on fresh episodes."""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from scipy import stats

from ...batched import Generators, Runs, finish_runs, train_runs
from ...environment import check_flag, check_seeds, pick_device, results_dir
from ...tasks.maze import N_ACTIONS, MazeBatch, MazeTask
from ...training import Job, RunStore, trainer_of
from ..contract import select_profile
from .agent import Agent, Episode, a2c_loss, build, play, rollout
from .config import CONDITIONS, PROFILES, Config, runs_per_batch


def train_seeds(config: Config, seeds: list[int], checkpoint: Path | None, device: torch.device,
                progress: bool = True) -> list[tuple[dict, dict]]:
    """Train one agent per seed on ``config.updates`` batches of ``config.batch`` episodes, all as one model
    over a run axis (:func:`~plasticity_utils.batched.train_runs`; one seed: the agent itself). One
    :class:`~plasticity_utils.tasks.maze.MazeBatch` holds every run's mazes and each run draws from its own
    generator, so each run equals its training alone (``tests/test_batched.py``); for R > 1 the replay runs
    the fused layer's batched form under ``vmap``. Returns one (record, parameters) per seed."""
    env: dict[str, MazeBatch] = {}

    def start(net: Runs, gens: Generators) -> None:  # the mazes draw their first reward squares when built
        env["mazes"] = MazeBatch(config.task, config.batch, gens, device)

    def step(_: int, net: Runs, gens: Generators):
        ep = rollout(net, env["mazes"])
        logits, values = net.call("replay", ep.obs)
        losses, parts = a2c_loss(logits, values, ep.actions, ep.rewards, config)
        return losses, {"reward": ep.total_reward().mean(-1).tolist(),
                        "hits": ep.hits(config.task).float().mean(-1).tolist(),
                        "eta": net.parameter("rnn.connection.eta").detach().cpu().tolist(), **parts}

    what = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}-{seeds[-1]} batched"
    net, histories, (seconds, cpu_seconds) = train_runs(
        seeds, lambda: build(config), lambda net: torch.optim.Adam(net.parameters(), lr=config.lr, eps=config.adam_eps),
        step, config.updates, device=device, checkpoint=checkpoint, start=start, desc=f"{config.condition} {what}",
        progress=progress)
    records = [{**{k: [h[k] for h in history] for k in Config.RECORD_KEYS},
                "cpu_seconds": cpu_seconds / len(seeds), "batch": config.batch} for history in histories]
    return finish_runs(net, seeds, records, seconds, device)


def trainer(config: Config, device: str | None = None, progress: bool = True) -> functools.partial:
    """A picklable ``train(seeds, checkpoint)`` for one config (the device is picked where it runs)."""
    return trainer_of(train_seeds, config, device, progress=progress)


def store(profile: str) -> RunStore:
    return RunStore(results_dir("maze", profile))


def train_conditions(profile: str, seeds: list[int] | None = None, force: bool = False,
                     device: str | None = None, conditions: tuple[str, ...] = tuple(CONDITIONS),
                     progress: bool = True, batched: bool | None = None) -> dict[str, list[dict]]:
    """Train (or load) every seed of every condition; returns {condition: [record per seed]}.

    One stored run per seed and condition, under ``results/maze/<profile>/<condition>-seed<k>-<hash>.*``.
    ``batched``: a condition's missing runs train as one batched model, as many at a time as
    :func:`runs_per_batch` allows (default: the profile's option, on for ``paper``), else one per call.
    """
    p = select_profile(PROFILES, profile)
    seeds = list(range(p.seeds)) if seeds is None else check_seeds(seeds)
    batched = p.options.batched if batched is None else check_flag("batched", batched)
    group = runs_per_batch(pick_device(device), len(seeds)) if batched else 1
    jobs = [Job(seeds, p.configs[c], trainer(p.configs[c], device, progress), f"{c}-") for c in conditions]
    return dict(zip(conditions, store(profile).train(jobs, group=group, force=force)))


EVAL_SEED, CHANCE_SEED = 12345, 54321


def load_agent(profile: str, record: dict, device: str | None = None) -> tuple[Agent, Config]:
    """The trained agent of a stored run (its final parameters) and its config."""
    raw = dict(record["config"])
    config = Config(**{**raw, "task": MazeTask(**raw["task"])})
    agent = build(config)
    agent.load_state_dict(store(profile).params(record["seed"], record["config"], tag=f"{config.condition}-"))
    return agent.to(pick_device(device)).eval(), config


def evaluate(agent: Agent, task: MazeTask, episodes: int, seed: int, device: str | None = None) -> Episode:
    """Play ``episodes`` fresh episodes (one batch) with the stochastic policy, seeded."""
    env = MazeBatch(task, episodes, [torch.Generator().manual_seed(seed)], pick_device(device))
    with torch.no_grad():
        return rollout(Runs([agent]), env).of_run(0)


def random_episodes(task: MazeTask, episodes: int, seed: int, device: str | None = None) -> Episode:
    """``episodes`` episodes of a uniformly random policy (one batch): the chance level."""
    generator = torch.Generator().manual_seed(seed)
    env = MazeBatch(task, episodes, [generator], pick_device(device))
    return play(env, lambda _: torch.randint(N_ACTIONS, env.shape, generator=generator)).of_run(0)


def hits_test(a: Episode, b: Episode, task: MazeTask) -> float:
    """Two-sided rank-sum p-value between the numbers of rewards found per episode in ``a`` and ``b``."""
    return float(stats.mannwhitneyu(a.hits(task).cpu().numpy(), b.hits(task).cpu().numpy(),
                                    alternative="two-sided").pvalue)
