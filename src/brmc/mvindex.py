"""brms's cross-formula indexing in a multivariate model: ``mi(x, idx = id)`` in the formula of ``y``
reads, on each row of ``y``, the value of ``x`` (observed or imputed) on the row of ``x`` whose
``index()`` addition term has that row's value of ``id``.

brms (R/formula-ad.R ``.tidy_index``) takes each response's ``index()`` values on its own rows (its
``subset()``'s), with no NA and no value twice; its data (R/data-predictor.R) carry
``idxl_y_x_1 = match(id, index of x)``, every value matched, and its Stan code reads
``Yl_x[idxl_y_x_1[n]]``.  Needed where ``subset()`` gives the responses different rows, where an
``mi(x)`` without ``idx`` is refused (:func:`brmc.mvsubset.check_subset`); allowed everywhere.  A
univariate model ignores ``index()``, as brms does.

Examples
--------
>>> import brmc, pandas as pd
>>> d = pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [0.5, None, 1.5], "id": [3, 1, 2], "k": [1, 2, 3]})
>>> f = brmc.bf("y ~ mi(x, idx = id)") + brmc.bf("x | mi() + index(k) ~ 1") + brmc.set_rescor(False)
>>> mv = brmc.mvdata.build_mv_data(f, d)
>>> mv.responses["y"].predictors["mu"].parts["mi"].terms[0].idxl
array([2, 0, 1])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import ModelData, addition_values
from .errors import DataError, FormulaError
from .formula import BrmsFormula


def index_values(forms: dict[str, BrmsFormula], frame: pd.DataFrame, subsets: dict[str, np.ndarray]
                 ) -> dict[str, np.ndarray]:
    """Each response's ``index()`` values on its rows (brms's ``.tidy_index``).

    Parameters
    ----------
    forms : dict of BrmsFormula
        The responses' formulas.
    frame : pandas.DataFrame
        The model's rows.
    subsets : dict of numpy.ndarray
        The rows each subsetted response keeps.

    Returns
    -------
    dict of numpy.ndarray
        By response, of those with ``index()``.

    Raises
    ------
    DataError
        brms's: NAs in an index, or a value twice.

    Examples
    --------
    >>> index_values({"x": brmc.parse_formula("x | index(k) ~ 1")}, pd.DataFrame({"x": [1, 2], "k": [1, 1]}), {})
    Traceback (most recent call last):
    ...
    brmc.errors.DataError: Index of response 'x' contains duplicated values.
    """
    out = {}
    for resp, form in forms.items():
        if "index" not in form.additions:
            continue
        values = pd.Series(addition_values(frame, "index", str(form.additions["index"][0])))
        values = values[subsets[resp]] if resp in subsets else values
        if values.isna().any():
            raise DataError("NAs are not allowed in 'index' variables.")
        if values.duplicated().any():
            raise DataError(f"Index of response '{resp}' contains duplicated values.")
        out[resp] = values.to_numpy()
    return out


def link_indices(responses: dict[str, ModelData], index: dict[str, np.ndarray]) -> None:
    """Give each ``mi(x, idx = id)`` term the row of ``x`` each of its rows reads (brms's ``idxl``), in place.

    Parameters
    ----------
    responses : dict of ModelData
        The responses' data, their ``mi(x)`` terms joined to ``x`` (:func:`brmc.terms.mi.link`).
    index : dict of numpy.ndarray
        :func:`index_values`.

    Raises
    ------
    FormulaError
        ``x`` has no ``index()`` (brms's message).
    DataError
        A value of ``id`` that no row of ``x`` has (brms's message).

    Examples
    --------
    >>> d = pd.DataFrame({"y": [1.0, 2.0], "x": [0.5, None], "id": [1, 5], "k": [1, 2]})
    >>> f = brmc.bf("y ~ mi(x, idx = id)") + brmc.bf("x | mi() + index(k) ~ 1") + brmc.set_rescor(False)
    >>> brmc.mvdata.build_mv_data(f, d)
    Traceback (most recent call last):
    ...
    brmc.errors.DataError: Could not match all indices in response 'x'.
    """
    for md in responses.values():
        for lp in md.predictors.values():
            part = lp.parts.get("mi")
            for t in (t for t in part.terms if t.idx) if part else []:
                if t.variable not in index:
                    raise FormulaError(f"Response '{t.variable}' needs to have an 'index' addition term to compare "
                                       f"with 'idx'. See ?mi for examples (the term {t.term}).")
                rows = pd.Index(index[t.variable]).get_indexer(t.idx_values)
                if (rows < 0).any():
                    raise DataError(f"Could not match all indices in response '{t.variable}'.")
                t.idxl = rows
