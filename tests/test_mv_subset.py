"""brms's ``subset()`` addition term in multivariate models: each response fitted on the rows where its
subset variable is TRUE (brms's ``subset_data``), a missing value kept where every response reading it
leaves the row out (brms's ``na_omit``), group levels from all rows (brms's ``tidy_ranef``), and brms's
refusals.

No brms reference fit has ``subset()``; the checks are independent: each response's likelihood against
SciPy on its own rows (its intercept centred on its own rows, as brms's ``Xc``), and the posterior of a
subsetted response against a univariate fit of the same formula to its rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats

import brmc
from brmc.errors import DataError, FamilyError, FormulaError
from brmc.graph import cholesky_from_raw
from brmc.mvdata import build_mv_data, resolve_mv_priors
from brmc.mvmodel import build_mv_model

from .conftest import quiet

RNG = np.random.default_rng(7)
N = 60
X = RNG.normal(size=N)
G = np.array(list("abcdef"))[np.arange(N) % 6]
DATA = pd.DataFrame({"x": X, "g": G, "y1": 1 + 2 * X + RNG.normal(size=N),
                     "y2": -1 + 0.5 * X + 0.5 * RNG.normal(size=N),
                     "s1": RNG.random(N) < 0.7, "s2": ((RNG.random(N) < 0.6) & (G != "f")).astype(int)})
DATA.loc[DATA["s2"] == 0, "y2"] = np.nan  # missing where its subset leaves the row out: kept (brms #895)
FORMULA = (brmc.bf("y1 | subset(s1) ~ x + (1 | p | g)") + brmc.bf("y2 | subset(s2) ~ x + (1 | p | g)")
           + brmc.set_rescor(False))
SETTINGS = {"chains": 2, "iter": 400, "seed": 3, "progress": False}


def _loglik(built, name: str, point: dict) -> float:
    model = built.model
    (term,) = model.replace_rvs_by_values([model[name]])
    f = model.compile_fn(term, inputs=model.value_vars, point_fn=False, on_unused_input="ignore", mode="FAST_COMPILE")
    return float(f(**{v.name: point[v.name] for v in model.value_vars}))


def test_each_response_is_fitted_on_its_subset_rows() -> None:
    mv = build_mv_data(FORMULA, DATA)
    assert mv.nobs == N and mv.n_dropped == 0
    assert [md.nobs for md in mv.responses.values()] == [int(DATA["s1"].sum()), int(DATA["s2"].sum())]
    built = build_mv_model(mv, resolve_mv_priors(mv))
    rng = np.random.default_rng(1)
    point = {v.name: rng.normal(size=v.type.shape) for v in built.model.value_vars}
    r = np.exp(point["sd_1_log__"])[:, None] * (cholesky_from_raw(point["L_1_raw"], 2) @ point["z_1"])  # (1 | p | g)
    for k, (resp, sub) in enumerate((("y1", DATA["s1"]), ("y2", DATA["s2"] == 1))):
        rows = DATA[sub.to_numpy()]
        levels = np.searchsorted(list("abcdef"), rows["g"].to_numpy())
        x = rows["x"].to_numpy()
        mu = (point[f"Intercept_{resp}"] + (x - x.mean()) * point[f"b_{resp}"][0]  # centred on its own rows
              + r[k, levels])
        expected = scipy.stats.norm(mu, np.exp(point[f"sigma_{resp}_log__"])).logpdf(rows[resp]).sum()
        assert _loglik(built, f"Y_{resp}_loglik", point) == pytest.approx(expected, rel=1e-10)


def test_group_levels_are_those_of_all_rows() -> None:
    mv = build_mv_data(FORMULA, DATA)
    first, second = mv.blocks
    assert first.levels == second.levels == list("abcdef")  # 'f' is in no row of y2's subset
    assert "f" not in set(DATA.loc[DATA["s2"] == 1, "g"])
    assert sorted(set(second.index)) == [0, 1, 2, 3, 4]


def test_missing_values_drop_a_row_only_where_a_response_uses_it() -> None:
    data = DATA.copy()
    data.loc[np.flatnonzero(data["s2"] == 1)[:2], "y2"] = np.nan  # inside y2's subset: dropped
    with pytest.warns(UserWarning, match="2 of 60 rows dropped"):
        mv = build_mv_data(FORMULA, data)
    assert mv.nobs == N - 2 and mv.responses["y2"].nobs == int(DATA["s2"].sum()) - 2


@pytest.mark.parametrize(("formula", "data", "error", "match"), [
    (brmc.bf("y1 | subset(s1) ~ x") + brmc.bf("y2 ~ x") + brmc.set_rescor(True), DATA.fillna(0), FamilyError,
     "Only se, weights, mi are supported addition arguments when 'rescor' is estimated"),
    (brmc.bf("y1 | subset(s3) ~ x") + brmc.bf("y2 ~ x") + brmc.set_rescor(False),
     DATA.fillna(0).assign(s3=[np.nan] + [1.0] * (N - 1)), DataError, "Subset variables may not contain NAs"),
    (brmc.bf("y1 | subset(s3) ~ x") + brmc.bf("y2 ~ x") + brmc.set_rescor(False),
     DATA.fillna(0).assign(s3=2), DataError, "subset\\(\\) needs 0 and 1, or FALSE and TRUE: s3 .* has 2"),
    (brmc.bf("y1 | subset(s3) ~ x") + brmc.bf("y2 ~ x") + brmc.set_rescor(False),
     DATA.fillna(0).assign(s3=False), DataError, "All rows of 'data' were removed via 'subset'"),
    (brmc.bf("y1 | mi() ~ mi(y2)") + brmc.bf("y2 | mi() + subset(s2) ~ x") + brmc.set_rescor(False), DATA,
     FormulaError, "mi\\(\\) terms of subsetted variables require the 'idx' argument"),
    (brmc.bf("y1 | subset(s1) ~ mi(y2)") + brmc.bf("y2 | mi() ~ x") + brmc.set_rescor(False), DATA,
     FormulaError, "mi\\(\\) terms in subsetted formulas require the 'idx' argument"),
])
def test_refusals_in_brms_words(formula, data, error, match) -> None:
    with pytest.raises(error, match=match):
        quiet(build_mv_data, formula, data)


@pytest.fixture(scope="module")
def subset_fit() -> brmc.Fit:
    formula = brmc.bf("y1 | subset(s1) ~ x") + brmc.bf("y2 | subset(s2) ~ x") + brmc.set_rescor(False)
    return quiet(brmc.brm, formula, DATA, **SETTINGS)


def test_posterior_is_the_univariate_fit_on_the_subset(subset_fit: brmc.Fit) -> None:
    """Without shared group-level terms the responses are independent: y2's posterior is the one of
    ``y2 ~ x`` fitted to the rows of its subset (within Monte Carlo error)."""
    alone = quiet(brmc.brm, "y2 ~ x", DATA[DATA["s2"] == 1], **SETTINGS)
    ours, theirs = subset_fit.idata.posterior, alone.idata.posterior
    for mine, other in (("b_y2_Intercept", "b_Intercept"), ("b_y2_x", "b_x"), ("sigma_y2", "sigma")):
        a, b = ours[mine].values.ravel(), theirs[other].values.ravel()
        assert abs(a.mean() - b.mean()) < 0.25 * b.std(), mine
        assert a.std() == pytest.approx(b.std(), rel=0.25), mine


def test_post_processing_takes_one_response(subset_fit: brmc.Fit) -> None:
    assert subset_fit.posterior_epred(resp="y2").shape == (400, int(DATA["s2"].sum()))
    assert len(subset_fit.fitted(resp="y1")) == int(DATA["s1"].sum())
    message = "Argument 'resp' must be a single variable name for models using addition argument 'subset'"
    for call in (subset_fit.fitted, subset_fit.posterior_predict, subset_fit.log_likelihood, subset_fit.kfold):
        with pytest.raises(DataError, match=message):
            call()
    assert subset_fit.bayes_R2().index.tolist() == ["R2y1", "R2y2"]  # brms's: response by response
    ll = subset_fit.response_fit("y2").log_likelihood().values
    np.testing.assert_allclose(subset_fit.loo(resp="y2").estimates.to_numpy(), brmc.loo(ll).estimates.to_numpy())
    with pytest.raises(DataError, match=message):
        subset_fit.waic(resp=["y1", "y2"])
    assert "y2 | subset(s2) ~ x" in str(subset_fit.summary())
    effects = subset_fit.conditional_effects(resolution=5).data  # each response on its own rows' conditions
    assert list(effects) == ["y1.y1_x", "y2.y2_x"] and len(effects["y2.y2_x"]) == 5
