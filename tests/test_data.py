"""The data stage: R's design columns and names, level order, missing rows, centring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.data import LinearPredictor, ModelData, build_data, group_levels
from brmc.families import get_family
from brmc.formula import parse_formula


def model_data(formula: str, data: pd.DataFrame) -> ModelData:
    return build_data(parse_formula(formula), data, get_family("gaussian"))


def mu(formula: str, data: pd.DataFrame) -> LinearPredictor:
    """The linear predictor of mu."""
    return model_data(formula, data).predictors["mu"]


def test_jsp_bivariate_columns_are_named_and_ordered_as_brms() -> None:
    md = model_data(brmc.datasets.REFERENCE_MODELS["jsp_bivariate"][0], brmc.datasets.load("mjspr"))
    lp = md.predictors["mu"]
    assert lp.b_names == ["subjectmath", "gendergirl", "craven", *[f"social{i}" for i in range(2, 10)],
                          "subjectmath:gendergirl", "subjectmath:craven"]
    frame = md.frame
    col = lp.X[:, 1 + lp.b_names.index("subjectmath:craven")]
    expected = (frame["subject"] == "math").to_numpy() * frame["craven"].to_numpy()
    np.testing.assert_allclose(col, expected)
    assert [b.group for b in md.blocks] == ["school", "school:class", "school:class:id"]
    assert [b.n_levels for b in md.blocks] == [48, 90, 953]


def test_interaction_group_has_only_occurring_levels_in_r_order() -> None:
    md = model_data("math ~ craven + (1 | school:class)", brmc.datasets.load("jspr"))
    levels = md.blocks[0].levels
    assert len(levels) == 90
    assert levels[:4] == ["1_1", "1_2", "11_1", "11_2"]  # brms's order (R's sort)
    assert levels.index("19_2") + 1 == levels.index("2_1")


def test_no_dense_group_matrix() -> None:
    md = model_data("score ~ subject + (1|school:class:id)", brmc.datasets.load("mjspr"))
    block = md.blocks[0]
    assert block.index.shape == (1906,) and block.Z.shape == (1906, 1)
    built = brmc.make_model("score ~ subject + (1|school:class:id)", brmc.datasets.load("mjspr"))
    assert all(np.asarray(v).size <= 1906 * 2 for v in built.values.values())


def test_factor_level_order_is_the_datas() -> None:
    df = pd.DataFrame({"y": np.arange(6.0), "f": pd.Categorical(list("abcabc"), categories=["c", "a", "b"])})
    lp = mu("y ~ f", df)
    assert lp.b_names == ["fa", "fb"]  # reference level is the first category, 'c'
    np.testing.assert_array_equal(lp.X[:, 1], (df["f"] == "a").to_numpy(dtype=float))


def test_strings_sorted_as_r_and_numbers_as_labels() -> None:
    frame = pd.DataFrame({"g": [10, 9, 10, 100], "s": ["b", "B", "a", "a"]})
    assert group_levels(frame, ["g"])[0] == ["9", "10", "100"]
    assert group_levels(frame, ["s"])[0] == ["a", "b", "B"]
    levels, index = group_levels(frame, ["g", "s"])
    assert levels == ["10_a", "10_b", "100_a", "9_B"]
    assert index.tolist() == [1, 3, 0, 2]


def test_non_consecutive_ids_are_labels() -> None:
    md = model_data("course ~ 1 + (1 | school)", brmc.datasets.load("gcse"))
    assert md.blocks[0].levels[:2] == ["20920", "22520"] and md.blocks[0].n_levels == 73


def test_missing_rows_are_dropped_and_counted() -> None:
    with pytest.warns(UserWarning, match="180 of 1905 rows dropped"):
        md = model_data("course ~ gender + (1 | school)", brmc.datasets.load("Gcsemv"))
    assert md.nobs == 1725


def test_centring_as_brms() -> None:
    md = model_data("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"))
    np.testing.assert_allclose(md.predictors["mu"].means_X, [4.5])
    np.testing.assert_allclose(md.predictors["mu"].Xc[:, 0], md.frame["Days"] - 4.5)
    assert md.blocks[0].coefs == ["Intercept", "Days"]
    np.testing.assert_allclose(md.blocks[0].Z[:, 1], md.frame["Days"])  # group slopes use raw values


def test_transforms_and_names() -> None:
    df = brmc.datasets.load("sleepstudy").assign(D1=lambda d: d["Days"] + 1)
    lp = mu("Reaction ~ I(Days^2) + log(D1) + (1 | Subject)", df)
    assert lp.b_names == ["IDaysE2", "logD1"]
    np.testing.assert_allclose(lp.X[:, 1], df["Days"] ** 2)
    np.testing.assert_allclose(lp.X[:, 2], np.log(df["D1"]))


def test_no_intercept() -> None:
    df = pd.DataFrame({"y": np.arange(6.0), "f": list("ababab")})
    lp = mu("y ~ 0 + f", df)
    assert not lp.has_intercept and lp.b_names == ["fa", "fb"]
