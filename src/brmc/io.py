"""Save a fit to one file and load it back, without pickle.

A saved fit is one netCDF-4 (HDF5) file: the InferenceData groups
(``posterior``, ``sample_stats``, ``observed_data``, ``log_likelihood``, and NumPyro's
``warmup_sample_stats``), the
data frame the model was fitted to (group ``brmc_data``, one variable per
column) and a JSON spec in the root attribute ``brmc_spec`` (formula, family,
user priors, sampler settings, timing, column types).  :func:`read_fields`
(behind :func:`brmc.load`) rebuilds the model data from the formula and the frame, so every method of the loaded
fit gives the numbers the original gave.  Files are written to a temporary
file in the target's folder and renamed onto the target, so an interrupted
save never replaces a good file.

Examples
--------
>>> path = save(fit, tmp / "sleep.brmc")
>>> str(brmc.load(path).summary()) == str(fit.summary())
True
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import arviz as az
import h5netcdf
import numpy as np
import pandas as pd
import xarray as xr

from . import criteria
from ._version import __version__
from .data import ModelData, build_data
from .errors import BrmsError, IOError_
from .families import family_from_dict
from .formula import BrmsFormula, parse_formula
from .multivariate import MultivariateFormula
from .mvdata import MvModelData, build_mv_data, resolve_mv_priors
from .nlterm import bf, nlf
from .priors import Prior, resolve_priors
from .sampling import SamplerSettings

if TYPE_CHECKING:
    from .fit import Fit

FORMAT = "brmc-fit"
FORMAT_VERSION = 1
SPEC_ATTR = "brmc_spec"
DATA_GROUP = "brmc_data"
IDATA_GROUPS = ("posterior", "sample_stats", "observed_data", "log_likelihood", "warmup_sample_stats")
REQUIRED_GROUPS = ("posterior", "sample_stats", "observed_data", DATA_GROUP)
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: missing-value markers of object and nullable columns, coded 1, 2, ... in ``<column>_missing``.
_NA_VALUES = (None, np.nan, pd.NA, pd.NaT)
_ROW = "row"


# ----------------------------------------------------------------------------- data frame columns

def _na_code(value: Any) -> int:
    """0 for a value, else 1 + the position of its missing marker in :data:`_NA_VALUES`."""
    for k, marker in enumerate(_NA_VALUES):
        if value is marker:
            return k + 1
    return 2 if pd.isna(value) else 0


def _encode_column(key: str, values: pd.Series, dim: str) -> tuple[dict[str, xr.Variable], dict]:
    """One column → netCDF variables named ``key...`` over ``dim`` and its JSON description.

    Example:
        >>> variables, meta = _encode_column("c0", pd.Series([1.5, np.nan]), "row")
        >>> meta, variables["c0"].values.tolist()
        ({'kind': 'numpy', 'dtype': 'float64'}, [1.5, nan])
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats, cats_meta = _encode_column(f"{key}_categories", pd.Series(dtype.categories), f"{key}_category")
        meta = {"kind": "categorical", "ordered": bool(dtype.ordered), "categories": cats_meta}
        return {key: xr.Variable(dim, values.cat.codes.to_numpy()), **cats}, meta
    if isinstance(dtype, np.dtype) and dtype.kind in "biufmM":
        array = values.to_numpy()
        stored = array.view(np.int64) if dtype.kind in "mM" else array
        return {key: xr.Variable(dim, stored)}, {"kind": "numpy", "dtype": str(dtype)}
    if isinstance(dtype, pd.StringDtype):
        meta = {"kind": "string", "storage": dtype.storage, "na_value": "NA" if dtype.na_value is pd.NA else "nan"}
        stored = values.to_numpy(dtype=object, na_value="")
    elif isinstance(dtype, pd.api.extensions.ExtensionDtype) and hasattr(dtype, "numpy_dtype") \
            and dtype.numpy_dtype.kind in "biuf":  # Int64, UInt8, Float64, boolean
        meta = {"kind": "nullable", "dtype": str(dtype)}
        stored = values.to_numpy(dtype=dtype.numpy_dtype, na_value=dtype.numpy_dtype.type(0))
    elif dtype == object and all(isinstance(v, str) for v in values.dropna()):
        meta = {"kind": "object"}
        stored = np.array(["" if pd.isna(v) else v for v in values], dtype=object)
    else:
        odd = next((type(v).__name__ for v in values.dropna() if not isinstance(v, str)), str(dtype))
        raise IOError_(
            f"Column {values.name!r} has type {dtype} ({odd} values), which a saved fit cannot hold; "
            "convert it to numbers, strings or a categorical before fitting."
        )
    variables = {key: xr.Variable(dim, stored)}
    codes = np.array([_na_code(v) for v in values], dtype=np.int8)
    if codes.any():
        variables[f"{key}_missing"] = xr.Variable(dim, codes)
    return variables, meta


def _decode_column(key: str, group: xr.Dataset, meta: dict) -> pd.Series:
    """The inverse of :func:`_encode_column`: the column with its exact pandas type."""
    stored = group[key].values
    kind = meta["kind"]
    if kind == "categorical":
        categories = pd.Index(_decode_column(f"{key}_categories", group, meta["categories"]))
        dtype = pd.CategoricalDtype(categories, ordered=meta["ordered"])
        return pd.Series(pd.Categorical.from_codes(stored, dtype=dtype))
    if kind == "numpy":
        dtype = np.dtype(meta["dtype"])
        return pd.Series(stored.view(dtype) if dtype.kind in "mM" else stored.astype(dtype))
    values = stored.astype(object)
    if f"{key}_missing" in group:
        codes = group[f"{key}_missing"].values
        for k, marker in enumerate(_NA_VALUES):
            values[codes == k + 1] = marker
    if kind == "object":
        return pd.Series(values, dtype=object)
    if kind == "string":
        dtype = pd.StringDtype(meta["storage"], na_value=pd.NA if meta["na_value"] == "NA" else np.nan)
    else:
        dtype = pd.api.types.pandas_dtype(meta["dtype"])
    return pd.Series(pd.array(values, dtype=dtype))


def _encode_frame(frame: pd.DataFrame) -> tuple[xr.Dataset, dict]:
    """The fitted data frame as a Dataset over ``row`` plus its JSON description."""
    variables: dict[str, xr.Variable] = {}
    columns = []
    for j, name in enumerate(frame.columns):
        if not isinstance(name, (str, int)) or isinstance(name, bool):
            raise IOError_(f"Column name {name!r} is not a string; a saved fit keeps string (or integer) names only.")
        encoded, meta = _encode_column(f"c{j}", frame[name], _ROW)
        variables.update(encoded)
        columns.append({"name": name, **meta})
    try:
        attrs = json.loads(json.dumps(frame.attrs))
    except TypeError:
        attrs = {}
    description = {"nrow": len(frame), "columns": columns, "columns_dtype": str(frame.columns.dtype), "attrs": attrs}
    return xr.Dataset(variables), description


def _decode_frame(group: xr.Dataset, description: dict) -> pd.DataFrame:
    columns = description["columns"]
    frame = pd.DataFrame({j: _decode_column(f"c{j}", group, meta) for j, meta in enumerate(columns)},
                         index=pd.RangeIndex(description["nrow"]))
    frame.columns = pd.Index([meta["name"] for meta in columns], dtype=description["columns_dtype"])
    frame.attrs.update(description["attrs"])
    return frame


# ----------------------------------------------------------------------------- spec

def _model_data_digest(md: ModelData | MvModelData) -> str:
    """A hash of the arrays the model was sampled on (response, designs, group indices); of a
    multivariate model, of each response's."""
    if isinstance(md, MvModelData):
        return _sha([_model_data_digest(r) for r in md.responses.values()])
    h = hashlib.sha256()
    arrays = [md.y] + [lp.X for lp in md.predictors.values()] + [a for b in md.blocks for a in (b.index, b.Z)]
    for array in arrays:
        array = np.ascontiguousarray(array)
        h.update(f"{array.dtype.str}{array.shape}".encode())
        h.update(array.tobytes())
    names = [lp.b_names for lp in md.predictors.values()] + [[b.group, b.coefs, b.levels] for b in md.blocks]
    h.update(json.dumps(names).encode())
    return h.hexdigest()


#: what :func:`fingerprint` hashes, in the order a refit's reason names them
FINGERPRINT_PARTS = ("formula", "data", "priors", "family", "settings", "seed")
FILE_REFIT = ("never", "on_change", "always")


def _sha(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=_json_default).encode()).hexdigest()[:16]


def fingerprint(md: ModelData, priors: list[Prior], settings: SamplerSettings) -> dict[str, str]:
    """Hashes of what a fit depends on, by part: ``formula`` (with ``bf()``'s formulas and
    ``contrasts=``),
    ``data`` (the values, column names and types of the fitted rows), ``priors`` (the
    user's), ``family``, ``settings`` (chains, iter, warmup, thin, backend, control,
    sample_prior) and ``seed``.

    Example:
        >>> import brmc
        >>> md = build_data(parse_formula("Reaction ~ Days"), brmc.datasets.load("sleepstudy"),
        ...                 brmc.families.get_family("gaussian"))
        >>> sorted(fingerprint(md, [], SamplerSettings(seed=1)))
        ['data', 'family', 'formula', 'priors', 'seed', 'settings']
    """
    frame = md.frame
    data = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    data.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    kept = {k: v for k, v in settings.to_dict().items() if k not in {"seed", "progress", "cores"}}
    if isinstance(md, MvModelData):  # each response's formula and family, and rescor
        forms = [[r.formula.text, [p.text for p in r.formula.pforms.values()], r.contrasts]
                 for r in md.responses.values()]
        formula, family = _sha([forms, md.rescor]), _sha([r.family.to_dict() for r in md.responses.values()])
    else:
        formula = _sha([md.formula.text, [p.text for p in md.formula.pforms.values()], md.contrasts])
        family = _sha(md.family.to_dict())
    return {"formula": formula, "data": data.hexdigest()[:16], "priors": _sha([p.to_dict() for p in priors]),
            "family": family, "settings": _sha(kept), "seed": _sha(settings.seed)}


def cached_fields(path: str | os.PathLike, file_refit: str, current: dict[str, str], compare_seed: bool,
                  env: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The fields of the fit saved at ``path`` (as :func:`read_fields`) if brms's
    ``file_refit`` rule lets it stand, else ``None`` (after printing why a refit is needed).

    ``"never"`` loads any file there; ``"always"`` never loads; ``"on_change"``
    loads when the file's :func:`fingerprint` equals ``current`` (the seed
    compared only when ``compare_seed``, i.e. the user gave one).

    Example:
        >>> cached_fields("missing.brmc", "on_change", {}, False) is None
        True
    """
    if file_refit not in FILE_REFIT:
        raise IOError_(f"file_refit must be one of {', '.join(map(repr, FILE_REFIT))}, not {file_refit!r}.")
    path = Path(path)
    if file_refit == "always" or not path.exists():
        return None
    if file_refit == "never":
        return read_fields(path, env=env)
    saved = _read_spec(path)[0].get("fingerprint", {})
    parts = [p for p in FINGERPRINT_PARTS if p != "seed" or compare_seed]
    changed = [p for p in parts if saved.get(p) != current[p]]
    if not changed:
        return read_fields(path, env=env)
    names = ", ".join(changed[:-1]) + " and " + changed[-1] if len(changed) > 1 else changed[0]
    what = "it has no fingerprint" if not saved else f"the {names} changed"
    print(f"Refitting the model saved in {path}: {what} since it was saved.")
    return None


def _env_names(md: ModelData | MvModelData) -> list[str]:
    """Names the formula takes from ``env`` (functions or vectors passed at fit time)."""
    forms = [r.formula for r in md.responses.values()] if isinstance(md, MvModelData) else [md.formula]
    used = set().union(*(f.names() for f in forms))
    return sorted(n for n in md.env if n in used)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _formula_spec(md: ModelData) -> dict[str, Any]:
    """A (univariate) model's formula and family as the spec stores them."""
    return {"formula": md.formula.text, "pforms": [p.text for p in md.formula.pforms.values()],
            "nl": bool(md.formula.of_kind("nl")), "nlf": [p.text for p in md.formula.pforms.values() if p.of_kind("nl")],
            "family": md.family.to_dict()}


def _formula_from(spec: dict[str, Any], env: dict[str, Any]) -> BrmsFormula:
    """The inverse of :func:`_formula_spec`'s formula."""
    if spec.get("nl") or spec.get("nlf"):
        return bf(spec["formula"], *[nlf(p) if p in spec["nlf"] else p for p in spec["pforms"]], nl=spec["nl"])
    return parse_formula(spec["formula"], env_names=frozenset(env), pforms=spec.get("pforms", []))


def _spec(fit: Fit, data: dict) -> str:
    md = fit.model_data
    if isinstance(md, MvModelData):  # each response's formula and family (``responses``), and rescor
        responses = {resp: _formula_spec(r) for resp, r in md.responses.items()}
        model = {"formula": " + ".join(r["formula"] for r in responses.values()), "responses": responses,
                 "rescor": md.rescor}
    else:
        model = _formula_spec(md)
    spec = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "brmc_version": __version__,
        **model,
        "priors": [p.to_dict() for p in fit.priors.user],
        "settings": fit.settings.storable(),
        "timing": dict(fit.timing),
        "criteria": {name: criteria.stored(value) for name, value in fit.criteria.items()},
        "data_name": md.data_name,
        "n_dropped": md.n_dropped,
        "contrasts": md.contrasts,
        "missing": md.missing,
        "env_names": _env_names(md),
        "model_data_digest": _model_data_digest(md),
        "fingerprint": fingerprint(md, fit.priors.user, fit.settings),
        "data": data,
    }
    return json.dumps(spec, default=_json_default)


# ----------------------------------------------------------------------------- save

def _tree(fit: Fit) -> tuple[xr.DataTree, dict]:
    """The file's content as a DataTree and the per-variable encodings (compressed, checksummed)."""
    frame_ds, description = _encode_frame(fit.data)
    groups = {g: fit.idata[g] for g in IDATA_GROUPS if g in fit.idata.groups()}
    groups[DATA_GROUP] = frame_ds
    tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs={SPEC_ATTR: _spec(fit, description)}), **groups})
    encoding = {
        f"/{g}": {name: {"zlib": True, "fletcher32": True}
                  for name, var in ds.variables.items() if var.dtype.kind in "biuf"}
        for g, ds in groups.items()
    }
    return tree, encoding


def _write(tree: xr.DataTree, path: Path, encoding: dict) -> None:
    """Write the tree as netCDF-4 (the step an interrupted save interrupts)."""
    tree.to_netcdf(path, engine="h5netcdf", encoding=encoding)


def _fsync(path: Path) -> None:
    """Flush a file (or a folder's entries) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(fit: Fit, path: str | os.PathLike) -> Path:
    """Save ``fit`` to one netCDF file at ``path`` (any name; ``.brmc`` suggested).

    The file is written next to ``path`` under a temporary name, flushed to
    disk and renamed onto ``path``: an interrupted save leaves an existing
    file as it was.

    Parameters
    ----------
    fit : Fit
        The fit to save.
    path : str or os.PathLike
        The file to write, in an existing folder.

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> save(fit, tmp / "sleep.brmc").name
    'sleep.brmc'
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise IOError_(f"Cannot save the fit to {path}: the folder {folder} does not exist.")
    if path.is_dir():
        raise IOError_(f"Cannot save the fit to {path}: it is a folder.")
    try:
        tree, encoding = _tree(fit)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except Exception as err:  # unstorable columns or settings, an unwritable folder
        raise IOError_(f"Cannot save the fit to {path}: {err}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        _write(tree, tmp, encoding)
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, Exception):
            raise IOError_(f"Cannot save the fit to {path}: {type(err).__name__}: {err}") from err
        raise
    with contextlib.suppress(OSError):  # make the rename durable where folders can be fsynced
        _fsync(folder)
    return path


# ----------------------------------------------------------------------------- load

def _read_spec(path: Path) -> tuple[dict, list[str]]:
    """The JSON spec and the file's group names, telling foreign and damaged files apart."""
    if not path.exists():
        raise IOError_(f"Cannot load a fit from {path}: the file does not exist.")
    if path.is_dir():
        raise IOError_(f"Cannot load a fit from {path}: it is a folder, not a file.")
    try:
        with h5netcdf.File(path, "r") as f:
            raw = f.attrs.get(SPEC_ATTR)
            groups = list(f.groups)
    except Exception as err:
        with open(path, "rb") as fh:
            head = fh.read(len(_HDF5_SIGNATURE))
        if head == _HDF5_SIGNATURE:
            raise IOError_(f"Cannot load a fit from {path}: the file is damaged or truncated ({err}).") from None
        what = "a netCDF-3 file" if head[:3] == b"CDF" else "not a netCDF-4/HDF5 file"
        raise IOError_(f"Cannot load a fit from {path}: it is {what}, so not a fit saved by brmc.") from None
    if raw is None:
        hint = " It looks like an ArviZ file; read it with arviz.from_netcdf." if "posterior" in groups else ""
        raise IOError_(
            f"Cannot load a fit from {path}: it is a netCDF file but not a fit saved by brmc "
            f"(no {SPEC_ATTR!r} attribute; groups: {', '.join(groups) or 'none'}).{hint}"
        )
    try:
        spec = json.loads(raw)
    except (TypeError, ValueError) as err:
        raise IOError_(f"Cannot load a fit from {path}: its {SPEC_ATTR!r} attribute is damaged ({err}).") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT:
        raise IOError_(f"Cannot load a fit from {path}: its {SPEC_ATTR!r} attribute does not describe a brmc fit.")
    version = spec.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise IOError_(
            f"Cannot load a fit from {path}: it has file format version {version!r} "
            f"(written by brmc {spec.get('brmc_version', '?')}); this brmc reads version {FORMAT_VERSION}."
            + (" Upgrade brmc to load it." if newer else "")
        )
    missing = [g for g in REQUIRED_GROUPS if g not in groups]
    if missing:
        raise IOError_(f"Cannot load a fit from {path}: the file lacks the group(s) {', '.join(missing)}.")
    return spec, groups


def _read_groups(path: Path, groups: list[str]) -> dict[str, xr.Dataset]:
    wanted = [g for g in (*IDATA_GROUPS, DATA_GROUP) if g in groups]
    try:
        with xr.open_datatree(path, engine="h5netcdf") as tree:
            return {g: tree[g].to_dataset().load() for g in wanted}
    except Exception as err:
        raise IOError_(f"Cannot load a fit from {path}: the file is damaged ({type(err).__name__}: {err}).") from None


def _check_env(path: Path, spec: dict, env: dict[str, Any]) -> None:
    missing = [n for n in spec["env_names"] if n not in env]
    if missing:
        names = ", ".join(missing)
        raise IOError_(
            f"Cannot load the fit in {path}: its formula {spec['formula']!r} uses {names}, passed with "
            f"env= when it was fitted. Pass them again: brmc.load({str(path)!r}, env={{...}})."
        )


def read_fields(path: str | os.PathLike, env: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields of a fit written by :func:`save` (the keyword arguments of :class:`brmc.Fit`),
    rebuilt and checked against the saved digest; :func:`brmc.load` makes the fit of them.

    Parameters
    ----------
    path : str or os.PathLike
        The file :func:`save` wrote.
    env : dict, optional
        The functions (or vectors) the formula took from ``brm(..., env=...)``; they are
        not stored in the file.

    Returns
    -------
    dict
        ``model_data``, ``priors``, ``settings``, ``idata``, ``timing`` and ``criteria``.

    Examples
    --------
    >>> sorted(read_fields(save(fit, tmp / "sleep.brmc")))
    ['criteria', 'idata', 'model_data', 'priors', 'settings', 'timing']
    """
    path = Path(path)
    spec, groups = _read_spec(path)
    env = dict(env or {})
    try:
        _check_env(path, spec, env)
        data = _read_groups(path, groups)
        frame = _decode_frame(data.pop(DATA_GROUP), spec["data"])
        user = [Prior.from_dict(d) for d in spec["priors"]]
        if "responses" in spec:  # a multivariate model
            responses = spec["responses"]
            formula = MultivariateFormula({r: _formula_from(s, env) for r, s in responses.items()}, spec["rescor"])
            md = build_mv_data(formula, frame, [family_from_dict(s["family"]) for s in responses.values()],
                               data_name=spec["data_name"], env=env, contrasts=spec.get("contrasts"))
            priors = resolve_mv_priors(md, user)
        else:
            md = build_data(_formula_from(spec, env), frame, family_from_dict(spec["family"]),
                            data_name=spec["data_name"], env=env, contrasts=spec.get("contrasts"))
            priors = resolve_priors(md, user)
        md.n_dropped, md.missing = spec["n_dropped"], spec.get("missing", "impute")  # files before missing=
        settings = SamplerSettings(**spec["settings"])
        digest = spec["model_data_digest"]
        timing = spec["timing"]
        stored_criteria = {name: criteria.restored(value) for name, value in spec.get("criteria", {}).items()}
    except IOError_:
        raise
    except BrmsError as err:
        raise IOError_(f"Cannot rebuild the fit saved in {path}: {err}") from None
    except (KeyError, TypeError, ValueError) as err:
        raise IOError_(f"Cannot load a fit from {path}: its spec is damaged ({type(err).__name__}: {err}).") from None
    if _model_data_digest(md) != digest:
        raise IOError_(
            f"Cannot load the fit in {path}: the model data rebuilt from the saved frame differ from those it was "
            "fitted to (different env= functions, or a brmc version that builds data differently)."
        )
    return {"model_data": md, "priors": priors, "settings": settings, "idata": az.InferenceData(**data),
            "timing": timing, "criteria": stored_criteria}
