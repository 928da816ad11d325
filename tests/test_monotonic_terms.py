"""``mo()`` as a term kind (:mod:`brmc.terms.sp`): brms's priors and names, interactions, the
linear predictor against a hand computation from brms's own data, and new rows.

The agreement of the fitted posterior with brms's (mo_sleep) is in ``tests/test_reference_fits.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.errors import DataError, FormulaError

from .conftest import quiet, reference_csv, reference_standata
from .test_reference_priors import _compare

SLEEP = brmc.datasets.load("sleepstudy")


def test_an_interaction_expands_as_brms() -> None:
    """``mo(Days) * Days`` is ``mo(Days) + Days + mo(Days):Days``, with brms's priors."""
    terms = brmc.parse_formula("Reaction ~ mo(Days) * Days").terms
    assert [str(terms[0].expr), *map(str, terms[1:])] == ["Days", "mo(Days)", "mo(Days):Days"]
    rows = reference_csv("mo_interaction_sleep", "default_priors2.csv")
    _compare(brmc.get_prior(rows["formula"].iloc[0], SLEEP), rows)
    md = brmc.data.build_data(brmc.parse_formula(rows["formula"].iloc[0]), SLEEP, brmc.get_family("gaussian"))
    ref = reference_standata("mo_interaction_sleep")
    part = md.predictors["mu"].parts["sp"]
    np.testing.assert_array_equal(part[1].basis.Csp, ref["Csp_1"])
    np.testing.assert_array_equal([t.basis.parts[0].Xmo for t in part], [ref["Xmo_1"], ref["Xmo_2"]])


@pytest.mark.parametrize("formula, error, message", [
    ("Reaction ~ mo(log(Days))", FormulaError, "takes column names"),
    ("Reaction ~ mo(Days, id = 1)", FormulaError, "takes one column name"),
    ("Reaction ~ x + offset(Days) * mo(Days)", FormulaError, "must be added as a term of its own"),
    ("Reaction ~ mo(Reaction)", DataError, "must be integers or ordered factors"),
])
def test_bad_monotonic_terms_are_refused(formula: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        brmc.get_prior(formula, SLEEP.assign(x=1.0))


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    return quiet(brmc.brm, "Reaction ~ mo(Days) + (1 | Subject)", SLEEP, chains=2, iter=400, seed=4, progress=False)


def test_the_linear_predictor_is_brms_mo_on_brms_data(fit: brmc.Fit) -> None:
    """``Intercept + bsp * mo(simo, Xmo) + r``, computed here from the draws and brms's ``Xmo``/``Jmo``."""
    post = fit.idata.posterior
    ref = reference_standata("mo_sleep")
    flat = lambda name: post[name].values.reshape(-1)
    simo = np.stack([flat(f"simo_moDays1[{k}]") for k in range(1, 10)], axis=-1)
    np.testing.assert_allclose(simo.sum(axis=1), 1.0, rtol=1e-12)
    mo = ref["Jmo"][0] * np.concatenate([np.zeros((len(simo), 1)), np.cumsum(simo, axis=1)], axis=1)[:, ref["Xmo_1"]]
    r = post["r_Subject"].sel(Subject__coef="Intercept").values.reshape(len(simo), -1)
    level = SLEEP["Subject"].astype(str).map({lv: i for i, lv in enumerate(post["Subject__level"].values)})
    expected = flat("b_Intercept")[:, None] + flat("bsp_moDays")[:, None] * mo + r[:, level.to_numpy()]
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit), expected, rtol=1e-10)
    new = SLEEP.iloc[[3, 40]]
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit, newdata=new), expected[:, [3, 40]], rtol=1e-10)


def test_fixef_has_the_monotonic_coefficient(fit: brmc.Fit) -> None:
    assert list(fit.fixef().index) == ["Intercept", "moDays"]
    assert list(fit.fixef(summary=False).columns) == ["Intercept", "moDays"]


def test_summary_has_brms_sections(fit: brmc.Fit) -> None:
    text = str(fit)
    assert "\nmoDays " in text and "Simplex Parameters: \n" in text and "\nmoDays1[9] " in text
    assert text.index("Population-Level Effects:") < text.index("Simplex Parameters:") < text.index(
        "Family Specific Parameters:")


def test_an_ordered_factor_with_number_levels_predicts_new_rows() -> None:
    """New rows reach ``mo()`` as R's labels ("1"), the training factor has the numbers (1): they must match."""
    rng = np.random.default_rng(3)
    x = pd.Categorical(rng.integers(1, 4, 40), categories=[1, 2, 3], ordered=True)
    data = pd.DataFrame({"y": rng.normal(size=40) + np.asarray(x, dtype=float), "x": x})
    fit = quiet(brmc.brm, "y ~ mo(x)", data, chains=1, iter=200, seed=2, progress=False)
    rows = [0, 5, 17]
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit, newdata=data.iloc[rows]),
                               brmc.predict.posterior_epred(fit)[:, rows], rtol=1e-12)


def test_conditional_effects_of_a_monotonic_variable_run_over_whole_numbers(fit: brmc.Fit) -> None:
    """brms's ``get_int_vars``: a ``mo()`` variable's effect grid is min..max by 1; each value's estimate
    is the median of ``Intercept + bsp * mo(simo, k)``, computed here from the draws."""
    effect = fit.conditional_effects("Days")["Days"]
    np.testing.assert_array_equal(effect["Days"].to_numpy(), np.arange(10.0))
    post = fit.idata.posterior
    flat = lambda name: post[name].values.reshape(-1)
    simo = np.stack([flat(f"simo_moDays1[{k}]") for k in range(1, 10)], axis=-1)
    mo = 9 * np.concatenate([np.zeros((len(simo), 1)), np.cumsum(simo, axis=1)], axis=1)
    expected = np.median(flat("b_Intercept")[:, None] + flat("bsp_moDays")[:, None] * mo, axis=0)
    np.testing.assert_allclose(effect["estimate__"].to_numpy(), expected, rtol=1e-10)
