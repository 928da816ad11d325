"""brms's ``algorithm`` choices other than NUTS, on the JAX log density brmc builds.

Every algorithm works on the model's unconstrained parameter vector (the
:class:`brmc.backends.JaxModel` of the model's structure, compiled once per
process) and returns raw draws under the PyMC model's names, which
:func:`brmc.sampling.to_inference_data` turns into brms's parameters as it does
NUTS draws.

* ``"laplace"``: the mode by optax's L-BFGS, a normal with the inverse Hessian
  (JAX's) there, as Stan's ``laplace`` (with the Jacobian, its default);
* ``"meanfield"`` / ``"fullrank"``: ADVI (:mod:`brmc.advi`: mean-field on fixed draws
  by L-BFGS, full-rank by Adam from the mean-field fit; brms's ``iter`` does not set
  their iterations);
* ``"pathfinder"``: Stan's multi-path Pathfinder from BlackJAX's single paths, their normals
  centred as Stan's (:mod:`brmc.pathfinder`: BlackJAX 1.7.1 centres them a step away from the mode);
* ``"fixed_param"``: Stan's ``Fixed_param``: every draw of a chain is its initial values.

Every approximation is checked against the model's log density as Stan checks it: the Pareto k
of the importance ratios ``lp - lp_approx`` of its draws (Pareto-smoothed importance sampling,
Vehtari et al. 2024; for ``"pathfinder"`` of the pooled paths' draws before resampling, as Stan's
multi-path Pathfinder reports it; for ADVI as rstan's ``vb`` and Yao et al. 2018 do).  It is kept in
``fit.idata.sample_stats.attrs["pareto_k"]``, each draw's ``lp`` and ``lp_approx`` (Stan's
``lp__``/``lp_approx__``, ``log_p__``/``log_g__`` in ``laplace``) in ``sample_stats``, and a
k above :data:`PARETO_K_MAX` warns that the approximation is poor.

The approximate algorithms give :data:`APPROX_DRAWS` draws in one "chain", as
rstan's ``vb`` (``output_samples = 1000``).  With ``init="random"`` (the default)
the optimisations start at the priors' locations (PyMC's initial point), not at
Stan's random uniform(-2, 2) start, which puts e.g. an intercept of 300 at 0.
Each program (optimiser, Hessian, paths) is jitted once per model structure and
process, the data being its arguments.  Why these implementations: docs/performance.md.

Example:
    >>> SAMPLERS["meanfield"]
    'variational(meanfield)'
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import arviz as az
import numpy as np

from . import advi, pathfinder
from .backends import JaxModel
from .model import BuiltModel
from .sampling import SamplerSettings, SamplingResult, jax_model

#: the draws an approximate algorithm returns (rstan's ``vb`` default ``output_samples``)
APPROX_DRAWS = 1000
#: the summary footer's ``Draws were sampled using ...`` (rstan's ``method(algorithm)``)
SAMPLERS = {"meanfield": "variational(meanfield)", "fullrank": "variational(fullrank)",
            "pathfinder": "pathfinder", "laplace": "laplace", "fixed_param": "sampling(Fixed_param)"}
#: Pathfinder (Stan's defaults but the iterations): paths, most L-BFGS iterations per path, L-BFGS's
#: history, draws per ELBO estimate (BlackJAX estimates the ELBO at every possible iteration)
PATHFINDER_PATHS = 4
PATHFINDER_STEPS = 200
PATHFINDER_HISTORY = 5
PATHFINDER_ELBO_DRAWS = 25
#: the Pareto k above which importance ratios say the approximation is poor (Stan's, loo's 0.7)
PARETO_K_MAX = 0.7


class Approximation(NamedTuple):
    """An approximation's (draws, D) unconstrained draws and its log density ``lp_approx`` at each;
    ``pareto_k`` where it is not that of the draws' own importance ratios (Pathfinder's, of the
    pooled paths before resampling)."""

    draws: np.ndarray
    lp_approx: np.ndarray
    pareto_k: float | None = None


def is_mcmc(settings: SamplerSettings) -> bool:
    """Whether the fit's draws come from Markov chains (Rhat and ESS mean something).

    Example:
        >>> is_mcmc(SamplerSettings(algorithm="laplace"))
        False
    """
    return settings.algorithm == "sampling"


def approximate(built: BuiltModel, settings: SamplerSettings) -> SamplingResult:
    """Run ``settings.algorithm`` (not ``"sampling"``) on ``built``: raw draws under the
    model's names, and an ``lp`` statistic (the log density of each draw).

    Parameters
    ----------
    built : BuiltModel
        The model (:func:`brmc.make_model`).
    settings : SamplerSettings
        ``algorithm``, ``seed``, ``init`` and, for
        ``"fixed_param"``, ``chains`` and the draws.

    Returns
    -------
    SamplingResult
        Raw draws (chain, draw, ...) and timings.

    Examples
    --------
    >>> from brmc.model import build_model
    >>> built = build_model(fit.model_data, fit.priors)
    >>> res = approximate(built, SamplerSettings(algorithm="laplace", seed=1))
    >>> res.raw.posterior.sizes["draw"]
    1000
    """
    import jax

    t0 = time.perf_counter()
    model, data = jax_model(built)
    init_seed, key_seed = np.random.SeedSequence(settings.seed).spawn(2)
    key = jax.random.PRNGKey(int(key_seed.generate_state(1)[0]))
    if settings.algorithm == "fixed_param" or settings.init != "random":
        chains = settings.chains if settings.algorithm == "fixed_param" else 1
        starts = model.initial_points(chains, init_seed, data, settings.init, built.start)
    else:  # optimisers start at the priors' locations (random starts put Intercept ~ 0 far off)
        starts = model.support_point(data, built.start)[None]
    t1 = time.perf_counter()
    if settings.algorithm == "fixed_param":
        positions, approximation = np.repeat(starts[:, None, :], settings.draws, axis=1), None
    else:
        approximation = _APPROXIMATIONS[settings.algorithm](model, data, starts[0], key)
        positions = approximation.draws[None]
    logp = _program(model, "lp", starts.shape[-1])
    lp = np.asarray(logp(positions.reshape(-1, positions.shape[-1]), data)).reshape(positions.shape[:2])
    stats = {"lp": lp} if approximation is None else {"lp": lp, "lp_approx": approximation.lp_approx[None]}
    raw = az.from_dict(posterior=model.constrained(positions), sample_stats=stats)
    if approximation is not None:
        k = approximation.pareto_k
        raw.sample_stats.attrs["pareto_k"] = pareto_k(lp[0] - approximation.lp_approx) if k is None else k
        _warn_pareto_k(settings.algorithm, raw.sample_stats.attrs["pareto_k"])
    return SamplingResult(raw=raw, compile_seconds=t1 - t0, sample_seconds=time.perf_counter() - t1)


def pareto_k(log_ratio: np.ndarray) -> float:
    """The Pareto k of log importance ratios (PSIS's tail shape; non-finite ratios count as
    the smallest finite one).

    Parameters
    ----------
    log_ratio : numpy.ndarray
        ``log p - log q`` of draws from ``q``.

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = rng.standard_normal(4000)  # q = normal(0, 1), narrower than p = normal(0, 2): k = 1 - 1/4 in theory
    >>> round(pareto_k(-0.5 * (x / 2) ** 2 + 0.5 * x ** 2), 1)
    0.7
    """
    return _smoothed_weights(log_ratio)[1]


def _smoothed_weights(log_ratio: np.ndarray) -> tuple[np.ndarray, float]:
    """Normalised Pareto-smoothed importance weights of ``log_ratio`` (0 where it is not finite)
    and their Pareto k."""
    finite = np.isfinite(log_ratio)
    smoothed, k = az.psislw(np.where(finite, log_ratio, log_ratio[finite].min()))
    weights = np.where(finite, np.exp(smoothed - smoothed.max()), 0.0)
    return weights / weights.sum(), float(k)


def _warn_pareto_k(algorithm: str, k: float) -> None:
    """Stan's warning (Pathfinder) or its like (ADVI as rstan's ``vb``, Laplace) when the
    approximation's Pareto k exceeds :data:`PARETO_K_MAX`."""
    if k <= PARETO_K_MAX:
        return
    if algorithm == "pathfinder":
        message = (f"Pareto k value ({k:.2f}) is greater than {PARETO_K_MAX}. Importance resampling was not able to "
                   "improve the approximation, which may indicate that the approximation itself is poor.")
    else:
        message = (f"Pareto k diagnostic value is {k:.2f}: the {algorithm} approximation is far from the "
                   f"posterior (k > {PARETO_K_MAX}); its means and intervals may be badly off. "
                   "Consider algorithm='sampling'.")
    warnings.warn(message, UserWarning, stacklevel=4)


def _pathfinder(model: JaxModel, data: tuple, start: np.ndarray, key) -> Approximation:
    """Multi-path Pathfinder as Stan's: single-path Pathfinder (:mod:`brmc.pathfinder`) from
    :data:`PATHFINDER_PATHS` starts (``start`` jittered by uniform(-1, 1)), their draws pooled
    and resampled (with replacement) by Pareto-smoothed importance weights; the Pareto k is the
    pooled draws'."""
    import jax

    jitter_key, path_key, draw_key = jax.random.split(key, 3)
    starts = start + jax.random.uniform(jitter_key, (PATHFINDER_PATHS, start.size), minval=-1.0, maxval=1.0)
    paths = _program(model, "pathfinder", start.size)
    draws, lp_approx, log_ratio = (np.asarray(a).reshape(-1, *a.shape[2:]) for a in
                                   paths(data, starts, jax.random.split(path_key, PATHFINDER_PATHS)))
    weights, k = _smoothed_weights(log_ratio)
    chosen = np.random.default_rng(np.asarray(draw_key)).choice(len(draws), APPROX_DRAWS, p=weights)
    return Approximation(draws[chosen], lp_approx[chosen], k)


def _normal(mean: np.ndarray, factor: np.ndarray, rng: np.random.Generator) -> Approximation:
    """:data:`APPROX_DRAWS` draws of the normal with ``mean`` and Cholesky factor ``factor``, and
    its log density at each."""
    eps = rng.standard_normal((APPROX_DRAWS, mean.size))
    lp_approx = (-0.5 * np.sum(eps ** 2, axis=1) - np.sum(np.log(np.abs(np.diag(factor))))
                 - 0.5 * mean.size * np.log(2 * np.pi))
    return Approximation(mean + eps @ factor.T, lp_approx)


def _laplace(model: JaxModel, data: tuple, start: np.ndarray, key) -> Approximation:
    """Stan's ``laplace``: draws of the normal at the mode (:func:`brmc.advi.minimise`, Jacobian
    included) with the inverse of the negative Hessian there as its covariance."""
    mode, hessian = (np.asarray(a) for a in _program(model, "laplace", start.size)(data, start))
    cov = np.linalg.inv(0.5 * (hessian + hessian.T))
    return _normal(mode, np.linalg.cholesky(cov), np.random.default_rng(np.asarray(key)))


def _advi(algorithm: str, model: JaxModel, data: tuple, start: np.ndarray, key) -> Approximation:
    """ADVI (:mod:`brmc.advi`): the fixed-draw mean-field fit, then stochastic-gradient ADVI
    (mean-field or full-rank) from it."""
    fit_seed, stochastic_seed, draw_seed = np.random.SeedSequence(np.asarray(key).tolist()).generate_state(3)
    mean, log_sd = _program(model, "fixed", start.size)(data, start, fit_seed)
    run = _program(model, algorithm, start.size)
    mean, factor, _ = (np.asarray(a) for a in run(data, mean, log_sd, stochastic_seed))
    return _normal(mean, factor, np.random.default_rng(draw_seed))


#: the approximations by ``algorithm``: (JAX model, data, start, JAX key) -> Approximation
_APPROXIMATIONS = {"pathfinder": _pathfinder, "laplace": _laplace, "meanfield": partial(_advi, "meanfield"),
                   "fullrank": partial(_advi, "fullrank")}


def _pathfinder_program(logp, size: int):
    """Single-path Pathfinder (:func:`brmc.pathfinder.approximate`: BlackJAX's, its normals centred
    as Stan's) with Stan's settings, jitted and run path by path:
    ``(data, starts (paths, D), keys) -> (draws, log q, log p - log q)``, :data:`APPROX_DRAWS` per path."""
    import blackjax
    import jax

    def one_path(data, key, x):
        fit_key, sample_key = jax.random.split(key)
        state = pathfinder.approximate(fit_key, lambda z: logp(z, data), x, elbo_draws=PATHFINDER_ELBO_DRAWS,
                                       maxiter=PATHFINDER_STEPS, maxcor=PATHFINDER_HISTORY)
        draws, logq = blackjax.vi.pathfinder.sample(sample_key, state, APPROX_DRAWS)
        return draws, logq, jax.vmap(logp, in_axes=(0, None))(draws, data) - logq

    # one path after another: BlackJAX evaluates the ELBO at every iteration at once, 200 x 25 draws
    # of the density per path (InstEval: 7 GB), so mapping the paths with vmap held four times that
    return jax.jit(lambda data, starts, keys: jax.lax.map(lambda a: one_path(data, *a), (keys, starts)))


def _laplace_program(logp, size: int):
    """The mode of ``logp`` by L-BFGS and the Hessian of ``-logp`` there (one Hessian-vector
    product per parameter, in batches), jitted: ``(data, start) -> (mode, Hessian)``."""
    import jax
    import jax.numpy as jnp

    def run(data, start):
        negative = lambda x, data: -logp(x, data)  # noqa: E731
        mode = advi.minimise(negative, jnp.asarray(start), data)
        gradient = jax.grad(negative)
        hvp = lambda v: jax.jvp(lambda x: gradient(x, data), (mode,), (v,))[1]  # noqa: E731
        return mode, jax.lax.map(hvp, jnp.eye(size, dtype=mode.dtype), batch_size=64)

    return jax.jit(run)


def _lp_program(logp, size: int):
    """``logp`` of each row of (draws, D), jitted."""
    import jax

    return jax.jit(jax.vmap(logp, in_axes=(0, None)))


#: what :func:`_program` makes, by name: (log density, size) -> jitted program
_MAKERS = {"fixed": advi.meanfield_program, "meanfield": partial(advi.stochastic_program, full=False),
           "fullrank": partial(advi.stochastic_program, full=True),
           "pathfinder": _pathfinder_program, "laplace": _laplace_program, "lp": _lp_program}


def _program(model: JaxModel, name: str, size: int) -> Callable:
    """The jitted program ``name`` of ``model``'s density, kept with the model (one per model
    structure, so a new fit of the same structure reuses the compiled code)."""
    if name not in model.programs:
        model.programs[name] = _MAKERS[name](model.logp, size)
    return model.programs[name]
