"""The note's conclusions and recommendations, written from its numbers only.

Every sentence states a number of the :class:`~proforient_diag.diagnostics.note.Diagnostics` it
is written from; hidden groups are never turned into sentences
(:func:`~proforient_diag.diagnostics.disclosure.shown`).
"""
from __future__ import annotations

import numpy as np

from ..fmt import fmt_num, fmt_p
from .disclosure import change_verdict, shown
from .labels import BAND_ORDER, HIGH, LOW

__all__ = ["conclusions", "conclusions_by_theme", "difference_of_changes", "RECOMMENDATIONS"]

#: Targeted recommendation per component (used when the component is the weakest).
RECOMMENDATIONS = {
    "MOT": "усилить мотивационную составляющую: встречи с представителями профессий региона, "
           "проекты «Билет в будущее», обсуждение ценности труда на классных часах",
    "COG": "расширить информирование о мире профессий, образовательных маршрутах и рынке труда "
           "Кузбасса: профориентационные уроки курса «Россия — мои горизонты», экскурсии на "
           "предприятия и в колледжи",
    "ACT": "увеличить долю практических форм: профессиональные пробы, кружки и объединения "
           "дополнительного образования, ведение портфолио и индивидуального плана",
    "EMO": "организовать психолого-педагогическое сопровождение выбора: консультации по снижению "
           "тревожности, тренинги принятия решений и самостоятельности",
    "REF": "развивать рефлексию выбора: соотнесение «хочу — могу — надо», обсуждение результатов "
           "диагностики с обучающимися и родителями, корректировка профессиональных планов",
}


def _ci(lo, hi, d=1) -> str:
    if lo < 0 or hi < 0:
        return f"от {fmt_num(lo, d)} до {fmt_num(hi, d)}"
    return f"{fmt_num(lo, d)}–{fmt_num(hi, d)}"


def _verb(verdict: str) -> str:
    return {"рост": "выросла", "снижение": "снизилась"}.get(verdict, "не изменилась статистически "
                                                                     "значимо")


def _adjusted_only(lo: float, hi: float) -> str:
    """Why a change whose unadjusted CI excludes zero is still called not significant."""
    if (lo > 0) or (hi < 0):
        return (": доверительный интервал не включает 0, но после поправки на множественные "
                "сравнения изменение не значимо")
    return ""


def _points(x: float) -> str:
    a = abs(x)
    return f"{fmt_num(a, 1)} балла"


def conclusions(diag) -> list[str]:
    """Russian conclusions and recommendations generated from the numbers of ``diag``.

    The verbs «выросла» / «снизилась» are used only when the 95 % CI (linking error included)
    excludes zero **and** the adjusted p is below 0.05; otherwise «не изменилась статистически
    значимо». Comparisons between unlinked versions are not turned into sentences (a warning
    says why). Recommendations name the weakest component of the year and the municipalities
    significantly below the region (Benjamini–Hochberg).
    """
    if getattr(diag, "withheld", False):
        return [diag.withheld_reason]
    where = (f" в муниципальном образовании «{diag.municipality_name}»"
             if diag.municipality else "")
    out = [*_trend(diag, where), *_index_changes(diag, where), *_level_changes(diag),
           *_component_changes(diag), *_subgroups(diag), *_gaps(diag)]
    rec: list[str] = []
    for said, advised in (_weakest_component(diag), _municipalities(diag)):
        out += said
        rec += advised
    return out + rec + _weakest_band(diag)


def conclusions_by_theme(diag) -> list[tuple[str, list[str]]]:
    """The conclusions grouped by theme (dynamics, levels and components, groups,
    municipalities), without the recommendations (see
    :func:`~proforient_diag.diagnostics.findings.recommendations`)."""
    if getattr(diag, "withheld", False):
        return [("Публикация", [diag.withheld_reason])]
    where = (f" в муниципальном образовании «{diag.municipality_name}»"
             if diag.municipality else "")
    themes = [
        ("Динамика индекса и уровней", [*_trend(diag, where), *_index_changes(diag, where),
                                        *_level_changes(diag), *_component_changes(diag)]),
        ("Различия между группами обучающихся", [*_subgroups(diag), *_gaps(diag)]),
        ("Муниципальные образования", _municipalities(diag)[0]),
    ]
    return [(t, s) for t, s in themes if s]


def _trend(diag, where: str) -> list[str]:
    sl = diag.trend_slope.iloc[0] if len(diag.trend_slope) else None
    if sl is None or len(diag.trend_years) < 3 or not bool(sl["all_linked"]):
        return []
    yrs = sorted(diag.data["year"].unique())
    v = change_verdict(sl["ci_low_total"], sl["ci_high_total"], sl["p_total"])
    ci = _ci(sl["ci_low_total"], sl["ci_high_total"], 2)
    if v == "нет":
        return [f"За {yrs[0]}–{yrs[-1]} годы средняя величина индекса{where} {_verb(v)}: наклон "
                f"{fmt_num(sl['slope'], 2)} балла в год (95 % ДИ {ci})."]
    return [f"За {yrs[0]}–{yrs[-1]} годы средняя величина индекса{where} {_verb(v)}: в среднем на "
            f"{fmt_num(abs(sl['slope']), 2)} балла в год (95 % ДИ {ci}; ошибка связывания версий "
            "учтена)."]


def _index_changes(diag, where: str) -> list[str]:
    ch, out = shown(diag.changes), []
    if not len(ch):
        return out
    for _, r in ch[(ch["score"] == "total") & ch["linked"].astype(bool)].iterrows():
        v = r["verdict"]
        when = f"по сравнению с {int(r['reference'])} годом".capitalize()
        ci = _ci(r["ci_low"], r["ci_high"])
        if v == "нет":
            out.append(f"{when} средняя величина индекса{where} {_verb(v)} (разность "
                       f"{fmt_num(r['diff'], 1)} балла, 95 % ДИ {ci}; p с поправкой Холма "
                       f"{_p(r['p_adj'])}){_adjusted_only(r['ci_low'], r['ci_high'])}.")
        else:
            out.append(f"{when} средняя величина индекса{where} {_verb(v)} на {_points(r['diff'])} "
                       f"(95 % ДИ {ci}), g = {fmt_num(r['hedges_g'], 2)}, p с поправкой Холма "
                       f"{_p(r['p_adj'])}.")
    return out


def _level_changes(diag) -> list[str]:
    lc, out = diag.level_changes, []
    if not len(lc):
        return out
    for _, r in lc[lc["level"].isin([HIGH, LOW]) & lc["linked"].astype(bool)].iterrows():
        v = r["verdict"]
        lvl = "высоким" if r["level"] == HIGH else "низким"
        when = f"по сравнению с {int(r['reference'])} годом"
        ci = _ci(r["ci_low_pp"], r["ci_high_pp"])
        if v == "нет":
            out.append(f"Доля обучающихся с {lvl} уровнем {when} {_verb(v)} "
                       f"({fmt_num(r['diff_pp'], 1)} п. п., 95 % ДИ {ci}; p с поправкой Холма "
                       f"{_p(r['p_adj'])}){_adjusted_only(r['ci_low_pp'], r['ci_high_pp'])}.")
        else:
            out.append(f"Доля обучающихся с {lvl} уровнем {when} {_verb(v)} на "
                       f"{fmt_num(abs(r['diff_pp']), 1)} п. п. (95 % ДИ {ci}).")
    return out


def _component_changes(diag) -> list[str]:
    ch = shown(diag.changes)
    if not len(ch):
        return []
    comp = ch[(ch["score"] != "total") & ch["linked"] & (ch["verdict"] != "нет")]
    return [f"{r['score_name']}: средняя величина {_verb(r['verdict'])} на {_points(r['diff'])} "
            f"по сравнению с {int(r['reference'])} годом (95 % ДИ {_ci(r['ci_low'], r['ci_high'])}, "
            f"g = {fmt_num(r['hedges_g'], 2)})." for _, r in comp.iterrows()]


_GROUP_PHRASE = {"band": lambda g: f"в {g.replace('-', '–')} классах",
                 "sex": lambda g: "у девушек" if g == "ж" else "у юношей",
                 "area": lambda g: "в городских школах" if g == "город" else "в сельских школах"}


_PAIR_NAMES = {"sex": ("у девушек", "у юношей"), "area": ("в городских школах",
                                                          "в сельских школах")}


def difference_of_changes(a, b, confidence: float = 0.95) -> dict:
    """The difference between two groups' changes (the group × year interaction).

    The groups are disjoint samples (other students, other schools), so the difference of
    their changes has ``se = sqrt(se_a² + se_b²)``; the linking error, common to both groups
    (the same anchor items), cancels in the difference. Normal reference distribution.

    Returns
    -------
    dict
        ``diff, se, ci_low, ci_high, p``.
    """
    from scipy import stats

    d = float(a["diff"]) - float(b["diff"])
    se = float(np.hypot(float(a["se"]), float(b["se"])))
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = float(2 * stats.norm.sf(abs(d) / se)) if se > 0 else float("nan")
    return {"diff": d, "se": se, "ci_low": d - z * se, "ci_high": d + z * se, "p": p}


def _interactions(s) -> list[str]:
    """Where one group of a pair changed and the other did not, whether the changes differ."""
    out = []
    for by, (first, second) in _PAIR_NAMES.items():
        pair = s[s["by"] == by]
        if len(pair) != 2 or set(pair["verdict"]) in ({"нет"}, {"рост"}, {"снижение"}):
            continue
        a, b = pair.iloc[0], pair.iloc[1]
        names = dict(zip(pair["subgroup"], (_GROUP_PHRASE[by](g) for g in pair["subgroup"])))
        r = difference_of_changes(a, b)
        ci = _ci(r["ci_low"], r["ci_high"])
        who = f"{names[a['subgroup']]} и {names[b['subgroup']]}"
        if r["p"] < 0.05 and (r["ci_low"] > 0 or r["ci_high"] < 0):
            out.append(f"Изменения {who} статистически значимо различаются (разность изменений "
                       f"{fmt_num(r['diff'], 1)} балла, 95 % ДИ {ci}).")
        else:
            out.append(f"При этом различие изменений {who} статистически не подтверждено "
                       f"(разность изменений {fmt_num(r['diff'], 1)} балла, 95 % ДИ {ci}; "
                       f"p {_p(r['p'])}): говорить о разной динамике этих групп нельзя.")
    return out


def _subgroups(diag) -> list[str]:
    sg, out = shown(diag.subgroup_changes), []
    if not len(sg):
        return out
    for ref in sorted(sg["reference"].unique(), reverse=True):
        s = sg[(sg["reference"] == ref) & sg["linked"]]
        up = [_GROUP_PHRASE[r["by"]](r["subgroup"]) for _, r in s.iterrows() if r["verdict"] == "рост"]
        down = [_GROUP_PHRASE[r["by"]](r["subgroup"]) for _, r in s.iterrows()
                if r["verdict"] == "снижение"]
        if up:
            out.append(f"По сравнению с {int(ref)} годом индекс статистически значимо вырос "
                       + ", ".join(up) + ".")
        if down:
            out.append(f"По сравнению с {int(ref)} годом индекс статистически значимо снизился "
                       + ", ".join(down) + ".")
        if up or down:
            out += _interactions(s)
    return out


def _gaps(diag) -> list[str]:
    out = []
    who_of = {"ж": "у девушек", "м": "у юношей", "город": "в городских школах",
              "село": "в сельских школах"}
    for _, r in shown(diag.group_differences).iterrows():
        what = "у девушек и юношей" if r["by"] == "sex" else "в городских и сельских школах"
        if r["p_adj"] < 0.05 and (r["ci_low"] > 0 or r["ci_high"] < 0):
            hi = r["group"] if r["diff"] > 0 else r["reference"]
            ci = (_ci(abs(r["ci_low"]), abs(r["ci_high"])) if r["diff"] > 0
                  else _ci(-r["ci_high"], -r["ci_low"]))
            out.append(f"В {diag.year} году индекс выше {who_of.get(hi, str(hi))} на "
                       f"{_points(r['diff'])} (95 % ДИ {ci}).")
        else:
            out.append(f"В {diag.year} году индекс {what} статистически значимо не различается.")
    return out


def _weakest_component(diag) -> tuple[list[str], list[str]]:
    row = diag.profiles[diag.profiles["band"] == "Всего"]
    if not len(row):
        return [], []
    vals = {s: float(row[s].iat[0]) for s in diag.scales
            if s in row and np.isfinite(row[s].iat[0])}
    if not vals:
        return [], []
    weakest = min(vals, key=vals.get)
    return ([f"Наименее сформирован {diag.scales[weakest].lower()} (средняя величина "
             f"{fmt_num(vals[weakest], 1)} балла из 100)."],
            [f"Рекомендуется {RECOMMENDATIONS.get(weakest, 'уделить внимание этому компоненту')}."])


def _municipalities(diag) -> tuple[list[str], list[str]]:
    mv = shown(diag.municipalities_vs_region)
    if not len(mv):
        return [], []
    support = ("адресная методическая поддержка школ и разбор результатов с "
               "педагогами-навигаторами.")
    if diag.municipality is None:
        below = mv[mv["verdict"] == "ниже региона"]
        if not len(below):
            return (["Ни один муниципалитет статистически значимо не отстаёт от региона "
                     "(поправка Бенджамини — Хохберга)."], [])
        return [], ["Органам управления образованием муниципальных образований "
                    + ", ".join(f"«{m}»" for m in below["municipality"])
                    + " (индекс статистически значимо ниже регионального с поправкой Бенджамини — "
                    "Хохберга) рекомендуется " + support]
    r = mv.iloc[0]
    verdict = {"выше региона": "статистически значимо выше регионального",
               "ниже региона": "статистически значимо ниже регионального"}.get(
        r["verdict"], "статистически значимо не отличается от регионального")
    said = [f"Индекс муниципального образования «{r['municipality']}» {verdict} (разность "
            f"{fmt_num(r['diff'], 1)} балла, 95 % ДИ {_ci(r['ci_low'], r['ci_high'])}, p с "
            f"поправкой {_p(r['p_adj'])})."]
    advised = ([f"Муниципальному образованию «{r['municipality']}» рекомендуется " + support]
               if r["verdict"] == "ниже региона" else [])
    return said, advised


def _weakest_band(diag) -> list[str]:
    lb = diag.levels_band
    lbb = lb[lb["band"].isin(BAND_ORDER)]
    if LOW not in lbb:
        return []
    lbb = lbb[lbb[LOW].notna()]
    if not len(lbb):
        return []
    wb = lbb.loc[lbb[LOW].idxmax()]
    return [f"Наибольшая доля обучающихся с низким уровнем — в {wb['band'].replace('-', '–')} "
            f"классах ({fmt_num(wb[LOW], 1)} %): профориентационную работу в этой параллели "
            "стоит усилить в первую очередь."]


def _p(p) -> str:
    """«= 0,034» or «< 0,001» (to follow «p»)."""
    t = fmt_p(p)
    return t if t.startswith("<") else f"= {t}"
