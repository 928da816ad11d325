"""The documentation builds without warnings, and every public function shows an example.

``mkdocs build --strict`` fails on a dead link, a missing page or anchor, a page left out of the
navigation, or an example page that includes code from a script section that does not exist.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import brmc

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs and mkdocs-material are in the test extra: pip install '.[test]'")
        pytest.skip("mkdocs / mkdocs-material not installed (pip install '.[docs]')")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    for page in (ROOT / "docs" / "examples").glob("*.md"):
        html = (site / "examples" / page.stem / "index.html") if page.stem != "index" else site / "examples" / "index.html"
        assert html.is_file(), page
        assert "--8&lt;--" not in html.read_text(), f"{page.name}: a snippet was not included"
    for png in (ROOT / "docs" / "examples" / "img").glob("*.png"):
        assert (site / "examples" / "img" / png.name).is_file()


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    missing = [p for p in pages if p not in config]
    assert not missing, f"pages not in mkdocs.yml's nav: {missing}"


def test_example_pages_have_no_unfilled_output() -> None:
    for page in (ROOT / "docs" / "examples").glob("*.md"):
        text = page.read_text()
        for marker in text.split("<!-- OUT:")[1:]:
            after = marker.split("-->", 1)[1].lstrip("\n")
            assert after.startswith("```text"), f"{page.name}: an output marker without its output"
        assert "TIMINGS_TABLE" not in text and "SIDE_BY_SIDE" not in text


def _public_callables():
    """brmc's public functions and classes, and the public methods of Fit and SweepResult."""
    for name in brmc.__all__:
        obj = getattr(brmc, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield f"brmc.{name}", obj
    for cls in (brmc.Fit, brmc.SweepResult, brmc.conditional.ConditionalEffects):
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                yield f"brmc.{cls.__name__}.{name}", member
    for name in ("load", "names", "describe", "set_name"):
        yield f"brmc.datasets.{name}", getattr(brmc.datasets, name)


@pytest.mark.parametrize("name,obj", list(_public_callables()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_api_has_a_docstring_example(name: str, obj) -> None:
    doc = inspect.getdoc(obj) or ""
    assert ">>>" in doc, f"{name} has no example in its docstring"


def _parameters_section(doc: str) -> list[str]:
    """The names a numpydoc ``Parameters`` section documents (``*args``, ``**kwargs`` with their stars)."""
    match = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", doc, flags=re.MULTILINE | re.DOTALL)
    return re.findall(r"^(\*{0,2}\w+)(?: :|$)", match[1], flags=re.MULTILINE) if match else []


def _arguments(function) -> list[str]:
    stars = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    return [stars.get(p.kind, "") + name for name, p in inspect.signature(function).parameters.items()
            if name not in ("self", "cls")]


@pytest.mark.parametrize("name,obj", [(n, o) for n, o in _public_callables() if inspect.isfunction(o)],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_public_functions_document_every_argument(name: str, obj) -> None:
    """numpydoc ``Parameters`` (every argument, in order) and ``Returns`` (unless nothing is returned)."""
    doc = inspect.getdoc(obj) or ""
    assert _parameters_section(doc) == _arguments(obj), f"{name}: Parameters section vs signature"
    returns_nothing = inspect.signature(obj).return_annotation in (None, "None")
    assert returns_nothing or re.search(r"^Returns\n-+\n", doc, flags=re.MULTILINE), f"{name}: no Returns section"
