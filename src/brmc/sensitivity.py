"""Prior sensitivity: draws from the priors, prior sweeps that reuse the compiled
model, and power-scaling sensitivity from a single fit.

- :func:`brmc.prior_sampling.prior_draws`: draws from every proper prior
  (``sample_prior = "yes"``), in their own module because fitting adds them.
- :func:`prior_sweep`: the fit repeated under several prior sets (priors
  replaced as :func:`brmc.api.update` replaces them), so sets whose
  distribution families match reuse one compiled model; any ``concurrent.futures.Executor`` or a Dask ``Client`` can
  run the sets (:mod:`brmc.cluster`).
- :func:`powerscale_sensitivity`: priorsense's power-scaling diagnostic
  (Kallioinen et al. 2023) through ArviZ's ``psens``: prior and likelihood
  sensitivity per parameter, from importance weights, with no refit.

Example:
    >>> sweep = prior_sweep(fit, {"tight": [brmc.prior("normal(0, 1)", class_="b")],
    ...                           "wide": [brmc.prior("normal(0, 100)", class_="b")]})
    >>> sweep.table().loc["b_Days"].index.tolist()
    ['original', 'tight', 'wide']
    >>> powerscale_sensitivity(fit).columns.tolist()
    ['prior', 'likelihood', 'diagnosis']
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from ._docs import shared
from . import sampling, vectorized
from .anymodel import build_any, constrained_parameters, resolve_any
from .cluster import fit_job, job_result, reported_draws, reported_variables, run_jobs
from .errors import DataError, PriorError
from .model import prior_density
from .plots import handed_over
from .priors import Prior, PriorSpec, replace_priors
from .sampling import SamplerSettings, flat_draws

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .fit import Fit

#: priorsense's threshold on both sensitivities
SENSITIVITY_THRESHOLD = 0.05
#: the row label of the fit a sweep starts from
ORIGINAL = "original"




# ---------------------------------------------------------------- the log prior (brms's lprior)

#: the compiled prior densities by model structure (compiling one takes most of a second)
_DENSITIES = sampling.CompiledModels(capacity=32)


def log_prior(fit: Fit) -> np.ndarray:
    """brms's ``lprior`` per draw, up to a constant: a (chain, draw) array.

    The model's own prior terms (:func:`brmc.model.prior_density`) at the draws:
    the log density of every proper prior at the temporary centred ``Intercept``,
    ``b``, ``sd`` and family parameters, and of an ``lkj(eta)`` prior at the
    Cholesky factor of each correlation matrix (``lkj_corr_cholesky``, as brms's
    ``lprior``).  Flat priors add nothing and truncation constants are left out,
    as neither changes with the draws.

    Example:
        >>> log_prior(fit).shape
        (2, 200)
    """
    post, md = fit.idata.posterior, fit.model_data
    built = build_any(md, fit.priors, prior_only=True)
    names, density = _DENSITIES.get(built.structure, lambda: prior_density(built))
    for container in density.get_shared():  # this fit's hyperparameters (data of the compiled density)
        if container.name in built.values:
            container.set_value(np.asarray(built.values[container.name], dtype=container.type.dtype))
    params = constrained_parameters(post, md)
    return np.asarray(density(*(flat_draws(params[n]) for n in names))).reshape(post.sizes["chain"], post.sizes["draw"])


# ---------------------------------------------------------------- power-scaling sensitivity

def powerscale_sensitivity(fit: Fit, variables: Sequence[str] | None = None,
                           threshold: float = SENSITIVITY_THRESHOLD, delta: float = 0.01) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity, as priorsense's
    ``powerscale_sensitivity`` (ArviZ's ``psens``): no refit.

    The prior (all proper priors, :func:`log_prior`) or the likelihood is raised
    to the power ``1 / (1 + delta)`` and ``1 + delta`` through Pareto-smoothed
    importance weights; a parameter's sensitivity is the cumulative
    Jensen–Shannon distance of its weighted from its unweighted draws per
    ``log2`` step.  Diagnosis (priorsense's): prior and likelihood sensitivity
    both ≥ ``threshold`` → ``"prior-data conflict"``; prior ≥ ``threshold`` and
    likelihood below → ``"strong prior / weak likelihood"``; else ``"-"``.
    ArviZ warns when the importance weights are unreliable (Pareto k > 0.7).

    Parameters
    ----------
    fit : Fit
        A fitted model (not ``sample_prior="only"``).
    variables : sequence of str, optional
        The parameters to diagnose; :func:`reported_variables` when None.
    threshold : float, default 0.05
        The sensitivity from which priorsense reports a problem.
    delta : float, default 0.01
        The power-scaling step.

    Returns
    -------
    pandas.DataFrame
        ``prior``, ``likelihood`` (sensitivities) and ``diagnosis`` per variable.

    Examples
    --------
    >>> powerscale_sensitivity(fit).index[:2].tolist()
    ['b_Intercept', 'b_Days']
    """
    if fit.settings.sample_prior == "only":
        raise DataError("Power-scaling needs a likelihood; this fit sampled the priors only.")
    names = reported_variables(fit) if variables is None else list(variables)
    unknown = [n for n in names if n not in fit.idata.posterior]
    if unknown:
        raise DataError(f"Variable(s) {', '.join(map(repr, unknown))} not found in the posterior.")
    post = fit.idata.posterior
    ll = fit.log_likelihood()
    coords = {"chain": post["chain"].values, "draw": post["draw"].values}
    idata = az.InferenceData(
        posterior=post[names],
        log_prior=xr.Dataset({"lprior": (("chain", "draw"), log_prior(fit))}, coords=coords),
        log_likelihood=xr.Dataset({"Y": ll.sum("obs")}),
    )
    prior = az.psens(idata, component="prior", delta=delta)
    likelihood = az.psens(idata, component="likelihood", delta=delta)
    frame = pd.DataFrame({"prior": [float(prior[n]) for n in names],
                          "likelihood": [float(likelihood[n]) for n in names]},
                         index=pd.Index(names, name="variable"))
    strong_prior = frame["prior"] >= threshold
    frame["diagnosis"] = np.where(strong_prior & (frame["likelihood"] >= threshold), "prior-data conflict",
                                  np.where(strong_prior, "strong prior / weak likelihood", "-"))
    return frame


# ---------------------------------------------------------------- prior sweeps

@dataclass
class SweepResult:
    """The fit under several prior sets: ``priors`` (the sets by name), ``draws``
    (per set, the original fit first as ``"original"``: a frame of the
    :func:`reported_variables`), ``info`` (per set: ``seconds`` of wall time,
    ``compile`` seconds, ``divergent`` transitions).

    Examples
    --------
    >>> sweep = prior_sweep(fit, {"tight": [brmc.prior("normal(0, 1)", class_="b")]})
    >>> list(sweep.draws)
    ['original', 'tight']
    """

    priors: dict[str, list[Prior]]
    draws: dict[str, pd.DataFrame]
    info: pd.DataFrame

    def table(self, probs: tuple[float, float] = (0.025, 0.975)) -> pd.DataFrame:
        """Per (variable, prior set): ``Estimate``, ``Est.Error``, the quantiles,
        ``Shift`` (change of the mean in posterior sds of the original fit) and
        ``SD.Ratio`` (posterior sd over the original's).

        Parameters
        ----------
        probs : tuple of float, default (0.025, 0.975)
            The quantile columns (``Q2.5``, ``Q97.5``).

        Returns
        -------
        pandas.DataFrame
            Indexed by (variable, prior set).

        Examples
        --------
        >>> sweep = prior_sweep(fit, {"tight": [brmc.prior("normal(5, 0.1)", class_="b", coef="Days")]})
        >>> bool(sweep.table().loc[("b_Days", "tight"), "Shift"] < 0)
        True
        """
        original = self.draws[ORIGINAL]
        q_names = [f"Q{100 * p:g}" for p in probs]
        rows = []
        for variable in original.columns:
            ref = original[variable].to_numpy()
            ref_mean, ref_sd = ref.mean(), ref.std(ddof=1)
            for name, frame in self.draws.items():
                x = frame[variable].to_numpy()
                mean, sd = x.mean(), x.std(ddof=1)
                rows.append({"variable": variable, "prior_set": name, "Estimate": mean, "Est.Error": sd,
                             **dict(zip(q_names, np.quantile(x, probs))),
                             "Shift": (mean - ref_mean) / ref_sd, "SD.Ratio": sd / ref_sd})
        return pd.DataFrame(rows).set_index(["variable", "prior_set"])

    @shared
    def plot(self, variables: Sequence[str] | None = None,
             probs: tuple[float, float] = (0.025, 0.975)) -> Figure:
        """One panel per parameter: the mean and interval under each prior set
        (one colour per set, the original fit first).

        Parameters
        ----------
        variables : sequence of str, optional
            The parameters to show; all of the sweep's when None.
        {interval}

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> sweep = prior_sweep(fit, {"tight": [brmc.prior("normal(0, 1)", class_="b")]})
        >>> sweep.plot(["b_Days", "sigma"]).savefig(tmp / "sweep.png")
        """
        table = self.table(probs)
        names = list(self.draws[ORIGINAL].columns) if variables is None else list(variables)
        unknown = [v for v in names if v not in self.draws[ORIGINAL]]
        if unknown:
            raise DataError(f"Variable(s) {', '.join(map(repr, unknown))} are not in the sweep.")
        sets = list(self.draws)
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        lo, hi = table.columns[2], table.columns[3]
        fig, axes = plt.subplots(len(names), 1, squeeze=False,
                                 figsize=(6.0, 0.9 + len(names) * (0.35 * len(sets) + 0.5)))
        for ax, variable in zip(axes[:, 0], names):
            for i, name in enumerate(sets):
                row, y, color = table.loc[(variable, name)], len(sets) - 1 - i, colors[i % len(colors)]
                ax.plot([row[lo], row[hi]], [y, y], color=color, linewidth=2.5, solid_capstyle="butt")
                ax.plot([row["Estimate"]], [y], "o", color=color)
            ax.set_yticks(range(len(sets)), sets[::-1])
            ax.set_ylim(-0.7, len(sets) - 0.3)
            ax.set_title(variable, loc="left", fontsize="medium")
        fig.tight_layout()
        return handed_over(fig)


def _together(fit: Fit, jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The jobs' results from one program sampling every set (:func:`brmc.vectorized.fits`), or
    ``None`` when the sets cannot be sampled together."""
    md = fit.model_data
    specs = [resolve_any(md, job["priors"]) for job in jobs]
    made, caught = sampling._COMPILED.made, []
    fits = vectorized.fits(md, specs, SamplerSettings(**jobs[0]["settings"]), caught)
    if fits is None:
        return None
    compiled = sampling._COMPILED.made > made
    return [job_result(f, c, sum(f.timing.values()), compiled and k == 0) for k, (f, c) in enumerate(zip(fits, caught))]


def _prior_sets(priors: Mapping[str, Any] | Sequence[Any]) -> dict[str, list[Prior]]:
    """Named prior sets: a dict as given, a list named ``set1``, ``set2``, ..."""
    items = priors.items() if isinstance(priors, Mapping) else ((f"set{i}", p) for i, p in enumerate(priors, 1))
    sets: dict[str, list[Prior]] = {}
    for name, entry in items:
        entries = [entry] if isinstance(entry, Prior) else list(entry)
        if not all(isinstance(p, Prior) for p in entries):
            raise PriorError(f"Prior set {name!r} must be a list of brmc.prior(...), got {entry!r}.")
        sets[str(name)] = entries
    if not sets:
        raise PriorError("prior_sweep needs at least one prior set.")
    if ORIGINAL in sets:
        raise PriorError(f"{ORIGINAL!r} names the fit the sweep starts from; give the prior set another name.")
    return sets


#: priorsense's and loo's limit on Pareto k for reliable importance weights
PARETO_K_LIMIT = 0.7
SWEEP_METHODS = ("refit", "psis")


def _reweighted(fit: Fit, spec: PriorSpec, base: np.ndarray, seed: int) -> dict[str, Any] | None:
    """A prior set's posterior from the fit's own draws: Pareto-smoothed importance weights by
    the ratio of the new priors' density to the fit's (``base``, its :func:`log_prior`) at each
    draw, then resampled (systematic resampling, as many draws as the fit has); ``None`` when
    Pareto k exceeds the limit."""
    t0 = time.perf_counter()
    log_ratio = (log_prior(dataclasses.replace(fit, priors=spec)) - base).reshape(-1)
    if not np.isfinite(log_ratio).any():
        return None
    smoothed, k = az.psislw(np.where(np.isfinite(log_ratio), log_ratio, -np.inf))
    if not k <= PARETO_K_LIMIT:
        return None
    weights = np.exp(smoothed - smoothed.max())
    cumulative = np.cumsum(weights / weights.sum())
    n = len(weights)
    picks = np.searchsorted(cumulative, (np.random.default_rng(seed).uniform() + np.arange(n)) / n)
    draws = reported_draws(fit).iloc[np.minimum(picks, n - 1)].reset_index(drop=True)
    return {"draws": draws, "seconds": time.perf_counter() - t0, "compile": 0.0, "compiled": False,
            "divergent": 0, "warnings": [], "pid": os.getpid(), "method": "psis", "pareto_k": float(k)}


def prior_sweep(fit: Fit, priors: Mapping[str, Any] | Sequence[Any], executor: Any = None,
                seed: int | None = None, progress: bool = True, vectorize: bool = False,
                method: str = "refit") -> SweepResult:
    """Refit ``fit`` under each prior set and compare the posteriors.

    Sets that keep each prior's distribution family reuse a compiled model; a
    new family (a flat prior made ``normal``) compiles once per process and
    the sets after it reuse that.  Warnings of a set's fit are repeated here
    with the set's name.

    Parameters
    ----------
    fit : Fit
        The fit the sweep starts from (its row ``"original"``).
    priors : dict of str to list of Prior, or list of list of Prior
        Prior sets by name (lists of :func:`brmc.prior`), or a list of sets
        (named ``set1``, ``set2``, ...).  Each set replaces the fit's priors on
        the same (class, coef, group, dpar), as :func:`brmc.api.update` does.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        ``None`` (fit here, one set after another), any
        ``concurrent.futures.Executor`` or a ``dask.distributed.Client``
        (see :mod:`brmc.cluster`): each task gets plain data, rebuilds the
        model in its worker and returns draws, so the numbers equal a
        sequential sweep's.  Give a process pool the ``"spawn"`` start method
        (:func:`brmc.cluster.process_pool` does): a forked worker of a process
        in which JAX has run can deadlock.
    seed : int, optional
        The seed of every set's fit (default: the fit's seed).
    progress : bool, default True
        One progress bar over the sets (silent when not interactive); the
        fits run without their own.
    vectorize : bool, default False
        On the JAX backends, without an ``executor``: sample the sets, when
        they all keep the fit's model structure, as one program, their chains
        side by side (:mod:`brmc.vectorized`).  The same posteriors, not the
        same draws as one fit after another; on a CPU it saved no time
        (docs/performance.md), it is meant for accelerators.
    method : {"refit", "psis"}, default "refit"
        ``"refit"`` samples the model under every set.  ``"psis"`` takes a
        set's posterior from the fit's own draws, weighted by the ratio of the
        set's prior density to the fit's (Pareto-smoothed importance sampling,
        as priorsense does) and resampled, where the weights are reliable
        (Pareto k at most 0.7), and refits only the other sets: no sampling for
        modest prior changes, the same answer up to importance-sampling error.

    Returns
    -------
    SweepResult
        Draws per set; ``info`` has per set ``seconds``, ``compile``,
        ``compiled`` (whether its worker compiled a model structure for it),
        ``divergent``, the worker's ``pid``, the ``method`` that gave its
        draws (``"refit"`` or ``"psis"``) and the weights' ``pareto_k``
        (computed for ``method="psis"`` only).

    Examples
    --------
    >>> sweep = prior_sweep(fit, {"tight": [brmc.prior("normal(0, 1)", class_="b")],
    ...                           "wide": [brmc.prior("normal(0, 100)", class_="b")]})
    >>> sweep.info.index.tolist()
    ['tight', 'wide']

    A process pool (each worker compiles the model once; a doctest does not wait for that):

    >>> from brmc.cluster import process_pool
    >>> with process_pool(2) as pool:  # doctest: +SKIP
    ...     sweep = prior_sweep(fit, [[brmc.prior("normal(0, 5)", class_="b")]], executor=pool)
    """
    if method not in SWEEP_METHODS:
        raise DataError(f"method={method!r} is not one of {', '.join(map(repr, SWEEP_METHODS))}.")
    sets = _prior_sets(priors)
    specs = {}
    for name, entries in sets.items():  # fail before any sampling; later priors win, as in update
        specs[name] = resolve_any(fit.model_data, replace_priors(fit.priors.user, entries))
    seed = fit.settings.seed if seed is None else int(seed)
    results = {}
    if method == "psis":
        base = log_prior(fit)
        results = {name: r for name, spec in specs.items() if (r := _reweighted(fit, spec, base, seed)) is not None}
    todo = [name for name in sets if name not in results]
    jobs = [fit_job(fit, priors=replace_priors(fit.priors.user, sets[name]), seed=seed) for name in todo]
    refits = _together(fit, jobs) if executor is None and vectorize else None
    if refits is None:
        refits = run_jobs(jobs, executor, progress=progress, desc="Prior sets") if jobs else []
    results |= {name: {"method": "refit", "pareto_k": np.nan, **r} for name, r in zip(todo, refits)}
    results = {name: results[name] for name in sets}
    for name, result in results.items():
        for category, message in result["warnings"]:
            warnings.warn(f"Prior set {name!r}: {message}", category, stacklevel=2)
    columns = ("seconds", "compile", "compiled", "divergent", "pid", "method", "pareto_k")
    info = pd.DataFrame([{k: r[k] for k in columns} for r in results.values()],
                        index=pd.Index(list(sets), name="prior_set"))
    draws = {ORIGINAL: reported_draws(fit), **{name: r["draws"] for name, r in results.items()}}
    return SweepResult(priors=sets, draws=draws, info=info)
