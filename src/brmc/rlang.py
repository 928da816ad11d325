"""Small R-compatibility helpers: how R sorts, prints numbers and computes ``mad``.

brms's outputs depend on these details (row order of ``get_prior``, level order
of ``school:class``, ``student_t(3, 288.7, 59.3)``), so they live in one place.

Example:
    >>> sorted(["11_1", "1_2", "1_1", "2_1"], key=r_collate_key)
    ['1_1', '1_2', '11_1', '2_1']
    >>> r_number(32.0), r_number(288.65)
    ('32', '288.65')
"""

from __future__ import annotations

import math

import numpy as np


def r_collate_key(text: str) -> tuple:
    """Sort key approximating R's ``sort()`` in an en_US.UTF-8 locale (glibc ≥ 2.28).

    Punctuation sorts before digits, digits before letters, letters ignore case
    at first and lower case wins ties, as in brms's level and prior row order.
    """

    def primary(ch: str) -> tuple[int, str]:
        if ch.isalpha():
            return (2, ch.lower())
        if ch.isdigit():
            return (1, ch)
        return (0, ch)

    return (
        tuple(primary(c) for c in text),
        tuple(0 if c.islower() else 1 for c in text),
    )


def r_number(x: float) -> str:
    """Format a number as R's ``as.character`` does (15 significant digits).

    Example:
        >>> r_number(100000.0), r_number(-0.0), r_number(2.5)
        ('1e+05', '0', '2.5')
    """
    if x == 0:
        return "0"
    if math.isnan(x):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    fixed = f"{x:.15g}"
    if "e" in fixed:
        fixed = np.format_float_positional(float(fixed), trim="-")
    mantissa, exp = f"{x:.15e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    sci = f"{mantissa}e{int(exp):+03d}"
    return sci if len(fixed) > len(sci) else fixed


def r_mad(x: np.ndarray) -> float:
    """R's ``mad``: 1.4826 × the median absolute deviation from the median."""
    x = np.asarray(x, dtype=float)
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def r_round(x: float, digits: int = 0) -> float:
    """R's ``round`` to ``digits`` decimals (half to even on the decimal value)."""
    return float(round(float(x), digits)) + 0.0


def r_signif(x: float, digits: int = 6) -> float:
    """R's ``signif``: ``x`` rounded to ``digits`` significant digits.

    Example:
        >>> r_signif(0.46051701859880917, 15), r_signif(123456.0, 2)
        (0.460517018598809, 120000.0)
    """
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return x
    return r_round(x, digits - 1 - math.floor(math.log10(abs(x))))
