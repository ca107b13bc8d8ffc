"""Shared test fixtures: the papers' seed texts (for checking that quotes in a paper column are in them), float64."""

import re
from pathlib import Path

import pytest
import torch

# The seed texts sit beside the repository (../shared/papers, with a README saying which file is which);
# the tests that read them are skipped where they are absent.
PAPERS = Path(__file__).resolve().parents[1].parent / "shared" / "papers"


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def quoted_in():
    """``quoted_in(value, prefix)``: every '...' quote in ``value`` is in the seed text whose name starts
    with ``prefix`` (words restored in [brackets] excepted); returns the quotes checked."""

    def check(value: str, prefix: str) -> list[str]:
        files = sorted(PAPERS.glob(f"{prefix}*.txt"))
        if not files:
            pytest.skip(f"seed text {prefix}* not found under {PAPERS}")
        text = _normal(files[0].read_text(encoding="utf-8"))
        quotes = re.findall(r"'([^']+)'", value)
        for q in quotes:
            for piece in re.split(r"\[[^\]]*\]", q):
                assert _normal(piece).strip() in text, f"{piece!r} is not in {files[0].name}"
        return quotes

    return check


@pytest.fixture
def float64():
    """Compute in float64 inside the test (the equality tests of R runs against R single runs)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
