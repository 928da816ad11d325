"""mi(): missing responses ``y | mi()`` and ``mi(x)`` predictors, against brms 2.18's mi_nhanes
(``bf(bmi | mi() ~ age * mi(chl)) + bf(chl | mi() ~ age) + set_rescor(FALSE)`` on nhanes with its
missing values; tests/reference/mi_nhanes/): its standata, default priors and Stan model (written here
in SciPy, on brms's standata), a reference fit (means within 0.15 brms sd or 4 Monte Carlo errors,
sds within 20 %, the imputed values ``Ymi_`` included), and the refusals.  The log-likelihood and
the new-row predictions are checked against the draws' own algebra (brms ran no such output).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

import brmc
from brmc.errors import DataError, FamilyError, FormulaError
from brmc.mvdata import build_mv_data
from brmc.terms import mi

from .conftest import quiet, reference_csv, reference_path, reference_standata
from .test_reference_priors import _compare

NHANES = brmc.datasets.load("nhanes")
FORMULA = brmc.bf("bmi | mi() ~ age * mi(chl)") + brmc.bf("chl | mi() ~ age") + brmc.set_rescor(False)


def test_default_priors_equal_brms() -> None:
    _compare(brmc.get_prior(FORMULA, NHANES), reference_csv("mi_nhanes", "get_prior.csv"))


def test_model_data_equal_brms_standata() -> None:
    """Every row kept (brms drops none: the missing values are of variables under mi()), the missing
    responses brms's Inf at the rows Jmi, the design and mi(chl):age's Csp as brms's."""
    ref = reference_standata("mi_nhanes")
    mv = build_mv_data(FORMULA, NHANES)
    assert mv.nobs == ref["N"][0] == 25 and mv.n_dropped == 0
    for resp, md in mv.responses.items():
        lp = md.predictors["mu"]
        np.testing.assert_array_equal(md.y, np.asarray(ref[f"Y_{resp}"], dtype=float))
        np.testing.assert_array_equal(lp.parts["mi"].response.Jmi + 1, ref[f"Jmi_{resp}"])
        assert len(lp.parts["mi"].response.Jmi) == ref[f"Nmi_{resp}"][0]
        np.testing.assert_array_equal(lp.X, ref[f"X_{resp}"])
    terms = mv.responses["bmi"].predictors["mu"].parts["mi"].terms
    assert [(t.label, t.variable, t.target) for t in terms] == [("michl", "chl", "_chl"), ("michl:age", "chl", "_chl")]
    assert terms[0].basis.Csp is None and len(terms) == ref["Ksp_bmi"][0]
    np.testing.assert_array_equal(terms[1].basis.Csp, ref["Csp_bmi_1"])


def _brms_target(ref: dict[str, np.ndarray], p: dict[str, np.ndarray]) -> float:
    """brms's Stan ``target`` of mi_nhanes (stancode.stan), with constants, on its standata."""
    Yl = {}
    for resp in ("bmi", "chl"):
        Yl[resp] = np.asarray(ref[f"Y_{resp}"], dtype=float).copy()
        Yl[resp][ref[f"Jmi_{resp}"] - 1] = p[f"Ymi_{resp}"]
    target = 0.0
    for resp, loc, scale in (("bmi", 26.8, 4.6), ("chl", 187, 28.2)):
        X = ref[f"X_{resp}"].astype(float)
        mu = p[f"Intercept_{resp}"] + (X[:, 1:] - X[:, 1:].mean(axis=0)) @ p[f"b_{resp}"]
        if resp == "bmi":
            mu = mu + p["bsp_bmi"][0] * Yl["chl"] + p["bsp_bmi"][1] * Yl["chl"] * ref["Csp_bmi_1"]
        target += scipy.stats.norm.logpdf(Yl[resp], mu, p[f"sigma_{resp}"]).sum()
        target += scipy.stats.t.logpdf(p[f"Intercept_{resp}"], 3, loc, scale)
        target += scipy.stats.t.logpdf(p[f"sigma_{resp}"], 3, 0, scale) - scipy.stats.t.logsf(0, 3, 0, scale)
    return float(target)


def test_model_density_is_brms_stan_model_on_its_standata() -> None:
    """PyMC's density without Jacobians is Stan's ``target`` at the same point, but for the constants
    ``- student_t_lccdf(0 | 3, 0, scale)`` of the sigmas' bounded priors, which brmc leaves out."""
    ref = reference_standata("mi_nhanes")
    model = brmc.make_model(FORMULA, NHANES).model
    rng = np.random.default_rng(3)
    p = {"b_bmi": np.array([1.5]), "Intercept_bmi": np.array(26.0), "bsp_bmi": np.array([0.08, -0.02]),
         "sigma_bmi": np.array(3.2), "b_chl": np.array([25.0]), "Intercept_chl": np.array(190.0),
         "sigma_chl": np.array(38.0), "Ymi_bmi": rng.normal(27, 3, 9), "Ymi_chl": rng.normal(190, 30, 10)}
    point = {k.replace("bsp_", "bspmi_"): v for k, v in p.items() if not k.startswith("sigma")}
    point |= {f"{k}_log__": np.log(v) for k, v in p.items() if k.startswith("sigma")}
    assert set(point) == {v.name for v in model.value_vars}
    compiled = model.compile_logp(jacobian=False)
    constant = sum(scipy.stats.t.logsf(0, 3, 0, s) for s in (4.6, 28.2))
    np.testing.assert_allclose(compiled(point) - constant, _brms_target(ref, p), rtol=1e-10)
    p["Ymi_chl"] = point["Ymi_chl"] = p["Ymi_chl"] + 20.0  # chl's imputed values move both likelihoods
    np.testing.assert_allclose(compiled(point) - constant, _brms_target(ref, p), rtol=1e-10)


def test_univariate_missing_response() -> None:
    """``bmi | mi() ~ age``: the 25 rows, brms's univariate names ``Ymi[j]`` (draws at the initial values),
    the imputed values bounded by the family's support."""
    fit = quiet(brmc.brm, "bmi | mi() ~ age", NHANES, chains=1, iter=40, seed=2, progress=False,
                algorithm="fixed_param")
    names = [n for n in fit.idata.posterior.data_vars if str(n).startswith("Ymi")]
    assert names == [f"Ymi[{j}]" for j in reference_standata("mi_nhanes")["Jmi_bmi"]]
    assert fit.model_data.nobs == 25
    model = brmc.make_model("bmi | mi() ~ age", NHANES, family="lognormal").model
    assert "Ymi_log__" in {v.name for v in model.value_vars}
    noisy = quiet(brmc.brm, "bmi | mi(2) ~ age", NHANES, chains=1, iter=40, seed=2, progress=False,
                  algorithm="fixed_param")  # mi(sdy): brms's latent Yl of every row
    assert [n for n in noisy.idata.posterior.data_vars if str(n).startswith("Y")] == [f"Yl[{i}]" for i in range(1, 26)]


def test_measurement_error_response_density_is_brms_stan_model() -> None:
    """``chl | mi(se)`` (brms's second nhanes example): every row's chl is latent, ``Yl_chl``, with
    brms's ``normal_lpdf(Y[Jme] | Yl[Jme], noise[Jme])`` over the observed rows (stan-response.R),
    the likelihood and bmi's mi(chl) reading ``Yl_chl``; here in SciPy."""
    data = NHANES.assign(se=np.linspace(2.0, 10.0, len(NHANES)))
    f = brmc.bf("bmi | mi() ~ age * mi(chl)") + brmc.bf("chl | mi(se) ~ age") + brmc.set_rescor(False)
    model = brmc.make_model(f, data).model
    rng = np.random.default_rng(4)
    p = {"b_bmi": np.array([1.5]), "Intercept_bmi": np.array(26.0), "bspmi_bmi": np.array([0.08, -0.02]),
         "b_chl": np.array([25.0]), "Intercept_chl": np.array(190.0), "Ymi_bmi": rng.normal(27, 3, 9),
         "Yl_chl": rng.normal(190, 30, 25), "sigma_bmi": 3.2, "sigma_chl": 38.0}
    point = {k: v for k, v in p.items() if not k.startswith("sigma")}
    point |= {f"{k}_log__": np.log(v) for k, v in p.items() if k.startswith("sigma")}
    assert set(point) == {v.name for v in model.value_vars}
    age, chl, bmi = (data[c].to_numpy(float) for c in ("age", "chl", "bmi"))
    Yl_bmi = bmi.copy()
    Yl_bmi[np.isnan(bmi)] = p["Ymi_bmi"]
    Yl, b = p["Yl_chl"], p["bspmi_bmi"]
    mu_bmi = p["Intercept_bmi"] + (age - age.mean()) * p["b_bmi"][0] + b[0] * Yl + b[1] * Yl * age
    mu_chl = p["Intercept_chl"] + (age - age.mean()) * p["b_chl"][0]
    seen = ~np.isnan(chl)
    target = (scipy.stats.norm.logpdf(Yl_bmi, mu_bmi, p["sigma_bmi"]).sum()
              + scipy.stats.norm.logpdf(Yl, mu_chl, p["sigma_chl"]).sum()
              + scipy.stats.norm.logpdf(chl[seen], Yl[seen], data["se"].to_numpy()[seen]).sum())
    for r, m, s in (("bmi", 26.8, 4.6), ("chl", 187, 28.2)):
        target += scipy.stats.t.logpdf(p[f"Intercept_{r}"], 3, m, s) + scipy.stats.t.logpdf(p[f"sigma_{r}"], 3, 0, s)
    np.testing.assert_allclose(model.compile_logp(jacobian=False)(point), target, rtol=1e-10)


@pytest.mark.parametrize("formula, error, message", [
    (brmc.bf("bmi | mi() ~ mi(hyp)") + brmc.bf("chl | mi() ~ age"), FormulaError,
     r"'mi' terms should also be specified as response variables.*'hyp'"),
    (brmc.bf("bmi | mi() ~ mi(chl)") + brmc.bf("chl ~ age"), FormulaError,
     r"require specification of the addition argument 'mi'.*chl"),
    (brmc.bf("bmi | mi() ~ mi(chl, age)") + brmc.bf("chl | mi() ~ age"), FormulaError,
     r"Response 'chl' needs to have an 'index' addition term to compare with 'idx'"),
    (brmc.bf("bmi | mi() ~ mi()") + brmc.bf("chl | mi() ~ age"), FormulaError, r"names no variable"),
    (brmc.bf("bmi | mi() ~ mi(log(chl))") + brmc.bf("chl | mi() ~ age"), FormulaError,
     r"single untransformed variables: mi\(log\(chl\)\)"),
    (brmc.bf("bmi | mi() ~ chl") + brmc.bf("chl | mi() ~ age"), FormulaError,
     r"'chl' has missing values and is used outside mi\(\).*write mi\(chl\)"),
    (brmc.bf("bmi | mi(log(hyp)) ~ age") + brmc.bf("chl ~ age"), FormulaError, r"number or a column as its measurement sd"),
    (brmc.bf("bmi | mi() + weights(age) ~ age") + brmc.bf("chl ~ age"), FormulaError, r"also has weights\(\)"),
    (brmc.bf("bmi | mi() ~ age", sigma="~ mi(chl)") + brmc.bf("chl | mi() ~ age"), FormulaError,
     r"mu only, not sigma: mi\(chl\)"),
    ("bmi ~ mi(chl)", FormulaError, r"'mi' terms should also be specified as response variables.*'chl'"),
])
@pytest.mark.filterwarnings("ignore:Rows containing NAs", "ignore:Setting .rescor.")
def test_refusals_name_the_term(formula, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        brmc.get_prior(formula, NHANES)


def test_mi_on_a_family_that_cannot_impute_is_refused() -> None:
    with pytest.raises(FamilyError, match=r"Argument 'mi' is not supported for family 'poisson'"):
        brmc.get_prior("hyp | mi() ~ age", NHANES, family="poisson")
    with pytest.raises(DataError, match=r"measurement sd neg of mi\(\) must be zero or more"):
        brmc.get_prior("bmi | mi(neg) ~ age", NHANES.assign(neg=-1.0))
    with pytest.raises(DataError, match=r"measurement sd sdy of mi\(\) must be a numeric column"):
        brmc.get_prior("bmi | mi(sdy) ~ age", NHANES.assign(sdy="a"))


def test_rows_missing_other_variables_are_dropped_as_brms() -> None:
    """brms keeps missing values only of variables under mi(): hyp's drop 8 rows."""
    with pytest.warns(UserWarning, match="8 of 25 rows dropped"):
        md = brmc.data.build_data(brmc.parse_formula("bmi | mi() ~ hyp"), NHANES, brmc.get_family("gaussian"))
    assert md.nobs == 17 and np.isinf(md.y).sum() == 1


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    """A reference fit (2 chains × 1,000 after 1,000): as small as 0.15 sd / 4 Monte Carlo errors allow."""
    return quiet(brmc.brm, FORMULA, NHANES, chains=2, iter=2000, seed=1234, progress=False)


def _flat(post: xr.Dataset, name: str) -> np.ndarray:
    return post[name].values.reshape(-1)


@pytest.mark.reference
def test_posterior_agrees_with_brms(fit: brmc.Fit) -> None:
    ref = pd.concat([pd.read_csv(reference_path("mi_nhanes", f))[["variable", "mean", "sd"]]
                     for f in ("draws_summary.csv", "ranef_summary.csv")])
    post = fit.idata.posterior
    checked = []
    for _, row in ref[~ref["variable"].isin(["lprior", "lp__"])].iterrows():
        draws = post[row["variable"]]
        mcse = float(az.mcse(post[[row["variable"]]])[row["variable"]])
        assert abs(float(draws.mean()) - row["mean"]) <= max(0.15 * row["sd"], 4 * mcse), row["variable"]
        assert 0.8 <= float(draws.std()) / row["sd"] <= 1.25, row["variable"]
        checked.append(row["variable"])
    assert len(checked) == 8 + 19 and "Ymi_chl[24]" in checked


@pytest.mark.reference
def test_summary_and_fitted_agree_with_brms(fit: brmc.Fit) -> None:
    """brms prints mi()'s coefficients among the population-level effects (``bmi_michl``); fitted()
    at the training rows reads chl's imputed values."""
    text = str(fit)
    fixed = text[text.index("Population-Level Effects:"):text.index("Family Specific Parameters:")]
    assert "\nbmi_michl " in fixed and "\nbmi_michl:age " in fixed and "Ymi" not in text
    ours, theirs = fit.fitted(), reference_csv("mi_nhanes", "fitted_head40.csv").astype(float)
    for resp in ("bmi", "chl"):
        z = (ours[f"Estimate.{resp}"] - theirs[f"Estimate.{resp}"]) / theirs[f"Est.Error.{resp}"]
        assert np.abs(z).max() < 0.15, resp
        ratio = ours[f"Est.Error.{resp}"] / theirs[f"Est.Error.{resp}"]
        assert ratio.between(0.8, 1.25).all(), resp


@pytest.mark.reference
def test_log_lik_and_new_rows_follow_brms(fit: brmc.Fit) -> None:
    """brms's log_lik sums the responses' densities at their data Y (NA where missing: NaN there, and
    loo() is refused), bmi's mean reading chl's observed-or-imputed values; at new rows mi(chl) reads
    the new chl."""
    post = fit.idata.posterior
    Yl = NHANES["chl"].to_numpy(float)[None, :].repeat(len(_flat(post, "sigma_chl")), axis=0)
    for j in reference_standata("mi_nhanes")["Jmi_chl"]:
        Yl[:, j - 1] = _flat(post, f"Ymi_chl[{j}]")
    age = NHANES["age"].to_numpy(float)
    mu_bmi = (_flat(post, "b_bmi_Intercept")[:, None] + _flat(post, "b_bmi_age")[:, None] * age
              + _flat(post, "bsp_bmi_michl")[:, None] * Yl + _flat(post, "bsp_bmi_michl:age")[:, None] * Yl * age)
    mu_chl = _flat(post, "b_chl_Intercept")[:, None] + _flat(post, "b_chl_age")[:, None] * age
    with np.errstate(invalid="ignore"):
        expected = (scipy.stats.norm.logpdf(NHANES["bmi"].fillna(np.inf), mu_bmi, _flat(post, "sigma_bmi")[:, None])
                    + scipy.stats.norm.logpdf(NHANES["chl"].fillna(np.inf), mu_chl, _flat(post, "sigma_chl")[:, None]))
    ll = fit.log_likelihood().values.reshape(len(mu_chl), -1)
    observed = NHANES[["bmi", "chl"]].notna().all(axis=1).to_numpy()
    np.testing.assert_allclose(ll[:, observed], expected[:, observed], rtol=1e-9)
    assert np.isnan(ll[:, ~observed]).all()
    with pytest.raises(DataError, match="NAs not allowed in input: NAs were found in the log-likelihood"):
        fit.loo()
    np.testing.assert_allclose(fit.posterior_epred(resp="bmi").reshape(mu_bmi.shape), mu_bmi, rtol=1e-9)
    new = pd.DataFrame({"age": [1, 3], "chl": [150.0, 250.0], "bmi": [0.0, 0.0]})
    at_new = fit.posterior_epred(newdata=new, resp="bmi").reshape(len(mu_chl), 2)
    b = {k: _flat(post, k)[:, None] for k in ("b_bmi_Intercept", "b_bmi_age", "bsp_bmi_michl", "bsp_bmi_michl:age")}
    x, a = new["chl"].to_numpy(), new["age"].to_numpy(float)
    np.testing.assert_allclose(at_new, b["b_bmi_Intercept"] + b["b_bmi_age"] * a + b["bsp_bmi_michl"] * x
                               + b["bsp_bmi_michl:age"] * x * a, rtol=1e-9)
    with pytest.raises(DataError, match="'chl'"):
        fit.posterior_epred(newdata=new.assign(chl=[np.nan, 1.0]), resp="bmi")


def test_draws_go_back_to_the_model_parameters() -> None:
    """``constrained`` (brms's names → bspmi_bmi, Ymi_bmi) then ``rename`` gives the same draws."""
    rng = np.random.default_rng(1)
    mv = build_mv_data(FORMULA, NHANES)
    lp = mv.responses["bmi"].predictors["mu"]
    lp.resp = "bmi"
    raw = xr.Dataset({"bspmi_bmi": (("chain", "draw", "k"), rng.normal(size=(1, 3, 2))),
                      "Ymi_bmi": (("chain", "draw", "m"), rng.normal(size=(1, 3, 9)))})
    named = mi.KIND.rename(raw, lp, lp.parts["mi"])
    post = xr.Dataset({k: (("chain", "draw"), v) for s in named.values() for k, v in s.items()})
    assert list(named["bsp"]) == ["bsp_bmi_michl", "bsp_bmi_michl:age"] and "Ymi_bmi[21]" in named["Ymi"]
    back = mi.KIND.constrained(post, lp, lp.parts["mi"])
    for name in raw.data_vars:
        np.testing.assert_array_equal(back[name], raw[name].values)
