"""Many fits of one model, on this process, any ``concurrent.futures`` executor or a Dask cluster.

:func:`prior_sweep <brmc.sensitivity.prior_sweep>` and :func:`sbc <brmc.sbc.sbc>`
describe each fit as a *job*: plain, picklable data (formula, data frame,
family, user priors as the ``brmc.prior`` objects they are, sampler settings).  :func:`run_job` rebuilds the model data in
whichever process runs it, fits, and returns plain data again (the draws of
the reported parameters as a DataFrame, timings, warnings): no PyMC object
crosses a process boundary.  Compiled models are cached per process by their
structure (:mod:`brmc.sampling`), so a worker compiles each model structure
once and refits new data values or prior hyperparameters at once.

Each worker process needs its own PyTensor (and XLA) compile directory.  A
process that imports brmc with the environment variable
``BRMC_WORKER_COMPILEDIR`` set takes ``<that folder>/worker-<pid>`` as
PyTensor's ``base_compiledir`` (XLA's cache lives under it), unless
``PYTENSOR_FLAGS`` already names one.  :func:`as_executor` arranges this for
the workers of a ``dask.distributed.Client`` (restarting them once if they
started without it), and :func:`process_pool` for a process pool.

Example:
    >>> job = fit_job(fit, data=fit.data)
    >>> run_job(job)["draws"].columns.tolist()
    ['b_Intercept', 'b_Days', 'sd_Subject__Intercept', 'sd_Subject__Days', 'cor_Subject__Intercept__Days', 'sigma']
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytensor

from . import criteria, pipeline, sampling
from ._startup import COMPILEDIR_ENV
from .data import build_data
from .families import family_from_dict
from .multivariate import MultivariateFormula
from .mvdata import MvModelData, build_mv_data, resolve_mv_priors
from .mvcriteria import mv_heldout_log_lik
from .priors import Prior, resolve_priors
from .sampling import SamplerSettings
from .progress import FitProgress

if TYPE_CHECKING:
    from .fit import Fit


def reported_variables(fit: Fit) -> list[str]:
    """The parameters multi-fit results report: ``b_``, ``sd_``, ``cor_`` and the
    family's parameters, in the posterior's order.

    Example:
        >>> reported_variables(fit)
        ['b_Intercept', 'b_Days', 'sd_Subject__Intercept', 'sd_Subject__Days', 'cor_Subject__Intercept__Days', 'sigma']
    """
    dpars = {d.name for d in fit.model_data.dpars}
    return [str(n) for n in fit.idata.posterior.data_vars
            if str(n).startswith(("b_", "sd_", "cor_", "rescor__")) or n in dpars]


def reported_draws(fit: Fit) -> pd.DataFrame:
    """The :func:`reported_variables` as one frame, chains one after another."""
    post = fit.idata.posterior
    return pd.DataFrame({n: post[n].values.reshape(-1) for n in reported_variables(fit)})


# ---------------------------------------------------------------- jobs

def fit_job(fit: Fit, data: pd.DataFrame | None = None, priors: Sequence[Prior] | None = None,
            **settings: Any) -> dict[str, Any]:
    """A fit of ``fit``'s model as plain data: its formula, family, ``env``, and the
    ``data`` (default: the fit's rows), user ``priors`` (default: the fit's) and
    sampler settings (the fit's, updated by ``settings``; progress bars off).

    Example:
        >>> job = fit_job(fit, priors=[brmc.prior("normal(0, 1)", class_="b")], seed=3)
        >>> job["settings"]["seed"]
        3
    """
    md = fit.model_data
    family = [r.family.to_dict() for r in md.responses.values()] if isinstance(md, MvModelData) else \
        md.family.to_dict()
    return {"formula": md.formula, "data": md.frame if data is None else data, "family": family,
            "data_name": md.data_name, "env": md.env, "contrasts": md.contrasts,
            "priors": list(fit.priors.user if priors is None else priors),
            "settings": {**fit.settings.to_dict(), **settings, "progress": False}}


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Fit one job of :func:`fit_job` in this process; plain data back.

    A job with ``holdout`` (row positions of its ``data``) is fitted to the other rows and
    also returns ``log_lik``, the held-out rows' log-likelihood (draws, rows), as
    :func:`brmc.criteria.heldout_log_lik` (brms's ``kfold``).

    Returns ``draws`` (the reported parameters, a DataFrame), ``chains``,
    ``seconds`` (wall time), ``compile`` (seconds), ``compiled`` (whether this
    process compiled a model structure for it), ``divergent`` (transitions),
    ``warnings`` ((category, message) pairs), ``pid`` and ``compiledir`` (the
    process's PyTensor ``base_compiledir``).

    Example:
        >>> result = run_job(fit_job(fit))
        >>> result["draws"].shape, result["compiled"]  # the fit's own compiled model is reused
        ((400, 6), False)
    """
    t0 = time.perf_counter()
    holdout = job.get("holdout")
    data = job["data"] if holdout is None else job["data"].drop(index=job["data"].index[holdout])
    multivariate = isinstance(job["formula"], MultivariateFormula)
    build, resolve = (build_mv_data, resolve_mv_priors) if multivariate else (build_data, resolve_priors)
    family = [family_from_dict(d) for d in job["family"]] if multivariate else family_from_dict(job["family"])
    md = build(job["formula"], data, family, data_name=job["data_name"], env=job["env"], contrasts=job["contrasts"])
    spec = resolve(md, job["priors"])
    settings = SamplerSettings(**job["settings"])
    n_compiled = sampling._COMPILED.made
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        fit = pipeline.entry("run_fit")(md, spec, settings, t0)
    extra = {}
    if holdout is not None:
        full = build(job["formula"], job["data"], family, env=job["env"], contrasts=job["contrasts"])
        held_out = mv_heldout_log_lik if multivariate else criteria.heldout_log_lik
        extra["log_lik"] = held_out(fit, full, np.asarray(holdout), seed=settings.seed)
    return {**job_result(fit, caught, time.perf_counter() - t0, sampling._COMPILED.made > n_compiled), **extra}


def job_result(fit: Fit, caught: Sequence[warnings.WarningMessage], seconds: float, compiled: bool) -> dict[str, Any]:
    """A finished fit as a job's plain-data result (see :func:`run_job`).

    Parameters
    ----------
    fit : Fit
        The fit.
    caught : sequence of warnings.WarningMessage
        The warnings its fitting raised.
    seconds : float
        Its wall time.
    compiled : bool
        Whether its process compiled a model structure for it.

    Returns
    -------
    dict
        ``draws``, ``chains``, ``seconds``, ``compile``, ``compiled``, ``divergent``, ``warnings``
        (category, message), ``pid``, ``compiledir``.

    Examples
    --------
    >>> sorted(job_result(fit, [], 1.0, False))[:3]
    ['chains', 'compile', 'compiled']
    """
    stats = fit.idata.sample_stats
    return {
        "draws": reported_draws(fit),
        "chains": fit.settings.chains,
        "seconds": seconds,
        "compile": fit.timing["compile"],
        "compiled": compiled,
        "divergent": int(stats["diverging"].sum()) if "diverging" in stats else 0,
        "warnings": [(w.category, str(w.message)) for w in caught],
        "pid": os.getpid(),
        "compiledir": str(pytensor.config.base_compiledir),
    }


# ---------------------------------------------------------------- executors

def default_compiledir_root() -> str:
    """Where workers' compile directories go unless ``BRMC_WORKER_COMPILEDIR`` says otherwise.

    Example:
        >>> default_compiledir_root().endswith("brmc-workers")
        True
    """
    return os.environ.get(COMPILEDIR_ENV) or os.path.join(tempfile.gettempdir(), "brmc-workers")


def _is_dask_client(executor: Any) -> bool:
    return type(executor).__module__.startswith("distributed") and hasattr(executor, "get_executor")


#: the name of the nanny plugin :func:`prepare_client` registers
PLUGIN = "brmc-worker-compiledir"


def _nanny_plugins(dask_scheduler: Any) -> list[str]:
    return list(dask_scheduler.nanny_plugins)


def prepare_client(client: Any, root: str | None = None) -> None:
    """Give every worker of a ``dask.distributed.Client`` its own compile directory.

    Unless every worker's environment already has ``BRMC_WORKER_COMPILEDIR``
    (or this was done before on the cluster), Dask's ``Environ`` nanny plugin
    sets it and restarts the workers once, so that their imports, brmc's
    included, read it; workers that join later get it before they start.

    Example:
        >>> from distributed import Client, LocalCluster  # doctest: +SKIP
        >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
        >>> prepare_client(client)  # doctest: +SKIP
    """
    from distributed.diagnostics.plugin import Environ

    if PLUGIN in client.run_on_scheduler(_nanny_plugins):
        return
    found = client.run(os.getenv, COMPILEDIR_ENV)
    if found and all(found.values()):
        return
    client.register_plugin(Environ({COMPILEDIR_ENV: root or default_compiledir_root()}), name=PLUGIN)
    client.wait_for_workers(max(len(found), 1))


def as_executor(executor: Any) -> Executor:
    """A ``concurrent.futures.Executor`` for ``executor``: a Dask ``Client`` becomes its
    ``get_executor(pure=False)`` after :func:`prepare_client`; an Executor stays as it is.

    Example:
        >>> from concurrent.futures import ThreadPoolExecutor
        >>> with ThreadPoolExecutor(1) as pool:
        ...     as_executor(pool) is pool
        True
    """
    if _is_dask_client(executor):
        prepare_client(executor)
        return executor.get_executor(pure=False)
    if not isinstance(executor, Executor):
        raise TypeError(f"executor must be a concurrent.futures.Executor or a dask.distributed.Client, "
                        f"not {type(executor).__name__}.")
    return executor


def process_pool(max_workers: int, root: str | None = None) -> ProcessPoolExecutor:
    """A process pool for multi-fit work: ``spawn`` start method (a forked JAX process can
    deadlock) and a compile directory per worker (sets ``BRMC_WORKER_COMPILEDIR`` in this
    process's environment, which its workers inherit).

    Example:
        >>> with process_pool(2) as pool:  # doctest: +SKIP
        ...     sweep = brmc.prior_sweep(fit, [[brmc.prior("normal(0, 5)", class_="b")]], executor=pool)
    """
    os.environ.setdefault(COMPILEDIR_ENV, root or default_compiledir_root())
    return ProcessPoolExecutor(max_workers, mp_context=multiprocessing.get_context("spawn"))


def run_jobs(jobs: Sequence[dict[str, Any]], executor: Any = None, progress: bool = True,
             desc: str = "Fits") -> list[dict[str, Any]]:
    """:func:`run_job` for each job, in order: here (``executor=None``) or on ``executor``
    (see :func:`as_executor`), with one progress bar over the fits.

    Example:
        >>> results = run_jobs([fit_job(fit, seed=s) for s in (1, 2)], progress=False)  # doctest: +SKIP
    """
    with FitProgress(len(jobs), desc, show=progress) as bar:
        if executor is None:
            results = []
            for job in jobs:
                results.append(run_job(job))
                bar.advance(results[-1]["seconds"])
            return results
        pool = as_executor(executor)
        futures = [pool.submit(run_job, job) for job in jobs]
        for future in as_completed(futures):
            bar.advance(future.result()["seconds"])
        return [future.result() for future in futures]
