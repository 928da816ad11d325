"""``(1 + mo(x):w | g)`` and ``(1 + mo(x) | mm(g, g2))``: group terms varying a population term ``mo()`` (brms's special group-level
terms, ``tidy_ranef`` type ``sp``), checked at a parameter point against brms's Stan line
``mu[n] += (bsp[1] + r_1_2[J_1[n]]) * mo(simo_1, Xmo_1[n]) * Csp_1[n]`` (stan_sp) written in NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

import brmc
from brmc.errors import FormulaError

from .conftest import quiet
from .test_group_options import _block, _cholesky2, _monotonic_data, _point

FORMULA = "y ~ mo(x):w + (1 + mo(x):w | g)"


def _data():
    data = _monotonic_data()[0].iloc[:60]
    return data.assign(w=np.linspace(0.5, 1.5, len(data)))


def _at_a_point(md: brmc.data.ModelData, data, seed: int) -> tuple:
    """The model's log-likelihood at a random point, the point, ``mo(simo, Xmo)`` of the data's ``x``
    with the model's own simplex, and the group effects ``r`` (levels × 2) of the correlated block."""
    model = brmc.model.build_model(md, brmc.priors.resolve_priors(md)).model
    point = _point(model, np.random.default_rng(seed))
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    ours = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")(point)
    simo = model.compile_fn(model.replace_rvs_by_values([model["simo_1"]])[0], inputs=model.value_vars,
                            on_unused_input="ignore")(point)
    mo = 4 * np.concatenate([[0.0], np.cumsum(simo)])[data["x"].to_numpy()]
    r = (np.exp(point["sd_1_log__"])[:, None] * (_cholesky2(point["L_1_raw"][0]) @ point["z_1"])).T
    return ours, point, mo, r


def test_monotonic_interaction_group_effects_are_brms_at_a_parameter_point() -> None:
    data = _data()
    md = _block(FORMULA, data)
    assert md.blocks[0].coefs == ["Intercept", "mox:w"]
    ours, point, mo, r = _at_a_point(md, data, 3)
    j = data["g"].map({f"g{i:02d}": i for i in range(15)}).to_numpy()
    mu = point["Intercept"] + r[j, 0] + (point["bsp"][0] + r[j, 1]) * mo * data["w"].to_numpy()
    np.testing.assert_allclose(ours, norm.logpdf(data["y"], mu, np.exp(point["sigma_log__"])).sum(), rtol=1e-10)


def test_monotonic_interaction_predictions_use_the_new_rows_covariate() -> None:
    data = _data()
    fit = quiet(brmc.brm, FORMULA, data, chains=1, iter=200, seed=2, progress=False)
    post = fit.idata.posterior
    S = post.sizes["chain"] * post.sizes["draw"]
    simo = np.stack([post[f"simo_mox:w1[{i}]"].values.ravel() for i in range(1, 5)], axis=1)
    new = data.iloc[::5].assign(w=3.0)
    mo = 4 * np.concatenate([np.zeros((S, 1)), np.cumsum(simo, axis=1)], axis=1)[:, new["x"].to_numpy()]
    levels = list(post["r_g"].coords[post["r_g"].dims[2]].values)
    r = post["r_g"].values.reshape(S, len(levels), 2)
    j = new["g"].map({lv: i for i, lv in enumerate(levels)}).to_numpy()
    mu = post["b_Intercept"].values.reshape(-1, 1) + r[:, j, 0] + (
        post["bsp_mox:w"].values.reshape(-1, 1) + r[:, j, 1]) * mo * 3.0
    np.testing.assert_allclose(fit.posterior_epred(newdata=new), mu, rtol=1e-10)


def test_the_population_term_is_required() -> None:
    with pytest.raises(FormulaError, match="require corresponding population-level terms: .* 'mox:w'"):
        brmc.get_prior("y ~ mo(x) + (1 + mo(x):w | g)", _data())


def test_monotonic_effects_in_a_multi_membership_term_are_brms_at_a_parameter_point() -> None:
    """``(1 + mo(x) | mm(g, g2))``: brms's ``(bsp[1] + W_1_1[n] * r_1_2[J_1_1[n]] + W_1_2[n] * r_1_2[J_1_2[n]])
    * mo(simo_1, Xmo_1[n])`` (stan_sp with stan_eta_rsp) and the intercepts ``W_1_i[n] * r_1_1[J_1_i[n]]``."""
    data = _data()
    data = data.assign(g2=np.roll(data["g"].to_numpy(), 7), u=np.linspace(1, 3, len(data)))
    md = _block("y ~ mo(x) + (1 + mo(x) | mm(g, g2, weights = cbind(u, w)))", data)
    ours, point, mo, r = _at_a_point(md, data, 8)
    levels = {lv: i for i, lv in enumerate(md.blocks[0].levels)}
    w = data[["u", "w"]].to_numpy() / data[["u", "w"]].to_numpy().sum(axis=1, keepdims=True)
    J = np.column_stack([data["g"].map(levels), data["g2"].map(levels)])
    mu = (point["Intercept"] + (w * r[J, 0]).sum(axis=1)
          + (point["bsp"][0] + (w * r[J, 1]).sum(axis=1)) * mo)
    np.testing.assert_allclose(ours, norm.logpdf(data["y"], mu, np.exp(point["sigma_log__"])).sum(), rtol=1e-10)
