"""The grid maze of ICML 2018 §4.4, as a batch of independent mazes stepped together in torch.

The maze is ``size`` x ``size`` squares (9 x 9 in the paper) surrounded by walls; every other square,
in both directions, is a wall pillar, so the grid including its border is 11 x 11 and the pillars sit
at the squares whose row and column are both even. The agent starts each episode at the centre. One
free square, drawn at random per episode (never a wall and, as in the authors' code, never the
centre), holds an invisible reward: stepping onto it gives ``+reward`` (10) and teleports the agent
to a random free square other than the reward square. Walking into a wall gives ``-wall_penalty``
(0.1) and leaves the agent where it was. An episode lasts ``steps`` (250) steps.

Observation at step t (one row per maze of the batch), see :data:`OBS` for the column layout:
the 3 x 3 neighbourhood of the agent, row by row (1 = wall, 0 = free; the centre cell is the agent's
own square and always 0); the reward received at the previous step; the time step t / steps; a bias
input (1); and, when ``previous_action`` is set (the authors' code does so), the previous action as a
one-hot vector (all zeros at t = 0). Actions: 0 = up, 1 = down, 2 = left, 3 = right.

Everything is a tensor operation over the batch; random squares are drawn from a caller's
``torch.Generator`` (on the CPU, then moved), so an episode is repeatable on any device.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    """``batch`` independent mazes of one :class:`MazeTask`, advanced together by :meth:`step`.

    ``reset()`` starts new episodes and returns the first observation; ``step(actions)`` returns the
    next observation and the rewards (``batch``,). State: ``pos`` and ``reward_pos`` (batch, 2) as
    (row, column), ``t`` the number of steps taken.
    """

    def __init__(self, task: MazeTask, batch: int, generator: torch.Generator,
                 device: torch.device | str = "cpu") -> None:
        if batch < 1:
            raise ValueError(f"batch must be >= 1, got {batch}")
        self.task, self.batch, self.generator = task, batch, generator
        self.device = torch.device(device)
        self.grid = maze_grid(task.size).to(self.device)
        self.free = (~self.grid).nonzero()  # (F, 2), row-major order
        centre = torch.tensor(task.centre, device=self.device)
        self._centre_index = int((self.free == centre).all(1).nonzero())
        self._moves = torch.tensor(MOVES, device=self.device)
        self._actions = torch.arange(N_ACTIONS, device=self.device)
        # (time t / steps, bias 1) for every t, made once: a tensor built from Python numbers at every step
        # would be a host-to-device copy, which on a GPU waits for the queue
        self._clock = torch.tensor([[t / task.steps, 1.0] for t in range(task.steps + 1)], device=self.device)
        offsets = torch.arange(-1, 2, device=self.device)
        self._window = torch.cartesian_prod(offsets, offsets)  # (9, 2), row by row
        self.reset()

    # -- random squares ------------------------------------------------------------------------
    def _free_index_except(self, excluded: Tensor, needed: Tensor | None = None) -> Tensor:
        """A uniformly drawn index into ``free`` different from ``excluded`` (batch,), per maze.
        ``needed`` (batch,) marks the mazes whose draw is used (all when None); one draw per maze here."""
        k = torch.randint(len(self.free) - 1, (self.batch,), generator=self.generator).to(self.device)
        return k + (k >= excluded).long()

    # -- episode -------------------------------------------------------------------------------
    def reset(self) -> Tensor:
        """New episodes: agent at the centre, reward on a random free square other than the centre."""
        b = self.batch
        self.t = 0
        self.pos = torch.tensor(self.task.centre, device=self.device).repeat(b, 1)
        self.reward_index = self._free_index_except(torch.full((b,), self._centre_index, device=self.device))
        self.reward_pos = self.free[self.reward_index]
        self.last_reward = torch.zeros(b, device=self.device)
        self.last_action = torch.full((b,), -1, dtype=torch.long, device=self.device)
        return self.observe()

    def place(self, agent: Tensor | None = None, reward: Tensor | None = None) -> Tensor:
        """Put the agents and/or the reward squares at given free squares (batch, 2); returns the
        observation. For tests and demonstrations."""
        if agent is not None:
            self.pos = self._free_squares(agent, "agent").clone()
        if reward is not None:
            reward = self._free_squares(reward, "reward")
            self.reward_index = (reward.unsqueeze(1) == self.free).all(2).long().argmax(1)
            self.reward_pos = self.free[self.reward_index]
        return self.observe()

    def _free_squares(self, squares: Tensor, name: str) -> Tensor:
        squares = torch.as_tensor(squares, device=self.device).long()
        if squares.shape != (self.batch, 2):
            raise ValueError(f"{name} squares must have shape ({self.batch}, 2), got {tuple(squares.shape)}")
        n = self.grid.shape[0]
        if bool(((squares < 0) | (squares >= n)).any()) or bool(self.grid[squares[:, 0], squares[:, 1]].any()):
            raise ValueError(f"{name} squares must be free squares of the maze")
        return squares

    @property
    def done(self) -> bool:
        return self.t >= self.task.steps

    def observe(self) -> Tensor:
        """(batch, n_obs) float observation, columns as in :data:`OBS`."""
        cells = self.pos.unsqueeze(1) + self._window  # (B, 9, 2)
        neighbourhood = self.grid[cells[..., 0], cells[..., 1]].float()
        extra = self._clock[self.t].expand(self.batch, 2)
        parts = [neighbourhood, self.last_reward.unsqueeze(1), extra]
        if self.task.previous_action:  # one-hot by comparison: one_hot() checks its range on the host
            parts.append((self.last_action.unsqueeze(1) == self._actions).float())
        return torch.cat(parts, 1)

    def check_actions(self, actions: Tensor) -> None:
        if not isinstance(actions, Tensor):
            raise ValueError(f"actions must be a tensor, got {type(actions).__name__}")
        if actions.shape != (self.batch,):
            raise ValueError(f"actions must have shape ({self.batch},), got {tuple(actions.shape)}")
        if actions.dtype.is_floating_point or actions.dtype.is_complex or actions.dtype == torch.bool:
            raise ValueError(f"actions must be an integer tensor, got {actions.dtype}")
        if bool(((actions < 0) | (actions >= N_ACTIONS)).any()):
            raise ValueError(f"actions must lie in 0..{N_ACTIONS - 1}, got {actions.unique().tolist()}")

    def step(self, actions: Tensor, check: bool = True) -> tuple[Tensor, Tensor]:
        """Move every agent by its action; return (next observation, reward (batch,)).

        ``check=False`` skips the validation of ``actions`` (for callers whose actions are valid by
        construction, such as a policy's sampler: the range check reads a device value on the host,
        which on a GPU waits for every queued kernel). One such wait per step remains: whether any
        agent found the reward, since only then are new squares drawn."""
        if self.done:
            raise ValueError(f"the episode is over after {self.task.steps} steps; call reset()")
        if check:
            self.check_actions(actions)
        actions = actions.to(self.device).long()
        target = self.pos + self._moves[actions]
        blocked = self.grid[target[:, 0], target[:, 1]]
        self.pos = torch.where(blocked.unsqueeze(1), self.pos, target)
        reward = torch.where(blocked, -self.task.wall_penalty, 0.0)
        found = (self.pos == self.reward_pos).all(1)
        if bool(found.any()):
            reward = reward + found * self.task.reward
            elsewhere = self.free[self._free_index_except(self.reward_index, found)]
            self.pos = torch.where(found.unsqueeze(1), elsewhere, self.pos)
        self.last_reward, self.last_action = reward, actions
        self.t += 1
        return self.observe(), reward


class MazeRuns(MazeBatch):
    """The mazes of several independent training runs advanced together: ``len(generators)`` runs of
    ``batch`` mazes each (run r owns rows ``r * batch`` to ``(r + 1) * batch``). Each run draws its random
    squares from its own generator exactly as a :class:`MazeBatch` of ``batch`` mazes would (a run whose
    mazes need no new square this step draws nothing), so run r's episodes equal those of a separate run."""

    def __init__(self, task: MazeTask, batch: int, generators: list[torch.Generator],
                 device: torch.device | str = "cpu") -> None:
        self.generators, self.per_run = list(generators), batch
        super().__init__(task, batch * len(self.generators), self.generators[0], device)

    def _free_index_except(self, excluded: Tensor, needed: Tensor | None = None) -> Tensor:
        b, k = self.per_run, torch.zeros(self.batch, dtype=torch.long)
        wanted = [True] * len(self.generators) if needed is None else needed.view(-1, b).any(1).tolist()
        for r, (g, want) in enumerate(zip(self.generators, wanted)):
            if want:
                k[r * b:(r + 1) * b] = torch.randint(len(self.free) - 1, (b,), generator=g)
        k = k.to(self.device)
        return k + (k >= excluded).long()
