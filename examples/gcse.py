"""GCSE coursework scores of 1,905 pupils in 73 schools (mlmRev's Gcsemv), after the rstanarm
tutorial "Estimating generalized (non-)linear models with group-specific terms with rstanarm":

    M1: course ~ 1 + (1 | school)
    M2: course ~ 1 + female + (1 | school)
    M3: course ~ 1 + female + (1 + female | school)

Rows without a coursework score are dropped (brmc says how many), school ids are arbitrary
numbers (20920, 22520, ...) used as labels, and eight schools show complete, no and partial
pooling.

Run: python examples/gcse.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:data]
from _common import SAMPLING, compare, heading, save  # draws, headings, figures (examples/_common.py)

import brmc

gcse = brmc.datasets.load("Gcsemv")  # school, student, gender, written, course
gcse["female"] = gcse["gender"].cat.reorder_categories(["M", "F"])  # R: relevel(gender, "M")
print(gcse.head())
print(f"{len(gcse)} pupils, {gcse['course'].isna().sum()} without a coursework score")
print(f"{gcse['school'].nunique()} schools, ids {', '.join(gcse['school'].cat.categories[:4])}, ...")
# --8<-- [end:data]

# --8<-- [start:fit]
formulas = {
    "M1": "course ~ 1 + (1 | school)",
    "M2": "course ~ 1 + female + (1 | school)",
    "M3": "course ~ 1 + female + (1 + female | school)",
}
fits = {}
for name, formula in formulas.items():
    heading(f"{name}: {formula}")
    fits[name] = brmc.brm(formula, data=gcse, **SAMPLING)  # warns that the rows without course are dropped
    print(fits[name])
# --8<-- [end:fit]

# --8<-- [start:compare]
heading("M1 next to brms 2.18 and lme4 (REML)")
compare(fits["M1"].draws(), {  # brms: ../shared/reference/gcse_m1; lme4 1.1-31 lmer, REML
    "Intercept": ("b_Intercept", 73.8108, 73.722),
    "sd(Intercept)": ("sd_school__Intercept", 8.8907, 8.747),
    "sigma": ("sigma", 13.8189, 13.812),
})
heading("M2 next to REML (no brms reference)")
compare(fits["M2"].draws(), {  # REML of the same model (statsmodels MixedLM; lme4 gives the same optimum)
    "Intercept": ("b_Intercept", None, 69.728),
    "femaleF": ("b_femaleF", None, 6.739),
    "sd(Intercept)": ("sd_school__Intercept", None, 8.828),
    "sigma": ("sigma", None, 13.419),
}, lme4_label="REML")
heading("M3 next to brms 2.18 and lme4 (REML)")
compare(fits["M3"].draws(), {  # brms: ../shared/reference/gcse_m3; lme4 1.1-31 lmer, REML
    "Intercept": ("b_Intercept", 69.4347, 69.420),
    "femaleF": ("b_femaleF", 7.1056, 7.133),
    "sd(Intercept)": ("sd_school__Intercept", 10.3552, 10.242),
    "sd(femaleF)": ("sd_school__femaleF", 7.0806, 7.023),
    "cor(Intercept,femaleF)": ("cor_school__Intercept__femaleF", -0.4859, -0.52),
    "sigma": ("sigma", 13.0453, 13.030),
})
# --8<-- [end:compare]

# --8<-- [start:loo]
heading("Model comparison (PSIS-LOO)")
print(brmc.loo_compare(*fits.values(), names=list(fits)))
# --8<-- [end:loo]

# --8<-- [start:pooling]
heading("Eight schools: complete, no and partial pooling (M1)")
fig = brmc.plot_shrinkage(fits["M1"], n_groups=8, seed=1234)
save(fig, "gcse_pooling")
partial = fits["M1"].coef()["school"].xs("Intercept", level="coef")
no_pool = fits["M1"].data.groupby("school", observed=True)["course"].agg(["mean", "size"])
table = no_pool.join(partial[["Estimate", "Q2.5", "Q97.5"]])
table.columns = ["no pooling (school mean)", "pupils", "partial pooling", "Q2.5", "Q97.5"]
shown = [t.get_text().split("\n")[0] for t in fig.axes[0].get_xticklabels()]
print(table.loc[shown].to_string(float_format="{:.1f}".format))
print(f"complete pooling (mean of all pupils): {fits['M1'].data['course'].mean():.1f}")
# --8<-- [end:pooling]
