"""Every docstring example in the package runs and prints what it says.

The examples may use ``brmc``, ``np``, ``pd``, ``df`` (sleepstudy), ``fit`` (the
tests' small sleepstudy fit), ``mvfit`` (brms's mv_jsp model, draws at its initial values; the
examples of :mod:`brmc.mvfit` and :mod:`brmc.mvmodel`) and ``tmp`` (a scratch folder), the names
``src/conftest.py`` gives them under ``pytest --doctest-modules src/brmc``.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import brmc

from .conftest import MV_JSP, MV_SETTINGS

MODULES = sorted(m.name for m in pkgutil.walk_packages(brmc.__path__, "brmc."))


@pytest.fixture(scope="session")
def mvfit() -> brmc.Fit:
    """The multivariate examples' fit (src/conftest.py's): mv_jsp, its draws the initial values."""
    return brmc.brm(brmc.bf(MV_JSP) + brmc.set_rescor(True), brmc.datasets.load("jspr"), **MV_SETTINGS)


@pytest.mark.parametrize("name", ["brmc", *MODULES])
def test_docstring_examples(name: str, fit: brmc.Fit, tmp_path: Path, close_figures, request: pytest.FixtureRequest
                            ) -> None:
    module = importlib.import_module(name)
    names = {"brmc": brmc, "np": np, "pd": pd, "df": brmc.datasets.load("sleepstudy"), "fit": fit, "tmp": tmp_path}
    if "fit_smooth" in inspect.getsource(module):  # fitted only for the modules whose examples use it
        names["fit_smooth"] = request.getfixturevalue("fit_smooth")
    if "mvfit" in inspect.getsource(module):
        names["mvfit"] = request.getfixturevalue("mvfit")
    result = doctest.testmod(module, extraglobs=names, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
