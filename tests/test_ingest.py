"""Ingestion: formats, encodings, column mapping, validation and the accounting identity."""
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from proforient_diag.errors import InputFileError
from proforient_diag.ingest import read_responses
from proforient_diag.instrument import load_instrument

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples" / "diagnostics"
INST = load_instrument("psd", 2026)
F57 = INST.items_for("5-7")


def _frame(n=3, grade=6, **over):
    rows = []
    for i in range(n):
        r = {"respondent_id": f"S{i}", "school_id": "MO04-001", "municipality": "MO04", "grade": grade,
             "sex": "м" if i % 2 else "ж", "year": 2026}
        r.update({it: ((i + j) % 5) + 1 for j, it in enumerate(F57)})
        rows.append(r)
    df = pd.DataFrame(rows).astype(object)
    for k, v in over.items():
        df[k] = v
    return df


@pytest.mark.parametrize("year", list(range(2018, 2027)))
def test_every_sample_file_is_accounted_for(year):
    res = read_responses(SAMPLES / str(year), year=year)
    f = res.files
    assert len(f) == len(list((SAMPLES / str(year)).iterdir()))
    assert (f["rows"] == f["accepted"] + f["excluded"]).all()
    assert f["rows"].sum() == len(res.responses) + len(res.exclusions)
    # per file, the log and the accepted rows agree with the file table
    acc = res.responses["source_file"].str.replace(r" \[.*\]$", "", regex=True).value_counts()
    exc = res.exclusions["source_file"].str.replace(r" \[.*\]$", "", regex=True).value_counts()
    assert (f.set_index("file")["accepted"] == acc.reindex(f["file"]).fillna(0).to_numpy()).all()
    assert (f.set_index("file")["excluded"] == exc.reindex(f["file"]).fillna(0).to_numpy()).all()
    assert res.responses.groupby("year")["respondent_id"].apply(lambda s: s.duplicated().any()).sum() == 0
    assert (res.responses["instrument_version"] == load_instrument("psd", year=year).version).all()
    # row counts of each file, read independently
    for p, rows in zip(f["file"], f["rows"]):
        p = Path(p)
        if p.suffix == ".csv":
            raw = p.read_bytes()
            assert rows == raw.count(b"\n") - 1


def test_sample_formats_are_decoded():
    res = read_responses(SAMPLES / "2024", year=2024)
    f = res.files.set_index(res.files["file"].map(lambda p: Path(p).name))
    assert f.loc["MO04_2024.csv", "encoding"] == "Windows-1251"
    assert f.loc["MO08_2024.csv", "encoding"] == "UTF-8 с BOM"
    assert f.loc["MO16_2024.sav", "format"] == "sav"
    r = res.responses
    assert set(r["municipality_code"]) == {f"MO{i:02d}" for i in range(1, 35)}
    assert r.loc[r["municipality_code"] == "MO04", "municipality"].iloc[0] == "Кемеровский (г. Кемерово) городской округ"
    # the online-form export (wordings as headers, labels as answers) gives codes in range
    g = r[r["source_file"].str.endswith("MO09_2024.csv")]
    assert len(g) > 50
    vals = g[load_instrument("psd", 2024).items_for("8-9")].stack().dropna()
    assert vals.between(1, 5).all() and vals.nunique() == 5
    # SPSS value labels for sex
    s = r[r["source_file"].str.endswith("MO16_2024.sav")]
    assert set(s["sex"]) == {"м", "ж"}


def test_planted_dirt_is_caught():
    res = read_responses(SAMPLES / "2022", year=2022)
    reasons = res.exclusions["reason"]
    assert reasons.str.startswith("повторная анкета").sum() >= 5
    assert reasons.str.startswith("слишком много пропусков").sum() >= 10
    assert reasons.str.contains("не относится к форме для 8-9").sum() >= 1
    assert reasons.str.contains("«Неизвестный район» не найден").sum() == 1
    assert (reasons == "пустая строка").sum() >= 1
    assert res.issues["reason"].str.startswith("недопустимый ответ").sum() >= 10
    assert res.responses["straightlining"].sum() >= 10


def test_encodings_delimiters_and_decimal_comma(tmp_path):
    df = _frame(4)
    df.loc[0, F57[0]] = "4,0"
    df.loc[1, F57[1]] = "Скорее согласен"
    expected = _frame(4)
    expected.loc[0, F57[0]] = 4
    expected.loc[1, F57[1]] = 4
    variants = {"a.csv": dict(sep=";", encoding="cp1251"), "b.csv": dict(sep=",", encoding="utf-8-sig"),
                "c.tsv": dict(sep="\t", encoding="utf-8")}
    for name, kw in variants.items():
        df.to_csv(tmp_path / name, index=False, **kw)
    df.to_excel(tmp_path / "d.xlsx", index=False)
    df.astype(str).to_parquet(tmp_path / "e.parquet")
    for name in [*variants, "d.xlsx", "e.parquet"]:
        res = read_responses(tmp_path / name)
        assert len(res.responses) == 4, name
        got = res.responses[F57].to_numpy()
        assert np.array_equal(got, expected[F57].to_numpy(dtype=float)), name
        assert res.responses["band"].eq("5-7").all()


def test_headers_by_wording_and_text_answers(tmp_path):
    df = _frame(2)
    ren = {}
    for j, it in enumerate(F57):
        text = INST.item_by_id[it].text
        if j % 3 == 0:
            text = f"{j + 1}. " + text.upper().replace("Ё", "Е").rstrip(".") + " ?"
        elif j % 3 == 1:
            text = f"Оцените утверждения [{text}]"
        ren[it] = text
    df = df.rename(columns=ren)
    col = ren[F57[0]]
    df[col] = ["Полностью согласна", "скорее НЕ согласен"]
    df = df.rename(columns={"respondent_id": "Код участника", "school_id": "Код ОО", "grade": "Класс",
                            "municipality": "Муниципалитет", "sex": "Пол"})
    df.to_csv(tmp_path / "form.csv", index=False)
    res = read_responses(tmp_path / "form.csv")
    assert res.responses[F57[0]].tolist() == [5.0, 2.0]
    assert res.issues.empty


def test_row_rules_and_cell_corrections(tmp_path):
    df = _frame(8)
    df.loc[1, "grade"] = "десятый"                     # not a grade
    df.loc[2, F57[3:]] = ""                            # 3 of 25 answered
    df.loc[3, "respondent_id"] = "S0"                  # duplicate of row 0
    df.loc[4, F57[0]] = 7                              # out of range → cell missing
    df.loc[5, F57[1]] = "может быть"                   # unreadable text → cell missing
    df.loc[6, "municipality"] = "Атлантида"
    df.loc[7, F57] = 3                                  # straight-lining: flagged, kept
    df.loc[7, "grade"] = "6 «Б»"
    p = tmp_path / "x.csv"
    df.to_csv(p, index=False)
    res = read_responses(p)
    ex = res.exclusions.set_index("source_row")["reason"]
    assert ex[3].startswith("класс не указан")
    assert ex[4] == "слишком много пропусков: отвечено на 3 из 25 заданий формы"
    assert ex[5].startswith("повторная анкета участника (первая принята: x.csv, строка 2)")
    assert ex[8] == "муниципалитет «Атлантида» не найден в справочнике Кузбасса; укажите код MO01–MO34 или полное название"
    assert len(res.responses) == 4 and len(res.exclusions) == 4
    acc = res.responses.set_index("source_row")
    assert np.isnan(acc.loc[6, F57[0]]) and np.isnan(acc.loc[7, F57[1]])
    assert acc.loc[9, "straightlining"] and not acc.loc[2, "straightlining"] and acc.loc[9, "grade"] == 6
    iss = res.issues.set_index("source_row")
    assert iss.loc[6, "column"] == F57[0] and iss.loc[6, "value"] == "7"
    assert iss.loc[7, "reason"].startswith("недопустимый ответ")


def test_grade_outside_form_band(tmp_path):
    df = _frame(3)
    df.loc[2, "grade"] = 9
    p = tmp_path / "f57.xlsx"
    df.to_excel(p, index=False)
    res = read_responses(p)
    assert res.exclusions["reason"].tolist() == ["класс 9 не относится к форме для 5-7 классов (классы 5–7)"]


def test_pii_columns_are_dropped(tmp_path):
    df = _frame(2)
    df["ФИО"] = ["Иванов Иван", "Петрова Анна"]
    df["Телефон"] = ["+79990000000", "+79990000001"]
    p = tmp_path / "pii.csv"
    df.to_csv(p, index=False)
    res = read_responses(p)
    flat = [str(v) for v in res.responses.to_numpy().ravel()]
    assert not any("Иванов" in v or "+7999" in v for v in flat)
    assert set(res.issues["column"]) == {"ФИО", "Телефон"}


@pytest.mark.parametrize("content,name,message", [
    (b"", "empty.csv", "файл пуст"),
    (b"\x00\x01\x02binary" * 10, "bin.csv", "двоичный файл"),
    (b"a,b,c\n1,2,3\n", "other.csv", "нет ни одного столбца заданий"),
    (("school_id,grade,municipality," + ",".join(F57) + "\nMO04-001,6,MO04," + ",".join("3" * 25) + "\n").encode(),
     "noid.csv", "нет столбца с кодом участника"),
    (b"x", "data.json", "формат «.json» не поддерживается"),
    (b"not a workbook", "broken.xlsx", "не открывается как книга Excel"),
])
def test_unusable_files_stop_with_one_russian_sentence(tmp_path, content, name, message):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InputFileError, match=message) as ei:
        read_responses(p, year=2026)
    assert name in str(ei.value)


def test_raw_files_are_not_modified():
    files = sorted((SAMPLES / "2024").iterdir())
    before = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns) for p in files}
    read_responses(SAMPLES / "2024", year=2024)
    after = {p: (hashlib.sha256(p.read_bytes()).hexdigest(), os.stat(p).st_mtime_ns) for p in files}
    assert before == after
