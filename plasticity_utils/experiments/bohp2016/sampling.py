"""Per-run random streams and episode sampling for batches of independent runs.

Every run draws its initial parameters and its episodes from generators that depend only on its own
seed, so a run trained with others is the same run as trained alone (tested), and a resumed run
samples exactly the episodes it would have sampled without interruption.
"""

from __future__ import annotations

import numpy as np
import torch

from ...tasks.bohp2016 import CompletionTask, Episode, LabelTask, completion_episode, label_episode

PURPOSE_INIT, PURPOSE_TRAIN, PURPOSE_FROZEN = 0, 1, 2


def stream(seed: int, purpose: int, chunk: int = 0) -> torch.Generator:
    """A generator that depends only on (run seed, purpose, chunk index)."""
    state = np.random.SeedSequence([seed, purpose, chunk]).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))


def sample(task: CompletionTask | LabelTask, batch: int, generator: torch.Generator) -> Episode:
    if isinstance(task, CompletionTask):
        return completion_episode(task, batch, generator)
    return label_episode(task, batch, generator)


def sample_runs(task: CompletionTask | LabelTask, seeds: list[int], purpose: int, chunk: int,
                batch: int) -> Episode:
    """``batch`` episodes per run, each run from its own stream: inputs (runs, batch, steps, n_in)."""
    episodes = [sample(task, batch, stream(s, purpose, chunk)) for s in seeds]
    return Episode(torch.stack([e.inputs for e in episodes]), torch.stack([e.targets for e in episodes]),
                   episodes[0].scored)
