"""Motorcycle crash data (MASS::mcycle): head acceleration against time after impact, a curve no
straight line or polynomial follows.

    accel ~ s(times)                      a thin plate regression spline (mgcv's default basis)
    accel ~ gp(times, k = 20, c = 5/4)    an approximate Gaussian process (Hilbert-space basis)

Both as brms fits them (brms 2.18's own fits of the two are in ../shared/reference/s_mcycle and
gp_mcycle); the smooth's own part of the predictor (conditional_smooths), the two curves with the
data, and the two models compared by PSIS-LOO.

Run: python examples/mcycle.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:fit]
from _common import SAMPLING, compare, heading, save  # examples/_common.py

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import brmc

mcycle = brmc.datasets.load("mcycle")  # 133 rows: times (ms after impact), accel (g)
spline = brmc.brm("accel ~ s(times)", data=mcycle, **SAMPLING)
print(spline)
gp = brmc.brm("accel ~ gp(times, k = 20, c = 5/4)", data=mcycle, **SAMPLING)
print(gp)
# --8<-- [end:fit]

# --8<-- [start:compare]
heading("brmc next to brms 2.18")
compare(spline.draws(), {  # brms: ../shared/reference/s_mcycle/draws_summary.csv
    "s(times): Intercept": ("b_Intercept", -25.534959, None),
    "s(times): sds(stimes_1)": ("sds_stimes_1", 720.036692, None),
    "s(times): sigma": ("sigma", 22.732165, None),
})
compare(gp.draws(), {  # brms: ../shared/reference/gp_mcycle/draws_summary.csv
    "gp(times): sdgp(gptimes)": ("sdgp_gptimes", 53.091199, None),
    "gp(times): lscale(gptimes)": ("lscale_gptimes", 0.045161, None),
    "gp(times): sigma": ("sigma", 22.661486, None),
})
# --8<-- [end:compare]

# --8<-- [start:curves]
heading("The smooth's own part of the predictor, and both curves with the data")
smooth = brmc.conditional_smooths(spline)["mu: s(times)"]  # the spline without the intercept
print(smooth[["times", "estimate__", "lower__", "upper__"]].iloc[::20].to_string(index=False))
grid = pd.DataFrame({"times": np.linspace(mcycle["times"].min(), mcycle["times"].max(), 200)})
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(mcycle["times"], mcycle["accel"], s=8, color="black", label="data")
for fit, label, color in [(spline, "s(times)", "C0"), (gp, "gp(times, k = 20)", "C1")]:
    curve = fit.fitted(newdata=grid)
    ax.plot(grid["times"], curve["Estimate"], color=color, label=label)
    ax.fill_between(grid["times"], curve["Q2.5"], curve["Q97.5"], color=color, alpha=0.2)
ax.set_xlabel("times (ms after impact)")
ax.set_ylabel("accel (g)")
ax.legend()
save(fig, "mcycle_curves")
# --8<-- [end:curves]

# --8<-- [start:loo]
heading("PSIS-LOO: the spline against the Gaussian process")
print(brmc.loo_compare(spline, gp, names=["spline", "gp"]))
# --8<-- [end:loo]
