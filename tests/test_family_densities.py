"""The log densities, expected values and random draws of brms's round-2 families against
independent SciPy/NumPy computations written here from brms 2.18's Stan code (its
``<family>_lpdf`` functions and ``posterior_epred_<family>``), not from brmc."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import brmc
from brmc.errors import FamilyError

RNG = np.random.default_rng(20240517)
ETA = np.array([-1.2, -0.3, 0.0, 0.4, 1.5])

# independent inverse links
INV = {"logit": special.expit, "probit": stats.norm.cdf, "cloglog": lambda x: 1 - np.exp(-np.exp(x)),
       "cauchit": stats.cauchy.cdf}


# ------------------------------------------------------------------ ordinal families
def ordinal_probabilities(name: str, link: str, eta: float, thres: np.ndarray) -> np.ndarray:
    """P(Y = k), k = 1..K, by brms's definitions, category by category."""
    F, K = INV[link], len(thres) + 1
    p = np.zeros(K)
    for k in range(K):
        if name == "sratio":  # P(Y = k | Y >= k) = F(thres_k - eta)
            stop = F(thres[k] - eta) if k < K - 1 else 1.0
            p[k] = stop * np.prod([1 - F(thres[j] - eta) for j in range(k)])
        elif name == "cratio":  # P(Y > k | Y >= k) = F(eta - thres_k)
            stop = 1 - F(eta - thres[k]) if k < K - 1 else 1.0
            p[k] = stop * np.prod([F(eta - thres[j]) for j in range(k)])
        else:  # acat: prod_{j<k} q_j prod_{j>=k} (1 - q_j), q_j = F(eta - thres_j)
            q = F(eta - thres)
            p[k] = np.prod(q[:k]) * np.prod(1 - q[k:])
    return p / p.sum()


@pytest.mark.parametrize("link", ["logit", "probit", "cloglog", "cauchit"])
@pytest.mark.parametrize("name", ["sratio", "cratio", "acat"])
def test_ordinal_log_likelihood_and_probabilities(name: str, link: str) -> None:
    fam = brmc.get_family(name, link=link)
    thres = np.array([-0.7, 0.9, 0.4])  # free thresholds: not ordered, as brms allows
    expected = np.array([ordinal_probabilities(name, link, e, thres) for e in ETA])
    np.testing.assert_allclose(fam.expected(ETA, {"thres": thres}, {}), expected, rtol=1e-10)
    y = np.array([0, 1, 2, 3, 1])  # 0-based category codes, as the model reads them
    np.testing.assert_allclose(fam.log_lik(y, ETA, {"thres": thres}), np.log(expected[np.arange(5), y]),
                               rtol=1e-10)


def test_acat_logit_is_brms_cumulative_sum_softmax() -> None:
    """brms's acat_logit_lpmf: softmax(append_row(0, cumulative_sum(eta - thres)))."""
    thres = np.array([-0.5, 0.3, 1.1])
    for e in ETA:
        p = np.concatenate([[0.0], np.cumsum(e - thres)])
        np.testing.assert_allclose(brmc.get_family("acat").expected(np.array([e]), {"thres": thres}, {})[0],
                                   special.softmax(p), rtol=1e-12)


def test_symmetric_links_make_sratio_and_cratio_equal_but_not_cloglog() -> None:
    thres = np.array([-0.4, 0.6])
    for link in ("logit", "probit"):
        a, b = (brmc.get_family(n, link=link).expected(ETA, {"thres": thres}, {}) for n in ("sratio", "cratio"))
        np.testing.assert_allclose(a, b, rtol=1e-12)
    a, b = (brmc.get_family(n, link="cloglog").expected(ETA, {"thres": thres}, {}) for n in ("sratio", "cratio"))
    assert not np.allclose(a, b)


# ------------------------------------------------------------------ other families
TRIALS = np.array([5.0, 12.0, 3.0, 20.0, 8.0])


def _zib(y, mu, zi):
    pmf = stats.binom.logpmf(y, TRIALS, mu)
    return np.where(y == 0, np.log(zi + (1 - zi) * np.exp(pmf)), np.log1p(-zi) + pmf)


def _hurdle_nb(y, mu, shape, hu):
    nb = stats.nbinom(shape, shape / (mu + shape))
    return np.where(y == 0, np.log(hu), np.log1p(-hu) + nb.logpmf(y) - np.log1p(-nb.pmf(0)))


def _asym_laplace(y, mu, sigma, p):
    u = (y - mu) / sigma
    return np.log(p * (1 - p)) - np.log(sigma) - u * (p - (u < 0))


def _zoib(y, mu, phi, zoi, coi):
    dens = stats.beta.logpdf(np.clip(y, 1e-9, 1 - 1e-9), mu * phi, (1 - mu) * phi)
    return np.where(y == 0, np.log(zoi * (1 - coi)), np.where(y == 1, np.log(zoi * coi), np.log1p(-zoi) + dens))


def _zibb(y, mu, phi, zi):
    pmf = stats.betabinom.logpmf(y, TRIALS, mu * phi, (1 - mu) * phi)
    return np.where(y == 0, np.log(zi + (1 - zi) * np.exp(pmf)), np.log1p(-zi) + pmf)


# family → (link inverse, dpars, response values, additions, scipy log density(y, mu), scipy frozen dist or None)
CASES = {
    "gen_extreme_value": (lambda e: e, {"sigma": 0.8, "xi": 0.2}, np.array([-1.0, 0.2, 1.5, 3.0, 0.0]), {},
                          lambda y, mu: stats.genextreme.logpdf(y, -0.2, loc=mu, scale=0.8)),  # SciPy's c = -xi
    "discrete_weibull": (special.expit, {"shape": 1.3}, np.array([0.0, 1.0, 2.0, 5.0, 9.0]), {},
                         lambda y, mu: np.log(mu ** (y**1.3) - mu ** ((y + 1) ** 1.3))),
    "zero_inflated_beta_binomial": (special.expit, {"phi": 6.0, "zi": 0.3}, np.array([0.0, 4.0, 0.0, 11.0, 2.0]),
                                    {"trials": TRIALS}, lambda y, mu: _zibb(y, mu, 6.0, 0.3)),
    "zero_inflated_asym_laplace": (lambda e: e, {"sigma": 0.8, "quantile": 0.3, "zi": 0.2},
                                   np.array([-2.0, 0.1, 0.0, 2.0, 1.0]), {},
                                   lambda y, mu: np.where(y == 0, np.log(0.2), np.log(0.8) + _asym_laplace(
                                       y, mu, 0.8, 0.3))),
    "beta_binomial": (special.expit, {"phi": 6.0}, np.array([0.0, 4.0, 3.0, 11.0, 2.0]), {"trials": TRIALS},
                      lambda y, mu: stats.betabinom.logpmf(y, TRIALS, mu * 6.0, (1 - mu) * 6.0)),
    "zero_inflated_binomial": (special.expit, {"zi": 0.3}, np.array([0.0, 4.0, 0.0, 11.0, 2.0]),
                               {"trials": TRIALS}, lambda y, mu: _zib(y, mu, 0.3)),
    "zero_inflated_beta": (special.expit, {"phi": 5.0, "zi": 0.2}, np.array([0.0, 0.3, 0.5, 0.0, 0.9]), {},
                           lambda y, mu: np.where(y == 0, np.log(0.2), np.log(0.8) + stats.beta.logpdf(
                               np.where(y == 0, 0.5, y), mu * 5, (1 - mu) * 5))),
    "zero_one_inflated_beta": (special.expit, {"phi": 5.0, "zoi": 0.25, "coi": 0.4},
                               np.array([0.0, 0.3, 1.0, 0.0, 0.9]), {}, lambda y, mu: _zoib(y, mu, 5.0, 0.25, 0.4)),
    "hurdle_negbinomial": (np.exp, {"shape": 2.5, "hu": 0.35}, np.array([0.0, 1.0, 4.0, 0.0, 7.0]), {},
                           lambda y, mu: _hurdle_nb(y, mu, 2.5, 0.35)),
    "hurdle_gamma": (np.exp, {"shape": 3.0, "hu": 0.35}, np.array([0.0, 0.4, 2.5, 0.0, 6.0]), {},
                     lambda y, mu: np.where(y == 0, np.log(0.35), np.log(0.65) + stats.gamma.logpdf(
                         np.where(y == 0, 1.0, y), 3.0, scale=mu / 3.0))),
    "shifted_lognormal": (lambda e: e, {"sigma": 0.6, "ndt": 0.2}, np.array([0.5, 1.0, 2.2, 0.9, 8.0]), {},
                          lambda y, mu: stats.lognorm.logpdf(y - 0.2, 0.6, scale=np.exp(mu))),
    "exgaussian": (lambda e: e, {"sigma": 0.7, "beta": 0.9}, np.array([-1.0, 0.2, 1.5, 3.0, 0.0]), {},
                   lambda y, mu: stats.exponnorm.logpdf(y, 0.9 / 0.7, loc=mu - 0.9, scale=0.7)),
    "inverse.gaussian": (lambda e: 1 / np.sqrt(e), {"shape": 2.0}, np.array([0.4, 1.1, 2.0, 0.9, 3.0]), {},
                         lambda y, mu: stats.invgauss.logpdf(y, mu / 2.0, scale=2.0)),
    "asym_laplace": (lambda e: e, {"sigma": 0.8, "quantile": 0.3}, np.array([-2.0, 0.1, 0.0, 2.0, 1.0]), {},
                     lambda y, mu: _asym_laplace(y, mu, 0.8, 0.3)),
    "frechet": (np.exp, {"nu": 4.0}, np.array([0.5, 1.0, 2.2, 0.9, 8.0]), {},
                lambda y, mu: stats.invweibull.logpdf(y, 4.0, scale=mu / special.gamma(1 - 1 / 4.0))),
    "von_mises": (lambda e: 2 * np.arctan(e), {"kappa": 3.0}, np.array([-3.0, -0.5, 0.0, 1.0, 2.9]), {},
                  lambda y, mu: stats.vonmises.logpdf(y, 3.0, loc=mu)),
}


def _case(family: str) -> tuple:
    """A case with its dpars as float64 NumPy scalars, as posterior draws are."""
    inv, dpars, y, additions, logpdf = CASES[family]
    return inv, {k: np.float64(v) for k, v in dpars.items()}, y, additions, logpdf


def _eta(family: str) -> np.ndarray:
    return ETA + 2.0 if family == "inverse.gaussian" else ETA  # 1/mu^2 needs a positive eta


@pytest.mark.parametrize("family", sorted(CASES))
def test_log_likelihood_matches_scipy(family: str) -> None:
    inv, dpars, y, additions, logpdf = _case(family)
    eta = _eta(family)
    ours = brmc.get_family(family).log_lik(y, eta, dpars, additions)
    np.testing.assert_allclose(ours, logpdf(y, inv(eta)), rtol=1e-8, atol=1e-10)


def test_von_mises_is_normal_from_kappa_100_as_brms() -> None:
    """brms's von_mises_real_lpdf switches to normal(mu, 1 / sqrt(kappa)) at kappa = 100."""
    y, eta = np.array([-0.1, 0.0, 0.05]), np.array([0.0, 0.02, 0.1])
    fam = brmc.get_family("von_mises")
    for kappa in (99.0, 150.0):
        ours = fam.log_lik(y, eta, {"kappa": np.float64(kappa)})
        mu = 2 * np.arctan(eta)
        theirs = (stats.vonmises.logpdf(y, kappa, loc=mu) if kappa < 100
                  else stats.norm.logpdf(y, mu, 1 / np.sqrt(kappa)))
        np.testing.assert_allclose(ours, theirs, rtol=1e-8)


# brms's posterior_epred_<family>, computed independently
def _mean_by_quadrature(family: str, mu: float) -> float:
    logpdf = CASES[family][4]
    lo, hi = {"asym_laplace": (-np.inf, np.inf), "frechet": (0, np.inf)}[family]
    return integrate.quad(lambda v: v * np.exp(logpdf(np.array(v), mu)), lo, hi, limit=200)[0]


def _discrete_weibull_mean(mu: np.ndarray) -> np.ndarray:
    """brms's mean_discrete_weibull: sum_{y=1}^{M} mu^(y^shape), M = ceiling(max((log(0.001) / log(mu))^(1/shape)))."""
    M = int(np.ceil(np.max((np.log(0.001) / np.log(mu)) ** (1 / 1.3))))
    return np.array([sum(m ** (y**1.3) for y in range(1, M + 1)) for m in mu])


MEANS = {
    "discrete_weibull": _discrete_weibull_mean,
    "gen_extreme_value": lambda mu: stats.genextreme.mean(-0.2, loc=mu, scale=0.8),
    "zero_inflated_beta_binomial": lambda mu: 0.7 * TRIALS * mu,
    "zero_inflated_asym_laplace": lambda mu: 0.8 * np.array([_mean_by_quadrature("asym_laplace", m) for m in mu]),
    "beta_binomial": lambda mu: TRIALS * mu,
    "zero_inflated_binomial": lambda mu: 0.7 * TRIALS * mu,
    "zero_inflated_beta": lambda mu: 0.8 * mu,
    "zero_one_inflated_beta": lambda mu: 0.25 * 0.4 + 0.75 * mu,
    "hurdle_negbinomial": lambda mu: 0.65 * np.array([stats.nbinom(2.5, 2.5 / (m + 2.5)).expect(
        lambda k: k, lb=1) / stats.nbinom(2.5, 2.5 / (m + 2.5)).sf(0) for m in mu]),
    "hurdle_gamma": lambda mu: 0.65 * mu,
    "shifted_lognormal": lambda mu: stats.lognorm.mean(0.6, scale=np.exp(mu)) + 0.2,
    "exgaussian": lambda mu: stats.exponnorm.mean(0.9 / 0.7, loc=mu - 0.9, scale=0.7),
    "inverse.gaussian": lambda mu: stats.invgauss.mean(mu / 2.0, scale=2.0),
    "asym_laplace": lambda mu: np.array([_mean_by_quadrature("asym_laplace", m) for m in mu]),
    "frechet": lambda mu: np.array([_mean_by_quadrature("frechet", m) for m in mu]),
    "von_mises": lambda mu: mu,
}


@pytest.mark.parametrize("family", sorted(CASES))
def test_expected_value_is_the_analytic_mean(family: str) -> None:
    inv, dpars, _, additions, _ = _case(family)
    eta = _eta(family)
    ours = brmc.get_family(family).expected(eta, dpars, additions)
    np.testing.assert_allclose(ours, MEANS[family](inv(eta)), rtol=1e-6)


@pytest.mark.parametrize("family", sorted(set(CASES) - {"von_mises", "frechet"}))
def test_random_draws_have_the_expected_mean(family: str) -> None:
    """Means of 40,000 draws per row within 5 standard errors of brms's expected value
    (frechet with nu = 4 and von_mises' circular mean are left to the density tests)."""
    inv, dpars, _, additions, _ = _case(family)
    eta = np.tile(_eta(family), (40_000, 1))
    add = {k: np.tile(v, (40_000, 1)) for k, v in additions.items()}
    fam = brmc.get_family(family)
    draws = fam.rng(eta, dpars, np.random.default_rng(3), add)
    se = draws.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(axis=0) - MEANS[family](inv(_eta(family)))) < 5 * se + 1e-12)


# censored rows (brms's cens(): Stan's *_lccdf / *_lcdf)
def _zial_survival(y, mu):
    """P(Y > y): the asymmetric Laplace part, plus the point mass at 0 below it."""
    part = integrate.quad(lambda v: np.exp(_asym_laplace(v, mu, 0.8, 0.3)), y, np.inf)[0]
    return np.log(0.8 * part + 0.2 * (y < 0))


SURVIVAL = {
    "discrete_weibull": lambda y, mu: y**1.3 * np.log(mu),  # a count: P(Y >= y) = mu^(y^shape), brms's lccdf(y - 1)
    "gen_extreme_value": lambda y, mu: stats.genextreme.logsf(y, -0.2, loc=mu, scale=0.8),
    "zero_inflated_asym_laplace": _zial_survival,
    "shifted_lognormal": lambda y, mu: stats.lognorm.logsf(y - 0.2, 0.6, scale=np.exp(mu)),
    "exgaussian": lambda y, mu: stats.exponnorm.logsf(y, 0.9 / 0.7, loc=mu - 0.9, scale=0.7),
    "inverse.gaussian": lambda y, mu: stats.invgauss.logsf(y, mu / 2.0, scale=2.0),
    "frechet": lambda y, mu: stats.invweibull.logsf(y, 4.0, scale=mu / special.gamma(0.75)),
    "asym_laplace": lambda y, mu: np.log(integrate.quad(lambda v: np.exp(_asym_laplace(v, mu, 0.8, 0.3)),
                                                        y, np.inf)[0]),
}


@pytest.mark.parametrize("family", sorted(SURVIVAL))
def test_right_censored_rows_use_the_survival_function(family: str) -> None:
    inv, dpars, y, _, _ = _case(family)
    eta = _eta(family)
    ours = brmc.get_family(family).log_lik(y, eta, dpars, {"cens": np.ones(5, dtype=np.int64)})
    theirs = [float(SURVIVAL[family](yi, mi)) for yi, mi in zip(y, inv(eta))]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# brms 2.18's def_dprior, non-identity branch: kappa normal(5.0, 0.8), beta normal(1.7, 1.3), xi normal(0, 4),
# ndt none (flat)
@pytest.mark.parametrize("family, dpar, prior", [
    ("von_mises", "kappa", "normal(5.0, 0.8)"), ("exgaussian", "beta", "normal(1.7, 1.3)"),
    ("gen_extreme_value", "xi", "normal(0, 4)"), ("shifted_lognormal", "ndt", ""),
])
def test_predicted_dpar_intercepts_take_brms_priors_under_their_links(family: str, dpar: str, prior: str) -> None:
    data = pd.DataFrame({"y": [0.5, 1.0, 1.6, 2.0, 2.4, 3.0], "x": [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]})
    tab = pd.DataFrame(brmc.get_prior(brmc.bf("y ~ x", **{dpar: "~ x"}), data, family=family))
    assert tab.loc[(tab["class"] == "Intercept") & (tab["dpar"] == dpar), "prior"].item() == prior


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("family", ["sratio", "cratio", "acat", "beta_binomial", "von_mises", "inverse.gaussian"])
def test_bad_link_names_the_allowed_links(family: str) -> None:
    allowed = ", ".join(brmc.get_family(family).links)
    with pytest.raises(FamilyError, match=re.escape(f"Allowed links: {allowed}.")):
        brmc.get_family(family, link="sqrt")


def test_bad_dpar_link_and_unknown_option() -> None:
    with pytest.raises(FamilyError, match="Allowed links: log, identity, softplus, squareplus"):
        brmc.get_family("shifted_lognormal", link_ndt="logit")
    with pytest.raises(FamilyError, match="it takes: link, link_sigma, link_quantile"):
        brmc.get_family("asym_laplace", link_tau="log")


def test_responses_outside_the_support_are_refused() -> None:
    rats = brmc.datasets.load("rats")
    with pytest.raises(FamilyError, match=r"zero_inflated_beta' needs values in \[0, 1\)"):
        brmc.get_prior("p ~ 1", pd.DataFrame({"p": [0.0, 0.5, 1.0]}), family="zero_inflated_beta")
    with pytest.raises(FamilyError, match="von_mises' needs angles in radians"):
        brmc.get_prior("y ~ 1", pd.DataFrame({"y": [0.0, 4.0]}), family="von_mises")
    with pytest.raises(brmc.errors.DataError, match="'beta_binomial' needs the number of trials"):
        brmc.get_prior("m ~ 1", rats, family="beta_binomial")
    with pytest.raises(FamilyError, match="com_poisson' is a brms family that brmc does not support yet"):
        brmc.get_family("com_poisson")
