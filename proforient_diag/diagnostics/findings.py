"""«Основные выводы» and the recommendations by addressee of the annual note.

The main findings are 3–7 plain sentences a head of a department reads in a minute, each with
its number and the section it comes from; every recommendation is derived from one of them and
says which. Judgements follow the instrument's limits: the weakest component is found within each
band form of grades 5–11 (never off a «Всего» row that mixes forms, and never comparing the 1–4
form with 5–11), and a component whose α is below 0,70 in a band carries a caveat instead of a
firm conclusion.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..fmt import fmt_num
from .conclusions import RECOMMENDATIONS
from .disclosure import change_verdict, shown
from .labels import BAND_ORDER, HIGH, LOW

__all__ = ["Finding", "key_findings", "recommendations", "SECTIONS", "ADDRESSEES"]

#: The numbered sections of the annual note (the notebook's headings, checked by a test).
SECTIONS = {
    "basis": "1. Основание, цель и сроки диагностики",
    "method": "2. Методика",
    "participants": "3. Участники и охват",
    "reliability": "4. Инструмент и его надёжность",
    "levels": "5. Распределение обучающихся по уровням",
    "profiles": "6. Профили по компонентам",
    "changes": "7. Изменения: к прошлому году и к 2018 году, тренд",
    "cohorts": "8. Изменения в когортах",
    "conclusions": "9. Выводы и рекомендации",
}

#: Addressees of recommendations, in the order of the roadmap's executors.
ADDRESSEES = {
    "ОО": "общеобразовательные организации",
    "МОУО": "муниципальные органы управления образованием",
    "КРИРПО": "ГБУ ДПО «КРИРПО»",
    "ЦЗН": "центры занятости населения",
}
UPPER = ("5-7", "8-9", "10-11")

#: What employment centres can do for a weak component in grades 8–11.
_CZN = {
    "MOT": "встречи обучающихся с работодателями и представителями востребованных профессий",
    "COG": "информирование о рынке труда Кузбасса и востребованных профессиях",
    "ACT": "профессиональные пробы на предприятиях и временное трудоустройство подростков",
    "EMO": "групповые профконсультации по снижению тревожности перед выбором",
    "REF": "индивидуальные профконсультации по построению профессионального плана",
}


@dataclass(frozen=True)
class Finding:
    """One main finding: its number, theme, sentence and the section it comes from."""

    number: int
    theme: str
    text: str
    section: str
    key: str = ""

    @property
    def where(self) -> str:
        """«(раздел 7)»: where the reader finds the figures."""
        return f"(раздел {self.section.split('.')[0]})"


def _band(b: str) -> str:
    return b.replace("-", "–")


def _weakest_by_band(diag) -> dict[str, tuple[str, float]]:
    """The weakest component in each band form of grades 5–11 shown in the note."""
    pr = shown(diag.profiles)
    out = {}
    for b in UPPER:
        row = pr[pr["band"] == b]
        if not len(row):
            continue
        vals = {s: float(row[s].iat[0]) for s in diag.scales
                if s in row and np.isfinite(row[s].iat[0])}
        if vals:
            s = min(vals, key=vals.get)
            out[b] = (s, vals[s])
    return out


def _unreliable(diag) -> set[tuple[str, str]]:
    rel = shown(diag.reliability)
    if not len(rel):
        return set()
    low = rel[rel["alpha"] < 0.70]
    return set(zip(low["band"], low["scale"]))


def _where(diag) -> str:
    """« в муниципальном образовании «…»» in a municipal note, "" in the regional one."""
    return (f" в муниципальном образовании «{diag.municipality_name}»" if diag.municipality
            else " в регионе")


def _trend_or_change(diag) -> str | None:
    where = _where(diag)
    sl = diag.trend_slope.iloc[0] if len(diag.trend_slope) else None
    if sl is not None and bool(sl.get("all_linked", False)) and len(diag.trend_years) >= 3:
        v = change_verdict(sl["ci_low_total"], sl["ci_high_total"], sl["p_total"])
        first = int(min(diag.trend_years["year"]))
        if v == "нет":
            return (f"За {first}–{diag.year} годы индекс самоопределения{where} статистически "
                    "значимо не изменился.")
        word = "растёт" if v == "рост" else "снижается"
        return (f"Индекс самоопределения{where} {word}: в среднем на "
                f"{fmt_num(abs(sl['slope']), 1)} балла в год за {first}–{diag.year} годы.")
    ch = shown(diag.changes)
    ch = ch[(ch["score"] == "total") & ch["linked"].astype(bool)] if len(ch) else ch
    if not len(ch):
        return None
    r = ch.iloc[0]
    if r["verdict"] == "нет":
        return (f"По сравнению с {int(r['reference'])} годом индекс самоопределения{where} "
                "статистически значимо не изменился.")
    word = "вырос" if r["verdict"] == "рост" else "снизился"
    return (f"По сравнению с {int(r['reference'])} годом индекс самоопределения{where} {word} на "
            f"{fmt_num(abs(r['diff']), 1)} балла.")


def _high_share(diag) -> str | None:
    lb = shown(diag.levels_band)
    tot = lb[lb["band"] == "Всего"] if len(lb) else lb
    if not len(tot) or HIGH not in tot:
        return None
    text = (f"Высокий уровень в {diag.year} году — у {fmt_num(tot[HIGH].iat[0], 1)} % "
            f"обучающихся{_where(diag)}")
    lc = diag.level_changes
    if len(lc):
        base = lc[(lc["level"] == HIGH) & lc["linked"].astype(bool)]
        base = base.sort_values("reference")
        if len(base):
            r = base.iloc[0]
            if r["verdict"] != "нет":
                word = "больше" if r["diff_pp"] > 0 else "меньше"
                text += (f", на {fmt_num(abs(r['diff_pp']), 1)} п. п. {word}, чем в "
                         f"{int(r['reference'])} году")
            else:
                text += f"; с {int(r['reference'])} года доля статистически значимо не изменилась"
    return text + "."


def _weak_components(diag) -> str | None:
    weak = _weakest_by_band(diag)
    if not weak:
        return None
    caveat = _unreliable(diag)
    by_scale: dict[str, list[str]] = {}
    for b, (s, _) in weak.items():
        by_scale.setdefault(s, []).append(b)
    parts = []
    for s, bands in by_scale.items():
        lo = min(weak[b][1] for b in bands)
        hi = max(weak[b][1] for b in bands)
        vals = fmt_num(lo, 1) if lo == hi else f"{fmt_num(lo, 1)}–{fmt_num(hi, 1)}"
        note = (" (надёжность шкалы в этой параллели ниже 0,70: вывод предварительный)"
                if any((b, s) in caveat for b in bands) else "")
        parts.append(f"в {', '.join(_band(b) for b in bands)} классах — "
                     f"{diag.scales[s].lower()} ({vals} балла из 100){note}")
    return "Слабее всего сформирован " + "; ".join(parts) + "."


def _weak_band(diag) -> str | None:
    lb = shown(diag.levels_band)
    lb = lb[lb["band"].isin(UPPER)] if len(lb) else lb
    if not len(lb) or LOW not in lb or lb[LOW].isna().all():
        return None
    r = lb.loc[lb[LOW].idxmax()]
    return (f"Среди 5–11 классов больше всего обучающихся с низким уровнем в {_band(r['band'])} "
            f"классах ({fmt_num(r[LOW], 1)} %).")


def _municipal(diag) -> str | None:
    mv = shown(diag.municipalities_vs_region)
    if not len(mv):
        return None
    if diag.municipality is None:
        below = mv[mv["verdict"] == "ниже региона"]
        if not len(below):
            return "Ни один муниципалитет статистически значимо не отстаёт от региона."
        return ("Статистически значимо ниже региона индекс в "
                + ", ".join(f"«{m}»" for m in below["municipality"]) + ".")
    r = mv.iloc[0]
    word = {"выше региона": "выше регионального", "ниже региона": "ниже регионального"}.get(
        r["verdict"])
    if word is None:
        return ("Индекс муниципального образования статистически значимо не отличается от "
                "регионального.")
    return (f"Индекс муниципального образования {word} на {fmt_num(abs(r['diff']), 1)} балла.")


def _reliability(diag) -> str | None:
    low = sorted(_unreliable(diag), key=lambda p: (BAND_ORDER.index(p[0])
                                                    if p[0] in BAND_ORDER else 9, p[1]))
    if not low:
        return None
    items = ", ".join(f"{diag.scales.get(s, s).lower()} в {_band(b)} классах" for b, s in low)
    return (f"Надёжность ниже 0,70 у шкал: {items}; выводы по ним в этих параллелях "
            "предварительные.")


def _basis(diag) -> str | None:
    """In a municipal note resting on one or two schools, say so up front."""
    if not diag.municipality or not len(diag.coverage_band):
        return None
    tot = diag.coverage_band[diag.coverage_band["band"] == "Всего"]
    if not len(tot) or not np.isfinite(tot["schools"].iat[0]) or tot["schools"].iat[0] > 2:
        return None
    k, n = int(tot["schools"].iat[0]), tot["n"].iat[0]
    school = "одной школы" if k == 1 else "двух школ"
    many = f" ({fmt_num(n, 0)} обучающихся)" if np.isfinite(n) else ""
    return (f"Оценки муниципального образования основаны на ответах обучающихся {school}{many}: "
            "они описывают эти школы и неточно представляют муниципалитет в целом.")


def key_findings(diag) -> list[Finding]:
    """The main findings of the note (3–7), numbered, each pointing to its section."""
    if getattr(diag, "withheld", False):
        return [Finding(1, "Публикация", diag.withheld_reason, SECTIONS["participants"],
                        "withheld")]
    candidates = [
        ("Основа оценок", _basis(diag), "participants", "basis"),
        ("Динамика", _trend_or_change(diag), "changes", "trend"),
        ("Уровни", _high_share(diag), "levels", "high"),
        ("Компоненты", _weak_components(diag), "profiles", "weak_component"),
        ("Уровни", _weak_band(diag), "levels", "weak_band"),
        ("Муниципалитеты", _municipal(diag), "changes", "municipal"),
        ("Надёжность", _reliability(diag), "reliability", "reliability"),
    ]
    kept = [(t, s, SECTIONS[sec], k) for t, s, sec, k in candidates if s]
    return [Finding(i, t, s, sec, k) for i, (t, s, sec, k) in enumerate(kept[:7], 1)]


def recommendations(diag, findings: list[Finding] | None = None) -> pd.DataFrame:
    """Recommendations by addressee, each derived from a main finding.

    Returns
    -------
    pandas.DataFrame
        ``addressee`` (ОО, МОУО, КРИРПО, ЦЗН), ``text``, ``finding`` (the number of the main
        finding it rests on).
    """
    findings = key_findings(diag) if findings is None else findings
    num = {f.key: f.number for f in findings}
    rows = []
    weak = _weakest_by_band(diag)
    caveat = _unreliable(diag)
    if "weak_component" in num:
        by_scale: dict[str, list[str]] = {}
        for b, (s, _) in weak.items():
            by_scale.setdefault(s, []).append(b)
        for s, bands in by_scale.items():
            where = ", ".join(_band(b) for b in bands)
            firm = not any((b, s) in caveat for b in bands)
            rows.append(("ОО", f"В {where} классах {RECOMMENDATIONS.get(s, 'уделить внимание компоненту')}"
                         + ("." if firm else "; вывод предварительный: сначала уточнить его по "
                            "результатам следующей волны."), num["weak_component"]))
            short = diag.scales[s].replace(" компонент", "")
            rows.append(("КРИРПО", f"Подготовить для педагогов-навигаторов методические материалы "
                         f"по развитию компонента «{short}» в {where} классах.",
                         num["weak_component"]))
            upper = [b for b in bands if b in ("8-9", "10-11")]
            if upper and s in _CZN:
                rows.append(("ЦЗН", f"Для обучающихся {', '.join(_band(b) for b in upper)} "
                             f"классов организовать {_CZN[s]}.", num["weak_component"]))
    if "weak_band" in num:
        rows.append(("ОО", "Уделить первоочередное внимание параллели с наибольшей долей низкого "
                     "уровня: индивидуальные консультации и профессиональные пробы для этих "
                     "обучающихся.", num["weak_band"]))
    if "municipal" in num:
        mv = shown(diag.municipalities_vs_region)
        below = mv[mv["verdict"] == "ниже региона"] if len(mv) else mv
        if len(below):
            names = ", ".join(f"«{m}»" for m in below["municipality"])
            rows.append(("МОУО", f"Органам управления образованием {names} разобрать результаты "
                         "со школами и составить план адресной поддержки.", num["municipal"]))
        else:
            rows.append(("МОУО", "Обсудить результаты муниципальной справки с руководителями школ "
                         "и включить слабые компоненты в муниципальный план профориентации.",
                         num["municipal"]))
    if "reliability" in num:
        rows.append(("КРИРПО", "Проверить и доработать утверждения шкал с надёжностью ниже 0,70 "
                     "(справка о проверке инструмента) до следующей волны диагностики.",
                     num["reliability"]))
    order = {a: i for i, a in enumerate(ADDRESSEES)}
    out = pd.DataFrame(rows, columns=["addressee", "text", "finding"])
    return out.sort_values("addressee", key=lambda c: c.map(order), kind="stable").reset_index(
        drop=True)
