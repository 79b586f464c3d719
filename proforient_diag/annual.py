"""The annual job: from a data folder to the year's published notes.

``load_year`` reads and scores one wave (the notebooks call it); ``run_annual`` runs the notes with
:mod:`proforient_diag.report` into ``reports/<year>/`` (the CLI's ``annual`` command).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputFileError
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


MONITORING_TITLE = ("Аналитическая справка по результатам мониторинга результативности реализации "
                    "дорожной карты долгосрочного межведомственного профориентационного проекта "
                    "обучающихся общеобразовательных организаций Кемеровской области – Кузбасса, {year} год")
CHECK_TITLE = ("Психометрическая проверка инструмента «Уровень сформированности профессионального "
               "самоопределения обучающихся», версия {version}, {band} классы")
CHECK_BANDS = ("1-4", "5-7", "8-9", "10-11")


def annual_jobs(*, year: int, data_dir: Path, target: Path, municipality: str | None = None,
                per_municipality: bool = False, formats: tuple[str, ...] = ("html",),
                threshold: int = 10) -> list[dict]:
    """The notes of a year as :func:`proforient_diag.report.runner.run_batch` jobs."""
    from .ingest import municipalities

    data_dir = Path(data_dir).resolve()
    nb = notebooks_dir()
    diag_inputs = sorted(p for p in (data_dir / "diagnostics" / str(year)).glob("*") if p.is_file())
    version = load_instrument("psd", year=year).version
    # the executed notebooks hold code and are not published: only a failed one is kept
    common = {"output_dir": str(target), "formats": tuple(formats), "year": year, "keep_notebook": False}

    def diag(mo: str | None) -> dict:
        name = f"diagnostics_{year}" + (f"_{mo}" if mo else "")
        return {**common, "notebook": str(nb / "annual_diagnostics.ipynb"), "name": name,
                "title": DIAG_TITLE.format(year=year) + (f" ({_mo_name(mo)})" if mo else ""),
                "parameters": {"year": year, "data_dir": str(data_dir), "municipality": mo,
                               "suppress_threshold": threshold},
                "inputs": diag_inputs, "instrument_versions": {"psd": version}}

    if municipality:
        return [diag(_mo_code(municipality))]
    jobs = [diag(None)]
    mon_inputs = sorted(p for p in (data_dir / "monitoring").rglob("*") if p.is_file()) \
        if (data_dir / "monitoring").is_dir() else []
    jobs.append({**common, "notebook": str(nb / "roadmap_monitoring.ipynb"), "name": f"monitoring_{year}",
                 "title": MONITORING_TITLE.format(year=year),
                 "parameters": {"year": year, "data_dir": str(data_dir), "municipality": None},
                 "inputs": mon_inputs})
    for band in CHECK_BANDS:
        jobs.append({**common, "notebook": str(nb / "instrument_check.ipynb"),
                     "name": f"instrument_check_{year}_{band}",
                     "title": CHECK_TITLE.format(version=version, band=band.replace("-", "–")),
                     "parameters": {"instrument": "psd", "version": version, "band": band,
                                    "data_dir": str(data_dir), "years": [year]},
                     "inputs": diag_inputs, "instrument_versions": {"psd": version}})
    if per_municipality:
        jobs += [diag(code) for code in municipalities()["code"]]
    return jobs


def _mo_code(value: str) -> str:
    from .ingest import _municipality_lookup
    from .instrument import normalize_text
    hit = _municipality_lookup().get(normalize_text(value))
    if hit is None:
        raise InputFileError(f"муниципалитет «{value}» не найден в справочнике Кузбасса; укажите код "
                             "(MO01–MO34) или полное название.")
    return hit[0]


def _mo_name(code: str) -> str:
    from .ingest import municipalities
    return municipalities().set_index("code")["name"][code]


def run_annual(*, year: int, data_dir: Path, out_dir: Path, municipality: str | None = None,
               per_municipality: bool = False, formats: tuple[str, ...] = ("html",),
               threshold: int = 10, jobs: int | None = None, progress: bool = True) -> int:
    """Run the year's notes into ``out_dir/<year>/`` with an index page.

    Returns the process exit code: 0 when every note was produced, 1 when some failed (each
    failure is printed with its cause; the others are still produced).
    """
    from .report.runner import run_batch, write_index

    if not (Path(data_dir) / "diagnostics" / str(year)).is_dir():
        raise InputFileError(f"нет папки с выгрузками за {year} год; положите файлы в "
                             f"{Path(data_dir) / 'diagnostics' / str(year)}.", file=Path(data_dir))
    target = Path(out_dir) / str(year)
    target.mkdir(parents=True, exist_ok=True)
    # fill the multi-year store once, so that the notes running in parallel only read it
    from .diagnostics import load_waves
    load_waves(data_dir, range(2018, year + 1))
    if (Path(data_dir) / "monitoring").is_dir() and not municipality:
        from .monitoring import load_monitoring
        load_monitoring(data_dir, range(2018, year + 1))
    batch = annual_jobs(year=year, data_dir=data_dir, target=target, municipality=municipality,
                        per_municipality=per_municipality, formats=formats, threshold=threshold)
    table = run_batch(batch, n_jobs=jobs, progress=progress)
    index = write_index(target, table, f"Справки {year} года")
    ok = table["status"] == "готово"
    for _, row in table.iterrows():
        if row["status"] == "готово":
            print(f"Готово: {row['name']} → {row['outputs']}")
        else:
            print(f"Ошибка: {row['name']}: {row['error']}", file=sys.stderr)
    print(f"Справок: {len(table)}, сформировано: {int(ok.sum())}. Оглавление: {index}")
    return 0 if ok.all() else 1
