"""Reading survey exports: formats, encodings, column mapping, validation, the exclusions log.

One row in, one row out: every data row of every file ends up either among the accepted rows or
in the exclusions log with its reason, and the counts add up per file (checked on every call).
Raw files are opened read-only and never rewritten.

Formats: CSV (UTF-8, UTF-8 with BOM, cp1251; comma, semicolon or tab; decimal comma), XLSX,
SPSS ``.sav`` (codes and value labels) and Parquet. Columns are mapped to items by item id or by the
question wording as form services export it (case, spaces, «ё»/«е», numbering and trailing
punctuation do not matter; a Google Forms grid header ``Вопрос [утверждение]`` matches on the part in
brackets). Text answers are mapped to codes through the response scale's labels and synonyms.

What is excluded (row-level, in ``exclusions``): empty rows, rows without a respondent id, school or
known municipality, without a valid grade, with a grade outside the file's form band, duplicates of
a respondent already accepted in the same year, rows answered on fewer than half of the form's items.
What is corrected and logged (cell-level, in ``issues``): out-of-range codes and unreadable text
answers (set missing), answers to items outside the respondent's form (set missing), unreadable sex,
columns with direct identifiers (dropped), unknown columns (ignored). Straight-lining (the same
answer to every item, ≥ 10 answered) is flagged in the ``straightlining`` column, not excluded.

Pandas' readers do the parsing; the validation is vectorised over columns and unique values.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import InputFileError
from .instrument import Instrument, ResponseScale, load_instrument, normalize_text
from .region import municipality_lookup
from .rows import EMPTY_CELLS, RowLedger, file_accounting, file_of, first_wins, is_empty

__all__ = ["read_responses", "IngestResult", "DEFAULT_COLUMNS", "read_table", "SUPPORTED",
           "resolve_inputs", "scan_inputs", "sha256_file"]

SUPPORTED = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".sav", ".parquet")

#: Context columns and the header names they are recognised by (normalised; extend via ``columns=``).
DEFAULT_COLUMNS: dict[str, list[str]] = {
    "respondent_id": ["respondent_id", "id", "код", "код участника", "код обучающегося",
                      "идентификатор", "код респондента", "id участника", "личный код"],
    "school_id": ["school_id", "школа", "код оо", "оо", "код школы", "образовательная организация",
                  "общеобразовательная организация"],
    "municipality": ["municipality", "municipality_code", "муниципалитет", "мо", "код мо",
                     "муниципальное образование", "территория"],
    "grade": ["grade", "класс", "в каком классе вы учитесь", "в каком классе ты учишься"],
    "sex": ["sex", "пол", "ваш пол", "твой пол", "gender"],
    "date": ["date", "дата", "отметка времени", "timestamp", "дата заполнения", "время создания",
             "дата и время"],
    "year": ["year", "год", "год обследования"],
}

_PII_PATTERNS = re.compile(
    r"(фио|фамили|^имя|отчество|^name$|surname|full ?name|дата рождения|birth|телефон|phone|e-?mail|"
    r"почта|снилс|snils|паспорт|passport|адрес|address|^ученик|^учащ|^обучающ)")

_SEX = {"м": "м", "муж": "м", "мужской": "м", "мальчик": "м", "юноша": "м", "male": "м", "m": "м",
        "1": "м", "ж": "ж", "жен": "ж", "женский": "ж", "девочка": "ж", "девушка": "ж",
        "female": "ж", "f": "ж", "2": "ж"}



@dataclass(frozen=True)
class IngestResult:
    """What :func:`read_responses` accepted and what it did not.

    Attributes
    ----------
    responses : DataFrame
        Accepted rows: ``source_file``, ``source_row`` (the row number as a spreadsheet shows it),
        ``respondent_id``, ``year``, ``date``, ``school_id``, ``municipality_code``,
        ``municipality``, ``grade``, ``band``, ``sex``, ``instrument_version``, ``n_answered``,
        ``straightlining``, then one float column per item (NaN = no answer).
    exclusions : DataFrame
        Rows not accepted: source_file, source_row, respondent_id, column, reason (Russian).
    issues : DataFrame
        Cell-level corrections and file-level notes: source_file, source_row, respondent_id,
        column, value, reason.
    files : DataFrame
        Per file: file, sha256, format, encoding, rows, accepted, excluded.
    """

    responses: pd.DataFrame
    exclusions: pd.DataFrame
    issues: pd.DataFrame
    files: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.responses

    def summary(self) -> pd.DataFrame:
        """Per-file accounting with Russian headers."""
        f = self.files.copy()
        reasons = (self.exclusions.assign(source_file=self.exclusions["source_file"].map(file_of))
                   .groupby("source_file")["reason"]
                   .agg(lambda r: "; ".join(f"{k}: {v}" for k, v in r.str.replace(r" \(.*", "", regex=True)
                                            .value_counts().items())))
        f["Причины исключения"] = f["file"].map(reasons).fillna("")
        if "note" in f:
            f["Причины исключения"] = (f["Причины исключения"] + " " + f.pop("note")).str.strip()
        return f.rename(columns={"file": "Файл", "rows": "Строк", "accepted": "Принято",
                                 "excluded": "Исключено", "format": "Формат", "encoding": "Кодировка"}
                        ).drop(columns=["sha256"])

    @property
    def versions(self) -> list[int]:
        return sorted(int(v) for v in self.responses["instrument_version"].dropna().unique())


# -- reading files ----------------------------------------------------------------------------

def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (the raw file is only read)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _decode(raw: bytes, path: Path) -> tuple[str, str, list[int]]:
    """Text, the encoding's Russian name, and the lines re-decoded from Windows-1251.

    A file that is UTF-8 except for a few lines (a row pasted from another export) is decoded
    line by line, the odd lines as Windows-1251, and those line numbers are reported.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw, enc = raw[3:], "UTF-8 с BOM"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "UTF-16", []
    else:
        enc = "UTF-8"
    if b"\x00" in raw[:4096]:
        raise InputFileError("это не текстовая таблица (двоичный файл или текст в UTF-16 без "
                             "метки); сохраните выгрузку в CSV (UTF-8), XLSX, SAV или Parquet.", file=path)
    try:
        return raw.decode("utf-8"), enc, []
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    bad = []
    for i, line in enumerate(lines):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i)
    if len(bad) <= max(1, 0.05 * len(lines)):
        out = [ln.decode("cp1251") if i in set(bad) else ln.decode("utf-8") for i, ln in enumerate(lines)]
        return "\n".join(out), f"{enc} (строки {', '.join(str(i + 1) for i in bad[:10])} — Windows-1251)", \
            [i + 1 for i in bad]
    try:
        return raw.decode("cp1251"), "Windows-1251", []
    except UnicodeDecodeError:
        raise InputFileError("кодировка не распознана (ни UTF-8, ни Windows-1251); пересохраните "
                             "файл в UTF-8.", file=path) from None


def _read_csv_text(text: str, sep: str, path: Path) -> tuple[pd.DataFrame, dict[int, str]]:
    """Parse CSV text into text cells; rows with the wrong number of fields are returned padded
    or cut, with their file row numbers and the reason (they are excluded, not the whole file)."""
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                           skip_blank_lines=False), {}
    except (pd.errors.ParserError, ValueError):
        pass
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError("файл пуст; выгрузите данные ещё раз.", file=path) from None
    rows, ragged = [], {}
    start = reader.line_num + 1
    try:
        for rec in reader:
            if len(rec) != len(header):
                ragged[len(rows)] = (f"в строке {len(rec)} полей, а в заголовке {len(header)}: "
                                     "проверьте разделители и кавычки в этой строке")
                rec = (rec + [""] * len(header))[:len(header)]
            rows.append(rec)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputFileError(f"файл не читается как CSV после строки {start - 1} ({exc}); проверьте "
                             "кавычки.", file=path) from None
    df = pd.DataFrame(rows, columns=_dedupe_headers(header), dtype=object)
    return df, ragged


def _dedupe_headers(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        k = seen.get(h, 0)
        out.append(h if k == 0 else f"{h}.{k}")
        seen[h] = k + 1
    return out


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v)


def _read_xlsx(path: Path) -> list[tuple[str, pd.DataFrame, int]]:
    """Every sheet as text cells: merged cells filled with their value, title rows above the
    header skipped (the header is the first of the top rows that is at least 60 % filled)."""
    import openpyxl
    wb = openpyxl.load_workbook(path, data_only=True)
    out = []
    for ws in wb.worksheets:
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        if not values:
            continue
        for rng in ws.merged_cells.ranges:
            v = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if r - 1 < len(values) and c - 1 < len(values[r - 1]):
                        values[r - 1][c - 1] = v
        width = max(len(r) for r in values)
        values = [r + [None] * (width - len(r)) for r in values]
        filled = [sum(v not in (None, "") for v in r) for r in values[:10]]
        if not max(filled, default=0):
            continue
        top = max(filled)
        h = next(i for i, k in enumerate(filled) if k >= max(2, 0.6 * top) or k == top)
        header = [_cell_text(v) for v in values[h]]
        keep = [j for j, name in enumerate(header) if name != "" or any(r[j] not in (None, "") for r in values[h + 1:])]
        body = values[h + 1:]
        while body and all(v in (None, "") for v in body[-1]):
            body.pop()
        df = pd.DataFrame([[_cell_text(r[j]) for j in keep] for r in body],
                          columns=_dedupe_headers([header[j] or f"Unnamed: {j}" for j in keep]), dtype=object)
        out.append((f"{path.name} [{ws.title}]", df, h + 2))
    return out


def read_table(path: str | Path) -> tuple[list[tuple[str, pd.DataFrame, int]], dict]:
    """Read one export as text cells.

    Returns a list of ``(label, frame, first_data_row)`` (one per used sheet; a frame's i-th row is
    row ``first_data_row + i`` of the file) and a dict of file facts (format, encoding,
    value labels for ``.sav``).
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError("файл не найден; проверьте путь.", file=path)
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise InputFileError("файл пуст; выгрузите данные ещё раз.", file=path)
    facts: dict = {"format": suffix.lstrip("."), "encoding": ""}
    if suffix in (".csv", ".txt", ".tsv"):
        with open(path, "rb") as fh:
            raw = fh.read()
        text, enc, recoded = _decode(raw, path)
        facts["encoding"] = enc
        facts["recoded_lines"] = recoded
        if not text.strip():
            raise InputFileError("файл пуст; выгрузите данные ещё раз.", file=path)
        head = "\n".join(text.splitlines()[:20])
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
        except csv.Error:
            first = text.splitlines()[0]
            sep = max(",;\t", key=first.count)
        facts["delimiter"] = {";": "точка с запятой", ",": "запятая", "\t": "табуляция"}[sep]
        df, ragged = _read_csv_text(text, sep, path)
        facts["ragged_rows"] = ragged
        return [(path.name, df, 2)], facts
    if suffix in (".xlsx", ".xlsm"):
        try:
            out = _read_xlsx(path)
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise InputFileError(f"файл не открывается как книга Excel ({exc.__class__.__name__}); "
                                 "пересохраните его в Excel как .xlsx.", file=path) from None
        if not out:
            raise InputFileError("в книге нет ни одного заполненного листа.", file=path)
        return out, facts
    if suffix == ".sav":
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
            if col in labels:
                facts.setdefault("value_labels", {})[col] = labels[col]
            num = pd.to_numeric(vals, errors="coerce")
            is_int = num.notna() & (num == np.round(num))
            s = vals.astype(str).where(~is_int, num.round().astype("Int64").astype(str))
            df[col] = s.where(vals.notna(), "")
        return [(path.name, df, 1)], facts
    if suffix == ".parquet":
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow errors
            raise InputFileError(f"файл не читается как Parquet ({exc.__class__.__name__}).", file=path) from None
        df = df.astype(object).where(df.notna(), "")
        df = df.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        return [(path.name, df, 1)], facts
    raise InputFileError(f"формат «{suffix or 'без расширения'}» не поддерживается; сохраните "
                         "выгрузку как CSV, XLSX, SAV или Parquet.", file=path)


# -- column mapping ---------------------------------------------------------------------------

def _header_keys(header: str) -> list[str]:
    h = str(header)
    keys = [normalize_text(h)]
    m = re.search(r"\[(.+)\]\s*$", h)
    if m:
        keys.append(normalize_text(m.group(1)))
    return keys


def _map_columns(headers: Sequence[str], inst: Instrument, names: dict[str, list[str]]):
    """Map headers to context fields and item ids; return (context, items, pii, unknown)."""
    ctx_lookup = {normalize_text(a): field for field, aliases in names.items() for a in aliases}
    item_lookup: dict[str, str] = {}
    for it in inst.items:
        item_lookup[normalize_text(it.id)] = it.id
        item_lookup[normalize_text(it.text)] = it.id
    context: dict[str, str] = {}
    items: dict[str, str] = {}
    pii: list[str] = []
    unknown: list[str] = []
    for h in headers:
        keys = _header_keys(h)
        field = next((ctx_lookup[k] for k in keys if k in ctx_lookup), None)
        if field and field not in context:
            context[field] = h
            continue
        item = next((item_lookup[k] for k in keys if k in item_lookup), None)
        if item and item not in items.values():
            items[h] = item
            continue
        if _PII_PATTERNS.search(keys[0].replace(".", "").replace(" ", "")) or _PII_PATTERNS.search(keys[0]):
            pii.append(h)
            continue
        if str(h).startswith("Unnamed:") or not str(h).strip():
            unknown.append(h)
            continue
        unknown.append(h)
    return context, items, pii, unknown


def _parse_answer(value: str, rs: ResponseScale) -> tuple[float, bool]:
    """One distinct cell text → (code or NaN, valid?)."""
    s = value.strip()
    if s.lower() in EMPTY_CELLS:
        return np.nan, True
    try:
        x = float(s.replace(",", "."))
        if x.is_integer() and int(x) in rs.labels:
            return float(int(x)), True
        return np.nan, False
    except ValueError:
        pass
    key = normalize_text(s)
    if key in rs.label_lookup:
        return float(rs.label_lookup[key]), True
    m = re.match(r"^\s*(\d+)\s*[-–—.)]\s*(.*)$", s)
    if m and int(m.group(1)) in rs.labels:
        return float(m.group(1)), True
    return np.nan, False


def _parse_grade(values: pd.Series) -> pd.Series:
    s = values.astype(str).str.extract(r"^\s*(\d{1,2})(?:[.,]0+)?(?:\s*(?:класс|кл\.?|[«\"']?[А-Яа-яA-Za-z][»\"']?))?\s*$",
                                       expand=False)
    g = pd.to_numeric(s, errors="coerce")
    return g.where((g >= 1) & (g <= 11))


def scan_inputs(paths) -> tuple[list[tuple[Path, bool]], list[tuple[Path, str]]]:
    """Files to read, each with whether it was found in a folder, and files found in folders that
    cannot be read (with the reason). A file named twice is read once."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: dict[Path, bool] = {}
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for q in sorted(q for q in p.rglob("*") if q.is_file()):
                if q.name.startswith(("~$", ".")):
                    continue
                if q.suffix.lower() in SUPPORTED:
                    out.setdefault(q.resolve(), True)
                else:
                    skipped.append((q, f"формат «{q.suffix or 'без расширения'}» не поддерживается — "
                                       "файл не прочитан; сохраните его как CSV или XLSX"))
        else:
            out.setdefault(p.resolve() if p.exists() else p, False)
    if not out:
        raise InputFileError("не найдено ни одного файла с ответами (CSV, XLSX, SAV, Parquet).",
                             file=str(paths[0]) if paths else None)
    return list(out.items()), skipped


def resolve_inputs(paths) -> list[Path]:
    """The files to read (folders searched recursively; a file named twice is read once)."""
    return [p for p, _ in scan_inputs(paths)[0]]


# -- the main entry ---------------------------------------------------------------------------

def read_responses(paths: str | Path | Iterable[str | Path], instrument: str | Path = "psd", *,
                   year: int | None = None, columns: dict[str, list[str] | str] | None = None,
                   min_answered_share: float = 0.5) -> IngestResult:
    """Read, map and validate survey exports.

    Parameters
    ----------
    paths : path, folder or list of them
        Files (CSV, XLSX, SAV, Parquet) or folders searched recursively.
    instrument : str or Path
        Instrument id or YAML path; the version in force in each row's year is used.
    year : int, optional
        The survey year of these files. Default: a ``year`` column, else the year of a date column.
    columns : dict, optional
        Extra header names for the context fields, e.g. ``{"school_id": ["Наименование ОУ"]}``.
    min_answered_share : float
        A row answered on fewer than this share of its form's items is excluded (default one half).

    Returns
    -------
    IngestResult

    Raises
    ------
    InputFileError
        When a file cannot be used at all (unreadable, empty, no id column, wrong instrument).
    """
    names = {k: list(v) for k, v in DEFAULT_COLUMNS.items()}
    for k, v in (columns or {}).items():
        if k not in names:
            raise InputFileError(f"неизвестное поле контекста «{k}»; допустимы: {', '.join(names)}.")
        names[k] = ([v] if isinstance(v, str) else list(v)) + names[k]
    mo_lookup = municipality_lookup()
    accepted_parts, excl_parts, issue_parts, file_rows = [], [], [], []
    is_path = isinstance(instrument, Path) or str(instrument).endswith((".yaml", ".yml"))
    cache: dict[int, Instrument] = {}

    def inst_for(y: int) -> Instrument:
        if y not in cache:
            cache[y] = load_instrument(instrument) if is_path else load_instrument(str(instrument), year=y)
        return cache[y]

    found, skipped = scan_inputs(paths)
    for path, in_folder in found:
        try:
            sheets, facts = read_table(path)
            parts = []
            for label, df, first_row in sheets:
                res = _ingest_frame(df, label, path, first_row, inst_for, names, mo_lookup, year,
                                    min_answered_share, facts, must_use=len(sheets) == 1)
                if res is not None:
                    parts.append((len(df), res))
            if not parts:
                raise InputFileError("ни на одном листе не найдены столбцы заданий инструмента; "
                                     f"проверьте, что это выгрузка анкеты «{instrument}».", file=path)
        except InputFileError as exc:
            if not in_folder:
                raise
            skipped.append((path, f"файл не прочитан: {exc.message}"))
            continue
        for _, (acc, exc_, iss) in parts:
            accepted_parts.append(acc)
            excl_parts.append(exc_)
            issue_parts.append(iss)
        file_rows.append({"file": str(path), "sha256": sha256_file(path), "format": facts["format"],
                          "encoding": facts.get("encoding", ""), "rows": sum(k for k, _ in parts),
                          "note": ""})
    for path, why in skipped:  # listed, so that nothing in the folder goes unmentioned
        file_rows.append({"file": str(path), "sha256": sha256_file(path), "format": path.suffix.lstrip("."),
                          "encoding": "", "rows": 0, "note": why})
        issue_parts.append(pd.DataFrame([{"source_file": str(path), "source_row": pd.NA, "respondent_id": None,
                                          "column": None, "value": None, "reason": why}]))

    responses = pd.concat(accepted_parts, ignore_index=True) if accepted_parts else pd.DataFrame()
    exclusions = pd.concat(excl_parts, ignore_index=True) if excl_parts else _empty_log()
    issues = pd.concat(issue_parts, ignore_index=True) if issue_parts else _empty_log(value=True)
    if len(responses):
        responses, exclusions = _repeated_sheets(responses, exclusions)
        all_items = [i for v in sorted(cache) for i in cache[v].item_ids]
        item_cols = list(dict.fromkeys(c for c in all_items if c in responses.columns))
        ctx_cols = [c for c in responses.columns if c not in item_cols]
        responses = responses[ctx_cols + item_cols]
    files = pd.DataFrame(file_rows, columns=["file", "sha256", "format", "encoding", "rows", "note"])
    accepted = responses["source_file"] if len(responses) else pd.Series(dtype=object)
    files = file_accounting(files, accepted, exclusions["source_file"])
    files = files[["file", "sha256", "format", "encoding", "rows", "accepted", "excluded", "note"]]
    return IngestResult(responses, exclusions, issues, files)


def _repeated_sheets(responses: pd.DataFrame, exclusions: pd.DataFrame):
    """One answer sheet per respondent and year across all files: the first is kept.

    Codes are unique within a school (schools assign them), so a repeat is the same code in the
    same school and year.
    """
    key = (responses["year"].astype(str) + "\x00" + responses["school_id"].astype(str) + "\x00"
           + responses["respondent_id"].astype(str))
    repeat, first = first_wins(key)
    if not repeat.any():
        return responses, exclusions
    d, f = responses.loc[repeat], responses.iloc[first[repeat]]
    excl = pd.DataFrame({
        "source_file": d["source_file"].to_numpy(), "source_row": d["source_row"].to_numpy(),
        "respondent_id": d["respondent_id"].to_numpy(), "column": "respondent_id",
        "reason": [f"повторная анкета участника (первая принята: {Path(fl).name}, строка {r})"
                   for fl, r in zip(f["source_file"], f["source_row"])]})
    return (responses.loc[~repeat].reset_index(drop=True),
            pd.concat([exclusions, excl], ignore_index=True))


def _empty_log(value: bool = False) -> pd.DataFrame:
    cols = ["source_file", "source_row", "respondent_id", "column"] + (["value"] if value else []) + ["reason"]
    return pd.DataFrame(columns=cols)


# -- one table of a file ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Table:
    """One sheet of an export with its columns mapped to the instrument's."""

    df: pd.DataFrame
    source: str
    inst: Instrument
    years: pd.Series
    context: dict
    item_map: dict
    pii: list
    unknown: list

    def col(self, f: str) -> pd.Series:
        """A context column as stripped text ("" when the column is absent)."""
        if f in self.context:
            return self.df[self.context[f]].astype(str).str.strip()
        return pd.Series([""] * len(self.df), index=self.df.index)


def _years_of(df, context, year, source) -> pd.Series:
    n = len(df)
    if year is not None:
        return pd.Series(np.full(n, int(year)), dtype="Int64")
    if "year" in context:
        return pd.to_numeric(df[context["year"]].str.strip(), errors="coerce").astype("Int64")
    if "date" in context:
        return pd.to_datetime(df[context["date"]], errors="coerce", dayfirst=True,
                              format="mixed").dt.year.astype("Int64")
    raise InputFileError("не удалось определить год обследования: в файле нет столбца года или "
                         "даты; укажите год параметром --year.", file=source)


def _map_table(df, source, inst_for, names, year, must_use):
    """The sheet's instrument version and column mapping, or None for a sheet without items.

    Returns ``(table, None)``, or ``(None, issues)`` for a header-only sheet.
    """
    probe_inst = inst_for(int(year) if year else 9999)
    context, probe_items, _, _ = _map_columns(df.columns, probe_inst, names)
    if not probe_items and not must_use:
        return None, None  # a sheet without item columns (a codebook or an instruction sheet)
    if len(df) == 0 and probe_items:
        note = pd.DataFrame([{"source_file": source, "source_row": None, "respondent_id": None, "column": None,
                              "value": None, "reason": "в файле нет строк с ответами (только заголовок)"}])
        return None, note
    years = _years_of(df, context, year, source)
    known_years = sorted(int(y) for y in years.dropna().unique())
    if not known_years:
        raise InputFileError("не удалось определить год обследования ни в одной строке; укажите "
                             "год параметром --year.", file=source)
    inst = inst_for(known_years[-1])
    context, item_map, pii, unknown = _map_columns(df.columns, inst, names)
    if not item_map:
        if must_use:
            raise InputFileError(
                f"в файле нет ни одного столбца заданий инструмента «{inst.title}» (версия "
                f"{inst.version}); это выгрузка другой анкеты или заголовки изменены. Проверьте "
                "файл или сопоставьте столбцы по кодбуку (proforient-diag codebook).", file=source)
        return None, None
    if "respondent_id" not in context:
        raise InputFileError("нет столбца с кодом участника (например «Код участника» или "
                             "«respondent_id»); добавьте его или укажите имя столбца в настройках.",
                             file=source)
    present = set(item_map.values())
    best = max(len(present & set(inst.items_for(b))) / len(inst.items_for(b)) for b in inst.band_ids)
    if best < 0.5:
        raise InputFileError(
            f"в файле есть только {len(item_map)} столбцов заданий инструмента «{inst.title}» "
            f"(версия {inst.version}) — меньше половины любой формы; похоже, это другой инструмент "
            "или другая версия. Сопоставьте столбцы по кодбуку (proforient-diag codebook).",
            file=source)
    for f in ("school_id", "municipality", "grade"):
        if f not in context:
            raise InputFileError(f"нет обязательного столбца «{f}» ({', '.join(names[f][1:3])}); "
                                 "добавьте его или укажите имя столбца в настройках.", file=source)
    return _Table(df, source, inst, years, context, item_map, pii, unknown), None


def _file_notes(t: _Table, facts) -> list[dict]:
    """File-level issues: re-decoded lines, dropped personal-data columns, unknown columns."""
    notes = [{"source_file": t.source, "source_row": line, "respondent_id": None, "column": None,
              "value": None, "reason": "строка была в кодировке Windows-1251, а файл в UTF-8; "
                                       "прочитана как Windows-1251 — проверьте её"}
             for line in facts.get("recoded_lines", [])]
    notes += [{"source_file": t.source, "source_row": None, "respondent_id": None, "column": h,
               "value": None, "reason": "столбец с персональными данными отброшен при чтении"}
              for h in t.pii]
    notes += [{"source_file": t.source, "source_row": None, "respondent_id": None, "column": h,
               "value": None, "reason": "столбец не распознан и пропущен"} for h in t.unknown]
    return notes


def _answers(t: _Table):
    """Item cells → codes, per response scale over the distinct cell texts (vectorised).

    Returns ``(item_cols, raw text, values, valid)``.
    """
    item_cols = list(t.item_map)
    raw = t.df[item_cols].to_numpy(dtype=str)
    values = np.full(raw.shape, np.nan)
    valid = np.ones(raw.shape, dtype=bool)
    by_scale: dict[str, list[int]] = {}
    for j, h in enumerate(item_cols):
        by_scale.setdefault(t.inst.response_scale_of(t.item_map[h]).id, []).append(j)
    for rs_id, cols in by_scale.items():
        rs = t.inst.response_scales[rs_id]
        uniq, inv = np.unique(raw[:, cols], return_inverse=True)
        parsed = [_parse_answer(u, rs) for u in uniq]
        codes = np.array([p[0] for p in parsed], dtype=float)
        ok = np.array([p[1] for p in parsed], dtype=bool)
        inv = inv.reshape(len(raw), len(cols))
        values[:, cols] = codes[inv]
        valid[:, cols] = ok[inv]
    return item_cols, raw, values, valid


def _context_exclusions(t: _Table, led: RowLedger, rid: pd.Series, looks_like_name, all_blank,
                        mo_lookup, facts):
    """Row exclusions by the context columns, in order; returns grade, school, municipality."""
    ragged = facts.get("ragged_rows", {})
    if ragged:
        bad = np.zeros(len(t.df), dtype=bool)
        bad[list(ragged)] = True
        led.exclude(bad, lambda i: ragged[i], "")
    no_id = is_empty(rid)
    led.exclude(all_blank & no_id, "пустая строка", "")
    led.exclude(no_id, "нет кода участника", t.context["respondent_id"])
    led.exclude(looks_like_name, "в поле кода участника, похоже, фамилия и имя; строка не принята — "
                                 "замените ФИО кодом, который присваивает школа", t.context["respondent_id"])
    led.exclude(all_blank, "нет ни одного ответа на задания анкеты", "")
    led.exclude(t.years.isna().to_numpy(), "не удалось определить год обследования",
                t.context.get("date", t.context.get("year", "")))
    grade = _parse_grade(t.col("grade"))
    led.exclude(grade.isna().to_numpy(), "класс не указан или не число от 1 до 11", t.context["grade"])
    school = t.col("school_id")
    led.exclude(is_empty(school), "не указана школа", t.context["school_id"])
    mo_raw = t.col("municipality")
    hits = {u: mo_lookup.get(normalize_text(u), (None, None)) for u in mo_raw.unique()}
    mo_code = mo_raw.map({u: h[0] for u, h in hits.items()})
    mo_name = mo_raw.map({u: h[1] for u, h in hits.items()})
    led.exclude(mo_code.isna().to_numpy(),
                lambda i: f"муниципалитет «{mo_raw.iat[i]}» не найден в справочнике Кузбасса; "
                          "укажите код MO01–MO34 или полное название", t.context["municipality"])
    return grade, school, mo_code, mo_name


def _sex(t: _Table, led: RowLedger, rid_safe, facts) -> pd.Series:
    """Sex as «м»/«ж» (SPSS value labels too); an unreadable cell is noted and left empty."""
    sex_raw = t.col("sex")
    sex = sex_raw.str.lower().str.replace(".", "", regex=False).map(_SEX)
    vl = facts.get("value_labels", {}).get(t.context.get("sex", ""), {})
    if vl:
        lab = {str(int(k)) if float(k).is_integer() else str(k): normalize_text(v) for k, v in vl.items()}
        sex = sex_raw.map(lab).map(_SEX).fillna(sex)
    bad = (sex.isna() & ~pd.Series(is_empty(sex_raw), index=sex.index)).to_numpy()
    led.note(bad, t.context.get("sex"), sex_raw.to_numpy(),
             "пол не распознан (ожидается «м» или «ж»); оставлен пустым", respondent_id=rid_safe)
    return sex


def _form_band(t: _Table, led: RowLedger, grade: pd.Series) -> pd.Series:
    """The band of each row; a file holding exactly one band's items is that band's form, and a
    grade outside it is excluded."""
    inst = t.inst
    present = set(t.item_map.values())
    exact = [b for b in inst.band_ids if set(inst.items_for(b)) == present]
    form_band = exact[0] if len(exact) == 1 else None
    band = grade.map({float(g): b for g, b in inst.grade_to_band.items()})
    if form_band is not None:
        grades = inst.band_by_id[form_band].grades
        wrong = grade.notna() & (band != form_band)
        led.exclude(wrong.to_numpy(), lambda i: f"класс {int(grade.iat[i])} не относится к форме для "
                                                f"{form_band} классов (классы {grades[0]}–{grades[-1]})",
                    t.context["grade"])
    return band


def _outside_form(t: _Table, led: RowLedger, band: pd.Series, items_df: pd.DataFrame, rid_safe):
    """Answers to items outside the respondent's form (noted, set empty), answered counts and
    straight-lining per row."""
    inst, n = t.inst, len(t.df)
    n_answered, n_form = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    straight = np.zeros(n, dtype=bool)
    item_ids = list(items_df.columns)
    for b in inst.band_ids:
        m = (band == b).to_numpy()
        if not m.any():
            continue
        form = list(inst.items_for(b))
        out_of_form = [i for i in item_ids if i not in form]
        if out_of_form:
            sub = items_df.loc[m, out_of_form]
            r, c = np.nonzero(sub.notna().to_numpy())
            pos = np.flatnonzero(m)[r]
            led.extend_issues(pd.DataFrame({
                "source_row": led.rows[pos], "respondent_id": rid_safe[pos],
                "column": np.asarray(out_of_form, dtype=object)[c],
                "value": [str(v) for v in sub.to_numpy()[r, c]],
                "reason": f"задание не входит в форму для {b} классов; ответ не засчитан"}))
            items_df.loc[m, out_of_form] = np.nan
        have = [i for i in form if i in items_df.columns]
        x = items_df.loc[m, have].to_numpy()
        n_answered[m] = np.sum(~np.isnan(x), axis=1)
        n_form[m] = len(form)
        with warnings.catch_warnings():  # rows without any answer: All-NaN slices, excluded below
            warnings.simplefilter("ignore", RuntimeWarning)
            same = (np.nanmax(x, axis=1) == np.nanmin(x, axis=1)) if x.size else np.zeros(m.sum(), bool)
        straight[m] = same & (n_answered[m] >= 10)
    return n_answered, n_form, straight


def _ingest_frame(df: pd.DataFrame, label: str, path: Path, first_row: int, inst_for, names,
                  mo_lookup, year, min_share, facts, must_use: bool):
    source = str(path) if label == path.name else f"{path} [{label.split('[', 1)[1][:-1]}]"
    df = df.copy()
    df.columns = [str(c) for c in df.columns]
    t, header_only = _map_table(df, source, inst_for, names, year, must_use)
    if t is None:
        return None if header_only is None else (pd.DataFrame(), _empty_log(), header_only)
    led = RowLedger(len(df), first_row)
    led.extend_issues(pd.DataFrame(_file_notes(t, facts)))
    rid = t.col("respondent_id").str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    looks_like_name = rid.str.contains(r"[А-ЯЁа-яё]{2,}\.?\s+[А-ЯЁа-яё]{2,}", regex=True).to_numpy()
    rid_safe = rid.where(~looks_like_name, None).to_numpy(dtype=object)  # a name never reaches a log
    item_cols, raw, values, valid = _answers(t)
    all_blank = (np.isnan(values) & valid).all(axis=1)  # (NaN, valid) only for an empty cell
    grade, school, mo_code, mo_name = _context_exclusions(t, led, rid, looks_like_name, all_blank,
                                                          mo_lookup, facts)
    sex = _sex(t, led, rid_safe, facts)
    band = _form_band(t, led, grade)
    bad_i, bad_j = np.nonzero(~valid)
    if len(bad_i):
        scale_of = [t.inst.response_scale_of(t.item_map[h]) for h in item_cols]
        led.extend_issues(pd.DataFrame({
            "source_row": led.rows[bad_i], "respondent_id": rid_safe[bad_i],
            "column": np.asarray(item_cols, dtype=object)[bad_j], "value": raw[bad_i, bad_j],
            "reason": [f"недопустимый ответ (допустимы коды {scale_of[j].min}–{scale_of[j].max} или "
                       "их подписи); ответ не засчитан" for j in bad_j]}))
    items_df = pd.DataFrame(values, columns=[t.item_map[h] for h in item_cols], index=df.index)
    n_answered, n_form, straight = _outside_form(t, led, band, items_df, rid_safe)
    few = (n_form > 0) & (n_answered < min_share * n_form)
    led.exclude(few, lambda i: f"слишком много пропусков: отвечено на {n_answered[i]} из {n_form[i]} "
                               "заданий формы", "")
    keep = led.kept
    inst_for_year = {int(y): inst_for(int(y)).version for y in t.years.dropna().unique()}
    date = (pd.to_datetime(df[t.context["date"]], errors="coerce", dayfirst=True, format="mixed")
            if "date" in t.context else pd.Series(pd.NaT, index=df.index))
    acc = pd.DataFrame({
        "source_file": source, "source_row": led.rows, "respondent_id": rid.to_numpy(),
        "year": t.years.to_numpy(), "date": date.to_numpy(), "school_id": school.to_numpy(),
        "municipality_code": mo_code.to_numpy(), "municipality": mo_name.to_numpy(),
        "grade": grade.to_numpy(), "band": band.to_numpy(), "sex": sex.to_numpy(),
        "instrument_version": t.years.map(inst_for_year).to_numpy(), "n_answered": n_answered,
        "straightlining": straight})
    acc = pd.concat([acc, items_df.reset_index(drop=True)], axis=1).loc[keep].reset_index(drop=True)
    acc = acc.astype({"grade": int, "year": int, "instrument_version": int})
    exc = led.exclusions(source_file=source, respondent_id=rid_safe)
    exc = exc[["source_file", "source_row", "respondent_id", "column", "reason"]]
    iss = led.issues(["source_row", "respondent_id", "column", "value", "reason"], kept_only=False)
    iss.insert(0, "source_file", source)
    iss["source_row"] = iss["source_row"].astype("Int64")
    return acc, exc, iss
