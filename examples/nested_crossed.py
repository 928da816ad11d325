"""Nested and crossed grouping factors.

Nested: in the Junior School Project every school numbers its classes 1, 2, 3, ...: class "1" of
school 1 and class "1" of school 2 are different classes with the same label.

    (1 | school/class)                  brms's shorthand for (1 | school) + (1 | school:class)
    (1 | school) + (1 | school:class)   the same model, written out
    (1 | school) + (1 | class_id)       the same model again, with labels made unique first
    (1 | school) + (1 | class)          a different model: 4 "classes" shared by all schools

Crossed: in lme4's Penicillin data every one of 6 samples is tested on every one of 24 plates.

    diameter ~ 1 + (1 | plate) + (1 | sample)

Run: python examples/nested_crossed.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:labels]
from _common import SAMPLING, compare, heading  # draws and headings (examples/_common.py)

import numpy as np

import brmc

jspr = brmc.datasets.load("jspr")
print("distinct class labels:        ", jspr["class"].nunique())
print("distinct (school, class) pairs:", len(jspr.groupby(["school", "class"], observed=True)))
jspr["class_id"] = jspr["school"].astype(str) + "_" + jspr["class"].astype(str)  # unique labels
print("distinct class_id labels:     ", jspr["class_id"].nunique())
# --8<-- [end:labels]

# --8<-- [start:nested]
heading("Three spellings of one nested model")
population = "math ~ craven + social"
spellings = {
    "school/class": f"{population} + (1 | school/class)",
    "school:class": f"{population} + (1 | school) + (1 | school:class)",
    "class_id": f"{population} + (1 | school) + (1 | class_id)",
}
control = {"adapt_delta": 0.95}  # the class sd is near zero: smaller steps avoid divergent transitions
fits = {name: brmc.brm(f, data=jspr, control=control, **SAMPLING) for name, f in spellings.items()}
print(fits["school/class"])
for name, fit in fits.items():
    print(f"{name:13s} groups: {', '.join(f'{g} ({len(fit.ranef()[g].index.unique(0))} levels)' for g in fit.ranef())}")
# Same levels in the same order, same priors, same seed: the draws are identical, not merely close.
a, b = fits["school/class"].draws(), fits["class_id"].draws()
print("sd draws identical (school/class vs class_id):",
      np.array_equal(a["sd_school:class__Intercept"], b["sd_class_id__Intercept"]))
print("sd draws identical (school/class vs school:class):",
      np.array_equal(a["sd_school:class__Intercept"], fits["school:class"].draws()["sd_school:class__Intercept"]))
# --8<-- [end:nested]

# --8<-- [start:wrong]
heading("The mistake: (1 | class) with labels that repeat across schools")
wrong = brmc.brm(f"{population} + (1 | school) + (1 | class)", data=jspr, control=control, **SAMPLING)
print(wrong)
# --8<-- [end:wrong]

# --8<-- [start:compare]
heading("The nested model next to brms 2.18 and lme4 (REML)")
compare(fits["school/class"].draws(), {  # the jsp_nested reference model: ../shared/reference/jsp_nested
    "sd(school)": ("sd_school__Intercept", 1.8264, 1.797),
    "sd(school:class)": ("sd_school:class__Intercept", 0.9609, 1.016),
    "sigma": ("sigma", 5.2630, 5.251),
    "craven": ("b_craven", 0.58478, 0.58412),
})
# --8<-- [end:compare]

# --8<-- [start:crossed]
heading("Crossed: Penicillin, 6 samples x 24 plates")
penicillin = brmc.datasets.load("Penicillin")
print(penicillin.groupby(["plate", "sample"], observed=True).size().unstack().iloc[:3])  # every pair once
crossed = brmc.brm("diameter ~ 1 + (1 | plate) + (1 | sample)", data=penicillin, control=control, **SAMPLING)
print(crossed)
compare(crossed.draws(), {  # REML estimates of this model, as in Bates, "lme4: Mixed-effects modeling with R", ch. 2
    "Intercept": ("b_Intercept", None, 22.9722),
    "sd(plate)": ("sd_plate__Intercept", None, 0.8467),
    "sd(sample)": ("sd_sample__Intercept", None, 1.9317),
    "sigma": ("sigma", None, 0.5499),
})
# --8<-- [end:crossed]
