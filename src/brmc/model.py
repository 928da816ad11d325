"""ModelData + priors + family → the PyMC model brms would write in Stan.

The model's frame: each kind of term (:mod:`brmc.terms`) adds its parameters and
its part of the linear predictor (population effects on centred columns with a
temporary ``Intercept``, non-centred group effects gathered by integer level
index, offsets); here come the priors, the family parameters and the likelihood.  Every data array and every prior hyperparameter is a ``pm.Data``
container, so refits with new values reuse the compiled model.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.formula.parse_formula("Reaction ~ Days + (Days | Subject)"),
    ...                           brmc.datasets.load("sleepstudy"), brmc.families.get_family("gaussian"))
    >>> built = build_model(md, brmc.priors.resolve_priors(md))
    >>> sorted(v.name for v in built.model.free_RVs)
    ['Intercept', 'L_1_raw', 'b', 'sd_1', 'sigma', 'z_1']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace, vectorize_graph
from pytensor.graph.traversal import ancestors

from . import naming, terms
from .data import ModelData
from .distributions import pymc_dist
from .errors import FamilyError
from .families import DistPar
from .graph import cholesky_corr, corr_cholesky, parameter  # noqa: F401  (re-exported)
from .priors import ParamPrior, PriorSpec
from .terms.base import GraphContext


@dataclass
class BuiltModel:
    """A PyMC model plus what is needed to reuse it.

    ``structure`` hashes everything that changes the graph (not data values or
    hyperparameters); ``values`` holds the current value of every ``pm.Data``;
    ``start`` is where a chain starts when no random start has a finite density
    (:func:`fallback_start`).
    """

    model: pm.Model
    structure: str
    values: dict[str, np.ndarray]
    start: dict[str, np.ndarray] = field(default_factory=dict)


def fallback_start(md: ModelData) -> dict[str, np.ndarray]:
    """A start for chains that no random start suits (brmc's, not Stan's): mu's temporary
    ``Intercept`` at the link of the mean response, so that with every other parameter at 0 on
    the unconstrained scale the mean is the data's everywhere (an inverse link's eta positive).

    Parameters
    ----------
    md : ModelData
        The model's data.

    Returns
    -------
    dict
        ``{"Intercept": value}``, or empty where there is no such intercept or the link of the
        mean is not finite.

    Examples
    --------
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.formula.parse_formula("y ~ 1"), {"y": [1.0, 3.0]},
    ...                           brmc.families.get_family("Gamma", link="inverse"))
    >>> fallback_start(md)
    {'Intercept': array(0.5)}
    """
    lp = md.predictors.get("mu")
    if lp is None or not lp.has_intercept or md.family.polytomous:
        return {}
    y = md.y / md.additions["trials"] if "trials" in md.additions else md.y
    if md.family.log_scale:
        y = np.log(y[y > 0])
    with np.errstate(all="ignore"):
        value = md.family.link_np(np.mean(y)) - (np.mean(lp.offset) if lp.offset is not None else 0.0)
    return {"Intercept": np.asarray(float(value))} if np.isfinite(value) else {}


def prior_values(spec: PriorSpec) -> dict[str, np.ndarray]:
    """Hyperparameter arrays by ``pm.Data`` name (``hp_b_normal`` → args × elements)."""
    out: dict[str, np.ndarray] = {}
    for (param, name), slot in _slots(spec):
        out[f"hp_{param}_{name}"] = np.array([p.dist.args for p in slot], dtype=float).T
    return out


def _slots(spec: PriorSpec) -> list[tuple[tuple[str, str], list[ParamPrior]]]:
    """Proper priors grouped by (model parameter, distribution name)."""
    proper = [p for p in spec.params if p.dist is not None]
    key = lambda p: (p.param, p.dist.name)  # noqa: E731
    return [(k, list(g)) for k, g in groupby(sorted(proper, key=key), key=key)]


def structure_key(md: ModelData, spec: PriorSpec, prior_only: bool = False) -> str:
    """Hash of the model's structure: same key ⇒ same graph, only values differ."""
    desc = {
        "family": md.family.to_dict(),
        "dpars": [d.name for d in md.dpars],
        "additions": sorted(k for k in md.additions if k != "se_sigma"),
        "N": md.nobs,
        "categories": len(md.response_levels) if md.family.cats_dpars else 0,
        "ref": md.ref_index if md.family.cats_dpars else 0,
        "predictors": [(lp.dpar, lp.link, [(kind.name, kind.structure(part)) for kind, part in terms.parts(lp)])
                       for lp in md.predictors.values()],
        "thresholds": md.thresholds,
        "priors": [(p.param, p.position, p.dist.name if p.dist else "", p.lb, p.ub) for p in spec.params],
        "prior_only": prior_only,
    }
    return hashlib.sha256(json.dumps(desc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _add_priors(spec: PriorSpec, params: dict[str, pt.TensorVariable], values: dict[str, np.ndarray]) -> None:
    for (param, name), slot in _slots(spec):
        if name == "lkj":
            continue  # added with the Cholesky factor
        data_name = f"hp_{param}_{name}"
        hp = pm.Data(data_name, values[data_name])
        value = params[param]
        n_args = values[data_name].shape[0]
        if name == "dirichlet":  # one prior on a whole simplex
            alpha = [hp[0, 0]]
            pm.Potential(f"lprior_{param}_{name}", pm.logp(pymc_dist(name, alpha, size=value.shape), value))
            continue
        if value.ndim:
            value = value[np.array([p.position for p in slot])]
            args = [hp[i] for i in range(n_args)]
        else:
            args = [hp[i, 0] for i in range(n_args)]
        pm.Potential(f"lprior_{param}_{name}", pm.logp(pymc_dist(name, args), value).sum())


def prior_density(built: BuiltModel) -> tuple[list[str], Callable[..., np.ndarray]]:
    """The model's prior terms (its ``lprior_`` potentials, brms's ``lprior``) as a function
    of the constrained parameters and the Cholesky factors ``L_<id>``.

    Returns the parameter names and a function that takes one array per name, each with
    a leading axis of draws, and gives the summed log prior per draw.

    Example:
        >>> import brmc
        >>> names, f = prior_density(brmc.make_model("Reaction ~ Days", brmc.datasets.load("sleepstudy")))
        >>> names
        ['Intercept', 'sigma']
    """
    model = built.model
    lprior = [p for p in model.potentials if p.name.startswith("lprior_")]
    total = pt.add(*lprior) if lprior else pt.constant(0.0)
    wanted = {v.name.removesuffix("_raw") for v in model.free_RVs}  # L_<id>, not its L_<id>_raw
    params = {v.name: v for v in ancestors([total]) if v.name in wanted and v.owner is not None}
    names = sorted(params)
    single = {n: params[n].type() for n in names}
    batched = {n: pt.tensor(n, shape=(None, *params[n].type.shape)) for n in names}
    per_draw = graph_replace(total, {params[n]: single[n] for n in names}, strict=False)
    vectorised = vectorize_graph(per_draw, {single[n]: batched[n] for n in names})
    return names, pytensor.function([batched[n] for n in names], vectorised, on_unused_input="ignore")


def data_values(md: ModelData) -> dict[str, np.ndarray]:
    """The current value of every data container of the model."""
    values = {"Y": md.y.astype(float)}
    # addition terms (trials, weights, cens, y2, se) are data too
    values |= {k: np.asarray(v, dtype=float) for k, v in md.additions.items() if isinstance(v, np.ndarray)}
    for lp in md.predictors.values():
        for kind, part in terms.parts(lp):
            values |= kind.data_values(lp, part)
    return values


def build_model(md: ModelData, spec: PriorSpec, prior_only: bool = False) -> BuiltModel:
    """Write the brms model for ``md`` under ``spec`` as a PyMC model;
    ``prior_only`` leaves out the likelihood (brms's ``sample_prior = "only"``)."""
    values = {**data_values(md), **prior_values(spec)}
    params: dict[str, pt.TensorVariable] = {}
    with pm.Model() as model:
        ordered = ordered_intercepts(md)
        ctx = graph_context(md.nobs, values, params, spec, intercepts=ordered)
        Y = terms.mi.response_values(md, "", ctx)  # missing values under mi() imputed (brms's Yl)
        etas = predictor_graphs(md, ctx)
        scalars = thresholds(md, params) | {dpar.name: dpar_parameter(dpar, ctx) for dpar in md.dpars}
        _add_priors(spec, params, values)
        if not prior_only:
            additions = {k: pm.Data(k, values[k]) if isinstance(v, np.ndarray) else v
                         for k, v in md.additions.items()}
            eta = md.eta_mu(etas)
            dpars = md.family.scale_dpars(Y, eta, md.dpar_values(etas, scalars), list(scalars))
            logp = terms.ac.likelihood(md, Y, eta, dpars, params)  # cosy(): one density per series
            logp = md.family.pointwise_logp(Y, eta, dpars, additions) if logp is None else logp
            pm.Potential("Y_loglik", logp.sum())
    if prior_only:  # data containers the density no longer reads would confuse nutpie's with_data
        used = set(ancestors([model.logp()]))
        values = {k: v for k, v in values.items() if model[k] in used}
    return BuiltModel(model=model, structure=structure_key(md, spec, prior_only), values=values,
                      start=fallback_start(md))


def thresholds(md: ModelData, params: dict[str, pt.TensorVariable]) -> dict[str, pt.TensorVariable]:
    """The cut points of an ordinal response, ``Intercept<suffix>`` (``Intercept``; ``Intercept_y1`` of
    response ``y1`` of a multivariate model), ordered but for sratio, cratio and acat (brms's free
    ``vector[nthres] Intercept``).

    Parameters
    ----------
    md : ModelData
        The response's data.
    params : dict
        The model's parameters by name; the cut points are added.

    Returns
    -------
    dict
        ``{"thres": ...}`` with an axis of rows, as after sampling; empty for other families.

    Examples
    --------
    >>> with pm.Model():
    ...     thresholds(fit.model_data, {})
    {}
    """
    if not md.thresholds:
        return {}
    name = f"Intercept{md.predictors['mu'].suffix}"
    ordered = pm.distributions.transforms.ordered if md.family.ordered else None
    params[name] = pm.Flat(name, shape=md.thresholds, default_transform=ordered,
                           initval=np.linspace(-1.0, 1.0, md.thresholds))
    return {"thres": params[name][None, :]}


def dpar_parameter(dpar: DistPar, ctx: GraphContext) -> pt.TensorVariable:
    """A family parameter estimated as one number (a simplex of ``size``; a correlation matrix, as its
    Cholesky factor with its ``lkj`` prior).

    Parameters
    ----------
    dpar : DistPar
        The parameter (under a multivariate model's name, ``sigma_y2``).
    ctx : GraphContext
        Its bounds; it goes into ``ctx.params`` by ``dpar.name`` (a correlation matrix's factor does not).

    Returns
    -------
    pytensor.tensor.TensorVariable

    Examples
    --------
    >>> with pm.Model():
    ...     ctx = GraphContext(nobs=1, values={}, params={}, bounds=lambda name: (0.0, None), hyper=None)
    ...     dpar_parameter(DistPar("sigma", lb=0.0), ctx).name, list(ctx.params)
    ('sigma', ['sigma'])
    """
    if dpar.corr:  # logistic_normal's lncor
        return _cholesky_factor(dpar, ctx)
    lb, ub = ctx.bounds(dpar.name)
    shape = (dpar.size,) if dpar.size else ()
    ctx.params[dpar.name] = value = parameter(dpar.parameter, shape, lb, ub, bool(dpar.size))
    return value


def _cholesky_factor(dpar: DistPar, ctx: GraphContext) -> pt.TensorVariable:
    """The Cholesky factor ``L<name>`` of a correlation-matrix dpar with its ``lkj`` prior (brms's
    ``cholesky_factor_corr`` with ``lkj_corr_cholesky``); of dimension 1, the constant 1."""
    if dpar.corr < 2:
        return pt.eye(1)
    eta = ctx.hyper(dpar.name, "lkj")
    return cholesky_corr(dpar.parameter, dpar.corr, eta[0, 0] if eta is not None else 1.0)


def graph_context(nobs: int, values: dict[str, np.ndarray], params: dict[str, pt.TensorVariable], spec: PriorSpec,
                  **extra) -> GraphContext:
    """The kinds' :class:`~brmc.terms.base.GraphContext`: hyperparameters as ``pm.Data`` (``hp_<param>_<dist>``)."""
    def hyper(param: str, dist: str) -> pt.TensorVariable | None:
        name = f"hp_{param}_{dist}"
        return pm.Data(name, values[name]) if name in values else None

    return GraphContext(nobs=nobs, values=values, params=params, bounds=spec.bounds, hyper=hyper, **extra)


def predictor_graphs(md: ModelData, ctx: GraphContext) -> dict[str, pt.TensorVariable]:
    """Each predictor's linear predictor in the graph (its kinds' parts added up), by dpar."""
    return {dpar: terms.linear_predictor({kind.name: kind.graph(lp, part, ctx) for kind, part in terms.parts(lp)})
            for dpar, lp in md.predictors.items()}


def ordered_intercepts(md: ModelData) -> dict[str, pt.TensorVariable]:
    """brms's ``ordered[K] ordered_Intercept`` of a mixture with ``order = "mu"``: the intercepts of
    ``mu1`` < ``mu2`` < ..., each also a deterministic ``Intercept_mu<k>`` (brms's name; ``Intercept_mu1_y1``
    of response ``y1`` of a multivariate model), by dpar."""
    mus = [md.predictors[d] for d in md.mu_dpars]
    if not md.family.mixture or md.family.order != "mu":
        return {}
    if not all(lp.has_intercept for lp in mus):
        raise FamilyError("Identifying mixture components via ordering requires population-level intercepts to be "
                          "present. Try setting order = 'none' in function 'mixture'.")
    ordered = pm.Flat(naming.ordered_intercept(mus[0].resp), shape=len(mus),
                      default_transform=pm.distributions.transforms.ordered, initval=np.linspace(-1.0, 1.0, len(mus)))
    return {lp.dpar: pm.Deterministic(f"Intercept{lp.suffix}", ordered[k]) for k, lp in enumerate(mus)}
