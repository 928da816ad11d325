"""brms's families of a matrix response, ``cbind(y1, y2, y3) ~ x``: ``multinomial`` (counts out of
``trials()``), ``dirichlet`` and ``logistic_normal`` (rows on the simplex).

Like ``categorical``, ``mu`` is one linear predictor per category but the reference (brms's
``mu<cat>``, the reference's fixed at 0), joined by the softmax (brms's joint ``logit`` link,
``multinomial_logit2`` and ``dirichlet_logit`` in Stan); the dirichlet's concentrations are the
softmax times ``phi``.  ``eta`` has the categories on its last axis.  The logistic normal is brms's
``logistic_normal_cholesky_cor``: the log ratios ``log(y_k / y_ref)`` of the non-reference categories
are multivariate normal with means ``mu<cat>`` (identity link), sds ``sigma<cat>`` and correlations
``lncor`` (brms's ``dlogistic_normal``: that density minus the sum of ``log(y)``).

Example:
    >>> import numpy as np
    >>> fam = multinomial()
    >>> fam.kind, fam.multicol, fam.cats_dpars
    ('multinomial', True, True)
    >>> fam.expected(np.zeros((1, 2, 4)), {}, {"trials": np.array([4.0, 8.0])}).tolist()
    [[[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0]]]
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from ..errors import FamilyError
from .core import _POSITIVE_LINKS, PHI, DistPar, Family, _family


def softmax(eta):
    """The softmax over the last axis of a NumPy array or a tensor (brms's inverse joint logit).

    Parameters
    ----------
    eta : numpy.ndarray or TensorVariable
        Linear predictors, the categories on the last axis (the reference's 0).

    Returns
    -------
    numpy.ndarray or TensorVariable
        The category probabilities.

    Examples
    --------
    >>> softmax(np.log(np.array([1.0, 3.0]))).tolist()
    [0.25, 0.75]
    """
    if isinstance(eta, (np.ndarray, np.generic)):
        return special.softmax(eta, axis=-1)
    return pt.special.softmax(eta, axis=-1)


def _concentration(eta, phi):
    """The dirichlet's concentrations: the softmax times ``phi`` (one per row or per draw)."""
    return softmax(eta) * phi[..., None]


def _as_matrix(y, add: dict) -> np.ndarray:
    """The response matrix as floats (its checks are :func:`brmc.categories.matrix_response`'s)."""
    return np.asarray(y, dtype=float)


def _reference(f: Family) -> tuple[int, list[int]]:
    """The position of the reference category and those of the others."""
    ref = f.categories.index(f.refcat if f.refcat is not None else f.categories[0])
    return ref, [k for k in range(len(f.categories)) if k != ref]


def _forward_solve(L, r, m: int):
    """``L⁻¹ r`` over the last axis of ``r`` (length ``m``; ``L`` lower triangular) by forward substitution,
    its few rows written out (this compiles faster than a batched triangular solve)."""
    z: list = []
    for i in range(m):
        known = sum((L[..., i, j] * z[j] for j in range(i)), start=pt.zeros_like(r[..., i]))
        z.append((r[..., i] - known) / L[..., i, i])
    return pt.stack(z, axis=-1)


def _logistic_normal_logp(ref: int, keep: list[int]):
    def logp(value, eta, sigma, L):
        ratios = pt.log(value[..., keep]) - pt.log(value[..., ref:ref + 1])
        z = _forward_solve(L, (ratios - eta[..., keep]) / sigma, len(keep))
        log_det = pt.sum(pt.log(sigma), axis=-1) + pt.sum(pt.log(pt.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
        return (-0.5 * pt.sum(pt.sqr(z), axis=-1) - log_det - 0.5 * len(keep) * np.log(2 * np.pi)
                - pt.sum(pt.log(value), axis=-1))
    return logp


def _logistic_normal_random(ref: int, keep: list[int]):
    def random(eta, sigma, L, rng=None, size=None):
        shape = tuple(size) if size is not None else np.broadcast_shapes(eta.shape[:-1], sigma.shape[:-1],
                                                                          L.shape[:-2])
        normal = rng.standard_normal(shape + (len(keep),))
        ratios = eta[..., keep] + sigma * np.einsum("...ij,...j->...i", L, normal)
        return softmax(np.insert(ratios, ref, 0.0, axis=-1))
    return random


def _logistic_normal(f: Family, eta, d: dict, add: dict):
    ref, keep = _reference(f)
    numpy = isinstance(eta, np.ndarray)
    rows = eta.shape[:-1] if numpy else eta[..., 0].shape
    sds = [d[p.name] for p in f.dpars if p.cls == "sigma"]
    sigma = (np.stack([np.broadcast_to(s, rows) for s in sds], axis=-1) if numpy
             else pt.stack([s + pt.zeros(rows) for s in sds], axis=-1))
    L = d.get("lncor")
    L = (np.eye(len(keep)) if numpy else pt.eye(len(keep))) if L is None else L
    return pm.CustomDist.dist(eta, sigma, L, logp=_logistic_normal_logp(ref, keep),
                              random=_logistic_normal_random(ref, keep), signature="(k),(m),(m,m)->(k)")


def _no_epred(eta, d: dict, add: dict):
    raise FamilyError("Cannot compute expected values of the posterior predictive distribution for family "
                      "'logistic_normal' (brms neither: the mean of a logistic normal has no closed form); "
                      "average posterior_predict() draws instead.")


#: logistic_normal's sds, one per non-reference category, and their correlations (brms's ``lncor``)
SIGMA_CAT = DistPar("sigma", lb=0.0, links=_POSITIVE_LINKS, per_category=True)
LNCOR = DistPar("lncor", default_prior="lkj(1)", corr=1)

multinomial = _family(
    "multinomial", "logit", ("logit",), (),
    lambda f, eta, d, add: pm.Multinomial.dist(n=add["trials"], p=softmax(eta)),
    _as_matrix, epred=lambda eta, d, add: softmax(eta) * add["trials"][..., None], kind="multinomial")
dirichlet = _family(
    "dirichlet", "logit", ("logit",), (PHI,),
    lambda f, eta, d, add: pm.Dirichlet.dist(a=_concentration(eta, d["phi"])),
    _as_matrix, epred=lambda eta, d, add: softmax(eta), kind="simplex")
logistic_normal = _family("logistic_normal", "identity", ("identity",), (SIGMA_CAT, LNCOR), _logistic_normal,
                          _as_matrix, epred=_no_epred, kind="simplex")
