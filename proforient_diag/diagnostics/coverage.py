"""Sections 1–2 of the note: dates of the waves, participants, coverage against enrolment, weights.

The coverage tables are suppressed where they are built: their hidden bands and municipalities
*are* the note's hidden groups (:func:`proforient_diag.diagnostics.disclosure.decide_hidden`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..fmt import fmt_int
from ..privacy import suppress
from .labels import BAND_ORDER, HIGH, MONTHS
from .scope import Scope

__all__ = ["wave_dates", "participants", "coverage", "weight_summary_of_year", "estimates",
           "weighted_mean_of", "uncovered_notes"]


def wave_dates(scores: pd.DataFrame) -> pd.DataFrame:
    """Per year: first and last survey date and the month of the wave (Russian)."""
    d = pd.to_datetime(scores["date"], errors="coerce")
    g = scores.assign(_d=d).groupby("year")["_d"]
    out = pd.DataFrame({"Год": g.min().index, "Начало": g.min().dt.date.to_numpy(),
                        "Окончание": g.max().dt.date.to_numpy()})
    out["Месяц волны"] = [(MONTHS.get(int(m)) if pd.notna(m) else None)
                          for m in g.agg(lambda s: s.dt.month.mode().iat[0]
                                         if s.notna().any() else np.nan)]
    return out.reset_index(drop=True)


def weighted_mean_of(df: pd.DataFrame, col: str, w: pd.Series) -> float:
    """Weighted mean of ``col`` over rows with a value and a weight (NaN when there are none)."""
    ok = df[col].notna() & w.reindex(df.index).notna()
    ww = w.reindex(df.index)[ok]
    return float(np.sum(ww * df.loc[ok, col]) / ww.sum()) if ww.sum() > 0 else np.nan


def participants(sc: Scope) -> pd.DataFrame:
    """Per year: files, rows, accepted, excluded, the version, schools and municipalities."""
    waves = sc.waves
    part = waves.loads[waves.loads["year"].isin(sc.years)].copy()
    part["version"] = [waves.version_of(int(y)) for y in part["year"]]
    part["schools"] = part["year"].map(waves.scores.groupby("year")["school_id"].nunique())
    part["municipalities"] = part["year"].map(
        waves.scores.groupby("year")["municipality_code"].nunique())
    return part


def coverage(sc: Scope) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Coverage of the year by band and by municipality, suppressed.

    Returns ``(by_band, by_municipality, by_municipality_of_region)``: the last one is the
    region's table, from which the hidden municipalities are decided even in a municipal note.
    """
    W, year, threshold = sc.weights, sc.year, sc.threshold
    cov_all = W.coverage[W.coverage["year"] == year] if len(W.coverage) else pd.DataFrame()
    if not len(cov_all):
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    cov = cov_all if sc.municipality is None else \
        cov_all[cov_all["municipality_code"] == sc.municipality]
    cur, cur_all = sc.current, sc.current_region
    if not len(cov):
        return pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    cb = cov.groupby("band").agg(n=("n", "sum"), schools=("schools", "sum"),
                                 enrolled=("enrolled", "sum"), weighted_n=("weighted_n", "sum"))
    cb = cb.reindex([b for b in BAND_ORDER if b in cb.index])
    cb.loc["Всего"] = cb.sum()
    cb["schools"] = [cur.loc[cur["band"] == b, "school_id"].nunique() if b != "Всего"
                     else cur["school_id"].nunique() for b in cb.index]
    cb["coverage_pct"] = 100 * cb["n"] / cb["enrolled"]
    cb = cb.reset_index(names="band")
    cb = suppress(cb, "n", threshold=threshold, value_cols=["n", "coverage_pct", "weighted_n"],
                  total_rows=cb["band"] == "Всего")
    cm = cov_all.groupby("municipality_code").agg(n=("n", "sum"), enrolled=("enrolled", "sum"),
                                                  weighted_n=("weighted_n", "sum"))
    cm["schools"] = cur_all.groupby("municipality_code")["school_id"].nunique()
    cm["municipality"] = cur_all.groupby("municipality_code")["municipality"].first()
    cm["coverage_pct"] = 100 * cm["n"] / cm["enrolled"]
    cm = cm.reset_index()[["municipality_code", "municipality", "n", "schools", "enrolled",
                           "coverage_pct", "weighted_n"]]
    region = suppress(cm, "n", threshold=threshold, value_cols=["n", "coverage_pct", "weighted_n"])
    mine = region if sc.municipality is None else \
        region[region["municipality_code"] == sc.municipality].reset_index(drop=True)
    return cb, mine, region


def weight_summary_of_year(sc: Scope) -> pd.DataFrame:
    """What the weights did in the note's year (counts as whole numbers)."""
    W = sc.weights
    wsum = W.summary_table[W.summary_table["год"] == sc.year].reset_index(drop=True) \
        if len(W.summary_table) else pd.DataFrame()
    if len(wsum):   # the number of observations is a count: an int, not 3184.0
        counts = ("Число наблюдений", "Сумма весов (представленная численность)")
        wsum["значение"] = pd.Series([int(v) if k in counts else float(v)
                                     for k, v in zip(wsum["показатель"], wsum["значение"])],
                                    index=wsum.index, dtype=object)
    return wsum


def uncovered_notes(sc: Scope) -> list[str]:
    """Sentences on the enrolment the weights of the year do not represent."""
    W, year = sc.weights, sc.year
    return [f"Веса {year} года не представляют {fmt_int(u['n_enrolled'])} обучающихся: "
            f"{u['reason']}." for _, u in W.uncovered[W.uncovered["year"] == year].iterrows()]


def estimates(sc: Scope) -> pd.DataFrame:
    """Per year: unweighted, weighted and linked weighted index and the share of «высокий»."""
    rows = []
    for y in sc.years:
        x = sc.data[sc.data["year"] == y]
        hi = (x["level"].astype(object) == HIGH).astype(float)
        rows.append({"year": y, "version": sc.version(y), "n": len(x),
                     "mean_unweighted": x["total"].mean(),
                     "mean_weighted": weighted_mean_of(x, "total", x["weight"]),
                     "mean_linked_weighted": weighted_mean_of(x, "total_linked", x["weight"]),
                     "high_unweighted": 100 * hi.mean(),
                     "high_weighted": 100 * np.sum(x["weight"] * hi) / x["weight"].sum(),
                     "linked": sc.linked_year(y)})
    return pd.DataFrame(rows)
