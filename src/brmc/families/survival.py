"""brms's Cox proportional hazards family, ``cox``, with its M-spline baseline hazard, and the
discrete Weibull, ``discrete_weibull`` (P(Y >= y) = mu^(y^shape), y = 0, 1, ...).

As brms 2.18: the hazard is ``bhaz(t) * mu`` with ``bhaz = Zbhaz · sbhaz`` and the cumulative
hazard ``cbhaz = Zcbhaz · sbhaz``, where ``Zbhaz`` is ``splines2::mSpline(y, df = 5, intercept =
TRUE)`` of the response (cubic, one interior knot at the median, boundary knots min(y) − range/50
(not below 0) and max(y) + range/50), ``Zcbhaz`` its integral (``splines2::iSpline``) and
``sbhaz`` a simplex with a ``dirichlet(1)`` prior.  The log density is ``log(bhaz) + log(mu) -
cbhaz mu``, the log survival ``-cbhaz mu``.  As brms, neither expected values nor draws of the
response are defined.

Example:
    >>> Z, C = bhaz_basis(np.array([1.0, 2.0, 4.0, 8.0]))
    >>> Z.shape, bool(np.all(np.diff(C, axis=0) >= 0))
    ((4, 5), True)
"""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy.interpolate import BSpline

from ..censoring import register_survival
from ..errors import FamilyError
from .core import (
    SHAPE,
    DistPar,
    Family,
    _counts,
    _family,
    _linked,
    _positive,
    draw_size,
)

#: brms's ``bhaz`` defaults: ``df = 5``, ``intercept = TRUE`` (cubic M-splines)
BHAZ_DF, BHAZ_DEGREE = 5, 3
SBHAZ = DistPar("sbhaz", default_prior="dirichlet(1)", size=BHAZ_DF, basis=True)


def bhaz_basis(y: np.ndarray, df: int = BHAZ_DF, degree: int = BHAZ_DEGREE) -> tuple[np.ndarray, np.ndarray]:
    """brms's baseline-hazard bases of the response: the M-spline basis ``Zbhaz`` and its integral
    from the lower boundary knot, the I-spline basis ``Zcbhaz`` (``splines2``'s ``mSpline`` and
    ``iSpline`` with an intercept and brms's boundary knots).

    Parameters
    ----------
    y : numpy.ndarray
        The survival times.
    df : int
        The number of basis functions.
    degree : int
        The polynomial degree.

    Returns
    -------
    tuple of numpy.ndarray
        ``(Zbhaz, Zcbhaz)``, each rows × ``df``.

    Examples
    --------
    >>> Z, C = bhaz_basis(np.linspace(1.0, 10.0, 20))
    >>> bool(np.allclose(C[-1].sum(), 4.9, atol=0.1))  # each I-spline rises from 0 towards 1
    True
    """
    y = np.asarray(y, dtype=float)
    spread = y.max() - y.min()
    lower, upper = max(y.min() - spread / 50, 0.0), y.max() + spread / 50
    interior = np.quantile(y, np.linspace(0, 1, df - degree + 1)[1:-1])
    knots = np.r_[[lower] * (degree + 1), interior, [upper] * (degree + 1)]
    order = degree + 1
    columns, integrals = [], []
    for i in range(df):
        spline = BSpline(knots, np.eye(df)[i], degree, extrapolate=False)
        scale = order / (knots[i + order] - knots[i])  # an M-spline integrates to 1
        antiderivative = spline.antiderivative()
        columns.append(scale * np.nan_to_num(spline(y)))
        integrals.append(scale * (antiderivative(y) - antiderivative(lower)))
    return np.stack(columns, axis=1), np.stack(integrals, axis=1)


def _cox_logp(y, mu, bhaz, cbhaz):
    """brms's cox_lpdf: log(bhaz) + log(mu) - cbhaz mu (the time enters through the bases)."""
    return pt.log(bhaz) + pt.log(mu) - cbhaz * mu


def _cox_logcdf(y, mu, bhaz, cbhaz, **kwargs):
    return pt.log1mexp(-cbhaz * mu)


def _cox_log_survival(y, mu, bhaz, cbhaz):
    """brms's cox_lccdf: -cbhaz mu."""
    return -cbhaz * mu


register_survival("cox", _cox_log_survival)


def _no_draws(*args, **kwargs):
    raise FamilyError("Cannot sample from the posterior predictive distribution for family 'cox' (as brms).")


def _cox(f: Family, eta, d: dict, add: dict):
    bhaz = (add["Zbhaz"] * d["sbhaz"]).sum(axis=-1)
    cbhaz = (add["Zcbhaz"] * d["sbhaz"]).sum(axis=-1)
    return pm.CustomDist.dist(_linked(f, eta), bhaz, cbhaz, logp=_cox_logp, logcdf=_cox_logcdf, random=_no_draws,
                              class_name="cox")


def _cox_epred(mu, d, add):
    raise FamilyError("Cannot compute expected values of the posterior predictive distribution for family "
                      "'cox' (as brms).")


def _cox_bases(y: np.ndarray, add: dict) -> dict[str, np.ndarray]:
    """The additions a cox model reads from its response: brms's ``Zbhaz`` and ``Zcbhaz``."""
    if "cens" in add and (add["cens"] == 2).any():
        raise FamilyError("Family 'cox' takes left- and right-censored times; brms 2.18 has no interval "
                          "censoring for it.")
    Z, C = bhaz_basis(y)
    return {"Zbhaz": Z, "Zcbhaz": C}


cox = _family("cox", "log", ("log", "identity", "softplus", "squareplus"), (SBHAZ,), _cox, _positive("cox"),
              epred=_cox_epred, response_additions=_cox_bases)


def _dw_log_survival(y, mu, shape):
    """brms's discrete_weibull_lccdf: log P(Y > y) = (y + 1)^shape log(mu)."""
    return (y + 1) ** shape * pt.log(mu)


def _dw_logp(y, mu, shape):
    """brms's discrete_weibull_lpmf, log(mu^(y^shape) - mu^((y + 1)^shape)), as a log difference."""
    upper = y**shape * pt.log(mu)
    return upper + pt.log1mexp(_dw_log_survival(y, mu, shape) - upper)


def _dw_logcdf(y, mu, shape, **kwargs):
    return pt.log1mexp(_dw_log_survival(y, mu, shape))


def _dw_random(mu, shape, rng=None, size=None):
    """brms's qdiscrete_weibull of uniforms: ceiling((log(1 - u) / log(mu))^(1 / shape) - 1)."""
    u = rng.uniform(size=draw_size(size, mu, shape))
    return np.ceil((np.log1p(-u) / np.log(mu)) ** (1 / shape) - 1).astype(np.int64)


register_survival("discrete_weibull", _dw_log_survival)


def _discrete_weibull(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(_linked(f, eta), d["shape"], logp=_dw_logp, logcdf=_dw_logcdf, random=_dw_random,
                              dtype="int64", class_name="discrete_weibull")


def _dw_epred(mu, d: dict, add: dict, most: int = 1000, threshold: float = 0.001):
    """brms's mean_discrete_weibull: sum_{y = 1}^{M} mu^(y^shape), M where the terms fall below
    ``threshold`` for every draw and row (at most ``most``, with brms's warning beyond)."""
    mu, shape = np.broadcast_arrays(mu, d["shape"])
    last = int(np.ceil(np.max((np.log(threshold) / np.log(mu)) ** (1 / shape))))
    if last > most:
        warnings.warn("Approximating the mean of the 'discrete_weibull' distribution failed and results be "
                      "inaccurate.", UserWarning, stacklevel=4)
        last = most
    return sum(mu ** (y**shape) for y in range(1, last + 1))


discrete_weibull = _family("discrete_weibull", "logit", ("logit", "probit", "cloglog", "cauchit", "identity"),
                           (SHAPE,), _discrete_weibull, _counts("discrete_weibull"), epred=_dw_epred, kind="count")

