"""Monotonic effects (brmc.bases.monotonic) against brms 2.18's ``standata()`` and its Stan ``mo()``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor.tensor as pt
import pytest

from brmc import datasets
from brmc.bases.monotonic import Monotonic, SpecialTerm, mo
from brmc.errors import DataError
from tests.conftest import reference_standata

SLEEP = datasets.load("sleepstudy")


def test_mo_data_match_mo_sleep() -> None:
    ref = reference_standata("mo_sleep")
    term = SpecialTerm(SLEEP, ["Days"])
    (part,) = term.parts
    np.testing.assert_array_equal(part.Xmo, ref["Xmo_1"])
    assert [part.Jmo] == ref["Jmo"].tolist()
    np.testing.assert_array_equal(part.con_simo, ref["con_simo_1"])
    assert term.Csp is None


def test_mo_interaction_data_match_mo_interaction_sleep() -> None:
    """``mo(Days) * Days``: ``mo(Days)`` and ``mo(Days):Days``, each with its own simplex."""
    ref = reference_standata("mo_interaction_sleep")
    main, interaction = SpecialTerm(SLEEP, ["Days"]), SpecialTerm(SLEEP, ["Days"], ["Days"])
    parts = [main.parts[0], interaction.parts[0]]
    for j, part in enumerate(parts, start=1):
        np.testing.assert_array_equal(part.Xmo, ref[f"Xmo_{j}"])
        np.testing.assert_array_equal(part.con_simo, ref[f"con_simo_{j}"])
    assert [p.Jmo for p in parts] == ref["Jmo"].tolist()
    np.testing.assert_array_equal(interaction.Csp, ref["Csp_1"])


def brms_mo(scale: np.ndarray, i: int) -> float:
    """brms's Stan function, transcribed loop by loop."""
    return 0.0 if i == 0 else len(scale) * sum(scale[:i])


def test_mo_transform_equals_brms_stan_function_in_numpy_and_pytensor() -> None:
    rng = np.random.default_rng(3)
    simplex = rng.dirichlet(np.ones(9))
    codes = np.arange(10)
    expected = [brms_mo(simplex, i) for i in codes]
    np.testing.assert_allclose(mo(simplex, codes), expected, rtol=1e-14)
    s = pt.vector("s")
    np.testing.assert_allclose(mo(s, codes).eval({s: simplex}), expected, rtol=1e-14)


def test_predictor_combines_bsp_simplexes_and_covariates() -> None:
    term = SpecialTerm(SLEEP, ["Days"], ["Days"])
    simplex = np.full(9, 1 / 9)
    days = SLEEP["Days"].to_numpy()
    np.testing.assert_allclose(term.predictor(2.0, [simplex]), 2.0 * days * days, rtol=1e-12)
    new = pd.DataFrame({"Days": [3, 0]})
    np.testing.assert_allclose(term.predictor(2.0, [simplex], new), [18.0, 0.0], rtol=1e-12)


def test_ordered_factor_codes_and_new_data_use_training_coding() -> None:
    edu = pd.Categorical(["mid", "low", "high"], categories=["low", "mid", "high"], ordered=True)
    m = Monotonic({"edu": edu}, "edu")
    assert m.Xmo.tolist() == [1, 0, 2] and m.Jmo == 2
    assert m.codes({"edu": ["high", "high"]}).tolist() == [2, 2]
    shifted = Monotonic({"x": np.array([3, 5, 4])}, "x")
    assert shifted.Xmo.tolist() == [0, 2, 1]
    assert shifted.codes({"x": np.array([4])}).tolist() == [1]  # counted from the training minimum


def test_bad_input_is_refused_naming_the_variable() -> None:
    with pytest.raises(DataError, match="integers or ordered factors.*'x'"):
        Monotonic({"x": np.array([0.5, 1.0])}, "x")
    with pytest.raises(DataError, match="integers or ordered factors.*'g'"):
        Monotonic({"g": pd.Categorical(["a", "b"])}, "g")
    with pytest.raises(DataError, match="training range"):
        Monotonic({"x": np.arange(3)}, "x").codes({"x": np.array([7])})
    with pytest.raises(DataError, match="'Day'.*Did you mean 'Days'"):
        Monotonic(SLEEP, "Day")
