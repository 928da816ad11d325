"""mvbind()/mvbf()/set_rescor() as data, and the residual-correlation likelihood against SciPy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats

import brmc
from brmc.errors import FamilyError, FormulaError
from brmc.multivariate import (
    MultivariateFormula,
    multi_normal_rescor_lpdf,
    multi_student_rescor_lpdf,
    mvbf,
    rescor_names,
    rescor_values,
    resp_name,
    set_rescor,
    split_mvbind,
)
from tests.conftest import reference_csv, reference_standata


@pytest.mark.parametrize("text, expected", [
    ("mvbind(english, math) ~ craven + (1 | p | school)",
     ["english ~ craven + (1 | p | school)", "math ~ craven + (1 | p | school)"]),
    ("mvbind(y1, y2, y3) | weights(w) ~ x", ["y1 | weights(w) ~ x", "y2 | weights(w) ~ x", "y3 | weights(w) ~ x"]),
    ("y ~ x", ["y ~ x"]),
])
def test_split_mvbind(text, expected) -> None:
    assert split_mvbind(text) == expected


@pytest.mark.parametrize("text, message", [
    ("mvbind(y1) ~ x", "needs at least two responses"),
    ("mvbind(y1, y1) ~ x", "same response variable twice"),
    ("mvbind(y1, log(y2)) ~ x", "takes response variables (names), not 'log ( y2 )'"),
    ("mvbind(y1, y2) + z ~ x", "Only addition terms"),
    ("mvbind(y1, y2)", "one '~'"),
])
def test_split_mvbind_errors(text, message) -> None:
    with pytest.raises(FormulaError) as err:
        split_mvbind(text)
    assert message in str(err.value)


def test_mvbf_and_set_rescor() -> None:
    f = mvbf("english ~ craven + (1 | school)", "math ~ craven + social + (1 | school)") + set_rescor(False)
    assert isinstance(f, MultivariateFormula)
    assert (f.responses, f.rescor) == (["english", "math"], False)
    assert (mvbf(f, "y3 ~ x").responses, mvbf(f, "y3 ~ x").rescor) == (["english", "math", "y3"], False)
    assert (mvbf("mvbind(a, b) ~ x", rescor=True) + "c_1 ~ z").responses == ["a", "b", "c1"]
    parsed = brmc.bf("y1 ~ x")  # formula objects are kept as given; their .response names them
    assert mvbf(parsed, "y2 ~ x").forms["y1"] is parsed
    with pytest.raises(FormulaError, match="only possible in multivariate models"):
        _ = "y ~ x" + set_rescor(True)
    with pytest.raises(FormulaError, match="same response variable twice"):
        mvbf("y ~ x", "y | se(s) ~ z")
    with pytest.raises(FormulaError, match="Cannot add two multivariate formulas"):
        _ = f + mvbf("a ~ 1", "b ~ 1")
    with pytest.raises(FormulaError, match="TRUE or FALSE"):
        set_rescor("yes")
    with pytest.raises(FormulaError, match="No formulas"):
        mvbf()


def test_resolve_rescor_as_brms() -> None:
    unset = mvbf("y1 ~ x", "y2 ~ x")
    with pytest.warns(UserWarning, match="Setting 'rescor' to TRUE by default"):
        assert unset.resolve_rescor(["gaussian", "gaussian"]) is True
    with pytest.warns(UserWarning, match="to FALSE by default"):
        assert unset.resolve_rescor(["gaussian", "poisson"]) is False
    with pytest.warns(UserWarning, match="to FALSE by default"):
        assert unset.resolve_rescor(["gaussian", "gaussian"], has_mi=True) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert (unset + set_rescor(True)).resolve_rescor(["student", "student"]) is True
    with pytest.raises(FamilyError, match="only possible in multivariate gaussian or student models"):
        (unset + set_rescor(True)).resolve_rescor(["gaussian", "student"])


def test_names_match_brms_mv_jsp() -> None:
    """mv_jsp: brms's data hold Y_<resp> per response, its draws rescor__english__math."""
    f = mvbf("mvbind(english, math) ~ craven + (1 | p | school)") + set_rescor(True)
    standata = reference_standata("mv_jsp")
    assert [f"Y_{r}" for r in f.responses] == [k for k in standata if k.startswith("Y_")]
    assert int(standata["nrescor"][0]) == len(rescor_names(f.responses))
    variables = set(reference_csv("mv_jsp", "draws_summary.csv")["variable"])
    assert set(rescor_names(f.responses)) == {v for v in variables if v.startswith("rescor")}
    assert resp_name("y_1.b") == "y1b"


def _random_corr_cholesky(rng: np.random.Generator, size: int) -> np.ndarray:
    a = rng.normal(size=(size, size + 2))
    cov = a @ a.T
    d = np.sqrt(np.diag(cov))
    return np.linalg.cholesky(cov / np.outer(d, d))


@pytest.mark.parametrize("size", [2, 3])
def test_rescor_likelihood_matches_scipy(size) -> None:
    rng = np.random.default_rng(size)
    n = 9
    chol = _random_corr_cholesky(rng, size)
    y, mu = rng.normal(size=(n, size)), rng.normal(size=(n, size))
    corr = chol @ chol.T
    sigma = rng.uniform(0.5, 2.0, size)
    expected = scipy.stats.multivariate_normal(np.zeros(size), np.outer(sigma, sigma) * corr).logpdf(y - mu).sum()
    np.testing.assert_allclose(float(multi_normal_rescor_lpdf(y, mu, sigma, chol).eval()), expected, rtol=1e-10)
    sigma_rows = rng.uniform(0.5, 2.0, (n, size))  # predicted sigma: one covariance per row
    expected_rows = sum(
        scipy.stats.multivariate_normal(mu[i], np.outer(sigma_rows[i], sigma_rows[i]) * corr).logpdf(y[i])
        for i in range(n))
    np.testing.assert_allclose(float(multi_normal_rescor_lpdf(y, mu, sigma_rows, chol).eval()), expected_rows,
                               rtol=1e-10)
    upper = [corr[j, k] for k in range(size) for j in range(k)]
    np.testing.assert_allclose(rescor_values(chol).eval(), upper, rtol=1e-12)


def test_student_rescor_likelihood_matches_scipy() -> None:
    rng = np.random.default_rng(11)
    n, size, nu = 8, 3, 4.5
    chol = _random_corr_cholesky(rng, size)
    y, mu = rng.normal(size=(n, size)), rng.normal(size=(n, size))
    sigma_rows = rng.uniform(0.5, 2.0, (n, size))
    corr = chol @ chol.T
    expected = sum(scipy.stats.multivariate_t(mu[i], np.outer(sigma_rows[i], sigma_rows[i]) * corr, df=nu).logpdf(y[i])
                   for i in range(n))
    lp = float(multi_student_rescor_lpdf(y, nu, mu, sigma_rows, chol).eval())
    np.testing.assert_allclose(lp, expected, rtol=1e-10)
