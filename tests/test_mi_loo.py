"""loo()/waic() of fits with missing responses under mi(), as brms: ``log_lik`` is NA at a missing
response's rows (its data's NA; imputed values enter only the other responses' ``mi(x)`` predictors),
so loo refuses ("NAs not allowed in input", after brms's warning); brms scores the complete rows with
``loo(fit, newdata = na.omit(data))`` (``mi(x)`` then reads the new data's ``x``) or the responses
without missing values with ``resp =``.

The fits are draws made up here (no sampling: the log-likelihood reads only the draws), and every
log-likelihood is checked against SciPy's normal density written in the test."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest
import scipy.stats
import xarray as xr

import brmc
from brmc.api import _model_data
from brmc.errors import DataError
from brmc.fit import Fit
from brmc.mvdata import resolve_mv_priors
from brmc.mvfit import MvFit
from brmc.priors import resolve_priors
from brmc.sampling import SamplerSettings

from .conftest import quiet

NHANES = brmc.datasets.load("nhanes")
FORMULA = brmc.bf("bmi | mi() ~ age * mi(chl)") + brmc.bf("chl | mi() ~ age") + brmc.set_rescor(False)
COMPLETE = NHANES[NHANES[["bmi", "chl"]].notna().all(axis=1)]
NA_WORDS = "NAs not allowed in input: NAs were found in the log-likelihood"
C, D = 2, 60


def _draws(rng: np.random.Generator, means: dict[str, tuple[float, float]]) -> xr.Dataset:
    return xr.Dataset({name: (("chain", "draw"), loc + scale * rng.standard_normal((C, D)))
                       for name, (loc, scale) in means.items()})


@pytest.fixture(scope="module")
def mvfit() -> MvFit:
    """nhanes' mi model with made-up draws of every parameter and imputed value."""
    mv = quiet(_model_data, FORMULA, NHANES, "gaussian", None, None, None)
    means = {"b_bmi_Intercept": (20, 1), "b_bmi_age": (-1, 0.3), "bsp_bmi_michl": (0.03, 0.01),
             "bsp_bmi_michl:age": (0.0, 0.005), "b_chl_Intercept": (170, 5), "b_chl_age": (20, 3),
             "sigma_bmi": (3, 0.2), "sigma_chl": (35, 2)}
    for resp, loc in (("bmi", 26), ("chl", 190)):
        means |= {f"Ymi_{resp}[{j + 1}]": (loc, 3) for j in mv.responses[resp].predictors["mu"].parts["mi"].response.Jmi}
    post = _draws(np.random.default_rng(4), means)
    return MvFit(model_data=mv, priors=resolve_mv_priors(mv), settings=SamplerSettings(chains=C),
                 idata=az.InferenceData(posterior=post))


def _flat(fit: Fit, name: str) -> np.ndarray:
    return fit.idata.posterior[name].values.reshape(-1, 1)


def _expected(fit: MvFit, frame, chl) -> tuple[np.ndarray, np.ndarray]:
    """SciPy's log densities (draws, rows) of bmi (its mean reading ``chl``) and chl at ``frame``'s rows."""
    age = frame["age"].to_numpy(float)
    mu_bmi = (_flat(fit, "b_bmi_Intercept") + _flat(fit, "b_bmi_age") * age + _flat(fit, "bsp_bmi_michl") * chl
              + _flat(fit, "bsp_bmi_michl:age") * chl * age)
    mu_chl = _flat(fit, "b_chl_Intercept") + _flat(fit, "b_chl_age") * age
    return (scipy.stats.norm.logpdf(frame["bmi"].to_numpy(), mu_bmi, _flat(fit, "sigma_bmi")),
            scipy.stats.norm.logpdf(frame["chl"].to_numpy(), mu_chl, _flat(fit, "sigma_chl")))


def test_loo_of_all_rows_is_refused_in_brms_words(mvfit: MvFit) -> None:
    for call in (mvfit.loo, mvfit.waic, lambda: mvfit.loo(resp="bmi")):
        with pytest.raises(DataError, match=NA_WORDS):
            call()
    with pytest.raises(DataError, match="newdata has missing values in column 'chl'"):
        mvfit.loo(newdata=NHANES)  # brms's log_lik would be NA there


def test_complete_rows_are_scored_at_the_new_data(mvfit: MvFit) -> None:
    """``loo(fit, newdata = na.omit(data))``: each row's bmi and chl densities, mi(chl) reading the new chl."""
    bmi, chl = _expected(mvfit, COMPLETE, COMPLETE["chl"].to_numpy())
    np.testing.assert_allclose(mvfit.log_lik(COMPLETE).reshape(C * D, -1), bmi + chl, rtol=1e-10)
    np.testing.assert_allclose(mvfit.log_lik(COMPLETE, resp="chl").reshape(C * D, -1), chl, rtol=1e-10)
    ours, theirs = mvfit.loo(newdata=COMPLETE), brmc.loo((bmi + chl).reshape(C, D, -1))
    np.testing.assert_allclose(ours.estimates.to_numpy(), theirs.estimates.to_numpy(), rtol=1e-10)
    ours, theirs = mvfit.waic(newdata=COMPLETE, resp="bmi"), brmc.waic(bmi.reshape(C, D, -1))
    np.testing.assert_allclose(ours.estimates.to_numpy(), theirs.estimates.to_numpy(), rtol=1e-10)


def test_training_rows_of_one_response_read_the_imputed_values(mvfit: MvFit) -> None:
    """``log_lik(fit, resp = "bmi")``: NA where bmi is missing; elsewhere bmi's density, its mean reading
    chl's observed value or, where chl is missing, its imputed draw ``Ymi_chl[j]``."""
    chl = np.repeat(NHANES["chl"].to_numpy(float)[None, :], C * D, axis=0)
    for j in np.flatnonzero(NHANES["chl"].isna()):
        chl[:, j] = _flat(mvfit, f"Ymi_chl[{j + 1}]")[:, 0]
    bmi, _ = _expected(mvfit, NHANES.fillna({"bmi": np.inf}), chl)
    ll = mvfit.log_lik(resp="bmi").reshape(C * D, -1)
    seen = NHANES["bmi"].notna().to_numpy()
    assert np.isnan(ll[:, ~seen]).all() and (NHANES["chl"].isna() & NHANES["bmi"].notna()).sum() == 3
    np.testing.assert_allclose(ll[:, seen], bmi[:, seen], rtol=1e-10)


def test_univariate_fit_takes_newdata() -> None:
    md = quiet(_model_data, "bmi | mi() ~ age", NHANES, "gaussian", None, None, None)
    means = {"b_Intercept": (30, 1), "b_age": (-2, 0.5), "sigma": (3, 0.2)}
    means |= {f"Ymi[{j + 1}]": (26, 3) for j in md.predictors["mu"].parts["mi"].response.Jmi}
    fit = Fit(model_data=md, priors=resolve_priors(md), settings=SamplerSettings(chains=C),
              idata=az.InferenceData(posterior=_draws(np.random.default_rng(5), means)))
    rows = NHANES[NHANES["bmi"].notna()]
    expected = scipy.stats.norm.logpdf(rows["bmi"].to_numpy(), _flat(fit, "b_Intercept") + _flat(fit, "b_age")
                                       * rows["age"].to_numpy(), _flat(fit, "sigma"))
    np.testing.assert_allclose(fit.log_lik(rows).reshape(C * D, -1), expected, rtol=1e-10)
    ours, theirs = fit.loo(newdata=rows), brmc.loo(expected.reshape(C, D, -1))
    np.testing.assert_allclose(ours.estimates.to_numpy(), theirs.estimates.to_numpy(), rtol=1e-10)
    with pytest.raises(DataError, match=NA_WORDS):
        fit.loo()
    with pytest.raises(DataError, match="resp='bmi' is for multivariate fits"):
        fit.loo(resp="bmi")
    with pytest.raises(DataError, match="moment_match and reloo need the fit itself"):
        fit.loo(newdata=rows, moment_match=True)


def test_conditional_effects_of_a_mi_predictor_read_its_observed_values(mvfit: MvFit) -> None:
    """brms's conditional_effects with a ``mi(chl)`` predictor: chl's grid spans its observed values and the
    other variables sit at their values' mean/median (``na.rm = TRUE``); each estimate is the posterior
    median of bmi's mean at the grid row, written here from the draws."""
    effects = quiet(mvfit.conditional_effects, effects="chl", resp="bmi")
    frame = effects["bmi.bmi_chl"]
    chl = NHANES["chl"].dropna().to_numpy(float)
    assert frame["chl"].min() == pytest.approx(chl.min()) and frame["chl"].max() == pytest.approx(chl.max())
    age = NHANES["age"].to_numpy(float)
    assert frame["age"].unique() == pytest.approx([age.mean()])  # a numeric (not integer) column: its mean
    mu = (_flat(mvfit, "b_bmi_Intercept") + _flat(mvfit, "b_bmi_age") * frame["age"].to_numpy()
          + (_flat(mvfit, "bsp_bmi_michl") + _flat(mvfit, "bsp_bmi_michl:age") * frame["age"].to_numpy())
          * frame["chl"].to_numpy())
    np.testing.assert_allclose(frame["estimate__"], np.median(mu, axis=0), rtol=1e-9)
