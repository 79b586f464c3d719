"""Numbered Russian tables, figure captions and text blocks for notes.

:func:`show_table` turns a DataFrame into a numbered HTML table («Таблица 1.
…») with Russian number formatting; the HTML is written by hand (not a pandas
Styler) so that it stays plain: pandoc reads it into a real Word table and
WeasyPrint lays it out for print. Suppressed cells (NaN in a row whose
``flag`` column says «скрыто», as the privacy step marks them) print as «—»
with a footnote mark and a footnote saying why; rows flagged «неточно» (a group of
10–29 students) get «°» after their first cell and a footnote saying the estimate is
imprecise.

Numbering is per note: create one :class:`Numbering` at the top of a notebook
and pass it to every call; there is no global counter.
"""
from __future__ import annotations

import datetime as _dt
import html as _html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..fmt import DASH, fmt_date, fmt_int, fmt_num, fmt_p, fmt_pct

SUPPRESSED_MARK = "*"
SUPPRESSED_NOTE = (
    "Значение скрыто: группа слишком мала, и по опубликованному значению можно было бы "
    "узнать ответы отдельных обучающихся."
)
IMPRECISE_MARK = "°"
IMPRECISE_NOTE = "группа из 10–29 обучающихся: оценка неточна."


@dataclass
class Numbering:
    """Counters of tables and figures of one note.

    Attributes
    ----------
    tables : int
        The number of the last table issued (0 before the first).
    figures : int
        The number of the last figure issued.

    Examples
    --------
    >>> n = Numbering()
    >>> n.next_table(), n.next_table(), n.next_figure()
    (1, 2, 1)
    """

    tables: int = 0
    figures: int = 0

    def next_table(self) -> int:
        """Issue the next table number."""
        self.tables += 1
        return self.tables

    def next_figure(self) -> int:
        """Issue the next figure number."""
        self.figures += 1
        return self.figures


@dataclass(frozen=True)
class Table:
    """A numbered table ready for display; Jupyter renders it as HTML.

    Attributes
    ----------
    number : int
        The table number in the note.
    caption : str
        The full caption, «Таблица N. …».
    frame : pandas.DataFrame
        The displayed cells as strings (the flag column removed).
    n_suppressed : int
        How many cells were shown as suppressed.
    html : str
        The HTML fragment.
    n_imprecise : int
        How many rows were marked imprecise («°»).
    """

    number: int
    caption: str
    frame: pd.DataFrame = field(repr=False)
    n_suppressed: int
    html: str = field(repr=False)
    n_imprecise: int = 0

    def _repr_html_(self) -> str:
        return self.html

    def to_frame(self) -> pd.DataFrame:
        """The displayed cells (strings) as a DataFrame."""
        return self.frame.copy()

    def summary(self) -> str:
        """A short Russian description."""
        return (f"{self.caption}: строк {fmt_int(len(self.frame))}, столбцов "
                f"{fmt_int(self.frame.shape[1])}, скрытых значений {fmt_int(self.n_suppressed)}.")


@dataclass(frozen=True)
class Caption:
    """A numbered figure caption («Рисунок N. …»); Jupyter renders it as HTML."""

    number: int
    text: str

    @property
    def html(self) -> str:
        """The HTML fragment (a div that pandoc maps to Word's «Image Caption» style)."""
        return (f'<div class="pd-figcaption" data-custom-style="Image Caption">'
                f"<p>{_html.escape(self.text)}</p></div>")

    def _repr_html_(self) -> str:
        return self.html

    def _repr_markdown_(self) -> str:
        return f"*{self.text}*"

    def __str__(self) -> str:
        return self.text


def _is_wide(shown: pd.DataFrame) -> bool:
    """More than 8 columns, or headers too long for A4 at the body size: set in smaller type."""
    return shown.shape[1] > 8 or sum(len(str(c)) for c in shown.columns) > 110


def _is_flagged(values: pd.Series, prefix: str = "скрыт") -> pd.Series:
    text = values.astype("string").str.strip().str.lower().fillna("")
    return text.str.startswith(prefix)


def _format_column(col: pd.Series, *, decimals: int, percent: bool, share: bool,
                   pvalue: bool, integer: bool) -> list[str]:
    if percent:
        return [fmt_pct(v, decimals, share=share) for v in col]
    if pvalue:
        return [fmt_p(v) for v in col]
    if pd.api.types.is_bool_dtype(col):
        return [DASH if pd.isna(v) else ("да" if v else "нет") for v in col]
    if integer or pd.api.types.is_integer_dtype(col):
        return [fmt_int(v) for v in col]
    if pd.api.types.is_numeric_dtype(col):
        return [fmt_num(v, decimals) for v in col]
    if pd.api.types.is_datetime64_any_dtype(col):
        return [DASH if pd.isna(v) else fmt_date(v.to_pydatetime()) for v in col]
    out = []
    for v in col:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(DASH)
        elif isinstance(v, (_dt.date, _dt.datetime)):
            out.append(fmt_date(v))
        elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            out.append(fmt_int(v))
        elif isinstance(v, (float, np.floating)):
            out.append(fmt_num(v, decimals))
        else:
            out.append(str(v))
    return out


def show_table(df: pd.DataFrame, caption: str, *, numbering: Numbering,
               note: str | None = None, decimals: int | Mapping[str, int] = 2,
               percent_cols: Iterable[str] = (), share: bool = False,
               p_cols: Iterable[str] = (), int_cols: Iterable[str] = (),
               flag_col: str = "flag", suppressed_note: str = SUPPRESSED_NOTE,
               imprecise_note: str = IMPRECISE_NOTE, index: bool | None = None) -> Table:
    """A numbered Russian table for a note.

    Parameters
    ----------
    df : pandas.DataFrame
        The table to show (values unrounded: rounding happens here).
    caption : str
        The caption text without the number; shown as «Таблица N. caption».
    numbering : Numbering
        The note's counters.
    note : str, optional
        A note printed under the table as «Примечание. …».
    decimals : int or mapping, default 2
        Decimals for non-integer numbers, one value or ``{column: decimals}``
        (columns not in the mapping get 2; percentage columns get 1 unless
        the mapping names them).
    percent_cols : iterable of str
        Columns holding percentages, shown as «12,3 %» (1 decimal unless
        ``decimals`` names the column).
    share : bool, default False
        ``percent_cols`` hold proportions (0–1) rather than percentages.
    p_cols : iterable of str
        Columns holding p-values («< 0,001», «0,034»).
    int_cols : iterable of str
        Columns to show as counts even if stored as floats (e.g. counts
        that became float because suppressed cells are NaN).
    flag_col : str, default "flag"
        The column marking suppressed rows (a value starting with «скрыт»)
        and imprecise ones (starting with «неточ»); it is not displayed. NaN
        cells of suppressed rows print as «—*» with a footnote; the first
        cell of an imprecise row gets «°» and a footnote.
    suppressed_note : str
        The footnote explaining suppression.
    imprecise_note : str
        The footnote explaining «°» (printed as «° — …»).
    index : bool, optional
        Show the index as the first column(s); by default only when it is
        not a plain 0..n-1 range.

    Returns
    -------
    Table
        Renders as HTML in Jupyter; ``to_frame()`` gives the formatted cells.

    Raises
    ------
    proforient_diag.errors.DataError
        If a named column is not in the table.
    """
    from ..errors import DataError

    if not isinstance(df, pd.DataFrame):
        raise DataError("Для таблицы нужен DataFrame (pandas).")
    data = df.copy()
    if index is None:
        index = not (isinstance(data.index, pd.RangeIndex) and data.index.start == 0
                     and data.index.step == 1)
    if index:
        data = data.reset_index()
    if isinstance(data.columns, pd.MultiIndex):
        data.columns = [" — ".join(str(p) for p in c if str(p)) for c in data.columns]
    data.columns = [str(c) for c in data.columns]

    percent_cols, p_cols, int_cols = list(percent_cols), list(p_cols), list(int_cols)
    dec_map = dict(decimals) if isinstance(decimals, Mapping) else {}
    for name in [*percent_cols, *p_cols, *int_cols, *dec_map]:
        if name not in data.columns:
            raise DataError(f"В таблице «{caption}» нет столбца «{name}».", column=name)

    if flag_col in data.columns:
        flagged = _is_flagged(data[flag_col]).to_numpy(dtype=bool)
        imprecise = _is_flagged(data[flag_col], "неточ").to_numpy(dtype=bool)
        data = data.drop(columns=flag_col)
    else:
        flagged = np.zeros(len(data), dtype=bool)
        imprecise = np.zeros(len(data), dtype=bool)

    cells = {}
    suppressed = pd.DataFrame(False, index=data.index, columns=data.columns)
    for name in data.columns:
        col = data[name]
        is_pct = name in percent_cols
        if name in dec_map:
            d = int(dec_map[name])
        elif is_pct:
            d = 1
        else:
            d = decimals if isinstance(decimals, int) else 2
        cells[name] = _format_column(col, decimals=d, percent=is_pct, share=share,
                                     pvalue=name in p_cols, integer=name in int_cols)
        suppressed[name] = col.isna().to_numpy() & flagged
    shown = pd.DataFrame(cells, index=data.index, columns=data.columns)
    n_suppressed = int(suppressed.to_numpy().sum())
    n_imprecise = int(imprecise.sum()) if shown.shape[1] else 0
    if n_imprecise:
        first = shown.columns[0]
        shown[first] = [v + IMPRECISE_MARK if m else v for v, m in zip(shown[first], imprecise)]

    number = numbering.next_table()
    full_caption = f"Таблица {number}. {caption}"
    numeric = {name: pd.api.types.is_numeric_dtype(data[name]) or name in percent_cols
               or name in p_cols for name in data.columns}

    def align(name):
        return ' style="text-align: right"' if numeric[name] else ""

    esc = _html.escape
    rows = []
    for i in range(len(shown)):
        tds = []
        for name in shown.columns:
            value = esc(shown[name].iat[i])
            if suppressed[name].iat[i]:
                value = f"{DASH}<sup>{SUPPRESSED_MARK}</sup>"
            tds.append(f"<td{align(name)}>{value}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    head = "".join(f"<th{align(name)}>{esc(name)}</th>" for name in shown.columns)
    parts = [
        '<div class="pd-table">',
        f'<table class="pd-table{" pd-wide" if _is_wide(shown) else ""}">',
        f"<caption>{esc(full_caption)}</caption>",
        f"<thead><tr>{head}</tr></thead>",
        "<tbody>" + "".join(rows) + "</tbody>",
        "</table>",
    ]
    if note:
        parts.append('<div class="pd-table-note" data-custom-style="Table Note">'
                     f"<p>Примечание. {esc(note)}</p></div>")
    if n_suppressed:
        parts.append('<div class="pd-table-note" data-custom-style="Table Note">'
                     f"<p><sup>{SUPPRESSED_MARK}</sup> {esc(suppressed_note)}</p></div>")
    if n_imprecise:
        parts.append('<div class="pd-table-note" data-custom-style="Table Note">'
                     f"<p>{IMPRECISE_MARK} — {esc(imprecise_note)}</p></div>")
    parts.append("</div>")
    frame = shown.mask(suppressed, DASH)
    return Table(number=number, caption=full_caption, frame=frame,
                 n_suppressed=n_suppressed, html="\n".join(parts), n_imprecise=n_imprecise)


def figure_caption(text: str, numbering: Numbering) -> Caption:
    """A numbered figure caption, «Рисунок N. text», shown under a figure.

    Parameters
    ----------
    text : str
        The caption without the number.
    numbering : Numbering
        The note's counters.

    Returns
    -------
    Caption
        Renders as HTML in Jupyter (Word style «Image Caption» in DOCX).
    """
    return Caption(number=(n := numbering.next_figure()), text=f"Рисунок {n}. {text}")


def show_text(markdown: str):
    """A paragraph of Markdown (conclusions, comments) shown as text in a note.

    Parameters
    ----------
    markdown : str
        Markdown text; numbers in it should already be formatted with
        :mod:`proforient_diag.fmt`.

    Returns
    -------
    IPython.display.Markdown
        Rendered as formatted text, without the code that produced it.
    """
    from IPython.display import Markdown

    return Markdown(markdown)
