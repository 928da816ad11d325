"""The lexical layer of brms formulas: tokens, parenthesis structure, and writing tokens back.

:mod:`brmc.formula` parses the grammar (responses, addition terms, group terms) on top of this;
the design stage reads population parts with the same tokens, so both agree on what a name is.

Example:
    >>> [t.text for t in tokenize("y ~ x + (1|g)")]
    ['y', '~', 'x', '+', '(', '1', '|', 'g', ')']
    >>> names_in("log(x) + poly(z, 2, raw = TRUE)")
    ['x', 'z', 'TRUE']
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Self

from .errors import FormulaError

# Numbers come before names so that ``.5`` is a number; digits are ASCII only
# (``\d`` would also take Arabic-Indic and other Unicode digits).
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?)
    | (?P<name>`[^`]*`|[A-Za-z_.][A-Za-z0-9_.]*)
    | (?P<op>\|\||\*\*|%in%|[~+\-*/:^|(),=<>!])
    | (?P<string>"[^"]*"|'[^']*')
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One lexical token with its 0-based position in the formula text."""

    kind: str
    text: str
    pos: int

def tokenize(text: str) -> list[Token]:
    """Split formula text into tokens, refusing characters a formula cannot hold.

    Example:
        >>> [t.text for t in tokenize("y ~ x + (1|g)")]
        ['y', '~', 'x', '+', '(', '1', '|', 'g', ')']
    """
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos:].lstrip()
            at = len(text) - len(bad)
            raise FormulaError(
                f"Unexpected character {bad[0]!r} at position {at + 1} of the formula:\n"
                f"  {text}\n  {' ' * at}^"
            )
        kind = m.lastgroup or "op"
        tokens.append(Token(kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return tokens


def position_of(text: str, pos: int) -> str:
    return f"at position {pos + 1}:\n  {text}\n  {' ' * pos}^"


def check_parentheses(text: str, tokens: list[Token]) -> None:
    stack: list[Token] = []
    for tok in tokens:
        if tok.text == "(":
            stack.append(tok)
        elif tok.text == ")":
            if not stack:
                raise FormulaError(f"Unbalanced ')' in the formula {position_of(text, tok.pos)}")
            stack.pop()
    if stack:
        raise FormulaError(f"Unclosed '(' in the formula {position_of(text, stack[-1].pos)}")


def _ends_operand(tok: Token) -> bool:
    return tok.kind in {"name", "number", "string"} or tok.text == ")"


def _starts_operand(tok: Token) -> bool:
    return tok.kind in {"name", "number", "string"} or tok.text == "("


def _out_of_range(number: str) -> bool:
    """Whether a number is beyond double precision's range (``1e400``), or beyond even what
    ``Decimal`` reads (an exponent of 19 digits)."""
    try:
        return abs(Decimal(number).adjusted()) > 300
    except InvalidOperation:
        return True


def check_structure(text: str, tokens: list[Token]) -> None:
    """Refuse what R's parser refuses: two operands in a row (``x z``, ``(1|g)(1|h)``),
    empty ``()`` that call nothing, ``~`` inside parentheses, ``,`` or ``=`` outside a
    call's arguments, numbers beyond double precision's range (``1e400``)."""
    calls: list[bool] = []  # one entry per open '(': is it a function call's?
    for i, tok in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        if tok.kind == "number" and _out_of_range(tok.text):
            raise FormulaError(f"The number {tok.text} is out of range {position_of(text, tok.pos)}")
        if prev is not None and _ends_operand(prev) and _starts_operand(tok):
            if not (prev.kind == "name" and tok.text == "("):
                raise FormulaError(
                    f"Missing operator between {prev.text!r} and {tok.text!r} {position_of(text, tok.pos)}"
                )
        if tok.text == "(":
            calls.append(prev is not None and prev.kind == "name")
        elif tok.text == ")":
            if prev is not None and prev.text == "(" and not calls[-1]:
                raise FormulaError(f"Empty parentheses {position_of(text, prev.pos)}")
            calls.pop()
        elif tok.text == "~" and calls:
            raise FormulaError(f"Stray '~' inside parentheses {position_of(text, tok.pos)}")
        elif tok.text in {",", "="} and not (calls and calls[-1]):
            raise FormulaError(
                f"{tok.text!r} can only separate the arguments of a function call {position_of(text, tok.pos)}"
            )


#: operators that need an operand on both sides ('+', '-' and '!' may also be unary).
_BINARY = frozenset({"*", "/", ":", "^", "**", "%in%", "=", "<", ">", ","})
_UNARY = frozenset({"+", "-", "!"})
_OPERATORS = _BINARY | _UNARY


def check_operands(text: str, tokens: list[Token]) -> None:
    """Every operator has its operands: no ``(x +)``, ``y ~ * x`` or ``f(x, )``."""
    for i, tok in enumerate(tokens):
        if tok.text not in _OPERATORS:
            continue
        prev = tokens[i - 1] if i else None
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.text in _BINARY and (prev is None or not _ends_operand(prev)):
            raise FormulaError(f"Nothing before {tok.text!r} {position_of(text, tok.pos)}")
        if nxt is None or not (_starts_operand(nxt) or nxt.text in _UNARY):
            raise FormulaError(f"Nothing after {tok.text!r} {position_of(text, tok.pos)}")


def depths(tokens: list[Token]) -> list[int]:
    """Parenthesis depth of each token: an opening one counts inside, a closing one outside.

    Example:
        >>> depths(tokenize("a + (b | g)"))
        [0, 0, 1, 1, 1, 1, 0]
    """
    out, depth = [], 0
    for tok in tokens:
        depth += (tok.text == "(") - (tok.text == ")")
        out.append(depth)
    return out


def split_top(tokens: list[Token], sep: str) -> list[list[Token]]:
    """Split a token list at top-level (parenthesis depth 0) occurrences of ``sep``."""
    parts: list[list[Token]] = [[]]
    for tok, depth in zip(tokens, depths(tokens)):
        if depth == 0 and tok.text == sep:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


def join_tokens(tokens: list[Token]) -> str:
    """Write tokens back as R would deparse them (spaces around + - * ~ |)."""
    pieces: list[str] = []
    for i, tok in enumerate(tokens):
        t = tok.text
        prev = tokens[i - 1].text if i else None
        unary = t in "+-" and (prev is None or prev in "(~+-*/:|,^" or prev == "||")
        spaced = t in {"+", "-", "*", "~", "|", "||", "%in%", "=", "<", ">"} and not unary
        if spaced or t == ",":
            if pieces:
                pieces[-1] = pieces[-1].rstrip()
            pieces.append(", " if t == "," else f" {t} ")
        else:
            pieces.append(t)
    return "".join(pieces).strip()


def names_in(text: str) -> list[str]:
    """The data names a formula text reads (not called functions, not keyword names).

    Example:
        >>> names_in("log(x) + z")
        ['x', 'z']
    """
    return names_of(tokenize(text) if text else [])


def names_of(toks: Sequence[Token]) -> list[str]:
    """:func:`names_in` of tokens already made."""
    names = []
    for i, tok in enumerate(toks):
        is_call = i + 1 < len(toks) and toks[i + 1].text == "("
        is_kwarg = i + 1 < len(toks) and toks[i + 1].text == "="
        if tok.kind == "name" and not is_call and not is_kwarg:
            names.append(tok.text.strip("`"))
    return names

def matching(tokens: list[Token], start: int) -> int:
    """Index of the parenthesis closing the one at ``start``."""
    for j, depth in enumerate(depths(tokens[start:]), start):
        if depth == 0:
            return j
    raise FormulaError("Unclosed '('")  # unreachable after check_parentheses


def depth0(tokens: list[Token]) -> list[Token]:
    """The tokens outside any parentheses (parentheses themselves left out)."""
    return [t for t, d in zip(tokens, depths(tokens)) if d == 0 and t.text not in "()"]


#: internal names (``__`` cannot be typed in a formula): ``contr.poly`` as formulae's contrast
#: (``factor(x, contr__poly)``), and a column coded with it (``poly__coded(x)``)
POLY = "contr__poly"
POLY_CODED = "poly__coded"


class Expr(str):
    """A piece of a formula (a population part, a group term's effects, a response, an
    argument) as text in formulae's spelling, with the tokens it was parsed from.

    It compares, hashes and prints as its text; the later stages read its parse
    (:attr:`variables`, :attr:`has_intercept`, :attr:`order`, :meth:`coded`) and never
    tokenize it again.

    Example:
        >>> e = Expr(tokenize("1 + x + log(z)"))
        >>> e, e.variables, e.has_intercept
        ('1 + x + log(z)', ['x', 'z'], True)
    """

    tokens: tuple[Token, ...]

    def __new__(cls, tokens: Sequence[Token] = (), text: str | None = None) -> Self:
        self = super().__new__(cls, join_tokens(list(tokens)) if text is None else text)
        self.tokens = tuple(tokens)
        return self

    def __getnewargs__(self) -> tuple[tuple[Token, ...], str]:
        return self.tokens, str(self)

    @property
    def variables(self) -> list[str]:
        """The names it reads from the data (or ``env``), in order of first use."""
        return names_of(self.tokens)

    @property
    def has_intercept(self) -> bool:
        """R's rule: ``0 +``, ``+ 0`` or ``- 1`` at the top level remove the intercept."""
        has = True
        prev = "+"
        for tok, depth in zip(self.tokens, depths(list(self.tokens))):
            if depth == 0 and tok.kind == "number" and prev in {"+", "-", None} and tok.text in {"0", "1"}:
                value = tok.text == "1"
                has = value if prev == "+" else not value
            prev = tok.text if depth == 0 else prev
        return has

    @property
    def order(self) -> list[str]:
        """Its variables in order of first appearance, as R's ``terms()`` orders them
        (spaces removed, as formulae names a term's components)."""
        order: list[str] = []
        for part in split_top(list(self.tokens), "+"):
            for sub in split_top(part, "*"):
                for piece in split_top(sub, ":"):
                    v = "".join(t.text for t in piece).replace("^", "**")
                    if v and not re.fullmatch(r"-?\d+", v):
                        order.append(re.sub(r"\s+", "", v))
        return list(dict.fromkeys(order))

    def without_intercept(self) -> Expr:
        """``0 + expr``: the expression as one design column without an intercept."""
        return Expr([Token("number", "0", -1), Token("op", "+", -1), *self.tokens])

    def coded(self, poly: Collection[str]) -> Expr:
        """Each column of ``poly`` coded by ``contr.poly``: ``x`` → ``poly__coded(x)``,
        ``factor(x)`` → ``factor(x, contr__poly)`` (R's factor(), as.factor() and C() keep an
        ordered factor's coding); ``C(x, treatment)`` chooses its own.

        Example:
            >>> Expr(tokenize("x + factor(x)")).coded({"x"})
            'poly__coded(x) + factor(x, contr__poly)'
        """
        tokens = self.tokens
        out = []
        for i, tok in enumerate(tokens):
            nxt = tokens[i + 1].text if i + 1 < len(tokens) else None
            if tok.kind != "name" or tok.text not in poly or nxt in {"(", "="}:
                out.append(tok)
                continue
            if i >= 2 and tokens[i - 1].text == "(" and tokens[i - 2].text in {"factor", "as__factor", "C"}:
                out.append(Token("name", f"{tok.text}, {POLY}", tok.pos) if nxt == ")" else tok)
            else:
                out.append(Token("name", f"{POLY_CODED}({tok.text})", tok.pos))
        return Expr(out)
