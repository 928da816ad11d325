"""Posterior predictive checks, as brms's ``pp_check`` (bayesplot's ``ppc_*`` plots, drawn by
:mod:`brmc.ppc_panels`): the observed response against responses drawn from the posterior
predictive distribution (the prior predictive one for fits made with ``sample_prior="only"``).
Conditional effects: :mod:`brmc.conditional`.

Example:
    >>> fig = pp_check(fit, type="hist")
    >>> fig = pp_check(fit, type="dens_overlay_grouped", group="Subject")
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from .criteria import _psis, relative_eff
from .errors import DataError, close_matches
from .plots import handed_over
from .ppc_panels import PANELS, ppc_bars_data  # noqa: F401  (ppc_bars_data: brmc.checks' before the panels moved)
from .predict import posterior_predict

if TYPE_CHECKING:
    from .fit import Fit

# ---------------------------------------------------------------- pp_check

PPC_TYPES = tuple(PANELS)
#: brms uses every draw for these types and 10 draws for the others (``loo_pit_overlay``: every draw, see
#: docs/differences.md).
ALL_DRAW_TYPES = ("stat", "stat_grouped", "stat_2d", "intervals", "intervals_grouped", "ribbon", "rootogram",
                  "scatter_avg", "violin_grouped", "error_scatter_avg", "loo_pit_overlay")
#: pp_check keywords meant for ``posterior_predict``, as brms routes ``...``.
PREDICT_ARGS = ("re_formula",)


def observed_response(fit: Fit) -> np.ndarray:
    """The response as ``posterior_predict`` draws it (ordinal and categorical categories 1..K).

    Example:
        >>> observed_response(fit)[:3]
        array([249.56  , 258.7047, 250.8006])
    """
    md = fit.model_data
    y = np.asarray(md.y, dtype=float)
    return y + 1 if md.family.polytomous else y


def pp_check(fit: Fit, type: str = "dens_overlay", ndraws: int | None = None, stat: str | Callable = "mean",
             group: str | None = None, seed: int | None = None, **kwargs: Any) -> Figure:
    """brms's ``pp_check``: observed response against posterior predictive draws.

    ``type`` is one of :data:`PPC_TYPES` (bayesplot's ``ppc_<type>``).  ``ndraws`` defaults as in
    brms: all draws for the types in :data:`ALL_DRAW_TYPES`, 10 for the others.  ``stat`` (types
    ``stat``, ``stat_grouped``) names a statistic among :data:`brmc.ppc_panels.STATS` or is a
    function of a vector; ``stat_2d`` takes two (default ``("mean", "sd")``).  The ``_grouped`` types
    need ``group``, a data column: one panel per level.  ``loo_pit_overlay`` weighs the draws by
    PSIS-LOO (every draw).  ``re_formula`` in ``kwargs`` goes to ``posterior_predict``; the other
    keywords to the plot: ``bins`` (``hist``, ``error_hist``, ``stat``), ``prob`` and ``prob_outer``
    (``intervals``, ``ribbon``: 0.5 and 0.9), ``prob`` and ``freq`` (``bars``: 0.9 and True),
    ``discrete`` (``ecdf_overlay``), ``style`` and ``prob`` (``rootogram``: ``"standing"``, 0.9),
    ``probs`` and ``y_draw`` (``violin_grouped``), ``samples`` (``loo_pit_overlay``: 100).  Censored
    observations are left out, as brms does.  For ``sample_prior="only"`` fits the draws are prior
    predictive ones.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    type : str, default ``"dens_overlay"``
        One of :data:`PPC_TYPES`.
    ndraws : int, optional
        Predictive draws to use; brms's default per ``type`` when None.
    stat : str or callable or pair of them, default ``"mean"``
        The statistic of types ``"stat"`` and ``"stat_grouped"`` (two for ``"stat_2d"``).
    group : str, optional
        The data column whose levels the ``_grouped`` types show one panel each.
    seed : int, optional
        Seed of the predictive draws.
    **kwargs
        ``re_formula`` and the plot's own keywords (see above).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = pp_check(fit)
    >>> fig = pp_check(fit, type="stat", stat="sd")
    >>> fig = pp_check(fit, type="stat_2d")
    """
    family = fit.model_data.family
    if family.multicol:
        raise DataError(f"'pp_check' is not implemented for family '{family.name}' (a cbind() response "
                        "matrix), as in brms; compare posterior_predict() with the data column by column.")
    if type not in PANELS:
        raise DataError(f"Type {type!r} is not a valid ppc type.{close_matches(str(type), PPC_TYPES)} "
                        f"Valid types are: {', '.join(PPC_TYPES)}.")
    panel = PANELS[type]
    predict_args = {k: kwargs.pop(k) for k in PREDICT_ARGS if k in kwargs}
    parameters = inspect.signature(panel).parameters
    allowed = [p for p in parameters if p not in ("y", "yrep", "stat", "group", "lw")]
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise DataError(f"pp_check type {type!r} does not take {', '.join(map(repr, unknown))}; it takes "
                        f"{', '.join(map(repr, allowed + list(PREDICT_ARGS))) or 'no further arguments'}.")
    if "stat" in parameters and not (type == "stat_2d" and stat == "mean"):
        kwargs["stat"] = stat
    if "group" in parameters:
        if group is None:
            raise DataError(f"Argument 'group' is required for ppc type {type!r}.")
        if group not in fit.data.columns:
            raise DataError(f"Variable {group!r} could not be found in the data."
                            f"{close_matches(group, list(map(str, fit.data.columns)))}")
        kwargs["group"] = fit.data[group].to_numpy()
    if "lw" in parameters:
        if ndraws is not None:
            raise DataError(f"pp_check type {type!r} weighs every draw by PSIS-LOO: leave ndraws unset.")
        ll = np.asarray(fit.log_likelihood().values, dtype=float)
        kwargs["lw"] = _psis(ll.reshape(-1, ll.shape[-1]), relative_eff(ll))[0].T
    if ndraws is None and type not in ALL_DRAW_TYPES:
        ndraws = 10
    if ndraws is not None and (isinstance(ndraws, bool) or not isinstance(ndraws, (int, np.integer)) or ndraws < 1):
        raise DataError(f"ndraws must be a positive integer, got {ndraws!r}.")
    y = observed_response(fit)
    yrep = np.asarray(posterior_predict(fit, ndraws=ndraws, seed=seed, **predict_args), dtype=float)
    cens = fit.model_data.additions.get("cens")
    if cens is not None and np.any(cens != 0):
        warnings.warn("Censored responses are not shown in 'pp_check'.", UserWarning, stacklevel=2)
        keep = np.asarray(cens) == 0
        if not keep.any():
            raise DataError("No non-censored responses found.")
        y, yrep = y[keep], yrep[:, keep]
        kwargs = {k: v[..., keep] if k in ("group", "lw") else v for k, v in kwargs.items()}
    fig = panel(y, yrep, **kwargs)
    if fit.settings.sample_prior == "only":
        fig.suptitle("Prior predictive check", fontsize=10)
    return handed_over(fig)
