"""Default priors must equal brms 2.18's get_prior() rows exactly, string for string."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.priors import PRIOR_COLUMNS

from .conftest import FAMILY_FITS, reference_csv, reference_text



def _rats_proportion() -> pd.DataFrame:
    rats = brmc.datasets.load("rats")
    p = rats["m"] / rats["n"]
    return rats.assign(p=p.where(p > 0, 0.01))


def _inhaler_factor() -> pd.DataFrame:
    """brms's case data: ``rating_f = factor(rating)``."""
    inhaler = brmc.datasets.load("inhaler")
    return inhaler.assign(rating_f=pd.Categorical(inhaler["rating"]))


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
    "categorical_inhaler": _inhaler_factor,
    "gaussian_distributional_sigma": lambda: brmc.datasets.load("sleepstudy"),
    **{f"{fam}_grouseticks": (lambda: brmc.datasets.load("grouseticks")) for fam in (
        "poisson", "negbinomial", "geometric", "zero_inflated_poisson", "zero_inflated_negbinomial",
        "hurdle_poisson", "hurdle_lognormal")},
}


def _rats_prop() -> pd.DataFrame:
    """brms's case data: ``prop = m / n`` (zeros kept: the zero-inflated beta cases)."""
    rats = brmc.datasets.load("rats")
    return rats.assign(prop=rats["m"] / rats["n"])


# default_priors2.csv cases (round 2: families; each row names its formula, family and data set): data set → data
DATA2 = {"inhaler": lambda: brmc.datasets.load("inhaler"), "cbpp": lambda: brmc.datasets.load("cbpp"),
         "rats": _rats_prop, "grouseticks": lambda: brmc.datasets.load("grouseticks"),
         "sleepstudy": lambda: brmc.datasets.load("sleepstudy"), "kidney": lambda: brmc.datasets.load("kidney")}
CASES2 = ["acat_inhaler", "asym_laplace_sleep", "cratio_inhaler", "exgaussian_sleep", "frechet_kidney",
          "gev_sleep", "trunc_sleep", "mixture_sleep", "cox_kidney", "hurdle_gamma_grouse", "hurdle_nb_grouse", "inverse_gaussian_kidney", "shifted_lognormal_sleep",
          "zib_cbpp", "zib_rats", "zoib_rats"]


def _compare(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    ours = pd.DataFrame(ours)[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    theirs = theirs[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, theirs)


def test_every_grid_case_is_checked() -> None:
    assert set(reference_csv("default_priors.csv")["case"]) == set(DATA)


@pytest.mark.parametrize("case", sorted(DATA))
def test_default_prior_grid(case: str) -> None:
    grid = reference_csv("default_priors.csv")
    rows = grid[grid["case"] == case]
    assert len(rows), case
    formula, family, link = rows["formula"].iloc[0], rows["family"].iloc[0], rows["link"].iloc[0]
    # the grid writes bf(y ~ x, sigma ~ x) as "y ~ x; sigma ~ x"
    ours = brmc.get_prior(brmc.bf(*formula.split("; ")), DATA[case](), family=brmc.get_family(family, link))
    _compare(ours, rows)


#: the grid's family column where brmc needs more: the mixture's components
FAMILY2 = {"mixture_sleep": brmc.mixture("gaussian", "gaussian")}


def test_every_family_case_of_the_second_grid_is_checked() -> None:
    assert set(reference_csv("default_priors2.csv")["case"]) == set(CASES2)


@pytest.mark.parametrize("case", CASES2)
def test_default_prior_grid_of_the_new_families(case: str) -> None:
    grid = reference_csv("default_priors2.csv")
    rows = grid[grid["case"] == case]
    formula, family, dataset = rows["formula"].iloc[0], rows["family"].iloc[0], rows["dataset"].iloc[0]
    _compare(brmc.get_prior(formula, DATA2[dataset](), family=FAMILY2.get(case, family)), rows)


def test_shifted_lognormal_ndt_is_bounded_by_the_smallest_response() -> None:
    """brms: real<lower=0,upper=min_Y> ndt with uniform(0, min_Y)."""
    sleep = brmc.datasets.load("sleepstudy")
    md = brmc.data.build_data(brmc.bf("Reaction ~ Days"), sleep, brmc.get_family("shifted_lognormal"))
    ndt = next(p for p in brmc.priors.resolve_priors(md).params if p.param == "ndt")
    assert (ndt.lb, ndt.ub) == (0.0, float(sleep["Reaction"].min()))
    assert (ndt.dist.name, ndt.dist.args) == ("uniform", (0.0, float(sleep["Reaction"].min())))


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS) + sorted(FAMILY_FITS))
def test_reference_get_prior(name: str) -> None:
    formula, dataset, family = {**brmc.datasets.REFERENCE_MODELS, **FAMILY_FITS}[name]
    ours = brmc.get_prior(formula, brmc.datasets.load(dataset), family=family)
    _compare(ours, reference_csv(name, "get_prior.csv"))


def test_prior_scale_uses_rows_left_after_dropping_missing() -> None:
    """Gcsemv with missing 'course' gives brms's 75.9 / 16.5, computed after the drop."""
    with pytest.warns(UserWarning, match="180 of 1905 rows dropped"):
        tab = brmc.get_prior("course ~ gender + (1 | school)", brmc.datasets.load("Gcsemv"))
    assert "student_t(3, 75.9, 16.5)" in set(tab["prior"])


def test_sigma_scale_is_on_the_response_whatever_mus_link() -> None:
    """brms's def_dprior computes sigma's scale with the identity link; sd uses mu's link."""
    tab = brmc.get_prior("Reaction ~ Days + (1 | Subject)", brmc.datasets.load("sleepstudy"),
                         family=brmc.get_family("gaussian", link="log"))
    assert tab.loc[tab["class"] == "sigma", "prior"].item() == "student_t(3, 0, 59.3)"
    assert tab.loc[(tab["class"] == "sd") & (tab["group"] == ""), "prior"].item() == "student_t(3, 0, 2.5)"


def test_intercept_location_moves_by_the_mean_offset() -> None:
    """brms 2.18's def_scale_prior: location = round(median(link(y)), 1) - mean(offset)."""
    epilepsy = brmc.datasets.load("epilepsy")
    tab = brmc.get_prior("count ~ zAge + offset(log(Base))", epilepsy, family="poisson")
    y = epilepsy["count"].where(epilepsy["count"] > 0, 0.1)
    location = round(float(np.median(np.log(y))), 1) - float(np.log(epilepsy["Base"]).mean())
    assert tab.loc[tab["class"] == "Intercept", "prior"].item() == f"student_t(3, {location:.15g}, 2.5)"


# brms 2.18's print.brmsprior (prepare_print_prior, R/priors.R) of sleepstudy_slopes/get_prior.csv,
# worked by hand: row by row, a row without a prior takes the prior of the row without a coef
# of its class in its group (or no group) that has one -- rows already filled count -- and is
# marked "(vectorized)"; rows with none say "(flat)".  Empty bounds are filled the same way.
# So 'b Days' inherits the "(flat)" just written on 'b', and the sd rows of Subject print the
# class-level student_t with lb 0, as the fit's prior_summary.txt shows them.
SLEEP_GET_PRIOR_PRINT = [
    "                     prior     class      coef   group resp dpar nlpar lb ub",
    "                    (flat)         b                                        ",
    "                    (flat)         b      Days                              ",
    "                    lkj(1)       cor                                        ",
    "                    lkj(1)       cor           Subject                      ",
    " student_t(3, 288.7, 59.3) Intercept                                        ",
    "     student_t(3, 0, 59.3)        sd                                    0   ",
    "     student_t(3, 0, 59.3)        sd           Subject                  0   ",
    "     student_t(3, 0, 59.3)        sd      Days Subject                  0   ",
    "     student_t(3, 0, 59.3)        sd Intercept Subject                  0   ",
    "     student_t(3, 0, 59.3)     sigma                                    0   ",
    "       source",
    "      default",
    " (vectorized)",
    "      default",
    " (vectorized)",
    "      default",
    "      default",
    " (vectorized)",
    " (vectorized)",
    " (vectorized)",
    "      default",
]


def test_get_prior_prints_inherited_rows_as_brms() -> None:
    tab = brmc.get_prior("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"))
    stored = reference_csv("sleepstudy_slopes", "get_prior.csv")
    pd.testing.assert_frame_equal(pd.DataFrame(tab).reset_index(drop=True)[list(stored.columns)], stored)
    printed = repr(tab).splitlines()
    assert printed == SLEEP_GET_PRIOR_PRINT
    # the rows brms's prior_summary of the fit prints alike (all but cor, there L) are its lines
    fitted = reference_text("sleepstudy_slopes", "prior_summary.txt").splitlines()
    for ours, theirs in {1: 1, 2: 2, 5: 3, 6: 6, 7: 7, 8: 8, 9: 9, 10: 10}.items():
        assert printed[ours] == fitted[theirs]
        assert printed[ours + 11] == fitted[theirs + 11]
