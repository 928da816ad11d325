"""loo(moment_match=True), loo_moment_match and reloo against exact leave-one-out.

The case: a gaussian regression of 16 rows with normal priors on the centred intercept
and the slope and a truncated normal prior on sigma, where one point of high leverage
(x = 4, far off the line) has Pareto k > 0.7.  Its exact leave-one-out predictive
density ``p(y_i | y_-i) = p(y) / p(y_-i)`` is computed here from the closed-form
marginal likelihood given sigma (the regression coefficients integrated out), integrated
over sigma by quadrature: an independent computation, not brmc's.  Moment matching
estimates it for the full model's prior (centred at the full data's mean x); ``reloo``
refits brms's way, centring the refit's data, so its target is the refit model's.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import brmc
from brmc.criteria import psis_loo
from brmc.errors import DataError
from brmc.unconstrained import UnconstrainedPosterior

from .conftest import quiet, xla_compilations

PRIORS = [brmc.prior("normal(0, 5)", class_="b"), brmc.prior("normal(0, 5)", class_="Intercept"),
          brmc.prior("normal(1, 0.5)", class_="sigma")]


def leverage_data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0, 1, 14), [3.0, 4.0]])
    y = 1 + 0.5 * x + rng.normal(0, 1, 16)
    y[14:] += [2.5, -2.0]
    return pd.DataFrame({"x": x, "y": y})


def log_marginal(y: np.ndarray, x: np.ndarray, center: float) -> float:
    """log p(y) of y = a + (x - center) b + e, a, b ~ N(0, 5), e ~ N(0, sigma),
    sigma ~ N(1, 0.5) truncated at 0: a, b integrated in closed form, sigma by quadrature."""
    X = np.column_stack([np.ones_like(x), x - center])
    grid = np.linspace(1e-3, 4, 2001)
    cov = 25.0 * X @ X.T
    lp = np.array([stats.multivariate_normal.logpdf(y, np.zeros(len(y)), s**2 * np.eye(len(y)) + cov) for s in grid])
    lp += stats.norm.logpdf(grid, 1, 0.5) - stats.norm.logsf(0, 1, 0.5)
    top = lp.max()
    return float(top + np.log(integrate.simpson(np.exp(lp - top), x=grid)))


def exact_loo(data: pd.DataFrame, i: int, refit_centering: bool) -> float:
    x, y = data["x"].to_numpy(), data["y"].to_numpy()
    keep = np.arange(len(y)) != i
    center = x[keep].mean() if refit_centering else x.mean()
    return log_marginal(y, x, center) - log_marginal(y[keep], x[keep], center)


@pytest.fixture(scope="module")
def leverage() -> brmc.Fit:
    return quiet(brmc.brm, "y ~ x", leverage_data(), prior=PRIORS, chains=4, iter=2000, seed=8, progress=False)


@pytest.fixture(scope="module")
def plain(leverage) -> brmc.criteria.LooResult:
    return psis_loo(leverage)


def test_unconstrained_draws_reproduce_the_samplers_density_and_log_lik(fit) -> None:
    # sleepstudy with correlated group-level effects: z and the Cholesky factor recovered from r, sd, cor
    post = UnconstrainedPosterior.of(fit)
    np.testing.assert_allclose(post.log_prob(post.upars), fit.idata.sample_stats["lp"].values.reshape(-1),
                               rtol=1e-9)
    ll = fit.log_likelihood().values.reshape(post.upars.shape[0], -1)
    np.testing.assert_allclose(post.log_lik(post.upars, [0, 17, 179]), ll[:, [0, 17, 179]], rtol=1e-9)


def test_unconstrained_draws_of_ordered_thresholds_and_a_shape() -> None:
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"x": rng.normal(size=60), "g": rng.integers(0, 5, 60).astype(str), "c": rng.poisson(3, 60)})
    data["y"] = pd.Categorical(np.clip(np.round(data["x"] + rng.normal(size=60)) + 2, 0, 3).astype(int), ordered=True)
    for formula, family in [("y ~ x", "cumulative"), ("c ~ x + (1 | g)", "negbinomial")]:
        fit = quiet(brmc.brm, formula, data, family=family, chains=1, iter=300, seed=1, progress=False)
        post = UnconstrainedPosterior.of(fit)
        np.testing.assert_allclose(post.log_prob(post.upars), fit.idata.sample_stats["lp"].values.reshape(-1),
                                   rtol=1e-9)


def test_moment_matching_moves_elpd_to_the_exact_loo(leverage, plain) -> None:
    assert np.flatnonzero(plain.pareto_k > 0.7).tolist() == [15]
    with pytest.warns(UserWarning, match="Found 1 observations with a pareto_k > 0.7. It is recommended to set "
                                         "'moment_match = TRUE'"):
        brmc.loo(leverage)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # k is below 0.7 after matching: nothing to recommend
        matched = brmc.loo(leverage, moment_match=True)
    exact = exact_loo(leverage_data(), 15, refit_centering=False)
    psis_error = abs(plain.pointwise["elpd_loo"][15] - exact)
    error = abs(matched.pointwise["elpd_loo"][15] - exact)
    assert psis_error > 0.5  # PSIS is 0.76 off
    assert error < 0.15 and error < psis_error / 4  # moment matching: about 0.06 off
    assert matched.pareto_k[15] < plain.pareto_k[15]
    # the other rows are PSIS's; the estimates are their sums again
    others = np.arange(16) != 15
    np.testing.assert_array_equal(matched.pointwise["elpd_loo"][others], plain.pointwise["elpd_loo"][others])
    np.testing.assert_allclose(matched.estimates["Estimate"],
                               matched.pointwise[["elpd_loo", "p_loo", "looic"]].sum())
    lpd = np.log(np.mean(np.exp(leverage.log_likelihood().values[..., 15])))
    assert matched.pointwise["p_loo"][15] == pytest.approx(lpd - matched.pointwise["elpd_loo"][15])


def test_moment_matching_reuses_the_compiled_density(leverage, plain) -> None:
    quiet(brmc.loo_moment_match, leverage, plain, split=False)
    with xla_compilations() as names:
        quiet(brmc.loo_moment_match, leverage, plain)
        quiet(brmc.loo_moment_match, leverage, plain, k_threshold=0.3)  # more observations, same functions
    assert names == []


def test_reloo_gives_the_exact_loo_of_the_refit(leverage, plain, capsys) -> None:
    res = quiet(brmc.reloo, leverage, plain, progress=False)
    assert "1 problematic observation(s) found.\nThe model will be refit 1 times." in capsys.readouterr().err
    exact = exact_loo(leverage_data(), 15, refit_centering=True)
    # 4 Monte Carlo errors of the refit's elpd (0.06 by the delta method: sd / mean of the point's predictive
    # density over the refit's 4,000 draws / sqrt(ESS); refits with seeds 8-10 gave -4.52, -4.32, -4.40)
    assert abs(res.pointwise["elpd_loo"][15] - exact) < 0.25
    assert res.pareto_k[15] == 0 and np.all(res.pareto_k[:15] == plain.pareto_k[:15])
    np.testing.assert_allclose(res.estimates["Estimate"], res.pointwise[["elpd_loo", "p_loo", "looic"]].sum())


def test_loo_options_and_errors(leverage, plain, capsys) -> None:
    assert quiet(brmc.reloo, leverage, plain, k_threshold=2.0) is plain
    assert "No problematic observations found." in capsys.readouterr().err
    with pytest.raises(DataError, match="No 'loo' result was given"):
        brmc.loo_moment_match(leverage)
    with pytest.raises(DataError, match="need the fit itself"):
        brmc.loo(np.zeros((1, 10, 3)), moment_match=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        psis_loo(leverage)  # the core does not warn
    with pytest.warns(UserWarning, match="It is recommended to set 'reloo = TRUE' in order to calculate the ELPD "
                                         "without the assumption that these observations are negligible. This "
                                         "will refit the model 1 times"):
        assert brmc.criteria.recommend_loo_options(plain, moment_match=True) == "reloo"
