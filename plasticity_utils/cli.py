"""The command line over the experiment contract, ``python -m plasticity_utils VERB``::

    python -m plasticity_utils list                                         # the registered experiments
    python -m plasticity_utils run omniglot --profile cpu [--seeds 0 1] [--force] [--device cuda]
    python -m plasticity_utils chunks run|pack|unpack ...                   # plasticity_utils/chunks.py
    python -m plasticity_utils sweep omniglot --profile cpu lr=3e-4,1e-3 seeds=0-4   # plasticity_utils/sweep.py

``run`` trains the profile's runs (or loads the stored ones), then prints the claims table and the
figures' paths (saved where the notebook saves them: ``environment.figures_dir``). The experiments are those of
:data:`plasticity_utils.experiments.REGISTRY`.

What every command line of the package shares: a user's mistake ends in one ``error:`` line. A bad
parameter, a missing or damaged file (``ValueError``, ``OSError``, ``tarfile.TarError``; the messages
name the flag or file concerned) is printed as ``error: <message>`` on stderr and the command exits with
status 1, without a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tarfile
from typing import Callable

from . import experiments

USER_ERRORS = (ValueError, OSError, tarfile.TarError)


def one_line_errors(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a command line's ``main``: a :data:`USER_ERRORS` exception becomes one ``error:`` line and exit status 1."""

    @functools.wraps(main)
    def wrapped(*args, **kwargs) -> int:
        try:
            return main(*args, **kwargs)
        except USER_ERRORS as e:
            print(f"error: {e}", file=sys.stderr)
            return 1

    return wrapped


def batched_flag(parser: argparse.ArgumentParser) -> None:
    """``--batched/--no-batched`` (default: the profile's ``Options.batched``)."""
    parser.add_argument("--batched", action=argparse.BooleanOptionalAction, default=None,
                        help="train a variant's missing seeds as one batched model, or one by one (default: the "
                             f"profile's choice; experiments with batched training: {', '.join(experiments.names('batched'))})")


def parser() -> argparse.ArgumentParser:
    """The parser of ``python -m plasticity_utils``: each verb sets ``command(args) -> exit status``."""
    from . import chunks, sweep

    top = argparse.ArgumentParser(prog="python -m plasticity_utils",
                                  description="List, train, chunk and sweep the registered experiments.")
    verbs = top.add_subparsers(dest="verb", required=True, metavar="{list,run,chunks,sweep}")
    verbs.add_parser("list", help="the registered experiments, their notebooks and capabilities").set_defaults(
        command=list_experiments)
    r = verbs.add_parser("run", help="train (or load) a profile's runs; print the claims and the figures' paths")
    r.add_argument("experiment", choices=experiments.names())
    r.add_argument("--profile", default="cpu")
    r.add_argument("--seeds", type=int, nargs="+", default=None, help="default: the profile's")
    r.add_argument("--force", action="store_true", help="retrain runs already stored")
    r.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    batched_flag(r)
    r.set_defaults(command=run_experiment)
    chunks.arguments(verbs.add_parser("chunks", help=chunks.__doc__.split("\n")[0]))
    sweep.arguments(verbs.add_parser("sweep", help=sweep.__doc__.split("\n")[0]))
    return top


@one_line_errors
def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.command(args)


def list_experiments(args: argparse.Namespace) -> int:
    rows = [(e.name, e.notebook, ", ".join(sorted(e.capabilities)) or "-") for e in experiments.REGISTRY.values()]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    for name, notebook, capabilities in rows:
        print(f"{name:<{width[0]}}  {notebook:<{width[1]}}  {capabilities}")
    return 0


def run_experiment(args: argparse.Namespace) -> int:
    """Train or load, then print the claims table (as the summary shows it) and the figures' paths."""
    from . import report
    from .environment import shown

    entry = experiments.experiment(args.experiment)
    module = entry.load()
    result = entry.run(args.profile, seeds=args.seeds, force=args.force, device=args.device, batched=args.batched)
    runs = ", ".join(f"{variant} ({len(records)} runs)" for variant, records in result.runs.items())
    print(f"{entry.name} at profile {result.profile} on {result.device}: {runs}\n")
    rows = report.summary_rows(module.claims(result), result.profile)
    print("\n".join(report.markdown_table(report.COLUMNS, [[row[c] for c in report.COLUMNS] for row in rows])))
    print("\nfigures:")
    for name, path in module.figures(result).items():
        print(f"  {name}: {shown(path)}")
    return 0
