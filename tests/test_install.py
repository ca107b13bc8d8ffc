"""The built wheel: its version is the package's, its requirements admit environment.yml's pins, its extras
exist and it holds every module of the package."""

import email.parser
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import plasticity_utils

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = {"notebooks", "dask"}


def environment_pins(text: str) -> dict[str, Version]:
    """The ``name==version`` lines of environment.yml's pip list (as the Makefile reads them)."""
    pins, in_pip = {}, False
    for line in text.splitlines():
        if re.match(r"\s*- pip:\s*$", line):
            in_pip = True
        elif in_pip and (m := re.match(r"\s*- ([A-Za-z0-9_.-]+)==([^\s#]+)", line)):
            pins[canonicalize_name(m[1])] = Version(m[2])
    return pins


def test_environment_pins_are_read():
    text = "dependencies:\n  - python=3.11\n  - pip:\n      - torch==2.13.0  # note\n      - Foo_Bar==1.0\n"
    assert environment_pins(text) == {"torch": Version("2.13.0"), "foo-bar": Version("1.0")}


@pytest.fixture(scope="module")
def metadata(tmp_path_factory):
    """The METADATA and file list of a wheel built from a copy of the sources (the tree stays clean)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    shutil.copytree(ROOT / "plasticity_utils", src / "plasticity_utils",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--wheel-dir", str(tmp / "dist"), str(src)], check=True)
    (wheel,) = (tmp / "dist").glob("plasticity_utils-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    return email.parser.Parser().parsestr(meta), names


def test_wheel_version_is_the_packages(metadata):
    assert metadata[0]["Version"] == plasticity_utils.__version__


def test_wheel_holds_every_module(metadata):
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "plasticity_utils").rglob("*.py")}
    missing = modules - set(metadata[1])
    assert not missing, f"modules left out of the wheel: {sorted(missing)}"


def test_requirements_admit_the_environment_pins(metadata):
    pins = environment_pins((ROOT / "environment.yml").read_text())
    requirements = [Requirement(r) for r in metadata[0].get_all("Requires-Dist")]
    assert set(metadata[0].get_all("Provides-Extra")) == EXTRAS
    declared = {}
    for r in requirements:
        extra = re.search(r"""extra == ['"](\w+)['"]""", str(r.marker)) if r.marker else None
        assert r.marker is None or extra, f"unexpected marker: {r}"
        declared[canonicalize_name(r.name)] = (r.specifier, extra[1] if extra else None)
    assert set(declared) == set(pins), (f"in environment.yml only: {sorted(set(pins) - set(declared))}; "
                                        f"in pyproject.toml only: {sorted(set(declared) - set(pins))}")
    for name, (spec, _) in declared.items():
        assert spec and pins[name] in spec, (f"{name}: environment.yml pins {pins[name]}, "
                                             f"pyproject.toml declares '{spec}'")
    runtime = {n for n, (_, extra) in declared.items() if extra is None}
    assert {"torch", "numpy", "scipy", "pandas", "matplotlib", "seaborn", "tqdm", "pillow", "pooch"} <= runtime
    assert {n for n, (_, e) in declared.items() if e == "dask"} == {"dask", "distributed", "bokeh"}
    assert {"papermill", "ipykernel", "nbval"} <= {n for n, (_, e) in declared.items() if e == "notebooks"}
    # a torch range open above would install a newer (CUDA) build over the tested CPU build
    assert Version("2.14.0") not in declared["torch"][0]
