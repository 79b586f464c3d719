"""The text of the monitoring note: «Основные выводы», conclusions by theme, recommendations.

Every sentence is generated from the numbers it states (:mod:`proforient_diag.monitoring`
computes them). The main findings are 3–7 sentences, each with its number and the section it
comes from; every recommendation is addressed to ОО, МОУО, КРИРПО or ЦЗН and names the finding
it rests on. Rules the text keeps:

* counts are compared per school, the unit every count of the forms is counted in;
* the kit's targets are assumptions (the roadmap gives no figures) and are said to be;
* a municipality is named as leading or lagging only when its whole rank interval lies in the
  top or the bottom third of the rating (:func:`proforient_diag.monitoring.rank_intervals`);
* an association with the diagnostic is an association, not an effect.

In a municipal note the findings compare the municipality with the region (the forms are a
census of schools, so the difference is the municipality's own, not a sampling estimate).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .diagnostics.findings import ADDRESSEES, Finding
from .fmt import fmt_int, fmt_num, fmt_pct
from .monitoring import ActivityAssociation, change, targets
from .roadmap import MonitoringSpec, load_monitoring_spec

__all__ = ["MONITORING_SECTIONS", "MonitoringConclusions", "conclusions", "indicator_label",
           "method_paragraphs"]

#: The numbered sections of the monitoring note (the notebook's headings, checked by a test).
MONITORING_SECTIONS = {
    "basis": "1. Основание и охват",
    "method": "2. Методика",
    "criteria": "3. Показатели по критериям",
    "targets": "4. Достижение целевых значений",
    "rating": "5. Рейтинг муниципалитетов",
    "association": "6. Диагностика и мониторинг",
    "conclusions": "7. Выводы и рекомендации",
}

_UNIT_TAIL = re.compile(r"(,\s*(ед|чел)\.?|\s*\(да/нет\)|,\s*% от числа обучающихся ОО)\s*$")


def indicator_label(spec: MonitoringSpec, measure: str) -> str:
    """The indicator's short name as the form's header gives it, whole: «4.2 (охват
    обучающихся, ведущих Портфолио …)» without the unit and never cut mid-phrase."""
    m = spec.measures.set_index("column").loc[measure]
    head = re.sub(r"^\d+\.\d+\.\s*", "", str(m["header"]))
    head = _UNIT_TAIL.sub("", head).rstrip(" .")
    head = head[0].lower() + head[1:]
    if str(m["indicator"]).startswith("к"):        # an event of the regional plan (item 4.1)
        return f"«{head}»"
    return f"{m['indicator']} («{head}»)"


def method_paragraphs(spec: MonitoringSpec | None = None) -> list[str]:
    """The «Методика» of the monitoring note: what is counted, how it is summed, what is not."""
    spec = spec or load_monitoring_spec()
    n = len(spec.indicators)
    return [
        f"Мониторинг охватывает {n} показателей пяти критериев дорожной карты (нормативный, "
        "кадровый, научно-методический, организационный, информационный). Каждая "
        "общеобразовательная организация (далее — ОО) заполняет форму за календарный год; "
        "сведения муниципалитетов и области складываются из форм ОО, а не из отчётов "
        "муниципалитетов.",
        "Показатели наличия («да/нет») приводятся как доля ОО, ответивших «да». Показатели охвата "
        "приводятся как доля обучающихся: число охваченных обучающихся всех ОО, делённое на число "
        "их обучающихся (а не среднее процентов ОО). Количества (договоры, педагоги, мероприятия, "
        "публикации) считаются в ОО, поэтому сравниваются в расчёте на одну ОО: так они "
        "сопоставимы между годами с разной полнотой представления форм и между муниципалитетами "
        "с разным числом школ.",
        "Изменения долей приводятся в процентных пунктах (п.\u00a0п.), количеств — в единицах на "
        "одну ОО; изменение меньше 1 п.\u00a0п. (для количеств — меньше 5 % от прошлогоднего "
        "значения) считается несущественным.",
        "Числовых целевых значений дорожная карта не содержит; целевые значения в разделе "
        f"{MONITORING_SECTIONS['targets'].split('.')[0]} — допущения, принятые для расчёта, и "
        "приводятся вместе с их основанием.",
        "Мониторинг показывает, что сделано в ОО (наличие документов, охват, количество "
        "мероприятий), но не их качество и не их результат для обучающихся; результат "
        "оценивается диагностикой самоопределения, связь с ней — в разделе "
        f"{MONITORING_SECTIONS['association'].split('.')[0]}.",
    ]


@dataclass(frozen=True)
class MonitoringConclusions:
    """The text of the monitoring note.

    Attributes
    ----------
    findings : list of Finding
        The main findings (3–7), numbered, each with the section it comes from.
    by_theme : DataFrame
        theme, text: the conclusions grouped by theme (criteria, targets, rating, association).
    recommendations : DataFrame
        addressee (ОО, МОУО, КРИРПО, ЦЗН), text, finding (the number of the main finding).
    """

    findings: list
    by_theme: pd.DataFrame
    recommendations: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.by_theme

    def summary(self) -> str:
        return "\n".join(f"{f.number}. {f.text} {f.where}" for f in self.findings)


def _region_changes(agg: pd.DataFrame, year: int, spec: MonitoringSpec, unit: str) -> pd.DataFrame:
    ch = change(agg[agg["unit"] == unit], [year], spec)
    prim = spec.measures[spec.measures["primary"]].set_index("column")
    ch = ch[ch["measure"].isin(prim.index)].copy()
    ch["criterion"] = ch["measure"].map(prim["criterion"]).astype(int)
    cnt = ch["kind"] == "count"
    ch["shown"] = np.where(cnt, ch["per_school"], ch["value"])
    ch["d_yoy"] = np.where(cnt, ch["change_yoy_per_school"], ch["change_yoy"])
    ch["d_base"] = np.where(cnt, ch["change_base_per_school"], ch["change_base"])
    prev = ch["shown"] - ch["d_yoy"]
    ch["down"] = np.where(cnt, ch["d_yoy"] < -0.05 * prev.abs(), ch["d_yoy"] <= -1.0)
    ch["up"] = np.where(cnt, ch["d_yoy"] > 0.05 * prev.abs(), ch["d_yoy"] >= 1.0)
    ch["label"] = [indicator_label(spec, m) for m in ch["measure"]]
    return ch


def _value_text(r, spec: MonitoringSpec, year: int, since: str = "both") -> str:
    """«61,3 % (за год +2,1 п. п., с 2018 года +20,4 п. п.)», per school for counts; ``since``
    "yoy" or "base" keeps one of the two changes."""
    cnt = r.kind == "count"
    d = "\u00a0п.\u00a0п." if not cnt else ""
    val = fmt_pct(r.shown) if not cnt else f"{fmt_num(r.shown, 1)} на одну ОО"

    def signed(x):
        return f"{'+' if x >= 0 else '−'}{fmt_num(abs(x), 1)}{d}"
    parts = []
    if pd.notna(r.d_yoy) and since in ("both", "yoy"):
        parts.append(f"за год {signed(r.d_yoy)}")
    if pd.notna(r.d_base) and year != spec.base_year and since in ("both", "base"):
        parts.append(f"с {spec.base_year} года {signed(r.d_base)}")
    return val + (f" ({', '.join(parts)})" if parts else "")


def _names(rows: pd.DataFrame, spec: MonitoringSpec, year: int, k: int = 3,
           since: str = "both") -> str:
    return "; ".join(f"{r.label} — {_value_text(r, spec, year, since)}"
                     for r in rows.head(k).itertuples())


def _codes(rows: pd.DataFrame, k: int = 3) -> str:
    """The indicators' numbers for a recommendation («4.1, 4.2»); the regional plan's events
    (numbered к4.1 in the spec) are named by what they are."""
    out = []
    for code in rows["indicator"].head(k):
        name = "участие в мероприятиях регионального плана" if str(code).startswith("к") else str(code)
        if name not in out:
            out.append(name)
    return ", ".join(out)


def _completeness(ct: pd.DataFrame | None, year: int, unit: str) -> tuple[str | None, pd.DataFrame]:
    if ct is None:
        return None, pd.DataFrame()
    c = ct[ct["year"] == year]
    own = c[(c["level"] == "region")] if unit == "region" else c[c["unit"] == unit]
    if own.empty:
        return None, pd.DataFrame()
    r = own.iloc[0]
    who = "" if unit == "region" else f" в муниципалитете «{r['unit_name']}»"
    text = (f"В {year} году форму мониторинга{who} представили {fmt_int(r['received'])} из "
            f"{fmt_int(r['expected'])} общеобразовательных организаций ({fmt_pct(r['share'])}).")
    low = c[(c["level"] == "municipality") & (c["share"] < 90)].sort_values("share")
    if unit != "region":
        low = low[low["unit"] == unit]
    return text, low


def _rating(ranks: pd.DataFrame, unit: str) -> tuple[str, list[tuple[str, str]]]:
    """What the rating licenses: the municipalities whose whole rank interval is in the top or
    the bottom third; otherwise that the ranks do not separate them."""
    m = len(ranks)
    top = ranks[ranks["rank_high"] <= m / 3].sort_values("rank")["unit_name"].tolist()
    bottom = ranks[ranks["rank_low"] > 2 * m / 3].sort_values("rank")["unit_name"].tolist()
    if unit != "region":
        r = ranks[ranks["unit"] == unit].iloc[0]
        where = ("устойчиво в верхней трети рейтинга" if r["unit_name"] in top else
                 "устойчиво в нижней трети рейтинга" if r["unit_name"] in bottom else
                 "место неустойчиво (интервал выходит за пределы одной трети рейтинга)")
        text = (f"Место муниципалитета по сводному индексу — {fmt_int(r['rank'])} из {fmt_int(m)} "
                f"(95\u00a0% интервал мест {fmt_int(r['rank_low'])}–{fmt_int(r['rank_high'])}): {where}.")
        recs = [("МОУО", "Разобрать со школами показатели, по которым муниципалитет ниже области, и "
                 "включить меры в муниципальный план профориентации.")] if r["unit_name"] in bottom else []
        return text, recs
    width = float((ranks["rank_high"] - ranks["rank_low"]).median())
    text = (f"Места муниципалитетов по сводному индексу неустойчивы: при повторных расчётах по "
            f"случайным наборам их школ место меняется в пределах {fmt_int(width)} позиций "
            "(медиана 95\u00a0% интервалов)")
    if top:
        text += "; во всех расчётах в верхней трети — " + ", ".join(top)
    if bottom:
        text += "; во всех расчётах в нижней трети — " + ", ".join(bottom) + "."
        return text, [("КРИРПО", "Организовать методическую поддержку муниципалитетов, устойчиво "
                       f"находящихся в нижней трети рейтинга ({', '.join(bottom)})"
                       + (f", и обмен опытом с лидерами ({', '.join(top)})." if top else "."))]
    text += "; ни один муниципалитет не находится в нижней трети устойчиво, называть отстающих по " \
            "рейтингу оснований нет."
    return text, [("КРИРПО", "Не использовать место в рейтинге для оценки муниципалитетов: их места "
                   "различаются в пределах интервалов; сравнивать муниципалитет с его же прошлыми "
                   "годами по отдельным показателям.")]


def _association(a: ActivityAssociation) -> tuple[str, list[tuple[str, str]]]:
    c = a.coefficients.set_index(["model", "term"]).loc[("composite", "activity_b")]
    if c["p"] < 0.05 and c["ci_low"] > 0:
        return (f"Обучающиеся школ с более высокими показателями профориентационной активности "
                f"имеют в среднем более высокий общий индекс самоопределения "
                f"(+{fmt_num(c['estimate'])} балла на 1 стандартное отклонение, 95\u00a0% ДИ "
                f"{fmt_num(c['ci_low'])} — {fmt_num(c['ci_high'])}); это связь, а не доказанное "
                "влияние.",
                [("ОО", "Сохранять и расширять профориентационную активность (мероприятия с "
                  "социальными партнёрами, внеурочная деятельность): она сопровождается более "
                  "высоким уровнем самоопределения обучающихся.")])
    if c["p"] < 0.05 and c["ci_high"] < 0:
        text = (f"Связь общего индекса с показателями активности школ отрицательная "
                f"({fmt_num(c['estimate'])} балла на 1 стандартное отклонение); это связь, а не "
                "влияние.")
    else:
        text = ("Связь общего индекса самоопределения обучающихся с показателями "
                "профориентационной активности их школ статистически не подтверждена.")
    return text, [("КРИРПО", "Оценивать результативность профориентационной работы ОО по "
                   "результатам диагностики обучающихся, а не только по охвату и числу "
                   "мероприятий.")]


def _targets(agg: pd.DataFrame, year: int, spec: MonitoringSpec, unit: str,
             ch: pd.DataFrame) -> tuple[str | None, list[tuple[str, str]]]:
    """The distance to the levels assumed for the calculation (the roadmap sets none), never
    «n из m достигнуты» as if the targets were the roadmap's."""
    t = targets(agg[(agg["unit"] == unit) & (agg["year"] == year)], spec)
    lv = t[(t["target_kind"] == "level") & t["value"].notna()].sort_values("gap")
    gro = t[(t["target_kind"] == "growth") & t["attained"].notna()]
    if lv.empty:
        return None, []
    labels = ch.set_index("measure")["label"]

    def named(r) -> str:
        return f"{labels.get(r.measure, r.measure)} — {fmt_pct(r.value)}"
    far = lv[lv["gap"] > 0].tail(2).iloc[::-1]
    text = ("Числовых целей дорожная карта не устанавливает; для расчёта принят ориентир «в каждой "
            "ОО» (100\u00a0%)" + (f": дальше всего от него {'; '.join(named(r) for r in far.itertuples())}"
                              if len(far) else ": он достигнут по всем показателям наличия и охвата"))
    if len(gro):
        text += (f"; количественные показатели не ниже прошлого года по {fmt_int(gro['attained'].sum())} "
                 f"из {fmt_int(len(gro))} (в расчёте на одну ОО)")
    recs = [("КРИРПО", "Предложить для утверждения целевые значения показателей мониторинга: "
             "сейчас они — допущения расчёта, и вывод об их достижении условен.")]
    if len(far):
        recs.append(("МОУО", "Включить в муниципальные планы меры по показателям, дальше всего "
                     f"отстоящим от ориентира: {_codes(far)}."))
    return text + ".", recs


def conclusions(agg: pd.DataFrame, year: int, *, spec: MonitoringSpec | None = None,
                completeness_table: pd.DataFrame | None = None, ranks: pd.DataFrame | None = None,
                association: ActivityAssociation | None = None,
                municipality: str | None = None) -> MonitoringConclusions:
    """The monitoring note's main findings, conclusions by theme and recommendations.

    Parameters
    ----------
    agg : DataFrame
        :func:`~proforient_diag.monitoring.aggregate` at both levels, all years.
    year : int
    spec : MonitoringSpec, optional
    completeness_table : DataFrame, optional
        ``MonitoringResult.completeness``.
    ranks : DataFrame, optional
        :func:`~proforient_diag.monitoring.rank_intervals` of ``year``.
    association : ActivityAssociation, optional
    municipality : str, optional
        A municipality's code: the findings are about it, compared with the region.

    Returns
    -------
    MonitoringConclusions
    """
    spec = spec or load_monitoring_spec()
    unit = municipality or "region"
    ch = _region_changes(agg, year, spec, unit)
    cands: list[tuple[str, str, str, str]] = []
    recs: list[tuple[str, str, str]] = []
    text, low = _completeness(completeness_table, year, unit)
    if text:
        cands.append(("Полнота представления форм", text, "basis", "completeness"))
        if len(low):
            names = "" if municipality else ": " + ", ".join(
                f"{n} ({fmt_pct(s)})" for n, s in zip(low["unit_name"].head(5), low["share"].head(5)))
            recs.append(("МОУО", "Добиться представления форм мониторинга всеми ОО"
                         + (f" в муниципалитетах с полнотой ниже 90\u00a0%{names}." if names else "."),
                         "completeness"))
    share = ch[ch["kind"] != "count"]
    if municipality:
        reg = _region_changes(agg, year, spec, "region").set_index("measure")["shown"]
        diff = share.assign(gap=share["shown"] - share["measure"].map(reg))
        below = diff[diff["gap"] <= -10].sort_values("gap")
        above = diff[diff["gap"] >= 10].sort_values("gap", ascending=False)
        if len(below):
            cands.append(("Сравнение с областью", "Ниже областного уровня более чем на 10\u00a0п.\u00a0п.: "
                          + "; ".join(f"{r.label} — {fmt_pct(r.shown)} против {fmt_pct(reg[r.measure])} по области"
                                      for r in below.head(3).itertuples()) + ".", "criteria", "below"))
            recs.append(("ОО", "Восполнить отставание от области по показателям "
                         + _codes(below) + ": включить соответствующие меры в планы ОО.", "below"))
        if len(above):
            cands.append(("Сравнение с областью", "Выше областного уровня более чем на 10\u00a0п.\u00a0п.: "
                          + "; ".join(f"{r.label} — {fmt_pct(r.shown)} против {fmt_pct(reg[r.measure])} по области"
                                      for r in above.head(3).itertuples()) + ".", "criteria", "above"))
        if below.empty and above.empty:
            cands.append(("Сравнение с областью", "По всем показателям долей муниципалитет отличается "
                          "от области менее чем на 10\u00a0п.\u00a0п.", "criteria", "close"))
    else:
        grew = share[share["d_base"] >= 1].sort_values("d_base", ascending=False)
        if len(grew) and year != spec.base_year:
            cands.append(("Динамика", f"С {spec.base_year} года сильнее всего выросли: "
                          + _names(grew, spec, year, since="base") + ".", "criteria", "growth"))
        weak = share.sort_values("shown")
        cands.append(("Слабые места", "Ниже всего значения показателей: " + _names(weak, spec, year, since="none")
                      + ".", "criteria", "weakest"))
        recs.append(("КРИРПО", "Подготовить методические рекомендации для ОО по показателям с "
                     "наименьшими значениями: " + _codes(weak) + ".", "weakest"))
    down = ch[ch["down"].astype(bool)]
    if len(down):
        cands.append(("Динамика", "За год снизились: " + _names(down, spec, year, k=4, since="yoy") + ".",
                      "criteria", "decline"))
        recs.append(("ОО", "Выяснить причины снижения показателей за год (" + _codes(down, 4)
                     + ") и включить меры по их восстановлению в планы ОО.", "decline"))
    elif year != spec.base_year:
        cands.append(("Динамика", "За год ни один показатель существенно не снизился.", "criteria",
                      "no_decline"))
    text, rec_t = _targets(agg, year, spec, unit, ch)
    if text:
        cands.append(("Целевые значения", text, "targets", "targets"))
        recs += [(a, t, "targets") for a, t in rec_t]
    if ranks is not None and len(ranks) >= 6:
        text, rec_r = _rating(ranks, unit)
        cands.append(("Рейтинг муниципалитетов", text, "rating", "rating"))
        recs += [(a, t, "rating") for a, t in rec_r]
    if association is not None and not municipality:
        text, rec_a = _association(association)
        cands.append(("Диагностика и мониторинг", text, "association", "association"))
        recs += [(a, t, "association") for a, t in rec_a]
    kept = cands[:7]
    findings = [Finding(i, t, s, MONITORING_SECTIONS[sec], k) for i, (t, s, sec, k) in enumerate(kept, 1)]
    num = {f.key: f.number for f in findings}
    theme_rows = [(f"Критерий {c.id}. {c.name}", f"Показатель {r.label}: {_value_text(r, spec, year)}.")
                  for c in spec.criteria.itertuples() for r in ch[ch["criterion"] == c.id].itertuples()]
    theme_rows += [(t, s) for t, s, _, _ in kept if t not in ("Динамика", "Слабые места")]
    order = {a: i for i, a in enumerate(ADDRESSEES)}
    rec = pd.DataFrame([(a, t, num[k]) for a, t, k in recs if k in num],
                       columns=["addressee", "text", "finding"])
    rec = rec.sort_values("addressee", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)
    return MonitoringConclusions(findings, pd.DataFrame(theme_rows, columns=["theme", "text"]), rec)
