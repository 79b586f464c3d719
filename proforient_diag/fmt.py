"""Russian number formatting for notes, tables and messages.

Decimal comma, thousands separated by a narrow no-break space (U+202F: it never breaks a
number across lines, unlike the thin space U+2009), the minus sign U+2212, percentages as
«12,3 %» (with a no-break space before the sign). Missing or suppressed values print as «—».
Source: Мильчин А. Э., Чельцова Л. К. Справочник издателя и автора (4-е изд., 2014), §§ 7.2–7.5.
"""
from __future__ import annotations

import datetime as _dt
import math

GROUP_SPACE = "\u202f"
NBSP = "\u00a0"
DASH = "—"


def _is_missing(x) -> bool:
    if x is None:
        return True
    if type(x).__name__ in ("NAType", "NaTType"):  # pandas.NA, pandas.NaT
        return True
    try:
        return bool(math.isnan(float(x)))
    except (TypeError, ValueError):
        return False


def fmt_num(x, decimals: int = 2) -> str:
    """Format a number with a decimal comma and narrow no-break space thousands, e.g. ``12 345,68``."""
    if _is_missing(x):
        return DASH
    s = f"{float(x):,.{decimals}f}"
    s = s.replace(",", "\x00").replace(".", ",").replace("\x00", GROUP_SPACE)
    if s.startswith("-"):
        s = "\u2212" + s[1:]
    if s in ("\u22120", "\u22120," + "0" * decimals):
        s = s[1:]
    return s


def fmt_int(x) -> str:
    """Format a count: ``320 000``."""
    if _is_missing(x):
        return DASH
    return fmt_num(round(float(x)), 0)


def fmt_pct(x, decimals: int = 1, *, share: bool = False) -> str:
    """Format a percentage: ``12,3 %``; with ``share=True`` ``x`` is a proportion (0.123)."""
    if _is_missing(x):
        return DASH
    value = float(x) * 100 if share else float(x)
    return f"{fmt_num(value, decimals)}{NBSP}%"


def fmt_p(p) -> str:
    """Format a p-value as psychometric reports do: ``< 0,001`` or ``0,034``."""
    if _is_missing(p):
        return DASH
    if p < 0.001:
        return f"<{NBSP}0,001"
    return fmt_num(p, 3)


def fmt_ci(low, high, decimals: int = 2) -> str:
    """Format a confidence interval: ``[0,71; 0,75]``."""
    return f"[{fmt_num(low, decimals)}; {fmt_num(high, decimals)}]"


def fmt_date(value: _dt.date | _dt.datetime, *, time: bool = False) -> str:
    """Format a date as Russian documents do: ``26.11.2026`` (``26.11.2026, 13:05`` with ``time``).

    Parameters
    ----------
    value : datetime.date or datetime.datetime
        The date (a ``datetime`` when ``time=True``).
    time : bool, default False
        Append hours and minutes.

    Returns
    -------
    str
        The formatted date, or «—» for ``None``.
    """
    if value is None:
        return DASH
    text = f"{value.day:02d}.{value.month:02d}.{value.year:04d}"
    if time and isinstance(value, _dt.datetime):
        text += f", {value.hour:02d}:{value.minute:02d}"
    return text


def plural(n: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for ``n``: «1 файл», «2 файла», «5 файлов»."""
    n10, n100 = abs(int(n)) % 10, abs(int(n)) % 100
    if n10 == 1 and n100 != 11:
        return one
    if 2 <= n10 <= 4 and not 12 <= n100 <= 14:
        return few
    return many
