"""brms's non-linear formula helpers around the expression language of :mod:`brmc.nonlinear`.

- :func:`covariate_data`: brms's ``C_<i>`` data vectors of an expression's covariates;
- :func:`nlf` and :func:`lf`: brms's ``nlf()`` and ``lf()`` read into plain data structures.

Examples
--------
>>> lf("a + b ~ 1").formulas
{'a': '1', 'b': '1'}
>>> nlf("y ~ a * exp(b * x)").expression.names()
['a', 'b', 'x']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DataError, FormulaError
from .lexer import Token, tokenize
from .nonlinear import Expression, parse_expression

# --------------------------------------------------------------------------- data


def covariate_data(expression: Expression, data: pd.DataFrame, nlpars: Iterable[str],
                   prefix: str = "") -> dict[str, np.ndarray]:
    """brms's ``C_<i>`` data: one vector per covariate of the expression, in order of appearance.

    As brms 2.18's ``data_cnl``: integer columns stay integer (Stan ``int C_1[N]``), a two-level
    factor becomes its treatment dummy (second level = 1), a factor with more levels is refused.

    Parameters
    ----------
    expression : Expression
        The parsed non-linear expression.
    data : pandas.DataFrame
        The model data (rows in the model's order).
    nlpars : iterable of str
        The non-linear parameters.
    prefix : str
        brms's name prefix (``"_y"`` in multivariate models gives ``C_y_1``).

    Returns
    -------
    dict of str to numpy.ndarray

    Raises
    ------
    FormulaError
        A name that is neither a parameter nor a column.
    DataError
        A factor covariate with more than two levels.

    Examples
    --------
    >>> import pandas as pd
    >>> e = parse_expression("a * exp(b * x)")
    >>> covariate_data(e, pd.DataFrame({"x": [1, 2], "y": [0.5, 1.5]}), ["a", "b"])
    {'C_1': array([1, 2])}
    """
    nlpars = list(nlpars)
    expression.check_names(nlpars, data.columns)
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(expression.covariates(nlpars), start=1):
        column = data[name]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            levels = list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype) \
                else sorted(column.unique())
            if len(levels) > 2:
                raise DataError(
                    f"The non-linear covariate {name!r} is a factor with {len(levels)} levels; brms allows "
                    "factors with at most two levels as covariates (code the others as numbers)."
                )
            values = (column == levels[-1]).to_numpy(dtype=float) if len(levels) == 2 \
                else np.zeros(len(column))
        elif np.issubdtype(column.dtype, np.integer):
            values = column.to_numpy(dtype=np.int64)
        else:
            values = column.to_numpy(dtype=float)
        out[f"C{prefix}_{i}"] = values
    return out



# --------------------------------------------------------------------------- nlf() and lf()


def _split_tilde(formula: str, where: str) -> tuple[list[Token], str]:
    """The left-hand side's tokens and the right-hand side's text of ``lhs ~ rhs``."""
    if not isinstance(formula, str):
        raise FormulaError(f"{where} takes formulas as text such as 'a ~ 1', not {type(formula).__name__}.")
    tokens = tokenize(formula)
    tildes = [tok for tok in tokens if tok.text == "~"]
    if len(tildes) != 1 or tildes[0] is tokens[0]:
        raise FormulaError(f"{where}: {formula!r} must have the form 'name ~ right-hand side' (one '~').")
    lhs = tokens[: tokens.index(tildes[0])]
    return lhs, formula[tildes[0].pos + 1 :]


def _lhs_names(lhs: list[Token], formula: str, where: str) -> list[str]:
    """``a + b`` on a left-hand side: the names, each a plain name."""
    names = lhs[0::2]
    if any(tok.kind != "name" for tok in names) or any(tok.text != "+" for tok in lhs[1::2]) or len(lhs) % 2 == 0:
        raise FormulaError(
            f"{where}: the left-hand side of {formula!r} must name parameters joined by '+', e.g. 'a + b ~ 1'.")
    return [tok.text.strip("`") for tok in names]


@dataclass(frozen=True)
class NonlinearFormula:
    """brms's ``nlf()``: a parameter (or the response) given by a non-linear expression.

    Parameters
    ----------
    par : str
        The left-hand side: the response, or the distributional parameter (``sigma``).
    expression : Expression
        The right-hand side.
    loop : bool
        brms's ``loop`` (evaluate observation by observation in Stan); kept for printing.
    """

    par: str
    expression: Expression
    loop: bool = True


def nlf(formula: str, loop: bool = True) -> NonlinearFormula:
    """brms's ``nlf(sigma ~ a * exp(b * x))``: a non-linear formula for one parameter.

    Parameters
    ----------
    formula : str
        ``name ~ expression``.
    loop : bool
        brms's ``loop`` argument.

    Returns
    -------
    NonlinearFormula

    Examples
    --------
    >>> f = nlf("sigma ~ a * exp(b * x)")
    >>> f.par, f.expression.names()
    ('sigma', ['a', 'b', 'x'])
    """
    lhs, rhs = _split_tilde(formula, "nlf()")
    if len(lhs) != 1 or lhs[0].kind != "name":
        raise FormulaError(f"nlf(): the left-hand side of {formula!r} must be one name, e.g. 'sigma ~ a * x'.")
    return NonlinearFormula(lhs[0].text.strip("`"), parse_expression(rhs), bool(loop))


@dataclass(frozen=True)
class LinearFormulas:
    """brms's ``lf()``: linear formulas of non-linear (or distributional) parameters.

    Parameters
    ----------
    formulas : dict of str to str
        Parameter name → right-hand side text (``a + b ~ 1`` gives both ``a`` and ``b`` the ``1``).
    center, cmc : bool or None
        brms's per-formula options (``None``: the default).
    """

    formulas: dict[str, str]
    center: bool | None = None
    cmc: bool | None = None


def lf(*formulas: str, center: bool | None = None, cmc: bool | None = None) -> LinearFormulas:
    """brms's ``lf(a ~ x, b ~ z + (1 | g))``: one linear formula per parameter.

    Parameters
    ----------
    *formulas : str
        ``name ~ rhs`` or ``name1 + name2 ~ rhs``.
    center : bool, optional
        brms's ``center`` for these formulas (read here; :func:`brmc.bf` refuses it, not supported yet).
    cmc : bool, optional
        brms's ``cmc`` for these formulas (as ``center``).

    Returns
    -------
    LinearFormulas

    Raises
    ------
    FormulaError
        A malformed left-hand side, or a parameter given two formulas.

    Examples
    --------
    >>> lf("a + b ~ 1", "c ~ x + (1 | g)").formulas
    {'a': '1', 'b': '1', 'c': 'x + (1 | g)'}
    """
    out: dict[str, str] = {}
    for formula in formulas:
        lhs, rhs = _split_tilde(formula, "lf()")
        for name in _lhs_names(lhs, formula, "lf()"):
            if name in out:
                raise FormulaError(f"lf(): the parameter {name!r} has two formulas.")
            out[name] = rhs.strip()
    return LinearFormulas(out, center, cmc)
