"""Reading survey exports: the answer sheets of a year, every row accounted for.

One row in, one row out: every data row of every file ends up either among the accepted rows or
in the exclusions log with its reason, and the counts add up per file (checked on every call:
the rows a file holds come from the reader, which cross-checks them against the file's lines).
Raw files are opened read-only and never rewritten.

:func:`read_responses` walks the files (folders recursively; a file named twice is read once;
files that cannot be read in a folder are listed with the reason instead of stopping the run),
reads each with :func:`proforient_diag.readers.read_table` (formats, encodings, delimiters, the
header), validates each sheet with :func:`proforient_diag.answers.validate_sheet` (column
mapping, exclusions, cell issues — the rules are listed there), and keeps the first answer sheet
of a respondent (a code in a school) in a year across all files.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pandas as pd

from .errors import InputFileError
from .instrument import Instrument, load_instrument
from .answers import DEFAULT_COLUMNS, known_headers, validate_sheet
from .readers import SUPPORTED, read_table, sha256_file
from .region import municipality_lookup
from .rows import file_accounting, file_of, first_wins

__all__ = ["read_responses", "IngestResult", "DEFAULT_COLUMNS", "read_table", "SUPPORTED",
           "resolve_inputs", "scan_inputs", "sha256_file"]


@dataclass(frozen=True)
class IngestResult:
    """What :func:`read_responses` accepted and what it did not.

    Attributes
    ----------
    responses : DataFrame
        Accepted rows: ``source_file``, ``source_row`` (the row number as a spreadsheet shows it),
        ``respondent_id``, ``year``, ``date``, ``school_id``, ``municipality_code``,
        ``municipality``, ``grade``, ``band``, ``sex``, ``instrument_version``, ``n_answered``,
        ``straightlining``, then one float column per item (NaN = no answer).
    exclusions : DataFrame
        Rows not accepted: source_file, source_row, respondent_id, column, reason (Russian).
    issues : DataFrame
        Cell-level corrections and file-level notes: source_file, source_row, respondent_id,
        column, value, reason.
    files : DataFrame
        Per file: file, sha256, format, encoding, rows, accepted, excluded.
    """

    responses: pd.DataFrame
    exclusions: pd.DataFrame
    issues: pd.DataFrame
    files: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.responses

    def summary(self) -> pd.DataFrame:
        """Per-file accounting with Russian headers."""
        f = self.files.copy()
        reasons = (self.exclusions.assign(source_file=self.exclusions["source_file"].map(file_of))
                   .groupby("source_file")["reason"]
                   .agg(lambda r: "; ".join(f"{k}: {v}" for k, v in r.str.replace(r" \(.*", "", regex=True)
                                            .value_counts().items())))
        f["Причины исключения"] = f["file"].map(reasons).fillna("")
        if "note" in f:
            f["Причины исключения"] = (f["Причины исключения"] + " " + f.pop("note")).str.strip()
        return f.rename(columns={"file": "Файл", "rows": "Строк", "accepted": "Принято",
                                 "excluded": "Исключено", "format": "Формат", "encoding": "Кодировка"}
                        ).drop(columns=["sha256"])

    @property
    def versions(self) -> list[int]:
        return sorted(int(v) for v in self.responses["instrument_version"].dropna().unique())


# -- reading files ----------------------------------------------------------------------------

def scan_inputs(paths) -> tuple[list[tuple[Path, bool]], list[tuple[Path, str]]]:
    """Files to read, each with whether it was found in a folder, and files found in folders that
    cannot be read (with the reason). A file named twice is read once."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: dict[Path, bool] = {}
    skipped: list[tuple[Path, str]] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for q in sorted(q for q in p.rglob("*") if q.is_file()):
                if q.name.startswith(("~$", ".")):
                    continue
                if q.suffix.lower() in (*SUPPORTED, ".xls"):  # an .xls is named, not skipped
                    out.setdefault(q.resolve(), True)
                else:
                    skipped.append((q, f"формат «{q.suffix or 'без расширения'}» не поддерживается — "
                                       "файл не прочитан; сохраните его как CSV или XLSX"))
        else:
            out.setdefault(p.resolve() if p.exists() else p, False)
    if not out:
        raise InputFileError("не найдено ни одного файла с ответами (CSV, XLSX, SAV, Parquet).",
                             file=str(paths[0]) if paths else None)
    return list(out.items()), skipped


def resolve_inputs(paths) -> list[Path]:
    """The files to read (folders searched recursively; a file named twice is read once)."""
    return [p for p, _ in scan_inputs(paths)[0]]


# -- the main entry ---------------------------------------------------------------------------

def read_responses(paths: str | Path | Iterable[str | Path], instrument: str | Path = "psd", *,
                   year: int | None = None, columns: dict[str, list[str] | str] | None = None,
                   min_answered_share: float = 0.5) -> IngestResult:
    """Read, map and validate survey exports.

    Parameters
    ----------
    paths : path, folder or list of them
        Files (CSV, XLSX, SAV, Parquet) or folders searched recursively.
    instrument : str or Path
        Instrument id or YAML path; the version in force in each row's year is used.
    year : int, optional
        The survey year of these files. Default: a ``year`` column, else the year of a date column.
    columns : dict, optional
        Extra header names for the context fields, e.g. ``{"school_id": ["Наименование ОУ"]}``.
    min_answered_share : float
        A row answered on fewer than this share of its form's items is excluded (default one half).

    Returns
    -------
    IngestResult

    Raises
    ------
    InputFileError
        When a file cannot be used at all (unreadable, empty, no id column, wrong instrument).
    """
    names = {k: list(v) for k, v in DEFAULT_COLUMNS.items()}
    for k, v in (columns or {}).items():
        if k not in names:
            raise InputFileError(f"неизвестное поле контекста «{k}»; допустимы: {', '.join(names)}.")
        names[k] = ([v] if isinstance(v, str) else list(v)) + names[k]
    mo_lookup = municipality_lookup()
    accepted_parts, excl_parts, issue_parts, file_rows = [], [], [], []
    is_path = isinstance(instrument, Path) or str(instrument).endswith((".yaml", ".yml"))
    cache: dict[int, Instrument] = {}

    def inst_for(y: int) -> Instrument:
        if y not in cache:
            cache[y] = load_instrument(instrument) if is_path else load_instrument(str(instrument), year=y)
        return cache[y]

    known = known_headers([inst_for(int(year) if year else 9999)], names)
    found, skipped = scan_inputs(paths)
    for path, in_folder in found:
        try:
            sheets, facts = read_table(path, known=known)
            parts = []
            for sh in sheets:
                res = validate_sheet(sh, path, inst_for, names, mo_lookup, year, min_answered_share,
                                     must_use=len(sheets) == 1)
                if res is not None:
                    parts.append((len(sh.frame), res))
            if not parts:
                raise InputFileError("ни на одном листе не найдены столбцы заданий инструмента; "
                                     f"проверьте, что это выгрузка анкеты «{instrument}».", file=path)
        except InputFileError as exc:
            if not in_folder:
                raise
            skipped.append((path, f"файл не прочитан: {exc.message}"))
            continue
        for _, (acc, exc_, iss) in parts:
            accepted_parts.append(acc)
            excl_parts.append(exc_)
            issue_parts.append(iss)
        file_rows.append({"file": str(path), "sha256": sha256_file(path), "format": facts["format"],
                          "encoding": facts.get("encoding", ""), "delimiter": facts.get("delimiter", ""),
                          "rows": sum(k for k, _ in parts),
                          "note": ""})
    for path, why in skipped:  # listed, so that nothing in the folder goes unmentioned
        file_rows.append({"file": str(path), "sha256": sha256_file(path), "format": path.suffix.lstrip("."),
                          "encoding": "", "delimiter": "", "rows": 0, "note": why})
        issue_parts.append(pd.DataFrame([{"source_file": str(path), "source_row": pd.NA, "respondent_id": None,
                                          "school_id": None, "column": None, "value": None, "reason": why}]))

    responses = pd.concat(accepted_parts, ignore_index=True) if accepted_parts else pd.DataFrame()
    exclusions = pd.concat(excl_parts, ignore_index=True) if excl_parts else _empty_log()
    issues = pd.concat(issue_parts, ignore_index=True) if issue_parts else _empty_log(value=True)
    if len(responses):
        responses, exclusions = _repeated_sheets(responses, exclusions)
        all_items = [i for v in sorted(cache) for i in cache[v].item_ids]
        item_cols = list(dict.fromkeys(c for c in all_items if c in responses.columns))
        ctx_cols = [c for c in responses.columns if c not in item_cols]
        responses = responses[ctx_cols + item_cols]
    files = pd.DataFrame(file_rows, columns=["file", "sha256", "format", "encoding", "delimiter",
                                             "rows", "note"])
    accepted = responses["source_file"] if len(responses) else pd.Series(dtype=object)
    files = file_accounting(files, accepted, exclusions["source_file"])
    files = files[["file", "sha256", "format", "encoding", "delimiter", "rows", "accepted",
                   "excluded", "note"]]
    return IngestResult(responses, exclusions, issues, files)


def _repeated_sheets(responses: pd.DataFrame, exclusions: pd.DataFrame):
    """One answer sheet per respondent and year across all files: the first is kept.

    Codes are unique within a school (schools assign them), so a repeat is the same code in the
    same school and year.
    """
    key = (responses["year"].astype(str) + "\x00" + responses["school_id"].astype(str) + "\x00"
           + responses["respondent_id"].astype(str))
    repeat, first = first_wins(key)
    if not repeat.any():
        return responses, exclusions
    d, f = responses.loc[repeat], responses.iloc[first[repeat]]
    excl = pd.DataFrame({
        "source_file": d["source_file"].to_numpy(), "source_row": d["source_row"].to_numpy(),
        "respondent_id": d["respondent_id"].to_numpy(), "school_id": d["school_id"].to_numpy(),
        "column": "respondent_id",
        "reason": [f"повторная анкета участника (первая принята: {Path(fl).name}, строка {r})"
                   for fl, r in zip(f["source_file"], f["source_row"])]})
    return (responses.loc[~repeat].reset_index(drop=True),
            pd.concat([exclusions, excl], ignore_index=True))


def _empty_log(value: bool = False) -> pd.DataFrame:
    cols = ["source_file", "source_row", "respondent_id", "school_id", "column"] + \
        (["value"] if value else []) + ["reason"]
    return pd.DataFrame(columns=cols)
