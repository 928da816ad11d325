"""``mm(g1, g2, by = cbind(b1, b2))`` (brms's multi-membership ``by``, R/formula-re.R ``mm()`` and
``tidy_ranef``): each member's level lies in a level of that member's ``by`` column.

Checked against brms 2.18's own test of it (tests/testthat/tests.make_standata.R, "by variables in
grouping terms are handled correctly": ``Nby_1`` 5 and ``Jby_1`` 2, 2, 1, 1, 5, 4, 4, 5, 3, 3 for the
data rebuilt here) and brms's names (``get_rnames``: ``paste0(by, level)`` with brms's deparsed
``by`` and ``rm_wsp``'d levels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.errors import DataError, FormulaError


def _brms_test_data() -> pd.DataFrame:
    """brms's data: g in blocks of ten, g2 = g[order(g)], z and z2 the by factor in blocks of 20."""
    gvar = np.repeat(["1A", "1B", "2A", "2B", "3A", "3B", "10", "100", "2", "3"], 10)
    order = sorted(range(100), key=lambda i: brmc.rlang.r_collate_key(gvar[i]))  # R's order(gvar), stable
    byvar = np.repeat(["0", "4.5", "3", "2", "x 1"], 20)
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.normal(size=100), "x": rng.normal(size=100), "g": gvar, "g2": gvar[order],
                         "z": byvar, "z2": byvar[order], "z3": np.tile(["1", "2"], 50)})


def _block(formula: str, data: pd.DataFrame):
    return brmc.api._model_data(formula, data, "gaussian", None, None, None, None).blocks[0]


def test_mm_by_is_brms_standata() -> None:
    data = _brms_test_data()
    gr = _block("y ~ x + (x | gr(g, by = z))", data)
    mm = _block("y ~ x + (x | mm(g, g2, by = cbind(z, z2)))", data)
    for block in (gr, mm):
        assert len(block.by_levels) == 5  # brms's Nby_1
        np.testing.assert_array_equal(block.by_index + 1, [2, 2, 1, 1, 5, 4, 4, 5, 3, 3])  # brms's Jby_1
    assert mm.by_levels == ["0", "2", "3", "4.5", "x1"]  # levels(factor(...)), rm_wsp'd
    assert mm.sd_labels[:2] == ["Intercept:cbind(z, z2)0", "x:cbind(z, z2)0"]
    assert gr.sd_labels[-1] == "x:zx1"


def test_mm_by_refusals_are_brms() -> None:
    data = _brms_test_data()
    with pytest.raises(FormulaError, match="expects 'by' to be a matrix with as many columns as grouping factors"):
        brmc.get_prior("y ~ (1 | mm(g, g2, by = z))", data)
    with pytest.raises(DataError, match="Some levels of 'mmgg2' correspond to multiple levels of 'cbind"):
        brmc.get_prior("y ~ (1 | mm(g, g2, by = cbind(z3, z3)))", data)


def test_mm_by_model_has_the_by_sds() -> None:
    """The model has brms's ``matrix[M_1, Nby_1] sd_1``: one sd per coefficient and by level, and
    each level's effects scaled by its by level's sd (the gather by Jby, shared with gr(by))."""
    model = brmc.make_model("y ~ x + (1 | mm(g, g2, by = cbind(z, z2)))", _brms_test_data())
    assert model.model.initial_point()["sd_1_log__"].shape == (5,)
    np.testing.assert_array_equal(model.values["Jby_1"] + 1, [2, 2, 1, 1, 5, 4, 4, 5, 3, 3])
