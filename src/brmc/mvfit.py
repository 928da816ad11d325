"""The fit of a multivariate model: brms's functions of an ``mvbrmsfit`` with ``resp=``.

:class:`MvFit` is a :class:`~brmc.fit.Fit` whose ``model_data`` is a
:class:`~brmc.mvdata.MvModelData`.  Its summary is brms's multivariate one (``Formula:`` lines per
response, ``Residual Correlations:``); predictions come per response from a univariate view of the
draws (:meth:`MvFit.response_fit`), an array with a last axis of responses unless ``resp=`` picks
one; ``log_lik`` is brms's: each row's joint density of all responses.

Examples
--------
>>> mvfit.posterior_epred().shape, mvfit.posterior_epred(resp="math").shape
((200, 953, 2), (200, 953))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from .data import addition_values
from .effects import summarise
from .errors import DataError, close_matches
from .families.core import with_se
from .fit import Fit
from .multivariate import rescor_matrices
from .mvdata import MvModelData, mv_prior_summary
from .mvcriteria import mv_log_lik_of
from .mvmethods import mv_bayes_R2, mv_conditional_effects, mv_loo_R2, mv_pp_check
from .mvmodel import mv_log_lik, mv_posterior, response_posterior
from .mvsubset import ONE_RESP
from .predict import draw_setup
from .sampling import SamplingResult, flat_draws
from .summary import PriorTable


def mv_inference_data(result: SamplingResult, mv: MvModelData) -> az.InferenceData:
    """Raw draws of a multivariate model → InferenceData with brms's names, and each response as
    observed data (``Y_<resp>``; on its own dimension ``obs_<resp>`` when it has ``subset()``)."""
    observed = {f"Y_{resp}": xr.DataArray(md.y, dims=(f"obs_{resp}" if mv.subsets else "obs",))
                for resp, md in mv.responses.items()}
    return az.InferenceData(posterior=mv_posterior(result.raw.posterior, mv), sample_stats=result.raw.sample_stats,
                            observed_data=xr.Dataset(observed))


@dataclass(repr=False)
class MvFit(Fit):
    """A fitted multivariate model, as :func:`brmc.brm` returns it for ``mvbind()``, ``bf() + bf()``
    or :func:`brmc.mvbf` formulas.

    Examples
    --------
    >>> list(mvfit.responses), mvfit.fixef().index[:2].tolist()
    (['english', 'math'], ['english_Intercept', 'math_Intercept'])
    """

    model_data: MvModelData

    __repr__ = Fit.__str__
    log_lik = mv_log_lik_of
    bayes_R2 = mv_bayes_R2
    loo_R2 = mv_loo_R2
    pp_check = mv_pp_check
    conditional_effects = mv_conditional_effects

    @property
    def responses(self) -> list[str]:
        """The responses (brms's ``resp`` names), in order."""
        return list(self.model_data.responses)

    def chosen(self, resp: str | list[str] | None) -> list[str]:
        """The responses ``resp=`` names (all when None), checked.

        Parameters
        ----------
        resp : str, list of str or None

        Returns
        -------
        list of str

        Examples
        --------
        >>> mvfit.chosen("math"), mvfit.chosen(None)
        (['math'], ['english', 'math'])
        """
        chosen = self.responses if resp is None else [resp] if isinstance(resp, str) else list(resp)
        for r in chosen:
            if r not in self.model_data.responses:
                raise DataError(f"resp={r!r} is not a response of the model; its responses are "
                                f"{', '.join(self.responses)}.{close_matches(str(r), self.responses)}")
        return chosen

    def response_fit(self, resp: str) -> Fit:
        """The fit as a univariate model of one response (its draws, its data), for its predictions.

        Parameters
        ----------
        resp : str
            A response.

        Returns
        -------
        Fit

        Examples
        --------
        >>> mvfit.response_fit("math").fixef().index.tolist()
        ['math_Intercept', 'math_craven']
        """
        self.chosen(resp)
        md = self.model_data.responses[resp]
        idata = az.InferenceData(posterior=response_posterior(self.idata.posterior, self.model_data, resp),
                                 observed_data=xr.Dataset({"Y": xr.DataArray(md.y, dims=("obs",))}))
        return Fit(model_data=md, priors=self.priors, settings=self.settings, idata=idata)

    def log_likelihood(self) -> xr.DataArray:
        """Pointwise log-likelihood as brms's ``log_lik`` of a multivariate fit: per row the joint
        density of all responses (with ``rescor``) or the sum of their densities.

        Returns
        -------
        xarray.DataArray
            (chain, draw, observation).

        Examples
        --------
        >>> mvfit.log_likelihood().shape
        (2, 100, 953)
        """
        if self.model_data.subsets:
            raise DataError(f"{ONE_RESP} Use fit.response_fit(resp).log_likelihood().")
        if "log_likelihood" not in self.idata.groups():
            values = mv_log_lik(self.idata.posterior, self.model_data)
            post = self.idata.posterior
            self.idata.add_groups(log_likelihood=xr.Dataset(
                {"Y": xr.DataArray(values, dims=("chain", "draw", "obs"))},
                coords={"chain": post["chain"].values, "draw": post["draw"].values}))
        return self.idata.log_likelihood["Y"]

    def prior_summary(self) -> PriorTable:
        """The priors used, as brms's ``prior_summary`` of a multivariate fit
        (:func:`brmc.mvdata.mv_prior_summary`).

        Returns
        -------
        PriorTable

        Examples
        --------
        >>> table = mvfit.prior_summary()
        >>> table.loc[table["class"] == "sigma", "resp"].tolist()
        ['english', 'math']
        """
        return PriorTable(mv_prior_summary(self.model_data, self.priors.user))

    def _per_response(self, method: str, resp: str | list[str] | None, *args: Any, **kwargs: Any) -> np.ndarray:
        chosen = self.chosen(resp)
        if len(chosen) > 1 and self.model_data.subsets:  # the responses' rows differ
            raise DataError(ONE_RESP)
        out = [getattr(self.response_fit(r), method)(*args, **kwargs) for r in chosen]
        return out[0] if isinstance(resp, str) else np.stack(out, axis=-1)

    def posterior_linpred(self, newdata: pd.DataFrame | None = None, *args: Any, resp: str | list[str] | None = None,
                          **kwargs: Any) -> np.ndarray:
        """brms's ``posterior_linpred`` of each response (:func:`brmc.predict.posterior_linpred`'s arguments).

        Returns
        -------
        numpy.ndarray
            (draws, rows, responses), or (draws, rows) for one ``resp``.
        """
        return self._per_response("posterior_linpred", resp, newdata, *args, **kwargs)

    def posterior_epred(self, newdata: pd.DataFrame | None = None, *args: Any, resp: str | list[str] | None = None,
                        **kwargs: Any) -> np.ndarray:
        """brms's ``posterior_epred`` of each response (:func:`brmc.predict.posterior_epred`'s arguments).

        Returns
        -------
        numpy.ndarray
            (draws, rows, responses), or (draws, rows) for one ``resp``.

        Examples
        --------
        >>> mvfit.posterior_epred(ndraws=5, seed=1).shape
        (5, 953, 2)
        """
        return self._per_response("posterior_epred", resp, newdata, *args, **kwargs)

    def posterior_predict(self, newdata: pd.DataFrame | None = None, re_formula: Any = None,
                          resp: str | list[str] | None = None, ndraws: int | None = None, seed: int | None = None,
                          **kwargs: Any) -> np.ndarray:
        """brms's ``posterior_predict``: with ``rescor`` all responses drawn together from their
        multivariate normal (or student) distribution, else each from its own family.

        Returns
        -------
        numpy.ndarray
            Draws of the responses: (draws, rows, responses); one ``resp`` leaves out the last axis.

        Examples
        --------
        >>> mvfit.posterior_predict(resp="math", ndraws=5, seed=1).shape
        (5, 953)
        """
        if not self.model_data.rescor:
            return self._per_response("posterior_predict", resp, newdata, re_formula, ndraws=ndraws, seed=seed, **kwargs)
        chosen = self.chosen(resp)
        common = dict(ndraws=ndraws, seed=seed, **kwargs)
        mu = self._per_response("posterior_epred", None, newdata, re_formula, **common)
        sigma = np.stack([self._residual_sd(r, mu.shape[:2], newdata, re_formula, **common) for r in self.responses],
                         axis=-1)
        draws, rng = draw_setup(self, ndraws, seed)
        post, R = self.idata.posterior, len(self.responses)
        C = rescor_matrices(post, self.responses).reshape(-1, R, R)[draws]
        eps = np.einsum("dij,dnj->dni", np.linalg.cholesky(C), rng.standard_normal(mu.shape))
        if self.model_data.shared_nu:
            nu = flat_draws(post["nu"].values)[draws][:, None, None]
            eps = eps * np.sqrt(nu / rng.chisquare(nu, size=(*mu.shape[:2], 1)))
        out = mu + sigma * eps
        return out[..., self.responses.index(resp)] if isinstance(resp, str) else out[..., [self.responses.index(r)
                                                                                             for r in chosen]]

    def _residual_sd(self, resp: str, shape: tuple[int, int], newdata: pd.DataFrame | None, re_formula: Any,
                     **common: Any) -> np.ndarray:
        """A response's residual sd per draw and row, its known ``se()`` folded in (brms's ``get_Sigma``)."""
        md = self.model_data.responses[resp]
        se: dict[str, Any] = {}
        if "se" in md.additions:
            arg = next(str(a) for a in md.formula.additions["se"] if "=" not in str(a))
            se = {"se": md.additions["se"] if newdata is None else addition_values(newdata, "se", arg).astype(float),
                  "se_sigma": md.additions["se_sigma"]}
        sigma = {} if se and not se["se_sigma"] else {
            "sigma": self._per_response("posterior_epred", resp, newdata, re_formula, dpar="sigma", **common)}
        return np.broadcast_to(with_se(sigma, se)["sigma"], shape)

    def _summarised(self, draws: np.ndarray, resp: str | list[str] | None, probs: tuple[float, ...]) -> pd.DataFrame:
        """brms's ``fitted``/``predict`` of a multivariate fit as a frame: ``Estimate.english``, ..."""
        if isinstance(resp, str):
            return summarise(draws, probs)
        frames = [summarise(draws[..., k], probs).add_suffix(f".{r}") for k, r in enumerate(self.chosen(resp))]
        return pd.concat(frames, axis=1)

    def fitted(self, newdata: pd.DataFrame | None = None, re_formula: Any = None, summary: bool = True,
               probs: tuple[float, ...] = (0.025, 0.975), resp: str | list[str] | None = None,
               **kwargs: Any) -> pd.DataFrame | np.ndarray:
        """brms's ``fitted``: per row and response the summary of :meth:`posterior_epred`.

        Returns
        -------
        pandas.DataFrame or numpy.ndarray
            Columns ``Estimate.<resp>``, ``Est.Error.<resp>``, ``Q2.5.<resp>``, ``Q97.5.<resp>`` (the
            plain four for one ``resp``), or the draws when not ``summary``.

        Examples
        --------
        >>> mvfit.fitted().columns[:2].tolist()
        ['Estimate.english', 'Est.Error.english']
        """
        draws = self.posterior_epred(newdata, re_formula, resp=resp, **kwargs)
        return self._summarised(draws, resp, probs) if summary else draws

    def predict(self, newdata: pd.DataFrame | None = None, re_formula: Any = None, summary: bool = True,
                probs: tuple[float, ...] = (0.025, 0.975), resp: str | list[str] | None = None,
                **kwargs: Any) -> pd.DataFrame | np.ndarray:
        """brms's ``predict``: per row and response the summary of :meth:`posterior_predict`.

        Returns
        -------
        pandas.DataFrame or numpy.ndarray

        Examples
        --------
        >>> mvfit.predict(resp="math", seed=1).columns.tolist()
        ['Estimate', 'Est.Error', 'Q2.5', 'Q97.5']
        """
        draws = self.posterior_predict(newdata, re_formula, resp=resp, **kwargs)
        return self._summarised(draws, resp, probs) if summary else draws

