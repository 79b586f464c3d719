"""Monitoring forms in the store: counts equal read_forms', idempotent reloads, replacement of a
corrected form file, all-or-nothing loads, one form per school-year across loads, no person's
name stored, and load_monitoring through a named store and the notes' cache store."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from proforient_diag.errors import InputFileError, StoreError
from proforient_diag.datafolder import cache_store_path
from proforient_diag.forms import read_forms
from proforient_diag.monitoring import aggregate
from proforient_diag.sources import load_monitoring
from proforient_diag.store import NAME_MASK, Store, StoreLockedError, with_store

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
YEARS = (2025, 2026)
CSV = "monitoring_2026_MO07.csv"   # cp1251, «;», two schools of MO07, nothing excluded
SCHOOL = "MO07-001"                # its first row


@pytest.fixture(scope="module")
def reference(register, spec):
    schools, enrolment = register
    return read_forms([SAMPLES / "monitoring" / str(y) for y in YEARS], schools=schools,
                      enrolment=enrolment, spec=spec)


@pytest.fixture()
def env(tmp_path):
    data = tmp_path / "data"
    for y in YEARS:
        shutil.copytree(SAMPLES / "monitoring" / str(y), data / "monitoring" / str(y))
    for name in ("schools.csv", "school_enrolment.csv"):
        shutil.copy(SAMPLES / name, data / name)
    return {"tmp": tmp_path, "data": data, "db": tmp_path / "store" / "proforient.duckdb"}


def load_both(st: Store, env, register, spec):
    schools, enrolment = register
    return [st.load_forms(y, env["data"] / "monitoring" / str(y), schools=schools,
                          enrolment=enrolment, spec=spec) for y in YEARS]


def snapshot(st: Store) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every table."""
    return {t: st.con.execute(
        f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), '|' "
        f"ORDER BY CAST(t AS VARCHAR)), '')) FROM {t} t").fetchone() for t in st.table_counts()}


def edited_csv(src: Path, dest: Path, edit) -> Path:
    """Copy a cp1251 «;» form with ``edit(rows)`` applied to its cells (header is rows[0])."""
    lines = src.read_bytes().decode("cp1251").replace("\r\n", "\n").rstrip("\n").split("\n")
    rows = [ln.split(";") for ln in lines]
    edit(rows)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(("\r\n".join(";".join(r) for r in rows) + "\r\n").encode("cp1251"))
    return dest


def set_cell(header_start: str, school: str, value: str):
    def edit(rows):
        j = next(j for j, h in enumerate(rows[0]) if h.startswith(header_start))
        next(r for r in rows[1:] if r[0] == school)[j] = value
    return edit


def test_counts_equal_read_forms(env, register, spec, reference):
    with Store(env["db"]) as st:
        reps = load_both(st, env, register, spec)
        counts = st.table_counts()
        loads = st.form_loads()
        forms = st.forms()
        excl, issues = st.form_exclusions(), st.form_issues()
        assert st.years() == []          # the waves' years: no answer sheets were loaded
        mo07 = st.forms(2026, municipality="mo07")
    assert [r.files["status"].tolist() for r in reps] == [["добавлен"] * 3] * 2
    assert [r.load_id for r in reps] == [1, 2] and all(r.kind == "monitoring" for r in reps)
    assert reps[1].summary() == ("Загрузка форм мониторинга 2026 года: 3 файла добавлено. "
                                 "Принято форм: 630, исключено: 3 (загрузка № 2).")
    ref = reference
    assert counts["forms"] == len(ref.forms) == 1255
    assert counts["form_exclusions"] == len(ref.exclusions) == 6
    assert counts["form_issues"] == len(ref.issues) >= 6
    assert counts["loads"] == counts["responses"] == 0
    # per file as read_forms, and rows = accepted + excluded
    want = ref.files.assign(file=ref.files["file"].map(lambda f: Path(f).name)).set_index("file")
    got = loads.set_index("file").loc[want.index]
    assert got["sha256"].tolist() == want["sha256"].tolist()
    for c in ("rows", "accepted", "excluded"):
        assert got[c].astype(int).tolist() == want[c].astype(int).tolist(), c
    assert (got["rows"] == got["accepted"] + got["excluded"]).all()
    assert got["issues"].sum() == len(ref.issues)
    # the rows and values are read_forms', in its order
    cols = [c for c in ref.forms.columns if c != "source_file"]
    assert forms.columns[:4].tolist() == ["year", "file", "sheet", "source_row"]
    pd.testing.assert_frame_equal(forms[cols], ref.forms[cols])
    assert set(forms.loc[forms["file"] == "monitoring_2026.xlsx", "sheet"]) == {"Форма"}
    assert sorted(excl["reason"].str.split(" ").str[0]) == sorted(
        ref.exclusions["reason"].str.split(" ").str[0])
    assert sorted(issues["value"].astype(str)) == sorted(ref.issues["value"].astype(str))
    assert mo07["school_id"].tolist() == ref.forms.query(
        "year == 2026 and municipality_code == 'MO07'")["school_id"].tolist()


def test_aggregate_on_store_forms_equals_read_forms(env, register, spec, reference):
    with Store(env["db"]) as st:
        load_both(st, env, register, spec)
        stored = st.forms(2026)
    ref = reference.forms[reference.forms["year"] == 2026]
    for level in ("municipality", "region"):
        pd.testing.assert_frame_equal(aggregate(stored, spec, level), aggregate(ref, spec, level))


def test_reload_changes_nothing(env, register, spec):
    with Store(env["db"]) as st:
        load_both(st, env, register, spec)
        before = snapshot(st)
        reps = load_both(st, env, register, spec)
        assert snapshot(st) == before
    for r in reps:
        assert r.files["status"].tolist() == ["без изменений"] * 3
        assert r.load_id is None and not r.changed
        assert r.summary().endswith("Хранилище не изменилось.")
        assert r.files["accepted"].notna().all()  # counts of the stored versions


def test_corrected_copy_replaces_its_rows(env, register, spec):
    schools, enrolment = register
    fixed = edited_csv(env["data"] / "monitoring" / "2026" / CSV, env["tmp"] / "corrected" / CSV,
                       set_cell("1.4.", SCHOOL, "5"))
    with Store(env["db"]) as st:
        load_both(st, env, register, spec)
        n_before = st.table_counts()
        old = st.forms(2026, school=SCHOOL)
        assert old["i1_4"].iat[0] != 5
        rep = st.load_forms(2026, fixed, schools=schools, enrolment=enrolment, spec=spec)
        assert rep.files["status"].tolist() == ["заменён"]
        assert rep.files["previous_accepted"].iat[0] == rep.files["accepted"].iat[0] == 2
        n_after = st.table_counts()
        assert n_after == {**n_before, "form_loads": n_before["form_loads"] + 1}  # + history
        forms = st.forms()
        assert not forms.duplicated(["year", "school_id"]).any()
        new = st.forms(2026, school=SCHOOL)
        assert new["i1_4"].iat[0] == 5
        other = [c for c in old.columns if c not in ("i1_4",)]
        pd.testing.assert_frame_equal(new[other], old[other])
        hist = st.form_loads().query("file == @CSV")
        assert hist["current"].tolist() == [False, True]
        assert hist["replaced_by"].iat[0] == hist["load_id"].iat[1] == 3
        # the same file with a changed register is read again: the enrolment decides n_students
        enr = enrolment.copy()
        hit = (enr["year"] == 2026) & (enr["school_id"] == SCHOOL)
        enr.loc[hit, "n_students"] = enr.loc[hit, "n_students"] + 7
        rep = st.load_forms(2026, fixed, schools=schools, enrolment=enr, spec=spec)
        assert rep.files["status"].tolist() == ["заменён"]
        assert "справочник" in rep.files["note"].iat[0]
        assert st.forms(2026, school=SCHOOL)["n_students"].iat[0] == enr.loc[hit, "n_students"].iat[0]
        assert st.table_counts()["forms"] == n_before["forms"]


def test_broken_file_among_good_ones_changes_nothing(env, register, spec, monkeypatch):
    schools, enrolment = register
    fixed = edited_csv(env["data"] / "monitoring" / "2026" / CSV, env["tmp"] / "corrected" / CSV,
                       set_cell("1.4.", SCHOOL, "5"))
    broken = env["tmp"] / "more" / "monitoring_2026_MO99.csv"
    broken.parent.mkdir()
    broken.write_bytes(b"\x00\x01\x02 not a table")
    with Store(env["db"]) as st:
        st.load_forms(2026, env["data"] / "monitoring" / "2026", schools=schools,
                      enrolment=enrolment, spec=spec)
        st.load_forms(2025, env["data"] / "monitoring" / "2025" / "monitoring_2025_MO03.csv",
                      schools=schools, enrolment=enrolment, spec=spec)
        before = snapshot(st)
        good_new = env["data"] / "monitoring" / "2025" / "monitoring_2025.xlsx"
        with pytest.raises(InputFileError):
            st.load_forms(2025, [good_new, broken], schools=schools, enrolment=enrolment, spec=spec)
        with pytest.raises(InputFileError):
            st.load_forms(2026, [fixed, broken], schools=schools, enrolment=enrolment, spec=spec)
        assert snapshot(st) == before

        # a write fails inside the transaction, after the replaced file's rows were deleted
        real = Store._insert
        calls = []

        def failing(self, table, frame):
            calls.append(table)
            if table == "forms":
                raise OSError("disk full")
            return real(self, table, frame)
        with monkeypatch.context() as m:
            m.setattr(Store, "_insert", failing)
            with pytest.raises(StoreError, match="хранилище оставлено без изменений"):
                st.load_forms(2026, fixed, schools=schools, enrolment=enrolment, spec=spec)
        assert calls == ["form_loads", "forms"]
        assert snapshot(st) == before
        # without the failure the same load goes through
        rep = st.load_forms(2026, fixed, schools=schools, enrolment=enrolment, spec=spec)
        assert rep.files["status"].tolist() == ["заменён"]


def test_one_form_per_school_year_across_loads(env, register, spec):
    schools, enrolment = register

    def edit(rows):
        rows[1][2] = "2025"          # MO07-001: a form of another year
        rows[2][7] = "9"             # MO07-002: a second form of a school already stored
    resend = edited_csv(env["data"] / "monitoring" / "2026" / CSV,
                        env["tmp"] / "resend" / "monitoring_2026_MO07_resend.csv", edit)
    with Store(env["db"]) as st:
        st.load_forms(2026, env["data"] / "monitoring" / "2026", schools=schools,
                      enrolment=enrolment, spec=spec)
        n = st.table_counts()["forms"]
        rep = st.load_forms(2026, resend, schools=schools, enrolment=enrolment, spec=spec)
        assert st.table_counts()["forms"] == n
        ex = st.form_exclusions(2026, file=resend.name).set_index("school_id")
        fl = st.form_loads(current=True).set_index("file").loc[resend.name]
    assert rep.files[["rows", "accepted", "excluded"]].iloc[0].tolist() == [2, 0, 2]
    assert fl["rows"] == fl["accepted"] + fl["excluded"]
    assert ex.loc["MO07-001", "reason"].startswith("форма за 2025 год среди форм 2026 года")
    assert ex.loc["MO07-002", "reason"] == ("повторная форма ОО за 2026 год (принята ранее: "
                                            f"{CSV}, строка 3); оставьте в файлах одну форму")


def test_no_person_name_is_stored(env, register, spec):
    schools, enrolment = register
    names = ["Сидорова Анна Викторовна", "Петров П. П."]

    def edit(rows):
        rows[0].append("ФИО ответственного")
        for r, name in zip(rows[1:], names):
            r.append(name)
        j = next(j for j, h in enumerate(rows[0]) if h.startswith("2.1."))
        rows[1][j] = "Иванова М.П."    # a name written into a yes/no cell
    src = env["data"] / "monitoring" / "2026" / CSV
    named = edited_csv(src, env["tmp"] / "named" / CSV, edit)
    with Store(env["db"]) as st:
        rep = st.load_forms(2026, named, schools=schools, enrolment=enrolment, spec=spec)
        tables = {t: st.con.execute(f"SELECT * FROM {t}").fetchdf() for t in st.table_counts()}
    assert rep.files["accepted"].iat[0] == 2 and rep.files["issues"].iat[0] == 1
    iss = tables["form_issues"]
    assert iss["value"].tolist() == [NAME_MASK] and iss["column"].iat[0].startswith("2.1.")
    for t, df in tables.items():
        text = " ".join(" ".join(df[c].dropna().astype(str)) for c in df.columns)
        for word in ("Сидорова", "Петров", "Иванова", "ФИО ответственного"):
            assert word not in text, (t, word)
    blob = b"".join(p.read_bytes() for p in env["db"].parent.iterdir())
    for word in ("Сидорова", "Петров", "Иванова"):
        assert word.encode("utf-8") not in blob


def test_load_monitoring_through_a_named_store(env, register, spec, reference):
    db = env["tmp"] / "named.duckdb"
    res = load_monitoring(env["data"], range(2018, 2027), store_path=db, spec=spec)
    assert res.years == YEARS and res.missing_years == tuple(range(2018, 2025))
    assert res.store_path == str(db)
    assert [r.files["status"].unique().tolist() for r in res.reports] == [["добавлен"]] * 2
    ref = reference
    pd.testing.assert_frame_equal(res.forms.drop(columns="source_file"),
                                  ref.forms.drop(columns="source_file"))
    assert res.forms["source_file"].iat[0] == "monitoring_2025.xlsx [Форма]"
    pd.testing.assert_frame_equal(res.completeness, ref.completeness)
    pd.testing.assert_frame_equal(res.missing_schools, ref.missing_schools)
    assert len(res.exclusions) == len(ref.exclusions) and len(res.issues) == len(ref.issues)
    f = res.files
    assert (f["rows"] == f["accepted"] + f["excluded"]).all()
    assert f["accepted"].sum() == len(res.forms)
    # the per-file reasons include a workbook's sheet rows
    s = res.summary().set_index(["Год", "Файл"])
    assert "повторная форма" in s.loc[("2026", "monitoring_2026.xlsx"), "Причины исключения"]
    # again: only read back
    again = load_monitoring(env["data"], [2025, 2026], store_path=db, spec=spec)
    assert all(not r.changed for r in again.reports)
    pd.testing.assert_frame_equal(again.forms, res.forms)
    # a file gone from the folder: a named store is not silently changed
    (env["data"] / "monitoring" / "2026" / CSV).unlink()
    with pytest.raises(StoreError, match="больше нет в папке"):
        load_monitoring(env["data"], [2026], store_path=db, spec=spec)
    with pytest.raises(InputFileError, match="нет папки с формами мониторинга за 2027"):
        load_monitoring(env["data"], [2026, 2027], store_path=db, spec=spec)


def test_load_monitoring_cache_store_is_the_waves_one(env, spec, monkeypatch, reference):
    from proforient_diag.diagnostics import load_waves
    from proforient_diag.privacy import create_key, load_key

    cache = env["tmp"] / "cache"
    monkeypatch.setenv("PROFORIENT_CACHE", str(cache))
    key = load_key(create_key(env["tmp"] / "k.key"))
    monkeypatch.setenv("PROFORIENT_KEY", (env["tmp"] / "k.key").read_text().strip())
    # one small wave in the same data folder: load_waves names the cache store
    wave = env["data"] / "diagnostics" / "2026"
    wave.mkdir(parents=True)
    shutil.copy(SAMPLES / "diagnostics" / "2026" / "MO17_2026.csv", wave)
    waves = load_waves(env["data"], [2026])
    path = cache_store_path(env["data"], key)
    assert waves.store_path == str(path) and path.parent == cache / "stores"
    res = load_monitoring(env["data"], YEARS, spec=spec)
    assert res.store_path == str(path)
    with Store(path, read_only=True) as st:
        counts = st.table_counts()
    assert counts["forms"] == len(res.forms) == len(reference.forms)
    assert counts["responses"] == len(waves.scores) > 0   # the wave is still there
    # a form file deleted from the folder leaves the cache store too; its schools are missing
    (env["data"] / "monitoring" / "2026" / CSV).unlink()
    res2 = load_monitoring(env["data"], YEARS, spec=spec)
    assert len(res2.forms) == len(res.forms) - 2
    assert {"MO07-001", "MO07-002"} <= set(res2.missing_schools.query("year == 2026")["school_id"])
    with Store(path, read_only=True) as st:
        assert st.table_counts()["responses"] == counts["responses"]
        assert CSV not in set(st.form_loads(current=True)["file"])


def test_with_store_waits_then_uses_a_private_store(tmp_path):
    path = tmp_path / "held.duckdb"
    Store(path).close()
    ready = tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "open(sys.argv[2], 'w').close(); time.sleep(60)",
                               str(path), str(ready)])
    try:
        for _ in range(200):
            if ready.exists():
                break
            time.sleep(0.05)
        with pytest.raises(StoreLockedError, match="открыто для записи другим процессом"):
            with_store(path, lambda st: None)
        got, used = with_store(path, lambda st: str(st.path), cache=True, attempts=2, wait=0.1)
        assert used is None and got != str(path) and not Path(got).exists()
    finally:
        holder.terminate()
        holder.wait(10)
    got, used = with_store(path, lambda st: st.table_counts()["forms"], cache=True)
    assert (got, used) == (0, path)
