"""One progress bar over many fits (a prior sweep, an SBC run), with the time left.

The bar is tqdm's (``tqdm.auto``: a widget in a Jupyter notebook, text in a
terminal).  It advances by one when a fit ends, so tqdm's estimate of the time
left is the mean seconds per fit so far times the fits left; the bar's postfix
shows the last fit's own seconds.  It is silent when nobody is watching: when
standard error is not a terminal and the process is not a notebook kernel (a
batch job, a CI log), or with ``show=False``.  The fits themselves run with
their own progress bars off.

Example:
    >>> with FitProgress(3, "Fits", show=False) as bar:
    ...     for seconds in (1.0, 2.0, 1.5):
    ...         bar.advance(seconds)
    >>> bar.done
    3
"""

from __future__ import annotations

import sys
from typing import Any


def interactive() -> bool:
    """Whether someone watches this process: a terminal on standard error, or a notebook kernel.

    Example:
        >>> isinstance(interactive(), bool)
        True
    """
    if "ipykernel" in sys.modules:
        shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
        if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
            return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


class FitProgress:
    """A context manager around one tqdm bar over ``total`` fits.

    Parameters
    ----------
    total
        The number of fits.
    desc
        The bar's label (``"SBC fits"``, ``"Prior sets"``).
    show
        ``False`` keeps it silent; ``True`` shows it when :func:`interactive`.

    Examples
    --------
    >>> with FitProgress(2, "Prior sets", show=False) as bar:
    ...     bar.advance(0.5)
    >>> bar.done, bar.bar is None
    (1, True)
    """

    def __init__(self, total: int, desc: str, show: bool = True) -> None:
        self.total, self.desc, self.show = total, desc, show and interactive()
        self.bar: Any = None
        self.done = 0

    def __enter__(self) -> FitProgress:
        if self.show:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=self.desc, unit="fit")
        return self

    def advance(self, seconds: float | None = None) -> None:
        """One more fit has ended, after ``seconds`` of its own wall time."""
        self.done += 1
        if self.bar is not None:
            if seconds is not None:
                self.bar.set_postfix_str(f"last fit {seconds:.1f} s", refresh=False)
            self.bar.update(1)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
