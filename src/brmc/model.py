"""ModelData + priors + family → the PyMC model brms would write in Stan.

The only module that builds PyMC graphs.  Population effects are sampled on
centred columns with a temporary ``Intercept``; group effects are non-centred
(``z`` standard normal, scaled by ``sd`` and, for correlated blocks, by the
Cholesky factor of an LKJ correlation matrix) and gathered by integer level
index.  Every data array and every prior hyperparameter is a ``pm.Data``
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
from pytensor.graph.replace import graph_replace, vectorize_graph
from pytensor.graph.traversal import ancestors

from .data import LinearPredictor, ModelData
from .distributions import pymc_dist
from .errors import FamilyError
from .priors import ParamPrior, PriorSpec


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
        "categories": len(md.response_levels) if md.family.categorical else 0,
        "ref": md.ref_index if md.family.categorical else 0,
        "predictors": [(lp.dpar, len(lp.b_names), lp.has_intercept, lp.link, lp.offset is not None)
                       for lp in md.predictors.values()],
        "thresholds": md.thresholds,
        "blocks": [(b.n_levels, b.coefs == ["Intercept"], len(b.coefs), b.correlated,
                    [_is_ones(b.Z[:, k]) for k in range(len(b.coefs))]) for b in md.blocks],
        "priors": [(p.param, p.position, p.dist.name if p.dist else "", p.lb, p.ub) for p in spec.params],
        "prior_only": prior_only,
    }
    return hashlib.sha256(json.dumps(desc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _parameter(name: str, shape: tuple[int, ...], lb: float | None, ub: float | None, simplex: bool = False):
    """An unconstrained (or bounded, or ``simplex``) parameter whose prior is added separately."""
    if simplex:  # Stan's simplex[K]: K - 1 free values through the stick-breaking transform
        return pm.Flat(name, shape=shape, default_transform=pm.distributions.transforms.simplex,
                       initval=np.full(shape, 1 / shape[0]))
    if lb is None and ub is None:
        return pm.Flat(name, shape=shape)
    if lb == 0 and ub is None:
        return pm.HalfFlat(name, shape=shape)
    transform = pm.distributions.transforms.Interval(lower=lb, upper=ub)
    inside = (lb + ub) / 2 if lb is not None and ub is not None else (lb + 1 if lb is not None else ub - 1)
    return pm.Flat(name, shape=shape, default_transform=transform, initval=np.full(shape, inside))


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


def corr_cholesky(raw: pt.TensorVariable, M: int) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Stan's ``cholesky_factor_corr[M]`` transform: the M(M-1)/2 unconstrained values on
    the last axis of ``raw`` (any leading axes are draws) → (L, log-Jacobian).

    The values map through tanh to canonical partial correlations, filled into the
    rows of L one row after the other, as Stan's ``cholesky_corr_constrain``.
    """
    z = pt.tanh(raw)
    log_jac = pt.sum(pt.log1p(-pt.sqr(z)), axis=-1)
    one, zero = pt.ones_like(z[..., 0]), pt.zeros_like(z[..., 0])
    rows = [[one] + [zero] * (M - 1)]
    k = 0
    for i in range(1, M):
        row = [z[..., k]]
        sum_sqs = pt.sqr(z[..., k])
        k += 1
        for _ in range(1, i):
            log_jac += 0.5 * pt.log1p(-sum_sqs)
            value = z[..., k] * pt.sqrt(1.0 - sum_sqs)
            row.append(value)
            sum_sqs = sum_sqs + pt.sqr(value)
            k += 1
        rows.append(row + [pt.sqrt(1.0 - sum_sqs)] + [zero] * (M - i - 1))
    return pt.stack([pt.stack(r, axis=-1) for r in rows], axis=-2), log_jac


def cholesky_corr(name: str, M: int, eta) -> pt.TensorVariable:
    """Stan's ``cholesky_factor_corr[M]`` with an ``lkj_corr_cholesky(eta)`` prior.

    ``{name}_raw`` holds the unconstrained values (:func:`corr_cholesky`); the
    log-Jacobian and the LKJ density of L (up to a constant in eta) are added as
    potentials.  The returned L is named ``name``, so that the prior term can be
    evaluated at given factors (:func:`prior_density`).
    """
    L, log_jac = corr_cholesky(pm.Flat(f"{name}_raw", shape=M * (M - 1) // 2), M)
    L.name = name
    log_diag = pt.log(pt.diagonal(L, axis1=-2, axis2=-1)[1:])
    coefs = pt.as_tensor(np.array([M - d - 1 for d in range(1, M)], dtype=float)) + 2.0 * eta - 2.0
    pm.Potential(f"{name}_jacobian", log_jac)
    pm.Potential(f"lprior_{name}_lkj", pt.sum(coefs * log_diag))
    return L


@cache
def _compiled_cholesky(M: int, ndim: int):
    raw = pt.tensor("raw", shape=(None,) * ndim)
    return pytensor.function([raw], corr_cholesky(raw, M)[0])


def cholesky_from_raw(raw: np.ndarray, M: int) -> np.ndarray:
    """The Cholesky factors of :func:`corr_cholesky` for unconstrained draws ``raw``
    (..., M(M-1)/2) → (..., M, M): the model's own transform, compiled.

    Example:
        >>> cholesky_from_raw(np.zeros(3), 3)
        array([[1., 0., 0.],
               [0., 1., 0.],
               [0., 0., 1.]])
    """
    raw = np.asarray(raw, dtype=float)
    return _compiled_cholesky(M, raw.ndim)(raw)


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
    terms = [p for p in model.potentials if p.name.startswith("lprior_")]
    total = pt.add(*terms) if terms else pt.constant(0.0)
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
        if lp.b_names:
            values[f"Xc{lp.suffix}"] = lp.Xc
        if lp.offset is not None:
            values[f"offset{lp.suffix}"] = lp.offset
    for block in md.blocks:
        values[f"J_{block.id}"] = block.index
        if not all(_is_ones(block.Z[:, k]) for k in range(block.Z.shape[1])):
            values[f"Z_{block.id}"] = block.Z
    return values


def _is_ones(column: np.ndarray) -> bool:
    return bool(np.all(column == 1))


def build_model(md: ModelData, spec: PriorSpec, prior_only: bool = False) -> BuiltModel:
    """Write the brms model for ``md`` under ``spec`` as a PyMC model;
    ``prior_only`` leaves out the likelihood (brms's ``sample_prior = "only"``)."""
    values = {**data_values(md), **prior_values(spec)}
    params: dict[str, pt.TensorVariable] = {}
    with pm.Model() as model:
        Y = pm.Data("Y", values["Y"])
        ordered = _ordered_intercepts(md)
        etas = {dpar: _linear_predictor(md, lp, spec, params, values, ordered.get(dpar))
                for dpar, lp in md.predictors.items()}
        scalars = {}
        if md.thresholds:  # ordered cut points of an ordinal model
            ordered = pm.distributions.transforms.ordered if md.family.ordered else None  # brms: sratio's are free
            params["Intercept"] = scalars["thres"] = pm.Flat(
                "Intercept", shape=md.thresholds, default_transform=ordered,
                initval=np.linspace(-1.0, 1.0, md.thresholds))
        for dpar in md.dpars:
            lb, ub = spec.bounds(dpar.name)
            shape = (dpar.size,) if dpar.size else ()
            params[dpar.name] = scalars[dpar.name] = _parameter(dpar.parameter, shape, lb, ub, bool(dpar.size))
        _add_priors(spec, params, values)
        if not prior_only:
            additions = {k: pm.Data(k, values[k]) if isinstance(v, np.ndarray) else v
                         for k, v in md.additions.items()}
            eta = md.eta_mu(etas)
            dpars = md.family.scale_dpars(Y, eta, md.dpar_values(etas, scalars), list(scalars))
            logp = md.family.pointwise_logp(Y, eta, dpars, additions)
            pm.Potential("Y_loglik", logp.sum())
    if prior_only:  # data containers the density no longer reads would confuse nutpie's with_data
        used = set(ancestors([model.logp()]))
        values = {k: v for k, v in values.items() if model[k] in used}
    return BuiltModel(model=model, structure=structure_key(md, spec, prior_only), values=values,
                      start=fallback_start(md))


def linear_predictor_sum(X, b, intercept, blocks: Sequence[tuple], offset=None):
    """``b Xᵀ + intercept + Σ r[..., J, k] Z[:, k] + offset``: the linear predictor, written
    once with array operators only, so that the graph (PyTensor, one point) and the
    draws after sampling (NumPy, draws on the leading axes of ``b`` and ``r``) share it.

    Each block is ``(r, J, Z, coefs, ones)``: its effects ``r`` (..., levels, M), each
    row's level ``J``, its predictor values ``Z`` (rows × M), the coefficient positions
    to add and, per coefficient, whether its ``Z`` column is all ones (then not multiplied).

    Example:
        >>> X, b = np.array([[1.0, 2.0], [1.0, 3.0]]), np.array([[0.5, 1.0]])  # one draw
        >>> r = np.array([[[10.0], [20.0]]])  # one draw, 2 levels, 1 coefficient
        >>> linear_predictor_sum(X, b, 0.0, [(r, np.array([1, 0]), np.ones((2, 1)), [0], [True])])
        array([[22.5, 13.5]])
    """
    eta = b @ X.T + intercept
    for r, J, Z, coefs, ones in blocks:
        for k in coefs:
            gathered = r[..., J, k]
            eta = eta + (gathered if ones[k] else gathered * Z[:, k])
    return eta if offset is None else eta + offset


def _ordered_intercepts(md: ModelData) -> dict[str, pt.TensorVariable]:
    """brms's ``ordered[K] ordered_Intercept`` of a mixture with ``order = "mu"``: the intercepts of
    ``mu1`` < ``mu2`` < ..., each also a deterministic ``Intercept_mu<k>`` (brms's name), by dpar."""
    mus = [md.predictors[d] for d in md.mu_dpars]
    if not md.family.mixture or md.family.order != "mu":
        return {}
    if not all(lp.has_intercept for lp in mus):
        raise FamilyError("Identifying mixture components via ordering requires population-level intercepts to be "
                          "present. Try setting order = 'none' in function 'mixture'.")
    ordered = pm.Flat("ordered_Intercept", shape=len(mus), default_transform=pm.distributions.transforms.ordered,
                      initval=np.linspace(-1.0, 1.0, len(mus)))
    return {lp.dpar: pm.Deterministic(f"Intercept{lp.suffix}", ordered[k]) for k, lp in enumerate(mus)}


def _linear_predictor(md: ModelData, lp: LinearPredictor, spec: PriorSpec, params: dict,
                      values: dict[str, np.ndarray], intercept: pt.TensorVariable | None = None):
    """One predictor's ``eta``: centred population part (``b``, ``Intercept`` with the
    predictor's suffix, e.g. ``b_sigma``; ``intercept`` when given, an ordered one), group-level
    effects and offset."""
    sfx = lp.suffix
    X, b = pt.zeros((md.nobs, 0)), pt.zeros(0)
    if lp.b_names:
        params[f"b{sfx}"] = b = _parameter(f"b{sfx}", (len(lp.b_names),), *spec.bounds(f"b{sfx}"))
        X = pm.Data(f"Xc{sfx}", values[f"Xc{sfx}"])
    if lp.has_intercept:
        params[f"Intercept{sfx}"] = intercept = (
            _parameter(f"Intercept{sfx}", (), None, None) if intercept is None else intercept)
    else:
        intercept = 0.0
    blocks = [_group_effects(block, spec, params, values) for block in lp.blocks]
    offset = pm.Data(f"offset{sfx}", values[f"offset{sfx}"]) if lp.offset is not None else None
    return linear_predictor_sum(X, b, intercept, blocks, offset)


def _group_effects(block, spec: PriorSpec, params: dict, values: dict[str, np.ndarray]) -> tuple:
    """A block's effects ``r`` (levels × M: ``sd`` times ``L z``, or ``z``) and its data,
    as :func:`linear_predictor_sum` takes them (no dense Z)."""
    M, i = len(block.coefs), block.id
    J = pm.Data(f"J_{i}", values[f"J_{i}"])
    Z = pm.Data(f"Z_{i}", values[f"Z_{i}"]) if f"Z_{i}" in values else None
    params[f"sd_{i}"] = sd = _parameter(f"sd_{i}", (M,), *spec.bounds(f"sd_{i}"))
    z = pm.Normal(f"z_{i}", 0.0, 1.0, shape=(M, block.n_levels))
    if block.correlated:
        lkj = next(p for p in spec.params if p.param == f"L_{i}")
        eta = pm.Data(f"hp_L_{i}_lkj", values[f"hp_L_{i}_lkj"])[0, 0] if lkj.dist else 1.0
        L = cholesky_corr(f"L_{i}", M, eta)
        r = (sd[:, None] * pt.dot(L, z)).T
    else:
        r = (sd[:, None] * z).T
    return r, J, Z, range(M), [_is_ones(block.Z[:, k]) for k in range(M)]
