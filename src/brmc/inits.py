"""brms's ``init``: where each chain starts, and why a start is impossible when it is.

As Stan, brmc starts each chain on the unconstrained scale: ``init="random"``
(the default) draws every parameter from U(-2, 2), a number ``r`` from U(-r, r),
``init=0`` puts every parameter at 0 (sd and sigma at 1, correlations at 0);
a dict of values by Stan's parameter names (``b``, ``Intercept``, ``sd_1``,
``z_1``, ``L_1``, ``sigma``, ``shape``, ``b_sigma``...), a list of such dicts
(one per chain), or a function of the chain number returning one, fixes those parameters (on their own scale) and
draws the rest from U(-2, 2).  Random starts are retried up to 100 times per
chain, as Stan does, but where Stan takes the first with a finite log density
brmc takes the one with the highest (:func:`best_start`): in a log-link model
with an unscaled predictor (a Weibull model of ``kidney`` with ``age``) most
uniform(-2, 2) starts have a log density near -1e14 or below, from which NUTS
cannot move (its energy error exceeds the divergence threshold by rounding
alone).  When no start has a finite log density, :func:`why_not_finite` names
the model terms, and the observations, that are not.

Unlike Stan, the JAX backends and nutpie then move each random start uphill (:func:`climb`,
at most :data:`CLIMB_ITERATIONS` L-BFGS steps) before warm-up: in a Gamma GLM
with the inverse link every uniform(-2, 2) start has a shape of 0.1-7 where the
posterior's is ~300, a funnel mouth in which NUTS's warm-up of 200 iterations
left 14 of 16 chains stuck (shape 0.1-8, most transitions divergent); from the
climbed starts none.  The group-level and smooth-term parameters (``sd``, ``z``,
``L`` and their ``sds``/``zs``/``sdgp``/``zgp`` kin) stay at their random
values (:func:`climbed_entries`): the joint mode of brms's non-centred
parametrisation has every ``z`` near 0 and ``sd`` near its prior's scale (a
sleepstudy chain climbed to ``sd_Subject__Intercept`` 340), far from the
posterior.  Starts the user gives (``init=0``, a dict, a function) are left
where they are.

Example:
    >>> check_init("random"), init_range(0), init_range(0.5)
    (None, 0.0, 0.5)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pymc as pm
import pytensor
from pytensor.tensor.math import Sum
from scipy import optimize
from threadpoolctl import ThreadpoolController

from .errors import SamplingError, close_matches

#: Stan's number of random initialisation attempts per chain
INIT_TRIES = 100
#: the half-width of Stan's default random inits, U(-2, 2) on the unconstrained scale
RANDOM_RANGE = 2.0
#: the most L-BFGS iterations :func:`climb` takes from a random start
CLIMB_ITERATIONS = 200
#: the parameters :func:`climb` leaves at their random start: brms's group-level and smooth-term
#: standard deviations, standardised effects and correlation factors
HELD_CLASSES = frozenset({"sd", "z", "L", "sds", "zs", "sdgp", "zgp"})
#: prior names with an underscore (the potentials are named lprior_<param>_<prior>)
_TWO_WORD_PRIORS = ("student_t", "inv_gamma")
def remedy(init: Any, backend: str) -> str:
    """What to try when no start has a finite log density, leaving out what was just tried.

    Examples
    --------
    >>> remedy(0, "nutpie")
    "Try a narrower range (init=0.5), initial values by name (init={'Intercept': ...}), another backend (backend='numpyro'), or priors that keep the linear predictor where the family is defined (an inverse or identity link needs a positive mean for a positive family)."
    """
    options = [] if init_range(init) == 0 else ["init=0 (every parameter at 0 on the unconstrained scale)"]
    options += ["a narrower range (init=0.5)", "initial values by name (init={'Intercept': ...})",
                f"another backend (backend={'numpyro' if backend == 'nutpie' else 'nutpie'!r})"]
    return (f"Try {', '.join(options)}, or priors that keep the linear predictor where the family is defined "
            "(an inverse or identity link needs a positive mean for a positive family).")


def check_init(init: Any) -> None:
    """Raise ``SamplingError`` unless ``init`` is one of brms's forms.

    Parameters
    ----------
    init : str, float, dict, list or callable
        ``"random"``, a non-negative number, a dict of values by parameter name
        (a list of them: one per chain, as brms's list of lists), or a function
        of the chain number (1, 2, ...) returning such a dict.

    Returns
    -------
    None

    Examples
    --------
    >>> check_init(-1)
    Traceback (most recent call last):
    ...
    brmc.errors.SamplingError: init must be "random", a number >= 0 (U(-init, init) on the unconstrained scale), a dict of initial values by parameter name (or a list of them, one per chain) or a function of the chain number returning one; got -1.
    """
    if init == "random" and isinstance(init, str) or isinstance(init, Mapping) or callable(init):
        return
    if isinstance(init, (list, tuple)) and init and all(isinstance(v, Mapping) for v in init):
        return
    if isinstance(init, (int, float, np.integer, np.floating)) and not isinstance(init, bool) and init >= 0:
        return
    raise SamplingError('init must be "random", a number >= 0 (U(-init, init) on the unconstrained scale), '
                        "a dict of initial values by parameter name (or a list of them, one per chain) or a "
                        f"function of the chain number returning one; got {init!r}.")


def init_range(init: Any) -> float:
    """The half-width of the uniform draws on the unconstrained scale for the parameters ``init`` leaves free.

    Parameters
    ----------
    init : str, float, dict or callable
        As :func:`check_init` accepts.

    Returns
    -------
    float
        2 for ``"random"``, a dict or a function; the number itself otherwise.

    Examples
    --------
    >>> init_range("random"), init_range({"Intercept": 1.0})
    (2.0, 2.0)
    """
    if isinstance(init, (int, float, np.integer, np.floating)) and not isinstance(init, bool):
        return float(init)
    return RANDOM_RANGE


def _given(init: Any) -> bool:
    return isinstance(init, (Mapping, list, tuple)) or callable(init)


def describe(init: Any) -> str:
    """``init`` in words, for messages.

    Examples
    --------
    >>> describe("random")
    'init="random" (uniform(-2, 2) on the unconstrained scale)'
    """
    if _given(init):
        return "the given initial values (the others uniform(-2, 2) on the unconstrained scale)"
    r = init_range(init)
    if r == 0:
        return "init=0 (every parameter at 0 on the unconstrained scale)"
    return f'init={init!r} (uniform({-r:g}, {r:g}) on the unconstrained scale)'.replace("'random'", '"random"')


def best_start(logp: Callable[[np.ndarray], float], candidates: np.ndarray) -> np.ndarray | None:
    """The candidate with the highest finite log density, the first of those tied; ``None`` if no
    log density is finite.

    Parameters
    ----------
    logp : callable
        The log density of one unconstrained vector.
    candidates : numpy.ndarray
        Unconstrained vectors, one a row.

    Returns
    -------
    numpy.ndarray or None
        The best row.

    Examples
    --------
    >>> best_start(lambda x: -float(x @ x) if x[0] > 0 else -np.inf, np.array([[-0.1], [2.0], [0.5]]))
    array([0.5])
    """
    values = np.array([logp(row) for row in candidates])
    finite = np.isfinite(values)
    return candidates[int(np.argmax(np.where(finite, values, -np.inf)))] if finite.any() else None


def climbs(init: Any) -> bool:
    """Whether the random starts of ``init`` are moved uphill before warm-up (:func:`climb`): for
    ``"random"`` and a positive range, not for ``init=0`` nor for values the user gives.

    Parameters
    ----------
    init : str, float, dict, list or callable
        As :func:`check_init` accepts.

    Returns
    -------
    bool
        Whether the starts are climbed.

    Examples
    --------
    >>> climbs("random"), climbs(0.5), climbs(0), climbs({"Intercept": 1.0})
    (True, True, False, False)
    """
    return not _given(init) and init_range(init) > 0


def climbed_entries(model: pm.Model, sizes: Sequence[int] | None = None) -> np.ndarray:
    """Which entries of the model's unconstrained vector (its value variables in order) :func:`climb`
    moves: all but those of :data:`HELD_CLASSES` (``z_1``, ``sd_1_log__``, ``L_1_raw``, ``zs_1_1``...).

    Parameters
    ----------
    model : pymc.Model
        A model built by :func:`brmc.model.build_model`.
    sizes : sequence of int, optional
        The value variables' sizes, where the caller knows them (a backend's flat layout); else
        their static shapes, or PyMC's initial point (a compiled function: 3.6 s cold for
        gcse_m3) when a shape is not static.

    Returns
    -------
    numpy.ndarray
        One bool per entry.

    Examples
    --------
    >>> import brmc
    >>> built = brmc.make_model("Reaction ~ Days + (1 | Subject)", brmc.datasets.load("sleepstudy"))
    >>> [v.name for v in built.model.value_vars], int(climbed_entries(built.model).sum())
    (['b', 'Intercept', 'sd_1_log__', 'z_1', 'sigma_log__'], 3)
    """
    sizes = _value_sizes(model) if sizes is None else sizes
    return np.concatenate([np.full(int(n), v.name.split("_")[0] not in HELD_CLASSES)
                           for v, n in zip(model.value_vars, sizes)])


def _value_sizes(model: pm.Model) -> list[int]:
    shapes = [v.type.shape for v in model.value_vars]
    if all(d is not None for shape in shapes for d in shape):
        return [int(np.prod(shape, dtype=int)) for shape in shapes]
    point = model.initial_point()
    return [int(np.size(point[v.name])) for v in model.value_vars]


def climb(value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray,
          free: np.ndarray | None = None, iterations: int = CLIMB_ITERATIONS) -> np.ndarray:
    """``start`` moved uphill on the log density by L-BFGS (SciPy's) in its ``free`` entries, where a
    non-finite density is a wall the line search backs off from (a Gamma model's mean crossing zero
    under the inverse link).  L-BFGS's small linear algebra runs on one BLAS thread: OpenBLAS's
    spinning thread pool fighting XLA's for the cores (XLA compiles the sampler meanwhile) made
    mo_sleep's four climbs take 32 s on a busy 2-core machine, 1.9 s on one thread, to the same point.

    Parameters
    ----------
    value_and_grad : callable
        The log density and its gradient at one unconstrained vector.
    start : numpy.ndarray
        A start with a finite log density.
    free : numpy.ndarray, optional
        The entries moved (bools, :func:`climbed_entries`); all when ``None``.
    iterations : int
        The most L-BFGS iterations.

    Returns
    -------
    numpy.ndarray
        The last point, or ``start`` where the climb found no higher finite density.

    Examples
    --------
    >>> def density(x):  # a normal at (3, 3), and nothing left of x = 1
    ...     return (-0.5 * float((x - 3) @ (x - 3)), -(x - 3)) if x[0] > 1 else (-np.inf, np.zeros(2))
    >>> climb(density, np.array([1.5, 0.0])).round(6), climb(density, np.array([1.5, 0.0]), np.array([True, False]))
    (array([3., 3.]), array([3., 0.]))
    """
    free = np.ones(start.shape, dtype=bool) if free is None else free
    first = float(value_and_grad(start)[0])
    wall = abs(first) * 10 + 1e6  # above any point of the climb, never an overflow

    def full(moved: np.ndarray) -> np.ndarray:
        point = start.copy()
        point[free] = moved
        return point

    def objective(moved: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = value_and_grad(full(moved))
        value, grad = float(value), np.asarray(grad, dtype=float)[free]
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            return wall, np.zeros_like(grad)
        return -value, -grad

    if not free.any():
        return start
    with _blas().limit(limits=1, user_api="blas"):
        end = full(optimize.minimize(objective, start[free], jac=True, method="L-BFGS-B",
                                     options={"maxiter": iterations}).x)
    return end if float(value_and_grad(end)[0]) > first else start


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's BLAS thread pools (finding them takes 11 ms, so once)."""
    return ThreadpoolController()


def chain_values(init: Any, chain: int) -> dict[str, Any]:
    """The values ``init`` fixes for ``chain`` (numbered from 1), by parameter name.

    Parameters
    ----------
    init : str, float, dict or callable
        As :func:`check_init` accepts; a function is called with the chain number
        when it takes an argument, else with none (as rstan does).
    chain : int
        The chain number, from 1.

    Returns
    -------
    dict
        Parameter name → value (empty when ``init`` is random or a number).

    Examples
    --------
    >>> chain_values(lambda chain: {"Intercept": 10.0 * chain}, 2)
    {'Intercept': 20.0}
    """
    if isinstance(init, Mapping):
        return dict(init)
    if isinstance(init, (list, tuple)):
        if chain > len(init):
            raise SamplingError(f"init lists initial values for {len(init)} chain(s); chain {chain} has none. "
                                "Give one dict per chain, or one dict for all.")
        return dict(init[chain - 1])
    if not callable(init):
        return {}
    takes_chain = bool(inspect.signature(init).parameters)
    values = init(chain) if takes_chain else init()
    if not isinstance(values, Mapping):
        raise SamplingError(f"The init function must return a dict of initial values by parameter name; "
                            f"for chain {chain} it returned {type(values).__name__}.")
    return dict(values)


def unconstrained_values(model: pm.Model, values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Initial values by Stan's parameter names, on their own scale → the model's unconstrained values
    by value-variable name (``sd_1`` → ``sd_1_log__``; a Cholesky factor ``L_1`` → ``L_1_raw``).

    Parameters
    ----------
    model : pymc.Model
        A model built by :func:`brmc.model.build_model`.
    values : mapping
        Parameter name → value.

    Returns
    -------
    dict
        Value-variable name → unconstrained value, shaped as the variable.

    Examples
    --------
    >>> import brmc
    >>> built = brmc.make_model("Reaction ~ Days + (1 | Subject)", brmc.datasets.load("sleepstudy"))
    >>> {k: v.tolist() for k, v in unconstrained_values(built.model, {"sigma": 1.0, "b": [10]}).items()}
    {'sigma_log__': 0.0, 'b': [10.0]}
    """
    free = {rv.name: rv for rv in model.free_RVs}
    cholesky = {f"{name[:-len('_raw')]}": name for name in free if name.endswith("_raw")}
    out = {}
    for name, value in values.items():
        if name in cholesky:
            name, value = cholesky[name], cholesky_raw(np.asarray(value, dtype=float))
        if name not in free:
            allowed = [n for n in free if n not in cholesky.values()] + list(cholesky)
            raise SamplingError(f"init names a parameter {name!r} that the model does not have."
                                f"{close_matches(name, allowed)} Its parameters: {', '.join(allowed)}.")
        rv = free[name]
        shape = tuple(rv.type.shape)
        try:
            value = np.broadcast_to(np.asarray(value, dtype=float), shape)
        except ValueError:
            raise SamplingError(f"The initial value of {name!r} has shape {np.shape(value)}; the parameter has "
                                f"shape {shape}.") from None
        transform = model.rvs_to_transforms.get(rv)
        value_var = model.rvs_to_values[rv]
        if transform is not None:
            with pytensor.config.change_flags(cxx=""):
                value = transform.forward(pytensor.tensor.as_tensor(value), *rv.owner.inputs).eval()
        out[value_var.name] = np.asarray(value, dtype=float)
    return out


def cholesky_raw(L: np.ndarray) -> np.ndarray:
    """The unconstrained values (``L_<id>_raw``) of a correlation matrix's Cholesky factor: the inverse
    of :func:`brmc.model.cholesky_corr` (canonical partial correlations through atanh).

    Examples
    --------
    >>> L = np.linalg.cholesky(np.array([[1.0, 0.5], [0.5, 1.0]]))
    >>> cholesky_raw(L).round(4)
    array([0.5493])
    """
    M = L.shape[0]
    out = []
    for i in range(1, M):
        left = 1.0
        for j in range(i):
            out.append(np.arctanh(np.clip(L[i, j] / np.sqrt(left), -1 + 1e-12, 1 - 1e-12)))
            left -= L[i, j] ** 2
    return np.array(out)


def why_not_finite(model: pm.Model, point: Mapping[str, np.ndarray]) -> str:
    """Which terms of the model's log density are not finite at ``point`` (value-variable name →
    unconstrained value), and for the likelihood which observations.

    Parameters
    ----------
    model : pymc.Model
        A model built by :func:`brmc.model.build_model`.
    point : mapping
        Value-variable name → value.

    Returns
    -------
    str
        A sentence naming the terms (priors, the likelihood, observations by row number from 1).

    Examples
    --------
    >>> import brmc
    >>> built = brmc.make_model("y ~ x", {"y": [1.0, 2.0, 3.0], "x": [1.0, 2.0, 3.0]}, family="Gamma",)
    >>> why_not_finite(built.model, {"b": np.array([0.0]), "Intercept": np.array(800.0),
    ...                              "shape_log__": np.array(0.0)})
    'the likelihood of observation(s) 1, 2, 3 (of 3) is -inf'
    """
    factors = model.basic_RVs + model.potentials
    terms = [t.sum() for t in model.logp(factors, sum=False)]
    likelihood = model["Y_loglik"] if "Y_loglik" in model.named_vars else None
    pointwise = []
    if likelihood is not None and likelihood.owner is not None and isinstance(likelihood.owner.op, Sum):
        pointwise = model.replace_rvs_by_values([likelihood.owner.inputs[0]])
    with pytensor.config.change_flags(cxx=""):
        fn = model.compile_fn(inputs=model.value_vars, outs=[*terms, *pointwise], on_unused_input="ignore",
                              point_fn=False)
        values = fn(*[np.asarray(point[v.name]) for v in model.value_vars])
    parts = []
    for factor, value in zip(factors, values[: len(terms)]):
        if np.isfinite(value):
            continue
        if factor is likelihood and pointwise:
            bad = np.flatnonzero(~np.isfinite(values[-1]))
            rows = ", ".join(str(i + 1) for i in bad[:10]) + (", ..." if len(bad) > 10 else "")
            parts.append(f"the likelihood of observation(s) {rows} (of {values[-1].size}) is {_word(values[-1][bad])}")
        else:
            parts.append(f"{_term(factor.name)} is {_word(np.atleast_1d(value))}")
    return "; ".join(parts) or "every term is finite there (the density overflowed only when summed)"


def _word(values: np.ndarray) -> str:
    return "NaN" if np.isnan(values).any() else ("-inf" if (values < 0).any() else "+inf")


def _term(name: str) -> str:
    """A log density term in words: ``lprior_sd_1_student_t`` → the student_t prior of sd_1."""
    if name.startswith("lprior_"):
        rest = name[len("lprior_"):]
        dist = next((d for d in _TWO_WORD_PRIORS if rest.endswith("_" + d)), rest.rpartition("_")[2])
        return f"the {dist} prior of {rest[: -len(dist) - 1]}"
    if name.endswith("_jacobian"):
        return f"the Jacobian of {name[: -len('_jacobian')]}"
    return f"the density of {name}"
