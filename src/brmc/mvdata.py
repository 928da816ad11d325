"""brms's multivariate models, data and priors: one :class:`~brmc.data.ModelData` per response on the
same rows (or its ``subset()``'s), joined into :class:`MvModelData`, and brms's prior table with its ``resp`` column.

Each response's predictors (``mu`` and its dpars) are made by the term kinds as in a univariate model;
their names carry the response (brms's ``combine_prefix``: ``b_english_craven``, ``sigma_math``,
``sd_school__english_Intercept``, ``r_school__math``), and group-level terms sharing an ID
``(1 | p | g)`` are one block across responses (:func:`brmc.terms.re.link_ids`).  With ``rescor``
the residuals of gaussian or student responses are correlated (``rescor__english__math``,
``lkj(1)``), student's ``nu`` then being one for all responses as in brms.

Examples
--------
>>> import brmc
>>> f = brmc.bf("mvbind(english, math) ~ craven + (1 | p | school)") + brmc.set_rescor(True)
>>> mv = build_mv_data(f, brmc.datasets.load("jspr"), "gaussian")
>>> mv.fixef_names, [d.name for d in mv.dpars]
(['english_Intercept', 'math_Intercept', 'english_craven', 'math_craven'], ['sigma_english', 'sigma_math'])
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .data import LinearPredictor, ModelData, build_data
from .errors import FamilyError, FormulaError, PriorError
from .families import DistPar, Family, get_family
from .families.core import NU
from .formula import as_formula
from .multivariate import MultivariateFormula, has_mvbind, mvbf
from .missingdata import check_missing, drop_incomplete
from .mvautocor import check_me, check_response, order_rows
from .mvindex import index_values, link_indices
from .mvsubset import check_subset, global_levels, incomplete_rows, subset_masks, without_subset
from .priors import (ParamPrior, Prior, PriorSpec, default_prior_table, printed, prior_summary_table, prior_text,
                     resolve_priors)
from .rlang import r_collate_key
from .terms import GroupBlock, mi
from .terms.base import LKJ_1, prior_row
from .terms.re import link_ids

#: term kinds a multivariate model takes so far
MV_KINDS = ("fe", "re", "offset", "sm", "sp", "gp", "mi", "nl", "cs", "ac", "me")
#: the addition terms a response takes with ``rescor`` (brms's ``stan_predictor.mvbrmsterms``)
RESCOR_ADDITIONS = ("se", "weights", "mi")
#: prior classes a prior without ``resp`` sets for every response (brms's global rows)
GLOBAL_CLASSES = ("b", "Intercept")
#: prior classes of parameters shared by the responses, their rows without ``resp`` (group-level
#: correlations; ``me()``'s latent values, brms's ``prior_Xme`` of the whole model)
SHARED_CLASSES = ("cor", "meanme", "sdme")
_KEY = ("class", "coef", "group", "resp", "dpar", "nlpar")
_NAMES = ("class", "coef", "group", "resp", "dpar", "nlpar")  # as a Prior's keywords name them


@dataclass
class MvFamily:
    """The families of a multivariate model, printed as brms's ``MV(gaussian, gaussian)``."""

    families: list[Family]
    ordinal = categorical = polytomous = mixture = False

    @property
    def name(self) -> str:
        return f"MV({', '.join(f.name for f in self.families)})"


@dataclass
class MvModelData:
    """A multivariate model's data: ``responses`` (one :class:`~brmc.data.ModelData` per response,
    by brms's ``resp`` name, on the same rows, or with ``subset()`` on the rows of ``frame`` its mask in
    ``subsets`` keeps: :mod:`brmc.mvsubset`) and whether the residuals are correlated.

    It answers what the summary, ``fixef`` and the renaming of the draws ask a ModelData:
    ``predictors`` (every response's, in order), ``blocks``, ``dpars`` (the family parameters
    under brms's names, ``sigma_english``), ``fixef_names`` and ``links_text``.
    """

    formula: MultivariateFormula
    responses: dict[str, ModelData]
    rescor: bool
    frame: pd.DataFrame
    data_name: str
    n_dropped: int = 0
    env: dict[str, Any] = field(default_factory=dict)
    subsets: dict[str, np.ndarray] = field(default_factory=dict)
    missing: str = "impute"
    thresholds = 0

    @property
    def family(self) -> MvFamily:
        return MvFamily([md.family for md in self.responses.values()])

    @property
    def nobs(self) -> int:
        return len(self.frame)

    @property
    def contrasts(self) -> dict[str, str] | None:
        """The ``contrasts=`` the responses' data were built with (the same for all)."""
        return next(iter(self.responses.values())).contrasts

    @property
    def shared_nu(self) -> bool:
        """Whether student's ``nu`` is one parameter of all responses (brms's with ``rescor``)."""
        return self.rescor and self.family.families[0].name == "student"

    @property
    def predictors(self) -> dict[str, LinearPredictor]:
        """Every response's predictors by brms's prefix (``english``, ``sigma_math``), in order."""
        return {lp.pname: lp for md in self.responses.values() for lp in md.predictors.values()}

    @property
    def blocks(self) -> list[GroupBlock]:
        return [b for md in self.responses.values() for b in md.blocks]

    def groups(self) -> list[str]:
        """Grouping factors in order of first appearance."""
        return list(dict.fromkeys(b.group for b in self.blocks))

    def response_dpars(self, resp: str) -> list[tuple[str, DistPar]]:
        """A response's family parameters estimated as one number: (its name in the likelihood,
        the parameter under brms's name ``sigma_<resp>``); a shared ``nu`` is left out."""
        md = self.responses[resp]
        return [(d.name, replace(d, name=f"{d.name}_{resp}", resp=resp)) for d in md.dpars
                if not (self.shared_nu and d.name == "nu")]

    @property
    def dpars(self) -> list[DistPar]:
        """The family parameters under brms's names, in brms's order: each response's, then ``nu``."""
        out = [d for resp in self.responses for _, d in self.response_dpars(resp)]
        return out + [d for d in self.family.families[0].dpars if d.name == "nu"] if self.shared_nu else out

    @property
    def fixef_names(self) -> list[str]:
        """brms's ``fixef`` rows: every response's intercept, then the other coefficients."""
        lps = [lp for md in self.responses.values() for lp in md.linear_predictors]  # nlpars' too
        thresholds = [md.predictors["mu"].label(n) for md in self.responses.values() for n in md.fixef_names[:md.thresholds]]
        return thresholds + [lp.label("Intercept") for lp in lps if lp.has_intercept] + [lp.label(n) for lp in lps
                                                                                        for n in lp.b_names]

    def links_text(self) -> str:
        """brms's ``Links:`` lines, one per response."""
        return "\n         ".join(md.links_text() for md in self.responses.values())


def as_multivariate(formula: Any) -> MultivariateFormula | None:
    """``formula`` as a multivariate formula when it is one (``mvbind()`` text included), else None.

    Examples
    --------
    >>> as_multivariate("mvbind(y1, y2) ~ x").responses, as_multivariate("y ~ x")
    (['y1', 'y2'], None)
    """
    if isinstance(formula, MultivariateFormula):
        return formula
    if isinstance(formula, str) and has_mvbind(formula):
        return mvbf(formula)
    return None


def _families(family: Any, responses: list[str]) -> list[Family]:
    """One family per response: the same for all, or a list / dict by response."""
    if isinstance(family, dict):
        missing = [r for r in responses if r not in family]
        if missing or set(family) - set(responses):
            raise FamilyError(f"family= by response must name each of {', '.join(responses)}; got "
                              f"{', '.join(map(str, family))}.")
        return [get_family(family[r]) for r in responses]
    if isinstance(family, (list, tuple)):
        if len(family) != len(responses):
            raise FamilyError(f"family= has {len(family)} families for {len(responses)} responses "
                              f"({', '.join(responses)}).")
        return [get_family(f) for f in family]
    return [get_family(family)] * len(responses)


def build_mv_data(formula: MultivariateFormula, data: Any, family: Any = "gaussian", data_name: str | None = None,
                  env: dict[str, Any] | None = None, contrasts: dict[str, str] | None = None,
                  missing: str = "impute") -> MvModelData:
    """A multivariate formula and a data frame → :class:`MvModelData`.

    Parameters
    ----------
    formula : MultivariateFormula
        From :func:`brmc.mvbf`, ``bf(...) + bf(...)`` or ``bf("mvbind(...) ~ ...")``.
    data : pandas.DataFrame or dict
        The data; rows missing a value of any response's variables are dropped (with a count), unless
        the responses that read the variable leave the row out by their ``subset()``.
    family : str, Family, list or dict, default ``"gaussian"``
        One family for all responses, or one per response (a list in order or a dict by response).
    data_name, env, contrasts, missing
        As :func:`brmc.brm` takes them (``missing="drop"``/``"raise"`` not with ``subset()``).

    Returns
    -------
    MvModelData

    Raises
    ------
    FamilyError
        ``rescor`` for families other than one of gaussian or student or with ``cosy()``/``unstr()``, a
        family of a matrix response (multinomial, dirichlet, logistic_normal: not yet), or the wrong number
        of families.
    FormulaError
        Terms a multivariate model does not take yet, time-series terms whose ``time`` or ``gr``
        differ between responses, different ``me()`` terms (:mod:`brmc.mvautocor`), ``missing=`` other than
        ``"impute"`` with ``subset()``.

    Examples
    --------
    >>> import brmc
    >>> mv = build_mv_data(brmc.bf("english ~ craven") + brmc.bf("math ~ social") + brmc.set_rescor(False),
    ...                    brmc.datasets.load("jspr"))
    >>> mv.rescor, list(mv.predictors)
    (False, ['english', 'math'])
    """
    env = dict(env or {})
    forms = {resp: as_formula(form, frozenset(env)) for resp, form in formula.forms.items()}
    families = _families(family, list(forms))
    rescor = formula.resolve_rescor([f.name for f in families], any("mi" in f.additions for f in forms.values()))
    for fam in families:
        if fam.multicol:
            raise FamilyError(f"Family '{fam.name}' (a matrix response) is not supported in multivariate models yet.")
    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    name = data_name or frame.attrs.get("data_name") or "data"
    if any("subset" in form.additions for form in forms.values()):  # each response on its own rows
        if check_missing(missing) != "impute":
            raise FormulaError(f"missing={missing!r} cannot be used with subset(): each response's rows are its "
                               "own, so a row missing one response's value is not incomplete; use missing='impute'.")
        frame = incomplete_rows(forms, frame)
        n_dropped = frame.attrs.pop("n_dropped")
        frame = order_rows(forms, frame)  # brms's order of the rows for time-series terms, once for all
        subsets = subset_masks(forms, frame)
        check_subset(forms, subsets, rescor)
    else:
        complete = mi.complete_mv_variables(forms, frame)
        imputed = [v for form in forms.values() for v in form.variables() if v not in complete]
        (frame, n_dropped), subsets = drop_incomplete(complete, frame, check_missing(missing), imputed), {}
        frame = order_rows(forms, frame)
    index = index_values(forms, frame, subsets)
    responses = {resp: build_data(without_subset(form), frame.loc[subsets[resp]].reset_index(drop=True)
                                  if resp in subsets else frame, fam, data_name=name, env=env, contrasts=contrasts)
                 for (resp, form), fam in zip(forms.items(), families)}
    mv = MvModelData(MultivariateFormula(forms, rescor), responses, rescor, frame, name, n_dropped, env, subsets,
                     missing)
    for resp, md in responses.items():
        if resp in subsets:
            global_levels(md, frame, env)
        _check_terms(resp, md, rescor)
        check_response(resp, md, rescor)
        for lp in md.linear_predictors:  # nlpars' too
            lp.resp = resp
            for block in lp.blocks:
                block.resp = resp
    check_me(responses, subsets)
    mi.link(responses)
    link_indices(responses, index)
    _check_rescor_weights(responses, rescor)
    for k, block in enumerate(mv.blocks, start=1):  # brms numbers the blocks across responses
        block.id = k
    link_ids(mv.blocks)
    return mv


def _check_rescor_weights(responses: dict[str, ModelData], rescor: bool) -> None:
    """With ``rescor`` each row's joint density has one weight (brms's ``weights[n]``): every response's the same."""
    weights = [md.additions.get("weights") for md in responses.values()]
    if rescor and any(w is not None for w in weights) and not all(
            w is not None and np.array_equal(w, weights[0]) for w in weights):
        raise FamilyError("With set_rescor(TRUE) every response takes the same weights() (brms weighs each row's "
                          "joint density once); give them all, e.g. mvbind(y1, y2) | weights(w) ~ x.")


def _check_terms(resp: str, md: ModelData, rescor: bool) -> None:
    """Refuse what a multivariate model does not take yet."""
    for lp in md.predictors.values():
        other = [str(t) for t in lp.formula.terms if t.kind not in MV_KINDS]
        if other:
            raise FormulaError(f"The term(s) {', '.join(other)} of response {resp!r} are not supported in multivariate "
                               "models yet; they take population-level, group-level, offset(), s(), t2(), gp(), "
                               "mo(), mi(), me(), cs() and autocorrelation terms, and non-linear formulas.")
    unsupported = sorted((set(md.additions) | set(md.formula.additions)) - {*RESCOR_ADDITIONS, "se_sigma"})
    if rescor and unsupported:
        raise FamilyError(f"Only {', '.join(RESCOR_ADDITIONS)} are supported addition arguments when 'rescor' is "
                          f"estimated; response {resp!r} has {', '.join(unsupported)}.")
    if rescor and set(md.predictors) - {"mu", "sigma"}:
        raise FamilyError("With set_rescor(TRUE) only mu and sigma can be predicted.")


def mv_prior_table(mv: MvModelData) -> pd.DataFrame:
    """brms's ``get_prior`` table of a multivariate model, :func:`~brmc.priors.printed`: each response's rows
    with its ``resp`` (correlations of group-level effects have none), the global ``b`` and ``Intercept`` rows,
    ``lkj(1)`` on ``rescor`` (and student's shared ``nu``), in brms's order (resp, dpar, class, group, coef).

    Parameters
    ----------
    mv : MvModelData
        The model's data (each response's default priors come from its own response).

    Returns
    -------
    pandas.DataFrame
        brms's columns, the ``resp`` column filled.

    Examples
    --------
    >>> import brmc
    >>> f = brmc.bf("mvbind(english, math) ~ craven") + brmc.set_rescor(True)
    >>> mv_prior_table(build_mv_data(f, brmc.datasets.load("jspr")))[["prior", "class", "resp"]].head(3).values.tolist()
    [['', 'b', ''], ['', 'Intercept', ''], ['lkj(1)', 'rescor', '']]
    """
    return printed(_mv_table(mv))


def _mv_table(mv: MvModelData) -> pd.DataFrame:
    """The rows of :func:`mv_prior_table`, each prior an object."""
    rows = []
    for resp, md in mv.responses.items():
        for row in default_prior_table(md).to_dict("records"):
            if not (mv.shared_nu and row["class"] == "nu"):
                rows.append(row if row["class"] in SHARED_CLASSES else {**row, "resp": resp})
    rows += [prior_row("", cl) for cl in GLOBAL_CLASSES if any(r["class"] == cl and not r["coef"] for r in rows)]
    if mv.rescor:
        rows.append(prior_row(LKJ_1, "rescor"))
    if mv.shared_nu:
        rows.append(prior_row(NU.default_prior, "nu", lb="1"))
    unique = {tuple(r[k] for k in _KEY): r for r in rows}
    ordered = sorted(unique.values(), key=lambda r: tuple(r_collate_key(r[k]) for k in
                                                          ("resp", "dpar", "nlpar", "class", "group", "coef")))
    return pd.DataFrame(ordered, columns=list(rows[0] if rows else prior_row("", "b"))).reset_index(drop=True)


def _check_user(user: list[Prior], table: pd.DataFrame, responses: list[str]) -> None:
    keys = {tuple(r[k] for k in _KEY) for r in table.to_dict("records")}
    for p in user:
        if not isinstance(p, Prior):
            raise PriorError(f"Priors must be made with brmc.prior(...), got {p!r}.")
        if p.resp and p.resp not in responses:
            raise PriorError(f"Prior {p.prior!r} has resp={p.resp!r}, not a response of the model; its responses "
                             f"are {', '.join(responses)}.")
        if (p.class_, p.coef, p.group, p.resp, p.dpar, p.nlpar) not in keys:
            options = sorted(", ".join(f"{n}={v!r}" for n, v in zip(_NAMES, k) if n != "nlpar" or v) for k in keys)
            given = ", ".join(f"{n}={v!r}" for n, v in zip(_NAMES, (p.class_, p.coef, p.group, p.resp, p.dpar,
                                                                     p.nlpar)) if n != "nlpar" or v)
            raise PriorError(f"Prior {p.prior!r} is set on a parameter the model does not have ({given}).\n"
                             "Parameters that take priors:\n  " + "\n  ".join(options))


def resolve_mv_priors(mv: MvModelData, user: list[Prior] | None = None) -> PriorSpec:
    """brms's defaults and the user's priors for every parameter of a multivariate model.

    Each response's priors are resolved as in a univariate model from the priors with its
    ``resp`` and the global ones (``b``, ``Intercept`` without ``resp``, ``cor``); the family
    parameters take brms's names (``sigma_english``), and ``rescor`` its ``lkj`` prior.

    Parameters
    ----------
    mv : MvModelData
    user : list of Prior, optional

    Returns
    -------
    PriorSpec

    Raises
    ------
    PriorError
        A prior on a parameter the model does not have, or on a response it does not have.

    Examples
    --------
    >>> import brmc
    >>> f = brmc.bf("mvbind(english, math) ~ craven") + brmc.set_rescor(True)
    >>> spec = resolve_mv_priors(build_mv_data(f, brmc.datasets.load("jspr")), [brmc.prior("normal(0, 5)", resp="math")])
    >>> [(p.param, str(p.dist)) for p in spec.params if p.class_ == "b"]
    [('b_english', 'None'), ('b_math', 'normal(0, 5)')]
    """
    user = list(user or [])
    table = _mv_table(mv)
    _check_user(user, table, list(mv.responses))
    params: list[ParamPrior] = []
    for resp, md in mv.responses.items():
        renamed = {name: d.name for name, d in mv.response_dpars(resp)}
        for p in resolve_priors(md, response_priors(md, user, resp)).params:
            if p.param in renamed:  # a family parameter: brms's name (sigma_english)
                params.append(replace(p, param=renamed[p.param]))
            elif not (mv.shared_nu and p.param == "nu") and not (p.class_ in SHARED_CLASSES[1:] and any(
                    (q.param, q.position) == (p.param, p.position) for q in params)):  # me()'s, once
                params.append(p)
    params += _global_params(mv, user)
    return PriorSpec(params=params, user=user, table=table)


def response_priors(md: ModelData, user: list[Prior], resp: str) -> list[Prior]:
    """The user priors one response's parameters take, without ``resp``: those with its ``resp`` and,
    where it has none of its own, the global ones (``b``, ``Intercept``, ``cor``)."""
    keys = {(r["class"], r["coef"], r["group"], r["dpar"]) for r in default_prior_table(md).to_dict("records")}
    own = [replace(p, resp="") for p in user if p.resp == resp]
    taken = {(p.class_, p.coef, p.group, p.dpar) for p in own}
    return own + [p for p in user if not p.resp and p.class_ in (*GLOBAL_CLASSES, *SHARED_CLASSES)
                  and (p.class_, p.coef, p.group, p.dpar) in keys - taken]


def mv_prior_summary(mv: MvModelData, user: list[Prior]) -> pd.DataFrame:
    """brms's ``prior_summary`` of a multivariate model: each response's rows with its ``resp`` (the
    Cholesky factors ``L`` without), ``Lrescor`` and a shared ``nu``, in brms's order.

    Parameters
    ----------
    mv : MvModelData
        The model's data.
    user : list of Prior
        The user's priors.

    Returns
    -------
    pandas.DataFrame
        What each prior row resolved to, with brms's ``source``.

    Examples
    --------
    >>> mv = build_mv_data(brmc.mvbf("english ~ craven", "math ~ craven", rescor=True), brmc.datasets.load("jspr"))
    >>> mv_prior_summary(mv, [brmc.prior("normal(0, 2)", resp="math")])[["prior", "class", "resp"]].values[2].tolist()
    ['normal(0, 2)', 'b', 'math']
    """
    rows = []
    for resp, md in mv.responses.items():
        own = response_priors(md, user, resp)
        spec = PriorSpec(params=resolve_priors(md, own).params, user=own, table=default_prior_table(md))
        for row in prior_summary_table(md, spec).to_dict("records"):
            if not (mv.shared_nu and row["class"] == "nu"):
                rows.append(row if row["class"] in ("L", *SHARED_CLASSES[1:]) else {**row, "resp": resp})
    globals_ = {p.class_: p for p in _global_params(mv, user)}
    if "rescor" in globals_:
        p = globals_["rescor"]
        rows.append({**prior_row(None, "Lrescor", source=p.source), "prior": prior_text(p.dist, "Lrescor")})
    if "nu" in globals_:
        p = globals_["nu"]
        rows.append({**prior_row(None, "nu", lb="1", source=p.source), "prior": prior_text(p.dist)})
    unique = {tuple(r[k] for k in _KEY): r for r in reversed(rows)}
    ordered = sorted(unique.values(), key=lambda r: tuple(r_collate_key(r[k]) for k in
                                                          ("dpar", "class", "group", "resp", "coef")))
    return pd.DataFrame(ordered, columns=list(rows[0])).reset_index(drop=True)


def _global_params(mv: MvModelData, user: list[Prior]) -> list[ParamPrior]:
    """The priors of ``rescor`` (its Cholesky factor ``Lrescor``) and of a shared ``nu``."""
    out = []
    chosen = {p.class_: p for p in user if p.class_ in ("rescor", "nu") and not p.resp}
    if mv.rescor:
        dist = chosen["rescor"].dist if "rescor" in chosen else LKJ_1
        if dist is None or dist.name != "lkj":
            raise PriorError(f"Residual correlations (class 'rescor') take an lkj(eta) prior, not "
                             f"{chosen['rescor'].prior!r}.")
        out.append(ParamPrior("Lrescor", 0, "rescor", "", "", "", dist, None, None,
                              "user" if "rescor" in chosen else "default"))
    if mv.shared_nu:
        dist = chosen["nu"].dist if "nu" in chosen else NU.default_prior
        out.append(ParamPrior("nu", 0, "nu", "", "", "", dist, 1.0, None, "user" if "nu" in chosen else "default"))
    return out
