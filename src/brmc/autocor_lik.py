"""The likelihood pieces of brms 2.18's time-series terms, as PyTensor graphs.

Two formulations, as brms's Stan code has them for families with natural residuals (gaussian):

- **regression (predictor) ARMA** (``ar()``, ``ma()``, ``arma()`` with ``cov = FALSE``, the default):
  :func:`arma_mu` adds the lagged residuals to the predictor exactly as brms's ``model`` block
  loop does (``mu[n] += Err[n, 1:Kma] * ma; err[n] = Y[n] - mu[n]; ...; mu[n] += Err[n, 1:Kar] * ar``,
  the lags within the group only, zero before a group's first row), and the likelihood is then
  the family's own (``normal_lpdf(Y | mu, sigma)``, :func:`normal_arma_lpdf`).  This conditions on
  zero pre-sample residuals; it is not the stationary density.
- **covariance** (``cosy()``, ``unstr()``, and ``cov = TRUE`` with orders up to one): each group's series
  is multivariate normal with covariance ``sigma^2 * C``, ``C``'s Cholesky factor from
  :func:`cholesky_cor_ar1`, :func:`cholesky_cor_ma1`, :func:`cholesky_cor_arma1` or
  :func:`cholesky_cor_cosy` (brms's Stan functions of the same names), or ``unstr()``'s ``Lcortime``
  (a group with time points missing: the sub-matrix of those it has, brms 2.19's ``_flex`` functions), summed by
  :func:`normal_time_lpdf` (brms's ``normal_time_hom_lpdf``/``normal_time_het_lpdf``, no ``se``)
  or :func:`student_time_lpdf` (``student_t_time_hom_lpdf``/``_het_lpdf``).

:func:`arma_mu` gives ``mu`` only, so a student model adds its own ``student_t_lpdf(Y | nu, mu,
sigma)`` to it as brms does.

Examples
--------
>>> import numpy as np
>>> from brmc.autocor import TimeSeries
>>> series = TimeSeries.from_groups(np.array([0, 0, 0]))
>>> mu = arma_mu(np.array([1.0, 2.0, 0.0]), np.zeros(3), ar=np.array([0.5]), ma=None, series=series)
>>> mu.eval()
array([0. , 0.5, 1. ])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt

from .autocor import TimeSeries
from .multivariate import real_tensor, std_mvn_cholesky_lpdf, std_mvt_cholesky_lpdf

_LOG_2PI = float(np.log(2 * np.pi))


def _coefficients(values: Any) -> pt.TensorVariable | None:
    if values is None:
        return None
    values = real_tensor(values)
    return values if values.type.shape != (0,) else None


def arma_mu(y: Any, eta: Any, ar: Any, ma: Any, series: TimeSeries) -> pt.TensorVariable:
    """brms's ARMA predictor: ``eta`` plus AR terms of past residuals and MA terms of past errors.

    Parameters
    ----------
    y : array or tensor, shape (N,)
        The response, rows in :func:`brmc.autocor.order_rows`'s order.
    eta : array or tensor, shape (N,)
        The predictor without the ARMA terms.
    ar, ma : array or tensor of shape (p,) / (q,), or None
        The coefficients (``None`` or empty: that part is absent).
    series : TimeSeries
        The groups' rows.

    Returns
    -------
    pytensor.tensor.TensorVariable, shape (N,)
        ``mu`` as brms's Stan loop leaves it.

    Examples
    --------
    >>> import numpy as np
    >>> from brmc.autocor import TimeSeries
    >>> series = TimeSeries.from_groups(np.array([0, 0, 1, 1]))
    >>> arma_mu(np.ones(4), np.zeros(4), None, np.array([0.5]), series).eval()
    array([0. , 0.5, 0. , 0.5])
    """
    ar, ma = _coefficients(ar), _coefficients(ma)
    y, eta = real_tensor(y), real_tensor(eta)
    kar = 0 if ar is None else pt.get_vector_length(ar)  # the orders must be static
    kma = 0 if ma is None else pt.get_vector_length(ma)
    index, valid = series.index, series.valid
    resid = (y - eta)[index]  # (groups, longest)
    steps = index.shape[1]
    if kma == 0:
        # no MA part: the lagged 'errors' are plain residuals, so no recursion is needed
        shift = pt.zeros_like(resid)
        for lag in range(1, kar + 1):
            if lag < steps:
                shift = shift + ar[lag - 1] * pt.concatenate([pt.zeros_like(resid[:, :lag]), resid[:, :-lag]], axis=1)
        mu_pad = eta[index] + shift
    else:
        max_lag = max(kar, kma)

        def step(r_t, eta_t, lagged, ar_c, ma_c):
            ma_part = pt.dot(lagged[:, :kma], ma_c)
            err_t = r_t - ma_part
            mu_t = eta_t + ma_part + (pt.dot(lagged[:, :kar], ar_c) if kar else 0.0)
            return mu_t, pt.concatenate([err_t[:, None], lagged[:, :-1]], axis=1)

        init = pt.zeros((index.shape[0], max_lag), dtype=resid.dtype)
        ar_c = ar if ar is not None else pt.zeros(0)
        (mu_steps, _), _ = pytensor.scan(step, sequences=[resid.T, eta[index].T], outputs_info=[None, init],
                                         non_sequences=[ar_c, ma], strict=False)
        mu_pad = mu_steps.T
    real = np.flatnonzero(valid)
    return pt.zeros_like(eta)[index.ravel()[real]].set(mu_pad.flatten()[real])


def normal_arma_lpdf(y: Any, eta: Any, sigma: Any, ar: Any, ma: Any, series: TimeSeries) -> pt.TensorVariable:
    """``normal_lpdf(Y | mu, sigma)`` with ``mu`` from :func:`arma_mu`: brms's gaussian ARMA likelihood.

    Parameters
    ----------
    y, eta : array or tensor, shape (N,)
        Response and predictor (ordered rows).
    sigma : scalar or (N,) array or tensor
        Residual standard deviation.
    ar, ma : array or tensor, or None
        The coefficients.
    series : TimeSeries
        The groups' rows.

    Returns
    -------
    pytensor.tensor.TensorVariable
        The summed log density.

    Examples
    --------
    >>> import numpy as np
    >>> from brmc.autocor import TimeSeries
    >>> s = TimeSeries.from_groups(np.zeros(2, dtype=int))
    >>> round(float(normal_arma_lpdf(np.zeros(2), np.zeros(2), 1.0, [0.3], None, s).eval()), 4)
    -1.8379
    """
    z = (real_tensor(y) - arma_mu(y, eta, ar, ma, series)) / sigma
    return pt.sum(-0.5 * z**2 - pt.log(sigma * pt.ones_like(z)) - 0.5 * _LOG_2PI)


def _lags(n: int) -> np.ndarray:
    rows, cols = np.indices((n, n))
    return np.abs(rows - cols)


def cholesky_cor_ar1(ar: Any, n: int) -> pt.TensorVariable:
    """brms's ``cholesky_cor_ar1``: Cholesky factor of ``ar^|i-j| / (1 - ar^2)``.

    Parameters
    ----------
    ar : scalar tensor
        The AR(1) coefficient.
    n : int
        Rows (the longest series).

    Returns
    -------
    pytensor.tensor.TensorVariable, shape (n, n)

    Examples
    --------
    >>> np.round(cholesky_cor_ar1(0.6, 2).eval(), 3)  # rows of L: 1/0.8 and (0.75, 1)
    array([[1.25, 0.  ],
           [0.75, 1.  ]])
    """
    ar = real_tensor(ar)
    return pt.linalg.cholesky(ar ** _lags(n) / (1 - ar**2))


def cholesky_cor_ma1(ma: Any, n: int) -> pt.TensorVariable:
    """brms's ``cholesky_cor_ma1``: Cholesky factor of ``1 + ma^2`` on the diagonal, ``ma`` beside it.

    Parameters
    ----------
    ma : scalar tensor
        The MA(1) coefficient.
    n : int
        Rows.

    Returns
    -------
    pytensor.tensor.TensorVariable, shape (n, n)

    Examples
    --------
    >>> L = cholesky_cor_ma1(0.5, 3).eval()
    >>> np.round(L @ L.T, 2)
    array([[1.25, 0.5 , 0.  ],
           [0.5 , 1.25, 0.5 ],
           [0.  , 0.5 , 1.25]])
    """
    ma = real_tensor(ma)
    lag = _lags(n)
    return pt.linalg.cholesky(pt.where(lag == 0, 1 + ma**2, pt.where(lag == 1, ma, 0.0)))


def cholesky_cor_arma1(ar: Any, ma: Any, n: int) -> pt.TensorVariable:
    """brms's ``cholesky_cor_arma1``: the ARMA(1, 1) autocovariances over ``1 - ar^2``.

    Parameters
    ----------
    ar, ma : scalar tensors
        The coefficients.
    n : int
        Rows.

    Returns
    -------
    pytensor.tensor.TensorVariable, shape (n, n)

    Examples
    --------
    >>> L = cholesky_cor_arma1(0.5, 0.0, 2).eval()  # no MA part: the AR(1) matrix
    >>> np.allclose(L, cholesky_cor_ar1(0.5, 2).eval())
    True
    """
    ar, ma = real_tensor(ar), real_tensor(ma)
    lag = _lags(n)
    gamma = (1 + ar * ma) * (ar + ma) * ar ** np.maximum(lag - 1, 0)
    return pt.linalg.cholesky(pt.where(lag == 0, 1 + ma**2 + 2 * ar * ma, gamma) / (1 - ar**2))


def cholesky_cor_cosy(cosy: Any, n: int) -> pt.TensorVariable:
    """brms's ``cholesky_cor_cosy``: Cholesky factor of the compound-symmetry correlation matrix.

    Parameters
    ----------
    cosy : scalar tensor
        The common correlation (brms bounds it to [0, 1]).
    n : int
        Rows.

    Returns
    -------
    pytensor.tensor.TensorVariable, shape (n, n)

    Examples
    --------
    >>> np.round(cholesky_cor_cosy(0.5, 2).eval(), 3)
    array([[1.   , 0.   ],
           [0.5  , 0.866]])
    """
    cosy = real_tensor(cosy)
    return pt.linalg.cholesky(pt.where(np.eye(n, dtype=bool), 1.0, cosy * np.ones((n, n))))


def normal_time_lpdf(y: Any, mu: Any, sigma: Any, chol_cor: Any, series: TimeSeries) -> pt.TensorVariable:
    """Sum over groups of ``multi_normal_cholesky(y_g | mu_g, diag(sigma_g) * chol_cor[1:n_g, 1:n_g])``.

    brms's ``normal_time_hom_lpdf`` (scalar ``sigma``) and ``normal_time_het_lpdf`` (one ``sigma``
    per row), without user ``se``; with ``series.times`` (``unstr()``) their ``_flex`` forms, a group's
    block of ``chol_cor`` that of its time points.  Groups of the same time points share one batched
    triangular solve.

    Parameters
    ----------
    y, mu : array or tensor, shape (N,)
        Response and predictor (ordered rows).
    sigma : scalar or (N,) array or tensor
        Residual standard deviation.
    chol_cor : tensor, shape (longest, longest)
        From one of the ``cholesky_cor_*`` functions, or ``unstr()``'s over all time points.
    series : TimeSeries
        The groups' rows.

    Returns
    -------
    pytensor.tensor.TensorVariable
        The summed log density.

    Examples
    --------
    >>> from brmc.autocor import TimeSeries
    >>> s = TimeSeries.from_groups(np.zeros(2, dtype=int))
    >>> round(float(normal_time_lpdf(np.zeros(2), np.zeros(2), 1.0, np.eye(2), s).eval()), 4)
    -1.8379
    """
    return _by_group_length(y, mu, sigma, chol_cor, series, std_mvn_cholesky_lpdf)


def student_time_lpdf(y: Any, nu: Any, mu: Any, sigma: Any, chol_cor: Any, series: TimeSeries) -> pt.TensorVariable:
    """brms's ``student_t_time_hom_lpdf``/``_het_lpdf``: each group multivariate Student-t with scale
    matrix ``diag(sigma_g) C diag(sigma_g)``, ``C = chol_cor chol_cor'`` (no user ``se``).

    Parameters
    ----------
    y, mu : array or tensor, shape (N,)
        Response and predictor (ordered rows).
    nu : scalar tensor
        Degrees of freedom.
    sigma : scalar or (N,) array or tensor
        Scale.
    chol_cor : tensor, shape (longest, longest)
        From one of the ``cholesky_cor_*`` functions.
    series : TimeSeries
        The groups' rows.

    Returns
    -------
    pytensor.tensor.TensorVariable

    Examples
    --------
    >>> from brmc.autocor import TimeSeries
    >>> s = TimeSeries.from_groups(np.zeros(1, dtype=int))
    >>> round(float(student_time_lpdf(np.zeros(1), 1.0, np.zeros(1), 1.0, np.eye(1), s).eval()), 4)
    -1.1447
    """
    return _by_group_length(y, mu, sigma, chol_cor, series,
                            lambda z, chol: std_mvt_cholesky_lpdf(z, real_tensor(nu), chol))


def _by_group_length(y: Any, mu: Any, sigma: Any, chol_cor: Any, series: TimeSeries,
                     density: Callable[[Any, Any], pt.TensorVariable]) -> pt.TensorVariable:
    """``density(z, chol)`` of each group's standardised residuals, the groups of one set of time points
    batched: the leading block of ``chol_cor`` for the points ``0, 1, ..., n - 1`` (every group of a
    ``cosy()`` term), else the Cholesky factor of the points' sub-matrix of the correlation matrix
    (``unstr()`` with time points missing: brms's ``_flex`` likelihoods)."""
    y, mu = real_tensor(y), real_tensor(mu)
    chol_cor = real_tensor(chol_cor)
    sigma_rows = real_tensor(sigma) * pt.ones_like(y)
    z = (y - mu) / sigma_rows
    total = -pt.sum(pt.log(sigma_rows))
    cor = None
    for points, rows in series.patterns():
        size = len(points)
        if np.array_equal(points, np.arange(size)):
            chol = chol_cor[:size, :size]
        else:
            cor = pt.dot(chol_cor, chol_cor.T) if cor is None else cor
            chol = pt.linalg.cholesky(cor[points][:, points])
        total = total + density(z[rows].T, chol)
    return total
