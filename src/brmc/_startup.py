"""What brmc changes in a dependency while it loads: to start faster, quietly, and with
each worker process of a multi-fit run compiling in its own directory.

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

A process that imports brmc with ``BRMC_WORKER_COMPILEDIR`` set (see
:mod:`brmc.cluster`) compiles under ``<that folder>/worker-<pid>``: PyTensor
reads its ``base_compiledir`` from ``PYTENSOR_FLAGS`` once, when it is first
imported, so :func:`worker_compiledir` runs before brmc imports PyMC.

Example:
    >>> with lazy_numba_ufuncs():
    ...     import arviz
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: The start of ArviZ 0.23's import-time notice (a regular expression, as ``warnings`` takes it).
ARVIZ_NOTICE = r"\s*ArviZ is undergoing a major refactor"

#: the environment variable naming the folder under which each worker process compiles
COMPILEDIR_ENV = "BRMC_WORKER_COMPILEDIR"


def worker_compiledir() -> str | None:
    """Set PyTensor's ``base_compiledir`` to ``$BRMC_WORKER_COMPILEDIR/worker-<pid>``
    through ``PYTENSOR_FLAGS``, and return it; ``None`` (nothing changed) when the
    variable is unset, ``PYTENSOR_FLAGS`` already names a ``base_compiledir`` or
    PyTensor is already imported.

    Example:
        >>> worker_compiledir() is None  # PyTensor is imported in this process
        True
    """
    root = os.environ.get(COMPILEDIR_ENV)
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if not root or "base_compiledir" in flags or "pytensor" in sys.modules:
        return None
    path = os.path.join(root, f"worker-{os.getpid()}")
    os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [flags, f"base_compiledir={path}"]))
    return path


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
