"""The registry of kinds of terms: what the pipeline loops over, in the order the kinds' parts
are added up in the linear predictor (:mod:`brmc.terms` registers brmc's own kinds).

Its own module so that a kind whose parts are nested predictors (:mod:`~brmc.terms.nl`) can ask
the other kinds without importing the package that imports it.

Example:
    >>> "fe" in [kind.name for kind in kinds()]
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import formula
from .base import TermKind

if TYPE_CHECKING:
    from ..data import LinearPredictor

_KINDS: dict[str, TermKind] = {}


def register(kind: TermKind) -> TermKind:
    """Add a kind of term (after those registered before it); its :attr:`~TermKind.calls`
    become terms of their own in formulas parsed from now on.

    Parameters
    ----------
    kind : TermKind
        The kind, its :attr:`~TermKind.name` not yet registered.

    Returns
    -------
    TermKind
        ``kind``.

    Examples
    --------
    >>> class Nothing(TermKind):
    ...     name = "nothing"
    >>> register(Nothing()).name in [k.name for k in kinds()]
    True
    >>> unregister("nothing")
    """
    if kind.name in _KINDS:
        raise ValueError(f"A term kind named {kind.name!r} is registered already.")
    _KINDS[kind.name] = kind
    for call in kind.calls:
        formula.TERM_CALLS[call] = kind.name
        if kind.interacts:
            formula.INTERACTING_CALLS.add(call)
    return kind


def unregister(name: str) -> None:
    """Remove the kind ``name`` and its calls (what :func:`register` added)."""
    kind = _KINDS.pop(name)
    for call in kind.calls:
        formula.TERM_CALLS.pop(call, None)
        formula.INTERACTING_CALLS.discard(call)


def kinds() -> list[TermKind]:
    """The registered kinds, in the order their parts of a linear predictor are added."""
    return list(_KINDS.values())


def get(name: str) -> TermKind:
    """The kind registered as ``name``."""
    return _KINDS[name]


def parts(lp: LinearPredictor) -> list[tuple[TermKind, Any]]:
    """A predictor's data by kind, in the registry's order, leaving out kinds it has none of."""
    return [(kind, lp.parts[kind.name]) for kind in kinds() if lp.parts.get(kind.name) is not None]


def linear_predictor(contributions: dict[str, Any]) -> Any:
    """The linear predictor: each kind's part (:meth:`TermKind.add`) added in the registry's
    order, in the graph (tensors) and from the draws (NumPy) alike.

    Example:
        >>> import numpy as np
        >>> X, b = np.array([[1.0, 2.0], [1.0, 3.0]]), np.array([[0.5, 1.0]])  # one draw
        >>> r = np.array([[[10.0], [20.0]]])  # one draw, 2 levels, 1 coefficient
        >>> linear_predictor({"fe": (X, b, 0.0), "re": [(r, np.array([1, 0]), np.ones((2, 1)), [0], [True], {}, 0)]})
        array([[22.5, 13.5]])
    """
    eta: Any = 0.0
    for kind in kinds():
        if kind.name in contributions:
            eta = kind.add(eta, contributions[kind.name])
    return eta
