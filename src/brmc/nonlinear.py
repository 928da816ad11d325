"""The expression language of brms's non-linear formulas (``bf(..., nl = TRUE)``).

The right-hand side of ``cum ~ ult * (1 - exp(-(dev / theta)^omega))`` is parsed into a small typed
tree (:class:`Number`, :class:`Name`, :class:`Unary`, :class:`Binary`, :class:`Call`) with R's
grammar for arithmetic: ``^`` binds tightest and groups to the right (``a^b^c`` is ``a^(b^c)``),
then unary ``-``/``+`` (``-2^2`` is -4, ``2^-1`` is 0.5), then ``*``/``/``, then binary ``+``/``-``,
both groups to the left.  A call may only name a function of :data:`brmc.nlfunctions.FUNCTIONS`
with its number of arguments.  Everything else -- strings, ``$``/``@``/``[``, ``~``, ``=``,
comparisons, unknown functions, ``1e400`` -- is a :class:`~brmc.errors.FormulaError` naming the
token and its position.  The text is never given to Python's ``eval``/``compile``: a tree is
walked by :func:`evaluate`, whose only actions are the whitelisted functions and arithmetic.

Given the names of the non-linear parameters (those with their own formula in ``bf()``), every
other name is a data covariate (:meth:`Expression.covariates`); :mod:`brmc.nlformula` builds brms's
``C_<i>`` data for them and reads ``nlf()``/``lf()``.

Examples
--------
>>> import numpy as np
>>> e = parse_expression("ult * (1 - exp(-(dev / theta)^omega))")
>>> e.covariates({"ult", "theta", "omega"})
['dev']
>>> round(float(evaluate(e.tree, {"ult": 5000.0, "dev": 12.0, "theta": 40.0, "omega": 1.5})), 2)
757.63
>>> print(unparse(parse_expression("-(a - b)^2 / c").tree))
-(a - b)^2 / c
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import FormulaError
from .lexer import Token, position_of, tokenize
from .nlfunctions import FUNCTIONS, NUMPY, Backend


@dataclass(frozen=True)
class Number:
    """A numeric literal (always >= 0: a minus sign is a :class:`Unary`)."""

    value: float


@dataclass(frozen=True)
class Name:
    """A non-linear parameter or a data covariate."""

    name: str


@dataclass(frozen=True)
class Unary:
    """``-x`` or ``+x``."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    """``x op y`` with ``op`` one of ``+ - * / ^``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """A call of one of :data:`~brmc.nlfunctions.FUNCTIONS`."""

    func: str
    args: tuple[Node, ...]


Node = Number | Name | Unary | Binary | Call

#: binding strength of each node kind when written out (higher binds tighter).
_ADD, _MUL, _UNARY, _POW, _ATOM = 1, 2, 3, 4, 5
_BINARY_PREC = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "^": _POW}
#: the deepest tree accepted (parsing, evaluating and writing back recurse once per level).
MAX_DEPTH = 200


def allowed_functions() -> str:
    """The callable functions, comma-separated, as error messages list them.

    Returns
    -------
    str

    Examples
    --------
    >>> allowed_functions()[:24]
    'Phi, abs, acos, acosh, a'
    """
    return ", ".join(sorted(FUNCTIONS))


@dataclass(frozen=True)
class Expression:
    """A parsed non-linear expression.

    Parameters
    ----------
    text : str
        The formula text as given.
    tree : Node
        Its syntax tree.
    """

    text: str
    tree: Node

    def names(self) -> list[str]:
        """The names used, in order of first appearance (R's ``all.vars``).

        Returns
        -------
        list of str

        Examples
        --------
        >>> parse_expression("a * exp(b * x) + a").names()
        ['a', 'b', 'x']
        """
        return list(dict.fromkeys(_walk_names(self.tree)))

    def covariates(self, nlpars: Iterable[str]) -> list[str]:
        """The names that are not non-linear parameters: data covariates, in brms's ``C_<i>`` order.

        Parameters
        ----------
        nlpars : iterable of str
            The non-linear parameters (those with their own formula).

        Returns
        -------
        list of str

        Examples
        --------
        >>> parse_expression("a * exp(b * x)").covariates(["a", "b"])
        ['x']
        """
        nlpars = set(nlpars)
        return [name for name in self.names() if name not in nlpars]

    def check_names(self, nlpars: Iterable[str], columns: Iterable[str]) -> None:
        """Refuse a name that is neither a non-linear parameter nor a column of the data.

        Parameters
        ----------
        nlpars : iterable of str
            The non-linear parameters.
        columns : iterable of str
            The data's columns.

        Raises
        ------
        FormulaError
            Naming the first unknown name and the parameters that have formulas.

        Examples
        --------
        >>> try:
        ...     parse_expression("a * exp(b * x)").check_names(["a"], ["x", "y"])
        ... except FormulaError as err:
        ...     print(str(err).splitlines()[0])
        The non-linear formula 'a * exp(b * x)' uses 'b', which is neither a non-linear parameter (with its own formula in bf(): a) nor a column of the data.
        """
        nlpars = list(nlpars)
        columns = set(columns)
        for name in self.covariates(nlpars):
            if name not in columns:
                raise FormulaError(
                    f"The non-linear formula {self.text.strip()!r} uses {name!r}, which is neither a "
                    f"non-linear parameter (with its own formula in bf(): {', '.join(nlpars) or 'none'}) "
                    f"nor a column of the data.\nGive it a formula, e.g. '{name} ~ 1', or add the column."
                )


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def _depth(node: Node) -> int:
    """The tree's depth, counted without recursion (a long ``a + a + ...`` is deep on the left)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in _children(current))
    return deepest


def _walk_names(node: Node) -> Iterable[str]:
    if isinstance(node, Name):
        yield node.name
    for child in _children(node):
        yield from _walk_names(child)


# --------------------------------------------------------------------------- parsing


class _Parser:
    """Recursive descent over the lexer's tokens, one method per precedence level."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, message: str, tok: Token | None) -> FormulaError:
        pos = tok.pos if tok is not None else len(self.text.rstrip())
        return FormulaError(f"{message} in the non-linear formula {position_of(self.text, pos)}")

    def take(self, *texts: str) -> Token | None:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text in texts:
            self.i += 1
            return tok
        return None

    def parse(self) -> Node:
        if not self.tokens:
            raise FormulaError("The non-linear formula is empty.")
        node = self.additive()
        tok = self.peek()
        if tok is None and _depth(node) > MAX_DEPTH:
            raise FormulaError(f"The non-linear formula is nested more than {MAX_DEPTH} levels deep.")
        if tok is not None:
            if tok.kind in {"name", "number"} or tok.text == "(":
                raise self.fail(f"Missing operator before {tok.text!r}", tok)
            raise self.fail(f"Unexpected {tok.text!r} (the operators are + - * / ^)", tok)
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while (tok := self.take("+", "-")) is not None:
            node = Binary(tok.text, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while (tok := self.take("*", "/")) is not None:
            node = Binary(tok.text, node, self.unary())
        return node

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"More than {MAX_DEPTH} nested levels", self.peek())
        if (tok := self.take("-", "+")) is not None:
            node: Node = Unary(tok.text, self.unary())
        else:
            node = self.power()
        self.depth -= 1
        return node

    def power(self) -> Node:
        base = self.primary()
        if self.take("^", "**") is not None:
            return Binary("^", base, self.unary())  # R: the exponent may carry a sign, 2^-1
        return base

    def primary(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.fail("The formula ends where a number, name or '(' was expected", None)
        self.i += 1
        if tok.kind == "number":
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.fail(f"The number {tok.text} is out of range", tok)
            return Number(value)
        if tok.kind == "name":
            name = tok.text[1:-1] if tok.text.startswith("`") else tok.text
            if self.take("(") is not None:
                return self.call(tok, name)
            if not name:
                raise self.fail("Empty name ``", tok)
            return Name(name)
        if tok.text == "(":
            node = self.additive()
            if self.take(")") is None:
                raise self.fail("Missing ')' to close the '(' opened", tok)
            return node
        if tok.kind == "string":
            raise self.fail(f"A string ({tok.text}) cannot be used", tok)
        raise self.fail(
            f"Unexpected {tok.text!r} (allowed: numbers, names, + - * / ^, parentheses and calls of "
            f"{allowed_functions()})", tok)

    def call(self, tok: Token, name: str) -> Node:
        func = FUNCTIONS.get(name)
        if func is None:
            raise self.fail(f"Unknown function {name!r}; a non-linear formula may call {allowed_functions()}",
                            tok)
        args: list[Node] = []
        if self.take(")") is None:
            while True:
                arg_tok = self.peek()
                if arg_tok is not None and arg_tok.kind == "name" and self.i + 1 < len(self.tokens) \
                        and self.tokens[self.i + 1].text == "=":
                    raise self.fail(f"Named argument {arg_tok.text!r} in {name}()", arg_tok)
                args.append(self.additive())
                if self.take(")") is not None:
                    break
                if self.take(",") is None:
                    raise self.fail(f"Missing ',' or ')' in the call of {name}()", self.peek())
        if len(args) != func.arity:
            raise self.fail(
                f"{name}() takes {func.arity} argument{'s' * (func.arity > 1)}, not {len(args)}", tok)
        return Call(name, tuple(args))


def parse_expression(text: str) -> Expression:
    """Parse the right-hand side of a non-linear formula.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"a * exp(b * x)"`` (no ``~``; see :func:`nlf` for ``y ~ ...``).

    Returns
    -------
    Expression

    Raises
    ------
    FormulaError
        For anything outside the grammar, naming the token, its position and the allowed functions.

    Examples
    --------
    >>> parse_expression("inv_logit(c) * 2^-x").tree
    Binary(op='*', left=Call(func='inv_logit', args=(Name(name='c'),)), right=Binary(op='^', left=Number(value=2.0), right=Unary(op='-', operand=Name(name='x'))))
    >>> try:
    ...     parse_expression("a * foo(x)")
    ... except FormulaError as err:
    ...     print(str(err)[:40])
    Unknown function 'foo'; a non-linear for
    """
    if not isinstance(text, str):
        raise FormulaError(f"A non-linear formula must be text, not {type(text).__name__}.")
    return Expression(text, _Parser(text).parse())


# --------------------------------------------------------------------------- writing back


def _prec(node: Node) -> int:
    if isinstance(node, Binary):
        return _BINARY_PREC[node.op]
    if isinstance(node, Unary):
        return _UNARY
    return _ATOM


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _name_text(name: str) -> str:
    plain = name[:1].isascii() and (name[0].isalpha() or name[0] == ".") and all(
        c.isascii() and (c.isalnum() or c in "._") for c in name)
    return name if plain and not (name[0] == "." and name[1:2].isdigit()) else f"`{name}`"


def unparse(node: Node) -> str:
    """Write a tree back as formula text, with the parentheses R's precedence needs and no more.

    Parameters
    ----------
    node : Node
        A tree from :func:`parse_expression` (or built from the node classes).

    Returns
    -------
    str
        Text that :func:`parse_expression` reads back to the same tree.

    Examples
    --------
    >>> unparse(Binary("^", Unary("-", Number(2.0)), Number(2.0)))
    '(-2)^2'
    >>> unparse(Unary("-", Binary("^", Number(2.0), Number(2.0))))
    '-2^2'
    """
    if isinstance(node, Number):
        return _number_text(node.value)
    if isinstance(node, Name):
        return _name_text(node.name)
    if isinstance(node, Call):
        return f"{node.func}({', '.join(unparse(arg) for arg in node.args)})"
    if isinstance(node, Unary):
        inner = unparse(node.operand)
        return f"{node.op}({inner})" if _prec(node.operand) < _UNARY else f"{node.op}{inner}"
    prec = _BINARY_PREC[node.op]
    left, right = unparse(node.left), unparse(node.right)
    if node.op == "^":  # right-associative; the exponent may be a signed power
        if _prec(node.left) <= _POW:
            left = f"({left})"
        if _prec(node.right) < _UNARY:
            right = f"({right})"
        return f"{left}^{right}"
    if _prec(node.left) < prec:
        left = f"({left})"
    if _prec(node.right) <= prec:
        right = f"({right})"
    return f"{left} {node.op} {right}"


# --------------------------------------------------------------------------- evaluation


def evaluate(node: Node, namespace: Mapping[str, Any], backend: Backend = NUMPY) -> Any:
    """Evaluate a tree over named values with one backend's functions.

    Parameters
    ----------
    node : Node
        The tree (``Expression.tree``).
    namespace : mapping
        A value for every name: NumPy arrays or scalars with :data:`~brmc.nlfunctions.NUMPY`,
        PyTensor tensors with :data:`~brmc.nlfunctions.PYTENSOR`.
    backend : Backend
        Whose primitives the functions use.

    Returns
    -------
    array or tensor
        Broadcast over the namespace's values.

    Raises
    ------
    FormulaError
        A name missing from ``namespace``.

    Examples
    --------
    >>> import numpy as np
    >>> evaluate(parse_expression("a * exp(b * x)").tree, {"a": 2.0, "b": 0.0, "x": np.arange(3.0)})
    array([2., 2., 2.])
    >>> float(evaluate(parse_expression("-2^2").tree, {}))
    -4.0
    """
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        try:
            return namespace[node.name]
        except KeyError:
            raise FormulaError(f"No value for {node.name!r} in the non-linear formula.") from None
    if isinstance(node, Unary):
        value = evaluate(node.operand, namespace, backend)
        return -value if node.op == "-" else value
    if isinstance(node, Call):
        return FUNCTIONS[node.func].apply(backend, *(evaluate(arg, namespace, backend) for arg in node.args))
    left, right = evaluate(node.left, namespace, backend), evaluate(node.right, namespace, backend)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if node.op == "/":
        return left / right  # R's real division, also of integer covariates
    return backend.power(left, right)
