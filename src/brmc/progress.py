"""Progress bars: one line that updates in place, or nothing.

A sampling run counts iterations (:func:`progress_bar`); work over many fits (a
prior sweep, an SBC run) counts fits (:class:`FitProgress`), so tqdm's estimate of
the time left is the mean seconds per fit so far times the fits left, and the
line ends with the last fit's own seconds.  Either shows itself where someone
watches:

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
    >>> with FitProgress(3, "Fits", show=False) as fits:
    ...     for seconds in (1.0, 2.0, 1.5):
    ...         fits.advance(seconds)
    >>> fits.done
    3
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

    def set_postfix_str(self, s: str, refresh: bool = True) -> None: ...

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


def interactive() -> bool:
    """Whether someone watches this process: a notebook kernel, or a terminal on standard error.

    Example:
        >>> interactive() == (output_kind() is not None)
        True
    """
    return output_kind() is not None


def progress_bar(total: int, desc: str, unit: str = "it") -> ProgressBar | None:
    """A bar counting to ``total`` iterations for where the output goes (see the module's
    docstring); None where nothing should be shown.

    Parameters
    ----------
    total : int
        The number of iterations the bar counts to.
    desc : str
        The text before the bar.
    unit : str, default ``"it"``
        What the bar counts (``"fit"`` over many fits).

    Returns
    -------
    ProgressBar or None
        An object with ``update(n)`` and ``close()``.
    """
    kind = output_kind()
    if kind == "notebook":
        return NotebookBar(total, desc, unit)
    if kind == "terminal":
        return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)
    return None


class NotebookBar:
    """tqdm's text bar in one notebook output that each update replaces."""

    def __init__(self, total: int, desc: str, unit: str = "it") -> None:
        from IPython.display import display  # only made inside a Jupyter kernel

        self.total, self.desc, self.unit, self.n, self.postfix = total, desc, unit, 0, ""
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
        return tqdm.format_meter(self.n, self.total, time.monotonic() - self._start, prefix=self.desc, unit=self.unit,
                                 postfix=self.postfix or None, ncols=80)

    def update(self, n: int) -> None:
        """Count ``n`` more iterations; redraw at most every :data:`_REDRAW_SECONDS`."""
        with self._lock:
            self.n += n
            if time.monotonic() - self._drawn >= _REDRAW_SECONDS:
                self._drawn = time.monotonic()
                self._handle.update(self._Line(self._text()))

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        """Text after the bar (drawn with the next update, or now with ``refresh``)."""
        with self._lock:
            self.postfix = s
            if refresh:
                self._handle.update(self._Line(self._text()))

    def close(self) -> None:
        """Draw the final state."""
        with self._lock:
            self._handle.update(self._Line(self._text()))


class FitProgress:
    """A context manager around one bar over ``total`` fits (silent where nobody watches).

    Parameters
    ----------
    total : int
        The number of fits.
    desc : str
        The bar's label (``"SBC fits"``, ``"Prior sets"``).
    show : bool, default True
        False keeps it silent; True shows it when :func:`interactive`.

    Examples
    --------
    >>> with FitProgress(2, "Prior sets", show=False) as bar:
    ...     bar.advance(0.5)
    >>> bar.done, bar.bar is None
    (1, True)
    """

    def __init__(self, total: int, desc: str, show: bool = True) -> None:
        self.total, self.desc, self.show = total, desc, show and interactive()
        self.bar: ProgressBar | None = None
        self.done = 0

    def __enter__(self) -> FitProgress:
        if self.show:
            self.bar = progress_bar(self.total, self.desc, unit="fit")
        return self

    def advance(self, seconds: float | None = None) -> None:
        """One more fit has ended, after ``seconds`` of its own wall time.

        Parameters
        ----------
        seconds : float, optional
            The fit's wall time, shown after the bar.
        """
        self.done += 1
        if self.bar is not None:
            if seconds is not None:
                self.bar.set_postfix_str(f"last fit {seconds:.1f} s", refresh=False)
            self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


_PROGRESS_STEPS = 40


def report_iteration(chain_id, i, total: int) -> None:
    """Tell the progress bar, from inside a compiled JAX loop, that chain ``chain_id`` finished
    iteration ``i`` (about ``_PROGRESS_STEPS`` times per chain).

    Parameters
    ----------
    chain_id : jax.Array
        The chain's number (traced).
    i : jax.Array
        The iteration just finished, from 0 (traced).
    total : int
        The chain's iterations in all.

    Returns
    -------
    None
        The report is a side effect (a host callback every ``total // 40`` iterations).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> with ChainProgress(1, 80, show=False):
    ...     _ = jax.jit(lambda i: report_iteration(jnp.int32(0), i, 80))(jnp.int32(1))
    """
    import jax

    every = max(total // _PROGRESS_STEPS, 1)
    jax.lax.cond((i + 1) % every == 0, lambda: jax.debug.callback(ChainProgress.advance, chain_id, every),
                 lambda: None)


class ChainProgress:
    """One progress bar (:func:`brmc.progress.progress_bar`) over all chains' iterations while a
    compiled JAX sampler runs; the loop reports through ``report_iteration``.

    Parameters
    ----------
    chains : int
        The chains sampled.
    iterations : int
        Each chain's iterations (warm-up and draws).
    show : bool
        Whether to show the bar (where someone watches: :func:`progress_bar`).

    Examples
    --------
    >>> with ChainProgress(2, 100, show=False) as progress:
    ...     ChainProgress.advance(0, 100)
    >>> ChainProgress.current is None
    True
    """

    current: "ChainProgress | None" = None

    def __init__(self, chains: int, iterations: int, show: bool) -> None:
        self.chains, self.iterations, self.show, self.bar = chains, iterations, show, None

    def __enter__(self) -> "ChainProgress":
        if self.show:
            self.bar = progress_bar(self.chains * self.iterations,
                                    f"Sampling {self.chains} chain{'s' * (self.chains > 1)}")
        ChainProgress.current = self
        return self

    def __exit__(self, *exc) -> None:
        ChainProgress.current = None
        if self.bar is not None:
            self.bar.close()

    @staticmethod
    def advance(chain_id, n) -> None:
        progress = ChainProgress.current
        if progress is not None and progress.bar is not None:
            progress.bar.update(int(n))
