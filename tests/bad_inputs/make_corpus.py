"""Build the corpus of bad inputs: ``tests/bad_inputs/cases/<case_id>/`` and ``cases.yaml``.

Every case is cut from the synthetic sample files in ``data_samples/`` (diagnostics answer sheets
of 2025/2026 and the monitoring forms of 2026) and broken in one way. The generator knows how many
data records it wrote into each file (``rows_in_file``); it does not use the reader under test
(``proforient_diag.ingest`` / ``proforient_diag.monitoring``) for anything. The instrument YAML
(``instruments/psd/<version>.yaml``) is read with plain ``yaml`` only to pick complete answer
sheets from the samples, so that the one injected problem is the only problem of a case.

Run from anywhere::

    python tests/bad_inputs/make_corpus.py          # rebuilds cases/ and cases.yaml

The output is deterministic (fixed order, no randomness, XLSX/SAV timestamps pinned). The
``today:`` and ``defect:`` entries of an existing ``cases.yaml`` are kept; they are written by
``record_today.py`` (what the kit does today, from the CLI and the test results).

Conventions of ``cases.yaml`` (read by ``tests/test_bad_inputs.py``):

* ``rows_in_file`` — per file, the data records the generator wrote. A title line above the
  header and a repeated header line are not records; a line of empty fields (``;;;;``) is one.
* ``uncountable`` — files whose records a reader cannot be expected to count (encrypted, old
  ``.xls``, an XLSX renamed to ``.csv`` …): the accounting identity is not checked for them.
* ``must_say`` — lower-case fragments that stdout+stderr must contain; an item that is a list
  means «any of these». A fragment ``строка N`` matches any case form of «строка» (строке,
  строки, строках …), «стр.» and an optional «№» before the number.
* ``must_not_say`` — strings that must appear neither in stdout/stderr nor in any file written
  under the output folder or store (``traceback`` and ``внутренняя ошибка`` always).
* row numbers are as a spreadsheet shows them: the header is row 1 (CSV, XLSX with the header in
  row 1), the first data row is 2; in a SAV file the first case is row 1.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SAMPLES = REPO / "data_samples"
CASES_DIR = HERE / "cases"
YAML_PATH = HERE / "cases.yaml"

FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
ALWAYS_NOT = ["traceback", "внутренняя ошибка"]

# ------------------------------------------------------------------------------ sample material


def _instrument(year: int) -> dict:
    versions = sorted(int(p.stem) for p in (REPO / "instruments" / "psd").glob("*.yaml"))
    v = max(x for x in versions if x <= year)
    return yaml.safe_load((REPO / "instruments" / "psd" / f"{v}.yaml").read_text(encoding="utf-8"))


def _band_items(year: int) -> tuple[dict[int, str], dict[str, list[str]], dict[str, str]]:
    inst = _instrument(year)
    grade_band = {g: b["id"] for b in inst["bands"] for g in b["grades"]}
    items: dict[str, list[str]] = {}
    text: dict[str, str] = {}
    for it in inst["items"]:
        text[it["id"]] = it["text"]
        for b in it["bands"]:
            items.setdefault(b, []).append(it["id"])
    return grade_band, items, text


def _read_sample(path: Path) -> tuple[list[str], list[list[str]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1251")
    first = text.split("\n", 1)[0]
    sep = max(",;\t", key=first.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    return rows[0], rows[1:]


def clean_rows(mo: str = "MO03", year: int = 2026, grades=None, n: int | None = None,
               school: str | None = None) -> tuple[list[str], list[list[str]]]:
    """Complete, unique, in-range answer sheets of a sample file (file order).

    Context columns are the first six in every sample CSV: code, school, municipality, grade,
    sex, date. A row is kept when its grade is 1–11 (and in ``grades``), its sex is м/ж, its code
    is unique in the file, every answer of its form is empty or a valid code and at least 90 % of
    its form's items are answered.
    """
    header, rows = _read_sample(SAMPLES / "diagnostics" / str(year) / f"{mo}_{year}.csv")
    grade_band, items, _ = _band_items(year)
    maxcode = {b: (3 if b == "1-4" else 5) for b in items}
    pos = {h: i for i, h in enumerate(header)}
    counts: dict[str, int] = {}
    for r in rows:
        if r:
            counts[r[0]] = counts.get(r[0], 0) + 1
    out = []
    for r in rows:
        if len(r) != len(header) or not r[0]:
            continue
        try:
            g = int(r[3])
        except ValueError:
            continue
        if g not in grade_band or (grades is not None and g not in grades):
            continue
        if r[4] not in ("м", "ж") or counts[r[0]] > 1:
            continue
        if school is not None and r[1] != school:
            continue
        band = grade_band[g]
        vals = [r[pos[i]] for i in items[band] if i in pos]
        if any(v not in ("",) + tuple(str(k) for k in range(1, maxcode[band] + 1)) for v in vals):
            continue
        if sum(v != "" for v in vals) < 0.9 * len(items[band]):
            continue
        out.append(list(r))
    if n is not None:
        if len(out) < n:
            raise SystemExit(f"{mo}_{year}: only {len(out)} clean rows, {n} wanted")
        out = out[:n]
    return list(header), out


def forms_sample(name: str = "monitoring_2026_MO03.csv") -> tuple[list[str], list[list[str]]]:
    header, rows = _read_sample(SAMPLES / "monitoring" / "2026" / name)
    rows = [r for r in rows if any(c.strip() for c in r)]
    return header, rows


def forms_xlsx_sample(n: int, skip_mo=("MO03", "MO07")) -> tuple[list[str], list[list]]:
    import openpyxl
    wb = openpyxl.load_workbook(SAMPLES / "monitoring" / "2026" / "monitoring_2026.xlsx")
    ws = wb.worksheets[0]
    vals = [list(r) for r in ws.iter_rows(values_only=True)]
    header = vals[0]
    rows = [r for r in vals[1:] if r[0] and not str(r[0]).startswith(skip_mo)]
    return header, rows[:n]


# ------------------------------------------------------------------------------ writers


def csv_text(header, rows, sep=",", lineterminator="\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=lineterminator, quoting=csv.QUOTE_MINIMAL)
    if header is not None:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, header, rows, *, sep=",", encoding="utf-8", lineterminator="\n",
              bom: bool = False) -> int:
    text = csv_text(header, rows, sep, lineterminator)
    data = text.encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path.write_bytes(data)
    return len(rows)


def save_xlsx(wb, path: Path) -> None:
    """Save with openpyxl, then pin every timestamp so that the bytes do not depend on the clock."""
    wb.properties.creator = "make_corpus.py"
    wb.properties.created = dt.datetime(2026, 1, 1)
    wb.properties.modified = dt.datetime(2026, 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-01-01T00:00:00Z", data)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            zout.writestr(zi, data)
    path.write_bytes(out.getvalue())


def write_xlsx(path: Path, header, rows, *, title: str = "Анкета") -> int:
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(header))
    for r in rows:
        ws.append(list(r))
    save_xlsx(wb, path)
    return len(rows)


def write_sav(path: Path, df, value_labels: dict, column_labels=None) -> int:
    import pyreadstat
    pyreadstat.write_sav(df, str(path), variable_value_labels=value_labels,
                         column_labels=column_labels)
    data = bytearray(path.read_bytes())
    assert data[:4] == b"$FL2"
    data[92:101] = b"01 Jan 26"   # creation date and time of the SAV header, pinned
    data[101:109] = b"00:00:00"
    path.write_bytes(bytes(data))
    return len(df)


# A minimal Compound File Binary (OLE2) writer: enough for an old-Excel ``.xls`` container and
# for the container Excel uses for a password-protected workbook. Streams are padded to at least
# 4096 bytes so that no mini stream is needed.
_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD


def write_cfb(path: Path, streams: list[tuple[str, bytes]]) -> None:
    sec = 512
    streams = [(n, d + b"\x00" * max(0, 4096 - len(d))) for n, d in streams]
    data_secs = [-(-len(d) // sec) for _, d in streams]
    n_dir_entries = 1 + len(streams)
    dir_secs = -(-n_dir_entries * 128 // sec)
    total = dir_secs + sum(data_secs)
    fat_secs = 1
    while fat_secs * (sec // 4) < total + fat_secs:
        fat_secs += 1
    fat = [_FATSECT] * fat_secs
    nxt = fat_secs
    dir_start = nxt
    fat += [nxt + i + 1 for i in range(dir_secs - 1)] + [_END]
    nxt += dir_secs
    starts = []
    for k in data_secs:
        starts.append(nxt)
        fat += [nxt + i + 1 for i in range(k - 1)] + [_END]
        nxt += k
    fat += [_FREE] * (fat_secs * (sec // 4) - len(fat))
    header = bytearray(512)
    header[0:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x003E, 0x0003, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, fat_secs, dir_start, 0, 4096, _END, 0, _END, 0)
    difat = list(range(fat_secs)) + [_FREE] * (109 - fat_secs)
    struct.pack_into("<109I", header, 76, *difat)

    def entry(name, kind, left, right, child, start, size):
        e = bytearray(128)
        nb = (name + "\x00").encode("utf-16-le") if name else b""
        e[0:len(nb)] = nb
        struct.pack_into("<HBB", e, 64, len(nb), kind, 1)
        struct.pack_into("<III", e, 68, left, right, child)
        struct.pack_into("<IQ", e, 116, start, size)
        return bytes(e)

    # siblings ordered by (length, upper-case name): a right-leaning chain from the first
    order = sorted(range(len(streams)), key=lambda i: (len(streams[i][0]), streams[i][0].upper()))
    right = {order[k]: order[k + 1] + 1 for k in range(len(order) - 1)}
    dirs = [entry("Root Entry", 5, _FREE, _FREE, order[0] + 1, _END, 0)]
    for i, (name, d) in enumerate(streams):
        dirs.append(entry(name, 2, _FREE, right.get(i, _FREE), _FREE, starts[i], len(d)))
    blob = b"".join(dirs)
    blob += entry("", 0, _FREE, _FREE, _FREE, 0, 0) * ((dir_secs * sec - len(blob)) // 128)
    body = struct.pack(f"<{len(fat)}I", *fat) + blob
    for _, d in streams:
        body += d + b"\x00" * (-len(d) % sec)
    path.write_bytes(bytes(header) + body)


def _biff_record(rtype: int, payload: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(payload)) + payload


def _biff_string(s: str) -> bytes:
    return struct.pack("<HB", len(s), 1) + s.encode("utf-16-le")


def biff8_workbook(header, rows) -> bytes:
    """A BIFF8 Workbook stream: globals (BOF, BOUNDSHEET, EOF) and one sheet of LABEL/NUMBER cells."""
    bof_glob = _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6))
    sheet_name = "Лист1"
    bs_len = 4 + 8 + 2 + 1 + 1 + 2 * len(sheet_name)
    eof = _biff_record(0x000A, b"")
    sheet_pos = len(bof_glob) + bs_len + len(eof)
    boundsheet = _biff_record(0x0085, struct.pack("<IHBB", sheet_pos, 0, len(sheet_name), 1)
                              + sheet_name.encode("utf-16-le"))
    cells = b""
    for r, row in enumerate([header] + rows):
        for c, v in enumerate(row):
            if v == "" or v is None:
                continue
            try:
                x = float(v)
                cells += _biff_record(0x0203, struct.pack("<HHHd", r, c, 15, x))
            except ValueError:
                cells += _biff_record(0x0204, struct.pack("<HHH", r, c, 15) + _biff_string(str(v)))
    dims = _biff_record(0x0200, struct.pack("<IIHHH", 0, len(rows) + 1, 0, len(header), 0))
    bof_sheet = _biff_record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 6))
    return bof_glob + boundsheet + eof + bof_sheet + dims + cells + eof


def _pseudo_bytes(seed: str, n: int) -> bytes:
    out, h = b"", seed.encode()
    while len(out) < n:
        h = hashlib.sha256(h).digest()
        out += h
    return out[:n]


def write_encrypted_workbook(path: Path) -> None:
    """A FAKE password-protected workbook: the OLE2 container Excel writes for an encrypted .xlsx
    (streams ``EncryptionInfo`` with an agile-encryption descriptor and ``EncryptedPackage``),
    but the key data and the package are deterministic pseudo-random bytes — no real password
    opens it. (No encryption library is installed to make a real one.)"""
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
           '<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
           'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
           '<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
           'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" '
           'saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/><keyEncryptors><keyEncryptor '
           'uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><p:encryptedKey '
           'spinCount="100000" saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
           'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"/>'
           '</keyEncryptor></keyEncryptors></encryption>').encode("utf-8")
    info = struct.pack("<HHI", 4, 4, 0x40) + xml
    package = struct.pack("<Q", 9000) + _pseudo_bytes("encrypted-package", 9008)
    write_cfb(path, [("EncryptionInfo", info), ("EncryptedPackage", package)])


# ------------------------------------------------------------------------------ case registry

CASES: list[dict] = []


def case(case_id: str, description: str, *, kind: str = "diagnostics", commands=("validate",),
         usable: bool = True, must_say=(), must_not_say=(), year: int = 2026, say_files: bool = True,
         uncountable=(), expect: dict | None = None, options: dict | None = None,
         run: bool = True, note: str | None = None, today: dict | None = None):
    def deco(fn):
        CASES.append(dict(id=case_id, description=description, kind=kind, commands=list(commands),
                          usable=usable, must_say=list(must_say), must_not_say=list(must_not_say),
                          year=year, say_files=say_files, uncountable=list(uncountable),
                          expect=expect, options=options, run=run, note=note, today=today,
                          build=fn))
        return fn
    return deco


def F(year: int = 2026, mo: str = "MO03") -> str:
    return f"{mo}_{year}.csv"


def col(header: list[str], name: str) -> int:
    return header.index(name)


# ============================================================================== CSV structure

@case("csv_unclosed_quote",
      "CSV (UTF-8, запятая): в строке 11 ячейка «school_id» открывает кавычку и не закрывает; "
      "сегодня читатель «проглатывает» все следующие строки в одно поле",
      must_say=["строка 11", "кавычк"])
def _(d: Path):
    h, rows = clean_rows(n=30)
    lines = csv_text(h, rows).splitlines(keepends=True)
    i = 10  # file row 11 = line index 10
    lines[i] = lines[i].replace(",MO03-002,", ',"MO03-002,', 1)
    assert '"' in lines[i]
    (d / F()).write_text("".join(lines), encoding="utf-8")
    return {F(): 30}


@case("csv_embedded_newline_ok",
      "CSV: законная ячейка в кавычках с переводом строки (столбец «Комментарий»); все 20 записей "
      "должны быть приняты",
      expect={"accepted_total": 20})
def _(d: Path):
    h, rows = clean_rows(n=20)
    h = h[:6] + ["Комментарий"] + h[6:]
    rows = [r[:6] + [""] + r[6:] for r in rows]
    rows[4][6] = "Анкету заполнял в классе;\nвторая половина — дома"
    rows[11][6] = "Отказ от\r\nпункта 3, потом ответил"
    write_csv(d / F(), h, rows)
    return {F(): 20}


@case("csv_cr_only",
      "CSV с окончаниями строк только CR (\\r, старые Mac / некоторые выгрузки)",
      expect={"accepted_total": 20})
def _(d: Path):
    h, rows = clean_rows(n=20)
    return {F(): write_csv(d / F(), h, rows, lineterminator="\r")}


@case("csv_mixed_crlf_lf",
      "CSV с перемешанными окончаниями строк CRLF и LF (файл склеен из двух выгрузок)",
      expect={"accepted_total": 20})
def _(d: Path):
    h, rows = clean_rows(n=20)
    text = ",".join(h) + "\r\n"
    for i, r in enumerate(rows):
        text += csv_text(None, [r], ",", "\r\n" if i % 2 else "\n")
    (d / F()).write_text(text, encoding="utf-8", newline="")
    return {F(): 20}


@case("csv_nul_bytes",
      "хороший CSV, в котором у начала файла (в заголовке после «respondent_id») два байта NUL",
      must_say=[["нулев", "nul", "\\x00", "0x00"]],
      expect={"accepted_total": 20})
def _(d: Path):
    h, rows = clean_rows(n=20)
    data = csv_text(h, rows).encode("utf-8")
    data = data.replace(b"respondent_id,", b"respondent_id\x00\x00,", 1)
    (d / F()).write_bytes(data)
    return {F(): 20}


def russian_rows(n=20, mo="MO01", grades=None, full_name=True):
    """Clean rows of a cp1251/';' sample with Russian context headers; municipality as its name."""
    h, rows = clean_rows(mo=mo, n=n, grades=grades)
    names = {"MO01": "Анжеро-Судженский городской округ", "MO02": "Беловский городской округ",
             "MO04": "Калтанский городской округ"}
    if full_name:
        for r in rows:
            r[2] = names.get(mo, r[2])
    return h, rows


@case("csv_half_utf8_half_cp1251",
      "CSV с русскими заголовками: заголовок и чётные строки в UTF-8, нечётные — в Windows-1251 "
      "(строки вставлены из другой выгрузки); половина строк, не «несколько»",
      must_say=[["1251", "cp1251"]], expect={"accepted_total": 20})
def _(d: Path):
    h, rows = russian_rows()
    data = (";".join(h) + "\r\n").encode("utf-8")
    for i, r in enumerate(rows):
        data += csv_text(None, [r], ";", "\r\n").encode("cp1251" if i % 2 == 0 else "utf-8")
    name = F(mo="MO01")
    (d / name).write_bytes(data)
    return {name: 20}


@case("csv_koi8r", "CSV с русскими заголовками в кодировке KOI8-R",
      must_say=[["koi8-r", "koi8"]], expect={"accepted_total": 20})
def _(d: Path):
    h, rows = russian_rows()
    return {F(mo="MO01"): write_csv(d / F(mo="MO01"), h, rows, sep=";", encoding="koi8_r",
                                    lineterminator="\r\n")}


@case("csv_cp866", "CSV с русскими заголовками в кодировке DOS (CP866)",
      must_say=[["866", "dos"]], expect={"accepted_total": 20})
def _(d: Path):
    h, rows = russian_rows()
    return {F(mo="MO01"): write_csv(d / F(mo="MO01"), h, rows, sep=";", encoding="cp866",
                                    lineterminator="\r\n")}


@case("csv_utf16le_bom_tab",
      "«Текст Юникод» из Excel: UTF-16 LE с BOM, через табуляцию, русские заголовки",
      expect={"accepted_total": 20})
def _(d: Path):
    h, rows = russian_rows()
    text = csv_text(h, rows, "\t", "\r\n")
    (d / F(mo="MO01")).write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    return {F(mo="MO01"): 20}


@case("csv_utf16le_nobom", "CSV в UTF-16 LE без метки BOM (через точку с запятой)",
      must_say=[["utf-16", "utf16", "юникод"]], expect={"accepted_total": 20})
def _(d: Path):
    h, rows = russian_rows()
    text = csv_text(h, rows, ";", "\r\n")
    (d / F(mo="MO01")).write_bytes(text.encode("utf-16-le"))
    return {F(mo="MO01"): 20}


@case("csv_double_encoded",
      "«кракозябры»: UTF-8, прочитанный как Windows-1251 и снова сохранённый в UTF-8 "
      "(«РљРѕРґ СѓС‡Р°СЃС‚РЅРёРєР°» вместо «Код участника»)",
      must_say=[["перекодир", "искаж", "дважды"]], expect={"accepted_total": 20})
def _(d: Path):
    h, rows = russian_rows()
    text = csv_text(h, rows, ";", "\r\n")
    moj = text.encode("utf-8").decode("cp1251")  # no «И» (0x98 is undefined in cp1251) here
    (d / F(mo="MO01")).write_bytes(moj.encode("utf-8"))
    return {F(mo="MO01"): 20}


@case("csv_pipe_delimiter", "CSV с разделителем «|» (выгрузка из учётной системы)",
      must_say=["разделител"], expect={"accepted_total": 20})
def _(d: Path):
    h, rows = clean_rows(n=20)
    return {F(): write_csv(d / F(), h, rows, sep="|")}


@case("csv_mixed_delimiters",
      "CSV через запятую, в который вставлены строки 12–14 через точку с запятой",
      must_say=["строка 12", "разделител"])
def _(d: Path):
    h, rows = clean_rows(n=20)
    text = ",".join(h) + "\n"
    for i, r in enumerate(rows):
        text += csv_text(None, [r], ";" if 10 <= i <= 12 else ",")
    (d / F()).write_text(text, encoding="utf-8")
    return {F(): 20}


@case("csv_semicolon_decimal_comma",
      "CSV Excel (Windows-1251, «;»): ответы с десятичной запятой «5,0», названия муниципалитета и "
      "школы с запятыми в кавычках — разделитель не должен угадаться как «,»",
      expect={"accepted_total": 20})
def _(d: Path):
    h, rows = russian_rows()
    h = h[:2] + ["Наименование ОО"] + h[2:]
    out = []
    for r in rows:
        r = r[:2] + ["МБОУ «СОШ № 12», г. Анжеро-Судженск"] + r[2:]
        out.append([c + ",0" if i > 7 and c in ("1", "2", "3", "4", "5") else c for i, c in enumerate(r)])
    return {F(mo="MO01"): write_csv(d / F(mo="MO01"), h, out, sep=";", encoding="cp1251",
                                    lineterminator="\r\n")}


@case("csv_title_line",
      "CSV анкет с заголовочной строкой над шапкой («Результаты анкетирования …»)",
      expect={"accepted_total": 20})
def _(d: Path):
    h, rows = clean_rows(n=20)
    text = "Результаты анкетирования обучающихся, Березовский городской округ, май 2026\n"
    text += csv_text(h, rows)
    (d / F()).write_text(text, encoding="utf-8")
    return {F(): 20}


@case("csv_repeated_header",
      "две выгрузки склеены: после 10 записей повторена строка заголовка (строка 12); это не "
      "запись обучающегося",
      must_say=["строка 12", "заголов"])
def _(d: Path):
    h, rows = clean_rows(n=20)
    text = csv_text(h, rows[:10]) + csv_text(h, rows[10:])
    (d / F()).write_text(text, encoding="utf-8")
    return {F(): 20}


@case("csv_duplicate_columns",
      "в шапке дважды столбец «MOT01» с разными ответами (второй тихо отбрасывается)",
      must_say=["mot01", "повтор"])
def _(d: Path):
    h, rows = clean_rows(n=20, grades=range(8, 12))
    j = col(h, "MOT01")
    h = h + ["MOT01"]
    rows = [r + [str(6 - int(r[j])) if r[j] else ""] for r in rows]
    return {F(): write_csv(d / F(), h, rows)}


@case("csv_header_only", "CSV только со строкой заголовка, без записей",
      usable=False, must_say=[["только заголов", "нет строк", "нет записей", "нет данных", "нет ни одной"]])
def _(d: Path):
    h, _rows = clean_rows(n=1)
    return {F(): write_csv(d / F(), h, [])}


@case("empty_file", "пустой файл (0 байт)", usable=False, must_say=["пуст"])
def _(d: Path):
    (d / F()).write_bytes(b"")
    return {F(): 0}


@case("blank_lines_only", "файл только из пустых строк (CRLF)", usable=False, must_say=["пуст"])
def _(d: Path):
    (d / F()).write_bytes(b"\r\n" * 6)
    return {F(): 0}


# ============================================================================== wrong format

@case("xlsx_renamed_csv", "книга XLSX, переименованная в .csv",
      usable=False, must_say=["xlsx", "переименуйте"], uncountable=[F()])
def _(d: Path):
    h, rows = clean_rows(n=20)
    write_xlsx(d / F(), h, rows)
    return {F(): 20}


@case("csv_renamed_xlsx", "текст CSV, сохранённый с расширением .xlsx",
      usable=False, must_say=["csv", "переименуйте"], uncountable=["MO03_2026.xlsx"])
def _(d: Path):
    h, rows = clean_rows(n=20)
    return {"MO03_2026.xlsx": write_csv(d / "MO03_2026.xlsx", h, rows)}


@case("xls_old_excel",
      "старый формат Excel .xls (OLE2 с потоком Workbook в записях BIFF8; собран генератором, "
      "не проверен Excel)",
      usable=False, must_say=["xlsx"], uncountable=["MO03_2026.xls"])
def _(d: Path):
    h, rows = clean_rows(n=20)
    write_cfb(d / "MO03_2026.xls", [("Workbook", biff8_workbook(h, rows))])
    return {"MO03_2026.xls": 20}


@case("xlsx_password",
      "книга, защищённая паролем (ПОДДЕЛКА: контейнер OLE2 с потоками EncryptionInfo и "
      "EncryptedPackage, как у зашифрованного .xlsx, но без настоящего шифрования)",
      usable=False, must_say=["парол"], uncountable=["MO19_2026_8-9.xlsx"])
def _(d: Path):
    write_encrypted_workbook(d / "MO19_2026_8-9.xlsx")
    return {"MO19_2026_8-9.xlsx": 0}


# ============================================================================== Excel quirks

def xlsx_rows(n=12):
    import openpyxl
    wb = openpyxl.load_workbook(SAMPLES / "diagnostics" / "2026" / "MO19_2026_8-9.xlsx")
    vals = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    header = vals[0]
    seen, rows = set(), []
    for r in vals[1:]:
        if r[0] in seen or r[0] is None or r[3] not in (8, 9):
            continue
        answers = r[6:]
        if any(v is not None and v not in (1, 2, 3, 4, 5) for v in answers):
            continue
        if sum(v is not None for v in answers) < 0.9 * len(answers):
            continue
        seen.add(r[0])
        rows.append(r)
    if len(rows) < n:
        raise SystemExit(f"MO19 xlsx: only {len(rows)} clean rows")
    return header, rows[:n]


X = "MO19_2026_8-9.xlsx"


@case("xlsx_merged_title_rows",
      "XLSX: над шапкой две объединённые строки заголовка (название анкеты, школа и дата)",
      expect={"accepted_total": 12})
def _(d: Path):
    import openpyxl
    h, rows = xlsx_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Анкета"
    ws.append(["Анкета «Профессиональное самоопределение», 8–9 классы"])
    ws.append(["Ижморский муниципальный округ, МБОУ «СОШ № 6», май 2026"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(h))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(h))
    ws.append(list(h))
    for r in rows:
        ws.append(list(r))
    save_xlsx(wb, d / X)
    return {X: len(rows)}


@case("xlsx_two_row_header",
      "XLSX: шапка в две строки — объединённые ячейки с названиями компонентов над кодами заданий",
      expect={"accepted_total": 12})
def _(d: Path):
    import openpyxl
    h, rows = xlsx_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Анкета"
    groups = {"MOT": "Мотивационно-ценностный компонент", "COG": "Когнитивный компонент",
              "ACT": "Деятельностно-практический компонент", "EMO": "Эмоционально-волевой компонент",
              "REF": "Рефлексивно-оценочный компонент"}
    top = ["Сведения об участнике"] * 6 + [groups[c[:3]] for c in h[6:]]
    ws.append(top)
    ws.append(list(h))
    start = 1
    for j in range(2, len(top) + 2):
        if j == len(top) + 1 or top[j - 1] != top[start - 1]:
            if j - 1 > start:
                ws.merge_cells(start_row=1, start_column=start, end_row=1, end_column=j - 1)
            start = j
    for r in rows:
        ws.append(list(r))
    save_xlsx(wb, d / X)
    return {X: len(rows)}


@case("xlsx_formulas_no_cache",
      "XLSX, где все ответы — формулы перекодировки («=6-2») без сохранённых значений (книга "
      "собрана не в Excel и ни разу не пересчитана)",
      usable=False, must_say=["формул"])
def _(d: Path):
    import openpyxl
    h, rows = xlsx_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Анкета"
    ws.append(list(h))
    for r in rows:
        ws.append(list(r[:6]) + [None if v is None else f"=6-{6 - v}" for v in r[6:]])
    save_xlsx(wb, d / X)
    return {X: len(rows)}


@case("xlsx_extra_sheets",
      "XLSX с листами «Инструкция» и «Коды ответов» перед листом с анкетами (контроль: должно "
      "читаться)",
      expect={"accepted_total": 12})
def _(d: Path):
    import openpyxl
    h, rows = xlsx_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Инструкция"
    ws.append(["Введите ответы каждого обучающегося в отдельную строку листа «Анкета»."])
    ws.append(["Коды ответов — на листе «Коды ответов»."])
    ws2 = wb.create_sheet("Коды ответов")
    for k, v in [(1, "Совершенно не согласен"), (2, "Скорее не согласен"), (3, "Трудно сказать"),
                 (4, "Скорее согласен"), (5, "Полностью согласен")]:
        ws2.append([k, v])
    ws3 = wb.create_sheet("Анкета")
    ws3.append(list(h))
    for r in rows:
        ws3.append(list(r))
    save_xlsx(wb, d / X)
    return {X: len(rows)}


@case("csv_grade_excel_dates",
      "CSV из Excel (Windows-1251, «;»): класс «5.1» превращён Excel в дату — «05.янв» в строке 4 "
      "и «2026-01-05» в строке 9",
      must_say=["строка 4", "строка 9", "дат"])
def _(d: Path):
    h, rows = russian_rows(grades=range(5, 12))
    rows[2][3] = "05.янв"
    rows[7][3] = "2026-01-05"
    return {F(mo="MO01"): write_csv(d / F(mo="MO01"), h, rows, sep=";", encoding="cp1251",
                                    lineterminator="\r\n")}


@case("xlsx_grade_excel_dates",
      "XLSX: в ячейке класса строки 5 — дата 08.01.2026 (формат «d.mmm»): Excel превратил «8.1» "
      "в «08.янв»",
      must_say=["строка 5", "дат"])
def _(d: Path):
    import openpyxl
    h, rows = xlsx_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Анкета"
    ws.append(list(h))
    for r in rows:
        ws.append(list(r))
    ws.cell(5, 4).value = dt.datetime(2026, 1, 8)
    ws.cell(5, 4).number_format = "d.mmm"
    save_xlsx(wb, d / X)
    return {X: len(rows)}


@case("grade_written_forms",
      "класс записан по-разному: «8-А», «VIII», «8 кл.», «8А», «8 «Б»», «9-б», «IX», «9 класс»",
      expect={"accepted_total": 20,
              "values": [{"file": F(), "row": r, "column": "grade", "value": g}
                         for r, g in [(2, 8), (3, 8), (4, 8), (5, 8), (6, 8), (7, 9), (8, 9), (9, 9)]]})
def _(d: Path):
    h, rows8 = clean_rows(n=5, grades=[8])
    _, rows9 = clean_rows(n=3, grades=[9])
    _, rest = clean_rows(n=30, grades=[5, 6, 7, 10, 11])
    rows = rows8 + rows9 + rest[:12]
    for r, g in zip(rows, ["8-А", "VIII", "8 кл.", "8А", "8 «Б»", "9-б", "IX", "9 класс"]):
        r[3] = g
    return {F(): write_csv(d / F(), h, rows)}


@case("codes_leading_zeros_csv",
      "коды участников с ведущими нулями («0007») в CSV — код должен остаться «0007»",
      expect={"values": [{"file": F(), "row": 2, "column": "respondent_id", "value": "0001"},
                         {"file": F(), "row": 8, "column": "respondent_id", "value": "0007"}]})
def _(d: Path):
    h, rows = clean_rows(n=20)
    for i, r in enumerate(rows):
        r[0] = f"{i + 1:04d}"
    return {F(): write_csv(d / F(), h, rows)}


@case("codes_leading_zeros_xlsx",
      "XLSX: коды участников — числа с форматом «0000» (Excel показывает «0007», в ячейке 7)",
      expect={"values": [{"file": X, "row": 2, "column": "respondent_id", "value": "0001"},
                         {"file": X, "row": 8, "column": "respondent_id", "value": "0007"}]})
def _(d: Path):
    import openpyxl
    h, rows = xlsx_rows()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Анкета"
    ws.append(list(h))
    for i, r in enumerate(rows):
        ws.append([i + 1] + list(r[1:]))
        ws.cell(i + 2, 1).number_format = "0000"
    save_xlsx(wb, d / X)
    return {X: len(rows)}


@case("codes_excel_scientific",
      "CSV из Excel: длинные числовые коды испорчены экспоненциальной записью («4,20111E+11») в "
      "строках 3, 4, 5 — два кода совпали, информация потеряна",
      must_say=["строка 3", ["e+", "экспоненц"]])
def _(d: Path):
    h, rows = russian_rows()
    for i, r in enumerate(rows):
        r[0] = str(420111000000 + 1000 * i)
    rows[1][0] = "4,20111E+11"
    rows[2][0] = "4,20111E+11"
    rows[3][0] = "4,20112E+11"
    return {F(mo="MO01"): write_csv(d / F(mo="MO01"), h, rows, sep=";", encoding="cp1251",
                                    lineterminator="\r\n")}


@case("csv_invisible_spaces",
      "неразрывные пробелы и пробелы нулевой ширины в кодах, ответах и поле пола",
      expect={"accepted_total": 20,
              "values": [{"file": F(), "row": 3, "column": "respondent_id", "value": "@code3"},
                         {"file": F(), "row": 4, "column": "sex", "value": "ж"},
                         {"file": F(), "row": 5, "column": "@firstitem", "value": "@answer5"}]})
def _(d: Path):
    h, rows = clean_rows(n=20)
    rows[1][0] = rows[1][0] + "\u00a0"
    i4 = 2
    rows[i4][4] = "ж\u200b"
    r5 = rows[3]
    j = next(k for k in range(6, len(h)) if r5[k])
    r5[j] = r5[j] + "\u200b"
    return {F(): write_csv(d / F(), h, rows)}


# ============================================================================== personal data

PII_CMDS = ("validate", "score", "load")


def pii_case(d: Path, cells: dict[tuple[int, int], str], n=20, grades=None):
    h, rows = clean_rows(n=n, grades=grades)
    for (i, j), v in cells.items():
        rows[i][j] = v
    return {F(): write_csv(d / F(), h, rows)}


@case("pii_code_surname_initials", "в поле кода участника — «Сидоров П.П.» (строка 5)",
      commands=PII_CMDS, must_say=["строка 5", ["фио", "фамили"]], must_not_say=["сидоров"])
def _(d: Path):
    return pii_case(d, {(3, 0): "Сидоров П.П."})


@case("pii_code_full_name", "в поле кода участника — «Иванова Мария» (строка 7)",
      commands=PII_CMDS, must_say=["строка 7", ["фио", "фамили"]], must_not_say=["иванова", "мария"])
def _(d: Path):
    return pii_case(d, {(5, 0): "Иванова Мария"})


@case("pii_code_email", "в поле кода участника — адрес электронной почты (строка 4)",
      commands=PII_CMDS, must_say=["строка 4", ["почт", "e-mail", "email", "персональн"]],
      must_not_say=["ivanova.maria2011@mail.ru", "ivanova.maria2011"])
def _(d: Path):
    return pii_case(d, {(2, 0): "ivanova.maria2011@mail.ru"})


@case("pii_code_phone",
      "в поле кода участника — телефоны «+7 (905) 123-45-67» (строка 3) и «8-905-1234567» (строка 9)",
      commands=PII_CMDS, must_say=["строка 3", "строка 9", ["телефон", "персональн"]],
      must_not_say=["+7 (905) 123-45-67", "8-905-1234567", "123-45-67", "1234567"])
def _(d: Path):
    return pii_case(d, {(1, 0): "+7 (905) 123-45-67", (7, 0): "8-905-1234567"})


@case("pii_code_birthdate", "в поле кода участника — дата рождения «12.03.2011» (строка 6)",
      commands=PII_CMDS, must_say=["строка 6", ["дата рождения", "дат", "персональн"]],
      must_not_say=["12.03.2011"])
def _(d: Path):
    return pii_case(d, {(4, 0): "12.03.2011"})


@case("pii_in_answer_cell",
      "в ячейки ответов вписаны телефон (строка 5, MOT01) и e-mail (строка 8, COG02)",
      commands=PII_CMDS, must_say=["строка 5", "mot01"],
      must_not_say=["+7 (905) 123-45-67", "123-45-67", "petrov.ivan@yandex.ru", "petrov.ivan"])
def _(d: Path):
    h, _ = clean_rows(n=1)
    return pii_case(d, {(3, col(h, "MOT01")): "+7 (905) 123-45-67",
                        (6, col(h, "COG02")): "petrov.ivan@yandex.ru"}, grades=range(8, 12))


@case("pii_in_sex_cell",
      "в ячейки пола вписаны «Сидорова Анна» (строка 4) и дата рождения «12.03.2011» (строка 6)",
      commands=PII_CMDS, must_say=["строка 4", "sex"],
      must_not_say=["сидорова", "12.03.2011"])
def _(d: Path):
    return pii_case(d, {(2, 4): "Сидорова Анна", (4, 4): "12.03.2011"})


@case("pii_name_column",
      "лишний столбец «ФИО обучающегося» с фамилиями и столбец «Телефон родителя» (должны быть "
      "отброшены и названы)",
      commands=PII_CMDS, must_say=["фио"],
      must_not_say=["кузнецова дарья", "смирнов", "+7 (913) 555-01-02"])
def _(d: Path):
    h, rows = clean_rows(n=20)
    names = ["Кузнецова Дарья Сергеевна", "Смирнов Артём Игоревич", "Попова Ксения"]
    h = h[:1] + ["ФИО обучающегося", "Телефон родителя"] + h[1:]
    rows = [r[:1] + [names[i % 3], "+7 (913) 555-01-02" if i == 0 else ""] + r[1:]
            for i, r in enumerate(rows)]
    return {F(): write_csv(d / F(), h, rows)}


# ============================================================================== respondents

@case("two_schools_same_codes",
      "две школы одного муниципалитета нумеруют обучающихся 1, 2, 3 …: одинаковые коды, разные "
      "школы — это разные обучающиеся (в том числе в хранилище: разные псевдонимы)",
      commands=("validate", "load"),
      expect={"accepted_total": 24, "store_distinct_pids": 24})
def _(d: Path):
    h, a = clean_rows(n=12)
    b = [list(r) for r in clean_rows(mo="MO05", n=12)[1]]
    for i, r in enumerate(a):
        r[0] = str(i + 1)
    for i, r in enumerate(b):
        r[0], r[1], r[2] = str(i + 1), "MO03-001", "MO03"
    return {F(): write_csv(d / F(), h, a + b)}


@case("duplicate_same_school",
      "один и тот же код в одной школе дважды (строки 3 и 15): вторая анкета — повтор",
      must_say=["строка 15", "повтор"],
      expect={"accepted_total": 19, "excluded_rows": {F(): [15]}})
def _(d: Path):
    h, rows = clean_rows(n=20)
    rows[13][0] = rows[1][0]
    return {F(): write_csv(d / F(), h, rows)}


# ============================================================================== SPSS

AGREE = ["Совершенно не согласен", "Скорее не согласен", "Трудно сказать", "Скорее согласен",
         "Полностью согласен"]
S = "MO16_2026.sav"


def sav_frame(transform, labels_for_items):
    import pandas as pd
    h, rows = clean_rows(mo="MO03", n=20, grades=range(8, 12))
    items = [c for c in h[6:] if not c.endswith(tuple(f"_P0{k}" for k in range(1, 6)))]
    items = [c for c in items if "_P" not in c]
    data = {"respondent_id": [r[0].replace("MO03", "MO16") for r in rows],
            "school_id": ["MO16-011"] * len(rows), "municipality": ["MO16"] * len(rows),
            "grade": [float(r[3]) for r in rows], "sex": [1.0 if r[4] == "м" else 2.0 for r in rows],
            "year": [2026.0] * len(rows)}
    pos = {c: h.index(c) for c in items}
    for c in items:
        data[c] = [float(transform(int(r[pos[c]]))) if r[pos[c]] else float("nan") for r in rows]
    df = pd.DataFrame(data)
    labels = {"sex": {1.0: "мужской", 2.0: "женский"}}
    labels.update({c: labels_for_items for c in items})
    originals = {(i + 1, c): (int(r[pos[c]]) if r[pos[c]] else None) for i, r in enumerate(rows)
                 for c in ("MOT01", "COG01", "REF01")}
    return df, labels, originals


def sav_values(originals):
    return [{"file": S, "row": row, "column": c, "value": v}
            for (row, c), v in sorted(originals.items()) if row in (1, 2, 3) and v is not None]


@case("sav_labels_ok",
      "SPSS .sav с правильными метками 1 = «Совершенно не согласен» … 5 = «Полностью согласен» "
      "(контроль)",
      expect={"accepted_total": 20, "values": "@sav_values"})
def _(d: Path):
    df, labels, orig = sav_frame(lambda v: v, {float(k + 1): AGREE[k] for k in range(5)})
    write_sav(d / S, df, labels)
    return {S: len(df)}, {"values": sav_values(orig)}


@case("sav_reversed_labels",
      "SPSS .sav с обратными метками: 1 = «Полностью согласен» … 5 = «Совершенно не согласен» "
      "(коды в файле записаны по этим меткам); перекодировать по меткам и сказать об этом",
      must_say=["метк"], expect={"accepted_total": 20, "values": "@sav_values"})
def _(d: Path):
    df, labels, orig = sav_frame(lambda v: 6 - v, {float(k + 1): AGREE[4 - k] for k in range(5)})
    write_sav(d / S, df, labels)
    return {S: len(df)}, {"values": sav_values(orig)}


@case("sav_zero_based",
      "SPSS .sav с кодами 0–4 вместо 1–5 и метками, которые так и говорят (0 = «Совершенно не "
      "согласен» … 4 = «Полностью согласен»)",
      must_say=["метк"], expect={"accepted_total": 20, "values": "@sav_values"})
def _(d: Path):
    df, labels, orig = sav_frame(lambda v: v - 1, {float(k): AGREE[k] for k in range(5)})
    write_sav(d / S, df, labels)
    return {S: len(df)}, {"values": sav_values(orig)}


@case("sav_labels_contradict",
      "SPSS .sav, метки которого противоречат инструменту: шкала частоты (1 = «Никогда» … "
      "5 = «Всегда») на заданиях шкалы согласия — ответы нельзя засчитать молча",
      usable=False, must_say=["метк"])
def _(d: Path):
    freq = ["Никогда", "Редко", "Иногда", "Часто", "Всегда"]
    df, labels, _ = sav_frame(lambda v: v, {float(k + 1): freq[k] for k in range(5)})
    write_sav(d / S, df, labels)
    return {S: len(df)}


# ============================================================================== long cells

LONG_CODE = "Z9" * 100_000
LONG_ANSWER = ("lorem ipsum dolor sit amet " * 40_000)[:1_000_000]


@case("long_code_200k",
      "код участника длиной 200 000 символов в строке 6 — строку исключить с причиной, не печатая "
      "код",
      must_say=["строка 6", "длинн"], must_not_say=[LONG_CODE[:200].lower()],
      expect={"excluded_rows": {F(): [6]}},
      note="память должна расти пропорционально размеру файла (здесь не измеряется: без "
           "замеров времени и памяти в тестах)")
def _(d: Path):
    return pii_case(d, {(4, 0): LONG_CODE})


@case("long_answer_1mb",
      "ячейка ответа MOT01 длиной 1 000 000 символов в строке 4 (файл формы 8–9 классов, 4 записи) "
      "— не засчитать с причиной и не копировать её в журналы",
      commands=("validate", "score"), must_say=["строка 4", "mot01", "длинн"],
      must_not_say=[LONG_ANSWER[:200].lower()],
      note="сегодня чтение раздувает ячейку до массива строк фиксированной ширины (строки × столбцы "
           "заданий × 4 МБ): около 0,6 ГБ памяти и десятков секунд на этом файле; файл нарочно "
           "сокращён до 4 записей и 40 столбцов формы 8–9, чтобы тест не мешал общей машине")
def _(d: Path):
    h, rows = clean_rows(n=4, grades=[8, 9])
    _, items, _ = _band_items(2026)
    keep = [j for j, c in enumerate(h) if j < 6 or c in items["8-9"]]
    h = [h[j] for j in keep]
    rows = [[r[j] for j in keep] for r in rows]
    rows[2][col(h, "MOT01")] = LONG_ANSWER
    return {F(): write_csv(d / F(), h, rows)}


# ============================================================================== formula injection

HYPER = '=HYPERLINK("http://example.com/?q="&A1;"Открыть")'


@case("formula_in_code",
      "коды участников «=HYPERLINK(…)», «=1+1», «@SUM(A1)», «-2+3», «+MO03» (строки 3–7): выходные "
      "CSV/XLSX должны их обезвредить",
      commands=("validate", "score"), expect={"outputs_safe": True})
def _(d: Path):
    return pii_case(d, {(1, 0): HYPER, (2, 0): "=1+1", (3, 0): "@SUM(A1)", (4, 0): "-2+3",
                        (5, 0): "+MO03-002-17"})


@case("formula_in_answers",
      "ответы «=1+1» (MOT01), «@SUM(A1)» (MOT02), «-2+3» (MOT03) и отрицательное число «-2» "
      "(MOT04) в строках 3–6: журнал ячеек не должен стать формулами, «-2» остаётся числом",
      commands=("validate", "score"), expect={"outputs_safe": True})
def _(d: Path):
    h, _ = clean_rows(n=1)
    return pii_case(d, {(1, col(h, "MOT01")): "=1+1", (2, col(h, "MOT02")): "@SUM(A1)",
                        (3, col(h, "MOT03")): "-2+3", (4, col(h, "MOT04")): "-2"},
                    grades=range(8, 12))


@case("formula_in_school",
      "код школы «=HYPERLINK(…)» (строки 2–4) и «@MO03-002» (строка 5)",
      commands=("validate", "score"), expect={"outputs_safe": True})
def _(d: Path):
    return pii_case(d, {(0, 1): HYPER, (1, 1): HYPER, (2, 1): HYPER, (3, 1): "@MO03-002"})


# ============================================================================== items and years

@case("missing_item_columns",
      "среди двух хороших файлов — третий (MO06) без столбцов MOT03, COG05, ACT02, EMO04",
      must_say=["mo06_2026.csv", "mot03", ["нет столбц", "отсутств", "не хватает"]])
def _(d: Path):
    out = {}
    for mo in ("MO03", "MO05"):
        h, rows = clean_rows(mo=mo, n=15)
        out[F(mo=mo)] = write_csv(d / F(mo=mo), h, rows)
    h, rows = clean_rows(mo="MO06", n=15, grades=range(5, 12))
    drop = [col(h, c) for c in ("MOT03", "COG05", "ACT02", "EMO04")]
    h2 = [c for j, c in enumerate(h) if j not in drop]
    rows2 = [[c for j, c in enumerate(r) if j not in drop] for r in rows]
    out[F(mo="MO06")] = write_csv(d / F(mo="MO06"), h2, rows2)
    return out


@case("rows_other_year",
      "в файле 2026 года строки 5–7 датированы 16.05.2025 (--year 2026)",
      must_say=["строка 5", "2025"], expect={"excluded_rows": {F(): [5, 6, 7]}})
def _(d: Path):
    h, rows = clean_rows(n=20)
    for i in (3, 4, 5):
        rows[i][5] = "2025-05-16"
    return {F(): write_csv(d / F(), h, rows)}


@case("previous_year_file",
      "в папку 2026 года положен файл прошлого года MO03_2025.csv (даты 2025, версия инструмента "
      "2024) рядом с MO03_2026.csv",
      must_say=["mo03_2025.csv", ["2025 г", "другого года", "другой год", "прошлого года",
                                        "прошлый год"]],
      expect={"accepted_by_file": {"MO03_2025.csv": 0, "MO03_2026.csv": 15}})
def _(d: Path):
    h, rows = clean_rows(n=15)
    h5, rows5 = clean_rows(year=2025, n=15)
    return {F(): write_csv(d / F(), h, rows), F(2025): write_csv(d / F(2025), h5, rows5)}


# ============================================================================== monitoring forms

M3 = "monitoring_2026_MO03.csv"
FORMS = dict(kind="forms")


def write_form(path: Path, header, rows, title: str | None = None) -> int:
    text = (title + "\r\n" if title else "") + csv_text(header, rows, ";", "\r\n")
    path.write_bytes(text.encode("cp1251"))
    return len(rows)


@case("forms_other_municipality",
      "форма муниципалитета MO03 (файл monitoring_2026_MO03.csv), а в строке 9 — школа MO07-001 "
      "другого муниципалитета",
      must_say=["строка 9", "муниципалитет"], **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    _, r7 = forms_sample("monitoring_2026_MO07.csv")
    return {M3: write_form(d / M3, h, rows + r7[:1])}


@case("forms_municipality_disagrees",
      "в строке 4 формы муниципалитет «Кемеровский городской округ», а по справочнику школа "
      "MO03-003 — Березовский",
      must_say=["строка 4", "справочник"], **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    rows[2][1] = "Кемеровский городской округ"
    return {M3: write_form(d / M3, h, rows)}


@case("forms_percent_as_fraction",
      "проценты охвата 4.1 и 4.2 вписаны долями («0,45» вместо 45 %) во всех строках",
      must_say=["4.1", "процент"], **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    for r in rows:
        for j in (14, 15):
            r[j] = f"{int(r[j]) / 100:.2f}".replace(".", ",")
    return {M3: write_form(d / M3, h, rows)}


@case("forms_rows_other_year",
      "в форме 2026 года строки 3 и 4 с годом 2025 (read_forms(year=2026))",
      must_say=["строка 3", "2025"], expect={"excluded_rows": {M3: [3, 4]}}, **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    rows[1][2] = rows[2][2] = "2025"
    return {M3: write_form(d / M3, h, rows)}


@case("forms_dash_cells",
      "«-» в числовой ячейке (1.4, строка 2) и в ячейке да/нет (1.1, строка 2; «-» = «нет»)",
      must_say=["строка 2", "1.4"],
      expect={"values": [{"file": M3, "row": 2, "column": "i1_1", "value": 0.0}]}, **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    rows[0][4] = "-"
    rows[0][7] = "-"
    return {M3: write_form(d / M3, h, rows)}


@case("forms_title_line",
      "CSV-форма мониторинга со строкой-названием над шапкой",
      expect={"accepted_total": 7}, **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    return {M3: write_form(d / M3, h, rows,
                           title="Мониторинг реализации дорожной карты по профориентации, 2026 год, "
                                 "Березовский городской округ")}


@case("forms_header_only", "форма мониторинга только с шапкой", usable=False,
      must_say=[["только заголов", "только шапк", "нет строк", "нет данных", "нет ни одной"]], **FORMS)
def _(d: Path):
    h, _ = forms_sample()
    return {M3: write_form(d / M3, h, [])}


@case("forms_cyrillic_school_code",
      "коды ОО набраны кириллицей «МО03-001», «МО03-002» (строки 2 и 3) — это те же школы",
      expect={"accepted_total": 7}, **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    for r in rows[:2]:
        r[0] = r[0].replace("M", "М").replace("O", "О")
    return {M3: write_form(d / M3, h, rows)}


@case("forms_duplicate_school", "школа MO03-002 прислала форму дважды (строки 3 и 9)",
      must_say=["строка 9", "повтор"], expect={"accepted_total": 7, "excluded_rows": {M3: [9]}},
      **FORMS)
def _(d: Path):
    h, rows = forms_sample()
    return {M3: write_form(d / M3, h, rows + [list(rows[1])])}


@case("forms_xlsx_merged_title",
      "XLSX-форма мониторинга с объединёнными строками названия над шапкой (10 школ)",
      expect={"accepted_total": 10}, **FORMS)
def _(d: Path):
    import openpyxl
    h, rows = forms_xlsx_sample(10)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Форма"
    ws.append(["Мониторинг результативности реализации дорожной карты, 2026 год"])
    ws.append(["Заполняется каждой общеобразовательной организацией"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(h))
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=len(h))
    ws.append(list(h))
    for r in rows:
        ws.append(list(r))
    save_xlsx(wb, d / "monitoring_2026.xlsx")
    return {"monitoring_2026.xlsx": len(rows)}


@case("forms_folder_validate_load",
      "папка форм мониторинга (CSV MO07 и XLSX на 20 школ): validate и load должны узнать формы, "
      "а не отвечать «нет столбцов заданий» / «0 строк»",
      commands=("validate", "load"), must_say=["мониторинг"],
      expect={"accepted_total": 22}, **FORMS)
def _(d: Path):
    h, rows = forms_sample("monitoring_2026_MO07.csv")
    out = {"monitoring_2026_MO07.csv": write_form(d / "monitoring_2026_MO07.csv", h, rows)}
    hx, rx = forms_xlsx_sample(20)
    out["monitoring_2026.xlsx"] = write_xlsx(d / "monitoring_2026.xlsx", hx, rx, title="Форма")
    return out


# ============================================================================== CLI

@case("no_readable_file",
      "в папке ни одного читаемого файла (пустой CSV, старый .xls, «зашифрованный» .xlsx): score "
      "не должен падать",
      commands=("validate", "score"), usable=False,
      uncountable=["MO05_2026.xls", "MO06_2026.xlsx"])
def _(d: Path):
    (d / F()).write_bytes(b"")
    h, rows = clean_rows(mo="MO05", n=10)
    write_cfb(d / "MO05_2026.xls", [("Workbook", biff8_workbook(h, rows))])
    write_encrypted_workbook(d / "MO06_2026.xlsx")
    return {F(): 0, "MO05_2026.xls": 10, "MO06_2026.xlsx": 0}


@case("out_is_existing_file",
      "score с --out, указывающим на существующий ФАЙЛ results.csv (тест создаёт его в tmp_path)",
      commands=("score",), usable=False, say_files=False,
      must_say=["results.csv", ["папк", "каталог"]], options={"out_is_file": "results.csv"})
def _(d: Path):
    h, rows = clean_rows(n=10)
    return {F(): write_csv(d / F(), h, rows)}


@case("annual_bad_formats",
      "annual --formats html,doc (недопустимый формат): только отмечено, annual не запускается "
      "(слишком тяжёл для общей машины)",
      commands=(), run=False, usable=False, say_files=False,
      note="proforient-diag annual --year 2026 --formats html,doc должен отказать сразу (код 2) "
           "с сообщением о недопустимом формате «doc» и списком html, docx, pdf — до чтения данных",
      today={"not_run": "annual не запускается (тяжёл для общей машины); по коду (commit 0f8a752): "
                        "cli.cmd_annual передаёт форматы как есть, annual.run_annual сначала "
                        "заполняет хранилище (load_waves за 2018–год, load_monitoring), и только "
                        "report.runner.run_note проверяет форматы (_check_formats: ValueError "
                        "«Неизвестный формат ['doc']…») — в каждой справке отдельно; итог — код 1 "
                        "(или «Внутренняя ошибка», код 3, если ValueError выйдет из пакета), а не "
                        "код 2 до чтения данных",
             "defect_basis": "чтение кода, не запуск"})
def _(d: Path):
    return {}


# ------------------------------------------------------------------------------ main


def build_all() -> list[dict]:
    old = {}
    if YAML_PATH.exists():
        for c in yaml.safe_load(YAML_PATH.read_text(encoding="utf-8")).get("cases", []):
            old[c["id"]] = c
    if CASES_DIR.exists():
        shutil.rmtree(CASES_DIR)
    CASES_DIR.mkdir(parents=True)
    out = []
    for c in CASES:
        d = CASES_DIR / c["id"]
        if c["run"]:
            d.mkdir()
        res = c["build"](d)
        extra = {}
        if isinstance(res, tuple):
            res, extra = res
        rows = {k: int(v) for k, v in res.items()}
        expect = dict(c["expect"]) if c["expect"] else None
        if expect and expect.get("values") == "@sav_values":
            expect["values"] = extra["values"]
        files = sorted(rows)
        must_say = ([f.lower() for f in files] if c["say_files"] else []) + c["must_say"]
        entry = {
            "id": c["id"], "description": c["description"], "kind": c["kind"], "year": c["year"],
            "path": f"cases/{c['id']}" if c["run"] else None, "commands": c["commands"],
            "usable": c["usable"],
            "rows_in_file": rows,
        }
        if c["uncountable"]:
            entry["uncountable"] = c["uncountable"]
        entry["must_say"] = must_say
        entry["must_not_say"] = ALWAYS_NOT + c["must_not_say"]
        if expect:
            entry["expect"] = _fill_expect(expect, d, rows)
        if c["options"]:
            entry["options"] = c["options"]
        if not c["run"]:
            entry["run"] = False
        if c["note"]:
            entry["note"] = c["note"]
        if c["today"]:
            entry["today"] = c["today"]
            entry["defect"] = True
        prev = old.get(c["id"], {})
        for k in ("today", "defect"):
            if k in prev:
                entry[k] = prev[k]
        out.append(entry)
    doc = {
        "about": ("Bad-input corpus of proforient-diag, built by make_corpus.py (do not edit by hand: "
                  "rerun it; today/defect are written by record_today.py). Conventions: see the "
                  "docstring of make_corpus.py."),
        "register": {"schools": "data_samples/schools.csv",
                     "enrolment": "data_samples/school_enrolment.csv"},
        "cases": out,
    }
    YAML_PATH.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100),
                         encoding="utf-8")
    return out


def _fill_expect(expect: dict, d: Path, rows: dict) -> dict:
    """Replace the @placeholders of csv_invisible_spaces with the values the generator wrote."""
    vals = expect.get("values")
    if not vals or not any(str(v.get("value", "")).startswith("@") or str(v.get("column", "")).startswith("@")
                           for v in vals):
        return expect
    h, rows_ = clean_rows(n=20)
    out = []
    for v in vals:
        v = dict(v)
        r = rows_[v["row"] - 2]
        if v["column"] == "@firstitem":
            j = next(k for k in range(6, len(h)) if r[k])
            v["column"] = h[j]
            v["value"] = float(r[j])
        elif v["value"] == "@code3":
            v["value"] = r[0]
        out.append(v)
    return {**expect, "values": out}


def main() -> int:
    cases = build_all()
    total = sum(f.stat().st_size for f in CASES_DIR.rglob("*") if f.is_file())
    print(f"{len(cases)} cases ({sum(c.get('run', True) for c in cases)} to run) in {CASES_DIR}, "
          f"{total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
