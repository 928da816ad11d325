"""The held-out rows' log-likelihood of a multivariate fit, for ``kfold`` and ``reloo``
(:mod:`brmc.cluster`'s refits), and brms's ``log_lik(fit, newdata, resp)`` of one for ``loo``/``waic``.

Examples
--------
>>> mv_heldout_log_lik(mvfit, mvfit.model_data, np.arange(3)).shape
(200, 3)
>>> mv_log_lik_of(mvfit, resp="math").shape
(2, 100, 953)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import terms
from .anymodel import joint_responses
from .criteria import heldout_log_lik
from .errors import DataError
from .families import inverse_link
from .families.core import with_se
from .loglik import by_chain, na_where_missing, with_new_rows
from .multivariate import rescor_matrices
from .mvdata import MvModelData, build_mv_data
from .mvmodel import mv_rows_logp
from .mvsubset import ONE_RESP
from .predict import posterior_linpred
from .sampling import family_dpars
from .unconstrained import row_additions

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
        additions = row_additions(full.responses[r].additions, rows, full.responses[r].nobs)
        sigmas.append(np.broadcast_to(with_se(md.dpar_values(etas, scalars), additions)["sigma"], mus[-1].shape))
    post, R = fit.idata.posterior, len(fit.responses)
    L = np.linalg.cholesky(rescor_matrices(post, fit.responses).reshape(1, -1, R, R))
    nu = post["nu"].values.reshape(1, -1) if fit.model_data.shared_nu else None
    Y = np.stack([terms.mi.observed(full.responses[r])[rows] for r in fit.responses], axis=-1)
    weights = next(iter(full.responses.values())).additions.get("weights")  # one per row, as brms's weights[n]
    ll = mv_rows_logp(Y, np.stack(mus, axis=-1)[None], np.stack(sigmas, axis=-1)[None], L, nu)[0]
    return ll if weights is None else ll * weights[rows]


def mv_log_lik_of(fit: MvFit, newdata: pd.DataFrame | None = None, resp: str | list[str] | None = None) -> np.ndarray:
    """brms's ``log_lik(fit, newdata, resp)`` of a multivariate fit, (chain, draw, obs): of the chosen
    responses (their sum, or with ``rescor`` and all responses their joint density; one response alone
    with ``rescor`` its marginal density, as brms's univariate view) at the training rows or ``newdata``'s.

    Parameters
    ----------
    fit : MvFit
    newdata : pandas.DataFrame, optional
        Rows with every chosen response and the model's variables; the training rows when None.
    resp : str or list of str, optional
        The responses; all when None.

    Returns
    -------
    numpy.ndarray
        ``NaN`` where a chosen response under ``mi()`` is missing (brms's ``NA``, which ``loo`` refuses).

    Raises
    ------
    DataError
        ``resp`` as :func:`brmc.anymodel.joint_responses` refuses it.

    Examples
    --------
    >>> mv_log_lik_of(mvfit, mvfit.data.iloc[::200]).shape  # rows of several schools
    (2, 100, 5)
    """
    mv, chosen = fit.model_data, fit.chosen(resp)
    joint = joint_responses(mv, chosen)
    if newdata is None:  # the training rows: a mi(x) predictor reads the imputed values
        return np.asarray(fit.log_likelihood().values) if joint else sum(
            np.asarray(fit.response_fit(r).log_likelihood().values) for r in chosen)
    full = with_new_rows(mv, newdata, lambda frame: build_mv_data(mv.formula, frame, mv.family.families, env=mv.env,
                                                                  contrasts=mv.contrasts))
    if joint:
        rows = np.arange(mv.nobs, full.nobs)
        ll = by_chain(fit, mv_heldout_log_lik(fit, full, rows))
        return sum(na_where_missing(ll, full.responses[r], rows) for r in chosen)
    out = 0.0
    for r in chosen:
        md = full.responses[r]
        rows = np.arange(mv.responses[r].nobs, md.nobs)
        out = out + na_where_missing(by_chain(fit, heldout_log_lik(fit.response_fit(r), md, rows)), md, rows)
    return np.asarray(out)
