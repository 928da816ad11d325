"""The user-facing pipeline: ``get_prior`` stops after data, ``make_model`` after
the model, ``brm`` runs everything.

Example:
    >>> import brmc
    >>> brmc.get_prior("Reaction ~ Days + (Days | Subject)", data=brmc.datasets.load("sleepstudy")).shape
    (10, 10)
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from .data import ModelData, build_data
from .errors import PriorError
from .families import Family, get_family
from .fit import Fit
from .formula import BrmsFormula, as_formula
from .model import BuiltModel, build_model
from .priors import Prior, PriorSpec, default_prior_table, resolve_priors
from .sampling import DEFAULT_BACKEND, SamplerSettings, sample, to_inference_data
from .summary import PriorTable, diagnose


def _model_data(formula: str | BrmsFormula, data: Any, family: str | Family, data_name: str | None,
                env: dict[str, Any] | None) -> ModelData:
    env = dict(env or {})
    parsed = as_formula(formula, env_names=frozenset(env))
    return build_data(parsed, data, get_family(family), data_name=data_name, env=env)


def get_prior(formula: str | BrmsFormula, data: Any, family: str | Family = "gaussian", *,
              data_name: str | None = None, env: dict[str, Any] | None = None) -> PriorTable:
    """brms's ``get_prior``: the default priors and every parameter that takes one.

    Example:
        >>> import brmc
        >>> tab = get_prior("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"))
        >>> list(tab["class"].unique())
        ['b', 'cor', 'Intercept', 'sd', 'sigma']
    """
    md = _model_data(formula, data, family, data_name, env)
    return PriorTable(default_prior_table(md))


def make_model(formula: str | BrmsFormula, data: Any, family: str | Family = "gaussian", prior: list[Prior] | Prior | None = None,
               *, data_name: str | None = None, env: dict[str, Any] | None = None) -> BuiltModel:
    """Build (but do not sample) the PyMC model brms would write.

    Example:
        >>> import brmc
        >>> built = make_model("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"))
        >>> "sigma" in built.model.named_vars
        True
    """
    md = _model_data(formula, data, family, data_name, env)
    return build_model(md, resolve_priors(md, _as_list(prior)))


def _as_list(prior: list[Prior] | Prior | None) -> list[Prior]:
    if prior is None:
        return []
    return [prior] if isinstance(prior, Prior) else list(prior)


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
    progress: bool = True,
) -> Fit:
    """Fit a brms-style Bayesian multilevel model.

    ``formula`` is brms formula text or :func:`brmc.bf` of it with formulas for
    distributional parameters.  ``warmup`` defaults to ``iter // 2`` and ``iter`` counts warm-up draws, as
    in brms.  ``sample_prior="only"`` samples the prior alone (all priors must
    be proper).  ``data_name`` sets the summary's ``Data:`` line (shipped data
    sets carry their name).  ``env`` names extra functions a formula may call.
    ``init`` is brms's: ``"random"`` (uniform(-2, 2) on the unconstrained
    scale), a number r (uniform(-r, r); 0 puts every parameter at 0), a dict of
    initial values by Stan's parameter names (``b``, ``Intercept``, ``sd_1``,
    ``sigma``...) or a function of the chain number returning one (see
    :mod:`brmc.inits`).

    Example:
        >>> import brmc
        >>> fit = brmc.brm("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"),
        ...                seed=1234, progress=False)  # doctest: +SKIP
        >>> print(fit)  # doctest: +SKIP
    """
    settings = SamplerSettings(
        chains=chains, iter=iter, warmup=iter // 2 if warmup is None else warmup, thin=thin, seed=seed,
        cores=cores, backend=backend, control=dict(control or {}), progress=progress, sample_prior=sample_prior,
        init=init,
    )
    t0 = time.perf_counter()
    md = _model_data(formula, data, family, data_name, env)
    spec = resolve_priors(md, _as_list(prior))
    return _run(md, spec, settings, t0)


def _run(md: ModelData, spec: PriorSpec, settings: SamplerSettings, t0: float) -> Fit:
    """Build (or reuse) the model, sample it and wrap the result as a Fit."""
    if settings.sample_prior == "only":
        flat = next((p for p in spec.params if p.dist is None), None)
        if flat is not None:
            raise PriorError(
                "Sampling from the priors alone needs proper priors on every parameter; class "
                f"{flat.class_!r}{f' coef {flat.coef!r}' if flat.coef else ''} has a flat prior. "
                "Set one with brmc.prior(...)."
            )
    built = build_model(md, spec, prior_only=settings.sample_prior == "only")
    t1 = time.perf_counter()
    result = sample(built, settings)
    t2 = time.perf_counter()
    idata = to_inference_data(result, md)
    fit = Fit(
        model_data=md, priors=spec, settings=settings, idata=idata,
        timing={"build": t1 - t0, "compile": result.compile_seconds, "sample": result.sample_seconds,
                "postprocess": time.perf_counter() - t2},
    )
    if settings.sample_prior == "yes":  # brms's prior_* draws beside the posterior
        from .sensitivity import add_prior_draws

        fit.idata = add_prior_draws(fit)
    for message in diagnose(fit).messages():
        warnings.warn(message, UserWarning, stacklevel=3)
    return fit


def update(fit: Fit, prior: list[Prior] | Prior | None = None, newdata: Any = None, **settings: Any) -> Fit:
    """Refit with new priors, data or sampler settings, as brms's ``update``.

    New priors replace the fit's priors on the same (class, coef, group, dpar)
    and keep the others.  When only prior hyperparameters or data values
    change, the compiled model is reused and sampling starts at once; a new
    prior family or new data shapes build a new model.  Settings not given
    (the seed included) are the fit's own.

    Example:
        >>> fit2 = update(fit, prior=brmc.prior("normal(0, 1)", class_="b"), seed=2)  # doctest: +SKIP
    """
    t0 = time.perf_counter()
    md = fit.model_data
    if newdata is not None:
        md = build_data(md.formula, newdata, md.family, data_name=getattr(newdata, "attrs", {}).get("data_name"),
                        env=md.env)
    new = _as_list(prior)
    replaced = {(p.class_, p.coef, p.group, p.dpar) for p in new}
    user = [p for p in fit.priors.user if (p.class_, p.coef, p.group, p.dpar) not in replaced] + new
    spec = resolve_priors(md, user)
    old = fit.settings.to_dict()
    if "iter" in settings and "warmup" not in settings:
        settings["warmup"] = settings["iter"] // 2
    return _run(md, spec, SamplerSettings(**{**old, **settings}), t0)
