"""Addition terms with ``set_rescor(TRUE)``, as brms 2.18 takes them (R/stan-predictor.R
``stan_predictor.mvbrmsterms``: se, weights and mi): a response's known ``se()`` folded into its
residual sd before the residual correlations (``stan_sigma_transform``: ``sqrt(square(sigma) + se2[n])``,
or ``se[n]`` alone), ``mi()``'s imputed values in the response matrix, and brms's refusal of the others.

No brms run of such a model exists; the likelihood, ``log_lik`` and ``posterior_predict`` are checked
against SciPy's multivariate normal written here (made-up draws: no sampling)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

import brmc
from brmc.errors import FamilyError
from brmc.graph import cholesky_from_raw
from brmc.mvdata import build_mv_data, resolve_mv_priors
from brmc.mvfit import MvFit
from brmc.mvmodel import build_mv_model
from brmc.sampling import SamplerSettings

from .conftest import quiet

RNG = np.random.default_rng(2)
N = 40
X = RNG.normal(size=N)
DATA = pd.DataFrame({"x": X, "se1": RNG.uniform(0.3, 1, N), "se2": RNG.uniform(0.3, 1, N),
                     "y1": 1 + X + RNG.normal(size=N), "y2": 2 - X + RNG.normal(size=N)})
SE = brmc.bf("y1 | se(se1, sigma = TRUE) ~ x") + brmc.bf("y2 | se(se2) ~ x") + brmc.set_rescor(True)
NHANES = brmc.datasets.load("nhanes")
MI = brmc.bf("bmi | mi() ~ age") + brmc.bf("chl | mi() ~ age") + brmc.set_rescor(True)


def _covariances(sigma1: np.ndarray, sigma2: np.ndarray, rho: float) -> np.ndarray:
    """Each row's residual covariance matrix (rows × 2 × 2)."""
    return np.stack([np.stack([sigma1**2, rho * sigma1 * sigma2], -1),
                     np.stack([rho * sigma1 * sigma2, sigma2**2], -1)], -2)


def _compiled_loglik(built, point: dict) -> float:
    model = built.model
    (term,) = model.replace_rvs_by_values([model["Y_loglik"]])
    f = model.compile_fn(term, inputs=model.value_vars, point_fn=False, on_unused_input="ignore", mode="FAST_COMPILE")
    return float(f(**{v.name: point[v.name] for v in model.value_vars}))


def test_se_enters_each_rows_residual_covariance() -> None:
    mv = build_mv_data(SE, DATA)
    assert [d.name for d in mv.dpars] == ["sigma_y1"]  # se(se2) alone fixes y2's residual sd
    built = build_mv_model(mv, resolve_mv_priors(mv))
    rng = np.random.default_rng(3)
    point = {v.name: rng.normal(size=v.type.shape) for v in built.model.value_vars}
    rho = cholesky_from_raw(point["Lrescor_raw"], 2)[1, 0]
    x = DATA["x"].to_numpy()
    mu = [point[f"Intercept_{r}"] + (x - x.mean()) * point[f"b_{r}"][0] for r in ("y1", "y2")]
    s1 = np.sqrt(np.exp(point["sigma_y1_log__"]) ** 2 + DATA["se1"].to_numpy() ** 2)
    cov = _covariances(s1, DATA["se2"].to_numpy(), rho)
    Y = DATA[["y1", "y2"]].to_numpy()
    expected = sum(scipy.stats.multivariate_normal(np.array([mu[0][n], mu[1][n]]), cov[n]).logpdf(Y[n])
                   for n in range(N))
    assert _compiled_loglik(built, point) == pytest.approx(expected, rel=1e-10)


def test_mi_imputes_inside_the_response_matrix() -> None:
    mv = quiet(build_mv_data, MI, NHANES)
    built = build_mv_model(mv, resolve_mv_priors(mv))
    rng = np.random.default_rng(4)
    point = {v.name: rng.normal(size=v.type.shape) for v in built.model.value_vars}
    point |= {"Intercept_bmi": 26.0, "Intercept_chl": 190.0, "sigma_bmi_log__": np.log(4.0),
              "sigma_chl_log__": np.log(40.0)}
    point["Ymi_bmi"], point["Ymi_chl"] = 26 + rng.normal(size=9), 190 + 30 * rng.normal(size=10)
    Y = NHANES[["bmi", "chl"]].to_numpy().copy()
    Y[NHANES["bmi"].isna().to_numpy(), 0], Y[NHANES["chl"].isna().to_numpy(), 1] = point["Ymi_bmi"], point["Ymi_chl"]
    age = NHANES["age"].to_numpy(float)
    mu = np.stack([point[f"Intercept_{r}"] + (age - age.mean()) * point[f"b_{r}"][0] for r in ("bmi", "chl")], -1)
    rho = cholesky_from_raw(point["Lrescor_raw"], 2)[1, 0]
    cov = _covariances(np.full(25, 4.0), np.full(25, 40.0), rho)[0]
    expected = scipy.stats.multivariate_normal(np.zeros(2), cov).logpdf(Y - mu).sum()
    assert _compiled_loglik(built, point) == pytest.approx(expected, rel=1e-10)


@pytest.fixture(scope="module")
def se_fit() -> MvFit:
    """SE's model with made-up draws (their spread small, so that predictions show the residuals)."""
    mv = build_mv_data(SE, DATA)
    rng = np.random.default_rng(5)
    means = {"b_y1_Intercept": 1.0, "b_y1_x": 1.0, "b_y2_Intercept": 2.0, "b_y2_x": -1.0, "sigma_y1": 0.5,
             "rescor__y1__y2": 0.6}
    post = xr.Dataset({k: (("chain", "draw"), v + 0.01 * rng.standard_normal((2, 1000))) for k, v in means.items()})
    return MvFit(model_data=mv, priors=resolve_mv_priors(mv), settings=SamplerSettings(chains=2),
                 idata=az.InferenceData(posterior=post))


def test_log_lik_and_predictions_take_the_known_se(se_fit: MvFit) -> None:
    post = se_fit.idata.posterior
    flat = {k: post[k].values.reshape(-1) for k in post.data_vars}
    x, Y = DATA["x"].to_numpy(), DATA[["y1", "y2"]].to_numpy()
    ll = se_fit.log_likelihood().values.reshape(-1, N)
    for s in (0, 777):
        mu = np.stack([flat["b_y1_Intercept"][s] + flat["b_y1_x"][s] * x, flat["b_y2_Intercept"][s] + flat["b_y2_x"][s] * x], -1)
        cov = _covariances(np.sqrt(flat["sigma_y1"][s] ** 2 + DATA["se1"].to_numpy() ** 2), DATA["se2"].to_numpy(),
                           flat["rescor__y1__y2"][s])
        expected = [scipy.stats.multivariate_normal(mu[n], cov[n]).logpdf(Y[n]) for n in range(N)]
        np.testing.assert_allclose(ll[s], expected, rtol=1e-10)
    pred = se_fit.posterior_predict(seed=1)  # (2000, N, 2)
    mean = se_fit.posterior_epred()
    z = (pred - mean) / np.stack([np.sqrt(0.25 + DATA["se1"].to_numpy() ** 2), DATA["se2"].to_numpy()], -1)
    assert z.std(axis=(0, 1)) == pytest.approx([1, 1], abs=0.03)
    assert np.corrcoef(z[..., 0].ravel(), z[..., 1].ravel())[0, 1] == pytest.approx(0.6, abs=0.02)
    new = DATA.iloc[:3].assign(se2=[10.0, 10.0, 10.0])  # predictions read the new rows' se
    assert se_fit.posterior_predict(newdata=new, resp="y2", seed=1).std(axis=0) == pytest.approx([10] * 3, rel=0.1)


@pytest.mark.parametrize(("formula", "words"), [
    ("y1 | cens(c) ~ x", "response 'y1' has cens"),
    ("y1 | trunc(lb = -10) ~ x", "response 'y1' has lb, trunc, ub"),
])
def test_other_additions_are_refused_in_brms_words(formula: str, words: str) -> None:
    data = DATA.assign(c=0)
    with pytest.raises(FamilyError, match="Only se, weights, mi are supported addition arguments when 'rescor' is "
                                          f"estimated; {words}"):
        build_mv_data(brmc.bf(formula) + brmc.bf("y2 ~ x") + brmc.set_rescor(True), data)
