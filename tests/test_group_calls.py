"""brms's grouping calls ``gr()`` and ``mm()`` (:mod:`brmc.group_calls`, :mod:`brmc.terms.mm`):
brms 2.18's priors and Stan data for the grid case ``mm_jsp``, weights as brms scales them, the
likelihood at a point and after a small fit against NumPy/SciPy, and the refusals.

No brms fit of a multi-membership model exists; the linear predictor is checked against
brms's Stan line ``mu[n] += W_1_1[n] * r_1_1[J_1_1[n]] * Z_1_1_1[n] + W_1_2[n] * ...`` computed
here in NumPy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import brmc
from brmc.errors import DataError, FormulaError

from .conftest import quiet, reference_csv, reference_standata, reference_text
from .test_reference_priors import _compare

JSPR = brmc.datasets.load("jspr")
MM = "math ~ craven + (1 | mm(school, class))"


def test_default_priors_are_brms_grid_rows() -> None:
    rows = reference_csv("mm_jsp", "default_priors2.csv")
    assert rows["formula"].iloc[0] == MM
    _compare(brmc.get_prior(MM, JSPR), rows)


def test_stan_data_are_brms_standata() -> None:
    ref = reference_standata("mm_jsp")
    md = brmc.data.build_data(brmc.parse_formula(MM), JSPR, brmc.get_family("gaussian"))
    block = md.blocks[0]
    assert (block.group, block.n_levels, len(block.coefs)) == ("mmschoolclass", int(ref["N_1"][0]), int(ref["M_1"][0]))
    for i in (0, 1):
        np.testing.assert_array_equal(block.index[:, i] + 1, ref[f"J_1_{i + 1}"])
        np.testing.assert_allclose(block.weights[:, i], ref[f"W_1_{i + 1}"])
        np.testing.assert_array_equal(block.Z[:, 0], ref[f"Z_1_1_{i + 1}"])
    np.testing.assert_allclose(md.predictors["mu"].X, ref["X"])
    assert "W_1_1[n] * r_1_1[J_1_1[n]] * Z_1_1_1[n] + W_1_2[n] * r_1_1[J_1_2[n]]" in reference_text(
        "mm_jsp", "stancode.stan")


def _members() -> pd.DataFrame:
    """Pupils in two of four classes, weighted by the time spent in each."""
    rng = np.random.default_rng(11)
    first, second = rng.integers(0, 4, 40), rng.integers(0, 4, 40)
    return pd.DataFrame({"y": rng.normal(size=40), "x": rng.normal(size=40),
                         "c1": [f"k{i}" for i in first], "c2": [f"k{(i + 1) % 4}" for i in second],
                         "t1": rng.uniform(1, 3, 40), "t2": rng.uniform(0, 1, 40)})


@pytest.mark.parametrize("scale", [True, False])
def test_weights_are_scaled_to_sum_to_one_as_brms(scale: bool) -> None:
    data = _members()
    term = f"(1 | mm(c1, c2, weights = cbind(t1, t2), scale = {'TRUE' if scale else 'FALSE'}))"
    md = brmc.data.build_data(brmc.parse_formula(f"y ~ x + {term}"), data, brmc.get_family("gaussian"))
    block = md.blocks[0]
    w = data[["t1", "t2"]].to_numpy()
    np.testing.assert_allclose(block.weights, w / w.sum(axis=1, keepdims=True) if scale else w)
    assert block.levels == ["k0", "k1", "k2", "k3"]
    np.testing.assert_array_equal(block.index[:, 1], [block.levels.index(c) for c in data["c2"]])


def test_the_likelihood_is_brms_at_a_parameter_point() -> None:
    data = _members()
    md = brmc.data.build_data(brmc.parse_formula("y ~ x + (1 + x | mm(c1, c2, weights = cbind(t1, t2)))"), data,
                              brmc.get_family("gaussian"))
    model = brmc.model.build_model(md, brmc.priors.resolve_priors(md)).model
    rng = np.random.default_rng(2)
    z, sd, raw = rng.normal(size=(2, 4)), np.array([0.7, 0.4]), np.array([0.3])
    point = {"Intercept": np.array(0.2), "b": np.array([0.5]), "sigma_log__": np.array(np.log(1.3)),
             "sd_1_log__": np.log(sd), "z_1": z, "L_1_raw": raw}
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    ours = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")(point)
    rho = np.tanh(raw[0])  # Stan's cholesky_factor_corr of 2 x 2
    r = (sd[:, None] * (np.array([[1.0, 0.0], [rho, np.sqrt(1 - rho**2)]]) @ z)).T  # levels x (Intercept, x)
    w = data[["t1", "t2"]].to_numpy()
    w = w / w.sum(axis=1, keepdims=True)
    x = data["x"].to_numpy()
    mu = 0.2 + 0.5 * (x - x.mean())
    for i, col in enumerate(["c1", "c2"]):
        j = data[col].map({f"k{k}": k for k in range(4)}).to_numpy()
        mu = mu + w[:, i] * (r[j, 0] + r[j, 1] * x)
    np.testing.assert_allclose(ours, norm.logpdf(data["y"], mu, 1.3).sum(), rtol=1e-10)


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    return quiet(brmc.brm, MM, JSPR, chains=2, iter=300, seed=3, progress=False)


def test_names_log_lik_and_new_rows_are_brms(fit: brmc.Fit) -> None:
    post = fit.idata.posterior
    assert list(post.data_vars)[:3] == ["b_Intercept", "b_craven", "sd_mmschoolclass__Intercept"]
    assert "~mmschoolclass (Number of levels: 48)" in str(fit.summary())
    levels = [str(v) for v in post["r_mmschoolclass"].coords["mmschoolclass__level"].values]
    r = post["r_mmschoolclass"].values[..., 0].reshape(-1, len(levels))
    rows = JSPR.iloc[[0, 200, 952]]
    mu = (post["b_Intercept"].values.reshape(-1, 1) + post["b_craven"].values.reshape(-1, 1) * rows["craven"].to_numpy()
          + sum(0.5 * r[:, [levels.index(str(g)) for g in rows[col]]] for col in ("school", "class")))
    np.testing.assert_allclose(fit.posterior_epred(newdata=rows), mu, rtol=1e-10)
    sigma = post["sigma"].values.reshape(-1, 1)
    ll = fit.log_likelihood().values.reshape(len(mu), -1)[:, rows.index]
    np.testing.assert_allclose(ll, norm.logpdf(rows["math"].to_numpy(), mu, sigma), rtol=1e-10)


def test_gr_is_the_grouping_factor_itself() -> None:
    sleep = brmc.datasets.load("sleepstudy")
    plain = brmc.get_prior("Reaction ~ Days + (Days || Subject)", sleep)
    pd.testing.assert_frame_equal(brmc.get_prior("Reaction ~ Days + (Days | gr(Subject, cor = FALSE))", sleep), plain)
    term = brmc.parse_formula("y ~ (1 + x | gr(g))").group_terms[0]
    assert (term.group, term.correlated, term.members) == ("g", True, None)


@pytest.mark.parametrize("formula, error, message", [
    ("y ~ x + (1 | mm(c1, c2, weights = cbind(t1)))", FormulaError,
     "expects 'weights' to be a matrix with as many columns as grouping factors"),
    ("y ~ x + (1 | mm(c1))", FormulaError, "require at least two grouping variables"),
    ("y ~ x + (1 | gr(c1, c2))", FormulaError, "expects only a single grouping term"),
    ("y ~ x + (1 | mm(c1, c2, wieghts = t1))", FormulaError, "Unknown argument 'wieghts'"),
    ("y ~ x + mm(c1, c2)", FormulaError, r"belongs after its bar"),
    ("y ~ x + (1 | mm(c1, c2, weights = cbind(x, t1)))", DataError, "Cannot scale negative weights"),
    ("y ~ x + (1 | mm(c1, c2, scale = maybe))", FormulaError, "scale takes TRUE or FALSE"),
])
def test_bad_grouping_calls_are_refused(formula: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        brmc.get_prior(formula, _members())


def test_new_levels_of_members_are_drawn_once_per_level(fit: brmc.Fit) -> None:
    """A new level takes one old level's effects (``sample_new_levels = "old_levels"``), the same in every
    member it appears in, as brms's ``get_new_rdraws`` for the levels of an ``mm()`` term."""
    post = fit.idata.posterior
    levels = [str(v) for v in post["r_mmschoolclass"].coords["mmschoolclass__level"].values]
    r = post["r_mmschoolclass"].values[..., 0].reshape(-1, len(levels))
    rows = pd.DataFrame({"school": ["new", "new", "1"], "class": ["1", "new", "other"], "craven": [0.0, 0.0, 0.0]})
    with pytest.raises(DataError, match="allow_new_levels=True"):
        fit.posterior_epred(newdata=rows)
    epred = fit.posterior_epred(newdata=rows, allow_new_levels=True, sample_new_levels="old_levels", seed=4)
    effect = epred - post["b_Intercept"].values.reshape(-1, 1)
    borrowed = (effect[:, 0] - 0.5 * r[:, levels.index("1")]) / 0.5  # row 1: school "new", class "1"
    np.testing.assert_allclose(effect[:, 1], borrowed, rtol=1e-10)  # row 2: "new" in both members
    assert sum(np.allclose(borrowed, r[:, k]) for k in range(len(levels))) == 1
    other = (effect[:, 2] - 0.5 * r[:, levels.index("1")]) / 0.5  # "other": a second new level, its own
    assert not np.allclose(other, borrowed)
