"""The data stage: R's design columns and names, level order, missing rows, centring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.errors import BrmsError, DataError
from brmc.data import LinearPredictor, ModelData, build_data, group_levels
from brmc.families import get_family
from brmc.formula import parse_formula


def model_data(formula: str, data: pd.DataFrame) -> ModelData:
    return build_data(parse_formula(formula), data, get_family("gaussian"))


def mu(formula: str, data: pd.DataFrame) -> LinearPredictor:
    """The linear predictor of mu."""
    return model_data(formula, data).predictors["mu"]


def test_jsp_bivariate_columns_are_named_and_ordered_as_brms() -> None:
    md = model_data(brmc.datasets.REFERENCE_MODELS["jsp_bivariate"][0], brmc.datasets.load("mjspr"))
    lp = md.predictors["mu"]
    assert lp.b_names == ["subjectmath", "gendergirl", "craven", *[f"social{i}" for i in range(2, 10)],
                          "subjectmath:gendergirl", "subjectmath:craven"]
    frame = md.frame
    col = lp.X[:, 1 + lp.b_names.index("subjectmath:craven")]
    expected = (frame["subject"] == "math").to_numpy() * frame["craven"].to_numpy()
    np.testing.assert_allclose(col, expected)
    assert [b.group for b in md.blocks] == ["school", "school:class", "school:class:id"]
    assert [b.n_levels for b in md.blocks] == [48, 90, 953]


def test_interaction_group_has_only_occurring_levels_in_r_order() -> None:
    md = model_data("math ~ craven + (1 | school:class)", brmc.datasets.load("jspr"))
    levels = md.blocks[0].levels
    assert len(levels) == 90
    assert levels[:4] == ["1_1", "1_2", "11_1", "11_2"]  # brms's order (R's sort)
    assert levels.index("19_2") + 1 == levels.index("2_1")


def test_no_dense_group_matrix() -> None:
    md = model_data("score ~ subject + (1|school:class:id)", brmc.datasets.load("mjspr"))
    block = md.blocks[0]
    assert block.index.shape == (1906,) and block.Z.shape == (1906, 1)
    built = brmc.make_model("score ~ subject + (1|school:class:id)", brmc.datasets.load("mjspr"))
    assert all(np.asarray(v).size <= 1906 * 2 for v in built.values.values())


def test_factor_level_order_is_the_datas() -> None:
    df = pd.DataFrame({"y": np.arange(6.0), "f": pd.Categorical(list("abcabc"), categories=["c", "a", "b"])})
    lp = mu("y ~ f", df)
    assert lp.b_names == ["fa", "fb"]  # reference level is the first category, 'c'
    np.testing.assert_array_equal(lp.X[:, 1], (df["f"] == "a").to_numpy(dtype=float))


def test_strings_sorted_as_r_and_numbers_as_labels() -> None:
    frame = pd.DataFrame({"g": [10, 9, 10, 100], "s": ["b", "B", "a", "a"]})
    assert group_levels(frame, ["g"])[0] == ["9", "10", "100"]
    assert group_levels(frame, ["s"])[0] == ["a", "b", "B"]
    levels, index = group_levels(frame, ["g", "s"])
    assert levels == ["10_a", "10_b", "100_a", "9_B"]
    assert index.tolist() == [1, 3, 0, 2]


def test_non_consecutive_ids_are_labels() -> None:
    md = model_data("course ~ 1 + (1 | school)", brmc.datasets.load("gcse"))
    assert md.blocks[0].levels[:2] == ["20920", "22520"] and md.blocks[0].n_levels == 73


def test_missing_rows_are_dropped_and_counted() -> None:
    with pytest.warns(UserWarning, match="180 of 1905 rows dropped"):
        md = model_data("course ~ gender + (1 | school)", brmc.datasets.load("Gcsemv"))
    assert md.nobs == 1725


def test_centring_as_brms() -> None:
    md = model_data("Reaction ~ Days + (Days | Subject)", brmc.datasets.load("sleepstudy"))
    np.testing.assert_allclose(md.predictors["mu"].means_X, [4.5])
    np.testing.assert_allclose(md.predictors["mu"].Xc[:, 0], md.frame["Days"] - 4.5)
    assert md.blocks[0].coefs == ["Intercept", "Days"]
    np.testing.assert_allclose(md.blocks[0].Z[:, 1], md.frame["Days"])  # group slopes use raw values


def test_transforms_and_names() -> None:
    df = brmc.datasets.load("sleepstudy").assign(D1=lambda d: d["Days"] + 1)
    lp = mu("Reaction ~ I(Days^2) + log(D1) + (1 | Subject)", df)
    assert lp.b_names == ["IDaysE2", "logD1"]
    np.testing.assert_allclose(lp.X[:, 1], df["Days"] ** 2)
    np.testing.assert_allclose(lp.X[:, 2], np.log(df["D1"]))


def test_no_intercept() -> None:
    df = pd.DataFrame({"y": np.arange(6.0), "f": list("ababab")})
    lp = mu("y ~ 0 + f", df)
    assert not lp.has_intercept and lp.b_names == ["fa", "fb"]


# R's model.matrix names a column by the term as R deparses it (a call with spaces after
# commas and around '=', '^' without spaces), then the factor level or contrast name, or the
# column number 1, 2, ... of a matrix-valued call (poly, bs); brms's rename() then drops
# ' ', '(', ')', ',', quotes and spells '+ - * / ^ =' as 'P M MU D E EQ' (R/misc.R).
_X = np.array([0.5, 1.0, 2.0, 3.0, 4.5, 6.0, 7.0, 9.0])
NAMED_TERMS = [
    ("log(x)", ["logx"], lambda x: [np.log(x)]),  # R column 'log(x)'
    ("log2(x)", ["log2x"], lambda x: [np.log2(x)]),
    ("log10(x)", ["log10x"], lambda x: [np.log10(x)]),
    ("log1p(x)", ["log1px"], lambda x: [np.log1p(x)]),
    ("exp(x)", ["expx"], lambda x: [np.exp(x)]),
    ("expm1(x)", ["expm1x"], lambda x: [np.expm1(x)]),
    ("sqrt(x)", ["sqrtx"], lambda x: [np.sqrt(x)]),
    ("abs(x)", ["absx"], lambda x: [np.abs(x)]),
    ("sin(x)", ["sinx"], lambda x: [np.sin(x)]),
    ("cos(x)", ["cosx"], lambda x: [np.cos(x)]),
    ("tan(x)", ["tanx"], lambda x: [np.tan(x)]),
    ("round(x)", ["roundx"], lambda x: [np.round(x)]),  # R rounds half to even too: 0.5 -> 0, 4.5 -> 4
    ("floor(x)", ["floorx"], lambda x: [np.floor(x)]),
    ("ceiling(x)", ["ceilingx"], lambda x: [np.ceil(x)]),
    ("inv_logit(x)", ["inv_logitx"], lambda x: [1 / (1 + np.exp(-x))]),  # brms's inv_logit; '_' is kept
    ("logit(p)", ["logitp"], lambda x: [np.log(x / 10 / (1 - x / 10))]),
    ("I(x^2)", ["IxE2"], lambda x: [x**2]),  # 'I(x^2)': '^' -> 'E'
    ("I(x * 2)", ["IxMU2"], lambda x: [x * 2]),  # 'I(x * 2)': '*' -> 'MU', spaces dropped
    ("log(x + 1)", ["logxP1"], lambda x: [np.log(x + 1)]),  # '+' -> 'P'
    ("I(x - 1)", ["IxM1"], lambda x: [x - 1]),  # '-' -> 'M'
    ("I(x/2)", ["IxD2"], lambda x: [x / 2]),  # '/' -> 'D'
    # R's scale(): (x - mean) / sd, the sd with n - 1; one column named 'scale(x)'
    ("scale(x)", ["scalex"], lambda x: [(x - x.mean()) / x.std(ddof=1)]),
    # scale(x, center = FALSE) divides by the root mean square with n - 1
    ("scale(x, center = FALSE)", ["scalexcenterEQFALSE"], lambda x: [x / np.sqrt((x**2).sum() / (len(x) - 1))]),
    # poly(): columns 'poly(x, 2)1', 'poly(x, 2)2' (numbered from 1)
    ("poly(x, 2)", ["polyx21", "polyx22"], None),
    # raw = TRUE: 'poly(x, 2, raw = TRUE)1' -> '=' spelled 'EQ'; the columns are x and x^2
    ("poly(x, 2, raw = TRUE)", ["polyx2rawEQTRUE1", "polyx2rawEQTRUE2"], lambda x: [x, x**2]),
    # R's T is TRUE, and the column name keeps the spelling: 'poly(x, 2, raw = T)1'
    ("poly(x, 2, raw = T)", ["polyx2rawEQT1", "polyx2rawEQT2"], lambda x: [x, x**2]),
    ("scale(x, center = F)", ["scalexcenterEQF"], lambda x: [x / np.sqrt((x**2).sum() / (len(x) - 1))]),
    # splines::bs(x, df = 3): 'bs(x, df = 3)1' ... '3'
    ("bs(x, df = 3)", ["bsxdfEQ31", "bsxdfEQ32", "bsxdfEQ33"], None),
    # factor(cyl): treatment contrasts, 'factor(cyl)6', 'factor(cyl)8'
    ("factor(cyl)", ["factorcyl6", "factorcyl8"], None),
    ("as.factor(cyl)", ["as.factorcyl6", "as.factorcyl8"], None),  # '.' is no character rename() touches
    ("factor(w)", ["factorw6", "factorw8"], None),  # w = cyl as doubles: R's labels are '6', '8'
    ("factor(s)", ["factorsb", "factorsB"], None),  # text levels in R's order: 'a' < 'b' < 'B'

    # no main effect of factor(cyl): R codes it by indicators of every level inside the interaction
    ("x:factor(cyl)", ["x:factorcyl4", "x:factorcyl6", "x:factorcyl8"], None),
    # C(g) on a factor g: the factor with its default (treatment) contrasts, 'C(g)b'
    ("C(g)", ["Cgb"], lambda x: [np.tile([0.0, 1.0], 4)]),
]


@pytest.mark.parametrize("term, names, columns", NAMED_TERMS, ids=[t[0] for t in NAMED_TERMS])
def test_every_formula_function_gets_rs_column_name(term: str, names: list[str], columns) -> None:
    df = pd.DataFrame({"y": np.linspace(0, 1, len(_X)), "x": _X, "p": _X / 10,
                       "cyl": [4, 6, 8, 4, 6, 8, 4, 6], "w": [4.0, 6.0, 8.0, 4.0, 6.0, 8.0, 4.0, 6.0],
                       "s": list("abBabBab"), "g": pd.Categorical(list("abababab"))})
    lp = mu(f"y ~ {term}", df)
    assert lp.b_names == names
    if columns is not None:
        np.testing.assert_allclose(lp.X[:, 1:], np.column_stack(columns(_X)), rtol=1e-12)


def test_every_allowed_function_has_a_naming_test() -> None:
    """formula.SAFE_FUNCTIONS minus the ones formulae adds (not R's) and offset (no column)."""
    tested = {t.split("(")[0] for t, _, _ in NAMED_TERMS}
    assert brmc.formula.SAFE_FUNCTIONS - {"center", "standardize", "offset"} <= tested


def test_poly_columns_are_rs_orthonormal_polynomials_and_priors_land_on_them() -> None:
    """R's poly(): QR of the centred Vandermonde matrix, each column times the sign of R's
    diagonal and scaled to unit length (stats::poly); computed here with NumPy's QR."""
    df = pd.DataFrame({"y": np.linspace(0, 1, len(_X)), "x": _X})
    md = model_data("y ~ poly(x, 3)", df)
    q, r = np.linalg.qr(np.vander(_X - _X.mean(), 4, increasing=True))
    expected = (q * np.sign(np.diag(r)))[:, 1:]
    np.testing.assert_allclose(md.predictors["mu"].X[:, 1:], expected, atol=1e-12)
    spec = brmc.priors.resolve_priors(md, [brmc.prior("normal(0, 1)", class_="b", coef="polyx31")])
    table = brmc.priors.prior_summary_table(md, spec).set_index(["class", "coef"])
    assert md.predictors["mu"].b_names == ["polyx31", "polyx32", "polyx33"]
    assert table.loc[("b", "polyx31"), "prior"] == "normal(0, 1)"  # the linear term, first column
    assert table.loc[("b", "polyx32"), "prior"] == ""


def test_factor_of_a_text_response_still_reads_the_column() -> None:
    inhaler = brmc.datasets.load("inhaler")
    md = build_data(parse_formula("factor(rating) ~ treat"), inhaler, get_family("cumulative"))
    assert md.response_levels == ["1", "2", "3", "4"]
    md = build_data(parse_formula("as.factor(rating) ~ treat"), inhaler, get_family("cumulative"))
    assert md.response_levels == ["1", "2", "3", "4"]


def test_trials_of_arithmetic_on_columns() -> None:
    """brms's esoph example writes trials(ncases + ncontrols): the sum per row, also for new data;
    unknown or text columns are named, and the text is never run as code."""
    d = pd.DataFrame({"ncases": [0, 2, 5, 1], "ncontrols": [10, 8, 5, 9], "x": [0.1, 0.5, -0.2, 0.3],
                      "label": list("abcd")})
    binomial = get_family("binomial")
    md = build_data(parse_formula("ncases | trials(ncases + ncontrols) ~ x"), d, binomial)
    np.testing.assert_array_equal(md.additions["trials"], [10, 10, 10, 10])
    md = build_data(parse_formula("ncases | trials(2 * ncontrols - 1) ~ x"), d, binomial)
    np.testing.assert_array_equal(md.additions["trials"], [19, 15, 9, 17])
    with pytest.raises(DataError, match="'nope' that is not in the data|'nope' is not a column"):
        brmc.make_model("ncases | trials(ncases + nope) ~ x", d, family="binomial")
    with pytest.raises(DataError, match="text column"):
        brmc.make_model("ncases | trials(ncases + label) ~ x", d, family="binomial")
    with pytest.raises(BrmsError):
        brmc.make_model("ncases | trials(ncases.__class__) ~ x", d, family="binomial")
