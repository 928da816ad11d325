"""Junior School Project, year 2: pupils within classes within schools.

    math ~ craven + social + (1 | school) + (1 | school:class)

compared with lme4's REML fit of the same model and with brms 2.18; the class-level sd near zero;
the posterior densities of the three standard deviations on one plot.

Run: python examples/jsp_nested.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:fit]
from _common import SAMPLING, compare, heading, quantiles, save  # draws, headings, figures (examples/_common.py)

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

import brmc

jspr = brmc.datasets.load("jspr")  # jsp[jsp$year == 2, ], craven = raven - mean(raven)
fit = brmc.brm("math ~ craven + social + (1 | school) + (1 | school:class)", data=jspr,
               control={"adapt_delta": 0.95}, **SAMPLING)
print(fit)
# --8<-- [end:fit]

# --8<-- [start:compare]
heading("brmc next to brms 2.18 and lme4 (REML)")
draws = fit.draws()
compare(draws, {  # brms: ../shared/reference/jsp_nested (4 chains x 1,000 draws); lme4 1.1-31 lmer, REML
    "sd(school)": ("sd_school__Intercept", 1.8264, 1.797),
    "sd(school:class)": ("sd_school:class__Intercept", 0.9609, 1.016),
    "sigma": ("sigma", 5.2630, 5.251),
    "Intercept": ("b_Intercept", 31.9788, 32.011),
    "craven": ("b_craven", 0.58478, 0.58412),
    "social9": ("b_social9", -0.8623, -0.8864),
})
lme4_reml = {"sd(school)": 1.797, "sd(school:class)": 1.016, "sigma": 5.251}
params = {"sd(school)": "sd_school__Intercept", "sd(school:class)": "sd_school:class__Intercept", "sigma": "sigma"}
# --8<-- [end:compare]

# --8<-- [start:class]
heading("How much is there between classes?")
sd_class = draws["sd_school:class__Intercept"].to_numpy()
for cut in (0.25, 0.5, 1.0):
    print(f"P(sd(school:class) < {cut}) = {np.mean(sd_class < cut):.2f}")
priors = fit.prior_summary()
sd_prior = priors.loc[(priors["class"] == "sd") & (priors["group"] == ""), "prior"].iloc[0]
print(f"prior on every sd: half {sd_prior}")
icc = lambda a: (draws[a] ** 2 / (draws["sd_school__Intercept"] ** 2 + draws["sd_school:class__Intercept"] ** 2
                                   + draws["sigma"] ** 2))
print(f"share of variance between schools: {quantiles(icc('sd_school__Intercept'))}")
print(f"share of variance between classes: {quantiles(icc('sd_school:class__Intercept'))}")
# --8<-- [end:class]

# --8<-- [start:plot]
fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
grid = np.linspace(0, 7, 600)
colors = {"sd(school)": "#03396c", "sd(school:class)": "#6497b1", "sigma": "#b3453a"}
for label, name in params.items():
    kde = stats.gaussian_kde(draws[name])
    kde_reflected = kde(grid) + kde(-grid)  # reflect at the bound 0 so the density does not dip there
    ax.plot(grid, kde_reflected, color=colors[label], label=f"{label} (brmc)")
    ax.axvline(lme4_reml[label], color=colors[label], ls=":", lw=1)
df, _, scale = (float(a) for a in sd_prior[len("student_t("):-1].split(","))
ax.plot(grid, 2 * stats.t.pdf(grid, df, 0, scale), color="grey", lw=0.8, ls="--", label=f"prior: half {sd_prior}")
ax.set_xlabel("standard deviation (maths score, out of 40); dotted lines: lme4 REML estimates")
ax.set_ylabel("posterior density")
ax.set_xlim(0, 7)
ax.legend(fontsize=8)
save(fig, "jsp_nested_sds")
# --8<-- [end:plot]
