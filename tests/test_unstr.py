"""unstr(time, gr): brms 2.19's unstructured residual correlation over the time points within groups.

brms 2.18 (the reference runs) has no unstr(), so nothing here is brms's own output: the default prior
table is cosy_sleep's brms 2.18 table with its cosy row replaced by the row brms 2.19's prior_ac() adds
(``lkj(1)``, class ``cortime``, no bounds); the data, the model's density, the pointwise log-likelihood and
the predictions are checked against independent computations written here (pandas for brms's
``Jtime_tg``, SciPy's multivariate normal and t for each group's density on the sub-matrix of its time
points), and a fit to data simulated with NumPy from a known correlation matrix recovers it.
"""

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
from brmc.prior_sampling import prior_draws
from brmc.unconstrained import model_values
from brmc.terms.ac import time_predict

from .conftest import reference_csv
from .test_reference_priors import _compare

#: the simulated truth: three time points (any values: 0.5, 1, 2), their correlations, sigma, the coefficients
TIMES = (0.5, 1.0, 2.0)
COR = np.array([[1.0, 0.7, 0.3], [0.7, 1.0, 0.5], [0.3, 0.5, 1.0]])
SIGMA, INTERCEPT, SLOPE = 1.0, 1.0, 0.5
FORMULA = "y ~ x + unstr(time = t, gr = g)"
NAMES = ["cortime__0.5__1", "cortime__0.5__2", "cortime__1__2"]  # brms's get_cornames order: (1,2), (1,3), (2,3)


def _simulated(groups: int = 150, seed: int = 4) -> pd.DataFrame:
    """Each group's residuals N(0, SIGMA^2 COR) over the three times; a quarter of the groups lose one time
    point (the sub-matrix of the others is theirs); rows shuffled."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((groups, 3)) @ np.linalg.cholesky(COR).T * SIGMA
    x = rng.normal(size=(groups, 3))
    frame = pd.DataFrame({"g": np.repeat(np.arange(groups), 3), "t": np.tile(TIMES, groups), "x": x.ravel(),
                          "y": (INTERCEPT + SLOPE * x + e).ravel()})
    lose = rng.random(groups) < 0.25
    drop = np.flatnonzero(lose) * 3 + rng.integers(0, 3, groups)[lose]
    return frame.drop(index=drop).sample(frac=1.0, random_state=1).reset_index(drop=True)


DATA = _simulated()


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(FORMULA, DATA, chains=2, iter=400, seed=12, progress=False)


# --------------------------------------------------------------------------- priors and data


def test_default_priors_are_cosys_with_brms_2_19s_cortime_row() -> None:
    """brms 2.19's prior_ac(): ``brmsprior("lkj(1)", class = "cortime")`` where cosy() has its bounded row."""
    rows = reference_csv("cosy_sleep", "default_priors2.csv")
    rows.loc[rows["class"] == "cosy", ["prior", "class", "lb", "ub"]] = ["lkj(1)", "cortime", "", ""]
    _compare(brmc.get_prior("Reaction ~ Days + unstr(time = Days, gr = Subject)", brmc.datasets.load("sleepstudy")),
             rows)


def test_user_lkj_prior_and_prior_summary() -> None:
    md = brmc.data.build_data(brmc.parse_formula(FORMULA), DATA, brmc.get_family("gaussian"))
    spec = brmc.priors.resolve_priors(md, [brmc.prior("lkj(2)", class_="cortime")])
    assert [(p.param, str(p.dist), p.source) for p in spec.params if p.class_ == "cortime"] == [
        ("Lcortime", "lkj(2)", "user")]
    table = brmc.priors.prior_summary_table(md, spec)
    assert table.loc[table["class"] == "Lcortime", "prior"].tolist() == ["lkj_corr_cholesky(2)"]  # brms's Lcortime
    with pytest.raises(PriorError, match="class 'cortime'.* take an lkj"):
        brmc.priors.resolve_priors(md, [brmc.prior("normal(0, 1)", class_="cortime")])


def test_data_in_brms_order_with_its_time_indices() -> None:
    md = brmc.data.build_data(brmc.parse_formula(FORMULA), DATA, brmc.get_family("gaussian"))
    expected = DATA.sort_values(["g", "t"], kind="stable")
    np.testing.assert_array_equal(md.y, expected["y"])
    data = md.predictors["mu"].parts["ac"].data
    ranks = expected.groupby("g", sort=True)["t"].apply(lambda t: [TIMES.index(v) + 1 for v in t])
    jtime = np.zeros((len(ranks), 3), dtype=int)
    for i, r in enumerate(ranks):
        jtime[i, :len(r)] = r
    np.testing.assert_array_equal(data["Jtime_tg"], jtime)
    np.testing.assert_array_equal(data["nobs_tg"], ranks.map(len))
    assert (int(data["n_unique_t"]), int(data["n_unique_cortime"]), int(data["N_tg"])) == (3, 3, len(ranks))


# --------------------------------------------------------------------------- the model's density


def _groups(frame: pd.DataFrame) -> list[np.ndarray]:
    return [np.flatnonzero(frame["g"].to_numpy() == g) for g in dict.fromkeys(frame["g"])]


@pytest.mark.parametrize("family", ["gaussian", "student"])
def test_density_is_each_groups_multivariate_density_on_its_time_points(family: str) -> None:
    """Gaussian with sigma varying by row (brms's normal_time_het_flex), student with one sigma
    (student_t_time_hom_flex): SciPy's density of each group on the sub-matrix of its time points."""
    frame = DATA.head(60)  # groups with one, two or three time points among them
    formula = brmc.bf(FORMULA, sigma="~ x") if family == "gaussian" else FORMULA
    model = brmc.make_model(formula, frame, family=family).model
    loglik = model.replace_rvs_by_values([model["Y_loglik"]])[0]
    fn = model.compile_fn(loglik, inputs=model.value_vars, on_unused_input="ignore")
    raw = np.array([0.8, -0.3, 0.5])
    point = {"Intercept": np.array(0.9), "b": np.array([0.4]), "Lcortime_raw": raw}
    point |= ({"Intercept_sigma": np.array(0.1), "b_sigma": np.array([0.3])} if family == "gaussian"
              else {"sigma_log__": np.array(np.log(1.3)), "nu_interval__": np.array(np.log(6.0 - 1))})
    assert set(point) == {v.name for v in model.value_vars}
    L = cholesky_from_raw(raw, 3)
    cor = L @ L.T
    ordered = frame.sort_values(["g", "t"], kind="stable")
    x, y = ordered["x"].to_numpy(), ordered["y"].to_numpy()
    mu = 0.9 + 0.4 * (x - x.mean())
    sigma = np.exp(0.1 + 0.3 * (x - x.mean())) if family == "gaussian" else np.full(len(x), 1.3)
    points = ordered["t"].map(TIMES.index).to_numpy()
    expected = 0.0
    for rows in _groups(ordered):
        cov = cor[np.ix_(points[rows], points[rows])] * np.outer(sigma[rows], sigma[rows])
        dist = (scipy.stats.multivariate_normal(mu[rows], cov) if family == "gaussian"
                else scipy.stats.multivariate_t(mu[rows], cov, df=6.0))
        expected += dist.logpdf(y[rows])
    np.testing.assert_allclose(fn(point), expected, rtol=1e-10)


# --------------------------------------------------------------------------- a fit


def test_recovers_the_simulated_correlations(fit: brmc.Fit) -> None:
    post = fit.idata.posterior
    truth = {NAMES[0]: COR[0, 1], NAMES[1]: COR[0, 2], NAMES[2]: COR[1, 2], "sigma": SIGMA,
             "b_Intercept": INTERCEPT, "b_x": SLOPE}
    for name, value in truth.items():
        draws = post[name].values.ravel()
        assert abs(draws.mean() - value) < max(3.5 * draws.std(), 0.05), (name, draws.mean(), draws.std())


def test_names_and_summary_section(fit: brmc.Fit) -> None:
    assert list(fit.idata.posterior.data_vars)[:6] == ["b_Intercept", "b_x", *NAMES, "sigma"]
    text = str(fit.summary()).splitlines()
    start = text.index("Correlation Structures:")
    rows = [line.split()[0] for line in text[start + 2:start + 5]]
    assert rows == ["cortime(0.5,1)", "cortime(0.5,2)", "cortime(1,2)"]
    assert text[start + 6] == "Population-Level Effects: "


def test_log_lik_is_each_rows_density_given_its_group(fit: brmc.Fit) -> None:
    """brms's log_lik_gaussian_time on the sub-matrix: log p(y_g) - log p(y_g without row i), a group missing
    a time point among those checked."""
    md, post = fit.model_data, fit.idata.posterior
    ll = fit.log_likelihood().values.reshape(-1, md.nobs)
    flat = {n: post[n].values.reshape(-1) for n in ("b_Intercept", "b_x", "sigma", *NAMES)}
    frame = md.frame
    points = frame["t"].map(TIMES.index).to_numpy()
    short = next(rows for rows in _groups(frame) if len(rows) == 2)
    for s in (7, 301):
        cor = np.eye(3)
        cor[0, 1], cor[0, 2], cor[1, 2] = (flat[n][s] for n in NAMES)
        cor = np.triu(cor) + np.triu(cor, 1).T
        mu = flat["b_Intercept"][s] + flat["b_x"][s] * frame["x"].to_numpy()
        for rows in (short, _groups(frame)[0]):
            cov = flat["sigma"][s] ** 2 * cor[np.ix_(points[rows], points[rows])]
            full = scipy.stats.multivariate_normal(mu[rows], cov).logpdf(md.y[rows])
            rest = scipy.stats.norm(mu[rows[1:]], np.sqrt(cov[1, 1])).logpdf(md.y[rows[1:]]).sum() if len(rows) == 2 \
                else scipy.stats.multivariate_normal(mu[rows[1:]], cov[1:, 1:]).logpdf(md.y[rows[1:]])
            np.testing.assert_allclose(ll[s, rows[0]], full - rest, rtol=1e-9)
    assert fit.loo().estimates.shape[0] == 3


def test_fitted_and_predict_on_new_data(fit: brmc.Fit) -> None:
    """New rows in any order: mu is the predictor (no residual part); the draws of each series are joint, the
    same numbers as the training rows' when the new rows are those rows reordered."""
    post = fit.idata.posterior
    new = fit.data.sample(frac=1.0, random_state=5)
    mu = post["b_Intercept"].values.reshape(-1, 1) + post["b_x"].values.reshape(-1, 1) * new["x"].to_numpy()
    np.testing.assert_allclose(fit.fitted(newdata=new, summary=False), mu, rtol=1e-10)
    np.testing.assert_allclose(fit.posterior_predict(newdata=new, seed=3),
                               fit.posterior_predict(seed=3)[:, new.index.to_numpy()], rtol=1e-12)
    assert fit.predict(newdata=new.head(4)).shape == (4, 4)


def test_prior_draws_of_cortime_are_lkj_margins(fit: brmc.Fit) -> None:
    """sample_prior = "yes": one correlation of an lkj(1) 3 x 3 matrix, (1 + r) / 2 ~ Beta(1.5, 1.5)."""
    draws = prior_draws(fit, 1, 4000, seed=1)["prior_cortime"].ravel()
    assert scipy.stats.kstest((1 + draws) / 2, scipy.stats.beta(1.5, 1.5).cdf).pvalue > 0.01


def test_unconstrained_values_give_back_the_draws(fit: brmc.Fit) -> None:
    """Moment matching and bridge sampling read Lcortime_raw from the draws: the model's transform of it
    gives back each draw's correlations."""
    L = cholesky_from_raw(model_values(fit)["Lcortime_raw"], 3)
    cor = L @ np.swapaxes(L, -1, -2)
    post = fit.idata.posterior
    for name, (j, k) in zip(NAMES, [(0, 1), (0, 2), (1, 2)]):
        np.testing.assert_allclose(cor[:, j, k], post[name].values.ravel(), atol=1e-10)


def test_conditional_effects_leave_the_term_out(fit: brmc.Fit) -> None:
    """brms's conditional_effects(..., incl_autocor = FALSE): mu without the term, whatever the grid's time
    and group (here not a time point of the model)."""
    effects = brmc.conditional_effects(fit, "x")["x"]
    post = fit.idata.posterior
    mu = post["b_Intercept"].values.reshape(-1, 1) + post["b_x"].values.reshape(-1, 1) * effects["x"].to_numpy()
    np.testing.assert_allclose(effects["estimate__"], np.median(mu, axis=0), rtol=1e-10)


def test_series_are_drawn_from_the_sub_matrix_of_their_time_points() -> None:
    frame = pd.DataFrame({"y": 0.0, "x": np.arange(5.0), "t": [0.5, 1.0, 2.0, 0.5, 2.0], "g": [1, 1, 1, 2, 2]})
    md = brmc.data.build_data(brmc.parse_formula(FORMULA), frame, brmc.get_family("gaussian"))
    draws = 6000
    post = xr.Dataset({n: (("chain", "draw"), np.full((1, draws), COR[j, k]))
                       for n, (j, k) in zip(NAMES, [(0, 1), (0, 2), (1, 2)])})
    out = time_predict(md, None, np.zeros((draws, 5)), {"sigma": np.full((draws, 1), 2.0)}, post, np.arange(draws),
                       np.random.default_rng(2))
    emp = np.corrcoef(out.T)
    np.testing.assert_allclose([emp[0, 1], emp[0, 2], emp[1, 2], emp[3, 4]], [0.7, 0.3, 0.5, 0.3], atol=0.04)
    assert abs(emp[0, 3]) < 0.04 and abs(out.std() - 2.0) < 0.05


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("formula, family, error, message", [
    ("y ~ x + unstr(gr = g)", "gaussian", FormulaError, r"In unstr\(gr = g\): argument 'time' is missing"),
    ("y ~ x + unstr(t)", "gaussian", FormulaError, r"argument 'gr' is missing.*unstr\(time = visit, gr = patient\)"),
    ("y ~ x + unstr(t, h)", "gaussian", DataError, r"Time points within groups must be unique \(unstr\(t, h\)\)"),
    ("y ~ x + unstr(t, g)", "poisson", FamilyError, r"unstr\(t, g\) with family 'poisson' needs brms's latent"),
    ("y ~ x + unstr(one, g)", "gaussian", DataError, r"needs at least two time points; 'one' has one: 1"),
    ("y ~ unstr(t, g) + cosy(t, g)", "gaussian", FormulaError, "Can only model one time-series term"),
])
def test_refusals_name_the_term(formula: str, family: str, error: type, message: str) -> None:
    frame = DATA.drop_duplicates("g").assign(h=1, one=1, y=lambda d: d["y"].abs().round())  # a row per group
    with pytest.raises(error, match=message):
        brmc.get_prior(formula, frame, family=family)


def test_new_time_points_and_refits_are_refused(fit: brmc.Fit) -> None:
    with pytest.raises(DataError, match=r"Cannot handle new time points in UNSTR models \(unstr\(time = t, gr = g\)\): "
                                        r"'t' has 3 in newdata; the model has the time points 0.5, 1, 2"):
        fit.predict(newdata=DATA.head(3).assign(t=[0.5, 3.0, 1.0]))
    with pytest.raises(DataError, match=r"Time points within groups must be unique"):
        fit.fitted(newdata=DATA.head(2).assign(g=1, t=1.0))
    with pytest.raises(DataError, match=r"\(kfold, reloo\) is not supported .* unstr\(time = t, gr = g\)"):
        fit.kfold(K=2, progress=False)
