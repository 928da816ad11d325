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
from .bridge import bridge_sampler
from .criteria import (K_THRESHOLD, LooResult, _psis, bayes_R2, psis_loo, r2_table, recommend_loo_options,
                       relative_eff, waic)
from .errors import DataError
from .kfold import kfold
from .kfold import reloo as refit_loo
from .moment_match import loo_moment_match
from .predict import posterior_epred

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
        reloo_args: dict[str, Any] | None = None) -> LooResult:
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

    Returns
    -------
    LooResult
        ``estimates`` (``elpd_loo``, ``p_loo``, ``looic``), ``pointwise`` and Pareto k;
        ``print()`` gives loo's text.

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
    if (moment_match or reloo) and isinstance(fit, np.ndarray):
        raise DataError("moment_match and reloo need the fit itself, not a log-likelihood array.")
    result = psis_loo(fit)
    if moment_match:
        result = loo_moment_match(fit, result, k_threshold=k_threshold, **(moment_match_args or {}))
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

