"""Saving and loading fits: exact round trips, atomic writes, clear errors on bad files."""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from pathlib import Path

import h5netcdf
import h5py
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import brmc
import brmc.io as bio
from brmc.data import build_data
from brmc.errors import IOError_
from brmc.families import get_family
from brmc.formula import parse_formula
from brmc.priors import resolve_priors

SLEEP = "Reaction ~ Days + (Days | Subject)"
USER_PRIOR = brmc.prior("normal(0, 10)", class_="b", coef="Days")
DROPPED_ROW = 7  # Reaction is missing there, so brm drops it


def subject_order(df: pd.DataFrame) -> list[str]:
    """A category order for Subject that is neither sorted nor the order of appearance."""
    levels = sorted(df["Subject"].astype(str).unique())
    return levels[1::2] + levels[0::2][::-1]


def sleep_frame() -> pd.DataFrame:
    """sleepstudy with one incomplete row and extra columns of every type a user may have."""
    df = brmc.datasets.load("sleepstudy")
    n = len(df)
    rng = np.random.default_rng(3)
    df["Subject"] = pd.Categorical(df["Subject"].astype(str), categories=subject_order(df))
    df.loc[DROPPED_ROW, "Reaction"] = np.nan
    df["note"] = pd.Series([f"obs {i} é" if i % 11 else None for i in range(n)], dtype="str")
    df["flag"] = np.arange(n) % 3 == 0
    df["grade"] = pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"],
                                 ordered=True)
    df["score"] = np.where(np.arange(n) % 13 == 0, np.nan, rng.normal(size=n))
    df["count"] = pd.array([None if i % 17 == 0 else i for i in range(n)], dtype="Int64")
    df["ok"] = pd.array([None if i % 19 == 0 else i % 2 == 0 for i in range(n)], dtype="boolean")
    df["label"] = pd.Series(["a" if i % 5 else (None if i % 2 else np.nan) for i in range(n)], dtype=object)
    df["visit"] = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(np.arange(n), unit="D"))
    df["small"] = (np.arange(n) % 7).astype(np.uint8)
    df["code"] = pd.Categorical(rng.choice([30, 10, 20], n), categories=[30, 10, 20])
    return df


@pytest.fixture(scope="module")
def fit() -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(SLEEP, sleep_frame(), prior=USER_PRIOR, chains=2, iter=400, seed=21,
                        data_name="sleepmod", progress=False)


@pytest.fixture(scope="module")
def saved(fit: brmc.Fit, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fit.log_likelihood()  # computed on demand; once computed, it is saved with the draws
    return bio.save(fit, tmp_path_factory.mktemp("io") / "sleep.brmc")


@pytest.fixture(scope="module")
def loaded(saved: Path) -> brmc.Fit:
    return brmc.load(saved)


def assert_nested_equal(a, b) -> None:
    """Exact equality of the dicts of frames / arrays that brms-style methods return."""
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_nested_equal(a[key], b[key])
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- round trip

def test_save_returns_the_path_and_writes_only_the_target(saved: Path) -> None:
    assert saved.name == "sleep.brmc" and saved.is_file()
    assert [p.name for p in saved.parent.iterdir()] == ["sleep.brmc"]


def test_summary_text_is_identical(fit: brmc.Fit, loaded: brmc.Fit) -> None:
    assert str(loaded.summary()) == str(fit.summary())
    assert str(loaded.summary(priors=True, probs=(0.1, 0.9))) == str(fit.summary(priors=True, probs=(0.1, 0.9)))
    assert "Data: sleepmod (Number of observations: 179)" in str(loaded)


def test_draws_are_identical(fit: brmc.Fit, loaded: brmc.Fit) -> None:
    pd.testing.assert_frame_equal(loaded.draws(), fit.draws(), check_exact=True)


def test_inference_data_groups_are_identical(fit: brmc.Fit, loaded: brmc.Fit) -> None:
    assert loaded.idata.groups() == fit.idata.groups()
    assert "log_likelihood" in loaded.idata.groups()
    for group in fit.idata.groups():
        xr.testing.assert_identical(loaded.idata[group], fit.idata[group])


def test_effects_are_identical(fit: brmc.Fit, loaded: brmc.Fit) -> None:
    assert_nested_equal(loaded.fixef(), fit.fixef())
    assert_nested_equal(loaded.ranef(), fit.ranef())
    assert_nested_equal(loaded.coef(), fit.coef())
    assert_nested_equal(loaded.VarCorr(), fit.VarCorr())
    assert_nested_equal(loaded.fixef(summary=False), fit.fixef(summary=False))


def test_predictions_are_identical(fit: brmc.Fit, loaded: brmc.Fit) -> None:
    np.testing.assert_array_equal(fit.posterior_epred(), loaded.posterior_epred())
    pd.testing.assert_frame_equal(fit.predict(seed=3), loaded.predict(seed=3))
    new = fit.data.iloc[:3].assign(Subject="new")
    pd.testing.assert_frame_equal(fit.fitted(new, allow_new_levels=True, seed=3),
                                  loaded.fitted(new, allow_new_levels=True, seed=3))


def test_group_levels_keep_the_category_order(loaded: brmc.Fit) -> None:
    expected = subject_order(brmc.datasets.load("sleepstudy"))
    assert list(loaded.idata.posterior["Subject__level"].values) == expected
    assert loaded.model_data.blocks[0].levels == expected


def test_priors_and_user_prior_survive(fit: brmc.Fit, loaded: brmc.Fit) -> None:
    assert loaded.priors.user == [USER_PRIOR]
    pd.testing.assert_frame_equal(loaded.prior_summary(), fit.prior_summary(), check_exact=True)
    table = loaded.prior_summary()
    row = table[(table["class"] == "b") & (table["coef"] == "Days")]
    assert row["prior"].tolist() == ["normal(0, 10)"] and row["source"].tolist() == ["user"]


def test_sampler_settings_timing_and_names_survive(fit: brmc.Fit, loaded: brmc.Fit) -> None:
    assert loaded.settings == brmc.sampling.SamplerSettings(chains=2, iter=400, warmup=200, seed=21, progress=False)
    assert loaded.timing == fit.timing
    assert loaded.formula == fit.formula
    assert (loaded.family.name, loaded.family.link) == ("gaussian", "identity")
    assert loaded.model_data.data_name == "sleepmod"
    assert loaded.model_data.n_dropped == 1


def test_data_frame_comes_back_with_exact_types(loaded: brmc.Fit) -> None:
    expected = sleep_frame().drop(index=DROPPED_ROW).reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded.data, expected, check_exact=True, check_column_type=True)
    assert loaded.data.dtypes.to_dict() == expected.dtypes.to_dict()
    subject, grade, code = loaded.data["Subject"], loaded.data["grade"], loaded.data["code"]
    assert list(subject.cat.categories) == subject_order(expected) and not subject.cat.ordered
    assert list(grade.cat.categories) == ["low", "mid", "high"] and grade.cat.ordered
    assert list(code.cat.categories) == [30, 10, 20]
    assert loaded.data["label"].map(lambda v: v is None).tolist() == expected["label"].map(lambda v: v is None).tolist()
    assert loaded.data["count"].isna().tolist() == expected["count"].isna().tolist()


# ----------------------------------------------------------------------------- writes

def test_save_replaces_an_existing_file(fit: brmc.Fit, tmp_path: Path) -> None:
    target = tmp_path / "fit.nc"
    target.write_bytes(b"old content")
    bio.save(fit, str(target))
    pd.testing.assert_frame_equal(brmc.load(target).draws(), fit.draws(), check_exact=True)
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]


def _half_write_then(exc: BaseException):
    def writer(tree, path, encoding):
        Path(path).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
        raise exc
    return writer


def test_interrupted_save_keeps_the_good_file(fit: brmc.Fit, tmp_path: Path, monkeypatch) -> None:
    target = bio.save(fit, tmp_path / "fit.brmc")
    before = target.read_bytes()
    monkeypatch.setattr(bio, "_write", _half_write_then(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        bio.save(fit, target)
    assert [p.name for p in tmp_path.iterdir()] == ["fit.brmc"]
    assert target.read_bytes() == before
    monkeypatch.undo()
    assert str(brmc.load(target).summary()) == str(fit.summary())


def test_failed_save_raises_ioerror_and_leaves_nothing(fit: brmc.Fit, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(bio, "_write", _half_write_then(RuntimeError("disk full")))
    target = tmp_path / "fit.brmc"
    with pytest.raises(IOError_, match="disk full") as err:
        bio.save(fit, target)
    assert str(target) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_missing_folder_and_unstorable_columns(fit: brmc.Fit, tmp_path: Path) -> None:
    with pytest.raises(IOError_, match="does not exist"):
        bio.save(fit, tmp_path / "nowhere" / "fit.brmc")
    frame = fit.data.copy()
    frame["thing"] = [object()] * len(frame)
    odd = dataclasses.replace(fit, model_data=dataclasses.replace(fit.model_data, frame=frame))
    with pytest.raises(IOError_, match="'thing'.*object"):
        bio.save(odd, tmp_path / "fit.brmc")
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- bad files

def _copy(saved: Path, tmp_path: Path) -> Path:
    path = tmp_path / "copy.brmc"
    path.write_bytes(saved.read_bytes())
    return path


def _load_error(path: Path) -> str:
    with pytest.raises(IOError_) as err:
        brmc.load(path)
    assert isinstance(err.value, brmc.BrmsError)
    assert str(path) in str(err.value)
    return str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    assert "does not exist" in _load_error(tmp_path / "absent.brmc")


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.brmc"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    assert "not a netCDF-4/HDF5 file" in _load_error(path)


def test_truncated_file(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    path.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    assert "damaged or truncated" in _load_error(path)


def test_damaged_draws_are_detected(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "r") as f:
        data = f["posterior/b_Days"].id
        if data.get_create_plist().get_layout() == h5py.h5d.CHUNKED:
            offset, size = data.get_chunk_info(0).byte_offset, data.get_chunk_info(0).size
        else:
            offset, size = data.get_offset(), data.get_storage_size()
    raw = bytearray(path.read_bytes())
    middle = offset + size // 2
    raw[middle : middle + 8] = bytes(255 - b for b in raw[middle : middle + 8])
    path.write_bytes(bytes(raw))
    assert "damaged" in _load_error(path)


def test_foreign_netcdf(tmp_path: Path) -> None:
    path = tmp_path / "other.nc"
    xr.Dataset({"temperature": ("time", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    assert "not a fit saved by brmc" in _load_error(path)


def test_plain_arviz_file_is_foreign(fit: brmc.Fit, tmp_path: Path) -> None:
    path = tmp_path / "idata.nc"
    fit.idata.to_netcdf(str(path))
    message = _load_error(path)
    assert "not a fit saved by brmc" in message and "arviz.from_netcdf" in message


def _set_spec(path: Path, **changes) -> None:
    with h5netcdf.File(path, "a") as f:
        spec = json.loads(f.attrs[bio.SPEC_ATTR])
        spec.update(changes)
        f.attrs[bio.SPEC_ATTR] = json.dumps(spec)


def test_newer_format_version(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    _set_spec(path, format_version=bio.FORMAT_VERSION + 1)
    assert "Upgrade brmc" in _load_error(path)


def test_damaged_spec(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5netcdf.File(path, "a") as f:
        f.attrs[bio.SPEC_ATTR] = f.attrs[bio.SPEC_ATTR][:-20]
    assert "damaged" in _load_error(path)


def test_missing_group(saved: Path, tmp_path: Path) -> None:
    path = _copy(saved, tmp_path)
    with h5py.File(path, "a") as f:
        del f["sample_stats"]
    assert "lacks the group(s) sample_stats" in _load_error(path)


# ----------------------------------------------------------------------------- env functions

def test_formula_functions_from_env_are_required_at_load(fit: brmc.Fit, tmp_path: Path) -> None:
    """A fit whose formula called ``twice`` from ``env=`` (the io layer only needs its model data)."""
    env = {"twice": lambda x: 2 * x}
    md = build_data(parse_formula("Reaction ~ twice(Days) + (Days | Subject)", env_names=frozenset(env)),
                    fit.data, get_family("gaussian"), data_name="sleepmod", env=env)
    path = bio.save(dataclasses.replace(fit, model_data=md, priors=resolve_priors(md)), tmp_path / "env.brmc")
    message = _load_error(path)
    assert "twice" in message and "env=" in message
    assert brmc.load(path, env={"twice": lambda x: x * 2}).model_data.predictors["mu"].b_names == ["twiceDays"]
    with pytest.raises(IOError_, match="differ"):
        brmc.load(path, env={"twice": lambda x: 3 * x})
    assert os.listdir(tmp_path) == ["env.brmc"]
