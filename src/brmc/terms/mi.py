"""Missing values (brms's ``mi()``): a response ``y | mi() ~ ...`` whose missing values are parameters,
and predictors ``mi(x)`` (brms's special terms ``sp``) that read another response's values with its
missing ones imputed.

brms keeps the rows whose response under ``mi()`` is missing (and those missing a variable of a
``mi(x)`` term); their values are the parameters ``Ymi_<resp>`` (``vector[Nmi] Ymi``, flat, bounded
by the family's support), put in place in ``Yl = Y; Yl[Jmi] = Ymi`` before the likelihood, and a
``mi(x)`` term adds ``bsp[k] * Yl_x[n]`` (times the product ``Csp`` of its other variables,
``mi(chl):age``) to the linear predictor.  Its coefficient is of class ``b`` (coef ``michl``,
``michl:age``), flat by default; the draws are ``bsp_bmi_michl`` and ``Ymi_bmi[j]`` with ``j`` the
row of each missing value (brms's ``Jmi``).  brmc keeps the coefficients of ``mi()`` apart from
``mo()``'s (brms joins them in one ``bsp`` vector), as :mod:`brmc.terms.me` does; the names are the same.

With ``y | mi(sdy)`` (a known measurement sd, a number or a column) every row's value is latent,
``vector[N] Yl`` (draws ``Yl_<resp>[i]``, which brms keeps with ``save_pars(latent = TRUE)``), the
observed ones adding ``normal_lpdf(Y[Jme] | Yl[Jme], noise[Jme])``.  A ``mi(x)`` term needs ``x`` to
be a response of a multivariate model with ``mi()`` (:func:`link`); brmc takes ``mi()`` in ``mu``
only, without ``rescor`` or other addition terms beside it; ``mi(x, idx = id)`` reads the row of ``x``
whose ``index()`` value is ``id`` (:mod:`brmc.mvindex`).  At new rows ``mi(x)``
reads ``x`` from the new data (brms's ``prepare_predictions_sp``), which must then have it.

Example:
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("bmi | mi() ~ age"), brmc.datasets.load("nhanes"),
    ...                           brmc.get_family("gaussian"))
    >>> part = md.predictors["mu"].parts["mi"]
    >>> md.nobs, part.response.Jmi + 1, md.y[:2]
    (25, array([ 1,  3,  4,  6, 10, 11, 12, 16, 21]), array([ inf, 22.7]))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from .. import naming
from ..bases import SpecialTerm
from ..errors import DataError, FamilyError, FormulaError
from ..formula import BrmsFormula, CallTerm
from ..graph import parameter
from .base import DataContext, DrawsContext, GraphContext, ParamSlot, PriorContext, RowsContext, TermKind, prior_row

if TYPE_CHECKING:
    import xarray as xr

    from ..data import LinearPredictor, ModelData

#: the families whose response takes ``mi()`` (brms's ``ad`` lists), with the bounds of ``Ymi``
SUPPORT = {"gaussian": (None, None), "student": (None, None), "skew_normal": (None, None),
           "exgaussian": (None, None), "asym_laplace": (None, None), "lognormal": (0.0, None),
           "shifted_lognormal": (0.0, None), "gamma": (0.0, None), "weibull": (0.0, None),
           "exponential": (0.0, None), "frechet": (0.0, None), "inverse.gaussian": (0.0, None),
           "beta": (0.0, 1.0)}
#: the model's name of the terms' coefficients (``bspmi_bmi``); the draws are ``bsp_bmi_michl``
COEF = "bspmi"
#: brms's warning when a log-likelihood has NAs (R/log_lik.R: a missing response under mi()), which loo refuses
NA_MESSAGE = ("NAs were found in the log-likelihood. Possibly this is because some of your responses contain NAs. "
              "If you use 'mi' terms, try setting 'resp' to those response variables without missing values. "
              "Alternatively, use 'newdata' to predict only complete cases.")


@dataclass
class MissingResponse:
    """A response under ``mi()``: the (0-based) rows of its missing values (brms's ``Jmi`` minus
    one), the bounds of their parameters, and with ``mi(sdy)`` the known measurement sd of every
    row (brms's ``noise``; ``inf`` where the response is missing): then every row's value is latent."""

    Jmi: np.ndarray
    lb: float | None = None
    ub: float | None = None
    noise: np.ndarray | None = None

    @property
    def Jme(self) -> np.ndarray:
        """The rows whose observed value measures the latent one (brms's ``Jme`` minus one)."""
        return np.flatnonzero(np.isfinite(self.noise))


@dataclass
class MiTerm:
    """One ``mi(x)`` term (``mi(chl):age``): its brms label (``michl:age``), the variable, the product
    of its other variables (``basis.Csp``), and the response it reads, set by :func:`link`: its
    name suffix (``_chl``), training values ``y`` (``inf`` where missing) and :class:`MissingResponse`;
    with ``mi(x, idx = id)`` the values of ``id`` on its rows and, set by :mod:`brmc.mvindex`, the row of
    ``x`` each matches (brms's ``idxl``, 0-based): ``Yl_x[idxl]``."""

    term: CallTerm
    label: str
    variable: str
    basis: SpecialTerm
    target: str = ""
    y: np.ndarray | None = None
    missing: MissingResponse | None = None
    idx: str = ""
    idx_values: np.ndarray | None = None
    idxl: np.ndarray | None = None

    def indexed(self, Yl: Any) -> Any:
        """``Yl`` of ``x`` on this response's rows: ``Yl[..., idxl]`` with ``idx``, else ``Yl`` (NumPy or tensors)."""
        return Yl if self.idxl is None else Yl[..., self.idxl]


@dataclass
class MissingPart:
    """A predictor's ``mi()`` data: its response's missing values (``mu`` of a response under
    ``mi()``; else ``None``) and its ``mi(x)`` terms."""

    response: MissingResponse | None
    terms: list[MiTerm] = field(default_factory=list)


def _response_column(formula: BrmsFormula) -> str | None:
    """The column of a response under ``mi()`` (``None`` without ``mi()``).

    Raises
    ------
    FormulaError
        Other addition terms beside ``mi()``.
    """
    if "mi" not in formula.additions:
        return None
    if other := [a for a in formula.additions if a not in ("mi", "index")]:  # index(): brmc.mvindex
        raise FormulaError(f"brmc takes mi() without other addition terms yet; the response {formula.response} "
                           f"also has {', '.join(f'{a}()' for a in other)}.")
    return str(formula.response).strip("`")


def _noise(formula: BrmsFormula, frame: pd.DataFrame, missing: np.ndarray) -> np.ndarray | None:
    """``mi(sdy)``'s measurement sd of each row (a number or a column; ``inf`` where the response is
    missing, as brms's ``noise``), or ``None`` for ``mi()``."""
    if not (args := formula.additions["mi"]):
        return None
    tokens = args[0].tokens
    if len(args) != 1 or len(tokens) != 1 or tokens[0].kind not in ("number", "name"):
        raise FormulaError(f"mi() takes a number or a column as its measurement sd sdy, not {', '.join(args)}.")
    text = tokens[0].text.strip("`")
    if tokens[0].kind == "name" and not pd.api.types.is_numeric_dtype(frame[text]):
        raise DataError(f"The measurement sd {text} of mi() must be a numeric column; it holds {frame[text].dtype} "
                        "values.")
    noise = np.full(len(frame), float(text)) if tokens[0].kind == "number" else frame[text].to_numpy(dtype=float)
    if (noise < 0).any() or np.isnan(noise).any():
        raise DataError(f"The measurement sd {text} of mi() must be zero or more, and known.")
    return np.where(missing, np.inf, noise)


def _mi_arguments(formula: BrmsFormula) -> set[str]:
    """The variables of the formula's ``mi(x)`` calls (``x``)."""
    return {n for p in [formula, *formula.pforms.values()] for t in p.terms if t.kind == "mi"
            for a in t.args[:1] for n in a.variables}


def _plain_variables(formula: BrmsFormula) -> set[str]:
    """The variables the formula reads outside ``mi()``: a response without ``mi()``, the terms (a
    ``mi(x):z`` term's ``z``), grouping factors and addition terms."""
    out = set() if "mi" in formula.additions else set(formula.response.variables)
    out |= {n for args in formula.additions.values() for a in args for n in a.variables}
    for p in [formula, *formula.pforms.values()]:
        for t in p.terms:
            inside = {n for a in t.args[:1] for n in a.variables} if t.kind == "mi" else set()
            out |= (set(t.variables) - inside) | set(getattr(t, "factors", ()))
    return out


def complete_variables(formula: BrmsFormula, names: list[str]) -> list[str]:
    """Of ``names``, those whose missing values drop a row: all but a response under ``mi()`` and the
    variables of ``mi(x)`` terms, unless the formula also reads them elsewhere (brms's ``vars_keep_na``).

    Parameters
    ----------
    formula : BrmsFormula
        One response's formula.
    names : list of str
        Its variables.

    Returns
    -------
    list of str

    Examples
    --------
    >>> import brmc
    >>> complete_variables(brmc.parse_formula("bmi | mi() ~ age * mi(chl)"), ["bmi", "age", "chl"])
    ['age']
    """
    kept = ({_response_column(formula)} | _mi_arguments(formula)) - _plain_variables(formula)
    return [n for n in names if n not in kept]


def complete_mv_variables(forms: dict[str, BrmsFormula], frame: pd.DataFrame) -> list[str]:
    """The variables of a multivariate model whose missing values drop a row: all but its responses
    under ``mi()`` (and the variables of ``mi(x)`` terms, which must be such responses: :func:`link`).

    Parameters
    ----------
    forms : dict
        Each response's formula, by response.
    frame : pandas.DataFrame
        The data.

    Returns
    -------
    list of str

    Raises
    ------
    FormulaError
        A response under ``mi()`` with missing values that a formula reads outside ``mi()`` (brms would
        pass them to Stan as ``NA``).

    Examples
    --------
    >>> import brmc
    >>> f = brmc.bf("bmi | mi() ~ age * mi(chl)") + brmc.bf("chl | mi() ~ age") + brmc.set_rescor(False)
    >>> complete_mv_variables(f.forms, brmc.datasets.load("nhanes"))
    ['age']
    """
    responses = {c for f in forms.values() if (c := _response_column(f)) is not None}
    for resp, form in forms.items():
        used = sorted(v for v in _plain_variables(form) & responses if v in frame and frame[v].isna().any())
        if used:
            raise FormulaError(f"The response {used[0]!r} has missing values and is used outside mi() in the "
                               f"formula of {resp!r}; write mi({used[0]}) there.")
    return list(dict.fromkeys(v for f in forms.values() for v in complete_variables(f, f.variables())
                              if v not in responses))


def with_missing(formula: BrmsFormula, frame: pd.DataFrame, response: Callable[[pd.DataFrame], np.ndarray]
                 ) -> np.ndarray:
    """The response values from ``response(frame)``, missing values of a response under ``mi()``
    as brms's ``Inf`` (the family checks the others: the missing ones are given an observed value).

    Parameters
    ----------
    formula : BrmsFormula
        The response's formula.
    frame : pandas.DataFrame
        The rows of the model.
    response : callable
        The response's values of a frame (``data._response``, with the family's checks).

    Returns
    -------
    numpy.ndarray
        One value per row, ``inf`` where missing.

    Examples
    --------
    >>> import brmc
    >>> f = brmc.parse_formula("y | mi() ~ 1")
    >>> with_missing(f, pd.DataFrame({"y": [1.0, None, 3.0]}), lambda d: d["y"].to_numpy())
    array([ 1., inf,  3.])
    """
    column = _response_column(formula)
    if column is None:
        return response(frame)
    if column not in frame.columns:
        raise FormulaError(f"The response under mi() must be a column of the data, not {formula.response!r}.")
    missing = frame[column].isna().to_numpy()
    if missing.all():
        raise DataError(f"The response {column!r} under mi() has no observed value.")
    filled = frame.assign(**{column: frame[column].fillna(frame[column][~missing].iloc[0])})
    y = np.array(response(filled), dtype=float)
    y[missing] = np.inf
    return y


def _term(term: CallTerm, ctx: DataContext) -> MiTerm:
    if not term.args:
        raise FormulaError(f"{term} names no variable: a predictor is written mi(x), x a response with mi().")
    extra = [str(a).replace(" ", "").removeprefix("idx=") for a in term.args[1:]]
    if len(extra) > 1 or extra and not extra[0].isidentifier():
        raise FormulaError(f"'mi' only accepts single untransformed variables: {term} (mi(x) or mi(x, idx = id)).")
    idx = extra
    tokens = term.args[0].tokens
    if len(tokens) != 1 or tokens[0].kind != "name":
        raise FormulaError(f"'mi' only accepts single untransformed variables: {term}.")
    covariates = [c.tokens[0].text.strip("`") for c in term.covariates if len(c.tokens) == 1]
    if len(covariates) != len(term.covariates):
        raise FormulaError(f"The term {term} multiplies mi() by column names only (brmc reads no expressions there).")
    basis = SpecialTerm(ctx.frame, [], covariates)
    if idx and idx[0] not in ctx.frame.columns:
        raise DataError(f"The index variable {idx[0]!r} of {term} is not a column of the data.")
    return MiTerm(term, naming.brms_rename(str(term)), tokens[0].text.strip("`"), basis, idx="".join(idx),
                  idx_values=ctx.frame[idx[0]].to_numpy() if idx else None)


def link(responses: dict[str, ModelData]) -> None:
    """Join each ``mi(x)`` term of a multivariate model to the response ``x`` it reads.

    Parameters
    ----------
    responses : dict of ModelData
        The responses' data, by response (``build_mv_data`` calls it).

    Raises
    ------
    FormulaError
        brms's errors: ``x`` is not a response, or its response has no ``mi()``.

    Examples
    --------
    >>> import brmc
    >>> f = brmc.bf("bmi | mi() ~ mi(chl)") + brmc.bf("chl ~ age") + brmc.set_rescor(False)
    >>> brmc.get_prior(f, brmc.datasets.load("nhanes").dropna())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    brmc.errors.FormulaError: Response models of variables in 'mi' terms require specification of the addition argument 'mi'. See ?mi. Error occurred for chl.
    """
    parts = {resp: md.predictors["mu"].parts.get("mi") if "mu" in md.predictors else None
             for resp, md in responses.items()}
    missing = {resp: part.response for resp, part in parts.items() if part and part.response is not None}
    for md in responses.values():
        for lp in md.predictors.values():
            part = lp.parts.get("mi")
            for t in part.terms if part else []:
                if t.variable not in responses:
                    raise FormulaError("Variables in 'mi' terms should also be specified as response variables in "
                                       f"the model. See ?mi. Error occurred for '{t.variable}'.")
                if t.variable not in missing:
                    raise FormulaError("Response models of variables in 'mi' terms require specification of the "
                                       f"addition argument 'mi'. See ?mi. Error occurred for {t.variable}.")
                t.target, t.y, t.missing = f"_{t.variable}", responses[t.variable].y, missing[t.variable]


def check_univariate(md: ModelData) -> None:
    """Refuse ``mi(x)`` terms in a univariate model: ``x`` must be another response (brms's error).

    Parameters
    ----------
    md : ModelData
        A univariate model's data.

    Examples
    --------
    >>> import brmc
    >>> brmc.get_prior("bmi ~ mi(chl)", brmc.datasets.load("nhanes").dropna())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    brmc.errors.FormulaError: Variables in 'mi' terms should also be specified as response variables in the model. ...
    """
    for lp in md.predictors.values():
        if (part := lp.parts.get("mi")) and part.terms:
            raise FormulaError("Variables in 'mi' terms should also be specified as response variables in the "
                               f"model. See ?mi. Error occurred for '{part.terms[0].variable}'.")


def _named(name: str, make: Callable[[], Any]) -> Any:
    """The model's variable ``name``, made by ``make`` the first time (a response's values are read by
    its own likelihood and by the ``mi()`` terms of other responses)."""
    model = pm.modelcontext(None)
    return model[name] if name in model.named_vars else make()


def _latent(sfx: str, missing: MissingResponse, Y: Any, ctx: GraphContext) -> Any:
    """``mi(sdy)``'s latent values ``Yl<sfx>`` of every row, the observed ones adding brms's
    ``normal_lpdf(Y[Jme] | Yl[Jme], noise[Jme])`` to the density."""
    y = ctx.values[f"Y{sfx}"]
    start = np.where(np.isfinite(y), y, np.median(y[np.isfinite(y)]))
    bounded = missing.lb is not None or missing.ub is not None
    Yl = parameter(f"Yl{sfx}", (len(y),), missing.lb, missing.ub) if bounded else pm.Flat(f"Yl{sfx}", shape=len(y),
                                                                                           initval=start)
    noise, Jme = pm.Data(f"noise{sfx}", ctx.values[f"noise{sfx}"]), missing.Jme
    pm.Potential(f"Yl{sfx}_lpdf", pm.logp(pm.Normal.dist(Yl[Jme], noise[Jme]), Y[Jme]).sum())
    ctx.params[f"Yl{sfx}"] = Yl
    return Yl


def _imputed(sfx: str, missing: MissingResponse, ctx: GraphContext) -> Any:
    """``Yl``: the response's data ``Y<sfx>`` with its missing values the parameters ``Ymi<sfx>``, or
    with ``mi(sdy)`` the latent values of every row."""
    Y = _named(f"Y{sfx}", lambda: pm.Data(f"Y{sfx}", ctx.values[f"Y{sfx}"]))
    if missing.noise is not None:
        return _named(f"Yl{sfx}", lambda: _latent(sfx, missing, Y, ctx))
    if not len(missing.Jmi):
        return Y
    Ymi = _named(f"Ymi{sfx}", lambda: parameter(f"Ymi{sfx}", (len(missing.Jmi),), missing.lb, missing.ub))
    ctx.params[f"Ymi{sfx}"] = Ymi
    return pt.set_subtensor(Y[missing.Jmi], Ymi)


def response_values(md: ModelData, sfx: str, ctx: GraphContext) -> Any:
    """The values a response's likelihood takes: its data ``Y<sfx>``, missing values imputed
    (brms's ``Yl``) when it is under ``mi()``; made in the model of the current ``pm.Model()``.

    Parameters
    ----------
    md : ModelData
        The response's data.
    sfx : str
        The suffix of its model variables: ``""`` in a univariate model, ``"_bmi"``.
    ctx : GraphContext
        The graph's values and parameters.

    Returns
    -------
    pytensor.tensor.TensorVariable

    Examples
    --------
    >>> import brmc
    >>> [v.name for v in brmc.make_model("bmi | mi() ~ age", brmc.datasets.load("nhanes")).model.free_RVs][:1]
    ['Ymi']
    """
    mu = md.predictors.get("mu")  # categorical families have mu<cat>, and no mi()
    part = None if mu is None else mu.parts.get("mi")
    if part is None or part.response is None:
        return _named(f"Y{sfx}", lambda: pm.Data(f"Y{sfx}", ctx.values[f"Y{sfx}"]))
    return _imputed(sfx, part.response, ctx)


def observed(md: ModelData) -> np.ndarray:
    """The response as brms's ``log_lik`` reads it (its internal standata): missing values under
    ``mi()`` are ``NA`` (NaN), so their rows' log-likelihood is too.

    Parameters
    ----------
    md : ModelData
        A response's data.

    Returns
    -------
    numpy.ndarray
        Its response, ``nan`` where missing.

    Examples
    --------
    >>> import brmc
    >>> md = brmc.data.build_data(brmc.parse_formula("bmi | mi() ~ age"), brmc.datasets.load("nhanes"),
    ...                           brmc.get_family("gaussian"))
    >>> observed(md)[:2]
    array([ nan, 22.7])
    """
    mu = md.predictors.get("mu")  # categorical families have mu<cat>, and no mi()
    part = None if mu is None else mu.parts.get("mi")
    if part is None or part.response is None:
        return md.y
    y = np.array(md.y, dtype=float)
    y[part.response.Jmi] = np.nan
    return y


class MissingValues(TermKind):
    """The kind ``mi``: a response's missing values and a predictor's ``mi(x)`` terms."""

    name = "mi"
    calls = ("mi",)
    interacts = True

    def data(self, terms: list[CallTerm], ctx: DataContext) -> MissingPart | None:
        column = _response_column(ctx.formula) if ctx.formula is not None and ctx.dpar == "mu" else None
        if terms and (ctx.dpar != "mu" or ctx.nlpar):
            raise FormulaError(f"brmc takes mi() terms in the formula of mu only, not {ctx.dpar}: {terms[0]}.")
        if column is None and not terms:
            return None
        response = None
        if column is not None:
            if ctx.family.name not in SUPPORT:
                raise FamilyError(f"Argument 'mi' is not supported for family '{ctx.family.name}'; brmc takes it "
                                  f"with {', '.join(SUPPORT)}.")
            missing = ctx.frame[column].isna().to_numpy()
            noise = _noise(ctx.formula, ctx.frame, missing)
            response = MissingResponse(np.flatnonzero(missing), *SUPPORT[ctx.family.name], noise)
        return MissingPart(response, [_term(t, ctx) for t in terms])

    def structure(self, part: MissingPart) -> Any:
        def key(m: MissingResponse) -> tuple:
            return tuple(m.Jmi), None if m.noise is None else tuple(m.Jme)

        own = key(part.response) if part.response is not None else None
        return own, [(t.label, t.target, t.basis.Csp is not None, key(t.missing), None if t.idxl is None
                      else tuple(t.idxl)) for t in part.terms]

    def prior_rows(self, lp: LinearPredictor, part: MissingPart, ctx: PriorContext) -> list[dict]:
        if not part.terms:
            return []
        dp = naming.table_dpar(lp.dpar)
        return [prior_row("", "b", dpar=dp)] + [prior_row("", "b", coef=t.label, dpar=dp) for t in part.terms]

    def slots(self, lp: LinearPredictor, part: MissingPart) -> list[ParamSlot]:
        return [ParamSlot(f"{COEF}{lp.suffix}", k, "b", t.label, "", naming.table_dpar(lp.dpar))
                for k, t in enumerate(part.terms)]

    def data_values(self, lp: LinearPredictor, part: MissingPart) -> dict[str, np.ndarray]:
        out = {f"Cspmi{lp.suffix}_{k + 1}": t.basis.Csp for k, t in enumerate(part.terms) if t.basis.Csp is not None}
        noise = part.response.noise if part.response is not None else None
        return out if noise is None else out | {f"noise{lp.suffix}": noise}

    def graph(self, lp: LinearPredictor, part: MissingPart, ctx: GraphContext) -> list[tuple]:
        """Per term ``(bsp_k, Yl of its response, Csp_k)``; the response's own ``Ymi`` is made here too
        (a prior-only model has no likelihood to make it)."""
        sfx = lp.suffix
        if part.response is not None:
            _imputed(sfx, part.response, ctx)
        if not part.terms:
            return []
        ctx.params[COEF + sfx] = bsp = parameter(COEF + sfx, (len(part.terms),), *ctx.bounds(COEF + sfx))
        out = []
        for k, t in enumerate(part.terms):
            Csp = pm.Data(f"Cspmi{sfx}_{k + 1}", ctx.values[f"Cspmi{sfx}_{k + 1}"]) if t.basis.Csp is not None else 1.0
            out.append((bsp[k], t.indexed(_imputed(t.target, t.missing, ctx)), Csp))
        return out

    def add(self, eta: Any, contribution: list[tuple]) -> Any:
        """``eta + Σ bsp_k Yl_k Csp_k`` (draws on the leading axes of ``bsp`` and ``Yl``, or one point)."""
        for bsp, Yl, Csp in contribution:
            eta = eta + (bsp[..., None] if getattr(bsp, "ndim", 0) else bsp) * Yl * Csp
        return eta

    def rename(self, raw: xr.Dataset, lp: LinearPredictor, part: MissingPart) -> dict[str, dict]:
        sfx = lp.suffix
        out: dict[str, dict] = {}
        if part.terms:
            bsp = raw[COEF + sfx].values
            out["bsp"] = {f"bsp{sfx}_{t.label}": bsp[..., k] for k, t in enumerate(part.terms)}
        if part.response is not None and part.response.noise is not None:
            Yl = raw[f"Yl{sfx}"].values
            out["Yl"] = {f"Yl{sfx}[{i + 1}]": Yl[..., i] for i in range(Yl.shape[-1])}
        elif part.response is not None and len(part.response.Jmi):
            Ymi = raw[f"Ymi{sfx}"].values
            out["Ymi"] = {f"Ymi{sfx}[{j + 1}]": Ymi[..., i] for i, j in enumerate(part.response.Jmi)}
        return out

    def constrained(self, posterior: xr.Dataset, lp: LinearPredictor, part: MissingPart) -> dict[str, np.ndarray]:
        sfx = lp.suffix
        out = {}
        if part.terms:
            out[COEF + sfx] = np.stack([posterior[f"bsp{sfx}_{t.label}"].values for t in part.terms], axis=-1)
        if part.response is not None and part.response.noise is not None:
            out[f"Yl{sfx}"] = _draws_of(posterior, sfx, part.response)
        elif part.response is not None and len(part.response.Jmi):
            out[f"Ymi{sfx}"] = _draws_of(posterior, sfx, part.response)
        return out

    def needed(self, lp: LinearPredictor, part: MissingPart, kept: dict[int, list[int]]) -> tuple[list[str], list[str]]:
        return list(dict.fromkeys(n for t in part.terms for n in t.term.variables)), []

    def rows(self, lp: LinearPredictor, part: MissingPart, ctx: RowsContext) -> list[tuple] | None:
        """Nothing for the training rows (their imputed values are in the draws); each term's variable
        and ``Csp`` at new rows, where the variable must be observed."""
        if ctx.newdata is None:
            return None
        out = []
        for t in part.terms:
            x = pd.to_numeric(ctx.new[t.variable], errors="coerce").to_numpy(dtype=float)
            if np.isnan(x).any():
                raise DataError(f"The new data miss values of {t.variable!r}, which {t.term} reads: brms imputes "
                                "missing values of the training data only.")
            out.append((x, t.basis.covariate_product(ctx.new)))
        return out

    def draws(self, lp: LinearPredictor, part: MissingPart, rows: list | None, ctx: DrawsContext) -> list[tuple]:
        """``(bsp_k, Yl, Csp_k)``: the training values with the draws of the missing ones, or the new rows'."""
        out = []
        for k, t in enumerate(part.terms):
            bsp = ctx.pick(ctx.posterior[f"bsp{lp.suffix}_{t.label}"].values)
            if rows is None and t.missing.noise is not None:  # mi(sdy): every row's latent value
                out.append((bsp, t.indexed(ctx.pick(_draws_of(ctx.posterior, t.target, t.missing))),
                            1.0 if t.basis.Csp is None else t.basis.Csp))
            elif rows is None:
                Yl = np.repeat(t.y[None, :], len(bsp), axis=0)
                if len(t.missing.Jmi):
                    Yl[:, t.missing.Jmi] = ctx.pick(_draws_of(ctx.posterior, t.target, t.missing))
                out.append((bsp, t.indexed(Yl), 1.0 if t.basis.Csp is None else t.basis.Csp))
            else:
                x, Csp = rows[k]
                out.append((bsp, x, 1.0 if Csp is None else Csp))
        return out


def _draws_of(posterior: xr.Dataset, sfx: str, missing: MissingResponse) -> np.ndarray:
    """The draws of a response's missing values, (chain, draw, Nmi), or with ``mi(sdy)`` of all its
    latent values, (chain, draw, N)."""
    if missing.noise is not None:
        return np.stack([posterior[f"Yl{sfx}[{i + 1}]"].values for i in range(len(missing.noise))], axis=-1)
    return np.stack([posterior[f"Ymi{sfx}[{j + 1}]"].values for j in missing.Jmi], axis=-1)


KIND = MissingValues()
