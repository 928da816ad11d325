"""``cs()`` as a term kind (:mod:`brmc.terms.cs`): brms 2.18's priors and data (grid case
``sratio_cs_inhaler``), the likelihood against brms's Stan functions written here in NumPy
from brms's own ``standata``, names, summary, predictions with new data and log_lik.

No brms fit with ``cs()`` exists; the likelihood is checked against an independent NumPy
transcription of brms's ``sratio_logit_lpmf``, ``cratio_logit_lpmf``, ``acat_logit_lpmf`` and
``cumulative_logit_lpmf`` with the thresholds ``Intercept - transpose(mucs[n])``.
"""

from __future__ import annotations

import re
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, log_expit, logsumexp

import brmc
from brmc.errors import FormulaError

from .conftest import quiet, reference_csv, reference_standata, reference_text
from .test_reference_priors import _compare

INHALER = brmc.datasets.load("inhaler")
CASE = "rating ~ cs(treat) + (1 | subject)"


def brms_lpmf(family: str, y: int, mu: float, thres: np.ndarray) -> float:
    """brms 2.18's ``<family>_logit_lpmf(y | mu, disc = 1, thres)`` (its Stan functions), y from 1."""
    K = len(thres)
    if family == "acat":
        p = np.concatenate([[0.0], np.cumsum(mu - thres)])
        return float(p[y - 1] - logsumexp(p))
    if family == "cumulative":
        cum = np.concatenate([[0.0], expit(thres - mu), [1.0]])
        return float(np.log(cum[y] - cum[y - 1]))
    # sratio: q_k = log(1 - F(thres_k - mu)); cratio: q_k = log F(mu - thres_k)
    q = log_expit(-(thres - mu)) if family == "sratio" else log_expit(mu - thres)
    if y == K + 1:
        return float(q.sum())
    return float(np.log1p(-np.exp(q[y - 1])) + q[: y - 1].sum())


def test_default_priors_are_brms_grid_rows() -> None:
    rows = reference_csv("sratio_cs_inhaler", "default_priors2.csv")
    assert rows["formula"].iloc[0] == CASE
    _compare(brmc.get_prior(CASE, INHALER, family="sratio"), rows)


def test_population_and_category_specific_b_rows_are_merged_as_brms() -> None:
    """brms's prior_fe + prior_cs rows, sorted and made unique: one 'b' row per column."""
    tab = brmc.get_prior("rating ~ period + cs(treat) + cs(carry)", INHALER, family="acat")
    b = tab[tab["class"] == "b"]
    assert b["coef"].tolist() == ["", "carry", "period", "treat"]


def test_stan_data_are_brms_standata() -> None:
    ref = reference_standata("sratio_cs_inhaler")
    md = brmc.data.build_data(brmc.parse_formula(CASE), INHALER, brmc.get_family("sratio"))
    part = md.predictors["mu"].parts["cs"]
    assert (part.nthres, len(part.names)) == (int(ref["nthres"][0]), int(ref["Kcs"][0]))
    np.testing.assert_array_equal(part.Xcs, ref["Xcs"])
    np.testing.assert_array_equal(md.y + 1, ref["Y"])
    np.testing.assert_array_equal(md.blocks[0].index + 1, ref["J_1"])
    assert md.predictors["mu"].parts["fe"].b_names == [] and int(ref["K"][0]) == 0
    # brms does not centre Xcs: its b_Intercept is the temporary Intercept itself
    assert "b_Intercept = Intercept;" in reference_text("sratio_cs_inhaler", "stancode.stan")


@pytest.mark.parametrize("family", ["sratio", "cratio", "acat", "cumulative"])
def test_the_likelihood_is_brms_at_a_parameter_point(family: str) -> None:
    """The model's log-likelihood at a point equals brms's lpmf summed over brms's data."""
    ref = reference_standata("sratio_cs_inhaler")
    with pytest.warns(UserWarning, match="experimental") if family == "cumulative" else nullcontext():
        md = brmc.data.build_data(brmc.parse_formula(CASE), INHALER, brmc.get_family(family))
    model = brmc.model.build_model(md, brmc.priors.resolve_priors(md)).model
    rng = np.random.default_rng(3)
    intercept = np.array([-0.4, 0.3, 1.1]) if family == "cumulative" else np.array([0.5, 2.0, 1.0])
    bcs, sd, z = np.array([-0.6, 0.4, 0.9]), 0.8, rng.normal(size=(1, int(ref["N_1"][0])))
    point = {"bcs": bcs, "sd_1_log__": np.log([sd]), "z_1": z,
             "Intercept_ordered__" if family == "cumulative" else "Intercept": _ordered(intercept, family)}
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    ours = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")(point)
    r = sd * z[0]
    mucs = ref["Xcs"] @ bcs[None, :]
    theirs = sum(brms_lpmf(family, int(y), r[j - 1], intercept - mucs[n])
                 for n, (y, j) in enumerate(zip(ref["Y"], ref["J_1"])))
    assert np.isfinite(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def _ordered(x: np.ndarray, family: str) -> np.ndarray:
    """PyMC's ordered transform's unconstrained values (first, then log differences) for cumulative."""
    return np.concatenate([x[:1], np.log(np.diff(x))]) if family == "cumulative" else x


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    return quiet(brmc.brm, "rating ~ period + cs(treat) + (1 | subject)", INHALER, family="sratio",
                 chains=2, iter=300, seed=5, progress=False)


def _draws(fit: brmc.Fit, name: str) -> np.ndarray:
    return fit.idata.posterior[name].values.reshape(-1)


def _numpy_thresholds(fit: brmc.Fit, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per draw and row: mu (period and subject effects) and brms's thresholds Intercept - mucs."""
    post = fit.idata.posterior
    thres = np.stack([_draws(fit, f"b_Intercept[{k}]") for k in (1, 2, 3)], axis=-1)  # S, 3
    bcs = np.stack([_draws(fit, f"bcs_treat[{k}]") for k in (1, 2, 3)], axis=-1)
    r = post["r_subject"].values[..., 0].reshape(len(thres), -1)
    levels = [str(s) for s in post["r_subject"].coords["subject__level"].values]
    j = np.array([levels.index(str(s)) for s in rows["subject"]])
    mu = _draws(fit, "b_period")[:, None] * rows["period"].to_numpy() + r[:, j]
    return mu, thres[:, None, :] - bcs[:, None, :] * rows["treat"].to_numpy()[None, :, None]


def test_names_and_summary_are_brms(fit: brmc.Fit) -> None:
    names = list(fit.idata.posterior.data_vars)
    assert names[:7] == ["b_Intercept[1]", "b_Intercept[2]", "b_Intercept[3]", "b_period",
                         "bcs_treat[1]", "bcs_treat[2]", "bcs_treat[3]"]
    rows = re.findall(r"^(\S+)\s+-?\d", str(fit.summary()).split("Population-Level Effects:")[1]
                      .split("Family Specific")[0], flags=re.MULTILINE)
    assert rows == ["Intercept[1]", "Intercept[2]", "Intercept[3]", "period", "treat[1]", "treat[2]", "treat[3]"]
    assert list(fit.fixef().index) == rows


def test_log_lik_is_brms_lpmf_of_the_draws(fit: brmc.Fit) -> None:
    rows = INHALER.iloc[[0, 100, 300, 571]]
    mu, thres = _numpy_thresholds(fit, rows)
    ours = fit.log_likelihood().values.reshape(len(mu), -1)[:, rows.index]
    theirs = np.array([[brms_lpmf("sratio", int(y), mu[s, i], thres[s, i]) for i, y in enumerate(rows["rating"])]
                       for s in range(0, len(mu), 25)])
    np.testing.assert_allclose(ours[::25], theirs, rtol=1e-8)


def test_epred_on_new_data_is_brms_category_probabilities(fit: brmc.Fit) -> None:
    new = pd.DataFrame({"treat": [0.5, -0.5], "period": [-0.5, 0.5], "subject": [1, 2]})
    mu, thres = _numpy_thresholds(fit, new)
    ours = fit.posterior_epred(newdata=new)
    theirs = np.exp([[[brms_lpmf("sratio", y, mu[s, i], thres[s, i]) for y in (1, 2, 3, 4)] for i in range(2)]
                     for s in range(len(mu))])
    np.testing.assert_allclose(ours, theirs, rtol=1e-8)
    assert fit.posterior_predict(newdata=new, seed=1).shape == (len(mu), 2)


@pytest.mark.parametrize("formula, family, message", [
    ("Reaction ~ cs(Days)", "gaussian", "not supported for family 'gaussian'"),
    ("rating ~ cs(treat):period", "sratio", "must be added as a term of its own"),
    ("rating ~ cs(treat, period)", "sratio", "takes one formula part"),
    ("rating ~ treat + (1 + cs(1) | subject)", "sratio", "category specific effects in separate group-level terms"),
    ("Reaction ~ Days + (cs(1) | Subject)", "gaussian", "not supported for family 'gaussian'"),
])
def test_bad_category_specific_terms_are_refused(formula: str, family: str, message: str) -> None:
    data = brmc.datasets.load("sleepstudy") if family == "gaussian" else INHALER
    with pytest.raises(FormulaError, match=message):
        brmc.get_prior(formula, data, family=family)


def test_category_specific_effects_only_predict_mu() -> None:
    with pytest.raises(FormulaError, match="only supported for the main parameter 'mu'"):
        brmc.get_prior(brmc.bf("Reaction ~ Days", sigma="~ cs(Days)"), brmc.datasets.load("sleepstudy"))
