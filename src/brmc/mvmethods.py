"""brms's functions of a multivariate fit that go response by response, with ``resp=``:
``bayes_R2``, ``loo_R2``, ``pp_check`` and ``conditional_effects``.

Each response is computed from its univariate view of the draws
(:meth:`brmc.mvfit.MvFit.response_fit`), as brms does with one ``resp`` at a time: its expected
values, its own predictive distribution (the marginal one of a model with ``rescor``) and its own
pointwise log-likelihood (brms's ``log_lik(fit, resp = "english")``).  The results carry brms's
names: rows ``R2english``, ``R2math``; effects ``english.english_craven``.

Examples
--------
>>> mv_bayes_R2(mvfit).index.tolist()
['R2english', 'R2math']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from matplotlib.figure import Figure

from ._docs import shared
from .checks import pp_check
from .comparison import loo_R2
from .conditional import ConditionalEffects, add_effect, effect_options, requested_effects
from .criteria import bayes_R2
from .errors import DataError

if TYPE_CHECKING:
    from .mvfit import MvFit


def _by_response(tables: dict[str, pd.DataFrame], summary: bool) -> pd.DataFrame:
    """Each response's R² table (row or column ``R2``) as brms's ``R2<resp>``, joined."""
    if summary:
        return pd.concat([t.rename(index={"R2": f"R2{r}"}) for r, t in tables.items()])
    return pd.concat([t.rename(columns={"R2": f"R2{r}"}) for r, t in tables.items()], axis=1)


@shared
def mv_bayes_R2(fit: MvFit, resp: str | Sequence[str] | None = None, summary: bool = True,
                probs: Sequence[float] = (0.025, 0.975)) -> pd.DataFrame:
    """brms's ``bayes_R2`` of a multivariate fit: :func:`brmc.criteria.bayes_R2` of each response
    (its expected values and residuals), one row ``R2<resp>`` each.

    Parameters
    ----------
    {mv_r2}

    Returns
    -------
    pandas.DataFrame
        Rows ``R2english``, ... (``Estimate``, ``Est.Error``, quantiles), or columns of draws.

    Examples
    --------
    >>> mv_bayes_R2(mvfit, resp="math", summary=False).columns.tolist()
    ['R2math']
    """
    return _by_response({r: bayes_R2(fit.response_fit(r), summary, probs) for r in fit.chosen(resp)}, summary)


@shared
def mv_loo_R2(fit: MvFit, resp: str | Sequence[str] | None = None, summary: bool = True,
              probs: Sequence[float] = (0.025, 0.975), seed: int | None = None) -> pd.DataFrame:
    """brms's ``loo_R2`` of a multivariate fit: :func:`brmc.comparison.loo_R2` of each response,
    its PSIS weights from its own log-likelihood, one row ``R2<resp>`` each.

    Parameters
    ----------
    {mv_r2}
    seed : int, optional
        Seed of the Bayesian bootstrap weights (response k, counted from 0, takes ``seed + k``).

    Returns
    -------
    pandas.DataFrame
        Rows ``R2english``, ..., or columns of draws.

    Examples
    --------
    >>> mv_loo_R2(mvfit, seed=1).index.tolist()
    ['R2english', 'R2math']
    """
    chosen = fit.chosen(resp)
    return _by_response({r: loo_R2(fit.response_fit(r), summary, probs, None if seed is None else seed + k)
                         for k, r in enumerate(chosen)}, summary)


def mv_pp_check(fit: MvFit, type: str = "dens_overlay", ndraws: int | None = None, resp: str | None = None,
                **kwargs: Any) -> Figure:
    """brms's ``pp_check`` of a multivariate fit: :func:`brmc.checks.pp_check` of one response,
    which brms requires ``resp`` to name.

    Parameters
    ----------
    fit : MvFit
        A multivariate fit.
    type : str, default ``"dens_overlay"``
        The check (:data:`brmc.checks.PPC_TYPES`).
    ndraws : int, optional
        Predictive draws shown (brms's defaults when None).
    resp : str
        The response.
    **kwargs
        :func:`brmc.checks.pp_check`'s other arguments.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    DataError
        ``resp`` not one response.

    Examples
    --------
    >>> figure = mv_pp_check(mvfit, resp="math", ndraws=5, seed=1)
    """
    if not isinstance(resp, str):
        raise DataError("Argument 'resp' must be a single variable name when applying this method to a "
                        f"multivariate model; its responses are {', '.join(fit.responses)}.")
    return pp_check(fit.response_fit(fit.chosen(resp)[0]), type, ndraws, **kwargs)


def _wanted(fit: MvFit, effects: str | Sequence[str] | None) -> list[list[str]]:
    """brms's effects of a multivariate model: those of every response (its defaults or the
    requested ones a response has), in order of first appearance."""
    out, first_error = [], None
    for r in fit.responses:
        asked = [None] if effects is None else [effects] if isinstance(effects, str) else list(effects)
        for effect in asked:
            try:
                found = requested_effects(fit.model_data.responses[r], effect)
            except DataError as err:
                first_error = first_error or err
                continue
            out += [names for names in found if names not in out]
    if not out:
        raise first_error
    return out


def mv_conditional_effects(fit: MvFit, effects: str | Sequence[str] | None = None, resp: str | Sequence[str] | None = None,
                           conditions: pd.DataFrame | None = None, int_conditions: dict[str, Any] | None = None,
                           re_formula: Any = False, probs: Sequence[float] = (0.025, 0.975), resolution: int = 100,
                           robust: bool = True, method: str = "posterior_epred", spaghetti: bool = False,
                           surface: bool = False, categorical: bool = False, **kwargs: Any) -> ConditionalEffects:
    """brms's ``conditional_effects`` of a multivariate fit: every effect of the model for each
    response, named ``<resp>.<resp>_<effect>`` (``english.english_craven``), effects outer and
    responses inner as brms orders them; a response whose formula lacks an effect's variable
    predicts a flat line, as in brms.

    Parameters
    ----------
    fit : MvFit
        A multivariate fit.
    effects : str or sequence of str, optional
        Predictors or pairs (``"a:b"``) of any response; every response's defaults when None.
    resp : str or sequence of str, optional
        The responses; all when None.
    conditions, int_conditions, re_formula, probs, resolution, robust, method, spaghetti, surface, categorical
        As :func:`brmc.conditional.conditional_effects`.
    **kwargs
        ``ndraws``, ``seed``, ``sample_new_levels`` for the predictions.

    Returns
    -------
    ConditionalEffects
        One frame per effect and response; each plot's y axis names its response.

    Examples
    --------
    >>> list(mv_conditional_effects(mvfit, resolution=5).data)
    ['english.english_craven', 'math.math_craven']
    """
    chosen = fit.chosen(resp)
    views = {r: fit.response_fit(r) for r in chosen}
    options = {r: effect_options(view, conditions, int_conditions, re_formula, probs, resolution, robust, method,
                                 spaghetti, surface, categorical, kwargs) for r, view in views.items()}
    out = ConditionalEffects({}, chosen[0])
    for names in _wanted(fit, effects):
        for r, view in views.items():
            key = f"{r}.{r}_{':'.join(names)}"
            add_effect(out, key, view, names, options[r])
            out.labels.setdefault(key, r)  # a categorical effect keeps its catscale
    return out
