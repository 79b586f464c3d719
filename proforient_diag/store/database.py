"""The multi-year store itself: the DuckDB file, its loads in one transaction, its readers.

See :mod:`proforient_diag.store` for the tables and the guarantees.
"""
from __future__ import annotations

import datetime as _dt
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import DataError, DiagError, InputFileError, StoreError, StoreLockedError
from ..forms import form_files, read_forms
from ..ingest import read_responses, resolve_inputs, sha256_file
from ..privacy import load_key, pseudonymise, student_key
from ..roadmap import MonitoringSpec, load_monitoring_spec
from .prepare import file_counts, locate, mask_names, register_digest, score_versions, wave_tables
from .schema import (FORMS, KEY_CHECK_TEXT, SCHEMA, SCHEMA_VERSION, STATUS_ADDED,
                     STATUS_REPLACED, STATUS_UNCHANGED, WAVES, Kind, LoadReport, as_list, quote,
                     CONTEXT_COLUMNS)

__all__ = ["Store"]


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
        for table, cols in SCHEMA.items():
            body = ", ".join(f"{quote(c)} {t}" for c, t in cols.items())
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
        self.legacy = row[0] == "1"
        if row[0] != SCHEMA_VERSION and not self.legacy:
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
        self._writable("чтобы загрузить данные")
        self._not_legacy()
        year = int(year)
        key = load_key() if key is None else key
        check = pseudonymise(pd.Series([KEY_CHECK_TEXT]), key).iat[0]
        stored_check = self._meta("key_check")
        if stored_check is not None and stored_check != check:
            raise StoreError("ключ псевдонимизации отличается от ключа, с которым заполнено "
                             "хранилище: псевдонимы разных лет стали бы несопоставимы. Укажите "
                             "прежний ключ.", file=self.path)
        plan = self._plan(year, self._input_files(paths, resolve_inputs), WAVES)
        to_read = plan[plan["status"] != STATUS_UNCHANGED]
        if not len(to_read):
            return LoadReport(year, None, self._report_frame(year, plan, WAVES))
        ing = read_responses([Path(p) for p in to_read["path"]], instrument, year=year)
        names = {str(Path(p)): n for p, n in zip(to_read["path"], to_read["file"])}
        replaced = to_read.loc[to_read["status"] == STATUS_REPLACED, "file"].tolist()
        resp = ing.responses.reset_index(drop=True)
        exclusions = ing.exclusions.reset_index(drop=True)
        if len(resp):
            resp["respondent_pid"] = pseudonymise(student_key(resp["school_id"], resp["respondent_id"]),
                                                  key).to_numpy()
            resp, moved = self._stored_before(WAVES, year, resp, replaced, names)
            exclusions = pd.concat([exclusions, moved], ignore_index=True)
        insts, scores, missing = score_versions(resp, instrument)
        tables = wave_tables(year, resp, scores, missing, exclusions, ing.issues, names, key)
        counts = file_counts(ing.files, names, resp, exclusions, tables.get("issues"))
        load_id = self._write(year, plan, counts, tables, replaced, insts, instrument, check)
        return LoadReport(year, load_id, self._report_frame(year, plan, WAVES, counts))

    def load_forms(self, year: int, paths: str | Path | Iterable[str | Path], *,
                   schools: pd.DataFrame, enrolment: pd.DataFrame | None = None,
                   spec: MonitoringSpec | None = None) -> LoadReport:
        """Load a year's roadmap monitoring forms: read, validate and write in one transaction.

        The files are read with :func:`proforient_diag.forms.read_forms` (every row accounted
        for; rows whose «Год» is another year are excluded); rows are keyed by file name within
        the year, as in :meth:`load`: the same file again is «без изменений» (nothing read), a
        corrected file under the same name is «заменён» (its rows in ``forms``,
        ``form_exclusions`` and ``form_issues`` deleted and the new ones inserted, the previous
        ``form_loads`` row kept as history), a new name is «добавлен». A file is also re-read when
        the register digest (spec, school register, the year's enrolment) differs from the one it
        was loaded with. Any failure — an unreadable file among good ones, an error while writing
        — leaves the store as it was.

        Parameters
        ----------
        year : int
            The monitoring year; forms without a «Год» column take this year.
        paths : path, folder or list of them
            Form files (XLSX/CSV); folders are searched recursively.
        schools : DataFrame
            The school register (school_id, municipality_code).
        enrolment : DataFrame, optional
            year, school_id, n_students: the official number of students (see ``read_forms``).
        spec : MonitoringSpec, optional
            Default :func:`proforient_diag.roadmap.load_monitoring_spec`.

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
        self._writable("чтобы загрузить формы мониторинга")
        year = int(year)
        spec = spec or load_monitoring_spec()
        for c in ("school_id", "municipality_code"):
            if c not in schools.columns:
                raise DataError(f"в справочнике школ нет столбца «{c}»; передайте таблицу "
                                "schools.csv.", column=c)
        context = register_digest(year, schools, enrolment, spec)
        plan = self._plan(year, self._input_files(paths, form_files), FORMS, context)
        to_read = plan[plan["status"] != STATUS_UNCHANGED]
        if not len(to_read):
            return LoadReport(year, None, self._report_frame(year, plan, FORMS), "monitoring")
        res = read_forms([Path(p) for p in to_read["path"]], schools=schools,
                         enrolment=enrolment, spec=spec, year=year)
        names = {str(Path(p)): n for p, n in zip(to_read["path"], to_read["file"])}
        replaced = to_read.loc[to_read["status"] == STATUS_REPLACED, "file"].tolist()
        forms, moved = self._stored_before(FORMS, year, res.forms, replaced, names)
        excl = pd.concat([res.exclusions, moved], ignore_index=True)
        gone = set(zip(moved["source_file"], moved["source_row"]))
        issues = res.issues[[k not in gone for k in zip(res.issues["source_file"],
                                                        res.issues["source_row"])]]
        tables = {"forms": locate(forms, names).drop(columns="source_file").reset_index(drop=True)}
        if len(excl):
            tables["form_exclusions"] = locate(excl, names).drop(columns="source_file").assign(
                year=year)
        if len(issues):
            tables["form_issues"] = locate(issues, names).drop(columns="source_file").assign(
                year=year, value=lambda f: mask_names(f["value"]))
        counts = file_counts(res.files, names, forms, excl, tables.get("form_issues"))
        load_id = self._write_forms(year, plan, counts, tables, replaced, context, spec.path)
        return LoadReport(year, load_id, self._report_frame(year, plan, FORMS, counts), "monitoring")

    def remove_forms(self, year: int, files: str | Iterable[str]) -> int:
        """Remove the forms of files (by name) from a year, in one transaction.

        For a cache of a data folder from which a file was deleted. The rows of ``forms``,
        ``form_exclusions`` and ``form_issues`` go; the ``form_loads`` rows stay as history with
        ``current = false`` and no ``replaced_by``. Returns the number of files removed.
        """
        self._writable("чтобы удалить формы")
        names = [Path(str(f)).name for f in as_list(files)]
        with self._transaction("удаление форм"):
            n = int(self.con.execute("SELECT count(*) FROM form_loads WHERE year = ? AND current "
                                     "AND list_contains(?, file)", [int(year), names]).fetchone()[0])
            for t in FORMS.tables:
                self.con.execute(f"DELETE FROM {t} WHERE year = ? AND list_contains(?, file)",
                                 [int(year), names])
            self.con.execute("UPDATE form_loads SET current = false WHERE year = ? AND current AND "
                             "list_contains(?, file)", [int(year), names])
        return n

    # -- the pseudonyms of an older store ------------------------------------------------------

    def _not_legacy(self) -> None:
        if self.legacy:
            raise StoreError("хранилище создано прежней версией программы: псевдонимы в нём взяты "
                             "по коду участника без школы, и ученики разных школ с одинаковыми "
                             "номерами в нём слиты. Обновите его командой «proforient-diag load "
                             "--upgrade --store ФАЙЛ --key-file КЛЮЧ» (исходные выгрузки нужны на "
                             "прежних местах) или загрузите годы в новое хранилище.", file=self.path)

    def upgrade(self, key: bytes | str) -> int:
        """Re-key a store of schema 1 (pseudonyms of the code alone) to school + code.

        The store keeps no original codes, so every current file is read again from the path
        it was loaded from (all must still be there) into a new store with the same key; the
        new file then replaces this one. Returns the number of files re-read.
        """
        if not self.legacy:
            return 0
        self._writable("чтобы обновить его")
        cur = self.loads(current=True)
        gone = [p for p in cur["path"] if not Path(p).is_file()]
        if gone:
            raise StoreError(f"для обновления нужны исходные выгрузки, а файла нет на прежнем месте "
                             f"({Path(gone[0]).name}); загрузите годы в новое хранилище.",
                             file=gone[0])
        check = pseudonymise(pd.Series([KEY_CHECK_TEXT]), key).iat[0]
        if self._meta("key_check") not in (None, check):
            raise StoreError("ключ псевдонимизации отличается от ключа, с которым заполнено "
                             "хранилище; укажите прежний ключ.", file=self.path)
        tmp = self.path.with_name(self.path.name + ".upgrade")
        tmp.unlink(missing_ok=True)
        with Store(tmp) as new:
            for (year, inst), part in cur.groupby(["year", "instrument"], sort=True):
                new.load(int(year), [Path(p) for p in part["path"]], key=key, instrument=inst)
        self.close()
        tmp.replace(self.path)
        self.__init__(self.path)
        return len(cur)

    # -- writing ----------------------------------------------------------------------------

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"хранилище открыто только для чтения; откройте его без read_only, "
                             f"{what}.", file=self.path)

    @contextmanager
    def _transaction(self, what: str = "загрузка"):
        """One transaction: committed at the end, rolled back on any failure (re-raised as a
        :class:`StoreError` unless it is already a problem for a person)."""
        con = self.con
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException as exc:
            con.execute("ROLLBACK")
            if isinstance(exc, DiagError) or not isinstance(exc, Exception):
                raise
            raise StoreError(f"{what} прервана ({exc.__class__.__name__}: {str(exc)[:200]}); "
                             "хранилище оставлено без изменений.", file=self.path) from exc

    def _begin_load(self, kind: Kind, year, plan, counts, replaced, extra: dict) -> int:
        """Inside a transaction: retire the replaced files' rows, register the new file versions."""
        con = self.con
        load_id = int(con.execute(f"SELECT coalesce(max(load_id), 0) + 1 FROM {kind.loads}")
                      .fetchone()[0])
        for name in replaced:
            for t in kind.tables:
                if t == "responses":
                    con.execute("DELETE FROM answers WHERE year = ? AND row_id IN (SELECT row_id "
                                "FROM responses WHERE year = ? AND file = ?)", [year, year, name])
                con.execute(f"DELETE FROM {t} WHERE year = ? AND file = ?", [year, name])
            con.execute(f"UPDATE {kind.loads} SET current = false, replaced_by = ? WHERE year = ? "
                        "AND file = ? AND current", [load_id, year, name])
        written = plan[plan["status"] != STATUS_UNCHANGED]
        loads = pd.DataFrame({
            "load_id": load_id, "year": year, "file": written["file"].to_numpy(),
            "path": written["path"].to_numpy(), "sha256": written["sha256"].to_numpy(),
            "loaded_at": _dt.datetime.now().replace(microsecond=0), **extra,
            "status": written["status"].to_numpy(), "current": True, "replaced_by": None})
        self._insert(kind.loads, loads.join(counts, on="file"))
        return load_id

    def _write(self, year, plan, counts, tables, replaced, insts, instrument, key_check) -> int:
        """All writes of one load of answer sheets, in one transaction."""
        inst_name = str(instrument)
        with self._transaction() as con:
            base = int(con.execute("SELECT coalesce(max(row_id), 0) + 1 FROM responses").fetchone()[0])
            load_id = self._begin_load(WAVES, year, plan, counts, replaced, {
                "instrument": inst_name, "instrument_version": max(insts) if insts else None})
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
                frame = tables[name] if name == "answers" else tables[name].assign(load_id=load_id)
                if name == "responses":
                    frame = frame.assign(row_id=frame.index.to_numpy().astype(np.int64) + base)
                elif name in ("answers", "scores"):
                    frame = frame.assign(row_id=frame["row_id"] + base)
                if name == "scores":
                    self._add_columns("scores", frame)
                self._insert(name, frame)
            if self._meta("key_check") is None:
                con.execute("INSERT INTO meta VALUES ('key_check', ?)", [key_check])
        return load_id

    def _write_forms(self, year, plan, counts, tables, replaced, context, spec_path) -> int:
        """All writes of one form load, in one transaction."""
        with self._transaction("загрузка форм"):
            load_id = self._begin_load(FORMS, year, plan, counts, replaced, {
                "spec": str(spec_path), "register_sha256": context})
            for name in FORMS.tables:
                if name in tables:
                    frame = tables[name].assign(load_id=load_id)
                    if name == "forms":
                        self._add_columns("forms", frame, "DOUBLE")
                    self._insert(name, frame)
        return load_id

    @staticmethod
    def _input_files(paths, resolve) -> list[Path]:
        out = resolve(paths)
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

    def _plan(self, year: int, files: list[Path], kind: Kind,
              context: str | None = None) -> pd.DataFrame:
        """Status of each input file against the current loads of the year.

        With ``context`` (the digest of what besides the file decides its rows), a stored file
        with the same SHA-256 but another context is re-read («заменён»).
        """
        ctx = "register_sha256" if context is not None else "NULL"
        cur = self.con.execute(
            f"SELECT file, sha256, accepted, {ctx} AS context FROM {kind.loads} WHERE year = ? AND "
            "current", [year]).fetchdf()
        same = cur["context"] == context if context is not None else pd.Series(True, index=cur.index)
        by_sha = dict(zip(cur.loc[same, "sha256"], cur.loc[same, "file"]))
        by_name = dict(zip(cur["file"], zip(cur["sha256"], cur["accepted"], same)))
        rows, seen = [], {}
        for p in files:
            sha = sha256_file(p)
            prev = by_name.get(p.name)
            note, prev_acc = "", None
            if prev is not None and prev[0] == sha and prev[2]:
                status, note = STATUS_UNCHANGED, "файл уже загружен"
            elif prev is not None and prev[0] == sha:
                status, prev_acc = STATUS_REPLACED, int(prev[1])
                note = ("файл прежний, но изменились справочник школ, контингент или спецификация "
                        "формы: строки перечитаны")
            elif sha in by_sha:
                status, note = STATUS_UNCHANGED, f"то же содержимое уже загружено как «{by_sha[sha]}»"
            elif sha in seen:
                status, note = STATUS_UNCHANGED, f"то же содержимое, что у «{seen[sha]}» в этой загрузке"
            elif prev is not None:
                status, prev_acc = STATUS_REPLACED, int(prev[1])
                note = "исправленный файл: прежние строки заменены"
            else:
                status = STATUS_ADDED
            seen.setdefault(sha, p.name)
            rows.append({"file": p.name, "path": str(p), "status": status, "sha256": sha,
                         "previous_accepted": prev_acc, "note": note})
        return pd.DataFrame(rows)

    def _report_frame(self, year: int, plan: pd.DataFrame, kind: Kind,
                      counts: pd.DataFrame | None = None) -> pd.DataFrame:
        f = plan.copy()
        stored = self.con.execute(
            f"SELECT file, rows, accepted, excluded, issues FROM {kind.loads} WHERE current AND "
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

    def _stored_before(self, kind: Kind, year, frame, replaced, names):
        """Move the records already stored for the year from another file to exclusions.

        One answer sheet per respondent (the same code in the same school) and one form per
        school in a year, across loads as within one; returns the records kept and the moved ones
        as exclusion rows (with ``source_file`` labels).
        """
        have = self.con.execute(
            f"SELECT {kind.key_sql} AS k, file, source_row FROM {kind.rows} WHERE year = ? AND NOT "
            "list_contains(?, file)", [year, replaced]).fetchdf()
        cols = ["source_file", "source_row", kind.id_col, "column", "reason"]
        if not len(have):
            return frame, pd.DataFrame(columns=cols)
        have = have.drop_duplicates("k").set_index("k")
        key = kind.key(frame)
        dup = key.isin(have.index).to_numpy()
        if not dup.any():
            return frame, pd.DataFrame(columns=cols)
        d, first = frame.loc[dup], have.loc[key[dup]]
        moved = pd.DataFrame({
            "source_file": d["source_file"].to_numpy(), "source_row": d["source_row"].to_numpy(),
            kind.id_col: d[kind.id_col].to_numpy(), "column": kind.id_col,
            "reason": [kind.reason(year, f, r) for f, r in zip(first["file"], first["source_row"])]})
        return frame.loc[~dup], moved

    def _add_columns(self, table: str, frame: pd.DataFrame, type_: str | None = None) -> None:
        """Columns of ``frame`` the table lacks, added inside the loading transaction."""
        have = set(self._columns(table))
        for c in frame.columns:
            if c in have:
                continue
            s = frame[c]
            t = type_ or ("BOOLEAN" if pd.api.types.is_bool_dtype(s) else
                          "BIGINT" if pd.api.types.is_integer_dtype(s) else
                          "DOUBLE" if pd.api.types.is_numeric_dtype(s) else "VARCHAR")
            self.con.execute(f"ALTER TABLE {table} ADD COLUMN {quote(c)} {t}")

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        """Insert a frame by column name (columns the table lacks are left out)."""
        have = set(self._columns(table))
        frame = frame[[c for c in frame.columns if c in have]]
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
                for t in SCHEMA if self._has_table(t)}

    def _has_table(self, table: str) -> bool:
        return bool(self.con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                                     "table_name = ?", [table]).fetchone()[0])

    def _filter(self, years, municipality=None, school=None, file=None) -> tuple[str, list]:
        conds, params = [], []
        ys = as_list(years)
        if ys is not None:
            conds.append("list_contains(?, year)")
            params.append([int(y) for y in ys])
        mos = as_list(municipality)
        if mos is not None:
            conds.append("(list_contains(?, lower(municipality_code)) OR "
                         "list_contains(?, lower(municipality)))")
            low = [str(m).strip().lower() for m in mos]
            params += [low, low]
        sch = as_list(school)
        if sch is not None:
            conds.append("list_contains(?, school_id)")
            params.append([str(s) for s in sch])
        fs = as_list(file)
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
        ctx = ", ".join(quote(c) for c in [*CONTEXT_COLUMNS, "n_answered", "straightlining"])
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
        fixed = set(SCHEMA["scores"])
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
            return pd.DataFrame(columns=list(SCHEMA["form_loads"]))
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
            return pd.DataFrame(columns=[c for c in SCHEMA["forms"] if c != "load_id"])
        where, params = self._filter(years, municipality, school)
        df = self.con.execute(f"SELECT * EXCLUDE (load_id) FROM forms{where} "
                              "ORDER BY year, school_id", params).fetchdf()
        return df.astype({"year": "int64", "source_row": "int64"}).reset_index(drop=True)

    def _form_log(self, table, years, file, school) -> pd.DataFrame:
        if not self._has_table(table):
            return pd.DataFrame(columns=[c for c in SCHEMA[table] if c != "load_id"])
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
