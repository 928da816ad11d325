"""The functions a non-linear formula may call, each defined once over a pluggable backend.

brms 2.18 pastes the right-hand side of a non-linear formula into the Stan model as it is and,
for predictions, evaluates the same text in R; a function must therefore exist in Stan *and* in R
(base R, or one of the R versions of Stan functions brms defines in ``R/numeric-helpers.R``).
:data:`FUNCTIONS` holds that set.  Each entry is written once in terms of a :class:`Backend`'s
primitives (``exp``, ``log1p``, ``where``, ...), so the NumPy evaluation used for predictions and
the PyTensor graph used for sampling cannot drift apart.

Where Stan and brms's R helper disagree, the Stan definition (the one the model is fitted with)
is used: ``step(0)`` is 1 as in Stan (brms's R ``step`` gives 0), ``cbrt`` of a negative number is
the real cube root (R's ``x^(1/3)`` gives ``NaN``).  ``fmin``/``fmax`` are Stan functions that brms's
R side lacks; they are allowed and evaluate in both backends here.

Examples
--------
>>> import numpy as np
>>> FUNCTIONS["inv_logit"].apply(NUMPY, np.array([0.0]))
array([0.5])
>>> sorted(FUNCTIONS)[:4]
['Phi', 'abs', 'acos', 'acosh']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytensor.tensor as pt
import scipy.special

#: the square root of 2, for ``Phi``.
_SQRT2 = float(np.sqrt(2.0))


@dataclass(frozen=True)
class Backend:
    """The array primitives the formula functions are written in.

    Parameters
    ----------
    name : str
        ``"numpy"`` or ``"pytensor"`` (shown in messages).
    exp, log, log1p, expm1, sqrt, abs, sign, floor, round, trunc, expit, softplus, erfc, gammaln,
    digamma, trigamma, sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, tanh, arcsinh, arccosh,
    arctanh : callable
        Elementwise functions of one array.
    power, arctan2, minimum, maximum, eq : callable
        Elementwise functions of two arrays (broadcasting); ``power`` computes in double precision
        also for integers (R's ``^``: ``2L^-1L`` is 0.5), ``eq`` is elementwise ``==`` (a PyTensor
        variable's ``==`` compares identity).
    where : callable
        ``where(condition, a, b)``.
    """

    name: str
    exp: Callable[[Any], Any]
    log: Callable[[Any], Any]
    log1p: Callable[[Any], Any]
    expm1: Callable[[Any], Any]
    sqrt: Callable[[Any], Any]
    abs: Callable[[Any], Any]
    sign: Callable[[Any], Any]
    floor: Callable[[Any], Any]
    round: Callable[[Any], Any]
    trunc: Callable[[Any], Any]
    expit: Callable[[Any], Any]
    softplus: Callable[[Any], Any]
    erfc: Callable[[Any], Any]
    gammaln: Callable[[Any], Any]
    digamma: Callable[[Any], Any]
    trigamma: Callable[[Any], Any]
    sin: Callable[[Any], Any]
    cos: Callable[[Any], Any]
    tan: Callable[[Any], Any]
    arcsin: Callable[[Any], Any]
    arccos: Callable[[Any], Any]
    arctan: Callable[[Any], Any]
    sinh: Callable[[Any], Any]
    cosh: Callable[[Any], Any]
    tanh: Callable[[Any], Any]
    arcsinh: Callable[[Any], Any]
    arccosh: Callable[[Any], Any]
    arctanh: Callable[[Any], Any]
    power: Callable[[Any, Any], Any]
    arctan2: Callable[[Any, Any], Any]
    minimum: Callable[[Any, Any], Any]
    maximum: Callable[[Any, Any], Any]
    where: Callable[[Any, Any, Any], Any]
    eq: Callable[[Any, Any], Any]


def _round_half_away(x: Any) -> Any:
    """R's and Stan's ``round``: halves away from zero (NumPy's ``round`` rounds them to even)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


#: NumPy and SciPy (predictions, checks).
NUMPY = Backend(
    name="numpy", exp=np.exp, log=np.log, log1p=np.log1p, expm1=np.expm1, sqrt=np.sqrt, abs=np.abs,
    sign=np.sign, floor=np.floor, round=_round_half_away, trunc=np.trunc, expit=scipy.special.expit,
    softplus=lambda x: np.logaddexp(0.0, x), erfc=scipy.special.erfc, gammaln=scipy.special.gammaln,
    digamma=scipy.special.digamma, trigamma=lambda x: scipy.special.polygamma(1, x), sin=np.sin,
    cos=np.cos, tan=np.tan, arcsin=np.arcsin, arccos=np.arccos, arctan=np.arctan, sinh=np.sinh,
    cosh=np.cosh, tanh=np.tanh, arcsinh=np.arcsinh, arccosh=np.arccosh, arctanh=np.arctanh,
    power=np.float_power, arctan2=np.arctan2, minimum=np.fmin, maximum=np.fmax, where=np.where, eq=np.equal,
)

#: PyTensor (the model graph).
PYTENSOR = Backend(
    name="pytensor", exp=pt.exp, log=pt.log, log1p=pt.log1p, expm1=pt.expm1, sqrt=pt.sqrt, abs=pt.abs,
    sign=pt.sign, floor=pt.floor, round=lambda x: pt.round(x, mode="half_away_from_zero"),
    trunc=pt.trunc, expit=pt.sigmoid, softplus=pt.softplus, erfc=pt.erfc, gammaln=pt.gammaln,
    digamma=pt.digamma, trigamma=pt.tri_gamma, sin=pt.sin, cos=pt.cos, tan=pt.tan, arcsin=pt.arcsin,
    arccos=pt.arccos, arctan=pt.arctan, sinh=pt.sinh, cosh=pt.cosh, tanh=pt.tanh, arcsinh=pt.arcsinh,
    arccosh=pt.arccosh, arctanh=pt.arctanh, power=lambda a, b: pt.power(pt.cast(a, "float64"), b), arctan2=pt.arctan2, minimum=pt.minimum,
    maximum=pt.maximum, where=pt.where, eq=pt.eq,
)


@dataclass(frozen=True)
class Function:
    """One function of the expression language.

    Parameters
    ----------
    name : str
        The name as written in the formula (Stan's and R's).
    arity : int
        The number of arguments.
    body : callable
        ``body(backend, *args)``, written in the backend's primitives only.
    doc : str
        What it computes, for the docs and error messages.
    """

    name: str
    arity: int
    body: Callable[..., Any]
    doc: str

    def apply(self, backend: Backend, *args: Any) -> Any:
        """Evaluate on ``args`` with ``backend``'s primitives.

        Parameters
        ----------
        backend : Backend
            :data:`NUMPY` or :data:`PYTENSOR`.
        *args : array or tensor
            ``arity`` arguments.

        Returns
        -------
        array or tensor

        Examples
        --------
        >>> float(FUNCTIONS["pow"].apply(NUMPY, 2.0, 3.0))
        8.0
        """
        return self.body(backend, *args)


def _lbeta(m: Backend, a: Any, b: Any) -> Any:
    """log Beta(a, b), once for ``lbeta`` and ``beta``."""
    return m.gammaln(a) + m.gammaln(b) - m.gammaln(a + b)


def _log_sum_exp(m: Backend, x: Any, y: Any) -> Any:
    top = m.maximum(x, y)
    return top + m.log1p(m.exp(-m.abs(x - y)))


_TABLE: list[tuple[str, int, Callable[..., Any], str]] = [
    # exponentials and logarithms
    ("exp", 1, lambda m, x: m.exp(x), "e^x"),
    ("exp2", 1, lambda m, x: m.power(2.0, x), "2^x"),
    ("expm1", 1, lambda m, x: m.expm1(x), "e^x - 1"),
    ("log", 1, lambda m, x: m.log(x), "natural logarithm"),
    ("log2", 1, lambda m, x: m.log(x) / np.log(2.0), "base-2 logarithm"),
    ("log10", 1, lambda m, x: m.log(x) / np.log(10.0), "base-10 logarithm"),
    ("log1p", 1, lambda m, x: m.log1p(x), "log(1 + x)"),
    ("log1m", 1, lambda m, x: m.log1p(-x), "log(1 - x)"),
    ("log1p_exp", 1, lambda m, x: m.softplus(x), "log(1 + e^x)"),
    ("log1m_exp", 1, lambda m, x: m.log(-m.expm1(x)), "log(1 - e^x), x < 0"),
    ("log_sum_exp", 2, _log_sum_exp, "log(e^x + e^y)"),
    ("log_diff_exp", 2, lambda m, x, y: x + m.log(-m.expm1(y - x)), "log(e^x - e^y), x > y"),
    # powers
    ("pow", 2, lambda m, x, y: m.power(x, y), "x^y"),
    ("sqrt", 1, lambda m, x: m.sqrt(x), "square root"),
    ("cbrt", 1, lambda m, x: m.sign(x) * m.power(m.abs(x), 1.0 / 3.0), "real cube root"),
    ("square", 1, lambda m, x: x * x, "x^2"),
    ("inv", 1, lambda m, x: 1.0 / x, "1 / x"),
    ("inv_sqrt", 1, lambda m, x: 1.0 / m.sqrt(x), "1 / sqrt(x)"),
    ("inv_square", 1, lambda m, x: 1.0 / (x * x), "1 / x^2"),
    ("hypot", 2, lambda m, x, y: m.sqrt(x * x + y * y), "sqrt(x^2 + y^2)"),
    # links
    ("inv_logit", 1, lambda m, x: m.expit(x), "1 / (1 + e^-x)"),
    ("logit", 1, lambda m, x: m.log(x) - m.log1p(-x), "log(x / (1 - x))"),
    ("log_inv_logit", 1, lambda m, x: -m.softplus(-x), "log(inv_logit(x))"),
    ("log1m_inv_logit", 1, lambda m, x: -m.softplus(x), "log(1 - inv_logit(x))"),
    ("inv_cloglog", 1, lambda m, x: -m.expm1(-m.exp(x)), "1 - e^(-e^x)"),
    ("Phi", 1, lambda m, x: 0.5 * m.erfc(-x / _SQRT2), "standard normal CDF"),
    # piecewise
    ("abs", 1, lambda m, x: m.abs(x), "|x|"),
    ("fabs", 1, lambda m, x: m.abs(x), "|x|"),
    ("fmin", 2, lambda m, x, y: m.minimum(x, y), "smaller of x and y"),
    ("fmax", 2, lambda m, x, y: m.maximum(x, y), "larger of x and y"),
    ("step", 1, lambda m, x: m.where(x < 0, 0.0, 1.0), "0 if x < 0, else 1 (Stan's step)"),
    ("floor", 1, lambda m, x: m.floor(x), "largest integer <= x"),
    ("round", 1, lambda m, x: m.round(x), "nearest integer, halves away from 0"),
    ("trunc", 1, lambda m, x: m.trunc(x), "integer part"),
    # special functions
    ("lgamma", 1, lambda m, x: m.gammaln(x), "log |Gamma(x)|"),
    ("digamma", 1, lambda m, x: m.digamma(x), "d/dx log Gamma(x)"),
    ("trigamma", 1, lambda m, x: m.trigamma(x), "d^2/dx^2 log Gamma(x)"),
    ("lbeta", 2, lambda m, a, b: _lbeta(m, a, b), "log Beta(a, b)"),
    ("beta", 2, lambda m, a, b: m.exp(_lbeta(m, a, b)), "Beta(a, b), a, b > 0"),
    ("multiply_log", 2, lambda m, x, y: m.where(m.eq(x, 0.0) & m.eq(y, 0.0), 0.0, x * m.log(y)),
     "x * log(y), 0 when x = y = 0"),
    # trigonometry
    ("sin", 1, lambda m, x: m.sin(x), "sine"),
    ("cos", 1, lambda m, x: m.cos(x), "cosine"),
    ("tan", 1, lambda m, x: m.tan(x), "tangent"),
    ("asin", 1, lambda m, x: m.arcsin(x), "arc sine"),
    ("acos", 1, lambda m, x: m.arccos(x), "arc cosine"),
    ("atan", 1, lambda m, x: m.arctan(x), "arc tangent"),
    ("atan2", 2, lambda m, y, x: m.arctan2(y, x), "angle of (x, y)"),
    ("sinh", 1, lambda m, x: m.sinh(x), "hyperbolic sine"),
    ("cosh", 1, lambda m, x: m.cosh(x), "hyperbolic cosine"),
    ("tanh", 1, lambda m, x: m.tanh(x), "hyperbolic tangent"),
    ("asinh", 1, lambda m, x: m.arcsinh(x), "inverse hyperbolic sine"),
    ("acosh", 1, lambda m, x: m.arccosh(x), "inverse hyperbolic cosine"),
    ("atanh", 1, lambda m, x: m.arctanh(x), "inverse hyperbolic tangent"),
]

#: name → :class:`Function`: everything a non-linear formula may call.
FUNCTIONS: dict[str, Function] = {name: Function(name, arity, body, doc) for name, arity, body, doc in _TABLE}
