"""brmc.pathfinder: single-path Pathfinder's chosen normal on a normal target whose mode is known."""

from __future__ import annotations

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.optimizers.lbfgs import lbfgs_inverse_hessian_formula_1

from brmc import pathfinder
from brmc.algorithms import PATHFINDER_ELBO_DRAWS, PATHFINDER_HISTORY, PATHFINDER_STEPS

#: a correlated 3-d normal target: its mode (= mean) and covariance
MODE = np.array([1.0, -2.0, 0.5])
SD = np.array([1.0, 3.0, 0.5])
COV = np.outer(SD, SD) * np.array([[1.0, 0.8, 0.3], [0.8, 1.0, 0.5], [0.3, 0.5, 1.0]])
SETTINGS = {"maxiter": PATHFINDER_STEPS, "maxcor": PATHFINDER_HISTORY}


def _logp(x: jax.Array) -> jax.Array:
    d = x - MODE
    return -0.5 * d @ jnp.linalg.solve(COV, d)


def _mean_error(state: blackjax.vi.pathfinder.PathfinderState) -> float:
    """The largest |mean - mode| / sd of the normal ``state`` describes: ``bfgs_sample``'s mean,
    ``position + H grad_position`` with the inverse Hessian H of the state's factors."""
    inverse_hessian = lbfgs_inverse_hessian_formula_1(state.alpha, state.beta, state.gamma)
    mean = np.asarray(state.position + inverse_hessian @ state.grad_position)
    return float(np.max(np.abs(mean - MODE) / SD))


def test_pathfinder_normals_step_towards_the_mode():
    # from far off (10 sd in the first coordinate) L-BFGS stops near, not at, the mode; the chosen
    # normal, a quasi-Newton step from its iterate towards the mode, lands on it. BlackJAX 1.7.1's own
    # normals step away: measured 0.095-0.13 sd off at these keys (0.24 at key 3; tolerance 0.05).
    start = jnp.full(3, 10.0)
    fixed = jax.jit(lambda key: pathfinder.approximate(key, _logp, start, elbo_draws=PATHFINDER_ELBO_DRAWS,
                                                       **SETTINGS))
    stock = jax.jit(lambda key: blackjax.vi.pathfinder.approximate(key, _logp, start,
                                                                   num_samples=PATHFINDER_ELBO_DRAWS, **SETTINGS)[0])
    for seed in range(3):
        key = jax.random.PRNGKey(seed)
        state = fixed(key)
        assert _mean_error(state) < 0.05, seed
        assert _mean_error(stock(key)) > 0.05, seed  # what the fix is for: BlackJAX's centres miss
        # the draws come from that normal (blackjax.vi.pathfinder.sample, as brmc's program draws)
        draws, logq = blackjax.vi.pathfinder.sample(key, state, 20_000)
        assert np.max(np.abs(np.asarray(draws.mean(axis=0)) - MODE) / SD) < 0.05, seed
        assert np.all(np.isfinite(np.asarray(logq)))
