"""Shared test helpers: where brms's reference results live."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import brmc

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference"

warnings.filterwarnings("ignore", message=".*BLAS.*")


def reference_csv(*parts: str) -> pd.DataFrame:
    """A CSV from ../shared/reference, empty cells as ''."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"reference file missing: {path}")
    return pd.read_csv(path, keep_default_na=False, dtype=str)

SLEEP = "Reaction ~ Days + (Days | Subject)"


def quiet(function, *args, **kwargs):
    """``function(*args, **kwargs)`` with its warnings silenced (small fits warn about ESS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


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
