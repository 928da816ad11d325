"""Sampled fits with several linear predictors recover known parameters from data
simulated independently (NumPy, brms's parameterisation), over three seeds, and every
method works on them.  Slow: one compile per model structure."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

import brmc

pytestmark = pytest.mark.slow

N, GROUPS, SEEDS = 400, 16, (11, 22, 33)
SIGMA_TRUTH = {"b_Intercept": 0.8, "b_x": 0.5, "sd_g__Intercept": 0.4, "b_sigma_Intercept": -0.3,
               "b_sigma_x": 0.4}
CATEGORICAL_TRUTH = {"b_mu2_Intercept": 0.5, "b_mu2_x": 1.0, "b_mu3_Intercept": -0.3, "b_mu3_x": -0.8}


def _fit(formula, data: pd.DataFrame, family: str, seed: int) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(formula, data, family=family, chains=2, iter=800, seed=seed, progress=False)


def distributional(seed: int) -> brmc.Fit:
    """y ~ N(0.8 + 0.5 x + r_g, exp(-0.3 + 0.4 x))."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, GROUPS, N)
    x = rng.normal(size=N)
    t = SIGMA_TRUTH
    mu = t["b_Intercept"] + t["b_x"] * x + rng.normal(0, t["sd_g__Intercept"], GROUPS)[g]
    y = rng.normal(mu, np.exp(t["b_sigma_Intercept"] + t["b_sigma_x"] * x))
    data = pd.DataFrame({"y": y, "x": x, "g": pd.Categorical([f"g{i}" for i in g])})
    return _fit(brmc.bf("y ~ x + (1 | g)", sigma="~ x"), data, "gaussian", seed)


def categorical(seed: int) -> brmc.Fit:
    """y in 1, 2, 3 with P(y = k) = softmax(0, 0.5 + x, -0.3 - 0.8 x)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    t = CATEGORICAL_TRUTH
    eta = np.column_stack([np.zeros(N), t["b_mu2_Intercept"] + t["b_mu2_x"] * x,
                           t["b_mu3_Intercept"] + t["b_mu3_x"] * x])
    p = special.softmax(eta, axis=1)
    y = 1 + (rng.random(N)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return _fit("y ~ x", pd.DataFrame({"y": y, "x": x}), "categorical", seed)


@pytest.fixture(scope="module")
def sigma_fits() -> list[brmc.Fit]:
    return [distributional(seed) for seed in SEEDS]


@pytest.fixture(scope="module")
def categorical_fits() -> list[brmc.Fit]:
    return [categorical(seed) for seed in SEEDS]


def _misses(fits: list[brmc.Fit], truth: dict[str, float]) -> list[str]:
    misses = []
    for seed, fit in zip(SEEDS, fits):
        draws = fit.draws()
        for name, value in truth.items():
            lo, hi = np.quantile(draws[name], [0.05, 0.95])
            if not lo <= value <= hi:
                misses.append(f"seed {seed}: {name} = {value} outside [{lo:.3g}, {hi:.3g}]")
    return misses


def test_distributional_sigma_recovers_known_parameters(sigma_fits) -> None:
    # 90 % intervals: expect ~10 % misses; more than a quarter means a wrong link or likelihood
    misses = _misses(sigma_fits, SIGMA_TRUTH)
    assert len(misses) <= 3 * len(SIGMA_TRUTH) // 4, misses


def test_categorical_recovers_known_parameters(categorical_fits) -> None:
    misses = _misses(categorical_fits, CATEGORICAL_TRUTH)
    assert len(misses) <= 3 * len(CATEGORICAL_TRUTH) // 4, misses


def test_distributional_fit_prints_and_round_trips(sigma_fits, tmp_path) -> None:
    fit = sigma_fits[0]
    text = str(fit)
    assert "  Links: mu = identity; sigma = log \nFormula: y ~ x + (1 | g) \n         sigma ~ x\n" in text
    population = text.split("Population-Level Effects: \n")[1].split("\n\n")[0].splitlines()
    assert [row.split()[0] for row in population[1:]] == ["Intercept", "sigma_Intercept", "x", "sigma_x"]
    assert "Family Specific Parameters" not in text
    assert fit.posterior_epred(dpar="sigma").shape == (800, N)
    loaded = brmc.load(fit.save(tmp_path / "sigma.brmc"))
    assert str(loaded) == text
    assert np.isfinite(fit.loo().elpd) and fit.pp_check() is not None


def test_categorical_fit_prints_predicts_and_round_trips(categorical_fits, tmp_path) -> None:
    fit = categorical_fits[0]
    text = str(fit)
    assert " Family: categorical \n  Links: mu2 = logit; mu3 = logit \nFormula: y ~ x \n" in text
    population = text.split("Population-Level Effects: \n")[1].split("\n\n")[0].splitlines()
    assert [row.split()[0] for row in population[1:]] == ["mu2_Intercept", "mu3_Intercept", "mu2_x", "mu3_x"]
    epred = fit.posterior_epred()
    assert epred.shape == (800, N, 3)
    # the category shares the model expects are the ones observed
    observed = np.bincount(fit.model_data.y.astype(int), minlength=3) / N
    np.testing.assert_allclose(epred.mean(axis=(0, 1)), observed, atol=0.03)
    assert set(np.unique(fit.posterior_predict(ndraws=20, seed=1))) <= {1.0, 2.0, 3.0}
    loaded = brmc.load(fit.save(tmp_path / "categorical.brmc"))
    assert str(loaded) == text
    assert np.isfinite(fit.loo().elpd) and fit.pp_check(type="bars") is not None
