"""The command line: each command end to end, Russian messages, exit codes, no tracebacks."""
import subprocess
import sys
from pathlib import Path

import pandas as pd

from proforient_diag.cli import main

ROOT = Path(__file__).resolve().parents[1]
Y2026 = ROOT / "data_samples" / "diagnostics" / "2026"


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "proforient_diag.cli", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_score_writes_one_row_per_accepted_respondent_and_the_log(tmp_path):
    files = [Y2026 / "MO04_2026.csv", Y2026 / "MO09_2026.csv", Y2026 / "MO19_2026_8-9.xlsx"]
    assert main(["score", *map(str, files), "--year", "2026", "--out", str(tmp_path)]) == 0
    scores = pd.read_csv(tmp_path / "scores.csv")
    excl = pd.read_csv(tmp_path / "exclusions.csv")
    info = pd.read_csv(tmp_path / "files.csv")
    assert len(scores) + len(excl) == info["rows"].sum()
    assert (info["rows"] == info["accepted"] + info["excluded"]).all()
    assert scores["respondent_id"].is_unique
    assert {"MOT", "total", "level", "total_z"} <= set(scores.columns)
    for name in ("scores", "exclusions", "issues", "files", "missing_scores"):
        assert (tmp_path / f"{name}.xlsx").exists()


def test_validate_prints_russian_accounting(capsys):
    assert main(["validate", str(Y2026 / "MO04_2026.csv"), "--year", "2026"]) == 0
    out = capsys.readouterr().out
    assert "Строк во входных файлах" in out and "принято" in out


def test_bad_file_gives_one_russian_sentence_and_exit_2(tmp_path):
    bad = tmp_path / "пусто.csv"
    bad.write_bytes(b"")
    r = run("score", str(bad), "--year", "2026", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("Ошибка: файл «") and "пусто.csv" in r.stderr and "файл пуст" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_option_is_answered_in_russian():
    r = run("score", "--no-such-option")
    assert r.returncode == 2 and "Ошибка: неизвестные аргументы" in r.stderr


def test_help_is_russian():
    r = run("--help")
    assert r.returncode == 0 and "Использование:" in r.stdout and "годовые аналитические справки" in r.stdout


def test_codebook_and_template(tmp_path):
    assert main(["codebook", "--version", "2026", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "codebook_psd_2026.md").exists() and (tmp_path / "codebook_psd_2026.xlsx").exists()
    assert main(["template", "--version", "2024", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("template_*.xlsx")) == [
        f"template_psd_2024_{b}.xlsx" for b in ("1-4", "10-11", "5-7", "8-9")]


def test_annual_writes_the_html_note(tmp_path):
    r = run("annual", "--year", "2026", "--out", str(tmp_path), "--formats", "html")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "2026" / "diagnostics_2026.html").read_text(encoding="utf-8")
    assert "Участники и охват" in html and "Таблица 1." in html and "высокий" in html
    assert "import " not in html and "load_year(" not in html


def test_municipal_note_in_three_formats_passes_the_privacy_audit(tmp_path):
    """MO21 has bands of fewer than 10 students in 2026: they must be hidden in every format."""
    from docx import Document

    from proforient_diag.report.audit import audit_notes
    r = run("annual", "--year", "2026", "--municipality", "Крапивинский муниципальный округ",
            "--out", str(tmp_path), "--formats", "html,docx,pdf", "--no-progress")
    assert r.returncode == 0, r.stderr
    d = tmp_path / "2026"
    stem = "diagnostics_2026_MO21"
    assert {p.name for p in d.iterdir()} == {f"{n}.{e}" for n in (stem, "monitoring_2026_MO21")
                                             for e in ("html", "docx", "pdf", "manifest.json")} | {"index.html"}
    assert audit_notes(d, threshold=10).empty
    html = (d / f"{stem}.html").read_text(encoding="utf-8")
    assert "—<sup>*</sup>" in html  # at least one suppressed cell, shown as a dash with a footnote
    doc = Document(d / f"{stem}.docx")
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert heads[:3] == ["Основные выводы", "1. Основание, цель и сроки диагностики", "2. Методика"]
    assert {"Рекомендации", "Источники", "Паспорт расчёта"} <= set(heads)
    assert "TOC \\o" in doc.element.xml and "SEQ Таблица" in doc.element.xml
    assert len(doc.tables) >= 10 and len(doc.inline_shapes) >= 3
    text = subprocess.run(["pdftotext", str(d / f"{stem}.pdf"), "-"], capture_output=True, text=True).stdout
    assert "Крапивинский" in text and "\ufffd" not in text
    # no developer words, Russian typography
    from proforient_diag.report.proofread import proofread_notes
    assert proofread_notes(d).empty, proofread_notes(d).to_string()
    # no PDF table loses a column: every word of every HTML table cell is in the PDF's text
    import re
    from io import StringIO
    words = set(re.findall(r"\w+", text))
    tables = pd.read_html(StringIO(html), thousands=None)
    cells = [str(v) for t in tables for v in [*t.columns, *t.to_numpy().ravel()] if not pd.isna(v)]
    joined = "".join(text.split())   # a long digest wraps across lines
    missing = {w for v in cells for w in re.findall(r"\w+", v) if w not in words and w not in joined}
    assert len(tables) >= 10 and not missing, sorted(missing)[:20]
    # the municipality's monitoring note: its own sections, its values labelled as its own
    mon = Document(d / "monitoring_2026_MO21.docx")
    heads = [p.text for p in mon.paragraphs if p.style.name.startswith("Heading")]
    from proforient_diag.monitoring_findings import MONITORING_SECTIONS
    assert [h for h in heads if h[:1].isdigit()] == list(MONITORING_SECTIONS.values())
    assert heads[0] == "Основные выводы" and "Рекомендации по адресатам" in mon.element.xml.replace("\n", "")
    html = (d / "monitoring_2026_MO21.html").read_text(encoding="utf-8")
    assert "Крапивинский муниципальный округ (муниципальные значения)" in html
    text = subprocess.run(["pdftotext", str(d / "monitoring_2026_MO21.pdf"), "-"], capture_output=True,
                          text=True).stdout
    words, joined = set(re.findall(r"\w+", text)), "".join(text.split())
    tables = pd.read_html(StringIO(html), thousands=None)
    cells = [str(v) for t in tables for v in [*t.columns, *t.to_numpy().ravel()] if not pd.isna(v)]
    missing = {w for v in cells for w in re.findall(r"\w+", v) if w not in words and w not in joined}
    assert len(tables) >= 10 and not missing, sorted(missing)[:20]


def test_score_with_a_key_writes_pseudonyms_only(tmp_path):
    from proforient_diag.privacy import create_key, load_key, pseudonymise, student_key
    key_file = create_key(tmp_path / "key.bin")
    src = Y2026 / "MO07_2026.csv"
    assert main(["score", str(src), "--year", "2026", "--out", str(tmp_path / "o"), "--key-file", str(key_file)]) == 0
    scores = pd.read_csv(tmp_path / "o" / "scores.csv")
    raw = pd.read_csv(src, dtype=str).dropna(subset=["respondent_id"])
    original = raw["respondent_id"]
    assert scores["respondent_id"].str.fullmatch(r"P[0-9a-f]{16}").all()
    assert not set(scores["respondent_id"]) & set(original)
    expected = set(pseudonymise(student_key(raw["school_id"], original), load_key(key_file)))
    assert set(scores["respondent_id"]) <= expected
    text = "".join(p.read_text(encoding="utf-8-sig") for p in (tmp_path / "o").glob("*.csv"))
    assert not any(i in text for i in original.dropna())


def test_check_writes_the_methodologists_note_with_its_inputs(tmp_path):
    import json
    r = run("check", "--band", "5-7", "--version", "2026", "--years", "2026", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "instrument_check_2026_5-7.html").read_text(encoding="utf-8")
    assert "Надёжность шкал" in html and "ACT04" in html
    manifest = json.loads((tmp_path / "instrument_check_2026_5-7.manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["inputs"]) == len(list(Y2026.iterdir()))
    assert manifest["instrument_versions"] == {"psd": 2026}


def test_key_inside_a_data_folder_is_warned_about(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "diagnostics" / "2026").mkdir(parents=True)
    assert main(["key", str(data / "proforient.key")]) == 0
    err = capsys.readouterr().err
    assert "внутри папки с данными «data»" in err and "перенесите" in err
    assert main(["key", str(tmp_path / "keys" / "proforient.key")]) == 0
    assert capsys.readouterr().err == ""


def test_options_are_checked_before_any_work(tmp_path, capsys):
    assert main(["annual", "--year", "2026", "--formats", "html,odt", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "параметр «formats»: допустимые значения «html», «docx», «pdf»; передано «odt»" in err
    assert not any(tmp_path.iterdir())   # nothing was started
