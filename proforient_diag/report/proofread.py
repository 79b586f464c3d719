"""Proofreading of the year's published notes: no developer words, Russian typography.

A note is read by officials. :func:`proofread_notes` reads every HTML note of a folder and
reports

* **Latin-letter tokens** outside :data:`ALLOWED_LATIN` — code identifiers (``school_id``,
  ``create_key``), English scale codes (``MOT``), municipality codes (``MO04``), remarks about
  the analyst's machine. The list of sources («Источники», where literature is cited in its
  language), file names and digests of the calculation passport and the register codes of
  schools (``MO04-012``, by which a municipal office finds a school) are not scanned;
* **typographic faults** (:func:`~proforient_diag.report.typography.typography_problems`):
  a breakable thin space, an ordinary space before «%» or inside «п. п.», a hyphen for a minus,
  a decimal point, straight quotes.

CI runs it over the whole year's set; the tests run it over the notes they render.
"""
from __future__ import annotations

import html as _html
import re
from pathlib import Path

import pandas as pd

from .typography import typography_problems

__all__ = ["ALLOWED_LATIN", "CHECK_NOTATION", "latin_tokens", "note_text", "proofread_notes"]

#: Latin tokens a note may carry: statistical symbols and Roman numerals of the roadmap's stages.
ALLOWED_LATIN = frozenset({"p", "g", "d", "n", "I", "II", "III", "IV", "V", "SHA"})
#: The field's notation an instrument-check note (for methodologists) may also use; the note
#: explains each in its «Обозначения», and names items by their codes in the item bank.
CHECK_NOTATION = frozenset({"CFI", "TLI", "RMSEA", "SRMR", "AIC", "BIC", "KMO", "DIF", "SD", "SMD",
                            "ETS", "df", "N", "r", "a", "b", "A", "B", "C"})
_ITEM_CODE = re.compile(r"^[A-Z]{3}(?:_P)?\d{2}[A-Z]?$")
_TOKEN = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9_]*(?![\w])")
_FILE_OR_DIGEST = re.compile(r"\b[\w.-]+\.(?:json|html|docx|pdf|csv|xlsx)\b|\b[0-9a-f]{32,}\b|\b[0-9a-f]{8}\b|"
                             r"proforient-diag|SHA-256|\bMO\d{2}-\d{3}\b")
_SOURCES = re.compile(r"<h[1-3][^>]*>\s*Источники\s*</h[1-3]>.*?(?=<h[1-3][^>]*>|$)", re.S)


def note_text(html: str) -> str:
    """The reader's text of an HTML note: without tags, styles, scripts and the list of sources."""
    body = html.split("<body", 1)[-1]
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S | re.I)
    body = _SOURCES.sub(" ", body)
    return _html.unescape(re.sub(r"<[^>]+>", " ", body))


def latin_tokens(text: str, *, methodologist: bool = False) -> list[str]:
    """Latin-letter tokens of ``text`` not in :data:`ALLOWED_LATIN` (file names, digests and the
    kit's own name excepted), in order of appearance, each once. With ``methodologist`` (the
    instrument-check notes) :data:`CHECK_NOTATION` and item codes («COG06») are allowed too."""
    text = _FILE_OR_DIGEST.sub(" ", text)
    allowed = ALLOWED_LATIN | CHECK_NOTATION if methodologist else ALLOWED_LATIN
    seen: dict[str, None] = {}
    for t in _TOKEN.findall(text):
        if t not in allowed and not (methodologist and _ITEM_CODE.match(t)):
            seen.setdefault(t)
    return list(seen)


def proofread_notes(folder: str | Path) -> pd.DataFrame:
    """Latin tokens and typographic faults of every HTML note under ``folder``.

    Returns
    -------
    pandas.DataFrame
        ``file, problem, context``: one row per problem (empty when the set is clean).
    """
    rows = []
    for path in sorted(Path(folder).rglob("*.html")):
        if path.name == "index.html":
            continue
        text = note_text(path.read_text(encoding="utf-8"))
        for t in latin_tokens(text, methodologist=path.name.startswith("instrument_check")):
            i = text.find(t)
            rows.append({"file": path.name, "problem": f"латинское слово «{t}»",
                         "context": " ".join(text[max(0, i - 40):i + 40].split())})
        for rule, context in typography_problems(text):
            rows.append({"file": path.name, "problem": rule, "context": " ".join(context.split())})
    return pd.DataFrame(rows, columns=["file", "problem", "context"]).drop_duplicates(
        ).reset_index(drop=True)
