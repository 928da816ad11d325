"""Scale check: crossed random effects on InstEval (73,421 ratings) and VerbAgg (7,584 rows).

Run from the repository root::

    python benchmarks/insteval.py                         # InstEval, default backend
    python benchmarks/insteval.py --backend numpyro
    python benchmarks/insteval.py --model verbagg         # the Bernoulli model on VerbAgg
    python benchmarks/insteval.py --algorithm laplace     # an approximation instead of NUTS
    python benchmarks/insteval.py --platforms cpu,gpu     # CPU vs GPU, each in a fresh process
    python benchmarks/insteval.py --control '{"init_metric": "unit", "warmup_treedepth": 10}'  # Stan's warm-up
    python benchmarks/insteval.py --rows 5000 --chains 2 --iter 600   # a random subsample, a short run

With ``--platforms``, each platform's fit runs in its own process with
``JAX_PLATFORMS`` set (``cuda`` for ``gpu``), and a table of their wall times
follows; the GPU row is skipped, with the reason, where JAX sees no GPU (a CUDA
build of JAX is needed: ``pip install "jax[cuda12]"``).

Fits brms's default priors with 4 chains x 1,000 draws after 1,000 warm-up
(seed 1234) and prints the summary, then wall time (import to summary), the
fit's own timings, peak resident memory (the larger of this process and its
largest worker), the largest Rhat of the ``b_`` and ``sd_`` parameters and the
smallest bulk and tail ESS of the population-level, group-level sd and family
parameters.  The pointwise log-likelihood is not computed (brmc computes it
only when asked for), so memory stays small.

The target (the speed issue): InstEval within 15 minutes on 2 cores, peak
memory under 4 GB, and Rhat <= 1.01 on every ``sd_`` and ``b_`` parameter.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
import warnings

MODELS = {
    "insteval": ("y ~ service + (1 | s) + (1 | d) + (1 | dept:service)", "InstEval", "gaussian"),
    "verbagg": ("r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", "VerbAgg", "bernoulli"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="insteval")
    parser.add_argument("--backend", default=None, help="brmc backend (default: brm's default)")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--iter", type=int, default=2000, help="iterations per chain, warm-up included")
    parser.add_argument("--cores", type=int, default=None)
    parser.add_argument("--algorithm", default="sampling", help="brm's algorithm (default: NUTS)")
    parser.add_argument("--platforms", default=None, help="comma-separated: cpu, gpu (each in its own process)")
    parser.add_argument("--rows", type=int, default=0, help="fit a random subsample of this many rows")
    parser.add_argument("--control", default=None, help='brm control settings as JSON, e.g. \'{"init_metric": "unit"}\'')
    args = parser.parse_args(argv)
    if args.platforms:
        own = ["--model", args.model, "--chains", str(args.chains), "--iter", str(args.iter),
               "--algorithm", args.algorithm]
        own += ["--backend", args.backend] if args.backend else []
        own += ["--cores", str(args.cores)] if args.cores else []
        return compare_platforms(args.platforms.split(","), own)

    started = time.perf_counter()
    import arviz as az

    import brmc

    formula, dataset, family = MODELS[args.model]
    backend = {"backend": args.backend} if args.backend else {}
    backend |= {"control": json.loads(args.control)} if args.control else {}
    with warnings.catch_warnings():  # convergence warnings are part of the printed summary
        warnings.simplefilter("ignore")
        data = brmc.datasets.load(dataset)
        data = data.sample(n=args.rows, random_state=1).reset_index(drop=True) if args.rows else data
        fit = brmc.brm(formula, data, family=family, chains=args.chains, iter=args.iter,
                       cores=args.cores, seed=1234, progress=False, algorithm=args.algorithm, **backend)
    print(fit)
    wall = time.perf_counter() - started
    peak_kb = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    if args.algorithm != "sampling":  # no chains to diagnose: the time and the approximation's Pareto k
        print(f"{args.algorithm}: wall time (import to summary) {wall:.1f} s; peak RSS {peak_kb / 1024:.0f} MB; "
              f"Pareto k {fit.idata.sample_stats.attrs['pareto_k']:.2f}")
        return 0
    post = fit.idata.posterior
    checked = [v for v in post.data_vars if v.startswith(("b_", "sd_"))]
    scalars = checked + [d.name for d in fit.model_data.dpars]
    rhat = az.rhat(post[checked])
    bulk, tail = az.ess(post[scalars]), az.ess(post[scalars], method="tail")
    worst = max(checked, key=lambda v: float(rhat[v]))
    print(f"model: {formula} ({family}) on {dataset}, {fit.nobs} rows; backend {fit.settings.backend}; "
          f"{fit.settings.chains} chains x {fit.settings.draws} draws after {fit.settings.warmup} warm-up; "
          f"cores {fit.settings.cores or min(fit.settings.chains, os.cpu_count() or 1)}")
    print(f"wall time (import to summary): {wall:.1f} s; fit timing: "
          + ", ".join(f"{k} {v:.1f} s" for k, v in fit.timing.items()))
    print(f"peak RSS: {peak_kb / 1024:.0f} MB")
    print(f"max Rhat over b_/sd_: {float(rhat[worst]):.4f} ({worst})")
    print(f"min bulk ESS: {min(float(bulk[v]) for v in scalars):.0f}; "
          f"min tail ESS: {min(float(tail[v]) for v in scalars):.0f}")
    print(f"divergences: {int(fit.idata.sample_stats['diverging'].sum())}")
    if "warmup_sample_stats" in fit.idata.groups():  # NumPyro's: the gradients each phase cost
        warm, kept = (int(fit.idata[g]["n_steps"].sum()) for g in ("warmup_sample_stats", "sample_stats"))
        print(f"leapfrog steps: warm-up {warm}, sampling {kept}; min bulk ESS per 1,000 gradients "
              f"{1000 * min(float(bulk[v]) for v in scalars) / (warm + kept):.2f}")
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


def compare_platforms(platforms: list[str], argv: list[str]) -> int:
    """Run the fit once per platform, each in a fresh process with ``JAX_PLATFORMS`` set, and
    print their wall times side by side; a platform JAX cannot see is reported, not run."""
    jax_name = {"cpu": "cpu", "gpu": "cuda"}
    rows = []
    for platform in platforms:
        env = {**os.environ, "JAX_PLATFORMS": jax_name[platform]}
        probe = subprocess.run([sys.executable, "-c", "import jax; print(jax.devices()[0].platform)"],
                               env=env, capture_output=True, text=True)
        if probe.returncode != 0:
            rows.append((platform, "skipped: JAX sees no such device (a GPU needs pip install \"jax[cuda12]\")"))
            continue
        run = subprocess.run([sys.executable, __file__, *argv], env=env, capture_output=True, text=True)
        print(run.stdout)
        found = re.search(r"wall time \(import to summary\):? ([0-9.]+) s", run.stdout)
        rows.append((platform, f"{found.group(1)} s" if found else f"failed: {run.stderr.strip()[-300:]}"))
    print("| platform | wall time (import to summary) |\n|---|---|")
    for platform, result in rows:
        print(f"| {platform} | {result} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
