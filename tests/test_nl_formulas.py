"""Non-linear formulas through ``brmc.bf(..., nl=True)``, against brms 2.18's ``nl_loss`` reference model.

Default priors and the prior summary are compared with brms's tables string for string; the model's
density with one written here in SciPy from brms's Stan code (``stancode.stan`` of the run); the
predictions with the curve computed in NumPy from the draws; the fit (``reference`` marker) with
brms's posterior.  Bad input must raise a ``BrmsError`` naming the culprit.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import brmc
from brmc.errors import FormulaError, PriorError
from brmc.nlterm import NonlinearTerm

from .conftest import reference_csv, reference_path, reference_standata, reference_text
from .test_reference_fits import agreement
from .test_reference_priors import _compare

CURVE = "cum ~ ult * (1 - exp(-(dev / theta)^omega))"
NLPARS = ("ult ~ 1 + (1 | AY)", "omega ~ 1", "theta ~ 1")
#: the run's priors (model_info.json): normal(5000, 1000) on ult, normal(1, 2) on omega, normal(45, 10) on theta
PRIORS = [brmc.prior("normal(5000, 1000)", nlpar="ult"), brmc.prior("normal(1, 2)", nlpar="omega"),
          brmc.prior("normal(45, 10)", nlpar="theta")]


@pytest.fixture(scope="module")
def loss() -> pd.DataFrame:
    return pd.read_csv(reference_path("nl_loss", "loss.csv"))


def _formula() -> brmc.formula.BrmsFormula:
    return brmc.bf(CURVE, *NLPARS, nl=True)


def test_formula_tree_and_lines() -> None:
    f = _formula()
    (term,) = f.of_kind("nl")
    assert isinstance(term, NonlinearTerm) and list(term.nlpars) == ["ult", "omega", "theta"]
    assert term.variables == ["dev"] and f.variables() == ["cum", "dev", "AY"]
    assert f.lines() == ["cum ~ ult * (1 - exp(-(dev/theta)^omega))", *NLPARS]  # as brms prints them
    info = json.loads(reference_path("nl_loss", "model_info.json").read_text())
    assert [line.strip() for line in info["formula"].split("\n")] == f.lines()
    assert brmc.bf("y ~ a * exp(b * x)", brmc.lf("a + b ~ 1"), nl=True).lines() == ["y ~ a * exp(b * x)", "a ~ 1",
                                                                                    "b ~ 1"]


def test_default_priors_match_brms(loss) -> None:
    _compare(brmc.get_prior(_formula(), loss), reference_csv("nl_loss", "get_prior.csv"))


def test_prior_summary_matches_brms(loss) -> None:
    md = brmc.data.build_data(_formula(), loss, brmc.get_family("gaussian"))
    table = brmc.summary.PriorTable(brmc.priors.prior_summary_table(md, brmc.priors.resolve_priors(md, PRIORS)))
    assert repr(table) == reference_text("nl_loss", "prior_summary.txt")


def test_data_match_brms_standata(loss) -> None:
    md = brmc.data.build_data(_formula(), loss, brmc.get_family("gaussian"))
    standata = reference_standata("nl_loss")
    part = md.predictors["mu"].parts["nl"]
    np.testing.assert_array_equal(part.covariates["C_1"], standata["C_1"])
    for nlpar, lp in part.predictors.items():  # brms does not centre a nlpar's design: X_ult is the ones column
        np.testing.assert_array_equal(lp.X, np.asarray(standata[f"X_{nlpar}"]).reshape(-1, 1))
        assert lp.b_names == ["Intercept"] and not lp.has_intercept
    (block,) = md.blocks
    np.testing.assert_array_equal(block.index + 1, standata["J_1"])
    assert (block.labels, block.r_name, md.fixef_names) == (
        ["ult_Intercept"], "r_AY__ult", ["ult_Intercept", "omega_Intercept", "theta_Intercept"])


def _stan_target(point: dict, loss: pd.DataFrame, J: np.ndarray) -> float:
    """brms's Stan target of nl_loss (stancode.stan of the run) up to a constant, in SciPy."""
    ult = point["b_ult"][0] + point["sd_1"][0] * point["z_1"][0][J]
    mu = ult * (1 - np.exp(-((loss["dev"].to_numpy() / point["b_theta"][0]) ** point["b_omega"][0])))
    scale = 1963.7
    return float(scipy.stats.norm.logpdf(loss["cum"], mu, point["sigma"]).sum()
                 + scipy.stats.norm.logpdf(point["b_ult"], 5000, 1000).sum()
                 + scipy.stats.norm.logpdf(point["b_omega"], 1, 2).sum()
                 + scipy.stats.norm.logpdf(point["b_theta"], 45, 10).sum()
                 + scipy.stats.t.logpdf(point["sigma"], 3, 0, scale) + scipy.stats.t.logpdf(point["sd_1"], 3, 0, scale).sum()
                 + scipy.stats.norm.logpdf(point["z_1"]).sum())


def test_model_density_is_brms_stan_target(loss) -> None:
    """Differences of the model's log density (no Jacobian) between points equal those of brms's Stan
    target, so the non-linear mean, the nlpar priors and the group-level effects are brms's."""
    built = brmc.make_model(_formula(), loss, prior=PRIORS)
    model = built.model
    logp = model.compile_logp(jacobian=False)
    J = brmc.data.build_data(_formula(), loss, brmc.get_family("gaussian")).blocks[0].index
    rng = np.random.default_rng(7)
    points = [{"b_ult": np.array([5000 + 400 * rng.normal()]), "b_omega": np.array([1.3 + 0.1 * rng.normal()]),
               "b_theta": np.array([45 + 3 * rng.normal()]), "sigma": 140 * rng.uniform(0.8, 1.2),
               "sd_1": np.array([700 * rng.uniform(0.5, 1.5)]), "z_1": rng.normal(size=(1, 10))} for _ in range(3)]
    ours = []
    for p in points:
        unconstrained = {f"{k}_log__" if k in {"sigma", "sd_1"} else k: np.log(v) if k in {"sigma", "sd_1"} else v
                         for k, v in p.items()}
        ours.append(float(logp(unconstrained)))
    theirs = [_stan_target(p, loss, J) for p in points]
    np.testing.assert_allclose(np.diff(ours), np.diff(theirs), rtol=1e-9)


@pytest.fixture(scope="module")
def small_fit(loss) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(_formula(), loss, prior=PRIORS, chains=2, iter=400, seed=5, progress=False)


def _curve(post, loss: pd.DataFrame, ult_effects: bool = True) -> np.ndarray:
    """mu from the draws, in NumPy: (draws, rows)."""
    def flat(name):
        return post[name].values.reshape(-1)

    ult = flat("b_ult_Intercept")[:, None] + np.zeros(len(loss))
    if ult_effects:
        r = post["r_AY__ult"].sel(AY__ult__coef="Intercept").values.reshape(-1, post.sizes["AY__level"])
        levels = [int(v) for v in post["AY__level"].values]
        ult = ult + r[:, [levels.index(ay) for ay in loss["AY"]]]
    dev = loss["dev"].to_numpy(dtype=float)
    return ult * (1 - np.exp(-(dev / flat("b_theta_Intercept")[:, None]) ** flat("b_omega_Intercept")[:, None]))


def test_draws_names_and_summary_as_brms(small_fit) -> None:
    post = small_fit.idata.posterior
    assert list(post.data_vars) == ["b_ult_Intercept", "b_omega_Intercept", "b_theta_Intercept",
                                    "sd_AY__ult_Intercept", "sigma", "r_AY__ult"]
    brms_levels = [v.split("[")[1].split(",")[0] for v in reference_csv("nl_loss", "ranef_summary.csv")["variable"]]
    assert list(post["AY__level"].values) == brms_levels
    assert [c for c in small_fit.draws().columns if c.startswith("r_")] == [
        f"r_AY__ult[{level},Intercept]" for level in brms_levels]
    s = small_fit.summary()
    assert list(s.fixed.index) == ["ult_Intercept", "omega_Intercept", "theta_Intercept"]
    assert list(s.random["AY"].index) == ["sd(ult_Intercept)"]
    expected = reference_text("nl_loss", "summary.txt").splitlines()
    ours = str(small_fit).splitlines()
    for line in expected[:5]:  # Family, Links and the formula lines
        assert line in ours
    assert list(small_fit.fixef().index) == list(s.fixed.index)
    assert small_fit.ranef()["AY"].shape[0] == 10


def test_predictions_are_the_curve_of_the_draws(small_fit, loss) -> None:
    post = small_fit.idata.posterior
    np.testing.assert_allclose(small_fit.posterior_epred(), _curve(post, loss), rtol=1e-10)
    np.testing.assert_allclose(small_fit.posterior_linpred(), _curve(post, loss), rtol=1e-10)
    sigma = post["sigma"].values.reshape(-1, 1)
    np.testing.assert_allclose(small_fit.log_likelihood().values.reshape(sigma.shape[0], -1),
                               scipy.stats.norm.logpdf(loss["cum"].to_numpy(), _curve(post, loss), sigma), rtol=1e-9)
    new = pd.DataFrame({"dev": [6, 30, 200], "AY": [1991, 1995, 1991]})
    np.testing.assert_allclose(small_fit.posterior_epred(newdata=new), _curve(post, new), rtol=1e-10)
    np.testing.assert_allclose(small_fit.posterior_epred(newdata=new, re_formula=False),
                               _curve(post, new, ult_effects=False), rtol=1e-10)
    assert small_fit.predict(newdata=new).shape == (3, 4)
    assert np.isfinite(small_fit.loo().estimates.values).all()


def test_conditional_effects_of_the_covariate(small_fit) -> None:
    """brms's default effects of a non-linear model include its covariates: the curve over dev, without
    the group-level effects, as the median over the draws (computed here in NumPy)."""
    effects = brmc.conditional_effects(small_fit)
    assert list(effects.data) == ["dev"]
    frame = effects.data["dev"]
    expected = np.median(_curve(small_fit.idata.posterior, frame, ult_effects=False), axis=0)
    np.testing.assert_allclose(frame["estimate__"], expected, rtol=1e-8)


def test_newdata_needs_the_covariates(small_fit) -> None:
    with pytest.raises(brmc.DataError, match="'dev'"):
        small_fit.posterior_epred(newdata=pd.DataFrame({"AY": [1990]}))


def test_bounds_on_nlpar_coefficients(loss) -> None:
    built = brmc.make_model(_formula(), loss, prior=[*PRIORS[:2], brmc.prior("normal(45, 10)", nlpar="theta", lb=0)])
    transforms = {v.name: type(t).__name__ for v, t in built.model.rvs_to_transforms.items()}
    assert (transforms["b_theta"], transforms["b_ult"]) == ("LogTransform", "NoneType")
    md = brmc.data.build_data(_formula(), loss, brmc.get_family("gaussian"))
    spec = brmc.priors.resolve_priors(md, [*PRIORS[:2], brmc.prior("normal(45, 10)", nlpar="theta", lb=0)])
    table = brmc.priors.prior_summary_table(md, spec).set_index(["class", "coef", "nlpar"])
    assert table.loc[("b", "", "theta"), "lb"] == "0" and table.loc[("b", "", "ult"), "lb"] == ""


def test_nlpars_need_a_proper_prior_as_brms_says(loss) -> None:
    with pytest.raises(PriorError, match=r"^Priors on population-level coefficients are required in non-linear "
                                         r"models, but none were found for parameter 'omega'\. See help\(set_prior\)"):
        brmc.make_model(_formula(), loss, prior=PRIORS[:1])
    brmc.make_model(_formula(), loss, prior=PRIORS[1:])  # ult: its sd has a proper default prior


@pytest.mark.parametrize("args, kwargs, message", [
    ((CURVE, "ult ~ 1", "omega ~ 1"), {}, r"uses 'theta', which is neither a non-linear parameter \(with its own "
                                          r"formula in bf\(\): ult, omega\) nor a column of the data"),
    ((CURVE, *NLPARS, "omegaa ~ 1"), {}, r"The parameter 'omegaa' is not a valid distributional or non-linear "
                                         r"parameter: no non-linear formula \('ult \* .*'\) uses it"),
    (("cum ~ dev * 2", "ult ~ 1"), {}, r"No non-linear parameters specified in 'cum ~ dev \* 2'"),
    (("cum ~ sigma * dev", "sigma ~ 1"), {}, r"The non-linear parameter 'sigma' .* has the name of a distributional "
                                             r"parameter of family 'gaussian'"),
    (("cum ~ ult * foo(dev)", "ult ~ 1"), {}, r"Unknown function 'foo'; a non-linear formula may call"),
    (("cum ~ ult * dev ~ 2", "ult ~ 1"), {}, r"exactly one '~'"),
    (("cum ~ ult * dev", "ult ~ 1 + devv"), {}, r"The predictor of ult uses a column 'devv' that is not in the data"),
])
def test_bad_formulas_name_the_culprit(loss, args, kwargs, message) -> None:
    with pytest.raises(brmc.BrmsError, match=message):
        brmc.get_prior(brmc.bf(*args, nl=True, **kwargs), loss)


def test_lf_options_are_refused_not_ignored() -> None:
    with pytest.raises(FormulaError, match=r"lf\(center=..., cmc=...\) is not supported yet"):
        brmc.bf("y ~ a * x", brmc.lf("a ~ 1", center=True), nl=True)


def test_bad_priors_name_the_culprit(loss) -> None:
    with pytest.raises(PriorError, match="not both"):
        brmc.prior("normal(0, 1)", dpar="sigma", nlpar="ult")
    with pytest.raises(PriorError, match=r"does not have \(class='b', nlpar='ulx'\)(.|\n)*nlpar='ult'"):
        brmc.make_model(_formula(), loss, prior=[*PRIORS, brmc.prior("normal(0, 1)", nlpar="ulx")])
    with pytest.raises(PriorError, match=r"does not have \(class='b', dpar='ult'\)"):
        brmc.make_model(_formula(), loss, prior=[*PRIORS, brmc.prior("normal(0, 1)", dpar="ult")])


def test_nlpar_formulas_take_every_term_kind(loss) -> None:
    """A nlpar's formula is an ordinary predictor: population effects of a factor, group terms, s()."""
    frame = loss.assign(early=np.where(loss["AY"] < 1993, "yes", "no"))
    table = brmc.get_prior(brmc.bf(CURVE, "ult ~ 0 + early + (1 | AY)", "omega ~ s(dev, k = 4)", "theta ~ 1",
                                   nl=True), frame)
    rows = set(zip(table["class"], table["coef"], table["nlpar"]))
    assert {("b", "earlyno", "ult"), ("b", "earlyyes", "ult"), ("sd", "", "ult"), ("b", "Intercept", "omega"),
            ("b", "sdev_1", "omega"), ("sds", "", "omega"), ("sds", "s(dev, k = 4)", "omega")} <= rows


def test_loaded_fit_keeps_its_non_linear_formula(small_fit, tmp_path) -> None:
    path = tmp_path / "nl.nc"
    small_fit.save(path)
    loaded = brmc.load(path)
    np.testing.assert_allclose(loaded.posterior_epred(), small_fit.posterior_epred())


def test_nlf_gives_a_distributional_parameter_a_non_linear_formula() -> None:
    """bf(y ~ x, nlf(sigma ~ a + b * log1p(Days)), a ~ 1, b ~ 1): sigma = exp(a + b log1p(Days)) under its log
    link; the model's density (differences between points) against SciPy."""
    sleep = brmc.datasets.load("sleepstudy")
    f = brmc.bf("Reaction ~ Days + (1 | Subject)", brmc.nlf("sigma ~ a + b * log1p(Days)"), "a ~ 1", "b ~ 1")
    table = brmc.get_prior(f, sleep)
    assert set(table.loc[table["nlpar"] != "", "nlpar"]) == {"a", "b"} and "sigma" not in set(table["class"])
    built = brmc.make_model(f, sleep, prior=[brmc.prior("normal(3, 1)", nlpar="a"), brmc.prior("normal(0, 1)", nlpar="b")])
    logp = built.model.compile_logp(jacobian=False)
    md = brmc.data.build_data(f, sleep, brmc.get_family("gaussian"))
    J, days, y = md.blocks[0].index, sleep["Days"].to_numpy(dtype=float), sleep["Reaction"].to_numpy()
    rng = np.random.default_rng(3)
    ours, theirs = [], []
    for _ in range(3):
        p = {"Intercept": 290 + 10 * rng.normal(), "b": np.array([10 + rng.normal()]), "sd_1": np.array([30.0 + rng.normal()]),
             "z_1": rng.normal(size=(1, 18)), "b_a": np.array([3 + 0.2 * rng.normal()]), "b_b": np.array([0.2 * rng.normal()])}
        ours.append(float(logp({**{k: v for k, v in p.items() if k != "sd_1"}, "sd_1_log__": np.log(p["sd_1"])})))
        mu = p["Intercept"] + p["b"][0] * (days - days.mean()) + p["sd_1"][0] * p["z_1"][0][J]
        sigma = np.exp(p["b_a"][0] + p["b_b"][0] * np.log1p(days))
        theirs.append(scipy.stats.norm.logpdf(y, mu, sigma).sum() + scipy.stats.t.logpdf(p["Intercept"], 3, 288.7, 59.3)
                      + scipy.stats.t.logpdf(p["sd_1"], 3, 0, 59.3).sum() + scipy.stats.norm.logpdf(p["z_1"]).sum()
                      + scipy.stats.norm.logpdf(p["b_a"], 3, 1).sum() + scipy.stats.norm.logpdf(p["b_b"], 0, 1).sum())
    np.testing.assert_allclose(np.diff(ours), np.diff(theirs), rtol=1e-9)
    with pytest.raises(FormulaError, match="'a' is used by two non-linear formulas"):
        brmc.bf("Reaction ~ a * Days", brmc.nlf("sigma ~ a"), "a ~ 1", nl=True)
    with pytest.raises(FormulaError, match="'sigma' has more than one formula"):
        brmc.bf("Reaction ~ Days", brmc.nlf("sigma ~ a"), "a ~ 1", "sigma ~ 1")


@pytest.mark.reference
def test_nl_loss_posterior_agrees_with_brms(loss) -> None:
    """brms's run (model_info.json): its priors, adapt_delta 0.9, 4 chains x 1,000 after 1,000, seed 1234."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm(_formula(), loss, prior=PRIORS, chains=4, iter=2000, warmup=1000, seed=1234,
                       control={"adapt_delta": 0.9}, progress=False)
    assert agreement("nl_loss", fit) == []
    ref = reference_csv("nl_loss", "ranef_summary.csv")
    r = fit.idata.posterior["r_AY__ult"].sel(AY__ult__coef="Intercept")
    for variable, mean, sd in zip(ref["variable"], ref["mean"].astype(float), ref["sd"].astype(float)):
        ours = r.sel(AY__level=variable.split("[")[1].split(",")[0]).values
        assert abs(ours.mean() - mean) < 0.15 * sd + 4 * sd / np.sqrt(400), variable
        assert 0.8 <= ours.std() / sd <= 1.25, variable
