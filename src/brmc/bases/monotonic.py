"""brms's monotonic effects ``mo(x)``: the data (``Xmo``, ``Jmo``, ``con_simo``) and the transform.

brms 2.18 codes a monotonic predictor as integers counted from zero: an
ordered factor's level number minus one, or a whole-number variable minus its
(training) minimum.  ``Jmo`` is the largest code (from the training data, also
for new data); the simplex ``simo`` has ``Jmo`` elements with the default
prior ``dirichlet(1)`` (``con_simo`` all ones).  The effect of code ``i`` is
``bsp * mo(simo, i)`` with brms's Stan function ``mo(simo, i) = Jmo *
sum(simo[1:i])`` (0 for ``i = 0``).  A special-effects term such as
``mo(x):z`` multiplies the ``mo()`` parts with the product of its other,
numeric, covariates (brms's ``Csp``).

Examples
--------
>>> import numpy as np
>>> days = Monotonic({"Days": np.arange(10)}, "Days")
>>> days.Jmo, days.con_simo.tolist()[:3]
(9, [1.0, 1.0, 1.0])
>>> round(float(mo(np.full(9, 1 / 9), np.array([9]))[0]), 12)
9.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytensor.tensor as pt

from brmc.bases._columns import as_categorical, column, is_factor
from brmc.errors import DataError
from brmc.rlang import r_number

__all__ = ["Monotonic", "SpecialTerm", "mo"]


def mo(simplex, x):
    """brms's Stan function ``mo``: ``len(simplex) * sum(simplex[:x])`` per element of ``x``.

    Parameters
    ----------
    simplex : array or PyTensor variable
        ``(Jmo,)`` simplex (``simo``).
    x : ndarray of int
        Codes ``0..Jmo`` (``Xmo``).

    Returns
    -------
    array or tensor
        Values between 0 and ``Jmo``, shaped as ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> mo(np.array([0.5, 0.25, 0.25]), np.array([0, 1, 2, 3])).tolist()
    [0.0, 1.5, 2.25, 3.0]
    """
    x = np.asarray(x, dtype=int)
    if isinstance(simplex, pt.Variable):
        cumulative = pt.concatenate([pt.zeros((1,)), pt.cumsum(simplex)])
        return simplex.shape[0] * cumulative[x]
    simplex = np.asarray(simplex, dtype=float)
    return len(simplex) * np.concatenate([[0.0], np.cumsum(simplex)])[x]


class Monotonic:
    """One ``mo(x)`` variable's data as brms 2.18 builds it (``get_mo_values``).

    Parameters
    ----------
    data : mapping
        Column name -> values.
    variable : str
        An ordered factor or a whole-number column.

    Attributes
    ----------
    Xmo : ndarray of int
        The training codes, counted from 0.
    Jmo : int
        The largest training code (the simplex length).
    con_simo : ndarray
        The default ``dirichlet(1)`` concentration, ``ones(Jmo)``.

    Examples
    --------
    >>> import pandas as pd
    >>> edu = pd.Categorical(["low", "high", "mid"], categories=["low", "mid", "high"], ordered=True)
    >>> m = Monotonic({"edu": edu}, "edu")
    >>> m.Xmo.tolist(), m.Jmo
    ([0, 2, 1], 2)
    """

    def __init__(self, data: Mapping, variable: str) -> None:
        self.variable = variable
        values = column(data, variable, f"mo({variable})")
        self.levels: list | None = None
        self.minimum = 0.0
        if is_factor(values):
            cat = as_categorical(values)
            if not cat.ordered:
                raise DataError(self._message())
            self.levels = list(cat.categories)
        else:
            x = np.asarray(values, dtype=float)
            if not np.all(x == np.round(x)):
                raise DataError(self._message())
            self.minimum = float(x.min())
        self.Xmo = self.codes(data)
        self.Jmo = int(self.Xmo.max())
        self.con_simo = np.ones(self.Jmo)

    def _message(self) -> str:
        return (
            "Monotonic predictors must be integers or ordered factors. Error occurred for "
            f"variable '{self.variable}'."
        )

    def codes(self, data: Mapping) -> np.ndarray:
        """The codes of (new) rows, counted from the training minimum or first level.

        Parameters
        ----------
        data : mapping
            Rows with the ``mo()`` variable.

        Returns
        -------
        ndarray of int
            One code per row; a code above ``Jmo`` is refused (``DataError``).
        """
        values = column(data, self.variable, f"mo({self.variable})")
        if self.levels is not None:
            # by R's labels: predictions hand new rows' factors over as labels ("1", not 1)
            labels = [_label(v) for v in np.asarray(as_categorical(values).astype(object))]
            codes = pd.Categorical(labels, categories=[_label(v) for v in self.levels]).codes
            if (codes < 0).any():
                raise DataError(f"mo({self.variable}) has values outside its levels {self.levels}.")
            return codes.astype(int)
        x = np.asarray(values, dtype=float)
        if not np.all(x == np.round(x)):
            raise DataError(self._message())
        out = (x - self.minimum).astype(int)
        if hasattr(self, "Jmo") and ((out < 0) | (out > self.Jmo)).any():
            raise DataError(
                f"mo({self.variable}) takes values from {self.minimum:g} to {self.minimum + self.Jmo:g} "
                "(the training range)."
            )
        return out


class SpecialTerm:
    """One brms special-effects term (coefficient ``bsp``) made of ``mo()`` parts and numeric covariates.

    ``mo(x)`` is one ``mo()`` part; ``mo(x):z`` is ``mo(x)`` times the column
    ``z`` (brms's ``Csp``).  Each ``mo()`` part has its own simplex, also when
    another term uses the same variable (``mo(Days) * Days`` has two).

    Parameters
    ----------
    data : mapping
        Column name -> values.
    mo_variables : sequence of str
        The variables of the term's ``mo()`` calls.
    covariates : sequence of str
        Its other (numeric) variables.

    Attributes
    ----------
    parts : list of Monotonic
    Csp : ndarray or None
        The product of ``covariates`` (``None`` without any).

    Examples
    --------
    >>> import numpy as np
    >>> d = {"Days": np.arange(4)}
    >>> t = SpecialTerm(d, ["Days"], ["Days"])
    >>> t.Csp.tolist(), t.parts[0].Xmo.tolist()
    ([0.0, 1.0, 2.0, 3.0], [0, 1, 2, 3])
    >>> t.predictor(1.5, [np.array([0.0, 0.5, 0.5])], d).tolist()
    [0.0, 0.0, 4.5, 13.5]
    """

    def __init__(self, data: Mapping, mo_variables: Sequence[str], covariates: Sequence[str] = ()) -> None:
        self.parts = [Monotonic(data, v) for v in mo_variables]
        self.covariates = list(covariates)
        self.Csp = self.covariate_product(data)

    def covariate_product(self, data: Mapping) -> np.ndarray | None:
        """The product of the numeric covariates of (new) rows, brms's ``Csp``.

        Parameters
        ----------
        data : mapping
            Rows with the term's numeric covariates.

        Returns
        -------
        ndarray or None
            ``None`` when the term has no covariate besides its ``mo()`` parts.
        """
        if not self.covariates:
            return None
        out = np.ones(len(column(data, self.covariates[0], "mo()")))
        for name in self.covariates:
            values = column(data, name, "mo()")
            if is_factor(values):
                raise DataError(f"The special term with mo() multiplies '{name}', which must be numeric.")
            out = out * np.asarray(values, dtype=float)
        return out

    def predictor(self, bsp, simplexes: Sequence, data: Mapping | None = None):
        """``bsp * prod_j mo(simo_j, Xmo_j) * Csp`` at the training rows or at ``data``.

        Parameters
        ----------
        bsp : float or tensor
            The term's coefficient.
        simplexes : sequence
            One simplex per ``mo()`` part.
        data : mapping, optional
            New rows (default: the training rows).

        Returns
        -------
        array or tensor
        """
        out = bsp
        for part, simplex in zip(self.parts, simplexes):
            codes = part.Xmo if data is None else part.codes(data)
            out = out * mo(simplex, codes)
        csp = self.Csp if data is None else self.covariate_product(data)
        return out if csp is None else out * csp


def _label(value: object) -> str:
    """A factor level as R prints it (``1`` and ``1.0`` → ``"1"``)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return r_number(float(value))
    return str(value)
