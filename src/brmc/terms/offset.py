"""Offsets (``+ offset(log(n))``): known values added to a predictor, no parameters.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.formula.parse_formula("y ~ offset(log(n))"),
    ...                           {"y": [1.0, 2.0], "n": [1.0, np.e]}, brmc.families.get_family("gaussian"))
    >>> md.predictors["mu"].parts["offset"].round(6).tolist()
    [0.0, 1.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pymc as pm

from ..design import design
from ..errors import DataError
from ..formula import CallTerm
from ..lexer import Expr
from .base import DataContext, DrawsContext, GraphContext, RowsContext, TermKind

if TYPE_CHECKING:
    from ..data import LinearPredictor


def offset_values(expr: Expr, frame: pd.DataFrame, env: dict[str, Any]) -> np.ndarray:
    """The values of ``offset(expr)`` for each row (added to the linear predictor)."""
    X, _ = design(expr.without_intercept(), frame, env)
    if X.shape[1] != 1:
        raise DataError(f"offset({expr}) must be one numeric value per row.")
    return X[:, 0]


class Offset(TermKind):
    """The kind ``offset``: the one ``offset()`` term of a predictor, if any."""

    name = "offset"
    calls = ("offset",)

    def data(self, terms: list[CallTerm], ctx: DataContext) -> np.ndarray | None:
        return offset_values(terms[0].args[0], ctx.frame, ctx.env) if terms else None

    def data_values(self, lp: LinearPredictor, part: np.ndarray) -> dict[str, np.ndarray]:
        return {f"offset{lp.suffix}": part}

    def graph(self, lp: LinearPredictor, part: np.ndarray, ctx: GraphContext) -> Any:
        name = f"offset{lp.suffix}"
        return pm.Data(name, ctx.values[name])

    def add(self, eta: Any, contribution: Any) -> Any:
        return eta + contribution

    def rows(self, lp: LinearPredictor, part: np.ndarray, ctx: RowsContext) -> np.ndarray:
        return part if ctx.newdata is None else offset_values(lp.formula.offset, ctx.newdata, ctx.md.env)

    def draws(self, lp: LinearPredictor, part: np.ndarray, rows: np.ndarray, ctx: DrawsContext) -> np.ndarray:
        return rows


KIND = Offset()
