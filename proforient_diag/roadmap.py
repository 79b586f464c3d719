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
                             "target_kind", "target_value", "target_assumption"]]
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


