"""Category-specific effects (brms's ``cs``): ``cs(x)`` in the ``mu`` formula of an ordinal model.

brms gives each column of the design of the ``cs()`` terms (all of a predictor's ``cs()``
arguments in one formula without intercept, brms's ``Xcs``) one coefficient per threshold,
``matrix[Kcs, nthres] bcs`` (prior class ``b``, coefficient the column's name), and shifts the
thresholds of each observation: its likelihood takes ``Intercept - transpose(mucs[n])`` with
``mucs = Xcs * bcs``.  brmc adds ``mucs`` to the linear predictor instead, brms's own
``predictor_cs`` after sampling: the linear predictor gets a last axis of thresholds, and
``thres_k - (eta + mucs_k)`` is the same number.  The columns are not centred.  The draws are
``bcs_treat[1]``, ``bcs_treat[2]``, ...; brms's summary prints them as ``treat[1]``, ...

``sratio``, ``cratio`` and ``acat`` take them; brms 2.18 lets ``cumulative`` take them too, with a
warning that they are experimental there (the thresholds of an observation may then be out of
order, a point of zero likelihood).

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("rating ~ cs(treat)"), brmc.datasets.load("inhaler"),
    ...                           brmc.get_family("sratio"))
    >>> part = md.predictors["mu"].parts["cs"]
    >>> part.names, part.nthres, part.Xcs.shape
    (['treat'], 3, (572, 1))
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pymc as pm

from ..contrasts import factor_codings
from ..design import design, design_new, factor_names, prepare_factors
from ..errors import FormulaError
from ..formula import CallTerm
from ..graph import parameter
from ..lexer import Expr, Token, split_top
from ..naming import coef_label
from ..term_calls import is_call
from .base import DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind, prior_row

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor

#: the families that take category-specific effects (brms's specials ``cs``, and ``ocs``: cumulative)
CS_FAMILIES = ("sratio", "cratio", "acat", "cumulative")


@dataclass
class CategorySpecific:
    """A predictor's category-specific effects: the formula of its ``cs()`` arguments (``1 + treat``,
    the intercept column dropped from the design), brms's ``Xcs`` and column names, the number of
    thresholds and the factors coded by ``contr.poly``."""

    expr: Expr
    Xcs: np.ndarray
    names: list[str]
    nthres: int
    poly: frozenset[str]

    def labels(self, lp: LinearPredictor) -> list[str]:
        """The draws' names, coefficient by coefficient, threshold by threshold: ``bcs_treat[1]``
        (``bcs_y1_treat[1]`` of response ``y1`` of a multivariate model)."""
        return [f"bcs_{coef_label(lp.pname, name)}[{k + 1}]" for name in self.names for k in range(self.nthres)]


def _formula(terms: list[CallTerm]) -> Expr:
    """``cs(a) + cs(b + c)`` → ``1 + a + b + c`` (brms's ``terms_cs``), each argument a term."""
    tokens: list[Token] = [Token("number", "1", -1)]
    for term in terms:
        if len(term.args) != 1:
            raise FormulaError(f"{term} takes one formula part, as in cs(x) or cs(x + z).")
        tokens += [Token("op", "+", -1), *term.args[0].tokens]
    return Expr(tokens)


def group_arguments(term: Any) -> Expr | None:
    """The effects of a group term of ``cs()`` calls (``(cs(1) | g)``, ``(cs(x) | g)``): their arguments as
    one formula, whose intercept brms keeps (``None``: the term has no ``cs()``).

    Examples
    --------
    >>> from brmc.formula import parse_formula
    >>> group_arguments(parse_formula("y ~ (cs(x) | g)").group_terms[0])
    'x'
    """
    summands = split_top(term.expr.tokens, "+")
    calls = [s for s in summands if is_call(s, ["cs", "cse"])]
    if not calls:
        return None
    if len(calls) < len(summands):
        raise FormulaError(f"Please specify category specific effects in separate group-level terms: {term}.")
    if any(len(split_top(s[2:-1], ",")) != 1 or len(s) < 4 for s in calls):
        raise FormulaError(f"cs() takes one formula part, as in cs(1) or cs(x + z): {term}.")
    tokens = [t for k, s in enumerate(calls) for t in ([Token("op", "+", s[0].pos)] if k else []) + s[2:-1]]
    return Expr(tokens)


def check_family(ctx: DataContext) -> None:
    """brms's rule: category-specific effects in the ``mu`` formula of a family of :data:`CS_FAMILIES`."""
    if ctx.dpar != "mu":
        raise FormulaError("Category specific effects are only supported for the main parameter 'mu'.")
    if ctx.family.name not in CS_FAMILIES:
        raise FormulaError(f"Category specific effects (cs()) are not supported for family '{ctx.family.name}'; "
                           f"the families that take them: {', '.join(CS_FAMILIES)}.")
    if ctx.family.name == "cumulative":
        warnings.warn("Category specific effects for this family should be considered experimental and may "
                      "have convergence issues.", UserWarning, stacklevel=2)


def category_specific(eta: Any, mucs: Any) -> Any:
    """``eta`` with a last axis of thresholds: ``eta[..., None] + mucs`` (``eta`` a number, one value per
    row, or already with the axis (``(cs(1) | g)`` adds first), NumPy or tensors alike).

    Example:
        >>> category_specific(np.array([1.0, 2.0]), np.array([[0.0, 10.0], [0.0, 20.0]])).tolist()
        [[1.0, 11.0], [2.0, 22.0]]
    """
    return eta + mucs if getattr(eta, "ndim", 0) in (0, mucs.ndim) else eta[..., None] + mucs


class CategorySpecificEffects(TermKind):
    """The kind ``cs``: every ``cs()`` term of a predictor, one design."""

    name = "cs"
    calls = ("cs", "cse")

    def data(self, terms: list[CallTerm], ctx: DataContext) -> CategorySpecific | None:
        if not terms:
            return None
        check_family(ctx)
        expr = _formula(terms)
        factors = factor_names(expr, ctx.frame)
        codings = factor_codings(ctx.frame, factors, None)
        poly = frozenset(ctx.poly | {f for f, c in codings.items() if c == "poly" and f not in ctx.poly})
        X, names = design(expr, prepare_factors(ctx.frame, factors), ctx.env, poly)
        if not names[1:]:  # cs(1): the thresholds are the category-specific intercepts
            return None
        return CategorySpecific(expr, X[:, 1:], names[1:], ctx.thresholds, poly)

    def structure(self, part: CategorySpecific) -> Any:
        return len(part.names), part.nthres

    def prior_rows(self, lp: LinearPredictor, part: CategorySpecific, ctx: PriorContext) -> list[dict]:
        return [prior_row("", "b")] + [prior_row("", "b", coef=c) for c in part.names]

    def slots(self, lp: LinearPredictor, part: CategorySpecific) -> list[ParamSlot]:
        """A slot per coefficient and threshold: ``bcs`` is sampled flat, coefficient-major."""
        return [ParamSlot(f"bcs{lp.suffix}", k * part.nthres + j, "b", name, user_bounds=True)
                for k, name in enumerate(part.names) for j in range(part.nthres)]

    def data_values(self, lp: LinearPredictor, part: CategorySpecific) -> dict[str, np.ndarray]:
        return {f"Xcs{lp.suffix}": part.Xcs}

    def graph(self, lp: LinearPredictor, part: CategorySpecific, ctx: GraphContext) -> tuple:
        """brms's ``Xcs`` and ``bcs`` (Kcs × nthres)."""
        bcs, Xcs = f"bcs{lp.suffix}", f"Xcs{lp.suffix}"
        ctx.params[bcs] = value = parameter(bcs, (len(part.names) * part.nthres,), *ctx.bounds(bcs))
        return pm.Data(Xcs, ctx.values[Xcs]), value.reshape((len(part.names), part.nthres))

    def add(self, eta: Any, contribution: tuple) -> Any:
        """``eta`` with a last axis of thresholds, ``eta + Xcs bcs[:, k]`` on its k-th element
        (``bcs``: Kcs × nthres, draws on leading axes)."""
        Xcs, bcs = contribution
        return category_specific(eta, Xcs @ bcs)

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: CategorySpecific) -> dict[str, dict]:
        bcs = raw[f"bcs{lp.suffix}"].values
        return {"bcs": {label: bcs[..., k] for k, label in enumerate(part.labels(lp))}}

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: CategorySpecific) -> dict[str, np.ndarray]:
        return {f"bcs{lp.suffix}": np.stack([posterior[label].values for label in part.labels(lp)], axis=-1)}

    def needed(self, lp: LinearPredictor, part: CategorySpecific, kept: dict[int, list[int]]
               ) -> tuple[list[str], list[str]]:
        return part.expr.variables, []

    def rows(self, lp: LinearPredictor, part: CategorySpecific, ctx: RowsContext) -> np.ndarray:
        if ctx.newdata is None:
            return part.Xcs
        X, _ = design_new(part.expr, ctx.train, ctx.new, ctx.md.env, part.poly)
        return X[:, 1:]

    def draws(self, lp: LinearPredictor, part: CategorySpecific, rows: np.ndarray, ctx: DrawsContext) -> tuple:
        bcs = ctx.pick(self.constrained(ctx.posterior, lp, part)[f"bcs{lp.suffix}"])
        return rows, bcs.reshape(len(bcs), len(part.names), part.nthres)


KIND = CategorySpecificEffects()
