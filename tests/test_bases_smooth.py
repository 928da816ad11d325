"""Smooth bases (brmc.bases.smooth/splines/tensor) against brms 2.18's own ``standata()``.

The real test is the penalty: brms's ``Zs`` is scaled so that its coefficients
are iid ``N(0, sds^2)``.  Ours must equal brms's up to an orthogonal rotation
inside each block (``Zs = Zs_brms @ Q`` with ``Q'Q = I``), which keeps that
prior and so the meaning of ``sds``; a mere equal span would not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.interpolate import CubicSpline, make_smoothing_spline
from scipy.linalg import subspace_angles

from brmc import datasets
from brmc.bases import Smooth
from brmc.bases.splines import CubicRegression, CyclicCubic, PSpline
from brmc.bases.tensor import t2
from brmc.bases.thinplate import ThinPlate
from brmc.errors import DataError, FormulaError
from tests.conftest import reference_standata

MCYCLE = datasets.load("mcycle")
JSPR = datasets.load("jspr")

# case -> (data, Smooth factory); the formulas of tests/reference/README.md
CASES = {
    "s_mcycle": lambda: Smooth(MCYCLE, ["times"]),
    "s_cr_mcycle": lambda: Smooth(MCYCLE, ["times"], bs="cr", k=8),
    "s_by_jsp": lambda: Smooth(JSPR, ["craven"], by="gender"),
    "s_jsp_re": lambda: Smooth(JSPR, ["school"], bs="re"),
    "t2_mcycle": lambda: t2(MCYCLE, ["times"]),
}
DATA = {"s_mcycle": MCYCLE, "s_cr_mcycle": MCYCLE, "s_by_jsp": JSPR, "s_jsp_re": JSPR, "t2_mcycle": MCYCLE}


def dense(Zs) -> np.ndarray:
    """A Zs block as an array (a single-factor re smooth's is a sparse indicator matrix)."""
    return Zs.toarray() if sparse.issparse(Zs) else np.asarray(Zs)


def rotation(ours: np.ndarray, brms: np.ndarray) -> tuple[float, float, float]:
    """Largest principal angle, ``max |ours - brms Q|`` (relative) and ``max |Q'Q - I|``."""
    Q, *_ = np.linalg.lstsq(brms, ours, rcond=None)
    residual = np.abs(ours - brms @ Q).max() / np.abs(brms).max()
    return subspace_angles(ours, brms).max(), residual, np.abs(Q.T @ Q - np.eye(Q.shape[1])).max()


@pytest.mark.parametrize("case", CASES)
def test_zs_equals_brms_up_to_rotation(case: str) -> None:
    ref = reference_standata(case)
    smooth = CASES[case]()
    assert len(smooth.blocks) == sum(1 for key in ref if key.startswith("nb_"))
    for i, block in enumerate(smooth.blocks, start=1):
        assert len(block.Zs) == int(ref[f"nb_{i}"][0])
        for j, Zs in enumerate(map(dense, block.Zs), start=1):
            brms = ref[f"Zs_{i}_{j}"]
            assert Zs.shape == brms.shape
            angle, residual, orthogonality = rotation(Zs, brms)
            assert angle < 1e-8
            assert residual < 1e-9
            assert orthogonality < 1e-9


@pytest.mark.parametrize("case", CASES)
def test_xs_equals_brms_up_to_sign(case: str) -> None:
    ref = reference_standata(case)
    ours = np.column_stack([b.Xs for b in CASES[case]().blocks])
    brms = ref["Xs"].reshape(len(ours), -1)
    assert ours.shape == brms.shape
    for col in range(ours.shape[1]):  # every case here has one unpenalised column per block
        sign = np.sign(ours[:, col] @ brms[:, col])
        np.testing.assert_allclose(ours[:, col] * sign, brms[:, col], atol=1e-10 * np.abs(brms).max())


@pytest.mark.parametrize("case", CASES)
def test_predict_at_training_rows_reproduces_training_basis(case: str) -> None:
    smooth = CASES[case]()
    for new, old in zip(smooth.predict(DATA[case]), smooth.blocks):
        np.testing.assert_allclose(new.Xs, old.Xs, atol=1e-10)
        for z_new, z_old in zip(map(dense, new.Zs), map(dense, old.Zs)):
            np.testing.assert_allclose(z_new, z_old, atol=1e-10 * max(1.0, np.abs(z_old).max()))


@pytest.mark.parametrize("case", CASES)
def test_a_rows_basis_does_not_depend_on_the_other_rows(case: str) -> None:
    smooth = CASES[case]()
    data = DATA[case]
    rows = [5, 70, 120]
    together = smooth.predict(data.iloc[rows])
    for position, row in enumerate(rows):
        alone = smooth.predict(data.iloc[[row]])
        for a, t in zip(alone, together):
            np.testing.assert_allclose(dense(a.Zs[0])[0], dense(t.Zs[0])[position], atol=1e-12)
            np.testing.assert_allclose(a.Xs[0], t.Xs[position], atol=1e-12)


def test_re_smooth_is_an_indicator_matrix_with_a_gather_index() -> None:
    smooth = Smooth(JSPR, ["school"], bs="re")
    Zs = smooth.blocks[0].Zs[0]
    assert sparse.issparse(Zs)  # no dense 953 x 48 matrix
    school = JSPR["school"].cat.remove_unused_categories()
    np.testing.assert_array_equal(Zs.toarray(), np.eye(len(school.cat.categories))[school.cat.codes])
    np.testing.assert_array_equal(smooth.raw.index, school.cat.codes)
    unseen = smooth.predict(pd.DataFrame({"school": ["no such school"]}))
    assert unseen[0].Zs[0].nnz == 0  # mgcv: a level not in the training data contributes nothing
    # the general (dense) mgcv path gives the same matrix
    with_by = Smooth(JSPR.assign(one=1.0), ["school"], bs="re", by="one").blocks[0]
    np.testing.assert_array_equal(with_by.Zs[0], Zs.toarray())


def test_cr_basis_interpolates_its_knots_and_is_a_natural_cubic_spline() -> None:
    x = MCYCLE["times"].to_numpy()
    cr = CubicRegression(x, k=8)
    np.testing.assert_allclose(cr.design(cr.knots), np.eye(8), atol=1e-12)
    values = np.sin(cr.knots / 10)
    grid = np.linspace(x.min(), x.max(), 50)
    natural = CubicSpline(cr.knots, values, bc_type="natural")(grid)
    np.testing.assert_allclose(cr.design(grid) @ values, natural, atol=1e-12)
    beyond = cr.design(np.array([x.max() + 1, x.max() + 2])) @ values
    slope = CubicSpline(cr.knots, values, bc_type="natural")(x.max(), 1)
    assert beyond[1] - beyond[0] == pytest.approx(slope, rel=1e-10)  # linear extrapolation


def test_cc_basis_is_periodic() -> None:
    cc = CyclicCubic(np.linspace(0, 2 * np.pi, 60), k=8)
    ends = cc.design(np.array([0.0, 2 * np.pi, 2 * np.pi + 1.0, 1.0]))
    np.testing.assert_allclose(ends[0], ends[1], atol=1e-12)
    np.testing.assert_allclose(ends[2], ends[3], atol=1e-12)


def test_ps_basis_is_a_b_spline_partition_of_unity_with_difference_penalty() -> None:
    ps = PSpline(np.linspace(0, 1, 40), k=10)
    np.testing.assert_allclose(ps.X.sum(axis=1), 1, atol=1e-12)
    D = np.diff(np.eye(10), n=2, axis=0)
    np.testing.assert_allclose(ps.S[0], D.T @ D)
    line = ps.design(np.array([1.2, 1.4])) @ np.arange(10.0)
    inner = ps.design(np.array([0.2, 0.4])) @ np.arange(10.0)
    assert line[1] - line[0] == pytest.approx(inner[1] - inner[0], rel=1e-8)  # coefficients 0..9: a line


def test_tp_radial_function_is_r_cubed_over_12_in_one_dimension() -> None:
    tp = ThinPlate(np.arange(12.0)[:, None], k=12)  # k = number of points: the full thin plate spline
    values = np.cos(np.arange(12.0))
    coef = np.linalg.lstsq(tp.X, values, rcond=None)[0]
    np.testing.assert_allclose(tp.X @ coef, values, atol=1e-10)  # full rank: it interpolates
    r = np.abs(np.arange(12.0)[:, None] - np.arange(12.0)[None, :])
    E = r**3 / 12
    span = np.column_stack([E, np.ones(12), np.arange(12.0)])
    assert subspace_angles(tp.X, span).max() < 1e-8


def test_numeric_by_drops_the_centring_constraint() -> None:
    df = MCYCLE.assign(w=np.linspace(0.5, 1.5, len(MCYCLE)))
    block = Smooth(df, ["times"], by="w", k=6).blocks[0]
    assert block.Xs.shape[1] + block.Zs[0].shape[1] == 6  # no column lost to a constraint


def test_bad_input_is_refused_with_the_term_named() -> None:
    with pytest.raises(DataError, match="'time'.*Did you mean 'times'"):
        Smooth(MCYCLE, ["time"])
    with pytest.raises(FormulaError, match="Unknown smooth basis bs = 'crr'.*'cr'"):
        Smooth(MCYCLE, ["times"], bs="crr")
    with pytest.raises(DataError, match="reduce k"):
        Smooth(MCYCLE.head(5), ["times"], bs="cr")
    with pytest.raises(DataError, match="'gender' is a factor"):
        Smooth(JSPR, ["gender"])


def _second_derivative_penalty(basis, lo: float, hi: float, bc: str) -> np.ndarray:
    """``int f_i'' f_j''`` of the basis functions, by quadrature of scipy's own cubic splines."""
    knots = basis.knots
    n = basis.X.shape[1]
    grid = np.linspace(lo, hi, 20001)
    second = []
    for i in range(n):
        values = np.eye(n)[i]
        if bc == "periodic":
            values = np.r_[values, values[0]]
        second.append(CubicSpline(knots, values, bc_type=bc)(grid, 2))
    second = np.array(second)
    weights = np.full(len(grid), grid[1] - grid[0])
    weights[[0, -1]] /= 2
    return (second * weights) @ second.T


def test_cr_penalty_is_the_integrated_squared_second_derivative() -> None:
    cr = CubicRegression(MCYCLE["times"].to_numpy(), k=6)
    expected = _second_derivative_penalty(cr, cr.knots[0], cr.knots[-1], "natural")
    np.testing.assert_allclose(cr.S[0], expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_cc_penalty_is_the_integrated_squared_second_derivative() -> None:
    cc = CyclicCubic(np.linspace(0, 10, 80), k=7)
    expected = _second_derivative_penalty(cc, cc.knots[0], cc.knots[-1], "periodic")
    np.testing.assert_allclose(cc.S[0], expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


RNG = np.random.default_rng(11)
OTHER = pd.DataFrame(
    {
        "x": RNG.uniform(0, 10, 120),
        "z": RNG.uniform(-1, 1, 120),
        "w": RNG.uniform(0.5, 2, 120),
        "g": pd.Categorical(RNG.choice(["a", "b", "c"], 120)),
        "h": pd.Categorical(RNG.choice(["u", "v"], 120)),
    }
)
OTHER_SMOOTHS = {
    "tp 2d": lambda: Smooth(OTHER, ["x", "z"], k=12),
    "tp m=3": lambda: Smooth(OTHER, ["x"], k=8, m=3),
    "cs": lambda: Smooth(OTHER, ["x"], bs="cs", k=6),
    "ts": lambda: Smooth(OTHER, ["x"], bs="ts", k=6),
    "cc": lambda: Smooth(OTHER, ["x"], bs="cc", k=6),
    "ps": lambda: Smooth(OTHER, ["x"], bs="ps", k=8),
    "re two factors": lambda: Smooth(OTHER, ["g", "h"], bs="re"),
    "re numeric by factor": lambda: Smooth(OTHER, ["z", "g"], bs="re"),
    "numeric by": lambda: Smooth(OTHER, ["x"], by="w", k=6),
    "factor by cr": lambda: Smooth(OTHER, ["x"], bs="cr", by="g", k=5),
    "t2 two margins": lambda: t2(OTHER, ["x", "z"], k=4),
    "t2 by factor": lambda: t2(OTHER, ["x"], by="h"),
}


@pytest.mark.parametrize("name", OTHER_SMOOTHS)
def test_other_bases_predict_their_training_basis_row_by_row(name: str) -> None:
    smooth = OTHER_SMOOTHS[name]()
    trained = [np.column_stack([*b.Zs, b.Xs]) for b in smooth.blocks]
    predicted = [np.column_stack([*b.Zs, b.Xs]) for b in smooth.predict(OTHER)]
    one_row = [np.column_stack([*b.Zs, b.Xs]) for b in smooth.predict(OTHER.iloc[[7]])]
    for old, new, single in zip(trained, predicted, one_row):
        np.testing.assert_allclose(new, old, atol=1e-9 * max(1.0, np.abs(old).max()))
        np.testing.assert_allclose(single[0], old[7], atol=1e-9 * max(1.0, np.abs(old).max()))


@pytest.mark.parametrize("name", OTHER_SMOOTHS)
def test_other_bases_are_identifiable_and_satisfy_their_constraint(name: str) -> None:
    """Full column rank; an s() smooth's columns sum to zero (t2's constraint is on its null space only)."""
    smooth = OTHER_SMOOTHS[name]()
    centred = name != "numeric by" and not name.startswith(("re", "t2"))
    for block in smooth.blocks:
        columns = np.column_stack([*block.Zs, block.Xs])
        assert np.linalg.matrix_rank(columns) == columns.shape[1]  # identifiable
        if centred and smooth.by is None:
            np.testing.assert_allclose(columns.sum(axis=0), 0, atol=1e-8 * np.abs(columns).sum())


def test_re_smooth_of_two_factors_is_their_interaction_in_r_order() -> None:
    raw = Smooth(OTHER, ["g", "h"], bs="re").raw
    assert raw.levels == [("a", "u"), ("b", "u"), ("c", "u"), ("a", "v"), ("b", "v"), ("c", "v")]
    cell = OTHER["g"].astype(str) + OTHER["h"].astype(str)
    expected = np.column_stack([(cell == a + b).to_numpy() for a, b in raw.levels]).astype(float)
    np.testing.assert_array_equal(raw.X, expected)


def test_full_rank_tp_penalty_is_the_cubic_smoothing_spline() -> None:
    """In one dimension with k = n, mgcv's tp basis and penalty give the natural cubic smoothing spline."""
    x = np.sort(RNG.uniform(0, 3, 15))
    y = np.sin(2 * x) + RNG.normal(0, 0.2, 15)
    tp = ThinPlate(x, k=15)
    lam = 0.05
    beta = np.linalg.solve(tp.X.T @ tp.X + lam * tp.S[0], tp.X.T @ y)
    np.testing.assert_allclose(tp.X @ beta, make_smoothing_spline(x, y, lam=lam)(x), atol=1e-8)


def test_fixed_smooth_puts_the_whole_constrained_basis_in_xs() -> None:
    fixed = Smooth(MCYCLE, ["times"], fx=True).blocks[0]
    penalised = Smooth(MCYCLE, ["times"]).blocks[0]
    assert fixed.Zs == () and fixed.Xs.shape == (len(MCYCLE), 9)
    np.testing.assert_allclose(fixed.Xs.sum(axis=0), 0, atol=1e-9)  # the centring constraint is kept
    assert subspace_angles(fixed.Xs, np.column_stack([penalised.Zs[0], penalised.Xs])).max() < 1e-8
