"""Draws from a fit's priors, named as brms's ``sample_prior = "yes"`` names them.

``prior_b`` (or ``prior_b_<coef>``), ``prior_Intercept``, ``prior_sigma``,
``prior_sd_Subject``, ``prior_cor_Subject``: :func:`brmc.brm` adds them to the
posterior with ``sample_prior="yes"``, and :func:`brmc.hypothesis` uses them for
Savage–Dickey evidence ratios.  They are drawn by PyMC from the same prior
distributions the model's prior terms use, not by the sampler.

Example:
    >>> sorted(prior_draws(fit, 4, 1000, seed=1))
    ['prior_Intercept', 'prior_cor_Subject', 'prior_sd_Subject', 'prior_sigma']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pymc as pm
from pytensor.tensor import TensorVariable

from .data import ModelData
from .distributions import bounded_dist, lkj_correlation
from .naming import prior_name
from .priors import ParamPrior

if TYPE_CHECKING:
    from .fit import Fit


def _draw_name(p: ParamPrior, coef_level: set[tuple[str, str]]) -> str:
    """brms's name for the prior draws of ``p`` (per coefficient when a user set coefficient priors)."""
    return prior_name(p.class_, p.coef, p.group, p.dpar, per_coef=(p.class_, p.group) in coef_level)


def lprior_order(p: ParamPrior) -> int:
    """brms's order of the ``lprior`` lines: b, Intercept, family parameters, then sd and cor by block."""
    return {"b": 0, "Intercept": 1, "sd": 3, "cor": 3}.get(p.class_, 2)


def prior_variable(p: ParamPrior, md: ModelData, size: tuple[int, ...]) -> TensorVariable:
    """The PyMC distribution of one prior's draws, truncated to the parameter's bounds."""
    if p.dist.name == "lkj":  # a group-level block's L_<id>, or unstr()'s Lcortime over its time points
        M = (len(md.predictors["mu"].parts["ac"].times) if p.param.startswith("Lcortime")
             else len(next(b for b in md.blocks if f"L_{b.id}" == p.param).joint_labels))
        return lkj_correlation(p.dist.args[0], M, size)
    if p.dist.name == "dirichlet":  # one element of the simplex: Beta(alpha, (K - 1) alpha)
        alpha, K = p.dist.args[0], next(d.size for d in md.dpars if d.name == p.param)
        return bounded_dist("beta", (alpha, (K - 1) * alpha), None, None, size)
    return bounded_dist(p.dist.name, p.dist.args, p.lb, p.ub, size)


def prior_draws(fit: Fit, n_chains: int, n_draws: int, seed: int | None = None) -> dict[str, np.ndarray]:
    """Draws from every proper prior of the fit, named as brms's ``sample_prior = "yes"``.

    ``prior_b`` (or ``prior_b_<coef>`` for each coefficient once a user gave
    coefficient priors), ``prior_Intercept`` (the centred intercept),
    ``prior_<dpar>`` (``prior_sigma``), ``prior_sd_<group>`` (or
    ``prior_sd_<group>__<coef>``) and ``prior_cor_<group>`` (one correlation of
    the LKJ matrix).  Bounded parameters get truncated priors (half-normal
    ``sd``, ...).  Flat priors have no draws.  Each array is (chain, draw).

    Example:
        >>> sorted(prior_draws(fit, 4, 1000, seed=1))
        ['prior_Intercept', 'prior_cor_Subject', 'prior_sd_Subject', 'prior_sigma']
    """
    coef_level = {(u.class_, u.group) for u in fit.priors.user if u.coef}
    variables: dict[str, TensorVariable] = {}
    for p in sorted(fit.priors.params, key=lprior_order):
        name = _draw_name(p, coef_level)
        if p.dist is not None and name not in variables:
            variables[name] = prior_variable(p, fit.model_data, (n_chains, n_draws))
    if not variables:
        return {}
    values = pm.draw(list(variables.values()), random_seed=np.random.default_rng(seed))
    return dict(zip(variables, (np.asarray(v) for v in values)))


def add_prior_draws(fit: Fit, draws_of: Callable[..., dict[str, np.ndarray]] = prior_draws) -> az.InferenceData:
    """The fit's InferenceData with :func:`prior_draws` (or ``draws_of``, a function of the same
    arguments: :func:`brmc.mvprior.mv_prior_draws`) added to the posterior (one prior draw per
    posterior draw, seeded by the fit's seed).

    Example:
        >>> import dataclasses
        >>> with_prior = dataclasses.replace(fit, idata=add_prior_draws(fit))
        >>> sorted(v for v in with_prior.idata.posterior.data_vars if v.startswith("prior_"))
        ['prior_Intercept', 'prior_cor_Subject', 'prior_sd_Subject', 'prior_sigma']
    """
    post = fit.idata.posterior
    draws = draws_of(fit, post.sizes["chain"], post.sizes["draw"], fit.settings.seed)
    groups = {g: fit.idata[g] for g in fit.idata.groups()}
    groups["posterior"] = post.assign({name: (("chain", "draw"), values) for name, values in draws.items()})
    return az.InferenceData(**groups)
