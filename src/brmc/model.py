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
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .data import LinearPredictor, ModelData
from .priors import ParamPrior, PriorSpec

#: prior distribution name → PyMC distribution given the hyperparameter rows
_PYMC_DISTS = {
    "normal": lambda a: pm.Normal.dist(mu=a[0], sigma=a[1]),
    "student_t": lambda a: pm.StudentT.dist(nu=a[0], mu=a[1], sigma=a[2]),
    "cauchy": lambda a: pm.Cauchy.dist(alpha=a[0], beta=a[1]),
    "exponential": lambda a: pm.Exponential.dist(lam=a[0]),
    "gamma": lambda a: pm.Gamma.dist(alpha=a[0], beta=a[1]),
    "inv_gamma": lambda a: pm.InverseGamma.dist(alpha=a[0], beta=a[1]),
    "lognormal": lambda a: pm.LogNormal.dist(mu=a[0], sigma=a[1]),
    "uniform": lambda a: pm.Uniform.dist(lower=a[0], upper=a[1]),
    "beta": lambda a: pm.Beta.dist(alpha=a[0], beta=a[1]),
    "logistic": lambda a: pm.Logistic.dist(mu=a[0], s=a[1]),
}


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


def _parameter(name: str, shape: tuple[int, ...], lb: float | None, ub: float | None):
    """An unconstrained (or bounded) parameter whose prior is added separately."""
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
        if value.ndim:
            value = value[np.array([p.position for p in slot])]
            args = [hp[i] for i in range(n_args)]
        else:
            args = [hp[i, 0] for i in range(n_args)]
        pm.Potential(f"lprior_{param}_{name}", pm.logp(_PYMC_DISTS[name](args), value).sum())


def cholesky_corr(name: str, M: int, eta) -> pt.TensorVariable:
    """Stan's ``cholesky_factor_corr[M]`` with an ``lkj_corr_cholesky(eta)`` prior.

    The M(M-1)/2 unconstrained values map through tanh to canonical partial
    correlations and then to the rows of L; the log-Jacobian and the LKJ
    density (up to a constant in eta) are added as potentials.
    """
    K = M * (M - 1) // 2
    raw = pm.Flat(f"{name}_raw", shape=K)
    z = pt.tanh(raw)
    log_jac = pt.sum(pt.log1p(-pt.sqr(z)))
    rows = [[pt.constant(1.0)] + [pt.constant(0.0)] * (M - 1)]
    k = 0
    for i in range(1, M):
        row = []
        sum_sqs = pt.sqr(z[k])
        row.append(z[k])
        k += 1
        for _ in range(1, i):
            log_jac += 0.5 * pt.log1p(-sum_sqs)
            value = z[k] * pt.sqrt(1.0 - sum_sqs)
            row.append(value)
            sum_sqs = sum_sqs + pt.sqr(value)
            k += 1
        row.append(pt.sqrt(1.0 - sum_sqs))
        row += [pt.constant(0.0)] * (M - i - 1)
        rows.append(row)
    L = pt.stack([pt.stack(r) for r in rows])
    log_diag = pt.log(pt.stack([rows[i][i] for i in range(1, M)]))
    coefs = pt.as_tensor(np.array([M - d - 1 for d in range(1, M)], dtype=float)) + 2.0 * eta - 2.0
    pm.Potential(f"{name}_jacobian", log_jac)
    pm.Potential(f"lprior_{name}_lkj", pt.sum(coefs * log_diag))
    return L


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
        etas = {dpar: _linear_predictor(md, lp, spec, params, values) for dpar, lp in md.predictors.items()}
        scalars = {}
        if md.thresholds:  # ordered cut points of an ordinal model
            ordered = pm.distributions.transforms.ordered if md.family.ordered else None  # brms: sratio's are free
            params["Intercept"] = scalars["thres"] = pm.Flat(
                "Intercept", shape=md.thresholds, default_transform=ordered,
                initval=np.linspace(-1.0, 1.0, md.thresholds))
        for dpar in md.dpars:
            lb, ub = spec.bounds(dpar.name)
            params[dpar.name] = scalars[dpar.name] = _parameter(dpar.name, (), lb, ub)
        _add_priors(spec, params, values)
        if not prior_only:
            additions = {k: pm.Data(k, values[k]) if isinstance(v, np.ndarray) else v
                         for k, v in md.additions.items()}
            logp = md.family.pointwise_logp(Y, md.eta_mu(etas), md.dpar_values(etas, scalars), additions)
            pm.Potential("Y_loglik", logp.sum())
    if prior_only:  # data containers the density no longer reads would confuse nutpie's with_data
        from pytensor.graph.traversal import ancestors

        used = set(ancestors([model.logp()]))
        values = {k: v for k, v in values.items() if model[k] in used}
    return BuiltModel(model=model, structure=structure_key(md, spec, prior_only), values=values,
                      start=fallback_start(md))


def _linear_predictor(md: ModelData, lp: LinearPredictor, spec: PriorSpec, params: dict,
                      values: dict[str, np.ndarray]):
    """One predictor's ``eta``: centred population part (``b``, ``Intercept`` with the
    predictor's suffix, e.g. ``b_sigma``), group-level effects and offset."""
    eta = pt.zeros(md.nobs)
    sfx = lp.suffix
    if lp.b_names:
        params[f"b{sfx}"] = _parameter(f"b{sfx}", (len(lp.b_names),), *spec.bounds(f"b{sfx}"))
        eta = pt.dot(pm.Data(f"Xc{sfx}", values[f"Xc{sfx}"]), params[f"b{sfx}"])
    if lp.has_intercept:
        params[f"Intercept{sfx}"] = _parameter(f"Intercept{sfx}", (), None, None)
        eta = eta + params[f"Intercept{sfx}"]
    for block in lp.blocks:
        eta = eta + _group_effects(block, spec, params, values)
    if lp.offset is not None:
        eta = eta + pm.Data(f"offset{sfx}", values[f"offset{sfx}"])
    return eta


def _group_effects(block, spec: PriorSpec, params: dict, values: dict[str, np.ndarray]):
    """r[J, k] * Z[:, k] summed over the block's coefficients (no dense Z)."""
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
    total = 0.0
    for k in range(M):
        gathered = r[J, k]
        total = total + (gathered if _is_ones(block.Z[:, k]) else gathered * Z[:, k])
    return total

