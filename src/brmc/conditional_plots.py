"""The figures of :meth:`brmc.conditional.ConditionalEffects.plot`: brms's plots of conditional
effects (a line and band, points with error bars, a line per moderator value, a surface, one
line per draw), a panel per condition.

Example:
    >>> figs = brmc.conditional_effects(fit, "Days", resolution=5).plot(rug=True)
    >>> [ln.get_marker() for ln in figs[0].axes[0].get_lines()]
    ['None', '|']
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .design import labels_of


@dataclass
class PlotStyle:
    """How :meth:`brmc.conditional.ConditionalEffects.plot` draws: a rug, the mean over spaghetti, the surface type."""

    rug: bool = False
    mean: bool = True
    stype: str = "contour"


def plot_effect(frame: pd.DataFrame, effects: list[str], types: list[str], response: str,
                 points: pd.DataFrame | None, spaghetti: pd.DataFrame | None = None, style: PlotStyle | None = None,
                 show_points: bool = True) -> Figure:
    """One effect's figure (its frame of :func:`brmc.conditional_effects`): a panel per condition
    (``cond__``); ``points`` the data (drawn when ``show_points``, a rug's values when ``style.rug``),
    ``spaghetti`` each draw's curve.

    Parameters
    ----------
    frame : pandas.DataFrame
        The effect's predictions.
    effects : list of str
        The effect's variables.
    types : list of str
        ``"numeric"`` or ``"factor"`` per variable.
    response : str
        The y axis label.
    points : pandas.DataFrame, optional
        The data rows (``effect1__``, ``resp__``).
    spaghetti : pandas.DataFrame, optional
        Each draw's curve (``sample__``).
    style : PlotStyle, optional
        Rug, mean line and surface type.
    show_points : bool, default True
        Whether to draw ``points``.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> ce = brmc.conditional_effects(fit, "Days", resolution=5)
    >>> fig = plot_effect(ce.data["Days"], ["Days"], ["numeric"], "Reaction", None)
    """
    style = style or PlotStyle()
    conditions = list(frame["cond__"].cat.categories) if "cond__" in frame else ["1"]
    if len(conditions) == 1:
        fig, ax = plt.subplots(figsize=(6, 4.2), layout="constrained")
        axes = [ax]
    else:
        ncol = int(np.ceil(np.sqrt(len(conditions))))
        nrow = int(np.ceil(len(conditions) / ncol))
        fig, grid = plt.subplots(nrow, ncol, figsize=(4 * ncol, 3.2 * nrow), squeeze=False, sharey=True,
                                 layout="constrained")
        axes = list(grid.ravel())
        for ax in axes[len(conditions):]:
            ax.set_visible(False)
    for ax, condition in zip(axes, conditions):
        sub = frame[frame["cond__"] == condition] if "cond__" in frame else frame
        curves = spaghetti if spaghetti is None or "cond__" not in spaghetti else \
            spaghetti[spaghetti["cond__"] == condition]
        if frame.attrs.get("surface"):
            _draw_surface(ax, sub, effects, response, style.stype)
        else:
            _draw_effect(ax, sub, effects, types, response, points if show_points else None, curves, style.mean)
        if style.rug and points is not None and types[0] == "numeric":
            ax.plot(points["effect1__"].to_numpy(dtype=float), np.zeros(len(points)), "|", color="black", ms=8,
                    alpha=0.6, transform=ax.get_xaxis_transform(), label="_nolegend_")
        if len(conditions) > 1:
            ax.set_title(str(condition), fontsize=9)
    return fig


def _draw_surface(ax, frame: pd.DataFrame, effects: list[str], response: str, stype: str) -> None:
    """brms's surface: the estimate over the grid of two numeric variables."""
    x = np.unique(frame["effect1__"].to_numpy(dtype=float))
    y = np.unique(frame["effect2__"].to_numpy(dtype=float))
    z = frame.pivot_table(index="effect2__", columns="effect1__", values="estimate__").loc[y, x].to_numpy()
    if stype == "raster":
        image = ax.pcolormesh(x, y, z, shading="nearest", cmap="viridis")
    else:
        image = ax.contourf(x, y, z, levels=10, cmap="viridis")
    ax.figure.colorbar(image, ax=ax, label=response)
    ax.set_xlabel(effects[0])
    ax.set_ylabel(effects[1])


def _draw_effect(ax, frame: pd.DataFrame, effects: list[str], types: list[str], response: str,
                 points: pd.DataFrame | None, spaghetti: pd.DataFrame | None, mean: bool) -> None:
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
        if numeric and spaghetti is not None:
            curves = spaghetti if len(effects) == 1 else spaghetti[spaghetti["effect2__"].astype(str) == label]
            for _, curve in curves.groupby("sample__", observed=True):
                ax.plot(curve["effect1__"].to_numpy(dtype=float), curve["estimate__"], color=color, lw=0.4,
                        alpha=0.15, zorder=2, label="_nolegend_")
            if mean:
                ax.plot(g["effect1__"].to_numpy(dtype=float), g["estimate__"], color="black" if single else color,
                        lw=1.5, label=label or "_nolegend_", zorder=3)
        elif numeric:
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
