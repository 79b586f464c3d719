"""The annual note's analysis as a sequence of named steps, and its result.

:func:`diagnose` runs the steps of an «аналитическая справка» in order — the scope of the note
(weights, linking, the municipality), coverage, the hidden groups decided once, reliability, levels
and profiles, changes, subgroups, municipalities against the region, the trend, cohorts, the
appendix — then makes every table publishable in one place
(:func:`~proforient_diag.diagnostics.disclosure.publish`) and returns a frozen
:class:`Diagnostics`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable

import pandas as pd

from ..options import options
from ..roadmap import BASE_YEAR
from ..sources import Waves
from . import changes as ch
from . import coverage as cov
from . import results as res
from .conclusions import conclusions
from .disclosure import decide_hidden, publish, year_hidden
from .labels import BAND_ORDER
from .linking import LINKING_METHODS
from .scope import make_scope
from .weights import Weights

__all__ = ["Diagnostics", "diagnose", "withheld_municipalities", "WITHHELD"]


@dataclass(frozen=True)
class Diagnostics:
    """Everything the annual note shows (tidy tables, Russian labels only where displayed).

    The notebook formats these with :mod:`proforient_diag.report`. ``region`` holds the regional
    figures when ``municipality`` restricts the note.
    """

    year: int
    municipality: str | None
    municipality_name: str | None
    target_version: int
    compare_with: tuple
    threshold: int
    scales: dict
    total_name: str
    data: pd.DataFrame = field(repr=False)
    wave_dates: pd.DataFrame = field(repr=False)
    participants: pd.DataFrame = field(repr=False)
    coverage_band: pd.DataFrame = field(repr=False)
    coverage_municipality: pd.DataFrame = field(repr=False)
    weight_summary: pd.DataFrame = field(repr=False)
    estimates: pd.DataFrame = field(repr=False)
    reliability: pd.DataFrame = field(repr=False)
    levels_band: pd.DataFrame = field(repr=False)
    levels_municipality: pd.DataFrame = field(repr=False)
    profiles: pd.DataFrame = field(repr=False)
    profiles_by_sex: pd.DataFrame = field(repr=False)
    disagreed_items: pd.DataFrame = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    level_changes: pd.DataFrame = field(repr=False)
    subgroup_changes: pd.DataFrame = field(repr=False)
    group_differences: pd.DataFrame = field(repr=False)
    municipalities_vs_region: pd.DataFrame = field(repr=False)
    trend_years: pd.DataFrame = field(repr=False)
    trend_slope: pd.DataFrame = field(repr=False)
    trend_stages: pd.DataFrame = field(repr=False)
    cohorts: pd.DataFrame = field(repr=False)
    linking_pairs: pd.DataFrame = field(repr=False)
    linking_years: pd.DataFrame = field(repr=False)
    appendix: pd.DataFrame = field(repr=False)
    linking_summary: str = ""
    key_source: str = ""
    notes: tuple = ()
    warnings: tuple = ()
    withheld: bool = False
    withheld_reason: str = ""

    def to_frame(self) -> pd.DataFrame:
        """The main change table."""
        return self.changes

    def summary(self) -> str:
        return " ".join(conclusions(self)[:3])


@options(linking=LINKING_METHODS)
def diagnose(waves: Waves, year: int, *, compare_with: Iterable[int] | int | None = None,
             municipality: str | None = None, threshold: int = 10,
             linking: str = "anchor", weights: Weights | None = None,
             trim: tuple[float, float] | None = (0.05, 4.0), mixed: bool = False,
             baseline: int = BASE_YEAR, confidence: float = 0.95) -> Diagnostics:
    """All numbers of the annual note for ``year``.

    Parameters
    ----------
    waves : Waves
        From :func:`load_waves` (years up to ``year``).
    year : int
        The note's year.
    compare_with : int or list of int, optional
        Years to compare ``year`` with (default: the previous year and the 2018 baseline).
    municipality : str, optional
        Code (``MO04``) or name: the note is restricted to it, the region is the comparison.
        With fewer than five sampled schools its changes are estimated without the
        school-cluster correction (which needs several schools) and a note says so.
    threshold : int, default 10
        Small-cell suppression threshold of the published tables. The note has one set of
        hidden groups: the bands hidden in the coverage table (primary and complementary
        suppression against «Всего»), the sexes and areas hidden the same way and the
        municipalities hidden in the municipal coverage table are hidden in every table
        (levels, profiles, reliability, subgroup changes, cohorts, group differences, the
        municipalities against the region); total rows («Всего», «Регион», the cohort row «все»)
        are named as totals, and any row describing fewer than ``threshold`` students is hidden.
        Each table has a ``flag`` column («скрыто», «неточно» for 10–29 students, or empty);
        adjusted p-values and verdicts are computed over the rows shown.
    linking : {"anchor", "none"}
        See :func:`link_versions`.
    weights : Weights, optional
        Precomputed :func:`make_weights` result.
    trim : tuple, default (0.05, 4.0)
        Weight trimming bounds (× mean weight).
    mixed : bool, default False
        Also fit the MixedLM sensitivity slope (slower).
    baseline : int, default 2018
    confidence : float, default 0.95

    Returns
    -------
    Diagnostics
    """

    sc = make_scope(waves, year, compare_with=compare_with, municipality=municipality,
                    threshold=threshold, linking=linking, weights=weights, trim=trim,
                    baseline=baseline, confidence=confidence)
    notes, warns = list(sc.notes), list(sc.linking.warnings)
    cb, cm, cm_region = cov.coverage(sc)
    year_set = year_hidden(sc.current_region, cm_region, threshold)
    if sc.municipality in year_set.withheld:
        return _withheld(sc, cm, notes, warns)
    hidden = decide_hidden(sc.current, cb, cm_region, threshold, year_set, sc.municipality)
    notes += cov.uncovered_notes(sc)
    trend_years, slope, stages, trend_warns = ch.trend_tables(sc, mixed=mixed)
    cohorts, cohort_notes = ch.cohorts(sc)
    lm = res.municipal_appendix(sc.current_region, weights="weight", threshold=threshold,
                                levels=tuple(sc.levels), hidden=hidden.municipality)
    raw = {"coverage_band": cb, "coverage_municipality": cm,
           "estimates": cov.estimates(sc),
           "reliability": res.reliability(_responses_of(sc), sc.instrument),
           "levels_band": res.levels_by_band(sc), "levels_municipality": lm,
           "profiles": res.profiles(sc), "profiles_by_sex": res.profiles_by_sex(sc),
           "disagreed_items": res.disagreed_items(_responses_of(sc), sc.instrument),
           "changes": ch.changes(sc),
           "level_changes": ch.level_changes(sc), "subgroup_changes": ch.subgroup_changes(sc),
           "group_differences": ch.group_differences(sc),
           "municipalities_vs_region": ch.municipalities_vs_region(sc), "cohorts": cohorts,
           "appendix": lm if sc.municipality is None else
           lm[lm["municipality_code"].isin([sc.municipality, ""])].reset_index(drop=True)}
    t = publish(raw, hidden, threshold)
    if len(t["changes"]):
        t["changes"]["score_name"] = t["changes"]["score"].map(
            {**sc.scales, "total": sc.instrument.total_name})
    if sc.municipality is not None:
        mvr = t["municipalities_vs_region"]
        t["municipalities_vs_region"] = mvr[mvr["municipality_code"] == sc.municipality
                                            ].reset_index(drop=True)
    if len(t["cohorts"]):
        order = {b: i for i, b in enumerate([*BAND_ORDER, "все"])}
        t["cohorts"] = t["cohorts"].sort_values(
            ["years", "group"], key=lambda c: c.map(order) if c.name == "group" else c,
            kind="stable").reset_index(drop=True)
    warns += trend_warns + _unlinked_comparisons(sc)
    lk = sc.linking
    return Diagnostics(
        year=year, municipality=sc.municipality, municipality_name=sc.municipality_name,
        target_version=sc.target, compare_with=tuple(sc.compare_with), threshold=threshold,
        scales=sc.scales, total_name=sc.instrument.total_name, data=sc.data,
        wave_dates=cov.wave_dates(waves.scores[waves.scores["year"].isin(sc.years)]),
        participants=cov.participants(sc), weight_summary=cov.weight_summary_of_year(sc),
        trend_years=trend_years, trend_slope=slope, trend_stages=stages,
        linking_pairs=lk.pairs, linking_years=lk.years, linking_summary=lk.summary(),
        key_source=waves.key_source, notes=tuple(notes + cohort_notes), warnings=tuple(warns),
        **{k: v for k, v in t.items()})


def _responses_of(sc) -> pd.DataFrame:
    """The note's year's item answers (of its municipality)."""
    r = sc.waves.responses[sc.waves.responses["year"] == sc.year]
    return r if sc.municipality is None else r[r["municipality_code"] == sc.municipality]


def _unlinked_comparisons(sc) -> list[str]:
    out = []
    for y in sc.compare_with:
        v = sc.version(y)
        if v != sc.target and not sc.linking.is_linked(v):
            out.append(f"Сравнение {sc.year} года с {y} годом выполнено между несвязанными "
                       f"версиями инструмента ({v} и {sc.target}): разность показана справочно, "
                       "статистических выводов о ней не делается.")
    return out


WITHHELD = ("Результаты муниципального образования «{name}» в {year} году не публикуются: "
            "обследованных обучающихся меньше порога публикации ({threshold}) либо их данные "
            "скрыты, чтобы по итогам региона и других муниципалитетов нельзя было восстановить "
            "малую группу. Ниже приведены только результаты региона.")


def _withheld(sc, cm, notes, warns) -> Diagnostics:
    """The note of a municipality the year's set withholds: region rows only, nothing of its
    own students (a handful of them cannot be computed on, and must not be published)."""
    empty = pd.DataFrame()
    region = sc.current_region
    scope_region = dataclasses.replace(sc, data=sc.region, municipality=None, municipality_name=None)
    lb = res.levels_by_band(scope_region)
    pr = res.profiles(scope_region)
    ty = ch.trend_tables(scope_region, mixed=False)[0].assign(group="Регион")
    lk = sc.linking
    return Diagnostics(
        year=sc.year, municipality=sc.municipality, municipality_name=sc.municipality_name,
        target_version=sc.target, compare_with=tuple(sc.compare_with), threshold=sc.threshold,
        scales=sc.scales, total_name=sc.instrument.total_name, data=sc.data.iloc[0:0],
        wave_dates=cov.wave_dates(sc.waves.scores[sc.waves.scores["year"].isin(sc.years)]),
        participants=cov.participants(sc), coverage_band=empty,
        coverage_municipality=cm.assign(**{c: float("nan") for c in ("n", "schools", "enrolled",
                                                                      "coverage_pct", "weighted_n")
                                           if c in cm}),
        weight_summary=empty, estimates=empty, reliability=empty,
        levels_band=lb[lb["band"] == "Всего"].assign(band="Регион").reset_index(drop=True),
        levels_municipality=empty,
        profiles=pr[pr["band"] == "Всего"].assign(band="Регион").reset_index(drop=True),
        profiles_by_sex=empty, disagreed_items=empty,
        changes=empty, level_changes=empty, subgroup_changes=empty, group_differences=empty,
        municipalities_vs_region=empty, trend_years=ty, trend_slope=empty, trend_stages=empty,
        cohorts=empty, linking_pairs=lk.pairs, linking_years=lk.years,
        appendix=empty, linking_summary=lk.summary(), key_source=sc.waves.key_source,
        notes=tuple(notes), warnings=tuple(warns), withheld=True,
        withheld_reason=WITHHELD.format(name=sc.municipality_name, year=sc.year,
                                        threshold=sc.threshold)) if len(region) else None


def withheld_municipalities(waves: Waves, year: int, *, threshold: int = 10,
                            trim=(0.05, 4.0)) -> frozenset:
    """Municipalities whose figures no note of ``year`` publishes (their own note shows only the
    region; see :class:`~proforient_diag.diagnostics.disclosure.YearHidden`)."""
    sc = make_scope(waves, year, compare_with=None, municipality=None, threshold=threshold,
                    linking="anchor", weights=None, trim=trim, baseline=BASE_YEAR, confidence=0.95)
    _, _, cm_region = cov.coverage(sc)
    return year_hidden(sc.current_region, cm_region, threshold).withheld
