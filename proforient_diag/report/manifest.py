"""The run manifest («Паспорт расчёта») of a note.

A manifest records what a note was computed from, so that a number in a
published note can be traced and recomputed: the kit's version, instrument
versions, every input file with its SHA-256 hash, the parameters, the random
seeds, the date and time, and the versions of Python and key packages. The
runner writes it beside each note as ``NAME.manifest.json`` and appends
:func:`manifest_markdown` as the last section of the note.
"""
from __future__ import annotations

import datetime as _dt
import json
import re
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path

from ..fmt import fmt_date, fmt_int
from ..ingest import sha256_file  # noqa: F401 (re-exported: report.manifest.sha256_file)

#: Distributions whose versions are recorded (distribution names on PyPI).
KEY_PACKAGES = (
    "numpy", "scipy", "pandas", "statsmodels", "matplotlib", "seaborn", "papermill",
    "nbconvert", "python-docx", "pypandoc-binary", "weasyprint",
)

MANIFEST_SCHEMA = 1


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def jsonable(value):
    """Parameters as JSON: paths as strings, numpy scalars as Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        try:
            return value.item()
        except (TypeError, ValueError):
            pass
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def build_manifest(parameters: Mapping, inputs: Iterable[str | Path] = (),
                   instrument_versions: Mapping[str, str] | None = None,
                   seeds: Mapping[str, int] | None = None, *,
                   now: _dt.datetime | None = None) -> dict:
    """Collect what a note was computed from.

    Parameters
    ----------
    parameters : mapping
        The notebook parameters (paths become strings).
    inputs : iterable of path
        Input files; each is hashed with SHA-256.
    instrument_versions : mapping, optional
        ``{instrument id: version}``.
    seeds : mapping, optional
        ``{name: seed}``; by default every parameter whose name contains
        ``seed`` is taken.
    now : datetime, optional
        The time stamp (default: now, local time zone).

    Returns
    -------
    dict
        JSON-serialisable: ``schema``, ``created``, ``package``, ``python``,
        ``platform``, ``packages``, ``instrument_versions``, ``inputs`` (list of
        ``{path, name, size, sha256}``), ``parameters``, ``seeds``.

    Raises
    ------
    proforient_diag.errors.InputFileError
        If an input file does not exist.
    """
    from .. import __version__
    from ..errors import InputFileError

    params = {k: _no_machine_path(v) for k, v in jsonable(dict(parameters)).items()}
    paths = [Path(raw) for raw in inputs]
    for path in paths:
        if not path.is_file():
            raise InputFileError("входной файл не найден; проверьте путь в параметрах справки.",
                                 file=path)
    base = _common_folder(paths)
    files = [{"path": _relative(path, base), "name": path.name, "size": path.stat().st_size,
              "sha256": sha256_file(path)} for path in paths]
    if seeds is None:
        seeds = {k: v for k, v in params.items() if "seed" in k.lower()}
    created = (now or _dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    pandoc = None
    try:
        import pypandoc

        pandoc = pypandoc.get_pandoc_version()
    except Exception:  # noqa: BLE001 - pandoc is optional for the manifest
        pass
    return {
        "schema": MANIFEST_SCHEMA,
        "created": created,
        "package": {"name": "proforient-diag", "version": __version__},
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "packages": {**{d: _version(d) for d in KEY_PACKAGES}, "pandoc": pandoc},
        "instrument_versions": jsonable(dict(instrument_versions or {})),
        "inputs": files,
        "parameters": params,
        "seeds": jsonable(dict(seeds)),
    }


def _common_folder(paths: list[Path]) -> Path | None:
    """The folder the inputs share (its own name is kept in the relative paths)."""
    if not paths:
        return None
    import os
    return Path(os.path.commonpath([str(p.resolve().parent) for p in paths])).parent


def _relative(path: Path, base: Path | None) -> str:
    """A path inside the data folder («data_samples/diagnostics/2026/MO01_2026.csv»), never the
    analyst's machine path."""
    if base is None:
        return path.name
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.name


def _no_machine_path(value):
    """A parameter that is an absolute path becomes the folder's or file's name."""
    if isinstance(value, str) and (value.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", value)):
        return Path(value).name
    return value


def _md_cell(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def inputs_digest(manifest: Mapping) -> str:
    """One SHA-256 over the names and digests of every input of the manifest (sorted): the
    fingerprint of the data a note was computed from, short enough to print in the note."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(manifest.get("inputs") or [], key=lambda f: f.get("name", "")):
        h.update(f"{f.get('name')}\x1f{f.get('sha256')}\n".encode("utf-8"))
    return h.hexdigest()


def _data_period(manifest: Mapping) -> str:
    years = sorted({int(y) for f in manifest.get("inputs") or []
                    for y in re.findall(r"(?<!\d)(20[1-3]\d)(?!\d)", str(f.get("name", "")))})
    if not years:
        return "—"
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]} годы"


def manifest_markdown(manifest: Mapping, *, heading: str = "## Паспорт расчёта",
                      manifest_name: str | None = None) -> str:
    """The calculation passport: the short Russian last section of a note.

    The note says what a reader needs to identify the calculation — when, by which version of
    the kit, on which instrument version, on data of which years, how many input files and their
    fingerprint, and the name of the manifest file that lists every input with its digest, the
    parameters, the seeds and the versions of the programs. That list stays in the manifest: a
    package list, dozens of hashes and parameter keys are not for an official reader.

    Parameters
    ----------
    manifest : mapping
        What :func:`build_manifest` returned.
    heading : str, default "## Паспорт расчёта"
        The section heading (Markdown).
    manifest_name : str, optional
        The manifest's file name (``diagnostics_2026.manifest.json``).

    Returns
    -------
    str
        Markdown: a heading, one sentence and a two-column table.
    """
    created = manifest.get("created")
    try:
        when = fmt_date(_dt.datetime.fromisoformat(created), time=True)
    except (TypeError, ValueError):
        when = str(created)
    pkg = manifest.get("package", {})
    versions = manifest.get("instrument_versions") or {}
    files = manifest.get("inputs") or []
    lines = [
        heading, "",
        "Сведения для проверки и повторения расчёта; полный перечень входных файлов с "
        "контрольными суммами, параметры расчёта и версии программ записаны в файле паспорта.", "",
        "| Показатель | Значение |", "|---|---|",
        f"| Дата и время расчёта | {when} |",
        f"| Версия комплекта proforient-diag | {_md_cell(pkg.get('version', '—'))} |",
    ]
    if versions:
        text = ", ".join(str(v) for v in versions.values())
        lines.append(f"| Версия инструмента | {_md_cell(text)} |")
    lines += [f"| Период данных | {_data_period(manifest)} |",
              f"| Входных файлов | {fmt_int(len(files))} |"]
    if files:
        digest = inputs_digest(manifest)
        grouped = " ".join(digest[i:i + 8] for i in range(0, len(digest), 8))  # wraps, stays legible
        lines.append(f"| Отпечаток входных данных (SHA-256) | {grouped} |")
    if manifest_name:
        lines.append(f"| Файл паспорта | {_md_cell(manifest_name)} |")
    return "\n".join(lines) + "\n"


def write_manifest(manifest: Mapping, path: str | Path) -> Path:
    """Write a manifest as UTF-8 JSON atomically (temporary file, then rename)."""
    from .export import atomic_write

    path = Path(path)
    text = json.dumps(manifest, ensure_ascii=False, indent=2)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
