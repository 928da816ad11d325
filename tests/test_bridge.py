"""bridge_sampler, bayes_factor and post_prob against exact marginal likelihoods.

The marginal likelihoods are computed here, independently of brmc: for gaussian models with
normal priors on the (centred) intercept, slopes and group-level effects, ``y`` given the
standard deviations is multivariate normal (the coefficients integrated out in closed form);
the standard deviations, with their truncated-normal priors normalised on (0, inf), are
integrated by quadrature on a grid.  The hierarchical case checks the constants the model's
density leaves out (the half-normal's ``log 2``) and the group-level effects recovered from
the draws.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import brmc
from brmc.bridge import BridgeResult, bridge_sampler, lkj_log_normaliser
from brmc.errors import DataError

from .conftest import quiet
from .test_moment_match import PRIORS, leverage_data, log_marginal

SIGMA = brmc.prior("normal(1, 0.5)", class_="sigma")
INTERCEPT = brmc.prior("normal(0, 5)", class_="Intercept")


def _mvn_logpdf(y: np.ndarray, covs: np.ndarray) -> np.ndarray:
    """log N(y; 0, C) for a stack of covariance matrices C."""
    _, logdet = np.linalg.slogdet(covs)
    quad = np.einsum("i,kij,j->k", y, np.linalg.inv(covs), y)
    return -0.5 * (len(y) * np.log(2 * np.pi) + logdet + quad)


def random_intercept_data() -> pd.DataFrame:
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(6), 4)
    y = 2.0 + rng.normal(0, 1.0, 6)[g] + rng.normal(0, 0.8, len(g))
    return pd.DataFrame({"y": y, "g": [f"g{i}" for i in g]})


def random_intercept_log_marginal(data: pd.DataFrame) -> float:
    """y = a + u_g + e; a ~ N(0, 5), u_g ~ N(0, tau), tau ~ N+(0, 1), e ~ N(0, sigma), sigma ~ N+(1, 0.5)."""
    y = data["y"].to_numpy()
    Z = (data["g"].to_numpy()[:, None] == np.unique(data["g"])[None]).astype(float)
    taus, sigmas = np.linspace(1e-3, 4, 161), np.linspace(0.05, 3, 161)
    T, S = np.meshgrid(taus, sigmas, indexing="ij")
    covs = (25.0 + T.reshape(-1, 1, 1) ** 2 * (Z @ Z.T)[None] + S.reshape(-1, 1, 1) ** 2 * np.eye(len(y))[None])
    lp = _mvn_logpdf(y - 0.0, covs).reshape(T.shape)
    lp += stats.norm.logpdf(T, 0, 1) + np.log(2) + stats.norm.logpdf(S, 1, 0.5) - stats.norm.logsf(0, 1, 0.5)
    top = lp.max()
    inner = integrate.simpson(np.exp(lp - top), x=sigmas, axis=1)
    return float(top + np.log(integrate.simpson(inner, x=taus)))


@pytest.fixture(scope="module")
def leverage() -> brmc.Fit:
    return quiet(brmc.brm, "y ~ x", leverage_data(), prior=PRIORS, chains=4, iter=2000, seed=5, progress=False)


@pytest.fixture(scope="module")
def intercept_only() -> brmc.Fit:
    return quiet(brmc.brm, "y ~ 1", leverage_data(), prior=[INTERCEPT, SIGMA], chains=4, iter=2000, seed=6,
                 progress=False)


def _intercept_only_exact() -> float:
    data = leverage_data()
    y = data["y"].to_numpy()
    grid = np.linspace(1e-3, 6, 3001)
    lp = np.array([stats.multivariate_normal.logpdf(y, np.zeros(len(y)), s**2 * np.eye(len(y)) + 25.0) for s in grid])
    lp += stats.norm.logpdf(grid, 1, 0.5) - stats.norm.logsf(0, 1, 0.5)
    top = lp.max()
    return float(top + np.log(integrate.simpson(np.exp(lp - top), x=grid)))


@pytest.mark.parametrize("method", ["normal", "warp3"])
def test_bridge_sampler_matches_the_exact_marginal_likelihood(leverage, method) -> None:
    data = leverage_data()
    exact = log_marginal(data["y"].to_numpy(), data["x"].to_numpy(), data["x"].mean())
    res = bridge_sampler(leverage, method=method, seed=1)
    assert abs(res.logml - exact) < 0.1
    assert str(res).startswith("Bridge sampling estimate of the log marginal likelihood: -")
    assert str(res).endswith(f'iteration(s) via method "{method}".')


def test_bridge_sampler_of_a_multilevel_model() -> None:
    data = random_intercept_data()
    prior = [INTERCEPT, SIGMA, brmc.prior("normal(0, 1)", class_="sd")]
    fit = quiet(brmc.brm, "y ~ 1 + (1 | g)", data, prior=prior, chains=4, iter=2000, seed=3, progress=False,
                control={"adapt_delta": 0.95})
    exact = random_intercept_log_marginal(data)
    res = bridge_sampler(fit, seed=2)
    assert abs(res.logml - exact) < 0.1
    errors = res.error_measures()
    assert 0 < errors["cv"] < 0.1 and errors["percentage"].endswith("%")


def test_bayes_factor_and_post_prob_match_the_exact_ones(leverage, intercept_only) -> None:
    data = leverage_data()
    exact_slope = log_marginal(data["y"].to_numpy(), data["x"].to_numpy(), data["x"].mean())
    exact_log_bf = exact_slope - _intercept_only_exact()
    bf = brmc.bayes_factor(leverage, intercept_only, log=True, seed=1, model_names=["slope", "flat"])
    assert abs(bf.bf - exact_log_bf) < 0.15
    assert str(bf).startswith("Estimated log Bayes factor in favor of slope over flat: ")
    assert brmc.bayes_factor(leverage, intercept_only, seed=1).bf == pytest.approx(np.exp(bf.bf))
    probs = brmc.post_prob(leverage, intercept_only, prior_prob=[0.3, 0.7], seed=1)
    exact = np.array([0.3 * np.exp(exact_log_bf), 0.7]) / (0.3 * np.exp(exact_log_bf) + 0.7)
    np.testing.assert_allclose(probs.to_numpy(), exact, atol=0.02)
    assert probs.index.tolist() == ["fit1", "fit2"]
    assert repr(probs).splitlines()[0].split() == ["fit1", "fit2"]


def test_bridge_criterion_is_kept_and_errors(leverage, intercept_only, tmp_path) -> None:
    fit = brmc.add_criterion(leverage, "marglik", seed=1)
    assert isinstance(fit.criteria["marglik"], BridgeResult)
    assert bridge_sampler(fit) is fit.criteria["marglik"]
    fit.save(tmp_path / "f.brmc")
    back = brmc.load(tmp_path / "f.brmc").criteria["marglik"]
    assert back.logml == fit.criteria["marglik"].logml and str(back) == str(fit.criteria["marglik"])
    np.testing.assert_array_equal(back.q21, fit.criteria["marglik"].q21)
    del fit.criteria["marglik"]
    with pytest.raises(DataError, match="method must be"):
        bridge_sampler(leverage, method="warp2")
    with pytest.raises(DataError, match="do not sum to one"):
        brmc.post_prob(leverage, intercept_only, prior_prob=[0.3, 0.3])
    other = quiet(brmc.brm, "y ~ x", leverage_data().assign(y=lambda d: d["y"] + 1), prior=PRIORS, chains=1,
                  iter=400, seed=1, progress=False)
    with pytest.raises(DataError, match="Responses of the models do not match"):
        brmc.bayes_factor(leverage, other)


def test_flat_priors_warn(fit) -> None:
    with pytest.warns(UserWarning, match=r"improper \(flat\) priors on b \(Days\)"):
        bridge_sampler(fit, seed=1)


def test_lkj_normalising_constant() -> None:
    # K = 3, eta = 1: the volume of 3 x 3 correlation matrices is pi^2 / 2
    assert np.exp(lkj_log_normaliser(1.0, 3)) == pytest.approx(np.pi**2 / 2)
    # K = 3, eta = 2: integrate det(R) over the correlations by Monte Carlo on the cube
    rng = np.random.default_rng(1)
    r = rng.uniform(-1, 1, (400_000, 3))
    det = 1 - (r**2).sum(axis=1) + 2 * r.prod(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = 8 * np.mean(np.where(det > 0, det, 0.0))
    assert np.log(estimate) == pytest.approx(lkj_log_normaliser(2.0, 3), abs=0.01)
