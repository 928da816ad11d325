"""NumPyro's warm-up (docs/performance.md, "Warm-up"): the initial inverse metric from the gradient
at each chain's start and the shallower warm-up trees, and ``control`` switches back to Stan's.

Counts, never seconds: what is handed to NumPyro's ``init_kernel`` and the leapfrog steps recorded
in ``warmup_sample_stats``."""

from __future__ import annotations

import warnings

import jax
import numpy as np
import pandas as pd
import pytest
from numpyro.infer import hmc as numpyro_hmc

import brmc
from brmc import backends, inits
from brmc.errors import SamplingError
from brmc.sampling import SamplerSettings


def _data() -> pd.DataFrame:
    """A small nested design: 8 groups of 6 rows, group sd 2 and residual sd 0.3 (precise ``sigma``)."""
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(8), 6)
    return pd.DataFrame({"g": g, "y": 10 + rng.normal(0, 2, 8)[g] + rng.normal(0, 0.3, g.size)})


FORMULA = "y ~ 1 + (1 | g)"


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Wrap NumPyro's ``hmc`` so each traced ``init_kernel`` call reports its initial inverse mass
    matrix (from inside the program) and its tree depths."""
    calls: list[dict] = []
    real = numpyro_hmc.hmc

    def hmc(*args, **kwargs):
        init_kernel, sample_kernel = real(*args, **kwargs)

        def recorded(init, warmup, **kw):
            call = {"depth": kw["max_tree_depth"], "metric": []}
            calls.append(call)
            if kw["inverse_mass_matrix"] is not None:
                jax.debug.callback(lambda m: call["metric"].append(np.asarray(m)), kw["inverse_mass_matrix"])
            return init_kernel(init, warmup, **kw)

        return recorded, sample_kernel

    monkeypatch.setattr(numpyro_hmc, "hmc", hmc)
    return calls


def _fit(**settings) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(FORMULA, _data(), progress=False, seed=4, **{"chains": 1, **settings})


def test_initial_metric_is_one_over_root_gradient_at_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The matrix handed to NUTS is 1/sqrt(|grad|) of the log density at the chain's random start
    (before the climb), the gradient taken here with jax.grad; the default (Stan's, ``"unit"``) hands ones."""
    calls = _recording(monkeypatch)
    _fit(iter=40, warmup=23, control={"init_metric": "gradient"})  # settings of their own: a fresh trace
    built = brmc.make_model(FORMULA, _data())
    jm = backends.JaxModel(built.model)
    data = jm.data(built)
    init_seed, _ = np.random.SeedSequence(4).spawn(2)
    start = jm.initial_points(1, init_seed, data, "random", built.start)[0]
    grad = np.asarray(jax.grad(lambda x: jm.logp(x, data))(start))
    assert np.isfinite(grad).all() and (grad != 0).all()
    handed = calls[-1]["metric"][0].ravel()
    np.testing.assert_allclose(handed, 1 / np.sqrt(np.abs(grad)), rtol=1e-6)
    assert np.abs(np.log10(handed)).max() > 0.5  # not the unit metric
    traced = len(calls)
    _fit(iter=40, warmup=23)  # the same program, other arguments
    assert len(calls) == traced
    np.testing.assert_array_equal(calls[-1]["metric"][-1], np.ones_like(handed))


def test_warmup_trees_are_capped_and_sampling_trees_are_not(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recording(monkeypatch)
    _fit(iter=41, warmup=23)
    assert calls[-1]["depth"] == (10, 10)  # Stan's: the default
    _fit(iter=41, warmup=23, control={"warmup_treedepth": 6})
    assert calls[-1]["depth"] == (6, 10)
    _fit(iter=41, warmup=23, control={"max_treedepth": 4})
    assert calls[-1]["depth"] == (4, 4)


def test_unit_e_keeps_the_unit_metric(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stan's unit_e is not adapted: NumPyro gets no initial matrix (its default, ones)."""
    calls = _recording(monkeypatch)
    _fit(iter=42, warmup=23, control={"metric": "unit_e"})
    assert calls[-1]["metric"] == []


def test_gradient_metric_matches_a_normal_at_one_sd_per_unit_of_gradient() -> None:
    """For independent normals with sds s started 1 unit from the mean, |grad| = 1/s^2, so
    1/sqrt(|grad|) = s: the metric's scales span 10^-3..10 as the sds do."""
    s = np.array([1e-3, 0.1, 1.0, 10.0])
    assert np.allclose(backends.gradient_metric(-(np.ones(4)) / s**2), s)
    assert np.array_equal(backends.gradient_metric(np.array([0.0, np.inf, np.nan])), np.ones(3))


def test_warmup_needs_fewer_leapfrog_steps_than_stans_and_records_them() -> None:
    """Counts from ``warmup_sample_stats``: the gradient warm-up takes fewer leapfrog steps than
    Stan's (unit metric, full-depth trees: the default) on the nested design, with no divergence after it."""
    steps, fits = {}, {}
    for name, control in (("default", {"init_metric": "gradient", "warmup_treedepth": 6}), ("stan", {})):
        fits[name] = fit = _fit(iter=600, warmup=300, chains=2, control=control)
        warm = fit.idata.warmup_sample_stats
        assert warm["n_steps"].shape == (2, 300)
        steps[name] = int(warm["n_steps"].sum())
        assert int(fit.idata.sample_stats["diverging"].sum()) == 0
    assert steps["default"] < 0.8 * steps["stan"], steps
    a, b = (fits[k].idata.posterior["sigma"] for k in ("default", "stan"))
    assert abs(float(a.mean()) - float(b.mean())) < 0.25 * float(b.std())


@pytest.mark.parametrize("control, backend, message", [
    ({"init_metric": "hessian"}, "numpyro", "init_metric='hessian' is not 'gradient' or 'unit'"),
    ({"warmup_treedepth": 0}, "numpyro", "warmup_treedepth must be a positive whole number, got 0"),
    ({"warmup_treedepth": 2.5}, "numpyro", "warmup_treedepth must be a positive whole number"),
    ({"init_metric": "unit"}, "blackjax", "backend='blackjax' has its own"),
])
def test_warmup_controls_are_checked(control: dict, backend: str, message: str) -> None:
    with pytest.raises(SamplingError, match=message):
        SamplerSettings(backend=backend, control=control)


def test_climbed_entries_are_what_the_gradient_at_the_climbed_point_would_miss() -> None:
    """Why the gradient is taken before the climb: after it, the climbed entries sit at their
    conditional mode, where the gradient is about 0 and 1/sqrt(|grad|) would be huge."""
    built = brmc.make_model(FORMULA, _data())
    jm = backends.JaxModel(built.model)
    data = jm.data(built)
    (climbed,), _ = jm.starts(1, np.random.SeedSequence(4).spawn(2)[0], data)
    grad = np.abs(np.asarray(jax.grad(lambda x: jm.logp(x, data))(climbed)))
    free = inits.climbed_entries(built.model)
    assert grad[free].max() < 1e-2 * grad[~free].max()
