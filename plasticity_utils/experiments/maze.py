"""Maze exploration with reinforcement learning (ICML 2018 §4.4): plastic vs non-plastic vs homogeneous.

Agent: observations -> input layer ``i2h`` -> 200 recurrent tanh units with plastic recurrent
connections (Eq. 1 with Oja's rule, Eq. 3) -> a softmax policy over the 4 actions and a value head:

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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor, nn

from ..config import pick_device, results_dir, seed_everything, select
from ..plastic import RULES, PlasticRecurrent, hebb_update_
from ..plotting import smooth
from ..tasks.maze import N_ACTIONS, MazeBatch, MazeTask, maze_grid
from ..training import RunStore, elapsed, train
from ..validation import check

CONDITIONS = {"plastic": "per_connection", "nonplastic": "none", "homogeneous": "shared"}
PENALTIES = ("sum_sq", "entropy")


@dataclass(frozen=True)
class Config:
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


# Scale is the only thing a profile changes: updates (of `batch` episodes) per run and runs per condition.
# cpu: about 60 minutes for the 3 conditions on 2 cores, derived from measured seconds per update
# (see benchmarks/maze.py and the notebook); paper: about 200,000 episodes and 15 runs per condition.
PROFILES = {
    "smoke": (Config(updates=2), 2),
    "cpu": (Config(updates=120), 4),
    "paper": (Config(updates=6700), 15),
}


def profile_config(profile: str) -> tuple[Config, list[int]]:
    config, n_seeds = select(profile, PROFILES)
    return config, list(range(n_seeds))


class Agent(nn.Module):
    """Input layer, plastic recurrent layer, policy and value heads (ICML 2018 §4.4)."""

    def __init__(self, config: Config) -> None:
        super().__init__()
        alpha = CONDITIONS[config.condition]
        self.i2h = nn.Linear(config.task.n_obs, config.hidden)
        self.rnn = PlasticRecurrent(
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

    def step(self, obs: Tensor, h: Tensor, hebb: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
        """One closed-loop step: (policy logits, value, h(t), Hebb(t+1)) from obs(t), h(t-1), Hebb(t).

        Without autograd (``torch.no_grad``) the trace is updated in place, which is several times
        faster for 30 x 200 x 200 traces; ``hebb`` is then overwritten.
        """
        conn = self.rnn.connection
        h_new = torch.tanh(self.i2h(obs.to(self.i2h.weight.dtype)) + conn(h, hebb))
        if hebb is not None:
            if torch.is_grad_enabled():
                hebb = conn.update(hebb, h, h_new)
            else:
                hebb_update_(hebb, h, h_new, conn.eta.item(), conn.rule)
        return self.policy(h_new), self.value(h_new).squeeze(-1), h_new, hebb

    def replay(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """Policy logits (B, T, 4) and values (B, T) for a recorded episode of observations (B, T, n_obs)."""
        xs, _ = self.rnn(self.i2h(obs.to(self.i2h.weight.dtype)), impl="fused")
        return self.policy(xs), self.value(xs).squeeze(-1)


def build(config: Config) -> Agent:
    return Agent(config)


@dataclass
class Episode:
    """A batch of played episodes: obs (B, T, n_obs), actions and rewards (B, T), the agent's squares
    positions (B, T+1, 2) before each step and after the last, reward squares (B, 2); logits (B, T, 4)
    and values (B, T) when played with ``keep_graph``."""

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    positions: Tensor
    reward_pos: Tensor
    logits: Tensor | None = None
    values: Tensor | None = None

    def hits(self, task: MazeTask) -> Tensor:
        """Times each episode found the reward (B,)."""
        return (self.rewards >= task.reward - task.wall_penalty).sum(1)

    def bumps(self, task: MazeTask) -> Tensor:
        """Times each episode walked into a wall (B,)."""
        return (self.rewards == -task.wall_penalty).sum(1)

    def total_reward(self) -> Tensor:
        return self.rewards.sum(1)


def sample_actions(logits: Tensor, generator: torch.Generator) -> Tensor:
    """One action per row from softmax(logits), by inverting the CDF with a uniform draw from
    ``generator`` (drawn on the CPU, so the same on every device)."""
    u = torch.rand(logits.shape[0], 1, generator=generator, dtype=logits.dtype).to(logits.device)
    cdf = torch.softmax(logits, -1).cumsum(-1)
    return (cdf < u).sum(-1).clamp(max=logits.shape[-1] - 1)


def rollout(agent: Agent, env: MazeBatch, generator: torch.Generator, keep_graph: bool = False) -> Episode:
    """Play one episode in every maze of ``env`` with the stochastic policy.

    ``keep_graph=False`` (training): no graph is built; use :meth:`Agent.replay` for gradients.
    ``keep_graph=True``: the logits and values of the closed loop itself are returned, differentiable
    step by step (the reference the replay is tested against).
    """
    obs = env.reset()
    h, hebb = agent.initial_state(env.batch)
    h = h.to(env.device)
    hebb = hebb.to(env.device) if hebb is not None else None
    all_obs, actions, rewards, positions, logits_t, values_t = [], [], [], [env.pos], [], []
    with torch.set_grad_enabled(keep_graph and torch.is_grad_enabled()):
        while not env.done:
            logits, value, h, hebb = agent.step(obs, h, hebb)
            action = sample_actions(logits.detach(), generator)
            all_obs.append(obs)
            obs, reward = env.step(action)
            actions.append(action)
            rewards.append(reward)
            positions.append(env.pos)
            logits_t.append(logits)
            values_t.append(value)
    ep = Episode(torch.stack(all_obs, 1), torch.stack(actions, 1), torch.stack(rewards, 1),
                 torch.stack(positions, 1), env.reward_pos.clone())
    if keep_graph:
        ep.logits, ep.values = torch.stack(logits_t, 1), torch.stack(values_t, 1)
    return ep


def discounted_returns(rewards: Tensor, gamma: float) -> Tensor:
    """R(t) = r(t) + gamma R(t+1), with R = 0 after the last step (B, T)."""
    returns = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        running = rewards[:, t] + gamma * running
        returns[:, t] = running
    return returns


def a2c_loss(logits: Tensor, values: Tensor, actions: Tensor, rewards: Tensor,
             config: Config) -> tuple[Tensor, dict[str, float]]:
    """The A2C loss of one batch of episodes, summed over steps, averaged over episodes, divided by T:

        [ -sum_t log pi(a_t) (R_t - V_t)   + value_coef sum_t (R_t - V_t)^2   + penalty_coef sum_t P_t ] / T

    with the advantage R_t - V_t held constant in the policy term, and P_t = sum_a p_a^2 (the
    authors' penalty on concentrated policies) or -entropy (``penalty="entropy"``).
    """
    steps = rewards.shape[1]
    log_p = F.log_softmax(logits, -1)
    advantage = discounted_returns(rewards.to(values.dtype), config.gamma) - values
    policy = -(log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1) * advantage.detach()).sum(1).mean()
    value = advantage.pow(2).sum(1).mean()
    p = log_p.exp()
    if config.penalty == "sum_sq":
        penalty = p.pow(2).sum(-1).sum(1).mean()
    else:
        penalty = (p * log_p).sum(-1).sum(1).mean()  # = -entropy
    loss = (policy + config.value_coef * value + config.penalty_coef * penalty) / steps
    parts = {"policy_loss": policy.item() / steps, "value_loss": value.item() / steps,
             "penalty": penalty.item() / steps}
    return loss, parts


def train_seed(config: Config, seed: int, checkpoint: Path | None, device: torch.device,
               progress: bool = True) -> tuple[dict, dict]:
    """Train one agent from seed ``seed`` on ``config.updates`` batches of ``config.batch`` episodes."""
    generator = seed_everything(seed)
    agent = build(config).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=config.lr, eps=config.adam_eps)
    env = MazeBatch(config.task, config.batch, generator, device)

    def update(_: int):
        ep = rollout(agent, env, generator)
        logits, values = agent.replay(ep.obs)
        loss, parts = a2c_loss(logits, values, ep.actions, ep.rewards, config)
        return loss, {"reward": float(ep.total_reward().mean()), "hits": float(ep.hits(config.task).float().mean()),
                      "eta": agent.rnn.connection.eta.item(), **parts}

    history = train(agent, optimizer, update, config.updates, generator=generator, checkpoint=checkpoint,
                    desc=f"{config.condition} seed {seed}", progress=progress)
    seconds, cpu_seconds = elapsed(history)
    record = {k: [h[k] for h in history] for k in ("reward", "hits", "loss", "eta", "value_loss", "penalty")}
    record.update(seconds=seconds, cpu_seconds=cpu_seconds, batch=config.batch,
                  n_params=sum(p.numel() for p in agent.parameters() if p.requires_grad))
    return record, {k: v.cpu() for k, v in agent.state_dict().items()}


def store(profile: str) -> RunStore:
    return RunStore(results_dir("maze", profile))


def run(profile: str, seeds: list[int] | None = None, force: bool = False, device: str | None = None,
        config: Config | None = None, conditions: tuple[str, ...] = tuple(CONDITIONS),
        progress: bool = True) -> dict[str, list[dict]]:
    """Train (or load) every seed of every condition; returns {condition: [record per seed]}.

    One stored run per seed and condition, under ``results/maze/<profile>/<condition>-seed<k>.*``.
    """
    default, default_seeds = profile_config(profile)
    base = config or default
    dev = pick_device(device)
    out = {}
    for condition in conditions:
        cfg = replace(base, condition=condition)
        fn = functools.partial(train_seed, cfg, device=dev, progress=progress)
        out[condition] = store(profile).run_many(default_seeds if seeds is None else seeds, cfg, fn, force=force,
                                                 tag=f"{condition}-")
    return out


def load_agent(profile: str, record: dict, device: str | None = None) -> tuple[Agent, Config]:
    """The trained agent of a stored run (its final parameters) and its config."""
    raw = dict(record["config"])
    config = Config(**{**raw, "task": MazeTask(**raw["task"])})
    agent = build(config)
    agent.load_state_dict(store(profile).params(record["seed"], record["config"], tag=f"{config.condition}-"))
    return agent.to(pick_device(device)).eval(), config


def evaluate(agent: Agent, task: MazeTask, episodes: int, seed: int, device: str | None = None) -> Episode:
    """Play ``episodes`` fresh episodes (one batch) with the stochastic policy, seeded."""
    generator = torch.Generator().manual_seed(seed)
    env = MazeBatch(task, episodes, generator, pick_device(device))
    with torch.no_grad():
        return rollout(agent, env, generator)


def random_episodes(task: MazeTask, episodes: int, seed: int, device: str | None = None) -> Episode:
    """``episodes`` episodes of a uniformly random policy (one batch): the chance level."""
    generator = torch.Generator().manual_seed(seed)
    env = MazeBatch(task, episodes, generator, pick_device(device))
    obs, actions, rewards, positions = [env.reset()], [], [], [env.pos]
    while not env.done:
        action = torch.randint(N_ACTIONS, (episodes,), generator=generator)
        o, r = env.step(action)
        obs.append(o)
        actions.append(action)
        rewards.append(r)
        positions.append(env.pos)
    return Episode(torch.stack(obs[:-1], 1), torch.stack(actions, 1), torch.stack(rewards, 1),
                   torch.stack(positions, 1), env.reward_pos.clone())


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


__all__ = ["Config", "CONDITIONS", "PROFILES", "profile_config", "Agent", "build", "Episode", "sample_actions",
           "rollout", "discounted_returns", "a2c_loss", "train_seed", "run", "load_agent", "evaluate",
           "random_episodes", "hits_test",
           "reward_curves", "final_rewards", "rank_sum", "plot_episode", "asdict", "replace"]
