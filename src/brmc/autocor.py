"""brms's time-series autocorrelation terms: ``ar()``, ``ma()``, ``arma()``, ``cosy()`` (brms 2.18) and
``unstr()`` (brms 2.19: an unstructured correlation matrix over the time points).

Three pieces a model term will use:

- :func:`parse_autocor` reads a term's text (R's argument matching: positional or named) into an
  :class:`AutocorTerm`;
- :func:`order_rows` and :func:`autocor_data` give brms's row order (by group, then time, as
  ``order_data``) and the data brms passes to Stan (``Kar``, ``Kma``, ``J_lag`` for the regression
  formulation of ARMA; ``N_tg``, ``begin_tg``, ``nobs_tg``, ``end_tg`` for the covariance
  formulations: ``cosy()``, ``unstr()`` and ``cov = TRUE``; ``n_unique_t``, ``n_unique_cortime`` and
  ``Jtime_tg`` for ``unstr()``), plus the padded :class:`TimeSeries` layout;
- the likelihood pieces in :mod:`brmc.autocor_lik`.

The ``time`` variable only orders the rows: as in brms, gaps in time are ignored (the lags are
between consecutive rows of a group).  ``unstr()``'s times are levels (any values, as R's ``factor()``
orders them): each row's time point indexes the rows and columns of the one correlation matrix, so
a group with time points missing takes the sub-matrix of those it has.

Examples
--------
>>> import pandas as pd
>>> term = parse_autocor("ar(time = Days, gr = Subject, p = 1)")
>>> term.cls, term.time, term.gr, term.p, term.q
('arma', 'Days', 'Subject', 1, 0)
>>> frame = pd.DataFrame({"Days": [1, 0, 0, 1], "Subject": ["b", "b", "a", "a"]})
>>> order_rows(term, frame)
array([2, 3, 1, 0])
>>> autocor_data(term, frame.iloc[order_rows(term, frame)])["J_lag"]
array([1, 0, 1, 0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .design import group_levels, labels_of, level_order
from .errors import DataError, FormulaError
from .lexer import Token, split_top, tokenize

#: each term's arguments in R's order, with brms's defaults (``None`` is R's ``NA``).
SIGNATURES: dict[str, dict[str, object]] = {
    "arma": {"time": None, "gr": None, "p": 1, "q": 1, "cov": False},
    "ar": {"time": None, "gr": None, "p": 1, "cov": False},
    "ma": {"time": None, "gr": None, "q": 1, "cov": False},
    "cosy": {"time": None, "gr": None},
    "unstr": {"time": None, "gr": None},
}
#: the arguments a term has no default for (brms 2.19's ``unstr <- function(time, gr)``)
REQUIRED = {"unstr": ("time", "gr")}
_LOGICAL = {"TRUE": True, "T": True, "FALSE": False, "F": False}


@dataclass(frozen=True)
class AutocorTerm:
    """One time-series autocorrelation term, as brms's ``tidy_acef`` row.

    Parameters
    ----------
    cls : str
        brms's class: ``"arma"`` (for ``ar``, ``ma`` and ``arma``), ``"cosy"`` or ``"unstr"``.
    time, gr : str or None
        The time and grouping variables (``None``: brms's ``NA``, the data order / one series).
    p, q : int
        AR and MA orders (0 for ``cosy`` and ``unstr``).
    cov : bool
        The covariance formulation (always for ``cosy`` and ``unstr``).
    label : str
        The term as written.
    """

    cls: str
    time: str | None
    gr: str | None
    p: int
    q: int
    cov: bool
    label: str


def _value(tokens: list[Token], label: str) -> str:
    if len(tokens) == 2 and tokens[0].text == "-" and tokens[1].kind == "number":
        return "-" + tokens[1].text  # a negative order, refused with brms's message below
    if len(tokens) != 1 or tokens[0].kind not in {"name", "number"}:
        raise FormulaError(f"In {label}: each argument must be one name or number, not "
                           f"{' '.join(t.text for t in tokens) or 'nothing'!r}.")
    return tokens[0].text.strip("`")


def _match_arguments(func: str, args: list[list[Token]], label: str) -> dict[str, str]:
    """R's argument matching: named arguments first, the rest by position."""
    formals = list(SIGNATURES[func])
    named: dict[str, str] = {}
    positional: list[str] = []
    for arg in args:
        if len(arg) >= 2 and arg[0].kind == "name" and arg[1].text == "=":
            key = arg[0].text
            if key not in formals:
                raise FormulaError(f"Unknown argument {key!r} in {label}; {func}() takes {', '.join(formals)}.")
            if key in named:
                raise FormulaError(f"The argument {key!r} is given twice in {label}.")
            named[key] = _value(arg[2:], label)
        else:
            positional.append(_value(arg, label))
    free = [name for name in formals if name not in named]
    if len(positional) > len(free):
        raise FormulaError(f"Too many arguments in {label}; {func}() takes {', '.join(formals)}.")
    named.update(zip(free, positional))
    return named


def _order(value: str | object, what: str, label: str) -> int:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not (number >= 0 and number.is_integer()):
        raise FormulaError(f"{what} order must be a non-negative integer, not {value!r} in {label}.")
    return int(number)


def _variable(value: str | None, label: str) -> str | None:
    if value is None or value == "NA":
        return None
    if not (value[0].isalpha() or value[0] == "."):
        raise FormulaError(f"Cannot coerce {value!r} to a single variable name in {label}.")
    return value


def parse_autocor(term: str) -> AutocorTerm:
    """Read ``ar()``, ``ma()``, ``arma()``, ``cosy()`` or ``unstr()`` as brms does.

    Parameters
    ----------
    term : str
        The term's text, e.g. ``"arma(time = Days, gr = Subject, p = 1, q = 1)"`` or ``"ar(Days, Subject)"``.

    Returns
    -------
    AutocorTerm

    Raises
    ------
    FormulaError
        Unknown term or argument, an order that is not a non-negative integer, ``p = q = 0``,
        ``cov = TRUE`` with an order above one, a ``time``/``gr`` that is not one variable name, ``unstr()``
        without its ``time`` or ``gr``.

    Examples
    --------
    >>> parse_autocor("arma(p = 2, q = 1)")
    AutocorTerm(cls='arma', time=None, gr=None, p=2, q=1, cov=False, label='arma(p = 2, q = 1)')
    >>> parse_autocor("cosy(Days, Subject)").cov
    True
    >>> parse_autocor("unstr(visit, patient)").cls
    'unstr'
    """
    tokens = tokenize(term)
    label = term.strip()
    if len(tokens) < 3 or tokens[0].kind != "name" or tokens[1].text != "(" or tokens[-1].text != ")":
        raise FormulaError(f"{label!r} is not an autocorrelation term; write e.g. 'ar(time = t, gr = g, p = 1)'.")
    func = tokens[0].text
    if func not in SIGNATURES:
        raise FormulaError(f"Unknown autocorrelation term {func}(); brms's time-series terms are "
                           f"{', '.join(f'{name}()' for name in SIGNATURES)}.")
    inner = tokens[2:-1]
    args = [arg for arg in split_top(inner, ",") if arg] if inner else []
    if inner and len(args) != len(split_top(inner, ",")):
        raise FormulaError(f"Empty argument in {label}.")
    matched = _match_arguments(func, args, label)
    for name in REQUIRED.get(func, ()):
        if matched.get(name, "NA") == "NA":
            raise FormulaError(f"In {label}: argument {name!r} is missing, with no default; {func}() needs its time "
                               f"and grouping variables, as in {func}(time = visit, gr = patient).")
    given = {**SIGNATURES[func], **matched}
    time, gr = _variable(given["time"], label), _variable(given["gr"], label)  # type: ignore[arg-type]
    if func in {"cosy", "unstr"}:
        return AutocorTerm(func, time, gr, 0, 0, True, label)
    p = _order(given.get("p", 0), "Autoregressive", label)
    q = _order(given.get("q", 0), "Moving-average", label)
    if p + q == 0:
        raise FormulaError(f"At least one of 'p' and 'q' should be greater zero in {label}.")
    cov_text = given["cov"]
    cov = _LOGICAL.get(cov_text, cov_text) if isinstance(cov_text, str) else cov_text
    if not isinstance(cov, bool):
        raise FormulaError(f"'cov' must be TRUE or FALSE in {label}, not {cov_text!r}.")
    if cov and (p > 1 or q > 1):
        raise FormulaError(f"Covariance formulation of ARMA structures is only possible for effects of "
                           f"maximal order one ({label}).")
    return AutocorTerm("arma", time, gr, p, q, cov, label)


def _column(data: pd.DataFrame, name: str, term: AutocorTerm, role: str) -> pd.Series:
    if name not in data.columns:
        raise DataError(f"The {role} variable {name!r} of {term.label} is not a column of the data.")
    column = data[name]
    if column.isna().any():
        raise DataError(f"The {role} variable {name!r} of {term.label} has missing values.")
    return column


def group_codes(term: AutocorTerm, data: pd.DataFrame) -> np.ndarray:
    """brms's ``tgroup``: 0-based codes of the grouping variable in level order (all 0 without ``gr``).

    The level order is R's ``factor()``'s, as for group terms (:func:`brmc.design.group_levels`:
    numbers numerically, text in R's en_US collation, a categorical's own category order).

    Parameters
    ----------
    term : AutocorTerm
        The term.
    data : pandas.DataFrame
        The data.

    Returns
    -------
    numpy.ndarray of int

    Examples
    --------
    >>> import pandas as pd
    >>> group_codes(parse_autocor("ar(gr = g)"), pd.DataFrame({"g": ["b", "a", "b"]}))
    array([1, 0, 1])
    """
    if term.gr is None:
        return np.zeros(len(data), dtype=np.int64)
    _column(data, term.gr, term, "grouping")
    return group_levels(data, [term.gr])[1]  # R's factor() level order, as for group terms


def time_levels(term: AutocorTerm, data: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """``unstr()``'s time points: brms 2.19's ``extract_levels`` (R's ``factor()`` levels: numbers
    numerically, text in R's collation, a categorical's own categories, unused ones too) and each
    row's 0-based level.

    Parameters
    ----------
    term : AutocorTerm
        The term (with a time variable).
    data : pandas.DataFrame
        The data.

    Returns
    -------
    levels : list of str
        The labels brms names the correlations by (``cortime__0__1``).
    codes : numpy.ndarray of int

    Examples
    --------
    >>> time_levels(parse_autocor("unstr(t, g)"), pd.DataFrame({"t": [2, 0.5, 2], "g": [1, 1, 2]}))
    (['0.5', '2'], array([1, 0, 1]))
    """
    column = _column(data, str(term.time), term, "time")
    levels = ([str(c) for c in column.cat.categories] if isinstance(column.dtype, pd.CategoricalDtype)
              else level_order(column))
    lookup = {lv: i for i, lv in enumerate(levels)}
    return levels, labels_of(column).map(lookup).to_numpy(dtype=np.int64)


def _times(term: AutocorTerm, data: pd.DataFrame) -> np.ndarray:
    """What orders the rows within a group: the time variable (numbers, a categorical's codes, ``unstr()``'s
    levels of any values) or, without one, the data's order."""
    if term.time is None:
        return np.arange(len(data))
    if term.cls == "unstr":
        return time_levels(term, data)[1]
    column = _column(data, term.time, term, "time")
    if not pd.api.types.is_numeric_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype):
        raise DataError(f"The time variable {term.time!r} of {term.label} must be numeric.")
    return column.cat.codes.to_numpy() if isinstance(column.dtype, pd.CategoricalDtype) \
        else column.to_numpy(dtype=float)


def order_rows(term: AutocorTerm, data: pd.DataFrame) -> np.ndarray:
    """brms's ``order_data``: the row order by group (level order), then time (stable).

    Parameters
    ----------
    term : AutocorTerm
        The term.
    data : pandas.DataFrame
        The data in the user's order.

    Returns
    -------
    numpy.ndarray of int
        Positions: ``data.iloc[order]`` is the model's order.

    Raises
    ------
    DataError
        A missing column, missing values, or a time point twice within a group (brms: "Time points
        within groups must be unique").

    Examples
    --------
    >>> import pandas as pd
    >>> order_rows(parse_autocor("ar(time = t)"), pd.DataFrame({"t": [3, 1, 2]}))
    array([1, 2, 0])
    """
    groups, times = group_codes(term, data), _times(term, data)
    order = np.lexsort((times, groups))
    sorted_groups, sorted_times = groups[order], times[order]
    same = (sorted_groups[1:] == sorted_groups[:-1]) & (sorted_times[1:] == sorted_times[:-1])
    if same.any():
        row = int(order[1:][same][0])
        raise DataError(f"Time points within groups must be unique ({term.label}): row {row + 1} repeats "
                        f"the time {data[term.time].iloc[row]} of its group.")
    return order


@dataclass(frozen=True)
class TimeSeries:
    """The ordered rows as series: group ``g``'s rows are ``index[g, :nobs[g]]``.

    Parameters
    ----------
    index : numpy.ndarray of int, shape (groups, longest)
        Row positions; entries past a group's end repeat its last row (masked by ``nobs``).
    nobs : numpy.ndarray of int
        Rows per group.
    times : numpy.ndarray of int, shape (groups, longest), optional
        ``unstr()``'s 0-based time point of each entry of ``index`` (brms's ``Jtime_tg`` less one);
        ``None``: a group's rows are the time points ``0, 1, ...`` of its correlation matrix.
    """

    index: np.ndarray
    nobs: np.ndarray
    times: np.ndarray | None = None

    @property
    def valid(self) -> np.ndarray:
        """``(groups, longest)`` mask of the real entries of :attr:`index`."""
        return np.arange(self.index.shape[1])[None, :] < self.nobs[:, None]

    def patterns(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The groups by their time points: ``(points, rows)`` for each distinct set, ``rows`` (groups, points)
        the row positions of the groups with those points (brms's ``_flex`` likelihoods batch them so).

        Examples
        --------
        >>> s = TimeSeries.from_groups(np.array([0, 0, 1, 2, 2]))
        >>> [(p.tolist(), r.tolist()) for p, r in s.patterns()]
        [([0, 1], [[0, 1], [3, 4]]), ([0], [[2]])]
        """
        times = self.times if self.times is not None else np.broadcast_to(np.arange(self.index.shape[1]),
                                                                          self.index.shape)
        groups: dict[tuple[int, ...], list[int]] = {}
        for g, n in enumerate(self.nobs):
            groups.setdefault(tuple(int(t) for t in times[g, :n]), []).append(g)
        return [(np.array(points), self.index[members, :len(points)]) for points, members in groups.items()]

    @classmethod
    def from_groups(cls, tgroup: np.ndarray, codes: np.ndarray | None = None) -> TimeSeries:
        """The layout of rows already ordered by group (brms's ``tgroup``, contiguous per group).

        Parameters
        ----------
        tgroup : numpy.ndarray of int
            Group code per ordered row.
        codes : numpy.ndarray of int, optional
            ``unstr()``'s time point of each row (:func:`time_levels`), for :attr:`times`.

        Returns
        -------
        TimeSeries

        Examples
        --------
        >>> TimeSeries.from_groups(np.array([0, 0, 0, 1, 1])).index
        array([[0, 1, 2],
               [3, 4, 4]])
        """
        tgroup = np.asarray(tgroup)
        starts = np.flatnonzero(np.r_[True, tgroup[1:] != tgroup[:-1]])
        nobs = np.diff(np.r_[starts, len(tgroup)])
        steps = np.minimum(np.arange(nobs.max(initial=1))[None, :], nobs[:, None] - 1)
        index = starts[:, None] + steps
        return cls(index=index, nobs=nobs, times=None if codes is None else np.asarray(codes)[index])

    @classmethod
    def of_rows(cls, term: AutocorTerm, data: pd.DataFrame, codes: np.ndarray | None = None) -> TimeSeries:
        """The series of rows in any order (new data): each group's rows by time, as :func:`order_rows`
        would put them, ``index`` holding their positions in ``data``.

        Parameters
        ----------
        term : AutocorTerm
            The term.
        data : pandas.DataFrame
            The rows.
        codes : numpy.ndarray of int, optional
            ``unstr()``'s time point of each row of ``data``.

        Returns
        -------
        TimeSeries

        Examples
        --------
        >>> frame = pd.DataFrame({"t": [2, 1, 1], "g": ["a", "a", "b"]})
        >>> TimeSeries.of_rows(parse_autocor("cosy(t, g)"), frame).index
        array([[1, 0],
               [2, 2]])
        """
        order = order_rows(term, data)
        ordered = cls.from_groups(group_codes(term, data)[order])
        index = order[ordered.index]
        return cls(index=index, nobs=ordered.nobs, times=None if codes is None else np.asarray(codes)[index])


def autocor_data(term: AutocorTerm, data: pd.DataFrame) -> dict[str, np.ndarray]:
    """brms's Stan data of the term (``data_ac``), for rows in :func:`order_rows`'s order.

    Parameters
    ----------
    term : AutocorTerm
        The term.
    data : pandas.DataFrame
        The data, already ordered.

    Returns
    -------
    dict of str to numpy.ndarray
        ``Kar``, ``Kma`` (ARMA) and ``J_lag`` (ARMA without ``cov``: how many of the rows ``n``,
        ``n - 1``, ... ``n + 1 - max(p, q)`` lie in row ``n + 1``'s group); ``N_tg``, ``begin_tg``,
        ``nobs_tg``, ``end_tg`` (1-based, as brms) for ``cosy``, ``unstr`` and ``cov = TRUE``; for ``unstr``
        also ``n_unique_t`` (time points), ``n_unique_cortime`` (their correlations) and ``Jtime_tg`` (each
        group's time points, 1-based, zero-padded; brms 2.19).

    Examples
    --------
    >>> import pandas as pd
    >>> sorted(autocor_data(parse_autocor("cosy(gr = g)"), pd.DataFrame({"g": [1, 1, 2]})).items())
    [('N_tg', array(2)), ('begin_tg', array([1, 3])), ('end_tg', array([2, 3])), ('nobs_tg', array([2, 1]))]
    """
    tgroup = group_codes(term, data)
    if np.any(np.diff(tgroup) < 0) and term.gr is not None:
        raise DataError(f"The rows are not ordered by {term.gr!r}; order them with order_rows() first.")
    out: dict[str, np.ndarray] = {}
    if term.cls == "arma":
        out["Kar"], out["Kma"] = np.asarray(term.p), np.asarray(term.q)
        if not term.cov:
            max_lag = max(term.p, term.q)
            n = len(tgroup)
            j_lag = np.zeros(n, dtype=np.int64)
            for lag in range(max_lag):  # row n - lag is in row n + 1's group
                later = np.arange(lag, n - 1)
                j_lag[later] += tgroup[later - lag] == tgroup[later + 1]
            out["J_lag"] = j_lag
    if term.cov:
        series = TimeSeries.from_groups(tgroup)
        begin = series.index[:, 0] + 1
        out.update(N_tg=np.asarray(len(begin)), begin_tg=begin, nobs_tg=series.nobs, end_tg=begin + series.nobs - 1)
    if term.cls == "unstr":
        levels, codes = time_levels(term, data)
        series = TimeSeries.from_groups(tgroup, codes)
        n = len(levels)
        out.update(n_unique_t=np.asarray(n), n_unique_cortime=np.asarray(n * (n - 1) // 2),
                   Jtime_tg=np.where(series.valid, series.times + 1, 0))
    return out
