"""Plots of a fit: brms's trace-and-density ``plot``, a caterpillar of group-level
effects and the no / partial / complete pooling picture; and the rank plots of
simulation-based calibration (:mod:`brmc.sbc`).

One convention for every plot brmc draws (here, in :mod:`brmc.checks`,
:mod:`brmc.conditional` and :mod:`brmc.sensitivity`): the function returns a matplotlib ``Figure``, or
:class:`Figures` (a list of them), through :func:`handed_over`, and shows
nothing itself.  In a script or a terminal the figures stay open in
``pyplot``, so ``plt.show()`` shows them.  Under Jupyter's inline backend
they are taken off ``pyplot``'s list of open figures, so the notebook shows
each one once: as the value of the cell (``fit.pp_check()``), or where the
user ``display``-s it; ``fig = fit.pp_check()`` shows nothing, as in R.
Colours follow bayesplot's default ``"blue"`` scheme, as brms's plots do.

Example:
    >>> chain_colors(2)
    ['#03396c', '#d1e1ec']
    >>> figs = plot(fit)
    >>> figs[0].savefig(tmp / "trace.png")
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import arviz as az
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from arviz.stats.ecdf_utils import ecdf_confidence_band
from matplotlib.lines import Line2D
from scipy import stats

from . import effects
from ._docs import shared
from .errors import DataError, close_matches

if TYPE_CHECKING:
    from .fit import Fit

#: bayesplot's ``color_scheme_get("blue")``.
SCHEME = {"light": "#d1e1ec", "light_highlight": "#b3cde0", "mid": "#6497b1",
          "mid_highlight": "#005b96", "dark": "#03396c", "dark_highlight": "#011f4b"}

#: brms's ``default_plot_variables`` (2.18) without the family's dpars, which are added per fit.
DEFAULT_VARIABLES = ("^b_", "^bsp_", "^bcs_", "^sd_", "^cor_", "^sigma_", "^rescor$", "^delta$", "^theta",
                     "^ar", "^ma", "^arr", "^sderr", "^lagsar", "^errorsar", "^car", "^sdcar", "^rhocar",
                     "^sds_", "^sdgp_", "^lscale_")

COMBO_KINDS = ("dens", "dens_overlay", "hist", "trace")
_DRAW_COLUMNS = (".chain", ".iteration", ".draw")


class Figures(list):
    """The figures of one plotting call: a list that a notebook shows as its figures, each once.

    Example:
        >>> figs = Figures([Figure(), Figure()])
        >>> len(figs), isinstance(figs[0], Figure)
        (2, True)
    """

    def _ipython_display_(self) -> None:
        from IPython.display import display  # only ever called from inside IPython

        for fig in self:
            display(fig)


def handed_over(fig: Figure) -> Figure:
    """``fig`` as a plotting function returns it: under Jupyter's inline backend no longer open
    in ``pyplot`` (which would show it a second time when the cell ends); elsewhere untouched.

    Example:
        >>> fig, ax = plt.subplots()
        >>> handed_over(fig) is fig, plt.fignum_exists(fig.number)  # a script keeps it for plt.show()
        (True, True)
        >>> plt.close(fig)
    """
    if "inline" in matplotlib.get_backend():
        plt.close(fig)
    return fig


def chain_colors(n: int) -> list[str]:
    """One colour per chain, as bayesplot's ``chain_colors``.

    Example:
        >>> chain_colors(4)
        ['#011f4b', '#03396c', '#6497b1', '#d1e1ec']
    """
    every = list(SCHEME)
    names = {1: ["mid"], 2: ["light", "dark"], 3: ["light", "mid", "dark"],
             4: ["light", "mid", "dark", "dark_highlight"], 5: [k for k in every if k != "mid"]
             }.get(n, [every[i % len(every)] for i in range(n)])
    return [SCHEME[k] for k in reversed(names)]


def select_variables(names: Sequence[str], variable: str | Sequence[str] | None, regex: bool,
                     dpars: Sequence[str] = ()) -> list[str]:
    """The variables ``plot`` shows, in brms's order.

    ``variable=None`` takes brms's defaults (``b_``, ``sd_``, ``cor_``, the
    family's parameters, ...): patterns in that order, each listing its matches
    in the draws' order.  Exact names must exist; patterns need not each match,
    but together they must select something.

    Example:
        >>> names = ["b_Intercept", "b_Days", "sd_g__Intercept", "sigma", "Intercept", "r_g[1,Intercept]"]
        >>> select_variables(names, None, False, dpars=["sigma"])
        ['b_Intercept', 'b_Days', 'sd_g__Intercept', 'sigma']
        >>> select_variables(names, "^b_", True)
        ['b_Intercept', 'b_Days']
    """
    if variable is None:
        variable, regex = list(DEFAULT_VARIABLES) + [f"^{d}$" for d in dpars], True
    wanted = [variable] if isinstance(variable, str) else list(variable)
    if not regex:
        unknown = [v for v in wanted if v not in names]
        if unknown:
            hints = "".join(close_matches(v, names) for v in unknown)
            raise DataError(f"Variable(s) {', '.join(repr(v) for v in unknown)} not found in the draws.{hints}")
        return list(dict.fromkeys(wanted))
    try:
        patterns = [re.compile(p) for p in wanted]
    except re.error as err:
        raise DataError(f"Invalid regular expression in variable: {err}") from None
    chosen = list(dict.fromkeys(n for p in patterns for n in names if p.search(n)))
    if not chosen:
        raise DataError(f"No valid variables selected: no variable matches {', '.join(map(repr, wanted))}.")
    return chosen


@shared
def plot(fit: Fit, variable: str | Sequence[str] | None = None, regex: bool = False, N: int = 5,
         combo: Sequence[str] = ("dens", "trace")) -> Figures:
    """brms's ``plot(fit)``: per parameter a row of ``combo`` panels, at most ``N`` rows a figure.

    The default ``combo`` is brms's: the density of all chains together
    (bayesplot's ``mcmc_dens``) and the trace of each chain (``mcmc_trace``).
    Other kinds: ``"dens_overlay"`` (one density per chain) and ``"hist"``.

    Parameters
    ----------
    {fit}
    {variable}
    {regex}
    {N}
    combo : sequence of str, default ("dens", "trace")
        The panels of each row, among :data:`COMBO_KINDS`.

    Returns
    -------
    Figures
        One figure per ``N`` parameters.

    Examples
    --------
    >>> [len(f.axes) for f in plot(fit)]
    [10, 2]
    >>> figs = plot(fit, variable="^sd_", regex=True, combo=("hist", "trace"))
    """
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise DataError(f"Argument 'N' must be a positive integer, got {N!r}.")
    bad = [k for k in combo if k not in COMBO_KINDS]
    if bad or not combo:
        raise DataError(f"combo must list plot kinds among {', '.join(COMBO_KINDS)}; got {list(combo)!r}.")
    draws = fit.draws()
    names = [c for c in draws.columns if c not in _DRAW_COLUMNS]
    chosen = select_variables(names, variable, regex, [d.name for d in fit.family.dpars])
    n_chain = int(draws[".chain"].nunique())
    values = {v: draws[v].to_numpy().reshape(n_chain, -1) for v in chosen}
    return Figures(handed_over(_combo_figure({v: values[v] for v in chosen[i:i + N]}, combo, n_chain))
                   for i in range(0, len(chosen), N))


def _combo_figure(values: dict[str, np.ndarray], combo: Sequence[str], n_chain: int) -> Figure:
    fig, axes = plt.subplots(len(values), len(combo), figsize=(4.5 * len(combo), 1.7 * len(values) + 0.6),
                             squeeze=False, layout="constrained")
    colors = chain_colors(n_chain)
    for row, (name, chains) in zip(axes, values.items()):
        for ax, kind in zip(row, combo):
            _PANELS[kind](ax, chains, colors)
            ax.set_title(name, fontsize=9)
    if any(k in ("trace", "dens_overlay") for k in combo):
        handles = [Line2D([], [], color=c, lw=1.5) for c in colors]
        fig.legend(handles, [str(i) for i in range(1, n_chain + 1)], title="Chain", loc="outside right center")
    return fig


def _dens(ax, chains: np.ndarray, colors: list[str]) -> None:
    grid, density = az.kde(chains.ravel())
    ax.fill_between(grid, density, color=SCHEME["mid"])
    ax.plot(grid, density, color=SCHEME["mid_highlight"])
    ax.set_yticks([])


def _dens_overlay(ax, chains: np.ndarray, colors: list[str]) -> None:
    for chain, color in zip(chains, colors):
        ax.plot(*az.kde(chain), color=color)
    ax.set_yticks([])


def _hist(ax, chains: np.ndarray, colors: list[str]) -> None:
    ax.hist(chains.ravel(), bins=30, color=SCHEME["mid"], edgecolor=SCHEME["mid_highlight"])
    ax.set_yticks([])


def _trace(ax, chains: np.ndarray, colors: list[str]) -> None:
    iteration = np.arange(1, chains.shape[1] + 1)
    for chain, color in zip(chains, colors):
        ax.plot(iteration, chain, color=color, lw=0.6)


_PANELS = {"dens": _dens, "dens_overlay": _dens_overlay, "hist": _hist, "trace": _trace}


def _pick(requested: str | Sequence[str] | None, available: Sequence[str], what: str) -> list[str]:
    """``requested`` names checked against ``available`` (all of them when None)."""
    if requested is None:
        return list(available)
    wanted = [requested] if isinstance(requested, str) else list(requested)
    for name in wanted:
        if name not in available:
            raise DataError(f"Unknown {what} {name!r}.{close_matches(name, available)} "
                            f"Available: {', '.join(available)}.")
    return wanted


@shared
def plot_ranef(fit: Fit, group: str | Sequence[str] | None = None, coef: str | Sequence[str] | None = None,
               probs: tuple[float, float] = (0.025, 0.975)) -> Figure:
    """Caterpillar plot of group-level effects ``r_<group>`` (as lme4's ``dotplot(ranef(.))``).

    One panel per (group, coefficient): posterior mean and ``probs`` interval
    of every level, levels sorted by their mean, a dashed line at zero.

    Parameters
    ----------
    {fit}
    group : str or sequence of str, optional
        Grouping factors to show; all when None.
    coef : str or sequence of str, optional
        Group-level coefficients to show; all when None.
    {interval}

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_ranef(fit, group="Subject", coef="Days")
    >>> [ax.get_title() for ax in fig.axes]
    ['Subject: Days']
    """
    if len(probs) != 2:
        raise DataError(f"probs must hold two probabilities (lower, upper), got {probs!r}.")
    tables = effects.ranef(fit, probs=tuple(probs))
    groups = _pick(group, list(tables), "grouping factor")
    coefs = {g: list(tables[g].index.unique("coef")) for g in groups}
    wanted = _pick(coef, list(dict.fromkeys(c for cs in coefs.values() for c in cs)), "group-level coefficient")
    panels = [(g, c) for g in groups for c in coefs[g] if c in wanted]
    n_max = max(len(tables[g].xs(c, level="coef")) for g, c in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), min(0.18 * n_max + 1.4, 12.0)),
                             squeeze=False, layout="constrained")
    lo_name, hi_name = tables[panels[0][0]].columns[2:4]
    for ax, (g, c) in zip(axes[0], panels):
        table = tables[g].xs(c, level="coef").sort_values("Estimate")
        y = np.arange(len(table))
        ax.axvline(0, color="grey", ls="--", lw=0.8)
        ax.hlines(y, table[lo_name], table[hi_name], color=SCHEME["mid"], label="interval")
        ax.plot(table["Estimate"], y, "o", ms=4, color=SCHEME["dark"], label="Estimate")
        ax.set_yticks(y, table.index if len(table) <= 60 else [""] * len(table), fontsize=7)
        ax.set_title(f"{g}: {c}", fontsize=10)
        ax.set_xlabel(f"posterior mean and {100 * probs[0]:g}–{100 * probs[1]:g} % interval", fontsize=8)
    return handed_over(fig)


def no_pooling(y: np.ndarray, offset: np.ndarray, Z: np.ndarray, index: np.ndarray, n_levels: int,
               link: Callable[[np.ndarray], np.ndarray] | None = None, trials: np.ndarray | None = None,
               finite: bool = True) -> np.ndarray:
    """Per-level estimates of the block coefficients when each level is fitted alone.

    With only an intercept in the block this is ``link(mean(y)) - mean(offset)``
    per level (for the identity link: the group mean of ``y - offset``); with
    ``trials`` (binomial) the level's proportion ``sum(y) / sum(trials)`` takes
    the place of ``mean(y)``.  Otherwise it is the least-squares fit of
    ``y - offset`` on ``Z`` within each level (identity link only), NaN where a
    level cannot identify it.  A proportion of 0 or 1 has no finite logit: it is
    NaN, or ±inf with ``finite=False``.  Returns (n_levels, M).

    Example:
        >>> y = np.array([1.0, 3.0, 10.0]); idx = np.array([0, 0, 1])
        >>> no_pooling(y, np.zeros(3), np.ones((3, 1)), idx, 2).ravel().tolist()
        [2.0, 10.0]
        >>> m, n = np.array([0.0, 2.0, 5.0]), np.array([10.0, 10.0, 20.0])
        >>> no_pooling(m, np.zeros(3), np.ones((3, 1)), np.array([0, 1, 1]), 2, trials=n).ravel().tolist()
        [0.0, 0.23333333333333334]
        >>> logit = lambda p: np.log(p / (1 - p))
        >>> no_pooling(m, np.zeros(3), np.ones((3, 1)), np.array([0, 1, 1]), 2, logit, n, finite=False)[0, 0]
        np.float64(-inf)
    """
    out = np.full((n_levels, Z.shape[1]), np.nan)
    for j in range(n_levels):
        rows = index == j
        if Z.shape[1] == 1 and np.all(Z[:, 0] == 1):
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = y[rows].mean() if trials is None else y[rows].sum() / trials[rows].sum()
                if link is not None:
                    mean = link(mean)
            out[j, 0] = mean - offset[rows].mean()
            continue
        solution, _, rank, _ = np.linalg.lstsq(Z[rows], y[rows] - offset[rows], rcond=None)
        if rank == Z.shape[1]:
            out[j] = solution
    if finite:
        return np.where(np.isfinite(out), out, np.nan)
    return out


@shared
def plot_shrinkage(fit: Fit, group: str | None = None, coef: str = "Intercept", n_groups: int | None = None,
                   seed: int | None = 1234, order: str = "n", scale: str = "response") -> Figure:
    """No pooling, complete pooling and partial pooling of one group-level coefficient.

    Per level of ``group`` (x axis, labelled with its number of observations):
    the no-pooling estimate (open circle; each level fitted on its own, see
    :func:`no_pooling`), an arrow to the partial-pooling posterior (``coef()``:
    mean and 95 % interval), and horizontal lines for complete pooling (all
    rows as one group) and the population mean ``b_<coef>``.  Population
    predictors outside the group block enter both no- and complete-pooling
    estimates as an offset ``X b`` at the posterior means of ``b``, so all
    estimates refer to the coefficient at those predictors' zero.

    For non-identity links only intercept blocks can be shown.  With
    ``scale="response"`` (the default) every estimate is put through the
    inverse link: for a binomial ``m | trials(n)`` model the no-pooling
    estimate is the level's proportion ``sum(m) / sum(n)``, the partial-pooling
    one the posterior of ``inv_logit(b_Intercept + r)``, and the levels are
    labelled and ordered by their number of trials.  ``scale="linear"`` keeps
    the link scale, where a proportion of 0 or 1 has no no-pooling estimate.

    Parameters
    ----------
    {fit}
    group : str, optional
        The grouping factor; the first with a group-level ``coef`` when None.
    coef : str, default ``"Intercept"``
        The group-level coefficient.
    n_groups : int, optional
        Show this many levels, drawn at random with ``seed``; all when None.
    seed : int, optional, default 1234
        Seed of the levels' draw.
    order : str, default ``"n"``
        Order levels by ``"n"`` (sample size) or ``"estimate"`` (no-pooling estimate).
    scale : str, default ``"response"``
        ``"response"`` or ``"linear"`` (the link scale).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_shrinkage(fit, n_groups=8)
    >>> len(fig.axes[0].get_xticks())
    8
    >>> fig = plot_shrinkage(fit, coef="Days", order="estimate")
    """
    md = fit.model_data
    if order not in ("n", "estimate"):
        raise DataError(f"order must be 'n' or 'estimate', got {order!r}.")
    if scale not in ("response", "linear"):
        raise DataError(f"scale must be 'response' or 'linear', got {scale!r}.")
    if "mu" not in md.predictors:
        raise DataError("plot_shrinkage shows group-level effects on mu; a categorical model has one "
                        f"predictor per category ({', '.join(md.predictors)}).")
    mu = md.predictors["mu"]
    groups = list(dict.fromkeys(b.group for b in mu.blocks))
    with_coef = [g for g in groups if any(coef in b.coefs for b in mu.blocks if b.group == g)]
    if not with_coef:
        coefs = sorted({c for b in mu.blocks for c in b.coefs})
        raise DataError(f"No grouping factor has a group-level {coef!r}.{close_matches(coef, coefs)}")
    group = _pick(group, with_coef, f"grouping factor with a group-level {coef!r}")[0]
    blocks = [b for b in mu.blocks if b.group == group]
    zcoefs = [c for b in blocks for c in b.coefs]
    Z = np.hstack([b.Z for b in blocks])
    index, levels = blocks[0].index, blocks[0].levels
    link = None if md.family.link == "identity" else md.family.link_np
    if link is not None and zcoefs != ["Intercept"]:
        raise DataError(f"plot_shrinkage needs an intercept-only block on {group!r} for the "
                        f"{md.family.link} link; this block has {zcoefs}.")
    inverse = md.family.inverse_link_np if link is not None and scale == "response" else None
    trials = md.additions.get("trials")

    b_hat = fit.fixef()["Estimate"].loc[mu.population_names]
    outside = [k for k, name in enumerate(b_hat.index) if name not in zcoefs]
    offset = mu.X[:, outside] @ b_hat.to_numpy()[outside]
    k = zcoefs.index(coef)
    none = no_pooling(md.y, offset, Z, index, len(levels), link, trials, finite=inverse is None)[:, k]
    complete = no_pooling(md.y, offset, Z, np.zeros_like(index), 1, link, trials, finite=inverse is None)[0, k]
    if inverse is None:
        partial = effects.coef(fit)[group].xs(coef, level="coef").loc[levels]
        population = b_hat[coef] if coef in b_hat.index else None
    else:
        with np.errstate(over="ignore"):
            none, complete = inverse(none), inverse(complete)
        draws = effects.coef(fit, summary=False)[group].xs(coef, level="coef", axis=1)[levels]
        partial = effects.summarise(inverse(draws.to_numpy()), index=levels)
        population = float(np.mean(inverse(fit.fixef(summary=False)[coef].to_numpy())))
    n_obs = np.bincount(index, minlength=len(levels)) if trials is None else \
        np.bincount(index, weights=trials, minlength=len(levels)).astype(int)
    n_what = "observations" if trials is None else "trials"

    shown = np.arange(len(levels))
    if n_groups is not None and n_groups < len(levels):
        shown = np.random.default_rng(seed).choice(shown, size=n_groups, replace=False)
    shown = shown[np.lexsort((none[shown], n_obs[shown]) if order == "n" else (n_obs[shown], none[shown]))]

    x = np.arange(len(shown))
    fig, ax = plt.subplots(figsize=(min(max(6.0, 0.45 * len(shown) + 2.5), 24.0), 4.5), layout="constrained")
    ax.axhline(complete, color="grey", lw=1.2, label="complete pooling")
    if population is not None:
        label = (f"population mean (b_{coef})" if inverse is None
                 else f"population: inverse {md.family.link} of b_{coef}")
        ax.axhline(population, color=SCHEME["dark"], lw=1, ls="--", label=label)
    est = partial["Estimate"].to_numpy()[shown]
    ax.vlines(x + 0.15, partial["Q2.5"].to_numpy()[shown], partial["Q97.5"].to_numpy()[shown],
              color=SCHEME["mid"], lw=1.5)
    ax.plot(x - 0.15, none[shown], "o", mfc="white", mec="black", label="no pooling")
    ax.plot(x + 0.15, est, "o", color=SCHEME["dark"], label="partial pooling (mean, 95% CI)")
    for xi, start, end in zip(x, none[shown], est):
        if np.isfinite(start):
            ax.annotate("", xy=(xi + 0.12, end), xytext=(xi - 0.12, start),
                        arrowprops={"arrowstyle": "->", "color": "grey", "lw": 0.8})
    ax.set_xticks(x, [f"{levels[j]}\n(n={n_obs[j]})" for j in shown], fontsize=7,
                  rotation=0 if len(shown) <= 12 else 90)
    ax.set_xlabel(f"{group} (ordered by {'number of ' + n_what if order == 'n' else 'no-pooling estimate'})")
    if link is None:
        scale_text = f"({md.formula.response})"
    elif inverse is None:
        scale_text = f"on the {md.family.link} scale (linear predictor)"
    elif trials is not None:
        scale_text = f"as a proportion ({md.formula.response} / {md.formula.additions['trials'][0]})"
    else:
        scale_text = f"on the response scale (mean of {md.formula.response})"
    ax.set_ylabel(f"{coef} {scale_text}")
    ax.set_title(f"Shrinkage of {group}-level {coef}: no pooling → partial pooling", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    return handed_over(fig)


# ---------------------------------------------------------------- simulation-based calibration

def _rank_grid(n_panels: int) -> tuple[Figure, np.ndarray]:
    n_col = min(n_panels, 3)
    n_row = -(-n_panels // n_col)
    fig, axes = plt.subplots(n_row, n_col, squeeze=False, figsize=(3.2 * n_col, 2.6 * n_row))
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, axes.flat


def plot_rank_hist(ranks: dict[str, np.ndarray], max_rank: int, bins: int = 20, prob: float = 0.95) -> Figure:
    """SBC rank histograms, one panel per parameter, with the central ``prob`` interval of
    each bin's count under uniform ranks (binomial; bins may hold unequal numbers of rank values).

    Parameters
    ----------
    ranks : dict of str to numpy.ndarray
        Each parameter's ranks, one per simulation.
    max_rank : int
        The largest possible rank (the number of kept posterior draws).
    bins : int, default 20
        Number of bars.
    prob : float, default 0.95
        Probability of the band.

    Returns
    -------
    Figure
        One panel per parameter.

    Examples
    --------
        >>> fig = plot_rank_hist({"b_Days": np.arange(20)}, max_rank=19, bins=5)
        >>> len(fig.axes)
        1
    """
    n_bins = min(bins, max_rank + 1)
    edges = np.unique(np.round(np.linspace(0, max_rank + 1, n_bins + 1)).astype(int))  # rank values [e_k, e_k+1)
    share = np.diff(edges) / (max_rank + 1)
    fig, axes = _rank_grid(len(ranks))
    for ax, (name, values) in zip(axes, ranks.items()):
        n = len(values)
        lo, hi = stats.binom.ppf(np.array([(1 - prob) / 2, (1 + prob) / 2])[:, None], n, share)
        ax.hist(values, bins=edges - 0.5, color=SCHEME["mid"])
        ax.fill_between(edges - 0.5, np.append(lo, lo[-1]), np.append(hi, hi[-1]), step="post",
                        color="grey", alpha=0.3, linewidth=0, label=f"{prob:.0%} band")
        ax.plot(edges - 0.5, np.append(n * share, n * share[-1]), drawstyle="steps-post", color=SCHEME["dark"])
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("rank")
    fig.tight_layout()
    return handed_over(fig)


def plot_rank_ecdf_diff(ranks: dict[str, np.ndarray], max_rank: int, prob: float = 0.95) -> Figure:
    """ECDF difference plots of SBC ranks: the ranks' ECDF minus the uniform CDF at each rank
    value, with the simultaneous ``prob`` band of Säilynoja et al. (2022) (ArviZ's
    ``ecdf_confidence_band``, optimised method).

    Parameters
    ----------
    ranks : dict of str to numpy.ndarray
        Each parameter's ranks, one per simulation.
    max_rank : int
        The largest possible rank (the number of kept posterior draws).
    prob : float, default 0.95
        Probability of the simultaneous band.

    Returns
    -------
    Figure
        One panel per parameter.

    Examples
    --------
        >>> fig = plot_rank_ecdf_diff({"b_Days": np.arange(20)}, max_rank=19)
        >>> fig.axes[0].get_title()
        'b_Days'
    """
    values_at = np.arange(max_rank)
    z = (values_at + 1) / (max_rank + 1)
    fig, axes = _rank_grid(len(ranks))
    bands: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for ax, (name, values) in zip(axes, ranks.items()):
        n = len(values)
        if n not in bands:
            bands[n] = ecdf_confidence_band(n, values_at, z, prob=prob, method="optimized")
        lo, hi = bands[n]
        ecdf = (values[None, :] <= values_at[:, None]).mean(axis=1)
        ax.fill_between(z, lo - z, hi - z, step="post", color=SCHEME["light"], label=f"{prob:.0%} band")
        ax.plot(z, ecdf - z, drawstyle="steps-post", color=SCHEME["dark"])
        ax.axhline(0, color=SCHEME["mid"], linewidth=0.8)
        ax.set_title(name, fontsize="medium")
        ax.set_xlabel("fractional rank")
    fig.tight_layout()
    return handed_over(fig)
