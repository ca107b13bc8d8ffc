"""The grid maze of ICML 2018 §4.4, as a batch of independent mazes stepped together in torch.

The maze is ``size`` x ``size`` squares (9 x 9 in the paper) surrounded by walls; every other square,
in both directions, is a wall pillar, so the grid including its border is 11 x 11 and the pillars sit
at the squares whose row and column are both even. The agent starts each episode at the centre. One
free square, drawn at random per episode (never a wall and, as in the authors' code, never the
centre), holds an invisible reward: stepping onto it gives ``+reward`` (10) and teleports the agent
to a random free square other than the reward square. Walking into a wall gives ``-wall_penalty``
(0.1) and leaves the agent where it was. An episode lasts ``steps`` (250) steps.

Observation at step t (one row per maze), see :data:`OBS` for the column layout:
the 3 x 3 neighbourhood of the agent, row by row (1 = wall, 0 = free; the centre cell is the agent's
own square and always 0); the reward received at the previous step; the time step t / steps; a bias
input (1); and, when ``previous_action`` is set (the authors' code does so), the previous action as a
one-hot vector (all zeros at t = 0). Actions: 0 = up, 1 = down, 2 = left, 3 = right.

Everything is a tensor operation over the mazes of one or more independent runs (:class:`MazeBatch`);
random squares are drawn from each run's own ``torch.Generator`` (on the CPU, then moved), so an episode
is repeatable on any device and a run's episodes do not depend on the other runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
from torch import Tensor

from ..validation import check, label

N_ACTIONS = 4
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))  # up, down, left, right as (row, column) steps
OBS = {"neighbourhood": slice(0, 9), "reward": 9, "time": 10, "bias": 11, "action": slice(12, 16)}


@dataclass(frozen=True)
class MazeTask:
    size: int = 9
    steps: int = 250
    reward: float = 10.0
    wall_penalty: float = 0.1
    previous_action: bool = True

    def __post_init__(self) -> None:
        check(self, counts=("size", "steps"), positive=("reward",), non_negative_real=("wall_penalty",),
              flags=("previous_action",))
        if self.size < 3 or self.size % 2 == 0:
            raise ValueError(f"{label(self)}: size must be odd and >= 3 (the centre must be a free square), "
                             f"got {self.size}")
        if self.wall_penalty >= self.reward:
            raise ValueError(f"{label(self)}: wall_penalty must be < reward (a find is told from a step by "
                             f"reward >= reward - wall_penalty), got {self.wall_penalty} >= {self.reward}")

    @property
    def n_obs(self) -> int:
        return 12 + (N_ACTIONS if self.previous_action else 0)

    @property
    def centre(self) -> tuple[int, int]:
        c = (self.size + 2) // 2
        return c, c


def maze_grid(size: int = 9) -> Tensor:
    """(size+2, size+2) bool grid, True = wall: the border plus a pillar where row and column are even."""
    n = size + 2
    rows, cols = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    border = (rows == 0) | (cols == 0) | (rows == n - 1) | (cols == n - 1)
    return border | ((rows % 2 == 0) & (cols % 2 == 0))


class MazeBatch:
    """The mazes of ``len(generators)`` independent runs (R >= 1), ``batch`` mazes each, advanced together
    by :meth:`step`: every tensor carries the run axis first.

    ``reset()`` starts new episodes and returns the first observation (R, batch, n_obs); ``step(actions)``
    takes actions (R, batch) and returns the next observation and the rewards (R, batch). State: ``pos``
    and ``reward_pos`` (R, batch, 2) as (row, column), ``t`` the number of steps taken. Run r draws its
    random squares from ``generators[r]`` only, and only when one of its own mazes needs a new square, so
    its episodes are those it would play alone (R = 1).
    """

    def __init__(self, task: MazeTask, batch: int, generators: Iterable[torch.Generator],
                 device: torch.device | str = "cpu") -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.generators = [] if isinstance(generators, torch.Generator) else list(generators)
        if not self.generators or not all(isinstance(g, torch.Generator) for g in self.generators):
            raise ValueError("generators must be a non-empty sequence of torch.Generator, one per run "
                             f"(one run: [generator]), got {generators!r}")
        self.task, self.batch, self.runs = task, batch, len(self.generators)
        self.device = torch.device(device)
        self.grid = maze_grid(task.size).to(self.device)
        self.free = (~self.grid).nonzero()  # (F, 2), row-major order
        centre = torch.tensor(task.centre, device=self.device)
        self._centre_index = int((self.free == centre).all(1).nonzero())
        self._moves = torch.tensor(MOVES, device=self.device)
        # (time t / steps, bias 1) for every t, made once: a tensor built from Python numbers at every step
        # would be a host-to-device copy, which on a GPU waits for the queue
        self._clock = torch.tensor([[t / task.steps, 1.0] for t in range(task.steps + 1)], device=self.device)
        # what the agent sees from each square, made once: its 3 x 3 neighbourhood row by row (n, n, 9), read
        # by one index per step (a border square, never occupied, sees its clamped neighbours)
        n, offsets = self.grid.shape[0], torch.arange(-1, 2, device=self.device)
        squares = torch.cartesian_prod(torch.arange(n, device=self.device), torch.arange(n, device=self.device))
        cells = (squares.unsqueeze(1) + torch.cartesian_prod(offsets, offsets)).clamp(0, n - 1)  # (n * n, 9, 2)
        self._views = self.grid[cells[..., 0], cells[..., 1]].float().view(n, n, 9)
        # the previous action as a one-hot row, indexed by action + 1 (row 0: no action yet, t = 0)
        self._one_hot = torch.eye(N_ACTIONS + 1, dtype=torch.float32, device=self.device)[:, 1:]
        self.reset()

    @property
    def shape(self) -> tuple[int, int]:
        return self.runs, self.batch

    # -- random squares ------------------------------------------------------------------------
    def _free_index_except(self, excluded: Tensor, wanted: list[bool]) -> Tensor:
        """A uniformly drawn index into ``free`` different from ``excluded`` (R, batch), per maze: one draw
        per maze of each run r with ``wanted[r]`` from its own generator (the others draw nothing)."""
        k = [torch.randint(len(self.free) - 1, (self.batch,), generator=g) if want
             else torch.zeros(self.batch, dtype=torch.long) for g, want in zip(self.generators, wanted)]
        k = torch.stack(k).to(self.device)
        return k + (k >= excluded).long()

    # -- episode -------------------------------------------------------------------------------
    def reset(self) -> Tensor:
        """New episodes: agent at the centre, reward on a random free square other than the centre."""
        self.t = 0
        self.pos = torch.tensor(self.task.centre, device=self.device).repeat(*self.shape, 1)
        self.reward_index = self._free_index_except(torch.full(self.shape, self._centre_index, device=self.device),
                                                    [True] * self.runs)
        self.reward_pos = self.free[self.reward_index]
        self.last_reward = torch.zeros(self.shape, device=self.device)
        self.last_action = torch.full(self.shape, -1, dtype=torch.long, device=self.device)
        return self.observe()

    def place(self, agent: Tensor | None = None, reward: Tensor | None = None) -> Tensor:
        """Put the agents and/or the reward squares at given free squares (R, batch, 2); returns the
        observation. For tests and demonstrations."""
        if agent is not None:
            self.pos = self._free_squares(agent, "agent").clone()
        if reward is not None:
            reward = self._free_squares(reward, "reward")
            self.reward_index = (reward.unsqueeze(-2) == self.free).all(-1).long().argmax(-1)
            self.reward_pos = self.free[self.reward_index]
        return self.observe()

    def _free_squares(self, squares: Tensor, name: str) -> Tensor:
        squares = torch.as_tensor(squares, device=self.device).long()
        if squares.shape != (*self.shape, 2):
            raise ValueError(f"{name} squares must have shape {(*self.shape, 2)}, got {tuple(squares.shape)}")
        n = self.grid.shape[0]
        if bool(((squares < 0) | (squares >= n)).any()) or bool(self.grid[squares[..., 0], squares[..., 1]].any()):
            raise ValueError(f"{name} squares must be free squares of the maze")
        return squares

    @property
    def done(self) -> bool:
        return self.t >= self.task.steps

    def observe(self) -> Tensor:
        """(R, batch, n_obs) float observation, columns as in :data:`OBS`."""
        neighbourhood = self._views[self.pos[..., 0], self.pos[..., 1]]
        extra = self._clock[self.t].expand(*self.shape, 2)
        parts = [neighbourhood, self.last_reward.unsqueeze(-1), extra]
        if self.task.previous_action:  # by lookup: one_hot() checks its range on the host
            parts.append(self._one_hot[self.last_action + 1])
        return torch.cat(parts, -1)

    def check_actions(self, actions: Tensor) -> None:
        if not isinstance(actions, Tensor):
            raise ValueError(f"actions must be a tensor, got {type(actions).__name__}")
        if actions.shape != self.shape:
            raise ValueError(f"actions must have shape {self.shape}, got {tuple(actions.shape)}")
        if actions.dtype.is_floating_point or actions.dtype.is_complex or actions.dtype == torch.bool:
            raise ValueError(f"actions must be an integer tensor, got {actions.dtype}")
        if bool(((actions < 0) | (actions >= N_ACTIONS)).any()):
            raise ValueError(f"actions must lie in 0..{N_ACTIONS - 1}, got {actions.unique().tolist()}")

    def step(self, actions: Tensor, check: bool = True) -> tuple[Tensor, Tensor]:
        """Move every agent by its action (R, batch); return (next observation, reward (R, batch)).

        ``check=False`` skips the validation of ``actions`` (for callers whose actions are valid by
        construction, such as a policy's sampler: the range check reads a device value on the host,
        which on a GPU waits for every queued kernel). One such wait per step remains: which runs' agents
        found the reward, since only then are new squares drawn."""
        if self.done:
            raise ValueError(f"the episode is over after {self.task.steps} steps; call reset()")
        if check:
            self.check_actions(actions)
        actions = actions.to(self.device).long()
        target = self.pos + self._moves[actions]
        blocked = self.grid[target[..., 0], target[..., 1]]
        self.pos = torch.where(blocked.unsqueeze(-1), self.pos, target)
        reward = torch.where(blocked, -self.task.wall_penalty, 0.0)
        found = (self.pos == self.reward_pos).all(-1)
        wanted = found.any(-1).tolist()  # per run
        if any(wanted):
            reward = reward + found * self.task.reward
            elsewhere = self.free[self._free_index_except(self.reward_index, wanted)]
            self.pos = torch.where(found.unsqueeze(-1), elsewhere, self.pos)
        self.last_reward, self.last_action = reward, actions
        self.t += 1
        return self.observe(), reward
