"""brms's cox family: its baseline-hazard bases equal brms 2.18's Stan data for cox_kidney
(``Zbhaz``, ``Zcbhaz`` from splines2), its default priors brms's rows, its likelihood brms's
``cox_log_lpdf`` / ``_lccdf`` / ``_lcdf`` written here, and a fit recovers the effects of a
proportional-hazards model simulated with NumPy (Weibull baseline, random right-censoring)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.errors import DataError, FamilyError
from brmc.families.survival import bhaz_basis

from .conftest import reference_path

FORMULA = "time | cens(censored) ~ age + sex + (1 | patient)"


def _standata() -> dict:
    return json.loads(reference_path("cox_kidney", "standata_bhaz.json").read_text())


def test_baseline_hazard_bases_are_brms_stan_data() -> None:
    stan = _standata()
    kidney = brmc.datasets.load("kidney")
    np.testing.assert_array_equal(kidney["time"].to_numpy(dtype=float), stan["Y"])
    Z, C = bhaz_basis(kidney["time"].to_numpy(dtype=float))
    np.testing.assert_allclose(Z, stan["Zbhaz"], rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(C, stan["Zcbhaz"], rtol=1e-10, atol=1e-15)
    md = brmc.data.build_data(brmc.formula.parse_formula(FORMULA), kidney, brmc.get_family("cox"))
    np.testing.assert_array_equal(md.additions["cens"], stan["cens"])
    np.testing.assert_allclose(md.additions["Zbhaz"], stan["Zbhaz"], rtol=1e-10, atol=1e-15)


def test_log_likelihood_is_brms_cox_log_lpdf_lccdf_and_lcdf() -> None:
    stan = _standata()
    Z, C = np.array(stan["Zbhaz"])[:6], np.array(stan["Zcbhaz"])[:6]
    y = np.array(stan["Y"], dtype=float)[:6]
    sbhaz = np.array([0.1, 0.3, 0.2, 0.25, 0.15])
    eta = np.array([-3.0, -2.5, -4.0, -3.2, -2.0, -3.7])
    cens = np.array([0, 1, -1, 0, 1, -1])
    bhaz, cbhaz = Z @ sbhaz, C @ sbhaz
    survival = -cbhaz * np.exp(eta)  # cox_log_lccdf
    theirs = np.where(cens == 0, np.log(bhaz) + eta + survival,
                      np.where(cens == 1, survival, np.log1p(-np.exp(survival))))
    ours = brmc.get_family("cox").log_lik(y, eta, {"sbhaz": sbhaz}, {"Zbhaz": Z, "Zcbhaz": C, "cens": cens})
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_refusals() -> None:
    fam = brmc.get_family("cox")
    with pytest.raises(FamilyError, match="Cannot compute expected values .* 'cox'"):
        fam.expected(np.zeros(2), {"sbhaz": np.full(5, 0.2)}, {})
    kidney = brmc.datasets.load("kidney")
    with pytest.raises(FamilyError, match="no interval censoring"):
        brmc.get_prior("time | cens(2, time) ~ age", kidney, family="cox")
    with pytest.raises(DataError, match="trunc\\(\\) cannot be used with family 'cox'"):
        brmc.get_prior("time | trunc(lb = 1) ~ age", kidney, family="cox")


def _proportional_hazards(seed: int) -> pd.DataFrame:
    """S(t | x) = exp(-t^1.5 exp(eta)), eta = -1 + 0.8 x - 0.5 z; censoring times uniform on (0, 3)."""
    rng = np.random.default_rng(seed)
    x, z = rng.normal(size=300), rng.integers(0, 2, 300)
    eta = -1.0 + 0.8 * x - 0.5 * z
    event = (-np.log(rng.random(300)) / np.exp(eta)) ** (1 / 1.5)
    censor = rng.uniform(0, 3, 300)
    return pd.DataFrame({"time": np.minimum(event, censor), "censored": (censor < event).astype(int), "x": x, "z": z})


@pytest.mark.slow
def test_cox_fit_recovers_proportional_hazards_and_works_downstream() -> None:
    misses = []
    for seed in (11, 22, 33):  # one compile: the seeds share the model's structure
        data = _proportional_hazards(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = brmc.brm("time | cens(censored) ~ x + z", data, family="cox", chains=2, iter=800, seed=seed,
                           progress=False)
        d = fit.draws()
        misses += [f"seed {seed}: {n}" for n, v in {"b_x": 0.8, "b_z": -0.5}.items()
                   if not np.quantile(d[n], 0.05) <= v <= np.quantile(d[n], 0.95)]
    assert len(misses) <= 1, misses
    s = d[[f"sbhaz[{k}]" for k in range(1, 6)]].to_numpy()
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-10)  # a simplex
    text = str(fit.summary())
    assert " Family: cox " in text and "Links: mu = log " in text and "sbhaz" not in text
    assert "dirichlet(1)" in str(fit.prior_summary())
    assert np.isfinite(fit.loo().elpd)
    with pytest.raises(FamilyError, match="Cannot sample from the posterior predictive distribution"):
        fit.posterior_predict(ndraws=5)
