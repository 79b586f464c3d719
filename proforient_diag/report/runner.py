"""Running parameterised notebooks into notes (papermill), one or many at a time.

:func:`run_note` executes a notebook with papermill, appends the «Паспорт
расчёта» section (:mod:`.manifest`), keeps the executed notebook as
``NAME.ipynb`` (it contains code: it is a working file, not a published note),
exports ``NAME.html`` / ``NAME.docx`` / ``NAME.pdf`` without code
(:mod:`.export`) and writes ``NAME.manifest.json``. :func:`run_batch` runs
several notes in parallel processes; :func:`write_index` writes an
``index.html`` linking them.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import html as _html
import json
import multiprocessing
import os
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jupyter_client.manager import KernelManager

from ..errors import DiagError, InputFileError, NoteRunError
from .export import (
    DEFAULT_CITY, DEFAULT_ORGANISATION, FORMATS, check_formats, template, atomic_write,
    export_notebook,
)
from .manifest import jsonable, build_manifest, manifest_markdown, sha256_file, write_manifest

STATUS_OK = "готово"
STATUS_FAILED = "ошибка"
FORMAT_LABELS = {"html": "HTML", "docx": "Word (DOCX)", "pdf": "PDF"}


class IPCKernelManager(KernelManager):
    """A Jupyter kernel manager that talks to the kernel over local sockets, not TCP.

    The notes run on one machine; ipc transport opens no ports and keeps ipykernel from warning
    on stderr that its TCP channels are unencrypted. Not available on Windows (TCP is used there).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("transport", "ipc")
        # a socket path of its own: kernels of notes running in parallel must never share one
        kwargs.setdefault("ip", str(Path(tempfile.gettempdir()) / f"proforient-kernel-{uuid.uuid4().hex}"))
        super().__init__(**kwargs)


@dataclass(frozen=True)
class NoteResult:
    """What :func:`run_note` produced.

    Attributes
    ----------
    name, title : str
        The file stem and the note's title.
    outputs : dict
        ``{format: path}`` of the published files.
    notebook : Path
        The executed notebook (``NAME.ipynb``; contains code, not published).
    manifest_path : Path
        ``NAME.manifest.json``.
    manifest : dict
        The manifest itself.
    """

    name: str
    title: str
    outputs: dict = field(default_factory=dict)
    notebook: Path | None = None
    manifest_path: Path | None = None
    manifest: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per output file: name, format, path, SHA-256."""
        return pd.DataFrame(
            [{"name": self.name, "format": fmt, "path": str(p), "sha256": sha256_file(p)}
             for fmt, p in self.outputs.items()],
            columns=["name", "format", "path", "sha256"])

    def summary(self) -> str:
        """A short Russian description."""
        files = ", ".join(Path(p).name for p in self.outputs.values())
        return f"Справка «{self.title}» сформирована: {files}."


def _papermill_error(exc, notebook: Path) -> NoteRunError:
    cell = getattr(exc, "exec_count", None)
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    where = f" в ячейке [{cell}]" if cell is not None else ""
    return NoteRunError(f"блокнот остановился с ошибкой{where}: {ename}: {evalue}",
                        file=notebook, cell=cell, ename=ename, evalue=evalue)


def run_note(notebook: str | Path, output_dir: str | Path, parameters: Mapping | None = None,
             *, name: str, title: str, formats: Iterable[str] = FORMATS,
             kernel_name: str = "python3", manifest: Mapping | None = None,
             inputs: Iterable[str | Path] = (), instrument_versions: Mapping | None = None,
             seeds: Mapping | None = None, organisation: str = DEFAULT_ORGANISATION,
             city: str = DEFAULT_CITY, year: int | None = None,
             keep_notebook: bool = True, execution_timeout: int | None = 1800) -> NoteResult:
    """Execute a parameterised notebook and publish it as HTML, DOCX and PDF.

    Parameters
    ----------
    notebook : path
        The notebook (committed without outputs, with a cell tagged
        ``parameters``).
    output_dir : path
        Where ``NAME.html``, ``NAME.docx``, ``NAME.pdf``, ``NAME.ipynb`` and
        ``NAME.manifest.json`` go (created if missing).
    parameters : mapping, optional
        Injected by papermill after the ``parameters`` cell (paths become
        strings).
    name : str
        The file stem of the outputs.
    title : str
        The note's title for the title page, e.g. «Аналитическая справка по
        результатам диагностики …, 2026 год».
    formats : iterable of {"html", "docx", "pdf"}
        The published formats; all come from the same executed notebook.
    kernel_name : str, default "python3"
        The Jupyter kernel.
    manifest : mapping, optional
        A ready manifest; by default built from ``parameters``, ``inputs``,
        ``instrument_versions`` and ``seeds`` (:func:`.manifest.build_manifest`).
    inputs, instrument_versions, seeds
        See :func:`.manifest.build_manifest`.
    organisation, city, year
        The title page («ГБУ ДПО «КРИРПО»», «Кемерово, 2026»).
    keep_notebook : bool, default True
        Keep the executed notebook as ``NAME.ipynb``.
    execution_timeout : int, optional
        Seconds a cell may run.

    Returns
    -------
    NoteResult

    Raises
    ------
    proforient_diag.errors.InputFileError
        If the notebook or an input file does not exist.
    NoteRunError
        If a cell raised; the partly executed notebook is kept as
        ``NAME.error.ipynb`` for diagnosis.
    proforient_diag.report.export.MissingToolError
        If pandoc or WeasyPrint's system libraries are missing.

    Notes
    -----
    Each file is written to a temporary file in ``output_dir`` and renamed,
    so an interrupted run leaves no half-written note.
    """
    import nbformat
    import papermill as pm
    from nbformat.v4 import new_markdown_cell

    notebook = Path(notebook)
    formats = check_formats(formats)
    if not notebook.is_file():
        raise InputFileError("блокнот справки не найден.", file=notebook)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    params = jsonable(dict(parameters or {}))
    if manifest is None:
        manifest = build_manifest(params, inputs, instrument_versions, seeds)
    manifest = dict(manifest)

    executed: dict = {}

    def execute(tmp: Path) -> None:
        out = tmp.with_suffix(".ipynb")  # papermill wants an .ipynb name
        try:
            extra = {} if os.name == "nt" else {  # ipc: no TCP ports, no kernel warning about them
                "kernel_manager_class": "proforient_diag.report.runner.IPCKernelManager"}
            pm.execute_notebook(str(notebook), str(out), parameters=params,
                                kernel_name=kernel_name, progress_bar=False,
                                log_output=False, cwd=str(notebook.parent),
                                execution_timeout=execution_timeout, **extra)
        except pm.PapermillExecutionError as exc:
            if out.exists():
                os.replace(out, output_dir / f"{name}.error.ipynb")
            raise _papermill_error(exc, notebook) from None
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        nb = nbformat.read(str(out), as_version=4)
        out.unlink()
        passport = new_markdown_cell(manifest_markdown(manifest, manifest_name=f"{name}.manifest.json"))
        passport.metadata["tags"] = ["manifest"]
        nb.cells.append(passport)
        executed["nb"] = nb
        nbformat.write(nb, str(tmp))

    nb_path = output_dir / f"{name}.ipynb"
    if keep_notebook:
        atomic_write(nb_path, execute)
    else:
        scratch = atomic_write(output_dir / f".{name}.scratch.ipynb", execute)
        scratch.unlink()
        nb_path = None
    (output_dir / f"{name}.error.ipynb").unlink(missing_ok=True)

    outputs = export_notebook(executed["nb"], output_dir, name=name, title=title,
                              formats=formats, organisation=organisation, city=city, year=year)
    manifest["outputs"] = {fmt: {"file": p.name, "sha256": sha256_file(p)}
                           for fmt, p in outputs.items()}
    manifest["note"] = {"name": name, "title": title, "notebook": notebook.name}
    manifest_path = write_manifest(manifest, output_dir / f"{name}.manifest.json")
    return NoteResult(name=name, title=title, outputs=outputs, notebook=nb_path,
                      manifest_path=manifest_path, manifest=manifest)


# --------------------------------------------------------------------------- batches


def _run_job(job: dict) -> dict:
    """Run one job in a worker; never raises (the cause goes into the row)."""
    name = str(job.get("name", "?"))
    title = str(job.get("title", name))
    try:
        result = run_note(**job)
    except DiagError as exc:
        return {"name": name, "title": title, "status": STATUS_FAILED, "error": str(exc),
                "outputs": ""}
    except Exception as exc:  # noqa: BLE001 - reported in the status table
        return {"name": name, "title": title, "status": STATUS_FAILED,
                "error": f"непредвиденная ошибка {type(exc).__name__}: {exc}", "outputs": ""}
    return {"name": name, "title": title, "status": STATUS_OK, "error": "",
            "outputs": "; ".join(str(p) for p in result.outputs.values())}


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def run_batch(jobs: Iterable[Mapping], *, n_jobs: int | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Run several notes in parallel processes; one failure does not stop the others.

    Parameters
    ----------
    jobs : iterable of mapping
        Keyword arguments of :func:`run_note` for each note (``notebook``,
        ``output_dir``, ``parameters``, ``name``, ``title``, ...).
    n_jobs : int, optional
        Worker processes; by default the available cores (at most one per
        job). With 1 the notes run one after another in this process.
    progress : bool, default True
        Show a tqdm progress bar («Формирование справок»).

    Returns
    -------
    pandas.DataFrame
        One row per job in the given order: ``name``, ``title``, ``status``
        («готово» or «ошибка»), ``error`` (the Russian cause, empty when done)
        and ``outputs`` (paths joined by «; »).

    Raises
    ------
    proforient_diag.errors.DataError
        If a job lacks ``name`` or names repeat (outputs would overwrite).
    """
    from tqdm.auto import tqdm

    from ..errors import DataError

    jobs = [dict(j) for j in jobs]
    names = [j.get("name") for j in jobs]
    if any(not n for n in names):
        raise DataError("У каждой справки в пакете должно быть имя (name).")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"Имена справок повторяются: {', '.join(dup)}; выходные файлы "
                        "перезаписали бы друг друга.")
    columns = ["name", "title", "status", "error", "outputs"]
    if not jobs:
        return pd.DataFrame(columns=columns)
    workers = max(1, min(n_jobs or _available_cores(), len(jobs)))
    rows: list[dict | None] = [None] * len(jobs)
    bar = tqdm(total=len(jobs), desc="Формирование справок", unit="справка", disable=not progress)
    try:
        if workers == 1:
            for i, job in enumerate(jobs):
                rows[i] = _run_job(job)
                bar.update()
        else:
            ctx = multiprocessing.get_context("spawn")  # no fork of a process with threads/zmq
            with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                futures = {pool.submit(_run_job, job): i for i, job in enumerate(jobs)}
                for fut in cf.as_completed(futures):
                    i = futures[fut]
                    try:
                        rows[i] = fut.result()
                    except Exception as exc:  # noqa: BLE001 - a worker died
                        rows[i] = {"name": names[i], "title": jobs[i].get("title", names[i]),
                                   "status": STATUS_FAILED, "outputs": "",
                                   "error": f"процесс справки завершился аварийно: {exc}"}
                    bar.update()
    finally:
        bar.close()
    return pd.DataFrame(rows, columns=columns)


STATUS_EARLIER = "готово (в прежнем запуске)"


def _notes_on_disk(output_dir: Path, known: set) -> list[dict]:
    """Notes of the folder written by earlier runs (by their manifests), not in ``known``."""
    out = []
    for m in sorted(output_dir.glob("*.manifest.json")):
        name = m.name[: -len(".manifest.json")]
        if name in known:
            continue
        try:
            man = json.loads(m.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        files = [output_dir / o["file"] for o in (man.get("outputs") or {}).values()
                 if isinstance(o, dict) and (output_dir / str(o.get("file", ""))).is_file()]
        if files:
            out.append({"name": name, "title": (man.get("note") or {}).get("title", name),
                        "status": STATUS_EARLIER, "error": "",
                        "outputs": "; ".join(str(f) for f in files)})
    return out


def write_index(output_dir: str | Path, results, title: str) -> Path:
    """Write ``index.html`` linking every note of a batch and every note of the folder that
    an earlier run wrote (found by its manifest), so the page lists the year's notes on disk.

    Parameters
    ----------
    output_dir : path
        The directory of ``index.html``; links are relative to it.
    results : pandas.DataFrame or iterable of NoteResult
        What :func:`run_batch` returned, or results of :func:`run_note`.
    title : str
        The page heading.

    Returns
    -------
    Path
        ``output_dir / "index.html"``.
    """
    output_dir = Path(output_dir)
    if isinstance(results, pd.DataFrame):
        records = results.to_dict("records")
    else:
        records = [{"name": r.name, "title": r.title, "status": STATUS_OK, "error": "",
                    "outputs": "; ".join(str(p) for p in r.outputs.values())} for r in results]
    records += _notes_on_disk(output_dir, {r.get("name") for r in records})
    esc = _html.escape
    rows = []
    for rec in records:
        paths = [Path(p) for p in str(rec.get("outputs") or "").split("; ") if p]
        links = []
        for p in paths:
            label = FORMAT_LABELS.get(p.suffix.lstrip("."), p.suffix.lstrip(".").upper())
            href = os.path.relpath(p, output_dir) if p.is_absolute() else str(p)
            links.append(f'<a href="{esc(Path(href).as_posix())}">{esc(label)}</a>')
        status = rec.get("status", "")
        # the cause stays in the run's output: an error text may quote a cell of the data
        cause = ("<br><small>справка не сформирована; причина — в сообщении, которое выдала "
                 "команда при запуске</small>" if rec.get("error") else "")
        rows.append(f"<tr><td>{esc(str(rec.get('title') or rec.get('name')))}</td>"
                    f"<td>{' · '.join(links) or '—'}</td><td>{esc(str(status))}{cause}</td></tr>")
    from ..fmt import fmt_date, fmt_int

    done = sum(1 for r in records if r.get("status") in (STATUS_OK, STATUS_EARLIER))
    body = (
        f"<h1>{esc(title)}</h1>"
        f"<p>Справок: {fmt_int(len(records))}, сформировано: {fmt_int(done)}. "
        f"Дата формирования: {fmt_date(_dt.date.today())}.</p>"
        '<table class="pd-table"><thead><tr><th>Справка</th><th>Файлы</th><th>Статус</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    page = ('<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8">'
            f"<title>{esc(title)}</title><style>{template('note.css').replace('{{serif}}', 'serif')}</style></head>"
            f"<body><main>{body}</main></body></html>")
    return atomic_write(output_dir / "index.html",
                        lambda tmp: tmp.write_text(page, encoding="utf-8"))
