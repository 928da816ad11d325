"""Sleep deprivation (lme4's sleepstudy): reaction times of 18 subjects over 10 days.

Four ways to let subjects differ, as in Bates et al. (2015, "Fitting linear mixed-effects models
using lme4"):

    Reaction ~ Days + (1 | Subject)          varying intercepts
    Reaction ~ Days + (0 + Days | Subject)   varying slopes
    Reaction ~ Days + (Days | Subject)       both, correlated
    Reaction ~ Days + (Days || Subject)      both, uncorrelated

then ``fixef``, ``VarCorr`` and ``coef`` of the correlated model, each subject's line beside the
population line, predictions and the standard plots, and a Bernoulli model of fast reactions
(brms reference ``sleep_bernoulli``).

Run: python examples/sleepstudy.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:fit]
from _common import SAMPLING, compare, heading, save  # draws, headings, figures (examples/_common.py)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import brmc

sleep = brmc.datasets.load("sleepstudy")
formulas = {
    "intercepts": "Reaction ~ Days + (1 | Subject)",
    "slopes": "Reaction ~ Days + (0 + Days | Subject)",
    "correlated": "Reaction ~ Days + (Days | Subject)",
    "uncorrelated": "Reaction ~ Days + (Days || Subject)",
}
fits = {name: brmc.brm(f, data=sleep, **SAMPLING) for name, f in formulas.items()}
print(fits["correlated"])
# --8<-- [end:fit]

# --8<-- [start:table]
heading("The four models side by side (posterior means; REML estimates below each)")


def row(fit):
    vc, b = fit.VarCorr(), fit.fixef()
    sd, cor = vc["Subject"]["sd"]["Estimate"], vc["Subject"]["cor"]["Estimate"]
    return {"Intercept": b.loc["Intercept", "Estimate"], "Days": b.loc["Days", "Estimate"],
            "sd(Intercept)": sd.get("Intercept", np.nan), "sd(Days)": sd.get("Days", np.nan),
            "cor": cor.get(("Intercept", "Days"), np.nan) if fit.model_data.blocks[0].correlated else np.nan,
            "sigma": vc["residual__"]["sd"]["Estimate"].iloc[0]}


table = pd.DataFrame({name: row(fit) for name, fit in fits.items()}).T
# REML: lme4 1.1-31 for "correlated" (../shared/reference/sleepstudy_slopes/lme4.txt); for the others
# the same REML criterion maximised with statsmodels' MixedLM (docs/examples/sleepstudy.md).
reml = pd.DataFrame({
    "intercepts": [251.405, 10.467, 37.124, np.nan, np.nan, 30.991],
    "slopes": [251.405, 10.467, np.nan, 7.260, np.nan, 29.018],
    "correlated": [251.405, 10.467, 24.741, 5.922, 0.066, 25.592],
    "uncorrelated": [251.405, 10.467, 25.051, 5.988, np.nan, 25.565],
}, index=table.columns).T
print(pd.concat({"brmc": table, "REML": reml}).swaplevel().sort_index(
    key=lambda i: i.map({**{n: k for k, n in enumerate(formulas)}, "brmc": 0, "REML": 1}))
    .to_string(float_format=lambda v: f"{v:.2f}", na_rep=""))
# --8<-- [end:table]

# --8<-- [start:loo]
heading("Which structure do the data prefer? (PSIS-LOO)")
print(brmc.loo_compare(*fits.values(), names=list(fits)))
# --8<-- [end:loo]

# --8<-- [start:effects]
fit = fits["correlated"]
heading("fixef(fit)")
print(fit.fixef())
heading("VarCorr(fit): standard deviations and correlation")
vc = fit.VarCorr()
print(vc["Subject"]["sd"])
print(vc["Subject"]["cor"].loc[[("Intercept", "Days")]])
print(vc["residual__"]["sd"])
heading("coef(fit): each subject's intercept and slope (first four subjects)")
coefs = fit.coef()["Subject"]
print(coefs.loc[["308", "309", "310", "330"]])
# --8<-- [end:effects]

# --8<-- [start:compare]
heading("brmc next to brms 2.18 and lme4 (REML), correlated model")
compare(fit.draws(), {  # brms: ../shared/reference/sleepstudy_slopes; lme4 1.1-31 lmer, REML
    "Intercept": ("b_Intercept", 251.1208, 251.405),
    "Days": ("b_Days", 10.3948, 10.467),
    "sd(Intercept)": ("sd_Subject__Intercept", 26.7128, 24.741),
    "sd(Days)": ("sd_Subject__Days", 6.5161, 5.922),
    "cor(Intercept,Days)": ("cor_Subject__Intercept__Days", 0.0977, 0.07),
    "sigma": ("sigma", 25.8853, 25.592),
})
subject_308 = coefs.xs("308", level="level")["Estimate"]
print(f"\nsubject 308: intercept {subject_308['Intercept']:.2f}, slope {subject_308['Days']:.2f} "
      "(brms 2.18, coef_Subject.csv: 254.38, 19.53)")
# --8<-- [end:compare]

# --8<-- [start:lines]
b = fit.fixef()["Estimate"]
fig, axes = plt.subplots(3, 6, figsize=(12, 6.2), sharex=True, sharey=True, layout="constrained")
for ax, subject in zip(axes.flat, sleep["Subject"].cat.categories):
    rows = sleep[sleep["Subject"] == subject]
    own = coefs.xs(subject, level="level")["Estimate"]
    ax.plot(rows["Days"], rows["Reaction"], "o", ms=3, color="#6497b1")
    ax.plot([0, 9], [b["Intercept"], b["Intercept"] + 9 * b["Days"]], color="grey", lw=1, ls="--")
    ax.plot([0, 9], [own["Intercept"], own["Intercept"] + 9 * own["Days"]], color="#03396c", lw=1.5)
    ax.set_title(subject, fontsize=9)
fig.supxlabel("Days of sleep deprivation")
fig.supylabel("Reaction time (ms)")
fig.suptitle("Each subject's line (coef, solid) and the population line (fixef, dashed)", fontsize=10)
save(fig, "sleepstudy_lines")
save(brmc.plot_shrinkage(fit, coef="Days"), "sleepstudy_shrinkage")
# --8<-- [end:lines]

# --8<-- [start:predict]
heading("Predictions: a known subject and a new one, with and without group-level effects")
new = pd.DataFrame({"Days": [0, 9, 0, 9], "Subject": ["308", "308", "new", "new"]})
print(new.join(fit.fitted(new, allow_new_levels=True)))  # expected reaction time, new subject drawn
print(new.join(fit.predict(new, allow_new_levels=True, seed=1)))  # a new observation (adds sigma)
print(new.iloc[:2, :1].join(fit.fitted(new.iloc[:2, :1], re_formula=False)))  # population: no Subject
save(fit.conditional_effects("Days").plot(points=True)[0], "sleepstudy_conditional_effects")
save(fit.pp_check(ndraws=50, seed=1), "sleepstudy_pp_check")
save(brmc.plot_ranef(fit), "sleepstudy_ranef")
save(fit.plot(variable="^sd_|^cor_", regex=True)[0], "sleepstudy_trace")
# --8<-- [end:predict]

# --8<-- [start:bernoulli]
heading("A Bernoulli model: the chance of a fast reaction (below the median)")
sleep2 = brmc.datasets.load("sleepstudy2")  # sleepstudy plus fast_rt = Reaction < median(Reaction)
fast = brmc.brm("fast_rt ~ Days + (Days | Subject)", data=sleep2, family="bernoulli", **SAMPLING)
print(fast)
compare(fast.draws(), {  # brms: ../shared/reference/sleep_bernoulli; lme4 1.1-31 glmer (Laplace)
    "Intercept": ("b_Intercept", 4.1206, 3.8159),
    "Days": ("b_Days", -0.9756, -0.8908),
    "sd(Intercept)": ("sd_Subject__Intercept", 3.2931, 2.8335),
    "sd(Days)": ("sd_Subject__Days", 0.7195, 0.4896),
    "cor(Intercept,Days)": ("cor_Subject__Intercept__Days", -0.0383, -0.19),
}, lme4_label="lme4 ML")
odds = np.exp(fast.draws()["b_Days"])
print(f"\neach day of sleep deprivation multiplies the odds of a fast reaction by {odds.median():.2f} "
      f"(95 % CI {odds.quantile(0.025):.2f} to {odds.quantile(0.975):.2f})")
# --8<-- [end:bernoulli]
