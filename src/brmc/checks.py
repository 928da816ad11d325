"""Posterior predictive checks, as brms's ``pp_check`` (bayesplot's ``ppc_*`` plots):
the observed response against responses drawn from the posterior predictive
distribution (the prior predictive one for fits made with ``sample_prior="only"``).
Conditional effects: :mod:`brmc.conditional`.

Example:
    >>> round(bandwidth_nrd0(np.array([1.0, 2.0, 3.0, 4.0])), 4)
    0.7635
    >>> fig = pp_check(fit, type="hist")
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .errors import DataError, close_matches
from .plots import SCHEME, handed_over
from .predict import posterior_predict

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
