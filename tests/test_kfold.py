"""kfold, loo_R2, model_weights and add_criterion, each against an independent computation:
exact held-out log predictive densities from refits made here, the definition of LOO-R², and
stacking weights by direct optimisation."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.special import logsumexp, softmax

import brmc
from brmc import sampling
from brmc.criteria import relative_eff
from brmc.kfold import fold_ids

from .conftest import quiet

SMALL = "Reaction ~ Days"


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def small(sleep) -> brmc.Fit:
    return quiet(brmc.brm, SMALL, sleep, chains=1, iter=300, seed=7, progress=False)


def test_kfold_equals_log_predictive_densities_of_the_refits(sleep, small):
    n_compiled = sampling._COMPILED.made
    res = quiet(small.kfold, K=3, seed=4, progress=False)
    assert sampling._COMPILED.made - n_compiled <= 1  # three folds of 60 rows: one structure
    folds = res.pointwise["fold"].to_numpy()
    expected = np.empty(len(sleep))
    for k in (1, 2, 3):
        test = folds == k
        refit = quiet(brmc.brm, SMALL, sleep[~test], chains=1, iter=300, seed=small.settings.seed + k,
                      progress=False)
        d = refit.draws()
        mu = d["b_Intercept"].to_numpy()[:, None] + d["b_Days"].to_numpy()[:, None] * sleep["Days"].to_numpy()[test]
        ll = stats.norm.logpdf(sleep["Reaction"].to_numpy()[test], mu, d["sigma"].to_numpy()[:, None])
        expected[test] = logsumexp(ll, axis=0) - np.log(len(d))
    np.testing.assert_allclose(res.pointwise["elpd_kfold"], expected, rtol=1e-6)
    assert res.estimates.loc["elpd_kfold", "Estimate"] == pytest.approx(expected.sum())
    assert res.estimates.loc["elpd_kfold", "SE"] == pytest.approx(np.sqrt(len(expected)) * expected.std(ddof=1))
    assert str(res).splitlines()[1] == "Based on 3-fold cross-validation"


def test_fold_splits_as_loo_makes_them(sleep):
    rand = fold_ids(180, 7, seed=1)
    assert np.ptp(np.bincount(rand)[1:]) <= 1
    grouped = fold_ids(180, 4, "grouped", group=sleep["Subject"], seed=1)
    assert (pd.Series(grouped).groupby(sleep["Subject"].to_numpy()).nunique() == 1).all()
    strata = np.repeat(["a", "b"], [30, 60])
    strat = fold_ids(90, 3, "stratified", group=strata, seed=1)
    assert [np.bincount(strat[strata == s])[1:].tolist() for s in ("a", "b")] == [[10, 10, 10], [20, 20, 20]]
    with pytest.raises(brmc.DataError, match="group="):
        fold_ids(180, 3, "grouped")


def test_loo_R2_is_its_definition(fit):
    ll3 = fit.log_likelihood().values
    ll = ll3.reshape(-1, ll3.shape[-1])
    S, N = ll.shape
    r_eff = relative_eff(ll3)
    lw = np.column_stack([az.psislw(-ll[:, [i]].T, reff=r_eff[i])[0][0] for i in range(N)])  # S, N
    y = fit.data["Reaction"].to_numpy()
    ypred = fit.posterior_epred()
    err = (np.exp(lw) * ypred).sum(axis=0) - y
    w = np.random.default_rng(5).exponential(size=(S, N))
    w /= w.sum(axis=1, keepdims=True)
    def var(x):
        return N / (N - 1) * ((w * x**2).sum(axis=1) - (w * x).sum(axis=1) ** 2)
    expected = np.clip(1 - var(err) / var(y), -1, 1)
    np.testing.assert_allclose(fit.loo_R2(summary=False, seed=5)["R2"], expected, rtol=1e-8)


def test_stacking_weights_maximise_the_stacked_loo_density(fit, sleep):
    other = quiet(brmc.brm, "Reaction ~ 1 + (1 | Subject)", sleep, chains=2, iter=400, seed=3, progress=False)
    weights = brmc.model_weights(fit, other, names=["slopes", "intercepts"])
    elpd = np.column_stack([az.loo(f.idata, pointwise=True).loo_i.values for f in (fit, other)])
    best = optimize.minimize(lambda a: -logsumexp(elpd + np.log(softmax(np.r_[0.0, a])), axis=1).sum(), [0.0])
    np.testing.assert_allclose(weights.to_numpy(), softmax(np.r_[0.0, best.x]), atol=0.01)
    pbma = brmc.model_weights(fit, other, weights="pseudobma", seed=1)
    assert pbma.sum() == pytest.approx(1.0) and pbma.index.tolist() == ["fit1", "fit2"]


def test_add_criterion_is_saved_with_the_fit(fit, tmp_path):
    fit = dataclasses.replace(fit, criteria={})  # the shared fit stays as it was
    fit.add_criterion(["loo", "bayes_R2"])
    direct = brmc.loo(fit)
    loaded = brmc.load(fit.save(tmp_path / "crit.brmc"))
    pd.testing.assert_frame_equal(loaded.criteria["loo"].estimates, direct.estimates)
    np.testing.assert_allclose(loaded.criteria["loo"].pareto_k, direct.pareto_k)
    np.testing.assert_allclose(loaded.criteria["bayes_R2"]["R2"], brmc.bayes_R2(fit, summary=False)["R2"])
    with pytest.raises(brmc.DataError, match="criterion must be one of"):
        fit.add_criterion("bridge")


def test_kfold_on_an_executor_gives_the_same_folds_and_densities(small):
    here = quiet(small.kfold, K=2, seed=9, progress=False)
    with ThreadPoolExecutor(2) as pool:
        there = quiet(small.kfold, K=2, seed=9, progress=False, executor=pool)
    pd.testing.assert_frame_equal(here.pointwise, there.pointwise)


def test_pp_average_pools_each_models_draws_by_weight(fit, small):
    # fit: 400 draws of the slopes model; small: 150 draws of Reaction ~ Days
    pooled = brmc.pp_average(fit, small, weights=[0.3, 0.7], method="posterior_epred", ndraws=200, seed=1,
                             summary=False)
    assert pooled.shape == (200, 180)
    first, second = fit.posterior_epred(), small.posterior_epred()
    in_first = (pooled[:, None, :] == first[None]).all(axis=2).any(axis=1)
    in_second = (pooled[:, None, :] == second[None]).all(axis=2).any(axis=1)
    assert in_first[:60].all() and in_second[60:].all() and not in_first[60:].any()
    assert len(np.unique(pooled[:60], axis=0)) == 60  # draws without replacement, as brms's ndraws
    summary = brmc.pp_average(fit, small, weights=[0.3, 0.7], method="fitted", ndraws=200, seed=1)
    np.testing.assert_allclose(summary["Estimate"], pooled.mean(axis=0))
    np.testing.assert_allclose(summary["Q97.5"], np.quantile(pooled, 0.975, axis=0))
    assert summary.attrs == {"weights": {"fit1": 0.3, "fit2": 0.7}, "ndraws": {"fit1": 60, "fit2": 140}}
    robust = brmc.pp_average(fit, small, weights=[1, 3], method="posterior_epred", ndraws=100, seed=2, robust=True)
    assert robust.attrs["ndraws"] == {"fit1": 25, "fit2": 75}
    # stacking: the weights model_weights gives; the draws of each model split by them
    stacked = quiet(brmc.pp_average, fit, small, ndraws=100, seed=3)
    weights = quiet(brmc.model_weights, fit, small)
    assert stacked.attrs["weights"] == pytest.approx(dict(zip(["fit1", "fit2"], weights)))
    assert sum(stacked.attrs["ndraws"].values()) == 100
    with pytest.raises(brmc.DataError, match="same length as the number of models"):
        brmc.pp_average(fit, small, weights=[1.0])
