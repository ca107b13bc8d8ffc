"""The agent (input layer, plastic recurrent cell, policy and value heads), its episodes and the A2C loss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...batched import Runs
from ...plastic import PlasticCell
from ...tasks.maze import N_ACTIONS, MazeBatch, MazeTask
from .config import CONDITIONS, Config


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
