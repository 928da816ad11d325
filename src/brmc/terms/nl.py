"""Non-linear formulas (brms's ``nl = TRUE``): the kind ``nl``, the expression of ``mu``'s predictor
over the linear predictors of its non-linear parameters (*nlpars*) and data covariates.

Each nlpar is a :class:`~brmc.data.LinearPredictor` of its own, nested in this kind's part and built,
named and predicted by the registered kinds as any other predictor, with brms's rules for nlpars:
its design is not centred and its intercept is a coefficient of ``b`` (``b_ult_Intercept``), its
names carry the nlpar as a dpar's do (``sd_AY__ult_Intercept``, ``r_AY__ult``), and its prior rows
name it in the ``nlpar`` column.  The kind answers every stage by asking the nested predictors' kinds
and evaluating the expression (:mod:`brmc.nonlinear`, never Python's ``eval``) over their linear
predictors: with PyTensor in the model, with NumPy from the draws.  The covariates are brms's
``C_1``, ``C_2``, ... (:func:`brmc.nlformula.covariate_data`).

Example:
    >>> import brmc, pandas as pd
    >>> f = brmc.bf("cum ~ ult * (1 - exp(-(dev / theta)^omega))", "ult ~ 1 + (1 | AY)", "omega ~ 1",
    ...             "theta ~ 1", nl=True)
    >>> loss = pd.DataFrame({"cum": [900.0, 1500.0, 800.0, 1400.0], "dev": [12, 24, 12, 24],
    ...                      "AY": [1988, 1988, 1989, 1989]})
    >>> md = brmc.data.build_data(f, loss, brmc.get_family("gaussian"))
    >>> part = md.predictors["mu"].parts["nl"]
    >>> list(part.predictors), list(part.covariates), part.predictors["ult"].b_names, md.fixef_names
    (['ult', 'omega', 'theta'], ['C_1'], ['Intercept'], ['ult_Intercept', 'omega_Intercept', 'theta_Intercept'])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pymc as pm

from ..nlformula import covariate_data
from ..nlfunctions import NUMPY, PYTENSOR
from ..nlterm import NonlinearTerm
from ..nonlinear import evaluate
from . import registry
from .base import DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor


@dataclass
class NonlinearPart:
    """The data of a non-linear formula: its term, each nlpar's predictor (in the order of ``bf()``)
    and the covariates' values by brms's names (``C_1``: the first covariate)."""

    term: NonlinearTerm
    predictors: dict[str, LinearPredictor]
    covariates: dict[str, np.ndarray]

    def namespace(self, etas: dict[str, Any], covariates: Any) -> dict[str, Any]:
        """The expression's names → values: the nlpars' ``etas`` and the ``covariates`` (in order)."""
        return {**dict(zip(self.term.variables, covariates)), **etas}


class NonlinearFormula(TermKind):
    """The kind ``nl``: a :class:`~brmc.nlterm.NonlinearTerm` and its nlpars' predictors."""

    name = "nl"

    def data(self, terms: list[NonlinearTerm], ctx: DataContext) -> NonlinearPart | None:
        if not terms:
            return None
        term, outer = terms[0], ctx.dpar
        covariates = covariate_data(term.expression, ctx.frame, term.nlpars)
        predictors = {}
        for nlpar, form in term.nlpars.items():
            ctx.dpar, ctx.nlpar = nlpar, True
            predictors[nlpar] = ctx.predictor(nlpar, form)
        ctx.dpar, ctx.nlpar = outer, False
        return NonlinearPart(term, predictors, covariates)

    def structure(self, part: NonlinearPart) -> Any:
        shapes = [(name, str(values.dtype)) for name, values in part.covariates.items()]
        return str(part.term), shapes, [[(k.name, k.structure(p)) for k, p in registry.parts(lp)]
                                        for lp in part.predictors.values()]

    def prior_rows(self, lp: LinearPredictor, part: NonlinearPart, ctx: PriorContext) -> list[dict]:
        rows = []
        for sub, kind, sub_part in _nested(part):
            for row in kind.prior_rows(sub, sub_part, ctx):  # a nlpar's rows name it as nlpar, not dpar
                rows.append({**row, "dpar": "", "nlpar": sub.dpar} if row["dpar"] == sub.dpar else row)
        return rows

    def slots(self, lp: LinearPredictor, part: NonlinearPart) -> list[ParamSlot]:
        return [slot for sub, kind, sub_part in _nested(part) for slot in kind.slots(sub, sub_part)]

    def data_values(self, lp: LinearPredictor, part: NonlinearPart) -> dict[str, np.ndarray]:
        values = dict(part.covariates)
        for sub, kind, sub_part in _nested(part):
            values |= kind.data_values(sub, sub_part)
        return values

    def graph(self, lp: LinearPredictor, part: NonlinearPart, ctx: GraphContext) -> Any:
        etas = {name: registry.linear_predictor({kind.name: kind.graph(sub, sub_part, ctx)
                                                 for kind, sub_part in registry.parts(sub)})
                for name, sub in part.predictors.items()}
        covariates = [pm.Data(name, ctx.values[name]) for name in part.covariates]
        return evaluate(part.term.expression.tree, part.namespace(etas, covariates), PYTENSOR)

    def add(self, eta: Any, contribution: Any) -> Any:
        return eta + contribution

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: NonlinearPart) -> dict[str, dict[str, Any]]:
        sections: dict[str, dict[str, Any]] = {}
        for sub, kind, sub_part in _nested(part):
            for section, named in kind.rename(raw, sub, sub_part).items():
                sections.setdefault(section, {}).update(named)
        return sections

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: NonlinearPart) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for sub, kind, sub_part in _nested(part):
            out |= kind.constrained(posterior, sub, sub_part)
        return out

    def needed(self, lp: LinearPredictor, part: NonlinearPart, kept: dict[int, list[int]]
               ) -> tuple[list[str], list[str]]:
        variables, factors = list(part.term.variables), []
        for sub, kind, sub_part in _nested(part):
            names, groups = kind.needed(sub, sub_part, kept)
            variables, factors = variables + names, factors + groups
        return variables, factors

    def rows(self, lp: LinearPredictor, part: NonlinearPart, ctx: RowsContext) -> tuple:
        """Each nlpar's values by kind (a tuple in :func:`brmc.terms.parts` order), and the covariates."""
        covariates = part.covariates if ctx.newdata is None else \
            covariate_data(part.term.expression, ctx.new, part.predictors)
        per_nlpar = tuple(tuple(kind.rows(sub, sub_part, ctx) for kind, sub_part in registry.parts(sub))
                          for sub in part.predictors.values())
        return per_nlpar, tuple(covariates.values())

    def draws(self, lp: LinearPredictor, part: NonlinearPart, rows: tuple, ctx: DrawsContext) -> np.ndarray:
        per_nlpar, covariates = rows
        etas = {name: registry.linear_predictor({kind.name: kind.draws(sub, sub_part, sub_rows[k], ctx)
                                                 for k, (kind, sub_part) in enumerate(registry.parts(sub))})
                for (name, sub), sub_rows in zip(part.predictors.items(), per_nlpar)}
        values = [np.asarray(c, dtype=float) for c in covariates]
        with np.errstate(all="ignore"):  # as Stan's, a non-finite mean is the likelihood's to refuse
            return evaluate(part.term.expression.tree, part.namespace(etas, values), NUMPY)


def _nested(part: NonlinearPart) -> list[tuple[LinearPredictor, TermKind, Any]]:
    """Every (nlpar's predictor, kind, its part) of a non-linear formula, nlpar by nlpar."""
    return [(sub, kind, sub_part) for sub in part.predictors.values() for kind, sub_part in registry.parts(sub)]



KIND = NonlinearFormula()
