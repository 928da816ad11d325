"""The results of brmc's marginal effects (:mod:`brmc.marginal`, :mod:`brmc.emmeans`): a
DataFrame of summaries that keeps the draws of every row, the per-draw averages that
``by=`` takes, and marginaleffects' ``hypotheses`` on the rows.

Summaries are taken last, of the draws: the posterior median as ``estimate`` and the
equal-tailed interval (emmeans: the highest-density interval) as marginaleffects and
emmeans report Bayesian models.

Example:
    >>> res = summarised(pd.DataFrame({"term": ["a"]}), np.arange(101.0)[:, None], 0.9)
    >>> res[["term", "estimate", "conf.low", "conf.high"]].round(6).values.tolist()
    [['a', 50.0, 5.0, 95.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd

from ._docs import shared
from .contrasts import is_factor
from .design import labels_of, level_order
from .errors import DataError, close_matches
from .hypothesis_testing import _evaluate, _parse_expression, _split_hypothesis

SUMMARY = ("estimate", "conf.low", "conf.high")
#: Leading columns of a result, kept in their order of first appearance when grouping.
LEAD = ("rowid", "group", "term", "contrast")


class MarginalFrame(pd.DataFrame):
    """A result of :func:`predictions`, :func:`comparisons`, :func:`slopes` (and their ``avg_``
    forms), :func:`hypotheses` or :func:`brmc.emmeans`: a DataFrame with marginaleffects'
    columns (``term``, ``contrast``, the grid or ``by`` columns, ``estimate``, ``conf.low``,
    ``conf.high``) that keeps the draws of every row.  Frames derived from it (a subset, a
    copy) are plain DataFrames, since their rows no longer match the draws.

    Example:
        >>> res = brmc.avg_predictions(fit, by="Days")
        >>> res.draws(shape="DxP").shape, len(res.draws())
        ((400, 10), 4000)
    """

    _metadata: ClassVar[list[str]] = ["_posterior"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    def draws(self, shape: str = "long") -> pd.DataFrame | np.ndarray:
        """The draws of every row, as marginaleffects' ``posterior_draws()``.

        Parameters
        ----------
        shape : str, default ``"long"``
            ``"long"``: a frame with ``drawid`` and ``draw`` before the result's columns, one row
            per draw and result row (draw 1's rows first); ``"DxP"``: an array (draws, rows);
            ``"PxD"``: its transpose.

        Returns
        -------
        pandas.DataFrame or numpy.ndarray

        Examples
        --------
        >>> brmc.avg_comparisons(fit, variables="Days").draws().columns[:4].tolist()
        ['drawid', 'draw', 'term', 'contrast']
        """
        values = self._posterior
        if shape == "DxP":
            return values.copy()
        if shape == "PxD":
            return values.T.copy()
        if shape != "long":
            raise DataError(f"shape must be 'long', 'DxP' or 'PxD', not {shape!r}.")
        n_draws, n_rows = values.shape
        rows = pd.DataFrame(self).iloc[np.tile(np.arange(n_rows), n_draws)].reset_index(drop=True)
        rows.insert(0, "draw", values.reshape(-1))
        rows.insert(0, "drawid", np.repeat(np.arange(1, n_draws + 1), n_rows))
        return rows


def hpd_interval(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """The shortest interval holding ``prob`` of the draws of each column, as coda's
    ``HPDinterval`` (which emmeans reports for Bayesian models).

    Example:
        >>> lo, hi = hpd_interval(np.arange(1.0, 101.0)[:, None] ** 2, 0.9)
        >>> float(lo[0]), float(hi[0])
        (1.0, 8281.0)
    """
    values = np.sort(draws, axis=0)
    n = len(values)
    gap = max(1, min(n - 1, round(n * prob)))
    start = np.argmin(values[gap:] - values[: n - gap], axis=0)
    columns = np.arange(values.shape[1])
    return values[start, columns], values[start + gap, columns]


def summarised(frame: pd.DataFrame, draws: np.ndarray, conf_level: float, lead: Sequence[str] | None = None,
               columns: Sequence[str] = SUMMARY, hpd: bool = False) -> MarginalFrame:
    """``frame`` with the posterior median and interval of each column of ``draws`` (equal-tailed,
    or with ``hpd`` the highest-density one) after the ``lead`` columns (by default ``rowid``,
    ``group``, ``term`` and ``contrast``), as a :class:`MarginalFrame` that keeps the draws."""
    if not 0 < conf_level < 1:
        raise DataError(f"conf_level must lie between 0 and 1, got {conf_level!r}.")
    draws = np.asarray(draws, dtype=float)
    if hpd:
        lower, upper = hpd_interval(draws, conf_level)
    else:
        lower, upper = np.quantile(draws, [(1 - conf_level) / 2, (1 + conf_level) / 2], axis=0)
    lead = [c for c in frame.columns if c in (LEAD if lead is None else lead)]
    out = frame[lead].copy()
    for name, values in zip(columns, (np.median(draws, axis=0), lower, upper)):
        out[name] = values
    result = MarginalFrame(pd.concat([out, frame.drop(columns=lead)], axis=1).reset_index(drop=True))
    result._posterior = draws
    return result


def _sort_codes(column: pd.Series) -> np.ndarray:
    if is_factor(column):
        return pd.Categorical(labels_of(column), categories=level_order(column)).codes
    return pd.factorize(column, sort=True)[0]


def average(frame: pd.DataFrame, draws: np.ndarray, keys: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Per draw, the mean over the rows of each group of ``keys`` (over all rows when empty);
    groups in order of ``term`` and ``contrast`` as they come, other keys sorted (factors in R's
    level order).

    Example:
        >>> frame, means = average(pd.DataFrame({"g": ["b", "a", "b"]}), np.array([[1.0, 2.0, 3.0]]), ["g"])
        >>> frame["g"].tolist(), means.tolist()
        (['a', 'b'], [[2.0, 2.0]])
    """
    if not keys:
        return pd.DataFrame(index=[0]), draws.mean(axis=1, keepdims=True)
    codes = np.column_stack([_sort_codes(frame[k]) if k not in LEAD else pd.factorize(frame[k])[0] for k in keys])
    _, first, group = np.unique(codes, axis=0, return_index=True, return_inverse=True)
    weights = np.zeros((len(frame), len(first)))
    weights[np.arange(len(frame)), group.ravel()] = 1.0
    return frame.iloc[first][keys].reset_index(drop=True), draws @ (weights / weights.sum(axis=0))


@shared
def hypotheses(x: MarginalFrame, hypothesis: str | Sequence[str], conf_level: float = 0.95) -> MarginalFrame:
    """marginaleffects' ``hypotheses`` on a result: equations of its rows, ``b1``, ``b2``, ...
    in order (or their ``term`` where the terms name the rows one each), evaluated per draw;
    ``estimate`` is the posterior median of left side minus right side.

    Parameters
    ----------
    x : MarginalFrame
        A result of :func:`predictions`, :func:`comparisons`, :func:`slopes`, their ``avg_`` forms
        or :func:`brmc.emmeans`.
    hypothesis : str or list of str
        Equations ``lhs = rhs`` of row names, numbers, ``+ - * / ^`` and parentheses.
    {me_conf_level}

    Returns
    -------
    MarginalFrame
        ``term`` (the equation), ``estimate``, ``conf.low``, ``conf.high``.

    Examples
    --------
    >>> res = brmc.avg_predictions(fit, by="Days", re_formula=False)
    >>> h = hypotheses(res, "b2 - b1 = 0")
    >>> bool(np.allclose(h.draws(shape="DxP")[:, 0], fit.draws()["b_Days"]))
    True
    """
    if not isinstance(x, MarginalFrame):
        raise DataError("hypotheses needs a result of predictions, comparisons, slopes or emmeans (a MarginalFrame; "
                        "a subset or copy of one no longer carries its draws).")
    draws = x.draws(shape="DxP")
    rows = {f"b{i}": draws[:, i - 1] for i in range(1, draws.shape[1] + 1)}
    if "term" in x.columns and x["term"].is_unique:
        rows.update({str(t): draws[:, i] for i, t in enumerate(x["term"])})
    labels, values = [], []
    for h in [hypothesis] if isinstance(hypothesis, str) else list(hypothesis):
        expr, sign = _split_hypothesis(h)
        if sign != "=":
            raise DataError(f"Hypothesis {h!r}: hypotheses takes equations 'lhs = rhs'.")
        tree, names = _parse_expression(expr)
        missing = [n for n in names if n not in rows]
        if missing:
            raise DataError(f"Hypothesis {h!r}: {missing[0]!r} names no row of the result.{close_matches(missing[0], rows)} "
                            f"Rows are b1 to b{draws.shape[1]}.")
        result = _evaluate(tree, {f"_v{j}": rows[n] for j, n in enumerate(names)})
        values.append(np.broadcast_to(result, (len(draws),)))
        labels.append(h.strip())
    return summarised(pd.DataFrame({"term": labels}), np.column_stack(values), conf_level)
