"""A privacy audit of published notes: no identifiers, no unsuppressed small groups.

Reads every table of every HTML note in a folder (the DOCX and PDF come from the same HTML) and
reports, as a tidy DataFrame, each cell that carries an identifier (a respondent code as schools
assign them, a pseudonym, an e-mail, a phone number), each column named like a direct identifier,
and each student count below the threshold that is shown rather than suppressed («—»).
"""
from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pandas as pd

__all__ = ["audit_notes", "ID_PATTERNS"]

ID_PATTERNS = {
    "код участника": re.compile(r"\bMO\d{2}-\d{3}-\d{4}[MF]\d{3}\b"),
    "псевдоним": re.compile(r"\bP[0-9a-f]{16}\b"),
    "e-mail": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "телефон": re.compile(r"(?:\+7|\b8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}\b"),
}
_PII_HEADER = re.compile(r"(фио|фамили|^имя$|отчество|дата рождения|телефон|e-?mail|снилс|паспорт|"
                         r"respondent_id|код участника)", re.I)
_COUNT_HEADER = re.compile(r"(^n$|^n,|обучающихся$|^обучающихся|число обучающихся|участников)", re.I)


def _number(text: str) -> float | None:
    s = str(text).replace("\u2009", "").replace("\u00a0", "").replace(" ", "").replace(",", ".")
    s = s.replace("\u2212", "-").rstrip("*")
    try:
        return float(s)
    except ValueError:
        return None


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
        try:
            tables = pd.read_html(StringIO(html), flavor="lxml")
        except ValueError:  # no tables
            tables = []
        for t_i, t in enumerate(tables, start=1):
            cols = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in t.columns]
            for j, c in enumerate(cols):
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
    return pd.DataFrame(problems, columns=["file", "table", "column", "row", "problem"])
