"""The term objects the later stages share.

A :class:`GroupTerm` is one group-level block as written in the formula
(``(1 + Days | Subject)``); a :class:`GroupBlock` is the same block after the
data stage resolved its columns and levels.

Example:
    >>> GroupTerm(expr="1 + Days", group="Subject", correlated=True).factors
    ['Subject']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GroupTerm:
    """``(expr | group)`` or, when ``correlated`` is False, ``(expr || group)``."""

    expr: str
    group: str
    correlated: bool = True

    @property
    def factors(self) -> list[str]:
        """The data columns that make the grouping factor (``school:class`` → two)."""
        return self.group.split(":")

    def __str__(self) -> str:
        bar = "|" if self.correlated else "||"
        return f"({self.expr} {bar} {self.group})"


@dataclass
class GroupBlock:
    """A group-level block with its data: M coefficients on a factor with N levels.

    ``index`` maps each observation to its level (0-based), ``Z`` holds the
    block's N_obs × M predictor values (never a dense N_obs × N_levels matrix).
    """

    id: int
    term: GroupTerm
    coefs: list[str]
    levels: list[str]
    index: np.ndarray
    Z: np.ndarray

    @property
    def group(self) -> str:
        return self.term.group

    @property
    def correlated(self) -> bool:
        return self.term.correlated and len(self.coefs) > 1

    @property
    def n_levels(self) -> int:
        return len(self.levels)
