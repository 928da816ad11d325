"""brms's ``posterior_smooths`` and ``conditional_smooths``: a smooth term's own part of the
linear predictor, without the intercept and the other terms.

:func:`posterior_smooths` gives its draws at the training rows or at new rows (which need
only the smooth's own columns); :func:`conditional_smooths` evaluates every smooth (or the
ones named) on a grid of its covariates, as brms does: ``resolution`` values from the
smallest to the largest for a numeric covariate, the levels of a factor, a numeric ``by``
at its mean and the mean ± one sd, and summarises the draws by their median and MAD with
the quantiles of ``prob``.

Example:
    >>> eta = posterior_smooths(fit_smooth, "s(times)")
    >>> eta.shape  # draws x training rows
    (400, 133)
    >>> list(conditional_smooths(fit_smooth).data)
    ['mu: s(times)']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .conditional import ConditionalEffects, summarise_effects
from .contrasts import is_factor
from .design import level_order
from .errors import DataError, close_matches
from .predict import draw_setup, rows_context
from .sampling import training_design
from .terms import linear_predictor
from .terms.base import DrawsContext
from .terms.sm import KIND as SMOOTHS
from .terms.sm import SmoothSpec

if TYPE_CHECKING:
    from .fit import Fit


def _label(spec: SmoothSpec) -> str:
    """brms's name of a smooth term: as deparsed, without white space (``s(times,bs="cr")``)."""
    return "".join(spec.text.split())


def _smooths(fit: Fit, dpar: str) -> list[SmoothSpec]:
    md = fit.model_data
    if dpar not in md.predictors:
        raise DataError(f"Invalid argument 'dpar'. Valid distributional parameters are: {', '.join(md.predictors)}.")
    part = md.predictors[dpar].parts.get(SMOOTHS.name)
    return [] if part is None else part.specs


def posterior_smooths(fit: Fit, smooth: str, newdata: pd.DataFrame | None = None, dpar: str = "mu",
                      ndraws: int | None = None, seed: int | None = None) -> np.ndarray:
    """Draws of one smooth term's part of the linear predictor, as brms's ``posterior_smooths``.

    Parameters
    ----------
    fit : Fit
        A fit with ``s()`` or ``t2()`` terms.
    smooth : str
        The term as written in the formula (white space does not matter): ``"s(times)"``.
    newdata : pandas.DataFrame, optional
        Rows to evaluate it at; only the smooth's own columns (covariates and ``by``) are needed.
        The training rows when None.
    dpar : str, default ``"mu"``
        The distributional parameter whose smooth it is.
    ndraws : int, optional
        A random subset of that many draws (all when None).
    seed : int, optional
        The seed of that subset.

    Returns
    -------
    numpy.ndarray
        (draws, rows).

    Examples
    --------
    >>> grid = pd.DataFrame({"times": [10.0, 20.0, 30.0]})
    >>> posterior_smooths(fit_smooth, "s( times )", grid, ndraws=50, seed=1).shape
    (50, 3)
    """
    specs = _smooths(fit, dpar)
    labels = [_label(s) for s in specs]
    wanted = "".join(smooth.replace("'", '"').split())
    if wanted not in labels:
        available = f"Available smooth terms are: {', '.join(labels)}." if labels else "The model has no smooth terms."
        raise DataError(f"Term {smooth!r} cannot be found.{close_matches(wanted, labels)} {available}")
    md, post = fit.model_data, fit.idata.posterior
    lp = md.predictors[dpar]
    part = lp.parts[SMOOTHS.name]
    spec = specs[labels.index(wanted)]
    if newdata is None:
        rows = training_design(md)[dpar][SMOOTHS.name]
    else:
        if not isinstance(newdata, pd.DataFrame) or len(newdata) == 0:
            raise DataError("newdata must be a non-empty pandas DataFrame.")
        own = list(dict.fromkeys(spec.term.variables))
        # the other smooths' columns, not needed, at a training value: their parts are left out
        others = [c for s in specs for c in s.term.variables if c not in own and c not in newdata.columns]
        filled = newdata.assign(**{c: md.frame[c].iloc[0] for c in dict.fromkeys(others)})
        columns = list(dict.fromkeys(c for s in specs for c in s.term.variables))
        rows = SMOOTHS.rows(lp, part, rows_context(md, filled, columns))
    draws, _ = draw_setup(fit, ndraws, seed)
    eta = linear_predictor({SMOOTHS.name: SMOOTHS.term_draws(lp, part, rows, DrawsContext(post, draws),
                                                             [labels.index(wanted)])})
    n_rows = len(md.frame) if newdata is None else len(newdata)
    return np.broadcast_to(eta, (len(draws), n_rows)).copy()


def _grid_values(column: pd.Series, resolution: int, moderator: bool, given: Any) -> list[Any]:
    """brms's values of a smooth's variable: ``int_conditions``, a factor's levels, a numeric's
    range in ``resolution`` steps, or a numeric moderator's mean and mean ± sd."""
    if given is not None:
        return list(given(column) if callable(given) else np.atleast_1d(given))
    if is_factor(column):
        return level_order(column)
    values = column.to_numpy(dtype=float)
    if moderator:
        return list(values.mean() + np.array([-1.0, 0.0, 1.0]) * values.std(ddof=1))
    return list(np.linspace(values.min(), values.max(), resolution))


def _expand_grid(values: dict[str, list[Any]]) -> pd.DataFrame:
    """R's ``expand.grid``: every combination, the first variable varying fastest."""
    names = list(values)
    index = pd.MultiIndex.from_product([values[n] for n in reversed(names)], names=list(reversed(names)))
    return index.to_frame(index=False)[names]


def conditional_smooths(fit: Fit, smooths: str | Sequence[str] | None = None, int_conditions: dict[str, Any] | None = None,
                        prob: float = 0.95, surface: bool = True, resolution: int = 100) -> ConditionalEffects:
    """Each smooth term's part of the linear predictor over its covariates, as brms's
    ``conditional_smooths``; ``plot()`` draws them.

    Parameters
    ----------
    fit : Fit
        A fit with ``s()`` or ``t2()`` terms.
    smooths : str or sequence of str, optional
        The terms to show, as written (all when None).
    int_conditions : dict, optional
        Values (or functions of the data column) at which to evaluate a variable, by name.
    prob : float, default 0.95
        The probability of the credible intervals.
    surface : bool, default True
        Whether a smooth of two numeric covariates is a surface (else its second covariate
        takes its mean and mean ± sd).
    resolution : int, default 100
        The number of values of a numeric covariate.

    Returns
    -------
    ConditionalEffects
        One frame per smooth, keyed ``"<dpar>: <term>"``, with the variables, ``effect1__``
        (``effect2__``), ``cond__`` and ``estimate__``, ``se__``, ``lower__``, ``upper__``.

    Examples
    --------
    >>> cs = conditional_smooths(fit_smooth, resolution=20)
    >>> cs["mu: s(times)"][["times", "estimate__"]].shape
    (20, 2)
    """
    wanted = None if smooths is None else ["".join(s.replace("'", '"').split())
                                           for s in ([smooths] if isinstance(smooths, str) else smooths)]
    int_conditions = dict(int_conditions or {})
    probs = ((1 - prob) / 2, 1 - (1 - prob) / 2)
    frame = fit.model_data.frame
    out, effects, types, points = {}, {}, {}, {}
    for dpar in fit.model_data.predictors:
        for spec in _smooths(fit, dpar):
            label = _label(spec)
            if wanted is not None and label not in wanted:
                continue
            covars = list(spec.covariates)
            byvars = [spec.options["by"]] if "by" in spec.options else []
            if len(covars) > 2:  # brms shows the others by facets
                covars, byvars = covars[:2], covars[2:] + byvars
            elif len(covars) == 1 and byvars:
                covars, byvars = covars + byvars[:1], byvars[1:]
            numeric = [not is_factor(frame[c]) for c in covars]
            values = {c: _grid_values(frame[c], resolution, k == 1 and not surface and numeric[k],
                                      int_conditions.get(c)) for k, c in enumerate(covars)}
            values |= {c: _grid_values(frame[c], resolution, True, int_conditions.get(c)) for c in byvars}
            grid = _expand_grid(values)
            for c in values:
                if is_factor(frame[c]):
                    grid[c] = pd.Categorical(grid[c], categories=level_order(frame[c]))
            eta = posterior_smooths(fit, label, grid, dpar=dpar)
            result = grid.copy()
            for k, c in enumerate(covars, start=1):
                result[f"effect{k}__"] = result[c]
            result["cond__"] = (grid[byvars].astype(str).agg(" & ".join, axis=1) if byvars
                                else pd.Categorical(["1"] * len(grid)))
            result[["estimate__", "se__", "lower__", "upper__"]] = summarise_effects(eta, probs).to_numpy()
            result.attrs["surface"] = surface and len(covars) == 2 and all(numeric)
            key = f"{dpar}: {label}"
            out[key], effects[key] = result, covars
            types[key] = ["numeric" if n else "factor" for n in numeric]
            points[key] = frame[covars].reset_index(drop=True).assign(
                **{f"effect{k}__": frame[c].to_numpy() for k, c in enumerate(covars, start=1)})
    if not out:
        raise DataError("No valid smooth terms found in the model.")
    return ConditionalEffects(out, response="", effects=effects, types=types, points=points,
                              labels={k: k for k in out}, smooths_only=True)
