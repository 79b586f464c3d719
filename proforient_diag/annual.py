"""The annual job: from a data folder to the year's published notes.

:func:`run_annual` (the CLI's ``annual`` command) fills the data folder's cache store once
(:func:`proforient_diag.sources.load_waves`, :func:`~proforient_diag.sources.load_monitoring`),
then runs the notes with :mod:`proforient_diag.report` into ``reports/<year>/``: the regional
diagnostics note, the monitoring note, an instrument check per band form and, on request, a
diagnostics note and a monitoring note per municipality; :func:`annual_jobs` lists them.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .datafolder import DataFolder
from .instrument import load_instrument
from .region import find_municipality, municipalities, municipality_names
from .roadmap import BASE_YEAR

__all__ = ["run_annual", "annual_jobs", "notebooks_dir", "DIAG_TITLE", "MONITORING_TITLE",
           "CHECK_TITLE", "CHECK_BANDS"]

DIAG_TITLE = ("Аналитическая справка по результатам диагностики уровня сформированности "
              "профессионального самоопределения обучающихся общеобразовательных организаций "
              "Кемеровской области – Кузбасса, {year} год")
MONITORING_TITLE = ("Аналитическая справка по результатам мониторинга результативности реализации "
                    "дорожной карты долгосрочного межведомственного профориентационного проекта "
                    "обучающихся общеобразовательных организаций Кемеровской области – Кузбасса, {year} год")
CHECK_TITLE = ("Психометрическая проверка инструмента «Уровень сформированности профессионального "
               "самоопределения обучающихся», версия {version}, {band} классы")
CHECK_BANDS = ("1-4", "5-7", "8-9", "10-11")


def notebooks_dir() -> Path:
    """``notebooks/`` of the working folder when there is one, else the package's."""
    here = Path.cwd() / "notebooks"
    return here if here.is_dir() else Path(__file__).resolve().parents[1] / "notebooks"


def annual_jobs(*, year: int, data_dir: Path, target: Path, municipality: str | None = None,
                per_municipality: bool = False, formats: tuple[str, ...] = ("html",),
                threshold: int = 10, withheld: frozenset = frozenset()) -> list[dict]:
    """The notes of a year as :func:`proforient_diag.report.runner.run_batch` jobs; a
    municipality in ``withheld`` gets the short note that shows only the region."""
    folder = DataFolder(Path(data_dir).resolve())
    nb = notebooks_dir()
    diag_inputs = folder.note_inputs(year)
    check_inputs = folder.note_inputs(year, first=year)
    version = load_instrument("psd", year=year).version
    # the executed notebooks hold code and are not published: only a failed one is kept
    common = {"output_dir": str(target), "formats": tuple(formats), "year": year, "keep_notebook": False}

    def diag(mo: str | None) -> dict:
        name = f"diagnostics_{year}" + (f"_{mo}" if mo else "")
        book = "municipal_withheld.ipynb" if mo in withheld else "annual_diagnostics.ipynb"
        return {**common, "notebook": str(nb / book), "name": name,
                "title": DIAG_TITLE.format(year=year) + (f" ({municipality_names()[mo]})" if mo else ""),
                "parameters": {"year": year, "data_dir": str(folder.root), "municipality": mo,
                               "suppress_threshold": threshold},
                "inputs": diag_inputs, "instrument_versions": {"psd": version}}

    mon_inputs = folder.note_inputs(year, first=year - 2, forms=True)
    monitoring = {**common, "notebook": str(nb / "roadmap_monitoring.ipynb"), "name": f"monitoring_{year}",
                  "title": MONITORING_TITLE.format(year=year),
                  "parameters": {"year": year, "data_dir": str(folder.root), "municipality": None},
                  "inputs": mon_inputs}
    names = municipality_names()

    def monitoring_of(code: str) -> dict:
        return {**monitoring, "name": f"monitoring_{year}_{code}",
                "title": MONITORING_TITLE.format(year=year) + f" ({names[code]})",
                "parameters": {**monitoring["parameters"], "municipality": code}}

    if municipality:
        code = find_municipality(municipality)[0]
        return [diag(code)] + ([monitoring_of(code)] if folder.has_monitoring() else [])
    jobs = [diag(None), monitoring]
    for band in CHECK_BANDS:
        jobs.append({**common, "notebook": str(nb / "instrument_check.ipynb"),
                     "name": f"instrument_check_{year}_{band}",
                     "title": CHECK_TITLE.format(version=version, band=band.replace("-", "–")),
                     "parameters": {"instrument": "psd", "version": version, "band": band,
                                    "data_dir": str(folder.root), "years": [year]},
                     "inputs": check_inputs, "instrument_versions": {"psd": version}})
    if per_municipality:
        jobs += [diag(code) for code in municipalities()["code"]]
        if folder.has_monitoring():
            jobs += [monitoring_of(code) for code in municipalities()["code"]]
    return jobs


def run_annual(*, year: int, data_dir: Path, out_dir: Path, municipality: str | None = None,
               per_municipality: bool = False, formats: tuple[str, ...] = ("html",),
               threshold: int = 10, jobs: int | None = None, progress: bool = True) -> int:
    """Run the year's notes into ``out_dir/<year>/`` with an index page.

    Returns the process exit code: 0 when every note was produced, 1 when some failed (each
    failure is printed with its cause; the others are still produced).
    """
    from .report.runner import run_batch, write_index
    from .diagnostics import withheld_municipalities
    from .sources import load_monitoring, load_waves

    folder = DataFolder(data_dir)
    folder.require_diagnostics(year)
    target = Path(out_dir) / str(year)
    target.mkdir(parents=True, exist_ok=True)
    # fill the multi-year store once, so that the notes running in parallel only read it
    waves = load_waves(folder.root, range(BASE_YEAR, year + 1))
    withheld = withheld_municipalities(waves, year, threshold=threshold) \
        if (per_municipality or municipality) else frozenset()
    if folder.has_monitoring():
        load_monitoring(folder.root, range(BASE_YEAR, year + 1))
    batch = annual_jobs(year=year, data_dir=folder.root, target=target, municipality=municipality,
                        per_municipality=per_municipality, formats=formats, threshold=threshold,
                        withheld=withheld)
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
