"""The tests carry their own ground truth: a clone with nothing beside it passes them.

No test names a path outside the repository, every file under ``tests/reference``
is listed (with its origin) in that folder's README and the other way round, the
reference models have the files the tests read, and a parametrised test whose
list of cases comes out empty fails at collection instead of passing untested.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from brmc.datasets import REFERENCE_MODELS

from .conftest import REFERENCE, reference_path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
#: Spellings of a path that leaves the repository: the shared folder beside a checkout, the
#: developers' absolute root, and climbs above the repository root.  Built from parts so that this
#: file, which reads nothing outside ``tests/``, does not itself hold them.
SHARED_DIR = "sha" + "red"
OUTSIDE = (f"../{SHARED_DIR}", f"/{SHARED_DIR}/", "/" + "work/", "parents[1]" + ".parent", "parents" + "[2]",
           ".parent" * 3)
#: What every round-1 reference model must carry (the tests read each of these).
MODEL_FILES = ("get_prior.csv", "draws_summary.csv", "ranef_summary.csv", "summary.txt", "prior_summary.txt",
               "post/fixef.csv", "post/fitted_head20.csv", "post/fitted_noRE_head20.csv", "post/loo.txt",
               "post/loo_estimates.csv")


def test_no_test_names_a_path_outside_the_repository() -> None:
    assert REFERENCE.is_relative_to(ROOT)
    for path in sorted(TESTS.rglob("*.py")):
        if path == Path(__file__).resolve():
            continue
        found = [p for p in OUTSIDE if p in path.read_text()]
        assert not found, f"{path.relative_to(ROOT)} names a path outside the repository: {found}"


def test_reference_readme_lists_every_file() -> None:
    readme = (REFERENCE / "README.md").read_text()
    listed = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    present = {str(p.relative_to(REFERENCE)) for p in REFERENCE.rglob("*") if p.is_file() and p.name != "README.md"}
    assert not present - listed, f"files in tests/reference without a README row: {sorted(present - listed)}"
    assert not listed - present, f"README rows without a file: {sorted(listed - present)}"


@pytest.mark.parametrize("model", sorted(REFERENCE_MODELS))
def test_reference_models_carry_their_files(model: str) -> None:
    for name in MODEL_FILES:
        reference_path(model, *name.split("/"))


def test_an_empty_list_of_cases_fails_collection(tmp_path: Path) -> None:
    case = tmp_path / "test_empty.py"
    case.write_text("import pytest\n\n\n@pytest.mark.parametrize('model', [])\ndef test_model(model):\n    pass\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
                          str(tmp_path), "-p", "no:cacheprovider", "-q", str(case)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0, run.stdout
    assert "Empty parameter set" in run.stdout, run.stdout
