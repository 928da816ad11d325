"""brms's ``loo_moment_match``: importance-weighted moment matching for the observations
whose Pareto k is high (Paananen et al. 2021, as loo 2.5's ``loo_moment_match.default``).

For an observation i with k > ``k_threshold``, the posterior draws on the unconstrained
scale are moved by affine maps towards the leave-one-out posterior: (1) a shift of the
mean to the importance-weighted mean, (2) the shift and a scaling of each marginal
variance, (3) the shift and a map of the covariance (only when there are at least 10
draws per parameter).  A map is kept when the Pareto k of the new importance weights
``p(T θ) / (p(θ) p(y_i | T θ))`` is lower; after a kept map the three are tried again
from the first, at most ``max_iters`` times.  With ``split=True`` (loo's default) the
accumulated map is applied to half of the draws and its inverse to the other half, and
the weights are those of the mixture of the two proposals (multiple importance sampling).

The density and the log-likelihood of observation i at the moved draws are the model's
own compiled functions (:class:`brmc.unconstrained.UnconstrainedPosterior`); nothing is
recompiled per observation.

Example:
    >>> S = np.random.default_rng(1).normal(size=(400, 2))
    >>> moved, shift = mean_shift(S, np.full(400, -np.log(400)))
    >>> bool(np.allclose(shift, 0))
    True
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logsumexp

from ._docs import shared
from .criteria import (
    K_HELP,
    K_THRESHOLD,
    LooResult,
    _estimates,
    _mcse_elpd,
    _psis,
    relative_eff,
    stored_loo,
)
from .errors import DataError
from .unconstrained import UnconstrainedPosterior

if TYPE_CHECKING:
    from .fit import Fit


# ---------------------------------------------------------------- the three maps

def mean_shift(upars: np.ndarray, lw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """loo's ``shift``: the draws moved so that their mean is the weighted mean (weights ``exp(lw)``).

    Returns the moved draws and the shift.
    """
    shift = np.exp(lw) @ upars - upars.mean(axis=0)
    return upars + shift, shift


def shift_and_scale(upars: np.ndarray, lw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """loo's ``shift_and_scale``: mean and marginal variances matched to the weighted ones.

    Returns the moved draws, the shift and the scaling.

    Example:
        >>> x = np.random.default_rng(2).normal(size=(1000, 1))
        >>> lw = np.log(np.where(x[:, 0] > 0, 2.0, 1.0)); lw -= np.log(np.exp(lw).sum())
        >>> moved, shift, scaling = shift_and_scale(x, lw)
        >>> bool(np.isclose(moved.mean(), np.exp(lw) @ x[:, 0]))
        True
    """
    S = len(upars)
    w = np.exp(lw)
    mean, weighted = upars.mean(axis=0), w @ upars
    variance = (w @ upars**2 - weighted**2) * S / (S - 1)
    scaling = np.sqrt(variance / upars.var(axis=0, ddof=1))
    return (upars - mean) * scaling + weighted, weighted - mean, scaling


def shift_and_cov(upars: np.ndarray, lw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """loo's ``shift_and_cov``: mean and covariance matched to the weighted ones (the map
    ``chol(weighted cov)ᵀ chol(cov)⁻ᵀ``; the identity when the weighted covariance is singular).

    Returns the moved draws, the shift and the map.
    """
    w = np.exp(lw)
    mean, weighted = upars.mean(axis=0), w @ upars
    centred = upars - weighted
    # R's cov.wt: unbiased, sum(w) = 1
    wcov = (w[:, None] * centred).T @ centred / (1 - np.sum(w**2))
    try:
        chol_weighted = np.linalg.cholesky(wcov)
        mapping = chol_weighted @ np.linalg.inv(np.linalg.cholesky(np.cov(upars, rowvar=False)))
    except np.linalg.LinAlgError:
        mapping = np.eye(upars.shape[1])
    return (upars - mean) @ mapping.T + weighted, weighted - mean, mapping


# ---------------------------------------------------------------- one observation

def _log_weights(log_ratios: np.ndarray, r_eff: float) -> tuple[np.ndarray, float]:
    """PSIS of one vector of log ratios (NaN as -inf, as loo): normalised log weights and k."""
    lw, k = _psis(-np.where(np.isnan(log_ratios), -np.inf, log_ratios)[:, None], np.array([r_eff]))
    return lw[0], float(k[0])


@dataclass
class _State:
    """Observation i's moment matching so far: the moved draws, their weights and Pareto k
    (of the leave-one-out weights ``lw``, and of the full posterior's ``lwf``), and the
    accumulated map."""

    upars: np.ndarray
    log_lik: np.ndarray
    lw: np.ndarray
    lwf: np.ndarray
    k: float
    kf: float
    shift: np.ndarray
    scaling: np.ndarray
    mapping: np.ndarray = field(repr=False)


@dataclass
class _Observation:
    """Observation i of ``post``, with the log density of the original draws."""

    post: UnconstrainedPosterior
    i: int
    orig_log_prob: np.ndarray
    r_eff: float
    resp: str | list[str] | None = None

    def moved(self, upars: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float, np.ndarray]:
        """loo's ``update_quantities_i`` at moved draws: weights and k for the leave-one-out and
        the full posterior, and the log-likelihood."""
        log_prob = self.post.log_prob(upars)
        log_lik = self.post.log_lik(upars, [self.i], self.resp)[:, 0]
        lw, k = _log_weights(-log_lik + log_prob - self.orig_log_prob, self.r_eff)
        lwf, kf = _log_weights(log_prob - self.orig_log_prob, self.r_eff)
        return lw, lwf, k, kf, log_lik

    def split(self, state: _State, cov: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """loo's ``loo_moment_match_split``: the accumulated map T on the first half of the
        original draws, T⁻¹ on the second, weighted as a mixture of the two proposals.

        Returns the log-likelihood, the leave-one-out and full weights, and ``r_eff``.
        """
        upars = self.post.upars
        S = len(upars)
        half = S // 2
        mean = upars.mean(axis=0)
        mapping = state.mapping if cov else np.eye(upars.shape[1])
        forward = ((upars - mean) * state.scaling) @ mapping.T + state.shift + mean
        inverse = ((upars - mean) @ np.linalg.inv(mapping).T) / state.scaling + mean - state.shift
        trans, trans_inv = upars.copy(), upars.copy()
        trans[:half], trans_inv[half:] = forward[:half], inverse[half:]
        log_prob = self.post.log_prob(trans)
        log_prob_inv = (self.post.log_prob(trans_inv) - np.sum(np.log(state.scaling))
                        - np.linalg.slogdet(mapping)[1])
        log_lik = self.post.log_lik(trans, [self.i], self.resp)[:, 0]
        with np.errstate(invalid="ignore"):
            lw, _ = _log_weights(-log_lik + log_prob - np.logaddexp(log_prob, log_prob_inv), self.r_eff)
            lwf, _ = _log_weights(lw + log_lik, self.r_eff)
        # loo computes r_eff from each proposal's half and keeps the smaller
        r_eff = min(relative_eff(log_lik[:half, None][None])[0], relative_eff(log_lik[half:, None][None])[0])
        return log_lik, lw, lwf, float(r_eff)


def match_observation(post: UnconstrainedPosterior, i: int, k: float, orig_log_prob: np.ndarray,
                      log_lik: np.ndarray, max_iters: int, k_threshold: float, split: bool,
                      cov: bool, resp: str | list[str] | None = None) -> dict[str, float]:
    """loo's ``loo_moment_match_i`` for observation ``i`` (Pareto k ``k``, log-likelihood
    ``log_lik`` (chain, draw) at the fit's draws; of responses ``resp`` of a multivariate fit).

    Returns the pointwise ``elpd_loo``, ``p_loo``, ``mcse_elpd_loo``, ``looic``, the new Pareto
    k (``k``), the full posterior's (``kf``) and ``n_eff``.
    """
    r_eff = float(relative_eff(log_lik[..., None])[0])
    flat = log_lik.reshape(-1)
    S, D = post.upars.shape
    lpd = logsumexp(flat) - np.log(S)
    obs = _Observation(post, i, orig_log_prob, r_eff, resp)
    lw, _ = _log_weights(-flat, r_eff)
    state = _State(post.upars, flat, lw, np.full(S, -np.log(S)), k, 0.0, np.zeros(D), np.ones(D), np.eye(D))
    iteration = 1
    while iteration <= max_iters and state.k > k_threshold:
        if iteration == max_iters:
            warnings.warn("The maximum number of moment matching iterations ('max_iters' argument) was reached. "
                          "Increasing the value may improve accuracy.", UserWarning, stacklevel=3)
        candidates = [("shift", mean_shift), ("scale", shift_and_scale)] + ([("cov", shift_and_cov)] if cov else [])
        for kind, transform in candidates:
            moved, shift, *extra = transform(state.upars, state.lw)
            lw, lwf, k_new, kf, ll = obs.moved(moved)
            if k_new < state.k:
                state = replace(state, upars=moved, log_lik=ll, lw=lw, lwf=lwf, k=k_new, kf=kf,
                                shift=state.shift + shift,
                                scaling=state.scaling * extra[0] if kind == "scale" else state.scaling,
                                mapping=extra[0] @ state.mapping if kind == "cov" else state.mapping)
                iteration += 1
                break
        else:  # no map lowered k: no use trying further
            break
    if split and iteration > 1:
        flat, lw, lwf, r_eff = obs.split(state, cov)
    else:
        flat, lw, lwf = state.log_lik, state.lw, state.lwf
        r_eff = float(relative_eff(flat.reshape(post.chains, -1)[..., None])[0])
    elpd = float(logsumexp(flat + lw))
    mcse = float(_mcse_elpd(flat[:, None], lw[None], np.array([elpd]), np.array([r_eff]))[0])
    n_eff = min(1 / np.sum(np.exp(2 * lw)), 1 / np.sum(np.exp(2 * lwf))) * r_eff
    return {"elpd_loo": elpd, "p_loo": lpd - elpd, "mcse_elpd_loo": mcse, "looic": -2 * elpd,
            "k": state.k, "kf": state.kf, "n_eff": float(n_eff)}


# ---------------------------------------------------------------- all problematic observations

@shared
def loo_moment_match(fit: Fit, loo: LooResult | None = None, k_threshold: float = K_THRESHOLD,
                     max_iters: int = 30, split: bool = True, cov: bool = True,
                     resp: str | list[str] | None = None) -> LooResult:
    """Moment matching for the observations with high Pareto k, as brms's ``loo_moment_match``
    (Paananen et al. 2021; loo's algorithm and defaults).

    Each observation with k > ``k_threshold`` gets its ``elpd_loo``, ``p_loo``, ``mcse_elpd_loo``,
    ``looic``, Pareto k and ``n_eff`` from importance sampling of affinely moved draws (see
    :mod:`brmc.moment_match`); the other rows stay.  Warns, as loo does, when some k are still
    above 0.7.  brms needs ``save_pars(all = TRUE)``; brmc works on any fit.  Of a multivariate
    fit the log-likelihood is brms's ``log_lik(fit, resp = resp)``: each row's of all responses
    (with ``rescor`` their joint density), or of the ``resp`` the ``loo`` result was computed for.

    Parameters
    ----------
    {fit}
    {loo_result}
    k_threshold : float, default 0.7
        Observations with a larger Pareto k are moment matched.
    max_iters : int, default 30
        The most accepted maps per observation.
    split : bool, default True
        Whether to use the split proposal (the map on half the draws, its inverse on the other).
    cov : bool, default True
        Whether to try the covariance map (needs at least 10 draws per parameter).
    resp : str or list of str, optional
        A multivariate fit's responses, as ``loo`` was given them (then ``loo`` is needed); all when None.

    Returns
    -------
    LooResult
        A new result; ``pointwise["influence_pareto_k"]`` holds the Pareto k after matching.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     before = brmc.loo(fit)
    ...     after = loo_moment_match(fit, before)
    >>> bool(after.pareto_k.max() <= before.pareto_k.max())
    True
    """
    if resp is not None and not isinstance(loo, LooResult):
        raise DataError("loo_moment_match with resp= needs loo=brmc.loo(fit, resp=...) of the same responses.")
    loo = stored_loo(fit, loo) if resp is None else loo
    bad = np.flatnonzero(loo.pareto_k > k_threshold)
    if not len(bad):
        return loo
    post = UnconstrainedPosterior.of(fit)
    S, D = post.upars.shape
    orig_log_prob = post.log_prob(post.upars)
    ll = np.asarray(fit.log_lik(resp=resp), dtype=float)
    pointwise, n_eff = loo.pointwise.copy(), np.array(loo.n_eff, dtype=float)
    kf = np.zeros(ll.shape[-1])
    for i in bad:
        res = match_observation(post, int(i), float(loo.pareto_k[i]), orig_log_prob, ll[..., i], max_iters,
                                k_threshold, split, cov and S >= 10 * D, resp)
        for column in ("elpd_loo", "p_loo", "mcse_elpd_loo", "looic"):
            pointwise.loc[i, column] = res[column]
        pointwise.loc[i, "influence_pareto_k"] = res["k"]
        n_eff[i], kf[i] = res["n_eff"], res["kf"]
    result = LooResult(estimates=_estimates(pointwise, ["elpd_loo", "p_loo", "looic"]), pointwise=pointwise,
                       dims=loo.dims, n_eff=n_eff)
    if np.any(result.pareto_k > K_THRESHOLD):  # loo's throw_pareto_warnings
        warnings.warn(f"Some Pareto k diagnostic values are too high. {K_HELP}", UserWarning, stacklevel=2)
    if not split and np.any(kf > k_threshold):
        warnings.warn("The accuracy of self-normalized importance sampling may be bad. Setting the argument "
                      "'split' to 'TRUE' will likely improve accuracy.", UserWarning, stacklevel=2)
    return result
