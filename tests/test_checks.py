"""pp_check and conditional_effects: what each figure draws and the numbers behind it,
checked against brms's reference files and against direct computations from the draws.

Monte Carlo tolerances against brms (4 × 1000 draws) for these fits (2 × 200
draws, bulk ESS of the population effects ≈ 100-130): posterior medians within
0.25 × se__ (the MCSE of a median is ≈ 1.25 sd / √ESS ≈ 0.12 sd), MAD-based se__
within 25 %, 2.5 % and 97.5 % quantiles within 0.8 × se__ (their MCSE is ≈ 0.27 sd).
"""

from __future__ import annotations

import types
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection, PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402
from scipy.stats import gaussian_kde  # noqa: E402

import brmc  # noqa: E402
from brmc import checks  # noqa: E402
from brmc.checks import pp_check  # noqa: E402
from brmc.conditional import conditional_effects  # noqa: E402
from brmc.errors import DataError  # noqa: E402
from brmc.predict import posterior_predict  # noqa: E402

from .conftest import reference_path, saves_png  # noqa: E402

EPILEPSY = "count ~ zBase * Trt + (1 | patient)"
TOL_EST, TOL_SE, TOL_Q = 0.25, 0.25, 0.8


def _fit(formula: str, data: str, **kwargs) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(formula, brmc.datasets.load(data), chains=2, iter=400, seed=7, progress=False, **kwargs)


@pytest.fixture(scope="module")
def gcse() -> brmc.Fit:
    return _fit("course ~ 1 + female + (1 + female | school)", "gcse")


@pytest.fixture(scope="module")
def epilepsy() -> brmc.Fit:
    return _fit(EPILEPSY, "epilepsy", family="poisson")


@pytest.fixture(scope="module")
def prior_only() -> brmc.Fit:
    # tight priors: numpy refuses Poisson means above ~1e19, which wide priors reach
    priors = [brmc.prior("normal(0, 0.5)", class_="b"), brmc.prior("normal(1, 0.5)", class_="Intercept"),
              brmc.prior("normal(0, 0.5)", class_="sd")]
    return _fit(EPILEPSY, "epilepsy", family="poisson", prior=priors, sample_prior="only")


def _reference(model: str, effect: str) -> pd.DataFrame:
    return pd.read_csv(reference_path(model, "post", f"conditional_effects_{effect}.csv"))


def _robust(draws: np.ndarray) -> dict[str, np.ndarray]:
    """brms's posterior_summary(robust = TRUE), written out: median, R's mad, quantiles."""
    med = np.median(draws, axis=0)
    return {"estimate__": med, "se__": 1.4826 * np.median(np.abs(draws - med), axis=0),
            "lower__": np.quantile(draws, 0.025, axis=0), "upper__": np.quantile(draws, 0.975, axis=0)}


def _against_brms(ours: pd.DataFrame, ref: pd.DataFrame) -> None:
    se = ref["se__"].to_numpy()
    assert np.all(np.abs(ours["estimate__"].to_numpy() - ref["estimate__"].to_numpy()) < TOL_EST * se)
    assert np.all(np.abs(ours["se__"].to_numpy() / se - 1) < TOL_SE)
    for col in ("lower__", "upper__"):
        assert np.all(np.abs(ours[col].to_numpy() - ref[col].to_numpy()) < TOL_Q * se)


def _nrd0(x: np.ndarray) -> float:
    """R's bw.nrd0 (0.9 min(sd, IQR / 1.34) n^-1/5), for the independent density."""
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    return 0.9 * min(np.std(x, ddof=1), iqr / 1.34) * len(x) ** -0.2


# ---------------------------------------------------------------- conditional_effects: numbers


def test_days_effect_matches_brms(fit):
    ce = conditional_effects(fit)
    ref = _reference("sleepstudy_slopes", "Days")
    assert list(ce.data) == ["Days"]
    ours = ce.data["Days"]
    assert list(ours.columns) == list(ref.columns)  # brms's columns, in brms's order
    np.testing.assert_allclose(ours["Days"], ref["Days"], atol=1e-12)  # 100 points from 0 to 9
    np.testing.assert_allclose(ours["effect1__"], ref["effect1__"], atol=1e-12)
    np.testing.assert_allclose(ours["Reaction"], ref["Reaction"], rtol=1e-12)  # the response at its mean
    assert ours["Subject"].isna().all() and ref["Subject"].isna().all()
    _against_brms(ours, ref)


def test_days_effect_is_the_population_curve(fit):
    draws = fit.draws()
    days = np.linspace(0, 9, 100)
    mu = draws["b_Intercept"].to_numpy()[:, None] + draws["b_Days"].to_numpy()[:, None] * days
    ours = conditional_effects(fit, "Days").data["Days"]
    for col, expected in _robust(mu).items():
        np.testing.assert_allclose(ours[col], expected, rtol=1e-10)
    plain = conditional_effects(fit, "Days", robust=False, probs=(0.1, 0.9)).data["Days"]
    np.testing.assert_allclose(plain["estimate__"], mu.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(plain["se__"], mu.std(axis=0, ddof=1), rtol=1e-10)
    np.testing.assert_allclose(plain["lower__"], np.quantile(mu, 0.1, axis=0), rtol=1e-10)
    small = conditional_effects(fit, "Days", resolution=4).data["Days"]
    np.testing.assert_allclose(small["Days"], [0, 3, 6, 9])


def test_group_effects_included_on_request_widen_the_band(fit):
    population = conditional_effects(fit).data["Days"]
    with_groups = conditional_effects(fit, re_formula=None, seed=3).data["Days"]
    # a new Subject adds the between-subject spread (sd_Subject__Intercept ≈ 25 ms) to every point
    assert np.all(with_groups["se__"] > 2 * population["se__"])
    assert with_groups["Subject"].isna().all()


def test_categorical_effect_matches_brms(gcse):
    ours = conditional_effects(gcse).data["female"]
    ref = _reference("gcse_m3", "female")
    assert list(ours.columns) == list(ref.columns)
    assert list(ours["female"].astype(str)) == list(ref["female"]) == ["M", "F"]  # data's level order
    np.testing.assert_allclose(ours["course"], ref["course"], rtol=1e-12)  # mean of the 1725 complete rows
    _against_brms(ours, ref)
    draws = gcse.draws()
    mu = np.column_stack([draws["b_Intercept"], draws["b_Intercept"] + draws["b_femaleF"]])
    for col, expected in _robust(mu).items():
        np.testing.assert_allclose(ours[col], expected, rtol=1e-10)


def test_default_effects_include_the_interaction_numeric_first(epilepsy):
    ce = conditional_effects(epilepsy)
    assert list(ce.data) == ["zBase", "Trt", "zBase:Trt"]
    frame = ce.data["zBase:Trt"]
    z = np.linspace(epilepsy.data["zBase"].min(), epilepsy.data["zBase"].max(), 100)
    np.testing.assert_allclose(frame["zBase"], np.repeat(z, 2))  # zBase outer, Trt inner (brms's order)
    assert list(frame["Trt"].astype(str)[:4]) == ["0", "1", "0", "1"]
    draws = epilepsy.draws()
    b = {k: draws[f"b_{k}"].to_numpy()[:, None] for k in ("Intercept", "zBase", "Trt1", "zBase:Trt1")}
    trt = (frame["Trt"].astype(str) == "1").to_numpy(dtype=float)
    zz = frame["zBase"].to_numpy()
    mu = np.exp(b["Intercept"] + b["zBase"] * zz + b["Trt1"] * trt + b["zBase:Trt1"] * zz * trt)
    for col, expected in _robust(mu).items():
        np.testing.assert_allclose(frame[col], expected, rtol=1e-8)
    # the other predictor held at the reference level / mean, the grouping factor left NA
    assert set(ce.data["zBase"]["Trt"].astype(str)) == {"0"}
    np.testing.assert_allclose(ce.data["Trt"]["zBase"], epilepsy.data["zBase"].mean())
    assert ce.data["Trt"]["patient"].isna().all()


def test_numeric_moderator_at_mean_and_one_sd(epilepsy):
    frame = conditional_effects(epilepsy, "Trt:zBase").data["Trt:zBase"]
    z = epilepsy.data["zBase"]
    moderator = z.mean() + np.array([-1.0, 0.0, 1.0]) * z.std(ddof=1)
    np.testing.assert_allclose(frame["zBase"], np.tile(moderator, 2))
    assert list(frame["effect2__"].cat.categories) == sorted(np.round(moderator, 2), reverse=True)
    assert list(frame["effect1__"].astype(str)) == ["0"] * 3 + ["1"] * 3


def test_effects_are_checked(fit, epilepsy):
    with pytest.raises(DataError, match="Did you mean 'Days'"):
        conditional_effects(fit, "Dayz")
    with pytest.raises(DataError, match="higher than 2"):
        conditional_effects(epilepsy, "zBase:Trt:patient")
    with pytest.raises(DataError, match="probs"):
        conditional_effects(fit, probs=(0.9, 0.1))
    with pytest.raises(DataError, match="method"):
        conditional_effects(fit, method="fitted")
    with pytest.raises(DataError, match="ordinal"):
        conditional_effects(fit, categorical=True)


# ---------------------------------------------------------------- conditional_effects: plots


def test_numeric_effect_plot_draws_line_band_and_points(fit, tmp_path):
    ce = conditional_effects(fit)
    (fig,) = ce.plot(points=True)
    saves_png(fig, tmp_path, "ce_days")
    ax = fig.axes[0]
    frame = ce.data["Days"]
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), frame["Days"])
    np.testing.assert_allclose(line.get_ydata(), frame["estimate__"])
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    ys = band.get_paths()[0].vertices[:, 1]
    assert np.isclose(ys.min(), frame["lower__"].min()) and np.isclose(ys.max(), frame["upper__"].max())
    (scatter,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(scatter.get_offsets(), fit.data[["Days", "Reaction"]].to_numpy(dtype=float))
    assert ax.get_xlabel() == "Days" and ax.get_ylabel() == "Reaction"
    (plain,) = ce.plot()
    assert not [c for c in plain.axes[0].collections if isinstance(c, PathCollection)]


def test_categorical_effect_plot_draws_points_with_error_bars(gcse, tmp_path):
    ce = conditional_effects(gcse)
    (fig,) = ce.plot()
    saves_png(fig, tmp_path, "ce_female")
    ax = fig.axes[0]
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    frame = ce.data["female"]
    np.testing.assert_allclose(bars.lines[0].get_ydata(), frame["estimate__"])
    (segments,) = bars.lines[2]
    np.testing.assert_allclose([s[:, 1] for s in segments.get_segments()], frame[["lower__", "upper__"]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["M", "F"]


def test_interaction_plots_one_curve_per_moderator_value(epilepsy, tmp_path):
    ce = conditional_effects(epilepsy)
    figs = ce.plot(points=True)
    assert len(figs) == 3
    for fig, name in zip(figs, ce.data):
        saves_png(fig, tmp_path, name.replace(":", "_"))
    ax = figs[2].axes[0]
    assert len(ax.get_lines()) == 2  # Trt 0 and 1
    assert len([c for c in ax.collections if isinstance(c, PolyCollection)]) == 2
    assert ax.get_legend().get_title().get_text() == "Trt"
    (scatter,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(scatter.get_offsets()) == epilepsy.nobs  # no other factor to condition the points on
    (fig,) = conditional_effects(epilepsy, "Trt:zBase").plot()
    bars = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 3 and all(len(b.lines[0].get_xdata()) == 2 for b in bars)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["1", "0", "-1"]


def test_points_keep_only_rows_at_the_reference_level(epilepsy):
    ce = conditional_effects(epilepsy, "zBase")
    (fig,) = ce.plot(points=True)
    (scatter,) = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    control = epilepsy.data[epilepsy.data["Trt"].astype(str) == "0"]
    np.testing.assert_allclose(scatter.get_offsets(), control[["zBase", "count"]].to_numpy(dtype=float))


# ---------------------------------------------------------------- pp_check


def test_dens_overlay_draws_ndraws_plus_observed_densities(fit, tmp_path):
    fig = pp_check(fit, seed=4)
    saves_png(fig, tmp_path, "dens_overlay")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 10 + 1  # brms's default of 10 draws
    y = fit.model_data.y
    yrep = posterior_predict(fit, ndraws=10, seed=4)
    grid = lines[-1].get_xdata()
    assert np.isclose(grid.min(), min(y.min(), yrep.min())) and np.isclose(grid.max(), max(y.max(), yrep.max()))
    observed = lines[-1]
    assert observed.get_linewidth() > 2 * lines[0].get_linewidth()
    kde = gaussian_kde(y, bw_method=_nrd0(y) / np.std(y, ddof=1))
    np.testing.assert_allclose(observed.get_ydata(), kde(grid), rtol=1e-8)
    for line, draw in zip(lines[:-1], yrep):
        kde = gaussian_kde(draw, bw_method=_nrd0(draw) / np.std(draw, ddof=1))
        np.testing.assert_allclose(line.get_ydata(), kde(grid), rtol=1e-8)
    assert len(pp_check(fit, ndraws=3, seed=1).axes[0].get_lines()) == 4


def test_hist_shows_observed_then_replicated_histograms(fit, tmp_path):
    fig = pp_check(fit, type="hist", ndraws=5, seed=2, bins=20)
    saves_png(fig, tmp_path, "hist")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 6
    y = fit.model_data.y
    yrep = posterior_predict(fit, ndraws=5, seed=2)
    edges = np.histogram_bin_edges(np.concatenate([y, yrep.ravel()]), bins=20)
    for ax, values in zip(panels, [y, *yrep]):
        heights = [p.get_height() for p in ax.patches]
        np.testing.assert_array_equal(heights, np.histogram(values, bins=edges)[0])


@pytest.mark.parametrize("stat, fun", [("mean", np.mean), ("sd", lambda x: np.std(x, ddof=1)),
                                       ("max", np.max)])
def test_stat_marks_the_observed_statistic(fit, tmp_path, stat, fun):
    fig = pp_check(fit, type="stat", stat=stat, seed=5)
    saves_png(fig, tmp_path, f"stat_{stat}")
    ax = fig.axes[0]
    (vline,) = ax.get_lines()
    assert vline.get_xdata()[0] == vline.get_xdata()[1] == pytest.approx(fun(fit.model_data.y))
    yrep = posterior_predict(fit, seed=5)  # every draw, as brms for type "stat"
    assert sum(p.get_height() for p in ax.patches) == len(yrep) == 400
    t_rep = np.apply_along_axis(fun, 1, yrep)
    lefts = [p.get_x() for p in ax.patches]
    assert min(lefts) == pytest.approx(t_rep.min())


def test_stat_accepts_a_function_and_refuses_unknown_names(fit):
    def q90(x):
        return np.quantile(x, 0.9)

    fig = pp_check(fit, type="stat", stat=q90, ndraws=50, seed=1)
    assert fig.axes[0].get_lines()[0].get_xdata()[0] == pytest.approx(np.quantile(fit.model_data.y, 0.9))
    assert fig.axes[0].get_legend().get_title().get_text() == "T = q90"
    with pytest.raises(DataError, match="stat must be one of mean, median, sd, min, max"):
        pp_check(fit, type="stat", stat="variance")


def test_intervals_show_50_and_90_percent_predictive_intervals(fit, tmp_path):
    fig = pp_check(fit, type="intervals", seed=6)
    saves_png(fig, tmp_path, "intervals")
    ax = fig.axes[0]
    outer, inner = [c for c in ax.collections if isinstance(c, LineCollection)]
    yrep = posterior_predict(fit, seed=6)
    for coll, (lo, hi) in ((outer, (0.05, 0.95)), (inner, (0.25, 0.75))):
        segs = np.array(coll.get_segments())
        np.testing.assert_allclose(segs[:, 0, 0], np.arange(1, fit.nobs + 1))
        np.testing.assert_allclose(segs[:, 0, 1], np.quantile(yrep, lo, axis=0))
        np.testing.assert_allclose(segs[:, 1, 1], np.quantile(yrep, hi, axis=0))
    observed = [ln for ln in ax.get_lines() if ln.get_label() == "$y$"][0]
    np.testing.assert_allclose(observed.get_ydata(), fit.model_data.y)


def test_bars_count_observed_and_replicated_values(epilepsy, tmp_path):
    fig = pp_check(epilepsy, type="bars", seed=8)
    saves_png(fig, tmp_path, "bars")
    ax = fig.axes[0]
    y = epilepsy.model_data.y
    yrep = posterior_predict(epilepsy, ndraws=10, seed=8)
    values = np.union1d(y, yrep)
    assert len(ax.patches) == len(values)
    observed = {v: c for v, c in zip(*np.unique(y, return_counts=True))}
    np.testing.assert_array_equal([p.get_height() for p in ax.patches], [observed.get(v, 0) for v in values])
    np.testing.assert_allclose([p.get_x() + p.get_width() / 2 for p in ax.patches], values)
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    counts = (yrep[:, :, None] == values).sum(axis=1)
    np.testing.assert_allclose(bars.lines[0].get_ydata(), np.median(counts, axis=0))
    with pytest.raises(DataError, match="discrete"):
        checks.ppc_bars_data(np.array([0.5, 1.0]), np.array([[1.0, 2.0]]))


def test_bars_on_ordinal_responses_count_categories_from_one(monkeypatch):
    """Ordinal y is stored 0-based; posterior_predict gives categories 1..K."""
    yrep = np.array([[1, 2, 3, 3], [1, 1, 2, 3], [2, 2, 2, 3]], dtype=float)
    monkeypatch.setattr(checks, "posterior_predict", lambda fit, **kw: yrep[: kw["ndraws"]])
    family = brmc.get_family("cumulative")
    stub = types.SimpleNamespace(model_data=types.SimpleNamespace(y=np.array([0.0, 0.0, 1.0, 2.0]), family=family,
                                                                  additions={}),
                                 settings=types.SimpleNamespace(sample_prior="no"))
    ax = pp_check(stub, type="bars", ndraws=3).axes[0]
    assert [p.get_x() + p.get_width() / 2 for p in ax.patches] == pytest.approx([1, 2, 3])
    assert [p.get_height() for p in ax.patches] == [2, 1, 1]


def test_error_scatter_avg_plots_y_against_average_error(fit, tmp_path):
    fig = pp_check(fit, type="error_scatter_avg", seed=9)
    saves_png(fig, tmp_path, "error_scatter_avg")
    (points,) = fig.axes[0].collections
    y = fit.model_data.y
    yrep = posterior_predict(fit, seed=9)
    np.testing.assert_allclose(points.get_offsets(), np.column_stack([y - yrep.mean(axis=0), y]))
    assert fig.axes[0].get_xlabel() == "Average predictive error"


def test_unknown_types_and_arguments_are_refused(fit):
    with pytest.raises(DataError, match="Valid types are: dens_overlay, dens_overlay_grouped, ecdf_overlay, "
                                        "hist, error_hist, stat, stat_grouped, stat_2d, intervals, "
                                        "intervals_grouped, ribbon, bars, bars_grouped, violin_grouped, "
                                        "scatter_avg, error_scatter_avg, rootogram, loo_pit_overlay") as err:
        pp_check(fit, type="dens_overlya")
    assert "Did you mean 'dens_overlay'" in str(err.value)
    with pytest.raises(DataError, match="does not take 'bins'"):
        pp_check(fit, type="intervals", bins=3)
    with pytest.raises(DataError, match="ndraws"):
        pp_check(fit, ndraws=0)
    with pytest.raises(DataError, match="discrete"):
        pp_check(fit, type="bars")  # a gaussian response has no counts


def test_prior_predictive_checks_of_a_prior_only_fit(prior_only, epilepsy, tmp_path):
    fig = pp_check(prior_only, seed=1)
    saves_png(fig, tmp_path, "prior_dens_overlay")
    assert len(fig.axes[0].get_lines()) == 11
    assert fig._suptitle.get_text() == "Prior predictive check"
    assert pp_check(epilepsy, seed=1)._suptitle is None
    fig = pp_check(prior_only, type="stat", seed=1)
    saves_png(fig, tmp_path, "prior_stat")
    ax = fig.axes[0]
    assert sum(p.get_height() for p in ax.patches) == 400  # every prior draw
    assert ax.get_lines()[0].get_xdata()[0] == pytest.approx(prior_only.model_data.y.mean())


pytestmark = pytest.mark.usefixtures("close_figures")
