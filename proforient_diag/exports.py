"""What ``score`` writes: the scored answer sheets and their logs, as files for people.

:func:`score_reading` scores an :class:`~proforient_diag.ingest.IngestResult` per instrument
version; :func:`write_score_files` writes the scores, the exclusions, the cell issues, the
scores that could not be computed and the per-file accounting as CSV and XLSX through
:mod:`proforient_diag.outputs` (formulas neutralised, file names instead of machine paths). With
a key, participant codes are replaced by the same pseudonyms as in the store (of the school and
the code, :func:`proforient_diag.privacy.student_key`); the key itself is never written.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputFileError
from .instrument import load_instrument
from .outputs import write_table
from .privacy import pseudonymise, student_key
from .scoring import score

__all__ = ["score_reading", "write_score_files", "ScoreFiles", "check_output_folder"]


@dataclass(frozen=True)
class ScoreFiles:
    """What was written: the paths, the rows scored, and notes for the person."""

    paths: tuple
    n_scored: int
    notes: tuple


def check_output_folder(out: Path) -> Path:
    """``out`` as a folder to write into (an existing file there is refused before any work)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputFileError(f"«{out.name}» — это файл, а для результатов нужна папка; укажите в "
                             "--out папку (она будет создана, если её нет).", file=out)
    return out


def score_reading(res, instrument: str = "psd") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores and the score-missing log of every accepted answer sheet, per instrument version."""
    parts, missing = [], []
    for v in res.versions:
        rows = res.responses[res.responses["instrument_version"] == v]
        sc = score(rows, load_instrument(instrument, v))
        parts.append(sc.scores)
        missing.append(sc.missing)
    scores = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    miss = pd.concat(missing, ignore_index=True) if missing else pd.DataFrame()
    return scores, miss


def _pseudonymised(frame: pd.DataFrame, key, school_of: pd.Series | None) -> pd.DataFrame:
    if "respondent_id" not in frame or not len(frame):
        return frame
    out = frame.copy()
    ok = out["respondent_id"].notna()
    school = out["school_id"] if "school_id" in out else school_of
    if school is None:
        school = pd.Series("", index=out.index)
    ids = student_key(pd.Series(school).reindex(out.index).fillna(""), out["respondent_id"].fillna(""))
    out["respondent_id"] = pseudonymise(ids, key).where(ok, None)
    return out


def write_score_files(res, out: Path, *, instrument: str = "psd", key=None) -> ScoreFiles:
    """Write scores, exclusions, issues, missing scores and files under ``out`` (see the module
    docstring)."""
    out = check_output_folder(out)
    scores, missing = score_reading(res, instrument)
    logs = {"exclusions": res.exclusions, "issues": res.issues, "missing_scores": missing}
    tables = {"scores": scores.drop(columns=[c for c in ("date",) if c in scores]), **logs}
    if key is not None:
        tables = {k: _pseudonymised(v, key, None) for k, v in tables.items()}
    tables["files"] = res.files
    written, notes = [], []
    for name, frame in tables.items():
        paths, note = write_table(frame, out / name)
        written += paths
        if note:
            notes.append(note)
    return ScoreFiles(tuple(written), len(scores), tuple(notes))
