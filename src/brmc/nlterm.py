"""brms's non-linear formulas in the formula tree: ``bf(..., nl = TRUE)``.

``bf("cum ~ ult * (1 - exp(-(dev / theta)^omega))", "ult ~ 1 + (1 | AY)", "omega ~ 1", "theta ~ 1",
nl=True)`` keeps the response and addition terms of the main formula as the linear parser reads
them, and its right-hand side as an expression of :mod:`brmc.nonlinear` (parsed, never given to
Python's ``eval``): one :class:`NonlinearTerm` of ``mu``'s predictor.  Each name of the expression
with a formula of its own is a non-linear parameter (an *nlpar*), whose formula is an ordinary
linear predictor (population and group-level terms, smooths, ...); every other name is a data
column (a *covariate*).  Formulas of ``bf()`` the expression does not use are distributional
parameters (``sigma ~ x``), checked against the family when the model is built
(:func:`dpar_formulas`).

Examples
--------
>>> f = bf("y ~ a * exp(b * x)", "a ~ 1 + (1 | g)", "b ~ 1", nl=True)
>>> term = f.of_kind("nl")[0]
>>> list(term.nlpars), term.variables, f.lines()
(['a', 'b'], ['x'], ['y ~ a * exp(b * x)', 'a ~ 1 + (1 | g)', 'b ~ 1'])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from . import formula as linear
from .errors import FormulaError
from .families import Family
from .formula import BrmsFormula, PopulationTerm, Predictor, Term
from .lexer import Expr, Token, depth0, join_tokens, tokenize
from .nlformula import LinearFormulas, NonlinearFormula, lf, nlf  # noqa: F401  (brms's helpers, beside bf)
from .nonlinear import Expression, parse_expression

if TYPE_CHECKING:
    from .data import LinearPredictor


@dataclass(frozen=True, eq=False)
class NonlinearTerm(Term):
    """The right-hand side of a non-linear formula: its expression and the formulas of the
    non-linear parameters it uses, in the order ``bf()`` was given them."""

    expression: Expression
    nlpars: dict[str, Predictor]
    kind = "nl"

    @property
    def variables(self) -> list[str]:
        """Its covariates: the names of the expression that are not non-linear parameters."""
        return self.expression.covariates(self.nlpars)

    @property
    def role(self) -> str:
        return f"non-linear formula {str(self)!r}"

    def __str__(self) -> str:
        return self.expression.text.strip()


def bf(formula: str, *pforms: str | LinearFormulas | NonlinearFormula, nl: bool = False,
       **dpar_formulas: str) -> BrmsFormula:
    """brms's ``bf()``: the main formula plus a formula per distributional (or non-linear) parameter.

    Parameters
    ----------
    formula : str
        The main formula, ``response ~ predictors``; with ``nl=True`` its right-hand side is a
        non-linear expression of parameters and data columns (``y ~ a * exp(b * x)``).
    *pforms : str, LinearFormulas or NonlinearFormula
        Formulas with the parameter on the left (``"sigma ~ x"``, ``"a ~ 1 + (1 | g)"``),
        :func:`~brmc.nlformula.lf` of several, or :func:`~brmc.nlformula.nlf` of a distributional
        parameter given by a non-linear expression (``nlf("sigma ~ a * exp(b * x)")``).
    nl : bool, default False
        Whether the main formula is non-linear (brms's ``nl = TRUE``).
    **dpar_formulas : str
        Distributional formulas as keywords with their right-hand side (``sigma="~ x"``).

    Returns
    -------
    BrmsFormula

    Raises
    ------
    FormulaError
        A non-linear formula without non-linear parameters, or one that is not an expression.

    Examples
    --------
    >>> bf("Reaction ~ Days", sigma="~ Days").lines()
    ['Reaction ~ Days', 'sigma ~ Days']
    >>> bf("y ~ a * exp(b * x)", lf("a + b ~ 1"), nl=True).lines()
    ['y ~ a * exp(b * x)', 'a ~ 1', 'b ~ 1']
    >>> bf("y ~ x", nlf("sigma ~ a * exp(b * x)"), "a ~ 1", "b ~ 1").lines()
    ['y ~ x', 'a ~ 1', 'b ~ 1', 'sigma ~ a * exp(b * x)']
    """
    texts: list[str] = []
    nlfs = [pform for pform in pforms if isinstance(pform, NonlinearFormula)]
    for pform in (p for p in pforms if not isinstance(p, NonlinearFormula)):
        if isinstance(pform, LinearFormulas) and (pform.center, pform.cmc) != (None, None):
            raise FormulaError("lf(center=..., cmc=...) is not supported yet; leave them out (a non-linear "
                               "parameter's design is not centred, as brms's default).")
        texts += [f"{name} ~ {rhs}" for name, rhs in pform.formulas.items()] \
            if isinstance(pform, LinearFormulas) else [pform]
    parsed = _nonlinear(formula, texts, dpar_formulas) if nl else linear.bf(formula, *texts, **dpar_formulas)
    for f in nlfs:
        if f.par in parsed.pforms:
            raise FormulaError(f"The parameter {f.par!r} has more than one formula in bf().")
        taken = {n for term in nonlinear_terms(parsed) for n in term.nlpars}
        predictor = _predictor(f"{f.par} ~ {f.expression.text.strip()}", f.expression, parsed.pforms, taken)
        parsed = replace(parsed, pforms={**parsed.pforms, f.par: predictor})
    return parsed


def _predictor(text: str, expression: Expression, candidates: dict[str, Predictor],
               taken: set[str]) -> Predictor:
    """A non-linear formula's predictor: no linear terms, one :class:`NonlinearTerm` whose nlpars are the
    ``candidates`` it uses; a name another non-linear formula uses as nlpar is refused (``taken``)."""
    used = expression.names()
    shared = [name for name in used if name in taken]
    if shared:
        raise FormulaError(f"The non-linear parameter {shared[0]!r} is used by two non-linear formulas; "
                           "that is not supported yet (give each formula its own parameters).")
    nlpars = {name: form for name, form in candidates.items() if name in used}
    if not nlpars:
        raise FormulaError(
            f"No non-linear parameters specified in {text.strip()!r}: give each parameter of the expression a "
            f"formula, e.g. '{next(iter(used), 'a')} ~ 1' in bf().")
    none = PopulationTerm(Expr([Token("number", "0", -1)]))  # no linear terms of its own
    return Predictor(text=join_tokens(tokenize(text)), terms=[none, NonlinearTerm(expression, nlpars)], source=text)


def _nonlinear(text: str, pforms: list[str], dpar_formulas: dict[str, str]) -> BrmsFormula:
    """The main formula read as brms reads it with ``nl = TRUE``."""
    if not isinstance(text, str):
        raise FormulaError(f"The formula must be a string, not {type(text).__name__}.")
    tokens = tokenize(text)
    tildes = [t for t in depth0(tokens) if t.text == "~"]
    if len(tildes) != 1:
        raise FormulaError(f"A non-linear formula needs exactly one '~' between response and expression: {text!r}")
    lhs, rhs = text[: tildes[0].pos], text[tildes[0].pos + 1 :]
    # the response, its addition terms and the other formulas as the linear parser reads them
    base = linear.bf(f"{lhs} ~ 1", *pforms, **dpar_formulas)
    main = _predictor(text, parse_expression(rhs), base.pforms, set())
    return BrmsFormula(**vars(main), response=base.response, additions=base.additions, pforms=base.pforms)


def nonlinear_terms(formula: BrmsFormula) -> list[NonlinearTerm]:
    """The non-linear formulas of ``formula``: the main one's (``nl=True``), then those of ``nlf()``.

    Parameters
    ----------
    formula : BrmsFormula
        The parsed formula.

    Returns
    -------
    list of NonlinearTerm

    Examples
    --------
    >>> [str(t) for t in nonlinear_terms(bf("y ~ x", nlf("sigma ~ a * x"), "a ~ 1"))]
    ['a * x']
    """
    return [term for part in [formula, *formula.pforms.values()] for term in part.of_kind("nl")]


def check_covariates(formula: BrmsFormula, columns: Iterable[str]) -> None:
    """Refuse a name of a non-linear formula that has no formula of its own and is no data column.

    Parameters
    ----------
    formula : BrmsFormula
        The parsed formula.
    columns : iterable of str
        The data's columns.

    Raises
    ------
    FormulaError
        Naming the name and the parameters that have formulas.

    Examples
    --------
    >>> check_covariates(bf("y ~ a * x", "a ~ 1", nl=True), ["x", "y"])
    """
    for term in nonlinear_terms(formula):
        term.expression.check_names(term.nlpars, columns)


def dpar_formulas(formula: BrmsFormula, family: Family) -> dict[str, Predictor]:
    """The formulas of ``bf()`` that are distributional parameters (all of them but a non-linear
    formula's parameters), each checked: a formula neither used by the non-linear formula nor of a
    parameter of ``family``, or a non-linear parameter named as one of the family's, is refused.

    Parameters
    ----------
    formula : BrmsFormula
        The parsed formula.
    family : Family
        The model's family.

    Returns
    -------
    dict of str to Predictor

    Raises
    ------
    FormulaError
        Naming the formula.

    Examples
    --------
    >>> from brmc.families import get_family
    >>> list(dpar_formulas(bf("y ~ a * x", "a ~ 1", "sigma ~ x", nl=True), get_family("gaussian")))
    ['sigma']
    """
    terms = nonlinear_terms(formula)
    if not terms:
        return formula.pforms
    names = [d.name for d in family.dpars]
    nlpars = {nlpar: term for term in terms for nlpar in term.nlpars}
    for name, term in nlpars.items():
        if name in names:
            raise FormulaError(
                f"The non-linear parameter {name!r} of {str(term)!r} has the name of a distributional parameter "
                f"of family {family.name!r} ({', '.join(names)}); give it another name.")
    for name in formula.pforms:
        if name not in nlpars and name not in names:
            raise FormulaError(
                f"The parameter {name!r} is not a valid distributional or non-linear parameter: no non-linear "
                f"formula ({', '.join(repr(str(t)) for t in terms)}) uses it, and family {family.name!r} has no "
                f"parameter of that name ({', '.join(names) or 'none'}).")
    return {name: form for name, form in formula.pforms.items() if name not in nlpars}


def nested(lp: LinearPredictor) -> list[LinearPredictor]:
    """The predictors of the non-linear parameters nested in ``lp`` (none unless it is a non-linear
    formula's; see :mod:`brmc.terms.nl`).

    Parameters
    ----------
    lp : LinearPredictor
        A predictor of the model.

    Returns
    -------
    list of LinearPredictor
    """
    part = lp.parts.get("nl")
    return list(part.predictors.values()) if part is not None else []
