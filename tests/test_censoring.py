"""Censored likelihoods: tails against scipy, on PyTensor and on JAX; every family × link's
censored log density checked against scipy, every family sampled on the JAX backends and every
link's chains started."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import special, stats

import brmc
from brmc import sampling
from brmc.backends import JaxModel
from brmc.censoring import log_cdf, log_survival
from brmc.jax_ops import register_jax_ops

#: (PyMC distribution, the same distribution in scipy)
DISTS = {
    "normal": (pm.Normal.dist(mu=1.0, sigma=2.0), stats.norm(1.0, 2.0)),
    "lognormal": (pm.LogNormal.dist(mu=1.0, sigma=2.0), stats.lognorm(s=2.0, scale=np.exp(1.0))),
    "student": (pm.StudentT.dist(nu=3.0, mu=1.0, sigma=2.0), stats.t(3.0, 1.0, 2.0)),
    "weibull": (pm.Weibull.dist(alpha=1.5, beta=2.0), stats.weibull_min(1.5, scale=2.0)),
    "exponential": (pm.Exponential.dist(lam=0.5), stats.expon(scale=2.0)),
    "gamma": (pm.Gamma.dist(alpha=2.0, beta=0.5), stats.gamma(2.0, scale=2.0)),
}
#: values from far in the left tail to far in the right (for the positive families, their logs)
Z = np.array([-80.0, -38.0, -20.0, -5.0, -1.0, 0.0, 0.5, 1.0, 5.0, 20.0, 38.0, 80.0])


def _values(name: str) -> np.ndarray:
    if name in {"normal", "student"}:
        return 1.0 + 2.0 * Z
    if name == "lognormal":
        return np.exp(1.0 + 2.0 * Z / 8)  # log y from -19 to 21: normal z from -10 to 10
    return np.geomspace(1e-12, 60.0, Z.size)


@pytest.mark.parametrize("mode", ["FAST_COMPILE", "JAX"])
@pytest.mark.parametrize("name", list(DISTS))
def test_log_cdf_and_survival_equal_scipys_far_in_both_tails(name: str, mode: str) -> None:
    """The censored terms' log cdf and log survival function equal scipy's logcdf and logsf from far
    in the left tail to far in the right, on PyTensor and through PyTensor's JAX linker (which had
    no erfcx), with finite gradients."""
    if mode == "JAX":
        import pymc.sampling.jax  # noqa: F401  (double precision, as brmc's JAX backends run)

        register_jax_ops()
    dist, ref = DISTS[name]
    y = pt.vector("y")
    values = _values(name)
    terms = [log_cdf(dist, y), log_survival(dist, y)]
    grads = [pytensor.grad(t.sum(), y) for t in terms]
    lcdf, lsf, *gradients = pytensor.function([y], [*terms, *grads], mode=mode)(values)
    expected_cdf, expected_sf = ref.logcdf(values), ref.logsf(values)
    finite = np.isfinite(expected_cdf) & np.isfinite(expected_sf)
    assert finite.sum() >= values.size - 2  # scipy's gamma logsf underflows at the far right only
    np.testing.assert_allclose(lcdf[finite], expected_cdf[finite], rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(lsf[finite], expected_sf[finite], rtol=1e-9, atol=1e-300)
    assert all(np.isfinite(g[finite]).all() for g in gradients)


def test_jax_erfcx_and_betainc_equal_scipys() -> None:
    """brmc's JAX erfcx against scipy's; its betainc's derivatives in a and b (which JAX lacks, and
    Student's t cdf needs for nu) against central differences of scipy's betainc."""
    import jax

    from brmc.jax_ops import betainc, erfcx

    x = np.concatenate([-np.geomspace(1e-3, 26.0, 50), np.geomspace(1e-6, 1e12, 200)])
    np.testing.assert_allclose(np.asarray(erfcx(x)), special.erfcx(x), rtol=1e-14)
    h = 1e-6
    for a, b, v in [(0.5, 0.5, 0.01), (2.0, 3.0, 0.4), (15.0, 15.0, 0.99)]:
        da, db, dv = jax.grad(betainc, argnums=(0, 1, 2))(a, b, v)
        assert float(da) == pytest.approx((special.betainc(a + h, b, v) - special.betainc(a - h, b, v)) / (2 * h), rel=1e-6)
        assert float(db) == pytest.approx((special.betainc(a, b + h, v) - special.betainc(a, b - h, v)) / (2 * h), rel=1e-6)
        assert float(dv) == pytest.approx(v ** (a - 1) * (1 - v) ** (b - 1) / special.beta(a, b), rel=1e-9)


# ------------------------------------------------------------------ every family × link, sampled
#: brmc's families that take cens(), with each of their links
CENSORED = [(family, link) for family in ("gaussian", "student", "lognormal", "Gamma", "weibull", "exponential",
                                          "poisson", "negbinomial", "geometric")
            for link in brmc.get_family(family).links]
#: round-2 families that take cens(), at their default links
CENSORED += [(family, brmc.get_family(family).link)
             for family in ("shifted_lognormal", "exgaussian", "inverse.gaussian", "frechet", "asym_laplace")]
N = 12
X = np.linspace(-1.0, 1.0, N)
CENS = np.resize([0, -1, 1, 2], N)  # none, left, right, interval


def _data(family: str) -> pd.DataFrame:
    if brmc.get_family(family).kind == "count":
        y = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], dtype=float)
        y2 = y + 2
    else:
        y = np.array([2.1, 0.7, 3.3, 1.2, 4.8, 2.5, 0.9, 1.7, 3.9, 2.2, 1.4, 2.8])
        y2 = y * 1.5
    return pd.DataFrame({"y": y, "y2": y2, "x": X, "c": CENS, "w": np.ones(N)})


def _scipy(family: str, mu: np.ndarray):
    """The response distribution at parameters 1 (sigma, shape, beta; nu = 2; parameters in (0, 1)
    at 1/2; ndt in (0, min(y)) at min(y) / 2 = 0.35) in scipy, as brms defines it."""
    if family == "shifted_lognormal":
        return stats.lognorm(s=1.0, loc=0.35, scale=np.exp(mu))
    if family == "exgaussian":
        return stats.exponnorm(1.0, loc=mu - 1.0, scale=1.0)
    if family == "inverse.gaussian":
        return stats.invgauss(mu, scale=1.0)
    if family == "frechet":
        return stats.invweibull(2.0, scale=mu / special.gamma(0.5))
    if family == "asym_laplace":  # quantile 1/2: kappa 1, scale sigma / sqrt(p (1 - p))
        return stats.laplace_asymmetric(1.0, loc=mu, scale=2.0)
    if family == "gaussian":
        return stats.norm(mu, 1.0)
    if family == "student":
        return stats.t(2.0, mu, 1.0)
    if family == "lognormal":
        return stats.lognorm(s=1.0, scale=np.exp(mu))
    if family == "Gamma":
        return stats.gamma(1.0, scale=mu)
    if family == "weibull":
        return stats.weibull_min(1.0, scale=mu / special.gamma(2.0))
    if family == "exponential":
        return stats.expon(scale=mu)
    if family == "poisson":
        return stats.poisson(mu)
    return stats.nbinom(1.0, 1.0 / (1.0 + mu))  # negbinomial with shape 1, and geometric


def _censored_loglik(family: str, mu: np.ndarray, d: pd.DataFrame) -> float:
    """brms's censored log-likelihood, written in scipy: the density, the cdf (left), the survival
    function (right; P(Y >= y) for counts) and the cdf difference (interval)."""
    ref, y, y2 = _scipy(family, mu), d["y"].to_numpy(), d["y2"].to_numpy()
    count = brmc.get_family(family).kind == "count"
    density = ref.logpmf(y) if count else ref.logpdf(y)
    right = ref.logsf(y - 1) if count else ref.logsf(y)
    interval = np.log(ref.cdf(y2) - ref.cdf(y))
    return float(np.select([CENS == -1, CENS == 1, CENS == 2], [ref.logcdf(y), right, interval], density).sum())


FORMULA = "y | cens(c, y2) + weights(w) ~ x"


@pytest.mark.parametrize("family, link", CENSORED)
def test_censored_jax_log_density_equals_scipys(family: str, link: str) -> None:
    """The likelihood part of the JAX log density (with left, right, interval and no censoring) at a
    point equals brms's censored likelihood written in scipy; weights 0 take it out."""
    d = _data(family)
    fam = brmc.get_family(family, link=link)
    built = brmc.make_model(FORMULA, d, family=fam)
    key = ("jax", built.structure)
    model = sampling._COMPILED[key] if key in sampling._COMPILED else JaxModel(built.model)
    mean_y = np.log(d["y"]).mean() if family == "lognormal" else d["y"].mean()
    start = fam.link_np(mean_y)
    flat, _ = model._flat({"Intercept": np.asarray(start), "b": np.array([0.2 * start])})
    data = model.data(built)
    unweighted = tuple(np.zeros_like(v) if n == "weights" else v for n, v in zip(model.data_names, data))
    likelihood = float(model.logp(flat, data)) - float(model.logp(flat, unweighted))
    mu = fam.inverse_link_np(start + 0.2 * start * (X - X.mean()))
    assert likelihood == pytest.approx(_censored_loglik(family, mu, d), rel=1e-9)


#: sampled on each JAX backend: every family at its default link on numpyro (the default backend),
#: and a symmetric and a positive family (gaussian, weibull) on blackjax (its sampler's code does
#: not depend on the family).  The other links share these families' JAX density, checked against
#: scipy for every family x link above; what a link could still break is the chains' start,
#: which the next test checks for each of them without compiling a sampler (each sampler's
#: compilation took 10-30 s of CI's time).
SAMPLED = ([(family, link, "numpyro") for family, link in CENSORED if link == brmc.get_family(family).link]
           + [("gaussian", "identity", "blackjax"), ("weibull", "log", "blackjax")])


@pytest.mark.parametrize("family, link, backend", SAMPLED)
def test_every_censored_family_samples_on_each_jax_backend(family: str, link: str, backend: str) -> None:
    """Each family with left, right and interval censoring (and none) samples on the JAX backends
    with finite draws."""
    pytest.importorskip(backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm(FORMULA, _data(family), family=brmc.get_family(family, link=link), chains=1, iter=100,
                       seed=3, progress=False, backend=backend)
    assert np.isfinite(fit.draws().to_numpy()).all()


@pytest.mark.parametrize("family, link", [(f, link) for f, link in CENSORED if (f, link, "numpyro") not in SAMPLED])
def test_every_other_link_starts_the_chains_with_a_finite_density_and_gradient(family: str, link: str) -> None:
    """Every other link: the chains' starts (Stan's random tries, then the climb uphill), from
    which NUTS begins, have a finite censored log density and gradient."""
    built = brmc.make_model(FORMULA, _data(family), family=brmc.get_family(family, link=link))
    model = JaxModel(built.model)
    data = model.data(built)
    starts, _ = model.starts(4, np.random.SeedSequence(3), data)
    for row in starts:
        value, gradient = model._logp_and_grad(row, data)
        assert np.isfinite(float(value)) and np.isfinite(np.asarray(gradient)).all(), (family, link, row)
