"""A multivariate model (:class:`~brmc.mvdata.MvModelData`) as one PyMC model, its draws under brms's
names, and its pointwise log-likelihood.

Each response's predictors come from the term kinds as in a univariate model, into one graph (the
blocks of an ID ``(1 | p | g)`` share their parameters); the likelihood is brms's: with ``rescor``
``multi_normal_cholesky(Y | Mu, diag_pre_multiply(sigma, Lrescor))`` (or the student one), else
the sum of each response's own family.

Examples
--------
>>> import brmc
>>> from brmc.mvdata import build_mv_data, resolve_mv_priors
>>> f = brmc.bf("mvbind(english, math) ~ craven + (1 | p | school)") + brmc.set_rescor(True)
>>> mv = build_mv_data(f, brmc.datasets.load("jspr"))
>>> built = build_mv_model(mv, resolve_mv_priors(mv))
>>> sorted(v.name for v in built.model.free_RVs)  # doctest: +NORMALIZE_WHITESPACE
['Intercept_english', 'Intercept_math', 'L_1_raw', 'Lrescor_raw', 'b_english', 'b_math', 'sd_1',
 'sigma_english', 'sigma_math', 'z_1']
"""

from __future__ import annotations

import hashlib

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr
from scipy.special import gammaln

from . import naming, terms
from .data import ModelData
from .families import inverse_link
from .families.core import with_se
from .graph import cholesky_corr, parameter
from .model import (
    BuiltModel,
    _add_priors,
    data_values,
    dpar_parameter,
    fallback_start,
    graph_context,
    ordered_intercepts,
    predictor_graphs,
    prior_values,
    structure_key,
    thresholds,
)
from .multivariate import (
    multi_normal_rescor_lpdf,
    multi_student_rescor_lpdf,
    rescor_matrices,
    rescor_names,
)
from .mvdata import MvModelData
from .priors import PriorSpec
from .sampling import family_dpars, linear_predictors


def _values(mv: MvModelData, spec: PriorSpec) -> dict[str, np.ndarray]:
    """Every ``pm.Data`` value: each response's (``Y_<resp>``, its addition terms ``<term>_<resp>``,
    its kinds' data, already named by response) and the priors' hyperparameters."""
    values: dict[str, np.ndarray] = {}
    for resp, md in mv.responses.items():
        own = {"Y", *md.additions}
        values |= {f"{k}_{resp}" if k in own else k: v for k, v in data_values(md).items()}
    return values | prior_values(spec)


def build_mv_model(mv: MvModelData, spec: PriorSpec, prior_only: bool = False) -> BuiltModel:
    """Write brms's multivariate model as one PyMC model.

    Parameters
    ----------
    mv : MvModelData
        The model's data.
    spec : PriorSpec
        Its priors (:func:`brmc.mvdata.resolve_mv_priors`).
    prior_only : bool, default False
        Leave out the likelihood (brms's ``sample_prior = "only"``).

    Returns
    -------
    BuiltModel
        One ``Y_<resp>`` data container per response; its likelihood ``Y_loglik`` (with ``rescor``) or
        ``Y_<resp>_loglik`` per response.

    Examples
    --------
    >>> built = build_mv_model(mvfit.model_data, mvfit.priors)
    >>> [p.name for p in built.model.potentials if p.name.endswith("loglik")]
    ['Y_loglik']
    """
    values = _values(mv, spec)
    params: dict[str, pt.TensorVariable] = {}
    with pm.Model() as model:
        ctx = graph_context(mv.nobs, values, params, spec)
        shared = {}
        if mv.shared_nu:
            params["nu"] = shared["nu"] = parameter("nu", (), *spec.bounds("nu"))
        parts = {}
        for resp, md in mv.responses.items():
            ctx.nobs, ctx.intercepts = md.nobs, ordered_intercepts(md)  # its subset()'s rows; a mixture's order
            etas = predictor_graphs(md, ctx)
            scalars = dict(shared) | thresholds(md, params)
            scalars |= {name: dpar_parameter(d, ctx) for name, d in mv.response_dpars(resp)}
            parts[resp] = (terms.mi.response_values(md, f"_{resp}", ctx), etas, scalars)  # Yl under mi()
        _add_priors(spec, params, values)
        L = _rescor_cholesky(mv, values) if mv.rescor else None  # with its lkj prior, prior_only or not
        if not prior_only and mv.rescor:
            pm.Potential("Y_loglik", _rescor_logp(mv, values, parts, L))
        elif not prior_only:
            for resp, (Y, etas, scalars) in parts.items():
                pm.Potential(f"Y_{resp}_loglik", _response_logp(mv.responses[resp], resp, values, Y, etas,
                                                                scalars, params))
    key = hashlib.sha256("|".join([str(mv.rescor), *mv.responses, *(structure_key(md, spec, prior_only)
                                                                      for md in mv.responses.values())]).encode())
    start = {f"Intercept{md.predictors['mu'].suffix}": v for md in mv.responses.values()
             for v in fallback_start(md).values()}
    return BuiltModel(model=model, structure=key.hexdigest()[:16], values=values, start=start)


def _additions(md: ModelData, resp: str, values: dict[str, np.ndarray]) -> dict:
    """A response's addition terms in the graph (``pm.Data`` ``<term>_<resp>``)."""
    return {k: pm.Data(f"{k}_{resp}", values[f"{k}_{resp}"]) if isinstance(v, np.ndarray) else v
            for k, v in md.additions.items()}


def _response_logp(md: ModelData, resp: str, values: dict[str, np.ndarray], Y: pt.TensorVariable, etas: dict,
                   scalars: dict, params: dict) -> pt.TensorVariable:
    """One response's log-likelihood under its own family (no residual correlations); with ``cosy()`` or
    ``unstr()`` one density per series (:func:`brmc.terms.ac.likelihood`)."""
    additions = _additions(md, resp, values)
    eta = md.eta_mu(etas)
    dpars = md.family.scale_dpars(Y, eta, md.dpar_values(etas, scalars), list(scalars))
    logp = terms.ac.likelihood(md, Y, eta, dpars, params)
    return (md.family.pointwise_logp(Y, eta, dpars, additions) if logp is None else logp).sum()


def _rescor_cholesky(mv: MvModelData, values: dict[str, np.ndarray]) -> pt.TensorVariable:
    """``Lrescor``, the Cholesky factor of the residual correlations, with its ``lkj`` prior."""
    eta = values.get("hp_Lrescor_lkj")
    lkj = pm.Data("hp_Lrescor_lkj", eta)[0, 0] if eta is not None else 1.0
    return cholesky_corr("Lrescor", len(mv.responses), lkj)


def _rescor_logp(mv: MvModelData, values: dict[str, np.ndarray], parts: dict,
                 L: pt.TensorVariable) -> pt.TensorVariable:
    """brms's likelihood with residual correlations: the responses as the columns of one matrix, each
    response's residual sd its ``sigma`` with its known ``se()`` folded in (brms's ``stan_sigma_transform``:
    ``sqrt(square(sigma) + se2[n])``, or ``se[n]``), the imputed values of a response under ``mi()`` in ``Y``."""
    Y = pt.stack([p[0] for p in parts.values()], axis=1)
    mus, sigmas, additions = [], [], {}
    for resp, (_, etas, scalars) in parts.items():
        md = mv.responses[resp]
        additions[resp] = _additions(md, resp, values)
        mus.append(inverse_link(md.predictors["mu"].link, etas["mu"]))
        sigmas.append(with_se(md.dpar_values(etas, scalars), additions[resp])["sigma"] * pt.ones(mv.nobs))
    Mu, sigma = pt.stack(mus, axis=1), pt.stack(sigmas, axis=1)
    first = next(iter(parts))
    weights = additions[first].get("weights")  # the same for all responses
    if mv.shared_nu:
        return multi_student_rescor_lpdf(Y, parts[first][2]["nu"], Mu, sigma, L, weights)
    return multi_normal_rescor_lpdf(Y, Mu, sigma, L, weights)


def mv_posterior(raw: xr.Dataset, mv: MvModelData) -> xr.Dataset:
    """Raw draws → brms's names and order: every response's intercepts, coefficients, group-level
    parameters and family parameters (:func:`brmc.naming.brms_posterior`), then ``rescor__<j>__<k>``.

    Parameters
    ----------
    raw : xarray.Dataset
        The model's draws (chain, draw, ...).
    mv : MvModelData

    Returns
    -------
    xarray.Dataset

    Examples
    --------
    >>> from brmc.algorithms import approximate
    >>> from brmc.sampling import SamplerSettings
    >>> settings = SamplerSettings(algorithm="fixed_param", chains=1, iter=4, warmup=2, seed=1)
    >>> raw = approximate(build_mv_model(mvfit.model_data, mvfit.priors), settings).raw.posterior
    >>> list(mv_posterior(raw, mvfit.model_data).data_vars)[6:10]
    ['cor_school__english_Intercept__math_Intercept', 'sigma_english', 'sigma_math', 'rescor__english__math']
    """
    posterior = naming.brms_posterior(raw, mv, terms.parts)
    if not mv.rescor:
        return posterior
    responses = list(mv.responses)
    rescor = {name: (("chain", "draw"), values) for name, values in
              naming.correlations(raw, "Lrescor", len(responses), rescor_names(responses)).items()}
    names = list(posterior.data_vars)
    cut = max((names.index(d.name) + 1 for d in mv.dpars if d.name in names), default=len(names))
    order = names[:cut] + list(rescor) + names[cut:]
    return posterior.assign(rescor)[order]


def response_posterior(posterior: xr.Dataset, mv: MvModelData, resp: str) -> xr.Dataset:
    """The draws as a univariate model of ``resp`` reads them: its family parameters under their
    own names (``sigma`` for ``sigma_english``)."""
    own = {d.name: d for d in mv.responses[resp].dpars}
    return posterior.assign({name: posterior[mv_name] for base, d in mv.response_dpars(resp)
                             for name, mv_name in zip(own[base].names, d.names)})


def response_parts(posterior: xr.Dataset, mv: MvModelData, resp: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``resp``'s linear predictor of ``mu`` and its family parameters on the training rows, from the draws:
    (chain, draw, obs) and by dpar."""
    md = mv.responses[resp]
    view = response_posterior(posterior, mv, resp)
    etas = linear_predictors(view, md)
    return md.eta_mu(etas), md.dpar_values(etas, family_dpars(view, md))


def mv_log_lik(posterior: xr.Dataset, mv: MvModelData) -> np.ndarray:
    """Pointwise log-likelihood (chain, draw, obs) as brms's ``log_lik`` of a multivariate fit: with
    ``rescor`` each row's joint density of all responses, else the sum of the responses' own.

    Parameters
    ----------
    posterior : xarray.Dataset
        brms's draws.
    mv : MvModelData

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> mv_log_lik(mvfit.idata.posterior, mvfit.model_data).shape
    (2, 100, 953)
    """
    if not mv.rescor:
        total = 0.0
        for resp, md in mv.responses.items():
            eta, dpars = response_parts(posterior, mv, resp)
            values = terms.ac.time_log_lik(md, eta, dpars, posterior)  # cosy(), unstr(): given the series' rest
            total = total + (md.family.log_lik(terms.mi.observed(md), eta, dpars, md.additions)  # NaN: missing
                             if values is None else values)
        return np.asarray(total)
    Y, Mu, sigma, L, nu = rescor_draws(posterior, mv)
    weights = next(iter(mv.responses.values())).additions.get("weights")  # the same for all (brms's weights[n])
    return mv_rows_logp(Y, Mu, sigma, L, nu) * (1.0 if weights is None else weights)


def rescor_draws(posterior: xr.Dataset, mv: MvModelData) -> tuple:
    """The pieces of the ``rescor`` likelihood per draw: Y (obs, R), Mu and the residual sds with
    ``se()`` folded in (chain, draw, obs, R),
    ``Lrescor`` (chain, draw, R, R) and student's ``nu`` (chain, draw) or None."""
    mus, sigmas = [], []
    for resp, md in mv.responses.items():
        eta, dpars = response_parts(posterior, mv, resp)
        mus.append(inverse_link(md.predictors["mu"].link, eta))
        sigmas.append(np.broadcast_to(with_se(dpars, md.additions)["sigma"], eta.shape))
    C = rescor_matrices(posterior, list(mv.responses))
    Y = np.stack([terms.mi.observed(md) for md in mv.responses.values()], axis=-1)  # NaN where missing: brms's NA
    nu = posterior["nu"].values if mv.shared_nu else None
    return Y, np.stack(mus, axis=-1), np.stack(sigmas, axis=-1), np.linalg.cholesky(C), nu


def mv_rows_logp(Y: np.ndarray, Mu: np.ndarray, sigma: np.ndarray, L: np.ndarray, nu: np.ndarray | None) -> np.ndarray:
    """Each row's ``multi_normal_cholesky_lpdf(y | mu, diag(sigma) L)`` (or the student one), per draw."""
    z = (Y - Mu) / sigma  # chain, draw, obs, R
    w = np.einsum("cdij,cdnj->cdni", np.linalg.inv(L), z)
    norms = (w**2).sum(axis=-1)
    log_det = np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)[..., None] + np.log(sigma).sum(axis=-1)
    R = Y.shape[-1]
    if nu is None:
        return -0.5 * norms - log_det - 0.5 * R * np.log(2 * np.pi)
    nu = nu[..., None]
    const = gammaln((nu + R) / 2) - gammaln(nu / 2) - 0.5 * R * np.log(nu * np.pi)
    return const - log_det - (nu + R) / 2 * np.log1p(norms / nu)
