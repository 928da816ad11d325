"""The data of brms's multi-membership group terms ``(1 | mm(g1, g2, weights = cbind(w1, w2)))``
(brms's ``data_gr_local``): the levels, each row's level in every member and the members' weights.

The levels are those of every member in turn, each member's in R's factor order, without repeats
(brms's ``unique(c(levels(factor(g1)), levels(factor(g2))))``); a row's level in member ``i`` is
brms's ``J_<id>_<i>`` and its weight ``W_<id>_<i>``.  The block's effects enter a row's linear
predictor as ``Σ_i W_i r[J_i] Z`` (:mod:`brmc.terms.re`).

Example:
    >>> import pandas as pd
    >>> from brmc.formula import parse_formula
    >>> term = parse_formula("y ~ (1 | mm(a, b))").group_terms[0]
    >>> levels, index, weights = member_data(term, pd.DataFrame({"a": ["x", "y"], "b": ["z", "x"]}))
    >>> levels, index.tolist(), weights.tolist()
    (['x', 'y', 'z'], [[0, 2], [1, 0]], [[0.5, 0.5], [0.5, 0.5]])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..design import labels_of, level_order
from ..errors import DataError
from ..formula import GroupTerm


def member_levels(term: GroupTerm, frame: pd.DataFrame) -> list[str]:
    """The levels of a multi-membership term: each member's, in turn, without repeats."""
    return list(dict.fromkeys(lv for g in term.members.groups for lv in level_order(frame[g])))


def member_index(term: GroupTerm, frame: pd.DataFrame, levels: list[str]) -> np.ndarray:
    """Each row's level in each member (rows × members, 0-based; -1 for a level not in ``levels``)."""
    lookup = {lv: i for i, lv in enumerate(levels)}
    return np.stack([labels_of(frame[g].reset_index(drop=True)).map(lambda lv: lookup.get(lv, -1))
                     .to_numpy(dtype=np.int64) for g in term.members.groups], axis=1)


def member_weights(term: GroupTerm, frame: pd.DataFrame) -> np.ndarray:
    """Each row's weight in each member (rows × members): ``1 / members`` unless ``weights`` names
    columns, which ``scale = TRUE`` (the default) divides by their sum in each row."""
    members = term.members
    if not members.weights:
        return np.full((len(frame), len(members.groups)), 1 / len(members.groups))
    columns = frame[list(members.weights)]
    if not all(pd.api.types.is_numeric_dtype(columns[c]) for c in columns):
        raise DataError(f"The weights of {term} must be numeric columns: {', '.join(members.weights)}.")
    weights = columns.to_numpy(dtype=float)
    if members.scale:
        if (weights < 0).any():
            raise DataError(f"Cannot scale negative weights: {term} has negative values in "
                            f"{', '.join(members.weights)}; write scale = FALSE to use them as they are.")
        weights = weights / weights.sum(axis=1, keepdims=True)
    return weights


def member_data(term: GroupTerm, frame: pd.DataFrame) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A multi-membership term's levels, level index (rows × members) and weights (rows × members)."""
    levels = member_levels(term, frame)
    return levels, member_index(term, frame, levels), member_weights(term, frame)
