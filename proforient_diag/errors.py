"""Exceptions of proforient-diag.

One base class, :class:`DiagError`, and a few narrow subclasses that carry the
place of the problem (file, row, column) as attributes, after papermill's
``exceptions.py``. Every message is one Russian sentence that names the place
and says what to do; the CLI prints ``str(exc)`` and exits non-zero, never a
traceback.
"""
from __future__ import annotations

from pathlib import Path


class DiagError(Exception):
    """Base class for every problem the kit reports to a person.

    Parameters
    ----------
    message : str
        A Russian sentence saying what is wrong and what to do.
    file : str or Path, optional
        The file the problem was found in.
    row : int, optional
        The 1-based row number in that file (as a spreadsheet shows it).
    column : str, optional
        The column (or YAML key) concerned.
    """

    def __init__(self, message: str, *, file: str | Path | None = None,
                 row: int | None = None, column: str | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"файл «{self.file}»")
        if self.row is not None:
            where.append(f"строка {self.row}")
        if self.column:
            where.append(f"столбец «{self.column}»")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InstrumentError(DiagError):
    """An instrument specification (YAML) is invalid."""


class InputFileError(DiagError):
    """An input file cannot be used at all (unreadable, not a table, no id column, wrong instrument)."""


class DataError(DiagError):
    """Data are unusable for a computation (too few rows, a constant item, an unknown group)."""


class ModelSyntaxError(DiagError):
    """A lavaan-style model description cannot be parsed."""


class PrivacyError(DiagError):
    """A table about to be published carries identifiers or unsuppressed small cells."""


class StoreError(DiagError):
    """The multi-year store cannot be read or written."""
