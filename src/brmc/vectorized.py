"""Many prior sets of one model sampled as one compiled program.

A prior's hyperparameters are data of the compiled model (``pm.Data``), so the
sets of a :func:`brmc.prior_sweep` that keep every prior's distribution family
build models of one structure that differ only in some data entries.  On the
JAX backends they run as one XLA program: the chains of every set side by side
(``jax.vmap``) on each device, each chain with its own set's values of those
entries (:meth:`brmc.backends.JaxModel.sampler` with ``varying``).  Chains in
lockstep each take as many leapfrog steps as the longest of them, so on a CPU
this saved no time (sleepstudy, 5 and 10 sets on 2 cores: CPU time 20.3 s
against 20.5 s one set after another, 42 s against 38 s); it is meant for
accelerators, where a batch of chains costs about as much as one.

Each set's chain ``c`` starts where that set's separate fit's chain ``c``
would (the same seed, initial values chosen with that set's priors) and uses
the same random key.  Batching reorders some floating-point sums, and NUTS
amplifies such differences, so the draws agree with a separate fit in
distribution, not digit for digit.

Example:
    >>> specs = [brmc.priors.resolve_priors(fit.model_data, [brmc.prior(f"normal(0, {s})", class_="b")]) for s in (1, 10)]
    >>> [f.settings.chains for f in fits(fit.model_data, specs, fit.settings)]
    [2, 2]
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import pipeline
from .backends import usable_cores
from .data import ModelData
from .anymodel import build_any
from .model import BuiltModel
from .priors import PriorSpec
from .sampling import SamplerSettings, SamplingResult, jax_model

if TYPE_CHECKING:
    from .fit import Fit

#: The backends whose chains can run side by side in one program.
BATCHED_BACKENDS = ("numpyro", "blackjax")


def batchable(settings: SamplerSettings, n_sets: int) -> bool:
    """Whether ``n_sets`` prior sets under ``settings`` can be sampled as one program: MCMC on a JAX
    backend, posterior draws only (brms's ``sample_prior = "no"``), at least two sets.

    Parameters
    ----------
    settings : SamplerSettings
        The sampler settings of every set.
    n_sets : int
        The number of prior sets.

    Returns
    -------
    bool
        True when :func:`fits` may take them.

    Examples
    --------
    >>> batchable(SamplerSettings(backend="numpyro"), 5), batchable(SamplerSettings(backend="nutpie"), 5)
    (True, False)
    """
    return (settings.backend in BATCHED_BACKENDS and settings.algorithm == "sampling"
            and settings.sample_prior == "no" and n_sets >= 2)


def fits(md: ModelData, specs: Sequence[PriorSpec], settings: SamplerSettings,
         caught: list[list[warnings.WarningMessage]] | None = None) -> list[Fit] | None:
    """The fits of ``md`` under each prior set in ``specs``, sampled together; ``None`` when they
    cannot be (see :func:`batchable`, and sets whose priors change a distribution family build
    models of different structures).

    Parameters
    ----------
    md : ModelData
        The model's data.
    specs : sequence of PriorSpec
        One resolved prior set per fit.
    settings : SamplerSettings
        The sampler settings of every fit (``chains`` per set).
    caught : list, optional
        Filled with each fit's warnings (brms's diagnostics), one list per set, instead of
        raising them.

    Returns
    -------
    list of Fit or None
        One fit per set, in order.

    Examples
    --------
    A flat prior made normal changes the model's structure:

    >>> specs = [fit.priors, brmc.priors.resolve_priors(fit.model_data, [brmc.prior("normal(0, 5)", class_="b")])]
    >>> fits(fit.model_data, specs, fit.settings) is None
    True
    """
    if not batchable(settings, len(specs)):
        return None
    t0 = time.perf_counter()
    builts = [build_any(md, spec) for spec in specs]
    if len({b.structure for b in builts}) > 1:
        return None
    model, _ = jax_model(builts[0])
    data = [model.data(b) for b in builts]
    varying = tuple(i for i in range(len(data[0])) if any(not np.array_equal(d[i], data[0][i]) for d in data[1:]))
    chains = settings.chains
    together = dataclasses.replace(settings, chains=len(specs) * chains)
    cores = settings.cores or min(together.chains, usable_cores())
    compiled = model.sampler(settings.backend, together, cores, data[0], varying)
    t_built = time.perf_counter()
    arguments = _arguments(model, compiled.shape, builts, data, varying, settings)
    compiled.executable.result()
    t1 = time.perf_counter()
    raw = compiled.run(arguments, together)
    t2 = time.perf_counter()
    if settings.thin > 1:
        raw = raw.isel(draw=slice(None, None, settings.thin))
    out = []
    for k, spec in enumerate(specs):
        own = raw.isel(chain=slice(k * chains, (k + 1) * chains)).assign_coords(chain=np.arange(chains))
        result = SamplingResult(raw=own, compile_seconds=(t1 - t_built) / len(specs),
                                sample_seconds=(t2 - t1) / len(specs))
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always", UserWarning)
            out.append(pipeline.entry("fit_from")(md, spec, settings, result, (t_built - t0) / len(specs)))
        if caught is not None:
            caught.append(record)
        else:
            for w in record:
                warnings.warn(w.message, w.category, stacklevel=2)
    return out


def _arguments(model, shape: tuple[int, int], builts: Sequence[BuiltModel], data: Sequence[tuple],
               varying: tuple[int, ...], settings: SamplerSettings) -> tuple:
    """The batched executable's arguments: per set, the starts and keys its separate fit would
    use (set after set, chains within) and their initial inverse metrics, split over ``shape``'s devices;
    the shared data; each
    chain's own values of the ``varying`` entries."""
    starts, metrics, keys = [], [], []
    for built, values in zip(builts, data):
        init_seed, key_seed = np.random.SeedSequence(settings.seed).spawn(2)
        points, metric = model.starts(settings.chains, init_seed, values, settings.init, built.start,
                                      settings.init_metric)
        starts.append(points)
        metrics.append(metric)
        keys.append(key_seed.generate_state(2 * settings.chains).reshape(settings.chains, 2))
    n = len(builts) * settings.chains
    model.constrainer(n * settings.draws)
    shared = tuple(v for i, v in enumerate(data[0]) if i not in varying)
    own = tuple(np.stack([values[i] for values in data for _ in range(settings.chains)])
                .reshape(*shape, *np.shape(data[0][i])) for i in varying)
    return (np.arange(n, dtype=np.int32).reshape(shape), np.concatenate(keys).reshape(*shape, 2),
            np.concatenate(starts).reshape(*shape, -1), np.concatenate(metrics).reshape(*shape, -1), shared, own)
