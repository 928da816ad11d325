"""``gp(x1, x2, iso = FALSE)``: brms 2.18's GP with one ``lscale`` per dimension.

No brms fit of such a model exists in the reference set (and R is not on this machine), so the
model is checked against brms's formulas written here in NumPy/SciPy on the model's own basis:
the approximate GP's spectral density ``sdgp^2 sqrt(2 pi)^D prod(lscale) exp(-1/2 sum_d
lscale_d^2 slambda_d^2)`` (brms's ``spd_cov_exp_quad``), the exact GP's covariance with each
dimension scaled by its own ``lscale`` (brms's ``gp``/``cov_exp_quad``); brms's names
(``lscale_gpx1x2x1``: ``tidy_gpef``'s ``sfx2``) and prior rows (``def_lscale_prior`` per column).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import linalg, stats

import brmc
from brmc.terms.gp import exact_gp_at_new_points

from .conftest import quiet

RNG = np.random.default_rng(15)
DATA = pd.DataFrame({"x1": RNG.uniform(0, 1, 24), "x2": RNG.uniform(0, 3, 24), "g": RNG.choice(["a", "b"], 24)})
DATA["y"] = np.sin(3 * DATA["x1"]) + 0.3 * DATA["x2"] + RNG.normal(0, 0.2, 24)
APPROX = "y ~ gp(x1, x2, k = 4, c = 5/4, iso = FALSE)"
EXACT = "y ~ gp(x1, x2, iso = FALSE)"


def test_prior_rows_are_one_lscale_per_level_and_covariate() -> None:
    """brms's ``get_prior``: ``lscale`` coefs ``<sfx1><covariate>``, by levels varying last, each
    with the ``inv_gamma`` tuned to that covariate's column of the scaled points."""
    table = brmc.get_prior("y ~ gp(x1, x2, by = g, iso = FALSE)", DATA)
    rows = table[(table["class"] == "lscale") & (table["coef"] != "")]
    assert rows["coef"].tolist() == ["gpx1x2gax1", "gpx1x2gax2", "gpx1x2gbx1", "gpx1x2gbx2"]
    expected = []
    for level in ("a", "b"):
        x = DATA.loc[DATA["g"] == level, ["x1", "x2"]].to_numpy()
        dmax = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1).max())  # brms's scale = TRUE: by all dimensions
        expected += [str(brmc.bases.lscale_prior(x[:, [d]] / dmax)) for d in (0, 1)]
    assert rows["prior"].tolist() == expected
    sdgp = table[(table["class"] == "sdgp") & (table["coef"] != "")]
    assert sdgp["coef"].tolist() == ["gpx1x2ga", "gpx1x2gb"]


def _gp_part(formula: str, sdgp: float, lscale: np.ndarray, seed: int) -> tuple[float, float]:
    """The model's log density at a point with ``zgp`` drawn minus that with ``zgp = 0`` (the GP's
    likelihood and ``zgp`` prior part: the priors of the rest cancel), and the same written here."""
    built = brmc.make_model(formula, DATA)
    logp = built.model.compile_logp()
    md = brmc.data.build_data(brmc.parse_formula(formula), DATA, brmc.get_family("gaussian"))
    gp = md.predictors["mu"].parts["gp"][0]
    block = gp.basis.blocks[0]
    J = built.values["Jgp_1_1"]
    y, icpt, sigma = DATA["y"].to_numpy(), 0.4, 0.3
    if gp.exact:
        z = np.random.default_rng(seed).normal(size=len(block.Xgp))
        d2 = (block.Xgp[:, None, :] - block.Xgp[None, :, :]) ** 2  # the scaled points, per dimension
        K = sdgp**2 * np.exp(-0.5 * (d2 / lscale**2).sum(-1)) + 1e-12 * np.eye(len(z))
        f = linalg.cholesky(K, lower=True) @ z
    else:
        z = np.random.default_rng(seed).normal(size=block.Xgp.shape[1])
        D = block.slambda.shape[1]
        spd = sdgp**2 * np.sqrt(2 * np.pi) ** D * np.prod(lscale) * np.exp(-0.5 * (lscale**2 * block.slambda**2).sum(1))
        f = built.values["Xgp_1_1"] @ (np.sqrt(spd) * z)
    point = {"Intercept": icpt, "sdgp_1_log__": np.log([sdgp]), "lscale_1_log__": np.log(np.atleast_1d(lscale)),
             "sigma_log__": np.log(sigma), "zgp_1_1": z}
    model = logp(point) - logp(point | {"zgp_1_1": np.zeros_like(z)})
    written = (stats.norm.logpdf(y, icpt + f[J], sigma).sum() - stats.norm.logpdf(y, icpt, sigma).sum()
               + stats.norm.logpdf(z).sum() - stats.norm.logpdf(0 * z).sum())
    return model, written


@pytest.mark.parametrize("formula", [APPROX, EXACT])
def test_the_model_density_is_brms_with_one_lscale_per_dimension(formula: str) -> None:
    for seed, lscale in enumerate([np.array([0.05, 0.2]), np.array([0.3, 0.08])]):
        model, written = _gp_part(formula, 1.3, lscale, seed)
        assert model == pytest.approx(written, rel=1e-8)


@pytest.mark.parametrize("formula", [APPROX, EXACT])
def test_equal_lscales_give_the_isotropic_model(formula: str) -> None:
    model, _ = _gp_part(formula, 0.9, np.array([0.15, 0.15]), 3)
    iso, _ = _gp_part(formula.replace("iso = FALSE", "iso = TRUE"), 0.9, np.array([0.15]), 3)
    assert model == pytest.approx(iso, rel=1e-10)


def test_exact_gp_at_a_new_point_with_one_lscale_per_dimension() -> None:
    """brms's ``.predictor_gp_new`` with ``cov_exp_quad``'s product over dimensions, in NumPy."""
    old, new = np.array([[0.0, 0.0], [0.5, 0.1], [0.2, 0.9]]), np.array([[0.3, 0.4]])
    sdgp, lscale, z = 1.5, np.array([0.4, 0.9]), np.array([0.3, -1.0, 0.6])

    def kern(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return sdgp**2 * np.exp(-0.5 * (((a[:, None] - b[None]) / lscale) ** 2).sum(-1))

    K = kern(old, old) + 1e-8 * np.eye(3)
    f, k = np.linalg.cholesky(K) @ z, kern(old, new)[:, 0]
    mean, var = k @ np.linalg.solve(K, f), sdgp**2 - k @ np.linalg.solve(K, k) + 1e-8
    drawn = exact_gp_at_new_points(old, new, sdgp, lscale, z, np.random.default_rng(4))
    np.testing.assert_allclose(drawn, mean + np.sqrt(var) * np.random.default_rng(4).standard_normal(1), rtol=1e-8)


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    return quiet(brmc.brm, "y ~ gp(x1, x2, by = g, k = 4, c = 5/4, iso = FALSE)", DATA, chains=1, iter=300, seed=3,
                 progress=False)


def _by_the_draws(fit: brmc.Fit, new: pd.DataFrame) -> np.ndarray:
    """``Intercept + Cgp * Xgp_new (sqrt(spd(slambda, sdgp, lscale)) .* zgp)`` per level, draw by draw."""
    post = fit.idata.posterior
    out = np.repeat(post["b_Intercept"].values.ravel()[:, None], len(new), 1)
    blocks = fit.model_data.predictors["mu"].parts["gp"][0].basis.predict(new)
    for level, block in zip("ab", blocks):
        if not len(block.rows):
            continue
        sd = post[f"sdgp_gpx1x2g{level}"].values.ravel()[:, None]
        ls = np.stack([post[f"lscale_gpx1x2g{level}x{d}"].values.ravel() for d in (1, 2)], -1)
        z = np.stack([post[f"zgp_gpx1x2g{level}[{m + 1}]"].values.ravel() for m in range(16)], -1)
        spd = sd**2 * 2 * np.pi * ls.prod(1)[:, None] * np.exp(-0.5 * (ls[:, None] ** 2 * block.slambda**2).sum(-1))
        out[:, block.rows] += ((np.sqrt(spd) * z) @ block.Xgp.T)[:, block.groups]
    return out


def test_names_summary_and_new_rows(fit: brmc.Fit) -> None:
    post = fit.idata.posterior
    gp_vars = [str(n) for n in post.data_vars if str(n).startswith(("sdgp_", "lscale_"))]
    # brms's draws: lscale_1[j, d] in column-major order, the by level varying fastest
    assert gp_vars == ["sdgp_gpx1x2ga", "sdgp_gpx1x2gb", "lscale_gpx1x2gax1", "lscale_gpx1x2gbx1",
                       "lscale_gpx1x2gax2", "lscale_gpx1x2gbx2"]
    assert {"zgp_gpx1x2ga[16]", "zgp_gpx1x2gb[16]"} <= set(post.data_vars)
    assert list(fit.summary().gp.index) == [f"{n.split('_')[0]}({n.split('_')[1]})" for n in gp_vars]
    prior = fit.prior_summary()
    assert prior[prior["class"] == "lscale"]["coef"].tolist() == ["", "gpx1x2gax1", "gpx1x2gax2", "gpx1x2gbx1",
                                                                 "gpx1x2gbx2"]
    new = pd.DataFrame({"x1": [0.1, 0.5, 0.1], "x2": [2.9, 0.2, 2.9], "g": ["a", "b", "a"]})
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit, newdata=new), _by_the_draws(fit, new), rtol=1e-8)
    only_b = new.iloc[[1]]  # no row of level a: its GP adds nothing
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit, newdata=only_b), _by_the_draws(fit, only_b), rtol=1e-8)
