"""brms's trunc(lb, ub) response term: the likelihood normalised by the probability between the
bounds (brms 2.18's ``- <dist>_lccdf(lb | ...)``, ``- <dist>_lcdf(ub | ...)`` or ``- log_diff_exp`` of
the two; counts ``lb - 1``), checked against SciPy's truncated densities; draws inside the bounds;
the truncated normal mean; brms's default priors of ``trunc_sleep``; a small fit recovers a
truncated normal simulated with SciPy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import brmc
from brmc.errors import DataError, FamilyError

Y = np.array([0.5, 1.0, 2.2, -0.3, 4.0])
ETA = np.array([0.1, 0.3, 0.0, -0.2, 1.0])
LB = np.array([0.0, -np.inf, -1.0, -0.5, 0.0])
UB = np.array([np.inf, 2.0, 3.0, np.inf, 5.0])
SIGMA = {"sigma": np.float64(0.8)}


def _truncnorm(eta: np.ndarray) -> stats.rv_continuous:
    return stats.truncnorm((LB - eta) / 0.8, (UB - eta) / 0.8, loc=eta, scale=0.8)


def test_gaussian_log_likelihood_is_scipys_truncated_normal() -> None:
    ours = brmc.get_family("gaussian").log_lik(Y, ETA, SIGMA, {"lb": LB, "ub": UB})
    np.testing.assert_allclose(ours, _truncnorm(ETA).logpdf(Y), rtol=1e-10)


@pytest.mark.parametrize("family, dpars, link_inverse, scipy_dist", [
    ("gamma", {"shape": 3.0}, np.exp, lambda mu: stats.gamma(3.0, scale=mu / 3.0)),
    ("weibull", {"shape": 2.0}, np.exp, lambda mu: stats.weibull_min(2.0, scale=mu / 0.886226925452758)),
    ("gen_extreme_value", {"sigma": 0.8, "xi": 0.2}, lambda e: e, lambda mu: stats.genextreme(-0.2, mu, 0.8)),
])
def test_positive_families_divide_by_the_cdf_difference(family, dpars, link_inverse, scipy_dist) -> None:
    y, lb, ub = np.array([1.5, 2.0, 0.7]), np.array([0.5, 1.0, 0.2]), np.array([np.inf, 3.0, 1.0])
    eta = np.array([0.2, 0.5, -0.1])
    dist = scipy_dist(link_inverse(eta))
    theirs = dist.logpdf(y) - np.log(dist.cdf(ub) - dist.cdf(lb))
    ours = brmc.get_family(family).log_lik(y, eta, {k: np.float64(v) for k, v in dpars.items()},
                                           {"lb": lb, "ub": ub})
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_counts_keep_the_lower_bound_itself() -> None:
    """brms writes ``lb - 1`` for integer responses: P(lb <= Y <= ub)."""
    y, lb, ub = np.array([2.0, 3.0, 5.0, 1.0]), np.array([1.0, 2.0, 0.0, 1.0]), np.array([np.inf, 6.0, 8.0, np.inf])
    eta = np.array([0.3, 1.0, 1.2, 0.0])
    mu = np.exp(eta)
    theirs = stats.poisson.logpmf(y, mu) - np.log(stats.poisson.cdf(ub, mu) - stats.poisson.cdf(lb - 1, mu))
    np.testing.assert_allclose(brmc.get_family("poisson").log_lik(y, eta, {}, {"lb": lb, "ub": ub}), theirs,
                               rtol=1e-10)


def test_expected_value_is_the_truncated_normal_mean_and_draws_stay_inside() -> None:
    fam = brmc.get_family("gaussian")
    np.testing.assert_allclose(fam.expected(ETA, SIGMA, {"lb": LB, "ub": UB}), _truncnorm(ETA).mean(), rtol=1e-10)
    draws = fam.rng(np.tile(ETA, (20_000, 1)), SIGMA, np.random.default_rng(1), {"lb": LB, "ub": UB})
    assert np.all((draws >= LB) & (draws <= UB))
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - _truncnorm(ETA).mean()) < 5 * se)


def test_bad_bounds_and_families_are_refused() -> None:
    sleep = brmc.datasets.load("sleepstudy")
    with pytest.raises(DataError, match="outside the truncation bounds"):
        brmc.get_prior("Reaction | trunc(lb = 250) ~ Days", sleep)
    with pytest.raises(DataError, match="trunc\\(\\) takes the bounds lb and ub"):
        brmc.get_prior("Reaction | trunc(low = 100) ~ Days", sleep)
    with pytest.raises(DataError, match="smaller than its upper bound"):
        brmc.get_prior("Reaction | trunc(500, 100) ~ Days", sleep)
    with pytest.raises(DataError, match="trunc\\(\\) cannot be used with family 'von_mises'"):
        brmc.get_prior("y | trunc(ub = 3) ~ 1", pd.DataFrame({"y": [0.0, 1.0]}), family="von_mises")
    with pytest.raises(FamilyError, match="truncated .* 'gamma' model is not implemented"):
        brmc.get_family("gamma").expected(ETA, {"shape": np.float64(2.0)}, {"lb": LB, "ub": UB})


@pytest.mark.slow
def test_truncated_normal_fit_recovers_its_mean_and_works_downstream() -> None:
    """A normal with mean 1 + 0.5 x, sd 1, truncated below at 0.5 (SciPy's truncnorm): the truncated
    likelihood recovers the untruncated parameters, which an ordinary normal fit overstates."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=400)
    mu = 1.0 + 0.5 * x
    y = stats.truncnorm.rvs((0.5 - mu) / 1.0, np.inf, loc=mu, scale=1.0, random_state=rng)
    data = pd.DataFrame({"x": x, "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("y | trunc(lb = 0.5) ~ x", data, chains=2, iter=800, seed=3, progress=False)
    draws = fit.draws()
    for name, truth in {"b_Intercept": 1.0, "b_x": 0.5, "sigma": 1.0}.items():
        lo, hi = np.quantile(draws[name], [0.01, 0.99])
        assert lo <= truth <= hi, (name, lo, hi)
    predicted = fit.posterior_predict(ndraws=50, seed=1)
    assert predicted.shape == (50, 400) and np.nanmin(predicted) >= 0.5
    new = pd.DataFrame({"x": [0.0, 0.0]})  # numbers in trunc() also bound new rows
    epred = fit.posterior_epred(newdata=new)
    b0, sigma = draws["b_Intercept"].to_numpy(), draws["sigma"].to_numpy()
    a = (0.5 - b0) / sigma
    np.testing.assert_allclose(epred[:, 0], b0 + sigma * stats.norm.pdf(a) / stats.norm.sf(a), rtol=1e-8)
    assert np.isfinite(fit.loo().elpd)
    assert "Family: gaussian" in str(fit.summary())
