"""``s()`` and ``t2()`` as a term kind (:mod:`brmc.terms.sm`): parsing, brms's default priors and
names, the model's density against an independent one, predictions for new rows.

The agreement of fitted posteriors with brms's (s_mcycle, s_jsp_re) is in
``tests/test_reference_fits.py`` (marked ``reference``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import brmc
from brmc.errors import FormulaError

from .conftest import quiet, reference_csv, reference_standata
from .test_reference_priors import _compare

MCYCLE = brmc.datasets.load("mcycle")
JSPR = brmc.datasets.load("jspr")


@pytest.mark.parametrize("case, data", [("s_cr_mcycle", MCYCLE), ("s_by_jsp", JSPR), ("t2_mcycle", MCYCLE)])
def test_default_priors_equal_brms_grid(case: str, data: pd.DataFrame) -> None:
    rows = reference_csv(case, "default_priors2.csv")
    _compare(brmc.get_prior(rows["formula"].iloc[0], data), rows)


def test_options_are_parsed_and_deparsed_as_brms() -> None:
    term = brmc.parse_formula("y ~ s(x,bs='cr',k=8)").terms[1]
    spec = brmc.terms.sm.parse_smooth(term)
    assert (spec.covariates, spec.options, spec.text) == (["x"], {"bs": "cr", "k": 8}, 's(x, bs = "cr", k = 8)')


@pytest.mark.parametrize("formula, message", [
    ("y ~ s(x, q = 3)", "takes the arguments k, bs, by, m, fx"),
    ("y ~ s(log(x))", "must be column names"),
    ("y ~ s(x, k = x)", "not one brmc can read"),
    ('y ~ x + "a"', "Strings are not allowed"),
])
def test_bad_smooths_are_refused(formula: str, message: str) -> None:
    data = pd.DataFrame({"y": np.arange(20.0), "x": np.linspace(0, 1, 20)})
    with pytest.raises(FormulaError, match=message):
        brmc.get_prior(formula, data)


def test_names_follow_brms_for_a_factor_by() -> None:
    """brms's labels (tidy_smef) and Xs column names (data_sm) of s(craven, by = gender)."""
    md = brmc.data.build_data(brmc.parse_formula("math ~ gender + s(craven, by = gender)"), JSPR,
                              brmc.get_family("gaussian"))
    part = md.predictors["mu"].parts["sm"]
    assert part.xs_names == ["scraven:genderboy_1", "scraven:gendergirl_1"]
    assert [(sm.number, sm.label) for sm in part.smooths] == [(1, "scravengenderboy"), (2, "scravengendergirl")]
    ref = reference_standata("s_by_jsp")
    np.testing.assert_allclose(np.abs(part.Xs), np.abs(ref["Xs"]), atol=1e-9)  # brms's Xs, up to sign


def test_random_effect_smooth_is_a_group_term() -> None:
    """``s(school, bs = "re")`` is ``(1 | school)`` with ``sds`` for ``sd``: the two models' log
    densities agree at every matched point, and the smooth is added by an index gather."""
    smooth = brmc.make_model('math ~ craven + s(school, bs = "re")', JSPR)
    group = brmc.make_model("math ~ craven + (1 | school)", JSPR)
    assert smooth.values["Js_1_1"].dtype.kind == "i" and smooth.values["Js_1_1"].shape == (len(JSPR),)
    assert not any(k.startswith("Zs") for k in smooth.values)
    f_s, f_g = smooth.model.compile_logp(), group.model.compile_logp()
    rng = np.random.default_rng(5)
    n_levels = JSPR["school"].nunique()
    for _ in range(3):
        b, icpt, log_sd, log_sigma = rng.normal(size=1), rng.normal(30, 1), rng.normal(0.5, 0.3), rng.normal(1.6, 0.1)
        z = rng.normal(size=n_levels)
        point_s = {"b": b, "Intercept": icpt, "sds_1_log__": np.array([log_sd]), "zs_1_1": z, "sigma_log__": log_sigma}
        point_g = {"b": b, "Intercept": icpt, "sd_1_log__": np.array([log_sd]), "z_1": z[None, :],
                   "sigma_log__": log_sigma}
        assert f_s(point_s) == pytest.approx(f_g(point_g), rel=1e-10)


def test_the_model_density_is_brms_on_brms_data() -> None:
    """The log density of ``accel ~ s(times)`` equals an independent one written with scipy on
    brms's own ``standata`` (Xs, Zs_1_1), at points mapped through the rotation between the bases."""
    built = brmc.make_model("accel ~ s(times)", MCYCLE)
    ref = reference_standata("s_mcycle")
    Zs, Xs = built.values["Zs_1_1"], built.values["Xs"]
    Q = np.linalg.lstsq(ref["Zs_1_1"], Zs, rcond=None)[0]  # ours = brms's @ Q
    sign = np.sign(Xs[:, 0] @ ref["Xs"][:, 0])
    logp = built.model.compile_logp()
    rng = np.random.default_rng(2)
    y = MCYCLE["accel"].to_numpy()
    for _ in range(3):
        icpt, bs, log_sds, log_sigma, zs = rng.normal(-25, 2), rng.normal(0, 100), rng.normal(6.5, 0.2), \
            rng.normal(3.1, 0.05), rng.normal(size=Zs.shape[1])
        sds, sigma = np.exp(log_sds), np.exp(log_sigma)
        mu = icpt + ref["Xs"][:, 0] * sign * bs + ref["Zs_1_1"] @ (Q @ (sds * zs))
        expected = (stats.norm.logpdf(y, mu, sigma).sum() + stats.norm.logpdf(zs).sum()
                    + stats.t.logpdf(icpt, 3, -13.3, 35.6)
                    # sds and sigma: student_t on the log scale (log Jacobian); the truncation's constant
                    # -log(1/2) that brms's Stan code adds is left out of brmc's density
                    + stats.t.logpdf(sds, 3, 0, 35.6) + log_sds + stats.t.logpdf(sigma, 3, 0, 35.6) + log_sigma)
        point = {"Intercept": icpt, "bs": np.array([bs]), "sds_1_log__": np.array([log_sds]), "zs_1_1": zs,
                 "sigma_log__": log_sigma}
        assert logp(point) == pytest.approx(expected, rel=1e-9)


@pytest.fixture(scope="module")
def small_fit(fit_smooth: brmc.Fit) -> brmc.Fit:
    return fit_smooth


def test_draws_have_brms_names_and_summary_sections(small_fit: brmc.Fit) -> None:
    post = small_fit.idata.posterior
    assert list(post.data_vars)[:4] == ["b_Intercept", "bs_stimes_1", "sds_stimes_1", "s_stimes_1[1]"]
    assert [n for n in post.data_vars if str(n).startswith("s_")] == [f"s_stimes_1[{k}]" for k in range(1, 9)]
    text = str(small_fit)
    assert "Smooth Terms: \n" in text and "\nsds(stimes_1) " in text and "\nstimes_1 " in text
    assert text.index("Smooth Terms:") < text.index("Population-Level Effects:")


def test_fixef_lists_the_unpenalised_coefficients_as_brms(small_fit: brmc.Fit) -> None:
    """brms's fixef() of s_mcycle has the rows Intercept and stimes_1 (its fixef_pars ``^b(|s|sp)_``)."""
    table = small_fit.fixef()
    assert list(table.index) == ["Intercept", "stimes_1"]
    draws = small_fit.idata.posterior["bs_stimes_1"].values.ravel()
    assert table.loc["stimes_1", "Estimate"] == pytest.approx(draws.mean())


def test_new_rows_take_the_training_basis(small_fit: brmc.Fit) -> None:
    """A row's prediction is the training row's, alone or with others; new times lie on the curve
    the training rows trace (linear interpolation of a dense grid, an independent check)."""
    train = brmc.predict.posterior_epred(small_fit)
    again = brmc.predict.posterior_epred(small_fit, newdata=MCYCLE.iloc[[5, 60, 100]])
    np.testing.assert_allclose(again, train[:, [5, 60, 100]], atol=1e-8)
    alone = brmc.predict.posterior_epred(small_fit, newdata=MCYCLE.iloc[[60]])
    np.testing.assert_allclose(alone[:, 0], train[:, 60], atol=1e-8)
    grid = pd.DataFrame({"times": np.linspace(MCYCLE["times"].min(), MCYCLE["times"].max(), 2001)})
    curve = brmc.predict.posterior_epred(small_fit, newdata=grid).mean(axis=0)
    at_rows = np.interp(MCYCLE["times"], grid["times"], curve)
    np.testing.assert_allclose(at_rows, train.mean(axis=0), atol=0.05)


def test_conditional_effects_follow_the_smooth(small_fit: brmc.Fit) -> None:
    ce = brmc.conditional_effects(small_fit)
    frame = ce.data["times"]
    grid = pd.DataFrame({"times": frame["times"].to_numpy()})
    np.testing.assert_allclose(frame["estimate__"], np.median(brmc.predict.posterior_epred(small_fit, newdata=grid),
                                                              axis=0), rtol=1e-10)


@pytest.fixture(scope="module")
def two_smooths() -> brmc.Fit:
    rng = np.random.default_rng(5)
    x1, x2 = rng.uniform(0, 1, 120), rng.uniform(0, 1, 120)
    data = pd.DataFrame({"x1": x1, "x2": x2, "y": np.sin(6 * x1) + x2 ** 2 + rng.normal(0, 0.3, 120)})
    return quiet(brmc.brm, "y ~ s(x1) + s(x2, k = 5)", data, chains=1, iter=300, seed=2, progress=False)


def test_the_smooths_add_up_to_the_linear_predictor(two_smooths: brmc.Fit) -> None:
    """Each term's posterior_smooths takes its own columns of Xs and its Zs blocks: with the
    intercept (Xs is centred in brms's smooth2random only per term) they give posterior_linpred."""
    s1 = brmc.posterior_smooths(two_smooths, "s(x1)")
    s2 = brmc.posterior_smooths(two_smooths, "s(x2,k=5)")
    intercept = two_smooths.idata.posterior["b_Intercept"].values.reshape(-1, 1)
    np.testing.assert_allclose(intercept + s1 + s2, two_smooths.posterior_linpred(), atol=1e-9)
    assert np.abs(s1 - s2).max() > 0.1  # two different curves, not one term twice


def test_posterior_smooths_at_new_rows_needs_only_the_smooth_columns(two_smooths: brmc.Fit) -> None:
    train = two_smooths.model_data.frame
    new = pd.DataFrame({"x2": train["x2"].iloc[[4, 0, 9]].to_numpy()})  # no x1 column
    at_new = brmc.posterior_smooths(two_smooths, "s(x2, k = 5)", new)
    np.testing.assert_allclose(at_new, brmc.posterior_smooths(two_smooths, "s(x2, k = 5)")[:, [4, 0, 9]], atol=1e-9)


def test_conditional_smooths_use_brms_grid(two_smooths: brmc.Fit) -> None:
    ce = brmc.conditional_smooths(two_smooths)
    assert list(ce.data) == ["mu: s(x1)", 'mu: s(x2,k=5)']
    frame = ce["mu: s(x1)"]
    x1 = two_smooths.model_data.frame["x1"]
    np.testing.assert_allclose(frame["x1"], np.linspace(x1.min(), x1.max(), 100))
    draws = brmc.posterior_smooths(two_smooths, "s(x1)", frame[["x1"]])
    np.testing.assert_allclose(frame["estimate__"], np.median(draws, axis=0))
    np.testing.assert_allclose(frame["lower__"], np.quantile(draws, 0.025, axis=0))
    assert list(brmc.conditional_smooths(two_smooths, smooths="s(x2, k = 5)", resolution=7).data) == ["mu: s(x2,k=5)"]
    assert len(ce.plot()) == 2


def test_smooth_names_are_checked(two_smooths: brmc.Fit, fit: brmc.Fit) -> None:
    with pytest.raises(brmc.DataError, match=r"Term 's\(x3\)' cannot be found.*Available smooth terms are: s\(x1\)"):
        brmc.posterior_smooths(two_smooths, "s(x3)")
    with pytest.raises(brmc.DataError, match="No valid smooth terms found in the model"):
        brmc.conditional_smooths(fit)
    with pytest.raises(brmc.DataError, match="Valid distributional parameters are: mu"):
        brmc.posterior_smooths(two_smooths, "s(x1)", dpar="sigma")
