"""The calls of a right-hand side that are terms of their own kind (``offset()``, ``s()``,
``mo()``, ``gp()``): the registries the term kinds fill, and how the parser finds their pieces.

A piece of a right-hand side (between top-level ``+``) is a term of a kind when it is one call of
:data:`TERM_CALLS`; ``s(x) - 1`` splits at the minus, and ``mo(x) * z`` expands as R does into
``mo(x)``, ``z`` and ``mo(x):z`` (:data:`INTERACTING_CALLS`).

Example:
    >>> from brmc.lexer import tokenize
    >>> [" ".join(t.text for t in piece) for piece in expand_products(tokenize("mo(x) * z"))]
    ['mo ( x )', 'z', 'mo ( x ) : z']
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from .errors import FormulaError
from .lexer import Token, depths, matching, split_top

#: calls that make a term of their own kind when added at the top level of a right-hand side
#: (``+ offset(log(n))``), by call name → term kind; :func:`brmc.terms.register` adds to it.
TERM_CALLS: dict[str, str] = {"offset": "offset"}
#: the calls of :data:`TERM_CALLS` that may be multiplied with variables (``mo(x) * z`` is
#: ``mo(x) + z + mo(x):z``, ``mo(x):z`` one term of the call's kind), as brms's special terms
INTERACTING_CALLS: set[str] = set()


def term_call_arguments(tokens: list[Token]) -> set[int]:
    """Positions of the tokens inside the arguments of a :data:`TERM_CALLS` call, where strings
    are options (``s(x, bs = "cr")``), never code."""
    inside: set[int] = set()
    for i, tok in enumerate(tokens[:-1]):
        if tok.kind == "name" and tok.text in TERM_CALLS and tokens[i + 1].text == "(":
            inside.update(range(i + 2, i + 1 + matching(tokens[i + 1:], 0)))
    return inside


#: the calls whose options may hold R's literal vectors and lists (``s(x, pc = c(1, 2))``,
#: ``s(x, xt = list(max.knots = 3000))``), read by :mod:`brmc.terms.sm_options`, never evaluated
LITERAL_OPTIONS = {"s": ("c", "list"), "t2": ("c", "list")}


def option_literal(tokens: list[Token], i: int) -> bool:
    """Whether the call ``tokens[i]`` is a literal ``c()`` or ``list()`` inside the arguments of a
    :data:`LITERAL_OPTIONS` call (an option's value, never code).

    Example:
        >>> from brmc.lexer import tokenize
        >>> toks = tokenize("y ~ s(x, pc = c(1)) + c(x)")
        >>> [option_literal(toks, i) for i, t in enumerate(toks) if t.text == "c"]
        [True, False]
    """
    if tokens[i].text not in {name for names in LITERAL_OPTIONS.values() for name in names}:
        return False
    for j, tok in enumerate(tokens[:i]):
        if tok.kind == "name" and tok.text in LITERAL_OPTIONS and tokens[j + 1].text == "(":
            end = j + 1 + matching(tokens[j + 1:], 0)
            if i < end and tokens[i].text in LITERAL_OPTIONS[tok.text]:
                return True
    return False


def minus_split(piece: list[Token]) -> list[list[Token]]:
    """``s(x) - 1`` → ``s(x)``, ``- 1``: what follows a top-level '-' is a piece of its own."""
    out: list[list[Token]] = [[]]
    for tok, depth in zip(piece, depths(piece)):
        if depth == 0 and tok.text == "-" and out[-1]:
            out.append([])
        out[-1].append(tok)
    return out


def is_call(t: list[Token], names: Sequence[str] | dict[str, str]) -> bool:
    """Whether the tokens are one call of a function in ``names``."""
    return len(t) > 2 and t[0].text in names and t[1].text == "(" and matching(t, 1) == len(t) - 1


def expand_products(piece: list[Token]) -> list[list[Token]]:
    """``mo(x) * z`` → ``mo(x)``, ``z``, ``mo(x):z`` (R's order: by degree) where a factor is an
    :data:`INTERACTING_CALLS` call; any other piece as it is."""
    factors = split_top(piece, "*")
    if len(factors) < 2 or not any(is_call(f, INTERACTING_CALLS) for f in factors):
        return [piece]
    if not all(factors):  # 'mo(k) * - 1': the minus split the product
        raise FormulaError(f"'*' needs a term on each side, as in 'mo(x) * z' (at character {piece[0].pos + 1}).")
    out = []
    for degree in range(1, len(factors) + 1):
        for combo in combinations(factors, degree):
            joined: list[Token] = []
            for f in combo:
                joined += ([Token("op", ":", f[0].pos)] if joined else []) + f
            out.append(joined)
    return out


def term_pieces(population: list[Token]) -> list[list[Token]]:
    """The pieces of a population part between top-level ``+`` (and ``-``), products with an
    :data:`INTERACTING_CALLS` call expanded."""
    return [piece for t in split_top(population, "+") for head in minus_split(t) for piece in expand_products(head)]


def call_piece(t: list[Token]) -> tuple[list[Token], list[list[Token]]]:
    """A piece that is a :data:`TERM_CALLS` call, or a ``:`` product of one :data:`INTERACTING_CALLS`
    call and variables: (the call's tokens, the other factors); ``([], [])`` for any other piece."""
    factors = split_top(t, ":")
    found = [f for f in factors if is_call(f, TERM_CALLS)]
    if len(factors) == 1 and found:
        return found[0], []
    if len(found) == 1 and is_call(found[0], INTERACTING_CALLS):
        return found[0], [f for f in factors if f is not found[0]]
    return [], []


def refuse_calls_inside(rest: list[Token], text: str) -> None:
    """A :data:`TERM_CALLS` call left in the population part (``log(offset(x))``) is refused."""
    for i, tok in enumerate(rest[:-1]):
        if tok.text in TERM_CALLS and rest[i + 1].text == "(":
            example = "log(n)" if tok.text == "offset" else "..."
            raise FormulaError(f"{tok.text}() must be added as a term of its own, as in "
                               f"'y ~ x + {tok.text}({example})': {text!r}")
