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


# ----------------------------------------------------------------------------- the whole set

def _coverage(rows, first="Параллель", n="Обучающихся (анкет)"):
    body = "".join(f"<tr><td>{a}</td><td>{b}</td></tr>" for a, b in rows)
    return (f"<table><thead><tr><th>{first}</th><th>{n}</th></tr></thead><tbody>{body}</tbody>"
            "</table>")


def _regional(munis):
    from proforient_diag.region import municipality_names

    names = municipality_names()
    body = "".join(f"<tr><td>{names[c]}</td><td>{n}</td></tr>" for c, n in munis)
    return ("<html><body>" + _coverage([("5-7", "50"), ("Всего", "100")]) +
            "<table><thead><tr><th>Муниципальное образование</th><th>Анкет</th></tr></thead>"
            f"<tbody>{body}</tbody></table></body></html>")


def test_a_group_recoverable_across_notes_is_found(tmp_path):
    from proforient_diag.report.audit import audit_publication
    # the region has 100; MO01 (3) hidden in the regional note, the other two shown: 100 − 97 = 3
    (tmp_path / "diagnostics_2026.html").write_text(
        _regional([("MO01", "—*"), ("MO02", "60"), ("MO03", "37")]), encoding="utf-8")
    found = audit_publication(tmp_path)["problem"].tolist()
    assert found == ["число обучающихся муниципалитета MO01 (3) восстанавливается вычитанием из "
                     "итога региона"]
    # hidden with a second one (complementary), whose own note then publishes its count
    (tmp_path / "diagnostics_2026.html").write_text(
        _regional([("MO01", "—*"), ("MO02", "—*"), ("MO03", "37")]), encoding="utf-8")
    (tmp_path / "diagnostics_2026_MO02.html").write_text(
        "<html><body>" + _coverage([("Всего", "60")]) + "</body></html>", encoding="utf-8")
    found = audit_publication(tmp_path)["problem"].tolist()
    assert "муниципалитет MO02 скрыт в региональной справке, а его справка публикует число " \
           "обучающихся (60)" in found
    # its own note withheld too: nothing recoverable
    (tmp_path / "diagnostics_2026_MO02.html").write_text(
        "<html><body><p>Результаты не публикуются.</p></body></html>", encoding="utf-8")
    assert audit_publication(tmp_path).empty


def test_every_kind_of_file_is_scanned(tmp_path):
    import json
    import docx
    from proforient_diag.report.audit import audit_publication
    (tmp_path / "a.manifest.json").write_text(json.dumps({"inputs": [{"path": "/home/analyst/x.csv"}]}),
                                              encoding="utf-8")
    d = docx.Document()
    d.add_paragraph("Контакт: +7 (905) 123-45-67")
    d.save(tmp_path / "b.docx")
    (tmp_path / "c.csv").write_text("код\nPa1b2c3d4e5f60718\nИванов П.П.\n01.02.2011\n", encoding="utf-8")
    found = set(audit_publication(tmp_path)[["file", "problem"]].itertuples(index=False, name=None))
    assert ("a.manifest.json", "найден(а) путь на компьютере: «/home/»") in found
    assert ("b.docx", "найден(а) телефон: «+7 (905) 123-45-67»") in found
    assert ("c.csv", "найден(а) псевдоним: «Pa1b2c3d4e5f60718»") in found
    assert ("c.csv", "найден(а) фамилия с инициалами: «Иванов П.П.»") in found
    assert ("c.csv", "найден(а) дата рождения: «01.02.2011»") in found


def test_input_codes_are_looked_for(tmp_path, root):
    from proforient_diag.ingest import read_responses
    from proforient_diag.report.audit import audit_publication
    code = read_responses(root / "data_samples" / "diagnostics" / "2026" / "MO21_2026.csv",
                          year=2026).responses["respondent_id"].iat[0]
    (tmp_path / "t.csv").write_text(f"x\n{code}\n", encoding="utf-8")
    found = audit_publication(tmp_path, data_dir=root / "data_samples", year=2026)["problem"]
    assert "найдены коды участников из входных файлов (1)" in found.tolist()
