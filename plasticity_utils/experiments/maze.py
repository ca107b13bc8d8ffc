"""Maze exploration with reinforcement learning (ICML 2018 §4.4): plastic vs non-plastic vs homogeneous.

Agent: observations -> input layer ``i2h`` -> 200 recurrent tanh units with plastic recurrent
connections (Eq. 1 with Oja's rule, Eq. 3; a :class:`~plasticity_utils.plastic.PlasticCell`) -> a
softmax policy over the 4 actions and a value head:

    h(t) = tanh( i2h(obs(t)) + sum_i [w_ij + alpha_ij Hebb_ij(t)] h_i(t-1) )
    Hebb_ij(t+1) = Hebb_ij(t) + eta h_j(t) (h_i(t-1) - h_j(t) Hebb_ij(t))

w and alpha start at 0.01 U(0,1), eta is learned from 0.01. Conditions: ``plastic`` (one alpha per
connection), ``nonplastic`` (no alpha, no trace) and ``homogeneous`` (one alpha shared by all
connections).

Training is batched A2C (the authors' follow-up code trains on batches of 30 episodes): discount 0.9,
value-loss coefficient 0.03, the authors' exploration penalty 0.1 * sum_a p_a^2 at every step (or the
standard entropy bonus, ``Config.penalty="entropy"``), loss divided by the episode length, Adam with
lr 1e-4 and eps 1e-4.

The episode is closed-loop (each observation depends on the sampled actions), so it is first played
step by step without a graph (:func:`rollout`). The sampled actions are constants of the policy
gradient, so the network's activities are then a deterministic function of the recorded observations:
:meth:`Agent.replay` recomputes them in one open-loop pass through the fused plastic layer, whose
hand-written backward recomputes the traces instead of storing 250 trace tensors. The tests check
that this gives the same loss and gradients as differentiating through the closed loop directly.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, TypedDict

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor, nn

from ..batched import Generators, Runs, finish_runs, train_runs
from ..environment import check_flag, check_seeds, figures_dir, pick_device, results_dir
from ..plastic import RULES, PlasticCell
from ..plotting import band, save, smooth
from ..stats import SIGNIFICANCE
from ..tasks.maze import N_ACTIONS, MazeBatch, MazeTask, maze_grid
from ..training import Job, RunStore, fixed_threads, trainer_of
from ..validation import check
from .contract import (Claim, Options, Profile, Record, Reported, Result, missed, record_keys, select_profile,
                       sensitive, verdict)

CONDITIONS = {"plastic": "per_connection", "nonplastic": "none", "homogeneous": "shared"}
PENALTIES = ("sum_sq", "entropy")


class _MazeTiming(Record, total=False):
    cpu_seconds: float  # CPU seconds of the training, this run's share
    batch: int  # episodes per update


class MazeRecord(_MazeTiming):
    """An agent's run: one entry per update (means over its ``batch`` episodes)."""

    reward: list[float]  # total reward of an episode
    hits: list[float]  # times an episode reached the reward square
    loss: list[float]  # the A2C loss (:func:`a2c_loss`)
    eta: list[float]  # the plasticity rate after the update
    value_loss: list[float]  # the value term of the loss, divided by the episode's steps
    penalty: list[float]  # the policy-concentration term, divided by the episode's steps


class Evaluations(TypedDict):
    """``Result.extra`` of :func:`run`: what is computed from the stored runs after training."""

    tests: dict[tuple[str, str], Any]  # (condition, condition) -> rank-sum test over the last ``last`` updates
    evals: dict[str, Any]  # condition's first run (and "random", a uniform policy) on ``eval_episodes`` fresh episodes
    chance: Any  # ``chance_episodes`` of the uniform random policy
    last: int  # the updates at the end of training that the tests compare
    task: MazeTask  # the maze the conditions trained on


@dataclass(frozen=True)
class Config:
    RECORD_KEYS: ClassVar[tuple[str, ...]] = record_keys(MazeRecord)  # what a stored run must hold

    task: MazeTask = field(default_factory=MazeTask)
    condition: str = "plastic"
    hidden: int = 200
    batch: int = 30  # episodes per update
    updates: int = 100
    lr: float = 1e-4
    adam_eps: float = 1e-4
    gamma: float = 0.9
    value_coef: float = 0.03
    penalty: str = "sum_sq"
    penalty_coef: float = 0.1
    rule: str = "oja"
    eta: float = 0.01
    init_scale: float = 0.01

    def __post_init__(self) -> None:
        check(self, types={"task": MazeTask}, choices={"condition": tuple(CONDITIONS), "penalty": PENALTIES,
                                                        "rule": RULES},
              counts=("hidden", "batch", "updates"), positive=("lr", "adam_eps", "init_scale"), unit=("gamma",),
              non_negative_real=("value_coef", "penalty_coef"), rate=("eta",))

    @property
    def episodes(self) -> int:
        return self.updates * self.batch


# Memory of one batched run (float32, batch 30 x 250 steps), measured on the CPU as peak RSS: 1.30 GB for
# one run and 1.83 GB for two over 2 updates (1.36 GB for one over 3): ~0.55 GB per run, the fused layer's
# batched replay keeping a trace checkpoint every ~16 steps. (Through the reference layer it was ~7 GB per run.)
RUN_BYTES_FLOAT32 = 0.6e9


def runs_per_batch(device: torch.device, runs: int, share: float = 0.8) -> int:
    """How many runs of the paper's agent (hidden 200, batch 30, 250 steps) one batched model may hold on
    ``device``: ``share`` of its memory (a GPU's, or the machine's for the CPU) over the memory per run
    measured above at the default dtype; at least 1, at most ``runs``. A whole condition (15 runs) on any
    GPU of 16 GB or more and on the 24 GiB CPU machine. The batch's checkpoint is named by its seeds, so an
    interrupted batch resumes only on a device that forms the same groups."""
    if device.type == "cuda":
        memory = torch.cuda.get_device_properties(device).total_memory
    else:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    per_run = RUN_BYTES_FLOAT32 * torch.get_default_dtype().itemsize / 4
    return max(1, min(runs, int(share * memory // per_run)))


def _profile(updates: int, runs: int, note: str, batched: bool = False) -> Profile:
    # batched: the runs of a condition train as one batched model, as many at a time as runs_per_batch allows
    return Profile({c: Config(updates=updates, condition=c) for c in CONDITIONS}, runs, note,
                   Options(batched=batched, extra={"eval_episodes": 100, "chance_episodes": 300, "last": 0.2}))


# Scale is the only thing a profile changes: updates (of `batch` episodes) per run and runs per condition.
# cpu: about 60 minutes for the 3 conditions on 2 cores, derived from measured seconds per update
# (see benchmarks/maze.py and the notebook); paper: about 200,000 episodes and 15 runs per condition.
PROFILES = {
    "smoke": _profile(1, 2, "pipeline check only"),
    "cpu": _profile(120, 4, "4 runs x 120 updates of 30 episodes = 3,600 episodes per run and condition"),
    "paper": _profile(6700, 15, "15 runs x 6,700 updates of 30 episodes = 201,000 episodes per run and condition; "
                                "the runs of a condition trained as one batched model, as many at a time as the "
                                "device's memory holds (all 15 on any GPU of 16 GB or more)", batched=True),
}

# What others report (see :mod:`.contract`).
PAPER_EPISODES = 200_000  # training episodes per run behind the paper's maze claims (ICML 2018 §4.4, Fig. 4)
PAPER_SEPARATION = Reported("plastic clearly above non-plastic (15 runs per condition, ~200,000 episodes, "
                            "rank-sum test)", "ICML 2018 §4.4, Fig. 4")
PAPER_HOMOGENEOUS = Reported("homogeneous plastic below full plastic", "ICML 2018 §4.4, Fig. 4")
PAPER_STUCK = Reported("'The non-plastic and homogeneous networks get stuck on a sub-optimal policy' (Results 2)",
                       "ICML 2018 course summary, maze, 002_211b927b97543b95.txt")
# "Stuck": over the last half of training the median run gains less than STALL of its whole rise (first to
# last fifth of training): a tenth, so that a curve still climbing at a tenth of its earlier pace is not stuck.
STALL = 0.10
PAPER_RETURNS = Reported("the agent returns to the reward after each teleport", "ICML 2018 §4.4")
RELEASED = Reported("one episode per update for ~1,000,000 updates per run (its figure keeps runs with at least "
                    "9,000 plotted points)", "authors' released maze code, read for this project (figures/released_code.md)")


def profile_config(profile: str) -> tuple[Config, list[int]]:
    """The plastic condition's config at ``profile`` and the seeds (one per run)."""
    p = select_profile(PROFILES, profile)
    return p.configs["plastic"], list(range(p.seeds))


class Agent(nn.Module):
    """Input layer, plastic recurrent layer, policy and value heads (ICML 2018 §4.4)."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        alpha = CONDITIONS[config.condition]
        self.i2h = nn.Linear(config.task.n_obs, config.hidden)
        self.rnn = PlasticCell(
            config.hidden, input_mode="add", rule=config.rule, alpha=alpha, eta=config.eta,
            learn_eta=alpha != "none", w_init="uniform", alpha_init="uniform", init_scale=config.init_scale,
        )
        self.policy = nn.Linear(config.hidden, N_ACTIONS)
        self.value = nn.Linear(config.hidden, 1)

    @property
    def plastic(self) -> bool:
        return self.rnn.connection.plastic

    def initial_state(self, batch: int) -> tuple[Tensor, Tensor | None]:
        """h(0) = 0 and Hebb(0) = 0 (no trace for the non-plastic network)."""
        return self.rnn.initial_state(batch)

    def step(self, obs: Tensor, h: Tensor, hebb: Tensor | None, inplace: bool = True,
             eta: float | None = None) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """One closed-loop step: (policy logits, value, h(t), Hebb(t+1)) from obs(t), h(t-1), Hebb(t).

        Without autograd (``torch.no_grad``) and with ``inplace`` the trace is updated in place, which is
        several times faster for 30 x 200 x 200 traces; ``hebb`` is then overwritten. The in-place kernel
        takes eta as a Python number: pass ``eta`` (read once per episode) to spare reading it from the
        device at every step. (A batch of runs under ``vmap`` passes ``inplace=False``.)
        """
        h_new, hebb = self.rnn(self.i2h(obs.to(self.i2h.weight.dtype)), (h, hebb), inplace=inplace, eta=eta)
        return self.policy(h_new), self.value(h_new).squeeze(-1), h_new, hebb

    def replay(self, obs: Tensor, impl: str = "fused") -> tuple[Tensor, Tensor]:
        """Policy logits (B, T, 4) and values (B, T) for a recorded episode of observations (B, T, n_obs)."""
        xs, _ = self.rnn.episode(self.i2h(obs.to(self.i2h.weight.dtype)), impl=impl)
        return self.policy(xs), self.value(xs).squeeze(-1)


def build(config: Config) -> Agent:
    return Agent(config)


@dataclass
class Episode:
    """Played episodes: obs (..., B, T, n_obs), actions and rewards (..., B, T), the agent's squares
    (..., B, T+1, 2) before each step and after the last, reward squares (..., B, 2); logits (..., B, T, 4)
    and values (..., B, T) when played with ``keep_graph``. :func:`rollout` gives the leading run axis
    (R, B, ...); :meth:`of_run` one run's episodes (B, ...)."""

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    positions: Tensor
    reward_pos: Tensor
    logits: Tensor | None = None
    values: Tensor | None = None

    def of_run(self, run: int) -> "Episode":
        """The episodes of run ``run`` alone (without the run axis)."""
        return Episode(*(None if f is None else f[run] for f in (self.obs, self.actions, self.rewards, self.positions,
                                                                   self.reward_pos, self.logits, self.values)))

    def hits(self, task: MazeTask) -> Tensor:
        """Times each episode found the reward (..., B)."""
        return (self.rewards >= task.reward - task.wall_penalty).sum(-1)

    def bumps(self, task: MazeTask) -> Tensor:
        """Times each episode walked into a wall (..., B)."""
        return (self.rewards == -task.wall_penalty).sum(-1)

    def total_reward(self) -> Tensor:
        return self.rewards.sum(-1)


def sample_actions(logits: Tensor, generators: Iterable[torch.Generator]) -> Tensor:
    """One action per maze from softmax(logits) (R, B, 4), by inverting the CDF with a uniform draw per maze,
    run r's from ``generators[r]`` (drawn on the CPU, so the same on every device)."""
    u = [torch.rand(logits.shape[-2], 1, generator=g, dtype=logits.dtype) for g in generators]
    u = u[0][None] if len(u) == 1 else torch.stack(u)
    cdf = torch.softmax(logits, -1).cumsum(-1)
    return (cdf < u.to(logits.device)).sum(-1).clamp(max=logits.shape[-1] - 1)


def play(env: MazeBatch, policy: Callable[[Tensor], Tensor]) -> Episode:
    """One episode in every maze of ``env``, each step's actions (R, B) chosen by ``policy(observation)``."""
    obs = env.reset()
    all_obs, actions, rewards, positions = [], [], [], [env.pos]
    while not env.done:
        action = policy(obs)
        all_obs.append(obs)
        obs, reward = env.step(action, check=False)  # the policies here draw actions in range
        actions.append(action)
        rewards.append(reward)
        positions.append(env.pos)
    return Episode(torch.stack(all_obs, -2), torch.stack(actions, -1), torch.stack(rewards, -1),
                   torch.stack(positions, -2), env.reward_pos.clone())


def rollout(net: Runs, env: MazeBatch, keep_graph: bool = False) -> Episode:
    """Play one episode in every maze of ``env`` with the stochastic policies of ``net``: run r's agent plays
    run r's mazes and draws its actions from run r's generator (``env.generators[r]``), as it would alone.

    ``keep_graph=False`` (training): no graph is built; use :meth:`Agent.replay` for gradients.
    ``keep_graph=True``: the logits and values of the closed loop itself are returned, differentiable
    step by step (the reference the replay is tested against).
    """
    step, logits_t, values_t = _stepper(net, env), [], []

    def policy(obs: Tensor) -> Tensor:
        logits, value = step(obs)
        logits_t.append(logits)
        values_t.append(value)
        return sample_actions(logits.detach(), env.generators)

    with torch.set_grad_enabled(keep_graph and torch.is_grad_enabled()):
        ep = play(env, policy)
    if keep_graph:
        ep.logits, ep.values = torch.stack(logits_t, -2), torch.stack(values_t, -1)
    return ep


def _stepper(net: Runs, env: MazeBatch) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
    """The agents' closed-loop step from h(0) = 0 and Hebb(0) = 0: observations (R, B, n_obs) -> policy logits
    (R, B, 4) and values (R, B), the recurrent state kept inside. One run: the agent itself on its state
    without the run axis (the trace updated in place under ``no_grad``, eta read once per episode); R > 1:
    through ``vmap``, the state carrying the run axis."""
    if net.single:
        agent = net.module
        h, hebb = agent.initial_state(env.batch)
        eta = agent.rnn.connection.eta.item() if hebb is not None else None  # constant during the episode

        def step(obs: Tensor) -> tuple[Tensor, Tensor]:
            nonlocal h, hebb
            logits, value, h, hebb = agent.step(obs[0], h, hebb, eta=eta)
            return logits[None], value[None]

        return step
    w = net.parameter("rnn.connection.w")  # (R, hidden, hidden)
    h = w.new_zeros(*env.shape, w.shape[-1])
    hebb = w.new_zeros(*env.shape, *w.shape[-2:]) if "rnn.connection.alpha" in net.names else None

    def step_runs(obs: Tensor) -> tuple[Tensor, Tensor]:
        nonlocal h, hebb
        if hebb is None:  # vmap maps tensors: the missing trace goes by keyword
            logits, value, h, _ = net.call("step", obs, h, hebb=None, inplace=False)
        else:
            logits, value, h, hebb = net.call("step", obs, h, hebb, inplace=False)
        return logits, value

    return step_runs


def discounted_returns(rewards: Tensor, gamma: float) -> Tensor:
    """R(t) = r(t) + gamma R(t+1), with R = 0 after the last step (..., T)."""
    returns = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[..., 0])
    for t in reversed(range(rewards.shape[-1])):
        running = rewards[..., t] + gamma * running
        returns[..., t] = running
    return returns


def a2c_loss(logits: Tensor, values: Tensor, actions: Tensor, rewards: Tensor,
             config: Config) -> tuple[Tensor, dict[str, list[float]]]:
    """The A2C loss of each run's batch of episodes (..., B, T), summed over steps, averaged over episodes,
    divided by T:

        [ -sum_t log pi(a_t) (R_t - V_t)   + value_coef sum_t (R_t - V_t)^2   + penalty_coef sum_t P_t ] / T

    with the advantage R_t - V_t held constant in the policy term, and P_t = sum_a p_a^2 (the
    authors' penalty on concentrated policies) or -entropy (``penalty="entropy"``). Returns the losses
    (...) and the three terms / T, one float per run.
    """
    steps = rewards.shape[-1]
    log_p = F.log_softmax(logits, -1)
    advantage = discounted_returns(rewards.to(values.dtype), config.gamma) - values
    policy = -(log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1) * advantage.detach()).sum(-1).mean(-1)
    value = advantage.pow(2).sum(-1).mean(-1)
    p = log_p.exp()
    if config.penalty == "sum_sq":
        penalty = p.pow(2).sum(-1).sum(-1).mean(-1)
    else:
        penalty = (p * log_p).sum(-1).sum(-1).mean(-1)  # = -entropy
    loss = (policy + config.value_coef * value + config.penalty_coef * penalty) / steps
    parts = {"policy_loss": policy, "value_loss": value, "penalty": penalty}
    return loss, {k: [v / steps for v in part.detach().reshape(-1).tolist()] for k, part in parts.items()}


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


@fixed_threads()  # stored and scored numbers independent of the machine's core count
def run(profile: str, *, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        batched: bool | None = None) -> Result:
    """Train (or load) every run of the three conditions, then evaluate (see the contract).

    ``result.extra``: :class:`Evaluations`."""
    p = select_profile(PROFILES, profile)
    runs = train_conditions(profile, seeds, force, device, batched=batched)
    last, task = p.options["last"], p.configs["plastic"].task
    tests = {pair: rank_sum(runs[pair[0]], runs[pair[1]], last)
             for pair in [("plastic", "nonplastic"), ("homogeneous", "nonplastic"), ("plastic", "homogeneous")]}
    evals = {}
    for condition, records in runs.items():
        agent, cfg = load_agent(profile, records[0], device)
        evals[condition] = evaluate(agent, cfg.task, p.options["eval_episodes"], EVAL_SEED, device)
    evals["random"] = random_episodes(task, p.options["eval_episodes"], EVAL_SEED, device)
    chance = random_episodes(task, p.options["chance_episodes"], CHANCE_SEED, device)
    return Result("maze", profile, runs, str(pick_device(device)),
                  Evaluations(tests=tests, evals=evals, chance=chance, last=last, task=task))


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


# -- analysis ----------------------------------------------------------------------------------
def reward_curves(records: list[dict], window: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """x = episodes trained (after each update) and the runs' reward per episode (runs x updates),
    each run smoothed by a trailing mean over ``window`` updates."""
    rewards = np.array([r["reward"] for r in records], dtype=float)
    x = np.arange(1, rewards.shape[1] + 1) * records[0]["batch"]
    return x, smooth(rewards, window)


def final_rewards(records: list[dict], last: float = 0.2) -> np.ndarray:
    """Each run's mean reward per episode over the last ``last`` fraction of its updates."""
    rewards = np.array([r["reward"] for r in records], dtype=float)
    k = max(1, int(round(last * rewards.shape[1])))
    return rewards[:, -k:].mean(1)


def course(records: list[dict], last: float = 0.2) -> dict[str, float]:
    """The median run's reward per episode over the first, the middle (ending half-way) and the last ``last``
    fraction of training; ``rise`` = last - first, ``late`` = last - middle (the last half's gain)."""
    rewards = np.array([r["reward"] for r in records], dtype=float)
    n = rewards.shape[1]
    k = max(1, int(round(last * n)))
    first, middle, end = (float(np.median(rewards[:, a:a + k].mean(1))) for a in (0, max(0, n // 2 - k), n - k))
    return {"first": first, "middle": middle, "end": end, "rise": end - first, "late": end - middle}


def stuck_verdict(courses: dict[str, dict[str, float]], episodes: int, stall: float = STALL) -> str:
    """Verdict on "the non-plastic and homogeneous networks get stuck on a sub-optimal policy": each ends below
    the plastic network and has stalled (its last half's gain below ``stall`` x its whole rise; no gain at all
    when it never rose). A miss goes through the budget rule (:func:`.contract.missed`)."""
    top = courses["plastic"]["end"]
    words, ok = [], True
    for name in ("nonplastic", "homogeneous"):
        c = courses[name]
        stalled = c["late"] < stall * max(c["rise"], 0.0) if c["rise"] > 0 else c["late"] <= 0
        below = c["end"] < top
        ok &= stalled and below
        words.append(f"{LABELS[name]} {'stalled' if stalled else 'still rising'} (last half {c['late']:+.2f} of a "
                     f"{c['rise']:+.2f} rise), {'below' if below else 'not below'} plastic ({c['end']:.2f} vs {top:.2f})")
    if ok:
        return verdict("reproduced", "; ".join(words))
    return missed("; ".join(words), episodes, PAPER_EPISODES, unit="episodes per run")


def rank_sum(a: list[dict], b: list[dict], last: float = 0.2) -> dict:
    """Wilcoxon rank-sum (Mann-Whitney U) tests, two-sided, of reward between two conditions over the
    last ``last`` fraction of training.

    ``per_run``: one value per run (its mean reward there); the runs are independent, so this is the
    test to trust, but with few runs its smallest attainable p-value is large (0.029 for 4 vs 4).
    ``pooled``: every update's batch-mean reward of every run as one sample; updates of one run are
    not independent, so this p-value is optimistic and is shown for comparison only.
    """
    fa, fb = final_rewards(a, last), final_rewards(b, last)
    per_run = stats.mannwhitneyu(fa, fb, alternative="two-sided")
    k = max(1, int(round(last * len(a[0]["reward"]))))
    pa = np.concatenate([r["reward"][-k:] for r in a])
    pb = np.concatenate([r["reward"][-k:] for r in b])
    pooled = stats.ranksums(pa, pb)
    return {"median_a": float(np.median(fa)), "median_b": float(np.median(fb)), "n_a": len(fa), "n_b": len(fb),
            "U": float(per_run.statistic), "p_per_run": float(per_run.pvalue),
            "p_pooled": float(pooled.pvalue), "updates_compared": k}


LABELS = {"plastic": "plastic", "nonplastic": "non-plastic", "homogeneous": "homogeneous plastic",
          "random": "random policy"}


def comparison_verdict(median_a: float, median_b: float, p: float, runs: int, episodes: int,
                       level: float = SIGNIFICANCE) -> str:
    """Verdict on "a collects more reward than b" from the rank-sum test over runs (two-sided, at ``level``)."""
    where = f"{median_a:.2f} vs {median_b:.2f} reward/episode, p = {p:.2f} over {runs} vs {runs} runs"
    if median_a > median_b and p < level:
        return verdict("reproduced", where)
    if median_a < median_b and p < level:
        return verdict("not reproduced", f"significantly the other way: {where}")
    return missed(f"no significant difference ({where})", episodes, PAPER_EPISODES, unit="episodes per run")


def returns_verdict(best_finds: int, above_chance: bool, random_best: int, episodes: int) -> str:
    """Verdict on "the trained agent returns to the reward": its best evaluation episode finds the
    reward at least twice, and over all episodes it finds it more often than a random policy (a best
    episode alone proves nothing: a random walk also finds the reward several times now and then).
    A miss after ``episodes`` training episodes per run goes through the budget rule (:func:`.contract.missed`)."""
    if best_finds >= 2 and above_chance:
        return verdict("reproduced", f"best episode {best_finds} finds, and above the random policy overall")
    if best_finds >= 2:
        return missed(f"best episode {best_finds} finds, but a random policy does as much (its best episode: "
                      f"{random_best}) and the agent is not above it overall", episodes, PAPER_EPISODES,
                      unit="episodes per run")
    return missed(f"no evaluation episode finds the reward twice (best {best_finds})", episodes, PAPER_EPISODES,
                  unit="episodes per run")


def speed(runs: dict[str, list[dict]], key: str = "seconds") -> dict[str, float]:
    """Mean seconds per update of each condition: wall-clock (``key="seconds"``) or the process's CPU time
    (``"cpu_seconds"``, which other processes on the machine do not inflate)."""
    return {c: float(np.mean([r[key] / len(r["reward"]) for r in rs])) for c, rs in runs.items()}


def budget(result: Result) -> str:
    cfg, n = PROFILES[result.profile].configs["plastic"], len(result.runs["plastic"])
    cpu = all("cpu_seconds" in r for rs in result.runs.values() for r in rs)
    s = speed(result.runs, "cpu_seconds" if cpu else "seconds")
    minutes = sum(r["seconds"] for rs in result.runs.values() for r in rs) / 60
    return (f"{n} runs x {cfg.updates} updates of {cfg.batch} episodes = {cfg.episodes:,} episodes per run and "
            f"condition (released code: ~1,000,000 updates of 1 episode); {s['plastic']:.1f} / {s['nonplastic']:.1f} "
            f"/ {s['homogeneous']:.1f} s {'of CPU time ' if cpu else ''}per update (plastic / non-plastic / "
            f"homogeneous); {minutes:.0f} min of wall time in all on {result.device}")


def finds(result: Result) -> dict[str, np.ndarray]:
    """Rewards found per evaluation episode, per condition and for the random policy."""
    return {c: ep.hits(result.extra["task"]).cpu().numpy() for c, ep in result.extra["evals"].items()}


def claims(result: Result) -> list[Claim]:
    """The separation claims (rank-sum over runs) and the trained agent's returns to the reward."""
    tests, b, last = result.extra["tests"], budget(result), result.extra["last"]
    episodes = PROFILES[result.profile].configs["plastic"].episodes
    final = {c: float(np.median(final_rewards(rs, last))) for c, rs in result.runs.items()}
    main, homo = tests[("plastic", "nonplastic")], tests[("plastic", "homogeneous")]
    h = finds(result)
    p_chance = hits_test(result.extra["evals"]["plastic"], result.extra["evals"]["random"], result.extra["task"])
    level = {"significance level": SIGNIFICANCE}
    courses = {c: course(rs, last) for c, rs in result.runs.items()}

    def compared(test: dict) -> str:
        return sensitive(lambda a: comparison_verdict(test["median_a"], test["median_b"], test["p_per_run"],
                                                      test["n_a"], episodes, a), level)

    def returns(a: float) -> str:
        above = bool(h["plastic"].mean() > h["random"].mean() and p_chance < a)
        return returns_verdict(int(h["plastic"].max()), above, int(h["random"].max()), episodes)

    return [
        Claim("maze: plastic vs non-plastic reward per episode at the end of training (median over runs)",
              str(PAPER_SEPARATION), str(RELEASED),
              f"{final['plastic']:.2f} vs {final['nonplastic']:.2f}; rank-sum p = {main['p_per_run']:.3f} "
              f"({main['n_a']} vs {main['n_b']} runs; pooled updates p = {main['p_pooled']:.2g})", b,
              compared(main)),
        Claim("maze: homogeneous plastic (one shared alpha) vs full plastic", str(PAPER_HOMOGENEOUS), "",
              f"{final['homogeneous']:.2f} vs {final['plastic']:.2f}; rank-sum p = {homo['p_per_run']:.3f}", b,
              compared(homo)),
        Claim("maze: the non-plastic and homogeneous networks get stuck below the plastic one (learning curves)",
              str(PAPER_STUCK), "",
              "median reward per episode, first / middle / last fifth of training: " + "; ".join(
                  f"{LABELS[c]} {k['first']:.2f} / {k['middle']:.2f} / {k['end']:.2f}" for c, k in courses.items()),
              b, sensitive(lambda t: stuck_verdict(courses, episodes, t), {"stalled: last-half gain / rise <": STALL})),
        Claim("maze: trained plastic agent finds the reward at least twice in one episode", str(PAPER_RETURNS), "",
              f"best of {len(h['plastic'])} episodes: {int(h['plastic'].max())} finds; mean {h['plastic'].mean():.2f} "
              f"per episode (uniformly random policy: best {int(h['random'].max())}, mean {h['random'].mean():.2f}; "
              f"p = {p_chance:.2g})", b, sensitive(returns, level)),
    ]


def figures(result: Result) -> dict[str, Path]:
    """Reward curves (median and 25-75% over runs) and the best evaluation episode of the plastic agent."""
    folder, cfg = figures_dir(result.profile), PROFILES[result.profile].configs["plastic"]
    window, k = max(1, cfg.updates // 12), max(1, round(result.extra["last"] * cfg.updates))
    colors = dict(zip([*CONDITIONS, "random"], [*plt.rcParams["axes.prop_cycle"].by_key()["color"][:3], "0.5"]))
    fig, ax = plt.subplots(figsize=(7, 4))
    for condition, rs in result.runs.items():
        x, curves = reward_curves(rs, window)
        band(ax, x, curves, label=f"{LABELS[condition]} ({len(rs)} runs)", center="median", spread="iqr",
             color=colors[condition])
    ax.axhline(float(result.extra["chance"].total_reward().mean()), color="k", lw=0.8, ls="--",
               label="uniformly random policy")
    ax.axvspan(x[-k], x[-1], color="0.9", zorder=0, label="compared by the rank-sum test")
    ax.set(xlabel="training episodes", ylabel="reward per episode (mean of each batch)",
           title=f"Maze: median and 25-75% over runs (trailing mean over {window * cfg.batch} episodes)")
    ax.legend(frameon=False, fontsize=9)
    out = {"reward": save(fig, "maze_reward", folder)}
    h, task = finds(result), result.extra["task"]
    best = int(np.argmax(h["plastic"]))
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.6), gridspec_kw={"width_ratios": [1, 1.1]},
                                   layout="constrained")
    plot_episode(ax0, result.extra["evals"]["plastic"], best, task,
                 title=f"plastic agent, best of {len(h['plastic'])} episodes: reward found {int(h['plastic'][best])} times")
    ax0.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False, fontsize=8, ncol=2)
    bins = np.arange(0, max(int(v.max()) for v in h.values()) + 2) - 0.5
    for condition, v in h.items():
        ax1.hist(v, bins=bins, histtype="step", lw=1.6, color=colors[condition],
                 label=f"{LABELS[condition]}: mean {v.mean():.2f}")
    ax1.set(xlabel="times the reward was found in an episode", ylabel=f"episodes (of {len(h['plastic'])})",
            title=f"all {len(h['plastic'])} evaluation episodes (first run of each condition)")
    ax1.legend(frameon=False, fontsize=9)
    out["trajectory"] = save(fig, "maze_trajectory", folder)
    return out


def plot_episode(ax, ep: Episode, index: int, task: MazeTask, title: str = "") -> None:
    """The maze (walls dark), a heat map of the squares one episode visited, its path (into the
    reward square at each find), the start (centre), the reward square (star) and the squares the
    agent was teleported to after each find (triangles)."""
    grid = maze_grid(task.size).numpy()
    pos = ep.positions[index].cpu().numpy()
    r = ep.reward_pos[index].cpu().numpy()
    visits = np.zeros(grid.shape)
    np.add.at(visits, (pos[:, 0], pos[:, 1]), 1)
    ax.imshow(grid, cmap="Greys", vmin=0, vmax=1.4)
    im = ax.imshow(np.ma.masked_where(grid | (visits == 0), visits), cmap="viridis")
    finds = np.flatnonzero(ep.rewards[index].cpu().numpy() >= task.reward - task.wall_penalty)
    start = 0
    for t in [*finds, len(pos) - 1]:  # positions[t] is before step t, positions[t + 1] after it
        seg = pos[start : t + 1]
        if t in finds:
            seg = np.vstack([seg, r])
        ax.plot(seg[:, 1], seg[:, 0], color="w", lw=0.9, alpha=0.8)
        start = t + 1
    ax.plot(pos[0, 1], pos[0, 0], "o", color="tab:blue", ms=7, label="start (centre)")
    ax.plot(r[1], r[0], "*", color="tab:red", ms=16, label="reward (invisible to the agent)")
    if finds.size:
        ax.plot(pos[finds + 1, 1], pos[finds + 1, 0], "^", color="tab:orange", ms=7, ls="none",
                label="teleported to, after a find")
    ax.set(xticks=[], yticks=[], title=title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="visits")


__all__ = ["Config", "CONDITIONS", "PROFILES", "LABELS", "profile_config", "runs_per_batch", "Agent", "build",
           "Episode", "sample_actions", "play", "rollout", "discounted_returns", "a2c_loss", "train_seeds", "trainer",
           "train_conditions", "run", "claims", "figures", "comparison_verdict", "returns_verdict", "speed", "budget",
           "finds", "load_agent", "evaluate", "random_episodes", "hits_test", "reward_curves", "final_rewards",
           "rank_sum", "plot_episode"]
