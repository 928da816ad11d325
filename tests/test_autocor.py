"""ar()/ma()/arma()/cosy(): term parsing, brms 2.18's data (against its standata) and the likelihoods.

The likelihoods are checked against independent computations: each group's series is multivariate
normal with a covariance built here with dense matrices (the regression ARMA's conditional
covariance ``(I - A)^-1 (I + M) S (I + M)' (I - A)^-T``; the stationary AR(1), MA(1), ARMA(1, 1)
autocovariances from the MA(infinity) weights; compound symmetry), evaluated with SciPy, and against
brms's Stan loop transcribed line by line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
import pytest
import scipy.stats

import brmc
from brmc.autocor import (
    AutocorTerm,
    TimeSeries,
    autocor_data,
    group_codes,
    order_rows,
    parse_autocor,
)
from brmc.autocor_lik import (
    arma_mu,
    cholesky_cor_ar1,
    cholesky_cor_arma1,
    cholesky_cor_cosy,
    cholesky_cor_ma1,
    normal_arma_lpdf,
    normal_time_lpdf,
    student_time_lpdf,
)
from brmc.errors import DataError, FormulaError
from tests.conftest import reference_path, reference_standata

# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize("text, expected", [
    ("ar(time = Days, gr = Subject, p = 1)", ("arma", "Days", "Subject", 1, 0, False)),
    ("ar(Days, Subject, 2)", ("arma", "Days", "Subject", 2, 0, False)),
    ("ar()", ("arma", None, None, 1, 0, False)),
    ("ma(gr = g, q = 2)", ("arma", None, "g", 0, 2, False)),
    ("arma(t, g, 1, 1, TRUE)", ("arma", "t", "g", 1, 1, True)),
    ("arma(p = 2, t, q = 0)", ("arma", "t", None, 2, 0, False)),
    ("ar(time = t, cov = T)", ("arma", "t", None, 1, 0, True)),
    ("cosy(time = Days, gr = Subject)", ("cosy", "Days", "Subject", 0, 0, True)),
    ("cosy(gr = NA)", ("cosy", None, None, 0, 0, True)),
])
def test_parse_autocor(text, expected) -> None:
    term = parse_autocor(text)
    assert (term.cls, term.time, term.gr, term.p, term.q, term.cov) == expected
    assert term.label == text


@pytest.mark.parametrize("text, message", [
    ("car(M)", "Unknown autocorrelation term car(); brms's time-series terms are arma(), ar(), ma(), cosy()"),
    ("ar(lag = 2)", "Unknown argument 'lag' in ar(lag = 2); ar() takes time, gr, p, cov."),
    ("ar(p = -1)", "Autoregressive order must be a non-negative integer, not '-1'"),
    ("ar(p = 1.5)", "Autoregressive order must be a non-negative integer"),
    ("ma(q = 0)", "At least one of 'p' and 'q' should be greater zero"),
    ("arma(p = 2, q = 1, cov = TRUE)", "only possible for effects of maximal order one"),
    ("ar(cov = maybe)", "'cov' must be TRUE or FALSE"),
    ("ar(time = log(t))", "each argument must be one name or number"),
    ("ar(t, g, 1, FALSE, 3)", "Too many arguments"),
    ("ar(p = 1, p = 2)", "given twice"),
    ("ar(time = 3)", "Cannot coerce '3' to a single variable name"),
    ("ar(t,, g)", "Empty argument"),
    ("Days", "is not an autocorrelation term"),
])
def test_parse_autocor_errors(text, message) -> None:
    with pytest.raises(FormulaError) as err:
        parse_autocor(text)
    assert message in str(err.value)


# --------------------------------------------------------------------------- data against brms


@pytest.fixture(scope="module")
def shuffled_sleep() -> pd.DataFrame:
    """sleepstudy in a random row order: brms's ordering must restore the group/time order."""
    sleep = brmc.datasets.load("sleepstudy")
    return sleep.sample(frac=1.0, random_state=np.random.default_rng(7)).reset_index(drop=True)


@pytest.mark.parametrize("case, term", [
    ("ar_sleep", "ar(time = Days, gr = Subject, p = 1)"),
    ("arma_sleep", "arma(time = Days, gr = Subject, p = 1, q = 1)"),
    ("cosy_sleep", "cosy(time = Days, gr = Subject)"),
])
def test_data_match_brms_standata(shuffled_sleep, case, term) -> None:
    standata = reference_standata(case)
    parsed = parse_autocor(term)
    ordered = shuffled_sleep.iloc[order_rows(parsed, shuffled_sleep)]
    np.testing.assert_allclose(ordered["Reaction"], standata["Y"])
    np.testing.assert_array_equal(ordered["Days"], standata["X"][:, 1])
    data = autocor_data(parsed, ordered)
    brms_keys = {"Kar", "Kma", "J_lag", "N_tg", "begin_tg", "nobs_tg", "end_tg"} & set(standata)
    assert set(data) == brms_keys
    for key in brms_keys:
        np.testing.assert_array_equal(np.ravel(data[key]), np.ravel(standata[key]), err_msg=key)


def test_j_lag_with_higher_orders_and_short_groups() -> None:
    """J_lag[n] counts the rows n, n-1, ..., n+1-max_lag in row n+1's group (brms's data_ac loop)."""
    frame = pd.DataFrame({"g": [0, 0, 0, 0, 1, 2, 2, 2], "t": [1, 2, 3, 4, 1, 1, 2, 3]})
    j_lag = autocor_data(parse_autocor("arma(t, g, p = 3, q = 1)"), frame)["J_lag"]
    tgroup, n, max_lag = frame["g"].to_numpy(), len(frame), 3
    expected = np.zeros(n, dtype=int)
    for i in range(1, n):  # brms: for (n in seq_len(N)[-N]) with 1-based rows; here 0-based
        rows = np.arange(i - 1, max(0, i - max_lag) - 1, -1)
        expected[i - 1] = np.sum(tgroup[rows] == tgroup[i])
    np.testing.assert_array_equal(j_lag, expected)
    np.testing.assert_array_equal(j_lag, [1, 2, 3, 0, 0, 1, 2, 0])


def test_ordering_by_factor_levels_and_without_time() -> None:
    frame = pd.DataFrame({"g": pd.Categorical(["b", "a", "b", "a"], categories=["b", "a"]), "t": [2, 2, 1, 1]})
    np.testing.assert_array_equal(order_rows(parse_autocor("ar(t, g)"), frame), [2, 0, 3, 1])
    np.testing.assert_array_equal(order_rows(parse_autocor("ar(gr = g)"), frame), [0, 2, 1, 3])
    np.testing.assert_array_equal(group_codes(parse_autocor("ar(gr = g)"), frame), [0, 1, 0, 1])  # level order


def test_data_errors() -> None:
    frame = pd.DataFrame({"g": [1, 1, 2], "t": [1, 1, 1], "s": ["a", "b", "c"]})
    with pytest.raises(DataError, match="Time points within groups must be unique .* row 2 repeats the time 1"):
        order_rows(parse_autocor("ar(t, g)"), frame)
    with pytest.raises(DataError, match="The grouping variable 'h' of ar\\(t, h\\) is not a column"):
        order_rows(parse_autocor("ar(t, h)"), frame)
    with pytest.raises(DataError, match="time variable 's' .* must be numeric"):
        order_rows(parse_autocor("ar(s, g)"), frame)
    with pytest.raises(DataError, match="not ordered by 'g'"):
        autocor_data(parse_autocor("ar(gr = g)"), frame.iloc[::-1])


# --------------------------------------------------------------------------- likelihood

GROUPS = np.repeat([0, 1, 2, 3], [5, 3, 7, 1])
SERIES = TimeSeries.from_groups(GROUPS)
RNG = np.random.default_rng(2024)
Y = RNG.normal(size=GROUPS.size) * 2 + 1
ETA = RNG.normal(size=GROUPS.size)
SIGMA_ROWS = RNG.uniform(0.5, 2.0, GROUPS.size)


def _shift(n: int, lag: int) -> np.ndarray:
    return np.eye(n, k=-lag)


def _conditional_cov(n: int, ar: np.ndarray, ma: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Covariance of r = y - eta under r_t = sum ar_i r_(t-i) + e_t + sum ma_j e_(t-j), zero before t = 1."""
    a = sum((c * _shift(n, i + 1) for i, c in enumerate(ar)), np.zeros((n, n)))
    m = sum((c * _shift(n, j + 1) for j, c in enumerate(ma)), np.zeros((n, n)))
    left = np.linalg.solve(np.eye(n) - a, np.eye(n) + m)
    return left @ np.diag(sd**2) @ left.T


def _mvn_sum(cov_of, resid: np.ndarray) -> float:
    total = 0.0
    for g in np.unique(GROUPS):
        rows = np.flatnonzero(GROUPS == g)
        total += scipy.stats.multivariate_normal(np.zeros(rows.size), cov_of(rows)).logpdf(resid[rows])
    return float(total)


def _brms_stan_loop(y, eta, ar, ma, j_lag) -> np.ndarray:
    """brms 2.18's model block for ARMA, transcribed (0-based)."""
    n, kar, kma = y.size, len(ar), len(ma)
    err_mat = np.zeros((n + 1, max(kar, kma)))
    err = np.zeros(n)
    mu = eta.copy()
    for i in range(n):
        mu[i] += err_mat[i, :kma] @ ma
        err[i] = y[i] - mu[i]
        for lag in range(1, j_lag[i] + 1):
            err_mat[i + 1, lag - 1] = err[i + 1 - lag]
        mu[i] += err_mat[i, :kar] @ ar
    return mu


ORDERS = [([0.6], []), ([0.5, -0.3], []), ([], [0.4]), ([], [0.3, 0.2]), ([0.6], [0.3]), ([0.4, 0.2], [-0.5])]


@pytest.mark.parametrize("ar, ma", ORDERS)
def test_regression_arma_matches_mvn_and_brms_loop(ar, ma) -> None:
    ar, ma = np.asarray(ar), np.asarray(ma)
    term = AutocorTerm("arma", None, "g", len(ar), len(ma), False, "arma()")
    j_lag = autocor_data(term, pd.DataFrame({"g": GROUPS}))["J_lag"]
    mu = arma_mu(Y, ETA, ar, ma, SERIES).eval()
    np.testing.assert_allclose(mu, _brms_stan_loop(Y, ETA, ar, ma, j_lag), rtol=1e-12)
    for sigma in (1.3, SIGMA_ROWS):
        lp = float(normal_arma_lpdf(Y, ETA, sigma, ar, ma, SERIES).eval())
        sd = np.broadcast_to(sigma, Y.shape)
        expected = _mvn_sum(lambda rows, sd=sd: _conditional_cov(rows.size, ar, ma, sd[rows]), Y - ETA)
        np.testing.assert_allclose(lp, expected, rtol=1e-10)


def _stationary_arma_cov(n: int, ar: float, ma: float, sigma: float) -> np.ndarray:
    """Autocovariances from the MA(infinity) weights psi_0 = 1, psi_j = (ar + ma) ar^(j - 1)."""
    psi = np.r_[1.0, (ar + ma) * ar ** np.arange(4000)]
    acov = np.array([psi[: psi.size - k] @ psi[k:] for k in range(n)]) * sigma**2
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return acov[lags]


@pytest.mark.parametrize("kind, ar, ma", [("ar1", 0.7, 0.0), ("ar1", -0.4, 0.0), ("ma1", 0.0, 0.6),
                                          ("arma1", 0.5, 0.3), ("arma1", -0.3, 0.8)])
def test_covariance_arma_matches_stationary_mvn(kind, ar, ma) -> None:
    longest, sigma = int(SERIES.nobs.max()), 1.7
    chol = {"ar1": lambda: cholesky_cor_ar1(ar, longest), "ma1": lambda: cholesky_cor_ma1(ma, longest),
            "arma1": lambda: cholesky_cor_arma1(ar, ma, longest)}[kind]()
    lp = float(normal_time_lpdf(Y, ETA, sigma, chol, SERIES).eval())
    expected = _mvn_sum(lambda rows: _stationary_arma_cov(rows.size, ar, ma, sigma), Y - ETA)
    np.testing.assert_allclose(lp, expected, rtol=1e-9)


@pytest.mark.parametrize("cosy", [0.0, 0.35, 0.9])
def test_cosy_matches_compound_symmetry_mvn(cosy) -> None:
    chol = cholesky_cor_cosy(cosy, int(SERIES.nobs.max()))
    for sigma in (0.8, SIGMA_ROWS):
        lp = float(normal_time_lpdf(Y, ETA, sigma, chol, SERIES).eval())
        sd = np.broadcast_to(sigma, Y.shape)

        def cov(rows, sd=sd):
            corr = np.full((rows.size, rows.size), cosy) + (1 - cosy) * np.eye(rows.size)
            return np.outer(sd[rows], sd[rows]) * corr

        np.testing.assert_allclose(lp, _mvn_sum(cov, Y - ETA), rtol=1e-10)


@pytest.mark.parametrize("nu", [2.5, 30.0])
def test_student_time_matches_scipy_multivariate_t(nu) -> None:
    """brms's student_t_time_het_lpdf: per group multi_student_t with scale diag(s) C diag(s)."""
    longest = int(SERIES.nobs.max())
    for chol, corr_of in [(cholesky_cor_cosy(0.4, longest), lambda n: np.full((n, n), 0.4) + 0.6 * np.eye(n)),
                          (cholesky_cor_ar1(0.5, longest), lambda n: _stationary_arma_cov(n, 0.5, 0.0, 1.0))]:
        lp = float(student_time_lpdf(Y, nu, ETA, SIGMA_ROWS, chol, SERIES).eval())
        expected = 0.0
        for g in np.unique(GROUPS):
            rows = np.flatnonzero(GROUPS == g)
            shape = np.outer(SIGMA_ROWS[rows], SIGMA_ROWS[rows]) * corr_of(rows.size)
            expected += scipy.stats.multivariate_t(ETA[rows], shape, df=nu).logpdf(Y[rows])
        np.testing.assert_allclose(lp, expected, rtol=1e-9)


def test_ar_sleep_likelihood_on_brms_data() -> None:
    """brms's ar_sleep data (J_lag, 18 series of 10 days): the regression AR(1) equals the MVN sum."""
    standata = reference_standata("ar_sleep")
    y = standata["Y"].astype(float)
    eta = 251.4 + 10.4 * standata["X"][:, 1]
    groups = standata["J_1"] - 1
    series = TimeSeries.from_groups(groups)
    lp = float(normal_arma_lpdf(y, eta, 25.0, [0.8], None, series).eval())
    expected = 0.0
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        cov = _conditional_cov(rows.size, np.array([0.8]), np.array([]), np.full(rows.size, 25.0))
        expected += scipy.stats.multivariate_normal(np.zeros(rows.size), cov).logpdf(y[rows] - eta[rows])
    np.testing.assert_allclose(lp, expected, rtol=1e-10)
    np.testing.assert_array_equal(arma_mu(y, eta, [0.8], None, series).eval(),
                                  _brms_stan_loop(y, eta, np.array([0.8]), np.array([]), standata["J_lag"]))


def _arma_and_cosy_lp(ar: np.ndarray, ma: np.ndarray, sigma: float, cosy: float) -> float:
    """The test's ARMA(2, 1) plus compound-symmetry log density, written with scipy."""
    arma = _mvn_sum(lambda rows: _conditional_cov(rows.size, ar, ma, np.full(rows.size, sigma)), Y - ETA)
    time = _mvn_sum(lambda rows: sigma**2 * (np.full((rows.size, rows.size), cosy) + (1 - cosy) * np.eye(rows.size)),
                    Y - ETA)
    return arma + time


def test_graphs_compile_to_jax_with_gradients() -> None:
    """The MA recursion (a scan) and the covariance form compile to JAX, the samplers' backend,
    with scipy's values (the multivariate normals above) and gradients equal to finite differences
    of scipy's.  (Only JAX compiles here: PyTensor's C compilation of the scan and its gradient
    took two minutes of CI's time.)"""
    ar, ma, sigma, cosy = pt.dvector("ar", shape=(2,)), pt.dvector("ma", shape=(1,)), pt.dscalar("s"), pt.dscalar("c")
    lp = (normal_arma_lpdf(Y, ETA, sigma, ar, ma, SERIES)
          + normal_time_lpdf(Y, ETA, sigma, cholesky_cor_cosy(cosy, int(SERIES.nobs.max())), SERIES))
    inputs = [ar, ma, sigma, cosy]
    point = [np.array([0.3, -0.2]), np.array([0.4]), 1.3, 0.25]
    value, *grads = pytensor.function(inputs, [lp, *pytensor.grad(lp, inputs)], mode="JAX")(*point)
    np.testing.assert_allclose(float(value), _arma_and_cosy_lp(*point), rtol=1e-10)
    step = 1e-6
    numeric = [(_arma_and_cosy_lp(np.array([0.3 + step, -0.2]), *point[1:])
                - _arma_and_cosy_lp(np.array([0.3 - step, -0.2]), *point[1:])) / (2 * step),
               (_arma_and_cosy_lp(point[0], np.array([0.4 + step]), *point[2:])
                - _arma_and_cosy_lp(point[0], np.array([0.4 - step]), *point[2:])) / (2 * step),
               (_arma_and_cosy_lp(*point[:3], 0.25 + step) - _arma_and_cosy_lp(*point[:3], 0.25 - step)) / (2 * step)]
    np.testing.assert_allclose([np.asarray(grads[0])[0], np.asarray(grads[1])[0], float(grads[3])], numeric, rtol=1e-5)


def test_ar_sleep_mu_at_brms_posterior_means_matches_brms_fitted() -> None:
    """arma_mu at brms's posterior means against brms's fitted() means (first 40 rows, AR(1) within
    Subject): at most 0.24 posterior sd apart (the plug-in misses only the posterior covariance of
    ar with the intercepts); without the AR term the rows are up to 10.6 sd off."""
    standata = reference_standata("ar_sleep")
    fitted = pd.read_csv(reference_path("ar_sleep", "fitted_head40.csv"))
    draws = pd.read_csv(reference_path("ar_sleep", "draws_summary.csv")).set_index("variable")["mean"]
    r_subject = pd.read_csv(reference_path("ar_sleep", "ranef_summary.csv"))["mean"].to_numpy()
    groups = standata["J_1"] - 1
    eta = draws["b_Intercept"] + draws["b_Days"] * standata["X"][:, 1] + r_subject[groups]
    mu = arma_mu(standata["Y"].astype(float), eta, [draws["ar[1]"]], None, TimeSeries.from_groups(groups)).eval()
    distance = np.abs(mu[:40] - fitted["Estimate"]) / fitted["Est.Error"]
    assert distance.max() < 0.5
    assert distance[0] < 1e-6  # a series' first row has no lag: mu is linear in the parameters
