"""The parts of a signed note: contents, main findings, basis, method, recommendations by
addressee, typography and the Latin-token scan."""
from __future__ import annotations

import nbformat
import numpy as np
import pandas as pd
import pytest

from proforient_diag.diagnostics import diagnose, load_waves
from proforient_diag.diagnostics.conclusions import difference_of_changes
from proforient_diag.diagnostics.findings import ADDRESSEES, SECTIONS, key_findings, recommendations
from proforient_diag.diagnostics.method import cut_scores, method_paragraphs
from proforient_diag.diagnostics.results import disagreed_items
from proforient_diag.errors import MonitoringSpecError
from proforient_diag.instrument import load_instrument
from proforient_diag.report.export import export_notebook, number_headings, toc_entries
from proforient_diag.report.proofread import latin_tokens, note_text, proofread_notes
from proforient_diag.report.tables import Numbering, show_table
from proforient_diag.report.typography import typeset, typography_problems
from proforient_diag.roadmap import Approval, load_approval, normative_basis

NB = "\u00a0"


def test_typeset_sets_russian_typography():
    assert typeset("рост 1,2 п. п. (95 % ДИ от -0,4 до 2,8)") == \
        f"рост 1,2{NB}п.{NB}п. (95{NB}%{NB}ДИ от \u22120,4 до 2,8)"
    assert typeset('уровень "высокий", 36 школ') == f"уровень «высокий», 36{NB}школ"
    assert typeset("1\u2009300") == "1\u202f300"
    assert typeset("2018-2026 годы, MO-01") == f"2018-2026{NB}годы, MO-01"  # ranges and codes kept


def test_typography_problems_names_each_fault_and_spares_item_numbers_and_dates():
    found = {rule for rule, _ in typography_problems('0.2; 12 %; 3 п. п.; -5; "да"; 1\u2009000')}
    assert len(found) == 6
    assert typography_problems(f"п.{NB}4.10 и 3.2 от 26.11.2026; 0,2; 12{NB}%") == []


def test_latin_tokens_flags_code_words_but_not_symbols_or_passport_files():
    text = ("p = 0,03, g = 0,2, III этап; school_id и MOT, MO04; файл паспорта "
            "diagnostics_2026.manifest.json, " + "ab" * 32)
    assert latin_tokens(text) == ["school_id", "MOT", "MO04"]


def test_sources_are_not_scanned():
    html = ("<body><h1>Выводы</h1><p>Рост.</p><h1>Источники</h1><p>Kolen M. J. Test Equating</p>"
            "<h2>Паспорт расчёта</h2><p>createKey</p></body>")
    assert latin_tokens(note_text(html)) == ["createKey"]


def test_headings_get_ids_and_a_linked_contents():
    body = number_headings("<h1>1. Основание</h1><p>x</p><h2>1.1 Итоги</h2><h1 id='k'>2</h1>")
    assert toc_entries(body) == [(1, "sec-1", "1. Основание"), (2, "sec-2", "1.1 Итоги")]


def _tiny_note(tmp_path):
    nb = nbformat.v4.new_notebook()
    table = show_table(pd.DataFrame({"Школ": [1200, 3]}), "Проба", numbering=Numbering())
    out = nbformat.v4.new_code_cell("t")
    out.outputs = [nbformat.v4.new_output("display_data", data={"text/html": table.html,
                                                                "text/plain": "t"})]
    nb.cells = [nbformat.v4.new_markdown_cell("# 1. Первый\n\nРост на 1,2 п. п."), out,
                nbformat.v4.new_markdown_cell("## 1.1 Второй\n\nтекст"),
                nbformat.v4.new_markdown_cell("# 2. Третий\n\nтекст")]
    return export_notebook(nb, tmp_path, name="note", title="Проба")


def test_docx_has_a_toc_field_seq_captions_and_the_pdf_serif(tmp_path):
    import docx

    from proforient_diag.report.export import serif_font

    out = _tiny_note(tmp_path)
    doc = docx.Document(str(out["docx"]))
    xml = doc.element.xml
    assert 'TOC \\o "1-2" \\h \\z \\u' in xml
    assert "SEQ Таблица \\* ARABIC" in xml
    assert "w:updateFields" in doc.settings.element.xml
    texts = [p.text for p in doc.paragraphs]
    assert texts[3:7] == ["Содержание", "1. Первый", "1.1 Второй", "2. Третий"]
    caption = next(p for p in doc.paragraphs if p.text.startswith("Таблица"))
    assert caption.text == "Таблица\u00a01. Проба"
    family = serif_font()[0]
    assert f'w:ascii="{family}"' in doc.styles.element.xml
    html = out["html"].read_text(encoding="utf-8")
    assert '<a href="#sec-1">1. Первый</a>' in html and f"1,2{NB}п.{NB}п." in html


def test_pdf_contents_carry_page_numbers_and_the_pdf_is_tagged(tmp_path):
    import subprocess

    out = _tiny_note(tmp_path)
    text = subprocess.run(["pdftotext", "-layout", str(out["pdf"]), "-"], capture_output=True,
                          text=True).stdout
    line = next(s for s in text.splitlines() if s.strip().startswith("2. Третий"))
    assert line.rstrip().endswith("3")   # title page, contents, body
    info = subprocess.run(["pdfinfo", str(out["pdf"])], capture_output=True, text=True).stdout
    assert "Tagged:          yes" in info


def test_normative_basis_names_the_roadmap_items_and_the_stage(tmp_path):
    text = " ".join(normative_basis(2026, "diagnostic"))
    for item in ("3.2", "4.10", "4.11"):
        assert f"п.{NB}{item}" in text
    assert "III этапу" in text and "2025–2027" in text
    assert "3.3" in " ".join(normative_basis(2019, "monitoring")) and \
        "I этапу" in " ".join(normative_basis(2019, "monitoring"))
    (tmp_path / "approval.yaml").write_text("act: приказ ГБУ ДПО «КРИРПО»\nnumber: 12-о\n"
                                            "date: 01.09.2026\n", encoding="utf-8")
    a = load_approval(tmp_path)
    assert a == Approval("приказ ГБУ ДПО «КРИРПО»", "12-о", "01.09.2026")
    assert normative_basis(2026, "diagnostic", a)[-1] == \
        f"Инструментарий утверждён: приказ ГБУ ДПО «КРИРПО» от{NB}01.09.2026 №{NB}12-о."
    assert load_approval(tmp_path / "нет") == Approval()
    (tmp_path / "approval.yaml").write_text("signed_by: кто-то\n", encoding="utf-8")
    with pytest.raises(MonitoringSpecError, match="лишние: signed_by"):
        load_approval(tmp_path)


def test_method_says_what_each_component_measures_and_the_cut_scores_of_every_form():
    inst = load_instrument("psd", 2026)
    text = " ".join(method_paragraphs(inst, versions=[load_instrument("psd", 2018), inst]))
    for s in inst.scales:
        assert s.description and s.description in text
    assert "приведены к шкале версии 2026" in text and "2018" in text
    cs = cut_scores([inst])
    high = cs[cs["level"] == "высокий"].set_index("band")["from"].to_dict()
    assert high == {b: cuts[-1] for b, cuts in inst.levels.cuts.items()}
    low = cs[cs["level"] == "низкий"]
    assert (low["from"] == 0).all() and (cs[cs["level"] == "высокий"]["to"] == 100).all()


def test_difference_of_changes_by_hand():
    r = difference_of_changes({"diff": 2.0, "se": 0.6}, {"diff": 0.5, "se": 0.8})
    assert r["diff"] == pytest.approx(1.5) and r["se"] == pytest.approx(1.0)
    assert r["ci_low"] == pytest.approx(1.5 - 1.959963984540054)
    assert r["p"] == pytest.approx(2 * (1 - 0.9331927987311419), abs=1e-12)


def test_disagreed_items_applies_the_key_and_ranks_by_unfavourable_share():
    inst = load_instrument("psd", 2026)
    items = inst.items_for("8-9", "MOT")
    rev = next(i for i in items if inst.item_by_id[i].reverse)
    direct = [i for i in items if not inst.item_by_id[i].reverse][:2]
    resp = pd.DataFrame({"band": ["8-9"] * 4, direct[0]: [1, 2, 5, 5], direct[1]: [5, 5, 5, 3],
                         rev: [5, 4, 1, np.nan]})
    t = disagreed_items(resp, inst, top=3)
    assert t["item"].tolist() == [rev, direct[0], direct[1]]
    assert t["unfavourable_pct"].tolist() == pytest.approx([200 / 3, 50.0, 0.0])
    assert t["n"].tolist() == [3, 4, 4]


@pytest.fixture(scope="module")
def diag():
    return diagnose(load_waves("data_samples", range(2018, 2027)), 2026)


def test_main_findings_point_to_sections_and_recommendations_to_findings(diag):
    found = key_findings(diag)
    assert 3 <= len(found) <= 7
    assert [f.number for f in found] == list(range(1, len(found) + 1))
    assert all(f.section in SECTIONS.values() for f in found)
    text = " ".join(f.text for f in found)
    assert found[0].text.startswith("Индекс самоопределения в регионе растёт")
    assert "когнитивный" in text           # the planted weakest component, found within bands
    assert "Всего" not in text
    rec = recommendations(diag, found)
    assert set(rec["addressee"]) == set(ADDRESSEES)
    assert set(rec["finding"]) <= {f.number for f in found}


def test_a_municipal_note_on_one_school_says_so_first():
    d = diagnose(load_waves("data_samples", range(2018, 2027)), 2026, municipality="MO21")
    found = key_findings(d)
    assert found[0].text.startswith("Оценки муниципального образования основаны на ответах "
                                    "обучающихся одной школы (44 обучающихся)")
    assert "«Крапивинский муниципальный округ»" in found[1].text and len(found) <= 7


def test_the_notebook_headings_are_the_sections_findings_point_to():
    nb = nbformat.read("notebooks/annual_diagnostics.ipynb", as_version=4)
    heads = [c.source.splitlines()[0][2:] for c in nb.cells
             if c.cell_type == "markdown" and c.source.startswith("# ")]
    assert heads[0] == "Основные выводы"
    assert [h for h in heads if h[0].isdigit()] == list(SECTIONS.values())
    assert "Источники" in heads


def test_proofread_reports_latin_and_typography_of_a_folder(tmp_path):
    (tmp_path / "a.html").write_text("<body><p>Код school_id, 12 %.</p></body>", encoding="utf-8")
    (tmp_path / "index.html").write_text("<body>MO04</body>", encoding="utf-8")
    found = proofread_notes(tmp_path)
    assert found["problem"].tolist() == ["латинское слово «school_id»",
                                         "обычный пробел перед знаком процента"]


def test_one_palette_for_bands_whatever_the_label():
    from proforient_diag.errors import OptionError
    from proforient_diag.report.theme import BAND_COLORS, band_palette

    assert band_palette(["1–4 классы", "8-9", "10–11"]) == {
        "1–4 классы": BAND_COLORS["1-4"], "8-9": BAND_COLORS["8-9"], "10–11": BAND_COLORS["10-11"]}
    assert len(set(BAND_COLORS.values())) == 4
    with pytest.raises(OptionError, match="band"):
        band_palette(["12 классы"])


def test_the_monitoring_notebook_headings_are_the_sections_its_findings_point_to():
    from proforient_diag.monitoring_findings import MONITORING_SECTIONS
    nb = nbformat.read("notebooks/roadmap_monitoring.ipynb", as_version=4)
    heads = [c.source.splitlines()[0][2:] for c in nb.cells
             if c.cell_type == "markdown" and c.source.startswith("# ")]
    assert heads[0] == "Основные выводы"
    assert [h for h in heads if h[0].isdigit()] == list(MONITORING_SECTIONS.values())
