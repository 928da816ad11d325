"""The Fit object a user gets back: draws, idata, summary, priors, CLI."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import brmc

from .conftest import SLEEP, reference_text, without_warnings, xla_compilations



def test_draws_have_brms_names(fit: brmc.Fit) -> None:
    draws = fit.draws()
    for name in ["b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days",
                 "cor_Subject__Intercept__Days", "sigma", "r_Subject[308,Intercept]", "r_Subject[372,Days]"]:
        assert name in draws.columns, name
    assert list(draws.columns[-3:]) == [".chain", ".iteration", ".draw"]
    assert len(draws) == 400 and draws[".chain"].nunique() == 2
    assert {"posterior", "sample_stats", "observed_data"} <= set(fit.idata.groups())


def test_log_likelihood_is_computed_when_asked(fit: brmc.Fit) -> None:
    fresh = brmc.Fit(model_data=fit.model_data, priors=fit.priors, settings=fit.settings,
                     idata=fit.idata.copy())
    if "log_likelihood" in fresh.idata.groups():  # another test asked for it already
        del fresh.idata.log_likelihood
    ll = fresh.log_likelihood()
    assert ll.dims == ("chain", "draw", "obs") and ll.shape == (2, 200, fit.nobs)
    assert "log_likelihood" in fresh.idata.groups()  # kept for ArviZ and for saving
    xr.testing.assert_identical(fresh.log_likelihood(), ll)


def test_reported_intercept_is_brms_b_intercept(fit: brmc.Fit) -> None:
    draws = fit.draws()
    np.testing.assert_allclose(draws["b_Intercept"], draws["Intercept"] - 4.5 * draws["b_Days"])


def test_log_likelihood_matches_independent_computation(fit: brmc.Fit) -> None:
    d = fit.draws().iloc[5]
    df = fit.data
    r0 = np.array([d[f"r_Subject[{s},Intercept]"] for s in df["Subject"].astype(str)])
    r1 = np.array([d[f"r_Subject[{s},Days]"] for s in df["Subject"].astype(str)])
    mu = d["b_Intercept"] + r0 + (d["b_Days"] + r1) * df["Days"]
    expected = stats.norm.logpdf(df["Reaction"], mu, d["sigma"])
    ours = fit.log_likelihood().values.reshape(-1, fit.nobs)[5]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_summary_object_and_text(fit: brmc.Fit) -> None:
    s = fit.summary()
    assert list(s.fixed.index) == ["Intercept", "Days"]
    assert list(s.random["Subject"].index) == ["sd(Intercept)", "sd(Days)", "cor(Intercept,Days)"]
    assert list(s.spec_pars.index) == ["sigma"]
    text = without_warnings(str(fit))
    assert text.startswith(" Family: gaussian \n  Links: mu = identity; sigma = identity \n")
    assert "Formula: Reaction ~ Days + (Days | Subject) \n   Data: sleepstudy (Number of observations: 180) " in text
    assert "each with iter = 400; warmup = 200; thin = 1;" in text
    assert s.fixed.loc["Days", "Estimate"] == pytest.approx(fit.draws()["b_Days"].mean())
    assert "<table" in fit._repr_html_()


def test_prior_summary_prints_as_brms(fit: brmc.Fit) -> None:
    expected = reference_text("sleepstudy_slopes", "prior_summary.txt")
    assert repr(fit.prior_summary()) == expected


def test_user_priors_in_prior_summary() -> None:
    md = brmc.data.build_data(brmc.parse_formula(SLEEP), brmc.datasets.load("sleepstudy"), brmc.get_family("gaussian"))
    spec = brmc.priors.resolve_priors(
        md, [brmc.prior("normal(0, 5)", class_="b", coef="Days"), brmc.prior("cauchy(0, 10)", class_="sd", group="Subject")]
    )
    tab = brmc.priors.prior_summary_table(md, spec).set_index(["class", "coef", "group"])
    assert tuple(tab.loc[("b", "Days", ""), ["prior", "source"]]) == ("normal(0, 5)", "user")
    assert tuple(tab.loc[("b", "", ""), ["prior", "source"]]) == ("", "default")
    assert tuple(tab.loc[("sd", "", "Subject"), ["prior", "source"]]) == ("cauchy(0, 10)", "user")
    assert tuple(tab.loc[("sd", "Days", "Subject"), ["prior", "source"]]) == ("cauchy(0, 10)", "(vectorized)")
    assert tuple(tab.loc[("sd", "", ""), ["prior", "source"]]) == ("student_t(3, 0, 59.3)", "default")


def test_same_seed_same_draws(fit: brmc.Fit) -> None:
    """The session's fit again, whether this process still holds its compiled model or compiled it
    again (it keeps the most recently used 32); a second refit then compiles nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False)
        with xla_compilations() as compiled:
            third = brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False)
    np.testing.assert_array_equal(fit.draws().to_numpy(), again.draws().to_numpy())
    np.testing.assert_array_equal(fit.draws().to_numpy(), third.draws().to_numpy())
    assert compiled == []  # the compiled model was reused


def test_tight_prior_moves_the_posterior(fit: brmc.Fit) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tight = brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False,
                         prior=brmc.prior("normal(30, 0.5)", class_="b", coef="Days"))
    assert abs(tight.draws()["b_Days"].mean() - 30) < 1.5
    assert tight.draws()["b_Days"].std() < 0.6


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brmc.cli", *args], capture_output=True, text=True, timeout=600)


def test_cli_priors_and_datasets() -> None:
    out = _cli("priors", SLEEP, "--data", "sleepstudy")
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip("\n") == repr(brmc.get_prior(SLEEP, brmc.datasets.load("sleepstudy")))
    listing = _cli("datasets")
    assert "sleepstudy" in listing.stdout and "mjspr" in listing.stdout


def test_cli_fit_prints_the_summary(tmp_path) -> None:
    csv = tmp_path / "sleep.csv"
    brmc.datasets.load("sleepstudy").to_csv(csv, index=False)
    out = _cli("fit", "Reaction ~ Days + (1 | Subject)", "--data", str(csv), "--chains", "1", "--iter", "300",
               "--seed", "3", "--prior", "normal(0, 10) | b")
    assert out.returncode == 0, out.stderr
    assert "   Data: sleep (Number of observations: 180) " in out.stdout
    assert "Population-Level Effects: " in out.stdout and "sd(Intercept)" in out.stdout


def test_cli_reports_bad_input_without_traceback() -> None:
    out = _cli("priors", "Reaction ~ Dys", "--data", "sleepstudy")
    assert out.returncode == 2
    assert "Did you mean 'Days'" in out.stderr and "Traceback" not in out.stderr


def test_arviz_numba_setting_is_restored_after_a_summary(fit: brmc.Fit) -> None:
    import arviz as az

    from brmc.summary import arviz_numpy, summarise_draws

    before = az.Numba.numba_flag
    with arviz_numpy():
        assert az.Numba.numba_flag is False
    assert az.Numba.numba_flag == before
    with pytest.raises(ValueError), arviz_numpy():
        raise ValueError
    assert az.Numba.numba_flag == before
    row = summarise_draws(fit.idata.posterior["b_Days"].values)  # NumPy path, same numbers as ArviZ's default
    assert row["Bulk_ESS"] == pytest.approx(float(az.ess(fit.idata.posterior["b_Days"].values, method="bulk")))
    assert az.Numba.numba_flag == before
