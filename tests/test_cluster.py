"""Multi-fit work on a real ``dask.distributed.LocalCluster`` (two worker processes):
a prior sweep and an SBC run give the sequential run's numbers draw for draw, each
worker compiles under its own directory and compiles each model structure once.

The cluster starts without ``BRMC_WORKER_COMPILEDIR``, so the first call also
checks that brmc restarts the workers once with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytensor
import pytest

import brmc
from brmc import cluster
from brmc._startup import COMPILEDIR_ENV

from .conftest import quiet

distributed = pytest.importorskip("distributed")

FORMULA = "Reaction ~ Days + (1 | Subject)"
PRIORS = [brmc.prior("normal(250, 30)", class_="Intercept"), brmc.prior("normal(10, 5)", class_="b"),
          brmc.prior("gamma(4, 0.2)", class_="sd"), brmc.prior("gamma(6, 0.2)", class_="sigma")]
SETS = [[brmc.prior(f"normal(10, {s})", class_="b")] for s in (1, 3, 10)]
SBC = {"n_sims": 4, "seed": 5, "chains": 1, "iter": 300, "progress": False}


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


@pytest.fixture(scope="module")
def fit(sleep: pd.DataFrame) -> brmc.Fit:
    return quiet(brmc.brm, FORMULA, sleep, prior=PRIORS, chains=1, iter=300, seed=2, progress=False)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The parent's BRMC_WORKER_COMPILEDIR, set after the cluster started (its workers lack it)."""
    path = str(tmp_path_factory.mktemp("compiledirs"))
    old = os.environ.get(COMPILEDIR_ENV)
    yield path
    if old is None:
        os.environ.pop(COMPILEDIR_ENV, None)
    else:
        os.environ[COMPILEDIR_ENV] = old


@pytest.fixture(scope="module")
def client(root: str) -> Iterator[distributed.Client]:
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as local, distributed.Client(local) as c:
        os.environ[COMPILEDIR_ENV] = root
        yield c


@pytest.fixture(scope="module")
def sweeps(fit: brmc.Fit, client: distributed.Client) -> tuple:
    parallel = quiet(brmc.prior_sweep, fit, SETS, executor=client, progress=False)
    return quiet(brmc.prior_sweep, fit, SETS, progress=False), parallel


def test_sweep_on_dask_gives_the_sequential_draws(sweeps: tuple) -> None:
    sequential, parallel = sweeps
    assert list(parallel.draws) == ["original", "set1", "set2", "set3"]
    for name in sequential.draws:
        pd.testing.assert_frame_equal(parallel.draws[name], sequential.draws[name])


def test_workers_compile_in_their_own_directories(sweeps: tuple, client: distributed.Client, root: str) -> None:
    env = client.run(os.getenv, COMPILEDIR_ENV)
    assert list(env.values()) == [root, root]  # restarted once with it
    dirs = client.run(lambda: pytensor.config.base_compiledir)
    assert sorted(map(str, dirs.values())) == sorted(
        os.path.join(root, f"worker-{pid}") for pid in client.run(os.getpid).values())
    info = sweeps[1].info
    assert info["pid"].nunique() == 2
    assert info.groupby("pid")["compiled"].sum().max() <= 1  # one structure: compiled once per worker


def test_sbc_on_dask_gives_the_sequential_ranks(sleep: pd.DataFrame, client: distributed.Client) -> None:
    parallel = quiet(brmc.sbc, FORMULA, sleep, prior=PRIORS, executor=client, **SBC)
    sequential = quiet(brmc.sbc, FORMULA, sleep, prior=PRIORS, **SBC)
    pd.testing.assert_frame_equal(parallel.ranks, sequential.ranks)
    for a, b in zip(parallel.draws, sequential.draws):
        pd.testing.assert_frame_equal(a, b)
    assert parallel.fits.groupby("pid")["compiled"].sum().max() <= 1
    assert set(parallel.fits["pid"]) <= set(client.run(os.getpid).values())


def test_any_concurrent_futures_executor_runs_jobs(fit: brmc.Fit) -> None:
    jobs = [cluster.fit_job(fit, seed=s) for s in (1, 2)]
    with ThreadPoolExecutor(1) as pool:
        threaded = quiet(cluster.run_jobs, jobs, pool, progress=False)
    here = quiet(cluster.run_jobs, jobs, progress=False)
    for a, b in zip(threaded, here):
        pd.testing.assert_frame_equal(a["draws"], b["draws"])
    with pytest.raises(TypeError, match="concurrent.futures.Executor or a dask.distributed.Client"):
        cluster.as_executor(object())
