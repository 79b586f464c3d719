"""The privacy audit of published notes finds identifiers and unsuppressed small groups."""
from proforient_diag.report.audit import audit_notes

CLEAN = """<html><body><h1>Итоги</h1>
<table><thead><tr><th>Муниципалитет</th><th>Обучающихся</th><th>Средний индекс</th></tr></thead>
<tbody><tr><td>Тайгинский городской округ</td><td>—*</td><td>—*</td></tr>
<tr><td>Кемеровский городской округ</td><td>1 234</td><td>61,5</td></tr></tbody></table></body></html>"""

DIRTY = """<html><body><p>Пример: MO04-001-2014F003 и P0123456789abcdef, mail ivanov@example.ru</p>
<table><thead><tr><th>ФИО</th><th>n</th></tr></thead>
<tbody><tr><td>х</td><td>7</td></tr><tr><td>у</td><td>12</td></tr></tbody></table></body></html>"""


def test_clean_note_passes(tmp_path):
    (tmp_path / "a.html").write_text(CLEAN, encoding="utf-8")
    assert audit_notes(tmp_path).empty


def test_identifiers_and_small_groups_are_found(tmp_path):
    (tmp_path / "b.html").write_text(DIRTY, encoding="utf-8")
    found = audit_notes(tmp_path, threshold=10)
    probs = found["problem"].tolist()
    assert any(p.startswith("в тексте найден код участника") for p in probs)
    assert any(p.startswith("в тексте найден псевдоним") for p in probs)
    assert any(p.startswith("в тексте найден e-mail") for p in probs)
    assert "столбец с прямым идентификатором" in probs
    small = found[found["problem"].str.startswith("группа из")]
    assert small[["column", "row"]].values.tolist() == [["n", 1]]
    assert small["problem"].iloc[0] == "группа из 7 обучающихся не скрыта (порог 10)"
