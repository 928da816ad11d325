"""brms's smooth data ``Xs`` / ``Zs_<i>_<j>``: mgcv's ``smoothCon`` and ``smooth2random`` in numpy.

brms 2.18 builds each ``s()`` term with ``mgcv::smoothCon(..., absorb.cons =
TRUE, diagonal.penalty = TRUE)`` and splits it with ``mgcv::smooth2random(sm,
type = 2)`` into an unpenalised part (brms's ``Xs`` columns, coefficients
``bs_``) and penalised blocks ``Zs`` whose coefficients are iid ``N(0,
sds^2)``.  :class:`Smooth` does the same steps in the same order:

1. the constructor's basis (:mod:`brmc.bases.splines`);
2. the sum-to-zero constraint ``colMeans(X) b = 0`` (or the constructor's own;
   none for a numeric ``by`` that is not constant);
3. mgcv's penalty rescaling ``S / (norm(S, "O") / norm(X, "I")^2)``;
4. a factor ``by`` repeats the smooth per level (rows of other levels zero);
5. the constraint absorbed through a QR null space;
6. the penalty made diagonal (``nat.param`` type 2, fitted on the first level);
7. the penalised columns scaled to an identity penalty: ``Zs``; the rest: ``Xs``.

:meth:`Smooth.predict` replays the same transformation on new data (brms's
``s2rPred``), so a row's basis never depends on the other rows passed with it.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 1, 40)
>>> sm = Smooth({"x": x}, ["x"], k=6)
>>> block = sm.blocks[0]
>>> block.label, block.Xs.shape, [z.shape for z in block.Zs]
('s(x)', (40, 1), [(40, 4)])
>>> bool(np.allclose(sm.predict({"x": x})[0].Zs[0], block.Zs[0]))
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from brmc.bases._columns import as_categorical, column, is_factor, labels, levels
from brmc.bases.splines import (
    CubicRegression,
    CyclicCubic,
    PSpline,
    RandomEffect,
    RawSmooth,
    r_eigen,
)
from brmc.bases.thinplate import MAX_KNOTS, ThinPlate
from brmc.errors import DataError, FormulaError, close_matches

__all__ = ["Smooth", "SmoothBlock", "construct", "to_random"]

_EPS = np.finfo(float).eps

#: The mgcv bases brmc builds (``bs =``); ``"tp"`` is mgcv's and brms's default.
BASES = ("tp", "ts", "cr", "cs", "cc", "ps", "re")


@dataclass(frozen=True)
class SmoothBlock:
    """One smooth as brms passes it to Stan (one per level of a factor ``by``).

    Attributes
    ----------
    label : str
        mgcv's label, e.g. ``"s(times)"`` or ``"s(craven):gendergirl"``.
    by_level : str or None
        The ``by`` factor level this block belongs to.
    Xs : ndarray
        Unpenalised columns ``(n, ks)`` (brms's ``Xs`` columns, ``bs_``).
    Zs : tuple of ndarray
        Penalised blocks ``Zs_<i>_<j>`` (coefficients iid ``N(0, sds_j^2)``);
        for ``s(g, bs = "re")`` of one factor a ``scipy.sparse.csr_array``
        indicator matrix (``Smooth.raw.index`` is the gather index).
    """

    label: str
    by_level: str | None
    Xs: np.ndarray
    Zs: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class _Reparam:
    """The linear map from a constructor's basis to one block (fixed at training)."""

    by_level: str | None
    constraint: np.ndarray | None  # orthonormal null-space basis of the constraint
    diagonal: np.ndarray | None  # nat.param's P
    random: np.ndarray  # columns -> [penalised (scaled) ..., unpenalised ...]
    n_penalised: tuple[int, ...]


def construct(bs: str, columns: list, names: Sequence[str], k: int = -1, m=None,
              xt: Mapping[str, float] | None = None) -> RawSmooth:
    """Build one mgcv basis from its covariates (mgcv's ``smooth.construct``).

    Parameters
    ----------
    bs : str
        One of :data:`BASES`: ``"tp"``, ``"ts"``, ``"cr"``, ``"cs"``, ``"cc"``, ``"ps"``, ``"re"``.
    columns : list of array-like
        The covariate columns.
    names : sequence of str
        Their names (for messages).
    k : int
        Basis dimension, ``-1`` for mgcv's default.
    m : int or tuple, optional
        Penalty order (``tp``) or ``(basis order, penalty order)`` (``ps``).
    xt : mapping, optional
        mgcv's ``xt`` for the thin plate bases: ``max.knots`` (and ``seed``, which only
        matters when mgcv subsamples knots, which brmc refuses).

    Returns
    -------
    RawSmooth

    Examples
    --------
    >>> import numpy as np
    >>> construct("cr", [np.arange(20.0)], ["x"], k=5).X.shape
    (20, 5)
    """
    if bs == "re":
        return RandomEffect(list(columns), list(names))
    for values, name in zip(columns, names):
        if is_factor(values):
            raise DataError(f"The smooth s({', '.join(names)}) needs numeric covariates; '{name}' is a factor.")
    x = np.column_stack([np.asarray(v, dtype=float) for v in columns])
    if bs in ("tp", "ts"):
        max_knots = int((xt or {}).get("max.knots", MAX_KNOTS))
        return ThinPlate(x, k=k, m=0 if m is None else int(m), shrink=0.1 if bs == "ts" else None,
                         max_knots=max_knots)
    if len(names) != 1 and bs in ("cr", "cs", "cc", "ps"):
        raise FormulaError(f"The basis bs = '{bs}' takes one covariate, not {len(names)}: {', '.join(names)}.")
    if bs in ("cr", "cs"):
        return CubicRegression(x, k=k, shrink=0.1 if bs == "cs" else None)
    if bs == "cc":
        return CyclicCubic(x, k=k)
    if bs == "ps":
        order = (2, 2) if m is None else tuple(np.broadcast_to(np.asarray(m, dtype=int), 2).tolist())
        return PSpline(x, k=k, m=order)
    raise FormulaError(f"Unknown smooth basis bs = '{bs}'.{close_matches(bs, BASES)}")


def _constraint_null_space(C: np.ndarray) -> np.ndarray:
    """mgcv's absorbed constraint: ``X @ Z`` is the constrained basis (``Z`` orthonormal, ``C Z = 0``).

    As mgcv (``qr(t(C))``, rows ``(j+1):k`` of ``Q'``), a constraint that
    leaves some coefficients untouched (zero columns of ``C``, as ``t2()``'s
    null-space constraint) only rotates the others: the untouched columns keep
    their places, the rotated ones fill the first positions of the constrained
    columns and the last ``j`` of those are dropped.
    """
    n_cons, k = C.shape
    touched = np.flatnonzero(np.abs(C).sum(axis=0) != 0)
    q, _ = np.linalg.qr(C[:, touched].T, mode="complete")
    free = len(touched) - n_cons
    Z = np.eye(k)
    Z[np.ix_(touched, touched[:free])] = q[:, n_cons:]
    return np.delete(Z, touched[free:], axis=1)


def _nat_param(
    X: np.ndarray, S: np.ndarray, rank: int, constant_first: bool = False, unit_fnorm: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """mgcv's ``nat.param(type = 2)``: ``P`` with ``P' S P = diag(1, .., 0, ..)``; returns ``P`` and ``X P``.

    The null-space columns are scaled so that their norms match the average
    penalised column.  ``constant_first`` is mgcv's ``type = 3`` (the null
    space re-rotated so that its most nearly constant direction comes first);
    ``unit_fnorm`` scales the penalised and the null-space columns each to unit
    mean square (the penalty then is ``scale^2`` times the identity, taken as
    the identity here, as ``t2()`` does).
    """
    values, vectors = r_eigen(S)
    p = X.shape[1]
    E = np.ones(p)
    E[:rank] = np.sqrt(values[:rank])
    XV = X @ vectors
    col_norm = (XV**2).sum(axis=0) / E**2
    if rank < p:
        E[rank:] = np.sqrt(col_norm[rank:] / col_norm[:rank].mean())
    P = vectors / E
    XP = XV / E
    if constant_first and rank < p - 1:
        null = XP[:, rank:]
        centred = null - null.mean(axis=0)
        U = r_eigen(centred.T @ centred)[1][:, ::-1]  # ascending: the most nearly constant direction first
        XP[:, rank:], P[:, rank:] = null @ U, P[:, rank:] @ U
    if unit_fnorm:
        for cols in (slice(0, rank), slice(rank, p)):
            if XP[:, cols].size:
                scale = 1 / np.sqrt(np.mean(XP[:, cols] ** 2))
                XP[:, cols] *= scale
                P[:, cols] *= scale
    return P, XP


def _is_diagonal(S: np.ndarray, rank: int) -> bool:
    target = np.diag(np.r_[np.full(rank, S[0, 0]), np.zeros(S.shape[0] - rank)])
    return bool(np.abs(S - target).max() <= abs(S[0, 0]) * _EPS**0.8)


def to_random(S: np.ndarray, rank: int) -> tuple[np.ndarray, int]:
    """mgcv's ``smooth2random`` for one penalty: the matrix taking coefficients to ``[penalised, fixed]``.

    Parameters
    ----------
    S : ndarray
        The (constrained, rescaled) penalty.
    rank : int
        Its rank.

    Returns
    -------
    tuple
        ``(U D, rank)``: ``X @ (U D)`` has the ``rank`` penalised columns
        first, scaled to an identity penalty, then the unpenalised ones.

    Examples
    --------
    >>> import numpy as np
    >>> UD, r = to_random(np.diag([4.0, 0.0, 1.0]), 2)
    >>> np.round(UD, 3).tolist(), r
    ([[0.5, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], 2)
    """
    if np.count_nonzero(S - np.diag(np.diag(S))) == 0:  # eigen() of a diagonal penalty: a permutation
        order = np.argsort(-np.diag(S), kind="stable")
        values, U = np.diag(S)[order], np.eye(len(S))[:, order]
    else:
        values, U = r_eigen(S)
        if U[0, 0] < 0:
            U = -U
    rank = min(rank, S.shape[1])
    D = np.ones(len(S))
    D[:rank] = 1 / np.sqrt(values[:rank])
    return U * D, rank


def _separate_random(S: list[np.ndarray]) -> tuple[np.ndarray, tuple[int, ...]]:
    """mgcv's ``smooth2random.t2.smooth``: each diagonal penalty's columns scaled to an identity penalty.

    Returns the column map (penalised blocks in penalty order, then the
    unpenalised columns) and the size of each penalised block.
    """
    p = S[0].shape[0]
    scale = np.ones(p)
    blocks, penalised = [], np.zeros(p, dtype=bool)
    for s in S:
        cols = np.flatnonzero(np.diag(s) != 0)
        scale[cols] = 1 / np.sqrt(np.diag(s)[cols])
        penalised[cols] = True
        blocks.append(cols)
    order = np.concatenate([*blocks, np.flatnonzero(~penalised)]).astype(int)
    return np.eye(p)[:, order] * scale[order], tuple(len(b) for b in blocks)


class Smooth:
    """One ``s()`` term's basis as brms 2.18 passes it to Stan, with its state for new data.

    Parameters
    ----------
    data : mapping
        Column name -> values (a DataFrame works).
    terms : sequence of str
        The smooth's covariates, e.g. ``["times"]``.
    bs : str
        Basis: ``"tp"`` (default), ``"cr"``, ``"cs"``, ``"cc"``, ``"ps"``, ``"re"``.
    k : int
        Basis dimension (``-1``: mgcv's default).
    m : int or tuple, optional
        Penalty order (see :func:`construct`).
    by : str, optional
        A numeric or factor column (mgcv's ``by``).
    label : str, optional
        mgcv's label; default ``"s(<terms>)"``.
    fx : bool
        mgcv's fixed regression spline (``s(x, fx = TRUE)``): no penalty,
        every constrained column in ``Xs`` and no ``Zs``.
    pc : mapping, optional
        mgcv's point constraint (``s(x, pc = 0)``): covariate -> value; the
        smooth is constrained to be zero there (the basis at that point, instead
        of ``colMeans(X)``, is the constraint, kept even with a numeric ``by``).
    xt : mapping, optional
        mgcv's ``xt`` for the constructor (see :func:`construct`).
    raw : RawSmooth, optional
        A basis built elsewhere (``t2()``); ``bs``, ``k`` and ``m`` are then unused.

    Attributes
    ----------
    blocks : list of SmoothBlock
        The training bases, one per ``by`` level.
    raw : RawSmooth
        The constructor's basis.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> df = pd.DataFrame({"x": np.linspace(0, 1, 30), "g": pd.Categorical(["a", "b"] * 15)})
    >>> sm = Smooth(df, ["x"], bs="cr", k=5, by="g")
    >>> [b.label for b in sm.blocks]
    ['s(x):ga', 's(x):gb']
    >>> float(np.abs(sm.blocks[0].Zs[0][1::2]).max())   # rows of level b are zero
    0.0
    """

    def __init__(
        self,
        data: Mapping,
        terms: Sequence[str],
        bs: str = "tp",
        k: int = -1,
        m=None,
        by: str | None = None,
        label: str | None = None,
        fx: bool = False,
        pc: Mapping[str, float] | None = None,
        xt: Mapping[str, float] | None = None,
        raw: RawSmooth | None = None,
    ) -> None:
        self.terms, self.bs, self.by = list(terms), bs, by
        self.label = label or f"s({','.join(self.terms)})"
        if raw is None:
            raw = construct(bs, [column(data, t, self.label) for t in self.terms], self.terms, k=k, m=m, xt=xt)
        self.raw = raw
        self.by_levels: list[str | None] = [None]
        self._reparam: list[_Reparam] = []
        if isinstance(raw, RandomEffect) and raw.single_factor and by is None and not fx:
            # s(g, bs = "re"): every mgcv step is the identity (S = I, one 1 per row, no constraint)
            self.blocks = [self._indicator_block(raw.index)]
            return
        X, S = raw.X, [] if fx else [s.copy() for s in raw.S]
        C = raw.constraint if raw.constraint is not None else X.mean(axis=0)[None, :]
        if pc is not None:  # smooth.construct3: the basis at the point, "always.apply"
            C = raw.design(np.array([[pc[t] for t in self.terms]], dtype=float))
        if raw.rescale and S:
            max_row = np.abs(X).sum(axis=1).max() ** 2
            S = [s / (np.abs(s).sum(axis=0).max() / max_row) for s in S]
        if by is not None:
            by_values = column(data, by, self.label)
            if is_factor(by_values):
                used = levels(by_values)
                ordered = as_categorical(by_values).ordered
                self.by_levels = used[1:] if ordered and len(used) > 1 else used
            else:
                b = np.asarray(by_values, dtype=float)
                if pc is None and np.std(b, ddof=1) > np.mean(b) * _EPS * 1000:
                    C = np.zeros((0, X.shape[1]))
        Xl = [self._apply_by(X, data, level) for level in self.by_levels]
        Zc = _constraint_null_space(C) if C.shape[0] else None
        rank = raw.rank
        if Zc is not None:
            Xl = [x @ Zc for x in Xl]
            S = [Zc.T @ s @ Zc for s in S]
            rank = min(rank, X.shape[1] - C.shape[0])
        P = None
        if len(S) == 1 and not _is_diagonal(S[0], rank):
            P, _ = _nat_param(Xl[0], S[0], rank)
            S = [np.diag(np.r_[np.ones(rank), np.zeros(S[0].shape[0] - rank)])]
        if not S:  # a fixed (unpenalised) smooth: all of it is Xs
            UD, n_penalised = np.eye(Xl[0].shape[1]), ()
        elif raw.separate_penalties:
            UD, n_penalised = _separate_random(S)
        elif len(S) == 1:
            UD, r = to_random(S[0], rank)
            n_penalised = (r,)
        else:
            raise FormulaError(f"The smooth {self.label} has {len(S)} penalties; use t2() for tensor products.")
        self._reparam = [_Reparam(level, Zc, P, UD, n_penalised) for level in self.by_levels]
        self.blocks = [self._block(x, r) for x, r in zip(Xl, self._reparam)]

    def _indicator_block(self, codes: np.ndarray) -> SmoothBlock:
        indicator = self.raw.indicator(codes)
        return SmoothBlock(self.label, None, np.zeros((indicator.shape[0], 0)), (indicator,))

    def _apply_by(self, X: np.ndarray, data: Mapping, level: str | None) -> np.ndarray:
        if self.by is None:
            return X
        values = column(data, self.by, self.label)
        if level is None:
            return X * np.asarray(values, dtype=float)[:, None]
        return X * (labels(values) == level)[:, None]

    def _block(self, X: np.ndarray, rp: _Reparam) -> SmoothBlock:
        if rp.diagonal is not None:
            X = X @ rp.diagonal
        X = X @ rp.random
        Zs, start = [], 0
        for n_pen in rp.n_penalised:
            Zs.append(X[:, start : start + n_pen])
            start += n_pen
        label = self.label if rp.by_level is None else f"{self.label}:{self.by}{rp.by_level}"
        return SmoothBlock(label, rp.by_level, X[:, start:], tuple(Zs))

    def predict(self, newdata: Mapping) -> list[SmoothBlock]:
        """The same bases at new rows (brms's ``s2rPred`` / mgcv's ``PredictMat``).

        Parameters
        ----------
        newdata : mapping
            Column name -> values, with the smooth's covariates (and ``by``).

        Returns
        -------
        list of SmoothBlock
            One per ``by`` level, as :attr:`blocks`.
        """
        columns = [column(newdata, t, self.label) for t in self.terms]
        if not self._reparam:
            return [self._indicator_block(self.raw.codes(columns))]
        if isinstance(self.raw, RandomEffect):
            X = self.raw.design(columns)
        else:
            X = self.raw.design(np.column_stack([np.asarray(c, dtype=float) for c in columns]))
        out = []
        for rp in self._reparam:
            Xl = self._apply_by(X, newdata, rp.by_level)
            if rp.constraint is not None:
                Xl = Xl @ rp.constraint
            out.append(self._block(Xl, rp))
        return out

