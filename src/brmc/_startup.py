"""What brmc changes in a dependency while it loads: to start faster, and quietly.

ArviZ 0.23 announces its coming 1.0 refactor with a ``FutureWarning`` on import
(once a day): brmc hides exactly that notice (:data:`ARVIZ_NOTICE`) while it
imports ArviZ, since brmc pins ``arviz<1`` and its users have nothing to do about
it; every other warning is left alone (filtering, not pinning ``arviz<0.23``, keeps
ArviZ's fixes).

ArviZ (imported by PyMC) declares one Numba ufunc with an explicit signature,
``arviz.stats.ecdf_utils._binom_pmf``, used only for ECDF confidence bands.
Numba compiles such a ufunc while the module is imported: about 0.5 s in every
process.  Declared without the signature, Numba compiles the same function on
its first call instead (ArviZ's bands come out identical).

Example:
    >>> with lazy_numba_ufuncs():
    ...     import arviz
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: The start of ArviZ 0.23's import-time notice (a regular expression, as ``warnings`` takes it).
ARVIZ_NOTICE = r"\s*ArviZ is undergoing a major refactor"


@contextmanager
def lazy_numba_ufuncs() -> Iterator[None]:
    """Inside the block, ``numba.vectorize`` ignores explicit signatures (compiling on first
    call); Numba's own function is back afterwards.  Does nothing if ArviZ is already
    imported or Numba is not installed."""
    if "arviz" in sys.modules or importlib.util.find_spec("numba") is None:
        yield
        return
    import numba

    eager = numba.vectorize

    def lazy(ftylist_or_function=(), **options):
        return eager(ftylist_or_function, **options) if callable(ftylist_or_function) else eager(**options)

    numba.vectorize = lazy
    try:
        yield
    finally:
        numba.vectorize = eager
