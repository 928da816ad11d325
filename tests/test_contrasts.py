"""Ordered factors as predictors: R's ``contr.poly``, with brms's names, everywhere a factor goes.

lme4's ``cake`` (recipe A-C × replicate 1-15 × temperature 175 < 185 < ... < 225,
an ordered factor; response angle) is not shipped, so the tests simulate data of
its layout.  R is not available: ``contr.poly`` is recomputed here independently
(Gram-Schmidt on the centred powers of the level index, and R's printed values
of ``contr.poly(3)`` and ``contr.poly(4)``, which are closed forms).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.contrasts import contr_poly, poly_labels
from brmc.data import build_data
from brmc.families import get_family
from brmc.formula import parse_formula

TEMPERATURES = ["175", "185", "195", "205", "215", "225"]
#: R's column names of contr.poly(6) after brms's rename(): '^4' -> 'E4'
TEMP = ["temperature.L", "temperature.Q", "temperature.C", "temperatureE4", "temperatureE5"]


def gram_schmidt_poly(k: int) -> np.ndarray:
    """Orthonormal polynomials of degree 1..k-1 on the scores 1..k by classical Gram-Schmidt
    on 1, s, s^2, ... (s centred), each with a positive last entry (R's sign)."""
    s = np.arange(1, k + 1, dtype=float) - (k + 1) / 2
    basis = [np.ones(k) / np.sqrt(k)]
    for d in range(1, k):
        v = s**d
        for b in basis:
            v = v - (v @ b) * b
        v = v / np.sqrt(v @ v)
        basis.append(v if v[-1] > 0 else -v)
    return np.column_stack(basis[1:])


@pytest.fixture(scope="module")
def cake() -> pd.DataFrame:
    rng = np.random.default_rng(20)
    rows = [(r, str(rep), t) for r in "ABC" for rep in range(1, 16) for t in TEMPERATURES]
    frame = pd.DataFrame(rows, columns=["recipe", "replicate", "temperature"])
    temp = frame["temperature"].astype(float)
    frame["temperature"] = pd.Categorical(frame["temperature"], categories=TEMPERATURES, ordered=True)
    frame["angle"] = (20 + 0.15 * (temp - 175) + np.repeat(rng.normal(0, 4, 45), 6)
                      + rng.normal(0, 3, len(frame))).round(1)
    return frame


def mu(formula: str, data: pd.DataFrame, **kwargs):
    return build_data(parse_formula(formula), data, get_family("gaussian"), **kwargs).predictors["mu"]


@pytest.mark.parametrize("k", range(2, 10))
def test_contr_poly_is_the_orthonormalised_vandermonde_of_the_level_index(k: int) -> None:
    np.testing.assert_allclose(contr_poly(k), gram_schmidt_poly(k), atol=1e-12)


def test_contr_poly_equals_rs_values() -> None:
    # R: contr.poly(3) has .L = (-1, 0, 1)/sqrt(2), .Q = (1, -2, 1)/sqrt(6);
    # contr.poly(4): .L = (-3, -1, 1, 3)/sqrt(20), .Q = (1, -1, -1, 1)/2, .C = (-1, 3, -3, 1)/sqrt(20)
    np.testing.assert_allclose(contr_poly(3), np.column_stack([[-1, 0, 1] / np.sqrt(2), [1, -2, 1] / np.sqrt(6)]),
                               atol=1e-15)
    np.testing.assert_allclose(contr_poly(4), np.column_stack([np.array([-3, -1, 1, 3]) / np.sqrt(20),
                                                               np.array([1, -1, -1, 1]) / 2,
                                                               np.array([-1, 3, -3, 1]) / np.sqrt(20)]), atol=1e-15)
    assert poly_labels(2) == [".L"]
    assert poly_labels(7) == [".L", ".Q", ".C", "^4", "^5", "^6"]  # colnames(contr.poly(7))


def test_population_and_interaction_columns_are_contr_poly_with_rs_names(cake) -> None:
    lp = mu("angle ~ recipe * temperature", cake)
    # R: recipeB recipeC temperature.L ... temperature^5, then recipe varying fastest in the interaction
    inter = [f"recipe{r}:{t}" for t in TEMP for r in "BC"]
    assert lp.b_names == ["recipeB", "recipeC", *TEMP, *inter]
    poly = contr_poly(6)[cake["temperature"].cat.codes.to_numpy()]
    np.testing.assert_allclose(lp.X[:, 3:8], poly, atol=1e-12)
    is_b = (cake["recipe"] == "B").to_numpy(dtype=float)
    np.testing.assert_allclose(lp.X[:, 1 + lp.b_names.index("recipeB:temperatureE4")], is_b * poly[:, 3], atol=1e-12)


def test_default_priors_of_an_ordered_factor_model_are_brms_rows(cake) -> None:
    tab = brmc.get_prior("angle ~ recipe * temperature + (1 | recipe:replicate)", cake)
    y = cake["angle"].to_numpy()
    mad = 1.4826 * np.median(np.abs(y - np.median(y)))  # R's mad()
    scale = max(2.5, round(mad, 1))  # brms's def_scale_prior on the identity link
    sd = f"student_t(3, 0, {scale:g})"
    # get_prior rows sorted by class, group, coef in R's en_US collation: '.' before letters
    coefs = ["recipeB", *[f"recipeB:{t}" for t in sorted(TEMP, key=lambda c: (c[11] != ".", c))],
             "recipeC", *[f"recipeC:{t}" for t in sorted(TEMP, key=lambda c: (c[11] != ".", c))],
             "temperature.C", "temperature.L", "temperature.Q", "temperatureE4", "temperatureE5"]
    expected = ([("", "b", "", "")] + [("", "b", c, "") for c in coefs]
                + [(f"student_t(3, {round(float(np.median(y)), 1):g}, {scale:g})", "Intercept", "", ""),
                   (sd, "sd", "", ""), ("", "sd", "", "recipe:replicate"),
                   ("", "sd", "Intercept", "recipe:replicate"), (sd, "sigma", "", "")])
    assert list(tab[["prior", "class", "coef", "group"]].itertuples(index=False, name=None)) == expected
    assert coefs[1:6] == ["recipeB:temperature.C", "recipeB:temperature.L", "recipeB:temperature.Q",
                          "recipeB:temperatureE4", "recipeB:temperatureE5"]


def test_group_level_terms_of_an_ordered_factor(cake) -> None:
    md = build_data(parse_formula("angle ~ 1 + (temperature | recipe)"), cake, get_family("gaussian"))
    block = md.blocks[0]
    assert block.coefs == ["Intercept", *TEMP]  # sd_recipe__temperature.L, ...
    np.testing.assert_allclose(block.Z[:, 1:], contr_poly(6)[cake["temperature"].cat.codes.to_numpy()], atol=1e-12)
    tab = brmc.get_prior("angle ~ 1 + (temperature | recipe)", cake)
    sd_rows = tab[(tab["class"] == "sd") & (tab["group"] == "recipe")]
    assert list(sd_rows["coef"]) == ["", "Intercept", "temperature.C", "temperature.L", "temperature.Q",
                                     "temperatureE4", "temperatureE5"]
    # without an intercept R codes the factor by indicators of every level, named by the level
    md = build_data(parse_formula("angle ~ 1 + (0 + temperature | recipe)"), cake, get_family("gaussian"))
    assert md.blocks[0].coefs == [f"temperature{t}" for t in TEMPERATURES]


def test_factor_as_factor_and_c_of_an_ordered_factor_keep_its_polynomial_contrasts(cake) -> None:
    # R's factor(x) keeps an ordered x ordered, as.factor(x) returns it, C(x) takes the default
    # for ordered factors: 'factor(temperature).L' -> 'factortemperature.L'
    for call, prefix in [("factor", "factor"), ("as.factor", "as.factor"), ("C", "C")]:
        lp = mu(f"angle ~ {call}(temperature)", cake)
        assert lp.b_names == [f"{prefix}{t}" for t in TEMP]
        np.testing.assert_allclose(lp.X[:, 1:], contr_poly(6)[cake["temperature"].cat.codes.to_numpy()], atol=1e-12)


def test_an_ordered_grouping_factor_keeps_its_level_order() -> None:
    dose = pd.Categorical(["low", "mid", "high"] * 4, categories=["low", "mid", "high"], ordered=True)
    df = pd.DataFrame({"y": np.arange(12.0), "dose": dose})
    md = build_data(parse_formula("y ~ 1 + (1 | dose)"), df, get_family("gaussian"))
    assert md.blocks[0].levels == ["low", "mid", "high"]  # the factor's levels, as labels (r_dose[low,Intercept])
    np.testing.assert_array_equal(md.blocks[0].index, np.tile([0, 1, 2], 4))


def test_treatment_contrasts_on_request_and_poly_for_an_unordered_factor(cake) -> None:
    lp = mu("angle ~ temperature", cake, contrasts={"temperature": "contr.treatment"})
    assert lp.b_names == [f"temperature{t}" for t in TEMPERATURES[1:]]
    np.testing.assert_array_equal(lp.X[:, 1:], np.eye(6)[cake["temperature"].cat.codes.to_numpy()][:, 1:])
    lp = mu("angle ~ recipe", cake, contrasts={"recipe": "poly"})
    assert lp.b_names == ["recipe.L", "recipe.Q"]
    np.testing.assert_allclose(lp.X[:, 1:], contr_poly(3)[pd.factorize(cake["recipe"], sort=True)[0]], atol=1e-12)


def test_ordinal_response_with_an_ordered_predictor(cake) -> None:
    df = cake.assign(rating=pd.cut(cake["angle"], [0, 22, 28, 34, 100], labels=["1", "2", "3", "4"], ordered=True))
    tab = brmc.get_prior("rating ~ temperature", df, family="cumulative")
    assert list(tab.loc[tab["class"] == "b", "coef"]) == ["", "temperature.C", "temperature.L", "temperature.Q",
                                                         "temperatureE4", "temperatureE5"]
    assert list(tab.loc[tab["class"] == "Intercept", "coef"]) == ["", "1", "2", "3"]


@pytest.fixture(scope="module")
def cake_fit(cake) -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm("angle ~ recipe * temperature + (temperature || replicate)", cake, chains=2, iter=400,
                        seed=3, progress=False)


def test_fit_parameter_names_are_brms(cake_fit) -> None:
    names = list(cake_fit.draws().columns)
    assert [n for n in names if n.startswith("b_")][:8] == ["b_Intercept", "b_recipeB", "b_recipeC",
                                                            *[f"b_{t}" for t in TEMP]]
    assert "b_recipeB:temperature.L" in names and "b_recipeC:temperatureE5" in names
    assert [n for n in names if n.startswith("sd_")] == ["sd_replicate__Intercept",
                                                         *[f"sd_replicate__{t}" for t in TEMP]]
    assert "r_replicate[1,temperature.Q]" in names


def test_new_data_with_some_levels_get_the_training_contrasts(cake_fit) -> None:
    new = pd.DataFrame({"recipe": ["A", "A"], "temperature": pd.Categorical(["185", "225"])})
    linpred = cake_fit.posterior_linpred(newdata=new, re_formula=False)
    d = cake_fit.draws()
    b = d[[f"b_{t}" for t in TEMP]].to_numpy()
    expected = d["b_Intercept"].to_numpy()[:, None] + b @ contr_poly(6)[[1, 5]].T
    np.testing.assert_allclose(linpred, expected, rtol=1e-10)


def test_conditional_effects_of_an_ordered_factor(cake_fit) -> None:
    ce = brmc.conditional_effects(cake_fit, "temperature")
    frame = ce["temperature"]
    assert [str(t) for t in frame["temperature"]] == TEMPERATURES
    assert set(frame["recipe"]) == {"A"}  # the other factor at its reference level
    d = cake_fit.draws()
    draws = d["b_Intercept"].to_numpy()[:, None] + d[[f"b_{t}" for t in TEMP]].to_numpy() @ contr_poly(6).T
    np.testing.assert_allclose(frame["estimate__"], np.median(draws, axis=0), rtol=1e-10)


@pytest.mark.parametrize("term", ["poly(Days, 2)", "scale(Days)", "bs(Days, df = 4)", "poly(Days, 2) + (Days | Subject)",
                                  "factor(Days)"])
def test_new_rows_are_coded_with_the_training_transforms(term: str) -> None:
    """R's predict (brms's newdata) evaluates poly(), scale(), bs() with the training data's
    parameters: a new row at Days = d gets the training rows' design at Days = d."""
    sleep = brmc.datasets.load("sleepstudy")
    md = build_data(parse_formula(f"Reaction ~ {term}"), sleep, get_family("gaussian"))
    new = brmc.predict.new_design(md, pd.DataFrame({"Days": [0.0, 9.0, 4.0], "Subject": ["308", "309", "310"]}))
    rows = [int(np.flatnonzero(sleep["Days"] == d)[0]) for d in (0, 9, 4)]
    np.testing.assert_allclose(new["mu"].X, md.predictors["mu"].X[rows], atol=1e-12)


def test_save_and_load_keep_the_coding(cake, tmp_path) -> None:
    """A fit with treatment contrasts asked for on an ordered factor loads with the same coding."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("angle ~ temperature", cake, chains=2, iter=200, seed=1, progress=False,
                       contrasts={"temperature": "treatment"})
    loaded = brmc.load(fit.save(tmp_path / "cake.brmc"))
    assert loaded.model_data.contrasts == {"temperature": "treatment"}
    assert loaded.model_data.predictors["mu"].b_names == [f"temperature{t}" for t in TEMPERATURES[1:]]
    new = pd.DataFrame({"temperature": pd.Categorical(["225"])})
    np.testing.assert_allclose(loaded.posterior_linpred(newdata=new), fit.posterior_linpred(newdata=new))


def test_posterior_of_polynomial_contrasts_is_centred_on_least_squares(cake) -> None:
    """With brms's flat priors on b the marginal posterior of b is centred on the least-squares
    fit of the design; the design here is built independently (Gram-Schmidt contr.poly)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = brmc.brm("angle ~ temperature", cake, chains=2, iter=600, seed=5, progress=False)
    X = np.column_stack([np.ones(len(cake)), gram_schmidt_poly(6)[cake["temperature"].cat.codes.to_numpy()]])
    ols = np.linalg.lstsq(X, cake["angle"].to_numpy(), rcond=None)[0]
    draws = fit.draws()[["b_Intercept", *[f"b_{t}" for t in TEMP]]].to_numpy()
    # Monte Carlo error of a mean of ~600 draws is ~0.05 posterior sd; allow 0.25
    assert np.all(np.abs(draws.mean(axis=0) - ols) < 0.25 * draws.std(axis=0))
