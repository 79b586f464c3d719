"""The multi-year store: counts equal ingest's, idempotent reloads, replacement of a corrected file,
all-or-nothing loads, no original ids and no key in the database file."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from proforient_diag.store import prepare as store_prepare
from proforient_diag.errors import InputFileError, PrivacyError, StoreError
from proforient_diag.ingest import read_responses
from proforient_diag.instrument import load_instrument
from proforient_diag.privacy import create_key, load_key, pseudonymise, student_key
from proforient_diag.scoring import score
from proforient_diag.store import Store

YEAR = 2026
SAMPLES = Path(__file__).resolve().parents[1] / "data_samples" / "diagnostics" / str(YEAR)
# small files: a cp1251 CSV with two invalid answers, a one-sheet XLSX with one excluded row
CSV, XLSX = "MO17_2026.csv", "MO19_2026_1-4.xlsx"

pytestmark = pytest.mark.filterwarnings("ignore:Mean of empty slice:RuntimeWarning")


@pytest.fixture()
def env(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in (CSV, XLSX):
        shutil.copy(SAMPLES / name, data / name)
    key_path = create_key(tmp_path / "school.key")
    return {"tmp": tmp_path, "data": data, "files": [data / CSV, data / XLSX],
            "db": tmp_path / "store" / "proforient.duckdb", "key": load_key(key_path),
            "key_text": key_path.read_text().strip()}


def snapshot(st: Store) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of every table."""
    out = {}
    for t in st.table_counts():
        out[t] = st.con.execute(
            f"SELECT count(*), md5(coalesce(string_agg(CAST(t AS VARCHAR), '|' "
            f"ORDER BY CAST(t AS VARCHAR)), '')) FROM {t} t").fetchone()
    return out


def modified_copy(src: Path, dest_dir: Path) -> tuple[Path, int, str, str]:
    """Copy the CSV under the same name with one answer (the first coded 1–3) changed.

    Returns the path, the row (as a spreadsheet numbers it), the item and the new code.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    text = src.read_bytes().decode("cp1251")
    lines = text.split("\n")
    header = lines[0].rstrip("\r").split(";")
    items = set(load_instrument("psd", year=YEAR).item_ids)
    i, j = next((i, j) for i in range(1, len(lines))
                for j, (h, v) in enumerate(zip(header, lines[i].rstrip("\r").split(";")))
                if h in items and v.strip() in {"1", "2", "3"})
    cells = lines[i].rstrip("\r").split(";")
    new = "3" if cells[j].strip() != "3" else "2"
    cells[j] = new
    lines[i] = ";".join(cells) + ("\r" if lines[i].endswith("\r") else "")
    out = dest_dir / src.name
    out.write_bytes("\n".join(lines).encode("cp1251"))
    return out, i + 1, header[j], new


def test_load_counts_equal_ingest(env):
    ing = read_responses(env["files"], year=YEAR)
    with Store(env["db"]) as st:
        rep = st.load(YEAR, env["files"], key=env["key"])
        counts = st.table_counts()
        loads = st.loads()
        resp = st.responses()
        sc = st.scores()
        assert st.years() == [YEAR]
    assert rep.files["status"].tolist() == ["добавлен", "добавлен"]
    assert rep.load_id == 1 and rep.changed
    assert rep.summary().startswith("Загрузка 2026 года: 2 файла добавлено.")
    assert counts["responses"] == len(ing.responses) > 50
    assert counts["scores"] == len(ing.responses)
    assert counts["exclusions"] == len(ing.exclusions) >= 1
    assert counts["issues"] == len(ing.issues) >= 1
    items = load_instrument("psd", year=YEAR).item_ids
    assert counts["answers"] == int(ing.responses[items].notna().to_numpy().sum())
    # per-file accounting as ingest's
    got = loads.set_index("file")[["sha256", "rows", "accepted", "excluded"]]
    want = ing.files.assign(file=ing.files["file"].map(lambda f: Path(f).name)).set_index("file")
    pd.testing.assert_frame_equal(got.loc[want.index].astype({"rows": int, "accepted": int,
                                                              "excluded": int}),
                                  want[["sha256", "rows", "accepted", "excluded"]],
                                  check_dtype=False)
    rf = rep.files.set_index("file")
    for name in (CSV, XLSX):
        one = read_responses(env["data"] / name, year=YEAR)
        assert rf.loc[name, ["rows", "accepted", "excluded", "issues"]].tolist() == [
            *one.files[["rows", "accepted", "excluded"]].iloc[0].tolist(), len(one.issues)]
    # the long answers widen back to ingest's item matrix, cell for cell
    ing_r = ing.responses.assign(file=ing.responses["source_file"].map(
        lambda s: Path(re.sub(r" \[[^\]]*\]$", "", s)).name))
    ing_r = ing_r.sort_values(["file", "source_row"]).reset_index(drop=True)
    resp = resp.sort_values(["file", "source_row"]).reset_index(drop=True)
    assert resp.columns[:15].tolist()[:5] == ["year", "file", "sheet", "source_row", "respondent_pid"]
    cols = [c for c in items if c in ing_r.columns]
    assert [c for c in resp.columns if c in items] == cols
    np.testing.assert_array_equal(resp[cols].to_numpy(), ing_r[cols].to_numpy())
    # the pseudonym of a student is of the school and the code the school assigned
    assert resp["respondent_pid"].tolist() == pseudonymise(
        student_key(ing_r["school_id"], ing_r["respondent_id"]), env["key"]).tolist()
    assert set(resp.loc[resp["file"] == XLSX, "sheet"]) == {"Анкета"}
    # the scores are score()'s
    ref = score(ing_r, load_instrument("psd", year=YEAR)).scores
    sc = sc.sort_values(["file", "source_row"]).reset_index(drop=True)
    np.testing.assert_allclose(sc["total"].to_numpy(), ref["total"].to_numpy(), rtol=0, atol=1e-12)
    assert sc["level"].cat.categories.tolist() == ["низкий", "средний", "высокий"]
    assert sc["level"].astype(str).tolist() == ref["level"].astype(str).tolist()
    assert "respondent_id" not in sc.columns and "source_file" not in sc.columns
    # filters
    with Store(env["db"], read_only=True) as st:
        n17 = int((resp["municipality_code"] == "MO17").sum())
        assert n17 > 0 and len(st.scores(municipality="mo17")) == n17
        assert len(st.scores(municipality="Беловский муниципальный округ")) == n17
        assert len(st.responses(years=2025)) == 0
        assert len(st.exclusions(file=XLSX)) == 1


def test_reload_changes_nothing(env):
    with Store(env["db"]) as st:
        st.load(YEAR, env["files"], key=env["key"])
        before = snapshot(st)
        rep = st.load(YEAR, env["data"], key=env["key"])  # the folder this time
        after = snapshot(st)
    assert after == before
    assert rep.files["status"].tolist() == ["без изменений", "без изменений"]
    assert rep.load_id is None and not rep.changed
    assert rep.files.set_index("file").loc[CSV, "accepted"] == len(
        read_responses(env["data"] / CSV, year=YEAR).responses)
    assert rep.summary() == ("Загрузка 2026 года: 2 файла без изменений. "
                             "Хранилище не изменилось.")


def test_corrected_file_replaces_its_rows(env):
    with Store(env["db"]) as st:
        st.load(YEAR, env["files"], key=env["key"])
        n_before = st.table_counts()
        old = st.responses(municipality="MO17")
        fixed, row, item, new = modified_copy(env["data"] / CSV, env["tmp"] / "corrected")
        rep = st.load(YEAR, [fixed, env["data"] / XLSX], key=env["key"])
        n_after = st.table_counts()
        resp = st.responses()
        loads = st.loads()
        sc = st.scores()
    status = rep.files.set_index("file")["status"]
    assert status[CSV] == "заменён" and status[XLSX] == "без изменений"
    assert rep.files.set_index("file").loc[CSV, "previous_accepted"] == len(old)
    assert "1 файл заменён" in rep.summary()
    # replaced, not duplicated
    for t in ("responses", "scores", "exclusions", "issues", "answers"):
        assert n_after[t] == n_before[t], t
    assert n_after["loads"] == 3
    assert resp["respondent_pid"].is_unique and sc["respondent_pid"].is_unique
    changed = resp[(resp["file"] == CSV) & (resp["source_row"] == row)]
    assert changed[item].tolist() == [float(new)]
    assert old.loc[old["source_row"] == row, item].tolist() != [float(new)]
    hist = loads[loads["file"] == CSV].sort_values("load_id")
    assert hist["current"].tolist() == [False, True]
    assert hist["replaced_by"].iloc[0] == hist["load_id"].iloc[1] == rep.load_id
    assert hist["status"].tolist() == ["добавлен", "заменён"]
    assert set(resp.loc[resp["file"] == CSV, "year"]) == {YEAR}


def test_same_respondents_under_another_name_are_excluded(env):
    n = len(read_responses(env["data"] / CSV, year=YEAR).responses)
    with Store(env["db"]) as st:
        st.load(YEAR, [env["data"] / CSV], key=env["key"])
        copy, *_ = modified_copy(env["data"] / CSV, env["tmp"] / "copy")
        renamed = copy.with_name("MO17_2026_again.csv")
        copy.rename(renamed)
        rep = st.load(YEAR, [renamed], key=env["key"])
        counts = st.table_counts()
        excl = st.exclusions(file=renamed.name)
    f = rep.files.iloc[0]
    assert (f["status"], f["accepted"], f["excluded"]) == ("добавлен", 0, n)
    assert f["rows"] == n and counts["responses"] == n
    assert len(excl) == n and excl["reason"].str.startswith("повторная анкета участника").all()
    # the identical content under a third name is recognised without reading it
    third = env["tmp"] / "third" / "MO17_2026_copy.csv"
    third.parent.mkdir()
    shutil.copy(env["data"] / CSV, third)
    with Store(env["db"]) as st:
        rep = st.load(YEAR, [third], key=env["key"])
    assert rep.files["status"].tolist() == ["без изменений"]
    assert "MO17_2026.csv" in rep.files["note"].iat[0]


def test_failed_loads_leave_the_store_as_it_was(env, monkeypatch):
    broken = env["tmp"] / "MO99_2026.csv"
    broken.write_bytes(b"\x00\x01\x02 not a table")
    fixed, *_ = modified_copy(env["data"] / CSV, env["tmp"] / "corrected")
    extra = env["tmp"] / "more" / "MO26_2026.csv"
    extra.parent.mkdir()
    shutil.copy(SAMPLES / "MO26_2026.csv", extra)
    with Store(env["db"]) as st:
        st.load(YEAR, env["files"], key=env["key"])
        before = snapshot(st)

        # a broken file among good ones
        with pytest.raises(InputFileError):
            st.load(YEAR, [extra, broken, fixed], key=env["key"])
        assert snapshot(st) == before

        # scoring fails
        def boom(*a, **k):
            raise RuntimeError("scoring failed")
        with monkeypatch.context() as m:
            m.setattr(store_prepare, "score", boom)
            with pytest.raises(RuntimeError):
                st.load(YEAR, [extra, fixed], key=env["key"])
        assert snapshot(st) == before

        # a write fails inside the transaction, after the replaced file's rows were deleted,
        # the loads row, items and responses inserted and the scores table widened
        calls = []
        real = Store._insert

        def failing(self, table, frame):
            calls.append(table)
            if table == "issues":
                raise OSError("disk full")
            return real(self, table, frame)
        with monkeypatch.context() as m:
            m.setattr(Store, "_insert", failing)
            with pytest.raises(StoreError, match="хранилище оставлено без изменений"):
                st.load(YEAR, [extra, fixed], key=env["key"])
        assert calls[:3] == ["loads", "responses", "answers"] and "scores" in calls
        assert snapshot(st) == before

        # a key other than the store's is refused
        with pytest.raises(StoreError, match="ключ псевдонимизации отличается"):
            st.load(YEAR, [extra], key=b"another-key-of-sixteen-bytes")
        assert snapshot(st) == before

        # and the same load, without the failure, goes through
        rep = st.load(YEAR, [extra, fixed], key=env["key"])
        assert rep.files["status"].tolist() == ["добавлен", "заменён"]
        assert st.table_counts()["responses"] == before["responses"][0] + rep.files["accepted"].iat[0]


def test_no_original_id_and_no_key_in_the_database(env, monkeypatch):
    extra = SAMPLES / "MO26_2026.csv"
    ing = read_responses([*env["files"], extra], year=YEAR)
    originals = set()
    for frame in (ing.responses, ing.exclusions, ing.issues):
        ids = frame["respondent_id"].dropna().astype(str).str.strip()
        originals |= set(ids[ids != ""])
    assert len(originals) >= len(ing.responses) > 0
    monkeypatch.setenv("PROFORIENT_KEY", env["key_text"])
    with Store(env["db"]) as st:
        st.load(YEAR, env["files"], key=None)  # the key from PROFORIENT_KEY
        st.load(YEAR, [extra], key=env["key"])
        tables = {t: st.con.execute(f"SELECT * FROM {t}").fetchdf() for t in st.table_counts()}
        pids = set(tables["responses"]["respondent_pid"])
    assert pids == set(pseudonymise(student_key(ing.responses["school_id"],
                                                ing.responses["respondent_id"]), env["key"]))
    token = re.compile(r"[0-9A-Za-zА-Яа-яЁё_\-]+")
    for t, df in tables.items():
        assert not any("respondent_id" == c for c in df.columns), t
        for c in df.columns:
            vals = df[c].dropna().astype(str)
            assert not (set(vals) & originals), (t, c)
            tokens = set(token.findall(" ".join(vals)))
            assert not (tokens & originals), (t, c)
    # the key (bytes, hex text) is nowhere in the database file or its WAL
    blob = b"".join(p.read_bytes() for p in env["db"].parent.iterdir()
                    if p.name.startswith(env["db"].name))
    assert env["key"] not in blob
    assert env["key_text"].encode() not in blob
    assert env["key"].hex().encode() not in blob


def test_read_only_and_errors(env, monkeypatch):
    with pytest.raises(StoreError, match="хранилище не найдено"):
        Store(env["db"], read_only=True)
    with Store(env["db"]) as st:
        st.load(YEAR, env["files"], key=env["key"])
        with pytest.raises(StoreError, match="одинаковым именем"):
            other = env["tmp"] / "other" / CSV
            other.parent.mkdir()
            shutil.copy(env["data"] / CSV, other)
            st.load(YEAR, [env["data"] / CSV, other], key=env["key"])
        monkeypatch.delenv("PROFORIENT_KEY", raising=False)
        with pytest.raises(PrivacyError):
            st.load(YEAR, env["files"], key=None)
    with Store(env["db"], read_only=True) as st:
        assert st.table_counts()["responses"] == len(read_responses(env["files"], year=YEAR).responses)
        with pytest.raises(StoreError, match="только для чтения"):
            st.load(YEAR, env["files"], key=env["key"])
    not_store = env["tmp"] / "x.duckdb"
    import duckdb
    duckdb.connect(str(not_store)).close()
    with pytest.raises(StoreError, match="не хранилище"):
        Store(not_store, read_only=True)


def _as_schema_1(db: Path, key) -> None:
    """Turn a store into one made by the previous version: schema 1, pseudonyms of the code."""
    import duckdb
    con = duckdb.connect(str(db))
    rows = con.execute("SELECT DISTINCT school_id, respondent_pid FROM responses").fetchall()
    assert rows
    con.execute("UPDATE meta SET value = '1' WHERE name = 'schema_version'")
    con.close()


def test_a_store_of_the_previous_scheme_is_upgraded(env):
    with Store(env["db"]) as st:
        st.load(YEAR, env["files"], key=env["key"])
        want = st.responses(items=False)[["school_id", "source_row", "respondent_pid"]]
    import duckdb
    con = duckdb.connect(str(env["db"]))
    con.execute("UPDATE responses SET respondent_pid = 'Pold' || row_id")  # code-only, say
    con.close()
    _as_schema_1(env["db"], env["key"])
    with Store(env["db"]) as st:
        assert st.legacy
        with pytest.raises(StoreError, match="--upgrade"):
            st.load(YEAR, env["files"], key=env["key"])
        assert st.upgrade(env["key"]) == 2
        assert not st.legacy
        got = st.responses(items=False)[["school_id", "source_row", "respondent_pid"]]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))


def test_two_schools_numbering_their_students_alike_stay_apart(env):
    """Schools number their own students: the same code in two schools is two students."""
    a = pd.read_csv(env["files"][0], dtype=str, keep_default_na=False, sep=None, engine="python",
                    encoding="cp1251").head(6)
    b = a.copy()
    a["Код участника"] = [str(i) for i in range(1, 7)]
    b["Код участника"] = a["Код участника"]
    b["Код ОО"] = a["Код ОО"].str[:-1] + "9"
    f = env["tmp"] / "two.csv"
    pd.concat([a, b]).to_csv(f, index=False)
    with Store(env["db"]) as st:
        rep = st.load(YEAR, f, key=env["key"])
        assert int(rep.files["accepted"].iat[0]) == 12
        assert st.responses(items=False)["respondent_pid"].nunique() == 12
