"""Data frame + parsed formula → :class:`ModelData` (arrays, levels, brms names).

This stage drops (and counts) incomplete rows, builds the population design
with ``formulae`` under R's rules (treatment contrasts on the data's level
order, R's column order and names such as ``social2`` or
``subjectmath:gendergirl``), centres the population columns as brms does, and
maps each grouping factor to integer indices over the levels that occur.

Example:
    >>> import brmc
    >>> md = build_data(parse_formula("Reaction ~ Days + (Days | Subject)"),
    ...                 brmc.datasets.load("sleepstudy"), get_family("gaussian"))
    >>> md.b_names, md.blocks[0].coefs, md.blocks[0].levels[:2], md.nobs
    (['Days'], ['Intercept', 'Days'], ['308', '309'], 180)
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError, close_matches
from .families import Family, get_family  # noqa: F401  (get_family used in the example)
from .formula import BrmsFormula, parse_formula  # noqa: F401
from .rlang import r_collate_key, r_number
from .terms import GroupBlock, GroupTerm

#: functions available to formula expressions (NumPy's elementwise maths).
FORMULA_NAMESPACE: dict[str, Any] = {
    "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p, "exp": np.exp,
    "expm1": np.expm1, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "round": np.round, "floor": np.floor, "ceiling": np.ceil,
    "inv_logit": lambda x: 1 / (1 + np.exp(-x)), "logit": lambda p: np.log(p / (1 - p)),
}

# brms:::rename: characters brms removes or spells out in parameter names
_RENAME = [(" ", ""), ("(", ""), (")", ""), ("[", ""), ("]", ""), (",", ""), ('"', ""), ("'", ""),
           ("?", ""), ("+", "P"), ("-", "M"), ("*", "MU"), ("/", "D"), ("^", "E"), ("=", "EQ")]


@dataclass
class ModelData:
    """Everything the model stage needs, with brms names.

    ``X`` is the population design including the intercept column when the
    formula has one; ``Xc``/``means_X`` are its centred non-intercept part.
    """

    formula: BrmsFormula
    family: Family
    frame: pd.DataFrame
    y: np.ndarray
    X: np.ndarray
    b_names: list[str]
    has_intercept: bool
    blocks: list[GroupBlock]
    data_name: str
    n_dropped: int = 0
    env: dict[str, Any] = field(default_factory=dict)
    additions: dict[str, np.ndarray] = field(default_factory=dict)
    response_levels: list[str] = field(default_factory=list)

    @property
    def nobs(self) -> int:
        return len(self.y)

    @property
    def thresholds(self) -> int:
        """Number of ordinal thresholds (0 for other families)."""
        return max(len(self.response_levels) - 1, 0) if self.family.ordinal else 0

    @property
    def centred(self) -> bool:
        """brms centres the population columns when there is an intercept (or thresholds)."""
        return self.has_intercept or self.family.ordinal

    @property
    def Xc(self) -> np.ndarray:
        """Population columns without the intercept, centred as brms centres them."""
        Xb = self.X[:, 1:] if self.has_intercept else self.X
        return Xb - self.means_X

    @property
    def means_X(self) -> np.ndarray:
        Xb = self.X[:, 1:] if self.has_intercept else self.X
        return Xb.mean(axis=0) if self.centred else np.zeros(Xb.shape[1])

    @property
    def population_names(self) -> list[str]:
        """Names of the columns of ``X``."""
        return (["Intercept"] if self.has_intercept else []) + self.b_names

    @property
    def fixef_names(self) -> list[str]:
        """Population-level effects as brms reports them (``Intercept[1]`` ... for ordinal models)."""
        thresholds = [f"Intercept[{k}]" for k in range(1, self.thresholds + 1)]
        return thresholds + self.population_names

    @property
    def dpars(self) -> list:
        """The family parameters this model estimates (``se()`` without ``sigma = TRUE`` fixes sigma)."""
        fixed_sigma = "se" in self.additions and not self.additions.get("se_sigma", False)
        return [d for d in self.family.dpars if not (d.name == "sigma" and fixed_sigma)]

    def groups(self) -> list[str]:
        """Grouping factors in order of first appearance (brms's order)."""
        return list(dict.fromkeys(b.group for b in self.blocks))


def rename(label: str) -> str:
    """brms's parameter-name cleaning: ``I(x^2)`` → ``IxE2``, ``log(x)`` → ``logx``."""
    for old, new in _RENAME:
        label = label.replace(old, new)
    return label


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, dict):
        try:
            frame = pd.DataFrame(data)
        except ValueError as err:
            raise DataError(f"Could not make a data frame from the dict given as data: {err}") from None
    else:
        raise DataError(f"data must be a pandas DataFrame (or a dict of columns), not {type(data).__name__}.")
    if frame.shape[0] == 0:
        raise DataError("The data frame is empty (0 rows).")
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise DataError(f"The data have more than one column named {dup!r}.")
    return frame


def _check_columns(formula: BrmsFormula, frame: pd.DataFrame, env: dict[str, Any]) -> None:
    roles = [("response", formula.response)] + [
        (f"{name}() term", a) for name, args in formula.additions.items() for a in args
    ]
    roles += [("predictor", formula.population), ("offset()", formula.offset)]
    roles += [(f"group-level term {g}", g.expr) for g in formula.group_terms]
    from .formula import _names_in

    for role, text in roles:
        for name in _names_in(text):
            if name not in frame.columns and name not in env and name not in {"TRUE", "FALSE"}:
                raise DataError(
                    f"The {role} uses a column {name!r} that is not in the data.{close_matches(name, frame.columns)}"
                )
    for g in formula.group_terms:
        for name in g.factors:
            if name not in frame.columns:
                raise DataError(
                    f"The grouping factor {name!r} of {g} is not a column of the data."
                    f"{close_matches(name, frame.columns)}"
                )


def _drop_incomplete(formula: BrmsFormula, frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    used = [v for v in formula.variables() if v in frame.columns]
    empty = [v for v in used if frame[v].isna().all()]
    if empty:
        raise DataError(f"No rows are left: column {empty[0]!r} has only missing values.")
    incomplete = frame[used].isna().any(axis=1).to_numpy()
    n = int(incomplete.sum())
    if n == len(frame):
        raise DataError(
            f"No rows are left after dropping rows with missing values in {', '.join(used)}."
        )
    if n:
        warnings.warn(f"Rows containing NAs were excluded from the model: {n} of {len(frame)} rows dropped.",
                      UserWarning, stacklevel=4)
        frame = frame.loc[~incomplete]
    return frame.reset_index(drop=True), n


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


def _prepare_factors(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Give formulae ordered categoricals in R's level order so it keeps that order
    (formulae sorts unordered categories itself)."""
    frame = frame.copy()
    for name in names:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype) and col.cat.ordered:
            raise DataError(
                f"Column {name!r} is an ordered factor; brms would code it with polynomial "
                f"contrasts ({name}.L, {name}.Q, ...), which brmc does not support yet. Use "
                f"df[{name!r}] = df[{name!r}].cat.as_unordered() for treatment contrasts."
            )
        if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == bool or not pd.api.types.is_numeric_dtype(col):
            levels = level_order(col)
            frame[name] = pd.Categorical(labels_of(col), categories=levels, ordered=True)
    return frame


def _r_label(label: str, order: list[str]) -> tuple[str, tuple[int, ...]]:
    """formulae's ``craven:subject[math]`` → R's ``subjectmath:craven`` and a sort key."""
    parts = _split_colon(label)
    def var_of(part: str) -> str:
        return part.split("[", 1)[0] if part.endswith("]") else part
    def position(part: str) -> int:
        v = re.sub(r"\s+", "", var_of(part))
        return order.index(v) if v in order else len(order)
    parts.sort(key=position)
    clean = [re.sub(r"\[(.*)\]$", r"\1", p) for p in parts]
    clean = [re.sub(r"\s*\*\*\s*", "^", c) for c in clean]
    return ":".join(rename(c) for c in clean), tuple(position(p) for p in parts)


def _split_colon(label: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in label:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def _variable_order(text: str) -> list[str]:
    """Variables of a formula part in order of first appearance, as R's terms()."""
    from .formula import _split_top, tokenize

    order: list[str] = []
    for part in _split_top(tokenize(text), "+"):
        for sub in _split_top(part, "*"):
            for piece in _split_top(sub, ":"):
                v = "".join(t.text for t in piece).replace("^", "**")
                if v and not re.fullmatch(r"-?\d+", v):
                    order.append(re.sub(r"\s+", "", v))
    return list(dict.fromkeys(order))


def design(text: str, frame: pd.DataFrame, env: dict[str, Any]) -> tuple[np.ndarray, list[str]]:
    """Evaluate a population part (``"1 + Days"``) with formulae under R's rules.

    Returns the design matrix (intercept first) and brms column names.
    """
    import formulae as fm
    from formulae.environment import Environment

    namespace = {**FORMULA_NAMESPACE, **env}
    try:
        dm = fm.design_matrices(text, frame, na_action="error", env=Environment([namespace]))
    except Exception as err:  # formulae's own messages, re-raised as ours
        raise DataError(f"Could not build the design for '{text}': {err}") from None
    common = dm.common
    if common is None:  # "0", "-1": no population-level columns at all
        return np.zeros((len(frame), 0)), []
    order = _variable_order(text)
    columns: list[tuple[int, int, tuple, str, np.ndarray]] = []
    matrix = np.asarray(common.design_matrix, dtype=float)
    if matrix.shape[1] != sum(len(t.labels) for t in common.terms.values()):
        raise DataError(f"brmc cannot name the design columns of '{text}'; nesting with '/' between "
                        "predictors is not supported there: write 'a + a:b' instead of 'a/b'.")
    pos = 0
    for t_index, (name, term) in enumerate(common.terms.items()):
        width = len(term.labels)
        block = matrix[:, pos : pos + width]
        pos += width
        if name == "Intercept":
            columns.append((0, -1, (), "Intercept", block[:, 0]))
            continue
        degree = len(_split_colon(term.labels[0]))
        seen: dict[int, dict[str, int]] = {}
        for j, label in enumerate(term.labels):
            rname, _ = _r_label(label, order)
            parts = sorted(_split_colon(label), key=lambda p: _r_label(p, order)[1])
            # R varies the first factor fastest: sort by later factors' level first
            key = tuple(
                seen.setdefault(k, {}).setdefault(p, len(seen[k])) for k, p in enumerate(parts)
            )[::-1]
            columns.append((degree, t_index, key, rname, block[:, j]))
    columns.sort(key=lambda c: (c[0], c[1], c[2]))
    names = [c[3] for c in columns]
    X = np.column_stack([c[4] for c in columns]) if columns else np.zeros((len(frame), 0))
    return X, names


def _factor_names(text: str, frame: pd.DataFrame) -> list[str]:
    from .formula import _names_in

    return [n for n in dict.fromkeys(_names_in(text)) if n in frame.columns]


def build_data(
    formula: BrmsFormula,
    data: Any,
    family: Family,
    data_name: str | None = None,
    env: dict[str, Any] | None = None,
) -> ModelData:
    """Turn a parsed formula and a data frame into :class:`ModelData`."""
    env = dict(env or {})
    frame = _as_frame(data)
    name = data_name or frame.attrs.get("data_name") or "data"
    _check_columns(formula, frame, env)
    frame, n_dropped = _drop_incomplete(formula, frame)
    additions = _additions(formula, frame, family)
    if formula.offset:
        additions["offset"] = offset_values(formula, frame, env)
    y = _response(formula, frame, family, env, additions)
    levels: list[str] = []
    if family.ordinal:
        y, levels = _ordinal_codes(frame[formula.response] if formula.response in frame.columns else pd.Series(y))
    predictors = _factor_names(formula.population, frame)
    for g in formula.group_terms:
        predictors += _factor_names(g.expr, frame)
    prepared = _prepare_factors(frame, list(dict.fromkeys(predictors)))
    X, names = design(formula.population, prepared, env)
    has_intercept = bool(names) and names[0] == "Intercept"
    _check_constant(X, names, has_intercept)
    if family.ordinal and has_intercept:  # thresholds take the intercept's place
        X, names, has_intercept = X[:, 1:], names[1:], False
    blocks = [_block(i + 1, g, frame, prepared, env) for i, g in enumerate(formula.group_terms)]
    return ModelData(
        formula=formula,
        family=family,
        frame=frame,
        y=y,
        X=X,
        b_names=names[1:] if has_intercept else names,
        has_intercept=has_intercept,
        blocks=blocks,
        data_name=name,
        n_dropped=n_dropped,
        env=env,
        additions=additions,
        response_levels=levels,
    )


def _ordinal_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """An ordinal response as 0-based category codes plus its category labels.

    Factors keep their level order; numbers must be whole numbers 1..K (brms's coding).
    """
    from .errors import FamilyError

    if isinstance(values.dtype, pd.CategoricalDtype):
        values = values.cat.remove_unused_categories()
        levels = [str(c) for c in values.cat.categories]
        codes = values.cat.codes.to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(values):
        y = values.to_numpy(dtype=float)
        if (y < 1).any() or (y != np.round(y)).any():
            raise FamilyError("Family 'cumulative' needs an ordered factor or whole numbers 1, 2, ..., K as "
                              f"response; found values such as {y[(y < 1) | (y != np.round(y))][0]:g}.")
        levels = [str(k) for k in range(1, int(y.max()) + 1)]
        codes = y - 1
    else:
        raise FamilyError("Family 'cumulative' needs an ordered factor or whole numbers 1..K as response; "
                          "convert text to an ordered pandas Categorical to set the order of the categories.")
    if len(levels) < 3:
        raise FamilyError(f"Family 'cumulative' needs at least 3 response categories; found {len(levels)} "
                          f"({', '.join(levels)}). Use 'bernoulli' for two.")
    return codes, levels


def _response(formula: BrmsFormula, frame: pd.DataFrame, family: Family, env: dict[str, Any],
              additions: dict[str, np.ndarray]) -> np.ndarray:
    resp = formula.response
    if resp in frame.columns:
        values = frame[resp]
        if values.dtype == bool:
            values = values.to_numpy(dtype=float)
        elif isinstance(values.dtype, pd.CategoricalDtype):
            values = pd.Categorical(values).remove_unused_categories()
            values = np.asarray(values.astype(object)) if family.kind != "binary" else _two_levels(values)
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            values = values.to_numpy(dtype=object)
        else:
            values = values.to_numpy()
        return family.response(values, additions)
    X, _ = design(f"0 + {resp}", frame, env)
    return family.response(X[:, 0], additions)


def offset_values(formula: BrmsFormula, frame: pd.DataFrame, env: dict[str, Any]) -> np.ndarray:
    """The values of ``offset(expr)`` for each row (added to the linear predictor)."""
    X, _ = design(f"0 + {formula.offset}", frame, env)
    if X.shape[1] != 1:
        raise DataError(f"offset({formula.offset}) must be one numeric value per row.")
    return X[:, 0]


def _two_levels(values: pd.Categorical) -> np.ndarray:
    """A factor response for bernoulli: its first level is 0, the second 1 (as brms)."""
    levels = list(values.categories)
    if len(levels) != 2:
        from .errors import FamilyError

        raise FamilyError(f"Family 'bernoulli' needs a response with two levels; the factor has {len(levels)}: "
                          f"{', '.join(map(str, levels[:5]))}.")
    return (np.asarray(values.astype(object)) == levels[1]).astype(float)


_CENS_CODES = {"left": -1, "none": 0, "right": 1, "interval": 2, -1: -1, 0: 0, 1: 1, 2: 2}


def _addition_values(frame: pd.DataFrame, term: str, arg: str) -> np.ndarray:
    """An addition term's argument: a column or a number (``trials(10)``)."""
    if arg in frame.columns:
        return frame[arg].to_numpy()
    try:
        return np.full(len(frame), float(arg))
    except ValueError:
        raise DataError(f"The argument {arg!r} of {term}() is neither a column of the data nor a number."
                        f"{close_matches(arg, frame.columns)}") from None


def _additions(formula: BrmsFormula, frame: pd.DataFrame, family: Family) -> dict[str, np.ndarray]:
    """Response addition terms (``trials``, ``weights``, ``cens``, ``se``) as arrays."""
    out: dict[str, Any] = {}
    allowed = {"trials": {"binomial"}, "weights": None, "se": {"gaussian", "student"},
               "cens": {"gaussian", "student", "lognormal", "gamma", "weibull", "exponential", "poisson",
                        "negbinomial", "geometric"}}
    for term, args in formula.additions.items():
        if term not in allowed:
            raise DataError(f"The addition term {term}() is not supported yet.")
        families = allowed[term]
        if families is not None and family.name not in families:
            raise DataError(f"The addition term {term}() cannot be used with family '{family.name}'; "
                            f"it works with {', '.join(sorted(families))}.")
        positional = [a for a in args if "=" not in a]
        if not positional:
            raise DataError(f"{term}() needs an argument, e.g. {term}(n).")
        values = _addition_values(frame, term, positional[0])
        if term == "trials":
            trials = np.asarray(values, dtype=float)
            if (trials < 0).any() or (trials != np.round(trials)).any():
                raise DataError("trials() must be non-negative whole numbers.")
            out["trials"] = trials
        elif term == "weights":
            out["weights"] = _non_negative(values, "weights")
        elif term == "se":
            out["se"] = _non_negative(values, "se")
            flags = [a.replace(" ", "") for a in args if "=" in a]
            out["se_sigma"] = "sigma=TRUE" in flags or "sigma=True" in flags
        else:
            codes = pd.Series(values).map(lambda v: _CENS_CODES.get(v.strip() if isinstance(v, str) else v))
            if codes.isna().any():
                bad = pd.Series(values)[codes.isna()].iloc[0]
                raise DataError(f"cens() values must be 'left', 'none', 'right', 'interval' or -1, 0, 1, 2; got {bad!r}.")
            out["cens"] = codes.to_numpy(dtype=np.int64)
            if (out["cens"] == 2).any():
                if len(positional) < 2:
                    raise DataError("Interval censoring needs the upper bounds: cens(censored, y2).")
                out["y2"] = np.asarray(_addition_values(frame, term, positional[1]), dtype=float)
    if family.name == "binomial" and "trials" not in out:
        raise DataError("Family 'binomial' needs the number of trials: write the response as "
                        "'successes | trials(n)' (n a column or a number).")
    return out


def _non_negative(values: np.ndarray, term: str) -> np.ndarray:
    out = np.asarray(values, dtype=float)
    if (out < 0).any():
        raise DataError(f"{term}() must not be negative.")
    return out


def _check_constant(X: np.ndarray, names: list[str], has_intercept: bool) -> None:
    if not has_intercept:
        return
    for j, name in enumerate(names[1:], start=1):
        if np.ptp(X[:, j]) == 0:
            raise DataError(
                f"The population-level predictor {name!r} is constant in the data used "
                "(after dropping incomplete rows), so its effect cannot be separated from the intercept."
            )


def _block(id: int, term: GroupTerm, frame: pd.DataFrame, prepared: pd.DataFrame, env: dict[str, Any]) -> GroupBlock:
    levels, index = group_levels(frame, term.factors)
    if len(levels) < 2:
        raise DataError(
            f"The grouping factor {term.group!r} of {term} has only one level ({levels[0]!r}) "
            "in the data used; group-level effects need at least two levels."
        )
    Z, coefs = design(term.expr, prepared, env)
    _warn_constant_within(term, coefs, Z, index, len(levels))
    return GroupBlock(id=id, term=term, coefs=coefs, levels=levels, index=index, Z=Z)


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


def _warn_constant_within(term: GroupTerm, coefs: list[str], Z: np.ndarray, index: np.ndarray,
                          n_levels: int) -> None:
    """Warn about varying slopes of predictors that never vary within a level of their group.

    Such a slope is confounded with the group's intercept: brms fits it silently
    (its sd is identified only by the prior), lme4 reports a singular fit.
    """
    for coef, constant in zip(coefs, constant_within(Z, index, n_levels)):
        if coef == "Intercept" or not constant:
            continue
        warnings.warn(
            f"The group-level predictor {coef!r} in {term} is constant within every level of "
            f"{term.group!r}, so its varying slope (sd_{term.group}__{coef}) is identified only by its "
            f"prior: within a level it cannot be told apart from that level's intercept. brms fits "
            f"such a term without comment and lme4 reports a singular fit. Give it a population-level "
            f"term instead and drop it from {term}.",
            UserWarning, stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    """``stacklevel`` that makes a warning point at the first frame outside brmc."""
    import os
    import sys

    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level
