"""Sleep deprivation: varying intercepts and slopes, as brms's `brm(Reaction ~ Days + (Days | Subject))`.

Run: python examples/sleepstudy.py   (BRMC_QUICK=1 draws fewer samples)
"""

import os

import brmc

quick = os.environ.get("BRMC_QUICK") == "1"
df = brmc.datasets.load("sleepstudy")
fit = brmc.brm("Reaction ~ Days + (Days | Subject)", data=df, seed=1234,
               iter=400 if quick else 2000, chains=2 if quick else 4)
print(fit)
print()
print(fit.prior_summary())
