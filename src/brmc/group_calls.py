"""brms's grouping calls after the bar of a group term: ``gr(g, cor = FALSE)`` and the
multi-membership ``mm(g1, g2, weights = cbind(w1, w2), scale = TRUE)`` (brms's ``gr()`` and
``mm()``, R/formula-re.R), read from the tokens without evaluating anything.

``gr(g)`` is the grouping factor ``g`` itself, ``cor = FALSE`` the ``||`` of ``(1 || g)``, ``id = p``
the ``p`` of ``(1 | p | g)``; ``by = x`` gives each level of the factor ``x`` its own standard
deviations and correlations, ``cov = A`` correlates the levels by the known matrix ``data2$A``
and ``dist = "student"`` makes the effects Student-t (:class:`GroupOptions`).  ``mm()``
makes one grouping factor over the union of its members' levels, named as brms names it
(``mmschoolclass``): each row belongs to every member with a weight (``1 / members`` by default;
``weights`` rescaled to sum to one per row unless ``scale = FALSE``).

Example:
    >>> from brmc.lexer import tokenize
    >>> spec = parse_group_call(tokenize("mm(school, class)"), "y ~ (1 | mm(school, class))")
    >>> spec.group, spec.members.groups, spec.members.weights
    ('mmschoolclass', ('school', 'class'), ())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .errors import FormulaError
from .lexer import Token, join_tokens, matching, split_top
from .term_calls import is_call

#: the calls brms reads after the bar of a group term, and the arguments each takes
GROUP_CALLS: dict[str, tuple[str, ...]] = {
    "gr": ("by", "cor", "id", "cov", "dist"),
    "mm": ("weights", "scale", "by", "cor", "id", "cov", "dist"),
}
#: brms's distributions of group-level effects (``gr(g, dist = "student")``)
DISTS = ("gaussian", "student")


@dataclass(frozen=True)
class GroupOptions:
    """What ``gr()`` and ``mm()`` say beyond the groups: the column ``by`` whose levels each get their
    own standard deviations and correlations (``""``: none), the name ``cov`` of a known covariance
    matrix of the levels in ``data2`` (``""``: none) and the distribution ``dist`` of the effects."""

    by: str = ""
    cov: str = ""
    dist: str = "gaussian"
    #: ``mm(g1, g2, by = cbind(b1, b2))``: the by column of each member (``by`` is then the matrix's text)
    by_columns: tuple[str, ...] = ()

    @property
    def variables(self) -> list[str]:
        """The data columns it reads (``by``)."""
        return list(self.by_columns) if self.by_columns else [self.by] if self.by else []


@dataclass(frozen=True)
class Members:
    """The members of a multi-membership term: its grouping columns, the columns of its
    ``weights`` matrix (none: equal weights) and whether the weights are scaled to sum to one."""

    groups: tuple[str, ...]
    weights: tuple[str, ...] = ()
    scale: bool = True


@dataclass(frozen=True)
class GroupCall:
    """What a grouping call says: the group's name, whether its effects are correlated, the
    members of an ``mm()`` (``None`` for ``gr()``), its ``by``/``cov``/``dist`` and its ``id``."""

    group: str
    correlated: bool = True
    members: Members | None = None
    options: GroupOptions = field(default_factory=GroupOptions)
    id: str = ""


def _name(tokens: list[Token], label: str, what: str) -> str:
    if len(tokens) != 1 or tokens[0].kind != "name":
        raise FormulaError(f"In {label}: {what} must be a column name, not {' '.join(t.text for t in tokens)!r}.")
    return tokens[0].text.strip("`")


def _logical(tokens: list[Token], label: str, key: str) -> bool:
    text = "".join(t.text for t in tokens)
    if text not in {"TRUE", "FALSE", "T", "F"}:
        raise FormulaError(f"In {label}: {key} takes TRUE or FALSE, not {text!r}.")
    return text in {"TRUE", "T"}


def _weights(tokens: list[Token], label: str, what: str = "weights") -> tuple[str, ...]:
    """``cbind(w1, w2)`` → ``("w1", "w2")``; one column name is a one-column matrix (``weights``
    or ``by`` of ``mm()``)."""
    if is_call(tokens, ["cbind"]):
        return tuple(_name(a, label, f"each column of {what}") for a in split_top(tokens[2:-1], ","))
    return (_name(tokens, label, what),)


def _id(tokens: list[Token], label: str) -> str:
    """``id = p``, ``id = 2`` or ``id = "p"``: the ID of ``(1 | p | g)``."""
    if len(tokens) != 1 or tokens[0].kind not in {"name", "number", "string"}:
        raise FormulaError(f"In {label}: id must be a name or number, not {join_tokens(tokens)!r}.")
    return tokens[0].text.strip("`'\"")


def _options(options: dict[str, list[Token]], func: str, label: str) -> GroupOptions:
    """``by``, ``cov`` and ``dist`` of a grouping call."""
    by, by_columns = "", ()
    if "by" in options and func == "mm":  # brms's mm(): a matrix, one column per member
        by, by_columns = join_tokens(options["by"]), _weights(options["by"], label, "by")
    elif "by" in options:
        by = _name(options["by"], label, "by")
    cov = _name(options["cov"], label, "cov (the name of a matrix in data2)") if "cov" in options else ""
    dist = "gaussian"
    if "dist" in options:
        tokens = options["dist"]
        dist = tokens[0].text.strip("'\"") if len(tokens) == 1 and tokens[0].kind == "string" else ""
        if dist not in DISTS:
            raise FormulaError(f"In {label}: dist must be one of {', '.join(map(repr, DISTS))}, "
                               f"not {join_tokens(tokens)!r}.")
    return GroupOptions(by, cov, dist, by_columns)


def parse_group_call(tokens: list[Token], text: str) -> GroupCall:
    """Read a ``gr()`` or ``mm()`` call (the tokens after the bar of a group term).

    Parameters
    ----------
    tokens : list of Token
        The call, as :func:`brmc.term_calls.is_call` of :data:`GROUP_CALLS` finds it.
    text : str
        The formula, for messages.

    Returns
    -------
    GroupCall

    Examples
    --------
    >>> from brmc.lexer import tokenize
    >>> parse_group_call(tokenize("gr(Subject, cor = FALSE)"), "").correlated
    False
    >>> parse_group_call(tokenize('gr(g, by = x, dist = "student")'), "").options
    GroupOptions(by='x', cov='', dist='student', by_columns=())
    """
    func, label = tokens[0].text, join_tokens(tokens)
    groups: list[str] = []
    options: dict[str, list[Token]] = {}
    for arg in split_top(tokens[2:-1], ","):
        if len(arg) >= 2 and arg[0].kind == "name" and arg[1].text == "=":
            if arg[0].text not in GROUP_CALLS[func]:
                raise FormulaError(f"Unknown argument {arg[0].text!r} in {label}; {func}() takes the grouping "
                                   f"factor{'s' if func == 'mm' else ''} and {', '.join(GROUP_CALLS[func])}.")
            options[arg[0].text] = arg[2:]
        else:
            groups.append(_name(arg, label, "a grouping factor"))
    correlated = _logical(options["cor"], label, "cor") if "cor" in options else True
    extra = {"options": _options(options, func, label), "id": _id(options["id"], label) if "id" in options else ""}
    if func == "gr":
        if len(groups) != 1:
            raise FormulaError(f"Grouping structure 'gr' expects only a single grouping term: {label}")
        return GroupCall(groups[0], correlated, **extra)
    if len(groups) < 2:
        raise FormulaError(f"Multi-membership terms require at least two grouping variables: {label}")
    weights = _weights(options["weights"], label) if "weights" in options else ()
    if weights and len(weights) != len(groups):
        raise FormulaError(f"Grouping structure 'mm' expects 'weights' to be a matrix with as many columns as "
                           f"grouping factors: {label} has {len(groups)} grouping factors and {len(weights)} "
                           "weight columns.")
    n_by = len(extra["options"].by_columns)
    if n_by and n_by != len(groups):
        raise FormulaError(f"Grouping structure 'mm' expects 'by' to be a matrix with as many columns as grouping "
                           f"factors: {label} has {len(groups)} grouping factors and {n_by} by columns "
                           f"(write by = cbind(...), one column per member).")
    scale = _logical(options["scale"], label, "scale") if "scale" in options else True
    return GroupCall("mm" + "".join(groups), correlated, Members(tuple(groups), weights, scale), **extra)


def group_call_arguments(tokens: list[Token]) -> set[int]:
    """Positions of the tokens inside the arguments of a ``gr()`` or ``mm()`` call, where
    ``cbind(w1, w2)`` is brms's matrix of weights."""
    inside: set[int] = set()
    for i, tok in enumerate(tokens[:-1]):
        if tok.kind == "name" and tok.text in GROUP_CALLS and tokens[i + 1].text == "(":
            inside.update(range(i + 2, i + 1 + matching(tokens[i + 1:], 0)))
    return inside


def refuse_group_calls_outside(population: list[Token], text: str) -> None:
    """``gr()`` and ``mm()`` belong after the bar of a group term (``(1 | mm(g1, g2))``)."""
    for tok, nxt in pairwise(population):
        if tok.kind == "name" and tok.text in GROUP_CALLS and nxt.text == "(":
            raise FormulaError(f"{tok.text}() names the groups of a group-level term and belongs after its bar, "
                               f"as in '(1 | {tok.text}(...))': {text!r}")
