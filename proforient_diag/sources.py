"""The notes' one route to their data: a data folder, through the multi-year store, to the analyses.

Every note of a year reads the same answers and forms the same way: :func:`load_waves` loads each
year's exports of a data folder into the store (pseudonymising the ids; files already stored with
the same SHA-256 are skipped, so a repeated run only reads the store back) and returns the scores
and answers of the years asked for; :func:`load_monitoring` does the same for the schools'
monitoring forms. By default both use the data folder's cache store
(:func:`proforient_diag.datafolder.cache_store_path`), so one store holds the waves and the forms
of a data folder: the annual batch fills it once and the notes running in parallel only read it.

Cache stores follow the folder: a cache store holding a file that has since left the folder is
rebuilt (waves) or has that file's rows removed (forms); a store the caller names is never
changed behind their back (such a file is an error).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from .datafolder import DataFolder, cache_store_path, resolve_key
from .errors import DataError, InputFileError, StoreError
from .fmt import fmt_int
from .forms import FORM_CONTEXT, MonitoringResult, completeness, form_files, missing_schools
from .instrument import load_instrument
from .roadmap import MonitoringSpec, load_monitoring_spec
from .store import Store, with_store

__all__ = ["Waves", "load_waves", "load_monitoring"]


@dataclass(frozen=True)
class Waves:
    """All waves of a note, read back from the store with pseudonymous ids.

    Attributes
    ----------
    years : tuple of int
        Years with data (a requested year without a folder is listed in ``missing_years``).
    scores : DataFrame
        ``Store.scores`` of all years (``respondent_pid``, context, scale scores, total, level)
        plus ``area`` («город» / «село», from ``schools.csv``) when known.
    responses : DataFrame
        ``Store.responses`` (item answers, one column per item of any version).
    instruments : dict
        Version → :class:`~proforient_diag.instrument.Instrument`.
    enrolment : DataFrame
        ``enrolment.csv`` (year, municipality_code, grade, sex, n_enrolled) or empty.
    schools : DataFrame or None
        ``schools.csv``.
    loads : DataFrame
        Per year: files, rows, accepted, excluded (current file versions in the store).
    missing_years : tuple of int
    store_path : str
    key_source : str
        Where the pseudonymisation key came from (never the key).
    """

    years: tuple
    scores: pd.DataFrame
    responses: pd.DataFrame
    instruments: dict
    enrolment: pd.DataFrame
    schools: pd.DataFrame | None
    loads: pd.DataFrame
    missing_years: tuple = ()
    store_path: str = ""
    key_source: str = ""

    def version_of(self, year: int) -> int:
        """Instrument version used in ``year`` (from the data, else the one in force)."""
        v = self.scores.loc[self.scores["year"] == year, "instrument_version"]
        if len(v):
            return int(v.mode().iat[0])
        return load_instrument("psd", year=year).version

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def summary(self) -> str:
        n = self.scores.groupby("year").size()
        return (f"Волны {min(self.years)}–{max(self.years)}: " +
                ", ".join(f"{y} — {fmt_int(k)}" for y, k in n.items()) + " анкет.")


def _store_of(folder: DataFolder, store_path, key) -> tuple[Path, bool, bytes | str, str]:
    k, source = resolve_key(key)
    if store_path is None:
        return cache_store_path(folder, k), True, k, source
    return Path(store_path), False, k, source


def load_waves(data_dir: str | Path, years: Iterable[int], *, store_path: str | Path | None = None,
               key: bytes | str | None = None, instrument: str = "psd") -> Waves:
    """Load the waves ``years`` of a data folder through the multi-year store.

    Each year's folder of exports is loaded with :meth:`Store.load` (files already in the store
    with the same SHA-256 are skipped), then scores and item answers are read back with
    pseudonymous ids (``respondent_pid``).

    Parameters
    ----------
    data_dir : path
        The data folder (see :mod:`proforient_diag.datafolder`).
    years : iterable of int
        Years to read; the last one must exist, earlier missing folders are skipped and listed.
    store_path : path, optional
        The DuckDB store. Default: the data folder's cache store (the key tag in its name keeps
        stores built with different keys apart). A cache store holding a file that has since
        disappeared from the folder is rebuilt; a cache store locked by another process is
        waited for, then replaced by a private temporary one.
    key : bytes or str, optional
        Pseudonymisation key; default :func:`~proforient_diag.datafolder.resolve_key`. Never
        written to the store, the note or any output.
    instrument : str, default "psd"

    Returns
    -------
    Waves
    """
    folder = DataFolder(data_dir)
    years = sorted({int(y) for y in years})
    if not years:
        raise DataError("не заданы годы для загрузки.")
    present = [y for y in years if folder.has_diagnostics(y)]
    if years[-1] not in present:
        raise InputFileError(f"нет папки с выгрузками за {years[-1]} год.",
                             file=folder.diagnostics_dir(years[-1]))
    path, cache, k, key_source = _store_of(folder, store_path, key)

    def fill(st: Store):
        if st.legacy and cache:
            return None   # pseudonyms of an older scheme: the cache is rebuilt from the folder
        for y in present:
            st.load(y, folder.diagnostics_dir(y), key=k, instrument=instrument)
            stored = set(st.loads(current=True).query("year == @y")["file"])
            if stored - {q.name for q in folder.diagnostics_files(y)}:
                return None  # a file left the folder since the store was filled
        return st.scores(present), st.responses(present), st.loads(current=True)

    got, used = with_store(path, fill, cache=cache)
    if got is None and cache:  # rebuild the cache store from the folder as it is now (or anew)
        path.unlink(missing_ok=True)
        got, used = with_store(path, fill, cache=True)
    if got is None:
        raise StoreError("в хранилище есть файлы, которых больше нет в папке с данными; "
                         "укажите новое хранилище.", file=path)
    sc, rs, loads = got
    if not isinstance(sc["level"].dtype, pd.CategoricalDtype):
        sc["level"] = pd.Categorical(sc["level"], categories=["низкий", "средний", "высокий"],
                                     ordered=True)
    schools = folder.schools()
    if schools is not None and "area" in schools:
        sc["area"] = sc["school_id"].map(schools.set_index("school_id")["area"])
    insts = {int(v): load_instrument(instrument, version=int(v))
             for v in sorted(sc["instrument_version"].unique())}
    lt = loads.groupby("year").agg(files=("file", "size"), rows=("rows", "sum"),
                                   accepted=("accepted", "sum"),
                                   excluded=("excluded", "sum")).reset_index()
    return Waves(years=tuple(present), scores=sc, responses=rs, instruments=insts,
                 enrolment=folder.enrolment(), schools=schools, loads=lt,
                 missing_years=tuple(y for y in years if y not in present),
                 store_path=str(used) if used is not None else "временное хранилище",
                 key_source=key_source)


def _form_files(folder: Path) -> list[Path]:
    try:
        return form_files(folder)
    except InputFileError:
        return []


def load_monitoring(data_dir: str | Path, years: Iterable[int], *,
                    store_path: str | Path | None = None, key: bytes | str | None = None,
                    spec: MonitoringSpec | None = None) -> MonitoringResult:
    """The monitoring forms of ``years`` of a data folder, through the store.

    Each year's folder of forms is loaded with :meth:`Store.load_forms` (files already stored
    with the same SHA-256 and the same register are skipped); then the forms, exclusions, issues
    and per-file accounting of all the years are read back, and the schools that sent no form and
    the completeness are computed from them with the current register.

    Parameters
    ----------
    data_dir : path
        The data folder: ``monitoring/<year>/``, ``schools.csv`` and, when present,
        ``school_enrolment.csv``.
    years : iterable of int
        Years to read, e.g. ``range(2018, year + 1)``; the last one must have a folder of forms,
        earlier years without one are skipped and listed in ``missing_years``.
    store_path : path, optional
        The DuckDB store. Default: the data folder's cache store (the one :func:`load_waves`
        fills). A form file that has left the folder is removed from the cache store, while a
        named store holding such a file is an error.
    key : bytes or str, optional
        Only to find the cache store (its name carries the key tag); the forms hold no personal
        data and are not pseudonymised.
    spec : MonitoringSpec, optional
        Default :func:`~proforient_diag.roadmap.load_monitoring_spec`.

    Returns
    -------
    MonitoringResult
        With ``years``, ``missing_years``, ``store_path`` and ``reports`` filled; ``source_file``
        is the file name, with « [sheet]» for a sheet of a workbook.

    Raises
    ------
    InputFileError
        No folder of forms for the last year, or no ``schools.csv``.
    FormError
        A form file cannot be read (nothing of that year is written).
    StoreError
        A named store holds a file no longer in the folder, or the store cannot be written.
    """
    folder = DataFolder(data_dir)
    years = sorted({int(y) for y in years})
    if not years:
        raise DataError("не заданы годы мониторинга.")
    files = {y: _form_files(folder.monitoring_dir(y)) for y in years if folder.has_monitoring(y)}
    present = [y for y in years if files.get(y)]
    if years[-1] not in present:
        raise InputFileError(f"нет папки с формами мониторинга за {years[-1]} год; положите формы "
                             f"в папку monitoring/{years[-1]} папки с данными.",
                             file=folder.monitoring_dir(years[-1]))
    schools = folder.require_schools()
    enrolment = folder.school_enrolment()
    spec = spec or load_monitoring_spec()
    path, cache, _, _ = _store_of(folder, store_path, key)

    def work(st: Store):
        stored = st.form_loads(current=True)
        reports = []
        for y in present:
            gone = sorted(set(stored.loc[stored["year"] == y, "file"]) - {p.name for p in files[y]})
            if gone and not cache:
                raise StoreError(f"в хранилище есть формы {y} года из файлов, которых больше нет в "
                                 f"папке ({', '.join(gone)}); укажите новое хранилище.", file=path)
            if gone:  # before loading: a removed file must not keep its schools' forms
                st.remove_forms(y, gone)
            reports.append(st.load_forms(y, files[y], schools=schools, enrolment=enrolment,
                                         spec=spec))
        return (st.forms(present), st.form_exclusions(present), st.form_issues(present),
                st.form_loads(current=True), tuple(reports))

    (forms, excl, issues, loads, reports), used = with_store(path, work, cache=cache)

    def label(f: pd.DataFrame) -> pd.Series:
        return f["file"].where(f["sheet"].fillna("") == "", f["file"] + " [" + f["sheet"] + "]")

    meas = [c for c in spec.measures["column"] if c in forms.columns]
    extra = [c for c in forms.columns if c not in FORM_CONTEXT and c not in meas
             and c not in ("file", "sheet")]
    forms = forms.assign(source_file=label(forms))[FORM_CONTEXT + meas + extra]
    excl = excl.assign(source_file=label(excl))[["year", "source_file", "source_row", "school_id",
                                                 "column", "reason"]]
    issues = issues.assign(source_file=label(issues))[["year", "source_file", "source_row",
                                                       "school_id", "column", "value", "reason"]]
    loads = loads[loads["year"].isin(present)].sort_values(["year", "file"])
    fl = loads[["year", "file", "sha256", "format", "encoding", "rows", "accepted", "excluded"]]
    fl = fl.astype({"year": "int64", "rows": "int64", "accepted": "int64", "excluded": "int64"})
    return MonitoringResult(
        forms=forms, exclusions=excl, issues=issues, files=fl.reset_index(drop=True),
        missing_schools=missing_schools(forms, schools, enrolment),
        completeness=completeness(forms, schools, enrolment, years=present),
        years=tuple(present), missing_years=tuple(y for y in years if y not in present),
        store_path=str(used) if used is not None else "временное хранилище", reports=reports)
