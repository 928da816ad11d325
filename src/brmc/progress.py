"""The sampling progress bar: one line that updates in place, or nothing.

- In a Jupyter notebook: one output line, replaced as sampling goes (an IPython
  display handle, so no ipywidgets are needed and an exported notebook keeps
  only the last state of the bar).
- In a terminal (standard error is one): tqdm's bar on standard error.
- Anywhere else (output to a log file or a pipe): nothing at all.

The bar may be advanced from other threads (JAX's host callbacks).

NumPyro imports ``tqdm.auto``, which in a notebook without ipywidgets warns
(``TqdmWarning: IProgress not found``) about a bar brmc never uses: this module
imports ``tqdm.auto`` first with exactly that warning hidden.

Example:
    >>> bar = progress_bar(400, "Sampling 2 chains")
    >>> if bar is not None:
    ...     bar.update(400)
    ...     bar.close()
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
import warnings
from typing import Protocol

from tqdm.std import TqdmWarning, tqdm

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
    importlib.import_module("tqdm.auto")  # see the module's docstring

#: Seconds between two redraws of a notebook's bar (the last state is always drawn).
_REDRAW_SECONDS = 0.2


class ProgressBar(Protocol):
    """What the samplers need of a bar."""

    def update(self, n: int) -> None: ...

    def close(self) -> None: ...


def output_kind() -> str | None:
    """``"notebook"`` inside a Jupyter kernel, ``"terminal"`` when standard error is a
    terminal, else None.

    Example:
        >>> output_kind() in ("notebook", "terminal", None)
        True
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and getattr(shell, "kernel", None) is not None:
        return "notebook"
    isatty = getattr(sys.stderr, "isatty", None)
    return "terminal" if isatty is not None and isatty() else None


def progress_bar(total: int, desc: str) -> ProgressBar | None:
    """A bar counting to ``total`` iterations for where the output goes (see the module's
    docstring); None where nothing should be shown.

    Parameters
    ----------
    total : int
        The number of iterations the bar counts to.
    desc : str
        The text before the bar.

    Returns
    -------
    ProgressBar or None
        An object with ``update(n)`` and ``close()``.
    """
    kind = output_kind()
    if kind == "notebook":
        return NotebookBar(total, desc)
    if kind == "terminal":
        return tqdm(total=total, desc=desc, unit="it", file=sys.stderr)
    return None


class NotebookBar:
    """tqdm's text bar in one notebook output that each update replaces."""

    def __init__(self, total: int, desc: str) -> None:
        from IPython.display import display  # only made inside a Jupyter kernel

        self.total, self.desc, self.n = total, desc, 0
        self._start = self._drawn = time.monotonic()
        self._lock = threading.Lock()
        self._handle = display(self._Line(self._text()), display_id=True)

    class _Line:
        """A line of text as a notebook shows it (the bar's state)."""

        def __init__(self, text: str) -> None:
            self.text = text

        def __repr__(self) -> str:
            return self.text

    def _text(self) -> str:
        return tqdm.format_meter(self.n, self.total, time.monotonic() - self._start, prefix=self.desc, unit="it",
                                 ncols=80)

    def update(self, n: int) -> None:
        """Count ``n`` more iterations; redraw at most every :data:`_REDRAW_SECONDS`."""
        with self._lock:
            self.n += n
            if time.monotonic() - self._drawn >= _REDRAW_SECONDS:
                self._drawn = time.monotonic()
                self._handle.update(self._Line(self._text()))

    def close(self) -> None:
        """Draw the final state."""
        with self._lock:
            self._handle.update(self._Line(self._text()))
