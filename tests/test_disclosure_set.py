"""Suppression holds across the year's whole published set, not only within a note.

On the sample with one municipality cut to three students (one girl): the regional note hides it
and a second municipality; neither municipality's own note publishes its students (each renders
with the region only); and no municipality's band, sex or area group is recoverable by subtracting
the notes' counts from the region's (the municipality × group table is suppressed against both
margins once for the year).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from proforient_diag.diagnostics import conclusions, diagnose, load_waves, withheld_municipalities
from proforient_diag.diagnostics.coverage import coverage
from proforient_diag.diagnostics.disclosure import year_hidden
from proforient_diag.diagnostics.scope import make_scope
from proforient_diag.privacy import FLAG_HIDDEN

KEY = b"test-key-for-the-published-set-0123"
TINY = "MO21"


@pytest.fixture(scope="module")
def folder(root, tmp_path_factory):
    """The sample data folder with the 2026 export of one municipality cut to three students
    (one girl, two boys)."""
    import shutil
    dst = tmp_path_factory.mktemp("data") / "data"
    shutil.copytree(root / "data_samples", dst)
    f = dst / "diagnostics" / "2026" / f"{TINY}_2026.csv"
    d = pd.read_csv(f, dtype=str, keep_default_na=False)
    d = pd.concat([d[d["sex"] == "ж"].head(1), d[d["sex"] == "м"].head(2)])
    d.to_csv(f, index=False)
    return dst


@pytest.fixture(scope="module")
def tiny(folder, tmp_path_factory):
    return load_waves(folder, range(2018, 2027),
                      store_path=tmp_path_factory.mktemp("store") / "s.duckdb", key=KEY)


@pytest.fixture(scope="module")
def regional(tiny):
    return diagnose(tiny, 2026)


def test_the_small_municipality_and_its_complement_are_withheld(tiny, regional):
    withheld = withheld_municipalities(tiny, 2026)
    assert TINY in withheld and len(withheld) >= 2
    app = regional.appendix.set_index("municipality_code")
    assert (app.loc[sorted(withheld), "flag"] == FLAG_HIDDEN).all()
    assert app.loc[sorted(withheld), "n"].isna().all()


@pytest.mark.parametrize("which", ["tiny", "complement"])
def test_a_withheld_note_publishes_nothing_of_its_own(tiny, which):
    withheld = sorted(withheld_municipalities(tiny, 2026))
    code = TINY if which == "tiny" else next(m for m in withheld if m != TINY)
    d = diagnose(tiny, 2026, municipality=code)   # renders, does not fail on three students
    assert d.withheld and "не публикуются" in d.withheld_reason
    assert conclusions(d) == [d.withheld_reason]
    assert set(d.levels_band["band"]) == {"Регион"} and set(d.profiles["band"]) == {"Регион"}
    assert set(d.trend_years["group"]) == {"Регион"}
    assert d.coverage_municipality["n"].isna().all()
    for name in ("changes", "subgroup_changes", "cohorts", "reliability", "estimates",
                 "group_differences", "appendix"):
        assert getattr(d, name).empty, name


def test_no_municipal_group_is_recoverable_by_subtraction(tiny):
    sc = make_scope(tiny, 2026, compare_with=None, municipality=None, threshold=10,
                    linking="anchor", weights=None, trim=(0.05, 4.0), baseline=2018,
                    confidence=0.95)
    _, _, cm = coverage(sc)
    yh = year_hidden(sc.current_region, cm, 10)
    cur = sc.current_region
    for by in ("band", "sex", "area"):
        counts = cur.groupby(["municipality_code", cur[by].astype(object)]).size()
        hidden = {(m, v) for (m, v) in counts.index if m in yh.withheld or (m, v) in yh.cells[by]}
        # each group value (a column: its regional total is published) hides none or ≥ 2 cells
        for v in counts.index.get_level_values(1).unique():
            n_hid = sum(1 for (m, vv) in hidden if vv == v)
            assert n_hid != 1, (by, v)
        # a published municipality (a row: its total is in its note) hides none or ≥ 2 cells
        for m in set(counts.index.get_level_values(0)) - set(yh.withheld):
            n_hid = sum(1 for (mm, _) in hidden if mm == m)
            assert n_hid != 1, (by, m)
        # and nothing under the threshold is shown
        shown = [(k, n) for k, n in counts.items() if k not in hidden]
        assert all(n >= 10 for _, n in shown), by


def test_a_published_municipal_note_hides_the_year_s_cells(tiny):
    sc = make_scope(tiny, 2026, compare_with=None, municipality=None, threshold=10,
                    linking="anchor", weights=None, trim=(0.05, 4.0), baseline=2018,
                    confidence=0.95)
    _, _, cm = coverage(sc)
    yh = year_hidden(sc.current_region, cm, 10)
    code, band = next((m, v) for m, v in sorted(yh.cells["band"]) if m not in yh.withheld)
    d = diagnose(tiny, 2026, municipality=code)
    row = d.coverage_band.set_index("band").loc[band]
    assert row["flag"] == FLAG_HIDDEN and np.isnan(row["n"])
    lv = d.levels_band.set_index("band")
    assert lv.loc[band, "flag"] == FLAG_HIDDEN


def test_the_withheld_note_renders(folder, tmp_path, root, monkeypatch):
    """The short note of a withheld municipality runs as a notebook, says why, shows only the
    region, and passes the audit."""
    from proforient_diag.report.audit import audit_notes
    from proforient_diag.report.runner import run_note
    monkeypatch.setenv("PROFORIENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PROFORIENT_KEY", str(tmp_path / "k.key"))
    (tmp_path / "k.key").write_bytes(KEY)
    res = run_note(root / "notebooks" / "municipal_withheld.ipynb", tmp_path / "out",
                   {"year": 2026, "data_dir": str(folder), "municipality": TINY,
                    "suppress_threshold": 10}, name="withheld", title="Справка", formats=("html",))
    html = res.outputs["html"].read_text(encoding="utf-8")
    assert "не публикуются" in html and "Результаты региона" in html
    assert "Крапивинский" in html
    assert audit_notes(tmp_path / "out").empty
