"""The prior distributions brms knows, in one table, and a prior as an object (:class:`Dist`).

Each entry names the distribution's arguments in Stan's order, its support,
and the PyMC distribution with those arguments.  A :class:`Dist` (a name and its
arguments) is checked against it when it is made, from a rule's numbers or from brms's text
by :func:`parse_dist`; text is parsed once, where a rule or ``brmc.prior`` is written, and
a ``Dist`` is written back as text only when printed.  The model stage writes each prior's
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
    >>> print(Dist("student_t", (3.0, 288.7, 59.3)))
    student_t(3, 288.7, 59.3)
    >>> import pymc as pm
    >>> round(float(pm.logp(pymc_dist("exponential", (2.0,)), 0.5).eval()), 4)
    -0.3069
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pytensor.tensor import TensorVariable

from .errors import PriorError, close_matches
from .rlang import r_number


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


#: arguments that must be positive, wherever a distribution of the table has them
POSITIVE_ARGS = frozenset({"sigma", "nu", "rate", "shape", "scale", "a", "b", "eta"})
#: figures of the data a rule's prior may name until the data are known (shifted_lognormal's
#: ``uniform(0, min_Y)``, as brms writes it); :meth:`Dist.bind` puts in their values
DATA_FIGURES = ("min_Y",)
#: the texts of a flat prior (brms's ``""``; brmc also reads ``"flat"`` and ``"(flat)"``)
FLAT_TEXTS = frozenset({"", "(flat)", "flat"})


@dataclass(frozen=True)
class Dist:
    """A prior distribution of the table: its name and its arguments in Stan's order.

    An argument is a number, or the name of a figure of the data (:data:`DATA_FIGURES`) until
    :meth:`bind` gives it its value.  ``text`` is how a rule or a user wrote it, printed back
    as written (brms prints a user's ``normal(0,10)`` and its own ``normal(5.0, 0.8)`` so); a
    ``Dist`` made from numbers prints them as R does.  Equality reads the name and arguments only.

    Example:
        >>> Dist("normal", (0.0, 10.0)) == parse_dist("normal(0,10)"), str(parse_dist("normal(0,10)"))
        (True, 'normal(0,10)')
    """

    name: str
    args: tuple[float | str, ...]
    text: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        label = self.text or str(self)
        if self.name not in DISTRIBUTIONS:
            raise PriorError(f"Unknown prior distribution {self.name!r} in {label!r}.{close_matches(self.name, DISTRIBUTIONS)} "
                             f"Available: {', '.join(DISTRIBUTIONS)}.")
        names = DISTRIBUTIONS[self.name].args
        if len(self.args) != len(names):
            raise PriorError(f"Prior {label!r}: {self.name} takes {len(names)} argument(s) ({', '.join(names)}), "
                             f"got {len(self.args)}.")
        for arg_name, value in zip(names, self.args):
            if isinstance(value, str):
                if value not in DATA_FIGURES:
                    raise PriorError(f"Prior {label!r}: arguments must be numbers.")
                continue
            if arg_name in POSITIVE_ARGS and not value > 0:
                raise PriorError(f"Prior {label!r}: {arg_name} must be positive, got {r_number(value)}.")
            if not np.isfinite(value):
                raise PriorError(f"Prior {label!r}: {arg_name} must be finite.")
        if self.name == "uniform" and self.numeric and not self.args[0] < self.args[1]:
            raise PriorError(f"Prior {label!r}: the lower bound must be below the upper bound.")

    def __str__(self) -> str:
        return self.text or f"{self.name}({', '.join(a if isinstance(a, str) else r_number(a) for a in self.args)})"

    @property
    def numeric(self) -> bool:
        """Whether every argument is a number (no figure of the data left to :meth:`bind`)."""
        return not any(isinstance(a, str) for a in self.args)

    @property
    def support(self) -> tuple[float, float]:
        """Where it has density: the table's support, a uniform's own bounds."""
        if self.name == "uniform":
            return self.args[0], self.args[1]
        return DISTRIBUTIONS[self.name].lower, DISTRIBUTIONS[self.name].upper

    def bind(self, figures: Mapping[str, float]) -> Dist:
        """Itself with each figure of the data it names replaced by its value in ``figures``.

        Example:
            >>> Dist("uniform", (0.0, "min_Y")).bind({"min_Y": 192.5}).args
            (0.0, 192.5)
        """
        if self.numeric:
            return self
        return Dist(self.name, tuple(float(figures[a]) if isinstance(a, str) else a for a in self.args))


def parse_dist(text: str) -> Dist | None:
    """A distribution written as Stan and brms write it; a flat prior (``""``) is ``None``.

    Example:
        >>> parse_dist("student_t(3, 0, 2.5)")
        Dist(name='student_t', args=(3.0, 0.0, 2.5))
    """
    text = (text or "").strip()
    if text in FLAT_TEXTS:
        return None
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)", text)
    if not m:
        raise PriorError(f"Malformed prior {text!r}: write it as Stan does, e.g. 'normal(0, 10)'.")
    name, inner = m.group(1), m.group(2)
    if name == "lkj_corr_cholesky":
        name = "lkj"
    pieces = [p.strip() for p in inner.split(",")] if inner.strip() else []
    try:
        args = tuple(p if p in DATA_FIGURES else float(p) for p in pieces)
    except ValueError:
        if name in DISTRIBUTIONS and len(pieces) == len(DISTRIBUTIONS[name].args):
            raise PriorError(f"Prior {text!r}: arguments must be numbers.") from None
        args = tuple(pieces)  # the wrong name or number of arguments is the error to report
    return Dist(name, args, text)


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
