"""The tables the kit writes for people (CSV and XLSX): safe to open, free of machine paths.

* **Formulas neutralised.** A cell copied from an input that starts with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return would run as a formula when the file is opened in a
  spreadsheet (CSV injection, OWASP); such text gets a leading apostrophe, the spreadsheet
  convention for «this is text». Numbers — negative ones included — stay numbers.
* **No machine paths.** Source-file columns hold the file name (with « [sheet]» for a sheet of
  a workbook), never the absolute path of the analyst's computer.
* **Large tables stream.** Workbooks are written with openpyxl's write-only mode (memory does not
  grow with the rows); a table longer than a worksheet holds (:data:`XLSX_MAX_ROWS`) is written
  as CSV only, and the caller is told so.

Own code, and why: pandas writes formulas through as they are, and its XLSX writer holds the whole
workbook in memory.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["neutralise", "without_paths", "write_table", "XLSX_MAX_ROWS"]

#: Rows a worksheet holds (Excel: 1 048 576, one for the header).
XLSX_MAX_ROWS = 1_048_575
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^\s*[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?\s*$")
_SOURCE_COLUMNS = ("source_file", "file", "path")


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells cannot run as spreadsheet formulas."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
            continue
        text = s.astype(object)
        is_str = text.map(lambda v: isinstance(v, str))
        risky = is_str & text.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START)
                                  and not _NUMBER.match(v) and v.strip() not in ("-", "—"))
        if risky.any():
            out[c] = text.where(~risky, "'" + text.astype(str))
    return out


def without_paths(df: pd.DataFrame) -> pd.DataFrame:
    """Source-file columns reduced to the file name (and « [sheet]»)."""
    out = df.copy()
    for c in _SOURCE_COLUMNS:
        if c in out.columns and (pd.api.types.is_object_dtype(out[c])
                                 or pd.api.types.is_string_dtype(out[c])):
            out[c] = out[c].map(lambda v: _name_of(v) if isinstance(v, str) else v)
    return out


def _name_of(label: str) -> str:
    m = re.match(r"^(.*?)( \[[^\]]*\])?$", label)
    return Path(m.group(1)).name + (m.group(2) or "")


def write_table(df: pd.DataFrame, stem: Path, *, xlsx: bool = True) -> tuple[list[Path], str]:
    """Write ``stem.csv`` (UTF-8 with BOM, as Excel opens it) and ``stem.xlsx``.

    Returns the paths written and a Russian note (empty, or why there is no workbook).
    """
    stem.parent.mkdir(parents=True, exist_ok=True)
    plain = without_paths(df)
    for c in plain.columns:  # a workbook holds no categoricals
        if isinstance(plain[c].dtype, pd.CategoricalDtype):
            plain[c] = plain[c].astype(object)
    written = [stem.with_suffix(".csv")]
    neutralise(plain).to_csv(written[0], index=False, encoding="utf-8-sig")
    note = ""
    if xlsx and len(plain) > XLSX_MAX_ROWS:
        note = (f"«{stem.name}»: {len(plain)} строк — больше, чем помещается на листе Excel; "
                "записан только CSV")
    elif xlsx:
        written.append(_write_xlsx(plain, stem.with_suffix(".xlsx")))
    return written, note


def _write_xlsx(df: pd.DataFrame, path: Path) -> Path:
    """A streamed workbook; text that would start a formula is written as text (a string cell,
    shown as typed), never as a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Лист1")
    ws.append([str(c) for c in df.columns])
    for row in df.itertuples(index=False, name=None):
        cells = []
        for v in row:
            v = _xlsx_value(v)
            if isinstance(v, str) and v.startswith(_FORMULA_START):
                c = WriteOnlyCell(ws, value=v)
                c.data_type = "s"
                v = c
            cells.append(v)
        ws.append(cells)
    wb.save(path)
    return path


def _xlsx_value(v):
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().replace(tzinfo=None)
    if v is pd.NA:
        return None
    return v
