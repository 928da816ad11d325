"""Kinds of formula terms, one module each, and the registry the pipeline loops over.

:mod:`~brmc.terms.fe` (population-level effects), :mod:`~brmc.terms.re` (group-level
effects), :mod:`~brmc.terms.offset`, :mod:`~brmc.terms.sm` (smooths), :mod:`~brmc.terms.sp` (monotonic
effects), :mod:`~brmc.terms.me` (measurement error), :mod:`~brmc.terms.mi` (missing values), :mod:`~brmc.terms.gp` (Gaussian processes), :mod:`~brmc.terms.nl` (non-linear
formulas over nested predictors), :mod:`~brmc.terms.cs` (category-specific effects; they give the
linear predictor a last axis of thresholds) and :mod:`~brmc.terms.ac` (autocorrelation, last: it
reads the residuals of the rest) are registered here, in the order their parts are added up in the
linear predictor; :func:`register` adds a kind (a
:class:`~brmc.terms.base.TermKind`) without changing the pipeline.  See
:mod:`brmc.terms.base` for the protocol and ``docs/design.md`` ("Adding a term kind").

Example:
    >>> [kind.name for kind in kinds()], get("offset").calls
    (['fe', 're', 'offset', 'sm', 'sp', 'me', 'mi', 'gp', 'nl', 'cs', 'ac'], ('offset',))
"""

from __future__ import annotations

from ..formula import GroupTerm  # noqa: F401  (the tree's group term, beside its data)
from ..naming import coef_label  # noqa: F401
from . import ac, cs, fe, gp, me, mi, nl, offset, re, sm, sp
from .base import TermKind  # noqa: F401  (the protocol, beside the registry)
from .registry import get, kinds, linear_predictor, parts, register, unregister  # noqa: F401
from .re import GroupBlock, NewBlock  # noqa: F401

for _kind in (fe.KIND, re.KIND, offset.KIND, sm.KIND, sp.KIND, me.KIND, mi.KIND, gp.KIND, nl.KIND, cs.KIND, ac.KIND):
    register(_kind)
