"""Moment matching, bridge sampling and power-scaling of multivariate fits, against independent values.

Without residual correlations (``set_rescor(False)``) and with priors of their own, the responses of
a multivariate model are independent a priori and given the parameters: its marginal likelihood is
the product of the responses' own, and a row's leave-one-out predictive density the product of its
responses' own.  For two gaussian regressions with normal priors on the coefficients (the intercept
centred) and a truncated normal one on sigma each is in closed form given sigma and integrated over
sigma by quadrature here (:func:`tests.test_moment_match.log_marginal`): not brmc's computation.  With
``rescor`` the model's density, log-likelihood and log prior at the draws are checked against the
sampler's ``lp`` and SciPy's densities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import brmc
from brmc.bridge import log_normaliser
from brmc.criteria import psis_loo
from brmc.errors import DataError
from brmc.sensitivity import log_prior
from brmc.unconstrained import UnconstrainedPosterior

from .conftest import quiet
from .test_moment_match import exact_loo, leverage_data, log_marginal

#: each response's priors as the univariate tests' (tests/test_moment_match.py), sigma by response
PRIORS = [brmc.prior("normal(0, 5)", class_="b"), brmc.prior("normal(0, 5)", class_="Intercept"),
          brmc.prior("normal(1, 0.5)", class_="sigma", resp="y"), brmc.prior("normal(1, 0.5)", class_="sigma", resp="w")]


def two_responses() -> pd.DataFrame:
    """The leverage data (row 15: high Pareto k) and a second, regular regression on the same rows."""
    data = leverage_data()
    rng = np.random.default_rng(4)
    data["z"] = rng.normal(size=len(data))
    data["w"] = 0.5 - 0.8 * data["z"] + rng.normal(0, 0.7, len(data))
    return data


@pytest.fixture(scope="module")
def independent() -> brmc.Fit:
    f = brmc.bf("y ~ x") + brmc.bf("w ~ z") + brmc.set_rescor(False)
    return quiet(brmc.brm, f, two_responses(), prior=PRIORS, chains=2, iter=2000, seed=6, progress=False)


@pytest.fixture(scope="module")
def correlated() -> brmc.Fit:
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"x": rng.normal(size=30), "z": rng.normal(size=30)})
    e = rng.multivariate_normal([0, 0], [[1, 0.6], [0.6, 1]], 30)
    data["y1"], data["y2"] = 1 + 0.5 * data["x"] + e[:, 0], -0.3 * data["z"] + e[:, 1]
    prior = [brmc.prior("normal(3, 0.05)", class_="b", resp="y1"), brmc.prior("normal(0, 5)", class_="b", resp="y2"),
             brmc.prior("normal(0, 5)", class_="Intercept"), brmc.prior("lkj(2)", class_="rescor")]
    f = brmc.bf("y1 ~ x") + brmc.bf("y2 ~ z") + brmc.set_rescor(True)
    return quiet(brmc.brm, f, data, prior=prior, chains=2, iter=600, seed=3, progress=False)


def exact_joint_loo(data: pd.DataFrame, i: int) -> float:
    """log p(y_i, w_i | the other rows) of the model without residual correlations: the sum of the responses'."""
    keep = np.arange(len(data)) != i
    return sum(log_marginal(data[y].to_numpy(), data[x].to_numpy(), data[x].mean())
               - log_marginal(data[y].to_numpy()[keep], data[x].to_numpy()[keep], data[x].mean())
               for y, x in (("y", "x"), ("w", "z")))


def test_moment_matching_moves_the_joint_elpd_to_the_exact_loo(independent) -> None:
    """Rows 14 and 15 are the leverage points. Their Pareto k straddles brms's 0.7 from seed to seed
    (0.65-1.15 over seeds 1-10; CI's machine once had row 15 at or below it), so the test matches
    every row above k = 0.6, which takes in both at every seed tried. Over seeds 2 and 4-10 the
    matched rows were at most 0.23 (joint) and 0.23 (resp = "y") off the exact values, where PSIS
    alone was 0.49-1.17 off at row 15."""
    data = two_responses()
    plain = psis_loo(independent)
    bad = np.flatnonzero(plain.pareto_k > 0.6)
    assert {14, 15} <= set(bad)
    matched = quiet(brmc.loo, independent, moment_match=True, k_threshold=0.6)
    for i in (14, 15):
        exact = exact_joint_loo(data, i)
        psis_error, error = (abs(r.pointwise["elpd_loo"][i] - exact) for r in (plain, matched))
        assert error < 0.3 and matched.pareto_k[i] < 0.7, (i, error, matched.pareto_k[i])
        if i == 15:
            assert psis_error > 0.45 and error < psis_error / 2  # seed 6: 0.99 and 0.06 off
    others = plain.pareto_k <= 0.6
    np.testing.assert_array_equal(matched.pointwise["elpd_loo"][others], plain.pointwise["elpd_loo"][others])
    # one response: its own log-likelihood (brms's log_lik(resp = "y")), the univariate model's exact loo
    one = quiet(brmc.loo, independent, resp="y", moment_match=True, k_threshold=0.6)
    for i in (14, 15):
        assert abs(one.pointwise["elpd_loo"][i] - exact_loo(data, i, refit_centering=False)) < 0.3
    with pytest.raises(DataError, match="needs loo=brmc.loo"):
        brmc.loo_moment_match(independent, resp="y")


def test_bridge_sampler_is_the_product_of_the_responses_marginal_likelihoods(independent) -> None:
    data = two_responses()
    exact = sum(log_marginal(data[y].to_numpy(), data[x].to_numpy(), data[x].mean()) for y, x in (("y", "x"),
                                                                                                   ("w", "z")))
    res = brmc.bridge_sampler(independent, seed=1)
    assert abs(res.logml - exact) < 0.1  # measured: exact -53.998, estimated -54.022
    assert abs(brmc.bayes_factor(independent, independent, log=True, seed=2).bf) < 0.15
    with pytest.raises(DataError, match="Responses of the models do not match"):
        brmc.bayes_factor(independent, independent.response_fit("y"))


def test_density_log_lik_and_log_prior_with_residual_correlations(correlated) -> None:
    post = UnconstrainedPosterior.of(correlated)
    np.testing.assert_allclose(post.log_prob(post.upars), correlated.idata.sample_stats["lp"].values.reshape(-1),
                               rtol=1e-9)
    S = post.upars.shape[0]
    joint = correlated.log_likelihood().values.reshape(S, -1)
    np.testing.assert_allclose(post.log_lik(post.upars, [0, 29]), joint[:, [0, 29]], rtol=1e-9)
    marginal = correlated.log_lik(resp="y2").reshape(S, -1)
    np.testing.assert_allclose(post.log_lik(post.upars, [3], "y2"), marginal[:, [3]], rtol=1e-9)
    # brms's lprior: the priors at the draws (the intercepts' at the centred ones), lkj(2) at rescor
    draws = {k: v.values.reshape(-1) for k, v in correlated.idata.posterior.items()}
    frame = correlated.model_data.frame
    expected = (stats.norm.logpdf(draws["b_y1_x"], 3, 0.05) + stats.norm.logpdf(draws["b_y2_z"], 0, 5)
                + stats.norm.logpdf(draws["b_y1_Intercept"] + draws["b_y1_x"] * frame["x"].mean(), 0, 5)
                + stats.norm.logpdf(draws["b_y2_Intercept"] + draws["b_y2_z"] * frame["z"].mean(), 0, 5)
                + sum(stats.t.logpdf(draws[f"sigma_{r}"], 3, 0, 2.5) for r in ("y1", "y2"))
                + np.log(1 - draws["rescor__y1__y2"] ** 2))
    difference = log_prior(correlated).reshape(-1) - expected
    np.testing.assert_allclose(difference, difference[0], atol=1e-8)
    # what the density leaves out: two half student_t(3, 0, 2.5) sigmas, lkj(2)'s normaliser of 2 x 2 matrices
    lkj_mass = integrate.quad(lambda r: 1 - r * r, -1, 1)[0]
    assert log_normaliser(correlated.priors, correlated.model_data) == pytest.approx(2 * np.log(2) - np.log(lkj_mass))
    assert np.isfinite(quiet(brmc.bridge_sampler, correlated, seed=1).logml)


def test_powerscale_sensitivity_finds_the_response_specific_prior(correlated) -> None:
    table = quiet(correlated.powerscale_sensitivity)
    assert "rescor__y1__y2" in table.index
    assert table.loc["b_y1_x", "diagnosis"] == "prior-data conflict"  # normal(3, 0.05) on a slope of 0.5
    assert table.loc["b_y2_z", "prior"] < 0.05 and table.loc["b_y2_z", "diagnosis"] == "-"
    sets = {"wider": [brmc.prior("normal(3, 0.1)", class_="b", resp="y1")],  # too far for the weights: refit
            "y2": [brmc.prior("normal(0, 4)", class_="b", resp="y2")]}
    sweep = quiet(brmc.prior_sweep, correlated, sets, method="psis", progress=False)
    assert sweep.info["method"].tolist() == ["refit", "psis"]
    table = sweep.table()
    assert table.loc[("b_y1_x", "wider"), "Shift"] < -1  # towards the data's slope
    assert abs(table.loc[("b_y2_z", "y2"), "Shift"]) < 0.1 and ("rescor__y1__y2", "y2") in table.index


def test_log_lik_of_some_rows_reads_the_imputed_predictor() -> None:
    # y1 ~ mi(x): the predictor's values come from the draws for every training row; one row's
    # log-likelihood at given draws is that row's of all rows (it was row 0's value broadcast)
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"x": rng.normal(size=12)})
    data["y1"] = 1 + data["x"] + rng.normal(size=12)
    data.loc[[2, 5], "x"] = np.nan
    f = brmc.bf("y1 ~ mi(x)") + brmc.bf("x | mi() ~ 1") + brmc.set_rescor(False)
    fit = quiet(brmc.brm, f, data, chains=1, iter=20, seed=1, progress=False, algorithm="fixed_param")
    post = UnconstrainedPosterior.of(fit)
    every = post.log_lik(post.upars, list(range(12)), "y1")
    np.testing.assert_allclose(every, fit.log_lik(resp="y1").reshape(len(every), -1), rtol=1e-12)
    for i in (0, 2, 7):
        np.testing.assert_allclose(post.log_lik(post.upars, [i], "y1")[:, 0], every[:, i], rtol=1e-12)
