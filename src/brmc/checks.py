"""Posterior predictive checks and conditional effects, as brms's ``pp_check``
(bayesplot's ``ppc_*`` plots) and ``conditional_effects``.

``pp_check`` compares the observed response with responses drawn from the
posterior predictive distribution (the prior predictive one for fits made with
``sample_prior="only"``).  ``conditional_effects`` predicts the response over
the range of one predictor (or a pair) with the other predictors held at
brms's defaults: numeric ones at their mean, factors at their reference level,
group-level effects left out (``re_formula=False``, brms's ``NA``).

Example:
    >>> round(bandwidth_nrd0(np.array([1.0, 2.0, 3.0, 4.0])), 4)
    0.7635
    >>> fig = pp_check(fit, type="hist")
    >>> ce = conditional_effects(fit)
    >>> ce.data["Days"][["Days", "estimate__", "lower__", "upper__"]].shape
    (100, 4)
    >>> figs = ce.plot(points=True)
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import formulae as fm
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .contrasts import is_factor
from .data import ModelData
from .design import labels_of, level_order
from .errors import DataError, close_matches
from .lexer import names_in
from .plots import SCHEME, Figures, handed_over
from .predict import posterior_epred, posterior_linpred, posterior_predict

if TYPE_CHECKING:
    from .fit import Fit

# ---------------------------------------------------------------- pp_check

PPC_TYPES = ("dens_overlay", "hist", "stat", "intervals", "bars", "error_scatter_avg")
#: brms uses every draw for these types and 10 draws for the others.
ALL_DRAW_TYPES = ("stat", "intervals", "error_scatter_avg")
STATS: dict[str, Callable[..., np.ndarray]] = {
    "mean": np.mean, "median": np.median, "sd": lambda x, axis: np.std(x, axis=axis, ddof=1),
    "min": np.min, "max": np.max,
}
#: pp_check keywords meant for ``posterior_predict``, as brms routes ``...``.
PREDICT_ARGS = ("re_formula",)
_Y_LABEL, _YREP_LABEL = "$y$", "$y_{rep}$"


def bandwidth_nrd0(x: np.ndarray) -> float:
    """R's ``bw.nrd0``: Silverman's rule, the bandwidth ggplot's ``stat_density`` uses.

    Example:
        >>> round(bandwidth_nrd0(np.arange(10.0)), 4)
        1.7193
    """
    x = np.asarray(x, dtype=float)
    hi = np.std(x, ddof=1) if len(x) > 1 else 0.0
    q75, q25 = np.percentile(x, [75, 25])
    lo = min(hi, (q75 - q25) / 1.34) or hi or abs(x[0]) or 1.0
    return float(0.9 * lo * len(x) ** -0.2)


def density(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``x`` at ``grid`` with R's default bandwidth (``bw.nrd0``).

    Example:
        >>> d = density(np.array([0.0, 1.0, 2.0]), np.linspace(-20, 22, 4201))
        >>> round(float(d.sum() * 0.01), 3)
        1.0
    """
    x = np.asarray(x, dtype=float)
    bw = bandwidth_nrd0(x)
    out = np.zeros(len(grid))
    for start in range(0, len(x), 4096):  # bounded memory for long responses
        z = (grid[:, None] - x[None, start:start + 4096]) / bw
        out += np.exp(-0.5 * z * z).sum(axis=1)
    return out / (len(x) * bw * np.sqrt(2 * np.pi))


def ppc_bars_data(y: np.ndarray, yrep: np.ndarray, prob: float = 0.9, freq: bool = True) -> pd.DataFrame:
    """bayesplot's ``ppc_bars_data``: per value ``x`` the observed count ``y_obs`` and the
    ``(1 - prob) / 2``, 0.5 and ``(1 + prob) / 2`` quantiles (``l``, ``m``, ``h``) of the
    replicated counts; proportions when ``freq=False``.

    Example:
        >>> ppc_bars_data(np.array([0, 1, 1]), np.array([[0, 0, 2], [1, 1, 1]]))
             x  y_obs     l    m     h
        0  0.0      1  0.10  1.0  1.90
        1  1.0      2  0.15  1.5  2.85
        2  2.0      0  0.05  0.5  0.95
    """
    if not 0 <= prob <= 1:
        raise DataError(f"prob must lie between 0 and 1, got {prob!r}.")
    y, yrep = np.asarray(y, dtype=float), np.asarray(yrep, dtype=float)
    if np.any(y != np.round(y)) or np.any(yrep != np.round(yrep)):
        raise DataError("pp_check type 'bars' expects a discrete response (counts, ordinal or binary).")
    x = np.union1d(y, yrep)
    observed = (y[:, None] == x).sum(axis=0).astype(float)
    replicated = (yrep[:, :, None] == x).sum(axis=1).astype(float)
    if not freq:
        observed, replicated = observed / len(y), replicated / yrep.shape[1]
    alpha = (1 - prob) / 2
    l, m, h = np.quantile(replicated, [alpha, 0.5, 1 - alpha], axis=0)
    return pd.DataFrame({"x": x, "y_obs": observed.astype(int) if freq else observed, "l": l, "m": m, "h": h})


def _dens_overlay(y: np.ndarray, yrep: np.ndarray) -> Figure:
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    lo, hi = min(y.min(), yrep.min()), max(y.max(), yrep.max())
    grid = np.linspace(lo, hi, 512) if hi > lo else np.linspace(lo - 1, hi + 1, 512)
    for k, draw in enumerate(yrep):
        ax.plot(grid, density(draw, grid), color=SCHEME["light"], lw=0.6, alpha=0.9,
                label=_YREP_LABEL if k == 0 else "_nolegend_")
    ax.plot(grid, density(y, grid), color=SCHEME["dark_highlight"], lw=2, label=_Y_LABEL)
    ax.set_yticks([])
    ax.legend(frameon=False)
    return fig


def _hist(y: np.ndarray, yrep: np.ndarray, bins: int = 30) -> Figure:
    n = len(yrep) + 1
    ncol = int(np.ceil(np.sqrt(n)))
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.2 * ncol + 0.6, 1.8 * nrow + 0.4), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    edges = np.histogram_bin_edges(np.concatenate([y, yrep.ravel()]), bins=bins)
    panels = [(y, SCHEME["dark_highlight"], _Y_LABEL)] + [(d, SCHEME["light"], _YREP_LABEL) for d in yrep]
    for ax, (values, color, label) in zip(axes.ravel(), panels):
        ax.hist(values, bins=edges, color=color, edgecolor=SCHEME["light_highlight"], lw=0.4, label=label)
        ax.set_yticks([])
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.legend(handles=[Patch(color=SCHEME["dark_highlight"], label=_Y_LABEL),
                        Patch(color=SCHEME["light"], label=_YREP_LABEL)], loc="outside right center", frameon=False)
    return fig


def _stat(y: np.ndarray, yrep: np.ndarray, stat: str | Callable = "mean", bins: int = 30) -> Figure:
    if callable(stat):
        fun, name = (lambda x, axis: np.apply_along_axis(stat, axis, x)), getattr(stat, "__name__", "T")
    elif stat in STATS:
        fun, name = STATS[stat], stat
    else:
        raise DataError(f"stat must be one of {', '.join(STATS)} or a function, not {stat!r}."
                        f"{close_matches(str(stat), STATS)}")
    t_rep, t_y = fun(yrep, axis=1), float(fun(y[None, :], axis=1)[0])
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.hist(t_rep, bins=bins, color=SCHEME["light"], edgecolor=SCHEME["light_highlight"], lw=0.5,
            label=r"$T(y_{rep})$")
    ax.axvline(t_y, color=SCHEME["dark_highlight"], lw=2, label=r"$T(y)$")
    ax.set_yticks([])
    ax.legend(title=f"T = {name}", frameon=False)
    return fig


def _intervals(y: np.ndarray, yrep: np.ndarray, prob: float = 0.5, prob_outer: float = 0.9) -> Figure:
    if not 0 < prob <= prob_outer < 1:
        raise DataError(f"intervals need 0 < prob <= prob_outer < 1, got prob={prob!r}, prob_outer={prob_outer!r}.")
    x = np.arange(1, len(y) + 1)
    outer = np.quantile(yrep, [(1 - prob_outer) / 2, (1 + prob_outer) / 2], axis=0)
    inner = np.quantile(yrep, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    fig, ax = plt.subplots(figsize=(max(6.0, min(0.04 * len(y) + 4, 16)), 4), layout="constrained")
    ax.vlines(x, *outer, color=SCHEME["light_highlight"], lw=1, label=f"{100 * prob_outer:g}% interval")
    ax.vlines(x, *inner, color=SCHEME["mid"], lw=2.5, label=f"{100 * prob:g}% interval")
    ax.plot(x, np.median(yrep, axis=0), "o", ms=3, mfc=SCHEME["light"], mec=SCHEME["mid_highlight"],
            label=f"{_YREP_LABEL} median")
    ax.plot(x, y, "o", ms=3.5, color=SCHEME["dark_highlight"], label=_Y_LABEL)
    ax.set_xlabel("Index")
    ax.legend(frameon=False, fontsize=8)
    return fig


def _bars(y: np.ndarray, yrep: np.ndarray, prob: float = 0.9, freq: bool = True) -> Figure:
    x, y_obs, l, m, h = ppc_bars_data(y, yrep, prob, freq).to_numpy(dtype=float).T
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.bar(x, y_obs, width=0.9, color=SCHEME["light"], edgecolor=SCHEME["light_highlight"], label=_Y_LABEL)
    ax.errorbar(x, m, yerr=[m - l, h - m], fmt="o", color=SCHEME["dark"], ms=5, lw=1.5, label=_YREP_LABEL)
    ax.set_ylabel("Count" if freq else "Proportion")
    ax.set_ylim(0, 1.05 * max(h.max(), y_obs.max()))
    ax.legend(frameon=False)
    return fig


def _error_scatter_avg(y: np.ndarray, yrep: np.ndarray) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
    ax.scatter(y - yrep.mean(axis=0), y, s=18, alpha=0.8, color=SCHEME["mid"], edgecolor=SCHEME["dark_highlight"])
    ax.set_xlabel("Average predictive error")
    ax.set_ylabel(_Y_LABEL)
    return fig


_PPC: dict[str, Callable[..., Figure]] = {
    "dens_overlay": _dens_overlay, "hist": _hist, "stat": _stat, "intervals": _intervals, "bars": _bars,
    "error_scatter_avg": _error_scatter_avg,
}


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
             seed: int | None = None, **kwargs: Any) -> Figure:
    """brms's ``pp_check``: observed response against posterior predictive draws.

    ``type`` is one of :data:`PPC_TYPES` (bayesplot's ``ppc_<type>``).
    ``ndraws`` defaults as in brms: 10 draws for ``dens_overlay``, ``hist``
    and ``bars``, all draws for ``stat``, ``intervals`` and
    ``error_scatter_avg``.  ``stat`` (type ``stat``) names a statistic among
    :data:`STATS` or is a function of a vector.  ``re_formula`` in ``kwargs``
    goes to ``posterior_predict``; the other keywords to the plot: ``bins``
    (``hist``, ``stat``), ``prob`` and ``prob_outer`` (``intervals``, 0.5 and
    0.9), ``prob`` and ``freq`` (``bars``, 0.9 and True).  Censored
    observations are left out, as brms does.  For ``sample_prior="only"``
    fits the draws are prior predictive ones.

    Parameters
    ----------
    fit : Fit
        A fitted model.
    type : str, default ``"dens_overlay"``
        One of :data:`PPC_TYPES`.
    ndraws : int, optional
        Predictive draws to use; brms's default per ``type`` when None.
    stat : str or callable, default ``"mean"``
        The statistic of type ``"stat"``.
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
    """
    if type not in _PPC:
        raise DataError(f"Type {type!r} is not a valid ppc type.{close_matches(str(type), PPC_TYPES)} "
                        f"Valid types are: {', '.join(PPC_TYPES)}.")
    panel = _PPC[type]
    predict_args = {k: kwargs.pop(k) for k in PREDICT_ARGS if k in kwargs}
    allowed = [p for p in inspect.signature(panel).parameters if p not in ("y", "yrep", "stat")]
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        raise DataError(f"pp_check type {type!r} does not take {', '.join(map(repr, unknown))}; it takes "
                        f"{', '.join(map(repr, allowed + list(PREDICT_ARGS))) or 'no further arguments'}.")
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
    fig = panel(y, yrep, stat=stat, **kwargs) if type == "stat" else panel(y, yrep, **kwargs)
    if fit.settings.sample_prior == "only":
        fig.suptitle("Prior predictive check", fontsize=10)
    return handed_over(fig)


# ---------------------------------------------------------------- conditional_effects

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
    names = [n for lp in md.predictors.values() for n in names_in(lp.formula.population)]
    return [n for n in dict.fromkeys(names) if n in md.frame.columns]


def _group_variables(md: ModelData) -> list[str]:
    return list(dict.fromkeys(f for b in md.blocks for f in b.term.factors))


def _term_variables(md: ModelData) -> list[list[str]]:
    """Variables of each population term in R's term order (by degree): brms's ``get_all_effects``."""
    order = _population_variables(md)
    terms = []
    populations = dict.fromkeys(lp.formula.population for lp in md.predictors.values())
    for term in [t for population in populations for t in fm.model_description(population).terms]:
        names = sorted((v for v in getattr(term, "var_names", ()) if v in order), key=order.index)
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
