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

from dataclasses import dataclass, field
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
from ..lexer import Expr
from ..graph import cholesky_corr, cholesky_from_raw, parameter
from .base import (LKJ_1, DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind,
                   prior_row, student_t)
from .gr import by_label, by_levels, cov_cholesky, group_labels, rm_wsp, scale_effects
from .mm import member_data, member_index, member_weights
from .cs import category_specific, check_family, group_arguments
from .sp import MonotonicTerm, cumulative, group_summands, simplex_draws

if TYPE_CHECKING:
    from ..data import LinearPredictor

#: brms's prior of the degrees of freedom ``df`` of Student-t group-level effects (lb = 1)
DF_PRIOR = "gamma(2, 0.1)"


@dataclass
class GroupBlock:
    """A group-level block with its data: M coefficients on a factor with N levels.

    ``index`` maps each observation to its level (0-based), ``Z`` holds the
    block's N_obs × M predictor values (never a dense N_obs × N_levels matrix).
    ``dpar`` is the distributional parameter whose linear predictor it enters, ``resp`` the
    response of a multivariate model (``""``: none); ``share`` joins the blocks of one ID
    ``(1 | p | g)``, whose coefficients are one vector of ``sd``, ``z`` and one correlation
    matrix, made with the block that comes first (the one that :attr:`leads`).  A
    multi-membership block (``mm()``, :mod:`brmc.terms.mm`) has an ``index`` and ``weights``
    of N_obs × members.  ``gr(g, by = x)`` gives it ``by_levels`` and each level's ``by_index``;
    ``gr(g, cov = A)`` the Cholesky factor ``Lcov`` of ``A`` (:mod:`brmc.terms.gr`); ``ggn`` is brms's
    number of its grouping factor (``df_<ggn>`` of ``gr(g, dist = "student")``, made with the factor's first
    Student-t block, which ``df_leads``).  ``sp_labels`` are its last coefficients when it has ``mo(x)``
    summands (``(1 + mo(x) | g)``): each multiplies the monotonic transform of the population term of its
    label, brms's ``(bsp + r) * mo(simo, Xmo)``; their ``Z`` columns are placeholders.
    """

    id: int
    term: GroupTerm
    coefs: list[str]
    levels: list[str]
    index: np.ndarray
    Z: np.ndarray
    dpar: str = "mu"
    weights: np.ndarray | None = None
    resp: str = ""
    share: list[GroupBlock] = field(default_factory=list, repr=False, compare=False)
    by_levels: list[str] = field(default_factory=list)
    by_index: np.ndarray | None = None
    Lcov: np.ndarray | None = None
    ggn: int = 0
    df_leads: bool = False
    sp_labels: list[str] = field(default_factory=list)
    thresholds: int = 0
    nlpar: bool = False  # of a non-linear parameter (named in ``dpar``)

    @property
    def design_expr(self) -> Expr:
        """The effects its ``Z`` is the design of: the term's, without its ``mo(x)`` summands (or the arguments
        of its ``cs()`` calls)."""
        if self.thresholds:
            return group_arguments(self.term)
        return group_summands(self.term)[0] if self.sp_labels else self.term.expr

    @property
    def sp_columns(self) -> dict[int, str]:
        """The positions of its monotonic coefficients, and their labels."""
        return dict(zip(range(len(self.coefs) - len(self.sp_labels), len(self.coefs)), self.sp_labels))

    @property
    def pname(self) -> str:
        """Its dpar and response as brms combines them in names (:func:`brmc.naming.prefix`)."""
        return naming.prefix("mu", self.resp, self.dpar) if self.nlpar else naming.prefix(self.dpar, self.resp)

    @property
    def labels(self) -> list[str]:
        """The coefficients as brms names them in ``sd_``/``cor_`` names: ``Intercept``, ``sigma_Intercept``,
        ``english_Intercept``."""
        return [naming.coef_label(self.pname, c) for c in self.coefs]

    @property
    def r_name(self) -> str:
        """brms's name of the block's group-level effects: ``r_Subject``, ``r_Subject__sigma``, ``r_school__math``."""
        return naming.r_name(self.group, self.pname)

    @property
    def members(self) -> list[GroupBlock]:
        """The blocks of its ID in order (itself alone when it has none)."""
        return self.share or [self]

    @property
    def leads(self) -> bool:
        """Whether the parameters of its ID are made (and named) with it."""
        return self.members[0] is self

    @property
    def joint_id(self) -> int:
        """The number of its ID's parameters (``sd_<id>``, ``z_<id>``, ``L_<id>``): its first block's."""
        return self.members[0].id

    @property
    def joint_labels(self) -> list[str]:
        """The labels of every coefficient of its ID, in order."""
        return [label for b in self.members for label in b.labels]

    @property
    def columns(self) -> list[int]:
        """Its coefficients' positions among its ID's."""
        start = sum(len(b.coefs) for b in self.members[: self.members.index(self)])
        return list(range(start, start + len(self.coefs)))

    @property
    def sd_labels(self) -> list[str]:
        """The labels of its ``sd_`` names: :attr:`labels`, in each level of ``by`` (``Intercept:xa``) with one."""
        return self._by(self.labels)

    @property
    def joint_sd_labels(self) -> list[str]:
        """The labels of its ID's ``sd`` vector, in order (:attr:`joint_labels` in each level of ``by``)."""
        return self._by(self.joint_labels)

    @property
    def sd_positions(self) -> list[int]:
        """Where the :attr:`sd_labels` are in its ID's ``sd`` vector (brms's ``sd`` matrix by column)."""
        M = len(self.joint_labels)
        return [j * M + k for j in range(max(len(self.by_levels), 1)) for k in self.columns]

    @property
    def cor_sets(self) -> list[list[str]]:
        """The labels its ID's correlations are named by: all of them, once per level of ``by``."""
        return [self.joint_labels] if not self.by_levels else [
            [by_label(c, self.term.options.by, lv) for c in self.joint_labels] for lv in self.by_levels]

    def _by(self, labels: list[str]) -> list[str]:
        return labels if not self.by_levels else [by_label(c, self.term.options.by, lv)
                                                  for lv in self.by_levels for c in labels]

    @property
    def L_names(self) -> list[str]:
        """The model's Cholesky factors of its ID's correlations: ``L_<id>``, or ``L_<id>_<j>`` per level of ``by``."""
        i = self.joint_id
        return [f"L_{i}_{j + 1}" for j in range(len(self.by_levels))] if self.by_levels else [f"L_{i}"]

    @property
    def student(self) -> bool:
        """Whether its effects are Student-t (``gr(g, dist = "student")``)."""
        return self.term.options.dist == "student"

    @property
    def group(self) -> str:
        return self.term.group

    @property
    def correlated(self) -> bool:
        return self.term.correlated and len(self.joint_labels) > 1

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
    """A group-level block evaluated on some rows: level index (-1 = new level; rows × members for
    ``mm()``), Z, the kept coefficient positions and, for rows of new levels, a code per new level
    (shared by a new level's entries in every member) and, with ``gr(g, by = x)``, each new level's
    level of ``x``."""

    block: GroupBlock
    index: np.ndarray
    Z: np.ndarray
    coefs: list[int]
    new_codes: np.ndarray | None = None
    new_by: np.ndarray | None = None
    sp_codes: dict[int, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict)  # (Xmo, Csp)


def group_effects(posterior: xr.Dataset, block: GroupBlock) -> np.ndarray:
    """A block's group-level effects per draw: (chain, draw, level, coef)."""
    return posterior[block.r_name].sel({naming.r_coef_dim(block.r_name): block.coefs}).values


def link_ids(blocks: list[GroupBlock]) -> None:
    """Join the blocks that share an ID ``(1 | p | g)`` (across predictors and responses), as brms's
    ``tidy_ranef``: their coefficients get one ``sd`` vector and one correlation matrix.

    Parameters
    ----------
    blocks : list of GroupBlock
        Every block of the model, in brms's order.

    Each block also gets brms's number ``ggn`` of its grouping factor.

    Raises
    ------
    FormulaError
        Blocks of one ID on different grouping factors, or one ID both correlated and not, or with
        different ``by``, ``cov`` or ``dist``; a grouping factor with two ``by`` variables.

    Examples
    --------
    >>> from brmc.formula import parse_formula
    >>> block = lambda t, c: GroupBlock(1, t, [c], ["a", "b"], np.zeros(2, int), np.ones((2, 1)))
    >>> first, second = (block(t, c) for t, c in zip(parse_formula("y ~ (1 | p | g) + (x | p | g)").group_terms,
    ...                                                ["Intercept", "x"]))
    >>> link_ids([first, second]); second.joint_id, second.columns, first.joint_labels
    (1, [1], ['Intercept', 'x'])
    """
    by_id: dict[str, list[GroupBlock]] = {}
    for block in blocks:
        block.share = by_id.setdefault(block.term.id, []) if block.term.id else []
        block.share.append(block)
    for gid, members in by_id.items():
        if len({(b.group, b.term.correlated, b.term.options) for b in members}) > 1:
            raise FormulaError(f"Group-level terms of the ID {gid!r} ({', '.join(str(b.term) for b in members)}) "
                               "must have the same grouping factor, the same by, cov and dist, and be all "
                               "correlated ('|') or all not ('||').")
    groups = list(dict.fromkeys(b.group for b in blocks))
    for block in blocks:
        block.ggn = groups.index(block.group) + 1
        block.df_leads = block.student and next(b for b in blocks if b.group == block.group and b.student) is block
    for group in groups:
        bys = {b.term.options.by for b in blocks if b.group == group} - {""}
        if len(bys) > 1:
            raise FormulaError(f"Each grouping factor can only be associated with one 'by' variable: {group!r} has "
                               f"{', '.join(map(repr, sorted(bys)))}.")


def _block(id: int, term: GroupTerm, ctx: DataContext) -> GroupBlock:
    if any(t.kind == "name" and t.text == "me" for t in term.expr.tokens):
        raise FormulaError(f"Measurement-error terms in a group-level term such as {term} are not supported; "
                           "brmc takes me() in the population part only.")
    if term.members:  # mm(g1, g2): rows × members
        levels, index, weights = member_data(term, ctx.frame)
    else:
        (levels, index), weights = group_levels(ctx.frame, term.factors), None
    if len(levels) < 2:
        raise DataError(
            f"The grouping factor {term.group!r} of {term} has only one level ({levels[0]!r}) "
            "in the data used; group-level effects need at least two levels."
        )
    expr, sp_labels = group_summands(term) if any(t.text == "mo" for t in term.expr.tokens) else (term.expr, [])
    cs_expr = group_arguments(term)
    thresholds = 0
    if cs_expr is not None:  # (cs(1) | g): group-level category-specific effects
        check_family(ctx)
        expr, thresholds = cs_expr, ctx.thresholds
    Z, coefs = design(expr, ctx.prepared, ctx.env, ctx.poly)
    if weights is None:
        warn_constant_within(term, coefs, Z, index, len(levels), ctx.dpar)
    Z, coefs = np.hstack([Z, np.ones((len(Z), len(sp_labels)))]), coefs + sp_labels  # placeholders: mo(simo, Xmo)
    if thresholds:  # brms's Intercept[1], Intercept[2], ..., x[1], ...: a coefficient per threshold
        Z, coefs = np.repeat(Z, thresholds, axis=1), [f"{c}[{k + 1}]" for c in coefs for k in range(thresholds)]
    options = term.options
    bylevels, by_index = by_levels(ctx.frame, options.by, levels, term) if options.by else ([], None)
    return GroupBlock(id=id, term=term, coefs=coefs, levels=levels, index=index, Z=Z, dpar=ctx.dpar, weights=weights,
                      nlpar=ctx.nlpar, by_levels=bylevels, by_index=by_index, sp_labels=sp_labels, thresholds=thresholds,
                      Lcov=cov_cholesky(ctx.env, options.cov, levels, term) if options.cov else None)


class GroupEffects(TermKind):
    """The kind ``re``: every :class:`~brmc.formula.GroupTerm` of a predictor, a block each."""

    name = "re"

    def data(self, terms: list[GroupTerm], ctx: DataContext) -> list[GroupBlock]:
        blocks = [_block(ctx.next_id + i, term, ctx) for i, term in enumerate(terms)]
        ctx.next_id += len(blocks)
        ctx.blocks += blocks
        link_ids(ctx.blocks)
        return blocks

    def structure(self, part: list[GroupBlock]) -> Any:
        return [(b.n_levels, b.coefs == ["Intercept"], len(b.coefs), b.correlated, b.ones, b.joint_id, b.columns,
                 b.index.shape[1:], len(b.by_levels), b.Lcov is not None, b.student, b.ggn)
                for b in part]

    def prior_rows(self, lp: LinearPredictor, part: list[GroupBlock], ctx: PriorContext) -> list[dict]:
        for block in part:
            for label in block.sp_labels:
                _monotonic(lp, label, block)
        dp = naming.table_dpar(lp.dpar)
        rows = [prior_row(student_t(0, ctx.scale), "sd", dpar=dp, lb="0")] if part else []
        for group in dict.fromkeys(b.group for b in part):
            rows.append(prior_row("", "sd", group=group, dpar=dp))
            coefs = [c for b in part if b.group == group for c in b.coefs]
            rows += [prior_row("", "sd", coef=c, group=group, dpar=dp) for c in dict.fromkeys(coefs)]
        correlated = list(dict.fromkeys(b.group for b in part if b.correlated))
        if correlated:  # correlations have no dpar: the pipeline keeps one of each row
            rows.append(prior_row(LKJ_1, "cor"))
            rows += [prior_row("", "cor", group=g) for g in correlated]
        rows += [prior_row(DF_PRIOR, "df", group=g, lb="1") for g in dict.fromkeys(b.group for b in part if b.student)]
        return rows

    def slots(self, lp: LinearPredictor, part: list[GroupBlock]) -> list[ParamSlot]:
        out = []
        for block in part:
            dp = naming.table_dpar(block.dpar)
            out += [ParamSlot(f"sd_{block.joint_id}", k, "sd", coef, block.group, dp, lb=0.0, user_bounds=True)
                    for k, coef in zip(block.sd_positions, block.coefs * max(len(block.by_levels), 1))]
            if block.correlated and block.leads:
                out.append(ParamSlot(f"L_{block.id}", 0, "cor", "", block.group, ""))
            if block.df_leads:
                out.append(ParamSlot(f"df_{block.ggn}", 0, "df", "", block.group, "", lb=1.0))
        return out

    def data_values(self, lp: LinearPredictor, part: list[GroupBlock]) -> dict[str, np.ndarray]:
        values = {}
        for block in part:
            values[f"J_{block.id}"] = block.index
            if not all(block.ones):
                values[f"Z_{block.id}"] = block.Zw
            if block.leads and block.by_index is not None:
                values[f"Jby_{block.id}"] = block.by_index
            if block.leads and block.Lcov is not None:
                values[f"Lcov_{block.id}"] = block.Lcov
        return values

    def graph(self, lp: LinearPredictor, part: list[GroupBlock], ctx: GraphContext) -> list[tuple]:
        """Each block's effects ``r`` (levels × M: ``sd`` times ``L z``, or ``z``) and its data (no dense Z);
        the parameters of an ID are made with its first block, the others take their columns."""
        out = []
        for block in part:
            M, i = len(block.coefs), block.id
            J = pm.Data(f"J_{i}", ctx.values[f"J_{i}"])
            Z = pm.Data(f"Z_{i}", ctx.values[f"Z_{i}"]) if f"Z_{i}" in ctx.values else None
            if block.leads:
                ctx.joint[i] = _joint_effects(block, ctx)
            sp = {k: _graph_monotonic(lp, _monotonic(lp, label, block), ctx)
                  for k, label in block.sp_columns.items()}
            out.append((ctx.joint[block.joint_id][:, block.columns], J, Z, range(M), block.ones, sp, block.thresholds))
        return out

    def add(self, eta: Any, contribution: list[tuple]) -> Any:
        """``eta + Σ r[..., J, k] Z[:, k]`` over each block ``(r, J, Z, coefs, ones, sp)``: its effects
        ``r`` (..., levels, M), each row's level ``J``, its predictor values ``Z`` (rows × M), the
        coefficient positions to add and, per coefficient, whether its ``Z`` column is all ones; ``sp`` the
        monotonic factor of each ``mo(x)`` coefficient by position (values, or in the graph a function), and
        ``thresholds`` those of a ``(cs(1) | g)`` block (0: none), whose coefficient ``k`` shifts threshold
        ``k % thresholds`` (:func:`brmc.terms.cs.category_specific`).
        A multi-membership block's ``J`` and ``Z`` have an axis of members (rows × members [× M]),
        summed over: brms's ``W_1 r[J_1] Z + W_2 r[J_2] Z + ...`` (``Z`` weighted)."""
        for r, J, Z, coefs, ones, sp, thresholds in contribution:
            by_threshold: dict[int, Any] = {}
            for k in coefs:
                gathered = r[..., J, k]
                if k in sp:  # mo(simo, Xmo) of the population term (in the graph: made once its simplex is)
                    factor = sp[k]() if callable(sp[k]) else sp[k]
                    if J.ndim == 2:  # mm(): brms's Σ_i W_i r[J_i] (stan_eta_rsp), the weights in Z
                        factor = factor[..., None] * (1.0 if ones[k] else Z[..., k])
                    term = gathered * factor
                else:
                    term = gathered if ones[k] else gathered * Z[..., k]
                term = term.sum(axis=-1) if J.ndim == 2 else term
                if thresholds:  # (cs(1) | g): brms's mucs[n, k] += r_k[J[n]] * Z[n]
                    by_threshold[k % thresholds] = by_threshold.get(k % thresholds, 0.0) + term
                else:
                    eta = eta + term
            if by_threshold:
                zero = 0.0 * next(iter(by_threshold.values()))
                eta = category_specific(eta, _stack([by_threshold.get(j, zero) for j in range(thresholds)]))
        return eta

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: list[GroupBlock]) -> dict[str, dict]:
        sds, cors, r_by_name = {}, {}, {}
        for block in part:
            i, M = block.joint_id, len(block.joint_labels)
            if block.df_leads:  # brms's df_<group>, before the group's sds
                sds[f"df_{block.group}"] = raw[f"df_{block.ggn}"].values
            sd = raw[f"sd_{i}"].values
            for position, label in zip(block.sd_positions, block.sd_labels):
                sds[naming.sd_name(block.group, label)] = sd[..., position]
            L = None
            if block.correlated:  # (chain, draw, by levels, M, M)
                L = np.stack([cholesky_from_raw(raw[f"{n}_raw"].values, M) for n in block.L_names], axis=-3)
                cor = L @ np.swapaxes(L, -1, -2)
                for j, labels in enumerate(block.cor_sets if block.leads else []):
                    for a in range(M):
                        for b in range(a):
                            cors[naming.cor_name(block.group, labels[b], labels[a])] = cor[..., j, b, a]
            dfm = (np.sqrt(raw[f"df_{block.ggn}"].values[..., None] * raw[f"udf_{block.ggn}"].values)
                   if block.student else None)
            scaled = scale_effects(raw[f"z_{i}"].values, sd, L, block.by_index, block.Lcov, dfm)  # chain, draw, N, M
            for k, coef in zip(block.columns, block.coefs):
                r_by_name.setdefault(block.r_name, (block, []))[1].append((coef, scaled[..., k]))
        r = {}
        for name, (block, parts) in r_by_name.items():
            level_dim, coef_dim = naming.r_level_dim(block.group), naming.r_coef_dim(name)
            r[name] = xr.DataArray(np.stack([p[1] for p in parts], axis=-1),  # chain, draw, level, coef
                                   dims=("chain", "draw", level_dim, coef_dim),
                                   coords={level_dim: block.levels, coef_dim: [p[0] for p in parts]})
        return {"sd": sds, "cor": cors, "r": r}

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: list[GroupBlock]) -> dict[str, np.ndarray]:
        out = {}
        for block in filter(lambda b: b.leads, part):
            sd = np.stack([posterior[naming.sd_name(block.group, c)].values for c in block.joint_sd_labels], axis=-1)
            out[f"sd_{block.id}"] = sd
            if block.df_leads:
                out[f"df_{block.ggn}"] = posterior[f"df_{block.group}"].values
            for name, labels in zip(block.L_names if block.correlated else [], block.cor_sets):
                M = len(labels)
                C = np.broadcast_to(np.eye(M), (*sd.shape[:-1], M, M)).copy()
                for k in range(M):
                    for j in range(k):
                        C[..., j, k] = C[..., k, j] = posterior[naming.cor_name(block.group, labels[j], labels[k])].values
                out[name] = np.linalg.cholesky(C)
        return out

    def needed(self, lp: LinearPredictor, part: list[GroupBlock], kept: dict[int, list[int]]
               ) -> tuple[list[str], list[str]]:
        blocks = [b for b in part if b.id in kept]
        return [n for b in blocks for n in b.term.variables], [f for b in blocks for f in b.term.factors]

    def rows(self, lp: LinearPredictor, part: list[GroupBlock], ctx: RowsContext) -> list[NewBlock]:
        blocks = [(NewBlock(b, b.index, b.Zw, ctx.kept[b.id]) if ctx.newdata is None else _new_block(b, ctx))
                  for b in part if b.id in ctx.kept]
        for nb in blocks:  # each row's code of the population term's mo(x)
            for k, label in nb.block.sp_columns.items():
                basis = _monotonic(lp, label, nb.block).basis
                nb.sp_codes[k] = ((basis.parts[0].Xmo, basis.Csp) if ctx.newdata is None else
                                  (basis.parts[0].codes(ctx.new), basis.covariate_product(ctx.new)))
        return blocks

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
            sp = {k: cumulative(ctx.pick(simplex_draws(ctx.posterior, lp.suffix, _monotonic(lp, label, nb.block), 0)),
                                np)[..., nb.sp_codes[k][0]] * _csp(nb.sp_codes[k][1])
                  for k, label in nb.block.sp_columns.items()}
            blocks.append((r, index, nb.Z, nb.coefs, _ones(nb.Z), sp, nb.block.thresholds))
        return blocks


def _csp(values: np.ndarray | None) -> np.ndarray | float:
    """A monotonic term's product of its other covariates (brms's ``Csp``), 1 without any."""
    return 1.0 if values is None else values


def _joint_effects(block: GroupBlock, ctx: GraphContext) -> pt.TensorVariable:
    """The effects of ``block``'s ID (levels × the ID's coefficients): ``sd`` times ``L z``, or ``z``, in each
    level of ``by``, times ``Lcov`` and a Student-t block's scale (:func:`brmc.terms.gr.scale_effects`)."""
    M, i = len(block.joint_labels), block.id
    ctx.params[f"sd_{i}"] = sd = parameter(f"sd_{i}", (M * max(len(block.by_levels), 1),), *ctx.bounds(f"sd_{i}"))
    z = pm.Normal(f"z_{i}", 0.0, 1.0, shape=(M, block.n_levels))
    by = pm.Data(f"Jby_{i}", ctx.values[f"Jby_{i}"]) if block.by_index is not None else None
    Lcov = pm.Data(f"Lcov_{i}", ctx.values[f"Lcov_{i}"]) if block.Lcov is not None else None
    L = None
    if block.correlated:
        eta = ctx.hyper(f"L_{i}", "lkj")
        L = pt.stack([cholesky_corr(name, M, eta[0, 0] if eta is not None else 1.0) for name in block.L_names])
    return scale_effects(z, sd, L, by, Lcov, _student_scale(block, ctx) if block.student else None)


def _stack(terms: list[Any]) -> Any:
    """Terms (..., rows) → (..., rows, thresholds), NumPy or tensors."""
    return np.stack(terms, axis=-1) if isinstance(terms[0], np.ndarray) else pt.stack(terms, axis=-1)


def _monotonic(lp: LinearPredictor, label: str, block: GroupBlock) -> MonotonicTerm:
    """The population term ``mo(x)`` of the predictor that a group term's ``mo(x)`` varies."""
    for t in lp.parts.get("sp") or []:
        if t.label == label and len(t.basis.parts) == 1:
            return t
    raise FormulaError(f"Special group-level terms require corresponding population-level terms: {block.term} has "
                       f"mo() coefficient {label!r}, so the formula needs the same mo() term outside the group "
                       "term too (brms's rule).")


def _graph_monotonic(lp: LinearPredictor, t: MonotonicTerm, ctx: GraphContext) -> Any:
    """``mo(simo, Xmo) * Csp`` of a population term in the graph (brms's ``(bsp + r) * mo(simo, Xmo) * Csp``),
    as a function: its simplex, codes and ``Csp`` are made by the ``sp`` kind, after the group terms."""
    sfx, k = lp.suffix, lp.parts["sp"].index(t)

    def factor() -> Any:
        model = pm.modelcontext(None)
        mo = cumulative(ctx.params[t.simo_params(sfx)[0]], pt)[model[f"Xmo{sfx}_{t.first}"]]
        return mo if t.basis.Csp is None else mo * model[f"Csp{sfx}_{k + 1}"]
    return factor


def _student_scale(block: GroupBlock, ctx: GraphContext) -> pt.TensorVariable:
    """brms's ``dfm = sqrt(df * udf)`` of a Student-t grouping factor, ``udf ~ inv_chi_square(df)`` per level
    (made with the factor's first Student-t block, shared by the others)."""
    name = f"df_{block.ggn}"
    if name not in ctx.params:
        ctx.params[name] = df = parameter(name, (), *ctx.bounds(name))
        ctx.params[f"udf_{block.ggn}"] = pm.InverseGamma(f"udf_{block.ggn}", alpha=df / 2, beta=0.5,
                                                          shape=block.n_levels)
    return pt.sqrt(ctx.params[name] * ctx.params[f"udf_{block.ggn}"])


def _new_block(b: GroupBlock, ctx: RowsContext) -> NewBlock:
    """A group-level block on new rows (``ctx.train``, ``ctx.new``: the training and new rows, coded)."""
    md, rows = ctx.md, ctx.newdata.reset_index(drop=True)
    Z, _ = design_new(b.design_expr, ctx.train, ctx.new, md.env, md.poly)
    Z = np.hstack([Z, np.ones((len(Z), len(b.sp_labels)))])
    Z = np.repeat(Z, b.thresholds, axis=1) if b.thresholds else Z
    if b.weights is not None:  # mm(g1, g2): rows × members
        labels = np.stack([labels_of(rows[g]).to_numpy(dtype=object) for g in b.term.members.groups], axis=1)
        index, Z = member_index(b.term, rows, b.levels), _weighted(Z, member_weights(b.term, rows))
    else:
        labels = group_labels(rows, b.term.factors).to_numpy(dtype=object)
        lookup = {lv: i for i, lv in enumerate(b.levels)}
        index = np.array([lookup.get(lv, -1) for lv in labels], dtype=np.int64)
    new = index < 0
    if new.any() and not ctx.allow_new_levels:
        unseen = sorted(set(labels[new]))
        raise DataError(f"newdata has level(s) {', '.join(map(repr, unseen[:5]))} of the grouping factor "
                        f"{b.group!r} that the model has not seen; pass allow_new_levels=True to predict "
                        "for new groups.")
    codes, uniques = pd.factorize(labels[new])
    new_by = _new_by(b, rows, new, codes, uniques) if b.by_index is not None and new.any() else None
    return NewBlock(b, index, Z, ctx.kept[b.id], codes, new_by)


def _new_by(b: GroupBlock, rows: pd.DataFrame, new: np.ndarray, codes: np.ndarray, uniques: Any) -> np.ndarray:
    """The ``by`` level (0-based) of each new level of a ``gr(g, by = x)`` block, from its rows."""
    by = b.term.options.by
    if b.term.options.by_columns:
        raise DataError(f"New levels of {b.group!r} in newdata are not supported with mm(by = {by}) in brmc.")
    values = labels_of(rows[by]).map(rm_wsp).to_numpy(dtype=object)[new]
    out = np.empty(len(uniques), dtype=np.int64)
    for code, level in enumerate(uniques):
        seen = set(values[codes == code])
        if len(seen) > 1 or not seen <= set(b.by_levels):
            raise DataError(f"The new level {level!r} of {b.group!r} in newdata must lie in one level of {by!r} that "
                            f"the model has seen ({', '.join(map(repr, b.by_levels))}), not {sorted(seen)}.")
        out[code] = b.by_levels.index(seen.pop())
    return out


KIND = GroupEffects()
