"""Where the modules that refit find the fitting pipeline.

The :class:`~brmc.fit.Fit` methods that refit (``update``, ``kfold``,
``reloo``, ``prior_sweep``) and the cluster's jobs need the machinery of
:func:`brmc.brm`, and :mod:`brmc.api`, which holds it, builds on
:mod:`brmc.fit`.  Rather than import each other in a circle, :mod:`brmc.api`
registers its entry points here when it is imported (``import brmc`` imports
it first), and the others look them up when they run.

Examples
--------
>>> entry("update") is brmc.update
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .errors import BrmsError

_F = TypeVar("_F", bound=Callable[..., Any])

#: The registered entry points, by function name.
_ENTRIES: dict[str, Callable[..., Any]] = {}


def provide(function: _F) -> _F:
    """Register ``function`` as the pipeline's entry point of its name (a decorator).

    Parameters
    ----------
    function : callable
        The entry point.

    Returns
    -------
    callable
        ``function`` itself.

    Examples
    --------
    >>> provide(brmc.update) is brmc.update
    True
    """
    _ENTRIES[function.__name__] = function
    return function


def entry(name: str) -> Callable[..., Any]:
    """The pipeline's entry point ``name`` (``"run_fit"``, ``"fit_from"``, ``"update"``).

    Parameters
    ----------
    name : str
        The function's name.

    Returns
    -------
    callable

    Examples
    --------
    >>> entry("fit_from").__module__
    'brmc.api'
    """
    try:
        return _ENTRIES[name]
    except KeyError:
        raise BrmsError(f"brmc's fitting pipeline has no {name!r}: import brmc before using its modules.") from None
