"""brms's ``sample_prior = "yes"`` of a multivariate model: draws from each proper prior, named as
brms names them after the Stan parameter: ``prior_b_english``, ``prior_Intercept_math``,
``prior_sigma_english``, ``prior_sd_school``, ``prior_cor_school``, ``prior_rescor`` (and a shared
``prior_nu``).

Examples
--------
>>> sorted(mv_prior_draws(mvfit, 1, 3, seed=1))[:3]
['prior_Intercept_english', 'prior_Intercept_math', 'prior_cor_school']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pymc as pm
from pytensor.tensor import TensorVariable

from .distributions import bounded_dist, lkj_correlation
from .mvdata import response_priors
from .naming import prefix, prior_name
from .prior_sampling import lprior_order, prior_variable
from .priors import ParamPrior, resolve_priors

if TYPE_CHECKING:
    from .mvfit import MvFit


def _draw_name(p: ParamPrior, resp: str, coef_level: set[tuple[str, str, str]]) -> str:
    """brms's name of the prior draws of one response's ``p``: ``prior_`` and its Stan parameter
    (``b_english``, ``Intercept_english``, ``sigma_english``; ``sd`` and ``cor`` by group), per
    coefficient where a user prior on one of the response's coefficients of the class makes brms so."""
    per_coef = bool({(p.class_, p.group, resp), (p.class_, p.group, "")} & coef_level)
    if p.class_ in ("b", "Intercept"):
        return prior_name(p.class_, p.coef, p.group, prefix(p.dpar, resp), per_coef)
    if p.class_ in ("sd", "cor"):
        return prior_name(p.class_, p.coef, p.group, p.dpar if p.dpar != "mu" else "", per_coef)
    if p.class_ in ("meanme", "sdme") or p.param.endswith(f"_{resp}"):  # shared, or named by response (ar_y1)
        return f"prior_{p.param}"
    return f"prior_{p.param}_{resp}"


def mv_prior_draws(fit: MvFit, n_chains: int, n_draws: int, seed: int | None = None) -> dict[str, np.ndarray]:
    """Draws from every proper prior of a multivariate fit (:func:`brmc.prior_sampling.prior_draws`
    response by response, under brms's multivariate names), each (chain, draw).

    Parameters
    ----------
    fit : MvFit
        A multivariate fit.
    n_chains, n_draws : int
        The draws' shape.
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    dict of str to numpy.ndarray

    Examples
    --------
    >>> draws = mv_prior_draws(mvfit, 2, 10, seed=1)
    >>> draws["prior_rescor"].shape, bool(draws["prior_sigma_math"].min() > 0)
    ((2, 10), True)
    """
    mv, size = fit.model_data, (n_chains, n_draws)
    user = fit.priors.user
    coef_level = {(u.class_, u.group, u.resp) for u in user if u.coef}
    variables: dict[str, TensorVariable] = {}
    for resp, md in mv.responses.items():
        for p in sorted(resolve_priors(md, response_priors(md, user, resp)).params, key=lprior_order):
            name = _draw_name(p, resp, coef_level)
            if p.dist is not None and name not in variables and not (mv.shared_nu and p.class_ == "nu"):
                variables[name] = prior_variable(p, md, size)
    for p in fit.priors.params:
        if p.class_ == "rescor":
            variables["prior_rescor"] = lkj_correlation(p.dist.args[0], len(mv.responses), size)
        elif p.class_ == "nu" and mv.shared_nu:
            variables["prior_nu"] = bounded_dist(p.dist.name, p.dist.args, p.lb, p.ub, size)
    values = pm.draw(list(variables.values()), random_seed=np.random.default_rng(seed))
    return dict(zip(variables, (np.asarray(v) for v in values)))
