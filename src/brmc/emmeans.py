"""emmeans' estimated marginal means on the posterior: for each level of a factor (or
combination of factors), the linear predictor averaged with equal weights over emmeans'
reference grid, every level of the other factors crossed with the means of the numeric
predictors, population-level effects only (as emmeans on a brms fit).

Example:
    >>> RESPONSE_NAMES["logit"], _names("f:g")
    ('prob', ['f', 'g'])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._docs import shared
from .contrasts import is_factor
from .datagrid import focal_variables, typical_grid
from .errors import DataError, close_matches
from .families import inverse_link
from .marginal_frame import MarginalFrame, average, summarised
from .predict import posterior_linpred

if TYPE_CHECKING:
    from .fit import Fit

#: emmeans' name of a mean back-transformed to the response scale, by link.
RESPONSE_NAMES = {"logit": "prob", "probit": "prob", "cloglog": "prob", "cauchit": "prob", "log": "rate"}


def _names(names: str | Sequence[str] | None) -> list[str]:
    if names is None:
        return []
    if isinstance(names, str):
        return [n.strip() for n in names.replace("*", ":").split(":")]
    return list(names)


@shared
def emmeans(fit: Fit, specs: str | Sequence[str], by: str | Sequence[str] | None = None, type: str = "link",
            level: float = 0.95) -> MarginalFrame:
    """emmeans' ``emmeans``: estimated marginal means of the levels of ``specs`` (within each
    level of ``by``).

    The reference grid crosses every level of every factor among the population-level
    predictors with the mean of each numeric predictor (emmeans' ``cov.reduce = mean``,
    interactions included); each mean is, per draw, the equal-weight average of the linear
    predictor over the levels of the other factors, group-level effects left out.  With
    ``type="response"`` each mean is then back-transformed by the inverse link, as emmeans'
    ``type = "response"`` does.  The summary is emmeans' for Bayesian models: the posterior
    median and the highest-density interval.

    Parameters
    ----------
    {fit}
    specs : str or list of str
        The factor(s) whose levels get a mean (``"f"``, ``"f:g"`` or ``["f", "g"]``).
    by : str or list of str, optional
        Factors within whose levels the means are taken.
    type : str, default ``"link"``
        ``"link"`` (the linear predictor) or ``"response"`` (back-transformed).
    level : float, default 0.95
        The probability of the HPD interval.

    Returns
    -------
    MarginalFrame
        The ``specs`` and ``by`` columns, then ``emmean`` (back-transformed: ``prob`` for a
        logit, probit, cloglog or cauchit link, ``rate`` for log, else ``response``),
        ``lower.HPD`` and ``upper.HPD``; ``draws()`` has the per-draw means.

    Examples
    --------
    >>> data = df.assign(late=np.where(df.Days > 4, "yes", "no"))
    >>> fit2 = brmc.brm("Reaction ~ Days + late", data, chains=1, iter=200, seed=1, progress=False)
    >>> emmeans(fit2, "late").columns.tolist()
    ['late', 'emmean', 'lower.HPD', 'upper.HPD']
    """
    md = fit.model_data
    if md.family.polytomous:
        raise DataError(f"emmeans of an ordinal or categorical model ({md.family.name}) is not supported.")
    if type not in ("link", "response"):
        raise DataError(f"type must be 'link' or 'response', not {type!r}.")
    variables = focal_variables(fit)
    factors = [v for v in variables if is_factor(md.frame[v])]
    specs_, by_ = _names(specs), _names(by)
    for name in specs_ + by_:
        if name not in factors:
            raise DataError(f"emmeans: {name!r} is not a factor among the population-level predictors."
                            f"{close_matches(str(name), factors)} Factors: {', '.join(factors) or 'none'}.")
    grid = typical_grid(md.frame, variables, {}, balanced=True)
    table, means = average(grid, posterior_linpred(fit, newdata=grid, re_formula=False), by_ + specs_)
    name = "emmean"
    link = md.predictors["mu"].link
    if type == "response" and link != "identity":
        means = inverse_link(link, means)
        name = RESPONSE_NAMES.get(link, "response")
    table = table[list(dict.fromkeys(specs_ + by_))]
    return summarised(table, means, level, lead=list(table.columns), columns=(name, "lower.HPD", "upper.HPD"),
                      hpd=True)
