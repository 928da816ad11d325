"""Fit brms's nl_loss, ar_sleep and mv_jsp models directly in PyMC with the building blocks and compare
the posteriors with brms 2.18's.

The building blocks are ``brmc.nonlinear``, ``brmc.autocor_lik`` and ``brmc.multivariate``, which are not
yet wired into ``brm()``.  Each model is written out with brms's priors and parameterisation:

- centred intercepts;
- ``z``-scaled group effects;
- ``lkj(1)`` for a 2 x 2 correlation, which is a uniform prior on the correlation.

Each model is sampled with brms's settings (4 chains, 1,000 warm-up + 1,000 draws, seed 1234) on
NumPyro's NUTS.  The script prints, for each parameter:

- brmc's and brms's posterior mean and sd;
- the difference of the means in brms posterior sds;
- the ratio of the sds.

It reads brms's data and draws summaries from ``tests/reference/``.  Run it from the repository
root::

    PYTHONPATH=src python benchmarks/building_blocks_vs_brms.py [nl_loss] [ar_sleep] [mv_jsp]
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from brmc.autocor import TimeSeries
from brmc.autocor_lik import normal_arma_lpdf
from brmc.multivariate import (
    multi_normal_rescor_lpdf,
    mvbf,
    rescor_names,
    rescor_values,
    set_rescor,
)
from brmc.nlformula import covariate_data
from brmc.nlfunctions import PYTENSOR
from brmc.nonlinear import evaluate, parse_expression

REFERENCE = Path(__file__).resolve().parents[1] / "tests" / "reference"


def _standata(case: str) -> dict:
    return json.loads((REFERENCE / case / "standata.json").read_text())


def nl_loss() -> tuple[pm.Model, dict]:
    """``cum ~ ult * (1 - exp(-(dev/theta)^omega))``, ``ult ~ 1 + (1 | AY)``, the priors of model_info."""
    loss = pd.read_csv(REFERENCE / "nl_loss" / "loss.csv")
    expr = parse_expression("ult * (1 - exp(-(dev/theta)^omega))")
    dev = covariate_data(expr, loss, ["ult", "omega", "theta"])["C_1"]
    group = pd.factorize(loss["AY"], sort=True)[0]
    with pm.Model() as model:
        b_ult = pm.Normal("b_ult_Intercept", 5000, 1000)
        b_omega = pm.Normal("b_omega_Intercept", 1, 2)
        b_theta = pm.Normal("b_theta_Intercept", 45, 10)
        sigma = pm.HalfStudentT("sigma", nu=3, sigma=1963.7)
        sd_1 = pm.HalfStudentT("sd_AY__ult_Intercept", nu=3, sigma=1963.7)
        z = pm.Normal("z_1", 0, 1, shape=10)
        mu = evaluate(expr.tree, {"ult": b_ult + (sd_1 * z)[group], "omega": b_omega, "theta": b_theta, "dev": dev},
                      PYTENSOR)
        pm.Normal("Y", mu, sigma, observed=loss["cum"].to_numpy())
    names = {n: n for n in ["b_ult_Intercept", "b_omega_Intercept", "b_theta_Intercept", "sd_AY__ult_Intercept",
                            "sigma"]}
    return model, {"target_accept": 0.9, "names": names}


def ar_sleep() -> tuple[pm.Model, dict]:
    """``Reaction ~ Days + (1 | Subject) + ar(time = Days, gr = Subject, p = 1)``, brms's default priors."""
    standata = _standata("ar_sleep")
    y, days = np.asarray(standata["Y"], float), np.asarray(standata["X"], float)[:, 1]
    group = np.asarray(standata["J_1"]) - 1
    with pm.Model() as model:
        intercept = pm.StudentT("Intercept", nu=3, mu=288.7, sigma=59.3)
        b_days = pm.Flat("b_Days")
        ar = pm.Flat("ar", shape=(1,))  # brms 2.18: unbounded, flat
        sigma = pm.HalfStudentT("sigma", nu=3, sigma=59.3)
        sd_1 = pm.HalfStudentT("sd_Subject__Intercept", nu=3, sigma=59.3)
        z = pm.Normal("z_1", 0, 1, shape=18)
        eta = intercept + b_days * (days - days.mean()) + (sd_1 * z)[group]
        pm.Potential("likelihood", normal_arma_lpdf(y, eta, sigma, ar, None, TimeSeries.from_groups(group)))
        pm.Deterministic("b_Intercept", intercept - days.mean() * b_days)
        pm.Deterministic("ar1", ar[0])
    names = {"b_Intercept": "b_Intercept", "b_Days": "b_Days", "ar[1]": "ar1", "sigma": "sigma",
             "sd_Subject__Intercept": "sd_Subject__Intercept"}
    return model, {"names": names}


def _chol_2x2(r):
    return pt.stack([pt.stack([1.0, 0.0]), pt.stack([r, pt.sqrt(1 - r**2)])])


def mv_jsp() -> tuple[pm.Model, dict]:
    """``bf(mvbind(english, math) ~ craven + (1 | p | school)) + set_rescor(TRUE)``, brms's default priors."""
    standata = _standata("mv_jsp")
    formula = mvbf("mvbind(english, math) ~ craven + (1 | p | school)") + set_rescor(True)
    y = np.column_stack([np.asarray(standata[f"Y_{r}"], float) for r in formula.responses])
    craven = np.asarray(standata["X_english"], float)[:, 1]
    group = np.asarray(standata["J_1_english"]) - 1
    with pm.Model() as model:
        intercept = pt.stack([pm.StudentT("Intercept_english", nu=3, mu=40, sigma=23.7),
                              pm.StudentT("Intercept_math", nu=3, mu=32, sigma=5.9)])
        b = pm.Flat("b_craven", shape=2)
        sigma = pm.HalfStudentT("sigma", nu=3, sigma=np.array([23.7, 5.9]), shape=2)
        sd_1 = pm.HalfStudentT("sd_1", nu=3, sigma=np.array([23.7, 5.9]), shape=2)
        cor = pm.Uniform("cor_1", -1, 1)
        rescor = pm.Uniform("rescor_1", -1, 1)
        z = pm.Normal("z_1", 0, 1, shape=(2, int(standata["N_1"][0])))
        r_1 = (pt.diag(sd_1) @ _chol_2x2(cor) @ z).T  # brms's scale_r_cor
        mu = intercept + b * (craven - craven.mean())[:, None] + r_1[group]
        l_rescor = _chol_2x2(rescor)
        pm.Potential("likelihood", multi_normal_rescor_lpdf(y, mu, sigma, l_rescor))
        pm.Deterministic("b_Intercept", intercept - craven.mean() * b)
        pm.Deterministic("rescor", rescor_values(l_rescor, 2))
    names = {"b_english_Intercept": ("b_Intercept", 0), "b_math_Intercept": ("b_Intercept", 1),
             "b_english_craven": ("b_craven", 0), "b_math_craven": ("b_craven", 1),
             "sd_school__english_Intercept": ("sd_1", 0), "sd_school__math_Intercept": ("sd_1", 1),
             "cor_school__english_Intercept__math_Intercept": "cor_1", "sigma_english": ("sigma", 0),
             "sigma_math": ("sigma", 1), rescor_names(formula.responses)[0]: ("rescor", 0)}
    return model, {"names": names}


MODELS = {"nl_loss": nl_loss, "ar_sleep": ar_sleep, "mv_jsp": mv_jsp}


def compare(case: str) -> None:
    """Sample one model and print its comparison with brms."""
    model, info = MODELS[case]()
    start = time.time()
    with model:
        idata = pm.sample(1000, tune=1000, chains=4, nuts_sampler="numpyro", random_seed=1234, progressbar=False,
                          target_accept=info.get("target_accept", 0.8),
                          nuts_sampler_kwargs={"chain_method": "sequential"})
    print(f"{case}: sampled in {time.time() - start:.0f} s, {int(idata.sample_stats['diverging'].sum())} divergent")
    brms = pd.read_csv(REFERENCE / case / "draws_summary.csv").set_index("variable")
    for name, where in info["names"].items():
        var, index = (where, None) if isinstance(where, str) else where
        values = idata.posterior[var].values
        values = (values if index is None else values[..., index]).reshape(-1)
        mean, sd = brms.loc[name, "mean"], brms.loc[name, "sd"]
        print(f"  {name:46s} brmc {values.mean():9.3f} ({values.std():8.3f})  brms {mean:9.3f} ({sd:8.3f})  "
              f"diff/sd {(values.mean() - mean) / sd:+.3f}  sd ratio {values.std() / sd:.3f}")


if __name__ == "__main__":
    warnings.filterwarnings("ignore")
    for case in sys.argv[1:] or list(MODELS):
        compare(case)
