"""The roadmap 2018–2027: its calendar (base year, stages) and its monitoring specification.

The single source of what the roadmap fixes (``shared/seed/roadmap-2018-2027.txt``, section 5
«Срок и этапы реализации плана»): the base year of the diagnostic and the monitoring (2018, the
first wave), and the three stages — 2018–2020, 2021–2024, 2025–2027. The comparisons
(:func:`proforient_diag.compare.trend`), the notes and their plots read them from here.

The monitoring «Результативности реализации дорожной карты» (items 3.3 and 4.9) is data:
``instruments/roadmap-monitoring.yaml`` holds every indicator of the roadmap's table «Критерии и
показатели реализации дорожной карты» verbatim, with its criterion, unit, type, aggregation and a
target where the roadmap implies one (all numeric targets are the kit's stated assumptions: the
roadmap gives none); :func:`load_monitoring_spec` validates it into a :class:`MonitoringSpec`.
Nothing about a particular indicator is hard-coded in Python.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .errors import MonitoringSpecError
from .instrument import normalize_text

__all__ = ["BASE_YEAR", "STAGES", "Stage", "stage_labels", "stages_frame", "stage_of",
           "ROADMAP_TITLE", "ITEMS", "stage_in", "Approval", "load_approval", "normative_basis",
           "MonitoringSpec", "load_monitoring_spec", "REGION", "SPEC_PATH", "MEASURE_KINDS"]

REGION = "Кемеровская область — Кузбасс"
SPEC_PATH = Path(__file__).resolve().parents[1] / "instruments" / "roadmap-monitoring.yaml"
MEASURE_KINDS = ("count", "yesno", "percent")

#: The first wave of the diagnostic and the monitoring (September 2018).
BASE_YEAR = 2018


@dataclass(frozen=True)
class Stage:
    """A stage of the roadmap: number, Russian name and its first and last year."""

    id: int
    name: str
    start: int
    end: int

    @property
    def numeral(self) -> str:
        """The stage number as a Roman numeral (I, II, III)."""
        return ("I", "II", "III", "IV", "V")[self.id - 1]

    @property
    def label(self) -> str:
        """«I (2018–2020)»: the label of the stage in tables."""
        return f"{self.numeral} ({self.start}–{self.end})"

    def years(self) -> range:
        return range(self.start, self.end + 1)


#: The roadmap's stages (section 5 of the roadmap).
STAGES = (Stage(1, "Первый этап", 2018, 2020), Stage(2, "Второй этап", 2021, 2024),
          Stage(3, "Третий этап", 2025, 2027))

#: The roadmap's title, as it stands in its text.
ROADMAP_TITLE = ("План мероприятий («дорожная карта») по реализации долгосрочного межведомственного "
                 "профориентационного проекта обучающихся общеобразовательных организаций на "
                 "2018–2027 годы в рамках плана мероприятий Десятилетия детства в Кемеровской "
                 "области")

#: The roadmap's items a note rests on, in the roadmap's words (section «Мероприятия»).
ITEMS = {
    "3.2": "разработка диагностического инструментария «Уровень сформированности "
           "профессионального самоопределения обучающихся» (ГБУ ДПО «КРИРПО»; 2018, 2021, 2024 и "
           "2026 годы)",
    "3.3": "разработка материалов для проведения мониторинга «Результативности реализации "
           "дорожной карты» (ГБУ ДПО «КРИРПО», 2018 год)",
    "4.9": "проведение мониторинга «Результативности реализации дорожной карты» (ежегодно; "
           "результат — аналитическая справка)",
    "4.10": "проведение диагностики обучающихся для выявления уровня сформированности "
            "профессионального самоопределения обучающихся (ежегодно; исполнители — центры "
            "занятости населения, муниципальные органы управления образованием, "
            "общеобразовательные организации; результат — аналитическая справка)",
    "4.11": "разработка педагогами в Портфолио достижений раздела по профориентации и заполнение "
            "его обучающимися (ежегодно)",
}

#: What each stage is for (section 5 of the roadmap, shortened).
STAGE_TASKS = {
    1: "разработка нормативных и методических документов, мониторинг, модель межведомственной "
       "системы профессиональной ориентации",
    2: "реализация модели межведомственной системы профессиональной ориентации и механизмов "
       "взаимодействия образования с системой труда и занятости",
    3: "мониторинг, вовлечение специалистов разных ведомств и родителей, профессиональные пробы "
       "и другие современные форматы профориентации, обобщение и представление результатов "
       "проекта",
}

#: Russian names of the indicator types and target kinds (for the notes' tables).
TYPE_NAMES = {"presence": "наличие (доля ОО)", "count": "количество", "share": "доля обучающихся, %"}
TARGET_KIND_NAMES = {"level": "уровень", "growth": "не ниже прошлого года"}

#: The settings file beside an instrument with the approving act (optional).
APPROVAL_FILE = "approval.yaml"


def stage_in(year: int) -> Stage | None:
    """The stage the year belongs to, or ``None`` outside 2018–2027."""
    return next((s for s in STAGES if s.start <= int(year) <= s.end), None)


@dataclass(frozen=True)
class Approval:
    """The act that approved the instrument or the monitoring programme (the kit cannot know
    it: the methodologist writes it into ``instruments/<id>/approval.yaml``)."""

    act: str = ""
    number: str = ""
    date: str = ""

    def text(self) -> str:
        """«приказ ГБУ ДПО «КРИРПО» от 01.09.2026 № 123», or "" when nothing is set."""
        parts = [self.act]
        if self.date:
            parts.append(f"от\u00a0{self.date}")
        if self.number:
            parts.append(f"№\u00a0{self.number}")
        return " ".join(p for p in parts if p)


def load_approval(folder: str | Path) -> Approval:
    """The :class:`Approval` of ``folder/approval.yaml`` (empty when the file is absent).

    The file holds ``act`` (e.g. «приказ ГБУ ДПО «КРИРПО»»), ``number`` and ``date``; any of them
    may be left out.

    Raises
    ------
    MonitoringSpecError
        If the file is not a YAML mapping of these keys.
    """
    path = Path(folder) / APPROVAL_FILE
    if not path.is_file():
        return Approval()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MonitoringSpecError(f"файл «{path.name}» не читается как YAML в UTF-8 "
                                  f"({exc.__class__.__name__}); проверьте отступы.") from exc
    unknown = set(raw) - {"act", "number", "date"} if isinstance(raw, dict) else {"?"}
    if unknown:
        raise MonitoringSpecError(f"в файле «{path.name}» допустимы только поля act, number и "
                                  f"date; лишние: {', '.join(sorted(map(str, unknown)))}.")
    return Approval(**{k: str(v) for k, v in raw.items() if v is not None})


def normative_basis(year: int, kind: str, approval: Approval | None = None) -> list[str]:
    """The paragraphs of the section «Нормативная основа» of a note.

    Parameters
    ----------
    year : int
        The note's year.
    kind : {"diagnostic", "monitoring"}
        The annual diagnostic (items 3.2, 4.10, 4.11) or the monitoring (3.3, 4.9).
    approval : Approval, optional
        The approving act of the instrument / programme, when the settings file names it.
    """
    items = ("3.2", "4.10", "4.11") if kind == "diagnostic" else ("3.3", "4.9")
    what = ("Диагностика проводится" if kind == "diagnostic" else "Мониторинг проводится")
    out = [f"{what} в соответствии с документом «{ROADMAP_TITLE}» (далее — дорожная карта): "
           + "; ".join(f"п.\u00a0{i} — {ITEMS[i]}" for i in items) + "."]
    st = stage_in(year)
    if st is not None:
        out.append(f"{year} год относится к {st.numeral} этапу реализации дорожной карты "
                   f"({st.start}–{st.end} годы), задачи которого — {STAGE_TASKS[st.id]}.")
    act = (approval or Approval()).text()
    if act:
        noun = "Инструментарий" if kind == "diagnostic" else "Программа мониторинга"
        out.append(f"{noun} утверждён{'а' if kind != 'diagnostic' else ''}: {act}.")
    return out


def stage_labels() -> dict[str, tuple[int, int]]:
    """``{"I (2018–2020)": (2018, 2020), …}``: the stages as comparisons take them."""
    return {s.label: (s.start, s.end) for s in STAGES}


def stages_frame() -> pd.DataFrame:
    """The stages as a table: id, name, start, end."""
    return pd.DataFrame([{"id": s.id, "name": s.name, "start": s.start, "end": s.end}
                         for s in STAGES])


@dataclass(frozen=True)
class MonitoringSpec:
    """The monitoring form: indicators, their form columns, criteria, stages, calendar.

    Attributes
    ----------
    indicators : DataFrame
        One row per indicator: id, original_id, criterion, criterion_name, wording, unit, type,
        aggregation, note, primary (the form column that carries the indicator), target_kind,
        target_value, target_assumption, target_basis, composite, composite_weight.
    measures : DataFrame
        One row per form column: column, indicator, criterion, kind (count/yesno/percent), header,
        level (for 4.3), count_column, count_header, derived (True for the computed 4.3 total),
        primary.
    criteria : DataFrame
        id, name, weight.
    stages : DataFrame
        id, name, start, end.
    raw : dict
        The parsed YAML.
    path : str
        Where the spec was read from.
    """

    indicators: pd.DataFrame
    measures: pd.DataFrame
    criteria: pd.DataFrame
    stages: pd.DataFrame
    raw: dict = field(repr=False)
    path: str = ""

    @property
    def base_year(self) -> int:
        """The roadmap's base year (:data:`BASE_YEAR`)."""
        return BASE_YEAR

    @property
    def yes_values(self) -> set[str]:
        return {normalize_text(v) for v in self.raw["yes_values"]}

    @property
    def no_values(self) -> set[str]:
        return {normalize_text(v) for v in self.raw["no_values"]}

    @property
    def context(self) -> dict:
        return self.raw["context"]

    def to_frame(self) -> pd.DataFrame:
        return self.indicators

    def summary(self) -> pd.DataFrame:
        """The indicator table with Russian headers."""
        t = self.indicators[["id", "original_id", "criterion_name", "wording", "unit", "type",
                             "target_kind", "target_value", "target_assumption"]].copy()
        t["type"] = t["type"].map(TYPE_NAMES).fillna(t["type"])
        t["target_kind"] = t["target_kind"].map(TARGET_KIND_NAMES).fillna(t["target_kind"])
        return t.rename(columns={"id": "№", "original_id": "№ в дорожной карте",
                                 "criterion_name": "Критерий", "wording": "Показатель",
                                 "unit": "Измеритель", "type": "Тип", "target_kind": "Вид цели",
                                 "target_value": "Целевое значение",
                                 "target_assumption": "Цель — допущение"})


def load_monitoring_spec(path: str | Path | None = None) -> MonitoringSpec:
    """Load and validate the monitoring form specification.

    Parameters
    ----------
    path : str or Path, optional
        The YAML file; default ``instruments/roadmap-monitoring.yaml``.

    Returns
    -------
    MonitoringSpec

    Raises
    ------
    MonitoringSpecError
        A required key is missing, a kind or aggregation is unknown, a column is repeated.
    """
    path = Path(path) if path is not None else SPEC_PATH
    if not path.exists():
        raise MonitoringSpecError("файл спецификации формы мониторинга не найден; проверьте путь.",
                                  file=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MonitoringSpecError(f"YAML не читается ({str(exc).splitlines()[0]}); исправьте "
                                  "синтаксис.", file=path) from None
    for key in ("indicators", "criteria", "context", "yes_values", "no_values", "calendar"):
        if key not in raw:
            raise MonitoringSpecError(f"нет обязательного раздела «{key}»; добавьте его.", file=path,
                                      column=key)
    crit = pd.DataFrame(raw["criteria"])
    crit_name = dict(zip(crit["id"], crit["name"]))
    ind_rows, meas_rows = [], []
    for ind in raw["indicators"]:
        iid = str(ind.get("id", ""))
        for key in ("criterion", "wording", "unit", "type", "aggregation", "measures"):
            if key not in ind:
                raise MonitoringSpecError(f"у показателя {iid} нет поля «{key}»; добавьте его.",
                                          file=path, column=key)
        if ind["criterion"] not in crit_name:
            raise MonitoringSpecError(f"показатель {iid}: неизвестный критерий {ind['criterion']}; "
                                      f"допустимы {sorted(crit_name)}.", file=path, column="criterion")
        if ind["aggregation"] not in ("sum", "share_yes", "weighted_pct"):
            raise MonitoringSpecError(f"показатель {iid}: агрегирование «{ind['aggregation']}» не "
                                      "поддерживается; допустимы sum, share_yes, weighted_pct.",
                                      file=path, column="aggregation")
        tgt = ind.get("target") or {}
        primary = ind.get("total_column") or ind["measures"][0]["column"]
        ind_rows.append({
            "id": iid, "original_id": str(ind.get("original_id", iid)), "criterion": int(ind["criterion"]),
            "criterion_name": crit_name[ind["criterion"]], "wording": ind["wording"], "unit": ind["unit"],
            "type": ind["type"], "aggregation": ind["aggregation"], "note": ind.get("note", ""),
            "primary": primary, "target_kind": tgt.get("kind"), "target_value": tgt.get("value", np.nan),
            "target_assumption": bool(tgt.get("assumption", False)), "target_basis": tgt.get("basis", ""),
            "composite": bool(ind.get("composite", False)),
            "composite_weight": float(ind.get("composite_weight", 1.0))})
        for m in ind["measures"]:
            if m.get("kind") not in MEASURE_KINDS:
                raise MonitoringSpecError(f"показатель {iid}, столбец {m.get('column')}: вид «{m.get('kind')}» "
                                          f"не поддерживается; допустимы {', '.join(MEASURE_KINDS)}.", file=path,
                                          column="kind")
            meas_rows.append({"column": m["column"], "indicator": iid, "criterion": int(ind["criterion"]),
                              "kind": m["kind"], "header": m["header"], "level": m.get("level", ""),
                              "count_column": m.get("count_column", ""), "count_header": m.get("count_header", ""),
                              "aliases": tuple(m.get("aliases", ())), "derived": False,
                              "primary": m["column"] == primary})
        if ind.get("total_column"):
            meas_rows.append({"column": ind["total_column"], "indicator": iid, "criterion": int(ind["criterion"]),
                              "kind": "count", "header": f"{iid}. Итого (сумма по уровням)", "level": "итого",
                              "count_column": "", "count_header": "", "aliases": (), "derived": True,
                              "primary": True})
    cal = raw["calendar"]
    for ev in cal["events"]:
        meas_rows.append({"column": ev["column"], "indicator": f"к{cal['item']}", "criterion": 4,
                          "kind": "yesno", "header": ev["header"], "level": ev["name"],
                          "count_column": "", "count_header": "", "aliases": (), "derived": False,
                          "primary": True})
    measures = pd.DataFrame(meas_rows)
    dup = measures["column"][measures["column"].duplicated()]
    if len(dup):
        raise MonitoringSpecError(f"столбец формы «{dup.iloc[0]}» описан дважды; дайте столбцам "
                                  "разные коды.", file=path, column=str(dup.iloc[0]))
    return MonitoringSpec(pd.DataFrame(ind_rows), measures, crit, stages_frame(), raw, str(path))


def stage_of(years, spec: MonitoringSpec | None = None) -> pd.Series:
    """The roadmap stage (1: 2018–2020, 2: 2021–2024, 3: 2025–2027) of each year; NaN outside.

    ``spec`` is accepted for symmetry with the other monitoring functions; the stages are the
    roadmap's (:data:`STAGES`).
    """
    y = pd.Series(years)
    out = pd.Series(np.nan, index=y.index)
    for s in STAGES:
        out[(y >= s.start) & (y <= s.end)] = s.id
    return out


