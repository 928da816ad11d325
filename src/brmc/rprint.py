"""Reproduce R's ``print.data.frame`` layout and ``sprintf`` number formatting.

brms prints its summary tables with ``print.data.frame`` at ``width = 80``;
these helpers rebuild that text character for character (trailing spaces
included) from a frame of already formatted strings.  :func:`html_report`
gives the same results to a notebook as HTML tables.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import pandas as pd


def format_num(x: float, digits: int = 2) -> str:
    """Format like R's ``sprintf("%.<digits>f", x)``; NaN gives ``"NA"``.

    >>> format_num(-0.004), format_num(3.14159, 1), format_num(float("nan"))
    ('-0.00', '3.1', 'NA')
    """
    if math.isnan(x):
        return "NA"
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    return f"{x:.{digits}f}"


def format_int(x: float) -> str:
    """Format like R's ``sprintf("%.0f", x)`` (exact halves round to even).

    >>> format_int(1287.6), format_int(2.5), format_int(3.5)
    ('1288', '2', '4')
    """
    return format_num(x, 0)


def format_table(
    df: pd.DataFrame, *, row_names: bool = True, width: int = 80, right: bool = True
) -> str:
    """Lay out ``df`` (cells are strings) as R's ``print.data.frame`` does.

    The row-name column is left-justified and as wide as the longest row name
    (width 0 with ``row_names=False``, so lines still start with one space).
    Every column is ``max(len(header), len(cells))`` wide, preceded by one
    space, and right-justified (header too), or left-justified and padded with
    trailing spaces when ``right=False``.  Columns that do not fit are wrapped
    into further blocks, each with its own header line and the row names
    repeated, with no blank line between blocks.  As in R's ``printMatrix``, a
    block takes the next column only while the line stays *shorter* than
    ``width`` (so a line never exceeds ``width - 1`` characters), and always
    takes at least one column.  Returns the lines joined by ``"\\n"``.

    >>> df = pd.DataFrame({"Estimate": ["1.00", "-0.50"], "Rhat": ["1.00", "1.01"]},
    ...                   index=["Intercept", "x"])
    >>> print(format_table(df, width=21))
              Estimate
    Intercept     1.00
    x            -0.50
              Rhat
    Intercept 1.00
    x         1.01
    """
    names = [str(n) for n in df.index] if row_names else [""] * len(df)
    name_w = max(map(len, names), default=0)
    cols = [(str(h), [str(v) for v in df.iloc[:, j]]) for j, h in enumerate(df.columns)]
    widths = [max([len(h), *map(len, cells)]) for h, cells in cols]
    just = str.rjust if right else str.ljust
    lines: list[str] = []
    start = 0
    while start < len(cols):
        end, line_w = start + 1, name_w + 1 + widths[start]
        while end < len(cols) and line_w + 1 + widths[end] < width:
            line_w += 1 + widths[end]
            end += 1
        block = range(start, end)
        lines.append(" " * name_w + "".join(" " + just(cols[j][0], widths[j]) for j in block))
        lines.extend(
            name.ljust(name_w) + "".join(" " + just(cols[j][1][i], widths[j]) for j in block)
            for i, name in enumerate(names)
        )
        start = end
    return "\n".join(lines)


def format_named_vector(values: Sequence[float], names: Sequence[str], width: int = 80) -> str:
    """R's print of a named numeric vector: values with R's 7 significant digits and one common
    number of decimals, each under its right-aligned name, lines wrapped at ``width``.

    >>> print(format_named_vector([0.2, 0.8], ["fit1", "fit2"]))
    fit1 fit2 
     0.2  0.8 
    """
    def decimals(x: float) -> int:
        text = f"{float(f'{x:.7g}'):.15f}".rstrip("0")
        return len(text.split(".")[1]) if "." in text else 0

    finite = [x for x in values if math.isfinite(x)]
    digits = max((decimals(x) for x in finite), default=0)
    cells = ["NA" if math.isnan(x) else f"{x:.{digits}f}" for x in values]
    widths = [max(len(n), len(c)) for n, c in zip(names, cells)]
    lines, start = [], 0
    while start < len(cells):
        end, used = start, 0
        while end < len(cells) and (end == start or used + widths[end] + 1 <= width):
            used += widths[end] + 1
            end += 1
        lines.append("".join(f"{n:>{w}} " for n, w in zip(names[start:end], widths[start:end])))
        lines.append("".join(f"{c:>{w}} " for c, w in zip(cells[start:end], widths[start:end])))
        start = end
    return "\n".join(lines)


def html_report(parts: Sequence[str | tuple[str, pd.DataFrame]]) -> str:
    """A printed result as a notebook shows it (``_repr_html_``): each text part in a
    ``<pre>`` block, each ``(title, frame)`` part as an HTML table under its title (an
    ``<h4>``, none for ``""``), the frame's cells as given; empty parts are left out.

    Parameters
    ----------
    parts : sequence of str or (str, DataFrame)
        The result's text and tables in the order they are printed.

    Returns
    -------
    str
        The HTML.

    Example:
        >>> frame = pd.DataFrame({"Estimate": ["1.00"]}, index=["x"])
        >>> print(html_report(["Family: gaussian", ("Effects", frame), ""]).splitlines()[:2])
        ['<pre>Family: gaussian</pre>', '<h4>Effects</h4><table border="1" class="dataframe">']
    """
    out = []
    for part in parts:
        if isinstance(part, str):
            if part.strip():
                out.append(f"<pre>{html.escape(part)}</pre>")
        elif len(part[1]):
            title, frame = part
            out.append((f"<h4>{html.escape(title)}</h4>" if title else "") + frame.to_html())
    return "\n".join(out)
