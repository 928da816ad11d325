"""What post-processing asks of a fit's model, for a univariate (:class:`~brmc.data.ModelData`) and a
multivariate one (:class:`~brmc.mvdata.MvModelData`) alike: its priors resolved, its PyMC model, the
raw draws under brms's names, and the model's constrained parameters back from brms's draws.

Moment matching, bridge sampling and power-scaling (:mod:`brmc.unconstrained`,
:mod:`brmc.sensitivity`) go through these, so they take either kind of fit unchanged, as brms's
``loo_moment_match``, ``bridge_sampler`` and priorsense take any ``brmsfit``: they need only the joint
density of the parameters, the pointwise log-likelihood and the log prior.

Examples
--------
>>> sorted(constrained_parameters(mvfit.idata.posterior, mvfit.model_data))  # doctest: +NORMALIZE_WHITESPACE
['Intercept_english', 'Intercept_math', 'L_1', 'Lrescor', 'b_english', 'b_math', 'sd_1', 'sigma_english',
 'sigma_math']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .errors import DataError
from .model import BuiltModel, build_model
from .multivariate import rescor_matrices
from .mvdata import MvModelData, resolve_mv_priors
from .mvmodel import build_mv_model, mv_posterior
from .mvsubset import ONE_RESP
from .priors import Prior, PriorSpec, resolve_priors
from .sampling import brms_posterior, model_parameters

if TYPE_CHECKING:
    from .data import ModelData


def resolve_any(md: ModelData | MvModelData, user: list[Prior]) -> PriorSpec:
    """brms's defaults and the user's priors for the model: :func:`brmc.priors.resolve_priors` or
    :func:`brmc.mvdata.resolve_mv_priors`.

    Parameters
    ----------
    md : ModelData or MvModelData
    user : list of Prior

    Returns
    -------
    PriorSpec

    Examples
    --------
    >>> [p.param for p in resolve_any(mvfit.model_data, []).params][-1]
    'Lrescor'
    """
    return resolve_mv_priors(md, user) if isinstance(md, MvModelData) else resolve_priors(md, user)


def build_any(md: ModelData | MvModelData, spec: PriorSpec, prior_only: bool = False) -> BuiltModel:
    """The model as one PyMC model: :func:`brmc.model.build_model` or :func:`brmc.mvmodel.build_mv_model`.

    Parameters
    ----------
    md : ModelData or MvModelData
    spec : PriorSpec
    prior_only : bool, default False
        Leave out the likelihood.

    Returns
    -------
    BuiltModel

    Examples
    --------
    >>> "Lrescor_raw" in build_any(mvfit.model_data, mvfit.priors).model.named_vars
    True
    """
    return (build_mv_model if isinstance(md, MvModelData) else build_model)(md, spec, prior_only)


def brms_draws(raw: xr.Dataset, md: ModelData | MvModelData) -> xr.Dataset:
    """The model's raw draws under brms's names and order: :func:`brmc.sampling.brms_posterior` or
    :func:`brmc.mvmodel.mv_posterior`.

    Parameters
    ----------
    raw : xarray.Dataset
        Draws of the model's variables (chain, draw, ...).
    md : ModelData or MvModelData

    Returns
    -------
    xarray.Dataset
    """
    return mv_posterior(raw, md) if isinstance(md, MvModelData) else brms_posterior(raw, md)


def constrained_parameters(posterior: xr.Dataset, md: ModelData | MvModelData) -> dict[str, np.ndarray]:
    """The model's constrained parameters back from brms's draws (:func:`brmc.sampling.model_parameters`),
    with a multivariate model's ``Lrescor``, the Cholesky factor of the residual correlations.

    Parameters
    ----------
    posterior : xarray.Dataset
        brms's draws.
    md : ModelData or MvModelData

    Returns
    -------
    dict
        Each (chain, draw, ...).

    Examples
    --------
    >>> constrained_parameters(mvfit.idata.posterior, mvfit.model_data)["Lrescor"].shape
    (2, 100, 2, 2)
    """
    out = model_parameters(posterior, md)
    if isinstance(md, MvModelData) and md.rescor:
        out["Lrescor"] = np.linalg.cholesky(rescor_matrices(posterior, list(md.responses)))
    return out


def joint_responses(mv: MvModelData, chosen: list[str]) -> bool:
    """Whether brms's ``log_lik(resp = chosen)`` of a multivariate model is each row's joint density of
    the responses (with ``rescor``, all of them) rather than the sum of each chosen response's own
    (its marginal one with ``rescor``).

    Parameters
    ----------
    mv : MvModelData
    chosen : list of str
        The responses, checked to be the model's.

    Returns
    -------
    bool

    Raises
    ------
    DataError
        Several responses of a ``subset()`` model; some but not all responses of a ``rescor`` model
        with more than one.

    Examples
    --------
    >>> joint_responses(mvfit.model_data, ["english", "math"]), joint_responses(mvfit.model_data, ["math"])
    (True, False)
    """
    if len(chosen) > 1 and mv.subsets:
        raise DataError(ONE_RESP)
    if mv.rescor and 1 < len(chosen) < len(mv.responses):
        raise DataError("With set_rescor(TRUE) resp= takes one response (its marginal density) or all of them "
                        f"(their joint density); got {', '.join(chosen)}.")
    return mv.rescor and len(chosen) > 1
