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

import numpy as np
import pandas as pd

from .checks import observed_response
from .conditional_plots import PlotStyle, plot_effect
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
#: the one condition without ``conditions``: every other variable at its default
DEFAULT_CONDITION: tuple[str, dict] = ("1", {})


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
    spaghetti: dict[str, pd.DataFrame] = field(repr=False, default_factory=dict)
    labels: dict[str, str] = field(repr=False, default_factory=dict)  # an effect's y label, if not ``response``
    smooths_only: bool = field(repr=False, default=False)  # conditional_smooths: no data points, as brms

    def __getitem__(self, effect: str) -> pd.DataFrame:
        if effect not in self.data:
            raise DataError(f"No conditional effect {effect!r}.{close_matches(effect, self.data)} "
                            f"Available: {', '.join(self.data)}.")
        return self.data[effect]

    def plot(self, points: bool = False, rug: bool = False, mean: bool = True, stype: str = "contour") -> Figures:
        """One figure per effect, as brms's ``plot(conditional_effects(fit))``: a line
        with its credible band for a numeric predictor, points with error bars for
        a categorical one, one line / point set per value of the second variable of
        an interaction, a filled contour (or raster) of two numeric variables with
        ``surface=True``, one line per draw with ``spaghetti=True``, and one panel per
        condition of ``conditions``; ``points=True`` adds the data (rows matching the
        reference levels of other factors; not on ``categorical`` ordinal plots),
        ``rug=True`` a rug of the first variable's data values.

        Parameters
        ----------
        points : bool, default False
            Whether to add the data points.
        rug : bool, default False
            Whether to add a rug of the data values along the x axis.
        mean : bool, default True
            With spaghetti: whether to draw the summary line over the draws' lines.
        stype : str, default ``"contour"``
            A surface as ``"contour"`` (filled contours) or ``"raster"``.

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
        if stype not in ("contour", "raster"):
            raise DataError(f"stype must be 'contour' or 'raster', not {stype!r}.")
        style = PlotStyle(rug=rug, mean=mean, stype=stype)
        points = points and not self.smooths_only
        return Figures(handed_over(plot_effect(self.data[name], self.effects[name], self.types[name],
                                                self.labels.get(name, self.response), self.points[name]
                                                if (points or rug) and "cats__" not in self.effects[name] else None,
                                                self.spaghetti.get(name), style, points))
                       for name in self.data)


def _special_terms(md: ModelData) -> list[list[str]]:
    """The data variables of each term of the other kinds (``s(x, by = g)``: x and g), as brms's
    ``get_all_effects`` adds the covariates of smooths and other special terms."""
    kinds = {"fe", "re", "offset"}
    out = [[n for n in t.variables if n in md.frame.columns]
           for lp in md.linear_predictors for t in lp.formula.terms if t.kind not in kinds]
    return [names for names in out if names]


def _population_variables(md: ModelData) -> list[str]:
    """Data variables of the population parts of all predictors (and of their special terms),
    in order of first appearance."""
    names = [n for lp in md.linear_predictors for n in lp.formula.population.variables]
    names += [n for term in _special_terms(md) for n in term]
    return [n for n in dict.fromkeys(names) if n in md.frame.columns]


def _group_variables(md: ModelData) -> list[str]:
    return list(dict.fromkeys(f for b in md.blocks for f in b.term.factors))


def _term_variables(md: ModelData) -> list[list[str]]:
    """Variables of each population term in R's term order (by degree): brms's ``get_all_effects``."""
    order = _population_variables(md)
    terms = []
    for variables in [v for lp in md.linear_predictors for v in lp.population.term_variables]:
        names = sorted((v for v in variables if v in order), key=order.index)
        if names and names not in terms:
            terms.append(names)
    terms += [names for names in _special_terms(md) if names not in terms]
    return sorted(terms, key=len)


def _integer_variables(md: ModelData) -> list[str]:
    """brms's ``get_int_vars``: the variables of ``trials()`` and of ``mo()`` terms, which
    conditional effects keep at whole numbers."""
    names = [n for a in md.formula.additions.get("trials", []) for n in a.variables]  # trials(n1 + n2): n1, n2
    names += [n for lp in md.linear_predictors for t in lp.formula.terms
              if getattr(t, "name", "") == "mo" for a in t.args for n in a.variables]
    return list(dict.fromkeys(names))


def _types(md: ModelData, variables: Sequence[str]) -> list[str]:
    groups = _group_variables(md)
    return ["factor" if v in groups or is_factor(md.frame[v]) else "numeric" for v in variables]


def requested_effects(md: ModelData, effects: str | Sequence[str] | None) -> list[list[str]]:
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


def _effect_values(md: ModelData, name: str, type_: str, resolution: int, moderator: bool,
                   given: Any = None) -> pd.Series:
    """brms's ``prepare_cond_data``: the ``int_conditions`` values ``given`` (a function of the
    column gives them); else factor levels in order; a numeric predictor over ``resolution``
    points from min to max, or (as a moderator) at mean - sd, mean, mean + sd."""
    col = md.frame[name]
    if given is not None:
        values = given(col.to_numpy()) if callable(given) else given
        values = list(values.values()) if isinstance(values, dict) else list(np.atleast_1d(values))
        if type_ == "factor":
            return pd.Series(pd.Categorical(values, categories=level_order(col)) if is_factor(col) else values)
        return pd.Series(np.asarray(values, dtype=float))
    if type_ == "factor":
        return _first_rows(col, level_order(col))
    x = col.to_numpy(dtype=float)
    x = x[~np.isnan(x)]  # brms: na.rm = TRUE (a mi() predictor's missing values)
    if name in _integer_variables(md):  # brms: whole numbers, min to max by 1, or median + (-1:1) * mad
        if moderator:
            return pd.Series(np.unique(np.round(np.median(x) + np.array([-1.0, 0.0, 1.0]) * r_mad(x))))
        return pd.Series(np.arange(x.min(), x.max() + 1.0))
    if moderator:
        return pd.Series(x.mean() + np.array([-1.0, 0.0, 1.0]) * x.std(ddof=1))
    return pd.Series(np.linspace(x.min(), x.max(), resolution))


def _condition_columns(md: ModelData, exclude: Sequence[str], n: int, condition: dict[str, Any] | None = None
                       ) -> tuple[dict[str, Any], list[str]]:
    """brms's ``prepare_conditions``: every other variable at its ``condition`` value (one row of
    ``conditions``) or its default (numeric: mean; factor: reference level; ``trials``: 1; grouping
    factor: NA).  Returns the columns and the names of the grouping factors set to NA."""
    trials = md.formula.additions.get("trials", [])
    integers = _integer_variables(md)
    groups = [g for g in _group_variables(md) if g not in _population_variables(md)]
    columns: dict[str, Any] = {}
    missing: list[str] = []
    condition = condition or {}
    for name in md.formula.variables():
        if name in exclude or name not in md.frame.columns:
            continue
        col = md.frame[name]
        if name in condition:
            value = condition[name]
            columns[name] = (pd.Series(pd.Categorical([value] * n, categories=level_order(col)))
                             if is_factor(col) and isinstance(col.dtype, pd.CategoricalDtype) else np.repeat(value, n))
        elif name in trials:
            columns[name] = np.ones(n)
        elif name in groups:
            columns[name] = np.full(n, np.nan)
            missing.append(name)
        elif is_factor(col):
            columns[name] = _first_rows(col, level_order(col)[:1]).iloc[np.zeros(n, dtype=int)].reset_index(drop=True)
        elif name in integers:  # brms: a valid whole number (its values' median, na.rm = TRUE as brms)
            columns[name] = np.full(n, float(np.round(np.nanmedian(col.to_numpy(dtype=float)))))
        else:
            columns[name] = np.full(n, np.nanmean(col.to_numpy(dtype=float)))
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
    if not md.family.multicol:  # a cbind() response has no one value to plot as a point
        points["resp__"] = observed_response(fit)[keep]
    for k, name in enumerate(names, start=1):
        points[f"effect{k}__"] = points[name]
    return points


@dataclass
class _Options:
    """How :func:`conditional_effects` evaluates each effect (its arguments)."""

    resolution: int
    re_formula: Any
    probs: tuple[float, float]
    robust: bool
    method: str
    categorical: bool
    conditions: list[tuple[str, dict[str, Any]]]
    int_conditions: dict[str, Any]
    surface: bool
    spaghetti: bool
    pred_args: dict[str, Any]


def _effect_grid(md: ModelData, names: list[str], types: list[str], opts: _Options) -> pd.DataFrame:
    """The effect variables' values: the first outer, the second inner (brms's row order)."""
    values = [_effect_values(md, v, t, opts.resolution, k == 1 and not (opts.surface and t == "numeric"),
                             opts.int_conditions.get(v)) for k, (v, t) in enumerate(zip(names, types))]
    if len(names) == 1:
        return pd.DataFrame({names[0]: values[0]})
    sizes = [len(v) for v in values]
    grid = pd.DataFrame({names[0]: values[0].iloc[np.repeat(np.arange(sizes[0]), sizes[1])].to_numpy(),
                         names[1]: values[1].iloc[np.tile(np.arange(sizes[1]), sizes[0])].to_numpy()})
    for v, vals in zip(names, values):
        if isinstance(vals.dtype, pd.CategoricalDtype):
            grid[v] = pd.Categorical(grid[v], categories=vals.cat.categories)
    return grid


def _one_effect(fit: Fit, names: list[str], opts: _Options
                ) -> tuple[pd.DataFrame, list[str], list[str], pd.DataFrame | None]:
    md = fit.model_data
    types = _types(md, names)
    grid = _effect_grid(md, names, types, opts)
    frames = []
    for label, condition in opts.conditions:
        columns, missing = _condition_columns(md, names, len(grid), condition)
        frames.append((pd.concat([grid, pd.DataFrame(columns)], axis=1).assign(cond__=label), missing))
    frame = pd.concat([f for f, _ in frames], ignore_index=True)
    frame["cond__"] = pd.Categorical(frame["cond__"], categories=[label for label, _ in opts.conditions])
    newdata = frame.drop(columns="cond__").assign(**{g: NEW_LEVEL for g in frames[0][1]})
    draws = METHODS[opts.method](fit, newdata, opts.re_formula, allow_new_levels=True, incl_autocor=False,  # as brms
                                 **opts.pred_args)
    if draws.ndim == 3:  # category probabilities (draws, rows, categories)
        if opts.categorical:
            cats = md.response_levels
            rows = len(frame)
            frame = pd.concat([frame] * len(cats), ignore_index=True)
            frame["cats__"] = pd.Categorical(np.repeat(cats, rows), categories=cats)
            draws = np.concatenate([draws[..., k] for k in range(len(cats))], axis=1)
            names, types = names + ["cats__"], types + ["factor"]
        else:
            warnings.warn("Predictions are treated as continuous variables in 'conditional_effects' by default "
                          "which is likely invalid for ordinal families. Please set 'categorical' to True.",
                          UserWarning, stacklevel=3)
            draws = (draws * np.arange(1, draws.shape[2] + 1)).sum(axis=2)
    for k, name in enumerate(names, start=1):
        frame[f"effect{k}__"] = frame[name]
    surface = opts.surface and len(names) == 2 and types == ["numeric", "numeric"]
    if len(names) == 2 and types[1] == "numeric" and not surface:  # brms: a factor of the rounded moderator values
        rounded = frame[names[1]].round(2)
        levels = sorted(rounded.unique(), reverse=True)
        frame["effect2__"] = pd.Categorical(rounded, categories=levels)
        labels = opts.int_conditions.get(names[1])
        if isinstance(labels, dict) and len(labels) == len(levels):  # brms: a named vector's names label them
            frame["effect2__"] = frame["effect2__"].cat.rename_categories(
                {round(float(v), 2): str(k) for k, v in labels.items()})
    spaghetti = None
    if opts.spaghetti and types[0] == "numeric":
        sample = np.repeat(np.arange(1, len(draws) + 1), draws.shape[1]).astype(str)
        if len(names) == 2:  # brms: draws unique across the plotted groups
            sample = np.char.add(np.char.add(sample, "_"), np.tile(frame[names[1]].astype(str).to_numpy(), len(draws)))
        spaghetti = pd.concat([frame] * len(draws), ignore_index=True).assign(
            estimate__=draws.reshape(-1), sample__=pd.Categorical(sample))
    frame[_SUMMARY_COLUMNS] = summarise_effects(draws, opts.probs, opts.robust).to_numpy()
    if opts.conditions == [DEFAULT_CONDITION]:  # as brms's reference frames: no cond__ without conditions
        frame = frame.drop(columns="cond__")
        spaghetti = None if spaghetti is None else spaghetti.drop(columns="cond__")
    frame.attrs["surface"] = surface
    return frame, names, types, spaghetti


def _condition_rows(md: ModelData, conditions: pd.DataFrame | None) -> list[tuple[str, dict[str, Any]]]:
    """``conditions`` as (label, values) per row: its ``cond__`` column or the row labels, and the
    values it gives (NA: the default); one unlabelled default condition ("1") when None."""
    if conditions is None:
        return [DEFAULT_CONDITION]
    if not isinstance(conditions, pd.DataFrame) or not len(conditions):
        raise DataError("conditions must be a DataFrame with one row per condition.")
    unknown = [c for c in conditions.columns if c != "cond__" and c not in md.frame.columns]
    if unknown:
        raise DataError(f"conditions names variable(s) {', '.join(map(repr, unknown))} not in the data."
                        f"{close_matches(str(unknown[0]), list(map(str, md.frame.columns)))}")
    labels = (conditions["cond__"].astype(str) if "cond__" in conditions else conditions.index.astype(str)).tolist()
    if len(set(labels)) != len(labels):
        raise DataError("Condition labels should be unique.")
    rows = conditions.drop(columns="cond__", errors="ignore")
    return [(label, {k: v for k, v in row.items() if not pd.isna(v)}) for label, (_, row) in zip(labels, rows.iterrows())]


def make_conditions(fit: Fit, vars: str | Sequence[str]) -> pd.DataFrame:
    """brms's ``make_conditions``: every combination of the variables' values (factor levels; a
    numeric variable at mean − sd, mean, mean + sd), labelled ``cond__`` as brms labels them.

    Parameters
    ----------
    fit : Fit
        A fitted model (its data give the values).
    vars : str or sequence of str
        Data columns.

    Returns
    -------
    pandas.DataFrame
        One row per condition, for ``conditional_effects(conditions=...)``.

    Examples
    --------
    >>> make_conditions(fit, "Days")["cond__"].tolist()
    ['Days = 1.62', 'Days = 4.5', 'Days = 7.38']
    """
    frame = fit.data
    names = [vars] if isinstance(vars, str) else list(vars)
    values = {}
    for v in names:
        if v not in frame.columns:
            raise DataError(f"Variable {v!r} is not in the data.{close_matches(v, list(map(str, frame.columns)))}")
        col = frame[v]
        values[v] = level_order(col) if is_factor(col) else list(col.mean() + np.array([-1.0, 0, 1]) * col.std(ddof=1))
    # R's rev(expand.grid(...)): the columns in reverse order, the first variable varying fastest
    out = pd.MultiIndex.from_product([values[v] for v in reversed(names)], names=list(reversed(names))).to_frame(
        index=False)
    out["cond__"] = [" & ".join(f"{k} = {v:.2f}".rstrip("0").rstrip(".") if isinstance(v, float) else f"{k} = {v}"
                                for k, v in row.items()) for _, row in out.iterrows()]
    return out


def conditional_effects(fit: Fit, effects: str | Sequence[str] | None = None,
                        conditions: pd.DataFrame | None = None, int_conditions: dict[str, Any] | None = None,
                        re_formula: Any = False, probs: Sequence[float] = (0.025, 0.975), resolution: int = 100,
                        robust: bool = True, method: str = "posterior_epred", spaghetti: bool = False,
                        surface: bool = False, categorical: bool = False, **kwargs: Any) -> ConditionalEffects:
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

    ``conditions`` (a frame, e.g. :func:`make_conditions`) repeats every effect at each of its rows'
    values of other variables (its missing values: the defaults), labelled ``cond__`` (its ``cond__``
    column, else its row labels).  ``int_conditions`` gives the values of effect variables by name
    (a list, a dict of labelled values, or a function of the data column), e.g. a moderator's.
    ``surface=True`` varies both numeric variables of a pair over ``resolution`` points;
    ``spaghetti=True`` keeps each draw's curve (``.spaghetti[effect]``, ``sample__``) of a numeric
    effect (set ``ndraws`` to about 100).
    Parameters
    ----------
    fit : Fit
        A fitted model.
    effects : str or sequence of str, optional
        Predictors (``"Days"``) or pairs (``"a:b"``); brms's defaults when None.
    conditions : pandas.DataFrame, optional
        Values of other variables, one row per condition (brms's ``conditions``).
    int_conditions : dict, optional
        Values of effect variables by name (brms's ``int_conditions``).
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
    spaghetti : bool, default False
        Whether to keep each draw's curve of a numeric effect, drawn by ``plot()``.
    surface : bool, default False
        Whether a pair of numeric variables is shown as a surface.
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
    opts = effect_options(fit, conditions, int_conditions, re_formula, probs, resolution, robust, method, spaghetti,
                          surface, categorical, kwargs)
    wanted = requested_effects(fit.model_data, effects)
    if categorical and any(len(e) == 2 for e in wanted):
        warnings.warn("Interactions cannot be plotted directly if 'categorical' is True.", UserWarning, stacklevel=2)
        wanted = [e for e in wanted if len(e) == 1]
    out = ConditionalEffects({}, fit.model_data.formula.response)
    for names in wanted:
        add_effect(out, ":".join(names), fit, names, opts)
    return out


def effect_options(fit: Fit, conditions: pd.DataFrame | None, int_conditions: dict[str, Any] | None, re_formula: Any,
                   probs: Sequence[float], resolution: int, robust: bool, method: str, spaghetti: bool,
                   surface: bool, categorical: bool, pred_args: dict[str, Any]) -> _Options:
    """:func:`conditional_effects`' arguments, checked, as the options of :func:`add_effect`."""
    if method not in METHODS:
        raise DataError(f"method must be one of {', '.join(METHODS)}, not {method!r}.")
    if len(probs) != 2 or not 0 <= probs[0] < probs[1] <= 1:
        raise DataError(f"probs must hold two increasing probabilities (lower, upper), got {probs!r}.")
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 2:
        raise DataError(f"resolution must be an integer of at least 2, got {resolution!r}.")
    md = fit.model_data
    if categorical and not (md.family.polytomous or md.family.multicol):
        raise DataError("Argument 'categorical' may only be used for categorical or ordinal models.")
    if categorical and method != "posterior_epred":
        raise DataError("Can only use 'categorical' with method = 'posterior_epred'.")
    if md.family.cats_dpars and not categorical:
        raise DataError("Please set 'categorical' to True: a categorical-like model predicts a value per category.")
    if spaghetti and surface:
        raise DataError("Cannot use 'spaghetti' and 'surface' at the same time.")
    unknown = [v for v in (int_conditions or {}) if v not in md.frame.columns]
    if unknown:
        raise DataError(f"int_conditions names variable(s) {', '.join(map(repr, unknown))} not in the data.")
    return _Options(resolution, re_formula, (probs[0], probs[1]), robust, method, categorical,
                    _condition_rows(md, conditions), dict(int_conditions or {}), surface, spaghetti, pred_args)


def add_effect(out: ConditionalEffects, key: str, fit: Fit, names: list[str], opts: _Options) -> None:
    """Predict one effect (its variables ``names``) and add it to ``out`` under ``key``."""
    frame, used, types, curves = _one_effect(fit, names, opts)
    out.data[key], out.effects[key], out.types[key] = frame, used, types
    if opts.categorical:  # brms's catscale: the y axis of the category curves
        out.labels[key] = "Count" if fit.model_data.family.kind == "multinomial" else "Probability"
    out.points[key] = _point_frame(fit, names)
    if curves is not None:
        out.spaghetti[key] = curves
