"""The categories of categorical-like responses: brms's per-category ``mu<cat>`` names and the
``cbind(y1, y2, y3)`` response matrix of ``multinomial`` and ``dirichlet``.

A matrix response is written as brms writes it, ``cbind(y1, y2, y3) | trials(size) ~ x`` (counts)
or ``cbind(p1, p2, p3) ~ x`` (proportions); its columns are the categories, the first the
reference unless ``refcat`` names another, as brms's.

Example:
    >>> import pandas as pd
    >>> from brmc.families import get_family
    >>> from brmc.lexer import Expr, tokenize
    >>> frame = pd.DataFrame({"a": [1, 0], "b": [2, 3]})
    >>> y, cats = matrix_response(Expr(tokenize("cbind(a, b)")), frame, get_family("multinomial"),
    ...                           {"trials": np.array([3.0, 3.0])})
    >>> y.tolist(), cats, category_dpars(cats, get_family("multinomial"))
    ([[1.0, 2.0], [0.0, 3.0]], ['a', 'b'], ['mub'])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from .errors import DataError, FamilyError
from .families import FAMILIES, Family
from .lexer import Expr, Token, matching

#: brms's tolerance of a simplex row's sum (``is_equal``, R's ``all.equal``)
SIMPLEX_TOLERANCE = 1.5e-8


def cbind_columns(tokens: Sequence[Token]) -> list[str] | None:
    """The columns of a response written ``cbind(y1, y2, ...)`` (names only, as brms's matrix
    of columns), or ``None`` when ``tokens`` do not start with one.

    Parameters
    ----------
    tokens : sequence of Token
        A response (or a whole formula: what follows the call is not read).

    Returns
    -------
    list of str or None

    Examples
    --------
    >>> from brmc.lexer import tokenize
    >>> cbind_columns(tokenize("cbind(y1, y2) | trials(n) ~ x")), cbind_columns(tokenize("cbind(m, n - m)"))
    (['y1', 'y2'], None)
    """
    tokens = list(tokens)
    if len(tokens) < 3 or tokens[0].text != "cbind" or tokens[1].text != "(":
        return None
    inside = tokens[2:matching(tokens, 1)]
    names, commas = inside[::2], inside[1::2]
    if not names or any(t.kind != "name" for t in names) or any(t.text != "," for t in commas):
        return None
    return [t.text.strip("`") for t in names] if len(inside) % 2 else None


def _multicol_names() -> str:
    return ", ".join(name for name, make in FAMILIES.items() if make().multicol)


def matrix_response(resp: Expr, frame: pd.DataFrame, family: Family,
                    additions: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """The response matrix of a ``multinomial`` or ``dirichlet`` model, checked as brms 2.18 checks
    it, with its categories (the column names).

    Parameters
    ----------
    resp : Expr
        The response, ``cbind(y1, y2, ...)``.
    frame : pandas.DataFrame
        The data (complete rows).
    family : Family
        The family; one whose response is a matrix.
    additions : dict
        The addition terms' values (``trials`` of a multinomial model).

    Returns
    -------
    tuple of numpy.ndarray and list of str
        The (rows, categories) matrix and the categories.

    Raises
    ------
    FamilyError
        A cbind() response with a family that takes one column, or a matrix family without one.
    DataError
        Non-numeric columns, negative or non-whole counts, counts that do not add up to the trials,
        proportions outside (0, 1) or rows not summing to 1, fewer than two columns, an unknown refcat.

    Examples
    --------
    >>> from brmc.families import get_family
    >>> from brmc.lexer import tokenize
    >>> frame = pd.DataFrame({"p1": [0.2, 0.5], "p2": [0.7, 0.5], "p3": [0.1, 0.2]})
    >>> try:
    ...     matrix_response(Expr(tokenize("cbind(p1, p2, p3)")), frame, get_family("dirichlet"), {})
    ... except DataError as err:
    ...     print(str(err).split("; ")[1])
    row 2 sums to 1.2.
    """
    columns = cbind_columns(resp.tokens)
    if columns is not None and not family.multicol:
        hint = (" For successes out of trials write 'successes | trials(n) ~ ...'." if "trials" in additions
                or family.name.endswith("binomial") else "")
        raise FamilyError(f"A cbind() response matrix ({resp}) cannot be used with family '{family.name}', which "
                          f"takes one response column; it works with the families {_multicol_names()}.{hint}")
    if columns is None:
        example = "cbind(y1, y2, y3) | trials(n)" if family.kind == "multinomial" else "cbind(p1, p2, p3)"
        raise FamilyError(f"Family '{family.name}' needs a response matrix of data columns, written "
                          f"'{example} ~ ...' as in brms; got {resp!r}.")
    if len(columns) < 2 or len(set(columns)) < len(columns):
        raise DataError(f"The response {resp} needs at least two different columns (the categories).")
    text = [c for c in columns if not pd.api.types.is_numeric_dtype(frame[c]) or frame[c].dtype == bool]
    if text:
        raise DataError(f"Family '{family.name}' needs numeric response columns; column {text[0]!r} of {resp} is not.")
    y = frame[columns].to_numpy(dtype=float)
    if family.refcat is not None and family.refcat not in columns:
        raise DataError(f"The reference category refcat={family.refcat!r} is not a column of the response {resp}; "
                        f"its columns are {', '.join(map(repr, columns))}.")
    if family.kind == "multinomial":
        _check_counts(y, columns, resp, family, additions)
    else:
        _check_simplex(y, columns, resp, family)
    return family.response(y, additions), columns


def _first_bad(bad: np.ndarray, columns: list[str]) -> str:
    row, col = np.argwhere(bad)[0]
    return f"column {columns[col]!r} in row {row + 1}"


def _check_counts(y: np.ndarray, columns: list[str], resp: Expr, family: Family, additions: dict) -> None:
    bad = (y < 0) | (y != np.round(y))
    if bad.any():
        value = y[bad][0]
        raise DataError(f"Family '{family.name}' needs non-negative whole numbers (counts) in {resp}; "
                        f"{_first_bad(bad, columns)} is {value:g}.")
    if "trials" not in additions:
        raise DataError(f"Family '{family.name}' needs the number of trials, as brms 2.18 requires it: write the "
                        f"response as '{resp} | trials(n)', n a column (each row's total) or a number.")
    off = np.flatnonzero(y.sum(axis=1) != additions["trials"])
    if off.size:
        i = off[0]
        raise DataError(f"The counts of {resp} must add up to trials() in every row (brms: the number of trials "
                        f"does not match the number of events); row {i + 1} adds up to {y[i].sum():g}, "
                        f"trials are {additions['trials'][i]:g}.")


def _check_simplex(y: np.ndarray, columns: list[str], resp: Expr, family: Family) -> None:
    bad = (y <= 0) | (y >= 1)
    if bad.any():
        raise DataError(f"Family '{family.name}' needs proportions strictly between 0 and 1 in {resp}; "
                        f"{_first_bad(bad, columns)} is {y[bad][0]:g}.")
    off = np.flatnonzero(np.abs(y.sum(axis=1) - 1) > SIMPLEX_TOLERANCE)
    if off.size:
        i = off[0]
        raise DataError(f"Family '{family.name}' needs each row of {resp} to sum to 1 (brms's simplex); "
                        f"row {i + 1} sums to {y[i].sum():.10g}.")


def with_categories(family: Family, levels: list[str]) -> Family:
    """The family of a matrix response with its categories, each ``per_category`` dpar one per non-reference
    category (logistic_normal's ``sigmap2``, ``sigmap3``, of class ``sigma``) and its ``corr`` dpar the
    correlations of those categories (``lncor__p2__p3``, in brms's order: ``get_cornames``).

    Parameters
    ----------
    family : Family
        A family whose response is a matrix.
    levels : list of str
        The categories (the response's columns).

    Returns
    -------
    Family

    Examples
    --------
    >>> from brmc.families import get_family
    >>> fam = with_categories(get_family("logistic_normal"), ["p1", "p2", "p3"])
    >>> [n for d in fam.dpars for n in d.names]
    ['sigmap2', 'sigmap3', 'lncor__p2__p3']
    """
    ref = family.refcat if family.refcat is not None else levels[0]
    predicted = [lv for lv in levels if lv != ref]
    suffixes = [name[len("mu"):] for name in category_dpars(levels, family)]
    dpars = []
    for d in family.dpars:
        if d.per_category:
            dpars += [replace(d, name=f"{d.name}{s}", per_category=False, cls=d.name) for s in suffixes]
        elif d.corr:
            pairs = [(j, k) for k in range(len(predicted)) for j in range(k)]
            dpars.append(replace(d, corr=len(predicted),
                                 labels=tuple(f"{d.name}__{predicted[j]}__{predicted[k]}" for j, k in pairs)))
        else:
            dpars.append(d)
    return replace(family, dpars=tuple(dpars), categories=tuple(levels))


def category_dpars(levels: list[str], family: Family) -> list[str]:
    """brms's names of the ``mu`` parameters of a categorical-like model: ``mu`` + each
    non-reference category, made a valid Stan name (``make_stan_names``).

    Parameters
    ----------
    levels : list of str
        The categories (a categorical response's levels, a matrix response's columns).
    family : Family
        The family, whose ``refcat`` is the reference (``None``: the first category).

    Returns
    -------
    list of str

    Examples
    --------
    >>> from brmc.families import get_family
    >>> category_dpars(["1", "2", "very good"], get_family("categorical"))
    ['mu2', 'muverygood']
    """
    ref = family.refcat if family.refcat is not None else levels[0]
    # R's make.names (invalid characters become '.', duplicates get '.1', '.2'), then '.' and '_' dropped
    names = [re.sub(r"[^\w.]", ".", f"mu{lv}") for lv in levels if lv != ref]
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        unique.append(f"{n}.{seen[n]}" if n in seen else n)
        seen[n] = seen.get(n, 0) + 1
    out = [re.sub(r"[._]", "", n) for n in unique]
    if len(set(out)) < len(out):
        raise FamilyError(f"Invalid response category names for family '{family.name}': "
                          f"{', '.join(map(repr, levels))} give the same parameter names. "
                          "Please avoid special characters in the category names.")
    return out
