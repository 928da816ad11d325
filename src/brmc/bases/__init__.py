"""Numerics of brms's special terms: smooths, Gaussian processes, monotonic effects.

Each module builds the data brms 2.18 passes to Stan for one term kind, and the
state needed to evaluate the same basis at new data:

- :mod:`brmc.bases.splines`, :mod:`brmc.bases.thinplate`: mgcv's smooth constructors (``tp``, ``cr``,
  ``cs``, ``cc``, ``ps``, ``re``);
- :mod:`brmc.bases.smooth`: ``s()`` as brms passes it (``Xs``, ``Zs_<i>_<j>``), mgcv's ``smoothCon``
  and ``smooth2random``;
- :mod:`brmc.bases.tensor`: ``t2()`` tensor products;
- :mod:`brmc.bases.gp`: ``gp()`` data, exact and Hilbert-space approximate, and brms's ``lscale`` prior;
- :mod:`brmc.bases.monotonic`: ``mo()`` data and the monotonic transform.

Examples
--------
>>> import numpy as np
>>> from brmc.bases import Smooth
>>> Smooth({"x": np.linspace(0, 1, 20)}, ["x"], k=5).blocks[0].Zs[0].shape
(20, 3)
"""

from brmc.bases.gp import GaussianProcess, GPBlock, lscale_prior, spd_exp_quad
from brmc.bases.monotonic import Monotonic, SpecialTerm, mo
from brmc.bases.smooth import Smooth, SmoothBlock
from brmc.bases.tensor import t2

__all__ = [
    "GPBlock",
    "GaussianProcess",
    "Monotonic",
    "Smooth",
    "SmoothBlock",
    "SpecialTerm",
    "lscale_prior",
    "mo",
    "spd_exp_quad",
    "t2",
]
