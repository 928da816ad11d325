"""A fit's draws on the model's unconstrained scale, with the model's compiled log density
and pointwise log-likelihood as functions of such draws: what brms reaches through
rstan's ``unconstrain_pars``, ``log_prob`` and ``constrain_pars`` for moment matching
(:mod:`brmc.moment_match`) and bridge sampling (:mod:`brmc.bridge`).

brms needs ``save_pars(all = TRUE)`` for these (the standardised group-level effects
``z_`` are not kept otherwise); brmc recovers them from the draws every fit keeps
(``z = L⁻¹ (r / sd)``), so any fit works.  The log density is the model's own
JAX function (:class:`brmc.backends.JaxModel`, compiled once per model structure and
process), with the Jacobian of the constraining transforms, as rstan's
``log_prob(adjust_transform = TRUE)``.

Example:
    >>> post = UnconstrainedPosterior.of(fit)
    >>> post.upars.shape  # 400 draws; b, Intercept, z_1 (2 x 18), sd_1, sigma, L_1_raw
    (400, 42)
    >>> bool(np.allclose(post.log_lik(post.upars, [0, 5]),
    ...                  fit.log_likelihood().values.reshape(400, -1)[:, [0, 5]]))
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np
import pytensor
import pytensor.tensor as pt
import xarray as xr

from .anymodel import brms_draws, build_any, constrained_parameters, joint_responses
from .errors import DataError
from .inits import cholesky_raw
from .mvdata import MvModelData
from .mvmodel import mv_log_lik, response_posterior
from .sampling import (
    Rows,
    family_dpars,
    flat_draws,
    jax_model,
    linear_predictor,
    training_design,
)
from .terms.gr import standardised_effects
from .terms.re import group_effects

if TYPE_CHECKING:
    import pymc as pm

    from .backends import JaxModel
    from .data import ModelData
    from .fit import Fit


@cache
def _batched_logp(model: JaxModel):
    """The model's log density over a leading axis of draws, jitted once per model."""
    import jax

    return jax.jit(jax.vmap(model.logp, in_axes=(0, None)))


def row_additions(additions: dict, rows: np.ndarray, nobs: int) -> dict:
    """The addition terms (``trials``, ``cens``, ...) of rows ``rows`` of ``nobs``.

    Example:
        >>> row_additions({"trials": np.array([5, 6, 7]), "family_constant": 2.0}, np.array([2]), 3)
        {'trials': array([7]), 'family_constant': 2.0}
    """
    return {k: v[rows] if np.ndim(v) and len(v) == nobs else v for k, v in additions.items()}


def rows_log_lik(posterior: xr.Dataset, md: ModelData, rows: Sequence[int]) -> np.ndarray:
    """The pointwise log-likelihood of the training rows ``rows`` at every draw of
    ``posterior`` (brms's parameters): (chain × draw, rows).

    Example:
        >>> ll = rows_log_lik(fit.idata.posterior, fit.model_data, [3])
        >>> bool(np.allclose(ll[:, 0], fit.log_likelihood().values[..., 3].reshape(-1)))
        True
    """
    rows = np.asarray(rows, dtype=int)
    etas = {}
    for dpar, design in training_design(md).items():
        if any(values is None for values in design.values()):  # a kind reading every row's values from the
            eta = linear_predictor(posterior, md.predictors[dpar], design)  # draws (me(), mi()): all rows, cut
            etas[dpar] = np.broadcast_to(eta, (len(eta), md.nobs))[:, rows]
            continue
        subset = Rows({kind: _rows_of(values, rows, md.nobs) for kind, values in design.items()})
        etas[dpar] = linear_predictor(posterior, md.predictors[dpar], subset)
    scalars = {k: flat_draws(v) for k, v in family_dpars(posterior, md).items()}
    return md.family.log_lik(md.y[rows], md.eta_mu(etas), md.dpar_values(etas, scalars),
                             row_additions(md.additions, rows, md.nobs))


def _rows_of(values: Any, rows: np.ndarray, nobs: int) -> Any:
    """A kind's values for all ``nobs`` training rows (:meth:`brmc.terms.base.TermKind.rows`) cut
    to ``rows``: arrays with a row per observation, inside lists, tuples and the fields of
    dataclasses (one level: a group-level block's ``index`` and ``Z``)."""
    if isinstance(values, np.ndarray):
        return values[rows] if values.shape[:1] == (nobs,) else values
    if isinstance(values, (list, tuple)):
        return type(values)(_rows_of(v, rows, nobs) for v in values)
    if dataclasses.is_dataclass(values):
        return dataclasses.replace(values, **{f.name: getattr(values, f.name)[rows] for f in dataclasses.fields(values)
                                              if isinstance(getattr(values, f.name), np.ndarray)
                                              and getattr(values, f.name).shape[:1] == (nobs,)})
    return values


def model_values(fit: Fit) -> dict[str, np.ndarray]:
    """The model's free parameters (PyMC names, constrained scale) at each draw of the fit,
    (draws, ...): :func:`brmc.sampling.model_parameters` plus the standardised group-level
    effects ``z_<id>`` = ``L⁻¹ (r / sd)`` (:func:`brmc.terms.gr.standardised_effects`: with ``gr()``'s ``by``
    and ``cov``) and each Cholesky factor's unconstrained ``L_<id>_raw`` (``unstr()``'s ``Lcortime_raw``).

    Example:
        >>> sorted(model_values(fit))
        ['Intercept', 'L_1_raw', 'b', 'sd_1', 'sigma', 'z_1']
    """
    post, md = fit.idata.posterior, fit.model_data
    values = {k: flat_draws(np.asarray(v)) for k, v in constrained_parameters(post, md).items()}
    for block in filter(lambda b: b.leads, md.blocks):  # the blocks of an ID (1 | p | g) have one z and L
        if block.student:
            raise DataError(f"The draws do not determine the scales udf_{block.ggn} of the Student-t effects of "
                            f"{block.term}: moment matching and bridge sampling cannot evaluate this model's density.")
        effects = np.concatenate([flat_draws(group_effects(post, b)) for b in block.members], axis=-1)
        L = None
        if block.correlated:  # L_<id>, or L_<id>_<j> per level of gr(g, by = x)
            L = np.stack([values[n] for n in block.L_names], axis=1)
            values |= {f"{n}_raw": np.stack([cholesky_raw(l) for l in values.pop(n)]) for n in block.L_names}
        values[f"z_{block.id}"] = standardised_effects(effects, values[f"sd_{block.id}"], L, block.by_index, block.Lcov)
    for name in [n for n in values if n.startswith("Lcortime") or n == "Lrescor"]:  # unstr()'s correlation
        values[f"{name}_raw"] = np.stack([cholesky_raw(l) for l in values.pop(name)])  # matrix, rescor's
    return values


def unconstrain(model: pm.Model, values: dict[str, np.ndarray]) -> np.ndarray:
    """Draws of the model's free parameters by name (draws, ...) → the unconstrained vectors
    (draws, D) its log density takes: each through its PyMC transform, in the model's
    order of value variables (:meth:`brmc.backends.JaxModel.logp`)."""
    free = {rv.name: rv for rv in model.free_RVs}
    missing = sorted(set(free) - set(values))
    if missing:
        raise DataError(f"The draws do not determine the model parameter(s) {', '.join(missing)}: "
                        "moment matching and bridge sampling cannot evaluate this model's density.")
    inputs, outputs = [], []
    for value_var in model.value_vars:
        rv = model.values_to_rvs[value_var]
        x = pt.tensor(f"{rv.name}_draws", dtype="float64", shape=(None, *rv.type.shape))
        transform = model.rvs_to_transforms.get(rv)
        inputs.append(x)
        y = x if transform is None else transform.forward(x, *rv.owner.inputs)
        outputs.append(pt.reshape(y, (x.shape[0], -1)))
    with pytensor.config.change_flags(cxx=""):
        fn = pytensor.function(inputs, pt.concatenate(outputs, axis=1), on_unused_input="ignore")
    names = [model.values_to_rvs[v].name for v in model.value_vars]
    return np.asarray(fn(*[np.asarray(values[n], dtype=float) for n in names]))


@dataclass
class UnconstrainedPosterior:
    """A fit's draws on the unconstrained scale (``upars``, draws × D, chains one after another)
    and the model's density and pointwise log-likelihood as functions of such draws."""

    fit: Fit
    model: JaxModel
    data: tuple
    upars: np.ndarray

    @classmethod
    def of(cls, fit: Fit) -> UnconstrainedPosterior:
        """The fit's model (its compiled JAX density, made once per structure) and draws."""
        if fit.settings.sample_prior == "only":
            raise DataError("The fit sampled the prior only (sample_prior='only'): it has no posterior "
                            "density to evaluate.")
        built = build_any(fit.model_data, fit.priors)
        model, data = jax_model(built)
        return cls(fit=fit, model=model, data=data, upars=unconstrain(built.model, model_values(fit)))

    @property
    def chains(self) -> int:
        return int(self.fit.idata.posterior.sizes["chain"])

    def log_prob(self, upars: np.ndarray) -> np.ndarray:
        """The log posterior density (up to a constant, Jacobian included) at each row of ``upars``."""
        return np.asarray(_batched_logp(self.model)(np.asarray(upars, dtype=float), self.data))

    def posterior(self, upars: np.ndarray) -> xr.Dataset:
        """The draws ``upars`` as brms's parameters (one chain)."""
        raw = az.from_dict(posterior=self.model.constrained(np.asarray(upars, dtype=float)[None]))
        return brms_draws(raw.posterior, self.fit.model_data)

    def log_lik(self, upars: np.ndarray, rows: Sequence[int], resp: str | list[str] | None = None) -> np.ndarray:
        """The log-likelihood of the training rows ``rows`` at each row of ``upars``: (draws, rows); of a
        multivariate model as its ``log_lik(resp=)`` (:func:`brmc.mvcriteria.mv_log_lik_of`): each row's
        joint density of all responses with ``rescor``, else the sum of the chosen responses' own."""
        post, md = self.posterior(upars), self.fit.model_data
        if not isinstance(md, MvModelData):
            return rows_log_lik(post, md, rows)
        chosen = self.fit.chosen(resp)
        if joint_responses(md, chosen):
            return flat_draws(mv_log_lik(post, md))[:, rows]
        return sum(rows_log_lik(response_posterior(post, md, r), md.responses[r], rows) for r in chosen)
