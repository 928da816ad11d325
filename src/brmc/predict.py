"""Predictions as brms makes them: ``posterior_linpred``, ``posterior_epred``,
``posterior_predict`` and their summaries ``fitted`` and ``predict``.

``newdata`` is coded exactly as the training data were (same columns, factor
levels and contrasts; ``poly()``, ``scale()`` and ``bs()`` with the training
data's parameters, as R's ``predict``); ``re_formula`` chooses the group-level terms (``None``
all, ``False``/``"~0"``/``"NA"`` none, or a formula of a subset); new levels
of a grouping factor are refused unless ``allow_new_levels=True``, and are
then drawn as brms's ``sample_new_levels`` says.

Examples
--------
>>> fit.fitted(newdata=pd.DataFrame({"Days": [0, 5], "Subject": ["308", "new"]}),
...            allow_new_levels=True).shape
(2, 4)
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import terms
from ._docs import shared
from .contrasts import is_factor
from .data import ModelData, addition_values, truncation_bounds
from .design import design, labels_of, level_order, prepare_factors
from .effects import summarise
from .errors import DataError, close_matches
from .families import inverse_link
from .formula import parse_formula
from .naming import cor_name, sd_name
from .sampling import Rows, family_dpars, flat_draws, linear_predictor, training_design
from .terms.base import RowsContext
from .terms.gr import by_label
from .terms.re import NewBlock

if TYPE_CHECKING:
    from .fit import Fit

NEW_LEVEL_METHODS = ("uncertainty", "gaussian", "old_levels")


def _kept_blocks(md: ModelData, re_formula: Any) -> dict[int, list[int]]:
    """Blocks (by id) and coefficient positions that ``re_formula`` keeps."""
    if re_formula is None:
        return {b.id: list(range(len(b.coefs))) for b in md.blocks}
    if re_formula is False or (isinstance(re_formula, str) and re_formula.replace(" ", "") in {"~0", "NA", "~1"}):
        return {}
    if not isinstance(re_formula, str):
        raise DataError(f"re_formula must be None, False or a formula string, not {re_formula!r}.")
    text = re_formula.strip()
    terms = parse_formula("y " + text if text.startswith("~") else "y ~ " + text).group_terms
    kept: dict[int, list[int]] = {}
    for term in terms:
        blocks = [b for b in md.blocks if b.group == term.group]
        if not blocks:
            raise DataError(f"re_formula names the group {term.group!r}, which the model does not have."
                            f"{close_matches(term.group, md.groups())}")
        _, coefs = design(term.expr, _prepare(md.frame, md), md.env, md.poly)
        for b in blocks:
            positions = [k for k, c in enumerate(b.coefs) if c in coefs]
            if positions:
                kept.setdefault(b.id, []).extend(positions)
    return kept


def _prepare(frame: pd.DataFrame, md: ModelData) -> pd.DataFrame:
    """Code factors of ``frame`` with the training levels (as the data stage did)."""
    columns = [c for c in frame.columns if c in md.frame.columns]
    return prepare_factors(frame, [c for c in columns if is_factor(md.frame[c])])


def _coded(md: ModelData, newdata: pd.DataFrame, needed: list[str]) -> pd.DataFrame:
    """Training rows followed by the new rows, factors restricted to the training levels
    (so that a factor keeps its training contrasts when the new rows hold only some levels)."""
    train = md.frame[needed]
    new = newdata[needed].reset_index(drop=True)
    if new.isna().any().any():
        col = new.columns[new.isna().any()][0]
        raise DataError(f"newdata has missing values in column {col!r}; predictions need complete rows.")
    both = pd.concat([train, new], ignore_index=True)
    for col in needed:
        if is_factor(train[col]):
            levels = level_order(train[col])
            labels = labels_of(both[col].astype(train[col].dtype) if train[col].dtype == bool else both[col])
            unseen = sorted(set(labels[len(train):]) - set(levels))
            if unseen:
                raise DataError(f"newdata has level(s) {', '.join(map(repr, unseen))} of the predictor {col!r} "
                                f"that the model was not fitted with. Known levels: {', '.join(levels)}.")
            both[col] = pd.Categorical(labels, categories=levels)
    return both


def _require(newdata: pd.DataFrame, needed: list[str]) -> None:
    missing = [c for c in needed if c not in newdata.columns]
    if missing:
        raise DataError(f"newdata lacks the column(s) {', '.join(map(repr, missing))} the model needs."
                        f"{close_matches(missing[0], newdata.columns)}")


def rows_context(md: ModelData, newdata: pd.DataFrame, predictors: list[str], factors: list[str] = (),
                 kept: dict[int, list[int]] | None = None, allow_new_levels: bool = False) -> RowsContext:
    """The rows of ``newdata`` as the kinds of terms read them: its ``predictors`` coded as the
    training data were (checked: no missing values, no unseen factor levels), beside the training rows.

    Parameters
    ----------
    md : ModelData
        The model's data.
    newdata : pandas.DataFrame
        The new rows.
    predictors : list of str
        The predictor columns to code (all must be in ``newdata``).
    factors : list of str
        Grouping factors that must be in ``newdata`` too (read by the group-level kind itself).
    kept : dict, optional
        The group-level blocks (by id) and coefficients kept (``re_formula``); none when None.
    allow_new_levels : bool
        Whether group levels not seen in training are allowed.

    Returns
    -------
    RowsContext

    Examples
    --------
    >>> ctx = rows_context(fit.model_data, fit.model_data.frame.head(3), ["Days"])
    >>> len(ctx.new), len(ctx.train)
    (3, 180)
    """
    _require(newdata, [*predictors, *factors])
    prepared = _prepare(_coded(md, newdata, predictors), md)
    return RowsContext(md=md, newdata=newdata, train=prepared.iloc[: len(md.frame)],
                       new=prepared.iloc[len(md.frame) :].reset_index(drop=True), kept=kept or {},
                       allow_new_levels=allow_new_levels)


def new_design(md: ModelData, newdata: pd.DataFrame | None, re_formula: Any = None,
               allow_new_levels: bool = False, incl_autocor: bool = True) -> dict[str, Rows]:
    """Each predictor's values for ``newdata`` (or the training rows) by kind of term, by dpar."""
    kept = _kept_blocks(md, re_formula)
    if newdata is None:
        return training_design(md, kept, incl_autocor)
    if not isinstance(newdata, pd.DataFrame) or len(newdata) == 0:
        raise DataError("newdata must be a non-empty pandas DataFrame.")
    # the population parts' columns first, then the others (as brms asks for them)
    needed = [kind.needed(lp, part, kept) for kind in terms.kinds() for lp in md.predictors.values()
              if (part := lp.parts.get(kind.name)) is not None]
    predictors = list(dict.fromkeys(n for names, _ in needed for n in names if n not in md.env))
    factors = list(dict.fromkeys(f for _, groups in needed for f in groups))
    ctx = replace(rows_context(md, newdata, predictors, factors, kept, allow_new_levels), incl_autocor=incl_autocor)
    return {dpar: Rows({kind.name: kind.rows(lp, part, ctx) for kind, part in terms.parts(lp)})
            for dpar, lp in md.predictors.items()}


def _draw_subset(n_total: int, ndraws: int | None, rng: np.random.Generator) -> np.ndarray:
    if ndraws is None or ndraws >= n_total:
        return np.arange(n_total)
    return np.sort(rng.choice(n_total, size=ndraws, replace=False))


def _new_level_effects(fit: Fit, nb: NewBlock, r: np.ndarray, draws: np.ndarray, method: str,
                       rng: np.random.Generator, picks: dict[str, np.ndarray]) -> np.ndarray:
    """Group-level effects of each new level, shared by its rows: (S, n_new_levels, M).

    ``picks`` keeps the old levels drawn per grouping factor, so that, as in brms, every
    block on that factor (of any distributional parameter) borrows the same old level.  With
    ``gr(g, by = x)`` a new level borrows from (or is drawn with the sds and correlations of) the
    old levels of its own level of ``x``, as brms's ``get_new_rdraws``.
    """
    S, n_levels, M = r.shape
    n_new = int(nb.new_codes.max()) + 1
    if method in {"uncertainty", "old_levels"}:
        if nb.block.group not in picks:
            picks[nb.block.group] = _old_levels(nb, S, n_levels, n_new, method, rng)
        return r[np.arange(S)[:, None], picks[nb.block.group], :]
    if nb.block.student:
        raise DataError(f"Option sample_new_levels = 'gaussian' is not available for non-gaussian group-level "
                        f"effects: {nb.block.term} has dist = 'student'.")
    # "gaussian": r ~ N(0, Sigma) with each draw's sds and correlations
    group, post = nb.block.group, fit.idata.posterior
    out = np.empty((S, n_new, M))
    for labels, codes in _labels_of_new(nb, n_new):
        sd = np.stack([flat_draws(post[sd_name(group, c)].values)[draws] for c in labels], axis=-1)
        cor = np.tile(np.eye(M), (S, 1, 1))
        for j in range(M):
            for k in range(j + 1, M):
                name = cor_name(group, labels[j], labels[k])
                if name in post:
                    cor[:, j, k] = cor[:, k, j] = flat_draws(post[name].values)[draws]
        chol = np.linalg.cholesky(cor * sd[:, :, None] * sd[:, None, :] + 1e-12 * np.eye(M))
        out[:, codes] = np.einsum("smk,snk->snm", chol, rng.standard_normal((S, len(codes), M)))
    return out


def _old_levels(nb: NewBlock, S: int, n_levels: int, n_new: int, method: str, rng: np.random.Generator) -> np.ndarray:
    """The old level each new level borrows its effects from, per draw (``uncertainty``) or once
    (``old_levels``): (S, n_new); with ``by``, among the old levels of the new level's ``by`` level."""
    if nb.new_by is None:
        return (rng.integers(0, n_levels, size=(S, n_new)) if method == "uncertainty"  # per draw and new level
                else np.broadcast_to(rng.integers(0, n_levels, size=n_new), (S, n_new)))  # per new level
    candidates = [np.flatnonzero(nb.block.by_index == b) for b in nb.new_by]
    return np.stack([rng.choice(c, size=S) if method == "uncertainty" else np.full(S, rng.choice(c))
                     for c in candidates], axis=1)


def _labels_of_new(nb: NewBlock, n_new: int) -> list[tuple[list[str], np.ndarray]]:
    """The sd/cor labels of the new levels (:attr:`~brmc.terms.re.GroupBlock.labels`, or in a level of ``by``)
    and the new levels that take them."""
    if nb.new_by is None:
        return [(nb.block.labels, np.arange(n_new))]
    by = nb.block.term.options.by
    return [([by_label(c, by, nb.block.by_levels[b]) for c in nb.block.labels], np.flatnonzero(nb.new_by == b))
            for b in np.unique(nb.new_by)]


def _etas(fit: Fit, newdata: pd.DataFrame | None, re_formula: Any, allow_new_levels: bool,
          sample_new_levels: str, draws: np.ndarray, rng: np.random.Generator,
          incl_autocor: bool = True) -> dict[str, np.ndarray]:
    """Each predictor's linear predictor for the chosen draws and rows: (draws, rows) by dpar."""
    if sample_new_levels not in NEW_LEVEL_METHODS:
        raise DataError(f"sample_new_levels must be one of {', '.join(NEW_LEVEL_METHODS)}, "
                        f"not {sample_new_levels!r}.")
    md, post = fit.model_data, fit.idata.posterior
    picks: dict[str, np.ndarray] = {}

    def new_levels(nb: NewBlock, r: np.ndarray) -> np.ndarray:
        return _new_level_effects(fit, nb, r, draws, sample_new_levels, rng, picks)

    return {dpar: linear_predictor(post, md.predictors[dpar], nd, draws, new_levels, rng)
            for dpar, nd in new_design(md, newdata, re_formula, allow_new_levels, incl_autocor).items()}


def draw_setup(fit: Fit, ndraws: int | None, seed: int | None) -> tuple[np.ndarray, np.random.Generator]:
    """The draws a prediction uses (``ndraws`` of them at random, sorted; all when None) and the
    random numbers of everything else it draws, both from ``seed``.

    Parameters
    ----------
    fit : Fit
        The fit.
    ndraws : int, optional
        How many draws to use.
    seed : int, optional
        The seed.

    Returns
    -------
    (numpy.ndarray, numpy.random.Generator)
        Positions among chain × draw, and the generator.

    Examples
    --------
    >>> draw_setup(fit, 3, seed=1)[0].shape
    (3,)
    """
    rng = np.random.default_rng(seed)
    n_total = fit.idata.posterior.sizes["chain"] * fit.idata.posterior.sizes["draw"]
    return _draw_subset(n_total, ndraws, rng), rng


def _scalars(fit: Fit, draws: np.ndarray) -> dict[str, np.ndarray]:
    return {k: flat_draws(v)[draws] for k, v in family_dpars(fit.idata.posterior, fit.model_data).items()}


def _additions(fit: Fit, newdata: pd.DataFrame | None) -> dict[str, Any]:
    """Addition terms predictions need (``trials``, ``se``, ``trunc``), from newdata when given."""
    md = fit.model_data
    if newdata is None:
        return md.additions
    out: dict[str, Any] = {}
    for term in ("trials", "se"):
        if term in md.formula.additions:
            arg = md.formula.additions[term][0]
            if arg in md.frame.columns:
                _require(newdata, [arg])
            out[term] = np.asarray(addition_values(newdata, term, arg), dtype=float)
    if "se_sigma" in md.additions:
        out["se_sigma"] = md.additions["se_sigma"]
    if "trunc" in md.formula.additions:
        out["lb"], out["ub"] = truncation_bounds(md.formula.additions["trunc"], newdata)
    return out


def _dpar_draws(fit: Fit, etas: dict[str, np.ndarray], dpar: str, draws: np.ndarray, transform: bool) -> np.ndarray:
    """Draws × rows of one distributional parameter: its linear predictor (inverse-linked when
    ``transform``), or its one value per draw repeated over the rows."""
    md = fit.model_data
    valid = list(md.predictors) + [d.name for d in md.dpars]
    if dpar not in valid:
        raise DataError(f"Invalid argument dpar={dpar!r}. Valid distributional parameters are: "
                        f"{', '.join(valid)}.{close_matches(str(dpar), valid)}")
    if dpar in md.predictors:
        eta = etas[dpar]
        return inverse_link(md.predictors[dpar].link, eta) if transform else eta
    n_rows = next(iter(etas.values())).shape[1]
    return np.repeat(_scalars(fit, draws)[dpar], n_rows, axis=1)


@shared
def posterior_linpred(fit: Fit, newdata: pd.DataFrame | None = None, re_formula: Any = None,
                      transform: bool = False, allow_new_levels: bool = False,
                      sample_new_levels: str = "uncertainty", ndraws: int | None = None,
                      seed: int | None = None, dpar: str | None = None, incl_autocor: bool = True) -> np.ndarray:
    """The linear predictor for every draw and row, as brms's ``posterior_linpred``.

    Parameters
    ----------
    {fit}
    {newdata}
    {re_formula}
    transform : bool, default False
        Whether to apply the inverse link.
    {allow_new_levels}
    {sample_new_levels}
    {ndraws}
    {seed}
    {dpar}
    {incl_autocor}

    Returns
    -------
    numpy.ndarray
        (draws, rows); a categorical model's ``mu`` predictors on a last axis.

    Examples
    --------
    >>> posterior_linpred(fit).shape
    (400, 180)
    """
    draws, rng = draw_setup(fit, ndraws, seed)
    etas = _etas(fit, newdata, re_formula, allow_new_levels, sample_new_levels, draws, rng, incl_autocor)
    md = fit.model_data
    if dpar is None and md.family.categorical and not transform:
        return np.stack([etas[d] for d in md.mu_dpars], axis=-1)
    return _dpar_draws(fit, etas, "mu" if dpar is None else dpar, draws, transform)


@shared
def posterior_epred(fit: Fit, newdata: pd.DataFrame | None = None, re_formula: Any = None,
                    allow_new_levels: bool = False, sample_new_levels: str = "uncertainty",
                    ndraws: int | None = None, seed: int | None = None, dpar: str | None = None,
                    incl_autocor: bool = True) -> np.ndarray:
    """Expected value of the response per draw and row, as brms's ``posterior_epred``.

    Parameters
    ----------
    {fit}
    {newdata}
    {re_formula}
    {allow_new_levels}
    {sample_new_levels}
    {ndraws}
    {seed}
    {dpar}
    {incl_autocor}

    Returns
    -------
    numpy.ndarray
        (draws, rows), or (draws, rows, categories) for ordinal and categorical models.

    Examples
    --------
    >>> posterior_epred(fit, dpar="sigma").shape
    (400, 180)
    """
    draws, rng = draw_setup(fit, ndraws, seed)
    etas = _etas(fit, newdata, re_formula, allow_new_levels, sample_new_levels, draws, rng, incl_autocor)
    if dpar is not None:
        return _dpar_draws(fit, etas, dpar, draws, transform=True)
    md = fit.model_data
    return md.family.expected(md.eta_mu(etas), md.dpar_values(etas, _scalars(fit, draws)),
                              _additions(fit, newdata))


@shared
def posterior_predict(fit: Fit, newdata: pd.DataFrame | None = None, re_formula: Any = None,
                      allow_new_levels: bool = False, sample_new_levels: str = "uncertainty",
                      ndraws: int | None = None, seed: int | None = None, incl_autocor: bool = True,
                      negative_rt: bool = False) -> np.ndarray:
    """New responses drawn from the posterior predictive distribution, as brms's ``posterior_predict``.

    Parameters
    ----------
    {fit}
    {newdata}
    {re_formula}
    {allow_new_levels}
    {sample_new_levels}
    {ndraws}
    {seed}
    {incl_autocor}
    negative_rt : bool, default False
        brms's ``negative_rt`` of family ``wiener``: the times of responses at the lower boundary negated.

    Returns
    -------
    numpy.ndarray
        (draws, rows); ordinal and categorical responses as category numbers 1..K, as brms.

    Examples
    --------
    >>> posterior_predict(fit, ndraws=10, seed=1).shape
    (10, 180)
    """
    if negative_rt and fit.model_data.family.name != "wiener":
        raise DataError(f"negative_rt applies to family 'wiener' only, not '{fit.model_data.family.name}'.")
    draws, rng = draw_setup(fit, ndraws, seed)
    etas = _etas(fit, newdata, re_formula, allow_new_levels, sample_new_levels, draws, rng, incl_autocor)
    md = fit.model_data
    dpars = md.dpar_values(etas, _scalars(fit, draws))
    out = terms.ac.time_predict(md, newdata, etas.get("mu"), dpars, fit.idata.posterior, draws, rng) \
        if incl_autocor else None  # cosy(), unstr(): each series drawn jointly
    additions = {**_additions(fit, newdata), **({"negative_rt": True} if negative_rt else {})}
    out = md.family.rng(md.eta_mu(etas), dpars, rng, additions) if out is None else out
    out = np.asarray(out, dtype=float)
    return out + 1 if md.family.polytomous else out


@shared
def fitted(fit: Fit, newdata: pd.DataFrame | None = None, re_formula: Any = None, summary: bool = True,
           probs: tuple[float, ...] = (0.025, 0.975), **kwargs) -> pd.DataFrame | np.ndarray:
    """brms's ``fitted``: a summary row per data row of :func:`posterior_epred`.

    Parameters
    ----------
    {fit}
    {newdata}
    {re_formula}
    {summary}
    {probs}
    **kwargs
        ``allow_new_levels``, ``sample_new_levels``, ``ndraws``, ``seed``, ``dpar`` of :func:`posterior_epred`.

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        One row per data row (a column block per category for ordinal models), or the draws.

    Examples
    --------
    >>> fitted(fit, re_formula=False).shape
    (180, 4)
    """
    draws = posterior_epred(fit, newdata, re_formula, **kwargs)
    if not summary:
        return draws
    if draws.ndim == 3:  # one summary per category, as brms's 3-D array
        labels = [f"P(Y = {lv})" for lv in fit.model_data.response_levels]
        return pd.concat({lab: summarise(draws[..., k], probs) for k, lab in enumerate(labels)}, axis=1)
    return summarise(draws, probs)


@shared
def predict(fit: Fit, newdata: pd.DataFrame | None = None, re_formula: Any = None, summary: bool = True,
            probs: tuple[float, ...] = (0.025, 0.975), **kwargs) -> pd.DataFrame | np.ndarray:
    """brms's ``predict``: a summary row per data row of :func:`posterior_predict`.

    Parameters
    ----------
    {fit}
    {newdata}
    {re_formula}
    {summary}
    {probs}
    **kwargs
        ``allow_new_levels``, ``sample_new_levels``, ``ndraws``, ``seed``, ``negative_rt`` of
        :func:`posterior_predict`.

    Returns
    -------
    pandas.DataFrame or numpy.ndarray
        One row per data row (category shares for ordinal models), or the draws.

    Examples
    --------
    >>> predict(fit, seed=1).columns.tolist()
    ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
    """
    draws = posterior_predict(fit, newdata, re_formula, **kwargs)
    if not summary:
        return draws
    if fit.family.polytomous:  # brms: the share of draws in each category
        levels = fit.model_data.response_levels
        return pd.DataFrame({f"P(Y = {lv})": (draws == k + 1).mean(axis=0) for k, lv in enumerate(levels)})
    if draws.ndim == 3:  # a cbind() response: a summary per column, as brms's 3-D array
        return pd.concat({lv: summarise(draws[..., k], probs) for k, lv in enumerate(fit.model_data.response_levels)},
                         axis=1)
    return summarise(draws, probs)

