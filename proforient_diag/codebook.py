"""Codebooks and paper data-entry templates derived from an instrument version.

Everything here is derived from the :class:`~proforient_diag.instrument.Instrument` (the single
source of truth): nothing about a particular instrument is written in Python.

* :func:`codebook` — a tidy table: one row per column of a band form's data file (the context
  columns, then the items in form order) with wording, scale, reverse key, response codes and
  labels, anchor flag and the filling rule.
* :func:`version_changes` — items added, removed or changed against the previous version.
* :func:`write_codebook` — the same as a Russian Markdown file and an XLSX workbook
  (``codebook_<id>_<version>.md`` / ``.xlsx``) for methodologists.
* :func:`write_templates` — one data-entry XLSX per band form (``template_<id>_<version>_<band>.xlsx``)
  for schools that collect on paper, with drop-down validations, a codebook sheet and an
  instruction sheet. A filled template reads back through
  :func:`proforient_diag.ingest.read_responses` without changes: the header row holds the context
  field names and the item ids that ingest recognises.

Workbooks are written with openpyxl directly (pandas' writer cannot add data validations,
comments, frozen panes and column widths in one pass).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .errors import DiagError
from .instrument import Instrument, ResponseScale, load_instrument, normalize_text
from .fmt import fmt_num
from .options import check_range

__all__ = ["CONTEXT_COLUMNS", "TEMPLATE_ROWS", "codebook", "version_changes", "write_codebook",
           "write_templates"]

#: The context columns of a data file: (field read by ingest, Russian name).
CONTEXT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("respondent_id", "Код участника"),
    ("school_id", "Школа"),
    ("municipality", "Муниципалитет"),
    ("grade", "Класс"),
    ("sex", "Пол"),
    ("year", "Год"),
)

#: Empty rows with validations in a data-entry template.
TEMPLATE_ROWS = 300

_YES, _NO = "да", "нет"

#: Russian headers of the codebook table (Markdown and XLSX).
_RU = {"band": "Параллель", "kind": "Тип", "column": "Столбец шаблона", "order": "№",
       "item": "Код", "scale": "Шкала", "scale_name": "Название шкалы",
       "text": "Формулировка / название", "reverse": "Обратное", "response_scale": "Шкала ответов",
       "codes": "Допустимые коды", "labels": "Подписи кодов", "anchor": "Якорь",
       "rule": "Правило заполнения"}

_CHANGE_RU = {"change": "Изменение", "item": "Код", "scale": "Шкала", "text": "Формулировка",
              "text_previous": "Прежняя формулировка", "bands": "Параллели",
              "bands_previous": "Прежние параллели"}


# -- helpers ----------------------------------------------------------------------------------

def _as_instrument(instrument) -> Instrument:
    if isinstance(instrument, Instrument):
        return instrument
    if isinstance(instrument, (str, Path)):
        return load_instrument(instrument)
    raise TypeError("instrument: ожидается Instrument, идентификатор инструмента или путь к YAML")


def _raw_doc(inst: Instrument) -> dict:
    """Fields of the YAML that the Instrument model does not carry (note, level rule, method)."""
    import yaml

    try:
        with open(inst.path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _previous(inst: Instrument) -> Instrument | None:
    if inst.previous_version is None:
        return None
    p = inst.path.parent / f"{int(inst.previous_version)}.yaml"
    return load_instrument(p) if p.exists() else None


def _next_version(inst: Instrument) -> int | None:
    later = sorted(int(p.stem) for p in inst.path.parent.glob("*.yaml")
                   if p.stem.isdigit() and int(p.stem) > inst.version)
    return later[0] if later else None


def _codes_text(rs: ResponseScale) -> str:
    return ", ".join(str(c) for c in rs.codes)


def _labels_text(rs: ResponseScale) -> str:
    return "; ".join(f"{c} — {rs.labels[c]}" for c in rs.codes)


def _grades_text(grades) -> str:
    return ", ".join(str(g) for g in grades)


def _num(x: float) -> str:
    return fmt_num(x, 0 if float(x).is_integer() else 1)


def _year_range(inst: Instrument) -> tuple[int, int | None]:
    nxt = _next_version(inst)
    return inst.version, (None if nxt is None else nxt - 1)


def _context_rows(inst: Instrument, band: str) -> list[dict]:
    b = inst.band_by_id[band]
    mo = _municipalities()
    first, last = _year_range(inst)
    years = (f"{first}–{last}" if last is not None and last != first
             else str(first) if last is not None else f"{first} и позже")
    spec = {
        "respondent_id": ("", "", "Обязательно. Обезличенный код, который школа присвоила ученику "
                          "(буквы и цифры); одна строка — одна анкета, код не повторяется в течение "
                          "года. Фамилию, имя, дату рождения не писать."),
        "school_id": ("", "", "Обязательно. Код образовательной организации."),
        "municipality": (f"{mo['code'].iloc[0]}–{mo['code'].iloc[-1]}", "",
                         f"Обязательно. Код муниципального образования Кузбасса по справочнику "
                         f"(всего {len(mo)}) или его полное название."),
        "grade": (_grades_text(b.grades), "",
                  f"Обязательно. Класс ученика числом: {_grades_text(b.grades)} (форма для "
                  f"{band} классов); анкета ученика другого класса не будет принята."),
        "sex": ("м, ж", "м — мужской; ж — женский", "Необязательно. «м» или «ж»."),
        "year": (years, "", f"Год обследования, четыре цифры ({years}: годы действия версии "
                             f"{inst.version})."),
    }
    rows = []
    for k, (field, name) in enumerate(CONTEXT_COLUMNS, start=1):
        codes, labels, rule = spec[field]
        rows.append({"band": band, "kind": "context", "column": k, "order": pd.NA, "item": field,
                     "scale": None, "scale_name": None, "text": name, "reverse": None,
                     "response_scale": None, "codes": codes or None, "labels": labels or None,
                     "anchor": None, "rule": rule})
    return rows


def _municipalities() -> pd.DataFrame:
    from .region import municipalities

    return municipalities()


# -- the tidy tables --------------------------------------------------------------------------

def codebook(instrument: Instrument) -> pd.DataFrame:
    """The codebook of an instrument version as a tidy table.

    One row per column of a band form's data file: first the context columns
    (:data:`CONTEXT_COLUMNS`), then the form's items in instrument order, for every band.

    Parameters
    ----------
    instrument : Instrument
        A loaded version (``load_instrument("psd", 2026)``); an instrument id or YAML path is
        loaded.

    Returns
    -------
    DataFrame
        ``band``; ``kind`` (``context`` or ``item``); ``column`` (1-based column in the band's
        data-entry template); ``order`` (item number in the form, missing for context rows);
        ``item`` (item id, or the context field name); ``scale`` and ``scale_name``; ``text``
        (wording, or the Russian name of a context column); ``reverse`` («да»/«нет»);
        ``response_scale`` (id); ``codes`` (allowed codes as text, e.g. ``1, 2, 3, 4, 5``);
        ``labels`` (``1 — Совершенно не согласен; …``); ``anchor`` («да» when the item is an
        anchor of this version: shared unchanged with the previous one); ``rule`` (how to fill
        the column, in Russian).

    Examples
    --------
    >>> from proforient_diag.instrument import load_instrument
    >>> cb = codebook(load_instrument("psd", 2026))
    >>> cb.query("band == '5-7' and item == 'MOT04'")[["reverse", "anchor"]].iloc[0].tolist()
    ['да', 'да']
    """
    inst = _as_instrument(instrument)
    anchors = set(inst.anchors)
    rows: list[dict] = []
    for b in inst.band_ids:
        rows.extend(_context_rows(inst, b))
        n_ctx = len(CONTEXT_COLUMNS)
        for k, iid in enumerate(inst.items_for(b), start=1):
            it = inst.item_by_id[iid]
            rs = inst.response_scale_of(iid, b)
            rule = f"Код ответа {rs.min}–{rs.max}; пустая ячейка — нет ответа."
            if it.reverse:
                rule += (f" Обратное задание: при подсчёте код заменяется на "
                         f"{rs.min + rs.max} − код.")
            rows.append({"band": b, "kind": "item", "column": n_ctx + k, "order": k, "item": iid,
                         "scale": it.scale, "scale_name": inst.scale_by_id[it.scale].name,
                         "text": it.text, "reverse": _YES if it.reverse else _NO,
                         "response_scale": rs.id, "codes": _codes_text(rs),
                         "labels": _labels_text(rs), "anchor": _YES if iid in anchors else _NO,
                         "rule": rule})
    out = pd.DataFrame(rows, columns=list(_RU))
    out["column"] = out["column"].astype(int)
    out["order"] = out["order"].astype("Int64")
    return out


def version_changes(instrument: Instrument, previous: Instrument | None = None) -> pd.DataFrame:
    """Items added, removed or changed against the previous version.

    Parameters
    ----------
    instrument : Instrument
        The version to describe.
    previous : Instrument, optional
        The version to compare with; default ``instrument.previous_version`` from the same folder.

    Returns
    -------
    DataFrame
        ``change`` (Russian: «добавлено», «исключено», «изменена формулировка», «изменены
        параллели», «изменён ключ», «изменена шкала»), ``item``, ``scale``, ``text``,
        ``text_previous``, ``bands``, ``bands_previous``. Empty for a first version.
    """
    inst = _as_instrument(instrument)
    prev = previous if previous is not None else _previous(inst)
    cols = list(_CHANGE_RU)
    if prev is None:
        return pd.DataFrame(columns=cols)
    rows = []

    def bands(it):
        return ", ".join(it.bands)

    for it in inst.items:
        old = prev.item_by_id.get(it.id)
        base = {"item": it.id, "scale": it.scale, "text": it.text, "bands": bands(it)}
        if old is None:
            rows.append({"change": "добавлено", **base, "text_previous": None, "bands_previous": None})
            continue
        both = {**base, "text_previous": old.text, "bands_previous": bands(old)}
        if normalize_text(old.text) != normalize_text(it.text):
            rows.append({"change": "изменена формулировка", **both})
        if old.bands != it.bands:
            rows.append({"change": "изменены параллели", **both})
        if old.reverse != it.reverse:
            rows.append({"change": "изменён ключ", **both})
        if old.scale != it.scale:
            rows.append({"change": "изменена шкала", **both})
    for old in prev.items:
        if old.id not in inst.item_by_id:
            rows.append({"change": "исключено", "item": old.id, "scale": old.scale, "text": None,
                         "text_previous": old.text, "bands": None, "bands_previous": bands(old)})
    return pd.DataFrame(rows, columns=cols)


def _scales_frame(inst: Instrument) -> pd.DataFrame:
    """Tidy: scale, scale_name, band, n_items, min_answered (only bands where the scale has items)."""
    rows = []
    for s in inst.scales:
        for b in inst.band_ids:
            n = len(inst.items_for(b, s.id))
            if n:
                rows.append({"scale": s.id, "scale_name": s.name, "band": b, "n_items": n,
                             "min_answered": int(s.min_answered.get(b, 1))})
    return pd.DataFrame(rows, columns=["scale", "scale_name", "band", "n_items", "min_answered"])


def _metric_name(inst: Instrument) -> str:
    m = inst.levels.metric
    if m in inst.scale_by_id:
        return inst.scale_by_id[m].name
    return inst.total_name


def _levels_frame(inst: Instrument) -> pd.DataFrame:
    """Tidy: band, level, lower (inclusive), upper (exclusive), range (Russian text)."""
    rows = []
    labels = inst.levels.labels
    for b in inst.band_ids:
        cuts = inst.levels.cuts[b]
        for k, lab in enumerate(labels):
            lo = cuts[k - 1] if k > 0 else None
            hi = cuts[k] if k < len(cuts) else None
            if lo is None:
                rng = f"меньше {_num(hi)}"
            elif hi is None:
                rng = f"{_num(lo)} и выше"
            else:
                rng = f"от {_num(lo)} до {_num(hi)} (не включая {_num(hi)})"
            rows.append({"band": b, "level": lab, "lower": lo, "upper": hi, "range": rng})
    return pd.DataFrame(rows, columns=["band", "level", "lower", "upper", "range"])


# -- Markdown ---------------------------------------------------------------------------------

def _md_cell(x) -> str:
    if x is None or (not isinstance(x, str) and pd.isna(x)):
        return "—"
    return str(x).replace("|", "\\|").replace("\n", " ")


def _md_table(df: pd.DataFrame) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(c) for c in df.columns) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_md_cell(v) for v in row) + " |")
    return lines


def _markdown(inst: Instrument, cb: pd.DataFrame, ch: pd.DataFrame, doc: dict) -> str:
    prev_v = inst.previous_version
    L: list[str] = [f"# Кодбук: {inst.title}", ""]
    L.append(f"**Инструмент:** `{inst.id}` · **версия:** {inst.version}"
             + (f" (предыдущая — {prev_v})" if prev_v is not None else " (первая версия)")
             + f" · **заданий в банке:** {len(inst.items)}")
    L.append("")
    if inst.demo:
        note = doc.get("note") or ("Демонстрационный банк заданий; региональный институт заменяет "
                                   "его собственным.")
        L += [f"> **Демонстрационная версия.** {note}", ""]

    L += ["## Шкалы ответов", ""]
    for rs in inst.response_scales.values():
        used = [b.id for b in inst.bands
                if any(inst.response_scale_of(i, b.id).id == rs.id for i in inst.items_for(b.id))]
        L.append(f"**{rs.name}** (`{rs.id}`; параллели: {', '.join(used) or '—'}): "
                 f"{_labels_text(rs)}.")
        L.append("")

    L += ["## Контекстные столбцы", "",
          "Каждая строка файла — анкета одного ученика. Перед заданиями идут столбцы:", ""]
    ctx = cb[(cb["kind"] == "context") & (cb["band"] == inst.band_ids[-1])]
    ctx = ctx.assign(rule=[r if f != "grade" else "Обязательно. Класс ученика числом; только "
                           "классы своей формы (см. ниже)." for f, r in zip(ctx["item"], ctx["rule"])])
    L += _md_table(ctx[["item", "text", "rule"]].rename(
        columns={"item": "Столбец", "text": "Название", "rule": "Правило"}))
    L.append("")

    L += ["## Формы по параллелям", ""]
    for b in inst.bands:
        sub = cb[(cb["band"] == b.id) & (cb["kind"] == "item")]
        rs_ids = sorted(set(sub["response_scale"]))
        rs_names = ", ".join(inst.response_scales[r].name for r in rs_ids)
        L += [f"### Форма для {b.id} классов", "",
              f"{b.name}. Классы: {_grades_text(b.grades)}. Заданий: {len(sub)}. "
              f"Шкала ответов: {rs_names}."
              + (" Результаты сообщаются только по группе (классу, школе), не по ученику."
                 if b.reporting == "group" else ""), ""]
        t = sub[["order", "item", "text", "scale", "reverse", "anchor"]].rename(columns={
            "order": "№", "item": "Код", "text": "Формулировка", "scale": "Шкала",
            "reverse": "Обратное", "anchor": "Якорь"})
        L += _md_table(t)
        L.append("")

    L += ["## Шкалы и минимум ответов", "",
          "Балл шкалы считается, если ответов на её задания не меньше указанного числа "
          "(«3 из 5» — нужно 3 ответа из 5 заданий шкалы в форме); иначе балл не считается.", ""]
    sc = _scales_frame(inst)
    wide = pd.DataFrame({"Код": [s.id for s in inst.scales], "Шкала": [s.name for s in inst.scales]})
    for b in inst.band_ids:
        s = sc[sc["band"] == b].set_index("scale")
        wide[f"{b} кл."] = [f"{s.loc[x, 'min_answered']} из {s.loc[x, 'n_items']}" if x in s.index
                            else "—" for x in wide["Код"]]
    L += _md_table(wide)
    L.append("")
    method = (doc.get("total") or {}).get("method")
    if method:
        L += [f"{inst.total_name}: {str(method)[0].lower() + str(method)[1:]}.", ""]

    L += ["## Уровни", "",
          f"Уровень определяется по показателю «{_metric_name(inst)}» по фиксированным порогам "
          "этой версии (а не по выборке года)"
          + (f"; {(doc.get('levels') or {}).get('rule')}" if (doc.get("levels") or {}).get("rule") else "")
          + ".", ""]
    lv = _levels_frame(inst)
    wide = lv.pivot(index="band", columns="level", values="range").reindex(
        index=inst.band_ids, columns=list(inst.levels.labels)).reset_index()
    wide = wide.rename(columns={"band": "Параллель"})
    wide.columns.name = None
    L += _md_table(wide)
    L.append("")

    title = (f"## Якорные задания и изменения по сравнению с версией {prev_v}" if prev_v is not None
             else "## Якорные задания и изменения")
    L += [title, ""]
    if prev_v is None:
        L += ["Это первая версия инструмента: якорных заданий и изменений нет.", ""]
        return "\n".join(L)
    anc = list(inst.anchors)
    L += [f"**Якорные задания** (без изменений перенесены из версии {prev_v}; по ним версии "
          f"связываются между собой): {len(anc)} — " + (", ".join(anc) if anc else "нет") + ".", ""]
    added = ch[ch["change"] == "добавлено"]
    removed = ch[ch["change"] == "исключено"]
    other = ch[~ch["change"].isin(["добавлено", "исключено"])]
    L += ["### Добавлены", ""]
    L += (_md_table(added[["item", "text", "scale", "bands"]].rename(columns={
        "item": "Код", "text": "Формулировка", "scale": "Шкала", "bands": "Параллели"}))
          if len(added) else ["Нет."])
    L += ["", "### Исключены", ""]
    L += (_md_table(removed[["item", "text_previous", "scale", "bands_previous"]].rename(columns={
        "item": "Код", "text_previous": "Формулировка", "scale": "Шкала",
        "bands_previous": "Параллели"})) if len(removed) else ["Нет."])
    if len(other):
        L += ["", "### Изменены", ""]
        L += _md_table(other.rename(columns=_CHANGE_RU))
    L.append("")
    return "\n".join(L)


# -- XLSX -------------------------------------------------------------------------------------

def _cell_value(v):
    if v is None:
        return None
    if not isinstance(v, str) and pd.isna(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _write_frame(ws, df: pd.DataFrame, *, max_width: int = 70) -> None:
    """A table with a bold frozen header row, an autofilter and readable widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    ws.append([str(c) for c in df.columns])
    for c in ws[1]:
        c.font = bold
        c.fill = fill
        c.alignment = Alignment(vertical="top", wrap_text=True)
    for row in df.itertuples(index=False):
        ws.append([_cell_value(v) for v in row])
    for j, col in enumerate(df.columns, start=1):
        lengths = [len(str(col))] + [len(str(v)) for v in df.iloc[:, j - 1] if _cell_value(v) is not None]
        width = min(max(lengths) + 2, max_width)
        ws.column_dimensions[get_column_letter(j)].width = max(width, 6)
        if max(lengths) + 2 > max_width:
            for r in range(2, len(df) + 2):
                ws.cell(row=r, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if len(df.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{len(df) + 1}"


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", "_", name)[:31]


def _file_part(s: str) -> str:
    return re.sub(r"[^\w.-]+", "_", str(s))


def _out_dir(out_dir) -> Path:
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DiagError("это файл, а не папка; укажите папку для результатов.", file=out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_codebook(instrument: Instrument, out_dir: str | Path) -> list[Path]:
    """Write the codebook as Russian Markdown and XLSX.

    Parameters
    ----------
    instrument : Instrument
        A loaded version (or an instrument id / YAML path).
    out_dir : path
        Folder for the files; created if missing.

    Returns
    -------
    list of Path
        ``codebook_<id>_<version>.md`` and ``codebook_<id>_<version>.xlsx``. The Markdown has the
        title, version, demo note, response scales, context columns, per band form a table of
        items, scales with their minimum answered items, level cut scores per band, anchors and
        the items added, removed or changed since the previous version. The workbook has one
        sheet per band form («Форма 5-7», …) and «Шкалы», «Уровни», «Изменения».
    """
    from openpyxl import Workbook

    inst = _as_instrument(instrument)
    out = _out_dir(out_dir)
    cb = codebook(inst)
    ch = version_changes(inst)
    doc = _raw_doc(inst)
    stem = f"codebook_{_file_part(inst.id)}_{inst.version}"

    md_path = out / f"{stem}.md"
    md_path.write_text(_markdown(inst, cb, ch, doc), encoding="utf-8")

    wb = Workbook()
    wb.remove(wb.active)
    for b in inst.band_ids:
        sub = cb[cb["band"] == b].drop(columns=["band"]).assign(
            kind=lambda d: d["kind"].map({"context": "контекст", "item": "задание"}))
        _write_frame(wb.create_sheet(_sheet_title(f"Форма {b}")), sub.rename(columns=_RU))
    sc = _scales_frame(inst).rename(columns={"scale": "Код", "scale_name": "Шкала", "band": "Параллель",
                                             "n_items": "Заданий в форме",
                                             "min_answered": "Минимум ответов"})
    _write_frame(wb.create_sheet("Шкалы"), sc)
    lv = _levels_frame(inst).assign(metric=_metric_name(inst)).rename(columns={
        "band": "Параллель", "level": "Уровень", "lower": "От (включительно)",
        "upper": "До (не включая)", "range": "Диапазон", "metric": "Показатель"})
    _write_frame(wb.create_sheet("Уровни"), lv)
    if inst.previous_version is None:
        ch_out = pd.DataFrame({"Изменение": ["Первая версия инструмента: сравнивать не с чем."]})
    else:
        anchors = pd.DataFrame({"change": "якорь (без изменений)", "item": list(inst.anchors),
                                "scale": [inst.item_by_id[a].scale for a in inst.anchors],
                                "text": [inst.item_by_id[a].text for a in inst.anchors],
                                "bands": [", ".join(inst.item_by_id[a].bands) for a in inst.anchors]})
        ch_out = pd.concat([ch, anchors], ignore_index=True)[list(_CHANGE_RU)].rename(columns=_CHANGE_RU)
    _write_frame(wb.create_sheet("Изменения"), ch_out)
    xlsx_path = out / f"{stem}.xlsx"
    wb.save(xlsx_path)
    return [md_path, xlsx_path]


# -- data-entry templates ---------------------------------------------------------------------

def _ranges(columns: list[int], first_row: int, last_row: int) -> str:
    """Contiguous runs of column numbers as an openpyxl sqref string."""
    from openpyxl.utils import get_column_letter

    cols = sorted(columns)
    runs, start, prev = [], cols[0], cols[0]
    for c in cols[1:] + [None]:
        if c is not None and c == prev + 1:
            prev = c
            continue
        a, z = get_column_letter(start), get_column_letter(prev)
        runs.append(f"{a}{first_row}:{z}{last_row}")
        if c is not None:
            start = prev = c
    return " ".join(runs)


def _instruction_lines(inst: Instrument, band: str, n_items: int) -> list[str]:
    b = inst.band_by_id[band]
    first, last = _year_range(inst)
    return [
        f"Инструкция по заполнению: {inst.title}, версия {inst.version}, форма для {band} классов",
        "",
        "1. Данные вносятся на лист «Анкета»: одна строка — одна анкета одного ученика. Первую "
        "строку (заголовки) не изменяйте, столбцы не переставляйте, не удаляйте и не добавляйте.",
        "2. Фамилии, имена, даты рождения и другие личные данные НЕ вписывайте. В столбец "
        "respondent_id пишите только обезличенный код участника, который школа присвоила ученику "
        "(один код — одна анкета за год).",
        "3. school_id — код вашей образовательной организации; municipality — код муниципального "
        "образования из списка ниже (выбирается из раскрывающегося списка).",
        f"4. grade — класс ученика числом: {_grades_text(b.grades)}. Анкеты учеников других классов "
        "заполняются в шаблоне своей формы.",
        "5. sex — «м» или «ж» (можно оставить пустым).",
        f"6. year — год обследования, четыре цифры ({first}"
        + (f"–{last}" if last is not None and last != first else "" if last is not None else " и позже")
        + ").",
        f"7. Далее {n_items} столбцов с кодами заданий (текст задания — в примечании к заголовку и "
        "на листе «Кодбук»). В ячейку вписывайте код ответа ученика (цифру), а не слова. Если "
        "ученик не ответил на задание, оставьте ячейку пустой.",
        "8. Ячейки проверяют ввод: недопустимое значение Excel не примет и покажет подсказку.",
        "9. Анкета, в которой отвечено меньше чем на половину заданий, в обработку не попадёт.",
        "10. Сохраните файл в формате .xlsx, не меняя листов, и передайте его координатору.",
        "",
        "Коды муниципальных образований Кузбасса:",
    ]


def write_templates(instrument: Instrument, out_dir: str | Path, *,
                    rows: int = TEMPLATE_ROWS) -> list[Path]:
    """Write one data-entry XLSX per band form for schools that collect on paper.

    Each workbook ``template_<id>_<version>_<band>.xlsx`` has three sheets:

    * «Анкета» — header row 1 holds the context fields (``respondent_id``, ``school_id``,
      ``municipality``, ``grade``, ``sex``, ``year``) then the band's item ids, each header with
      a cell comment (the wording, or the filling rule). ``rows`` empty rows carry drop-down
      validations with Russian error messages: item cells accept only the response scale's
      codes, ``grade`` only the band's grades, ``sex`` «м»/«ж», ``municipality`` the 34 codes,
      ``year`` the years this version is in force, ``respondent_id`` no repeats.
    * «Кодбук» — the band's columns with wording, allowed codes and their labels.
    * «Инструкция» — how to fill it in, in Russian, with the municipality codes.

    A filled template reads back unchanged with
    ``read_responses(path, instrument, year=...)``.

    Parameters
    ----------
    instrument : Instrument
        A loaded version (or an instrument id / YAML path).
    out_dir : path
        Folder for the files; created if missing.
    rows : int
        Number of rows with validations (default :data:`TEMPLATE_ROWS`).

    Returns
    -------
    list of Path
        One file per band form, in band order.
    """
    from openpyxl import Workbook

    check_range("rows", rows, low=1, integer=True)
    inst = _as_instrument(instrument)
    out = _out_dir(out_dir)
    cb = codebook(inst)
    mo = _municipalities()
    paths: list[Path] = []
    for b in inst.band_ids:
        sub = cb[cb["band"] == b]
        wb = Workbook()
        ws = wb.active
        ws.title = "Анкета"
        col_of = _template_header(ws, sub)
        _template_validations(ws, inst, b, sub[sub["kind"] == "item"], col_of, 2, rows + 1, mo)
        _template_codebook(wb, sub)
        _template_instruction(wb, inst, b, int((sub["kind"] == "item").sum()), mo)
        path = out / f"template_{_file_part(inst.id)}_{inst.version}_{_file_part(b)}.xlsx"
        wb.save(path)
        paths.append(path)
    return paths


def _template_header(ws, sub: pd.DataFrame) -> dict:
    """Header row 1 with a comment per column; returns the column of each context field."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    fill_ctx = PatternFill("solid", fgColor="FFF2CC")
    fill_item = PatternFill("solid", fgColor="DDEBF7")
    for r in sub.itertuples(index=False):
        cell = ws.cell(row=1, column=int(r.column), value=r.item)
        cell.font = bold
        cell.alignment = Alignment(horizontal="center")
        if r.kind == "context":
            cell.fill = fill_ctx
            text = f"{r.text}. {r.rule}"
            width = {"respondent_id": 16, "school_id": 12, "municipality": 15}.get(r.item, 8)
        else:
            cell.fill = fill_item
            text = (f"{r.item}. {r.text}\nШкала: {r.scale_name}\nОтветы: {r.labels}")
            width = max(8, len(r.item) + 2)
        cm = Comment(text, "proforient-diag")
        cm.width, cm.height = 320, 140
        cell.comment = cm
        ws.column_dimensions[get_column_letter(int(r.column))].width = width
    ctx = sub[sub["kind"] == "context"]
    col_of = dict(zip(ctx["item"], ctx["column"].astype(int)))
    for field in ("respondent_id", "school_id"):  # codes kept as text (leading zeros)
        ws.column_dimensions[get_column_letter(col_of[field])].number_format = "@"
    ws.freeze_panes = "B2"
    return col_of


def _dv_list(values: list[str], title: str, message: str):
    from openpyxl.worksheet.datavalidation import DataValidation
    dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                        showErrorMessage=True, errorStyle="stop")
    dv.errorTitle, dv.error = title[:32], message[:255]
    return dv


def _template_validations(ws, inst: Instrument, b: str, items: pd.DataFrame, col_of: dict,
                          first_row: int, last_row: int, mo: pd.DataFrame) -> None:
    """Drop-down and range validations of the answer sheet, with Russian error messages."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    def rng(col: int) -> str:
        L = get_column_letter(col)
        return f"{L}{first_row}:{L}{last_row}"

    band = inst.band_by_id[b]
    by_rs: dict[str, list[int]] = {}
    for iid, col in zip(items["item"], items["column"].astype(int)):
        by_rs.setdefault(inst.response_scale_of(iid, b).id, []).append(col)
    dvs = []
    for rs_id, cols in by_rs.items():
        rs = inst.response_scales[rs_id]
        dv = _dv_list([str(c) for c in rs.codes], "Недопустимый ответ",
                      f"Введите код ответа от {rs.min} до {rs.max} ({_labels_text(rs)}) или "
                      "оставьте ячейку пустой, если ученик не ответил.")
        dv.add(_ranges(cols, first_row, last_row))
        dvs.append(dv)
    for field, dv in (
            ("grade", _dv_list([str(g) for g in band.grades], "Недопустимый класс",
                               f"В этой форме только классы {_grades_text(band.grades)}. Анкеты "
                               "других классов вносятся в шаблон своей формы.")),
            ("sex", _dv_list(["м", "ж"], "Недопустимое значение",
                             "Пол: «м» или «ж» (или пустая ячейка).")),
            ("municipality", _dv_list(list(mo["code"]), "Неизвестный муниципалитет",
                                      "Выберите код муниципального образования из списка (коды — "
                                      "на листе «Инструкция»)."))):
        dv.add(rng(col_of[field]))
        dvs.append(dv)
    y0, y1 = _year_range(inst)
    dv = DataValidation(type="whole", operator="between", formula1=str(y0),
                        formula2=str(y1 if y1 is not None else 2100), allow_blank=True,
                        showErrorMessage=True, errorStyle="stop")
    dv.errorTitle = "Недопустимый год"
    dv.error = (f"Год обследования — четыре цифры, от {y0}"
                + (f" до {y1}" if y1 is not None else "") + f" (годы действия версии {inst.version}).")
    dv.add(rng(col_of["year"]))
    dvs.append(dv)
    L = get_column_letter(col_of["respondent_id"])
    dv = DataValidation(type="custom", allow_blank=True, showErrorMessage=True, errorStyle="stop",
                        formula1=f"COUNTIF(${L}${first_row}:${L}${last_row},{L}{first_row})=1")
    dv.errorTitle = "Код участника повторяется"
    dv.error = ("Такой код участника уже есть в файле: одна строка — одна анкета одного ученика. "
                "Фамилии и имена не вписывайте.")
    dv.add(rng(col_of["respondent_id"]))
    dvs.append(dv)
    for dv in dvs:
        ws.add_data_validation(dv)


def _template_codebook(wb, sub: pd.DataFrame) -> None:
    """Sheet «Кодбук»: the band's columns with wording, allowed codes and their labels."""
    from openpyxl.utils import get_column_letter
    kb = sub.assign(letter=[get_column_letter(int(c)) for c in sub["column"]])
    kb = kb[["letter", "item", "text", "scale_name", "codes", "labels", "rule"]].rename(columns={
        "letter": "Столбец", "item": "Код задания / поле", "text": "Формулировка / название",
        "scale_name": "Шкала", "codes": "Допустимые значения", "labels": "Подписи кодов",
        "rule": "Правило"})
    _write_frame(wb.create_sheet("Кодбук"), kb, max_width=60)


def _template_instruction(wb, inst: Instrument, b: str, n_items: int, mo: pd.DataFrame) -> None:
    """Sheet «Инструкция»: how to fill the form in, with the municipality codes."""
    from openpyxl.styles import Alignment, Font
    wi = wb.create_sheet("Инструкция")
    lines = _instruction_lines(inst, b, n_items)
    for k, line in enumerate(lines, start=1):
        c = wi.cell(row=k, column=1, value=line or None)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    wi.cell(row=1, column=1).font = Font(bold=True, size=12)
    for k, (code, name) in enumerate(zip(mo["code"], mo["name"]), start=len(lines) + 1):
        wi.cell(row=k, column=1, value=f"{code} — {name}")
    wi.column_dimensions["A"].width = 110
    if inst.demo:
        wi.cell(row=len(lines) + len(mo) + 2, column=1,
                value="Демонстрационная версия инструмента: банк заданий будет заменён.")
