"""wiener: the first-passage time density of a Wiener diffusion, ``rt | dec(d) ~ x``.

No brms fits of wiener exist here; the density is checked against Navarro & Fuss's two series written in the
test and summed to 200 (large-time) or 2 x 50 + 1 (small-time) terms, and by integrating it over time to the
probability of each boundary, which has a closed form; the fit recovers the parameters of data simulated with
NumPy (an Euler scheme of the diffusion, steps of 1e-4 s), and the random draws follow the cdf integrated from
the series. The default priors are derived from brms 2.18's ``def_dprior`` (``bs`` gamma(1, 1), ``ndt``
uniform(0, min_Y), ``bias`` beta(1, 1)), there being no brms grid rows for wiener.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytest
from scipy import integrate

import brmc
from brmc.errors import DataError
from brmc.families.wiener import wiener_logp


def _lower_density(t: float, v: float, a: float, w: float) -> float:
    """Navarro & Fuss (2009): the density of hitting the lower boundary at time t (drift v, boundary
    separation a, relative start w), by whichever series converges fast at t, summed far past need."""
    u = t / a**2
    scale = np.exp(-v * a * w - v**2 * t / 2) / a**2
    if u > 0.2:
        k = np.arange(1, 201)
        return scale * np.pi * np.sum(k * np.exp(-k**2 * np.pi**2 * u / 2) * np.sin(k * np.pi * w))
    k = np.arange(-50, 51)
    return scale * np.sum((w + 2 * k) * np.exp(-(w + 2 * k) ** 2 / (2 * u))) / np.sqrt(2 * np.pi * u**3)


def _density(t: float, dec: int, bs: float, bias: float, mu: float) -> float:
    """brms's wiener_diffusion: the upper boundary is the lower one mirrored (drift -mu, start 1 - bias)."""
    return _lower_density(t, -mu, bs, 1 - bias) if dec == 1 else _lower_density(t, mu, bs, bias)


CASES = [(0.8, 1, 1.5, 0.3, 0.5, 1.0), (0.35, 0, 1.0, 0.3, 0.3, -0.5), (2.5, 1, 0.8, 0.2, 0.6, 2.0),
         (0.31, 1, 2.0, 0.3, 0.5, 0.5), (0.6, 0, 1.2, 0.25, 0.7, 1.5), (4.0, 0, 2.5, 0.1, 0.2, -0.3)]


def test_density_is_navarro_fuss_series_to_many_terms() -> None:
    """Both boundaries, small and large normalised times (one graph for all cases)."""
    y, dec, bs, ndt, bias, mu = (np.array(column, dtype=float) for column in zip(*CASES))
    with pytensor.config.change_flags(cxx=""):  # evaluated in Python: no C compilation
        ours = wiener_logp(y, dec, bs, ndt, bias, mu).eval()
    expect = [np.log(_density(c[0] - c[3], c[1], c[2], c[4], c[5])) for c in CASES]
    np.testing.assert_allclose(ours, expect, atol=1e-6)
    assert wiener_logp(0.2, 1.0, 1.0, 0.3, 0.5, 0.0).eval() == -np.inf  # before the non-decision time


def test_density_integrates_to_each_boundarys_probability() -> None:
    """∫ f(t | upper) dt = (1 - exp(-2 mu z)) / (1 - exp(-2 mu bs)), z = bias · bs, and the rest lower."""
    bs, bias, mu = np.array([1.5, 1.0, 2.0]), np.array([0.5, 0.3, 0.7]), np.array([1.0, -0.5, 0.2])
    t = np.concatenate([np.geomspace(1e-4, 0.05, 400), np.linspace(0.05, 40.0, 8000)[1:]])[:, None]
    dec = np.repeat([0.0, 1.0], 3)
    with pytensor.config.change_flags(cxx=""):
        dens = np.exp(wiener_logp(t + 0.2, dec, np.tile(bs, 2), 0.2, np.tile(bias, 2), np.tile(mu, 2)).eval())
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


def test_wiener_log_lik_and_epred(wiener_fit, decisions) -> None:
    post = wiener_fit.idata.posterior
    flat = {n: post[n].values.reshape(-1)[:4] for n in ("b_Intercept", "b_x", "bs", "ndt", "bias")}
    md = wiener_fit.model_data  # four draws through the family record (the whole log_lik takes ~10 s)
    eta = flat["b_Intercept"][:, None] + flat["b_x"][:, None] * decisions["x"].to_numpy()
    ll = md.family.log_lik(md.y, eta, {n: flat[n][:, None] for n in ("bs", "ndt", "bias")}, md.additions)
    for i in (0, 17, len(decisions) - 1):
        row = decisions.iloc[i]
        for s in range(4):
            mu = flat["b_Intercept"][s] + flat["b_x"][s] * row["x"]
            expect = np.log(_density(row["rt"] - flat["ndt"][s], int(row["dec"]), flat["bs"][s], flat["bias"][s], mu))
            assert ll[s, i] == pytest.approx(expect, abs=1e-6)
    epred = wiener_fit.posterior_epred()[:4]
    mu = flat["b_Intercept"][:, None] + flat["b_x"][:, None] * decisions["x"].to_numpy()
    bs, ndt, bias = (flat[n][:, None] for n in ("bs", "ndt", "bias"))
    brms = ndt - bias / mu + bs / mu * (np.exp(-2 * mu * bias) - 1) / (np.exp(-2 * mu * bs) - 1)
    np.testing.assert_allclose(epred, brms, rtol=1e-10)
    draws = wiener_fit.posterior_predict(ndraws=5, seed=1)
    assert draws.shape == (5, len(decisions)) and (draws > 0).all()


def test_draws_follow_the_density() -> None:
    """Response times drawn for fixed parameters against the cdf of both boundaries' series densities
    (integrated in the test): within 4 binomial standard errors at five times."""
    rt = brmc.get_family("wiener").rng(np.full(4000, -0.7), {"bs": np.array(1.6), "ndt": np.array(0.25),
                                                               "bias": np.array(0.4)}, np.random.default_rng(8),
                                       {"dec": np.ones(4000)})
    grid = np.linspace(1e-4, 12.0, 12000)
    dens = [_density(t, 1, 1.6, 0.4, -0.7) + _density(t, 0, 1.6, 0.4, -0.7) for t in grid]
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    for q in (0.5, 0.75, 1.0, 1.5, 2.5):
        p = np.interp(q - 0.25, grid, cdf)
        assert np.mean(rt <= q) == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / rt.size)), q


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
