"""Shared test helpers: where brms's reference results live (``tests/reference``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import brmc

#: brms 2.18's outputs, copied into the repository (see ``tests/reference/README.md``).
REFERENCE = Path(__file__).resolve().parent / "reference"

warnings.filterwarnings("ignore", message=".*BLAS.*")


def reference_path(*parts: str) -> Path:
    """A file under ``tests/reference``; a missing one fails the test, naming it."""
    path = REFERENCE.joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"reference file missing: {path} (see tests/reference/README.md)")
    return path


def reference_text(*parts: str) -> str:
    """A reference text file (brms's printed output) without its final newline."""
    return reference_path(*parts).read_text().rstrip("\n")


def reference_csv(*parts: str) -> pd.DataFrame:
    """A reference CSV, every cell a string, empty cells as ''."""
    return pd.read_csv(reference_path(*parts), keep_default_na=False, dtype=str)

SLEEP = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="session")
def fit() -> brmc.Fit:
    """A small sleepstudy fit shared by the tests that only read it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False)


@pytest.fixture
def close_figures():
    """Close every matplotlib figure after a plotting test."""
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def saves_png(fig, tmp_path: Path, name: str) -> None:
    """Render ``fig`` to a PNG file and check the file is one."""
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
