"""PyMC building blocks the term kinds share: parameters with bounds and Stan's Cholesky
factor of a correlation matrix (its transform, its LKJ prior, and the same transform
compiled for draws after sampling).

Example:
    >>> cholesky_from_raw(np.zeros(1), 2)
    array([[1., 0.],
           [0., 1.]])
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.compile.mode import Mode


def parameter(name: str, shape: tuple[int, ...], lb: float | None, ub: float | None, simplex: bool = False):
    """An unconstrained (or bounded, or ``simplex``) parameter whose prior is added separately."""
    if simplex:  # Stan's simplex[K]: K - 1 free values through the stick-breaking transform
        return pm.Flat(name, shape=shape, default_transform=pm.distributions.transforms.simplex,
                       initval=np.full(shape, 1 / shape[0]))
    if lb is None and ub is None:
        return pm.Flat(name, shape=shape)
    if lb == 0 and ub is None:
        return pm.HalfFlat(name, shape=shape)
    transform = pm.distributions.transforms.Interval(lower=lb, upper=ub)
    inside = (lb + ub) / 2 if lb is not None and ub is not None else (lb + 1 if lb is not None else ub - 1)
    return pm.Flat(name, shape=shape, default_transform=transform, initval=np.full(shape, inside))


def corr_cholesky(raw: pt.TensorVariable, M: int) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Stan's ``cholesky_factor_corr[M]`` transform: the M(M-1)/2 unconstrained values on
    the last axis of ``raw`` (any leading axes are draws) → (L, log-Jacobian).

    The values map through tanh to canonical partial correlations, filled into the
    rows of L one row after the other, as Stan's ``cholesky_corr_constrain``.
    """
    z = pt.tanh(raw)
    log_jac = pt.sum(pt.log1p(-pt.sqr(z)), axis=-1)
    one, zero = pt.ones_like(z[..., 0]), pt.zeros_like(z[..., 0])
    rows = [[one] + [zero] * (M - 1)]
    k = 0
    for i in range(1, M):
        row = [z[..., k]]
        sum_sqs = pt.sqr(z[..., k])
        k += 1
        for _ in range(1, i):
            log_jac += 0.5 * pt.log1p(-sum_sqs)
            value = z[..., k] * pt.sqrt(1.0 - sum_sqs)
            row.append(value)
            sum_sqs = sum_sqs + pt.sqr(value)
            k += 1
        rows.append(row + [pt.sqrt(1.0 - sum_sqs)] + [zero] * (M - i - 1))
    return pt.stack([pt.stack(r, axis=-1) for r in rows], axis=-2), log_jac


def cholesky_corr(name: str, M: int, eta) -> pt.TensorVariable:
    """Stan's ``cholesky_factor_corr[M]`` with an ``lkj_corr_cholesky(eta)`` prior.

    ``{name}_raw`` holds the unconstrained values (:func:`corr_cholesky`); the
    log-Jacobian and the LKJ density of L (up to a constant in eta) are added as
    potentials.  The returned L is named ``name``, so that the prior term can be
    evaluated at given factors (:func:`prior_density`).
    """
    L, log_jac = corr_cholesky(pm.Flat(f"{name}_raw", shape=M * (M - 1) // 2), M)
    L.name = name
    log_diag = pt.log(pt.diagonal(L, axis1=-2, axis2=-1)[1:])
    coefs = pt.as_tensor(np.array([M - d - 1 for d in range(1, M)], dtype=float)) + 2.0 * eta - 2.0
    pm.Potential(f"{name}_jacobian", log_jac)
    pm.Potential(f"lprior_{name}_lkj", pt.sum(coefs * log_diag))
    return L


@cache
def _compiled_cholesky(M: int, ndim: int):
    raw = pt.tensor("raw", shape=(None,) * ndim)
    # NumPy's kernels on the Python linker, no C: compiling C code (and PyTensor's C virtual machine,
    # in a fresh compile directory) took 5.7 s of a cold fit's renaming (gcse_m3); NumPy runs 4,000
    # draws in 4 ms
    return pytensor.function([raw], corr_cholesky(raw, M)[0], mode=Mode(linker="py", optimizer="fast_compile"))


def cholesky_from_raw(raw: np.ndarray, M: int) -> np.ndarray:
    """The Cholesky factors of :func:`corr_cholesky` for unconstrained draws ``raw``
    (..., M(M-1)/2) → (..., M, M): the model's own transform, compiled.

    Example:
        >>> cholesky_from_raw(np.zeros(3), 3)
        array([[1., 0., 0.],
               [0., 1., 0.],
               [0., 0., 1.]])
    """
    raw = np.asarray(raw, dtype=float)
    return _compiled_cholesky(M, raw.ndim)(raw)
