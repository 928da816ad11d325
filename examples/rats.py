"""Rat tumours (Gelman et al., BDA3, chapter 5): 71 experiments, m of n rats with a tumour.

    m | trials(n) ~ 1 + (1 | batch)        family = binomial (logit link)

The population distribution of the tumour probability (its mean and 95 % range), and the
shrinkage of every batch's estimate from its raw proportion m / n (no pooling) towards the
population (partial pooling).

Run: python examples/rats.py        (BRMC_QUICK=1 for a quick run with few draws)
"""

# --8<-- [start:fit]
from _common import SAMPLING, compare, heading, quantiles, save  # examples/_common.py

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.special import expit  # the inverse logit

import brmc

rats = brmc.datasets.load("rats")  # columns batch, m, n; the 71st batch is BDA3's current experiment
fit = brmc.brm("m | trials(n) ~ 1 + (1 | batch)", data=rats, family="binomial", **SAMPLING)
print(fit)
# --8<-- [end:fit]

# --8<-- [start:compare]
heading("brmc next to brms 2.18 and lme4 (glmer, Laplace)")
draws = fit.draws()
compare(draws, {  # brms: ../shared/reference/rats; lme4 1.1-31 glmer(cbind(m, n - m) ~ 1 + (1 | batch))
    "Intercept (logit)": ("b_Intercept", -1.939842, -1.9278),
    "sd(batch) (logit)": ("sd_batch__Intercept", 0.704187, 0.6567),
}, lme4_label="lme4 ML")
# --8<-- [end:compare]

# --8<-- [start:population]
heading("The population distribution of the tumour probability")
mu = draws["b_Intercept"].to_numpy()[:, None]
tau = draws["sd_batch__Intercept"].to_numpy()[:, None]
# Per draw, the batch probabilities are inv_logit(mu + tau * z), z ~ normal(0, 1): its mean by
# Gauss-Hermite quadrature, its 2.5 % and 97.5 % points exactly (the inverse logit is monotone).
nodes, weights = np.polynomial.hermite_e.hermegauss(40)
pop_mean = (expit(mu + tau * nodes) * weights).sum(axis=1) / weights.sum()
pop_lo, pop_hi = expit(mu - 1.959964 * tau)[:, 0], expit(mu + 1.959964 * tau)[:, 0]
print(f"mean tumour probability in the population:   {quantiles(pop_mean)}")
print(f"2.5 % point of the population distribution:  {quantiles(pop_lo)}")
print(f"97.5 % point of the population distribution: {quantiles(pop_hi)}")

# The same from brmc's predictions for a batch it has not seen (one trial: the expected value is
# the probability), drawing the new batch's effect from normal(0, sd_batch) as brms does.
new_batch = pd.DataFrame({"batch": [999], "m": [0], "n": [1]})
p_new = fit.posterior_epred(new_batch, allow_new_levels=True, sample_new_levels="gaussian", seed=1)[:, 0]
print(f"a new batch, fit.posterior_epred(...):        mean {p_new.mean():.3f}, "
      f"95 % range [{np.quantile(p_new, 0.025):.3f}, {np.quantile(p_new, 0.975):.3f}]")

# BDA3 (section 5.1) summarises the 70 historical experiments by the mean and sd of y/n and the beta
# distribution with those moments; the 71st batch is the current experiment.
raw = (rats["m"] / rats["n"]).to_numpy()
m_hist, s_hist = raw[:70].mean(), raw[:70].std(ddof=1)
ab = m_hist * (1 - m_hist) / s_hist**2 - 1
print(f"BDA3's moments of the 70 historical proportions: mean {m_hist:.3f}, sd {s_hist:.3f} "
      f"-> beta({m_hist * ab:.1f}, {(1 - m_hist) * ab:.1f})")
# --8<-- [end:population]

# --8<-- [start:current]
heading("The current experiment (batch 71: 4 tumours in 14 rats)")
coef71 = fit.coef(summary=False)["batch"][("71", "Intercept")].to_numpy()
print(f"raw proportion 4/14 = {4 / 14:.3f}; posterior of its probability: {quantiles(expit(coef71))}")
# --8<-- [end:current]

# --8<-- [start:plots]
save(brmc.plot_shrinkage(fit, order="estimate"), "rats_shrinkage")

fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
ax.hist(p_new, bins=60, range=(0, 0.6), density=True, color="#b3cde0", label="population (a new batch)")
ax.hist(raw, bins=30, range=(0, 0.6), density=True, histtype="step", color="black",
        label="observed proportions m / n")
ax.axvline(pop_mean.mean(), color="#03396c", label=f"population mean {pop_mean.mean():.3f}")
ax.set_xlabel("tumour probability")
ax.set_yticks([])
ax.legend(fontsize=8)
save(fig, "rats_population")
# --8<-- [end:plots]
