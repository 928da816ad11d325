"""loo, waic, loo_compare, bayes_R2 and hypothesis against brms 2.18's answers.

The sleepstudy fit here has 4 chains of 500 draws (brms's reference: 4 of
1,000), so estimates are compared within Monte Carlo tolerances; printed
layouts are compared character for character by feeding brms's own numbers to
the printers, and with numbers masked for our fit.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import brmc
from brmc import criteria, hypothesis_testing
from brmc.errors import DataError

from .conftest import reference_path, reference_text

SETTINGS = {"chains": 4, "iter": 1000, "warmup": 500, "seed": 2024, "progress": False}


def _fit(formula: str) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(formula, brmc.datasets.load("sleepstudy"), **SETTINGS)


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    return _fit("Reaction ~ Days + (Days | Subject)")


@pytest.fixture(scope="module")
def fit_intercepts() -> brmc.Fit:
    return _fit("Reaction ~ Days + (1 | Subject)")


@pytest.fixture(scope="module")
def loo_fit(fit: brmc.Fit) -> criteria.LooResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.loo(fit)


def _estimates(name: str, model: str = "sleepstudy_slopes") -> pd.DataFrame:
    return pd.read_csv(reference_path(model, "post", name), index_col=0)


def _masked(text: str) -> list[str]:
    """Lines with every number (or NA) replaced by '#' and runs of spaces collapsed."""
    masked = re.sub(r"-?\d+(\.\d+)?|<NA>|\bNA\b", "#", text)
    return [re.sub(r" +", " ", line).strip() for line in masked.splitlines()]


def _ll(fit: brmc.Fit) -> np.ndarray:
    return fit.log_likelihood().values.reshape(-1, fit.nobs)


# ---------------------------------------------------------------- loo and waic

def test_loo_estimates_match_brms(loo_fit: criteria.LooResult) -> None:
    # elpd_loo and p_loo move by about 0.5-1 between runs of this model (a few
    # observations have k > 0.7, and we use half brms's draws); 2 is a few MC
    # errors yet far below the estimate's SE (22) or a wrong formula (lpd
    # instead of elpd_loo is off by p_loo ~ 34).
    ref = _estimates("loo_estimates.csv")
    ours = loo_fit.estimates
    assert list(ours.index) == ["elpd_loo", "p_loo", "looic"] and list(ours.columns) == ["Estimate", "SE"]
    assert abs(ours.loc["elpd_loo", "Estimate"] - ref.loc["elpd_loo", "Estimate"]) < 2
    assert abs(ours.loc["p_loo", "Estimate"] - ref.loc["p_loo", "Estimate"]) < 2
    assert abs(ours.loc["looic", "Estimate"] - ref.loc["looic", "Estimate"]) < 4
    # the SE of elpd is a property of the data; that of p_loo hinges on the few influential points
    assert abs(ours.loc["elpd_loo", "SE"] - ref.loc["elpd_loo", "SE"]) < 1.5
    assert abs(ours.loc["p_loo", "SE"] - ref.loc["p_loo", "SE"]) < 2.5


def test_loo_pointwise_agrees_with_independent_sums_and_arviz(fit: brmc.Fit, loo_fit: criteria.LooResult) -> None:
    pw = loo_fit.pointwise
    assert list(pw.columns) == ["elpd_loo", "mcse_elpd_loo", "p_loo", "looic", "influence_pareto_k"]
    assert len(pw) == 180 and loo_fit.dims == (2000, 180)
    np.testing.assert_allclose(loo_fit.estimates["Estimate"], pw[["elpd_loo", "p_loo", "looic"]].sum())
    np.testing.assert_allclose(loo_fit.estimates.loc["elpd_loo", "SE"], np.sqrt(180) * np.std(pw["elpd_loo"], ddof=1))
    # p_loo_i = log mean exp(ll_i) - elpd_loo_i, from the log-likelihood directly
    ll = _ll(fit)
    lpd = np.log(np.mean(np.exp(ll - ll.max(axis=0)), axis=0)) + ll.max(axis=0)
    np.testing.assert_allclose(pw["p_loo"], lpd - pw["elpd_loo"], rtol=1e-8)
    # ArviZ's own PSIS-LOO (one reff for all observations) lands within a fraction of a point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arviz_elpd = az.loo(fit.idata).elpd_loo
    assert abs(loo_fit.estimates.loc["elpd_loo", "Estimate"] - arviz_elpd) < 0.5
    table = loo_fit.pareto_k_table()
    k = pw["influence_pareto_k"]
    assert table["Count"].tolist() == [(k <= 0.5).sum(), ((k > 0.5) & (k <= 0.7)).sum(),
                                       ((k > 0.7) & (k <= 1)).sum(), (k > 1).sum()]
    assert np.isnan(loo_fit.mcse_elpd_loo)  # loo reports NA once some k > 0.7


def test_loo_monte_carlo_se_matches_replicate_spread() -> None:
    # loo's pointwise MCSE against the spread of elpd_loo_i over independent draw sets
    y = np.random.default_rng(0).normal(0.3, 1, size=20)
    elpd, mcse = [], []
    for seed in range(40):
        theta = np.random.default_rng(100 + seed).normal(y.mean(), 1 / np.sqrt(20), size=(2, 200, 1))
        res = brmc.loo(stats.norm.logpdf(y, theta, 1))
        elpd.append(res.pointwise["elpd_loo"])
        mcse.append(res.pointwise["mcse_elpd_loo"])
    ratio = np.std(elpd, axis=0, ddof=1) / np.mean(mcse, axis=0)
    assert 0.7 < ratio.mean() < 1.3
    assert res.mcse_elpd_loo == pytest.approx(np.sqrt(np.sum(res.pointwise["mcse_elpd_loo"] ** 2)))


def test_loo_without_stored_log_likelihood(fit: brmc.Fit, loo_fit: criteria.LooResult) -> None:
    idata = az.InferenceData(posterior=fit.idata.posterior, observed_data=fit.idata.observed_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = brmc.loo(dataclasses.replace(fit, idata=idata))
    np.testing.assert_allclose(res.pointwise["elpd_loo"], loo_fit.pointwise["elpd_loo"], rtol=1e-10)


def test_loo_warns_on_high_pareto_k(fit: brmc.Fit, loo_fit: criteria.LooResult) -> None:
    n_bad = int((loo_fit.pareto_k > 0.7).sum())
    assert n_bad > 0  # as in brms's fit (3 of 180)
    with pytest.warns(UserWarning, match=f"Found {n_bad} observations with a pareto_k > 0.7"):
        brmc.loo(fit)


def test_waic_matches_brms_and_independent_formula(fit: brmc.Fit) -> None:
    with pytest.warns(UserWarning, match=r"p_waic estimates greater than 0.4. We recommend trying loo instead."):
        res = criteria.waic(fit)
    ref = _estimates("waic_estimates.csv")
    assert list(res.estimates.index) == ["elpd_waic", "p_waic", "waic"]
    assert abs(res.estimates.loc["elpd_waic", "Estimate"] - ref.loc["elpd_waic", "Estimate"]) < 2
    assert abs(res.estimates.loc["p_waic", "Estimate"] - ref.loc["p_waic", "Estimate"]) < 2
    assert abs(res.estimates.loc["waic", "Estimate"] - ref.loc["waic", "Estimate"]) < 4
    assert abs(res.estimates.loc["elpd_waic", "SE"] - ref.loc["elpd_waic", "SE"]) < 1.5
    ll = _ll(fit)
    p_waic = np.sum((ll - ll.mean(axis=0)) ** 2, axis=0) / (ll.shape[0] - 1)
    lpd = np.log(np.mean(np.exp(ll), axis=0))
    np.testing.assert_allclose(res.estimates.loc["waic", "Estimate"], -2 * np.sum(lpd - p_waic), rtol=1e-10)
    np.testing.assert_allclose(res.estimates.loc["p_waic", "Estimate"], p_waic.sum(), rtol=1e-10)


def _reference_loo(model: str) -> tuple[str, criteria.LooResult]:
    """brms's loo.txt and a LooResult holding its numbers (estimates from
    loo_estimates.csv; k-bin counts, minimum n_eff and MCSE as printed)."""
    text = reference_text(model, "post", "loo.txt")
    S, N = map(int, re.search(r"Computed from (\d+) by (\d+)", text).groups())
    rows = re.findall(r"\((good|ok|bad|very bad)\)\s+(\d+)\s+\S+%\s+(\S+)", text)
    counts = {label: (int(c), np.nan if m == "<NA>" else float(m)) for label, c, m in rows} or {"good": (N, 500.0)}
    k_of = {"good": 0.1, "ok": 0.6, "bad": 0.8, "very bad": 1.5}
    k, n_eff = [], []
    for label, (count, min_n_eff) in counts.items():
        k += [k_of[label]] * count
        n_eff += [min_n_eff] + [min_n_eff + 100] * (count - 1) if count else []
    mcse = re.search(r"Monte Carlo SE of elpd_loo is (\S+)\.", text).group(1)
    per_obs = 0.0 if mcse == "NA" else float(mcse) / np.sqrt(N)
    pointwise = pd.DataFrame({"mcse_elpd_loo": per_obs, "influence_pareto_k": k})
    result = criteria.LooResult(estimates=_estimates("loo_estimates.csv", model), pointwise=pointwise,
                                dims=(S, N), n_eff=np.array(n_eff))
    return text, result


@pytest.mark.parametrize("model", sorted(brmc.datasets.REFERENCE_MODELS))
def test_loo_print_reproduces_brms_text(model: str) -> None:
    text, result = _reference_loo(model)
    assert str(result) == text


def test_loo_html_is_the_printed_result_with_a_table() -> None:
    text, result = _reference_loo("sleepstudy_slopes")
    html = result._repr_html_()
    for line in text.splitlines()[4:7]:  # elpd_loo, p_loo, looic: Estimate and SE as brms prints them
        name, estimate, se = line.split()
        assert re.search(rf"<th>{name}</th>\s*<td>{re.escape(estimate)}</td>\s*<td>{re.escape(se)}</td>", html)
    assert html.count("<table") == 1 and "Monte Carlo SE of elpd_loo" in html


def test_loo_print_layout_of_our_fit(loo_fit: criteria.LooResult) -> None:
    ours = str(loo_fit)
    ref = reference_text("sleepstudy_slopes", "post", "loo.txt")
    assert _masked(ours) == _masked(ref)
    assert ours.splitlines()[1] == "Computed from 2000 by 180 log-likelihood matrix"


def test_waic_print_layout() -> None:
    ll = np.random.default_rng(5).normal(-1.0, 1.0, size=(2, 300, 10))
    with pytest.warns(UserWarning):
        res = criteria.waic(ll)
    lines = str(res).splitlines()
    assert lines[:4] == ["", "Computed from 600 by 10 log-likelihood matrix", "", "          Estimate  SE"]
    assert [line.split()[0] for line in lines[4:7]] == ["elpd_waic", "p_waic", "waic"]
    assert lines[-2:] == ["", "10 (100.0%) p_waic estimates greater than 0.4. We recommend trying loo instead. "]


# ---------------------------------------------------------------- loo_compare

def test_loo_compare_ranks_slopes_model_first(fit: brmc.Fit, fit_intercepts: brmc.Fit,
                                              loo_fit: criteria.LooResult) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo_int = brmc.loo(fit_intercepts)
    comp = criteria.loo_compare(loo_int, loo_fit, names=["intercepts", "slopes"])
    assert list(comp.index) == ["slopes", "intercepts"]
    assert list(comp.columns) == ["elpd_diff", "se_diff", "elpd_loo", "se_elpd_loo", "p_loo", "se_p_loo",
                                  "looic", "se_looic"]
    assert comp.iloc[0]["elpd_diff"] == 0 and comp.iloc[0]["se_diff"] == 0
    diff = loo_int.pointwise["elpd_loo"].to_numpy() - loo_fit.pointwise["elpd_loo"].to_numpy()
    assert comp.loc["intercepts", "elpd_diff"] == pytest.approx(diff.sum())
    assert comp.loc["intercepts", "se_diff"] == pytest.approx(np.sqrt(len(diff)) * np.std(diff, ddof=1))
    assert comp.loc["intercepts", "elpd_diff"] < -2 * comp.loc["intercepts", "se_diff"]
    assert comp.loc["slopes", "elpd_loo"] == pytest.approx(loo_fit.estimates.loc["elpd_loo", "Estimate"])
    # loo's print: elpd_diff and se_diff, one common number width, cells left-aligned
    lines = str(comp).splitlines()
    assert lines[0] == "           elpd_diff se_diff"
    assert re.fullmatch(r"slopes +0\.0 +0\.0 *", lines[1]) and len({len(line) for line in lines}) == 1
    # fits are scored with loo; default names are fit1, fit2, ...
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_fit = criteria.loo_compare(fit, fit_intercepts)
    assert list(by_fit.index) == ["fit1", "fit2"]
    with pytest.raises(DataError, match="at least two"):
        criteria.loo_compare(loo_fit)


# ---------------------------------------------------------------- bayes_R2

def test_bayes_R2_matches_brms_and_independent_computation(fit: brmc.Fit) -> None:
    ref = pd.read_csv(reference_path("sleepstudy_slopes", "post", "bayes_R2.csv")).iloc[0]
    ours = criteria.bayes_R2(fit)
    assert list(ours.index) == ["R2"] and list(ours.columns) == ["Estimate", "Est.Error", "Q2.5", "Q97.5"]
    for col in ["Estimate", "Q2.5", "Q97.5"]:
        assert abs(ours.loc["R2", col] - ref[col]) < 0.02, col
    assert abs(ours.loc["R2", "Est.Error"] - ref["Est.Error"]) < 0.005
    # independent: mu from the named draws, R2 = var(mu) / (var(mu) + var(y - mu)) per draw
    draws = fit.draws()
    data = fit.data
    subj = data["Subject"].astype(str).to_numpy()
    r0 = np.stack([draws[f"r_Subject[{s},Intercept]"] for s in subj], axis=1)
    r1 = np.stack([draws[f"r_Subject[{s},Days]"] for s in subj], axis=1)
    b0, b1 = draws["b_Intercept"].to_numpy()[:, None], draws["b_Days"].to_numpy()[:, None]
    mu = b0 + r0 + (b1 + r1) * data["Days"].to_numpy()
    var_mu = mu.var(axis=1)
    r2 = var_mu / (var_mu + (data["Reaction"].to_numpy() - mu).var(axis=1))
    np.testing.assert_allclose(criteria.bayes_R2(fit, summary=False)["R2"], r2, rtol=1e-10)
    assert ours.loc["R2", "Estimate"] == pytest.approx(r2.mean())


# ---------------------------------------------------------------- hypothesis

def test_hypothesis_one_sided_matches_brms(fit: brmc.Fit) -> None:
    h = hypothesis_testing.hypothesis(fit, "Days > 5")
    row = h.hypothesis.loc[1]
    assert list(h.hypothesis.columns) == ["Hypothesis", "Estimate", "Est.Error", "CI.Lower", "CI.Upper",
                                          "Evid.Ratio", "Post.Prob", "Star"]
    assert row["Hypothesis"] == "(Days)-(5) > 0" and row["Star"] == "*"
    # brms: 5.39, 1.7, 2.64, 8.15, Evid.Ratio 443.44 (Post.Prob 443.44 / 444.44)
    assert abs(row["Estimate"] - 5.39) < 0.15 * 1.7
    assert abs(row["Est.Error"] - 1.7) < 0.1 * 1.7
    assert abs(row["CI.Lower"] - 2.64) < 0.25 * 1.7 and abs(row["CI.Upper"] - 8.15) < 0.25 * 1.7
    assert abs(row["Post.Prob"] - 443.44 / 444.44) < 0.02
    # independent: from the draws of b_Days, one-sided 90 % interval
    d = fit.draws()["b_Days"].to_numpy() - 5
    assert row["Estimate"] == pytest.approx(d.mean())
    assert row["CI.Lower"] == pytest.approx(np.quantile(d, 0.05))
    assert row["Post.Prob"] == pytest.approx(np.mean(d > 0))
    assert row["Evid.Ratio"] == pytest.approx(np.mean(d > 0) / np.mean(d <= 0))
    np.testing.assert_allclose(h.samples["H1"], d)


def test_hypothesis_two_sided_matches_brms(fit: brmc.Fit) -> None:
    h = hypothesis_testing.hypothesis(fit, "Intercept + 5 * Days = 300")
    row = h.hypothesis.loc[1]
    assert row["Hypothesis"] == "(Intercept+5*Days)-(300) = 0"
    # brms: 3.09, 10.56, -18.64, 23.33, NA, NA, no star
    assert abs(row["Estimate"] - 3.09) < 0.15 * 10.56
    assert abs(row["Est.Error"] - 10.56) < 0.1 * 10.56
    draws = fit.draws()
    d = draws["b_Intercept"] + 5 * draws["b_Days"] - 300
    for column, prob, brms in (("CI.Lower", 0.025, -18.64), ("CI.Upper", 0.975, 23.33)):
        # a tail quantile: within 4 Monte Carlo errors of the difference (brms's error taken as ours)
        mcse = float(az.mcse(d.to_numpy().reshape(SETTINGS["chains"], -1), method="quantile", prob=prob))
        assert abs(row[column] - brms) < 4 * np.sqrt(2) * mcse
    assert np.isnan(row["Evid.Ratio"]) and np.isnan(row["Post.Prob"]) and row["Star"] == ""
    assert row["CI.Upper"] == pytest.approx(np.quantile(d, 0.975))


@pytest.mark.parametrize(("name", "text", "numbers"), [
    ("hypothesis_Days_gt_5.txt", "Days > 5", [5.39, 1.70, 2.64, 8.15, 443.44, 443.44 / 444.44]),
    ("hypothesis_two_sided.txt", "Intercept + 5 * Days = 300", [3.09, 10.56, -18.64, 23.33, np.nan, np.nan]),
])
def test_hypothesis_print_reproduces_brms_text(fit: brmc.Fit, name: str, text: str, numbers: list[float]) -> None:
    ref = reference_text("sleepstudy_slopes", "post", name)
    h = hypothesis_testing.hypothesis(fit, text)
    assert _masked(str(h)) == _masked(ref)
    h.hypothesis.loc[1, hypothesis_testing.HYPOTHESIS_COLUMNS[1:-1]] = numbers
    assert str(h) == ref


def test_hypothesis_classes_groups_and_full_names(fit: brmc.Fit) -> None:
    draws = fit.draws()
    h = hypothesis_testing.hypothesis(fit, {"slope sd": "Days < Intercept"}, class_="sd", group="Subject")
    assert str(h).startswith("Hypothesis Tests for class sd_Subject:")
    assert h.hypothesis.loc[1, "Hypothesis"] == "slope sd"
    d = draws["sd_Subject__Days"] - draws["sd_Subject__Intercept"]
    assert h.hypothesis.loc[1, "Estimate"] == pytest.approx(d.mean())
    h = hypothesis_testing.hypothesis(fit, ["sigma > 20", "r_Subject[308,Intercept] - 2^2 > -Days"], class_="b")
    assert h.hypothesis.loc[2, "Hypothesis"] == "(r_Subject[308,Intercept]-2^2)-(-Days) > 0"
    d2 = draws["r_Subject[308,Intercept]"] - 4 + draws["b_Days"]
    np.testing.assert_allclose(h.samples["H2"], d2)
    assert h.hypothesis.loc[1, "Estimate"] == pytest.approx((draws["sigma"] - 20).mean())
    h = hypothesis_testing.hypothesis(fit, "b_Days > 5", class_=None)
    assert str(h).startswith("Hypothesis Tests for class :")


def test_unknown_parameter_names_suggest_close_matches(fit: brmc.Fit) -> None:
    with pytest.raises(DataError, match=r"cannot be found in the model: b_Dayz\. Did you mean 'Days'"):
        hypothesis_testing.hypothesis(fit, "Dayz > 5")


@pytest.mark.parametrize("text", [
    "__import__('os').system('touch /tmp/brmc_pwned') > 0",
    "open('/etc/passwd') > 0",
    "b_x.__class__ > 0",
    "(lambda: 1)() > 0",
    "b_x if 1 else 2 > 0",
    "b_x[0] > 0",
    "b_x >= 0",
    "b_x",
    "b_x % 2 = 0",
])
def test_unsafe_or_malformed_hypotheses_are_refused(text: str) -> None:
    draws = pd.DataFrame({"b_x": np.linspace(-1, 1, 10)})
    with pytest.raises(DataError):
        hypothesis_testing.hypothesis(draws, text)
    assert not Path("/tmp/brmc_pwned").exists()
