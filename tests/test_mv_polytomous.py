"""Ordinal, categorical and mixture responses and ``cs()`` terms in a multivariate model without
``rescor`` (brms allows any family per response then): brms's default priors (per response by the
univariate rules, as tests/test_mv_special_terms.py), brms's names with the response
(``b_y1_Intercept[1]``, ``bcs_y1_z[1]``, ``b_muq_y3_x``, ``theta1_y4``), each response's likelihood
against SciPy, the joint density as the sum of the univariate models' (so the posterior of each
response is its univariate model's), a short fit against the univariate fit, and brms's refusals.

No brms run of such a model exists; the expected prior table is brms's rule (R/priors.R
``prior_predictor.mvbrmsterms``: each response's rows with its ``resp``, then the global ``b`` and
``Intercept`` rows) applied to the univariate tables, which the reference grid checks against brms."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import brmc
from brmc.errors import FamilyError, FormulaError
from brmc.mvdata import build_mv_data, resolve_mv_priors
from brmc.mvmodel import build_mv_model
from brmc.priors import PRIOR_COLUMNS

from .conftest import quiet

RNG = np.random.default_rng(7)
N = 60
DATA = pd.DataFrame({"x": RNG.normal(size=N), "z": RNG.normal(size=N)})
DATA["y1"] = pd.Categorical(np.digitize(DATA["x"] + RNG.normal(size=N), [-0.5, 0.6]) + 1, ordered=True)
DATA["y2"] = 0.5 + DATA["z"] + RNG.normal(size=N)
DATA["y3"] = np.where(RNG.random(N) < 0.5, "p", np.where(DATA["x"] > 0, "q", "r"))
DATA["y4"] = np.where(RNG.random(N) < 0.4, -2.0, 2.0) + 0.3 * DATA["x"] + 0.5 * RNG.normal(size=N)
MIX = brmc.mixture("gaussian", "gaussian")
CASES = {  # name → (formula of the first response, its family)
    "sratio_cs": ("y1 ~ x + cs(z)", "sratio"),
    "cumulative": ("y1 ~ x", "cumulative"),
    "categorical": ("y3 ~ x", "categorical"),
    "mixture": ("y4 ~ x", MIX),
}


def _mv(case: str) -> tuple:
    formula, family = CASES[case]
    resp = formula.split()[0]
    return brmc.bf(formula) + brmc.bf("y2 ~ z") + brmc.set_rescor(False), {resp: family, "y2": "gaussian"}


def _order(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["resp"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("case", list(CASES))
def test_default_priors_follow_brms_rules_per_response(case) -> None:
    formula, family = _mv(case)
    ours = quiet(brmc.get_prior, formula, DATA, family=family)[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    rows = [dict.fromkeys(PRIOR_COLUMNS, "") | {"class": cl, "source": "default"} for cl in ("b", "Intercept")]
    for resp, form in ((next(iter(family)), CASES[case][0]), ("y2", "y2 ~ z")):
        table = quiet(brmc.get_prior, form, DATA, family=family[resp])[PRIOR_COLUMNS].astype(str)
        rows += [r | {"resp": resp} for r in table.to_dict("records")]
    pd.testing.assert_frame_equal(ours, _order(pd.DataFrame(rows, columns=PRIOR_COLUMNS)))


def _point_value(model, point: dict) -> dict:
    """The value variables at ``point`` (the constrained parameters by name), through each transform."""
    out = {}
    for rv in model.free_RVs:
        value, transform = model.rvs_to_values[rv], model.rvs_to_transforms.get(rv)
        x = np.asarray(point[rv.name], dtype=float)
        out[value.name] = x if transform is None else transform.forward(x, *rv.owner.inputs).eval()
    return out


def _potential(built, name: str, point: dict) -> float:
    model = built.model
    (term,) = model.replace_rvs_by_values([model[name]])
    f = model.compile_fn(term, inputs=model.value_vars, point_fn=False, on_unused_input="ignore")
    return float(f(**_point_value(model, point)))


def _centred(v: str) -> np.ndarray:
    return DATA[v].to_numpy() - DATA[v].mean()


def _gaussian_y2(point: dict) -> float:
    mu = point["Intercept_y2"] + _centred("z") * point["b_y2"][0]
    return stats.norm.logpdf(DATA["y2"], mu, point["sigma_y2"]).sum()


def _scipy_loglik(case: str, p: dict) -> float:
    """The first response's log-likelihood written from brms's Stan functions."""
    x, p = _centred("x"), {k: np.asarray(v, dtype=float) for k, v in p.items()}
    if case == "sratio_cs":  # P(Y = k | Y >= k) = logistic(thres_k - eta - z bcs_k)
        y = DATA["y1"].cat.codes.to_numpy()
        eta = x * p["b_y1"][0]
        stop = special.expit(p["Intercept_y1"][None, :] - eta[:, None] - DATA["z"].to_numpy()[:, None]
                             * p["bcs_y1"][None, :])
        probs = np.column_stack([stop[:, 0], (1 - stop[:, 0]) * stop[:, 1], (1 - stop[:, 0]) * (1 - stop[:, 1])])
        return np.log(probs[np.arange(N), y]).sum()
    if case == "cumulative":
        y = DATA["y1"].cat.codes.to_numpy()
        cum = special.expit(np.column_stack([np.full(N, -np.inf), p["Intercept_y1"][None, :]
                                             - (x * p["b_y1"][0])[:, None], np.full(N, np.inf)]))
        return np.log(np.diff(cum, axis=1)[np.arange(N), y]).sum()
    if case == "categorical":  # softmax(0, mu_q, mu_r), the first category the reference
        y = pd.Categorical(DATA["y3"]).codes
        logits = np.column_stack([np.zeros(N)] + [p[f"Intercept_mu{c}_y3"] + x * p[f"b_mu{c}_y3"][0] for c in "qr"])
        return (logits[np.arange(N), y] - special.logsumexp(logits, axis=1)).sum()
    mus = [p["ordered_Intercept_y4"][k] + x * p[f"b_mu{k + 1}_y4"][0] for k in range(2)]
    parts = [np.log(p["theta_y4"][k]) + stats.norm.logpdf(DATA["y4"], mus[k], p[f"sigma{k + 1}_y4"]) for k in range(2)]
    return special.logsumexp(np.stack(parts), axis=0).sum()


POINTS = {
    "sratio_cs": {"Intercept_y1": [-0.4, 0.7], "b_y1": [0.9], "bcs_y1": [0.3, -0.6]},
    "cumulative": {"Intercept_y1": [-0.4, 0.7], "b_y1": [0.9]},
    "categorical": {"Intercept_muq_y3": -0.3, "b_muq_y3": [0.8], "Intercept_mur_y3": 0.2, "b_mur_y3": [-1.1]},
    "mixture": {"ordered_Intercept_y4": [-1.8, 2.1], "b_mu1_y4": [0.2], "b_mu2_y4": [0.4], "sigma1_y4": 0.6,
                "sigma2_y4": 0.9, "theta_y4": [0.35, 0.65]},
}
Y2 = {"Intercept_y2": 0.4, "b_y2": [1.1], "sigma_y2": 0.9}


@pytest.mark.parametrize("case", list(CASES))
def test_each_response_likelihood_against_scipy(case) -> None:
    formula, family = _mv(case)
    mv = quiet(build_mv_data, formula, DATA, family)
    built = build_mv_model(mv, resolve_mv_priors(mv))
    point = POINTS[case] | Y2
    assert sorted(v.name for v in built.model.free_RVs) == sorted(point)
    resp = next(iter(family))
    assert _potential(built, f"Y_{resp}_loglik", point) == pytest.approx(_scipy_loglik(case, point), rel=1e-9)
    assert _potential(built, "Y_y2_loglik", point) == pytest.approx(_gaussian_y2(point), rel=1e-9)


@pytest.mark.parametrize("case", ["sratio_cs", "mixture"])
def test_joint_density_is_the_sum_of_the_univariate_models(case) -> None:
    """Without rescor the model's log density (priors included) is its responses' univariate ones added:
    the same posterior for each response as its own model."""
    formula, family = _mv(case)
    mv = quiet(build_mv_data, formula, DATA, family)
    joint = build_mv_model(mv, resolve_mv_priors(mv)).model
    resp = next(iter(family))
    own = quiet(brmc.make_model, CASES[case][0], DATA, family=family[resp]).model
    other = quiet(brmc.make_model, "y2 ~ z", DATA).model
    point = POINTS[case] | Y2
    renamed = {k.removesuffix(f"_{resp}").replace(f"_{resp}", ""): v for k, v in POINTS[case].items()}
    value = joint.compile_logp()(_point_value(joint, point))
    parts = own.compile_logp()(_point_value(own, renamed))
    parts += other.compile_logp()(_point_value(other, {k.removesuffix("_y2"): v for k, v in Y2.items()}))
    assert float(value) == pytest.approx(float(parts), rel=1e-10)


def test_names_summary_and_post_processing() -> None:
    formula = (brmc.bf("y1 ~ x + cs(z)") + brmc.bf("y3 ~ x") + brmc.bf("y4 ~ x") + brmc.bf("y2 ~ z")
               + brmc.set_rescor(False))
    family = {"y1": "sratio", "y3": "categorical", "y4": MIX, "y2": "gaussian"}
    fit = quiet(brmc.brm, formula, DATA, family=family, chains=1, iter=8, seed=3, progress=False,
                algorithm="fixed_param")
    post = fit.idata.posterior
    for name in ("b_y1_Intercept[1]", "b_y1_Intercept[2]", "b_y1_x", "bcs_y1_z[1]", "bcs_y1_z[2]",
                 "b_muq_y3_Intercept", "b_mur_y3_x", "b_mu1_y4_Intercept", "sigma2_y4", "theta1_y4", "theta2_y4",
                 "sigma_y2"):
        assert name in post
    text = str(fit.summary())
    for label in ("y1_Intercept[2]", "y1_z[1]", "mur_y3_x", "theta1_y4"):
        assert label in text
    d = len(post.draw)
    # categorical: per-category probabilities, softmax(0, mu_q, mu_r) from the draws
    x = DATA["x"].to_numpy()
    logits = np.stack([np.zeros((d, N))] + [post[f"b_mu{c}_y3_Intercept"].values[0][:, None]
                                            + post[f"b_mu{c}_y3_x"].values[0][:, None] * x for c in "qr"], axis=-1)
    np.testing.assert_allclose(fit.posterior_epred(resp="y3"), special.softmax(logits, axis=-1), rtol=1e-8)
    assert fit.posterior_epred(resp="y1").shape == (d, N, 3)
    assert fit.posterior_predict(resp="y4").shape == (d, N)
    total = sum(fit.response_fit(r).log_lik() for r in family)
    np.testing.assert_allclose(fit.log_lik(), total.reshape(fit.log_lik().shape), rtol=1e-10)


def test_posterior_of_ordinal_response_equals_its_univariate_fit() -> None:
    """Sampled: the mv fit's draws of the cumulative response against its own model's (means within
    0.15 sd or 4 MCSE, sd ratio in [0.8, 1.25])."""
    formula, family = _mv("cumulative")
    settings = {"chains": 2, "iter": 600, "seed": 5, "progress": False}
    mv = quiet(brmc.brm, formula, DATA, family=family, **settings).idata.posterior
    uni = quiet(brmc.brm, "y1 ~ x", DATA, family="cumulative", **settings).idata.posterior
    for ours, theirs in (("b_y1_Intercept[1]", "b_Intercept[1]"), ("b_y1_Intercept[2]", "b_Intercept[2]"),
                         ("b_y1_x", "b_x")):
        a, b = mv[ours].values.ravel(), uni[theirs].values.ravel()
        mcse = np.sqrt(a.var() / 300 + b.var() / 300)
        assert abs(a.mean() - b.mean()) < max(0.15 * b.std(), 4 * mcse), ours
        assert 0.8 <= a.std() / b.std() <= 1.25, ours


def test_refusals_as_brms() -> None:
    for family in ({"y1": "cumulative", "y2": "gaussian"}, {"y4": MIX, "y2": "gaussian"}):
        resp = next(iter(family))
        formula = brmc.bf(f"{resp} ~ x") + brmc.bf("y2 ~ z") + brmc.set_rescor(True)
        with pytest.raises(FamilyError, match="only possible in multivariate gaussian or student models"):
            quiet(build_mv_data, formula, DATA, family)
    with pytest.raises(FormulaError, match="not supported for family 'gaussian'"):
        quiet(build_mv_data, brmc.bf("y2 ~ cs(x)") + brmc.bf("y4 ~ z") + brmc.set_rescor(False), DATA)
    counts = DATA.assign(a=1, b=2, c=3, n=6)
    with pytest.raises(FamilyError, match="Family 'multinomial' .a matrix response. is not supported"):
        quiet(build_mv_data, brmc.bf("cbind(a, b, c) | trials(n) ~ x") + brmc.bf("y2 ~ z") + brmc.set_rescor(False),
              counts, ["multinomial", "gaussian"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mv = build_mv_data(brmc.bf("y1 ~ x") + brmc.bf("y2 ~ z"), DATA, {"y1": "acat", "y2": "gaussian"})
    assert not mv.rescor  # brms's default when rescor is not allowed
