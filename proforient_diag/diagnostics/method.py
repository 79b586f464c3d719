"""The note's section «Методика»: what the instrument measures and how answers become levels.

Written from the instrument versions themselves (their YAML files under ``instruments/``), so
that the text changes when a methodologist changes the instrument: the five components and what
each measures, the scoring (items keyed, averaged as a percentage of the maximum, the index as
the mean of the components), the levels and their cut scores for every band form and version of
the years the note shows, the linking of versions, the weighting, and what the diagnostic does
not measure. A reader must be able to tell from it what «высокий уровень» means.
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from ..fmt import fmt_num
from ..instrument import Instrument

__all__ = ["method_paragraphs", "cut_scores", "components", "LIMITS"]

#: What the diagnostic is not, said once in every note.
LIMITS = ("Диагностика описывает группы обучающихся (класс, школу, муниципалитет, регион), а не "
          "ставит диагноз отдельному ребёнку; она основана на самоотчёте обучающихся и не измеряет "
          "способности, профессиональную пригодность и успеваемость; результаты 1–4 классов "
          "(форма «да — частично — нет») сообщаются только по группам и не сравниваются с 5–11 "
          "классами как величины одной шкалы.")


def components(inst: Instrument) -> pd.DataFrame:
    """The components of the version: name, what it measures, and the bands that have it."""
    rows = []
    for s in inst.scales:
        bands = [b.id.replace("-", "–") for b in inst.bands if s.id in inst.scales_for(b.id)]
        rows.append({"scale": s.id, "name": s.name, "description": s.description,
                     "bands": ", ".join(bands)})
    return pd.DataFrame(rows, columns=["scale", "name", "description", "bands"])


def cut_scores(instruments: Iterable[Instrument]) -> pd.DataFrame:
    """The levels' cut scores of the index for every band form of every version given.

    Returns
    -------
    pandas.DataFrame
        ``version, band, level, from, to``: a level holds indices ``from ≤ index < to``.
    """
    rows = []
    for inst in instruments:
        labels = inst.levels.labels
        for b in inst.band_ids:
            cuts = inst.levels.cuts.get(b)
            if cuts is None:
                continue
            bounds = [0.0, *cuts, 100.0]
            for k, label in enumerate(labels):
                rows.append({"version": inst.version, "band": b, "level": label,
                             "from": bounds[k], "to": bounds[k + 1]})
    return pd.DataFrame(rows, columns=["version", "band", "level", "from", "to"])


def _levels_sentence(inst: Instrument) -> str:
    by_cut: dict[tuple, list[str]] = {}
    for b in inst.band_ids:
        if b in inst.levels.cuts:
            by_cut.setdefault(tuple(inst.levels.cuts[b]), []).append(b.replace("-", "–"))
    lo, hi = inst.levels.labels[0], inst.levels.labels[-1]
    parts = []
    for cuts, bands in by_cut.items():
        parts.append(f"{', '.join(bands)} классы: {lo} — индекс ниже {fmt_num(cuts[0], 0)}, "
                     f"{hi} — {fmt_num(cuts[-1], 0)} и выше")
    return "; ".join(parts)


def method_paragraphs(inst: Instrument, *, versions: Iterable[Instrument] = (),
                      weighted: bool = True, linked: bool = True) -> list[str]:
    """The paragraphs of «Методика» for the version in force (``inst``).

    Parameters
    ----------
    inst : Instrument
        The version in force in the note's year.
    versions : iterable of Instrument
        The earlier versions of the years the note compares (their cut scores are in
        :func:`cut_scores`; here they are only named).
    weighted : bool, default True
        The note's estimates are weighted to enrolment.
    linked : bool, default True
        Earlier versions are linked to ``inst`` through anchor items.
    """
    comps = "; ".join(f"{s.name.lower()} — {s.description}" if s.description else s.name.lower()
                      for s in inst.scales)
    forms = ", ".join(b.id.replace("-", "–") for b in inst.bands)
    out = [
        f"Инструмент «{inst.title}» (версия {inst.version}) измеряет {len(inst.scales)} "
        f"компонентов профессионального самоопределения: {comps}. Для каждой параллели "
        f"({forms} классы) есть своя форма анкеты с утверждениями, с которыми обучающийся "
        "соглашается или не соглашается.",
        "Ответы на утверждения с обратным смыслом переворачиваются, затем балл компонента "
        "вычисляется как среднее ответов в процентах от максимума (от 0 до 100); балл считается, "
        "если обучающийся ответил на установленное для формы минимальное число утверждений "
        f"компонента. {inst.total_name} — среднее баллов компонентов (от 0 до 100).",
        f"Уровень определяется по индексу и порогам формы: {_levels_sentence(inst)}; между "
        "порогами — средний уровень. Высокий уровень означает, что обучающийся в среднем "
        "согласен с утверждениями о сформированности всех компонентов: интересуется профессиями, "
        "знает пути их получения, пробовал себя в деле, уверен в выборе и может его обосновать.",
    ]
    older = sorted({v.version for v in versions if v.version != inst.version})
    if older and linked:
        out.append("Годы, измеренные прежними версиями инструмента ("
                   + ", ".join(map(str, older)) + "), приведены к шкале версии "
                   f"{inst.version} по общим (якорным) утверждениям; погрешность такого "
                   "приведения (ошибка связывания) добавлена к погрешности каждого сравнения "
                   "между версиями.")
    if weighted:
        out.append("Оценки по региону и муниципалитетам взвешены: ответы приведены к численности "
                   "обучающихся по муниципалитетам, параллелям, классам и полу, чтобы школы, "
                   "опросившие больше или меньше обучающихся, не смещали итог. Доверительные "
                   "интервалы учитывают, что обучающиеся одной школы похожи друг на друга.")
    out.append(LIMITS)
    return out
