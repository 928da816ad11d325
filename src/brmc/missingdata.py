"""What a model does with missing values: ``brm(..., missing=)``.

brms has no such argument: a row missing a value of a variable the model uses is dropped (with a
warning that counts them), except the values that ``mi()`` imputes, a response's under
``y | mi()`` and a predictor's under ``mi(x)``, whose rows are kept and whose values become
parameters (``Ymi_``).  That is ``missing="impute"``, the default.  Python users also know
statsmodels' ``missing=`` choices, so brmc offers two more:

- ``"drop"``: complete cases only; the rows ``mi()`` would keep are dropped too (``mi()`` then has
  nothing to impute and reads the observed values).
- ``"raise"``: a :class:`~brmc.errors.DataError` naming each column and how many values it misses,
  where brms would drop rows (the values under ``mi()`` are still imputed).

Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"y": [1.0, None, 3.0, 4.0], "x": [1.0, 2.0, None, 4.0]})
    >>> drop_incomplete(["x"], frame, "drop", imputed=["y"])[1]
    2
"""

from __future__ import annotations

import warnings
from typing import Sequence

import pandas as pd

from .errors import DataError

#: the values ``missing=`` takes: brms's behaviour first
MISSING = ("impute", "drop", "raise")


def check_missing(missing: str) -> str:
    """``missing`` itself, or a :class:`~brmc.errors.DataError` naming the values it may take.

    Parameters
    ----------
    missing : str
        The user's ``missing=``.

    Returns
    -------
    str
        ``missing``.

    Examples
    --------
    >>> check_missing("drop")
    'drop'
    """
    if missing not in MISSING:
        raise DataError(f"missing={missing!r} is not one of {', '.join(map(repr, MISSING))}.")
    return missing


def drop_incomplete(names: Sequence[str], frame: pd.DataFrame, missing: str = "impute",
                    imputed: Sequence[str] = ()) -> tuple[pd.DataFrame, int]:
    """``frame`` without the rows missing a value of the columns ``names`` (a formula's variables
    whose missing values drop a row), and their count; with ``missing="drop"`` the columns
    ``imputed`` (those ``mi()`` imputes) drop rows too, and ``"raise"`` refuses to drop any.

    Parameters
    ----------
    names : sequence of str
        The columns whose missing values drop a row (names that are not columns are skipped).
    frame : pandas.DataFrame
        The data.
    missing : {"impute", "drop", "raise"}, default "impute"
        What to do with missing values (:data:`MISSING`).
    imputed : sequence of str, optional
        The columns whose missing values ``mi()`` imputes.

    Returns
    -------
    tuple of (pandas.DataFrame, int)
        The kept rows (index reset) and the number dropped.

    Examples
    --------
    >>> drop_incomplete(["x"], pd.DataFrame({"x": [1.0, None]}))[0]["x"].tolist()
    [1.0]
    """
    used = [v for v in (*names, *(imputed if missing == "drop" else ())) if v in frame.columns]
    empty = [v for v in used if frame[v].isna().all()]
    if empty:
        raise DataError(f"No rows are left: column {empty[0]!r} has only missing values.")
    incomplete = frame[used].isna().any(axis=1).to_numpy()
    n = int(incomplete.sum())
    if n and missing == "raise":
        counts = frame[used].isna().sum()
        listed = ", ".join(f"{col!r} ({int(k)})" for col, k in counts.items() if k)
        raise DataError(f"Missing values in the columns {listed}, which would drop {n} of {len(frame)} rows; "
                        "missing='raise' refuses them. Fill them in, use missing='impute' (brms's: the rows "
                        "are dropped, the values under mi() imputed) or missing='drop'.")
    if n == len(frame):
        raise DataError(f"No rows are left after dropping rows with missing values in {', '.join(used)}.")
    if n:
        warnings.warn(f"Rows containing NAs were excluded from the model: {n} of {len(frame)} rows dropped.",
                      UserWarning, stacklevel=4)
        frame = frame.loc[~incomplete]
    return frame.reset_index(drop=True), n
