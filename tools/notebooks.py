"""Execute the notebooks without ever losing committed results (what `make figures` and `make test` run).

    python tools/notebooks.py execute --profile cpu [--force 0] [--workers 2] [-p NAME VALUE ...] NOTEBOOK ...
    python tools/notebooks.py smoke-copies OUT_DIR NOTEBOOK ...

``execute`` runs each notebook with papermill into a staging folder of its own,
``build/notebooks/<profile>/<time>-<random>/`` (its figures and summary rows into ``figures/`` there,
the kernel's own log into ``<name>.kernel.log``), so two runs at the same time never share a file; only
when the notebook finished does it publish them: the executed notebook to its profile's place (``cpu``: over ``notebooks/<name>.ipynb``;
``paper``: ``notebooks/paper/<name>.ipynb``), the figures into ``figures/`` (``figures/paper/`` for
``paper``), and the summary table ``README.md`` there is rebuilt (each file is replaced whole, by a
rename), and the staging folder is removed. A failed or interrupted (Ctrl-C) notebook publishes nothing
and says, in one line, where its partial output is. ``smoke`` runs are never published: their staging
folder is their output.

Parameters are strict: ``--force`` takes 1/0/true/false/yes/no (anything else is an error), and a
``-p`` name the notebook's ``parameters`` cell does not declare is an error, not a warning.

``smoke-copies`` writes copies with ``profile="smoke"`` injected the way papermill injects parameters,
for nbval (the committed notebooks carry the parameters of the run that produced their outputs).
After publishing, the notebook's opening gets a generated "Verdict" cell built from the summary rows
the run just wrote, so the verdict is read before the method.
"""

from __future__ import annotations

import argparse
import ast
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill
from jupyter_client.manager import AsyncKernelManager
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from plasticity_utils import environment, report  # noqa: E402

VERDICT_TAG = "verdict"


def show(path: Path) -> str:
    """``path`` relative to the project when inside it (no machine paths in logs or notebooks)."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def published_notebook(source: Path, profile: str) -> Path | None:
    """Where a finished run of ``source`` at ``profile`` is kept (None: never kept)."""
    if profile == "smoke":
        return None
    return source if profile == "cpu" else source.parent / profile / source.name


def notebook_parameters(path: Path, given: dict[str, str]) -> dict[str, object]:
    """``given`` (name -> text) typed after the notebook's own defaults; unknown names are an error."""
    declared = papermill.inspect_notebook(str(path))
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise SystemExit(f"error: {path.name} has no parameter {', '.join(unknown)}; "
                         f"its parameters are {', '.join(declared)}")
    out: dict[str, object] = {}
    for name, text in given.items():
        default = declared[name]["default"].strip()
        if default in ("True", "False"):
            try:
                out[name] = environment.parse_flag(text, name)
            except ValueError as e:
                raise SystemExit(f"error: {path.name}: {e}") from None
        else:
            try:
                out[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                out[name] = text  # a plain word, e.g. a device name
    return out


def kernel_logged_to(log: Path) -> type[AsyncKernelManager]:
    """A kernel manager whose kernel writes its own stderr (its startup warnings, and the errors it
    prints when it is stopped mid-cell by Ctrl-C) to ``log`` instead of the terminal. Cell output is
    unaffected: it reaches the notebook through the kernel's messages."""

    class LoggedKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw) -> None:
            with open(log, "ab") as f:
                await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": f})

    return LoggedKernelManager


def new_stage(folder: Path) -> Path:
    """A new, empty staging folder under ``folder``, named for its start time, unique to this run."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder, prefix=time.strftime("%Y%m%d-%H%M%S-")))


def verdict_cell(rows: list[dict], profile: str) -> nbformat.NotebookNode:
    """A markdown cell with the claim and verdict of every summary row (generated, never hand-written)."""
    lines = [f"**Verdict at the `{profile}` profile** (generated from this notebook's last finished run; "
             "numbers and budgets in *Paper vs ours* below and in `figures/README.md`):", ""]
    lines += report.markdown_table(("claim", "verdict"), ((r["claim"], r["verdict"]) for r in rows))
    cell = nbformat.v4.new_markdown_cell("\n".join(lines))
    cell.metadata["tags"] = [VERDICT_TAG]
    return cell


def stamp_verdict(path: Path, summary: Path, profile: str) -> None:
    """Put (or replace) the verdict cell right after the notebook's title cell; papermill's record of
    the input and output paths is made project-relative (no machine paths in committed notebooks)."""
    nb = nbformat.read(path, as_version=4)
    record = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        if record.get(key):
            record[key] = show(Path(record[key]))
    old = [c for c in nb.cells if VERDICT_TAG in c.metadata.get("tags", [])]
    nb.cells = [c for c in nb.cells if c not in old]
    if summary.is_file():
        cell = verdict_cell(json.loads(summary.read_text()), profile)
        if old and "id" in old[0]:
            cell["id"] = old[0]["id"]  # the same cell, new text: a re-published notebook diffs only where it changed
        nb.cells.insert(1, cell)
    nbformat.write(nb, path)


def publish(staged_nb: Path, staged_figures: Path, source: Path, profile: str) -> list[Path]:
    """Move a finished run's notebook and figures into place; rebuild the summary table."""
    target_nb = published_notebook(source, profile)
    assert target_nb is not None
    real_figures = environment.figures_dir(profile)  # figures/ or figures/<profile>/, as the notebook saw its stage
    staged = staged_figures if profile == "cpu" else staged_figures / profile
    written = []
    for f in sorted(p for p in staged.rglob("*") if p.is_file() and p.name != "README.md"):
        dest = real_figures / f.relative_to(staged)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(f, dest)
        written.append(dest)
    stamp_verdict(staged_nb, real_figures / "summary" / f"{source.stem}.json", profile)
    target_nb.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(staged_nb, target_nb)
    if (real_figures / "summary").is_dir():
        written.append(report.write_table(real_figures))
    main_figures = environment.figures_dir("cpu")  # its table names the other profiles' tables
    if profile != "cpu" and (main_figures / "summary").is_dir():
        written.append(report.write_table(main_figures))
    return [target_nb, *written]


def execute(notebooks: list[Path], profile: str, force: bool = False, workers: int = 1,
            extra: dict[str, str] | None = None, stage: Path | None = None) -> int:
    """Run and publish each notebook in turn (see the module docstring); stop at the first failure.
    ``stage``: where this run's own staging folder is made (default ``build/notebooks/<profile>/``).
    Returns the exit status: 0, 1 (a notebook failed) or 130 (interrupted)."""
    environment.check_profile(profile)
    stage = new_stage(stage or ROOT / "build" / "notebooks" / profile)
    for source in notebooks:
        params = {"profile": profile, "force": force, **notebook_parameters(source, extra or {})}
        staged_nb, staged_figures = stage / source.name, stage / "figures" / source.stem
        kernel_log = stage / f"{source.stem}.kernel.log"
        env = {"PLASTICITY_FIGURES": str(staged_figures), "PLASTICITY_WORKERS": str(workers)}
        print(f"== {show(source)} (profile={profile}, force={force}, workers={workers})", flush=True)
        old_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            papermill.execute_notebook(str(source), str(staged_nb), parameters=params,
                                       cwd=str(source.parent), progress_bar=False, log_output=True,
                                       coalesce_streams=True,  # progress bars: final state only
                                       kernel_manager_class=kernel_logged_to(kernel_log))
        except (Exception, KeyboardInterrupt) as e:
            # Ctrl-C reaches the kernel too: whichever of the two interrupts papermill sees first, it is one
            interrupted = isinstance(e, KeyboardInterrupt) or getattr(e, "ename", None) == "KeyboardInterrupt"
            if interrupted:  # the kernel stopped mid-cell: its cell task's error is expected, not news
                logging.getLogger("asyncio").setLevel(logging.CRITICAL)
            kept = "nothing was published" if profile == "smoke" else \
                f"{show(published_notebook(source, profile))} and its figures are unchanged"
            why = "interrupted" if interrupted else f"{type(e).__name__}: {str(e)[-300:]}"
            print(f"\nFAILED {source.name} ({why}); partial output: {show(staged_nb)} (kernel log: "
                  f"{kernel_log.name}); {kept}", file=sys.stderr)
            return 130 if interrupted else 1
        finally:
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if profile == "smoke":
            print(f"smoke run finished: {show(staged_nb)} (smoke runs are never published)")
            continue
        for path in publish(staged_nb, staged_figures, source, profile):
            print(f"published {show(path)}")
    if profile != "smoke":
        shutil.rmtree(stage)  # everything in it was published
    return 0


def smoke_copies(out: Path, notebooks: list[Path]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in notebooks:
        nb = parameterize_notebook(load_notebook_node(str(path)), {"profile": "smoke", "force": False})
        nbformat.write(nb, out / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="execute notebooks at a profile and publish the finished ones")
    ex.add_argument("--profile", required=True, choices=environment.PROFILES)
    ex.add_argument("--force", default="0", help="retrain stored runs: 1/0/true/false/yes/no")
    ex.add_argument("--workers", default="1", help="parallel single-thread training processes (>= 1)")
    ex.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="another notebook parameter (must be declared in its parameters cell)")
    ex.add_argument("notebooks", nargs="+", type=Path)
    sm = sub.add_parser("smoke-copies", help="copies with profile='smoke' injected, for nbval")
    sm.add_argument("out", type=Path)
    sm.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "smoke-copies":
        smoke_copies(args.out, args.notebooks)
        return 0
    try:
        force = environment.parse_flag(args.force, "FORCE")
        workers = environment.parse_workers(args.workers, "WORKERS")
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    extra = dict(args.parameter)
    reserved = {"profile", "force"} & set(extra)
    if reserved:
        raise SystemExit(f"error: set {', '.join(sorted(reserved))} with --{'/--'.join(sorted(reserved))}, not -p")
    notebooks = [p.resolve() for p in args.notebooks]
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        raise SystemExit(f"error: no such notebook: {', '.join(missing)}")
    return execute(notebooks, args.profile, force, workers, extra)


if __name__ == "__main__":
    sys.exit(main())
