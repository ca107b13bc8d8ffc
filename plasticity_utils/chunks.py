"""Train a profile in chunks of bounded wall time, and carry its run store between machines.

A job may be limited in wall time (a batch queue's limit, a GPU machine rented by the minute, whose disk
does not outlive the job), and the paper profile needs longer. So a chunk trains until a time limit, checkpoints every unfinished run into the
run store and exits; the next chunk (on the same machine, or on another one after the store travelled
there as an archive) resumes from those checkpoints. Finished runs are never retrained::

    python -m plasticity_utils chunks unpack results-omniglot-paper.tar.gz        # if a chunk ran before
    python -m plasticity_utils chunks run omniglot --profile paper --minutes 9 --batched
    echo $?                                                                        # 0 finished, 75 resume
    python -m plasticity_utils chunks pack omniglot --profile paper -o results-omniglot-paper.tar.gz

Where the notebooks run, ``unpack`` the archive and execute the notebook: it loads the finished runs instead of
training (``make figures PROFILE=paper``). The limit reaches every training loop through
``$PLASTICITY_STOP_AT`` (:func:`plasticity_utils.training.stop_at`), also in worker processes; a loop
that does not go through :func:`plasticity_utils.training.train` with a checkpoint (the BOHP runs)
runs to its end, so give it a chunk of its own.
Needs only torch, numpy, scipy, pandas, matplotlib, seaborn, tqdm and pillow (no papermill or pytest needed).
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tarfile
import time
import zlib
from pathlib import Path

from . import experiments
from .cli import batched_flag
from .environment import ROOT, results_dir, shown
from .training import STOP_AT, Unfinished

RESUME = 75  # exit status of a chunk that stopped at its time limit (EX_TEMPFAIL: run it again)


def train_chunk(name: str, profile: str, minutes: float, *, batched: bool | None = None,
                device: str | None = None) -> bool:
    """Run ``experiment.run(profile)`` until done or ``minutes`` have passed; True if every run finished.
    ``batched`` (None: the profile's ``Options.batched``) needs the experiment's capability "batched"."""
    entry = experiments.experiment(name)
    if not minutes > 0:
        raise ValueError(f"minutes must be > 0, got {minutes!r}")
    old = os.environ.get(STOP_AT)
    os.environ[STOP_AT] = str(time.time() + 60 * minutes)
    try:
        entry.run(profile, device=device, batched=batched)
        return True
    except Unfinished as e:
        print(f"unfinished: {e}", file=sys.stderr)
        return False
    finally:
        if old is None:
            os.environ.pop(STOP_AT, None)
        else:
            os.environ[STOP_AT] = old


def pack(experiment: str, profile: str, archive: Path) -> Path:
    """Write the experiment's run store at ``profile`` (finished runs and checkpoints) into ``archive``."""
    folder = results_dir(experiment, profile)
    if not folder.is_dir():
        raise FileNotFoundError(f"{shown(folder)}: nothing stored for {experiment} at profile {profile}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.iterdir()):
            if path.suffix in (".json", ".pt", ".ckpt"):  # not locks or files moved aside
                tar.add(path, arcname=f"{experiment}/{profile}/{path.name}")
    return archive


def unpack(archive: Path) -> list[str]:
    """Extract an archive written by :func:`pack` into the results folder; return the members."""
    root = Path(os.environ.get("PLASTICITY_RESULTS", ROOT / "results"))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            members = tar.getmembers()
            for m in members:
                parts = Path(m.name).parts
                if (not m.isfile() or len(parts) != 3 or parts[0] not in experiments.names() or ".." in parts
                        or Path(m.name).is_absolute()):
                    raise ValueError(f"{archive}: unexpected member {m.name!r}; not an archive written by pack")
            try:
                tar.extractall(root, members=members, filter="data")
            except TypeError:  # Python < 3.11.4 has no extraction filters; the members were checked above
                tar.extractall(root, members=members)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as e:  # truncated or not a .tar.gz
        raise ValueError(f"{archive} is damaged or not a .tar.gz written by pack ({type(e).__name__}: {e}); "
                         "copy it again") from None
    return [m.name for m in members]


def arguments(parser: argparse.ArgumentParser) -> None:
    """The verbs ``run``, ``pack`` and ``unpack`` under ``parser`` (``python -m plasticity_utils chunks``)."""
    sub = parser.add_subparsers(dest="chunks", required=True, metavar="{run,pack,unpack}")
    r = sub.add_parser("run", help="train until done or the time limit; exit 0 if finished, 75 to resume")
    r.add_argument("experiment", choices=experiments.names())
    r.add_argument("--profile", default="paper")
    r.add_argument("--minutes", type=float, required=True)
    batched_flag(r)
    r.add_argument("--device", default=None)
    r.set_defaults(command=_run)
    p = sub.add_parser("pack", help="archive a run store")
    p.add_argument("experiment", choices=experiments.names())
    p.add_argument("--profile", default="paper")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(command=_pack)
    u = sub.add_parser("unpack", help="extract an archive written by pack into results/")
    u.add_argument("archive", type=Path)
    u.set_defaults(command=_unpack)


def _run(args: argparse.Namespace) -> int:
    done = train_chunk(args.experiment, args.profile, args.minutes, batched=args.batched, device=args.device)
    print("finished" if done else "time limit reached: run the same command again to resume")
    return 0 if done else RESUME


def _pack(args: argparse.Namespace) -> int:
    print(pack(args.experiment, args.profile, args.output))
    return 0


def _unpack(args: argparse.Namespace) -> int:
    print(f"{len(unpack(args.archive))} files unpacked")
    return 0
