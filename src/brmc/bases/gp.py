"""brms's Gaussian-process data (``gp()`` terms), exact and Hilbert-space approximate.

brms 2.18's ``data_gp``/``.data_gp`` for one ``gp(x1, ..., by = , k = , c = ,
scale = , gr = , cmc = )`` term:

- ``by`` factor: one GP per level (cell-mean coding; ``cmc = FALSE`` gives an
  intercept GP plus treatment contrasts), each on its rows ``Igp`` with
  weights ``Cgp``; a numeric ``by`` multiplies the GP (``Cgp``);
- ``gr = TRUE``: rows with equal covariates share one latent value; ``Jgp``
  maps rows to the unique points, in order of first appearance;
- ``scale = TRUE``: covariates divided by ``dmax``, the largest Euclidean
  distance between two points;
- exact GP: ``Xgp`` are those (scaled) points;
- approximate GP (``k`` given): the points are centred, ``L = c * range``,
  ``Xgp`` holds the ``k^D`` Laplacian eigenfunctions
  ``prod_d L_d^-1/2 sin(m_d pi (x_d + L_d) / (2 L_d))`` and ``slambda`` the
  square roots of their eigenvalues ``m_d pi / (2 L_d)``.

:func:`spd_exp_quad` is the spectral density of brms's only 2.18 kernel
``cov = "exp_quad"`` (Stan's ``spd_cov_exp_quad``) and :func:`lscale_prior`
brms's data-tuned ``inv_gamma`` default prior for ``lscale``.

Examples
--------
>>> import numpy as np
>>> gp = GaussianProcess({"x": np.linspace(0, 10, 11)}, ["x"], k=5, c=1.25)
>>> b = gp.blocks[0]
>>> b.Xgp.shape, np.round(b.slambda[:2, 0], 4).tolist()
((11, 5), [1.2566, 2.5133])
>>> gp.lscale_priors()
['inv_gamma(4.62909, 1.103366)']
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt
from scipy import optimize, special

from brmc.bases._columns import column, is_factor, labels, levels
from brmc.distributions import Dist
from brmc.errors import DataError, FormulaError
from brmc.rlang import r_round

__all__ = ["GPBlock", "GaussianProcess", "eigenfunctions", "lscale_prior", "spd_exp_quad"]


@dataclass(frozen=True)
class GPBlock:
    """The Stan data of one GP (one per level or contrast of a factor ``by``).

    Attributes
    ----------
    level : str or None
        The ``by`` level (or contrast column) of this GP.
    rows : ndarray or None
        0-based rows the GP applies to (brms's ``Igp`` minus 1); ``None``: all.
    weights : ndarray or None
        brms's ``Cgp`` for those rows (``by`` factor coding or numeric ``by``).
    groups : ndarray or None
        0-based index of each (selected) row's unique point (``Jgp - 1``);
        ``None`` when ``gr = FALSE``.
    Xgp : ndarray
        Exact GP: the scaled unique points ``(Nsubgp, D)``; approximate: the
        eigenfunctions at them ``(Nsubgp, k^D)``.
    slambda : ndarray or None
        ``(k^D, D)`` square-rooted eigenvalues (approximate GP only).
    points : ndarray
        The scaled, uncentred unique points (brms's ``Xgp_prior``).
    dmax : float
        The scaling distance (1 with ``scale = FALSE``).
    cmeans : ndarray
        Column means of the scaled points (centring of approximate GPs).
    L : ndarray or None
        Boundary factors of the approximation, ``c * range``.
    """

    level: str | None
    rows: np.ndarray | None
    weights: np.ndarray | None
    groups: np.ndarray | None
    Xgp: np.ndarray
    slambda: np.ndarray | None
    points: np.ndarray
    dmax: float
    cmeans: np.ndarray
    L: np.ndarray | None


def eigenfunctions(x: np.ndarray, L: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """brms's ``eigen_fun_cov_exp_quad`` / ``eigen_val_cov_exp_quad`` on centred points.

    Parameters
    ----------
    x : ndarray
        ``(n, D)`` centred (scaled) covariates.
    L : ndarray
        ``(D,)`` boundary factors.
    k : int
        Basis functions per dimension; the ``k^D`` combinations are ordered as
        R's ``expand.grid`` (first dimension fastest).

    Returns
    -------
    tuple of ndarray
        ``(n, k^D)`` eigenfunctions and ``(k^D, D)`` square-rooted eigenvalues.

    Examples
    --------
    >>> import numpy as np
    >>> phi, sl = eigenfunctions(np.array([[0.0]]), np.array([1.0]), 2)
    >>> np.round(phi, 6).tolist(), np.round(sl[:, 0], 6).tolist()
    ([[1.0, 0.0]], [1.570796, 3.141593])
    """
    D = x.shape[1]
    combos = np.array([c[::-1] for c in itertools.product(range(1, k + 1), repeat=D)])
    phi = np.ones((x.shape[0], len(combos)))
    for d in range(D):
        phi *= np.sin(combos[None, :, d] * np.pi / (2 * L[d]) * (x[:, d : d + 1] + L[d])) / np.sqrt(L[d])
    return phi, combos * np.pi / (2 * L[None, :])


def spd_exp_quad(slambda, sdgp, lscale):
    """Spectral density of the exponentiated-quadratic kernel at ``slambda`` (Stan's ``spd_cov_exp_quad``).

    ``sdgp^2 * (sqrt(2 pi) * lscale)^D * exp(-lscale^2 / 2 * sum_d slambda_d^2)``
    for an isotropic GP (scalar ``lscale``); with one ``lscale`` per
    dimension the product of the ``lscale``s and a per-dimension sum.  Works
    on numpy arrays and on PyTensor variables.

    Parameters
    ----------
    slambda : ndarray
        ``(k^D, D)`` square-rooted eigenvalues (data, never symbolic).
    sdgp : scalar or tensor
        The GP's standard deviation.
    lscale : scalar, ``(D,)`` array or tensor
        Length-scale(s).

    Returns
    -------
    array or tensor
        ``(k^D,)`` spectral densities (brms's ``rgp = sqrt(spd) .* zgp`` uses their root).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(spd_exp_quad(np.array([[0.0], [1.0]]), 2.0, 0.5), 6).tolist()
    [5.013257, 4.424183]
    """
    symbolic = isinstance(sdgp, pt.Variable) or isinstance(lscale, pt.Variable)
    exp = pt.exp if symbolic else np.exp
    slambda = np.asarray(slambda, dtype=float)
    D = slambda.shape[1]
    if not symbolic:
        lscale = np.asarray(lscale, dtype=float)
    if lscale.ndim == 0:
        return sdgp**2 * (np.sqrt(2 * np.pi) * lscale) ** D * exp(-0.5 * lscale**2 * (slambda**2).sum(axis=1))
    prod = lscale.prod()
    return sdgp**2 * np.sqrt(2 * np.pi) ** D * prod * exp(-0.5 * ((lscale[None, :] ** 2) * slambda**2).sum(axis=1))


#: brms's ``lscale`` prior where its ``def_lscale_prior`` finds no inverse gamma
_LSCALE_FALLBACK = Dist("normal", (0.0, 0.5))


def lscale_prior(points: np.ndarray, plb: float = 0.01, pub: float = 0.01) -> Dist:
    """brms's default prior for a GP's ``lscale``, tuned to the (scaled) points.

    The inverse-gamma ``(a, b)`` with ``P(lscale < lb) = plb`` and
    ``P(lscale > ub) = pub``, where ``ub`` is the largest and ``lb`` the
    smallest positive distance between the points (at least ``ub / 100``),
    solved on the log scale from ``(0, 0)`` as brms's ``def_lscale_prior``
    (brms: ``nleqslv``; here Levenberg-Marquardt, the same root); rounded to 6 decimals.  Without convergence brms falls back
    to ``normal(0, 0.5)``, as here.

    Parameters
    ----------
    points : ndarray
        ``(n, D)`` scaled points (brms's ``Xgp_prior``); one column for a
        non-isotropic GP's per-dimension prior.
    plb, pub : float
        Prior mass below the smallest and above the largest distance.

    Returns
    -------
    Dist
        e.g. ``inv_gamma(1.494197, 0.056607)``.

    Examples
    --------
    >>> import numpy as np
    >>> print(lscale_prior(np.linspace(0, 1, 11)[:, None]))
    inv_gamma(4.62909, 1.103366)
    """
    points = np.asarray(points, dtype=float)
    if points.ndim == 1:
        points = points[:, None]
    dq = ((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
    ub = np.sqrt(dq.max())
    if not (dq > 0).any():
        raise DataError("A Gaussian process needs at least two distinct covariate values.")
    lb = max(np.sqrt(dq[dq > 0].min()), 0.01 * ub)

    def equations(log_ab: np.ndarray) -> np.ndarray:
        a, b = np.exp(log_ab)
        lower = special.gammaincc(a, b / lb)  # P(X <= lb) for X ~ inv_gamma(a, b)
        upper = special.gammainc(a, b / ub)  # P(X > ub)
        with np.errstate(divide="ignore"):
            return np.array([np.log(lower) - np.log(plb), np.log(upper) - np.log(pub)])

    sol = optimize.root(equations, np.zeros(2), method="lm", options={"xtol": 1e-14, "ftol": 1e-14})
    if not sol.success or not np.all(np.isfinite(sol.x)) or np.abs(equations(sol.x)).max() > 1e-8:
        return _LSCALE_FALLBACK
    a, b = np.exp(sol.x)
    return Dist("inv_gamma", (r_round(a, 6), r_round(b, 6)))


def _first_appearance(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows in order of first appearance and each row's index into them."""
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return x[np.sort(first)], rank[inverse]


class GaussianProcess:
    """One ``gp()`` term's Stan data as brms 2.18 builds it, with its state for new data.

    Parameters
    ----------
    data : mapping
        Column name -> values.
    terms : sequence of str
        Numeric covariates.
    by : str, optional
        Numeric or factor column.
    k : int, optional
        Basis functions per dimension (approximate GP); ``None``: exact GP.
    c : float or sequence, optional
        Boundary factor(s), required with ``k`` (brms: "a good default could be 5/4").
    scale, gr, cmc, iso : bool
        As brms's ``gp()``.
    cov : str
        Kernel; brms 2.18 has only ``"exp_quad"``.

    Attributes
    ----------
    blocks : list of GPBlock
        One per ``by`` level (or contrast), else one.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame({"x": [0.0, 1.0, 1.0, 3.0], "g": pd.Categorical(["a", "b", "a", "b"])})
    >>> gp = GaussianProcess(df, ["x"], by="g")
    >>> [(b.level, b.rows.tolist(), b.Xgp[:, 0].tolist()) for b in gp.blocks]
    [('a', [0, 2], [0.0, 1.0]), ('b', [1, 3], [0.5, 1.5])]
    """

    def __init__(
        self,
        data: Mapping,
        terms: Sequence[str],
        by: str | None = None,
        k: int | None = None,
        c: float | Sequence[float] | None = None,
        scale: bool = True,
        gr: bool = True,
        cmc: bool = True,
        iso: bool = True,
        cov: str = "exp_quad",
    ) -> None:
        if cov != "exp_quad":
            raise FormulaError(f"gp(cov = '{cov}') is not a kernel of brms 2.18; the only one is 'exp_quad'.")
        self.terms, self.by, self.k = list(terms), by, k
        self.label = "gp(" + ", ".join(self.terms) + ")"
        self.scale, self.gr, self.cmc = scale, gr, cmc
        self.iso = iso if len(self.terms) > 1 else True
        if k is not None:
            if k < 1:
                raise FormulaError(f"{self.label}: 'k' must be positive, not {k}.")
            if c is None:
                raise FormulaError(
                    f"{self.label}: 'c' must be specified for approximate GPs. A good default "
                    "could be c = 5/4 (brms)."
                )
            c = np.broadcast_to(np.asarray(c, dtype=float), len(self.terms)).copy()
            if np.any(c <= 0):
                raise FormulaError(f"{self.label}: 'c' must be positive.")
        self.c = c
        X = self._covariates(data)
        self.coding: list[tuple[str | None, np.ndarray | None]] = [(None, None)]
        self.by_levels: list[str] | None = None
        if by is not None:
            values = column(data, by, self.label)
            if is_factor(values):
                self.by_levels = levels(values)
                self.coding = [(name, col) for name, col in self._contrasts(values)]
            else:
                self.coding = [(None, np.asarray(values, dtype=float))]
        self.blocks = [self._block(X, name, weights, numeric_by=self.by_levels is None and by is not None)
                       for name, weights in self.coding]

    def _covariates(self, data: Mapping) -> np.ndarray:
        cols = []
        for t in self.terms:
            v = column(data, t, self.label)
            if is_factor(v):
                raise DataError(f"Predictors of Gaussian processes should be numeric: '{t}' in {self.label} is not.")
            cols.append(np.asarray(v, dtype=float))
        return np.column_stack(cols)

    def _contrasts(self, values) -> list[tuple[str, np.ndarray]]:
        rows = labels(values)
        dummies = [(lev, (rows == lev).astype(float)) for lev in self.by_levels]
        if self.cmc:
            return dummies
        return [("Intercept", np.ones(len(rows))), *dummies[1:]]

    def _block(self, X: np.ndarray, level: str | None, weights: np.ndarray | None, numeric_by: bool) -> GPBlock:
        rows = None
        if weights is not None and not numeric_by:
            rows = np.flatnonzero(weights != 0)
            X, weights = X[rows], weights[rows]
        groups = None
        if self.gr:
            X, groups = _first_appearance(X)
        dmax = 1.0
        if self.scale:
            dmax = float(np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2).max()))
            if not dmax > 0:
                raise DataError(f"Could not scale the covariates of {self.label}: set scale = FALSE.")
            X = X / dmax
        cmeans = X.mean(axis=0)
        Xgp, slambda, L = X, None, None
        if self.k is not None:
            centred = X - cmeans
            L = self.c * max(1.0, float(centred.max() - centred.min()))
            Xgp, slambda = eigenfunctions(centred, L, self.k)
        return GPBlock(level, rows, weights, groups, Xgp, slambda, X, dmax, np.asarray(cmeans), L)

    def lscale_dists(self) -> list[Dist]:
        """brms's default ``lscale`` prior per GP (and per dimension if not ``iso``), in brms's order.

        Returns
        -------
        list of Dist
            One per ``lscale`` coefficient, ``by`` levels varying last.
        """
        if self.iso:
            return [lscale_prior(b.points) for b in self.blocks]
        return [lscale_prior(b.points[:, [d]]) for b in self.blocks for d in range(len(self.terms))]

    def lscale_priors(self) -> list[str]:
        """:meth:`lscale_dists` as ``get_prior`` prints them (``inv_gamma(4.62909, 1.103366)``).

        Returns
        -------
        list of str
            One text per ``lscale`` coefficient.
        """
        return [str(d) for d in self.lscale_dists()]

    def predict(self, newdata: Mapping) -> list[GPBlock]:
        """The GP data at new rows, scaled and centred as in training, with the training ``L``.

        brms 2.18 recomputes ``L`` from the new rows' range (so a row's basis
        depends on the rows passed with it); brms later stores the training
        ``L`` (its commit 15ca20ed), as done here.

        Parameters
        ----------
        newdata : mapping
            Column name -> values.

        Returns
        -------
        list of GPBlock
            As :attr:`blocks`; ``Xgp`` holds the new (scaled) points for an
            exact GP, the eigenfunctions at them for an approximate one.
        """
        X = self._covariates(newdata)
        coding = self.coding
        if self.by is not None:
            values = column(newdata, self.by, self.label)
            coding = self._contrasts(values) if self.by_levels is not None else [(None, np.asarray(values, float))]
        out = []
        for block, (level, weights) in zip(self.blocks, coding):
            Xb, rows = X, None
            if weights is not None and self.by_levels is not None:
                rows = np.flatnonzero(weights != 0)
                Xb, weights = X[rows], weights[rows]
            groups = None
            if self.gr:
                Xb, groups = _first_appearance(Xb)
            Xb = Xb / block.dmax
            Xgp, slambda = Xb, None
            if self.k is not None:
                Xgp, slambda = eigenfunctions(Xb - block.cmeans, block.L, self.k)
            out.append(GPBlock(level, rows, weights, groups, Xgp, slambda, Xb, block.dmax, block.cmeans, block.L))
        return out

