"""Shared test helpers: where brms's reference results live."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REFERENCE = SHARED / "reference"

warnings.filterwarnings("ignore", message=".*BLAS.*")


def reference_csv(*parts: str) -> pd.DataFrame:
    """A CSV from ../shared/reference, empty cells as ''."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"reference file missing: {path}")
    return pd.read_csv(path, keep_default_na=False, dtype=str)
