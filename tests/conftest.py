"""Shared test helpers: where brms's reference results live (``tests/reference``)."""

from __future__ import annotations

import io
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jax.monitoring
import numpy as np
import pandas as pd
import pytest
import scipy.stats

import brmc
from brmc.backends import usable_cores

#: brms 2.18's outputs, copied into the repository (see ``tests/reference/README.md``).
REFERENCE = Path(__file__).resolve().parent / "reference"

warnings.filterwarnings("ignore", message=".*BLAS.*")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): one worker per usable core, at most four (each worker's JAX
    fits use every core already; more workers than that only add memory)."""
    return min(4, usable_cores())


def reference_path(*parts: str) -> Path:
    """A file under ``tests/reference``; a missing one fails the test, naming it."""
    path = REFERENCE.joinpath(*parts)
    if not path.is_file():
        pytest.fail(f"reference file missing: {path} (see tests/reference/README.md)")
    return path


def reference_text(*parts: str) -> str:
    """A reference text file (brms's printed output) without its final newline."""
    return reference_path(*parts).read_text().rstrip("\n")


def reference_standata(case: str) -> dict[str, np.ndarray]:
    """brms's ``standata()`` of a reference case (``<case>/standata.json``), each entry an array."""
    with reference_path(case, "standata.json").open() as f:
        return {key: np.asarray(value) for key, value in json.load(f).items()}


def reference_csv(*parts: str) -> pd.DataFrame:
    """A reference CSV, every cell a string, empty cells as ''."""
    return pd.read_csv(reference_path(*parts), keep_default_na=False, dtype=str)

SLEEP = "Reaction ~ Days + (Days | Subject)"
#: the examples' multivariate fit (the docstrings of brmc.mvfit): brms's mv_jsp, draws at the initial values
MV_JSP = "mvbind(english, math) ~ craven + (1 | p | school)"
MV_SETTINGS = {"chains": 2, "iter": 200, "seed": 11, "progress": False, "algorithm": "fixed_param"}
#: round-2 fits of families and term kinds (tests/reference/<name>/model_info.json): name → (formula, data set, family)
FAMILY_FITS = {
    **brmc.datasets.ROUND2_MODELS,
    "mv_jsp": (brmc.bf("mvbind(english, math) ~ craven + (1 | p | school)") + brmc.set_rescor(True), "jspr",
               "gaussian"),
    "crossdpar_sleep": (brmc.bf("Reaction ~ Days + (1 | p | Subject)", "sigma ~ (1 | p | Subject)"), "sleepstudy",
                        "gaussian"),
}


def without_warnings(text: str) -> str:
    """A printed summary without the ``Warning:`` lines brms prints above it (small fits
    draw ESS warnings; tests of the layout look past them)."""
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("Warning: "):
        lines.pop(0)
    return "".join(lines)

#: Every XLA compilation (or load from JAX's disk cache) in this process, by function name.
_XLA_COMPILATIONS: list[str] = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, seconds, **kw: _XLA_COMPILATIONS.append(str(kw.get("fun_name")))
    if event == "/jax/core/compile/backend_compile_duration" else None)


@contextmanager
def xla_compilations() -> Iterator[list[str]]:
    """The names of the functions XLA compiles inside the block (filled in when it ends).

    A fit that reuses a compiled model compiles nothing: a count, where a time
    limit would fail on a loaded machine."""
    start, names = len(_XLA_COMPILATIONS), []
    try:
        yield names
    finally:
        names.extend(_XLA_COMPILATIONS[start:])


@contextmanager
def calls_of(monkeypatch: pytest.MonkeyPatch, function) -> Iterator[list]:
    """The first argument of every call of one of brmc's functions inside the block, wherever a
    brmc module imports it by name (counted, not timed)."""
    calls = []

    def counting(first, *args, **kwargs):
        calls.append(first)
        return function(first, *args, **kwargs)

    with monkeypatch.context() as m:
        for name, module in list(sys.modules.items()):
            if name.startswith("brmc") and getattr(module, function.__name__, None) is function:
                m.setattr(module, function.__name__, counting)
        yield calls


def loglik_at(model, point: dict[str, np.ndarray]) -> float:
    """A model's ``Y_loglik`` at constrained values (``<name>_log__`` value variables from ``point[name]``)."""
    (loglik,) = model.replace_rvs_by_values([model["Y_loglik"]])
    values = {v.name: np.log(point[v.name.removesuffix("_log__")]) if v.name.endswith("_log__")
              else point[v.name] for v in model.value_vars}
    f = model.compile_fn(loglik, inputs=model.value_vars, point_fn=False, on_unused_input="ignore")
    return float(f(**values))


def rescor_logpdf(Y: np.ndarray, means: np.ndarray, sigma: np.ndarray, L: np.ndarray) -> float:
    """SciPy's summed multivariate normal of the rows of ``Y`` (N, R) about ``means`` (N, R), covariance
    ``diag(sigma) L L' diag(sigma)``: brms's ``multi_normal_cholesky`` with ``rescor``."""
    cov = np.outer(sigma, sigma) * (L @ L.T)
    return float(sum(scipy.stats.multivariate_normal(m, cov).logpdf(y) for m, y in zip(means, Y)))


def quiet(function, *args, **kwargs):
    """``function(*args, **kwargs)`` with its warnings silenced (small fits warn about ESS)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="session")
def fit() -> brmc.Fit:
    """A small sleepstudy fit shared by the tests that only read it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), chains=2, iter=400, seed=11, progress=False)


@pytest.fixture(scope="session")
def fit_smooth() -> brmc.Fit:
    """A small fit of ``accel ~ s(times)`` on mcycle (2 chains x 200 draws), shared by the smooth tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm("accel ~ s(times)", brmc.datasets.load("mcycle"), chains=2, iter=400, seed=3, progress=False)


@pytest.fixture
def close_figures():
    """Close every matplotlib figure after a plotting test."""
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal (where brmc shows a progress bar)."""

    def isatty(self) -> bool:
        return True


def saves_png(fig, tmp_path: Path, name: str) -> None:
    """Render ``fig`` to a PNG file and check the file is one."""
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
