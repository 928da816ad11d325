"""me(x, sdx) measurement-error terms through brm(): brms 2.18's default priors, data and model density
(its Stan code for me_nhanes written here in NumPy/SciPy, on brms's standata), draws' names, summary,
predictions at the training rows, and the refusals.

brms's own numbers: the get_prior rows, standata and Stan code of me_nhanes (``bmi ~ me(chl, 10) +
age``, gaussian, on nhanes without its incomplete rows; tests/reference/me_nhanes/).  brms ran no fit
of it, so the fit is checked against the draws' own algebra (``Xme = meanme + sdme * zme``, the
linear predictor from brms's design, new rows' latent values a standard normal around x in sdx units).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

import brmc
from brmc.errors import DataError, FormulaError
from brmc.terms import me

from .conftest import quiet, reference_csv, reference_standata
from .test_reference_priors import _compare

NHANES2 = brmc.datasets.load("nhanes").dropna().reset_index(drop=True)
FORMULA = "bmi ~ me(chl, 10) + age"


def test_default_priors_equal_brms() -> None:
    _compare(brmc.get_prior(FORMULA, NHANES2, family="gaussian"), reference_csv("me_nhanes", "get_prior.csv"))


def test_model_data_equal_brms_standata() -> None:
    ref = reference_standata("me_nhanes")
    md = brmc.data.build_data(brmc.parse_formula(FORMULA), NHANES2, brmc.get_family("gaussian"))
    np.testing.assert_array_equal(md.y, ref["Y"])
    np.testing.assert_array_equal(md.predictors["mu"].X, ref["X"])
    (term,) = md.predictors["mu"].parts["me"]
    np.testing.assert_array_equal(term.Xn, ref["Xn_1"])
    np.testing.assert_array_equal(term.noise, ref["noise_1"])


def test_sdx_may_be_a_column() -> None:
    data = NHANES2.assign(sdchl=np.linspace(5, 17, len(NHANES2)))
    md = brmc.data.build_data(brmc.parse_formula("bmi ~ me(chl, sdchl)"), data, brmc.get_family("gaussian"))
    (term,) = md.predictors["mu"].parts["me"]
    assert (term.label, term.coef) == ("mechlsdchl", "mechl")
    np.testing.assert_array_equal(term.noise, data["sdchl"].to_numpy())


def _brms_target(ref: dict[str, np.ndarray], p: dict[str, np.ndarray]) -> float:
    """brms's Stan ``target`` of me_nhanes (model.stan), with constants, on its standata."""
    X = ref["X"].astype(float)
    Xc = X[:, 1:] - X[:, 1:].mean(axis=0)
    Xme = p["meanme_1"][0] + p["sdme_1"][0] * p["zme_1"]
    mu = p["Intercept"] + p["bsp"][0] * Xme + Xc @ p["b"]
    target = scipy.stats.norm.logpdf(ref["Y"], mu, p["sigma"]).sum()
    target += scipy.stats.t.logpdf(p["Intercept"], 3, 27.2, 6.7)
    target += scipy.stats.t.logpdf(p["sigma"], 3, 0, 6.7) - scipy.stats.t.logsf(0, 3, 0, 6.7)
    target += scipy.stats.norm.logpdf(ref["Xn_1"], Xme, ref["noise_1"]).sum()
    return float(target + scipy.stats.norm.logpdf(p["zme_1"]).sum())


def test_model_density_is_brms_stan_model_on_its_standata() -> None:
    """PyMC's density without Jacobians is Stan's ``target`` at the same constrained point, but for the
    constant ``- student_t_lccdf(0 | 3, 0, 6.7)`` of sigma's bounded prior, which brmc's priors leave out
    of every model (a constant: the same draws)."""
    ref = reference_standata("me_nhanes")
    model = brmc.make_model(FORMULA, NHANES2, family="gaussian").model
    rng = np.random.default_rng(5)
    p = {"b": np.array([1.3]), "Intercept": np.array(26.0), "bsp": np.array([0.04]), "sigma": np.array(3.5),
         "meanme_1": np.array([190.0]), "sdme_1": np.array([40.0]), "zme_1": rng.normal(size=len(ref["Y"]))}
    point = {"b": p["b"], "Intercept": p["Intercept"], "bspme": p["bsp"], "meanme_1": p["meanme_1"],
             "sdme_1_log__": np.log(p["sdme_1"]), "zme_1": p["zme_1"], "sigma_log__": np.log(p["sigma"])}
    assert set(point) == {v.name for v in model.value_vars}
    compiled = model.compile_logp(jacobian=False)
    logp = lambda point: compiled(point) - scipy.stats.t.logsf(0, 3, 0, 6.7)
    np.testing.assert_allclose(logp(point), _brms_target(ref, p), rtol=1e-10)
    p["zme_1"] = p["zme_1"] + 0.5  # the latent values move the likelihood, the measurement model and their prior
    point["zme_1"] = p["zme_1"]
    np.testing.assert_allclose(logp(point), _brms_target(ref, p), rtol=1e-10)


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    return quiet(brmc.brm, FORMULA, NHANES2, family="gaussian", chains=1, iter=300, seed=8, progress=False)


def test_draws_are_named_as_brms(fit: brmc.Fit) -> None:
    post = fit.idata.posterior
    names = set(map(str, post.data_vars))
    assert {"b_Intercept", "b_age", "bsp_mechl10", "sigma", "meanme_mechl", "sdme_mechl"} <= names
    assert {f"Xme_mechl[{i}]" for i in range(1, 14)} <= names and "Xme_mechl[14]" not in names
    assert (post["sdme_mechl"].values > 0).all()
    assert list(fit.fixef().index) == ["Intercept", "age", "mechl10"]


def test_summary_prints_the_coefficient_with_the_population_effects(fit: brmc.Fit) -> None:
    """brms 2.18's summary: ``mechl10`` among the population-level effects, meanme/sdme in no section."""
    text = str(fit)
    fixed = text[text.index("Population-Level Effects:"):text.index("Family Specific Parameters:")]
    assert "\nmechl10 " in fixed and "meanme" not in text and "sdme" not in text and "Xme" not in text


def test_predictions_at_the_training_rows_use_the_latent_values(fit: brmc.Fit) -> None:
    post = fit.idata.posterior
    flat = lambda name: post[name].values.reshape(-1)
    Xme = np.stack([flat(f"Xme_mechl[{i}]") for i in range(1, 14)], axis=-1)
    age = NHANES2["age"].to_numpy(float)
    expected = flat("b_Intercept")[:, None] + flat("b_age")[:, None] * age + flat("bsp_mechl10")[:, None] * Xme
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit), expected, rtol=1e-10)


def test_the_draws_go_back_to_the_model_parameters_and_return(fit: brmc.Fit) -> None:
    """``constrained`` (brms's names → zme, meanme_1, ...) then ``rename`` gives the draws again."""
    post = fit.idata.posterior
    lp = fit.model_data.predictors["mu"]
    back = me.KIND.constrained(post, lp, lp.parts["me"])
    assert set(back) == {"bspme", "meanme_1", "sdme_1", "zme_1"}
    raw = xr.Dataset({k: (("chain", "draw", f"{k}_dim"), v) for k, v in back.items()})
    again = me.KIND.rename(raw, lp, lp.parts["me"])
    for name, values in {**again["bsp"], **again["me"]}.items():
        np.testing.assert_allclose(values, post[name].values, rtol=1e-9, err_msg=name)


def test_new_rows_draw_the_latent_values_as_brms(fit: brmc.Fit) -> None:
    """brms's ``prepare_predictions_sp`` with new data: ``Xme ~ normal(Xn, noise)`` afresh per draw."""
    new = pd.DataFrame({"age": [1, 3], "chl": [150.0, 250.0], "bmi": [0.0, 0.0]})
    epred = brmc.predict.posterior_epred(fit, newdata=new, seed=3)
    post = fit.idata.posterior
    flat = lambda name: post[name].values.reshape(-1)
    mean = flat("b_Intercept")[:, None] + flat("b_age")[:, None] * new["age"].to_numpy()
    Xme = (epred - mean) / flat("bsp_mechl10")[:, None]  # the latent values each draw used
    z = (Xme - new["chl"].to_numpy()) / 10.0
    assert abs(z.mean()) < 0.2 and abs(z.std() - 1) < 0.15  # 150 draws × 2 rows of a standard normal
    assert scipy.stats.kstest(z.ravel(), "norm").pvalue > 0.01
    np.testing.assert_array_equal(epred, brmc.predict.posterior_epred(fit, newdata=new, seed=3))
    with pytest.raises(DataError, match="lacks the column.*'chl'"):
        brmc.predict.posterior_epred(fit, newdata=new.drop(columns="chl"))


@pytest.mark.parametrize("formula, error, message", [
    ("bmi ~ age + (me(chl, 10) | hyp)", FormulaError, r"group-level term such as \(me\(chl, 10\) \| hyp\)"),
    ("bmi ~ me(chl, 10) + me(age, 1)", FormulaError, r"one me\(\) term.*me\(chl, 10\), me\(age, 1\)"),
    ("bmi ~ me(log(chl), 10)", FormulaError, r"me\(log\(chl\), 10\) takes a column name"),
    ("bmi ~ me(chl)", FormulaError, r"me\(chl\) takes two arguments"),
    ("bmi ~ me(chl, neg)", DataError, r"sdx of me\(chl, neg\) must be zero or more"),
    ("bmi ~ me(chl, 10) + mi(age)", FormulaError, r"'mi' terms .* response variables.*'age'"),
])
def test_refusals_name_the_term(formula: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        brmc.get_prior(formula, NHANES2.assign(neg=-1.0), family="gaussian")


def test_me_in_another_dpar_is_refused() -> None:
    with pytest.raises(FormulaError, match=r"mu only, not sigma: me\(chl, 10\)"):
        brmc.get_prior(brmc.bf("bmi ~ age", "sigma ~ me(chl, 10)"), NHANES2, family="gaussian")


def test_nhanes2_is_the_complete_rows_brms_kept() -> None:
    assert len(NHANES2) == int(reference_standata("me_nhanes")["N"][0])
    assert isinstance(NHANES2, pd.DataFrame) and not NHANES2.isna().any().any()


def test_user_priors_reach_the_coefficient_and_the_latent_mean_and_sd() -> None:
    priors = [brmc.prior("normal(0, 1)", class_="b", coef="mechl10"), brmc.prior("normal(190, 50)", class_="meanme"),
              brmc.prior("exponential(0.1)", class_="sdme")]
    point = {"b": np.array([1.3]), "Intercept": np.array(26.0), "bspme": np.array([0.04]), "meanme_1": np.array([185.0]),
             "sdme_1_log__": np.log([40.0]), "zme_1": np.linspace(-1, 1, 13), "sigma_log__": np.log(3.5)}
    flat, given = (brmc.make_model(FORMULA, NHANES2, family="gaussian", prior=p).model.compile_logp(jacobian=False)
                   for p in (None, priors))
    expected = (scipy.stats.norm.logpdf(0.04, 0, 1) + scipy.stats.norm.logpdf(185.0, 190, 50)
                + scipy.stats.expon.logpdf(40.0, scale=10))
    np.testing.assert_allclose(given(point) - flat(point), expected, rtol=1e-10)
