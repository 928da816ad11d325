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
    """Base class of every error brmc raises for bad input.

    Example:
        >>> issubclass(DataError, BrmsError), issubclass(DataError, ValueError)
        (True, True)
    """


class FormulaError(BrmsError, ValueError):
    """The formula text cannot be parsed or is not allowed.

    Example:
        >>> import brmc
        >>> try:
        ...     brmc.parse_formula("Reaction ~ Days + (1 | Subject")
        ... except FormulaError as err:
        ...     print(str(err).splitlines()[0])
        Unclosed '(' in the formula at position 19:
    """


class DataError(BrmsError, ValueError):
    """The data do not fit the formula (missing columns, wrong types, ...).

    Example:
        >>> import brmc
        >>> try:
        ...     brmc.get_prior("Reaction ~ Dyas", brmc.datasets.load("sleepstudy"))
        ... except DataError as err:
        ...     print(err)
        The predictor uses a column 'Dyas' that is not in the data. Did you mean 'Days'?
    """


class FamilyError(BrmsError, ValueError):
    """Unknown family or link, or a response the family cannot take.

    Example:
        >>> import brmc
        >>> try:
        ...     brmc.get_family("gausian")
        ... except FamilyError as err:
        ...     print(str(err)[:49])
        Unknown family 'gausian'. Did you mean 'gaussian'
    """


class PriorError(BrmsError, ValueError):
    """A malformed prior, or a prior on a parameter the model lacks.

    Example:
        >>> import brmc
        >>> try:
        ...     brmc.prior("normal(0, 10")
        ... except PriorError as err:
        ...     print(err)
        Malformed prior 'normal(0, 10': write it as Stan does, e.g. 'normal(0, 10)'.
    """


class SamplingError(BrmsError, RuntimeError):
    """Bad sampler settings, or sampling failed.

    Example:
        >>> import brmc
        >>> try:  # settings are checked before anything is built or sampled
        ...     brmc.brm("Reaction ~ Days", brmc.datasets.load("sleepstudy"), iter=500, warmup=500)
        ... except SamplingError as err:
        ...     print(err)
        iter (500) must be larger than warmup (500): iter counts warm-up and post-warm-up draws together, as in brms.
    """


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
