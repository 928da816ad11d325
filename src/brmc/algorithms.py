"""brms's ``algorithm`` choices other than NUTS, on the JAX log density brmc builds.

Every algorithm works on the model's unconstrained parameter vector (the
:class:`brmc.backends.JaxModel` of the model's structure, compiled once per
process) and returns raw draws under the PyMC model's names, which
:func:`brmc.sampling.to_inference_data` turns into brms's parameters as it does
NUTS draws.

* ``"laplace"``: the mode by optax's L-BFGS, a normal with the inverse Hessian
  (JAX's) there, as Stan's ``laplace`` (with the Jacobian, its default);
* ``"meanfield"`` / ``"fullrank"``: ADVI with NumPyro's ``AutoNormal`` /
  ``AutoMultivariateNormal`` (:data:`ADVI_STEPS` Adam steps of a one-draw ELBO
  gradient; brms's ``iter`` does not set them);
* ``"pathfinder"``: Stan's multi-path Pathfinder from BlackJAX's single paths;
* ``"fixed_param"``: Stan's ``Fixed_param``: every draw of a chain is its initial values.

The approximate algorithms give :data:`APPROX_DRAWS` draws in one "chain", as
rstan's ``vb`` (``output_samples = 1000``).  With ``init="random"`` (the default)
the optimisations start at the priors' locations (PyMC's initial point), not at
Stan's random uniform(-2, 2) start, which puts e.g. an intercept of 300 at 0.  Why these implementations: docs/performance.md.

Example:
    >>> SAMPLERS["meanfield"]
    'variational(meanfield)'
"""

from __future__ import annotations

import time

import arviz as az
import numpy as np

from .model import BuiltModel
from .sampling import SamplerSettings, SamplingResult, jax_model

#: the draws an approximate algorithm returns (rstan's ``vb`` default ``output_samples``)
APPROX_DRAWS = 1000
#: the summary footer's ``Draws were sampled using ...`` (rstan's ``method(algorithm)``)
SAMPLERS = {"meanfield": "variational(meanfield)", "fullrank": "variational(fullrank)",
            "pathfinder": "pathfinder", "laplace": "laplace", "fixed_param": "sampling(Fixed_param)"}
#: ADVI: Adam's step size and steps (sleepstudy's b_ settle within 0.15 sd of NUTS's means by 30,000)
ADVI_STEP = 0.05
ADVI_STEPS = 30000
#: L-BFGS steps to the mode (Laplace)
MODE_STEPS = 1000
#: Pathfinder: paths (Stan's default) and most L-BFGS steps per path
PATHFINDER_PATHS = 4
PATHFINDER_STEPS = 200


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
        positions = np.repeat(starts[:, None, :], settings.draws, axis=1)
    elif settings.algorithm == "pathfinder":
        positions = _pathfinder(model.logp, data, starts[0], key)[None]
    else:
        positions = _mode_based(model.logp, data, starts[0], key, settings)[None]
    logp = jax.jit(jax.vmap(model.logp, in_axes=(0, None)))
    lp = np.asarray(logp(positions.reshape(-1, positions.shape[-1]), data)).reshape(positions.shape[:2])
    raw = az.from_dict(posterior=model.constrained(positions), sample_stats={"lp": lp})
    return SamplingResult(raw=raw, compile_seconds=t1 - t0, sample_seconds=time.perf_counter() - t1)


def _pathfinder(logp, data: tuple, start: np.ndarray, key) -> np.ndarray:
    """Multi-path Pathfinder as Stan's: BlackJAX's single-path Pathfinder from
    :data:`PATHFINDER_PATHS` starts (``start`` jittered by uniform(-1, 1)), their draws pooled
    and resampled (with replacement) by Pareto-smoothed importance weights."""
    import blackjax
    import jax

    jitter_key, path_key, draw_key = jax.random.split(key, 3)
    starts = start + jax.random.uniform(jitter_key, (PATHFINDER_PATHS, start.size), minval=-1.0, maxval=1.0)

    def one_path(k, x):
        fit_key, sample_key = jax.random.split(k)
        state, _ = blackjax.vi.pathfinder.approximate(fit_key, lambda z: logp(z, data), x,
                                                      maxiter=PATHFINDER_STEPS)
        draws, logq = blackjax.vi.pathfinder.sample(sample_key, state, APPROX_DRAWS)
        return draws, logq - jax.vmap(logp, in_axes=(0, None))(draws, data)

    draws, neg_log_ratio = jax.jit(jax.vmap(one_path))(jax.random.split(path_key, PATHFINDER_PATHS), starts)
    draws, log_ratio = np.asarray(draws).reshape(-1, start.size), -np.asarray(neg_log_ratio).reshape(-1)
    finite = np.isfinite(log_ratio)
    smoothed, _ = az.psislw(np.where(finite, log_ratio, log_ratio[finite].min()))
    weights = np.where(finite, np.exp(smoothed), 0.0)
    rng = np.random.default_rng(np.asarray(draw_key))
    return draws[rng.choice(len(draws), APPROX_DRAWS, p=weights / weights.sum())]


def posterior_mode(logp, data: tuple, start: np.ndarray) -> np.ndarray:
    """The mode of ``logp(x, data)`` on the unconstrained scale (Jacobian included, as Stan's
    ``laplace``): :data:`MODE_STEPS` steps of optax's L-BFGS from ``start``.

    Example:
        >>> import jax.numpy as jnp
        >>> float(posterior_mode(lambda x, d: -jnp.sum((x - d[0]) ** 2), (jnp.ones(2),), np.zeros(2))[0])
        1.0
    """
    import jax
    import optax

    negative = lambda x: -logp(x, data)  # noqa: E731
    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(negative)

    def step(carry, _):
        x, state = carry
        value, grad = value_and_grad(x, state=state)
        updates, state = solver.update(grad, state, x, value=value, grad=grad, value_fn=negative)
        return (optax.apply_updates(x, updates), state), None

    x0 = jax.numpy.asarray(start)
    (x, _), _ = jax.jit(lambda x: jax.lax.scan(step, (x, solver.init(x)), None, length=MODE_STEPS))(x0)
    return np.asarray(x)


def _numpyro_model(logp, size: int):
    """The log density as a NumPyro model of one unconstrained vector ``x``."""
    import numpyro
    import numpyro.distributions as dist

    def model(data):
        x = numpyro.sample("x", dist.ImproperUniform(dist.constraints.real, (), (size,)))
        numpyro.factor("logp", logp(x, data))

    return model


def _mode_based(logp, data: tuple, start: np.ndarray, key, settings: SamplerSettings) -> np.ndarray:
    """Laplace (a normal at the mode with the inverse Hessian) or ADVI from ``start``
    (NumPyro's autoguides): (draws, D) unconstrained draws."""
    import jax
    from numpyro import optim
    from numpyro.infer import SVI, Trace_ELBO, autoguide, init_to_value

    advi_key, draw_key = jax.random.split(key)
    if settings.algorithm == "laplace":
        mode = posterior_mode(logp, data, start)
        hessian = np.asarray(jax.hessian(lambda x: -logp(x, data))(mode))
        cov = np.linalg.inv(0.5 * (hessian + hessian.T))
        rng = np.random.default_rng(np.asarray(draw_key))
        return rng.multivariate_normal(mode, cov, size=APPROX_DRAWS, method="cholesky")
    model = _numpyro_model(logp, start.size)
    kind = autoguide.AutoNormal if settings.algorithm == "meanfield" else autoguide.AutoMultivariateNormal
    guide = kind(model, init_loc_fn=init_to_value(values={"x": start}), init_scale=0.1)
    svi = SVI(model, guide, optim.Adam(ADVI_STEP), Trace_ELBO())
    params = svi.run(advi_key, ADVI_STEPS, data, progress_bar=False).params
    return np.asarray(guide.sample_posterior(draw_key, params, sample_shape=(APPROX_DRAWS,))["x"])
