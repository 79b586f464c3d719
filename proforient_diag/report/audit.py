"""A privacy audit of the year's published set: nothing that identifies a student, within a note
or across the notes.

:func:`audit_notes` reads every table of every HTML note of a folder and reports cells that carry
an identifier (a participant code, a pseudonym, an e-mail, a phone), columns named like a direct
identifier, and student counts below the threshold that are shown rather than suppressed.

:func:`audit_publication` audits everything a year's run wrote — HTML, the text of DOCX and PDF,
CSV, XLSX and JSON (manifests) — for participant codes of the year's input files (when the data
folder is given) and their pattern, pseudonyms, e-mails, phone numbers, birth dates, people's
names, absolute machine paths, and for **groups recoverable across notes**: a municipality hidden
in the regional note whose count its own note publishes, or a single municipality whose count
follows from the regional total minus the counts the set publishes.
"""
from __future__ import annotations

import json
import re
import subprocess
from io import StringIO
from pathlib import Path

import pandas as pd

__all__ = ["audit_notes", "audit_publication", "published_text", "ID_PATTERNS", "TEXT_PATTERNS"]

ID_PATTERNS = {
    "код участника": re.compile(r"\bMO\d{2}-\d{3}-\d{4}[MF]\d{3}\b"),
    "псевдоним": re.compile(r"\bP[0-9a-f]{16}\b"),
    "e-mail": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "телефон": re.compile(r"(?:\+7|\b8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b"),
}
#: Patterns searched in every file of the published set, besides :data:`ID_PATTERNS`.
TEXT_PATTERNS = {
    "дата рождения": re.compile(r"\b\d{1,2}[./]\d{1,2}[./](?:200\d|201[0-7])\b"),
    "фамилия с инициалами": re.compile(r"\b[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s?[А-ЯЁ]\."),
    "путь на компьютере": re.compile(r"(?:/home/|/root/|/work/|/tmp/|/Users/|/mnt/|\b[A-Z]:\\\\)"),
}
_PII_HEADER = re.compile(r"(фио|фамили|^имя$|отчество|дата рождения|телефон|e-?mail|снилс|паспорт|"
                         r"respondent_id|код участника)", re.I)
_COUNT_HEADER = re.compile(r"(^n$|^n,|обучающихся$|^обучающихся|число обучающихся|участников|^анкет)",
                           re.I)
_COLUMNS = ["file", "table", "column", "row", "problem"]


def _number(text: str) -> float | None:
    s = str(text).replace("\u2009", "").replace("\u202f", "").replace("\u00a0", "")
    s = s.replace(" ", "").replace(",", ".").replace("\u2212", "-").rstrip("*°")
    try:
        return float(s)
    except ValueError:
        return None


def _tables(html: str) -> list[pd.DataFrame]:
    try:
        return pd.read_html(StringIO(html), flavor="lxml")
    except ValueError:  # no tables
        return []


def _columns(t: pd.DataFrame) -> list[str]:
    return [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in t.columns]


def audit_notes(folder: str | Path, *, threshold: int = 10) -> pd.DataFrame:
    """Scan ``folder/*.html``; return one row per problem (empty when the notes are clean).

    Columns: file, table, column, row, problem (Russian).
    """
    problems = []
    for path in sorted(Path(folder).glob("*.html")):
        if path.name == "index.html":
            continue
        html = path.read_text(encoding="utf-8")
        for kind, rx in ID_PATTERNS.items():
            for m in rx.finditer(re.sub(r"<[^>]+>", " ", html)):
                problems.append({"file": path.name, "table": None, "column": None, "row": None,
                                 "problem": f"в тексте найден {kind}: {m.group(0)}"})
        for t_i, t in enumerate(_tables(html), start=1):
            for j, c in enumerate(_columns(t)):
                if _PII_HEADER.search(c):
                    problems.append({"file": path.name, "table": t_i, "column": c, "row": None,
                                     "problem": "столбец с прямым идентификатором"})
                if _COUNT_HEADER.search(c.strip()):
                    for r_i, v in enumerate(t.iloc[:, j].tolist(), start=1):
                        x = _number(v)
                        if x is not None and 0 < x < threshold:
                            problems.append({"file": path.name, "table": t_i, "column": c, "row": r_i,
                                             "problem": f"группа из {int(x)} обучающихся не скрыта "
                                                        f"(порог {threshold})"})
    return pd.DataFrame(problems, columns=_COLUMNS)


# -- the whole set ------------------------------------------------------------------------------

def published_text(path: Path) -> str:
    """The text of a published file (HTML without tags, DOCX paragraphs and tables, PDF, CSV,
    XLSX cells, JSON)."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".csv", ".json", ".md", ".txt"):
        text = path.read_text(encoding="utf-8", errors="replace")
        return re.sub(r"<[^>]+>", " ", text) if suffix == ".html" else text
    if suffix == ".docx":
        import docx
        d = docx.Document(str(path))
        parts = [p.text for p in d.paragraphs]
        parts += [c.text for t in d.tables for r in t.rows for c in r.cells]
        return "\n".join(parts)
    if suffix == ".pdf":
        out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True)
        return out.stdout.decode("utf-8", errors="replace")
    if suffix == ".xlsx":
        import openpyxl
        wb = openpyxl.load_workbook(path, read_only=True)
        return "\n".join(str(v) for ws in wb.worksheets for r in ws.iter_rows(values_only=True)
                         for v in r if v is not None)
    return ""


def _input_codes(data_dir: Path | None, year: int | None) -> set[str]:
    if data_dir is None or year is None:
        return set()
    from ..datafolder import DataFolder
    from ..ingest import read_responses
    folder = DataFolder(data_dir)
    if not folder.has_diagnostics(year):
        return set()
    res = read_responses(folder.diagnostics_dir(year), year=year)
    codes = set(res.responses["respondent_id"].dropna().astype(str))
    return {c for c in codes if len(c) >= 6}   # short school numbers («1», «12») are not codes


def _municipal_counts(folder: Path) -> tuple[float | None, dict, dict]:
    """(the regional total, municipality → count in the regional note, municipality → count in
    its own note) from the coverage tables of the diagnostics notes."""
    from ..region import municipality_names

    codes = {name: code for code, name in municipality_names().items()}
    region_total, regional, own = None, {}, {}
    for path in sorted(folder.glob("diagnostics_*.html")):
        m = re.match(r"diagnostics_(\d{4})(?:_(MO\d{2}))?\.html$", path.name)
        if not m:
            continue
        for t in _tables(path.read_text(encoding="utf-8")):
            cols = _columns(t)
            if m.group(2) is None and "Муниципальное образование" in cols and "Анкет" in cols:
                for name, n in zip(t["Муниципальное образование"], t["Анкет"]):
                    code = codes.get(str(name).rstrip("*° "))
                    if code:
                        regional[code] = _number(n)
            if "Параллель" in cols and "Обучающихся (анкет)" in cols:
                tot = t[t["Параллель"].astype(str) == "Всего"]["Обучающихся (анкет)"]
                if len(tot):
                    if m.group(2) is None:
                        region_total = _number(tot.iat[0])
                    else:
                        own[m.group(2)] = _number(tot.iat[0])
    return region_total, regional, own


def _recoverable(folder: Path, threshold: int) -> list[dict]:
    total, regional, own = _municipal_counts(folder)
    out = []
    hidden = [m for m, n in regional.items() if n is None]
    for m in hidden:
        if own.get(m) is not None:
            out.append({"file": f"diagnostics_*_{m}.html", "table": None, "column": None, "row": None,
                        "problem": f"муниципалитет {m} скрыт в региональной справке, а его справка "
                                   f"публикует число обучающихся ({int(own[m])})"})
    unknown = [m for m in hidden if own.get(m) is None]
    if total is not None and len(unknown) == 1:
        rest = total - sum(n for n in regional.values() if n is not None) - \
            sum(own[m] for m in hidden if own.get(m) is not None)
        if 0 < rest < threshold:
            out.append({"file": "набор справок", "table": None, "column": None, "row": None,
                        "problem": f"число обучающихся муниципалитета {unknown[0]} ({int(rest)}) "
                                   "восстанавливается вычитанием из итога региона"})
    return out


def audit_publication(folder: str | Path, *, threshold: int = 10, data_dir: str | Path | None = None,
                      year: int | None = None) -> pd.DataFrame:
    """Audit every file a year's run wrote under ``folder`` (see the module docstring).

    Returns one row per problem (empty when the set is clean): file, table, column, row, problem.
    """
    folder = Path(folder)
    problems = audit_notes(folder, threshold=threshold).to_dict("records")
    codes = _input_codes(Path(data_dir) if data_dir else None, year)
    patterns = {**ID_PATTERNS, **TEXT_PATTERNS}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = published_text(path)
        if path.suffix == ".json":
            try:
                text = json.dumps(json.loads(text), ensure_ascii=False)
            except ValueError:
                pass
        for kind, rx in patterns.items():
            for hit in sorted(set(rx.findall(text)))[:5]:
                problems.append({"file": path.name, "table": None, "column": None, "row": None,
                                 "problem": f"найден(а) {kind}: «{hit}»"})
        found = codes & set(re.findall(r"[\w\-]+", text)) if codes else set()
        if found:
            problems.append({"file": path.name, "table": None, "column": None, "row": None,
                             "problem": f"найдены коды участников из входных файлов ({len(found)})"})
    problems += _recoverable(folder, threshold)
    return pd.DataFrame(problems, columns=_COLUMNS).drop_duplicates().reset_index(drop=True)
