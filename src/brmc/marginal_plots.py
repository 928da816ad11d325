"""Plots of marginal effects as marginaleffects draws them: :func:`plot_predictions`,
:func:`plot_comparisons` and :func:`plot_slopes`.

``condition=`` plots the estimates on a grid: the first variable on the x-axis (50
values from its minimum to its maximum, or each level of a factor), the second as
colours (Tukey's five numbers, or each level), the third as panels; every other
variable at its mean or mode (:func:`brmc.datagrid`).  ``by=`` plots averages over
the data's rows instead (:func:`brmc.avg_predictions` and its kin).  A numeric x
gives lines with their credible bands, a factor points with interval bars.  Every
plot returns its figure through :func:`brmc.plots.handed_over`; ``draw=False`` gives
the estimates instead.

Example:
    >>> fig = plot_predictions(fit, condition="Days", re_formula=False)
    >>> len(fig.axes[0].lines)
    1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._docs import shared
from .checks import observed_response
from .contrasts import is_factor
from .datagrid import fivenum, grid_values, level_values, model_variables, typical_grid
from .design import labels_of
from .errors import DataError, close_matches
from .marginal import SLOPES, avg_comparisons, avg_predictions, comparisons, predictions
from .marginal_frame import MarginalFrame
from .plots import SCHEME, handed_over

if TYPE_CHECKING:
    from .fit import Fit

#: marginaleffects' shortcut values of a conditioning variable.
SHORTCUTS = ("threenum", "fivenum", "minmax", "quartile")
#: Points along a numeric x-axis, as marginaleffects.
RESOLUTION = 50


def _shortcut(values: np.ndarray, name: str) -> list[float]:
    if name == "threenum":
        return list(values.mean() + np.array([-1.0, 0.0, 1.0]) * values.std(ddof=1))
    if name == "fivenum":
        return list(fivenum(values))
    if name == "minmax":
        return [values.min(), values.max()]
    return list(np.quantile(values, [0.25, 0.5, 0.75]))


def condition_grid(fit: Fit, condition: str | Sequence[str] | Mapping[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """marginaleffects' grid for ``condition``: the x variable at 50 values over its range
    (0 and 1 if binary, each level of a factor), the colour and panel variables at Tukey's
    five numbers or each level, or at the values (or shortcut) given; the rest typical.

    Example:
        >>> grid, names = condition_grid(fit, "Days")
        >>> len(grid), names
        (50, ['Days'])
    """
    specs = dict(condition) if isinstance(condition, Mapping) else dict.fromkeys(
        [condition] if isinstance(condition, str) else condition)
    if not 1 <= len(specs) <= 3:
        raise DataError("condition names one to three variables: the x-axis, the colours and the panels.")
    frame = fit.model_data.frame
    values: dict[str, Any] = {}
    for k, (name, spec) in enumerate(specs.items()):
        if name not in frame.columns:
            raise DataError(f"condition: {name!r} is not a variable of the model's data."
                            f"{close_matches(str(name), model_variables(fit))}")
        column = frame[name]
        numbers = None if is_factor(column) else column.to_numpy(dtype=float)
        if isinstance(spec, str) and spec in SHORTCUTS and numbers is not None:
            values[name] = _shortcut(numbers, spec)
        elif spec is not None:
            values[name] = grid_values(column, spec)
        elif numbers is None:
            values[name] = level_values(column)
        elif set(np.unique(numbers)) <= {0.0, 1.0}:
            values[name] = [0, 1]
        else:
            values[name] = list(np.linspace(numbers.min(), numbers.max(), RESOLUTION)) if k == 0 else \
                list(fivenum(numbers))
    return typical_grid(frame, model_variables(fit), values), list(specs)


def _axes_of(condition: Any, by: Any) -> str:
    if (condition is None) == (by is None or by is False):
        raise DataError("Give either condition= (estimates on a grid) or by= (averages over the data), not both.")
    return "condition" if condition is not None else "by"


def _label(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, (float, np.floating)) else str(value)


def _draw(result: pd.DataFrame, names: list[str], ylabel: str, points: pd.DataFrame | None = None,
          alpha: float = 0.0) -> Figure:
    """Estimates against ``names[0]``, coloured by ``names[1]``, a panel per value of ``names[2]``
    and per ``term`` and ``contrast`` when there are several; ``points`` (``resp__`` against x)
    drawn behind with opacity ``alpha``."""
    x, color = names[0], names[1] if len(names) > 1 else None
    keys = [k for k in ("term", "contrast") if k in result.columns and result[k].nunique() > 1] + names[2:]
    panels = [("", result)] if not keys else [
        (", ".join(f"{k} = {_label(v)}" for k, v in zip(keys, key if isinstance(key, tuple) else (key,))), part)
        for key, part in result.groupby(keys, sort=False)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5 + 3.5 * (len(panels) - 1), 4), layout="constrained",
                             squeeze=False)
    numeric = not is_factor(result[x])
    levels = [] if numeric else list(dict.fromkeys(labels_of(result[x])))
    for ax, (title, part) in zip(axes[0], panels):
        groups = [("", part)] if color is None else list(part.groupby(color, sort=False))
        offsets = np.linspace(-0.15, 0.15, len(groups)) if len(groups) > 1 and not numeric else np.zeros(len(groups))
        for k, ((value, g), offset) in enumerate(zip(groups, offsets)):
            shade = SCHEME["dark"] if color is None else plt.get_cmap("tab10")(k % 10)
            label = "_nolegend_" if color is None else _label(value)
            est, lo, hi = (g[c].to_numpy(dtype=float) for c in ("estimate", "conf.low", "conf.high"))
            if numeric:
                xs = g[x].to_numpy(dtype=float)
                ax.fill_between(xs, lo, hi, color=shade, alpha=0.2, lw=0)
                ax.plot(xs, est, color=shade, lw=1.5, label=label)
            else:
                xs = labels_of(g[x]).map({lv: i for i, lv in enumerate(levels)}).to_numpy(dtype=float) + offset
                ax.errorbar(xs, est, yerr=[est - lo, hi - est], fmt="o", color=shade, capsize=4, label=label)
        if points is not None:
            ax.scatter(points[x], points["resp__"], s=8, color="black", alpha=alpha, zorder=0, label="_nolegend_")
        if not numeric:
            ax.set_xticks(range(len(levels)), levels, rotation=90 if len(levels) > 8 else 0)
        ax.set_xlabel(x)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if color is not None:
            ax.legend(title=color, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def _ylabel(result: pd.DataFrame, default: str) -> str:
    if "contrast" in result.columns and result["contrast"].nunique() == 1 and result["term"].nunique() == 1:
        return f"{result['term'].iloc[0]}: {result['contrast'].iloc[0]}"
    return default


def plot_predictions(fit: Fit, condition: str | Sequence[str] | Mapping[str, Any] | None = None,
                     by: str | Sequence[str] | None = None, type: str = "response", re_formula: Any = None,
                     points: float = 0.0, conf_level: float = 0.95, draw: bool = True,
                     **kwargs: Any) -> Figure | MarginalFrame:
    """marginaleffects' ``plot_predictions``: predictions on a ``condition`` grid, or averaged ``by`` groups.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    condition : str, list of str or dict, optional
        The x-axis, colour and panel variables; a dict gives their values (a list, a function of
        the column, or ``"threenum"``, ``"fivenum"``, ``"minmax"``, ``"quartile"``).
    by : str or list of str, optional
        Instead of ``condition``: average the predictions over the data's rows in these groups.
    type : str, default ``"response"``
        ``"response"``, ``"link"`` or ``"prediction"``.
    re_formula : None, False or str, optional
        The group-level terms (None: all, as marginaleffects passes; False: none).
    points : float, default 0.0
        Opacity of the data points drawn behind a numeric x-axis (0: none).
    conf_level : float, default 0.95
        The probability of the bands.
    draw : bool, default True
        False returns the estimates instead of the figure.
    **kwargs
        ``ndraws``, ``seed``, ``allow_new_levels``, ``sample_new_levels``.

    Returns
    -------
    matplotlib.figure.Figure or MarginalFrame
        The figure, or with ``draw=False`` the predictions.

    Examples
    --------
    >>> plot_predictions(fit, condition="Days", re_formula=False, draw=False).shape
    (50, 6)
    """
    if _axes_of(condition, by) == "condition":
        grid, names = condition_grid(fit, condition)
        result = predictions(fit, newdata=grid, type=type, re_formula=re_formula, conf_level=conf_level, **kwargs)
    else:
        names = [by] if isinstance(by, str) else list(by)
        result = avg_predictions(fit, by=names, type=type, re_formula=re_formula, conf_level=conf_level, **kwargs)
    if not draw:
        return result
    data = None
    if points > 0 and not is_factor(result[names[0]]):
        data = fit.model_data.frame[[names[0]]].assign(resp__=observed_response(fit))
    return handed_over(_draw(result, names, fit.model_data.formula.response, data, points))


@shared
def plot_comparisons(fit: Fit, variables: str | Sequence[str] | Mapping[str, Any] | None = None,
                     condition: str | Sequence[str] | Mapping[str, Any] | None = None,
                     by: str | Sequence[str] | None = None, comparison: str = "difference", type: str = "response",
                     re_formula: Any = None, conf_level: float = 0.95, draw: bool = True,
                     **kwargs: Any) -> Figure | MarginalFrame:
    """marginaleffects' ``plot_comparisons``: the comparisons of ``variables`` on a ``condition``
    grid, or averaged ``by`` groups; a panel per contrast when there are several.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    variables : str, list of str or dict, optional
        The focal variables and their contrasts, as in :func:`brmc.comparisons`.
    condition : str, list of str or dict, optional
        The x-axis, colour and panel variables (see :func:`plot_predictions`).
    by : str or list of str, optional
        Instead of ``condition``: average the comparisons over the data's rows in these groups.
    comparison : str, default ``"difference"``
        As in :func:`brmc.comparisons`.
    {me_plot}

    Returns
    -------
    matplotlib.figure.Figure or MarginalFrame
        The figure, or with ``draw=False`` the comparisons.

    Examples
    --------
    >>> fig = plot_comparisons(fit, variables="Days", condition="Days")
    >>> fig.axes[0].get_ylabel()
    'Days: +1'
    """
    if _axes_of(condition, by) == "condition":
        grid, names = condition_grid(fit, condition)
        result = comparisons(fit, newdata=grid, variables=variables, comparison=comparison, type=type,
                             re_formula=re_formula, conf_level=conf_level, **kwargs)
    else:
        names = [by] if isinstance(by, str) else list(by)
        result = avg_comparisons(fit, variables=variables, comparison=comparison, type=type, by=names,
                                 re_formula=re_formula, conf_level=conf_level, **kwargs)
    return handed_over(_draw(result, names, _ylabel(result, "Comparison"))) if draw else result


@shared
def plot_slopes(fit: Fit, variables: str | Sequence[str] | None = None,
                condition: str | Sequence[str] | Mapping[str, Any] | None = None,
                by: str | Sequence[str] | None = None, slope: str = "dydx", type: str = "response",
                re_formula: Any = None, conf_level: float = 0.95, draw: bool = True,
                **kwargs: Any) -> Figure | MarginalFrame:
    """marginaleffects' ``plot_slopes``: the slopes of ``variables`` on a ``condition`` grid, or
    averaged ``by`` groups.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    variables : str or list of str, optional
        The focal variables, as in :func:`brmc.slopes`.
    condition : str, list of str or dict, optional
        The x-axis, colour and panel variables (see :func:`plot_predictions`).
    by : str or list of str, optional
        Instead of ``condition``: average the slopes over the data's rows in these groups.
    slope : str, default ``"dydx"``
        ``"dydx"``, ``"eyex"``, ``"eydx"`` or ``"dyex"``.
    {me_plot}

    Returns
    -------
    matplotlib.figure.Figure or MarginalFrame
        The figure, or with ``draw=False`` the slopes.

    Examples
    --------
    >>> plot_slopes(fit, variables="Days", by="Subject", draw=False).shape
    (18, 6)
    """
    if slope not in SLOPES:
        raise DataError(f"slope must be one of {', '.join(SLOPES)}, not {slope!r}.")
    return plot_comparisons(fit, variables, condition, by, slope, type, re_formula, conf_level, draw, **kwargs)
