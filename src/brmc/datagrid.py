"""marginaleffects' ``datagrid``: grids of predictor values with every variable not given
at its typical value (the mean of a numeric column, the mode of a factor, text or
logical column), and the grids the marginal effects evaluate on.

Example:
    >>> datagrid(pd.DataFrame({"x": [1.0, 2.0, 6.0], "f": ["a", "b", "b"]}), x=[0, 1])
       x  f
    0  0  b
    1  1  b
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .contrasts import is_factor
from .design import factor_names, labels_of, level_order
from .errors import DataError, close_matches

if TYPE_CHECKING:
    from .fit import Fit


def grid_values(column: pd.Series, spec: Any) -> list:
    """The values ``spec`` gives a column: a value, a list of them, or a function of the column."""
    if callable(spec):
        spec = spec(column)
    if isinstance(spec, (str, bytes)) or np.ndim(spec) == 0:
        return [spec]
    return list(spec)


def level_values(column: pd.Series) -> list:
    """One value (of the column's own type) per level, in R's level order."""
    labels = labels_of(column.reset_index(drop=True))
    first = dict(zip(labels[::-1], column.reset_index(drop=True)[::-1]))
    return [first[level] for level in level_order(column)]


def typical_value(column: pd.Series) -> Any:
    """marginaleffects' ``mean_or_mode``: the mean of a numeric column, else its most
    frequent value (the first to appear among equally frequent ones)."""
    if not is_factor(column):
        return float(column.to_numpy(dtype=float).mean())
    codes, uniques = pd.factorize(column)
    return uniques[int(np.argmax(np.bincount(codes[codes >= 0])))]


def model_variables(fit: Fit) -> list[str]:
    """The data columns the model reads, the response left out (datagrid's ``response = FALSE``)."""
    md = fit.model_data
    response = set(md.formula.response.variables)
    return [v for v in md.formula.variables() if v in md.frame.columns and v not in response]


def focal_variables(fit: Fit) -> list[str]:
    """The population-level predictors of every distributional parameter, in order of first use."""
    md = fit.model_data
    names = [n for lp in md.linear_predictors for n in factor_names(lp.formula.population, md.frame)]
    return list(dict.fromkeys(names))


def typical_grid(frame: pd.DataFrame, columns: Sequence[str], values: Mapping[str, Any],
                 balanced: bool = False) -> pd.DataFrame:
    """Every combination of ``values``; the other ``columns`` at their mean or mode, or with
    ``balanced`` every factor at each of its levels."""
    unknown = [name for name in values if name not in frame.columns]
    if unknown:
        raise DataError(f"datagrid: {unknown[0]!r} is not a column of the data.{close_matches(unknown[0], frame.columns)}")
    axes = {}
    for name in list(dict.fromkeys([*columns, *values])):
        column = frame[name]
        if name in values:
            axes[name] = grid_values(column, values[name])
        else:
            axes[name] = level_values(column) if balanced and is_factor(column) else [typical_value(column)]
    return pd.DataFrame(list(itertools.product(*axes.values())), columns=list(axes))


def datagrid(model: Fit | pd.DataFrame, **values: Any) -> pd.DataFrame:
    """marginaleffects' ``datagrid``: a grid of the values given, every other variable at
    its typical value (mean for numeric columns, mode for factors, text and logicals).

    Parameters
    ----------
    model : Fit or pandas.DataFrame
        A fit (the grid has the variables its model reads, the response left out) or a data
        frame (all its columns).
    **values
        Values of some columns: a value, a list, or a function of the column
        (``Days=np.unique``); the grid holds every combination.

    Returns
    -------
    pandas.DataFrame
        One row per combination.

    Examples
    --------
    >>> datagrid(fit, Days=[0, 9])
       Days Subject
    0     0     308
    1     9     308
    """
    if isinstance(model, pd.DataFrame):
        return typical_grid(model, list(model.columns), values)
    return typical_grid(model.model_data.frame, model_variables(model), values)


def fivenum(values: pd.Series | np.ndarray) -> np.ndarray:
    """R's ``fivenum``: Tukey's minimum, lower hinge, median, upper hinge, maximum.

    Example:
        >>> fivenum(np.arange(10)).tolist()
        [0.0, 2.0, 4.5, 7.0, 9.0]
    """
    x = np.sort(np.asarray(values, dtype=float))
    n4 = np.floor((len(x) + 3) / 2) / 2
    d = np.array([1, n4, (len(x) + 1) / 2, len(x) + 1 - n4, len(x)]) - 1
    return 0.5 * (x[np.floor(d).astype(int)] + x[np.ceil(d).astype(int)])
