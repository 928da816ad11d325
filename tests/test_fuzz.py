"""Property-based robustness of the formula parser and the data stage.

Formulas are generated from brms's grammar (they must parse, and the parse
must match what was generated) and then mutated: characters inserted, deleted
or replaced, long runs, cuts, pieces swapped (the parser must return a formula
or raise ``BrmsError`` — never another exception, never a hang).  Mutations
also go through ``get_prior`` so that no formulae/pandas/NumPy exception
reaches the user from the data stage.  The code-injection tests check the side
effect (a file that must not appear), not only the error.

The default run draws 300 examples per property; the ``slow`` group re-runs
the parser property on 10,000 and the data-stage property on 2,000
(``BRMC_FUZZ_EXAMPLES`` sets the first, the second is a fifth of it).  Seeds
are derandomized so every run tests the same examples.
"""

from __future__ import annotations

import os
import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import brmc
from brmc.autocor import parse_autocor
from brmc.errors import BrmsError, FamilyError, FormulaError
from brmc.formula import BrmsFormula, parse_formula
from brmc.multivariate import mvbf
from brmc.nonlinear import (
    Binary,
    Call,
    Name,
    Number,
    Unary,
    evaluate,
    parse_expression,
    unparse,
)

SLOW_EXAMPLES = int(os.environ.get("BRMC_FUZZ_EXAMPLES", "10000"))

#: wall-clock limit per example; a hang fails the test instead of stalling CI.  (Hypothesis's own
#: ``deadline`` is off: on a shared 2-core CI machine it reports slow-but-correct runs as flaky.)
HANG_SECONDS = 10

FUZZ = settings(
    max_examples=300,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_SLOW = settings(FUZZ, max_examples=SLOW_EXAMPLES)
FUZZ_DATA_SLOW = settings(FUZZ, max_examples=max(SLOW_EXAMPLES // 5, FUZZ.max_examples))

NUMERIC = ("x", "z", "w")
FACTORS = ("g", "h")


@pytest.fixture(scope="module")
def small_df() -> pd.DataFrame:
    """Twelve rows: numeric y, x, z, w (positive); k successes of n trials; factors g (3 levels), h (2), and gb, hb
    constant within g and h (for ``gr(g, by = gb)``)."""
    rng = np.random.default_rng(20240601)
    frame = pd.DataFrame({
        "y": rng.normal(size=12), "x": rng.normal(size=12), "z": rng.normal(size=12),
        "g": list("abc") * 4, "h": list("uv") * 6, "n": np.full(12, 10), "k": rng.integers(0, 11, 12),
        "w": rng.uniform(1, 2, 12),
    })
    return frame.assign(gb=frame["g"].map({"a": "p", "b": "p", "c": "r"}), hb=frame["h"].map({"u": "p", "v": "r"}))


# --------------------------------------------------------------------------- grammar


@dataclass(frozen=True)
class Generated:
    """A formula from the grammar and the facts the parser must recover."""

    text: str
    response: str
    additions: tuple[str, ...]
    groups: tuple[tuple[str, bool], ...]  # (grouping factor after '/' expansion, correlated)
    has_intercept: bool


def _spaced(draw, *parts: str) -> str:
    """Join parts with random spacing (none, one or two blanks)."""
    out = parts[0]
    for part in parts[1:]:
        out += draw(st.sampled_from(["", " ", "  "])) + part
    return out


@st.composite
def population_terms(draw) -> str:
    var = st.sampled_from(NUMERIC)
    kind = draw(st.sampled_from(["var", "factor", "I", "log", "colon", "star", "scale", "special"]))
    if kind == "var":
        return draw(var)
    if kind == "special":  # the calls of the term kinds (terms/sm.py, sp.py, gp.py)
        v = draw(var)
        return draw(st.sampled_from([f"s({v})", f"s({v}, k = 5)", f's({v}, bs = "cr", k = 5)', "s(g, bs = 're')",
                                     f"s({v}, by = h)", f"t2({v}, z)", f"gp({v}, k = 5, c = 5/4)", f"gp({v})",
                                     f"gp({v}, by = h, cmc = FALSE)", f"gp({v}, cov = 'exp_quad')",
                                     f"s({v}, fx = TRUE)", f"s({v}, pc = 0)", f's({v}, bs = "cr", k = 5, pc = -1)',
                                     f"s({v}, z, pc = list(z = 0, {v} = 1), k = 5)" if v != "z" else "s(z, pc = 1)",
                                     f"s({v}, xt = list(max.knots = 50, seed = 2))",
                                     "mo(k)", "mo(k) * x", "mo(k):w"]))
    if kind == "factor":
        name = draw(st.sampled_from(FACTORS))
        return draw(st.sampled_from([name, f"factor({name})"]))
    if kind == "I":
        return _spaced(draw, "I(", draw(var), "^", draw(st.sampled_from(["2", "3"])), ")")
    if kind == "log":
        return _spaced(draw, draw(st.sampled_from(["log", "sqrt", "exp"])), "(", "w", ")")
    if kind == "scale":
        v = draw(var)
        return draw(st.sampled_from([f"scale({v})", f"center({v})", f"poly({v}, 2)"]))
    a, b = draw(st.lists(var, min_size=2, max_size=2, unique=True))
    return _spaced(draw, a, ":" if kind == "colon" else "*", b)


@st.composite
def group_terms(draw) -> tuple[str, tuple[tuple[str, bool], ...]]:
    expr = draw(st.sampled_from(["1", "x", "1 + x", "0 + x", "x + z", "1 + I(x^2)"]))
    bar = draw(st.sampled_from(["|", "||"]))
    a, b = draw(st.permutations(FACTORS))
    # brms's grouping calls (group_calls.py): gr() is the factor itself, mm() one factor named mm<members>
    # gr()'s by (a column constant within the groups), dist and, on correlated bars, id
    ids = [f"gr({a}, id = {a}id)"] if bar == "|" else []
    spec = draw(st.sampled_from([a, f"{a}/{b}", f"{a}:{b}", f"gr({a})", f"gr({a}, cor = FALSE)", f"mm({a}, {b})",
                                 f"mm({a}, {b}, weights = cbind(w, x), scale = FALSE)", f"gr({a}, by = {a}b)",
                                 f'gr({a}, dist = "student")', f"mm({a}, {b}, by = cbind({a}b, {b}b))", f'gr({a}, by = {a}b, dist = "student", cor = FALSE)',
                                 *ids]))
    factors = ([a, f"{a}:{b}"] if "/" in spec else [f"mm{a}{b}"] if spec.startswith("mm") else
               [a] if spec.startswith("gr") else [spec])
    wraps = draw(st.sampled_from([1, 1, 1, 2]))  # lme4 and brms accept ((1 | g))
    term = _spaced(draw, "(" * wraps, expr, bar, spec, ")" * wraps)
    return term, tuple((f, bar == "|" and "cor = FALSE" not in spec) for f in factors)


@st.composite
def formulas(draw) -> Generated:
    additions = draw(st.one_of(st.lists(st.sampled_from(["trials(n)", "weights(w)"]), unique=True, max_size=2),
                               st.just(["mi()"])))  # brms's missing response (terms/mi.py), alone
    response = "k" if "trials(n)" in additions else "y"
    lhs = response + (" | " + " + ".join(additions) if additions else "")
    pop = [(term, ()) for term in draw(st.lists(population_terms(), max_size=4))]
    parts = draw(st.permutations(pop + draw(st.lists(group_terms(), max_size=3))))
    intercept = draw(st.sampled_from(["", "1", "0", "-1"]))
    terms = [term for term, _ in parts]
    if intercept in {"0", "1"}:
        terms = [intercept, *terms]
    elif intercept == "-1" and terms:
        terms = [*terms, "- 1"]
    rhs = " + ".join(terms).replace("+ - 1", "- 1") or "1"
    return Generated(
        text=_spaced(draw, lhs, "~", rhs),
        response=response,
        additions=tuple(a.split("(")[0] for a in additions),
        groups=tuple(fact for _, facts in parts for fact in facts),
        has_intercept=intercept not in {"0", "-1"} or not terms,
    )


# --------------------------------------------------------------------------- mutations

POOL = list("()|~+*:^$@!\"'.,[]{}\\`%=<>-/0123456789 xyzgh_") + [
    "é", "λ", "٣", "𝑥", "\u00a0", "\u200b", "\u2028", "\x00", "\n", "\t", "||", "~~", "__", "((", "))",
    "(1|g)", "(x||h)", "trials(", "mi(", "I(", "log(", "lambda", "import", "0", "-1", "1e5", ".5",
]
#: whole pieces swapped for others: keeps the syntax valid more often, so the data stage is reached.
SWAP_FROM = ["x", "z", "w", "g", "h", "y", "k", "n", "1", "0", "+", "*", ":", "|", "||", "/", "(", "log", "I"]
SWAP_TO = SWAP_FROM + ["q", "G", "xx", "I(g)", "log(x)", "factor(x)", "poly(x, 2)", "scale(g)", "x/g", "y",
                       "%in%", "0 +", "- 1", "1e-3", "(1|y)", "(g|h)", "(1|x)", "(1|n)", "trials(n)",
                       "s(x)", "s(g, bs = 're')", "t2(x, z)", "mo(k)", "mo(x)", "gp(x, k = 3, c = 1)", "s(x, by = g)",
                       "gp(x, cmc = FALSE)", "gp(x, cov = 'matern32')", "mi(x)", "mi()", "mi(x):z", "mi(x, z)", "ar(x, g)", "ma(time = z, q = 2)", "arma(x, h, 2, 1)", "cosy(w, g)", "ar(gr = g)", "ar(p = 0)",
                       "unstr(x, g)", "unstr(gr = h)",
                       "s(x, id = 1)", "s(x, sp = 2)", "s(x, pc = c(0, 1))", "s(x, z, pc = c(1, 0))", "s(x, xt = 2)",
                       "s(x, xt = list(max.knots = 5))", 's(x, bs = "cr", xt = list(max.knots = 50))', "list(", "c(",
                       "cs(x)", "gr(g)", "mm(g, h)", "mm(g, h, weights = cbind(w, x))", "gr(g, by = h)",
                       "gr(g, by = gb)", "mm(g, h, by = cbind(gb, hb))", "mm(g, h, by = gb)",
                       "mo(k):w + (mo(k):w | g)", "(1 + mo(k):w | h)", "(w:mo(k) | g)", "mo(k) + (mo(k) | mm(g, h))", 'gr(g, dist = "student")', "gr(g, id = p)", "gr(g, cov = A)", "gr(h, by = x)",
                       "cbind(k, n)", "cbind(y, x, z)"]


MUTATIONS = ("insert", "delete", "replace", "run", "cut", "swap")
#: mostly whole-piece swaps, so that most texts still parse and reach the data stage.
GENTLE = ("swap", "swap", "swap", "swap", "insert", "delete", "replace")


@st.composite
def mutated(draw, ops: tuple[str, ...] = MUTATIONS) -> str:
    """A grammar formula after one to four random edits drawn from ``ops``."""
    text = draw(formulas()).text
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(ops))
        i = draw(st.integers(0, len(text)))
        if op == "insert":
            text = text[:i] + draw(st.sampled_from(POOL)) + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + 1 :]
        elif op == "replace":
            text = text[:i] + draw(st.sampled_from(POOL)) + text[i + 1 :]
        elif op == "swap":
            piece = draw(st.sampled_from(SWAP_FROM))
            text = text[:i] + text[i:].replace(piece, draw(st.sampled_from(SWAP_TO)), 1)
        elif op == "run":
            text = text[:i] + draw(st.sampled_from(POOL)) * draw(st.integers(2, 5000)) + text[i:]
        else:
            j = draw(st.integers(i, len(text)))
            text = text[:i] + text[j:]
    return text


# --------------------------------------------------------------------------- properties


class Hang(BaseException):
    """Raised by :func:`no_hang`; a BaseException so that no ``except Exception`` can wrap it."""


@contextmanager
def no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    """Fail with :class:`Hang` if the block runs longer than ``seconds`` (SIGALRM, main thread)."""

    def expire(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _grammar_property(gen: Generated) -> None:
    with no_hang():
        f = parse_formula(gen.text)
    assert f.response == gen.response
    assert tuple(f.additions) == gen.additions
    assert tuple((g.group, g.correlated) for g in f.group_terms) == gen.groups
    assert f.has_intercept == gen.has_intercept
    again = parse_formula(f.text)  # what brmc prints parses back to the same formula
    assert (again.response, again.population, again.group_terms, again.additions) == (
        f.response, f.population, f.group_terms, f.additions)


def _parse_property(text: str) -> None:
    try:
        with no_hang():
            result = parse_formula(text)
    except BrmsError:
        return
    assert isinstance(result, BrmsFormula)


test_grammar_formulas_parse = FUZZ(given(formulas())(_grammar_property))
test_mutated_formulas_parse_or_raise_brms_error = FUZZ(given(mutated())(_parse_property))
test_mutated_formulas_parse_or_raise_brms_error_10k = pytest.mark.slow(
    FUZZ_SLOW(given(mutated())(_parse_property))
)


@FUZZ
@given(gen=formulas())
def test_grammar_formulas_pass_the_data_stage(small_df, gen: Generated) -> None:
    family = "binomial" if "trials" in gen.additions else "gaussian"
    with warnings.catch_warnings(), no_hang():
        warnings.simplefilter("ignore")
        table = brmc.get_prior(gen.text, small_df, family=family)
    assert ("sd" in set(table["class"])) == bool(gen.groups)


def _data_stage_property(small_df: pd.DataFrame, text: str) -> None:
    family = "binomial" if "trials" in text else "gaussian"
    with warnings.catch_warnings(), no_hang():
        warnings.simplefilter("ignore")
        try:
            brmc.get_prior(text, small_df, family=family)
        except BrmsError:
            pass


test_mutated_formulas_in_the_data_stage_raise_only_brms_errors = FUZZ(
    given(text=mutated(GENTLE))(_data_stage_property)
)
test_mutated_formulas_in_the_data_stage_raise_only_brms_errors_slow = pytest.mark.slow(
    FUZZ_DATA_SLOW(given(text=mutated(GENTLE))(_data_stage_property))
)


def test_no_hang_catches_a_hang() -> None:
    with pytest.raises(Hang):
        with no_hang(0.05):
            while True:
                pass


# --------------------------------------------------------------------------- inputs fuzzing found


@pytest.mark.parametrize(
    "text, message",
    [
        ("y ~ x z", "Missing operator between 'x' and 'z' at position 7"),  # was read as column 'xz'
        ("y ~ x + (1|g) x", "Missing operator between ')' and 'x'"),
        ("y ~ x + (1|g)(1|h)", "Missing operator between ')' and '('"),
        ("y ~ x, z", "',' can only separate the arguments"),  # formulae dropped ', z' silently
        ("y ~ x = z", "'=' can only separate the arguments"),
        ("y ~ (x ~ z)", "Stray '~' inside parentheses at position 8"),  # formulae dropped '~ z'
        ("(y ~ x)", "exactly one '~', outside parentheses"),
        ("y ~ log(x | g)", "'|' inside a function call"),
        ("y ~ x * (1|g) + z", "only be added to the rest of the formula with '+', not '*'"),  # was 'x * +z'
        ("y ~ (1|g) * x", "not '*'"),
        ("y ~ x:(1|g)", "not ':'"),
        ("y ~ x + (x + | g)", "Nothing after '+' at position 12"),
        ("y ~ poly(x, )", "Nothing after ','"),
        ("y ~ x + ()", "Empty parentheses at position 9"),
        ("y ~ ٣", "Unexpected character '٣'"),  # Unicode digits were numbers
        ("y ~ I(x * 1e400)", "The number 1e400 is out of range"),  # and 1e99999999 a 100 MB string
        ("y ~ (1e5000000000000000001 || g)", "is out of range"),  # beyond what Decimal reads
        ("y ~ x + gr(g)", "belongs after its bar"),  # formulae would not know gr()
        ("y ~ weights(w)", "after '|' in the response"),
        ("trials(n) ~ x", "cannot be used as the response"),
        ("y | trials() ~ x", "needs an argument"),
        ("y | weights(w) | trials(n) ~ x", "Stray '|' in the response at position 16"),
        ("log(y | x) ~ z", "Stray '|' in the response at position 7"),
        ("y ~ x + mo(k) * - 1", "'*' needs a term on each side"),  # an IndexError in expand_products
    ],
)
def test_parser_refusals_found_by_fuzzing(text: str, message: str) -> None:
    with pytest.raises(FormulaError) as err:
        parse_formula(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "text, population, groups",
    [
        ("y ~ x + ((1|g))", "x", [("1", "g")]),  # lme4/brms accept redundant parentheses; was dropped
        ("y ~ (((x || h)))", "1", [("x", "h")]),
        ("y ~ (1 + I(x^2) | g)", "1", [("1 + I(x**2)", "g")]),  # group terms in formulae spelling too
        ("y ~ (factor(h) | g)", "1", [("factor(h)", "g")]),
        ("y ~ I(x * .5) + I(x * 1e-3)", "I(x * 0.5) + I(x * 0.001)", []),  # '.5' was a column name
    ],
)
def test_parser_readings_found_by_fuzzing(text: str, population: str, groups: list) -> None:
    f = parse_formula(text)
    assert f.population == population
    assert [(g.expr, g.group) for g in f.group_terms] == groups


@pytest.mark.parametrize(
    "text",
    ["y ~ 0", "y ~ -1", "y ~ 0 + (1 | g)", "y ~ (1 | g) - 1", "y ~ g/h"],
)
def test_data_stage_inputs_found_by_fuzzing(small_df, text: str) -> None:
    """Valid R formulas that made formulae/NumPy raise AttributeError or IndexError in the data stage."""
    try:
        brmc.get_prior(text, small_df)
    except BrmsError:
        pass


# --------------------------------------------------------------------------- code injection

#: Python expressions that create the file ``{path}`` when evaluated; each must be refused unrun.
PAYLOADS = [
    '__import__("os").system("touch {path}")',
    "eval('open(r\"{path}\", \"w\")')",
    "exec('open(r\"{path}\", \"w\")')",
    'open(r"{path}", "w")',
    'I(open(r"{path}", "w"))',
    'C(g, open(r"{path}", "w"))',
    'getattr(__import__("builtins"), "open")(r"{path}", "w")',
    '(lambda: open(r"{path}", "w"))()',
    '[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "_wrap_close"][0]'
    '.__init__.__globals__["system"]("touch {path}")',
    'x.__class__.__mro__[-1].__subclasses__()[0].__init__.__globals__["__builtins__"]["open"](r"{path}", "w")',
    'np.os.system("touch {path}")',
    'numpy.lib.npyio.os.system("touch {path}")',
    'log.__self__.os.system("touch {path}")',
    'f"{{open(r\'{path}\', \'w\')}}"',
    '{{open(r"{path}", "w")}}',
    'ｏｐｅｎ(r"{path}", "w")',  # fullwidth letters: Python NFKC-normalises identifiers to 'open'
    '`__import__`("os").system("touch {path}")',
    '`open`(r"{path}", "w")',
    'x\nopen(r"{path}", "w")',
    'x; open(r"{path}", "w")',
    'breakpoint.__self__.open(r"{path}", "w")',
]


def _formulas_around(payload: str) -> list[str]:
    """The payload in every place a formula can hold code."""
    return [
        f"y ~ {payload}",
        f"y ~ x + {payload} + (1 | g)",
        f"y ~ x + (1 + {payload} | g)",
        f"y ~ x + (1 | {payload})",
        f"y | weights({payload}) ~ x",
        f"{payload} ~ x",
        f"@{payload}\ny ~ x",
    ]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formulas_run_no_code(small_df, tmp_path, payload: str) -> None:
    target = tmp_path / "pwned"
    code = payload.format(path=target)
    for text in _formulas_around(code):
        with pytest.raises(FormulaError):
            parse_formula(text)
        with pytest.raises(BrmsError):
            brmc.get_prior(text, small_df)
        with pytest.raises(BrmsError):
            brmc.get_prior(text, small_df, env={"np": np, "numpy": np, "twice": lambda v: 2 * v})
        assert not target.exists(), text


def test_payloads_would_create_the_file(tmp_path) -> None:
    """The refusals above matter: evaluated as Python, the plain payloads do create the file."""
    runnable = [p for p in PAYLOADS if not p.startswith(("I(", "C(", "np.", "numpy.", "log.", "x", "{", "`"))]
    for payload in runnable:
        target = tmp_path / "pwned"
        eval(compile(payload.format(path=target), "<payload>", "eval"), {})  # noqa: S307
        assert target.exists(), payload
        target.unlink()


def test_quoted_names_are_names_not_code(small_df, tmp_path) -> None:
    """A backticked name is looked up as a column, never evaluated."""
    target = tmp_path / "pwned"
    text = f'y ~ `open(r"{target}", "w")`'
    assert parse_formula(text).variables() == ["y", f'open(r"{target}", "w")']
    with pytest.raises(BrmsError, match="not in the data"):
        brmc.get_prior(text, small_df)
    assert not target.exists()


def test_env_functions_expose_no_attributes(small_df, tmp_path) -> None:
    target = tmp_path / "pwned"
    env = {"twice": lambda v: 2 * v}
    assert set(brmc.get_prior("y ~ twice(x)", small_df, env=env)["coef"]) >= {"twicex"}
    for text in ["y ~ twice.__globals__", "y ~ twice.func(x)", f'y ~ twice(x).tofile(r"{target}")']:
        with pytest.raises(FormulaError):
            parse_formula(text, env_names=frozenset(env))
    assert not target.exists()


# --------------------------------------------------------------------------- families
FAMILY_NAMES = sorted(brmc.families.FAMILIES) + sorted(brmc.families.NOT_YET)
LINK_NAMES = sorted(brmc.families.LINKS)


@FUZZ
@given(family=st.sampled_from(FAMILY_NAMES) | st.text(min_size=1, max_size=12),
       link=st.sampled_from(LINK_NAMES) | st.none() | st.text(max_size=8),
       response=st.sampled_from(["y", "k | trials(n)", "w", "k", "g", "cbind(k, n) | trials(n)", "cbind(x, w)"]))
def test_any_family_link_and_response_fits_or_raises_a_brms_error(small_df, family: str, link, response: str) -> None:
    """Every family with every link on every kind of response: a prior table or a BrmsError; a link
    the family lacks is a FamilyError naming the family's links."""
    with warnings.catch_warnings(), no_hang():
        warnings.simplefilter("ignore")
        try:
            fam = brmc.get_family(family, link)
        except brmc.errors.FamilyError as err:
            if family in brmc.families.FAMILIES:
                assert f"Allowed links: {', '.join(brmc.get_family(family).links)}." in str(err)
            return
        try:
            brmc.get_prior(f"{response} ~ x + (1 | g)", small_df, family=fam)
        except BrmsError:
            pass


MATRIX_COLUMNS = {"multinomial": ("c1", "c2", "c3", "c4"), "dirichlet": ("p1", "p2", "p3", "p4")}


@pytest.fixture(scope="module")
def matrix_df(small_df) -> pd.DataFrame:
    """small_df with counts c1..c4 (row totals ``tot``) and proportions p1..p4 (rows on the simplex)."""
    rng = np.random.default_rng(7)
    counts = rng.multinomial(12, [0.1, 0.2, 0.3, 0.4], size=len(small_df))
    shares = rng.dirichlet(np.ones(4), size=len(small_df))
    return small_df.assign(tot=12, **{f"c{k + 1}": counts[:, k] for k in range(4)},
                           **{f"p{k + 1}": shares[:, k] for k in range(4)})


@st.composite
def matrix_formulas(draw) -> tuple[str, str, list[str], str | None]:
    """A cbind() response of two to four columns (of counts or proportions, or a mix) for a matrix family
    or another one, with the grammar's right-hand sides."""
    family = draw(st.sampled_from(["multinomial", "dirichlet", "gaussian", "categorical", "binomial"]))
    pool = MATRIX_COLUMNS.get(family, MATRIX_COLUMNS["multinomial"])
    mixed = draw(st.booleans()) and draw(st.booleans())
    columns = draw(st.lists(st.sampled_from(pool + (("y", "x") if mixed else ())), min_size=2, max_size=4,
                            unique=True))
    refcat = draw(st.none() | st.sampled_from(columns + ["nope"]))
    trials = " | trials(tot)" if family in {"multinomial", "binomial"} and draw(st.integers(0, 4)) else ""
    gen = draw(formulas())
    rhs = gen.text.split("~", 1)[1]
    return f"cbind({', '.join(columns)}){trials} ~{rhs}", family, columns, refcat


@settings(FUZZ, max_examples=100)
@given(case=matrix_formulas())
def test_cbind_responses_name_their_categories_or_raise_a_brms_error(matrix_df, case) -> None:
    """cbind() responses: a matrix family on valid columns gives mu<column> rows for every column but the
    reference (the first, or refcat); anything else a BrmsError."""
    text, family, columns, refcat = case
    # only all four columns add up (to the trials, to 1); refcat is an option of categorical-like families
    valid = (set(columns) <= set(MATRIX_COLUMNS.get(family, ())) and len(columns) == 4 and refcat in (None, *columns)
             and (family != "multinomial" or "trials" in text))
    with warnings.catch_warnings(), no_hang():
        warnings.simplefilter("ignore")
        try:
            fam = brmc.get_family(family, **({"refcat": refcat} if refcat else {}))
            table = brmc.get_prior(text, matrix_df, family=fam)
        except BrmsError:
            assert not valid, text
            return
    assert valid, text
    ref = refcat or columns[0]
    assert sorted(set(table["dpar"]) - {"", "phi"}) == sorted(f"mu{c}" for c in columns if c != ref)


# --------------------------------------------------------------------------- non-linear expressions

NL_NAMES = ("a", "b", "x", "theta", "`my x`", ".v")
NL_TOKENS = [*NL_NAMES, "0", "1", "2.5", ".5", "1e-3", "1e400", "+", "-", "*", "/", "^", "**", "(", ")", ",", "=",
             "~", "|", ":", "$", "@", "[", "]", "'s'", '"s"', "<", "!", "%in%", "exp(", "pow(", "inv_logit(",
             "fmin(", "foo(", "lambda", "__import__(", ".__class__", " ", "\n", "λ", ""]
NL_VALUES = {"a": 1.5, "b": -0.5, "x": np.linspace(0.1, 2.0, 4), "theta": 2.0, "my x": 0.25, ".v": 3.0}


@st.composite
def nl_token_strings(draw) -> str:
    return "".join(draw(st.lists(st.sampled_from(NL_TOKENS), max_size=25)))


def _nl_leaf():
    return st.one_of(
        st.sampled_from([n.strip("`") for n in NL_NAMES]).map(Name),
        st.floats(0, 1e6, allow_nan=False).map(Number),
    )


def _nl_extend(children):
    binary = st.tuples(st.sampled_from("+-*/^"), children, children).map(lambda t: Binary(*t))
    unary = st.tuples(st.sampled_from("-+"), children).map(lambda t: Unary(*t))
    unary_call = st.tuples(st.sampled_from(["exp", "log1p", "inv_logit", "sqrt", "Phi"]), children).map(
        lambda t: Call(t[0], (t[1],)))
    binary_call = st.tuples(st.sampled_from(["pow", "fmin", "fmax", "hypot"]), children, children).map(
        lambda t: Call(t[0], (t[1], t[2])))
    return st.one_of(binary, unary, unary_call, binary_call)


nl_trees = st.recursive(_nl_leaf(), _nl_extend, max_leaves=20)


@FUZZ
@given(text=nl_token_strings())
def test_nonlinear_token_strings_parse_or_raise_formula_error(text: str) -> None:
    """Any string of the language's (and other) tokens: a tree or a FormulaError, nothing else; what
    parses also evaluates and writes back to text that parses to the same tree."""
    try:
        with no_hang():
            expr = parse_expression(text)
    except FormulaError:
        return
    assert parse_expression(unparse(expr.tree)).tree == expr.tree
    with np.errstate(all="ignore"):
        evaluate(expr.tree, {name: NL_VALUES.get(name, 1.0) for name in expr.names()})


@FUZZ
@given(tree=nl_trees)
def test_nonlinear_trees_round_trip(tree) -> None:
    """A random tree written out with unparse() parses back to the same tree (R's precedence and
    right-associative '^' with signed exponents, minimal parentheses)."""
    text = unparse(tree)
    assert parse_expression(text).tree == tree, text


@pytest.mark.parametrize("payload", [*PAYLOADS, "x[0]", "(lambda: 1)()", "'a' * 3", "{x}",
                                     "x if x else x", "x; y", "f'{x}'", "exp.__call__(1)"])
def test_nonlinear_formulas_run_no_code(tmp_path, payload: str) -> None:
    """Every payload is refused in every place of a non-linear formula, and nothing ran."""
    target = tmp_path / "pwned"
    code = payload.format(path=target) if "{path}" in payload else payload
    for text in [code, f"a * {code}", f"exp({code})", f"pow(a, {code})"]:
        with pytest.raises(FormulaError):
            parse_expression(text)
    assert not target.exists()


def test_nonlinear_python_keywords_are_plain_names() -> None:
    """'exec' or 'import' alone is a name (a parameter or covariate), looked up, never run; R names
    may hold dots, so 'x.__class__' is one name, a key of the namespace, not an attribute access."""
    assert parse_expression("exec * import + eval").names() == ["exec", "import", "eval"]
    expr = parse_expression("x.__class__ * 2")
    assert expr.names() == ["x.__class__"]
    assert evaluate(expr.tree, {"x.__class__": 1.5}) == 3.0
    with pytest.raises(FormulaError, match="'x.__class__', which is neither"):
        expr.check_names([], ["x"])


# --------------------------------------------------------------------------- non-linear formulas in bf(nl=True)

#: nlpar formulas for the generated non-linear formulas: a, b and theta have one; x is a column, the others are neither
NL_PFORMS = ("a ~ 1 + (1 | g)", "b ~ x", "theta ~ 1")


def _nl_data_stage(small_df: pd.DataFrame, main: str, *pforms: str) -> pd.DataFrame | None:
    """bf(main, *pforms, nl=True) through get_prior: its table, or None where a BrmsError refused it."""
    try:
        with warnings.catch_warnings(), no_hang():
            warnings.simplefilter("ignore")
            return brmc.get_prior(brmc.bf(main, *pforms, nl=True), small_df)
    except BrmsError:
        return None


@FUZZ
@given(tree=nl_trees)
def test_nl_formulas_of_random_trees_give_the_nlpars_they_use(small_df, tree) -> None:
    """A random expression as bf()'s non-linear formula: the prior table has the b rows of exactly the nlpars
    it uses (with every formula used), or a FormulaError names what is wrong (a name that is neither, an unused
    formula, no nlpar at all); nothing else escapes."""
    text = unparse(tree)
    names = parse_expression(text).names()
    pforms = [p for p in NL_PFORMS if p.split(" ~ ")[0] in names]
    try:
        with no_hang():
            table = brmc.get_prior(brmc.bf(f"y ~ {text}", *pforms, nl=True), small_df)
    except FormulaError:
        assert not pforms or set(names) - {"a", "b", "theta", "x"}, text
        return
    assert set(table.loc[table["class"] == "b", "nlpar"]) == {p.split(" ~ ")[0] for p in pforms}, text


#: the expression's tokens and pieces of a nlpar's formula
NL_PFORM_TOKENS = [*NL_TOKENS, "a ~ ", "b ~ ", "g", "(1 | g)", "s(x)"]


@FUZZ
@given(main=nl_token_strings(), pform=st.lists(st.sampled_from(NL_PFORM_TOKENS), max_size=12).map("".join))
def test_nl_formula_texts_pass_or_raise_a_brms_error(small_df, main: str, pform: str) -> None:
    """Random texts as the non-linear formula and as a nlpar's formula: a table or a BrmsError."""
    _nl_data_stage(small_df, f"y ~ {main}", "a ~ 1", pform or "b ~ 1")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_nl_formulas_run_no_code(small_df, tmp_path, payload: str) -> None:
    """Every payload, as the non-linear expression, inside it, as a nlpar's formula or its name, is refused
    unrun: bf(nl=True) parses the expression with the whitelisted language, never Python's eval."""
    target = tmp_path / "pwned"
    code = payload.format(path=target)
    cases = [(f"y ~ {code}", "a ~ 1"), (f"y ~ a * {code}", "a ~ 1"), (f"y ~ a * exp({code})", "a ~ 1"),
             ("y ~ a * x", f"a ~ {code}"), ("y ~ a * x", f"a ~ 1 + (1 | {code})"), (f"{code} ~ a * x", "a ~ 1")]
    for main, pform in cases:
        assert _nl_data_stage(small_df, main, pform) is None, (main, pform)
    assert not target.exists()


# --------------------------------------------------------------------------- autocorrelation and mvbind terms

TERM_TOKENS = ["ar", "ma", "arma", "cosy", "unstr", "mvbind", "(", ")", ",", "=", "time", "gr", "p", "q", "cov", "Days",
               "Subject", "1", "2", "-1", "1.5", "TRUE", "F", "NA", "~", "|", "x", "y1", "y2", "log(", "'s'", " ",
               "weights(w)", "+", ":", "$", "__import__(", "", "mvbind(y1, y2) ~ ", "(1 | p | Subject)", "||"]


#: autocorrelation terms on small_df (x, z, w: distinct times; g, h: groups) and the class of their parameters
AC_TERMS = {"ar(time = x, gr = g)": {"ar"}, "ar(x, g, 2)": {"ar"}, "ma(time = z, gr = h, q = 2)": {"ma"},
            "arma(time = w, gr = g, p = 1, q = 1)": {"ar", "ma"}, "arma(x, p = 2, q = 0)": {"ar"},
            "cosy(time = x, gr = h)": {"cosy"}, "cosy(z)": {"cosy"},
            "unstr(time = x, gr = h)": {"cortime"}, "unstr(z, g)": {"cortime"}}


@FUZZ
@given(gen=formulas(), ac=st.sampled_from(sorted(AC_TERMS)), where=st.integers(0, 1))
def test_grammar_formulas_with_an_autocorrelation_term(small_df, gen: Generated, ac: str, where: int) -> None:
    """A grammar formula plus one ar()/ma()/arma()/cosy()/unstr() term, first or last on the right: it parses into
    one term of kind ac, and get_prior gives the term's classes (binomial: refused naming the family)."""
    lhs, rhs = gen.text.split("~", 1)
    text = f"{lhs}~ {ac} + {rhs}" if where == 0 else f"{gen.text} + {ac}"
    with no_hang():
        parsed = parse_formula(text)
    assert [str(t) for t in parsed.of_kind("ac")] == [ac]
    with warnings.catch_warnings(), no_hang():
        warnings.simplefilter("ignore")
        if "trials" in gen.additions:
            with pytest.raises(FamilyError, match=r"family 'binomial' needs brms's latent residuals"):
                brmc.get_prior(text, small_df, family="binomial")
            return
        table = brmc.get_prior(text, small_df)
    assert {"ar", "ma", "cosy", "cortime"} & set(table["class"]) == AC_TERMS[ac]


@FUZZ
@given(text=st.lists(st.sampled_from(TERM_TOKENS), max_size=16).map("".join))
def test_autocor_and_mvbind_texts_parse_or_raise_formula_error(text: str) -> None:
    """Random texts from the terms' tokens: parse_autocor(), mvbf() and bf() (mvbind() responses and
    group-level IDs (1 | p | g) among them) return or raise FormulaError."""
    for read in (parse_autocor, mvbf, brmc.bf):
        try:
            with no_hang():
                read(text)
        except FormulaError:
            pass


JSPR = brmc.datasets.load("jspr")
MV_TERMS = ["craven", "social", "gender", "craven * gender", "0", "1", "(1 | p | school)", "(1 | q | school)",
            "(craven | p | school)", "(1 || school)", "(1 | p | class)", "(1 | school:class)", "offset(craven)", "+",
            "ar(time = id, gr = school)", "ma(time = id)", "cosy(time = id, gr = school)", "me(craven, 0.5)"]


@FUZZ
@given(lhs=st.lists(st.sampled_from(["english", "math", "craven"]), min_size=1, max_size=3),
       rhs=st.lists(st.sampled_from(MV_TERMS), min_size=1, max_size=5).map(" + ".join),
       rescor=st.sampled_from([True, False, None]))
def test_random_multivariate_formulas_give_brms_tables_or_errors(lhs: list[str], rhs: str, rescor) -> None:
    """mvbind() of random responses on random right-hand sides (IDs across responses, the same ID on two
    grouping factors, a response twice): get_prior() gives a table whose rows name only the model's
    responses (or none), with a rescor row when rescor is set or defaults to TRUE; or a BrmsError."""
    try:
        with no_hang(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = brmc.get_prior(brmc.mvbf(f"mvbind({', '.join(lhs)}) ~ {rhs}", rescor=rescor), JSPR)
    except BrmsError:
        return
    assert set(table["resp"]) <= {"", *lhs}
    assert ("rescor" in set(table["class"])) == (rescor is not False)
    assert not ("cosy" in set(table["class"]) and rescor is not False)  # brms refuses covariance terms with rescor
    assert set(table.loc[table["class"].isin(["ar", "ma", "cosy"]), "resp"]) <= set(lhs)  # named by response
    assert set(table.loc[table["class"].isin(["meanme", "sdme"]), "resp"]) <= {""}  # shared latent values


NHANES = brmc.datasets.load("nhanes")
MI_TERMS = ["age", "hyp", "mi(chl)", "mi(bmi)", "mi(hyp)", "age * mi(chl)", "mi(chl):age", "mi(bmi):hyp", "chl",
            "mi(log(chl))", "mi(chl, age)", "mi(chl, idx = age)", "mi(bmi, idx = log(age))", "(1 | hyp)", "0", "1"]


@FUZZ
@given(lhs=st.lists(st.sampled_from(["bmi", "bmi | mi()", "chl", "chl | mi()", "hyp | mi()", "chl | mi() + index(age)"]),
                    min_size=1,
                    max_size=3),
       rhs=st.lists(st.lists(st.sampled_from(MI_TERMS), min_size=1, max_size=4).map(" + ".join), min_size=3,
                    max_size=3))
def test_random_mi_models_give_brms_tables_or_errors(lhs: list[str], rhs: list[str]) -> None:
    """bf() + bf() of random responses with or without mi() (nhanes keeps its missing values) on random
    right-hand sides with mi() terms: get_prior() gives a table with a b row of each response's mi()
    terms, or a BrmsError (a mi(x) of a variable that is no response with mi(), say)."""
    forms = [brmc.bf(f"{y} ~ {x}") for y, x in zip(lhs, rhs)]
    try:
        with no_hang(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = brmc.get_prior(mvbf(*forms, rescor=False) if len(forms) > 1 else forms[0], NHANES)
    except BrmsError:
        return
    rows = set(zip(table["class"], table["coef"]))
    assert all(("b", t.replace("(", "").replace(")", "")) in rows for x in rhs[:len(lhs)] for t in x.split(" + ")
               if t.startswith("mi(") and ":" not in t and "," not in t)


JSPR_AD = JSPR.assign(s=np.arange(len(JSPR)) % 3 > 0, sd=1.0 + (np.arange(len(JSPR)) % 5) / 10, w=1.0,
                      id=np.arange(len(JSPR)))
MV_ADDITIONS = ["subset(s)", "se(sd)", "se(sd, sigma = TRUE)", "weights(w)", "mi()", "cens(s)", "trunc(lb = -100)",
                "index(id)"]


@settings(FUZZ, max_examples=60)  # each example builds two responses' data on jspr's 953 rows
@given(additions=st.lists(st.lists(st.sampled_from(MV_ADDITIONS), max_size=3, unique=True), min_size=2, max_size=2),
       rhs=st.lists(st.sampled_from(MV_TERMS[:7]), min_size=1, max_size=3).map(" + ".join),
       rescor=st.sampled_from([True, False]))
def test_random_multivariate_addition_terms_give_brms_tables_or_errors(additions: list[list[str]], rhs: str,
                                                                       rescor: bool) -> None:
    """bf(english | ...) + bf(math | ...) with random addition terms (subset(), se(), weights(), mi(), and
    ones rescor refuses) and rescor on or off: a prior table naming only the responses, or a BrmsError;
    subset() (or cens()/trunc()) with rescor is always refused, the rescor refusal in brms's words."""
    forms = [brmc.bf(f"{y}{' | ' + ' + '.join(ad) if ad else ''} ~ {rhs}") for y, ad in zip(["english", "math"], additions)]
    refused = rescor and any(a.split("(")[0] in ("subset", "cens", "trunc") for ad in additions for a in ad)
    try:
        with no_hang(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = brmc.get_prior(mvbf(*forms, rescor=rescor), JSPR_AD)
    except BrmsError as err:
        assert "addition arguments when 'rescor'" not in str(err) or "Only se, weights, mi are supported" in str(err)
        return
    assert not refused
    assert set(table["resp"]) <= {"", "english", "math"}
