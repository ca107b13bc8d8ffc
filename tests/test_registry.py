"""Every registered experiment follows the contract: its module (contract.check), its profiles, its notebook,
and its smoke profile through run -> claims -> figures (the smoke runs into the project's store, as the smoke
notebooks; the figures into a temporary folder)."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from plasticity_utils import experiments  # noqa: E402
from plasticity_utils.environment import PROFILES, ROOT, figures_dir  # noqa: E402
from plasticity_utils.data import MAKE_HINT  # noqa: E402
from plasticity_utils.experiments import contract  # noqa: E402

NAMES = experiments.names()


def test_the_registry_lists_each_experiment_module_once():
    folder = Path(contract.__file__).parent
    modules = {p.stem for p in folder.glob("*.py")} | {p.parent.name for p in folder.glob("*/__init__.py")}
    assert set(NAMES) == modules - {"__init__", "contract"}  # a module left out of the registry fails here
    assert all(experiments.experiment(n).module == f"plasticity_utils.experiments.{n}" for n in NAMES)
    assert experiments.names("sweep") == ("binary_patterns", "omniglot")
    with pytest.raises(ValueError, match="unknown experiment 'mnist'; choose one of"):
        experiments.experiment("mnist")
    with pytest.raises(ValueError, match="maze lacks the capability 'sweep'; experiments with it: "
                                         r"\('binary_patterns', 'omniglot'\)"):
        experiments.experiment("maze", "sweep")


@pytest.mark.parametrize("name", NAMES)
def test_module_follows_the_contract(name):
    entry = experiments.experiment(name)
    module = contract.check(entry.load())  # raises ContractError naming every missing part
    assert set(entry.capabilities) <= set(contract.CAPABILITIES)
    for profile, p in module.PROFILES.items():
        assert isinstance(p.options, contract.Options), profile
        for variant, config in p.configs.items():  # the run store keys runs by the config's fields
            assert dataclasses.is_dataclass(config) and config.__dataclass_params__.frozen, (profile, variant)
            assert p.seeds_for(variant), (profile, variant)
            # what a stored run must hold is the required fields of a typed record (contract.Record)
            assert config.RECORD_KEYS and isinstance(config.RECORD_KEYS, tuple), (profile, variant)
    assert list(module.PROFILES) == list(PROFILES)
    if entry.can("sweep"):  # what a sweep sends to a worker must travel, and names its runs
        variant, config = next(iter(module.PROFILES["smoke"].configs.items()))
        assert callable(pickle.loads(pickle.dumps(module.trainer(config)))) and isinstance(module.tag(variant), str)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_the_module_and_records_its_claims(name):
    entry = experiments.experiment(name)
    path = ROOT / entry.notebook
    assert path.is_file(), f"{entry.notebook} is missing"
    source = "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])
    assert f"from plasticity_utils.experiments import {name}" in source
    assert f'report.record("{path.stem}"' in source  # its rows in figures/summary/<notebook>.json


@pytest.mark.parametrize("name", NAMES)
def test_smoke_run_claims_and_figures(name, tmp_path, monkeypatch):
    # the runs go to the store the smoke notebooks read (``make test`` executes them after these tests), so each
    # smoke run is trained once per checkout; the figures go to a temporary folder
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path / "figures"))
    entry = experiments.experiment(name)
    module = entry.load()
    try:
        result = entry.run("smoke", device="cpu")
    except FileNotFoundError as e:
        if MAKE_HINT not in str(e):
            raise
        pytest.skip(f"{name} needs the datasets: {e}")
    profile = module.PROFILES["smoke"]
    assert isinstance(result, contract.Result)
    assert (result.experiment, result.profile, result.device) == (name, "smoke", "cpu")
    assert set(result.runs) <= set(profile.configs) and result.runs
    for variant, records in result.runs.items():
        assert len(records) == len(profile.seeds_for(variant)), variant
        # each record holds what its Record subclass declares: Record's own fields and the config's RECORD_KEYS
        typed = set(contract.Record.__required_keys__) | set(type(profile.configs[variant]).RECORD_KEYS)
        assert all(typed <= set(r) for r in records), (variant, typed - set(records[0]))
    claims = module.claims(result)
    assert claims and all(isinstance(c, contract.Claim) for c in claims)
    paths = module.figures(result)
    assert paths and all(isinstance(k, str) and isinstance(p, Path) for k, p in paths.items())
    for key, path in paths.items():
        assert path.is_file() and path.is_relative_to(figures_dir("smoke")), (key, path)
    plt.close("all")  # the figures are saved; keep the process's open figures few
