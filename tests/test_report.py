"""The publishing layer: tables, theme, manifest, runner and exports (proforient_diag.report)."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import docx
import docx.enum.text
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import proforient_diag
from proforient_diag.errors import DataError, DiagError, InputFileError
from proforient_diag.report import export
from proforient_diag.report.export import MissingToolError, atomic_write
from proforient_diag.report.manifest import build_manifest, inputs_digest, manifest_markdown
from proforient_diag.report.runner import NoteRunError, run_batch, run_note, write_index
from proforient_diag.report.tables import Numbering, figure_caption, show_table
from proforient_diag.report.theme import LEVEL_COLORS, RuFormatter, level_palette, ru_axis

NOTEBOOK = Path(__file__).parent / "data" / "report_smoke.ipynb"
TITLE = ("Аналитическая справка по результатам диагностики уровня сформированности "
         "профессионального самоопределения обучающихся общеобразовательных организаций "
         "Кемеровской области – Кузбасса, 2026 год")
INPUT_BYTES = "id;school\n1;Школа № 1\n".encode("utf-8")


# ----------------------------------------------------------------------------- one real run


@pytest.fixture(scope="module")
def note(tmp_path_factory):
    """One executed note (papermill + HTML + DOCX + PDF), shared by the tests below."""
    data = tmp_path_factory.mktemp("inputs") / "responses.csv"
    data.write_bytes(INPUT_BYTES)
    out = tmp_path_factory.mktemp("note")
    result = run_note(NOTEBOOK, out, {"n_students": 1300, "seed": 11}, name="smoke", title=TITLE,
                      inputs=[data], instrument_versions={"ppsd": "2026.1"}, year=2026)
    return result, out


def test_outputs_are_complete_and_no_temp_files_remain(note):
    result, out = note
    assert sorted(p.name for p in out.iterdir()) == [
        "smoke.docx", "smoke.html", "smoke.ipynb", "smoke.manifest.json", "smoke.pdf"]
    assert result.outputs == {"html": out / "smoke.html", "docx": out / "smoke.docx",
                              "pdf": out / "smoke.pdf"}
    assert result.notebook == out / "smoke.ipynb"
    assert list(result.to_frame()["format"]) == ["html", "docx", "pdf"]


def test_html_has_content_but_no_code(note):
    _, out = note
    html = (out / "smoke.html").read_text(encoding="utf-8")
    for text in ['<h1 id="sec-1">Общие сведения</h1>', '<h2 id="sec-2">Распределение по уровням</h2>',
                 '<a href="#sec-1">Общие сведения</a>',
                 "Таблица 1. Участники диагностики по муниципальным образованиям",
                 "1\u202f300", "12,3\u00a0%", "—<sup>*</sup>", "Значение скрыто",
                 "Рисунок 1. Распределение обучающихся", "data:image/png;base64,",
                 "Высокий уровень показали 37,5\u00a0% из 1\u202f300\u00a0обучающихся.",
                 "Паспорт расчёта", "ГБУ ДПО «КРИРПО»", "Кемерово, 2026"]:
        assert text in html, text
    # no code, no prompts, no plain-text reprs of matplotlib objects, no anchors
    for text in ["show_table(", "import ", "set_theme", "n_students = ", 'class="input',
                 "In&nbsp;[", "&lt;Axes", "Figure size", "anchor-link", "¶"]:
        assert text not in html, text


def test_docx_has_title_page_headings_table_and_figure(note):
    _, out = note
    doc = docx.Document(str(out / "smoke.docx"))
    pars = [(p.style.name, p.text) for p in doc.paragraphs]
    assert [t for _, t in pars[:3]] == ["ГБУ ДПО «КРИРПО»", TITLE, "Кемерово, 2026"]
    assert not any(s == "Title" for s, _ in pars)  # the title is not repeated
    headings = [(s, t) for s, t in pars if s.startswith("Heading")]
    assert headings == [("Heading 1", "Общие сведения"),
                        ("Heading 2", "Распределение по уровням"),
                        ("Heading 2", "Паспорт расчёта")]
    assert [t for _, t in pars[3:7]] == ["Содержание", "Общие сведения", "Распределение по уровням",
                                         "Паспорт расчёта"]   # the contents (a TOC field)
    # the caption's number is a SEQ field: Word renumbers when a table is inserted
    assert ("Table Caption", "Таблица\u00a01. Участники диагностики по муниципальным образованиям") in pars
    assert "SEQ Таблица" in doc.element.xml
    assert ("Image Caption", "Рисунок\u00a01. Распределение обучающихся по уровням сформированности") in pars

    table = doc.tables[0]
    assert len(table.rows) == 4 and len(table.columns) == 4  # header + 3 municipalities
    assert [c.text for c in table.rows[0].cells] == [
        "Муниципальное образование", "Обучающихся", "Средний балл", "Высокий уровень"]
    assert [c.text for c in table.rows[1].cells] == ["Кемеровский ГО", "1\u202f300", "3,46", "12,3\u00a0%"]
    assert [c.text for c in table.rows[3].cells] == ["Тайгинский ГО", "—*", "—*", "—*"]
    right = docx.enum.text.WD_ALIGN_PARAGRAPH.RIGHT
    assert [c.paragraphs[0].alignment == right for c in table.rows[1].cells] == [
        False, True, True, True]  # numbers are right-aligned
    passport = next(p for p in doc.paragraphs if p.text == "Паспорт расчёта" and p.style.name.startswith("Heading"))
    assert passport.paragraph_format.page_break_before
    borders = table._tbl.tblPr.find(docx.oxml.ns.qn("w:tblBorders"))
    assert borders is not None and len(borders) == 6
    assert len(doc.inline_shapes) == 1

    section = doc.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert section.different_first_page_header_footer
    assert 'w:instr="PAGE"' in section.footer._element.xml
    assert doc.core_properties.title == TITLE


def _pdftotext(path, *args):
    return subprocess.run(["pdftotext", "-enc", "UTF-8", *args, str(path), "-"],
                          check=True, capture_output=True, text=True).stdout


def test_pdf_text_fonts_and_page_numbers(note):
    _, out = note
    pdf = out / "smoke.pdf"
    text = _pdftotext(pdf)
    for heading in ["Общие сведения", "Распределение по уровням", "Паспорт расчёта",
                    "Таблица 1. Участники диагностики", "Рисунок 1.", "Тайгинский ГО"]:
        assert heading in text, heading
    assert "\ufffd" not in text
    assert "show_table" not in text
    first = _pdftotext(pdf, "-f", "1", "-l", "1")
    assert "ГБУ ДПО «КРИРПО»" in first and "Кемерово, 2026" in first
    assert not any(line.strip().isdigit() for line in first.splitlines())  # no number on the title page
    contents = [line.strip() for line in _pdftotext(pdf, "-f", "2", "-l", "2").splitlines() if line.strip()]
    assert contents[0] == "Содержание" and contents[-1] == "2"
    second = [line.strip() for line in _pdftotext(pdf, "-f", "3", "-l", "3").splitlines() if line.strip()]
    assert second[0] == "Общие сведения" and second[-1] == "3"
    third = [line.strip() for line in _pdftotext(pdf, "-f", "4", "-l", "4").splitlines() if line.strip()]
    assert third[0] == "Паспорт расчёта" and third[-1] == "4"  # the passport starts a page
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True,
                           text=True).stdout.splitlines()[2:]
    from proforient_diag.report.export import serif_font
    family = serif_font()[0].replace(" ", "-")
    assert fonts and all(family in line or "DejaVu" in line for line in fonts)
    assert any(family in line for line in fonts)
    assert all(line.split()[-5] == "yes" for line in fonts)  # the "emb" column


def test_manifest_json_records_hashes_and_parameters(note):
    result, out = note
    manifest = json.loads((out / "smoke.manifest.json").read_text(encoding="utf-8"))
    assert manifest == json.loads(json.dumps(result.manifest))
    assert manifest["package"] == {"name": "proforient-diag", "version": proforient_diag.__version__}
    [entry] = manifest["inputs"]
    assert entry["name"] == "responses.csv" and entry["size"] == len(INPUT_BYTES)
    assert entry["sha256"] == hashlib.sha256(INPUT_BYTES).hexdigest()
    assert manifest["parameters"] == {"n_students": 1300, "seed": 11}
    assert manifest["seeds"] == {"seed": 11}
    assert manifest["instrument_versions"] == {"ppsd": "2026.1"}
    assert manifest["python"] == ".".join(map(str, sys.version_info[:3]))
    assert manifest["packages"]["pandas"] == pd.__version__
    for fmt in ("html", "docx", "pdf"):
        path = out / manifest["outputs"][fmt]["file"]
        assert manifest["outputs"][fmt]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_write_index_from_note_results(note, tmp_path):
    result, out = note
    page = write_index(tmp_path, [result], "Справки").read_text(encoding="utf-8")
    rel = Path("..") / out.name
    for fmt, label in [("html", "HTML"), ("docx", "Word (DOCX)"), ("pdf", "PDF")]:
        assert f'<a href="{(rel / f"smoke.{fmt}").as_posix()}">{label}</a>' in page
    assert TITLE in page and "готово" in page


def test_index_lists_the_notes_an_earlier_run_left_in_the_folder(note):
    _, out = note
    page = write_index(out, [], "Справки").read_text(encoding="utf-8")
    assert TITLE in page and "готово (в прежнем запуске)" in page
    assert '<a href="smoke.pdf">PDF</a>' in page and "сформировано: 1" in page
    again = write_index(out, pd.DataFrame([{"name": "smoke", "title": TITLE, "status": "ошибка",
                                "error": "x", "outputs": ""}]), "Справки").read_text(encoding="utf-8")
    assert "в прежнем запуске" not in again   # a note of this run is listed once, as this run left it


# ----------------------------------------------------------------------------- batches


def _tiny_notebook(path):
    """A notebook that starts fast (no pandas/seaborn in the kernel): the batch machinery only."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook(cells=[
        new_code_cell("fail = False", metadata={"tags": ["parameters"]}),
        new_code_cell("from proforient_diag.errors import DataError\n"
                      "if fail:\n    raise DataError('Проверочная ошибка: параметр fail включён.')"),
        new_markdown_cell("# Итоги"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}})
    nbformat.write(nb, str(path))
    return path


def test_run_batch_reports_a_failure_and_finishes_the_others(tmp_path):
    notebook = _tiny_notebook(tmp_path / "tiny.ipynb")
    out = tmp_path / "notes"
    jobs = [
        {"notebook": notebook, "output_dir": out, "parameters": {},
         "name": "good", "title": "Проверочная справка", "formats": ("html",),
         "keep_notebook": False},
        {"notebook": notebook, "output_dir": out, "parameters": {"fail": True},
         "name": "bad", "title": "Справка с ошибкой", "formats": ("html",)},
    ]
    status = run_batch(jobs, n_jobs=2, progress=False)
    assert list(status.columns) == ["name", "title", "status", "error", "outputs"]
    assert list(status["name"]) == ["good", "bad"]
    assert list(status["status"]) == ["готово", "ошибка"]
    assert status.loc[0, "error"] == "" and status.loc[0, "outputs"] == str(out / "good.html")
    assert status.loc[1, "error"] == (
        f"файл «{notebook}»: блокнот остановился с ошибкой в ячейке [3]: "  # [2] is injected
        "DataError: Проверочная ошибка: параметр fail включён.")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["bad.error.ipynb", "good.html", "good.manifest.json"]
    assert "<h1 id=\"sec-1\">Итоги</h1>" in (out / "good.html").read_text(encoding="utf-8")

    index = write_index(out, status, "Справки 2026 года")
    page = index.read_text(encoding="utf-8")
    assert '<a href="good.html">HTML</a>' in page
    assert "Справок: 2, сформировано: 1." in page
    # the index names the failure but never its text (it may quote a cell of the data)
    assert "Проверочная ошибка" not in page and "справка не сформирована" in page
    assert not list(out.glob(".*.tmp"))


def test_run_batch_rejects_repeated_names(tmp_path):
    job = {"notebook": NOTEBOOK, "output_dir": tmp_path, "name": "x", "title": "x"}
    with pytest.raises(DataError, match="повторяются: x"):
        run_batch([job, job], progress=False)


def test_run_note_bad_inputs(tmp_path):
    with pytest.raises(InputFileError, match="блокнот справки не найден"):
        run_note(tmp_path / "нет.ipynb", tmp_path, {}, name="x", title="x")
    with pytest.raises(ValueError, match="допустимые значения «html», «docx», «pdf»"):
        run_note(NOTEBOOK, tmp_path, {}, name="x", title="x", formats=("odt",))
    assert NoteRunError.__mro__[1] is DiagError


# ----------------------------------------------------------------------------- files and tools


def test_atomic_write_keeps_old_file_and_leaves_no_temp_on_failure(tmp_path):
    target = tmp_path / "note.html"
    atomic_write(target, lambda tmp: tmp.write_text("старая версия", encoding="utf-8"))

    def broken(tmp):
        tmp.write_text("полови", encoding="utf-8")
        raise RuntimeError("прервано")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text(encoding="utf-8") == "старая версия"
    assert [p.name for p in tmp_path.iterdir()] == ["note.html"]
    assert (target.stat().st_mode & 0o777) != 0o600  # not mkstemp's private mode


def test_missing_weasyprint_is_a_russian_diag_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import now fails
    with pytest.raises(MissingToolError, match="pip install weasyprint") as err:
        export.write_pdf("<p>x</p>", tmp_path / "x.pdf")
    assert isinstance(err.value, DiagError)
    assert not list(tmp_path.iterdir())


def test_missing_pango_is_explained(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingToolError, match="apt-get install libpango-1.0-0"):
        export._weasyprint()


def test_missing_pandoc_is_a_russian_diag_error(monkeypatch):
    import pypandoc

    def no_pandoc():
        raise OSError("No pandoc was found")

    monkeypatch.setattr(pypandoc, "get_pandoc_path", no_pandoc)
    with pytest.raises(MissingToolError, match="pip install pypandoc-binary"):
        export.pandoc_path()


# ----------------------------------------------------------------------------- manifest


def test_manifest_markdown_is_russian():
    manifest = {
        "created": "2026-11-26T13:05:00+07:00",
        "package": {"name": "proforient-diag", "version": "0.1.0"},
        "python": "3.11.7", "packages": {"pandas": "3.1.1", "weasyprint": None},
        "instrument_versions": {"ppsd": "2026.1"},
        "inputs": [{"name": "a|b.csv", "size": 12345, "sha256": "ab" * 32, "path": "/x"}],
        "parameters": {"year": 2026, "municipality": "Кемеровский ГО"},
        "seeds": {"seed": 7},
    }
    md = manifest_markdown(manifest, manifest_name="diagnostics_2026.manifest.json")
    assert md.startswith("## Паспорт расчёта\n")
    for text in ["| Дата и время расчёта | 26.11.2026, 13:05 |",
                 "| Версия комплекта proforient-diag | 0.1.0 |", "| Версия инструмента | 2026.1 |",
                 "| Входных файлов | 1 |", "| Период данных | — |",
                 "| Отпечаток входных данных (SHA-256) | "
                 + " ".join(inputs_digest(manifest)[i:i + 8] for i in range(0, 64, 8)) + " |",
                 "| Файл паспорта | diagnostics_2026.manifest.json |"]:
        assert text in md, text
    # what an official reader does not need stays in the manifest file
    for text in ["pandas", "ab" * 32, "municipality", "seed", "/x", "Python"]:
        assert text not in md, text


def test_inputs_digest_depends_on_every_input_and_not_on_their_order():
    a = {"name": "a.csv", "sha256": "1" * 64}
    b = {"name": "b.csv", "sha256": "2" * 64}
    assert inputs_digest({"inputs": [a, b]}) == inputs_digest({"inputs": [b, a]})
    assert inputs_digest({"inputs": [a, b]}) != inputs_digest({"inputs": [a, {**b, "sha256": "3" * 64}]})
    assert inputs_digest({"inputs": [a]}) != inputs_digest({"inputs": [a, b]})


def test_build_manifest_needs_existing_inputs(tmp_path):
    with pytest.raises(InputFileError, match="входной файл не найден"):
        build_manifest({}, [tmp_path / "нет.csv"])
    m = build_manifest({"out": tmp_path, "seed_boot": np.int64(5)}, [])
    assert m["parameters"] == {"out": tmp_path.name, "seed_boot": 5}   # no machine path
    assert m["seeds"] == {"seed_boot": 5}
    json.dumps(m)  # serialisable


# ----------------------------------------------------------------------------- tables


def _table():
    return pd.DataFrame({
        "Школа": ["А", "Б", "В"],
        "n": [1200.0, 35.0, np.nan],
        "Балл": [3.14159, -0.5, np.nan],
        "Доля": [12.345, 50.0, np.nan],
        "p": [0.0001, 0.2, np.nan],
        "flag": ["", None, "скрыто"],
    })


def test_show_table_formats_and_suppresses():
    numbering = Numbering()
    t = show_table(_table(), "Проба", numbering=numbering, note="Проверка.",
                   percent_cols=["Доля"], p_cols=["p"], int_cols=["n"])
    assert t.number == 1 and t.caption == "Таблица 1. Проба"
    assert t.n_suppressed == 4
    frame = t.to_frame()
    assert list(frame.columns) == ["Школа", "n", "Балл", "Доля", "p"]  # flag not shown
    assert frame.iloc[0].tolist() == ["А", "1\u202f200", "3,14", "12,3\u00a0%", "<\u00a00,001"]
    assert frame.iloc[1].tolist() == ["Б", "35", "\u22120,50", "50,0\u00a0%", "0,200"]
    assert frame.iloc[2].tolist() == ["В", "—", "—", "—", "—"]
    html = t._repr_html_()
    assert "<caption>Таблица 1. Проба</caption>" in html
    assert html.count("—<sup>*</sup>") == 4
    assert "Примечание. Проверка." in html and "Значение скрыто" in html
    assert t.summary() == "Таблица 1. Проба: строк 3, столбцов 5, скрытых значений 4."
    assert show_table(_table(), "Вторая", numbering=numbering).number == 2


def test_show_table_missing_without_flag_is_not_called_suppressed():
    df = pd.DataFrame({"a": [1.0, np.nan]})
    t = show_table(df, "Без скрытия", numbering=Numbering(), decimals={"a": 1})
    assert t.to_frame()["a"].tolist() == ["1,0", "—"]
    assert t.n_suppressed == 0 and "Значение скрыто" not in t.html


def test_show_table_unknown_column_and_index():
    with pytest.raises(DataError, match="нет столбца «нет»"):
        show_table(_table(), "x", numbering=Numbering(), percent_cols=["нет"])
    df = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["x", "y"], name="Группа"))
    t = show_table(df, "Индекс", numbering=Numbering())
    assert list(t.to_frame().columns) == ["Группа", "v"]


def test_numbering_is_per_note():
    a, b = Numbering(), Numbering()
    assert figure_caption("Один", a).text == "Рисунок 1. Один"
    assert figure_caption("Два", a).text == "Рисунок 2. Два"
    assert figure_caption("Другая справка", b).text == "Рисунок 1. Другая справка"
    assert 'data-custom-style="Image Caption"' in figure_caption("x", b)._repr_html_()


# ----------------------------------------------------------------------------- theme


def test_level_palette_is_fixed_and_checked():
    assert level_palette(["Высокий", "низкий"]) == {"Высокий": LEVEL_COLORS["высокий"],
                                                   "низкий": LEVEL_COLORS["низкий"]}
    assert len(set(LEVEL_COLORS.values())) == len(LEVEL_COLORS)
    with pytest.raises(ValueError, match="допустимые значения «очень низкий»"):
        level_palette(["отличный"])


def test_ru_formatter_and_axis():
    f = RuFormatter()
    assert f.format_ticks([0, 0.5, 1.0]) == ["0,0", "0,5", "1,0"]
    assert f.format_ticks([0, 10000, 20000]) == ["0", "10\u202f000", "20\u202f000"]
    assert f.format_ticks([-1.0, 0.0]) == ["\u22121", "0"]
    assert RuFormatter(share=True).format_ticks([0, 0.25]) == ["0\u00a0%", "25\u00a0%"]

    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots()
    sns.barplot(x=["низкий", "высокий"], y=[0.25, 0.75], ax=ax)
    ru_axis(ax, share=True)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["низкий", "высокий"]
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["0\u00a0%", "10\u00a0%"]
    plt.close(fig)


def test_show_table_of_an_empty_frame_renders_the_caption():
    from proforient_diag.report.tables import Numbering, show_table
    t = show_table(pd.DataFrame({"Показатель": [], "Значение": []}), "Пустая таблица", numbering=Numbering())
    html = t._repr_html_()
    assert "Таблица 1. Пустая таблица" in html and "Показатель" in html


def test_show_table_marks_imprecise_rows_with_a_footnote():
    df = pd.DataFrame({"Параллель": ["1–4 классы", "8–9 классы", "10–11 классы", "Всего"],
                       "n": [44.0, 27.0, np.nan, 142.0], "Индекс": [60.2, 63.3, np.nan, 62.9],
                       "flag": ["", "неточно", "скрыто", ""]})
    t = show_table(df, "Неточные группы", numbering=Numbering(), int_cols=["n"], decimals=1)
    frame = t.to_frame()
    assert frame["Параллель"].tolist() == ["1–4 классы", "8–9 классы°", "10–11 классы", "Всего"]
    assert frame.iloc[1].tolist() == ["8–9 классы°", "27", "63,3"]
    assert t.n_imprecise == 1 and t.n_suppressed == 2
    assert "° — группа из 10–29 обучающихся: оценка неточна" in t.html
    assert "8–9 классы°</td>" in t.html and "Значение скрыто" in t.html
    # no mark and no footnote without imprecise rows
    t2 = show_table(df.assign(flag=""), "Без флагов", numbering=Numbering())
    assert t2.n_imprecise == 0 and "°" not in t2.html


def test_show_table_prints_int_values_of_a_mixed_column_as_counts():
    df = pd.DataFrame({"Показатель": ["Число наблюдений", "Эффект дизайна"],
                       "Значение": pd.Series([3184, 1.5104], dtype=object)})
    t = show_table(df, "Веса", numbering=Numbering())
    assert t.to_frame()["Значение"].tolist() == ["3\u202f184", "1,51"]


def test_figures_get_their_caption_as_alt_text():
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    caption = figure_caption("Уровни по параллелям", Numbering())
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    cells = [new_code_cell("plot", outputs=[
                 new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
                 new_output("execute_result", data={"text/html": caption.html,
                                                    "text/plain": "Caption"}, execution_count=1)]),
             new_code_cell("plot2", outputs=[
                 new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})])]
    html = export.notebook_body_html(nbformat.from_dict(new_notebook(cells=cells)))
    assert 'alt="Рисунок 1. Уровни по параллелям"' in html
    assert 'alt="Рисунок"' in html
    assert "No description has been provided" not in html


def test_note_figure_alt_is_its_caption(note):
    _, out = note
    html = (out / "smoke.html").read_text(encoding="utf-8")
    assert 'alt="Рисунок 1. Распределение обучающихся по уровням сформированности"' in html
    assert "No description has been provided" not in html
