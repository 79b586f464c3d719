"""One sheet of answer sheets: column mapping and validation, every row accepted or excluded.

The rules of :func:`proforient_diag.ingest.read_responses` for one table read by
:func:`proforient_diag.readers.read_table`, on the row-accounting engine of
:mod:`proforient_diag.rows`. Row exclusions, in order (first reason wins): records the reader
could not parse (an unclosed quote, another delimiter, a wrong number of fields); a cell longer
than the reader keeps in a column that is read; an empty row; no participant code; a code that
looks like personal data (a name, an e-mail, a phone, a date) — never copied into a log; a code
mangled by Excel's exponential notation; no answer at all (a row of formulas without values is
said to be one); no readable year; a row dated another year than the one loaded (and a whole file
of another year named as such); no valid grade (a grade Excel turned into a date is said to be
one); no school; an unknown municipality; a grade outside the file's band form; too few answers.
Cell-level issues (the cell is set empty, the row is kept): an unreadable answer (its text never
logged when it looks like personal data, and cut when long), an answer outside the respondent's
form, an unreadable sex. File-level notes: columns with personal data dropped, unknown columns,
missing item columns of the form, SPSS value labels used to recode the answers.

SPSS value labels
-----------------
A ``.sav`` column with value labels is read by its labels, not its codes: each label is looked
up among the response scale's labels and synonyms. Labels that agree with the codes change
nothing; labels that say the codes are shifted (0–4 for 1–5) or reversed (1 = «Полностью
согласен») recode the column and a note says so; a label the scale does not have (a frequency
scale on agreement items) refuses the file — its answers cannot be scored silently.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .errors import InputFileError
from .instrument import Instrument, ResponseScale, normalize_text
from .privacy import mask_personal, personal_kind
from .readers import Sheet
from .rows import EMPTY_CELLS, RowLedger, is_empty

__all__ = ["DEFAULT_COLUMNS", "header_keys", "map_columns", "known_headers", "parse_answer",
           "parse_grade", "validate_sheet", "MAX_CODE"]

#: Context columns and the header names they are recognised by (normalised; extend via ``columns=``).
DEFAULT_COLUMNS: dict[str, list[str]] = {
    "respondent_id": ["respondent_id", "id", "код", "код участника", "код обучающегося",
                      "идентификатор", "код респондента", "id участника", "личный код"],
    "school_id": ["school_id", "школа", "код оо", "оо", "код школы", "образовательная организация",
                  "общеобразовательная организация"],
    "municipality": ["municipality", "municipality_code", "муниципалитет", "мо", "код мо",
                     "муниципальное образование", "территория"],
    "grade": ["grade", "класс", "в каком классе вы учитесь", "в каком классе ты учишься"],
    "sex": ["sex", "пол", "ваш пол", "твой пол", "gender"],
    "date": ["date", "дата", "отметка времени", "timestamp", "дата заполнения", "время создания",
             "дата и время"],
    "year": ["year", "год", "год обследования"],
}
#: Participant codes longer than this are refused (a code is a short label, not a text).
MAX_CODE = 64

_PII_PATTERNS = re.compile(
    r"(фио|фамили|^имя|отчество|^name$|surname|full ?name|дата рождения|birth|телефон|phone|e-?mail|"
    r"почта|снилс|snils|паспорт|passport|адрес|address|^ученик|^учащ|^обучающ)")
_SEX = {"м": "м", "муж": "м", "мужской": "м", "мальчик": "м", "юноша": "м", "male": "м", "m": "м",
        "1": "м", "ж": "ж", "жен": "ж", "женский": "ж", "девочка": "ж", "девушка": "ж",
        "female": "ж", "f": "ж", "2": "ж"}
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9,
          "x": 10, "xi": 11}
_GRADE = re.compile(r"^\s*(\d{1,2}|[ivxIVX]{1,4})(?:[.,]0+)?\s*(?:-?\s*[«\"']?[А-ЯЁа-яёA-Za-z][»\"']?)?"
                    r"\s*(?:класс|кл\.?)?\s*$")
_DATE_LIKE = re.compile(r"^\s*(?:\d{1,2}[./-](?:\d{1,2}|[а-яёa-z]{3,})\.?(?:[./-]\d{2,4})?"
                        r"|\d{4}-\d{2}-\d{2}(?:[ T][\d:]+)?|[а-яёa-z]{3,}[./-]\d{1,2})\s*$",
                        re.IGNORECASE)
_EXPONENT = re.compile(r"^\s*\d+(?:[.,]\d+)?[eE][+-]?\d+\s*$")


# -- column mapping ---------------------------------------------------------------------------

def header_keys(header: str) -> list[str]:
    """The normalised forms a header is matched by (a Google Forms grid ``Вопрос [утверждение]``
    also by the part in brackets)."""
    h = str(header)
    keys = [normalize_text(h)]
    m = re.search(r"\[(.+)\]\s*$", h)
    if m:
        keys.append(normalize_text(m.group(1)))
    return keys


def map_columns(headers: Sequence[str], inst: Instrument, names: dict[str, list[str]]):
    """Map headers to context fields and item ids; return (context, items, pii, unknown)."""
    ctx_lookup = {normalize_text(a): field for field, aliases in names.items() for a in aliases}
    item_lookup: dict[str, str] = {}
    for it in inst.items:
        item_lookup[normalize_text(it.id)] = it.id
        item_lookup[normalize_text(it.text)] = it.id
    context: dict[str, str] = {}
    items: dict[str, str] = {}
    pii: list[str] = []
    unknown: list[str] = []
    for h in headers:
        keys = header_keys(h)
        field = next((ctx_lookup[k] for k in keys if k in ctx_lookup), None)
        if field and field not in context:
            context[field] = h
            continue
        item = next((item_lookup[k] for k in keys if k in item_lookup), None)
        if item and item not in items.values():
            items[h] = item
            continue
        if _PII_PATTERNS.search(keys[0].replace(".", "").replace(" ", "")) or _PII_PATTERNS.search(keys[0]):
            pii.append(h)
            continue
        if " (повтор " in str(h):   # a repeated column, already noted by the reader
            continue
        unknown.append(h)
    return context, items, pii, unknown


def known_headers(instruments: Sequence[Instrument], names: dict[str, list[str]]
                  ) -> Callable[[str], bool]:
    """``header → bool``: whether a header names a context column or an item (to find the header
    row under title rows)."""
    keys = {normalize_text(a) for aliases in names.values() for a in aliases}
    for inst in instruments:
        for it in inst.items:
            keys.update((normalize_text(it.id), normalize_text(it.text)))
    return lambda h: any(k in keys for k in header_keys(h))


def parse_answer(value: str, rs: ResponseScale) -> tuple[float, bool]:
    """One distinct cell text → (code or NaN, valid?)."""
    s = value.strip()
    if s.lower() in EMPTY_CELLS:
        return np.nan, True
    try:
        x = float(s.replace(",", "."))
        if x.is_integer() and int(x) in rs.labels:
            return float(int(x)), True
        return np.nan, False
    except ValueError:
        pass
    key = normalize_text(s)
    if key in rs.label_lookup:
        return float(rs.label_lookup[key]), True
    m = re.match(r"^\s*(\d+)\s*[-–—.)]\s*(.*)$", s)
    if m and int(m.group(1)) in rs.labels:
        return float(m.group(1)), True
    return np.nan, False


def parse_grade(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Grades 1–11 from «8», «8А», «8-а», «8 кл.», «VIII», «IX-б»; and which cells hold a date
    (Excel turns «5.1» or «5-1» into «05.янв»)."""
    text = values.astype(str)
    uniq = pd.unique(text.to_numpy())
    parsed, dates = {}, {}
    for u in uniq:
        m = _GRADE.match(u)
        g = np.nan
        if m:
            tok = m.group(1)
            g = float(tok) if tok.isdigit() else float(_ROMAN.get(tok.lower(), np.nan))
        parsed[u] = g if 1 <= g <= 11 else np.nan
        dates[u] = bool(np.isnan(parsed[u]) and _DATE_LIKE.match(u))
    return text.map(parsed).astype(float), text.map(dates).astype(bool)


# -- one table --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Table:
    """One sheet of an export with its columns mapped to the instrument's."""

    df: pd.DataFrame
    source: str
    inst: Instrument
    years: pd.Series
    context: dict
    item_map: dict
    pii: list
    unknown: list

    def col(self, f: str) -> pd.Series:
        """A context column as stripped text ("" when the column is absent)."""
        if f in self.context:
            return self.df[self.context[f]].astype(str).str.strip()
        return pd.Series([""] * len(self.df), index=self.df.index)


def _dates(df, context) -> pd.Series:
    if "date" not in context:
        return pd.Series(pd.NaT, index=df.index)
    return pd.to_datetime(df[context["date"]], errors="coerce", dayfirst=True, format="mixed")


def _years_of(df, context, year, source) -> pd.Series:
    n = len(df)
    if year is not None:
        return pd.Series(np.full(n, int(year)), dtype="Int64")
    if "year" in context:
        return pd.to_numeric(df[context["year"]].str.strip(), errors="coerce").astype("Int64")
    if "date" in context:
        return _dates(df, context).dt.year.astype("Int64")
    raise InputFileError("не удалось определить год обследования: в файле нет столбца года или "
                         "даты; укажите год параметром --year.", file=source)


def _header_only(source: str) -> pd.DataFrame:
    return pd.DataFrame([{"source_file": source, "source_row": None, "respondent_id": None,
                          "school_id": None, "column": None, "value": None,
                          "reason": "в файле нет строк с ответами (только заголовок): нет данных "
                                    "для приёма — выгрузите ответы ещё раз"}])


def _map_table(sheet: Sheet, source, inst_for, names, year, must_use):
    """The sheet's instrument version and column mapping; ``(None, None)`` for a sheet without
    items, ``(None, note)`` for a header-only sheet."""
    df = sheet.frame
    probe_inst = inst_for(int(year) if year else 9999)
    context, probe_items, _, _ = map_columns(df.columns, probe_inst, names)
    if not probe_items and not must_use:
        return None, None  # a sheet without item columns (a codebook or an instruction sheet)
    if len(df) == 0 and probe_items:
        return None, _header_only(source)
    years = _years_of(df, context, year, source)
    known_years = sorted(int(y) for y in years.dropna().unique())
    if not known_years:
        raise InputFileError("не удалось определить год обследования ни в одной строке; укажите "
                             "год параметром --year.", file=source)
    inst = inst_for(known_years[-1])
    context, item_map, pii, unknown = map_columns(df.columns, inst, names)
    _check_columns(df, source, inst, context, item_map, names, must_use)
    if not item_map:
        return None, None
    return _Table(df, source, inst, years, context, item_map, pii, unknown), None


def _check_columns(df, source, inst, context, item_map, names, must_use) -> None:
    if not item_map:
        if must_use:
            raise InputFileError(
                f"в файле нет ни одного столбца заданий инструмента «{inst.title}» (версия "
                f"{inst.version}); это выгрузка другой анкеты или заголовки изменены. Проверьте "
                "файл или сопоставьте столбцы по кодбуку (proforient-diag codebook).", file=source)
        return
    if "respondent_id" not in context:
        raise InputFileError("нет столбца с кодом участника (например «Код участника» или "
                             "«respondent_id»); добавьте его или укажите имя столбца в настройках.",
                             file=source)
    present = set(item_map.values())
    best = max(len(present & set(inst.items_for(b))) / len(inst.items_for(b)) for b in inst.band_ids)
    if best < 0.5:
        raise InputFileError(
            f"в файле есть только {len(item_map)} столбцов заданий инструмента «{inst.title}» "
            f"(версия {inst.version}) — меньше половины любой формы; похоже, это другой инструмент "
            "или другая версия. Сопоставьте столбцы по кодбуку (proforient-diag codebook).",
            file=source)
    for f in ("school_id", "municipality", "grade"):
        if f not in context:
            raise InputFileError(f"нет обязательного столбца «{f}» ({', '.join(names[f][1:3])}); "
                                 "добавьте его или укажите имя столбца в настройках.", file=source)


def _file_notes(t: _Table, sheet: Sheet) -> list[dict]:
    """File-level issues: the reader's notes, dropped personal-data columns, unknown columns,
    item columns the file's form lacks."""
    def row(reason, line=None, column=None):
        return {"source_row": line, "respondent_id": None, "column": column, "value": None,
                "reason": reason}
    notes = [row(n["reason"], n["source_row"], n["column"]) for n in sheet.notes]
    notes += [row("столбец с персональными данными (ФИО, контакты, дата рождения) отброшен при "
                  "чтении: в анкете нужен только код участника", column=h) for h in t.pii]
    notes += [row("столбец не распознан и пропущен", column=h) for h in t.unknown]
    present = set(t.item_map.values())
    forms = {b: set(t.inst.items_for(b)) for b in t.inst.band_ids}
    if not any(f == present for f in forms.values()):   # not one band's own form
        partly = [b for b, f in forms.items() if 0.8 <= len(present & f) / len(f) < 1]
        missing = [i for i in t.inst.item_ids if i not in present
                   and any(i in forms[b] for b in partly)]
        if missing:
            bands = ", ".join(b.replace("-", "–") for b in partly)
            notes.append(row(f"в файле нет столбцов заданий {', '.join(missing)} (формы для {bands} "
                             "классов): ответы на них пропущены — проверьте выгрузку"))
    return notes


def _sav_recode(t: _Table, sheet: Sheet, item_cols: list[str]) -> tuple[dict, list[dict]]:
    """Recode maps of item columns by their SPSS value labels, and the notes saying so."""
    maps, notes = {}, []
    for h in item_cols:
        labels = sheet.value_labels.get(h)
        if not labels:
            continue
        rs = t.inst.response_scale_of(t.item_map[h])
        code = {float(k): rs.label_lookup.get(normalize_text(str(v))) for k, v in labels.items()}
        bad = [v for k, v in labels.items() if code[float(k)] is None]
        if bad:
            raise InputFileError(
                f"метки значений SPSS в столбце «{h}» («{bad[0]}» …) не соответствуют шкале ответов "
                f"«{rs.name}» инструмента ({', '.join(f'{k} = {v}' for k, v in rs.labels.items())}); "
                "ответы нельзя засчитать — проверьте, та ли это анкета и та ли шкала.",
                file=t.source, column=h)
        if any(float(k) != float(c) for k, c in code.items()):
            maps[h] = {str(int(k)) if float(k).is_integer() else str(k): str(int(c))
                       for k, c in code.items()}
    if maps:
        example = next(iter(maps.items()))
        pairs = ", ".join(f"{a}→{b}" for a, b in list(example[1].items())[:5])
        notes.append({"source_row": None, "respondent_id": None, "column": ", ".join(list(maps)[:5]),
                      "value": None,
                      "reason": f"коды ответов в {len(maps)} столбцах пересчитаны по меткам значений "
                                f"SPSS (в «{example[0]}»: {pairs}): метки расходились с кодами шкалы"})
    return maps, notes


def _answers(t: _Table, recode: dict):
    """Item cells → codes, per response scale over the distinct cell texts (vectorised; object
    arrays, so a long cell costs its length, not the width of every cell).

    Returns ``(item_cols, raw text, values, valid)``.
    """
    item_cols = list(t.item_map)
    raw = t.df[item_cols].astype(str).to_numpy(dtype=object)
    for j, h in enumerate(item_cols):
        if h in recode:
            raw[:, j] = pd.Series(raw[:, j]).str.strip().map(lambda v, m=recode[h]: m.get(v, v)).to_numpy()
    values = np.full(raw.shape, np.nan)
    valid = np.ones(raw.shape, dtype=bool)
    by_scale: dict[str, list[int]] = {}
    for j, h in enumerate(item_cols):
        by_scale.setdefault(t.inst.response_scale_of(t.item_map[h]).id, []).append(j)
    for rs_id, cols in by_scale.items():
        rs = t.inst.response_scales[rs_id]
        uniq, inv = np.unique(raw[:, cols], return_inverse=True)
        parsed = [parse_answer(u, rs) for u in uniq]
        codes = np.array([p[0] for p in parsed], dtype=float)
        ok = np.array([p[1] for p in parsed], dtype=bool)
        inv = inv.reshape(len(raw), len(cols))
        values[:, cols] = codes[inv]
        valid[:, cols] = ok[inv]
    return item_cols, raw, values, valid


def _code_exclusions(t: _Table, led: RowLedger, sheet: Sheet, rid: pd.Series, kind: pd.Series,
                     all_blank) -> None:
    """Exclusions by how the record was read and by the participant code, in order."""
    id_col = t.context["respondent_id"]
    for i, reason in sheet.bad.items():
        mask = np.zeros(len(led), bool)
        mask[i] = True
        led.exclude(mask, reason, "")
    used = set(t.context.values()) | set(t.item_map)
    for i, cells in sheet.long_cells.items():
        hit = [(c, n) for c, n in cells if c in used]
        if hit:
            mask = np.zeros(len(led), bool)
            mask[i] = True
            led.exclude(mask, f"слишком длинное значение в столбце «{hit[0][0]}» ({hit[0][1]} "
                              "символов); строка не принята — проверьте эту ячейку", hit[0][0])
    no_id = is_empty(rid)
    led.exclude(all_blank & no_id, "пустая строка", "")
    led.exclude(no_id, "нет кода участника", id_col)
    led.exclude(kind.notna().to_numpy(),
                lambda i: f"в поле кода участника, похоже, {kind.iat[i]}: персональные данные в "
                          "анкету не вносятся; строка не принята, значение не сохранено — замените "
                          "его кодом, который присваивает школа", id_col)
    led.exclude((rid.str.len() > MAX_CODE).to_numpy(),
                f"слишком длинный код участника (больше {MAX_CODE} символов); строка не принята", id_col)
    led.exclude(rid.str.match(_EXPONENT).to_numpy(),
                "код участника в экспоненциальной записи (например 4,2E+11): Excel округлил "
                "длинный числовой код, и его уже не восстановить; выгрузите коды как текст", id_col)
    formula = np.isin(led.rows, list(sheet.formula_rows)) & all_blank
    led.exclude(formula, "ответы в строке — формулы без сохранённых значений; откройте книгу в "
                         "Excel, пересчитайте и сохраните", "")
    led.exclude(all_blank, "нет ни одного ответа на задания анкеты", "")


def _year_exclusions(t: _Table, led: RowLedger, year) -> None:
    led.exclude(t.years.isna().to_numpy(), "не удалось определить год обследования",
                t.context.get("date", t.context.get("year", "")))
    dates = _dates(t.df, t.context)
    if year is None or not dates.notna().any():
        return
    other = (dates.dt.year != int(year)) & dates.notna()
    if not other.any():
        return
    share = other.sum() / dates.notna().sum()
    whole = share >= 0.8
    col = t.context["date"]
    led.exclude(other.to_numpy(), lambda i: (
        f"строка датирована {int(dates.iat[i].year)} годом, как и почти весь файл: похоже, это "
        f"файл другого года ({int(dates.iat[i].year)} г.) среди выгрузок {int(year)} года — "
        f"перенесите его в папку {int(dates.iat[i].year)} года" if whole else
        f"строка датирована {int(dates.iat[i].year)} годом, а загружаются ответы {int(year)} года; "
        "перенесите строку в выгрузку своего года"), col)


def _context_exclusions(t: _Table, led: RowLedger, mo_lookup):
    """Grade, school and municipality exclusions; returns grade, school, municipality."""
    grade, as_date = parse_grade(t.col("grade"))
    raw_grade = t.col("grade")
    led.exclude((grade.isna() & as_date).to_numpy(),
                lambda i: f"класс записан как дата («{raw_grade.iat[i]}»): Excel превратил номер "
                          "класса в дату; задайте ячейкам формат «Текст» и впишите класс заново",
                t.context["grade"])
    led.exclude(grade.isna().to_numpy(), "класс не указан или не число от 1 до 11", t.context["grade"])
    school = t.col("school_id")
    led.exclude(is_empty(school), "не указана школа", t.context["school_id"])
    mo_raw = t.col("municipality")
    hits = {u: mo_lookup.get(normalize_text(u), (None, None)) for u in mo_raw.unique()}
    mo_code = mo_raw.map({u: h[0] for u, h in hits.items()})
    mo_name = mo_raw.map({u: h[1] for u, h in hits.items()})
    led.exclude(mo_code.isna().to_numpy(),
                lambda i: f"муниципалитет «{mo_raw.iat[i]}» не найден в справочнике Кузбасса; "
                          "укажите код MO01–MO34 или полное название", t.context["municipality"])
    return grade, school, mo_code, mo_name


def _sex(t: _Table, led: RowLedger, rid_safe, sheet: Sheet) -> pd.Series:
    """Sex as «м»/«ж» (SPSS value labels too); an unreadable cell is noted (its text hidden when
    it looks like personal data) and left empty."""
    sex_raw = t.col("sex")
    sex = sex_raw.str.lower().str.replace(".", "", regex=False).map(_SEX)
    vl = sheet.value_labels.get(t.context.get("sex", ""), {})
    if vl:
        lab = {str(int(k)) if float(k).is_integer() else str(k): normalize_text(v) for k, v in vl.items()}
        sex = sex_raw.map(lab).map(_SEX).fillna(sex)
    bad = (sex.isna() & ~pd.Series(is_empty(sex_raw), index=sex.index)).to_numpy()
    led.note(bad, t.context.get("sex"), mask_personal(sex_raw),
             "пол не распознан (ожидается «м» или «ж»); оставлен пустым", respondent_id=rid_safe)
    return sex


def _form_band(t: _Table, led: RowLedger, grade: pd.Series) -> pd.Series:
    """The band of each row; a file holding exactly one band's items is that band's form, and a
    grade outside it is excluded."""
    inst = t.inst
    present = set(t.item_map.values())
    exact = [b for b in inst.band_ids if set(inst.items_for(b)) == present]
    form_band = exact[0] if len(exact) == 1 else None
    band = grade.map({float(g): b for g, b in inst.grade_to_band.items()})
    if form_band is not None:
        grades = inst.band_by_id[form_band].grades
        wrong = grade.notna() & (band != form_band)
        led.exclude(wrong.to_numpy(), lambda i: f"класс {int(grade.iat[i])} не относится к форме для "
                                                f"{form_band} классов (классы {grades[0]}–{grades[-1]})",
                    t.context["grade"])
    return band


def _outside_form(t: _Table, led: RowLedger, band: pd.Series, items_df: pd.DataFrame, rid_safe):
    """Answers to items outside the respondent's form (noted, set empty), answered counts and
    straight-lining per row."""
    inst, n = t.inst, len(t.df)
    n_answered, n_form = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    straight = np.zeros(n, dtype=bool)
    item_ids = list(items_df.columns)
    for b in inst.band_ids:
        m = (band == b).to_numpy()
        if not m.any():
            continue
        form = list(inst.items_for(b))
        out_of_form = [i for i in item_ids if i not in form]
        if out_of_form:
            sub = items_df.loc[m, out_of_form]
            r, c = np.nonzero(sub.notna().to_numpy())
            pos = np.flatnonzero(m)[r]
            led.extend_issues(pd.DataFrame({
                "source_row": led.rows[pos], "respondent_id": rid_safe[pos],
                "column": np.asarray(out_of_form, dtype=object)[c],
                "value": [str(v) for v in sub.to_numpy()[r, c]],
                "reason": f"задание не входит в форму для {b} классов; ответ не засчитан"}))
            items_df.loc[m, out_of_form] = np.nan
        have = [i for i in form if i in items_df.columns]
        x = items_df.loc[m, have].to_numpy()
        n_answered[m] = np.sum(~np.isnan(x), axis=1)
        n_form[m] = len(form)
        with warnings.catch_warnings():  # rows without any answer: All-NaN slices, excluded below
            warnings.simplefilter("ignore", RuntimeWarning)
            same = (np.nanmax(x, axis=1) == np.nanmin(x, axis=1)) if x.size else np.zeros(m.sum(), bool)
        straight[m] = same & (n_answered[m] >= 10)
    return n_answered, n_form, straight


def _invalid_answers(t: _Table, led: RowLedger, item_cols, raw, valid, rid_safe) -> None:
    bad_i, bad_j = np.nonzero(~valid)
    if not len(bad_i):
        return
    scale_of = [t.inst.response_scale_of(t.item_map[h]) for h in item_cols]
    led.extend_issues(pd.DataFrame({
        "source_row": led.rows[bad_i], "respondent_id": rid_safe[bad_i],
        "column": np.asarray(item_cols, dtype=object)[bad_j],
        "value": mask_personal(pd.Series(raw[bad_i, bad_j], dtype=object)),
        "reason": [f"недопустимый ответ (допустимы коды {scale_of[j].min}–{scale_of[j].max} или их "
                   "подписи); ответ не засчитан" for j in bad_j]}))


def validate_sheet(sheet: Sheet, path: Path, inst_for, names, mo_lookup, year, min_share,
                   must_use: bool):
    """One sheet of answer sheets: ``(accepted, exclusions, issues)``, or None for a sheet without
    items (see the module docstring for the rules)."""
    label = sheet.label
    source = str(path) if label == path.name else f"{path} [{label.split('[', 1)[1][:-1]}]"
    df = sheet.frame.copy()
    df.columns = [str(c) for c in df.columns]
    sheet.frame = df
    t, header_only = _map_table(sheet, source, inst_for, names, year, must_use)
    if t is None:
        return None if header_only is None else (pd.DataFrame(), _empty_exclusions(), header_only)
    led = RowLedger(sheet.rows)
    item_cols = list(t.item_map)
    recode, sav_notes = _sav_recode(t, sheet, item_cols)
    led.extend_issues(pd.DataFrame(_file_notes(t, sheet) + sav_notes))
    rid = t.col("respondent_id").str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    kind = personal_kind(rid, code=True)
    rid_safe = rid.where(kind.isna() & (rid.str.len() <= MAX_CODE), None).to_numpy(dtype=object)
    item_cols, raw, values, valid = _answers(t, recode)
    all_blank = (np.isnan(values) & valid).all(axis=1)  # (NaN, valid) only for an empty cell
    _code_exclusions(t, led, sheet, rid, kind, all_blank)
    _year_exclusions(t, led, year)
    grade, school, mo_code, mo_name = _context_exclusions(t, led, mo_lookup)
    sex = _sex(t, led, rid_safe, sheet)
    band = _form_band(t, led, grade)
    _invalid_answers(t, led, item_cols, raw, valid, rid_safe)
    items_df = pd.DataFrame(values, columns=[t.item_map[h] for h in item_cols], index=df.index)
    n_answered, n_form, straight = _outside_form(t, led, band, items_df, rid_safe)
    few = (n_form > 0) & (n_answered < min_share * n_form)
    led.exclude(few, lambda i: f"слишком много пропусков: отвечено на {n_answered[i]} из {n_form[i]} "
                               "заданий формы", "")
    acc = _accepted(t, led, source, rid, school, mo_code, mo_name, grade, band, sex, n_answered,
                    straight, items_df, inst_for)
    exc = led.exclusions(source_file=source, respondent_id=rid_safe, school_id=school.to_numpy())
    exc = exc[["source_file", "source_row", "respondent_id", "school_id", "column", "reason"]]
    iss = led.issues(["source_row", "respondent_id", "column", "value", "reason"], kept_only=False)
    iss.insert(0, "source_file", source)
    row_school = pd.Series(school.to_numpy(), index=led.rows) if len(led.rows) else pd.Series(dtype=object)
    row_school = row_school[~row_school.index.duplicated()]
    iss.insert(3, "school_id", pd.to_numeric(iss["source_row"], errors="coerce").map(row_school))
    iss["source_row"] = iss["source_row"].astype("Int64")
    return acc, exc, iss


def _accepted(t, led, source, rid, school, mo_code, mo_name, grade, band, sex, n_answered,
              straight, items_df, inst_for) -> pd.DataFrame:
    versions = {int(y): inst_for(int(y)).version for y in t.years.dropna().unique()}
    acc = pd.DataFrame({
        "source_file": source, "source_row": led.rows, "respondent_id": rid.to_numpy(),
        "year": t.years.to_numpy(), "date": _dates(t.df, t.context).to_numpy(),
        "school_id": school.to_numpy(), "municipality_code": mo_code.to_numpy(),
        "municipality": mo_name.to_numpy(), "grade": grade.to_numpy(), "band": band.to_numpy(),
        "sex": sex.to_numpy(), "instrument_version": t.years.map(versions).to_numpy(),
        "n_answered": n_answered, "straightlining": straight})
    acc = pd.concat([acc, items_df.reset_index(drop=True)], axis=1).loc[led.kept].reset_index(drop=True)
    return acc.astype({"grade": int, "year": int, "instrument_version": int})


def _empty_exclusions() -> pd.DataFrame:
    return pd.DataFrame(columns=["source_file", "source_row", "respondent_id", "school_id", "column",
                                 "reason"])
