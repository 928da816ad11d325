"""Plots: what each figure draws, checked against the draws and the data directly."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402

import brmc  # noqa: E402
from brmc import plots  # noqa: E402
from brmc.errors import DataError  # noqa: E402

from .conftest import saves_png  # noqa: E402

SLEEP_DEFAULTS = ["b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days",
                  "cor_Subject__Intercept__Days", "sigma"]


def _fit(formula: str, data: str, family: str = "gaussian") -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(formula, brmc.datasets.load(data), family, chains=2, iter=400, seed=7, progress=False)


@pytest.fixture(scope="module")
def sleep() -> brmc.Fit:
    return _fit("Reaction ~ Days + (Days | Subject)", "sleepstudy")


@pytest.fixture(scope="module")
def gcse() -> brmc.Fit:
    return _fit("course ~ 1 + (1 | school)", "gcse")


def _line(ax, label: str):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def _titles(figs) -> list[str]:
    return [row[0].get_title() for fig in figs for row in np.reshape(fig.axes, (-1, 2))]


def test_default_plot_is_brms_parameters_in_rows_of_five(sleep: brmc.Fit, tmp_path) -> None:
    figs = plots.plot(sleep)
    assert len(figs) == 2
    assert [len(f.axes) for f in figs] == [10, 2]
    assert _titles(figs) == SLEEP_DEFAULTS
    draws = sleep.draws()
    for fig in figs:
        saves_png(fig, tmp_path, f"combo{figs.index(fig)}")
        assert [t.get_text() for t in fig.legends[0].get_texts()] == ["1", "2"]
        for dens, trace in np.reshape(fig.axes, (-1, 2)):
            name = trace.get_title()
            assert dens.get_title() == name
            # right: one trace per chain, the chain's draws in order
            assert len(trace.get_lines()) == 2
            for chain, line in enumerate(trace.get_lines(), start=1):
                np.testing.assert_array_equal(line.get_ydata(), draws.loc[draws[".chain"] == chain, name])
                np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 201))
            # left: one density of all chains (outline + fill) that integrates to one over the draws
            (outline,) = dens.get_lines()
            assert sum(isinstance(c, PolyCollection) for c in dens.collections) == 1
            x, y = outline.get_xdata(), outline.get_ydata()
            assert np.trapezoid(y, x) == pytest.approx(1, abs=0.02)
            step = x[1] - x[0]  # the grid spans the draws, to within a grid step
            assert x.min() <= draws[name].min() + step and x.max() >= draws[name].max() - step
            assert draws[name].quantile(0.1) < x[np.argmax(y)] < draws[name].quantile(0.9)


def test_plot_variable_names_and_regex(sleep: brmc.Fit) -> None:
    (fig,) = plots.plot(sleep, variable=["b_Days"])
    assert len(fig.axes) == 2 and _titles([fig]) == ["b_Days"]
    (fig,) = plots.plot(sleep, variable="^sd_", regex=True)
    assert _titles([fig]) == ["sd_Subject__Intercept", "sd_Subject__Days"]
    (fig,) = plots.plot(sleep, variable=[r"^r_Subject\[30[89],", "^sigma$"], regex=True)
    assert _titles([fig]) == ["r_Subject[308,Intercept]", "r_Subject[309,Intercept]",
                              "r_Subject[308,Days]", "r_Subject[309,Days]", "sigma"]
    figs = plots.plot(sleep, N=2)
    assert [len(f.axes) for f in figs] == [4, 4, 4] and _titles(figs) == SLEEP_DEFAULTS


def test_plot_other_combo_kinds(sleep: brmc.Fit) -> None:
    (fig,) = plots.plot(sleep, variable="sigma", combo=("hist", "dens_overlay", "trace"))
    hist, overlay, trace = fig.axes
    assert len(hist.patches) == 30
    assert sum(p.get_height() for p in hist.patches) == 400
    assert len(overlay.get_lines()) == 2 and len(trace.get_lines()) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"variable": "b_Dayz"}, "'b_Days'"),
    ({"variable": ["sigma", "sigam"]}, "'sigam'"),
    ({"variable": "^nothing", "regex": True}, "No valid variables"),
    ({"variable": "b_(", "regex": True}, "regular expression"),
    ({"N": 0}, "positive integer"),
    ({"combo": ("dens", "violin")}, "violin"),
])
def test_plot_refuses_bad_arguments(sleep: brmc.Fit, kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        plots.plot(sleep, **kwargs)


def _draw_summary(fit: brmc.Fit, group: str, coef: str, probs=(0.025, 0.975)) -> dict[str, tuple]:
    """level → (mean, lower, upper) of r_<group>[level,coef], straight from the draws."""
    draws = fit.draws()
    prefix, suffix = f"r_{group}[", f",{coef}]"
    return {c[len(prefix):-len(suffix)]: (draws[c].mean(), *np.quantile(draws[c], probs))
            for c in draws.columns if c.startswith(prefix) and c.endswith(suffix)}


def test_plot_ranef_caterpillar(sleep: brmc.Fit, tmp_path) -> None:
    fig = plots.plot_ranef(sleep)
    saves_png(fig, tmp_path, "ranef")
    assert [ax.get_title() for ax in fig.axes] == ["Subject: Intercept", "Subject: Days"]
    for ax, coef in zip(fig.axes, ["Intercept", "Days"]):
        expected = _draw_summary(sleep, "Subject", coef)
        (intervals,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        segments = intervals.get_segments()
        assert len(segments) == 18
        points = _line(ax, "Estimate")
        levels = [t.get_text() for t in ax.get_yticklabels()]
        assert sorted(levels) == sorted(expected)
        means = np.array([expected[lv][0] for lv in levels])
        assert np.all(np.diff(means) > 0)  # sorted by mean
        np.testing.assert_allclose(points.get_xdata(), means)
        np.testing.assert_allclose([s[:, 0] for s in segments], [expected[lv][1:] for lv in levels])


def test_plot_ranef_selection_and_probs(sleep: brmc.Fit) -> None:
    fig = plots.plot_ranef(sleep, coef="Days", probs=(0.1, 0.9))
    (ax,) = fig.axes
    expected = _draw_summary(sleep, "Subject", "Days", probs=(0.1, 0.9))
    levels = [t.get_text() for t in ax.get_yticklabels()]
    (intervals,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    np.testing.assert_allclose([s[:, 0] for s in intervals.get_segments()], [expected[lv][1:] for lv in levels])
    with pytest.raises(DataError, match="'Subject'"):
        plots.plot_ranef(sleep, group="Subjects")
    with pytest.raises(DataError, match="'Days'"):
        plots.plot_ranef(sleep, coef="Dayz")


def _shown(ax) -> tuple[list[str], list[int]]:
    labels = [t.get_text().split("\n") for t in ax.get_xticklabels()]
    return [lv for lv, _ in labels], [int(n[3:-1]) for _, n in labels]


def test_plot_shrinkage_gcse_against_group_means(gcse: brmc.Fit, tmp_path) -> None:
    data = brmc.datasets.load("gcse")
    by_school = data.assign(school=data["school"].astype(str)).groupby("school")["course"]
    fig = plots.plot_shrinkage(gcse)
    saves_png(fig, tmp_path, "shrinkage")
    (ax,) = fig.axes
    levels, n = _shown(ax)
    assert sorted(levels) == sorted(by_school.groups) and len(levels) == 73
    assert n == by_school.size()[levels].tolist() and n == sorted(n)
    no_pool, partial = _line(ax, "no pooling"), _line(ax, "partial pooling (mean, 95% CI)")
    np.testing.assert_allclose(no_pool.get_ydata(), by_school.mean()[levels])
    draws = gcse.draws()
    expected = [(draws["b_Intercept"] + draws[f"r_school[{lv},Intercept]"]).mean() for lv in levels]
    np.testing.assert_allclose(partial.get_ydata(), expected)
    assert _line(ax, "complete pooling").get_ydata()[0] == pytest.approx(data["course"].mean())
    assert _line(ax, "population mean (b_Intercept)").get_ydata()[0] == pytest.approx(draws["b_Intercept"].mean())
    assert len(ax.texts) == 73  # one arrow per school
    assert ax.get_ylabel() == "Intercept (course)"


def test_plot_shrinkage_binomial_with_trials_on_the_probability_scale(tmp_path) -> None:
    rats = brmc.datasets.load("rats")
    fit = _fit("m | trials(n) ~ 1 + (1 | batch)", "rats", "binomial")
    fig = plots.plot_shrinkage(fit, order="estimate")
    saves_png(fig, tmp_path, "shrinkage_rats")
    (ax,) = fig.axes
    levels, n = _shown(ax)
    by_batch = rats.assign(batch=rats["batch"].astype(str)).set_index("batch")
    assert len(levels) == 71 and n == by_batch.loc[levels, "n"].tolist()  # labelled by trials
    raw = (by_batch["m"] / by_batch["n"])[levels].to_numpy()
    no_pool = _line(ax, "no pooling").get_ydata()
    np.testing.assert_allclose(no_pool, raw)  # m / n, zero counts included (at 0, not missing)
    assert (no_pool == 0).sum() == (rats["m"] == 0).sum() > 0 and list(no_pool) == sorted(no_pool)
    draws = fit.draws()
    inv_logit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    expected = [inv_logit(draws["b_Intercept"] + draws[f"r_batch[{lv},Intercept]"]).mean() for lv in levels]
    np.testing.assert_allclose(_line(ax, "partial pooling (mean, 95% CI)").get_ydata(), expected)
    assert _line(ax, "complete pooling").get_ydata()[0] == pytest.approx(rats["m"].sum() / rats["n"].sum())
    population = _line(ax, "population: inverse logit of b_Intercept").get_ydata()[0]
    assert population == pytest.approx(inv_logit(draws["b_Intercept"]).mean())
    assert ax.get_ylabel() == "Intercept as a proportion (m / n)"
    (linear,) = plots.plot_shrinkage(fit, scale="linear").axes
    assert np.isnan(_line(linear, "no pooling").get_ydata()).sum() == (rats["m"] == 0).sum()
    with pytest.raises(DataError, match="scale"):
        plots.plot_shrinkage(fit, scale="logit")


def test_plot_shrinkage_subset_and_order(gcse: brmc.Fit) -> None:
    data = brmc.datasets.load("gcse")
    means = data.assign(school=data["school"].astype(str)).groupby("school")["course"].mean()
    (ax,) = plots.plot_shrinkage(gcse, n_groups=8, seed=3, order="estimate").axes
    levels, _ = _shown(ax)
    assert len(levels) == 8 and len(set(levels)) == 8
    assert len(_line(ax, "no pooling").get_xdata()) == 8
    assert len(_line(ax, "partial pooling (mean, 95% CI)").get_xdata()) == 8
    np.testing.assert_allclose(_line(ax, "no pooling").get_ydata(), np.sort(means[levels]))
    assert _shown(plots.plot_shrinkage(gcse, n_groups=8, seed=3).axes[0])[0] != levels  # other order
    assert sorted(_shown(plots.plot_shrinkage(gcse, n_groups=8, seed=3).axes[0])[0]) == sorted(levels)


def test_plot_shrinkage_of_slopes_uses_per_group_least_squares(sleep: brmc.Fit) -> None:
    data = brmc.datasets.load("sleepstudy")
    slopes = {str(s): np.polyfit(d["Days"], d["Reaction"], 1)[0] for s, d in data.groupby("Subject", observed=True)}
    (ax,) = plots.plot_shrinkage(sleep, coef="Days").axes
    levels, n = _shown(ax)
    assert n == [10] * 18
    np.testing.assert_allclose(_line(ax, "no pooling").get_ydata(), [slopes[lv] for lv in levels])
    pooled_slope = np.polyfit(data["Days"], data["Reaction"], 1)[0]
    assert _line(ax, "complete pooling").get_ydata()[0] == pytest.approx(pooled_slope)
    with pytest.raises(DataError, match="'Subject'"):
        plots.plot_shrinkage(sleep, group="Subjekt")
    with pytest.raises(DataError, match="'Days'"):
        plots.plot_shrinkage(sleep, coef="Dayz")


pytestmark = pytest.mark.usefixtures("close_figures")
