"""Monotonic effects (brms's special terms ``sp``): ``mo(x)`` with a coefficient ``bsp``
(class ``b``) and a simplex ``simo`` (class ``simo``, default ``dirichlet(1)``).

brms adds ``bsp * mo(simo, Xmo)`` per term, ``mo(simo, i) = Jmo * sum(simo[1:i])`` with ``Xmo``
the codes of :class:`brmc.bases.Monotonic` (an ordered factor's level number minus one, a
whole number minus its training minimum).  The draws are ``bsp_moDays`` and
``simo_moDays1[1]``, ...; the ``1`` counts the ``mo()`` calls of the term.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("Reaction ~ mo(Days)"), brmc.datasets.load("sleepstudy"),
    ...                           brmc.get_family("gaussian"))
    >>> [(t.label, t.simo_labels, t.basis.parts[0].Jmo) for t in md.predictors["mu"].parts["sp"]]
    [('moDays', ['moDays1'], 9)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .. import naming
from ..bases import SpecialTerm
from ..errors import FormulaError
from ..formula import CallTerm
from ..lexer import Expr, Token, matching, split_top
from ..graph import parameter
from .base import (DIRICHLET_1, DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext,
                   TermKind, prior_row)

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor


@dataclass
class MonotonicTerm:
    """One special term of a predictor: its brms label (``moDays``), its data, and the number of
    its first simplex among the predictor's (brms numbers ``simo_1``, ``simo_2``, ... across terms)."""

    term: CallTerm
    label: str
    basis: SpecialTerm
    first: int

    @property
    def simo_labels(self) -> list[str]:
        """The ``coef`` of each simplex's prior: ``moDays1``."""
        return [f"{self.label}{j + 1}" for j in range(len(self.basis.parts))]

    def simo_params(self, sfx: str) -> list[str]:
        return [f"simo{sfx}_{self.first + j}" for j in range(len(self.basis.parts))]


def _name(expr: Expr, term: CallTerm) -> str:
    if len(expr.tokens) != 1 or expr.tokens[0].kind != "name":
        raise FormulaError(f"The term {term} takes column names (brmc does not read mo()'s other arguments, "
                           f"or expressions, yet), not {expr!r}.")
    return expr.tokens[0].text.strip("`")


def _term(term: CallTerm, first: int, ctx: DataContext) -> MonotonicTerm:
    if len(term.args) != 1:
        raise FormulaError(f"{term} takes one column name.")
    covariates = [_name(c, term) for c in term.covariates]
    basis = SpecialTerm(ctx.frame, [_name(term.args[0], term)], covariates)
    return MonotonicTerm(term, naming.brms_rename(str(term)), basis, first)


def group_summands(term: Any) -> tuple[Expr, list[str]]:
    """A group term's effects without its ``mo(x)`` summands, and their brms labels (``moDays``): brms
    makes each a group-level coefficient of the population term of that label (``(bsp + r) * mo(simo,
    Xmo)``), after the term's other coefficients.  ``(mo(x) | g)`` keeps R's intercept, as brms does.

    Examples
    --------
    >>> from brmc.formula import parse_formula
    >>> group_summands(parse_formula("y ~ mo(Days) + (mo(Days) | Subject)").group_terms[0])
    ('1', ['moDays'])
    >>> group_summands(parse_formula("y ~ mo(Days):z + (x + mo(Days):z | Subject)").group_terms[0])
    ('x', ['moDays:z'])
    """
    summands = split_top(term.expr.tokens, "+")
    monotonic = [s for s in summands if _monotonic_summand(s)]
    rest = [s for s in summands if not _monotonic_summand(s)]
    if any(t.kind == "name" and t.text == "mo" for s in rest for t in s):
        raise FormulaError(f"mo() enters a group-level term such as {term} only as a summand, mo(x) or "
                           f"mo(x):z with z numeric columns, in brmc.")
    tokens = [t for k, s in enumerate(rest) for t in ([Token("op", "+", s[0].pos)] if k else []) + s]
    labels = list(dict.fromkeys(naming.brms_rename(Expr(s)) for s in monotonic))  # R's terms(): once each
    return Expr(tokens or [Token("number", "1", 0)]), labels


def _monotonic_summand(tokens: list[Token]) -> bool:
    """``mo(x)`` or ``mo(x):z:w`` (one ``mo()`` call times columns), as brms's special group-level terms."""
    if len(tokens) < 4 or tokens[0].text != "mo" or tokens[1].text != "(":
        return False
    after = tokens[matching(tokens, 1) + 1:]
    return all(t.text == ":" if k % 2 == 0 else t.kind == "name" for k, t in enumerate(after)) and len(after) % 2 == 0


def cumulative(simo: Any, lib: Any) -> Any:
    """``mo(simo, i)`` for every code ``i = 0..Jmo``: ``Jmo * [0, cumsum(simo)]`` on the last axis
    (``lib``: numpy for draws, ``pytensor.tensor`` in the graph)."""
    zeros = lib.zeros_like(simo[..., :1])
    return simo.shape[-1] * lib.concatenate([zeros, lib.cumsum(simo, axis=-1)], axis=-1)


class MonotonicEffects(TermKind):
    """The kind ``sp``: every ``mo()`` term of a predictor."""

    name = "sp"
    calls = ("mo",)
    interacts = True

    def data(self, terms: list[CallTerm], ctx: DataContext) -> list[MonotonicTerm] | None:
        out: list[MonotonicTerm] = []
        for term in terms:
            out.append(_term(term, 1 + sum(len(t.basis.parts) for t in out), ctx))
        return out or None

    def structure(self, part: list[MonotonicTerm]) -> Any:
        return [([p.Jmo for p in t.basis.parts], t.basis.Csp is not None) for t in part]

    def prior_rows(self, lp: LinearPredictor, part: list[MonotonicTerm], ctx: PriorContext) -> list[dict]:
        dp = naming.table_dpar(lp.dpar)
        rows = [prior_row("", "b", dpar=dp)] + [prior_row("", "b", coef=t.label, dpar=dp) for t in part]
        return rows + [prior_row(DIRICHLET_1, "simo", coef=c, dpar=dp) for t in part for c in t.simo_labels]

    def slots(self, lp: LinearPredictor, part: list[MonotonicTerm]) -> list[ParamSlot]:
        dp, sfx = naming.table_dpar(lp.dpar), lp.suffix
        out = [ParamSlot(f"bsp{sfx}", k, "b", t.label, "", dp) for k, t in enumerate(part)]
        return out + [ParamSlot(p, 0, "simo", c, "", dp) for t in part for p, c in zip(t.simo_params(sfx), t.simo_labels)]

    def data_values(self, lp: LinearPredictor, part: list[MonotonicTerm]) -> dict[str, np.ndarray]:
        sfx = lp.suffix
        values = {f"Xmo{sfx}_{t.first + j}": p.Xmo for t in part for j, p in enumerate(t.basis.parts)}
        return values | {f"Csp{sfx}_{k + 1}": t.basis.Csp for k, t in enumerate(part) if t.basis.Csp is not None}

    def graph(self, lp: LinearPredictor, part: list[MonotonicTerm], ctx: GraphContext) -> list[tuple]:
        """Per term ``(bsp_k, [(Xmo, Jmo * [0, cumsum(simo)]) per mo() call])``; each simplex's
        ``dirichlet`` prior is the model's, as a mixture's ``theta`` (:mod:`brmc.model`)."""
        sfx = lp.suffix
        ctx.params[f"bsp{sfx}"] = bsp = parameter(f"bsp{sfx}", (len(part),), *ctx.bounds(f"bsp{sfx}"))
        out = []
        for k, t in enumerate(part):
            factors = []
            for j, (p, name) in enumerate(zip(t.basis.parts, t.simo_params(sfx))):
                ctx.params[name] = simo = parameter(name, (p.Jmo,), None, None, simplex=True)
                Xmo = pm.Data(f"Xmo{sfx}_{t.first + j}", ctx.values[f"Xmo{sfx}_{t.first + j}"])
                factors.append((Xmo, cumulative(simo, pt)))
            Csp = pm.Data(f"Csp{sfx}_{k + 1}", ctx.values[f"Csp{sfx}_{k + 1}"]) if t.basis.Csp is not None else 1.0
            out.append((bsp[k], factors, Csp))
        return out

    def add(self, eta: Any, contribution: list[tuple]) -> Any:
        """``eta + Σ bsp_k Π mo(simo, Xmo) Csp_k``: each factor gathers its row's code from
        ``Jmo * [0, cumsum(simo)]``; ``Csp_k`` is the product of the term's other covariates (or 1)."""
        for bsp, factors, Csp in contribution:
            term = (bsp[..., None] if getattr(bsp, "ndim", 0) else bsp) * Csp
            for Xmo, cum in factors:
                term = term * cum[..., Xmo]
            eta = eta + term
        return eta

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: list[MonotonicTerm]) -> dict[str, dict]:
        sfx = lp.suffix
        bsp = raw[f"bsp{sfx}"].values
        out: dict[str, dict] = {"bsp": {f"bsp{sfx}_{t.label}": bsp[..., k] for k, t in enumerate(part)}, "simo": {}}
        for t in part:
            for name, label in zip(t.simo_params(sfx), t.simo_labels):
                simo = raw[name].values
                out["simo"] |= {f"simo{sfx}_{label}[{i + 1}]": simo[..., i] for i in range(simo.shape[-1])}
        return out

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: list[MonotonicTerm]) -> dict[str, np.ndarray]:
        sfx = lp.suffix
        out = {f"bsp{sfx}": np.stack([posterior[f"bsp{sfx}_{t.label}"].values for t in part], axis=-1)}
        for t in part:
            for j, name in enumerate(t.simo_params(sfx)):
                out[name] = simplex_draws(posterior, sfx, t, j)
        return out

    def needed(self, lp: LinearPredictor, part: list[MonotonicTerm], kept: dict[int, list[int]]
               ) -> tuple[list[str], list[str]]:
        return list(dict.fromkeys(n for t in part for n in t.term.variables)), []

    def rows(self, lp: LinearPredictor, part: list[MonotonicTerm], ctx: RowsContext) -> list[tuple]:
        """Each term's codes per ``mo()`` call and its ``Csp``, of the training rows or of ``ctx.new``."""
        if ctx.newdata is None:
            return [([p.Xmo for p in t.basis.parts], t.basis.Csp) for t in part]
        return [([p.codes(ctx.new) for p in t.basis.parts], t.basis.covariate_product(ctx.new)) for t in part]

    def draws(self, lp: LinearPredictor, part: list[MonotonicTerm], rows: list, ctx: DrawsContext) -> list[tuple]:
        sfx = lp.suffix
        out = []
        for t, (codes, Csp) in zip(part, rows):
            bsp = ctx.pick(ctx.posterior[f"bsp{sfx}_{t.label}"].values)
            factors = [(x, cumulative(ctx.pick(simplex_draws(ctx.posterior, sfx, t, j)), np)) for j, x in enumerate(codes)]
            out.append((bsp, factors, 1.0 if Csp is None else Csp))
        return out



def simplex_draws(posterior: xr.Dataset, sfx: str, t: MonotonicTerm, j: int) -> np.ndarray:
    """The draws of a term's ``j``-th simplex: (chain, draw, Jmo)."""
    name = f"simo{sfx}_{t.simo_labels[j]}"
    return np.stack([posterior[f"{name}[{i + 1}]"].values for i in range(t.basis.parts[j].Jmo)], axis=-1)


KIND = MonotonicEffects()
