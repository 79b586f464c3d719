"""The layout of a data folder, the pseudonymisation key of a run and the notes' cache store.

The only module that spells a path inside a data folder::

    <data folder>/
      diagnostics/<year>/     the year's answer-sheet exports (CSV, XLSX, SAV, Parquet)
      monitoring/<year>/      the year's monitoring forms of the schools (XLSX, CSV)
      schools.csv             the school register: school_id, municipality_code, school_name,
                              urban (true/false), …
      enrolment.csv           students by year × municipality × grade × sex (n_enrolled)
      school_enrolment.csv    students by year × school (n_students)

Everything else reads the folder through :class:`DataFolder`. The key of a run
(:func:`resolve_key`) and the cache store of a data folder (:func:`cache_store_path`) live here
too, because both are decided by where the data are, not by what is computed from them.

Privacy: the key is never written beside the data or the outputs. Without ``PROFORIENT_KEY`` a key
is created once in the user's cache folder (mode 600), outside every data and report folder; the
cache store's name carries a tag derived from the key (a pseudonym of a fixed public string), so
stores built with different keys never mix.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputFileError
from .privacy import create_key, load_key, pseudonymise

__all__ = ["DataFolder", "resolve_key", "default_cache_dir", "cache_store_path",
           "inside_data_folder",
           "TABLE_SUFFIXES", "ENROLMENT_COLUMNS"]

#: File suffixes of tables the kit reads.
TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".sav", ".parquet")
#: Columns of ``enrolment.csv``.
ENROLMENT_COLUMNS = ["year", "municipality_code", "grade", "sex", "n_enrolled"]
_CACHE_TAG = "proforient-diag cache tag"
_URBAN = {"true": "город", "1": "город", "false": "село", "0": "село"}


def _is_data_file(p: Path) -> bool:
    return p.is_file() and not p.name.startswith(("~$", "."))


@dataclass(frozen=True)
class DataFolder:
    """A data folder (see the module docstring for its layout).

    Parameters
    ----------
    root : path
        The folder; it need not contain every part (a monitoring-only folder is fine).
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    # -- places --------------------------------------------------------------------------------
    def diagnostics_dir(self, year: int) -> Path:
        """``diagnostics/<year>/``: the year's answer-sheet exports."""
        return self.root / "diagnostics" / str(int(year))

    def monitoring_dir(self, year: int | None = None) -> Path:
        """``monitoring/`` or ``monitoring/<year>/``: the schools' monitoring forms."""
        base = self.root / "monitoring"
        return base if year is None else base / str(int(year))

    @property
    def schools_path(self) -> Path:
        return self.root / "schools.csv"

    @property
    def enrolment_path(self) -> Path:
        return self.root / "enrolment.csv"

    @property
    def school_enrolment_path(self) -> Path:
        return self.root / "school_enrolment.csv"

    # -- what is there -------------------------------------------------------------------------
    def has_diagnostics(self, year: int) -> bool:
        return self.diagnostics_dir(year).is_dir()

    def has_monitoring(self, year: int | None = None) -> bool:
        return self.monitoring_dir(year).is_dir()

    def diagnostics_years(self) -> list[int]:
        """Years with a folder of exports."""
        return self._years(self.root / "diagnostics")

    def monitoring_years(self) -> list[int]:
        """Years with a folder of forms."""
        return self._years(self.monitoring_dir())

    @staticmethod
    def _years(base: Path) -> list[int]:
        if not base.is_dir():
            return []
        return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and p.name.isdigit())

    def diagnostics_files(self, year: int) -> list[Path]:
        """The year's export files the kit can read (names, not temporary or hidden files)."""
        folder = self.diagnostics_dir(year)
        if not folder.is_dir():
            return []
        return sorted(q for q in folder.rglob("*") if _is_data_file(q)
                      and q.suffix.lower() in TABLE_SUFFIXES)

    def input_files(self, year: int | None = None) -> list[Path]:
        """Every file a year's notes read (for their manifests): the year's exports, or with
        ``year=None`` all years', the forms, the register and the enrolment tables."""
        years = self.diagnostics_years() if year is None else [year]
        out = [q for y in years for q in sorted(self.diagnostics_dir(y).glob("*")) if q.is_file()]
        if year is None and self.has_monitoring():
            out += sorted(q for q in self.monitoring_dir().rglob("*") if _is_data_file(q))
        if year is None:
            out += [p for p in (self.schools_path, self.enrolment_path,
                                self.school_enrolment_path) if p.is_file()]
        return out

    def note_inputs(self, year: int, *, first: int | None = None, forms: bool = False) -> list[Path]:
        """Every file a note of ``year`` reads through the store: the exports of the years
        ``first``–``year`` (default: all years up to ``year``), the monitoring forms with
        ``forms``, and the register and enrolment tables (weights, areas, coverage)."""
        years = [y for y in self.diagnostics_years() if y <= year and (first is None or y >= first)]
        out = [q for y in years for q in sorted(self.diagnostics_dir(y).glob("*")) if q.is_file()]
        if forms and self.has_monitoring():
            out += sorted(q for q in self.monitoring_dir().rglob("*") if _is_data_file(q))
        return out + [p for p in (self.schools_path, self.enrolment_path,
                                  self.school_enrolment_path) if p.is_file()]

    def require_diagnostics(self, year: int) -> Path:
        """The year's folder of exports, or an :class:`InputFileError` saying where to put them."""
        folder = self.diagnostics_dir(year)
        if not folder.is_dir():
            raise InputFileError(f"нет папки с выгрузками за {int(year)} год; положите файлы в "
                                 f"папку diagnostics/{int(year)} папки с данными.", file=folder)
        return folder

    # -- tables --------------------------------------------------------------------------------
    def schools(self) -> pd.DataFrame | None:
        """The school register with ``area`` («город» / «село» from ``urban``), or None."""
        if not self.schools_path.is_file():
            return None
        s = pd.read_csv(self.schools_path, encoding="utf-8")
        if "urban" in s.columns:
            s["area"] = s["urban"].astype(str).str.lower().map(_URBAN)
        return s

    def require_schools(self) -> pd.DataFrame:
        s = self.schools()
        if s is None:
            raise InputFileError("нет справочника школ schools.csv; положите его в папку с данными.",
                                 file=self.schools_path)
        return s

    def enrolment(self) -> pd.DataFrame:
        """``enrolment.csv`` (year × municipality × grade × sex), or an empty table."""
        if not self.enrolment_path.is_file():
            return pd.DataFrame(columns=ENROLMENT_COLUMNS)
        return pd.read_csv(self.enrolment_path, encoding="utf-8")

    def school_enrolment(self) -> pd.DataFrame | None:
        """``school_enrolment.csv`` (year, school_id, n_students), or None."""
        if not self.school_enrolment_path.is_file():
            return None
        return pd.read_csv(self.school_enrolment_path, encoding="utf-8")


def inside_data_folder(path: str | Path) -> Path | None:
    """The data folder ``path`` lies in (a folder with ``diagnostics/``, ``monitoring/`` or
    ``schools.csv``, or one of export files), or None."""
    here = Path(path).resolve().parent
    if any(q.suffix.lower() in TABLE_SUFFIXES for q in here.glob("*") if q.is_file()):
        return here
    for folder in list(Path(path).resolve().parents)[:4]:
        if folder == Path.home() or folder.parent == folder:
            return None
        if any((folder / n).exists() for n in ("diagnostics", "monitoring", "schools.csv")):
            return folder
    return None


def default_cache_dir() -> Path:
    """``$PROFORIENT_CACHE``, else ``$XDG_CACHE_HOME/proforient-diag``, else ``~/.cache/proforient-diag``."""
    env = os.environ.get("PROFORIENT_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "proforient-diag"


def resolve_key(key: bytes | str | None = None) -> tuple[bytes | str, str]:
    """The pseudonymisation key of a run and where it came from (a Russian phrase, never the key).

    ``key`` when given; else :func:`~proforient_diag.privacy.load_key` when ``PROFORIENT_KEY``
    is set; else a key created once with :func:`~proforient_diag.privacy.create_key` in
    ``default_cache_dir()/keys/local.key`` (mode 600), outside the data and the outputs.
    """
    if key is not None:
        return key, "ключ передан вызывающей программой"
    if os.environ.get("PROFORIENT_KEY", "").strip():
        return load_key(), "ключ из переменной окружения PROFORIENT_KEY"
    kpath = default_cache_dir() / "keys" / "local.key"
    if not kpath.exists():
        create_key(kpath)
    return load_key(kpath), ("локальный ключ кэша (создан create_key в каталоге кэша, вне папок "
                             "с данными и отчётами; PROFORIENT_KEY не задан)")


def cache_store_path(data_dir: str | Path | DataFolder, key: bytes | str) -> Path:
    """The notes' cache store of a data folder.

    ``default_cache_dir()/stores/<first 12 hex of sha256(resolved data_dir)>-<key tag>.duckdb``;
    the key tag is the pseudonym of a fixed public string (characters 2–11), so stores built with
    different keys never mix.
    """
    root = data_dir.root if isinstance(data_dir, DataFolder) else Path(data_dir)
    tag = pseudonymise(pd.Series([_CACHE_TAG]), key).iat[0][1:11]
    h = hashlib.sha256(str(root.resolve()).encode("utf-8")).hexdigest()[:12]
    return default_cache_dir() / "stores" / f"{h}-{tag}.duckdb"
