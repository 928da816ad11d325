"""Posterior agreement with brms 2.18's reference fits (4 chains × 1,000 after 1,000).

Means must agree within 0.15 posterior sd (or within 4 Monte Carlo standard
errors of the difference where either side's Bulk_ESS is low) and posterior
sds within 20 %; the summary must have brms's sections, row labels and columns.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import brmc
from brmc.summary import summarise_draws

from .conftest import FAMILY_FITS, reference_csv, reference_text

pytestmark = pytest.mark.reference
_FITS: dict[str, brmc.Fit] = {}


def fitted(name: str) -> brmc.Fit:
    """Fit a reference model once per test session, with brms's settings."""
    if name not in _FITS:
        formula, dataset, family = {**brmc.datasets.REFERENCE_MODELS, **FAMILY_FITS}[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[name] = brmc.brm(formula, brmc.datasets.load(dataset), family=family, chains=4, iter=2000,
                                   warmup=1000, seed=1234, progress=False)
    return _FITS[name]


def agreement(name: str, fit: brmc.Fit | None = None) -> list[str]:
    """Every b_/sd_/cor_/sigma parameter (and a term kind's bs_/sds_/bsp_/simo_/sdgp_/lscale_/ar/ma/cosy, rescor__) that disagrees with brms, with the numbers;
    ``fit`` is the reference model's fit where :func:`fitted` cannot make it (priors, bf() options)."""
    fit = fit or fitted(name)
    ref = reference_csv(name, "draws_summary.csv").set_index("variable")
    wanted = [v for v in ref.index if re.match(r"^(b_|bs_|bsp_|sd_|sds_|simo_|sdgp_|lscale_|cor_|sigma$|sigma_|rescor__|phi$|ar\[|ma\[|cosy$)", v)]
    assert wanted, name
    post = fit.idata.posterior
    problems = []
    for var in wanted:
        assert var in post, f"{var} missing from the draws of {name}"
        ours = summarise_draws(post[var].values)
        mean_b, sd_b, ess_b = (float(ref.loc[var, c]) for c in ("mean", "sd", "ess_bulk"))
        mcse = np.sqrt(sd_b**2 / ess_b + ours["Est.Error"] ** 2 / ours["Bulk_ESS"])
        tolerance = max(0.15 * sd_b, 4 * mcse)
        ratio = ours["Est.Error"] / sd_b
        if abs(ours["Estimate"] - mean_b) > tolerance or not 0.8 <= ratio <= 1.25:
            problems.append(f"{var}: mean {ours['Estimate']:.4g} vs brms {mean_b:.4g} (tol {tolerance:.3g}), "
                            f"sd ratio {ratio:.3f}")
    return problems


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS) + sorted(FAMILY_FITS))
def test_posterior_agrees_with_brms(name: str) -> None:
    assert agreement(name) == []


def skeleton(text: str) -> list[str]:
    """Summary text with numbers blanked and spacing folded: sections, labels, columns."""
    out = []
    for line in text.splitlines():
        if line.startswith("Warning:"):
            continue
        line = re.sub(r"-?\d+(\.\d+)?", "#", line)
        line = line.replace("sampling(NUTS)", "(NUTS)").replace("numpyro(NUTS)", "(NUTS)")
        out.append(" ".join(line.split()))
    return out


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS) + sorted(FAMILY_FITS))
def test_summary_layout_matches_brms(name: str) -> None:
    ours = skeleton(str(fitted(name)))
    theirs = reference_text(name, "summary.txt")
    if name in FAMILY_FITS:  # the round-2 script named its data frame d
        theirs = theirs.replace("Data: d (", f"Data: {FAMILY_FITS[name][1]} (")
    theirs = skeleton(theirs)
    assert ours == theirs


def _close(ours_mean: float, ours_sd: float, mean_b: float, sd_b: float) -> bool:
    return abs(ours_mean - mean_b) <= 0.15 * sd_b + 1e-12 and 0.8 <= ours_sd / sd_b <= 1.25


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS))
def test_ranef_agrees_with_brms(name: str) -> None:
    ref = reference_csv(name, "ranef_summary.csv")
    ranef = fitted(name).ranef()
    bad = []
    for _, row in ref.iterrows():
        group, rest = row["variable"][2:].split("[", 1)
        level, coef = rest.rstrip("]").rsplit(",", 1)
        ours = ranef[group].loc[(level, coef)]
        if not _close(ours["Estimate"], ours["Est.Error"], float(row["mean"]), float(row["sd"])):
            bad.append(f"{row['variable']}: {ours['Estimate']:.3g} ({ours['Est.Error']:.3g}) vs "
                       f"{float(row['mean']):.3g} ({float(row['sd']):.3g})")
    # r_ means have Monte Carlo error too: allow a few percent of 953 levels to sit just outside
    assert len(bad) <= max(1, 0.02 * len(ref)), bad[:10]


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS))
def test_fixef_and_varcorr_agree_with_brms(name: str) -> None:
    fit = fitted(name)
    ref = reference_csv(name, "post", "fixef.csv").set_index("coef")
    ours = fit.fixef()
    assert list(ours.index) == list(ref.index)
    for coef, row in ref.iterrows():
        tol = max(0.15 * float(row["Est.Error"]), 4 * float(row["Est.Error"]) / np.sqrt(300))
        assert abs(ours.loc[coef, "Estimate"] - float(row["Estimate"])) <= tol, coef
    draws = fit.draws()
    for group, parts in fit.VarCorr().items():  # brms agreement of these draws: test_posterior_agrees_with_brms
        for coef_name, sd_row in parts["sd"].iterrows():
            var = "sigma" if group == "residual__" else f"sd_{group}__{coef_name}"
            assert sd_row["Estimate"] == pytest.approx(draws[var].mean())
        if "cov" in parts:
            for coef_name in parts["sd"].index:
                var = f"sd_{group}__{coef_name}"
                assert parts["cov"].loc[(coef_name, coef_name), "Estimate"] == pytest.approx((draws[var] ** 2).mean())


def test_coef_agrees_with_brms() -> None:
    ref = reference_csv("sleepstudy_slopes", "post", "coef_Subject.csv")
    ours = fitted("sleepstudy_slopes").coef()["Subject"]
    assert [tuple(x) for x in ours.index] == list(zip(ref["level"], ref["coef"]))
    for _, row in ref.iterrows():
        mine = ours.loc[(row["level"], row["coef"])]
        assert _close(mine["Estimate"], mine["Est.Error"], float(row["Estimate"]), float(row["Est.Error"])), tuple(row)


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS))
@pytest.mark.parametrize("which, re_formula", [("fitted_head20.csv", None), ("fitted_noRE_head20.csv", False)])
def test_fitted_agrees_with_brms(name: str, which: str, re_formula) -> None:
    """Means within 0.15 sd; sds within 20 %, or within 4 Monte Carlo standard errors of an sd
    (relative SE sqrt((kurtosis - 1) / (4 ESS)), ESS taken as 800) for skewed quantities such as
    probabilities near 0 whose sd rests on a few draws."""
    ref = reference_csv(name, "post", which).astype(float)
    draws = fitted(name).fitted(re_formula=re_formula, summary=False)[:, :20]
    for i in range(20):
        _assert_draws_agree(draws[:, i], ref["Estimate"].iloc[i], ref["Est.Error"].iloc[i], i)


def _assert_draws_agree(draws: np.ndarray, mean_b: float, sd_b: float, where) -> None:
    """Mean within 0.15 of brms's sd; sd within 20 % or within 4 Monte Carlo SEs of brms's (relative
    SE sqrt((kurtosis - 1) / (4 ESS)), ESS taken as 800)."""
    from scipy.stats import kurtosis

    mean, sd = draws.mean(), draws.std(ddof=1)
    rel_se = np.sqrt((kurtosis(draws, fisher=False) - 1) / (4 * 800))
    sd_ok = 0.8 <= sd / sd_b <= 1.25 or abs(np.log(sd / sd_b)) <= 4 * np.sqrt(2) * rel_se
    assert abs(mean - mean_b) <= 0.15 * sd_b and sd_ok, (where, mean, sd, mean_b, sd_b)


@pytest.mark.parametrize("name", sorted(FAMILY_FITS))
def test_family_fitted_agrees_with_brms(name: str) -> None:
    """``fitted`` (brms's posterior_epred: category probabilities of sratio, trials x mu of
    beta_binomial) of the first 40 rows, each category, against brms's."""
    ref = reference_csv(name, "fitted_head40.csv").astype(float)
    draws = fitted(name).fitted(summary=False)[:, :40]
    draws = draws if draws.ndim == 3 else draws[:, :, None]
    suffixes = [c[len("Estimate"):] for c in ref.columns if c.startswith("Estimate")]
    for k, suffix in enumerate(suffixes):
        for i in range(40):
            _assert_draws_agree(draws[:, i, k], ref[f"Estimate{suffix}"].iloc[i], ref[f"Est.Error{suffix}"].iloc[i],
                                (i, suffix))


@pytest.mark.parametrize("which", ["fitted", "predict"])
def test_new_subject_predictions_agree_with_brms(which: str) -> None:
    """An old and a new subject (allow_new_levels, sample_new_levels='uncertainty'), as brms."""
    ref = reference_csv("sleepstudy_slopes", "post", f"{which}_newdata.csv")
    newdata = ref[["Days", "Subject"]].assign(Days=lambda d: d["Days"].astype(float))
    ours = getattr(fitted("sleepstudy_slopes"), which)(newdata, allow_new_levels=True, seed=5)
    ref = ref.drop(columns=["Days", "Subject"]).astype(float)
    for i in range(len(ref)):
        # new-level intervals are wide and Monte Carlo noisy: means within 0.15 sd, sds within 20 %
        assert _close(ours["Estimate"].iloc[i], ours["Est.Error"].iloc[i], ref["Estimate"].iloc[i],
                      ref["Est.Error"].iloc[i]), (i, ours.iloc[i].tolist(), ref.iloc[i].tolist())
