"""brms's mixture families: default priors (brms 2.18's mixture_sleep rows), the parameters and
log density of brms's Stan code for mixture_sleep, the likelihood, expected value and draws
against SciPy, and a fit recovering a two-component mixture simulated with NumPy."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import brmc
from brmc.errors import FamilyError, PriorError

from .conftest import reference_text

ETA = np.array([[-1.0, 2.0], [0.5, 1.5], [0.0, 3.0]])  # rows × components
DPARS = {"sigma1": np.float64(0.7), "sigma2": np.float64(1.3), "theta": np.array([0.3, 0.7])}


def test_parameters_and_log_density_are_those_of_brms_stan_code() -> None:
    """mixture_sleep.stan: b_mu1, sigma1, b_mu2, sigma2, simplex[2] theta, ordered[2] ordered_Intercept;
    target = sum_n log_sum_exp(log theta_k + normal_lpdf(Y | mu_k, sigma_k)) + the priors.  Compared
    as the difference between two points (constants such as student_t_lccdf(0 | ...) cancel)."""
    stan = reference_text("mixture_sleep", "stancode.stan")
    block = stan[stan.index("parameters {"):stan.index("transformed parameters")]
    stan_names = re.findall(r"\s(\w+);", block)
    sleep = brmc.datasets.load("sleepstudy")
    built = brmc.make_model("Reaction ~ Days", sleep, family=brmc.mixture("gaussian", "gaussian"))
    model = built.model
    assert sorted(v.name for v in model.free_RVs) == sorted(stan_names)

    y, days = sleep["Reaction"].to_numpy(), sleep["Days"].to_numpy()
    xc = days - days.mean()

    def stan_target(p: dict) -> float:
        mus = [p["ordered_Intercept"][k] + xc * p[f"b_mu{k + 1}"][0] for k in range(2)]
        parts = [np.log(p["theta"][k]) + stats.norm.logpdf(y, mus[k], p[f"sigma{k + 1}"]) for k in range(2)]
        lik = special.logsumexp(np.stack(parts), axis=0).sum()
        prior = sum(stats.t.logpdf(p["ordered_Intercept"][k], 3, 288.7, 59.3) for k in range(2))
        prior += sum(stats.t.logpdf(p[f"sigma{k}"], 3, 0, 59.3) for k in (1, 2))
        return lik + prior + stats.dirichlet.logpdf(p["theta"], [1.0, 1.0])

    logp = model.compile_logp(jacobian=False)

    def ours(p: dict) -> float:
        point = {}
        for rv in model.free_RVs:
            value, transform = model.rvs_to_values[rv], model.rvs_to_transforms.get(rv)
            x = np.asarray(p[rv.name], dtype=float)
            point[value.name] = x if transform is None else transform.forward(x, *rv.owner.inputs).eval()
        return float(logp(point))

    a = {"b_mu1": [5.0], "b_mu2": [12.0], "sigma1": 20.0, "sigma2": 40.0, "theta": [0.4, 0.6],
         "ordered_Intercept": [250.0, 320.0]}
    b = {"b_mu1": [8.0], "b_mu2": [9.0], "sigma1": 30.0, "sigma2": 25.0, "theta": [0.7, 0.3],
         "ordered_Intercept": [270.0, 300.0]}
    assert ours(a) - ours(b) == pytest.approx(stan_target(a) - stan_target(b), rel=1e-9)


def _scipy_mixture_logpdf(y: np.ndarray) -> np.ndarray:
    parts = [np.log(0.3) + stats.norm.logpdf(y, ETA[:, 0], 0.7), np.log(0.7) + stats.norm.logpdf(y, ETA[:, 1], 1.3)]
    return special.logsumexp(np.stack(parts), axis=0)


def test_likelihood_mean_and_draws_against_scipy() -> None:
    fam = brmc.mixture("gaussian", "gaussian")
    y = np.array([-0.5, 1.0, 2.5])
    np.testing.assert_allclose(fam.log_lik(y, ETA, DPARS), _scipy_mixture_logpdf(y), rtol=1e-10)
    np.testing.assert_allclose(fam.expected(ETA, DPARS, {}), 0.3 * ETA[:, 0] + 0.7 * ETA[:, 1], rtol=1e-12)
    draws = fam.rng(np.tile(ETA, (20_000, 1, 1)), {**DPARS, "theta": np.tile(DPARS["theta"], (20_000, 1, 1))},
                    np.random.default_rng(2))
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - (0.3 * ETA[:, 0] + 0.7 * ETA[:, 1])) < 5 * se)


def test_mixed_families_take_their_own_links_and_means() -> None:
    """poisson (log) with negbinomial (log): epred = sum theta_k exp(eta_k); lognormal's mean exp(mu + sigma^2 / 2)."""
    fam = brmc.mixture("poisson", "negbinomial")
    assert fam.order == "none" and [d.name for d in fam.dpars] == ["shape2", "theta"]
    d = {"shape2": np.float64(2.0), "theta": np.array([0.4, 0.6])}
    np.testing.assert_allclose(fam.expected(ETA, d, {}), 0.4 * np.exp(ETA[:, 0]) + 0.6 * np.exp(ETA[:, 1]))
    y = np.array([0.0, 3.0, 7.0])
    mu = np.exp(ETA)
    theirs = np.logaddexp(np.log(0.4) + stats.poisson.logpmf(y, mu[:, 0]),
                          np.log(0.6) + stats.nbinom.logpmf(y, 2.0, 2.0 / (2.0 + mu[:, 1])))
    np.testing.assert_allclose(fam.log_lik(y, ETA, d), theirs, rtol=1e-10)
    lognormal = brmc.mixture("lognormal", "gaussian")
    d = {"sigma1": np.float64(0.5), "sigma2": np.float64(1.0), "theta": np.array([0.5, 0.5])}
    np.testing.assert_allclose(lognormal.expected(ETA, d, {}), 0.5 * np.exp(ETA[:, 0] + 0.125) + 0.5 * ETA[:, 1])


def test_mixture_of_binomials_takes_the_trials() -> None:
    """binomial components with trials(n): log_sum_exp of SciPy's binomial pmfs; mean n sum theta_k p_k."""
    fam = brmc.mixture("binomial", "binomial")
    d = {"theta": np.array([0.3, 0.7])}
    trials = np.array([5.0, 10.0, 8.0])
    y = np.array([1.0, 9.0, 4.0])
    p = special.expit(ETA)
    theirs = np.logaddexp(np.log(0.3) + stats.binom.logpmf(y, trials, p[:, 0]),
                          np.log(0.7) + stats.binom.logpmf(y, trials, p[:, 1]))
    np.testing.assert_allclose(fam.log_lik(y, ETA, d, {"trials": trials}), theirs, rtol=1e-10)
    np.testing.assert_allclose(fam.expected(ETA, d, {"trials": trials}), trials * (0.3 * p[:, 0] + 0.7 * p[:, 1]))


def test_order_and_refusals() -> None:
    assert brmc.mixture("gaussian", "gaussian").order == "mu"
    assert brmc.mixture("gaussian", "gaussian", order="none").order == "none"
    assert brmc.get_family("mixture(gaussian, gaussian, order = FALSE)").order == "none"
    assert brmc.families.family_from_dict(brmc.mixture("gaussian", "student").to_dict()).name == \
        "mixture(gaussian, student)"
    with pytest.raises(FamilyError, match="at least 2 component families"):
        brmc.mixture("gaussian")
    with pytest.raises(FamilyError, match="real and integer support"):
        brmc.mixture("gaussian", "poisson")
    with pytest.raises(FamilyError, match="'cumulative' cannot be a mixture component"):
        brmc.mixture("cumulative", "cumulative")
    with pytest.raises(FamilyError, match="Valid options are: none, mu"):
        brmc.mixture("gaussian", "gaussian", order="sigma")
    sleep = brmc.datasets.load("sleepstudy")
    with pytest.raises(FamilyError, match="Predicting 'theta2' of family 'mixture\\(gaussian, gaussian\\)' is not"):
        brmc.get_prior(brmc.bf("Reaction ~ Days", theta2="~ Days"), sleep, family=brmc.mixture("gaussian", "gaussian"))
    with pytest.raises(FamilyError, match="ordering requires population-level intercepts"):
        brmc.make_model(brmc.bf("Reaction ~ Days", mu2="~ 0 + Days"), sleep, family=brmc.mixture("gaussian", "gaussian"))
    with pytest.raises(PriorError, match="class 'theta'"):
        brmc.make_model("Reaction ~ Days", sleep, family=brmc.mixture("gaussian", "gaussian"),
                        prior=brmc.prior("normal(0, 1)", class_="theta"))


def _two_normals(seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """35 % from N(-2 + 0.5 x, 0.7), 65 % from N(2 + x, 1), by NumPy."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=400)
    first = rng.random(400) < 0.35
    y = np.where(first, rng.normal(-2 + 0.5 * x, 0.7), rng.normal(2 + 1.0 * x, 1.0))
    truth = {"b_mu1_Intercept": -2.0, "b_mu1_x": 0.5, "b_mu2_Intercept": 2.0, "b_mu2_x": 1.0,
             "sigma1": 0.7, "sigma2": 1.0, "theta1": 0.35}
    return pd.DataFrame({"x": x, "y": y}), truth


@pytest.mark.slow
def test_two_component_mixture_recovers_its_parameters_and_works_downstream() -> None:
    misses, n_checks = [], 0
    for seed in (11, 22, 33):  # one compile: the seeds share the model's structure
        data, truth = _two_normals(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = brmc.brm("y ~ x", data, family=brmc.mixture("gaussian", "gaussian"), chains=2, iter=800,
                           seed=seed, progress=False)
        draws = fit.draws()
        for name, value in truth.items():
            lo, hi = np.quantile(draws[name], [0.05, 0.95])
            n_checks += 1
            if not lo <= value <= hi:
                misses.append(f"seed {seed}: {name} = {value} outside [{lo:.3g}, {hi:.3g}]")
    assert len(misses) <= n_checks // 4, misses  # 90 % intervals: ~10 % misses expected
    # downstream, on the last fit
    assert (draws["Intercept_mu1"] < draws["Intercept_mu2"]).all()  # order = "mu"
    mu1 = draws["b_mu1_Intercept"].to_numpy()[:, None] + np.outer(draws["b_mu1_x"], data["x"])
    mu2 = draws["b_mu2_Intercept"].to_numpy()[:, None] + np.outer(draws["b_mu2_x"], data["x"])
    analytic = draws["theta1"].to_numpy()[:, None] * mu1 + draws["theta2"].to_numpy()[:, None] * mu2
    full = fit.posterior_epred()
    np.testing.assert_allclose(full, analytic, rtol=1e-8)
    assert fit.posterior_predict(ndraws=10, seed=1).shape == (10, 400)
    assert np.isfinite(fit.loo().elpd)
    text = str(fit.summary())
    assert " Family: mixture(gaussian, gaussian) " in text
    assert "Links: mu1 = identity; sigma1 = identity; mu2 = identity; sigma2 = identity; theta1 = identity; " \
           "theta2 = identity" in text
    assert "theta1" in text and "mu2_x" in text
    assert "dirichlet(1)" in str(fit.prior_summary())
    assert fit.powerscale_sensitivity() is not None  # the prior terms at the draws, ordered_Intercept included
    prior_theta = brmc.prior_sampling.prior_draws(fit, 2, 4000, seed=1)["prior_theta"]  # theta1 ~ Beta(1, 1)
    assert abs(prior_theta.mean() - 0.5) < 0.02 and abs(prior_theta.var() - 1 / 12) < 0.005


@pytest.mark.slow
def test_mixture_of_binomials_with_trials_recovers_its_parameters() -> None:
    """40 % binomial(20, expit(-1.5 + 0.5 x)), 60 % binomial(20, expit(1 + 0.5 x)), by NumPy."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=300)
    first = rng.random(300) < 0.4
    y = np.where(first, rng.binomial(20, special.expit(-1.5 + 0.5 * x)), rng.binomial(20, special.expit(1.0 + 0.5 * x)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("y | trials(20) ~ x", pd.DataFrame({"x": x, "y": y}), family=brmc.mixture("binomial", "binomial"),
                       chains=2, iter=800, seed=1, progress=False)
    d = fit.draws()
    truth = {"b_mu1_Intercept": -1.5, "b_mu1_x": 0.5, "b_mu2_Intercept": 1.0, "b_mu2_x": 0.5, "theta1": 0.4}
    misses = [n for n, v in truth.items() if not np.quantile(d[n], 0.01) <= v <= np.quantile(d[n], 0.99)]
    assert len(misses) <= 1, misses
    assert fit.posterior_predict(ndraws=10, seed=1).max() <= 20

