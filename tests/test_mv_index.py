"""brms's cross-formula indexing: ``mi(x, idx = id)`` with ``index()`` in subsetted multivariate
models (R/formula-ad.R ``.tidy_index``, R/data-predictor.R ``idxl = match(idx, index)``, Stan
``Yl_x[idxl[n]]``): the matched rows, the joint log density against SciPy written here, fitted values
from the draws, and brms's refusals in its words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import brmc
from brmc.errors import DataError, FormulaError
from brmc.mvdata import build_mv_data, resolve_mv_priors
from brmc.mvmodel import build_mv_model

from .conftest import quiet

NA = np.nan
DATA = pd.DataFrame({
    "sub1": [True, True, True, True, True, False, False, False],
    "sub2": [False, False, False, True, True, True, True, True],
    "y": [1.0, 2.5, 0.3, 1.7, 2.2, NA, NA, NA],
    "id": [12, 10, 11, 14, 10, NA, NA, NA],
    "x": [NA, NA, NA, 0.4, NA, 1.1, -0.3, NA],
    "k": [NA, NA, NA, 10, 11, 12, 13, 14],
})
FORMULA = (brmc.bf("y | subset(sub1) ~ mi(x, idx = id)") + brmc.bf("x | mi() + index(k) + subset(sub2) ~ 1")
           + brmc.set_rescor(False))
X_ROWS = DATA[DATA["sub2"]]  # x's rows, in order: k = 10, ..., 14
Y_ROWS = DATA[DATA["sub1"]]
MATCH = np.array([2, 0, 1, 4, 0])  # the row of x whose k is each y row's id


def _mv():
    return quiet(build_mv_data, FORMULA, DATA)


def test_rows_matched_as_brms_match() -> None:
    mv = _mv()
    term = mv.responses["y"].predictors["mu"].parts["mi"].terms[0]
    np.testing.assert_array_equal(term.idxl, MATCH)
    assert X_ROWS["k"].to_numpy()[MATCH].tolist() == Y_ROWS["id"].tolist()
    table = quiet(brmc.get_prior, FORMULA, DATA)
    assert ("b", "mixidxEQid", "y") in set(zip(table["class"], table["coef"], table["resp"]))


def _potential(built, name: str, values: dict) -> float:
    model = built.model
    (term,) = model.replace_rvs_by_values([model[name]])
    f = model.compile_fn(term, inputs=model.value_vars, point_fn=False, on_unused_input="ignore")
    return float(f(**values))


def test_joint_log_density_against_scipy() -> None:
    """y_n ~ normal(Intercept_y + bsp * Yl_x[match(id_n, k)], sigma_y) on y's rows, and
    Yl_x ~ normal(Intercept_x, sigma_x) on x's rows, Yl_x the observed x with Ymi_x in its gaps."""
    mv = _mv()
    built = build_mv_model(mv, resolve_mv_priors(mv))
    p = {"Intercept_y": 0.7, "bspmi_y": np.array([-0.8]), "sigma_y": 1.3, "Intercept_x": 0.2, "sigma_x": 0.6,
         "Ymi_x": np.array([0.9, -1.2])}
    values = {v.name: np.log(p[v.name.removesuffix("_log__")]) if v.name.endswith("_log__") else p[v.name]
              for v in built.model.value_vars}
    Yl = X_ROWS["x"].to_numpy().copy()
    Yl[np.isnan(Yl)] = p["Ymi_x"]
    mu = p["Intercept_y"] + p["bspmi_y"][0] * Yl[MATCH]
    expected_y = stats.norm.logpdf(Y_ROWS["y"], mu, p["sigma_y"]).sum()
    expected_x = stats.norm.logpdf(Yl, p["Intercept_x"], p["sigma_x"]).sum()
    assert _potential(built, "Y_y_loglik", values) == pytest.approx(expected_y, rel=1e-10)
    assert _potential(built, "Y_x_loglik", values) == pytest.approx(expected_x, rel=1e-10)


def test_fitted_reads_the_matched_imputed_rows() -> None:
    fit = quiet(brmc.brm, FORMULA, DATA, chains=1, iter=6, seed=2, progress=False, algorithm="fixed_param")
    post = fit.idata.posterior
    Yl = np.tile(X_ROWS["x"].to_numpy(), (len(post.draw), 1))
    missing = np.flatnonzero(X_ROWS["x"].isna())
    Yl[:, missing] = np.stack([post[f"Ymi_x[{j + 1}]"].values[0] for j in missing], axis=-1)
    expected = post["b_y_Intercept"].values[0][:, None] + post["bsp_y_mixidxEQid"].values[0][:, None] * Yl[:, MATCH]
    np.testing.assert_allclose(fit.posterior_epred(resp="y"), expected, rtol=1e-10)
    assert fit.log_lik(resp="y").shape[-1] == len(Y_ROWS)


@pytest.mark.parametrize("formula,error,message", [
    (brmc.bf("y | subset(sub1) ~ mi(x)") + brmc.bf("x | mi() + index(k) + subset(sub2) ~ 1"), FormulaError,
     "mi() terms in subsetted formulas require the 'idx' argument to be specified"),
    (brmc.bf("y ~ mi(x)") + brmc.bf("x | mi() + index(k) + subset(sub2) ~ 1"), FormulaError,
     "mi() terms of subsetted variables require the 'idx' argument to be specified"),
    (brmc.bf("y | subset(sub1) ~ mi(x, idx = id)") + brmc.bf("x | mi() + subset(sub2) ~ 1"), FormulaError,
     "Response 'x' needs to have an 'index' addition term to compare with 'idx'. See ?mi for examples"),
    (brmc.bf("y | subset(sub1) ~ mi(x, idx = id)") + brmc.bf("x | mi() + index(k2) + subset(sub2) ~ 1"), DataError,
     "Could not match all indices in response 'x'."),
    (brmc.bf("y | subset(sub1) ~ mi(x, idx = id)") + brmc.bf("x | mi() + index(sqrt(kneg)) + subset(sub2) ~ 1"),
     DataError, "NAs are not allowed in 'index' variables."),  # a row missing k itself is dropped first
    (brmc.bf("y | subset(sub1) ~ mi(x, idx = id)") + brmc.bf("x | mi() + index(kdup) + subset(sub2) ~ 1"),
     DataError, "Index of response 'x' contains duplicated values."),
    (brmc.bf("y | subset(sub1) ~ mi(x, idx = log(id))") + brmc.bf("x | mi() + index(k) + subset(sub2) ~ 1"),
     FormulaError, "'mi' only accepts single untransformed variables"),
])
def test_refusals_in_brms_words(formula, error, message) -> None:
    data = DATA.assign(k2=DATA["k"] + 1, kneg=DATA["k"].where(DATA.index != 5, -1.0), kdup=DATA["k"].replace(14, 13))
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        quiet(build_mv_data, formula + brmc.set_rescor(False), data)
