"""``gr()``'s ``by``, ``cov``, ``dist`` and ``id`` (:mod:`brmc.terms.gr`, :mod:`brmc.terms.re`) as brms 2.18
builds them.

No brms fit or standata of these exists in the reference set: the data are checked against brms's
``data_gr_global`` and ``tidy_ranef`` (R/data-predictor.R, R/formula-re.R) as read, the likelihood at a
parameter point against brms's Stan code (``scale_r_cor_by``, ``scale_r_cor_by_cov``, ``sd .* (Lcov *
z)``, ``dfm = sqrt(df * udf)``, ``udf ~ inv_chi_square(df)``) written here in NumPy/SciPy, and small fits
against sds simulated with NumPy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import invgamma, norm

import brmc
from brmc.errors import DataError, FormulaError
from brmc.terms.gr import scale_effects, standardised_effects
from brmc.unconstrained import model_values

from .conftest import quiet

LEVELS = [f"s{i}" for i in range(6)]


def _small(seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six groups, the first three in ``h = "b"``, the others in ``"a"`` (so brms's Jby is 2, 2, 2, 1, 1, 1),
    and a known covariance matrix of the groups named in reverse order."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(6), 4)
    data = pd.DataFrame({"y": rng.normal(size=24), "x": rng.normal(size=24), "g": [LEVELS[i] for i in g],
                         "h": np.where(g < 3, "b", "a"), "k": np.where(g < 2, "u", "v")})
    root = rng.normal(size=(6, 6))
    A = root @ root.T / 6 + np.eye(6)
    return data, pd.DataFrame(A, index=LEVELS, columns=LEVELS).iloc[::-1, ::-1]


def _block(formula: str, data: pd.DataFrame, **kw) -> brmc.data.ModelData:
    return brmc.api._model_data(formula, data, "gaussian", None, None, None, kw.get("data2"))


def test_by_levels_and_jby_are_brms() -> None:
    data, _ = _small()
    block = _block("y ~ x + (1 + x | gr(g, by = h))", data).blocks[0]
    assert block.by_levels == ["a", "b"]  # brms: levels(factor(h))
    np.testing.assert_array_equal(block.by_index + 1, [2, 2, 2, 1, 1, 1])  # brms's Jby_1
    assert block.sd_labels == ["Intercept:ha", "x:ha", "Intercept:hb", "x:hb"]  # get_rnames: outer(coef, paste0(by, level))
    assert block.cor_sets == [["Intercept:ha", "x:ha"], ["Intercept:hb", "x:hb"]]


def test_by_takes_brms_prior_rows_and_each_prior_applies_to_every_by_level() -> None:
    data, _ = _small()
    # brms's prior_re has no rows per level of by: the table is that of the term without it
    pd.testing.assert_frame_equal(brmc.get_prior("y ~ x + (1 + x | gr(g, by = h))", data),
                                  brmc.get_prior("y ~ x + (1 + x | g)", data))
    md = _block("y ~ x + (1 + x | gr(g, by = h))", data)
    spec = brmc.priors.resolve_priors(md, [brmc.prior("normal(0, 1)", class_="sd", coef="x", group="g")])
    sd = sorted((p.position, p.dist.name) for p in spec.params if p.param == "sd_1")
    assert sd == [(0, "student_t"), (1, "normal"), (2, "student_t"), (3, "normal")]


def _point(model, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random values of every free variable on its unconstrained scale."""
    return {v.name: rng.normal(scale=0.5, size=model.initial_point()[v.name].shape) for v in model.value_vars}


def _cholesky2(raw: float) -> np.ndarray:
    """Stan's 2 × 2 cholesky_factor_corr of one unconstrained value."""
    rho = np.tanh(raw)
    return np.array([[1.0, 0.0], [rho, np.sqrt(1 - rho**2)]])


@pytest.mark.parametrize("term", ["(1 + x | gr(g, by = h))", "(1 + x || gr(g, by = h, cov = A))",
                                  "(1 + x | gr(g, by = h, cov = A))", '(1 + x | gr(g, dist = "student"))',
                                  '(1 | gr(g, cov = A, dist = "student"))'])
def test_the_likelihood_is_brms_stan_code_at_a_parameter_point(term: str) -> None:
    data, A = _small()
    md = _block(f"y ~ x + {term}", data, data2={"A": A})
    model = brmc.model.build_model(md, brmc.priors.resolve_priors(md)).model
    point = _point(model, np.random.default_rng(7))
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    ours = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")(point)
    # brms's Stan code, by hand: the levels of g are s0..s5, h of each level b, b, b, a, a, a
    M = 2 if "1 + x" in term else 1
    by = np.array([1, 1, 1, 0, 0, 0]) if "by" in term else np.zeros(6, int)
    sd = np.exp(point["sd_1_log__"]).reshape(-1, M)  # brms's sd_1[M, Nby], by column
    z = point["z_1"]  # M x levels
    Lcov = np.linalg.cholesky(A.loc[LEVELS, LEVELS].to_numpy()) if "cov" in term else np.eye(6)
    if "||" in term or M == 1:  # r_1_k = sd_1[k, Jby] .* (Lcov * z_1[k])
        r = sd[by] * (Lcov @ z.T)
    else:  # scale_r_cor_by(_cov): Lcov applied to diag(sd[, Jby]) L[Jby] z of each level
        Ls = [_cholesky2(point[name][0]) for name in (["L_1_1_raw", "L_1_2_raw"] if "by" in term else ["L_1_raw"])]
        r = Lcov @ np.stack([sd[by[n]] * (Ls[by[n]] @ z[:, n]) for n in range(6)])
    if "student" in term:  # dfm_1 = sqrt(df_1 * udf_1); df_1 has lower bound 1
        df, udf = 1 + np.exp(point["df_1_interval__"]), np.exp(point["udf_1_log__"])
        r = np.sqrt(df * udf)[:, None] * r
        udf_logp = model.compile_logp(vars=[model["udf_1"]], jacobian=False)(point)
        np.testing.assert_allclose(udf_logp, invgamma.logpdf(udf, df / 2, scale=0.5).sum(), rtol=1e-7)  # inv_chi_square(df)
    j = data["g"].map(LEVELS.index).to_numpy()
    x = data["x"].to_numpy()
    mu = point["Intercept"] + point["b"][0] * (x - x.mean()) + r[j, 0] + (r[j, 1] * x if M == 2 else 0)
    np.testing.assert_allclose(ours, norm.logpdf(data["y"], mu, np.exp(point["sigma_log__"])).sum(), rtol=1e-10)


def test_cov_is_the_cholesky_factor_of_the_matrix_on_the_levels() -> None:
    data, A = _small()
    block = _block("y ~ x + (1 | gr(g, cov = A))", data, data2={"A": A}).blocks[0]
    np.testing.assert_allclose(block.Lcov, np.linalg.cholesky(A.loc[LEVELS, LEVELS].to_numpy()))  # A[levels, levels]
    assert np.allclose(np.triu(block.Lcov, 1), 0)


def test_student_groups_take_brms_df_row() -> None:
    data, _ = _small()
    tab = brmc.get_prior('y ~ x + (1 | gr(g, dist = "student"))', data)
    row = tab[tab["class"] == "df"].iloc[0]
    assert (row["prior"], row["group"], row["lb"], row["dpar"]) == ("gamma(2, 0.1)", "g", "1", "")
    assert len(tab) == len(brmc.get_prior("y ~ x + (1 | g)", data)) + 1


def test_gr_id_is_the_id_of_the_bars() -> None:
    data, _ = _small()
    pd.testing.assert_frame_equal(brmc.get_prior(brmc.bf("y ~ x + (1 | gr(g, id = p))", sigma="~ (1 | gr(g, id = p))"), data),
                                  brmc.get_prior(brmc.bf("y ~ x + (1 | p | g)", sigma="~ (1 | p | g)"), data))
    assert brmc.parse_formula("y ~ (1 | gr(g, id = 'q'))").group_terms[0].id == "q"


@pytest.mark.parametrize("formula, data2, error, message", [
    ("y ~ (1 | gr(g, cov = A))", {}, DataError, "not in data2"),
    ("y ~ (1 | gr(g, cov = A))", {"A": np.eye(6)}, DataError, "Row or column names are required"),
    ("y ~ (1 | gr(g, cov = A))", {"A": pd.DataFrame(np.eye(5), index=LEVELS[:5])}, DataError,
     r"do not match the grouping levels: 's5'"),
    ("y ~ (1 | gr(g, cov = A))", {"A": pd.DataFrame(np.triu(np.ones((6, 6))), index=LEVELS)}, DataError,
     "must be symmetric"),
    ("y ~ (1 | gr(g, cov = A))", {"A": pd.DataFrame(np.ones((6, 6)), index=LEVELS)}, DataError,
     "must be positive definite"),
    ("y ~ (1 | gr(g, by = x))", None, DataError, "correspond to multiple levels of 'x'"),
    ("y ~ (1 | gr(g, by = h)) + (0 + x | gr(g, by = k))", None, FormulaError, "can only be associated with one 'by' variable"),
    (brmc.bf("y ~ (1 | gr(g, id = p))", sigma="~ (1 | gr(g, id = p, by = h))"), None, FormulaError,
     "the same by, cov"),
    ('y ~ (1 | gr(g, dist = "t"))', None, FormulaError, "dist must be one of 'gaussian', 'student'"),
    ("y ~ (1 | gr(g, dist = student))", None, FormulaError, "dist must be one of"),
    ("y ~ (1 | mm(g, h, by = x))", None, FormulaError, "expects .by. to be a matrix with as many columns"),
    ("y ~ (1 | gr(g, cov = A + B))", None, FormulaError, "cov"),
    ("y ~ (mo(x) | g)", None, FormulaError, "require corresponding population-level terms"),
    ("y ~ mo(x) + (x:mo(x) | g)", None, FormulaError, "only as a summand"),
    ("y ~ (1 + mmc(x, z) | mm(g, h))", None, FormulaError, r"The brms term mmc\(\) is not supported yet"),
])
def test_bad_options_are_refused(formula: str | brmc.formula.BrmsFormula, data2: dict | None, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        brmc.get_prior(formula, _small()[0], data2=data2)


# ------------------------------------------------------------------------------------------- fits

def _simulated_by(seed: int = 21) -> pd.DataFrame:
    """20 groups of 8 rows; groups of h = "a" with sd 0.3, of h = "b" with sd 1.5 (drawn: 0.39 and 1.76)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(20), 8)
    h = np.where(np.arange(20) % 2 == 0, "a", "b")
    u = rng.normal(size=20) * np.where(h == "a", 0.3, 1.5)
    x = rng.normal(size=g.size)
    return pd.DataFrame({"y": 1 + 0.5 * x + u[g] + rng.normal(scale=0.5, size=g.size), "x": x,
                         "g": [f"g{i:02d}" for i in g], "h": h[g]})


@pytest.fixture(scope="module")
def by_fit() -> brmc.Fit:
    return quiet(brmc.brm, 'y ~ x + (1 | gr(g, by = h, dist = "student"))', _simulated_by(), chains=2, iter=500,
                 seed=3, progress=False)


def test_by_fit_names_summary_and_recovered_sds(by_fit: brmc.Fit) -> None:
    post = by_fit.idata.posterior
    assert list(post.data_vars)[:5] == ["b_Intercept", "b_x", "df_g", "sd_g__Intercept:ha", "sd_g__Intercept:hb"]
    text = str(by_fit.summary())
    assert "df " in text and "sd(Intercept:ha)" in text and "sd(Intercept:hb)" in text
    a, b = post["sd_g__Intercept:ha"].values.ravel(), post["sd_g__Intercept:hb"].values.ravel()
    # the sample sds of the drawn effects (0.39, 1.76) inside the 95 % intervals
    assert np.quantile(a, 0.025) < 0.39 < np.quantile(a, 0.975) and np.quantile(b, 0.025) < 1.76 < np.quantile(b, 0.975)
    assert np.mean(b > a) > 0.95
    assert post["df_g"].values.min() >= 1


def test_new_levels_borrow_from_their_own_by_level(by_fit: brmc.Fit) -> None:
    post = by_fit.idata.posterior
    nd = pd.DataFrame({"x": [0.0, 0.0], "g": ["new_a", "new_b"], "h": ["a", "b"]})
    epred = by_fit.posterior_epred(newdata=nd, allow_new_levels=True, seed=5)
    r = post["r_g"].values[..., 0].reshape(epred.shape[0], -1)
    levels = [str(v) for v in post["r_g"].coords["g__level"].values]
    effect = epred - post["b_Intercept"].values.reshape(-1, 1)  # x = 0
    for k, h in enumerate("ab"):
        own = [i for i, lv in enumerate(levels) if int(lv[1:]) % 2 == (h == "b")]
        assert np.all(np.min(np.abs(r[:, own] - effect[:, [k]]), axis=1) < 1e-10)  # brms's get_new_rdraws
    old = by_fit.posterior_epred(newdata=nd, allow_new_levels=True, sample_new_levels="old_levels", seed=5)
    for k, h in enumerate("ab"):  # one old level of its own by level for every draw
        match = np.abs(r - (old[:, [k]] - post["b_Intercept"].values.reshape(-1, 1))).max(axis=0) < 1e-10
        assert match.sum() == 1 and int(levels[int(np.flatnonzero(match)[0])][1:]) % 2 == (h == "b")
    with pytest.raises(DataError, match="not available for non-gaussian"):
        by_fit.posterior_epred(newdata=nd, allow_new_levels=True, sample_new_levels="gaussian")
    with pytest.raises(DataError, match="must lie in one level of 'h'"):
        by_fit.posterior_epred(newdata=nd.assign(g=["new", "new"]), allow_new_levels=True)
    with pytest.raises(DataError, match="'c' of the predictor 'h'"):
        by_fit.posterior_epred(newdata=nd.assign(h=["c", "b"]), allow_new_levels=True)


def test_cov_fit_recovers_the_sd() -> None:
    rng = np.random.default_rng(8)
    levels = [f"p{i:02d}" for i in range(30)]
    t = np.arange(30)
    A = pd.DataFrame(np.exp(-np.abs(t[:, None] - t[None, :]) / 4.0), index=levels, columns=levels)
    u = 1.5 * np.linalg.cholesky(A.to_numpy()) @ rng.normal(size=30)
    g = np.repeat(t, 4)
    data = pd.DataFrame({"y": u[g] + rng.normal(scale=0.5, size=g.size), "g": [levels[i] for i in g]})
    fit = quiet(brmc.brm, "y ~ 1 + (1 | gr(g, cov = A))", data, data2={"A": A}, chains=2, iter=500, seed=2,
                progress=False)
    sd = fit.idata.posterior["sd_g__Intercept"].values.ravel()
    assert np.quantile(sd, 0.025) < 1.5 < np.quantile(sd, 0.975)
    r = fit.idata.posterior["r_g"].values[..., 0].reshape(len(sd), -1)
    assert np.corrcoef(r.mean(axis=0), u)[0, 1] > 0.9
    z = model_values(fit)["z_1"]  # the standardised effects moment matching and bridge sampling start from
    np.testing.assert_allclose(sd[:, None] * (np.linalg.cholesky(A.to_numpy()) @ z[:, 0, :, None])[..., 0], r,
                               rtol=1e-8, atol=1e-10)


def test_standardised_effects_invert_brms_scaling_with_by_and_cov() -> None:
    rng = np.random.default_rng(1)
    z, sd = rng.normal(size=(3, 2, 6)), rng.uniform(0.5, 2, size=(3, 4))
    L = np.broadcast_to([_cholesky2(0.3), _cholesky2(-0.8)], (3, 2, 2, 2))  # draws, by levels, M, M
    by, Lcov = np.array([1, 1, 0, 0, 1, 0]), np.linalg.cholesky(_small()[1].to_numpy())
    for corr in (None, L):
        r = scale_effects(z, sd, corr, by, Lcov, None)
        np.testing.assert_allclose(standardised_effects(r, sd, corr, by, Lcov), z, rtol=1e-10)


# ------------------------------------------------------------------------------ (mo(x) | g)

def _monotonic_data(seed: int = 6) -> tuple[pd.DataFrame, np.ndarray]:
    """15 groups of 10 rows, x in 0..4 with simplex (0.1, 0.2, 0.3, 0.4), bsp 2; the groups' effects on the
    monotonic term drawn with sd 1 and their intercepts with sd 0.5.  Returns the data and the drawn sds."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(15), 10)
    x = rng.integers(0, 5, g.size)
    mo = 4 * np.concatenate([[0.0], np.cumsum([0.1, 0.2, 0.3, 0.4])])[x]
    u0, u1 = rng.normal(scale=0.5, size=15), rng.normal(scale=1.0, size=15)
    y = 1 + (2 + u1[g]) * mo + u0[g] + rng.normal(scale=0.5, size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": [f"g{i:02d}" for i in g]}), np.array([u0.std(ddof=1), u1.std(ddof=1)])


MONOTONIC = "y ~ mo(x) + (1 + mo(x) | g)"


def test_monotonic_group_effects_are_brms_at_a_parameter_point() -> None:
    """brms's ``mu[n] += (bsp[1] + r_1_2[J_1[n]]) * mo(simo_1, Xmo_1[n])`` (stan_sp) and ``r_1_1[J_1[n]]``."""
    data = _monotonic_data()[0].iloc[:60]
    md = _block(MONOTONIC, data)
    assert md.blocks[0].coefs == ["Intercept", "mox"]  # brms: the basic coefficients, then the special ones
    model = brmc.model.build_model(md, brmc.priors.resolve_priors(md)).model
    point = _point(model, np.random.default_rng(3))
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    ours = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")(point)
    simo = model.compile_fn(model.replace_rvs_by_values([model["simo_1"]])[0], inputs=model.value_vars,
                            on_unused_input="ignore")(point)  # the model's own simplex transform
    mo = 4 * np.concatenate([[0.0], np.cumsum(simo)])[data["x"].to_numpy()]
    sd, z = np.exp(point["sd_1_log__"]), point["z_1"]
    r = (sd[:, None] * (_cholesky2(point["L_1_raw"][0]) @ z)).T
    j = data["g"].map({f"g{i:02d}": i for i in range(15)}).to_numpy()
    mu = point["Intercept"] + r[j, 0] + (point["bsp"][0] + r[j, 1]) * mo
    np.testing.assert_allclose(ours, norm.logpdf(data["y"], mu, np.exp(point["sigma_log__"])).sum(), rtol=1e-10)


def test_monotonic_group_fit_names_predictions_and_recovered_sds() -> None:
    data, drawn = _monotonic_data()
    fit = quiet(brmc.brm, MONOTONIC, data, chains=2, iter=500, seed=4, progress=False)
    post = fit.idata.posterior
    assert {"sd_g__Intercept", "sd_g__mox", "cor_g__Intercept__mox"} <= set(post.data_vars)
    assert list(post["r_g"].coords["g__coef"].values) == ["Intercept", "mox"]
    for name, value in zip(["sd_g__Intercept", "sd_g__mox"], drawn):  # drawn: 0.50, 1.08
        draws = post[name].values.ravel()
        assert np.quantile(draws, 0.025) < value < np.quantile(draws, 0.975)
    S = post.sizes["chain"] * post.sizes["draw"]
    simo = np.stack([post[f"simo_mox1[{i}]"].values.ravel() for i in range(1, 5)], axis=1)
    mo = 4 * np.concatenate([np.zeros((S, 1)), np.cumsum(simo, axis=1)], axis=1)[:, data["x"].to_numpy()]
    r = post["r_g"].values.reshape(S, 15, 2)
    j = data["g"].map({f"g{i:02d}": i for i in range(15)}).to_numpy()
    mu = post["b_Intercept"].values.reshape(-1, 1) + r[:, j, 0] + (post["bsp_mox"].values.reshape(-1, 1) + r[:, j, 1]) * mo
    np.testing.assert_allclose(fit.posterior_epred(), mu, rtol=1e-10)
    np.testing.assert_allclose(fit.posterior_epred(newdata=data.iloc[::7]), mu[:, ::7], rtol=1e-10)
    new = fit.posterior_epred(newdata=data.iloc[:2].assign(g="new"), allow_new_levels=True, seed=1)
    assert new.shape == (S, 2) and np.isfinite(new).all()


# ------------------------------------------------------------------------------ (cs(1) | g)

def _ordinal(seed: int = 9) -> pd.DataFrame:
    """40 subjects of 6 rows with ratings 1..4 from sratio whose thresholds each subject shifts (sds 1, 0.3, 0.3)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(40), 6)
    x = rng.normal(size=g.size)
    shift = rng.normal(size=(40, 3)) * np.array([1.0, 0.3, 0.3])
    eta = 0.8 * x[:, None] + shift[g]  # the thresholds' own shifts
    stop = 1 / (1 + np.exp(-(np.array([-0.5, 0.0, 0.5]) - eta)))
    u = rng.uniform(size=(g.size, 3))  # sratio: stop at category k with probability stop[:, k] once there
    rating = np.where(u[:, 0] < stop[:, 0], 1, np.where(u[:, 1] < stop[:, 1], 2, np.where(u[:, 2] < stop[:, 2], 3, 4)))
    return pd.DataFrame({"rating": rating, "x": x, "g": [f"s{i:02d}" for i in g]})


def test_category_specific_group_effects_are_brms_at_a_parameter_point() -> None:
    """brms's ``mucs[n, k] = mucs[n, k] + r_1_k[J_1[n]] * Z_1_k[n]`` (stan_cs) in ``sratio_logit_lpmf``."""
    data = _ordinal().iloc[:60]
    md = brmc.api._model_data("rating ~ x + (cs(1) | g)", data, "sratio", None, None, None)
    assert md.blocks[0].coefs == ["Intercept[1]", "Intercept[2]", "Intercept[3]"]  # brms's tidy_ranef
    model = brmc.model.build_model(md, brmc.priors.resolve_priors(md)).model
    point = _point(model, np.random.default_rng(5))
    point["Intercept"] = np.array([-0.4, 0.1, 0.7])
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    ours = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")(point)
    L = brmc.graph.cholesky_from_raw(point["L_1_raw"], 3)
    r = (np.exp(point["sd_1_log__"])[:, None] * (L @ point["z_1"])).T  # levels x thresholds
    j = data["g"].map({f"s{i:02d}": i for i in range(40)}).to_numpy()
    x = data["x"].to_numpy()
    eta = point["b"][0] * (x - x.mean())[:, None] + r[j]  # mu + mucs[n, k]
    stop = 1 / (1 + np.exp(-(point["Intercept"] - eta)))  # sratio: P(y = k | y >= k) = F(thres_k - eta_k)
    y = data["rating"].to_numpy()
    survive = np.cumprod(np.hstack([np.ones((len(y), 1)), 1 - stop]), axis=1)  # P(y >= k)
    p = np.where(y <= 3, survive[np.arange(len(y)), y - 1] * stop[np.arange(len(y)), np.minimum(y, 3) - 1],
                 survive[:, 3])
    np.testing.assert_allclose(ours, np.log(p).sum(), rtol=1e-10)


def test_category_specific_group_fit_names_and_predictions() -> None:
    data = _ordinal()
    fit = quiet(brmc.brm, "rating ~ x + (cs(1) | g)", data, family="sratio", chains=2, iter=400, seed=2,
                progress=False)
    post = fit.idata.posterior
    names = ["sd_g__Intercept[1]", "sd_g__Intercept[2]", "sd_g__Intercept[3]", "cor_g__Intercept[1]__Intercept[2]"]
    assert set(names) <= set(post.data_vars)
    assert "sd(Intercept[1])" in str(fit.summary())
    S = post.sizes["chain"] * post.sizes["draw"]
    first = post["sd_g__Intercept[1]"].values.ravel()
    assert np.mean(first > post["sd_g__Intercept[2]"].values.ravel()) > 0.8  # drawn with sds 1 and 0.3
    r = post["r_g"].values.reshape(S, 40, 3)
    j = data["g"].map({f"s{i:02d}": i for i in range(40)}).to_numpy()
    thres = np.stack([post[f"b_Intercept[{k}]"].values.ravel() for k in (1, 2, 3)], axis=1)
    eta = post["b_x"].values.reshape(-1, 1, 1) * data["x"].to_numpy()[None, :, None] + r[:, j]
    stop = 1 / (1 + np.exp(-(thres[:, None, :] - eta)))
    survive = np.cumprod(np.concatenate([np.ones((S, len(j), 1)), 1 - stop], axis=2), axis=2)
    expected = survive[..., :3] * stop @ np.arange(1, 4) + survive[..., 3] * 4
    np.testing.assert_allclose(fit.posterior_epred().reshape(S, len(j), 4) @ np.arange(1, 5), expected, rtol=1e-8)
    new = fit.posterior_epred(newdata=data.iloc[:3].assign(g="new"), allow_new_levels=True, seed=1)
    assert new.shape == (S, 3, 4) and np.allclose(new.sum(axis=-1), 1)
