"""mgcv's ``t2()`` tensor product smooths (``smooth.construct.t2.smooth.spec``) as brms passes them.

Each margin (default: a cubic regression spline with ``k = 5``) is
reparameterised so that its penalty is an identity on its range space
(mgcv's ``nat.param(type = 3, unit.fnorm = TRUE)``); the tensor basis is made
of the products of the margins' range (``r``) and null (``n``) spaces, each
product except the all-null one with its own ridge penalty (mgcv's
``t2.model.matrix`` with ``full = FALSE``).  The identifiability constraint
only touches the null-space columns.  brms then gives every penalty its own
``Zs_<i>_<j>`` block and standard deviation ``sds``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> d = {"x": rng.uniform(size=50), "z": rng.uniform(size=50)}
>>> sm = t2(d, ["x", "z"])
>>> [z.shape[1] for z in sm.blocks[0].Zs], sm.blocks[0].Xs.shape[1]
([9, 6, 6], 3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from brmc.bases._columns import column
from brmc.bases.smooth import Smooth, _nat_param, construct
from brmc.bases.splines import RawSmooth
from brmc.errors import FormulaError

__all__ = ["T2Basis", "t2"]


def _t2_model_matrix(margins: list[np.ndarray], ranks: list[int]) -> tuple[np.ndarray, list[int]]:
    """mgcv's ``t2.model.matrix(full = FALSE)``: the product blocks and the sizes of the penalised ones."""
    blocks = [margins[0][:, : ranks[0]]]
    has_null = ranks[0] < margins[0].shape[1]
    if has_null:
        blocks.append(margins[0][:, ranks[0] :])
    any_without_null = not has_null
    for X, rank in zip(margins[1:], ranks[1:]):
        Z, N = X[:, :rank], X[:, rank:]
        previous = blocks
        blocks = [np.einsum("ni,nj->nij", B, Z).reshape(len(X), -1) for B in previous]
        if N.shape[1]:
            blocks += [np.einsum("ni,nj->nij", B, N).reshape(len(X), -1) for B in previous]
        else:
            any_without_null = True
    sizes = [b.shape[1] for b in blocks]
    if not any_without_null:
        sizes = sizes[:-1]  # the all-null product is unpenalised
    return np.column_stack(blocks), sizes


class T2Basis(RawSmooth):
    """The ``t2()`` basis before smoothCon: margins, product blocks, penalties, constraint.

    Parameters
    ----------
    margins : list of RawSmooth
        One basis per margin (each from :func:`~brmc.bases.smooth.construct`).
    widths : list of int
        Covariates per margin, in the column order of :meth:`design`'s input.

    Examples
    --------
    >>> import numpy as np
    >>> from brmc.bases.smooth import construct
    >>> b = T2Basis([construct("cr", [np.linspace(0, 1, 30)], ["x"], k=5)], [1])
    >>> b.X.shape, [int(s.sum()) for s in b.S]
    ((30, 5), [3])
    """

    separate_penalties = True

    def __init__(self, margins: list[RawSmooth], widths: list[int]) -> None:
        self.margins, self.widths = margins, widths
        self.P, reparameterised, self.ranks = [], [], []
        for margin in margins:
            if len(margin.S) != 1:
                raise FormulaError("t2() margins must have one penalty each.")
            P, XP = _nat_param(margin.X, margin.S[0], margin.rank, constant_first=True, unit_fnorm=True)
            self.P.append(P)
            reparameterised.append(XP)
            self.ranks.append(margin.rank)
        self.X, sizes = _t2_model_matrix(reparameterised, self.ranks)
        p = self.X.shape[1]
        owner = np.repeat(np.arange(len(sizes) + 1), [*sizes, p - sum(sizes)])  # penalty of each column
        self.S = [np.diag((owner == j).astype(float)) for j in range(len(sizes))]
        self.rank = int(sum(sizes))
        self.null_space_dim = p - self.rank
        no_constraint = any(m.constraint is not None and m.constraint.shape[0] == 0 for m in margins)
        if no_constraint or self.null_space_dim == 0:
            self.constraint = np.zeros((0, p))
        elif self.null_space_dim == 1:
            self.constraint = np.eye(p)[[-1]]  # mgcv's set-to-zero constraint on the last column
        else:
            self.constraint = np.r_[np.zeros(self.rank), self.X[:, self.rank :].sum(axis=0)][None, :]

    def design(self, x: np.ndarray) -> np.ndarray:
        """The tensor basis at new covariate values (margins' bases times their ``P``).

        Parameters
        ----------
        x : ndarray
            ``(n, total covariates)``, margins' columns in order.

        Returns
        -------
        ndarray
            ``(n, p)``.
        """
        x = np.asarray(x, dtype=float)
        edges = np.r_[0, np.cumsum(self.widths)]
        parts = [m.design(x[:, a:b]) @ P for m, P, a, b in zip(self.margins, self.P, edges, edges[1:])]
        return _t2_model_matrix(parts, self.ranks)[0]


def t2(
    data: Mapping,
    terms: Sequence[str],
    k: int | Sequence[int] = 5,
    bs: str | Sequence[str] = "cr",
    by: str | None = None,
) -> Smooth:
    """A ``t2()`` term's brms data: one margin per covariate (mgcv's defaults ``bs = "cr"``, ``k = 5``).

    Parameters
    ----------
    data : mapping
        Column name -> values.
    terms : sequence of str
        Covariates, one margin each.
    k : int or sequence of int
        Basis dimension per margin.
    bs : str or sequence of str
        Basis per margin (``"cr"``, ``"tp"``, ``"ps"``, ...).
    by : str, optional
        Numeric or factor ``by`` column.

    Returns
    -------
    Smooth
        With one ``Zs`` block per penalty in each :class:`~brmc.bases.smooth.SmoothBlock`.

    Examples
    --------
    >>> import numpy as np
    >>> sm = t2({"x": np.linspace(0, 1, 30)}, ["x"])
    >>> sm.label, [z.shape for z in sm.blocks[0].Zs], sm.blocks[0].Xs.shape
    ('t2(x)', [(30, 3)], (30, 1))
    """
    terms = list(terms)
    ks = list(np.broadcast_to(np.asarray(k), len(terms)))
    kinds = [bs] * len(terms) if isinstance(bs, str) else list(bs)
    if len(kinds) != len(terms):
        raise FormulaError(f"t2({', '.join(terms)}) has {len(terms)} margins but {len(kinds)} bases in 'bs'.")
    label = f"t2({','.join(terms)})"
    margins = [construct(b, [column(data, t, label)], [t], k=int(kk)) for t, b, kk in zip(terms, kinds, ks)]
    return Smooth(data, terms, bs="t2", by=by, label=label, raw=T2Basis(margins, [1] * len(terms)))
