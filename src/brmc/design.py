"""Design matrices under R's rules: formulae evaluates, this module names and orders.

``design("1 + Days", frame, env)`` gives the columns R's ``model.matrix`` would
give, named as brms names them: R's column names (``factor(cyl)6``,
``poly(hp, 2)1``, ``temperature.L``, ``recipeB:temperature.L``) through brms's
``rename()`` (``factorcyl6``, ``polyhp21``, ``temperature.L``).  Factors are
coded with treatment contrasts on R's level order, or with ``contr.poly`` for
the columns in ``poly`` (ordered factors by default, see :mod:`brmc.contrasts`).

Example:
    >>> import brmc
    >>> X, names = design(parse_formula("Reaction ~ 1 + poly(Days, 2)").population,
    ...                   brmc.datasets.load("sleepstudy"), {})
    >>> names, X.shape
    (['Intercept', 'polyDays21', 'polyDays22'], (180, 3))
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd
from formulae.environment import Environment
from formulae.transforms import C

from .contrasts import PolyEncoding, is_factor
from .errors import DataError
from .formula import FORMULAE_SPELLINGS, GroupTerm, parse_formula  # noqa: F401  (parse_formula: examples)
from .lexer import POLY, POLY_CODED, Expr
from .naming import coef_label, sd_name
from .rcoding import design_matrices
from .rlang import r_collate_key, r_number
from .userwarn import caller_level


def factor(x: Any, contrast: Any = None) -> Any:
    """R's ``factor()`` (and ``as.factor()``) in a formula: the values as a factor with R's
    labels and level order (``6.0`` → ``"6"``, text sorted as R sorts it).

    Parameters
    ----------
    x : array-like
        The values; a categorical keeps its own categories.
    contrast : formulae Encoding, optional
        The coding (``PolyEncoding`` for an ordered factor); treatment contrasts when ``None``.

    Returns
    -------
    formulae.categorical.CategoricalBox
        What formulae codes as a factor.

    Examples
    --------
    >>> factor(np.array([6.0, 4.0, 6.0])).levels
    ['4', '6']
    """
    values = x if isinstance(x, pd.Series) else pd.Series(np.asarray(x))
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = pd.Series(pd.Categorical(labels_of(values), categories=level_order(values), ordered=True))
    return C(values, contrast)


class RScale:
    """R's ``scale(x, center = TRUE, scale = TRUE)``: subtract the mean, divide by the
    root mean square with n - 1 (the sd); the training values are kept for new data."""

    __stateful_transform__ = True

    def __init__(self) -> None:
        self.center: float | None = None
        self.scale = 1.0

    def __call__(self, x: Any, center: bool = True, scale: bool = True) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.center is None:
            self.center = float(x.mean()) if center else 0.0
            self.scale = float(np.sqrt(np.sum((x - self.center) ** 2) / (len(x) - 1))) if scale else 1.0
        return (x - self.center) / self.scale


#: R's logical constants a formula may use as arguments (``raw = TRUE``, ``center = F``); formulae's
#: own ``T()`` answers for ``T``, and is true
R_LOGICALS = frozenset({"TRUE", "FALSE", "T", "F"})
#: functions available to formula expressions (NumPy's elementwise maths, R's factor() and scale()).
FORMULA_NAMESPACE: dict[str, Any] = {
    "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "exp": np.exp,
    "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "round": np.round, "floor": np.floor, "ceiling": np.ceil,
    "inv_logit": lambda x: 1 / (1 + np.exp(-x)), "logit": lambda p: np.log(p / (1 - p)),
    "factor": factor, FORMULAE_SPELLINGS["as.factor"]: factor, FORMULAE_SPELLINGS["scale"]: RScale,
    "TRUE": True, "FALSE": False, "F": False, POLY: PolyEncoding, POLY_CODED: lambda x: C(x, PolyEncoding),
}
#: formulae spelling → R spelling of the functions renamed for formulae.
R_SPELLINGS = {internal: r for r, internal in FORMULAE_SPELLINGS.items()}

# brms:::rename: characters brms removes or spells out in parameter names
_RENAME = [(" ", ""), ("(", ""), (")", ""), ("[", ""), ("]", ""), (",", ""), ('"', ""), ("'", ""),
           ("?", ""), ("+", "P"), ("-", "M"), ("*", "MU"), ("/", "D"), ("^", "E"), ("=", "EQ")]


def rename(label: str) -> str:
    """brms's parameter-name cleaning of R's column names.

    Parameters
    ----------
    label : str
        A column name of R's ``model.matrix``.

    Returns
    -------
    str
        brms's name: spaces, parentheses, brackets, commas and quotes removed,
        ``+ - * / ^ =`` spelled ``P M MU D E EQ``.

    Examples
    --------
    >>> rename("I(x^2)"), rename("poly(x, 2, raw = TRUE)1"), rename("temperature^4")
    ('IxE2', 'polyx2rawEQTRUE1', 'temperatureE4')
    """
    for old, new in _RENAME:
        label = label.replace(old, new)
    return label


def labels_of(values: pd.Series) -> pd.Series:
    """Values as R's factor labels: ``1.0`` → ``"1"``, ``True`` → ``"TRUE"``."""
    if values.dtype == bool:
        return values.map({True: "TRUE", False: "FALSE"})
    if pd.api.types.is_numeric_dtype(values):
        return values.map(lambda v: r_number(float(v)))
    return values.astype(str)


def level_order(values: pd.Series) -> list[str]:
    """R's level order of the values that occur: a categorical's own order,
    numbers numerically, strings as R sorts them."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna().astype(str))
        return [str(c) for c in values.cat.categories if str(c) in present]
    if values.dtype == bool:
        return [lv for lv in ("FALSE", "TRUE") if lv in set(labels_of(values))]
    if pd.api.types.is_numeric_dtype(values):
        return [r_number(float(v)) for v in np.unique(values.to_numpy(dtype=float))]
    return sorted(set(values.astype(str)), key=r_collate_key)


def group_levels(frame: pd.DataFrame, factors: list[str]) -> tuple[list[str], np.ndarray]:
    """Levels and 0-based index of a grouping factor; ``a:b`` pastes labels with ``_``
    and keeps only the combinations that occur."""
    if len(factors) == 1:
        col = frame[factors[0]]
        levels = level_order(col)
        labels = labels_of(col)
    else:
        labels = labels_of(frame[factors[0]])
        for name in factors[1:]:
            labels = labels + "_" + labels_of(frame[name])
        levels = sorted(set(labels), key=r_collate_key)
    lookup = {lv: i for i, lv in enumerate(levels)}
    return levels, labels.map(lookup).to_numpy(dtype=np.int64)


def prepare_factors(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Give formulae categoricals in R's level order (marked ordered, so that formulae
    keeps that order instead of sorting); how each is coded is :func:`design`'s ``poly``.

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    names : list of str
        The columns the formula uses; numeric ones are left as they are.

    Returns
    -------
    pandas.DataFrame
        A copy with the factor columns recoded.

    Examples
    --------
    >>> prepare_factors(pd.DataFrame({"g": ["b", "a", "b"]}), ["g"])["g"].cat.categories.tolist()
    ['a', 'b']
    """
    frame = frame.copy()
    for name in names:
        col = frame[name]
        if is_factor(col):
            levels = level_order(col)
            frame[name] = pd.Categorical(labels_of(col), categories=levels, ordered=True)
    return frame



def _r_spelling(name: str) -> str:
    """formulae's name of a term component → R's deparsed call: ``poly__coded(x)`` → ``x``,
    ``factor(x, contr__poly)`` → ``factor(x)``, ``r__scale(x)`` → ``scale(x)``, ``x ** 2`` → ``x^2``."""
    name = re.sub(rf"\b{POLY_CODED}\((\w+)\)", r"\1", name).replace(f", {POLY}", "")
    for internal, r in R_SPELLINGS.items():
        name = re.sub(rf"\b{internal}\(", f"{r}(", name)
    return re.sub(r"\s*\*\*\s*", "^", name)


def _r_part(component: Any, label: str) -> str:
    """R's column name of one component of a term: the call or variable as R deparses it,
    then a factor's level (or contrast: ``.L``) or a matrix column's number from 1 (``poly(x, 2)1``)."""
    base = _r_spelling(component.name)
    if label == component.name:
        return base
    inner = label[len(component.name) + 1 : -1]  # formulae writes "name[inner]"
    return f"{base}{int(inner) + 1}" if component.kind == "numeric" else base + inner


def _formulae_design(expr: Expr, frame: pd.DataFrame, env: dict[str, Any],
                     poly: Collection[str]) -> tuple[Any, list[int], list[str]]:
    """formulae's common-effects design of ``expr`` on ``frame``, the order of its columns
    in R's ``model.matrix`` and their brms names (``None, [], []`` when there are none)."""
    coded = expr.coded(poly)
    text = str(coded)
    try:
        dm = design_matrices(text, frame, Environment([{**FORMULA_NAMESPACE, **env}]), coded.order)
    except Exception as err:  # formulae's own messages, re-raised as ours
        raise DataError(f"Could not build the design for '{text}': {err}") from None
    common = dm.common
    if common is None:  # "0", "-1": no population-level columns at all
        return None, [], []
    if common.design_matrix.shape[1] != sum(len(t.labels) for t in common.terms.values()):
        raise DataError(f"brmc cannot name the design columns of '{text}'; nesting with '/' between "
                        "predictors is not supported there: write 'a + a:b' instead of 'a/b'.")
    order = coded.order
    columns: list[tuple[int, int, tuple, str, int]] = []  # sort key parts, name, formulae's column
    for t_index, (name, term) in enumerate(common.terms.items()):
        if name == "Intercept":
            columns.append((0, -1, (), "Intercept", len(columns)))
            continue
        components = term.components
        # R orders a term's variables by first appearance in the formula
        rank = [order.index(v) if (v := re.sub(r"\s+", "", c.name)) in order else len(order) for c in components]
        perm = sorted(range(len(components)), key=rank.__getitem__)
        parts = [[_r_part(c, label) for label in c.labels] for c in components]
        for combo in np.ndindex(*[len(p) for p in parts]):  # formulae: last component fastest
            rname = ":".join(rename(parts[k][combo[k]]) for k in perm)
            key = tuple(combo[k] for k in perm)[::-1]  # R varies the first variable fastest
            columns.append((len(components), t_index, key, rname, len(columns)))
    columns.sort(key=lambda c: (c[0], c[1], c[2]))
    return common, [c[4] for c in columns], [c[3] for c in columns]


def design(expr: Expr, frame: pd.DataFrame, env: dict[str, Any],
           poly: Collection[str] = ()) -> tuple[np.ndarray, list[str]]:
    """Evaluate a population part (``1 + Days``) with formulae under R's rules.

    Parameters
    ----------
    expr : Expr
        The part as the parser gives it (:attr:`brmc.formula.Predictor.population`).
    frame : pandas.DataFrame
        The data, factors as :func:`prepare_factors` gives them.
    env : dict
        Extra functions and values the formula may use.
    poly : collection of str
        Factor columns coded with ``contr.poly`` instead of treatment contrasts.

    Returns
    -------
    tuple of numpy.ndarray and list of str
        The design matrix (intercept first, columns in R's order) and brms's column names.

    Examples
    --------
    >>> df = prepare_factors(pd.DataFrame({"t": pd.Categorical(["lo", "mid", "hi"] * 2, ["lo", "mid", "hi"]),
    ...                                    "x": np.arange(6.0)}), ["t"])
    >>> expr = parse_formula("y ~ x + t").population
    >>> design(expr, df, {}, poly={"t"})[1], design(expr, df, {})[1]
    (['Intercept', 'x', 't.L', 't.Q'], ['Intercept', 'x', 'tmid', 'thi'])
    """
    X, names, _ = design_terms(expr, frame, env, poly)
    return X, names


def design_terms(expr: Expr, frame: pd.DataFrame, env: dict[str, Any],
                 poly: Collection[str] = ()) -> tuple[np.ndarray, list[str], list[set[str]]]:
    """:func:`design`, and the variables of each of its terms (R's ``terms()``: ``x*g`` has the
    terms ``x``, ``g`` and ``x:g``; the intercept has none).

    Examples
    --------
    >>> df = pd.DataFrame({"x": np.arange(4.0), "g": pd.Categorical(list("abab"))})
    >>> [sorted(v) for v in design_terms(parse_formula("y ~ x * g").population, df, {})[2]]
    [[], ['x'], ['g'], ['g', 'x']]
    """
    common, columns, names = _formulae_design(expr, frame, env, poly)
    if common is None:
        return np.zeros((len(frame), 0)), [], []
    terms = [set(getattr(term, "var_names", ())) for term in common.terms.values()]
    return np.asarray(common.design_matrix, dtype=float)[:, columns], names, terms


def design_new(expr: Expr, train: pd.DataFrame, new: pd.DataFrame, env: dict[str, Any],
               poly: Collection[str] = ()) -> tuple[np.ndarray, list[str]]:
    """The design of ``expr`` for ``new`` rows, its transforms fitted to ``train``.

    As R's ``predict`` (and brms with ``newdata``) evaluates ``poly()``, ``scale()``
    and ``bs()`` with the training data's parameters, not the new rows' own.

    Parameters
    ----------
    expr, env, poly
        As for :func:`design`.
    train : pandas.DataFrame
        The training rows (factors coded as for :func:`design`).
    new : pandas.DataFrame
        The new rows, factors with the training levels (categories), which they may hold only some of.

    Returns
    -------
    tuple of numpy.ndarray and list of str
        The new rows' design and its column names, as :func:`design` gives them for ``train``.

    Examples
    --------
    >>> train = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    >>> X, names = design_new(parse_formula("y ~ scale(x)").population, train, pd.DataFrame({"x": [3.0]}), {})
    >>> X.tolist(), names
    ([[1.0, 1.0]], ['Intercept', 'scalex'])
    """
    common, columns, names = _formulae_design(expr, train, env, poly)
    if common is None:
        return np.zeros((len(new), 0)), []
    try:  # with the training rows first, so that factor(x) and C(x) see every level of x
        matrix = common.evaluate_new_data(pd.concat([train, new], ignore_index=True)).design_matrix
    except Exception as err:  # formulae's own messages, re-raised as ours
        raise DataError(f"Could not build the design for '{expr.coded(poly)}' on the new data: {err}") from None
    return np.asarray(matrix, dtype=float)[len(train) :, columns], names


def factor_names(expr: Expr, frame: pd.DataFrame) -> list[str]:
    """The data columns a formula part reads, in order of first use.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1], "w": [2], "z": [3]})
    >>> factor_names(parse_formula("y ~ x + log(z) + x:w").population, frame)
    ['x', 'z', 'w']
    """
    return [n for n in dict.fromkeys(expr.variables) if n in frame.columns]


def constant_within(Z: np.ndarray, index: np.ndarray, n_levels: int) -> np.ndarray:
    """Per column of ``Z``: is it constant within every level of the grouping factor?

    Example:
        >>> Z = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 1.0], [1.0, 5.0, 0.0], [1.0, 6.0, 0.0]])
        >>> constant_within(Z, np.array([0, 0, 1, 1]), 2).tolist()
        [True, False, True]
    """
    lo = np.full((n_levels, Z.shape[1]), np.inf)
    hi = np.full((n_levels, Z.shape[1]), -np.inf)
    np.minimum.at(lo, index, Z)
    np.maximum.at(hi, index, Z)
    return np.all(lo == hi, axis=0)


def warn_constant_within(term: GroupTerm, coefs: list[str], Z: np.ndarray, index: np.ndarray,
                          n_levels: int, dpar: str) -> None:
    """Warn about varying slopes of predictors that never vary within a level of their group.

    Such a slope is confounded with the group's intercept: brms fits it silently
    (its sd is identified only by the prior), lme4 reports a singular fit.
    """
    for coef, constant in zip(coefs, constant_within(Z, index, n_levels)):
        if coef == "Intercept" or not constant:
            continue
        warnings.warn(
            f"The group-level predictor {coef!r} in {term} is constant within every level of "
            f"{term.group!r}, so its varying slope ({sd_name(term.group, coef_label(dpar, coef))}) is identified "
            f"only by its prior: within a level it cannot be told apart from that level's intercept. brms fits "
            f"such a term without comment and lme4 reports a singular fit. Give it a population-level "
            f"term instead and drop it from {term}.",
            UserWarning, stacklevel=caller_level(),
        )
