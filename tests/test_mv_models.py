"""Multivariate models through bf()/brm() (mvbind, bf() + bf(), mvbf, set_rescor, resp=) and group-level IDs
(1 | p | g): brms's default priors, brms's data (standata.json), brms's names, the likelihood against SciPy
on brms's data, and the errors."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

import brmc
from brmc.errors import DataError, FamilyError, FormulaError, PriorError
from brmc.graph import cholesky_from_raw
from brmc.mvdata import build_mv_data, resolve_mv_priors
from brmc.mvmodel import build_mv_model, mv_log_lik, mv_posterior
from brmc.priors import PRIOR_COLUMNS

from .conftest import MV_SETTINGS, reference_csv, reference_standata, reference_text

JSP = brmc.datasets.load("jspr")
MV_JSP = brmc.bf("mvbind(english, math) ~ craven + (1 | p | school)") + brmc.set_rescor(True)
NONRESCOR = (brmc.bf("english ~ craven + (1 | school)") + brmc.bf("math ~ craven + social + (1 | school)")
             + brmc.set_rescor(False))
CROSSDPAR = brmc.bf("Reaction ~ Days + (1 | p | Subject)", "sigma ~ (1 | p | Subject)")


def _compare(ours: pd.DataFrame, case: str) -> None:
    theirs = reference_csv(case, "get_prior.csv")[PRIOR_COLUMNS].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.DataFrame(ours)[PRIOR_COLUMNS].astype(str).reset_index(drop=True), theirs)


@pytest.mark.parametrize("case, formula, data", [
    ("mv_jsp", MV_JSP, JSP),
    ("mv_nonrescor_jsp", NONRESCOR, JSP),
    ("crossdpar_sleep", CROSSDPAR, brmc.datasets.load("sleepstudy")),
])
def test_default_priors_equal_brms(case, formula, data) -> None:
    _compare(brmc.get_prior(formula, data), case)


def test_every_spelling_gives_the_same_model() -> None:
    """mvbf(), bf() + bf() and mvbind text (brms's default rescor = TRUE, with its warning) are one model."""
    by_mvbf = brmc.mvbf("english ~ craven + (1 | p | school)", "math ~ craven + (1 | p | school)", rescor=True)
    by_sum = brmc.bf("english ~ craven + (1 | p | school)") + brmc.bf("math ~ craven + (1 | p | school)") \
        + brmc.set_rescor(True)
    for formula in (by_mvbf, by_sum):
        _compare(brmc.get_prior(formula, JSP), "mv_jsp")
    with pytest.warns(UserWarning, match="Setting 'rescor' to TRUE by default"):
        _compare(brmc.get_prior("mvbind(english, math) ~ craven + (1 | p | school)", JSP), "mv_jsp")
    # a dpar formula of bf(mvbind(...) ~ ...) goes to every response, as brms's split_bf
    split = brmc.bf("mvbind(english, math) ~ craven", "sigma ~ craven")
    assert [f.lines() for f in split.forms.values()] == [["english ~ craven", "sigma ~ craven"],
                                                        ["math ~ craven", "sigma ~ craven"]]


@pytest.mark.parametrize("case, formula", [("mv_jsp", MV_JSP), ("mv_nonrescor_jsp", NONRESCOR)])
def test_data_equal_brms_standata(case, formula) -> None:
    """Each response's Y, design and group indices are brms's; IDs join blocks as brms numbers them."""
    standata = reference_standata(case)
    mv = build_mv_data(formula, JSP)
    for resp, md in mv.responses.items():
        np.testing.assert_array_equal(md.y, standata[f"Y_{resp}"])
        np.testing.assert_allclose(md.predictors["mu"].X, standata[f"X_{resp}"])
        (block,) = md.blocks
        assert block.joint_id == (1 if case == "mv_jsp" else block.id)
        np.testing.assert_array_equal(block.index + 1, standata[f"J_{block.joint_id}_{resp}"])
    joint = {b.joint_id: len(b.joint_labels) for b in mv.blocks}
    assert joint == {int(k[2:]): int(np.ravel(standata[k])[0]) for k in standata if k.startswith("M_")}


def _point(mv, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A random point of the model's parameters (constrained; Cholesky factors as their raw values)."""
    built = build_mv_model(mv, resolve_mv_priors(mv))
    point = {}
    for rv in built.model.free_RVs:
        shape = tuple(int(s) for s in rv.shape.eval())
        value = rng.normal(size=shape)
        point[rv.name] = np.exp(value) * 3 if rv.name.startswith(("sd_", "sigma")) else value
    point |= {f"Intercept_{r}": np.asarray(v) for r, v in (("english", 40.0), ("math", 30.0))}
    return built, point


def _model_loglik(built, point: dict[str, np.ndarray]) -> float:
    model = built.model
    values = {v.name: (np.log(point[v.name.removesuffix("_log__")]) if v.name.endswith("_log__")
                       else point[v.name]) for v in model.value_vars}
    (total,) = model.replace_rvs_by_values([sum(p for p in model.potentials if p.name.endswith("_loglik"))])
    return float(model.compile_fn(total, inputs=model.value_vars, point_fn=False, on_unused_input="ignore")(**values))


def _brms_mu(standata: dict, resp: str, point: dict, r: np.ndarray, column: int, block: int) -> np.ndarray:
    """brms's Stan code: mu = Intercept + Xc * b + r_<id>[J, column] * Z, from brms's data."""
    X = standata[f"X_{resp}"][:, 1:]
    Xc = X - X.mean(axis=0)
    J = standata[f"J_{block}_{resp}"] - 1
    return point[f"Intercept_{resp}"] + Xc @ point[f"b_{resp}"] + r[J, column]


WEIGHTED = (brmc.bf("mvbind(english, math) | weights(w) ~ craven + (1 | p | school)") + brmc.set_rescor(True),
            JSP.assign(w=np.random.default_rng(2).uniform(0.5, 2, len(JSP))))


@pytest.mark.parametrize("formula, data", [(MV_JSP, JSP), WEIGHTED], ids=["unweighted", "weights"])
def test_rescor_likelihood_equals_scipy_on_brms_data(formula, data) -> None:
    """multi_normal_cholesky(Y | Mu, diag(sigma) Lrescor) at a random point: the model's, log_lik's per row
    (brms's joint density of both responses, times weights[n] with weights()) and SciPy's from brms's
    standata agree; the draws take brms's names in brms's order."""
    mv = build_mv_data(formula, data)
    built, point = _point(mv, np.random.default_rng(3))
    standata = reference_standata("mv_jsp")
    L = cholesky_from_raw(point["L_1_raw"], 2)
    r = (point["sd_1"][:, None] * (L @ point["z_1"])).T
    mu = np.stack([_brms_mu(standata, resp, point, r, k, 1) for k, resp in enumerate(("english", "math"))], axis=1)
    C = cholesky_from_raw(point["Lrescor_raw"], 2)
    sigma = np.array([point["sigma_english"], point["sigma_math"]])
    cov = np.outer(sigma, sigma) * (C @ C.T)
    Y = np.stack([standata["Y_english"], standata["Y_math"]], axis=1)
    expected = np.array([scipy.stats.multivariate_normal(mu[i], cov).logpdf(Y[i]) for i in range(len(Y))])
    expected = expected * data.get("w", 1.0)
    np.testing.assert_allclose(_model_loglik(built, point), expected.sum(), rtol=1e-9)
    raw = xr.Dataset({k: xr.DataArray(np.asarray(v)[None, None], dims=("chain", "draw", *[f"{k}_{i}" for i in range(np.ndim(v))]))
                      for k, v in point.items()}, coords={"chain": [0], "draw": [0]})
    posterior = mv_posterior(raw, mv)
    np.testing.assert_allclose(mv_log_lik(posterior, mv)[0, 0], expected, rtol=1e-9)
    brms_names = [v for v in reference_csv("mv_jsp", "draws_summary.csv")["variable"] if v not in ("lprior", "lp__")]
    assert [v for v in posterior.data_vars if not str(v).startswith(("r_", "Intercept_"))] == brms_names
    assert posterior["r_school__math"].sel(school__math__coef="Intercept").shape == (1, 1, 48)


def test_independent_likelihoods_without_rescor_equal_scipy() -> None:
    """set_rescor(FALSE): the sum of each response's normal density, the model's and log_lik's (summed
    over the responses per row, as brms's log_lik of a multivariate fit)."""
    mv = build_mv_data(NONRESCOR, JSP)
    built, point = _point(mv, np.random.default_rng(4))
    standata = reference_standata("mv_nonrescor_jsp")
    expected = 0.0
    for resp, block in (("english", 1), ("math", 2)):
        r = (point[f"sd_{block}"][:, None] * point[f"z_{block}"]).T
        mu = _brms_mu(standata, resp, point, r, 0, block)
        expected = expected + scipy.stats.norm(mu, point[f"sigma_{resp}"]).logpdf(standata[f"Y_{resp}"])
    np.testing.assert_allclose(_model_loglik(built, point), expected.sum(), rtol=1e-9)
    raw = xr.Dataset({k: xr.DataArray(np.asarray(v)[None, None], dims=("chain", "draw", *[f"{k}_{i}" for i in range(np.ndim(v))]))
                      for k, v in point.items()}, coords={"chain": [0], "draw": [0]})
    np.testing.assert_allclose(mv_log_lik(mv_posterior(raw, mv), mv)[0, 0], expected, rtol=1e-9)


def test_priors_by_resp() -> None:
    mv = build_mv_data(MV_JSP, JSP)
    spec = resolve_mv_priors(mv, [brmc.prior("normal(0, 5)", resp="math"), brmc.prior("normal(0, 1)"),
                                  brmc.prior("exponential(1)", class_="sigma", resp="english"),
                                  brmc.prior("lkj(2)", class_="rescor")])
    chosen = {p.param: str(p.dist) for p in spec.params}
    assert chosen["b_math"] == "normal(0, 5)" and chosen["b_english"] == "normal(0, 1)"  # the global row for the rest
    assert chosen["sigma_english"] == "exponential(1)" and chosen["sigma_math"] == "student_t(3, 0, 5.9)"
    assert chosen["Lrescor"] == "lkj(2)" and chosen["L_1"] == "lkj(1)"


def test_student_rescor_shares_nu() -> None:
    """brms: one nu (gamma(2, 0.1), lb 1, no resp) for all responses of a student model with rescor."""
    table = brmc.get_prior(MV_JSP, JSP, family="student")
    nu = table[table["class"] == "nu"]
    assert nu[["prior", "resp", "lb"]].values.tolist() == [["gamma(2, 0.1)", "", "1"]]
    built = brmc.make_model(MV_JSP, JSP, family="student")
    assert "nu" in built.model.named_vars and "nu_english" not in built.model.named_vars


def test_families_per_response_without_rescor() -> None:
    data = JSP.assign(passed=(JSP["math"] > 30).astype(int))
    formula = brmc.bf("english ~ craven") + brmc.bf("passed ~ craven") + brmc.set_rescor(False)
    table = brmc.get_prior(formula, data, family={"english": "gaussian", "passed": "bernoulli"})
    assert table[table["class"] == "sigma"]["resp"].tolist() == ["english"]
    built = brmc.make_model(formula, data, family=["gaussian", "bernoulli"])
    assert {"Y_english_loglik", "Y_passed_loglik"} <= {p.name for p in built.model.potentials}


@pytest.mark.parametrize("build, error, message", [
    (lambda: brmc.get_prior(MV_JSP, JSP, family="poisson"), FamilyError, "only possible in multivariate gaussian"),
    (lambda: brmc.get_prior(MV_JSP, JSP, family=["gaussian", "student"]), FamilyError, "gaussian, student"),
    (lambda: brmc.make_model(MV_JSP, JSP, prior=brmc.prior("normal(0, 1)", resp="science")), PriorError,
     "responses are english, math"),
    (lambda: brmc.make_model("math ~ craven", JSP, prior=brmc.prior("normal(0, 1)", resp="math")), PriorError,
     "resp= is for multivariate models"),
    (lambda: brmc.bf("math ~ craven") + brmc.set_rescor(True), FormulaError, "only possible in multivariate models"),
    (lambda: brmc.get_prior(brmc.bf("mvbind(english, math) ~ craven + (1 | p | school) + (1 | p | class)"), JSP),
     FormulaError, "must have the same grouping factor"),
    (lambda: brmc.get_prior(brmc.bf("mvbind(english, math) ~ craven + cosy(time = year, gr = id)")
                            + brmc.set_rescor(True), JSP),
     FamilyError, "Explicit covariance terms cannot be modeled when 'rescor' is estimated"),
    (lambda: brmc.get_prior(MV_JSP, JSP, family=["gaussian"]), FamilyError, "1 families for 2 responses"),
    (lambda: brmc.get_prior(brmc.bf("english | weights(w) ~ craven") + brmc.bf("math ~ craven") + brmc.set_rescor(True),
                            JSP.assign(w=2.0)), FamilyError, "every response takes the same weights"),
    (lambda: brmc.bf("y ~ x + (1 | a + b | g)"), FormulaError, "ID of a group term"),
    (lambda: brmc.get_prior(brmc.bf("mvbind(english, math) ~ craven", "nu ~ craven") + brmc.set_rescor(True), JSP,
                            family="student"), FamilyError, "only mu and sigma can be predicted"),
    (lambda: brmc.bf("mvbind(english, math) ~ craven", "mvbind(sigma, nu) ~ craven"), FormulaError,
     "must be the name of a distributional parameter"),
])
def test_errors_name_the_culprit(build, error, message) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error) as err:
            build()
    assert message in str(err.value)


def test_resp_of_predictions_is_checked() -> None:
    """A fit's resp= must be one of its responses (checked before any prediction)."""
    from brmc.mvfit import MvFit

    fit = MvFit(model_data=build_mv_data(MV_JSP, JSP), priors=None, settings=None, idata=None)
    with pytest.raises(DataError, match="resp='sci' is not a response of the model"):
        fit.posterior_epred(resp="sci")


def test_methods_of_a_multivariate_fit() -> None:
    """prior_summary prints brms's text; ranef, fitted and predictions have brms's names and shapes; with
    rescor, posterior_predict's residuals are correlated by the draws' rescor (its draws are the
    initial values, each the same)."""
    fit = brmc.brm(MV_JSP, JSP, **MV_SETTINGS)
    assert str(fit.prior_summary()) == reference_text("mv_jsp", "prior_summary.txt")
    assert fit.ranef()["school"].index.get_level_values("coef").unique().tolist() == ["english_Intercept",
                                                                                      "math_Intercept"]
    assert fit.fitted().columns.tolist() == reference_csv("mv_jsp", "fitted_head40.csv").columns.tolist()
    epred = fit.posterior_epred()
    assert epred.shape == (200, 953, 2)
    np.testing.assert_array_equal(fit.posterior_epred(resp="math"), epred[..., 1])
    predicted = fit.posterior_predict(seed=2)
    sigma = fit.posterior_epred(dpar="sigma")
    for chain in (0, 1):  # draws 0-99 are the first chain's
        z = ((predicted - epred) / sigma)[100 * chain: 100 * (chain + 1)].reshape(-1, 2)
        assert abs(np.corrcoef(z.T)[0, 1] - float(fit.idata.posterior["rescor__english__math"][chain, 0])) < 0.01
    assert fit.predict(resp="english", seed=1).shape == (953, 4)
