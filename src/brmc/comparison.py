"""Model comparison: brms's ``loo`` with its options, ``loo_R2``, ``model_weights`` and
``add_criterion`` (``kfold``, ``reloo``: :mod:`brmc.kfold`; moment matching:
:mod:`brmc.moment_match`; PSIS-LOO, ``waic``, ``loo_compare``: :mod:`brmc.criteria`).

Example:
    >>> sorted(CRITERIA)
    ['bayes_R2', 'kfold', 'loo', 'loo_R2', 'marglik', 'waic']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np
import pandas as pd

from ._docs import shared
from .bridge import bridge_sampler, match_response
from .criteria import (
    K_THRESHOLD,
    LooResult,
    _psis,
    bayes_R2,
    psis_loo,
    r2_table,
    recommend_loo_options,
    relative_eff,
    waic,
)
from .effects import summarise
from .errors import DataError
from .kfold import kfold
from .kfold import reloo as refit_loo
from .moment_match import loo_moment_match
from .predict import posterior_epred, posterior_linpred, posterior_predict

if TYPE_CHECKING:
    from .fit import Fit

#: what :func:`add_criterion` computes, by brms's names
CRITERIA = {"loo": lambda fit, **kw: loo(fit, **kw), "waic": waic, "kfold": kfold, "marglik": bridge_sampler,
            "loo_R2": lambda fit, **kw: loo_R2(fit, summary=False, **kw),
            "bayes_R2": lambda fit, **kw: bayes_R2(fit, summary=False, **kw)}
#: ArviZ's names of brms's ``model_weights`` methods (brms's pseudo-BMA uses the Bayesian bootstrap)
WEIGHT_METHODS = {"stacking": "stacking", "pseudobma": "BB-pseudo-BMA"}


@shared
def loo(fit: Fit | np.ndarray, moment_match: bool = False, reloo: bool = False,
        k_threshold: float = K_THRESHOLD, moment_match_args: dict[str, Any] | None = None,
        reloo_args: dict[str, Any] | None = None, newdata: pd.DataFrame | None = None,
        resp: str | list[str] | None = None) -> LooResult:
    """PSIS leave-one-out cross-validation, as brms's ``loo(fit)``.

    PSIS-LOO (:func:`brmc.criteria.psis_loo`), then with ``moment_match=True`` moment matching
    of the observations with Pareto k above ``k_threshold`` (:func:`brmc.loo_moment_match`), then
    with ``reloo=True`` exact refits without those still above it (:func:`brmc.reloo`).  Warns
    (``UserWarning``) as brms does when some k stay above ``k_threshold``, recommending the next step.

    Parameters
    ----------
    {fit_or_log_lik}
    moment_match : bool, default False
        Whether to moment match the observations with high Pareto k (needs a fit).
    reloo : bool, default False
        Whether to refit the model without each observation whose Pareto k stays high (needs a fit).
    k_threshold : float, default 0.7
        The Pareto k above which an observation is moment matched or refit.
    moment_match_args : dict, optional
        More arguments of :func:`brmc.loo_moment_match` (``max_iters``, ``split``, ``cov``).
    reloo_args : dict, optional
        More arguments of :func:`brmc.reloo` (``executor``, ``progress``).
    {scored_rows}

    Returns
    -------
    {LooResult}

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = loo(fit, moment_match=True)
    >>> res.estimates.index.tolist()
    ['elpd_loo', 'p_loo', 'looic']
    >>> print(res)  # doctest: +ELLIPSIS
    <BLANKLINE>
    Computed from 400 by 180 log-likelihood matrix
    ...
    """
    if (moment_match or reloo) and (isinstance(fit, np.ndarray) or newdata is not None or (reloo and resp)):
        raise DataError("moment_match and reloo need the fit itself (its training rows; reloo all its responses), "
                        "not a log-likelihood array, newdata or (for reloo) resp.")
    result = psis_loo(fit if newdata is None and resp is None else fit.log_lik(newdata, resp=resp))
    if moment_match:
        result = loo_moment_match(fit, result, k_threshold=k_threshold, resp=resp, **(moment_match_args or {}))
    if reloo:
        result = refit_loo(fit, result, k_threshold=k_threshold, **(reloo_args or {}))
    recommend_loo_options(result, k_threshold, moment_match)
    return result


@shared
def loo_R2(fit: Fit, summary: bool = True, probs: Sequence[float] = (0.025, 0.975),
           seed: int | None = None) -> pd.DataFrame:
    """LOO-adjusted R², as brms's ``loo_R2``.

    The leave-one-out expected response ``E_loo[ypred]`` (PSIS weights, as :func:`brmc.loo`)
    gives the LOO residuals ``e = ypred_loo - y``; each Bayesian-bootstrap draw (Dirichlet(1, ..., 1)
    weights ``w`` over the rows, one per posterior draw) gives ``1 - var_w(e) / var_w(y)`` with
    ``var_w(x) = N / (N - 1) (sum w x² - (sum w x)²)``, clipped to [-1, 1].

    Parameters
    ----------
    {fit}
    {summary}
    {probs}
    seed : int, optional
        Seed of the Bayesian bootstrap weights.

    Returns
    -------
    {R2}

    Examples
    --------
    >>> loo_R2(fit, seed=1).columns.tolist()
    ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
    """
    md = fit.model_data
    if md.family.polytomous:
        raise DataError("loo_R2 is not defined for ordinal or categorical models (no scalar expected response).")
    ll3 = np.asarray(fit.log_likelihood().values, dtype=float)
    ll = ll3.reshape(-1, ll3.shape[-1])
    lw, _ = _psis(ll, relative_eff(ll3))  # (N, S), normalised
    ypred = posterior_epred(fit)
    y = np.asarray(md.y, dtype=float)
    err = np.sum(np.exp(lw.T) * ypred, axis=0) - y
    S, N = ll.shape
    weights = np.random.default_rng(seed).exponential(size=(S, N))
    weights /= weights.sum(axis=1, keepdims=True)

    def var(x: np.ndarray) -> np.ndarray:
        return N / (N - 1) * (weights @ x**2 - (weights @ x) ** 2)

    r2 = np.clip(1 - var(err) / var(y), -1.0, 1.0)
    return r2_table(r2, summary, probs)


def model_weights(*fits: Fit, weights: str = "stacking", names: Sequence[str] | None = None,
                  seed: int | None = None) -> pd.Series:
    """Model weights, as brms's ``model_weights``: stacking of predictive distributions or
    pseudo-BMA with the Bayesian bootstrap (loo's defaults), by ArviZ's ``compare`` on PSIS-LOO.

    Parameters
    ----------
    *fits : Fit
        Two or more fits of the same observations.
    weights : str, default ``"stacking"``
        ``"stacking"`` or ``"pseudobma"``.
    names : sequence of str, optional
        The models' names; ``fit1``, ``fit2``, ... when None.
    seed : int, optional
        Seed of pseudo-BMA's Bayesian bootstrap.

    Returns
    -------
    pandas.Series
        A weight per model, in the order given, summing to 1.

    Examples
    --------
    >>> wide = fit.update(prior=brmc.prior("normal(0, 1)", class_="b"))
    >>> float(round(model_weights(fit, wide).sum(), 6))
    1.0
    """
    if len(fits) < 2:
        raise DataError("model_weights requires at least two models.")
    method = WEIGHT_METHODS.get(weights)
    if method is None:
        raise DataError(f"weights must be one of {', '.join(map(repr, WEIGHT_METHODS))}, not {weights!r}.")
    names = list(names) if names is not None else [f"fit{i + 1}" for i in range(len(fits))]
    if len(names) != len(fits) or len(set(names)) != len(names):
        raise DataError(f"names must give {len(fits)} distinct model names, got {names!r}.")
    for f in fits:
        f.log_likelihood()
    table = az.compare({n: f.idata for n, f in zip(names, fits)}, ic="loo", method=method, seed=seed)
    return table["weight"].reindex(names).rename("weight")


#: brms's ``pp_average(method = ...)`` (``predict`` and ``fitted`` as brms's aliases)
PP_METHODS = {"posterior_predict": posterior_predict, "predict": posterior_predict,
              "posterior_epred": posterior_epred, "fitted": posterior_epred,
              "posterior_linpred": posterior_linpred}


def round_largest_remainder(x: np.ndarray) -> np.ndarray:
    """brms's ``round_largest_remainder``: whole numbers with the rounded total of ``x``, the
    largest fractional parts rounded up.

    Example:
        >>> round_largest_remainder(np.array([0.3, 0.3, 0.4]) * 10).tolist()
        [3, 3, 4]
        >>> round_largest_remainder(np.array([1 / 3, 2 / 3]) * 100).tolist()
        [33, 67]
    """
    out = np.floor(x)
    order = np.argsort(-(x - out), kind="stable")
    out[order[: int(round(float(np.sum(x))) - np.sum(out))]] += 1
    return out.astype(int)


@shared
def pp_average(*fits: Fit, weights: str | Sequence[float] = "stacking", method: str = "posterior_predict",
               ndraws: int | None = None, summary: bool = True, probs: Sequence[float] = (0.025, 0.975),
               robust: bool = False, model_names: Sequence[str] | None = None, seed: int | None = None,
               newdata: pd.DataFrame | None = None, **kwargs: Any) -> pd.DataFrame | np.ndarray:
    """Posterior predictions averaged over models, as brms's ``pp_average``: each model gives
    ``round(weight * ndraws)`` random draws (largest remainders rounded up) and the draws are pooled.

    Parameters
    ----------
    *fits : Fit
        Two or more fits of the same response.
    weights : str or sequence of float, default ``"stacking"``
        A method of :func:`brmc.model_weights` (``"stacking"``, ``"pseudobma"``), or a weight per
        model (normalised to sum 1).
    method : str, default ``"posterior_predict"``
        ``"posterior_predict"`` (``"predict"``), ``"posterior_epred"`` (``"fitted"``) or
        ``"posterior_linpred"``.
    ndraws : int, optional
        The total draws; the first model's number of draws when None.
    summary : bool, default True
        Whether to summarise the pooled draws per row.
    probs : sequence of float, default (0.025, 0.975)
        The summary's quantiles.
    robust : bool, default False
        Whether the summary's ``Estimate`` and ``Est.Error`` are the median and MAD (R's ``mad``).
    model_names : sequence of str, optional
        The models' names; ``fit1``, ``fit2``, ... when None.
    seed : int, optional
        Seed of the draws picked (and of :func:`brmc.model_weights`'s pseudo-BMA bootstrap).
    {newdata}
    **kwargs
        More arguments of the method (``re_formula``, ``allow_new_levels``, ``dpar``, ...).

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        A summary row per data row (``attrs["weights"]`` and ``attrs["ndraws"]`` by model), or with
        ``summary=False`` the pooled draws (draws, rows), the models' draws one after another.

    Examples
    --------
    >>> wide = fit.update(prior=brmc.prior("normal(0, 1)", class_="b"))
    >>> res = pp_average(fit, wide, weights=[0.25, 0.75], seed=1)
    >>> list(res.attrs["ndraws"].values())
    [100, 300]
    >>> res.columns.tolist()
    ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
    """
    if len(fits) < 2:
        raise DataError("pp_average needs at least two models.")
    predict_fn = PP_METHODS.get(method)
    if predict_fn is None:
        raise DataError(f"method must be one of {', '.join(map(repr, PP_METHODS))}, not {method!r}.")
    match_response(fits, "predictions")
    names = list(model_names) if model_names is not None else [f"fit{i + 1}" for i in range(len(fits))]
    if isinstance(weights, str):
        w = model_weights(*fits, weights=weights, names=names, seed=seed).to_numpy()
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(fits),):
            raise DataError("If numeric, 'weights' must have the same length as the number of models.")
        if np.any(w < 0):
            raise DataError("If numeric, 'weights' must be positive.")
    w = w / w.sum()
    post = fits[0].idata.posterior
    total = post.sizes["chain"] * post.sizes["draw"] if ndraws is None else int(ndraws)
    counts = round_largest_remainder(w * total)
    seeds = np.random.SeedSequence(seed).generate_state(len(fits))
    parts = [predict_fn(f, newdata, ndraws=int(n), seed=int(s), **kwargs)
             for f, n, s in zip(fits, counts, seeds) if n > 0]
    draws = np.concatenate(parts, axis=0)
    if not summary:
        return draws
    out = summarise(draws, tuple(probs))
    if robust:
        median = np.median(draws, axis=0)
        out["Estimate"], out["Est.Error"] = median, 1.4826 * np.median(np.abs(draws - median), axis=0)
    out.attrs = {"weights": dict(zip(names, w.tolist())), "ndraws": dict(zip(names, counts.tolist()))}
    return out


@shared
def add_criterion(fit: Fit, criterion: str | Sequence[str], **kwargs: Any) -> Fit:
    """Compute criteria and keep them on the fit (``fit.criteria``), as brms's ``add_criterion``;
    :func:`brmc.save` stores them and :func:`brmc.loo_compare` uses them.

    Parameters
    ----------
    {fit}
    criterion : str or sequence of str
        ``"loo"``, ``"waic"``, ``"kfold"``, ``"loo_R2"``, ``"bayes_R2"`` (the R² draws are kept) or
        ``"marglik"`` (:func:`brmc.bridge_sampler`).
    **kwargs
        Arguments of the criterion's function (``K=5`` for ``kfold``).

    Returns
    -------
    Fit
        The same fit, its ``criteria`` updated.

    Examples
    --------
    >>> add_criterion(fit, "waic").criteria["waic"].estimates.index.tolist()
    ['elpd_waic', 'p_waic', 'waic']
    """
    for name in [criterion] if isinstance(criterion, str) else list(criterion):
        if name not in CRITERIA:
            raise DataError(f"criterion must be one of {', '.join(map(repr, CRITERIA))}, not {name!r}.")
        fit.criteria[name] = CRITERIA[name](fit, **kwargs)
    return fit

