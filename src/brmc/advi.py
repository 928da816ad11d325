"""ADVI (Kucukelbir et al. 2017), Stan's ``meanfield`` and ``fullrank``, and the L-BFGS they and
``laplace`` use, as jitted JAX programs of a log density ``logp(x, data)`` on the unconstrained
parameter vector ``x``.  Each program is made once per model structure and takes the data as an
argument, so a new fit of the same structure reuses the compiled code.

* ``meanfield``: a normal with independent components.  First L-BFGS maximises the ELBO estimated
  on :data:`FIXED_DRAWS` fixed standard-normal draws (antithetic pairs: the deterministic ADVI of
  Giordano, Ingram & Broderick 2024), which crosses the ridges of non-centred multilevel models
  that stochastic gradients crawl along (with Adam at 0.05 from the priors' locations,
  sleepstudy's ``b_Days`` was still 3.8 posterior sd off after 10,000 steps).  From there Stan's
  stochastic-gradient ADVI (one draw per gradient, ``grad_samples = 1``) with Adam removes the
  fixed draws' own error (jsp_bivariate, D = 1,109: ``b_`` 1.3 sd off on the fixed draws alone,
  0.13 after): it climbs at :data:`STEP_SIZE` until the ELBO, averaged over windows of
  :data:`WINDOW` steps, changes by less than :data:`TOL_REL_OBJ` relatively (Stan's
  ``tol_rel_obj`` check on windows rather than one noisy estimate), then settles for
  :data:`SETTLE_STEPS` steps with the step size decaying to zero, the result being their average
  (Polyak-Ruppert): Adam moves every entry by about its step size whatever the posterior's scale,
  so a constant-step final iterate scatters a mean whose posterior sd is small (jsp_nested's
  ``b_craven``: 2.1 sd).
* ``fullrank``: the same stochastic ADVI with a full Cholesky factor ``L``, from the fixed-draw
  mean-field fit (fixed draws cannot fit ``L``: with fewer draws than parameters it is not
  identified).  The factor's off-diagonal entries take steps :data:`STEP_SIZE` / sqrt(D): with
  Adam's per-entry steps their noise otherwise adds up along a row (jsp_bivariate: the factor
  blew up).  Each step costs O(D²).

Example:
    >>> import jax.numpy as jnp
    >>> logp = lambda x, d: -0.5 * jnp.sum(((x - d[0]) / d[1]) ** 2)
    >>> mean, log_sd = meanfield_program(logp, 2)((jnp.array([1.0, -2.0]), jnp.array([0.5, 3.0])), jnp.zeros(2), 1)
    >>> np.round(mean, 3).tolist()  # the sds, 0.5 and 3.25: the fixed draws' own spread
    [1.0, -2.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: the approximation's initial sd of every parameter
INIT_SD = 0.1
#: mean-field: the fixed draws the ELBO is estimated on (Giordano et al.'s 30, rounded to pairs)
FIXED_DRAWS = 32
#: L-BFGS: most iterations, and the relative change of the objective that ends them
LBFGS_STEPS = 1000
LBFGS_TOL = 1e-10
#: full-rank: Adam's step size while climbing (on the unconstrained scale)
STEP_SIZE = 0.05
#: steps per ELBO window (the convergence check compares consecutive windows; Stan's ``eval_elbo`` = 100)
WINDOW = 500
#: most climbing steps (Stan's ``iter``)
MAX_STEPS = 10000
#: relative change of the windowed ELBO that ends the climb
TOL_REL_OBJ = 1e-3
#: steps with a decaying step size whose average is the result (a multiple of WINDOW)
SETTLE_STEPS = 2000


def minimise(f: Callable, x0, *args):
    """``x`` minimising ``f(x, *args)`` by optax's L-BFGS from ``x0`` (a pytree), to be traced
    inside a jitted function: at most :data:`LBFGS_STEPS` iterations, stopping when the objective
    changes by less than :data:`LBFGS_TOL` relatively.

    Parameters
    ----------
    f : callable
        The objective, a scalar.
    x0 : pytree of arrays
        The start.
    *args
        Further arguments of ``f`` (the data).

    Returns
    -------
    pytree of arrays
        The minimum.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> x = jax.jit(lambda c: minimise(lambda x, c: jnp.sum((x - c) ** 2), jnp.zeros(2), c))(jnp.array([1.0, 2.0]))
    >>> np.round(x, 4).tolist()
    [1.0, 2.0]
    """
    import jax  # JAX loads with the first fit that needs it, not with brmc
    import jax.numpy as jnp
    import optax

    objective = lambda x: f(x, *args)  # noqa: E731
    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(objective)

    def step(loop):
        x, state, i, _, value = loop
        new, grad = value_and_grad(x, state=state)
        updates, state = solver.update(grad, state, x, value=new, grad=grad, value_fn=objective)
        return optax.apply_updates(x, updates), state, i + 1, value, new

    def going(loop):
        _, _, i, previous, value = loop
        return (i < LBFGS_STEPS) & ~(jnp.abs(previous - value) <= LBFGS_TOL * jnp.maximum(1.0, jnp.abs(value)))

    x0 = jax.tree.map(jnp.asarray, x0)
    return jax.lax.while_loop(going, step, (x0, solver.init(x0), 0, jnp.nan, jnp.nan))[0]  # nan: not converged


def meanfield_program(logp: Callable, size: int) -> Callable:
    """Mean-field ADVI on fixed draws (module docstring): jitted ``(data, start, seed) -> (mean,
    log sd)`` of the fitted normal, each of length ``size``.

    Parameters
    ----------
    logp : callable
        The log density of an unconstrained parameter vector and the data tuple.
    size : int
        The parameter vector's length.

    Returns
    -------
    callable
        ``run(data, start, seed)`` with ``start`` the initial mean and ``seed`` an integer
        choosing the fixed draws.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> mean, _ = meanfield_program(lambda x, d: -0.5 * jnp.sum((x - d[0]) ** 2), 3)((jnp.ones(3),), jnp.zeros(3), 2)
    >>> np.round(mean, 3).tolist()
    [1.0, 1.0, 1.0]
    """
    import jax
    import jax.numpy as jnp

    def negative_elbo(params, eps, data):
        mean, log_sd = params  # entropy up to a constant: the sum of the log sds
        return -(jnp.mean(jax.vmap(logp, in_axes=(0, None))(mean + eps * jnp.exp(log_sd), data)) + jnp.sum(log_sd))

    @jax.jit
    def run(data, start, seed):
        eps = jax.random.normal(jax.random.PRNGKey(seed), (FIXED_DRAWS // 2, size))
        start = jnp.asarray(start)
        return minimise(negative_elbo, (start, jnp.full(size, np.log(INIT_SD), start.dtype)),
                        jnp.concatenate([eps, -eps]), data)

    return run


def stochastic_program(logp: Callable, size: int, full: bool) -> Callable:
    """Stochastic-gradient ADVI (module docstring): jitted ``(data, mean, log_sd, seed) ->
    (mean, Cholesky factor, climbing steps)``, started from a normal with ``mean`` and
    independent components of sd ``exp(log_sd)``; the factor is diagonal unless ``full``.

    Parameters
    ----------
    logp, size : callable, int
        As :func:`meanfield_program`'s.
    full : bool
        Full-rank (else mean-field).

    Returns
    -------
    callable
        ``run(data, mean, log_sd, seed)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> run = stochastic_program(lambda x, d: -0.5 * jnp.sum((x - d[0]) ** 2), 2, full=True)
    >>> mean, factor, steps = run((jnp.ones(2),), jnp.zeros(2), jnp.zeros(2), 2)
    >>> np.round(mean, 1).tolist(), factor.shape
    ([1.0, 1.0], (2, 2))
    """
    import jax
    import jax.numpy as jnp
    import optax

    below = np.tril(np.ones((size, size)), -1) if full else 0.0

    def factor(params):
        return params[2] * below + jnp.diag(jnp.exp(params[1]))

    def negative_elbo(params, key, data):
        eps = jax.random.normal(key, (size,))
        x = params[0] + (factor(params) @ eps if full else jnp.exp(params[1]) * eps)
        return -(logp(x, data) + jnp.sum(params[1]))  # entropy up to a constant: sum log diag(L)

    grad = jax.value_and_grad(negative_elbo)
    adam = optax.scale_by_adam()
    rates = (1.0, 1.0, 1.0 / np.sqrt(size))  # per leaf: mean, log sd, the factor's lower entries

    def window(loop, key, data):
        """WINDOW steps: climbing at STEP_SIZE, or settling (decaying steps, averaged)."""
        (params, state), mean, done, settle_from, _, current = loop

        def one(inner, key_index):
            (params, state), mean = inner
            key, i = key_index
            settled = i - settle_from  # negative while climbing
            value, g = grad(params, key, data)
            updates, state = adam.update(g, state, params)
            scale = STEP_SIZE * jnp.clip(1.0 - settled / SETTLE_STEPS, 0.0, 1.0)
            params = jax.tree.map(lambda p, u, r: p - scale * r * u, params, updates, rates)
            mean = jax.tree.map(lambda m, p: jnp.where(settled >= 0, m + (p - m) / (settled + 1.0), p), mean, params)
            return ((params, state), mean), -value

        steps = done * WINDOW + jnp.arange(WINDOW)
        (carry, mean), elbo = jax.lax.scan(one, ((params, state), mean), (jax.random.split(key, WINDOW), steps))
        current, previous = jnp.mean(elbo), current
        # the climb ends at MAX_STEPS or when the windowed ELBO settles (nan < tol is False)
        flat = (jnp.abs(current - previous) / jnp.abs(current) < TOL_REL_OBJ) | ((done + 1) * WINDOW >= MAX_STEPS)
        settle_from = jnp.where((settle_from > MAX_STEPS) & flat, (done + 1) * WINDOW, settle_from)
        return carry, mean, done + 1, settle_from, previous, current

    @jax.jit
    def run(data, mean, log_sd, seed):
        key = jax.random.PRNGKey(seed)
        lower = jnp.zeros((size, size) if full else (), jnp.asarray(mean).dtype)
        params = (jnp.asarray(mean), jnp.asarray(log_sd), lower)
        never = 2 * (MAX_STEPS + SETTLE_STEPS)  # settle_from until the climb ends
        loop = ((params, adam.init(params)), params, 0, never, -jnp.inf, jnp.inf)
        loop = jax.lax.while_loop(lambda loop: loop[2] * WINDOW < loop[3] + SETTLE_STEPS,
                                  lambda loop: window(loop, jax.random.fold_in(key, loop[2]), data), loop)
        return loop[1][0], factor(loop[1]), loop[3]

    return run
