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
from .families import Family, get_family
from .fit import Fit
from .formula import parse_formula
from .model import BuiltModel, build_model
from .priors import Prior, default_prior_table, resolve_priors
from .sampling import SamplerSettings, sample, to_inference_data
from .summary import PriorTable, diagnose


def _model_data(formula: str, data: Any, family: str | Family, data_name: str | None,
                env: dict[str, Any] | None) -> ModelData:
    env = dict(env or {})
    parsed = parse_formula(formula, env_names=frozenset(env))
    return build_data(parsed, data, get_family(family), data_name=data_name, env=env)


def get_prior(formula: str, data: Any, family: str | Family = "gaussian", *,
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


def make_model(formula: str, data: Any, family: str | Family = "gaussian", prior: list[Prior] | Prior | None = None,
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
    formula: str,
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
    backend: str = "nutpie",
    control: dict | None = None,
    data_name: str | None = None,
    env: dict[str, Any] | None = None,
    progress: bool = True,
) -> Fit:
    """Fit a brms-style Bayesian multilevel model.

    ``warmup`` defaults to ``iter // 2`` and ``iter`` counts warm-up draws, as
    in brms.  ``data_name`` sets the summary's ``Data:`` line (shipped data
    sets carry their name).  ``env`` names extra functions a formula may call.

    Example:
        >>> import brmc
        >>> fit = brmc.brm("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"),
        ...                seed=1234, progress=False)  # doctest: +SKIP
        >>> print(fit)  # doctest: +SKIP
    """
    settings = SamplerSettings(
        chains=chains, iter=iter, warmup=iter // 2 if warmup is None else warmup, thin=thin,
        seed=seed, cores=cores, backend=backend, control=dict(control or {}), progress=progress,
    )
    t0 = time.perf_counter()
    md = _model_data(formula, data, family, data_name, env)
    spec = resolve_priors(md, _as_list(prior))
    built = build_model(md, spec)
    t1 = time.perf_counter()
    result = sample(built, settings)
    t2 = time.perf_counter()
    idata = to_inference_data(result, md)
    fit = Fit(
        model_data=md, priors=spec, settings=settings, idata=idata,
        timing={"build": t1 - t0, "compile": result.compile_seconds, "sample": result.sample_seconds,
                "postprocess": time.perf_counter() - t2},
    )
    for message in diagnose(fit).messages():
        warnings.warn(message, UserWarning, stacklevel=2)
    return fit

