"""The arguments of ``s()`` beyond ``k``, ``bs``, ``by`` and ``m`` (:mod:`brmc.terms.sm_options`):
``pc`` and ``xt`` as mgcv's ``smoothCon`` honours them, ``fx`` with brms 2.18's prior rows, ``id``
and ``sp`` refused because brms ignores them.

No brms ``standata`` exists for these cases (R is not on this machine): the point constraint is
checked against mgcv's definition computed here independently (every column of the basis is zero at
the point, the span is the constructor's basis under the constraint ``C b = 0`` with ``C`` the basis
at the point, and the penalty of the ``Zs`` columns is the identity in mgcv's rescaled penalty), and
the prior rows against brms 2.18's ``prior_sm`` as read from its source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import null_space, subspace_angles

import brmc
from brmc.bases import Smooth
from brmc.errors import DataError, FormulaError

MCYCLE = brmc.datasets.load("mcycle")


def _independent_checks(sm: Smooth, point: dict[str, float]) -> None:
    """mgcv's point constraint from its definition: the basis vanishes at the point (the training
    rows' basis and the prediction path), spans ``X N`` with ``N`` the null space of ``C`` = the
    constructor's basis at the point, and has an identity penalty on ``Zs`` (zero on ``Xs``)."""
    raw = sm.raw
    C = raw.design(np.array([[point[t] for t in sm.terms]]))
    new = pd.DataFrame({t: [v] for t, v in point.items()} | ({sm.by: [1.0]} if sm.by else {}))
    for block, at in zip(sm.blocks, sm.predict(new)):
        full = np.column_stack([*block.Zs, block.Xs])
        assert full.shape[1] == raw.X.shape[1] - 1
        assert np.abs(np.column_stack([*at.Zs, at.Xs])).max() < 1e-12
        by = 1.0
        assert subspace_angles(full, by * raw.X @ null_space(C)).max() < 1e-8
        # mgcv's rescaling: S / (norm(S, "O") / norm(X, "I")^2), then Zs ~ an identity penalty
        S = raw.S[0] / (np.abs(raw.S[0]).sum(axis=0).max() / np.abs(raw.X).sum(axis=1).max() ** 2)
        A = np.linalg.lstsq(by * raw.X, full, rcond=None)[0]
        penalty = A.T @ S @ A
        r = block.Zs[0].shape[1]
        np.testing.assert_allclose(penalty[:r, :r], np.eye(r), atol=1e-9)
        np.testing.assert_allclose(penalty[r:], 0, atol=1e-9)


@pytest.mark.parametrize("bs, value", [("tp", 10.0), ("cr", 20.0), ("ps", 31.5), ("cr", float(MCYCLE["times"].min()))])
def test_point_constraint_is_mgcv_s(bs: str, value: float) -> None:
    """``s(times, pc = value)``; for ``cr`` at the smallest time, a knot, the constraint touches one
    coefficient only (mgcv's partial null space)."""
    _independent_checks(Smooth(MCYCLE, ["times"], bs=bs, pc={"times": value}), {"times": value})


def test_point_constraint_is_kept_with_a_numeric_by() -> None:
    """Without pc a varying numeric ``by`` drops the centring constraint (k columns); mgcv applies a
    point constraint always (``always.apply``): k - 1 columns, zero at the point."""
    frame = MCYCLE.assign(w=np.linspace(0.5, 2, len(MCYCLE)))
    free = Smooth(frame, ["times"], by="w")
    assert np.column_stack([*free.blocks[0].Zs, free.blocks[0].Xs]).shape[1] == 10
    constrained = Smooth(frame, ["times"], by="w", pc={"times": 12.0})
    by = frame["w"].to_numpy()[:, None]
    block = constrained.blocks[0]
    assert np.column_stack([*block.Zs, block.Xs]).shape[1] == 9
    C = constrained.raw.design(np.array([[12.0]]))
    assert subspace_angles(np.column_stack([*block.Zs, block.Xs]), by * constrained.raw.X @ null_space(C)).max() < 1e-8


def test_pc_is_read_as_mgcv_s_reads_it() -> None:
    """A number, c(...) in the covariates' order, or a named list in any order (mgcv's s())."""
    parse = brmc.terms.sm.parse_smooth
    f = brmc.parse_formula("y ~ s(x, pc = -1.5) + s(x, z, pc = c(1, 2)) + s(x, z, pc = list(z = 2, x = 1))")
    assert [parse(t).options["pc"] for t in f.terms[1:]] == [{"x": -1.5}, {"x": 1.0, "z": 2.0}, {"x": 1.0, "z": 2.0}]
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.uniform(0, 3, 60), "z": rng.uniform(0, 3, 60)})
    surface = Smooth(frame, ["x", "z"], pc={"x": 1.0, "z": 2.0})
    at = surface.predict(pd.DataFrame({"x": [1.0], "z": [2.0]}))[0]
    assert np.abs(np.column_stack([*at.Zs, at.Xs])).max() < 1e-12


def test_a_point_constraint_reaches_the_model() -> None:
    """Through the term kind: Xs and one Zs block of k - 1 = 9 columns, the term's text as the sds coef."""
    model = brmc.make_model("accel ~ s(times, pc = 20)", MCYCLE)
    assert model.values["Zs_1_1"].shape == (len(MCYCLE), 8) and model.values["Xs"].shape == (len(MCYCLE), 1)
    assert brmc.get_prior("accel ~ s(times, pc = 20)", MCYCLE)["coef"].tolist().count("s(times, pc = 20)") == 1


def test_xt_max_knots_is_mgcv_tp_limit() -> None:
    """mgcv subsamples knots (with R's random numbers) above xt$max.knots unique points: refused;
    at or under it every unique point is a knot, the same basis as mgcv's default."""
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"y": rng.normal(size=60), "x": rng.uniform(0, 1, 60)})
    with pytest.raises(DataError, match=r"60 unique covariate values; above 50 \(xt = list\(max.knots = 50\)\)"):
        brmc.get_prior("y ~ s(x, xt = list(max.knots = 50))", frame)
    same = Smooth(frame, ["x"], xt={"max.knots": 60, "seed": 2}).blocks[0]
    default = Smooth(frame, ["x"]).blocks[0]
    np.testing.assert_array_equal(same.Zs[0], default.Zs[0])
    assert brmc.get_prior("y ~ s(x, xt = list(max.knots = 60))", frame)["coef"].str.contains("xt").any()


def test_fx_smooth_keeps_brms_sds_rows() -> None:
    """brms 2.18's prior_sm adds the sds rows for every smooth term, an unpenalised one too; the
    model has no sds parameter and its whole constrained basis in Xs (bs_stimes_1..9)."""
    table = brmc.get_prior("accel ~ s(times, fx = TRUE)", MCYCLE)
    rows = list(zip(table["class"], table["coef"]))
    assert rows == [("b", "")] + [("b", f"stimes_{i}") for i in range(1, 10)] + [
        ("Intercept", ""), ("sds", ""), ("sds", "s(times, fx = TRUE)"), ("sigma", "")]
    model = brmc.make_model("accel ~ s(times, fx = TRUE)", MCYCLE)
    assert not any(name.startswith(("sds", "zs")) for name in model.model.named_vars)


@pytest.mark.parametrize("formula, message", [
    ("y ~ s(x, id = 1)", r"The argument id of s\(x, id = 1\) is refused: brms builds each smooth with mgcv's "
                         r"smoothCon\(\), which does not link smooths by id"),
    ("y ~ s(x, sp = 0.5)", "The argument sp of .* is refused: brms estimates the smooth's sds"),
    ("y ~ t2(x, z, id = 2)", "The argument id of t2"),
    ("y ~ t2(x, z, d = c(1, 1))", r"The argument d of t2\(\) is not supported by brmc yet"),
    ('y ~ s(x, bs = "cr", xt = list(max.knots = 5))', "bs = 'cr' .* reads no xt"),
    ("y ~ s(x, xt = 3)", "only the thin plate splines"),
    ("y ~ s(x, xt = list(bs = 2))", "reads max.knots and seed from xt, not bs"),
    ("y ~ s(x, z, pc = 1)", "supply a value for each variable for a point constraint"),
    ("y ~ s(x, z, pc = list(x = 1))", "gives no value for z"),
    ("y ~ s(x, pc = x)", "must be numbers"),
    ('y ~ s(g, bs = "re", pc = 1)', "random-effect smooth"),
])
def test_arguments_brms_does_not_honour_are_refused(formula: str, message: str) -> None:
    frame = pd.DataFrame({"y": np.arange(20.0), "x": np.linspace(0, 1, 20), "z": np.cos(np.arange(20.0)),
                          "g": list("ab") * 10})
    with pytest.raises(FormulaError, match=message):
        brmc.get_prior(formula, frame)
