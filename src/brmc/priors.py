"""Priors: brms's default rules, user priors, validation and the tables brms prints.

The prior table is keyed by (class, coef, group, dpar) as brms's, a non-linear parameter taking
the place of the dpar (its rows name it in the ``nlpar`` column; brms forbids an nlpar named as a dpar).  Every
parameter's effective prior is resolved here into :class:`ParamPrior` records;
the model stage turns them into log-density terms whose hyperparameters are
shared data, so a sweep over hyperparameters never recompiles.

A prior is a :class:`~brmc.distributions.Dist` throughout: the default rules build them, a
user's :class:`Prior` parses its text once when made, the table's ``prior`` column and every
``ParamPrior.dist`` hold them (``None``: flat).  They become text only in :func:`printed`
(``get_prior``, ``prior_summary``); a user prior also keeps the text it was written as, which
``prior_summary`` prints back and a saved fit stores.

Example:
    >>> import brmc
    >>> tab = brmc.get_prior("Reaction ~ Days + (Days | Subject)", data=brmc.datasets.load("sleepstudy"))
    >>> tab.loc[tab["class"] == "Intercept", "prior"].item()
    'student_t(3, 288.7, 59.3)'
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import terms
from .data import ModelData
from ._docs import shared
from .distributions import DATA_FIGURES, FLAT_TEXTS, Dist, parse_dist
from .errors import PriorError, close_matches
from .naming import table_dpar  # noqa: F401  (re-exported: the prior table's dpar column)
from .nlterm import nonlinear_terms
from .rlang import r_collate_key, r_number, r_signif
from .terms.base import ParamSlot, PriorContext, default_scale, prior_row, student_t
from .terms.fe import intercept_prior  # noqa: F401  (re-exported)

PRIOR_COLUMNS = ["prior", "class", "coef", "group", "resp", "dpar", "nlpar", "lb", "ub", "source"]


@dataclass(frozen=True)
class Prior:
    """A user prior on (class, coef, group, dpar or nlpar), as brms's ``set_prior``.

    Example:
        >>> prior("normal(0, 10)", class_="b", coef="Days")
        Prior(prior='normal(0, 10)', class_='b', coef='Days', group='', dpar='', lb=None, ub=None, nlpar='', resp='')
    """

    prior: str
    class_: str = "b"
    coef: str = ""
    group: str = ""
    dpar: str = ""
    lb: float | None = None
    ub: float | None = None
    nlpar: str = ""
    resp: str = ""
    #: the distribution ``prior`` says, parsed once when the prior is made (``None``: flat); ``prior``
    #: stays the text the user wrote, which ``prior_summary`` prints and a saved fit stores
    dist: Dist | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.dist is None and self.prior.strip() not in FLAT_TEXTS:
            object.__setattr__(self, "dist", parse_dist(self.prior))

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What it is looked up by: (class, coef, group, its dpar or nlpar)."""
        return self.class_, self.coef, self.group, self.dpar or self.nlpar

    def to_dict(self) -> dict:
        return {"prior": self.prior, "class": self.class_, "coef": self.coef, "group": self.group,
                "dpar": self.dpar, "lb": self.lb, "ub": self.ub, "resp": self.resp} | (
                    {"nlpar": self.nlpar} if self.nlpar else {})

    @classmethod
    def from_dict(cls, d: dict) -> Prior:
        return cls(d["prior"], d["class"], d["coef"], d["group"], d["dpar"], d["lb"], d["ub"], nlpar=d.get("nlpar", ""),
                   resp=d.get("resp", ""))


def row_key(row: dict | pd.Series) -> tuple[str, str, str, str]:
    """A prior table row's (class, coef, group, dpar or nlpar): as :attr:`Prior.key`."""
    return row["class"], row["coef"], row["group"], row["dpar"] or row["nlpar"]


def replace_priors(old: Sequence[Prior], new: Sequence[Prior]) -> list[Prior]:
    """``old`` with each prior on the (class, coef, group, dpar) of one in ``new`` replaced by it,
    as brms's ``update(fit, prior = ...)``.

    Example:
        >>> [p.prior for p in replace_priors([prior("normal(0, 1)"), prior("exponential(1)", "sigma")],
        ...                                  [prior("normal(0, 5)")])]
        ['exponential(1)', 'normal(0, 5)']
    """
    replaced = {(p.key, p.resp) for p in new}
    return [p for p in old if (p.key, p.resp) not in replaced] + list(new)


@shared
def prior(
    prior: str, class_: str = "b", coef: str = "", group: str = "", dpar: str = "",
    lb: float | None = None, ub: float | None = None, nlpar: str = "", resp: str = "",
) -> Prior:
    """Define a prior as brms's ``prior()`` / ``set_prior()`` (``class_`` for ``class``).

    Parameters
    ----------
    prior : str
        A distribution in Stan's words: ``"normal(0, 10)"``, ``"student_t(3, 0, 2.5)"``,
        ``"lkj(2)"``, ``"exponential(1)"``, ...
    {class_}
    {coef}
    {group}
    {dpar_prior}
    lb : float, optional
        A lower bound of the whole class ``b`` (or ``sd``).
    ub : float, optional
        An upper bound of the whole class ``b`` (or ``sd``).
    nlpar : str, optional
        The non-linear parameter the prior's coefficients belong to (``"ult"``; see ``bf(nl=True)``).
    resp : str, optional
        The response of a multivariate model the prior is for (brms's ``resp``: ``"math"``).

    Returns
    -------
    Prior

    Examples
    --------
    >>> prior("cauchy(0, 2)", class_="sd", group="Subject").group
    'Subject'
    >>> prior("normal(5000, 1000)", nlpar="ult", lb=0).key
    ('b', '', '', 'ult')
    """
    dist = parse_dist(prior)
    if dpar and nlpar:
        raise PriorError(f"A prior belongs to a dpar or to a non-linear parameter, not both (dpar={dpar!r}, "
                         f"nlpar={nlpar!r}).")
    return Prior(prior.strip(), class_, coef, group, dpar, lb, ub, nlpar=nlpar, resp=resp, dist=dist)


@shared
def pc_prior(U: float, alpha: float, class_: str = "sd", coef: str = "", group: str = "", dpar: str = "") -> Prior:
    """A penalised-complexity prior on a standard deviation: ``P(sd > U) = alpha``.

    It is ``exponential(-log(alpha) / U)``, INLA's ``pc.prec(U, alpha)``
    expressed on the SD scale (Simpson et al. 2017); see ``docs/priors.md``
    for the JSP example.  The rate is R's ``signif(rate, 15)``, the number its text says, so that
    a saved fit (which stores the text) loads with the same prior.

    Parameters
    ----------
    U : float
        A positive upper value of the sd.
    alpha : float
        The prior probability that the sd exceeds ``U``, in (0, 1).
    class_ : str, default ``"sd"``
        ``"sd"`` or ``"sigma"``.
    {coef}
    {group}
    {dpar_prior}

    Returns
    -------
    Prior

    Examples
    --------
    >>> p = pc_prior(10, 0.01, group="school")
    >>> p.prior, p.class_, p.group
    ('exponential(0.460517018598809)', 'sd', 'school')
    """
    if not (np.isfinite(U) and U > 0):
        raise PriorError(f"pc_prior: U must be a positive number, got {U!r}.")
    if not 0 < alpha < 1:
        raise PriorError(f"pc_prior: alpha is the probability P(sd > U) and must lie in (0, 1), got {alpha!r}.")
    dist = Dist("exponential", (r_signif(-np.log(alpha) / U, 15),))
    return Prior(str(dist), class_=class_, coef=coef, group=group, dpar=dpar, dist=dist)


def parse_prior_spec(text: str) -> Prior:
    """The command line's ``'normal(0, 10) | b | Days'`` → ``prior(...)`` (dist | class | coef | group).

    Example:
        >>> parse_prior_spec("normal(0, 10) | b").class_
        'b'
    """
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 2 or len(parts) > 4:
        raise PriorError(f"A prior on the command line is 'DIST | class [| coef [| group]]', got {text!r}.")
    fields = parts[1:] + [""] * (4 - len(parts))
    return prior(parts[0], class_=fields[0], coef=fields[1], group=fields[2])


@dataclass
class ParamPrior:
    """The effective prior of one scalar (or vector slot) of a model parameter.

    ``param`` names the model variable (``b``, ``Intercept``, ``sd_1``, ``L_1``,
    ``sigma``) and ``position`` the element within it.
    """

    param: str
    position: int
    class_: str
    coef: str
    group: str
    dpar: str
    dist: Dist | None
    lb: float | None
    ub: float | None
    source: str


@dataclass
class PriorSpec:
    """All effective priors of a model plus the user priors they came from."""

    params: list[ParamPrior]
    user: list[Prior] = field(default_factory=list)
    table: pd.DataFrame | None = None

    def bounds(self, param: str) -> tuple[float | None, float | None]:
        """The bounds of a model parameter (shared by all its elements)."""
        for p in self.params:
            if p.param == param:
                return p.lb, p.ub
        return None, None


def _sort_rows(rows: list[dict], by: tuple[str, ...] = ("dpar", "nlpar", "class", "group", "coef")) -> pd.DataFrame:
    """Rows in brms's order: ``get_prior``'s by default, ``prior_summary``'s (class first) by its ``by``."""
    rows = sorted(rows, key=lambda r: tuple(r_collate_key(r[column]) for column in by))
    return pd.DataFrame(rows, columns=PRIOR_COLUMNS).reset_index(drop=True)


def default_prior_table(md: ModelData) -> pd.DataFrame:
    """brms's ``get_prior`` table for the model, rows in brms's order; each ``prior`` a
    :class:`~brmc.distributions.Dist` or ``None`` (flat), text once :func:`printed`."""
    location, scale, _ = default_scale(md)
    ctx = PriorContext(md=md, scale=scale)
    rows = [row for lp in md.predictors.values() for kind, part in terms.parts(lp)
            for row in kind.prior_rows(lp, part, ctx)]
    if md.family.cats_dpars:  # class-level rows shared by all categories (brms's conv_cats_dpars)
        for class_ in ("b", "Intercept"):
            if any(r["class"] == class_ for r in rows):
                rows.append(prior_row("", class_))
    if md.thresholds:
        rows.append(prior_row(student_t(location, scale), "Intercept"))
        rows += [prior_row("", "Intercept", coef=str(k)) for k in range(1, md.thresholds + 1)]
    sigma_scale = default_scale(md, link="identity")[1]
    for dpar in md.dpars:
        default = dpar.default_prior or student_t(0, sigma_scale)
        rows.append(prior_row(default, dpar.name, lb=_bound_text(dpar.lb), ub=_bound_text(dpar.ub)))
    unique = {row_key(r): r for r in reversed(rows)}  # rows shared by predictors
    return _sort_rows([r for r in rows if unique[row_key(r)] is r])


def _bound_text(value: float | str | None) -> str:
    return "" if value is None else value if isinstance(value, str) else r_number(value)


def _match(user: list[Prior], class_: str, coef: str = "", group: str = "", dpar: str = "") -> Prior | None:
    found = [p for p in user if p.key == (class_, coef, group, dpar)]
    return found[-1] if found else None


def _validate_user(user: list[Prior], table: pd.DataFrame) -> None:
    keys = {(r["class"], r["coef"], r["group"], r["dpar"], r["nlpar"]) for _, r in table.iterrows()}
    for p in user:
        if not isinstance(p, Prior):
            raise PriorError(f"Priors must be made with brmc.prior(...), got {p!r}.")
        if p.resp:
            raise PriorError(f"Prior {p.prior!r} has resp={p.resp!r}, but the model has one response; resp= is for "
                             "multivariate models.")
        if (p.class_, p.coef, p.group, p.dpar, p.nlpar) not in keys:
            described = f"class={p.class_!r}" + (f", coef={p.coef!r}" if p.coef else "") + (
                f", group={p.group!r}" if p.group else "") + (f", dpar={p.dpar!r}" if p.dpar else "") + (
                f", nlpar={p.nlpar!r}" if p.nlpar else "")
            options = sorted(
                {f"class={c!r}" + (f", coef={co!r}" if co else "") + (f", group={g!r}" if g else "")
                 + (f", dpar={d!r}" if d else "") + (f", nlpar={n!r}" if n else "") for c, co, g, d, n in keys}
            )
            hint = close_matches(p.coef or p.group or p.class_, [k[1] or k[2] or k[0] for k in keys])
            raise PriorError(
                f"Prior {p.prior!r} is set on a parameter the model does not have ({described}).{hint}\n"
                "Parameters that take priors:\n  " + "\n  ".join(options)
            )
        dist = p.dist
        if p.class_ in {"cor", "lncor", "cortime"} and (dist is None or dist.name != "lkj"):
            raise PriorError(f"Correlations (class {p.class_!r}) take an lkj(eta) prior, not {p.prior!r}.")
        if p.class_ not in {"cor", "lncor", "cortime"} and dist is not None and dist.name == "lkj":
            raise PriorError(f"lkj() is a prior for class 'cor' (or 'lncor', 'cortime'), not for class {p.class_!r}.")
        if (p.class_ in {"theta", "sbhaz"}) != (dist is not None and dist.name == "dirichlet"):
            raise PriorError(f"A simplex (a mixture's proportions, class 'theta'; cox's baseline hazard, class "
                             f"'sbhaz') and only it takes a dirichlet(alpha) prior; got {p.prior!r} on class "
                             f"{p.class_!r}.")
        if (p.lb is not None or p.ub is not None) and (p.coef or p.class_ not in {"b", "sd"} or p.group):
            raise PriorError(
                f"Bounds (lb/ub) can be set for the whole class 'b' (or 'sd'), not on {p.class_!r}"
                + (f" coef {p.coef!r}" if p.coef else "") + "."
            )
        if p.class_ in {"sd", "sigma"} and p.lb is not None and p.lb < 0:
            raise PriorError(f"Class {p.class_!r} is positive; a lower bound of {r_number(p.lb)} is not possible.")


def resolve_priors(md: ModelData, user: list[Prior] | None = None) -> PriorSpec:
    """Combine brms's defaults with user priors into the effective prior of each parameter."""
    user = list(user or [])
    table = default_prior_table(md)
    _validate_user(user, table)
    defaults = {row_key(r): r["prior"] for r in table.to_dict("records")}
    params: list[ParamPrior] = []

    expanded = _expand_shared(md, user, warn=True)

    def effective(class_: str, coef: str = "", group: str = "", dpar: str = "") -> tuple[Dist | None, str]:
        dist, source = _resolve(expanded, defaults, class_, _chain(coef, group, dpar))
        return (dist if dist is None or dist.numeric else dist.bind(_data_figures(md))), source

    def resolved(slot: ParamSlot) -> ParamPrior:
        dist, source = effective(slot.class_, slot.coef, slot.group, slot.dpar)
        lb, ub = _class_bounds(user, slot.class_, slot.dpar) if slot.user_bounds else (None, None)
        return ParamPrior(slot.param, slot.position, slot.class_, slot.coef, slot.group, slot.dpar, dist,
                          lb if slot.lb is None else slot.lb, ub if slot.ub is None else slot.ub, source)

    # by kind, then predictor: population effects, group-level effects, ... (brms's order)
    params += [resolved(slot) for kind in terms.kinds() for lp in md.predictors.values()
               if lp.parts.get(kind.name) is not None for slot in kind.slots(lp, lp.parts[kind.name])]
    for k in range(md.thresholds):
        dist, source = effective("Intercept", str(k + 1))
        params.append(ParamPrior(f"Intercept{md.predictors['mu'].suffix}", k, "Intercept", str(k + 1), "", "", dist,
                                 None, None, source))
    for dpar in md.dpars:
        dist, source = effective(dpar.name)
        lb, ub = (_data_figures(md)[b] if b in DATA_FIGURES else b for b in (dpar.lb, dpar.ub))
        params.append(ParamPrior(dpar.name, 0, dpar.name, "", "", "", dist, lb, ub, source))
    spec = PriorSpec(params=params, user=user, table=table)
    _check_support(spec)
    _require_nlpar_priors(md, spec)
    return spec


def _require_nlpar_priors(md: ModelData, spec: PriorSpec) -> None:
    """brms 2.18's ``validate_prior_special``: a non-linear parameter none of whose priors is proper
    (its ``b`` flat by default, and no group-level ``sd``) is refused, with brms's words."""
    resp = md.predictors["mu"].resp if "mu" in md.predictors else ""  # a response of a multivariate model
    for nlpar in (n for term in nonlinear_terms(md.formula) for n in term.nlpars):
        if all(p.dist is None for p in spec.params if p.dpar == nlpar):
            raise PriorError(
                "Priors on population-level coefficients are required in non-linear models, but none were "
                f"found for parameter '{nlpar}'. See help(set_prior) for more details.\n"
                f"In brmc: prior=[brmc.prior('normal(0, 1)', nlpar={nlpar!r}{f', resp={resp!r}' if resp else ''}), "
                "...] with a scale of your own.")


def _data_figures(md: ModelData) -> dict[str, float]:
    """The figures of the data a rule's prior or bound may name (:data:`~brmc.distributions.DATA_FIGURES`):
    brms's ``min_Y`` (shifted_lognormal's ``ndt``) is the smallest response."""
    return {"min_Y": float(np.min(md.y))}


def _chain(coef: str, group: str, dpar: str) -> list[tuple[str, str, str]]:
    """The (coef, group, dpar) rows a prior is looked up along: its own, its group's, its class's."""
    return list(dict.fromkeys([(coef, group, dpar), ("", group, dpar), ("", "", dpar)]))


def _expand_shared(md: ModelData, user: list[Prior], warn: bool = False) -> list[Prior]:
    """brms 2.18 on a categorical model: a prior on class ``b`` or ``Intercept`` without
    ``dpar`` is copied to every category that has none of its own (``warn``: with brms's warning)."""
    if not md.family.cats_dpars:
        return user
    out = list(user)
    for p in user:
        if p.class_ in {"b", "Intercept"} and not (p.coef or p.group or p.dpar):
            if warn:
                warnings.warn("Specifying global priors for regression coefficients in categorical models is "
                              "deprecated. Please specify priors separately for each response category.",
                              UserWarning, stacklevel=4)
            own = {q.dpar for q in user if q.class_ == p.class_ and not (q.coef or q.group)}
            out += [replace(p, dpar=d) for d in md.mu_dpars if d not in own]
    return out


def _resolve(user: list[Prior], defaults: dict, class_: str, chain: list[tuple[str, str, str]]
             ) -> tuple[Dist | None, str]:
    """The prior along ``chain``: the first user prior, else the first default that is not flat;
    ``source`` is brms's (``user``/``default`` on the row itself, else ``(vectorized)``)."""
    for i, key in enumerate(chain):
        p = _match(user, class_, *key)
        if p is not None:
            return p.dist, "user" if i == 0 else "(vectorized)"
    for i, key in enumerate(chain):
        dist = defaults.get((class_, *key))
        if dist is not None:
            return dist, "default" if i == 0 else "(vectorized)"
    return None, "default" if len(chain) == 1 else "(vectorized)"


def _class_bounds(user: list[Prior], class_: str, dpar: str = "") -> tuple[float | None, float | None]:
    p = _match(user, class_, dpar=dpar)
    return (p.lb, p.ub) if p is not None else (None, None)


def _check_support(spec: PriorSpec) -> None:
    """A prior must cover the parameter's range, or the sampler would be stuck."""
    for p in spec.params:
        if p.dist is None or p.dist.name in {"lkj", "dirichlet"}:
            continue
        lo, hi = p.dist.support
        plo = -np.inf if p.lb is None else p.lb
        phi = np.inf if p.ub is None else p.ub
        if plo < lo or phi > hi:
            where = f"class {p.class_!r}" + (f", coef {p.coef!r}" if p.coef else "") + (
                f", group {p.group!r}" if p.group else "")
            raise PriorError(
                f"Prior {p.dist} ({where}) has support [{r_number(lo)}, {r_number(hi)}], but the parameter "
                f"ranges over [{r_number(plo)}, {r_number(phi)}]. Set lb/ub on the prior to match its support."
            )


def prior_summary_table(md: ModelData, spec: PriorSpec) -> pd.DataFrame:
    """brms's ``prior_summary``: every prior row with what it resolved to, :func:`printed`."""
    defaults = {row_key(r): r["prior"] for r in spec.table.to_dict("records")}
    user = _expand_shared(md, spec.user)
    rows = []
    for r in spec.table.to_dict("records"):
        class_, coef, group, dpar = row_key(r)
        if md.family.cats_dpars and class_ in {"b", "Intercept"} and not (coef or dpar):
            continue  # brms removes the rows shared by all categories once it has copied them
        dist, source = _resolve(user, defaults, class_, _chain(coef, group, dpar))
        lb, ub = r["lb"], r["ub"]
        suffix = f"_{dpar}" if dpar else ""
        if class_ == "sd":
            sd = next((p.param for p in spec.params if p.class_ == "sd" and p.dpar == dpar), "")
            lb, ub = "0", _bound_text(spec.bounds(sd)[1])
        if class_ == "b":
            b_lb, b_ub = spec.bounds(f"b{suffix}")
            lb, ub = _bound_text(b_lb), _bound_text(b_ub)
        class_ = {"cor": "L", "cortime": "Lcortime"}.get(class_, class_)  # brms's Cholesky factors
        rows.append({**prior_row(dist, class_, coef, group, r["dpar"], lb, ub, source), "nlpar": r["nlpar"]})
    return printed(_sort_rows(rows, by=("class", "group", "dpar", "nlpar", "coef")))  # brms's validate_prior


def prior_text(dist: Dist | None, class_: str = "") -> str:
    """A prior as brms prints it: ``""`` when flat, ``lkj_corr_cholesky(...)`` on a Cholesky factor
    (class ``L``, ``Lrescor``, ``Lcortime``) where brms's ``get_prior`` says ``lkj(...)``.

    Example:
        >>> prior_text(parse_dist("lkj(2)"), "L"), prior_text(None)
        ('lkj_corr_cholesky(2)', '')
    """
    text = "" if dist is None else str(dist)
    return text.replace("lkj(", "lkj_corr_cholesky(", 1) if class_ in {"L", "Lrescor", "Lcortime"} else text


def printed(table: pd.DataFrame) -> pd.DataFrame:
    """A table of priors (objects in its ``prior`` column) as brms prints it: each prior its
    :func:`prior_text`.  The one place prior tables become text (``get_prior``, ``prior_summary``)."""
    return table.assign(prior=[prior_text(d, c) for d, c in zip(table["prior"], table["class"])])
