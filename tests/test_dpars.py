"""Several linear predictors per model: ``bf()`` distributional formulas and the
categorical family.  Fast: the post-processing tests run on fits whose draws are
made up (random values of every model variable), so nothing is sampled here; the
sampled fits are in ``test_dpars_fits.py``."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special, stats

import brmc
from brmc.data import category_dpars
from brmc.errors import DataError, FamilyError, FormulaError, PriorError
from brmc.sampling import SamplerSettings, SamplingResult, to_inference_data
from .conftest import without_warnings

SIGMA = ("Reaction ~ Days + (Days | Subject)", "sigma ~ Days + (1 | Subject)")
CATEGORICAL = "rating ~ treat + (1 + treat | subject)"


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def inhaler() -> pd.DataFrame:
    return brmc.datasets.load("inhaler")


def made_up_fit(formula, data: pd.DataFrame, family: str = "gaussian", seed: int = 1) -> brmc.Fit:
    """A Fit whose draws are random values of every model variable (2 chains × 50 draws)."""
    built = brmc.make_model(formula, data, family=family)
    rng = np.random.default_rng(seed)
    raw = {}
    for rv in built.model.free_RVs:
        values = rng.normal(0.0, 0.3, size=(2, 50, *rv.shape.eval()))
        raw[rv.name] = np.abs(values) + 0.5 if rv.name.startswith(("sd_", "sigma")) else values
    posterior = xr.Dataset({k: (("chain", "draw", *[f"{k}_dim_{i}" for i in range(v.ndim - 2)]), v)
                            for k, v in raw.items()}, coords={"chain": [0, 1], "draw": np.arange(50)})
    stats_ = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 50), dtype=bool))})
    result = SamplingResult(az.InferenceData(posterior=posterior, sample_stats=stats_), 0.0, 0.0)
    md = built_model_data(formula, data, family)
    settings = SamplerSettings(chains=2, iter=100, warmup=50, seed=seed)
    return brmc.Fit(model_data=md, priors=brmc.priors.resolve_priors(md), settings=settings,
                    idata=to_inference_data(result, md))


def built_model_data(formula, data: pd.DataFrame, family: str):
    return brmc.data.build_data(brmc.formula.as_formula(formula), data, brmc.get_family(family))


# ---------------------------------------------------------------- bf()

def test_bf_takes_formulas_as_text_or_keywords() -> None:
    a = brmc.bf("y ~ x + (1 | g)", "sigma ~ x + (1 | g)")
    b = brmc.bf("y ~ x + (1 | g)", sigma="~ x + (1 | g)")
    c = brmc.bf("y ~ x + (1 | g)", sigma="x + (1 | g)")
    assert a.lines() == b.lines() == c.lines() == ["y ~ x + (1 | g)", "sigma ~ x + (1 | g)"]
    assert a.pforms["sigma"].group_terms[0].group == "g" and a.pforms["sigma"].population == "x"


def test_bf_refusals_name_the_culprit(sleep) -> None:
    with pytest.raises(FamilyError, match="no distributional parameter 'foo'.*mu, sigma"):
        brmc.get_prior(brmc.bf("Reaction ~ Days", foo="~ Days"), sleep)
    with pytest.raises(FamilyError, match="'shap'.*Did you mean 'shape'"):
        brmc.get_prior(brmc.bf("Reaction ~ Days", shap="~ Days"), sleep, family="gamma")
    with pytest.raises(FormulaError, match="more than one formula"):
        brmc.bf("y ~ x", "sigma ~ x", sigma="~ z")
    with pytest.raises(FormulaError, match="name of a distributional parameter"):
        brmc.bf("y ~ x", "sigma | weights(w) ~ x")
    with pytest.raises(FormulaError, match="constant is not supported"):
        brmc.bf("y ~ x", sigma=2)
    with pytest.raises(FormulaError, match="position"):
        brmc.bf("y ~ x", sigma="~ x +")
    with pytest.raises(FamilyError, match="se\\(s, sigma = TRUE\\)"):
        brmc.get_prior(brmc.bf("Reaction | se(Days) ~ 1", sigma="~ 1"), sleep)
    with pytest.raises(FamilyError, match="Link 'logit' is not available for 'sigma'.*log, identity"):
        brmc.get_family("gaussian", link_sigma="logit")
    with pytest.raises(DataError, match="predictor of sigma uses a column 'Dayz'"):
        brmc.get_prior(brmc.bf("Reaction ~ Days", sigma="~ Dayz"), sleep)
    with pytest.raises(FamilyError, match="not supported yet"):
        brmc.get_prior(brmc.bf("rating ~ treat", disc="~ treat"), brmc.datasets.load("inhaler"),
                       family="cumulative")


def test_bf_checks_function_names_against_env(sleep) -> None:
    f = brmc.bf("Reaction ~ Days", sigma="~ twice(Days)")  # accepted until the env is known
    with pytest.raises(FormulaError, match="'twice' cannot be used"):
        brmc.get_prior(f, sleep)
    tab = brmc.get_prior(f, sleep, env={"twice": lambda x: 2 * x})
    assert "twiceDays" in set(tab.loc[tab["dpar"] == "sigma", "coef"])


def test_distributional_default_priors(sleep) -> None:
    tab = brmc.get_prior(brmc.bf(*SIGMA), sleep).set_index(["class", "coef", "group", "dpar"])
    assert tab.loc[("Intercept", "", "", "sigma"), "prior"] == "student_t(3, 0, 2.5)"
    # brms gives every predictor's sd the scale of mu's (def_scale_prior of the response)
    assert tab.loc[("sd", "", "", "sigma"), "prior"] == "student_t(3, 0, 59.3)"
    assert ("sigma", "", "", "") not in tab.index  # a predicted sigma has no prior of its own
    assert ("cor", "", "Subject", "") in tab.index
    # the defaults of other predicted parameters on their links (brms's def_dprior)
    ticks = brmc.datasets.load("grouseticks")
    for family, dpar, prior in [("negbinomial", "shape", "student_t(3, 0, 2.5)"),
                                ("zero_inflated_poisson", "zi", "logistic(0, 1)"),
                                ("student", "nu", "normal(2.7, 0.8)")]:
        tab = brmc.get_prior(brmc.bf("TICKS ~ 1", f"{dpar} ~ YEAR"), ticks, family=family)
        assert tab.loc[(tab["class"] == "Intercept") & (tab["dpar"] == dpar), "prior"].item() == prior
    tab = brmc.get_prior(brmc.bf("TICKS ~ 1", "shape ~ YEAR"), ticks,
                         family=brmc.get_family("negbinomial", link_shape="identity"))
    assert tab.loc[(tab["class"] == "Intercept") & (tab["dpar"] == "shape"), "prior"].item() == "gamma(0.01, 0.01)"


def test_user_priors_on_a_dpar(sleep) -> None:
    spec = brmc.priors.resolve_priors(
        built_model_data(brmc.bf(*SIGMA), sleep, "gaussian"),
        [brmc.prior("normal(0, 1)", class_="b", dpar="sigma"),
         brmc.prior("normal(0, 0.5)", class_="sd", group="Subject", dpar="sigma")])
    by = {(p.param, p.coef): p for p in spec.params}
    assert str(by[("b_sigma", "Days")].dist) == "normal(0, 1)" and by[("b", "Days")].dist is None
    assert str(by[("sd_2", "Intercept")].dist) == "normal(0, 0.5)"
    assert str(by[("sd_1", "Intercept")].dist) == "student_t(3, 0, 59.3)"
    with pytest.raises(PriorError, match="dpar='sigma'"):
        brmc.make_model(brmc.bf(*SIGMA), sleep, prior=brmc.prior("normal(0, 1)", class_="b", coef="x", dpar="sigma"))


def test_sigma_predictor_is_centred_on_its_own_design(sleep) -> None:
    md = built_model_data(brmc.bf("Reaction ~ Days", sigma="~ I(Days^2)"), sleep, "gaussian")
    np.testing.assert_allclose(md.predictors["mu"].means_X, [4.5])
    np.testing.assert_allclose(md.predictors["sigma"].means_X, [np.mean(np.arange(10) ** 2)])
    built = brmc.make_model(brmc.bf("Reaction ~ Days", sigma="~ I(Days^2)"), sleep)
    assert sorted(v.name for v in built.model.free_RVs) == ["Intercept", "Intercept_sigma", "b", "b_sigma"]
    assert {"Xc", "Xc_sigma"} <= set(built.values)


def test_distributional_likelihood_is_a_normal_with_sigma_on_the_log_link(sleep) -> None:
    fit = made_up_fit(brmc.bf(*SIGMA), sleep)
    d = fit.draws().iloc[7]
    subject = sleep["Subject"].astype(str)
    r = {c: np.array([d[f"r_Subject[{s},{c}]"] for s in subject]) for c in ("Intercept", "Days")}
    r_sigma = np.array([d[f"r_Subject__sigma[{s},Intercept]"] for s in subject])
    mu = d["b_Intercept"] + r["Intercept"] + (d["b_Days"] + r["Days"]) * sleep["Days"]
    sigma = np.exp(d["b_sigma_Intercept"] + r_sigma + d["b_sigma_Days"] * sleep["Days"])
    ours = fit.log_likelihood().values.reshape(-1, fit.nobs)[7]
    np.testing.assert_allclose(ours, stats.norm.logpdf(sleep["Reaction"], mu, sigma), rtol=1e-10)
    np.testing.assert_allclose(fit.posterior_epred(dpar="sigma")[7], sigma, rtol=1e-10)
    np.testing.assert_allclose(fit.posterior_linpred(dpar="sigma")[7], np.log(sigma), rtol=1e-10)
    np.testing.assert_allclose(fit.posterior_epred()[7], mu, rtol=1e-10)


def test_distributional_names_and_summary(sleep) -> None:
    fit = made_up_fit(brmc.bf(*SIGMA), sleep)
    names = list(fit.idata.posterior.data_vars)
    assert names[:4] == ["b_Intercept", "b_sigma_Intercept", "b_Days", "b_sigma_Days"]
    assert names[4:8] == ["sd_Subject__Intercept", "sd_Subject__Days", "sd_Subject__sigma_Intercept",
                          "cor_Subject__Intercept__Days"]
    assert "sigma" not in names and {"Intercept", "Intercept_sigma", "r_Subject__sigma"} <= set(names)
    assert "r_Subject__sigma[308,Intercept]" in fit.draws().columns
    s = fit.summary()
    assert list(s.fixed.index) == ["Intercept", "sigma_Intercept", "Days", "sigma_Days"]
    assert list(s.random["Subject"].index) == ["sd(Intercept)", "sd(Days)", "sd(sigma_Intercept)",
                                               "cor(Intercept,Days)"]
    assert len(s.spec_pars) == 0
    lines = without_warnings(str(s)).splitlines()
    assert lines[1:4] == ["  Links: mu = identity; sigma = log ",
                          "Formula: Reaction ~ Days + (Days | Subject) ",
                          "         sigma ~ Days + (1 | Subject)"]
    assert "Family Specific Parameters: " not in lines
    assert list(fit.fixef().index) == ["Intercept", "sigma_Intercept", "Days", "sigma_Days"]
    assert list(fit.ranef()["Subject"].index.unique("coef")) == ["Intercept", "Days", "sigma_Intercept"]
    coef = fit.coef()["Subject"].xs("sigma_Intercept", level="coef")["Estimate"]
    ranef = fit.ranef()["Subject"].xs("sigma_Intercept", level="coef")["Estimate"]
    np.testing.assert_allclose(coef - ranef, fit.fixef().loc["sigma_Intercept", "Estimate"])
    assert "residual__" not in fit.VarCorr()
    assert list(fit.VarCorr()["Subject"]["sd"].index) == ["Intercept", "Days", "sigma_Intercept"]


def test_distributional_predictions_on_new_data(sleep) -> None:
    fit = made_up_fit(brmc.bf(*SIGMA), sleep)
    new = pd.DataFrame({"Days": [0.0, 9.0], "Subject": ["308", "new"]})
    sigma = fit.posterior_epred(new, dpar="sigma", allow_new_levels=True, seed=1)
    assert sigma.shape == (100, 2) and (sigma > 0).all()
    d = fit.draws()
    expected = np.exp(d["b_sigma_Intercept"] + d["r_Subject__sigma[308,Intercept]"])
    np.testing.assert_allclose(sigma[:, 0], expected)
    no_groups = fit.posterior_epred(new, re_formula=False, dpar="sigma")[:, 1]
    np.testing.assert_allclose(no_groups, np.exp(d["b_sigma_Intercept"] + 9 * d["b_sigma_Days"]))
    assert fit.posterior_predict(new, allow_new_levels=True, seed=2).shape == (100, 2)
    with pytest.raises(DataError, match="Valid distributional parameters are: mu, sigma"):
        fit.posterior_epred(dpar="nu")


# ---------------------------------------------------------------- categorical

def test_category_parameter_names_follow_brms() -> None:
    categorical = brmc.get_family("categorical")
    assert category_dpars(["1", "2", "3"], categorical) == ["mu2", "mu3"]
    assert category_dpars(["a b", "c_d", "e.f"], categorical) == ["mucd", "muef"]
    assert category_dpars(["x", "y", "z"], brmc.get_family("categorical", refcat="y")) == ["mux", "muz"]
    with pytest.raises(FamilyError, match="same parameter names"):
        category_dpars(["a", "b.c", "b_c"], categorical)


def test_categorical_responses_as_brms_codes_them(inhaler) -> None:
    md = built_model_data(CATEGORICAL, inhaler, "categorical")
    assert list(md.predictors) == ["mu2", "mu3", "mu4"] and md.response_levels == ["1", "2", "3", "4"]
    np.testing.assert_array_equal(md.y, inhaler["rating"] - 1)
    text = inhaler.assign(r=inhaler["rating"].map({1: "good", 2: "fair", 3: "bad", 4: "Awful"}))
    md = built_model_data("r ~ treat", text, "categorical")
    assert md.response_levels == ["Awful", "bad", "fair", "good"]  # as R sorts
    assert list(md.predictors) == ["mubad", "mufair", "mugood"]
    md = built_model_data("factor(rating) ~ treat", inhaler, "categorical")
    assert md.response_levels == ["1", "2", "3", "4"]
    md = built_model_data("r ~ treat", text, brmc.get_family("categorical", refcat="good"))
    assert list(md.predictors) == ["muAwful", "mubad", "mufair"] and md.ref_index == 3


def test_categorical_refusals(inhaler) -> None:
    with pytest.raises(FamilyError, match="at least 2 response categories.*'1'"):
        brmc.get_prior("y ~ treat", inhaler.assign(y=1), family="categorical")
    with pytest.raises(FamilyError, match="categorical.*continuous"):
        brmc.get_prior("y ~ treat", inhaler.assign(y=inhaler["treat"] + 0.25), family="categorical")
    with pytest.raises(FamilyError, match="refcat='5'"):
        brmc.get_prior(CATEGORICAL, inhaler, family=brmc.get_family("categorical", refcat="5"))
    with pytest.raises(FamilyError, match="no distributional parameter 'mu'.*mu2, mu3, mu4"):
        brmc.get_prior(brmc.bf(CATEGORICAL, mu="~ 1"), inhaler, family="categorical")
    with pytest.raises(FamilyError, match="no option 'refcat'"):
        brmc.get_family("gaussian", refcat="1")


def test_categorical_priors(inhaler) -> None:
    md = built_model_data(CATEGORICAL, inhaler, "categorical")
    spec = brmc.priors.resolve_priors(md, [brmc.prior("normal(0, 2)", class_="b", dpar="mu3")])
    dists = {(p.param, p.coef): str(p.dist) for p in spec.params}
    assert dists[("b_mu3", "treat")] == "normal(0, 2)" and dists[("b_mu2", "treat")] == "None"
    assert dists[("Intercept_mu4", "")] == "student_t(3, 0, 2.5)"
    with pytest.warns(UserWarning, match="global priors for regression coefficients in categorical"):
        spec = brmc.priors.resolve_priors(md, [brmc.prior("normal(0, 3)", class_="b"),
                                               brmc.prior("normal(0, 1)", class_="b", dpar="mu2")])
    dists = {(p.param, p.coef): str(p.dist) for p in spec.params}
    assert dists[("b_mu2", "treat")] == "normal(0, 1)" and dists[("b_mu4", "treat")] == "normal(0, 3)"
    summary = brmc.priors.prior_summary_table(md, spec)
    assert not ((summary["dpar"] == "") & summary["class"].isin(["b", "Intercept"])).any()


@pytest.fixture(scope="module")
def categorical_fit(inhaler) -> brmc.Fit:
    return made_up_fit(CATEGORICAL, inhaler, family="categorical")


def test_categorical_likelihood_is_softmax_with_reference_zero(categorical_fit, inhaler) -> None:
    d = categorical_fit.draws().iloc[3]
    subject = inhaler["subject"].astype(str)
    eta = [np.zeros(len(inhaler))]
    for k in (2, 3, 4):
        r0 = np.array([d[f"r_subject__mu{k}[{s},Intercept]"] for s in subject])
        r1 = np.array([d[f"r_subject__mu{k}[{s},treat]"] for s in subject])
        eta.append(d[f"b_mu{k}_Intercept"] + r0 + (d[f"b_mu{k}_treat"] + r1) * inhaler["treat"])
    log_p = special.log_softmax(np.column_stack(eta), axis=1)
    expected = log_p[np.arange(len(inhaler)), inhaler["rating"] - 1]
    ours = categorical_fit.log_likelihood().values.reshape(-1, categorical_fit.nobs)[3]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    np.testing.assert_allclose(categorical_fit.posterior_epred()[3], np.exp(log_p), rtol=1e-10)


def test_categorical_names_and_summary(categorical_fit) -> None:
    s = categorical_fit.summary()
    assert list(s.fixed.index) == ["mu2_Intercept", "mu3_Intercept", "mu4_Intercept",
                                   "mu2_treat", "mu3_treat", "mu4_treat"]
    assert list(s.random["subject"].index) == [
        "sd(mu2_Intercept)", "sd(mu2_treat)", "sd(mu3_Intercept)", "sd(mu3_treat)", "sd(mu4_Intercept)",
        "sd(mu4_treat)", "cor(mu2_Intercept,mu2_treat)", "cor(mu3_Intercept,mu3_treat)",
        "cor(mu4_Intercept,mu4_treat)"]
    lines = without_warnings(str(s)).splitlines()
    assert lines[:3] == [" Family: categorical ", "  Links: mu2 = logit; mu3 = logit; mu4 = logit ",
                         "Formula: rating ~ treat + (1 + treat | subject) "]
    assert "Family Specific Parameters: " not in lines
    draws = categorical_fit.draws()
    for name in ["b_mu2_Intercept", "sd_subject__mu3_treat", "cor_subject__mu4_Intercept__mu4_treat",
                 "r_subject__mu2[1,Intercept]", "Intercept_mu2"]:
        assert name in draws.columns, name
    prior_summary = categorical_fit.prior_summary()
    assert set(prior_summary["dpar"]) == {"", "mu2", "mu3", "mu4"}  # '' only on the cor rows
    assert set(prior_summary.loc[prior_summary["dpar"] == "", "class"]) == {"L"}


def test_categorical_predictions(categorical_fit, inhaler) -> None:
    epred = categorical_fit.posterior_epred()
    assert epred.shape == (100, 572, 4)
    np.testing.assert_allclose(epred.sum(axis=2), 1.0)
    linpred = categorical_fit.posterior_linpred()
    assert linpred.shape == (100, 572, 3)
    np.testing.assert_allclose(special.softmax(np.insert(linpred, 0, 0.0, axis=2), axis=2), epred)
    predicted = categorical_fit.posterior_predict(seed=1)
    assert predicted.shape == (100, 572) and set(np.unique(predicted)) <= {1.0, 2.0, 3.0, 4.0}
    table = categorical_fit.predict(seed=1)
    assert list(table.columns) == ["P(Y = 1)", "P(Y = 2)", "P(Y = 3)", "P(Y = 4)"]
    np.testing.assert_allclose(table.sum(axis=1), 1.0)
    fitted = categorical_fit.fitted()
    assert fitted.columns.get_level_values(0).unique().tolist() == list(table.columns)
    new = pd.DataFrame({"treat": [0.5], "subject": [1]})
    assert categorical_fit.posterior_epred(new).shape == (100, 1, 4)
    with pytest.raises(DataError, match="Valid distributional parameters are: mu2, mu3, mu4"):
        categorical_fit.posterior_linpred(transform=True)
    with pytest.raises(DataError, match="unordered categorical"):
        categorical_fit.bayes_R2()
    with pytest.raises(DataError, match="set 'categorical' to True"):
        categorical_fit.conditional_effects("treat")
    effects = categorical_fit.conditional_effects("treat", categorical=True, resolution=5)
    assert effects.data["treat"]["cats__"].cat.categories.tolist() == ["1", "2", "3", "4"]


def test_categorical_save_load_loo(categorical_fit, tmp_path) -> None:
    loaded = brmc.load(categorical_fit.save(tmp_path / "cat.brmc"))
    assert str(loaded.summary()) == str(categorical_fit.summary())
    np.testing.assert_array_equal(loaded.posterior_epred(), categorical_fit.posterior_epred())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isfinite(categorical_fit.loo().elpd)


def test_distributional_save_load_keeps_formulas_and_links(sleep, tmp_path) -> None:
    family = brmc.get_family("student", link_sigma="softplus")
    fit = made_up_fit(brmc.bf("Reaction ~ Days", sigma="~ 1", nu="~ Days"), sleep, family=family)
    assert fit.model_data.links_text() == "mu = identity; sigma = softplus; nu = logm1"
    loaded = brmc.load(fit.save(tmp_path / "student.brmc"))
    assert loaded.formula.lines() == ["Reaction ~ Days", "sigma ~ 1", "nu ~ Days"]
    assert loaded.family.dpar("sigma").link == "softplus"
    np.testing.assert_array_equal(loaded.posterior_epred(dpar="nu"), fit.posterior_epred(dpar="nu"))
    assert (fit.posterior_epred(dpar="nu") > 1).all()  # logm1: nu = 1 + exp(eta)


@pytest.mark.parametrize("method", ["uncertainty", "old_levels"])
def test_a_new_level_borrows_one_old_level_for_every_parameter(sleep, method) -> None:
    """brms: the old level drawn for a new level is the same for all its group-level effects."""
    fit = made_up_fit(brmc.bf("Reaction ~ 1 + (1 | Subject)", sigma="~ 1 + (1 | Subject)"), sleep)
    new = pd.DataFrame({"Subject": ["new"]})
    mu = fit.posterior_epred(new, allow_new_levels=True, sample_new_levels=method, seed=5)[:, 0]
    sigma = fit.posterior_epred(new, dpar="sigma", allow_new_levels=True, sample_new_levels=method, seed=5)[:, 0]
    d = fit.draws()
    levels = [str(s) for s in fit.model_data.blocks[0].levels]
    r_mu = d[[f"r_Subject[{s},Intercept]" for s in levels]].to_numpy()
    r_sigma = d[[f"r_Subject__sigma[{s},Intercept]" for s in levels]].to_numpy()
    borrowed = np.argmin(np.abs(r_mu - (mu - d["b_Intercept"].to_numpy())[:, None]), axis=1)
    expected = np.exp(d["b_sigma_Intercept"].to_numpy() + r_sigma[np.arange(len(d)), borrowed])
    np.testing.assert_allclose(sigma, expected)


def test_every_prior_distribution_has_a_pymc_distribution_in_stans_parameterisation() -> None:
    """The one table: each distribution but lkj has a PyMC twin whose density, with the
    arguments in Stan's order, is SciPy's (written here in Stan's parameterisation)."""
    import pymc as pm
    from scipy import stats

    from brmc.distributions import DISTRIBUTIONS, pymc_dist

    scipy = {"normal": lambda mu, sigma: stats.norm(mu, sigma), "student_t": lambda nu, mu, sigma: stats.t(nu, mu, sigma),
             "cauchy": lambda mu, sigma: stats.cauchy(mu, sigma), "exponential": lambda rate: stats.expon(scale=1 / rate),
             "gamma": lambda shape, rate: stats.gamma(shape, scale=1 / rate),
             "inv_gamma": lambda shape, scale: stats.invgamma(shape, scale=scale),
             "lognormal": lambda mu, sigma: stats.lognorm(sigma, scale=np.exp(mu)),
             "uniform": lambda lower, upper: stats.uniform(lower, upper - lower), "beta": lambda a, b: stats.beta(a, b),
             "logistic": lambda mu, sigma: stats.logistic(mu, sigma)}
    assert set(DISTRIBUTIONS) - {"lkj", "dirichlet"} == set(scipy) == {
        n for n, d in DISTRIBUTIONS.items() if d.pymc} - {"dirichlet"}
    simplex = np.array([0.2, 0.3, 0.5])  # dirichlet(alpha): every concentration alpha, on a whole simplex
    ours = float(pm.logp(pymc_dist("dirichlet", (2.0,), size=(3,)), simplex).eval())
    assert ours == pytest.approx(stats.dirichlet.logpdf(simplex, [2.0, 2.0, 2.0]), rel=1e-10)
    args = {"normal": (1.0, 2.0), "student_t": (3.0, 1.0, 2.0), "cauchy": (1.0, 2.0), "exponential": (2.0,),
            "gamma": (2.0, 3.0), "inv_gamma": (2.0, 3.0), "lognormal": (0.5, 0.8), "uniform": (0.1, 0.9),
            "beta": (2.0, 3.0), "logistic": (1.0, 2.0)}
    for name, a in args.items():
        assert len(a) == len(DISTRIBUTIONS[name].args)
        ours = float(pm.logp(pymc_dist(name, a), 0.6).eval())
        assert ours == pytest.approx(scipy[name](*a).logpdf(0.6), rel=1e-10), name


@pytest.mark.parametrize("family, dpar", [("gaussian", "sigma"), ("student", "nu"), ("skew_normal", "alpha"),
                                          ("gamma", "shape"), ("beta", "phi"), ("zero_inflated_poisson", "zi"),
                                          ("hurdle_poisson", "hu")])
def test_each_kind_of_dpar_can_be_predicted(family: str, dpar: str) -> None:
    rng = np.random.default_rng(1)
    y = rng.poisson(3.0, 60) + 1.0
    data = pd.DataFrame({"y": y / (y.max() + 1) if family == "beta" else y, "x": rng.normal(size=60),
                         "g": np.repeat(list("abcdef"), 10)})
    built = brmc.make_model(brmc.bf("y ~ x", f"{dpar} ~ x + (1 | g)"), data, family=family)
    assert {f"b_{dpar}", f"Intercept_{dpar}"} <= {v.name for v in built.model.free_RVs}
    assert dpar not in built.model.named_vars
    assert np.isfinite(built.model.compile_logp()(built.model.initial_point()))


def test_a_categorys_own_predictor_is_on_the_linear_scale(categorical_fit) -> None:
    """brms: the softmax joins the categories, so one category's transformed predictor is its eta."""
    np.testing.assert_array_equal(categorical_fit.posterior_epred(dpar="mu3"),
                                  categorical_fit.posterior_linpred()[:, :, 1])
