"""Single-path Pathfinder (Zhang et al. 2022) with its normals centred where the paper and Stan centre them.

Pathfinder follows an L-BFGS path on ``-log p`` and, at each iterate ``x_l``, forms the normal
with L-BFGS's inverse-Hessian estimate ``H_l`` as its covariance and mean
``x_l + H_l grad log p(x_l)``: a quasi-Newton step from ``x_l`` towards the mode (Zhang et al.
2022, Algorithm 4 ``BFGS-Sample``; Stan's ``pathfinder``).  It keeps the normal of the highest
ELBO estimate.

BlackJAX 1.7.1's ``blackjax.vi.pathfinder.approximate`` minimises ``-log p`` and hands the
optimiser's gradients, those of ``-log p``, to ``blackjax.optimizers.lbfgs.bfgs_sample``, whose
mean is ``position + H grad_position``; so every normal is centred at ``x_l - H_l grad log p(x_l)``,
a quasi-Newton step *away* from the mode (on a normal target, once ``H_l`` is the covariance,
the mode reflected about ``x_l``: twice as far from the mode as the iterate, where the paper's
centre is the mode), and the ELBOs that choose the iterate are estimated on those shifted normals.
The covariances are right: they depend on the path's steps and gradient changes only.

:func:`approximate` is BlackJAX's single path built from BlackJAX's pieces (its L-BFGS path
:func:`blackjax.optimizers.lbfgs.minimize_lbfgs`, its inverse-Hessian factors and
``bfgs_sample``) with one change: the state's ``grad_position`` is ``grad log p`` (what
BlackJAX's :class:`~blackjax.vi.pathfinder.PathfinderState` documents, "gradient of target
distribution"), so that ``bfgs_sample`` and :func:`blackjax.vi.pathfinder.sample` centre the
normals at ``x_l + H_l grad log p(x_l)``.  The ELBO of each iterate is estimated on draws of
that normal, as BlackJAX does, over the iterates BlackJAX keeps (those before ``iter_num``, which
leaves out the path's last iterate; including it changed no benchmark number, docs/performance.md).

Example:
    >>> import blackjax, jax, jax.numpy as jnp
    >>> state = approximate(jax.random.PRNGKey(0), lambda x: -0.5 * jnp.sum((x - 3.0) ** 2),
    ...                     jnp.zeros(2), elbo_draws=25, maxiter=50, maxcor=5)
    >>> draws, logq = blackjax.vi.pathfinder.sample(jax.random.PRNGKey(1), state, 4000)
    >>> [round(float(m), 1) for m in draws.mean(axis=0)]
    [3.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jax
    from blackjax.vi.pathfinder import PathfinderState


def approximate(key: jax.Array, logdensity: Callable[[jax.Array], jax.Array], start: jax.Array, *,
                elbo_draws: int, maxiter: int, maxcor: int) -> PathfinderState:
    """Single-path Pathfinder from ``start``: the normal of the L-BFGS iterate with the highest
    ELBO estimate, centred a quasi-Newton step from the iterate towards the mode.

    Parameters
    ----------
    key : jax.Array
        JAX PRNG key of the ELBO estimates' draws.
    logdensity : callable
        ``log p`` (unnormalised) of a flat parameter vector.
    start : jax.Array
        The (D,) start of the L-BFGS path.
    elbo_draws : int
        Draws per ELBO estimate (Stan's ``num_elbo_draws``).
    maxiter : int
        Most L-BFGS iterations.
    maxcor : int
        L-BFGS's history size (Stan's ``history_size``).

    Returns
    -------
    blackjax.vi.pathfinder.PathfinderState
        The chosen normal: its iterate ``position``, ``grad_position`` = ``grad log p`` there,
        L-BFGS's inverse-Hessian factors ``alpha``, ``beta``, ``gamma`` and the ``elbo``;
        draw from it with :func:`blackjax.vi.pathfinder.sample`.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> state = approximate(jax.random.PRNGKey(0), lambda x: -0.5 * jnp.sum(x ** 2), jnp.full(3, 5.0),
    ...                     elbo_draws=25, maxiter=50, maxcor=5)
    >>> bool(jnp.all(jnp.isfinite(state.position))), state.beta.shape
    (True, (3, 10))
    """
    import jax  # JAX and BlackJAX load with the first fit that needs them, not with brmc
    import jax.numpy as jnp
    from blackjax.optimizers.lbfgs import bfgs_sample, lbfgs_inverse_hessian_factors, minimize_lbfgs
    from blackjax.vi.pathfinder import PathfinderState

    (_, status), history = minimize_lbfgs(lambda x: -logdensity(x), start, maxiter, maxcor)
    # the path's steps and gradient changes, zero where L-BFGS dropped the pair (as BlackJAX),
    # padded in front so that iterate i's window of maxcor pairs is rows i .. i + maxcor - 1
    keep = history.update_mask[1:]
    steps = jnp.pad(jnp.where(keep, jnp.diff(history.x, axis=0), 0.0), ((maxcor, 0), (0, 0)))
    changes = jnp.pad(jnp.where(keep, jnp.diff(history.g, axis=0), 0.0), ((maxcor, 0), (0, 0)))
    grad_logp = -history.g  # the optimiser's gradients are those of -log p

    def normal(i, key_i):
        window = i + jnp.arange(maxcor)
        beta, gamma = lbfgs_inverse_hessian_factors(steps[window].T, changes[window].T, history.alpha[i])
        draws, logq = bfgs_sample(key_i, elbo_draws, history.x[i], grad_logp[i], history.alpha[i], beta, gamma)
        return (jax.vmap(logdensity)(draws) - logq).mean(), beta, gamma

    size = maxiter + 1
    elbo, beta, gamma = jax.vmap(normal)(jnp.arange(size), jax.random.split(key, size))
    elbo = jnp.where((jnp.arange(size) < status.iter_num) & jnp.isfinite(elbo), elbo, -jnp.inf)
    best = jnp.argmax(elbo)
    return PathfinderState(elbo[best], history.x[best], grad_logp[best], history.alpha[best], beta[best], gamma[best])
