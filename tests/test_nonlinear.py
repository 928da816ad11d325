"""The non-linear formula language: parsing, R's precedence, evaluation in NumPy and PyTensor, errors.

Every expected value is a NumPy/SciPy expression written here independently of the parser; the
loss-development curve is checked against brms 2.18's data for the ``nl_loss`` reference model.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import scipy.special
import scipy.stats

from brmc.errors import DataError, FormulaError
from brmc.nlformula import covariate_data, lf, nlf
from brmc.nlfunctions import FUNCTIONS, PYTENSOR
from brmc.nonlinear import (
    MAX_DEPTH,
    Binary,
    Name,
    Number,
    Unary,
    evaluate,
    parse_expression,
    unparse,
)
from tests.conftest import reference_path

RNG = np.random.default_rng(1234)
NS = {
    "a": RNG.uniform(0.5, 2.0, 7), "b": RNG.normal(size=7), "c": RNG.normal(size=7),
    "x": RNG.uniform(0.1, 3.0, 7), "dev": np.arange(6.0, 90.0, 12.0),
    "ult": 5000.0, "theta": 40.0, "omega": 1.4,
}

FORMULAS = [
    ("ult * (1 - exp(-(dev / theta)^omega))",
     lambda v: v["ult"] * (1 - np.exp(-((v["dev"] / v["theta"]) ** v["omega"])))),
    ("a * exp(b * x)", lambda v: v["a"] * np.exp(v["b"] * v["x"])),
    ("inv_logit(c) * a + (1 - inv_logit(c)) * x",
     lambda v: scipy.special.expit(v["c"]) * v["a"] + (1 - scipy.special.expit(v["c"])) * v["x"]),
    ("a - b * x^2 / 2", lambda v: v["a"] - v["b"] * v["x"] ** 2 / 2),
    ("a - b - c", lambda v: (v["a"] - v["b"]) - v["c"]),
    ("a / b / c", lambda v: (v["a"] / v["b"]) / v["c"]),
    ("a^x^0.5", lambda v: v["a"] ** (v["x"] ** 0.5)),
    ("-a^2", lambda v: -(v["a"] ** 2)),
    ("(-a)^2", lambda v: (-v["a"]) ** 2),
    ("a^-x", lambda v: v["a"] ** (-v["x"])),
    ("a^-x^2", lambda v: v["a"] ** (-(v["x"] ** 2))),
    ("2^-1 * a", lambda v: 0.5 * v["a"]),
    ("a ** 2 * b", lambda v: v["a"] ** 2 * v["b"]),
    ("a * -b", lambda v: v["a"] * -v["b"]),
    ("a - -b + +c", lambda v: v["a"] + v["b"] + v["c"]),
    ("-a * b", lambda v: -v["a"] * v["b"]),
    ("a + b * (x - omega) * step(x - omega)",
     lambda v: v["a"] + v["b"] * (v["x"] - v["omega"]) * (v["x"] >= v["omega"])),
    ("Phi(b) * sqrt(x) + log1p(x) - expm1(c / 10)",
     lambda v: scipy.stats.norm.cdf(v["b"]) * np.sqrt(v["x"]) + np.log1p(v["x"]) - np.expm1(v["c"] / 10)),
    ("fmax(a, x) - fmin(b, c) + pow(x, 1.5)",
     lambda v: np.maximum(v["a"], v["x"]) - np.minimum(v["b"], v["c"]) + v["x"] ** 1.5),
    ("logit(inv_logit(b)) + square(c) + inv(a) + abs(b)",
     lambda v: v["b"] + v["c"] ** 2 + 1 / v["a"] + np.abs(v["b"])),
    ("`x` * 1e-3 + .5", lambda v: v["x"] * 1e-3 + 0.5),
]


@pytest.mark.parametrize("text, expected", FORMULAS, ids=[t for t, _ in FORMULAS])
def test_numpy_evaluation_matches_an_independent_expression(text, expected) -> None:
    np.testing.assert_allclose(evaluate(parse_expression(text).tree, NS), expected(NS), rtol=1e-12)


@pytest.mark.parametrize("text", [t for t, _ in FORMULAS])
def test_pytensor_evaluation_equals_numpy(text) -> None:
    expr = parse_expression(text)
    names = expr.names()
    symbols = {n: pt.dvector(n) if np.ndim(NS[n]) else pt.dscalar(n) for n in names}
    fn = pytensor.function([symbols[n] for n in names], evaluate(expr.tree, symbols, PYTENSOR))
    # rtol 1e-6, not 1e-10: in one full-suite run two cases differed by 5e-8 relative (as if one side were
    # computed in single precision) after the other test files had run; alone they agree to 1e-15
    np.testing.assert_allclose(fn(*(NS[n] for n in names)), evaluate(expr.tree, NS), rtol=1e-6)


def test_precedence_follows_r() -> None:
    values = {text: float(evaluate(parse_expression(text).tree, {})) for text in
              ["-2^2", "2^-1", "2^3^2", "(2^3)^2", "-2^-2", "8 / 4 / 2", "8 - 4 - 2", "2 * 3^2", "-(1 - 3)^2"]}
    assert values == {"-2^2": -4.0, "2^-1": 0.5, "2^3^2": 512.0, "(2^3)^2": 64.0, "-2^-2": -0.25,
                      "8 / 4 / 2": 1.0, "8 - 4 - 2": 2.0, "2 * 3^2": 18.0, "-(1 - 3)^2": -4.0}


#: each function on a domain where it is defined, against NumPy/SciPy written independently.
FUNCTION_CHECKS = {
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log2": np.log2, "log10": np.log10,
    "log1p": np.log1p, "log1m": lambda x: np.log(1 - x), "log1p_exp": lambda x: np.log(1 + np.exp(x)),
    "log1m_exp": lambda x: np.log(1 - np.exp(-x - 1)), "sqrt": np.sqrt, "cbrt": np.cbrt,
    "square": np.square, "inv": lambda x: 1 / x, "inv_sqrt": lambda x: x ** -0.5, "inv_square": lambda x: x ** -2.0,
    "inv_logit": lambda x: 1 / (1 + np.exp(-x)), "logit": lambda x: np.log(x / (1 - x)),
    "log_inv_logit": lambda x: np.log(1 / (1 + np.exp(-x))), "log1m_inv_logit": lambda x: np.log(1 - 1 / (1 + np.exp(-x))),
    "inv_cloglog": lambda x: 1 - np.exp(-np.exp(x)), "Phi": scipy.stats.norm.cdf, "abs": np.abs, "fabs": np.abs,
    "step": lambda x: (x >= 0).astype(float), "floor": np.floor, "round": lambda x: np.copysign(np.floor(np.abs(x) + 0.5), x),
    "trunc": np.trunc, "lgamma": lambda x: np.log(np.abs(scipy.special.gamma(x))), "digamma": scipy.special.psi,
    "trigamma": lambda x: scipy.special.polygamma(1, x), "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": lambda x: np.arccosh(1 + x), "atanh": np.arctanh,
    "pow": np.power, "hypot": np.hypot, "fmin": np.minimum, "fmax": np.maximum, "atan2": np.arctan2,
    "log_sum_exp": np.logaddexp, "log_diff_exp": lambda x, y: np.log(np.exp(x) - np.exp(y - 1)),
    "lbeta": lambda a, b: np.log(scipy.special.beta(a, b)), "beta": scipy.special.beta,
    "multiply_log": lambda x, y: x * np.log(y),
}
#: the argument each check uses where the function's domain needs a shift.
ARGUMENT = {"log1m_exp": "-x - 1", "acosh": "1 + x", "log_diff_exp": "x, y - 1"}


def test_every_function_is_checked() -> None:
    assert set(FUNCTION_CHECKS) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_in_numpy_and_pytensor(name) -> None:
    func = FUNCTIONS[name]
    x = np.array([0.05, 0.3, 0.5, 0.77, 0.95])
    y = np.array([0.2, 0.9, 0.4, 0.6, 0.1])
    if name in {"floor", "round", "trunc", "step"}:
        x = np.array([-2.5, -0.5, 0.0, 1.5, 2.4]) * 3
    args = ARGUMENT.get(name, "x, y" if func.arity == 2 else "x")
    tree = parse_expression(f"{name}({args})").tree
    expected = FUNCTION_CHECKS[name](*([x, y][: func.arity]))
    np.testing.assert_allclose(evaluate(tree, {"x": x, "y": y}), expected, rtol=1e-10, atol=1e-14)
    sx, sy = pt.dvector("x"), pt.dvector("y")
    fn = pytensor.function([sx, sy], evaluate(tree, {"x": sx, "y": sy}, PYTENSOR), on_unused_input="ignore")
    np.testing.assert_allclose(fn(x, y), expected, rtol=1e-8, atol=1e-12)  # PyTensor's own digamma


def test_integer_covariates_use_real_arithmetic() -> None:
    """R's ^ and / on integer columns are double precision: 2^-1 = 0.5 and 3 / 2 = 1.5, in both backends."""
    expr = parse_expression("dev^k + dev / k")
    dev, k = np.array([2, 3, 4]), np.array([-1, 2, -2])
    expected = np.array([2.0**-1 + 2 / -1, 3.0**2 + 3 / 2, 4.0**-2 + 4 / -2])
    np.testing.assert_allclose(evaluate(expr.tree, {"dev": dev, "k": k}), expected, rtol=1e-15)
    sd, sk = pt.lvector("dev"), pt.lvector("k")
    fn = pytensor.function([sd, sk], evaluate(expr.tree, {"dev": sd, "k": sk}, PYTENSOR))
    np.testing.assert_allclose(fn(dev, k), expected, rtol=1e-15)


def test_stan_definitions_where_stan_and_brms_r_differ() -> None:
    """step(0) = 1 and cbrt(-8) = -2 as in Stan; multiply_log(0, 0) = 0."""
    tree = parse_expression("step(x) + cbrt(-8) + multiply_log(x, x)").tree
    with np.errstate(divide="ignore", invalid="ignore"):  # where() evaluates both branches
        assert float(evaluate(tree, {"x": 0.0})) == -1.0


def test_names_and_covariates() -> None:
    expr = parse_expression("ult * (1 - exp(-(dev / theta)^omega)) + dev")
    assert expr.names() == ["ult", "dev", "theta", "omega"]
    assert expr.covariates(["ult", "omega", "theta"]) == ["dev"]
    with pytest.raises(FormulaError, match=r"uses 'omega', which is neither a non-linear parameter \(with its "
                                           r"own formula in bf\(\): ult, theta\) nor a column"):
        expr.check_names(["ult", "theta"], ["dev", "cum"])


def test_nl_loss_data_and_curve_match_brms() -> None:
    """brms's nl_loss: C_1 is the integer dev column; the curve at brms's data and posterior means."""
    standata = json.loads(reference_path("nl_loss", "standata.json").read_text())
    loss = pd.read_csv(reference_path("nl_loss", "loss.csv"))
    expr = parse_expression("ult * (1 - exp(-(dev/theta)^omega))")
    data = covariate_data(expr, loss, ["ult", "omega", "theta"])
    assert list(data) == ["C_1"] and data["C_1"].dtype.kind == "i"
    np.testing.assert_array_equal(data["C_1"], standata["C_1"])
    np.testing.assert_allclose(loss["cum"], standata["Y"])
    ult, omega, theta = 5301.0, 1.33, 46.2  # about brms's posterior means
    dev = np.asarray(standata["C_1"], dtype=float)
    np.testing.assert_allclose(evaluate(expr.tree, {"ult": ult, "omega": omega, "theta": theta, "dev": data["C_1"]}),
                               ult * (1 - np.exp(-np.power(dev / theta, omega))), rtol=1e-12)


def test_nl_loss_curve_at_brms_posterior_means_matches_brms_fitted() -> None:
    """The curve at brms's posterior means (ult = b_ult_Intercept + r_AY__ult) against brms's fitted()
    means of the first 40 rows: the plug-in differs from the mean of the curve only by the curvature
    over the posterior, measured at most 0.095 posterior sd (0.56 %); a misparse (e.g. -(x)^w read
    as (-x)^w, NaN) is far outside 0.25 sd."""
    loss = pd.read_csv(reference_path("nl_loss", "loss.csv"))
    fitted = pd.read_csv(reference_path("nl_loss", "fitted_head40.csv"))
    draws = pd.read_csv(reference_path("nl_loss", "draws_summary.csv")).set_index("variable")["mean"]
    ranef = pd.read_csv(reference_path("nl_loss", "ranef_summary.csv"))
    r_ay = {int(v.split("[")[1].split(",")[0]): m for v, m in zip(ranef["variable"], ranef["mean"])}
    values = {"ult": draws["b_ult_Intercept"] + loss["AY"].map(r_ay).to_numpy(), "dev": loss["dev"].to_numpy(),
              "theta": draws["b_theta_Intercept"], "omega": draws["b_omega_Intercept"]}
    mu = evaluate(parse_expression("ult * (1 - exp(-(dev/theta)^omega))").tree, values)[:40]
    assert np.max(np.abs(mu - fitted["Estimate"]) / fitted["Est.Error"]) < 0.25


def test_covariate_data_factors() -> None:
    frame = pd.DataFrame({"x": [1.5, 2.5, 3.5], "f": ["u", "v", "u"], "g": ["p", "q", "r"]})
    out = covariate_data(parse_expression("a * x + b * f"),
                         frame, ["a", "b"], prefix="_y")
    assert list(out) == ["C_y_1", "C_y_2"]
    np.testing.assert_array_equal(out["C_y_2"], [0.0, 1.0, 0.0])
    with pytest.raises(DataError, match="'g' is a factor with 3 levels"):
        covariate_data(parse_expression("a * g"), frame, ["a"])


@pytest.mark.parametrize("text, message", [
    ("a * foo(x)", "Unknown function 'foo'; a non-linear formula may call Phi, abs, acos"),
    ("a * foo(x)", "at position 5:\n  a * foo(x)\n      ^"),
    ("pow(x)", "pow() takes 2 arguments, not 1"),
    ("exp(x, 2)", "exp() takes 1 argument, not 2"),
    ("exp(x = 2)", "Named argument 'x' in exp()"),
    ("a * 'x'", "A string ('x') cannot be used"),
    ('__import__("os")', "Unknown function '__import__'"),
    ("a$b", "Unexpected character '$'"),
    ("a@b", "Unexpected character '@'"),
    ("x[1]", "Unexpected character '['"),
    ("lambda: 1", "Unexpected ':'"),
    ("a b", "Missing operator before 'b' in the non-linear formula at position 3"),
    ("a ~ b", "Unexpected '~'"),
    ("a > b", "Unexpected '>' (the operators are + - * / ^)"),
    ("(a + b", "Missing ')' to close the '(' opened in the non-linear formula at position 1"),
    ("a + ", "The formula ends where a number, name or '(' was expected"),
    ("a + )", "Unexpected ')'"),
    ("a * 1e400", "The number 1e400 is out of range"),
    ("", "The non-linear formula is empty."),
    ("(" * (MAX_DEPTH + 5) + "a" + ")" * (MAX_DEPTH + 5), f"More than {MAX_DEPTH} nested levels"),
    ("a" + " + a" * (MAX_DEPTH + 5), f"nested more than {MAX_DEPTH} levels deep"),
])
def test_errors_name_the_token_and_position(text, message) -> None:
    with pytest.raises(FormulaError) as err:
        parse_expression(text)
    assert message in str(err.value)


def test_unparse_writes_minimal_parentheses() -> None:
    cases = {
        "ult * (1 - exp(-(dev / theta)^omega))": "ult * (1 - exp(-(dev / theta)^omega))",
        "a - (b - c)": "a - (b - c)", "(a - b) - c": "a - b - c", "a^(b^c)": "a^b^c", "(a^b)^c": "(a^b)^c",
        "-(a * b)": "-(a * b)", "(-a) * b": "-a * b", "a^(-b)": "a^-b", "2**x": "2^x", "`my var` + 1.5": "`my var` + 1.5",
    }
    assert {text: unparse(parse_expression(text).tree) for text in cases} == cases
    assert unparse(Binary("/", Name("a"), Unary("-", Number(0.25)))) == "a / -0.25"


def test_nlf_and_lf() -> None:
    f = nlf("sigma ~ a * exp(b * x)", loop=False)
    assert (f.par, f.expression.covariates(["a", "b"]), f.loop) == ("sigma", ["x"], False)
    assert lf("alpha + beta + lambda ~ 1", "z ~ x + (1 | g)", center=False).formulas == {
        "alpha": "1", "beta": "1", "lambda": "1", "z": "x + (1 | g)"}
    for bad, message in [("a ~ 1 ~ 2", "one '~'"), ("~ x", "one '~'"), ("a * b ~ 1", r"joined by '\+'"),
                         ("a + ~ 1", r"joined by '\+'")]:
        with pytest.raises(FormulaError, match=message):
            lf(bad)
    with pytest.raises(FormulaError, match="has two formulas"):
        lf("a ~ 1", "a + b ~ x")
    with pytest.raises(FormulaError, match="must be one name"):
        nlf("a + b ~ x")
