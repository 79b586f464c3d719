"""Export of an executed notebook to the published formats: HTML, DOCX and PDF.

All three come from one executed notebook and never show code:

* HTML — nbconvert's ``basic`` template with ``exclude_input``, input and
  output prompts and anchor links excluded, wrapped in the kit's page
  (``templates/note.html`` and ``templates/note.css``) with a title block.
* DOCX — pandoc (the ``pypandoc-binary`` wheel) reads that HTML (not
  Markdown, which would flatten tables), so tables stay real Word tables and
  the ``data:`` images are embedded; python-docx then adds the official title
  page, A4 margins, page numbers in the footer, bordered tables with a
  repeated header row, and the PDF's serif family in every style (pandoc's reference
  document uses theme fonts, which python-docx's ``font.name`` does not
  override, so the theme attributes are removed explicitly).
* PDF — WeasyPrint from the same HTML with the print CSS: A4, page numbers,
  rows and small tables kept whole, the serif of :func:`serif_font` embedded (subset), a
  linked table of contents with page numbers, tagged.

The body is typeset once (:mod:`proforient_diag.report.typography`) and its headings get ids, from
which the HTML/PDF contents are built; the DOCX gets a real TOC field and SEQ fields in its
captions.

Every file is written to a temporary file in the target directory and renamed
(:func:`atomic_write`), so an interrupted run leaves either the previous file
or the new one, never half a note.
"""
from __future__ import annotations

import copy
import functools
import datetime as _dt
import html as _html
import os
import re
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

from ..errors import ExportError, MissingToolError
from ..options import check_choices, check_option
from .typography import typeset_html

FORMATS = ("html", "docx", "pdf")
DEFAULT_ORGANISATION = "ГБУ ДПО «КРИРПО»"
DEFAULT_CITY = "Кемерово"
PASSPORT_HEADING = "Паспорт расчёта"


# --------------------------------------------------------------------------- files


def atomic_write(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Write a file through a temporary file in the same directory, then rename it.

    Parameters
    ----------
    path : path
        The final file.
    writer : callable
        Called with the temporary path; it must create that file.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    ``os.replace`` within one directory (one file system) is atomic on POSIX and
    Windows: readers see the old file or the new one. On any exception the
    temporary file is removed and the exception propagates.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        # mkstemp creates the file with mode 0600; published files get the usual mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def template(name: str) -> str:
    return resources.files("proforient_diag.report").joinpath("templates", name).read_text(
        encoding="utf-8")


# --------------------------------------------------------------------------- HTML


_FIGCAPTION = re.compile(r'class="pd-figcaption"[^>]*>\s*<p>(.*?)</p>', re.S)
FIGURE_ALT = "Рисунок"


def _caption_text(output) -> str | None:
    """The text of a figure caption (:func:`~proforient_diag.report.tables.figure_caption`)."""
    html = output.get("data", {}).get("text/html", "")
    if isinstance(html, list):
        html = "".join(html)
    m = _FIGCAPTION.search(html or "")
    return _html.unescape(re.sub(r"<[^>]+>", "", m.group(1))).strip() if m else None


def _set_figure_alt(cells) -> None:
    """Give every image the caption that follows it (in its cell or the next) as alt text.

    nbconvert otherwise writes alt="No description has been provided for this image".
    """
    outs = [o for c in cells if c.cell_type == "code" for o in c.get("outputs", [])]
    for i, out in enumerate(outs):
        data = out.get("data", {})
        kinds = [k for k in ("image/png", "image/jpeg", "image/svg+xml") if k in data]
        if not kinds:
            continue
        alt = None
        for nxt in outs[i + 1:i + 4]:
            alt = _caption_text(nxt)
            if alt or any(k in nxt.get("data", {}) for k in ("image/png", "image/jpeg")):
                break
        meta = out.setdefault("metadata", {})
        for k in kinds:
            meta.setdefault(k, {})
            if not meta[k].get("alt"):
                meta[k]["alt"] = alt or FIGURE_ALT


def _clean_notebook(nb):
    """A copy of the notebook without what a reader should not see.

    Drops cells tagged ``remove`` / ``remove-cell`` / ``hide``, stderr streams
    (warnings), error outputs and results that only have a plain-text repr
    (``<Axes: ...>``, ``<Figure size ...>``): in a note these are artefacts of
    code, not content. Figures get their caption (or «Рисунок») as alt text.
    """
    nb = copy.deepcopy(nb)
    hidden = {"remove", "remove-cell", "remove_cell", "hide"}
    cells = []
    for cell in nb.cells:
        if hidden & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.cell_type == "code":
            kept = []
            for out in cell.get("outputs", []):
                kind = out.get("output_type")
                if kind == "stream" and out.get("name") == "stderr":
                    continue
                if kind == "error":
                    continue
                if kind in ("execute_result", "display_data"):
                    data = out.get("data", {})
                    if set(data) <= {"text/plain"}:
                        continue
                kept.append(out)
            cell.outputs = kept
        cells.append(cell)
    _set_figure_alt(cells)
    nb.cells = cells
    return nb


def notebook_body_html(nb) -> str:
    """The notebook's outputs and Markdown as an HTML fragment, without any code.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.

    Returns
    -------
    str
        nbconvert's ``basic`` HTML with inputs, prompts and anchor links excluded.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True,
                            exclude_anchor_links=True)
    body, _ = exporter.from_notebook_node(_clean_notebook(nb))
    return number_headings(typeset_html(body))


_HEADING = re.compile(r"<h([12])(\s[^>]*)?>(.*?)</h\1>", re.S)
TOC_TITLE = "Содержание"


def number_headings(body: str) -> str:
    """Give every first- and second-level heading an id (``sec-1``, ``sec-2``, …) for the
    table of contents; headings that already have an id keep it."""
    count = iter(range(1, 10_000))

    def add(m):
        attrs = m.group(2) or ""
        if "id=" in attrs:
            return m.group(0)
        return f'<h{m.group(1)} id="sec-{next(count)}"{attrs}>{m.group(3)}</h{m.group(1)}>'

    return _HEADING.sub(add, body)


def toc_entries(body: str) -> list[tuple[int, str, str]]:
    """(level, id, text) of each heading with an id, in order (:func:`number_headings`)."""
    out = []
    for m in _HEADING.finditer(body):
        ident = re.search(r'id="([^"]+)"', m.group(2) or "")
        if ident:
            text = _html.unescape(re.sub(r"<[^>]+>", "", m.group(3))).strip()
            out.append((int(m.group(1)), ident.group(1), text))
    return out


def toc_html(body: str) -> str:
    """The linked table of contents of a note (in the PDF with page numbers, see note.css)."""
    items = "".join(
        f'<li class="pd-toc-{level}"><a href="#{ident}">{_html.escape(text)}</a></li>'
        for level, ident, text in toc_entries(body))
    if not items:
        return ""
    return (f'<nav class="pd-toc"><p class="pd-toc-title">{TOC_TITLE}</p>'
            f"<ul>{items}</ul></nav>")


#: The serif families a note is set in, in order of preference, with their file names
#: (regular, bold, italic, bold italic). Liberation Serif has the metrics of Times New Roman,
#: which a Word user's machine has; DejaVu Serif comes with matplotlib, so it is always there.
SERIF_FAMILIES = (
    ("Liberation Serif", ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf",
                          "LiberationSerif-Italic.ttf", "LiberationSerif-BoldItalic.ttf")),
    ("PT Serif", ("PTF55F.ttf", "PTF75F.ttf", "PTF56F.ttf", "PTF76F.ttf")),
    ("DejaVu Serif", ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf",
                      "DejaVuSerif-BoldItalic.ttf")),
)
_STYLES = (("normal", "normal"), ("bold", "normal"), ("normal", "italic"), ("bold", "italic"))


def _font_dirs() -> list[Path]:
    import matplotlib

    dirs = [Path(matplotlib.get_data_path()) / "fonts" / "ttf"]
    for root in ("/usr/share/fonts", "/usr/local/share/fonts", str(Path.home() / ".fonts"),
                 "C:/Windows/Fonts", "/Library/Fonts"):
        if Path(root).is_dir():
            dirs.append(Path(root))
    return dirs


@functools.lru_cache(maxsize=1)
def serif_font() -> tuple[str, dict[tuple[str, str], Path]]:
    """The serif family of the notes (PDF and DOCX alike) and its files by (weight, style).

    The first of :data:`SERIF_FAMILIES` whose regular and bold files are found (in matplotlib's
    fonts, then the system's); DejaVu Serif, which matplotlib ships, is always found.
    """
    dirs = _font_dirs()
    for family, names in SERIF_FAMILIES:
        files = {}
        for style, name in zip(_STYLES, names):
            for d in dirs:
                hit = next(iter(sorted(d.rglob(name))), None) if d.is_dir() else None
                if hit:
                    files[style] = hit
                    break
        if ("normal", "normal") in files and ("bold", "normal") in files:
            return family, files
    return "DejaVu Serif", {}


def _font_faces() -> str:
    """@font-face rules with local file URLs of the serif family and DejaVu Sans Mono
    (embedded, subset, by WeasyPrint)."""
    import matplotlib

    family, files = serif_font()
    faces = [f'@font-face {{ font-family: "{family}"; src: url("{path.as_uri()}"); '
             f"font-weight: {weight}; font-style: {style}; }}"
             for (weight, style), path in files.items()]
    mono = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSansMono.ttf"
    if mono.is_file():
        faces.append(f'@font-face {{ font-family: "DejaVu Sans Mono"; src: url("{mono.as_uri()}"); '
                     "font-weight: normal; font-style: normal; }")
    return "\n".join(faces)


def wrap_html(body: str, *, title: str, organisation: str = DEFAULT_ORGANISATION,
              city: str = DEFAULT_CITY, year: int | None = None,
              embed_fonts: bool = False) -> str:
    """The complete HTML page of a note: title block, kit CSS, body.

    Parameters
    ----------
    body : str
        The HTML fragment (:func:`notebook_body_html`).
    title : str
        The note's title.
    organisation, city : str
        Shown on the title page («ГБУ ДПО «КРИРПО»», «Кемерово»).
    year : int, optional
        The year after the city (default: the current year).
    embed_fonts : bool, default False
        Add ``@font-face`` rules with local ``file:`` URLs of matplotlib's
        serif fonts (for WeasyPrint; not for a published HTML page).

    Returns
    -------
    str
    """
    from .. import __version__

    year = year or _dt.date.today().year
    esc = _html.escape
    page = template("note.html")
    fields = {
        "{{version}}": esc(__version__),
        "{{title}}": esc(title),
        "{{organisation}}": esc(organisation),
        "{{place}}": esc(f"{city}, {year}"),
        "{{fonts}}": _font_faces() if embed_fonts else "",
        "{{css}}": template("note.css").replace("{{serif}}", serif_font()[0]),
        "{{toc}}": toc_html(body),
    }
    for key, value in fields.items():
        page = page.replace(key, value)
    return page.replace("{{body}}", body)


# --------------------------------------------------------------------------- PDF


def _weasyprint():
    try:
        import weasyprint
    except ImportError as exc:
        raise MissingToolError(
            "Для PDF нужен пакет WeasyPrint: установите его командой «pip install weasyprint»."
        ) from exc
    except OSError as exc:  # cffi could not load pango / gobject
        raise MissingToolError(
            "Для PDF нужны системные библиотеки Pango, которыми пользуется WeasyPrint: "
            "установите их (Debian/Ubuntu: «sudo apt-get install libpango-1.0-0 "
            "libpangoft2-1.0-0 libharfbuzz0b libfontconfig1») и повторите запуск."
        ) from exc
    return weasyprint


def write_pdf(html: str, path: str | Path, *, base_url: str | Path | None = None) -> Path:
    """Render a complete HTML page (with the print CSS) to PDF atomically.

    Raises
    ------
    MissingToolError
        If WeasyPrint or its system libraries (Pango) are missing.
    """
    weasyprint = _weasyprint()
    base = str(base_url) if base_url is not None else None
    doc = weasyprint.HTML(string=html, base_url=base)
    # A tagged PDF (structure for screen readers and for copying tables) where WeasyPrint can.
    return atomic_write(path, lambda tmp: doc.write_pdf(str(tmp), pdf_tags=True))


# --------------------------------------------------------------------------- DOCX


def pandoc_path() -> str:
    """The pandoc executable (from the pypandoc-binary wheel or the system).

    Raises
    ------
    MissingToolError
        If neither is available.
    """
    message = ("Для DOCX нужен pandoc: установите пакет pypandoc-binary («pip install "
               "pypandoc-binary») или pandoc (Debian/Ubuntu: «sudo apt-get install pandoc»).")
    try:
        import pypandoc
    except ImportError as exc:
        raise MissingToolError(message) from exc
    try:
        path = pypandoc.get_pandoc_path()
    except OSError as exc:
        raise MissingToolError(message) from exc
    if not path:
        raise MissingToolError(message)
    return path


def _qn(tag: str) -> str:
    from docx.oxml.ns import qn

    return qn(tag)


def _set_fonts(rpr_parent, name: str) -> None:
    """Set explicit fonts on an element's rPr and drop theme fonts that override them."""
    from docx.oxml import OxmlElement

    rpr = rpr_parent.find(_qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_parent.insert(0, rpr)
    fonts = rpr.find(_qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:cstheme", "w:eastAsiaTheme"):
        fonts.attrib.pop(_qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(_qn(attr), name)


def reference_docx(path: str | Path) -> Path:
    """Write the kit's Word reference document (styles for pandoc).

    pandoc's default ``reference.docx`` restyled with python-docx: Times New
    Roman everywhere, 14 pt body text justified with a 1,25 cm first-line
    indent, black bold headings, 11 pt table text, 12 pt italic captions.
    """
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    data = subprocess.run([pandoc_path(), "--print-default-data-file", "reference.docx"],
                          check=True, capture_output=True).stdout
    path = Path(path)
    path.write_bytes(data)
    doc = docx.Document(str(path))
    defaults = doc.styles.element.find(_qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(_qn("w:rPrDefault"))
        if rpr_default is not None:
            _set_fonts(rpr_default, serif_font()[0])
    for style in doc.styles:
        if style.type in (1, 2, 3):  # paragraph, character, table
            _set_fonts(style.element, serif_font()[0])
    styles = doc.styles
    body = ["Normal", "Body Text", "First Paragraph"]
    for name in body:
        st = styles[name]
        st.font.size = Pt(14)
        st.font.color.rgb = RGBColor(0, 0, 0)
    for name in ["Body Text", "First Paragraph"]:
        pf = styles[name].paragraph_format
        pf.first_line_indent = Cm(1.25)
        pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
        pf.space_before, pf.space_after = Pt(0), Pt(6)
        pf.line_spacing = 1.15
    for name, size in [("Heading 1", 16), ("Heading 2", 14), ("Heading 3", 14), ("Title", 18)]:
        st = styles[name]
        st.font.size = Pt(size)
        st.font.bold = True
        st.font.italic = False
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.paragraph_format.keep_with_next = True
        st.paragraph_format.space_before = Pt(12)
        st.paragraph_format.space_after = Pt(6)
    compact = styles["Compact"]
    compact.font.size = Pt(11)
    compact.paragraph_format.first_line_indent = Cm(0)
    compact.paragraph_format.space_after = Pt(0)
    for name in ["Table Caption", "Image Caption"]:
        st = styles[name]
        st.font.size = Pt(12)
        st.font.color.rgb = RGBColor(0, 0, 0)
    styles["Table Caption"].font.bold = True
    styles["Table Caption"].font.italic = False
    styles["Table Caption"].paragraph_format.keep_with_next = True
    styles["Image Caption"].font.italic = True
    styles["Image Caption"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    note = styles.add_style("Table Note", WD_STYLE_TYPE.PARAGRAPH)
    note.base_style = styles["Normal"]
    note.font.size = Pt(11)
    note.paragraph_format.space_before = Pt(0)
    note.paragraph_format.space_after = Pt(2)
    note.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    doc.save(str(path))
    return path


def _field_runs(instr: str, cached: str) -> list:
    """The runs of a complex Word field: begin, instruction, separate, cached result, end."""
    from docx.oxml import OxmlElement

    def run(child):
        r = OxmlElement("w:r")
        r.append(child)
        return r

    def char(kind):
        el = OxmlElement("w:fldChar")
        el.set(_qn("w:fldCharType"), kind)
        return el

    text = OxmlElement("w:instrText")
    text.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    text.text = f" {instr} "
    result = OxmlElement("w:t")
    result.text = cached
    return [run(char("begin")), run(text), run(char("separate")), run(result), run(char("end"))]


_CAPTION = re.compile(r"^(Таблица|Рисунок) (\d+)\.(.*)$", re.S)


def _caption_fields(doc) -> int:
    """Turn «Таблица N.» / «Рисунок N.» caption numbers into SEQ fields (Word renumbers them
    when a methodologist inserts a table); returns how many captions were converted."""

    done = 0
    for par in doc.paragraphs:
        m = _CAPTION.match(par.text)
        if not m or not par.style.name.endswith("Caption"):
            continue
        word, number, rest = m.groups()
        for r in list(par._p.findall(_qn("w:r"))) + list(par._p.findall(_qn("w:hyperlink"))):
            par._p.remove(r)
        par.add_run(f"{word}\u00a0")
        for r in _field_runs(f"SEQ {word} \\* ARABIC", number):
            par._p.append(r)
        par.add_run(f".{rest}")
        done += 1
    return done


def _insert_toc(doc, before) -> None:
    """A Word table-of-contents field (levels 1–2, hyperlinked) before the paragraph
    ``before``, with the headings already written in it as its cached result, so that the
    contents show before Word updates the field (the document asks Word to update fields on
    opening, which adds the page numbers)."""
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement
    from docx.shared import Cm, Pt

    heads = [(int(p.style.name.split()[-1]), p.text.strip()) for p in doc.paragraphs
             if p.style.name in ("Heading 1", "Heading 2") and p.text.strip()]
    if not heads:
        return
    pars = []
    title = doc.add_paragraph(style="Normal")
    title.add_run(TOC_TITLE).bold = True
    title.runs[0].font.size = Pt(16)
    title.paragraph_format.first_line_indent = Cm(0)
    pars.append(title)
    begin, instr, sep, _, end = _field_runs('TOC \\o "1-2" \\h \\z \\u', "")
    for i, (level, text) in enumerate(heads):
        par = doc.add_paragraph(style="Normal")
        par.paragraph_format.first_line_indent = Cm(0)
        par.paragraph_format.left_indent = Cm(0 if level == 1 else 0.75)
        par.paragraph_format.space_after = Pt(2)
        if i == 0:
            for r in (begin, instr, sep):
                par._p.append(r)
        par.add_run(text)
        if i == len(heads) - 1:
            par._p.append(end)
            par.add_run().add_break(WD_BREAK.PAGE)
        pars.append(par)
    for par in pars:
        par._p.getparent().remove(par._p)
        before._p.addprevious(par._p)
    settings = doc.settings.element
    if settings.find(_qn("w:updateFields")) is None:
        upd = OxmlElement("w:updateFields")
        upd.set(_qn("w:val"), "true")
        settings.append(upd)


def _add_page_number(paragraph) -> None:
    from docx.oxml import OxmlElement

    fld = OxmlElement("w:fldSimple")
    fld.set(_qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def _border_table(table) -> None:
    """Single 0,5 pt borders on every cell edge, full width, header row repeated."""
    from docx.oxml import OxmlElement

    tbl_pr = table._tbl.tblPr
    for old in tbl_pr.findall(_qn("w:tblBorders")):
        tbl_pr.remove(old)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(_qn("w:val"), "single")
        el.set(_qn("w:sz"), "4")
        el.set(_qn("w:space"), "0")
        el.set(_qn("w:color"), "808080")
        borders.append(el)
    tbl_pr.append(borders)
    width = tbl_pr.find(_qn("w:tblW"))
    if width is None:
        width = OxmlElement("w:tblW")
        tbl_pr.append(width)
    width.set(_qn("w:type"), "pct")
    width.set(_qn("w:w"), "5000")
    for i, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        if not tr_pr.findall(_qn("w:cantSplit")):
            tr_pr.append(OxmlElement("w:cantSplit"))
        if i == 0 and not tr_pr.findall(_qn("w:tblHeader")):
            tr_pr.append(OxmlElement("w:tblHeader"))
        if i == 0:
            for cell in row.cells:
                for par in cell.paragraphs:
                    for run in par.runs:
                        run.bold = True


def _fit_columns(table, text_width: int) -> None:
    """Column widths in proportion to their longest word and text (Word keeps pandoc's equal widths).

    A column gets at least its longest word (names such as «Анжеро-Судженский» must not break
    mid-word) and otherwise a share of the text width by its typical text length.
    """
    from docx.oxml import OxmlElement

    rows = [[c.text for c in r.cells] for r in table.rows]
    if not rows:
        return
    n = max(len(r) for r in rows)

    def longest_word(rs, j):
        return max((len(w) for r in rs if j < len(r) for w in r[j].split()), default=1)

    chars = text_width / 635 / 20 / 6.0  # characters of ~10 pt type (digits, capitals) across the width
    pad = 3  # the cell margins take about three characters
    low = [max(longest_word(rows[1:], j), min(longest_word(rows[:1], j), 12)) + pad for j in range(n)]
    want = [max(lo, min(max((len(r[j]) for r in rows[1:] if j < len(r)), default=1), 40) + pad)
            for j, lo in enumerate(low)]
    if sum(want) <= chars:      # everything fits: widen in proportion
        share = [w / sum(want) for w in want]
    elif sum(low) >= chars:     # even the words do not fit: shrink in proportion
        share = [w / sum(low) for w in low]
    else:                       # words fit; the rest of the width goes to the long texts
        extra = chars - sum(low)
        grow = [w - lo for w, lo in zip(want, low)]
        share = [(lo + extra * g / sum(grow)) / chars for lo, g in zip(low, grow)]
    widths = [int(text_width * k) for k in share]
    tbl_pr = table._tbl.tblPr
    layout = tbl_pr.find(_qn("w:tblLayout"))
    if layout is None:
        layout = OxmlElement("w:tblLayout")
        tbl_pr.append(layout)
    layout.set(_qn("w:type"), "fixed")
    grid = table._tbl.tblGrid
    for j, col in enumerate(grid.findall(_qn("w:gridCol"))):
        if j < n:
            col.set(_qn("w:w"), str(int(widths[j] / 635)))  # EMU → twentieths of a point
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    for r in table.rows:
        for j, cell in enumerate(r.cells):
            if j < n:
                cell.width = widths[j]
            for par in cell.paragraphs:  # body text is justified; in a narrow cell that spreads words
                if par.alignment in (None, WD_ALIGN_PARAGRAPH.JUSTIFY):
                    par.alignment = WD_ALIGN_PARAGRAPH.LEFT
                par.paragraph_format.first_line_indent = 0


def finish_docx(path: str | Path, *, title: str, organisation: str = DEFAULT_ORGANISATION,
                city: str = DEFAULT_CITY, year: int | None = None) -> None:
    """Post-process a pandoc DOCX in place: title page, A4, page numbers, tables, images.

    Parameters
    ----------
    path : path
        The DOCX written by pandoc.
    title, organisation, city, year
        The title page: organisation at the top, the title in the middle,
        «city, year» at the bottom; the page has no number.
    """
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.shared import Mm, Pt

    year = year or _dt.date.today().year
    doc = docx.Document(str(path))
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.different_first_page_header_footer = True
    footer_par = section.footer.paragraphs[0]
    footer_par.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _add_page_number(footer_par)

    text_width = section.page_width - section.left_margin - section.right_margin
    for shape in doc.inline_shapes:
        if shape.width > text_width:
            ratio = text_width / shape.width
            shape.width = int(shape.width * ratio)
            shape.height = int(shape.height * ratio)
    for table in doc.tables:
        _border_table(table)
        _fit_columns(table, text_width)
    for par in doc.paragraphs:  # the run passport starts on its own page, as in the PDF
        if par.style.name.startswith("Heading") and par.text.strip() == PASSPORT_HEADING:
            par.paragraph_format.page_break_before = True
    for par in doc.paragraphs:  # figures: centred, no first-line indent
        if par._p.findall(".//" + _qn("w:drawing")):
            par.alignment = WD_ALIGN_PARAGRAPH.CENTER
            par.paragraph_format.first_line_indent = Mm(0)
            par.paragraph_format.keep_with_next = True  # keep the caption with the figure

    # Title page, built at the end of the body and moved to the front.
    def centred(text, *, size, bold=False, before=0, after=0):
        par = doc.add_paragraph(style="Normal")
        par.alignment = WD_ALIGN_PARAGRAPH.CENTER
        pf = par.paragraph_format
        pf.first_line_indent = Mm(0)
        pf.space_before, pf.space_after = Pt(before), Pt(after)
        pf.line_spacing = 1.15
        run = par.add_run(text)
        run.bold = bold
        run.font.size = Pt(size)
        return par

    title_pars = [
        centred(organisation, size=14, bold=True),
        centred(title, size=16, bold=True, before=220, after=0),
        centred(f"{city}, {year}", size=14, before=300),
    ]
    title_pars[-1].add_run().add_break(WD_BREAK.PAGE)
    body = doc.element.body
    first_of_note = doc.paragraphs[0]
    for i, par in enumerate(title_pars):
        body.remove(par._p)
        body.insert(i, par._p)
    _insert_toc(doc, first_of_note)
    _caption_fields(doc)
    core = doc.core_properties
    core.title = title if len(title) <= 255 else title[:254].rsplit(" ", 1)[0] + "…"  # a DOCX limit
    core.author = organisation
    core.language = "ru-RU"
    doc.save(str(path))


def write_docx(body_html: str, path: str | Path, *, title: str,
               organisation: str = DEFAULT_ORGANISATION, city: str = DEFAULT_CITY,
               year: int | None = None, resource_path: Iterable[str | Path] = ()) -> Path:
    """Convert the note's HTML body to DOCX with pandoc, then finish it, atomically.

    Parameters
    ----------
    body_html : str
        The HTML fragment (:func:`notebook_body_html`); images as ``data:`` URIs
        or files found on ``resource_path``.
    path : path
        The DOCX file.
    title, organisation, city, year
        See :func:`finish_docx`.
    resource_path : iterable of path
        Extra directories where pandoc looks for images.

    Raises
    ------
    MissingToolError
        If pandoc is not available.
    ExportError
        If pandoc fails.
    """
    pandoc = pandoc_path()
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="pd-docx-") as tmpdir:
        tmpdir = Path(tmpdir)
        ref = reference_docx(tmpdir / "reference.docx")
        src = tmpdir / "note.html"
        # No <title>: pandoc would turn it into a second title paragraph; the
        # title page is added by finish_docx.
        src.write_text('<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
                       f"</head><body>{body_html}</body></html>", encoding="utf-8")
        search = os.pathsep.join(str(p) for p in [tmpdir, path.parent, *resource_path])

        def run(tmp: Path) -> None:
            proc = subprocess.run(
                [pandoc, str(src), "--from", "html", "--to", "docx", "--output", str(tmp),
                 "--reference-doc", str(ref), "--resource-path", search],
                capture_output=True, text=True)
            if proc.returncode != 0:
                raise ExportError(f"pandoc не смог собрать DOCX: {proc.stderr.strip()}",
                                  file=path)
            finish_docx(tmp, title=title, organisation=organisation, city=city, year=year)

        atomic_write(path, run)
    return path


# --------------------------------------------------------------------------- all formats


def export_notebook(nb, output_dir: str | Path, *, name: str, title: str,
                    formats: Iterable[str] = FORMATS, organisation: str = DEFAULT_ORGANISATION,
                    city: str = DEFAULT_CITY, year: int | None = None) -> dict[str, Path]:
    """Export an executed notebook to NAME.html / NAME.docx / NAME.pdf, without code.

    Parameters
    ----------
    nb : nbformat.NotebookNode or path
        The executed notebook.
    output_dir : path
        Where the files go.
    name : str
        The file stem.
    title : str
        The note's title (title page, HTML ``<title>``, DOCX properties).
    formats : iterable of {"html", "docx", "pdf"}
        Which files to write.
    organisation, city, year
        The title page.

    Returns
    -------
    dict
        ``{format: path}`` in the order of ``formats``.
    """
    import nbformat

    formats = check_formats(formats)
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(str(nb), as_version=4)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    body = notebook_body_html(nb)
    meta = dict(title=title, organisation=organisation, city=city, year=year)
    out: dict[str, Path] = {}
    for fmt in formats:
        target = output_dir / f"{name}.{fmt}"
        if fmt == "html":
            page = wrap_html(body, **meta)
            out[fmt] = atomic_write(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))
        elif fmt == "docx":
            out[fmt] = write_docx(body, target, **meta)
        else:
            out[fmt] = write_pdf(wrap_html(body, embed_fonts=True, **meta), target,
                                 base_url=output_dir)
    return out


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(formats)
    check_choices("formats", formats, FORMATS)
    if not formats:
        check_option("formats", "", FORMATS)
    return tuple(dict.fromkeys(formats))
