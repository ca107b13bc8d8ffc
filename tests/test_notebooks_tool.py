"""tools/notebooks.py: a notebook's committed outputs change only when a run of its profile finished."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from multiprocessing import get_context
from pathlib import Path

import nbformat
import pytest


spec = importlib.util.spec_from_file_location("nbtool", Path(__file__).parents[1] / "tools" / "notebooks.py")
nbtool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nbtool)


def tiny_notebook(path: Path) -> Path:
    """A notebook that saves a figure file and a summary row, then fails if asked to."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "cpu"\nforce = False\nfail = False\nlabel = "new"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Tiny"),
        params,
        nbformat.v4.new_code_cell(
            "from plasticity_utils import environment, report\n"
            "figs = environment.figures_dir(profile)\n"
            "figs.mkdir(parents=True, exist_ok=True)\n"
            "(figs / 'tiny.txt').write_text(label)\n"
            "row = {'claim': 'c', 'paper': 'p', 'ours': label, 'budget': 'b', 'verdict': 'reproduced'}\n"
            "report.record('tiny', [row], profile)\n"
            "print('ran with', profile, force, label)"),
        nbformat.v4.new_code_cell("if fail:\n    raise RuntimeError('boom')"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / "results"))
    return tmp_path


def run(project, profile, **params):
    nb = project / "notebooks" / "tiny.ipynb"
    return nbtool.execute([nb], profile, extra={k: str(v) for k, v in params.items()},
                          stage=project / "build" / profile)


def staged(project, profile) -> Path:
    """The staged notebook of the one run at ``profile`` so far."""
    (path,) = (project / "build" / profile).glob("*/tiny.ipynb")
    return path


def outputs(path: Path) -> str:
    return "".join(o.get("text", "") for c in nbformat.read(path, 4).cells if c.cell_type == "code"
                   for o in c.get("outputs", []))


def test_a_finished_run_is_published_for_its_own_profile(project):
    nb = tiny_notebook(project / "notebooks" / "tiny.ipynb")
    assert run(project, "cpu") == 0
    assert "ran with cpu False new" in outputs(nb)
    assert (project / "figures" / "tiny.txt").read_text() == "new"
    assert "| c | p |  | new | b | reproduced |" in (project / "figures" / "README.md").read_text()
    cells = nbformat.read(nb, 4).cells
    assert nbtool.VERDICT_TAG in cells[1].metadata["tags"] and "reproduced" in cells[1].source
    # the paper profile lands beside it, never over it
    assert run(project, "paper", label="'paper run'") == 0
    assert "ran with cpu" in outputs(nb)
    assert "ran with paper False paper run" in outputs(project / "notebooks" / "paper" / "tiny.ipynb")
    assert (project / "figures" / "tiny.txt").read_text() == "new"
    assert (project / "figures" / "paper" / "tiny.txt").read_text() == "paper run"
    # re-publishing replaces the verdict cell instead of adding a second one, and keeps its id
    first_id = cells[1]["id"]
    assert run(project, "cpu") == 0
    verdicts = [c for c in nbformat.read(nb, 4).cells if nbtool.VERDICT_TAG in c.metadata.get("tags", [])]
    assert len(verdicts) == 1 and verdicts[0]["id"] == first_id


def test_a_failed_run_leaves_everything_as_it_was(project, capsys):
    nb = tiny_notebook(project / "notebooks" / "tiny.ipynb")
    assert run(project, "cpu") == 0
    before = nb.read_bytes(), (project / "figures" / "tiny.txt").read_bytes()
    assert run(project, "cpu", fail=True, label="'broken'") == 1
    assert (nb.read_bytes(), (project / "figures" / "tiny.txt").read_bytes()) == before
    err = capsys.readouterr().err
    assert "FAILED tiny.ipynb" in err and f"partial output: {staged(project, 'cpu')}" in err
    assert "ran with cpu False broken" in outputs(staged(project, "cpu"))


def test_smoke_runs_publish_nothing(project):
    nb = tiny_notebook(project / "notebooks" / "tiny.ipynb")
    before = nb.read_bytes()
    assert run(project, "smoke") == 0
    assert nb.read_bytes() == before and not (project / "figures").exists()
    assert "ran with smoke" in outputs(staged(project, "smoke"))


def test_parameters_are_strict(project):
    nb = tiny_notebook(project / "notebooks" / "tiny.ipynb")
    with pytest.raises(SystemExit, match="has no parameter sedes"):
        run(project, "smoke", sedes="[0]")
    with pytest.raises(SystemExit, match="fail='maybe' is not a boolean"):
        run(project, "smoke", fail="maybe")
    with pytest.raises(SystemExit, match="FORCE='notabool' is not a boolean"):
        nbtool.main(["execute", "--profile", "smoke", "--force", "notabool", str(nb)])
    with pytest.raises(SystemExit, match="WORKERS='0'"):
        nbtool.main(["execute", "--profile", "smoke", "--workers", "0", str(nb)])
    assert nbtool.notebook_parameters(nb, {"fail": "false", "label": "'x'"}) == {"fail": False, "label": "x"}


def test_published_notebooks_record_project_relative_paths(project):
    nb = tiny_notebook(project / "notebooks" / "tiny.ipynb")
    assert run(project, "cpu") == 0
    record = nbformat.read(nb, 4).metadata["papermill"]
    assert record["input_path"] == nbtool.show(nb) and nbtool.show(nbtool.ROOT / "notebooks" / "x.ipynb") == \
        "notebooks/x.ipynb"


def test_each_run_stages_in_a_folder_of_its_own(project):
    tiny_notebook(project / "notebooks" / "tiny.ipynb")
    first, second = nbtool.new_stage(project / "stage"), nbtool.new_stage(project / "stage")
    assert first != second and first.parent == second.parent == project / "stage"
    assert run(project, "cpu") == 0
    assert not list((project / "build" / "cpu").iterdir())  # published, so its staging folder is gone


def _smoke_run(project: str, label: str) -> int:
    os.environ["PLASTICITY_RESULTS"] = str(Path(project) / "results")
    return nbtool.execute([Path(project) / "notebooks" / "tiny.ipynb"], "smoke", extra={"label": repr(label)},
                          stage=Path(project) / "build" / "smoke")


def test_two_runs_at_once_do_not_collide(project):
    tiny_notebook(project / "notebooks" / "tiny.ipynb")
    with get_context("spawn").Pool(2) as pool:
        assert pool.starmap(_smoke_run, [(str(project), "one"), (str(project), "two")]) == [0, 0]
    runs = sorted(outputs(p) for p in (project / "build" / "smoke").glob("*/tiny.ipynb"))
    assert len(runs) == 2 and "ran with smoke False one" in runs[0] and "ran with smoke False two" in runs[1]


def test_ctrl_c_is_one_line(project):
    nb = tiny_notebook(project / "notebooks" / "tiny.ipynb")
    started = project / "started"
    cells = nbformat.read(nb, 4)
    cells.cells.append(nbformat.v4.new_code_cell(f"open({str(started)!r}, 'w').close()\nimport time\ntime.sleep(120)"))
    nbformat.write(cells, nb)
    script = (f"import importlib.util, pathlib, sys\n"
              f"spec = importlib.util.spec_from_file_location('nbtool', {str(nbtool.__file__)!r})\n"
              "nbtool = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(nbtool)\n"
              f"sys.exit(nbtool.execute([pathlib.Path({str(nb)!r})], 'smoke', stage=pathlib.Path({str(project)!r})))")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert started.exists(), proc.communicate()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("FAILED tiny.ipynb (interrupted); partial output: "), err
    assert "Traceback" not in out + err and "nothing was published" in lines[0]


def test_an_interrupted_kernel_reads_as_an_interrupt_whichever_comes_first(project, monkeypatch, capsys):
    """Ctrl-C interrupts this process and the kernel alike; when papermill reports the kernel's KeyboardInterrupt
    (a cell error) before its own, the run still ends as interrupted (130), in one line."""
    from papermill.exceptions import PapermillExecutionError

    def kernel_interrupted(*args, **kwargs):
        raise PapermillExecutionError(3, 1, "time.sleep(120)", "KeyboardInterrupt", "", [])

    monkeypatch.setattr(nbtool.papermill, "execute_notebook", kernel_interrupted)
    tiny_notebook(project / "notebooks" / "tiny.ipynb")
    assert run(project, "smoke") == 130
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("FAILED tiny.ipynb (interrupted); partial output: ")
