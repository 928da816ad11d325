"""brmc: brms-style Bayesian multilevel regression in Python, built on PyMC.

Example:
    >>> import brmc
    >>> df = brmc.datasets.load("sleepstudy")
    >>> fit = brmc.brm("Reaction ~ Days + (Days | Subject)", data=df, chains=2, iter=1000, seed=11,
    ...                progress=False)
    >>> print(fit)  # doctest: +ELLIPSIS
     Family: gaussian
    ...
    Population-Level Effects:
    ...
"""

import warnings as _warnings

from ._startup import ARVIZ_NOTICE, lazy_numba_ufuncs, worker_compiledir

worker_compiledir()  # before PyMC imports PyTensor: a worker's own compile directory
with lazy_numba_ufuncs(), _warnings.catch_warnings():
    _warnings.filterwarnings("ignore", message=ARVIZ_NOTICE, category=FutureWarning)
    import arviz as _arviz  # noqa: F401  (before PyMC imports it: see _startup)

from . import datasets
from .api import brm, get_prior, load, make_model, update
from .criteria import bayes_R2, loo_compare, waic
from .comparison import add_criterion, loo, loo_R2, model_weights, pp_average
from .kfold import kfold, reloo
from .moment_match import loo_moment_match
from .bridge import bayes_factor, bridge_sampler, post_prob
from .hypothesis_testing import hypothesis
from .errors import BrmsError, DataError, FamilyError, FormulaError, PriorError, SamplingError
from .families import Family, gaussian, get_family, mixture
from .fit import Fit
from .checks import pp_check
from .conditional import conditional_effects, make_conditions
from .datagrid import datagrid
from .emmeans import emmeans
from .marginal import (avg_comparisons, avg_predictions, avg_slopes, comparisons, predictions,
                       slopes)
from .marginal_frame import MarginalFrame, hypotheses
from .marginal_plots import plot_comparisons, plot_predictions, plot_slopes
from .plots import plot_ranef, plot_shrinkage
from .formula import parse_formula
from .multivariate import mvbf, set_rescor
from .nlterm import bf, lf, nlf
from .priors import pc_prior, prior
from .sensitivity import SweepResult, prior_sweep
from .sbc import SBCResult, sbc
from .smooth_effects import conditional_smooths, posterior_smooths

__all__ = [
    "BrmsError", "DataError", "Family", "FamilyError", "Fit", "FormulaError", "PriorError", "SamplingError",
    "bf", "lf", "nlf", "mvbf", "set_rescor", "brm", "datasets", "gaussian", "get_family", "get_prior", "mixture", "make_model", "parse_formula", "prior", "update", "load", "loo", "waic", "loo_compare", "bayes_R2",
    "hypothesis", "pc_prior", "prior_sweep", "SweepResult", "plot_ranef", "plot_shrinkage", "pp_check",
    "conditional_effects", "conditional_smooths", "posterior_smooths", "sbc", "SBCResult", "kfold", "loo_R2", "model_weights", "add_criterion",
    "loo_moment_match", "reloo", "bridge_sampler", "bayes_factor", "post_prob", "pp_average", "make_conditions",
    "predictions", "avg_predictions", "comparisons", "avg_comparisons", "slopes", "avg_slopes", "datagrid",
    "hypotheses", "MarginalFrame", "emmeans", "plot_predictions", "plot_comparisons", "plot_slopes",
]
from ._version import __version__ as __version__  # noqa: E402  (one place, read by io.py too)
