"""Execute the notebooks without ever losing committed results (what `make figures` and `make test` run).

    python tools/notebooks.py execute --profile cpu [--force 0] [--workers 2] [-p NAME VALUE ...] NOTEBOOK ...
    python tools/notebooks.py smoke-copies OUT_DIR NOTEBOOK ...

``execute`` runs each notebook with papermill into ``build/notebooks/<profile>/`` (its figures and
summary rows into ``build/notebooks/<profile>/figures/``), and only when the notebook finished does it
publish them: the executed notebook to its profile's place (``cpu``: over ``notebooks/<name>.ipynb``;
``paper``: ``notebooks/paper/<name>.ipynb``), the figures into ``figures/`` (``figures/paper/`` for
``paper``), and the summary table ``README.md`` there is rebuilt. A failed or interrupted notebook
publishes nothing and says where its partial output is. ``smoke`` runs are never published.

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
import os
import shutil
import sys
from pathlib import Path

import nbformat
import papermill
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from plasticity_utils import config, report  # noqa: E402

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
                out[name] = config.parse_flag(text, name)
            except ValueError as e:
                raise SystemExit(f"error: {path.name}: {e}") from None
        else:
            try:
                out[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                out[name] = text  # a plain word, e.g. a device name
    return out


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
    real_figures = config.figures_dir(profile)  # figures/ or figures/<profile>/, as the notebook saw its stage
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
    return [target_nb, *written]


def execute(notebooks: list[Path], profile: str, force: bool = False, workers: int = 1,
            extra: dict[str, str] | None = None, stage: Path | None = None) -> int:
    """Run and publish each notebook in turn (see the module docstring); stop at the first failure.
    Returns the exit status: 0, 1 (a notebook failed) or 130 (interrupted)."""
    config.check_profile(profile)
    stage = stage or ROOT / "build" / "notebooks" / profile
    stage.mkdir(parents=True, exist_ok=True)
    for source in notebooks:
        params = {"profile": profile, "force": force, **notebook_parameters(source, extra or {})}
        staged_nb, staged_figures = stage / source.name, stage / "figures" / source.stem
        shutil.rmtree(staged_figures, ignore_errors=True)
        env = {"PLASTICITY_FIGURES": str(staged_figures), "PLASTICITY_WORKERS": str(workers)}
        print(f"== {show(source)} (profile={profile}, force={force}, workers={workers})", flush=True)
        old_env = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            papermill.execute_notebook(str(source), str(staged_nb), parameters=params,
                                       cwd=str(source.parent), progress_bar=False, log_output=True,
                                       coalesce_streams=True)  # progress bars: final state only
        except (Exception, KeyboardInterrupt) as e:
            kept = "nothing was published" if profile == "smoke" else \
                f"{show(published_notebook(source, profile))} and its figures are unchanged"
            print(f"\nFAILED {source.name} ({type(e).__name__}: {str(e)[-300:]}); partial output: {show(staged_nb)}; "
                  f"{kept}", file=sys.stderr)
            return 130 if isinstance(e, KeyboardInterrupt) else 1
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
    ex.add_argument("--profile", required=True, choices=config.PROFILES)
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
        force = config.parse_flag(args.force, "FORCE")
        workers = config.parse_workers(args.workers, "WORKERS")
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
