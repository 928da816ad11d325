"""Every script in examples/ runs (quick: few draws) and writes the figures its docs page shows.

Each script runs in its own process, as a user would run it, with ``BRMC_QUICK=1`` (2 chains x
400 iterations) and ``BRMC_FIGURES`` pointing at a temporary folder, so the checked-in figures in
docs/examples/img are never overwritten here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
IMAGES = ROOT / "docs" / "examples" / "img"


def test_examples_are_found() -> None:
    assert {p.stem for p in EXAMPLES} >= {"jsp_nested", "jsp_bivariate", "rats", "sleepstudy", "nested_crossed",
                                          "hsb", "gcse", "mcycle"}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "BRMC_QUICK": "1", "BRMC_FIGURES": str(tmp_path), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, f"{script.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    assert "Traceback" not in done.stdout
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    announced = sorted(re.findall(r"\[figure written: (.+?\.png)\]", done.stdout))
    assert written == announced
    for name in written:  # the docs page shows the checked-in figure of the full run
        assert (IMAGES / name).is_file(), f"{name} is written by {script.name} but not checked in under {IMAGES}"
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = ROOT / "docs" / "examples" / f"{script.stem}.md"
    assert page.is_file(), f"{script.name} has no docs page {page}"
    text = page.read_text()
    for name in written:
        assert f"img/{name}" in text, f"{page.name} does not show {name}"
