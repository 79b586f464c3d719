"""What one annual note is about: its year, its municipality, its data on one scale.

:func:`make_scope` does the first steps every table of the note shares — the weights, the linking
of versions onto the version in force, the levels of the linked index, the restriction to a
municipality, the years compared — and returns a frozen :class:`Scope` the sections read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import DataError
from ..instrument import Instrument
from ..scoring import assign_levels
from ..sources import Waves
from .labels import comparison_label
from ..options import options
from .linking import LINKING_METHODS, Linking, link_versions
from .weights import Weights, make_weights

__all__ = ["Scope", "make_scope", "find_municipality_in"]


@dataclass(frozen=True)
class Scope:
    """The note's year, municipality and data (the region's and its own), on one scale.

    Attributes
    ----------
    year, years : int, list of int
        The note's year and every year up to it.
    region : DataFrame
        Every respondent of those years with a weight, linked scores (``<score>_linked``) and the
        linked level (``level_linked``).
    data : DataFrame
        ``region`` restricted to the municipality (or the region itself).
    municipality, municipality_name : str or None
    cluster : str or None
        ``"school_id"`` when the data hold five schools or more (cluster-robust SEs), else None.
    compare_with : list of int
        Years the note's year is compared with, newest first.
    """

    waves: Waves = field(repr=False)
    weights: Weights = field(repr=False)
    linking: Linking = field(repr=False)
    instrument: Instrument = field(repr=False)
    year: int
    years: list
    region: pd.DataFrame = field(repr=False)
    data: pd.DataFrame = field(repr=False)
    municipality: str | None
    municipality_name: str | None
    cluster: str | None
    compare_with: list
    baseline: int
    confidence: float
    threshold: int
    notes: tuple = ()

    @property
    def target(self) -> int:
        return self.linking.target

    @property
    def scales(self) -> dict:
        return {s.id: s.name for s in self.instrument.scales}

    @property
    def score_cols(self) -> list[str]:
        return [*self.scales, "total"]

    @property
    def levels(self) -> list[str]:
        return list(self.instrument.levels.labels)

    @property
    def current(self) -> pd.DataFrame:
        """The note's respondents of its year."""
        return self.data[self.data["year"] == self.year]

    @property
    def current_region(self) -> pd.DataFrame:
        """The region's respondents of the note's year."""
        return self.region[self.region["year"] == self.year]

    def version(self, year: int) -> int:
        return int(self.linking.years.set_index("year").loc[year, "version"])

    def linked_year(self, year: int) -> bool:
        return self.linking.is_linked(self.version(year))

    def linking_errors(self, score: str, band: str | None = None) -> dict:
        """Year → linking SE of the year's mean of ``score`` (of one band form when given)."""
        ly = self.linking.years.set_index("year")
        out = {}
        for y in self.years:
            v = int(ly.loc[y, "version"])
            if v == self.target or not self.linking.is_linked(v):
                out[y] = 0.0
            elif band is None:
                out[y] = float(ly.loc[y, f"le_{score}"])
            else:
                out[y] = float(np.sqrt(self.linking.variance(score, lambda t, v=v: t[(v, band)])))
        return out

    def comparison(self, ref: int) -> str:
        return comparison_label(ref, self.year, self.baseline)


def find_municipality_in(scores: pd.DataFrame, municipality) -> tuple[str | None, str | None]:
    """``(code, name)`` of a municipality of the data given by code or name; (None, None) for the
    region."""
    if municipality is None or (isinstance(municipality, str) and not municipality.strip()):
        return None, None
    m = str(municipality).strip().lower()
    tab = scores[["municipality_code", "municipality"]].drop_duplicates()
    hit = tab[(tab["municipality_code"].astype(str).str.lower() == m)
              | (tab["municipality"].astype(str).str.lower() == m)]
    if not len(hit):
        raise DataError(f"муниципалитет «{municipality}» не найден в данных; укажите код (MO01) "
                        "или полное название.", column="municipality")
    return str(hit["municipality_code"].iat[0]), str(hit["municipality"].iat[0])


def _compare_years(compare_with, year, years, baseline) -> list[int]:
    if compare_with is None:
        compare_with = [y for y in (year - 1, baseline) if y in years and y != year]
    elif isinstance(compare_with, (int, np.integer)):
        compare_with = [int(compare_with)]
    return sorted({int(y) for y in compare_with if int(y) in years and int(y) != year},
                  reverse=True)


@options(linking=LINKING_METHODS)
def make_scope(waves: Waves, year: int, *, compare_with: Iterable[int] | int | None,
               municipality: str | None, threshold: int, linking: str,
               weights: Weights | None, trim, baseline: int, confidence: float) -> Scope:
    """The shared first steps of the note (see the module docstring)."""
    if year not in waves.years:
        raise DataError(f"в загруженных данных нет {year} года.", column="year")
    years = [y for y in waves.years if y <= year]
    W = weights if weights is not None else make_weights(waves, trim=trim)
    notes = list(W.notes)
    inst = waves.instruments[waves.version_of(year)]
    score_cols = [*(s.id for s in inst.scales), "total"]
    lk = link_versions(waves, inst.version, method=linking, scores=score_cols, weights=W.weights)
    d0 = waves.scores.assign(weight=W.weights)
    d0 = d0[d0["year"].isin(years) & d0["total"].notna() & d0["weight"].notna()]
    d0 = lk.apply(d0, score_cols)
    d0["level_linked"] = assign_levels(d0["total_linked"], d0["band"], inst).astype(object)
    d0["level_linked"] = pd.Categorical(d0["level_linked"], categories=list(inst.levels.labels),
                                        ordered=True)
    mcode, mname = find_municipality_in(d0, municipality)
    data = d0 if mcode is None else d0[d0["municipality_code"] == mcode]
    n_sch = data.loc[data["year"] == year, "school_id"].nunique()
    cluster = "school_id" if data["school_id"].nunique() >= 5 else None
    if mcode is not None and cluster is None:
        notes.append(f"В выборке муниципального образования «{mname}» {n_sch} "
                     f"{'школа' if n_sch == 1 else 'школы'}: изменения относятся к обследованным "
                     "школам; стандартные ошибки не учитывают различий между школами "
                     "муниципалитета.")
    return Scope(waves=waves, weights=W, linking=lk, instrument=inst, year=year, years=years,
                 region=d0, data=data, municipality=mcode, municipality_name=mname,
                 cluster=cluster, compare_with=_compare_years(compare_with, year, years, baseline),
                 baseline=baseline, confidence=confidence, threshold=threshold, notes=tuple(notes))
