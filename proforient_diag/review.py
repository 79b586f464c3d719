"""What a reading did, told to a person: per file, then row by row (file, row, column, reason).

The CLI's ``validate``, ``score`` and ``load`` print :func:`reading_report` of an
:class:`~proforient_diag.ingest.IngestResult` (answer sheets) or a
:class:`~proforient_diag.forms.MonitoringResult` (monitoring forms): a table of the files (name,
format, encoding, rows, accepted, excluded), the excluded rows and the cell notes of each file
with their row and column (the first :data:`SHOWN` of each; the full logs are what ``score``
writes), and a closing line with the totals. File names only — never a machine path.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .rows import file_of

__all__ = ["reading_report", "nothing_usable", "log_lines", "SHOWN"]

#: Rows of each log shown per file.
SHOWN = 40


def _name(label) -> str:
    label = str(label)
    base = file_of(label)
    return Path(base).name + label[len(base):]


def _where(r) -> str:
    parts = [_name(r.source_file)]
    row = getattr(r, "source_row", None)
    if row is not None and not pd.isna(row):
        parts.append(f"строка {int(row)}")
    col = getattr(r, "column", None)
    if isinstance(col, str) and col.strip():
        parts.append(f"столбец «{col}»")
    return ", ".join(parts)


def _files_table(files: pd.DataFrame) -> str:
    f = files.copy()
    f["file"] = f["file"].map(lambda p: Path(str(p)).name)
    cols = {"file": "Файл", "format": "Формат", "encoding": "Кодировка",
            **({"delimiter": "Разделитель"} if "delimiter" in f and
               f["delimiter"].astype(str).str.strip().any() else {}), "rows": "Строк",
            "accepted": "Принято", "excluded": "Исключено"}
    if "year" in f:
        cols = {"year": "Год", **cols}
        f["year"] = f["year"].astype(str)
    if "note" in f and f["note"].astype(str).str.strip().any():
        cols["note"] = "Примечание"
    return f[list(cols)].rename(columns=cols).to_string(index=False)


def log_lines(frame: pd.DataFrame, title: str, value: bool) -> list[str]:
    if not len(frame):
        return []
    out = [f"\n{title}:"]
    frame = frame.assign(_f=frame["source_file"].map(lambda s: Path(file_of(str(s))).name))
    for name, part in frame.groupby("_f", sort=False):
        for r in part.head(SHOWN).itertuples():
            text = f"  {_where(r)}: {r.reason}"
            v = getattr(r, "value", None) if value else None
            if isinstance(v, str) and v.strip():
                text += f" (значение: «{v[:80]}»)"
            out.append(text)
        if len(part) > SHOWN:
            out.append(f"  {name}: и ещё {len(part) - SHOWN} — полный журнал записывает команда score")
    return out


def reading_report(res, unit: str = "анкет") -> str:
    """The Russian account of a reading (see the module docstring)."""
    files, excl, iss = res.files, res.exclusions, res.issues
    accepted = len(res.responses) if hasattr(res, "responses") else len(res.forms)
    lines = [_files_table(files)] if len(files) else []
    lines += log_lines(excl, "Исключённые строки", value=False)
    lines += log_lines(iss, "Замечания к ячейкам и файлам", value=True)
    if len(excl):
        reasons = excl["reason"].astype(str).str.replace(r"\s*\(.*\)$|: отвечено.*$|;.*$", "",
                                                         regex=True)
        lines.append("\nПричины исключения:")
        lines += [f"  {c:>5}  {r}" for r, c in reasons.value_counts().items()]
    n_in = int(files["rows"].sum()) if len(files) else 0
    lines.append(f"\nСтрок во входных файлах: {n_in}; принято {unit}: {accepted}; исключено: "
                 f"{len(excl)}; замечаний: {len(iss)}.")
    return "\n".join(lines)


def nothing_usable(res) -> str:
    """Why nothing could be accepted: the files and what was wrong with each."""
    f = res.files
    why = []
    for r in f.itertuples():
        note = getattr(r, "note", "") or ""
        why.append(f"«{Path(str(r.file)).name}»" + (f" — {note}" if note else ""))
    return ("не принято ни одной строки: " + "; ".join(why) + ". Исправьте файлы по замечаниям "
            "выше и повторите." if why else "не найдено ни одного файла.")
