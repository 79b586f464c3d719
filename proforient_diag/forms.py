"""Monitoring forms: reading the schools' yearly forms with full row accounting, and their template.

The monitoring «Результативности реализации дорожной карты» (roadmap items 3.3 and 4.9) collects
one form a year from every general-education school; the form is described by the roadmap spec
(:func:`proforient_diag.roadmap.load_monitoring_spec`). :func:`read_forms` reads form files (XLSX or
CSV in any encoding, through :func:`proforient_diag.ingest.read_table`) on the same
row-accounting engine as the answer sheets (:class:`proforient_diag.rows.RowLedger`): every row is
accepted or excluded with its first reason, rejected cells are noted and set empty, and per file
``rows = accepted + excluded``. :func:`write_form_template` writes the data-entry workbook the
reader reads back as is; :func:`completeness` says which schools sent a form.

Row-level exclusions (first reason wins): empty row; no school code; a school not in the register;
no readable year; a form of another year than the one being read; a second form of the same school
and year (the first read is kept). Cell-level issues (the cell is set empty, the row is kept): a
percentage outside 0–100; a negative or fractional count; a yes/no answer that is neither; a number
of students in an activity above the school's students; a number of students that differs from the
register. Empty cells are those of :data:`proforient_diag.rows.EMPTY_CELLS`, except that in a yes/no
column «-» means «нет» (see :mod:`proforient_diag.rows`).

Own numerics: none; pandas parses, numpy vectorises the checks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import DataError, FormError
from .fmt import fmt_pct
from .readers import Sheet, read_table, sha256_file
from .instrument import normalize_text
from .region import municipality_lookup, municipality_names
from .roadmap import REGION, MonitoringSpec, load_monitoring_spec
from .rows import RowLedger, file_accounting, file_of, first_wins, is_empty

__all__ = ["MonitoringResult", "read_forms", "form_files", "is_form_file", "completeness", "missing_schools",
           "write_form_template", "FORM_CONTEXT", "FORM_SUFFIXES"]

#: File suffixes of form files.
FORM_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
#: The context columns of an accepted form, in order.
FORM_CONTEXT = ["source_file", "source_row", "year", "school_id", "municipality_code",
                "municipality", "n_students_form", "n_students"]
_LOG = ["source_file", "source_row", "school_id", "column", "value", "reason"]


@dataclass(frozen=True)
class MonitoringResult:
    """What :func:`read_forms` (or :func:`~proforient_diag.sources.load_monitoring`, through the
    store) accepted and what not.

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
        (``load_monitoring``) the years with forms; ``exclusions``, ``issues`` and ``files``
        then carry a ``year`` column and name files without their folder.
    missing_years : tuple of int
        (``load_monitoring``) requested years without a folder of forms.
    store_path : str
        (``load_monitoring``) the store read, or «временное хранилище».
    reports : tuple of LoadReport
        (``load_monitoring``) what this call loaded, one report per year.
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
                             file=ex["source_file"].astype(str).map(file_of))
                   .groupby(key + ["file"])["r"]
                   .agg(lambda r: "; ".join(f"{k}: {v}" for k, v in r.value_counts().items())))
        idx = pd.MultiIndex.from_frame(f[key + ["file"]]) if key else f["file"]
        f["Причины исключения"] = reasons.reindex(idx).fillna("").to_numpy()
        if "year" in f.columns:  # a label, not a number to format («2 026»)
            f["year"] = f["year"].astype(str)
        return f.drop(columns=["sha256"]).rename(columns={
            "year": "Год", "file": "Файл", "format": "Формат", "encoding": "Кодировка",
            "rows": "Строк", "accepted": "Принято", "excluded": "Исключено"})


def form_files(paths) -> list[Path]:
    """The form files to read: files as given, folders searched recursively for CSV/XLSX."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file()
                              and q.suffix.lower() in FORM_SUFFIXES
                              and not q.name.startswith(("~$", ".")) and not q.name.endswith(".json")))
        else:
            out.append(p)
    if not out:
        raise FormError("не найдено ни одного файла формы мониторинга (CSV или XLSX).",
                        file=str(paths[0]) if len(paths) else None)
    return out


def is_form_file(path: str | Path, spec: MonitoringSpec | None = None) -> bool:
    """Whether a file is a monitoring form (its header names the school code and at least three
    columns of the form), not an answer sheet."""
    look = _header_lookup(spec or load_monitoring_spec())
    try:
        sheets, _ = read_table(path, known=lambda h: normalize_text(h) in look)
    except Exception:   # an unreadable file is for the reader to explain
        return False
    for sh in sheets:
        roles = _map_sheet(sh.frame, look)
        if ("context", "school_id") in roles and sum(r[0] == "measure" for r in roles) >= 3:
            return True
    return False


# -- headers and cells ----------------------------------------------------------------------

def _header_lookup(spec: MonitoringSpec) -> dict[str, tuple[str, str]]:
    """normalised header → (role, column); role is 'context', 'measure' or 'count'."""
    look: dict[str, tuple[str, str]] = {}

    def add(names, role):
        for a in names:
            look.setdefault(normalize_text(a), role)
            look.setdefault(normalize_text(re.sub(r"^\s*\d+\.\d+\.\s*", "", a)), role)

    for key, c in spec.context.items():
        for a in [key, c["header"], *c.get("aliases", [])]:
            look.setdefault(normalize_text(a), ("context", key))
    for m in spec.measures.itertuples():
        if m.derived:
            look.setdefault(normalize_text(m.column), ("measure", m.column))
            continue
        add((m.column, m.header, *m.aliases), ("measure", m.column))
        if m.count_column:
            add((m.count_column, m.count_header), ("count", m.column))
    return look


def _parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Text cells → floats; returns (values, unreadable mask). Empty cells are NaN and readable."""
    t = s.astype(str).str.strip().str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    t = t.str.replace("%", "", regex=False).str.replace(",", ".", regex=False)
    blank = pd.Series(is_empty(t), index=s.index)
    v = pd.to_numeric(t.where(~blank), errors="coerce")
    return v, v.isna() & ~blank


def _parse_yesno(s: pd.Series, spec: MonitoringSpec) -> tuple[pd.Series, pd.Series]:
    """Text cells → 1.0 («да») / 0.0 («нет») / NaN; the spec's spellings are looked up first, so
    «-» is «нет» and «+» is «да» here (the documented exception to the empty-cell vocabulary)."""
    uniq = pd.Series(s.astype(str).unique())
    norm = uniq.map(lambda x: normalize_text(x) if x.strip() not in ("-", "+") else x.strip())
    code = pd.Series(np.where(norm.isin(spec.yes_values), 1.0,
                              np.where(norm.isin(spec.no_values), 0.0, np.nan)), index=uniq.to_numpy())
    blank = is_empty(norm)
    bad = pd.Series(code.isna().to_numpy() & ~blank, index=uniq.to_numpy())
    return s.astype(str).map(code), s.astype(str).map(bad)


# -- one sheet ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Sheet:
    """One sheet of a form file with its columns mapped to the spec."""

    frame: pd.DataFrame
    source: str
    rows: np.ndarray
    roles: dict
    path: Path
    sheet: Sheet


def _map_sheet(df: pd.DataFrame, look: dict) -> dict:
    mapped: dict[str, tuple[str, str]] = {}
    for h in df.columns:
        key = normalize_text(h)
        if key in look and look[key] not in mapped.values():
            mapped[h] = look[key]
    return {v: h for h, v in mapped.items()}


def _sheets(path: Path, look: dict) -> tuple[list[_Sheet], dict]:
    sheets, facts = read_table(path, known=lambda h: normalize_text(h) in look)
    out = []
    for sh in sheets:
        label, df = sh.label, sh.frame
        df = df.copy()
        df.columns = [str(c) for c in df.columns]
        roles = _map_sheet(df, look)
        if ("context", "school_id") not in roles:
            if len(sheets) == 1:
                raise FormError("нет столбца с кодом ОО («Код ОО»); добавьте его или возьмите "
                                "шаблон формы (write_form_template).", file=path)
            continue
        if not any(r in ("measure", "count") for r, _ in roles):
            if len(sheets) == 1:
                raise FormError("не найдено ни одного столбца показателей мониторинга; это "
                                "другая форма или заголовки изменены — возьмите шаблон формы.",
                                file=path)
            continue
        source = str(path) if label == path.name else f"{path} [{label.split('[', 1)[1][:-1]}]"
        out.append(_Sheet(df, source, sh.rows, roles, path, sh))
    if not out:
        raise FormError("ни на одном листе нет столбца «Код ОО» и столбцов показателей; "
                        "возьмите шаблон формы.", file=path)
    return out, facts


_CYR_TO_LAT = str.maketrans("АВЕКМНОРСТУХаеокмнорстух", "ABEKMHOPCTYXaeokmhopctyx")


def _latin_codes(school: pd.Series, reg: pd.DataFrame, led: RowLedger) -> pd.Series:
    """School codes typed with Cyrillic look-alikes («МО03-001») read as the register's code."""
    fixed = school.map(lambda c: c.translate(_CYR_TO_LAT))
    use = (~school.isin(reg.index) & fixed.isin(reg.index) & (fixed != school)).to_numpy()
    led.note(use, "Код ОО", school.to_numpy(),
             [f"код ОО набран кириллицей; принят как «{f}» (латиница, как в справочнике)" for f in fixed],
             school_id=fixed.to_numpy())
    return school.where(~use, fixed)


def _file_municipality(sh: _Sheet, led: RowLedger, out: pd.DataFrame, known) -> None:
    """A form of a school of another municipality than the one the file is named for."""
    m = re.search(r"(?<![A-Za-zА-Яа-я])[MМ][OО](\d{2})(?!\d)", sh.path.stem)
    if not m:
        return
    code = f"MO{m.group(1)}"
    names = municipality_names()
    if code not in names.index:
        return
    other = known & out["municipality_code"].notna().to_numpy() & \
        (out["municipality_code"] != code).to_numpy()
    led.note(other, "Код ОО", out["school_id"].to_numpy(),
             [f"ОО относится к муниципалитету «{names.get(c, c)}» (по справочнику школ), а файл — "
              f"формы муниципалитета «{names[code]}» ({code}); форма учтена по справочнику — "
              "проверьте, не попала ли она в чужой файл" for c in out["municipality_code"]],
             school_id=out["school_id"].to_numpy())


def _context(sh: _Sheet, led: RowLedger, reg: pd.DataFrame, year: int | None) -> pd.DataFrame:
    """Exclusions by the context columns, and the context of every row."""
    df, roles, n = sh.frame, sh.roles, len(sh.frame)

    def col(key):
        h = roles.get(("context", key))
        return df[h].astype(str).str.strip() if h else pd.Series([""] * n, index=df.index)

    school = _latin_codes(col("school_id"), reg, led)
    blank_all = np.column_stack([is_empty(df[c]) for c in df.columns]).all(axis=1) \
        if len(df.columns) else np.ones(n, bool)
    led.exclude(blank_all, "пустая строка", "")
    sch_h = roles[("context", "school_id")]
    led.exclude(is_empty(school), "не указан код ОО; впишите код из справочника школ", sch_h)
    known = school.isin(reg.index).to_numpy()
    led.exclude(~known, [f"ОО с кодом «{s}» нет в справочнике школ; проверьте код" for s in school],
                sch_h)
    if ("context", "year") in roles:
        yv, _ = _parse_numbers(col("year"))
        yh = roles[("context", "year")]
    else:
        m = re.search(r"(20[1-3]\d)", sh.path.name)
        yv = pd.Series(float(year) if year is not None else (float(m.group(1)) if m else np.nan),
                       index=df.index)
        yh = "Год"
    yv = yv.where((yv >= 2000) & (yv <= 2100) & (yv == np.round(yv)))
    led.exclude(yv.isna().to_numpy(), "не указан или не распознан год формы; впишите год "
                                      "(например 2024)", yh)
    if year is not None:
        led.exclude((yv != year).to_numpy(),
                    [f"форма за {int(y) if y == y else ''} год среди форм {year} года; перенесите её "
                     "в файл своего года" for y in yv], "Год")
    out = pd.DataFrame({"source_file": sh.source, "source_row": led.rows, "year": yv.to_numpy(),
                        "school_id": school.to_numpy()})
    out["municipality_code"] = school.map(reg["municipality_code"]).to_numpy()
    out["municipality"] = out["municipality_code"].map(municipality_names()).to_numpy()
    _file_municipality(sh, led, out, known)
    if ("context", "municipality") in roles:   # the form's municipality must agree with the register
        mo_raw = col("municipality")
        lookup = municipality_lookup()
        mo_code = mo_raw.map(lambda v: lookup.get(normalize_text(v), (None,))[0])
        wrong = (mo_code.notna() & (mo_code.to_numpy() != out["municipality_code"].to_numpy())
                 ).to_numpy() & known
        led.note(wrong, roles[("context", "municipality")], mo_raw.to_numpy(),
                 [f"муниципалитет в форме не совпадает со справочником школ ({m}); взят справочник"
                  for m in out["municipality"]], school_id=school.to_numpy())
    nh = roles.get(("context", "n_students"))
    if nh:
        nv, bad = _parse_numbers(df[nh])
        neg = (nv <= 0) | (nv != np.round(nv))
        led.note((bad | neg).to_numpy(), nh, df[nh].to_numpy(),
                 "число обучающихся должно быть целым положительным числом; ячейка не засчитана",
                 school_id=school.to_numpy())
        out["n_students_form"] = nv.where(~neg).to_numpy()
    else:
        out["n_students_form"] = np.nan
    return out


def _measures(sh: _Sheet, led: RowLedger, out: pd.DataFrame, spec: MonitoringSpec) -> None:
    """The measure columns of every row (rejected cells noted and set empty)."""
    meas = spec.measures
    school = out["school_id"].to_numpy()
    for c, k in zip(meas.loc[~meas["derived"], "column"], meas.loc[~meas["derived"], "kind"]):
        h = sh.roles.get(("measure", c))
        raw = sh.frame[h] if h is not None else None
        if h is None:
            out[c] = np.nan
        elif k == "yesno":
            v, bad = _parse_yesno(raw, spec)
            led.note(bad.to_numpy(), h, raw.to_numpy(),
                     "ответ не распознан как «да» или «нет» (допустимо: да, нет, 1, 0, +, -, есть, "
                     "отсутствует); ячейка не засчитана", school_id=school)
            out[c] = v.to_numpy()
        else:
            v, bad = _parse_numbers(raw)
            led.note(bad.to_numpy(), h, raw.to_numpy(), "не число; ячейка не засчитана — впишите число",
                     school_id=school)
            dash = raw.astype(str).str.strip().isin(["-", "—"]).to_numpy()
            led.note(dash, h, raw.to_numpy(), "прочерк в числовой ячейке прочитан как «нет данных» "
                     "(пустая ячейка); если это ноль — впишите 0", school_id=school)
            if k == "percent":
                v = _fractions_as_percent(v, sh, h)
                out_r = (v < 0) | (v > 100)
                why = ("процент должен быть от 0 до 100; ячейка не засчитана — проверьте, не вписано "
                       "ли число обучающихся вместо процента")
            else:
                out_r = (v < 0) | (v != np.round(v))
                why = "количество должно быть целым неотрицательным числом; ячейка не засчитана"
            led.note(out_r.to_numpy(), h, raw.to_numpy(), why, school_id=school)
            out[c] = v.where(~out_r).to_numpy(dtype=float)
        ch = sh.roles.get(("count", c))
        if ch is not None:
            v, bad = _parse_numbers(sh.frame[ch])
            neg = (v < 0) | (v != np.round(v))
            led.note((bad | neg).to_numpy(), ch, sh.frame[ch].to_numpy(),
                     "число обучающихся должно быть целым неотрицательным; ячейка не засчитана",
                     school_id=school)
            out[f"_n_{c}"] = v.where(~neg).to_numpy()


def _fractions_as_percent(v: pd.Series, sh: _Sheet, header: str) -> pd.Series:
    """A percent column filled with shares (every value 0–1, some fractional) is read ×100."""
    x = v.dropna()
    if len(x) >= 2 and (x <= 1).all() and (x != np.round(x)).any():
        sh.sheet.note(f"значения столбца «{header}» вписаны долями ({_num(x.iloc[0])}), а не "
                      "процентами; пересчитаны в проценты (×100) — проверьте форму", column=header)
        return v * 100
    return v


def _num(x: float) -> str:
    return str(x).replace(".", ",")


def _read_sheet(sh: _Sheet, spec: MonitoringSpec, reg: pd.DataFrame, year: int | None):
    led = RowLedger(sh.rows)
    out = _context(sh, led, reg, year)
    _measures(sh, led, out, spec)
    keep = led.kept
    acc = out.loc[keep].reset_index(drop=True)
    acc["year"] = acc["year"].astype(int)
    exc = led.exclusions(source_file=sh.source, school_id=out["school_id"].to_numpy())
    exc = exc[["source_file", "source_row", "school_id", "column", "reason"]]
    if not len(sh.frame):
        sh.sheet.note("в файле нет строк с формами (только заголовок): нет данных для приёма — "
                      "заполните форму")
    led.extend_issues(pd.DataFrame([{"source_row": n["source_row"], "school_id": None,
                                     "column": n["column"], "value": None, "reason": n["reason"]}
                                    for n in sh.sheet.notes]))
    iss = led.issues(["source_row", "school_id", "column", "value", "reason"])
    iss.insert(0, "source_file", sh.source)
    return acc, exc, iss


# -- the whole read -------------------------------------------------------------------------

def _duplicates(forms, exclusions, issues):
    """A second form of a school-year across all files: the first read is kept."""
    repeat, first = first_wins(forms["school_id"] + "\x00" + forms["year"].astype(str))
    if not repeat.any():
        return forms, exclusions, issues
    d, f = forms.loc[repeat], forms.iloc[first[repeat]]
    reasons = [f"повторная форма ОО за {y} год (принята первая: {Path(fl).name}, строка {r}); "
               "оставьте в файлах одну форму"
               for y, fl, r in zip(d["year"], f["source_file"], f["source_row"])]
    exclusions = pd.concat([exclusions, pd.DataFrame({
        "source_file": d["source_file"].to_numpy(), "source_row": d["source_row"].to_numpy(),
        "school_id": d["school_id"].to_numpy(), "column": "school_id", "reason": reasons})],
        ignore_index=True)
    drop = set(zip(d["source_file"], d["source_row"]))
    issues = issues[[(fl, r) not in drop for fl, r in zip(issues["source_file"], issues["source_row"])]]
    return forms.loc[~repeat].reset_index(drop=True), exclusions, issues


def _official_students(forms, issues, enrolment, spec, tolerance):
    """The number of students: the register's when given (a form differing by more than
    ``tolerance`` is noted)."""
    forms["n_students"] = forms["n_students_form"]
    if enrolment is None:
        return forms, issues
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
    return forms, issues


def _derived(forms, issues, spec):
    """Percentages given as numbers of students, and the derived totals (4.3)."""
    meas = spec.measures
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
    for m in meas[meas["derived"]].itertuples():   # empty level cells count as 0 when any is filled
        lv = meas.loc[(meas["indicator"] == m.indicator) & ~meas["derived"], "column"].tolist()
        forms[m.column] = forms[lv].sum(axis=1, min_count=1)
    return forms, issues


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
        Default :func:`~proforient_diag.roadmap.load_monitoring_spec`.
    year : int, optional
        The year of these forms: rows whose «Год» is another year are excluded (with the reason),
        and forms without a «Год» column take this year. Without it, the column, else a year in
        the file name.
    tolerance : float
        Allowed relative difference between the form's and the register's number of students.

    Returns
    -------
    MonitoringResult

    Notes
    -----
    See the module docstring for the exclusions and issues; accepted yes/no spellings:
    да/Да/ДА/yes/1/+/есть/имеется and нет/no/0/-/отсутствует, case and surrounding spaces ignored.
    In every file rows = accepted + excluded.
    """
    spec = spec or load_monitoring_spec()
    for c in ("school_id", "municipality_code"):
        if c not in schools.columns:
            raise DataError(f"в справочнике школ нет столбца «{c}»; передайте таблицу schools.csv.",
                            column=c)
    reg = schools.drop_duplicates("school_id").set_index("school_id")
    look = _header_lookup(spec)
    parts, excl_parts, issue_parts, file_rows = [], [], [], []
    for path in form_files(paths):
        sheets, facts = _sheets(path, look)
        for sh in sheets:
            acc, exc, iss = _read_sheet(sh, spec, reg, year)
            parts.append(acc)
            excl_parts.append(exc)
            issue_parts.append(iss)
        file_rows.append({"file": str(path), "sha256": sha256_file(path), "format": facts["format"],
                          "encoding": facts.get("encoding", ""), "delimiter": facts.get("delimiter", ""),
                          "rows": sum(len(sh.frame) for sh in sheets)})
    cols = FORM_CONTEXT[:-1] + [c for c in spec.measures["column"] if c not in FORM_CONTEXT]
    forms = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    if not len(forms):   # only header rows: an empty table of the right columns
        forms = pd.DataFrame({c: pd.Series(dtype=float) for c in cols}).astype(
            {"source_file": object, "school_id": object, "municipality_code": object,
             "municipality": object, "source_row": int, "year": int})
    exclusions = pd.concat(excl_parts, ignore_index=True)
    issues = pd.concat(issue_parts, ignore_index=True)
    forms, exclusions, issues = _duplicates(forms, exclusions, issues)
    forms, issues = _official_students(forms, issues, enrolment, spec, tolerance)
    forms, issues = _derived(forms, issues, spec)
    forms = forms[FORM_CONTEXT + spec.measures["column"].tolist()]
    forms = forms.sort_values(["year", "school_id"], kind="stable").reset_index(drop=True)
    files = file_accounting(pd.DataFrame(file_rows), forms["source_file"], exclusions["source_file"])
    files = files[["file", "sha256", "format", "encoding", "delimiter", "rows", "accepted",
                   "excluded"]]
    return MonitoringResult(forms, exclusions.reset_index(drop=True), issues.reset_index(drop=True),
                            files, missing_schools(forms, schools, enrolment),
                            completeness(forms, schools, enrolment))


# -- who sent a form --------------------------------------------------------------------------

def _expected(schools: pd.DataFrame, enrolment: pd.DataFrame | None, years: Iterable[int]) -> pd.DataFrame:
    cols = [c for c in ("school_id", "school_name", "municipality_code", "municipality") if c in schools]
    if enrolment is not None:
        e = enrolment.groupby(["year", "school_id"], as_index=False)["n_students"].sum()
        e = e[(e["n_students"] > 0) & e["year"].isin(list(years))]
        return e[["year", "school_id"]].merge(schools[cols].drop_duplicates("school_id"), on="school_id")
    return pd.concat([schools[cols].drop_duplicates("school_id").assign(year=y) for y in years],
                     ignore_index=True)


def missing_schools(forms: pd.DataFrame, schools: pd.DataFrame,
                    enrolment: pd.DataFrame | None = None) -> pd.DataFrame:
    """Schools expected in a year of ``forms`` that sent no accepted form."""
    exp = _expected(schools, enrolment, sorted(forms["year"].unique()))
    if not len(exp):
        return pd.DataFrame(columns=["year", "school_id", "school_name", "municipality_code",
                                     "municipality"])
    got = set(zip(forms["year"], forms["school_id"]))
    miss = exp[[(y, s) not in got for y, s in zip(exp["year"], exp["school_id"])]]
    if "municipality" not in miss:
        miss = miss.assign(municipality=miss["municipality_code"].map(municipality_names()))
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
    mo["unit_name"] = mo["unit"].map(municipality_names())
    rg = exp.groupby("year", as_index=False).agg(expected=("school_id", "size"), received=("received", "sum"))
    rg = rg.assign(level="region", unit="region", unit_name=REGION)
    out = pd.concat([rg, mo], ignore_index=True)
    out["received"] = out["received"].astype(int)
    out["share"] = 100 * out["received"] / out["expected"]
    return out[["year", "level", "unit", "unit_name", "expected", "received", "share"]]


# -- the data-entry template ------------------------------------------------------------------

def _validations():
    from openpyxl.worksheet.datavalidation import DataValidation

    def dv(**kw):
        return DataValidation(allow_blank=kw.pop("allow_blank", True), showErrorMessage=True, **kw)
    return {
        "yesno": dv(type="list", formula1='"да,нет"', errorTitle="Да или нет",
                    error="Выберите «да» или «нет»."),
        "count": dv(type="whole", operator="greaterThanOrEqual", formula1="0",
                    errorTitle="Количество", error="Впишите целое неотрицательное число."),
        "percent": dv(type="decimal", operator="between", formula1="0", formula2="100",
                      errorTitle="Процент", error="Впишите процент от 0 до 100."),
        "n": dv(type="whole", operator="greaterThan", formula1="0", errorTitle="Число обучающихся",
                error="Впишите целое положительное число."),
        "year": dv(type="whole", operator="between", formula1="2018", formula2="2027",
                   allow_blank=False, errorTitle="Год", error="Год мониторинга — от 2018 до 2027."),
    }


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
        mo = municipality_names()
        for s, m in zip(schools["school_id"], schools["municipality_code"]):
            ws.append([s, mo.get(m, m), int(year), None])
        n_rows = max(n_rows, len(schools) + 1)
    else:
        ws.cell(row=2, column=3, value=int(year))
    last = n_rows + 1
    dvs = _validations()
    for dv in dvs.values():
        ws.add_data_validation(dv)
    dvs["year"].add(f"C2:C{last}")
    dvs["n"].add(f"D2:D{last}")
    for j, k in enumerate(meas["kind"], start=5):
        letter = get_column_letter(j)
        dvs[k].add(f"{letter}2:{letter}{last}")
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
