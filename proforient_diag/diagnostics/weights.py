"""Raked weights of every wave to the enrolment, and what they did.

The sample is one (two in Kemerovo and Novokuznetsk) school per municipality, so post-stratifying
to the full municipality × grade × sex table leaves cells of one to five students (and empty
ones). The weights are therefore **raked** (:func:`proforient_diag.weighting.rake`) to two joint
margins of the same enrolment: municipality × band (band = the instrument's grade band) and
grade × sex. Every weighted municipality × band and grade × sex total then equals the enrolment
exactly. Grades that were not surveyed (grade 1 in the sample design) and cells without a single
respondent are left out of the represented population and reported in the coverage table —
weights cannot represent students nobody asked. Trimming (Potter's trim-and-rerake) caps weights
at ``trim`` × the mean weight (default 0.05–4): wide bounds on purpose, because the large
weights here are structural (one school standing for a municipality of 80) and trimming them
would over-represent small municipalities; when a bound conflicts with a municipal total the
total wins and the note says so.

References
----------
.. [1] Deming W. E., Stephan F. F. (1940); Potter F. (1990) — raking and weight trimming.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..sources import Waves
from ..weighting import rake, weight_summary

__all__ = ["Weights", "make_weights"]


@dataclass(frozen=True)
class Weights:
    """Raked weights of every year and what they did.

    Attributes
    ----------
    weights : Series
        Aligned to ``Waves.scores`` (NaN for rows outside the represented population).
    summary_table : DataFrame
        Per year: :func:`~proforient_diag.weighting.weight_summary` rows (``год``, ``показатель``,
        ``значение``).
    coverage : DataFrame
        Per year × municipality × band: n (respondents), schools, enrolled, weighted n.
    uncovered : DataFrame
        Enrolment not represented (grades not surveyed, cells without respondents): year, reason,
        n_enrolled.
    notes : list of str
        Russian notes (trimming conflicts, respondents outside the enrolment table).
    trim : tuple
    """

    weights: pd.Series
    summary_table: pd.DataFrame
    coverage: pd.DataFrame
    uncovered: pd.DataFrame
    notes: tuple
    trim: tuple | None

    def to_frame(self) -> pd.DataFrame:
        return self.coverage

    def summary(self) -> str:
        return " ".join(self.notes) if self.notes else "Веса построены без замечаний."


def make_weights(waves: Waves, *, trim: tuple[float, float] | None = (0.05, 4.0)) -> Weights:
    """Rake each year's respondents to the enrolment (municipality × band and grade × sex).

    See the module docstring for the design. Respondents without a total score, or in a
    municipality/grade the enrolment table does not have, get no weight (NaN).

    In R: ``survey::rake(svydesign(ids = ~school_id, data = d), list(~mo_band, ~grade_sex),
    list(pop_mo_band, pop_grade_sex))`` then ``survey::trimWeights``.
    """
    sc = waves.scores
    w_all = pd.Series(np.nan, index=sc.index, name="weight")
    summ, cov, unc, notes = [], [], [], []
    if not len(waves.enrolment):
        return Weights(w_all.fillna(1.0), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                       ("Нет файла enrolment.csv: оценки не взвешены.",), trim)
    for y in waves.years:
        inst = waves.instruments[waves.version_of(y)]
        g2b = inst.grade_to_band
        s = sc[(sc["year"] == y) & sc["total"].notna()]
        e = waves.enrolment[waves.enrolment["year"] == y].copy()
        if not len(e):
            notes.append(f"{y}: нет численности обучающихся; оценки года не взвешены.")
            w_all.loc[s.index] = 1.0
            continue
        e["band"] = e["grade"].map(g2b)
        e["sex"] = e["sex"].astype(str)
        grades = set(s["grade"].unique())
        off = e[~e["grade"].isin(grades)]
        if len(off):
            unc.append({"year": y, "reason": "классы, не участвовавшие в диагностике ("
                        + ", ".join(str(int(g)) for g in sorted(off["grade"].unique())) + ")",
                        "n_enrolled": int(off["n_enrolled"].sum())})
        e = e[e["grade"].isin(grades)]
        known = s["municipality_code"].isin(set(e["municipality_code"])) & \
            s["sex"].astype(str).isin(set(e["sex"]))
        if (~known).any():
            notes.append(f"{y}: {int((~known).sum())} анкет вне таблицы численности "
                         "(муниципалитет или пол) не взвешены.")
        s = s[known]
        for _ in range(5):   # drop population cells that no respondent can represent
            mb = set(zip(s["municipality_code"], s["band"]))
            gs = set(zip(s["grade"], s["sex"].astype(str)))
            ok = np.array([(m, b) in mb and (g, x) in gs for m, b, g, x in
                           zip(e["municipality_code"], e["band"], e["grade"], e["sex"])])
            if ok.all():
                break
            unc.append({"year": y, "reason": "ячейки без респондентов (муниципалитет × параллель)",
                        "n_enrolled": int(e.loc[~ok, "n_enrolled"].sum())})
            e = e[ok]
        m1 = e.groupby(["municipality_code", "band"])["n_enrolled"].sum()
        m2 = e.groupby(["grade", "sex"])["n_enrolled"].sum()
        d = s.assign(sex=s["sex"].astype(str))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w = rake(d, {("municipality_code", "band"): m1, ("grade", "sex"): m2}, trim=trim)
        for c in caught:
            if issubclass(c.category, RuntimeWarning):
                notes.append(f"{y}: {c.message}")
        w_all.loc[w.index] = w.to_numpy()
        ws = weight_summary(w, trim=trim)
        summ.append(ws.assign(год=y))
        cv = d.assign(_w=w).groupby(["municipality_code", "band"]).agg(
            n=("_w", "size"), schools=("school_id", "nunique"), weighted_n=("_w", "sum"))
        cv = cv.join(m1.rename("enrolled"), how="outer").reset_index()
        cov.append(cv.assign(year=y))
    summary_table = (pd.concat(summ, ignore_index=True)[["год", "показатель", "значение"]]
                     if summ else pd.DataFrame())
    coverage = pd.concat(cov, ignore_index=True) if cov else pd.DataFrame()
    if len(coverage):
        coverage = coverage[["year", "municipality_code", "band", "n", "schools", "enrolled",
                             "weighted_n"]]
    uncovered = pd.DataFrame(unc, columns=["year", "reason", "n_enrolled"])
    return Weights(w_all, summary_table, coverage, uncovered, tuple(notes), trim)
