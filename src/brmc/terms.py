"""The term objects the later stages share.

A :class:`GroupTerm` is one group-level block as written in the formula
(``(1 + Days | Subject)``); a :class:`GroupBlock` is the same block after the
data stage resolved its columns and levels.

Example:
    >>> GroupTerm(expr="1 + Days", group="Subject", correlated=True).factors
    ['Subject']
    >>> coef_label("sigma", "Days"), coef_label("mu", "Days")
    ('sigma_Days', 'Days')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def coef_label(dpar: str, coef: str) -> str:
    """brms's name of a coefficient of ``dpar``'s linear predictor: ``Days`` for ``mu``, else ``sigma_Days``."""
    return coef if dpar == "mu" else f"{dpar}_{coef}"


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
    ``dpar`` is the distributional parameter whose linear predictor it enters.
    """

    id: int
    term: GroupTerm
    coefs: list[str]
    levels: list[str]
    index: np.ndarray
    Z: np.ndarray
    dpar: str = "mu"

    @property
    def labels(self) -> list[str]:
        """The coefficients as brms names them in ``sd_``/``cor_`` names: ``Intercept``, ``sigma_Intercept``."""
        return [coef_label(self.dpar, c) for c in self.coefs]

    @property
    def r_name(self) -> str:
        """brms's name of the block's group-level effects: ``r_Subject`` or ``r_Subject__sigma``."""
        return f"r_{self.group}" if self.dpar == "mu" else f"r_{self.group}__{self.dpar}"

    @property
    def group(self) -> str:
        return self.term.group

    @property
    def correlated(self) -> bool:
        return self.term.correlated and len(self.coefs) > 1

    @property
    def n_levels(self) -> int:
        return len(self.levels)
