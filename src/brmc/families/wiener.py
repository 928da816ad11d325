"""brms's ``wiener`` family: the first-passage times of a Wiener diffusion, ``rt | dec(resp) ~ x``.

``mu`` is the drift rate, ``bs`` the boundary separation, ``ndt`` the non-decision time and ``bias``
the relative starting point; ``dec()`` says which boundary each response reached (1 or "upper", 0 or
"lower").  The density is Stan's ``wiener_lpdf`` (brms's ``wiener_diffusion``: at the upper boundary
with ``(bs, ndt, bias, mu)``, at the lower one with ``(bs, ndt, 1 - bias, -mu)``): Navarro & Fuss's
(2009) small-time or large-time series, whichever needs fewer terms, with Stan's bound on the number
of terms for an error of 1e-6.  Terms are computed up to :data:`MAX_TERMS` and those past Stan's count
masked out; more than that many are needed only for normalised times (t - ndt) / bs² past
(MAX_TERMS π)², where every large-time term past the first is below 1e-300.

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

from ..errors import FamilyError
from .continuous import NDT
from .core import _POSITIVE_LINKS, DistPar, Family, _family, _positive

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


def _no_draws(*args, **kwargs):
    raise FamilyError("posterior_predict of family 'wiener' is not implemented in brmc: brms draws the "
                      "first-passage times with RWiener's rwiener, for which brmc has no sampler yet; "
                      "log_lik, loo and posterior_epred work.")


def _wiener(f: Family, eta, d: dict, add: dict):
    return pm.CustomDist.dist(f.mu(eta), d["bs"], d["ndt"], d["bias"], add["dec"],
                              logp=lambda y, mu, bs, ndt, bias, dec: wiener_logp(y, dec, bs, ndt, bias, mu),
                              random=_no_draws)


def _epred(mu, d: dict, add: dict):
    """brms's posterior_epred_wiener, as it is written there (after Grasman et al. 2009)."""
    bs, ndt, bias = d["bs"], d["ndt"], d["bias"]
    return ndt - bias / mu + bs / mu * np.expm1(-2 * mu * bias) / np.expm1(-2 * mu * bs)


BS = DistPar("bs", lb=0.0, default_prior="gamma(1, 1)", links=_POSITIVE_LINKS, link_prior="normal(-0.6, 1.3)")
BIAS = DistPar("bias", lb=0.0, ub=1.0, default_prior="beta(1, 1)", links=("logit", "identity"),
               link_prior="logistic(0, 1)")

wiener = _family("wiener", "identity", ("identity", "log", "softplus", "squareplus"), (BS, NDT, BIAS), _wiener,
                 _positive("wiener"), epred=_epred)
