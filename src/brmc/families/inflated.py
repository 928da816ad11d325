"""brms's over-dispersed, zero-inflated and hurdle families: ``beta_binomial``,
``zero_inflated_binomial``, ``zero_inflated_beta_binomial``, ``zero_inflated_beta``,
``zero_one_inflated_beta``, ``zero_inflated_asym_laplace``, ``hurdle_negbinomial`` and ``hurdle_gamma``.

As brms 2.18's Stan code: ``zi`` is the probability of an extra zero, ``hu``
of a zero (the rest from the zero-truncated count or the continuous part),
``zoi`` of a zero or one and ``coi`` of a one given a zero or one.

Example:
    >>> zero_one_inflated_beta().dpars[1].name, zero_one_inflated_beta().dpars[2].name
    ('zoi', 'coi')
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import stats

from .continuous import (
    QUANTILE,
    _asym_laplace_epred,
    _asym_laplace_logcdf,
    _asym_laplace_logp,
    _asym_laplace_random,
)
from .core import (
    HU,
    PHI,
    SHAPE,
    SIGMA,
    ZI,
    DistPar,
    Family,
    _as_float,
    _bad,
    _counts,
    _family,
    _linked,
    _positive,
    _real,
    draw_size,
)

_UNIT_LINKS = ("logit", "probit", "cloglog", "cauchit")
ZOI = DistPar("zoi", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
              link_prior="logistic(0, 1)")
COI = DistPar("coi", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
              link_prior="logistic(0, 1)")


def _beta_binomial(f: Family, eta, d: dict, add: dict):
    mu = _linked(f, eta)
    return pm.BetaBinomial.dist(alpha=mu * d["phi"], beta=(1 - mu) * d["phi"], n=add["trials"])


def _zero_inflated_binomial(f: Family, eta, d: dict, add: dict):
    return pm.ZeroInflatedBinomial.dist(psi=1 - d["zi"], n=add["trials"], p=_linked(f, eta))


def _zibb_logp(y, trials, mu, phi, zi):
    """brms's zero_inflated_beta_binomial_lpmf: an extra zero with probability zi."""
    count = pt.log1p(-zi) + pm.logp(pm.BetaBinomial.dist(alpha=mu * phi, beta=(1 - mu) * phi, n=trials), y)
    return pt.switch(pt.eq(y, 0), pt.logaddexp(pt.log(zi), count), count)


def _zibb_random(trials, mu, phi, zi, rng=None, size=None):
    size = draw_size(size, trials, mu, phi, zi)
    counts = rng.binomial(np.broadcast_to(trials, size).astype(np.int64), rng.beta(mu * phi, (1 - mu) * phi, size=size))
    return np.where(rng.uniform(size=size) < zi, 0, counts).astype(np.int64)


def _zero_inflated_beta_binomial(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(add["trials"], _linked(f, eta), d["phi"], d["zi"], logp=_zibb_logp,
                              random=_zibb_random, dtype="int64")


def _zial_logp(y, mu, sigma, quantile, zi):
    """brms's zero_inflated_asym_laplace_lpdf: a zero has probability zi (a point mass), any
    other value the asymmetric Laplace density times 1 - zi."""
    return pt.switch(pt.eq(y, 0), pt.log(zi), pt.log1p(-zi) + _asym_laplace_logp(y, mu, sigma, quantile))


def _zial_logcdf(y, mu, sigma, quantile, zi, **kwargs):
    """brms's zero_inflated_asym_laplace_lcdf: the point mass at 0 counts from y = 0 on."""
    below = pt.log1p(-zi) + _asym_laplace_logcdf(y, mu, sigma, quantile)
    return pt.switch(pt.lt(y, 0), below, pt.logaddexp(pt.log(zi), below))


def _zial_random(mu, sigma, quantile, zi, rng=None, size=None):
    size = draw_size(size, mu, sigma, quantile, zi)
    values = _asym_laplace_random(mu, sigma, quantile, rng=rng, size=size)
    return np.where(rng.uniform(size=size) < zi, 0.0, values)


def _zero_inflated_asym_laplace(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["sigma"], d["quantile"], d["zi"], logp=_zial_logp,
                              logcdf=_zial_logcdf, random=_zial_random)


def _hurdle_negbinomial_logp(y, mu, shape, hu):
    """brms's hurdle_neg_binomial_lpmf, with P(0) = (shape / (mu + shape))^shape in closed form
    (PyMC's truncation would differentiate an incomplete beta in ``shape``)."""
    positive = pt.switch(pt.eq(y, 0), 1, y)
    log_p0 = shape * (pt.log(shape) - pt.log(mu + shape))
    count = pm.logp(pm.NegativeBinomial.dist(mu=mu, alpha=shape), positive) - pt.log1mexp(log_p0)
    return pt.switch(pt.eq(y, 0), pt.log(hu), pt.log1p(-hu) + count)


def _hurdle_negbinomial_random(mu, shape, hu, rng=None, size=None):
    """Zero with probability ``hu``, else the negative binomial above zero by inversion."""
    size = draw_size(size, mu, shape, hu)
    p = np.broadcast_to(shape / (mu + shape), size)
    p0 = p ** np.broadcast_to(shape, size)
    positive = stats.nbinom.ppf(p0 + (1 - p0) * rng.uniform(size=size), shape, p)
    return np.where(rng.uniform(size=size) < hu, 0, np.maximum(positive, 1)).astype(np.int64)


def _hurdle_negbinomial(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["shape"], d["hu"], logp=_hurdle_negbinomial_logp,
                              random=_hurdle_negbinomial_random, dtype="int64")


def _hurdle_gamma(f: Family, eta, d: dict, add: dict):
    mu = _linked(f, eta)
    return pm.HurdleGamma.dist(psi=1 - d["hu"], alpha=d["shape"], beta=d["shape"] / mu)


def _beta_logp(y, mu, phi):
    inside = pt.switch(pt.gt(y, 0) & pt.lt(y, 1), y, 0.5)  # the beta density is read inside (0, 1) only
    return pm.logp(pm.Beta.dist(alpha=mu * phi, beta=(1 - mu) * phi), inside)


def _zib_logp(y, mu, phi, zi):
    return pt.switch(pt.eq(y, 0), pt.log(zi), pt.log1p(-zi) + _beta_logp(y, mu, phi))


def _zib_random(mu, phi, zi, rng=None, size=None):
    size = draw_size(size, mu, phi, zi)
    values = rng.beta(mu * phi, (1 - mu) * phi, size=size)
    return np.where(rng.uniform(size=size) < zi, 0.0, values)


def _zoib_logp(y, mu, phi, zoi, coi):
    edge = pt.log(zoi) + pt.switch(pt.eq(y, 1), pt.log(coi), pt.log1p(-coi))
    return pt.switch(pt.eq(y, 0) | pt.eq(y, 1), edge, pt.log1p(-zoi) + _beta_logp(y, mu, phi))


def _zoib_random(mu, phi, zoi, coi, rng=None, size=None):
    size = draw_size(size, mu, phi, zoi, coi)
    values = rng.beta(mu * phi, (1 - mu) * phi, size=size)
    edge = (rng.uniform(size=size) < coi).astype(float)
    return np.where(rng.uniform(size=size) < zoi, edge, values)


def _zero_inflated_beta(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["phi"], d["zi"], logp=_zib_logp, random=_zib_random)


def _zero_one_inflated_beta(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["phi"], d["zoi"], d["coi"], logp=_zoib_logp,
                              random=_zoib_random)


def _proportions(family: str, one_ok: bool):
    def check(y, add: dict) -> np.ndarray:
        out = _as_float(y, family)
        bad = (out < 0) | ((out >= 1) if not one_ok else (out > 1))
        if bad.any():
            raise _bad(family, "values in [0, 1]" if one_ok else "values in [0, 1)", out, bad)
        return out
    return check


def _hurdle_negbinomial_epred(mu, d, add):
    shape = d["shape"]
    return (1 - d["hu"]) * mu / (1 - (shape / (mu + shape)) ** shape)


beta_binomial = _family("beta_binomial", "logit", _UNIT_LINKS, (PHI,), _beta_binomial, _counts("beta_binomial"),
                        epred=lambda mu, d, add: mu * add["trials"], kind="count")
zero_inflated_binomial = _family(
    "zero_inflated_binomial", "logit", _UNIT_LINKS, (ZI,), _zero_inflated_binomial,
    _counts("zero_inflated_binomial"), epred=lambda mu, d, add: (1 - d["zi"]) * mu * add["trials"], kind="count")
zero_inflated_beta_binomial = _family(
    "zero_inflated_beta_binomial", "logit", _UNIT_LINKS, (PHI, ZI), _zero_inflated_beta_binomial,
    _counts("zero_inflated_beta_binomial"), epred=lambda mu, d, add: (1 - d["zi"]) * mu * add["trials"],
    kind="count")
zero_inflated_asym_laplace = _family(
    "zero_inflated_asym_laplace", "identity", ("identity", "log", "inverse", "softplus", "squareplus"),
    (SIGMA, QUANTILE, ZI), _zero_inflated_asym_laplace, _real("zero_inflated_asym_laplace"),
    epred=lambda mu, d, add: (1 - d["zi"]) * _asym_laplace_epred(mu, d, add))
zero_inflated_beta = _family(
    "zero_inflated_beta", "logit", _UNIT_LINKS, (PHI, ZI), _zero_inflated_beta,
    _proportions("zero_inflated_beta", one_ok=False), epred=lambda mu, d, add: (1 - d["zi"]) * mu)
zero_one_inflated_beta = _family(
    "zero_one_inflated_beta", "logit", _UNIT_LINKS, (PHI, ZOI, COI), _zero_one_inflated_beta,
    _proportions("zero_one_inflated_beta", one_ok=True),
    epred=lambda mu, d, add: d["zoi"] * d["coi"] + (1 - d["zoi"]) * mu)
hurdle_negbinomial = _family("hurdle_negbinomial", "log", ("log",), (SHAPE, HU), _hurdle_negbinomial,
                             _counts("hurdle_negbinomial"), epred=_hurdle_negbinomial_epred, kind="count")
hurdle_gamma = _family("hurdle_gamma", "log", ("log",), (SHAPE, HU), _hurdle_gamma,
                       _positive("hurdle_gamma", zero_ok=True), epred=lambda mu, d, add: (1 - d["hu"]) * mu)
