"""Copy notebooks into a folder with the smoke profile injected the way papermill injects parameters.

`make test` runs nbval on these copies: the committed notebooks carry the parameters of the run that
produced their outputs (papermill's `injected-parameters` cell, e.g. profile = "cpu"), which would
otherwise override the smoke profile.

    python tools/smoke_notebooks.py OUT_DIR NOTEBOOK [NOTEBOOK ...]
"""

import sys
from pathlib import Path

import nbformat
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook


def main(out: str, *notebooks: str) -> None:
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    for path in notebooks:
        nb = parameterize_notebook(load_notebook_node(path), {"profile": "smoke", "force": False})
        nbformat.write(nb, target / Path(path).name)


if __name__ == "__main__":
    main(*sys.argv[1:])
