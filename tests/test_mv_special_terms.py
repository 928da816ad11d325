"""s(), gp() and mo() terms in the formulas of a multivariate model: brms's default priors (per
response by the univariate rules), brms's names with the response (``bs_accel_stimes_1``,
``sds_accel_stimes_1``, ``sdgp_accel2_gptimes``, ``bsp_accel2_molvl``), and the rescor likelihood of
smooths against SciPy on brms's own smooth basis (``s_mcycle``'s standata).

No brms grid case has a multivariate model with special terms; the expected prior table is built
from brms's rules (R/priors.R ``prior_predictor.mvbrmsterms``: each response's rows with its
``resp``, then the global ``b`` and ``Intercept`` rows and ``lkj(1)`` on ``rescor``) applied to
the univariate tables, which the reference grid checks against brms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.graph import cholesky_from_raw
from brmc.mvdata import build_mv_data, resolve_mv_priors
from brmc.mvmodel import build_mv_model
from brmc.priors import PRIOR_COLUMNS

from .conftest import loglik_at, quiet, reference_standata, rescor_logpdf

MCYCLE = brmc.datasets.load("mcycle")
DATA = MCYCLE.assign(accel2=MCYCLE["accel"] * 0.5 + 3,
                     lvl=pd.Categorical(np.random.default_rng(1).choice(["low", "mid", "high"], len(MCYCLE)),
                                        categories=["low", "mid", "high"], ordered=True))
FORMULA = brmc.bf("accel ~ s(times)") + brmc.bf("accel2 ~ gp(times) + mo(lvl)") + brmc.set_rescor(True)


def test_default_priors_follow_brms_rules_per_response() -> None:
    ours = quiet(brmc.get_prior, FORMULA, DATA)[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    rows = [dict.fromkeys(PRIOR_COLUMNS, "") | {"class": cl, "prior": prior, "source": "default"}
            for cl, prior in (("b", ""), ("Intercept", ""), ("rescor", "lkj(1)"))]
    for resp, formula in (("accel", "accel ~ s(times)"), ("accel2", "accel2 ~ gp(times) + mo(lvl)")):
        table = quiet(brmc.get_prior, formula, DATA)[PRIOR_COLUMNS].astype(str)
        rows += [r | {"resp": resp} for r in table.to_dict("records")]
    expected = pd.DataFrame(rows, columns=PRIOR_COLUMNS)
    pd.testing.assert_frame_equal(ours, expected)


def test_draws_and_summary_carry_brms_names() -> None:
    fit = quiet(brmc.brm, FORMULA, DATA, chains=1, iter=20, seed=1, progress=False, algorithm="fixed_param")
    names = list(fit.idata.posterior.data_vars)
    for name in ("b_accel_Intercept", "bs_accel_stimes_1", "sds_accel_stimes_1", "s_accel_stimes_1[8]",
                 "sdgp_accel2_gptimes", "lscale_accel2_gptimes", "zgp_accel2_gptimes[1]", "bsp_accel2_molvl",
                 "simo_accel2_molvl1[2]", "sigma_accel2", "rescor__accel__accel2"):
        assert name in names
    text = str(fit.summary())
    for label in ("sds(accel_stimes_1)", "sdgp(accel2_gptimes)", "accel2_molvl1[1]", "rescor(accel,accel2)"):
        assert label in text
    assert fit.posterior_epred(resp="accel2").shape == (10, len(DATA))
    assert list(fit.conditional_effects(resolution=3).data) == ["accel.accel_times", "accel2.accel2_times",
                                                                "accel.accel_lvl", "accel2.accel2_lvl"]


def test_rescor_likelihood_of_smooths_is_brms_on_brms_basis() -> None:
    """multi_normal_cholesky(Y | Mu, diag(sigma) Lrescor) with each response's mu = Intercept + Xs bs
    + Zs (sds zs) on brms's Xs and Zs_1_1 (mapped through the rotation between the bases)."""
    formula = brmc.bf("mvbind(accel, accel2) ~ s(times)") + brmc.set_rescor(True)
    mv = build_mv_data(formula, DATA)
    built = build_mv_model(mv, resolve_mv_priors(mv))
    ref = reference_standata("s_mcycle")
    rng = np.random.default_rng(5)
    point, mus = {}, []
    for resp in ("accel", "accel2"):
        Zs, Xs = built.values[f"Zs_{resp}_1_1"], built.values[f"Xs_{resp}"]
        Q = np.linalg.lstsq(ref["Zs_1_1"], Zs, rcond=None)[0]  # ours = brms's @ Q
        sign = np.sign(Xs[:, 0] @ ref["Xs"][:, 0])
        icpt, bs, sds, zs = rng.normal(-10, 2), rng.normal(0, 50), np.exp(rng.normal(5, 0.2)), rng.normal(size=Zs.shape[1])
        point |= {f"Intercept_{resp}": icpt, f"bs_{resp}": np.array([bs]), f"sds_{resp}_1": np.array([sds]),
                  f"zs_{resp}_1_1": zs, f"sigma_{resp}": np.exp(rng.normal(3, 0.1))}
        mus.append(icpt + ref["Xs"][:, 0] * sign * bs + ref["Zs_1_1"] @ (Q @ (sds * zs)))
    point["Lrescor_raw"] = rng.normal(size=1)
    expected = rescor_logpdf(DATA[["accel", "accel2"]].to_numpy(), np.stack(mus, axis=1),
                             np.array([point["sigma_accel"], point["sigma_accel2"]]),
                             cholesky_from_raw(point["Lrescor_raw"], 2))
    assert loglik_at(built.model, point) == pytest.approx(expected, rel=1e-9)
