"""Bad input gets a BrmsError subclass whose message names the culprit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import brmc
from brmc.errors import BrmsError, DataError, FamilyError, FormulaError, PriorError, SamplingError

SLEEP = "Reaction ~ Days + (Days | Subject)"


@pytest.fixture(scope="module")
def sleep() -> pd.DataFrame:
    return brmc.datasets.load("sleepstudy")


def raises(cls: type[BrmsError], *needles: str):
    """Context manager asserting the error class and that the message names every needle."""

    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(cls)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            out = self.ctx.__exit__(*exc)
            for needle in needles:
                assert needle in str(self.info.value), (needle, str(self.info.value))
            return out

    return _Check()


def test_unknown_predictor_with_close_match(sleep) -> None:
    with raises(DataError, "'Dyas'", "Did you mean 'Days'"):
        brmc.get_prior("Reaction ~ Dyas + (1 | Subject)", sleep)


def test_unknown_response(sleep) -> None:
    with raises(DataError, "response", "'reaction'", "'Reaction'"):
        brmc.get_prior("reaction ~ Days", sleep)


def test_unknown_grouping_factor(sleep) -> None:
    with raises(DataError, "grouping factor", "'Subjects'", "'Subject'"):
        brmc.get_prior("Reaction ~ Days + (1 | Subjects)", sleep)


def test_syntax_error_with_position(sleep) -> None:
    with raises(FormulaError, "position"):
        brmc.get_prior("Reaction ~ Days + (Days | Subject", sleep)


def test_response_not_numeric_for_gaussian(sleep) -> None:
    with raises(FamilyError, "gaussian", "numeric", "'308'"):
        brmc.get_prior("Subject ~ Days", sleep)


def test_grouping_factor_with_one_level(sleep) -> None:
    one = sleep.assign(site="A")
    with raises(DataError, "'site'", "one level"):
        brmc.get_prior("Reaction ~ Days + (1 | site)", one)


def test_no_rows_left(sleep) -> None:
    empty = sleep.assign(Days=np.nan)
    with raises(DataError, "No rows are left", "Days"):
        brmc.get_prior(SLEEP, empty)


def test_empty_data_frame(sleep) -> None:
    with raises(DataError, "empty"):
        brmc.get_prior(SLEEP, sleep.iloc[:0])


def test_constant_predictor(sleep) -> None:
    with raises(DataError, "'k'", "constant"):
        brmc.get_prior("Reaction ~ k", sleep.assign(k=1.0))


def test_unknown_family(sleep) -> None:
    with raises(FamilyError, "'gausian'", "'gaussian'"):
        brmc.get_prior(SLEEP, sleep, family="gausian")


def test_unknown_link() -> None:
    with raises(FamilyError, "'logit'", "gaussian", "identity"):
        brmc.gaussian(link="logit")


def test_prior_on_missing_parameter(sleep) -> None:
    with raises(PriorError, "coef='Dys'", "class='b', coef='Days'", "Did you mean 'Days'"):
        brmc.make_model(SLEEP, sleep, prior=brmc.prior("normal(0, 10)", class_="b", coef="Dys"))


@pytest.mark.parametrize(
    "text, needle",
    [("normal(0, 10", "Malformed"), ("nromal(0, 10)", "Did you mean 'normal'"), ("normal(0)", "takes 2"),
     ("normal(0, -1)", "sigma must be positive"), ("normal(a, 1)", "numbers")],
)
def test_malformed_priors(text: str, needle: str) -> None:
    with raises(PriorError, needle):
        brmc.prior(text)


def test_prior_bounds_the_parameter_cannot_take(sleep) -> None:
    with raises(PriorError, "exponential(1)", "support", "lb"):
        brmc.make_model(SLEEP, sleep, prior=brmc.prior("exponential(1)", class_="b"))
    with raises(PriorError, "lower bound"):
        brmc.make_model(SLEEP, sleep, prior=brmc.prior("normal(0, 1)", class_="sd", lb=-1))
    with raises(PriorError, "lkj"):
        brmc.make_model(SLEEP, sleep, prior=brmc.prior("normal(0, 1)", class_="cor"))


@pytest.mark.parametrize(
    "kwargs, needle",
    [({"iter": 500, "warmup": 500}, "iter (500) must be larger than warmup (500)"),
     ({"chains": 0}, "chains must be at least 1"), ({"backend": "stan"}, "Unknown backend 'stan'"),
     ({"control": {"adapt_dleta": 0.9}}, "adapt_dleta")],
)
def test_bad_sampler_settings(sleep, kwargs: dict, needle: str) -> None:
    with raises(SamplingError, needle):
        brmc.brm(SLEEP, sleep, **kwargs)


def test_formula_runs_no_code(sleep, tmp_path) -> None:
    target = tmp_path / "pwned"
    with raises(FormulaError, "__"):
        brmc.brm(f'Reaction ~ __import__("os").system("touch {target}")', sleep)
    assert not target.exists()
    with raises(FormulaError, "'open'"):
        brmc.get_prior(f"Reaction ~ open({target})", sleep)
    assert not target.exists()


def test_user_function_via_env(sleep) -> None:
    tab = brmc.get_prior("Reaction ~ twice(Days)", sleep, env={"twice": lambda x: 2 * x})
    assert "twiceDays" in set(tab["coef"])


@pytest.mark.parametrize(
    "formula, needle",
    [(None, "must be a string"), ("y ~ (1 | log(g))", "grouping factor must be a column name"),
     ("y ~ x + car(M)", "car() is not supported yet"), ("y + z ~ x", "Only one response")],
)
def test_more_formula_refusals(formula, needle: str) -> None:
    with raises(FormulaError, needle):
        brmc.parse_formula(formula)


def test_addition_term_errors(sleep) -> None:
    with raises(DataError, "weights()", "'wt'"):
        brmc.get_prior("Reaction | weights(wt) ~ Days", sleep)
    with raises(DataError, "trials()", "'gaussian'", "binomial"):
        brmc.get_prior("Reaction | trials(Days) ~ Days", sleep)
    with raises(DataError, "binomial", "trials"):
        brmc.get_prior("Days ~ 1", sleep, family="binomial")


def test_data_shape_errors(sleep) -> None:
    with raises(DataError, "DataFrame", "list"):
        brmc.get_prior(SLEEP, [1, 2, 3])
    doubled = pd.concat([sleep, sleep[["Days"]]], axis=1)
    with raises(DataError, "more than one column named 'Days'"):
        brmc.get_prior(SLEEP, doubled)
    ordered = sleep.assign(o=pd.Categorical(np.where(sleep["Days"] > 4, "hi", "lo"), ordered=True))
    with raises(DataError, "contrasts['o']", "'sum'", "'treatment'", "'poly'"):
        brmc.get_prior("Reaction ~ o", ordered, contrasts={"o": "sum"})
    with raises(DataError, "'Days'", "numeric column", "'o'"):
        brmc.get_prior("Reaction ~ o + Days", ordered, contrasts={"Days": "poly"})
    with raises(DataError, "'Subject'", "not a factor the formula uses"):
        brmc.get_prior("Reaction ~ o", ordered, contrasts={"Subject": "poly"})
    with raises(DataError, "dict"):
        brmc.get_prior("Reaction ~ o", ordered, contrasts=["o"])


def test_family_response_errors(sleep) -> None:
    with raises(FamilyError, "poisson", "counts"):
        brmc.get_prior("Reaction ~ Days", sleep, family="poisson")
    with raises(FamilyError, "bernoulli"):
        brmc.get_prior("Days ~ 1", sleep, family="bernoulli")
    with raises(FamilyError, "beta", "between 0 and 1"):
        brmc.get_prior("Days ~ 1", sleep, family="beta")
    with raises(FamilyError, "cumulative", "at least 3"):
        brmc.get_prior("y ~ 1", pd.DataFrame({"y": [1, 2, 1, 2]}), family="cumulative")
    with raises(FamilyError, "dirichlet_multinomial", "not support yet"):
        brmc.get_family("dirichlet_multinomial")
    rats = brmc.datasets.load("rats")
    with raises(FamilyError, "successes no larger than trials"):
        brmc.get_prior("n | trials(m) ~ 1", rats.assign(m=rats["m"]), family="binomial")


def test_newdata_errors(fit) -> None:
    with raises(DataError, "missing values", "'Days'"):
        fit.fitted(pd.DataFrame({"Days": [np.nan], "Subject": ["308"]}))
    with raises(DataError, "non-empty"):
        fit.fitted(pd.DataFrame())
    with raises(DataError, "'Subj'", "Did you mean 'Subject'"):
        fit.fitted(pd.DataFrame({"Days": [1.0], "Subject": ["308"]}), re_formula="~ (1 | Subj)")


def test_slope_of_a_predictor_constant_within_groups_warns(sleep) -> None:
    # 'older' is a property of the subject: it never changes within a Subject.
    subjects = sleep["Subject"].cat.categories
    older = sleep["Subject"].map(dict(zip(subjects, [i % 2 for i in range(len(subjects))]))).astype(float)
    data = sleep.assign(older=older)
    with pytest.warns(UserWarning) as caught:
        brmc.get_prior("Reaction ~ Days + older + (Days + older | Subject)", data)
    (warning,) = [w for w in caught if "constant within every level" in str(w.message)]  # not 'Days'
    for needle in ("'older'", "(Days + older | Subject)", "'Subject'", "identified only by its prior",
                   "brms", "lme4", "singular"):
        assert needle in str(warning.message), needle
    assert warning.filename == __file__  # points at the caller, not into brmc


def test_slopes_that_vary_within_groups_do_not_warn(sleep) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        brmc.get_prior(SLEEP, sleep)
        brmc.get_prior("course ~ 1 + female + (1 + female | school)", brmc.datasets.load("gcse"))


def test_response_that_is_not_one_value_per_row() -> None:
    """Found by the data-stage fuzzer: a number as the response made no column."""
    rats = brmc.datasets.load("rats")
    with raises(DataError, "response '0'", "one value per row"):
        brmc.get_prior("0 | trials(n) ~ 1", rats, family="binomial")
