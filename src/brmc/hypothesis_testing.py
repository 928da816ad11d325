"""brms's ``hypothesis()``: estimates, intervals, evidence ratios and posterior
probabilities of hypotheses about parameters, printed as brms prints them.

Example:
    >>> draws = pd.DataFrame({"b_x": np.random.default_rng(3).normal(1, 0.2, 4000)})
    >>> hypothesis(draws, "b_x > 0.5").hypothesis.loc[1, "Star"]
    '*'
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from .errors import DataError, close_matches
from .rprint import format_table, html_report

if TYPE_CHECKING:
    from .fit import Fit


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
