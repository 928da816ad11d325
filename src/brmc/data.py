"""Data frame + parsed formula → :class:`ModelData` (arrays, levels, brms names).

This stage drops (and counts) incomplete rows and builds each predictor's parts by kind of
term (:mod:`brmc.terms`; the population design under R's rules in :mod:`brmc.design`).

Example:
    >>> import brmc
    >>> md = build_data(parse_formula("Reaction ~ Days + (Days | Subject)"),
    ...                 brmc.datasets.load("sleepstudy"), get_family("gaussian"))
    >>> md.predictors["mu"].b_names, md.blocks[0].coefs, md.blocks[0].levels[:2], md.nobs
    (['Days'], ['Intercept', 'Days'], ['308', '309'], 180)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .categories import category_dpars, cbind_columns, matrix_response, with_categories
from .censoring import CDF_FAMILIES, check_truncation, truncation_arguments
from .errors import DataError, FamilyError, FormulaError, close_matches
from .families import DistPar, Family, get_family, inverse_link  # noqa: F401  (get_family used in the example)
from .contrasts import factor_codings
from .missingdata import check_missing, drop_incomplete
from . import terms
from .design import R_LOGICALS, design, factor_names, group_levels, labels_of, level_order, prepare_factors  # noqa: F401
from .formula import BrmsFormula, GroupTerm, PopulationTerm, Predictor, parse_formula  # noqa: F401
from .naming import coef_label, prefix, suffix
from .nlterm import check_covariates, dpar_formulas, nested
from .nonlinear import evaluate, parse_expression
from .terms import GroupBlock
from .terms.base import DataContext
from .terms.fe import Population


@dataclass
class LinearPredictor:
    """The linear predictor of one distributional parameter (``mu``, ``sigma``, ``mu2``...).

    ``parts`` holds its data by kind of term (:mod:`brmc.terms`): ``"fe"`` its population design
    (:class:`~brmc.terms.fe.Population`), ``"re"`` its group-level blocks, ``"offset"`` the values of
    ``offset()`` (``None``: none); ``link`` the link of its parameter.  ``X`` is its population design
    including the intercept column when it has one; ``Xc``/``means_X`` are its centred non-intercept
    part (brms centres each predictor's design separately).

    Example:
        >>> from brmc.datasets import load
        >>> from brmc.formula import bf
        >>> md = build_data(bf("Reaction ~ Days", sigma="~ Days"), load("sleepstudy"), get_family("gaussian"))
        >>> lp = md.predictors["sigma"]
        >>> lp.link, lp.suffix, lp.label("Days"), lp.means_X
        ('log', '_sigma', 'sigma_Days', array([4.5]))
    """

    dpar: str
    formula: Predictor
    link: str
    parts: dict[str, Any] = field(default_factory=dict)
    resp: str = ""  # the response of a multivariate model it belongs to
    nlpar: bool = False  # a non-linear parameter (its name in ``dpar``), named after the response

    @property
    def population(self) -> Population:
        return self.parts["fe"]

    def __getattr__(self, name: str) -> Any:
        """``X``, ``b_names``, ``has_intercept``, ``Xc``, ``means_X``, ``population_names``: its
        population part's (:class:`~brmc.terms.fe.Population`)."""
        if name in _POPULATION:
            return getattr(self.population, name)
        raise AttributeError(name)

    @property
    def blocks(self) -> list[GroupBlock]:
        """Its group-level blocks."""
        return self.parts.get("re") or []

    @property
    def offset(self) -> np.ndarray | None:
        return self.parts.get("offset")

    @property
    def pname(self) -> str:
        """Its dpar and response as brms combines them in names (:func:`brmc.naming.prefix`)."""
        return prefix("mu", self.resp, self.dpar) if self.nlpar else prefix(self.dpar, self.resp)

    @property
    def suffix(self) -> str:
        """The suffix of its model variables: ``Intercept_sigma``, ``b_sigma``, ``Xc_sigma``, ``b_english``."""
        return suffix(self.pname)

    def label(self, coef: str) -> str:
        """brms's name of a coefficient of this predictor: ``Days``, ``sigma_Days`` or ``english_craven``."""
        return coef_label(self.pname, coef)


#: what a :class:`LinearPredictor` answers from its population part
_POPULATION = frozenset({"X", "b_names", "has_intercept", "Xc", "means_X", "population_names"})


@dataclass
class ModelData:
    """Everything the model stage needs, with brms names.

    ``predictors``: one :class:`LinearPredictor` per predicted parameter in brms's order (``mu``, or
    ``mu2``, ``mu3``, ... for ``categorical``; then ``bf()``'s); ``response_levels``: an ordinal or categorical
    response's categories; ``contrasts``: each factor's coding (``"treatment"``, ``"poly"``); ``missing``:
    what missing values did (:mod:`brmc.missingdata`).
    """

    formula: BrmsFormula
    family: Family
    frame: pd.DataFrame
    y: np.ndarray
    predictors: dict[str, LinearPredictor]
    data_name: str
    n_dropped: int = 0
    env: dict[str, Any] = field(default_factory=dict)
    additions: dict[str, np.ndarray] = field(default_factory=dict)
    response_levels: list[str] = field(default_factory=list)
    contrasts: dict[str, str] = field(default_factory=dict)
    missing: str = "impute"

    @property
    def poly(self) -> frozenset[str]:
        """The factor columns coded with ``contr.poly``."""
        return frozenset(name for name, coding in self.contrasts.items() if coding == "poly")

    nobs = property(lambda self: len(self.y), doc="The number of observations.")

    @property
    def thresholds(self) -> int:
        """Number of ordinal thresholds (0 for other families)."""
        return max(len(self.response_levels) - 1, 0) if self.family.ordinal else 0

    @property
    def linear_predictors(self) -> list[LinearPredictor]:
        """The predictors of the dpars, each followed by those of its non-linear parameters."""
        return [q for lp in self.predictors.values() for q in [lp, *nested(lp)]]

    @property
    def blocks(self) -> list[GroupBlock]:
        """Every group-level block, in brms's order of IDs."""
        return [b for lp in self.linear_predictors for b in lp.blocks]

    @property
    def mu_dpars(self) -> list[str]:
        """The predictors of the response's location: ``["mu"]``, or ``mu2``, ``mu3``, ... for categorical,
        ``mu1``, ``mu2``, ... for a mixture."""
        mixed = [f"mu{k}" for k in range(1, len(self.family.components) + 1)]
        return [d for d in self.predictors if d == "mu" or self.family.cats_dpars or d in mixed]

    @property
    def ref_index(self) -> int:
        """Position of the reference category among ``response_levels`` (categorical)."""
        refcat = self.family.refcat
        return self.response_levels.index(refcat) if refcat is not None else 0

    @property
    def fixef_names(self) -> list[str]:
        """Population-level effects in brms's order: thresholds (``Intercept[1]``, ...), each
        predictor's intercept (``Intercept``, ``sigma_Intercept``), then the other coefficients."""
        thresholds = [f"Intercept[{k}]" for k in range(1, self.thresholds + 1)]
        lps = self.linear_predictors
        return (thresholds + [lp.label("Intercept") for lp in lps if lp.has_intercept]
                + [lp.label(n) for lp in lps for n in lp.b_names])

    @property
    def dpars(self) -> list[DistPar]:
        """The family parameters estimated as one number each: not predicted, and not fixed
        (``se()`` without ``sigma = TRUE`` fixes sigma)."""
        fixed_sigma = "se" in self.additions and not self.additions.get("se_sigma", False)
        return [d for d in self.family.dpars
                if d.name not in self.predictors and not (d.name == "sigma" and fixed_sigma)]

    def groups(self) -> list[str]:
        """Grouping factors in order of first appearance (brms's order)."""
        return list(dict.fromkeys(b.group for b in self.blocks))

    def links_text(self) -> str:
        """brms's ``Links:`` line: each distributional parameter with its link
        (``identity`` for those not predicted).

        Example:
            >>> from brmc.datasets import load
            >>> from brmc.formula import bf
            >>> build_data(bf("Reaction ~ Days", sigma="~ Days"), load("sleepstudy"),
            ...            get_family("student")).links_text()
            'mu = identity; sigma = log; nu = identity'
        """
        links = {d: self.family.link for d in self.mu_dpars}
        names = [n for d in self.family.dpars if not (d.basis or d.corr) for n in d.names]
        names += list(self.family.extra_links)
        if self.family.mixture:  # brms's order: each component's mu and dpars, then the proportions
            links = {}
            names = [n for k, c in enumerate(self.family.components, 1)
                     for n in [f"mu{k}"] + [f"{d.name}{k}" for d in c.dpars]] + self.family.dpars[-1].names
        for name in names:
            links[name] = self.predictors[name].link if name in self.predictors else "identity"
        return "; ".join(f"{name} = {link}" for name, link in links.items())

    def eta_mu(self, etas: dict[str, Any]):
        """The linear predictor the likelihood takes from the ``mu`` predictors' ``etas``:
        ``mu``'s, or for categorical all categories on a last axis with the reference
        category's fixed at 0, for a mixture the components' on a last axis (NumPy arrays or tensors)."""
        if not self.family.cats_dpars and not self.family.mixture:
            return etas["mu"]
        parts = [etas[d] for d in self.mu_dpars]
        if isinstance(parts[0], np.ndarray):
            stacked = np.stack(parts, axis=-1)
            return stacked if self.family.mixture else np.insert(stacked, self.ref_index, 0.0, axis=-1)
        import pytensor.tensor as pt

        if not self.family.mixture:
            parts.insert(self.ref_index, pt.zeros_like(parts[0]))
        return pt.stack(parts, axis=-1)

    def dpar_values(self, etas: dict[str, Any], scalars: dict[str, Any]) -> dict[str, Any]:
        """The family parameters the likelihood takes: ``scalars`` (one value per draw)
        plus each predicted parameter, its linear predictor through its link."""
        predicted = {d: inverse_link(lp.link, etas[d]) for d, lp in self.predictors.items() if d not in self.mu_dpars}
        return {**scalars, **predicted}


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
    check_covariates(formula, frame.columns)
    roles = [("response", formula.response.variables)] + [
        (f"{name}() term", a.variables) for name, args in formula.additions.items() for a in args
    ]
    for dpar, form in [("", formula), *formula.pforms.items()]:
        of = f" of {dpar}" if dpar else ""
        roles += [(f"{t.role}{of}", t.variables) for t in sorted(form.terms, key=lambda t: bool(t.factors))]
    for role, names in roles:
        for name in names:
            if name not in frame.columns and name not in env and name not in R_LOGICALS:
                raise DataError(
                    f"The {role} uses a column {name!r} that is not in the data.{close_matches(name, frame.columns)}"
                )
    for g in [t for form in [formula, *formula.pforms.values()] for t in form.terms]:
        for name in g.factors:
            if name not in frame.columns:
                raise DataError(
                    f"The grouping factor {name!r} of {g} is not a column of the data."
                    f"{close_matches(name, frame.columns)}"
                )


def build_data(
    formula: BrmsFormula,
    data: Any,
    family: Family,
    data_name: str | None = None,
    env: dict[str, Any] | None = None,
    contrasts: dict[str, str] | None = None,
    missing: str = "impute",
) -> ModelData:
    """Turn a parsed formula and a data frame into :class:`ModelData`.

    ``contrasts`` overrides the coding of factor columns (``{"temperature": "treatment"}``);
    see :func:`brmc.contrasts.factor_codings`.  ``missing`` is what missing values do
    (:mod:`brmc.missingdata`: brms's ``"impute"``, ``"drop"`` or ``"raise"``).
    """
    env = dict(env or {})
    frame = _as_frame(data)
    name = data_name or frame.attrs.get("data_name") or "data"
    _check_columns(formula, frame, env)
    variables = formula.variables()
    complete = terms.mi.complete_variables(formula, variables)
    frame, n_dropped = drop_incomplete(complete, frame, check_missing(missing),
                                       [v for v in variables if v not in complete])
    frame = terms.ac.order_frame(formula, frame)  # brms's order of the rows of a time-series term
    additions = _additions(formula, frame, family)
    levels: list[str] = []
    if family.multicol or cbind_columns(formula.response.tokens) is not None:
        y, levels = matrix_response(formula.response, frame, family, additions)
        family = with_categories(family, levels)
    elif family.polytomous:
        y, levels = _category_codes(_response_series(formula, frame, family, env, additions), family)
    else:
        y = terms.mi.with_missing(formula, frame, lambda rows: _response(formula, rows, family, env, additions))
        check_truncation(y, additions)
        if family.response_additions is not None:
            additions |= family.response_additions(y, additions)
    forms = _predictor_formulas(formula, family, levels, additions)
    exprs = [t.expr for form in [*forms.values(), *formula.pforms.values()] for t in form.terms
             if isinstance(t, (PopulationTerm, GroupTerm))]  # the non-linear parameters' formulas too
    used = list(dict.fromkeys(n for e in exprs for n in factor_names(e, frame)))
    codings = factor_codings(frame, used, contrasts)
    poly = frozenset(name for name, coding in codings.items() if coding == "poly")
    prepared = prepare_factors(frame, used)
    predictors: dict[str, LinearPredictor] = {}
    ctx = DataContext(dpar="", family=family, frame=frame, prepared=prepared, env=env, poly=poly, formula=formula,
                      thresholds=max(len(levels) - 1, 0) if family.ordinal else 0)
    ctx.predictor = lambda dpar, form: _linear_predictor(dpar, form, family, ctx)  # a nlpar's
    for dpar, form in forms.items():
        ctx.dpar = dpar
        predictors[dpar] = _linear_predictor(dpar, form, family, ctx)
    return ModelData(
        formula=formula,
        family=family,
        frame=frame,
        y=y,
        predictors=predictors,
        data_name=name,
        n_dropped=n_dropped,
        env=env,
        additions=additions,
        response_levels=levels,
        contrasts=codings,
        missing=missing,
    )


def _predictor_formulas(formula: BrmsFormula, family: Family, levels: list[str],
                        additions: dict[str, Any]) -> dict[str, Predictor]:
    """The formula of each predicted distributional parameter, in brms's order: the ``mu``
    parameters (the main formula unless ``bf()`` gave their own), then the others as given."""
    mu = (category_dpars(levels, family) if family.cats_dpars
          else [f"mu{k}" for k in range(1, len(family.components) + 1)] if family.mixture else ["mu"])
    valid = mu + [d.name for d in family.dpars if not (d.size or d.corr)]
    pforms = dpar_formulas(formula, family)  # without a non-linear formula's parameters
    for dpar in pforms:
        if dpar in family.extra_links or family.mixture and re.fullmatch(r"theta\d+", dpar):
            raise FamilyError(f"Predicting '{dpar}' of family '{family.name}' is not supported yet.")
        if dpar not in valid:
            raise FamilyError(
                f"Family '{family.name}' has no distributional parameter {dpar!r} to predict "
                f"(in bf()).{close_matches(dpar, valid)} Its parameters are: {', '.join(valid)}."
            )
    if "sigma" in pforms and "se" in additions and not additions["se_sigma"]:
        raise FamilyError("Cannot predict 'sigma' when se() fixes it; write se(s, sigma = TRUE) to estimate "
                          "a residual sd besides the known standard errors.")
    forms: dict[str, Predictor] = {d: pforms.get(d, formula) for d in mu}
    return forms | {d: form for d, form in pforms.items() if d not in mu}


def _linear_predictor(dpar: str, form: Predictor, family: Family, ctx: DataContext) -> LinearPredictor:
    """One predictor's data, a part per registered kind of term (:mod:`brmc.terms`)."""
    parts = {kind.name: kind.data(form.of_kind(kind.name), ctx) for kind in terms.kinds()}
    # a categorical model's link joins all categories in the likelihood; each category's own is the identity
    link = ("identity" if family.cats_dpars or ctx.nlpar else family.mu_link(dpar) if dpar == "mu" or family.mixture
            and re.fullmatch(r"mu\d+", dpar) else family.dpar(dpar).link)
    return LinearPredictor(dpar=dpar, formula=form, link=link, parts=parts, nlpar=ctx.nlpar)


def _response_series(formula: BrmsFormula, frame: pd.DataFrame, family: Family, env: dict[str, Any],
                     additions: dict[str, np.ndarray]) -> pd.Series:
    """The response of an ordinal or categorical model as a column (``factor(y)`` reads ``y``)."""
    resp = formula.response
    column = re.fullmatch(r"(?:factor|as__factor)\((\w+)\)", resp)
    if column and column.group(1) in frame.columns:
        return frame[column.group(1)].astype("category")
    if resp in frame.columns:
        return frame[resp]
    return pd.Series(_response(formula, frame, family, env, additions))


def _category_codes(values: pd.Series, family: Family) -> tuple[np.ndarray, list[str]]:
    """A polytomous response as 0-based category codes plus its category labels."""
    if family.ordinal:
        return _ordinal_codes(values)
    numeric = pd.api.types.is_numeric_dtype(values) and values.dtype != bool
    if numeric and (values != np.round(values)).any():
        bad = values[values != np.round(values)].iloc[0]
        raise FamilyError(f"Family 'categorical' needs a factor, text or whole-number category codes as "
                          f"response; found values such as {bad:g}, which look continuous.")
    levels = level_order(values)
    if len(levels) < 2:
        raise FamilyError(f"Family 'categorical' needs at least 2 response categories; found "
                          f"{len(levels)} ({', '.join(map(repr, levels))}).")
    if family.refcat is not None and family.refcat not in levels:
        raise FamilyError(f"The reference category refcat={family.refcat!r} is not a category of the response; "
                          f"its categories are {', '.join(map(repr, levels))}.")
    lookup = {lv: i for i, lv in enumerate(levels)}
    return labels_of(values).map(lookup).to_numpy(dtype=float), levels


def _ordinal_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """An ordinal response as 0-based category codes plus its category labels.

    Factors keep their level order; numbers must be whole numbers 1..K (brms's coding).
    """
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
    X, _ = design(resp.without_intercept(), frame, env)
    if X.shape[1] != 1:
        raise DataError(f"The response {resp!r} must give one value per row: a column of the data or an "
                        "expression of columns such as log(y).")
    return family.response(X[:, 0], additions)


def _two_levels(values: pd.Categorical) -> np.ndarray:
    """A factor response for bernoulli: its first level is 0, the second 1 (as brms)."""
    levels = list(values.categories)
    if len(levels) != 2:
        raise FamilyError(f"Family 'bernoulli' needs a response with two levels; the factor has {len(levels)}: "
                          f"{', '.join(map(str, levels[:5]))}.")
    return (np.asarray(values.astype(object)) == levels[1]).astype(float)


#: families whose response is successes out of ``trials()``
_TRIALS_FAMILIES = ("binomial", "beta_binomial", "zero_inflated_binomial", "zero_inflated_beta_binomial")
_CENS_CODES = {"left": -1, "none": 0, "right": 1, "interval": 2, -1: -1, 0: 0, 1: 1, 2: 2}


def addition_values(frame: pd.DataFrame, term: str, arg: str) -> np.ndarray:
    """An addition term's argument on the rows of ``frame``: a column, a number (``trials(10)``) or
    arithmetic of numeric columns (``trials(ncases + ncontrols)``; brms evaluates it in the data,
    brmc in the whitelisted expression language of :mod:`brmc.nonlinear`, never Python's ``eval``).

    Parameters
    ----------
    frame : pandas.DataFrame
        The data.
    term : str
        The addition term (``trials``, ``weights``, ...), for messages.
    arg : str
        The argument's text.

    Returns
    -------
    numpy.ndarray
        One value per row.

    Examples
    --------
    >>> addition_values(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), "trials", "a + b")
    array([4., 6.])
    """
    if arg in frame.columns:
        return frame[arg].to_numpy()
    try:
        return np.full(len(frame), float(arg))
    except ValueError:
        pass
    try:
        names = (expression := parse_expression(arg)).covariates(set())
    except FormulaError:
        names = None
    if names and all(n in frame.columns for n in names):
        if text := [n for n in names if not pd.api.types.is_numeric_dtype(frame[n])]:
            raise DataError(f"The argument {arg!r} of {term}() does arithmetic on text column(s) {text}.")
        values = evaluate(expression.tree, {n: frame[n].to_numpy(dtype=float) for n in names})
        return np.broadcast_to(np.asarray(values, dtype=float), (len(frame),)).copy()
    unknown = [n for n in names or [] if n not in frame.columns]
    raise DataError(f"The argument {arg!r} of {term}() is neither a column of the data, a number nor "
                    f"arithmetic of columns{f' ({unknown[0]!r} is not a column)' if unknown else ''}."
                    f"{close_matches(unknown[0] if unknown else arg, frame.columns)}")


def _additions(formula: BrmsFormula, frame: pd.DataFrame, family: Family) -> dict[str, np.ndarray]:
    """Response addition terms (``trials``, ``weights``, ``cens``, ``se``) as arrays."""
    out: dict[str, Any] = {}
    allowed = {"trials": {*_TRIALS_FAMILIES, "multinomial"}, "weights": None, "se": {"gaussian", "student"},
               "cens": CDF_FAMILIES | {"cox"}, "trunc": CDF_FAMILIES, "dec": {"wiener"}}
    names = {c.name for c in family.components} or {family.name}  # a mixture's: each component's
    for term, args in ((t, a) for t, a in formula.additions.items() if t not in ("mi", "index")):  # brmc.mvindex
        if term not in allowed:
            raise DataError(f"The addition term {term}() is not supported yet.")
        families = allowed[term]
        if families is not None and not names <= families:
            raise DataError(f"The addition term {term}() cannot be used with family '{family.name}'; "
                            f"it works with {', '.join(sorted(families))}.")
        if term == "trunc":  # its bounds are named or positional
            out["lb"], out["ub"] = truncation_bounds(args, frame)
            continue
        positional = [a for a in args if "=" not in a]
        if not positional:
            raise DataError(f"{term}() needs an argument, e.g. {term}(n).")
        values = addition_values(frame, term, positional[0])
        if term == "trials":
            trials = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
            if np.isnan(trials).any() or (trials < 0).any() or (trials != np.round(trials)).any():
                raise DataError("trials() must be non-negative whole numbers.")
            out["trials"] = trials
        elif term == "weights":
            out["weights"] = _non_negative(values, "weights")
        elif term == "dec":
            out["dec"] = _decisions(values)
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
                out["y2"] = np.asarray(addition_values(frame, term, positional[1]), dtype=float)
    if "wiener" in names and "dec" not in out:
        raise DataError("Family 'wiener' needs the boundary each response reached: write the response as "
                        "'rt | dec(d) ~ ...', d 1/TRUE/'upper' or 0/FALSE/'lower'.")
    if names & set(_TRIALS_FAMILIES) and "trials" not in out:
        raise DataError(f"Family '{family.name}' needs the number of trials: write the response as "
                        "'successes | trials(n)' (n a column or a number).")
    return out


def truncation_bounds(args: list[str], frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The bounds ``(lb, ub)`` of ``trunc()`` for each row (:func:`brmc.censoring.truncation_arguments`),
    each a column or a number.

    Example:
        >>> truncation_bounds(["ub = 3"], pd.DataFrame({"y": [1.0, 2.0]}))
        (array([-inf, -inf]), array([3., 3.]))
    """
    lb, ub = (np.asarray(addition_values(frame, "trunc", text), dtype=float) for text in truncation_arguments(args))
    if (lb >= ub).any():
        raise DataError("trunc(): every lower bound lb must be smaller than its upper bound ub.")
    return lb, ub


def _decisions(values: np.ndarray) -> np.ndarray:
    """``dec()`` as brms reads it: 'lower'/'upper' (text or factor) as 0/1, else R's as.logical (0 is FALSE)."""
    series = pd.Series(values)
    if not pd.api.types.is_numeric_dtype(series) and series.dtype != bool:  # text or a factor
        if not series.astype(str).isin(["lower", "upper"]).all():
            raise DataError("dec() values given as text must be 'lower' or 'upper'.")
        return (series.astype(str) == "upper").to_numpy(dtype=float)
    return (pd.to_numeric(series) != 0).to_numpy(dtype=float)


def _non_negative(values: np.ndarray, term: str) -> np.ndarray:
    out = np.asarray(values, dtype=float)
    if (out < 0).any():
        raise DataError(f"{term}() must not be negative.")
    return out
