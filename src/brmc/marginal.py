"""Marginal effects on the posterior, in the vocabulary and with the defaults of R's
marginaleffects on a brms fit: :func:`predictions`, :func:`comparisons` and
:func:`slopes`, their averages :func:`avg_predictions`, :func:`avg_comparisons` and
:func:`avg_slopes` (``by=``), :func:`datagrid` and :func:`hypotheses`.

Everything is computed on draws: the predictions of every draw and row (brms's
``posterior_epred``, ``posterior_linpred`` or ``posterior_predict``, with ``newdata``
and ``re_formula``), each row's comparison within a draw, the average over rows
within a draw (``avg_``, ``by=``), and only then the summary: the posterior median
as ``estimate`` and the equal-tailed interval as ``conf.low`` and ``conf.high``, as
marginaleffects summarises Bayesian models.  A result is a :class:`MarginalFrame`, a
DataFrame whose ``draws()`` are the per-draw values (marginaleffects' ``posterior_draws()``).

Example:
    >>> avg_comparisons(fit, variables="Days", re_formula=False)[["term", "contrast"]].values.tolist()
    [['Days', '+1']]
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._docs import shared
from .contrasts import is_factor
from .datagrid import (
    fivenum,
    focal_variables,
    grid_values,
    level_values,
    model_variables,
    typical_grid,
)
from .design import labels_of, level_order
from .errors import DataError, close_matches
from .marginal_frame import MarginalFrame, average, hypotheses, summarised
from .predict import posterior_epred, posterior_linpred, posterior_predict

if TYPE_CHECKING:
    from .fit import Fit

#: marginaleffects' ``type`` for brms fits and the brms function that makes it.
TYPES: dict[str, Callable[..., np.ndarray]] = {
    "response": posterior_epred, "link": posterior_linpred, "prediction": posterior_predict}
PREDICTION_ARGS = ("ndraws", "seed", "allow_new_levels", "sample_new_levels")


def _odds(p: np.ndarray) -> np.ndarray:
    return p / (1 - p)


#: marginaleffects' ``comparison`` functions of the predictions ``hi`` and ``lo`` (``eps``: the step of a
#: slope; ``x``: the focal value and ``y``: the prediction at the row, for elasticities), with the label
#: of the contrast each gives.
COMPARISONS: dict[str, tuple[Callable[..., np.ndarray], str]] = {
    "difference": (lambda hi, lo, eps, x, y: hi - lo, "{hi} - {lo}"),
    "ratio": (lambda hi, lo, eps, x, y: hi / lo, "{hi} / {lo}"),
    "lnratio": (lambda hi, lo, eps, x, y: np.log(hi / lo), "ln({hi} / {lo})"),
    "lnor": (lambda hi, lo, eps, x, y: np.log(_odds(hi) / _odds(lo)), "ln(odds({hi}) / odds({lo}))"),
    "lift": (lambda hi, lo, eps, x, y: (hi - lo) / lo, "lift"),
    "dydx": (lambda hi, lo, eps, x, y: (hi - lo) / eps, "dY/dX"),
    "eyex": (lambda hi, lo, eps, x, y: (hi - lo) / eps * x / y, "eY/eX"),
    "eydx": (lambda hi, lo, eps, x, y: (hi - lo) / eps / y, "eY/dX"),
    "dyex": (lambda hi, lo, eps, x, y: (hi - lo) / eps * x, "dY/eX"),
}
SLOPES = ("dydx", "eyex", "eydx", "dyex")
#: Comparisons of the averages (``"ratioavg"``: mean(hi) / mean(lo) per draw) rather than averages of comparisons.
AVERAGED = tuple(f"{name}avg" for name in ("difference", "ratio", "lnratio", "lnor", "lift"))
FACTOR_CONTRASTS = ("reference", "sequential", "pairwise", "revreference", "revsequential", "revpairwise")
NUMERIC_CONTRASTS = ("sd", "2sd", "iqr", "minmax")


def _newdata(fit: Fit, newdata: pd.DataFrame | str | None) -> pd.DataFrame:
    if newdata is None:
        return fit.model_data.frame[model_variables(fit)].reset_index(drop=True)
    if isinstance(newdata, str):
        if newdata not in ("mean", "balanced"):
            raise DataError(f"newdata must be a DataFrame, None, 'mean' or 'balanced', not {newdata!r}.")
        return typical_grid(fit.model_data.frame, model_variables(fit), {}, balanced=newdata == "balanced")
    if not isinstance(newdata, pd.DataFrame) or newdata.empty:
        raise DataError("newdata must be a non-empty pandas DataFrame, None, 'mean' or 'balanced'.")
    return newdata.drop(columns=["rowid"], errors="ignore").reset_index(drop=True)  # rowid is the result's


def _predict(fit: Fit, frames: list[pd.DataFrame], type: str, re_formula: Any,
             kwargs: Mapping[str, Any]) -> list[np.ndarray]:
    """Predictions on each frame from one call, so that all share the draws (and the effects drawn
    for new levels); an ordinal or categorical model's categories become rows, category by category."""
    if type not in TYPES:
        raise DataError(f"type must be one of {', '.join(map(repr, TYPES))}, not {type!r}.")
    unknown = [k for k in kwargs if k not in PREDICTION_ARGS]
    if unknown:
        raise DataError(f"Unknown argument {unknown[0]!r}; the predictions take {', '.join(PREDICTION_ARGS)}."
                        f"{close_matches(unknown[0], PREDICTION_ARGS)}")
    values = TYPES[type](fit, newdata=pd.concat(frames, ignore_index=True), re_formula=re_formula, **kwargs)
    if values.ndim == 3:
        values = np.concatenate([values[..., k] for k in range(values.shape[2])], axis=1)
    n_cats = values.shape[1] // sum(len(f) for f in frames)
    blocks = values.reshape(len(values), n_cats, -1)
    return np.split(blocks, np.cumsum([len(f) for f in frames])[:-1], axis=2)


def _with_categories(fit: Fit, frame: pd.DataFrame, draws: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows (and draws, categories × rows) with a ``group`` column naming each category."""
    if draws.shape[1] == 1:
        return frame, draws[:, 0, :]
    md = fit.model_data
    groups = md.response_levels if draws.shape[1] == len(md.response_levels) else md.mu_dpars
    rows = pd.concat([frame.assign(group=g) for g in groups], ignore_index=True)
    return rows, draws.reshape(len(draws), -1)


def _keys(frame: pd.DataFrame, keys: list[str], by: Any) -> list[str] | None:
    """The grouping columns: None for row-level results."""
    if by is None or by is False:
        return None
    wanted = [] if by is True else [by] if isinstance(by, str) else list(by)
    missing = [b for b in wanted if b not in frame.columns]
    if missing:
        raise DataError(f"by: {missing[0]!r} is not a column of newdata or of the result."
                        f"{close_matches(missing[0], frame.columns)} Columns: {', '.join(map(str, frame.columns))}.")
    return list(dict.fromkeys([k for k in keys if k in frame.columns] + wanted))


def _finish(frame: pd.DataFrame, draws: np.ndarray, keys: list[str] | None, conf_level: float,
            hypothesis: str | Sequence[str] | None) -> MarginalFrame:
    if keys is not None:
        frame, draws = average(frame, draws, keys)
    result = summarised(frame, draws, conf_level, lead=keys)
    return result if hypothesis is None else hypotheses(result, hypothesis, conf_level)


def _counterfactual(fit: Fit, base: pd.DataFrame, variables: str | Sequence[str] | Mapping[str, Any]) -> pd.DataFrame:
    """marginaleffects' ``predictions(variables=)``: the rows repeated for every combination of
    the values given (by default each level of a factor, Tukey's five numbers of a numeric)."""
    frame = fit.model_data.frame
    specs = _specs(variables)
    _check_focal(fit, list(specs))
    axes = {name: grid_values(frame[name], spec) if spec is not None
            else level_values(frame[name]) if is_factor(frame[name]) else list(fivenum(frame[name]))
            for name, spec in specs.items()}
    return pd.concat([base.assign(**dict(zip(axes, combo))) for combo in itertools.product(*axes.values())],
                     ignore_index=True)


@shared
def predictions(fit: Fit, newdata: pd.DataFrame | str | None = None,
                variables: str | Sequence[str] | Mapping[str, Any] | None = None, by: Any = False,
                type: str = "response", re_formula: Any = None, conf_level: float = 0.95,
                hypothesis: str | Sequence[str] | None = None, **kwargs: Any) -> MarginalFrame:
    """marginaleffects' ``predictions``: the prediction for each row of ``newdata``, or
    (``by``) its average per draw over rows or groups of rows.

    Parameters
    ----------
    {fit}
    {me_newdata}
    variables : str, list of str or dict, optional
        Counterfactual values: the rows repeated for each combination of the values given
        (by default each level of a factor, Tukey's five numbers of a numeric predictor).
    {me_by}
    {me_type}
    {me_re_formula}
    {me_tail}

    Returns
    -------
    MarginalFrame
        ``rowid``, ``estimate``, ``conf.low``, ``conf.high`` and the rows' columns; averaged: the
        ``by`` columns and the summary.  Ordinal and categorical models add ``group`` (the category).

    Examples
    --------
    >>> predictions(fit, newdata=brmc.datagrid(fit, Days=[0, 9]), re_formula=False).columns.tolist()
    ['rowid', 'estimate', 'conf.low', 'conf.high', 'Days', 'Subject']
    """
    base = _newdata(fit, newdata)
    if variables is not None:
        base = _counterfactual(fit, base, variables)
    base.insert(0, "rowid", np.arange(1, len(base) + 1))
    (draws,) = _predict(fit, [base], type, re_formula, kwargs)
    frame, draws = _with_categories(fit, base, draws)
    return _finish(frame, draws, _keys(frame, ["group"], by), conf_level, hypothesis)


@dataclass


class _Contrast:
    """One contrast of one focal variable: the values it compares (a value, or one per row),
    and for a numeric variable its observed values ``at`` (the ``x`` of elasticities)."""

    term: str
    lo: Any
    hi: Any
    labels: tuple[str, str]
    at: np.ndarray | None = None
    gap: str | None = None
    eps: float = 1.0

    def label(self, template: str) -> str:
        if self.gap is not None and template == COMPARISONS["difference"][1]:
            return self.gap
        wrap = "({hi})" not in template  # "mean({hi})" has its own parentheses
        lo, hi = (f"({t})" if wrap and " " in t else t for t in self.labels)
        return template.format(hi=hi, lo=lo)


def _check_focal(fit: Fit, names: Sequence[str]) -> None:
    valid = focal_variables(fit)
    for name in names:
        if name not in valid:
            raise DataError(f"variables: {name!r} is not a population-level predictor of this model."
                            f"{close_matches(str(name), valid)} Valid variables: {', '.join(valid)}.")


def _specs(variables: str | Sequence[str] | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(variables, Mapping):
        return dict(variables)
    return dict.fromkeys([variables] if isinstance(variables, str) else variables)


def _factor_contrasts(name: str, column: pd.Series, spec: Any) -> list[_Contrast]:
    """marginaleffects' factor contrasts: ``"reference"`` (each level against the first) and the others."""
    values = level_values(column)
    labels = level_order(column)
    k = len(values)
    if isinstance(spec, str):
        if spec not in FACTOR_CONTRASTS:
            raise DataError(f"variables: the contrast of the factor {name!r} must be one of "
                            f"{', '.join(FACTOR_CONTRASTS)} or two of its levels, not {spec!r}.")
        kind = spec.removeprefix("rev")
        pairs = ([(0, j) for j in range(1, k)] if kind == "reference" else
                 [(j, j + 1) for j in range(k - 1)] if kind == "sequential" else
                 [(i, j) for i in range(k) for j in range(i + 1, k)])
        pairs = [(j, i) for i, j in pairs] if spec.startswith("rev") else pairs
    else:
        wanted = list(labels_of(pd.Series(list(spec))))
        if len(wanted) != 2 or not set(wanted) <= set(labels):
            raise DataError(f"variables: a contrast of the factor {name!r} names two of its levels "
                            f"({', '.join(labels)}), got {spec!r}.")
        pairs = [(labels.index(wanted[0]), labels.index(wanted[1]))]
    return [_Contrast(name, values[i], values[j], (labels[i], labels[j])) for i, j in pairs]


def _numeric_contrast(name: str, column: pd.Series, x: np.ndarray, spec: Any) -> _Contrast:
    """marginaleffects' numeric contrasts: a step forward from each row's value (``+1`` by
    default), two values, or ``"sd"``, ``"2sd"``, ``"iqr"``, ``"minmax"`` of the data."""
    train = column.to_numpy(dtype=float)
    mean, sd = train.mean(), train.std(ddof=1)
    if spec is None or isinstance(spec, (int, float, np.number)) and not isinstance(spec, bool):
        step = 1.0 if spec is None else float(spec)
        return _Contrast(name, x, x + step, ("x", f"x + {step:g}"), at=x, gap=f"+{step:g}")
    fixed = {"sd": (mean - sd / 2, mean + sd / 2, "x - sd/2", "x + sd/2"),
             "2sd": (mean - sd, mean + sd, "x - sd", "x + sd"),
             "iqr": (*np.quantile(train, [0.25, 0.75]), "Q1", "Q3"),
             "minmax": (train.min(), train.max(), "Min", "Max")}
    if isinstance(spec, str) and spec in fixed:
        lo, hi, lo_label, hi_label = fixed[spec]
        return _Contrast(name, float(lo), float(hi), (lo_label, hi_label), at=x)
    if isinstance(spec, str) or np.ndim(spec) != 1 or len(spec) != 2:
        raise DataError(f"variables: the contrast of the numeric predictor {name!r} must be a step, two values "
                        f"or one of {', '.join(NUMERIC_CONTRASTS)}, not {spec!r}.")
    lo, hi = sorted(float(v) for v in spec)
    return _Contrast(name, lo, hi, (f"{lo:g}", f"{hi:g}"), at=x)


def _contrasts(fit: Fit, base: pd.DataFrame, variables: Any, slope: bool, eps: float | None) -> list[_Contrast]:
    """The contrasts of every focal variable; for slopes a numeric variable's values ``x ± eps / 2``
    (``eps`` by default 1e-4 × its range in the data) and a factor's levels against the first."""
    specs = dict.fromkeys(focal_variables(fit)) if variables is None else _specs(variables)
    _check_focal(fit, list(specs))
    frame = fit.model_data.frame
    out: list[_Contrast] = []
    for name, spec in specs.items():
        if name not in base.columns:
            raise DataError(f"newdata lacks the column {name!r} of the focal variable {name!r}.")
        if is_factor(frame[name]):
            out += _factor_contrasts(name, frame[name], "reference" if slope or spec is None else spec)
        elif slope:
            x = base[name].to_numpy(dtype=float)
            train = frame[name].to_numpy(dtype=float)
            step = float(eps) if eps is not None else 1e-4 * float(train.max() - train.min())
            out.append(_Contrast(name, x - step / 2, x + step / 2, ("x", "x"), at=x, eps=step))
        else:
            out.append(_numeric_contrast(name, frame[name], base[name].to_numpy(dtype=float), spec))
    return out


def _comparisons(fit: Fit, newdata: Any, variables: Any, comparison: str, type: str, by: Any, re_formula: Any,
                 eps: float | None, conf_level: float, hypothesis: Any, kwargs: Mapping[str, Any]) -> MarginalFrame:
    """Comparisons (slopes when ``comparison`` is one of :data:`SLOPES`): per draw and row, then averaged."""
    averaged = comparison in AVERAGED
    if comparison not in COMPARISONS and not averaged:
        raise DataError(f"comparison must be one of {', '.join([*COMPARISONS, *AVERAGED])}, not {comparison!r}.")
    function, template = COMPARISONS[comparison.removesuffix("avg") if averaged else comparison]
    if averaged:
        template = template.replace("{hi}", "mean({hi})").replace("{lo}", "mean({lo})")
    slope = comparison in SLOPES
    base = _newdata(fit, newdata)
    base.insert(0, "rowid", np.arange(1, len(base) + 1))
    contrasts = _contrasts(fit, base, variables, slope, eps)
    frames = [base.assign(**{c.term: side}) for c in contrasts for side in (c.lo, c.hi)]
    predicted = _predict(fit, frames + [base], type, re_formula, kwargs)
    frame_y, y = _with_categories(fit, base, predicted[-1])
    repeats = len(frame_y) // len(base)
    rows, his, los, values = [], [], [], []
    for k, c in enumerate(contrasts):
        lo, hi = (_with_categories(fit, base, predicted[2 * k + side])[1] for side in (0, 1))
        numeric = c.at is not None
        use, label = (function, template) if numeric or not slope else COMPARISONS["difference"]
        rows.append(frame_y.assign(term=c.term, contrast=c.label(label)))
        his.append(hi)
        los.append(lo)
        if not averaged:
            values.append(use(hi, lo, c.eps, np.tile(c.at, repeats) if numeric else None, y))
    frame = pd.concat(rows, ignore_index=True)
    if not averaged:
        keys = _keys(frame, ["term", "contrast", "group"], by)
        return _finish(frame, np.concatenate(values, axis=1), keys, conf_level, hypothesis)
    keys = _keys(frame, ["term", "contrast", "group"], True if by is None or by is False else by)
    table, hi = average(frame, np.concatenate(his, axis=1), keys)
    result = summarised(table, function(hi, average(frame, np.concatenate(los, axis=1), keys)[1], 1.0, None, None),
                        conf_level, lead=keys)
    return result if hypothesis is None else hypotheses(result, hypothesis, conf_level)


@shared
def comparisons(fit: Fit, newdata: pd.DataFrame | str | None = None,
                variables: str | Sequence[str] | Mapping[str, Any] | None = None, comparison: str = "difference",
                type: str = "response", by: Any = False, re_formula: Any = None, eps: float | None = None,
                conf_level: float = 0.95, hypothesis: str | Sequence[str] | None = None,
                **kwargs: Any) -> MarginalFrame:
    """marginaleffects' ``comparisons``: per row, the prediction with a focal variable at a
    "high" value against a "low" one (by default a numeric predictor from x to x + 1, each
    level of a factor against its reference level), compared by ``comparison``.

    ``comparison`` is marginaleffects' ``difference`` (hi - lo), ``ratio`` (hi / lo),
    ``lnratio``, ``lnor`` (log odds ratio), ``lift`` ((hi - lo) / lo); their ``avg``
    forms (``ratioavg``: mean(hi) / mean(lo) per draw) compare averages and so always
    average; ``dydx``, ``eyex``, ``eydx``, ``dyex`` are the slopes of :func:`slopes`.

    Parameters
    ----------
    {fit}
    {me_newdata}
    {me_variables}
    comparison : str, default ``"difference"``
        How the two predictions are compared (see above).
    {me_type}
    {me_by}
    {me_re_formula}
    eps : float, optional
        The step of the ``dydx``-type comparisons (see :func:`slopes`).
    {me_tail}

    Returns
    -------
    MarginalFrame
        ``rowid``, ``term``, ``contrast``, ``estimate``, ``conf.low``, ``conf.high`` and the rows'
        columns; averaged: ``term``, ``contrast``, the ``by`` columns and the summary.

    Examples
    --------
    >>> comparisons(fit, variables="Days", re_formula=False).shape
    (180, 8)
    """
    return _comparisons(fit, newdata, variables, comparison, type, by, re_formula, eps, conf_level, hypothesis,
                        kwargs)


@shared
def slopes(fit: Fit, newdata: pd.DataFrame | str | None = None, variables: str | Sequence[str] | None = None,
           slope: str = "dydx", type: str = "response", by: Any = False, re_formula: Any = None,
           eps: float | None = None, conf_level: float = 0.95, hypothesis: str | Sequence[str] | None = None,
           **kwargs: Any) -> MarginalFrame:
    """marginaleffects' ``slopes``: per row the derivative of the prediction with respect to a
    numeric focal variable, (f(x + eps/2) - f(x - eps/2)) / eps, or an elasticity; for a factor
    the difference of each level against its reference level.

    ``slope`` is ``"dydx"`` (dY/dX), ``"eyex"`` (dY/dX · x / y), ``"eydx"`` (dY/dX / y) or
    ``"dyex"`` (dY/dX · x), with y the prediction at the row.

    Parameters
    ----------
    {fit}
    {me_newdata}
    variables : str or list of str, optional
        The focal predictors; all population-level predictors when None.
    slope : str, default ``"dydx"``
        The slope or elasticity (see above).
    {me_type}
    {me_by}
    {me_re_formula}
    eps : float, optional
        The step of the finite difference; by default 1e-4 × the variable's range in the data.
    {me_tail}

    Returns
    -------
    MarginalFrame
        As :func:`comparisons`, ``contrast`` naming the slope (``"dY/dX"``).

    Examples
    --------
    >>> slopes(fit, variables="Days", newdata=brmc.datagrid(fit, Days=[2, 6]))["contrast"].tolist()
    ['dY/dX', 'dY/dX']
    """
    if slope not in SLOPES:
        raise DataError(f"slope must be one of {', '.join(SLOPES)}, not {slope!r}.")
    return _comparisons(fit, newdata, variables, slope, type, by, re_formula, eps, conf_level, hypothesis, kwargs)


def _averaged(function: Callable[..., MarginalFrame], example: str) -> Callable[..., MarginalFrame]:
    """marginaleffects' ``avg_`` form of ``function``: the same function with ``by=True`` by
    default, documented as ``function`` with its own summary line and ``example``."""
    signature = inspect.signature(function)
    signature = signature.replace(parameters=[p.replace(default=True) if p.name == "by" else p
                                              for p in signature.parameters.values()])

    def average(*args: Any, **kwargs: Any) -> MarginalFrame:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return function(*bound.args, **bound.kwargs)

    name = function.__name__
    doc = function.__doc__ or ""
    average.__signature__ = signature
    average.__name__ = average.__qualname__ = f"avg_{name}"
    average.__doc__ = (f"marginaleffects' ``avg_{name}``: :func:`{name}` averaged over rows per draw "
                       f"(``by=True``: one row per ``term`` and ``contrast``; with columns, per group).\n\n"
                       + doc[doc.index("    Parameters"):doc.index("    Examples")]
                       + "    Examples\n    --------\n" + example)
    return average


avg_predictions = _averaged(predictions, """    >>> avg_predictions(fit, by="Days")["Days"].tolist()
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
""")
avg_comparisons = _averaged(comparisons, """    >>> float(avg_comparisons(fit, variables="Days", re_formula=False)["estimate"].iloc[0]) > 5
    True
""")
avg_slopes = _averaged(slopes, """    >>> avg_slopes(fit, variables="Days")["contrast"].tolist()
    ['dY/dX']
""")
