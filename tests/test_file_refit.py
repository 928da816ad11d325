"""``brm(..., file=, file_refit=)``, brms's fit cache: refits are counted by spying on
the sampling entry, never timed, and a loaded fit must hold the saved draws exactly."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import brmc
from brmc import api, io
from brmc.errors import IOError_

FORMULA = "Reaction ~ Days"
SETTINGS = {"chains": 1, "iter": 300, "seed": 8, "progress": False}


@pytest.fixture
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


@pytest.fixture
def samples(monkeypatch: pytest.MonkeyPatch) -> list:
    """Every call of the sampler brm makes."""
    calls: list = []
    real = api.sample

    def spy(built, settings):
        calls.append(settings)
        return real(built, settings)

    monkeypatch.setattr(api, "sample", spy)
    return calls


def _brm(*args, **kwargs) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(*args, **kwargs)


def test_unchanged_call_loads_the_saved_draws(tmp_path: Path, sleep: pd.DataFrame, samples: list) -> None:
    file = tmp_path / "sleep.brmc"
    first = _brm(FORMULA, sleep, file=file, file_refit="on_change", **SETTINGS)
    second = _brm(FORMULA, sleep, file=file, file_refit="on_change", **SETTINGS)
    assert len(samples) == 1 and file.exists()
    pd.testing.assert_frame_equal(second.draws(), first.draws())
    assert str(second.summary()) == str(first.summary())
    unseeded = _brm(FORMULA, sleep, file=file, file_refit="on_change", **{**SETTINGS, "seed": None})
    assert len(samples) == 1  # no seed given: the saved seed stands
    pd.testing.assert_frame_equal(unseeded.draws(), first.draws())


@pytest.mark.parametrize(("change", "reason"), [
    ({"data": "changed"}, "the data changed"),
    ({"prior": brmc.prior("normal(0, 5)", class_="b")}, "the priors changed"),
    ({"formula": "Reaction ~ 1 + Days"}, "the formula changed"),
    ({"family": "student"}, "the family changed"),
    ({"iter": 400}, "the settings changed"),
    ({"seed": 9}, "the seed changed"),
])
def test_a_change_refits_and_says_why(tmp_path: Path, sleep: pd.DataFrame, samples: list, change: dict,
                                      reason: str, capsys: pytest.CaptureFixture) -> None:
    file = tmp_path / "sleep.brmc"
    _brm(FORMULA, sleep, file=file, file_refit="on_change", **SETTINGS)
    args = {"formula": FORMULA, "data": sleep, **SETTINGS, **change}
    if change.get("data") == "changed":
        args["data"] = sleep.assign(Reaction=sleep["Reaction"].where(sleep.index != 0, 300.0))
    capsys.readouterr()
    refit = _brm(**args, file=file, file_refit="on_change")
    assert len(samples) == 2
    assert f"{reason} since it was saved" in capsys.readouterr().out
    pd.testing.assert_frame_equal(brmc.load(file).draws(), refit.draws())  # the new fit was saved
    _brm(**args, file=file, file_refit="on_change")
    assert len(samples) == 2  # and is loaded the next time


def test_never_and_always(tmp_path: Path, sleep: pd.DataFrame, samples: list) -> None:
    file = tmp_path / "sleep.brmc"
    first = _brm(FORMULA, sleep, file=file, **SETTINGS)  # brms's default: "never"
    other = _brm(FORMULA, sleep.head(100), file=file, **SETTINGS)
    assert len(samples) == 1 and other.nobs == 180
    pd.testing.assert_frame_equal(other.draws(), first.draws())
    _brm(FORMULA, sleep, file=file, file_refit="always", **SETTINGS)
    assert len(samples) == 2


def test_fingerprint_is_stored_and_parts_are_compared(tmp_path: Path, sleep: pd.DataFrame) -> None:
    fit = _brm(FORMULA, sleep, **SETTINGS)
    path = fit.save(tmp_path / "fit.brmc")
    saved = io._read_spec(path)[0]["fingerprint"]
    assert saved == io.fingerprint(fit.model_data, fit.priors.user, fit.settings)
    loaded = brmc.load(path)
    assert io.fingerprint(loaded.model_data, loaded.priors.user, loaded.settings) == saved
    with pytest.raises(IOError_, match="file_refit must be one of 'never', 'on_change', 'always'"):
        _brm(FORMULA, sleep, file=path, file_refit="sometimes", **SETTINGS)
