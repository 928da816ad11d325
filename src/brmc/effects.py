"""``fixef``, ``ranef``, ``coef`` and ``VarCorr`` as brms computes them.

Summaries are DataFrames with brms's columns ``Estimate``, ``Est.Error``,
``Q2.5``, ``Q97.5`` (other ``probs`` give other ``Q`` columns);
``summary=False`` returns the draws instead.  Group-level results are dicts
by grouping factor whose frames are indexed by (level, coef), levels in the
model's order.

Example:
    >>> summarise(np.array([[1.0], [2.0], [3.0]]), probs=(0.5,)).columns.tolist()
    ['Estimate', 'Est.Error', 'Q50']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ._docs import shared
from .naming import coef_label, cor_name, fixef_variables, sd_name

if TYPE_CHECKING:
    from .fit import Fit

Probs = tuple[float, ...]


def _q_name(p: float) -> str:
    return f"Q{p * 100:g}"


def summarise(draws: np.ndarray, probs: Probs = (0.025, 0.975), index: list | pd.Index | None = None) -> pd.DataFrame:
    """Summarise draws of shape (n_draws, k) into one row per column."""
    draws = np.asarray(draws, dtype=float).reshape(draws.shape[0], -1) if np.ndim(draws) > 1 else np.asarray(draws)[:, None]
    out = {"Estimate": draws.mean(axis=0), "Est.Error": draws.std(axis=0, ddof=1)}
    for p, q in zip(probs, np.quantile(draws, probs, axis=0)):
        out[_q_name(p)] = q
    return pd.DataFrame(out, index=index)


def as_draws_df(post: xr.Dataset) -> pd.DataFrame:
    """A posterior as one frame, one column per scalar, as brms's ``as_draws_df``:
    group-level effects spelled ``r_Subject[308,Intercept]``, then ``.chain``,
    ``.iteration`` and ``.draw``.

    Parameters
    ----------
    post : xarray.Dataset
        The posterior group of an InferenceData with brms names (chain, draw, ...).

    Returns
    -------
    pandas.DataFrame
        One row per draw.

    Examples
    --------
    >>> post = xr.Dataset({"b_x": (("chain", "draw"), np.zeros((2, 3)))})
    >>> as_draws_df(post).columns.tolist()
    ['b_x', '.chain', '.iteration', '.draw']
    """
    n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
    columns: dict[str, np.ndarray] = {}
    for name, var in post.data_vars.items():
        values = var.values.reshape(n_chain * n_draw, *var.shape[2:])
        if var.ndim == 2:
            columns[str(name)] = values
            continue
        level_dim, coef_dim = var.dims[2], var.dims[3]
        for k, coef in enumerate(var[coef_dim].values):
            for j, level in enumerate(var[level_dim].values):
                columns[f"{name}[{level},{coef}]"] = values[:, j, k]
    frame = pd.DataFrame(columns)
    frame[".chain"] = np.repeat(np.arange(1, n_chain + 1), n_draw)
    frame[".iteration"] = np.tile(np.arange(1, n_draw + 1), n_chain)
    frame[".draw"] = np.arange(1, n_chain * n_draw + 1)
    return frame


def _flat(fit: Fit, name: str) -> np.ndarray:
    """A posterior variable with chains and draws merged: (n_draws, ...)."""
    values = fit.idata.posterior[name].values
    return values.reshape(-1, *values.shape[2:])


@shared
def fixef(fit: Fit, summary: bool = True, probs: Probs = (0.025, 0.975)) -> pd.DataFrame:
    """Population-level effects (``b_``, and ``bs_``, ``bsp_``, ``bcs_``), as brms's ``fixef``.

    Parameters
    ----------
    {fit}
    {summary}
    {probs}

    Returns
    -------
    pandas.DataFrame
        One row per coefficient, or with ``summary=False`` one column of draws each.

    Examples
    --------
    >>> bool(5 < fixef(fit).loc["Days", "Estimate"] < 15)
    True
    """
    rows = fixef_variables(fit.idata.posterior, fit.model_data)
    draws = pd.DataFrame({row: _flat(fit, name) for row, name in rows.items()})
    return summarise(draws.to_numpy(), probs, index=list(rows)) if summary else draws


@shared
def ranef(fit: Fit, summary: bool = True, probs: Probs = (0.025, 0.975)) -> dict[str, pd.DataFrame]:
    """Group-level effects ``r_<group>`` by grouping factor, as brms's ``ranef``; the
    coefficients of other distributional parameters are named as brms names them
    (``sigma_Intercept``).

    Parameters
    ----------
    {fit}
    {summary}
    {probs}

    Returns
    -------
    dict of str to pandas.DataFrame
        Per grouping factor, rows indexed by (level, coef); with ``summary=False`` a
        frame of draws with (level, coef) columns.

    Examples
    --------
    >>> ranef(fit)["Subject"].loc[("308", "Days")].index.tolist()
    ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
    """
    return {g: _by_level(*_group_draws(fit, g), summary, probs) for g in fit.model_data.groups()}


def _group_draws(fit: Fit, group: str) -> tuple[np.ndarray, list[str], list[str]]:
    """All group-level effects on ``group`` across predictors: (n_draws, level, coef), levels, coefs."""
    md = fit.model_data
    blocks = {b.r_name: b for b in md.blocks if b.group == group}
    values, coefs = [], []
    for name, block in blocks.items():
        var = fit.idata.posterior[name]
        values.append(_flat(fit, name))
        coefs += [coef_label(block.pname, str(c)) for c in var[var.dims[3]].values]
    return np.concatenate(values, axis=2), next(iter(blocks.values())).levels, coefs


def _by_level(values: np.ndarray, levels: list[str], coefs: list[str], summary: bool, probs: Probs) -> pd.DataFrame:
    """(n_draws, level, coef) draws → frame indexed by (level, coef), coef-major as brms's long format."""
    index = pd.MultiIndex.from_tuples([(lv, c) for c in coefs for lv in levels], names=["level", "coef"])
    flat = np.swapaxes(values, 1, 2).reshape(values.shape[0], -1)
    if not summary:
        return pd.DataFrame(flat, columns=index)
    return summarise(flat, probs, index=index)


@shared
def coef(fit: Fit, summary: bool = True, probs: Probs = (0.025, 0.975)) -> dict[str, pd.DataFrame]:
    """Population plus group-level effects per level, as brms's ``coef``.

    Parameters
    ----------
    {fit}
    {summary}
    {probs}

    Returns
    -------
    dict of str to pandas.DataFrame
        Per grouping factor, rows indexed by (level, coef).

    Examples
    --------
    >>> len(coef(fit)["Subject"].xs("Days", level="coef"))
    18
    """
    b = fixef(fit, summary=False)
    out = {}
    for g in fit.model_data.groups():
        r, levels, coefs = _group_draws(fit, g)
        for k, c in enumerate(coefs):
            if c in b:
                r[:, :, k] += b[c].to_numpy()[:, None]
        out[g] = _by_level(r, levels, coefs, summary, probs)
    return out


@shared
def VarCorr(fit: Fit, summary: bool = True, probs: Probs = (0.025, 0.975)) -> dict[str, dict[str, pd.DataFrame]]:
    """Standard deviations, correlations and covariances per group plus the residual, as brms's ``VarCorr``.

    Parameters
    ----------
    {fit}
    {summary}
    {probs}

    Returns
    -------
    dict
        Per grouping factor (and ``residual__``) a dict of ``sd``, ``cor``, ``cov`` frames;
        ``cor`` and ``cov`` are indexed by (coef, coef) pairs covering the whole matrix.

    Examples
    --------
    >>> sorted(VarCorr(fit)["Subject"])
    ['cor', 'cov', 'sd']
    """
    md = fit.model_data
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for g in md.groups():
        coefs = [c for b in md.blocks if b.group == g for c in b.sd_labels]  # gr(g, by = x): in each level of x
        sd = np.stack([_flat(fit, sd_name(g, c)) for c in coefs], axis=1)
        M = len(coefs)
        cor = np.tile(np.eye(M), (sd.shape[0], 1, 1))
        for j in range(M):
            for k in range(j + 1, M):
                name = cor_name(g, coefs[j], coefs[k])
                if name in fit.idata.posterior:
                    cor[:, j, k] = cor[:, k, j] = _flat(fit, name)
        cov = cor * sd[:, :, None] * sd[:, None, :]
        pairs = pd.MultiIndex.from_product([coefs, coefs])
        parts = {"sd": (sd, coefs), "cor": (cor.reshape(len(cor), -1), pairs), "cov": (cov.reshape(len(cov), -1), pairs)}
        out[g] = {k: summarise(v, probs, index=i) if summary else pd.DataFrame(v, columns=i)
                  for k, (v, i) in parts.items()}
    if "sigma" in fit.idata.posterior:
        sigma = _flat(fit, "sigma")[:, None]
        out["residual__"] = {"sd": summarise(sigma, probs, index=[""]) if summary else pd.DataFrame(sigma, columns=[""])}
    return out
