"""brms's ``kfold`` (K-fold cross-validation by refitting the model K times) and ``reloo``
(exact leave-one-out for the observations PSIS cannot handle, by refitting without each).

Each fold's refit is a job of :mod:`brmc.cluster` (the fit's formula, family,
priors and sampler settings, the data less the fold's rows), so the refits run
here or on any ``concurrent.futures`` executor or Dask client, and a process
compiles each model structure once: folds of equal size refit with new data
values at once.  The held-out rows' log-likelihood is brms's ``log_lik(fit_k,
newdata, allow_new_levels = TRUE)``.

The folds are loo's: ``kfold_split_random`` (``folds=None``: fold sizes as
equal as can be, rows at random), ``kfold_split_stratified`` (``"stratified"``:
each level of ``group`` spread evenly over the folds) and
``kfold_split_grouped`` (``"grouped"``: all rows of a level in one fold), or a
fold number per row.

Example:
    >>> folds = fold_ids(10, 3, seed=1)
    >>> sorted(np.bincount(folds)[1:].tolist())
    [3, 3, 4]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from . import terms
from ._docs import shared
from .cluster import fit_job, run_jobs
from .criteria import K_THRESHOLD, KfoldResult, LooResult, _estimates, stored_loo
from .errors import DataError

if TYPE_CHECKING:
    from .fit import Fit

FOLD_CHOICES = (None, "stratified", "grouped")


def fold_ids(N: int, K: int, folds: str | Sequence[int] | None = None, group: Sequence[Any] | None = None,
             seed: int | None = None) -> np.ndarray:
    """A fold number (1..K) per row, as loo's ``kfold_split_*`` functions.

    Parameters
    ----------
    N : int
        The number of rows.
    K : int
        The number of folds.
    folds : None, ``"stratified"``, ``"grouped"`` or sequence of int
        How to split: at random (None), stratified or grouped by ``group``, or these fold numbers.
    group : sequence, optional
        A value per row: the strata or groups for ``"stratified"`` and ``"grouped"``.
    seed : int, optional
        Seed of the random split.

    Returns
    -------
    numpy.ndarray
        N fold numbers from 1 to K.

    Examples
    --------
    >>> fold_ids(6, 3, "grouped", group=["a", "a", "b", "b", "c", "c"], seed=2).tolist()
    [3, 3, 1, 1, 2, 2]
    """
    rng = np.random.default_rng(seed)
    if folds is not None and not isinstance(folds, str):
        ids = np.asarray(folds)
        if ids.shape != (N,) or set(np.unique(ids)) - set(range(1, K + 1)):
            raise DataError(f"folds must give a fold number from 1 to K={K} for each of the {N} rows.")
        return ids.astype(int)
    if folds not in FOLD_CHOICES:
        raise DataError(f"folds must be None, 'stratified', 'grouped' or a fold number per row, not {folds!r}.")
    if not 2 <= K <= N:
        raise DataError(f"K must be between 2 and the number of rows ({N}), got {K}.")
    if folds is None:  # loo's kfold_split_random
        return np.ceil(np.arange(1, N + 1) / (N / K)).astype(int)[rng.permutation(N)]
    if group is None or len(group) != N:
        raise DataError(f"folds={folds!r} needs group= naming a column of the data (or a value per row).")
    codes, levels = pd.factorize(pd.Series(list(group)))
    if folds == "grouped":  # loo's kfold_split_grouped: levels dealt to folds at random
        if len(levels) < K:
            raise DataError(f"folds='grouped' needs at least K={K} groups; the group has {len(levels)}.")
        level_fold = np.ceil(np.arange(1, len(levels) + 1) / (len(levels) / K)).astype(int)
        return level_fold[rng.permutation(len(levels))][codes]
    ids = np.empty(N, dtype=int)  # loo's kfold_split_stratified: each stratum dealt round the folds
    order = np.concatenate([rng.permutation(np.flatnonzero(codes == c)) for c in range(len(levels))])
    ids[order] = np.arange(N) % K + 1
    return ids


@shared
def kfold(fit: Fit, K: int = 10, folds: str | Sequence[int] | None = None, group: str | None = None,
          executor: Any = None, seed: int | None = None, progress: bool = True) -> KfoldResult:
    """K-fold cross-validation, as brms's ``kfold``: refit without each fold, score its rows.

    ``elpd_kfold`` per row is ``log(mean(exp(log_lik)))`` over the draws of the refit that left
    the row out; ``p_kfold`` is the full fit's log pointwise predictive density minus it,
    ``kfoldic = -2 elpd_kfold``; SEs are ``sqrt(N var)`` as loo's.

    Parameters
    ----------
    {fit}
    K : int, default 10
        The number of folds.
    folds : None, ``"stratified"``, ``"grouped"`` or sequence of int, optional
        brms's ``folds``: random folds (None), stratified or grouped by ``group``, or a fold
        number (1..K) per row.
    group : str, optional
        The data column by which ``"stratified"`` and ``"grouped"`` folds split.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where the K refits run (see :func:`brmc.cluster.run_jobs`); here when None.
    seed : int, optional
        Seed of the split; refit k samples with the fit's seed plus k.
    progress : bool, default True
        One progress bar over the refits.

    Returns
    -------
    KfoldResult
        ``estimates`` (``elpd_kfold``, ``p_kfold``, ``kfoldic``) and ``pointwise`` (with ``fold``);
        usable in :func:`brmc.loo_compare`.

    Examples
    --------
    >>> res = kfold(fit, K=2, seed=1, progress=False)
    >>> res.estimates.index.tolist()
    ['elpd_kfold', 'p_kfold', 'kfoldic']
    """
    frame = fit.data
    if group is not None and group not in frame.columns:
        raise DataError(f"group={group!r} is not a column of the data; columns: {', '.join(map(str, frame.columns))}.")
    ids = fold_ids(len(frame), K, folds, None if group is None else frame[group], seed)
    full = np.asarray(fit.log_likelihood().values).reshape(-1, len(frame))  # before the refits: it may be refused
    elpd = _heldout_elpd(fit, [np.flatnonzero(ids == k) for k in range(1, K + 1)], executor, progress, "Folds")
    lpd = _log_mean_exp(full)
    pointwise = pd.DataFrame({"elpd_kfold": elpd, "p_kfold": lpd - elpd, "kfoldic": -2 * elpd, "fold": ids})
    return KfoldResult(estimates=_estimates(pointwise, ["elpd_kfold", "p_kfold", "kfoldic"]),
                       pointwise=pointwise, dims=(full.shape[0], len(frame)), K=K)


def _log_mean_exp(ll: np.ndarray) -> np.ndarray:
    """``log(mean(exp(ll)))`` over the draws (first axis)."""
    return logsumexp(ll, axis=0) - np.log(ll.shape[0])


def _heldout_elpd(fit: Fit, holdouts: Sequence[np.ndarray], executor: Any, progress: bool,
                  desc: str) -> np.ndarray:
    """Refit ``fit`` without each set of rows in ``holdouts`` (refit k with the fit's seed plus k,
    1-based) and score the held-out rows: their ``elpd`` (NaN for rows in no holdout)."""
    frame = fit.data
    cov = terms.ac.covariance_term(fit.model_data)
    if cov is not None:
        raise DataError(f"Refitting without some rows (kfold, reloo) is not supported for models with the "
                        f"autocorrelation term {cov.term.label}: the held-out rows' densities do not factor into "
                        "one per row. Use loo(), whose pointwise values are brms's leave-one-out densities of "
                        "each row given the other rows of its series.")
    jobs = [fit_job(fit, data=frame, seed=fit.settings.seed + k) | {"holdout": rows}
            for k, rows in enumerate(holdouts, start=1)]
    results = run_jobs(jobs, executor=executor, progress=progress, desc=desc)
    elpd = np.full(len(frame), np.nan)
    for job, result in zip(jobs, results):
        elpd[job["holdout"]] = _log_mean_exp(result["log_lik"])
    return elpd


@shared
def reloo(fit: Fit, loo: LooResult | None = None, k_threshold: float = K_THRESHOLD, executor: Any = None,
          progress: bool = True) -> LooResult:
    """Exact leave-one-out for the observations with high Pareto k, as brms's ``reloo``: the
    model is refit without each of them and the left-out row scored by the refit.

    Each observation j with k > ``k_threshold`` gets ``elpd_loo = log(mean(exp(log_lik_j)))``
    over the draws of the refit without it (brms's ``log_lik(fit_j, newdata, allow_new_levels =
    TRUE)``), ``p_loo`` = the full fit's log pointwise predictive density minus it,
    ``looic = -2 elpd_loo`` and Pareto k 0 (as brms); the estimates are summed again.  The refits
    are jobs of :mod:`brmc.cluster`: they run here or on ``executor``, and refits of equal size
    reuse one compiled model.  brms's messages (how many refits) go to standard error.

    Parameters
    ----------
    {fit}
    {loo_result}
    k_threshold : float, default 0.7
        Observations with a larger Pareto k are refit.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where the refits run (see :func:`brmc.cluster.run_jobs`); here when None.
    progress : bool, default True
        One progress bar over the refits.

    Returns
    -------
    LooResult
        A new result with the refits' pointwise values (the others unchanged).

    Examples
    --------
    >>> before = brmc.criteria.psis_loo(fit)
    >>> reloo(fit, before, k_threshold=1.5, progress=False) is before  # no k above 1.5: nothing to refit
    True
    """
    loo = stored_loo(fit, loo)
    obs = np.flatnonzero(loo.pareto_k > k_threshold)
    if not len(obs):
        print("No problematic observations found. Returning the original 'loo' object.", file=sys.stderr)
        return loo
    print(f"{len(obs)} problematic observation(s) found.\nThe model will be refit {len(obs)} times.",
          file=sys.stderr)
    elpd = _heldout_elpd(fit, [np.array([j]) for j in obs], executor, progress, "Refits")[obs]
    full = np.asarray(fit.log_likelihood().values).reshape(-1, fit.nobs)[:, obs]
    pointwise = loo.pointwise.copy()
    pointwise.loc[obs, ["elpd_loo", "p_loo", "looic", "influence_pareto_k"]] = np.column_stack(
        [elpd, _log_mean_exp(full) - elpd, -2 * elpd, np.zeros(len(obs))])
    return LooResult(estimates=_estimates(pointwise, ["elpd_loo", "p_loo", "looic"]), pointwise=pointwise,
                     dims=loo.dims, n_eff=loo.n_eff)
