"""The term objects the later stages share.

A :class:`GroupTerm` is one group-level block as written in the formula
(``(1 + Days | Subject)``); a :class:`GroupBlock` is the same block after the
data stage resolved its columns and levels.

Example:
    >>> from brmc.formula import parse_formula
    >>> parse_formula("y ~ (1 + Days | Subject)").group_terms[0].factors
    ['Subject']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .formula import GroupTerm
from .naming import coef_label


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
