"""Junior School Project, English and maths together: three nested levels under three sd priors.

    score ~ subject*gender + craven*subject + social
            + (1 | school) + (1 | school:class) + (1 | school:class:id)

on the stacked data (English / 100 and maths / 40 per pupil, Faraway's ``mjspr``), fitted under
brms's default half-t prior on the standard deviations, a half-Cauchy scaled by the residual sd of
the model without group effects, and a penalised-complexity (PC) prior, in one prior sweep; then
the same scores as two responses, brms's

    bf(mvbind(english, math) ~ gender + craven + social + (1 | p | school) + (1 | q | school:class))
        + set_rescor(TRUE)

next to what the stacked model assumes.

Run: python examples/jsp_bivariate.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:fit]
from _common import SAMPLING, compare, heading, save  # draws, headings, figures (examples/_common.py)

import numpy as np
import pandas as pd

import brmc

mjspr = brmc.datasets.load("mjspr")
formula = ("score ~ subject*gender + craven*subject + social"
           " + (1 | school) + (1 | school:class) + (1 | school:class:id)")
fit = brmc.brm(formula, data=mjspr, control={"adapt_delta": 0.95}, **SAMPLING)
print(fit)
# --8<-- [end:fit]

# --8<-- [start:scale]
heading("The residual sd of the model without group-level effects")
X, y = fit.model_data.predictors["mu"].X, fit.model_data.y  # the population-level design brmc built, and the response
beta, rss, *_ = np.linalg.lstsq(X, y, rcond=None)
sd_lm = float(np.sqrt(rss[0] / (len(y) - X.shape[1])))  # R's sigma(lm(...))
print(f"residual sd of lm(score ~ subject*gender + craven*subject + social): {sd_lm:.4f}")
# --8<-- [end:scale]

# --8<-- [start:sweep]
heading("The same model under three priors on the standard deviations")
p = brmc.prior
sets = {
    # half-Cauchy(0, 2.5 x sd_lm), written as student_t with 1 degree of freedom (the same density):
    # the student_t family is the default prior's, so this set reuses the compiled model.
    "half-Cauchy": [p(f"student_t(1, 0, {2.5 * sd_lm:.4f})", class_="sd")],
    # PC prior: P(sd > 3 x sd_lm) = 0.01, an exponential on each sd (a new structure: compiled once).
    "PC": [brmc.pc_prior(3 * sd_lm, 0.01)],
}
for name, priors in sets.items():
    print(f"{name:12s} {priors[0].prior}")
sweep = brmc.prior_sweep(fit, sets)
print()
print(sweep.info[["seconds", "compile", "divergent"]].to_string(float_format="{:.1f}".format))
# --8<-- [end:sweep]

# --8<-- [start:table]
heading("Posterior of each sd under each prior (the default half-t is 'original')")
table = sweep.table()
sds = ["sd_school__Intercept", "sd_school:class__Intercept", "sd_school:class:id__Intercept", "sigma"]
print(table.loc[sds, ["Estimate", "Est.Error", "Q2.5", "Q97.5", "Shift", "SD.Ratio"]]
      .to_string(float_format="{:.4f}".format))

heading("brmc (default prior) next to brms 2.18 (adapt_delta = 0.95) and lme4 (REML)")
compare(fit.draws(), {  # brms: ../shared/reference/jsp_bivariate/adapt_delta_0.95; lme4 1.1-31 lmer, REML
    "sd(school)": ("sd_school__Intercept", 0.046921, 0.04723),
    "sd(school:class)": ("sd_school:class__Intercept", 0.024946, 0.02412),
    "sd(school:class:id)": ("sd_school:class:id__Intercept", 0.101174, 0.10125),
    "sigma": ("sigma", 0.116774, 0.11658),
    "subjectmath": ("b_subjectmath", 0.366762, 0.36656),
    "subjectmath:gendergirl": ("b_subjectmath:gendergirl", -0.059602, -0.05919),
    "subjectmath:craven": ("b_subjectmath:craven", -0.003730, -0.003720),
})
# --8<-- [end:table]

# --8<-- [start:plot]
save(sweep.plot(variables=sds), "jsp_bivariate_sweep")
# --8<-- [end:plot]

# --8<-- [start:mv]
heading("The same scores as two responses: mvbind() with residual correlations")
jspr = brmc.datasets.load("jspr")
scores = jspr.assign(english=jspr["english"] / 100, math=jspr["math"] / 40)  # the stacked model's scales
bivariate = (brmc.bf("mvbind(english, math) ~ gender + craven + social + (1 | p | school) + (1 | q | school:class)")
             + brmc.set_rescor(True))
mv = brmc.brm(bivariate, data=scores, **SAMPLING)
print(mv)
# --8<-- [end:mv]

# --8<-- [start:mvcompare]
heading("What the stacked model assumes, next to what the bivariate model estimates")
stacked, both = fit.draws(), mv.draws()
pupil = stacked["sd_school:class:id__Intercept"]
within = np.sqrt(pupil**2 + stacked["sigma"] ** 2)  # a pupil's sd around the class, the same for both subjects
rows = {  # name: (the stacked model's value per draw, the bivariate model's)
    "sd(school), English": (stacked["sd_school__Intercept"], both["sd_school__english_Intercept"]),
    "sd(school), maths": (stacked["sd_school__Intercept"], both["sd_school__math_Intercept"]),
    "cor(school), English-maths": (np.ones(len(stacked)), both["cor_school__english_Intercept__math_Intercept"]),
    "sd(class), English": (stacked["sd_school:class__Intercept"], both["sd_school:class__english_Intercept"]),
    "sd(class), maths": (stacked["sd_school:class__Intercept"], both["sd_school:class__math_Intercept"]),
    "cor(class), English-maths": (np.ones(len(stacked)), both["cor_school:class__english_Intercept__math_Intercept"]),
    "sd(pupil), English": (within, both["sigma_english"]),
    "sd(pupil), maths": (within, both["sigma_math"]),
    "cor(pupil), English-maths": (pupil**2 / within**2, both["rescor__english__math"]),
    "girls' gain, maths - English": (stacked["b_subjectmath:gendergirl"],
                                     both["b_math_gendergirl"] - both["b_english_gendergirl"]),
}
print(pd.DataFrame({name: {"stacked": np.mean(a), "bivariate": np.mean(b), "bivariate Q2.5": np.quantile(b, 0.025),
                           "bivariate Q97.5": np.quantile(b, 0.975)} for name, (a, b) in rows.items()}).T
      .to_string(float_format="{:.3f}".format))
# --8<-- [end:mvcompare]
