"""Priors are objects from the rule that makes them to the table that prints them.

Counted, not timed: every call of the prior parser (:func:`brmc.distributions.parse_dist`) during a
``brm()`` call.  Before priors were objects a sleepstudy ``brm()`` parsed 6 texts with brms's
default priors (each default was written as text and parsed back) and 8 with one user prior.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import brmc
import brmc.distributions
from brmc.data import build_data
from brmc.distributions import Dist, parse_dist
from brmc.errors import PriorError
from brmc.formula import parse_formula
from brmc.model import prior_values
from brmc.priors import default_prior_table, pc_prior, resolve_priors
from brmc.terms.base import prior_row, student_t

from .conftest import SLEEP, calls_of

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def parser_calls(monkeypatch: pytest.MonkeyPatch):
    """The texts the prior parser is called on inside the block, wherever it is imported."""
    return calls_of(monkeypatch, brmc.distributions.parse_dist)


def test_brm_parses_only_the_users_priors(fit: brmc.Fit, monkeypatch: pytest.MonkeyPatch) -> None:
    data = brmc.datasets.load("sleepstudy")
    settings = {"chains": 2, "iter": 400, "seed": 11, "progress": False}  # the session fit's: no new compilation
    with parser_calls(monkeypatch) as texts, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = brmc.brm(SLEEP, data, **settings)
        str(again), repr(again.prior_summary()), repr(brmc.get_prior(SLEEP, data))
    assert texts == []
    with parser_calls(monkeypatch) as texts, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        brmc.brm(SLEEP, data, prior=brmc.prior("student_t(3, 0, 10)", class_="sd"), **settings)
    assert texts == ["student_t(3, 0, 10)"]  # once, in brmc.prior


@pytest.mark.parametrize(("formula", "data", "family"), [
    (SLEEP, "sleepstudy", "gaussian"),
    ("Reaction ~ Days", "sleepstudy", "shifted_lognormal"),
    ("accel ~ gp(times, k = 10, c = 5/4)", "mcycle", "gaussian"),
    ("Reaction ~ mo(Days)", "sleepstudy", "student"),
])
def test_tables_and_the_resolved_spec_hold_objects(formula: str, data: str, family: str) -> None:
    md = build_data(parse_formula(formula), brmc.datasets.load(data), brmc.get_family(family))
    table = default_prior_table(md)
    assert all(d is None or isinstance(d, Dist) for d in table["prior"])
    spec = resolve_priors(md)
    assert all(p.dist is None or (isinstance(p.dist, Dist) and p.dist.numeric) for p in spec.params)
    if family == "shifted_lognormal":  # brms's uniform(0, min_Y): printed so, the smallest response in the model
        assert str(table.loc[table["class"] == "ndt", "prior"].item()) == "uniform(0, min_Y)"
        ndt = next(p for p in spec.params if p.param == "ndt")
        assert ndt.dist == Dist("uniform", (0.0, float(brmc.datasets.load(data)["Reaction"].min())))
    printed = brmc.get_prior(formula, brmc.datasets.load(data), family=family)
    assert all(isinstance(text, str) for text in printed["prior"])


def test_a_rule_may_give_brms_text_or_an_object() -> None:
    assert prior_row("student_t(3, 0, 2.5)", "sd", lb="0") == prior_row(student_t(0, 2.5), "sd", lb="0")
    assert prior_row("", "b")["prior"] is None
    assert str(student_t(288.7, 59.3)) == "student_t(3, 288.7, 59.3)"


def test_a_dist_prints_as_written_or_as_r_prints_numbers() -> None:
    assert str(parse_dist("normal(0,10)")) == "normal(0,10)"  # brms prints a user's text as written
    assert str(Dist("normal", (0.0, 1e5))) == "normal(0, 1e+05)"
    assert parse_dist(" normal(0,10) ") == Dist("normal", (0.0, 10.0))
    assert parse_dist("lkj_corr_cholesky(2)") == Dist("lkj", (2.0,))
    with pytest.raises(PriorError, match="sigma must be positive, got -1"):
        Dist("normal", (0.0, -1.0))
    with pytest.raises(PriorError, match=r"normal takes 2 argument\(s\)"):
        Dist("normal", (0.0,))
    with pytest.raises(PriorError, match="arguments must be numbers"):
        parse_dist("normal(0, sd)")
    assert Dist("uniform", (0.0, "min_Y")).bind({"min_Y": 3.5}) == Dist("uniform", (0.0, 3.5))


def test_pc_prior_is_the_number_its_text_says() -> None:
    p = pc_prior(30.0, 0.05, group="Subject")
    rate = p.dist.args[0]
    assert rate == pytest.approx(-np.log(0.05) / 30.0, rel=1e-14)
    assert parse_dist(p.prior) == p.dist  # a saved fit stores the text: it loads the same prior


def test_a_fit_saved_before_priors_were_objects_loads() -> None:
    """tests/fixtures/sleep_priors_v1.brmc was saved by main's brmc before this change."""
    loaded = brmc.load(FIXTURES / "sleep_priors_v1.brmc")
    expected = (FIXTURES / "sleep_priors_v1_prior_summary.txt").read_text().rstrip("\n")
    assert repr(loaded.prior_summary()) == expected
    dists = {(p.param, p.position): p.dist for p in loaded.priors.params}
    rate = pc_prior(30.0, 0.05).dist.args[0]
    assert dists == {("b", 0): Dist("normal", (0.0, 10.0)), ("Intercept", 0): Dist("student_t", (3.0, 288.7, 59.3)),
                     ("sd_1", 0): Dist("exponential", (rate,)), ("sd_1", 1): Dist("exponential", (rate,)),
                     ("L_1", 0): Dist("lkj", (2.0,)), ("sigma", 0): Dist("exponential", (0.1,))}
    values = prior_values(loaded.priors)
    np.testing.assert_array_equal(values["hp_sd_1_exponential"], [[rate, rate]])
    np.testing.assert_array_equal(values["hp_b_normal"], [[0.0], [10.0]])
