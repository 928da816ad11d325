"""The arguments of ``s()`` and ``t2()`` as brms 2.18 passes them on to mgcv: which are read, what
their values may be, and why the others are refused.

brms evaluates ``s(...)`` with mgcv's own ``s()`` and hands the result to ``smoothCon`` and
``smooth2random``; an argument counts only where those two use it.  ``k``, ``bs``, ``by``, ``m``
and ``fx`` shape the basis; ``pc`` (a point constraint: the smooth is zero at that point) replaces
the centring constraint; ``xt`` reaches the basis constructor, and of brmc's bases only the thin
plate splines read it (``xt = list(max.knots = , seed = )``).  ``id`` and ``sp`` are kept by mgcv's
``s()`` but used only inside ``gam()``'s own set-up, which brms does not call: brms fits
``s(x, id = 1) + s(z, id = 1)`` with two separate ``sds`` and estimates what ``sp`` would fix, so
brmc refuses both rather than drop them silently.

Example:
    >>> from brmc.formula import parse_formula
    >>> term = parse_formula("y ~ s(x, z, pc = c(1, -2), xt = list(max.knots = 3000))").terms[1]
    >>> [read_option(a, term, ["x", "z"]) for a in term.args[2:]]
    [('pc', {'x': 1.0, 'z': -2.0}), ('xt', {'max.knots': 3000.0})]
"""

from __future__ import annotations

from typing import Any

from ..errors import FormulaError
from ..formula import CallTerm
from ..lexer import Expr, Token, split_top

#: the arguments of s() and t2() brmc reads
OPTIONS = {"s": ("k", "bs", "by", "m", "fx", "pc", "xt"), "t2": ("k", "bs", "by")}

#: mgcv's arguments that brms 2.18 does not honour, with what brms does with them
IGNORED_BY_BRMS = {
    "id": ("brms builds each smooth with mgcv's smoothCon(), which does not link smooths by id (only "
           "gam() does): in brms every smooth keeps its own sds, whatever its id"),
    "sp": ("brms estimates the smooth's sds and ignores a fixed smoothing parameter (sp is read only by "
           "mgcv's gam()); to fix a smooth's wiggliness, set a prior on its sds"),
}

#: the arguments of mgcv's t2() that brmc does not read yet
_T2_LATER = ("m", "d", "xt", "full", "ord", "pc")

#: the entries of xt that mgcv's thin plate constructors read
_TP_XT = ("max.knots", "seed")


def _number(tokens: list[Token]) -> float | None:
    """A (signed) number literal's value, ``None`` for anything else."""
    sign = 1.0
    if len(tokens) == 2 and tokens[0].text in {"-", "+"}:
        sign, tokens = (-1.0 if tokens[0].text == "-" else 1.0), tokens[1:]
    if len(tokens) == 1 and tokens[0].kind == "number":
        return sign * float(tokens[0].text.rstrip("L"))
    return None


def _call_items(tokens: list[Token], func: str) -> list[list[Token]] | None:
    """The arguments of ``func(...)`` written as the whole value, ``None`` if it is not that call."""
    if len(tokens) >= 3 and tokens[0].text == func and tokens[1].text == "(" and tokens[-1].text == ")":
        inner = tokens[2:-1]
        return split_top(inner, ",") if inner else []
    return None


def _named_numbers(tokens: list[Token], term: CallTerm, name: str) -> dict[str, float] | None:
    """``list(a = 1, b = 2)`` as ``{"a": 1.0, "b": 2.0}`` (``None`` if not a list)."""
    items = _call_items(tokens, "list")
    if items is None:
        return None
    out = {}
    for item in items:
        value = _number(item[2:]) if len(item) >= 3 and item[1].text == "=" else None
        if value is None or item[0].kind != "name":
            raise FormulaError(f"In {term}: {name} = list(...) takes named numbers, such as "
                               f"list(x = 1), not {Expr(item)!s}.")
        out[item[0].text.strip("`")] = value
    return out


def _point(expr: Expr, term: CallTerm, covariates: list[str]) -> dict[str, float]:
    """``pc``: one number per covariate, as a number, ``c(...)`` or ``list(x = ...)`` (mgcv's ``s()``)."""
    toks = list(expr.tokens)
    named = _named_numbers(toks, term, "pc")
    if named is not None:
        missing = [c for c in covariates if c not in named]
        if missing:
            raise FormulaError(f"The point constraint pc = {expr} of {term} gives no value for "
                               f"{', '.join(missing)}: name each covariate ({', '.join(covariates)}).")
        return {c: named[c] for c in covariates}
    items = _call_items(toks, "c")
    values = [_number(i) for i in items] if items is not None else [_number(toks)]
    if any(v is None for v in values):
        raise FormulaError(f"The point constraint pc = {expr} of {term} must be numbers: a number, "
                           f"c(...) or list(x = ...), one value per covariate.")
    if len(values) < len(covariates):  # mgcv's s(): "supply a value for each variable for a point constraint"
        raise FormulaError(f"supply a value for each variable for a point constraint: {term} has "
                           f"{len(covariates)} covariates ({', '.join(covariates)}) and pc = {expr}.")
    return dict(zip(covariates, values))


def _extra(expr: Expr, term: CallTerm) -> dict[str, float]:
    """``xt``: for brmc's bases only the thin plate splines' ``list(max.knots = , seed = )``."""
    entries = _named_numbers(list(expr.tokens), term, "xt")
    if entries is None:
        raise FormulaError(f"The argument xt = {expr} of {term} is not one brmc can read: of brmc's bases only "
                           f"the thin plate splines (bs = 'tp', 'ts') read xt, as list(max.knots = 3000, "
                           f"seed = 1).")
    unknown = [e for e in entries if e not in _TP_XT]
    if unknown:
        raise FormulaError(f"In {term}: mgcv's thin plate basis reads max.knots and seed from xt, not "
                           f"{', '.join(unknown)}.")
    return entries


def _scalar(expr: Expr, term: CallTerm, name: str) -> Any:
    """``k``, ``bs``, ``by``, ``m``, ``fx``: a number, a string, TRUE/FALSE or a column name."""
    toks = expr.tokens
    if len(toks) == 1 and toks[0].kind == "string":
        return toks[0].text[1:-1]
    if len(toks) == 1 and toks[0].text in {"TRUE", "FALSE", "T", "F"}:
        return toks[0].text.startswith("T")
    if len(toks) == 1 and toks[0].kind == "name" and name == "by":
        return toks[0].text.strip("`")
    if len(toks) == 1 and toks[0].kind == "number" and name in {"k", "m"}:
        return int(float(toks[0].text.rstrip("L")))
    raise FormulaError(f"The argument {name} = {expr} of {term} is not one brmc can read: write a number, "
                       f"a quoted basis name or a column name (vectors such as c(...) are not supported yet).")


def refuse(term: CallTerm, name: str) -> FormulaError:
    """The error for an argument brmc does not read, saying what brms does with it."""
    if name in IGNORED_BY_BRMS:
        return FormulaError(f"The argument {name} of {term} is refused: {IGNORED_BY_BRMS[name]}. Remove "
                            f"{name} = ... for the model brms fits.")
    if term.name == "t2" and name in _T2_LATER:
        return FormulaError(f"The argument {name} of {term.name}() is not supported by brmc yet; {term.name}() "
                            f"takes {', '.join(OPTIONS[term.name])} (in {term}).")
    return FormulaError(f"{term.name}() takes the arguments {', '.join(OPTIONS[term.name])} in brmc, not "
                        f"{name!r} (in {term}).")


def read_option(arg: Expr, term: CallTerm, covariates: list[str]) -> tuple[str, Any]:
    """One ``name = value`` argument of ``s()``/``t2()``: its name and value.

    Parameters
    ----------
    arg : Expr
        The argument as written.
    term : CallTerm
        The smooth term (for messages).
    covariates : list of str
        The smooth's covariates (they name the values of ``pc``).

    Returns
    -------
    tuple
        ``(name, value)``: ``pc`` as ``{covariate: value}``, ``xt`` as ``{entry: value}``.

    Raises
    ------
    FormulaError
        An argument brmc does not read (:func:`refuse`) or a value it cannot.

    Examples
    --------
    >>> from brmc.formula import parse_formula
    >>> term = parse_formula('y ~ s(x, bs = "cr", pc = 0.5)').terms[1]
    >>> read_option(term.args[1], term, ["x"]), read_option(term.args[2], term, ["x"])
    (('bs', 'cr'), ('pc', {'x': 0.5}))
    """
    toks = list(arg.tokens)
    name = toks[0].text
    if name not in OPTIONS[term.name]:
        raise refuse(term, name)
    value = Expr(toks[2:])
    if name == "pc":
        return name, _point(value, term, covariates)
    if name == "xt":
        return name, _extra(value, term)
    return name, _scalar(value, term, name)


def check_basis_options(term: CallTerm, options: dict[str, Any]) -> None:
    """Refuse what mgcv's constructors would: ``xt`` of a basis that does not read it, ``pc`` of ``re``."""
    bs = options.get("bs", "tp")
    if "xt" in options and bs not in ("tp", "ts"):
        raise FormulaError(f"The basis bs = '{bs}' of {term} reads no xt (mgcv's constructor ignores it, and "
                           f"so does brms): remove xt = ..., which only the thin plate bases 'tp' and 'ts' take.")
    if "pc" in options and bs == "re":
        raise FormulaError(f"A point constraint pc needs a numeric smooth; {term} is a random-effect smooth "
                           f"(bs = 're'), which has no constraint to replace.")
