"""``gp()`` as a term kind (:mod:`brmc.terms.gp`): brms's priors, the model's log density against
one written here with scipy on brms's own ``standata`` (approximate and exact GPs), new rows.

The agreement of the fitted posterior with brms's (gp_mcycle) is in ``tests/test_reference_fits.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg, stats

import brmc
from brmc.errors import FormulaError

from .conftest import quiet, reference_csv, reference_standata
from .test_reference_priors import _compare

MCYCLE = brmc.datasets.load("mcycle")


@pytest.mark.parametrize("case, data", [("gp_exact_mcycle", MCYCLE), ("gp_by_jsp", brmc.datasets.load("jspr"))])
def test_default_priors_equal_brms_grid(case: str, data: pd.DataFrame) -> None:
    rows = reference_csv(case, "default_priors2.csv")
    _compare(brmc.get_prior(rows["formula"].iloc[0], data), rows)


def _log_prior(icpt: float, sdgp: float, lscale: float, sigma: float, a: float, b: float) -> float:
    """brms's priors of these models (without the truncation constants brmc leaves out), plus the
    log Jacobians of the log transforms of sdgp, lscale and sigma."""
    return (stats.t.logpdf(icpt, 3, -13.3, 35.6) + stats.t.logpdf(sdgp, 3, 0, 35.6) + np.log(sdgp)
            + stats.invgamma.logpdf(lscale, a, scale=b) + np.log(lscale)
            + stats.t.logpdf(sigma, 3, 0, 35.6) + np.log(sigma))


@pytest.mark.parametrize("case, formula", [("gp_mcycle", "accel ~ gp(times, k = 20, c = 5/4)"),
                                           ("gp_exact_mcycle", "accel ~ gp(times)")])
def test_the_model_density_is_brms_on_brms_data(case: str, formula: str) -> None:
    """Stan's model of brms (its ``stancode``) on brms's ``standata``, written with scipy: the
    approximate GP's ``Xgp * (sqrt(spd) .* zgp)``, the exact GP's ``cholesky(K) * zgp``."""
    ref = reference_standata(case)
    logp = brmc.make_model(formula, MCYCLE).model.compile_logp()
    y, J = MCYCLE["accel"].to_numpy(), ref["Jgp_1"] - 1
    rng = np.random.default_rng(8)
    for _ in range(3):
        icpt, sdgp, lscale, sigma = rng.normal(-13, 5), np.exp(rng.normal(3.9, 0.3)), np.exp(rng.normal(-3, 0.3)), \
            np.exp(rng.normal(3.1, 0.05))
        if "slambda_1" in ref:
            zgp = rng.normal(size=ref["Xgp_1"].shape[1])
            lam2 = ref["slambda_1"][:, 0] ** 2
            spd = sdgp**2 * np.sqrt(2 * np.pi) * lscale * np.exp(-0.5 * lscale**2 * lam2)
            f = ref["Xgp_1"] @ (np.sqrt(spd) * zgp)
        else:  # short length-scales: K far from singular, so that the Cholesky factor is well defined
            lscale /= 10
            x = ref["Xgp_1"][:, 0]
            zgp = rng.normal(size=len(x))
            K = sdgp**2 * np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * lscale**2)) + 1e-12 * np.eye(len(x))
            f = linalg.cholesky(K, lower=True) @ zgp
        expected = (stats.norm.logpdf(y, icpt + f[J], sigma).sum() + stats.norm.logpdf(zgp).sum()
                    + _log_prior(icpt, sdgp, lscale, sigma, 1.494197, 0.056607))
        point = {"Intercept": icpt, "sdgp_1_log__": np.log([sdgp]), "lscale_1_log__": np.log([lscale]),
                 "sigma_log__": np.log(sigma), "zgp_1_1": zgp}
        assert logp(point) == pytest.approx(expected, rel=1e-8)


def test_a_factor_by_gives_one_gp_per_level() -> None:
    """brms's ``Igp``/``Cgp``/``Jgp`` of ``gp(craven, by = gender, k = 10, c = 5/4)`` as each row's
    point and weight (0 for the other level's rows)."""
    jspr = brmc.datasets.load("jspr")
    built = brmc.make_model("math ~ gp(craven, by = gender, k = 10, c = 5/4)", jspr)
    ref = reference_standata("gp_by_jsp")
    for j in (1, 2):
        rows = ref[f"Igp_1_{j}"] - 1
        np.testing.assert_array_equal(np.flatnonzero(built.values[f"Cgp_1_{j}"]), rows)
        np.testing.assert_array_equal(built.values[f"Jgp_1_{j}"][rows], ref[f"Jgp_1_{j}"] - 1)
        np.testing.assert_allclose(built.values[f"Xgp_1_{j}"], ref[f"Xgp_1_{j}"], atol=1e-12)


def test_cmc_false_gives_a_gp_for_all_rows_and_one_per_other_level() -> None:
    """brms's ``cmc = FALSE``: the by-factor's treatment contrasts (``~ 1 + byval``), so the first
    GP (``Intercept``) is the GP of every row, as without ``by`` (brms's ``Xgp_1``/``Jgp_1`` of
    ``gp_mcycle``), and the second covers the second level's rows, as that level's GP of
    ``cmc = TRUE`` does (brms's ``Igp_1_2``/``Xgp_1_2`` of ``gp_by_jsp``)."""
    mcycle = MCYCLE.assign(g=pd.Categorical(np.where(np.arange(len(MCYCLE)) % 3 == 0, "a", "b")))
    built = brmc.make_model("accel ~ gp(times, by = g, k = 20, c = 5/4, cmc = FALSE)", mcycle)
    ref = reference_standata("gp_mcycle")
    assert np.all(built.values["Cgp_1_1"] == 1)
    np.testing.assert_allclose(built.values["Xgp_1_1"], ref["Xgp_1"], atol=1e-12)
    np.testing.assert_array_equal(built.values["Jgp_1_1"], ref["Jgp_1"] - 1)
    jspr = brmc.datasets.load("jspr")
    formula = "math ~ gp(craven, by = gender, k = 10, c = 5/4, cmc = FALSE)"
    built = brmc.make_model(formula, jspr)
    ref = reference_standata("gp_by_jsp")
    rows = ref["Igp_1_2"] - 1
    np.testing.assert_array_equal(np.flatnonzero(built.values["Cgp_1_2"]), rows)
    np.testing.assert_allclose(built.values["Xgp_1_2"], ref["Xgp_1_2"], atol=1e-12)
    second = jspr["gender"].cat.categories[1]
    coefs = brmc.get_prior(formula, jspr).query("`class` == 'sdgp'")["coef"].tolist()
    assert sorted(coefs) == sorted(["", "gpcravengenderIntercept", f"gpcravengender{second}"])


def test_options_are_checked() -> None:
    brmc.get_prior("accel ~ gp(times, cov = 'exp_quad')", MCYCLE)  # brms 2.18's one kernel
    with pytest.raises(FormulaError, match="not a kernel of brms 2.18; the only one is 'exp_quad'"):
        brmc.get_prior("accel ~ gp(times, cov = 'matern32')", MCYCLE)
    with pytest.raises(FormulaError, match="takes the arguments k, c, by, cov, scale, gr, cmc, iso"):
        brmc.get_prior("accel ~ gp(times, kernel = 'matern32')", MCYCLE)
    with pytest.raises(FormulaError, match="'c' must be specified"):
        brmc.get_prior("accel ~ gp(times, k = 10)", MCYCLE)


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    return quiet(brmc.brm, "accel ~ gp(times, k = 20, c = 5/4)", MCYCLE, chains=2, iter=400, seed=2, progress=False)


def test_names_summary_and_new_rows(fit: brmc.Fit) -> None:
    post = fit.idata.posterior
    assert {"sdgp_gptimes", "lscale_gptimes", "zgp_gptimes[20]"} <= set(post.data_vars)
    text = str(fit)
    assert "Gaussian Process Terms: \n" in text and "\nsdgp(gptimes) " in text and "\nlscale(gptimes) " in text
    train = brmc.predict.posterior_epred(fit)
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit, newdata=MCYCLE.iloc[[7, 90]]), train[:, [7, 90]],
                               atol=1e-8)


@pytest.fixture(scope="module")
def exact() -> brmc.Fit:
    return quiet(brmc.brm, "accel ~ gp(times)", MCYCLE.iloc[::4], chains=1, iter=200, seed=1, progress=False)


def test_exact_gp_at_training_points_given_as_new_rows_is_the_training_curve(exact: brmc.Fit) -> None:
    """brms draws an exact GP at new points from its normal given the training values: at the
    training points themselves that normal has (almost) no spread."""
    train = brmc.predict.posterior_epred(exact)
    again = brmc.predict.posterior_epred(exact, newdata=MCYCLE.iloc[::4].iloc[[3, 0, 10]], seed=5)
    np.testing.assert_allclose(again, train[:, [3, 0, 10]], atol=0.05)  # sdgp ~ 50: nugget noise ~ 1e-4 x sdgp


def test_exact_gp_at_a_new_point_follows_the_conditional_normal(exact: brmc.Fit) -> None:
    """At a new time, the draws' mean and spread are the GP's conditional normal given the
    training values, written here from the kernel (not with brmc's function)."""
    new = pd.DataFrame({"times": [60.0]})  # past the last time: the GP's spread is large there
    draws = brmc.predict.posterior_linpred(exact, newdata=new, seed=2)[:, 0]
    post = exact.idata.posterior
    gp = exact.model_data.predictors["mu"].parts["gp"][0]
    old_points = gp.basis.blocks[0].Xgp
    new_point = gp.basis.predict(new)[0].Xgp
    sd, ls = post["sdgp_gptimes"].values.ravel(), post["lscale_gptimes"].values.ravel()
    z = np.stack([post[f"zgp_gptimes[{k + 1}]"].values.ravel() for k in range(len(old_points))], axis=-1)
    b = post["b_Intercept"].values.ravel()
    means, variances = [], []
    for s, l, zz in zip(sd, ls, z):
        kern = lambda a, c: s**2 * np.exp(-0.5 * ((a[:, None, 0] - c[None, :, 0]) ** 2) / l**2)  # noqa: E731
        K = kern(old_points, old_points) + 1e-8 * np.eye(len(old_points))
        f = np.linalg.cholesky(K) @ zz
        k = kern(old_points, new_point)[:, 0]
        means.append(k @ np.linalg.solve(K, f))
        variances.append(s**2 - k @ np.linalg.solve(K, k) + 1e-8)  # brms's nugget at new points
    centred = (draws - b - np.array(means)) / np.sqrt(np.array(variances))
    assert abs(centred.mean()) < 0.25 and 0.8 < centred.std() < 1.2  # standard normal, 200 draws


def test_exact_gp_new_rows_need_a_seed_only_for_reproducibility(exact: brmc.Fit) -> None:
    new = pd.DataFrame({"times": [15.3, 40.0]})
    one = brmc.predict.posterior_epred(exact, newdata=new, seed=3)
    np.testing.assert_array_equal(one, brmc.predict.posterior_epred(exact, newdata=new, seed=3))
    assert not np.array_equal(one, brmc.predict.posterior_epred(exact, newdata=new, seed=4))
