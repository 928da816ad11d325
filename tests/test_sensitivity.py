"""Prior sensitivity: sweeps, update against fresh fits, prior-only sampling, prior
draws and Savage–Dickey ratios, power-scaling, the PC prior.

Numbers are checked against independent computations: SciPy's densities and
kernel estimates, known prior moments, conjugate-style approximations of what a
tight prior must do, and the sequential sweep for the process-pool one.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import warnings
from concurrent.futures import ProcessPoolExecutor

import matplotlib

matplotlib.use("Agg")

import arviz as az  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402
from scipy import stats  # noqa: E402

import brmc  # noqa: E402
from brmc import cluster, prior_sampling, sensitivity  # noqa: E402
from brmc.hypothesis_testing import hypothesis, savage_dickey  # noqa: E402
from brmc.errors import DataError, PriorError  # noqa: E402
from brmc.priors import pc_prior, resolve_priors  # noqa: E402
from brmc.sampling import SamplingResult, to_inference_data  # noqa: E402

from .conftest import xla_compilations  # noqa: E402

FORMULA = "Reaction ~ Days + (Days | Subject)"
SETTINGS = {"chains": 2, "iter": 600, "seed": 4321, "progress": False}
RUN_JOB = cluster.run_job
REPORTED = ["b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days",
            "cor_Subject__Intercept__Days", "sigma"]
TIGHT = [brmc.prior("normal(5, 0.1)", class_="b", coef="Days")]
WIDE = [brmc.prior("normal(0, 1000)", class_="b")]


def _quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def fit(sleep: pd.DataFrame) -> brmc.Fit:
    """sleepstudy_slopes with brms's default priors (flat on b)."""
    return _quiet(brmc.brm, FORMULA, sleep, **SETTINGS)


#: The XLA compilations of each prior set's refit in the ``sweep`` fixture, in order.
SWEEP_COMPILATIONS: list[list[str]] = []


@pytest.fixture(scope="module")
def sweep(fit: brmc.Fit) -> sensitivity.SweepResult:
    run_job = cluster.run_job

    def counted(*args, **kwargs):
        with xla_compilations() as compiled:
            result = run_job(*args, **kwargs)
        SWEEP_COMPILATIONS.append(compiled)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cluster, "run_job", counted)
        return _quiet(sensitivity.prior_sweep, fit, {"tight": TIGHT, "wide": WIDE})


@pytest.fixture(scope="module")
def fit_normal_b(fit: brmc.Fit) -> brmc.Fit:
    """normal(8, 5) on b, 2 000 draws, prior draws added beside the posterior."""
    new = _quiet(brmc.update, fit, prior=[brmc.prior("normal(8, 5)", class_="b")], iter=2000, seed=99)
    return dataclasses.replace(new, idata=prior_sampling.add_prior_draws(new))


# ---------------------------------------------------------------- sweeps and update

def test_tight_prior_moves_posterior_to_prior_and_shrinks_it(sweep: sensitivity.SweepResult) -> None:
    table = sweep.table()
    original = sweep.draws["original"]["b_Days"]
    m0, s0 = original.mean(), original.std(ddof=1)
    # The original prior on b is flat, so the new posterior is the original one times
    # normal(5, 0.1); with the original approximately normal(m0, s0):
    precision = 1 / s0**2 + 1 / 0.1**2
    expected_mean, expected_sd = (m0 / s0**2 + 5 / 0.1**2) / precision, precision**-0.5
    tight = table.loc[("b_Days", "tight")]
    assert abs(tight["Estimate"] - expected_mean) < 0.03
    assert tight["Est.Error"] == pytest.approx(expected_sd, rel=0.15)
    assert tight["Shift"] == pytest.approx((tight["Estimate"] - m0) / s0)
    assert tight["Shift"] < -2 and tight["SD.Ratio"] < 0.2
    assert tight["Q2.5"] < 5 < tight["Q97.5"]


def test_wide_prior_changes_nothing_beyond_monte_carlo_error(sweep: sensitivity.SweepResult) -> None:
    wide = sweep.table().xs("wide", level="prior_set")
    assert list(wide.index) == REPORTED
    assert (wide["Shift"].abs() < 0.35).all(), wide["Shift"]
    assert ((wide["SD.Ratio"] > 0.75) & (wide["SD.Ratio"] < 1.33)).all(), wide["SD.Ratio"]


def test_sweep_table_matches_the_draws(sweep: sensitivity.SweepResult) -> None:
    table = sweep.table(probs=(0.05, 0.95))
    assert list(table.columns) == ["Estimate", "Est.Error", "Q5", "Q95", "Shift", "SD.Ratio"]
    assert list(table.index.get_level_values("prior_set")[:3]) == ["original", "tight", "wide"]
    x = sweep.draws["wide"]["sigma"].to_numpy()
    row = table.loc[("sigma", "wide")]
    assert row["Estimate"] == pytest.approx(x.mean())
    assert row["Q95"] == pytest.approx(np.quantile(x, 0.95))
    assert table.loc[("sigma", "original"), "Shift"] == 0


def test_sweep_compiles_a_new_structure_once(sweep: sensitivity.SweepResult) -> None:
    # flat -> normal on b is a new graph: compiled for "tight" (or earlier), reused by "wide"
    assert len(SWEEP_COMPILATIONS) == 2 and SWEEP_COMPILATIONS[1] == []
    assert not sweep.info.loc["wide", "compiled"]
    assert list(sweep.info.columns) == ["seconds", "compile", "compiled", "divergent", "pid", "method", "pareto_k"]
    assert list(sweep.info["method"]) == ["refit", "refit"]


def test_sweep_plot_draws_one_interval_per_prior_set(sweep: sensitivity.SweepResult) -> None:
    fig = sweep.plot(variables=["b_Days", "sigma"])
    axes = fig.get_axes()
    assert [ax.get_title(loc="left") for ax in axes] == ["b_Days", "sigma"]
    lines = axes[0].get_lines()
    assert len(lines) == 2 * 3  # interval and point for original, tight, wide
    tight_interval = lines[2].get_xdata()
    row = sweep.table().loc[("b_Days", "tight")]
    assert list(tight_interval) == pytest.approx([row["Q2.5"], row["Q97.5"]])
    assert lines[0].get_color() != lines[2].get_color()
    with pytest.raises(DataError, match="not in the sweep"):
        sweep.plot(variables=["b_Nope"])


def test_vectorized_sweep_gives_each_sets_posterior_from_one_program(fit: brmc.Fit,
                                                                      sweep: sensitivity.SweepResult) -> None:
    """Sampled side by side, each set's posterior is the one of its separate fit (the sequential
    sweep: means within 4 Monte Carlo standard errors of the difference, sds within 25 %), and the
    sets share one compiled sampler: a second sweep with other hyperparameters compiles no sampler.
    (A fixed 0.25 sd for the means was about 3 standard errors for the correlation, whose chain
    means differ by up to 0.15 from one seed to the next.)"""
    together = _quiet(sensitivity.prior_sweep, fit, {"tight": TIGHT, "wide": WIDE}, vectorize=True)
    chains = SETTINGS["chains"]
    for name in ("tight", "wide"):
        ours, separate = together.draws[name], sweep.draws[name]
        assert ours.shape == separate.shape
        assert not ours.equals(separate)  # really another computation
        for variable in REPORTED:
            sd = separate[variable].std()
            mcse = np.hypot(*(az.mcse(d[variable].to_numpy().reshape(chains, -1)).item()
                              for d in (ours, separate)))
            assert abs(ours[variable].mean() - separate[variable].mean()) < 4 * mcse, (name, variable)
            assert 0.75 < ours[variable].std() / sd < 1.33, (name, variable)
    other = [[brmc.prior("normal(4, 0.5)", class_="b", coef="Days")], [brmc.prior("normal(0, 100)", class_="b")]]
    with xla_compilations() as compiled:
        again = _quiet(sensitivity.prior_sweep, fit, other, vectorize=True)
    assert not any("pmap" in name for name in compiled), compiled
    assert abs(again.draws["set1"]["b_Days"].mean() - 4) < abs(again.draws["set2"]["b_Days"].mean() - 4)


def test_psis_sweep_reweights_modest_changes_and_refits_the_others(fit: brmc.Fit, monkeypatch) -> None:
    """method="psis": a normal(8, 2) prior on b_Days moves the flat-prior posterior as the
    precision-weighted normal approximation says, with no sampling; the tight normal(5, 0.1) is
    too far for importance weights (Pareto k > 0.7) and is refitted."""
    refits = []
    monkeypatch.setattr(cluster, "run_job", lambda job: refits.append(job) or RUN_JOB(job))
    moderate = [brmc.prior("normal(8, 2)", class_="b", coef="Days")]
    sweep = _quiet(sensitivity.prior_sweep, fit, {"moderate": moderate, "tight": TIGHT}, method="psis")
    assert list(sweep.info["method"]) == ["psis", "refit"] and len(refits) == 1
    assert sweep.info.loc["moderate", "pareto_k"] <= 0.7
    original = sweep.draws["original"]["b_Days"]
    m0, s0 = original.mean(), original.std(ddof=1)
    precision = 1 / s0**2 + 1 / 2**2
    expected_mean, expected_sd = (m0 / s0**2 + 8 / 2**2) / precision, precision**-0.5
    ours = sweep.draws["moderate"]["b_Days"]
    assert m0 - expected_mean > 0.5  # a real shift, which unweighted draws would miss
    assert abs(ours.mean() - expected_mean) < 0.25 and 0.8 < ours.std() / expected_sd < 1.25
    assert len(ours) == len(original)
    with pytest.raises(DataError, match="'refit', 'psis'"):
        sensitivity.prior_sweep(fit, {"moderate": moderate}, method="laplace")


def test_sweep_arguments_are_checked(fit: brmc.Fit) -> None:
    with pytest.raises(PriorError, match="original"):
        sensitivity.prior_sweep(fit, {"original": WIDE})
    with pytest.raises(PriorError, match="list of brmc.prior"):
        sensitivity.prior_sweep(fit, [["normal(0, 1)"]])
    with pytest.raises(PriorError, match="does not have"):  # before any sampling
        sensitivity.prior_sweep(fit, [WIDE, [brmc.prior("normal(0, 1)", class_="b", coef="Nope")]])


def test_process_pool_sweep_gives_the_sequential_numbers(fit: brmc.Fit, sweep: sensitivity.SweepResult) -> None:
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
        parallel = _quiet(sensitivity.prior_sweep, fit, [TIGHT, WIDE], executor=pool)
    assert list(parallel.draws) == ["original", "set1", "set2"]
    pd.testing.assert_frame_equal(parallel.draws["set1"], sweep.draws["tight"])
    pd.testing.assert_frame_equal(parallel.draws["set2"], sweep.draws["wide"])


def test_update_with_new_hyperparameters_equals_a_fresh_fit(fit: brmc.Fit, sleep: pd.DataFrame) -> None:
    priors = [brmc.prior("normal(0, 5)", class_="b"), brmc.prior("student_t(3, 0, 20)", class_="sd")]
    updated = _quiet(brmc.update, fit, prior=priors, seed=77)
    with xla_compilations() as compiled:
        fresh = _quiet(brmc.brm, FORMULA, sleep, prior=priors, **{**SETTINGS, "seed": 77})
    pd.testing.assert_frame_equal(updated.draws(), fresh.draws())
    assert compiled == []  # same structure as the update: its compiled model is reused


# ---------------------------------------------------------------- prior-only sampling and prior draws

def test_sample_prior_only_matches_the_prior_moments(sleep: pd.DataFrame) -> None:
    priors = [brmc.prior("normal(5, 2)", class_="b"), brmc.prior("normal(300, 10)", class_="Intercept"),
              brmc.prior("normal(0, 5)", class_="sd"), brmc.prior("exponential(0.1)", class_="sigma"),
              brmc.prior("lkj(2)", class_="cor")]
    only = _quiet(brmc.brm, FORMULA, sleep, prior=priors, sample_prior="only",
                  **{**SETTINGS, "iter": 2000, "seed": 5})
    half_normal = stats.halfnorm(scale=5)
    lkj_marginal = stats.beta(2, 2, loc=-1, scale=2)  # LKJ(2), 2 x 2: Beta(eta - 1 + M/2, same) on (-1, 1)
    known = {  # variable: (mean, sd)
        "b_Days": (5.0, 2.0),
        "Intercept": (300.0, 10.0),
        "b_Intercept": (300.0 - 4.5 * 5.0, np.sqrt(10.0**2 + (4.5 * 2.0) ** 2)),  # Intercept - mean(Days) * b
        "sd_Subject__Intercept": (half_normal.mean(), half_normal.std()),
        "sd_Subject__Days": (half_normal.mean(), half_normal.std()),
        "sigma": (10.0, 10.0),
        "cor_Subject__Intercept__Days": (0.0, lkj_marginal.std()),
    }
    post = only.idata.posterior
    for name, (mean, sd) in known.items():
        draws = post[name].values
        ess = float(az.ess(draws))
        assert abs(draws.mean() - mean) < 4 * sd / np.sqrt(ess), name
        assert draws.std() == pytest.approx(sd, rel=0.15), name


def test_prior_draws_are_named_as_brms_and_follow_the_priors(fit_normal_b: brmc.Fit) -> None:
    names = [n for n in fit_normal_b.idata.posterior.data_vars if n.startswith("prior_")]
    assert names == ["prior_b", "prior_Intercept", "prior_sigma", "prior_sd_Subject", "prior_cor_Subject"]
    assert fit_normal_b.idata.posterior["prior_b"].shape == (2, 1000)
    draws = prior_sampling.prior_draws(fit_normal_b, 4, 5000, seed=3)
    half_t = lambda x: 2 * stats.t(3, 0, 59.3).cdf(x) - 1  # noqa: E731  student_t(3, 0, 59.3) truncated at 0
    cdfs = {
        "prior_b": stats.norm(8, 5).cdf,
        "prior_Intercept": stats.t(3, 288.7, 59.3).cdf,
        "prior_sigma": half_t,
        "prior_sd_Subject": half_t,
        "prior_cor_Subject": stats.uniform(-1, 2).cdf,  # lkj(1), 2 x 2: uniform on (-1, 1)
    }
    for name, cdf in cdfs.items():
        assert draws[name].shape == (4, 5000)
        assert stats.kstest(draws[name].ravel(), cdf).pvalue > 1e-3, name
    assert (draws["prior_sigma"] > 0).all()


def test_coefficient_priors_give_per_coefficient_prior_draws(fit: brmc.Fit) -> None:
    spec = resolve_priors(fit.model_data, [brmc.prior("normal(0, 1)", class_="b", coef="Days"),
                                           brmc.prior("cauchy(0, 2)", class_="sd", group="Subject",
                                                      coef="Days")])
    template = dataclasses.replace(fit, priors=spec)
    draws = prior_sampling.prior_draws(template, 1, 4000, seed=8)
    assert list(draws) == ["prior_b_Days", "prior_Intercept", "prior_sigma", "prior_sd_Subject__Intercept",
                           "prior_sd_Subject__Days", "prior_cor_Subject"]
    assert stats.kstest(draws["prior_sd_Subject__Days"].ravel(), stats.halfcauchy(scale=2).cdf).pvalue > 1e-3


def test_brm_sample_prior_yes_stores_prior_draws(sleep: pd.DataFrame) -> None:
    with_priors = _quiet(brmc.brm, FORMULA, sleep, prior=WIDE, sample_prior="yes", **SETTINGS)
    columns = with_priors.draws().columns
    assert {"prior_b", "prior_Intercept", "prior_sigma", "prior_sd_Subject", "prior_cor_Subject"} <= set(columns)


# ---------------------------------------------------------------- Savage–Dickey

def _r_density_at(x: np.ndarray, point: float) -> float:
    """Gaussian KDE with R's bw.nrd0 bandwidth, by SciPy."""
    sd = x.std(ddof=1)
    iqr = np.quantile(x, 0.75) - np.quantile(x, 0.25)
    bandwidth = 0.9 * min(sd, iqr / 1.34) * len(x) ** -0.2
    return float(stats.gaussian_kde(x, bw_method=bandwidth / sd)(point)[0])


def test_savage_dickey_is_the_density_ratio_at_the_point() -> None:
    rng = np.random.default_rng(12)
    posterior, prior = rng.normal(0.3, 1.0, 8000), rng.normal(0.0, 10.0, 8000)
    ratio = savage_dickey(posterior, prior)
    assert ratio == pytest.approx(_r_density_at(posterior, 0.0) / _r_density_at(prior, 0.0), rel=1e-9)
    assert ratio == pytest.approx(stats.norm(0.3, 1).pdf(0) / stats.norm(0, 10).pdf(0), rel=0.1)


def test_hypothesis_reports_savage_dickey_with_prior_draws(fit_normal_b: brmc.Fit) -> None:
    draws = fit_normal_b.draws()
    h = hypothesis(fit_normal_b, ["Days = 8", "Days > 8", "Intercept = 250"]).hypothesis
    expected = (_r_density_at(draws["b_Days"].to_numpy() - 8, 0.0)
                / _r_density_at(draws["prior_b"].to_numpy() - 8, 0.0))
    assert h.loc[1, "Evid.Ratio"] == pytest.approx(expected, rel=1e-9)
    assert h.loc[1, "Post.Prob"] == pytest.approx(expected / (1 + expected))
    # normal approximation of the posterior over the prior's exact density
    approx = stats.norm(draws["b_Days"].mean(), draws["b_Days"].std()).pdf(8) / stats.norm(8, 5).pdf(8)
    assert h.loc[1, "Evid.Ratio"] == pytest.approx(approx, rel=0.3)
    one_sided = (draws["b_Days"] > 8).mean()
    assert h.loc[2, "Post.Prob"] == pytest.approx(one_sided)  # one-sided: unchanged
    assert np.isnan(h.loc[3, "Evid.Ratio"])  # the overall intercept has no prior draws, as in brms
    both = hypothesis(fit_normal_b, "Days = sd_Subject__Days").hypothesis
    assert np.isfinite(both.loc[1, "Evid.Ratio"])  # prior_b and prior_sd_Subject, shuffled apart
    assert np.isnan(hypothesis(draws, "b_Days = 8").hypothesis.loc[1, "Evid.Ratio"])  # data frames: no priors


# ---------------------------------------------------------------- power-scaling

def test_log_prior_is_the_sum_of_the_default_prior_densities(fit: brmc.Fit) -> None:
    post = fit.idata.posterior
    t = stats.t(3, 0, 59.3)
    expected = (stats.t(3, 288.7, 59.3).logpdf(post["Intercept"].values) + t.logpdf(post["sigma"].values)
                + t.logpdf(post["sd_Subject__Intercept"].values) + t.logpdf(post["sd_Subject__Days"].values))
    np.testing.assert_allclose(sensitivity.log_prior(fit), expected)  # lkj(1) and flat b add nothing


def _made_up_fit_and_graph_lprior(formula, data: pd.DataFrame, priors: list, family: str = "gaussian",
                                  n: int = 40, seed: int = 3) -> tuple[brmc.Fit, np.ndarray]:
    """A Fit whose draws are ``n`` random points of the model's unconstrained space, and the sum
    of the model's own ``lprior_`` potentials at each point, evaluated by PyMC on the value
    variables (no brmc code between the points and the density)."""
    built = brmc.make_model(formula, data, family=family, prior=priors)
    model = built.model
    lprior = pt.add(*[v for v in model.potentials if v.name.startswith("lprior_")])
    outs = model.replace_rvs_by_values([lprior, *model.free_RVs])
    evaluate = pytensor.function(model.value_vars, outs, on_unused_input="ignore")
    rng = np.random.default_rng(seed)
    start = model.initial_point()
    points = [[rng.normal(0.0, 0.5, size=np.shape(start[v.name])) for v in model.value_vars] for _ in range(n)]
    values = [evaluate(*point) for point in points]
    raw = xr.Dataset({rv.name: (("chain", "draw", *[f"{rv.name}_dim_{d}" for d in range(np.ndim(values[0][i + 1]))]),
                                np.stack([v[i + 1] for v in values])[None])
                      for i, rv in enumerate(model.free_RVs)}, coords={"chain": [0], "draw": np.arange(n)})
    stats_ = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((1, n), dtype=bool))})
    md = brmc.data.build_data(brmc.formula.as_formula(formula), data, brmc.get_family(family))
    spec = resolve_priors(md, priors)
    idata = to_inference_data(SamplingResult(az.InferenceData(posterior=raw, sample_stats=stats_), 0.0, 0.0), md)
    fit = brmc.Fit(model_data=md, priors=spec, settings=brmc.sampling.SamplerSettings(chains=1, iter=2 * n, warmup=n),
                   idata=idata)
    return fit, np.array([float(v[0]) for v in values])[None]


def test_log_prior_is_the_models_prior_density_for_three_correlated_effects() -> None:
    """brms's lprior (lkj_corr_cholesky on L) for a 3 x 3 correlation block, where the LKJ
    density of the correlation matrix would differ."""
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(8), 6)
    data = pd.DataFrame({"x": rng.normal(size=48), "z": rng.normal(size=48), "g": g.astype(str)})
    data["y"] = 1.0 + 0.5 * data["x"] + rng.normal(size=8)[g] + rng.normal(size=48)
    priors = [brmc.prior("normal(0, 2)", class_="b"), brmc.prior("lkj(2)", class_="cor")]
    fit, expected = _made_up_fit_and_graph_lprior("y ~ x + (1 + x + z | g)", data, priors)
    assert "cor_g__x__z" in fit.idata.posterior
    np.testing.assert_allclose(sensitivity.log_prior(fit), expected, rtol=1e-10, atol=1e-8)


def test_log_prior_is_the_models_prior_density_for_sleepstudy(sleep: pd.DataFrame) -> None:
    fit, expected = _made_up_fit_and_graph_lprior(FORMULA, sleep, [brmc.prior("lkj(3)", class_="cor")])
    np.testing.assert_allclose(sensitivity.log_prior(fit), expected, rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("case", ["thresholds", "sigma_predictor"])
def test_log_prior_is_the_models_prior_density_for_thresholds_and_predicted_dpars(case: str) -> None:
    """Ordinal thresholds (centred as the graph has them) and a predicted sigma's own b and Intercept."""
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"x": rng.normal(size=60), "g": np.repeat(list("abcdef"), 10)})
    if case == "thresholds":
        data["y"] = np.digitize(data["x"] + rng.normal(size=60), [-1.0, 0.0, 1.0]) + 1
        formula, family = "y ~ x + (1 | g)", "cumulative"
        priors = [brmc.prior("normal(0, 3)", class_="Intercept"), brmc.prior("normal(0, 2)", class_="b")]
    else:
        data["y"] = data["x"] + rng.normal(size=60)
        formula, family = brmc.bf("y ~ x + (1 | g)", sigma="~ x"), "gaussian"
        priors = [brmc.prior("normal(0, 2)", class_="b", dpar="sigma"), brmc.prior("normal(0, 1)", class_="b")]
    fit, expected = _made_up_fit_and_graph_lprior(formula, data, priors, family=family)
    np.testing.assert_allclose(sensitivity.log_prior(fit), expected, rtol=1e-10, atol=1e-8)


def test_powerscale_does_not_flag_the_default_priors(fit: brmc.Fit) -> None:
    result = sensitivity.powerscale_sensitivity(fit)
    assert list(result.index) == REPORTED
    assert list(result.columns) == ["prior", "likelihood", "diagnosis"]
    assert (result["prior"] < 0.05).all(), result
    assert (result["diagnosis"] == "-").all(), result


def test_powerscale_flags_a_conflicting_prior(fit: brmc.Fit) -> None:
    conflicting = _quiet(brmc.update, fit, prior=[brmc.prior("normal(0, 1)", class_="b", coef="Days")])
    result = _quiet(sensitivity.powerscale_sensitivity, conflicting)
    assert result.loc["b_Days", "prior"] > 0.1
    assert result.loc["b_Days", "diagnosis"] == "prior-data conflict"
    assert result.loc["sigma", "diagnosis"] == "-"


def test_powerscale_diagnosis_follows_the_thresholds(fit: brmc.Fit) -> None:
    result = sensitivity.powerscale_sensitivity(fit, variables=["b_Days", "sigma"], threshold=0.0)
    assert (result["diagnosis"] == "prior-data conflict").all()
    result = sensitivity.powerscale_sensitivity(fit, variables=["sigma"], threshold=1e9)
    assert result.loc["sigma", "diagnosis"] == "-"
    with pytest.raises(DataError, match="not found"):
        sensitivity.powerscale_sensitivity(fit, variables=["b_Nope"])


# ---------------------------------------------------------------- PC prior

def test_pc_prior_puts_alpha_above_U(fit: brmc.Fit) -> None:
    p = pc_prior(30.0, 0.05, group="Subject")
    rate = float(p.prior[len("exponential("):-1])
    assert stats.expon(scale=1 / rate).sf(30.0) == pytest.approx(0.05, rel=1e-12)
    spec = resolve_priors(fit.model_data, [p])
    sds = [q for q in spec.params if q.class_ == "sd"]
    assert all(q.dist.name == "exponential" and q.source in {"user", "(vectorized)"} for q in sds)
    with pytest.raises(PriorError, match="alpha"):
        pc_prior(1.0, 1.5)
    with pytest.raises(PriorError, match="U must be"):
        pc_prior(0.0, 0.01)
