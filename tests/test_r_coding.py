"""Factors in interactions coded as R's ``model.matrix`` codes them.

R codes a factor in a term by contrasts when the term with that factor removed is
empty or contained in an earlier term (terms by degree, then as written), by
indicators of every level otherwise; with no intercept, the first factor of the
first term holding one gets indicators (``TermCode`` in R's ``model.c``; *Statistical
Models in S*, p. 38).  R is not available here: the expected columns below are
written out by hand from that rule (R's names: the variables in formula order, the
first varying fastest), and each column's values are recomputed in the test as the
product its name says (``a2:x`` = [a == 2] * x).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.data import build_data
from brmc.families import get_family
from brmc.formula import parse_formula
from brmc.rcoding import term_codes

A3 = ["1", "2", "3"]
CASES = {
    # no main effects: both factors by indicators, beside the intercept (rank-deficient, as R)
    "y ~ a:b": ["Intercept", *[f"a{i}:b{j}" for j in "12" for i in A3]],
    "y ~ 0 + a:b": [f"a{i}:b{j}" for j in "12" for i in A3],
    # the a main effect (by indicators: no intercept) comes first, so b in a:b is contrasted
    "y ~ 0 + a:b + a": ["a1", "a2", "a3", *[f"a{i}:b2" for i in A3]],
    "y ~ a:b + c": ["Intercept", "c2", *[f"a{i}:b{j}" for j in "12" for i in A3]],
    "y ~ a + a:b": ["Intercept", "a2", "a3", *[f"a{i}:b2" for i in A3]],
    "y ~ b + a:b": ["Intercept", "b2", *[f"b{j}:a{i}" for i in "23" for j in "12"]],
    "y ~ a * b": ["Intercept", "a2", "a3", "b2", "a2:b2", "a3:b2"],
    "y ~ a + b + a:b:c": ["Intercept", "a2", "a3", "b2",
                          *[f"a{i}:b{j}:c{k}" for k in "12" for j in "12" for i in A3]],
    "y ~ x + x:a": ["Intercept", "x", "x:a2", "x:a3"],
    "y ~ a:x": ["Intercept", "a1:x", "a2:x", "a3:x"],
    "y ~ x:a": ["Intercept", "x:a1", "x:a2", "x:a3"],
    "y ~ a + a:x": ["Intercept", "a2", "a3", "a1:x", "a2:x", "a3:x"],
    "y ~ 0 + x + a": ["x", "a1", "a2", "a3"],
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 24
    return pd.DataFrame({"a": np.tile(A3, 8), "b": np.repeat(["1", "2"], 12), "c": np.tile(["1", "1", "2", "2"], 6),
                         "x": rng.normal(size=n).round(2), "y": rng.normal(size=n), "g": np.tile(list("pqrs"), 6)})


def expected_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column's values from its R name: the product of level indicators (a2) and numeric columns."""
    out = np.ones(len(frame))
    if name == "Intercept":
        return out
    for part in name.split(":"):
        var, level = part[0], part[1:]
        out = out * (frame[var].to_numpy(float) if var == "x" else (frame[var] == level).to_numpy(float))
    return out


@pytest.mark.parametrize("formula", list(CASES))
def test_population_columns_and_names_are_rs(frame, formula: str) -> None:
    lp = build_data(parse_formula(formula), frame, get_family("gaussian")).predictors["mu"]
    names = (["Intercept"] if lp.has_intercept else []) + lp.b_names
    assert names == CASES[formula]
    expected = np.column_stack([expected_column(frame, n) for n in CASES[formula]])
    np.testing.assert_allclose(lp.X, expected, atol=1e-12)


def test_get_prior_rows_and_parameter_names_are_brms(frame) -> None:
    tab = brmc.get_prior("y ~ a:b + (0 + a:b | g)", frame)
    coefs = sorted(f"a{i}:b{j}" for j in "12" for i in A3)
    assert list(tab.loc[(tab["class"] == "b") & (tab["coef"] != ""), "coef"]) == coefs
    sd = tab[(tab["class"] == "sd") & (tab["group"] == "g") & (tab["coef"] != "")]
    assert list(sd["coef"]) == coefs
    md = build_data(parse_formula("y ~ a:b + (0 + a:b | g)"), frame, get_family("gaussian"))
    assert md.blocks[0].coefs == [f"a{i}:b{j}" for j in "12" for i in A3]
    np.testing.assert_allclose(md.blocks[0].Z, np.column_stack([expected_column(frame, n)
                                                                for n in md.blocks[0].coefs]), atol=1e-12)


def test_new_rows_get_the_training_coding(frame) -> None:
    md = build_data(parse_formula("y ~ x + x:a + a:b + (0 + a:b | g)"), frame, get_family("gaussian"))
    new = pd.DataFrame({"a": ["3", "1"], "b": ["2", "1"], "c": ["1", "1"], "x": [0.5, -1.0], "g": ["p", "q"]})
    design = brmc.predict.new_design(md, new)["mu"]
    lp = md.predictors["mu"]
    names = ["Intercept", *lp.b_names] if lp.has_intercept else lp.b_names
    assert names[:4] == ["Intercept", "x", "x:a2", "x:a3"]
    np.testing.assert_allclose(design.X, np.column_stack([expected_column(new, n) for n in names]), atol=1e-12)


def test_term_codes_follow_rs_rule() -> None:
    """The rule itself: a margin contained in an earlier term (not only equal to one) gives contrasts."""
    codes = term_codes([("a", "c"), ("a", "b", "c")], {"a", "b", "c"}, ["a", "b", "c"], intercept=True)
    assert codes == [{"a": True, "c": True}, {"a": True, "b": False, "c": True}]
    assert term_codes([("x",), ("a",)], {"a"}, ["x", "a"], intercept=False) == [{}, {"a": True}]
