"""Model criteria and hypotheses as brms computes and prints them: ``loo``, ``waic``,
``loo_compare``, ``bayes_R2`` and ``hypothesis``.

``loo`` follows brms 2.18 on top of loo 2.5: per-observation relative
efficiencies of the likelihood (``r_eff``), Pareto-smoothed importance sampling
(ArviZ's ``psislw``, a port of loo's), loo's pointwise Monte Carlo SE and PSIS
``n_eff``, standard errors ``sqrt(N * var)``, and loo's printed layout with the
Pareto k table.  ``waic`` uses loo's formulas (``p_waic`` is the sample variance
of the pointwise log-likelihood).  Each takes a fit or a (chain, draw,
observation) log-likelihood array, as ``loo::loo`` takes an array.

Example:
    >>> import numpy as np
    >>> ll = np.random.default_rng(1).normal(-1.0, 0.1, size=(2, 500, 30))
    >>> res = loo(ll)
    >>> list(res.estimates.index), list(res.estimates.columns)
    (['elpd_loo', 'p_loo', 'looic'], ['Estimate', 'SE'])
    >>> print(str(res).splitlines()[1])
    Computed from 1000 by 30 log-likelihood matrix
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import logsumexp
from scipy.stats import norm

from ._docs import shared
from .effects import summarise
from .errors import DataError, close_matches
from .rprint import format_table, html_report
from .predict import posterior_epred
from .summary import arviz_numpy

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


def _r_format(values: Sequence[float], digits: int = 7) -> list[str]:
    """R's ``format`` of a numeric column (``print.data.frame``): at most ``digits``
    significant digits, the decimals the most demanding value needs, one width.

    >>> _r_format([5.39, 1.7, float("nan"), float("inf")])
    ['5.39', '1.70', '  NA', ' Inf']
    """
    values = [float(v) + 0.0 for v in values]
    decimals = 0
    for v in values:
        if np.isfinite(v) and v != 0:
            mantissa, exponent = f"{abs(v):.{digits - 1}e}".split("e")
            significant = len(mantissa.replace(".", "").rstrip("0")) or 1
            decimals = max(decimals, significant - 1 - int(exponent))
    cells = [
        "NA" if np.isnan(v) else ("Inf" if v > 0 else "-Inf") if np.isinf(v) else f"{v:.{decimals}f}"
        for v in values
    ]
    width = max(map(len, cells), default=0)
    return [c.rjust(width) for c in cells]


def _r_number(x: float) -> str:
    """R's ``as.character`` of a number (15 significant digits): ``90``, ``97.5``."""
    return f"{x:.15g}"


# ---------------------------------------------------------------- log-likelihood and PSIS

def _log_lik(x: Fit | np.ndarray) -> np.ndarray:
    """Pointwise log-likelihood as a (chain, draw, observation) array."""
    if isinstance(x, np.ndarray):
        if x.ndim != 3:
            raise DataError("A log-likelihood array must have (chain, draw, observation) dimensions, "
                            f"got shape {x.shape}.")
        return x.astype(float)
    return np.asarray(x.log_likelihood().values, dtype=float)


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
def loo(fit: Fit | np.ndarray) -> LooResult:
    """PSIS leave-one-out cross-validation, as brms's ``loo(fit)``.

    Warns (``UserWarning``) when some Pareto k exceed 0.7, where brms recommends
    moment matching.

    Parameters
    ----------
    {fit_or_log_lik}

    Returns
    -------
    LooResult
        ``estimates`` (``elpd_loo``, ``p_loo``, ``looic``), ``pointwise`` and Pareto k;
        ``print()`` gives loo's text.

    Examples
    --------
    >>> res = loo(fit)
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
    result = LooResult(estimates=_estimates(pointwise, ["elpd_loo", "p_loo", "looic"]), pointwise=pointwise,
                       dims=(S, N), n_eff=r_eff / np.sum(np.exp(lw) ** 2, axis=1))
    n_bad = int(np.sum(k > K_THRESHOLD))
    if n_bad:
        warnings.warn(
            f"Found {n_bad} observations with a pareto_k > {K_THRESHOLD}. brms would recommend "
            "'moment_match = TRUE' (moment matching for problematic observations), which brmc does not "
            "implement yet: the elpd_loo of these observations may be unreliable.",
            UserWarning, stacklevel=2,
        )
    return result


@shared
def waic(fit: Fit | np.ndarray) -> WaicResult:
    """The widely applicable information criterion, as brms's ``waic(fit)``.

    Warns (``UserWarning``) as loo does when some ``p_waic`` exceed 0.4.

    Parameters
    ----------
    {fit_or_log_lik}

    Returns
    -------
    WaicResult
        ``estimates`` (``elpd_waic``, ``p_waic``, ``waic``) and ``pointwise``.

    Examples
    --------
    >>> waic(fit).estimates.index.tolist()
    ['elpd_waic', 'p_waic', 'waic']
    """
    ll3 = _log_lik(fit)
    ll = ll3.reshape(-1, ll3.shape[-1])
    lpd = logsumexp(ll, axis=0) - np.log(ll.shape[0])
    p_waic = ll.var(axis=0, ddof=1)
    pointwise = pd.DataFrame({"elpd_waic": lpd - p_waic, "p_waic": p_waic, "waic": -2 * (lpd - p_waic)})
    result = WaicResult(estimates=_estimates(pointwise, list(pointwise.columns)), pointwise=pointwise,
                        dims=ll.shape)
    if message := result.high_p_waic_message():
        warnings.warn(message, UserWarning, stacklevel=2)
    return result


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
    with ``criterion`` (``"loo"`` or ``"waic"``); results of :func:`loo` or
    :func:`waic` are used as they are.  Names default to ``fit1``, ``fit2``, ...

    Parameters
    ----------
    *models : Fit or LooResult or WaicResult
        Two or more fits (or their criteria) of the same observations.
    names : sequence of str, optional
        The models' names in the table.
    criterion : str, default ``"loo"``
        ``"loo"`` or ``"waic"``, for fits given as fits.

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
    scorer = {"loo": loo, "waic": waic}.get(criterion)
    if scorer is None:
        raise DataError(f"criterion must be 'loo' or 'waic', not {criterion!r}.")
    results = [m if isinstance(m, Criterion) else scorer(m) for m in models]
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


# ---------------------------------------------------------------- bayes_R2

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
    pandas.DataFrame
        One row ``R2``, or with ``summary=False`` the draws in a column ``R2``.

    Examples
    --------
    >>> bayes_R2(fit).columns.tolist()
    ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
    """
    md = fit.model_data
    if md.family.categorical:
        raise DataError("'bayes_R2' is not defined for unordered categorical models.")
    ypred = posterior_epred(fit)
    if ypred.ndim == 3:  # ordinal: brms's bayes_R2 needs a scalar expected response
        raise DataError("bayes_R2 is not defined for ordinal models (their expected response is a set of "
                        "category probabilities).")
    var_ypred = ypred.var(axis=1, ddof=1)
    var_e = (np.asarray(md.y, dtype=float) - ypred).var(axis=1, ddof=1)
    r2 = var_ypred / (var_ypred + var_e)
    if not summary:
        return pd.DataFrame({"R2": r2})
    return summarise(r2[:, None], tuple(probs), index=["R2"])


# ---------------------------------------------------------------- hypothesis

HYPOTHESIS_COLUMNS = ["Hypothesis", "Estimate", "Est.Error", "CI.Lower", "CI.Upper", "Evid.Ratio", "Post.Prob", "Star"]
_TOKEN = re.compile(
    r"(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z.][A-Za-z0-9_.:]*(?:\[[^\[\],]+(?:,[^\[\],]+)*\])?)"
    r"|(?P<op>\*\*|[-+*/^()])"
)
_BINARY = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide, ast.Pow: np.power}
_UNARY = {ast.USub: np.negative, ast.UAdd: np.positive}


@dataclass(eq=False)
class HypothesisResult:
    """brms's ``brmshypothesis``: the ``hypothesis`` table (brms's columns), the
    ``samples`` of each hypothesis (``H1``, ``H2``, ...), ``class_`` and ``alpha``;
    ``str()`` is brms's printed text."""

    hypothesis: pd.DataFrame
    samples: pd.DataFrame
    class_: str
    alpha: float

    def _cells(self) -> pd.DataFrame:
        """The printed table: hypotheses shortened as brms does, numbers to 2 decimals."""
        table = self.hypothesis.copy()
        table["Hypothesis"] = [_limit_chars(h, 20) for h in table["Hypothesis"]]
        for col in HYPOTHESIS_COLUMNS[1:-1]:
            table[col] = _r_format(np.round(table[col].to_numpy(dtype=float), 2))
        return table.set_axis([str(i) for i in table.index])

    def _notes(self) -> list[str]:
        pone, ptwo = _r_number((1 - 2 * self.alpha) * 100), _r_number((1 - self.alpha) * 100)
        return [
            f"'CI': {pone}%-CI for one-sided and {ptwo}%-CI for two-sided hypotheses.",
            f"'*': For one-sided hypotheses, the posterior probability exceeds {ptwo}%;",
            f"for two-sided hypotheses, the value tested against lies outside the {ptwo}%-CI.",
            "Posterior probabilities of point hypotheses assume equal prior probabilities.",
        ]

    def __str__(self) -> str:
        return "\n".join([f"Hypothesis Tests for class {self.class_}:", format_table(self._cells()), "---",
                          *self._notes()])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return html_report([f"Hypothesis Tests for class {self.class_}:", ("", self._cells()),
                            "\n".join(self._notes())])


def _limit_chars(text: str, chars: int, lsuffix: int = 4) -> str:
    """brms's ``limit_chars``: keep the last ``lsuffix`` characters, shorten the rest.

    >>> _limit_chars("(Intercept+5*Days)-(300) = 0", 20)
    '(Intercept+5*Days... = 0'
    """
    head, suffix = text[:-lsuffix], text[-lsuffix:]
    return (head if len(head) <= chars else head[: chars - 3] + "...") + suffix


def _split_hypothesis(h: str) -> tuple[str, str]:
    """``"Days > 5"`` → (``"(Days)-(5)"``, ``">"``), brms's rewriting."""
    h = re.sub(r"[ \t\r\n]", "", h)
    signs = re.findall(r"[=<>]", h)
    sides = re.findall(r"[^=<>]+", h)
    if len(signs) != 1 or len(sides) != 2:
        raise DataError(f"Every hypothesis must be of the form 'left (= OR < OR >) right', got {h!r}.")
    left, right = sides
    return f"({left})" + (f"-({right})" if right != "0" else ""), signs[0]


def _parse_expression(expr: str) -> tuple[ast.expr, list[str]]:
    """Tokenise ``expr`` (brms names may hold ``:``, ``[``, ``,``), then parse it
    with names replaced by placeholders; only numbers, names, ``+ - * / ^`` and
    parentheses are allowed.  Returns the tree and the names (placeholder ``_v<i>``)."""
    names: list[str] = []
    parts: list[str] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise DataError(f"Unexpected character {expr[pos]!r} at position {pos + 1} of hypothesis {expr!r}: "
                            "only parameter names, numbers, + - * / ^ and parentheses are allowed.")
        if match.lastgroup == "name":
            if match.group() not in names:
                names.append(match.group())
            parts.append(f"_v{names.index(match.group())}")
        else:
            parts.append("**" if match.group() == "^" else match.group())
        pos = match.end()
    try:
        tree = ast.parse(" ".join(parts), mode="eval").body
    except SyntaxError:
        raise DataError(f"Cannot parse hypothesis {expr!r}.") from None
    for node in ast.walk(tree):
        allowed = (isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Name, ast.operator, ast.unaryop, ast.expr_context))
                   or (isinstance(node, ast.Constant) and type(node.value) in (int, float)))
        if not allowed or isinstance(node, ast.BinOp) and type(node.op) not in _BINARY \
                or isinstance(node, ast.UnaryOp) and type(node.op) not in _UNARY:
            what = "function calls" if isinstance(node, ast.Call) else f"'{ast.unparse(node)}'"
            raise DataError(f"Hypothesis {expr!r} is not allowed: {what} cannot be used; only parameter names, "
                            "numbers, + - * / ^ and parentheses.")
    return tree, names


def _evaluate(node: ast.expr, values: Mapping[str, np.ndarray]) -> np.ndarray | float:
    """Evaluate a checked tree from :func:`_parse_expression` on draws."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    return _BINARY[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))


def _resolve(name: str, columns: Sequence[str], prefix: str) -> str:
    """The draws column of ``name``: ``prefix + name`` first, else the full name."""
    for candidate in (prefix + name, name):
        if candidate in columns:
            return candidate
    options = [c[len(prefix):] for c in columns if prefix and c.startswith(prefix)] + list(columns)
    raise DataError(f"Some parameters cannot be found in the model: {prefix + name}.{close_matches(name, options)}")


def _summarise_hypothesis(draws: np.ndarray, sign: str, alpha: float) -> dict[str, float | str]:
    """brms's ``eval_hypothesis`` summary of the draws of ``lhs - rhs``."""
    probs = (alpha / 2, 1 - alpha / 2) if sign == "=" else (alpha, 1 - alpha)
    lower, upper = np.quantile(draws, probs)
    if sign == "=":
        evid = float("nan")  # Savage-Dickey ratio needs prior draws (brms's sample_prior)
    else:
        hits = int(np.sum(draws < 0 if sign == "<" else draws > 0))
        evid = hits / (len(draws) - hits) if hits < len(draws) else float("inf")
    post = 1.0 if np.isinf(evid) else evid / (1 + evid)
    star = not (lower <= 0 <= upper) if sign == "=" else post > 1 - alpha
    return {"Estimate": float(draws.mean()), "Est.Error": float(draws.std(ddof=1)), "CI.Lower": float(lower),
            "CI.Upper": float(upper), "Evid.Ratio": evid, "Post.Prob": post, "Star": "*" if star else ""}


def savage_dickey(posterior: np.ndarray, prior: np.ndarray, point: float = 0.0) -> float:
    """Savage–Dickey evidence ratio: posterior over prior density at ``point``.

    As brms's ``evidence_ratio``: each density is a Gaussian kernel estimate
    with R's default bandwidth (``bw.nrd0``), evaluated at the point.

    Example:
        >>> rng = np.random.default_rng(4)
        >>> round(savage_dickey(rng.normal(0, 1, 20000), rng.normal(0, 10, 20000)), 1)
        9.7
    """
    def density(x: np.ndarray) -> np.float64:
        x = np.asarray(x, dtype=float)
        sd = x.std(ddof=1)
        lo = min(sd, np.subtract(*np.quantile(x, [0.75, 0.25])) / 1.34) or sd or abs(x[0]) or 1.0
        bw = 0.9 * lo * len(x) ** -0.2
        return norm.pdf((point - x) / bw).mean() / bw

    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(density(posterior), density(prior)))


def _hypothesis_prior_draws(columns: Sequence[str], draws: pd.DataFrame,
                            rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    """brms's ``prior_draws`` for the hypothesis' parameters (``_v<i>`` → draws), or None.

    Each parameter takes the ``prior_<name>`` column with the longest ``<name>``
    it starts with (``b_Days`` → ``prior_b_Days``, else ``prior_b``), shuffled
    on its own; overall intercepts ``b_Intercept`` have no prior draws.
    """
    names = [c[len("prior_"):] for c in draws.columns if c.startswith("prior_")]
    if not names:
        return None
    values = {}
    for j, column in enumerate(columns):
        matches = [n for n in names if column.startswith(n)]
        if not matches or (column.startswith("b_Intercept") and column not in names):
            return None
        values[f"_v{j}"] = draws[f"prior_{max(matches, key=len)}"].to_numpy(dtype=float)[rng.permutation(len(draws))]
    return values


def hypothesis(fit: Fit | pd.DataFrame, hypothesis: str | Sequence[str] | Mapping[str, str],
               alpha: float = 0.05, class_: str | None = "b", group: str = "") -> HypothesisResult:
    """Test hypotheses about parameters, as brms's ``hypothesis()``.

    Each hypothesis is ``left (= or < or >) right``.  With ``class_="b"`` names
    are population effects without ``b_`` (``"Days > 5"``,
    ``"Intercept + 5 * Days = 300"``); ``group`` narrows a class as brms does
    (``class_="sd", group="Subject"``: ``"Days < Intercept"``); names not found
    with the prefix are taken as full names (``"sigma > 20"``,
    ``"sd_Subject__Days > 5"``); ``class_=None`` uses full names only.  A data
    frame of draws (brms's default method) is searched by column name.  One-
    sided hypotheses report ``Evid.Ratio = P(h) / P(not h)``, ``Post.Prob =
    P(h)`` and a (1 - 2 alpha) interval; two-sided ones a (1 - alpha) interval
    and, when the fit has prior draws of every parameter involved
    (``sample_prior="yes"``), the Savage–Dickey ratio of posterior to prior
    density at the point (:func:`savage_dickey`) with ``Post.Prob = ER / (1 +
    ER)``; otherwise NA.  A dict gives hypotheses names.

    Expressions are parsed, never executed: only names, numbers,
    ``+ - * / ^`` and parentheses are allowed.

    Parameters
    ----------
    fit : Fit or pandas.DataFrame
        A fit, or a frame of draws with a column per parameter.
    hypothesis : str, sequence of str or dict of str to str
        The hypotheses; a dict names them.
    alpha : float, default 0.05
        One-sided hypotheses get a (1 - 2 alpha), two-sided ones a (1 - alpha) interval.
    class_ : str or None, default ``"b"``
        The class whose prefix names may leave out; None for full names only.
    group : str, optional
        The grouping factor that narrows ``class_`` (``"Subject"`` for ``sd``).

    Returns
    -------
    HypothesisResult
        The ``hypothesis`` table and the ``samples`` of each hypothesis; ``print()`` is brms's text.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> draws = pd.DataFrame({"b_x": rng.normal(1, 0.2, 4000)})
    >>> h = hypothesis(draws, "b_x > 0.5")
    >>> h.hypothesis.loc[1, "Hypothesis"], h.hypothesis.loc[1, "Star"]
    ('(b_x)-(0.5) > 0', '*')
    >>> hypothesis(fit, "Days > 5").hypothesis.loc[1, "Star"]
    '*'
    """
    if isinstance(hypothesis, str):
        hypothesis = [hypothesis]
    labelled = list(hypothesis.items()) if isinstance(hypothesis, Mapping) else [(None, h) for h in hypothesis]
    if not labelled or not all(isinstance(h, str) for _, h in labelled):
        raise DataError("Argument 'hypothesis' must be a string or a list of strings.")
    if not 0 <= alpha <= 1:
        raise DataError(f"Argument 'alpha' must be a single value in [0,1], got {alpha!r}.")
    if isinstance(fit, pd.DataFrame):
        draws, class_, rng = fit, "", None
    else:
        draws = fit.draws().drop(columns=[".chain", ".iteration", ".draw"])
        rng = np.random.default_rng(fit.settings.seed)
    class_ = class_ or ""
    prefix = class_ + (f"_{group}__" if group else "_") if class_ else ""
    rows, samples = [], {}
    for i, (name, h) in enumerate(labelled, start=1):
        expr, sign = _split_hypothesis(h)
        tree, names = _parse_expression(expr)
        columns = [_resolve(n, list(draws.columns), prefix) for n in names]
        values = {f"_v{j}": draws[c].to_numpy(dtype=float) for j, c in enumerate(columns)}
        result = np.broadcast_to(_evaluate(tree, values), (len(draws),)).astype(float)
        row = {"Hypothesis": name or f"{expr} {sign} 0", **_summarise_hypothesis(result, sign, alpha)}
        prior = _hypothesis_prior_draws(columns, draws, rng) if sign == "=" and rng is not None else None
        if prior is not None:
            evid = savage_dickey(result, np.broadcast_to(_evaluate(tree, prior), (len(draws),)))
            row.update({"Evid.Ratio": evid, "Post.Prob": evid / (1 + evid)})
        rows.append(row)
        samples[f"H{i}"] = result
    table = pd.DataFrame(rows, columns=HYPOTHESIS_COLUMNS, index=range(1, len(rows) + 1))
    return HypothesisResult(table, pd.DataFrame(samples), class_=prefix.rstrip("_"), alpha=alpha)
