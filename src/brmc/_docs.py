"""Argument descriptions that several docstrings share, in numpydoc form.

A line of a docstring that holds only ``{name}`` (indented as the other entries
of its ``Parameters`` section) is replaced by :data:`PARAMETERS` ``[name]`` at
that indentation when the function is defined (:func:`shared`), so
``brmc.predict.fitted`` and ``brmc.effects.fixef`` explain ``summary`` in the
same words from one text, and ``help()`` shows the full description.
:func:`method_of` makes a function of a fit a method of :class:`brmc.Fit` with
that function's arguments and documentation.

Example:
    >>> @shared
    ... def f(fit, ndraws=None):
    ...     '''Parameters
    ...     ----------
    ...     {fit}
    ...     {ndraws}
    ...     '''
    >>> print(f.__doc__.splitlines()[2])
        fit : Fit
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

PARAMETERS: dict[str, str] = {
    "fit": "fit : Fit\n    A fitted model (:func:`brmc.brm`).",
    "fit_or_log_lik": ("fit : Fit or numpy.ndarray\n"
                       "    A fit, or a log-likelihood array (chain, draw, observation)."),
    "interval": "probs : tuple of float, default (0.025, 0.975)\n    The interval's quantiles.",
    "formula": ("formula : str or BrmsFormula\n"
                "    brms formula text (``\"Reaction ~ Days + (Days | Subject)\"``), or :func:`brmc.bf` of it\n"
                "    with formulas for distributional parameters."),
    "data": ("data : pandas.DataFrame\n    The data; rows with a missing value in a variable the model uses are dropped,\n"
             "    but for the values ``mi()`` imputes (see ``missing``)."),
    "missing": ('missing : {"impute", "drop", "raise"}, default "impute"\n'
                "    brms's handling of missing values (``\"impute\"``: rows missing a value are dropped with a count,\n"
                "    the values under ``mi()`` imputed), complete cases only (``\"drop\"``, ``mi()`` too), or a\n"
                "    ``DataError`` naming the columns instead of dropping rows (``\"raise\"``); see :mod:`brmc.missingdata`."),
    "family": ("family : str or Family, default ``\"gaussian\"``\n"
               "    A brms family name (``\"poisson\"``, ``\"bernoulli\"``) or :func:`brmc.get_family` of it."),
    "prior": ("prior : Prior or list of Prior, optional\n"
              "    User priors (:func:`brmc.prior`); every other parameter keeps brms's default prior."),
    "data_name": ("data_name : str, optional\n"
                  "    The name on the summary's ``Data:`` line (shipped data sets carry their own)."),
    "env": ("env : dict, optional\n"
            "    Functions (or vectors) a formula may use by name beyond brmc's own, as R's environment."),
    "data2": ("data2 : dict, optional\n"
              "    brms's ``data2``: objects a formula names that are not columns, such as the known covariance\n"
              "    matrix ``A`` of ``gr(g, cov = A)`` (a pandas DataFrame whose index names the levels)."),
    "contrasts": ("contrasts : dict of str to str, optional\n"
                  "    Codings of factor columns other than R's defaults (treatment contrasts, and\n"
                  "    ``contr.poly`` for ordered Categoricals: ``b_x.L``, ``b_x.Q``, ...):\n"
                  "    ``{\"x\": \"treatment\"}`` or ``\"poly\"``, as the ``contrasts`` argument of R's ``lm``."),
    "newdata": ("newdata : pandas.DataFrame, optional\n"
                "    Rows to predict for, with the columns the model uses, coded as the training data;\n"
                "    None (the default) uses the rows the model was fitted to."),
    "re_formula": ("re_formula : None, False or str, optional\n"
                   "    The group-level terms to include: None (the default) all of them, False (or\n"
                   "    ``\"~0\"``, ``\"NA\"``, brms's ``NA``) none, or a formula of some (``\"~ (1 | Subject)\"``)."),
    "allow_new_levels": ("allow_new_levels : bool, default False\n"
                         "    Whether ``newdata`` may hold levels of a grouping factor the fit has not seen."),
    "sample_new_levels": ("sample_new_levels : str, default ``\"uncertainty\"``\n"
                          "    How a new level's effects are drawn, as brms: ``\"uncertainty\"`` (in each draw the\n"
                          "    effects of a fitted level chosen at random), ``\"gaussian\"`` (from the fitted\n"
                          "    group-level normal distribution) or ``\"old_levels\"`` (one fitted level per new level)."),
    "ndraws": "ndraws : int, optional\n    Use this many posterior draws, drawn at random with ``seed``; all when None.",
    "seed": "seed : int, optional\n    Seed of the random numbers (draw subset, new levels, predictive draws).",
    "incl_autocor": ("incl_autocor : bool, default True\n"
                     "    brms's ``incl_autocor``: whether autocorrelation terms take part (False: ``mu`` without an\n"
                     "    ARMA part, rows drawn one by one; what ``conditional_effects`` uses, as brms)."),
    "dpar": ("dpar : str, optional\n"
             "    A distributional parameter (``\"sigma\"``) to give instead of the response's ``mu``."),
    "summary": ("summary : bool, default True\n"
                "    Summaries (``Estimate``, ``Est.Error``, quantile columns); False gives the draws."),
    "probs": ("probs : tuple of float, default (0.025, 0.975)\n"
              "    The quantiles of the summary, named ``Q2.5``, ``Q97.5``, ..."),
    "mv_r2": ("fit : MvFit\n    A multivariate fit (:class:`brmc.mvfit.MvFit`).\n"
              "resp : str or sequence of str, optional\n    The responses (brms's ``resp``); all when None.\n"
              "summary : bool, default True\n    Summaries (one row per response); False gives the draws (a column each).\n"
              "probs : tuple of float, default (0.025, 0.975)\n    The quantiles of the summary."),
    # marginal effects (brmc.marginal, brmc.marginal_plots), in marginaleffects' words
    "me_newdata": ("newdata : pandas.DataFrame or str, optional\n"
                   "    The rows to evaluate at: None (the default) the rows the model was fitted to, a frame\n"
                   "    (:func:`brmc.datagrid`), ``\"mean\"`` (every variable at its mean or mode) or\n"
                   "    ``\"balanced\"`` (every combination of factor levels, numeric variables at their means)."),
    "me_type": ("type : str, default ``\"response\"``\n"
                "    The scale: ``\"response\"`` (``posterior_epred``), ``\"link\"`` (``posterior_linpred``) or\n"
                "    ``\"prediction\"`` (``posterior_predict``)."),
    "me_by": ("by : bool, str or list of str\n"
              "    False: one estimate per row; True: the average over rows (per ``term`` and ``contrast``);\n"
              "    column names: the average within each of their groups.  Averages are taken per draw."),
    "me_re_formula": ("re_formula : None, False or str, optional\n"
                      "    The group-level terms, as brms's ``re_formula``: None (the default, as marginaleffects\n"
                      "    passes it) all of them, False (brms's ``NA``) none, or a formula of some."),
    "me_conf_level": ("conf_level : float, default 0.95\n"
                      "    The probability of the equal-tailed interval ``conf.low`` to ``conf.high``."),
    "me_tail": ("conf_level : float, default 0.95\n"
                "    The probability of the equal-tailed interval ``conf.low`` to ``conf.high``.\n"
                "hypothesis : str or list of str, optional\n"
                "    Equations on the rows of the result (``\"b1 - b2 = 0\"``), as :func:`brmc.hypotheses`.\n"
                "**kwargs\n"
                "    ``ndraws``, ``seed``, ``allow_new_levels``, ``sample_new_levels`` of the predictions."),
    "me_plot": ("type : str, default ``\"response\"``\n"
                "    ``\"response\"``, ``\"link\"`` or ``\"prediction\"``.\n"
                "re_formula : None, False or str, optional\n"
                "    The group-level terms (None: all, as marginaleffects passes; False: none).\n"
                "conf_level : float, default 0.95\n"
                "    The probability of the bands.\n"
                "draw : bool, default True\n"
                "    False returns the estimates instead of the figure.\n"
                "**kwargs\n"
                "    ``ndraws``, ``seed``, ``allow_new_levels``, ``sample_new_levels``."),
    "me_variables": ("variables : str, list of str or dict, optional\n"
                     "    The focal predictors (all population-level predictors when None); a dict gives each its\n"
                     "    contrast: for a numeric predictor a step (``1``: from x to x + 1), two values,\n"
                     "    ``\"sd\"``, ``\"2sd\"``, ``\"iqr\"`` or ``\"minmax\"``; for a factor ``\"reference\"`` (each\n"
                     "    level against the first), ``\"sequential\"``, ``\"pairwise\"``, their ``\"rev\"`` forms, or two levels."),
    "class_": "class_ : str, default ``\"b\"``\n    The parameter class, brms's ``class`` (``b``, ``Intercept``, ``sd``, ``sigma``, ...).",
    "coef": "coef : str, optional\n    The coefficient within the class (``\"Days\"``); empty for the whole class.",
    "group": "group : str, optional\n    The grouping factor (``\"Subject\"``) of class ``sd`` or ``cor``; empty for all.",
    "dpar_prior": ("dpar : str, optional\n"
                   "    The distributional parameter the prior's coefficients belong to (``\"sigma\"``);\n"
                   "    empty for ``mu``."),
    "variable": ("variable : str or sequence of str, optional\n"
                 "    Variables to show, by name (or by regular expression with ``regex=True``); brms's\n"
                 "    defaults (``b_``, ``sd_``, ``cor_``, the family's parameters) when None."),
    "regex": "regex : bool, default False\n    Whether ``variable`` holds regular expressions.",
    "N": "N : int, default 5\n    The most parameters (rows of panels) per figure.",
    "R2": "pandas.DataFrame\n    One row ``R2``, or with ``summary=False`` the draws in a column ``R2``.",
    "loo_result": ("loo : LooResult, optional\n"
                   "    The PSIS-LOO result to improve; the one :func:`brmc.add_criterion` stored on the fit\n"
                   "    when None."),
    "scored_rows": ("newdata : pandas.DataFrame, optional\n"
                    "    Rows to score instead of the training rows (brms's ``newdata``: a ``mi()`` fit's complete\n"
                    "    rows, ``loo(fit, newdata = na.omit(data))``); see :func:`brmc.loglik.log_lik`.\n"
                    "resp : str or list of str, optional\n"
                    "    The responses of a multivariate fit to score (all when None), as brms's ``resp``."),
    "LooResult": ("LooResult\n"
                  "    ``estimates`` (``elpd_loo``, ``p_loo``, ``looic``), ``pointwise`` and Pareto k;\n"
                  "    ``print()`` gives loo's text."),
}

_PLACEHOLDER = re.compile(r"(?P<indent>[ \t]*)\{(?P<name>\w+)\}")


def shared(function: F) -> F:
    """Fill the ``{name}`` lines of ``function``'s docstring from :data:`PARAMETERS`.

    Parameters
    ----------
    function : callable
        A function or method whose docstring has placeholder lines.

    Returns
    -------
    callable
        The same function, its ``__doc__`` filled in.
    """
    lines = []
    for line in (function.__doc__ or "").split("\n"):
        match = _PLACEHOLDER.fullmatch(line)
        if match is None:
            lines.append(line)
            continue
        indent = match["indent"]
        lines += [indent + part if part else part for part in PARAMETERS[match["name"]].split("\n")]
    function.__doc__ = "\n".join(lines)
    return function


def method_of(function: Callable) -> Callable:
    """``function(fit, ...)`` as a method of :class:`brmc.Fit`: the same arguments after
    ``fit``, the same docstring without its ``fit`` entry and with examples that call
    ``fit.<name>(...)``.

    Parameters
    ----------
    function : callable
        A function whose first argument is the fit.

    Returns
    -------
    callable
        The method.

    Example:
        >>> def nobs(fit, twice=False):
        ...     '''Parameters
        ...     ----------
        ...     fit : Fit
        ...         A fit.
        ...     twice : bool
        ...         Double it.
        ...
        ...     >>> nobs(fit)
        ...     '''
        >>> method = method_of(nobs)
        >>> str(inspect.signature(method)), method.__doc__.split()[2:7]
        ('(self, twice=False)', ['twice', ':', 'bool', 'Double', 'it.'])
        >>> method.__doc__.split()[-1]
        'fit.nobs()'
    """
    name = function.__name__

    def method(self, *args, **kwargs):
        return function(self, *args, **kwargs)

    signature = inspect.signature(function)
    first, *rest = signature.parameters.values()
    method.__signature__ = signature.replace(parameters=[first.replace(name="self", annotation=inspect.Parameter.empty),
                                                         *rest])
    # the function's module, so that doctest runs the examples once, as the function's
    method.__name__, method.__qualname__, method.__module__ = name, f"Fit.{name}", function.__module__
    doc = re.sub(rf"^([ \t]*){first.name} : .*\n(?:\1[ \t]+.*\n)*", "", function.__doc__ or "", count=1,
                 flags=re.MULTILINE)
    doc = re.sub(rf"\b{name}\({first.name}\)", f"fit.{name}()", doc)
    method.__doc__ = re.sub(rf"\b{name}\({first.name}, ", f"fit.{name}(", doc)
    return method
