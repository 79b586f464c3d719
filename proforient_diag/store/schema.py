"""The store's schema: its tables, the two kinds of file it loads, and the report of a load."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from ..fmt import plural

__all__ = ["SCHEMA_VERSION", "STATUS_ADDED", "STATUS_UNCHANGED", "STATUS_REPLACED", "SCHEMA",
           "Kind", "WAVES", "FORMS", "LoadReport", "quote", "as_list", "KEY_CHECK_TEXT",
           "CONTEXT_COLUMNS"]

#: 2: pseudonyms of school + code (1: of the code alone, which merged two schools' «1, 2, 3 …»).
SCHEMA_VERSION = "2"
STATUS_ADDED = "добавлен"
STATUS_UNCHANGED = "без изменений"
STATUS_REPLACED = "заменён"
KEY_CHECK_TEXT = "proforient-diag store key check"

#: Fixed columns of the data tables (name → DuckDB type), in output order.
CONTEXT_COLUMNS = {
    "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR", "source_row": "INTEGER",
    "respondent_pid": "VARCHAR", "date": "TIMESTAMP", "school_id": "VARCHAR",
    "municipality_code": "VARCHAR", "municipality": "VARCHAR", "grade": "SMALLINT",
    "band": "VARCHAR", "sex": "VARCHAR", "instrument_version": "INTEGER",
}
_LOG = {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR",
        "source_row": "INTEGER", "respondent_pid": "VARCHAR", "column": "VARCHAR"}
_LOADS = {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "path": "VARCHAR",
          "sha256": "VARCHAR", "format": "VARCHAR", "encoding": "VARCHAR", "rows": "BIGINT",
          "accepted": "BIGINT", "excluded": "BIGINT", "issues": "BIGINT", "loaded_at": "TIMESTAMP"}
_FORM_LOG = {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR",
             "source_row": "INTEGER", "school_id": "VARCHAR", "column": "VARCHAR"}
SCHEMA: dict[str, dict[str, str]] = {
    "meta": {"name": "VARCHAR", "value": "VARCHAR"},
    "loads": {**_LOADS, "instrument": "VARCHAR", "instrument_version": "INTEGER",
              "status": "VARCHAR", "current": "BOOLEAN", "replaced_by": "BIGINT"},
    "responses": {"row_id": "BIGINT", "load_id": "BIGINT", **CONTEXT_COLUMNS,
                  "n_answered": "SMALLINT", "straightlining": "BOOLEAN"},
    "answers": {"year": "INTEGER", "row_id": "BIGINT", "item": "VARCHAR", "value": "SMALLINT"},
    "items": {"instrument": "VARCHAR", "instrument_version": "INTEGER", "position": "INTEGER",
              "item": "VARCHAR"},
    "levels": {"instrument": "VARCHAR", "instrument_version": "INTEGER", "position": "INTEGER",
               "label": "VARCHAR"},
    "scores": {"row_id": "BIGINT", "load_id": "BIGINT", **CONTEXT_COLUMNS},
    "exclusions": {**_LOG, "reason": "VARCHAR"},
    "issues": {**_LOG, "value": "VARCHAR", "reason": "VARCHAR"},
    "score_missing": {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR",
                      "sheet": "VARCHAR", "source_row": "INTEGER", "respondent_pid": "VARCHAR",
                      "scale": "VARCHAR", "reason": "VARCHAR"},
    "form_loads": {**_LOADS, "spec": "VARCHAR", "register_sha256": "VARCHAR",
                   "status": "VARCHAR", "current": "BOOLEAN", "replaced_by": "BIGINT"},
    "forms": {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR",
              "source_row": "INTEGER", "school_id": "VARCHAR", "municipality_code": "VARCHAR",
              "municipality": "VARCHAR", "n_students_form": "DOUBLE", "n_students": "DOUBLE"},
    "form_exclusions": {**_FORM_LOG, "reason": "VARCHAR"},
    "form_issues": {**_FORM_LOG, "value": "VARCHAR", "reason": "VARCHAR"},
}


@dataclass(frozen=True)
class Kind:
    """The tables and rules of one kind of file (answer sheets or monitoring forms)."""

    loads: str                      # the load history table
    rows: str                       # the table of accepted records
    tables: tuple                   # tables holding rows of a loaded file
    id_col: str                     # the unit's column in the exclusions
    key_sql: str                    # one record per unit and year: its key in SQL …
    key: Callable[[pd.DataFrame], pd.Series]    # … and on a frame
    reason: Callable[[int, str, int], str]      # why a record already stored is excluded


WAVES = Kind(
    "loads", "responses", ("responses", "scores", "exclusions", "issues", "score_missing"),
    "respondent_id", "school_id || '/' || respondent_pid",
    lambda f: f["school_id"].astype(str) + "/" + f["respondent_pid"].astype(str),
    lambda y, f, r: f"повторная анкета участника (первая принята ранее: {f}, строка {int(r)})")
FORMS = Kind(
    "form_loads", "forms", ("forms", "form_exclusions", "form_issues"), "school_id", "school_id",
    lambda f: f["school_id"].astype(str),
    lambda y, f, r: (f"повторная форма ОО за {y} год (принята ранее: {f}, строка {int(r)}); "
                     "оставьте в файлах одну форму"))


def quote(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def as_list(x) -> list | None:
    if x is None:
        return None
    if isinstance(x, (str, int, np.integer)):
        return [x]
    return list(x)




@dataclass(frozen=True)
class LoadReport:
    """What one :meth:`Store.load` or :meth:`Store.load_forms` did, file by file.

    Attributes
    ----------
    year : int
        The survey year loaded.
    load_id : int or None
        The id of this load in ``loads`` (None when nothing was written).
    files : DataFrame
        One row per input file: file (name), path, status («добавлен», «без изменений»,
        «заменён»), sha256, rows, accepted, excluded, issues, previous_accepted (the accepted rows
        of the replaced version, for «заменён»), note.
    kind : {"diagnostics", "monitoring"}
        Answer sheets (:meth:`Store.load`) or monitoring forms (:meth:`Store.load_forms`).
    """

    year: int
    load_id: int | None
    files: pd.DataFrame
    kind: str = "diagnostics"

    @property
    def changed(self) -> bool:
        """Whether the store was written to."""
        return bool((self.files["status"] != STATUS_UNCHANGED).any())

    def to_frame(self) -> pd.DataFrame:
        return self.files

    def summary(self) -> str:
        """A short Russian account of the load."""
        f = self.files
        parts = []
        for status, (one, few, many) in ((STATUS_ADDED, ("файл добавлен", "файла добавлено",
                                                         "файлов добавлено")),
                                         (STATUS_REPLACED, ("файл заменён", "файла заменено",
                                                            "файлов заменено")),
                                         (STATUS_UNCHANGED, ("файл без изменений",
                                                             "файла без изменений",
                                                             "файлов без изменений"))):
            n = int((f["status"] == status).sum())
            if n:
                parts.append(f"{n} {plural(n, one, few, many)}")
        what = "форм мониторинга " if self.kind == "monitoring" else ""
        head = (f"Загрузка {what}{self.year} года: " + (", ".join(parts) if parts else "нет файлов")
                + ".")
        written = f[f["status"] != STATUS_UNCHANGED]
        if not len(written):
            return head + " Хранилище не изменилось."
        acc, exc = int(written["accepted"].sum()), int(written["excluded"].sum())
        unit = "форм" if self.kind == "monitoring" else "анкет"
        return (head + f" Принято {unit}: {acc}, исключено: {exc}"
                f" (загрузка № {self.load_id}).")
