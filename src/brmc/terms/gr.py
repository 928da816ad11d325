"""The data of ``gr()``'s options in a group term (brms's ``data_gr_global`` and ``tidy_ranef``):
the ``by`` level of each group level, the Cholesky factor of a known covariance matrix of the
levels (``cov = A`` with ``data2 = {"A": matrix}``), and brms's names of the standard deviations
of a ``by`` term.

``gr(g, by = x)`` gives each level of ``x`` its own standard deviations (brms's ``matrix[M, Nby]
sd``) and correlation matrix; each level of ``g`` must lie in one level of ``x`` (brms's ``Jby``).
``gr(g, cov = A)`` makes the effects ``Lcov z`` of brms's ``Lcov = t(chol(A[levels, levels]))``.

Example:
    >>> import pandas as pd
    >>> term = parse_formula("y ~ (1 | gr(g, by = x))").group_terms[0]
    >>> by_levels(pd.DataFrame({"g": list("aabc"), "x": list("ppqq")}), "x", ["a", "b", "c"], term)
    (['p', 'q'], array([0, 1, 1]))
    >>> by_label("Intercept", "x", "p")
    'Intercept:xp'
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..design import labels_of, level_order
from ..errors import DataError
from ..formula import GroupTerm, parse_formula  # noqa: F401  (parse_formula: examples)


def by_levels(frame: pd.DataFrame, by: str, levels: list[str], term: GroupTerm) -> tuple[list[str], np.ndarray]:
    """The levels of the ``by`` column (R's factor order) and each group level's (0-based), as brms's
    ``bylevels`` and ``Jby``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows used.
    by : str
        The ``by`` column (for ``mm()``, the matrix's text; its columns are ``term.options.by_columns``).
    levels : list of str
        The grouping factor's levels, in the block's order.
    term : GroupTerm
        The term, for messages.

    Returns
    -------
    (list of str, numpy.ndarray)

    Raises
    ------
    DataError
        A level of the grouping factor in several levels of ``by``.

    Examples
    --------
    >>> term = parse_formula("y ~ (1 | gr(g, by = x))").group_terms[0]
    >>> by_levels(pd.DataFrame({"g": ["a", "b"], "x": [2, 1]}), "x", ["a", "b"], term)
    (['1', '2'], array([1, 0]))
    """
    columns = term.options.by_columns
    if columns:  # mm(g1, g2, by = cbind(b1, b2)): each member's level with its own by column
        pairs = pd.concat([pd.DataFrame({"level": labels_of(frame[g].reset_index(drop=True)),
                                         "by": labels_of(frame[b].reset_index(drop=True))})
                           for g, b in zip(term.members.groups, columns)]).drop_duplicates()
    else:
        pairs = pd.DataFrame({"level": group_labels(frame, term.factors),
                              "by": labels_of(frame[by].reset_index(drop=True))}).drop_duplicates()
    pairs["by"] = pairs["by"].map(rm_wsp)
    pairs = pairs.drop_duplicates()
    if pairs["level"].duplicated().any():
        several = pairs.loc[pairs["level"].duplicated(keep=False), "level"].unique()
        raise DataError(f"Some levels of {term.group!r} correspond to multiple levels of {by!r} in {term}: "
                        f"{', '.join(map(repr, several[:5]))}; each level of the grouping factor must lie in one "
                        f"level of the by variable.")
    # brms: the levels of factor(matrix), all members' by values together
    bylevels = [rm_wsp(lv) for lv in level_order(pd.concat([frame[b] for b in columns], ignore_index=True)
                                                 if columns else frame[by])]
    by_of = dict(zip(pairs["level"], pairs["by"]))
    return bylevels, np.array([bylevels.index(by_of[lv]) for lv in levels], dtype=np.int64)


def rm_wsp(text: str) -> str:
    """brms's ``rm_wsp``: the text without white space (a ``by`` level ``"x 1"`` is ``"x1"``)."""
    return re.sub(r"\s+", "", text)


def by_label(label: str, by: str, level: str) -> str:
    """brms's label of a coefficient in one level of ``by`` (``get_rnames``): ``Intercept:xp``."""
    return f"{label}:{by}{level}"


def cov_cholesky(data2: dict[str, Any], name: str, levels: list[str], term: GroupTerm) -> np.ndarray:
    """brms's ``Lcov``: the lower Cholesky factor of the matrix ``data2[name]`` on the block's levels
    (brms's ``validate_recov_matrix`` and ``data_gr_global``).

    Parameters
    ----------
    data2 : dict
        brms's ``data2``: the matrix by name, a :class:`pandas.DataFrame` whose index (or columns)
        names the levels.
    name : str
        The ``cov`` of the term.
    levels : list of str
        The grouping factor's levels.
    term : GroupTerm
        The term, for messages.

    Returns
    -------
    numpy.ndarray
        levels × levels, lower triangular.

    Raises
    ------
    DataError
        A matrix that is missing, unnamed, not symmetric, not positive definite, or whose names do not
        cover the levels.

    Examples
    --------
    >>> A = pd.DataFrame([[1.0, 0.5], [0.5, 1.0]], index=["a", "b"], columns=["a", "b"])
    >>> term = parse_formula("y ~ (1 | gr(g, cov = A))").group_terms[0]
    >>> cov_cholesky({"A": A}, "A", ["b", "a"], term).round(3).tolist()
    [[1.0, 0.0], [0.5, 0.866]]
    """
    if name not in data2:
        raise DataError(f"{term} names a covariance matrix {name!r} that is not in data2; pass "
                        f"data2={{{name!r}: matrix}} (a pandas DataFrame named by the levels of {term.group!r}).")
    matrix = data2[name]
    names = _names(matrix)
    if names is None:
        raise DataError(f"Row or column names are required for the within-group covariance matrix {name!r} of "
                        f"{term}: pass a pandas DataFrame whose index names the levels of {term.group!r}.")
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or len(names) != values.shape[0]:
        raise DataError(f"The within-group covariance matrix {name!r} of {term} must be square, not of shape "
                        f"{values.shape}.")
    if not np.allclose(values, values.T, rtol=1e-8, atol=100 * np.finfo(float).eps):
        raise DataError(f"The within-group covariance matrix {name!r} of {term} must be symmetric.")
    if np.linalg.eigvalsh(values).min() <= 0:
        raise DataError(f"The within-group covariance matrix {name!r} of {term} must be positive definite.")
    position = {n: i for i, n in enumerate(names)}
    missing = [lv for lv in levels if lv not in position]
    if missing:
        raise DataError(f"Levels of the within-group covariance matrix {name!r} for {term.group!r} do not match "
                        f"the grouping levels: {', '.join(map(repr, missing[:5]))} not among its names.")
    take = [position[lv] for lv in levels]
    return np.linalg.cholesky(values[np.ix_(take, take)])


def _names(matrix: Any) -> list[str] | None:
    """The level names of a matrix: a DataFrame's index, else its columns (brms: rownames, else colnames)."""
    if not isinstance(matrix, pd.DataFrame):
        return None
    for axis in (matrix.index, matrix.columns):
        if not isinstance(axis, pd.RangeIndex):
            return [str(v) for v in axis]
    return None


def group_labels(frame: pd.DataFrame, factors: list[str]) -> pd.Series:
    """Each row's level of a grouping factor as :func:`brmc.design.group_levels` labels it
    (``a:b``: the labels pasted with ``_``)."""
    labels = labels_of(frame[factors[0]].reset_index(drop=True))
    for name in factors[1:]:
        labels = labels + "_" + labels_of(frame[name].reset_index(drop=True))
    return labels


def scale_effects(z: Any, sd: Any, L: Any, by: Any, Lcov: Any, dfm: Any) -> Any:
    """A block's group-level effects (..., levels, M) as brms's ``scale_r_cor``, ``scale_r_cor_by``,
    ``scale_r_cor_cov`` and ``scale_r_cor_by_cov`` make them, written with array operators only (for
    the graph's tensors and for NumPy draws with leading axes alike).

    Parameters
    ----------
    z : array
        Standard normal effects (..., M, levels), M known (a tensor's static shape).
    sd : array
        Standard deviations (..., M × by levels), brms's ``matrix[M, Nby] sd`` by column.
    L : array or None
        Cholesky factors of the correlations (..., by levels, M, M); ``None``: uncorrelated.
    by : array or None
        Each level's ``by`` level (0-based); ``None``: no ``by``.
    Lcov : array or None
        brms's ``Lcov`` (levels × levels); ``None``: none.
    dfm : array or None
        A Student-t block's ``sqrt(df * udf)`` (..., levels); ``None``: normal effects.

    Returns
    -------
    array
        (..., levels, M).

    Examples
    --------
    >>> scale_effects(np.ones((1, 3)), np.array([2.0, 3.0]), None, np.array([0, 1, 1]), None, None).tolist()
    [[2.0], [3.0], [3.0]]
    """
    M = z.type.shape[-2] if hasattr(z, "type") else z.shape[-2]
    sd_level = sd[..., None, :] if by is None else sd[..., by[:, None] * M + np.arange(M)]  # (..., 1 | levels, M)
    zt = z.swapaxes(-1, -2)  # (..., levels, M)
    if L is None:  # brms: sd .* (Lcov * z)
        r = sd_level * (zt if Lcov is None else Lcov @ zt)
    else:  # brms: Lcov applied to diag(sd) L z of each level
        Lz = zt @ L[..., 0, :, :].swapaxes(-1, -2) if by is None else (L[..., by, :, :] * zt[..., None, :]).sum(axis=-1)
        r = sd_level * Lz if Lcov is None else Lcov @ (sd_level * Lz)
    return r if dfm is None else dfm[..., :, None] * r


def standardised_effects(r: np.ndarray, sd: np.ndarray, L: np.ndarray | None, by: np.ndarray | None,
                         Lcov: np.ndarray | None) -> np.ndarray:
    """The inverse of :func:`scale_effects` (normal effects): the standard normal ``z`` (draws, M, levels)
    from the effects ``r`` (draws, levels, M), ``sd`` (draws, M × by levels), the Cholesky factors ``L``
    (draws, by levels, M, M; ``None``: uncorrelated), ``by`` and ``Lcov``.

    Examples
    --------
    >>> z = np.arange(6.0).reshape(1, 2, 3)
    >>> r = scale_effects(z, np.array([[2.0, 3.0]]), None, None, np.array([[1.0, 0, 0], [0.5, 1, 0], [0, 0, 2]]), None)
    >>> np.allclose(standardised_effects(r, np.array([[2.0, 3.0]]), None, None,
    ...                                  np.array([[1.0, 0, 0], [0.5, 1, 0], [0, 0, 2]])), z)
    True
    """
    M = r.shape[-1]
    sd_level = sd[:, None, :] if by is None else sd[:, by[:, None] * M + np.arange(M)]
    if L is None:  # r = sd .* (Lcov z)
        zt = r / sd_level
        zt = zt if Lcov is None else np.linalg.solve(Lcov, zt)
    else:  # r = Lcov (diag(sd) L z)
        Lz = (r if Lcov is None else np.linalg.solve(Lcov, r)) / sd_level
        Ls = L[:, np.zeros(r.shape[-2], dtype=int) if by is None else by]  # draws, levels, M, M
        zt = np.linalg.solve(Ls, Lz[..., None])[..., 0]
    return np.swapaxes(zt, -1, -2)
