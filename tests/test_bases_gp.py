"""Gaussian-process data (brmc.bases.gp) against brms 2.18's ``standata()`` and ``get_prior()``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest
from scipy import integrate

from brmc import datasets
from brmc.bases.gp import GaussianProcess, eigenfunctions, spd_exp_quad
from brmc.errors import DataError, FormulaError
from tests.conftest import reference_csv, reference_standata

MCYCLE = datasets.load("mcycle")
JSPR = datasets.load("jspr")


def test_approximate_gp_matches_gp_mcycle() -> None:
    ref = reference_standata("gp_mcycle")
    block = GaussianProcess(MCYCLE, ["times"], k=20, c=5 / 4).blocks[0]
    np.testing.assert_allclose(block.Xgp, ref["Xgp_1"], atol=1e-12)
    np.testing.assert_allclose(block.slambda, ref["slambda_1"], atol=1e-12)
    np.testing.assert_array_equal(block.groups + 1, ref["Jgp_1"])
    assert len(block.points) == ref["Nsubgp_1"][0]


def test_exact_gp_matches_gp_exact_mcycle() -> None:
    ref = reference_standata("gp_exact_mcycle")
    block = GaussianProcess(MCYCLE, ["times"]).blocks[0]
    np.testing.assert_allclose(block.Xgp, ref["Xgp_1"], atol=1e-12)
    np.testing.assert_array_equal(block.groups + 1, ref["Jgp_1"])
    assert block.slambda is None


def test_gp_by_factor_matches_gp_by_jsp() -> None:
    ref = reference_standata("gp_by_jsp")
    gp = GaussianProcess(JSPR, ["craven"], by="gender", k=10, c=5 / 4)
    assert len(gp.blocks) == ref["Kgp_1"][0]
    for j, block in enumerate(gp.blocks, start=1):
        np.testing.assert_array_equal(block.rows + 1, ref[f"Igp_1_{j}"])
        np.testing.assert_array_equal(block.weights, ref[f"Cgp_1_{j}"])
        np.testing.assert_array_equal(block.groups + 1, ref[f"Jgp_1_{j}"])
        np.testing.assert_allclose(block.Xgp, ref[f"Xgp_1_{j}"], atol=1e-12)
        np.testing.assert_allclose(block.slambda, ref[f"slambda_1_{j}"], atol=1e-12)
    assert [len(b.rows) for b in gp.blocks] == ref["Ngp_1"].tolist()


def lscale_rows(prior: pd.DataFrame) -> list[str]:
    return prior.loc[(prior["class"] == "lscale") & (prior["coef"] != ""), "prior"].tolist()


@pytest.mark.parametrize(
    ("path", "gp"),
    [
        (("gp_mcycle", "get_prior.csv"), lambda: GaussianProcess(MCYCLE, ["times"], k=20, c=5 / 4)),
        (("gp_exact_mcycle", "default_priors2.csv"), lambda: GaussianProcess(MCYCLE, ["times"])),
        (("gp_by_jsp", "default_priors2.csv"), lambda: GaussianProcess(JSPR, ["craven"], by="gender", k=10, c=1.25)),
    ],
)
def test_lscale_default_prior_equals_brms_string_for_string(path: tuple[str, str], gp) -> None:
    assert gp().lscale_priors() == lscale_rows(reference_csv(*path))


def test_spectral_density_is_the_fourier_transform_of_the_kernel() -> None:
    sdgp, lscale, omega = 1.7, 0.3, 2.5
    kernel = lambda r: sdgp**2 * np.exp(-(r**2) / (2 * lscale**2))
    transform = integrate.quad(lambda r: kernel(r) * np.cos(omega * r), -np.inf, np.inf)[0]
    assert spd_exp_quad(np.array([[omega]]), sdgp, lscale)[0] == pytest.approx(transform, rel=1e-10)
    # two dimensions, non-isotropic: the product of the one-dimensional densities
    two = spd_exp_quad(np.array([[omega, 1.0]]), 1.0, np.array([0.3, 0.6]))[0]
    one = spd_exp_quad(np.array([[omega]]), 1.0, 0.3)[0] * spd_exp_quad(np.array([[1.0]]), 1.0, 0.6)[0]
    assert two == pytest.approx(one, rel=1e-12)


def test_spectral_density_accepts_pytensor_parameters() -> None:
    slambda = np.array([[0.5], [1.5]])
    sdgp, lscale = pt.scalar("sdgp"), pt.scalar("lscale")
    symbolic = spd_exp_quad(slambda, sdgp, lscale).eval({sdgp: 1.3, lscale: 0.4})
    np.testing.assert_allclose(symbolic, spd_exp_quad(slambda, 1.3, 0.4), rtol=1e-12)


def test_approximate_gp_converges_to_the_exact_kernel() -> None:
    """Hilbert-space approximation: Phi diag(spd) Phi' -> the exact covariance for many basis functions."""
    gp = GaussianProcess(MCYCLE, ["times"], k=60, c=1.5)
    block = gp.blocks[0]
    lscale = 0.15
    approx = (block.Xgp * spd_exp_quad(block.slambda, 1.0, lscale)) @ block.Xgp.T
    x = block.points[:, 0]
    exact = np.exp(-((x[:, None] - x[None, :]) ** 2) / (2 * lscale**2))
    assert np.abs(approx - exact).max() < 1e-3


@pytest.mark.parametrize("k", [None, 20])
def test_predict_reproduces_training_and_rows_are_independent(k) -> None:
    gp = GaussianProcess(JSPR, ["craven"], by="gender", k=k, c=None if k is None else 1.25)
    for new, old in zip(gp.predict(JSPR), gp.blocks):
        np.testing.assert_allclose(new.Xgp, old.Xgp, atol=1e-12)
        np.testing.assert_array_equal(new.rows, old.rows)
    rows = [0, 1, 2, 3]  # girl, boy, boy, girl
    together = gp.predict(JSPR.iloc[rows])
    alone = gp.predict(JSPR.iloc[[2]])
    boy = 0 if together[0].level == "boy" else 1
    np.testing.assert_allclose(alone[boy].Xgp[0], together[boy].Xgp[together[boy].groups[1]], atol=1e-14)


def test_bad_input_is_refused() -> None:
    with pytest.raises(FormulaError, match="'c' must be specified"):
        GaussianProcess(MCYCLE, ["times"], k=10)
    with pytest.raises(FormulaError, match="only one is 'exp_quad'"):
        GaussianProcess(MCYCLE, ["times"], cov="matern32")
    with pytest.raises(DataError, match="should be numeric: 'gender'"):
        GaussianProcess(JSPR, ["gender"])
    with pytest.raises(DataError, match="'time'.*Did you mean 'times'"):
        GaussianProcess(MCYCLE, ["time"])


def test_eigenfunctions_are_orthonormal_laplacian_eigenfunctions_in_expand_grid_order() -> None:
    L = np.array([1.5, 2.0])
    grid = np.linspace(-1, 1, 401)
    x = np.column_stack([np.repeat(grid * L[0], 401), np.tile(grid * L[1], 401)])
    phi, slambda = eigenfunctions(x, L, 3)
    # R's expand.grid(1:3, 1:3): the first dimension varies fastest
    np.testing.assert_allclose(slambda[:4], np.array([[1, 1], [2, 1], [3, 1], [1, 2]]) * np.pi / (2 * L), rtol=1e-14)
    cell = (grid[1] - grid[0]) ** 2 * L.prod()
    gram = (phi.T @ phi) * cell
    np.testing.assert_allclose(gram, np.eye(9), atol=0.02)  # orthonormal on [-L1, L1] x [-L2, L2]
    h = 1e-4  # -Laplacian phi = |slambda|^2 phi, by central differences in the first dimension
    point = np.array([[0.3, -0.4]])
    step = np.array([[h, 0.0]])
    second = (eigenfunctions(point + step, L, 3)[0] - 2 * eigenfunctions(point, L, 3)[0]
              + eigenfunctions(point - step, L, 3)[0]) / h**2
    np.testing.assert_allclose(-second[0], slambda[:, 0] ** 2 * eigenfunctions(point, L, 3)[0][0], atol=1e-5)


def test_by_coding_options_and_non_isotropic_priors() -> None:
    contrasts = GaussianProcess(JSPR, ["craven"], by="gender", cmc=False)
    assert [b.level for b in contrasts.blocks] == ["Intercept", "girl"]
    assert len(contrasts.blocks[0].rows) == len(JSPR)
    assert (JSPR["gender"].iloc[contrasts.blocks[1].rows] == "girl").all()
    weighted = GaussianProcess(JSPR.assign(w=JSPR["raven"] / 10), ["craven"], by="w")
    assert weighted.blocks[0].rows is None
    np.testing.assert_allclose(weighted.blocks[0].weights, JSPR["raven"] / 10)
    two = GaussianProcess(JSPR, ["craven", "raven"], iso=False)
    priors = two.lscale_priors()
    assert len(priors) == 2 and all(p.startswith("inv_gamma(") for p in priors)
