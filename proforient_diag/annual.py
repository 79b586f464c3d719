"""The annual job: from a data folder to the year's published notes.

``load_year`` reads and scores one wave (the notebooks call it); ``run_annual`` runs the notes with
:mod:`proforient_diag.report` into ``reports/<year>/`` (the CLI's ``annual`` command).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DiagError, InputFileError
from .ingest import IngestResult, read_responses
from .instrument import Instrument, load_instrument
from .scoring import score

__all__ = ["YearData", "load_year", "run_annual", "notebooks_dir", "DIAG_TITLE"]

DIAG_TITLE = ("Аналитическая справка по результатам диагностики уровня сформированности "
              "профессионального самоопределения обучающихся общеобразовательных организаций "
              "Кемеровской области – Кузбасса, {year} год")


@dataclass(frozen=True)
class YearData:
    """One scored wave: the ingest result, the scores and the instrument version used."""

    year: int
    ingest: IngestResult
    scores: pd.DataFrame
    missing: pd.DataFrame
    instrument: Instrument
    enrolment: pd.DataFrame | None

    @property
    def input_files(self) -> list[str]:
        return self.ingest.files["file"].tolist()


def load_year(data_dir: str | Path, year: int, *, instrument: str = "psd") -> YearData:
    """Read and score the exports of one year from ``data_dir/diagnostics/<year>``.

    ``data_dir/enrolment.csv`` (year, municipality_code, grade, sex, n_enrolled), if present,
    is attached for coverage and weights.
    """
    data_dir = Path(data_dir)
    folder = data_dir / "diagnostics" / str(year)
    if not folder.is_dir():
        raise InputFileError(f"нет папки с выгрузками за {year} год; положите файлы в {folder}.",
                             file=folder)
    ing = read_responses(folder, instrument, year=year)
    inst = load_instrument(instrument, year=year)
    sc = score(ing.responses, inst)
    enr = None
    if (data_dir / "enrolment.csv").exists():
        e = pd.read_csv(data_dir / "enrolment.csv", encoding="utf-8")
        enr = e[e["year"] == year].reset_index(drop=True)
    return YearData(year, ing, sc.scores, sc.missing, inst, enr)


def notebooks_dir() -> Path:
    here = Path.cwd() / "notebooks"
    return here if here.is_dir() else Path(__file__).resolve().parents[1] / "notebooks"


def run_annual(*, year: int, data_dir: Path, out_dir: Path, municipality: str | None = None,
               per_municipality: bool = False, formats: tuple[str, ...] = ("html",),
               threshold: int = 10, jobs: int | None = None) -> int:
    """Run the year's notes into ``out_dir/<year>/``; return the process exit code (0 = all done)."""
    from .report.runner import run_note

    data_dir = Path(data_dir).resolve()
    target = Path(out_dir) / str(year)
    params = {"year": year, "data_dir": str(data_dir), "municipality": municipality,
              "suppress_threshold": threshold}
    name = f"diagnostics_{year}" if not municipality else f"diagnostics_{year}_{municipality}"
    res = run_note(notebooks_dir() / "annual_diagnostics.ipynb", target, params, name=name,
                   title=DIAG_TITLE.format(year=year), formats=formats, year=year,
                   inputs=sorted((data_dir / "diagnostics" / str(year)).glob("*")))
    for fmt, p in res.outputs.items():
        print(f"Записано: {p}")
    return 0
