"""Example data sets shipped with brmc, typed as R has them.

The CSV files in ``data/`` were written by R's ``write.csv``, which quotes
factor and character columns and leaves numbers bare.  :func:`load` uses that
quoting to decide which columns are factors, turns them into
``pandas.Categorical`` with R's level order (the first level is the reference
level) and keeps numeric columns numeric.  Three data sets (``jspr``,
``mjspr``, ``gcse``) are derived from the shipped ones as in the tutorials
that use them.  Every returned frame carries its name in
``df.attrs["data_name"]``.

Example:
    >>> from brmc import datasets
    >>> df = datasets.load("sleepstudy"); df.shape
    (180, 3)
    >>> df.attrs["data_name"]
    'sleepstudy'
    >>> list(df["Subject"].cat.categories[:3])
    ['308', '309', '310']
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from brmc.errors import DataError, close_matches

__all__ = ["names", "load", "describe", "set_name"]

_DATA_DIR = Path(__file__).with_name("data")

# name -> (source, rows, columns, licence), from the table in the data README;
# derived sets last.
_ORIGIN: dict[str, tuple[str, int, int, str]] = {
    "sleepstudy": ("lme4 1.1-31", 180, 3, "GPL-2 or GPL-3"),
    "cbpp": ("lme4 1.1-31", 56, 4, "GPL-2 or GPL-3"),
    "VerbAgg": ("lme4 1.1-31", 7584, 9, "GPL-2 or GPL-3"),
    "Penicillin": ("lme4 1.1-31", 144, 3, "GPL-2 or GPL-3"),
    "grouseticks": ("lme4 1.1-31", 403, 7, "GPL-2 or GPL-3"),
    "InstEval": ("lme4 1.1-31", 73421, 7, "GPL-2 or GPL-3"),
    "Gcsemv": ("mlmRev 1.0-8", 1905, 5, "GPL >= 2"),
    "Oxboys": ("mlmRev 1.0-8", 234, 4, "GPL >= 2"),
    "Exam": ("mlmRev 1.0-8", 4059, 10, "GPL >= 2"),
    "MathAchieve": ("nlme 3.1-162", 7185, 6, "GPL >= 2"),
    "MathAchSchool": ("nlme 3.1-162", 160, 7, "GPL >= 2"),
    "epilepsy": ("brms 2.18.0", 236, 9, "GPL-2"),
    "inhaler": ("brms 2.18.0", 572, 5, "GPL-2"),
    "kidney": ("brms 2.18.0", 76, 7, "GPL-2"),
    "jsp": ("faraway, package data file jsp.rda (version not recorded)", 3236, 9, "GPL"),
    "rats": ("Gelman et al., BDA3 rat tumour data", 71, 3, "public"),
    "mcycle": ("MASS", 133, 2, "GPL-2 or GPL-3"),
    "loss": ("brms 2.18.0", 55, 4, "GPL-2"),
    "nhanes": ("mice (missing values kept)", 25, 4, "GPL-2 or GPL-3"),
    "Orange": ("R datasets", 35, 3, "GPL"),
    "jspr": ("derived from jsp (faraway): rows with year == 2, plus craven", 953, 10, "GPL"),
    "mjspr": (
        "derived from jspr (faraway): English and maths scores stacked as subject/score",
        1906,
        9,
        "GPL",
    ),
    "gcse": (
        "derived from Gcsemv (mlmRev 1.0-8): rows with course observed, plus female",
        1725,
        6,
        "GPL >= 2",
    ),
    "sleepstudy2": ("derived from sleepstudy (lme4 1.1-31): plus fast_rt = Reaction < median", 180, 4,
                    "GPL-2 or GPL-3"),
}

_NUMERIC = "numeric labels"  # level order = labels sorted as integers

_VERBAGG_ITEMS = tuple(
    # lme4's own spelling, including its lower-case "S4wantCurse".
    ("S4wantCurse" if (s, mode, b) == (4, "Want", "Curse") else f"S{s}{mode}{b}")
    for mode in ("Want", "Do")
    for s in (1, 2, 3, 4)
    for b in ("Curse", "Scold", "Shout")
)

# R level orders that differ from a plain C-locale string sort (data README).
# Any factor not listed here gets sorted(labels), which is R's order for it
# (e.g. Oxboys.Subject really is "1", "10", "11", ... in mlmRev).
_LEVELS: dict[str, dict[str, str | tuple[str, ...]]] = {
    "cbpp": {"herd": _NUMERIC},
    "VerbAgg": {
        "item": _VERBAGG_ITEMS,
        "resp": ("no", "perhaps", "yes"),
        "id": _NUMERIC,
        "mode": ("want", "do"),
    },
    "grouseticks": {"INDEX": _NUMERIC, "LOCATION": _NUMERIC},
    "InstEval": {
        "s": _NUMERIC,
        "d": _NUMERIC,
        "studage": _NUMERIC,
        "lectage": _NUMERIC,
        # The README documents only the first eight levels (15, 5, 10, 12, 6,
        # 7, 4, 8); the CSV's order of first appearance (2, 6, 3, 5, ...) is
        # not R's order.  The remaining six follow in numeric order: the
        # reference level "15" is right, the tail order is unverified.
        "dept": ("15", "5", "10", "12", "6", "7", "4", "8", "1", "2", "3", "9", "11", "14"),
    },
    "Gcsemv": {"student": _NUMERIC},
    # R's Orange$Tree is an ordered factor sorted by each tree's largest circumference
    "Orange": {"Tree": ("3", "1", "5", "2", "4")},
    "Exam": {"school": _NUMERIC, "schgend": ("mixed", "boys", "girls"), "student": _NUMERIC},
    # nlme's MathAchieve.School is an ordered factor sorted by each school's
    # maximum MathAch (groupedData); like the README we keep an unordered,
    # string-sorted factor so it matches MathAchSchool.School.
    "MathAchieve": {"Sex": ("Male", "Female")},
    "MathAchSchool": {"Sector": ("Public", "Catholic")},
    "epilepsy": {"patient": _NUMERIC, "obs": _NUMERIC},
    "kidney": {"sex": ("male", "female"), "disease": ("other", "GN", "AN", "PKD")},
    "jsp": {"school": _NUMERIC, "id": _NUMERIC},
}

_ORDERED = {("VerbAgg", "resp"), ("InstEval", "studage"), ("InstEval", "lectage"), ("Orange", "Tree")}

# One CSV field as written: a quoted string (with "" escapes) or bare text.
_FIELD = re.compile(r'"(?:[^"]|"")*"|[^,]*')


def _split_raw(line: str) -> list[str]:
    """Split one CSV line into fields, keeping their quotes."""
    fields = []
    pos = 0
    while True:
        match = _FIELD.match(line, pos)
        fields.append(match.group())
        pos = match.end() + 1  # skip the comma
        if pos > len(line):
            return fields


def _factor_columns(path: Path) -> list[str]:
    """Columns whose non-empty cells are quoted in the raw file (R factors)."""
    with path.open(encoding="utf-8", newline="") as handle:
        header = [h.strip('"') for h in _split_raw(handle.readline().rstrip("\r\n"))]
        undecided = set(header)
        factors = set()
        for line in handle:
            for column, field in zip(header, _split_raw(line.rstrip("\r\n"))):
                if column in undecided and field:
                    undecided.discard(column)
                    if field.startswith('"'):
                        factors.add(column)
            if not undecided:
                break
    return [c for c in header if c in factors]


def _levels(name: str, column: str, labels: pd.Series) -> list[str]:
    """R's level order for one factor column of data set ``name``."""
    spec = _LEVELS.get(name, {}).get(column)
    present = labels.dropna().unique().tolist()
    if spec is None:
        return sorted(present)
    if spec == _NUMERIC:
        return sorted(present, key=int)
    return list(spec)


@functools.lru_cache(maxsize=None)
def _read_raw(name: str) -> pd.DataFrame:
    """Read and type one shipped CSV; cached, so callers must not mutate it."""
    path = _DATA_DIR / f"{name}.csv"
    factors = _factor_columns(path)
    df = pd.read_csv(
        path,
        dtype={c: str for c in factors},
        keep_default_na=False,
        na_values=[""],
    )
    for column in factors:
        df[column] = pd.Categorical(
            df[column],
            categories=_levels(name, column, df[column]),
            ordered=(name, column) in _ORDERED,
        )
    return df


def _jspr() -> pd.DataFrame:
    """Faraway: ``jspr <- jsp[jsp$year == 2, ]``; centred Raven score ``craven``."""
    jsp = _read_raw("jsp")
    out = jsp[jsp["year"] == 2].reset_index(drop=True)
    return out.assign(craven=out["raven"] - out["raven"].mean())


def _mjspr() -> pd.DataFrame:
    """Faraway: English (/100) and maths (/40) of ``jspr`` stacked as ``score``."""
    jspr = _jspr()
    base = jspr[["school", "class", "gender", "social", "raven", "id"]]
    out = pd.concat(
        [
            base.assign(subject="english", score=jspr["english"] / 100),
            base.assign(subject="math", score=jspr["math"] / 40),
        ],
        ignore_index=True,
    )
    out["subject"] = pd.Categorical(out["subject"], categories=["english", "math"])
    return out.assign(craven=out["raven"] - out["raven"].mean())


def _gcse() -> pd.DataFrame:
    """rstanarm tutorial: Gcsemv rows with ``course`` observed; ``female`` with reference M."""
    gcsemv = _read_raw("Gcsemv")
    out = gcsemv[gcsemv["course"].notna()].reset_index(drop=True)
    return out.assign(female=out["gender"].cat.reorder_categories(["M", "F"]))


def _sleepstudy2() -> pd.DataFrame:
    """brms reference ``sleep_bernoulli``: ``fast_rt = as.integer(Reaction < median(Reaction))``."""
    sleep = _read_raw("sleepstudy")
    return sleep.assign(fast_rt=(sleep["Reaction"] < sleep["Reaction"].median()).astype(int))


_DERIVED: dict[str, Callable[[], pd.DataFrame]] = {
    "jspr": _jspr,
    "mjspr": _mjspr,
    "gcse": _gcse,
    "sleepstudy2": _sleepstudy2,
}


def names() -> list[str]:
    """Names of the shipped data sets, derived ones included.

    Returns
    -------
    list of str

    Example:
        >>> "sleepstudy" in names(), "mjspr" in names()
        (True, True)
    """
    return list(_ORIGIN)


def _canonical(name: str) -> str:
    """The canonical spelling of ``name`` (case-insensitive), or a ``DataError``."""
    if isinstance(name, str):
        for known in _ORIGIN:
            if known.lower() == name.lower():
                return known
    raise DataError(
        f"Unknown data set {name!r}. Available data sets: {', '.join(_ORIGIN)}."
        + close_matches(str(name), _ORIGIN)
    )


def set_name(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Record ``name`` as ``df.attrs["data_name"]`` (shown on the summary's Data line).

    Parameters
    ----------
    df : pandas.DataFrame
        The data; changed in place.
    name : str
        The name to show.

    Returns
    -------
    pandas.DataFrame
        ``df`` itself.

    Example:
        >>> set_name(pd.DataFrame({"y": [1.0]}), "mydata").attrs["data_name"]
        'mydata'
    """
    df.attrs["data_name"] = name
    return df


def load(name: str) -> pd.DataFrame:
    """Load data set ``name`` (case-insensitive) as a fresh DataFrame typed as in R.

    Parameters
    ----------
    name : str
        One of :func:`names`; an unknown name raises ``DataError``.

    Returns
    -------
    pandas.DataFrame
        Factors as categoricals in R's level order; ``attrs["data_name"]`` holds the name.

    Example:
        >>> df = load("instEval"); df.attrs["data_name"], df.shape
        ('InstEval', (73421, 7))
        >>> list(load("VerbAgg")["mode"].cat.categories)
        ['want', 'do']
    """
    canonical = _canonical(name)
    build = _DERIVED.get(canonical)
    df = build() if build is not None else _read_raw(canonical).copy()
    return set_name(df, canonical)


def describe(name: str) -> str:
    """One line on where data set ``name`` comes from: source, size and licence.

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    str

    Example:
        >>> describe("sleepstudy")
        'sleepstudy: lme4 1.1-31; 180 rows x 3 columns; licence GPL-2 or GPL-3'
    """
    canonical = _canonical(name)
    source, rows, cols, licence = _ORIGIN[canonical]
    return f"{canonical}: {source}; {rows} rows x {cols} columns; licence {licence}"


#: The brms 2.18 reference models brmc is checked against (``tests/reference``):
#: name → (formula, data set, family).
REFERENCE_MODELS: dict[str, tuple[str, str, str]] = {
    "sleepstudy_slopes": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", "gaussian"),
    "gcse_m1": ("course ~ 1 + (1 | school)", "gcse", "gaussian"),
    "gcse_m3": ("course ~ 1 + female + (1 + female | school)", "gcse", "gaussian"),
    "jsp_nested": ("math ~ craven + social + (1 | school) + (1 | school:class)", "jspr", "gaussian"),
    "jsp_bivariate": (
        "score ~ subject*gender + craven*subject + social + (1|school) + (1|school:class) + (1|school:class:id)",
        "mjspr",
        "gaussian",
    ),
    "rats": ("m | trials(n) ~ 1 + (1 | batch)", "rats", "binomial"),
    "sleep_bernoulli": ("fast_rt ~ Days + (Days | Subject)", "sleepstudy2", "bernoulli"),
}

#: The second round of brms 2.18 reference fits, of families and kinds of terms
#: (``tests/reference/<name>/model_info.json``): name → (formula, data set, family).
ROUND2_MODELS: dict[str, tuple[str, str, str]] = {
    "sratio_inhaler": ("rating ~ treat + period + carry + (1 | subject)", "inhaler", "sratio"),
    "betabin_cbpp": ("incidence | trials(size) ~ period + (1 | herd)", "cbpp", "beta_binomial"),
    "s_mcycle": ("accel ~ s(times)", "mcycle", "gaussian"),
    "s_jsp_re": ('math ~ craven + s(school, bs = "re")', "jspr", "gaussian"),
    "mo_sleep": ("Reaction ~ mo(Days) + (1 | Subject)", "sleepstudy", "gaussian"),
    "gp_mcycle": ("accel ~ gp(times, k = 20, c = 5/4)", "mcycle", "gaussian"),
    "ar_sleep": ("Reaction ~ Days + (1 | Subject) + ar(time = Days, gr = Subject, p = 1)", "sleepstudy", "gaussian"),
}
