"""Population-level effects (brms's ``fe``): the design of a predictor's population part,
its coefficients ``b`` and temporary intercept on centred columns, and ``b_`` names.

brms samples ``b`` on the centred columns ``Xc`` with a temporary ``Intercept``
(``Intercept_sigma`` for ``sigma``'s predictor) and reports
``b_Intercept = Intercept - means_X · b``.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.formula.parse_formula("Reaction ~ Days"),
    ...                           brmc.datasets.load("sleepstudy"), brmc.families.get_family("gaussian"))
    >>> part = md.predictors["mu"].parts["fe"]
    >>> part.b_names, part.has_intercept, [s.param for s in KIND.slots(md.predictors["mu"], part)]
    (['Days'], True, ['b', 'Intercept'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from .. import naming
from ..design import design_new, design_terms
from ..errors import DataError
from ..formula import PopulationTerm
from ..graph import parameter
from .base import (DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind,
                   default_scale, prior_row, student_t)

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor, ModelData


@dataclass
class Population:
    """A predictor's population design: ``X`` (with the intercept column when it has one),
    brms's names of the other columns, and whether the columns are centred (brms centres
    them when there is an intercept, or thresholds in its place), and the variables of each
    of its terms (conditional effects' defaults)."""

    X: np.ndarray
    b_names: list[str]
    has_intercept: bool
    centred: bool
    #: the variables of each term of the population part (R's ``terms()``)
    term_variables: list[set[str]] = field(default_factory=list)

    @property
    def Xc(self) -> np.ndarray:
        """Population columns without the intercept, centred as brms centres them."""
        return self._Xb - self.means_X

    @property
    def means_X(self) -> np.ndarray:
        return self._Xb.mean(axis=0) if self.centred else np.zeros(self._Xb.shape[1])

    @property
    def _Xb(self) -> np.ndarray:
        return self.X[:, 1:] if self.has_intercept else self.X

    @property
    def population_names(self) -> list[str]:
        """Names of the columns of ``X``."""
        return (["Intercept"] if self.has_intercept else []) + self.b_names


def intercept_prior(md: ModelData, lp: LinearPredictor) -> str:
    """The default prior of a predictor's intercept (brms's ``def_dprior``): data-based on
    the ``mu`` predictors, the parameter's own default on the others."""
    if lp.dpar in md.mu_dpars:
        return student_t(*default_scale(md, link=lp.link, offset=lp.offset)[:2])
    own = md.family.dpar(lp.dpar).intercept_prior  # "" is flat (ndt under its link), None data-based
    return own if own is not None else student_t(0, default_scale(md, link=lp.link)[1])


def _check_constant(X: np.ndarray, names: list[str], has_intercept: bool) -> None:
    if not has_intercept:
        return
    for j, name in enumerate(names[1:], start=1):
        if np.ptp(X[:, j]) == 0:
            raise DataError(
                f"The population-level predictor {name!r} is constant in the data used "
                "(after dropping incomplete rows), so its effect cannot be separated from the intercept."
            )


class PopulationEffects(TermKind):
    """The kind ``fe``: one :class:`~brmc.formula.PopulationTerm` per predictor."""

    name = "fe"

    def data(self, terms: list[PopulationTerm], ctx: DataContext) -> Population:
        X, names, term_variables = design_terms(terms[0].expr, ctx.prepared, ctx.env, ctx.poly)
        has_intercept = bool(names) and names[0] == "Intercept"
        _check_constant(X, names, has_intercept)
        if ctx.nlpar:  # brms: a non-linear parameter's design is not centred, its intercept a coefficient of b
            return Population(X=X, b_names=names, has_intercept=False, centred=False, term_variables=term_variables)
        if ctx.family.ordinal and has_intercept:  # thresholds take the intercept's place
            X, names, has_intercept = X[:, 1:], names[1:], False
        return Population(X=X, b_names=names[1:] if has_intercept else names, has_intercept=has_intercept,
                          centred=has_intercept or ctx.family.ordinal, term_variables=term_variables)

    def structure(self, part: Population) -> Any:
        return len(part.b_names), part.has_intercept

    def prior_rows(self, lp: LinearPredictor, part: Population, ctx: PriorContext) -> list[dict]:
        dp = naming.table_dpar(lp.dpar)
        rows = []
        if part.b_names:
            rows.append(prior_row("", "b", dpar=dp))
            rows += [prior_row("", "b", coef=c, dpar=dp) for c in part.b_names]
        if part.has_intercept:
            rows.append(prior_row(intercept_prior(ctx.md, lp), "Intercept", dpar=dp))
        return rows

    def slots(self, lp: LinearPredictor, part: Population) -> list[ParamSlot]:
        dp, sfx = naming.table_dpar(lp.dpar), lp.suffix
        out = [ParamSlot(f"b{sfx}", k, "b", coef, "", dp, user_bounds=True) for k, coef in enumerate(part.b_names)]
        if part.has_intercept:
            out.append(ParamSlot(f"Intercept{sfx}", 0, "Intercept", "", "", dp))
        return out

    def data_values(self, lp: LinearPredictor, part: Population) -> dict[str, np.ndarray]:
        return {f"Xc{lp.suffix}": part.Xc} if part.b_names else {}

    def graph(self, lp: LinearPredictor, part: Population, ctx: GraphContext) -> tuple:
        sfx = lp.suffix
        X, b, intercept = pt.zeros((ctx.nobs, 0)), pt.zeros(0), 0.0
        if part.b_names:
            ctx.params[f"b{sfx}"] = b = parameter(f"b{sfx}", (len(part.b_names),), *ctx.bounds(f"b{sfx}"))
            X = pm.Data(f"Xc{sfx}", ctx.values[f"Xc{sfx}"])
        if part.has_intercept:
            ctx.params[f"Intercept{sfx}"] = intercept = (ctx.intercepts[lp.dpar] if lp.dpar in ctx.intercepts
                                                         else parameter(f"Intercept{sfx}", (), None, None))
        return X, b, intercept

    def add(self, eta: Any, contribution: tuple) -> Any:
        X, b, intercept = contribution
        return eta + (b @ X.T + intercept)

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: Population) -> dict[str, dict[str, np.ndarray]]:
        sfx = lp.suffix
        b = raw[f"b{sfx}"].values if part.b_names else None
        out: dict[str, dict[str, np.ndarray]] = {"intercepts": {}, "b": {}, "temporary": {}}
        if part.has_intercept:
            temporary = out["temporary"][f"Intercept{sfx}"] = raw[f"Intercept{sfx}"].values
            shift = b @ part.means_X if b is not None else 0.0
            out["intercepts"][naming.b_name(lp.pname, "Intercept")] = temporary - shift
        for k, coef in enumerate(part.b_names):
            out["b"][naming.b_name(lp.pname, coef)] = b[..., k]
        return out

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: Population) -> dict[str, np.ndarray]:
        sfx, out = lp.suffix, {}
        if part.b_names:
            out[f"b{sfx}"] = np.stack([posterior[naming.b_name(lp.pname, n)].values for n in part.b_names], axis=-1)
        if part.has_intercept:
            out[f"Intercept{sfx}"] = posterior[f"Intercept{sfx}"].values
        return out

    def needed(self, lp: LinearPredictor, part: Population, kept: dict[int, list[int]]) -> tuple[list[str], list[str]]:
        return lp.formula.population.variables, []

    def rows(self, lp: LinearPredictor, part: Population, ctx: RowsContext) -> np.ndarray:
        if ctx.newdata is None:
            return part.X
        X, names = design_new(lp.formula.population, ctx.train, ctx.new, ctx.md.env, ctx.md.poly)
        assert names[len(names) - len(part.population_names):] == part.population_names
        return X[:, len(names) - len(part.population_names):]

    def draws(self, lp: LinearPredictor, part: Population, rows: np.ndarray, ctx: DrawsContext) -> tuple:
        return rows, ctx.pick(population_effects(ctx.posterior, lp.pname, part)), 0.0


def population_effects(posterior: xr.Dataset, pname: str, part: Population) -> np.ndarray:
    """The draws of a predictor's ``b`` for the columns of its ``X`` (intercept first when
    there is one): (chain, draw, K)."""
    shape = (posterior.sizes["chain"], posterior.sizes["draw"], 0)
    columns = [posterior[naming.b_name(pname, n)].values for n in part.population_names]
    return np.stack(columns, axis=-1) if columns else np.zeros(shape)


KIND = PopulationEffects()
