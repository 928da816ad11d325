"""ar()/ma()/arma()/cosy() through brm(): brms 2.18's default priors, data, model density, names,
summary, pointwise log-likelihood and predictions, and the refusals.

brms's own numbers: the get_prior rows, prior summary and standata of ar_sleep, arma_sleep and
cosy_sleep (tests/reference/).  Where brms ran no fit (arma, ma, cosy, student), the model's density
and the post-processing are checked against independent computations written here with SciPy:
each series' multivariate normal (the regression ARMA's conditional covariance, compound
symmetry), brms's Stan loop transcribed, and the leave-one-out conditional densities from the
joint and marginal densities.  The agreement of the ar_sleep fit with brms's draws is in
tests/test_reference_fits.py (ar_sleep is one of conftest's FAMILY_FITS).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

import brmc
from brmc.autocor import TimeSeries
from brmc.errors import DataError, FamilyError, FormulaError
from brmc.terms.ac import _loo_density, time_predict

from .conftest import reference_csv, reference_standata, reference_text
from .test_autocor import _brms_stan_loop
from .test_reference_priors import _compare

SLEEP = brmc.datasets.load("sleepstudy")
AR = "Reaction ~ Days + (1 | Subject) + ar(time = Days, gr = Subject, p = 1)"
COSY = "Reaction ~ Days + cosy(time = Days, gr = Subject)"


def _shuffled() -> pd.DataFrame:
    return SLEEP.sample(frac=1.0, random_state=np.random.default_rng(3)).reset_index(drop=True)


def _fit(formula: str, family: str = "gaussian", data: pd.DataFrame | None = None) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(formula, SLEEP if data is None else data, family=family, chains=2, iter=400, seed=11,
                        progress=False)


@pytest.fixture(scope="module")
def ar_fit() -> brmc.Fit:
    """ar_sleep, small, on sleepstudy in a random row order (brms's order must be restored)."""
    return _fit(AR, data=_shuffled())


@pytest.fixture(scope="module")
def arma_student_fit() -> brmc.Fit:
    return _fit("Reaction ~ Days + arma(time = Days, gr = Subject, p = 2, q = 1)", "student")


# --------------------------------------------------------------------------- priors and data against brms


def test_default_priors_equal_brms() -> None:
    _compare(brmc.get_prior(AR, _shuffled()), reference_csv("ar_sleep", "get_prior.csv"))
    for case in ("arma_sleep", "cosy_sleep"):
        rows = reference_csv(case, "default_priors2.csv")
        _compare(brmc.get_prior(rows["formula"].iloc[0], SLEEP), rows)


@pytest.mark.parametrize("case, formula", [
    ("ar_sleep", AR),
    ("arma_sleep", "Reaction ~ Days + arma(time = Days, gr = Subject, p = 1, q = 1)"),
    ("cosy_sleep", COSY),
])
def test_model_data_in_brms_order_equal_its_standata(case: str, formula: str) -> None:
    standata = reference_standata(case)
    md = brmc.data.build_data(brmc.parse_formula(formula), _shuffled(), brmc.get_family("gaussian"))
    np.testing.assert_array_equal(md.y, standata["Y"])
    np.testing.assert_array_equal(md.predictors["mu"].X[:, 1], standata["X"][:, 1])
    part = md.predictors["mu"].parts["ac"]
    for key in {"Kar", "Kma", "J_lag", "N_tg", "begin_tg", "nobs_tg", "end_tg"} & set(standata):
        np.testing.assert_array_equal(np.ravel(part.data[key]), np.ravel(standata[key]), err_msg=key)


def test_prior_summary_prints_as_brms(ar_fit: brmc.Fit) -> None:
    assert str(ar_fit.prior_summary()) == reference_text("ar_sleep", "prior_summary.txt").rstrip("\n")


def test_stan_parameters_as_brms_declares_them() -> None:
    """brms 2.18 declares ``vector[Kar] ar`` and ``vector[Kma] ma`` unbounded, ``cosy`` in [0, 1]."""
    assert "vector[Kar] ar;" in reference_text("ar_sleep", "stancode.stan")
    assert "vector[Kma] ma;" in reference_text("arma_sleep", "stancode.stan")
    assert "real<lower=0,upper=1> cosy;" in reference_text("cosy_sleep", "stancode.stan")
    spec = brmc.priors.resolve_priors(brmc.data.build_data(brmc.parse_formula(COSY), SLEEP, brmc.get_family("gaussian")))
    assert spec.bounds("cosy") == (0.0, 1.0)
    model = brmc.make_model("Reaction ~ Days + arma(time = Days, gr = Subject)", SLEEP).model
    assert {"ar", "ma"} <= {v.name for v in model.value_vars}  # no transform: unbounded


def test_user_priors_on_ar_and_cosy() -> None:
    """A prior on class ar applies to every coefficient; beta() fits cosy's [0, 1] (its upper bound is the class's)."""
    md = brmc.data.build_data(brmc.parse_formula("Reaction ~ ar(time = Days, gr = Subject, p = 2)"), SLEEP,
                              brmc.get_family("gaussian"))
    spec = brmc.priors.resolve_priors(md, [brmc.prior("normal(0, 0.5)", class_="ar")])
    ar = [p for p in spec.params if p.param == "ar"]
    assert [(p.position, str(p.dist), p.lb, p.ub) for p in ar] == [(0, "normal(0, 0.5)", None, None),
                                                                   (1, "normal(0, 0.5)", None, None)]
    md = brmc.data.build_data(brmc.parse_formula(COSY), SLEEP, brmc.get_family("gaussian"))
    spec = brmc.priors.resolve_priors(md, [brmc.prior("beta(2, 2)", class_="cosy")])
    assert [(str(p.dist), p.lb, p.ub, p.source) for p in spec.params if p.param == "cosy"] == [("beta(2, 2)", 0.0, 1.0, "user")]


# --------------------------------------------------------------------------- the model's density


def _subjects() -> list[np.ndarray]:
    codes = SLEEP["Subject"].astype(str).to_numpy()
    return [np.flatnonzero(codes == s) for s in dict.fromkeys(codes)]


def _loglik_fn(formula: str, family: str = "gaussian"):
    model = brmc.make_model(formula, SLEEP, family=family).model
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    return model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore"), model


@pytest.mark.parametrize("family", ["gaussian", "student"])
def test_cosy_density_is_each_subjects_multivariate_density(family: str) -> None:
    fn, model = _loglik_fn(COSY, family)
    icpt, b, cosy, sigma, nu = 290.0, 9.5, 0.6, 40.0, 5.0
    point = {"Intercept": np.array(icpt), "b": np.array([b]), "cosy_interval__": np.array(np.log(cosy / (1 - cosy))),
             "sigma_log__": np.array(np.log(sigma))}
    if family == "student":
        point["nu_interval__"] = np.array(np.log(nu - 1))  # nu > 1
    assert set(point) == {v.name for v in model.value_vars}
    days, y = SLEEP["Days"].to_numpy(float), SLEEP["Reaction"].to_numpy()
    mu = icpt + b * (days - days.mean())
    expected = 0.0
    for rows in _subjects():
        cov = sigma**2 * (np.full((10, 10), cosy) + (1 - cosy) * np.eye(10))
        dist = (scipy.stats.multivariate_normal(mu[rows], cov) if family == "gaussian"
                else scipy.stats.multivariate_t(mu[rows], cov, df=nu))
        expected += dist.logpdf(y[rows])
    np.testing.assert_allclose(fn(point), expected, rtol=1e-10)


def test_arma_density_is_the_conditional_multivariate_normal() -> None:
    """Regression ARMA(1, 1): y_g - mu_g ~ N(0, (I - A)^-1 (I + M) s^2 (I + M)' (I - A)^-T) per subject."""
    fn, _ = _loglik_fn("Reaction ~ Days + arma(time = Days, gr = Subject, p = 1, q = 1)")
    icpt, b, ar, ma, sigma = 290.0, 9.5, 0.7, -0.3, 30.0
    point = {"Intercept": np.array(icpt), "b": np.array([b]), "ar": np.array([ar]), "ma": np.array([ma]),
             "sigma_log__": np.array(np.log(sigma))}
    days, y = SLEEP["Days"].to_numpy(float), SLEEP["Reaction"].to_numpy()
    resid = y - icpt - b * (days - days.mean())
    shift = np.eye(10, k=-1)
    left = np.linalg.solve(np.eye(10) - ar * shift, np.eye(10) + ma * shift)
    cov = sigma**2 * left @ left.T
    expected = sum(scipy.stats.multivariate_normal(np.zeros(10), cov).logpdf(resid[rows]) for rows in _subjects())
    np.testing.assert_allclose(fn(point), expected, rtol=1e-10)


# --------------------------------------------------------------------------- names, summary, post-processing


def test_draws_names_and_summary_section(ar_fit: brmc.Fit) -> None:
    assert list(ar_fit.idata.posterior.data_vars)[:5] == ["b_Intercept", "b_Days", "ar[1]", "sd_Subject__Intercept",
                                                          "sigma"]
    text = str(ar_fit.summary()).splitlines()
    start = text.index("Correlation Structures:")
    assert text[start + 1].split() == ["Estimate", "Est.Error", "l-95%", "CI", "u-95%", "CI", "Rhat", "Bulk_ESS",
                                       "Tail_ESS"]
    assert text[start + 2].startswith("ar[1] ") and text[start + 4] == "Group-Level Effects: "
    np.testing.assert_array_equal(ar_fit.data["Subject"].astype(str), SLEEP["Subject"].astype(str))  # brms's order


def test_epred_and_log_lik_condition_on_the_observed_residuals(arma_student_fit: brmc.Fit) -> None:
    fit = arma_student_fit
    md, post = fit.model_data, fit.idata.posterior
    j_lag = md.predictors["mu"].parts["ac"].data["J_lag"]
    epred, ll = fit.fitted(summary=False), fit.log_likelihood().values.reshape(-1, md.nobs)
    linpred = fit.posterior_linpred()
    flat = {n: post[n].values.reshape(-1) for n in ("b_Intercept", "b_Days", "ar[1]", "ar[2]", "ma[1]", "sigma", "nu")}
    days, y = md.frame["Days"].to_numpy(float), md.y
    for s in (0, 57, 399):
        eta = flat["b_Intercept"][s] + flat["b_Days"][s] * days
        mu = _brms_stan_loop(y, eta, np.array([flat["ar[1]"][s], flat["ar[2]"][s]]), np.array([flat["ma[1]"][s]]), j_lag)
        # 1e-8: on CI's machine (2026-12-02, a fit whose chains had not mixed, Rhat 2.2) 2 of 180 values were
        # 1.2e-10 apart, 3e-8 ms, one rounding of an intermediate near 1e8; a wrong recursion is off by far more
        np.testing.assert_allclose(epred[s], mu, rtol=1e-8)
        np.testing.assert_allclose(linpred[s], mu, rtol=1e-8)
        np.testing.assert_allclose(ll[s], scipy.stats.t.logpdf(y, flat["nu"][s], mu, flat["sigma"][s]), rtol=1e-9)
    draws = fit.posterior_predict(seed=3)
    z = (draws - epred) / flat["sigma"][:, None]
    assert abs(np.median(z)) < 0.05 and 0.5 < np.median(np.abs(z)) < 0.9  # student-t around mu, not around eta


@pytest.mark.parametrize("family", ["gaussian", "student"])
def test_cosy_log_lik_is_each_rows_density_given_its_series(family: str) -> None:
    """brms's log_lik_gaussian_time/log_lik_student_time: log p(y_i | y_-i) = log p(y) - log p(y_-i)."""
    rng = np.random.default_rng(5)
    n, nu = 6, 4.5
    e = rng.normal(size=(2, n)) * 3
    sd = rng.uniform(1, 3, n)
    cov = np.outer(sd, sd) * (np.full((n, n), 0.45) + 0.55 * np.eye(n))
    ours = _loo_density(e, np.linalg.inv(cov)[None], None if family == "gaussian" else np.full((2, n), nu))
    for k in range(2):
        for i in range(n):
            keep = np.delete(np.arange(n), i)
            if family == "gaussian":
                full = scipy.stats.multivariate_normal(np.zeros(n), cov).logpdf(e[k])
                rest = scipy.stats.multivariate_normal(np.zeros(n - 1), cov[np.ix_(keep, keep)]).logpdf(e[k, keep])
            else:
                full = scipy.stats.multivariate_t(np.zeros(n), cov, df=nu).logpdf(e[k])
                rest = scipy.stats.multivariate_t(np.zeros(n - 1), cov[np.ix_(keep, keep)], df=nu).logpdf(e[k, keep])
            np.testing.assert_allclose(ours[k, i], full - rest, rtol=1e-10)


def test_cosy_fit_post_processing() -> None:
    fit = _fit(COSY, "student")
    assert "cosy" in fit.summary_tables().autocor.index
    md, post = fit.model_data, fit.idata.posterior
    ll = fit.log_likelihood().values.reshape(-1, md.nobs)
    eta = fit.posterior_linpred()
    s = 123
    cosy, sigma, nu = (float(post[n].values.reshape(-1)[s]) for n in ("cosy", "sigma", "nu"))
    cov = sigma**2 * (np.full((10, 10), cosy) + (1 - cosy) * np.eye(10))
    rows = np.arange(10, 20)  # the second subject
    full = scipy.stats.multivariate_t(eta[s, rows], cov, df=nu).logpdf(md.y[rows])
    rest = scipy.stats.multivariate_t(eta[s, rows[1:]], cov[1:, 1:], df=nu).logpdf(md.y[rows[1:]])
    np.testing.assert_allclose(ll[s, rows[0]], full - rest, rtol=1e-9)
    assert fit.loo().estimates.shape[0] == 3
    np.testing.assert_allclose(fit.fitted(summary=False), eta)  # mu without a residual part
    new = fit.data.sample(frac=1.0, random_state=2)  # new data in any order: each series drawn jointly, as brms
    np.testing.assert_allclose(fit.posterior_predict(newdata=new, seed=4),
                               fit.posterior_predict(seed=4)[:, new.index.to_numpy()], rtol=1e-12)


def test_cosy_predictions_are_correlated_within_series() -> None:
    md = brmc.data.build_data(brmc.parse_formula(COSY), SLEEP, brmc.get_family("gaussian"))
    draws = 4000
    post = xr.Dataset({"cosy": (("chain", "draw"), np.full((1, draws), 0.7))})
    out = time_predict(md, None, np.zeros((draws, 180)), {"sigma": np.full((draws, 1), 2.0)}, post,
                       np.arange(draws), np.random.default_rng(1))
    within = np.corrcoef(out[:, 0], out[:, 5])[0, 1]
    between = np.corrcoef(out[:, 0], out[:, 15])[0, 1]
    assert abs(within - 0.7) < 0.04 and abs(between) < 0.05 and abs(out.std() - 2.0) < 0.05
    assert isinstance(md.predictors["mu"].parts["ac"].series, TimeSeries)


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("formula, family, error, message", [
    ("Reaction ~ Days + ar(gr = Subject)", "gaussian", FormulaError,
     r"ar\(gr = Subject\) has no time variable.*ar\(time = Days, gr = Subject\)"),
    ("round(Reaction) ~ Days + ar(time = Days, gr = Subject)", "poisson", FamilyError,
     r"ar\(time = Days, gr = Subject\) with family 'poisson' needs brms's latent residuals"),
    ("Reaction ~ Days + cosy(time = Days, gr = Subject)", "lognormal", FamilyError, "family 'lognormal'"),
    ("Reaction ~ ar(time = Days, gr = Subject) + ma(time = Days, gr = Subject)", "gaussian", FormulaError,
     "Can only model one term per autocorrelation class"),
    ("Reaction ~ ar(time = Days, gr = Subject) + cosy(time = Days, gr = Subject)", "gaussian", FormulaError,
     "Can only model one time-series term"),
    ("Reaction ~ arma(time = Days, gr = Subject, cov = TRUE)", "gaussian", FormulaError, r"cov = TRUE\) is not supported"),
    ("Reaction ~ ar(time = Days)", "gaussian", DataError, r"Time points within groups must be unique \(ar\(time = Days\)\)"),
    ("Reaction ~ ar(time = Days, gr = Patient)", "gaussian", DataError, "'Patient'"),
])
def test_refusals_name_the_term(formula: str, family: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        brmc.get_prior(formula, SLEEP, family=family)


def test_refusals_of_link_dpar_and_additions() -> None:
    with pytest.raises(FamilyError, match="needs the identity link of mu; family 'gaussian' has link 'log'"):
        brmc.get_prior("Reaction ~ ar(time = Days, gr = Subject)", SLEEP, family=brmc.get_family("gaussian", "log"))
    with pytest.raises(FormulaError, match="only be specified on 'mu', not in the formula of 'sigma'"):
        brmc.get_prior(brmc.bf("Reaction ~ Days", sigma="~ ar(time = Days, gr = Subject)"), SLEEP)
    with pytest.raises(DataError, match="Invalid addition arguments"):
        brmc.make_model("Reaction | weights(Days) ~ cosy(time = Days, gr = Subject)", SLEEP)


def test_incl_autocor_false_leaves_the_arma_part_out(ar_fit: brmc.Fit) -> None:
    """brms's incl_autocor = FALSE (what conditional_effects uses): mu is the predictor without the ARMA terms."""
    post = ar_fit.idata.posterior
    days = ar_fit.model_data.frame["Days"].to_numpy(float)
    eta = post["b_Intercept"].values.reshape(-1, 1) + post["b_Days"].values.reshape(-1, 1) * days
    np.testing.assert_allclose(ar_fit.posterior_epred(re_formula=False, incl_autocor=False), eta, rtol=1e-10)
    effects = brmc.conditional_effects(ar_fit, "Days", re_formula=False)["Days"]
    grid = post["b_Intercept"].values.reshape(-1, 1) + post["b_Days"].values.reshape(-1, 1) * effects["Days"].to_numpy()
    np.testing.assert_allclose(effects["estimate__"], np.median(grid, axis=0), rtol=1e-10)


def test_new_data_is_refused_naming_the_term(ar_fit: brmc.Fit) -> None:
    with pytest.raises(DataError, match=r"new data are not supported .* ar\(time = Days, gr = Subject, p = 1\)"):
        ar_fit.fitted(newdata=SLEEP.head(3))
