"""brms's ``wiener`` family: the first-passage times of a Wiener diffusion, ``rt | dec(resp) ~ x``.

``mu`` is the drift rate, ``bs`` the boundary separation, ``ndt`` the non-decision time and ``bias`` the
relative starting point; ``dec()`` says which boundary each response reached (1 or "upper", 0 or "lower").
Random draws are response times (either boundary; brms's ``negative_rt`` negates the lower ones): the
boundary from its closed-form probability, the time from that boundary's numerically inverted cdf
(:func:`wiener_draws`), as brms's from RWiener's quantile function. The density is Stan's ``wiener_lpdf``
(brms's ``wiener_diffusion``: at the upper boundary with ``(bs, ndt, bias, mu)``, at the lower one with
``(bs, ndt, 1 - bias, -mu)``): Navarro & Fuss's (2009) small-time or large-time series, whichever needs fewer
terms, with Stan's bound on the number of terms for an error of 1e-6, written once (:func:`_series`) for the
model's graph (:func:`wiener_logp`) and for NumPy arrays (:func:`wiener_log_density`: ``log_lik``, ``loo``
and the draws, with no graph to compile or to fold in Python). Terms are computed up to :data:`MAX_TERMS`
(on NumPy arrays up to the most any element needs) and those past Stan's count masked out; more than that
many are needed only for normalised times (t - ndt) / bs² past (MAX_TERMS π)², where every large-time term
past the first is below 1e-300.

Example:
    >>> import numpy as np
    >>> lp = wiener_logp(np.array(0.8), np.array(1.0), np.array(1.5), np.array(0.3), np.array(0.5), np.array(1.0))
    >>> round(float(lp.eval()), 6)
    -0.263288
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .continuous import NDT
from .core import _POSITIVE_LINKS, DistPar, Family, _family, _positive, draw_size

#: the most series terms computed (Stan's count is at most this below normalised times of ~987)
MAX_TERMS = 10
#: Stan's error bound of the series (``WIENER_ERR``)
WIENER_ERR = 1e-6


def _most_terms(xp, K, branch) -> int:
    """How many series terms to compute: :data:`MAX_TERMS` in the graph; on NumPy arrays the most that Stan's
    counts ``K`` of the elements taking the ``branch`` need (the masked terms past them add nothing)."""
    if xp is not np:
        return MAX_TERMS
    return int(min(MAX_TERMS, np.max(np.where(branch, K, 1.0), initial=1.0)))


def _series(xp, y, dec, bs, ndt, bias, mu):
    """Stan's ``wiener_lpdf`` written once for NumPy (``xp = numpy``) and PyTensor (``xp = pytensor.tensor``):
    both have the functions used here under the same names."""
    upper = xp.equal(dec, 1)
    w = xp.where(upper, 1 - bias, bias)  # Stan's one_minus_beta at the upper boundary
    v = xp.where(upper, mu, -mu)
    a2 = xp.square(bs)
    x = (y - ndt) / a2
    positive = x > 0
    x = xp.where(positive, x, 1.0)  # a harmless value where the density is 0
    sqrt_x, log_x = xp.sqrt(x), xp.log(x)
    # Stan's term counts, as it writes them
    # (each bound's logarithm taken only where it is used, so that no branch is NaN)
    floor_l = sqrt_x / np.pi
    large_ok = np.pi * WIENER_ERR * x < 1
    log_err_x = xp.where(large_ok, np.log(np.pi * WIENER_ERR) + log_x, -1.0)
    kl = xp.where(large_ok, xp.maximum(xp.sqrt(-2.0 * np.sqrt(np.pi) * log_err_x) / sqrt_x, floor_l), floor_l)
    small_err = 2.0 * np.sqrt(2.0 * np.pi) * WIENER_ERR * sqrt_x
    small_ok = small_err < 1
    ks = xp.where(small_ok, xp.maximum(2.0 + sqrt_x * xp.sqrt(-2.0 * xp.log(xp.where(small_ok, small_err, 0.5))),
                                       sqrt_x + 1.0), 2.0)
    small = ks < kl
    # the terms on a last axis, those past Stan's count masked out
    K = xp.ceil(xp.where(small, ks, kl))
    most_small, most_large = (_most_terms(xp, K, branch) for branch in (small, ~small))
    K, w3, x3 = K[..., None], w[..., None], x[..., None]
    k = np.arange(-(most_small // 2), most_small // 2 + 1, dtype=float)
    inside = (k >= -xp.floor((K - 1) / 2)) & (k <= xp.ceil((K - 1) / 2))
    small_sum = xp.sum(xp.where(inside, (w3 + 2 * k) * xp.exp(-xp.square(w3 + 2 * k) * 0.5 / x3), 0.0), axis=-1)
    k = np.arange(1, most_large + 1, dtype=float)
    large_sum = xp.sum(xp.where(k <= K, k * xp.exp(-k**2 * (np.pi**2 / 2) * x3) * xp.sin(k * np.pi * w3), 0.0),
                       axis=-1)
    # each branch's log only where it is taken (the other's sum may be <= 0 there; keeps gradients finite)
    log_small = xp.log(xp.where(small, small_sum, 1.0)) - (0.5 * np.log(2.0) + 0.5 * np.log(np.pi)) - 1.5 * log_x
    log_large = xp.log(xp.where(small, 1.0, large_sum)) + np.log(np.pi)
    lp = v * bs * w - xp.square(v) * x * a2 / 2.0 - xp.log(a2) + xp.where(small, log_small, log_large)
    return xp.where(positive, lp, -np.inf)


def wiener_logp(y, dec, bs, ndt, bias, mu):
    """Log density of response times ``y`` with decisions ``dec`` (1 upper, 0 lower), as Stan's
    ``wiener_lpdf`` after brms's ``wiener_diffusion_lpdf``; ``-inf`` where ``y <= ndt``: the model's graph.

    Parameters
    ----------
    y, dec, bs, ndt, bias, mu : array_like or TensorVariable
        Response times, decisions, boundary separations, non-decision times, relative biases and
        drift rates (broadcast together).

    Returns
    -------
    TensorVariable
        The log densities.

    Examples
    --------
    >>> float(wiener_logp(np.array(0.2), np.array(1.0), 1.0, 0.3, 0.5, 0.0).eval())
    -inf
    """
    return _series(pt, *(v if isinstance(v, pt.Variable) else pt.as_tensor_variable(np.asarray(v, dtype=float))
                         for v in (y, dec, bs, ndt, bias, mu)))


#: elements per batch of :func:`wiener_log_density` and :func:`wiener_draws` (each holds 11 series terms)
BATCH = 2**16


def wiener_log_density(y, dec, bs, ndt, bias, mu) -> np.ndarray:
    """:func:`wiener_logp` on NumPy arrays, in batches of :data:`BATCH` elements (brms's ``log_lik`` of
    every draw and row; the same series, with no graph to compile).

    Parameters
    ----------
    y, dec, bs, ndt, bias, mu : array_like
        Response times, decisions, boundary separations, non-decision times, relative biases and
        drift rates (broadcast together).

    Returns
    -------
    numpy.ndarray
        The log densities, in the inputs' broadcast shape.

    Examples
    --------
    >>> round(float(wiener_log_density(0.8, 1.0, 1.5, 0.3, 0.5, 1.0)), 6)
    -0.263288
    """
    args = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (y, dec, bs, ndt, bias, mu)))
    flat = [a.ravel() for a in args]
    out = np.empty(flat[0].size)
    with np.errstate(all="ignore"):  # np.where computes both branches; the masked ones may overflow
        for start in range(0, out.size, BATCH):
            out[start:start + BATCH] = _series(np, *(a[start:start + BATCH] for a in flat))
    return out.reshape(args[0].shape)


#: points of the time grid on which :func:`wiener_draws` inverts the cdf
GRID = 128


def upper_probability(mu, bs, bias) -> np.ndarray:
    """The probability that the diffusion ends at the upper boundary: (1 - e^(-2 mu z)) / (1 - e^(-2 mu bs)),
    z = bias · bs its starting point (``bias`` where ``mu`` is 0).

    Parameters
    ----------
    mu, bs, bias : array_like
        Drift rates, boundary separations and relative biases (broadcast together).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> upper_probability(np.array([0.0, 1.0]), 1.0, 0.5).round(4).tolist()
    [0.5, 0.7311]
    """
    mu, bs, bias = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (mu, bs, bias)))
    drift = mu != 0
    safe = np.where(drift, mu, 1.0)
    return np.where(drift, np.expm1(-2 * safe * bias * bs) / np.expm1(-2 * safe * bs), bias)


def _time_grid(drift, start) -> np.ndarray:
    """Normalised times (t - ndt) / bs² at which :func:`wiener_draws` computes one boundary's cdf: 0, then
    :data:`GRID` - 1 points spaced evenly on the log scale from where the density is still below e^-24
    (the Lévy-like rise, start² / 50, or 1/50 of the mean time start / drift near the drift's inverse
    Gaussian limit) to where it has fallen by e^-25 (25 / (π²/2 + drift²/2), past the mean and 12 sds
    of that limit), for drifts drift = mu · bs and relative distances start of the boundary (the
    conditional time of either boundary does not depend on the drift's sign)."""
    drift = np.maximum(np.abs(drift), 1e-12)
    lower = start * np.minimum(start, 1 / drift) / 50
    upper = np.maximum(25.0 / (np.pi**2 / 2 + np.square(drift) / 2), start / drift + 12 * np.sqrt(start / drift**3))
    return np.concatenate([np.zeros((drift.size, 1)), np.geomspace(lower, upper, GRID - 1, axis=1)], axis=1)


def wiener_draws(mu, bs, ndt, bias, rng: np.random.Generator, size=None, negative_rt: bool = False) -> np.ndarray:
    """Response times of the diffusion (either boundary), as brms's ``posterior_predict_wiener`` gives them
    (``rcontinuous`` of RWiener's quantile function): the boundary drawn with :func:`upper_probability`, then
    the time from that boundary's cdf, computed from :func:`wiener_log_density` on :func:`_time_grid`'s
    :data:`GRID` times and inverted at a uniform draw, linearly between grid points.

    Parameters
    ----------
    mu, bs, ndt, bias : array_like
        Drift rates, boundary separations, non-decision times and relative biases (broadcast together).
    rng : numpy.random.Generator
        The random numbers.
    size : tuple of int, optional
        The shape of the draws; the parameters' broadcast shape when None.
    negative_rt : bool, default False
        brms's ``negative_rt``: the times of responses at the lower boundary negated.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> rt = wiener_draws(np.zeros(3), 1.0, 0.3, 0.5, np.random.default_rng(1))
    >>> rt.shape, bool((rt > 0.3).all())
    ((3,), True)
    """
    shape = draw_size(size, mu, bs, ndt, bias)
    mu, bs, ndt, bias = (np.broadcast_to(np.asarray(v, dtype=float), shape).ravel() for v in (mu, bs, ndt, bias))
    upper = rng.uniform(size=mu.size) < upper_probability(mu, bs, bias)
    out = np.empty(mu.size)
    for start in range(0, mu.size, BATCH // GRID):
        part = slice(start, start + BATCH // GRID)
        n = len(out[part])
        u = _time_grid(mu[part] * bs[part], np.where(upper[part], 1 - bias[part], bias[part]))
        t = ndt[part, None] + np.square(bs[part, None]) * u
        dens = np.exp(wiener_log_density(t, upper[part, None], *(v[part, None] for v in (bs, ndt, bias, mu))))
        cdf = np.concatenate([np.zeros((n, 1)), np.cumsum((dens[:, 1:] + dens[:, :-1]) / 2 * np.diff(t, axis=1),
                                                          axis=1)], axis=1)
        target = rng.uniform(size=n) * cdf[:, -1]
        j = np.clip((cdf < target[:, None]).sum(axis=1), 1, GRID - 1)
        rows = np.arange(n)
        lo, hi = cdf[rows, j - 1], cdf[rows, j]
        frac = np.where(hi > lo, (target - lo) / np.where(hi > lo, hi - lo, 1.0), 0.5)
        out[part] = t[rows, j - 1] + frac * (t[rows, j] - t[rows, j - 1])
    if negative_rt:
        out = np.where(upper, out, -out)
    return out.reshape(shape)


def _log_lik(y, mu, d: dict, add: dict) -> np.ndarray:
    """brms's ``log_lik_wiener`` of every draw and row (NumPy): :func:`wiener_log_density`."""
    return wiener_log_density(y, add["dec"], d["bs"], d["ndt"], d["bias"], mu)


def _wiener(f: Family, eta, d: dict, add: dict):
    # new data need no dec(): the draws do not read it (brms's neither), only the density does
    return pm.CustomDist.dist(f.mu(eta), d["bs"], d["ndt"], d["bias"], add.get("dec", 1.0),
                              logp=lambda y, mu, bs, ndt, bias, dec: wiener_logp(y, dec, bs, ndt, bias, mu),
                              random=lambda mu, bs, ndt, bias, dec, rng=None, size=None: wiener_draws(
                                  mu, bs, ndt, bias, rng, size, add.get("negative_rt", False)))


def _epred(mu, d: dict, add: dict):
    """brms's posterior_epred_wiener, as it is written there (after Grasman et al. 2009)."""
    bs, ndt, bias = d["bs"], d["ndt"], d["bias"]
    return ndt - bias / mu + bs / mu * np.expm1(-2 * mu * bias) / np.expm1(-2 * mu * bs)


BS = DistPar("bs", lb=0.0, default_prior="gamma(1, 1)", links=_POSITIVE_LINKS, link_prior="normal(-0.6, 1.3)")
BIAS = DistPar("bias", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
               link_prior="logistic(0, 1)")

wiener = _family("wiener", "identity", ("identity", "log", "softplus", "squareplus"), (BS, NDT, BIAS), _wiener,
                 _positive("wiener"), epred=_epred, numpy_logp=_log_lik)
