"""brms's ordinal families: ``cumulative``, ``sratio``, ``cratio`` and ``acat``.

Each takes the thresholds ``thres`` (brms's ``Intercept[k]``) and the linear
predictor ``eta`` (no intercept) and gives the probability of each category,
as brms's Stan functions ``<family>_<link>_lpmf`` with ``disc = 1``:

* ``cumulative``: P(Y <= k) = F(thres_k - eta), thresholds ordered;
* ``sratio`` (stopping ratio): P(Y = k | Y >= k) = F(thres_k - eta);
* ``cratio`` (continuation ratio): P(Y > k | Y >= k) = F(eta - thres_k);
* ``acat`` (adjacent category): with q_k = F(eta - thres_k),
  P(Y = k) ∝ prod_{j<k} q_j prod_{j>=k} (1 - q_j), which for the logit is brms's
  ``softmax(append_row(0, cumulative_sum(eta - thres)))``.

``sratio``, ``cratio`` and ``acat`` thresholds are free (brms's ``vector[nthres]
Intercept``), not ordered.  With category-specific effects (``cs()``, :mod:`brmc.terms.cs`)
``eta`` has a last axis of thresholds, ``eta_k`` taking the place of ``eta`` in the k-th
threshold's term; ``thres`` then has an axis of rows (of length 1) before it, so that the two
have as many axes (:func:`category_eta`).

Example:
    >>> import numpy as np
    >>> p = sratio().probabilities(sratio(), np.array([0.0]), np.array([0.0, 0.0]))
    >>> p.round(3).tolist()
    [[0.5, 0.25, 0.25]]
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt

from .core import LINKS, Family, _family

#: brms 2.18's links of sratio, cratio and acat (cumulative: logit, probit)
ORDINAL_LINKS = ("logit", "probit", "cloglog", "cauchit")


def _log_f(link: str, x):
    """log F(x) and log(1 - F(x)) of the inverse link F (tensors)."""
    if link == "logit":
        return -pt.softplus(-x), -pt.softplus(x)
    p = LINKS[link][0](x)
    return pt.log(p), pt.log1p(-p)


def _exclusive_cumsum(x):
    """0, x_1, x_1 + x_2, ... along the last axis (one longer than ``x``)."""
    zero = pt.zeros_like(x[..., :1])
    return pt.concatenate([zero, pt.cumsum(x, axis=-1)], axis=-1)


def _append_zero(x):
    return pt.concatenate([x, pt.zeros_like(x[..., :1])], axis=-1)


def category_eta(eta, thres):
    """``eta`` (an array or a tensor) with a last axis of thresholds: as it is where it has one already (category-specific
    effects: as many axes as ``thres``, which then has an axis of rows), else ``eta[..., None]``.

    Example:
        >>> category_eta(np.zeros(5), np.zeros(2)).shape, category_eta(np.zeros((5, 2)), np.zeros((1, 2))).shape
        ((5, 1), (5, 2))
    """
    return eta if thres.ndim >= 2 and eta.ndim == thres.ndim else eta[..., None]


def ordinal_log_probabilities(name: str, link: str, eta, thres):
    """log P(Y = k) of an ordinal family for each category on a last axis (tensors).

    Parameters
    ----------
    name : str
        ``"sratio"``, ``"cratio"`` or ``"acat"``.
    link : str
        The inverse link F.
    eta : tensor_like
        The linear predictor (no intercept), any shape; with category-specific effects a last
        axis of thresholds (see :func:`category_eta`).
    thres : tensor_like
        The thresholds on a last axis, broadcasting against ``eta[..., None]``.

    Returns
    -------
    TensorVariable
        The log-probabilities, the shape of ``eta`` with a last axis of ``len(thres) + 1`` categories.

    Examples
    --------
    >>> lp = ordinal_log_probabilities("acat", "logit", np.array([0.0]), np.array([0.0, 0.0]))
    >>> np.exp(lp.eval()).round(4).tolist()
    [[0.3333, 0.3333, 0.3333]]
    """
    eta = category_eta(pt.as_tensor(eta), pt.as_tensor(thres))
    thres = pt.as_tensor(thres)
    if name == "sratio":  # stop at k with F(thres_k - eta), else go on
        stop, go = _log_f(link, thres - eta)
        return _append_zero(stop) + _exclusive_cumsum(go)
    if name == "cratio":  # go on past k with F(eta - thres_k), else stop
        go, stop = _log_f(link, eta - thres)
        return _append_zero(stop) + _exclusive_cumsum(go)
    up, down = _log_f(link, eta - thres)  # acat
    below = _exclusive_cumsum(up)
    above = _exclusive_cumsum(down[..., ::-1])[..., ::-1]
    unnormalised = below + above
    return unnormalised - pt.logsumexp(unnormalised, axis=-1, keepdims=True)


def _ratio_dist(f: Family, eta, d: dict, add: dict):
    return pm.Categorical.dist(logit_p=ordinal_log_probabilities(f.name, f.link, eta, d["thres"]))


def _ratio_probabilities(f: Family, eta: np.ndarray, thres: np.ndarray) -> np.ndarray:
    with pytensor.config.change_flags(cxx=""):
        return np.exp(ordinal_log_probabilities(f.name, f.link, eta, thres).eval())


def _cumulative(f: Family, eta, d: dict, add: dict):
    """brms's cumulative model: P(Y <= k) = F(thres_k - eta); with category-specific effects the
    differences of F(thres_k - eta_k) (brms's ``cumulative_<link>_lpmf``: a negative one, thresholds
    out of order for a row, has no likelihood)."""
    eta, thres = pt.as_tensor(eta), pt.as_tensor(d["thres"])
    if category_eta(eta, thres) is eta:
        cum = LINKS[f.link][0](thres - eta)
        edge = pt.ones_like(cum[..., :1])
        p = pt.diff(pt.concatenate([0 * edge, cum, edge], axis=-1), axis=-1)
        return pm.Categorical.dist(logit_p=pt.log(pt.maximum(p, 0.0)))
    if f.link == "logit":
        return pm.OrderedLogistic.dist(eta=eta, cutpoints=d["thres"])
    return pm.OrderedProbit.dist(eta=eta, cutpoints=d["thres"], sigma=1.0)


def category_probabilities(f: Family, eta: np.ndarray, thres: np.ndarray) -> np.ndarray:
    """P(Y = k) of a cumulative model for each category (last axis).

    Example:
        >>> category_probabilities(cumulative(), np.array([0.0]), np.array([0.0])).tolist()
        [[0.5, 0.5]]
    """
    cum = LINKS[f.link][2](thres - category_eta(np.asarray(eta), thres))
    edge = np.ones(cum.shape[:-1] + (1,))
    return np.diff(np.concatenate([0 * edge, cum, edge], axis=-1), axis=-1)


def _ordinal_response(y, add):
    return y


cumulative = _family("cumulative", "logit", ("logit", "probit"), (), _cumulative, _ordinal_response,
                     kind="ordinal", extra_links=("disc",), probabilities=category_probabilities)
sratio, cratio, acat = (
    _family(name, "logit", ORDINAL_LINKS, (), _ratio_dist, _ordinal_response, kind="ordinal",
            extra_links=("disc",), probabilities=_ratio_probabilities, ordered=False)
    for name in ("sratio", "cratio", "acat"))
