"""brms 2.18's multivariate formulas as data: ``mvbind()``, ``mvbf()``, ``set_rescor()``, and the
residual-correlation likelihood.

- :func:`split_mvbind` is brms's ``split_bf``: ``mvbind(y1, y2) | weights(w) ~ x`` becomes one
  formula per response (``y1 | weights(w) ~ x``, ``y2 | weights(w) ~ x``);
- :func:`mvbf` and ``+`` collect per-response formulas into a :class:`MultivariateFormula`;
  ``mvf + set_rescor(False)`` sets ``rescor``, and :meth:`MultivariateFormula.resolve_rescor`
  applies brms's default and checks (``rescor`` for gaussian or student only, one family);
- :func:`multi_normal_rescor_lpdf` is brms's ``multi_normal_cholesky_lpdf(Y | Mu,
  diag_pre_multiply(sigma, Lrescor))`` as a PyTensor graph (:func:`multi_student_rescor_lpdf` the
  student one), :func:`rescor_names` / :func:`rescor_values` its ``rescor__y1__y2`` parameters.

Examples
--------
>>> f = mvbf("mvbind(english, math) ~ craven + (1 | p | school)") + set_rescor(True)
>>> f.responses, f.rescor
(['english', 'math'], True)
>>> f.forms["math"]
'math ~ craven + (1 | p | school)'
>>> rescor_names(f.responses)
['rescor__english__math']
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.tensor.slinalg import solve_triangular

from .errors import FamilyError, FormulaError
from .lexer import Token, split_top, tokenize
from .naming import correlation_matrices

#: families whose multivariate models can estimate residual correlations (brms's ``has_rescor``).
RESCOR_FAMILIES = ("gaussian", "student")
_LOG_2PI = float(np.log(2 * np.pi))


def real_tensor(values: Any) -> pt.TensorVariable:
    """``values`` as a tensor; Python and NumPy numbers become float64 (PyTensor's own conversion
    makes ``1e8`` or ``0.5`` a float32 constant).

    Parameters
    ----------
    values : number, array or tensor
        A tensor is returned as it is.

    Returns
    -------
    pytensor.tensor.TensorVariable

    Examples
    --------
    >>> real_tensor(0.5).dtype
    'float64'
    """
    if isinstance(values, pytensor.graph.basic.Variable):
        return values
    return pt.as_tensor_variable(np.asarray(values, dtype=float))


def resp_name(response: str) -> str:
    """brms's ``make_stan_names``: the response as used in parameter names (``.`` and ``_`` dropped).

    Parameters
    ----------
    response : str
        The response variable.

    Returns
    -------
    str

    Examples
    --------
    >>> resp_name("score_1.a")
    'score1a'
    """
    return re.sub(r"[._]", "", re.sub(r"[^\w.]", ".", response))


def _lhs(text: str) -> tuple[list[Token], int]:
    """The left-hand side's tokens and the position of the ``~``."""
    tokens = tokenize(text)
    tildes = [i for i, tok in enumerate(tokens) if tok.text == "~"]
    if len(tildes) != 1 or tildes[0] == 0:
        raise FormulaError(f"{text!r} must have the form 'response ~ predictors' (one '~').")
    return tokens[: tildes[0]], tokens[tildes[0]].pos


def has_mvbind(formula: str) -> bool:
    """Whether a formula's response is ``mvbind(...)`` (seen without tokenizing the formula).

    Parameters
    ----------
    formula : str

    Returns
    -------
    bool

    Examples
    --------
    >>> has_mvbind("mvbind(y1, y2) ~ x"), has_mvbind("y ~ mvbind")
    (True, False)
    """
    return bool(re.match(r"\s*mvbind\s*\(", formula))


def split_mvbind(formula: str) -> list[str]:
    """One formula per response of ``mvbind(...)`` (brms's ``split_bf``); other formulas unchanged.

    Parameters
    ----------
    formula : str
        E.g. ``"mvbind(y1, y2) | weights(w) ~ x"``.

    Returns
    -------
    list of str
        The formulas, the addition terms and right-hand side repeated for each response.

    Raises
    ------
    FormulaError
        ``mvbind`` with a non-name argument, fewer than two responses, or a response twice.

    Examples
    --------
    >>> split_mvbind("mvbind(y1, y2) | weights(w) ~ x")
    ['y1 | weights(w) ~ x', 'y2 | weights(w) ~ x']
    >>> split_mvbind("y ~ x")
    ['y ~ x']
    """
    lhs, tilde = _lhs(formula)
    if not (len(lhs) >= 3 and lhs[0].text == "mvbind" and lhs[1].text == "("):
        return [formula]
    depth, close = 0, None
    for i, tok in enumerate(lhs[1:], start=1):
        depth += (tok.text == "(") - (tok.text == ")")
        if depth == 0:
            close = i
            break
    if close is None:
        raise FormulaError(f"Unclosed 'mvbind(' in {formula!r}.")
    rest = formula[lhs[close].pos + 1 : tilde].strip()
    if rest and not rest.startswith("|"):
        raise FormulaError(f"Only addition terms ('| ...') may follow mvbind(...) in {formula!r}.")
    args = split_top(lhs[2:close], ",")
    names = []
    for arg in args:
        if len(arg) != 1 or arg[0].kind != "name":
            shown = " ".join(t.text for t in arg) or "nothing"
            raise FormulaError(f"mvbind() takes response variables (names), not {shown!r}, in {formula!r}.")
        names.append(arg[0].text)
    if len(names) < 2:
        raise FormulaError(f"mvbind() needs at least two responses in {formula!r}; "
                           "multivariate models require at least two responses.")
    if len(set(names)) < len(names):
        raise FormulaError(f"Cannot use the same response variable twice in the same model ({formula!r}).")
    additions = f" {rest}" if rest else ""
    rhs = formula[tilde + 1 :].strip()
    return [f"{name}{additions} ~ {rhs}" for name in names]


def _response_of(form: Any) -> str:
    """The response of a formula given as text (``y | se(s) ~ x``) or by an object with ``.response``."""
    if isinstance(form, str):
        lhs, _ = _lhs(form)
        head = split_top(lhs, "|")[0]
        if len(head) != 1 or head[0].kind != "name":
            raise FormulaError(f"The response of {form!r} must be one variable; use mvbind() for several.")
        return head[0].text.strip("`")
    response = getattr(form, "response", None)
    if not isinstance(response, str):
        raise FormulaError(f"mvbf() takes formulas, not {type(form).__name__}.")
    return response


@dataclass(frozen=True)
class SetRescor:
    """``set_rescor(TRUE/FALSE)``, to be added to a multivariate formula.

    Parameters
    ----------
    rescor : bool
        Estimate residual correlations.
    """

    rescor: bool

    def __radd__(self, other: Any) -> MultivariateFormula:
        if isinstance(other, MultivariateFormula):
            return other + self
        raise FormulaError("Setting 'rescor' is only possible in multivariate models.")


def set_rescor(rescor: bool = True) -> SetRescor:
    """brms's ``set_rescor()``.

    Parameters
    ----------
    rescor : bool
        Estimate residual correlations between the responses.

    Returns
    -------
    SetRescor

    Raises
    ------
    FormulaError
        A value other than True or False.

    Examples
    --------
    >>> (mvbf("y1 ~ x", "y2 ~ z") + set_rescor(False)).rescor
    False
    """
    if not isinstance(rescor, (bool, np.bool_)):
        raise FormulaError(f"set_rescor() takes TRUE or FALSE (True or False), not {rescor!r}.")
    return SetRescor(bool(rescor))


@dataclass(frozen=True)
class MultivariateFormula:
    """brms's ``mvbrmsformula``: one formula per response and the ``rescor`` setting.

    Parameters
    ----------
    forms : dict
        Response (brms's ``resp`` name) → its formula (text, or the object it was given as).
    rescor : bool or None
        ``None`` until set: brms then decides by the families (:meth:`resolve_rescor`).
    """

    forms: dict[str, Any] = field(default_factory=dict)
    rescor: bool | None = None

    @property
    def responses(self) -> list[str]:
        """The responses' names, in order."""
        return list(self.forms)

    def lines(self) -> list[str]:
        """The formulas as brms's summary prints them: each response's (every main formula but the
        first, which the summary's ``Formula:`` line ends, with brms's trailing space)."""
        out = []
        for form in self.forms.values():
            own = form.lines() if hasattr(form, "lines") else [str(form)]
            out += [f"{own[0]} " if out else own[0], *own[1:]]
        return out

    def __add__(self, other: Any) -> MultivariateFormula:
        if isinstance(other, SetRescor):
            return replace(self, rescor=other.rescor)
        if isinstance(other, MultivariateFormula):
            raise FormulaError("Cannot add two multivariate formulas together; add the individual "
                               "formulas directly.")
        return mvbf(self, other)

    def __radd__(self, other: Any) -> MultivariateFormula:
        return mvbf(other, self)

    def resolve_rescor(self, families: Sequence[str], has_mi: bool = False) -> bool:
        """brms's ``validate_formula`` for ``rescor``: the default, and the families check.

        Parameters
        ----------
        families : sequence of str
            The family name of each response.
        has_mi : bool
            Whether any response uses ``mi()`` (brms then defaults to no ``rescor``).

        Returns
        -------
        bool

        Raises
        ------
        FamilyError
            ``rescor`` set to True for families other than one of gaussian or student.

        Examples
        --------
        >>> mvbf("y1 ~ x", "y2 ~ x", rescor=False).resolve_rescor(["poisson", "gaussian"])
        False
        """
        allowed = len(set(families)) == 1 and families[0] in RESCOR_FAMILIES
        if self.rescor is None:
            rescor = allowed and not has_mi
            warnings.warn(f"Setting 'rescor' to {str(rescor).upper()} by default for this model. In the future "
                          "brms sets it to FALSE by default; set it with set_rescor().", UserWarning, stacklevel=2)
            return rescor
        if self.rescor and not allowed:
            raise FamilyError("Currently, estimating 'rescor' is only possible in multivariate gaussian or "
                              f"student models (the families here: {', '.join(families)}).")
        return self.rescor


def mvbf(*forms: Any, rescor: bool | None = None) -> MultivariateFormula:
    """brms's ``mvbf()``: formulas for several responses (``mvbind`` formulas are split).

    Parameters
    ----------
    *forms : str, formula objects or MultivariateFormula
        One or more formulas; a ``MultivariateFormula`` contributes its formulas (and its
        ``rescor`` when none is given here).
    rescor : bool, optional
        Estimate residual correlations.

    Returns
    -------
    MultivariateFormula

    Raises
    ------
    FormulaError
        No formulas, or a response twice.

    Examples
    --------
    >>> mvbf("y1 ~ x", "y2 ~ z + (1 | g)").forms
    {'y1': 'y1 ~ x', 'y2': 'y2 ~ z + (1 | g)'}
    """
    if not forms:
        raise FormulaError("No formulas passed to mvbf().")
    collected: dict[str, Any] = {}
    for form in forms:
        if isinstance(form, MultivariateFormula):
            parts = list(form.forms.values())
            rescor = form.rescor if rescor is None else rescor
        else:
            parts = split_mvbind(form) if isinstance(form, str) else [form]
        for part in parts:
            resp = resp_name(_response_of(part))
            if resp in collected:
                raise FormulaError("Cannot use the same response variable twice in the same model "
                                   f"({resp!r}).")
            collected[resp] = part
    if rescor is not None and not isinstance(rescor, (bool, np.bool_)):
        raise FormulaError(f"rescor must be True or False, not {rescor!r}.")
    return MultivariateFormula(collected, None if rescor is None else bool(rescor))


def rescor_names(responses: Sequence[str]) -> list[str]:
    """brms's names of the residual correlations: ``rescor__<j>__<k>`` for j before k, by k.

    Parameters
    ----------
    responses : sequence of str
        The responses' names, in order.

    Returns
    -------
    list of str

    Examples
    --------
    >>> rescor_names(["a", "b", "c"])
    ['rescor__a__b', 'rescor__a__c', 'rescor__b__c']
    """
    return [f"rescor__{responses[j]}__{responses[k]}" for k in range(len(responses)) for j in range(k)]


def rescor_matrices(posterior: Any, responses: Sequence[str]) -> np.ndarray:
    """The residual correlation matrix of each draw, from its ``rescor__<j>__<k>`` draws.

    Parameters
    ----------
    posterior : xarray.Dataset
        brms's draws (chain, draw).
    responses : sequence of str
        The responses, in order.

    Returns
    -------
    numpy.ndarray
        (chain, draw, R, R).

    Examples
    --------
    >>> import xarray as xr
    >>> post = xr.Dataset({"rescor__a__b": (("chain", "draw"), np.full((1, 2), 0.3))})
    >>> rescor_matrices(post, ["a", "b"])[0, 0].tolist()
    [[1.0, 0.3], [0.3, 1.0]]
    """
    return correlation_matrices(posterior, len(responses), rescor_names(responses))


def rescor_values(l_rescor: Any, nresp: int | None = None) -> pt.TensorVariable:
    """brms's generated ``rescor``: the correlations ``Rescor[j, k]`` of ``Lrescor Lrescor'`` in
    :func:`rescor_names`'s order.

    Parameters
    ----------
    l_rescor : tensor, shape (R, R)
        Cholesky factor of the residual correlation matrix.
    nresp : int, optional
        R, where ``l_rescor``'s shape is not static.

    Returns
    -------
    pytensor.tensor.TensorVariable, shape (R (R - 1) / 2,)

    Examples
    --------
    >>> import numpy as np
    >>> rescor_values(np.linalg.cholesky(np.array([[1.0, 0.3], [0.3, 1.0]]))).eval().round(6)
    array([0.3])
    """
    l_rescor = real_tensor(l_rescor)
    size = int(nresp if nresp is not None else l_rescor.type.shape[0])
    rows = [j for k in range(size) for j in range(k)]
    cols = [k for k in range(size) for _ in range(k)]
    return pt.dot(l_rescor, l_rescor.T)[rows, cols]


def multi_normal_rescor_lpdf(y: Any, mu: Any, sigma: Any, l_rescor: Any, weights: Any = None) -> pt.TensorVariable:
    """``multi_normal_cholesky_lpdf(Y | Mu, diag_pre_multiply(sigma, Lrescor))`` summed over rows
    (each row's times its weight with ``weights()``: brms's ``weights[n] * multi_normal_cholesky_lpdf(Y[n] | ...)``).

    Parameters
    ----------
    y, mu : array or tensor, shape (N, R)
        Responses and their predictors, one column per response.
    sigma : array or tensor, shape (R,) or (N, R)
        Residual standard deviations (per row when ``sigma`` is predicted).
    l_rescor : tensor, shape (R, R)
        Cholesky factor of the residual correlation matrix.
    weights : array or tensor, shape (N,), optional
        A weight per row.

    Returns
    -------
    pytensor.tensor.TensorVariable
        The summed log density.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(multi_normal_rescor_lpdf(np.zeros((1, 2)), np.zeros((1, 2)), np.ones(2), np.eye(2)).eval()), 4)
    -1.8379
    """
    z, log_sigma = _standardise(y, mu, sigma, weights)
    return std_mvn_cholesky_lpdf(z.T, real_tensor(l_rescor), weights) - log_sigma


def multi_student_rescor_lpdf(y: Any, nu: Any, mu: Any, sigma: Any, l_rescor: Any,
                              weights: Any = None) -> pt.TensorVariable:
    """brms's student ``rescor`` likelihood: ``multi_student_t_lpdf(Y | nu, Mu, Sigma)`` summed over rows,
    ``Sigma = diag(sigma) Lrescor Lrescor' diag(sigma)``.

    Parameters
    ----------
    y, mu : array or tensor, shape (N, R)
        Responses and their predictors.
    nu : scalar tensor
        Degrees of freedom.
    sigma : array or tensor, shape (R,) or (N, R)
        Scales.
    l_rescor : tensor, shape (R, R)
        Cholesky factor of the residual correlation matrix.

    Returns
    -------
    pytensor.tensor.TensorVariable

    Examples
    --------
    >>> import numpy as np
    >>> round(float(multi_student_rescor_lpdf(np.zeros((1, 2)), 1e8, np.zeros((1, 2)), np.ones(2), np.eye(2)).eval()), 4)
    -1.8379
    """
    z, log_sigma = _standardise(y, mu, sigma, weights)
    return std_mvt_cholesky_lpdf(z.T, nu, real_tensor(l_rescor), weights) - log_sigma


def _standardise(y: Any, mu: Any, sigma: Any, weights: Any = None) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """``(y - mu) / sigma`` and the sum of ``log(sigma)`` over all its entries (each row's times its weight)."""
    y, mu = real_tensor(y), real_tensor(mu)
    sigma_all = real_tensor(sigma) * pt.ones_like(y)
    log_sigma = pt.log(sigma_all) if weights is None else pt.log(sigma_all) * real_tensor(weights)[:, None]
    return (y - mu) / sigma_all, pt.sum(log_sigma)


#: the largest static size whose triangular solve is written out row by row
UNROLLED_SOLVE = 4


def _squared_norms(z: Any, chol: Any) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Per column of ``z``: ``|chol^-1 z|^2``; and ``log det chol``.

    Up to :data:`UNROLLED_SOLVE` rows (the responses of a ``rescor`` model) the forward
    substitution is written out as elementwise operations: XLA's triangular solve and its
    gradient on CPU cost 26 times the rest of mv_jsp's density (8.0 ms against 0.3 ms per
    gradient at 953 rows), the written-out one next to nothing.
    """
    z, chol = real_tensor(z), real_tensor(chol)
    size = chol.type.shape[0]
    if size is not None and size <= UNROLLED_SOLVE:
        rows: list[pt.TensorVariable] = []
        for i in range(size):
            rest = z[i] - sum((chol[i, j] * rows[j] for j in range(i)), pt.zeros_like(z[i]))
            rows.append(rest / chol[i, i])
        norms = sum((r**2 for r in rows[1:]), rows[0] ** 2)
    else:
        norms = pt.sum(solve_triangular(chol, z, lower=True) ** 2, axis=0)
    return norms, pt.sum(pt.log(pt.diagonal(chol)))


def _weighted_sum(terms: pt.TensorVariable, weights: Any) -> pt.TensorVariable:
    return pt.sum(terms if weights is None else terms * real_tensor(weights))


def std_mvn_cholesky_lpdf(z: Any, chol: Any, weights: Any = None) -> pt.TensorVariable:
    """Sum of ``multi_normal_cholesky_lpdf(z[:, i] | 0, chol)`` over the columns of ``z``.

    The building block of the correlated-residual likelihoods (``rescor``, ``cosy()``, ARMA with
    ``cov = TRUE``): residuals already divided by their ``sigma``, whose log the caller subtracts.

    Parameters
    ----------
    z : tensor, shape (R, M)
        M standardised residual vectors as columns.
    chol : tensor, shape (R, R)
        Lower Cholesky factor of their correlation (or covariance) matrix.
    weights : array or tensor, shape (M,), optional
        A weight per column.

    Returns
    -------
    pytensor.tensor.TensorVariable

    Examples
    --------
    >>> import numpy as np
    >>> round(float(std_mvn_cholesky_lpdf(np.zeros((2, 1)), np.eye(2)).eval()), 4)
    -1.8379
    """
    norms, log_det = _squared_norms(z, chol)
    dim = real_tensor(z).shape[0]
    return _weighted_sum(-0.5 * norms - log_det - 0.5 * _LOG_2PI * dim, weights)


def std_mvt_cholesky_lpdf(z: Any, nu: Any, chol: Any, weights: Any = None) -> pt.TensorVariable:
    """Sum of ``multi_student_t_lpdf(z[:, i] | nu, 0, chol chol')`` over the columns of ``z``.

    Parameters
    ----------
    z : tensor, shape (R, M)
        Standardised residual vectors as columns.
    nu : scalar tensor
        Degrees of freedom.
    chol : tensor, shape (R, R)
        Lower Cholesky factor of the scale matrix.
    weights : array or tensor, shape (M,), optional
        A weight per column.

    Returns
    -------
    pytensor.tensor.TensorVariable

    Examples
    --------
    >>> import numpy as np
    >>> round(float(std_mvt_cholesky_lpdf(np.zeros((1, 1)), 1.0, np.eye(1)).eval()), 4)  # Cauchy at 0
    -1.1447
    """
    norms, log_det = _squared_norms(z, chol)
    dim = real_tensor(z).shape[0]
    nu = real_tensor(nu)
    const = pt.gammaln((nu + dim) / 2) - pt.gammaln(nu / 2) - 0.5 * dim * pt.log(nu * np.pi)
    return _weighted_sum(const - log_det - (nu + dim) / 2 * pt.log1p(norms / nu), weights)
