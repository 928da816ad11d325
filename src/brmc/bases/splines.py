"""mgcv's smooth constructors (``smooth.construct.<bs>.smooth.spec``) in numpy.

Each class builds one basis as mgcv's constructor returns it, before
``smoothCon`` adds constraints and the penalty rescaling: the model matrix
``X`` at the training data, the penalty list ``S``, its ``rank``, the
dimension of the penalty null space and, where the constructor sets one, its
own identifiability constraint.  ``design(x)`` evaluates the same basis at new
covariate values (mgcv's ``Predict.matrix.<class>``): same knots, same
eigenvectors, same scaling.  :mod:`brmc.bases.smooth` turns these into brms's
``Xs``/``Zs``.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 1, 30)[:, None]
>>> cr = CubicRegression(x, k=5)
>>> cr.X.shape, cr.rank, cr.null_space_dim
((30, 5), 3, 2)
>>> bool(np.allclose(cr.design(x), cr.X))
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import linalg, sparse
from scipy.interpolate import BSpline

from brmc.bases._columns import is_factor, labels, levels
from brmc.errors import DataError, FormulaError

__all__ = [
    "CubicRegression",
    "CyclicCubic",
    "PSpline",
    "RandomEffect",
    "RawSmooth",
    "r_eigen",
]

class RawSmooth:
    """What an mgcv smooth constructor returns (the common interface).

    Attributes
    ----------
    X : ndarray
        Model matrix at the training rows, ``(n, p)``.
    S : list of ndarray
        Penalty matrices, each ``(p, p)``.
    rank : int
        Rank of the (single) penalty.
    null_space_dim : int
        Dimension of the penalty null space.
    constraint : ndarray or None
        The constructor's own constraint matrix (``object$C``); ``None``
        means smoothCon's default sum-to-zero constraint ``colMeans(X)``.
    rescale : bool
        Whether smoothCon rescales the penalty (mgcv's ``no.rescale`` unset).
    separate_penalties : bool
        Several non-overlapping diagonal penalties, each its own ``Zs`` block
        (``t2()``; mgcv's ``smooth2random.t2.smooth``).
    """

    X: np.ndarray
    S: list[np.ndarray]
    rank: int
    null_space_dim: int
    constraint: np.ndarray | None = None
    rescale: bool = True
    separate_penalties: bool = False

    def design(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        """The basis at covariate values ``x`` (``(n, d)``), mgcv's ``Predict.matrix``."""
        raise NotImplementedError


def r_eigen(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R's ``eigen(A, symmetric = TRUE)``: LAPACK's ``dsyevr``, eigenvalues descending.

    The same LAPACK driver as R matters where a penalty has a degenerate null
    space: mgcv scales each null-space eigenvector separately, so the basis
    LAPACK picks inside that space changes the result (``t2()`` margins).

    Examples
    --------
    >>> import numpy as np
    >>> r_eigen(np.diag([1.0, 3.0]))[0].tolist()
    [3.0, 1.0]
    """
    values, vectors = linalg.eigh(A, driver="evr")
    return values[::-1], vectors[:, ::-1]


def _one_covariate(x: np.ndarray, bs: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        if x.shape[1] != 1:
            raise FormulaError(f"The basis bs = '{bs}' takes one covariate, not {x.shape[1]}.")
        x = x[:, 0]
    return x


def _cr_matrices(knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mgcv's ``getFS``: ``F`` (function values at knots -> second derivatives) and ``S``."""
    h = np.diff(knots)
    nk = len(knots)
    D = np.zeros((nk - 2, nk))
    for i in range(nk - 2):
        D[i, i], D[i, i + 2] = 1 / h[i], 1 / h[i + 1]
        D[i, i + 1] = -1 / h[i] - 1 / h[i + 1]
    B = np.diag((h[:-1] + h[1:]) / 3) + np.diag(h[1:-1] / 6, 1) + np.diag(h[1:-1] / 6, -1)
    BinvD = np.linalg.solve(B, D)
    F = np.zeros((nk, nk))
    F[1:-1] = BinvD
    return F, D.T @ BinvD


class CubicRegression(RawSmooth):
    """mgcv's cubic regression spline ``bs = "cr"`` (and ``"cs"`` with ``shrink``).

    Knots at the quantiles of the unique covariate values (R's ``quantile``,
    type 7), coefficients are the function's values at the knots, the penalty
    is the integrated squared second derivative, and new values outside the
    knots are extrapolated linearly (mgcv's ``crspl``).

    Parameters
    ----------
    x : ndarray
        ``(n,)`` or ``(n, 1)`` covariate.
    k : int
        Number of knots; ``-1`` gives 10.
    shrink : float or None
        ``bs = "cs"``: the factor by which the two null-space directions get a
        small penalty (mgcv: 0.1).

    Examples
    --------
    >>> import numpy as np
    >>> cr = CubicRegression(np.arange(10.0), k=4)
    >>> np.round(cr.knots, 6).tolist()
    [0.0, 3.0, 6.0, 9.0]
    """

    def __init__(self, x: np.ndarray, k: int = -1, shrink: float | None = None) -> None:
        x = _one_covariate(x, "cr")
        nk = 10 if k < 0 else max(k, 3)
        unique = np.unique(x)
        if len(unique) < nk:
            raise DataError(f"The covariate has {len(unique)} unique values, too few for k = {nk} knots: reduce k.")
        self.knots = np.quantile(unique, np.linspace(0, 1, nk))
        self.F, S = _cr_matrices(self.knots)
        S = (S + S.T) / 2
        if shrink is None:
            self.rank, self.null_space_dim = nk - 2, 2
        else:
            values, vectors = r_eigen(S)
            values[nk - 2] = values[nk - 3] * shrink
            values[nk - 1] = values[nk - 2] * shrink
            S = (vectors * values) @ vectors.T
            self.rank, self.null_space_dim = nk, 0
        self.S = [S]
        self.X = self.design(x)

    def design(self, x: np.ndarray) -> np.ndarray:
        """The basis at new covariate values (mgcv's ``Predict.matrix.cr.smooth``).

        Parameters
        ----------
        x : ndarray
            Covariate values; beyond the outer knots the spline continues linearly.

        Returns
        -------
        ndarray
            One row per value, one column per knot.
        """
        x = _one_covariate(x, "cr")
        knots, F = self.knots, self.F
        nk = len(knots)
        j = np.clip(np.searchsorted(knots, x, side="left") - 1, 0, nk - 2)
        X = np.zeros((len(x), nk))
        rows = np.arange(len(x))
        inside = (x >= knots[0]) & (x <= knots[-1])
        xj, xj1 = knots[j], knots[j + 1]
        h = xj1 - xj
        am, ap = xj1 - x, x - xj
        cm = am * (am * am / h - h) / 6
        cp = ap * (ap * ap / h - h) / 6
        X[inside] = cm[inside, None] * F[j[inside]] + cp[inside, None] * F[j[inside] + 1]
        X[rows[inside], j[inside]] += am[inside] / h[inside]
        X[rows[inside], j[inside] + 1] += ap[inside] / h[inside]
        low, high = x < knots[0], x > knots[-1]
        if low.any():
            h0, xik = knots[1] - knots[0], x[low] - knots[0]
            X[low] = (-xik * h0 / 3)[:, None] * F[0] + (-xik * h0 / 6)[:, None] * F[1]
            X[low, 0] += 1 - xik / h0
            X[low, 1] += xik / h0
        if high.any():
            h1, xik = knots[-1] - knots[-2], x[high] - knots[-1]
            X[high] = (xik * h1 / 6)[:, None] * F[-2] + (xik * h1 / 3)[:, None] * F[-1]
            X[high, nk - 2] += -xik / h1
            X[high, nk - 1] += 1 + xik / h1
        return X


def _place_knots(x: np.ndarray, nk: int) -> np.ndarray:
    """mgcv's ``place.knots``: ``nk`` knots evenly through the sorted unique values."""
    x = np.unique(x)
    n = len(x)
    if nk > n:
        raise DataError(f"The covariate has {n} unique values, fewer than the {nk} knots asked for: reduce k.")
    delta = (n - 1) / (nk - 1)
    steps = delta * np.arange(1, nk - 1)
    lower = np.floor(steps).astype(int)  # 0-based: R's lbi - 1
    frac = steps - lower
    knots = np.empty(nk)
    knots[0], knots[-1] = x[0], x[-1]
    knots[1:-1] = x[lower] * (1 - frac) + x[lower + 1] * frac
    return knots


class CyclicCubic(RawSmooth):
    """mgcv's cyclic cubic regression spline ``bs = "cc"``.

    Knots evenly through the sorted unique values (mgcv's ``place.knots``);
    the first and last knot are the same point of the cycle.

    Parameters
    ----------
    x : ndarray
        The periodic covariate.
    k : int
        Number of knots; ``-1`` gives 10 (``k - 1`` coefficients).

    Examples
    --------
    >>> import numpy as np
    >>> cc = CyclicCubic(np.linspace(0, 1, 25), k=5)
    >>> cc.X.shape, cc.rank
    ((25, 4), 3)
    """

    def __init__(self, x: np.ndarray, k: int = -1) -> None:
        x = _one_covariate(x, "cc")
        nk = 10 if k < 0 else max(k, 4)
        self.knots = _place_knots(x, nk)
        h = np.diff(self.knots)
        n = nk - 1
        B, D = np.zeros((n, n)), np.zeros((n, n))
        for i in range(n):
            prev, nxt = (i - 1) % n, (i + 1) % n
            B[i, prev] += h[i - 1] / 6
            B[i, i] += (h[i - 1] + h[i]) / 3
            B[i, nxt] += h[i] / 6
            D[i, prev] += 1 / h[i - 1]
            D[i, i] += -(1 / h[i - 1] + 1 / h[i])
            D[i, nxt] += 1 / h[i]
        self.BD = np.linalg.solve(B, D)
        S = D.T @ self.BD
        self.S = [(S + S.T) / 2]
        self.X = self.design(x)
        self.rank, self.null_space_dim = n - 1, 1

    def design(self, x: np.ndarray) -> np.ndarray:
        """The basis at new values, wrapped into the knot range (mgcv's ``cwrap``).

        Parameters
        ----------
        x : ndarray
            Covariate values, any range (mapped onto one period).

        Returns
        -------
        ndarray
            ``(n, k - 1)``: the last knot is the first one again.
        """
        x = _one_covariate(x, "cc").copy()
        knots = self.knots
        x0, x1 = knots[0], knots[-1]
        period = x1 - x0
        x[x > x1] = x0 + np.mod(x[x > x1] - x1, period)
        x[x < x0] = x1 - np.mod(x0 - x[x < x0], period)
        n = len(knots)
        j1 = np.clip(np.searchsorted(knots, x, side="left"), 1, n - 1) - 1  # interval start
        j = np.where(j1 + 1 == n - 1, 0, j1 + 1)
        h = np.diff(knots)[j1]
        left, right = knots[j1 + 1] - x, x - knots[j1]
        eye = np.eye(n - 1)
        BD = self.BD
        return (
            BD[j1] * (left**3 / (6 * h))[:, None]
            + BD[j] * (right**3 / (6 * h))[:, None]
            - BD[j1] * (h * left / 6)[:, None]
            - BD[j] * (h * right / 6)[:, None]
            + eye[j1] * (left / h)[:, None]
            + eye[j] * (right / h)[:, None]
        )


class PSpline(RawSmooth):
    """mgcv's P-spline ``bs = "ps"``: a B-spline basis on evenly spaced knots with a difference penalty.

    Parameters
    ----------
    x : ndarray
        ``(n,)`` or ``(n, 1)`` covariate.
    k : int
        Basis dimension; ``-1`` gives ``max(10, m[0] + 1)``.
    m : tuple of int
        ``(basis order, penalty order)``; mgcv's default ``(2, 2)`` is a cubic
        B-spline with a second-order difference penalty.

    Examples
    --------
    >>> import numpy as np
    >>> ps = PSpline(np.linspace(0, 1, 30), k=8)
    >>> ps.X.shape, ps.rank, bool(np.allclose(ps.X.sum(axis=1), 1))
    ((30, 8), 6, True)
    """

    def __init__(self, x: np.ndarray, k: int = -1, m: tuple[int, int] = (2, 2)) -> None:
        x = _one_covariate(x, "ps")
        self.order = m[0]
        k = max(10, m[0] + 1) if k < 0 else k
        nk = k - m[0]
        if nk <= 0:
            raise FormulaError(f"A P-spline of order {m[0]} needs k > {m[0]}, not k = {k}.")
        lo, hi = x.min(), x.max()
        width = hi - lo
        lo, hi = lo - width * 0.001, hi + width * 0.001
        dx = (hi - lo) / (nk - 1)
        self.knots = np.linspace(lo - dx * (m[0] + 1), hi + dx * (m[0] + 1), nk + 2 * m[0] + 2)
        self._spline = BSpline(self.knots, np.eye(k), m[0] + 1, extrapolate=False)
        self.X = self.design(x)
        Dm = np.diff(np.eye(k), n=m[1], axis=0) if m[1] > 0 else np.eye(k)
        self.S = [Dm.T @ Dm]
        self.rank, self.null_space_dim = k - m[1], m[1]

    def design(self, x: np.ndarray) -> np.ndarray:
        """The basis at new values; linear extrapolation outside the inner knots (as mgcv).

        Parameters
        ----------
        x : ndarray
            Covariate values (a vector or a one-column matrix).

        Returns
        -------
        ndarray
            B-spline values, one column per coefficient.
        """
        x = _one_covariate(x, "ps")
        degree = self.order + 1
        lower, upper = self.knots[degree], self.knots[len(self.knots) - degree - 1]
        inside = np.clip(x, lower, upper)
        X = self._spline(inside)
        for edge, rows in ((lower, x < lower), (upper, x > upper)):
            if rows.any():
                slope = self._spline.derivative()(np.array([edge]))[0]
                X[rows] = self._spline(np.array([edge]))[0] + np.outer(x[rows] - edge, slope)
        return X


class RandomEffect(RawSmooth):
    """mgcv's random-effect smooth ``bs = "re"``: ``model.matrix(~ a:b:... - 1)``, identity penalty.

    Factor covariates give one indicator column per level (unused levels
    dropped, as brms's data preparation does); numeric ones multiply in.
    With the single factor of ``s(g, bs = "re")`` the basis is a ``(1 | g)``
    term: :attr:`index` holds each row's level, for an index gather, and no
    dense matrix is built unless :attr:`X` is asked for.

    Parameters
    ----------
    columns : list of array-like
        The covariates (pandas Categorical/object for factors, numbers otherwise).
    names : list of str
        Their names, for messages.

    Examples
    --------
    >>> import pandas as pd
    >>> re = RandomEffect([pd.Categorical(["a", "b", "a"])], ["g"])
    >>> re.X.tolist(), re.levels
    ([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], [('a',), ('b',)])
    """

    def __init__(self, columns: list, names: list[str]) -> None:
        self.names = names
        self.factor_levels: list[list | None] = [levels(c) if is_factor(c) else None for c in columns]
        self.levels = self._column_levels()
        p = len(self.levels)
        self.rank, self.null_space_dim = p, 0
        self.constraint = np.zeros((0, p))
        self.rescale = True
        self.single_factor = len(columns) == 1 and self.factor_levels[0] is not None
        self.index = self.codes(columns) if self.single_factor else None
        self._X = None if self.single_factor else self.design(columns)

    @property
    def X(self) -> np.ndarray:
        """The dense model matrix (built on demand for a single factor, which is :attr:`index`)."""
        return self.indicator(self.index).toarray() if self._X is None else self._X

    @property
    def S(self) -> list[np.ndarray]:
        """The identity penalty."""
        return [np.eye(len(self.levels))]

    def codes(self, columns: list) -> np.ndarray:
        """Each row's level of a single-factor term, ``-1`` for a level not seen in training.

        Parameters
        ----------
        columns : list of array-like
            The one factor column.

        Returns
        -------
        ndarray of int
        """
        return pd.Categorical(labels(columns[0]), categories=self.factor_levels[0]).codes.astype(int)

    def indicator(self, codes: np.ndarray) -> sparse.csr_array:
        """The sparse indicator matrix of level codes (rows with code ``-1`` empty).

        Parameters
        ----------
        codes : ndarray of int
            From :meth:`codes`.

        Returns
        -------
        scipy.sparse.csr_array
            ``(n, number of levels)``.
        """
        rows = np.flatnonzero(codes >= 0)
        shape = (len(codes), len(self.levels))
        return sparse.csr_array((np.ones(len(rows)), (rows, codes[rows])), shape=shape)

    def _column_levels(self) -> list[tuple]:
        combos: list[tuple] = [()]
        for factor_levels in self.factor_levels:
            if factor_levels is not None:  # R's interaction order: the first factor varies fastest
                combos = [(*c, lev) for lev in factor_levels for c in combos]
        return combos

    def design(self, columns: list) -> np.ndarray:
        """The indicator (times numeric) matrix for new rows; a level not seen in training gives zeros.

        Parameters
        ----------
        columns : list of array-like
            The covariates, in the training order.

        Returns
        -------
        ndarray
            ``(n, number of level combinations)``.
        """
        n = len(columns[0])
        X = np.ones((n, 1))
        for column, factor_levels in zip(columns, self.factor_levels):
            if factor_levels is None:
                X = X * np.asarray(column, dtype=float)[:, None]
                continue
            values = labels(column)
            dummies = np.column_stack([values == lev for lev in factor_levels]).astype(float)
            X = np.einsum("ni,nj->nji", X, dummies).reshape(n, -1)  # earlier factors vary fastest
        return X

