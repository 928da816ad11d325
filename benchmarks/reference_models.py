"""Time brmc's backends on the brms 2.18 reference models, next to brms's own figures.

Run from the repository root::

    python benchmarks/reference_models.py                          # all models, every installed backend
    python benchmarks/reference_models.py --models rats,gcse_m1 --backend pymc,numpyro
    python benchmarks/reference_models.py --models sleepstudy_slopes --repeat-warm --markdown
    python benchmarks/reference_models.py --models s_mcycle,s_jsp_re,mo_sleep,gp_mcycle --backend numpyro
    python benchmarks/reference_models.py --models gcse_m1 --compare-brms
    python benchmarks/reference_models.py --models jsp_nested --backend numpyro --control '{"init_metric": "unit"}'
    python benchmarks/reference_models.py --models mv_jsp --backend numpyro   # a round-2 model (brmc.datasets.ROUND2_MODELS, EXTRA_MODELS)

Each (model, backend) runs in a fresh Python subprocess, so import and
compile costs are real.  The child imports brmc, fits the model with brms's
reference settings (4 chains, 1,000 warm-up + 1,000 draws, seed 1234), prints
``print(fit)`` and then one ``BENCH_JSON {...}`` line with its numbers.
End-to-end is wall time from the parent starting the child to the summary
being printed.  Peak MB is the larger of the child's own maximum resident set
size and that of its largest worker process (PyMC's chain processes).

Before the timed runs, one untimed child imports brmc, JAX and NumPyro, so
the first row does not pay alone for reading the libraries from disk (brms's
stored figures likewise exclude R start-up and package loading); compile
caches are not touched by it.  Where ``PYTHONDONTWRITEBYTECODE`` is set, the
children write Python's bytecode to a private folder instead (that child fills
it), so that import costs what it costs an installed package, not a compile of
brmc's sources in every child.

Each (model, backend) gets a fresh, private pytensor compile directory (where
pytensor keeps its on-disk numba and C caches and brmc puts XLA's), so the
first run compiles cold whatever other fits on the machine left in
``~/.pytensor``; ``--shared-cache`` uses the normal one instead.
``--repeat-warm`` runs each twice; the second run finds the on-disk cache the
first run left.  After the detailed table comes one of end-to-end seconds with
a column per backend (cold, and warm with ``--repeat-warm``).

brms's figures are read from ``../shared/reference/<model>/timing.json`` next
to the repository; they were measured with chains run one after another on
one core, so "brms compile+sample" is its compile time plus the summed chain
times.  ``--compare-brms`` instead runs brms itself (``Rscript``, when R and
brms are installed) on the same model and data in the same run, with the same
cores, and compares end-to-end times; without R it says so and keeps the
stored figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "reference"
PREFIX = "BENCH_JSON "
CONTROL_ENV = "BRMC_BENCH_CONTROL"
ALL_BACKENDS = ("nutpie", "pymc", "numpyro", "blackjax")
_IMPORTS = {"nutpie": ["nutpie"], "pymc": ["pymc"], "numpyro": ["jax", "numpyro"], "blackjax": ["jax", "blackjax"]}
COLUMNS = [
    "model", "backend", "run", "n obs", "import s", "build s", "compile s", "sample s", "end-to-end s",
    "min Bulk_ESS", "ESS/s (sampling)", "divergences", "peak MB",
    "load 1m", "brms s", "ratio", "brms ESS/s", "ESS/s ratio",
]


def _report(proc: subprocess.CompletedProcess, label: str) -> dict | None:
    """Echo a child's output and return its last report line, or None if it failed."""
    lines = proc.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith(PREFIX)), flush=True)
    reports = [json.loads(line[len(PREFIX):]) for line in lines if line.startswith(PREFIX)]
    if proc.returncode or not reports:
        print(f"!! {label}: child exited with status {proc.returncode}", file=sys.stderr)
        return None
    return reports[-1]


def models() -> dict[str, tuple[str, str, str]]:
    """Every model this script can time: round 1 (run by default) and round 2 (``--models s_mcycle,...``)."""
    from brmc.datasets import REFERENCE_MODELS, ROUND2_MODELS

    return {**REFERENCE_MODELS, **ROUND2_MODELS}


def _nl_loss(brmc: Any) -> dict[str, Any]:
    """brms's loss-development curve as its run fitted it (``tests/reference/nl_loss/model_info.json``):
    ``bf(nl = TRUE)``, normal priors on the three nlpars, ``adapt_delta = 0.9``, brms's ``loss`` data."""
    import pandas as pd

    formula = brmc.bf("cum ~ ult * (1 - exp(-(dev / theta)^omega))", "ult ~ 1 + (1 | AY)", "omega ~ 1",
                      "theta ~ 1", nl=True)
    priors = [brmc.prior("normal(5000, 1000)", nlpar="ult"), brmc.prior("normal(1, 2)", nlpar="omega"),
              brmc.prior("normal(45, 10)", nlpar="theta")]
    return {"formula": formula, "data": pd.read_csv(ROOT / "tests" / "reference" / "nl_loss" / "loss.csv"),
            "family": "gaussian", "prior": priors, "control": {"adapt_delta": 0.9}}


def _mv_jsp(brmc: Any) -> dict[str, Any]:
    """brms's bivariate JSP model: ``bf(mvbind(english, math) ~ craven + (1 | p | school)) + set_rescor(TRUE)``."""
    formula = brmc.bf("mvbind(english, math) ~ craven + (1 | p | school)") + brmc.set_rescor(True)
    return {"formula": formula, "data": brmc.datasets.load("jspr"), "family": "gaussian"}


def _mi_nhanes(brmc: Any) -> dict[str, Any]:
    """brms's missing-value model on nhanes as is: ``bf(bmi | mi() ~ age * mi(chl)) + bf(chl | mi() ~ age)``."""
    formula = brmc.bf("bmi | mi() ~ age * mi(chl)") + brmc.bf("chl | mi() ~ age") + brmc.set_rescor(False)
    return {"formula": formula, "data": brmc.datasets.load("nhanes"), "family": "gaussian"}


#: reference models that need more than (formula, data set, family): name → brm()'s arguments, given brmc
EXTRA_MODELS = {"nl_loss": _nl_loss, "mv_jsp": _mv_jsp, "mi_nhanes": _mi_nhanes}


def child(name: str, backend: str) -> None:
    """Fit one reference model in this process and report on stdout."""
    t0 = time.perf_counter()
    import brmc

    import_s = time.perf_counter() - t0
    if name in EXTRA_MODELS:
        arguments = EXTRA_MODELS[name](brmc)
    else:
        formula, dataset, family = models()[name]
        arguments = {"formula": formula, "data": brmc.datasets.load(dataset), "family": family}
    control = {**arguments.pop("control", {}), **json.loads(os.environ.get(CONTROL_ENV, "{}"))}
    fit = brmc.brm(**arguments, seed=1234, chains=4, iter=2000, warmup=1000, backend=backend, progress=False,
                   **({"control": control} if control else {}))
    print(fit, flush=True)
    printed = time.time()
    tables = fit.summary_tables()
    frames = [f for f in (tables.autocor, tables.fixed, tables.spec_pars, tables.rescor, tables.smooth, tables.gp, tables.simplex,
                          *tables.random.values()) if len(f)]
    peak_kb = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    report = {
        "nobs": fit.nobs,
        "import_s": import_s,
        **{f"{k}_s": v for k, v in fit.timing.items()},
        "min_ess_bulk": float(min(f["Bulk_ESS"].min() for f in frames if len(f))),
        "divergences": int(fit.idata.sample_stats["diverging"].sum()),
        "max_rhat": float(max(f["Rhat"].max() for f in frames if "Rhat" in f)),
        "sample_steps": int(fit.idata.sample_stats["n_steps"].sum()),
        **({"warmup_steps": int(fit.idata.warmup_sample_stats["n_steps"].sum())}
           if "warmup_sample_stats" in fit.idata.groups() else {}),
        "peak_mb": peak_kb / 1024,
        "load": os.getloadavg()[0],
        "printed_at": printed,
    }
    print(f"{name}: leapfrog steps warm-up {report.get('warmup_steps', 'not recorded')}, sampling "
          f"{report['sample_steps']}; divergences {report['divergences']}; max Rhat {report['max_rhat']:.4f}; "
          f"min Bulk_ESS {report['min_ess_bulk']:.0f}", flush=True)
    print(PREFIX + json.dumps(report), flush=True)


def run(name: str, backend: str, cache: str | None) -> dict[str, Any] | None:
    """Run one fresh child; echo its output and return its numbers (None if it failed)."""
    env = dict(os.environ)
    if cache:
        env["PYTENSOR_FLAGS"] = ",".join(filter(None, [env.get("PYTENSOR_FLAGS"), f"base_compiledir={cache}"]))
    started = time.time()
    proc = subprocess.run([sys.executable, __file__, "--child", name, "--backend", backend],
                          stdout=subprocess.PIPE, text=True, env=env)
    report = _report(proc, f"{name} ({backend})")
    if report is None:
        return None
    report["end_to_end_s"] = report["printed_at"] - started
    report["ess_per_s"] = report["min_ess_bulk"] / report["sample_s"]
    return report


def stored_brms(name: str) -> dict[str, float] | None:
    """brms's stored figures: compile + summed chain times (one core), and ESS per sampling second."""
    path = SHARED / name / "timing.json"
    if not path.is_file():
        return None
    t = json.loads(path.read_text())
    return {"total_s": t["compile_s"] + t["sampling_s"], "ess_per_s": t["ess_bulk_per_sampling_s"]}


def brms_available() -> bool:
    """True when ``Rscript -e 'library(brms)'`` succeeds."""
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "suppressMessages(library(brms))"], capture_output=True)
    return probe.returncode == 0


R_SCRIPT = """\
suppressMessages(library(brms))
d <- read.csv({csv!r}, stringsAsFactors = TRUE)
t0 <- Sys.time()
fit <- brm({formula!r}, data = d, family = {family}, chains = 4, iter = 2000, warmup = 1000,
           seed = 1234, cores = {cores}, refresh = 0)
sampling <- sum(rstan::get_elapsed_time(fit$fit))
s <- summary(fit)
print(s)
ess <- c(s$fixed$Bulk_ESS, s$spec_pars$Bulk_ESS, unlist(lapply(s$random, function(x) x$Bulk_ESS)))
cat(sprintf("{prefix}{{\\"fit_s\\": %f, \\"sampling_s\\": %f, \\"min_ess_bulk\\": %f}}\\n",
            as.numeric(difftime(Sys.time(), t0, units = "secs")), sampling, min(ess)))
"""


def run_brms(name: str, cores: int) -> dict[str, float] | None:
    """Fit the model with brms in Rscript on the same data; end-to-end wall time and min Bulk_ESS."""
    import brmc

    formula, dataset, family = models()[name]
    with tempfile.TemporaryDirectory(prefix="brmc-brms-") as tmp:
        csv = str(Path(tmp) / "data.csv")
        brmc.datasets.load(dataset).to_csv(csv, index=False)
        script = Path(tmp) / "fit.R"
        script.write_text(R_SCRIPT.format(csv=csv, formula=formula, family=family, cores=cores, prefix=PREFIX))
        started = time.time()
        proc = subprocess.run(["Rscript", str(script)], stdout=subprocess.PIPE, text=True)
        wall = time.time() - started
    report = _report(proc, f"{name} (brms)")
    if report is None:
        return None
    return {"total_s": wall, "ess_per_s": report["min_ess_bulk"] / report["sampling_s"]}


def row(name: str, backend: str, label: str, r: dict[str, Any] | None, brms: dict[str, float] | None) -> list[str]:
    """One table row; numbers become text, missing ones an empty cell."""
    if r is None:
        return [name, backend, label, "failed"] + [""] * (len(COLUMNS) - 4)
    brms_total = brms["total_s"] if brms else math.nan
    brms_ess_s = brms["ess_per_s"] if brms else math.nan
    cells: list[float | int] = [
        r["nobs"], r["import_s"], r["build_s"], r["compile_s"], r["sample_s"], r["end_to_end_s"],
        r["min_ess_bulk"], r["ess_per_s"], r["divergences"], r["peak_mb"], r["load"],
        brms_total, r["end_to_end_s"] / brms_total, brms_ess_s, r["ess_per_s"] / brms_ess_s,
    ]
    fmt = ["{}", "{:.1f}", "{:.2f}", "{:.1f}", "{:.1f}", "{:.1f}", "{:.0f}", "{:.1f}", "{}",
           "{:.0f}", "{:.1f}", "{:.1f}", "{:.2f}", "{:.1f}", "{:.2f}"]
    return [name, backend, label] + ["" if isinstance(v, float) and math.isnan(v) else f.format(v)
                                     for f, v in zip(fmt, cells)]


def by_backend(rows: list[list[str]], backends: list[str], runs: list[str]) -> tuple[list[str], list[list[str]]]:
    """End-to-end seconds with one column per (backend, run), one row per model, and a total row."""
    header = ["model"] + [f"{b} {r}" for b in backends for r in runs]
    e2e = COLUMNS.index("end-to-end s")
    cell = {(r[0], r[1], r[2]): r[e2e] for r in rows}
    models = list(dict.fromkeys(r[0] for r in rows))
    body = [[m] + [cell.get((m, b, r), "") or "failed" for b in backends for r in runs] for m in models]
    totals = []
    for j in range(1, len(header)):
        values = [line[j] for line in body]
        totals.append(f"{sum(float(v) for v in values):.1f}" if all(v != "failed" for v in values) else "")
    return header, body + [["total"] + totals]


def render(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = [header, ["---"] * len(header), *rows]
        return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
                     for cells in [header, *rows])


def installed(backend: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in _IMPORTS[backend])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time brmc's backends on the brms reference models.")
    parser.add_argument("--models", help="comma-separated names (default: all reference models)")
    parser.add_argument("--backend", default="all",
                        help=f"comma-separated backends from {', '.join(ALL_BACKENDS)} (default: all installed)")
    parser.add_argument("--repeat-warm", action="store_true", help="run each model and backend twice")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--shared-cache", action="store_true", help="use ~/.pytensor, not a fresh cache")
    parser.add_argument("--compare-brms", action="store_true", help="also run brms (Rscript) on each model")
    parser.add_argument("--control", help='brm control settings as JSON, e.g. \'{"init_metric": "unit"}\'')
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.control:
        os.environ[CONTROL_ENV] = args.control  # the children read it
    if args.child:
        child(args.child, args.backend)
        return 0

    from brmc.datasets import REFERENCE_MODELS

    known = [*models(), *EXTRA_MODELS]
    names = args.models.split(",") if args.models else list(REFERENCE_MODELS)
    unknown = sorted(set(names) - set(known))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {known}")
    backends = [b for b in ALL_BACKENDS if installed(b)] if args.backend == "all" else args.backend.split(",")
    if set(backends) - set(ALL_BACKENDS):
        parser.error(f"unknown backend(s) {sorted(set(backends) - set(ALL_BACKENDS))}; choose from {ALL_BACKENDS}")
    brms_source = "stored timing.json"
    if args.compare_brms:
        if brms_available():
            brms_source = "brms run now (Rscript)"
        else:
            print("R/brms is not installed (Rscript -e 'library(brms)' failed); "
                  "comparing with the stored brms figures in timing.json instead.")
    runs = ["cold", "warm"] if args.repeat_warm else ["cold"]
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        # brmc's bytecode kept as an installed package keeps it: told not to write it, every child
        # compiled brmc's 110 modules from source (0.3 s of CPU, #14), in a folder of our own
        os.environ.setdefault("PYTHONPYCACHEPREFIX", tempfile.mkdtemp(prefix="brmc-pycache-"))
    # one untimed import first, so the first row does not pay alone for reading the
    # libraries from disk (brms's figures exclude R start-up and package loading)
    subprocess.run([sys.executable, "-c", "import brmc, jax, numpyro"], check=True)
    rows = []
    for name in names:
        rerun = brms_source.startswith("brms run") and name not in EXTRA_MODELS  # their R is not written here
        brms = run_brms(name, min(4, os.cpu_count() or 1)) if rerun else stored_brms(name)
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix="brmc-bench-") as fresh:
                for label in runs:
                    result = run(name, backend, None if args.shared_cache else fresh)
                    rows.append(row(name, backend, label, result, brms))
    cache = "~/.pytensor" if args.shared_cache else "fresh per model and backend"
    print(f"\nbackends: {', '.join(backends)}; compile cache: {cache}; brms: {brms_source}; "
          "load 1m: the machine's 1-minute load average when the fit finished")
    print(render(COLUMNS, rows, args.markdown))
    print("\nEnd-to-end seconds by backend:")
    print(render(*by_backend(rows, backends, runs), args.markdown))
    return 1 if any(r[3] == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
