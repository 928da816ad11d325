"""What a cold numpyro fit builds and compiles, counted (issue #14: the term layer must not make a
fit slower). Counts, not times: a machine shared by several jobs makes any time limit flaky, while
one more XLA program, a density graph that stopped folding, or a library imported eagerly shows up
as a number. The bounds are those of commit 7fc26be's measurement (docs/performance.md, "Before
and after the term layer, counted").
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pytensor.compile import SharedVariable
from pytensor.compile.function.types import FunctionMaker
from pytensor.compile.mode import JAX
from pytensor.graph.fg import FunctionGraph
from pytensor.graph.replace import clone_replace
from pytensor.graph.rewriting.utils import rewrite_graph
from pytensor.graph.traversal import graph_inputs

import brmc
from brmc import backends, sampling

from .conftest import SLEEP, xla_compilations

#: libraries of the sampling path that ``import brmc`` leaves to the first fit that needs them
DEFERRED_LIBRARIES = ("jax", "jaxlib", "numpyro", "blackjax", "nutpie", "pymc.sampling.jax", "optax")


def test_import_brmc_leaves_the_jax_stack_unimported() -> None:
    """``import brmc`` in a fresh process imports none of the JAX libraries (0.9-1.5 s of CPU), only
    PyMC's side: a fit imports them when it samples with a JAX backend."""
    code = "import json, sys, brmc; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = set(json.loads(out.stdout.splitlines()[-1]))
    eager = sorted(m for m in modules if m in DEFERRED_LIBRARIES or m.startswith(tuple(f"{d}." for d in DEFERRED_LIBRARIES)))
    assert eager == [], eager
    assert "brmc.backends" in modules and "pymc" in modules  # the count looks at the right process


def _sleep_density_graph() -> tuple[int, int]:
    """(PyTensor nodes of sleepstudy's log density as PyMC writes it, nodes after JaxModel's rewrites)."""
    built = brmc.make_model(SLEEP, brmc.datasets.load("sleepstudy"))
    logp = built.model.logp()
    raw = FunctionGraph(outputs=[logp], clone=True)
    logp = rewrite_graph(logp, include=("canonicalize",))
    shared = [v for v in graph_inputs([logp]) if isinstance(v, SharedVariable)]  # as JaxModel: static shapes
    static = {v: v.type.clone(shape=np.shape(v.get_value()))() for v in shared}
    graph = FunctionGraph(outputs=[clone_replace(logp, replace=static)], clone=True)
    JAX.excluding("local_usmm").optimizer.rewrite(graph)
    return len(raw.apply_nodes), len(graph.apply_nodes)


def test_sleepstudy_density_graph_stays_folded() -> None:
    """The sampled density of ``Reaction ~ Days + (Days | Subject)`` folds, by PyTensor's rewrites, to
    one fused expression per term: 259 nodes as PyMC writes it, 58 after the rewrites (9412635: 247 and
    56; the two more are the LKJ prior reading the diagonal of the stacked Cholesky factor, so that
    power-scaling can evaluate it at given factors; XLA folds them: the sampler's optimised program
    has as many instructions as before)."""
    written, rewritten = _sleep_density_graph()
    assert written <= 259, written
    assert rewritten <= 58, rewritten


def _count_jaxpr(jaxpr) -> int:
    """Equations of a jaxpr, those of its inner jaxprs (jit, scan, cond) included."""
    n = 0
    for eqn in jaxpr.eqns:
        n += 1
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else [param]:
                inner = getattr(sub, "jaxpr", None)
                if inner is not None:
                    n += _count_jaxpr(getattr(inner, "jaxpr", inner))
    return n


def test_cold_numpyro_fit_compiles_four_programs_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold fit (no compiled model of its structure) asks XLA for the sampler, the starts' density
    and gradient, PyMC's initial point and the map from draws to variables, plus JAX's small
    programs that place the arguments on the devices; 9412635 compiled four more (the flat vector
    split op by op, the density alone). No PyTensor function is compiled before sampling (the one
    after it turns Cholesky draws into correlations, on PyTensor's Python linker)."""
    pytest.importorskip("numpyro")
    import jax

    monkeypatch.setattr(sampling, "_COMPILED", sampling.CompiledModels(capacity=4))  # cold: nothing reused
    made = []
    original = FunctionMaker.__init__

    def counting(self, *args, **kwargs):
        made.append(type(self).__name__)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FunctionMaker, "__init__", counting)
    sampled = []
    run = backends.CompiledSampler.run
    monkeypatch.setattr(backends.CompiledSampler, "run",
                        lambda self, *a, **k: (sampled.append(len(made)), run(self, *a, **k))[1])
    with xla_compilations() as compiled:
        fit = brmc.brm(SLEEP, data=brmc.datasets.load("sleepstudy"), chains=2, iter=200, warmup=100, seed=5,
                       backend="numpyro", progress=False)
    own = sorted(name for name in compiled if name in ("jit(_fun)", "jit(logp)", "jit(<lambda>)"))
    assert own == ["jit(<lambda>)", "jit(<lambda>)", "jit(_fun)", "jit(logp)"], compiled
    assert len(compiled) <= 13, compiled
    assert sampled == [0], made  # PyTensor compiled nothing before the sampler ran
    assert len(made) <= 1, made
    jm, data = sampling.jax_model(brmc.make_model(SLEEP, brmc.datasets.load("sleepstudy")))  # the fit's, reused
    assert fit.nobs == 180
    equations = _count_jaxpr(jax.make_jaxpr(jm.logp)(np.zeros(jm._size), data).jaxpr)
    assert equations <= 260, equations  # 9412635: 235 (the LKJ prior's two nodes above)
