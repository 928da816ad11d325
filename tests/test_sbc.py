"""Simulation-based calibration: the ECDF uniformity test, the ranks, the plots, the checks.

The test's p-values are checked against what uniform ranks must give (a
uniform p-value, an exact binomial tail) and its flags against ArviZ's
simultaneous ECDF band (an independent computation, by optimisation rather
than simulation); ranks are recounted from the kept draws.  The calibrated
and the miscalibrated SBC runs use ``Reaction ~ Days + (1 | Subject)``, one
chain and 400 iterations, so they stay small enough for CI.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from arviz.stats.ecdf_utils import ecdf_confidence_band  # noqa: E402
from scipy import stats  # noqa: E402

import brmc  # noqa: E402
from brmc.errors import DataError, FamilyError, PriorError  # noqa: E402
from brmc.progress import FitProgress  # noqa: E402
from brmc.sbc import SBCResult, ecdf_pvalue, ecdf_statistic, null_statistics  # noqa: E402

from .conftest import quiet  # noqa: E402

FORMULA = "Reaction ~ Days + (1 | Subject)"
PRIORS = [brmc.prior("normal(250, 30)", class_="Intercept"), brmc.prior("normal(10, 5)", class_="b"),
          brmc.prior("gamma(4, 0.2)", class_="sd"), brmc.prior("gamma(6, 0.2)", class_="sigma")]
SMALL = {"n_sims": 8, "seed": 11, "chains": 1, "iter": 400, "progress": False}
REPORTED = ["b_Intercept", "b_Days", "sd_Subject__Intercept", "sigma"]


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def calibrated(sleep: pd.DataFrame) -> SBCResult:
    return quiet(brmc.sbc, FORMULA, sleep, prior=PRIORS, **SMALL)


@pytest.fixture(scope="module")
def shifted(sleep: pd.DataFrame) -> SBCResult:
    """Simulated under b ~ normal(10, 5), fitted under b ~ normal(40, 2)."""
    return quiet(brmc.sbc, FORMULA, sleep, prior=PRIORS, fit_prior=brmc.prior("normal(40, 2)", class_="b"),
                  **SMALL)


# ---------------------------------------------------------------- the uniformity test, no fits

def test_ecdf_pvalues_of_uniform_ranks_are_uniform() -> None:
    rng = np.random.default_rng(3)
    null = null_statistics(30, 19, n=4000, seed=1)
    p = [ecdf_pvalue(rng.integers(0, 20, 30), 19, null) for _ in range(300)]
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.02 < np.mean(np.array(p) < 0.05) < 0.09


def test_ecdf_statistic_is_the_smallest_binomial_tail() -> None:
    ranks = np.array([0, 0, 1, 5, 9, 9])  # max_rank 9: ten rank values
    by_hand = min(min(1.0, 2 * min(stats.binom.cdf(k, 6, z), stats.binom.sf(k - 1, 6, z)))
                  for k, z in (((ranks <= i).sum(), (i + 1) / 10) for i in range(9)))
    assert ecdf_statistic(ranks, 9) == pytest.approx(by_hand)


def test_flags_agree_with_arviz_simultaneous_band() -> None:
    """A rank set is flagged at 5 % (one parameter) where its ECDF leaves ArviZ's 95 % band."""
    n, max_rank = 40, 19
    z = np.arange(1, max_rank + 1) / (max_rank + 1)
    lo, hi = ecdf_confidence_band(n, np.arange(max_rank), z, prob=0.95, method="optimized")
    null = null_statistics(n, max_rank, seed=2)
    rng = np.random.default_rng(5)
    agree, outside = 0, 0
    for skew in np.repeat([1.0, 1.3, 1.8], 40):  # uniform and two skewed rank generators
        ranks = np.minimum((rng.uniform(size=n) ** skew * (max_rank + 1)).astype(int), max_rank)
        ecdf = (ranks[None, :] <= np.arange(max_rank)[:, None]).mean(axis=1)
        leaves = bool(((ecdf < lo - 1e-9) | (ecdf > hi + 1e-9)).any())
        outside += leaves
        agree += leaves == (ecdf_pvalue(ranks, max_rank, null) < 0.05)
    assert outside > 20  # the skewed sets do leave the band
    assert agree >= 114  # of 120; the two differ only at the band's discrete edge


def test_summary_flags_obviously_skewed_ranks() -> None:
    rng = np.random.default_rng(0)
    ranks = pd.DataFrame({"sim_id": np.tile(np.arange(50), 2), "variable": np.repeat(["a", "b"], 50),
                          "rank": np.r_[rng.integers(0, 21, 50), np.zeros(50, int)], "max_rank": 20,
                          "z_score": 0.0})
    result = SBCResult(ranks=ranks, fits=pd.DataFrame({"divergent": np.zeros(50)}), draws=[])
    table = result.summary()
    assert list(table.index[table["flagged"]]) == ["b"] == result.flagged()
    assert table.loc["b", "p_adjusted"] == pytest.approx(min(1.0, 2 * table.loc["b", "p_value"]))
    assert "flagged" in result._repr_html_() and "SBC: 50 simulations" in repr(result)


# ---------------------------------------------------------------- argument checks (no sampling)

def test_flat_b_prior_is_refused_with_the_class_named(sleep: pd.DataFrame) -> None:
    with pytest.raises(PriorError, match=r"class 'b' coef 'Days' has a flat prior.*"
                                         r"brmc.prior\(\"normal\(0, 10\)\", class_='b'\)"):
        brmc.sbc(FORMULA, sleep, prior=PRIORS[:1] + PRIORS[2:], **SMALL)


def test_bad_arguments_are_refused(sleep: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="does not take adapt_delta"):
        brmc.sbc(FORMULA, sleep, prior=PRIORS, adapt_delta=0.9)
    with pytest.raises(DataError, match="n_sims"):
        brmc.sbc(FORMULA, sleep, prior=PRIORS, n_sims=1)
    with pytest.raises(DataError, match="expression"):
        brmc.sbc("log(Reaction) ~ Days + (1 | Subject)", sleep, prior=PRIORS)
    with pytest.raises(FamilyError, match="cumulative"):
        data = sleep.assign(y=pd.cut(sleep["Reaction"], 3, labels=False) + 1)
        brmc.sbc("y ~ Days", data, family="cumulative",
                 prior=[brmc.prior("normal(0, 1)", class_="b"), brmc.prior("normal(0, 2)", class_="Intercept")])


# ---------------------------------------------------------------- SBC runs

def test_calibrated_model_is_not_flagged(calibrated: SBCResult) -> None:
    table = calibrated.summary()
    assert list(table.index) == REPORTED
    assert not table["flagged"].any(), table


def test_shifted_fitting_prior_is_flagged(shifted: SBCResult) -> None:
    table = shifted.summary()
    assert table.loc["b_Days", "flagged"], table
    assert table.loc["b_Days", "mean_rank"] < 0.2  # fits pulled above the simulated slopes


def test_ranks_count_the_thinned_draws_below_the_simulated_value(calibrated: SBCResult) -> None:
    ranks = calibrated.ranks
    assert len(ranks) == 8 * len(REPORTED) and (ranks["max_rank"] == 20).all()  # 200 draws / 10
    for sim_id, draws in enumerate(calibrated.draws):
        kept = draws.iloc[::10]
        for variable in REPORTED:
            row = ranks[(ranks["sim_id"] == sim_id) & (ranks["variable"] == variable)].iloc[0]
            assert row["rank"] == (kept[variable] < row["simulated_value"]).sum()
            assert row["mean"] == pytest.approx(kept[variable].mean())


def test_same_seed_same_ranks_and_refits_reuse_one_model(sleep: pd.DataFrame,
                                                         calibrated: SBCResult) -> None:
    again = quiet(brmc.sbc, FORMULA, sleep, prior=PRIORS, **SMALL)
    pd.testing.assert_frame_equal(again.ranks, calibrated.ranks)
    assert not again.fits["compiled"].any()  # the structure was compiled by the first run, in this process
    assert calibrated.fits["compiled"].sum() <= 1


def test_plots_show_each_parameter_with_its_band(calibrated: SBCResult) -> None:
    fig = calibrated.plot_hist(bins=5)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == REPORTED
    heights = [p.get_height() for p in fig.axes[0].patches if p.get_height() > 0]
    assert sum(heights) == 8  # every simulation in one bar
    fig = calibrated.plot_ecdf_diff(variables=["b_Days"])
    line = fig.axes[0].lines[0]
    ranks = calibrated.ranks.query("variable == 'b_Days'")["rank"].to_numpy()
    z = np.arange(1, 21) / 21
    expected = (ranks[None, :] <= np.arange(20)[:, None]).mean(axis=1) - z
    np.testing.assert_allclose(line.get_ydata(), expected)
    with pytest.raises(DataError, match="not in the SBC result"):
        calibrated.plot_hist(variables=["b_Nope"])


# ---------------------------------------------------------------- the multi-fit progress bar

def test_progress_bar_is_silent_when_not_interactive(capsys: pytest.CaptureFixture) -> None:
    with FitProgress(3, "Fits") as bar:  # pytest's captured stderr is not a terminal
        bar.advance(1.0)
    assert bar.bar is None and capsys.readouterr().err == ""


def test_progress_bar_counts_fits_when_interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("brmc.progress.output_kind", lambda: "terminal")
    with FitProgress(3, "SBC fits") as bar:
        for seconds in (1.0, 2.0, 3.0):
            bar.advance(seconds)
        assert bar.bar.n == 3 and bar.bar.total == 3
        assert "last fit 3.0 s" in str(bar.bar)
