"""Time each ``brm(algorithm=...)`` and its error against brms's NUTS posterior on a reference model.

Run from the repository root::

    python benchmarks/algorithms.py sleepstudy_slopes gcse_m1 gcse_m3 jsp_nested

For each model and algorithm (NUTS with brms's defaults, 4 chains x 1,000 after 1,000 warm-up;
the approximations 1,000 draws), prints the seconds from data to ``Fit`` and the largest
``|mean - brms mean| / brms sd`` over the ``b_`` parameters and over all ``b_``, ``sd_``, ``cor_``
and ``sigma`` (brms 2.18's ``tests/reference/<case>/draws_summary.csv``); docs/performance.md
shows a run.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd

import brmc

ALGORITHMS = ("sampling", "meanfield", "fullrank", "pathfinder", "laplace")
REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference"


def measure(case: str) -> None:
    """Print one line per algorithm for the reference model ``case``."""
    formula, data, family = brmc.datasets.REFERENCE_MODELS[case]
    frame = brmc.datasets.load(data)
    ref = pd.read_csv(REFERENCE / case / "draws_summary.csv", index_col=0)
    for algorithm in ALGORITHMS:
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
        print(f"{case} {algorithm}: {seconds:.1f} s, max err b_ {max_b:.2f}, all {err[worst]:.2f} ({worst})",
              flush=True)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["sleepstudy_slopes"]:
        measure(name)
