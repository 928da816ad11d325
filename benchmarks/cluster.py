"""Time a prior sweep and an SBC run sequentially and on a 2-worker Dask LocalCluster.

Run from the repository root::

    python benchmarks/cluster.py                  # 10-set sweep and 20-simulation SBC, both ways
    python benchmarks/cluster.py --full-sbc       # the 200-simulation SBC of docs/priors.md

The model is ``Reaction ~ Days + (Days | Subject)`` on sleepstudy with proper
priors; every fit has 2 chains of 500 warm-up + 500 draws on one core
(``cores=1``), so two workers can run two fits at once on two cores.  The
sequential runs come first, in this process (compiling once); the cluster is
then started (its start-up is timed apart) and the same runs are repeated on
it, each worker compiling once.  The script checks that both ways give the
same draws and prints the wall times, the speed-up and the load average.
``--full-sbc`` runs the 200-simulation SBC on two workers instead, prints its
summary and writes its plots to ``docs/img/``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import pandas as pd

import brmc

FORMULA = "Reaction ~ Days + (Days | Subject)"
PRIORS = [brmc.prior("normal(250, 30)", class_="Intercept"), brmc.prior("normal(10, 5)", class_="b"),
          brmc.prior("gamma(4, 0.2)", class_="sd"), brmc.prior("gamma(6, 0.2)", class_="sigma"),
          brmc.prior("lkj(2)", class_="cor")]
SETTINGS = {"chains": 2, "iter": 1000, "cores": 1}


def _timed(function, *args, **kwargs):
    t0 = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - t0


def timings(data: pd.DataFrame) -> None:
    """The 10-set sweep and the 20-simulation SBC, sequentially and on two workers."""
    from distributed import Client, LocalCluster

    from brmc.cluster import prepare_client

    fit = brmc.brm(FORMULA, data, prior=PRIORS, seed=1234, progress=False, **SETTINGS)
    sets = [[brmc.prior(f"normal(10, {s})", class_="b")] for s in (0.5, 1, 2, 3, 5, 8, 10, 20, 50, 100)]
    print(f"load average before: {os.getloadavg()}")
    sweep_seq, t_sweep_seq = _timed(brmc.prior_sweep, fit, sets, progress=False)
    sbc_seq, t_sbc_seq = _timed(brmc.sbc, FORMULA, data, prior=PRIORS, n_sims=20, seed=7, progress=False,
                                **SETTINGS)
    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        prepare_client(client)
        t_start = time.perf_counter() - t0
        sweep_par, t_sweep_par = _timed(brmc.prior_sweep, fit, sets, executor=client, progress=False)
        sbc_par, t_sbc_par = _timed(brmc.sbc, FORMULA, data, prior=PRIORS, n_sims=20, seed=7, executor=client,
                                    progress=False, **SETTINGS)
    print(f"load average after: {os.getloadavg()}")
    same = all(sweep_seq.draws[k].equals(sweep_par.draws[k]) for k in sweep_seq.draws)
    print(f"cluster start (2 workers, restarted once for their compile dirs): {t_start:.1f} s")
    print(f"10-set sweep: sequential {t_sweep_seq:.1f} s, 2 workers {t_sweep_par:.1f} s, "
          f"speed-up {t_sweep_seq / t_sweep_par:.2f}; same draws: {same}")
    print(f"20-sim SBC:   sequential {t_sbc_seq:.1f} s, 2 workers {t_sbc_par:.1f} s, "
          f"speed-up {t_sbc_seq / t_sbc_par:.2f}; same ranks: {sbc_seq.ranks.equals(sbc_par.ranks)}")
    print("seconds per fit:", {"sequential": sbc_seq.fits["seconds"].median(),
                               "2 workers": sbc_par.fits["seconds"].median()})


def full_sbc(data: pd.DataFrame) -> None:
    """The 200-simulation SBC on two workers, its summary and its plots in docs/img/."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        full, seconds = _timed(brmc.sbc, FORMULA, data, prior=PRIORS, n_sims=200, seed=2026, executor=client,
                               progress=False, **SETTINGS)
    print(f"200-sim SBC on 2 workers: {seconds:.0f} s (load average {os.getloadavg()}), "
          f"{int((full.fits['divergent'] > 0).sum())} fits with divergent transitions")
    print(full.summary().round(3).to_string())
    full.plot_ecdf_diff().savefig("docs/img/sbc_sleepstudy_ecdf_diff.png", dpi=90)
    full.plot_hist().savefig("docs/img/sbc_sleepstudy_hist.png", dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-sbc", action="store_true", help="run the 200-simulation SBC instead")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    data = brmc.datasets.load("sleepstudy")
    if args.full_sbc:
        full_sbc(data)
    else:
        timings(data)


if __name__ == "__main__":
    main()
