"""Column access shared by the basis builders: factor detection and clear errors for missing columns."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from brmc.errors import DataError, close_matches


def column(data: Mapping, name: str, label: str):
    """``data[name]``, or a :class:`~brmc.errors.DataError` naming the term and close matches.

    Examples
    --------
    >>> column({"x": [1]}, "x", "s(x)")
    [1]
    """
    try:
        return data[name]
    except KeyError:
        raise DataError(
            f"The term {label} uses a column '{name}' that is not in the data.{close_matches(name, list(data))}"
        ) from None


def is_factor(values) -> bool:
    """Whether R would treat the column as a factor (categorical, character or logical).

    Examples
    --------
    >>> is_factor(["a", "b"]), is_factor([1.0, 2.0])
    (True, False)
    """
    if isinstance(values, pd.Categorical) or isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        return True
    return np.asarray(values).dtype.kind in "OUSb"


def as_categorical(values) -> pd.Categorical:
    """The column as a ``pandas.Categorical`` (kept as is if it already is one).

    Examples
    --------
    >>> list(as_categorical(["b", "a"]).categories)
    ['a', 'b']
    """
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        return values
    return pd.Categorical(np.asarray(values))


def levels(values) -> list:
    """The levels R would use: a factor's used levels in its order, else sorted unique values.

    Examples
    --------
    >>> levels(pd.Categorical(["b", "a"], categories=["b", "a", "c"]))
    ['b', 'a']
    """
    return list(as_categorical(values).remove_unused_categories().categories)


def labels(values) -> np.ndarray:
    """Each row's level as an object array (for comparisons with :func:`levels`).

    Examples
    --------
    >>> labels(pd.Categorical(["b", "a"])).tolist()
    ['b', 'a']
    """
    return np.asarray(as_categorical(values).astype(object))
