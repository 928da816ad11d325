"""The functions of a multivariate fit with resp= (save/load and file=, bayes_R2, loo_R2, pp_check,
conditional_effects, hypothesis, update), each checked against a computation from the draws written
here: brms's formulas (R/bayes_R2.R, R/loo_R2.R: one row ``R2<resp>`` per response, each from the
response's own expected values and log-likelihood), brms's names (``english.english_craven``), and a
saved-and-loaded fit giving the numbers the fit gave.

One small NUTS fit of mv_jsp's model on 11 schools (2 chains x 150 draws) serves every test."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from matplotlib.figure import Figure

import brmc
from brmc.criteria import _psis, relative_eff
from brmc.errors import DataError
from brmc.mvcriteria import mv_heldout_log_lik
from brmc.mvfit import MvFit

from .conftest import quiet, xla_compilations

JSP = brmc.datasets.load("jspr")
SMALL = JSP[JSP["school"].astype(int) <= 12].reset_index(drop=True)
FORMULA = brmc.bf("mvbind(english, math) ~ craven + (1 | p | school)") + brmc.set_rescor(True)
RESPONSES = ("english", "math")


@pytest.fixture(scope="module")
def mv() -> MvFit:
    return quiet(brmc.brm, FORMULA, SMALL, chains=2, iter=300, seed=5, progress=False)


def _draws(fit: MvFit, name: str) -> np.ndarray:
    return fit.idata.posterior[name].values.reshape(-1, *fit.idata.posterior[name].shape[2:])


def _mu(fit: MvFit, resp: str, group_effects: bool = True) -> np.ndarray:
    """brms's Stan code: mu = b_Intercept + b_craven * craven (+ r_school[school]), (draws, rows)."""
    mu = _draws(fit, f"b_{resp}_Intercept")[:, None] + _draws(fit, f"b_{resp}_craven")[:, None] * \
        SMALL["craven"].to_numpy()
    if group_effects:
        r = fit.idata.posterior[f"r_school__{resp}"].sel({f"school__{resp}__coef": "Intercept"})
        levels = [str(v) for v in r["school__level"].values]
        index = [levels.index(str(s)) for s in SMALL["school"]]
        mu = mu + r.values.reshape(-1, len(levels))[:, index]
    return mu


def test_bayes_R2_per_response_is_brms_formula(mv) -> None:
    """R/bayes_R2.R: per draw var(ypred) / (var(ypred) + var(y - ypred)), ypred the response's epred."""
    table = mv.bayes_R2()
    assert table.index.tolist() == ["R2english", "R2math"]
    for resp in RESPONSES:
        ypred = _mu(mv, resp)
        e = SMALL[resp].to_numpy() - ypred
        r2 = ypred.var(axis=1, ddof=1) / (ypred.var(axis=1, ddof=1) + e.var(axis=1, ddof=1))
        np.testing.assert_allclose(table.loc[f"R2{resp}", "Estimate"], r2.mean(), rtol=1e-10)
        np.testing.assert_allclose(table.loc[f"R2{resp}", "Q97.5"], np.quantile(r2, 0.975), rtol=1e-10)
    draws = mv.bayes_R2(resp="math", summary=False)
    assert draws.columns.tolist() == ["R2math"] and len(draws) == 300


def test_loo_R2_weights_by_the_response_own_log_lik(mv) -> None:
    """R/loo_R2.R: PSIS weights of log_lik(fit, resp = r) (the response's normal density, not the
    joint one), E_loo of its epred, Bayesian-bootstrap R² per draw."""
    table = mv.loo_R2(seed=3)
    assert table.index.tolist() == ["R2english", "R2math"]
    for k, resp in enumerate(RESPONSES):
        y, mu = SMALL[resp].to_numpy(), _mu(mv, resp)
        ll = scipy.stats.norm(mu, _draws(mv, f"sigma_{resp}")[:, None]).logpdf(y)
        lw, _ = _psis(ll, relative_eff(ll.reshape(2, 150, -1)))
        err = (np.exp(lw.T) * mu).sum(axis=0) - y
        w = np.random.default_rng(3 + k).exponential(size=ll.shape)
        w /= w.sum(axis=1, keepdims=True)
        n = len(y)
        var_y = n / (n - 1) * (w @ y**2 - (w @ y) ** 2)
        var_e = n / (n - 1) * (w @ err**2 - (w @ err) ** 2)
        r2 = np.clip(1 - var_e / var_y, -1, 1)
        np.testing.assert_allclose(table.loc[f"R2{resp}", "Estimate"], r2.mean(), rtol=1e-8)


def test_pp_check_needs_one_resp(mv, close_figures) -> None:
    with pytest.raises(DataError, match="'resp' must be a single variable name"):
        mv.pp_check()
    with pytest.raises(DataError, match="resp='sci' is not a response"):
        mv.pp_check(resp="sci")
    figure = mv.pp_check(resp="math", type="stat", stat="mean", ndraws=20, seed=1)
    assert isinstance(figure, Figure)


def test_conditional_effects_names_and_values(mv) -> None:
    """brms's names (resp.resp_effect, effects outer, responses inner); the estimate is the
    median over draws of b_Intercept + b_craven * craven (re_formula = NA)."""
    ce = mv.conditional_effects(resolution=5)
    assert list(ce.data) == ["english.english_craven", "math.math_craven"]
    for resp in RESPONSES:
        frame = ce[f"{resp}.{resp}_craven"]
        grid = np.linspace(SMALL["craven"].min(), SMALL["craven"].max(), 5)
        np.testing.assert_allclose(frame["craven"], grid)
        mu = _draws(mv, f"b_{resp}_Intercept")[:, None] + _draws(mv, f"b_{resp}_craven")[:, None] * grid
        np.testing.assert_allclose(frame["estimate__"], np.median(mu, axis=0), rtol=1e-10)
        np.testing.assert_allclose(frame["lower__"], np.quantile(mu, 0.025, axis=0), rtol=1e-10)
    assert list(mv.conditional_effects(resp="math", resolution=3).data) == ["math.math_craven"]


def test_hypothesis_on_response_coefficients(mv) -> None:
    h = mv.hypothesis("math_craven - english_craven < 0").hypothesis
    diff = _draws(mv, "b_math_craven") - _draws(mv, "b_english_craven")
    np.testing.assert_allclose(h.loc[1, "Estimate"], diff.mean(), rtol=1e-10)
    np.testing.assert_allclose(h.loc[1, "Post.Prob"], (diff < 0).mean(), rtol=1e-10)


def test_saved_fit_loads_as_the_fit(mv, tmp_path) -> None:
    """save/load and brm(file=): an MvFit with the same summary, priors and predictions, loaded
    from the file without compiling anything."""
    path = mv.save(tmp_path / "mv.brmc")
    loaded = brmc.load(path)
    assert isinstance(loaded, MvFit) and loaded.responses == list(RESPONSES)
    assert str(loaded.summary()) == str(mv.summary())
    assert str(loaded.prior_summary()) == str(mv.prior_summary())
    np.testing.assert_array_equal(loaded.posterior_predict(seed=4), mv.posterior_predict(seed=4))
    np.testing.assert_array_equal(loaded.log_likelihood().values, mv.log_likelihood().values)
    with xla_compilations() as compiled, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cached = brmc.brm(FORMULA, SMALL, chains=2, iter=300, seed=5, progress=False, file=path,
                          file_refit="on_change")
    assert compiled == [] and isinstance(cached, MvFit)
    pd.testing.assert_frame_equal(cached.fitted(), mv.fitted())


def test_update_with_priors_by_resp_and_new_data(mv) -> None:
    """update() keeps the model: a new prior with resp, new data; fixed_param keeps it cheap."""
    prior = brmc.prior("normal(0, 0.5)", class_="b", resp="math")
    again = quiet(mv.update, prior=prior, newdata=SMALL.iloc[:150], algorithm="fixed_param", iter=20, chains=1)
    assert isinstance(again, MvFit) and again.nobs == 150
    table = again.prior_summary()
    row = table[(table["class"] == "b") & (table["resp"] == "math") & (table["coef"] == "")]
    assert row["prior"].tolist() == ["normal(0, 0.5)"]


def test_sample_prior_yes_draws_brms_names_and_priors(mv) -> None:
    """sample_prior = "yes": brms's names after the Stan parameters (prior_b_english, per coefficient
    for the response with a coefficient prior), each from its prior (KS tests against SciPy)."""
    priors = [brmc.prior("normal(0, 2)", class_="b"), brmc.prior("normal(1, 0.5)", class_="b", coef="craven", resp="math")]
    again = quiet(mv.update, prior=priors, sample_prior="yes", iter=2000, warmup=1000, chains=1,
                  algorithm="fixed_param")
    post = again.idata.posterior
    names = sorted(v for v in post.data_vars if str(v).startswith("prior_"))
    assert names == ["prior_Intercept_english", "prior_Intercept_math", "prior_b_english", "prior_b_math_craven",
                     "prior_cor_school", "prior_rescor", "prior_sd_school", "prior_sigma_english", "prior_sigma_math"]
    scale = next(p for p in again.priors.params if p.param == "sigma_math").dist.args[2]
    half_t = lambda x: 2 * scipy.stats.t(3, 0, scale).cdf(x) - 1  # noqa: E731  (student_t(3, 0, scale) cut at 0)
    for name, cdf in (("prior_b_english", scipy.stats.norm(0, 2).cdf), ("prior_b_math_craven", scipy.stats.norm(1, 0.5).cdf),
                      ("prior_rescor", scipy.stats.uniform(-1, 2).cdf), ("prior_sigma_math", half_t)):
        assert scipy.stats.kstest(post[name].values.ravel(), cdf).pvalue > 0.01, name
    evid = again.hypothesis("math_craven = 0").hypothesis.loc[1, "Evid.Ratio"]
    assert np.isfinite(evid) and evid >= 0


def test_heldout_log_lik_is_the_joint_density(mv) -> None:
    """kfold's held-out rows under a refit: each row's bivariate normal density (SciPy) of mu from the
    draws, diag(sigma) Rescor diag(sigma)."""
    rows = np.array([0, 7, 100])
    ll = mv_heldout_log_lik(mv, mv.model_data, rows, seed=1)
    mus = np.stack([_mu(mv, r)[:, rows] for r in RESPONSES], axis=-1)
    sigma = np.stack([_draws(mv, f"sigma_{r}") for r in RESPONSES], axis=-1)
    rho = _draws(mv, "rescor__english__math")
    Y = SMALL.loc[rows, list(RESPONSES)].to_numpy()
    for s in (0, 150, 299):
        cov = np.outer(sigma[s], sigma[s]) * np.array([[1, rho[s]], [rho[s], 1]])
        np.testing.assert_allclose(ll[s], [scipy.stats.multivariate_normal(mus[s, i], cov).logpdf(Y[i])
                                           for i in range(len(rows))], rtol=1e-9)


def test_kfold_refits_the_multivariate_model(mv) -> None:
    cheap = quiet(mv.update, algorithm="fixed_param", iter=20, chains=1)
    result = quiet(cheap.kfold, K=2, seed=1, progress=False)
    assert result.estimates.index.tolist() == ["elpd_kfold", "p_kfold", "kfoldic"]
    assert result.pointwise.shape[0] == len(SMALL) and np.isfinite(result.pointwise["elpd_kfold"]).all()
