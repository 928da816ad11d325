"""brms's ``subset()`` addition term of a multivariate model: ``bf(y1 | subset(s1) ~ x) + bf(y2 ~ x)``
fits each response on the rows where its subset variable is TRUE (brms's ``subset_data``).

- :func:`subset_masks` reads each response's subset variable (0/1 or FALSE/TRUE, no NA; brms's
  ``as.logical`` and its checks) and :func:`incomplete_rows` drops a row missing a variable only
  where a response that reads the variable uses the row (brms's ``na_omit``, #895);
- each response's :class:`~brmc.data.ModelData` is then built on its own rows
  (:func:`without_subset` is its formula as ``build_data`` takes it), and :func:`global_levels`
  gives its group-level blocks the levels of the grouping factor in all the model's rows, as
  brms's ``tidy_ranef`` does (a level outside a response's subset has effects drawn from their prior);
- :func:`check_subset` gives brms's refusals: ``subset()`` with ``set_rescor(TRUE)``, ``mi()`` terms in
  or of a subsetted response without ``idx`` (brms needs ``mi(x, idx)`` with ``index()`` there: :mod:`brmc.mvindex`).

A subsetted model's post-processing takes one response at a time (brms's "Argument 'resp' must be
a single variable name for models using addition argument 'subset'").

Examples
--------
>>> import brmc
>>> frame = pd.DataFrame({"y1": [1.0, 2, 3, 4], "y2": [1.0, None, 2, 3], "s": [1, 0, 1, 1]})
>>> f = brmc.bf("y1 ~ 1") + brmc.bf("y2 | subset(s) ~ 1") + brmc.set_rescor(False)
>>> masks = subset_masks(f.forms, frame)
>>> masks["y2"].tolist(), "y1" in masks
([True, False, True, True], False)
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .data import addition_values
from .design import group_levels
from .errors import DataError, FamilyError, FormulaError
from .formula import BrmsFormula
from .terms import mi
from .terms.gr import by_levels, cov_cholesky
from .terms.mm import member_levels

if TYPE_CHECKING:
    from .data import ModelData

#: brms's refusal of a multi-response post-processing call on a subsetted model
ONE_RESP = "Argument 'resp' must be a single variable name for models using addition argument 'subset'."


def subset_masks(forms: dict[str, BrmsFormula], frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each subsetted response's rows of ``frame``, as a boolean mask (brms's ``as.logical`` of its variable).

    Parameters
    ----------
    forms : dict
        Response → its formula (``subset()`` among its addition terms or not).
    frame : pandas.DataFrame
        The model's rows.

    Returns
    -------
    dict
        Response → mask, for the responses with ``subset()`` only.

    Raises
    ------
    DataError
        A subset variable that is not 0/1 or FALSE/TRUE, has NAs, or is TRUE on no row (brms's words).

    Examples
    --------
    >>> subset_masks({"y": brmc.parse_formula("y | subset(s) ~ 1")}, pd.DataFrame({"y": [1, 2], "s": [True, False]}))
    {'y': array([ True, False])}
    """
    out = {}
    for resp, form in forms.items():
        if "subset" not in form.additions:
            continue
        args = form.additions["subset"]
        if len(args) != 1:
            raise FormulaError(f"subset() takes one variable, e.g. {resp} | subset(s) ~ ...; got "
                               f"subset({', '.join(map(str, args))}).")
        values = pd.Series(addition_values(frame, "subset", str(args[0])))
        if values.isna().any():
            raise DataError(f"Subset variables may not contain NAs: {args[0]} of response {resp!r} has "
                            f"{int(values.isna().sum())}.")
        allowed = {0, 1, True, False}
        if not values.map(lambda v: isinstance(v, (bool, int, float, np.bool_, np.number)) and v in allowed).all():
            bad = values[~values.isin(list(allowed))].iloc[0]
            raise DataError(f"subset() needs 0 and 1, or FALSE and TRUE: {args[0]} of response {resp!r} has {bad}.")
        mask = values.to_numpy(dtype=bool)
        if not mask.any():
            raise DataError("All rows of 'data' were removed via 'subset'. Please make sure that variables do not "
                            "contain NAs for observations in which they are supposed to be used. Please also make "
                            f"sure that each subset variable is TRUE for at least one observation ({args[0]} of "
                            f"response {resp!r} is not).")
        out[resp] = mask
    return out


def incomplete_rows(forms: dict[str, BrmsFormula], frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without the rows missing a value that some response uses: a variable's missing value
    drops its row unless every response that reads the variable leaves the row out by its
    ``subset()`` (brms's ``na_omit``); responses under ``mi()`` keep theirs (:func:`brmc.terms.mi.complete_variables`).

    Parameters
    ----------
    forms : dict
        Response → its formula.
    frame : pandas.DataFrame
        The data as the user gave them.

    Returns
    -------
    pandas.DataFrame
        The rows kept, renumbered; its ``attrs["n_dropped"]`` the number dropped (with brms's warning).

    Examples
    --------
    >>> f = {"y1": brmc.parse_formula("y1 ~ x"), "y2": brmc.parse_formula("y2 | subset(s) ~ x")}
    >>> frame = pd.DataFrame({"y1": [1.0, 2, 3], "y2": [None, 1.0, 2], "x": [1.0, 2, 3], "s": [0, 1, 1]})
    >>> len(incomplete_rows(f, frame))
    3
    """
    masks = subset_masks(forms, frame)
    complete = set(mi.complete_mv_variables({r: without_subset(f) for r, f in forms.items()}, frame))
    omit = np.zeros(len(frame), dtype=bool)
    for v in (v for v in dict.fromkeys(n for f in forms.values() for n in f.variables()) if v in complete):
        if v not in frame.columns:
            continue
        users = [r for r, f in forms.items() if v in f.variables()]
        used_at = np.logical_or.reduce([masks.get(r, np.ones(len(frame), dtype=bool)) for r in users])
        omit |= frame[v].isna().to_numpy() & used_at
    if omit.all():
        raise DataError("All observations in the data were removed presumably because of NA values.")
    if n := int(omit.sum()):
        warnings.warn(f"Rows containing NAs were excluded from the model: {n} of {len(frame)} rows dropped.",
                      UserWarning, stacklevel=4)
    out = frame.loc[~omit].reset_index(drop=True)
    out.attrs["n_dropped"] = n
    return out


def without_subset(form: BrmsFormula) -> BrmsFormula:
    """The formula without its ``subset()`` term: a response's formula as ``build_data`` takes it, on its rows.

    Examples
    --------
    >>> without_subset(brmc.parse_formula("y | subset(s) + weights(w) ~ x")).additions.keys()
    dict_keys(['weights'])
    """
    return replace(form, additions={k: v for k, v in form.additions.items() if k != "subset"})


def check_subset(forms: dict[str, BrmsFormula], masks: dict[str, np.ndarray], rescor: bool) -> None:
    """brms's refusals around ``subset()``.

    Parameters
    ----------
    forms : dict
        Each response's formula.
    masks : dict
        :func:`subset_masks`.
    rescor : bool
        Whether the residuals are correlated.

    Raises
    ------
    FamilyError
        ``subset()`` with ``set_rescor(TRUE)``.
    FormulaError
        ``mi()`` terms in a subsetted response's formula, or reading a subsetted response.

    Examples
    --------
    >>> f = {"y1": brmc.parse_formula("y1 | mi() ~ mi(y2)"), "y2": brmc.parse_formula("y2 | mi() + subset(s) ~ 1")}
    >>> check_subset(f, {"y2": np.array([True])}, False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    brmc.errors.FormulaError: mi() terms of subsetted variables require the 'idx' argument to be specified ...
    """
    if not masks:
        return
    if rescor:
        raise FamilyError("Only se, weights, mi are supported addition arguments when 'rescor' is estimated; "
                          f"the response(s) {', '.join(masks)} have subset(). Write set_rescor(FALSE).")
    for resp, form in forms.items():  # mi(x) without idx (mi(x, idx = id): brmc.mvindex)
        read = sorted(v for p in [form, *form.pforms.values()] for t in p.terms if t.kind == "mi"
                      and len(t.args) == 1 for v in t.args[0].variables)
        if read and resp in masks:
            raise FormulaError("mi() terms in subsetted formulas require the 'idx' argument to be specified: "
                               f"response {resp!r} reads mi({read[0]}); write mi({read[0]}, idx = id) and give "
                               f"{read[0]} an index(), e.g. {read[0]} | mi() + index(id).")
        if subsetted := [v for v in read if v in masks]:
            raise FormulaError("mi() terms of subsetted variables require the 'idx' argument to be specified "
                               f"(response {resp!r} reads mi({subsetted[0]})); write mi({subsetted[0]}, idx = id) "
                               f"and give {subsetted[0]} an index().")


def global_levels(md: ModelData, frame: pd.DataFrame, env: dict[str, Any]) -> None:
    """Give the group-level blocks of a response fitted on a subset of ``frame`` the levels of their
    grouping factor in all of ``frame`` (brms's ``tidy_ranef`` on the model's data), in place.

    Parameters
    ----------
    md : ModelData
        The response's data, built on its subset's rows.
    frame : pandas.DataFrame
        All rows of the model.
    env : dict
        ``data2`` (the matrices of ``gr(g, cov = A)``).

    Examples
    --------
    >>> sub = brmc.data.build_data(brmc.parse_formula("y ~ (1 | g)"), pd.DataFrame({"y": [1., 2, 3], "g": list("abb")}),
    ...                            brmc.get_family("gaussian"))
    >>> global_levels(sub, pd.DataFrame({"y": [1., 2, 3, 4], "g": list("abbc")}), {})
    >>> sub.blocks[0].levels, sub.blocks[0].index.tolist()
    (['a', 'b', 'c'], [0, 1, 1])
    """
    for block in md.blocks:
        levels = member_levels(block.term, frame) if block.term.members else group_levels(frame, block.term.factors)[0]
        if levels == block.levels:
            continue
        lookup = np.array([levels.index(lv) for lv in block.levels])
        block.levels, block.index = levels, lookup[block.index]
        options = block.term.options
        if options.by:
            block.by_levels, block.by_index = by_levels(frame, options.by, levels, block.term)
        if options.cov:
            block.Lcov = cov_cholesky(env, options.cov, levels, block.term)
