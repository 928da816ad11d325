"""Posterior agreement with brms 2.18's reference fits (4 chains × 1,000 after 1,000).

Means must agree within 0.15 posterior sd (or within 4 Monte Carlo standard
errors of the difference where either side's Bulk_ESS is low) and posterior
sds within 20 %; the summary must have brms's sections, row labels and columns.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import brmc
from brmc.summary import summarise_draws

from .conftest import REFERENCE, reference_csv

pytestmark = pytest.mark.reference
_FITS: dict[str, brmc.Fit] = {}


def fitted(name: str) -> brmc.Fit:
    """Fit a reference model once per test session, with brms's settings."""
    if name not in _FITS:
        formula, dataset, family = brmc.datasets.REFERENCE_MODELS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _FITS[name] = brmc.brm(formula, brmc.datasets.load(dataset), family=family, chains=4, iter=2000,
                                   warmup=1000, seed=1234, progress=False)
    return _FITS[name]


def agreement(name: str) -> list[str]:
    """Every b_/sd_/cor_/sigma parameter that disagrees with brms, with the numbers."""
    fit = fitted(name)
    ref = reference_csv(name, "draws_summary.csv").set_index("variable")
    wanted = [v for v in ref.index if re.match(r"^(b_|sd_|cor_|sigma$)", v)]
    assert wanted, name
    post = fit.idata.posterior
    problems = []
    for var in wanted:
        assert var in post, f"{var} missing from the draws of {name}"
        ours = summarise_draws(post[var].values)
        mean_b, sd_b, ess_b = (float(ref.loc[var, c]) for c in ("mean", "sd", "ess_bulk"))
        mcse = np.sqrt(sd_b**2 / ess_b + ours["Est.Error"] ** 2 / ours["Bulk_ESS"])
        tolerance = max(0.15 * sd_b, 4 * mcse)
        ratio = ours["Est.Error"] / sd_b
        if abs(ours["Estimate"] - mean_b) > tolerance or not 0.8 <= ratio <= 1.25:
            problems.append(f"{var}: mean {ours['Estimate']:.4g} vs brms {mean_b:.4g} (tol {tolerance:.3g}), "
                            f"sd ratio {ratio:.3f}")
    return problems


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS))
def test_posterior_agrees_with_brms(name: str) -> None:
    assert agreement(name) == []


def skeleton(text: str) -> list[str]:
    """Summary text with numbers blanked and spacing folded: sections, labels, columns."""
    out = []
    for line in text.splitlines():
        if line.startswith("Warning:"):
            continue
        line = re.sub(r"-?\d+(\.\d+)?", "#", line)
        line = line.replace("sampling(NUTS)", "(NUTS)").replace("nutpie(NUTS)", "(NUTS)")
        out.append(" ".join(line.split()))
    return out


@pytest.mark.parametrize("name", sorted(brmc.datasets.REFERENCE_MODELS))
def test_summary_layout_matches_brms(name: str) -> None:
    ours = skeleton(str(fitted(name)))
    theirs = skeleton((REFERENCE / name / "summary.txt").read_text())
    assert ours == theirs
