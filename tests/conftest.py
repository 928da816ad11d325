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


@pytest.fixture(scope="session")
def fit() -> brmc.Fit:
    """A small sleepstudy fit shared by the tests that only read it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False)
