"""Autocorrelation (``ar()``, ``ma()``, ``cosy()``, ``unstr()``) and ``me()`` terms in multivariate models.

No brms grid case has such a model; the expected prior table is built from brms's rules (R/priors.R
``prior_predictor.mvbrmsterms`` and ``prior_ac`` with ``ls = px``: each response's rows with its ``resp``;
``prior_Xme`` on the whole model: ``meanme``/``sdme`` rows without ``resp``; then the global ``b`` and
``Intercept`` rows) applied to the univariate tables, which the reference grid checks against brms.  The
densities are checked against the univariate models (without ``rescor`` a response's part of the joint
density is its univariate model's) and against SciPy (``rescor`` + ``ar()``: brms's loop, ``err = Y - mu``
before the AR part, then ``multi_normal_cholesky`` of the responses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import xarray as xr

import brmc
from brmc.data import build_data
from brmc.errors import FamilyError, FormulaError
from brmc.formula import parse_formula
from brmc.graph import cholesky_from_raw
from brmc.model import build_model
from brmc.mvdata import build_mv_data, resolve_mv_priors
from brmc.mvmodel import build_mv_model, mv_log_lik, mv_posterior
from brmc.priors import PRIOR_COLUMNS, resolve_priors

from .conftest import loglik_at, quiet, rescor_logpdf

RNG = np.random.default_rng(11)
N_G, N_T = 6, 8
DATA = pd.DataFrame({"t": np.tile(np.arange(N_T), N_G), "g": np.repeat(np.arange(N_G), N_T),
                     "x": RNG.normal(size=N_G * N_T), "sdx": 0.4})
DATA["y1"] = 1 + DATA["x"] + RNG.normal(size=len(DATA))
DATA["y2"] = -0.5 * DATA["x"] + RNG.normal(size=len(DATA))
SHUFFLED = DATA.sample(frac=1.0, random_state=3).reset_index(drop=True)  # brms orders the rows by (g, t)


def _expected_table(formulas: dict[str, str], rescor: bool) -> pd.DataFrame:
    """The rows without ``resp`` first (class by R's collation, then coef), then each response's table."""
    top = [dict.fromkeys(PRIOR_COLUMNS, "") | {"class": cl, "prior": prior, "source": "default"}
           for cl, prior in (("b", ""), ("Intercept", ""), ("rescor", "lkj(1)")) if rescor or cl != "rescor"]
    rows = []
    for resp, formula in formulas.items():
        table = quiet(brmc.get_prior, formula, SHUFFLED)[PRIOR_COLUMNS].astype(str)
        for r in table.to_dict("records"):
            if r["class"] in ("meanme", "sdme"):
                top += [r] if r not in top else []
            else:
                rows.append(r | {"resp": resp})
    top.sort(key=lambda r: (r["class"].lower(), r["coef"]))
    return pd.DataFrame(top + rows, columns=PRIOR_COLUMNS)


@pytest.mark.parametrize("formulas, rescor", [
    ({"y1": "y1 ~ x + ar(time = t, gr = g, p = 2)", "y2": "y2 ~ x + ma(time = t, gr = g)"}, True),
    ({"y1": "y1 ~ x + cosy(time = t, gr = g)", "y2": "y2 ~ x + unstr(time = t, gr = g)"}, False),
    ({"y1": "y1 ~ me(x, sdx)", "y2": "y2 ~ x + me(x, sdx)"}, True),
])
def test_default_priors_follow_brms_rules(formulas, rescor) -> None:
    formula = brmc.bf(formulas["y1"]) + brmc.bf(formulas["y2"]) + brmc.set_rescor(rescor)
    ours = quiet(brmc.get_prior, formula, SHUFFLED)[PRIOR_COLUMNS].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, _expected_table(formulas, rescor))


def _point(model, rng) -> dict[str, np.ndarray]:
    return {v.name: rng.normal(0.0, 0.3, size=model.initial_point()[v.name].shape) for v in model.value_vars}


def _logp(built, point: dict[str, np.ndarray]) -> float:
    model = built.model
    return float(model.compile_logp(jacobian=True)({v.name: point[v.name] for v in model.value_vars}))


def _univariate(formula: str, resp: str, frame: pd.DataFrame, point: dict[str, np.ndarray]) -> float:
    """The univariate model's log density at the multivariate point's values of its parameters."""
    md = build_data(parse_formula(formula), frame, brmc.get_family("gaussian"))
    built = build_model(md, resolve_priors(md))
    own = {}
    for v in built.model.value_vars:
        for tail in ("_log__", "_interval__", ""):
            if v.name.endswith(tail):
                base = v.name[:len(v.name) - len(tail)] if tail else v.name
                mv_name = {"meanme_1": "meanme_1", "sdme_1": "sdme_1", "zme_1": "zme_1"}.get(base, f"{base}_{resp}")
                if mv_name + tail in point:
                    own[v.name] = point[mv_name + tail]
                    break
    assert len(own) == len(built.model.value_vars)
    return _logp(built, own)


def test_without_rescor_each_response_has_its_univariate_density() -> None:
    """ar()/cosy(): the joint density is the sum of the univariate models' (the rows ordered alike)."""
    f1, f2 = "y1 ~ x + ar(time = t, gr = g)", "y2 ~ x + cosy(time = t, gr = g)"
    mv = build_mv_data(brmc.bf(f1) + brmc.bf(f2) + brmc.set_rescor(False), SHUFFLED)
    built = build_mv_model(mv, resolve_mv_priors(mv))
    point = _point(built.model, np.random.default_rng(2))
    expected = _univariate(f1, "y1", SHUFFLED, point) + _univariate(f2, "y2", SHUFFLED, point)
    assert _logp(built, point) == pytest.approx(expected, rel=1e-10)
    assert mv.frame[["g", "t"]].equals(DATA[["g", "t"]])  # brms's order_data


def test_me_latent_values_are_shared() -> None:
    """me(): one set of latent values (brms's Xme_1); the joint density is the two univariate models'
    less the latent part counted twice (zme's std_normal, Xn ~ normal(Xme, sdx); flat meanme/sdme)."""
    f1, f2 = "y1 ~ me(x, sdx)", "y2 ~ x + me(x, sdx)"
    mv = build_mv_data(brmc.bf(f1) + brmc.bf(f2) + brmc.set_rescor(False), SHUFFLED)
    built = build_mv_model(mv, resolve_mv_priors(mv))
    assert sorted(v.name for v in built.model.free_RVs) == [
        "Intercept_y1", "Intercept_y2", "b_y2", "bspme_y1", "bspme_y2", "meanme_1", "sdme_1", "sigma_y1",
        "sigma_y2", "zme_1"]
    point = _point(built.model, np.random.default_rng(4))
    Xme = point["meanme_1"][0] + np.exp(point["sdme_1_log__"][0]) * point["zme_1"]
    latent = (scipy.stats.norm.logpdf(point["zme_1"]).sum() + point["sdme_1_log__"][0]
              + scipy.stats.norm(Xme, SHUFFLED["sdx"]).logpdf(SHUFFLED["x"]).sum())
    expected = _univariate(f1, "y1", SHUFFLED, point) + _univariate(f2, "y2", SHUFFLED, point) - latent
    assert _logp(built, point) == pytest.approx(expected, rel=1e-10)


def test_rescor_ar_density_matches_scipy() -> None:
    formula = brmc.bf("y1 ~ x + ar(time = t, gr = g, p = 2)") + brmc.bf("y2 ~ ar(time = t, gr = g)") \
        + brmc.set_rescor(True)
    mv = build_mv_data(formula, SHUFFLED)
    built = build_mv_model(mv, resolve_mv_priors(mv))
    rng = np.random.default_rng(7)
    p = {"Intercept_y1": 0.8, "b_y1": np.array([0.9]), "ar_y1": np.array([0.4, -0.2]), "sigma_y1": 1.3,
         "Intercept_y2": -0.1, "ar_y2": np.array([0.6]), "sigma_y2": 0.7, "Lrescor_raw": rng.normal(size=1)}
    frame = DATA  # ordered by (g, t)
    means = []
    xc = frame["x"] - frame["x"].mean()  # brms's centred design: Intercept_y1 is the centred intercept
    for y, eta, ar in ((frame["y1"], 0.8 + 0.9 * xc, p["ar_y1"]), (frame["y2"], -0.1 + 0 * xc, p["ar_y2"])):
        err = (y - eta).to_numpy().reshape(N_G, N_T)
        mu = eta.to_numpy().reshape(N_G, N_T).copy()
        for k, a in enumerate(ar, start=1):
            mu[:, k:] += a * err[:, :-k]
        means.append(mu.ravel())
    expected = rescor_logpdf(frame[["y1", "y2"]].to_numpy(), np.stack(means, axis=1),
                             np.array([p["sigma_y1"], p["sigma_y2"]]), cholesky_from_raw(p["Lrescor_raw"], 2))
    assert loglik_at(built.model, p) == pytest.approx(expected, rel=1e-10)
    raw = xr.Dataset({k: xr.DataArray(np.asarray(v)[None, None], dims=("chain", "draw", *(f"{k}_dim" for _ in
                                                                                         np.shape(v))))
                      for k, v in p.items()}, coords={"chain": [0], "draw": [0]})
    pointwise = mv_log_lik(mv_posterior(raw, mv), mv)  # the draws' log_lik: each row's joint density
    assert pointwise.shape == (1, 1, len(DATA)) and pointwise.sum() == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("formula, error, message", [
    (brmc.bf("y1 ~ x + cosy(time = t, gr = g)") + brmc.bf("y2 ~ x") + brmc.set_rescor(True), FamilyError,
     "Explicit covariance terms cannot be modeled when 'rescor' is estimated at the same time"),
    (brmc.bf("y1 ~ x") + brmc.bf("y2 ~ unstr(time = t, gr = g)") + brmc.set_rescor(True), FamilyError,
     "response 'y2': unstr"),
    (brmc.bf("y1 ~ ar(time = t, gr = g)") + brmc.bf("y2 ~ ar(time = x, gr = g)") + brmc.set_rescor(False),
     FormulaError, "All time-series structures must have the same 'time' and 'gr' variables"),
    (brmc.bf("y1 ~ ar(time = t, gr = g)") + brmc.bf("y2 ~ ma(time = t)") + brmc.set_rescor(False),
     FormulaError, "y2: ma(time = t)"),
    (brmc.bf("y1 ~ me(x, sdx)") + brmc.bf("y2 ~ me(x, 1)") + brmc.set_rescor(False), FormulaError,
     "one me() term per model"),
])
def test_bad_input(formula, error, message) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_mv_data(formula, SHUFFLED)


def test_fit_post_processing_with_resp() -> None:
    """A short fit: brms's names, and fitted/predict/log_lik/loo per response (the ar() part on the training
    rows; the cosy() response's log_lik the leave-one-out density given its series)."""
    formula = brmc.bf("y1 ~ x + ar(time = t, gr = g)") + brmc.bf("y2 ~ me(x, sdx) + cosy(time = t, gr = g)") \
        + brmc.set_rescor(False)
    fit = quiet(brmc.brm, formula, SHUFFLED, chains=1, iter=200, warmup=100, seed=3, progress=False)
    names = list(fit.idata.posterior.data_vars)
    for name in ("ar_y1[1]", "cosy_y2", "bsp_y2_mexsdx", "meanme_mex", "sdme_mex", "Xme_mex[1]", "sigma_y1"):
        assert name in names
    ll = fit.log_likelihood()
    assert ll.shape == (1, 100, len(DATA))
    separate = sum(fit.response_fit(r).log_likelihood().values for r in ("y1", "y2"))
    np.testing.assert_allclose(ll.values, separate)
    assert fit.fitted(resp="y1").shape[0] == len(DATA)
    assert fit.predict(resp="y2", seed=1).shape[0] == len(DATA)
    assert np.isfinite(quiet(fit.loo).estimates.loc["elpd_loo", "Estimate"])
    post = fit.idata.posterior
    assert 0 < float(post["cosy_y2"].mean()) < 1 and abs(float(post["b_y1_x"].mean()) - 1) < 0.5


def test_me_with_subset_is_refused() -> None:
    formula = brmc.bf("y1 | subset(s) ~ me(x, sdx)") + brmc.bf("y2 ~ me(x, sdx)") + brmc.set_rescor(False)
    with pytest.raises(FormulaError, match=r"me\(\) terms \(me\(x, sdx\)\) cannot be combined with subset\(\)"):
        build_mv_data(formula, SHUFFLED.assign(s=np.arange(len(SHUFFLED)) % 3 > 0))
