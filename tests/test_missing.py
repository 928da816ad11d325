"""``brm(..., missing=)``: brms's handling of missing values (``"impute"``, the default), complete cases
(``"drop"``) and a refusal (``"raise"``). The rows kept are counted here with pandas on the data."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import brmc
import brmc.cli
from brmc.api import _model_data
from brmc.errors import DataError, FormulaError

from .conftest import quiet

NHANES = brmc.datasets.load("nhanes")
MV = brmc.bf("bmi | mi() ~ age * mi(chl)") + brmc.bf("chl | mi() ~ age") + brmc.set_rescor(False)


def _rows(formula, missing: str, data: pd.DataFrame = NHANES) -> int:
    return len(quiet(_model_data, formula, data, "gaussian", None, None, None, None, missing).frame)


def test_impute_keeps_the_rows_mi_imputes_and_drop_keeps_complete_cases() -> None:
    assert _rows("bmi | mi() ~ age", "impute") == len(NHANES)
    assert _rows("bmi | mi() ~ age", "drop") == int(NHANES["bmi"].notna().sum())
    assert _rows(MV, "impute") == len(NHANES)
    assert _rows(MV, "drop") == len(NHANES.dropna(subset=["bmi", "chl"]))
    # without mi() both drop the same rows, as brms does
    assert _rows("bmi ~ age + chl", "impute") == _rows("bmi ~ age + chl", "drop") == len(
        NHANES.dropna(subset=["bmi", "chl"]))


def test_drop_leaves_mi_nothing_to_impute() -> None:
    imputing = quiet(brmc.make_model, "bmi | mi() ~ age", NHANES)
    complete = quiet(brmc.make_model, "bmi | mi() ~ age", NHANES, missing="drop")
    assert "Ymi" in imputing.model.named_vars and "Ymi" not in complete.model.named_vars  # brms's Stan name
    assert imputing.model["Ymi"].type.shape[-1] == NHANES["bmi"].isna().sum()


def test_raise_names_each_column_and_its_count() -> None:
    with pytest.raises(DataError) as err:
        brmc.get_prior("bmi ~ age + chl", NHANES, missing="raise")
    rows = len(NHANES) - len(NHANES.dropna(subset=["bmi", "chl"]))
    message = str(err.value)
    assert f"'bmi' ({NHANES['bmi'].isna().sum()})" in message and f"'chl' ({NHANES['chl'].isna().sum()})" in message
    assert f"drop {rows} of {len(NHANES)} rows" in message
    # the values under mi() are still imputed: nothing would be dropped
    assert len(brmc.get_prior("bmi | mi() ~ age", NHANES, missing="raise"))


def test_bad_values_and_subset_are_refused() -> None:
    with pytest.raises(DataError, match=re.escape("missing='omit' is not one of 'impute', 'drop', 'raise'")):
        brmc.get_prior("bmi ~ age", NHANES, missing="omit")
    frame = pd.DataFrame({"y1": [1.0, 2, 3, np.nan], "y2": [np.nan, 1.0, 2, 3], "x": [1.0, 2, 3, 4],
                          "s1": [True, True, True, False], "s2": [False, True, True, True]})
    f = brmc.bf("y1 | subset(s1) ~ x") + brmc.bf("y2 | subset(s2) ~ x") + brmc.set_rescor(False)
    with pytest.raises(FormulaError, match="cannot be used with subset"):
        brmc.get_prior(f, frame, missing="drop")
    assert len(brmc.get_prior(f, frame))


def test_cli_takes_missing(capsys) -> None:
    assert brmc.cli.main(["priors", "bmi ~ age + chl", "--data", "nhanes", "--missing", "raise"]) == 2
    assert "'chl' (10)" in capsys.readouterr().err
    dropped = int(NHANES["bmi"].isna().sum())  # with "impute" (the default) none would be
    with pytest.warns(UserWarning, match=f"{dropped} of {len(NHANES)} rows dropped"):
        assert brmc.cli.main(["priors", "bmi | mi() ~ age", "--data", "nhanes", "--missing", "drop"]) == 0
    assert capsys.readouterr().out.rstrip("\n") == repr(quiet(brmc.get_prior, "bmi | mi() ~ age",
                                                              NHANES.dropna(subset=["bmi"])))
