"""brms's continuous families beyond the normal and gamma: response times
(``shifted_lognormal``, ``exgaussian``), ``inverse.gaussian``, quantile
regression (``asym_laplace``), ``frechet``, ``gen_extreme_value`` and circular ``von_mises``.

Each follows brms 2.18's Stan code: ``mu`` is the mean (exgaussian: the normal
mean plus ``beta``; frechet: scale ``mu / Gamma(1 - 1/nu)``), shifted_lognormal's
``ndt`` lies in (0, min(Y)), asym_laplace's density is
``quantile (1 - quantile) / sigma * exp(-rho_quantile((y - mu) / sigma))``;
gen_extreme_value's ``xi``, when not predicted, is sampled as ``tmp_xi`` and scaled
into the interval where every training observation has a positive density (brms's ``scale_xi``).

Example:
    >>> print(exgaussian().dpar("beta").default_prior)
    gamma(1, 0.1)
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from ..censoring import log_cdf, register_survival
from .core import (
    NU,
    SHAPE,
    SIGMA,
    DistPar,
    Family,
    _as_float,
    _bad,
    _family,
    _linked,
    _positive,
    _real,
    draw_size,
)

_POSITIVE_LINKS = ("log", "identity", "softplus", "squareplus")
NDT = DistPar("ndt", lb=0.0, ub="min_Y", default_prior="uniform(0, min_Y)", links=_POSITIVE_LINKS,
              link_prior="")  # brms's def_dprior has no ndt prior under a link: flat
BETA = DistPar("beta", lb=0.0, default_prior="gamma(1, 0.1)", links=_POSITIVE_LINKS,
               link_prior="normal(1.7, 1.3)")
QUANTILE = DistPar("quantile", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
                   link_prior="logistic(0, 1)")
KAPPA = DistPar("kappa", lb=0.0, default_prior="gamma(2, 0.01)", links=_POSITIVE_LINKS,
                link_prior="normal(5.0, 0.8)")


def scale_xi(tmp, y, mu, dpars: dict):
    """brms's ``scale_xi``: ``inv_logit(tmp) (ub - lb) + lb`` with lb, ub the smaller and larger of
    -1 / min(x) and -1 / max(x), x = (y - mu) / sigma over the training observations (last axis;
    tensors, or NumPy draws on leading axes with ``tmp`` of shape (..., 1)).

    Example:
        >>> float(scale_xi(np.zeros(1), np.array([-1.0, 2.0]), np.zeros(2), {"sigma": 1.0})[0])
        0.25
    """
    numeric = isinstance(mu, np.ndarray)
    lib = np if numeric else pt
    x = (y - mu) / dpars["sigma"]
    extent = {"axis": -1, "keepdims": True} if numeric else {"axis": -1}
    first, second = -1 / lib.min(x, **extent), -1 / lib.max(x, **extent)
    lb, ub = lib.minimum(first, second), lib.maximum(first, second)
    weight = special.expit(tmp) if numeric else pt.sigmoid(tmp)
    return weight * (ub - lb) + lb


XI = DistPar("xi", default_prior="normal(0, 2.5)", links=("log1p", "identity"), link_prior="normal(0, 4)",
             scale=scale_xi)


def _shifted_lognormal_logp(y, mu, sigma, ndt):
    """brms: lognormal_lpdf(Y - ndt | mu, sigma)."""
    return pm.logp(pm.LogNormal.dist(mu=mu, sigma=sigma), y - ndt)


def _shifted_lognormal_logcdf(y, mu, sigma, ndt, **kwargs):
    return log_cdf(pm.LogNormal.dist(mu=mu, sigma=sigma), y - ndt)


def _shifted_lognormal_random(mu, sigma, ndt, rng=None, size=None):
    return ndt + rng.lognormal(mu, sigma, size=draw_size(size, mu, sigma, ndt))


def _shifted_lognormal(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["sigma"], d["ndt"], logp=_shifted_lognormal_logp,
                              logcdf=_shifted_lognormal_logcdf, random=_shifted_lognormal_random)


def _exgaussian(f: Family, eta, d: dict, add: dict):
    # brms: exp_mod_normal(y | mu - beta, sigma, 1 / beta); PyMC's nu is the exponential's mean
    return pm.ExGaussian.dist(mu=_linked(f, eta) - d["beta"], sigma=d["sigma"], nu=d["beta"])


def _inverse_gaussian_logcdf(y, mu, shape, **kwargs):
    """log of Phi(sqrt(shape / y) (y / mu - 1)) + exp(2 shape / mu) Phi(-sqrt(shape / y) (y / mu + 1)),
    brms's inv_gaussian_lcdf, summed on the log scale (PyMC 5.28's Wald logcdf is not this), with
    brmc's normal log cdf (PyMC's takes sqrt(2) in float32: relative errors near 1e-8)."""
    root, std_normal = pt.sqrt(shape / y), pm.Normal.dist(0.0, 1.0)
    return pt.logaddexp(log_cdf(std_normal, root * (y / mu - 1)),
                        2 * shape / mu + log_cdf(std_normal, -root * (y / mu + 1)))


def inverse_gaussian_log_survival(y, mu, shape):
    """log P(Y > y) = log(Phi(-a) - exp(2 shape / mu) Phi(b)), a = sqrt(shape / y) (y / mu - 1),
    b = -sqrt(shape / y) (y / mu + 1): one minus brms's cdf, as a log difference (finite where the cdf
    rounds to 1, where log1mexp of the log cdf would give -inf and NaN gradients).

    Example:
        >>> from scipy import stats
        >>> ours = inverse_gaussian_log_survival(np.array(3.0), np.array(1.0), np.array(2.0)).eval()
        >>> bool(np.isclose(ours, stats.invgauss.logsf(3.0, 0.5, scale=2.0)))
        True
    """
    root, std_normal = pt.sqrt(shape / y), pm.Normal.dist(0.0, 1.0)
    upper = log_cdf(std_normal, -root * (y / mu - 1))
    lower = 2 * shape / mu + log_cdf(std_normal, -root * (y / mu + 1))
    return upper + pt.log1mexp(pt.minimum(lower - upper, -1e-300))


register_survival("inverse_gaussian", inverse_gaussian_log_survival)


def _inverse_gaussian_logp(y, mu, shape):
    return pm.logp(pm.Wald.dist(mu=mu, lam=shape), y)


def _inverse_gaussian_random(mu, shape, rng=None, size=None):
    return rng.wald(mu, shape, size=draw_size(size, mu, shape))


def _inverse_gaussian(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["shape"], logp=_inverse_gaussian_logp,
                              logcdf=_inverse_gaussian_logcdf, random=_inverse_gaussian_random,
                              class_name="inverse_gaussian")


def _asym_laplace_logp(y, mu, sigma, quantile):
    u = (y - mu) / sigma
    return pt.log(quantile * (1 - quantile)) - pt.log(sigma) - u * (quantile - pt.lt(u, 0))


def _asym_laplace_logcdf(y, mu, sigma, quantile, **kwargs):
    """brms's asym_laplace_lcdf: below mu log(p) + (1 - p) u, above log1m((1 - p) exp(-p u))."""
    u = (y - mu) / sigma
    below = pt.log(quantile) + (1 - quantile) * pt.minimum(u, 0.0)
    above = pt.log1p(-(1 - quantile) * pt.exp(-quantile * pt.maximum(u, 0.0)))
    return pt.switch(pt.lt(u, 0), below, above)


def _asym_laplace_random(mu, sigma, quantile, rng=None, size=None):
    """Below mu with probability ``quantile``, the distances exponential with rates (1 - p) / sigma, p / sigma."""
    size = draw_size(size, mu, sigma, quantile)
    below = rng.uniform(size=size) < quantile
    distance = rng.exponential(size=size)
    return np.where(below, mu - distance * sigma / (1 - quantile), mu + distance * sigma / quantile)


def _asym_laplace(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["sigma"], d["quantile"], logp=_asym_laplace_logp,
                              logcdf=_asym_laplace_logcdf, random=_asym_laplace_random)


def _frechet_logp(y, nu, scale):
    z = y / scale
    return pt.log(nu) - pt.log(scale) - (1 + nu) * pt.log(z) - z ** (-nu)


def _frechet_logcdf(y, nu, scale, **kwargs):
    return -((y / scale) ** (-nu))


def _frechet_random(nu, scale, rng=None, size=None):
    size = draw_size(size, nu, scale)
    return scale * rng.weibull(nu, size=size) ** -1.0  # 1 / Y is Weibull(nu, 1 / scale)


def _frechet(f: Family, eta, d: dict, add: dict):
    nu = d["nu"]
    gamma_fn = special.gamma if isinstance(nu, (np.ndarray, np.generic, float)) else pt.gamma
    scale = _linked(f, eta) / gamma_fn(1 - 1 / nu)
    return pm.CustomDist.dist(nu, scale, logp=_frechet_logp, logcdf=_frechet_logcdf, random=_frechet_random)


def _gev_parts(y, mu, sigma, xi):
    """x = (y - mu) / sigma, whether xi is 0 (Gumbel), a non-zero xi and t = 1 + xi x where t > 0
    (1 elsewhere: each unused branch stays finite, so that gradients through ``switch`` do too)."""
    x = (y - mu) / sigma
    gumbel = pt.eq(xi, 0)
    safe_xi = pt.switch(gumbel, 1.0, xi)
    t = 1 + safe_xi * x
    return x, gumbel, safe_xi, pt.gt(t, 0), pt.switch(pt.gt(t, 0), t, 1.0)


def _gev_logp(y, mu, sigma, xi):
    """brms's gen_extreme_value_lpdf; outside the support (t <= 0) the density is 0."""
    x, gumbel, safe_xi, inside, t = _gev_parts(y, mu, sigma, xi)
    general = pt.switch(inside, -(1 + 1 / safe_xi) * pt.log(t) - t ** (-1 / safe_xi), -np.inf)
    return -pt.log(sigma) + pt.switch(gumbel, -x - pt.exp(-x), general)


def _gev_logcdf(y, mu, sigma, xi, **kwargs):
    """brms's gen_extreme_value_lcdf: -t^(-1/xi) (Gumbel: -exp(-x)); below the support of a
    positive xi -inf, above that of a negative xi 0."""
    x, gumbel, safe_xi, inside, t = _gev_parts(y, mu, sigma, xi)
    general = pt.switch(inside, -(t ** (-1 / safe_xi)), pt.switch(pt.gt(safe_xi, 0), -np.inf, 0.0))
    return pt.switch(gumbel, -pt.exp(-x), general)


def _gev_random(mu, sigma, xi, rng=None, size=None):
    """By inversion: mu + sigma ((-log u)^(-xi) - 1) / xi (Gumbel: mu - sigma log(-log u))."""
    size = draw_size(size, mu, sigma, xi)
    e = -np.log(rng.uniform(size=size))
    xi = np.broadcast_to(xi, size)
    with np.errstate(divide="ignore", invalid="ignore"):
        general = (e ** (-xi) - 1) / xi
    return mu + sigma * np.where(xi == 0, -np.log(e), general)


def _gen_extreme_value(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["sigma"], d["xi"], logp=_gev_logp, logcdf=_gev_logcdf,
                              random=_gev_random)


def _gev_epred(mu, d, add):
    """brms's posterior_epred_gen_extreme_value: mu + sigma (Gamma(1 - xi) - 1) / xi (at xi = 0,
    where brms's formula is 0 / 0, its limit: Euler's constant)."""
    xi = np.asarray(d["xi"])
    safe_xi = np.where(xi == 0, 1.0, xi)
    return mu + d["sigma"] * np.where(xi == 0, np.euler_gamma, (special.gamma(1 - safe_xi) - 1) / safe_xi)


def _von_mises_logp(y, mu, kappa):
    """brms's von_mises_real_lpdf: the von Mises density below kappa = 100, a normal with sd 1/sqrt(kappa) above."""
    exact = pm.logp(pm.VonMises.dist(mu=mu, kappa=kappa), y)
    return pt.switch(pt.lt(kappa, 100), exact, pm.logp(pm.Normal.dist(mu=mu, sigma=1 / pt.sqrt(kappa)), y))


def _von_mises_random(mu, kappa, rng=None, size=None):
    return rng.vonmises(mu, kappa, size=draw_size(size, mu, kappa))


def _von_mises(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["kappa"], logp=_von_mises_logp, random=_von_mises_random)


def _angles(y, add: dict) -> np.ndarray:
    out = _as_float(y, "von_mises")
    bad = (out < -np.pi) | (out > np.pi)
    if bad.any():
        raise _bad("von_mises", "angles in radians between -pi and pi", out, bad)
    return out


def _shifted_lognormal_epred(mu, d, add):
    return np.exp(mu + d["sigma"] ** 2 / 2) + d["ndt"]


def _asym_laplace_epred(mu, d, add):
    p = d["quantile"]
    return mu + d["sigma"] * (1 - 2 * p) / (p * (1 - p))


shifted_lognormal = _family("shifted_lognormal", "identity", ("identity", "inverse"), (SIGMA, NDT),
                            _shifted_lognormal, _positive("shifted_lognormal"), epred=_shifted_lognormal_epred,
                            log_scale=True)
exgaussian = _family("exgaussian", "identity", ("identity", "log", "inverse"), (SIGMA, BETA), _exgaussian,
                     _real("exgaussian"))
inverse_gaussian = _family("inverse.gaussian", "1/mu^2", ("1/mu^2", "inverse", "identity", "log"), (SHAPE,),
                           _inverse_gaussian, _positive("inverse.gaussian"))
asym_laplace = _family("asym_laplace", "identity", ("identity", "log", "inverse"), (SIGMA, QUANTILE),
                       _asym_laplace, _real("asym_laplace"), epred=_asym_laplace_epred)
frechet = _family("frechet", "log", ("log", "identity", "inverse", "softplus", "squareplus"), (NU,), _frechet,
                  _positive("frechet"))
gen_extreme_value = _family("gen_extreme_value", "identity", ("identity", "log", "inverse", "softplus", "squareplus"),
                            (SIGMA, XI), _gen_extreme_value, _real("gen_extreme_value"), epred=_gev_epred)
von_mises = _family("von_mises", "tan_half", ("tan_half", "identity"), (KAPPA,), _von_mises, _angles)

