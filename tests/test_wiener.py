"""wiener: the first-passage time density of a Wiener diffusion, ``rt | dec(d) ~ x``.

No brms fits of wiener exist here; the density (the model's graph and the NumPy series log_lik uses) is
checked against Navarro & Fuss's two series written in the test and summed to 40 (large-time) or 2 x 10 + 1
(small-time) terms, far past need, and by integrating it over time to the probability of each boundary, which
has a closed form; the fit recovers the parameters of data simulated with NumPy (an Euler scheme of the
diffusion, steps of 1e-4 s); log_lik and loo are those of the series at every draw; the random draws have the
closed-form choice probability and mean decision time and follow each boundary's cdf integrated from the
series; posterior_epred is brms 2.18's formula, written out. The default priors are derived from brms 2.18's
``def_dprior`` (``bs`` gamma(1, 1), ``ndt`` uniform(0, min_Y), ``bias`` beta(1, 1)), there being no brms grid
rows for wiener."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytensor
import pytest
from scipy import integrate

import brmc
from brmc.errors import DataError
from brmc.families.wiener import wiener_log_density, wiener_logp


def _lower_density(t, v, a, w) -> np.ndarray:
    """Navarro & Fuss (2009): the density of hitting the lower boundary at time t (drift v, boundary
    separation a, relative start w), by whichever series converges fast at t, summed far past need
    (arrays broadcast; the terms on a last axis)."""
    t, v, a, w = np.broadcast_arrays(*(np.asarray(z, dtype=float) for z in (t, v, a, w)))
    u, w1 = t / a**2, w[..., None]
    scale = np.exp(-v * a * w - v**2 * t / 2) / a**2
    k = np.arange(1, 41)
    large = np.pi * np.sum(k * np.exp(-k**2 * np.pi**2 * u[..., None] / 2) * np.sin(k * np.pi * w1), axis=-1)
    k = np.arange(-10, 11)
    small = np.sum((w1 + 2 * k) * np.exp(-(w1 + 2 * k) ** 2 / (2 * u[..., None])), axis=-1) / np.sqrt(2 * np.pi * u**3)
    return scale * np.where(u > 0.2, large, small)


def _density(t, dec, bs, bias, mu) -> np.ndarray:
    """brms's wiener_diffusion: the upper boundary is the lower one mirrored (drift -mu, start 1 - bias)."""
    dec = np.asarray(dec)
    return np.where(dec == 1, _lower_density(t, -mu, bs, 1 - bias), _lower_density(t, mu, bs, bias))


def _upper_probability(mu, bs, bias):
    """The probability of ending at the upper boundary (Cox & Miller 1965; z = bias · bs the start)."""
    return (1 - np.exp(-2 * mu * bias * bs)) / (1 - np.exp(-2 * mu * bs))


CASES = [(0.8, 1, 1.5, 0.3, 0.5, 1.0), (0.35, 0, 1.0, 0.3, 0.3, -0.5), (2.5, 1, 0.8, 0.2, 0.6, 2.0),
         (0.31, 1, 2.0, 0.3, 0.5, 0.5), (0.6, 0, 1.2, 0.25, 0.7, 1.5), (4.0, 0, 2.5, 0.1, 0.2, -0.3),
         (9.0, 1, 0.5, 0.2, 0.4, 0.1), (0.3001, 0, 1.0, 0.3, 0.05, 3.0)]


def test_density_is_navarro_fuss_series_to_many_terms() -> None:
    """Both boundaries, small and large normalised times (up to 35), in the model's graph and on NumPy
    arrays (what log_lik and the draws use)."""
    y, dec, bs, ndt, bias, mu = (np.array(column, dtype=float) for column in zip(*CASES))
    with pytensor.config.change_flags(cxx=""):  # evaluated in Python: no C compilation
        graph = wiener_logp(y, dec, bs, ndt, bias, mu).eval()
    expect = np.log(_density(y - ndt, dec, bs, bias, mu))
    np.testing.assert_allclose(graph, expect, atol=1e-6)
    np.testing.assert_allclose(wiener_log_density(y, dec, bs, ndt, bias, mu), expect, atol=1e-6)
    assert wiener_logp(0.2, 1.0, 1.0, 0.3, 0.5, 0.0).eval() == -np.inf  # before the non-decision time
    assert wiener_log_density(0.2, 1.0, 1.0, 0.3, 0.5, 0.0) == -np.inf


def test_density_integrates_to_each_boundarys_probability() -> None:
    """∫ f(t | upper) dt = (1 - exp(-2 mu z)) / (1 - exp(-2 mu bs)), z = bias · bs, and the rest lower."""
    bs, bias, mu = np.array([1.5, 1.0, 2.0]), np.array([0.5, 0.3, 0.7]), np.array([1.0, -0.5, 0.2])
    t = np.concatenate([np.geomspace(1e-4, 0.05, 400), np.linspace(0.05, 40.0, 8000)[1:]])[:, None]
    dec = np.repeat([0.0, 1.0], 3)
    dens = np.exp(wiener_log_density(t + 0.2, dec, np.tile(bs, 2), 0.2, np.tile(bias, 2), np.tile(mu, 2)))
    mass = integrate.trapezoid(dens, t[:, 0], axis=0)
    np.testing.assert_allclose(mass[3:], np.expm1(-2 * mu * bias * bs) / np.expm1(-2 * mu * bs), atol=2e-4)
    np.testing.assert_allclose(mass[:3] + mass[3:], 1.0, atol=2e-4)


def _simulate(v: np.ndarray, a: float, w: float, ndt: float, rng: np.random.Generator, dt: float = 1e-4):
    """Response times and decisions of a diffusion started at w · a, Euler steps of dt."""
    pos, t = np.full(v.size, w * a), np.zeros(v.size)
    dec, done = np.zeros(v.size), np.zeros(v.size, dtype=bool)
    while not done.all():
        idx = ~done
        pos[idx] += v[idx] * dt + np.sqrt(dt) * rng.standard_normal(idx.sum())
        t[idx] += dt
        up, low = idx & (pos >= a), idx & (pos <= 0)
        dec[up] = 1
        done |= up | low
    return t + ndt, dec


@pytest.fixture(scope="module")
def decisions() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    rt, dec = _simulate(0.8 + 0.5 * x, 1.2, 0.5, 0.3, rng)
    return pd.DataFrame({"rt": rt, "dec": dec, "x": x, "resp": np.where(dec == 1, "upper", "lower")})


@pytest.fixture(scope="module")
def wiener_fit(decisions):
    return brmc.brm("rt | dec(dec) ~ x", decisions, family="wiener", chains=2, iter=400, seed=2)


def test_wiener_recovers_the_simulated_diffusion(wiener_fit) -> None:
    post = wiener_fit.idata.posterior
    for name, truth in [("b_Intercept", 0.8), ("b_x", 0.5), ("bs", 1.2), ("ndt", 0.3), ("bias", 0.5)]:
        draws = post[name].values
        assert abs(draws.mean() - truth) < 3.5 * draws.std() + 0.01, (name, draws.mean(), draws.std())
    assert "Links: mu = identity; bs = identity; ndt = identity; bias = identity" in str(wiener_fit.summary())


def _draws(fit, rows) -> dict[str, np.ndarray]:
    """(draws, rows) drift rates and (draws, 1) bs, ndt, bias from the posterior's brms-named draws."""
    post = fit.idata.posterior
    flat = {n: post[n].values.reshape(-1)[:, None] for n in ("b_Intercept", "b_x", "bs", "ndt", "bias")}
    return {"mu": flat["b_Intercept"] + flat["b_x"] * np.asarray(rows, dtype=float),
            **{n: flat[n] for n in ("bs", "ndt", "bias")}}


def test_wiener_log_lik_and_loo_are_the_series(wiener_fit, decisions, monkeypatch) -> None:
    """Every draw and row against the series written above, with no PyTensor graph compiled (the
    NumPy series: 400 draws x 200 rows took 8 s through the graph); loo of those values."""
    def no_graph(*args, **kwargs):
        raise AssertionError("log_lik compiled a PyTensor function")

    monkeypatch.setattr(pytensor.compile.function, "function", no_graph)
    ll = brmc.sampling.log_likelihood(wiener_fit.idata.posterior, wiener_fit.model_data)["Y"].values
    monkeypatch.undo()
    d = _draws(wiener_fit, decisions["x"])
    expect = np.log(_density(decisions["rt"].to_numpy() - d["ndt"], decisions["dec"].to_numpy(), d["bs"],
                             d["bias"], d["mu"]))
    np.testing.assert_allclose(ll.reshape(expect.shape), expect, atol=1e-6)
    assert wiener_fit.loo().elpd == pytest.approx(brmc.loo(expect.reshape(ll.shape)).elpd, rel=1e-10)


def test_wiener_epred_and_conditional_effects_are_brms_formula(wiener_fit, decisions) -> None:
    """brms 2.18's posterior_epred_wiener, ndt - bias / mu + bs / mu (e^(-2 mu bias) - 1) / (e^(-2 mu bs) - 1),
    as written there (with ``bias`` where the mean decision time has the start bias · bs: see
    docs/differences.md); conditional_effects' curve is its mean over the draws."""
    brms = lambda d: d["ndt"] - d["bias"] / d["mu"] + d["bs"] / d["mu"] * np.expm1(-2 * d["mu"] * d["bias"]) / np.expm1(
        -2 * d["mu"] * d["bs"])
    np.testing.assert_allclose(wiener_fit.posterior_epred(), brms(_draws(wiener_fit, decisions["x"])), rtol=1e-10)
    curve = wiener_fit.conditional_effects("x", resolution=5)["x"]
    np.testing.assert_allclose(curve["estimate__"], np.median(brms(_draws(wiener_fit, curve["x"])), axis=0),
                               rtol=1e-10)


def test_wiener_posterior_predict_negative_rt_and_pp_check(wiener_fit) -> None:
    """brms's negative_rt: lower-boundary times negated, their share each draw's lower probability
    (within 4 binomial sds over 400 draws x 3 rows); new data need no dec(); pp_check draws."""
    newdata = pd.DataFrame({"x": [-1.0, 0.0, 1.0]})
    rt = wiener_fit.posterior_predict(newdata, seed=3, negative_rt=True)
    d = _draws(wiener_fit, newdata["x"])
    assert (np.abs(rt) > d["ndt"]).all()
    p = _upper_probability(d["mu"], d["bs"], d["bias"]).mean(axis=0)
    n = rt.shape[0]
    np.testing.assert_allclose((rt > 0).mean(axis=0), p, atol=4 * np.sqrt(p * (1 - p) / n).max())
    assert (wiener_fit.posterior_predict(newdata, seed=3) > 0).all()
    assert wiener_fit.pp_check(ndraws=5, seed=1) is not None
    with pytest.raises(brmc.errors.DataError, match="negative_rt applies to family 'wiener' only"):
        brmc.predict.posterior_predict(dataclasses.replace(wiener_fit, model_data=dataclasses.replace(
            wiener_fit.model_data, family=brmc.get_family("gaussian"))), ndraws=1, negative_rt=True)


@pytest.mark.parametrize("mu, bs, ndt, bias", [(-0.7, 1.6, 0.25, 0.4), (4.0, 2.0, 0.3, 0.1), (0.5, 0.8, 0.2, 0.85)])
def test_draws_have_the_choice_probability_and_mean_decision_time(mu, bs, ndt, bias) -> None:
    """5,000 draws with negative_rt: the share at the upper boundary is (1 - e^(-2 mu z)) / (1 - e^(-2 mu bs)),
    z = bias · bs, and the mean time ndt + (bs P(upper) - z) / mu (Wald's identity; Grasman et al. 2009),
    within 4 standard errors; the times within each boundary follow that boundary's series cdf."""
    rt = brmc.get_family("wiener").rng(np.full(5000, mu), {"bs": np.array(bs), "ndt": np.array(ndt),
                                                          "bias": np.array(bias)}, np.random.default_rng(4),
                                       {"dec": np.ones(5000), "negative_rt": True})
    p = _upper_probability(mu, bs, bias)
    assert np.mean(rt > 0) == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / rt.size))
    mean = ndt + (bs * p - bias * bs) / mu
    assert np.abs(rt).mean() == pytest.approx(mean, abs=4 * np.abs(rt).std() / np.sqrt(rt.size))
    grid = ndt + np.concatenate([np.geomspace(1e-6, 0.05, 1000), np.linspace(0.05, 20.0, 8000)[1:]])
    for dec, times in ((1, rt[rt > 0]), (0, -rt[rt < 0])):
        dens = _density(grid - ndt, dec, bs, bias, mu)
        cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
        cdf /= cdf[-1]
        for q in np.quantile(times, [0.1, 0.5, 0.9]):
            f = np.interp(q, grid, cdf)
            assert np.mean(times <= q) == pytest.approx(f, abs=4 * np.sqrt(f * (1 - f) / times.size) + 2e-3)


def test_wiener_priors_and_dec(decisions) -> None:
    table = brmc.get_prior("rt | dec(resp) ~ x", decisions, family="wiener")
    rows = {(r["prior"], r["class"], r["lb"], r["ub"]) for _, r in table.iterrows()}
    assert {("gamma(1, 1)", "bs", "0", ""), ("uniform(0, min_Y)", "ndt", "0", "min_Y"),
            ("beta(1, 1)", "bias", "0", "1")} <= rows
    table = brmc.get_prior(brmc.bf("rt | dec(dec) ~ x", bs="~ x", ndt="~ x", bias="~ x"), decisions, family="wiener")
    intercepts = {r["dpar"]: r["prior"] for _, r in table.iterrows() if r["class"] == "Intercept"}
    location = f"{np.median(decisions['rt']):.1f}"  # brms's def_scale_prior: median(y) rounded, mad(y) < 2.5
    assert intercepts == {"": f"student_t(3, {location}, 2.5)", "bs": "normal(-0.6, 1.3)", "ndt": "",
                          "bias": "logistic(0, 1)"}
    with pytest.raises(DataError, match="needs the boundary"):
        brmc.get_prior("rt ~ x", decisions, family="wiener")
    with pytest.raises(DataError, match="'lower' or 'upper'"):
        brmc.get_prior("rt | dec(resp) ~ x", decisions.assign(resp="up"), family="wiener")
    with pytest.raises(DataError, match="dec\\(\\) cannot be used with family 'gaussian'"):
        brmc.get_prior("rt | dec(dec) ~ x", decisions, family="gaussian")
