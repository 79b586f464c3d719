"""Properties that must hold for any instrument and any response table (hypothesis).

* the accounting identity: every record of a file is accepted or excluded (rows = accepted +
  excluded), whatever the cells hold;
* scale scores and the index stay within 0–100 (POMP), means within the response scale;
* the order of the rows changes no score and no statistic;
* a respondent with every answer missing changes no statistic;
* pseudonyms are injective over (school, code): different students never share one.

About 11 000 generated cases in all (counts in ``settings``), a minute on one core.
"""
from __future__ import annotations

import itertools
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proforient_diag.instrument import load_instrument
from proforient_diag.ingest import read_responses
from proforient_diag.privacy import pseudonymise, student_key
from proforient_diag.psychometrics import alpha, item_analysis
from proforient_diag.scoring import score

KEY = b"property-test-key-0123456789abcdef"
_counter = itertools.count()


# -- random instruments ---------------------------------------------------------------------

def _random_spec(rng: np.random.Generator, i: int) -> dict:
    """A one-band instrument: 1–3 scales of 2–5 items on a scale of 2–7 codes, random reverse
    keys, thresholds of answering and cut scores."""
    lo = int(rng.integers(0, 2))
    hi = lo + int(rng.integers(1, 7))
    scales, items = [], []
    for s in range(int(rng.integers(1, 4))):
        sid, k = f"S{s}", int(rng.integers(2, 6))
        scales.append({"id": sid, "name": f"Шкала {s}", "min_answered": int(rng.integers(1, k + 1))})
        items += [{"id": f"{sid}I{j}", "scale": sid, "text": f"Утверждение {s}.{j}",
                   "reverse": bool(rng.integers(0, 2)), "bands": ["b"]} for j in range(k)]
    a = float(rng.uniform(5, 45))
    b = float(rng.uniform(a + 5, 95))
    return {"id": f"prop{i}", "version": 2026, "title": "Проверочный инструмент",
            "response_scales": {"r": {"name": "r", "min": lo, "max": hi,
                                      "labels": {c: f"код {c}" for c in range(lo, hi + 1)}}},
            "bands": [{"id": "b", "name": "Класс 8", "grades": [8], "response_scale": "r"}],
            "scales": scales, "levels": {"labels": ["низкий", "средний", "высокий"],
                                         "cuts": {"b": [round(a, 3), round(b, 3)]}},
            "items": items}


def _pool(folder: Path, n: int = 60) -> list:
    """``n`` random instruments, validated by ``load_instrument`` like any released version."""
    rng = np.random.default_rng(2026)
    out = []
    for i in range(n):
        path = folder / f"prop_{i}.yaml"
        path.write_text(yaml.safe_dump(_random_spec(rng, i), allow_unicode=True), encoding="utf-8")
        out.append(load_instrument(path))
    return out


_POOL_DIR = Path(tempfile.mkdtemp(prefix="proforient-properties-"))
POOL = _pool(_POOL_DIR)
instruments = st.sampled_from(POOL)


@st.composite
def answered(draw, inst, min_rows=2, max_rows=30):
    """A response table of the instrument: codes in range or missing (a drawn share), grade and
    band; cells from a drawn seed (hypothesis draws the shape, numpy the cells)."""
    rs = next(iter(inst.response_scales.values()))
    n = draw(st.integers(min_rows, max_rows))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    x = rng.integers(rs.min, rs.max + 1, size=(n, len(inst.item_ids))).astype(float)
    x[rng.random(x.shape) < draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))] = np.nan
    df = pd.DataFrame(x, columns=inst.item_ids)
    df.insert(0, "band", "b")
    df.insert(0, "grade", 8)
    return df


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("properties")


# -- accounting identity ---------------------------------------------------------------------

_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "абвгдАБВГ ,;\"'=-+@.\n\t",
                max_size=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(inst=instruments, data=st.data())
def test_every_record_is_accounted_for(inst, data, folder):
    n = data.draw(st.integers(0, 15))
    cols = ["respondent_id", "school_id", "municipality", "grade", "sex", *inst.item_ids]
    rows = [[data.draw(_TEXT) for _ in cols] for _ in range(n)]
    good = data.draw(st.integers(0, 5))
    rows += [[f"C{i}", "MO01-001", "MO01", "8", "ж",
              *[str(next(iter(inst.response_scales.values())).max)] * len(inst.item_ids)]
             for i in range(good)]
    path = folder / f"answers_{next(_counter)}.csv"
    pd.DataFrame(rows, columns=cols).to_csv(path, index=False)
    if not rows:
        return
    res = read_responses(path, inst.path, year=2026)
    f = res.files.iloc[0]
    assert f["rows"] == f["accepted"] + f["excluded"]
    assert f["accepted"] == len(res.responses) and f["excluded"] == len(res.exclusions)
    assert f["accepted"] >= good


# -- scores ----------------------------------------------------------------------------------

@settings(max_examples=2500, deadline=None)
@given(inst=instruments, data=st.data())
def test_scores_stay_within_their_bounds(inst, data):
    df = data.draw(answered(inst))
    sc = score(df, inst).scores
    rs = next(iter(inst.response_scales.values()))
    for s in inst.scale_ids:
        x = sc[s].dropna()
        assert ((x >= -1e-9) & (x <= 100 + 1e-9)).all()
        m = sc[f"{s}_mean"].dropna()
        assert ((m >= rs.min - 1e-9) & (m <= rs.max + 1e-9)).all()
    t = sc["total"].dropna()
    assert ((t >= -1e-9) & (t <= 100 + 1e-9)).all()
    assert set(sc["level"].dropna().astype(str)) <= {"низкий", "средний", "высокий"}


@settings(max_examples=2500, deadline=None)
@given(inst=instruments, data=st.data())
def test_row_order_changes_no_score(inst, data):
    df = data.draw(answered(inst))
    perm = data.draw(st.permutations(list(range(len(df)))))
    a = score(df, inst).scores
    b = score(df.iloc[perm], inst).scores.loc[a.index]
    cols = [*inst.scale_ids, "total"]
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), equal_nan=True)


def _complete(df, items):
    x = df[items]
    return x.loc[:, x.notna().sum() >= 3]


@settings(max_examples=2500, deadline=None)
@given(n=st.integers(4, 40), k=st.integers(2, 6), seed=st.integers(0, 10 ** 6),
       data=st.data())
def test_row_order_and_an_empty_respondent_change_no_statistic(n, k, seed, data):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    x = np.clip(np.round(3 + f + rng.normal(size=(n, k))), 1, 5)
    x[rng.random(size=x.shape) < 0.1] = np.nan
    df = pd.DataFrame(x, columns=[f"i{j}" for j in range(k)])
    if (df.notna().sum() < 3).any() or (df.nunique() < 2).any():
        return
    try:
        base = item_analysis(df)
        a0 = alpha(df).alpha
    except Exception:   # data a statistic refuses (a constant pair…): refused either way
        return
    perm = data.draw(st.permutations(list(range(n))))
    shuffled = df.iloc[perm].reset_index(drop=True)
    with_empty = pd.concat([df, pd.DataFrame([[np.nan] * k], columns=df.columns)],
                           ignore_index=True)
    for other in (shuffled, with_empty):
        pd.testing.assert_frame_equal(item_analysis(other)[["mean", "sd", "r_drop"]],
                                      base[["mean", "sd", "r_drop"]], rtol=1e-9, atol=1e-12)
    assert alpha(shuffled).alpha == pytest.approx(a0, rel=1e-12, abs=1e-12)


# -- pseudonyms ------------------------------------------------------------------------------

_CODE = st.text(alphabet=string.ascii_letters + string.digits + "-_ ./", min_size=1, max_size=8)


@settings(max_examples=3500, deadline=None)
@given(pairs=st.lists(st.tuples(_CODE, _CODE), min_size=1, max_size=40))
def test_pseudonyms_are_injective_over_school_and_code(pairs):
    schools = pd.Series([p[0] for p in pairs])
    codes = pd.Series([p[1] for p in pairs])
    pid = pseudonymise(student_key(schools, codes), KEY)
    students = pd.Series([f"{a.strip()}\x00{b.strip()}" for a, b in pairs])
    # one pseudonym per student, and different students get different pseudonyms
    frame = pd.DataFrame({"student": students, "pid": pid})
    assert frame.groupby("student")["pid"].nunique().max() == 1
    assert frame.groupby("pid")["student"].nunique().max() == 1
