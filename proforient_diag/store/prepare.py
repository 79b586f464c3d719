"""What one load writes: the rows of a load keyed by file name and pseudonym, and their counts.

Original respondent ids stop here: :func:`wave_tables` replaces them by keyed pseudonyms in every
table (answer sheets, scores, exclusions, issues, the score-missing log) before anything is
written; :func:`mask_names` keeps a person's name typed into a form cell out of the store.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..instrument import load_instrument
from ..privacy import mask_personal, pseudonymise, student_key
from ..roadmap import MonitoringSpec
from ..rows import file_accounting, file_of, is_empty
from ..scoring import score
from .schema import SCHEMA

__all__ = ["locate", "mask_names", "NAME_MASK", "register_digest", "score_versions",
           "wave_tables", "file_counts"]


def locate(frame: pd.DataFrame, path_to_name: dict[str, str]) -> pd.DataFrame:
    """Add ``file`` (the name) and ``sheet`` from a ``source_file`` label "path" or "path [sheet]"."""
    src = frame["source_file"].astype(str)
    labels = src.unique()  # one label per file or sheet: map the few distinct ones
    base = {lb: file_of(lb) for lb in labels}
    sheet = {lb: lb[len(base[lb]) + 2:-1] if lb != base[lb] else "" for lb in labels}
    return frame.assign(file=src.map({lb: path_to_name[b] for lb, b in base.items()}).to_numpy(),
                        sheet=src.map(sheet).to_numpy())


_NAME_LIKE = re.compile(
    r"^\s*[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?(?:\s+[А-ЯЁ][а-яё]+){1,2}\s*$"   # Фамилия Имя [Отчество]
    r"|[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s*[А-ЯЁ]\."                               # Фамилия И. О.
    r"|[А-ЯЁ]\.\s*[А-ЯЁ]\.\s*[А-ЯЁ][а-яё]+")                              # И. О. Фамилия
NAME_MASK = "похоже на ФИО — не сохранено, см. ячейку в файле"


def mask_names(values: pd.Series) -> np.ndarray:
    """Cell texts of issues as strings, with anything that looks like personal data masked.

    A school may write the responsible teacher's name into a yes/no cell, a student's phone into
    an answer cell; the cell is rejected and reported, but the text must not reach the store: a
    name is replaced by :data:`NAME_MASK`, an e-mail, a phone or a date by «значение скрыто (…)»
    (:func:`proforient_diag.privacy.mask_personal`), and a long text is cut.
    """
    v = pd.Series(values, dtype=object)
    out = mask_personal(v)
    names = v.map(lambda x: isinstance(x, str) and bool(_NAME_LIKE.search(x))).to_numpy()
    out[names] = NAME_MASK
    return out


def register_digest(year: int, schools: pd.DataFrame, enrolment: pd.DataFrame | None,
                     spec: MonitoringSpec) -> str:
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


def score_versions(resp: pd.DataFrame, instrument):
    """Scores of the accepted sheets per instrument version (the frame index is the row number)."""
    versions = sorted(int(v) for v in resp["instrument_version"].unique()) if len(resp) else []
    is_path = isinstance(instrument, Path) or str(instrument).endswith((".yaml", ".yml"))
    insts = {v: (load_instrument(instrument) if is_path else
                 load_instrument(str(instrument), version=v)) for v in versions}
    parts = [score(resp[resp["instrument_version"] == v], insts[v]) for v in versions]
    scores = pd.concat([p.scores for p in parts]) if parts else pd.DataFrame()
    missing = pd.concat([p.missing for p in parts], ignore_index=True) if parts else pd.DataFrame(
        columns=["source_file", "source_row", "respondent_id", "scale", "reason"])
    return insts, scores, missing


def _pids(ids: pd.Series, schools, key) -> np.ndarray:
    """Pseudonyms of (school, code) of log rows (None where a log row has no code)."""
    text = ids.astype(object).where(ids.notna(), "").astype(str).str.strip()
    ok = ~is_empty(text)
    school = (pd.Series(schools, index=ids.index) if schools is not None
              else pd.Series("", index=ids.index)).astype(object).where(lambda s: s.notna(), "")
    out = np.full(len(ids), None, dtype=object)
    if ok.any():
        out[ok] = pseudonymise(student_key(school[ok], text[ok]), key).to_numpy()
    return out


def wave_tables(year, resp, scores, missing, exclusions, issues, names, key) -> dict:
    """The rows of one load of answer sheets, keyed by file name and pseudonym (no original id)."""
    tables: dict[str, pd.DataFrame] = {}
    if len(resp):
        r = locate(resp, names)
        tables["responses"] = r.drop(columns=["source_file", "respondent_id"])
        item_cols = [c for c in resp.columns if c not in SCHEMA["responses"]
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
    for name, frame in (("exclusions", exclusions), ("issues", issues), ("score_missing", missing)):
        if len(frame):
            f = locate(frame.reset_index(drop=True), names)
            f["respondent_pid"] = _pids(f["respondent_id"], f.get("school_id"), key)
            if "value" in f:
                f["value"] = mask_names(f["value"])
            tables[name] = f.drop(columns=["respondent_id", "source_file"]).assign(year=year)
    return tables


def file_counts(files, names, accepted, excluded, issues) -> pd.DataFrame:
    """Per file name: format, encoding, rows (as read), accepted and excluded (counted from the
    outcomes, so that ``rows = accepted + excluded`` is checked) and issues."""
    c = file_accounting(files[["file", "format", "encoding", "rows"]], accepted["source_file"],
                        excluded["source_file"])
    c["file"] = c["file"].map(names)
    per = issues["file"].value_counts() if issues is not None else pd.Series(dtype=int)
    c["issues"] = c["file"].map(per).fillna(0).astype(int)
    return c.set_index("file")[["format", "encoding", "rows", "accepted", "excluded", "issues"]]
