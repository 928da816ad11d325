"""Default priors must equal brms 2.18's get_prior() rows exactly, string for string."""

from __future__ import annotations

import pandas as pd
import pytest

import brmc
from brmc.priors import PRIOR_COLUMNS

from .conftest import reference_csv

# default_priors.csv cases the Gaussian foundation covers: case → data set
GAUSSIAN_CASES = {
    "gaussian_sleepstudy": "sleepstudy",
    "gaussian_gcse": "gcse",
    "gaussian_jsp_math": "jspr",
    "gaussian_exam_smallmad": "Exam",
    "gaussian_oxboys": "Oxboys",
}


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    ours = pd.DataFrame(ours)[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    theirs = theirs[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs)


@pytest.mark.parametrize("case", sorted(GAUSSIAN_CASES))
def test_default_prior_grid(case: str) -> None:
    grid = reference_csv("default_priors.csv")
    rows = grid[grid["case"] == case]
    assert len(rows), case
    formula, family = rows["formula"].iloc[0], rows["family"].iloc[0]
    ours = brmc.get_prior(formula, brmc.datasets.load(GAUSSIAN_CASES[case]), family=family)
    _compare(ours, rows)


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS))
def test_reference_get_prior(name: str) -> None:
    formula, dataset, family = brmc.datasets.REFERENCE_MODELS[name]
    ours = brmc.get_prior(formula, brmc.datasets.load(dataset), family=family)
    _compare(ours, reference_csv(name, "get_prior.csv"))


def test_prior_scale_uses_rows_left_after_dropping_missing() -> None:
    """Gcsemv with missing 'course' gives brms's 75.9 / 16.5, computed after the drop."""
    with pytest.warns(UserWarning, match="180 of 1905 rows dropped"):
        tab = brmc.get_prior("course ~ gender + (1 | school)", brmc.datasets.load("Gcsemv"))
    assert "student_t(3, 75.9, 16.5)" in set(tab["prior"])
