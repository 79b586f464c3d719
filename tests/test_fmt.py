"""Russian number formatting (proforient_diag.fmt)."""
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from proforient_diag.fmt import (
    DASH, NBSP, GROUP_SPACE, fmt_ci, fmt_date, fmt_int, fmt_num, fmt_p, fmt_pct,
)


@pytest.mark.parametrize("value, decimals, expected", [
    (3.14159, 2, "3,14"),
    (12345.678, 2, f"12{GROUP_SPACE}345,68"),
    (1_000_000, 1, f"1{GROUP_SPACE}000{GROUP_SPACE}000,0"),
    (0.5, 0, "0"),          # banker's rounding of Python's format: 0.5 -> 0
    (2.5, 1, "2,5"),
    (-1234.5, 2, f"\u22121{GROUP_SPACE}234,50"),   # a true minus sign
    (-0.0004, 3, "0,000"),  # no «−0,000»
    (-0.0004, 0, "0"),
    (np.float64(0.7251), 3, "0,725"),
], ids=["pi", "thousands", "million", "half-even", "one-dec", "negative", "neg-zero",
        "neg-zero-int", "numpy"])
def test_fmt_num(value, decimals, expected):
    assert fmt_num(value, decimals) == expected


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, math.nan, pd.NA, pd.NaT])
def test_missing_values_print_a_dash(missing):
    assert fmt_num(missing) == DASH == "—"
    assert fmt_int(missing) == DASH
    assert fmt_pct(missing) == DASH
    assert fmt_p(missing) == DASH


def test_fmt_int():
    assert fmt_int(320000) == f"320{GROUP_SPACE}000"
    assert fmt_int(np.int64(12)) == "12"
    assert fmt_int(999.6) == f"1{GROUP_SPACE}000"


def test_fmt_pct():
    assert fmt_pct(12.345) == f"12,3{NBSP}%"
    assert fmt_pct(12.345) == "12,3\u00a0%"
    assert fmt_pct(0.123, share=True) == f"12,3{NBSP}%"
    assert fmt_pct(100, 0) == f"100{NBSP}%"


def test_fmt_p():
    assert fmt_p(0.0001) == f"<{NBSP}0,001"
    assert fmt_p(0.0344) == "0,034"
    assert fmt_p(0.001) == "0,001"


def test_fmt_ci():
    assert fmt_ci(0.7123, 0.7511) == "[0,71; 0,75]"
    assert fmt_ci(-0.2, 0.1, 1) == "[\u22120,2; 0,1]"


def test_fmt_date():
    assert fmt_date(dt.date(2026, 3, 5)) == "05.03.2026"
    assert fmt_date(dt.datetime(2026, 11, 26, 9, 7), time=True) == "26.11.2026, 09:07"
    assert fmt_date(None) == DASH
