"""Warnings that point at the user's line: the first frame outside the brmc package.

brms's warnings about a fit (divergences, Pareto k, ...) are raised deep inside brmc; with a
fixed ``stacklevel`` Python would show a brmc file (in a notebook: a line of brmc's source under
the cell), so each is raised at the first caller outside the package and its subpackages.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("Check this.")
    >>> "brmc" in caught[0].filename.split("/")[-2:]
    False
"""

from __future__ import annotations

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def caller_level() -> int:
    """The ``stacklevel`` for :func:`warnings.warn`, called from brmc, that points at the first
    frame outside brmc (the user's ``brm``, ``update``, ``fit.loo()`` call), however many brmc
    functions lie between.

    Returns
    -------
    int
        Frames from :func:`warnings.warn`'s caller to the user's code.

    Examples
    --------
    >>> caller_level() >= 1
    True
    """
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn(message, category)`` at the user's line (see :func:`caller_level`).

    Parameters
    ----------
    message : str
        The warning.
    category : type, default UserWarning
        Its class.

    Returns
    -------
    None

    Examples
    --------
    >>> warnings.simplefilter("ignore")
    >>> warn_user("Parts of the model have not converged.")
    """
    warnings.warn(message, category, stacklevel=caller_level())
