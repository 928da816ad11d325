"""Group-level effects (brms's ``re``): blocks ``(expr | group)``, their ``sd``/``cor``
parameters, non-centred effects and ``sd_``/``cor_``/``r_`` names.

A :class:`~brmc.formula.GroupTerm` is a block as written (``(1 + Days | Subject)``); a
:class:`GroupBlock` is the same block with its data: M coefficients on a factor with N
levels, ``z`` standard normal (M × N) scaled by ``sd`` and, for a correlated block, by
the Cholesky factor of an LKJ correlation matrix, gathered by integer level index.

Example:
    >>> from brmc.formula import parse_formula
    >>> parse_formula("y ~ (1 + Days | Subject)").group_terms[0].factors
    ['Subject']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from .. import naming
from ..design import design, design_new, group_levels, labels_of, warn_constant_within
from ..errors import DataError, FormulaError
from ..formula import GroupTerm
from ..graph import cholesky_corr, cholesky_from_raw, parameter
from .base import (DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind,
                   prior_row, student_t)
from .mm import member_data, member_index, member_weights

if TYPE_CHECKING:
    from ..data import LinearPredictor


@dataclass
class GroupBlock:
    """A group-level block with its data: M coefficients on a factor with N levels.

    ``index`` maps each observation to its level (0-based), ``Z`` holds the
    block's N_obs × M predictor values (never a dense N_obs × N_levels matrix).
    ``dpar`` is the distributional parameter whose linear predictor it enters.  A
    multi-membership block (``mm()``, :mod:`brmc.terms.mm`) has an ``index`` and ``weights``
    of N_obs × members.
    """

    id: int
    term: GroupTerm
    coefs: list[str]
    levels: list[str]
    index: np.ndarray
    Z: np.ndarray
    dpar: str = "mu"
    weights: np.ndarray | None = None

    @property
    def labels(self) -> list[str]:
        """The coefficients as brms names them in ``sd_``/``cor_`` names: ``Intercept``, ``sigma_Intercept``."""
        return [naming.coef_label(self.dpar, c) for c in self.coefs]

    @property
    def r_name(self) -> str:
        """brms's name of the block's group-level effects: ``r_Subject`` or ``r_Subject__sigma``."""
        return naming.r_name(self.group, self.dpar)

    @property
    def group(self) -> str:
        return self.term.group

    @property
    def correlated(self) -> bool:
        return self.term.correlated and len(self.coefs) > 1

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    @property
    def Zw(self) -> np.ndarray:
        """The values the linear predictor multiplies the effects by: ``Z``, or for a
        multi-membership block each member's weight times ``Z`` (N_obs × members × M)."""
        return self.Z if self.weights is None else _weighted(self.Z, self.weights)

    @property
    def ones(self) -> list[bool]:
        """Per coefficient: are its values all ones (then it is not multiplied)?"""
        return _ones(self.Zw)


def _weighted(Z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return weights[:, :, None] * Z[:, None, :]


def _ones(Z: np.ndarray) -> list[bool]:
    return [bool(np.all(Z[..., k] == 1)) for k in range(Z.shape[-1])]


@dataclass
class NewBlock:
    """A group-level block evaluated on some rows: level index (-1 = new level), Z,
    the kept coefficient positions and, for rows of new levels, a code per new level."""

    block: GroupBlock
    index: np.ndarray
    Z: np.ndarray
    coefs: list[int]
    new_codes: np.ndarray | None = None


def group_effects(posterior: xr.Dataset, block: GroupBlock) -> np.ndarray:
    """A block's group-level effects per draw: (chain, draw, level, coef)."""
    return posterior[block.r_name].sel({naming.r_coef_dim(block.r_name): block.coefs}).values


def _block(id: int, term: GroupTerm, ctx: DataContext) -> GroupBlock:
    if any(t.kind == "name" and t.text in ("cs", "cse") for t in term.expr.tokens):
        raise FormulaError(f"Category-specific group-level effects such as {term} are not supported yet; "
                           "brmc takes cs() in the population part only.")
    if term.members:  # mm(g1, g2): rows × members
        levels, index, weights = member_data(term, ctx.frame)
    else:
        (levels, index), weights = group_levels(ctx.frame, term.factors), None
    if len(levels) < 2:
        raise DataError(
            f"The grouping factor {term.group!r} of {term} has only one level ({levels[0]!r}) "
            "in the data used; group-level effects need at least two levels."
        )
    Z, coefs = design(term.expr, ctx.prepared, ctx.env, ctx.poly)
    if weights is None:
        warn_constant_within(term, coefs, Z, index, len(levels), ctx.dpar)
    return GroupBlock(id=id, term=term, coefs=coefs, levels=levels, index=index, Z=Z, dpar=ctx.dpar, weights=weights)


class GroupEffects(TermKind):
    """The kind ``re``: every :class:`~brmc.formula.GroupTerm` of a predictor, a block each."""

    name = "re"

    def data(self, terms: list[GroupTerm], ctx: DataContext) -> list[GroupBlock]:
        blocks = [_block(ctx.next_id + i, term, ctx) for i, term in enumerate(terms)]
        ctx.next_id += len(blocks)
        return blocks

    def structure(self, part: list[GroupBlock]) -> Any:
        return [(b.n_levels, b.coefs == ["Intercept"], len(b.coefs), b.correlated, b.ones, b.index.shape[1:])
                for b in part]

    def prior_rows(self, lp: LinearPredictor, part: list[GroupBlock], ctx: PriorContext) -> list[dict]:
        dp = naming.table_dpar(lp.dpar)
        rows = [prior_row(student_t(0, ctx.scale), "sd", dpar=dp, lb="0")] if part else []
        for group in dict.fromkeys(b.group for b in part):
            rows.append(prior_row("", "sd", group=group, dpar=dp))
            coefs = [c for b in part if b.group == group for c in b.coefs]
            rows += [prior_row("", "sd", coef=c, group=group, dpar=dp) for c in dict.fromkeys(coefs)]
        correlated = list(dict.fromkeys(b.group for b in part if b.correlated))
        if correlated:  # correlations have no dpar: the pipeline keeps one of each row
            rows.append(prior_row("lkj(1)", "cor"))
            rows += [prior_row("", "cor", group=g) for g in correlated]
        return rows

    def slots(self, lp: LinearPredictor, part: list[GroupBlock]) -> list[ParamSlot]:
        out = []
        for block in part:
            dp = naming.table_dpar(block.dpar)
            out += [ParamSlot(f"sd_{block.id}", k, "sd", coef, block.group, dp, lb=0.0, user_bounds=True)
                    for k, coef in enumerate(block.coefs)]
            if block.correlated:
                out.append(ParamSlot(f"L_{block.id}", 0, "cor", "", block.group, ""))
        return out

    def data_values(self, lp: LinearPredictor, part: list[GroupBlock]) -> dict[str, np.ndarray]:
        values = {}
        for block in part:
            values[f"J_{block.id}"] = block.index
            if not all(block.ones):
                values[f"Z_{block.id}"] = block.Zw
        return values

    def graph(self, lp: LinearPredictor, part: list[GroupBlock], ctx: GraphContext) -> list[tuple]:
        """Each block's effects ``r`` (levels × M: ``sd`` times ``L z``, or ``z``) and its data (no dense Z)."""
        out = []
        for block in part:
            M, i = len(block.coefs), block.id
            J = pm.Data(f"J_{i}", ctx.values[f"J_{i}"])
            Z = pm.Data(f"Z_{i}", ctx.values[f"Z_{i}"]) if f"Z_{i}" in ctx.values else None
            ctx.params[f"sd_{i}"] = sd = parameter(f"sd_{i}", (M,), *ctx.bounds(f"sd_{i}"))
            z = pm.Normal(f"z_{i}", 0.0, 1.0, shape=(M, block.n_levels))
            if block.correlated:
                eta = ctx.hyper(f"L_{i}", "lkj")
                L = cholesky_corr(f"L_{i}", M, eta[0, 0] if eta is not None else 1.0)
                r = (sd[:, None] * pt.dot(L, z)).T
            else:
                r = (sd[:, None] * z).T
            out.append((r, J, Z, range(M), block.ones))
        return out

    def add(self, eta: Any, contribution: list[tuple]) -> Any:
        """``eta + Σ r[..., J, k] Z[:, k]`` over each block ``(r, J, Z, coefs, ones)``: its effects
        ``r`` (..., levels, M), each row's level ``J``, its predictor values ``Z`` (rows × M), the
        coefficient positions to add and, per coefficient, whether its ``Z`` column is all ones.
        A multi-membership block's ``J`` and ``Z`` have an axis of members (rows × members [× M]),
        summed over: brms's ``W_1 r[J_1] Z + W_2 r[J_2] Z + ...`` (``Z`` weighted)."""
        for r, J, Z, coefs, ones in contribution:
            for k in coefs:
                gathered = r[..., J, k]
                term = gathered if ones[k] else gathered * Z[..., k]
                eta = eta + (term.sum(axis=-1) if J.ndim == 2 else term)
        return eta

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: list[GroupBlock]) -> dict[str, dict]:
        sds, cors, r_by_name = {}, {}, {}
        for block in part:
            sd, z = raw[f"sd_{block.id}"].values, raw[f"z_{block.id}"].values  # z: chain, draw, M, N
            for k, label in enumerate(block.labels):
                sds[naming.sd_name(block.group, label)] = sd[..., k]
            if block.correlated:
                L = cholesky_from_raw(raw[f"L_{block.id}_raw"].values, len(block.coefs))
                cor = L @ np.swapaxes(L, -1, -2)
                for k in range(len(block.coefs)):
                    for j in range(k):
                        cors[naming.cor_name(block.group, block.labels[j], block.labels[k])] = cor[..., j, k]
                z = L @ z
            scaled = sd[..., :, None] * z
            for k, coef in enumerate(block.coefs):
                r_by_name.setdefault(block.r_name, (block, []))[1].append((coef, scaled[..., k, :]))
        r = {}
        for name, (block, parts) in r_by_name.items():
            level_dim, coef_dim = naming.r_level_dim(block.group), naming.r_coef_dim(name)
            r[name] = xr.DataArray(np.stack([p[1] for p in parts], axis=-1),  # chain, draw, level, coef
                                   dims=("chain", "draw", level_dim, coef_dim),
                                   coords={level_dim: block.levels, coef_dim: [p[0] for p in parts]})
        return {"sd": sds, "cor": cors, "r": r}

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: list[GroupBlock]) -> dict[str, np.ndarray]:
        out = {}
        for block in part:
            sd = np.stack([posterior[naming.sd_name(block.group, c)].values for c in block.labels], axis=-1)
            out[f"sd_{block.id}"] = sd
            if block.correlated:
                M = len(block.coefs)
                C = np.broadcast_to(np.eye(M), (*sd.shape[:-1], M, M)).copy()
                for k in range(M):
                    for j in range(k):
                        name = naming.cor_name(block.group, block.labels[j], block.labels[k])
                        C[..., j, k] = C[..., k, j] = posterior[name].values
                out[f"L_{block.id}"] = np.linalg.cholesky(C)
        return out

    def needed(self, lp: LinearPredictor, part: list[GroupBlock], kept: dict[int, list[int]]
               ) -> tuple[list[str], list[str]]:
        blocks = [b for b in part if b.id in kept]
        return [n for b in blocks for n in b.term.variables], [f for b in blocks for f in b.term.factors]

    def rows(self, lp: LinearPredictor, part: list[GroupBlock], ctx: RowsContext) -> list[NewBlock]:
        if ctx.newdata is None:
            return [NewBlock(b, b.index, b.Zw, ctx.kept[b.id]) for b in part if b.id in ctx.kept]
        return [_new_block(b, ctx) for b in part if b.id in ctx.kept]

    def draws(self, lp: LinearPredictor, part: list[GroupBlock], rows: list[NewBlock], ctx: DrawsContext) -> list:
        """Each block as :meth:`add` takes it, from the draws; the effects of new levels (rows with
        index -1) are ``ctx.new_levels(block, r)``, added as extra levels."""
        blocks = []
        for nb in rows:
            r, index = ctx.pick(group_effects(ctx.posterior, nb.block)), nb.index  # draws, levels, coefs
            new = index < 0
            if new.any():
                index = index.copy()
                index[new] = r.shape[1] + nb.new_codes
                r = np.concatenate([r, ctx.new_levels(nb, r)], axis=1)
            blocks.append((r, index, nb.Z, nb.coefs, _ones(nb.Z)))
        return blocks


def _new_block(b: GroupBlock, ctx: RowsContext) -> NewBlock:
    """A group-level block on new rows (``ctx.train``, ``ctx.new``: the training and new rows, coded)."""
    md, newdata = ctx.md, ctx.newdata
    Z, _ = design_new(b.term.expr, ctx.train, ctx.new, md.env, md.poly)
    if b.weights is not None:
        return _new_members(b, Z, ctx)
    labels = labels_of(newdata[b.term.factors[0]].reset_index(drop=True))
    for name in b.term.factors[1:]:
        labels = labels + "_" + labels_of(newdata[name].reset_index(drop=True))
    lookup = {lv: i for i, lv in enumerate(b.levels)}
    index = labels.map(lambda lv: lookup.get(lv, -1)).to_numpy(dtype=np.int64)
    if (index < 0).any() and not ctx.allow_new_levels:
        unseen = sorted(set(labels[index < 0]))
        raise DataError(f"newdata has level(s) {', '.join(map(repr, unseen[:5]))} of the grouping factor "
                        f"{b.group!r} that the model has not seen; pass allow_new_levels=True to predict "
                        "for new groups.")
    return NewBlock(b, index, Z, ctx.kept[b.id], pd.factorize(labels[index < 0])[0])


def _new_members(b: GroupBlock, Z: np.ndarray, ctx: RowsContext) -> NewBlock:
    """A multi-membership block on new rows: each member's level and weight from ``ctx.newdata``."""
    rows = ctx.newdata.reset_index(drop=True)
    index = member_index(b.term, rows, b.levels)
    if (index < 0).any():
        raise DataError(f"newdata has level(s) of {b.term} that the model has not seen; brmc does not yet "
                        "predict for new levels of multi-membership terms.")
    return NewBlock(b, index, _weighted(Z, member_weights(b.term, rows)), ctx.kept[b.id])


KIND = GroupEffects()
