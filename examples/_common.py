"""What every example script shares: how many draws, where figures go, how output looks.

Not an example itself (tests/test_examples.py runs every ``examples/*.py`` not starting with ``_``).

Environment variables:

- ``BRMC_QUICK=1``: 2 chains x 400 iterations (200 warm-up) instead of brms's 4 x 2,000, for CI;
  figures are then not written unless ``BRMC_FIGURES`` names a folder.
- ``BRMC_FIGURES=DIR``: write the PNG figures to DIR (default: ``docs/examples/img`` of the
  repository on full runs).
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are written to files, never shown

import pandas as pd  # noqa: E402

QUICK = os.environ.get("BRMC_QUICK") == "1"
#: brms's defaults (4 chains, iter = 2000, warmup = 1000), fewer on quick runs; seed as the reference fits.
SAMPLING = dict(chains=2, iter=400, seed=1234, progress=False) if QUICK else dict(chains=4, iter=2000, seed=1234,
                                                                                   progress=False)
_FIGURES = os.environ.get("BRMC_FIGURES")
FIGURES: Path | None = (Path(_FIGURES) if _FIGURES
                        else None if QUICK else Path(__file__).resolve().parents[1] / "docs" / "examples" / "img")

pd.set_option("display.width", 110)
pd.set_option("display.max_columns", 20)
pd.set_option("display.precision", 3)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # Warnings (dropped rows, sampler diagnostics) are part of what the reader should see,
    # in order with the rest of the output.
    print(f"{category.__name__}: {message}", flush=True)


warnings.showwarning = _show_warning


def heading(text: str) -> None:
    """A section heading in the script's output."""
    print(f"\n## {text}\n", flush=True)


def save(fig, name: str) -> None:
    """Write ``fig`` as ``name``.png to FIGURES (skipped on quick runs without BRMC_FIGURES)."""
    import matplotlib.pyplot as plt

    if FIGURES is not None:
        FIGURES.mkdir(parents=True, exist_ok=True)
        fig.savefig(FIGURES / f"{name}.png", dpi=100)
        print(f"[figure written: {name}.png]")
    plt.close(fig)


def quantiles(draws, probs=(0.025, 0.5, 0.975)) -> str:
    """'median [lower, upper]' of draws."""
    import numpy as np

    def fmt(x: float) -> str:  # three significant digits, no exponent
        return f"{x:.{max(0, 2 - int(np.floor(np.log10(abs(x))))) if x else 2}f}"

    lo, mid, hi = np.quantile(draws, probs)
    return f"{fmt(mid)} [{fmt(lo)}, {fmt(hi)}]"


if QUICK:
    print(f"(quick run: {SAMPLING['chains']} chains x {SAMPLING['iter']} iterations; numbers are rough)",
          file=sys.stderr)


def compare(draws, rows, lme4_label: str = "lme4 REML") -> None:
    """Print brmc's posterior next to published numbers.

    ``rows`` maps a label to (column of ``draws``, brms 2.18's posterior mean or None,
    lme4's estimate or None). ``(brmc - brms) / sd`` is the difference of the two posterior
    means in posterior sds: both are Monte Carlo estimates, so values within about 0.1 are
    agreement (4,000 draws with an effective sample size of several hundred).
    """
    import numpy as np

    out = []
    for label, (column, brms, lme4) in rows.items():
        x = np.asarray(draws[column], dtype=float)
        out.append({"parameter": label, "brmc mean": x.mean(), "brmc median [95% CI]": quantiles(x),
                    "brms 2.18 mean": np.nan if brms is None else brms,
                    "(brmc - brms) / sd": np.nan if brms is None else (x.mean() - brms) / x.std(ddof=1),
                    lme4_label: np.nan if lme4 is None else lme4})
    frame = pd.DataFrame(out).set_index("parameter").rename_axis(None)
    if all(brms is None for _, brms, _ in rows.values()):  # no brms reference for this model
        frame = frame.drop(columns=["brms 2.18 mean", "(brmc - brms) / sd"])
    if all(lme4 is None for _, _, lme4 in rows.values()):  # no lme4 fit of this model
        frame = frame.drop(columns=[lme4_label])
    formats = {c: (lambda v: "-" if v != v else f"{v:+.2f}") if c.startswith("(") else
               (lambda v: "-" if v != v else f"{v:#.4g}") for c in frame.columns if c != "brmc median [95% CI]"}
    print(frame.to_string(formatters=formats, na_rep="-"))
