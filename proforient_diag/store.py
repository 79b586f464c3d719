"""The multi-year store: one embedded DuckDB file with every loaded wave, its scores and logs.

A wave is loaded file by file with :meth:`Store.load`: the files are read with
:func:`proforient_diag.ingest.read_responses`, scored with :func:`proforient_diag.scoring.score`
(per instrument version), the respondent ids are replaced by keyed pseudonyms
(:func:`proforient_diag.privacy.pseudonymise`), and everything is written in **one transaction**.
A failure anywhere — an unreadable file among good ones, an exception while scoring or writing —
rolls the transaction back and leaves the store exactly as it was.

Files are identified within a year by their **name** (the last path component), so the same export
copied to another folder is still the same file:

* same name, same SHA-256 (or the same content already loaded under another name of the year) →
  «без изменений»: nothing is read or written;
* same name, new SHA-256 (a corrected export) → «заменён»: the file's rows in every table are
  deleted and the new ones inserted, in the same transaction; the previous entry of ``loads``
  stays as history (``current = false``, ``replaced_by`` = the new load);
* a new name → «добавлен».

One respondent, one answer sheet per year: ``read_responses`` keeps the first sheet of a respondent
among the files it reads together; the store extends that rule across loads (a respondent already
stored for the year from another file is moved to ``exclusions`` with the reason), so
``rows = accepted + excluded`` holds per file in ``loads`` as in ingest.

Privacy (152-ФЗ, Приказ Роскомнадзора № 140): the store never holds an original respondent id.
Ids are pseudonymised with the keyed HMAC-SHA256 of :mod:`proforient_diag.privacy` before anything
is written — in responses, scores, exclusions, issues and the score-missing log alike. The key
comes from the caller (:func:`proforient_diag.privacy.load_key` reads a key file or the
``PROFORIENT_KEY`` environment variable) and is never stored. The store keeps only a *key check*:
the pseudonym of a fixed public string under the key, so that a load with a different key (which
would silently break cohort tracking across years) is refused. Like every pseudonym, it reveals
nothing about the key without the key.

Tables
------
``meta``           schema version, key check, creation time.
``loads``          one row per file version loaded: load_id, year, file, path, sha256, format,
                   encoding, rows, accepted, excluded, issues, loaded_at, instrument,
                   instrument_version, status («добавлен» / «заменён»), current, replaced_by.
``responses``      one row per accepted answer sheet: row_id, load_id, year, file, sheet,
                   source_row, respondent_pid, date, school_id, municipality_code, municipality,
                   grade, band, sex, instrument_version, n_answered, straightlining.
``answers``        the item answers in **long form**: year, row_id, item, value (one row per
                   answered item; no row for a missing answer).
``items``          the item order of each instrument version (instrument, instrument_version,
                   position, item), used to widen ``answers`` back in the instrument's order.
``levels``         the level labels of each version in order (for an ordered ``level`` column).
``scores``         ``ScoreResult.scores`` with ``respondent_pid`` instead of ``respondent_id`` and
                   ``file``/``sheet`` instead of ``source_file``; a score column first produced by a
                   new version (a new scale, standard scores from new norms) is added to the table
                   inside the loading transaction.
``exclusions``     rows not accepted: load_id, year, file, sheet, source_row, respondent_pid,
                   column, reason.
``issues``         cell-level corrections and file notes: as exclusions plus ``value``.
``score_missing``  why a scale or the total was not computed (``ScoreResult.missing``).

Monitoring forms (:meth:`Store.load_forms`)
-------------------------------------------
The roadmap monitoring forms (one per school and year, read with
:func:`proforient_diag.monitoring.read_forms`) live beside the waves, in four tables of their own:

``form_loads``       one row per form file version loaded: load_id, year, file, path, sha256,
                     format, encoding, rows, accepted, excluded, issues, loaded_at, spec (the spec
                     file), register_sha256, status, current, replaced_by.
``forms``            one row per school and year: load_id, year, file, sheet, source_row,
                     school_id, municipality_code, municipality, n_students_form, n_students, then
                     one DOUBLE column per form measure of the spec (counts and percentages as
                     numbers, yes/no as 1/0, NULL = empty or rejected cell; the derived 4.3 total
                     too). A measure first produced by a new spec version is added to the table
                     inside the loading transaction, as score columns are.
``form_exclusions``  rows not accepted: load_id, year, file, sheet, source_row, school_id, column,
                     reason.
``form_issues``      rejected or doubtful cells: as form_exclusions plus ``value``.

Why a parallel ``form_loads`` rather than a shared ``loads`` with a kind column: the two kinds of
file have different provenance (an instrument version vs a form spec and a school register), the
diagnostics readers (:meth:`Store.years`, :meth:`Store.loads`, the cache check of
:func:`proforient_diag.diagnostics.load_waves`, which compares ``loads`` with the files of a year's
folder) keep their meaning unchanged, file names are matched within one kind only, and a store
made before the forms existed gains the new tables with ``CREATE TABLE IF NOT EXISTS`` — no
migration of ``loads`` and no new schema version. The guarantees are the same as for the waves:
one transaction per load, «без изменений» / «заменён» / «добавлен» by file name and SHA-256,
rollback on any failure. Rows depend on the school register and the enrolment as well as on the
file (a school missing from the register is excluded; the official number of students replaces the
form's), so a file is also re-read («заменён», with a note) when ``register_sha256`` — a digest of
the spec, the register's school codes and municipalities, and the year's enrolment — has changed.

The forms carry school codes, not personal data: nothing is pseudonymised, and nothing about a
person is stored (the form has no such column; columns the spec does not know are never read, so a
«ФИО ответственного» added by a school does not reach the store; the text of a rejected cell is
kept in ``form_issues.value`` unless it is shaped like a person's name — «Иванова М. П.» written
into a yes/no cell — which is replaced by a note to look at the cell in the file).

One form per school and year:
``read_forms`` keeps the first form of a school-year among the files it reads together, and the
store extends the rule across loads (a school-year already stored from another file is moved to
``form_exclusions``), so ``rows = accepted + excluded`` holds per file in ``form_loads``. A row
whose «Год» differs from the year being loaded is excluded too (each year's forms are replaced as a
whole by file name within the year).

Why the answers are long and the scores wide
--------------------------------------------
The instrument is versioned (2018, 2021, 2024, 2026, …) and every version adds, drops or splits
items, with four band forms each. A wide answers table would need a column for every item ever
used — mostly empty in any given year — and an ``ALTER TABLE`` with every version; the long form
has a schema that never changes, keeps an anchor item one item across versions, stores no missing
answers, and turns the item-level sufficient statistics the psychometrics start from (counts per
item × code × year × group) into one ``GROUP BY`` inside DuckDB. The readers widen it back
(:meth:`Store.responses`) with one vectorised scatter into a matrix. Scores are read far more often
than written, their columns are few and stable within a version, and analyses want them side by
side, so they stay wide.

Own numerics: none. DuckDB does the storage, filtering and transactions; pandas and numpy reshape.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from . import ingest as _ingest
from . import scoring as _scoring
from .errors import DataError, DiagError, InputFileError, StoreError
from .instrument import load_instrument

__all__ = ["Store", "LoadReport", "StoreLockedError", "STATUS_ADDED", "STATUS_UNCHANGED",
           "STATUS_REPLACED", "SCHEMA_VERSION", "cache_store_path", "with_store"]

SCHEMA_VERSION = "1"
STATUS_ADDED = "добавлен"
STATUS_UNCHANGED = "без изменений"
STATUS_REPLACED = "заменён"
_KEY_CHECK_TEXT = "proforient-diag store key check"
_EMPTY = {"", "nan", "none", "null", "n/a", "na", "#н/д", "-", "—"}

#: Fixed columns of the data tables (name → DuckDB type), in output order.
_CTX = {
    "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR", "source_row": "INTEGER",
    "respondent_pid": "VARCHAR", "date": "TIMESTAMP", "school_id": "VARCHAR",
    "municipality_code": "VARCHAR", "municipality": "VARCHAR", "grade": "SMALLINT",
    "band": "VARCHAR", "sex": "VARCHAR", "instrument_version": "INTEGER",
}
_LOG = {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR",
        "source_row": "INTEGER", "respondent_pid": "VARCHAR", "column": "VARCHAR"}
_SCHEMA: dict[str, dict[str, str]] = {
    "meta": {"name": "VARCHAR", "value": "VARCHAR"},
    "loads": {
        "load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "path": "VARCHAR",
        "sha256": "VARCHAR", "format": "VARCHAR", "encoding": "VARCHAR", "rows": "BIGINT",
        "accepted": "BIGINT", "excluded": "BIGINT", "issues": "BIGINT", "loaded_at": "TIMESTAMP",
        "instrument": "VARCHAR", "instrument_version": "INTEGER", "status": "VARCHAR",
        "current": "BOOLEAN", "replaced_by": "BIGINT"},
    "responses": {"row_id": "BIGINT", "load_id": "BIGINT", **_CTX,
                  "n_answered": "SMALLINT", "straightlining": "BOOLEAN"},
    "answers": {"year": "INTEGER", "row_id": "BIGINT", "item": "VARCHAR", "value": "SMALLINT"},
    "items": {"instrument": "VARCHAR", "instrument_version": "INTEGER", "position": "INTEGER",
              "item": "VARCHAR"},
    "levels": {"instrument": "VARCHAR", "instrument_version": "INTEGER", "position": "INTEGER",
               "label": "VARCHAR"},
    "scores": {"row_id": "BIGINT", "load_id": "BIGINT", **_CTX},
    "exclusions": {**_LOG, "reason": "VARCHAR"},
    "issues": {**_LOG, "value": "VARCHAR", "reason": "VARCHAR"},
    "score_missing": {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR",
                      "sheet": "VARCHAR", "source_row": "INTEGER", "respondent_pid": "VARCHAR",
                      "scale": "VARCHAR", "reason": "VARCHAR"},
    "form_loads": {
        "load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "path": "VARCHAR",
        "sha256": "VARCHAR", "format": "VARCHAR", "encoding": "VARCHAR", "rows": "BIGINT",
        "accepted": "BIGINT", "excluded": "BIGINT", "issues": "BIGINT", "loaded_at": "TIMESTAMP",
        "spec": "VARCHAR", "register_sha256": "VARCHAR", "status": "VARCHAR",
        "current": "BOOLEAN", "replaced_by": "BIGINT"},
    "forms": {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR",
              "source_row": "INTEGER", "school_id": "VARCHAR", "municipality_code": "VARCHAR",
              "municipality": "VARCHAR", "n_students_form": "DOUBLE", "n_students": "DOUBLE"},
    "form_exclusions": {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR",
                        "sheet": "VARCHAR", "source_row": "INTEGER", "school_id": "VARCHAR",
                        "column": "VARCHAR", "reason": "VARCHAR"},
    "form_issues": {"load_id": "BIGINT", "year": "INTEGER", "file": "VARCHAR", "sheet": "VARCHAR",
                    "source_row": "INTEGER", "school_id": "VARCHAR", "column": "VARCHAR",
                    "value": "VARCHAR", "reason": "VARCHAR"},
}
#: Tables holding rows of a loaded file (deleted when the file is replaced).
_FILE_TABLES = ("responses", "scores", "exclusions", "issues", "score_missing")
#: Tables holding rows of a loaded form file.
_FORM_TABLES = ("forms", "form_exclusions", "form_issues")


class StoreLockedError(StoreError):
    """The store file is held for writing by another process (wait and retry, or use another)."""


def _q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def _as_list(x) -> list | None:
    if x is None:
        return None
    if isinstance(x, (str, int, np.integer)):
        return [x]
    return list(x)


def _locate(frame: pd.DataFrame, path_to_name: dict[str, str]) -> pd.DataFrame:
    """Add ``file`` (the name) and ``sheet`` from a ``source_file`` label "path" or "path [sheet]"."""
    src = frame["source_file"].astype(str)
    labels = src.unique()  # one label per file or sheet: map the few distinct ones
    base = {lb: _ingest._file_of(lb) for lb in labels}
    sheet = {lb: lb[len(base[lb]) + 2:-1] if lb != base[lb] else "" for lb in labels}
    return frame.assign(file=src.map({lb: path_to_name[b] for lb, b in base.items()}).to_numpy(),
                        sheet=src.map(sheet).to_numpy())


_NAME_LIKE = re.compile(
    r"^\s*[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?(?:\s+[А-ЯЁ][а-яё]+){1,2}\s*$"   # Фамилия Имя [Отчество]
    r"|[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s*[А-ЯЁ]\."                               # Фамилия И. О.
    r"|[А-ЯЁ]\.\s*[А-ЯЁ]\.\s*[А-ЯЁ][а-яё]+")                              # И. О. Фамилия
NAME_MASK = "похоже на ФИО — не сохранено, см. ячейку в файле"


def _mask_names(values: pd.Series) -> np.ndarray:
    """Cell texts of issues as strings, with anything shaped like a person's name masked.

    A school may write the responsible teacher's name into a yes/no cell; the cell is rejected
    and reported, but the name must not reach the store.
    """
    out = np.full(len(values), None, dtype=object)
    for i, (x, ok) in enumerate(zip(values.astype(object), values.notna().to_numpy())):
        if ok:  # few cells: the issues of a year's forms
            t = str(x)
            out[i] = NAME_MASK if _NAME_LIKE.search(t) else t
    return out


def _register_digest(year: int, schools: pd.DataFrame, enrolment: pd.DataFrame | None,
                     spec) -> str:
    """SHA-256 of what besides a form file decides its stored rows.

    The spec (its parsed YAML), the register's school codes with their municipalities, and the
    year's enrolment (school, number of students); order of rows and extra columns do not matter.
    """
    h = hashlib.sha256()
    h.update(json.dumps(spec.raw, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
    reg = (schools[["school_id", "municipality_code"]].astype(str)
           .drop_duplicates("school_id").sort_values("school_id"))
    h.update(b"\x00schools\x00" + reg.to_csv(index=False).encode("utf-8"))
    if enrolment is not None:
        e = enrolment[enrolment["year"].astype(int) == int(year)]
        e = (e.assign(school_id=e["school_id"].astype(str)).groupby("school_id")["n_students"]
             .sum().sort_index())
        h.update(b"\x00enrolment\x00" + e.to_csv().encode("utf-8"))
    return h.hexdigest()


def _plural(n: int, one: str, few: str, many: str) -> str:
    n10, n100 = n % 10, n % 100
    if n10 == 1 and n100 != 11:
        return one
    if 2 <= n10 <= 4 and not 12 <= n100 <= 14:
        return few
    return many


# --------------------------------------------------------------------------- the report

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
                parts.append(f"{n} {_plural(n, one, few, many)}")
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


# --------------------------------------------------------------------------- the store

class Store:
    """The multi-year store, an embedded DuckDB file.

    Parameters
    ----------
    path : str or Path
        The database file; created (with its folder) if it does not exist.
    read_only : bool, default False
        Open for reading only (several processes may read at once; only one may write).

    Examples
    --------
    >>> from proforient_diag.privacy import load_key
    >>> with Store("store/proforient.duckdb") as st:              # doctest: +SKIP
    ...     rep = st.load(2026, "data/2026", key=load_key("~/school.key"))
    ...     print(rep.summary())
    ...     sc = st.scores(years=[2025, 2026], municipality="MO01")
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        import duckdb

        self.path = Path(path).expanduser()
        self.read_only = read_only
        if read_only and not self.path.is_file():
            raise StoreError("хранилище не найдено; проверьте путь или создайте его загрузкой "
                             "данных.", file=self.path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLockedError("хранилище открыто для записи другим процессом; закройте его "
                                 "там и повторите.", file=self.path) from None
            raise StoreError(f"файл не открывается как хранилище DuckDB ({str(exc).splitlines()[0]}).",
                             file=self.path) from None
        except duckdb.ConnectionException:
            raise StoreError("хранилище уже открыто в этой программе с другими настройками "
                             "(чтение/запись); закройте прежний Store и откройте снова.",
                             file=self.path) from None
        except duckdb.Error as exc:
            raise StoreError(f"файл не открывается как хранилище DuckDB ({exc.__class__.__name__}).",
                             file=self.path) from None
        if not read_only:
            self._create_schema()
        self._check_schema()

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (checkpointing it)."""
        con, self._con = getattr(self, "_con", None), None
        if con is not None:
            con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "закрыто" if self._con is None else ("только чтение" if self.read_only else "открыто")
        return f"Store({str(self.path)!r}, {state})"

    @property
    def con(self):
        """The DuckDB connection, for one's own SQL (read it; write only through the loaders)."""
        if self._con is None:
            raise StoreError("хранилище закрыто; откройте его снова.", file=self.path)
        return self._con

    def _create_schema(self) -> None:
        con = self.con
        for table, cols in _SCHEMA.items():
            body = ", ".join(f"{_q(c)} {t}" for c, t in cols.items())
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
        if not con.execute("SELECT count(*) FROM meta WHERE name = 'schema_version'").fetchone()[0]:
            con.execute("INSERT INTO meta VALUES ('schema_version', ?), ('created_at', ?)",
                        [SCHEMA_VERSION, _dt.datetime.now().isoformat(timespec="seconds")])

    def _check_schema(self) -> None:
        try:
            row = self.con.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        except Exception:  # duckdb.CatalogException: not a store
            row = None
        if row is None:
            raise StoreError("это не хранилище proforient-diag (нет таблицы meta со схемой).",
                             file=self.path)
        if row[0] != SCHEMA_VERSION:
            raise StoreError(f"схема хранилища версии {row[0]}, а программа работает со схемой "
                             f"{SCHEMA_VERSION}; обновите proforient-diag.", file=self.path)

    def _meta(self, name: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE name = ?", [name]).fetchone()
        return None if row is None else row[0]

    # -- loading ----------------------------------------------------------------------------

    def load(self, year: int, paths: str | Path | Iterable[str | Path], *,
             key: bytes | str | None, instrument: str | Path = "psd") -> LoadReport:
        """Load a year's survey exports: read, score, pseudonymise and write in one transaction.

        Parameters
        ----------
        year : int
            The survey year of these files (passed to ``read_responses``).
        paths : path, folder or list of them
            Export files (CSV, XLSX, SAV, Parquet) or folders searched recursively.
        key : bytes or str or None
            The pseudonymisation key (at least 16 bytes), e.g. ``privacy.load_key(path)``;
            ``None`` reads it with :func:`proforient_diag.privacy.load_key` (the
            ``PROFORIENT_KEY`` environment variable). Never stored.
        instrument : str or Path, default "psd"
            Instrument id (the version in force in ``year`` is used) or a YAML path.

        Returns
        -------
        LoadReport
            Per file: «добавлен», «без изменений» or «заменён», with row counts.

        Raises
        ------
        InputFileError
            A file cannot be read (nothing is written).
        StoreError
            The store is read-only, the key differs from the store's key, two inputs share a
            file name, or the write failed (rolled back; the store is unchanged).
        PrivacyError
            No key was given and none is configured, or the key is too short.
        """
        from .privacy import load_key, pseudonymise

        if self.read_only:
            raise StoreError("хранилище открыто только для чтения; откройте его без read_only, "
                             "чтобы загрузить данные.", file=self.path)
        year = int(year)
        if key is None:
            key = load_key()
        check = pseudonymise(pd.Series([_KEY_CHECK_TEXT]), key).iat[0]
        stored_check = self._meta("key_check")
        if stored_check is not None and stored_check != check:
            raise StoreError("ключ псевдонимизации отличается от ключа, с которым заполнено "
                             "хранилище: псевдонимы разных лет стали бы несопоставимы. Укажите "
                             "прежний ключ.", file=self.path)

        files = self._input_files(paths)
        plan = self._plan(year, files)
        to_read = plan[plan["status"] != STATUS_UNCHANGED]
        if not len(to_read):
            return LoadReport(year, None, self._report_frame(year, plan))

        ing = _ingest.read_responses([Path(p) for p in to_read["path"]], instrument, year=year)
        path_to_name = {str(Path(p)): n for p, n in zip(to_read["path"], to_read["file"])}
        replaced = to_read.loc[to_read["status"] == STATUS_REPLACED, "file"].tolist()

        resp = ing.responses.reset_index(drop=True)
        exclusions = ing.exclusions.reset_index(drop=True)
        counts = ing.files.assign(file=ing.files["file"].map(path_to_name)).set_index("file")
        counts = counts[["format", "encoding", "rows", "accepted", "excluded"]].copy()
        if len(resp):
            resp["respondent_pid"] = pseudonymise(resp["respondent_id"], key).to_numpy()
            resp, dup_excl = self._cross_load_duplicates(year, resp, replaced, path_to_name)
            if len(dup_excl):
                exclusions = pd.concat([exclusions, dup_excl], ignore_index=True)
                moved = dup_excl["source_file"].map(lambda s: path_to_name[_ingest._file_of(s)])
                for name, c in moved.value_counts().items():
                    counts.loc[name, "accepted"] -= int(c)
                    counts.loc[name, "excluded"] += int(c)

        # scores per instrument version (the frame index is the local row number)
        versions = sorted(int(v) for v in resp["instrument_version"].unique()) if len(resp) else []
        is_path = isinstance(instrument, Path) or str(instrument).endswith((".yaml", ".yml"))
        insts = {v: (load_instrument(instrument) if is_path else
                     load_instrument(str(instrument), version=v)) for v in versions}
        score_parts, missing_parts = [], []
        for v in versions:
            sub = resp[resp["instrument_version"] == v]
            res = _scoring.score(sub, insts[v])
            score_parts.append(res.scores)
            missing_parts.append(res.missing)
        scores = pd.concat(score_parts) if score_parts else pd.DataFrame()
        missing = pd.concat(missing_parts, ignore_index=True) if missing_parts else pd.DataFrame(
            columns=["source_file", "source_row", "respondent_id", "scale", "reason"])

        # everything keyed by file name and pseudonym; original ids dropped here
        def where(frame: pd.DataFrame) -> pd.DataFrame:
            return _locate(frame, path_to_name)

        def pids(ids: pd.Series) -> np.ndarray:
            text = ids.astype(object).where(ids.notna(), "").astype(str).str.strip()
            ok = ~text.str.lower().isin(_EMPTY)
            out = np.full(len(ids), None, dtype=object)
            if ok.any():
                out[ok.to_numpy()] = pseudonymise(text[ok], key).to_numpy()
            return out

        tables: dict[str, pd.DataFrame] = {}
        if len(resp):
            r = where(resp)
            tables["responses"] = r.drop(columns=["source_file", "respondent_id"])
            item_cols = [c for c in resp.columns if c not in _SCHEMA["responses"]
                         and c not in ("source_file", "respondent_id", "respondent_pid")]
            x = resp[item_cols].to_numpy(dtype=float)
            rows_i, cols_j = np.nonzero(~np.isnan(x))
            tables["answers"] = pd.DataFrame({
                "year": year, "row_id": resp.index.to_numpy()[rows_i].astype(np.int64),
                "item": pd.Categorical.from_codes(cols_j, categories=item_cols),
                "value": x[rows_i, cols_j].astype(np.int16)})
            s = scores.drop(columns=["source_file", "respondent_id"], errors="ignore")
            s = s.assign(row_id=scores.index.to_numpy().astype(np.int64),
                         file=r.loc[scores.index, "file"].to_numpy(),
                         sheet=r.loc[scores.index, "sheet"].to_numpy(),
                         respondent_pid=resp.loc[scores.index, "respondent_pid"].to_numpy())
            s["level"] = s["level"].astype(object).where(s["level"].notna(), None)
            tables["scores"] = s
        for name, frame in (("exclusions", exclusions), ("issues", ing.issues),
                            ("score_missing", missing)):
            if len(frame):
                f = where(frame.reset_index(drop=True))
                f["respondent_pid"] = pids(f["respondent_id"])
                f = f.drop(columns=["respondent_id", "source_file"])
                f["year"] = year
                tables[name] = f

        issues_per_file = (tables["issues"]["file"].value_counts() if "issues" in tables
                           else pd.Series(dtype=int))
        counts["issues"] = issues_per_file.reindex(counts.index).fillna(0).astype(int)
        load_id = self._write(year, plan, counts, tables, replaced, insts, instrument, check)
        return LoadReport(year, load_id, self._report_frame(year, plan, counts))

    def load_forms(self, year: int, paths: str | Path | Iterable[str | Path], *,
                   schools: pd.DataFrame, enrolment: pd.DataFrame | None = None,
                   spec=None) -> LoadReport:
        """Load a year's roadmap monitoring forms: read, validate and write in one transaction.

        The files are read with :func:`proforient_diag.monitoring.read_forms` (every row
        accounted for); rows are keyed by file name within the year, as in :meth:`load`: the same
        file again is «без изменений» (nothing read), a corrected file under the same name is
        «заменён» (its rows in ``forms``, ``form_exclusions`` and ``form_issues`` deleted and the
        new ones inserted, the previous ``form_loads`` row kept as history), a new name is
        «добавлен». A file is also re-read when the register digest (spec, school register,
        the year's enrolment) differs from the one it was loaded with. Any failure — an unreadable
        file among good ones, an error while writing — leaves the store as it was.

        Parameters
        ----------
        year : int
            The monitoring year; rows whose «Год» is another year are excluded (with the reason).
            Forms without a «Год» column take this year.
        paths : path, folder or list of them
            Form files (XLSX/CSV); folders are searched recursively.
        schools : DataFrame
            The school register (school_id, municipality_code).
        enrolment : DataFrame, optional
            year, school_id, n_students: the official number of students (see ``read_forms``).
        spec : MonitoringSpec, optional
            Default :func:`proforient_diag.monitoring.load_monitoring_spec`.

        Returns
        -------
        LoadReport
            ``kind="monitoring"``; per file: status and rows, accepted, excluded, issues.

        Raises
        ------
        FormError, InputFileError
            A file cannot be read as a form (nothing is written).
        DataError
            The register lacks school_id or municipality_code.
        StoreError
            The store is read-only, two inputs share a file name, or the write failed (rolled
            back; the store is unchanged).
        """
        from . import monitoring as _mon

        if self.read_only:
            raise StoreError("хранилище открыто только для чтения; откройте его без read_only, "
                             "чтобы загрузить формы мониторинга.", file=self.path)
        year = int(year)
        spec = spec or _mon.load_monitoring_spec()
        for c in ("school_id", "municipality_code"):
            if c not in schools.columns:
                raise DataError(f"в справочнике школ нет столбца «{c}»; передайте таблицу "
                                "schools.csv.", column=c)
        files = self._input_files(paths, _mon._resolve)
        context = _register_digest(year, schools, enrolment, spec)
        plan = self._plan(year, files, "form_loads", context)
        to_read = plan[plan["status"] != STATUS_UNCHANGED]
        if not len(to_read):
            return LoadReport(year, None, self._report_frame(year, plan, table="form_loads"),
                              "monitoring")
        res = _mon.read_forms([Path(p) for p in to_read["path"]], schools=schools,
                              enrolment=enrolment, spec=spec, year=year)
        path_to_name = {str(Path(p)): n for p, n in zip(to_read["path"], to_read["file"])}
        replaced = to_read.loc[to_read["status"] == STATUS_REPLACED, "file"].tolist()
        counts = res.files.assign(file=res.files["file"].map(path_to_name)).set_index("file")
        counts = counts[["format", "encoding", "rows", "accepted", "excluded"]].copy()

        forms = _locate(res.forms, path_to_name)
        excl = _locate(res.exclusions, path_to_name) if len(res.exclusions) else None
        issues = _locate(res.issues, path_to_name) if len(res.issues) else None
        # rows that cannot stay: a form of another year; a school-year stored from another file
        other_year = forms["year"].to_numpy() != year
        have = self.con.execute(
            "SELECT school_id, file, source_row FROM forms WHERE year = ? AND NOT "
            "list_contains(?, file)", [year, replaced]).fetchdf().drop_duplicates("school_id")
        have = have.set_index("school_id")
        dup = forms["school_id"].isin(have.index).to_numpy() & ~other_year
        move = other_year | dup
        if move.any():
            m = forms.loc[move]
            first = have.reindex(m["school_id"])
            reason = np.where(
                other_year[move],
                [f"форма за {int(y)} год среди форм {year} года; перенесите её в файл своего года"
                 for y in m["year"]],
                ("повторная форма ОО за " + str(year) + " год (принята ранее: "
                 + first["file"].astype(str) + ", строка "
                 + first["source_row"].astype("Int64").astype(str)
                 + "); оставьте в файлах одну форму").to_numpy())
            moved = pd.DataFrame({
                "file": m["file"].to_numpy(), "sheet": m["sheet"].to_numpy(),
                "source_row": m["source_row"].to_numpy(), "school_id": m["school_id"].to_numpy(),
                "column": np.where(other_year[move], "Год", "school_id"), "reason": reason})
            excl = moved if excl is None else pd.concat([excl, moved], ignore_index=True)
            n = moved["file"].value_counts()
            counts["accepted"] -= n.reindex(counts.index).fillna(0).astype(int)
            counts["excluded"] += n.reindex(counts.index).fillna(0).astype(int)
            if issues is not None:
                gone = set(zip(moved["file"], moved["sheet"], moved["source_row"]))
                keep = [k not in gone for k in zip(issues["file"], issues["sheet"],
                                                   issues["source_row"])]
                issues = issues[keep]
            forms = forms.loc[~move]
        tables = {"forms": forms.drop(columns="source_file").reset_index(drop=True)}
        if excl is not None and len(excl):
            tables["form_exclusions"] = excl.drop(columns="source_file", errors="ignore").assign(
                year=year)
        if issues is not None and len(issues):
            tables["form_issues"] = issues.drop(columns="source_file").assign(
                year=year, value=_mask_names(issues["value"]))
        per_file = (tables["form_issues"]["file"].value_counts() if "form_issues" in tables
                    else pd.Series(dtype=int))
        counts["issues"] = per_file.reindex(counts.index).fillna(0).astype(int)
        load_id = self._write_forms(year, plan, counts, tables, replaced, context, spec.path)
        return LoadReport(year, load_id, self._report_frame(year, plan, counts, "form_loads"),
                          "monitoring")

    def remove_forms(self, year: int, files: str | Iterable[str]) -> int:
        """Remove the forms of files (by name) from a year, in one transaction.

        For a cache of a data folder from which a file was deleted. The rows of ``forms``,
        ``form_exclusions`` and ``form_issues`` go; the ``form_loads`` rows stay as history with
        ``current = false`` and no ``replaced_by``. Returns the number of files removed.
        """
        if self.read_only:
            raise StoreError("хранилище открыто только для чтения.", file=self.path)
        names = [Path(str(f)).name for f in _as_list(files)]
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            n = int(con.execute("SELECT count(*) FROM form_loads WHERE year = ? AND current AND "
                                "list_contains(?, file)", [int(year), names]).fetchone()[0])
            for t in _FORM_TABLES:
                con.execute(f"DELETE FROM {t} WHERE year = ? AND list_contains(?, file)",
                            [int(year), names])
            con.execute("UPDATE form_loads SET current = false WHERE year = ? AND current AND "
                        "list_contains(?, file)", [int(year), names])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return n

    def _write_forms(self, year, plan, counts, tables, replaced, context, spec_path) -> int:
        """All writes of one form load, in one transaction."""
        con = self.con
        now = _dt.datetime.now().replace(microsecond=0)
        con.execute("BEGIN TRANSACTION")
        try:
            load_id = int(con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM form_loads")
                          .fetchone()[0])
            for name in replaced:
                for t in _FORM_TABLES:
                    con.execute(f"DELETE FROM {t} WHERE year = ? AND file = ?", [year, name])
                con.execute("UPDATE form_loads SET current = false, replaced_by = ? WHERE year = ? "
                            "AND file = ? AND current", [load_id, year, name])
            written = plan[plan["status"] != STATUS_UNCHANGED]
            loads = pd.DataFrame({
                "load_id": load_id, "year": year, "file": written["file"].to_numpy(),
                "path": written["path"].to_numpy(), "sha256": written["sha256"].to_numpy(),
                "loaded_at": now, "spec": str(spec_path), "register_sha256": context,
                "status": written["status"].to_numpy(), "current": True, "replaced_by": None})
            self._insert("form_loads", loads.join(counts, on="file"))
            for name in _FORM_TABLES:
                if name not in tables:
                    continue
                frame = tables[name].assign(load_id=load_id)
                if name == "forms":
                    have = set(self._columns("forms"))
                    for c in frame.columns:
                        if c not in have:
                            con.execute(f"ALTER TABLE forms ADD COLUMN {_q(c)} DOUBLE")
                self._insert(name, frame)
            con.execute("COMMIT")
            return load_id
        except BaseException as exc:
            con.execute("ROLLBACK")
            if isinstance(exc, DiagError) or not isinstance(exc, Exception):
                raise
            raise StoreError(f"загрузка форм прервана ({exc.__class__.__name__}: "
                             f"{str(exc)[:200]}); хранилище оставлено без изменений.",
                             file=self.path) from exc

    @staticmethod
    def _input_files(paths, resolve=None) -> list[Path]:
        out = (resolve or _ingest.resolve_inputs)(paths)
        for p in out:
            if not p.is_file():
                raise InputFileError("файл не найден; проверьте путь.", file=p)
        names = pd.Series([p.name for p in out])
        clash = names[names.duplicated()]
        if len(clash):
            same = [str(p) for p in out if p.name == clash.iat[0]]
            raise StoreError(f"два входных файла с одинаковым именем ({', '.join(same)}): в "
                             "хранилище файл года определяется по имени; переименуйте один из них.",
                             file=clash.iat[0])
        return out

    def _plan(self, year: int, files: list[Path], table: str = "loads",
              context: str | None = None) -> pd.DataFrame:
        """Status of each input file against the current loads of the year.

        With ``context`` (the digest of what besides the file decides its rows), a stored file
        with the same SHA-256 but another context is re-read («заменён»).
        """
        ctx = "register_sha256" if context is not None else "NULL"
        cur = self.con.execute(
            f"SELECT file, sha256, accepted, {ctx} AS context FROM {table} WHERE year = ? AND "
            "current", [year]).fetchdf()
        if context is not None:
            same = cur["context"] == context
            by_sha = dict(zip(cur.loc[same, "sha256"], cur.loc[same, "file"]))
        else:
            same = pd.Series(True, index=cur.index)
            by_sha = dict(zip(cur["sha256"], cur["file"]))
        by_name = dict(zip(cur["file"], zip(cur["sha256"], cur["accepted"], same)))
        rows, seen = [], {}
        for p in files:
            sha = _ingest.sha256_file(p)
            prev = by_name.get(p.name)
            note, prev_acc = "", None
            if prev is not None and prev[0] == sha and prev[2]:
                status, note = STATUS_UNCHANGED, "файл уже загружен"
            elif prev is not None and prev[0] == sha:
                status, prev_acc = STATUS_REPLACED, int(prev[1])
                note = ("файл прежний, но изменились справочник школ, контингент или спецификация "
                        "формы: строки перечитаны")
            elif sha in by_sha:
                status = STATUS_UNCHANGED
                note = f"то же содержимое уже загружено как «{by_sha[sha]}»"
            elif sha in seen:
                status = STATUS_UNCHANGED
                note = f"то же содержимое, что у «{seen[sha]}» в этой загрузке"
            elif prev is not None:
                status, prev_acc = STATUS_REPLACED, int(prev[1])
                note = "исправленный файл: прежние строки заменены"
            else:
                status = STATUS_ADDED
            seen.setdefault(sha, p.name)
            rows.append({"file": p.name, "path": str(p), "status": status, "sha256": sha,
                         "previous_accepted": prev_acc, "note": note})
        return pd.DataFrame(rows)

    def _report_frame(self, year: int, plan: pd.DataFrame,
                      counts: pd.DataFrame | None = None, table: str = "loads") -> pd.DataFrame:
        f = plan.copy()
        stored = self.con.execute(
            f"SELECT file, rows, accepted, excluded, issues FROM {table} WHERE current AND "
            "year = ? AND list_contains(?, file)", [year, f["file"].tolist()]
        ).fetchdf().set_index("file")
        for c in ("rows", "accepted", "excluded", "issues"):
            vals = f["file"].map(stored[c]) if len(stored) else pd.Series(np.nan, index=f.index)
            if counts is not None:
                vals = f["file"].map(counts[c]).where(f["status"] != STATUS_UNCHANGED, vals)
            f[c] = pd.array(vals, dtype="Int64")
        f["previous_accepted"] = pd.array(f["previous_accepted"], dtype="Int64")
        return f[["file", "path", "status", "sha256", "rows", "accepted", "excluded", "issues",
                  "previous_accepted", "note"]]

    def _cross_load_duplicates(self, year, resp, replaced, path_to_name):
        """Move respondents already stored for the year (from other files) to exclusions."""
        # a duplicate is the same code in the same school (as in ingest: schools assign the codes)
        have = self.con.execute(
            "SELECT school_id || '/' || respondent_pid AS k, file, source_row FROM responses "
            "WHERE year = ? AND NOT list_contains(?, file)", [year, replaced]).fetchdf()
        if not len(have):
            return resp, pd.DataFrame()
        have = have.drop_duplicates("k").set_index("k")
        key = resp["school_id"].astype(str) + "/" + resp["respondent_pid"].astype(str)
        dup = key.isin(have.index).to_numpy()
        if not dup.any():
            return resp, pd.DataFrame()
        d = resp.loc[dup]
        first = have.loc[key[dup]]
        excl = pd.DataFrame({
            "source_file": d["source_file"].to_numpy(), "source_row": d["source_row"].to_numpy(),
            "respondent_id": d["respondent_id"].to_numpy(), "column": "respondent_id",
            "reason": ("повторная анкета участника (первая принята ранее: " + first["file"]
                       + ", строка " + first["source_row"].astype(str) + ")").to_numpy()})
        return resp.loc[~dup], excl

    def _write(self, year, plan, counts, tables, replaced, insts, instrument, key_check) -> int:
        """All writes of one load, in one transaction."""
        con = self.con
        now = _dt.datetime.now().replace(microsecond=0)
        inst_name = str(instrument)
        con.execute("BEGIN TRANSACTION")
        try:
            load_id = int(con.execute("SELECT coalesce(max(load_id), 0) + 1 FROM loads").fetchone()[0])
            base = int(con.execute("SELECT coalesce(max(row_id), 0) + 1 FROM responses").fetchone()[0])
            for name in replaced:
                for t in _FILE_TABLES:
                    if t == "responses":
                        con.execute("DELETE FROM answers WHERE year = ? AND row_id IN (SELECT row_id "
                                    "FROM responses WHERE year = ? AND file = ?)", [year, year, name])
                    con.execute(f"DELETE FROM {t} WHERE year = ? AND file = ?", [year, name])
                con.execute("UPDATE loads SET current = false, replaced_by = ? WHERE year = ? AND "
                            "file = ? AND current", [load_id, year, name])
            written = plan[plan["status"] != STATUS_UNCHANGED]
            version = max(insts) if insts else None
            loads = pd.DataFrame({
                "load_id": load_id, "year": year, "file": written["file"].to_numpy(),
                "path": written["path"].to_numpy(), "sha256": written["sha256"].to_numpy(),
                "loaded_at": now, "instrument": inst_name, "instrument_version": version,
                "status": written["status"].to_numpy(), "current": True, "replaced_by": None})
            loads = loads.join(counts, on="file")
            self._insert("loads", loads)
            for v, inst in insts.items():
                if not con.execute("SELECT count(*) FROM items WHERE instrument = ? AND "
                                   "instrument_version = ?", [inst_name, v]).fetchone()[0]:
                    self._insert("items", pd.DataFrame({
                        "instrument": inst_name, "instrument_version": v,
                        "position": np.arange(len(inst.item_ids)), "item": inst.item_ids}))
                    self._insert("levels", pd.DataFrame({
                        "instrument": inst_name, "instrument_version": v,
                        "position": np.arange(len(inst.levels.labels)),
                        "label": list(inst.levels.labels)}))
            for name in ("responses", "answers", "scores", "exclusions", "issues", "score_missing"):
                if name not in tables:
                    continue
                frame = tables[name].assign(load_id=load_id) if name != "answers" else tables[name]
                if name in ("responses", "scores"):
                    frame = frame.assign(row_id=frame.index.to_numpy().astype(np.int64) + base
                                         if name == "responses" else frame["row_id"] + base)
                elif name == "answers":
                    frame = frame.assign(row_id=frame["row_id"] + base)
                if name == "scores":
                    self._add_score_columns(frame)
                self._insert(name, frame)
            if self._meta("key_check") is None:
                con.execute("INSERT INTO meta VALUES ('key_check', ?)", [key_check])
            con.execute("COMMIT")
            return load_id
        except BaseException as exc:
            con.execute("ROLLBACK")
            if isinstance(exc, DiagError) or not isinstance(exc, Exception):
                raise
            raise StoreError(f"загрузка прервана ({exc.__class__.__name__}: {str(exc)[:200]}); "
                             "хранилище оставлено без изменений.", file=self.path) from exc

    def _add_score_columns(self, frame: pd.DataFrame) -> None:
        have = {r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'scores'").fetchall()}
        for c in frame.columns:
            if c in have:
                continue
            s = frame[c]
            if pd.api.types.is_bool_dtype(s):
                t = "BOOLEAN"
            elif pd.api.types.is_integer_dtype(s):
                t = "BIGINT"
            elif pd.api.types.is_numeric_dtype(s):
                t = "DOUBLE"
            else:
                t = "VARCHAR"
            self.con.execute(f"ALTER TABLE scores ADD COLUMN {_q(c)} {t}")

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        """Insert a frame by column name (columns the table lacks are an internal error)."""
        cols = [c for c in frame.columns if c in self._columns(table)]
        extra = set(frame.columns) - set(cols)
        if extra:
            frame = frame[cols]
        view = f"_pd_{table}"
        self.con.register(view, frame)
        try:
            self.con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def _columns(self, table: str) -> list[str]:
        return [r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall()]

    # -- readers ----------------------------------------------------------------------------

    def years(self) -> list[int]:
        """The years with data in the store."""
        return [int(r[0]) for r in self.con.execute(
            "SELECT DISTINCT year FROM loads WHERE current ORDER BY year").fetchall()]

    def loads(self, *, current: bool = False) -> pd.DataFrame:
        """The load history (``current=True``: only the file versions now in the store)."""
        sql = "SELECT * FROM loads" + (" WHERE current" if current else "")
        return self.con.execute(sql + " ORDER BY load_id, year, file").fetchdf()

    def table_counts(self) -> dict[str, int]:
        """Rows per table (a store opened read-only that predates the form tables lacks them)."""
        return {t: int(self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
                for t in _SCHEMA if self._has_table(t)}

    def _has_table(self, table: str) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                                     "table_name = ?", [table]).fetchone()[0])

    def _filter(self, years, municipality=None, school=None, file=None) -> tuple[str, list]:
        conds, params = [], []
        ys = _as_list(years)
        if ys is not None:
            conds.append("list_contains(?, year)")
            params.append([int(y) for y in ys])
        mos = _as_list(municipality)
        if mos is not None:
            conds.append("(list_contains(?, lower(municipality_code)) OR "
                         "list_contains(?, lower(municipality)))")
            low = [str(m).strip().lower() for m in mos]
            params += [low, low]
        sch = _as_list(school)
        if sch is not None:
            conds.append("list_contains(?, school_id)")
            params.append([str(s) for s in sch])
        fs = _as_list(file)
        if fs is not None:
            conds.append("list_contains(?, file)")
            params.append([Path(str(f)).name for f in fs])
        return (" WHERE " + " AND ".join(conds)) if conds else "", params

    def responses(self, years: int | Iterable[int] | None = None,
                  municipality: str | Iterable[str] | None = None, *,
                  school: str | Iterable[str] | None = None, items: bool = True) -> pd.DataFrame:
        """Accepted answer sheets, one row each, with the item columns widened back.

        Parameters
        ----------
        years : int or list of int, optional
            Years to read (default all).
        municipality : str or list, optional
            Municipality code (``MO01``) or name, case-insensitive.
        school : str or list, optional
            School ids.
        items : bool, default True
            Add one float column per item (NaN = no answer), in the instruments' item order.

        Returns
        -------
        DataFrame
            year, file, sheet, source_row, respondent_pid, date, school_id, municipality_code,
            municipality, grade, band, sex, instrument_version, n_answered, straightlining, then
            the items.
        """
        where, params = self._filter(years, municipality, school)
        ctx = ", ".join(_q(c) for c in [*_CTX, "n_answered", "straightlining"])
        df = self.con.execute(f"SELECT row_id, {ctx} FROM responses{where} "
                              "ORDER BY year, file, sheet, source_row", params).fetchdf()
        if items:
            ans = self.con.execute(
                f"SELECT a.row_id, a.item, a.value FROM answers a JOIN (SELECT row_id, year FROM "
                f"responses{where}) r ON a.row_id = r.row_id AND a.year = r.year", params).fetchdf()
            order = self._item_order(df["instrument_version"].unique() if len(df) else [])
            present = set(ans["item"].unique())
            cols = [i for i in order if i in present] + sorted(present - set(order))
            pos = pd.Index(df["row_id"]).get_indexer(ans["row_id"])
            col = pd.Index(cols).get_indexer(ans["item"])
            mat = np.full((len(df), len(cols)), np.nan)
            mat[pos, col] = ans["value"].to_numpy(dtype=float)
            df = pd.concat([df, pd.DataFrame(mat, columns=cols, index=df.index)], axis=1)
        df["grade"] = df["grade"].astype("int64")
        return df.drop(columns="row_id").reset_index(drop=True)

    def _item_order(self, versions) -> list[str]:
        vs = [int(v) for v in versions]
        rows = self.con.execute(
            "SELECT item, min(instrument_version * 100000 + position) AS o FROM items WHERE "
            "list_contains(?, instrument_version) GROUP BY item ORDER BY o", [vs]).fetchall()
        return [r[0] for r in rows]

    def scores(self, years: int | Iterable[int] | None = None,
               municipality: str | Iterable[str] | None = None, *,
               school: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Scores (as ``ScoreResult.scores``, with ``respondent_pid``) of the chosen rows.

        Score columns no selected row has (e.g. standard scores of versions without norms) are
        left out. ``level`` is an ordered categorical when the selected versions share their level
        labels.
        """
        where, params = self._filter(years, municipality, school)
        df = self.con.execute(f"SELECT * FROM scores{where} ORDER BY year, file, sheet, source_row",
                              params).fetchdf()
        fixed = set(_SCHEMA["scores"])
        empty = [c for c in df.columns if c not in fixed and df[c].isna().all() and len(df)]
        df = df.drop(columns=["row_id", "load_id", *empty])
        if "level" in df.columns:
            df["level"] = df["level"].astype(object)
            vs = sorted(int(v) for v in df["instrument_version"].unique())
            if vs:
                lv = self.con.execute(
                    "SELECT instrument_version, list(label ORDER BY position) FROM levels WHERE "
                    "list_contains(?, instrument_version) GROUP BY instrument_version", [vs]).fetchall()
                labels = {tuple(r[1]) for r in lv}
                if len(labels) == 1:
                    df["level"] = pd.Categorical(df["level"], categories=list(labels.pop()),
                                                 ordered=True)
        df["grade"] = df["grade"].astype("int64")
        return df.reset_index(drop=True)

    def exclusions(self, years: int | Iterable[int] | None = None, *,
                   file: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Rows not accepted (with pseudonyms), by year and file name."""
        where, params = self._filter(years, file=file)
        return self.con.execute(f"SELECT * EXCLUDE (load_id) FROM exclusions{where} ORDER BY year, "
                                "file, sheet, source_row", params).fetchdf()

    def issues(self, years: int | Iterable[int] | None = None, *,
               file: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Cell-level corrections and file notes (with pseudonyms), by year and file name."""
        where, params = self._filter(years, file=file)
        return self.con.execute(f"SELECT * EXCLUDE (load_id) FROM issues{where} ORDER BY year, "
                                "file, sheet, source_row NULLS FIRST", params).fetchdf()

    def score_missing(self, years: int | Iterable[int] | None = None, *,
                      file: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Why a scale or the total was not computed (with pseudonyms)."""
        where, params = self._filter(years, file=file)
        return self.con.execute(f"SELECT * EXCLUDE (load_id) FROM score_missing{where} ORDER BY "
                                "year, file, sheet, source_row", params).fetchdf()

    # -- monitoring forms ---------------------------------------------------------------------

    def form_loads(self, *, current: bool = False) -> pd.DataFrame:
        """The form load history (``current=True``: only the file versions now in the store)."""
        if not self._has_table("form_loads"):
            return pd.DataFrame(columns=list(_SCHEMA["form_loads"]))
        sql = "SELECT * FROM form_loads" + (" WHERE current" if current else "")
        return self.con.execute(sql + " ORDER BY load_id, year, file").fetchdf()

    def forms(self, years: int | Iterable[int] | None = None,
              municipality: str | Iterable[str] | None = None, *,
              school: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Accepted monitoring forms, one row per school and year.

        Parameters
        ----------
        years : int or list of int, optional
            Years to read (default all).
        municipality : str or list, optional
            Municipality code (``MO07``) or name, case-insensitive.
        school : str or list, optional
            School ids.

        Returns
        -------
        DataFrame
            year, file, sheet, source_row, school_id, municipality_code, municipality,
            n_students_form, n_students, then the measure columns (floats; NaN = empty or
            rejected cell), ordered by year and school — the rows and values of
            ``read_forms(...).forms``, with ``file``/``sheet`` instead of ``source_file``.
        """
        if not self._has_table("forms"):
            return pd.DataFrame(columns=[c for c in _SCHEMA["forms"] if c != "load_id"])
        where, params = self._filter(years, municipality, school)
        df = self.con.execute(f"SELECT * EXCLUDE (load_id) FROM forms{where} "
                              "ORDER BY year, school_id", params).fetchdf()
        return df.astype({"year": "int64", "source_row": "int64"}).reset_index(drop=True)

    def _form_log(self, table, years, file, school) -> pd.DataFrame:
        if not self._has_table(table):
            return pd.DataFrame(columns=[c for c in _SCHEMA[table] if c != "load_id"])
        where, params = self._filter(years, school=school, file=file)
        df = self.con.execute(f"SELECT * EXCLUDE (load_id) FROM {table}{where} ORDER BY year, "
                              "file, sheet, source_row NULLS FIRST", params).fetchdf()
        return df.astype({"year": "int64"}).reset_index(drop=True)

    def form_exclusions(self, years: int | Iterable[int] | None = None, *,
                        file: str | Iterable[str] | None = None,
                        school: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Form rows not accepted: year, file, sheet, source_row, school_id, column, reason."""
        return self._form_log("form_exclusions", years, file, school)

    def form_issues(self, years: int | Iterable[int] | None = None, *,
                    file: str | Iterable[str] | None = None,
                    school: str | Iterable[str] | None = None) -> pd.DataFrame:
        """Rejected or doubtful form cells: as :meth:`form_exclusions` plus ``value``."""
        return self._form_log("form_issues", years, file, school)


# --------------------------------------------------------------------------- the notes' cache

_CACHE_TAG = "proforient-diag cache tag"


def default_cache_dir() -> Path:
    """``$PROFORIENT_CACHE``, else ``$XDG_CACHE_HOME/proforient-diag``, else ``~/.cache/proforient-diag``."""
    env = os.environ.get("PROFORIENT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "proforient-diag"



def cache_store_path(data_dir: str | Path, key: bytes | str) -> Path:
    """The notes' cache store of a data folder.

    ``default_cache_dir()/stores/<first 12 hex of sha256(resolved data_dir)>-<key tag>.duckdb``,
    the file :func:`proforient_diag.diagnostics.load_waves` fills; the key tag is the pseudonym
    of a fixed public string (characters 2–11), so stores built with different keys never mix.
    """
    from .privacy import pseudonymise

    tag = pseudonymise(pd.Series([_CACHE_TAG]), key).iat[0][1:11]
    h = hashlib.sha256(str(Path(data_dir).resolve()).encode("utf-8")).hexdigest()[:12]
    return default_cache_dir() / "stores" / f"{h}-{tag}.duckdb"


def with_store(path: str | Path, work, *, cache: bool = False, attempts: int = 30,
               wait: float = 1.0):
    """Run ``work(store)`` on the store at ``path`` opened for writing, then close it.

    A cache store (``cache=True``) that another process holds — a parallel note — is waited for
    (``attempts`` tries, ``wait`` seconds apart); if it stays locked or cannot be opened as a
    store, ``work`` runs on a private temporary store, deleted afterwards (the caller's data are
    read again; nothing is lost, the run is only slower). A store the caller named is never
    replaced: its errors are raised.

    Returns
    -------
    (result, Path or None)
        What ``work`` returned, and the store used (None for the temporary one).
    """
    path = Path(path)
    for attempt in range(attempts if cache else 1):
        try:
            st = Store(path)
        except StoreLockedError:
            if not cache:
                raise
            if attempt < attempts - 1:
                time.sleep(wait)
            continue
        except StoreError:
            if not cache:
                raise
            break
        try:
            return work(st), path
        finally:
            st.close()
    tmp = Path(tempfile.mkdtemp(prefix="proforient-store-"))
    try:
        st = Store(tmp / "store.duckdb")
        try:
            return work(st), None
        finally:
            st.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
