"""conditional_effects' conditions, int_conditions, spaghetti and surface, and plot's rug and
facets, against the predictions computed here from the draws (a gaussian model with an
identity link: the expected response is b_Intercept + b_x x + b_z z + b_x:z x z per draw)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.contour import QuadContourSet

import brmc
from brmc.conditional import conditional_effects, make_conditions
from brmc.errors import DataError

from .conftest import quiet, saves_png

pytestmark = pytest.mark.usefixtures("close_figures")


@pytest.fixture(scope="module")
def xz() -> brmc.Fit:
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"x": rng.uniform(0, 4, 60), "z": rng.normal(0, 1, 60),
                         "f": rng.choice(["a", "b"], 60)})
    data["y"] = 1 + 0.5 * data["x"] - 0.8 * data["z"] + 0.3 * data["x"] * data["z"] + rng.normal(0, 0.5, 60)
    return quiet(brmc.brm, "y ~ x * z + f", data, chains=2, iter=400, seed=3, progress=False)


def _expected(fit: brmc.Fit, x, z, f_b=0.0) -> np.ndarray:
    d = fit.draws()
    x, z = np.asarray(x, float), np.asarray(z, float)
    return (d["b_Intercept"].to_numpy()[:, None] + d["b_x"].to_numpy()[:, None] * x + d["b_z"].to_numpy()[:, None] * z
            + d["b_x:z"].to_numpy()[:, None] * x * z + d["b_fb"].to_numpy()[:, None] * f_b)


def test_conditions_repeat_the_effect_at_each_row(xz, tmp_path):
    conditions = pd.DataFrame({"z": [-1.0, 1.5], "f": ["a", "b"], "cond__": ["low z", "high z"]})
    ce = conditional_effects(xz, "x", conditions=conditions, resolution=5)
    frame = ce.data["x"]
    assert frame["cond__"].cat.categories.tolist() == ["low z", "high z"] and len(frame) == 10
    for label, z, fb in [("low z", -1.0, 0.0), ("high z", 1.5, 1.0)]:
        rows = frame[frame["cond__"] == label]
        np.testing.assert_allclose(rows["z"], z)
        np.testing.assert_allclose(rows["estimate__"], np.median(_expected(xz, rows["x"], z, fb), axis=0))
    fig = ce.plot(rug=True)[0]
    saves_png(fig, tmp_path, "conditions")
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["low z", "high z"]
    (rug,) = [ln for ln in panels[0].get_lines() if ln.get_marker() == "|"]
    np.testing.assert_allclose(np.sort(rug.get_xdata()), np.sort(xz.data["x"][xz.data["f"] == "a"]))
    # make_conditions: brms's labels, the first variable varying fastest
    made = make_conditions(xz, ["z", "f"])
    assert made.columns.tolist() == ["f", "z", "cond__"] and len(made) == 6
    z = xz.data["z"]
    assert made["cond__"][0] == f"f = a & z = {z.mean() - z.std():.2f}".rstrip("0")
    assert len(conditional_effects(xz, "x", conditions=made, resolution=3).data["x"]) == 18
    with pytest.raises(DataError, match="not in the data"):
        conditional_effects(xz, "x", conditions=pd.DataFrame({"w": [1]}))


def test_int_conditions_set_the_moderator(xz):
    ce = conditional_effects(xz, "x:z", int_conditions={"z": {"low": -1.0, "high": 2.0}}, resolution=4)
    frame = ce.data["x:z"]
    assert sorted(frame["z"].unique()) == [-1.0, 2.0]
    assert frame["effect2__"].cat.categories.tolist() == ["high", "low"]  # brms: decreasing, named
    np.testing.assert_allclose(frame["estimate__"], np.median(_expected(xz, frame["x"], frame["z"]), axis=0))
    by_function = conditional_effects(xz, "x:z", int_conditions={"z": lambda v: np.quantile(v, [0.25, 0.75])})
    np.testing.assert_allclose(sorted(by_function.data["x:z"]["z"].unique()), np.quantile(xz.data["z"], [0.25, 0.75]))


def test_spaghetti_keeps_each_draws_curve(xz, tmp_path):
    ce = conditional_effects(xz, "x", spaghetti=True, ndraws=20, seed=1, resolution=6)
    curves = ce.spaghetti["x"]
    assert len(curves) == 20 * 6 and curves["sample__"].nunique() == 20
    slopes = xz.draws()["b_x"].to_numpy() + xz.draws()["b_x:z"].to_numpy() * xz.data["z"].mean()
    for _, curve in curves.groupby("sample__", observed=True):
        fitted = np.polyfit(curve["x"], curve["estimate__"], 1)
        assert np.min(np.abs(slopes - fitted[0])) < 1e-8  # each curve is one draw's line
    np.testing.assert_allclose(curves.groupby("x")["estimate__"].median().to_numpy(), ce.data["x"]["estimate__"])
    fig = ce.plot()[0]
    saves_png(fig, tmp_path, "spaghetti")
    assert len(fig.axes[0].get_lines()) == 21  # a line per draw and the summary
    with pytest.raises(DataError, match="at the same time"):
        conditional_effects(xz, "x:z", spaghetti=True, surface=True)


def test_surface_over_two_numeric_variables(xz, tmp_path):
    ce = conditional_effects(xz, "x:z", surface=True, resolution=7)
    frame = ce.data["x:z"]
    assert len(frame) == 49 and frame["z"].nunique() == 7
    assert frame["effect2__"].dtype.kind == "f"  # not made a factor
    np.testing.assert_allclose(frame["estimate__"], np.median(_expected(xz, frame["x"], frame["z"]), axis=0))
    fig = ce.plot()[0]
    saves_png(fig, tmp_path, "surface")
    (contours,) = [c for c in fig.axes[0].collections if isinstance(c, QuadContourSet)]
    assert contours.levels.min() <= frame["estimate__"].min() and frame["estimate__"].max() <= contours.levels.max()
    assert fig.axes[0].get_xlabel() == "x" and fig.axes[0].get_ylabel() == "z"
    raster = ce.plot(stype="raster")[0]
    (mesh,) = raster.axes[0].collections
    np.testing.assert_allclose(np.sort(mesh.get_array().ravel()), np.sort(frame["estimate__"].to_numpy()))
