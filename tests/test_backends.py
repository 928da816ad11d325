"""Every backend returns the same InferenceData layout and brms names, and agrees with nutpie.

The JAX backends are skipped only when their packages cannot be imported
(``pip install "brmc[blackjax]"`` for BlackJAX).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest

import brmc
from brmc import backends, sampling
from brmc.errors import SamplingError

from .conftest import SLEEP, Terminal, xla_compilations

SETTINGS = dict(chains=2, iter=600, seed=7, progress=False)
SCALARS = ["b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days", "cor_Subject__Intercept__Days",
           "sigma"]
_NEEDS = {"pymc": ["pymc"], "numpyro": ["jax", "numpyro"], "blackjax": ["jax", "blackjax"]}


def _fit(backend: str, data=None, **settings) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(SLEEP, brmc.datasets.load("sleepstudy") if data is None else data, backend=backend,
                        **{**SETTINGS, **settings})


def _need(backend: str) -> None:
    for package in _NEEDS[backend]:
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"backend {backend!r} needs {package!r}, which cannot be imported "
                        '(pip install "brmc[blackjax]")')


@pytest.fixture(scope="module")
def nutpie_fit() -> brmc.Fit:
    return _fit("nutpie")


@pytest.fixture(scope="module", params=["pymc", "numpyro", "blackjax"])
def other_fit(request) -> brmc.Fit:
    _need(request.param)
    # PyMC's chains in this process: two spawned workers each compile the model again (100 s of CI)
    return _fit(request.param, **({"cores": 1} if request.param == "pymc" else {}))


def test_same_layout_and_names_as_nutpie(other_fit: brmc.Fit, nutpie_fit: brmc.Fit) -> None:
    ours, ref = other_fit.idata.posterior, nutpie_fit.idata.posterior
    assert list(ours.data_vars) == list(ref.data_vars)
    assert dict(ours.sizes) == dict(ref.sizes) == {"chain": 2, "draw": 300, "Subject__level": 18, "Subject__coef": 2}
    assert list(ours["r_Subject"].coords["Subject__level"].values) == list(ref["r_Subject"].coords["Subject__level"].values)
    # NumPyro's fits add the warm-up's statistics (warmup_sample_stats: leapfrog steps, divergences)
    assert set(other_fit.idata.groups()) - {"warmup_sample_stats"} == set(nutpie_fit.idata.groups())
    assert other_fit.log_likelihood().shape == (2, 300, 180)
    stats = other_fit.idata.sample_stats
    assert {"diverging", "energy", "reached_max_treedepth"} <= set(stats.data_vars)
    assert stats["diverging"].shape == (2, 300)
    assert list(other_fit.draws().columns) == list(nutpie_fit.draws().columns)


def test_means_agree_with_nutpie_within_monte_carlo_error(other_fit: brmc.Fit, nutpie_fit: brmc.Fit) -> None:
    for name in SCALARS:
        a, b = other_fit.idata.posterior[name], nutpie_fit.idata.posterior[name]
        se = np.hypot(float(az.mcse(a.to_dataset())[name]), float(az.mcse(b.to_dataset())[name]))
        assert abs(float(a.mean()) - float(b.mean())) < 4 * se, name
    r, r_ref = other_fit.idata.posterior["r_Subject"], nutpie_fit.idata.posterior["r_Subject"]
    gap = np.abs(r.mean(("chain", "draw")).values - r_ref.mean(("chain", "draw")).values)
    assert np.all(gap < 0.5 * r_ref.std(("chain", "draw")).values)


def test_summary_names_the_sampler(other_fit: brmc.Fit) -> None:
    assert f"Draws were sampled using {other_fit.settings.backend}(NUTS)" in str(other_fit)


@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_jax_refit_with_new_data_reuses_the_compiled_sampler(backend: str) -> None:
    _need(backend)
    first = _fit(backend)
    model = sampling._COMPILED[("jax", _structure(first))]
    compiled = dict(model._samplers)
    shifted = brmc.datasets.load("sleepstudy")
    shifted["Reaction"] = shifted["Reaction"] + 100.0
    second = _fit(backend, data=shifted)
    assert sampling._COMPILED[("jax", _structure(second))] is model
    assert model._samplers.keys() == compiled.keys()
    assert all(model._samplers[k] is compiled[k] for k in compiled)
    # the data are arguments of the compiled sampler, not constants baked into it
    shift = second.idata.posterior["b_Intercept"].mean() - first.idata.posterior["b_Intercept"].mean()
    assert abs(float(shift) - 100.0) < 5.0
    # the same seed gives the same draws
    again = _fit(backend, data=shifted)
    np.testing.assert_array_equal(again.idata.posterior["b_Days"].values, second.idata.posterior["b_Days"].values)


def _structure(fit: brmc.Fit) -> str:
    return brmc.model.structure_key(fit.model_data, fit.priors)


@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_jax_control_and_cores_are_honoured(backend: str) -> None:
    _need(backend)
    import jax

    careful = _fit(backend, iter=400, control={"adapt_delta": 0.99})
    assert float(careful.idata.sample_stats["acceptance_rate"].mean()) > 0.98
    shallow = _fit(backend, iter=400, cores=1, control={"max_treedepth": 2})
    stats = shallow.idata.sample_stats
    assert int(stats["tree_depth"].max()) == 2 and bool(stats["reached_max_treedepth"].any())
    model = sampling._COMPILED[("jax", _structure(shallow))]
    shapes = {k[2:8]: s.shape for k, s in model._samplers.items() if k[0] == backend}
    assert shapes[(2, 200, 200, 0.8, 2, False)] == (1, 2)  # cores=1: both chains on one device
    devices = min(2, os.cpu_count() or 1, jax.local_device_count())  # default cores = min(chains, CPUs)
    assert shapes[(2, 200, 200, 0.99, 10, False)] == (devices, 2 // devices)


@pytest.mark.parametrize("formula, family, data", [
    (SLEEP, "gaussian", None),
    ("y ~ x + (1 | g)", "cumulative", pd.DataFrame({"y": [1, 2, 3, 2, 1, 3], "x": range(6), "g": list("aabbcc")})),
    ("y ~ x", "beta", pd.DataFrame({"y": [0.2, 0.5, 0.7, 0.4], "x": range(4)})),
])
def test_jax_initial_point_is_pymcs(formula: str, family: str, data: pd.DataFrame | None) -> None:
    """The JAX model's un-jittered initial point (the last start tried), in the log density's layout,
    is PyMC's own: ordered thresholds, bounded and log-transformed parameters included; the random
    starts are Stan's, uniform(-2, 2) on the unconstrained scale."""
    _need("numpyro")
    from brmc.backends import JaxModel

    built = brmc.make_model(formula, brmc.datasets.load("sleepstudy") if data is None else data, family=family)
    model = JaxModel(built.model)
    pymc_point = built.model.initial_point()
    expected = np.concatenate([np.ravel(pymc_point[v.name]) for v in built.model.value_vars])
    np.testing.assert_allclose(model._support(*model.data(built)), expected)
    starts = model.initial_points(3, np.random.SeedSequence(1), model.data(built))
    assert starts.shape == (3, expected.size) and 1 < np.abs(starts).max() <= 2


def _jax_model(formula: str, data, **kwargs):
    from brmc.backends import JaxModel

    built = brmc.make_model(formula, data, **kwargs)
    return built, JaxModel(built.model)


def test_jax_starts_compile_two_programs() -> None:
    """A cold fit's starts (100 random tries per chain, then the climb) compile two XLA programs:
    PyMC's initial point and the log density with its gradient, whose value also ranks the tries
    (a third, the density alone, took 0.2 s; splitting the flat vector with JAX's operations one
    by one compiled a program per operation)."""
    _need("numpyro")
    built, model = _jax_model("y ~ x", pd.DataFrame({"y": [0.5, 1.2, 2.9, 4.1], "x": [1.0, 2.0, 3.0, 4.0]}))
    with xla_compilations() as compiled:
        starts, metrics = model.starts(2, np.random.SeedSequence(3), model.data(built))
    assert len(compiled) == 2, compiled  # the initial metric's gradient reuses the density's program
    assert starts.shape == metrics.shape == (2, 3)


def test_jax_init_forms_as_brms() -> None:
    """init=0: every parameter 0 on the unconstrained scale; a number r: uniform(-r, r); a dict: those
    parameters on their own scale (sd_1 = 2 is log 2; a Cholesky factor through atanh), the others
    random; a function: called with the chain number."""
    _need("numpyro")
    built, model = _jax_model(SLEEP, brmc.datasets.load("sleepstudy"))
    data, seed = model.data(built), np.random.SeedSequence(2)
    names = [v.name for v in built.model.value_vars]
    assert not model.initial_points(2, seed, data, 0).any()
    narrow = model.initial_points(2, seed, data, 0.25)
    assert 0 < np.abs(narrow).max() <= 0.25
    L = np.linalg.cholesky(np.array([[1.0, 0.3], [0.3, 1.0]]))
    given = model.initial_points(2, seed, data, {"Intercept": 250.0, "sd_1": [2.0, 3.0], "L_1": L})
    point = dict(zip(names, model._unravel(given[1])))
    assert float(point["Intercept"]) == 250.0
    np.testing.assert_allclose(point["sd_1_log__"], np.log([2.0, 3.0]))
    assert sampling.cholesky_from_raw(np.asarray(point["L_1_raw"]), 2)[1, 0] == pytest.approx(0.3)
    assert 0 < np.abs(point["b"]).max() <= 2  # not given: random
    per_chain = model.initial_points(2, seed, data, lambda chain: {"Intercept": 100.0 * chain})
    assert [float(dict(zip(names, model._unravel(row)))["Intercept"]) for row in per_chain] == [100.0, 200.0]
    listed = model.initial_points(2, seed, data, [{"Intercept": 1.0}, {"Intercept": 2.0}])  # brms's list of lists
    assert [float(dict(zip(names, model._unravel(row)))["Intercept"]) for row in listed] == [1.0, 2.0]
    with pytest.raises(SamplingError, match="init lists initial values for 1 chain"):
        model.initial_points(2, seed, data, [{"Intercept": 1.0}])


@pytest.mark.parametrize("init, message", [
    (-1, 'init must be "random", a number >= 0'),
    ("zero", 'init must be "random", a number >= 0'),
    ({"Intercep": 1.0}, "init names a parameter 'Intercep' that the model does not have. Did you mean 'Intercept'?"),
    ({"b": [1.0, 2.0]}, "The initial value of 'b' has shape (2,); the parameter has shape (1,)."),
])
def test_bad_init_is_a_sampling_error(init, message: str) -> None:
    with pytest.raises(SamplingError) as err:
        brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=1, iter=20, progress=False, init=init)
    assert message in str(err.value)


def test_no_finite_start_names_the_observations_and_the_remedies() -> None:
    """A Gamma model with the identity link started at a negative mean: every try has -inf, and the
    error says which observations, after how many tries, and what to try."""
    _need("numpyro")
    d = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "x": [0.0, 1.0, 2.0, 3.0]})
    with pytest.raises(SamplingError) as err:
        brmc.brm("y ~ x", d, family=brmc.get_family("Gamma", link="identity"), chains=1, iter=20, progress=False,
                 init={"Intercept": -5.0, "b": [0.0]})
    text = str(err.value)
    assert "No finite initial values were found for chain 1 in 100 tries" in text
    assert "the likelihood of observation(s) 1, 2, 3, 4 (of 4) is -inf" in text
    assert "init=0" in text and "backend='nutpie'" in text


def test_nutpie_failure_to_start_is_a_sampling_error_naming_the_terms() -> None:
    """nutpie's Rust 'All initialization points failed' becomes a SamplingError that names what is not
    finite: here a Gamma model with the inverse link whose every random start has some eta < 0."""
    x = np.linspace(-3e7, 3e7, 40)  # a start needs |b| < Intercept / 3e7: none in 100 tries of each of nutpie's retries
    d = pd.DataFrame({"y": np.linspace(1.0, 5.0, 40), "x": x})
    with pytest.raises(SamplingError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brmc.brm("y ~ x", d, family=brmc.get_family("Gamma", link="inverse"), chains=1, iter=20, progress=False,
                 backend="nutpie", seed=1)
    text = str(err.value)
    assert text.startswith("backend='nutpie' could not start sampling (")
    assert "the likelihood of observation(s)" in text and "init=0" in text


@pytest.mark.parametrize("backend, hint", [("numpyro", "pip install brmc"), ("blackjax", 'pip install "brmc[blackjax]"')])
def test_missing_jax_package_names_it_and_the_install(monkeypatch: pytest.MonkeyPatch, backend: str, hint: str) -> None:
    monkeypatch.setitem(sys.modules, backend, None)
    with pytest.raises(SamplingError, match=rf"'{backend}'.*{re.escape(hint)}"):
        brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), backend=backend, progress=False)


def test_unknown_backend_lists_all_four() -> None:
    with pytest.raises(SamplingError, match="nutpie, pymc, numpyro, blackjax"):
        brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), backend="stan")


@pytest.mark.parametrize("backend", ["numpyro", "blackjax"])
def test_jax_progress_bar_counts_every_iteration(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _need(backend)
    terminal = Terminal()  # brmc shows a bar only in a terminal or a notebook
    monkeypatch.setattr(sys, "stderr", terminal)
    _fit(backend, iter=400, progress=True)
    bar = terminal.getvalue()
    assert "Sampling 2 chains" in bar and "800/800" in bar


def test_jax_sampler_without_progress_bar_is_kept_on_disk(tmp_path) -> None:
    """No host callbacks without a bar, so XLA's persistent cache stores the sampler."""
    _need("numpyro")
    code = ("import brmc; brmc.brm('Reaction ~ Days + (1 | Subject)', brmc.datasets.load('sleepstudy'), "
            "chains=2, iter=300, seed=1, progress=False)")
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=600)
    assert any(p.stat().st_size > 10_000 for p in (tmp_path / "jax").iterdir())


_STARTUP = """
import json, numba, numpy as np
eager = numba.vectorize
import brmc, arviz as az
from arviz.stats import ecdf_utils
points = np.linspace(0.01, 0.99, 25)
compiled_at_import = len(ecdf_utils._binom_pmf.types)
with_numba = ecdf_utils.ecdf_confidence_band(200, points, points)
az.Numba.disable_numba()
with_numpy = ecdf_utils.ecdf_confidence_band(200, points, points)
print(json.dumps({"restored": numba.vectorize is eager, "compiled_at_import": compiled_at_import,
                  "same": bool(np.allclose(with_numba, with_numpy))}))
"""


def test_arviz_ufunc_compiles_on_first_use_not_at_import() -> None:
    """``import brmc`` skips Numba's eager compile in ArviZ's ECDF module (~0.5 s) and puts
    ``numba.vectorize`` back; ArviZ's ECDF bands are unchanged."""
    pytest.importorskip("numba")
    out = subprocess.run([sys.executable, "-c", _STARTUP], check=True, capture_output=True, text=True, timeout=300)
    assert json.loads(out.stdout.splitlines()[-1]) == {"restored": True, "compiled_at_import": 0, "same": True}


def test_import_is_quiet_on_a_fresh_machine(tmp_path) -> None:
    """ArviZ 0.23 warns about its refactor on import (once a day, stamped in the user's cache):
    ``import brmc`` with an empty cache prints nothing, while ``import arviz`` alone warns."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "brmc")}
    out = subprocess.run([sys.executable, "-c", "import brmc"], env=env, check=True,
                         capture_output=True, text=True, timeout=300)
    assert out.stderr == ""
    env["XDG_CACHE_HOME"] = str(tmp_path / "arviz")
    out = subprocess.run([sys.executable, "-c", "import arviz"], env=env, check=True, capture_output=True, text=True,
                         timeout=300)
    assert "FutureWarning" in out.stderr and "refactor" in out.stderr


_DEVICES = ("import brmc.backends as b, pymc.sampling.jax, jax; b._configure_jax(); "
            "print(jax.local_device_count(), b.usable_cores())")


@pytest.mark.parametrize("xla_flags, expected", [("", None), ("--xla_force_host_platform_device_count=3", 3)])
def test_jax_gets_one_device_per_core_unless_the_user_chose(xla_flags: str, expected: int | None) -> None:
    """XLA sizes its thread pools by the device count: PyMC's 100 devices oversubscribe small
    machines, and without one spare thread memory grows while sampling."""
    _need("numpyro")
    env = {**os.environ, "XLA_FLAGS": xla_flags}
    out = subprocess.run([sys.executable, "-c", _DEVICES.replace("pymc.sampling.jax, ", "")
                          if expected else _DEVICES], env=env, check=True, capture_output=True, text=True,
                         timeout=300)
    devices, cores = map(int, out.stdout.split())
    assert devices == (expected or cores + 1)


_COMPILE_TIME = f"""
import json, warnings, jax.monitoring, brmc
xla = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, seconds, **kw: xla.append(seconds) if event == "/jax/core/compile/backend_compile_duration" else None)
warnings.simplefilter("ignore")
fit = lambda seed: brmc.brm("{SLEEP}", brmc.datasets.load("sleepstudy"), backend="numpyro", chains=2, iter=300,
                            seed=seed, progress=False)
first = fit(5)
n_first = len(xla)
fit(6)
print(json.dumps({{"xla": xla[:n_first], "again": xla[n_first:], "compile": first.timing["compile"]}}))
"""


def test_jax_compile_time_is_reported_apart_from_sampling(tmp_path) -> None:
    """XLA compiles in the background while initial points are found; ``compile`` still counts it,
    measured against JAX's own record of how long XLA took. A fresh process and compile cache, so
    XLA really compiles (JAX reads its disk cache setting once per process)."""
    _need("numpyro")
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path}"}
    out = subprocess.run([sys.executable, "-c", _COMPILE_TIME], env=env, check=True, capture_output=True, text=True,
                         timeout=600)
    timing = json.loads(out.stdout.splitlines()[-1])
    assert timing["xla"]  # XLA compiled the model's functions and its sampler
    assert timing["compile"] >= max(timing["xla"])  # compile includes the background XLA compilation
    assert timing["again"] == []  # the compiled sampler is reused in-process: XLA compiles nothing


def _memory_mappings() -> int:
    with open("/proc/self/maps") as maps:
        return sum(1 for _ in maps)


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="counts Linux's memory mappings")
def test_a_process_keeps_a_bounded_number_of_compiled_models(monkeypatch) -> None:
    """Every compiled XLA program holds hundreds of memory mappings; a process that kept every
    structure it compiled reached Linux's 65,530 and crashed inside XLA. With room for two, five
    structures leave two compiled models and about as many mappings as two."""
    monkeypatch.setattr(sampling, "_COMPILED", sampling.CompiledModels(capacity=2))
    rng = np.random.default_rng(3)
    d = pd.DataFrame(rng.normal(size=(40, 5)), columns=["y", "x1", "x2", "x3", "x4"])
    counts = []
    for k in range(1, 6):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            brmc.brm("y ~ " + " + ".join(f"x{j}" for j in range(1, k)) if k > 1 else "y ~ 1", d,
                     chains=1, iter=100, seed=1, progress=False)
        counts.append(_memory_mappings())
    assert len(sampling._COMPILED) <= 2 and sampling._COMPILED.made == 5
    per_model = (counts[1] - counts[0])
    assert per_model > 50  # each structure maps memory: the check below can fail
    assert counts[-1] < counts[1] + 1.5 * per_model, counts


def _collinear() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    x1 = rng.normal(size=200)
    d = pd.DataFrame({"x1": x1, "x2": x1 + 0.05 * rng.normal(size=200)})
    d["y"] = 1 + d["x1"] - d["x2"] + rng.normal(size=200)
    return d


@pytest.mark.parametrize("backend", ["numpyro", "blackjax", "pymc"])
def test_dense_metric_follows_correlated_posteriors_in_fewer_steps(backend: str) -> None:
    """Stan's control metric: with two predictors correlated 0.999, b's posterior correlation is
    about -0.999; a diagonal metric needs long trajectories there, a dense one (adapted in
    warm-up) a few steps."""
    _need(backend)
    steps = {}
    for metric in ("diag_e", "dense_e"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = brmc.brm("y ~ x1 + x2", _collinear(), backend=backend, chains=1, iter=1000, seed=2,
                           progress=False, control={"metric": metric})
        stats = fit.idata.sample_stats
        steps[metric] = float(stats["n_steps"].mean()) if "n_steps" in stats else float(2 ** stats["tree_depth"].mean())
    assert steps["dense_e"] < 0.5 * steps["diag_e"], steps


def test_metric_choices_are_checked() -> None:
    d = _collinear()
    with pytest.raises(SamplingError, match="not one of Stan's metrics 'diag_e', 'dense_e', 'unit_e'"):
        brmc.brm("y ~ x1", d, control={"metric": "dense"})
    with pytest.raises(SamplingError, match="nutpie' adapts a diagonal metric only"):
        brmc.brm("y ~ x1", d, backend="nutpie", control={"metric": "dense_e"})
    with pytest.raises(SamplingError, match="always adapts its metric"):
        brmc.brm("y ~ x1", d, backend="blackjax", control={"metric": "unit_e"})


def test_chains_in_lockstep_on_an_accelerator_sample_the_posterior(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a GPU the chains of a device run side by side (``jax.vmap``); forced here on the CPU,
    two chains on one device recover the least-squares fit (flat priors on ``b``)."""
    asked = []
    monkeypatch.setattr(backends, "chains_in_lockstep", lambda: asked.append(True) or True)
    rng = np.random.default_rng(3)
    d = pd.DataFrame({"x": rng.normal(size=60)})
    d["y"] = 1 + 0.5 * d["x"] + rng.normal(size=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("y ~ x", d, backend="numpyro", chains=2, cores=1, iter=1000, seed=5, progress=False)
    assert asked
    X = np.column_stack([np.ones(60), d["x"]])
    beta, rss = np.linalg.lstsq(X, d["y"], rcond=None)[:2]
    se = np.sqrt(np.diag(np.linalg.inv(X.T @ X)) * rss[0] / (60 - 2))
    post = fit.idata.posterior["b_x"]
    assert abs(float(post.mean()) - beta[1]) < 0.2 * se[1], (float(post.mean()), beta[1])
    assert 0.8 < float(post.std()) / se[1] < 1.25
    assert not np.allclose(post[0], post[1])  # two chains, not one twice
