"""The roadmap monitoring's analysis: indicators 1.1–5.3 from school forms to the region.

The forms are read by :mod:`proforient_diag.forms` and reach the analysis through the store
(:func:`proforient_diag.sources.load_monitoring`); the indicators are described by the roadmap's
spec (:mod:`proforient_diag.roadmap`). Nothing about a particular indicator is hard-coded here.

Flow::

    monitoring/<year>/ ─► sources.load_monitoring ─► forms (school × year) ──┐
                                                         │
         aggregate (school → municipality → region) ◄────┘
              ├─► change (year over year, since 2018, within the roadmap's stage)
              ├─► targets (attainment)
              ├─► composite_index (percentile ranks of municipalities per criterion)
              └─► monitoring_findings.conclusions (the note's text, from these numbers only)
    scores (diagnostics) × forms ─► activity_association (MixedLM; an association, not an effect)

Aggregation rules (per measure kind):

* count — :math:`\\sum_i x_i` over schools with the cell filled; every count of the forms is
  counted by a school (agreements, teachers, events, publications), so the note shows it per
  school, :math:`\\sum_i x_i / k`, comparable between years of different completeness; also
  :math:`1000\\,\\sum_i x_i / \\sum_i n_i` (per 1 000 students) for the tables written out;
* yes/no — share of schools with «да», :math:`100\\,\\bar y`, and the number of such schools;
* percent of students — student-weighted :math:`\\sum_i p_i n_i / \\sum_i n_i`, i.e. the share of
  the municipality's students, not the mean of school percentages.

Own numerics: none beyond group sums; the mixed model is statsmodels ``MixedLM``.

References
----------
1. План мероприятий («дорожная карта») ... на 2018–2027 годы в рамках плана мероприятий
   Десятилетия детства в Кемеровской области (shared/seed/roadmap-2018-2027.txt).
2. OECD/JRC (2008). *Handbook on Constructing Composite Indicators*. Paris: OECD (normalisation
   by ranks/percentiles vs min–max, equal weighting).
4. Mundlak Y. (1978). On the pooling of time series and cross section data. *Econometrica* 46,
   69–85; Bell A., Jones K. (2015). Explaining fixed effects: random effects modeling of
   time-series cross-sectional and panel data. *Political Science Research and Methods* 3, 133–153.
3. Lindstrom M. J., Bates D. M. (1988). Newton–Raphson and EM algorithms for linear mixed-effects
   models. *JASA* 83, 1014–1022 (statsmodels ``MixedLM``; in R: ``lme4::lmer``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import DataError
from .fmt import fmt_int, fmt_num, fmt_p, fmt_pct
from .options import check_range, options
from .region import municipality_names
from .roadmap import REGION, MonitoringSpec, load_monitoring_spec, stage_of

__all__ = ["ActivityAssociation", "aggregate", "change", "targets",
           "composite_index", "rank_intervals", "activity_association",
           "criterion_table", "targets_table",
           "municipal_criterion_table", "AGGREGATION_LEVELS"]

AGGREGATION_LEVELS = ("municipality", "region")


# -- aggregation --------------------------------------------------------------------------------

@options(level=AGGREGATION_LEVELS)
def aggregate(forms: pd.DataFrame, spec: MonitoringSpec | None = None,
              level: str = "municipality") -> pd.DataFrame:
    """Aggregate school forms to municipalities or the region.

    Parameters
    ----------
    forms : DataFrame
        ``MonitoringResult.forms`` (one row per school and year).
    spec : MonitoringSpec, optional
    level : {"municipality", "region"}

    Returns
    -------
    DataFrame
        Tidy: year, level, unit, unit_name, criterion, indicator, measure, kind, stat, value,
        n_yes (yes/no only), per_school and per_1000 (counts only), size_ratio (counts only:
        observed over the count usual for schools of their sizes, see :func:`_size_ratio`),
        n_schools (schools with the cell filled), n_students (their students).

    Notes
    -----
    count: value = Σxᵢ, per_school = Σxᵢ/k (k schools with xᵢ), per_1000 = 1000·Σxᵢ/Σnᵢ (over
    schools with xᵢ and nᵢ);
    yes/no: value = 100·Σyᵢ/k (k schools answering), n_yes = Σyᵢ;
    percent: value = Σpᵢnᵢ/Σnᵢ over schools with both.
    The region is aggregated from schools, not from municipal values.
    """
    spec = spec or load_monitoring_spec()
    meas = spec.measures.set_index("column")
    cols = [c for c in meas.index if c in forms.columns]
    long = forms.melt(id_vars=["year", "municipality_code", "n_students"], value_vars=cols,
                      var_name="measure", value_name="x")
    long = long[long["x"].notna()]
    # categories: grouping millions of rows (the replicates of rank_intervals) by strings is slow
    long["measure"] = pd.Categorical(long["measure"], categories=cols)
    long["kind"] = long["measure"].map(meas["kind"]).astype(str)
    unit = long["municipality_code"] if level == "municipality" else pd.Series("region", index=long.index)
    long["unit"] = pd.Categorical(unit)
    n = long["n_students"]
    long["nx"] = np.where(n.notna(), long["x"] * n, np.nan)
    long["n_w"] = n
    g = long.groupby(["year", "unit", "measure"], sort=True, observed=True)
    out = g.agg(kind=("kind", "first"), sx=("x", "sum"), k=("x", "size"), snx=("nx", "sum"),
                sn=("n_w", "sum"), k_n=("n_w", "count")).reset_index()
    kind = out["kind"]
    out["value"] = np.select([kind == "count", kind == "yesno", kind == "percent"],
                             [out["sx"], 100 * out["sx"] / out["k"],
                              out["snx"] / out["sn"].where(out["sn"] > 0)], np.nan)
    out["n_yes"] = np.where(kind == "yesno", out["sx"], np.nan)
    # per 1 000 students: only over schools whose students are known
    snx_count = long[long["n_w"].notna()].groupby(["year", "unit", "measure"], observed=True)["x"].sum()
    key = pd.MultiIndex.from_frame(out[["year", "unit", "measure"]])
    out["per_1000"] = np.where(kind == "count", 1000 * snx_count.reindex(key).to_numpy()
                               / out["sn"].where(out["sn"] > 0).to_numpy(), np.nan)
    out["per_school"] = np.where(kind == "count", out["sx"] / out["k"], np.nan)
    out["size_ratio"] = _size_ratio(long, key, kind)
    out["measure"], out["unit"] = out["measure"].astype(str), out["unit"].astype(str)
    out["stat"] = kind.map({"count": "сумма", "yesno": "доля ОО с «да», %",
                            "percent": "% обучающихся (взвешенный)"})
    out["n_schools"] = out["k"].astype(int)
    out["n_students"] = out["sn"]
    out["level"] = level
    out["indicator"] = out["measure"].map(meas["indicator"])
    out["criterion"] = out["measure"].map(meas["criterion"]).astype(int)
    out["unit_name"] = (out["unit"].map(municipality_names())
                        if level == "municipality" else REGION)
    order = {c: i for i, c in enumerate(meas.index)}
    out = out.sort_values(["year", "unit", "measure"], key=lambda s: s.map(order) if s.name == "measure" else s)
    return out[["year", "level", "unit", "unit_name", "criterion", "indicator", "measure", "kind", "stat",
                "value", "n_yes", "per_school", "per_1000", "size_ratio", "n_schools", "n_students"]
               ].reset_index(drop=True)


def _size_ratio(long: pd.DataFrame, key: pd.MultiIndex, kind: pd.Series) -> np.ndarray:
    """Σ observed / Σ expected counts of a unit's schools, the expectation given school size.

    Counts grow with a school's size, but less than in proportion (a school of 1 000 does not
    hold three times the events of one of 300). The expectation is the year's size curve of the
    measure over all schools given, log(x + ½) = a + b·log n by least squares, rescaled so that
    the expected counts sum to the observed ones; a unit at 1 has the activity usual for schools
    of its size (indirect standardisation; Breslow & Day, Statistical Methods in Cancer Research
    II, 1987, ch. 2). Units whose schools' sizes are unknown get NaN.
    """
    c = long[(long["kind"] == "count") & (long["n_w"] > 0)].copy()
    if c.empty:
        return np.full(len(key), np.nan)
    c["lx"], c["ln"] = np.log(c["x"] + 0.5), np.log(c["n_w"])
    g = c.groupby(["year", "measure"], observed=True)
    mx, mn = g["lx"].transform("mean"), g["ln"].transform("mean")
    c["dxdn"], c["dn2"] = (c["lx"] - mx) * (c["ln"] - mn), (c["ln"] - mn) ** 2
    sums = g[["dxdn", "dn2"]].transform("sum")
    b = (sums["dxdn"] / sums["dn2"].where(sums["dn2"] > 0)).fillna(0.0)
    c["e"] = np.exp(b * (c["ln"] - mn))
    g = c.groupby(["year", "measure"], observed=True)
    c["e"] *= g["x"].transform("sum") / g["e"].transform("sum")
    u = c.groupby(["year", "unit", "measure"], observed=True)[["x", "e"]].sum()
    ratio = (u["x"] / u["e"].where(u["e"] > 0)).reindex(key).to_numpy()
    return np.where(kind.to_numpy() == "count", ratio, np.nan)


def change(agg: pd.DataFrame, years: Iterable[int] | int | None = None,
           spec: MonitoringSpec | None = None) -> pd.DataFrame:
    """Year-over-year change, change since the base year (2018) and within the roadmap stage.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`aggregate` (one or both levels, concatenated).
    years : int or iterable of int, optional
        The years to report; default every year in ``agg``.
    spec : MonitoringSpec, optional
        For the base year and the stages.

    Returns
    -------
    DataFrame
        year, level, unit, unit_name, indicator, measure, kind, value, value_prev, change_yoy,
        value_base, base_year, change_base, stage, stage_name, stage_start, value_stage_start,
        change_stage; for counts also per_school and its changes (per_school_prev,
        change_yoy_per_school, change_base_per_school), which are comparable when the number of
        schools that sent forms differs between years. Changes are differences of values
        (percentage points for shares).
    """
    spec = spec or load_monitoring_spec()
    key = ["level", "unit", "measure"]
    base = agg[key + ["year", "value", "per_school"]]
    if years is None:
        years = sorted(agg["year"].unique())
    elif isinstance(years, (int, np.integer)):
        years = [int(years)]
    cur = agg[agg["year"].isin(list(years))][["year", "level", "unit", "unit_name", "indicator", "measure", "kind",
                                               "value", "per_school"]].copy()
    prev = base.assign(year=base["year"] + 1).rename(columns={"value": "value_prev", "per_school": "per_school_prev"})
    cur = cur.merge(prev, on=key + ["year"], how="left")
    by = spec.base_year
    b = base[base["year"] == by].drop(columns="year").rename(columns={"value": "value_base",
                                                                      "per_school": "per_school_base"})
    cur = cur.merge(b, on=key, how="left")
    cur["base_year"] = by
    cur["stage"] = stage_of(cur["year"], spec).to_numpy()
    st = spec.stages.set_index("id")
    cur["stage_name"] = cur["stage"].map(lambda s: f"{st.loc[s, 'name']} ({st.loc[s, 'start']}–{st.loc[s, 'end']})"
                                         if s == s else "")
    cur["stage_start"] = cur["stage"].map(st["start"])
    ss = base.rename(columns={"year": "stage_start", "value": "value_stage_start", "per_school": "_p"}).drop(columns="_p")
    cur = cur.merge(ss, on=key + ["stage_start"], how="left")
    cur["change_yoy"] = cur["value"] - cur["value_prev"]
    cur["change_base"] = cur["value"] - cur["value_base"]
    cur["change_stage"] = cur["value"] - cur["value_stage_start"]
    cur["change_yoy_per_school"] = cur["per_school"] - cur["per_school_prev"]
    cur["change_base_per_school"] = cur["per_school"] - cur["per_school_base"]
    return cur[["year", "level", "unit", "unit_name", "indicator", "measure", "kind", "value", "value_prev",
                "change_yoy", "value_base", "base_year", "change_base", "stage", "stage_name", "stage_start",
                "value_stage_start", "change_stage", "per_school", "per_school_prev", "change_yoy_per_school",
                "change_base_per_school"]].reset_index(drop=True)


def targets(agg: pd.DataFrame, spec: MonitoringSpec | None = None) -> pd.DataFrame:
    """Attainment of the indicators' targets.

    A ``level`` target is attained when value ≥ target (gap = target − value, in the value's
    units). A ``growth`` target (counts) is attained when the value per school is not
    below the previous year's (gap = previous − current per school; NaN in the first year).
    Targets flagged ``assumption`` are the kit's assumptions, not figures of the roadmap.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`aggregate`.
    spec : MonitoringSpec, optional

    Returns
    -------
    DataFrame
        year, level, unit, unit_name, indicator, measure, value, target_kind, target, attained
        (bool, NA when not assessable), gap, assumption, basis.
    """
    spec = spec or load_monitoring_spec()
    ind = spec.indicators.set_index("id")
    prim = spec.measures[spec.measures["primary"]]
    cal = spec.raw["calendar"]["target"]
    tinfo = {}
    for m in prim.itertuples():
        if m.indicator in ind.index:
            r = ind.loc[m.indicator]
            tinfo[m.column] = (r["target_kind"], r["target_value"], r["target_assumption"], r["target_basis"])
        else:
            tinfo[m.column] = (cal["kind"], cal.get("value", np.nan), bool(cal.get("assumption")), cal.get("basis", ""))
    a = agg[agg["measure"].isin(list(tinfo))].copy()
    a["target_kind"] = a["measure"].map(lambda c: tinfo[c][0])
    a["target"] = a["measure"].map(lambda c: tinfo[c][1]).astype(float)
    a["assumption"] = a["measure"].map(lambda c: tinfo[c][2])
    a["basis"] = a["measure"].map(lambda c: tinfo[c][3])
    prev = a[["level", "unit", "measure", "year", "per_school"]].assign(year=lambda d: d["year"] + 1)
    a = a.merge(prev.rename(columns={"per_school": "_prev"}), on=["level", "unit", "measure", "year"], how="left")
    lvl = a["target_kind"] == "level"
    gro = a["target_kind"] == "growth"
    a["gap"] = np.where(lvl, a["target"] - a["value"], np.where(gro, a["_prev"] - a["per_school"], np.nan))
    att = pd.Series(pd.NA, index=a.index, dtype="boolean")
    att[lvl] = (a.loc[lvl, "value"] >= a.loc[lvl, "target"] - 1e-9).to_numpy()
    ok = gro & a["_prev"].notna() & a["per_school"].notna()
    att[ok] = (a.loc[ok, "per_school"] >= a.loc[ok, "_prev"] - 1e-9).to_numpy()
    a["attained"] = att
    return a[["year", "level", "unit", "unit_name", "indicator", "measure", "value", "target_kind", "target",
              "attained", "gap", "assumption", "basis"]].reset_index(drop=True)


def composite_index(agg: pd.DataFrame, spec: MonitoringSpec | None = None) -> pd.DataFrame:
    """Rank municipalities per criterion and overall with the spec's documented method.

    For every composite indicator's primary measure, the municipal value becomes a within-year
    percentile rank. The value is normalised by the unit it is counted in: shares and yes/no
    shares as they are; counts — all of them counted by schools (agreements, teachers, events,
    publications) — as the ratio of the municipality's count to the count usual for schools of
    their sizes (``size_ratio`` of :func:`aggregate`). Counts grow with school size less than in
    proportion: per 1 000 students put every large city school below a small rural one (in the
    sample the 16 city districts took the bottom 20 places), per school the other way round
    (the city districts took the top 10); neither was planted.

    .. math:: P = 100\\,(r - 1)/(m - 1)

    (r the average rank among the m municipalities with a value; P = 50 when m = 1). The criterion
    index is the weighted mean of its indicators' P (weights ``composite_weight``) over available
    indicators; the overall index is the weighted mean of criterion indices (``criteria[].weight``)
    over available criteria. Ranks: 1 = highest index in the year.

    Parameters
    ----------
    agg : DataFrame
        Output of :func:`aggregate` at ``level="municipality"``.
    spec : MonitoringSpec, optional

    Returns
    -------
    DataFrame
        year, unit, unit_name, criterion (0 = overall), criterion_name, index, rank, n_indicators.
    """
    spec = spec or load_monitoring_spec()
    ind = spec.indicators[spec.indicators["composite"]].set_index("primary")
    a = agg[(agg["level"] == "municipality") & agg["measure"].isin(ind.index)].copy()
    if a.empty:
        raise DataError("нет муниципальных значений показателей для сводного индекса; передайте "
                        "aggregate(..., level='municipality').")
    a["metric"] = np.where(a["kind"] == "count", a["size_ratio"], a["value"])
    a = a[a["metric"].notna()]
    r = a.groupby(["year", "measure"])["metric"].rank(method="average")
    m = a.groupby(["year", "measure"])["metric"].transform("size")
    a["p"] = np.where(m > 1, 100 * (r - 1) / (m - 1).where(m > 1), 50.0)
    a["w"] = a["measure"].map(ind["composite_weight"])
    a["pw"] = a["p"] * a["w"]
    c = a.groupby(["year", "unit", "unit_name", "criterion"], as_index=False).agg(
        pw=("pw", "sum"), w=("w", "sum"), n_indicators=("p", "size"))
    c["index"] = c["pw"] / c["w"]
    cw = spec.criteria.set_index("id")["weight"]
    c["cw"] = c["criterion"].map(cw)
    c["icw"] = c["index"] * c["cw"]
    o = c.groupby(["year", "unit", "unit_name"], as_index=False).agg(icw=("icw", "sum"), cw=("cw", "sum"),
                                                                    n_indicators=("n_indicators", "sum"))
    o["index"] = o["icw"] / o["cw"]
    o["criterion"] = 0
    out = pd.concat([o, c], ignore_index=True)
    out["criterion_name"] = out["criterion"].map({0: "Общий индекс", **spec.criteria.set_index("id")["name"]})
    out["rank"] = out.groupby(["year", "criterion"])["index"].rank(ascending=False, method="min").astype(int)
    return out.sort_values(["year", "criterion", "rank", "unit"])[
        ["year", "unit", "unit_name", "criterion", "criterion_name", "index", "rank", "n_indicators"]
    ].reset_index(drop=True)


def rank_intervals(forms: pd.DataFrame, year: int, spec: MonitoringSpec | None = None, *,
                   replicates: int = 200, seed: int = 20260, level: float = 0.95) -> pd.DataFrame:
    """The uncertainty of the municipalities' overall rank: intervals by resampling schools.

    Each replicate draws, within every municipality, as many schools as it reported, with
    replacement (the schools are the sampled units of a municipality's value), recomputes the
    aggregates and :func:`composite_index`, and records each municipality's overall rank; the
    interval is the central ``level`` range of the replicate ranks. As PISA reports ranks: a
    municipality is placed by the range of ranks it could hold, not by one rank (OECD, PISA 2018
    Results, Vol. I, Annex A3).

    Parameters
    ----------
    forms : DataFrame
        The school-level monitoring forms (:func:`~proforient_diag.sources.load_monitoring`).
    year : int
    spec : MonitoringSpec, optional
    replicates : int, default 200
    seed : int, default 20260
    level : float, default 0.95

    Returns
    -------
    DataFrame
        unit, unit_name, rank, rank_low, rank_high, index.
    """
    spec = spec or load_monitoring_spec()
    check_range("replicates", replicates, low=2, high=100_000, integer=True)
    check_range("level", level, low=0.5, high=1, high_open=True)
    f = forms[forms["year"] == year].reset_index(drop=True)
    base = composite_index(aggregate(f, spec, "municipality"), spec)
    base = base[(base["year"] == year) & (base["criterion"] == 0)]
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(f["municipality_code"].to_numpy() == m)
              for m in pd.unique(f["municipality_code"])]
    # all replicates in one frame, the replicate number in the year column: one aggregation and
    # one composite for all of them (the size curve is still fitted within each replicate)
    draws = [np.concatenate([rng.choice(g, size=len(g), replace=True) for g in groups])
             for _ in range(replicates)]
    boot = f.iloc[np.concatenate(draws)].reset_index(drop=True)
    boot["year"] = np.repeat(np.arange(replicates), [len(d) for d in draws])
    ci = composite_index(aggregate(boot, spec, "municipality"), spec)
    r = ci[ci["criterion"] == 0].pivot(index="unit", columns="year", values="rank")
    tail = (1 - level) / 2
    out = base[["unit", "unit_name", "rank", "index"]].set_index("unit")
    out["rank_low"] = r.quantile(tail, axis=1, interpolation="lower").reindex(out.index)
    out["rank_high"] = r.quantile(1 - tail, axis=1, interpolation="higher").reindex(out.index)
    return out.reset_index()[["unit", "unit_name", "rank", "rank_low", "rank_high", "index"]]


# -- tables of the note ---------------------------------------------------------------------------

def criterion_table(agg: pd.DataFrame, year: int, criterion: int,
                    spec: MonitoringSpec | None = None, unit: str = "region") -> pd.DataFrame:
    """The primary indicators of one criterion in ``year`` for the region (or one municipality),
    with their changes, as the note shows them (Russian headers, formatted values; counts also
    per school, the unit they are counted in).

    Parameters
    ----------
    agg : DataFrame
        :func:`aggregate`, all years.
    year : int
    criterion : int
    spec : MonitoringSpec, optional
    unit : str, default "region"
        ``"region"`` or a municipality's code.
    """
    spec = spec or load_monitoring_spec()
    prim = spec.measures[spec.measures["primary"]].set_index("column")
    ch = change(agg[agg["unit"] == unit], [year], spec)
    r = ch[ch["measure"].isin(prim.index)]
    r = r[r["measure"].map(prim["criterion"]) == criterion]
    rows = []
    for x, name in zip(r.itertuples(), r["measure"].map(prim["header"])):
        cnt = x.kind == "count"
        rows.append({"Показатель": name, "Значение": fmt_int(x.value) if cnt else fmt_pct(x.value),
                     "На одну ОО": fmt_num(x.per_school) if cnt else "—",
                     "За год": fmt_num(x.change_yoy_per_school if cnt else x.change_yoy, 1),
                     f"С {spec.base_year} г.": fmt_num(x.change_base_per_school if cnt
                                                       else x.change_base, 1),
                     "С начала этапа": "—" if cnt else fmt_num(x.change_stage, 1)})
    return pd.DataFrame(rows)


_MONTHS = {3: "март", 4: "апрель", 5: "май", 9: "сентябрь", 12: "декабрь"}


def targets_table(agg: pd.DataFrame, year: int, spec: MonitoringSpec | None = None,
                  unit: str = "region") -> pd.DataFrame:
    """The indicators against the targets assumed for the calculation, as the note shows them:
    the indicator's number (the regional plan's events by name), its value in its unit (counts
    as whole numbers, shares in %), the kind of target, the target, whether it is reached and
    the basis of the assumption."""
    spec = spec or load_monitoring_spec()
    events = {e["column"]: e["name"] for e in spec.raw["calendar"]["events"]}
    months = {e["column"]: e["month"] for e in spec.raw["calendar"]["events"]}
    kinds = spec.measures.set_index("column")["kind"]
    t = targets(agg[agg["unit"] == unit], spec)
    t = t[t["year"] == year]
    month_names = _MONTHS
    rows = []
    for r in t.itertuples():
        cnt = kinds[r.measure] == "count"
        name = (f"«{events[r.measure]}» ({month_names.get(months[r.measure], months[r.measure])})"
                if r.measure in events else r.indicator)
        rows.append({"Показатель": name, "Значение": fmt_int(r.value) if cnt else fmt_pct(r.value),
                     "Вид ориентира": {"level": "уровень", "growth": "не ниже прошлого года"}[r.target_kind],
                     "Ориентир": "—" if pd.isna(r.target) else fmt_pct(r.target, 0),
                     "Достигнут": "—" if pd.isna(r.attained) else ("да" if r.attained else "нет"),
                     "Основание (допущение)": r.basis})
    return pd.DataFrame(rows)


def municipal_criterion_table(agg: pd.DataFrame, year: int, criterion: int,
                              spec: MonitoringSpec | None = None,
                              municipality: str | None = None) -> pd.DataFrame:
    """The municipalities' primary indicators of one criterion in ``year``: shares in %, counts
    per school (every count of the forms is counted by a school: per 1 000 students would put
    large city schools below small rural ones); one row per municipality (or only
    ``municipality``, then with the region's row beside it)."""
    spec = spec or load_monitoring_spec()
    prim = spec.measures[spec.measures["primary"]].set_index("column")
    a = agg[(agg["level"] == "municipality") & (agg["year"] == year) & agg["measure"].isin(prim.index)]
    a = a[a["criterion"] == criterion]
    if municipality is not None:
        a = a[a["unit"] == municipality]
        r = agg[(agg["level"] == "region") & (agg["year"] == year) & agg["measure"].isin(prim.index)]
        a = pd.concat([a, r[r["criterion"] == criterion]], ignore_index=True)
    months = {e["column"]: e["month"] for e in spec.raw["calendar"]["events"]}
    month_names = _MONTHS
    column = a["measure"].map(lambda m: f"План: {month_names.get(months[m], months[m])}"
                              if m in months else None).fillna(a["indicator"])
    a = a.assign(v=a["value"].where(a["kind"] != "count", a["per_school"]), column=column)
    return (a.pivot(index="unit_name", columns="column", values="v")
            .reindex(columns=pd.unique(column), index=pd.unique(a["unit_name"]))
            .rename_axis(None, axis=1).rename_axis("Муниципалитет"))


# -- diagnostics × monitoring -------------------------------------------------------------------

_PREDICTORS = {
    "cov_4_1": ("i4_1", "Охват внеурочной профориентационной деятельностью (4.1), %"),
    "portfolio_4_2": ("i4_2", "Охват Портфолио с разделом по профориентации (4.2), %"),
    "events_4_3": ("i4_3", "Совместные мероприятия с соцпартнёрами, всего (4.3), ед."),
    "trained_2_3": ("i2_3", "Педагоги, прошедшие КПК по профориентации (2.3), на 100 обучающихся"),
}


@dataclass(frozen=True)
class ActivityAssociation:
    """Association of students' total index with their school's monitoring indicators.

    Attributes
    ----------
    coefficients : DataFrame
        model ("composite" or "joint"), term, predictor, component ("between"/"within"), label,
        estimate (index points per 1 SD of the
        predictor across school-years), se, z, p, ci_low, ci_high, sd_raw (the predictor's SD in
        its own units).
    fit : DataFrame
        One row per model: model, structure, n_students, n_schools, n_municipalities,
        n_school_years, converged, var_school, var_municipality, var_residual, loglik.
    data : DataFrame
        The school-year predictors used (school_id, year, raw and standardised values).
    """

    coefficients: pd.DataFrame
    fit: pd.DataFrame
    data: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.coefficients

    def summary(self) -> str:
        """A short Russian text: the estimate with its CI, worded as an association."""
        c = self.coefficients.set_index(["model", "term"])
        f = self.fit.set_index("model")
        r = c.loc[("composite", "activity_b")]
        fc = f.loc["composite"]
        sig = r["p"] < 0.05
        sign = "положительная" if r["estimate"] > 0 else "отрицательная"
        head = (f"Модель: {fc['structure']}; {fmt_int(fc['n_students'])} обучающихся из "
                f"{fmt_int(fc['n_schools'])} ОО ({fmt_int(fc['n_school_years'])} пар «ОО — год»).")
        if sig:
            main = (f"Обучающиеся школ с более высоким сводным показателем профориентационной "
                    f"активности (среднее за годы стандартизованных 4.1, 4.2, 4.3 и 2.3) в среднем имеют "
                    f"{'более высокий' if r['estimate'] > 0 else 'более низкий'} общий индекс: {sign} связь, {fmt_num(r['estimate'])} балла на 1 "
                    f"стандартное отклонение показателя (95 % ДИ {fmt_num(r['ci_low'])} — "
                    f"{fmt_num(r['ci_high'])}; p {fmt_p(r['p'])}) при равных параллели и годе.")
        else:
            main = (f"Статистически значимой связи общего индекса со сводным показателем "
                    f"профориентационной активности школ не обнаружено: {fmt_num(r['estimate'])} балла "
                    f"на 1 стандартное отклонение (95 % ДИ {fmt_num(r['ci_low'])} — {fmt_num(r['ci_high'])}; "
                    f"p {fmt_p(r['p'])}).")
        caveat = ("Это связь, а не доказанное влияние: школы с активной профориентацией могут "
                  "отличаться и по другим причинам (состав обучающихся, кадры, муниципалитет); "
                  "наблюдательные данные не позволяют отделить эти причины.")
        return " ".join([head, main, caveat])


def activity_association(scores: pd.DataFrame, forms: pd.DataFrame, *, municipality_vc: bool = True,
                         outcome: str = "total") -> ActivityAssociation:
    """Mixed model of students' total index on their school's monitoring indicators.

    Two models, both with band and year fixed effects and a random intercept per school:

    * ``composite``: total ~ activity_b + activity_w + C(band) + C(year), where *activity* is the
      standardised mean of the four standardised indicators below; ``activity_b`` is the
      school's mean over its observed years (between schools: the primary test) and
      ``activity_w`` the year's deviation from it (within a school);
    * ``joint``: the same split for each of z(4.1), z(4.2), z(4.3), z(2.3 per 100 students)
      (the indicators are correlated, so their separate coefficients are less precise).

    Why the split (Mundlak 1978; Bell & Jones 2015): with a single term a random-intercept model
    returns a precision-weighted mix of the between-school and the within-school slopes; the
    within part is estimated from many students per school and dominates, so a between-school
    association would be shrunk towards the within-school one, which answers another question.

    The indicators are standardised within each year over the schools that have scores (the
    year's regional trend is the year effect's business; what is related to students' scores is
    the school's standing among the year's schools), so an estimate is in index points per 1
    within-year SD of the indicator (``sd_raw`` gives that SD in the indicator's own units). With ``municipality_vc`` the school intercept is nested in a
    municipality variance component (groups = municipality, school as a variance component); if
    that fit does not converge or the municipality variance is on the boundary (< 1e-6), the model
    is refitted with schools as groups and ``fit.structure`` says so. REML throughout.

    In R: ``lme4::lmer(total ~ activity_b + activity_w + band + factor(year) + (1 | municipality/school_id))``.

    Parameters
    ----------
    scores : DataFrame
        Student scores: school_id, year, band and ``outcome`` (e.g. from
        :func:`proforient_diag.scoring.score`).
    forms : DataFrame
        ``MonitoringResult.forms``.
    municipality_vc : bool
        Try the municipality variance component.
    outcome : str
        The score column (default the total index).

    Returns
    -------
    ActivityAssociation

    Raises
    ------
    DataError
        Fewer than 10 schools with both scores and indicators.
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    for c in ("school_id", "year", "band", outcome):
        if c not in scores.columns:
            raise DataError(f"в таблице баллов нет столбца «{c}»; передайте результат score().", column=c)
    f = forms[["school_id", "year", "municipality_code", "n_students", "i4_1", "i4_2", "i4_3", "i2_3"]].copy()
    f["i2_3"] = 100 * f["i2_3"] / f["n_students"]
    f = f.dropna(subset=["i4_1", "i4_2", "i4_3", "i2_3"])
    # keep the school-years that have students' scores, then standardise within year
    have = scores[["school_id", "year"]].drop_duplicates()
    f = f.merge(have, on=["school_id", "year"], how="inner")
    raw_sd = {}
    by_year = f.groupby("year")
    for name, (col, _) in _PREDICTORS.items():
        sd = by_year[col].transform("std")
        raw_sd[name] = float(np.sqrt(np.nanmean(sd ** 2))) if len(f) else np.nan
        f[name] = (f[col] - by_year[col].transform("mean")) / sd
    act = f[list(_PREDICTORS)].mean(axis=1)
    asd = act.groupby(f["year"]).transform("std")
    raw_sd["activity"] = float(np.sqrt(np.nanmean(asd ** 2))) if len(f) else np.nan
    f["activity"] = (act - act.groupby(f["year"]).transform("mean")) / asd
    d = scores[["school_id", "year", "band", outcome]].dropna().merge(f, on=["school_id", "year"], how="inner")
    d = d.rename(columns={outcome: "y"})
    # within–between (Mundlak) split: the school mean over its observed years and the year's deviation
    sy = d[["school_id", "year"] + list(_PREDICTORS) + ["activity"]].drop_duplicates(["school_id", "year"])
    for name in [*_PREDICTORS, "activity"]:
        mean = sy.groupby("school_id")[name].mean()
        d[f"{name}_b"] = d["school_id"].map(mean)
        d[f"{name}_w"] = d[name] - d[f"{name}_b"]
    if d["school_id"].nunique() < 10:
        raise DataError(f"только {d['school_id'].nunique()} ОО имеют и баллы диагностики, и форму "
                        "мониторинга за тот же год; для модели нужно не меньше 10 ОО.")
    d["band"] = d["band"].astype(str)
    d["year_f"] = d["year"].astype(str)
    rhs = {"composite": "activity_b + activity_w",
           "joint": " + ".join([f"{p}_b" for p in _PREDICTORS] + [f"{p}_w" for p in _PREDICTORS])}
    coef_rows, fit_rows = [], []
    for model, terms in rhs.items():
        formula = f"y ~ {terms} + C(band) + C(year_f)"
        res, structure, var_m = None, "", np.nan
        if municipality_vc and d["municipality_code"].nunique() > 1:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                try:
                    r = smf.mixedlm(formula, d, groups=d["municipality_code"], re_formula="1",
                                    vc_formula={"school": "0 + C(school_id)"}).fit(reml=True)
                    bad_conv = any(issubclass(x.category, ConvergenceWarning) for x in w)
                    var_m = float(r.cov_re.iloc[0, 0])
                    if r.converged and not bad_conv and var_m > 1e-6:
                        res = r
                        structure = ("Смешанная (многоуровневая) модель: случайные свободные члены школ, вложенных в муниципалитеты; "
                                     "фиксированные эффекты параллели и года")
                        var_s = float(r.vcomp[0])
                except (np.linalg.LinAlgError, ValueError):
                    res = None
        if res is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = smf.mixedlm(formula, d, groups=d["school_id"]).fit(reml=True)
            note = (" (компонента муниципалитета не оценена: модель не сошлась или дисперсия "
                    "муниципалитетов на границе)" if municipality_vc else "")
            structure = "Смешанная (многоуровневая) модель: случайные свободные члены школ; фиксированные эффекты параллели и года" + note
            var_s, var_m = float(res.cov_re.iloc[0, 0]), np.nan
        ci = res.conf_int()
        for t in terms.split(" + "):
            base, part = t.rsplit("_", 1)
            label = _PREDICTORS[base][1] if base in _PREDICTORS else "Сводный показатель профориентационной активности ОО"
            label += (" — между школами (среднее ОО за годы)" if part == "b"
                      else " — внутри школы (отклонение года от среднего ОО)")
            coef_rows.append({"model": model, "term": t, "predictor": base,
                              "component": "between" if part == "b" else "within", "label": label,
                              "estimate": res.fe_params[t], "se": res.bse_fe[t], "z": res.tvalues[t],
                              "p": res.pvalues[t], "ci_low": ci.loc[t, 0], "ci_high": ci.loc[t, 1],
                              "sd_raw": raw_sd[base]})
        fit_rows.append({"model": model, "structure": structure, "n_students": len(d),
                         "n_schools": d["school_id"].nunique(), "n_municipalities": d["municipality_code"].nunique(),
                         "n_school_years": len(d[["school_id", "year"]].drop_duplicates()),
                         "converged": bool(res.converged), "var_school": var_s, "var_municipality": var_m,
                         "var_residual": float(res.scale), "loglik": float(res.llf)})
    return ActivityAssociation(pd.DataFrame(coef_rows), pd.DataFrame(fit_rows), f.reset_index(drop=True))
