"""Run a sampler on a built model and return ``arviz.InferenceData`` with brms names.

Compiled models are cached by their structure key (:class:`CompiledModels`),
so a second fit of the same structure (other data values or prior
hyperparameters) swaps the ``pm.Data`` values and starts sampling at once.
The cache keeps the most recently used structures only: every compiled XLA
program holds some 500 memory mappings, and a process that kept them all
(a test suite, a long notebook) reached Linux's limit of 65,530 mappings and
crashed inside XLA after about a hundred structures.

Example:
    >>> settings = SamplerSettings(chains=2, iter=200, warmup=100, seed=1)
    >>> settings.draws
    100
"""

from __future__ import annotations

import dataclasses
import gc
import sys
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import arviz as az
import numpy as np
import xarray as xr

from . import inits, naming, terms
from . import backends
from .backends import usable_cores
from .data import LinearPredictor, ModelData
from .errors import SamplingError
from .families import DistPar
from .graph import cholesky_from_raw  # noqa: F401  (re-exported)
from .model import BuiltModel
from .progress import output_kind
from .terms.base import DrawsContext, RowsContext
from .terms.re import NewBlock

#: The fastest end to end on the brms reference models (docs/performance.md).
DEFAULT_BACKEND = "numpyro"
#: brms's ``algorithm`` choices (and brms 2.21's pathfinder and laplace); all but "sampling" in :mod:`brmc.algorithms`
#: Stan's mass matrices (its ``control`` ``metric``): diagonal and dense adapted in warm-up, unit fixed
METRICS = ("diag_e", "dense_e", "unit_e")
#: NumPyro's warm-up beyond Stan's (docs/performance.md): its initial metric and deepest warm-up tree
WARMUP_CONTROLS = ("init_metric", "warmup_treedepth")
ALGORITHMS = ("sampling", "meanfield", "fullrank", "pathfinder", "laplace", "fixed_param")


class CompiledModels:
    """The compiled models of this process by (backend kind, structure), the most recently
    used ``capacity`` of them.

    When a new model would make more than ``capacity``, the least recently used half
    is dropped and JAX's caches cleared (``jax.clear_caches``): JAX keeps the programs of
    dropped models alive in its own caches until then.  ``made`` counts the models ever
    made, so callers can tell whether a fit compiled.

    Parameters
    ----------
    capacity
        The most models kept at once.

    Example:
        >>> cache = CompiledModels(capacity=2)
        >>> [cache.get(key, lambda: key.upper()) for key in ("a", "b", "a", "c")]
        ['A', 'B', 'A', 'C']
        >>> list(cache), cache.made
        (['a', 'c'], 3)
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.made = 0
        self._models: OrderedDict[Hashable, object] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], object]) -> object:
        """The model under ``key``, made by ``make()`` if this process has none (or dropped it).

        Parameters
        ----------
        key
            The backend kind and the model's structure.
        make
            Builds and compiles the model.

        Returns
        -------
        object
            The compiled model, now the most recently used.
        """
        if key in self._models:
            self._models.move_to_end(key)
            return self._models[key]
        if len(self._models) >= self.capacity:
            self._drop(len(self._models) - self.capacity // 2)
        self._models[key] = model = make()
        self.made += 1
        return model

    def _drop(self, n: int) -> None:
        """Forget the ``n`` least recently used models and let JAX free their programs."""
        for _ in range(n):
            self._models.popitem(last=False)
        gc.collect()  # compiled models sit in reference cycles
        if "jax" in sys.modules:
            sys.modules["jax"].clear_caches()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._models

    def __getitem__(self, key: Hashable) -> object:
        return self._models[key]

    def __iter__(self):
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)


#: 32 structures hold some 18,000 memory mappings, well inside Linux's default 65,530.
_COMPILED = CompiledModels(capacity=32)


@dataclass
class SamplerSettings:
    """brms's sampler arguments (``iter`` includes ``warmup``, as in brms; ``init`` as
    :mod:`brmc.inits` describes)."""

    chains: int = 4
    iter: int = 2000
    warmup: int = 1000
    thin: int = 1
    seed: int | None = None
    cores: int | None = None
    backend: str = DEFAULT_BACKEND
    control: dict = field(default_factory=dict)
    progress: bool = True
    sample_prior: str = "no"
    init: Any = "random"
    algorithm: str = "sampling"

    def __post_init__(self) -> None:
        for name in ("chains", "iter", "warmup", "thin"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise SamplingError(f"{name} must be a whole number, got {value!r}.")
        if self.chains < 1:
            raise SamplingError(f"chains must be at least 1, got {self.chains}.")
        if self.warmup < 0:
            raise SamplingError(f"warmup must not be negative, got {self.warmup}.")
        if self.iter <= self.warmup:
            raise SamplingError(
                f"iter ({self.iter}) must be larger than warmup ({self.warmup}): iter counts warm-up "
                "and post-warm-up draws together, as in brms."
            )
        if self.thin < 1:
            raise SamplingError(f"thin must be at least 1, got {self.thin}.")
        if self.backend not in BACKENDS:
            raise SamplingError(f"Unknown backend {self.backend!r}. Available backends: {', '.join(BACKENDS)}.")
        unknown = set(self.control) - {"adapt_delta", "max_treedepth", "metric", *WARMUP_CONTROLS}
        if unknown:
            raise SamplingError(f"Unknown control setting(s) {sorted(unknown)}; brmc honours adapt_delta, "
                                f"max_treedepth, metric and (backend='numpyro') {', '.join(WARMUP_CONTROLS)}.")
        _check_warmup_controls(self.control, self.backend)
        if self.metric not in METRICS:
            raise SamplingError(f"control metric={self.metric!r} is not one of Stan's metrics "
                                f"{', '.join(map(repr, METRICS))}.")
        if self.metric != "diag_e" and self.backend == "nutpie":
            raise SamplingError(f"backend='nutpie' adapts a diagonal metric only; control metric={self.metric!r} "
                                "needs backend='numpyro', 'blackjax' or 'pymc'.")
        if self.metric == "unit_e" and self.backend != "numpyro":
            raise SamplingError(f"backend={self.backend!r} always adapts its metric; control metric='unit_e' "
                                "needs backend='numpyro'.")
        if self.sample_prior not in {"no", "yes", "only"}:
            raise SamplingError(f"sample_prior must be 'no', 'yes' or 'only', not {self.sample_prior!r}.")
        if self.algorithm not in ALGORITHMS:
            raise SamplingError(f"Unknown algorithm {self.algorithm!r}. Available algorithms: {', '.join(ALGORITHMS)}.")
        inits.check_init(self.init)
        if self.backend == "pymc" and self.init != "random":
            raise SamplingError("backend='pymc' starts from PyMC's own jittered initial points and does not "
                                f"take init={self.init!r}; use backend='numpyro', 'blackjax' or 'nutpie'.")
        if self.backend == "nutpie" and not isinstance(self.init, (str, int, float, np.integer, np.floating)):
            raise SamplingError("backend='nutpie' takes init='random' or a number; initial values by name "
                                "or from a function need backend='numpyro' or 'blackjax'.")
        if self.seed is None:
            self.seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
        if self.progress and output_kind() is None:  # nowhere to show a bar (a log file): none at all
            self.progress = False

    @property
    def draws(self) -> int:
        return self.iter - self.warmup

    @property
    def adapt_delta(self) -> float:
        return float(self.control.get("adapt_delta", 0.8))

    @property
    def max_treedepth(self) -> int:
        return int(self.control.get("max_treedepth", 10))

    @property
    def init_metric(self) -> str:
        """The initial inverse metric of NumPyro's warm-up: ``"gradient"`` (opt-in,
        :func:`brmc.backends.gradient_metric`) or ``"unit"`` (Stan's, the default)."""
        return str(self.control.get("init_metric", "unit"))

    @property
    def warmup_treedepth(self) -> int:
        """The deepest tree of NumPyro's warm-up iterations (default ``max_treedepth``, Stan's)."""
        return int(self.control.get("warmup_treedepth", self.max_treedepth))

    @property
    def metric(self) -> str:
        """Stan's ``metric``: ``"diag_e"`` (default), ``"dense_e"`` or ``"unit_e"`` (not adapted)."""
        return str(self.control.get("metric", "diag_e"))

    def to_dict(self) -> dict:
        return asdict(self)

    def storable(self) -> dict:
        """The settings as JSON values: initial values by name as lists, an init function as
        ``"random"`` (a saved fit keeps no code).

        Example:
            >>> SamplerSettings(init=lambda: {"Intercept": 1.0}).storable()["init"]
            'random'
        """
        out = self.to_dict()
        if callable(self.init):
            out["init"] = "random"
        elif isinstance(self.init, Mapping):
            out["init"] = _storable_values(self.init)
        elif isinstance(self.init, (list, tuple)):
            out["init"] = [_storable_values(values) for values in self.init]
        return out


def _check_warmup_controls(control: dict, backend: str) -> None:
    """A ``SamplingError`` for a warm-up setting brmc cannot honour: one of a backend other than
    numpyro, an unknown ``init_metric``, a ``warmup_treedepth`` that is not a positive whole number."""
    given = sorted(set(control) & set(WARMUP_CONTROLS))
    if given and backend != "numpyro":
        raise SamplingError(f"control {', '.join(given)} set NumPyro's warm-up; backend={backend!r} has its own "
                            "(use backend='numpyro').")
    if control.get("init_metric", "gradient") not in ("gradient", "unit"):
        raise SamplingError(f"control init_metric={control['init_metric']!r} is not 'gradient' or 'unit'.")
    depth = control.get("warmup_treedepth", 1)
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise SamplingError(f"control warmup_treedepth must be a positive whole number, got {depth!r}.")


def _storable_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: np.asarray(v, dtype=float).tolist() for k, v in values.items()}


@dataclass
class SamplingResult:
    """Raw draws (model parameter names) and timings in seconds."""

    raw: az.InferenceData
    compile_seconds: float
    sample_seconds: float


def sample(built: BuiltModel, settings: SamplerSettings) -> SamplingResult:
    """Sample ``built`` with the chosen backend, reusing a cached compiled model."""
    t0 = time.perf_counter()
    cores = settings.cores or min(settings.chains, usable_cores())
    try:
        run = _PREPARE[settings.backend](built, settings, cores)
        t1 = time.perf_counter()
        raw = run()
    except KeyboardInterrupt:
        raise SamplingError("Sampling was interrupted; no fit was made.") from None
    t2 = time.perf_counter()
    if settings.thin > 1:
        raw = raw.isel(draw=slice(None, None, settings.thin))
    return SamplingResult(raw=raw, compile_seconds=t1 - t0, sample_seconds=t2 - t1)


def _prepare_nutpie(built: BuiltModel, settings: SamplerSettings, cores: int) -> Callable[[], az.InferenceData]:
    compiled = _nutpie_compiled(built)
    return lambda: _sample_nutpie(compiled, settings, cores, built)


def _prepare_pymc(built: BuiltModel, settings: SamplerSettings, cores: int) -> Callable[[], az.InferenceData]:
    model = _pymc_model(built)
    return lambda: _sample_pymc(model, settings, cores, built)


def _prepare_jax(built: BuiltModel, settings: SamplerSettings, cores: int) -> Callable[[], az.InferenceData]:
    compiled, data = _jax_compiled(built, settings, cores)
    arguments = compiled.arguments(data, settings, built.start)
    compiled.executable.result()
    return lambda: compiled.run(arguments, settings)


def _nutpie_compiled(built: BuiltModel):
    import nutpie

    compiled = _COMPILED.get(("nutpie", built.structure), lambda: nutpie.compile_pymc_model(built.model))
    return compiled.with_data(**built.values)


def _sample_nutpie(compiled, settings: SamplerSettings, cores: int, built: BuiltModel) -> az.InferenceData:
    """nutpie's NUTS from brms's initial values (uniform(-r, r) on the unconstrained scale, or 0);
    its failure to start is a ``SamplingError`` naming the terms at fault."""
    import nutpie

    r = inits.init_range(settings.init)
    start = dataclasses.replace(compiled, initial_point_func=_nutpie_start(compiled, built, r))
    try:
        return nutpie.sample(
            start,
            draws=settings.draws,
            tune=settings.warmup,
            chains=settings.chains,
            cores=cores,
            seed=settings.seed,
            save_warmup=False,
            progress_bar=settings.progress,
            target_accept=settings.adapt_delta,
            maxdepth=settings.max_treedepth,
        )
    except RuntimeError as err:
        point = _unflatten(built.model, np.random.default_rng(settings.seed).uniform(-r, r, compiled.n_dim))
        raise SamplingError(_start_failure("nutpie", err, built.model, settings.init, point)) from None


def _nutpie_start(compiled, built: BuiltModel, r: float) -> Callable[[int], np.ndarray]:
    """nutpie's start of a chain from nutpie's seed for it, chosen as the JAX backends choose
    theirs: the best of :data:`brmc.inits.INIT_TRIES` uniform(-r, r) draws on the unconstrained
    scale, climbed by :func:`brmc.inits.climb` (the first draw when none is finite: nutpie then
    reports the failure)."""
    density = compiled.logp_func  # (flat vector) -> (log density, gradient), reading the data as shared values
    for shared in density.get_shared():
        if shared.name in built.values:
            shared.set_value(np.asarray(built.values[shared.name], dtype=shared.type.dtype))
    tries = 1 if r == 0 else inits.INIT_TRIES
    free = inits.climbed_entries(built.model)
    lock = threading.Lock()  # nutpie asks for the chains' starts from its threads; the function is not reentrant

    def start(seed: int) -> np.ndarray:
        candidates = np.random.default_rng(seed).uniform(-r, r, (tries, compiled.n_dim))
        with lock:
            best = inits.best_start(lambda flat: float(density(flat)[0]), candidates)
            if best is None:
                return candidates[0]
            return inits.climb(density, best, free) if r > 0 else best

    return start


def _start_failure(backend: str, err: Exception, model, init: Any, point: dict[str, np.ndarray]) -> str:
    """A sampler's failure to start in words: where it started from (``init``), and which terms
    of the density are not finite at a start drawn as it drew its own (``point``, by value variable)."""
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    start = inits.describe(init) if backend != "pymc" else ("PyMC's initial point jittered by uniform(-1, 1) "
                                                             "on the unconstrained scale")
    return (f"backend={backend!r} could not start sampling ({first}) from {start}: at such a start, "
            f"{inits.why_not_finite(model, point)}. {inits.remedy(init, backend)}")


def _unflatten(model, flat: np.ndarray) -> dict[str, np.ndarray]:
    """An unconstrained vector (the model's value variables in order) → values by value-variable name."""
    shapes = {name: np.shape(value) for name, value in model.initial_point().items()}
    ends = np.cumsum([int(np.prod(shapes[v.name])) for v in model.value_vars])[:-1]
    return {v.name: part.reshape(shapes[v.name]) for v, part in zip(model.value_vars, np.split(flat, ends))}


def _pymc_model(built: BuiltModel):
    import pymc as pm

    model = _COMPILED.get(("pymc", built.structure), lambda: built.model)
    pm.set_data(built.values, model=model)
    return model


def _sample_pymc(model, settings: SamplerSettings, cores: int, built: BuiltModel) -> az.InferenceData:
    """PyMC's NUTS from its jittered initial points; its failure to start is a ``SamplingError``
    naming the terms at fault."""
    import pymc as pm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pm.sample(
                draws=settings.draws,
                tune=settings.warmup,
                chains=settings.chains,
                cores=cores,
                random_seed=settings.seed,
                progressbar=settings.progress,
                target_accept=settings.adapt_delta,
                max_treedepth=settings.max_treedepth,
                compute_convergence_checks=False,
                init="jitter+adapt_full" if settings.metric == "dense_e" else "jitter+adapt_diag_grad",
                mp_ctx="spawn",  # forking a process in which JAX (the default backend) runs deadlocks
                model=model,
            )
        except pm.exceptions.SamplingError as err:
            rng = np.random.default_rng(settings.seed)
            point = {k: v + rng.uniform(-1.0, 1.0, np.shape(v)) for k, v in model.initial_point().items()}
            raise SamplingError(_start_failure("pymc", err, model, "random", point)) from None


def jax_model(built: BuiltModel):
    """The :class:`brmc.backends.JaxModel` of ``built``'s structure (made once per process)
    and ``built``'s data values as its arguments."""
    model = _COMPILED.get(("jax", built.structure), lambda: backends.JaxModel(built.model))
    return model, model.data(built)


def _jax_compiled(built: BuiltModel, settings: SamplerSettings, cores: int):
    """The JAX model of this structure (made once) and its sampler compiled for ``settings``."""
    backends.require(settings.backend)
    model, data = jax_model(built)
    return model.sampler(settings.backend, settings, cores, data), data


#: each backend by name: compile for the settings (what ``compile_seconds`` times), giving the sampler to run
_PREPARE: dict[str, Callable[[BuiltModel, SamplerSettings, int], Callable[[], az.InferenceData]]] = {
    "nutpie": _prepare_nutpie, "pymc": _prepare_pymc, "numpyro": _prepare_jax, "blackjax": _prepare_jax}
#: the backends ``brm(backend=)`` takes
BACKENDS = tuple(_PREPARE)


def brms_posterior(raw: xr.Dataset, md: ModelData) -> xr.Dataset:
    """Raw model draws → brms's parameters, names and order (:func:`brmc.naming.brms_posterior`
    over the registered kinds of terms), with the scaled family parameters added.

    Example:
        >>> from brmc.model import build_model
        >>> raw = sample(build_model(fit.model_data, fit.priors), fit.settings).raw.posterior
        >>> bool((brms_posterior(raw, fit.model_data)["b_Days"] == fit.idata.posterior["b_Days"]).all())
        True
    """
    return _scaled_dpars(naming.brms_posterior(raw, md, terms.parts), md)


def _scaled_dpars(posterior: xr.Dataset, md: ModelData) -> xr.Dataset:
    """``posterior`` with each scaled dpar (gen_extreme_value's ``xi`` from ``tmp_xi``) added as the
    likelihood took it on the training data, as brms's ``compute_xi`` adds ``xi`` to the fit."""
    scaled = [d.name for d in md.dpars if d.scale is not None]
    if not scaled:
        return posterior
    etas = linear_predictors(posterior, md)
    sampled = {d.name: _dpar_draws(posterior, d, d.parameter)[:, :, None] for d in md.dpars}
    dpars = md.family.scale_dpars(md.y, md.eta_mu(etas), md.dpar_values(etas, sampled), scaled)
    return posterior.assign({name: (("chain", "draw"), dpars[name][..., 0]) for name in scaled})


def model_parameters(posterior: xr.Dataset, md: ModelData) -> dict[str, np.ndarray]:
    """The model's constrained parameters back from brms's draws (the inverse of
    :func:`brmc.naming.brms_posterior` but for ``z``): ``b<sfx>``, ``Intercept<sfx>`` (centred; the
    ordinal thresholds before ``means_X · b`` is added back), ``sd_<id>``, the Cholesky
    factor ``L_<id>`` of each correlation matrix and the family parameters, each
    (chain, draw, ...): each kind of term gives its own (:meth:`~brmc.terms.base.TermKind.constrained`).

    Example:
        >>> sorted(model_parameters(fit.idata.posterior, fit.model_data))
        ['Intercept', 'L_1', 'b', 'sd_1', 'sigma']
    """
    out = {d.parameter: _dpar_draws(posterior, d, d.parameter) for d in md.dpars}
    for lp in md.predictors.values():
        for kind, part in terms.parts(lp):
            out |= kind.constrained(posterior, lp, part)
    if md.family.mixture and md.family.order == "mu":  # brms's ordered_Intercept of a mixture
        out[naming.ordered_intercept(md.predictors["mu1"].resp)] = np.stack(
            [posterior[f"Intercept{md.predictors[d].suffix}"].values for d in md.mu_dpars], axis=-1)
    for mu, nthres in naming.threshold_parts(md):
        shift = out[f"b{mu.suffix}"] @ mu.means_X if mu.b_names else 0.0
        thres = np.stack([posterior[naming.b_name(mu.pname, naming.threshold_name(k + 1))].values
                          for k in range(nthres)], axis=-1)
        out[f"Intercept{mu.suffix}"] = thres - np.asarray(shift)[..., None]
    return out


def _dpar_draws(posterior: xr.Dataset, d: DistPar, name: str) -> np.ndarray:
    """The draws (chain, draw) of family parameter ``d`` by ``name`` (its own, or its sampled
    ``tmp_`` one), a simplex's (chain, draw, K) from theta1, theta2, ..., a correlation matrix's Cholesky
    factor (chain, draw, M, M) from its correlations (logistic_normal's ``lncor__p2__p3``)."""
    if d.corr:
        return naming.cholesky_of_correlations(posterior, d.corr, d.labels)
    if d.size:
        return np.stack([posterior[n].values for n in d.names], axis=-1)
    return posterior[name].values


def family_dpars(posterior: xr.Dataset, md: ModelData) -> dict[str, np.ndarray]:
    """Family parameters estimated as one number, per draw, shaped to broadcast over
    observations: (chain, draw, 1[, K])."""
    out = {d.name: _dpar_draws(posterior, d, d.name)[:, :, None] for d in md.dpars}
    if md.thresholds:
        thres = [posterior[naming.b_name(md.predictors["mu"].pname, n)].values for n in md.fixef_names[: md.thresholds]]
        out["thres"] = np.stack(thres, axis=-1)[:, :, None, :]
    return out


class Rows(dict):
    """A predictor's values for some rows, by kind of term (:meth:`~brmc.terms.base.TermKind.rows`);
    ``X`` (the population design), ``blocks`` and ``offset`` name the built-in kinds' values."""

    @property
    def X(self) -> np.ndarray:
        return self["fe"]

    @property
    def blocks(self) -> list[NewBlock]:
        return self.get("re") or []

    @property
    def offset(self) -> np.ndarray | None:
        return self.get("offset")


def training_design(md: ModelData, kept: dict[int, list[int]] | None = None,
                    incl_autocor: bool = True) -> dict[str, Rows]:
    """Each predictor's values on the training rows, by dpar, with the group-level blocks
    and coefficient positions in ``kept`` (by block id; default all of them), the autocorrelation
    terms left out unless ``incl_autocor``."""
    if kept is None:
        kept = {b.id: list(range(len(b.coefs))) for b in md.blocks}
    ctx = RowsContext(md=md, kept=kept, incl_autocor=incl_autocor)
    return {dpar: Rows({kind.name: kind.rows(lp, part, ctx) for kind, part in terms.parts(lp)})
            for dpar, lp in md.predictors.items()}


def flat_draws(values: np.ndarray) -> np.ndarray:
    """(chain, draw, ...) → (chain × draw, ...)."""
    return values.reshape(-1, *values.shape[2:])


NewLevelEffects = Callable[[NewBlock, np.ndarray], np.ndarray]


def linear_predictor(posterior: xr.Dataset, lp: LinearPredictor, design: Rows, draws: np.ndarray | None = None,
                     new_levels: NewLevelEffects | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """A predictor's ``eta`` for the rows of ``design``: (draws, rows), by the model's own
    :func:`brmc.terms.linear_predictor` on the draws.

    ``draws`` picks draws (of chain × draw; default all).  The effects of new levels
    (rows with index -1) are ``new_levels(block, r)``: (draws, new levels, coefficients)
    from the block's effects ``r`` (draws, levels, coefficients), for the new levels
    numbered by the block's ``new_codes``; they are added as extra levels.  ``rng`` draws
    what is random at new rows (an exact GP's values there, as brms draws them).

    Example:
        >>> md = fit.model_data  # 2 chains x 200 draws of sleepstudy's 180 rows
        >>> linear_predictor(fit.idata.posterior, md.predictors["mu"], training_design(md)["mu"]).shape
        (400, 180)
    """
    ctx = DrawsContext(posterior, draws, new_levels, rng)
    return terms.linear_predictor({kind.name: kind.draws(lp, part, design[kind.name], ctx)
                                   for kind, part in terms.parts(lp)})


def linear_predictors(posterior: xr.Dataset, md: ModelData) -> dict[str, np.ndarray]:
    """Each predictor's ``eta`` for every draw and training observation: (chain, draw, N), with
    category-specific effects (chain, draw, N, thresholds)."""
    chains = (posterior.sizes["chain"], posterior.sizes["draw"])
    etas = {dpar: linear_predictor(posterior, md.predictors[dpar], design) for dpar, design in training_design(md).items()}
    return {dpar: eta.reshape(*chains, *eta.shape[1:]) for dpar, eta in etas.items()}


def log_likelihood(posterior: xr.Dataset, md: ModelData) -> xr.Dataset:
    """Pointwise log-likelihood (chain, draw, obs) computed after sampling."""
    etas = linear_predictors(posterior, md)
    dpars = md.dpar_values(etas, family_dpars(posterior, md))
    values = terms.ac.time_log_lik(md, etas["mu"], dpars, posterior) if "mu" in etas else None
    y = terms.mi.observed(md)  # NaN where a response under mi() is missing, as brms's log_lik
    values = md.family.log_lik(y, md.eta_mu(etas), dpars, md.additions) if values is None else values
    return xr.Dataset({"Y": xr.DataArray(values, dims=("chain", "draw", "obs"))},
                      coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values})


def to_inference_data(result: SamplingResult, md: ModelData) -> az.InferenceData:
    """Raw draws → InferenceData with brms names, sample stats and observed data.
    The pointwise log-likelihood is left for ``Fit.log_likelihood()``, as brms's
    ``log_lik``: computed when asked for."""
    warmup = {"warmup_sample_stats": result.raw.warmup_sample_stats} if "warmup_sample_stats" in result.raw else {}
    return az.InferenceData(
        posterior=brms_posterior(result.raw.posterior, md),
        sample_stats=result.raw.sample_stats, **warmup,
        observed_data=xr.Dataset({"Y": xr.DataArray(md.y, dims=("obs", "cat")[:md.y.ndim])}),  # cbind(): categories
    )
