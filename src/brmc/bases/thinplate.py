"""mgcv's thin plate regression spline ``bs = "tp"`` (``smooth.construct.tp.smooth.spec``), in numpy.

mgcv's default smooth and brms's: the eigen-truncated radial basis of the
thin plate spline with its polynomial null space, as mgcv's C routines
``tprs_setup`` (fitting) and ``predict_tprs`` (new data) build it.

Examples
--------
>>> import numpy as np
>>> tp = ThinPlate(np.linspace(0, 1, 20), k=5)
>>> tp.X.shape, bool(np.allclose(tp.design(np.linspace(0, 1, 20)), tp.X))
((20, 5), True)
"""

from __future__ import annotations

from math import factorial, gamma, pi

import numpy as np

from brmc.bases.splines import RawSmooth, r_eigen
from brmc.errors import DataError

__all__ = ["MAX_KNOTS", "ThinPlate"]

#: mgcv draws a random subset of knots above this many unique covariate values
#: (``xt$max.knots``), with R's random number generator: not reproduced here.
MAX_KNOTS = 2000


def _tps_eta_constant(m: int, d: int) -> float:
    """mgcv's ``eta_const``: the constant of the thin plate spline radial function."""
    if d % 2 == 0:
        sign = -1.0 if (m + 1 + d // 2) % 2 else 1.0
        return sign / (2 ** (2 * m - 1) * pi ** (d // 2) * factorial(m - 1) * factorial(m - d // 2))
    return gamma(d / 2 - m) / (2 ** (2 * m) * pi ** (d / 2) * factorial(m - 1))


def _tps_eta(r2: np.ndarray, m: int, d: int) -> np.ndarray:
    """The radial function at squared distances ``r2`` (zero at ``r2 == 0``)."""
    f = _tps_eta_constant(m, d)
    out = np.zeros_like(r2)
    pos = r2 > 0
    r = r2[pos]
    if d % 2 == 0:
        out[pos] = f * 0.5 * np.log(r) * r ** (m - d // 2)
    else:
        out[pos] = f * r ** (m - d // 2 - 1) * np.sqrt(r)
    return out


def _tps_powers(m: int, d: int) -> list[tuple[int, ...]]:
    """mgcv's ``gen_tps_poly_powers``: the polynomial powers spanning the null space, in its order."""
    n_poly = factorial(m + d - 1) // (factorial(d) * factorial(m - 1))
    index = [0] * d
    powers = []
    for _ in range(n_poly):
        powers.append(tuple(index))
        if sum(index) < m - 1:
            index[0] += 1
        else:
            total = sum(index) - index[0]
            index[0] = 0
            for j in range(1, d):
                index[j] += 1
                total += 1
                if total == m:
                    total -= index[j]
                    index[j] = 0
                else:
                    break
    return powers


def _householder_qt(A: np.ndarray) -> np.ndarray:
    """mgcv's ``QT``: the orthogonal ``Q`` with ``A Q = [0, T]`` (``A`` is ``M x k``).

    The first ``k - M`` columns of ``Q`` span the null space of ``A``; mgcv
    builds them from this exact sequence of Householder reflections, and the
    thin plate basis depends on that choice through its column scaling.
    """
    A = np.array(A, dtype=float)
    n_rows, k = A.shape
    Q = np.eye(k)
    for i in range(n_rows):
        p = A[i, : k - i].copy()
        scale = np.abs(p).max()
        if scale:
            p /= scale
        norm = np.sqrt(p @ p)
        if p[-1] < 0:
            norm = -norm
        p[-1] += norm
        g = 1.0 / (norm * p[-1]) if norm else 0.0
        u = np.zeros(k)
        u[: k - i] = p
        A[i + 1 :] -= g * np.outer(A[i + 1 :] @ u, u)
        Q -= g * np.outer(Q @ u, u)
    return Q


class ThinPlate(RawSmooth):
    """mgcv's thin plate regression spline ``bs = "tp"`` (its default basis).

    The covariates are centred; the radial matrix ``E`` of the unique
    covariate points is truncated to its ``k`` eigenvectors of largest
    absolute eigenvalue (in descending order, as mgcv's Lanczos routine
    returns them); the polynomial null space of order ``m`` is constrained out
    of them with mgcv's Householder ``QT`` factorisation and appended; every
    column is scaled to unit root mean square (mgcv's ``tprs_setup``).

    Parameters
    ----------
    x : ndarray
        Covariates, ``(n, d)``.
    k : int
        Basis dimension; ``-1`` gives mgcv's default ``M + (8, 27, 100)[d]``.
    m : int
        Penalty order; 0 (default) gives the smallest ``m`` with ``2m > d + 1``.
    shrink : float or None
        ``bs = "ts"`` (mgcv: 0.1): the null space gets this fraction of the
        smallest positive penalty eigenvalue, so the whole smooth can shrink to zero.
    max_knots : int
        mgcv's ``xt$max.knots`` (default 2000): more unique covariate points than this
        are refused, as mgcv would draw a random subset of them as knots.

    Examples
    --------
    >>> import numpy as np
    >>> tp = ThinPlate(np.linspace(0, 1, 20)[:, None], k=6)
    >>> tp.X.shape, tp.rank, tp.null_space_dim
    ((20, 6), 4, 2)
    """

    def __init__(self, x: np.ndarray, k: int = -1, m: int = 0, shrink: float | None = None,
                 max_knots: int = MAX_KNOTS) -> None:
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        d = x.shape[1]
        if 2 * m <= d:
            m = 1
            while 2 * m < d + 2:
                m += 1
        self.m, self.d = m, d
        self.powers = _tps_powers(m, d)
        M = len(self.powers)
        if k < 0:
            k = M + (8, 27, 100)[min(d, 3) - 1]
        k = max(k, M + 1)
        self.shift = x.mean(axis=0)
        xs = x - self.shift
        self.knots, inverse = np.unique(xs, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        if len(self.knots) > max_knots:
            raise DataError(
                f"A thin plate smooth has {len(self.knots)} unique covariate values; above "
                f"{max_knots} (xt = list(max.knots = {max_knots})) mgcv subsamples the knots with R's "
                "random numbers, which brmc does not reproduce: use bs = 'cr', fewer unique values or "
                f"a max.knots of at least {len(self.knots)} (every unique value a knot, as mgcv then does)."
            )
        if len(self.knots) < k:
            raise DataError(
                f"A thin plate smooth has {len(self.knots)} unique covariate values, fewer than its "
                f"basis dimension k = {k}: reduce k."
            )
        E = self._radial(self.knots)
        n_knots = len(self.knots)
        if n_knots == k:  # mgcv's "pure knot" basis: no eigen truncation
            U, EU = np.eye(k), E
        else:
            values, vectors = np.linalg.eigh(E)
            keep = np.argsort(-np.abs(values), kind="stable")[:k]
            keep = keep[np.argsort(-values[keep], kind="stable")]
            U = vectors[:, keep]
            EU = U * values[keep]  # E U = U diag(v)
        T = self._polynomials(self.knots)
        Z = _householder_qt(T.T @ U)[:, : k - M]
        UZ = np.zeros((n_knots + M, k))
        UZ[:n_knots, : k - M] = U @ Z
        UZ[n_knots:, k - M :] = np.eye(M)
        X = np.column_stack([EU @ Z, T])[inverse]
        S = np.zeros((k, k))
        S[: k - M, : k - M] = Z.T @ (U.T @ EU) @ Z
        w = np.sqrt(np.mean(X**2, axis=0))
        self.X = X / w
        self.UZ = UZ / w
        S = S / np.outer(w, w)
        S = (S + S.T) / 2
        self.rank, self.null_space_dim, self.k = k - M, M, k
        if shrink is not None:  # bs = "ts": the null space penalised at shrink x the smallest positive eigenvalue
            values, vectors = r_eigen(S)
            values[k - M :] = values[k - M - 1] * shrink
            S = (vectors * values) @ vectors.T
            self.rank, self.null_space_dim = k, 0
        self.S = [S]

    def _radial(self, points: np.ndarray) -> np.ndarray:
        r2 = ((points[:, None, :] - self.knots[None, :, :]) ** 2).sum(axis=2)
        return _tps_eta(r2, self.m, self.d)

    def _polynomials(self, points: np.ndarray) -> np.ndarray:
        return np.column_stack([np.prod(points**np.array(p), axis=1) for p in self.powers])

    def design(self, x: np.ndarray) -> np.ndarray:
        """The basis at new covariate values (mgcv's ``predict_tprs``).

        Parameters
        ----------
        x : ndarray
            ``(n, d)`` covariate values, on the original scale.

        Returns
        -------
        ndarray
            ``(n, k)``.
        """
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        xs = x - self.shift
        return np.column_stack([self._radial(xs), self._polynomials(xs)]) @ self.UZ
