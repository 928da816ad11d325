"""Tests of brmc.datasets: shapes, R column types and level orders, derived sets."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import brmc.datasets as datasets
from brmc.errors import DataError

# rows, cols from the data README's table (derived sets from their recipes).
EXPECTED_SHAPES = {
    "sleepstudy": (180, 3),
    "cbpp": (56, 4),
    "VerbAgg": (7584, 9),
    "Penicillin": (144, 3),
    "grouseticks": (403, 7),
    "InstEval": (73421, 7),
    "Gcsemv": (1905, 5),
    "Oxboys": (234, 4),
    "Exam": (4059, 10),
    "MathAchieve": (7185, 6),
    "MathAchSchool": (160, 7),
    "epilepsy": (236, 9),
    "inhaler": (572, 5),
    "kidney": (76, 7),
    "jsp": (3236, 9),
    "rats": (71, 3),
    "mcycle": (133, 2),
    "loss": (55, 4),
    "nhanes": (25, 4),
    "Orange": (35, 3),
    "jspr": (953, 10),
    "mjspr": (1906, 9),
    "gcse": (1725, 6),
    "sleepstudy2": (180, 4),
}

DATA_DIR = Path(datasets.__file__).with_name("data")


def categories(df: pd.DataFrame, column: str) -> list[str]:
    assert isinstance(df[column].dtype, pd.CategoricalDtype), column
    return list(df[column].cat.categories)


def test_names_are_exactly_the_shipped_sets():
    assert sorted(datasets.names()) == sorted(EXPECTED_SHAPES)
    stems = {p.stem for p in DATA_DIR.glob("*.csv")}
    assert stems == set(EXPECTED_SHAPES) - {"jspr", "mjspr", "gcse", "sleepstudy2"}


@pytest.mark.parametrize("name", sorted(EXPECTED_SHAPES))
def test_shape_and_data_name(name):
    df = datasets.load(name)
    assert df.shape == EXPECTED_SHAPES[name]
    assert df.attrs["data_name"] == name
    rows, cols = EXPECTED_SHAPES[name]
    assert f"{rows} rows x {cols} columns" in datasets.describe(name)


@pytest.mark.parametrize("name", sorted(p.stem for p in DATA_DIR.glob("*.csv")))
def test_factor_levels_cover_every_label(name):
    """No label is lost to NaN by a level list that misses it."""
    raw = pd.read_csv(DATA_DIR / f"{name}.csv", dtype=str, keep_default_na=False)
    df = datasets.load(name)
    for column in df.columns:
        assert df[column].isna().sum() == (raw[column] == "").sum(), column
        if isinstance(df[column].dtype, pd.CategoricalDtype):
            assert set(df[column].cat.categories) == set(raw[column]) - {""}, column


def test_sleepstudy_types():
    df = datasets.load("sleepstudy")
    subject = categories(df, "Subject")
    assert len(subject) == 18 and subject[0] == "308"
    assert not df["Subject"].cat.ordered
    assert df["Reaction"].dtype == np.float64
    assert pd.api.types.is_numeric_dtype(df["Days"])
    assert not isinstance(df["Days"].dtype, pd.CategoricalDtype)


def test_factor_detection_follows_quoting():
    # inhaler has only bare numbers; kidney.recur is quoted "1"/"2".
    assert not any(isinstance(t, pd.CategoricalDtype) for t in datasets.load("inhaler").dtypes)
    kidney = datasets.load("kidney")
    assert categories(kidney, "recur") == ["1", "2"]
    assert pd.api.types.is_integer_dtype(kidney["patient"])
    gcsemv = datasets.load("Gcsemv")
    assert gcsemv["written"].dtype == np.float64 and gcsemv["written"].isna().any()


def test_integer_labels_sorted_numerically():
    assert categories(datasets.load("jsp"), "social") == [str(i) for i in range(1, 10)]
    s = categories(datasets.load("InstEval"), "s")
    assert s[:12] == [str(i) for i in range(1, 13)]
    assert s == sorted(s, key=int)
    assert categories(datasets.load("cbpp"), "herd") == [str(i) for i in range(1, 16)]
    assert categories(datasets.load("Gcsemv"), "school")[0] == "20920"


def test_unlisted_integer_factor_keeps_string_sort():
    # The README lists every factor whose R order is not a string sort;
    # mlmRev's Oxboys.Subject is not listed: its levels are "1", "10", "11", ...
    assert categories(datasets.load("Oxboys"), "Subject")[:3] == ["1", "10", "11"]


def test_explicit_level_orders():
    assert categories(datasets.load("Exam"), "schgend") == ["mixed", "boys", "girls"]
    kidney = datasets.load("kidney")
    assert categories(kidney, "disease") == ["other", "GN", "AN", "PKD"]
    assert categories(kidney, "sex") == ["male", "female"]
    verbagg = datasets.load("VerbAgg")
    assert categories(verbagg, "mode") == ["want", "do"]
    assert categories(verbagg, "item")[:4] == [
        "S1WantCurse",
        "S1WantScold",
        "S1WantShout",
        "S2WantCurse",
    ]
    assert categories(datasets.load("MathAchSchool"), "Sector") == ["Public", "Catholic"]
    assert categories(datasets.load("MathAchieve"), "Sex") == ["Male", "Female"]
    # Plain string sort where R agrees with it.
    assert categories(datasets.load("Exam"), "vr") == ["bottom 25%", "mid 50%", "top 25%"]


def test_insteval_dept_reference_level():
    dept = categories(datasets.load("InstEval"), "dept")
    assert dept[:8] == ["15", "5", "10", "12", "6", "7", "4", "8"]
    assert sorted(dept, key=int) == [str(i) for i in range(1, 16) if i != 13]


def test_ordered_factors():
    resp = datasets.load("VerbAgg")["resp"]
    assert resp.cat.ordered and list(resp.cat.categories) == ["no", "perhaps", "yes"]
    inst = datasets.load("InstEval")
    assert inst["studage"].cat.ordered and categories(inst, "studage") == ["2", "4", "6", "8"]
    assert inst["lectage"].cat.ordered and categories(inst, "lectage") == list("123456")
    assert not inst["dept"].cat.ordered


def test_jspr():
    jsp = datasets.load("jsp")
    jspr = datasets.load("jspr")
    assert len(jspr) == 953 and (jspr["year"] == 2).all()
    assert list(jspr.index) == list(range(953))
    assert abs(jspr["craven"].mean()) < 1e-9
    assert np.allclose(jspr["craven"], jspr["raven"] - jspr["raven"].mean())
    # R's subsetting keeps every level.
    assert categories(jspr, "id") == categories(jsp, "id")
    assert jspr.attrs["data_name"] == "jspr"


def test_mjspr():
    jspr = datasets.load("jspr")
    mjspr = datasets.load("mjspr")
    assert len(mjspr) == 1906
    assert list(mjspr.columns) == [
        "school", "class", "gender", "social", "raven", "id", "subject", "score", "craven",
    ]
    assert categories(mjspr, "subject") == ["english", "math"]
    assert (mjspr["subject"].iloc[:953] == "english").all()
    assert (mjspr["subject"].iloc[953:] == "math").all()
    assert mjspr["score"].max() <= 1
    assert np.allclose(mjspr["score"].iloc[:953], jspr["english"] / 100)
    assert np.allclose(mjspr["score"].iloc[953:], jspr["math"] / 40)
    assert abs(mjspr["craven"].mean()) < 1e-9
    assert isinstance(mjspr["school"].dtype, pd.CategoricalDtype)
    assert mjspr.attrs["data_name"] == "mjspr"


def test_gcse():
    gcse = datasets.load("gcse")
    assert len(gcse) == 1725 and gcse["course"].notna().all()
    assert list(gcse.index) == list(range(1725))
    assert categories(gcse, "female") == ["M", "F"]
    assert (gcse["female"].astype(str) == gcse["gender"].astype(str)).all()
    assert gcse.attrs["data_name"] == "gcse"


def test_unknown_name_raises_with_suggestion():
    with pytest.raises(DataError) as info:
        datasets.load("sleepstdy")
    message = str(info.value)
    assert "'sleepstdy'" in message
    assert "Did you mean 'sleepstudy'" in message
    assert "InstEval" in message and "mjspr" in message
    with pytest.raises(DataError, match="nosuchdata"):
        datasets.describe("nosuchdata")


def test_lookup_is_case_insensitive():
    df = datasets.load("instEval")
    assert df.attrs["data_name"] == "InstEval"
    assert datasets.load("SLEEPSTUDY").attrs["data_name"] == "sleepstudy"
    assert datasets.describe("verbagg").startswith("VerbAgg: lme4 1.1-31")


def test_returned_frames_are_independent_copies():
    first = datasets.load("sleepstudy")
    first.loc[0, "Reaction"] = -1.0
    first["Subject"] = first["Subject"].cat.rename_categories(lambda s: "x" + s)
    first.attrs["data_name"] = "changed"
    second = datasets.load("sleepstudy")
    assert second.loc[0, "Reaction"] == 249.56
    assert categories(second, "Subject")[0] == "308"
    assert second.attrs["data_name"] == "sleepstudy"
    jspr = datasets.load("jspr")
    jspr.loc[0, "raven"] = -100
    assert datasets.load("jspr").loc[0, "raven"] != -100


def test_set_name():
    df = pd.DataFrame({"y": [1.0, 2.0]})
    assert datasets.set_name(df, "mine") is df
    assert df.attrs["data_name"] == "mine"


def test_docstring_examples():
    result = doctest.testmod(datasets)
    assert result.attempted > 0 and result.failed == 0


def test_sleepstudy2_is_brms_fast_rt() -> None:
    """brms reference sleep_bernoulli: fast_rt = as.integer(Reaction < median(Reaction))."""
    df = datasets.load("sleepstudy2")
    assert df["fast_rt"].tolist() == (df["Reaction"] < df["Reaction"].median()).astype(int).tolist()
    assert df["fast_rt"].sum() == 90


def test_orange_trees_are_ordered_as_r_orders_them():
    """R's Orange$Tree: an ordered factor 3 < 1 < 5 < 2 < 4 (by each tree's largest circumference)."""
    tree = datasets.load("Orange")["Tree"]
    assert categories(datasets.load("Orange"), "Tree") == ["3", "1", "5", "2", "4"] and tree.cat.ordered
    largest = datasets.load("Orange").groupby("Tree", observed=True)["circumference"].max()
    assert list(largest.sort_values().index) == ["3", "1", "5", "2", "4"]


def test_nhanes_keeps_its_missing_values():
    assert datasets.load("nhanes").isna().sum().to_dict() == {"age": 0, "bmi": 9, "hyp": 8, "chl": 10}

