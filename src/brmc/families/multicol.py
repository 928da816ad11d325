"""brms's families of a matrix response, ``cbind(y1, y2, y3) ~ x``: ``multinomial`` (counts out of
``trials()``) and ``dirichlet`` (rows on the simplex).

Like ``categorical``, ``mu`` is one linear predictor per category but the reference (brms's
``mu<cat>``, the reference's fixed at 0), joined by the softmax (brms's joint ``logit`` link,
``multinomial_logit2`` and ``dirichlet_logit`` in Stan); the dirichlet's concentrations are the
softmax times ``phi``.  ``eta`` has the categories on its last axis.

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

from .core import PHI, Family, _family


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


multinomial = _family(
    "multinomial", "logit", ("logit",), (),
    lambda f, eta, d, add: pm.Multinomial.dist(n=add["trials"], p=softmax(eta)),
    _as_matrix, epred=lambda eta, d, add: softmax(eta) * add["trials"][..., None], kind="multinomial")
dirichlet = _family(
    "dirichlet", "logit", ("logit",), (PHI,),
    lambda f, eta, d, add: pm.Dirichlet.dist(a=_concentration(eta, d["phi"])),
    _as_matrix, epred=lambda eta, d, add: softmax(eta), kind="simplex")
