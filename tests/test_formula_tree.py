"""The formula is parsed once into a term tree; no later stage reads formula text again.

Counted, not timed: every call of brmc's tokenizer during a ``brm()`` call (and
during what follows it: printing, predictions for new data, ``re_formula``).
"""

from __future__ import annotations

import pickle
import warnings

import pytest

import brmc
import brmc.lexer
from brmc.formula import CallTerm, GroupTerm, PopulationTerm, bf, parse_formula

from .conftest import SLEEP, calls_of


def tokenizer_calls(monkeypatch: pytest.MonkeyPatch):
    """The texts brmc's tokenizer is called on inside the block, wherever it is imported."""
    return calls_of(monkeypatch, brmc.lexer.tokenize)


def test_the_tree_holds_each_kind_of_term() -> None:
    f = parse_formula("y ~ x + offset(log(n)) + (1 + x | g/h)")
    assert [type(t) for t in f.terms] == [PopulationTerm, GroupTerm, GroupTerm, CallTerm]
    assert [t.kind for t in f.terms] == ["fe", "re", "re", "offset"]
    assert f.terms[3].args == ("log(n)",) and f.terms[2].group == "g:h"
    assert f.variables() == ["y", "x", "n", "g", "h"]
    assert pickle.loads(pickle.dumps(f)) == f  # a fit's job crosses process boundaries


def test_brm_tokenizes_the_formula_once(fit: brmc.Fit, monkeypatch: pytest.MonkeyPatch) -> None:
    data = brmc.datasets.load("sleepstudy")
    with tokenizer_calls(monkeypatch) as texts, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = brmc.brm(SLEEP, data, chains=2, iter=400, seed=11, progress=False)  # the fixture's model
    assert texts == [SLEEP]
    with tokenizer_calls(monkeypatch) as texts:
        str(again)
        again.fitted(newdata=data.head(3))
        again.fitted(newdata=data.head(3), re_formula="~ (1 | Subject)")
    assert texts == ["y ~ (1 | Subject)"]  # the re_formula, a formula of its own: once


def test_bf_formulas_are_tokenized_once_each(monkeypatch: pytest.MonkeyPatch) -> None:
    data = brmc.datasets.load("sleepstudy")
    with tokenizer_calls(monkeypatch) as texts:
        brmc.make_model(bf("Reaction ~ Days + (1 | Subject)", sigma="~ Days"), data)
    assert texts == ["Reaction ~ Days + (1 | Subject)", "sigma ~ Days"]
