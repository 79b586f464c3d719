"""Labels the annual note's analysis shares: band order, level names, months, year phrases."""
from __future__ import annotations

__all__ = ["BAND_ORDER", "HIGH", "LOW", "MONTHS", "years_text", "comparison_label"]

#: The instrument's grade bands in the order the note shows them.
BAND_ORDER = ["1-4", "5-7", "8-9", "10-11"]
HIGH, LOW = "высокий", "низкий"
MONTHS = {1: "январь", 2: "февраль", 3: "март", 4: "апрель", 5: "май", 6: "июнь", 7: "июль",
          8: "август", 9: "сентябрь", 10: "октябрь", 11: "ноябрь", 12: "декабрь"}


def years_text(yrs) -> str:
    """«2019 года», «2018–2020 годов», «2018, 2020 годов»."""
    yrs = sorted(yrs)
    if len(yrs) == 1:
        return f"{yrs[0]} года"
    if yrs == list(range(yrs[0], yrs[-1] + 1)):
        return f"{yrs[0]}–{yrs[-1]} годов"
    return ", ".join(map(str, yrs)) + " годов"


def comparison_label(ref: int, year: int, baseline: int) -> str:
    """«к предыдущему году», «к базовому году» or «к 2022 году»."""
    if ref == year - 1:
        return "к предыдущему году"
    return "к базовому году" if ref == baseline else f"к {ref} году"
