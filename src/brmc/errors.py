"""The one error family of brmc: every refusal of user input is a ``BrmsError``.

Each pipeline stage has its own subclass so callers can catch what they
expect, and every message names the culprit (column, term, prior, value).

Example:
    >>> import brmc
    >>> try:
    ...     brmc.get_prior("y ~ x", data={"y": [1.0, 2.0]})
    ... except brmc.BrmsError as err:
    ...     print(type(err).__name__)
    DataError
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BrmsError(Exception):
    """Base class of every error brmc raises for bad input."""


class FormulaError(BrmsError, ValueError):
    """The formula text cannot be parsed or is not allowed."""


class DataError(BrmsError, ValueError):
    """The data do not fit the formula (missing columns, wrong types, ...)."""


class FamilyError(BrmsError, ValueError):
    """Unknown family or link, or a response the family cannot take."""


class PriorError(BrmsError, ValueError):
    """A malformed prior, or a prior on a parameter the model lacks."""


class SamplingError(BrmsError, RuntimeError):
    """Bad sampler settings, or sampling failed."""


class IOError_(BrmsError, OSError):
    """A saved fit that cannot be read back."""


def close_matches(name: str, options: Iterable[str], n: int = 3) -> str:
    """Return a ``" Did you mean ...?"`` hint for ``name`` among ``options``, or ``""``.

    Example:
        >>> close_matches("Reactoin", ["Reaction", "Days"])
        " Did you mean 'Reaction'?"
    """
    options = list(dict.fromkeys(str(o) for o in options))
    matches = difflib.get_close_matches(name, options, n=n, cutoff=0.6)
    if not matches:
        lowered = {o.lower(): o for o in options}
        if name.lower() in lowered:
            matches = [lowered[name.lower()]]
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"
