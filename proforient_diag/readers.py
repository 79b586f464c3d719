"""Reading exports as text cells: what the file really is, its encoding, delimiter and header.

One function, :func:`read_table`, turns a file into :class:`Sheet` objects (one per used sheet):
the header, the text cells of every record, the **file row number of each record** (a record
spanning two physical lines keeps the number of its first line), the records that cannot be
parsed (with the reason) and file-level notes. Nothing is interpreted here (that is
:mod:`proforient_diag.ingest` for answer sheets and :mod:`proforient_diag.forms` for monitoring
forms); nothing is lost either: every record of the file is in ``Sheet.frame``, and the number of
records is cross-checked against the physical lines of a text file.

What is recognised, and what the user is told
---------------------------------------------
* **What the file is**, by its first bytes, whatever its extension: a workbook (zip) named
  ``.csv``, a text file named ``.xlsx``, an old ``.xls`` (OLE2), a password-protected workbook
  (OLE2 with ``EncryptionInfo``), an SPSS or Parquet file — each with what to do.
* **Encodings**: UTF-8 (with or without BOM), UTF-16 (with a BOM, or without one, by its NUL
  pattern), Windows-1251, KOI8-R and DOS (cp866) — the single-byte code pages by a Russian
  letter-frequency score; a file mixing UTF-8 and Windows-1251 lines is read line by line; a
  file saved through a wrong code page twice («РџСЂРёРІРµС‚») is repaired; stray NUL bytes are
  removed. Each of these is said in a note.
* **Delimiters**: comma, semicolon, tab and «|»; a record written with another delimiter than
  the file's is named and excluded.
* **Quotes**: a quoted field may hold a line break; a quote that is never closed would swallow
  the following records into one field — such a record is named and excluded, and the records
  after it are read one line each.
* **Header**: the header is the row among the first ten that names the most known columns
  (``known``, a predicate the caller gives), so title rows above it and a two-row merged header
  are skipped; a repeated header row inside the data is skipped with a note; duplicate column
  names are made unique with a note.
* **Cells**: invisible characters (zero-width spaces, soft hyphens) are removed; a cell longer
  than :data:`MAX_CELL` characters is cut, and its record marked (the caller decides whether that
  column matters); in a workbook, leading zeros kept by a number format («0007») are kept,
  and formulas saved without their values are noted.

Own code, and why: pandas' readers lose the physical line of a record and merge a broken quote
silently; :mod:`csv` (C) parses, this module tracks lines and decides.
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import math
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .errors import InputFileError

__all__ = ["Sheet", "read_table", "sha256_file", "MAX_CELL", "TEXT_SUFFIXES", "XLSX_SUFFIXES",
           "SUPPORTED", "russian_score"]

TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
SUPPORTED = (*TEXT_SUFFIXES, *XLSX_SUFFIXES, ".sav", ".parquet")
#: Cells longer than this are cut when read (and their records marked).
MAX_CELL = 1000
_INVISIBLE = {c: None for c in (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD)}
_DELIMITERS = {",": "запятая", ";": "точка с запятой", "\t": "табуляция", "|": "вертикальная черта"}
# Russian letter frequencies (per cent), for telling code pages apart
_FREQ = dict(zip("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
                 (10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98,
                  2.81, 2.62, 2.01, 1.90, 1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73,
                  0.64, 0.48, 0.36, 0.32, 0.26, 0.04, 0.04)))


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (the raw file is only read)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Sheet:
    """One table of a file as text cells.

    Attributes
    ----------
    label : str
        The file name, or «name [sheet]» for a sheet of a workbook.
    frame : DataFrame
        The records, text cells (object dtype), with the (unique) header as columns.
    rows : ndarray of int
        The file row number of each record (first physical line; spreadsheet row).
    bad : dict
        Record position → Russian reason: records that could not be parsed (unclosed quote,
        another delimiter, a wrong number of fields); the caller excludes them.
    long_cells : dict
        Record position → list of (column, length) of cells cut at :data:`MAX_CELL`.
    notes : list of dict
        File-level notes: ``{"source_row", "column", "reason"}``.
    value_labels : dict
        SPSS value labels by column.
    """

    label: str
    frame: pd.DataFrame
    rows: np.ndarray
    bad: dict = field(default_factory=dict)
    long_cells: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    value_labels: dict = field(default_factory=dict)
    formula_rows: set = field(default_factory=set)

    def note(self, reason: str, row: int | None = None, column: str | None = None) -> None:
        self.notes.append({"source_row": row, "column": column, "reason": reason})


# -- what the file is ---------------------------------------------------------------------------

def _ole2_encrypted(raw: bytes) -> bool:
    return "EncryptionInfo".encode("utf-16-le") in raw[:1 << 16] or \
        "EncryptedPackage".encode("utf-16-le") in raw


def _kind(raw: bytes) -> str:
    """«zip», «ole2», «ole2-encrypted», «sav», «parquet» or «text» from the first bytes."""
    if raw[:4] == b"PK\x03\x04":
        return "zip"
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "ole2-encrypted" if _ole2_encrypted(raw) else "ole2"
    if raw[:4] in (b"$FL2", b"$FL3"):
        return "sav"
    if raw[:4] == b"PAR1":
        return "parquet"
    return "text"


def _refuse_mismatch(path: Path, suffix: str, kind: str) -> None:
    """A clear message when the content is not what the extension says."""
    name = path.name
    if kind == "ole2-encrypted":
        raise InputFileError("книга Excel защищена паролем (зашифрована) и не может быть прочитана; "
                             "снимите пароль (Файл → Сведения → Защитить книгу) и сохраните файл "
                             "заново.", file=path)
    if kind == "ole2":
        raise InputFileError(f"«{name}» — книга старого формата Excel (.xls); откройте её в Excel и "
                             "сохраните как «Книга Excel (.xlsx)».", file=path)
    if kind == "zip" and suffix in TEXT_SUFFIXES:
        raise InputFileError(f"«{name}» — это книга Excel (xlsx), а не текстовый файл CSV; "
                             f"переименуйте файл в «{path.stem}.xlsx».", file=path)
    if kind == "text" and suffix in XLSX_SUFFIXES:
        if _looks_like_csv(path):
            raise InputFileError(f"«{name}» — это текстовый файл (CSV), а не книга Excel; "
                                 f"переименуйте файл в «{path.stem}.csv».", file=path)
        raise InputFileError("файл не открывается как книга Excel (это не книга Excel); "
                             "пересохраните его в Excel как .xlsx.", file=path)
    if kind == "sav" and suffix != ".sav":
        raise InputFileError(f"«{name}» — это файл SPSS; переименуйте его в «{path.stem}.sav».",
                             file=path)


def _looks_like_csv(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(1 << 14).decode("utf-8", errors="replace")
    lines = [ln for ln in head.splitlines() if ln.strip()][:10]
    return len(lines) >= 2 and any(min(ln.count(d) for ln in lines) >= 2 for d in _DELIMITERS)


def _refuse_binary(text: str, path: Path) -> None:
    sample = text[:20000]
    control = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r")
    if sample and control > 0.05 * len(sample):
        raise InputFileError("это не текстовая таблица (двоичный файл или текст в неизвестной "
                             "кодировке); сохраните выгрузку в CSV (UTF-8), XLSX, SAV или Parquet.",
                             file=path)


# -- encodings -----------------------------------------------------------------------------------

def russian_score(text: str) -> float:
    """Mean log-likelihood of the letters of ``text`` under Russian letter frequencies (a higher
    score is more Russian-looking: mostly lower-case, frequent letters, no stray symbols)."""
    sample = text[:20000]
    if not sample:
        return -math.inf
    total, n = 0.0, 0
    for ch, k in Counter(sample).items():
        lo = ch.lower()
        if lo in _FREQ:
            p = _FREQ[lo] / 100 * (1.0 if ch == lo else 0.1)
        elif ch.isascii():
            p = 0.05 if (ch.isalnum() or ch in " ,;.:\t\n\r-_\"'()/%+") else 0.01
        else:
            p = 1e-5
        total += k * math.log(p)
        n += k
    return total / n


def _utf16_nobom(raw: bytes) -> str | None:
    head = raw[:4096]
    if len(head) < 8:
        return None
    odd = head[1::2].count(0) / max(len(head[1::2]), 1)
    even = head[0::2].count(0) / max(len(head[0::2]), 1)
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return None


_MOJIBAKE = re.compile(r"[РС][\u0400-\u045f\u00a0-\u00bf]")


def _undo_double(text: str) -> str | None:
    """Text saved from UTF-8 read as Windows-1251 and written again as UTF-8, repaired."""
    if len(_MOJIBAKE.findall(text[:20000])) < 10:
        return None
    try:
        fixed = text.encode("cp1251").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    return fixed if russian_score(fixed) > russian_score(text) else None


def _single_byte(raw: bytes) -> tuple[str, str]:
    """The best of the Russian single-byte code pages, by :func:`russian_score`."""
    names = {"cp1251": "Windows-1251", "koi8_r": "KOI8-R", "cp866": "DOS (cp866)"}
    best = max(names, key=lambda c: russian_score(raw.decode(c, errors="replace")))
    return raw.decode(best, errors="replace"), names[best]


def _decode(raw: bytes, path: Path, sheet_notes: list) -> tuple[str, str]:
    """Text and the encoding's Russian name; what had to be repaired goes to ``sheet_notes``."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, enc = raw[3:], "UTF-8 с BOM"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16"
    else:
        enc = "UTF-8"
    u16 = _utf16_nobom(raw)
    if u16:
        return raw.decode(u16, errors="replace").lstrip("\ufeff"), "UTF-16 без метки"
    if b"\x00" in raw:
        n = raw.count(b"\x00")
        raw = raw.replace(b"\x00", b"")
        sheet_notes.append((None, f"в файле было {n} нулевых байтов (NUL, \\x00) — удалены; "
                                  "проверьте файл, если он получен из другой программы"))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _mixed_or_single(raw, enc, sheet_notes)
    fixed = _undo_double(text)
    if fixed is not None:
        sheet_notes.append((None, "текст файла искажён повторной перекодировкой (UTF-8 сохранён "
                                  "как Windows-1251 и ещё раз как UTF-8); прочитан с исправлением — "
                                  "пересохраните выгрузку в UTF-8"))
        return fixed, "UTF-8 (исправлена двойная перекодировка)"
    return text, enc


def _mixed_or_single(raw: bytes, enc: str, sheet_notes: list) -> tuple[str, str]:
    lines = raw.split(b"\n")
    bad = []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i)
    good = len(lines) - len(bad) - sum(1 for ln in lines if not ln.strip())
    ascii_only = all(not any(b > 127 for b in ln) for i, ln in enumerate(lines) if i not in set(bad))
    if good > 0 and not ascii_only:
        bad_set = set(bad)
        text = "\n".join(ln.decode("cp1251", errors="replace") if i in bad_set else ln.decode("utf-8")
                         for i, ln in enumerate(lines))
        for i in bad:
            sheet_notes.append((i + 1, "строка была в кодировке Windows-1251, а файл в UTF-8; "
                                       "прочитана как Windows-1251 — проверьте её"))
        return text, f"{enc} (строки {', '.join(str(i + 1) for i in bad[:10])} — Windows-1251)"
    text, name = _single_byte(raw)
    return text, name


# -- text tables ---------------------------------------------------------------------------------

def _delimiter(head_lines: list[str]) -> str:
    """The delimiter that splits the most of the first lines into the same, largest number of
    fields: a title line, a decimal comma or a stray character does not mislead it."""
    best, score = ",", (-1, -1)
    sample = head_lines[:60]
    csv.field_size_limit(1 << 30)
    for d in _DELIMITERS:   # records as csv reads them (a quoted line break stays in its record)
        counts = [len(r) for r in itertools.islice(
            csv.reader((ln + "\n" for ln in sample), delimiter=d), 40)]
        if not counts:
            continue
        mode, freq = Counter(c for c in counts if c > 1).most_common(1)[0] if \
            any(c > 1 for c in counts) else (1, 0)
        # lines agreeing on a field count, weighted by the fields they give: a stray «;» in a
        # few cells of a comma file splits them into two fields, the commas into many
        key = (freq * (mode - 1), mode)
        if key > score:
            best, score = d, key
    return best


_UNCLOSED = ("незакрытая кавычка: кавычка в строке открыта и не закрыта, и следующие строки "
             "слились бы в одну ячейку; строка не принята — исправьте кавычки в этой строке")


def _records(lines: list[str], sep: str) -> tuple[list[list[str]], list[int], list[int], dict]:
    """csv records with the physical lines each starts and ends on; a record that swallowed the
    lines after it (an unclosed quote) is split back into its lines, the broken one marked."""
    out, starts, ends, bad = [], [], [], {}
    csv.field_size_limit(1 << 30)   # long cells are cut below, not refused by the parser
    reader = csv.reader((ln + "\n" for ln in lines), delimiter=sep)
    line_end = 0
    for rec in reader:
        start, line_end = line_end + 1, reader.line_num
        if line_end > start and _swallowed(rec, sep):
            for k in range(start, line_end + 1):
                out.append(next(csv.reader([lines[k - 1]], delimiter=sep), []))
                starts.append(k)
                ends.append(k)
                if k == start or lines[k - 1].count('"') % 2:
                    bad[len(out) - 1] = _UNCLOSED
            continue
        out.append(rec)
        starts.append(start)
        ends.append(line_end)
    return out, starts, ends, bad


def _swallowed(rec: list[str], sep: str) -> bool:
    """A multi-line record whose embedded lines look like whole records of the file."""
    for cell in rec:
        if "\n" in cell:
            inner = cell.split("\n")[1:]
            if any(piece.count(sep) >= 3 for piece in inner):
                return True
    return False


def _header_index(rows: list[list[str]], known: Callable[[str], bool] | None) -> int:
    """The header among the first ten rows: the one naming the most known columns, else the
    first row filled to 60 % of the widest."""
    head = rows[:10]
    if known is not None:
        hits = [sum(1 for c in r if c.strip() and known(c)) for r in head]
        if hits and max(hits) >= 2:
            return int(np.argmax(hits))
    filled = [sum(1 for c in r if str(c).strip()) for r in head]
    top = max(filled, default=0)
    return next((i for i, k in enumerate(filled) if k >= max(2, 0.6 * top) or k == top), 0)


def _dedupe(header: list[str], sheet: Sheet) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for j, h in enumerate(header):
        h = h.strip() if isinstance(h, str) else str(h)
        if h and h in seen:
            sheet.note(f"столбец «{h}» повторяется (столбцы {seen[h] + 1} и {j + 1}); прочитан "
                       "первый, повтор пропущен — оставьте один столбец", column=h)
            out.append(f"{h} (повтор {j + 1})")
        else:
            seen.setdefault(h, j)
            out.append(h if h else f"Unnamed: {j}")
    return out


def _cut_long(rows: list[list[str]], header: list[str], sheet: Sheet) -> None:
    for i, r in enumerate(rows):
        for j, c in enumerate(r):
            if len(c) > MAX_CELL:
                sheet.long_cells.setdefault(i, []).append((header[j] if j < len(header) else "",
                                                           len(c)))
                r[j] = c[:MAX_CELL]


def _text_sheet(path: Path, text: str, known, facts: dict, pre_notes: list) -> Sheet:
    text = text.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    sep = _delimiter([ln for ln in lines[:40] if ln.strip()])
    facts["delimiter"] = _DELIMITERS[sep]
    recs, starts, ends, bad = _records(lines, sep)
    while recs and not any(c.strip() for c in recs[-1]) and len(recs[-1]) <= 1:
        recs.pop(), starts.pop(), ends.pop()   # trailing empty lines are no records
    if not recs:
        raise InputFileError("файл пуст; выгрузите данные ещё раз.", file=path)
    h = _header_index(recs, known)
    sheet = Sheet(path.name, pd.DataFrame(), np.zeros(0, int))
    for line, reason in pre_notes:
        sheet.note(reason, row=line)
    if h:
        sheet.note(f"строки 1–{starts[h] - 1} над заголовком (название таблицы) пропущены"
                   if starts[h] > 2 else "строка 1 над заголовком (название таблицы) пропущена")
    header = _dedupe(recs[h], sheet)
    body, rows, bad_body, covered = [], [], {}, 0
    for k in range(h + 1, len(recs)):
        r = recs[k]
        covered += ends[k] - starts[k] + 1
        if [c.strip() for c in r] == [c.strip() for c in recs[h]]:
            sheet.note(f"строка {starts[k]} повторяет строку заголовка — пропущена (не запись)",
                       row=starts[k])
            continue
        reason = bad.get(k) or _field_count_problem(r, len(header), sep, lines[starts[k] - 1])
        if reason:
            bad_body[len(body)] = reason
        body.append((r + [""] * len(header))[:len(header)])
        rows.append(starts[k])
    _cut_long(body, header, sheet)
    sheet.frame = pd.DataFrame(body, columns=header, dtype=object) if body else \
        pd.DataFrame(columns=header, dtype=object)
    sheet.rows, sheet.bad = np.asarray(rows, dtype=int), bad_body
    last = ends[-1] if len(recs) > h + 1 else ends[h]
    if covered != last - ends[h]:   # every physical line after the header is in one record
        raise RuntimeError(f"line accounting broken for {path}: {covered} != {last - ends[h]}")
    return sheet


def _field_count_problem(rec: list[str], width: int, sep: str, line: str) -> str | None:
    if len(rec) == width or (len(rec) > width and not any(c.strip() for c in rec[width:])) or \
            (len(rec) == 0):
        return None
    for other, name in _DELIMITERS.items():
        if other != sep and line.count(other) >= max(2, width // 2):
            return (f"в строке другой разделитель («{name}»), а в файле — «{_DELIMITERS[sep]}»; "
                    "строка не принята — проверьте разделители этой строки")
    return (f"в строке {len(rec)} полей, а в заголовке {width}: проверьте разделители и кавычки "
            "в этой строке")


# -- workbooks -----------------------------------------------------------------------------------

def _cell_text(v, fmt: str | None = None) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)) and fmt and re.fullmatch(r"0+", fmt) and float(v).is_integer():
        return str(int(v)).zfill(len(fmt))
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v).translate(_INVISIBLE)


def _formula_cells(path: Path, title: str) -> set[tuple[int, int]]:
    """(row, column) of formula cells of a sheet (read only when the workbook has formulas)."""
    import openpyxl
    wb = openpyxl.load_workbook(path, data_only=False)
    ws = wb[title]
    return {(c.row, c.column) for r in ws.iter_rows() for c in r
            if isinstance(c.value, str) and c.value.startswith("=")}


def _has_formulas(path: Path) -> bool:
    with zipfile.ZipFile(path) as z:
        return any(b"<f" in z.read(n) for n in z.namelist()
                   if n.startswith("xl/worksheets/") and n.endswith(".xml"))


def _xlsx_sheets(path: Path, known) -> list[Sheet]:
    import openpyxl
    wb = openpyxl.load_workbook(path, data_only=True)
    formulas = _has_formulas(path)
    out = []
    for ws in wb.worksheets:
        cells = [list(r) for r in ws.iter_rows()]
        if not cells:
            continue
        values = [[c.value for c in r] for r in cells]
        for rng in ws.merged_cells.ranges:
            v = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if r - 1 < len(values) and c - 1 < len(values[r - 1]):
                        values[r - 1][c - 1] = v
        width = max(len(r) for r in values)
        text = [[_cell_text(v, getattr(c, "number_format", None)) for v, c in zip(r, cr)]
                + [""] * (width - len(r)) for r, cr in zip(values, cells)]
        if not any(any(c for c in r) for r in text[:10]):
            continue
        out.append(_workbook_sheet(path, ws.title, text, known,
                                   _formula_cells(path, ws.title) if formulas else set()))
    return out


def _workbook_sheet(path: Path, title: str, text: list[list[str]], known, formulas) -> Sheet:
    sheet = Sheet(f"{path.name} [{title}]", pd.DataFrame(), np.zeros(0, int))
    h = _header_index(text, known)
    if h:
        sheet.note(f"строки 1–{h} над заголовком (название, объединённые ячейки) пропущены"
                   if h > 1 else "строка 1 над заголовком (название, объединённые ячейки) пропущена")
    header_raw = text[h]
    keep = [j for j, name in enumerate(header_raw)
            if name != "" or any(r[j] != "" for r in text[h + 1:])]
    header = _dedupe([header_raw[j] for j in keep], sheet)
    body = [[r[j] for j in keep] for r in text[h + 1:]]
    rows = list(range(h + 2, h + 2 + len(body)))
    while body and not any(body[-1]):
        body.pop(), rows.pop()
    empty_formula = [(r, c) for (r, c) in formulas if r - 1 >= h + 1 and r - h - 2 < len(body)
                     and (c - 1) in keep and body[r - h - 2][keep.index(c - 1)] == ""]
    if empty_formula:
        rr = sorted({r for r, _ in empty_formula})
        shown = ", ".join(map(str, rr[:10])) + (" …" if len(rr) > 10 else "")
        sheet.note(f"в {len(empty_formula)} ячейках — формулы без сохранённых значений (книгу "
                   f"сохранила не программа Excel; строки {shown}); ячейки прочитаны как пустые — "
                   "откройте книгу в Excel, пересчитайте и сохраните", row=rr[0])
    _cut_long(body, header, sheet)
    sheet.frame = pd.DataFrame(body, columns=header, dtype=object) if body else \
        pd.DataFrame(columns=header, dtype=object)
    sheet.rows = np.asarray(rows, dtype=int)
    sheet.formula_rows = {r for r, _ in empty_formula}
    return sheet


# -- SPSS and Parquet -------------------------------------------------------------------------

def _sav_sheet(path: Path, facts: dict) -> Sheet:
    import pyreadstat
    try:
        df, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    except Exception as exc:  # pyreadstat.ReadstatError and friends
        raise InputFileError(f"файл не читается как SPSS .sav ({exc.__class__.__name__}); "
                             "пересохраните его в SPSS.", file=path) from None
    facts["encoding"] = getattr(meta, "file_encoding", "") or ""
    labels = meta.variable_value_labels or {}
    df = df.astype(object)
    for col in df.columns:
        vals = df[col]
        num = pd.to_numeric(vals, errors="coerce")
        is_int = num.notna() & (num == np.round(num))
        s = vals.astype(str).where(~is_int, num.round().astype("Int64").astype(str))
        df[col] = s.where(vals.notna(), "")
    return Sheet(path.name, df, np.arange(1, len(df) + 1), value_labels=dict(labels))


def _parquet_sheet(path: Path) -> Sheet:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow errors
        raise InputFileError(f"файл не читается как Parquet ({exc.__class__.__name__}).",
                             file=path) from None
    df = df.astype(object).where(df.notna(), "")
    df = df.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
    return Sheet(path.name, df, np.arange(1, len(df) + 1))


# -- the entry ------------------------------------------------------------------------------------

def read_table(path: str | Path, known: Callable[[str], bool] | None = None
               ) -> tuple[list[Sheet], dict]:
    """Read one export as :class:`Sheet` objects (one per used sheet) and the file's facts.

    Parameters
    ----------
    path : path
    known : callable, optional
        ``header text → bool``: whether a header names a column the caller knows (it picks the
        header row).

    Returns
    -------
    (list of Sheet, dict)
        The sheets, and the facts: format, encoding, delimiter.

    Raises
    ------
    InputFileError
        The file cannot be read at all: missing, empty, not what its extension says, encrypted,
        an old .xls, an unsupported format.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("файл не найден; проверьте путь.", file=path)
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputFileError("файл пуст (0 байт); выгрузите данные ещё раз.", file=path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    kind = _kind(head)
    if kind.startswith("ole2") or (kind == "zip" and suffix in TEXT_SUFFIXES) \
            or (kind == "text" and suffix in XLSX_SUFFIXES) or (kind == "sav" and suffix != ".sav"):
        _refuse_mismatch(path, suffix, kind)
    facts: dict = {"format": suffix.lstrip("."), "encoding": ""}
    if suffix in TEXT_SUFFIXES:
        raw = path.read_bytes()
        pre: list = []
        text, enc = _decode(raw, path, pre)
        _refuse_binary(text, path)
        facts["encoding"] = enc
        if not text.strip():
            raise InputFileError("файл пуст (нет ни одной непустой строки); выгрузите данные ещё "
                                 "раз.", file=path)
        return [_text_sheet(path, text, known, facts, pre)], facts
    if suffix in XLSX_SUFFIXES:
        try:
            out = _xlsx_sheets(path, known)
        except InputFileError:
            raise
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise InputFileError(f"файл не открывается как книга Excel ({exc.__class__.__name__}); "
                                 "пересохраните его в Excel как .xlsx.", file=path) from None
        if not out:
            raise InputFileError("в книге нет ни одного заполненного листа.", file=path)
        return out, facts
    if suffix == ".sav":
        return [_sav_sheet(path, facts)], facts
    if suffix == ".parquet":
        return [_parquet_sheet(path)], facts
    raise InputFileError(f"формат «{suffix or 'без расширения'}» не поддерживается; сохраните "
                         "выгрузку как CSV, XLSX, SAV или Parquet.", file=path)
