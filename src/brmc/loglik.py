"""brms's ``log_lik(fit, newdata, resp)``: the pointwise log-likelihood of other rows than the training
ones, or of some responses of a multivariate fit, as ``loo(fit, newdata = ...)`` and ``waic`` take it.

brms's ``log_lik`` of a fit with missing responses under ``mi()`` is ``NA`` at their rows (the data's
``NA``; imputed values enter only the other responses' ``mi(x)`` predictors), and loo then stops
("NAs not allowed in input"); brms's answer is to score the complete rows
(``loo(fit, newdata = na.omit(fit$data))``, where a ``mi(x)`` predictor reads the new data's ``x``),
or the responses without missing values (``resp =``).  :func:`log_lik` is the univariate one;
:func:`brmc.mvcriteria.mv_log_lik_of` a multivariate fit's.

Examples
--------
>>> log_lik(fit, df.iloc[::36]).shape
(2, 200, 5)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import terms
from .criteria import heldout_log_lik
from .data import ModelData, build_data
from .errors import DataError

if TYPE_CHECKING:
    from .fit import Fit


def by_chain(fit: Fit, ll: np.ndarray) -> np.ndarray:
    """Draws × rows (as :func:`brmc.criteria.heldout_log_lik` gives them) → (chain, draw, rows)."""
    post = fit.idata.posterior
    return ll.reshape(post.sizes["chain"], post.sizes["draw"], -1)


def with_new_rows(md: Any, newdata: pd.DataFrame, build: Callable[[pd.DataFrame], Any]) -> Any:
    """The model data (``build`` of a frame) of ``md``'s training rows followed by ``newdata``'s, built
    together so that a few new rows pass the checks a fit's data must (two levels per grouping factor,
    a predictor that varies); the new rows are each response's last ones.

    Raises
    ------
    DataError
        A new row missing a variable the model reads (outside ``mi()``).
    """
    frame = md.frame
    combined = pd.concat([frame, newdata[[c for c in frame.columns if c in newdata.columns]]], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the drop is refused below
        full = build(combined)
    if full.nobs != len(combined):
        raise DataError("newdata misses values of variables the model reads (outside mi()); "
                        "brms's log-likelihood would be NA there.")
    return full


def na_where_missing(ll: np.ndarray, md: ModelData, rows: np.ndarray) -> np.ndarray:
    """``ll`` (..., ``rows`` of ``md``) with brms's ``NA`` (NaN) where ``md``'s response under ``mi()`` is missing."""
    return np.where(np.isnan(terms.mi.observed(md)[rows]), np.nan, ll)


def log_lik(fit: Fit, newdata: pd.DataFrame | None = None, resp: Any = None) -> np.ndarray:
    """Pointwise log-likelihood (chain, draw, obs) of the training rows or of ``newdata``'s, as brms's
    ``log_lik(fit, newdata)`` (new levels' effects drawn, as ``sample_new_levels = "uncertainty"``).

    Parameters
    ----------
    fit : Fit
        A univariate fit.
    newdata : pandas.DataFrame, optional
        Rows with the model's variables, responses included; the training rows when None.
    resp : None
        Only a multivariate fit has responses to choose.

    Returns
    -------
    numpy.ndarray
        ``NaN`` where a response under ``mi()`` is missing (brms's ``NA``, which ``loo`` refuses).

    Raises
    ------
    DataError
        ``resp`` given.

    Examples
    --------
    >>> log_lik(fit, df.iloc[::60]).shape
    (2, 200, 3)
    """
    if resp is not None:
        raise DataError(f"resp={resp!r} is for multivariate fits; this fit has one response.")
    if newdata is None:
        return np.asarray(fit.log_likelihood().values)
    md = fit.model_data
    full = with_new_rows(md, newdata, lambda frame: build_data(md.formula, frame, md.family, env=md.env,
                                                               contrasts=md.contrasts))
    rows = np.arange(md.nobs, full.nobs)
    return na_where_missing(by_chain(fit, heldout_log_lik(fit, full, rows)), full, rows)
