"""brms's ``bridge_sampler``, ``bayes_factor`` and ``post_prob``: the log marginal likelihood
by bridge sampling, as the bridgesampling package computes it for a Stan fit (Meng & Wong
1996; Gronau et al. 2017).

The draws on the model's unconstrained scale (:mod:`brmc.unconstrained`) are split as
bridgesampling splits a stanfit's: the first half of each chain fits the proposal, a
multivariate normal with their mean and covariance; the second half, with as many draws
from the proposal, runs the iterative scheme with Meng & Wong's optimal bridge function
(``r0 = 0.5``; relative change of the estimate below 1e-10, else a second run from the
geometric mean of its last two values to a relative change of the log estimate below
1e-4; at most ``maxiter`` steps each).  ``method="warp3"`` matches the proposal's mean,
covariance and (by symmetrising the posterior) its skewness, as bridgesampling's warp-3.
The effective sample size in the scheme is the median ESS of the second half's parameters.

The density is the model's compiled log density with the Jacobian of the constraining
transforms, plus the constants it leaves out and Stan's normalised densities keep: the mass
of each bounded prior within its bounds (``- log 2`` for a half-normal ``sd``) and the LKJ
prior's normalising constant.  brms needs ``save_pars(all = TRUE)`` and a normalised Stan
model; brmc needs neither.  A model with an improper (flat) prior, such as brms's default
on ``b``, has no marginal likelihood: brmc warns.

Example:
    >>> round(float(np.exp(lkj_log_normaliser(1.0, 3))), 4)  # the volume of 3 x 3 correlation matrices: pi^2 / 2
    4.9348
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr
from scipy.special import betaln, logsumexp
from scipy.stats import multivariate_normal

from ._docs import shared
from .distributions import pymc_dist
from .errors import DataError
from .mvdata import MvModelData
from .priors import PriorSpec
from .rprint import format_named_vector, html_report
from .summary import arviz_numpy
from .unconstrained import UnconstrainedPosterior

if TYPE_CHECKING:
    from .data import ModelData
    from .fit import Fit

METHODS = ("normal", "warp3")


# ---------------------------------------------------------------- the constants the model leaves out

def lkj_log_normaliser(eta: float, K: int) -> float:
    """log of ``∫ det(R)^(eta - 1) dR`` over K × K correlation matrices (Lewandowski, Kurowicka
    and Joe 2009): what Stan's normalised ``lkj_corr_cholesky_lpdf`` subtracts.

    Example:
        >>> from scipy import integrate
        >>> area = integrate.quad(lambda r: (1 - r * r) ** 1.5, -1, 1)[0]  # K = 2, eta = 2.5
        >>> bool(np.isclose(lkj_log_normaliser(2.5, 2), np.log(area)))
        True
    """
    k = np.arange(1, K)
    a = eta + (K - k - 1) / 2
    return float(np.sum((2 * eta - 2 + K - k) * (K - k)) * np.log(2) + np.sum((K - k) * betaln(a, a)))


def log_normaliser(spec: PriorSpec, md: ModelData) -> float:
    """What the model's log density lacks of Stan's normalised one: minus the log mass of each
    bounded prior within its bounds, and minus each LKJ prior's log normalising constant.

    Example:
        >>> # sleepstudy: three half student_t priors (sd's, sigma: 3 log 2) and a 2 x 2 LKJ(1) (- log 2)
        >>> bool(np.isclose(log_normaliser(fit.priors, fit.model_data), 2 * np.log(2)))
        True
    """
    terms = []
    for p in spec.params:
        if p.dist is None or p.dist.name == "lkj" or (p.lb is None and p.ub is None):
            continue
        dist = pymc_dist(p.dist.name, p.dist.args)
        lower = pt.exp(pm.logcdf(dist, np.float64(p.lb))) if p.lb is not None else pt.constant(0.0)
        upper = pt.exp(pm.logcdf(dist, np.float64(p.ub))) if p.ub is not None else pt.constant(1.0)
        terms.append(-pt.log(upper - lower))
    with pytensor.config.change_flags(cxx=""):
        total = float(pt.sum(pt.stack(terms)).eval()) if terms else 0.0
    sizes = {f"L_{b.id}": len(b.joint_labels) for b in md.blocks if b.correlated and b.leads}  # one per ID
    if isinstance(md, MvModelData) and md.rescor:  # the residual correlations
        sizes["Lrescor"] = len(md.responses)
    for param, K in sizes.items():
        lkj = next(p for p in spec.params if p.param == param)
        total -= lkj_log_normaliser(lkj.dist.args[0] if lkj.dist else 1.0, K)
    return total


def improper_priors(spec: PriorSpec) -> list[str]:
    """The classes (and coefficients) with a flat prior, as brms names them.

    Example:
        >>> improper_priors(fit.priors)
        ['b (Days)']
    """
    return [f"{p.class_}{f' ({p.coef})' if p.coef else ''}" for p in spec.params
            if p.dist is None and not p.param.startswith("L_")]


# ---------------------------------------------------------------- the iterative scheme

def iterative_scheme(l1: np.ndarray, l2: np.ndarray, neff: float, r0: float, tol: float, maxiter: int,
                     criterion: str) -> tuple[float, int, list[float]]:
    """bridgesampling's ``.run.iterative.scheme``: Meng & Wong's fixed point for the ratio r of
    normalising constants, from log ratios ``l1`` (posterior draws) and ``l2`` (proposal draws)
    of the unnormalised posterior to the proposal.

    Returns the log marginal likelihood (NaN when ``maxiter`` steps did not converge), the
    steps taken and the values of r.

    Example:
        >>> l = np.log(np.full(100, 3.0))  # the posterior is 3 times the proposal everywhere
        >>> bool(np.isclose(iterative_scheme(l, l, 100, 0.5, 1e-10, 1000, "r")[0], np.log(3)))
        True
    """
    lstar = float(np.median(l1))
    n2 = len(l2)
    s1, s2 = neff / (neff + n2), n2 / (neff + n2)
    r, values, logml = r0, [r0], np.log(r0) + lstar
    with np.errstate(over="ignore"):
        for step in range(1, maxiter + 1):
            numerator = 1 / (s1 + s2 * r * np.exp(lstar - l2))
            denominator = 1 / (s1 * np.exp(l1 - lstar) + s2 * r)
            old, old_logml = r, logml
            r = float(np.mean(numerator) / np.mean(denominator))
            logml = np.log(r) + lstar
            values.append(r)
            change = abs((r - old) / r) if criterion == "r" else abs((logml - old_logml) / logml)
            if change <= tol:
                return float(logml), step, values
    return float("nan"), maxiter, values


# ---------------------------------------------------------------- the results

class _Printed:
    """A result whose ``str()`` is its printed text: the same in the REPL and, in a ``<pre>``, in a notebook."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return html_report([str(self)])


@dataclass(repr=False, eq=False)
class BridgeResult(_Printed):
    """bridgesampling's ``bridge`` object: ``logml``, the iterations ``niter``, the ``method``,
    and the log densities the scheme used (``q11``: posterior at the posterior draws, ``q12``:
    proposal at them, ``q21``, ``q22``: the same at the proposal draws); ``str()`` is its print."""

    logml: float
    niter: int
    method: str
    q11: np.ndarray = field(repr=False)
    q12: np.ndarray = field(repr=False)
    q21: np.ndarray = field(repr=False)
    q22: np.ndarray = field(repr=False)

    def error_measures(self) -> dict[str, float | str]:
        """bridgesampling's ``error_measures`` (``method="normal"``): the approximate relative
        mean-squared error ``re2`` of the marginal likelihood (Frühwirth-Schnatter 2004), its square
        root ``cv`` and that as a percentage.

        Example:
            >>> import warnings
            >>> with warnings.catch_warnings():
            ...     warnings.simplefilter("ignore")
            ...     res = bridge_sampler(fit, seed=1)
            >>> sorted(res.error_measures())
            ['cv', 'percentage', 're2']
        """
        if self.method != "normal":
            raise DataError("error_measures is not available for method='warp3' (as in bridgesampling, "
                            "with one repetition).")
        N1, N2 = len(self.q11), len(self.q22)
        s1, s2 = N1 / (N1 + N2), N2 / (N1 + N2)
        log_p_p, log_p_g = self.q11 - self.logml, self.q21 - self.logml
        f1 = np.exp(log_p_g - np.logaddexp(np.log(s1) + log_p_g, np.log(s2) + self.q22))
        f2 = np.exp(self.q12 - np.logaddexp(np.log(s1) + log_p_p, np.log(s2) + self.q12))
        re2 = (np.var(f1, ddof=1) / np.mean(f1) ** 2 / N2
               + _integrated_autocorrelation(f2) / N1 * np.var(f2, ddof=1) / np.mean(f2) ** 2)
        cv = float(np.sqrt(re2))
        return {"re2": float(re2), "cv": cv, "percentage": f"{100 * cv:.0f}%"}

    def __str__(self) -> str:
        return (f"Bridge sampling estimate of the log marginal likelihood: {_r_round(self.logml, 5)}\n"
                f'Estimate obtained in {self.niter} iteration(s) via method "{self.method}".')


def _integrated_autocorrelation(x: np.ndarray) -> float:
    """len(x) / ESS(x): the spectral density at 0 of ``x`` relative to its variance."""
    with arviz_numpy():
        ess = float(az.ess(xr.Dataset({"x": xr.DataArray(x[None], dims=("chain", "draw"))}), method="mean")["x"])
    return len(x) / ess if np.isfinite(ess) and ess > 0 else 1.0


def _r_round(x: float, digits: int) -> str:
    """R's ``cat(round(x, digits))``: up to ``digits`` decimals, trailing zeros dropped."""
    return "NA" if np.isnan(x) else f"{round(x, digits):.{digits}f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- bridge_sampler

def _nearest_pd(V: np.ndarray) -> np.ndarray:
    """V with its eigenvalues raised to a small positive floor (as Matrix's ``nearPD`` makes it usable)."""
    values, vectors = np.linalg.eigh(0.5 * (V + V.T))
    floor = 1e-8 * max(values.max(), 1e-300)
    return (vectors * np.maximum(values, floor)) @ vectors.T


@shared
def bridge_sampler(fit: Fit, method: str = "normal", maxiter: int = 1000, use_neff: bool = True,
                   seed: int | None = None) -> BridgeResult:
    """The log marginal likelihood by bridge sampling, as brms's ``bridge_sampler(fit)``
    (bridgesampling's method for a Stan fit; see :mod:`brmc.bridge`).

    Parameters
    ----------
    {fit}
    method : str, default ``"normal"``
        ``"normal"`` (a multivariate normal proposal) or ``"warp3"`` (warp-3: mean, covariance and
        skewness matched).
    maxiter : int, default 1000
        The most steps of the iterative scheme.
    use_neff : bool, default True
        Whether the scheme weighs the posterior draws by their effective sample size.
    seed : int, optional
        Seed of the proposal draws.

    Returns
    -------
    BridgeResult
        ``logml``, ``niter``, ``method``, :meth:`BridgeResult.error_measures`; printed as
        bridgesampling prints it.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # brms's default flat prior on b: an improper prior
    ...     res = bridge_sampler(fit, seed=1)
    >>> print(res)  # doctest: +ELLIPSIS
    Bridge sampling estimate of the log marginal likelihood: ...
    Estimate obtained in ... iteration(s) via method "normal".
    """
    if method not in METHODS:
        raise DataError(f"method must be 'normal' or 'warp3', not {method!r}.")
    stored = fit.criteria.get("marglik")
    if isinstance(stored, BridgeResult) and not np.isnan(stored.logml):
        return stored  # brms returns the criterion add_criterion computed
    flat = improper_priors(fit.priors)
    if flat:
        warnings.warn(f"The model has improper (flat) priors on {', '.join(flat)}: its marginal likelihood is "
                      "not defined, and the estimate depends on an arbitrary constant. Give every parameter a "
                      "proper prior before comparing models by Bayes factors.", UserWarning, stacklevel=2)
    post = UnconstrainedPosterior.of(fit)
    upars = post.upars.reshape(post.chains, -1, post.upars.shape[1])
    half = round(upars.shape[1] / 2)  # R's round: half to even
    for_fit = upars[:, :half].reshape(-1, upars.shape[2])
    for_iter = upars[:, half:]
    neff = float(np.median(_ess(for_iter))) if use_neff else for_iter.shape[0] * for_iter.shape[1]
    for_iter = for_iter.reshape(-1, upars.shape[2])
    mean, V = for_fit.mean(axis=0), _nearest_pd(np.atleast_2d(np.cov(for_fit, rowvar=False)))
    rng = np.random.default_rng(seed)
    n, D = for_iter.shape
    if method == "normal":
        proposal = multivariate_normal(mean, V)
        generated = rng.multivariate_normal(mean, V, size=n, method="cholesky")
        q11, q12 = post.log_prob(for_iter), proposal.logpdf(for_iter).reshape(n)
        q21, q22 = post.log_prob(generated), proposal.logpdf(generated).reshape(n)
        shift = 0.0
    else:  # warp-3: the posterior symmetrised about the mean, standardised by the covariance
        L = np.linalg.cholesky(V)
        standard = multivariate_normal(np.zeros(D), np.eye(D))
        generated = rng.standard_normal((n, D))
        q11 = np.logaddexp(post.log_prob(for_iter), post.log_prob(2 * mean - for_iter))
        q12 = standard.logpdf(np.linalg.solve(L, (for_iter - mean).T).T).reshape(n)
        q21 = np.logaddexp(post.log_prob(mean - generated @ L.T), post.log_prob(mean + generated @ L.T))
        q22 = standard.logpdf(generated).reshape(n)
        shift = -np.log(2) + np.sum(np.log(np.diag(L)))
    q11, q21 = (np.where(np.isnan(q), -np.inf, q) for q in (q11, q21))
    l1, l2 = shift + q11 - q12, shift + q21 - q22
    logml, niter, values = iterative_scheme(l1, l2, neff, 0.5, 1e-10, maxiter, "r")
    if np.isnan(logml):
        warnings.warn("logml could not be estimated within maxiter, rerunning with adjusted starting value. "
                      "Estimate might be more variable than usual.", UserWarning, stacklevel=2)
        logml, more, _ = iterative_scheme(l1, l2, neff, float(np.sqrt(values[-2] * values[-1])), 1e-4, maxiter,
                                          "logml")
        niter += more
        if np.isnan(logml):
            warnings.warn("logml could not be estimated within maxiter, returning NA.", UserWarning, stacklevel=2)
    constant = log_normaliser(fit.priors, fit.model_data)
    return BridgeResult(logml=logml + constant, niter=niter, method=method, q11=q11 + constant, q12=q12,
                        q21=q21 + constant, q22=q22)


def _ess(draws: np.ndarray) -> np.ndarray:
    """The ESS of each parameter of (chain, draw, parameter) draws."""
    data = xr.Dataset({"x": xr.DataArray(draws, dims=("chain", "draw", "parameter"))})
    with arviz_numpy():
        return np.asarray(az.ess(data, method="mean")["x"].values)


# ---------------------------------------------------------------- Bayes factors and posterior model probabilities

@dataclass(repr=False, eq=False)
class BayesFactor(_Printed):
    """bridgesampling's ``bf_bridge``: the Bayes factor ``bf`` of the first model over the second
    (its log when ``log``); ``str()`` is its print."""

    bf: float
    log: bool
    model_names: tuple[str, str]

    def __float__(self) -> float:
        return float(self.bf)

    def __str__(self) -> str:
        return (f"Estimated {'log ' if self.log else ''}Bayes factor in favor of {self.model_names[0]} over "
                f"{self.model_names[1]}: {self.bf:.5f}")


def match_response(fits: Sequence[Fit], what: str = "marginal likelihoods") -> None:
    """brms's ``match_response``: a ``DataError`` unless every model has the same response values.

    Example:
        >>> match_response([fit, fit])
    """
    first = _response_values(fits[0].model_data)
    for fit in fits[1:]:
        ys = _response_values(fit.model_data)
        if len(ys) != len(first) or any(np.shape(y) != np.shape(y0) or not np.allclose(y, y0, equal_nan=True)
                                        for y, y0 in zip(ys, first)):
            raise DataError(f"Responses of the models do not match: {what} of models of different data cannot "
                            "be compared.")


def _response_values(md: ModelData | MvModelData) -> list[np.ndarray]:
    """The model's response values: one array, or one per response of a multivariate model."""
    mds = md.responses.values() if isinstance(md, MvModelData) else [md]
    return [np.asarray(m.y, dtype=float) for m in mds]


def _model_names(n: int, model_names: Sequence[str] | None) -> list[str]:
    names = list(model_names) if model_names is not None else [f"fit{i + 1}" for i in range(n)]
    if len(names) != n:
        raise DataError(f"model_names must give {n} names, got {names!r}.")
    return names


def bayes_factor(fit1: Fit, fit2: Fit, log: bool = False, model_names: Sequence[str] | None = None,
                 **kwargs) -> BayesFactor:
    """The Bayes factor of ``fit1`` over ``fit2`` by bridge sampling, as brms's ``bayes_factor``.

    Parameters
    ----------
    fit1 : Fit
        A fit (with proper priors).
    fit2 : Fit
        A fit of the same observations (with proper priors).
    log : bool, default False
        Whether to give the log Bayes factor.
    model_names : sequence of str, optional
        The two models' names in the printed text; ``fit1``, ``fit2`` when None.
    **kwargs
        Arguments of :func:`bridge_sampler` (``method``, ``seed``, ...).

    Returns
    -------
    BayesFactor
        ``bf`` (``float()`` of it too); printed as bridgesampling prints it.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = bayes_factor(fit, fit, log=True, seed=1)
    >>> print(res)  # doctest: +ELLIPSIS
    Estimated log Bayes factor in favor of fit1 over fit2: ...
    """
    match_response([fit1, fit2])
    names = _model_names(2, model_names)
    logml1, logml2 = bridge_sampler(fit1, **kwargs).logml, bridge_sampler(fit2, **kwargs).logml
    bf = logml1 - logml2 if log else float(np.exp(logml1 - logml2))
    return BayesFactor(bf=bf, log=log, model_names=(names[0], names[1]))


class PostProb(pd.Series):
    """Posterior model probabilities by model name (a Series), printed as R prints a named vector."""

    @property
    def _constructor(self):
        return pd.Series

    def __repr__(self) -> str:
        return format_named_vector(self.to_numpy(dtype=float), [str(n) for n in self.index])

    __str__ = __repr__


def post_prob(*fits: Fit, prior_prob: Sequence[float] | None = None, model_names: Sequence[str] | None = None,
              **kwargs) -> PostProb:
    """Posterior model probabilities by bridge sampling, as brms's ``post_prob``:
    ``exp(logml_m) prior_m / sum(exp(logml) prior)``.

    Parameters
    ----------
    *fits : Fit
        Two or more fits of the same observations (with proper priors).
    prior_prob : sequence of float, optional
        The models' prior probabilities, summing to 1; equal when None.
    model_names : sequence of str, optional
        The models' names; ``fit1``, ``fit2``, ... when None.
    **kwargs
        Arguments of :func:`bridge_sampler` (``method``, ``seed``, ...).

    Returns
    -------
    PostProb
        A probability per model (a Series by name); printed as R prints it.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = post_prob(fit, fit, prior_prob=[0.2, 0.8], seed=1)
    >>> res.index.tolist(), round(float(res.sum()), 6)
    (['fit1', 'fit2'], 1.0)
    """
    if len(fits) < 2:
        raise DataError("post_prob needs at least two models.")
    match_response(fits)
    names = _model_names(len(fits), model_names)
    prior = np.full(len(fits), 1 / len(fits)) if prior_prob is None else np.asarray(prior_prob, dtype=float)
    if not np.isclose(prior.sum(), 1):
        raise DataError("Prior model probabilities do not sum to one.")
    if len(prior) != len(fits):
        raise DataError("Number of objects/logml-values needs to match number of elements in prior_prob.")
    logml = np.array([bridge_sampler(f, **kwargs).logml for f in fits])
    if np.any(np.isnan(logml)):
        warnings.warn("NAs in logml values. No posterior probabilities calculated.", UserWarning, stacklevel=2)
        return PostProb(np.full(len(fits), np.nan), index=names)
    weighted = logml + np.log(prior)
    return PostProb(np.exp(weighted - logsumexp(weighted)), index=names)
