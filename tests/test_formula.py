"""The brms formula parser: terms, expansions, R spellings and refusals."""

from __future__ import annotations

import pytest

from brmc.errors import FormulaError
from brmc.formula import parse_formula


def groups(text: str) -> list[tuple[str, str, bool]]:
    return [(g.expr, g.group, g.correlated) for g in parse_formula(text).group_terms]


def test_response_population_and_group_terms() -> None:
    f = parse_formula("Reaction ~ Days + (Days | Subject)")
    assert (f.response, f.population, f.has_intercept) == ("Reaction", "Days", True)
    assert groups("Reaction ~ Days + (Days | Subject)") == [("Days", "Subject", True)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("y ~ (1|g)", [("1", "g", True)]),
        ("y ~ x + (1 + x|g)", [("1 + x", "g", True)]),
        ("y ~ x + (0 + x|g)", [("0 + x", "g", True)]),
        ("y ~ x + (x||g)", [("x", "g", False)]),
        ("y ~ (1|g1/g2)", [("1", "g1", True), ("1", "g1:g2", True)]),
        ("y ~ (1|a/b/c)", [("1", "a", True), ("1", "a:b", True), ("1", "a:b:c", True)]),
        ("y ~ (1|g1:g2)", [("1", "g1:g2", True)]),
        ("y ~ (1|g) + (0 + x|g)", [("1", "g", True), ("0 + x", "g", True)]),
        ("y ~ x + (1|s) + (1|d)", [("1", "s", True), ("1", "d", True)]),
    ],
)
def test_group_terms(text: str, expected: list) -> None:
    assert groups(text) == expected


def test_population_without_group_terms_and_intercept_rules() -> None:
    assert parse_formula("y ~ (1|g)").population == "1"
    assert not parse_formula("y ~ 0 + x").has_intercept
    assert not parse_formula("y ~ x - 1").has_intercept
    assert parse_formula("y ~ x + (0 + x | g)").has_intercept


def test_r_spellings_are_translated_and_printed_like_r() -> None:
    f = parse_formula("y~I(x^2)+factor(z)*w+(1|g)")
    assert f.population == "I(x**2) + factor(z) * w"
    assert f.text == "y ~ I(x^2) + factor(z) * w + (1 | g)"
    assert parse_formula("score ~ subject*gender + (1|school:class)").text == (
        "score ~ subject * gender + (1 | school:class)"
    )


def test_addition_terms() -> None:
    f = parse_formula("m | trials(n) ~ 1 + (1 | batch)")
    assert f.response == "m" and f.additions == {"trials": ["n"]}


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("y ~ (x + 1", "Unclosed '('"),
        ("y ~ x + 1)", "Unbalanced ')'"),
        ("y ~ x ~ z", "exactly one '~'"),
        ("y x", "exactly one '~'"),
        ("~ x", "no response"),
        ("y ~", "nothing after '~'"),
        ("y ~ x +", "ends with an operator"),
        ("y ~ x | g", "outside parentheses"),
        ("y ~ (1 | )", "grouping factor"),
        ("y ~ ( | g)", "effects before"),
        ("cbind(m, n - m) ~ 1 + (1 | batch)", "m | trials(n)"),
        ("y | foo(w) ~ x", "'foo'"),
        ("y ~ x + (1 | a + b | g)", "The ID of a group term"),
        ("y ~ x + (1 | a | b | g)", "Malformed group term"),
        ("y ~ x $ z", "Unexpected character '$' at position 7"),
    ],
)
def test_syntax_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(FormulaError) as err:
        parse_formula(text)
    assert message in str(err.value)


def test_error_shows_position() -> None:
    with pytest.raises(FormulaError) as err:
        parse_formula("y ~ x + (1 | g")
    assert "position 9" in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        'y ~ __import__("os").system("echo hi")',
        "y ~ eval(x)",
        "y ~ open(x)",
        "y ~ x.__class__",
        "y ~ np.log(x)",
        "y ~ os.system(x)",
    ],
)
def test_formulas_cannot_call_arbitrary_code(text: str) -> None:
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_caller_can_allow_a_function() -> None:
    with pytest.raises(FormulaError, match="myfun"):
        parse_formula("y ~ myfun(x)")
    assert parse_formula("y ~ myfun(x)", env_names=frozenset({"myfun"})).population == "myfun(x)"


def test_offset_is_taken_out_of_the_population_part() -> None:
    f = parse_formula("y ~ x + offset(log(n)) + (1 | g)")
    assert (f.population, f.offset) == ("x", "log(n)")
    assert parse_formula("y ~ offset(log(n))").population == "1"
    with pytest.raises(FormulaError, match="one offset"):
        parse_formula("y ~ offset(a) + offset(b)")
    with pytest.raises(FormulaError, match="term of its own"):
        parse_formula("y ~ I(offset(a))")
