"""Row accounting: every row of every input table ends up accepted or excluded with its reason.

The one mechanism behind the answer sheets (:mod:`proforient_diag.ingest`) and the monitoring
forms (:mod:`proforient_diag.forms`):

* :class:`RowLedger` — the fate of the rows of one table read from a file: each row is accepted
  unless a check excludes it; the **first** reason wins (checks run from the most basic — an
  empty row — to the most specific), and cell-level problems are noted as issues without
  excluding the row;
* :func:`first_wins` — a second record of the same unit (a respondent in a school and year, a
  school's form of a year) is excluded, naming where the first one was accepted;
* :func:`file_accounting` — per file, accepted and excluded are counted from the outcomes and
  compared with the rows the reader found in the file, so a row lost anywhere breaks the identity
  ``rows = accepted + excluded`` loudly instead of silently.

The empty-cell vocabulary
-------------------------
:data:`EMPTY_CELLS` is the one list of cell texts that mean «no value» (case and surrounding
spaces ignored): ``""``, ``nan``, ``none``, ``null``, ``n/a``, ``na``, ``#н/д``, ``-`` and ``—``.
The one exception is documented where it applies: in a **yes/no** column of a monitoring form a
«-» is an answer («нет», as «+» is «да»: schools tick forms that way), so the yes/no reader looks
a value up among the spec's yes/no spellings *before* asking whether it is empty; everywhere else
(numbers, answer codes, ids, schools) a dash is an empty cell.

Own code, and why: pandas has no notion of «this row was excluded for this reason»; the ledger is
a few numpy object arrays, vectorised over rows.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["EMPTY_CELLS", "is_empty", "RowLedger", "first_wins", "file_accounting",
           "file_of"]

#: Cell texts that mean «no value» (lower-case); see the module docstring for the yes/no exception.
EMPTY_CELLS = frozenset({"", "nan", "none", "null", "n/a", "na", "#н/д", "-", "—"})


def is_empty(texts: pd.Series) -> np.ndarray:
    """Boolean array: the cell is empty by :data:`EMPTY_CELLS` (texts stripped, case ignored)."""
    return texts.astype(str).str.strip().str.lower().isin(EMPTY_CELLS).to_numpy()


def file_of(label: str) -> str:
    """The file of a source label ``"path"`` or ``"path [sheet]"``."""
    label = str(label)
    if label.endswith("]") and " [" in label:
        return label[: label.rindex(" [")]
    return label


class RowLedger:
    """The fate of each row of one table: accepted, or excluded with the first reason.

    Parameters
    ----------
    rows : array of int
        The file row number of each table row (as a spreadsheet shows it, or the physical line
        of a text file where the record starts).

    Attributes
    ----------
    rows : ndarray of int
        File row number of each table row.
    reason, column : ndarray of object
        The exclusion reason and the column it concerns (None while the row is accepted).
    """

    def __init__(self, rows) -> None:
        self.rows = np.asarray(rows, dtype=int)
        n = len(self.rows)
        self.reason = np.full(n, None, dtype=object)
        self.column = np.full(n, None, dtype=object)
        self._issues: list[pd.DataFrame] = []

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def kept(self) -> np.ndarray:
        """Rows not excluded (boolean)."""
        return np.equal(self.reason, None)

    def exclude(self, mask, reason: str | Callable[[int], str] | np.ndarray, column) -> None:
        """Exclude the rows of ``mask`` not excluded yet.

        ``reason`` is one text, a function of the row position, or an array aligned to the
        table; ``column`` likewise one name or an array.
        """
        m = np.asarray(mask, dtype=bool) & self.kept
        if not m.any():
            return
        if isinstance(reason, str):
            self.reason[m] = reason
        elif callable(reason):
            self.reason[m] = np.array([reason(i) for i in np.flatnonzero(m)], dtype=object)
        else:
            self.reason[m] = np.asarray(reason, dtype=object)[m]
        self.column[m] = column if isinstance(column, str) or column is None else \
            np.asarray(column, dtype=object)[m]

    def note(self, mask, column, values, reason, **context) -> None:
        """A cell-level issue on the rows of ``mask`` (the row is kept; the cell was set empty).

        ``values`` and ``reason`` are one value or arrays aligned to the table; ``context``
        adds columns (e.g. the respondent id or school code), each one value or an array.
        """
        m = np.asarray(mask, dtype=bool)
        if not m.any():
            return
        def pick(v):
            return v if np.ndim(v) == 0 else np.asarray(v, dtype=object)[m]
        frame = {"source_row": self.rows[m], **{k: pick(v) for k, v in context.items()},
                 "column": column, "value": pick(values), "reason": pick(reason)}
        self._issues.append(pd.DataFrame(frame))

    def extend_issues(self, frame: pd.DataFrame) -> None:
        """Issues already built as a frame (``source_row`` and the log's other columns)."""
        if len(frame):
            self._issues.append(frame)

    def exclusions(self, **context) -> pd.DataFrame:
        """The excluded rows: source_row, the ``context`` columns, column, reason."""
        x = ~self.kept
        cols = {k: (v if np.ndim(v) == 0 else np.asarray(v, dtype=object)[x])
                for k, v in context.items()}
        return pd.DataFrame({"source_row": self.rows[x], **cols, "column": self.column[x],
                             "reason": self.reason[x]})

    def issues(self, columns: list[str], *, kept_only: bool = True) -> pd.DataFrame:
        """The noted issues (of accepted rows only, by default) with ``columns`` in order."""
        if not self._issues:
            return pd.DataFrame(columns=columns)
        out = pd.concat(self._issues, ignore_index=True)
        if kept_only:   # file-level notes (no row) stay
            row = pd.to_numeric(out["source_row"], errors="coerce")
            out = out[row.isna().to_numpy() | np.isin(row.fillna(-1), self.rows[self.kept])]
        return out.reindex(columns=columns)


def first_wins(keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which records repeat an earlier one, and the position of that earlier (accepted) one.

    Returns ``(repeat, first)``: a boolean array, and for each repeated record the position of the
    first record with its key (−1 elsewhere). Keys with a missing value never repeat.
    """
    k = keys.reset_index(drop=True)
    repeat = k.duplicated(keep="first").to_numpy() & k.notna().to_numpy()
    first = np.full(len(k), -1)
    if repeat.any():
        pos = pd.Series(np.arange(len(k)))[~k.duplicated(keep="first").to_numpy()]
        where = pd.Series(pos.to_numpy(), index=k[~k.duplicated(keep="first")].to_numpy())
        first[repeat] = where.loc[k[repeat].to_numpy()].to_numpy()
    return repeat, first


def file_accounting(files: pd.DataFrame, accepted: pd.Series, excluded: pd.Series) -> pd.DataFrame:
    """Count each file's accepted and excluded rows from the outcomes and check the identity.

    Parameters
    ----------
    files : DataFrame
        One row per file with ``file`` and ``rows`` (the rows the reader found in the file).
    accepted, excluded : Series
        The source label (``file`` or ``file [sheet]``) of every accepted and every excluded row.

    Returns
    -------
    DataFrame
        ``files`` with ``accepted`` and ``excluded`` set.

    Raises
    ------
    RuntimeError
        When a file's rows are not all accounted for: an internal guarantee, not a data problem.
    """
    out = files.copy()
    acc = accepted.map(file_of).value_counts() if len(accepted) else pd.Series(dtype=int)
    exc = excluded.map(file_of).value_counts() if len(excluded) else pd.Series(dtype=int)
    out["accepted"] = out["file"].map(acc).fillna(0).astype(int).to_numpy()
    out["excluded"] = out["file"].map(exc).fillna(0).astype(int).to_numpy()
    bad = out[out["rows"] != out["accepted"] + out["excluded"]]
    if len(bad):
        raise RuntimeError(f"accounting identity broken for {bad['file'].tolist()}")
    return out
