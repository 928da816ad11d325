"""brmc.rprint against the tables brms 2.18 / R 4.2.2 printed (trailing spaces included)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from brmc.datasets import REFERENCE_MODELS
from brmc.rprint import format_int, format_num, format_table

from .conftest import reference_path

#: brms's printed summaries: the round-1 reference models and the adapt_delta = 0.95 refit.
MODELS = sorted([*REFERENCE_MODELS, "jsp_bivariate/adapt_delta_0.95"])
PRIOR_COLS = ["prior", "class", "coef", "group", "resp", "dpar", "nlpar", "lb", "ub", "source"]


def read_lines(*parts: str) -> list[str]:
    """A reference text file's lines (the files end with one newline)."""
    return reference_path(*parts).read_text().split("\n")[:-1]


def summary_tables(model: str) -> list[list[str]]:
    """Every printed table (all its wrapped blocks) of a summary.txt, as lines."""
    lines, tables, i = read_lines(model, "summary.txt"), [], 0
    while i < len(lines):
        if lines[i].startswith(" ") and lines[i].split()[0] == "Estimate":
            j = lines.index("", i)
            tables.append(lines[i:j])
            i = j
        i += 1
    return tables


def parse_summary_table(lines: list[str]) -> pd.DataFrame:
    """Cells of a row-named table; header lines (blank row-name cell) start each block."""
    data: dict[str, dict[str, str]] = {}
    for line in lines:
        if line.startswith(" "):
            header = re.findall(r"[lu]-95% CI|\S+", line)
        else:
            name, *cells = line.split()
            assert len(cells) == len(header)
            data.setdefault(name, {}).update(zip(header, cells))
    return pd.DataFrame.from_dict(data, orient="index")


def parse_prior_summary(lines: list[str]) -> pd.DataFrame:
    """Cells cut at the right edges of the (right-justified) headers of each block."""
    blocks = [i for i, line in enumerate(lines) if set(line.split()) <= set(PRIOR_COLS)]
    n_rows = blocks[1] - 1 if len(blocks) > 1 else len(lines) - 1
    frame: dict[str, list[str]] = {}
    for b in blocks:
        header, start = lines[b], 0
        for name in header.split():
            end = header.index(name, start) + len(name)
            frame[name] = [row[start:end].strip() for row in lines[b + 1 : b + 1 + n_rows]]
            start = end
    return pd.DataFrame(frame)


def test_reference_models_present() -> None:
    assert len(MODELS) == 8
    for model in MODELS:
        reference_path(model, "summary.txt"), reference_path(model, "prior_summary.txt")


@pytest.mark.parametrize("model", MODELS)
def test_summary_tables_match_brms(model: str) -> None:
    tables = summary_tables(model)
    assert len(tables) >= 2
    for lines in tables:
        df = parse_summary_table(lines)
        assert list(df.columns) == [
            "Estimate", "Est.Error", "l-95% CI", "u-95% CI", "Rhat", "Bulk_ESS", "Tail_ESS"
        ]
        assert format_table(df) == "\n".join(lines)


@pytest.mark.parametrize("model", MODELS)
def test_prior_summary_matches_brms(model: str) -> None:
    lines = read_lines(model, "prior_summary.txt")
    df = parse_prior_summary(lines)
    assert list(df.columns) == PRIOR_COLS
    assert format_table(df, row_names=False) == "\n".join(lines)


def test_prior_summary_sleepstudy_explicit() -> None:
    sd59, vec = "student_t(3, 0, 59.3)", "(vectorized)"
    rows = [
        ("(flat)", "b", "", "", "", "default"),
        ("(flat)", "b", "Days", "", "", vec),
        ("student_t(3, 288.7, 59.3)", "Intercept", "", "", "", "default"),
        ("lkj_corr_cholesky(1)", "L", "", "", "", "default"),
        ("lkj_corr_cholesky(1)", "L", "", "Subject", "", vec),
        (sd59, "sd", "", "", "0", "default"),
        (sd59, "sd", "", "Subject", "0", vec),
        (sd59, "sd", "Days", "Subject", "0", vec),
        (sd59, "sd", "Intercept", "Subject", "0", vec),
        (sd59, "sigma", "", "", "0", "default"),
    ]
    df = pd.DataFrame(
        [(p, c, co, g, "", "", "", lb, "", s) for p, c, co, g, lb, s in rows], columns=PRIOR_COLS
    )
    expected = read_lines("sleepstudy_slopes", "prior_summary.txt")
    assert format_table(df, row_names=False).split("\n") == expected


def test_width_80_splits_where_r_split() -> None:
    group = parse_summary_table(summary_tables("gcse_m3")[0])
    out = format_table(group).split("\n")
    assert out[0].split()[-1] == "Bulk_ESS" and len(out[0]) == 73
    assert out[4] == " " * 22 + " Tail_ESS"
    population = parse_summary_table(summary_tables("jsp_bivariate")[3])
    assert format_table(population).split("\n")[15].split() == ["Tail_ESS"]
    prior = parse_prior_summary(read_lines("jsp_bivariate", "prior_summary.txt"))
    out = format_table(prior, row_names=False).split("\n")
    assert [out[0].split(), out[24].split()] == [PRIOR_COLS[:5], PRIOR_COLS[5:]]
    assert format_table(group, width=200).count("\n") == 3


def test_line_must_stay_shorter_than_width() -> None:
    df = pd.DataFrame({"a": ["1"], "b": ["2"]}, index=["r"])  # one line is "r a b": 5 wide
    assert format_table(df, width=6) == "  a b\nr 1 2"
    assert format_table(df, width=5) == "  a\nr 1\n  b\nr 2"
    assert format_table(df, width=1) == "  a\nr 1\n  b\nr 2"  # at least one column per block


def test_left_justified_pads_cells_and_headers() -> None:
    df = pd.DataFrame({"prior": ["(flat)", "normal(0, 1)"], "lb": ["", "0"]})
    assert format_table(df, row_names=False, right=False) == (
        " prior        lb\n (flat)         \n normal(0, 1) 0 "
    )
    named = pd.DataFrame({"x": ["1", "22"]}, index=["long", "s"])
    assert format_table(named, right=False) == "     x \nlong 1 \ns    22"


def test_format_num_and_int() -> None:
    assert format_num(-0.004) == "-0.00"
    assert format_num(0.125) == "0.12"  # binary 0.125 is an exact half: to even, like C
    assert format_num(7.105, 1) == "7.1"
    assert format_num(float("nan")) == "NA"
    assert format_num(float("-inf")) == "-Inf"
    assert [format_int(x) for x in (1287.5, 1288.5, 0.5, 4823.7)] == ["1288", "1288", "0", "4824"]
    assert format_int(float("nan")) == "NA"
