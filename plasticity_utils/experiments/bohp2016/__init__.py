"""Pattern completion, one-shot and reversal learning with tiny plastic networks (Miconi 2016).

"Learning to learn with backpropagation of Hebbian plasticity" (Miconi 2016, arXiv:1609.02228, "BOHP").
Each network has one plastic layer of tanh units (input -> hidden), the paper's Eq. 1-2, with the trace
parameterised, as in the authors' code, by its retention 1 - gamma (0.75 for pattern completion, 0.98
for one-shot and reversal learning), which the released scripts' runexp.py files sweep (the retention
sweep: each task again at 0.75, 0.9, 0.95 and 0.98). Training (§4.1): one episode per update, then the last 500
episodes with the parameters frozen, which are the ones scored.

The package, by concern:

* :mod:`.variants`: :class:`Config`, the paper's variants (``VARIANTS``, the retention sweep among them:
  ``RETENTION_SWEEP``) and the profiles (``PROFILES``);
* :mod:`.sampling`: per-run random streams and episodes; :mod:`.network`: the networks (Eq. 1-2);
* :mod:`.optim`: Adam, our RMSprop (decay 0.9, L1 in the loss) and the released scripts' RMSprop (decay 0.99
  from g^2, updates clipped, a decoupled L1 step);
* :mod:`.runs`: training a variant's runs together (:func:`train_seeds`, through
  :func:`plasticity_utils.batched.train_runs`), one stored record per run, :class:`Variant`, :class:`Result`
  and :func:`run`;
* :mod:`.analysis`: which runs learned, the sign of their plasticity (per unit and per run), the trained
  networks' structure (fixed vs plastic connections);
* :mod:`.verdicts`: what the paper reports, the verdict functions and :func:`claims`;
* :mod:`.plots`: the figures and :func:`figures`.

The experiment contract (:mod:`..contract`): ``PROFILES``, ``run``, ``claims``, ``figures``.
"""

from .analysis import (FAILURES_TOLERATED, RELIABLE, SOLVED, STRONG, after_reversal_miss, budget, input_rows, iqr,
                       median_run, pattern_alpha, retention_runs, sign_counts, sign_stats, structure, success,
                       unit_counts, unit_signs)
from .network import PlasticNets, build, step_errors
from .optim import (PAPER_OPTIMISER, RELEASED2016, RELEASED_OPTIMISER, RMSPROP2016, ClippedAdam,
                    ClippedReleasedRMSprop2016, ClippedRMSprop2016, ReleasedRMSprop2016, RMSprop2016, describe,
                    make_optimizer)
from .plots import (figure_learning_curves, figure_network, figure_retention, figure_signs, figure_step_errors,
                    figures)
from .runs import Result, Variant, episode_losses, evaluate, run, train_seeds, trainer
from .sampling import PURPOSE_FROZEN, PURPOSE_INIT, PURPOSE_TRAIN, sample, sample_runs, stream
from .variants import (N_HIDDEN, OPTIMIZERS, PROFILES, RETENTION_SWEEP, RETENTION_TASKS, RETENTIONS, SMOKE_SWEEP, TASKS,
                       VARIANTS, Config, retention_variant)
from .verdicts import (ABOVE_CHANCE, AUDIT_ADAM, AUDIT_RMSPROP, CONTRAST, FIXED_RATIO, PAPER_CLIPPED, PAPER_LEARNED,
                       PAPER_RETENTION, PAPER_SIGN_ONE_SHOT, PAPER_SIGN_REVERSAL, PAPER_STRUCTURE, PLASTIC_RATIO,
                       PREVENTED_MARGIN, RELEASED_CLIPPED, RELEASED_LEARNED, RELEASED_RETENTION, RELEASED_SIGN_ONE_SHOT,
                       RELEASED_SIGN_REVERSAL, RELEASED_STRUCTURE, RETENTION_EFFECT, claims, clipped_verdict,
                       learned_verdict, one_shot_sign_verdict, retention_verdict, strict_sign_verdict,
                       structure_verdict, unit_sign_verdict)

__all__ = [
    # the contract
    "PROFILES", "run", "claims", "figures", "Result",
    # setup, networks, optimisers, training
    "Config", "VARIANTS", "RETENTION_SWEEP", "RETENTIONS", "RETENTION_TASKS", "SMOKE_SWEEP", "retention_variant",
    "TASKS", "OPTIMIZERS", "N_HIDDEN", "PlasticNets", "build", "step_errors", "RMSprop2016",
    "ClippedAdam", "ClippedRMSprop2016", "RMSPROP2016", "ReleasedRMSprop2016", "ClippedReleasedRMSprop2016",
    "RELEASED2016", "PAPER_OPTIMISER", "RELEASED_OPTIMISER", "make_optimizer",
    "describe", "stream", "sample", "sample_runs", "PURPOSE_INIT", "PURPOSE_TRAIN", "PURPOSE_FROZEN",
    "train_seeds", "trainer", "episode_losses", "evaluate", "Variant",
    # analysis and verdicts
    "SOLVED", "RELIABLE", "FAILURES_TOLERATED", "STRONG", "CONTRAST", "PREVENTED_MARGIN", "ABOVE_CHANCE", "FIXED_RATIO",
    "PLASTIC_RATIO", "RETENTION_EFFECT", "success", "input_rows", "pattern_alpha", "unit_signs", "unit_counts",
    "sign_counts", "sign_stats", "structure", "retention_runs", "after_reversal_miss", "median_run", "iqr", "budget",
    "PAPER_LEARNED", "PAPER_SIGN_REVERSAL",
    "PAPER_SIGN_ONE_SHOT", "PAPER_CLIPPED", "RELEASED_LEARNED", "RELEASED_SIGN_REVERSAL", "RELEASED_SIGN_ONE_SHOT",
    "PAPER_STRUCTURE", "RELEASED_CLIPPED", "RELEASED_STRUCTURE", "PAPER_RETENTION", "RELEASED_RETENTION", "AUDIT_ADAM",
    "AUDIT_RMSPROP", "learned_verdict", "structure_verdict", "retention_verdict", "unit_sign_verdict",
    "one_shot_sign_verdict", "strict_sign_verdict", "clipped_verdict",
    # figures
    "figure_learning_curves", "figure_step_errors", "figure_network", "figure_signs", "figure_retention",
]
