"""brms's families with PyMC's distributions as they stand: the Gaussian and
positive continuous ones, counts, binary and categorical responses.

Example:
    >>> gaussian().dpars[0].name
    'sigma'
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from .core import (
    ALPHA,
    HU,
    NU,
    PHI,
    SHAPE,
    SIGMA,
    ZI,
    Family,
    _binary,
    _counts,
    _family,
    _linked,
    _positive,
    _real,
    _unit_interval,
)


def _skew_normal(f: Family, eta, d: dict, add: dict):
    # brms: mu is the mean and sigma the sd; convert to location and scale
    alpha = d["alpha"]
    delta = alpha / np.sqrt(1 + alpha**2) if isinstance(alpha, np.ndarray) else alpha / pt.sqrt(1 + alpha**2)
    root = np.sqrt(2 / np.pi)
    omega = d["sigma"] / (1 - (root * delta) ** 2) ** 0.5
    return pm.SkewNormal.dist(mu=_linked(f, eta) - omega * delta * root, sigma=omega, alpha=alpha)


def _weibull(f: Family, eta, d: dict, add: dict):
    gamma_fn = special.gamma if isinstance(d["shape"], np.ndarray) else pt.gamma
    return pm.Weibull.dist(alpha=d["shape"], beta=_linked(f, eta) / gamma_fn(1 + 1 / d["shape"]))


def _bernoulli(f: Family, eta, d: dict, add: dict):
    if f.link == "logit":
        return pm.Bernoulli.dist(logit_p=eta)
    return pm.Bernoulli.dist(p=_linked(f, eta))


def _binomial(f: Family, eta, d: dict, add: dict):
    p = _linked(f, eta)
    return pm.Binomial.dist(n=add["trials"], p=p)


def _lognormal_epred(mu, d, add):
    return np.exp(mu + d["sigma"] ** 2 / 2)


gaussian = _family("gaussian", "identity", ("identity", "log", "inverse"), (SIGMA,),
                   lambda f, eta, d, add: pm.Normal.dist(mu=_linked(f, eta), sigma=d["sigma"]), _real("gaussian"))
student = _family("student", "identity", ("identity", "log", "inverse"),
                  (SIGMA, NU),
                  lambda f, eta, d, add: pm.StudentT.dist(nu=d["nu"], mu=_linked(f, eta), sigma=d["sigma"]),
                  _real("student"))
skew_normal = _family("skew_normal", "identity", ("identity", "log", "inverse"),
                      (SIGMA, ALPHA), _skew_normal, _real("skew_normal"))
lognormal = _family("lognormal", "identity", ("identity", "inverse"), (SIGMA,),
                    lambda f, eta, d, add: pm.LogNormal.dist(mu=_linked(f, eta), sigma=d["sigma"]),
                    _positive("lognormal"), epred=_lognormal_epred, log_scale=True)
Gamma = _family("gamma", "log", ("log", "identity", "inverse"), (SHAPE,),
                lambda f, eta, d, add: pm.Gamma.dist(alpha=d["shape"], beta=d["shape"] / _linked(f, eta)),
                _positive("gamma"))
weibull = _family("weibull", "log", ("log", "identity", "inverse"), (SHAPE,), _weibull, _positive("weibull"))
exponential = _family("exponential", "log", ("log", "identity", "inverse"), (),
                      lambda f, eta, d, add: pm.Exponential.dist(lam=1 / _linked(f, eta)), _positive("exponential"))
bernoulli = _family("bernoulli", "logit", ("logit", "probit", "cloglog"), (), _bernoulli, _binary, kind="binary")
binomial = _family("binomial", "logit", ("logit", "probit", "cloglog"), (), _binomial, _counts("binomial"),
                   epred=lambda mu, d, add: mu * add["trials"], kind="count")
poisson = _family("poisson", "log", ("log", "sqrt", "identity"), (),
                  lambda f, eta, d, add: pm.Poisson.dist(mu=_linked(f, eta)), _counts("poisson"), kind="count")
negbinomial = _family("negbinomial", "log", ("log", "sqrt", "identity"), (SHAPE,),
                      lambda f, eta, d, add: pm.NegativeBinomial.dist(mu=_linked(f, eta), alpha=d["shape"]),
                      _counts("negbinomial"), kind="count")
geometric = _family("geometric", "log", ("log", "sqrt", "identity"), (),
                    lambda f, eta, d, add: pm.NegativeBinomial.dist(mu=_linked(f, eta), alpha=1.0),
                    _counts("geometric"), kind="count")
beta = _family("beta", "logit", ("logit", "probit", "cloglog"), (PHI,),
               lambda f, eta, d, add: pm.Beta.dist(alpha=_linked(f, eta) * d["phi"], beta=(1 - _linked(f, eta)) * d["phi"]),
               _unit_interval("beta"))
zero_inflated_poisson = _family(
    "zero_inflated_poisson", "log", ("log", "sqrt", "identity"), (ZI,),
    lambda f, eta, d, add: pm.ZeroInflatedPoisson.dist(psi=1 - d["zi"], mu=_linked(f, eta)),
    _counts("zero_inflated_poisson"), epred=lambda mu, d, add: (1 - d["zi"]) * mu, kind="count")
zero_inflated_negbinomial = _family(
    "zero_inflated_negbinomial", "log", ("log", "sqrt", "identity"), (SHAPE, ZI),
    lambda f, eta, d, add: pm.ZeroInflatedNegativeBinomial.dist(psi=1 - d["zi"], mu=_linked(f, eta), alpha=d["shape"]),
    _counts("zero_inflated_negbinomial"), epred=lambda mu, d, add: (1 - d["zi"]) * mu, kind="count")
hurdle_poisson = _family(
    "hurdle_poisson", "log", ("log",), (HU,),
    lambda f, eta, d, add: pm.HurdlePoisson.dist(psi=1 - d["hu"], mu=_linked(f, eta)),
    _counts("hurdle_poisson"), epred=lambda mu, d, add: (1 - d["hu"]) * mu / -np.expm1(-mu), kind="count")
categorical = _family("categorical", "logit", ("logit",), (),
                      lambda f, eta, d, add: pm.Categorical.dist(logit_p=eta), lambda y, add: y, kind="categorical")
hurdle_lognormal = _family(
    "hurdle_lognormal", "identity", ("identity",), (SIGMA, HU),
    lambda f, eta, d, add: pm.HurdleLogNormal.dist(psi=1 - d["hu"], mu=_linked(f, eta), sigma=d["sigma"]),
    _positive("hurdle_lognormal", zero_ok=True),
    epred=lambda mu, d, add: (1 - d["hu"]) * np.exp(mu + d["sigma"] ** 2 / 2), log_scale=True)
