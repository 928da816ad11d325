"""The progress bar: one line in a terminal, nothing in a log file (the notebook's: test_notebook)."""

from __future__ import annotations

import io
import sys

import pytest

from brmc import progress
from brmc.progress import ChainProgress
from brmc.sampling import SamplerSettings

from .conftest import Terminal


def _sample(chains: int = 2, iterations: int = 200, every: int = 5) -> None:
    """What a JAX sampler does to the bar: reports from the loop, ``every`` iterations at a time."""
    with ChainProgress(chains, iterations, show=True):
        for chain in range(chains):
            for _ in range(iterations // every):
                ChainProgress.advance(chain, every)


def test_terminal_gets_one_line_redrawn_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert progress.output_kind() == "terminal"
    _sample()
    text = terminal.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, ended when the bar closes
    assert text.count("\r") > 1  # redrawn in place
    assert text.rstrip().split("\r")[-1].startswith("Sampling 2 chains: 100%")
    assert "400/400" in text


def test_log_file_gets_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr(sys, "stderr", log)
    assert progress.output_kind() is None and progress.progress_bar(10, "Sampling") is None
    _sample()
    assert log.getvalue() == ""
    # nor does the sampler report to a bar: no host callbacks, so XLA may cache the program on disk
    assert SamplerSettings(progress=True).progress is False
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert SamplerSettings(progress=True).progress is True


def test_no_bar_when_not_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with ChainProgress(2, 100, show=False):
        ChainProgress.advance(0, 100)
    assert terminal.getvalue() == ""
