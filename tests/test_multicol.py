"""multinomial and dirichlet: brms's families of a ``cbind(y1, y2, y3)`` response matrix.

No brms fits of these families exist here (R is not available), so the checks are against
independent computations: SciPy's multinomial and dirichlet densities at the posterior draws,
the softmax written in the test, and recovery of the coefficients of data simulated with NumPy.
The default priors are derived from brms 2.18's code (``def_dprior`` and ``def_scale_prior``: with
``conv_cats_dpars`` the intercepts take ``student_t(3, 0, 2.5)``, the dirichlet's ``phi``
``gamma(0.01, 0.01)``; the class rows shared by all categories stay flat).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import brmc
from brmc.errors import BrmsError, DataError, FamilyError

N = 150
TRUE = {"mu2": (0.5, 1.0), "mu3": (-0.5, -0.5)}  # (intercept, slope on x) of categories 2 and 3


def _eta(x: np.ndarray) -> np.ndarray:
    return np.stack([np.zeros_like(x)] + [a + b * x for a, b in TRUE.values()], axis=-1)


@pytest.fixture(scope="module")
def counts() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    x = rng.normal(size=N)
    size = rng.integers(5, 20, size=N)
    y = np.array([rng.multinomial(n, p) for n, p in zip(size, special.softmax(_eta(x), axis=-1))])
    return pd.DataFrame({"y1": y[:, 0], "y2": y[:, 1], "y3": y[:, 2], "size": size, "x": x})


@pytest.fixture(scope="module")
def shares() -> pd.DataFrame:
    rng = np.random.default_rng(12)
    x = rng.normal(size=N)
    y = np.array([rng.dirichlet(a) for a in special.softmax(_eta(x), axis=-1) * 20.0])
    return pd.DataFrame({"p1": y[:, 0], "p2": y[:, 1], "p3": y[:, 2], "x": x})


@pytest.fixture(scope="module")
def multinomial_fit(counts):
    return brmc.brm("cbind(y1, y2, y3) | trials(size) ~ x", counts, family="multinomial", chains=2, iter=500, seed=3)


@pytest.fixture(scope="module")
def dirichlet_fit(shares):
    return brmc.brm("cbind(p1, p2, p3) ~ x", shares, family="dirichlet", chains=2, iter=500, seed=3)


def _draws_eta(fit, cats: list[str], x: np.ndarray) -> np.ndarray:
    """(draws, rows, categories) linear predictors from the posterior's brms-named coefficients."""
    post = fit.idata.posterior
    flat = lambda name: post[name].values.reshape(-1)
    parts = [np.zeros((flat(f"b_mu{cats[1]}_x").size, x.size))]
    parts += [flat(f"b_mu{c}_Intercept")[:, None] + flat(f"b_mu{c}_x")[:, None] * x for c in cats[1:]]
    return np.stack(parts, axis=-1)


def _recovered(fit, cats: list[str]) -> None:
    post = fit.idata.posterior
    for cat, (a, b) in zip(cats[1:], TRUE.values()):
        for name, truth in [(f"b_mu{cat}_Intercept", a), (f"b_mu{cat}_x", b)]:
            draws = post[name].values
            assert abs(draws.mean() - truth) < 3.5 * draws.std(), (name, draws.mean(), draws.std())


def test_multinomial_recovers_the_simulated_coefficients(multinomial_fit) -> None:
    _recovered(multinomial_fit, ["y1", "y2", "y3"])
    text = str(multinomial_fit.summary())
    assert "Links: muy2 = logit; muy3 = logit" in text and "muy2_Intercept" in text and "muy3_x" in text


def test_multinomial_log_lik_and_epred_are_scipys_and_the_softmax(multinomial_fit, counts) -> None:
    eta = _draws_eta(multinomial_fit, ["y1", "y2", "y3"], counts["x"].to_numpy())
    p = np.exp(eta - eta.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    y = counts[["y1", "y2", "y3"]].to_numpy()
    ll = multinomial_fit.log_likelihood().values.reshape(eta.shape[:2])
    rows = [0, 7, N - 1]
    expect = np.array([[stats.multinomial.logpmf(y[i], counts["size"][i], p[s, i]) for i in rows] for s in range(5)])
    np.testing.assert_allclose(ll[:5, rows], expect, rtol=1e-8)
    epred = multinomial_fit.posterior_epred()
    np.testing.assert_allclose(epred, p * counts["size"].to_numpy()[None, :, None], rtol=1e-8)
    assert list(multinomial_fit.fitted().columns.get_level_values(0).unique()) == [
        "P(Y = y1)", "P(Y = y2)", "P(Y = y3)"]


def test_multinomial_draws_add_up_to_the_trials(multinomial_fit, counts) -> None:
    draws = multinomial_fit.posterior_predict(ndraws=20, seed=1)
    assert draws.shape == (20, N, 3)
    np.testing.assert_array_equal(draws.sum(axis=-1), np.broadcast_to(counts["size"].to_numpy(), (20, N)))
    table = multinomial_fit.predict(ndraws=50, seed=1)
    assert list(table.columns.get_level_values(0).unique()) == ["y1", "y2", "y3"]


def test_dirichlet_recovers_and_matches_scipy(dirichlet_fit, shares) -> None:
    _recovered(dirichlet_fit, ["p1", "p2", "p3"])
    phi = dirichlet_fit.idata.posterior["phi"].values.reshape(-1)
    assert abs(phi.mean() - 20.0) < 3.5 * phi.std()
    eta = _draws_eta(dirichlet_fit, ["p1", "p2", "p3"], shares["x"].to_numpy())
    p = special.softmax(eta, axis=-1)
    y = shares[["p1", "p2", "p3"]].to_numpy()
    ll = dirichlet_fit.log_likelihood().values.reshape(eta.shape[:2])
    rows = [0, 3, N - 1]
    expect = np.array([[stats.dirichlet.logpdf(y[i], p[s, i] * phi[s]) for i in rows] for s in range(5)])
    np.testing.assert_allclose(ll[:5, rows], expect, rtol=1e-8)
    np.testing.assert_allclose(dirichlet_fit.posterior_epred(), p, rtol=1e-8)
    draws = dirichlet_fit.posterior_predict(ndraws=10, seed=2)
    assert draws.shape == (10, N, 3) and np.allclose(draws.sum(axis=-1), 1.0) and (draws > 0).all()
    assert "Links: mup2 = logit; mup3 = logit; phi = identity" in str(dirichlet_fit.summary())


def test_default_priors_follow_brms_code(counts, shares) -> None:
    """brms 2.18's rules (see the module docstring); no brms grid rows exist for these families."""
    table = brmc.get_prior("cbind(p1, p2, p3) ~ x", shares, family="dirichlet")
    rows = [tuple(r) for r in table[["prior", "class", "coef", "dpar", "lb"]].itertuples(index=False)]
    assert rows == [
        ("", "b", "", "", ""), ("", "Intercept", "", "", ""),
        ("gamma(0.01, 0.01)", "phi", "", "", "0"),
        ("", "b", "", "mup2", ""), ("", "b", "x", "mup2", ""),
        ("student_t(3, 0, 2.5)", "Intercept", "", "mup2", ""),
        ("", "b", "", "mup3", ""), ("", "b", "x", "mup3", ""),
        ("student_t(3, 0, 2.5)", "Intercept", "", "mup3", ""),
    ]
    table = brmc.get_prior("cbind(y1, y2, y3) | trials(size) ~ x", counts,
                           family=brmc.get_family("multinomial", refcat="y2"))
    assert sorted(set(table["dpar"]) - {""}) == ["muy1", "muy3"]


def test_family_log_lik_at_fixed_values() -> None:
    """The records themselves, at fixed linear predictors (two draws, two rows)."""
    eta = np.array([[[0.0, 0.3, -1.2], [0.0, 2.0, 0.5]], [[0.0, -0.4, 0.1], [0.0, 0.0, 0.0]]])
    p = special.softmax(eta, axis=-1)
    y = np.array([[2.0, 3.0, 0.0], [1.0, 1.0, 4.0]])
    trials = np.array([5.0, 6.0])
    ll = brmc.get_family("multinomial").log_lik(y, eta, {}, {"trials": trials})
    expect = [[stats.multinomial.logpmf(y[i], int(trials[i]), p[s, i]) for i in range(2)] for s in range(2)]
    np.testing.assert_allclose(ll, expect, rtol=1e-10)
    shares = np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    phi = np.array([[4.0], [9.0]])
    ll = brmc.get_family("dirichlet").log_lik(shares, eta, {"phi": phi}, {})
    expect = [[stats.dirichlet.logpdf(shares[i], p[s, i] * phi[s, 0]) for i in range(2)] for s in range(2)]
    np.testing.assert_allclose(ll, expect, rtol=1e-10)


@pytest.mark.parametrize("formula, family, change, error, words", [
    ("cbind(y1, y2, y4) | trials(size) ~ x", "multinomial", None, DataError, ["'y4'", "not in the data"]),
    ("cbind(y1, y2, y3) | trials(size) ~ x", "multinomial", ("y2", 0, 1.5), DataError,
     ["whole numbers", "column 'y2' in row 1", "1.5"]),
    ("cbind(y1, y2, y3) | trials(size) ~ x", "multinomial", ("y3", 4, -1.0), DataError,
     ["non-negative", "row 5"]),
    ("cbind(y1, y2, y3) ~ x", "multinomial", None, DataError, ["needs the number of trials", "brms 2.18"]),
    ("cbind(y1, y2, y3) | trials(size) ~ x", "multinomial", ("size", 2, 100), DataError,
     ["add up to trials()", "row 3"]),
    ("cbind(y1, y2, y3) ~ x", "gaussian", None, FamilyError,
     ["family 'gaussian'", "multinomial, dirichlet"]),
    ("cbind(y1, y2) | trials(size) ~ x", "binomial", None, FamilyError,
     ["family 'binomial'", "successes | trials(n)"]),
    ("y1 | trials(size) ~ x", "multinomial", None, FamilyError, ["needs a response matrix", "cbind("]),
    ("cbind(y1, y1, y2) | trials(size) ~ x", "multinomial", None, DataError, ["two different columns"]),
    ("cbind(p1, p2, p3) ~ x", "dirichlet", ("p2", 9, 0.9), DataError, ["sum to 1", "row 10"]),
    ("cbind(p1, p2, p3) ~ x", "dirichlet", ("p1", 1, 0.0), DataError, ["strictly between 0 and 1", "row 2"]),
    ("cbind(p1, p2, g) ~ x", "dirichlet", None, DataError, ["numeric", "'g'"]),
])
def test_bad_matrix_responses_are_named(counts, shares, formula, family, change, error, words) -> None:
    data = (counts if "y1" in formula else shares).assign(g="a").copy()
    if change is not None:
        column, row, value = change
        data[column] = data[column].astype(float)
        data.loc[row, column] = value
    with pytest.raises(error) as err:
        brmc.get_prior(formula, data, family=family)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_matrix_families_are_no_mixture_components() -> None:
    with pytest.raises(FamilyError, match="dirichlet"):
        brmc.mixture("dirichlet", "dirichlet")


def test_an_unknown_refcat_is_named(shares) -> None:
    with pytest.raises(DataError, match="refcat='p9' is not a column"):
        brmc.get_prior("cbind(p1, p2, p3) ~ x", shares, family=brmc.get_family("dirichlet", refcat="p9"))


def test_cbind_of_expressions_keeps_lme4s_hint() -> None:
    with pytest.raises(BrmsError, match=r"m \| trials\(n\)"):
        brmc.parse_formula("cbind(m, n - m) ~ 1")
    assert brmc.parse_formula("cbind(a, b) | trials(n) ~ x").response == "cbind(a, b)"


def test_group_level_terms_and_predicted_phi(shares) -> None:
    data = shares.assign(g=np.repeat(list("abcde"), N // 5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = brmc.get_prior(brmc.bf("cbind(p1, p2, p3) ~ x + (1 | g)", phi="~ x"), data, family="dirichlet")
    assert {"mup2", "mup3", "phi"} <= set(table["dpar"])
    assert ("sd", "g", "mup3") in {(r["class"], r["group"], r["dpar"]) for _, r in table.iterrows()}


# --------------------------------------------------------------------------- logistic_normal
SIGMA, RHO = np.array([0.6, 0.9]), 0.5


@pytest.fixture(scope="module")
def ratios() -> pd.DataFrame:
    """Rows on the simplex whose log ratios to p1 are bivariate normal (means TRUE's, sds SIGMA, correlation RHO)."""
    rng = np.random.default_rng(13)
    x = rng.normal(size=N)
    cov = np.diag(SIGMA) @ np.array([[1.0, RHO], [RHO, 1.0]]) @ np.diag(SIGMA)
    z = _eta(x)[:, 1:] + rng.multivariate_normal(np.zeros(2), cov, size=N)
    y = special.softmax(np.column_stack([np.zeros(N), z]), axis=1)
    return pd.DataFrame({"p1": y[:, 0], "p2": y[:, 1], "p3": y[:, 2], "x": x})


@pytest.fixture(scope="module")
def logistic_normal_fit(ratios):
    return brmc.brm("cbind(p1, p2, p3) ~ x", ratios, family="logistic_normal", chains=2, iter=400, seed=3)


def _logistic_normal_logpdf(y: np.ndarray, mu: np.ndarray, sigma: np.ndarray, rho: float) -> float:
    """brms's dlogistic_normal, written out: the normal density of log(y[1:] / y[0]) minus sum(log(y))."""
    cov = np.diag(sigma) @ np.array([[1.0, rho], [rho, 1.0]]) @ np.diag(sigma)
    return stats.multivariate_normal.logpdf(np.log(y[1:] / y[0]), mu, cov) - np.log(y).sum()


def test_logistic_normal_recovers_means_sds_and_the_correlation(logistic_normal_fit) -> None:
    _recovered(logistic_normal_fit, ["p1", "p2", "p3"])
    post = logistic_normal_fit.idata.posterior
    for name, truth in [("sigmap2", SIGMA[0]), ("sigmap3", SIGMA[1]), ("lncor__p2__p3", RHO)]:
        draws = post[name].values
        assert abs(draws.mean() - truth) < 3.5 * draws.std(), (name, draws.mean(), draws.std())
    text = str(logistic_normal_fit.summary())
    assert "Links: mup2 = identity; mup3 = identity; sigmap2 = identity; sigmap3 = identity" in text
    assert "lncor(p2,p3)" in text


def test_logistic_normal_log_lik_is_the_written_density(logistic_normal_fit, ratios) -> None:
    eta = _draws_eta(logistic_normal_fit, ["p1", "p2", "p3"], ratios["x"].to_numpy())
    post = logistic_normal_fit.idata.posterior
    flat = {n: post[n].values.reshape(-1) for n in ("sigmap2", "sigmap3", "lncor__p2__p3")}
    y = ratios[["p1", "p2", "p3"]].to_numpy()
    ll = logistic_normal_fit.log_likelihood().values.reshape(eta.shape[:2])
    rows = [0, 5, N - 1]
    expect = [[_logistic_normal_logpdf(y[i], eta[s, i, 1:], np.array([flat["sigmap2"][s], flat["sigmap3"][s]]),
                                       flat["lncor__p2__p3"][s]) for i in rows] for s in range(5)]
    np.testing.assert_allclose(ll[:5, rows], expect, rtol=1e-8)
    draws = logistic_normal_fit.posterior_predict(ndraws=10, seed=4)
    assert draws.shape == (10, N, 3) and np.allclose(draws.sum(axis=-1), 1.0) and (draws > 0).all()
    with pytest.raises(FamilyError, match="Cannot compute expected values"):
        logistic_normal_fit.posterior_epred()


def test_logistic_normal_draws_have_the_simulated_log_ratios() -> None:
    """posterior_predict's random draws: the log ratios' means, sds and correlation are the parameters'."""
    fam = brmc.categories.with_categories(brmc.get_family("logistic_normal", refcat="p2"), ["p1", "p2", "p3"])
    eta = np.array([0.3, 0.0, -1.0])  # p2 the reference
    dpars = {"sigmap1": np.array(0.5), "sigmap3": np.array(1.5), "lncor": np.array([[1.0, 0.0], [-0.6, 0.8]])}
    y = fam.rng(np.broadcast_to(eta, (20000, 3)), dpars, np.random.default_rng(5))
    z = np.log(y[:, [0, 2]] / y[:, [1]])
    np.testing.assert_allclose(z.mean(axis=0), [0.3, -1.0], atol=0.03)
    np.testing.assert_allclose(z.std(axis=0), [0.5, 1.5], rtol=0.03)
    assert np.corrcoef(z.T)[0, 1] == pytest.approx(-0.6, abs=0.02)


def test_logistic_normal_priors_and_options(ratios) -> None:
    table = brmc.get_prior("cbind(p1, p2, p3) ~ x", ratios, family=brmc.get_family("logistic_normal", refcat="p2"))
    rows = {(r["prior"], r["class"], r["dpar"], r["lb"]) for _, r in table.iterrows()}
    assert {("lkj(1)", "lncor", "", ""), ("student_t(3, 0, 2.5)", "sigmap1", "", "0"),
            ("student_t(3, 0, 2.5)", "sigmap3", "", "0"), ("student_t(3, 0, 2.5)", "Intercept", "mup3", "")} <= rows
    table = brmc.get_prior(brmc.bf("cbind(p1, p2, p3) ~ x", sigmap3="~ x"), ratios, family="logistic_normal")
    assert ("student_t(3, 0, 2.5)", "Intercept", "sigmap3", "") in {
        (r["prior"], r["class"], r["dpar"], r["lb"]) for _, r in table.iterrows()}
    with pytest.raises(brmc.errors.PriorError, match="lncor"):
        brmc.make_model("cbind(p1, p2, p3) ~ x", ratios, family="logistic_normal",
                        prior=brmc.prior("normal(0, 1)", class_="lncor"))
    two = brmc.make_model("cbind(p1, p2) ~ x", ratios.assign(p2=1 - ratios["p1"]), family="logistic_normal")
    assert sorted(v.name for v in two.model.free_RVs) == ["Intercept_mup2", "b_mup2", "sigmap2"]


# --------------------------------------------------------------------------- downstream, as brms 2.18's
FITS = {"multinomial": ("multinomial_fit", "counts", ["y1", "y2", "y3"]),
        "dirichlet": ("dirichlet_fit", "shares", ["p1", "p2", "p3"]),
        "logistic_normal": ("logistic_normal_fit", "ratios", ["p1", "p2", "p3"])}


@pytest.mark.parametrize("family", list(FITS))
def test_pp_check_of_a_matrix_response_is_refused_as_brms(request, family) -> None:
    """brms's pp_check: ``if (has_multicol(family)) stop2("'pp_check' is not implemented for this family.")``."""
    fit = request.getfixturevalue(FITS[family][0])
    with pytest.raises(DataError, match=f"'pp_check' is not implemented for family '{family}'"):
        fit.pp_check()


def _log_lik(family: str, fit, data: pd.DataFrame, cats: list[str]) -> np.ndarray:
    """Every draw's pointwise log-likelihood, written in the test: SciPy's multinomial, the dirichlet density
    and the bivariate normal of the log ratios (brms's dlogistic_normal), each over all draws at once."""
    eta = _draws_eta(fit, cats, data["x"].to_numpy())
    y = data[cats].to_numpy()
    if family == "multinomial":
        return stats.multinomial.logpmf(y, data["size"].to_numpy(), special.softmax(eta, axis=-1))
    post = fit.idata.posterior
    if family == "dirichlet":
        a = special.softmax(eta, axis=-1) * post["phi"].values.reshape(-1)[:, None, None]
        return (special.gammaln(a.sum(axis=-1)) - special.gammaln(a).sum(axis=-1)
                + ((a - 1) * np.log(y)).sum(axis=-1))
    s1, s2, rho = (post[n].values.reshape(-1)[:, None] for n in ("sigmap2", "sigmap3", "lncor__p2__p3"))
    z1, z2 = ((np.log(y[:, k] / y[:, 0]) - eta[..., k]) / s for k, s in ((1, s1), (2, s2)))
    q = (z1**2 - 2 * rho * z1 * z2 + z2**2) / (1 - rho**2)
    return -q / 2 - np.log(2 * np.pi * s1 * s2 * np.sqrt(1 - rho**2)) - np.log(y).sum(axis=-1)


@pytest.mark.parametrize("family", list(FITS))
def test_loo_is_that_of_the_written_log_lik(request, family) -> None:
    name, data, cats = FITS[family]
    fit = request.getfixturevalue(name)
    ll = _log_lik(family, fit, request.getfixturevalue(data), cats)
    np.testing.assert_allclose(fit.log_likelihood().values.reshape(ll.shape), ll, rtol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a high Pareto k warns alike in both
        assert fit.loo().elpd == pytest.approx(brmc.loo(ll.reshape(2, -1, N)).elpd, rel=1e-10)


@pytest.mark.parametrize("family, scale", [("multinomial", "Count"), ("dirichlet", "Probability")])
def test_conditional_effects_are_the_softmax_curves(request, family, scale) -> None:
    """brms's conditional_effects(categorical = TRUE): per category (``cats__``) the median and 95 % interval
    of posterior_epred over the draws, trials() set to 1 (brms's message: "Setting all 'trials' variables to 1
    by default"), on brms's catscale axis ("Count" for multinomial, else "Probability")."""
    name, _, cats = FITS[family]
    fit = request.getfixturevalue(name)
    ce = fit.conditional_effects("x", categorical=True, resolution=7)
    frame = ce["x"]
    assert list(frame["cats__"].cat.categories) == cats and len(frame) == 21
    p = special.softmax(_draws_eta(fit, cats, frame["x"].to_numpy()[:7]), axis=-1)
    for k, cat in enumerate(cats):
        rows = frame[frame["cats__"] == cat]
        np.testing.assert_allclose(rows["estimate__"], np.median(p[..., k], axis=0), rtol=1e-10)
        np.testing.assert_allclose(rows["lower__"], np.quantile(p[..., k], 0.025, axis=0), rtol=1e-10)
    if family == "multinomial":
        assert (frame["size"] == 1).all()
    assert ce.plot()[0].axes[0].get_ylabel() == scale
    with pytest.raises(DataError, match="Please set 'categorical' to True"):
        fit.conditional_effects("x")


def test_logistic_normal_has_no_conditional_effects_as_brms(logistic_normal_fit) -> None:
    """brms's posterior_epred_logistic_normal stops, so its conditional_effects(categorical = TRUE) does."""
    with pytest.raises(FamilyError, match="Cannot compute expected values of the posterior predictive distribution"):
        logistic_normal_fit.conditional_effects("x", categorical=True)


def test_multinomial_epred_of_new_data_takes_their_trials(multinomial_fit) -> None:
    newdata = pd.DataFrame({"x": [-1.0, 0.5], "size": [3, 40]})
    eta = _draws_eta(multinomial_fit, ["y1", "y2", "y3"], newdata["x"].to_numpy())
    np.testing.assert_allclose(multinomial_fit.posterior_epred(newdata),
                               special.softmax(eta, axis=-1) * np.array([3.0, 40.0])[:, None], rtol=1e-10)
