"""Autocorrelation terms (brms's ``ac``): ``ar()``, ``ma()``, ``arma()``, ``cosy()`` and ``unstr()`` on ``mu``
of a gaussian or student model, as brms fits them (``unstr()``: brms 2.19).

- ``ar(time, gr, p)``, ``ma(time, gr, q)``, ``arma(time, gr, p, q)``: brms's regression ARMA.
  The residuals of earlier rows of the same series (``gr``, ordered by ``time``) enter ``mu``
  (:func:`brmc.autocor_lik.arma_mu`, brms's Stan loop), with coefficients ``ar`` and ``ma``
  (classes ``ar``, ``ma``; flat, unbounded, as brms 2.18's ``vector[Kar] ar``).  The
  likelihood stays the family's, so the pointwise log-likelihood, ``posterior_epred`` and
  ``posterior_predict`` are conditional on the observed earlier residuals, as brms's.
- ``cosy(time, gr)``: compound symmetry.  ``mu`` is the predictor itself; each series is
  multivariate normal (or Student-t) with correlation ``cosy`` (class ``cosy``, in [0, 1]) between
  any two of its rows (:func:`likelihood`); the pointwise log-likelihood is brms's leave-one-out
  conditional density of each row given the others of its series (:func:`time_log_lik`).
- ``unstr(time, gr)``: likewise, with one unstructured correlation matrix over the time points (class
  ``cortime``, sampled as its Cholesky factor ``Lcortime`` with ``lkj_corr_cholesky(1)``); a group with
  time points missing takes the sub-matrix of those it has.  Draws ``cortime__<t1>__<t2>``.

The rows are put in brms's order (by group, then time: :func:`order_frame`) before anything
else is built from them, so the fit's data, draws and predictions follow that order, as brms's.
The draws are ``ar[1]``, ``ma[1]``, ``cosy``, ``cortime__1__2``; in a multivariate model named by response
(``ar_y1[1]``, ``cosy_y1``, ``cortime_y1__1__2``: :mod:`brmc.mvautocor`).  The covariance terms (``cosy()``,
``unstr()``) take new data (their series drawn jointly, ``unstr()``'s at time points it was fitted to).

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("Reaction ~ Days + ar(time = Days, gr = Subject)"),
    ...                           brmc.datasets.load("sleepstudy"), brmc.get_family("gaussian"))
    >>> part = md.predictors["mu"].parts["ac"]
    >>> part.term.p, part.data["J_lag"][:3].tolist(), int(part.series.nobs[0])
    (1, [1, 1, 1], 10)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy import special

from ..autocor import AutocorTerm, TimeSeries, autocor_data, group_codes, order_rows, parse_autocor, time_levels
from ..autocor_lik import arma_mu, cholesky_cor_cosy, normal_time_lpdf, student_time_lpdf
from ..design import labels_of
from ..errors import DataError, FamilyError, FormulaError
from ..formula import BrmsFormula, CallTerm
from ..graph import cholesky_corr, parameter
from ..naming import cholesky_of_correlations, correlation_matrices, correlations
from .base import (LKJ_1, DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind,
                   prior_row)

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor, ModelData

#: the families with natural residuals, for which brms 2.18 writes these terms as brmc does
FAMILIES = ("gaussian", "student")


@dataclass
class Autocor:
    """The autocorrelation term of ``mu``: the term, the call it was written as, its series
    (rows already in brms's order), brms's Stan data (:func:`brmc.autocor.autocor_data`) and
    ``unstr()``'s time points (brms's labels, :func:`brmc.autocor.time_levels`)."""

    term: AutocorTerm
    call: CallTerm
    series: TimeSeries
    data: dict[str, np.ndarray]
    times: list[str] | None = None

    @property
    def cov(self) -> bool:
        """Whether the term is a residual covariance (``cosy``, ``unstr``) rather than part of ``mu``."""
        return self.term.cov

    @property
    def classes(self) -> list[tuple[str, int]]:
        """Its parameter classes with their sizes: ``[("ar", p), ("ma", q)]``, ``[("cosy", 1)]`` or
        ``[("cortime", T (T - 1) / 2)]``."""
        if self.term.cls == "cosy":
            return [("cosy", 1)]
        if self.times is not None:
            return [("cortime", len(self.cortime_names()))]
        return [(c, k) for c, k in (("ar", self.term.p), ("ma", self.term.q)) if k]

    def cortime_names(self, sfx: str = "") -> list[str]:
        """``unstr()``'s correlations as brms names them (``get_cornames``): ``cortime__<t1>__<t2>``, in a
        multivariate model with the response (``sfx``, ``cortime_y1__<t1>__<t2>``)."""
        times = self.times or []
        return [f"cortime{sfx}__{times[j]}__{times[k]}" for k in range(len(times)) for j in range(k)]


def _terms(formula: BrmsFormula) -> list[AutocorTerm]:
    """The autocorrelation terms of the formula's ``mu``, parsed (brms's ``tidy_acef``)."""
    return [parse_autocor(str(t)) for t in formula.of_kind(KIND.name)]


def order_frame(formula: BrmsFormula, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows in brms's order for the formula's autocorrelation term (by group, then time;
    brms's ``order_data``); the frame as it is when it has none.

    Parameters
    ----------
    formula : BrmsFormula
        The parsed formula.
    frame : pandas.DataFrame
        The complete rows, in the user's order.

    Returns
    -------
    pandas.DataFrame
        The rows in the model's order, index reset.

    Examples
    --------
    >>> from brmc.formula import parse_formula
    >>> frame = pd.DataFrame({"y": [1.0, 2.0, 3.0], "t": [3, 1, 2]})
    >>> order_frame(parse_formula("y ~ ar(time = t)"), frame)["t"].tolist()
    [1, 2, 3]
    """
    found = _terms(formula)
    if not found:
        return frame
    return frame.iloc[order_rows(found[0], frame)].reset_index(drop=True)


def _check(term: AutocorTerm, calls: list[CallTerm], ctx: DataContext) -> None:
    if len(calls) > 1:
        classes = [parse_autocor(str(c)).cls for c in calls]
        what = "term per autocorrelation class" if len(set(classes)) < len(classes) else "time-series term"
        raise FormulaError(f"Can only model one {what} (brms 2.18): {' + '.join(map(str, calls))}.")
    if ctx.dpar != "mu":
        raise FormulaError(f"Explicit covariance terms can only be specified on 'mu', not in the formula of "
                           f"{ctx.dpar!r} ({term.label}).")
    family = ctx.family
    if family.name not in FAMILIES:
        raise FamilyError(f"{term.label} with family '{family.name}' needs brms's latent residuals (a "
                          f"latent ARMA process), which brmc does not fit; autocorrelation terms work with "
                          f"the families {', '.join(FAMILIES)}.")
    if family.link != "identity":
        raise FamilyError(f"{term.label} needs the identity link of mu; family '{family.name}' has link "
                          f"'{family.link}'.")
    if term.time is None:
        raise FormulaError(f"{term.label} has no time variable: brms would take the rows' order in the data as "
                           f"the time order. Name the column that orders the rows within each group, as in "
                           f"ar(time = Days, gr = Subject).")
    if term.cls == "arma" and term.cov:
        raise FormulaError(f"The covariance formulation of ARMA terms (cov = TRUE) is not supported yet "
                           f"({term.label}); leave cov = FALSE, brms's default.")


class Autocorrelation(TermKind):
    """The kind ``ac``: the one autocorrelation term of ``mu``."""

    name = "ac"
    calls = ("ar", "ma", "arma", "cosy", "unstr")

    def data(self, terms: list[CallTerm], ctx: DataContext) -> Autocor | None:
        if not terms:
            return None
        term = parse_autocor(str(terms[0]))
        _check(term, terms, ctx)
        data = autocor_data(term, ctx.frame)  # refuses rows not in brms's order
        levels, codes = time_levels(term, ctx.frame) if term.cls == "unstr" else (None, None)
        if levels is not None and len(levels) < 2:
            raise DataError(f"{term.label} needs at least two time points; {term.time!r} has one: {levels[0]}.")
        return Autocor(term, terms[0], TimeSeries.from_groups(group_codes(term, ctx.frame), codes), data, levels)

    def structure(self, part: Autocor) -> Any:
        times = None if part.series.times is None else part.series.times.tolist()
        return (part.term.cls, part.term.p, part.term.q, part.series.nobs.tolist(), times)

    def prior_rows(self, lp: LinearPredictor, part: Autocor, ctx: PriorContext) -> list[dict]:
        bounds = {"cosy": {"lb": "0", "ub": "1"}}
        return [prior_row(LKJ_1 if c == "cortime" else "", c, **bounds.get(c, {})) for c, _ in part.classes]

    def slots(self, lp: LinearPredictor, part: Autocor) -> list[ParamSlot]:
        sfx = lp.suffix
        if part.times is not None:  # one lkj prior on the whole matrix, as brms's Lcortime
            return [ParamSlot(f"Lcortime{sfx}", 0, "cortime")]
        return [ParamSlot(f"{c}{sfx}", k, c, lb=0.0, ub=1.0) if c == "cosy" else ParamSlot(f"{c}{sfx}", k, c)
                for c, size in part.classes for k in range(size)]

    def graph(self, lp: LinearPredictor, part: Autocor, ctx: GraphContext) -> Any:
        """ARMA: ``(Y, ar, ma, series)`` for :meth:`add`; ``cosy``/``unstr``: the parameter (in ``ctx.params``:
        ``cosy``, or the Cholesky factor ``Lcortime`` with its lkj prior) and ``None``, its likelihood being
        :func:`likelihood`'s.  In a multivariate model the names carry the response (``ar_y1``, ``Lcortime_y1``,
        the response ``Y_y1``)."""
        sfx = lp.suffix
        if part.times is not None:
            eta = ctx.hyper(f"Lcortime{sfx}", "lkj")
            ctx.params[f"Lcortime{sfx}"] = cholesky_corr(f"Lcortime{sfx}", len(part.times),
                                                         eta[0, 0] if eta is not None else 1.0)
            return None
        if part.cov:
            ctx.params[f"cosy{sfx}"] = parameter(f"cosy{sfx}", (), 0.0, 1.0)
            return None
        coefs = {}
        for c, size in part.classes:
            ctx.params[f"{c}{sfx}"] = coefs[c] = parameter(f"{c}{sfx}", (size,), *ctx.bounds(f"{c}{sfx}"))
        model, name = pm.modelcontext(None), f"Y_{lp.resp}" if lp.resp else "Y"
        y = model[name] if name in model.named_vars else pm.Data(name, ctx.values[name])
        return y, coefs.get("ar"), coefs.get("ma"), part.series

    def add(self, eta: Any, contribution: Any) -> Any:
        """``mu`` with the ARMA terms of the earlier residuals (brms's loop), in the graph (tensors) or
        from the draws (NumPy, draws first); ``cosy`` leaves the predictor as it is."""
        if contribution is None:
            return eta
        y, ar, ma, series = contribution
        if isinstance(y, np.ndarray):
            return arma_mu_draws(y, eta, ar, ma, series)
        return arma_mu(y, eta * pt.ones_like(y), ar, ma, series)

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: Autocor) -> dict[str, dict[str, np.ndarray]]:
        sfx = lp.suffix
        if part.times is not None:
            return {"ac": correlations(raw, f"Lcortime{sfx}", len(part.times), part.cortime_names(sfx))}
        if part.cov:
            return {"ac": {f"cosy{sfx}": raw[f"cosy{sfx}"].values}}
        return {"ac": {f"{c}{sfx}[{k + 1}]": raw[f"{c}{sfx}"].values[..., k] for c, size in part.classes
                       for k in range(size)}}

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: Autocor) -> dict[str, np.ndarray]:
        sfx = lp.suffix
        if part.times is not None:
            return {f"Lcortime{sfx}": cholesky_of_correlations(posterior, len(part.times), part.cortime_names(sfx))}
        if part.cov:
            return {f"cosy{sfx}": posterior[f"cosy{sfx}"].values}
        return {f"{c}{sfx}": _coefficients(posterior, f"{c}{sfx}", size) for c, size in part.classes}

    def needed(self, lp: LinearPredictor, part: Autocor, kept: dict[int, list[int]]) -> tuple[list[str], list[str]]:
        return [v for v in (part.term.time, part.term.gr) if v is not None], []

    def rows(self, lp: LinearPredictor, part: Autocor, ctx: RowsContext) -> np.ndarray | None:
        """The training response (the ARMA terms' residuals are of the observed rows); new rows are refused
        for ARMA, and checked for a covariance term (their series, :func:`new_series`), which adds nothing to
        ``mu``; nothing with ``incl_autocor = False`` (brms's: ``mu`` without the term)."""
        if not ctx.incl_autocor:
            return None
        if ctx.newdata is not None and part.cov:
            new_series(part, ctx.newdata)
            return None
        if ctx.newdata is not None:
            raise DataError(f"Predictions for new data are not supported for models with the autocorrelation "
                            f"term {part.term.label} (brms needs their responses to continue the series); "
                            "predict the training rows (newdata=None).")
        return np.asarray(ctx.md.y, dtype=float)

    def draws(self, lp: LinearPredictor, part: Autocor, rows: np.ndarray | None, ctx: DrawsContext) -> Any:
        if part.cov or rows is None:
            return None
        ar, ma = (ctx.pick(_coefficients(ctx.posterior, f"{c}{lp.suffix}", dict(part.classes)[c]))
                  if c in dict(part.classes) else None for c in ("ar", "ma"))
        return rows, ar, ma, part.series


def _coefficients(posterior: xr.Dataset, cls: str, size: int) -> np.ndarray:
    """The draws of ``ar[1]``, ``ar[2]``, ... as one array (chain, draw, size)."""
    return np.stack([posterior[f"{cls}[{k + 1}]"].values for k in range(size)], axis=-1)


def arma_mu_draws(y: np.ndarray, eta: np.ndarray, ar: np.ndarray | None, ma: np.ndarray | None,
                  series: TimeSeries) -> np.ndarray:
    """:func:`brmc.autocor_lik.arma_mu` for many draws at once, in NumPy: brms's loop over the rows
    of every series side by side.

    Parameters
    ----------
    y : numpy.ndarray, shape (N,)
        The response (ordered rows).
    eta : numpy.ndarray, shape (draws, N)
        The predictor without the ARMA terms.
    ar, ma : numpy.ndarray of shape (draws, p) / (draws, q), or None
        The coefficients.
    series : TimeSeries
        The groups' rows.

    Returns
    -------
    numpy.ndarray, shape (draws, N)

    Examples
    --------
    >>> series = TimeSeries.from_groups(np.array([0, 0, 0]))
    >>> arma_mu_draws(np.array([1.0, 2.0, 0.0]), np.zeros((1, 3)), np.array([[0.5]]), None, series)
    array([[0. , 0.5, 1. ]])
    """
    draws = len(ar if ar is not None else ma)
    eta = np.broadcast_to(eta, (draws, len(y)))
    kar, kma = (0 if c is None else c.shape[-1] for c in (ar, ma))
    index = series.index
    resid, eta_pad = y[index] - eta[:, index], eta[:, index]  # (draws, groups, longest)
    lagged = np.zeros((*resid.shape[:2], max(kar, kma)))  # the errors of the rows before, latest first
    mu_pad = np.empty_like(resid)
    for t in range(index.shape[1]):
        ma_part = np.einsum("sgk,sk->sg", lagged[..., :kma], ma) if kma else 0.0
        ar_part = np.einsum("sgk,sk->sg", lagged[..., :kar], ar) if kar else 0.0
        mu_pad[..., t] = eta_pad[..., t] + ma_part + ar_part
        lagged = np.concatenate([(resid[..., t] - ma_part)[..., None], lagged[..., :-1]], axis=-1)
    valid = series.valid
    mu = np.empty((draws, len(y)))
    mu[:, index[valid]] = mu_pad[:, valid]
    return mu


def covariance_term(md: ModelData) -> Autocor | None:
    """The model's ``cosy()`` or ``unstr()`` term (a residual covariance, whose rows' densities do not factor
    into one per row), or ``None``.

    Parameters
    ----------
    md : ModelData
        The model's data (of a multivariate model, one response's).

    Returns
    -------
    Autocor or None

    Examples
    --------
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("Reaction ~ cosy(Days, Subject)"),
    ...                           brmc.datasets.load("sleepstudy"), brmc.get_family("gaussian"))
    >>> covariance_term(md).term.cls
    'cosy'
    """
    lp = md.predictors.get("mu")
    part = lp.parts.get(KIND.name) if lp is not None else None
    return part if part is not None and part.cov else None


def new_series(part: Autocor, newdata: pd.DataFrame) -> TimeSeries:
    """The series of new rows for a covariance term: each group's rows by time (brms's ``order_data``),
    ``unstr()``'s at the time points it was fitted to.

    Parameters
    ----------
    part : Autocor
        The model's ``cosy()`` or ``unstr()`` term.
    newdata : pandas.DataFrame
        The new rows.

    Returns
    -------
    TimeSeries
        ``index`` the positions of the rows in ``newdata``.

    Raises
    ------
    DataError
        A time point twice in a group; for ``unstr()`` a time point the model has no correlations of
        (brms 2.19: "Cannot handle new time points in UNSTR models").

    Examples
    --------
    >>> import brmc
    >>> frame = pd.DataFrame({"y": [1.0, 2, 3, 4], "t": [1, 2, 1, 2], "g": [1, 1, 2, 2]})
    >>> md = brmc.data.build_data(brmc.parse_formula("y ~ unstr(t, g)"), frame, brmc.get_family("gaussian"))
    >>> new_series(md.predictors["mu"].parts["ac"], frame.iloc[[3, 0]]).times.tolist()
    [[0], [1]]
    """
    term, codes = part.term, None
    if part.times is not None:
        time_levels(term, newdata)  # the column is there, without missing values
        labels = labels_of(newdata[term.time])
        mapped = labels.map({lv: i for i, lv in enumerate(part.times)})
        if mapped.isna().any():
            unknown = ", ".join(dict.fromkeys(labels[mapped.isna()]))
            raise DataError(f"Cannot handle new time points in UNSTR models ({term.label}): {term.time!r} "
                            f"has {unknown} in newdata; the model has the time points {', '.join(part.times)}.")
        codes = mapped.to_numpy(dtype=np.int64)
    return TimeSeries.of_rows(term, newdata, codes)


def _correlations(part: Autocor, posterior: xr.Dataset, size: int, sfx: str) -> np.ndarray:
    """The term's correlation matrix per draw, (chain, draw, T, T): ``unstr()``'s over its time points, or
    ``cosy()``'s of ``size`` rows (each series takes the block of its time points); ``sfx`` the response's
    suffix of the names in a multivariate model."""
    if part.times is not None:
        return correlation_matrices(posterior, len(part.times), part.cortime_names(sfx))
    cosy = np.asarray(posterior[f"cosy{sfx}"].values)[..., None, None]
    return cosy + (1 - cosy) * np.eye(size)


def likelihood(md: ModelData, y: Any, eta: Any, dpars: dict[str, Any], params: dict[str, Any]) -> Any:
    """The log-likelihood of a model with ``cosy()`` or ``unstr()``: each series multivariate normal (student:
    multivariate Student-t) with scale ``sigma`` and the term's correlation matrix (brms's
    ``normal_time_hom_lpdf``/``_het_lpdf``, ``student_t_time_*``, for ``unstr()`` their ``_flex`` forms);
    ``None`` for any other model.

    Parameters
    ----------
    md : ModelData
        The model's data.
    y, eta : tensor
        The response and ``mu``.
    dpars : dict
        The family parameters (``sigma``, ``nu``).
    params : dict
        The model's parameters (``cosy``, or ``unstr()``'s Cholesky factor ``Lcortime``).

    Returns
    -------
    tensor or None
        The summed log density.

    Examples
    --------
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("Reaction ~ Days"), brmc.datasets.load("sleepstudy"),
    ...                           brmc.get_family("gaussian"))
    >>> likelihood(md, None, None, {}, {}) is None
    True
    """
    part = covariance_term(md)
    if part is None:
        return None
    if set(md.additions) & {"weights", "cens", "trunc", "lb", "ub", "se"}:
        raise DataError(f"Addition terms (weights, cens, trunc, se) cannot be used with {part.term.label}: "
                        "brms says 'Invalid addition arguments for this model'.")
    sfx = md.predictors["mu"].suffix
    chol = (params[f"Lcortime{sfx}"] if part.times is not None
            else cholesky_cor_cosy(params[f"cosy{sfx}"], int(part.series.nobs.max())))
    if md.family.name == "student":
        return student_time_lpdf(y, dpars["nu"], eta, dpars["sigma"], chol, part.series)
    return normal_time_lpdf(y, eta, dpars["sigma"], chol, part.series)


def time_log_lik(md: ModelData, eta: np.ndarray, dpars: dict[str, np.ndarray],
                 posterior: xr.Dataset) -> np.ndarray | None:
    """brms's pointwise log-likelihood of a ``cosy()`` or ``unstr()`` model (``log_lik_gaussian_time``,
    ``log_lik_student_time``): each row's density given the other rows of its series (Bürkner,
    Gabry and Vehtari's leave-one-out form for non-factorized models); ``None`` for any other model.

    Parameters
    ----------
    md : ModelData
        The model's data.
    eta : numpy.ndarray, shape (chain, draw, N)
        ``mu``.
    dpars : dict
        ``sigma`` (and ``nu``), broadcasting against ``eta``.
    posterior : xarray.Dataset
        The draws (``cosy``, ``cortime__<t1>__<t2>``).

    Returns
    -------
    numpy.ndarray or None
        (chain, draw, N).

    Examples
    --------
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("Reaction ~ Days"), brmc.datasets.load("sleepstudy"),
    ...                           brmc.get_family("gaussian"))
    >>> time_log_lik(md, np.zeros((1, 1, 180)), {}, None) is None
    True
    """
    part = covariance_term(md)
    if part is None:
        return None
    y, shape = np.asarray(md.y, dtype=float), eta.shape
    sigma = np.broadcast_to(dpars["sigma"], shape)
    nu = np.broadcast_to(dpars["nu"], shape) if md.family.name == "student" else None
    cor = _correlations(part, posterior, int(part.series.nobs.max()), md.predictors["mu"].suffix)
    cor = cor[..., None, :, :]  # a groups axis
    out = np.empty(shape)
    for points, rows in part.series.patterns():  # rows: (groups, points)
        sd = sigma[..., rows]
        cov = cor[..., points][..., points, :] * sd[..., :, None] * sd[..., None, :]  # (chain, draw, groups, n, n)
        e = y[rows] - eta[..., rows]
        out[..., rows] = _loo_density(e, np.linalg.inv(cov), None if nu is None else nu[..., rows])
    return out


def time_predict(md: ModelData, newdata: pd.DataFrame | None, eta: np.ndarray | None, dpars: dict[str, np.ndarray],
                 posterior: xr.Dataset, draws: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """Responses of a ``cosy()`` or ``unstr()`` model drawn jointly per series (brms's ``posterior_predict``
    draws each series from its multivariate normal or Student-t; new data's series by :func:`new_series`);
    ``None`` for any other model.

    Parameters
    ----------
    md : ModelData
        The model's data.
    newdata : pandas.DataFrame or None
        The new rows (``None``: the training rows).
    eta : numpy.ndarray, shape (draws, N), or None
        ``mu`` (``None``: the model has none, a mixture's).
    dpars : dict
        ``sigma`` (and ``nu``), broadcasting against ``eta``.
    posterior : xarray.Dataset
        The draws (``cosy``, ``cortime__<t1>__<t2>``).
    draws : numpy.ndarray of int
        The draws used, positions among chain × draw.
    rng : numpy.random.Generator
        The random numbers.

    Returns
    -------
    numpy.ndarray or None
        (draws, N).

    Examples
    --------
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("Reaction ~ Days"), brmc.datasets.load("sleepstudy"),
    ...                           brmc.get_family("gaussian"))
    >>> time_predict(md, None, np.zeros((1, 180)), {}, None, np.zeros(1, int), np.random.default_rng(1)) is None
    True
    """
    part = covariance_term(md)
    if part is None or eta is None:
        return None
    series = part.series if newdata is None else new_series(part, newdata)
    shape = eta.shape
    sigma = np.broadcast_to(dpars["sigma"], shape)
    cor = _correlations(part, posterior, int(series.nobs.max()), md.predictors["mu"].suffix)
    cor = cor.reshape(-1, *cor.shape[2:])[draws]  # (draws, T, T)
    out = np.empty(shape)
    for points, rows in series.patterns():
        chol = np.linalg.cholesky(cor[:, points][:, :, points])
        z = np.einsum("sij,sgj->sgi", chol, rng.standard_normal((shape[0], *rows.shape)))
        if md.family.name == "student":  # a multivariate t: one chi-square scale per series
            nu = np.broadcast_to(dpars["nu"], shape)[:, rows[:, 0]]
            z = z / np.sqrt(rng.chisquare(nu) / nu)[..., None]
        out[:, rows] = eta[:, rows] + sigma[:, rows] * z
    return out


def _loo_density(e: np.ndarray, cinv: np.ndarray, nu: np.ndarray | None) -> np.ndarray:
    """Each element's log density given the others of its vector, from the residuals ``e`` (..., n)
    and the inverse covariance (..., n, n): normal, or Student-t with ``nu + n - 1`` degrees of freedom
    and brms's scale factor (``student_t_cov_factor``) when ``nu`` is given."""
    cbar = np.diagonal(cinv, axis1=-2, axis2=-1)
    g = np.einsum("...ij,...j->...i", cinv, e)
    loo_resid = g / cbar  # y - yloo
    var = 1 / cbar
    if nu is None:
        return -0.5 * (np.log(2 * np.pi * var) + loo_resid**2 / var)
    n = e.shape[-1]
    # e[-i]' inv(C[-i, -i]) e[-i] = e' Cinv e - (Cinv e)_i^2 / Cinv_ii
    beta1 = np.einsum("...i,...i->...", e, g)[..., None] - g**2 / cbar
    df = nu + n - 1
    scale2 = var * (nu + beta1) / df
    return (special.gammaln((df + 1) / 2) - special.gammaln(df / 2) - 0.5 * np.log(df * np.pi * scale2)
            - (df + 1) / 2 * np.log1p(loo_resid**2 / (df * scale2)))


KIND = Autocorrelation()
