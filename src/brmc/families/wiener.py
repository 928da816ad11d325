"""brms's ``wiener`` family: the first-passage times of a Wiener diffusion, ``rt | dec(resp) ~ x``.

``mu`` is the drift rate, ``bs`` the boundary separation, ``ndt`` the non-decision time and ``bias`` the
relative starting point; ``dec()`` says which boundary each response reached (1 or "upper", 0 or "lower").
Random draws are response times (either boundary) from the numerically inverted cdf (:func:`wiener_draws`), as
brms's from RWiener's quantile function. The density is Stan's ``wiener_lpdf`` (brms's ``wiener_diffusion``:
at the upper boundary with ``(bs, ndt, bias, mu)``, at the lower one with ``(bs, ndt, 1 - bias, -mu)``):
Navarro & Fuss's (2009) small-time or large-time series, whichever needs fewer terms, with Stan's bound on the
number of terms for an error of 1e-6. Terms are computed up to :data:`MAX_TERMS` and those past Stan's count
masked out; more than that many are needed only for normalised times (t - ndt) / bs² past (MAX_TERMS π)²,
where every large-time term past the first is below 1e-300.

Example:
    >>> import numpy as np
    >>> lp = wiener_logp(np.array(0.8), np.array(1.0), np.array(1.5), np.array(0.3), np.array(0.5), np.array(1.0))
    >>> round(float(lp.eval()), 6)
    -0.263288
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from .continuous import NDT
from .core import _POSITIVE_LINKS, DistPar, Family, _family, _positive, draw_size

#: the most series terms computed (Stan's count is at most this below normalised times of ~987)
MAX_TERMS = 10
#: Stan's error bound of the series (``WIENER_ERR``)
WIENER_ERR = 1e-6


def wiener_logp(y, dec, bs, ndt, bias, mu):
    """Log density of response times ``y`` with decisions ``dec`` (1 upper, 0 lower), as Stan's
    ``wiener_lpdf`` after brms's ``wiener_diffusion_lpdf``; ``-inf`` where ``y <= ndt``.

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
    y, dec, bs, ndt, bias, mu = (v if isinstance(v, pt.Variable) else pt.as_tensor_variable(np.asarray(v, dtype=float))
                                 for v in (y, dec, bs, ndt, bias, mu))
    w = pt.switch(pt.eq(dec, 1), 1 - bias, bias)  # Stan's one_minus_beta at the upper boundary
    v = pt.switch(pt.eq(dec, 1), mu, -mu)
    a2 = pt.sqr(bs)
    x = (y - ndt) / a2
    positive = pt.gt(x, 0)
    x = pt.switch(positive, x, 1.0)  # a harmless value where the density is 0
    sqrt_x, log_x = pt.sqrt(x), pt.log(x)
    # Stan's term counts, as it writes them
    # (each bound's logarithm taken only where it is used, so that no branch is NaN)
    floor_l = sqrt_x / np.pi
    large_ok = pt.lt(np.pi * WIENER_ERR * x, 1)
    log_err_x = pt.switch(large_ok, np.log(np.pi * WIENER_ERR) + log_x, -1.0)
    kl = pt.switch(large_ok, pt.maximum(pt.sqrt(-2.0 * np.sqrt(np.pi) * log_err_x) / sqrt_x, floor_l), floor_l)
    small_err = 2.0 * np.sqrt(2.0 * np.pi) * WIENER_ERR * sqrt_x
    small_ok = pt.lt(small_err, 1)
    ks = pt.switch(small_ok, pt.maximum(2.0 + sqrt_x * pt.sqrt(-2.0 * pt.log(pt.switch(small_ok, small_err, 0.5))),
                                        sqrt_x + 1.0), 2.0)
    small = pt.lt(ks, kl)
    # the terms on a last axis, those past Stan's count masked out
    K, w3, x3 = pt.ceil(pt.switch(small, ks, kl))[..., None], w[..., None], x[..., None]
    k = np.arange(-(MAX_TERMS // 2), MAX_TERMS // 2 + 1, dtype=float)
    inside = (k >= -pt.floor((K - 1) / 2)) & (k <= pt.ceil((K - 1) / 2))
    small_sum = pt.sum(pt.switch(inside, (w3 + 2 * k) * pt.exp(-pt.sqr(w3 + 2 * k) * 0.5 / x3), 0.0), axis=-1)
    k = np.arange(1, MAX_TERMS + 1, dtype=float)
    large_sum = pt.sum(pt.switch(k <= K, k * pt.exp(-k**2 * (np.pi**2 / 2) * x3) * pt.sin(k * np.pi * w3), 0.0),
                       axis=-1)
    # each branch's log only where it is taken (the other's sum may be <= 0 there; keeps gradients finite)
    log_small = pt.log(pt.switch(small, small_sum, 1.0)) - (0.5 * np.log(2.0) + 0.5 * np.log(np.pi)) - 1.5 * log_x
    log_large = pt.log(pt.switch(small, 1.0, large_sum)) + np.log(np.pi)
    lp = v * bs * w - pt.sqr(v) * x * a2 / 2.0 - pt.log(a2) + pt.switch(small, log_small, log_large)
    return pt.switch(positive, lp, -np.inf)


#: points of the time grid on which :func:`wiener_draws` inverts the cdf, and elements per batch
GRID, BATCH = 128, 8000


@cache
def _density_function() -> Callable:
    """The density of :func:`wiener_logp`, compiled once, on flat arrays."""
    inputs = [pt.dvector(name) for name in ("t", "dec", "bs", "ndt", "bias", "mu")]
    return pytensor.function(inputs, pt.exp(wiener_logp(*inputs)))


def wiener_draws(mu, bs, ndt, bias, rng: np.random.Generator, size=None) -> np.ndarray:
    """Response times of the diffusion (either boundary), as brms's ``posterior_predict_wiener`` gives them
    (``rcontinuous`` of RWiener's quantile function): the joint cdf of boundary and time, computed from
    :func:`wiener_logp` on a grid of :data:`GRID` normalised times up to where the density has fallen by
    e^-25 (closer together near 0) and inverted at uniform draws, linearly between grid points.

    Parameters
    ----------
    mu, bs, ndt, bias : array_like
        Drift rates, boundary separations, non-decision times and relative biases (broadcast together).
    rng : numpy.random.Generator
        The random numbers.
    size : tuple of int, optional
        The shape of the draws; the parameters' broadcast shape when None.

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
    out = np.empty(mu.size)
    density = _density_function()
    for start in range(0, mu.size, BATCH):
        part = slice(start, start + BATCH)
        n = len(out[part])
        u_max = 25.0 / (np.pi**2 / 2 + np.square(mu[part] * bs[part]) / 2)  # normalised times (t - ndt) / bs²
        u = np.linspace(0.0, 1.0, GRID)[None, :] ** 1.5 * u_max[:, None]  # closer where the density rises
        t = ndt[part, None] + np.square(bs[part, None]) * u
        args = [np.repeat(v[part], GRID) for v in (bs, ndt, bias, mu)]
        dens = [density(t.ravel(), np.full(n * GRID, d), *args).reshape(n, GRID) for d in (1.0, 0.0)]
        steps = np.diff(t, axis=1)
        mass = [np.concatenate([np.zeros((n, 1)), np.cumsum((f[:, 1:] + f[:, :-1]) / 2 * steps, axis=1)], axis=1)
                for f in dens]
        cdf = np.concatenate([mass[0], mass[1] + mass[0][:, -1:]], axis=1)  # the upper boundary's, then the lower's
        times = np.concatenate([t, t], axis=1)
        target = rng.uniform(size=n) * cdf[:, -1]
        j = np.clip((cdf < target[:, None]).sum(axis=1), 1, 2 * GRID - 1)
        rows = np.arange(n)
        lo, hi = cdf[rows, j - 1], cdf[rows, j]
        frac = np.where(hi > lo, (target - lo) / np.where(hi > lo, hi - lo, 1.0), 0.5)
        out[part] = times[rows, j - 1] + frac * (times[rows, j] - times[rows, j - 1])
    return out.reshape(shape)


def _wiener(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(f.mu(eta), d["bs"], d["ndt"], d["bias"], add["dec"],
                              logp=lambda y, mu, bs, ndt, bias, dec: wiener_logp(y, dec, bs, ndt, bias, mu),
                              random=lambda mu, bs, ndt, bias, dec, rng=None, size=None: wiener_draws(
                                  mu, bs, ndt, bias, rng, size))


def _epred(mu, d: dict, add: dict):
    """brms's posterior_epred_wiener, as it is written there (after Grasman et al. 2009)."""
    bs, ndt, bias = d["bs"], d["ndt"], d["bias"]
    return ndt - bias / mu + bs / mu * np.expm1(-2 * mu * bias) / np.expm1(-2 * mu * bs)


BS = DistPar("bs", lb=0.0, default_prior="gamma(1, 1)", links=_POSITIVE_LINKS, link_prior="normal(-0.6, 1.3)")
BIAS = DistPar("bias", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
               link_prior="logistic(0, 1)")

wiener = _family("wiener", "identity", ("identity", "log", "softplus", "squareplus"), (BS, NDT, BIAS), _wiener,
                 _positive("wiener"), epred=_epred)
