"""Time brmc on the brms 2.18 reference models, next to brms's own figures.

Run from the repository root::

    python benchmarks/reference_models.py                       # all models, nutpie
    python benchmarks/reference_models.py --models rats,gcse_m1 --backend pymc
    python benchmarks/reference_models.py --models sleepstudy_slopes --repeat-warm --markdown

Each model runs in a fresh Python subprocess, so import and compile costs are
real.  The child imports brmc, fits the model with brms's reference settings
(4 chains, 1,000 warm-up + 1,000 draws, seed 1234), prints ``print(fit)`` and
then one ``BENCH_JSON {...}`` line with its numbers.  End-to-end is wall time
from the parent starting the child to the summary being printed.  Peak MB is
the child's own maximum resident set size (nutpie samples in threads of that
process; with ``--backend pymc`` the sampler worker processes are not counted).

Each model gets a fresh, private pytensor compile directory (where pytensor
keeps its on-disk numba cache), so the first run compiles cold whatever other
fits on the machine left in ``~/.pytensor``; ``--shared-cache`` uses the
normal one instead.  ``--repeat-warm`` runs each model twice; the second run
finds the on-disk cache the first run left.  brms's figures are read
from ``../shared/reference/<model>/timing.json`` next to the repository; they
were measured with chains run one after another on one core, so "brms
compile+sample" is its compile time plus the summed chain times.  Columns are
left empty when that folder is missing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "reference"
PREFIX = "BENCH_JSON "
COLUMNS = [
    "model", "n obs", "import s", "build s", "compile s", "sample s", "end-to-end s",
    "min Bulk_ESS", "ESS/s (sampling)", "divergences", "peak MB",
    "brms compile+sample s", "ratio", "brms ESS/s", "ESS/s ratio",
]


def child(name: str, backend: str) -> None:
    """Fit one reference model in this process and report on stdout."""
    t0 = time.perf_counter()
    import brmc

    import_s = time.perf_counter() - t0
    formula, dataset, family = brmc.datasets.REFERENCE_MODELS[name]
    fit = brmc.brm(formula, data=brmc.datasets.load(dataset), family=family, seed=1234,
                   chains=4, iter=2000, warmup=1000, backend=backend, progress=False)
    print(fit, flush=True)
    printed = time.time()
    tables = fit.summary_tables()
    frames = [tables.fixed, tables.spec_pars, *tables.random.values()]
    report = {
        "nobs": fit.nobs,
        "import_s": import_s,
        **{f"{k}_s": v for k, v in fit.timing.items()},
        "min_ess_bulk": float(min(f["Bulk_ESS"].min() for f in frames if len(f))),
        "divergences": int(fit.idata.sample_stats["diverging"].sum()),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "printed_at": printed,
    }
    print(PREFIX + json.dumps(report), flush=True)


def run(name: str, backend: str, cache: str | None) -> dict[str, Any] | None:
    """Run one fresh child; echo its output and return its numbers (None if it failed)."""
    env = dict(os.environ)
    if cache:
        env["PYTENSOR_FLAGS"] = ",".join(filter(None, [env.get("PYTENSOR_FLAGS"), f"base_compiledir={cache}"]))
    started = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", name, "--backend", backend],
                          stdout=subprocess.PIPE, text=True, env=env)
    lines = proc.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith(PREFIX)), flush=True)
    reports = [json.loads(line[len(PREFIX):]) for line in lines if line.startswith(PREFIX)]
    if proc.returncode or not reports:
        print(f"!! {name}: child exited with status {proc.returncode}", file=sys.stderr)
        return None
    report = reports[-1]
    report["end_to_end_s"] = report["printed_at"] - started
    report["ess_per_s"] = report["min_ess_bulk"] / report["sample_s"]
    return report


def brms_figures(name: str) -> dict[str, float] | None:
    path = SHARED / name / "timing.json"
    return json.loads(path.read_text()) if path.is_file() else None


def row(label: str, r: dict[str, Any] | None, brms: dict[str, float] | None) -> list[str]:
    """One table row; numbers become text, missing ones an empty cell."""
    if r is None:
        return [label, "failed"] + [""] * (len(COLUMNS) - 2)
    brms_total = brms["compile_s"] + brms["sampling_s"] if brms else math.nan
    brms_ess_s = brms["ess_bulk_per_sampling_s"] if brms else math.nan
    cells: list[float | int] = [
        r["nobs"], r["import_s"], r["build_s"], r["compile_s"], r["sample_s"], r["end_to_end_s"],
        r["min_ess_bulk"], r["ess_per_s"], r["divergences"], r["peak_mb"],
        brms_total, r["end_to_end_s"] / brms_total, brms_ess_s, r["ess_per_s"] / brms_ess_s,
    ]
    fmt = ["{}", "{:.1f}", "{:.2f}", "{:.1f}", "{:.1f}", "{:.1f}", "{:.0f}", "{:.1f}", "{}",
           "{:.0f}", "{:.1f}", "{:.2f}", "{:.1f}", "{:.2f}"]
    return [label] + ["" if isinstance(v, float) and math.isnan(v) else f.format(v)
                      for f, v in zip(fmt, cells)]


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = [COLUMNS, ["---"] * len(COLUMNS), *rows]
        return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
    widths = [max(len(cells[i]) for cells in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
                     for cells in [COLUMNS, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time brmc on the brms reference models.")
    parser.add_argument("--models", help="comma-separated names (default: all reference models)")
    parser.add_argument("--backend", default="nutpie", choices=["nutpie", "pymc"])
    parser.add_argument("--repeat-warm", action="store_true", help="run each model twice")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--shared-cache", action="store_true", help="use ~/.pytensor, not a fresh cache")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.backend)
        return 0

    from brmc.datasets import REFERENCE_MODELS

    names = args.models.split(",") if args.models else list(REFERENCE_MODELS)
    unknown = sorted(set(names) - set(REFERENCE_MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(REFERENCE_MODELS)}")
    rows = []
    for name in names:
        with tempfile.TemporaryDirectory(prefix="brmc-bench-") as fresh:
            for i in range(2 if args.repeat_warm else 1):
                label = f"{name} (run {i + 1})" if args.repeat_warm else name
                result = run(name, args.backend, None if args.shared_cache else fresh)
                rows.append(row(label, result, brms_figures(name)))
    cache = "~/.pytensor" if args.shared_cache else "fresh per model"
    print(f"\nbackend: {args.backend}; compile cache: {cache}; brms: {SHARED if SHARED.is_dir() else 'not found'}")
    print(render(rows, args.markdown))
    return 1 if any(r[1] == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
