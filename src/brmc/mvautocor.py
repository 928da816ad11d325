"""Autocorrelation (``ar()``, ``ma()``, ``arma()``, ``cosy()``, ``unstr()``) and ``me()`` terms in a
multivariate model: brms's rules for them across responses.

- brms orders the whole data once by the time-series terms' ``time`` and ``gr`` (``order_data``), so all
  responses' time-series terms must name the same ones ("All time-series structures must have the same
  'time' and 'gr' variables."); :func:`order_rows` puts the rows in that order before any response's data
  is built.
- Explicit covariance terms (``cosy()``, ``unstr()``) cannot be modeled with ``rescor`` (brms's
  ``tidy_acef``); ARMA terms can: each response's ``mu`` takes its own lagged residuals.
- The latent values of ``me(x, sdx)`` are one set for the model (brms's ``Xme_1``, ``meanme_mex``, not named
  by response), so every response's ``me()`` term must be the same one, on the same rows.

Examples
--------
>>> import brmc
>>> from brmc.formula import as_formula
>>> f = brmc.bf("y1 ~ ar(time = t)") + brmc.bf("y2 ~ ar(time = t)") + brmc.set_rescor(False)
>>> frame = pd.DataFrame({"y1": [1.0, 2.0, 3.0], "y2": [0.0, 1.0, 0.0], "t": [3, 1, 2]})
>>> order_rows({r: as_formula(g) for r, g in f.forms.items()}, frame)["t"].tolist()
[1, 2, 3]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from . import terms
from .autocor import parse_autocor
from .errors import FamilyError, FormulaError

if TYPE_CHECKING:
    from .data import ModelData
    from .formula import BrmsFormula

#: the classes of explicit residual covariances (brms's ``cov = TRUE`` terms)
COVARIANCE_CLASSES = ("cosy", "unstr")


def _ac_terms(forms: dict[str, BrmsFormula]) -> dict[str, list]:
    """Each response's autocorrelation terms, parsed."""
    return {resp: [parse_autocor(str(t)) for t in form.of_kind("ac")] for resp, form in forms.items()}


def order_rows(forms: dict[str, BrmsFormula], frame: pd.DataFrame) -> pd.DataFrame:
    """The rows in brms's order for the time-series terms of all responses (by group, then time), the frame
    as it is when there are none.

    Parameters
    ----------
    forms : dict of str to BrmsFormula
        Each response's parsed formula.
    frame : pandas.DataFrame
        The complete rows.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    FormulaError
        Time-series terms with different ``time`` or ``gr`` variables (brms's message).

    Examples
    --------
    >>> from brmc.formula import as_formula
    >>> frame = pd.DataFrame({"y": [1.0, 2.0], "z": [1.0, 0.0], "t": [2, 1]})
    >>> order_rows({"y": as_formula("y ~ 1"), "z": as_formula("z ~ ar(t)")}, frame)["t"].tolist()
    [1, 2]
    """
    found = {resp: ts for resp, ts in _ac_terms(forms).items() if ts}
    if not found:
        return frame
    keys = {resp: (ts[0].time, ts[0].gr) for resp, ts in found.items()}
    if len(set(keys.values())) > 1:
        told = "; ".join(f"{resp}: {ts[0].label}" for resp, ts in found.items())
        raise FormulaError("All time-series structures must have the same 'time' and 'gr' variables "
                           f"(brms orders the data once for all responses); the model has {told}.")
    first = next(iter(found))
    return terms.ac.order_frame(forms[first], frame)


def check_response(resp: str, md: ModelData, rescor: bool) -> None:
    """Refuse a covariance term of ``resp`` with ``rescor`` (brms's message).

    Parameters
    ----------
    resp : str
        The response.
    md : ModelData
        Its data.
    rescor : bool
        Whether the residuals are correlated.

    Raises
    ------
    FamilyError
        ``cosy()`` or ``unstr()`` with ``rescor``.

    Examples
    --------
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("Reaction ~ cosy(Days, Subject)"),
    ...                           brmc.datasets.load("sleepstudy"), brmc.get_family("gaussian"))
    >>> check_response("Reaction", md, rescor=True)
    Traceback (most recent call last):
    ...
    brmc.errors.FamilyError: Explicit covariance terms cannot be modeled when 'rescor' is estimated at the same time (response 'Reaction': cosy(Days, Subject)).
    """
    part = terms.ac.covariance_term(md)
    if rescor and part is not None:
        raise FamilyError("Explicit covariance terms cannot be modeled when 'rescor' is estimated at the same time "
                          f"(response {resp!r}: {part.call}).")


def check_me(responses: dict[str, ModelData], subsets: dict) -> None:
    """The responses' ``me()`` terms as one set of latent values: the same term in each that has one, on the
    same rows (no ``subset()``).

    Parameters
    ----------
    responses : dict of str to ModelData
        The responses' data.
    subsets : dict
        The responses' ``subset()`` masks.

    Raises
    ------
    FormulaError
        Different ``me()`` terms, or ``me()`` with ``subset()``.

    Examples
    --------
    >>> check_me({}, {})
    """
    parts = {resp: md.predictors["mu"].parts.get("me") for resp, md in responses.items() if "mu" in md.predictors}
    found = {resp: str(part[0].term) for resp, part in parts.items() if part}
    if len(set(found.values())) > 1:
        raise FormulaError("brmc takes one me() term per model yet (brms shares the latent values of a term "
                           "among the responses and correlates those of several terms): "
                           + ", ".join(f"{r}: {t}" for r, t in found.items()) + ".")
    if found and subsets:
        raise FormulaError(f"me() terms ({next(iter(found.values()))}) cannot be combined with subset() yet: the "
                           "responses share the latent values, which need the same rows.")
