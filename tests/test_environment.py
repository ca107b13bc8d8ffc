"""Strict parameters: command-line booleans, seeds, workers, devices, and where each profile writes."""

import pytest
import torch

from plasticity_utils import environment


@pytest.mark.parametrize("text, value", [("1", True), ("true", True), ("YES", True), ("on", True), (True, True),
                                         ("0", False), ("false", False), ("No", False), ("", False)])
def test_flags_parse_strictly(text, value):
    assert environment.parse_flag(text) is value


@pytest.mark.parametrize("text", ["notabool", "2", "ture", "-1", "none"])
def test_unknown_flag_words_are_errors(text):
    with pytest.raises(ValueError, match="FORCE=.*not a boolean"):
        environment.parse_flag(text, "FORCE")


def test_seeds_are_checked():
    assert environment.check_seeds(range(3)) == [0, 1, 2]
    for bad in (["a"], [1.0], [-2], [1, 1]):
        with pytest.raises(ValueError, match="seeds"):
            environment.check_seeds(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:0"])
def test_asking_for_cuda_without_it_says_so(name):
    with pytest.raises(ValueError, match="no CUDA GPU"):
        environment.pick_device(name)


def test_devices():
    assert environment.pick_device("cpu") == torch.device("cpu")
    assert environment.pick_device(None).type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="not a torch device"):
        environment.pick_device("gpu0")
    with pytest.raises(ValueError, match="only 'cpu' and 'cuda'"):
        environment.pick_device("meta")


def test_each_profile_has_its_own_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("PLASTICITY_RESULTS", str(tmp_path / "results"))
    assert environment.figures_dir("cpu") == tmp_path / "figures"
    assert environment.figures_dir("paper") == tmp_path / "figures" / "paper"
    assert not environment.figures_dir("smoke").is_relative_to(tmp_path / "figures")


def test_shown_paths_are_relative_where_possible(tmp_path, monkeypatch):
    from plasticity_utils.environment import ROOT, shown

    monkeypatch.chdir(tmp_path)
    assert shown(tmp_path / "results" / "x") == "results/x" and shown(tmp_path) == "."
    assert shown(ROOT / "results" / "omniglot") == "results/omniglot"  # outside the working directory
    assert shown("/elsewhere/file") == "/elsewhere/file" and shown("rel/file") == "rel/file"
