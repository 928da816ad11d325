"""Marginal effects (marginaleffects' and emmeans' definitions) checked against computations
written here from the draws of ``b_`` and ``r_`` and a design matrix built by hand.

R is not available, so there are no marginaleffects outputs to compare with: each test
derives the quantity from its definition (an average comparison is the per-draw mean over
rows of the per-row differences; a slope is the analytic derivative; an estimated marginal
mean is the equal-weight average over emmeans' reference grid) and checks the draws, then
that the summary is the posterior median and the equal-tailed (emmeans: HPD) interval.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy.special import expit

import brmc
from brmc.errors import DataError

from .conftest import quiet

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def logit_data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 150
    data = pd.DataFrame({"x": rng.normal(0, 1, n), "f": rng.choice(["a", "b", "c"], n),
                         "g": rng.choice(["lo", "hi"], n)})
    eta = -0.3 + 0.8 * data.x + 0.5 * (data.f == "b") - 0.7 * (data.f == "c") + (0.4 + 0.5 * data.x) * (data.g == "lo")
    data["y"] = rng.binomial(1, expit(eta))
    return data


@pytest.fixture(scope="module")
def logit_fit(logit_data: pd.DataFrame) -> brmc.Fit:
    return quiet(brmc.brm, "y ~ x * g + f", logit_data, family="bernoulli", chains=2, iter=400, seed=3,
                 progress=False)


B_NAMES = ["b_Intercept", "b_x", "b_glo", "b_fb", "b_fc", "b_x:glo"]


def design(data: pd.DataFrame) -> np.ndarray:
    """The design of ``y ~ x * g + f`` with R's treatment contrasts (reference levels hi and a)."""
    glo = (data.g == "lo").to_numpy(float)
    return np.column_stack([np.ones(len(data)), data.x, glo, data.f == "b", data.f == "c", data.x * glo]).astype(float)


def eta(fit: brmc.Fit, data: pd.DataFrame) -> np.ndarray:
    """Linear predictor (draws, rows) from the ``b_`` draws."""
    return fit.draws()[B_NAMES].to_numpy() @ design(data).T


def check_summary(result: pd.DataFrame, draws: np.ndarray) -> None:
    """``estimate`` is the posterior median and the interval the equal-tailed 95 % one."""
    assert np.allclose(result["estimate"], np.median(draws, axis=0))
    assert np.allclose(result["conf.low"], np.quantile(draws, 0.025, axis=0))
    assert np.allclose(result["conf.high"], np.quantile(draws, 0.975, axis=0))


# --- sleepstudy: Reaction ~ Days + (Days | Subject), identity link -------------------------------

def test_average_comparison_of_days_without_group_effects_is_b_days(fit: brmc.Fit) -> None:
    result = brmc.avg_comparisons(fit, variables="Days", re_formula=False)
    b_days = fit.draws()["b_Days"].to_numpy()
    assert result[["term", "contrast"]].values.tolist() == [["Days", "+1"]]
    assert np.allclose(result.draws(shape="DxP")[:, 0], b_days, atol=1e-9)
    check_summary(result, b_days[:, None])


def test_comparisons_add_each_subjects_slope(fit: brmc.Fit) -> None:
    """With the group-level terms (marginaleffects' default re_formula=NULL) each row's +1
    comparison is b_Days + r_Subject[subject, Days]; their average per draw is the average."""
    draws = fit.draws()
    subjects = fit.data["Subject"].astype(str)
    per_row = np.column_stack([draws["b_Days"] + draws[f"r_Subject[{s},Days]"] for s in subjects])
    rows = brmc.comparisons(fit, variables="Days")
    assert len(rows) == 180 and rows["rowid"].tolist() == list(range(1, 181))
    assert np.allclose(rows.draws(shape="DxP"), per_row)
    check_summary(rows, per_row)
    average = brmc.avg_comparisons(fit, variables="Days")
    assert np.allclose(average.draws(shape="DxP")[:, 0], per_row.mean(axis=1))
    kept = brmc.avg_comparisons(fit, variables="Days", re_formula="~ (1 | Subject)")  # intercepts only
    assert np.allclose(kept.draws(shape="DxP")[:, 0], draws["b_Days"])


def test_average_predictions_by_subject(fit: brmc.Fit) -> None:
    draws, data = fit.draws(), fit.data
    result = brmc.avg_predictions(fit, by="Subject")
    subjects = sorted(data["Subject"].astype(str).unique())
    assert result["Subject"].astype(str).tolist() == subjects
    expected = []
    for s in subjects:
        days = data.loc[data["Subject"].astype(str) == s, "Days"].to_numpy(float)
        mu = (draws["b_Intercept"] + draws[f"r_Subject[{s},Intercept]"]).to_numpy()[:, None] \
            + (draws["b_Days"] + draws[f"r_Subject[{s},Days]"]).to_numpy()[:, None] * days
        expected.append(mu.mean(axis=1))
    expected = np.column_stack(expected)
    assert np.allclose(result.draws(shape="DxP"), expected)
    check_summary(result, expected)


def test_predictions_on_a_datagrid(fit: brmc.Fit) -> None:
    grid = brmc.datagrid(fit, Days=[0, 5])
    result = brmc.predictions(fit, newdata=grid, re_formula=False)
    draws = fit.draws()
    expected = draws["b_Intercept"].to_numpy()[:, None] + draws["b_Days"].to_numpy()[:, None] * np.array([0, 5])
    assert result.columns.tolist() == ["rowid", "estimate", "conf.low", "conf.high", "Days", "Subject"]
    assert np.allclose(result.draws(shape="DxP"), expected)
    check_summary(result, expected)
    long = result.draws()
    assert long.columns[:2].tolist() == ["drawid", "draw"] and len(long) == 800
    assert np.allclose(long["draw"].to_numpy().reshape(400, 2), expected)  # draw 1's rows first


def test_slopes_of_a_linear_model_are_b_days(fit: brmc.Fit) -> None:
    b_days = fit.draws()["b_Days"].to_numpy()
    result = brmc.avg_slopes(fit, variables="Days", re_formula=False)
    assert result["contrast"].tolist() == ["dY/dX"]
    assert np.allclose(result.draws(shape="DxP")[:, 0], b_days, rtol=1e-6)
    # elasticity: dY/dX * x / y per row, averaged per draw
    draws = fit.draws()
    days = fit.data["Days"].to_numpy(float)
    y = draws["b_Intercept"].to_numpy()[:, None] + b_days[:, None] * days
    eyex = brmc.avg_slopes(fit, variables="Days", slope="eyex", re_formula=False)
    assert np.allclose(eyex.draws(shape="DxP")[:, 0], (b_days[:, None] * days / y).mean(axis=1), rtol=1e-6)


def test_hypotheses_on_rows(fit: brmc.Fit) -> None:
    result = brmc.avg_predictions(fit, by="Days", re_formula=False)
    b_days = fit.draws()["b_Days"].to_numpy()
    h = brmc.hypotheses(result, ["b3 - b1 = 0", "b2 = b1 + 1"])
    assert h["term"].tolist() == ["b3 - b1 = 0", "b2 = b1 + 1"]
    assert np.allclose(h.draws(shape="DxP"), np.column_stack([2 * b_days, b_days - 1]))
    check_summary(h, np.column_stack([2 * b_days, b_days - 1]))
    same = brmc.avg_predictions(fit, by="Days", re_formula=False, hypothesis="b3 - b1 = 0")
    assert np.allclose(same.draws(shape="DxP")[:, 0], 2 * b_days)
    with pytest.raises(DataError, match="'b11' names no row"):
        brmc.hypotheses(result, "b11 = 0")
    with pytest.raises(DataError, match="MarginalFrame"):
        brmc.hypotheses(result.iloc[:2], "b1 = 0")


def test_draw_subsets_pass_through(fit: brmc.Fit) -> None:
    result = brmc.avg_comparisons(fit, variables="Days", re_formula=False, ndraws=50, seed=1)
    values = result.draws(shape="DxP")[:, 0]
    assert values.shape == (50,)
    assert np.isin(np.round(values, 8), np.round(fit.draws()["b_Days"].to_numpy(), 8)).all()


def test_datagrid_typical_values(fit: brmc.Fit) -> None:
    grid = brmc.datagrid(fit)
    assert grid.columns.tolist() == ["Days", "Subject"] and len(grid) == 1
    assert grid.loc[0, "Days"] == pytest.approx(4.5)
    assert str(grid.loc[0, "Subject"]) == "308"  # every subject has 10 rows: the first to appear
    crossed = brmc.datagrid(fit, Days=[1, 2, 3], Subject=["309", "310"])
    assert len(crossed) == 6 and set(crossed["Subject"]) == {"309", "310"}
    frame = pd.DataFrame({"x": [1.0, 2.0, 6.0], "f": ["a", "b", "b"], "t": [True, False, False]})
    assert brmc.datagrid(frame).iloc[0].tolist() == [3.0, "b", False]
    assert brmc.datagrid(frame, x=np.max)["x"].tolist() == [6.0]
    with pytest.raises(DataError, match="'z' is not a column"):
        brmc.datagrid(frame, z=1)


def test_bad_arguments_are_named(fit: brmc.Fit) -> None:
    with pytest.raises(DataError, match="'Dayz' is not a population-level predictor.*Days"):
        brmc.avg_comparisons(fit, variables="Dayz")
    with pytest.raises(DataError, match="type must be one of"):
        brmc.predictions(fit, type="mean")
    with pytest.raises(DataError, match="by: 'Group' is not a column"):
        brmc.avg_predictions(fit, by="Group")
    with pytest.raises(DataError, match="comparison must be one of"):
        brmc.avg_comparisons(fit, comparison="quotient")
    with pytest.raises(DataError, match="Unknown argument 'draws'"):
        brmc.predictions(fit, draws=10)
    with pytest.raises(DataError, match="either condition= .* or by="):
        brmc.plot_predictions(fit)


# --- bernoulli: y ~ x * g + f, logit link ----------------------------------------------------------

def test_average_comparisons_on_the_response_scale(logit_fit: brmc.Fit, logit_data: pd.DataFrame) -> None:
    result = brmc.avg_comparisons(logit_fit)
    assert result[["term", "contrast"]].values.tolist() == [
        ["x", "+1"], ["g", "lo - hi"], ["f", "b - a"], ["f", "c - a"]]
    lo = expit(eta(logit_fit, logit_data))
    expected = [expit(eta(logit_fit, logit_data.assign(x=logit_data.x + 1))) - lo]
    expected.append(expit(eta(logit_fit, logit_data.assign(g="lo"))) - expit(eta(logit_fit, logit_data.assign(g="hi"))))
    base = expit(eta(logit_fit, logit_data.assign(f="a")))
    expected += [expit(eta(logit_fit, logit_data.assign(f=level))) - base for level in ("b", "c")]
    expected = np.column_stack([e.mean(axis=1) for e in expected])
    assert np.allclose(result.draws(shape="DxP"), expected)
    check_summary(result, expected)


def test_ratios_odds_ratios_and_the_link_scale(logit_fit: brmc.Fit, logit_data: pd.DataFrame) -> None:
    hi = expit(eta(logit_fit, logit_data.assign(f="b")))
    lo = expit(eta(logit_fit, logit_data.assign(f="a")))
    variables = {"f": ["a", "b"]}
    ratio = brmc.avg_comparisons(logit_fit, variables=variables, comparison="ratio")
    assert ratio["contrast"].tolist() == ["b / a"]
    assert np.allclose(ratio.draws(shape="DxP")[:, 0], (hi / lo).mean(axis=1))  # mean of the row ratios
    ratioavg = brmc.comparisons(logit_fit, variables=variables, comparison="ratioavg")  # always averaged
    assert np.allclose(ratioavg.draws(shape="DxP")[:, 0], hi.mean(axis=1) / lo.mean(axis=1))
    lnor = brmc.avg_comparisons(logit_fit, variables=variables, comparison="lnor")
    b_fb = logit_fit.draws()["b_fb"].to_numpy()
    assert np.allclose(lnor.draws(shape="DxP")[:, 0], b_fb)  # the log odds ratio of every row is b_fb
    link = brmc.avg_comparisons(logit_fit, variables="x", type="link")
    draws = logit_fit.draws()
    share_lo = (logit_data.g == "lo").mean()
    assert np.allclose(link.draws(shape="DxP")[:, 0], draws["b_x"] + draws["b_x:glo"] * share_lo)
    pairwise = brmc.avg_comparisons(logit_fit, variables={"f": "pairwise"})
    assert pairwise["contrast"].tolist() == ["b - a", "c - a", "c - b"]
    sd = brmc.avg_comparisons(logit_fit, variables={"x": "sd"}, type="link")
    assert np.allclose(sd.draws(shape="DxP")[:, 0],
                       (draws["b_x"] + draws["b_x:glo"] * share_lo) * logit_data.x.std(ddof=1))


def test_slopes_against_the_analytic_derivative(logit_fit: brmc.Fit, logit_data: pd.DataFrame) -> None:
    draws = logit_fit.draws()
    glo = (logit_data.g == "lo").to_numpy(float)
    p = expit(eta(logit_fit, logit_data))
    dydx = p * (1 - p) * (draws["b_x"].to_numpy()[:, None] + draws["b_x:glo"].to_numpy()[:, None] * glo)
    result = brmc.avg_slopes(logit_fit, variables="x")
    assert np.allclose(result.draws(shape="DxP")[:, 0], dydx.mean(axis=1), rtol=1e-6)
    by_g = brmc.avg_slopes(logit_fit, variables="x", by="g")
    assert by_g["g"].tolist() == ["hi", "lo"]
    expected = np.column_stack([dydx[:, glo == 0].mean(axis=1), dydx[:, glo == 1].mean(axis=1)])
    assert np.allclose(by_g.draws(shape="DxP"), expected, rtol=1e-6)
    check_summary(by_g, by_g.draws(shape="DxP"))
    x = logit_data.x.to_numpy()
    eyex = brmc.avg_slopes(logit_fit, variables="x", slope="eyex")
    assert np.allclose(eyex.draws(shape="DxP")[:, 0], (dydx * x / p).mean(axis=1), rtol=1e-5)
    factor = brmc.avg_slopes(logit_fit, variables="f")  # a factor's slope: each level against the reference
    assert factor["contrast"].tolist() == ["b - a", "c - a"]


def _reference_grid_eta(fit: brmc.Fit, data: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """emmeans' reference grid of y ~ x * g + f: every (f, g) with x at its mean."""
    return {(f, g): eta(fit, pd.DataFrame({"x": [data.x.mean()], "f": [f], "g": [g]}))[:, 0]
            for f in "abc" for g in ("hi", "lo")}


def test_emmeans_equals_the_hand_built_reference_grid(logit_fit: brmc.Fit, logit_data: pd.DataFrame) -> None:
    grid = _reference_grid_eta(logit_fit, logit_data)
    means = np.column_stack([(grid[f, "hi"] + grid[f, "lo"]) / 2 for f in "abc"])  # equal weights over g
    link = brmc.emmeans(logit_fit, "f")
    assert link.columns.tolist() == ["f", "emmean", "lower.HPD", "upper.HPD"]
    assert link["f"].tolist() == ["a", "b", "c"]
    assert np.allclose(link.draws(shape="DxP"), means)
    assert np.allclose(link["emmean"], np.median(means, axis=0))
    for k in range(3):  # the HPD interval: the shortest holding 95 % of the draws
        values = np.sort(means[:, k])
        width = round(0.95 * len(values))
        shortest = np.argmin(values[width:] - values[:-width])
        assert [link.loc[k, "lower.HPD"], link.loc[k, "upper.HPD"]] == pytest.approx(
            [values[shortest], values[shortest + width]])
    response = brmc.emmeans(logit_fit, "f", type="response")
    assert response.columns[1] == "prob"
    assert np.allclose(response.draws(shape="DxP"), expit(means))  # back-transformed link means
    by = brmc.emmeans(logit_fit, "f", by="g")
    assert by[["f", "g"]].values.tolist() == [[f, g] for g in ("hi", "lo") for f in "abc"]
    assert np.allclose(by.draws(shape="DxP"), np.column_stack([grid[f, g] for g in ("hi", "lo") for f in "abc"]))
    assert np.allclose(brmc.hypotheses(link, "b2 - b1 = 0").draws(shape="DxP")[:, 0], logit_fit.draws()["b_fb"])
    with pytest.raises(DataError, match="'x' is not a factor"):
        brmc.emmeans(logit_fit, "x")


# --- cumulative (ordinal): a row per row and category -------------------------------------------------

def test_ordinal_predictions_and_comparisons_per_category(close_figures) -> None:
    rng = np.random.default_rng(2)
    data = pd.DataFrame({"x": rng.normal(size=120), "t": rng.choice([True, False], 120)})
    latent = 0.8 * data.x + 0.5 * data.t + rng.logistic(size=120)
    data["y"] = np.digitize(latent, [-0.5, 0.7]) + 1
    fit = quiet(brmc.brm, "y ~ x + t", data, family="cumulative", chains=2, iter=300, seed=1, progress=False)
    draws = fit.draws()
    theta = draws[["b_Intercept[1]", "b_Intercept[2]"]].to_numpy()

    def probabilities(rows: pd.DataFrame) -> np.ndarray:
        """P(y = 1, 2, 3) per draw and row: F(theta_k - eta) differences (brms's cumulative logit)."""
        b = draws[["b_x", "b_tTRUE"]].to_numpy()
        eta = b @ np.column_stack([rows.x, rows.t]).astype(float).T
        below = expit(theta[:, :, None] - eta[:, None, :])
        return np.stack([below[:, 0], below[:, 1] - below[:, 0], 1 - below[:, 1]], axis=1)

    result = brmc.avg_predictions(fit)
    assert result["group"].tolist() == ["1", "2", "3"]
    assert np.allclose(result.draws(shape="DxP"), probabilities(data).mean(axis=2))
    contrast = brmc.avg_comparisons(fit, variables="t")
    assert contrast["contrast"].unique().tolist() == ["TRUE - FALSE"]
    expected = (probabilities(data.assign(t=True)) - probabilities(data.assign(t=False))).mean(axis=2)
    assert np.allclose(contrast.draws(shape="DxP"), expected)


# --- plots -------------------------------------------------------------------------------------------

def test_plot_predictions_draws_the_grid(fit: brmc.Fit, close_figures) -> None:
    fig = brmc.plot_predictions(fit, condition="Days", re_formula=False, points=0.5)
    ax = fig.axes[0]
    line = ax.lines[0]
    grid = np.linspace(0, 9, 50)
    draws = fit.draws()
    expected = draws["b_Intercept"].to_numpy()[:, None] + draws["b_Days"].to_numpy()[:, None] * grid
    assert np.allclose(line.get_xdata(), grid)
    assert np.allclose(line.get_ydata(), np.median(expected, axis=0))
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    upper = bands[0].get_paths()[0].vertices[:, 1].max()
    assert upper == pytest.approx(np.quantile(expected, 0.975, axis=0).max())
    points = [c for c in ax.collections if not isinstance(c, PolyCollection)]
    assert len(points) == 1 and len(points[0].get_offsets()) == 180 and points[0].get_alpha() == 0.5
    assert ax.get_xlabel() == "Days" and ax.get_ylabel() == "Reaction"


def test_plot_comparisons_and_slopes(logit_fit: brmc.Fit, close_figures) -> None:
    fig = brmc.plot_comparisons(logit_fit, variables="f", by="g")
    assert len(fig.axes) == 2  # one panel per contrast
    result = brmc.avg_comparisons(logit_fit, variables="f", by="g")
    for ax, contrast in zip(fig.axes, ["b - a", "c - a"]):
        assert ax.get_title() == f"contrast = {contrast}"
        marks = ax.lines[0]
        assert np.allclose(marks.get_ydata(), result.loc[result["contrast"] == contrast, "estimate"])
        assert [t.get_text() for t in ax.get_xticklabels()] == ["hi", "lo"]
    fig = brmc.plot_slopes(logit_fit, variables="x", condition=["x", "g"])
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and ax.get_legend().get_title().get_text() == "g"
    assert ax.get_ylabel() == "x: dY/dX"
    data = brmc.plot_slopes(logit_fit, variables="x", condition=["x", "g"], draw=False)
    assert len(data) == 100
    assert np.allclose(ax.lines[0].get_ydata(), data.loc[data["g"] == "hi", "estimate"])
