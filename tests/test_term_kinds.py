"""A kind of term added from this file alone proves the protocol of :mod:`brmc.terms`.

``shift(z)`` adds ``bshift * z`` to its predictor: one coefficient of a parameter
class of its own (``bshift``, default prior ``normal(0, 10)``), named
``bshift_z`` in the draws.  Nothing in the pipeline modules knows of it: the
kind is registered here, fitted, predicted for new rows, and checked against
least squares and against the draws themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
import pytest

import brmc
from brmc import terms
from brmc.errors import FormulaError
from brmc.graph import parameter
from brmc.naming import suffix, table_dpar
from brmc.terms.base import ParamSlot, TermKind, prior_row

from .conftest import quiet


class Shift(TermKind):
    """``shift(z)``: ``eta + bshift * z`` for a column ``z``."""

    name = "shift"
    calls = ("shift",)

    def data(self, terms: list, ctx) -> dict[str, Any] | None:
        if not terms:
            return None
        column = terms[0].args[0].variables[0]
        return {"column": column, "z": ctx.frame[column].to_numpy(dtype=float)}

    def prior_rows(self, lp, part, ctx) -> list[dict]:
        dp = table_dpar(lp.dpar)
        return [prior_row("normal(0, 10)", "bshift", dpar=dp), prior_row("", "bshift", coef=part["column"], dpar=dp)]

    def slots(self, lp, part) -> list[ParamSlot]:
        return [ParamSlot(f"bshift{suffix(lp.dpar)}", 0, "bshift", part["column"], "", table_dpar(lp.dpar))]

    def data_values(self, lp, part) -> dict[str, np.ndarray]:
        return {f"Xshift{suffix(lp.dpar)}": part["z"]}

    def graph(self, lp, part, ctx) -> tuple:
        name = f"bshift{suffix(lp.dpar)}"
        ctx.params[name] = coefficient = parameter(name, (1,), *ctx.bounds(name))
        return coefficient, pm.Data(f"Xshift{suffix(lp.dpar)}", ctx.values[f"Xshift{suffix(lp.dpar)}"])

    def add(self, eta, contribution):
        coefficient, z = contribution  # coefficient: (..., 1), one value per draw
        return eta + coefficient * z

    def _name(self, part) -> str:
        return f"bshift_{part['column']}"

    def rename(self, raw, lp, part) -> dict[str, dict[str, np.ndarray]]:
        return {"bshift": {self._name(part): raw[f"bshift{suffix(lp.dpar)}"].values[..., 0]}}

    def constrained(self, posterior, lp, part) -> dict[str, np.ndarray]:
        return {f"bshift{suffix(lp.dpar)}": posterior[self._name(part)].values[..., None]}

    def needed(self, lp, part, kept) -> tuple[list[str], list[str]]:
        return [part["column"]], []

    def rows(self, lp, part, ctx) -> np.ndarray:
        return part["z"] if ctx.newdata is None else ctx.newdata[part["column"]].to_numpy(dtype=float)

    def draws(self, lp, part, rows, ctx) -> tuple:
        return ctx.pick(ctx.posterior[self._name(part)].values)[:, None], rows


@pytest.fixture
def shift() -> Iterator[Shift]:
    kind = terms.register(Shift())
    try:
        yield kind
    finally:
        terms.unregister("shift")


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    z = rng.normal(size=60)
    return pd.DataFrame({"y": 1.0 + 3.0 * z + rng.normal(0.0, 0.5, size=60), "z": z})


def test_an_unregistered_call_is_refused() -> None:
    with pytest.raises(FormulaError, match="Function 'shift' cannot be used"):
        brmc.parse_formula("y ~ shift(z)")


def test_a_kind_registered_from_a_test_fits_and_predicts(shift: Shift, data: pd.DataFrame) -> None:
    table = brmc.get_prior("y ~ 1 + shift(z)", data)
    assert table.loc[table["class"] == "bshift", ["prior", "coef", "source"]].values.tolist() == [
        ["normal(0, 10)", "", "default"], ["", "z", "default"]]

    fit = quiet(brmc.brm, "y ~ 1 + shift(z)", data, chains=2, iter=600, seed=3, progress=False)
    post = fit.idata.posterior
    (intercept, slope), *_ = np.linalg.lstsq(np.column_stack([np.ones(len(data)), data["z"]]), data["y"], rcond=None)
    # least squares, an independent computation; the prior normal(0, 10) barely moves it
    assert float(post["bshift_z"].mean()) == pytest.approx(slope, abs=0.05)
    assert float(post["b_Intercept"].mean()) == pytest.approx(intercept, abs=0.05)

    new = pd.DataFrame({"z": [-1.0, 0.0, 2.5]})
    expected = (post["b_Intercept"].values.reshape(-1, 1) + post["bshift_z"].values.reshape(-1, 1) * new["z"].values)
    np.testing.assert_allclose(brmc.predict.posterior_epred(fit, newdata=new), expected, rtol=1e-10)
    alone = brmc.predict.posterior_epred(fit, newdata=new.iloc[[2]])
    np.testing.assert_allclose(alone[:, 0], expected[:, 2], rtol=1e-10)  # a row does not depend on the others
    np.testing.assert_allclose(  # the training rows: the same formula on the training design
        brmc.predict.posterior_epred(fit), post["b_Intercept"].values.reshape(-1, 1)
        + post["bshift_z"].values.reshape(-1, 1) * data["z"].values, rtol=1e-10)
