"""brms's names of parameters, made in one place (brms's ``rename_pars.R``).

Example:
    >>> coef_label("sigma", "Days"), coef_label("mu", "Days")
    ('sigma_Days', 'Days')
"""

from __future__ import annotations


def coef_label(dpar: str, coef: str) -> str:
    """brms's name of a coefficient of ``dpar``'s linear predictor: ``Days`` for ``mu``, else ``sigma_Days``."""
    return coef if dpar == "mu" else f"{dpar}_{coef}"
