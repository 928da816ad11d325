"""Time a 5-set prior sweep on sleepstudy_slopes against one fit.

Run from the repository root::

    python benchmarks/prior_sweep.py                 # sequential sweep, cold compile cache
    python benchmarks/prior_sweep.py --workers 2     # the sets on a 2-process pool
    python benchmarks/prior_sweep.py --shared-cache  # use ~/.pytensor's on-disk numba cache

One fit is ``brm(Reaction ~ Days + (Days | Subject))`` with brms's defaults
(4 chains, 1,000 warm-up + 1,000 draws, seed 1234), timed from the call to the
returned fit, compilation included.  The sweep then refits it under five prior
sets that all put a normal prior on ``b`` (flat by default: one new model
structure, compiled once) and change hyperparameters of ``b``, ``sd`` and
``sigma``.  Unless ``--shared-cache`` is given, pytensor gets a fresh private
compile directory, so both the fit and the sweep compile cold.  The script
prints both wall times, 5 × the single fit and the ratio sweep / one fit
(target: at most 2.5), then the sweep's per-set timings.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings


def prior_sets(brmc) -> dict[str, list]:
    """Five sets: normal on b (one new structure), other hyperparameters varied."""
    p = brmc.prior
    return {
        "weak": [p("normal(0, 100)", class_="b")],
        "moderate": [p("normal(0, 10)", class_="b")],
        "tight": [p("normal(0, 1)", class_="b")],
        "small sd": [p("normal(0, 10)", class_="b"), p("student_t(3, 0, 5)", class_="sd")],
        "small sigma": [p("normal(0, 10)", class_="b"), p("student_t(3, 0, 10)", class_="sigma")],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=0, help="run the sets on a process pool of this size")
    parser.add_argument("--shared-cache", action="store_true", help="keep pytensor's usual compile directory")
    args = parser.parse_args()
    if not args.shared_cache:
        cache = tempfile.mkdtemp(prefix="brmc-sweep-bench-")
        os.environ["PYTENSOR_FLAGS"] = ",".join(filter(None, [os.environ.get("PYTENSOR_FLAGS"),
                                                              f"base_compiledir={cache}"]))
    import brmc
    from brmc.sensitivity import prior_sweep

    warnings.simplefilter("ignore")
    data = brmc.datasets.load("sleepstudy")
    t0 = time.perf_counter()
    fit = brmc.brm("Reaction ~ Days + (Days | Subject)", data, chains=4, iter=2000, seed=1234, progress=False)
    one_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    if args.workers:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        spawn = multiprocessing.get_context("spawn")  # forking a process that ran JAX can deadlock
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=spawn) as pool:
            sweep = prior_sweep(fit, prior_sets(brmc), executor=pool)
    else:
        sweep = prior_sweep(fit, prior_sets(brmc))
    sweep_s = time.perf_counter() - t0
    mode = f"process pool of {args.workers}" if args.workers else "sequential"
    print(f"one fit (compile {fit.timing['compile']:.1f} s, sample {fit.timing['sample']:.1f} s): {one_fit:.1f} s")
    print(f"5-set sweep ({mode}): {sweep_s:.1f} s")
    print(f"5 x one fit: {5 * one_fit:.1f} s")
    print(f"ratio sweep / one fit: {sweep_s / one_fit:.2f} (target <= 2.5)")
    print(sweep.info.round(2).to_string())


if __name__ == "__main__":
    main()
