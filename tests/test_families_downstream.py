"""The round-3 families downstream of a fit: gen_extreme_value's ``xi`` draws are brms's
``scale_xi`` of ``tmp_xi`` (recomputed here from the draws and the data), ``posterior_epred`` is
each family's mean computed here from the draws, and summary, prior_summary,
posterior_predict, loo, pp_check and conditional_effects run.  Small fits on data simulated with NumPy/SciPy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import brmc

pytestmark = pytest.mark.slow


def _fit(family: str, y_of, formula: str | brmc.formula.BrmsFormula = "y ~ x") -> tuple[brmc.Fit, pd.DataFrame]:
    rng = np.random.default_rng(4)
    x = rng.normal(size=300)
    data = pd.DataFrame({"x": x, "y": y_of(rng, 0.5 + 0.4 * x)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm(formula, data, family=family, chains=2, iter=400, seed=5, progress=False)
    return fit, data


def _mu(fit: brmc.Fit, data: pd.DataFrame) -> np.ndarray:
    d = fit.draws()
    return d["b_Intercept"].to_numpy()[:, None] + np.outer(d["b_x"], data["x"])


def _smoke(fit: brmc.Fit, dpar_rows: list[str]) -> None:
    text = str(fit.summary())
    assert all(f"\n{name} " in text for name in dpar_rows), text
    assert "(flat)" in str(fit.prior_summary())
    assert fit.posterior_predict(ndraws=10, seed=1).shape == (10, fit.nobs)
    assert np.isfinite(fit.loo().elpd)
    assert fit.pp_check(ndraws=5) is not None
    assert np.isfinite(brmc.conditional_effects(fit, "x").data["x"]["estimate__"]).all()


def test_gen_extreme_value_xi_is_brms_scale_xi_and_epred_its_mean() -> None:
    fit, data = _fit("gen_extreme_value",
                     lambda rng, eta: stats.genextreme.rvs(-0.1, loc=eta, scale=1.0, random_state=rng))
    d = fit.draws()
    mu, sigma = _mu(fit, data), d["sigma"].to_numpy()[:, None]
    x = (data["y"].to_numpy() - mu) / sigma
    bounds = np.stack([-1 / x.min(axis=1), -1 / x.max(axis=1)])
    lb, ub = bounds.min(axis=0), bounds.max(axis=0)
    np.testing.assert_allclose(d["xi"], special.expit(d["tmp_xi"]) * (ub - lb) + lb, rtol=1e-8)
    xi = d["xi"].to_numpy()[:, None]
    np.testing.assert_allclose(fit.posterior_epred(), mu + sigma * (special.gamma(1 - xi) - 1) / xi, rtol=1e-8)
    _smoke(fit, ["sigma", "xi"])
    assert "normal(0, 2.5)" in str(fit.prior_summary())


def test_gen_extreme_value_with_predicted_sigma_scales_xi_per_row_sigma() -> None:
    """brms's scale_xi_vector: x = (y - mu) / sigma with each row's sigma = exp(eta_sigma)."""
    fit, data = _fit("gen_extreme_value", lambda rng, eta: stats.genextreme.rvs(
        -0.1, loc=eta, scale=np.exp(0.3 * (eta - 0.5)), random_state=rng), brmc.bf("y ~ x", sigma="~ x"))
    d = fit.draws()
    sigma = np.exp(d["b_sigma_Intercept"].to_numpy()[:, None] + np.outer(d["b_sigma_x"], data["x"]))
    x = (data["y"].to_numpy() - _mu(fit, data)) / sigma
    bounds = np.stack([-1 / x.min(axis=1), -1 / x.max(axis=1)])
    lb, ub = bounds.min(axis=0), bounds.max(axis=0)
    np.testing.assert_allclose(d["xi"], special.expit(d["tmp_xi"]) * (ub - lb) + lb, rtol=1e-8)


def test_discrete_weibull_downstream() -> None:
    def simulate(rng, eta):  # P(Y >= y) = mu^(y^1.5)
        return np.ceil((np.log1p(-rng.random(len(eta))) / np.log(special.expit(eta))) ** (1 / 1.5) - 1)

    fit, data = _fit("discrete_weibull", simulate)
    mu, shape = special.expit(_mu(fit, data)), fit.draws()["shape"].to_numpy()[:, None]
    last = int(np.ceil(np.max((np.log(0.001) / np.log(mu)) ** (1 / shape))))  # brms's mean_discrete_weibull
    expected = sum(mu ** (y**shape) for y in range(1, min(last, 1000) + 1))
    np.testing.assert_allclose(fit.posterior_epred(), expected, rtol=1e-8)
    _smoke(fit, ["shape"])


def test_zero_inflated_beta_binomial_downstream() -> None:
    def simulate(rng, eta):
        counts = rng.binomial(10, rng.beta(special.expit(eta) * 8, (1 - special.expit(eta)) * 8))
        return np.where(rng.random(len(eta)) < 0.25, 0, counts)

    fit, data = _fit("zero_inflated_beta_binomial", simulate, "y | trials(10) ~ x")
    d = fit.draws()
    expected = (1 - d["zi"].to_numpy()[:, None]) * 10 * special.expit(_mu(fit, data))
    np.testing.assert_allclose(fit.posterior_epred(), expected, rtol=1e-8)
    _smoke(fit, ["phi", "zi"])


def test_zero_inflated_asym_laplace_downstream() -> None:
    def simulate(rng, eta):
        values = stats.laplace_asymmetric.rvs(np.sqrt(0.5 / 0.5), loc=eta, scale=1.0 / 0.5, random_state=rng)
        return np.where(rng.random(len(eta)) < 0.2, 0.0, values)

    fit, data = _fit("zero_inflated_asym_laplace", simulate)
    d = fit.draws()
    p, sigma, zi = (d[n].to_numpy()[:, None] for n in ("quantile", "sigma", "zi"))
    expected = (1 - zi) * (_mu(fit, data) + sigma * (1 - 2 * p) / (p * (1 - p)))
    np.testing.assert_allclose(fit.posterior_epred(), expected, rtol=1e-8)
    _smoke(fit, ["sigma", "quantile", "zi"])
