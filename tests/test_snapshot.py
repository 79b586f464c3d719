"""Behaviour kept: the analysis behind the notes equals the committed snapshot.

The values under ``tests/snapshot/values/`` were written by ``tests/snapshot/build.py`` before the
note layer was restructured; a change of result is a separate commit that rewrites them and says
why. Numbers are compared to a relative 1e-7 (iterative fits: MixedLM, CFA, GRM may move in the
last digits with the order of operations); texts and labels exactly.
"""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "snapshot"))
import build  # noqa: E402

RTOL, ATOL = 1e-7, 1e-9


@pytest.fixture(scope="module")
def values():
    return build.current(), build.stored()


def _as_stored(df: pd.DataFrame) -> pd.DataFrame:
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.17g")
    buf.seek(0)
    return pd.read_csv(buf, dtype=str, keep_default_na=False)


def _same_column(a: pd.Series, b: pd.Series) -> bool:
    if a.equals(b):
        return True
    x = pd.to_numeric(a.replace("", np.nan), errors="coerce")
    y = pd.to_numeric(b.replace("", np.nan), errors="coerce")
    numeric = (x.notna() | a.eq("")) & (y.notna() | b.eq(""))
    if not numeric.all():
        return False
    return bool(np.allclose(x.to_numpy(float), y.to_numpy(float), rtol=RTOL, atol=ATOL,
                            equal_nan=True))


def _differences(name: str, now, then) -> list[str]:
    if isinstance(then, pd.DataFrame):
        a = _as_stored(now)
        if list(a.columns) != list(then.columns):
            return [f"{name}: columns {list(a.columns)} != {list(then.columns)}"]
        if len(a) != len(then):
            return [f"{name}: {len(a)} rows != {len(then)}"]
        return [f"{name}: column {c}" for c in a.columns if not _same_column(a[c], then[c])]
    now = json.loads(json.dumps(now, default=build._json_default))
    if now != then:
        return [f"{name}: {now!r} != {then!r}"[:2000]]
    return []


def test_snapshot_names(values):
    now, then = values
    assert sorted(now) == sorted(then)


@pytest.mark.parametrize("part", ["regional", "municipal", "monitoring", "check", "cli"])
def test_snapshot_unchanged(values, part):
    now, then = values
    diffs = [d for name in sorted(then) if name.startswith(part + "/") and name in now
             for d in _differences(name, now[name], then[name])]
    assert diffs == []
