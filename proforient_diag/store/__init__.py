"""The multi-year store: one embedded DuckDB file with every loaded wave, its scores and logs.

A wave is loaded file by file with :meth:`Store.load`: the files are read with
:func:`proforient_diag.ingest.read_responses`, scored with :func:`proforient_diag.scoring.score`
(per instrument version), the respondent ids are replaced by keyed pseudonyms
(:func:`proforient_diag.privacy.pseudonymise`), and everything is written in **one transaction**.
A failure anywhere — an unreadable file among good ones, an exception while scoring or writing —
rolls the transaction back and leaves the store exactly as it was.

Files are identified within a year by their **name** (the last path component), so the same export
copied to another folder is still the same file:

* same name, same SHA-256 (or the same content already loaded under another name of the year) →
  «без изменений»: nothing is read or written;
* same name, new SHA-256 (a corrected export) → «заменён»: the file's rows in every table are
  deleted and the new ones inserted, in the same transaction; the previous entry of ``loads``
  stays as history (``current = false``, ``replaced_by`` = the new load);
* a new name → «добавлен».

One respondent, one answer sheet per year: ``read_responses`` keeps the first sheet of a respondent
among the files it reads together; the store extends that rule across loads (a respondent already
stored for the year from another file is moved to ``exclusions`` with the reason), so
``rows = accepted + excluded`` holds per file in ``loads`` as in ingest.

Privacy (152-ФЗ, Приказ Роскомнадзора № 140): the store never holds an original respondent id.
Ids are pseudonymised with the keyed HMAC-SHA256 of :mod:`proforient_diag.privacy` before anything
is written — in responses, scores, exclusions, issues and the score-missing log alike. The key
comes from the caller (:func:`proforient_diag.privacy.load_key` reads a key file or the
``PROFORIENT_KEY`` environment variable) and is never stored. The store keeps only a *key check*:
the pseudonym of a fixed public string under the key, so that a load with a different key (which
would silently break cohort tracking across years) is refused. Like every pseudonym, it reveals
nothing about the key without the key.

Tables
------
``meta``           schema version, key check, creation time.
``loads``          one row per file version loaded: load_id, year, file, path, sha256, format,
                   encoding, rows, accepted, excluded, issues, loaded_at, instrument,
                   instrument_version, status («добавлен» / «заменён»), current, replaced_by.
``responses``      one row per accepted answer sheet: row_id, load_id, year, file, sheet,
                   source_row, respondent_pid, date, school_id, municipality_code, municipality,
                   grade, band, sex, instrument_version, n_answered, straightlining.
``answers``        the item answers in **long form**: year, row_id, item, value (one row per
                   answered item; no row for a missing answer).
``items``          the item order of each instrument version (instrument, instrument_version,
                   position, item), used to widen ``answers`` back in the instrument's order.
``levels``         the level labels of each version in order (for an ordered ``level`` column).
``scores``         ``ScoreResult.scores`` with ``respondent_pid`` instead of ``respondent_id`` and
                   ``file``/``sheet`` instead of ``source_file``; a score column first produced by a
                   new version (a new scale, standard scores from new norms) is added to the table
                   inside the loading transaction.
``exclusions``     rows not accepted: load_id, year, file, sheet, source_row, respondent_pid,
                   column, reason.
``issues``         cell-level corrections and file notes: as exclusions plus ``value``.
``score_missing``  why a scale or the total was not computed (``ScoreResult.missing``).

Monitoring forms (:meth:`Store.load_forms`)
-------------------------------------------
The roadmap monitoring forms (one per school and year, read with
:func:`proforient_diag.forms.read_forms`) live beside the waves, in four tables of their own:

``form_loads``       one row per form file version loaded: load_id, year, file, path, sha256,
                     format, encoding, rows, accepted, excluded, issues, loaded_at, spec (the spec
                     file), register_sha256, status, current, replaced_by.
``forms``            one row per school and year: load_id, year, file, sheet, source_row,
                     school_id, municipality_code, municipality, n_students_form, n_students, then
                     one DOUBLE column per form measure of the spec (counts and percentages as
                     numbers, yes/no as 1/0, NULL = empty or rejected cell; the derived 4.3 total
                     too). A measure first produced by a new spec version is added to the table
                     inside the loading transaction, as score columns are.
``form_exclusions``  rows not accepted: load_id, year, file, sheet, source_row, school_id, column,
                     reason.
``form_issues``      rejected or doubtful cells: as form_exclusions plus ``value``.

Why a parallel ``form_loads`` rather than a shared ``loads`` with a kind column: the two kinds of
file have different provenance (an instrument version vs a form spec and a school register), the
diagnostics readers (:meth:`Store.years`, :meth:`Store.loads`, the cache check of
:func:`proforient_diag.diagnostics.load_waves`, which compares ``loads`` with the files of a year's
folder) keep their meaning unchanged, file names are matched within one kind only, and a store
made before the forms existed gains the new tables with ``CREATE TABLE IF NOT EXISTS`` — no
migration of ``loads`` and no new schema version. The guarantees are the same as for the waves:
one transaction per load, «без изменений» / «заменён» / «добавлен» by file name and SHA-256,
rollback on any failure. Rows depend on the school register and the enrolment as well as on the
file (a school missing from the register is excluded; the official number of students replaces the
form's), so a file is also re-read («заменён», with a note) when ``register_sha256`` — a digest of
the spec, the register's school codes and municipalities, and the year's enrolment — has changed.

The forms carry school codes, not personal data: nothing is pseudonymised, and nothing about a
person is stored (the form has no such column; columns the spec does not know are never read, so a
«ФИО ответственного» added by a school does not reach the store; the text of a rejected cell is
kept in ``form_issues.value`` unless it is shaped like a person's name — «Иванова М. П.» written
into a yes/no cell — which is replaced by a note to look at the cell in the file).

One form per school and year:
``read_forms`` keeps the first form of a school-year among the files it reads together, and the
store extends the rule across loads (a school-year already stored from another file is moved to
``form_exclusions``), so ``rows = accepted + excluded`` holds per file in ``form_loads``. A row
whose «Год» differs from the year being loaded is excluded by ``read_forms`` (each year's forms
are replaced as a whole by file name within the year).

Layering: the store is persistence. It calls down into the readers (:mod:`~proforient_diag.ingest`,
:mod:`~proforient_diag.forms`) and :mod:`~proforient_diag.scoring`, never up into an analysis.

Why the answers are long and the scores wide
--------------------------------------------
The instrument is versioned (2018, 2021, 2024, 2026, …) and every version adds, drops or splits
items, with four band forms each. A wide answers table would need a column for every item ever
used — mostly empty in any given year — and an ``ALTER TABLE`` with every version; the long form
has a schema that never changes, keeps an anchor item one item across versions, stores no missing
answers, and turns the item-level sufficient statistics the psychometrics start from (counts per
item × code × year × group) into one ``GROUP BY`` inside DuckDB. The readers widen it back
(:meth:`Store.responses`) with one vectorised scatter into a matrix. Scores are read far more often
than written, their columns are few and stable within a version, and analyses want them side by
side, so they stay wide.

Own numerics: none. DuckDB does the storage, filtering and transactions; pandas and numpy reshape.
"""
from __future__ import annotations

from ..errors import StoreLockedError
from .cache import with_store
from .database import Store
from .prepare import NAME_MASK, mask_names
from .schema import (SCHEMA_VERSION, STATUS_ADDED, STATUS_REPLACED, STATUS_UNCHANGED,
                     LoadReport)

__all__ = ["Store", "LoadReport", "StoreLockedError", "STATUS_ADDED", "STATUS_UNCHANGED",
           "STATUS_REPLACED", "SCHEMA_VERSION", "with_store", "mask_names", "NAME_MASK"]
