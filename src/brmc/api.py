"""The user-facing pipeline: ``get_prior`` stops after data, ``make_model`` after
the model, ``brm`` runs everything.

Example:
    >>> import brmc
    >>> brmc.get_prior("Reaction ~ Days + (Days | Subject)", data=brmc.datasets.load("sleepstudy")).shape
    (10, 10)
"""

from __future__ import annotations

import os
import time
from typing import Any

from ._docs import shared
from . import algorithms, io, pipeline, terms
from .anymodel import build_any, resolve_any
from .data import ModelData, build_data
from .errors import PriorError
from .families import Family, get_family
from .fit import Fit
from .formula import BrmsFormula, as_formula
from .model import BuiltModel
from .multivariate import MultivariateFormula
from .mvdata import MvModelData, as_multivariate, build_mv_data, mv_prior_table
from .mvfit import MvFit, mv_inference_data
from .priors import Prior, PriorSpec, default_prior_table, printed, replace_priors
from .mvprior import mv_prior_draws
from .prior_sampling import add_prior_draws, prior_draws
from .sampling import DEFAULT_BACKEND, SamplerSettings, SamplingResult, sample, to_inference_data
from .diagnostics import diagnose
from .summary import PriorTable
from .userwarn import warn_user


def _model_data(formula: str | BrmsFormula | MultivariateFormula, data: Any, family: str | Family, data_name: str | None,
                env: dict[str, Any] | None, contrasts: dict[str, str] | None,
                data2: dict[str, Any] | None = None, missing: str = "impute") -> ModelData | MvModelData:
    env = {**dict(env or {}), **dict(data2 or {})}  # brms's data2 (gr(g, cov = A)): read by name, as env
    if (multivariate := as_multivariate(formula)) is not None:
        return build_mv_data(multivariate, data, family, data_name=data_name, env=env, contrasts=contrasts,
                             missing=missing)
    parsed = as_formula(formula, env_names=frozenset(env))
    md = build_data(parsed, data, get_family(family), data_name=data_name, env=env, contrasts=contrasts,
                    missing=missing)
    terms.mi.check_univariate(md)  # mi(x) reads another response
    return md


@shared
def get_prior(formula: str | BrmsFormula, data: Any, family: str | Family = "gaussian", *,
              data_name: str | None = None, env: dict[str, Any] | None = None,
              contrasts: dict[str, str] | None = None, data2: dict[str, Any] | None = None,
              missing: str = "impute") -> PriorTable:
    """brms's ``get_prior``: the default priors and every parameter that takes one.

    Parameters
    ----------
    {formula}
    {data}
    {family}
    {data_name}
    {env}
    {contrasts}
    {data2}
    {missing}

    Returns
    -------
    PriorTable
        brms's columns (``prior``, ``class``, ``coef``, ``group``, ..., ``source``), printed as brms prints it.

    Examples
    --------
    >>> tab = get_prior("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"))
    >>> list(tab["class"].unique())
    ['b', 'cor', 'Intercept', 'sd', 'sigma']
    """
    md = _model_data(formula, data, family, data_name, env, contrasts, data2, missing)
    return PriorTable(mv_prior_table(md) if isinstance(md, MvModelData) else printed(default_prior_table(md)))


@shared
def make_model(formula: str | BrmsFormula, data: Any, family: str | Family = "gaussian", prior: list[Prior] | Prior | None = None,
               *, data_name: str | None = None, env: dict[str, Any] | None = None,
               contrasts: dict[str, str] | None = None, data2: dict[str, Any] | None = None,
               missing: str = "impute") -> BuiltModel:
    """Build (but do not sample) the PyMC model brms would write.

    Parameters
    ----------
    {formula}
    {data}
    {family}
    {prior}
    {data_name}
    {env}
    {contrasts}
    {data2}
    {missing}

    Returns
    -------
    BuiltModel
        The PyMC model (``model``) with brms's parameter names, and its data.

    Examples
    --------
    >>> built = make_model("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"))
    >>> "sigma" in built.model.named_vars
    True
    """
    md = _model_data(formula, data, family, data_name, env, contrasts, data2, missing)
    return build_any(md, resolve_any(md, _as_list(prior)))


def _as_list(prior: list[Prior] | Prior | None) -> list[Prior]:
    if prior is None:
        return []
    return [prior] if isinstance(prior, Prior) else list(prior)


@shared
def brm(
    formula: str | BrmsFormula,
    data: Any,
    family: str | Family = "gaussian",
    prior: list[Prior] | Prior | None = None,
    *,
    chains: int = 4,
    iter: int = 2000,
    warmup: int | None = None,
    thin: int = 1,
    seed: int | None = None,
    cores: int | None = None,
    backend: str = DEFAULT_BACKEND,
    control: dict | None = None,
    sample_prior: str = "no",
    init: Any = "random",
    data_name: str | None = None,
    env: dict[str, Any] | None = None,
    contrasts: dict[str, str] | None = None,
    progress: bool = True,
    file: str | os.PathLike | None = None,
    file_refit: str = "never",
    algorithm: str = "sampling",
    data2: dict[str, Any] | None = None,
    missing: str = "impute",
) -> Fit:
    """Fit a brms-style Bayesian multilevel model, as brms's ``brm``.

    Parameters
    ----------
    {formula}
    {data}
    {family}
    {prior}
    chains : int, default 4
        Number of Markov chains.
    iter : int, default 2000
        Iterations per chain, warm-up included (as in brms).
    warmup : int, optional
        Warm-up iterations per chain; ``iter // 2`` when None.
    thin : int, default 1
        Keep every ``thin``-th draw.
    seed : int, optional
        Seed of the sampler; a random one when None.
    cores : int, optional
        Cores to run chains on; as many as chains and usable cores allow when None.
    backend : str, default ``"numpyro"``
        The sampler: ``"numpyro"``, ``"blackjax"`` (JAX), ``"nutpie"`` or ``"pymc"``.
    control : dict, optional
        brms's ``control``: ``adapt_delta`` (default 0.8), ``max_treedepth`` (default 10) and
        Stan's ``metric``: ``"diag_e"`` (default), ``"dense_e"`` (not on nutpie), ``"unit_e"``
        (numpyro only); numpyro's warm-up: ``init_metric`` (Stan's ``"unit"``, default, or
        ``"gradient"``) and ``warmup_treedepth`` (default ``max_treedepth``; 6 with ``"gradient"``
        takes fewer warm-up gradients, opt-in), see docs/performance.md.
    sample_prior : str, default ``"no"``
        ``"yes"`` adds prior draws (``prior_b``, ...) beside the posterior; ``"only"`` samples
        the priors alone (all must be proper).
    init : str, float, dict, list of dict or callable, default ``"random"``
        brms's ``init``: ``"random"`` (uniform(-2, 2) on the unconstrained scale, the best of
        Stan's 100 tries), a number r (uniform(-r, r); 0 puts every parameter at 0), a dict of
        initial values by Stan's parameter names (``b``, ``Intercept``, ``sd_1``, ``sigma``, ...),
        a list of such dicts (one per chain) or a function of the chain number returning one
        (see :mod:`brmc.inits`).
    {data_name}
    {env}
    {contrasts}
    progress : bool, default True
        Show a progress bar (in a terminal or a notebook; never in a log file).
    file : str or os.PathLike, optional
        Cache the fit in this file, as brms's ``file``: see ``file_refit``.
    file_refit : str, default ``"never"``
        brms's ``file_refit``: ``"never"`` loads a fit saved in ``file`` whatever changed;
        ``"on_change"`` loads it only when the formula, data, priors, family and sampler
        settings (and the seed, when given) equal those it was fitted with, else refits,
        prints which of them changed and saves the new fit there; ``"always"`` refits and saves.
    algorithm : str, default ``"sampling"``
        brms's ``algorithm``: ``"sampling"`` (NUTS with ``backend``), ``"meanfield"`` or
        ``"fullrank"`` (ADVI), ``"pathfinder"``, ``"laplace"``
        (1,000 approximate draws in one chain each), or ``"fixed_param"`` (every draw of a
        chain is its initial values, ``init``); see :mod:`brmc.algorithms`.
    {data2}
    {missing}

    Returns
    -------
    Fit
        The fitted model; ``print(fit)`` is brms's summary.  brms's sampler warnings
        (divergences, tree depth, Rhat, ESS) are given as ``UserWarning``.

    Examples
    --------
    >>> small = brmc.brm("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"),
    ...                  chains=2, iter=400, seed=11, progress=False)
    >>> small.fixef().index.tolist()
    ['Intercept', 'Days']
    """
    settings = SamplerSettings(
        chains=chains, iter=iter, warmup=iter // 2 if warmup is None else warmup, thin=thin, seed=seed,
        cores=cores, backend=backend, control=dict(control or {}), progress=progress, sample_prior=sample_prior,
        init=init, algorithm=algorithm,
    )
    t0 = time.perf_counter()
    md = _model_data(formula, data, family, data_name, env, contrasts, data2, missing)
    user = _as_list(prior)
    spec = resolve_any(md, user)
    if file is None:
        return run_fit(md, spec, settings, t0)
    cached = io.cached_fields(file, file_refit, io.fingerprint(md, user, settings), seed is not None, env)
    if cached is not None:
        return _fit_of(cached)
    fit = run_fit(md, spec, settings, t0)
    io.save(fit, file)
    return fit


@pipeline.provide
def run_fit(md: ModelData, spec: PriorSpec, settings: SamplerSettings, t0: float) -> Fit:
    """Build (or reuse) the model, sample it and wrap the result as a Fit.

    Parameters
    ----------
    md : ModelData
        The model's data.
    spec : PriorSpec
        Its priors.
    settings : SamplerSettings
        The sampler settings.
    t0 : float
        ``time.perf_counter()`` when the work began (the fit's build time counts from it).

    Returns
    -------
    Fit

    Examples
    --------
    >>> again = run_fit(fit.model_data, fit.priors, fit.settings, time.perf_counter())
    >>> again.fixef().equals(fit.fixef())  # same data, priors and seed: the same draws
    True
    """
    if settings.sample_prior == "only":
        flat = next((p for p in spec.params if p.dist is None), None)
        if flat is not None:
            raise PriorError(
                "Sampling from the priors alone needs proper priors on every parameter; class "
                f"{flat.class_!r}{f' coef {flat.coef!r}' if flat.coef else ''} has a flat prior. "
                "Set one with brmc.prior(...)."
            )
    built = build_any(md, spec, prior_only=settings.sample_prior == "only")
    t1 = time.perf_counter()
    result = sample(built, settings) if algorithms.is_mcmc(settings) else algorithms.approximate(built, settings)
    return fit_from(md, spec, settings, result, t1 - t0)


@pipeline.provide
def fit_from(md: ModelData, spec: PriorSpec, settings: SamplerSettings, result: SamplingResult,
             build_seconds: float) -> Fit:
    """The :class:`Fit` of sampled draws: brms's names, prior draws when ``sample_prior="yes"``,
    and brms's warnings about the sampling.

    Parameters
    ----------
    md : ModelData
        The model's data.
    spec : PriorSpec
        Its priors.
    settings : SamplerSettings
        The sampler settings that produced ``result``.
    result : SamplingResult
        The raw draws and their timings.
    build_seconds : float
        The time taken to build the model.

    Returns
    -------
    Fit
        The fit.

    Examples
    --------
    The fit of a model sampled again with the same seed has the same draws:

    >>> result = sample(build_any(fit.model_data, fit.priors), fit.settings)
    >>> again = fit_from(fit.model_data, fit.priors, fit.settings, result, 0.0)
    >>> bool((again.idata.posterior["b_Days"] == fit.idata.posterior["b_Days"]).all())
    True
    """
    t2 = time.perf_counter()
    multivariate = isinstance(md, MvModelData)
    idata = mv_inference_data(result, md) if multivariate else to_inference_data(result, md)
    fit = (MvFit if multivariate else Fit)(
        model_data=md, priors=spec, settings=settings, idata=idata,
        timing={"build": build_seconds, "compile": result.compile_seconds, "sample": result.sample_seconds,
                "postprocess": time.perf_counter() - t2},
    )
    if settings.sample_prior == "yes":  # brms's prior_* draws beside the posterior
        fit.idata = add_prior_draws(fit, mv_prior_draws if multivariate else prior_draws)
    for message in diagnose(fit).messages():
        warn_user(message)
    return fit


@pipeline.provide
@shared
def update(fit: Fit, prior: list[Prior] | Prior | None = None, newdata: Any = None, **settings: Any) -> Fit:
    """Refit with new priors, data or sampler settings, as brms's ``update``.

    When only prior hyperparameters or data values change, the compiled model is
    reused and sampling starts at once; a new prior family or new data shapes
    build a new model.

    Parameters
    ----------
    {fit}
    prior : Prior or list of Prior, optional
        Priors replacing the fit's priors on the same (class, coef, group, dpar); the others stay.
    newdata : pandas.DataFrame, optional
        New data for the same formula.
    **settings
        Sampler arguments of :func:`brm` (``seed``, ``chains``, ``iter``, ``control``, ...);
        those not given (the seed included) are the fit's own.

    Returns
    -------
    Fit

    Examples
    --------
    >>> fit2 = update(fit, prior=brmc.prior("normal(0, 1)", class_="b"), seed=2)
    >>> fit2.settings.seed, fit2.settings.chains
    (2, 2)
    """
    t0 = time.perf_counter()
    md = fit.model_data
    if newdata is not None and isinstance(md, MvModelData):
        md = build_mv_data(md.formula, newdata, md.family.families,
                           data_name=getattr(newdata, "attrs", {}).get("data_name"), env=md.env, contrasts=md.contrasts,
                           missing=md.missing)
    elif newdata is not None:
        md = build_data(md.formula, newdata, md.family, data_name=getattr(newdata, "attrs", {}).get("data_name"),
                        env=md.env, contrasts=md.contrasts, missing=md.missing)
    spec = resolve_any(md, replace_priors(fit.priors.user, _as_list(prior)))
    old = fit.settings.to_dict()
    if "iter" in settings and "warmup" not in settings:
        settings["warmup"] = settings["iter"] // 2
    return run_fit(md, spec, SamplerSettings(**{**old, **settings}), t0)


def load(path: str | os.PathLike, env: dict[str, Any] | None = None) -> Fit:
    """Load a fit written by :func:`brmc.io.save` (``fit.save``); every method then gives the saved fit's numbers.

    Parameters
    ----------
    path : str or os.PathLike
        The file :func:`brmc.io.save` (``fit.save``) wrote.
    env : dict, optional
        The functions (or vectors) the formula took from ``brm(..., env=...)``; they are
        not stored in the file.

    Returns
    -------
    Fit

    Examples
    --------
    >>> same = load(io.save(fit, tmp / "sleep.brmc"))
    >>> same.fixef().equals(fit.fixef())
    True
    """
    return _fit_of(io.read_fields(path, env))


def _fit_of(fields: dict[str, Any]) -> Fit:
    """The fit of :func:`brmc.io.read_fields`' fields: an :class:`~brmc.mvfit.MvFit` of a multivariate model."""
    return (MvFit if isinstance(fields["model_data"], MvModelData) else Fit)(**fields)
