"""The held-out rows' log-likelihood of a multivariate fit, for ``kfold`` and ``reloo``
(:mod:`brmc.cluster`'s refits).

Examples
--------
>>> mv_heldout_log_lik(mvfit, mvfit.model_data, np.arange(3)).shape
(200, 3)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .criteria import heldout_log_lik
from .errors import DataError
from .families import inverse_link
from .multivariate import rescor_matrices
from .mvdata import MvModelData
from .mvmodel import mv_rows_logp
from .mvsubset import ONE_RESP
from .predict import posterior_linpred
from .sampling import family_dpars

if TYPE_CHECKING:
    from .mvfit import MvFit


def mv_heldout_log_lik(fit: MvFit, full: MvModelData, rows: np.ndarray, seed: int | None = None) -> np.ndarray:
    """Log-likelihood (draws, rows) of rows ``rows`` of ``full`` (the model data of all rows) under
    ``fit``, a fit of the other rows, as brms's ``log_lik(fit, newdata, allow_new_levels = TRUE)`` of
    a multivariate fit: with ``rescor`` each row's joint density of all responses, else the sum of
    :func:`brmc.criteria.heldout_log_lik` over the responses.  A new level's effects are drawn per
    response (their correlation across responses left out).

    Parameters
    ----------
    fit : MvFit
        A fit of the rows other than ``rows``.
    full : MvModelData
        The model data of all rows (responses and addition terms).
    rows : numpy.ndarray
        Row positions in ``full``.
    seed : int, optional
        Seed of new levels' effects.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> mv_heldout_log_lik(mvfit, mvfit.model_data, np.arange(3)).shape
    (200, 3)
    """
    if fit.model_data.subsets:
        raise DataError(ONE_RESP)
    if not fit.model_data.rescor:
        return sum(heldout_log_lik(fit.response_fit(r), full.responses[r], rows, seed) for r in fit.responses)
    newdata, mus, sigmas = full.frame.iloc[rows], [], []
    for r in fit.responses:
        view, md = fit.response_fit(r), fit.model_data.responses[r]
        etas = {d: posterior_linpred(view, newdata, dpar=d, allow_new_levels=True, seed=seed) for d in md.predictors}
        scalars = {k: v.reshape(-1, *v.shape[2:]) for k, v in family_dpars(view.idata.posterior, md).items()}
        mus.append(inverse_link(md.predictors["mu"].link, md.eta_mu(etas)))
        sigmas.append(np.broadcast_to(md.dpar_values(etas, scalars)["sigma"], mus[-1].shape))
    post, R = fit.idata.posterior, len(fit.responses)
    L = np.linalg.cholesky(rescor_matrices(post, fit.responses).reshape(1, -1, R, R))
    nu = post["nu"].values.reshape(1, -1) if fit.model_data.shared_nu else None
    Y = np.stack([full.responses[r].y[rows] for r in fit.responses], axis=-1)
    weights = next(iter(full.responses.values())).additions.get("weights")  # one per row, as brms's weights[n]
    ll = mv_rows_logp(Y, np.stack(mus, axis=-1)[None], np.stack(sigmas, axis=-1)[None], L, nu)[0]
    return ll if weights is None else ll * weights[rows]
