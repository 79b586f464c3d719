"""Russian typography of a note's text: one pass over the HTML body before it is published.

Numbers are formatted right where they are made (:mod:`proforient_diag.fmt`); what the sentences
of a note put around them is set here, once, for HTML, DOCX and PDF alike:

* a no-break space between a number and what it counts or measures («12,3 %», «95 % ДИ»,
  «4,2 п. п.», «1,3 балла», «36 школ», «2018 году»), inside «п. п.», «т. е.» and after «№», «п.»,
  «ст.», so that no line starts with a unit or a lone abbreviation;
* the minus sign U+2212 for a hyphen standing for a minus before a digit;
* «ёлочки» for straight double quotes;
* the thin space U+2009 of older outputs replaced by the narrow no-break space U+202F.

Only text between tags is changed, never tags, attributes, ``<style>`` or ``<script>``.
Source: Мильчин А. Э., Чельцова Л. К. Справочник издателя и автора (4-е изд., 2014), гл. 7 и 9.
"""
from __future__ import annotations

import re

__all__ = ["typeset", "typeset_html", "NBSP", "typography_problems"]

NBSP = "\u00a0"
_UNITS = (r"%|п\.\s?п\.|балл\w*|класс\w*|школ\w*|ОО|лет|год\w*|учащ\w*|обучающ\w*|человек\w*|"
          r"анкет\w*|муниципал\w*|раз\b|тыс\.|млн|заданий|задани\w*|пар\b|ДИ")
_RULES: tuple[tuple[re.Pattern, str], ...] = (
    (re.compile("\u2009"), "\u202f"),
    (re.compile(r"п\.\s+п\."), f"п.{NBSP}п."),
    (re.compile(r"т\.\s+е\."), f"т.{NBSP}е."),
    (re.compile(r"т\.\s+д\."), f"т.{NBSP}д."),
    (re.compile(r"(№|\bп\.|\bпп\.|\bст\.|\bгл\.|\bс\.|\bрис\.|\bтабл\.)[ \t]+(?=\d)"), rf"\1{NBSP}"),
    (re.compile(rf"(\d)[ \t]+(?=(?:{_UNITS}))"), rf"\1{NBSP}"),
    (re.compile(r"%[ \t]+ДИ"), f"%{NBSP}ДИ"),
    (re.compile(r"(^|[\s(\[;:=])-(?=\d)"), "\\1\u2212"),
    (re.compile(r"(^|[\s(\[])\"([^\"<>]+)\"(?=$|[\s).,;:!?\]])"), r"\1«\2»"),
)


def typeset(text: str) -> str:
    """Apply the rules above to a plain text.

    Examples
    --------
    >>> typeset('рост на 1,2 п. п. (95 % ДИ от -0,4 до 2,8), "Высокий"')
    'рост на 1,2\\xa0п.\\xa0п. (95\\xa0%\\xa0ДИ от −0,4 до 2,8), «Высокий»'
    """
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


_TAG = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>|<[^>]+>)", re.S | re.I)


def typeset_html(html: str) -> str:
    """:func:`typeset` applied to the text between the tags of an HTML fragment."""
    parts = _TAG.split(html)
    return "".join(p if i % 2 else typeset(p) for i, p in enumerate(parts))


_CHECKS: tuple[tuple[str, re.Pattern], ...] = (
    ("тонкая шпация U+2009 вместо неразрывной U+202F", re.compile("\u2009")),
    ("обычный пробел перед знаком процента", re.compile(r"\d %")),
    ("обычный пробел в «п. п.»", re.compile(r"п\. п\.")),
    ("дефис вместо знака минус", re.compile(r"(^|[\s(\[;:=])-\d")),
    ("десятичная точка вместо запятой",
     re.compile(r"(?<![\d.])(?:0\.\d+|\d{2,}\.\d+|\d\.\d{3,})(?![.\d])")),
    ("прямые кавычки вместо «ёлочек»", re.compile(r"\"")),
)


def typography_problems(text: str) -> list[tuple[str, str]]:
    """The rule broken and its context, for each typographic fault in a note's text.

    A decimal point is reported in ``0.2``, ``12.5`` and ``1.234``, not in ``4.10`` or ``3.2``
    (the roadmap's item numbers) nor in dates (``26.11.2026``).
    """
    out = []
    for rule, pattern in _CHECKS:
        for m in pattern.finditer(text):
            out.append((rule, text[max(0, m.start() - 30):m.end() + 30]))
    return out
