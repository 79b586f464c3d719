"""Descriptive tables of a year's scores: coverage, level distribution, scale means.

Plain pandas group-bys on the scored rows; every function returns a tidy DataFrame with Russian
column names ready for a note (numbers unrounded: formatting happens in ``report``).
"""
from __future__ import annotations

import pandas as pd

from .instrument import Instrument

__all__ = ["coverage", "level_distribution", "scale_means", "BAND_ORDER"]

BAND_ORDER = ["1-4", "5-7", "8-9", "10-11"]


def _band_label(b: str) -> str:
    return f"{b.replace('-', '–')} классы"


def coverage(scores: pd.DataFrame, enrolment: pd.DataFrame | None = None) -> pd.DataFrame:
    """Students, schools and municipalities surveyed, by band and in all.

    With ``enrolment`` (municipality_code, grade, sex, n_enrolled for the year) the share of
    enrolled students surveyed is added.
    """
    g = scores.groupby("band", observed=True)
    out = pd.DataFrame({
        "Обучающихся": g.size(),
        "Школ": g["school_id"].nunique(),
        "Муниципалитетов": g["municipality_code"].nunique(),
    }).reindex([b for b in BAND_ORDER if b in set(scores["band"])])
    total = pd.DataFrame({"Обучающихся": [len(scores)], "Школ": [scores["school_id"].nunique()],
                          "Муниципалитетов": [scores["municipality_code"].nunique()]}, index=["Всего"])
    if enrolment is not None:
        band_of = {g: b for b in BAND_ORDER for g in range(int(b.split("-")[0]), int(b.split("-")[1]) + 1)}
        enr = enrolment.assign(band=enrolment["grade"].map(band_of)).groupby("band")["n_enrolled"].sum()
        out["Обучается в регионе"] = enr.reindex(out.index)
        total["Обучается в регионе"] = enr.sum()
    out.index = [_band_label(b) for b in out.index]
    out = pd.concat([out, total])
    if "Обучается в регионе" in out:
        out["Охват, %"] = 100 * out["Обучающихся"] / out["Обучается в регионе"]
    out.index.name = "Параллель"
    return out.reset_index()


def level_distribution(scores: pd.DataFrame, by: str = "band") -> pd.DataFrame:
    """Share of students at each level (%), with n, by a grouping column and in all."""
    levels = list(scores["level"].cat.categories)
    tab = pd.crosstab(scores[by], scores["level"], normalize="index") * 100
    tab = tab.reindex(columns=levels)
    n = scores.groupby(by, observed=True).size().rename("n")
    out = tab.join(n)
    if by == "band":
        out = out.reindex([b for b in BAND_ORDER if b in out.index])
        out.index = [_band_label(b) for b in out.index]
    allrow = (scores["level"].value_counts(normalize=True).reindex(levels) * 100).to_frame().T
    allrow["n"] = scores["level"].notna().sum()
    allrow.index = ["Всего"]
    out = pd.concat([out, allrow])
    out.index.name = {"band": "Параллель", "municipality": "Муниципалитет"}.get(by, by)
    return out.reset_index()


def scale_means(scores: pd.DataFrame, instrument: Instrument, by: str = "band") -> pd.DataFrame:
    """Mean scale scores (0–100) by group: one row per group, one column per scale and the index."""
    cols = [s.id for s in instrument.scales] + ["total"]
    names = {s.id: s.name for s in instrument.scales}
    names["total"] = instrument.total_name
    m = scores.groupby(by, observed=True)[cols].mean()
    if by == "band":
        m = m.reindex([b for b in BAND_ORDER if b in m.index])
        m.index = [_band_label(b) for b in m.index]
    m.index.name = {"band": "Параллель"}.get(by, by)
    return m.rename(columns=names).reset_index()
