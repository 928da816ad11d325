"""Time each ``brm(algorithm=...)`` and its error against brms's NUTS posterior on a reference model.

Run from the repository root::

    python benchmarks/algorithms.py sleepstudy_slopes gcse_m1 gcse_m3 jsp_nested
    python benchmarks/algorithms.py jsp_bivariate --algorithms sampling,laplace

For each model and algorithm (NUTS with brms's defaults, 4 chains x 1,000 after 1,000 warm-up;
the approximations 1,000 draws), prints the seconds from data to ``Fit`` and the largest
``|mean - brms mean| / brms sd`` over the ``b_`` parameters and over all ``b_``, ``sd_``, ``cor_``
and ``sigma`` (brms 2.18's ``tests/reference/<case>/draws_summary.csv``), and for the
approximations the Pareto k of their importance ratios (``fit.idata.sample_stats.attrs``);
docs/performance.md shows a run.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

import brmc

ALGORITHMS = ("sampling", "meanfield", "fullrank", "pathfinder", "laplace")
REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference"


def measure(case: str, algorithms: tuple[str, ...] = ALGORITHMS) -> None:
    """Print one line per algorithm for the reference model ``case``."""
    formula, data, family = brmc.datasets.REFERENCE_MODELS[case]
    frame = brmc.datasets.load(data)
    ref = pd.read_csv(REFERENCE / case / "draws_summary.csv", index_col=0)
    for algorithm in algorithms:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = brmc.brm(formula, frame, family=family, seed=1234, progress=False, algorithm=algorithm)
        seconds = time.perf_counter() - t0
        draws = fit.draws()
        names = [c for c in ref.index if c in draws.columns and c.startswith(("b_", "sd_", "cor_", "sigma"))]
        err = {c: abs(draws[c].mean() - ref.loc[c, "mean"]) / ref.loc[c, "sd"] for c in names}
        worst = max(err, key=err.get)
        max_b = max(v for c, v in err.items() if c.startswith("b_"))
        k = fit.idata.sample_stats.attrs.get("pareto_k")
        print(f"{case} {algorithm}: {seconds:.1f} s, max err b_ {max_b:.2f}, all {err[worst]:.2f} ({worst})"
              + ("" if k is None else f", Pareto k {k:.2f}"), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=["sleepstudy_slopes"])
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS), help="comma-separated (default: all)")
    args = parser.parse_args()
    for name in args.cases:
        measure(name, tuple(args.algorithms.split(",")))
