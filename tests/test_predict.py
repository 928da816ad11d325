"""Predictions: equal to an independent computation from the draws, brms's newdata rules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.errors import DataError

from .conftest import xla_compilations


def _by_hand(fit: brmc.Fit, days: np.ndarray, subjects: list[str], with_r: bool = True) -> np.ndarray:
    d = fit.draws()
    mu = d["b_Intercept"].to_numpy()[:, None] + np.outer(d["b_Days"], days)
    if with_r:
        r0 = np.column_stack([d[f"r_Subject[{s},Intercept]"] for s in subjects])
        r1 = np.column_stack([d[f"r_Subject[{s},Days]"] for s in subjects])
        mu = mu + r0 + r1 * days
    return mu


def test_epred_on_training_data_equals_hand_computation(fit: brmc.Fit) -> None:
    df = fit.data
    expected = _by_hand(fit, df["Days"].to_numpy(), list(df["Subject"].astype(str)))
    np.testing.assert_allclose(fit.posterior_epred(), expected, rtol=1e-10)
    np.testing.assert_allclose(fit.fitted()["Estimate"], expected.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(fit.posterior_epred(re_formula=False),
                               _by_hand(fit, df["Days"].to_numpy(), [], with_r=False), rtol=1e-10)


def test_newdata_old_levels_equal_hand_computation(fit: brmc.Fit) -> None:
    nd = pd.DataFrame({"Days": [0.0, 3.0, 9.0], "Subject": ["309", "372", "309"]})
    np.testing.assert_allclose(fit.posterior_epred(nd), _by_hand(fit, nd["Days"].to_numpy(), list(nd["Subject"])),
                               rtol=1e-10)


def test_re_formula_subset_keeps_only_named_terms(fit: brmc.Fit) -> None:
    nd = pd.DataFrame({"Days": [2.0], "Subject": ["309"]})
    d = fit.draws()
    expected = d["b_Intercept"] + 2 * d["b_Days"] + d["r_Subject[309,Intercept]"]
    np.testing.assert_allclose(fit.posterior_epred(nd, re_formula="~ (1 | Subject)")[:, 0], expected, rtol=1e-10)


def test_new_levels_widen_intervals(fit: brmc.Fit) -> None:
    nd = pd.DataFrame({"Days": [5.0, 5.0], "Subject": ["308", "new"]})
    for method in ("uncertainty", "gaussian", "old_levels"):
        out = fit.fitted(nd, allow_new_levels=True, sample_new_levels=method, seed=2)
        if method != "old_levels":
            assert out["Est.Error"].iloc[1] > 2 * out["Est.Error"].iloc[0], method


def test_predict_is_wider_than_fitted_and_ndraws(fit: brmc.Fit) -> None:
    assert (fit.predict(seed=1)["Est.Error"] > fit.fitted()["Est.Error"]).all()
    assert fit.posterior_predict(ndraws=50, seed=1).shape == (50, 180)
    np.testing.assert_array_equal(fit.posterior_predict(ndraws=50, seed=1), fit.posterior_predict(ndraws=50, seed=1))


def test_newdata_errors(fit: brmc.Fit) -> None:
    with pytest.raises(DataError, match="'Subject'"):
        fit.fitted(pd.DataFrame({"Days": [1.0]}))
    with pytest.raises(DataError, match="'999'.*allow_new_levels"):
        fit.fitted(pd.DataFrame({"Days": [1.0], "Subject": ["999"]}))
    with pytest.raises(DataError, match="sample_new_levels"):
        fit.fitted(pd.DataFrame({"Days": [1.0], "Subject": ["999"]}), allow_new_levels=True, sample_new_levels="x")


def test_unseen_predictor_level_is_refused() -> None:
    df = brmc.datasets.load("gcse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("course ~ female + (1 | school)", df, chains=1, iter=200, seed=1, progress=False)
    with pytest.raises(DataError, match="'X'.*'female'"):
        fit.fitted(pd.DataFrame({"female": ["X"], "school": ["20920"]}))
    out = fit.fitted(pd.DataFrame({"female": ["F", "M"], "school": ["20920", "20920"]}))
    d = fit.draws()
    expected = d["b_Intercept"] + d["b_femaleF"] + d["r_school[20920,Intercept]"]
    assert out["Estimate"].iloc[0] == pytest.approx(expected.mean())


def test_offset_enters_the_linear_predictor() -> None:
    df = brmc.datasets.load("epilepsy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("count ~ zBase + offset(log(Age)) + (1 | patient)", df, family="poisson", chains=1,
                       iter=300, seed=1, progress=False)
    d = fit.draws()
    r = np.column_stack([d[f"r_patient[{p},Intercept]"] for p in df["patient"].astype(str)])
    eta = d["b_Intercept"].to_numpy()[:, None] + np.outer(d["b_zBase"], df["zBase"]) + np.log(df["Age"].to_numpy()) + r
    np.testing.assert_allclose(fit.posterior_linpred(), eta, rtol=1e-10)
    np.testing.assert_allclose(fit.posterior_epred(newdata=df.iloc[:4]), np.exp(eta[:, :4]), rtol=1e-10)


def test_refit_with_new_trials_uses_them() -> None:
    """Addition-term values are data of the compiled model: a same-structure refit must see new trials."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"n": rng.integers(5, 30, 60), "g": np.repeat(np.arange(12), 5)})
    df["m"] = rng.binomial(df["n"], 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("m | trials(n) ~ 1 + (1 | g)", df, family="binomial", chains=1, iter=300, seed=1,
                       progress=False)
        bigger = df.assign(n=df["n"] * 4, m=rng.binomial(df["n"] * 4, 0.3))
        with xla_compilations() as compiled:
            refit = fit.update(newdata=bigger)
    assert compiled == []  # same structure: the compiled model was reused
    np.testing.assert_array_equal(refit.model_data.additions["trials"], bigger["n"])
    assert abs(refit.fixef().loc["Intercept", "Estimate"] - np.log(0.3 / 0.7)) < 0.3
