"""The prior distributions brms knows, in one table.

Each entry names the distribution's arguments in Stan's order, its support,
and the PyMC distribution with those arguments.  The prior parser checks
priors against it (:mod:`brmc.priors`), the model stage writes each prior's
log density with it (:mod:`brmc.model`), and prior draws come from the same
PyMC distributions (:mod:`brmc.sensitivity`); the log prior of power-scaling
is the model's own prior terms evaluated at the draws.  ``lkj`` is the one
entry without a PyMC constructor: its density is written on the Cholesky
factor of the correlation matrix (:func:`brmc.model.cholesky_corr`).

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
