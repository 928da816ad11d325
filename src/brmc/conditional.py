"""brms's ``conditional_effects``: the response predicted over the range of one
predictor (or a pair) with the other predictors held at brms's defaults: numeric
ones at their mean, factors at their reference level, group-level effects left
out (``re_formula=False``, brms's ``NA``).

Example:
    >>> ce = conditional_effects(fit)
    >>> ce.data["Days"][["Days", "estimate__", "lower__", "upper__"]].shape
    (100, 4)
    >>> figs = ce.plot(points=True)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .checks import observed_response
from .contrasts import is_factor
from .data import ModelData
from .design import labels_of, level_order
from .errors import DataError, close_matches
from .plots import Figures, handed_over
from .predict import posterior_epred, posterior_linpred, posterior_predict

if TYPE_CHECKING:
    from .fit import Fit

METHODS: dict[str, Callable[..., np.ndarray]] = {
    "posterior_epred": posterior_epred, "posterior_predict": posterior_predict,
    "posterior_linpred": posterior_linpred,
}
#: The label of grouping factors in prediction rows (brms leaves them ``NA``): a new level.
NEW_LEVEL = "NA__"
_SUMMARY_COLUMNS = ["estimate__", "se__", "lower__", "upper__"]


def r_mad(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """R's ``mad``: 1.4826 × the median absolute deviation from the median.

    Example:
        >>> float(r_mad(np.array([1.0, 2.0, 4.0])))
        1.4826
    """
    med = np.median(x, axis=axis, keepdims=True)
    return 1.4826 * np.median(np.abs(x - med), axis=axis)


def summarise_effects(draws: np.ndarray, probs: Sequence[float] = (0.025, 0.975), robust: bool = True) -> pd.DataFrame:
    """brms's ``posterior_summary`` of (draws, rows) as ``estimate__``, ``se__``,
    ``lower__``, ``upper__``: median and MAD when ``robust`` (brms's default), else mean and sd.

    Example:
        >>> summarise_effects(np.array([[1.0], [2.0], [4.0]]))
           estimate__     se__  lower__  upper__
        0         2.0  1.4826     1.05      3.9
    """
    if robust:
        est, se = np.median(draws, axis=0), r_mad(draws)
    else:
        est, se = draws.mean(axis=0), draws.std(axis=0, ddof=1)
    lower, upper = np.quantile(draws, probs, axis=0)
    return pd.DataFrame(dict(zip(_SUMMARY_COLUMNS, (est, se, lower, upper))))


@dataclass
class ConditionalEffects:
    """brms's ``brms_conditional_effects``: ``data`` maps each effect (``"Days"``,
    ``"zBase:Trt"``) to its frame of predictions; ``plot()`` draws them.

    Example:
        >>> ce = conditional_effects(fit)
        >>> list(ce.data)
        ['Days']
    """

    data: dict[str, pd.DataFrame]
    response: str
    effects: dict[str, list[str]] = field(repr=False, default_factory=dict)
    types: dict[str, list[str]] = field(repr=False, default_factory=dict)
    points: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)

    def __getitem__(self, effect: str) -> pd.DataFrame:
        if effect not in self.data:
            raise DataError(f"No conditional effect {effect!r}.{close_matches(effect, self.data)} "
                            f"Available: {', '.join(self.data)}.")
        return self.data[effect]

    def plot(self, points: bool = False) -> Figures:
        """One figure per effect, as brms's ``plot(conditional_effects(fit))``: a line
        with its credible band for a numeric predictor, points with error bars for
        a categorical one, one line / point set per value of the second variable of
        an interaction; ``points=True`` adds the data (rows matching the
        conditions on other factors; not on ``categorical`` ordinal plots).

        Parameters
        ----------
        points : bool, default False
            Whether to add the data points.

        Returns
        -------
        Figures
            One figure per effect.

        Examples
        --------
        >>> figs = conditional_effects(fit).plot(points=True)
        >>> len(figs)
        1
        """
        return Figures(handed_over(_plot_effect(self.data[name], self.effects[name], self.types[name],
                                                self.response, self.points[name]
                                                if points and "cats__" not in self.effects[name] else None))
                       for name in self.data)


def _population_variables(md: ModelData) -> list[str]:
    """Data variables of the population parts of all predictors, in order of first appearance."""
    names = [n for lp in md.predictors.values() for n in lp.formula.population.variables]
    return [n for n in dict.fromkeys(names) if n in md.frame.columns]


def _group_variables(md: ModelData) -> list[str]:
    return list(dict.fromkeys(f for b in md.blocks for f in b.term.factors))


def _term_variables(md: ModelData) -> list[list[str]]:
    """Variables of each population term in R's term order (by degree): brms's ``get_all_effects``."""
    order = _population_variables(md)
    terms = []
    for variables in [v for lp in md.predictors.values() for v in lp.population.term_variables]:
        names = sorted((v for v in variables if v in order), key=order.index)
        if names and names not in terms:
            terms.append(names)
    return sorted(terms, key=len)


def _types(md: ModelData, variables: Sequence[str]) -> list[str]:
    groups = _group_variables(md)
    return ["factor" if v in groups or is_factor(md.frame[v]) else "numeric" for v in variables]


def _requested_effects(md: ModelData, effects: str | Sequence[str] | None) -> list[list[str]]:
    """Effects as variable lists: brms's defaults (main effects and two-way
    interactions, numeric variables first) or the requested ones, checked."""
    if effects is None:
        out = []
        for names in _term_variables(md):
            if len(names) <= 2:
                types = _types(md, names)
                names = [v for t in ("numeric", "factor") for v, tv in zip(names, types) if tv == t]
                if names not in out:
                    out.append(names)
        if not out:
            raise DataError("No valid effects detected: the model has no population-level predictors.")
        return out
    valid = _population_variables(md) + [g for g in _group_variables(md) if g in md.frame.columns]
    out = []
    for effect in [effects] if isinstance(effects, str) else list(effects):
        names = [n.strip() for n in str(effect).split(":")]
        if len(names) > 2:
            raise DataError(f"Effect {effect!r}: to display interactions of order higher than 2 "
                            "please condition on the other variables.")
        for name in names:
            if name not in valid:
                raise DataError(f"Effect {effect!r}: {name!r} is not a predictor of this model."
                                f"{close_matches(name, valid)} Valid effects are (combinations of): "
                                f"{', '.join(valid)}.")
        if names not in out:
            out.append(names)
    return out


def _first_rows(values: pd.Series, labels: Sequence[str]) -> pd.Series:
    """The first value of each label, keeping the column's dtype."""
    values = values.reset_index(drop=True)
    text = labels_of(values)
    return values.iloc[[int(np.flatnonzero(text == lv)[0]) for lv in labels]].reset_index(drop=True)


def _effect_values(md: ModelData, name: str, type_: str, resolution: int, moderator: bool) -> pd.Series:
    """brms's ``prepare_cond_data``: factor levels in order; a numeric predictor over
    ``resolution`` points from min to max, or (as a moderator) at mean - sd, mean, mean + sd."""
    col = md.frame[name]
    if type_ == "factor":
        return _first_rows(col, level_order(col))
    x = col.to_numpy(dtype=float)
    if moderator:
        return pd.Series(x.mean() + np.array([-1.0, 0.0, 1.0]) * x.std(ddof=1))
    return pd.Series(np.linspace(x.min(), x.max(), resolution))


def _condition_columns(md: ModelData, exclude: Sequence[str], n: int) -> tuple[dict[str, Any], list[str]]:
    """brms's ``prepare_conditions``: every other variable at its default (numeric: mean;
    factor: reference level; ``trials``: 1; grouping factor: NA).  Returns the columns
    and the names of the grouping factors set to NA."""
    trials = md.formula.additions.get("trials", [])
    groups = [g for g in _group_variables(md) if g not in _population_variables(md)]
    columns: dict[str, Any] = {}
    missing: list[str] = []
    for name in md.formula.variables():
        if name in exclude or name not in md.frame.columns:
            continue
        col = md.frame[name]
        if name in trials:
            columns[name] = np.ones(n)
        elif name in groups:
            columns[name] = np.full(n, np.nan)
            missing.append(name)
        elif is_factor(col):
            columns[name] = _first_rows(col, level_order(col)[:1]).iloc[np.zeros(n, dtype=int)].reset_index(drop=True)
        else:
            columns[name] = np.full(n, col.to_numpy(dtype=float).mean())
    return columns, missing


def _point_frame(fit: Fit, names: list[str]) -> pd.DataFrame:
    """brms's ``make_point_frame``: the data rows whose other factor predictors are at
    their reference level, with the effect variables and ``resp__``."""
    md = fit.model_data
    frame = md.frame.reset_index(drop=True)
    keep = np.ones(len(frame), dtype=bool)
    for v in _population_variables(md):
        if v not in names and is_factor(frame[v]):
            keep &= (labels_of(frame[v]) == level_order(frame[v])[0]).to_numpy()
    points = frame.loc[keep, names].reset_index(drop=True)
    points["resp__"] = observed_response(fit)[keep]
    for k, name in enumerate(names, start=1):
        points[f"effect{k}__"] = points[name]
    return points


def _one_effect(fit: Fit, names: list[str], resolution: int, re_formula: Any, probs: Sequence[float],
                robust: bool, method: str, categorical: bool, pred_args: dict[str, Any]
                ) -> tuple[pd.DataFrame, list[str], list[str]]:
    md = fit.model_data
    types = _types(md, names)
    values = [_effect_values(md, v, t, resolution, k == 1) for k, (v, t) in enumerate(zip(names, types))]
    sizes = [len(v) for v in values]
    if len(names) == 1:
        grid = pd.DataFrame({names[0]: values[0]})
    else:  # first variable outer, second inner: brms's row order
        grid = pd.DataFrame({names[0]: values[0].iloc[np.repeat(np.arange(sizes[0]), sizes[1])].to_numpy(),
                             names[1]: values[1].iloc[np.tile(np.arange(sizes[1]), sizes[0])].to_numpy()})
        for v, vals in zip(names, values):
            if isinstance(vals.dtype, pd.CategoricalDtype):
                grid[v] = pd.Categorical(grid[v], categories=vals.cat.categories)
    columns, missing = _condition_columns(md, names, len(grid))
    frame = pd.concat([grid, pd.DataFrame(columns)], axis=1)
    newdata = frame.assign(**{g: NEW_LEVEL for g in missing})
    draws = METHODS[method](fit, newdata, re_formula, allow_new_levels=True, **pred_args)
    if draws.ndim == 3:  # category probabilities (draws, rows, categories)
        if categorical:
            cats = md.response_levels
            frame = pd.concat([frame] * len(cats), ignore_index=True)
            frame["cats__"] = pd.Categorical(np.repeat(cats, len(grid)), categories=cats)
            draws = np.concatenate([draws[..., k] for k in range(len(cats))], axis=1)
            names, types = names + ["cats__"], types + ["factor"]
        else:
            warnings.warn("Predictions are treated as continuous variables in 'conditional_effects' by default "
                          "which is likely invalid for ordinal families. Please set 'categorical' to True.",
                          UserWarning, stacklevel=3)
            draws = (draws * np.arange(1, draws.shape[2] + 1)).sum(axis=2)
    for k, name in enumerate(names, start=1):
        frame[f"effect{k}__"] = frame[name]
    if len(names) == 2 and types[1] == "numeric":  # brms: a factor of the rounded moderator values
        rounded = frame[names[1]].round(2)
        frame["effect2__"] = pd.Categorical(rounded, categories=sorted(rounded.unique(), reverse=True))
    frame[_SUMMARY_COLUMNS] = summarise_effects(draws, probs, robust).to_numpy()
    return frame, names, types


def conditional_effects(fit: Fit, effects: str | Sequence[str] | None = None, re_formula: Any = False,
                        probs: Sequence[float] = (0.025, 0.975), resolution: int = 100, robust: bool = True,
                        method: str = "posterior_epred", categorical: bool = False,
                        **kwargs: Any) -> ConditionalEffects:
    """brms's ``conditional_effects``: predictions over one predictor (or two) with the others
    held at their mean (numeric) or reference level (factors).

    ``effects=None`` takes every population-level predictor and the two-way
    interactions in the formula, numeric variables first (``"zBase:Trt"``);
    ``"a:b"`` asks for a pair, ``b`` then at its levels or at mean − sd, mean
    and mean + sd.  ``re_formula=False`` (brms's ``NA``) leaves group-level
    effects out; with ``None`` the grouping factors, which brms sets to
    ``NA``, are a new level drawn as ``sample_new_levels`` says.  Each frame
    has the varied and conditioning columns, ``effect1__`` (``effect2__``) and
    ``estimate__``, ``se__``, ``lower__``, ``upper__``: posterior median and
    MAD (``robust=False``: mean and sd) and the ``probs`` quantiles of
    ``method``'s draws.  ``trials`` variables are set to 1, as brms does.
    Ordinal models give the expected category on a continuous scale, or with
    ``categorical=True`` each category's probability (``cats__``).  Other
    keywords (``ndraws``, ``seed``, ``sample_new_levels``) go to the prediction.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    effects : str or sequence of str, optional
        Predictors (``"Days"``) or pairs (``"a:b"``); brms's defaults when None.
    re_formula : None, False or str, default False
        The group-level terms to include (see :func:`brmc.predict.posterior_epred`).
    probs : sequence of float, default (0.025, 0.975)
        The band's quantiles.
    resolution : int, default 100
        Points along a numeric predictor.
    robust : bool, default True
        Median and MAD (True) or mean and sd (False).
    method : str, default ``"posterior_epred"``
        The prediction: ``"posterior_epred"``, ``"posterior_predict"`` or ``"posterior_linpred"``.
    categorical : bool, default False
        For ordinal models: each category's probability.
    **kwargs
        ``ndraws``, ``seed``, ``sample_new_levels`` for the prediction.

    Returns
    -------
    ConditionalEffects
        ``data`` (a frame per effect) and ``plot()``.

    Examples
    --------
    >>> ce = conditional_effects(fit, "Days", resolution=10)
    >>> len(ce.data["Days"])
    10
    """
    if method not in METHODS:
        raise DataError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    if len(probs) != 2 or not 0 <= probs[0] < probs[1] <= 1:
        raise DataError(f"probs must hold two increasing probabilities (lower, upper), got {probs!r}.")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise DataError(f"resolution must be an integer of at least 2, got {resolution!r}.")
    md = fit.model_data
    if categorical and not md.family.polytomous:
        raise DataError("Argument 'categorical' may only be used for categorical or ordinal models.")
    if categorical and method != "posterior_epred":
        raise DataError("Can only use 'categorical' with method = 'posterior_epred'.")
    if md.family.categorical and not categorical:
        raise DataError("Please set 'categorical' to True: a categorical model predicts a probability per category.")
    wanted = _requested_effects(md, effects)
    if categorical and any(len(e) == 2 for e in wanted):
        warnings.warn("Interactions cannot be plotted directly if 'categorical' is True.", UserWarning, stacklevel=2)
        wanted = [e for e in wanted if len(e) == 1]
    out = ConditionalEffects({}, md.formula.response)
    for names in wanted:
        frame, used, types = _one_effect(fit, names, resolution, re_formula, tuple(probs), robust, method,
                                         categorical, kwargs)
        key = ":".join(names)
        out.data[key], out.effects[key], out.types[key] = frame, used, types
        out.points[key] = _point_frame(fit, names)
    return out


def _plot_effect(frame: pd.DataFrame, effects: list[str], types: list[str], response: str,
                 points: pd.DataFrame | None) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
    numeric = types[0] == "numeric"
    if len(effects) == 1:
        groups = [("", frame)]
    else:
        groups = [(f"{k:g}" if isinstance(k, float) else str(k), g)
                  for k, g in frame.groupby("effect2__", observed=True, sort=True)]
    single = len(groups) == 1
    colors = ["#3366FF"] if single else [plt.get_cmap("tab10")(k % 10) for k in range(len(groups))]
    color_of = dict(zip([k for k, _ in groups], colors))
    levels = [] if numeric else list(dict.fromkeys(labels_of(frame["effect1__"])))
    if points is not None and len(points):
        px = points["effect1__"].to_numpy(dtype=float) if numeric else \
            labels_of(points["effect1__"]).map({lv: i for i, lv in enumerate(levels)}).to_numpy(dtype=float)
        by_group = len(effects) == 2 and "effect2__" in points and types[1] == "factor"
        pc = [color_of.get(str(v), "black") for v in labels_of(points["effect2__"])] if by_group else "black"
        ax.scatter(px, points["resp__"], s=8, c=pc, alpha=0.5, zorder=1, label="_nolegend_")
    offsets = np.linspace(-0.2, 0.2, len(groups)) if len(groups) > 1 else [0.0]
    for (label, g), color, offset in zip(groups, colors, offsets):
        if numeric:
            x = g["effect1__"].to_numpy(dtype=float)
            ax.fill_between(x, g["lower__"], g["upper__"], color="grey" if single else color, alpha=0.3, lw=0,
                            zorder=2)
            ax.plot(x, g["estimate__"], color=color, lw=1.5, label=label or "_nolegend_", zorder=3)
        else:
            x = labels_of(g["effect1__"]).map({lv: i for i, lv in enumerate(levels)}).to_numpy(dtype=float) + offset
            est = g["estimate__"].to_numpy()
            ax.errorbar(x, est, yerr=[est - g["lower__"].to_numpy(), g["upper__"].to_numpy() - est], fmt="o",
                        color="black" if single else color, ms=6, capsize=5, label=label or "_nolegend_", zorder=3)
    if not numeric:
        ax.set_xticks(range(len(levels)), levels)
    ax.set_xlabel(effects[0])
    ax.set_ylabel(response)
    if len(effects) == 2:
        handles = [Line2D([], [], color=color_of[k], lw=1.5, marker=None if numeric else "o") for k, _ in groups]
        ax.legend(handles, [k for k, _ in groups], title=effects[1], frameon=False, loc="best")
    return fig
