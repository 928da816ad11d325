"""Model criteria as brms computes and prints them: ``loo``, ``waic``,
``loo_compare`` and ``bayes_R2`` (``hypothesis``: :mod:`brmc.hypothesis_testing`; ``loo``'s
options: :mod:`brmc.comparison`).

``psis_loo`` (the core of ``loo``) follows brms 2.18 on top of loo 2.5: per-observation relative
efficiencies of the likelihood (``r_eff``), Pareto-smoothed importance sampling (ArviZ's ``psislw``,
a port of loo's), loo's pointwise Monte Carlo SE and PSIS ``n_eff``, standard errors ``sqrt(N * var)``
and loo's printed layout with the Pareto k table.  ``waic`` uses loo's formulas (``p_waic`` is the
sample variance of the pointwise log-likelihood).  Each takes a fit or a log-likelihood array.

Example:
    >>> import numpy as np
    >>> ll = np.random.default_rng(1).normal(-1.0, 0.1, size=(2, 500, 30))
    >>> res = psis_loo(ll)
    >>> list(res.estimates.index), list(res.estimates.columns)
    (['elpd_loo', 'p_loo', 'looic'], ['Estimate', 'SE'])
    >>> print(str(res).splitlines()[1])
    Computed from 1000 by 30 log-likelihood matrix
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp
from scipy.stats import norm

from ._docs import shared
from .bridge import BridgeResult
from .data import ModelData
from .effects import summarise
from .errors import DataError
from .predict import posterior_epred, posterior_linpred
from .rprint import format_table, html_report
from .sampling import family_dpars
from .summary import arviz_numpy
from .terms.mi import NA_MESSAGE
from .unconstrained import row_additions
from .userwarn import warn_user

if TYPE_CHECKING:
    from .fit import Fit

K_BINS = ("(-Inf, 0.5]", "(0.5, 0.7]", "(0.7, 1]", "(1, Inf)")
K_LABELS = ("(good)", "(ok)", "(bad)", "(very bad)")
K_HELP = "See help('pareto-k-diagnostic') for details."
K_THRESHOLD = 0.7


# ---------------------------------------------------------------- R number formatting

def _fr(values: Sequence[float], digits: int) -> list[str]:
    """loo's ``.fr``: ``format(round(x, digits), nsmall = digits)``, one common width.

    >>> _fr([-860.89, 34.0, 1721.78], 1)
    ['-860.9', '  34.0', '1721.8']
    """
    cells = ["NA" if np.isnan(v) else f"{np.round(v, digits) + 0.0:.{digits}f}" for v in map(float, values)]
    width = max(map(len, cells), default=0)
    return [c.rjust(width) for c in cells]


# ---------------------------------------------------------------- log-likelihood and PSIS

def _log_lik(x: Fit | np.ndarray) -> np.ndarray:
    """Pointwise log-likelihood as a (chain, draw, observation) array, without NaN (brms's NA under mi())."""
    ll = np.asarray(x if isinstance(x, np.ndarray) else x.log_likelihood().values, dtype=float)
    if ll.ndim != 3 or np.isnan(ll).any():
        raise DataError(f"A log-likelihood array must have (chain, draw, observation) dimensions, got shape {ll.shape}."
                        if ll.ndim != 3 else f"NAs not allowed in input: {NA_MESSAGE}")
    return ll


def relative_eff(ll: np.ndarray) -> np.ndarray:
    """Relative efficiency of ``exp(ll)`` per observation, as brms passes to loo as ``r_eff``.

    Uses ArviZ's (split-chain) ``ess(method="mean")``; loo's ``relative_eff``
    uses the non-split Stan estimator, which agrees for mixing chains.
    Observations whose likelihood does not vary get 1.

    >>> ll = np.random.default_rng(2).normal(size=(4, 250, 3))
    >>> bool(np.all((relative_eff(ll) > 0.7) & (relative_eff(ll) < 1.3)))
    True
    """
    lik = np.exp(ll - ll.max(axis=(0, 1), keepdims=True))
    data = xr.Dataset({"lik": xr.DataArray(lik, dims=("chain", "draw", "obs"))})
    with arviz_numpy():
        r_eff = az.ess(data, method="mean")["lik"].values / (ll.shape[0] * ll.shape[1])
    return np.where(np.isfinite(r_eff), r_eff, 1.0)


def _psis(ll: np.ndarray, r_eff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normalised PSIS log weights (N, S) and Pareto k (N) of ``-ll`` (S, N).

    loo's tail length ``ceiling(min(0.2 S, 3 sqrt(S / r_eff)))`` differs by
    observation; ArviZ's ``psislw`` takes one ``reff``, so observations are
    smoothed in groups of equal tail length.
    """
    S, N = ll.shape
    tail = np.ceil(np.minimum(0.2 * S, 3 * np.sqrt(S / r_eff)))
    lw, k = np.empty((N, S)), np.empty(N)
    for length in np.unique(tail):
        rows = np.flatnonzero(tail == length)
        lw[rows], k[rows] = az.psislw(-ll[:, rows].T, reff=float(r_eff[rows[0]]))
    return lw, k


def _mcse_elpd(ll: np.ndarray, lw: np.ndarray, elpd: np.ndarray, r_eff: np.ndarray, n: int = 1000) -> np.ndarray:
    """loo's ``mcse_elpd``: normal approximation of the pointwise predictive density,
    evaluated at ``n`` Blom quantiles."""
    zn = norm.ppf((np.arange(1, n + 1) - 3 / 8) / (n - 2 * 3 / 8 + 1))
    epd = np.exp(elpd)
    sd_epd = np.sqrt(np.sum(np.exp(lw.T) ** 2 * (np.exp(ll) - epd) ** 2, axis=0))
    z = epd[:, None] + sd_epd[:, None] * zn
    with np.errstate(divide="ignore", invalid="ignore"):
        log_z = np.where(z > 0, np.log(np.where(z > 0, z, 1.0)), np.nan)
    return np.sqrt(np.nanvar(log_z, axis=1, ddof=1) / r_eff)


def _estimates(pointwise: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """loo's ``table_of_estimates``: sums and ``sqrt(N * var)`` standard errors."""
    values = pointwise[columns]
    return pd.DataFrame(
        {"Estimate": values.sum(axis=0), "SE": np.sqrt(len(values) * values.var(axis=0, ddof=1))},
        index=columns,
    )


# ---------------------------------------------------------------- results

@dataclass(eq=False)
class Criterion:
    """An information criterion: ``estimates`` (Estimate, SE by row), ``pointwise``
    (one row per observation) and ``dims`` (draws, observations)."""

    estimates: pd.DataFrame
    pointwise: pd.DataFrame
    dims: tuple[int, int]

    @property
    def elpd(self) -> float:
        """The expected log pointwise predictive density (first row of ``estimates``)."""
        return float(self.estimates.iloc[0, 0])

    def _estimate_cells(self) -> pd.DataFrame:
        """``estimates`` as loo prints them: one decimal, one width per column."""
        return pd.DataFrame({col: _fr(self.estimates[col], 1) for col in self.estimates.columns},
                            index=self.estimates.index)

    def _head(self) -> list[str]:
        return ["", f"Computed from {self.dims[0]} by {self.dims[1]} log-likelihood matrix", "",
                format_table(self._estimate_cells())]

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        """The printed text with the estimates as an HTML table."""
        head = self._head()
        return html_report([head[1], ("", self._estimate_cells()), str(self)[len("\n".join(head)):].strip("\n")])


@dataclass(repr=False, eq=False)
class LooResult(Criterion):
    """PSIS-LOO as loo 2.5 returns it; ``str()`` is its printed text.

    ``pointwise`` has loo's columns ``elpd_loo``, ``mcse_elpd_loo``, ``p_loo``,
    ``looic``, ``influence_pareto_k``; ``n_eff`` is the PSIS effective sample
    size per observation.
    """

    n_eff: np.ndarray

    @property
    def pareto_k(self) -> np.ndarray:
        """Pareto k estimate per observation."""
        return self.pointwise["influence_pareto_k"].to_numpy()

    @property
    def mcse_elpd_loo(self) -> float:
        """Monte Carlo SE of ``elpd_loo`` (NaN when some k > 0.7, as loo reports NA)."""
        if np.any(self.pareto_k > K_THRESHOLD):
            return float("nan")
        return float(np.sqrt(np.sum(self.pointwise["mcse_elpd_loo"] ** 2)))

    def pareto_k_table(self) -> pd.DataFrame:
        """loo's ``pareto_k_table``: Count, Proportion and Min. n_eff per k bin."""
        bins = pd.cut(self.pareto_k, [-np.inf, 0.5, 0.7, 1, np.inf], labels=list(K_BINS))
        frame = pd.DataFrame({"bin": bins, "n_eff": self.n_eff})
        grouped = frame.groupby("bin", observed=False)["n_eff"]
        count = grouped.size()
        return pd.DataFrame({"Count": count, "Proportion": count / count.sum(), "Min. n_eff": grouped.min()},
                            index=list(K_BINS))

    def __str__(self) -> str:
        lines = self._head()
        lines += ["------", f"Monte Carlo SE of elpd_loo is {_fr([self.mcse_elpd_loo], 1)[0]}."]
        if np.any(self.pareto_k > 0.5):
            lines.append("")
        table = self.pareto_k_table()
        count = table["Count"].to_numpy()
        if count[1:].sum() == 0:
            lines += ["", "All Pareto k estimates are good (k < 0.5)."]
        else:
            min_n_eff = ["<NA>" if np.isnan(v) else str(int(np.round(v))) for v in table["Min. n_eff"]]
            cells = pd.DataFrame(
                [["", label, c, f"{p}%", m] for label, c, p, m in
                 zip(K_LABELS, _fr(count, 0), _fr(100 * table["Proportion"], 1), min_n_eff)],
                columns=[" ", " ", "Count", "Pct.   ", "Min. n_eff"],
                index=[b.rjust(max(map(len, K_BINS))) for b in K_BINS],
            )
            lines += ["Pareto k diagnostic values:", format_table(cells, right=False)]
            if count[2:].sum() == 0:
                lines += ["", "All Pareto k estimates are ok (k < 0.7)."]
        return "\n".join([*lines, K_HELP])


@dataclass(repr=False, eq=False)
class WaicResult(Criterion):
    """WAIC as loo 2.5 returns it; ``str()`` is its printed text.

    ``pointwise`` has the columns ``elpd_waic``, ``p_waic``, ``waic``.
    """

    def high_p_waic_message(self) -> str:
        """loo's note on pointwise ``p_waic`` above 0.4, or ``""``."""
        bad = self.pointwise["p_waic"].to_numpy() > 0.4
        if not bad.any():
            return ""
        return (f"{bad.sum()} ({_fr([100 * bad.mean()], 1)[0]}%) p_waic estimates greater than 0.4. "
                "We recommend trying loo instead.")

    def __str__(self) -> str:
        message = self.high_p_waic_message()
        return "\n".join(self._head() + (["", message + " "] if message else []))


@shared
def psis_loo(fit: Fit | np.ndarray) -> LooResult:
    """PSIS leave-one-out cross-validation, as loo's ``loo`` of a log-likelihood array: the
    core of :func:`brmc.loo`, without its options and warnings.

    Parameters
    ----------
    {fit_or_log_lik}

    Returns
    -------
    {LooResult}

    Examples
    --------
    >>> res = psis_loo(fit)
    >>> res.estimates.index.tolist()
    ['elpd_loo', 'p_loo', 'looic']
    >>> print(res)  # doctest: +ELLIPSIS
    <BLANKLINE>
    Computed from 400 by 180 log-likelihood matrix
    ...
    """
    ll3 = _log_lik(fit)
    r_eff = relative_eff(ll3)
    ll = ll3.reshape(-1, ll3.shape[-1])
    S, N = ll.shape
    lw, k = _psis(ll, r_eff)
    elpd = logsumexp(ll.T + lw, axis=1)
    lpd = logsumexp(ll, axis=0) - np.log(S)
    pointwise = pd.DataFrame({
        "elpd_loo": elpd,
        "mcse_elpd_loo": _mcse_elpd(ll, lw, elpd, r_eff),
        "p_loo": lpd - elpd,
        "looic": -2 * elpd,
        "influence_pareto_k": k,
    })
    return LooResult(estimates=_estimates(pointwise, ["elpd_loo", "p_loo", "looic"]), pointwise=pointwise,
                     dims=(S, N), n_eff=r_eff / np.sum(np.exp(lw) ** 2, axis=1))


def stored_loo(fit: Fit, loo: LooResult | None) -> LooResult:
    """``loo``, else the loo result :func:`brmc.add_criterion` stored on ``fit``, checked to be a
    PSIS-LOO result of the fit's observations.

    Example:
        >>> stored_loo(fit, None)
        Traceback (most recent call last):
        ...
        brmc.errors.DataError: No 'loo' result was given and none is stored on the fit: pass loo=brmc.loo(fit) or add_criterion(fit, 'loo') first.
    """
    loo = fit.criteria.get("loo") if loo is None else loo
    if loo is None:
        raise DataError("No 'loo' result was given and none is stored on the fit: pass loo=brmc.loo(fit) "
                        "or add_criterion(fit, 'loo') first.")
    if not isinstance(loo, LooResult):
        raise DataError(f"loo must be a LooResult (brmc.loo of the fit), not {type(loo).__name__}.")
    if loo.dims[1] != fit.nobs:
        raise DataError(f"Number of observations in 'loo' ({loo.dims[1]}) and the fit ({fit.nobs}) do not match.")
    return loo


def recommend_loo_options(result: LooResult, k_threshold: float = K_THRESHOLD, moment_match: bool = False,
                          model_name: str = "") -> str:
    """brms 2.18's advice on observations with Pareto k above ``k_threshold``, as a ``UserWarning``:
    moment matching (when it was not used), else ``reloo`` (at most 10 of them), else ``kfold``.

    Parameters
    ----------
    result : LooResult
        A PSIS-LOO result.
    k_threshold : float, default 0.7
        The Pareto k above which an observation is problematic.
    moment_match : bool, default False
        Whether ``result`` was moment matched.
    model_name : str, optional
        The model's name in the message.

    Returns
    -------
    str
        brms's recommendation: ``"loo_moment_match"``, ``"reloo"``, ``"kfold"`` or ``"loo"``.

    Examples
    --------
    >>> ll = np.random.default_rng(1).normal(-1.0, 0.1, size=(2, 500, 30))
    >>> recommend_loo_options(psis_loo(ll))
    'loo'
    """
    n = int(np.sum(result.pareto_k > k_threshold))
    where = f" in model '{model_name}'" if model_name else ""
    found = f"Found {n} observations with a pareto_k > {k_threshold:g}{where}."
    if n and not moment_match:
        message, out = (f"{found} It is recommended to set 'moment_match = TRUE' in order to perform moment "
                        "matching for problematic observations. "), "loo_moment_match"
    elif 0 < n <= 10:
        message, out = (f"{found} It is recommended to set 'reloo = TRUE' in order to calculate the ELPD without "
                        "the assumption that these observations are negligible. This will refit the model "
                        f"{n} times to compute the ELPDs for the problematic observations directly."), "reloo"
    elif n > 10:
        message, out = (f"{found} With this many problematic observations, it may be more appropriate to use "
                        "'kfold' with argument 'K = 10' to perform 10-fold cross-validation rather than LOO."), "kfold"
    else:
        return "loo"
    warn_user(message)
    return out


@shared
def waic(fit: Fit | np.ndarray, newdata: pd.DataFrame | None = None, resp: str | list[str] | None = None) -> WaicResult:
    """The widely applicable information criterion, as brms's ``waic(fit)``.

    Warns (``UserWarning``) as loo does when some ``p_waic`` exceed 0.4.

    Parameters
    ----------
    {fit_or_log_lik}
    {scored_rows}

    Returns
    -------
    WaicResult
        ``estimates`` (``elpd_waic``, ``p_waic``, ``waic``) and ``pointwise``.

    Examples
    --------
    >>> waic(fit).estimates.index.tolist()
    ['elpd_waic', 'p_waic', 'waic']
    """
    ll3 = _log_lik(fit if newdata is None and resp is None else fit.log_lik(newdata, resp=resp))
    ll = ll3.reshape(-1, ll3.shape[-1])
    lpd = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    p_waic = ll.var(axis=0, ddof=1)
    pointwise = pd.DataFrame({"elpd_waic": lpd - p_waic, "p_waic": p_waic, "waic": -2 * (lpd - p_waic)})
    result = WaicResult(estimates=_estimates(pointwise, list(pointwise.columns)), pointwise=pointwise,
                        dims=ll.shape)
    if message := result.high_p_waic_message():
        warn_user(message)
    return result


@dataclass(repr=False, eq=False)
class KfoldResult(Criterion):
    """K-fold cross-validation as brms's ``kfold`` returns it (:func:`brmc.kfold.kfold`);
    ``str()`` is loo's printed text.  ``pointwise`` has the columns ``elpd_kfold``,
    ``p_kfold``, ``kfoldic`` and ``fold``; ``K`` is the number of folds."""

    K: int = 10

    def _head(self) -> list[str]:
        return ["", f"Based on {self.K}-fold cross-validation", "", format_table(self._estimate_cells())]

    def __str__(self) -> str:
        return "\n".join(self._head())


_RESULTS = {cls.__name__: cls for cls in (LooResult, WaicResult, KfoldResult)}


def stored(value: Criterion | BridgeResult | pd.DataFrame) -> dict:
    """A criterion :func:`brmc.add_criterion` keeps (a result, R² draws or a marginal likelihood)
    as JSON values.

    Example:
        >>> restored(stored(pd.DataFrame({"R2": [0.5, 0.6]})))["R2"].tolist()
        [0.5, 0.6]
    """
    if isinstance(value, pd.DataFrame):
        return {"type": "frame", "frame": value.to_dict(orient="split")}
    if isinstance(value, BridgeResult):
        return {"type": "BridgeResult", "logml": value.logml, "niter": value.niter, "method": value.method,
                **{q: getattr(value, q).tolist() for q in ("q11", "q12", "q21", "q22")}}
    out = {"type": type(value).__name__, "estimates": value.estimates.to_dict(orient="split"),
           "pointwise": value.pointwise.to_dict(orient="split"), "dims": list(value.dims)}
    if isinstance(value, LooResult):
        out["n_eff"] = np.asarray(value.n_eff).tolist()
    if isinstance(value, KfoldResult):
        out["K"] = value.K
    return out


def restored(value: dict) -> Criterion | BridgeResult | pd.DataFrame:
    """The criterion :func:`stored` wrote."""
    frame = lambda d: pd.DataFrame(d["data"], index=d["index"], columns=d["columns"])
    if value["type"] == "frame":
        return frame(value["frame"])
    if value["type"] == "BridgeResult":
        return BridgeResult(**{k: np.asarray(v) if k.startswith("q") else v for k, v in value.items() if k != "type"})
    extra = {"n_eff": np.asarray(value["n_eff"])} if "n_eff" in value else {}
    if "K" in value:
        extra["K"] = value["K"]
    return _RESULTS[value["type"]](estimates=frame(value["estimates"]), pointwise=frame(value["pointwise"]),
                                   dims=tuple(value["dims"]), **extra)


class LooCompare(pd.DataFrame):
    """``loo_compare``'s table (a DataFrame); printed as loo prints it
    (``elpd_diff`` and ``se_diff``; ``to_text(simplify=False)`` for all columns)."""

    @property
    def _constructor(self):
        return pd.DataFrame

    def _cells(self, simplify: bool) -> pd.DataFrame:
        """The printed cells: one decimal and one common number width."""
        table = self[["elpd_diff", "se_diff"]] if simplify else pd.DataFrame(self)
        cells = np.array(_fr(table.to_numpy().ravel(), 1)).reshape(table.shape)
        return pd.DataFrame(cells, index=table.index, columns=table.columns)

    def to_text(self, simplify: bool = True) -> str:
        """loo's ``print(x, simplify = ...)``: one common number width, left-aligned cells."""
        return format_table(self._cells(simplify), right=False)

    def __repr__(self) -> str:
        return self.to_text()

    __str__ = __repr__

    def _repr_html_(self) -> str:
        return html_report([("", self._cells(simplify=True))])


def loo_compare(*models: Fit | Criterion, names: Sequence[str] | None = None,
                criterion: str = "loo") -> LooCompare:
    """Compare models by ``elpd``, as loo's ``loo_compare``: best model first.

    ``elpd_diff`` is each model's elpd minus the best one's, ``se_diff`` is
    ``sqrt(N) * sd`` of the pointwise differences; the other columns are each
    model's estimates (loo's ``simplify = FALSE`` columns).  Fits are scored
    with ``criterion`` (``"loo"`` or ``"waic"``); results of :func:`brmc.loo` or
    :func:`waic` (or :func:`brmc.kfold.kfold`) are used as they are, and so are those
    :func:`brmc.add_criterion` stored on a fit.  Names default to ``fit1``, ``fit2``, ...

    Parameters
    ----------
    *models : Fit or LooResult or WaicResult or KfoldResult
        Two or more fits (or their criteria) of the same observations.
    names : sequence of str, optional
        The models' names in the table.
    criterion : str, default ``"loo"``
        ``"loo"``, ``"waic"`` or (stored by :func:`brmc.add_criterion`) ``"kfold"``, for fits
        given as fits.

    Returns
    -------
    LooCompare
        A DataFrame, best model first; printed as loo prints it.

    Examples
    --------
    >>> wide = fit.update(prior=brmc.prior("normal(0, 1)", class_="b"))
    >>> loo_compare(fit, wide, names=["flat", "normal(0, 1)"]).columns.tolist()[:2]
    ['elpd_diff', 'se_diff']
    """
    if len(models) < 2:
        raise DataError("loo_compare requires at least two models.")
    names = list(names) if names is not None else [f"fit{i + 1}" for i in range(len(models))]
    if len(names) != len(models) or len(set(names)) != len(names):
        raise DataError(f"names must give {len(models)} distinct model names, got {names!r}.")
    scorer = {"loo": _warned_loo, "waic": waic, "kfold": _no_kfold}.get(criterion)
    if scorer is None:
        raise DataError(f"criterion must be 'loo', 'waic' or 'kfold', not {criterion!r}.")
    results = [m if isinstance(m, Criterion) else m.criteria.get(criterion) or scorer(m) for m in models]
    if len({type(r) for r in results}) > 1:
        raise DataError("loo_compare cannot mix loo and waic results.")
    if len({r.dims[1] for r in results}) > 1:
        raise DataError("Not all models have the same number of data points.")
    order = sorted(range(len(results)), key=lambda i: -results[i].elpd)
    best = results[order[0]].pointwise.iloc[:, 0].to_numpy()
    rows = {}
    for i in order:
        est = results[i].estimates
        diff = results[i].pointwise.iloc[:, 0].to_numpy() - best
        row = {"elpd_diff": diff.sum(), "se_diff": np.sqrt(len(diff)) * diff.std(ddof=1)}
        elpd, p, ic = est.index
        row.update({elpd: est.loc[elpd, "Estimate"], f"se_{elpd}": est.loc[elpd, "SE"],
                    p: est.loc[p, "Estimate"], f"se_{p}": est.loc[p, "SE"],
                    ic: est.loc[ic, "Estimate"], f"se_{ic}": est.loc[ic, "SE"]})
        rows[names[i]] = row
    return LooCompare(pd.DataFrame.from_dict(rows, orient="index"))


def _warned_loo(fit: Fit) -> LooResult:
    result = psis_loo(fit)
    recommend_loo_options(result)
    return result


def _no_kfold(fit: Fit) -> Criterion:
    raise DataError("criterion='kfold' compares the kfold results stored on the fits: "
                    "add_criterion(fit, 'kfold') first, or pass fit.kfold() results.")


# ---------------------------------------------------------------- held-out rows

def heldout_log_lik(fit: Fit, full: ModelData, rows: np.ndarray, seed: int | None = None) -> np.ndarray:
    """Log-likelihood (draws, rows) of rows ``rows`` of ``full`` (the model data of all rows)
    under ``fit``, a fit of the other rows: brms's ``log_lik(fit, newdata, allow_new_levels =
    TRUE)``, new levels' effects as ``sample_new_levels = "uncertainty"``.  Responses and addition
    terms come from ``full``, coded as in the fit to all rows.

    Example:
        >>> heldout_log_lik(fit, fit.model_data, np.arange(3)).shape
        (400, 3)
    """
    md = fit.model_data
    newdata = full.frame.iloc[rows]
    etas = {d: posterior_linpred(fit, newdata, dpar=d, allow_new_levels=True, seed=seed) for d in md.predictors}
    scalars = {k: v.reshape(-1, *v.shape[2:]) for k, v in family_dpars(fit.idata.posterior, md).items()}
    additions = row_additions(full.additions, rows, full.nobs)
    return md.family.log_lik(full.y[rows], md.eta_mu(etas), md.dpar_values(etas, scalars), additions)


# ---------------------------------------------------------------- bayes_R2

def r2_table(r2: np.ndarray, summary: bool, probs: Sequence[float]) -> pd.DataFrame:
    """R² draws as brms gives them: a summary row ``R2``, or (``summary=False``) a column ``R2``."""
    if not summary:
        return pd.DataFrame({"R2": r2})
    return summarise(r2[:, None], tuple(probs), index=["R2"])


@shared
def bayes_R2(fit: Fit, summary: bool = True, probs: Sequence[float] = (0.025, 0.975)) -> pd.DataFrame:
    """Bayesian R², as brms's ``bayes_R2`` (Gelman et al. 2019).

    Per draw ``var(ypred) / (var(ypred) + var(y - ypred))`` with ``ypred`` the
    expected response of the training rows (``posterior_epred``).  A summary
    row ``R2`` (Estimate, Est.Error, quantiles), or with ``summary=False`` the
    draws in a column ``R2``.

    Parameters
    ----------
    {fit}
    {summary}
    {probs}

    Returns
    -------
    {R2}

    Examples
    --------
    >>> bayes_R2(fit).columns.tolist()
    ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
    """
    md = fit.model_data
    if md.family.cats_dpars:  # brms: conv_cats_dpars (categorical, multinomial, dirichlet)
        raise DataError("'bayes_R2' is not defined for unordered categorical models.")
    ypred = posterior_epred(fit)
    if ypred.ndim == 3:  # ordinal: brms's bayes_R2 needs a scalar expected response
        raise DataError("bayes_R2 is not defined for ordinal models (their expected response is a set of "
                        "category probabilities).")
    var_ypred = ypred.var(axis=1, ddof=1)
    var_e = (np.asarray(md.y, dtype=float) - ypred).var(axis=1, ddof=1)
    r2 = var_ypred / (var_ypred + var_e)
    return r2_table(r2, summary, probs)
