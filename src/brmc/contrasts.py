"""R's coding of factors in a design: treatment contrasts, and polynomial contrasts
(``contr.poly``) for ordered factors.

R codes an unordered factor with ``contr.treatment`` (columns ``x2``, ``x3``,
...) and an ordered one with ``contr.poly``: orthonormal polynomials on the
level index 1..K, columns ``x.L``, ``x.Q``, ``x.C``, ``x^4``, ... which brms
names ``b_x.L``, ``b_x.Q``, ``b_x.C``, ``b_xE4``.  ``brm(..., contrasts=...)``
overrides the coding of a column, as the ``contrasts`` argument of R's
``lm``/``model.matrix`` does.

Example:
    >>> contr_poly(3).round(4).tolist()
    [[-0.7071, 0.4082], [-0.0, -0.8165], [0.7071, 0.4082]]
    >>> poly_labels(5)
    ['.L', '.Q', '.C', '^4']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from formulae.categorical import ContrastMatrix, Encoding

from .errors import DataError, close_matches

#: spellings of ``contrasts=`` values, R's names included, and the coding each stands for.
CODINGS: dict[str, str] = {
    "treatment": "treatment", "contr.treatment": "treatment", "poly": "poly", "contr.poly": "poly",
}


def contr_poly(k: int) -> np.ndarray:
    """R's ``contr.poly(k)``: the K × (K - 1) orthonormal polynomial contrasts on scores 1..K.

    R's ``make.poly`` orthonormalises the centred Vandermonde matrix by QR and
    scales each column to unit length; its sign makes the column's inner product
    with the centred power positive (so its last entry is positive).

    Parameters
    ----------
    k : int
        Number of levels (at least 2).

    Returns
    -------
    numpy.ndarray
        Shape (k, k - 1): the linear, quadratic, cubic, ... contrasts.

    Examples
    --------
    >>> contr_poly(4).round(4)[:, 0].tolist()
    [-0.6708, -0.2236, 0.2236, 0.6708]
    """
    scores = np.arange(1, k + 1, dtype=float)
    vandermonde = np.vander(scores - scores.mean(), k, increasing=True)
    q, r = np.linalg.qr(vandermonde)
    # R's qr.qy(QR, diag(R)) scaled to unit length: Q's columns times the sign of R's diagonal
    return (q * np.sign(np.diag(r)))[:, 1:]


def poly_labels(k: int) -> list[str]:
    """R's column names of ``contr.poly(k)``: ``.L``, ``.Q``, ``.C``, then ``^4``, ``^5``, ...

    Parameters
    ----------
    k : int
        Number of levels.

    Returns
    -------
    list of str
        ``k - 1`` names.

    Examples
    --------
    >>> poly_labels(3)
    ['.L', '.Q']
    """
    return [".L", ".Q", ".C"][: k - 1] + [f"^{d}" for d in range(4, k)]


class PolyEncoding(Encoding):
    """``contr.poly`` for formulae: the contrasts when the intercept is in the model,
    one indicator column per level (named by the level, as R does) when it is not."""

    def code_with_intercept(self, levels: list[Any]) -> ContrastMatrix:
        return ContrastMatrix(np.eye(len(levels)), [str(lv) for lv in levels])

    def code_without_intercept(self, levels: list[Any]) -> ContrastMatrix:
        return ContrastMatrix(contr_poly(len(levels)), poly_labels(len(levels)))


def is_factor(values: pd.Series) -> bool:
    """Whether R would treat the column as a factor: categorical, logical or text.

    Examples
    --------
    >>> is_factor(pd.Series(["a"])), is_factor(pd.Series([1.5]))
    (True, False)
    """
    return (isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == bool
            or not pd.api.types.is_numeric_dtype(values))


def factor_codings(frame: pd.DataFrame, factors: list[str], contrasts: Mapping[str, str] | None) -> dict[str, str]:
    """The coding of each factor column the formula uses: ``"poly"`` for ordered
    categoricals, ``"treatment"`` for the others, unless ``contrasts`` says otherwise.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    factors : list of str
        The columns the formula's predictors use.
    contrasts : mapping of str to str, optional
        Column → ``"treatment"`` / ``"contr.treatment"`` / ``"poly"`` / ``"contr.poly"``.

    Returns
    -------
    dict
        Column → ``"poly"`` or ``"treatment"``, for the factor columns among ``factors``.

    Examples
    --------
    >>> df = pd.DataFrame({"t": pd.Categorical(["a", "b"], ordered=True), "g": ["x", "y"]})
    >>> factor_codings(df, ["t", "g"], None), factor_codings(df, ["t", "g"], {"t": "treatment"})
    ({'t': 'poly', 'g': 'treatment'}, {'t': 'treatment', 'g': 'treatment'})
    """
    if contrasts is not None and not isinstance(contrasts, Mapping):
        raise DataError(f"contrasts must be a dict of column -> coding, not {type(contrasts).__name__}.")
    out = {}
    for name in factors:
        if name in frame.columns and is_factor(frame[name]):
            col = frame[name]
            ordered = isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered
            out[name] = "poly" if ordered else "treatment"
    for name, coding in (contrasts or {}).items():
        if coding not in CODINGS:
            raise DataError(f"contrasts[{name!r}] = {coding!r} is not a coding brmc knows; "
                            f"use one of {', '.join(map(repr, CODINGS))}.")
        if name not in out:
            what = "a numeric column" if name in factors else "not a factor the formula uses"
            raise DataError(f"contrasts names {name!r}, which is {what}; contrasts apply to the factors "
                            f"among the predictors: {', '.join(map(repr, out)) or 'none'}."
                            f"{close_matches(name, list(out))}")
        out[name] = CODINGS[coding]
    return out
