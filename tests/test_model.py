"""The PyMC model: brms's parameterisation, the LKJ Cholesky factor, shared hyperparameters."""

from __future__ import annotations

import itertools

import numpy as np
import pymc as pm
import pytensor
import pytest

import brmc
from brmc.model import cholesky_corr
from brmc.sampling import cholesky_from_raw

SLEEP = "Reaction ~ Days + (Days | Subject)"


def corr_model(M: int, eta: float) -> tuple[pm.Model, object]:
    with pm.Model() as model:
        L = cholesky_corr("L", M, eta)
    return model, L


@pytest.mark.parametrize("M", [2, 3, 4])
def test_cholesky_factor_is_a_correlation_factor_and_matches_numpy_twin(M: int) -> None:
    model, L = corr_model(M, 1.0)
    raw = np.random.default_rng(M).normal(size=M * (M - 1) // 2)
    L_val = pytensor.function([model["L_raw"]], L)(raw)
    np.testing.assert_allclose(L_val, cholesky_from_raw(raw, M), atol=1e-12)
    C = L_val @ L_val.T
    np.testing.assert_allclose(np.diag(C), 1.0, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(C) > 0)


def _stan_cpc_cholesky(raw: np.ndarray, M: int) -> np.ndarray:
    """Stan's reference manual, "Cholesky factors of correlation matrices": the canonical
    partial correlations z = tanh(raw), row by row below the diagonal, give
    L[i, j] = z[i, j] * prod_{k<j} sqrt(1 - z[i, k]^2) and L[i, i] = prod_{k<i} sqrt(1 - z[i, k]^2)."""
    cpc = np.zeros((M, M))
    cpc[np.tril_indices(M, -1)] = np.tanh(raw)  # row-major below the diagonal, as Stan reads them
    L = np.eye(M)
    for i in range(1, M):
        for j in range(i + 1):
            scale = np.prod(np.sqrt(1.0 - cpc[i, :j] ** 2))
            L[i, j] = scale if j == i else cpc[i, j] * scale
    return L


@pytest.mark.parametrize("M", [2, 3, 4, 5])
def test_cholesky_factor_follows_stans_cpc_formula(M: int) -> None:
    """The one transform (graph and post-sampling) against Stan's closed form, for a batch of draws."""
    raw = np.random.default_rng(10 + M).normal(size=(2, 3, M * (M - 1) // 2))
    L = cholesky_from_raw(raw, M)
    assert L.shape == (2, 3, M, M)
    for c, d in itertools.product(range(2), range(3)):
        np.testing.assert_allclose(L[c, d], _stan_cpc_cholesky(raw[c, d], M), atol=1e-12)
        np.testing.assert_allclose(np.diag(L[c, d] @ L[c, d].T), 1.0, atol=1e-12)
    model, L_graph = corr_model(M, 1.0)
    np.testing.assert_allclose(pytensor.function([model["L_raw"]], L_graph)(raw[1, 2]), L[1, 2], atol=1e-12)


def _lkj_log_density_in_raw_space(M: int, eta: float, raw: np.ndarray) -> float:
    """log det(C)^(eta-1) + log |d corr / d raw| by finite differences (independent of the model)."""
    iu = np.triu_indices(M, 1)

    def corr(x):
        L = cholesky_from_raw(x, M)
        return (L @ L.T)[iu]

    h = 1e-6
    J = np.column_stack([(corr(raw + h * e) - corr(raw - h * e)) / (2 * h) for e in np.eye(len(raw))])
    L = cholesky_from_raw(raw, M)
    return (eta - 1) * np.log(np.linalg.det(L @ L.T)) + np.log(abs(np.linalg.det(J)))


@pytest.mark.parametrize("M, eta", [(2, 1.0), (3, 1.0), (3, 2.5), (4, 0.7)])
def test_lkj_prior_plus_jacobian_is_the_lkj_density(M: int, eta: float) -> None:
    model, _ = corr_model(M, eta)
    logp = model.compile_logp()
    rng = np.random.default_rng(7)
    points = [rng.normal(scale=0.7, size=M * (M - 1) // 2) for _ in range(4)]
    ours = [float(logp({"L_raw": p})) for p in points]
    truth = [_lkj_log_density_in_raw_space(M, eta, p) for p in points]
    # equal up to the normalising constant
    for (a, b), (c, d) in itertools.combinations(zip(ours, truth), 2):
        assert a - c == pytest.approx(b - d, abs=1e-5)


def test_population_intercept_is_centred_and_priors_are_shared_data() -> None:
    built = brmc.make_model(SLEEP, brmc.datasets.load("sleepstudy"))
    names = {v.name for v in built.model.free_RVs}
    assert names == {"Intercept", "b", "sd_1", "z_1", "L_1_raw", "sigma"}
    np.testing.assert_allclose(built.values["Xc"].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(built.values["hp_Intercept_student_t"].ravel(), [3, 288.7, 59.3])
    assert "hp_Intercept_student_t" in built.model.named_vars  # a pm.Data container


def test_structure_key_ignores_hyperparameters_but_not_prior_families() -> None:
    df = brmc.datasets.load("sleepstudy")
    base = brmc.make_model(SLEEP, df).structure
    assert brmc.make_model(SLEEP, df, prior=brmc.prior("student_t(3, 0, 10)", class_="sd")).structure == base
    assert brmc.make_model(SLEEP, df, prior=brmc.prior("cauchy(0, 10)", class_="sd")).structure != base


def test_logp_matches_an_independent_computation() -> None:
    """The model's log density at a point equals brms's, written out with scipy."""
    from scipy import stats

    df = brmc.datasets.load("sleepstudy")
    built = brmc.make_model("Reaction ~ Days + (1 | Subject)", df)
    model = built.model
    rng = np.random.default_rng(3)
    point = {"Intercept": 290.0, "b": np.array([9.0]), "sd_1_log__": np.log([20.0]),
             "z_1": rng.normal(size=(1, 18)), "sigma_log__": np.log(30.0)}
    ours = float(model.compile_logp()(point))
    y, days = df["Reaction"].to_numpy(), df["Days"].to_numpy()
    subj = np.unique(df["Subject"].astype(str), return_inverse=True)[1]
    mu = 290.0 + 9.0 * (days - days.mean()) + 20.0 * point["z_1"][0][subj]
    expected = (stats.norm.logpdf(y, mu, 30.0).sum() + stats.norm.logpdf(point["z_1"]).sum()
                + stats.t.logpdf(290.0, 3, 288.7, 59.3) + stats.t.logpdf(20.0, 3, 0, 59.3)
                + stats.t.logpdf(30.0, 3, 0, 59.3) + np.log(20.0) + np.log(30.0))  # log-transform Jacobians
    assert ours == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("formula", ["Reaction ~ Days + (Days || Subject)",
                                     "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)"])
def test_uncorrelated_and_separate_blocks_have_no_correlation(formula: str) -> None:
    df = brmc.datasets.load("sleepstudy")
    built = brmc.make_model(formula, df)
    assert not any(v.name.startswith("L_") for v in built.model.free_RVs)
    tab = brmc.get_prior(formula, df)
    assert "cor" not in set(tab["class"])
    assert set(tab.loc[tab["class"] == "sd", "coef"]) == {"", "Intercept", "Days"}
