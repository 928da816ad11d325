"""Censored and truncated observations' log-likelihood (brms's ``cens()`` and ``trunc()``),
stable in the tails.

PyMC computes most log survival functions as log(1 - exp(log cdf)), which is
-inf as soon as the cdf rounds to 1 (a right-censored Weibull time 37 scale
units out), and its normal log cdf switches between two formulas of which the
unused one overflows, so that JAX's gradients through ``switch`` turn NaN.  This
module writes Stan's ``*_lcdf`` / ``*_lccdf`` functions in closed form where
they exist (weibull, exponential; gamma from whichever incomplete gamma is smaller) and, for the symmetric families
(normal, lognormal on log(y), Student's t), from the lower tail at -|z| only, so
that every branch is finite wherever it is evaluated.

Example:
    >>> import pymc as pm
    >>> from scipy import stats
    >>> dist = pm.Normal.dist(mu=0.0, sigma=1.0)
    >>> bool(np.isclose(log_survival(dist, 40.0).eval(), stats.norm.logsf(40.0), rtol=1e-14))
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .errors import DataError

#: families with a log cdf: those that take cens() and trunc()
CDF_FAMILIES = frozenset({"gaussian", "student", "lognormal", "gamma", "weibull", "exponential", "poisson",
                          "negbinomial", "geometric", "shifted_lognormal", "exgaussian", "inverse.gaussian",
                          "frechet", "asym_laplace", "gen_extreme_value", "zero_inflated_asym_laplace",
                          "discrete_weibull"})


def _normal_lower(w):
    """log Φ(w) for w ≤ 0 (exp(-w²/2) erfcx(-w/√2) / 2; erfcx stays finite for w ≤ 0)."""
    return pt.log(pt.erfcx(-w / np.sqrt(2.0)) / 2.0) - pt.sqr(w) / 2.0


def _student_lower(w, nu):
    """log P(T ≤ w) for w ≤ 0, T Student's t with ``nu`` degrees of freedom: the regularised incomplete
    beta at nu / (2 s (s - w)), s = √(w² + nu), i.e. (w + s) / (2 s) without its cancellation."""
    s = pt.sqrt(pt.sqr(w) + nu)
    return pt.log(pt.betainc(nu / 2.0, nu / 2.0, nu / (2.0 * s * (s - w))))


def _symmetric_lcdf(z, lower: Callable, *shape):
    """log F(z) of a distribution symmetric about 0 from its lower tail at -|z| alone."""
    tail = lower(-pt.abs(z), *shape)
    return pt.switch(pt.lt(z, 0.0), tail, pt.log1mexp(tail))


def _normal(y, mu, sigma, sign: float):
    return _symmetric_lcdf(sign * (y - mu) / sigma, _normal_lower)


def _lognormal(y, mu, sigma, sign: float):
    return _normal(pt.log(y), mu, sigma, sign)


def _student(y, nu, mu, sigma, sign: float):
    return _symmetric_lcdf(sign * (y - mu) / sigma, _student_lower, nu)


def _gamma(y, alpha, scale, sign: float):
    """log P(Y ≤ y) (sign 1) or log P(Y > y) (sign -1): the log of the smaller of the two regularised
    incomplete gammas, or log1p of minus it, so that neither loses its digits near 1."""
    lower, upper = pt.gammainc(alpha, y / scale), pt.gammaincc(alpha, y / scale)
    this, other = (lower, upper) if sign > 0 else (upper, lower)
    return pt.switch(pt.lt(this, 0.5), pt.log(this), pt.log1p(-other))


#: PyMC random-variable op name → log cdf (sign 1) or log survival (sign -1) at y given the op's parameters
_SIDED: dict[str, Callable] = {"normal": _normal, "lognormal": _lognormal, "t": _student, "gamma": _gamma}


#: op name → log survival function at y given the op's parameters (Stan's ``*_lccdf``)
_SURVIVAL: dict[str, Callable] = {
    "weibull": lambda y, alpha, beta: -((y / beta) ** alpha),
    "exponential": lambda y, scale: -y / scale,
}


def register_survival(op_name: str, log_survival_fn: Callable) -> None:
    """Give the distribution whose op is called ``op_name`` (a family's ``CustomDist`` ``class_name``)
    its closed-form log survival function of (y, *parameters), used for right-censored rows.

    Example:
        >>> register_survival("exponential", _SURVIVAL["exponential"])
    """
    _SURVIVAL[op_name] = log_survival_fn


def _log_side(dist, y, sign: float):
    name, params = dist.owner.op.name, dist.owner.inputs[2:]
    if name in _SIDED:
        return _SIDED[name](y, *params, sign)
    if sign < 0 and name in _SURVIVAL:
        return _SURVIVAL[name](y, *params)
    return pm.logcdf(dist, y) if sign > 0 else pm.logccdf(dist, y)


def log_cdf(dist, y):
    """log P(Y ≤ y) of the PyMC distribution ``dist``: its arguments and result are those of
    :func:`log_survival`.

    Examples
    --------
    >>> round(float(log_cdf(pm.LogNormal.dist(0.0, 1.0), np.exp(-40.0)).eval()), 4)
    -804.6084
    """
    return _log_side(dist, y, 1.0)


def log_survival(dist, y):
    """log P(Y > y) of the PyMC distribution ``dist`` (a tensor), stable where the cdf rounds to 1.

    Parameters
    ----------
    dist : TensorVariable
        A distribution made with ``pm.<Dist>.dist(...)``.
    y : tensor_like
        Values.

    Returns
    -------
    TensorVariable
        The log survival function at ``y``.

    Examples
    --------
    >>> float(log_survival(pm.Weibull.dist(alpha=2.0, beta=1.0), 50.0).eval())
    -2500.0
    """
    return _log_side(dist, y, -1.0)


def censored_logp(dist, y, y2, cens, count: bool = False):
    """Each observation's log-likelihood under brms's censoring codes.

    ``cens`` is -1 (left: Y ≤ y), 0 (none: the density at y), 1 (right: Y > y;
    for counts, Y ≥ y) or 2 (interval: y < Y ≤ y2).  The interval probability
    is a difference of cdfs below the median and of survival functions above
    it; where a row is not interval-censored its log1mexp is fed -1, since
    log1mexp(0) = -inf has a NaN gradient even in an unselected branch.

    Parameters
    ----------
    dist : TensorVariable
        The response distribution (``pm.<Dist>.dist(...)``), one per observation.
    y, y2 : tensor_like
        The response and the upper bounds of interval-censored rows.
    cens : tensor_like
        The censoring codes.
    count : bool
        Whether the response is a count (right-censoring then means Y ≥ y).

    Returns
    -------
    TensorVariable
        The pointwise log-likelihood.

    Examples
    --------
    >>> dist = pm.Exponential.dist(lam=np.array([1.0, 1.0, 1.0, 1.0]))
    >>> censored_logp(dist, np.array([1.0, 1.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0, 2.0]),
    ...               np.array([-1, 0, 1, 2])).eval().round(4)
    array([-0.4587, -1.    , -1.    , -1.4587])
    """
    interval = pt.eq(cens, 2)
    cdf_lo, sf_lo = log_cdf(dist, y), log_survival(dist, y)
    within = _log_between(cdf_lo, log_cdf(dist, y2), sf_lo, log_survival(dist, y2), interval)
    right = log_survival(dist, y - 1) if count else sf_lo
    return pt.switch(pt.eq(cens, -1), cdf_lo,
                     pt.switch(pt.eq(cens, 1), right, pt.switch(interval, within, pm.logp(dist, y))))


def _log_between(cdf_lo, cdf_hi, sf_lo, sf_hi, rows=None):
    """log P(lo < Y <= hi) from the log cdfs and log survival functions at lo and hi: a difference
    of cdfs below the median, of survival functions above it.  Where ``rows`` (default: all) is
    false the differences are replaced by -1 (log1mexp(0) = -inf has a NaN gradient even where unused)."""
    lower, upper = cdf_lo - cdf_hi, sf_hi - sf_lo
    if rows is not None:
        lower, upper = pt.switch(rows, lower, -1.0), pt.switch(rows, upper, -1.0)
    below = cdf_hi + pt.log1mexp(lower)
    above = sf_lo + pt.log1mexp(upper)
    return pt.switch(pt.lt(cdf_hi, np.log(0.5)), below, above)


def truncated_log_mass(dist, y, lb, ub, count: bool = False):
    """log P(lb < Y <= ub) (counts: lb <= Y <= ub), the normaliser brms subtracts for ``trunc()``:
    its ``_lccdf(lb)``, ``_lcdf(ub)`` or ``log_diff_exp`` of the two, from one stable formula.

    An infinite bound (no bound on that side) contributes its exact log cdf (0 or -inf); the
    cdf is then evaluated at the response ``y`` instead, which is finite, and not used.

    Parameters
    ----------
    dist : TensorVariable
        The response distribution, one per observation.
    y : tensor_like
        The response (finite values at which to evaluate unused branches).
    lb, ub : tensor_like
        The truncation bounds, -inf / inf where there is none.
    count : bool
        Whether the response is a count (then ``lb`` itself is inside the bounds).

    Returns
    -------
    TensorVariable
        The log probability between the bounds.

    Examples
    --------
    >>> from scipy import stats
    >>> dist = pm.Normal.dist(mu=np.zeros(3), sigma=1.0)
    >>> ours = truncated_log_mass(dist, np.zeros(3), np.array([-1.0, -np.inf, -1.0]),
    ...                           np.array([np.inf, 1.0, 2.0])).eval()
    >>> theirs = np.log([stats.norm.sf(-1), stats.norm.cdf(1), stats.norm.cdf(2) - stats.norm.cdf(-1)])
    >>> bool(np.allclose(ours, theirs))
    True
    """
    lower = lb - 1 if count else lb
    no_lb, no_ub = pt.isinf(lower), pt.isinf(ub)
    lo, hi = pt.switch(no_lb, y, lower), pt.switch(no_ub, y, ub)
    cdf_lo = pt.switch(no_lb, -np.inf, log_cdf(dist, lo))
    cdf_hi = pt.switch(no_ub, 0.0, log_cdf(dist, hi))
    sf_lo = pt.switch(no_lb, 0.0, log_survival(dist, lo))
    sf_hi = pt.switch(no_ub, -np.inf, log_survival(dist, hi))
    return _log_between(cdf_lo, cdf_hi, sf_lo, sf_hi)


def truncation_arguments(args: list[str]) -> tuple[str, str]:
    """The texts of the bounds of brms's ``trunc(lb = -Inf, ub = Inf)``, named (``lb = 150``) or by
    position.

    Parameters
    ----------
    args : list of str
        The argument texts of ``trunc()``.

    Returns
    -------
    tuple of str
        ``(lb, ub)``: a column name or a number each, ``"-Inf"`` / ``"Inf"`` where not given.

    Examples
    --------
    >>> truncation_arguments(["ub = 3"])
    ('-Inf', '3')
    >>> truncation_arguments(["0", "u"])
    ('0', 'u')
    """
    bounds, positions = {"lb": "-Inf", "ub": "Inf"}, iter(("lb", "ub"))
    for arg in args:
        name, value = (p.strip() for p in arg.split("=", 1)) if "=" in arg else (next(positions, ""), arg)
        if name not in bounds:
            raise DataError(f"trunc() takes the bounds lb and ub (e.g. trunc(lb = 0, ub = 10)); got {arg!r}.")
        bounds[name] = value.replace(" ", "")
    return bounds["lb"], bounds["ub"]


def check_truncation(y: np.ndarray, additions: dict[str, np.ndarray]) -> None:
    """Refuse responses outside their ``trunc()`` bounds (brms: 'Some responses are outside of the
    truncation bounds.').

    Example:
        >>> check_truncation(np.array([1.0, 2.0]), {"lb": np.zeros(2), "ub": np.full(2, np.inf)})
    """
    outside = (y < additions["lb"]) | (y > additions["ub"]) if "lb" in additions else np.zeros(len(y), bool)
    if outside.any():
        raise DataError(f"{int(outside.sum())} response value(s) lie outside the truncation bounds of trunc(), "
                        f"e.g. {y[outside][0]:g}.")
