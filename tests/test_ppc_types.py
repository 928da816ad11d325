"""The pp_check types beyond brms's first six: each renders, and what it drew is checked
against the numbers recomputed here from the fit's own predictive draws (same seed)."""

from __future__ import annotations

import warnings

import arviz as az
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection, PolyCollection

import brmc
from brmc.checks import pp_check
from brmc.errors import DataError
from brmc.ppc_panels import density, group_levels
from brmc.predict import posterior_predict

from .conftest import quiet, saves_png

pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def counts() -> brmc.Fit:
    rng = np.random.default_rng(4)
    data = brmc.datasets.load("sleepstudy").assign(n=lambda d: rng.poisson(np.exp(0.2 * d["Days"] / 3)))
    return quiet(brmc.brm, "n ~ Days", data, family="poisson", chains=2, iter=400, seed=2, progress=False)


def _panels(fig):
    return [ax for ax in fig.axes if ax.get_visible()]


def test_dens_overlay_grouped_draws_one_panel_per_level(fit, tmp_path):
    fig = pp_check(fit, type="dens_overlay_grouped", group="Subject", ndraws=3, seed=1)
    saves_png(fig, tmp_path, "dens_grouped")
    levels = group_levels(fit.data["Subject"])
    panels = _panels(fig)
    assert [ax.get_title() for ax in panels] == [str(level) for level in levels] and len(panels) == 18
    y, rows = fit.model_data.y, (fit.data["Subject"] == levels[0]).to_numpy()
    observed = panels[0].get_lines()[-1]
    assert len(panels[0].get_lines()) == 4
    np.testing.assert_allclose(observed.get_ydata(), density(y[rows], observed.get_xdata()))
    with pytest.raises(DataError, match="Argument 'group' is required for ppc type 'dens_overlay_grouped'"):
        pp_check(fit, type="dens_overlay_grouped")
    with pytest.raises(DataError, match="Variable 'Subjct' could not be found in the data"):
        pp_check(fit, type="stat_grouped", group="Subjct")


def test_ecdf_overlay_and_error_hist(fit, tmp_path):
    fig = pp_check(fit, type="ecdf_overlay", seed=2)
    saves_png(fig, tmp_path, "ecdf")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 11
    np.testing.assert_array_equal(lines[-1].get_xdata(), np.sort(fit.model_data.y))
    np.testing.assert_allclose(lines[-1].get_ydata(), np.arange(1, 181) / 180)
    fig = pp_check(fit, type="error_hist", ndraws=4, seed=3, bins=12)
    saves_png(fig, tmp_path, "error_hist")
    yrep = posterior_predict(fit, ndraws=4, seed=3)
    errors = fit.model_data.y - yrep
    edges = np.histogram_bin_edges(errors.ravel(), bins=12)
    for ax, e in zip(_panels(fig), errors):
        np.testing.assert_array_equal([p.get_height() for p in ax.patches], np.histogram(e, edges)[0])


def test_stat_grouped_and_stat_2d(fit, tmp_path):
    fig = pp_check(fit, type="stat_grouped", group="Subject", stat="median", seed=4)
    saves_png(fig, tmp_path, "stat_grouped")
    y, subjects = fit.model_data.y, fit.data["Subject"].to_numpy()
    for ax, level in zip(_panels(fig), group_levels(subjects)):
        (vline,) = ax.get_lines()
        assert vline.get_xdata()[0] == pytest.approx(np.median(y[subjects == level]))
        assert sum(p.get_height() for p in ax.patches) == 400  # every draw by default
    fig = pp_check(fit, type="stat_2d", seed=5)
    saves_png(fig, tmp_path, "stat_2d")
    yrep = posterior_predict(fit, seed=5)
    replicated, observed = fig.axes[0].collections
    np.testing.assert_allclose(replicated.get_offsets(), np.column_stack([yrep.mean(1), yrep.std(1, ddof=1)]))
    np.testing.assert_allclose(observed.get_offsets(), [[y.mean(), y.std(ddof=1)]])
    assert fig.axes[0].get_xlabel() == "mean" and fig.axes[0].get_ylabel() == "sd"
    fig = pp_check(fit, type="stat_2d", stat=("min", "max"), seed=5)
    np.testing.assert_allclose(fig.axes[0].collections[1].get_offsets(), [[y.min(), y.max()]])


def test_intervals_grouped_and_ribbon(fit, tmp_path):
    fig = pp_check(fit, type="intervals_grouped", group="Subject", seed=6)
    saves_png(fig, tmp_path, "intervals_grouped")
    first = _panels(fig)[0]
    outer, inner = [c for c in first.collections if isinstance(c, LineCollection)]
    assert len(outer.get_segments()) == 10  # ten days per subject
    fig = pp_check(fit, type="ribbon", seed=6, prob=0.5, prob_outer=0.8)
    saves_png(fig, tmp_path, "ribbon")
    yrep = posterior_predict(fit, seed=6)
    ax = fig.axes[0]
    outer, inner = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert outer.get_paths()[0].vertices[:, 1].max() == pytest.approx(np.quantile(yrep, 0.9, axis=0).max())
    assert inner.get_paths()[0].vertices[:, 1].max() == pytest.approx(np.quantile(yrep, 0.75, axis=0).max())
    observed = next(ln for ln in ax.get_lines() if ln.get_label() == "$y$")
    np.testing.assert_array_equal(observed.get_ydata(), fit.model_data.y)


def test_scatter_avg_and_violin_grouped(fit, tmp_path):
    fig = pp_check(fit, type="scatter_avg", seed=7)
    saves_png(fig, tmp_path, "scatter_avg")
    yrep = posterior_predict(fit, seed=7)
    (points,) = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), np.column_stack([yrep.mean(axis=0), fit.model_data.y]))
    fig = pp_check(fit, type="violin_grouped", group="Subject", seed=7, y_draw="points")
    saves_png(fig, tmp_path, "violin")
    subjects = fit.data["Subject"].to_numpy()
    level = group_levels(subjects)[0]
    ax = _panels(fig)[0]
    body = next(c for c in ax.collections if isinstance(c, PolyCollection))
    extent = body.get_paths()[0].vertices[:, 1]
    pooled = yrep[:, subjects == level]
    assert extent.min() == pytest.approx(pooled.min()) and extent.max() == pytest.approx(pooled.max())
    (observed,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(observed.get_offsets()[:, 1], fit.model_data.y[subjects == level])


def test_bars_grouped_and_rootogram_count(counts, tmp_path):
    y = counts.model_data.y
    fig = pp_check(counts, type="bars_grouped", group="Days", seed=8)
    saves_png(fig, tmp_path, "bars_grouped")
    days = counts.data["Days"].to_numpy()
    for ax, level in zip(_panels(fig), group_levels(days)):
        values, n = np.unique(y[days == level], return_counts=True)
        heights = {round(p.get_x() + p.get_width() / 2): p.get_height() for p in ax.patches}
        assert all(heights[int(v)] == c for v, c in zip(values, n))
    fig = pp_check(counts, type="rootogram", seed=9)
    saves_png(fig, tmp_path, "rootogram")
    yrep = posterior_predict(counts, seed=9)
    x = np.arange(0, int(max(y.max(), yrep.max())) + 1)
    ax = fig.axes[0]
    np.testing.assert_allclose([p.get_height() for p in ax.patches], np.sqrt((y[:, None] == x).sum(axis=0)))
    (expected,) = ax.get_lines()
    np.testing.assert_allclose(expected.get_ydata(), np.sqrt((yrep[:, :, None] == x).sum(axis=1).mean(axis=0)))
    for style in ("hanging", "suspended"):
        saves_png(pp_check(counts, type="rootogram", style=style, seed=9), tmp_path, style)
    with pytest.raises(DataError, match="style must be"):
        pp_check(counts, type="rootogram", style="sideways")


def test_rootogram_needs_counts(fit):
    with pytest.raises(DataError, match="discrete"):
        pp_check(fit, type="rootogram")


def test_loo_pit_overlay_against_arviz_weights(fit, tmp_path):
    fig = pp_check(fit, type="loo_pit_overlay", seed=10)
    saves_png(fig, tmp_path, "loo_pit")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 101 and lines[-1].get_label() == "LOO-PIT"
    # the LOO-PIT values from ArviZ's own PSIS weights (one r_eff for all rows)
    yrep = posterior_predict(fit, seed=10)
    ll = fit.log_likelihood().values.reshape(400, -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lw, _ = az.psislw(-ll.T)
    pit = np.sum(np.exp(lw.T) * (yrep <= fit.model_data.y), axis=0)
    drawn = lines[-1]
    assert np.corrcoef(drawn.get_ydata(), density(pit, drawn.get_xdata()))[0, 1] > 0.99
    with pytest.raises(DataError, match="leave ndraws unset"):
        pp_check(fit, type="loo_pit_overlay", ndraws=10)
