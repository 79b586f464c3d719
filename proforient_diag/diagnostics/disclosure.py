"""Disclosure control of the annual note: the hidden groups decided once, applied to every table.

A note has **one** set of hidden groups (:class:`HiddenGroups`): the bands hidden in the coverage
table (primary and complementary suppression against «Всего»), the sexes and areas hidden the same
way, and the municipalities hidden in the municipal coverage table. :func:`publish` is the one
place where the analysis's tables are made publishable: each table has a :class:`Rule` (which
column counts the students a row describes, which rows are totals, which partition a hidden group
belongs to, which p-values are re-adjusted over the rows shown); a row of a group hidden anywhere
is hidden in every table, any row describing fewer than ``threshold`` students is hidden, and
adjusted p-values and verdicts are computed over the rows shown. So no table undoes the
complementary suppression of another, and no sentence is written about a hidden group.

Own code, and why: the suppression itself is :func:`proforient_diag.privacy.suppress`; this module
only says, per table, what is a total and what is forced hidden.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from ..compare import ADJUST_METHODS, adjust_p
from ..options import options
from ..privacy import FLAG_HIDDEN, assert_publishable, suppress
from .labels import BAND_ORDER

__all__ = ["HiddenGroups", "decide_hidden", "YearHidden", "year_hidden", "hide", "readjust",
           "shown", "publish", "Rule",
           "RULES", "change_verdict", "region_verdict"]


@dataclass(frozen=True)
class HiddenGroups:
    """The groups of the note's year hidden in every table.

    Attributes
    ----------
    band, sex, area, municipality : frozenset of str
    """

    band: frozenset = frozenset()
    sex: frozenset = frozenset()
    area: frozenset = frozenset()
    municipality: frozenset = frozenset()

    def of(self, by: str) -> frozenset:
        """The hidden values of a partition («band», «sex», «area», «municipality»)."""
        return getattr(self, by, frozenset())


@dataclass(frozen=True)
class YearHidden:
    """What the year's whole published set hides (every note of the year decides the same).

    Attributes
    ----------
    withheld : frozenset of str
        Municipalities none of whose students' figures are published in any note: fewer than
        the threshold, or hidden to protect another (their own note says so and shows only the
        region).
    cells : dict
        ``{"band" | "sex" | "area": frozenset of (municipality_code, value)}``: a municipality's
        group hidden in its own note, decided by suppression of the municipality × group table
        against both margins (the municipality's total in its note, the group's total in the
        regional note), so that no group is recoverable by subtracting one note from another.
    """

    withheld: frozenset = frozenset()
    cells: dict = field(default_factory=dict)

    def of(self, municipality: str, by: str) -> frozenset:
        return frozenset(v for m, v in self.cells.get(by, ()) if m == municipality)


def year_hidden(cur_region: pd.DataFrame, coverage_region: pd.DataFrame,
                threshold: int) -> YearHidden:
    """The year's hidden municipalities and municipal groups (see :class:`YearHidden`)."""
    withheld = set()
    if len(coverage_region):
        cm = coverage_region
        withheld = set(cm.loc[cm["flag"] == FLAG_HIDDEN, "municipality_code"])
    cells: dict = {}
    for _ in range(5):   # a municipality withheld by one partition hides its cells in the others
        before = set(withheld)
        for by in ("band", "sex", "area"):
            if by in cur_region:
                cells[by], lone = _two_way(cur_region, by, withheld, threshold)
                withheld |= lone
        if withheld == before:
            break
    return YearHidden(frozenset(withheld), {k: frozenset(v) for k, v in cells.items()})


def _two_way(cur: pd.DataFrame, by: str, withheld: set, threshold: int):
    """Suppression of the municipality × ``by`` count table with both margins as totals."""
    d = cur[cur[by].notna()]
    t = d.groupby(["municipality_code", d[by].astype(object)]).size().rename("n").reset_index()
    t.columns = ["municipality_code", "value", "n"]
    m_tot = t.groupby("municipality_code", as_index=False)["n"].sum().assign(value="Всего")
    v_tot = t.groupby("value", as_index=False)["n"].sum().assign(municipality_code="Регион")
    table = pd.concat([t, m_tot, v_tot], ignore_index=True)
    total = (table["value"] == "Всего") | (table["municipality_code"] == "Регион")
    forced = table["municipality_code"].isin(withheld) & ~total
    table["n_hide"] = table["n"].mask(forced, 0)
    s = suppress(table, "n_hide", threshold=threshold, value_cols=["n_hide"],
                 group_cols=[["municipality_code"], ["value"]], total_rows=total)
    hid = s["flag"] == FLAG_HIDDEN
    cells = {(m, v) for m, v in zip(s.loc[hid & ~total, "municipality_code"],
                                    s.loc[hid & ~total, "value"])}
    lone = set(s.loc[hid & (s["value"] == "Всего"), "municipality_code"])
    return cells, lone


def decide_hidden(cur: pd.DataFrame, coverage_band: pd.DataFrame,
                  coverage_municipality: pd.DataFrame, threshold: int,
                  year: YearHidden | None = None, municipality: str | None = None) -> HiddenGroups:
    """The hidden groups of the note: bands and municipalities from the (suppressed) coverage
    tables and the year's set (:class:`YearHidden`); sexes and areas by primary and
    complementary suppression of their counts; in a municipal note also the municipality's
    groups the year's set hides."""
    out = {}
    if len(coverage_band):
        cb = coverage_band
        out["band"] = frozenset(cb.loc[(cb["flag"] == FLAG_HIDDEN) & cb["band"].isin(BAND_ORDER),
                                       "band"])
    if len(coverage_municipality):
        cm = coverage_municipality
        out["municipality"] = frozenset(cm.loc[cm["flag"] == FLAG_HIDDEN, "municipality_code"])
    for by in ("band", "sex", "area"):
        if by in out or by not in cur:
            continue
        t = cur.groupby(cur[by].astype(object), dropna=True).size().rename("n").reset_index()
        s = suppress(t, "n", threshold=threshold, value_cols=["n"])
        out[by] = frozenset(s.loc[s["flag"] == FLAG_HIDDEN, by])
    if year is not None:
        out["municipality"] = out.get("municipality", frozenset()) | year.withheld
        if municipality is not None:
            for by in ("band", "sex", "area"):
                out[by] = out.get(by, frozenset()) | year.of(municipality, by)
    return HiddenGroups(**out)


def hide(table: pd.DataFrame, count, *, threshold: int, forced=None, total=None,
         group_cols=None, value_cols=None, keep=(), complementary: bool = True) -> pd.DataFrame:
    """:func:`~proforient_diag.privacy.suppress` with rows forced hidden and totals named.

    ``count`` is a column name or a Series of the students each row describes. ``forced``
    (boolean, aligned to ``table``) marks rows of groups hidden elsewhere in the note: they are
    hidden whatever their count, so one group is hidden in every table of the note. ``total``
    marks total rows (so a lone hidden row next to its total is protected). ``value_cols``
    defaults to every numeric column except ``group_cols`` and ``keep``.
    """
    if not len(table):
        return table.assign(flag=pd.Series(dtype=object))
    t = table.copy()
    n = pd.to_numeric(t[count] if isinstance(count, str) else count, errors="coerce")
    if forced is not None:
        n = n.mask(np.asarray(forced, dtype=bool), 0)
    t["_n_privacy"] = n
    groups = [c for g in (group_cols or []) for c in ([g] if isinstance(g, str) else g)]
    if value_cols is None:
        value_cols = [c for c in table.columns
                      if c not in groups and c not in keep and c != "flag"
                      and pd.api.types.is_numeric_dtype(table[c])
                      and not pd.api.types.is_bool_dtype(table[c])]
    if isinstance(count, str):
        value_cols = list(dict.fromkeys([*value_cols, count]))
    tot = pd.Series(False if total is None else np.asarray(total, dtype=bool), index=t.index)
    out = suppress(t.drop(columns="flag", errors="ignore"), "_n_privacy", threshold=threshold,
                   imprecise_below=max(30, threshold), group_cols=group_cols,
                   value_cols=value_cols, total_rows=tot, complementary=complementary)
    return out.drop(columns="_n_privacy")


@options(method=ADJUST_METHODS)
def readjust(tab: pd.DataFrame, method: str = "holm") -> pd.DataFrame:
    """Adjusted p over the rows still shown; hidden rows get no verdict."""
    if not len(tab):
        return tab
    vis = tab["flag"] != FLAG_HIDDEN
    tab = tab.copy()
    tab["p_adj"] = np.nan
    if vis.any():
        tab.loc[vis, "p_adj"] = adjust_p(tab.loc[vis, "p"].to_numpy(), method)
    if "verdict" in tab:
        tab["verdict"] = tab["verdict"].astype(object)
        tab.loc[~vis, "verdict"] = ""
    return tab


def shown(tab: pd.DataFrame) -> pd.DataFrame:
    """Rows a note publishes (hidden groups are never turned into sentences)."""
    if not len(tab) or "flag" not in tab:
        return tab
    return tab[tab["flag"] != FLAG_HIDDEN]


def change_verdict(ci_low, ci_high, p_adj, alpha=0.05) -> str:
    """«рост» / «снижение» / «нет» strictly from the CI and the adjusted p."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)) or not np.isfinite(p_adj):
        return "нет"
    if p_adj < alpha and ci_low > 0:
        return "рост"
    if p_adj < alpha and ci_high < 0:
        return "снижение"
    return "нет"


def region_verdict(lo, hi, p, flag="") -> str:
    """A municipality against the region: «выше региона», «ниже региона», «не отличается»."""
    if p < 0.05 and (lo > 0 or hi < 0):
        return "выше региона" if lo > 0 else "ниже региона"
    return "" if flag == FLAG_HIDDEN else "не отличается"


# -- the rules of the note's tables -------------------------------------------------------------

def _by_band(t: pd.DataFrame, h: HiddenGroups):
    return t["band"].isin(h.band)


def _by_subgroup(t: pd.DataFrame, h: HiddenGroups):
    return np.array([g in h.of(by) for by, g in zip(t["by"], t["subgroup"])], dtype=bool)


def _by_group_pair(t: pd.DataFrame, h: HiddenGroups):
    return np.array([g in h.of(by) or r in h.of(by)
                     for by, g, r in zip(t["by"], t["group"], t["reference"])], dtype=bool)


def _by_municipality(t: pd.DataFrame, h: HiddenGroups):
    return t["municipality_code"].isin(h.municipality)


def _fewer_of_two_years(t: pd.DataFrame):
    return np.minimum(t["n_ref"], t["n"])


def _linked_verdicts(t: pd.DataFrame) -> list:
    v = [change_verdict(a, b, p) if lkd else "не связаны"
         for a, b, p, lkd in zip(t["ci_low"], t["ci_high"], t["p_adj"], t["linked"])]
    return ["" if f == FLAG_HIDDEN else x for x, f in zip(v, t["flag"])]


def _region_verdicts(t: pd.DataFrame) -> list:
    return [region_verdict(lo, hi, p, f)
            for lo, hi, p, f in zip(t["ci_low"], t["ci_high"], t["p_adj"], t["flag"])]


@dataclass(frozen=True)
class Rule:
    """How one table of the note is made publishable.

    Attributes
    ----------
    count : str or callable
        The column (or a function of the table) giving the students a row describes.
    forced : callable, optional
        ``(table, hidden) → boolean array``: rows of groups hidden in the note.
    total : callable, optional
        ``table → boolean array``: total rows.
    group_cols, value_cols, keep, complementary :
        As :func:`hide`.
    adjust : str, optional
        Re-adjust ``p`` over the rows shown («holm», «fdr_bh»).
    verdict : callable, optional
        ``table → list``: the verdict column, recomputed over the rows shown.
    clear : tuple of str
        Text columns emptied on hidden rows.
    """

    count: str | Callable
    forced: Callable | None = None
    total: Callable | None = None
    group_cols: list | None = None
    value_cols: list | None = None
    keep: tuple = ()
    complementary: bool = True
    adjust: str | None = None
    verdict: Callable | None = None
    clear: tuple = field(default=())


_TOTALS = ("Всего", "Регион")
RULES = {
    "coverage_band": Rule("n", forced=_by_band, total=lambda t: t["band"] == "Всего",
                          value_cols=["n", "coverage_pct", "weighted_n"]),
    "estimates": Rule("n", keep=("year", "version"), complementary=False),
    "reliability": Rule("n", forced=_by_band, value_cols=["n", "alpha", "ci_low", "ci_high"],
                        complementary=False, clear=("verdict",)),
    "levels_band": Rule("n", forced=_by_band, total=lambda t: t["band"].isin(_TOTALS)),
    "profiles": Rule("n", forced=_by_band, total=lambda t: t["band"].isin(_TOTALS)),
    "changes": Rule(_fewer_of_two_years, keep=("reference", "group"), complementary=False,
                    adjust="holm", verdict=_linked_verdicts),
    "subgroup_changes": Rule(_fewer_of_two_years, forced=_by_subgroup,
                             group_cols=[["by", "reference"]], keep=("reference", "group"),
                             adjust="holm", verdict=_linked_verdicts),
    "group_differences": Rule(_fewer_of_two_years, forced=_by_group_pair, complementary=False,
                              adjust="holm"),
    "municipalities_vs_region": Rule("n", forced=_by_municipality,
                                     keep=("sigma2_between", "sigma2_within"), adjust="fdr_bh",
                                     verdict=_region_verdicts),
    "profiles_by_sex": Rule("n", forced=lambda t, h: t["band"].isin(h.band) | t["sex"].isin(h.sex),
                            group_cols=[["band"]]),
    "disagreed_items": Rule("n", forced=_by_band, complementary=False),
    "cohorts": Rule("n_pairs", forced=lambda t, h: t["group"].isin(h.band),
                    total=lambda t: t["group"] == "все", group_cols=[["years"]],
                    keep=("n_form_change",), adjust="holm"),
}


def _apply(table: pd.DataFrame, rule: Rule, hidden: HiddenGroups, threshold: int) -> pd.DataFrame:
    if not len(table):
        return table
    count = rule.count if isinstance(rule.count, str) else rule.count(table)
    out = hide(table, count, threshold=threshold,
               forced=None if rule.forced is None else rule.forced(table, hidden),
               total=None if rule.total is None else rule.total(table),
               group_cols=rule.group_cols, value_cols=rule.value_cols, keep=rule.keep,
               complementary=rule.complementary)
    if rule.adjust:
        out = readjust(out, rule.adjust)
    if rule.verdict is not None:
        out["verdict"] = rule.verdict(out)
    for c in rule.clear:
        if c in out:
            out.loc[out["flag"] == FLAG_HIDDEN, c] = ""
    return out


def publish(tables: dict, hidden: HiddenGroups, threshold: int) -> dict:
    """Every table of the note made publishable by its :data:`RULES` entry; tables without a
    rule are returned as they are (they are suppressed where they are built: the coverage tables
    that define the hidden groups, the municipal appendix). Each result passes
    :func:`~proforient_diag.privacy.assert_publishable`."""
    out = {}
    for name, table in tables.items():
        t = _apply(table, RULES[name], hidden, threshold) if name in RULES else table
        if isinstance(t, pd.DataFrame) and len(t) and "flag" in t:
            assert_publishable(t, threshold=threshold)
        out[name] = t
    return out
