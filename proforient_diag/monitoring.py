"""The roadmap monitoring: indicators 1.1–5.3 from school forms to municipalities and the region.

The monitoring «Результативности реализации дорожной карты» (roadmap items 3.3 and 4.9) collects
one form a year from every general-education school. The form is data:
``instruments/roadmap-monitoring.yaml`` holds every indicator of the roadmap's table «Критерии и
показатели реализации дорожной карты» verbatim, with its criterion, unit, type, aggregation and a
target where the roadmap implies one (all numeric targets are the kit's stated assumptions: the
roadmap gives none). Nothing about a particular indicator is hard-coded here.

Flow::

    forms (XLSX/CSV, any encoding) ─► read_forms ─► forms (school × year) + exclusions + issues
    monitoring/<year>/ ─► load_monitoring ─► Store.load_forms (each year once; then only read) ─┤
                                                         │
         aggregate (school → municipality → region) ◄────┘
              ├─► change (year over year, since 2018, within the roadmap's stage)
              ├─► targets (attainment)
              ├─► composite_index (percentile ranks of municipalities per criterion)
              └─► conclusions (Russian sentences generated from these numbers only)
    scores (diagnostics) × forms ─► activity_association (MixedLM; an association, not an effect)

Aggregation rules (per measure kind):

* count — :math:`\\sum_i x_i` over schools with the cell filled; for comparing municipalities of
  different size also :math:`1000\\,\\sum_i x_i / \\sum_i n_i` (per 1 000 students);
* yes/no — share of schools with «да», :math:`100\\,\\bar y`, and the number of such schools;
* percent of students — student-weighted :math:`\\sum_i p_i n_i / \\sum_i n_i`, i.e. the share of
  the municipality's students, not the mean of school percentages.

Own numerics: none beyond group sums; the mixed model is statsmodels ``MixedLM``.

References
----------
1. План мероприятий («дорожная карта») ... на 2018–2027 годы в рамках плана мероприятий
   Десятилетия детства в Кемеровской области (shared/seed/roadmap-2018-2027.txt).
2. OECD/JRC (2008). *Handbook on Constructing Composite Indicators*. Paris: OECD (normalisation
   by ranks/percentiles vs min–max, equal weighting).
4. Mundlak Y. (1978). On the pooling of time series and cross section data. *Econometrica* 46,
   69–85; Bell A., Jones K. (2015). Explaining fixed effects: random effects modeling of
   time-series cross-sectional and panel data. *Political Science Research and Methods* 3, 133–153.
3. Lindstrom M. J., Bates D. M. (1988). Newton–Raphson and EM algorithms for linear mixed-effects
   models. *JASA* 83, 1014–1022 (statsmodels ``MixedLM``; in R: ``lme4::lmer``).
"""
from __future__ import annotations

import hashlib
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import yaml

from .errors import DataError, InputFileError, InstrumentError, StoreError
from .ingest import municipalities, read_table
from .instrument import normalize_text
from .report.fmt import fmt_pct

__all__ = ["MonitoringSpec", "MonitoringResult", "ActivityAssociation", "load_monitoring_spec",
           "read_forms", "load_monitoring", "aggregate", "change", "targets", "composite_index", "completeness",
           "write_form_template", "activity_association", "conclusions", "stage_of",
           "MonitoringSpecError", "FormError", "REGION"]

REGION = "Кемеровская область — Кузбасс"
_SPEC_PATH = Path(__file__).resolve().parents[1] / "instruments" / "roadmap-monitoring.yaml"
_SUPPORTED = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
_EMPTY = {"", "nan", "none", "null", "n/a", "na", "#н/д"}
_KINDS = ("count", "yesno", "percent")
_LEVELS = ("municipality", "region")


class MonitoringSpecError(InstrumentError):
    """The monitoring form specification (YAML) is invalid."""


class FormError(InputFileError):
    """A monitoring form file cannot be used at all."""


# -- the spec ---------------------------------------------------------------------------------

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
        return int(self.raw.get("base_year", 2018))

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
    path = Path(path) if path is not None else _SPEC_PATH
    if not path.exists():
        raise MonitoringSpecError("файл спецификации формы мониторинга не найден; проверьте путь.",
                                  file=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise MonitoringSpecError(f"YAML не читается ({str(exc).splitlines()[0]}); исправьте "
                                  "синтаксис.", file=path) from None
    for key in ("indicators", "criteria", "stages", "context", "yes_values", "no_values", "calendar"):
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
            if m.get("kind") not in _KINDS:
                raise MonitoringSpecError(f"показатель {iid}, столбец {m.get('column')}: вид «{m.get('kind')}» "
                                          f"не поддерживается; допустимы {', '.join(_KINDS)}.", file=path,
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
    stages = pd.DataFrame([{"id": s["id"], "name": s["name"], "start": s["years"][0], "end": s["years"][1]}
                           for s in raw["stages"]])
    return MonitoringSpec(pd.DataFrame(ind_rows), measures, crit, stages, raw, str(path))


def stage_of(years, spec: MonitoringSpec) -> pd.Series:
    """The roadmap stage (1: 2018–2020, 2: 2021–2024, 3: 2025–2027) of each year; NaN outside."""
    y = pd.Series(years)
    out = pd.Series(np.nan, index=y.index)
    for s in spec.stages.itertuples():
        out[(y >= s.start) & (y <= s.end)] = s.id
    return out


# -- reading forms ----------------------------------------------------------------------------

@dataclass(frozen=True)
class MonitoringResult:
    """What :func:`read_forms` (or :func:`load_monitoring`, through the store) accepted and what not.

    Attributes
    ----------
    forms : DataFrame
        One row per school and year: source_file, source_row, year, school_id, municipality_code,
        municipality, n_students_form, n_students (the enrolment count when enrolment is given,
        else the form's), then one column per form measure (counts and percentages as floats,
        yes/no as 1.0/0.0; NaN = empty or rejected cell) and the derived 4.3 total ``i4_3``.
    exclusions : DataFrame
        Rows not accepted: source_file, source_row, school_id, column, reason (Russian).
    issues : DataFrame
        Rejected or doubtful cells and file notes: source_file, source_row, school_id, column,
        value, reason.
    files : DataFrame
        Per file: file, sha256, format, encoding, rows, accepted, excluded (rows = accepted + excluded).
    missing_schools : DataFrame
        Schools of the year's list that sent no accepted form: year, school_id, school_name,
        municipality_code, municipality.
    completeness : DataFrame
        Per year and municipality (and the region): expected, received, share (%).
    years : tuple of int
        (:func:`load_monitoring`) the years with forms; ``exclusions``, ``issues`` and ``files``
        then carry a ``year`` column and name files without their folder.
    missing_years : tuple of int
        (:func:`load_monitoring`) requested years without a folder of forms.
    store_path : str
        (:func:`load_monitoring`) the store read, or «временное хранилище».
    reports : tuple of LoadReport
        (:func:`load_monitoring`) what this call loaded, one report per year.
    """

    forms: pd.DataFrame
    exclusions: pd.DataFrame
    issues: pd.DataFrame
    files: pd.DataFrame
    missing_schools: pd.DataFrame
    completeness: pd.DataFrame
    years: tuple = ()
    missing_years: tuple = ()
    store_path: str = ""
    reports: tuple = field(default=(), repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.forms

    def summary(self) -> pd.DataFrame:
        """Per-file accounting with Russian headers and the reasons of exclusion."""
        f = self.files.copy()
        ex = self.exclusions
        # a sheet's rows are labelled "file [sheet]": count them under their file
        key = ["year"] if "year" in ex.columns and "year" in f.columns else []
        reasons = (ex.assign(r=ex["reason"].str.replace(r" \(.*|«.*", "", regex=True),
                             file=ex["source_file"].astype(str).str.replace(r" \[[^\]]*\]$", "",
                                                                              regex=True))
                   .groupby(key + ["file"])["r"]
                   .agg(lambda r: "; ".join(f"{k}: {v}" for k, v in r.value_counts().items())))
        idx = pd.MultiIndex.from_frame(f[key + ["file"]]) if key else f["file"]
        f["Причины исключения"] = reasons.reindex(idx).fillna("").to_numpy()
        if "year" in f.columns:  # a label, not a number to format («2 026»)
            f["year"] = f["year"].astype(str)
        return f.drop(columns=["sha256"]).rename(columns={
            "year": "Год", "file": "Файл", "format": "Формат", "encoding": "Кодировка",
            "rows": "Строк", "accepted": "Принято", "excluded": "Исключено"})


def _resolve(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in _SUPPORTED
                              and not q.name.startswith(("~$", ".")) and not q.name.endswith(".json")))
        else:
            out.append(p)
    if not out:
        raise FormError("не найдено ни одного файла формы мониторинга (CSV или XLSX).",
                        file=str(paths[0]) if len(paths) else None)
    return out


def _header_lookup(spec: MonitoringSpec) -> dict[str, tuple[str, str]]:
    """normalised header → (role, column); role is 'context', 'measure' or 'count'."""
    look: dict[str, tuple[str, str]] = {}
    for key, c in spec.context.items():
        for a in [key, c["header"], *c.get("aliases", [])]:
            look.setdefault(normalize_text(a), ("context", key))
    for m in spec.measures.itertuples():
        if m.derived:
            look.setdefault(normalize_text(m.column), ("measure", m.column))
            continue
        for a in (m.column, m.header, *m.aliases):
            look.setdefault(normalize_text(a), ("measure", m.column))
            look.setdefault(normalize_text(re.sub(r"^\s*\d+\.\d+\.\s*", "", a)), ("measure", m.column))
        if m.count_column:
            for a in (m.count_column, m.count_header):
                look.setdefault(normalize_text(a), ("count", m.column))
                look.setdefault(normalize_text(re.sub(r"^\s*\d+\.\d+\.\s*", "", a)), ("count", m.column))
    return look


def _parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Text cells → floats; returns (values, unreadable mask). Blank cells are NaN and readable."""
    t = s.astype(str).str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    t = t.str.replace("%", "", regex=False).str.replace(",", ".", regex=False)
    blank = t.str.lower().isin(_EMPTY)
    v = pd.to_numeric(t.where(~blank), errors="coerce")
    return v, v.isna() & ~blank


def _parse_yesno(s: pd.Series, spec: MonitoringSpec) -> tuple[pd.Series, pd.Series]:
    uniq = pd.Series(s.astype(str).unique())
    norm = uniq.map(lambda x: normalize_text(x) if x.strip() not in ("-", "+") else x.strip())
    code = pd.Series(np.where(norm.isin(spec.yes_values), 1.0,
                              np.where(norm.isin(spec.no_values), 0.0, np.nan)), index=uniq.to_numpy())
    blank = norm.str.lower().isin(_EMPTY).to_numpy()
    bad = pd.Series(code.isna().to_numpy() & ~blank, index=uniq.to_numpy())
    return s.astype(str).map(code), s.astype(str).map(bad)


def read_forms(paths, *, schools: pd.DataFrame, enrolment: pd.DataFrame | None = None,
               spec: MonitoringSpec | None = None, year: int | None = None,
               tolerance: float = 0.10) -> MonitoringResult:
    """Read school monitoring forms (XLSX/CSV), validate them and account for every row.

    Parameters
    ----------
    paths : path, folder or list of them
        Form files; folders are searched recursively for CSV/XLSX.
    schools : DataFrame
        The school register: school_id, municipality_code (municipality, school_name optional).
    enrolment : DataFrame, optional
        year, school_id, n_students (the official count). When given, the form's number of
        students is checked against it (relative difference above ``tolerance`` is an issue) and
        the official count is used for weighting; schools with no students that year are not
        expected to send a form.
    spec : MonitoringSpec, optional
        Default :func:`load_monitoring_spec`.
    year : int, optional
        The year of forms that carry no «Год» column (else the column, else a year in the file name).
    tolerance : float
        Allowed relative difference between the form's and the register's number of students.

    Returns
    -------
    MonitoringResult

    Notes
    -----
    Row-level exclusions (first reason wins): empty row; no school code; a school not in the
    register; no readable year; a second form of the same school and year (the first read is
    kept). Cell-level issues (the cell is set empty, the row is kept): a percentage outside
    0–100; a negative or fractional count; a yes/no answer that is neither (accepted spellings:
    да/Да/ДА/yes/1/+/есть/имеется and нет/no/0/-/отсутствует, case and surrounding spaces
    ignored); a number of students in an activity above the school's students; a number of
    students that differs from the register. In every file rows = accepted + excluded.
    """
    spec = spec or load_monitoring_spec()
    for c in ("school_id", "municipality_code"):
        if c not in schools.columns:
            raise DataError(f"в справочнике школ нет столбца «{c}»; передайте таблицу schools.csv.",
                            column=c)
    reg = schools.drop_duplicates("school_id").set_index("school_id")
    mo_names = municipalities().set_index("code")["name"]
    look = _header_lookup(spec)
    meas = spec.measures
    form_cols = meas.loc[~meas["derived"], "column"].tolist()
    kind = dict(zip(meas["column"], meas["kind"]))
    parts, excl_parts, issue_parts, file_rows = [], [], [], []
    for path in _resolve(paths):
        sheets, facts = read_table(path)
        n_file = acc_file = exc_file = 0
        used = False
        for label, df, first_row in sheets:
            df = df.copy()
            df.columns = [str(c) for c in df.columns]
            mapped: dict[str, tuple[str, str]] = {}
            for h in df.columns:
                key = normalize_text(h)
                if key in look and look[key] not in mapped.values():
                    mapped[h] = look[key]
            roles = {v: h for h, v in mapped.items()}
            if ("context", "school_id") not in roles:
                if len(sheets) == 1:
                    raise FormError("нет столбца с кодом ОО («Код ОО»); добавьте его или возьмите "
                                    "шаблон формы (write_form_template).", file=path)
                continue
            if not any(r == "measure" or r == "count" for r, _ in roles):
                if len(sheets) == 1:
                    raise FormError("не найдено ни одного столбца показателей мониторинга; это "
                                    "другая форма или заголовки изменены — возьмите шаблон формы.",
                                    file=path)
                continue
            used = True
            source = str(path) if label == path.name else f"{path} [{label.split('[', 1)[1][:-1]}]"
            acc, exc, iss = _read_frame(df, source, first_row, roles, spec, reg, mo_names, year, path,
                                        form_cols, kind, mapped)
            n_file += len(df)
            acc_file += len(acc)
            exc_file += len(exc)
            parts.append(acc)
            excl_parts.append(exc)
            issue_parts.append(iss)
        if not used:
            raise FormError("ни на одном листе нет столбца «Код ОО» и столбцов показателей; "
                            "возьмите шаблон формы.", file=path)
        file_rows.append({"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                          "format": facts["format"], "encoding": facts.get("encoding", ""),
                          "rows": n_file, "accepted": acc_file, "excluded": exc_file})
    forms = pd.concat(parts, ignore_index=True)
    exclusions = pd.concat(excl_parts, ignore_index=True)
    issues = pd.concat(issue_parts, ignore_index=True)
    files = pd.DataFrame(file_rows)

    # duplicates of a school-year across all files: the first read is kept
    key = forms["school_id"] + "\x00" + forms["year"].astype(str)
    dup = key.duplicated(keep="first")
    if dup.any():
        first = forms.loc[~dup].assign(_k=key[~dup]).set_index("_k")
        d = forms.loc[dup]
        fk = key[dup]
        reasons = [f"повторная форма ОО за {y} год (принята первая: {Path(f).name}, строка {r}); "
                   "оставьте в файлах одну форму" for y, f, r in
                   zip(d["year"], first.loc[fk, "source_file"], first.loc[fk, "source_row"])]
        exclusions = pd.concat([exclusions, pd.DataFrame({
            "source_file": d["source_file"].to_numpy(), "source_row": d["source_row"].to_numpy(),
            "school_id": d["school_id"].to_numpy(), "column": "school_id", "reason": reasons})],
            ignore_index=True)
        counts = d["source_file"].map(lambda s: re.sub(r" \[[^\]]*\]$", "", s)).value_counts()
        files["accepted"] -= files["file"].map(counts).fillna(0).astype(int)
        files["excluded"] += files["file"].map(counts).fillna(0).astype(int)
        drop_keys = set(zip(d["source_file"], d["source_row"]))
        issues = issues[[(f, r) not in drop_keys for f, r in zip(issues["source_file"], issues["source_row"])]]
        forms = forms.loc[~dup].reset_index(drop=True)

    # the number of students: the register wins when given
    forms["n_students"] = forms["n_students_form"]
    if enrolment is not None:
        enr = enrolment.groupby(["year", "school_id"])["n_students"].sum()
        official = pd.Series(list(zip(forms["year"], forms["school_id"]))).map(enr).to_numpy(dtype=float)
        has = ~np.isnan(official)
        rel = np.abs(forms["n_students_form"].to_numpy() - official) / np.where(official > 0, official, np.nan)
        off = has & (rel > tolerance) & forms["n_students_form"].notna().to_numpy()
        if off.any():
            o = forms.loc[off]
            issues = pd.concat([issues, pd.DataFrame({
                "source_file": o["source_file"].to_numpy(), "source_row": o["source_row"].to_numpy(),
                "school_id": o["school_id"].to_numpy(), "column": spec.context["n_students"]["header"],
                "value": o["n_students_form"].astype("Int64").astype(str).to_numpy(),
                "reason": [f"число обучающихся в форме расходится с контингентом ({int(v)}) более чем на "
                           f"{fmt_pct(100 * tolerance, 0)}; в расчётах взят контингент — уточните форму"
                           for v in official[off]]})], ignore_index=True)
        forms["n_students"] = np.where(has, official, forms["n_students_form"])
    # a percentage given as a number of students (count column): convert, check against students
    for m in meas.itertuples():
        if not m.count_column or f"_n_{m.column}" not in forms:
            continue
        cnt = forms.pop(f"_n_{m.column}")
        n = forms["n_students"]
        over = cnt > n
        if over.any():
            o = forms.loc[over]
            issues = pd.concat([issues, pd.DataFrame({
                "source_file": o["source_file"].to_numpy(), "source_row": o["source_row"].to_numpy(),
                "school_id": o["school_id"].to_numpy(), "column": m.count_header,
                "value": cnt[over].astype(str).to_numpy(),
                "reason": [f"обучающихся в показателе ({int(c)}) больше, чем обучающихся в ОО ({int(k)}); "
                           "ячейка не засчитана — исправьте число" for c, k in zip(cnt[over], n[over])]})],
                ignore_index=True)
        from_count = (100 * cnt / n).where(~over & (n > 0))
        forms[m.column] = forms[m.column].fillna(from_count)
    # derived totals (4.3): empty level cells count as 0 when any level is filled
    for m in meas[meas["derived"]].itertuples():
        lv = meas.loc[(meas["indicator"] == m.indicator) & ~meas["derived"], "column"].tolist()
        forms[m.column] = forms[lv].sum(axis=1, min_count=1)
    forms = forms[["source_file", "source_row", "year", "school_id", "municipality_code", "municipality",
                   "n_students_form", "n_students"] + meas["column"].tolist()]
    forms = forms.sort_values(["year", "school_id"], kind="stable").reset_index(drop=True)

    missing = _missing_schools(forms, schools, enrolment)
    comp = completeness(forms, schools, enrolment)
    bad = files[files["rows"] != files["accepted"] + files["excluded"]]
    if len(bad):  # an internal guarantee, not a data problem
        raise RuntimeError(f"accounting identity broken for {bad['file'].tolist()}")
    return MonitoringResult(forms, exclusions.reset_index(drop=True), issues.reset_index(drop=True),
                            files, missing, comp)


def _form_files(folder: Path) -> list[Path]:
    """The form files of a folder (as :func:`read_forms` finds them), or none."""
    try:
        return _resolve(folder)
    except FormError:
        return []


def load_monitoring(data_dir: str | Path, years: Iterable[int], *,
                    store_path: str | Path | None = None, key: bytes | str | None = None,
                    spec: MonitoringSpec | None = None) -> MonitoringResult:
    """The monitoring forms of ``years`` from ``data_dir/monitoring/<year>/``, through the store.

    Each year's folder is loaded with :meth:`proforient_diag.store.Store.load_forms` (files
    already stored with the same SHA-256 and the same register are skipped, so a repeated run only
    reads the store back); then the forms, exclusions, issues and per-file accounting of all the
    years are read back, and the schools that sent no form and the completeness are computed from
    them with the current register.

    Parameters
    ----------
    data_dir : path
        The data folder: ``monitoring/<year>/`` (form files), ``schools.csv`` (the register) and,
        when present, ``school_enrolment.csv`` (year, school_id, n_students).
    years : iterable of int
        Years to read, e.g. ``range(2018, year + 1)``; the last one must have a folder of forms,
        earlier years without one are skipped and listed in ``missing_years``.
    store_path : path, optional
        The DuckDB store. Default: the notes' cache store of ``data_dir``
        (:func:`proforient_diag.store.cache_store_path`, the file
        :func:`proforient_diag.diagnostics.load_waves` fills, so one store holds the waves and the
        forms of a data folder). A cache store locked by a parallel note is waited for, then
        replaced by a private temporary one (:func:`proforient_diag.store.with_store`); a form
        file that has left the folder is removed from the cache store
        (:meth:`~proforient_diag.store.Store.remove_forms`), while a named store holding such a
        file is an error.
    key : bytes or str, optional
        Only to find the cache store (its name carries the key tag); the forms hold no personal
        data and are not pseudonymised. Default as in ``load_waves``: ``PROFORIENT_KEY``, else the
        local key of the cache folder.
    spec : MonitoringSpec, optional
        Default :func:`load_monitoring_spec`.

    Returns
    -------
    MonitoringResult
        With ``years``, ``missing_years``, ``store_path`` and ``reports`` filled; ``forms`` as
        :func:`read_forms` returns them (``source_file`` is the file name, with « [sheet]» for a
        sheet of a workbook).

    Raises
    ------
    InputFileError
        No folder of forms for the last year, or no ``schools.csv``.
    FormError
        A form file cannot be read (nothing of that year is written).
    StoreError
        A named store holds a file no longer in the folder, or the store cannot be written.
    """
    from .store import Store, cache_store_path, with_store

    data_dir = Path(data_dir)
    years = sorted({int(y) for y in years})
    if not years:
        raise DataError("не заданы годы мониторинга.")
    root = data_dir / "monitoring"
    files = {y: _form_files(root / str(y)) for y in years if (root / str(y)).is_dir()}
    present = [y for y in years if files.get(y)]
    if years[-1] not in present:
        raise InputFileError(f"нет папки с формами мониторинга за {years[-1]} год; положите формы "
                             f"в {root / str(years[-1])}.", file=root / str(years[-1]))
    if not (data_dir / "schools.csv").is_file():
        raise InputFileError("нет справочника школ schools.csv; положите его в папку с данными.",
                             file=data_dir / "schools.csv")
    schools = pd.read_csv(data_dir / "schools.csv", encoding="utf-8")
    enrolment = (pd.read_csv(data_dir / "school_enrolment.csv", encoding="utf-8")
                 if (data_dir / "school_enrolment.csv").is_file() else None)
    spec = spec or load_monitoring_spec()
    if store_path is None:
        from .diagnostics import _resolve_key
        path, cache = cache_store_path(data_dir, _resolve_key(key)[0]), True
    else:
        path, cache = Path(store_path), False

    def work(st: Store):
        stored = st.form_loads(current=True)
        reports = []
        for y in present:
            gone = sorted(set(stored.loc[stored["year"] == y, "file"]) - {p.name for p in files[y]})
            if gone and not cache:
                raise StoreError(f"в хранилище есть формы {y} года из файлов, которых больше нет в "
                                 f"папке ({', '.join(gone)}); укажите новое хранилище.", file=path)
            if gone:  # before loading: a removed file must not keep its schools' forms
                st.remove_forms(y, gone)
            reports.append(st.load_forms(y, files[y], schools=schools, enrolment=enrolment,
                                         spec=spec))
        return (st.forms(present), st.form_exclusions(present), st.form_issues(present),
                st.form_loads(current=True), tuple(reports))

    (forms, excl, issues, loads, reports), used = with_store(path, work, cache=cache)

    def label(f: pd.DataFrame) -> pd.Series:
        return f["file"].where(f["sheet"].fillna("") == "", f["file"] + " [" + f["sheet"] + "]")

    meas = [c for c in spec.measures["column"] if c in forms.columns]
    extra = [c for c in forms.columns if c not in _FORM_CONTEXT and c not in meas
             and c not in ("file", "sheet")]
    forms = forms.assign(source_file=label(forms))[_FORM_CONTEXT + meas + extra]
    excl = excl.assign(source_file=label(excl))[["year", "source_file", "source_row", "school_id",
                                                 "column", "reason"]]
    issues = issues.assign(source_file=label(issues))[["year", "source_file", "source_row",
                                                       "school_id", "column", "value", "reason"]]
    loads = loads[loads["year"].isin(present)].sort_values(["year", "file"])
    fl = loads[["year", "file", "sha256", "format", "encoding", "rows", "accepted", "excluded"]]
    fl = fl.astype({"year": "int64", "rows": "int64", "accepted": "int64", "excluded": "int64"})
    return MonitoringResult(
        forms=forms, exclusions=excl, issues=issues, files=fl.reset_index(drop=True),
        missing_schools=_missing_schools(forms, schools, enrolment),
        completeness=completeness(forms, schools, enrolment, years=present),
        years=tuple(present), missing_years=tuple(y for y in years if y not in present),
        store_path=str(used) if used is not None else "временное хранилище", reports=reports)


_FORM_CONTEXT = ["source_file", "source_row", "year", "school_id", "municipality_code",
                 "municipality", "n_students_form", "n_students"]


def _read_frame(df, source, first_row, roles, spec, reg, mo_names, year, path, form_cols, kind, mapped):
    n = len(df)
    rows = np.arange(n) + first_row
    reason = np.full(n, None, dtype=object)
    rcol = np.full(n, None, dtype=object)

    def exclude(mask, why, column):
        m = np.asarray(mask, dtype=bool) & (reason == None)  # noqa: E711 (object array)
        reason[m] = why if isinstance(why, str) else np.asarray(why, dtype=object)[m]
        rcol[m] = column

    def col(key):
        h = roles.get(("context", key))
        return df[h].astype(str).str.strip() if h else pd.Series([""] * n, index=df.index)

    school = col("school_id")
    blank_all = df.astype(str).apply(lambda s: s.str.strip().str.lower().isin(_EMPTY)).all(axis=1).to_numpy()
    exclude(blank_all, "пустая строка", "")
    sch_h = roles[("context", "school_id")]
    exclude(school.str.lower().isin(_EMPTY).to_numpy(), "не указан код ОО; впишите код из справочника школ",
            sch_h)
    known = school.isin(reg.index).to_numpy()
    exclude(~known, [f"ОО с кодом «{s}» нет в справочнике школ; проверьте код" for s in school], sch_h)
    if ("context", "year") in roles:
        yv, _ = _parse_numbers(col("year"))
        yh = roles[("context", "year")]
    else:
        m = re.search(r"(20[1-3]\d)", Path(path).name)
        yv = pd.Series(float(year) if year is not None else (float(m.group(1)) if m else np.nan), index=df.index)
        yh = "Год"
    yv = yv.where((yv >= 2000) & (yv <= 2100) & (yv == np.round(yv)))
    exclude(yv.isna().to_numpy(), "не указан или не распознан год формы; впишите год (например 2024)", yh)

    issues: list[pd.DataFrame] = []

    def flag(mask, header, values, why):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            issues.append(pd.DataFrame({"source_file": source, "source_row": rows[mask],
                                        "school_id": school.to_numpy()[mask], "column": header,
                                        "value": np.asarray(values, dtype=object)[mask],
                                        "reason": why if isinstance(why, str) else np.asarray(why, dtype=object)[mask]}))

    out = pd.DataFrame({"source_file": source, "source_row": rows, "year": yv.to_numpy(),
                        "school_id": school.to_numpy()})
    out["municipality_code"] = school.map(reg["municipality_code"]).to_numpy()
    out["municipality"] = out["municipality_code"].map(mo_names).to_numpy()
    # the form's municipality, when given, must agree with the register
    if ("context", "municipality") in roles:
        mo_raw = col("municipality")
        lookup = {normalize_text(k): k for k in mo_names.index}
        lookup.update({normalize_text(v): k for k, v in mo_names.items()})
        mo_code = mo_raw.map(lambda v: lookup.get(normalize_text(v)))
        wrong = (mo_code.notna() & (mo_code.to_numpy() != out["municipality_code"].to_numpy())).to_numpy() & known
        flag(wrong, roles[("context", "municipality")], mo_raw.to_numpy(),
             [f"муниципалитет в форме не совпадает со справочником школ ({m}); взят справочник"
              for m in out["municipality"]])
    # number of students
    nh = roles.get(("context", "n_students"))
    if nh:
        nv, bad = _parse_numbers(df[nh])
        neg = (nv <= 0) | (nv != np.round(nv))
        flag((bad | neg).to_numpy(), nh, df[nh].to_numpy(),
             "число обучающихся должно быть целым положительным числом; ячейка не засчитана")
        out["n_students_form"] = nv.where(~neg).to_numpy()
    else:
        out["n_students_form"] = np.nan
    for c in form_cols:
        h = roles.get(("measure", c))
        k = kind[c]
        if h is None:
            out[c] = np.nan
        elif k == "yesno":
            v, bad = _parse_yesno(df[h], spec)
            flag(bad.to_numpy(), h, df[h].to_numpy(),
                 "ответ не распознан как «да» или «нет» (допустимо: да, нет, 1, 0, +, -, есть, "
                 "отсутствует); ячейка не засчитана")
            out[c] = v.to_numpy()
        else:
            v, bad = _parse_numbers(df[h])
            flag(bad.to_numpy(), h, df[h].to_numpy(), "не число; ячейка не засчитана — впишите число")
            if k == "percent":
                out_r = (v < 0) | (v > 100)
                flag(out_r.to_numpy(), h, df[h].to_numpy(),
                     "процент должен быть от 0 до 100; ячейка не засчитана — проверьте, не вписано ли "
                     "число обучающихся вместо процента")
            else:
                out_r = (v < 0) | (v != np.round(v))
                flag(out_r.to_numpy(), h, df[h].to_numpy(),
                     "количество должно быть целым неотрицательным числом; ячейка не засчитана")
            out[c] = v.where(~out_r).to_numpy(dtype=float)
        ch = roles.get(("count", c))
        if ch is not None:
            v, bad = _parse_numbers(df[ch])
            neg = (v < 0) | (v != np.round(v))
            flag((bad | neg).to_numpy(), ch, df[ch].to_numpy(),
                 "число обучающихся должно быть целым неотрицательным; ячейка не засчитана")
            out[f"_n_{c}"] = v.where(~neg).to_numpy()
    keep = reason == None  # noqa: E711
    acc = out.loc[keep].reset_index(drop=True)
    acc["year"] = acc["year"].astype(int)
    exc = pd.DataFrame({"source_file": source, "source_row": rows[~keep], "school_id": school.to_numpy()[~keep],
                        "column": rcol[~keep], "reason": reason[~keep]})
    cols = ["source_file", "source_row", "school_id", "column", "value", "reason"]
    iss = pd.concat(issues, ignore_index=True) if issues else pd.DataFrame(columns=cols)
    iss = iss[iss["source_row"].isin(rows[keep])][cols]
    return acc, exc, iss


def _expected(schools: pd.DataFrame, enrolment: pd.DataFrame | None, years: Iterable[int]) -> pd.DataFrame:
    cols = [c for c in ("school_id", "school_name", "municipality_code", "municipality") if c in schools]
    if enrolment is not None:
        e = enrolment.groupby(["year", "school_id"], as_index=False)["n_students"].sum()
        e = e[(e["n_students"] > 0) & e["year"].isin(list(years))]
        return e[["year", "school_id"]].merge(schools[cols].drop_duplicates("school_id"), on="school_id")
    return pd.concat([schools[cols].drop_duplicates("school_id").assign(year=y) for y in years],
                     ignore_index=True)


def _missing_schools(forms, schools, enrolment) -> pd.DataFrame:
    exp = _expected(schools, enrolment, sorted(forms["year"].unique()))
    got = set(zip(forms["year"], forms["school_id"]))
    miss = exp[[(y, s) not in got for y, s in zip(exp["year"], exp["school_id"])]]
    if "municipality" not in miss:
        miss = miss.assign(municipality=miss["municipality_code"].map(municipalities().set_index("code")["name"]))
    return miss.sort_values(["year", "school_id"]).reset_index(drop=True)


def completeness(forms: pd.DataFrame, schools: pd.DataFrame, enrolment: pd.DataFrame | None = None,
                 years: Sequence[int] | None = None) -> pd.DataFrame:
    """Share of expected schools that sent an accepted form, by year and municipality.

    Parameters
    ----------
    forms : DataFrame
        ``MonitoringResult.forms``.
    schools : DataFrame
        The register (school_id, municipality_code).
    enrolment : DataFrame, optional
        year, school_id, n_students; schools with no students in a year are not expected.
    years : sequence of int, optional
        Default: the years present in ``forms``.

    Returns
    -------
    DataFrame
        year, level ("municipality"/"region"), unit (code or "region"), unit_name, expected,
        received, share (%: 100·received/expected).
    """
    years = sorted(forms["year"].unique()) if years is None else list(years)
    exp = _expected(schools, enrolment, years)
    got = forms[["year", "school_id"]].drop_duplicates().assign(received=1)
    exp = exp.merge(got, on=["year", "school_id"], how="left").fillna({"received": 0})
    mo = exp.groupby(["year", "municipality_code"], as_index=False).agg(
        expected=("school_id", "size"), received=("received", "sum"))
    mo = mo.rename(columns={"municipality_code": "unit"}).assign(level="municipality")
    mo["unit_name"] = mo["unit"].map(municipalities().set_index("code")["name"])
    rg = exp.groupby("year", as_index=False).agg(expected=("school_id", "size"), received=("received", "sum"))
    rg = rg.assign(level="region", unit="region", unit_name=REGION)
    out = pd.concat([rg, mo], ignore_index=True)
    out["received"] = out["received"].astype(int)
    out["share"] = 100 * out["received"] / out["expected"]
    return out[["year", "level", "unit", "unit_name", "expected", "received", "share"]]


# -- aggregation --------------------------------------------------------------------------------

def aggregate(forms: pd.DataFrame, spec: MonitoringSpec | None = None,
              level: str = "municipality") -> pd.DataFrame:
    """Aggregate school forms to municipalities or the region.

    Parameters
    ----------
    forms : DataFrame
        ``MonitoringResult.forms`` (one row per school and year).
    spec : MonitoringSpec, optional
    level : {"municipality", "region"}

    Returns
    -------
    DataFrame
        Tidy: year, level, unit, unit_name, criterion, indicator, measure, kind, stat, value,
        n_yes (yes/no only), per_1000 (counts only), n_schools (schools with the cell filled),
        n_students (their students).

    Notes
    -----
    count: value = Σxᵢ, per_1000 = 1000·Σxᵢ/Σnᵢ (over schools with xᵢ and nᵢ);
    yes/no: value = 100·Σyᵢ/k (k schools answering), n_yes = Σyᵢ;
    percent: value = Σpᵢnᵢ/Σnᵢ over schools with both.
    The region is aggregated from schools, not from municipal values.
    """
    if level not in _LEVELS:
        raise ValueError(f"level должен быть одним из {_LEVELS}, получено {level!r}")
    spec = spec or load_monitoring_spec()
    meas = spec.measures.set_index("column")
    cols = [c for c in meas.index if c in forms.columns]
    long = forms.melt(id_vars=["year", "municipality_code", "n_students"], value_vars=cols,
                      var_name="measure", value_name="x")
    long = long[long["x"].notna()]
    long["kind"] = long["measure"].map(meas["kind"])
    long["unit"] = long["municipality_code"] if level == "municipality" else "region"
    n = long["n_students"]
    long["nx"] = np.where(n.notna(), long["x"] * n, np.nan)
    long["n_w"] = n
    g = long.groupby(["year", "unit", "measure"], sort=True)
    out = g.agg(kind=("kind", "first"), sx=("x", "sum"), k=("x", "size"), snx=("nx", "sum"),
                sn=("n_w", "sum"), k_n=("n_w", "count")).reset_index()
    kind = out["kind"]
    out["value"] = np.select([kind == "count", kind == "yesno", kind == "percent"],
                             [out["sx"], 100 * out["sx"] / out["k"],
                              out["snx"] / out["sn"].where(out["sn"] > 0)], np.nan)
    out["n_yes"] = np.where(kind == "yesno", out["sx"], np.nan)
    # per 1 000 students: only over schools whose students are known
    snx_count = long[long["n_w"].notna()].groupby(["year", "unit", "measure"])["x"].sum()
    key = pd.MultiIndex.from_frame(out[["year", "unit", "measure"]])
    out["per_1000"] = np.where(kind == "count", 1000 * snx_count.reindex(key).to_numpy()
                               / out["sn"].where(out["sn"] > 0).to_numpy(), np.nan)
    out["stat"] = kind.map({"count": "сумма", "yesno": "доля ОО с «да», %",
                            "percent": "% обучающихся (взвешенный)"})
    out["n_schools"] = out["k"].astype(int)
    out["n_students"] = out["sn"]
    out["level"] = level
    out["indicator"] = out["measure"].map(meas["indicator"])
    out["criterion"] = out["measure"].map(meas["criterion"]).astype(int)
    out["unit_name"] = (out["unit"].map(municipalities().set_index("code")["name"])
                        if level == "municipality" else REGION)
    order = {c: i for i, c in enumerate(meas.index)}
    out = out.sort_values(["year", "unit", "measure"], key=lambda s: s.map(order) if s.name == "measure" else s)
    return out[["year", "level", "unit", "unit_name", "criterion", "indicator", "measure", "kind", "stat",
                "value", "n_yes", "per_1000", "n_schools", "n_students"]].reset_index(drop=True)


def change(agg: pd.DataFrame, years: Iterable[int] | int | None = None,
           spec: MonitoringSpec | None = None) -> pd.DataFrame:
    """Year-over-year change, change since the base year (2018) and within the roadmap stage.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`aggregate` (one or both levels, concatenated).
    years : int or iterable of int, optional
        The years to report; default every year in ``agg``.
    spec : MonitoringSpec, optional
        For the base year and the stages.

    Returns
    -------
    DataFrame
        year, level, unit, unit_name, indicator, measure, kind, value, value_prev, change_yoy,
        value_base, base_year, change_base, stage, stage_name, stage_start, value_stage_start,
        change_stage; for counts also per_1000 and its changes (per_1000_prev,
        change_yoy_per_1000, change_base_per_1000), which are comparable when the number of
        schools that sent forms differs between years. Changes are differences of values
        (percentage points for shares).
    """
    spec = spec or load_monitoring_spec()
    key = ["level", "unit", "measure"]
    base = agg[key + ["year", "value", "per_1000"]]
    if years is None:
        years = sorted(agg["year"].unique())
    elif isinstance(years, (int, np.integer)):
        years = [int(years)]
    cur = agg[agg["year"].isin(list(years))][["year", "level", "unit", "unit_name", "indicator", "measure", "kind",
                                               "value", "per_1000"]].copy()
    prev = base.assign(year=base["year"] + 1).rename(columns={"value": "value_prev", "per_1000": "per_1000_prev"})
    cur = cur.merge(prev, on=key + ["year"], how="left")
    by = spec.base_year
    b = base[base["year"] == by].drop(columns="year").rename(columns={"value": "value_base",
                                                                      "per_1000": "per_1000_base"})
    cur = cur.merge(b, on=key, how="left")
    cur["base_year"] = by
    cur["stage"] = stage_of(cur["year"], spec).to_numpy()
    st = spec.stages.set_index("id")
    cur["stage_name"] = cur["stage"].map(lambda s: f"{st.loc[s, 'name']} ({st.loc[s, 'start']}–{st.loc[s, 'end']})"
                                         if s == s else "")
    cur["stage_start"] = cur["stage"].map(st["start"])
    ss = base.rename(columns={"year": "stage_start", "value": "value_stage_start", "per_1000": "_p"}).drop(columns="_p")
    cur = cur.merge(ss, on=key + ["stage_start"], how="left")
    cur["change_yoy"] = cur["value"] - cur["value_prev"]
    cur["change_base"] = cur["value"] - cur["value_base"]
    cur["change_stage"] = cur["value"] - cur["value_stage_start"]
    cur["change_yoy_per_1000"] = cur["per_1000"] - cur["per_1000_prev"]
    cur["change_base_per_1000"] = cur["per_1000"] - cur["per_1000_base"]
    return cur[["year", "level", "unit", "unit_name", "indicator", "measure", "kind", "value", "value_prev",
                "change_yoy", "value_base", "base_year", "change_base", "stage", "stage_name", "stage_start",
                "value_stage_start", "change_stage", "per_1000", "per_1000_prev", "change_yoy_per_1000",
                "change_base_per_1000"]].reset_index(drop=True)


def targets(agg: pd.DataFrame, spec: MonitoringSpec | None = None) -> pd.DataFrame:
    """Attainment of the indicators' targets.

    A ``level`` target is attained when value ≥ target (gap = target − value, in the value's
    units). A ``growth`` target (counts) is attained when the value per 1 000 students is not
    below the previous year's (gap = previous − current per 1 000; NaN in the first year).
    Targets flagged ``assumption`` are the kit's assumptions, not figures of the roadmap.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`aggregate`.
    spec : MonitoringSpec, optional

    Returns
    -------
    DataFrame
        year, level, unit, unit_name, indicator, measure, value, target_kind, target, attained
        (bool, NA when not assessable), gap, assumption, basis.
    """
    spec = spec or load_monitoring_spec()
    ind = spec.indicators.set_index("id")
    prim = spec.measures[spec.measures["primary"]]
    cal = spec.raw["calendar"]["target"]
    tinfo = {}
    for m in prim.itertuples():
        if m.indicator in ind.index:
            r = ind.loc[m.indicator]
            tinfo[m.column] = (r["target_kind"], r["target_value"], r["target_assumption"], r["target_basis"])
        else:
            tinfo[m.column] = (cal["kind"], cal.get("value", np.nan), bool(cal.get("assumption")), cal.get("basis", ""))
    a = agg[agg["measure"].isin(list(tinfo))].copy()
    a["target_kind"] = a["measure"].map(lambda c: tinfo[c][0])
    a["target"] = a["measure"].map(lambda c: tinfo[c][1]).astype(float)
    a["assumption"] = a["measure"].map(lambda c: tinfo[c][2])
    a["basis"] = a["measure"].map(lambda c: tinfo[c][3])
    prev = a[["level", "unit", "measure", "year", "per_1000"]].assign(year=lambda d: d["year"] + 1)
    a = a.merge(prev.rename(columns={"per_1000": "_prev"}), on=["level", "unit", "measure", "year"], how="left")
    lvl = a["target_kind"] == "level"
    gro = a["target_kind"] == "growth"
    a["gap"] = np.where(lvl, a["target"] - a["value"], np.where(gro, a["_prev"] - a["per_1000"], np.nan))
    att = pd.Series(pd.NA, index=a.index, dtype="boolean")
    att[lvl] = (a.loc[lvl, "value"] >= a.loc[lvl, "target"] - 1e-9).to_numpy()
    ok = gro & a["_prev"].notna() & a["per_1000"].notna()
    att[ok] = (a.loc[ok, "per_1000"] >= a.loc[ok, "_prev"] - 1e-9).to_numpy()
    a["attained"] = att
    return a[["year", "level", "unit", "unit_name", "indicator", "measure", "value", "target_kind", "target",
              "attained", "gap", "assumption", "basis"]].reset_index(drop=True)


def composite_index(agg: pd.DataFrame, spec: MonitoringSpec | None = None) -> pd.DataFrame:
    """Rank municipalities per criterion and overall with the spec's documented method.

    For every composite indicator's primary measure, the municipal value (share, or count per
    1 000 students) becomes a within-year percentile rank

    .. math:: P = 100\\,(r - 1)/(m - 1)

    (r the average rank among the m municipalities with a value; P = 50 when m = 1). The criterion
    index is the weighted mean of its indicators' P (weights ``composite_weight``) over available
    indicators; the overall index is the weighted mean of criterion indices (``criteria[].weight``)
    over available criteria. Ranks: 1 = highest index in the year.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`aggregate` at ``level="municipality"``.
    spec : MonitoringSpec, optional

    Returns
    -------
    DataFrame
        year, unit, unit_name, criterion (0 = overall), criterion_name, index, rank, n_indicators.
    """
    spec = spec or load_monitoring_spec()
    ind = spec.indicators[spec.indicators["composite"]].set_index("primary")
    a = agg[(agg["level"] == "municipality") & agg["measure"].isin(ind.index)].copy()
    if a.empty:
        raise DataError("нет муниципальных значений показателей для сводного индекса; передайте "
                        "aggregate(..., level='municipality').")
    a["metric"] = np.where(a["kind"] == "count", a["per_1000"], a["value"])
    a = a[a["metric"].notna()]
    r = a.groupby(["year", "measure"])["metric"].rank(method="average")
    m = a.groupby(["year", "measure"])["metric"].transform("size")
    a["p"] = np.where(m > 1, 100 * (r - 1) / (m - 1).where(m > 1), 50.0)
    a["w"] = a["measure"].map(ind["composite_weight"])
    a["pw"] = a["p"] * a["w"]
    c = a.groupby(["year", "unit", "unit_name", "criterion"], as_index=False).agg(
        pw=("pw", "sum"), w=("w", "sum"), n_indicators=("p", "size"))
    c["index"] = c["pw"] / c["w"]
    cw = spec.criteria.set_index("id")["weight"]
    c["cw"] = c["criterion"].map(cw)
    c["icw"] = c["index"] * c["cw"]
    o = c.groupby(["year", "unit", "unit_name"], as_index=False).agg(icw=("icw", "sum"), cw=("cw", "sum"),
                                                                    n_indicators=("n_indicators", "sum"))
    o["index"] = o["icw"] / o["cw"]
    o["criterion"] = 0
    out = pd.concat([o, c], ignore_index=True)
    out["criterion_name"] = out["criterion"].map({0: "Общий индекс", **spec.criteria.set_index("id")["name"]})
    out["rank"] = out.groupby(["year", "criterion"])["index"].rank(ascending=False, method="min").astype(int)
    return out.sort_values(["year", "criterion", "rank", "unit"])[
        ["year", "unit", "unit_name", "criterion", "criterion_name", "index", "rank", "n_indicators"]
    ].reset_index(drop=True)


# -- the data-entry template ----------------------------------------------------------------------

def write_form_template(spec: MonitoringSpec | None, year: int, out: str | Path, *,
                        schools: pd.DataFrame | None = None) -> Path:
    """Write an XLSX data-entry template with Excel data validation.

    Sheet «Форма»: the context columns (Код ОО, Муниципалитет, Год, Число обучающихся) and one
    column per form measure with its header from the spec; yes/no columns take a list «да;нет»,
    counts a whole number ≥ 0, percentages a decimal 0–100. With ``schools`` the school codes and
    municipalities are prefilled. Sheet «Показатели»: indicator, official wording, unit, criterion,
    note. The template is read back by :func:`read_forms` as is.

    Parameters
    ----------
    spec : MonitoringSpec or None
    year : int
        The reporting year (prefilled).
    out : path
        The .xlsx file to write.
    schools : DataFrame, optional
        school_id, municipality_code (municipality) to prefill.

    Returns
    -------
    Path
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    spec = spec or load_monitoring_spec()
    out = Path(out)
    meas = spec.measures[~spec.measures["derived"]]
    ctx = spec.context
    headers = [ctx["school_id"]["header"], ctx["municipality"]["header"], ctx["year"]["header"],
               ctx["n_students"]["header"]] + meas["header"].tolist()
    wb = Workbook()
    ws = wb.active
    ws.title = "Форма"
    ws.append(headers)
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    n_rows = 1000
    if schools is not None:
        mo = municipalities().set_index("code")["name"]
        for s, m in zip(schools["school_id"], schools["municipality_code"]):
            ws.append([s, mo.get(m, m), int(year), None])
        n_rows = max(n_rows, len(schools) + 1)
    else:
        ws.cell(row=2, column=3, value=int(year))
    last = n_rows + 1
    dv_yes = DataValidation(type="list", formula1='"да,нет"', allow_blank=True, showErrorMessage=True,
                            errorTitle="Да или нет", error="Выберите «да» или «нет».")
    dv_cnt = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                            showErrorMessage=True, errorTitle="Количество",
                            error="Впишите целое неотрицательное число.")
    dv_pct = DataValidation(type="decimal", operator="between", formula1="0", formula2="100", allow_blank=True,
                            showErrorMessage=True, errorTitle="Процент", error="Впишите процент от 0 до 100.")
    dv_n = DataValidation(type="whole", operator="greaterThan", formula1="0", allow_blank=True,
                          showErrorMessage=True, errorTitle="Число обучающихся",
                          error="Впишите целое положительное число.")
    dv_year = DataValidation(type="whole", operator="between", formula1="2018", formula2="2027",
                             allow_blank=False, showErrorMessage=True, errorTitle="Год",
                             error="Год мониторинга — от 2018 до 2027.")
    for dv in (dv_yes, dv_cnt, dv_pct, dv_n, dv_year):
        ws.add_data_validation(dv)
    dv_year.add(f"C2:C{last}")
    dv_n.add(f"D2:D{last}")
    for j, k in enumerate(meas["kind"], start=5):
        letter = get_column_letter(j)
        {"yesno": dv_yes, "count": dv_cnt, "percent": dv_pct}[k].add(f"{letter}2:{letter}{last}")
        ws.column_dimensions[letter].width = 18
    ws.freeze_panes = "B2"
    info = wb.create_sheet("Показатели")
    info.append(["№", "№ в дорожной карте", "Критерий", "Показатель (официальная формулировка)",
                 "Измеритель", "Примечание"])
    for r in spec.indicators.itertuples():
        info.append([r.id, r.original_id, r.criterion_name, r.wording, r.unit, r.note])
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


# -- diagnostics × monitoring -------------------------------------------------------------------

_PREDICTORS = {
    "cov_4_1": ("i4_1", "Охват внеурочной профориентационной деятельностью (4.1), %"),
    "portfolio_4_2": ("i4_2", "Охват Портфолио с разделом по профориентации (4.2), %"),
    "events_4_3": ("i4_3", "Совместные мероприятия с соцпартнёрами, всего (4.3), ед."),
    "trained_2_3": ("i2_3", "Педагоги, прошедшие КПК по профориентации (2.3), на 100 обучающихся"),
}


@dataclass(frozen=True)
class ActivityAssociation:
    """Association of students' total index with their school's monitoring indicators.

    Attributes
    ----------
    coefficients : DataFrame
        model ("composite" or "joint"), term, predictor, component ("between"/"within"), label,
        estimate (index points per 1 SD of the
        predictor across school-years), se, z, p, ci_low, ci_high, sd_raw (the predictor's SD in
        its own units).
    fit : DataFrame
        One row per model: model, structure, n_students, n_schools, n_municipalities,
        n_school_years, converged, var_school, var_municipality, var_residual, loglik.
    data : DataFrame
        The school-year predictors used (school_id, year, raw and standardised values).
    """

    coefficients: pd.DataFrame
    fit: pd.DataFrame
    data: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.coefficients

    def summary(self) -> str:
        """A short Russian text: the estimate with its CI, worded as an association."""
        from .report.fmt import fmt_int, fmt_num, fmt_p
        c = self.coefficients.set_index(["model", "term"])
        f = self.fit.set_index("model")
        r = c.loc[("composite", "activity_b")]
        fc = f.loc["composite"]
        sig = r["p"] < 0.05
        sign = "положительная" if r["estimate"] > 0 else "отрицательная"
        head = (f"Модель: {fc['structure']}; {fmt_int(fc['n_students'])} обучающихся из "
                f"{fmt_int(fc['n_schools'])} ОО ({fmt_int(fc['n_school_years'])} пар «ОО — год»).")
        if sig:
            main = (f"Обучающиеся школ с более высоким сводным показателем профориентационной "
                    f"активности (среднее за годы стандартизованных 4.1, 4.2, 4.3 и 2.3) в среднем имеют "
                    f"{'более высокий' if r['estimate'] > 0 else 'более низкий'} общий индекс: {sign} связь, {fmt_num(r['estimate'])} балла на 1 "
                    f"стандартное отклонение показателя (95 % ДИ {fmt_num(r['ci_low'])} — "
                    f"{fmt_num(r['ci_high'])}; p {fmt_p(r['p'])}) при равных параллели и годе.")
        else:
            main = (f"Статистически значимой связи общего индекса со сводным показателем "
                    f"профориентационной активности школ не обнаружено: {fmt_num(r['estimate'])} балла "
                    f"на 1 стандартное отклонение (95 % ДИ {fmt_num(r['ci_low'])} — {fmt_num(r['ci_high'])}; "
                    f"p {fmt_p(r['p'])}).")
        caveat = ("Это связь, а не доказанное влияние: школы с активной профориентацией могут "
                  "отличаться и по другим причинам (состав обучающихся, кадры, муниципалитет); "
                  "наблюдательные данные не позволяют отделить эти причины.")
        return " ".join([head, main, caveat])


def activity_association(scores: pd.DataFrame, forms: pd.DataFrame, *, municipality_vc: bool = True,
                         outcome: str = "total") -> ActivityAssociation:
    """Mixed model of students' total index on their school's monitoring indicators.

    Two models, both with band and year fixed effects and a random intercept per school:

    * ``composite``: total ~ activity_b + activity_w + C(band) + C(year), where *activity* is the
      standardised mean of the four standardised indicators below; ``activity_b`` is the
      school's mean over its observed years (between schools: the primary test) and
      ``activity_w`` the year's deviation from it (within a school);
    * ``joint``: the same split for each of z(4.1), z(4.2), z(4.3), z(2.3 per 100 students)
      (the indicators are correlated, so their separate coefficients are less precise).

    Why the split (Mundlak 1978; Bell & Jones 2015): with a single term a random-intercept model
    returns a precision-weighted mix of the between-school and the within-school slopes; the
    within part is estimated from many students per school and dominates, so a between-school
    association would be shrunk towards the within-school one, which answers another question.

    The indicators are standardised within each year over the schools that have scores (the
    year's regional trend is the year effect's business; what is related to students' scores is
    the school's standing among the year's schools), so an estimate is in index points per 1
    within-year SD of the indicator (``sd_raw`` gives that SD in the indicator's own units). With ``municipality_vc`` the school intercept is nested in a
    municipality variance component (groups = municipality, school as a variance component); if
    that fit does not converge or the municipality variance is on the boundary (< 1e-6), the model
    is refitted with schools as groups and ``fit.structure`` says so. REML throughout.

    In R: ``lme4::lmer(total ~ activity_b + activity_w + band + factor(year) + (1 | municipality/school_id))``.

    Parameters
    ----------
    scores : DataFrame
        Student scores: school_id, year, band and ``outcome`` (e.g. from
        :func:`proforient_diag.scoring.score`).
    forms : DataFrame
        ``MonitoringResult.forms``.
    municipality_vc : bool
        Try the municipality variance component.
    outcome : str
        The score column (default the total index).

    Returns
    -------
    ActivityAssociation

    Raises
    ------
    DataError
        Fewer than 10 schools with both scores and indicators.
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    for c in ("school_id", "year", "band", outcome):
        if c not in scores.columns:
            raise DataError(f"в таблице баллов нет столбца «{c}»; передайте результат score().", column=c)
    f = forms[["school_id", "year", "municipality_code", "n_students", "i4_1", "i4_2", "i4_3", "i2_3"]].copy()
    f["i2_3"] = 100 * f["i2_3"] / f["n_students"]
    f = f.dropna(subset=["i4_1", "i4_2", "i4_3", "i2_3"])
    # keep the school-years that have students' scores, then standardise within year
    have = scores[["school_id", "year"]].drop_duplicates()
    f = f.merge(have, on=["school_id", "year"], how="inner")
    raw_sd = {}
    by_year = f.groupby("year")
    for name, (col, _) in _PREDICTORS.items():
        sd = by_year[col].transform("std")
        raw_sd[name] = float(np.sqrt(np.nanmean(sd ** 2))) if len(f) else np.nan
        f[name] = (f[col] - by_year[col].transform("mean")) / sd
    act = f[list(_PREDICTORS)].mean(axis=1)
    asd = act.groupby(f["year"]).transform("std")
    raw_sd["activity"] = float(np.sqrt(np.nanmean(asd ** 2))) if len(f) else np.nan
    f["activity"] = (act - act.groupby(f["year"]).transform("mean")) / asd
    d = scores[["school_id", "year", "band", outcome]].dropna().merge(f, on=["school_id", "year"], how="inner")
    d = d.rename(columns={outcome: "y"})
    # within–between (Mundlak) split: the school mean over its observed years and the year's deviation
    sy = d[["school_id", "year"] + list(_PREDICTORS) + ["activity"]].drop_duplicates(["school_id", "year"])
    for name in [*_PREDICTORS, "activity"]:
        mean = sy.groupby("school_id")[name].mean()
        d[f"{name}_b"] = d["school_id"].map(mean)
        d[f"{name}_w"] = d[name] - d[f"{name}_b"]
    if d["school_id"].nunique() < 10:
        raise DataError(f"только {d['school_id'].nunique()} ОО имеют и баллы диагностики, и форму "
                        "мониторинга за тот же год; для модели нужно не меньше 10 ОО.")
    d["band"] = d["band"].astype(str)
    d["year_f"] = d["year"].astype(str)
    rhs = {"composite": "activity_b + activity_w",
           "joint": " + ".join([f"{p}_b" for p in _PREDICTORS] + [f"{p}_w" for p in _PREDICTORS])}
    coef_rows, fit_rows = [], []
    for model, terms in rhs.items():
        formula = f"y ~ {terms} + C(band) + C(year_f)"
        res, structure, var_m = None, "", np.nan
        if municipality_vc and d["municipality_code"].nunique() > 1:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                try:
                    r = smf.mixedlm(formula, d, groups=d["municipality_code"], re_formula="1",
                                    vc_formula={"school": "0 + C(school_id)"}).fit(reml=True)
                    bad_conv = any(issubclass(x.category, ConvergenceWarning) for x in w)
                    var_m = float(r.cov_re.iloc[0, 0])
                    if r.converged and not bad_conv and var_m > 1e-6:
                        res = r
                        structure = ("MixedLM: случайные свободные члены школ, вложенных в муниципалитеты; "
                                     "фиксированные эффекты параллели и года")
                        var_s = float(r.vcomp[0])
                except (np.linalg.LinAlgError, ValueError):
                    res = None
        if res is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = smf.mixedlm(formula, d, groups=d["school_id"]).fit(reml=True)
            note = (" (компонента муниципалитета не оценена: модель не сошлась или дисперсия "
                    "муниципалитетов на границе)" if municipality_vc else "")
            structure = "MixedLM: случайные свободные члены школ; фиксированные эффекты параллели и года" + note
            var_s, var_m = float(res.cov_re.iloc[0, 0]), np.nan
        ci = res.conf_int()
        for t in terms.split(" + "):
            base, part = t.rsplit("_", 1)
            label = _PREDICTORS[base][1] if base in _PREDICTORS else "Сводный показатель профориентационной активности ОО"
            label += (" — между школами (среднее ОО за годы)" if part == "b"
                      else " — внутри школы (отклонение года от среднего ОО)")
            coef_rows.append({"model": model, "term": t, "predictor": base,
                              "component": "between" if part == "b" else "within", "label": label,
                              "estimate": res.fe_params[t], "se": res.bse_fe[t], "z": res.tvalues[t],
                              "p": res.pvalues[t], "ci_low": ci.loc[t, 0], "ci_high": ci.loc[t, 1],
                              "sd_raw": raw_sd[base]})
        fit_rows.append({"model": model, "structure": structure, "n_students": len(d),
                         "n_schools": d["school_id"].nunique(), "n_municipalities": d["municipality_code"].nunique(),
                         "n_school_years": len(d[["school_id", "year"]].drop_duplicates()),
                         "converged": bool(res.converged), "var_school": var_s, "var_municipality": var_m,
                         "var_residual": float(res.scale), "loglik": float(res.llf)})
    return ActivityAssociation(pd.DataFrame(coef_rows), pd.DataFrame(fit_rows), f.reset_index(drop=True))


# -- conclusions -----------------------------------------------------------------------------------

def conclusions(agg: pd.DataFrame, year: int, *, spec: MonitoringSpec | None = None,
                completeness_table: pd.DataFrame | None = None,
                composite: pd.DataFrame | None = None,
                association: ActivityAssociation | None = None,
                min_change: float = 1.0) -> tuple[list[str], list[str]]:
    """Conclusions and recommendations, each sentence generated from the numbers it states.

    Parameters
    ----------
    agg : DataFrame
        :func:`aggregate` at both levels (concatenated) for all years.
    year : int
        The reporting year.
    spec : MonitoringSpec, optional
    completeness_table : DataFrame, optional
        :func:`completeness`.
    composite : DataFrame, optional
        :func:`composite_index`.
    association : ActivityAssociation, optional
    min_change : float
        Changes smaller than this (percentage points for shares, per 1 000 students for counts)
        are reported as «без существенных изменений».

    Returns
    -------
    (list of str, list of str)
        Conclusions and recommendations (Russian).
    """
    from .report.fmt import fmt_int, fmt_num, fmt_pct
    spec = spec or load_monitoring_spec()
    ind = spec.indicators.set_index("id")
    concl, recs = [], []
    if completeness_table is not None:
        ct = completeness_table[completeness_table["year"] == year]
        rg = ct[ct["level"] == "region"]
        if len(rg):
            r = rg.iloc[0]
            concl.append(f"В {year} году форму мониторинга представили {fmt_int(r['received'])} из "
                         f"{fmt_int(r['expected'])} общеобразовательных организаций ({fmt_pct(r['share'])}).")
            low = ct[(ct["level"] == "municipality") & (ct["share"] < 90)].sort_values("share")
            if len(low):
                names = ", ".join(f"{n} ({fmt_pct(s)})" for n, s in zip(low["unit_name"].head(5), low["share"].head(5)))
                recs.append(f"Добиться представления форм всеми ОО в муниципалитетах с полнотой ниже 90 %: {names}.")
    ch = change(agg[agg["level"] == "region"], [year], spec)
    ch = ch[ch["measure"].isin(ind["primary"])]
    for r in ch.itertuples():
        name = f"{r.indicator} «{_short(ind.loc[r.indicator, 'wording'])}»"
        if r.kind == "count":
            v, d, db = r.per_1000, r.change_yoy_per_1000, r.change_base_per_1000
            unit = " на 1 000 обучающихся"
            val = f"{fmt_num(v)}{unit} (всего {fmt_int(r.value)})"
        else:
            v, d, db = r.value, r.change_yoy, r.change_base
            unit = " п. п."
            val = fmt_pct(v)
        if pd.isna(d):
            continue
        trend = ("без существенных изменений за год" if abs(d) < min_change else
                 f"{'рост' if d > 0 else 'снижение'} за год на {fmt_num(abs(d), 1)}{unit}")
        since = "" if pd.isna(db) or year == spec.base_year else (
            f", с {spec.base_year} года — {'+' if db >= 0 else '−'}{fmt_num(abs(db), 1)}{unit}")
        concl.append(f"Показатель {name}: {val} по области, {trend}{since}".rstrip(".") + ".")
        if abs(d) >= min_change and d < 0:
            recs.append(f"Выяснить причины снижения показателя {r.indicator} и включить меры по его "
                        "восстановлению в муниципальные планы.")
    t = targets(agg[(agg["level"] == "region") & (agg["year"] == year)], spec) if len(agg) else None
    if t is not None and len(t):
        lv = t[(t["target_kind"] == "level") & t["attained"].notna()]
        if len(lv):
            n_ok = int(lv["attained"].sum())
            concl.append(f"Целевые уровни (допущения комплекта, в дорожной карте числовых значений нет) "
                         f"достигнуты по {n_ok} из {len(lv)} показателей с целевым уровнем.")
            worst = lv[~lv["attained"].astype(bool)].sort_values("gap", ascending=False).head(3)
            for r in worst.itertuples():
                label = r.indicator if r.indicator in ind.index else "участие в региональном плане (п. 4.1)"
                recs.append(f"Приоритет — показатель {label}: до цели {fmt_num(r.target, 0)} % не хватает "
                            f"{fmt_num(r.gap, 1)} п. п.")
    if composite is not None:
        cy = composite[(composite["year"] == year) & (composite["criterion"] == 0)].sort_values("rank")
        if len(cy) >= 6:
            top = ", ".join(cy["unit_name"].head(3))
            bottom = ", ".join(cy["unit_name"].tail(3))
            concl.append(f"По сводному индексу (процентильные ранги, равные веса критериев) выше всех "
                         f"муниципалитеты: {top}; ниже всех: {bottom}.")
            recs.append(f"Организовать методическую поддержку муниципалитетов с наименьшим сводным "
                        f"индексом ({bottom}) и обмен опытом с лидерами ({top}).")
    if association is not None:
        c = association.coefficients.set_index(["model", "term"]).loc[("composite", "activity_b")]
        if c["p"] < 0.05 and c["ci_low"] > 0:
            concl.append(f"Обучающиеся школ с более высокими показателями профориентационной активности "
                         f"имеют в среднем более высокий общий индекс самоопределения "
                         f"(+{fmt_num(c['estimate'])} балла на 1 стандартное отклонение, 95 % ДИ "
                         f"{fmt_num(c['ci_low'])} — {fmt_num(c['ci_high'])}); это связь, а не доказанное влияние.")
        elif c["p"] < 0.05 and c["ci_high"] < 0:
            concl.append(f"Связь общего индекса с показателями активности школ отрицательная "
                         f"({fmt_num(c['estimate'])} балла на 1 стандартное отклонение); это связь, а не влияние.")
        else:
            concl.append("Связь общего индекса самоопределения с показателями профориентационной "
                         "активности школ статистически не подтверждена.")
    return concl, recs


def _short(text: str, n: int = 70) -> str:
    t = text.rstrip(".")
    t = t.split(":")[0]
    return t if len(t) <= n else t[: n - 1].rsplit(" ", 1)[0] + "…"
