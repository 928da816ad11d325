"""Simulation-based calibration (Talts et al. 2018; Modrák et al. 2023's SBC package).

:func:`sbc` checks that a model and its priors recover what they claim:

1. one prior-only fit (``sample_prior="only"``, every prior proper) gives
   ``n_sims`` parameter draws, thinned by ``thin_ranks`` so that successive
   draws are close to independent;
2. brmc's ``posterior_predict`` simulates one response vector per draw on the
   rows and predictors of ``data``;
3. each simulated data set is refitted (as a :mod:`brmc.cluster` job, so one
   compiled model per worker serves every refit);
4. for each parameter (brms names: ``b_``, ``sd_``, ``cor_``, ``sigma``, ...)
   the rank of the simulated value among the refit's posterior draws, thinned
   by ``thin_ranks`` as the SBC package does (``thin_ranks = 10``) to cut
   their autocorrelation, is recorded.

If the fits are calibrated, each parameter's ranks are uniform on
``0, ..., max_rank``.  :meth:`SBCResult.summary` tests that with the ECDF
test of Säilynoja et al. (2022): the statistic is the smallest two-sided
binomial tail probability of the ranks' ECDF over all rank values, its
p-value comes from 10,000 simulated sets of uniform ranks, and a parameter is
flagged when its p-value times the number of parameters (Bonferroni) is below
``alpha``.

Example:
    >>> import brmc
    >>> priors = [brmc.prior("normal(250, 50)", class_="Intercept"), brmc.prior("normal(10, 5)", class_="b"),
    ...           brmc.prior("exponential(0.05)", class_="sd"), brmc.prior("exponential(0.05)", class_="sigma")]
    >>> result = brmc.sbc("Reaction ~ Days + (1 | Subject)", brmc.datasets.load("sleepstudy"),
    ...                   prior=priors, n_sims=20, seed=1, chains=1, iter=400)  # doctest: +SKIP
    >>> result.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from . import api, plots
from ._docs import shared
from .cluster import fit_job, reported_draws, run_jobs
from .data import ModelData
from .errors import DataError, FamilyError, PriorError
from .families import Family
from .formula import BrmsFormula
from .predict import posterior_predict
from .priors import Prior, PriorSpec, replace_priors, resolve_priors
from .sampling import SamplerSettings

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .fit import Fit

#: the SBC package's default thinning of posterior draws before ranking
THIN_RANKS = 10
#: simulated uniform rank sets behind the ECDF test's p-values
N_NULL = 10_000
_SETTINGS = ("chains", "iter", "warmup", "thin", "cores", "backend", "control")


# ---------------------------------------------------------------- the ECDF uniformity test

def ecdf_statistic(ranks: np.ndarray, max_rank: int) -> np.ndarray:
    """Säilynoja et al.'s statistic: the smallest two-sided binomial tail probability of the
    ranks' ECDF at the rank values ``0 .. max_rank - 1``, per row of ``ranks`` (…, n_sims).

    Example:
        >>> float(ecdf_statistic(np.array([0, 0, 0, 0]), 9)) < 0.01
        True
    """
    ranks = np.asarray(ranks)
    n = ranks.shape[-1]
    z = np.arange(1, max_rank + 1) / (max_rank + 1)  # P(rank <= i) under uniformity
    counts = (ranks[..., None, :] <= np.arange(max_rank)[:, None]).sum(axis=-1)
    tails = 2 * np.minimum(stats.binom.cdf(counts, n, z), stats.binom.sf(counts - 1, n, z))
    return np.minimum(tails, 1.0).min(axis=-1)


@functools.lru_cache(maxsize=16)
def null_statistics(n_sims: int, max_rank: int, n: int = N_NULL, seed: int = 0) -> np.ndarray:
    """:func:`ecdf_statistic` of ``n`` sets of ``n_sims`` uniform ranks (fixed seed; kept
    for the next call with the same arguments, read-only).

    Example:
        >>> null_statistics(10, 9, n=100).shape
        (100,)
    """
    rng = np.random.default_rng(seed)
    out = np.empty(n)
    for start in range(0, n, 1000):  # in blocks, to bound memory
        block = rng.integers(0, max_rank + 1, size=(min(1000, n - start), n_sims))
        out[start:start + len(block)] = ecdf_statistic(block, max_rank)
    out.flags.writeable = False
    return out


def ecdf_pvalue(ranks: np.ndarray, max_rank: int, null: np.ndarray | None = None) -> float:
    """The p-value of the ECDF test of uniform ranks: the share of uniform rank sets whose
    statistic is as small or smaller.

    Example:
        >>> ecdf_pvalue(np.zeros(20, int), 9) < 0.001
        True
    """
    null = null_statistics(len(ranks), max_rank) if null is None else null
    return float((np.sum(null <= ecdf_statistic(ranks, max_rank)) + 1) / (len(null) + 1))


# ---------------------------------------------------------------- results

@dataclass
class SBCResult:
    """The ranks of an SBC run.

    ``ranks`` holds one row per (simulation, parameter): ``sim_id``,
    ``variable``, ``simulated_value``, ``rank``, ``max_rank``, the refit's
    ``mean``, ``sd``, ``q5``, ``q95`` and ``z_score`` (mean minus simulated
    value over sd).  ``fits`` holds one row per simulation: ``seed``,
    ``seconds``, ``compile``, ``compiled``, ``divergent``, ``pid`` and
    ``warnings`` (how many the fit gave; small fits warn about ESS).  ``draws``
    keeps each refit's draws of the parameters.

    Example:
        >>> result.summary()  # doctest: +SKIP
        >>> fig = result.plot_ecdf_diff()  # doctest: +SKIP
    """

    ranks: pd.DataFrame
    fits: pd.DataFrame
    draws: list[pd.DataFrame] = field(repr=False)
    thin_ranks: int = THIN_RANKS

    @property
    def variables(self) -> list[str]:
        """The parameters ranked, in the posterior's order.

        Example:
            >>> result.variables  # doctest: +SKIP
            ['b_Intercept', 'b_Days', 'sd_Subject__Intercept', 'sigma']
        """
        return list(dict.fromkeys(self.ranks["variable"]))

    @property
    def max_rank(self) -> int:
        """The largest possible rank: the number of kept (thinned) draws of a refit.

        Example:
            >>> result.max_rank  # doctest: +SKIP
            20
        """
        return int(self.ranks["max_rank"].iloc[0])

    def summary(self, alpha: float = 0.05) -> pd.DataFrame:
        """Per parameter: ``n_sims``, ``max_rank``, the mean rank over ``max_rank``
        (0.5 when calibrated), the mean ``z_score``, the ECDF test's ``p_value``,
        ``p_adjusted`` (times the number of parameters, at most 1) and ``flagged``
        (``p_adjusted < alpha``: miscalibrated).

        Example:
            >>> result.summary().loc["b_Days", "flagged"]  # doctest: +SKIP
            False
        """
        n_sims = self.ranks["sim_id"].nunique()
        null = null_statistics(n_sims, self.max_rank)
        rows = []
        for variable, group in self.ranks.groupby("variable", sort=False):
            p = ecdf_pvalue(group["rank"].to_numpy(), self.max_rank, null)
            rows.append({"variable": variable, "n_sims": len(group), "max_rank": self.max_rank,
                         "mean_rank": group["rank"].mean() / self.max_rank, "mean_z": group["z_score"].mean(),
                         "p_value": p})
        table = pd.DataFrame(rows).set_index("variable")
        table["p_adjusted"] = np.minimum(table["p_value"] * len(table), 1.0)
        table["flagged"] = table["p_adjusted"] < alpha
        return table

    def flagged(self, alpha: float = 0.05) -> list[str]:
        """The parameters :meth:`summary` flags as miscalibrated.

        Example:
            >>> result.flagged()  # doctest: +SKIP
            []
        """
        table = self.summary(alpha)
        return list(table.index[table["flagged"]])

    def plot_hist(self, variables: list[str] | None = None, bins: int = 20, prob: float = 0.95) -> Figure:
        """Rank histograms with the band of ``prob`` that uniform ranks give each bin.

        Example:
            >>> fig = result.plot_hist(bins=10)  # doctest: +SKIP
        """
        return plots.plot_rank_hist(self._by_variable(variables), self.max_rank, bins, prob)

    def plot_ecdf_diff(self, variables: list[str] | None = None, prob: float = 0.95) -> Figure:
        """ECDF of the ranks minus the uniform CDF, with the simultaneous band of ``prob``
        (Säilynoja et al. 2022, ArviZ's ``ecdf_confidence_band``).

        Example:
            >>> fig = result.plot_ecdf_diff()  # doctest: +SKIP
        """
        return plots.plot_rank_ecdf_diff(self._by_variable(variables), self.max_rank, prob)

    def _by_variable(self, variables: list[str] | None) -> dict[str, np.ndarray]:
        names = self.variables if variables is None else list(variables)
        unknown = [n for n in names if n not in self.variables]
        if unknown:
            raise DataError(f"Variable(s) {', '.join(map(repr, unknown))} are not in the SBC result; "
                            f"it has {', '.join(self.variables)}.")
        return {n: self.ranks.loc[self.ranks["variable"] == n, "rank"].to_numpy() for n in names}

    def _header(self) -> str:
        n_sims = self.ranks["sim_id"].nunique()
        divergent = int((self.fits["divergent"] > 0).sum())
        return (f"SBC: {n_sims} simulations, ranks among {self.max_rank} draws (thinned by {self.thin_ranks}); "
                f"{divergent} fit(s) with divergent transitions.")

    def __repr__(self) -> str:
        return f"{self._header()}\n{self.summary().round(3).to_string()}"

    def _repr_html_(self) -> str:
        table = self.summary().round(3)
        styled = table.style.apply(lambda row: ["background-color: #f8d7da" if row["flagged"] else ""] * len(row),
                                   axis=1)
        return f"<p>{self._header()}</p>{styled.to_html()}"


# ---------------------------------------------------------------- the run

def _check_proper(spec: PriorSpec) -> None:
    flat = next((p for p in spec.params if p.dist is None), None)
    if flat is not None:
        where = f"class {flat.class_!r}" + (f" coef {flat.coef!r}" if flat.coef else "") + (
            f" group {flat.group!r}" if flat.group else "")
        advice = f"prior=[brmc.prior(\"normal(0, 10)\", class_={flat.class_!r})]"
        raise PriorError(
            f"SBC draws the parameters from their priors, so every prior must be proper; {where} has a flat "
            f"prior (brms's default for 'b'). Set a proper one for the class, e.g. {advice}"
            + (f", or for this coefficient alone with coef={flat.coef!r}." if flat.coef else ".")
        )


def _response_column(md: ModelData) -> str:
    if md.family.polytomous:
        raise FamilyError(f"sbc does not simulate responses of family {md.family.name!r} yet.")
    column = md.formula.response
    if column not in md.frame.columns:
        raise DataError(f"sbc replaces the response column with simulated values; the response {column!r} "
                        "is an expression, not a column. Compute it as a column of the data first.")
    return column


def _ranks(sim_id: int, draws: pd.DataFrame, truth: pd.Series, chains: int, thin: int) -> pd.DataFrame:
    """One row per parameter: the rank of the simulated value among the thinned draws."""
    rows = []
    for variable, value in truth.items():
        x = draws[variable].to_numpy().reshape(chains, -1)[:, ::thin].reshape(-1)
        mean, sd = x.mean(), x.std(ddof=1)
        rows.append({"sim_id": sim_id, "variable": variable, "simulated_value": value,
                     "rank": int((x < value).sum()), "max_rank": len(x), "mean": mean, "sd": sd,
                     "q5": np.quantile(x, 0.05), "q95": np.quantile(x, 0.95), "z_score": (mean - value) / sd})
    return pd.DataFrame(rows)


def _simulate(md: ModelData, spec: PriorSpec, settings: SamplerSettings, n_sims: int, thin_ranks: int,
              seed: int) -> tuple[Fit, pd.DataFrame, list[pd.DataFrame]]:
    """The prior-only fit, its first ``n_sims`` thinned draws of the reported parameters and one
    data frame per draw with the response replaced by a ``posterior_predict`` simulation."""
    per_chain = -(-n_sims // settings.chains) * thin_ranks
    prior_settings = {**settings.to_dict(), "iter": settings.warmup + per_chain, "thin": thin_ranks,
                      "sample_prior": "only"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        prior_fit = api.run_fit(md, spec, SamplerSettings(**prior_settings), time.perf_counter())
    for w in caught:  # the ESS of n_sims thinned draws is no concern; the rest is
        if "Effective Samples Size" not in str(w.message):
            warnings.warn(f"SBC's prior-only fit: {w.message}", w.category, stacklevel=3)
    column = _response_column(md)
    whole = md.frame[column].dtype.kind in "iu"
    simulated = posterior_predict(prior_fit, seed=seed)[:n_sims]
    frames = [md.frame.assign(**{column: y.astype(md.frame[column].dtype) if whole else y}) for y in simulated]
    return prior_fit, reported_draws(prior_fit).iloc[:n_sims], frames


@shared
def sbc(formula: str | BrmsFormula, data: pd.DataFrame, family: str | Family = "gaussian",
        prior: list[Prior] | Prior | None = None, n_sims: int = 200, executor: Any = None,
        seed: int | None = None, *, fit_prior: list[Prior] | Prior | None = None, thin_ranks: int = THIN_RANKS,
        progress: bool = True, data_name: str | None = None, env: dict[str, Any] | None = None,
        contrasts: dict[str, str] | None = None, **brm_settings: Any) -> SBCResult:
    """Simulation-based calibration of a brms-style model and its priors.

    Parameters
    ----------
    {formula}
    data : pandas.DataFrame
        The rows and predictors the responses are simulated on.
    {family}
    prior : Prior or list of Prior
        The priors of the simulation (and of the refits, unless ``fit_prior``
        replaces some); every prior must be proper (a flat ``b``, brms's
        default, raises ``PriorError``).
    n_sims : int, default 200
        Number of simulated data sets (each one refit).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        ``None`` (fit here), a ``concurrent.futures.Executor`` or a
        ``dask.distributed.Client`` (see :mod:`brmc.cluster`).
    seed : int, optional
        Seeds the prior fit, the simulations and every refit (fixed seed, same
        numbers with any executor).
    fit_prior : Prior or list of Prior, optional
        Priors for the refits that replace ``prior`` on the same (class,
        coef, group, dpar), as :func:`brmc.update` does: simulating under one
        prior and fitting under another is a miscalibrated case SBC should flag.
    thin_ranks : int, default 10
        Keep every ``thin_ranks``-th draw of each chain, of the prior fit and of
        every refit, before ranking (the SBC package's default, 10).
    progress : bool, default True
        One progress bar over the refits (silent when not interactive).
    {data_name}
    {env}
    {contrasts}
    **brm_settings
        Sampler settings of the fits (``chains``, ``iter``, ``warmup``,
        ``thin``, ``backend``, ``control``, ``cores``).

    Returns
    -------
    SBCResult
        Ranks, per-fit information, the uniformity test per parameter and plots.

    Examples
    --------
    >>> import brmc
    >>> priors = [brmc.prior("normal(250, 50)", class_="Intercept"), brmc.prior("normal(10, 5)", class_="b"),
    ...           brmc.prior("exponential(0.05)", class_="sd"), brmc.prior("exponential(0.05)", class_="sigma")]
    >>> result = sbc("Reaction ~ Days + (1 | Subject)", brmc.datasets.load("sleepstudy"), prior=priors,
    ...              n_sims=20, seed=1, chains=1, iter=400)  # doctest: +SKIP
    >>> result.flagged()  # doctest: +SKIP
    []
    """
    unknown = sorted(set(brm_settings) - set(_SETTINGS))
    if unknown:
        raise DataError(f"sbc does not take {', '.join(unknown)}; sampler settings are {', '.join(_SETTINGS)}.")
    if isinstance(n_sims, bool) or not isinstance(n_sims, (int, np.integer)) or n_sims < 2:
        raise DataError(f"n_sims must be a whole number of at least 2, got {n_sims!r}.")
    md = api._model_data(formula, data, family, data_name, env, contrasts)
    user = api._as_list(prior)
    spec = resolve_priors(md, user)
    _check_proper(spec)
    _response_column(md)  # fail before any sampling
    fit_user = replace_priors(user, api._as_list(fit_prior))
    resolve_priors(md, fit_user)  # fail before any sampling
    seeds = np.random.SeedSequence(seed).generate_state(n_sims + 2) % (2**31)
    if "iter" in brm_settings and "warmup" not in brm_settings:  # brm's default warm-up: half of iter
        brm_settings["warmup"] = brm_settings["iter"] // 2
    settings = SamplerSettings(**{**brm_settings, "seed": int(seeds[0]), "progress": False})
    prior_fit, truth, frames = _simulate(md, spec, settings, n_sims, thin_ranks, int(seeds[1]))
    jobs = [fit_job(prior_fit, data=frame, priors=fit_user, **{**settings.to_dict(), "seed": int(s)})
            for frame, s in zip(frames, seeds[2:])]
    results = run_jobs(jobs, executor, progress=progress, desc="SBC fits")
    ranks = pd.concat([_ranks(i, r["draws"], truth.iloc[i], r["chains"], thin_ranks)
                       for i, r in enumerate(results)], ignore_index=True)
    fits = pd.DataFrame([{"seed": int(s), **{k: r[k] for k in ("seconds", "compile", "compiled", "divergent", "pid")},
                          "warnings": len(r["warnings"])}
                         for s, r in zip(seeds[2:], results)], index=pd.RangeIndex(n_sims, name="sim_id"))
    divergent = int((fits["divergent"] > 0).sum())
    if divergent:
        warnings.warn(f"{divergent} of {n_sims} SBC fits had divergent transitions (see result.fits); "
                      "their ranks may be biased.", UserWarning, stacklevel=2)
    return SBCResult(ranks=ranks, fits=fits, draws=[r["draws"] for r in results], thin_ranks=thin_ranks)
