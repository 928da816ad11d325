"""The JAX backends: NumPyro's and BlackJAX's NUTS on brmc's PyMC model.

PyTensor's JAX linker (as in ``pymc.sampling.jax``) turns the model's log
density into a JAX function once per model structure.  Unlike PyMC's own JAX
samplers, every ``pm.Data`` container stays an *argument* of that function
instead of being baked in as a constant, so the compiled sampler is reused
when only data values or prior hyperparameters change, and XLA's persistent
compilation cache (``<pytensor base_compiledir>/jax``) keeps it on disk for
the next process.

Chains run in parallel on ``cores`` XLA CPU devices (``jax.pmap``).  Before
JAX starts, brmc asks it for one CPU device per usable core plus one
(``_configure_jax``).  XLA sizes its thread pools by the device count: the 100
devices that importing ``pymc.sampling.jax`` requests oversubscribe a small
machine (sleepstudy's 4 chains took 1.2 s or 2.4 s at random on 2 cores), and
with no thread to spare beyond the running chains, memory grew with every
iteration (InstEval: 6.8 GB peak; 1.45 GB with the spare thread).  When
``chains`` is not a multiple of ``cores``, the largest divisor of ``chains``
not above ``cores`` is used; each device runs its share of chains one after
another.

With a CUDA build of JAX installed (``pip install "jax[cuda12]"``), JAX's default
backend is the GPU and everything runs there unchanged: the chains then share
the one device side by side (:func:`chains_in_lockstep`), as one batch.

XLA compiles the sampler in a background thread while brmc finds the initial
points and compiles the small functions around it (``CompiledSampler.arguments``),
so on two or more cores their cost hides behind XLA's.

Example (``fit`` was sampled with the default backend, ``"numpyro"``):
    >>> sorted(fit.idata.sample_stats.data_vars)
    ['acceptance_rate', 'diverging', 'energy', 'lp', 'n_steps', 'reached_max_treedepth', 'step_size', 'tree_depth']
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import arviz as az
import numpy as np

from . import inits
from .errors import SamplingError
from .progress import ChainProgress, report_iteration

if TYPE_CHECKING:
    import pymc as pm

    from .model import BuiltModel
    from .sampling import SamplerSettings

_NEEDS = {"numpyro": ("jax", "numpyro"), "blackjax": ("jax", "blackjax")}
_INSTALL = {"numpyro": "pip install brmc (JAX and NumPyro are dependencies)", "blackjax": 'pip install "brmc[blackjax]"'}


def require(backend: str) -> None:
    """Raise ``SamplingError`` naming the missing package when ``backend`` cannot be imported.

    Example:
        >>> require("numpyro")
    """
    for package in _NEEDS[backend]:
        try:
            importlib.import_module(package)
        except ImportError as err:
            raise SamplingError(
                f"backend={backend!r} needs the Python package {package!r}, which is not installed "
                f"({err}). Install it with: {_INSTALL[backend]}"
            ) from None


class JaxModel:
    """A PyMC model's log density, initial point and constraining transforms as JAX
    functions of (parameters, data), plus the compiled samplers made from them so far.

    Example:
        >>> import brmc
        >>> md = brmc.data.build_data(brmc.formula.parse_formula("Reaction ~ Days + (1 | Subject)"),
        ...                           brmc.datasets.load("sleepstudy"), brmc.families.get_family("gaussian"))
        >>> built = brmc.model.build_model(md, brmc.priors.resolve_priors(md))
        >>> jm = JaxModel(built.model)
        >>> _ = jm.constrainer(4000); jm.names
        ['b', 'Intercept', 'z_1', 'sd_1', 'sigma']
    """

    def __init__(self, model: pm.Model) -> None:
        _configure_jax()
        import jax
        from jax.flatten_util import ravel_pytree
        from pymc.initial_point import make_initial_point_expression
        from pytensor.compile import SharedVariable
        from pytensor.graph.replace import clone_replace
        from pytensor.graph.rewriting.utils import rewrite_graph
        from pytensor.graph.traversal import graph_inputs

        from .jax_ops import register_jax_ops

        register_jax_ops()
        # canonicalising drops mixture components' random variables, used only for their shapes
        logp = rewrite_graph(model.logp(), include=("canonicalize",))
        # PyMC's initial point, unconstrained and not jittered: the support point of each parameter
        support = make_initial_point_expression(
            free_rvs=model.free_RVs, rvs_to_transforms=model.rvs_to_transforms,
            initval_strategies=model.rvs_to_initial_values, return_transformed=True)
        shared = [v for v in graph_inputs([logp, *support]) if isinstance(v, SharedVariable)]
        # static shapes (the structure key fixes every size) let XLA see e.g. ordinal aranges' lengths
        symbols = [v.type.clone(shape=np.shape(v.get_value(borrow=True)))() for v in shared]
        logp, *support = clone_replace([logp, *support], replace=dict(zip(shared, symbols)))
        self.data_names = [v.name for v in shared]
        self._data_dtypes = [v.type.dtype for v in shared]
        # jitted, the density is traced and lowered once, not at each of its three uses in the sampler
        # (sleepstudy: MLIR lowering 0.38 s -> 0.11 s)
        self._logp = jax.jit(jaxified(inputs=[*model.value_vars, *symbols], outputs=[logp]))
        support = jaxified(inputs=symbols, outputs=support)
        specs = [jax.ShapeDtypeStruct(s.type.shape, s.type.dtype) for s in symbols]
        #: the value variables' shapes, in the unconstrained vector's order
        self._shapes = [v.shape for v in jax.eval_shape(support, *specs)]
        self._sizes = [int(np.prod(shape, dtype=int)) for shape in self._shapes]
        flat, self._unravel = ravel_pytree([np.zeros(shape) for shape in self._shapes])
        # in JAX, not PyMC's initial-point function: compiling that took 0.8 s in every process
        self._support = jax.jit(lambda *data: ravel_pytree(support(*data))[0])
        self._model = model
        self._size = int(flat.size)
        # one compiled density for the starts: their tries read its value, the climb both
        self._logp_and_grad = jax.jit(jax.value_and_grad(self.logp))
        self.names: list[str] = []
        self._constrain: Callable | None = None
        self._constrainers: dict[int, Callable] = {}
        self._samplers: dict[tuple, CompiledSampler] = {}
        #: the approximate algorithms' jitted programs by name (:mod:`brmc.algorithms`), dropped with the model
        self.programs: dict[str, Callable] = {}

    def logp(self, flat, data: tuple):
        """Log density at the unconstrained parameter vector ``flat``."""
        return self._logp(*self._unravel(flat), *data)[0]

    def data(self, built: BuiltModel) -> tuple:
        """The data arguments, in the log density's order: ``built.values``, else the
        current value of the container of that name in ``built.model``."""
        return tuple(np.asarray(built.values[n] if n in built.values else built.model[n].get_value(), dtype=d)
                     for n, d in zip(self.data_names, self._data_dtypes))

    def initial_points(self, chains: int, seed: np.random.SeedSequence, data: tuple, init: Any = "random",
                       fallback: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Each chain's start on the unconstrained scale (see :mod:`brmc.inits`): the values ``init``
        fixes, the others uniform(-r, r) as Stan's, the best of 100 tries; else PyMC's initial point
        with the ``fallback`` values (value-variable name → value, :attr:`BuiltModel.start`); a
        ``SamplingError`` naming the terms at fault when neither has a finite density."""
        rng = np.random.default_rng(seed)
        r = inits.init_range(init)
        tries = 1 if r == 0 else inits.INIT_TRIES
        start = self.support_point(data, fallback)
        density = lambda flat: float(self._logp_and_grad(flat, data)[0])  # noqa: E731
        rows = []
        for chain in range(chains):
            fixed, mask = self._flat(inits.unconstrained_values(self._model, inits.chain_values(init, chain + 1)))
            candidates = np.where(mask, fixed, rng.uniform(-r, r, (tries, self._size)))
            row = inits.best_start(density, candidates)
            if row is None:
                row = inits.best_start(density, np.where(mask, fixed, start)[None])
            if row is None:
                for name, value in zip(self.data_names, data):  # the density's data, for the diagnosis
                    self._model[name].set_value(value)
                point = dict(zip([v.name for v in self._model.value_vars], self._parts(candidates[-1])))
                raise SamplingError(
                    f"No finite initial values were found for chain {chain + 1} in {tries} tries with "
                    f"{inits.describe(init)}, nor at PyMC's initial point: at the last random try, "
                    f"{inits.why_not_finite(self._model, point)}. {inits.remedy(init, 'numpyro')}")
            rows.append(row)
        return np.stack(rows)

    def starts(self, chains: int, seed: np.random.SeedSequence, data: tuple, init: Any = "random",
               fallback: dict[str, np.ndarray] | None = None, init_metric: str = "unit") -> tuple:
        """The chains' starts for sampling: :meth:`initial_points`, random ones moved uphill
        (:func:`brmc.inits.climb`) where ``init`` is random (:func:`brmc.inits.climbs`); and each
        chain's initial inverse metric (diagonal): :func:`gradient_metric` of the density's gradient
        at the point before the climb (``init_metric="gradient"``), or ones (``"unit"``, Stan's)."""
        rows = self.initial_points(chains, seed, data, init, fallback)
        metrics = np.ones_like(rows) if init_metric == "unit" else np.stack(
            [gradient_metric(self._logp_and_grad(row, data)[1]) for row in rows])
        if not inits.climbs(init):
            return rows, metrics
        free = inits.climbed_entries(self._model, self._sizes)
        climbed = [inits.climb(lambda flat: self._logp_and_grad(flat, data), row, free) for row in rows]
        return np.stack(climbed), metrics

    def support_point(self, data: tuple, fallback: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """PyMC's initial point on the unconstrained scale (each prior's location or support
        point), with the ``fallback`` values (value-variable name → value) where given."""
        start, start_mask = self._flat(fallback or {})
        return np.where(start_mask, start, np.asarray(self._support(*data)))

    def _flat(self, values: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Values by value-variable name → (flat vector, mask of the entries they give), zeros elsewhere."""
        parts = [(np.broadcast_to(values.get(v.name, 0.0), shape), np.full(shape, v.name in values))
                 for v, shape in zip(self._model.value_vars, self._shapes)]
        return tuple(np.concatenate([np.ravel(p[k]) for p in parts]) for k in (0, 1))

    def _parts(self, flat: np.ndarray) -> list[np.ndarray]:
        """The unconstrained vector ``flat`` split into the value variables' arrays, in NumPy
        (``_unravel`` runs JAX operations one by one: 0.36 s for a cold fit's 13 calls)."""
        ends = np.cumsum(self._sizes)
        return [part.reshape(shape) for part, shape in zip(np.split(flat, ends[:-1]), self._shapes)]

    def sampler(self, backend: str, settings: SamplerSettings, cores: int, data: tuple,
                varying: tuple[int, ...] | None = None) -> CompiledSampler:
        """The compiled sampler for these settings, made once per (backend, settings) and kept.

        With ``varying`` (positions in ``data``), every chain takes its own values of those data
        entries and the chains run in lockstep (``jax.vmap``) on each device: the prior sets of
        a sweep (hyperparameters are data) as one program.  Its executable then takes the
        varying entries with a leading axis of chains, after the shared ones."""
        import jax

        devices = _devices(settings.chains, min(cores, jax.local_device_count()))
        lockstep = chains_in_lockstep()
        key = (backend, devices, settings.chains, settings.warmup, settings.draws, settings.adapt_delta,
               settings.max_treedepth, settings.progress, varying, settings.metric, lockstep,
               settings.warmup_treedepth)
        if key not in self._samplers:
            chain = _CHAINS[backend](self.logp, settings.warmup, settings.draws, settings.adapt_delta,
                                     settings.max_treedepth, settings.progress, settings.metric,
                                     settings.warmup_treedepth)
            shape = (devices, settings.chains // devices)
            ids = np.zeros(shape, dtype=np.int32)
            keys = np.zeros((*shape, 2), dtype=np.uint32)
            inits = np.zeros((*shape, self._size))  # the starts, and (same shape) the initial inverse metrics
            if varying is None:
                def run(ids, keys, inits, metrics, data):
                    if lockstep:  # an accelerator: its chains side by side, as one batch
                        return jax.vmap(lambda i, k, x, m: chain(i, k, x, m, data))(ids, keys, inits, metrics)
                    return jax.lax.map(lambda a: chain(*a, data), (ids, keys, inits, metrics))

                lowered = jax.pmap(run, in_axes=(0, 0, 0, 0, None)).lower(ids, keys, inits, inits, data)
            else:
                shared = tuple(v for i, v in enumerate(data) if i not in varying)
                per_chain = tuple(np.broadcast_to(data[i], (*shape, *np.shape(data[i]))) for i in varying)

                def run(ids, keys, inits, metrics, shared, per_chain):
                    def one(i, k, x, m, own):
                        return chain(i, k, x, m, merge_data(shared, own, varying))
                    return jax.vmap(one)(ids, keys, inits, metrics, per_chain)

                lowered = jax.pmap(run, in_axes=(0, 0, 0, 0, None, 0)).lower(ids, keys, inits, inits, shared,
                                                                            per_chain)
            self._samplers[key] = CompiledSampler(self, _COMPILER.submit(lowered.compile), shape)
        return self._samplers[key]

    def constrainer(self, n_draws: int) -> Callable:
        """The compiled map from ``n_draws`` unconstrained draws (n_draws, D) to the model's
        variables (named ``self.names``), made once per number of draws."""
        import jax

        if self._constrain is None:
            from pymc.util import get_default_varnames

            outputs = list(get_default_varnames(self._model.unobserved_value_vars, include_transformed=False))
            self.names = [v.name for v in outputs]
            constrain = jaxified(inputs=self._model.value_vars, outputs=outputs)
            self._constrain = jax.jit(jax.vmap(lambda x: constrain(*self._unravel(x))))
        if n_draws not in self._constrainers:
            draws = jax.ShapeDtypeStruct((n_draws, self._size), np.float64)
            self._constrainers[n_draws] = self._constrain.lower(draws).compile()
        return self._constrainers[n_draws]

    def constrained(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        """Unconstrained draws (chain, draw, D) → model variables by name, (chain, draw, ...)."""
        flat = positions.reshape(-1, positions.shape[-1])
        values = self.constrainer(flat.shape[0])(flat)
        return {n: np.asarray(v).reshape(positions.shape[:2] + v.shape[1:]) for n, v in zip(self.names, values)}


@dataclass
class CompiledSampler:
    """An XLA executable running ``shape[1]`` chains on each of ``shape[0]`` devices,
    compiled in the background: ``executable`` is its future."""

    model: JaxModel
    executable: Future
    shape: tuple[int, int]

    def arguments(self, data: tuple, settings: SamplerSettings, fallback: dict | None = None) -> tuple:
        """The executable's arguments: chain ids, random keys and the initial points
        (``settings.init``; ``fallback`` as :meth:`JaxModel.starts`), split over
        devices, and the data.  Meanwhile, as XLA still works on the
        sampler, compiles the map from draws to model variables.

        Example:
            >>> from brmc.model import build_model
            >>> from brmc.sampling import SamplerSettings
            >>> built = build_model(fit.model_data, fit.priors)
            >>> jm, settings = JaxModel(built.model), SamplerSettings(chains=2, iter=200, warmup=100, seed=1)
            >>> data = jm.data(built)
            >>> sampler = jm.sampler("numpyro", settings, 2, data)
            >>> raw = sampler.run(sampler.arguments(data, settings), settings)
            >>> raw.posterior.sizes["chain"], raw.posterior.sizes["draw"]
            (2, 100)
        """
        chains = settings.chains
        init_seed, key_seed = np.random.SeedSequence(settings.seed).spawn(2)
        starts, metrics = self.model.starts(chains, init_seed, data, settings.init, fallback, settings.init_metric)
        keys = key_seed.generate_state(2 * chains)  # raw threefry keys: two uint32 words per chain
        self.model.constrainer(chains * settings.draws)
        return (np.arange(chains, dtype=np.int32).reshape(self.shape), keys.reshape(*self.shape, 2),
                starts.reshape(*self.shape, -1), metrics.reshape(*self.shape, -1), data)

    def run(self, arguments: tuple, settings: SamplerSettings) -> az.InferenceData:
        """Sample (once XLA's compilation is done); raw draws under the PyMC model's
        variable names plus NUTS statistics."""
        import jax

        chains, draws = settings.chains, settings.draws
        executable = self.executable.result()
        with ChainProgress(chains, settings.warmup + draws, settings.progress):
            positions, stats, *warm = jax.block_until_ready(executable(*arguments))
        positions = np.asarray(positions).reshape(chains, draws, -1)
        stats = {k: np.asarray(v).reshape(chains, draws) for k, v in stats.items()}
        if "tree_depth" not in stats:  # NumPyro counts leapfrog steps: depth d takes 2^(d-1) to 2^d - 1
            stats["tree_depth"] = np.floor(np.log2(np.maximum(stats["n_steps"], 1))).astype(int) + 1
        stats["reached_max_treedepth"] = stats["tree_depth"] >= settings.max_treedepth
        # NumPyro's warm-up iterations' statistics (n_steps: the gradients warm-up cost), as Stan's save_warmup
        warmup = {k: np.asarray(v).reshape(chains, -1) for k, v in warm[0].items()} if warm and settings.warmup else {}
        return az.from_dict(posterior=self.model.constrained(positions), sample_stats=stats,
                            **({"warmup_sample_stats": warmup, "save_warmup": True} if warmup else {}))


def jaxified(inputs: list, outputs: list) -> Callable:
    """PyMC's ``get_jaxified_graph`` (the outputs as a JAX function of the inputs) without PyTensor's
    sparse rewrite ``local_usmm``: its pattern asks for the BLAS link flags, and finding them builds
    C test programs (0.7-1 s, e.g. in mo_sleep's cold fit) for a JAX program that has no sparse product.

    Example:
        >>> import pytensor.tensor as pt
        >>> x = pt.vector("x")
        >>> [float(v) for v in jaxified([x], [(x - 2 * x).sum()])(np.array([1.0, 2.0]))]
        [-3.0]
    """
    from pymc.sampling.jax import _replace_shared_variables
    from pytensor.compile.mode import JAX
    from pytensor.graph.fg import FunctionGraph
    from pytensor.link.jax.dispatch import jax_funcify

    _configure_jax()  # before pymc.sampling.jax asks for its 100 devices
    graph = FunctionGraph(inputs=inputs, outputs=_replace_shared_variables(outputs), clone=True)
    JAX.excluding("local_usmm").optimizer.rewrite(graph)
    return jax_funcify(graph)


def merge_data(shared: tuple, own: tuple, varying: tuple[int, ...]) -> tuple:
    """The full data tuple from the ``shared`` entries and a chain's ``own`` values of the
    entries at positions ``varying`` (in order).

    Example:
        >>> merge_data(("a", "c"), ("B",), (1,))
        ('a', 'B', 'c')
    """
    n = len(shared) + len(own)
    shared, own = iter(shared), iter(own)
    return tuple(next(own) if i in varying else next(shared) for i in range(n))


def gradient_metric(grad: np.ndarray) -> np.ndarray:
    """A chain's initial inverse metric (diagonal) from the log density's gradient at its start:
    ``1 / sqrt(|grad|)``, the geometric mean of Stan's unit metric and nutpie's ``1 / |grad|``
    (a normal's variance where the start is one sd per unit of gradient away; see
    docs/performance.md), and 1 where the gradient is 0 or not finite (nothing learnt there).

    Parameters
    ----------
    grad : numpy.ndarray
        The gradient of the log density on the unconstrained scale.

    Returns
    -------
    numpy.ndarray
        The inverse metric's diagonal, as long as ``grad``.

    Examples
    --------
    >>> gradient_metric(np.array([4.0, -0.01, 0.0, np.nan]))
    array([ 0.5, 10. ,  1. ,  1. ])
    """
    size = np.abs(np.asarray(grad, dtype=float))
    usable = np.isfinite(size) & (size > 0)
    metric = np.ones_like(size)
    metric[usable] = 1 / np.sqrt(np.clip(size[usable], 1e-20, 1e20))
    return metric


def chains_in_lockstep() -> bool:
    """Whether a device runs its chains side by side (``jax.vmap``, one batch) rather than one
    after another: on an accelerator (JAX's default backend is not the CPU), where a batch of
    chains costs about what one costs; on a CPU a batch costs what its chains cost one by one,
    and chains that end their trees early would wait for the longest.

    Returns
    -------
    bool
        True when JAX's default backend is a GPU or TPU.

    Examples
    --------
    >>> chains_in_lockstep()  # this machine has no GPU
    False
    """
    import jax

    return jax.default_backend() != "cpu"


def _devices(chains: int, available: int) -> int:
    """The largest divisor of ``chains`` not above ``available`` (chains split evenly over devices)."""
    return max(d for d in range(1, max(available, 1) + 1) if chains % d == 0)


def _numpyro_chain(logp: Callable, warmup: int, draws: int, target_accept: float, max_treedepth: int,
                   progress: bool, metric: str = "diag_e", warmup_treedepth: int = 10) -> Callable:
    """One NumPyro NUTS chain as a function of (chain id, key, initial point, initial inverse metric,
    data); ``metric`` as Stan's (see :data:`brmc.sampling.METRICS`; ``"unit_e"`` keeps ones);
    warm-up trees at most ``warmup_treedepth`` deep."""
    from numpyro.infer.hmc import hmc

    init_kernel, sample_kernel = hmc(potential_fn_gen=lambda *data: lambda x: -logp(x, data), algo="NUTS")

    def chain(chain_id, key, init, inverse_metric, data):
        depth = (min(warmup_treedepth, max_treedepth), max_treedepth)  # (warm-up, sampling)
        state = init_kernel(init, warmup, target_accept_prob=target_accept, max_tree_depth=depth,
                            model_args=data, rng_key=key, dense_mass=metric == "dense_e",
                            adapt_mass_matrix=metric != "unit_e",
                            inverse_mass_matrix=None if metric == "unit_e" else inverse_metric)

        def record(s):
            return s.z, {"diverging": s.diverging, "energy": s.energy, "n_steps": s.num_steps,
                         "acceptance_rate": s.accept_prob, "lp": -s.potential_energy,
                         "step_size": s.adapt_state.step_size}

        (z, stats), warm = _kept_draws(lambda s: sample_kernel(s, model_args=data), record, state, warmup, draws,
                                       chain_id if progress else None,
                                       lambda s: {"n_steps": s.num_steps, "diverging": s.diverging})
        return z, stats, warm

    return chain


def _blackjax_chain(logp: Callable, warmup: int, draws: int, target_accept: float, max_treedepth: int,
                    progress: bool, metric: str = "diag_e", warmup_treedepth: int = 10) -> Callable:
    """One BlackJAX NUTS chain (Stan's window adaptation from a unit metric, full-depth trees) as a
    function of (chain id, key, initial point, initial inverse metric (unused), data); ``metric``
    ``"diag_e"`` or ``"dense_e"`` as Stan's."""
    import blackjax
    import jax
    import jax.numpy as jnp
    from blackjax.adaptation.base import get_filter_adapt_info_fn

    def chain(chain_id, key, init, inverse_metric, data):
        density = lambda x: logp(x, data)  # noqa: E731
        warm_key, key = jax.random.split(key)
        if warmup:
            adapt = blackjax.window_adaptation(blackjax.nuts, density, target_acceptance_rate=target_accept,
                                               adaptation_info_fn=get_filter_adapt_info_fn(),
                                               is_mass_matrix_diagonal=metric == "diag_e",
                                               max_num_doublings=max_treedepth)
            (state, params), _ = adapt.run(warm_key, init, num_steps=warmup)
            if progress:
                jax.debug.callback(ChainProgress.advance, chain_id, warmup)
        else:  # no warm-up: Stan's starting step size 1 and unit metric
            state = blackjax.nuts.init(init, density)
            params = {"step_size": jnp.asarray(1.0), "inverse_mass_matrix": jnp.ones_like(init),
                      "max_num_doublings": max_treedepth}
        step = blackjax.nuts(density, **params).step

        def draw(s, key_i):
            s, info = step(key_i[0], s)
            if progress:
                report_iteration(chain_id, key_i[1], draws)
            return s, (s.position, {"diverging": info.is_divergent, "energy": info.energy,
                                    "tree_depth": info.num_trajectory_expansions,
                                    "n_steps": info.num_integration_steps,
                                    "acceptance_rate": info.acceptance_rate, "lp": s.logdensity,
                                    "step_size": params["step_size"]})

        return jax.lax.scan(draw, state, (jax.random.split(key, draws), jnp.arange(draws)))[1]

    return chain


def _kept_draws(step: Callable, record: Callable, state, warmup: int, draws: int, chain_id,
                warm_record: Callable | None = None):
    """Run ``warmup + draws`` iterations of ``step`` in one loop and return ``record(state)``
    of the last ``draws`` and ``warm_record(state)`` of the first ``warmup`` (all of them: one
    slot per iteration): one copy of the NUTS transition in the XLA program, not one per
    phase (sleepstudy: XLA compile 3.9 s -> 3.1 s).  Warm-up iterations write slot 0 of the kept
    draws, which the first kept draw then overwrites; kept draws write the last warm-up slot
    as it was.  With a ``chain_id`` the loop reports to the progress bar;
    such host callbacks keep XLA from caching the program on disk, so without a bar
    (``chain_id=None``) there are none."""
    import jax
    import jax.numpy as jnp

    def buffers(fn, n):
        return jax.tree.map(lambda x: jnp.zeros((n, *jnp.shape(x)), jnp.result_type(x)), jax.eval_shape(fn, state))

    warm_record = warm_record or (lambda s: {})
    kept, warm = buffers(record, draws), buffers(warm_record, max(warmup, 1))

    def body(i, carry):
        s, kept, warm = carry
        s = step(s)
        if chain_id is not None:
            report_iteration(chain_id, i, warmup + draws)
        slot, warm_slot = jnp.maximum(i - warmup, 0), jnp.minimum(i, max(warmup, 1) - 1)
        kept = jax.tree.map(lambda buf, x: buf.at[slot].set(x), kept, record(s))
        warm = jax.tree.map(lambda buf, x: buf.at[warm_slot].set(jnp.where(i < warmup, x, buf[warm_slot])),
                            warm, warm_record(s))
        return s, kept, warm

    return jax.lax.fori_loop(0, warmup + draws, body, (state, kept, warm))[1:]


_CHAINS = {"numpyro": _numpyro_chain, "blackjax": _blackjax_chain}


#: One background thread for XLA's compilations, which release the GIL.
_COMPILER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="brmc-xla")
_DEVICE_FLAG = "--xla_force_host_platform_device_count"


def _configure_jax() -> None:
    """Before JAX's first use: XLA's persistent compilation cache next to PyTensor's,
    and one CPU device per usable core plus one (see the module docstring); unless
    the user set either (``jax.config``, or the device flag in ``XLA_FLAGS``) or JAX
    already runs."""
    import jax
    import pytensor

    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", os.path.join(pytensor.config.base_compiledir, "jax"))
    user_flag = _DEVICE_FLAG in os.environ.get("XLA_FLAGS", "") and "pymc.sampling.jax" not in sys.modules
    if jax.config.jax_num_cpu_devices < 0 and not user_flag:
        try:
            jax.config.update("jax_num_cpu_devices", usable_cores() + 1)
        except RuntimeError:  # JAX already runs: its device count stands
            pass


def usable_cores() -> int:
    """The number of CPU cores this process may run on.

    Example:
        >>> usable_cores() >= 1
        True
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
