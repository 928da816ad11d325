"""A notebook as a user runs it: fit, summary, every plot once, the results as HTML tables.

The notebook is executed with nbclient in an IPython kernel of this test
environment (``sys.executable``) under Jupyter's inline matplotlib backend, and
its saved outputs are checked: each plotting cell holds exactly one image (no
second copy from pyplot, no list repr), the results that print as tables render
as HTML tables, the progress bar is one output that was updated in place, and
nothing reaches stderr except brms's own warnings.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import brmc

from .conftest import without_warnings

SETUP = """\
import brmc
df = brmc.datasets.load("sleepstudy")
wide = [brmc.prior("normal(0, 100)", class_="b")]"""
FIT = 'fit = brmc.brm("Reaction ~ Days + (Days | Subject)", data=df, chains=2, iter=200, seed=1)'
PRINT = "print(fit)"
#: Cells whose value is a plot: each must show exactly one image.
PLOTS = [
    "fit.plot(N=6)",
    "fit.pp_check()",
    "fit.conditional_effects().plot()",
    "brmc.plot_ranef(fit)",
    "brmc.plot_shrinkage(fit)",
    "sweep.plot()",
]
SWEEP = 'sweep = brmc.prior_sweep(fit, {"wide": wide})'
UPDATE = "fit2 = fit.update(prior=wide, progress=False)"
#: Cells whose value is a result brms prints as a table: each must render an HTML table.
TABLES = [
    "fit",
    "fit.prior_summary()",
    "fit.loo()",
    "fit.hypothesis('Days > 5')",
    "brmc.loo_compare(fit, fit2)",
    "fit.bayes_R2()",
    "sweep.table()",
]
#: The warnings brms itself gives (rstan's sampler diagnostics, loo's Pareto k), which a prior
#: sweep repeats after "Prior set '<name>': ".
BRMS_WARNINGS = ("There were ", "Parts of the model have not converged", "Bulk Effective Samples Size",
                 "Tail Effective Samples Size", "Found ")
_WARNING = re.compile(r"^(?P<file>\S.*?):\d+: (?P<category>\w+): (?P<message>.*)$")


@pytest.fixture(scope="module")
def notebook(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """The executed notebook: a kernel of this interpreter importing this brmc, the inline backend."""
    home = tmp_path_factory.mktemp("jupyter")
    spec = home / "kernels" / "brmc-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "brmc tests", "language": "python",
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline",
                "PYTHONPATH": os.pathsep.join([str(Path(brmc.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])},
    }))
    sources = [SETUP, FIT, PRINT, SWEEP, UPDATE, *PLOTS, *TABLES]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(home))
        NotebookClient(nb, kernel_name="brmc-test", timeout=900,
                       resources={"metadata": {"path": str(tmp_path_factory.mktemp("run"))}}).execute()
    return nb


def _outputs(nb: nbformat.NotebookNode, source: str) -> list:
    (cell,) = [c for c in nb.cells if c.source == source]
    return cell.outputs


def _rich(outputs: list, mime: str) -> list[str]:
    return [o["data"][mime] for o in outputs if o.output_type in ("display_data", "execute_result")
            and mime in o["data"]]


def _stderr(outputs: list) -> str:
    return "".join(o.text for o in outputs if o.output_type == "stream" and o.name == "stderr")


@pytest.mark.parametrize("source", PLOTS)
def test_each_plot_shows_one_image(notebook: nbformat.NotebookNode, source: str) -> None:
    outputs = _outputs(notebook, source)
    assert len(_rich(outputs, "image/png")) == 1, [o.get("data", o).keys() for o in outputs]
    assert not [t for t in _rich(outputs, "text/plain") if t.startswith("[")], "a list repr was shown"


@pytest.mark.parametrize("source", TABLES)
def test_results_render_as_html_tables(notebook: nbformat.NotebookNode, source: str) -> None:
    (html,) = _rich(_outputs(notebook, source), "text/html")
    assert "<table" in html


def test_summary_prints_brms_text(notebook: nbformat.NotebookNode) -> None:
    text = "".join(o.text for o in _outputs(notebook, PRINT) if o.output_type == "stream" and o.name == "stdout")
    assert without_warnings(text).startswith(" Family: gaussian \n") and "Population-Level Effects: " in text


def test_progress_bar_is_one_line_updated_in_place(notebook: nbformat.NotebookNode) -> None:
    outputs = _outputs(notebook, FIT)
    bars = _rich(outputs, "text/plain")
    assert len(bars) == 1 and bars[0].startswith("Sampling 2 chains: 100%"), bars
    assert "\n" not in bars[0] and "Sampling" not in _stderr(outputs)


def test_nothing_on_stderr_but_brms_warnings(notebook: nbformat.NotebookNode) -> None:
    for cell in notebook.cells:
        assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        lines = _stderr(cell.outputs).splitlines()
        for i, line in enumerate(lines):
            if line.startswith("  "):  # the source line a warning shows
                assert i and _WARNING.match(lines[i - 1]), (cell.source, line)
                continue
            warning = _WARNING.match(line)
            assert warning, (cell.source, line)
            message = re.sub(r"^Prior set '[^']*': ", "", warning["message"])
            assert warning["category"] == "UserWarning" and message.startswith(BRMS_WARNINGS), line
            assert "site-packages" not in warning["file"], line  # brmc's warnings point at the user's line
