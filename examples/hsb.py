"""Group-level predictors: High School and Beyond (7,185 pupils in 160 schools).

    mathach ~ ses * sector + (ses | school)

``ses`` (socio-economic status) varies within schools, so each school can have its own ``ses``
slope. ``sector`` (Public or Catholic) is a property of the school: it enters the population part,
and its interaction with ``ses`` lets the average slope differ between sectors. A varying slope of
``sector``, ``(sector | school)``, is not identified by the data; brmc says so.

Run: python examples/hsb.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:data]
from _common import SAMPLING, compare, heading, save  # draws, headings, figures (examples/_common.py)

import warnings

import matplotlib.pyplot as plt
import numpy as np

import brmc

pupils = brmc.datasets.load("MathAchieve")      # School, Minority, Sex, SES, MathAch, MEANSES
schools = brmc.datasets.load("MathAchSchool")   # School, Size, Sector, PRACAD, DISCLIM, HIMINTY, MEANSES
hsb = pupils.merge(schools[["School", "Sector"]], on="School").rename(columns=str.lower)
brmc.datasets.set_name(hsb, "hsb")  # the name on the summary's Data: line
print(hsb.head())
print(hsb.groupby("sector", observed=True)["school"].nunique().rename("schools"))
# --8<-- [end:data]

# --8<-- [start:fit]
heading("The model")
fit = brmc.brm("mathach ~ ses * sector + (ses | school)", data=hsb, **SAMPLING)
print(fit)
# --8<-- [end:fit]

# --8<-- [start:compare]
heading("brmc next to REML")
compare(fit.draws(), {  # REML (statsmodels MixedLM; the optimum lies on the boundary, correlation 1)
    "Intercept": ("b_Intercept", None, 11.7518),
    "ses": ("b_ses", None, 2.9575),
    "sectorCatholic": ("b_sectorCatholic", None, 2.1295),
    "ses:sectorCatholic": ("b_ses:sectorCatholic", None, -1.3134),
    "sd(Intercept)": ("sd_school__Intercept", None, 1.9548),
    "sd(ses)": ("sd_school__ses", None, 0.2754),
    "cor(Intercept,ses)": ("cor_school__Intercept__ses", None, 1.0),
    "sigma": ("sigma", None, 6.0653),
}, lme4_label="REML")
slopes = fit.draws()
public, catholic = slopes["b_ses"], slopes["b_ses"] + slopes["b_ses:sectorCatholic"]
print(f"\naverage ses slope: public {public.mean():.2f}, catholic {catholic.mean():.2f}; "
      f"P(catholic slope < public slope) = {np.mean(catholic < public):.3f}")
# --8<-- [end:compare]

# --8<-- [start:sector]
heading("Why (sector | school) cannot be estimated")
within = hsb.groupby("school", observed=True)["sector"].nunique()
print(f"schools whose pupils are in more than one sector: {(within > 1).sum()} of {len(within)}")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    brmc.get_prior("mathach ~ ses * sector + (sector | school)", data=hsb)  # no fit needed to see it
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
# --8<-- [end:sector]

# --8<-- [start:plot]
coefs = fit.coef()["school"]["Estimate"].unstack("coef")  # one row per school: Intercept, ses
sector_of = hsb.groupby("school", observed=True)["sector"].first()
b = fit.fixef()["Estimate"]
grid = np.array([hsb["ses"].min(), hsb["ses"].max()])
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, layout="constrained")
for ax, sector in zip(axes, ["Public", "Catholic"]):
    # coef() gives b + r per school; the sector terms are population-level, so add them here
    shift = (b["sectorCatholic"], b["ses:sectorCatholic"]) if sector == "Catholic" else (0.0, 0.0)
    for school in sector_of.index[sector_of == sector]:
        a, s = coefs.loc[school, "Intercept"] + shift[0], coefs.loc[school, "ses"] + shift[1]
        ax.plot(grid, a + s * grid, color="#6497b1", lw=0.6, alpha=0.6)
    ax.plot(grid, b["Intercept"] + shift[0] + (b["ses"] + shift[1]) * grid, color="#011f4b", lw=2.5,
            label="population line")
    ax.set_title(f"{sector} schools ({(sector_of == sector).sum()})")
    ax.set_xlabel("ses")
    ax.legend(fontsize=8)
axes[0].set_ylabel("mathach (posterior mean line per school)")
save(fig, "hsb_lines")
# --8<-- [end:plot]
