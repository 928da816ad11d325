"""The prior distributions brms knows, in one table.

Each entry names the distribution's arguments in Stan's order, its support,
and the PyMC distribution with those arguments.  The prior parser checks
priors against it (:mod:`brmc.priors`), the model stage writes each prior's
log density with it (:mod:`brmc.model`), and prior draws come from the same
PyMC distributions (:func:`bounded_dist`, :func:`lkj_correlation`); the log
prior of power-scaling is the model's own prior terms evaluated at the draws.  ``lkj`` is the one
entry without a PyMC constructor: its density is written on the Cholesky factor of the
correlation matrix (:func:`brmc.graph.cholesky_corr`).  ``dirichlet`` (one concentration for
every element, as brms's ``dirichlet(1)``) is written on a mixture's ``theta`` by the model
and on a monotonic simplex by its kind (:mod:`brmc.terms.sp`).

Example:
    >>> DISTRIBUTIONS["student_t"].args
    ('nu', 'mu', 'sigma')
    >>> import pymc as pm
    >>> round(float(pm.logp(pymc_dist("exponential", (2.0,)), 0.5).eval()), 4)
    -0.3069
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable


@dataclass(frozen=True)
class Distribution:
    """One prior distribution: Stan's argument names, its support and its PyMC constructor
    (``None`` for ``lkj``), called with the arguments in Stan's order."""

    args: tuple[str, ...]
    lower: float
    upper: float
    pymc: Callable[..., TensorVariable] | None


#: distribution name → its arguments, support and PyMC distribution
DISTRIBUTIONS: dict[str, Distribution] = {
    "normal": Distribution(("mu", "sigma"), -np.inf, np.inf,
                           lambda a, **kw: pm.Normal.dist(mu=a[0], sigma=a[1], **kw)),
    "student_t": Distribution(("nu", "mu", "sigma"), -np.inf, np.inf,
                              lambda a, **kw: pm.StudentT.dist(nu=a[0], mu=a[1], sigma=a[2], **kw)),
    "cauchy": Distribution(("mu", "sigma"), -np.inf, np.inf,
                           lambda a, **kw: pm.Cauchy.dist(alpha=a[0], beta=a[1], **kw)),
    "exponential": Distribution(("rate",), 0.0, np.inf, lambda a, **kw: pm.Exponential.dist(lam=a[0], **kw)),
    "gamma": Distribution(("shape", "rate"), 0.0, np.inf,
                          lambda a, **kw: pm.Gamma.dist(alpha=a[0], beta=a[1], **kw)),
    "inv_gamma": Distribution(("shape", "scale"), 0.0, np.inf,
                              lambda a, **kw: pm.InverseGamma.dist(alpha=a[0], beta=a[1], **kw)),
    "lognormal": Distribution(("mu", "sigma"), 0.0, np.inf,
                              lambda a, **kw: pm.LogNormal.dist(mu=a[0], sigma=a[1], **kw)),
    "uniform": Distribution(("lower", "upper"), np.nan, np.nan,
                            lambda a, **kw: pm.Uniform.dist(lower=a[0], upper=a[1], **kw)),
    "beta": Distribution(("a", "b"), 0.0, 1.0, lambda a, **kw: pm.Beta.dist(alpha=a[0], beta=a[1], **kw)),
    "logistic": Distribution(("mu", "sigma"), -np.inf, np.inf,
                             lambda a, **kw: pm.Logistic.dist(mu=a[0], s=a[1], **kw)),
    "lkj": Distribution(("eta",), np.nan, np.nan, None),
    # brms's dirichlet(alpha) on a whole simplex (a mixture's theta): every concentration alpha
    "dirichlet": Distribution(("alpha",), np.nan, np.nan, lambda a, size, **kw: pm.Dirichlet.dist(
        a=pt.full(size, a[0]), **kw)),
}


def pymc_dist(name: str, args: Sequence[Any], **kwargs: Any) -> TensorVariable:
    """The PyMC distribution ``name`` with Stan's arguments ``args`` (numbers or tensors);
    ``kwargs`` (``size``) go to its ``.dist``.  Numbers are made float64 (PyTensor would
    make ``2.0`` a float32 constant and compute its density in single precision).

    Example:
        >>> pymc_dist("normal", (1.0, 2.0)).owner.inputs[-1].dtype
        'float64'
    """
    args = [np.float64(a) if np.isscalar(a) else a for a in args]
    return DISTRIBUTIONS[name].pymc(args, **kwargs)


#: distributions symmetric about their location, by the position of the location argument
_SYMMETRIC = {"normal": 0, "student_t": 1, "cauchy": 0}


def bounded_dist(name: str, args: Sequence[float], lb: float | None, ub: float | None,
                 size: tuple[int, ...]) -> TensorVariable:
    """Draws of the distribution ``name`` truncated to (``lb``, ``ub``) (``None``: unbounded),
    by the inverse cdf of a uniform between the bounds' cdfs; a distribution symmetric about 0
    cut at 0 (brms's half-normal, half-Student-t, half-Cauchy ``sd`` priors) as the absolute
    value of its draws, which the inverse cdf near the median loses to rounding.

    Example:
        >>> x = pm.draw(bounded_dist("normal", (0.0, 1.0), 0.0, None, (1000,)), random_seed=1)
        >>> bool(x.min() > 0), round(float(x.mean()), 1)
        (True, 0.8)
    """
    if lb is None and ub is None:
        return pymc_dist(name, args, size=size)
    if lb == 0 and ub is None and name in _SYMMETRIC and float(args[_SYMMETRIC[name]]) == 0:
        return pt.abs(pymc_dist(name, args, size=size))
    dist = pymc_dist(name, args)
    lo = np.float64(0.0) if lb is None else pt.exp(pm.logcdf(dist, np.float64(lb)))
    hi = np.float64(1.0) if ub is None else pt.exp(pm.logcdf(dist, np.float64(ub)))
    return pm.icdf(dist, pm.Uniform.dist(lower=lo, upper=hi, size=size))


def lkj_correlation(eta: float, M: int, size: tuple[int, ...]) -> TensorVariable:
    """Draws of one correlation of an M × M ``lkj(eta)`` correlation matrix:
    Beta(eta − 1 + M/2, eta − 1 + M/2) on (−1, 1).

    Example:
        >>> x = pm.draw(lkj_correlation(1.0, 2, (4000,)), random_seed=1)  # uniform on (-1, 1)
        >>> round(float(x.std()), 1)  # 1 / sqrt(3)
        0.6
    """
    b = eta - 1.0 + M / 2.0
    return 2.0 * pymc_dist("beta", (b, b), size=size) - 1.0
