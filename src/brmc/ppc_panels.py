"""The figures of :func:`brmc.pp_check`, one per bayesplot ``ppc_<type>`` brms offers.

Each type is a function of the observed response ``y`` (rows) and the replicated
responses ``yrep`` (draws × rows), plus, for the ``_grouped`` types, the ``group``
value of each row (one panel per level, as bayesplot's facets), and for
``loo_pit_overlay`` the PSIS log weights ``lw`` (draws × rows).  The drawing of a
single panel is shared by a type and its grouped form.  Colours are bayesplot's
``"blue"`` scheme (:data:`brmc.plots.SCHEME`).

Example:
    >>> round(bandwidth_nrd0(np.array([1.0, 2.0, 3.0, 4.0])), 4)
    0.7635
    >>> sorted(PANELS)[:3]
    ['bars', 'bars_grouped', 'dens_overlay']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .errors import DataError, close_matches
from .plots import SCHEME

STATS: dict[str, Callable[..., np.ndarray]] = {
    "mean": np.mean, "median": np.median, "sd": lambda x, axis: np.std(x, axis=axis, ddof=1),
    "min": np.min, "max": np.max,
}
Y_LABEL, YREP_LABEL = "$y$", "$y_{rep}$"


# ---------------------------------------------------------------- numbers the panels draw

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
    _check_prob(prob)
    y, yrep = _discrete(y, yrep, "bars")
    x = np.union1d(y, yrep)
    observed = (y[:, None] == x).sum(axis=0).astype(float)
    replicated = (yrep[:, :, None] == x).sum(axis=1).astype(float)
    if not freq:
        observed, replicated = observed / len(y), replicated / yrep.shape[1]
    alpha = (1 - prob) / 2
    l, m, h = np.quantile(replicated, [alpha, 0.5, 1 - alpha], axis=0)
    return pd.DataFrame({"x": x, "y_obs": observed.astype(int) if freq else observed, "l": l, "m": m, "h": h})


def loo_pit(y: np.ndarray, yrep: np.ndarray, lw: np.ndarray) -> np.ndarray:
    """LOO probability integral transform, as bayesplot's ``ppc_loo_pit_data`` for continuous
    responses: ``sum_s w_si [yrep_si <= y_i]`` with the normalised PSIS weights of row i.

    Example:
        >>> lw = np.log(np.full((4, 2), 0.25))
        >>> loo_pit(np.array([0.5, 3.0]), np.array([[0, 1], [1, 2], [2, 3], [3, 4]]), lw).tolist()
        [0.25, 0.75]
    """
    return np.clip(np.sum(np.exp(lw) * (yrep <= y[None, :]), axis=0), 0.0, 1.0)


def _check_prob(prob: float) -> None:
    if not 0 <= prob <= 1:
        raise DataError(f"prob must lie between 0 and 1, got {prob!r}.")


def _discrete(y: np.ndarray, yrep: np.ndarray, type: str) -> tuple[np.ndarray, np.ndarray]:
    y, yrep = np.asarray(y, dtype=float), np.asarray(yrep, dtype=float)
    if np.any(y != np.round(y)) or np.any(yrep != np.round(yrep)):
        raise DataError(f"pp_check type {type!r} expects a discrete response (counts, ordinal or binary).")
    return y, yrep


def _statistic(stat: str | Callable) -> tuple[Callable[..., np.ndarray], str]:
    """A statistic by name (:data:`STATS`) or a function of a vector, vectorised over rows, and its name."""
    if callable(stat):
        return (lambda x, axis: np.apply_along_axis(stat, axis, x)), getattr(stat, "__name__", "T")
    if stat in STATS:
        return STATS[stat], stat
    raise DataError(f"stat must be one of {', '.join(STATS)} or a function, not {stat!r}."
                    f"{close_matches(str(stat), STATS)}")


# ---------------------------------------------------------------- figures and facets

def _figure(size: tuple[float, float] = (6, 4)) -> tuple[Figure, Axes]:
    fig, ax = plt.subplots(figsize=size, layout="constrained")
    return fig, ax


def _grid(n: int, width: float = 2.6, height: float = 2.2, share: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels, nearly square (axes shared when ``share``), the unused ones hidden."""
    ncol = int(np.ceil(np.sqrt(n)))
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(width * ncol + 0.6, height * nrow + 0.4), squeeze=False,
                             sharex=share, sharey=share, layout="constrained")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, list(axes.ravel()[:n])


def group_levels(group: Sequence) -> list:
    """The levels of ``group`` in factor order: a Categorical's categories, else sorted values.

    Example:
        >>> group_levels(["b", "a", "b"])
        ['a', 'b']
    """
    series = pd.Series(group)
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [c for c in series.cat.categories if (series == c).any()]
    return sorted(series.unique().tolist())


def _grouped(draw: Callable[..., None], y: np.ndarray, yrep: np.ndarray, group: Sequence, **kwargs) -> Figure:
    """One panel per level of ``group`` (titled by it), each ``draw(ax, y[rows], yrep[:, rows], **kwargs)``;
    the first panel's legend for the figure."""
    group = pd.Series(group).to_numpy()
    levels = group_levels(group)
    fig, axes = _grid(len(levels))
    for ax, level in zip(axes, levels):
        rows = group == level
        draw(ax, y[rows], yrep[:, rows], **kwargs)
        ax.set_title(str(level), fontsize=9)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", frameon=False)
    return fig


def _single(draw: Callable[..., None], y: np.ndarray, yrep: np.ndarray, size: tuple[float, float] = (6, 4),
            legend: dict | None = None, **kwargs) -> Figure:
    fig, ax = _figure(size)
    draw(ax, y, yrep, **kwargs)
    ax.legend(frameon=False, **(legend or {}))
    return fig


# ---------------------------------------------------------------- panels

def _draw_dens_overlay(ax: Axes, y: np.ndarray, yrep: np.ndarray) -> None:
    lo, hi = min(y.min(), yrep.min()), max(y.max(), yrep.max())
    grid = np.linspace(lo, hi, 512) if hi > lo else np.linspace(lo - 1, hi + 1, 512)
    for k, draw in enumerate(yrep):
        ax.plot(grid, density(draw, grid), color=SCHEME["light"], lw=0.6, alpha=0.9,
                label=YREP_LABEL if k == 0 else "_nolegend_")
    ax.plot(grid, density(y, grid), color=SCHEME["dark_highlight"], lw=2, label=Y_LABEL)
    ax.set_yticks([])


def _draw_ecdf_overlay(ax: Axes, y: np.ndarray, yrep: np.ndarray, discrete: bool = False) -> None:
    def step(values: np.ndarray, **style) -> None:  # ggplot's stat_ecdf: steps when discrete, else lines
        x = np.sort(values)
        (ax.step if discrete else ax.plot)(x, np.arange(1, len(x) + 1) / len(x), **style)

    for k, draw in enumerate(yrep):
        step(draw, color=SCHEME["light"], lw=0.6, label=YREP_LABEL if k == 0 else "_nolegend_")
    step(y, color=SCHEME["dark_highlight"], lw=1.5, label=Y_LABEL)
    ax.set_ylim(0, 1.02)


def _draw_stat(ax: Axes, y: np.ndarray, yrep: np.ndarray, stat: str | Callable = "mean", bins: int = 30) -> str:
    fun, name = _statistic(stat)
    t_rep, t_y = fun(yrep, axis=1), float(fun(y[None, :], axis=1)[0])
    ax.hist(t_rep, bins=bins, color=SCHEME["light"], edgecolor=SCHEME["light_highlight"], lw=0.5,
            label=r"$T(y_{rep})$")
    ax.axvline(t_y, color=SCHEME["dark_highlight"], lw=2, label=r"$T(y)$")
    ax.set_yticks([])
    return name


def _draw_intervals(ax: Axes, y: np.ndarray, yrep: np.ndarray, prob: float = 0.5, prob_outer: float = 0.9,
                    ribbon: bool = False) -> None:
    if not 0 < prob <= prob_outer < 1:
        raise DataError(f"intervals need 0 < prob <= prob_outer < 1, got prob={prob!r}, prob_outer={prob_outer!r}.")
    x = np.arange(1, len(y) + 1)
    outer = np.quantile(yrep, [(1 - prob_outer) / 2, (1 + prob_outer) / 2], axis=0)
    inner = np.quantile(yrep, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    median = np.median(yrep, axis=0)
    if ribbon:
        ax.fill_between(x, *outer, color=SCHEME["light"], lw=0, label=f"{100 * prob_outer:g}% interval")
        ax.fill_between(x, *inner, color=SCHEME["light_highlight"], lw=0, label=f"{100 * prob:g}% interval")
        ax.plot(x, median, color=SCHEME["mid"], lw=1, label=f"{YREP_LABEL} median")
        ax.plot(x, y, color=SCHEME["dark_highlight"], lw=1, label=Y_LABEL)
    else:
        ax.vlines(x, *outer, color=SCHEME["light_highlight"], lw=1, label=f"{100 * prob_outer:g}% interval")
        ax.vlines(x, *inner, color=SCHEME["mid"], lw=2.5, label=f"{100 * prob:g}% interval")
        ax.plot(x, median, "o", ms=3, mfc=SCHEME["light"], mec=SCHEME["mid_highlight"],
                label=f"{YREP_LABEL} median")
        ax.plot(x, y, "o", ms=3.5, color=SCHEME["dark_highlight"], label=Y_LABEL)
    ax.set_xlabel("Index")


def _draw_bars(ax: Axes, y: np.ndarray, yrep: np.ndarray, prob: float = 0.9, freq: bool = True) -> None:
    x, y_obs, l, m, h = ppc_bars_data(y, yrep, prob, freq).to_numpy(dtype=float).T
    ax.bar(x, y_obs, width=0.9, color=SCHEME["light"], edgecolor=SCHEME["light_highlight"], label=Y_LABEL)
    ax.errorbar(x, m, yerr=[m - l, h - m], fmt="o", color=SCHEME["dark"], ms=5, lw=1.5, label=YREP_LABEL)
    ax.set_ylabel("Count" if freq else "Proportion")
    ax.set_ylim(0, 1.05 * max(h.max(), y_obs.max()))


def _draw_violin(ax: Axes, y: np.ndarray, yrep: np.ndarray, probs: Sequence[float] = (0.1, 0.5, 0.9),
                 y_draw: str = "violin") -> None:
    """One violin of the pooled replicated values; the observed as a violin outline, points or both."""
    parts = ax.violinplot([yrep.ravel()], positions=[0], showextrema=False, quantiles=[list(probs)])
    for body in parts["bodies"]:
        body.set(facecolor=SCHEME["light"], edgecolor=SCHEME["light_highlight"], alpha=1, label=YREP_LABEL)
    if y_draw in ("violin", "both") and len(y) > 1 and np.ptp(y) > 0:
        outline = ax.violinplot([y], positions=[0], showextrema=False)
        for body in outline["bodies"]:
            body.set(facecolor="none", edgecolor=SCHEME["dark_highlight"], lw=1, alpha=1, label=Y_LABEL)
    if y_draw in ("points", "both"):
        jitter = np.random.default_rng(0).uniform(-0.1, 0.1, len(y))
        ax.scatter(jitter, y, s=8, color=SCHEME["dark_highlight"], label=Y_LABEL)
    ax.set_xticks([])


def _draw_scatter_avg(ax: Axes, y: np.ndarray, yrep: np.ndarray) -> None:
    average = yrep.mean(axis=0)
    lo, hi = min(average.min(), y.min()), max(average.max(), y.max())
    ax.axline((lo, lo), (hi, hi), color=SCHEME["mid"], ls="--", lw=0.8)
    ax.scatter(average, y, s=18, alpha=0.8, color=SCHEME["mid"], edgecolor=SCHEME["dark_highlight"])
    ax.set_xlabel("Average $y_{rep}$")
    ax.set_ylabel(Y_LABEL)


# ---------------------------------------------------------------- the types

def _dens_overlay(y: np.ndarray, yrep: np.ndarray) -> Figure:
    return _single(_draw_dens_overlay, y, yrep)


def _dens_overlay_grouped(y: np.ndarray, yrep: np.ndarray, group: Sequence) -> Figure:
    return _grouped(_draw_dens_overlay, y, yrep, group)


def _ecdf_overlay(y: np.ndarray, yrep: np.ndarray, discrete: bool = False) -> Figure:
    return _single(_draw_ecdf_overlay, y, yrep, discrete=discrete)


def _hist(y: np.ndarray, yrep: np.ndarray, bins: int = 30) -> Figure:
    edges = np.histogram_bin_edges(np.concatenate([y, yrep.ravel()]), bins=bins)
    panels = [(y, SCHEME["dark_highlight"])] + [(d, SCHEME["light"]) for d in yrep]
    return _histograms(panels, edges, [Y_LABEL, YREP_LABEL])


def _error_hist(y: np.ndarray, yrep: np.ndarray, bins: int = 30) -> Figure:
    """bayesplot's ``ppc_error_hist``: a histogram of ``y - yrep`` per draw."""
    errors = y[None, :] - yrep
    edges = np.histogram_bin_edges(errors.ravel(), bins=bins)
    return _histograms([(e, SCHEME["light"]) for e in errors], edges, ["$y - y_{rep}$"])


def _histograms(panels: list[tuple[np.ndarray, str]], edges: np.ndarray, labels: list[str]) -> Figure:
    """A panel per (values, colour) on common bins; a legend of the first panels' colours."""
    fig, axes = _grid(len(panels), 2.2, 1.8, share=True)
    for ax, (values, color) in zip(axes, panels):
        ax.hist(values, bins=edges, color=color, edgecolor=SCHEME["light_highlight"], lw=0.4)
        ax.set_yticks([])
    colors = [SCHEME["dark_highlight"], SCHEME["light"]] if len(labels) == 2 else [SCHEME["light"]]
    fig.legend(handles=[Patch(color=c, label=lab) for c, lab in zip(colors, labels)], loc="outside right center",
               frameon=False)
    return fig


def _stat(y: np.ndarray, yrep: np.ndarray, stat: str | Callable = "mean", bins: int = 30) -> Figure:
    fig, ax = _figure()
    name = _draw_stat(ax, y, yrep, stat, bins)
    ax.legend(title=f"T = {name}", frameon=False)
    return fig


def _stat_grouped(y: np.ndarray, yrep: np.ndarray, group: Sequence, stat: str | Callable = "mean",
                  bins: int = 30) -> Figure:
    fig = _grouped(_draw_stat, y, yrep, group, stat=stat, bins=bins)
    fig.legends[0].set_title(f"T = {_statistic(stat)[1]}")
    return fig


def _stat_2d(y: np.ndarray, yrep: np.ndarray, stat: Sequence[str | Callable] = ("mean", "sd")) -> Figure:
    """bayesplot's ``ppc_stat_2d``: two statistics of each replicate, and of ``y``."""
    if isinstance(stat, str) or len(stat) != 2:
        raise DataError(f"pp_check type 'stat_2d' needs two statistics, e.g. stat=('mean', 'sd'); got {stat!r}.")
    (f1, n1), (f2, n2) = _statistic(stat[0]), _statistic(stat[1])
    t1, t2 = f1(yrep, axis=1), f2(yrep, axis=1)
    o1, o2 = float(f1(y[None, :], axis=1)[0]), float(f2(y[None, :], axis=1)[0])
    fig, ax = _figure((5, 4.5))
    ax.scatter(t1, t2, s=10, color=SCHEME["light"], edgecolor=SCHEME["light_highlight"], lw=0.3,
               label=r"$T(y_{rep})$")
    ax.axvline(o1, color=SCHEME["dark_highlight"], lw=0.8)
    ax.axhline(o2, color=SCHEME["dark_highlight"], lw=0.8)
    ax.scatter([o1], [o2], s=50, color=SCHEME["dark_highlight"], zorder=3, label=r"$T(y)$")
    ax.set_xlabel(n1)
    ax.set_ylabel(n2)
    ax.legend(title=f"T = ({n1}, {n2})", frameon=False)
    return fig


def _intervals(y: np.ndarray, yrep: np.ndarray, prob: float = 0.5, prob_outer: float = 0.9) -> Figure:
    size = (max(6.0, min(0.04 * len(y) + 4, 16)), 4)
    return _single(_draw_intervals, y, yrep, size, {"fontsize": 8}, prob=prob, prob_outer=prob_outer)


def _ribbon(y: np.ndarray, yrep: np.ndarray, prob: float = 0.5, prob_outer: float = 0.9) -> Figure:
    size = (max(6.0, min(0.04 * len(y) + 4, 16)), 4)
    return _single(_draw_intervals, y, yrep, size, {"fontsize": 8}, prob=prob, prob_outer=prob_outer, ribbon=True)


def _intervals_grouped(y: np.ndarray, yrep: np.ndarray, group: Sequence, prob: float = 0.5,
                       prob_outer: float = 0.9) -> Figure:
    return _grouped(_draw_intervals, y, yrep, group, prob=prob, prob_outer=prob_outer)


def _bars(y: np.ndarray, yrep: np.ndarray, prob: float = 0.9, freq: bool = True) -> Figure:
    return _single(_draw_bars, y, yrep, prob=prob, freq=freq)


def _bars_grouped(y: np.ndarray, yrep: np.ndarray, group: Sequence, prob: float = 0.9, freq: bool = True) -> Figure:
    return _grouped(_draw_bars, y, yrep, group, prob=prob, freq=freq)


def _violin_grouped(y: np.ndarray, yrep: np.ndarray, group: Sequence, probs: Sequence[float] = (0.1, 0.5, 0.9),
                    y_draw: str = "violin") -> Figure:
    if y_draw not in ("violin", "points", "both"):
        raise DataError(f"y_draw must be 'violin', 'points' or 'both', not {y_draw!r}.")
    return _grouped(_draw_violin, y, yrep, group, probs=probs, y_draw=y_draw)


def _scatter_avg(y: np.ndarray, yrep: np.ndarray) -> Figure:
    fig, ax = _figure((5, 4.5))
    _draw_scatter_avg(ax, y, yrep)
    return fig


def _error_scatter_avg(y: np.ndarray, yrep: np.ndarray) -> Figure:
    fig, ax = _figure((5, 4.5))
    ax.scatter(y - yrep.mean(axis=0), y, s=18, alpha=0.8, color=SCHEME["mid"], edgecolor=SCHEME["dark_highlight"])
    ax.set_xlabel("Average predictive error")
    ax.set_ylabel(Y_LABEL)
    return fig


def _rootogram(y: np.ndarray, yrep: np.ndarray, style: str = "standing", prob: float = 0.9) -> Figure:
    """bayesplot's ``ppc_rootogram``: square roots of the observed counts of each value (bars) and of
    the expected counts (a line, with the ``prob`` interval of the replicated counts)."""
    if style not in ("standing", "hanging", "suspended"):
        raise DataError(f"style must be 'standing', 'hanging' or 'suspended', not {style!r}.")
    _check_prob(prob)
    y, yrep = _discrete(y, yrep, "rootogram")
    x = np.arange(0, int(max(y.max(), yrep.max())) + 1)
    observed = np.sqrt((y[:, None] == x).sum(axis=0))
    replicated = np.sqrt((yrep[:, :, None] == x).sum(axis=1))
    expected = np.sqrt(((yrep[:, :, None] == x).sum(axis=1)).mean(axis=0))
    lower, upper = np.quantile(replicated, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    fig, ax = _figure()
    ax.fill_between(x, lower, upper, step=None, color=SCHEME["light"], lw=0, label=f"{100 * prob:g}% interval")
    if style == "standing":
        ax.bar(x, observed, width=0.9, color=SCHEME["light_highlight"], edgecolor=SCHEME["mid"], alpha=0.8,
               label=Y_LABEL)
    elif style == "hanging":
        ax.bar(x, observed, bottom=expected - observed, width=0.9, color=SCHEME["light_highlight"],
               edgecolor=SCHEME["mid"], alpha=0.8, label=Y_LABEL)
        ax.axhline(0, color=SCHEME["dark"], lw=0.8)
    else:
        ax.bar(x, expected - observed, width=0.9, color=SCHEME["light_highlight"], edgecolor=SCHEME["mid"],
               alpha=0.8, label=Y_LABEL)
        ax.axhline(0, color=SCHEME["dark"], lw=0.8)
    ax.plot(x, expected, "-o", ms=3, color=SCHEME["dark_highlight"], lw=1.2, label="Expected")
    ax.set_ylabel("Count (square root)")
    ax.legend(frameon=False)
    return fig


def _loo_pit_overlay(y: np.ndarray, yrep: np.ndarray, lw: np.ndarray, samples: int = 100) -> Figure:
    """bayesplot's ``ppc_loo_pit_overlay``: the density of the LOO-PIT values against the densities of
    ``samples`` sets of as many standard uniform draws (the values' distribution for a calibrated model)."""
    pit = loo_pit(y, yrep, lw)
    grid = np.linspace(0, 1, 256)
    rng = np.random.default_rng(0)
    fig, ax = _figure()
    for k in range(samples):
        ax.plot(grid, density(rng.uniform(size=len(pit)), grid), color=SCHEME["light"], lw=0.5,
                label="Uniform" if k == 0 else "_nolegend_")
    ax.plot(grid, density(pit, grid), color=SCHEME["dark_highlight"], lw=1.5, label="LOO-PIT")
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.legend(frameon=False)
    return fig


#: bayesplot's ``ppc_<type>`` by ``type``
PANELS: dict[str, Callable[..., Figure]] = {
    "dens_overlay": _dens_overlay, "dens_overlay_grouped": _dens_overlay_grouped, "ecdf_overlay": _ecdf_overlay,
    "hist": _hist, "error_hist": _error_hist, "stat": _stat, "stat_grouped": _stat_grouped, "stat_2d": _stat_2d,
    "intervals": _intervals, "intervals_grouped": _intervals_grouped, "ribbon": _ribbon, "bars": _bars,
    "bars_grouped": _bars_grouped, "violin_grouped": _violin_grouped, "scatter_avg": _scatter_avg,
    "error_scatter_avg": _error_scatter_avg, "rootogram": _rootogram, "loo_pit_overlay": _loo_pit_overlay,
}
