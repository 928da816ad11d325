"""What the docstring examples of ``src/brmc`` may use without defining it, for
``python -m pytest --doctest-modules src/brmc`` (pytest's ``doctest_namespace``):
``brmc``, ``np``, ``pd``, ``df`` (sleepstudy), ``fit`` (a small sleepstudy fit), ``fit_smooth``
(a small fit of ``accel ~ s(times)`` on mcycle), ``mvfit`` (a multivariate fit of brms's mv_jsp
model) and ``tmp`` (a scratch folder for the files an example writes).

``tests/test_docstrings.py`` runs the same examples with the same names for the
README's ``python -m pytest``.  This file sits outside the package: it is not installed.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import brmc  # noqa: E402

#: The examples' fit: the settings of the tests' shared fit (tests/conftest.py).
SLEEP = "Reaction ~ Days + (Days | Subject)"
SETTINGS = {"chains": 2, "iter": 400, "seed": 11, "progress": False}


@pytest.fixture(scope="session")
def _example_fit() -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm(SLEEP, brmc.datasets.load("sleepstudy"), **SETTINGS)


@pytest.fixture(scope="session")
def _example_fit_smooth() -> brmc.Fit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return brmc.brm("accel ~ s(times)", brmc.datasets.load("mcycle"), **{**SETTINGS, "seed": 3})


#: The multivariate examples' fit (``mvfit``): brms's mv_jsp model, its draws the initial values (quick to make).
MV_JSP = "mvbind(english, math) ~ craven + (1 | p | school)"
MV_SETTINGS = {"chains": 2, "iter": 200, "seed": 11, "progress": False, "algorithm": "fixed_param"}


@pytest.fixture(scope="session")
def _example_mvfit() -> brmc.Fit:
    formula = brmc.bf(MV_JSP) + brmc.set_rescor(True)
    return brmc.brm(formula, brmc.datasets.load("jspr"), **MV_SETTINGS)


@pytest.fixture(autouse=True)
def _examples_namespace(request: pytest.FixtureRequest, doctest_namespace: dict, tmp_path: Path):
    """Fill the namespace of every docstring example (fitting only for examples that use
    ``fit``); close the figures an example drew."""
    examples = getattr(getattr(request.node, "dtest", None), "examples", [])
    if any("fit" in example.source for example in examples):
        doctest_namespace["fit"] = request.getfixturevalue("_example_fit")
    if any("fit_smooth" in example.source for example in examples):
        doctest_namespace["fit_smooth"] = request.getfixturevalue("_example_fit_smooth")
    if any("mvfit" in example.source for example in examples):
        doctest_namespace["mvfit"] = request.getfixturevalue("_example_mvfit")
    doctest_namespace.update(brmc=brmc, np=np, pd=pd, df=brmc.datasets.load("sleepstudy"), tmp=tmp_path)
    yield
    plt.close("all")
