"""brm(algorithm=): the approximate algorithms against brms's NUTS posterior, fixed_param against
its definition (every draw is the chain's initial values), and brms's summary for such draws."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.errors import SamplingError
from brmc.model import build_model
from brmc.sampling import jax_model

from .conftest import SLEEP, quiet, reference_path

#: brms 2.18's NUTS posteriors (tests/reference/<case>/draws_summary.csv)
REF = {case: pd.read_csv(reference_path(case, "draws_summary.csv"), index_col=0)
       for case in ("sleepstudy_slopes", "gcse_m1", "gcse_m3", "jsp_nested")}
#: the fits checked (each compiles its programs once: a few seconds), and those known to miss, with
#: the largest |mean - brms mean| / brms sd of b_ measured (docs/performance.md): both algorithms
#: are Stan's, and their Pareto k (> 0.7 on every hierarchical model) says the approximation is poor.
#: Pathfinder is not among them: on sleepstudy its b_ error is 0.01-0.46 sd over six seeds (Pareto k
#: 1.7, a few effective draws after resampling; docs/performance.md), so a fixed seed would pass or
#: fail by the machine's rounding; tests/test_pathfinder.py checks its normals on a known target
CHECKED = [("sleepstudy_slopes", "meanfield"), ("sleepstudy_slopes", "fullrank"), ("sleepstudy_slopes", "laplace"),
           ("gcse_m1", "meanfield"), ("gcse_m1", "fullrank"),
           ("gcse_m1", "laplace"), ("gcse_m3", "meanfield"), ("gcse_m3", "laplace"), ("jsp_nested", "meanfield"),
           ("jsp_nested", "fullrank"), ("jsp_nested", "laplace")]
MISSES = {
    ("jsp_nested", "laplace"): "b_ 0.68 sd off: the joint mode of the non-centred model (sd_ far out; Pareto k 9.6)",
}
@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def laplace_fit(sleep) -> tuple[brmc.Fit, list[str]]:
    """sleepstudy's Laplace fit and the messages of the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = brmc.brm(SLEEP, sleep, algorithm="laplace", seed=3, progress=False)
    return fit, [str(w.message) for w in caught]


def _recovers(case: str, algorithm: str, bound: float = 0.3) -> brmc.Fit:
    """Each b_ mean of ``algorithm``'s draws within ``bound`` brms posterior sd of brms's NUTS mean; the fit."""
    formula, data, family = brmc.datasets.REFERENCE_MODELS[case]
    fit = quiet(brmc.brm, formula, brmc.datasets.load(data), family=family, algorithm=algorithm, seed=1234,
                progress=False)
    draws = fit.draws()
    assert len(draws) == 1000  # rstan vb's output_samples, in one chain
    ref = REF[case]
    for name in [c for c in ref.index if c.startswith("b_")]:
        z = (draws[name].mean() - ref.loc[name, "mean"]) / ref.loc[name, "sd"]
        assert abs(z) < bound, (name, z)
    return fit


@pytest.mark.reference
@pytest.mark.parametrize("case, algorithm", [
    pytest.param(case, algorithm, marks=[pytest.mark.xfail(strict=True, reason=MISSES[case, algorithm])]
                 if (case, algorithm) in MISSES else [])
    for case, algorithm in CHECKED
])
def test_approximation_recovers_brms_population_means(case, algorithm):
    _recovers(case, algorithm)


@pytest.mark.reference
def test_pathfinder_fit_is_near_brms_on_sleepstudy():
    """algorithm="pathfinder" end to end: a Fit of 1,000 draws, its footer, and b_ means within 0.75
    brms sd of brms's NUTS means (measured 0.01-0.46 over six seeds; before the centring fix, 0.63
    at this seed, 0.35 median), a bound a fixed seed keeps on any machine's rounding."""
    fit = _recovers("sleepstudy_slopes", "pathfinder", bound=0.75)
    assert str(fit).endswith("Draws were sampled using pathfinder. ")


def test_summary_names_the_algorithm_without_chain_diagnostics(laplace_fit):
    fit = laplace_fit[0]
    text = str(fit)
    assert "  Draws: 1 chains, each with iter = 1000; warmup = 0; thin = 1;" in text
    assert text.endswith("Draws were sampled using laplace. ")
    row = [line for line in text.splitlines() if line.startswith("Days ")][0]
    assert row.split()[-3:] == ["NA", "NA", "NA"]
    assert fit.summary().fixed["Rhat"].isna().all()
    # predictions work on the approximate draws
    assert fit.fitted().shape == (180, 4)


def test_laplace_reports_pareto_k_and_warns_when_the_normal_is_poor(sleep, laplace_fit):
    """The Pareto k of the draws' importance ratios lp - lp_approx (recomputed here by arviz's PSIS):
    far above 0.7 at the joint mode of sleepstudy's non-centred model, which warns; small for a
    regression without group-level terms, whose posterior is nearly normal, which does not."""
    fit, messages = laplace_fit
    k_warnings = [m for m in messages if m.startswith("Pareto k")]
    assert len(k_warnings) == 1
    assert k_warnings[0].startswith(f"Pareto k diagnostic value is {fit.idata.sample_stats.attrs['pareto_k']:.2f}: "
                                    "the laplace approximation")
    stats = fit.idata.sample_stats
    k = stats.attrs["pareto_k"]
    assert k == pytest.approx(az.psislw((stats["lp"] - stats["lp_approx"]).values.ravel())[1])
    assert k > 0.7
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Pareto k")
        flat = brmc.brm("Reaction ~ Days", sleep, algorithm="laplace", seed=3, progress=False)
    assert flat.idata.sample_stats.attrs["pareto_k"] < 0.5


def test_fixed_param_keeps_the_initial_values(sleep):
    init = {"Intercept": 250.0, "b": [10.0], "sigma": 30.0, "sd_1": [20.0, 5.0]}
    fit = quiet(brmc.brm, SLEEP, sleep, algorithm="fixed_param", chains=2, iter=30, warmup=10, init=init,
                seed=2, progress=False)
    draws = fit.draws()
    assert len(draws) == 2 * 20
    np.testing.assert_allclose(draws["b_Days"], 10.0)
    np.testing.assert_allclose(draws["sigma"], 30.0)
    # brms's b_Intercept = Intercept - mean(Days) * b
    np.testing.assert_allclose(draws["b_Intercept"], 250.0 - sleep["Days"].mean() * 10.0)
    np.testing.assert_allclose(draws["sd_Subject__Days"], 5.0)
    assert str(fit).endswith("Draws were sampled using sampling(Fixed_param). ")
    assert "  Draws: 2 chains, each with iter = 30; warmup = 10; thin = 1;" in str(fit)


def test_unknown_algorithm_names_the_choices(sleep):
    with pytest.raises(SamplingError, match="Unknown algorithm 'vb'.*meanfield, fullrank"):
        brmc.brm(SLEEP, sleep, algorithm="vb", progress=False)


def test_a_second_fit_of_the_structure_reuses_the_compiled_program(sleep, laplace_fit):
    """Laplace's program is made once per model structure and XLA compiles it once: new data
    values are its arguments."""
    first = laplace_fit[0]
    model, _ = jax_model(build_model(first.model_data, first.priors))
    program = model.programs["laplace"]
    quiet(brmc.brm, SLEEP, sleep.assign(Reaction=sleep["Reaction"] + 10.0), algorithm="laplace", seed=3,
          progress=False)
    assert model.programs["laplace"] is program
    assert program._cache_size() == 1
