"""The protocol every kind of formula term answers, and what the pipeline hands it.

brms splits each stage by the kind of term (``data_fe``/``data_re``, ``stan_fe``/``stan_re``,
``rename_pars``); brmc keeps one module per kind under :mod:`brmc.terms`, each a
:class:`TermKind`.  The pipeline asks every registered kind the same questions, in
the registry's order, and knows nothing else about it:

=====================  =====================================================  ===========================
stage                  question                                               method
=====================  =====================================================  ===========================
data (``data.py``)     its data for one predictor: arrays, levels, names      :meth:`TermKind.data`
priors (``priors.py``)  its rows of ``get_prior``; its parameters' slots       :meth:`~TermKind.prior_rows`,
                                                                              :meth:`~TermKind.slots`
model (``model.py``)   its ``pm.Data`` values; its parameters and part of     :meth:`~TermKind.data_values`,
                       the linear predictor in the PyMC graph                 :meth:`~TermKind.graph`,
                                                                              :meth:`~TermKind.add`
draws (``naming.py``)  its brms names for the draws, and back                 :meth:`~TermKind.rename`,
                                                                              :meth:`~TermKind.constrained`
predictions            the columns new data need; its values for the          :meth:`~TermKind.needed`,
(``predict.py``)       training or new rows; its part of the linear           :meth:`~TermKind.rows`,
                       predictor from the draws                               :meth:`~TermKind.draws`
=====================  =====================================================  ===========================

:meth:`TermKind.add` is the one formula of a kind's part of the linear predictor: written
with array operators only, it takes what :meth:`~TermKind.graph` makes (tensors, one point)
and what :meth:`~TermKind.draws` makes (NumPy, draws on the leading axes) alike.

Room for the kinds still to come: a kind may own several parameter classes (a smooth
``s()``: ``sds`` and ``zs``; a Gaussian process ``gp()``: ``sdgp``, ``lscale``, ``zgp``;
``mo()``: ``bsp`` and ``simo``) and several sections of the draws; its data may be any
object (bases from :mod:`brmc.bases`, a design per smooth); terms written as calls
(``s(x)``, ``gp(x)``, ``offset(x)``) reach it through :attr:`TermKind.calls`, which the
parser reads (:data:`brmc.formula.TERM_CALLS`).  ``docs/design.md`` ("Adding a term
kind") walks through a kind end to end.

Example:
    >>> from brmc import terms
    >>> [kind.name for kind in terms.kinds()]
    ['fe', 're', 'offset', 'sm', 'sp', 'me', 'mi', 'gp', 'nl', 'cs', 'ac']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..distributions import FLAT_TEXTS, Dist, parse_dist
from ..families import DATA_PRIOR_LINKS, LINKS
from ..formula import Term
from ..rlang import r_mad, r_round

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor, ModelData
    from ..families import Family


@dataclass
class DataContext:
    """What a kind builds its data from, for one predictor.

    ``frame`` holds the rows used (incomplete ones dropped), ``prepared`` the same with
    factors coded in R's level order; ``poly`` the factors coded by ``contr.poly``;
    ``next_id`` the next free number of a group-level block (brms numbers them across
    predictors); ``thresholds`` the number of an ordinal model's thresholds (else 0); ``nlpar``
    whether the predictor is a non-linear parameter's (brms: its design not centred, its intercept
    a coefficient of ``b``); ``predictor(dpar, formula)`` builds a nested predictor (a
    :class:`~brmc.data.LinearPredictor` of every kind's data, a non-linear parameter's).
    """

    dpar: str
    family: Family
    frame: pd.DataFrame
    prepared: pd.DataFrame
    env: dict[str, Any]
    poly: frozenset[str]
    next_id: int = 1
    thresholds: int = 0
    nlpar: bool = False
    predictor: Callable[[str, Any], LinearPredictor] | None = None
    #: the group-level blocks made so far (blocks of one ID ``(1 | p | g)`` are joined across predictors)
    blocks: list = field(default_factory=list)
    #: the model's formula (its response and addition terms: a response under ``mi()``)
    formula: Any = None


@dataclass(frozen=True)
class ParamSlot:
    """One element of a model parameter that takes a prior: the model variable and its
    position, and the (class, coef, group, dpar) row of the prior table it is looked up by.

    ``lb``/``ub`` are bounds the class always has (``sd``: 0; ``cosy``: 0 and 1); ``user_bounds`` says whether the
    bounds a user sets on the whole class (``prior(..., class_="b", lb=0)``) apply.
    """

    param: str
    position: int
    class_: str
    coef: str = ""
    group: str = ""
    dpar: str = ""
    lb: float | None = None
    user_bounds: bool = False
    ub: float | None = None


@dataclass
class PriorContext:
    """What a kind's default priors may depend on: the model's data, and brms's data-based
    scale of the response (``student_t(3, 0, scale)`` for ``sd``) as ``scale``."""

    md: ModelData
    scale: float


@dataclass
class GraphContext:
    """What a kind's part of the PyMC graph is made with: ``values`` (every ``pm.Data``
    value by name, from :meth:`TermKind.data_values`), ``params`` (the model's parameters
    by name, filled in as they are made, for the priors), ``bounds`` (a parameter's bounds
    from the priors), ``hyper`` (the ``pm.Data`` of a parameter's prior hyperparameters,
    ``None`` when its prior is flat), ``intercepts`` (by dpar, intercepts made outside the
    predictors: a mixture's ordered ones) and ``joint`` (the group-level effects of each ID
    ``(1 | p | g)`` by number, made with its first block and shared by the others)."""

    nobs: int
    values: dict[str, np.ndarray]
    params: dict[str, Any]
    bounds: Callable[[str], tuple[float | None, float | None]]
    hyper: Callable[[str, str], Any]
    intercepts: dict[str, Any] = field(default_factory=dict)
    joint: dict[int, Any] = field(default_factory=dict)


@dataclass
class RowsContext:
    """The rows predictions are made for: ``newdata`` (``None`` for the training rows) as the
    user gave it, and ``train``/``new`` with factors coded as the training data were;
    ``kept`` the group-level blocks (by id) and coefficient positions ``re_formula`` keeps;
    ``allow_new_levels`` and ``incl_autocor`` (brms's: whether the autocorrelation terms take part) as
    :func:`brmc.predict.posterior_epred` takes them."""

    md: ModelData
    newdata: pd.DataFrame | None = None
    train: pd.DataFrame | None = None
    new: pd.DataFrame | None = None
    kept: dict[int, list[int]] = field(default_factory=dict)
    allow_new_levels: bool = False
    incl_autocor: bool = True


@dataclass
class DrawsContext:
    """What a kind's part of the linear predictor from the draws takes: the posterior
    (brms names, (chain, draw, ...)), the draws to use (of chain × draw; ``None``: all),
    for group levels the model has not seen ``new_levels(block_rows, r)``, and the random
    numbers of parts that are drawn at new rows (an exact GP's values there)."""

    posterior: xr.Dataset
    draws: np.ndarray | None = None
    new_levels: Callable[[Any, np.ndarray], np.ndarray] | None = None
    rng: np.random.Generator | None = None

    def pick(self, values: np.ndarray) -> np.ndarray:
        """(chain, draw, ...) draws → the chosen draws, (draws, ...)."""
        flat = values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])  # also with no columns
        return flat if self.draws is None else flat[self.draws]


class TermKind:
    """One kind of formula term: its module answers every stage's question about it.

    Subclasses set :attr:`name` (the tree's ``Term.kind``) and, for kinds written as a
    call, :attr:`calls`; they implement :meth:`data`, :meth:`add` and the methods their
    terms need (the defaults: no parameters, no priors, no draws).  ``part`` below is what
    :meth:`data` returned for one predictor; ``lp`` the
    :class:`~brmc.data.LinearPredictor` it belongs to.
    """

    #: the tree's kind of the terms it takes (``"fe"``, ``"re"``, ``"offset"``)
    name: str = ""
    #: function names that make a term of this kind at the top level of a right-hand side
    calls: tuple[str, ...] = ()
    #: whether its calls may be multiplied with variables (``mo(x) * z``; see :data:`brmc.formula.INTERACTING_CALLS`)
    interacts: bool = False

    def data(self, terms: list[Term], ctx: DataContext) -> Any:
        """Its data for one predictor from its ``terms`` there (maybe none): any object, or
        ``None`` when the predictor has nothing of this kind."""
        raise NotImplementedError

    def structure(self, part: Any) -> Any:
        """What of its data changes the graph (not values): part of the model's structure key."""
        return part is not None

    def prior_rows(self, lp: LinearPredictor, part: Any, ctx: PriorContext) -> list[dict]:
        """Its rows of brms's ``get_prior`` table (see :func:`prior_row`)."""
        return []

    def slots(self, lp: LinearPredictor, part: Any) -> list[ParamSlot]:
        """Every element of its parameters that takes a prior."""
        return []

    def data_values(self, lp: LinearPredictor, part: Any) -> dict[str, np.ndarray]:
        """The values of the ``pm.Data`` containers it reads, by name."""
        return {}

    def graph(self, lp: LinearPredictor, part: Any, ctx: GraphContext) -> Any:
        """Its parameters in the PyMC model (put in ``ctx.params``), and what :meth:`add` takes."""
        raise NotImplementedError

    def add(self, eta: Any, contribution: Any) -> Any:
        """``eta`` plus its part of the linear predictor, from :meth:`graph` or :meth:`draws`."""
        raise NotImplementedError

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: Any) -> dict[str, dict[str, np.ndarray]]:
        """Its draws under brms's names, by section of the posterior (see :data:`brmc.naming.SECTIONS`)."""
        return {}

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: Any) -> dict[str, np.ndarray]:
        """Its model parameters back from brms's draws (the inverse of :meth:`rename`)."""
        return {}

    def needed(self, lp: LinearPredictor, part: Any, kept: dict[int, list[int]]) -> tuple[list[str], list[str]]:
        """The columns new data must have for it: (variables, grouping factors)."""
        return [], []

    def rows(self, lp: LinearPredictor, part: Any, ctx: RowsContext) -> Any:
        """Its values for the rows of ``ctx`` (the training rows when ``ctx.newdata`` is None)."""
        return None

    def draws(self, lp: LinearPredictor, part: Any, rows: Any, ctx: DrawsContext) -> Any:
        """What :meth:`add` takes, from the draws and :meth:`rows`."""
        raise NotImplementedError


def prior_row(prior: Dist | str | None, class_: str, coef: str = "", group: str = "", dpar: str = "",
              lb: str = "", ub: str = "", source: str = "default") -> dict:
    """One row of brms's prior table: its ``prior`` a :class:`~brmc.distributions.Dist`, or ``None``
    for a row without a prior of its own (flat, or inherited from its class).

    ``prior`` may be given as brms's text (``"lkj(1)"``; ``""``: none): it is parsed here, once.
    The table becomes text only when printed (:func:`brmc.priors.printed`).

    Example:
        >>> row = prior_row("lkj(1)", "cor")
        >>> row["class"], row["prior"]
        ('cor', Dist(name='lkj', args=(1.0,)))
    """
    if isinstance(prior, str):
        prior = None if prior.strip() in FLAT_TEXTS else parse_dist(prior)
    return {"prior": prior, "class": class_, "coef": coef, "group": group, "resp": "", "dpar": dpar,
            "nlpar": "", "lb": lb, "ub": ub, "source": source}


def default_scale(md: ModelData, link: str | None = None, offset: np.ndarray | None = None
                  ) -> tuple[float, float, bool]:
    """brms's ``def_scale_prior``: location and scale from the response on the link scale.

    The link is the family's, or ``link`` (a distributional parameter's); log-scale
    families (lognormal) always use ``log``.  A predictor's ``offset`` moves the
    location by minus its mean.  Returns ``(location, scale, data_based)``.
    """
    link = "log" if md.family.log_scale else (link or md.family.link)
    if link not in DATA_PRIOR_LINKS or md.family.kind in {"binary", "ordinal"} or md.family.cats_dpars:
        return 0.0, 2.5, False
    y = np.asarray(md.y, dtype=float)
    y = y[np.isfinite(y)] if y.ndim == 1 else y  # a response's missing values under mi() are brms's Inf
    if link in {"log", "inverse", "1/mu^2"}:
        y = np.where(y == 0, y + 0.1, y)
    with np.errstate(all="ignore"):
        y_link = LINKS[link][1](y)
    scale = r_round(r_mad(y_link), 1)
    scale = max(2.5, scale) if np.isfinite(scale) else 2.5
    location = r_round(float(np.median(y_link)), 1)
    if offset is not None and np.isfinite(offset.mean()):
        location -= float(offset.mean())
    return location, scale, True


def student_t(location: float, scale: float) -> Dist:
    """brms's data-based default ``student_t(3, location, scale)`` (:func:`default_scale`).

    Example:
        >>> print(student_t(288.7, 59.3))
        student_t(3, 288.7, 59.3)
    """
    return Dist("student_t", (3.0, float(location), float(scale)))


#: brms's default prior of correlations (``cor``, ``rescor``)
LKJ_1 = Dist("lkj", (1.0,))
#: brms's default prior of a simplex (a monotonic effect's ``simo``)
DIRICHLET_1 = Dist("dirichlet", (1.0,))
