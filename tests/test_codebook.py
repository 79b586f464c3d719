"""Codebook (table, Markdown, XLSX) and data-entry templates, read back through ingest."""
from __future__ import annotations

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from proforient_diag.codebook import (CONTEXT_COLUMNS, TEMPLATE_ROWS, codebook, version_changes,
                                      write_codebook, write_templates)
from proforient_diag.ingest import read_responses
from proforient_diag.region import municipalities
from proforient_diag.instrument import load_instrument

CONTEXT = [c for c, _ in CONTEXT_COLUMNS]


@pytest.fixture(scope="module")
def inst2026():
    return load_instrument("psd", 2026)


@pytest.fixture(scope="module")
def inst2021():
    return load_instrument("psd", 2021)


# -- the tidy table ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", [2018, 2021, 2024, 2026])
def test_codebook_rows_match_band_forms(version):
    inst = load_instrument("psd", version)
    cb = codebook(inst)
    assert set(cb["band"]) == set(inst.band_ids)
    for b in inst.band_ids:
        sub = cb[cb["band"] == b]
        items = sub[sub["kind"] == "item"]
        assert items["item"].tolist() == inst.items_for(b)
        assert items["order"].tolist() == list(range(1, len(inst.items_for(b)) + 1))
        assert sub[sub["kind"] == "context"]["item"].tolist() == CONTEXT
        assert sub["column"].tolist() == list(range(1, len(CONTEXT) + len(inst.items_for(b)) + 1))
        for iid, rs_id in zip(items["item"], items["response_scale"]):
            assert rs_id == inst.response_scale_of(iid, b).id


def test_codebook_flags_and_labels(inst2026, inst2021):
    cb = codebook(inst2026)
    row = cb[(cb["band"] == "5-7") & (cb["item"] == "MOT04")].iloc[0]
    assert row["reverse"] == "да"
    assert row["anchor"] == "да"
    assert row["scale"] == "MOT"
    assert row["text"] == "Мне всё равно, кем я буду работать."
    assert row["codes"] == "1, 2, 3, 4, 5"
    assert row["labels"].startswith("1 — Совершенно не согласен; 2 — Скорее не согласен;")
    assert "6 − код" in row["rule"]
    assert cb[cb["item"] == "MOT01"]["reverse"].eq("нет").all()
    # primary form: the three-point scale
    p = cb[(cb["band"] == "1-4") & (cb["item"] == "MOT_P04")].iloc[0]
    assert (p["reverse"], p["labels"]) == ("да", "1 — Нет; 2 — Частично; 3 — Да")
    # new in 2026: not an anchor
    assert cb[cb["item"] == "MOT10B"]["anchor"].eq("нет").all()
    grade = cb[(cb["band"] == "8-9") & (cb["item"] == "grade")].iloc[0]
    assert (grade["text"], grade["codes"]) == ("Класс", "8, 9")

    cb21 = codebook(inst2021)
    # MOT06 was replaced in 2021 (by MOT09): gone from the forms, and MOT09 is no anchor
    assert "MOT06" not in set(cb21["item"])
    assert cb21[cb21["item"] == "MOT09"]["anchor"].eq("нет").all()
    assert cb21[cb21["item"] == "MOT05"]["anchor"].eq("да").all()
    # the first version has no anchors
    assert codebook(load_instrument("psd", 2018)).query("kind == 'item'")["anchor"].eq("нет").all()


def test_version_changes(inst2021):
    ch = version_changes(inst2021)
    added = ch[ch["change"] == "добавлено"]["item"].tolist()
    removed = ch[ch["change"] == "исключено"]["item"].tolist()
    assert sorted(added) == ["ACT09A", "MOT09"]
    assert sorted(removed) == ["ACT07A", "MOT06"]
    assert len(ch) == 4
    assert version_changes(load_instrument("psd", 2018)).empty


# -- Markdown and XLSX ------------------------------------------------------------------------

def test_write_codebook(inst2021, tmp_path):
    paths = write_codebook(inst2021, tmp_path)
    assert [p.name for p in paths] == ["codebook_psd_2021.md", "codebook_psd_2021.xlsx"]
    md = paths[0].read_text(encoding="utf-8")
    for heading in ["# Кодбук: Уровень сформированности", "## Шкалы ответов",
                    "## Контекстные столбцы", "## Формы по параллелям", "### Форма для 5-7 классов",
                    "## Шкалы и минимум ответов", "## Уровни",
                    "## Якорные задания и изменения по сравнению с версией 2018",
                    "### Добавлены", "### Исключены"]:
        assert heading in md
    assert "Демонстрационная версия" in md
    assert "| 4 | MOT04 | Мне всё равно, кем я буду работать. | MOT | да | да |" in md
    assert "| MOT06 | Хорошая работа для меня — это возможность приносить пользу людям." in md
    assert "| 5-7 | меньше 45 | от 45 до 70 (не включая 70) | 70 и выше |" in md
    assert "| MOT | Мотивационно-ценностный компонент | 3 из 4 | 3 из 5 | 5 из 8 | 5 из 8 |" in md

    wb = load_workbook(paths[1])
    assert wb.sheetnames == ["Форма 1-4", "Форма 5-7", "Форма 8-9", "Форма 10-11",
                             "Шкалы", "Уровни", "Изменения"]
    ws = wb["Форма 8-9"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header[:5] == ["Тип", "Столбец шаблона", "№", "Код", "Шкала"]
    codes = [r[header.index("Код")] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert codes == CONTEXT + inst2021.items_for("8-9")
    width = ws.column_dimensions[get_column_letter(header.index("Формулировка / название") + 1)].width
    assert 30 <= width <= 70
    lv = list(wb["Уровни"].iter_rows(min_row=2, values_only=True))
    assert len(lv) == 4 * 3
    assert lv[3][:4] == ("5-7", "низкий", None, 45)
    changes = [r[0] for r in wb["Изменения"].iter_rows(min_row=2, values_only=True)]
    assert changes.count("добавлено") == 2 and changes.count("исключено") == 2
    assert changes.count("якорь (без изменений)") == len(inst2021.anchors)


def test_write_codebook_first_version(tmp_path):
    md_path, xlsx_path = write_codebook(load_instrument("psd", 2018), tmp_path)
    md = md_path.read_text(encoding="utf-8")
    assert "Это первая версия инструмента: якорных заданий и изменений нет." in md
    assert "(первая версия)" in md
    assert "Изменения" in load_workbook(xlsx_path).sheetnames


# -- data-entry templates ---------------------------------------------------------------------

def _validation_at(ws, coord):
    found = [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]
    assert len(found) == 1, coord
    return found[0]


def test_templates_layout_and_validations(inst2026, tmp_path):
    paths = write_templates(inst2026, tmp_path)
    assert [p.name for p in paths] == [f"template_psd_2026_{b}.xlsx" for b in inst2026.band_ids]
    for band, path in zip(inst2026.band_ids, paths):
        wb = load_workbook(path)
        assert wb.sheetnames == ["Анкета", "Кодбук", "Инструкция"]
        ws = wb["Анкета"]
        header = [c.value for c in ws[1]]
        assert header == CONTEXT + inst2026.items_for(band)
        assert ws.max_row == 1  # the rows are empty: only validations
        codes = ",".join(str(c) for c in inst2026.response_scale_of(inst2026.items_for(band)[0], band).codes)
        for j, iid in enumerate(inst2026.items_for(band), start=len(CONTEXT) + 1):
            cell = ws.cell(row=1, column=j)
            assert inst2026.item_by_id[iid].text in cell.comment.text
            L = get_column_letter(j)
            dv = _validation_at(ws, f"{L}2")
            assert dv.type == "list" and dv.formula1 == f'"{codes}"'
            assert f"{L}{TEMPLATE_ROWS + 1}" in dv.sqref and f"{L}{TEMPLATE_ROWS + 2}" not in dv.sqref
            assert dv.showErrorMessage and dv.error.startswith("Введите код ответа")
        grade = _validation_at(ws, "D2")
        assert grade.formula1 == '"' + ",".join(map(str, inst2026.band_by_id[band].grades)) + '"'
        assert _validation_at(ws, "E2").formula1 == '"м,ж"'
        mo = _validation_at(ws, "C150").formula1.strip('"').split(",")
        assert mo == municipalities()["code"].tolist() and len(mo) == 34
        year = _validation_at(ws, "F2")
        assert (year.type, year.formula1) == ("whole", "2026")
        kb = [r for r in wb["Кодбук"].iter_rows(min_row=2, values_only=True)]
        assert [r[1] for r in kb] == CONTEXT + inst2026.items_for(band)
        instr = "\n".join(str(c.value) for c in wb["Инструкция"]["A"] if c.value)
        assert "одна строка — одна анкета" in instr and "НЕ вписывайте" in instr
    # 1-4 uses the three-point scale
    ws = load_workbook(paths[0])["Анкета"]
    assert _validation_at(ws, "G2").formula1 == '"1,2,3"'


def test_template_year_range_closed_by_next_version(inst2021, tmp_path):
    ws = load_workbook(write_templates(inst2021, tmp_path)[1])["Анкета"]
    dv = _validation_at(ws, "F2")
    assert (dv.formula1, dv.formula2) == ("2021", "2023")


def test_filled_template_reads_back(inst2026, tmp_path):
    path = write_templates(inst2026, tmp_path)[1]  # 5-7
    items = inst2026.items_for("5-7")
    wb = load_workbook(path)
    ws = wb["Анкета"]
    rows = [
        ("A-001", "42001", "MO04", 5, "м", 2026),
        ("A-002", "42001", "MO04", 6, "ж", 2026),
        ("A-003", "42017", "MO22", 7, None, 2026),
        ("A-004", "42017", "MO22", 9, "ж", 2026),  # a grade of another band
    ]
    answers = {}
    for r, ctx in enumerate(rows, start=2):
        for j, v in enumerate(ctx, start=1):
            ws.cell(row=r, column=j, value=v)
        ans = [(r + k) % 5 + 1 for k in range(len(items))]
        if ctx[0] == "A-002":
            ans[3] = None  # a skipped item
        for k, a in enumerate(ans):
            ws.cell(row=r, column=len(ctx) + 1 + k, value=a)
        answers[ctx[0]] = ans
    wb.save(path)

    res = read_responses(path, "psd", year=2026)
    acc = res.responses
    assert acc["respondent_id"].tolist() == ["A-001", "A-002", "A-003"]
    assert acc["grade"].tolist() == [5, 6, 7]
    assert acc["band"].eq("5-7").all()
    assert acc["municipality_code"].tolist() == ["MO04", "MO04", "MO22"]
    assert acc["school_id"].tolist() == ["42001", "42001", "42017"]
    assert acc["sex"].tolist()[:2] == ["м", "ж"] and acc["sex"].isna().tolist()[2]
    assert acc["instrument_version"].eq(2026).all()
    assert [c for c in acc.columns if c in inst2026.item_ids] == items
    for rid in ["A-001", "A-002", "A-003"]:
        got = acc.loc[acc["respondent_id"] == rid, items].iloc[0].tolist()
        want = [float("nan") if a is None else float(a) for a in answers[rid]]
        assert got == pytest.approx(want, nan_ok=True)
    assert acc.loc[1, "n_answered"] == len(items) - 1

    exc = res.exclusions
    assert exc["respondent_id"].tolist() == ["A-004"]
    assert exc["source_row"].tolist() == [5]
    assert exc["reason"].iloc[0] == "класс 9 не относится к форме для 5-7 классов (классы 5–7)"
    # nothing was corrected or ignored: the header maps completely
    assert res.issues.empty
    f = res.files.iloc[0]
    assert (f["rows"], f["accepted"], f["excluded"]) == (4, 3, 1)
