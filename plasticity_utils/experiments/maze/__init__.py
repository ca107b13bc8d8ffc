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

Modules: :mod:`.config` (conditions, config, profiles), :mod:`.agent` (the agent, its episodes, the A2C loss),
:mod:`.runs` (training, playing trained agents), :mod:`.verdicts` (what the papers report, the analysis, the rows),
:mod:`.plots`; this package runs them (:func:`run`) and re-exports their names.
"""

from __future__ import annotations

from typing import Any, TypedDict

from ...environment import pick_device
from ...tasks.maze import MazeTask
from ...training import fixed_threads
from ..contract import Result, select_profile
from .agent import Agent, Episode, a2c_loss, build, discounted_returns, play, rollout, sample_actions
from .config import (CONDITIONS, PENALTIES, PROFILES, RUN_BYTES_FLOAT32, Config, MazeRecord, profile_config,
                     runs_per_batch)
from .plots import figures, plot_episode
from .runs import (CHANCE_SEED, EVAL_SEED, evaluate, hits_test, load_agent, random_episodes, store, train_conditions,
                   train_seeds, trainer)
from .verdicts import (LABELS, PAPER_EPISODES, PAPER_HOMOGENEOUS, PAPER_RETURNS, PAPER_SEPARATION, PAPER_STUCK,
                       RELEASED, STALL, budget, claims, comparison_verdict, course, final_rewards, finds, rank_sum,
                       returns_verdict, reward_curves, speed, stuck_verdict)


class Evaluations(TypedDict):
    """``Result.extra`` of :func:`run`: what is computed from the stored runs after training."""

    tests: dict[tuple[str, str], Any]  # (condition, condition) -> rank-sum test over the last ``last`` updates
    evals: dict[str, Any]  # condition's first run (and "random", a uniform policy) on ``eval_episodes`` fresh episodes
    chance: Any  # ``chance_episodes`` of the uniform random policy
    last: int  # the updates at the end of training that the tests compare
    task: MazeTask  # the maze the conditions trained on


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


__all__ = [  # the experiment's interface (the contract) and every module's names, re-exported
    "run", "Evaluations",
    # config.py
    "CONDITIONS", "PENALTIES", "MazeRecord", "Config", "RUN_BYTES_FLOAT32", "runs_per_batch", "PROFILES",
    "profile_config",
    # agent.py
    "Agent", "build", "Episode", "sample_actions", "play", "rollout", "discounted_returns", "a2c_loss",
    # runs.py
    "train_seeds", "trainer", "store", "train_conditions", "EVAL_SEED", "CHANCE_SEED", "load_agent", "evaluate",
    "random_episodes", "hits_test",
    # verdicts.py
    "PAPER_EPISODES", "PAPER_SEPARATION", "PAPER_HOMOGENEOUS", "PAPER_STUCK", "STALL", "PAPER_RETURNS", "RELEASED",
    "reward_curves", "final_rewards", "course", "stuck_verdict", "rank_sum", "LABELS", "comparison_verdict",
    "returns_verdict", "speed", "budget", "finds", "claims",
    # plots.py
    "figures", "plot_episode",
]
