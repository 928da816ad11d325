"""The :class:`Fit` object: spec, data and draws, with thin methods over them.

Example:
    >>> import brmc
    >>> fit = brmc.brm("Reaction ~ Days + (Days | Subject)", data=brmc.datasets.load("sleepstudy"),
    ...                chains=2, iter=400, warmup=200, seed=1, progress=False)  # doctest: +SKIP
    >>> fit.draws()["b_Days"].mean() > 5  # doctest: +SKIP
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from . import criteria, effects, io, predict, sensitivity
from .data import ModelData
from .families import Family
from .formula import BrmsFormula
from .priors import PriorSpec, prior_summary_table
from .sampling import SamplerSettings, log_likelihood
from .summary import PriorTable, Summary, diagnose, header_lines, summary_tables


@dataclass
class Fit:
    """A fitted brms-style model.

    Attributes: ``idata`` (arviz.InferenceData with brms names),
    ``model_data``, ``priors`` (the resolved priors), ``settings`` (sampler
    arguments) and ``timing`` (seconds spent building, compiling, sampling).

    Example:
        >>> import brmc
        >>> fit = brmc.brm("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"),
        ...                seed=1234, progress=False)  # doctest: +SKIP
        >>> fit.nobs, fit.family.name, str(fit.formula)  # doctest: +SKIP
        (180, 'gaussian', 'Reaction ~ Days + (Days | Subject)')
    """

    model_data: ModelData
    priors: PriorSpec
    settings: SamplerSettings
    idata: az.InferenceData
    timing: dict[str, float] = field(default_factory=dict)
    _tables: Summary | None = field(default=None, repr=False)

    @property
    def formula(self) -> BrmsFormula:
        return self.model_data.formula

    @property
    def family(self) -> Family:
        return self.model_data.family

    @property
    def nobs(self) -> int:
        """Number of observations used (after dropping incomplete rows)."""
        return self.model_data.nobs

    @property
    def data(self) -> pd.DataFrame:
        """The rows the model was fitted to."""
        return self.model_data.frame

    def log_likelihood(self) -> xr.DataArray:
        """Pointwise log-likelihood (chain, draw, obs), brms's ``log_lik(fit)``.

        Computed on first use and kept as ``idata.log_likelihood`` (``Y``), so
        ArviZ's own functions (``az.loo(fit.idata)``) work after it and a saved
        fit keeps it.

        Example:
            >>> fit.log_likelihood().shape  # doctest: +SKIP
            (4, 1000, 180)
        """
        if "log_likelihood" not in self.idata.groups():
            self.idata.add_groups(log_likelihood=log_likelihood(self.idata.posterior, self.model_data))
        return self.idata.log_likelihood["Y"]

    def summary_tables(self) -> Summary:
        """The summary's tables at 95 % intervals (computed once).

        Example:
            >>> fit.summary_tables().fixed.loc["Days", "Estimate"]  # doctest: +SKIP
            10.3...
        """
        if self._tables is None:
            self._tables = summary_tables(self)
        return self._tables

    def summary(self, priors: bool = False, probs: tuple[float, float] = (0.025, 0.975)) -> Summary:
        """brms's ``summary(fit)``; ``str()`` of the result is brms's text.

        Example:
            >>> print(fit.summary())  # doctest: +SKIP
        """
        tables = self.summary_tables() if tuple(probs) == (0.025, 0.975) else summary_tables(self, probs)
        tables.header = header_lines(self)
        tables.warnings = diagnose(self).messages()
        tables.priors = self.prior_summary() if priors else None
        return tables

    def __str__(self) -> str:
        return str(self.summary())

    def __repr__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def prior_summary(self) -> PriorTable:
        """The priors used, as brms's ``prior_summary(fit)``.

        Example:
            >>> fit.prior_summary()  # doctest: +SKIP
        """
        return PriorTable(prior_summary_table(self.model_data, self.priors))

    def save(self, path) -> Path:
        """Save the fit to one netCDF file (draws) with a JSON spec; see :mod:`brmc.io`.

        Example:
            >>> path = fit.save("sleep.brmc"); same = brmc.load(path)  # doctest: +SKIP
        """
        return io.save(self, path)

    def loo(self) -> criteria.LooResult:
        """PSIS-LOO as brms's ``loo(fit)``.

        Example:
            >>> print(fit.loo())  # doctest: +SKIP
        """
        return criteria.loo(self)

    def waic(self) -> criteria.WaicResult:
        """WAIC as brms's ``waic(fit)``.

        Example:
            >>> print(fit.waic())  # doctest: +SKIP
        """
        return criteria.waic(self)

    def bayes_R2(self, summary: bool = True, probs: tuple[float, ...] = (0.025, 0.975)) -> pd.DataFrame:
        """Bayesian R², as brms's ``bayes_R2(fit)``.

        Example:
            >>> fit.bayes_R2()  # doctest: +SKIP
        """
        return criteria.bayes_R2(self, summary, probs)

    def hypothesis(self, hypothesis, alpha: float = 0.05, class_: str | None = "b") -> criteria.HypothesisResult:
        """brms's ``hypothesis(fit, "Days > 5")``: evidence ratios and posterior probabilities.

        Example:
            >>> print(fit.hypothesis("Days > 5"))  # doctest: +SKIP
        """
        return criteria.hypothesis(self, hypothesis, alpha=alpha, class_=class_)

    def plot(self, variable=None, regex: bool = False, N: int = 5) -> list:
        """Trace and density per parameter, as brms's ``plot(fit)`` (one figure per N parameters).

        Example:
            >>> figs = fit.plot(variable="^sd_", regex=True); figs[0].savefig("sds.png")  # doctest: +SKIP
        """
        from . import plots

        return plots.plot(self, variable=variable, regex=regex, N=N)

    def pp_check(self, type: str = "dens_overlay", ndraws: int | None = None, **kwargs):
        """Posterior (or prior) predictive check plot, as brms's ``pp_check`` (see :mod:`brmc.checks`).

        Example:
            >>> fig = fit.pp_check(type="stat", stat="sd")  # doctest: +SKIP
        """
        from . import checks

        return checks.pp_check(self, type=type, ndraws=ndraws, **kwargs)

    def conditional_effects(self, effects=None, **kwargs):
        """Population-level effect curves with credible bands, as brms's ``conditional_effects``.

        Example:
            >>> figs = fit.conditional_effects("Days").plot(points=True)  # doctest: +SKIP
        """
        from . import checks

        return checks.conditional_effects(self, effects=effects, **kwargs)

    def powerscale_sensitivity(self, variables: list[str] | None = None) -> pd.DataFrame:
        """Prior and likelihood power-scaling sensitivity per parameter (priorsense's diagnosis).

        Example:
            >>> fit.powerscale_sensitivity()  # doctest: +SKIP
        """
        return sensitivity.powerscale_sensitivity(self, variables)

    def update(self, prior=None, newdata: pd.DataFrame | None = None, **settings) -> Fit:
        """Refit with new priors, data or sampler settings (see :func:`brmc.api.update`).

        Example:
            >>> fit2 = fit.update(prior=brmc.prior("normal(0, 10)", class_="b"), seed=2)  # doctest: +SKIP
        """
        from .api import update

        return update(self, prior=prior, newdata=newdata, **settings)

    def fixef(self, summary: bool = True, probs: tuple[float, ...] = (0.025, 0.975)) -> pd.DataFrame:
        """Population-level effects, as brms's ``fixef`` (see :mod:`brmc.effects`).

        Example:
            >>> fit.fixef().loc["Days", ["Estimate", "Q2.5", "Q97.5"]]  # doctest: +SKIP
        """
        return effects.fixef(self, summary, probs)

    def ranef(self, summary: bool = True, probs: tuple[float, ...] = (0.025, 0.975)) -> dict[str, pd.DataFrame]:
        """Group-level effects by grouping factor, as brms's ``ranef``.

        Example:
            >>> fit.ranef()["Subject"].loc[("308", "Days")]  # doctest: +SKIP
        """
        return effects.ranef(self, summary, probs)

    def coef(self, summary: bool = True, probs: tuple[float, ...] = (0.025, 0.975)) -> dict[str, pd.DataFrame]:
        """Population plus group-level effects per level, as brms's ``coef``.

        Example:
            >>> fit.coef()["Subject"].xs("Days", level="coef")["Estimate"]  # doctest: +SKIP
        """
        return effects.coef(self, summary, probs)

    def VarCorr(self, summary: bool = True, probs: tuple[float, ...] = (0.025, 0.975)) -> dict:
        """Group-level sds, correlations and covariances plus the residual sd, as brms's ``VarCorr``.

        Example:
            >>> fit.VarCorr()["Subject"]["sd"]; fit.VarCorr()["residual__"]["sd"]  # doctest: +SKIP
        """
        return effects.VarCorr(self, summary, probs)

    def posterior_linpred(self, newdata: pd.DataFrame | None = None, re_formula=None, **kwargs) -> np.ndarray:
        """Linear predictor draws × rows (see :func:`brmc.predict.posterior_linpred`).

        Example:
            >>> fit.posterior_linpred(re_formula=False).shape  # doctest: +SKIP
            (4000, 180)
        """
        return predict.posterior_linpred(self, newdata, re_formula, **kwargs)

    def posterior_epred(self, newdata: pd.DataFrame | None = None, re_formula=None, **kwargs) -> np.ndarray:
        """Expected-value draws × rows, as brms's ``posterior_epred``.

        Example:
            >>> fit.posterior_epred(pd.DataFrame({"Days": [0, 9], "Subject": ["308", "308"]})).shape  # doctest: +SKIP
            (4000, 2)
        """
        return predict.posterior_epred(self, newdata, re_formula, **kwargs)

    def posterior_predict(self, newdata: pd.DataFrame | None = None, re_formula=None, **kwargs) -> np.ndarray:
        """Posterior predictive draws × rows, as brms's ``posterior_predict``.

        Example:
            >>> fit.posterior_predict(ndraws=100, seed=1).shape  # doctest: +SKIP
            (100, 180)
        """
        return predict.posterior_predict(self, newdata, re_formula, **kwargs)

    def fitted(self, newdata: pd.DataFrame | None = None, re_formula=None, **kwargs) -> pd.DataFrame:
        """brms's ``fitted``: Estimate, Est.Error, Q2.5, Q97.5 of the expected value per row.

        Example:
            >>> fit.fitted(pd.DataFrame({"Days": [9], "Subject": ["new"]}), allow_new_levels=True)  # doctest: +SKIP
        """
        return predict.fitted(self, newdata, re_formula, **kwargs)

    def predict(self, newdata: pd.DataFrame | None = None, re_formula=None, **kwargs) -> pd.DataFrame:
        """brms's ``predict``: summary of posterior predictive draws per row.

        Example:
            >>> fit.predict(pd.DataFrame({"Days": [9]}), re_formula=False, seed=1)  # doctest: +SKIP
        """
        return predict.predict(self, newdata, re_formula, **kwargs)

    def draws(self) -> pd.DataFrame:
        """All draws as one frame, one column per scalar (brms's ``as_draws_df``).

        Group-level effects are spelled ``r_Subject[308,Intercept]``; the
        frame ends with ``.chain``, ``.iteration`` and ``.draw``.

        Example:
            >>> fit.draws()[["b_Days", "sd_Subject__Days", "r_Subject[308,Days]", ".chain"]].shape  # doctest: +SKIP
            (4000, 4)
        """
        post = self.idata.posterior
        n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
        columns: dict[str, np.ndarray] = {}
        for name, var in post.data_vars.items():
            values = var.values.reshape(n_chain * n_draw, *var.shape[2:])
            if var.ndim == 2:
                columns[str(name)] = values
                continue
            level_dim, coef_dim = var.dims[2], var.dims[3]
            for k, coef in enumerate(var[coef_dim].values):
                for j, level in enumerate(var[level_dim].values):
                    columns[f"{name}[{level},{coef}]"] = values[:, j, k]
        frame = pd.DataFrame(columns)
        frame[".chain"] = np.repeat(np.arange(1, n_chain + 1), n_draw)
        frame[".iteration"] = np.tile(np.arange(1, n_draw + 1), n_chain)
        frame[".draw"] = np.arange(1, n_chain * n_draw + 1)
        return frame
