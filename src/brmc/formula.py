"""brms formula syntax → a parsed :class:`BrmsFormula` (no data involved).

The parser splits a formula such as ``"m | trials(n) ~ x + (1 + x | g1/g2)"``
into the response, its addition terms, the population-level part (handed to
``formulae`` later) and the group-level blocks, expanding ``g1/g2`` into
``g1`` and ``g1:g2`` as lme4 and brms do.  It translates the R spellings users
paste (``I(x^2)``, ``factor(x)``) and refuses, with the position of the
problem, what it cannot honour, including any attempt to run code.

Example:
    >>> f = parse_formula("Reaction ~ Days + (Days | Subject)")
    >>> f.response, f.population, [(g.expr, g.group, g.correlated) for g in f.group_terms]
    ('Reaction', 'Days', [('Days', 'Subject', True)])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .categories import cbind_columns  # mm()'s weights and a matrix response are cbind()
from .errors import FormulaError
from .group_calls import GROUP_CALLS, GroupOptions, Members, group_call_arguments, parse_group_call, refuse_group_calls_outside
from .multivariate import MultivariateFormula, SetRescor, has_mvbind, mvbf, split_mvbind
from .lexer import (Expr, Token, check_operands, check_parentheses, check_structure, depth0, join_tokens, matching,
                    position_of, split_top, tokenize)
from .term_calls import (INTERACTING_CALLS, TERM_CALLS, call_piece, is_call, refuse_calls_inside,  # noqa: F401
                         option_literal, term_call_arguments, term_pieces)

#: functions a formula may call; anything else is refused before evaluation.
SAFE_FUNCTIONS: frozenset[str] = frozenset(
    {
        # formulae's transforms and brms/R spellings we translate
        "I", "C", "center", "scale", "standardize", "poly", "bs", "factor", "as.factor",
        "offset",  # a term of its own (TERM_CALLS)
        # elementwise maths
        "log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "abs", "sin", "cos", "tan",
        "round", "floor", "ceiling", "inv_logit", "logit",
    }
)
#: R functions that formulae knows under another name (it reads no '.' in names, and its own
#: ``scale`` divides by the sd with n rather than R's n - 1).
FORMULAE_SPELLINGS: dict[str, str] = {"as.factor": "as__factor", "scale": "r__scale"}
#: addition terms brms accepts on the left-hand side.
ADDITION_TERMS: frozenset[str] = frozenset(
    {"trials", "weights", "cens", "se", "trunc", "subset", "rate", "thres", "mi", "dec", "cat", "index"}
)


class Term:
    """A term of the tree: one piece of a right-hand side of one kind (``kind``: ``"fe"``,
    ``"re"``, ``"offset"``, ...); :mod:`brmc.terms` has a module per kind that gives it data,
    parameters and its part of the linear predictor."""

    kind: str

    @property
    def variables(self) -> list[str]:
        """The names its expressions read from the data (or ``env``)."""
        raise NotImplementedError

    @property
    def factors(self) -> list[str]:
        """The data columns it groups by (none but for group terms)."""
        return []

    @property
    def role(self) -> str:
        """What it is called in messages about its data: ``predictor``, ``offset()``."""
        return str(self)


@dataclass(frozen=True)
class PopulationTerm(Term):
    """The population-level part of a predictor (``1 + Days``; ``1`` when only an intercept is
    left), evaluated as one design by formulae."""

    expr: Expr
    kind = "fe"
    role = "predictor"

    @property
    def variables(self) -> list[str]:
        return self.expr.variables


@dataclass(frozen=True)
class GroupTerm(Term):
    """``(expr | group)`` or, when ``correlated`` is False, ``(expr || group)``.

    Example:
        >>> GroupTerm(expr=Expr(tokenize("1 + Days")), group="Subject").factors
        ['Subject']
    """

    expr: Expr
    group: str
    correlated: bool = True
    #: the members of a multi-membership term ``(1 | mm(g1, g2))`` (:mod:`brmc.group_calls`)
    members: Members | None = None
    #: brms's ID of ``(1 | p | g)``: terms sharing it are correlated across predictors ("" : none)
    id: str = ""
    options: GroupOptions = field(default_factory=GroupOptions)  #: ``gr(g, by = , cov = , dist = )``
    kind = "re"

    @property
    def factors(self) -> list[str]:
        """The data columns that make the grouping factor (``school:class`` → two; an ``mm()``'s members)."""
        return list(self.members.groups) if self.members else self.group.split(":")

    @property
    def variables(self) -> list[str]:
        return self.expr.variables + list(self.members.weights if self.members else ()) + self.options.variables

    @property
    def role(self) -> str:
        return f"group-level term {self}"

    def __str__(self) -> str:
        bar = "|" if self.correlated else "||"
        return f"({self.expr} {bar} {f'{self.id} {bar} ' if self.id else ''}{self.group})"


@dataclass(frozen=True)
class CallTerm(Term):
    """A term written as a call of :data:`TERM_CALLS` (``offset(log(n))``): its kind, the
    call's name and its arguments."""

    kind: str
    name: str
    args: tuple[Expr, ...]
    #: the other factors of an interaction with the call (``mo(x):z``: ``z``)
    covariates: tuple[Expr, ...] = ()

    @property
    def variables(self) -> list[str]:
        return list(dict.fromkeys(n for a in (*self.args, *self.covariates) for n in a.variables))

    @property
    def role(self) -> str:
        return f"{self.name}()"

    def __str__(self) -> str:
        return ":".join([f"{self.name}({', '.join(self.args)})", *self.covariates])


@dataclass
class Predictor:
    """The right-hand side of one linear predictor as a list of terms: its population part
    (:class:`PopulationTerm`, always first), group-level terms, then terms of other kinds
    (an offset).

    ``text`` is the formula as brms prints it (``"sigma ~ Days"``); ``source`` and
    ``tokens`` the text as given and its tokens (kept so that the function names can be
    checked against a caller's ``env`` without parsing again).
    """

    text: str
    terms: list[Term]
    source: str = field(default="", compare=False, repr=False)
    tokens: tuple[Token, ...] = field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        return self.text

    def of_kind(self, kind: str) -> list[Term]:
        """Its terms of one kind, in formula order."""
        return [t for t in self.terms if t.kind == kind]

    @property
    def population(self) -> Expr:
        """The population part in formulae spelling (``"1"`` when only an intercept is left)."""
        return self.of_kind("fe")[0].expr

    @property
    def group_terms(self) -> list[GroupTerm]:
        return self.of_kind("re")

    @property
    def offset(self) -> Expr | str:
        """The expression of ``offset()``, ``""`` when there is none."""
        terms = self.of_kind("offset")
        return terms[0].args[0] if terms else ""

    @property
    def has_intercept(self) -> bool:
        """Whether the population part keeps its intercept (no ``0 +`` / ``- 1``)."""
        return self.population.has_intercept

    def predictor_variables(self, additions: dict[str, list[Expr]] | None = None) -> list[str]:
        """Names the right-hand side (and ``additions``) read from the data, in order of first use."""
        terms = self.terms
        names = terms[0].variables + [n for args in (additions or {}).values() for a in args for n in a.variables]
        names += [n for t in terms[1:] for n in t.variables] + [f for t in terms for f in t.factors]
        return list(dict.fromkeys(names))


@dataclass(kw_only=True)
class BrmsFormula(Predictor):
    """A parsed brms formula: the main formula (the predictor of ``mu``) with its
    response and addition terms, plus the distributional formulas of ``bf()``.

    ``additions`` maps an addition term's name to its arguments
    (``{"trials": ["n"]}``); ``pforms`` maps a distributional parameter to its
    :class:`Predictor` (``{"sigma": sigma ~ Days}``), in the order given.
    """

    response: Expr
    additions: dict[str, list[Expr]] = field(default_factory=dict)
    pforms: dict[str, Predictor] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The formulas as brms prints them: the main one, then one per distributional parameter."""
        return [self.text] + [p.text for p in self.pforms.values()]

    def variables(self) -> list[str]:
        """Names the formula reads from the data, in order of first use."""
        names = self.response.variables + self.predictor_variables(self.additions)
        names += [n for p in self.pforms.values() for n in p.predictor_variables()]
        return list(dict.fromkeys(names))

    def names(self) -> set[str]:
        """Every name written in the formulas (data columns, functions, ``env`` values)."""
        return {t.text for p in [self, *self.pforms.values()] for t in p.tokens if t.kind == "name"}

    def __add__(self, other: object) -> MultivariateFormula:
        """``bf("y1 ~ x") + bf("y2 ~ z")`` (or ``+ set_rescor(...)``): brms's multivariate formula."""
        return NotImplemented if isinstance(other, SetRescor) else mvbf(self, other)  # SetRescor refuses


_PREDICTORS = "on the right of '~'"


def _refuse_addition_calls(tokens: list[Token], text: str, place: str) -> None:
    """Addition terms (``trials(n)``, ``weights(w)``) belong after '|' in the response."""
    for tok, nxt in zip(tokens, tokens[1:]):
        if tok.kind == "name" and tok.text in ADDITION_TERMS and nxt.text == "(":
            if tok.text in TERM_CALLS and place == _PREDICTORS:
                continue  # mi(x) on the right of '~' is a term (brmc.terms.mi), 'y | mi()' an addition
            raise FormulaError(
                f"The addition term {tok.text}() cannot be used {place}; write it after '|' "
                f"in the response, e.g. 'y | {tok.text}(...) ~ x' {position_of(text, tok.pos)}"
            )


def _check_code(text: str, tokens: list[Token], env_names: frozenset[str] | None) -> None:
    """Refuse anything that could run code: unknown calls (unless ``env_names`` is
    ``None``: checked later), dunders, attributes."""
    quoted, grouped = term_call_arguments(tokens), group_call_arguments(tokens)
    for i, tok in enumerate(tokens):
        if tok.kind == "name" and "__" in tok.text:
            raise FormulaError(f"Names with '__' are not allowed in formulas {position_of(text, tok.pos)}")
        if tok.kind == "string" and i not in quoted | grouped:
            raise FormulaError(f"Strings are not allowed in formulas {position_of(text, tok.pos)}")
        follows_call = i + 1 < len(tokens) and tokens[i + 1].text == "("
        if tok.kind == "name" and "." in tok.text.strip("`") and tok.text not in SAFE_FUNCTIONS:
            prev_dot_call = tok.text.split(".")[0]
            if follows_call or prev_dot_call in {"np", "numpy", "os", "sys", "builtins"}:
                raise FormulaError(
                    f"Attribute access is not allowed in formulas {position_of(text, tok.pos)}\n"
                    "Call functions by their plain name, e.g. log(x) rather than np.log(x)."
                )
        if tok.kind == "name" and follows_call:
            name = tok.text
            known = name in SAFE_FUNCTIONS or name in ADDITION_TERMS or name in TERM_CALLS or name in GROUP_CALLS
            known = known or option_literal(tokens, i) or name == "cbind" and (  # s(x, pc = c(1, 2)), mm()'s weights
                i in grouped or i == 0 and cbind_columns(tokens) is not None)
            if not known and name not in (env_names or frozenset()):
                if name in {"s", "t2", "mo", "me", "gp", "car", "ar", "arma", "mmc"}:
                    raise FormulaError(
                        f"The brms term {name}() is not supported yet {position_of(text, tok.pos)}"
                    )
                if name == "cbind":
                    raise FormulaError(
                        "lme4's cbind(successes, failures) response is written in brms as "
                        "'successes | trials(total)', e.g. 'm | trials(n) ~ 1 + (1 | batch)' "
                        f"{position_of(text, tok.pos)}"
                    )
                if env_names is None:
                    continue
                allowed = ", ".join(sorted(SAFE_FUNCTIONS))
                raise FormulaError(
                    f"Function {name!r} cannot be used in a formula {position_of(text, tok.pos)}\n"
                    f"Allowed functions: {allowed}; pass others with brm(..., env={{'{name}': ...}})."
                )


def _group_factors(spec: list[Token], text: str) -> list[str]:
    """``g1/g2/g3`` → ``['g1', 'g1:g2', 'g1:g2:g3']``; ``g1:g2`` stays one factor."""
    levels = split_top(spec, "/")
    out: list[str] = []
    prefix: list[str] = []
    for part in levels:
        names = split_top(part, ":")
        for name in names:
            if len(name) != 1 or name[0].kind != "name":
                bad = name[0] if name else spec[0]
                raise FormulaError(
                    f"A grouping factor must be a column name (or a:b, a/b) {position_of(text, bad.pos)}"
                )
        prefix = prefix + [n[0].text.strip("`") for n in names]
        out.append(":".join(prefix))
    return out


def _parse_group_term(inner: list[Token], text: str, open_tok: Token) -> list[GroupTerm]:
    parts = split_top(inner, "||")
    correlated = len(parts) == 1
    parts = split_top(inner, "|") if correlated else parts
    if len(parts) not in (2, 3):
        raise FormulaError(f"Malformed group term (1 | g), (1 || g) or (1 | id | g) {position_of(text, open_tok.pos)}")
    expr_toks, group_toks, id_toks = parts[0], parts[-1], parts[1] if len(parts) == 3 else []
    if len(parts) == 3 and (len(id_toks) != 1 or id_toks[0].kind not in {"name", "number"}):
        raise FormulaError(f"The ID of a group term (1 | id | g) must be a name or number {position_of(text, open_tok.pos)}")
    if not expr_toks:
        raise FormulaError(f"A group term needs effects before '|' {position_of(text, open_tok.pos)}")
    if not group_toks:
        raise FormulaError(f"A group term needs a grouping factor after '|' {position_of(text, open_tok.pos)}")
    if any(t.text in {"|", "||", "~"} for t in expr_toks + group_toks):
        raise FormulaError(f"Stray '|' or '~' in a group term {position_of(text, open_tok.pos)}")
    expr = Expr(_translate(expr_toks))
    gid = id_toks[0].text if id_toks else ""
    if is_call(group_toks, GROUP_CALLS):  # gr(g, cor = FALSE), mm(g1, g2, weights = ...)
        call = parse_group_call(group_toks, text)
        return [GroupTerm(expr, call.group, correlated and call.correlated, call.members, gid or call.id, call.options)]
    return [GroupTerm(expr=expr, group=g, correlated=correlated, id=gid) for g in _group_factors(group_toks, text)]


def _translate(tokens: list[Token]) -> list[Token]:
    """R spellings → formulae spellings: ``^`` → ``**``, ``as.factor(x)`` → ``as__factor(x)``
    (:data:`FORMULAE_SPELLINGS`), and
    numbers formulae cannot read (``1e-3``, ``.5``, ``2.``) → ``0.001``, ``0.5``, ``2``."""
    out = []
    for i, tok in enumerate(tokens):
        if tok.text == "^":
            tok = Token("op", "**", tok.pos)
        elif tok.text in FORMULAE_SPELLINGS and i + 1 < len(tokens) and tokens[i + 1].text == "(":
            tok = Token("name", FORMULAE_SPELLINGS[tok.text], tok.pos)
        elif tok.kind == "number" and not re.fullmatch(r"[0-9]+(\.[0-9]+)?", tok.text):
            tok = Token("number", format(Decimal(tok.text).normalize(), "f"), tok.pos)
        out.append(tok)
    return out


def parse_formula(text: str, env_names: frozenset[str] | None = frozenset(),
                  pforms: Sequence[str] = ()) -> BrmsFormula:
    """Parse brms formula text into a :class:`BrmsFormula`.

    Parameters
    ----------
    text : str
        The formula, ``response ~ predictors`` in brms's language.
    env_names : frozenset of str or None, default empty
        Extra function names the caller allows (``brm(env=...)``); None defers the check
        of function names to a later parse with the caller's ``env`` (what :func:`bf` does).
    pforms : sequence of str, default ()
        Distributional formulas such as ``"sigma ~ Days"`` (see :func:`bf`).

    Returns
    -------
    BrmsFormula

    Examples
    --------
    >>> f = parse_formula("y ~ x + (1 | g1/g2)")
    >>> [g.group for g in f.group_terms]
    ['g1', 'g1:g2']
    """
    response, additions, main = _parse_one(text, env_names)
    parsed: dict[str, Predictor] = {}
    for ptext in pforms:
        dpar, dpar_additions, predictor = _parse_one(ptext, env_names)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", dpar) or dpar_additions:
            raise FormulaError(
                f"The left-hand side of the distributional formula {ptext!r} must be the name of a "
                "distributional parameter, as in 'sigma ~ x' (no addition terms)."
            )
        if dpar in parsed:
            raise FormulaError(f"The distributional parameter {dpar!r} has more than one formula.")
        parsed[dpar] = predictor
    return BrmsFormula(**vars(main), response=response, additions=additions, pforms=parsed)


def _parse_one(text: str, env_names: frozenset[str] | None) -> tuple[str, dict[str, list[str]], Predictor]:
    """One formula ``lhs ~ rhs``: its response, addition terms and right-hand side."""
    if not isinstance(text, str):
        raise FormulaError(f"The formula must be a string, not {type(text).__name__}.")
    if not text.strip():
        raise FormulaError("The formula is empty; write it as 'response ~ predictors'.")
    tokens = tokenize(text)
    check_parentheses(text, tokens)
    _check_code(text, tokens, env_names)
    sides = split_top(tokens, "~")
    tildes = [t for t in tokens if t.text == "~"]
    if len(sides) != 2:
        # the second top-level '~', or the first one hidden inside parentheses
        culprit = [t for t in depth0(tokens) if t.text == "~"][1:] + tildes
        where = position_of(text, culprit[0].pos) if culprit else "(no '~' found)"
        raise FormulaError(
            f"A formula needs exactly one '~', outside parentheses, between response and predictors {where}"
        )
    check_structure(text, tokens)
    lhs, rhs = sides
    if not lhs:
        raise FormulaError(f"The formula has no response before '~' {position_of(text, tildes[0].pos)}")
    if not rhs:
        raise FormulaError(
            f"The formula has nothing after '~' {position_of(text, tildes[0].pos)}\n"
            "Write 'y ~ 1' for an intercept-only model."
        )
    response, additions = _parse_lhs(lhs, text)
    population, group_terms = _parse_rhs(rhs, text)
    check_operands(text, tokens)
    population, calls = _split_calls(population, text)
    return response, additions, Predictor(text=join_tokens(tokens),  # as R deparses it
                                          terms=[PopulationTerm(population), *group_terms, *calls],
                                          source=text, tokens=tuple(tokens))


def bf(formula: str, *pforms: str, **dpar_formulas: str) -> BrmsFormula | MultivariateFormula:
    """brms's ``bf()``: the main formula plus a formula per distributional parameter.

    The parameters are checked against the family when the model is built;
    function names then too, against ``brm(..., env=...)``.

    Parameters
    ----------
    formula : str
        The main formula (the predictor of ``mu``), ``response ~ predictors``.
    *pforms : str
        Distributional formulas as text with the parameter on the left (``"sigma ~ x"``).
    **dpar_formulas : str
        Distributional formulas as keywords with their right-hand side (``sigma="~ x"``;
        the ``~`` may be left out).

    Returns
    -------
    BrmsFormula

    Examples
    --------
    >>> f = bf("Reaction ~ Days", sigma="~ Days")
    >>> f.lines()
    ['Reaction ~ Days', 'sigma ~ Days']
    >>> bf("y ~ x", "sigma ~ x + (1 | g)").pforms["sigma"].group_terms[0].group
    'g'
    """
    texts = list(pforms)
    for dpar, rhs in dpar_formulas.items():
        if not isinstance(rhs, str):
            raise FormulaError(
                f"bf({dpar}={rhs!r}): a distributional parameter takes a formula such as '~ x'; "
                "fixing it to a constant is not supported yet."
            )
        texts.append(f"{dpar} {rhs}" if rhs.lstrip().startswith("~") else f"{dpar} ~ {rhs}")
    if isinstance(formula, str) and has_mvbind(formula):  # brms's split_bf
        return mvbf(*(parse_formula(form, env_names=None, pforms=texts) for form in split_mvbind(formula)))
    return parse_formula(formula, env_names=None, pforms=texts)


def as_formula(formula: str | BrmsFormula, env_names: frozenset[str] = frozenset()) -> BrmsFormula:
    """A formula given as text (parsed here) or by :func:`bf` (its function names checked
    against the caller's, from the tokens it was parsed from).

    Example:
        >>> as_formula(bf("y ~ x", sigma="~ x")).pforms["sigma"].population
        'x'
    """
    if not isinstance(formula, BrmsFormula):
        return parse_formula(formula, env_names)
    try:
        for part in [formula, *formula.pforms.values()]:
            _check_code(part.source, list(part.tokens), env_names)
    except FormulaError:  # the message as a parse of the printed formula words it
        parse_formula(formula.text, env_names, [p.text for p in formula.pforms.values()])
        raise
    return formula


def _split_calls(population: list[Token], text: str) -> tuple[Expr, list[CallTerm]]:
    """Take ``+ offset(expr)`` (and other :data:`TERM_CALLS`) out of the population part:
    (the rest, ``"1"`` when nothing is left; the terms taken out)."""
    pieces = [(t, call_piece(t)) for t in term_pieces(population)]
    calls = [CallTerm(TERM_CALLS[call[0].text], call[0].text, tuple(Expr(a) for a in split_top(call[2:-1], ",") if a),
                      tuple(Expr(f) for f in covariates)) for _, (call, covariates) in pieces if call]
    if sum(c.name == "offset" for c in calls) > 1:
        raise FormulaError(f"Only one offset() term is allowed; combine them as offset(a + b): {text!r}")
    rest: list[Token] = []
    for t, (call, _) in pieces:
        if t and not call:
            rest += ([Token("op", "+", t[0].pos)] if rest and t[0].text != "-" else []) + t
    refuse_calls_inside(rest, text)
    return Expr(rest or [Token("number", "1", -1)]), calls


def _parse_lhs(lhs: list[Token], text: str) -> tuple[Expr, dict[str, list[Expr]]]:
    bars = split_top(lhs, "|")
    separators = [t for t in depth0(lhs) if t.text == "|"]
    stray = separators[1:] + [t for part in bars for t in part if t.text in {"|", "||"}]
    if stray:
        raise FormulaError(f"Stray {stray[0].text!r} in the response {position_of(text, stray[0].pos)}")
    resp_toks = bars[0]
    if not resp_toks:
        raise FormulaError(f"The formula has no response before '|' {position_of(text, lhs[0].pos)}")
    _refuse_addition_calls(resp_toks, text, "as the response")
    if len(split_top(resp_toks, "+")) > 1:
        raise FormulaError(
            f"Only one response is allowed; write several as mvbind(y1, y2) ~ x {position_of(text, resp_toks[0].pos)}"
        )
    additions: dict[str, list[str]] = {}
    if len(bars) == 2:
        for term in split_top(bars[1], "+"):
            if len(term) < 3 or term[0].kind != "name" or term[1].text != "(" or term[-1].text != ")":
                at = term[0].pos if term else bars[0][-1].pos
                raise FormulaError(
                    f"After '|' in the response brms expects addition terms such as trials(n), "
                    f"weights(w), cens(c), se(s) {position_of(text, at)}"
                )
            name = term[0].text
            if name not in ADDITION_TERMS:
                raise FormulaError(
                    f"Unknown addition term {name}() {position_of(text, term[0].pos)}\n"
                    f"Allowed: {', '.join(sorted(ADDITION_TERMS))}."
                )
            _refuse_addition_calls(term[1:], text, "inside another addition term")
            args = [Expr(a) for a in split_top(term[2:-1], ",") if a]
            if not args and name != "mi":  # brms's 'y | mi() ~ x' takes no argument
                raise FormulaError(f"The addition term {name}() needs an argument {position_of(text, term[0].pos)}")
            additions[name] = args
    return Expr(_translate(resp_toks)), additions


def _parse_rhs(rhs: list[Token], text: str) -> tuple[list[Token], list[GroupTerm]]:
    group_terms: list[GroupTerm] = []
    population: list[Token] = []
    depth = 0
    i = 0
    while i < len(rhs):
        tok = rhs[i]
        if tok.text == "(" and depth == 0 and (i == 0 or rhs[i - 1].kind == "op" and rhs[i - 1].text != ")"):
            close = matching(rhs, i)
            inner = _unwrap(rhs[i + 1 : close])
            if any(t.text in {"|", "||"} for t in depth0(inner)):
                group_terms += _parse_group_term(inner, text, tok)
                # drop the operator that joined this group term to the population part
                if population and population[-1].text == "+":
                    population.pop()
                elif population and population[-1].text == "-":
                    raise FormulaError(f"A group term cannot be subtracted {position_of(text, tok.pos)}")
                elif population:
                    _refuse_group_join(population[-1], text)
                i = close + 1
                if i < len(rhs) and rhs[i].text not in {"+", "-"}:
                    _refuse_group_join(rhs[i], text)
                if not population and i < len(rhs) and rhs[i].text == "+":
                    i += 1
                continue
        if tok.text in {"|", "||"}:
            where = "outside parentheses" if depth == 0 else "inside a function call or nested parentheses"
            raise FormulaError(
                f"A '{tok.text}' {where}: group terms are written '(1 | g)' and added with '+' "
                f"{position_of(text, tok.pos)}"
            )
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        population.append(tok)
        i += 1
    if population and population[-1].kind == "op" and population[-1].text not in {")"}:
        raise FormulaError(f"The formula ends with an operator {position_of(text, population[-1].pos)}")
    _refuse_addition_calls(rhs, text, _PREDICTORS)
    refuse_group_calls_outside(population, text)
    return _translate(population), group_terms


def _unwrap(tokens: list[Token]) -> list[Token]:
    """Drop redundant parentheses around a whole group term: ``((1 | g))`` → ``1 | g``.

    One pass: with ``lead`` opening and ``trail`` closing parentheses at the ends,
    as many pairs wrap the whole as the lowest depth reached in between.
    """
    texts = [t.text for t in tokens]
    lead = next((k for k, t in enumerate(texts) if t != "("), len(texts))
    trail = next((k for k, t in enumerate(reversed(texts)) if t != ")"), len(texts))
    depth = lowest = lead
    for t in texts[lead : len(texts) - trail]:
        depth += (t == "(") - (t == ")")
        lowest = min(lowest, depth)
    wraps = min(lead, trail, lowest)
    return tokens[wraps : len(tokens) - wraps]


def _refuse_group_join(op: Token, text: str) -> None:
    raise FormulaError(
        f"A group term can only be added to the rest of the formula with '+', not {op.text!r} "
        f"{position_of(text, op.pos)}"
    )
