"""`make help` lists every target and variable of the Makefile, read from the Makefile's own annotations."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on this machine")
def test_make_help_lists_every_target_and_variable_and_is_the_default():
    makefile = (ROOT / "Makefile").read_text()
    targets = re.search(r"^\.PHONY:(.*)$", makefile, re.M).group(1).split()
    variables = re.findall(r"^([A-Z_]+)\s*\?=", makefile, re.M)
    assert "help" in targets and len(variables) >= 8
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under `make test`
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                           check=True, env=env).stdout
    listed = re.findall(r"^  ([a-z][a-z-]*)\s+\S", shown, re.M)
    assert sorted(listed) == sorted(targets)  # each with its description
    for name in variables:
        assert re.search(rf"^  {name}=\S*\s+\S", shown, re.M), f"{name} is not described in `make help`"
    assert "  PROFILE=cpu " in shown and "  DATA_MIRROR= " in shown  # defaults as the Makefile sets them
    bare = subprocess.run(["make", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, check=True,
                          env=env)
    assert bare.stdout == shown  # a bare `make` only shows this
