"""JAX translations of the PyTensor ops brmc's models use that PyTensor's JAX linker lacks.

PyTensor translates ``erfcx`` (the scaled complementary error function
exp(x²)·erfc(x), which PyMC's normal log-cdf and log-survival use in the tails)
only through TensorFlow Probability, which brmc does not depend on, so every
censored gaussian or lognormal model failed on the JAX backends with
``NotImplementedError: No JAX implementation for Op erfcx``; and JAX's
incomplete beta function (Student's t cdf) has no derivative in its first two
arguments (the degrees of freedom ``nu``).  :func:`register_jax_ops` gives
PyTensor's JAX linker brmc's own ``erfcx`` and ``betainc``.

Example:
    >>> import numpy as np
    >>> from scipy import special
    >>> jax.config.update("jax_enable_x64", True)  # as PyMC's JAX samplers run
    >>> x = np.array([-3.0, 0.0, 1.0, 25.0, 1e3, 1e8])
    >>> bool(np.allclose(np.asarray(erfcx(x)), special.erfcx(x), rtol=1e-13))
    True
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc as _betainc
from jax.scipy.special import erfc
from pytensor.link.jax.dispatch import jax_funcify
from pytensor.scalar.math import BetaInc, Erfcx

#: below this, exp(x²)·erfc(x) is computed as written (erfc(x) is still a normal float);
#: above, the asymptotic series, whose ninth term is under 1e-16 there
_DIRECT_BELOW = 12.0
#: (2n - 1)!! (-1)^n, the asymptotic series' coefficients of 1 / (2x²)^n, n = 0..8
_SERIES = (1.0, -1.0, 3.0, -15.0, 105.0, -945.0, 10395.0, -135135.0, 2027025.0)


@jax.custom_jvp
def erfcx(x):
    """exp(x²)·erfc(x), accurate in both tails (overflowing to inf below x ≈ -26.6, as it must).

    Parameters
    ----------
    x : array_like
        Real values.

    Returns
    -------
    jax.Array
        The scaled complementary error function of ``x``.

    Examples
    --------
    >>> round(float(erfcx(0.0)), 12)
    1.0
    """
    x = jnp.asarray(x, dtype=jnp.result_type(float))
    direct = x < _DIRECT_BELOW
    near = jnp.where(direct, x, 0.0)  # each branch sees only arguments it handles, so that no
    far = jnp.where(direct, _DIRECT_BELOW, x)  # inf or NaN reaches a gradient through jnp.where
    inv = 1.0 / (2.0 * far * far)
    series = _SERIES[-1]
    for c in reversed(_SERIES[:-1]):
        series = series * inv + c
    return jnp.where(direct, jnp.exp(near * near) * erfc(near), series / (far * math.sqrt(math.pi)))


@erfcx.defjvp
def _erfcx_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    value = erfcx(x)
    return value, (2.0 * x * value - 2.0 / math.sqrt(math.pi)) * dx


#: relative step of the central differences of betainc in a and b (truncation and rounding
#: errors both near 1e-10 relative)
_STEP = 1e-5


@jax.custom_jvp
def betainc(a, b, x):
    """The regularised incomplete beta function I_x(a, b), differentiable in all three arguments.

    JAX differentiates it in ``x`` only; in ``a`` and ``b`` this uses central differences.

    Parameters
    ----------
    a, b : array_like
        Positive shape parameters.
    x : array_like
        Values in [0, 1].

    Returns
    -------
    jax.Array
        I_x(a, b).

    Examples
    --------
    >>> jax.config.update("jax_enable_x64", True)
    >>> round(float(jax.grad(betainc)(2.0, 3.0, 0.4)), 6)  # d/da, as scipy's central difference
    -0.240869
    """
    return _betainc(a, b, x)


@betainc.defjvp
def _betainc_jvp(primals, tangents):
    a, b, x = primals
    da, db, dx = tangents
    ha, hb = _STEP * jnp.maximum(a, 1.0), _STEP * jnp.maximum(b, 1.0)
    by_a = (_betainc(a + ha, b, x) - _betainc(a - ha, b, x)) / (2.0 * ha)
    by_b = (_betainc(a, b + hb, x) - _betainc(a, b - hb, x)) / (2.0 * hb)
    _, by_x = jax.jvp(lambda x_: _betainc(a, b, x_), (x,), (dx,))
    return _betainc(a, b, x), by_a * da + by_b * db + by_x


def register_jax_ops() -> None:
    """Make PyTensor's JAX linker translate ``erfcx`` and ``betainc`` with :func:`erfcx` and
    :func:`betainc` (idempotent).

    Returns
    -------
    None

    Examples
    --------
    >>> register_jax_ops()
    """
    jax_funcify.register(Erfcx)(lambda op, **kwargs: erfcx)
    jax_funcify.register(BetaInc)(lambda op, **kwargs: betainc)
