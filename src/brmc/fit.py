"""The :class:`Fit` object: spec, data and draws, with thin methods over them.

The methods are brms's functions of a fit (``summary``, ``fixef``, ``fitted``,
``loo``, ``pp_check``, ...); each delegates to the module that computes it.

Examples
--------
>>> bool(fit.draws()["b_Days"].mean() > 5)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import arviz as az
import pandas as pd
import xarray as xr

from . import (bridge, checks, comparison, conditional, effects, hypothesis_testing, io, kfold, loglik, moment_match,
               pipeline, plots, predict, sensitivity)
from . import criteria as crit  # ``criteria`` is also the field that add_criterion fills
from ._docs import method_of
from .data import ModelData
from .families import Family
from .formula import BrmsFormula
from .priors import Prior, PriorSpec, prior_summary_table
from .sampling import SamplerSettings, log_likelihood
from .diagnostics import diagnose
from .summary import PriorTable, Summary, header_lines, summary_tables


@dataclass
class Fit:
    """A fitted brms-style model, as :func:`brmc.brm` returns it.

    Attributes: ``idata`` (arviz.InferenceData with brms names),
    ``model_data``, ``priors`` (the resolved priors), ``settings`` (sampler
    arguments), ``timing`` (seconds spent building, compiling, sampling) and
    ``criteria`` (those :func:`brmc.add_criterion` stored, by name).
    ``print(fit)`` is brms's summary; a notebook shows it as HTML tables.  The
    methods named as brms's functions (``fixef``, ``fitted``, ``loo``,
    ``pp_check``, ...) take those functions' arguments after the fit.

    Examples
    --------
    >>> fit.nobs, fit.family.name, str(fit.formula)
    (180, 'gaussian', 'Reaction ~ Days + (Days | Subject)')
    """

    model_data: ModelData
    priors: PriorSpec
    settings: SamplerSettings
    idata: az.InferenceData
    timing: dict[str, float] = field(default_factory=dict)
    criteria: dict[str, Any] = field(default_factory=dict)
    _tables: Summary | None = field(default=None, repr=False)

    @property
    def formula(self) -> BrmsFormula:
        """The model's formula (brms's ``formula(fit)``)."""
        return self.model_data.formula

    @property
    def family(self) -> Family:
        """The model's family and links (brms's ``family(fit)``)."""
        return self.model_data.family

    @property
    def nobs(self) -> int:
        """Number of observations used (after dropping incomplete rows), brms's ``nobs(fit)``."""
        return self.model_data.nobs

    @property
    def data(self) -> pd.DataFrame:
        """The rows the model was fitted to."""
        return self.model_data.frame

    def log_likelihood(self) -> xr.DataArray:
        """Pointwise log-likelihood, brms's ``log_lik(fit)``.

        Computed on first use and kept as ``idata.log_likelihood`` (``Y``), so
        ArviZ's own functions (``az.loo(fit.idata)``) work after it and a saved
        fit keeps it.

        Returns
        -------
        xarray.DataArray
            Dimensions (chain, draw, observation).

        Examples
        --------
        >>> fit.log_likelihood().shape
        (2, 200, 180)
        """
        if "log_likelihood" not in self.idata.groups():
            self.idata.add_groups(log_likelihood=log_likelihood(self.idata.posterior, self.model_data))
        return self.idata.log_likelihood["Y"]

    def summary_tables(self) -> Summary:
        """The summary's tables at 95 % intervals, without header or warnings (computed once).

        Returns
        -------
        Summary
            ``fixed``, ``random`` (by grouping factor) and ``spec_pars`` frames.

        Examples
        --------
        >>> list(fit.summary_tables().fixed.index)
        ['Intercept', 'Days']
        """
        if self._tables is None:
            self._tables = summary_tables(self)
        return self._tables

    def summary(self, priors: bool = False, probs: tuple[float, float] = (0.025, 0.975)) -> Summary:
        """brms's ``summary(fit)``.

        Parameters
        ----------
        priors : bool, default False
            Whether to add the priors used, as brms's ``summary(fit, priors = TRUE)``.
        probs : tuple of float, default (0.025, 0.975)
            The interval's quantiles (the ``l-95% CI`` and ``u-95% CI`` columns).

        Returns
        -------
        Summary
            ``str()`` of it is brms's text; its attributes are the tables.

        Examples
        --------
        ``print(fit.summary())`` prints brms's warnings (if any), this header, then the tables:

        >>> for line in fit.summary().header[:3]:
        ...     print(line)
         Family: gaussian
          Links: mu = identity; sigma = identity
        Formula: Reaction ~ Days + (Days | Subject)
        """
        tables = self.summary_tables() if tuple(probs) == (0.025, 0.975) else summary_tables(self, probs)
        tables.header = header_lines(self)
        tables.warnings = diagnose(self).messages()
        tables.priors = self.prior_summary() if priors else None
        return tables

    def __str__(self) -> str:
        return str(self.summary())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def prior_summary(self) -> PriorTable:
        """The priors used, as brms's ``prior_summary(fit)``.

        Returns
        -------
        PriorTable
            A DataFrame with brms's columns that prints as brms prints it.

        Examples
        --------
        >>> fit.prior_summary().loc[0, ["prior", "class"]].tolist()
        ['', 'b']
        """
        return PriorTable(prior_summary_table(self.model_data, self.priors))

    # brms's functions of a fit, as methods: each takes the function's arguments after ``fit``
    # and shows the function's documentation (``help(fit.fitted)``).
    save = method_of(io.save)
    log_lik = method_of(loglik.log_lik)
    loo = method_of(comparison.loo)
    loo_moment_match = method_of(moment_match.loo_moment_match)
    reloo = method_of(kfold.reloo)
    bridge_sampler = method_of(bridge.bridge_sampler)
    waic = method_of(crit.waic)
    bayes_R2 = method_of(crit.bayes_R2)
    loo_R2 = method_of(comparison.loo_R2)
    kfold = method_of(kfold.kfold)
    add_criterion = method_of(comparison.add_criterion)
    hypothesis = method_of(hypothesis_testing.hypothesis)
    plot = method_of(plots.plot)
    pp_check = method_of(checks.pp_check)
    conditional_effects = method_of(conditional.conditional_effects)
    powerscale_sensitivity = method_of(sensitivity.powerscale_sensitivity)
    fixef = method_of(effects.fixef)
    ranef = method_of(effects.ranef)
    coef = method_of(effects.coef)
    VarCorr = method_of(effects.VarCorr)
    posterior_linpred = method_of(predict.posterior_linpred)
    posterior_epred = method_of(predict.posterior_epred)
    posterior_predict = method_of(predict.posterior_predict)
    fitted = method_of(predict.fitted)
    predict = method_of(predict.predict)

    def update(self, prior: Prior | list[Prior] | None = None, newdata: pd.DataFrame | None = None,
               **settings: Any) -> Fit:
        """Refit with new priors, data or sampler settings (see :func:`brmc.update`).

        Parameters
        ----------
        prior : Prior or list of Prior, optional
            Priors replacing the fit's on the same (class, coef, group, dpar).
        newdata : pandas.DataFrame, optional
            New data for the same formula.
        **settings
            Sampler arguments of :func:`brmc.brm` (``seed``, ``chains``, ``iter``, ...); the rest stay.

        Returns
        -------
        Fit

        Examples
        --------
        >>> fit2 = fit.update(prior=brmc.prior("normal(0, 10)", class_="b"), seed=2)
        >>> fit2.prior_summary().loc[0, "prior"]
        'normal(0, 10)'
        """
        return pipeline.entry("update")(self, prior=prior, newdata=newdata, **settings)

    def draws(self) -> pd.DataFrame:
        """All draws as one frame, one column per scalar (brms's ``as_draws_df``).

        Returns
        -------
        pandas.DataFrame
            A row per draw; group-level effects spelled ``r_Subject[308,Intercept]``; the
            frame ends with ``.chain``, ``.iteration`` and ``.draw``.

        Examples
        --------
        >>> fit.draws()[["b_Days", "sd_Subject__Days", "r_Subject[308,Days]", ".chain"]].shape
        (400, 4)
        """
        return effects.as_draws_df(self.idata.posterior)
