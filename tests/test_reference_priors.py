"""Default priors must equal brms 2.18's get_prior() rows exactly, string for string."""

from __future__ import annotations

import pandas as pd
import pytest

import brmc
from brmc.priors import PRIOR_COLUMNS

from .conftest import reference_csv



def _rats_proportion() -> pd.DataFrame:
    rats = brmc.datasets.load("rats")
    p = rats["m"] / rats["n"]
    return rats.assign(p=p.where(p > 0, 0.01))


# default_priors.csv cases: case → data
DATA = {
    "gaussian_sleepstudy": lambda: brmc.datasets.load("sleepstudy"),
    "gaussian_gcse": lambda: brmc.datasets.load("gcse"),
    "gaussian_jsp_math": lambda: brmc.datasets.load("jspr"),
    "gaussian_exam_smallmad": lambda: brmc.datasets.load("Exam"),
    "gaussian_oxboys": lambda: brmc.datasets.load("Oxboys"),
    "student_sleepstudy": lambda: brmc.datasets.load("sleepstudy"),
    "skew_normal_sleepstudy": lambda: brmc.datasets.load("sleepstudy"),
    "lognormal_sleepstudy": lambda: brmc.datasets.load("sleepstudy"),
    "gamma_log_kidney": lambda: brmc.datasets.load("kidney"),
    "weibull_kidney": lambda: brmc.datasets.load("kidney"),
    "exponential_kidney": lambda: brmc.datasets.load("kidney"),
    "poisson_epilepsy": lambda: brmc.datasets.load("epilepsy"),
    "bernoulli_sleepstudy2": lambda: brmc.datasets.load("sleepstudy2"),
    "binomial_cbpp": lambda: brmc.datasets.load("cbpp"),
    "beta_rats": _rats_proportion,
    "cumulative_inhaler": lambda: brmc.datasets.load("inhaler"),
    **{f"{fam}_grouseticks": (lambda: brmc.datasets.load("grouseticks")) for fam in (
        "poisson", "negbinomial", "geometric", "zero_inflated_poisson", "zero_inflated_negbinomial",
        "hurdle_poisson", "hurdle_lognormal")},
}


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    ours = pd.DataFrame(ours)[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    theirs = theirs[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs)


@pytest.mark.parametrize("case", sorted(DATA))
def test_default_prior_grid(case: str) -> None:
    grid = reference_csv("default_priors.csv")
    rows = grid[grid["case"] == case]
    assert len(rows), case
    formula, family, link = rows["formula"].iloc[0], rows["family"].iloc[0], rows["link"].iloc[0]
    ours = brmc.get_prior(formula, DATA[case](), family=brmc.get_family(family, link))
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
