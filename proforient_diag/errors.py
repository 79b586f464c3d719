"""Exceptions of proforient-diag: one base class and every narrow one, in one place.

After papermill's ``exceptions.py``: one base class, :class:`DiagError`, and narrow subclasses that
carry the place of the problem (file, row, column) as attributes. Every message is one Russian
sentence that names the place and says what to do; the CLI prints ``str(exc)`` and exits non-zero,
never a traceback. No module defines an exception of its own: they are all here.

The hierarchy::

    DiagError                      anything the kit reports to a person
    ├── OptionError (ValueError)   an option of a function or command has a value it does not allow
    ├── InstrumentError            an instrument specification (YAML) is invalid
    │   └── MonitoringSpecError    the roadmap monitoring specification (YAML) is invalid
    ├── InputFileError             an input file cannot be used at all
    │   └── FormError              a monitoring form file cannot be used at all
    ├── DataError                  data are unusable for a computation
    │   ├── FactorDataError        items cannot be factor-analysed
    │   ├── OmegaError             omega cannot be computed for these items or options
    │   └── ConvergenceError       an iterative estimator did not converge
    ├── ModelSyntaxError           a lavaan-style model description cannot be parsed
    ├── PrivacyError               a table about to be published carries identifiers or small cells
    ├── StoreError                 the multi-year store cannot be read or written
    │   └── StoreLockedError       the store is held for writing by another process
    ├── ExportError                a note could not be exported (pandoc or WeasyPrint failed)
    │   └── MissingToolError       a program or library needed for an output format is missing
    └── NoteRunError               a notebook stopped with an error while a note was computed
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["DiagError", "OptionError", "InstrumentError", "MonitoringSpecError",
           "InputFileError", "FormError", "DataError", "FactorDataError", "OmegaError",
           "ConvergenceError", "ModelSyntaxError", "PrivacyError", "StoreError",
           "StoreLockedError", "ExportError", "MissingToolError", "NoteRunError"]


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


class OptionError(DiagError, ValueError):
    """An option has a value the function does not allow (the message lists the allowed ones).

    Also a :class:`ValueError`, as a bad argument value is in Python. Raised by
    :func:`proforient_diag.options.check_option` before any work starts.

    Attributes
    ----------
    option : str
        The parameter's name.
    value : object
        The value passed.
    allowed : tuple
        The allowed values (empty for a range or a type, which the message describes).
    """

    def __init__(self, message: str, *, option: str = "", value=None, allowed=()) -> None:
        self.option, self.value, self.allowed = option, value, tuple(allowed)
        super().__init__(message)


class InstrumentError(DiagError):
    """An instrument specification (YAML) is invalid."""


class MonitoringSpecError(InstrumentError):
    """The monitoring form specification (YAML) is invalid."""


class InputFileError(DiagError):
    """An input file cannot be used at all (unreadable, not a table, no id column, wrong instrument)."""


class FormError(InputFileError):
    """A monitoring form file cannot be used at all."""


class DataError(DiagError):
    """Data are unusable for a computation (too few rows, a constant item, an unknown group)."""


class FactorDataError(DataError):
    """Items cannot be factor-analysed (too few items or rows, a constant item, no overlap)."""


class OmegaError(DataError):
    """Omega cannot be computed for these items or options (bad keys, too many factors)."""


class ConvergenceError(DataError):
    """The optimiser did not converge."""


class ModelSyntaxError(DiagError):
    """A lavaan-style model description cannot be parsed."""


class PrivacyError(DiagError):
    """A table about to be published carries identifiers or unsuppressed small cells."""


class StoreError(DiagError):
    """The multi-year store cannot be read or written."""


class StoreLockedError(StoreError):
    """The store file is held for writing by another process (wait and retry, or use another)."""


class ExportError(DiagError):
    """A note could not be exported (pandoc or WeasyPrint failed)."""


class MissingToolError(ExportError):
    """A program or system library needed for an output format is not installed."""


class NoteRunError(DiagError):
    """A notebook stopped with an error while a note was being computed.

    Attributes
    ----------
    cell : int or None
        The execution count of the failing cell.
    ename, evalue : str
        The exception's class name and message inside the notebook.
    """

    def __init__(self, message: str, *, file=None, cell: int | None = None,
                 ename: str = "", evalue: str = "") -> None:
        self.cell, self.ename, self.evalue = cell, ename, evalue
        super().__init__(message, file=file)
