"""Section 6–7 of the note: changes since last year and the base year, subgroups, municipalities
against the region, the trend with the roadmap's stages, and cohorts.

Every between-version comparison carries the linking error (:mod:`.linking`); tables are built
unsuppressed, with raw p-values, and :mod:`.disclosure` hides small groups and adjusts the
p-values over the rows shown.

Municipalities against the region
---------------------------------
With one sampled school a municipality's mean carries that school's effect, and the
cluster-robust SE of :func:`~proforient_diag.compare.compare_groups` degenerates (the residuals
of a single cluster sum to zero). The municipal mean is therefore compared with the region with
the random-school-effect variance :math:`\\hat\\sigma^2_b/k_m + \\hat\\sigma^2_w/n_m` (one-way
ANOVA estimates of the between- and within-school variances of the year, :math:`k_m` sampled
schools), plus the cluster-robust variance of the regional weighted mean (ignoring their positive
covariance: conservative), a normal reference and Benjamini–Hochberg adjustment over the
municipalities [1]_.

Own numerics, and why: the municipal variance above (compare's CR1 is undefined with one school)
and the linking variance of the trend slope and the level shares (a statistic re-evaluated under
the linking replicates); everything else is :mod:`proforient_diag.compare`.

References
----------
.. [1] Benjamini Y., Hochberg Y. (1995). *JRSS B* 57, 289–300.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..compare import adjust_p, cohort_change, compare_groups, compare_years, level_shift, trend
from ..errors import DataError
from ..weighting import weighted_mean
from .coverage import weighted_mean_of
from .disclosure import change_verdict
from .labels import BAND_ORDER, years_text
from .scope import Scope

__all__ = ["changes", "level_changes", "subgroup_changes", "group_differences",
           "municipalities_vs_region", "trend_tables", "cohorts"]


def _two_years(sc: Scope, data: pd.DataFrame, col: str, ref: int, cluster, le: dict) -> dict:
    two = data[data["year"].isin([ref, sc.year])]
    return compare_years(two, col, baseline=None, weights="weight", cluster=cluster,
                         linking_error=le, confidence=sc.confidence, adjust="none").iloc[0].to_dict()


def changes(sc: Scope) -> pd.DataFrame:
    """Each score (components and index) of the note's year against each comparison year."""
    rows = []
    for s in sc.score_cols:
        sub = sc.data[sc.data["year"].isin([*sc.compare_with, sc.year])
                      & sc.data[f"{s}_linked"].notna()]
        if sub["year"].nunique() < 2:
            continue
        for ref in sc.compare_with:
            if sub.loc[sub["year"].isin([ref, sc.year]), "year"].nunique() < 2:
                continue
            r = _two_years(sc, sub, f"{s}_linked", ref, sc.cluster, sc.linking_errors(s))
            r.update(score=s, reference=ref, group=sc.year, comparison=sc.comparison(ref),
                     linked=sc.linked_year(ref) and sc.linked_year(sc.year))
            rows.append(r)
    return pd.DataFrame(rows)


def _level_linking_errors(sc: Scope, x: pd.DataFrame, v: int) -> dict:
    """Linking SE (pp) of each level share of ``x`` (a year of version ``v``)."""
    lk, levels = sc.linking, sc.levels
    w = x["weight"].to_numpy(float)
    tot = x["total"].to_numpy(float)
    vb = list(zip(x["instrument_version"].astype(int), x["band"].astype(str)))
    cuts = [np.asarray(sc.instrument.levels.cuts[b], float) for b in x["band"].astype(str)]
    cutm = np.vstack(cuts) if len(cuts) else np.zeros((0, len(levels) - 1))

    def share(tab, k):
        # smoothed level indicator (bandwidth 1 index point): the index is discrete, and a hard
        # cut would turn a tiny replicate shift into a jump of a whole atom
        sh = np.array([tab[key] for key in vb])
        above = stats.norm.cdf((tot + sh)[:, None] - cutm)
        upper = np.column_stack([np.ones(len(tot)), above, np.zeros(len(tot))])
        pk = upper[:, k] - upper[:, k + 1]
        return 100 * float(np.sum(w * pk) / w.sum())
    return {L: float(np.sqrt(lk.variance("total", lambda t, k=k: share(t, k))))
            for k, L in enumerate(levels)}


def level_changes(sc: Scope) -> pd.DataFrame:
    """Percentage-point changes of level shares (linked levels) with the linking error added."""
    rows = []
    for ref in sc.compare_with:
        two = sc.data[sc.data["year"].isin([ref, sc.year])]
        if two["year"].nunique() < 2:
            continue
        res = level_shift(two, "year", "level_linked", weights="weight", cluster=sc.cluster,
                          reference=ref, adjust="none", confidence=sc.confidence)
        ch = res.changes.copy()
        v = sc.version(ref)
        linked = sc.linking.is_linked(v)
        le = (_level_linking_errors(sc, two[two["year"] == ref], v)
              if v != sc.target and linked else {})
        ch["se_linking_pp"] = ch["level"].map(le).fillna(0.0)
        se = np.sqrt(ch["se_pp"] ** 2 + ch["se_linking_pp"] ** 2)
        dfree = np.maximum(ch["n_clusters"] - 1, 1) if sc.cluster else len(two) - 2
        crit = stats.t.ppf(0.5 + sc.confidence / 2, dfree)
        ch["se_pp"] = se
        ch["ci_low_pp"], ch["ci_high_pp"] = ch["diff_pp"] - crit * se, ch["diff_pp"] + crit * se
        ch["p"] = 2 * stats.t.sf(np.abs(ch["diff_pp"] / se), dfree)
        ch["comparison"] = sc.comparison(ref)
        ch["linked"] = linked
        rows.append(ch)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if len(out):   # the whole population of the note: no group to hide
        out["p_adj"] = adjust_p(out["p"].to_numpy(), "holm")
        out["verdict"] = [change_verdict(a, b, p) if lkd else "не связаны" for a, b, p, lkd in
                          zip(out["ci_low_pp"], out["ci_high_pp"], out["p_adj"], out["linked"])]
    return out


def subgroup_changes(sc: Scope) -> pd.DataFrame:
    """The index of each band, sex and area of the note's year against each comparison year."""
    data, cur, rows = sc.data, sc.current, []
    for by in ("band", "sex", "area"):
        if by not in data:
            continue
        values = BAND_ORDER if by == "band" else sorted(data[by].dropna().unique())
        for gval in [g for g in values if (cur[by] == g).any()]:
            x = data[data[by] == gval]
            for ref in sc.compare_with:
                two = x[x["year"].isin([ref, sc.year])]
                if two["year"].nunique() < 2 or two.groupby("year").size().min() < 2:
                    continue
                cl = sc.cluster if two["school_id"].nunique() >= 5 else None
                le = sc.linking_errors("total", gval if by == "band" else None)
                r = _two_years(sc, two, "total_linked", ref, cl, le)
                r.update(by=by, subgroup=gval, reference=ref, group=sc.year,
                         linked=sc.linked_year(ref) and sc.linked_year(sc.year))
                rows.append(r)
    return pd.DataFrame(rows)


def group_differences(sc: Scope) -> pd.DataFrame:
    """Girls against boys and town against village in the note's year."""
    cur, out = sc.current, []
    for by, ref in (("sex", "м"), ("area", "село")):
        if by in cur and cur[by].nunique() == 2 and ref in set(cur[by]):
            out.append(compare_groups(cur, "total", by, weights="weight", cluster=sc.cluster,
                                      reference=ref, confidence=sc.confidence))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def municipalities_vs_region(sc: Scope, score: str = "total") -> pd.DataFrame:
    """Each municipality's weighted mean against the region's (see the module docstring)."""
    cur, confidence = sc.current_region, sc.confidence
    d = cur[cur[score].notna()]
    reg = weighted_mean(d, score, "weight", cluster="school_id", confidence=confidence)
    g = d.groupby("school_id")[score]   # one-way ANOVA variance components over schools
    n_i, m_i, v_i = g.size(), g.mean(), g.var(ddof=1)
    N, k = int(n_i.sum()), len(n_i)
    msw = float(((n_i - 1) * v_i).sum() / (N - k))
    msb = float((n_i * (m_i - d[score].mean()) ** 2).sum() / (k - 1))
    n0 = (N - (n_i ** 2).sum() / N) / (k - 1)
    s2b = max((msb - msw) / n0, 0.0)
    mg = d.groupby(["municipality_code", "municipality"])
    t = mg.agg(n=(score, "size"), schools=("school_id", "nunique"),
               mean=(score, "mean")).reset_index()
    t["mean"] = [weighted_mean_of(x, score, x["weight"]) for _, x in mg]
    t["region_mean"] = reg.mean
    t["diff"] = t["mean"] - reg.mean
    t["se"] = np.sqrt(s2b / t["schools"] + msw / t["n"] + reg.se ** 2)
    z = stats.norm.ppf(0.5 + confidence / 2)
    t["ci_low"], t["ci_high"] = t["diff"] - z * t["se"], t["diff"] + z * t["se"]
    t["p"] = 2 * stats.norm.sf(np.abs(t["diff"] / t["se"]))
    t["p_adj"] = adjust_p(t["p"].to_numpy(), "fdr_bh")
    t["verdict"] = [("выше региона" if r["ci_low"] > 0 else "ниже региона")
                    if r["p_adj"] < 0.05 and (r["ci_low"] > 0 or r["ci_high"] < 0) else
                    "не отличается" for _, r in t.iterrows()]
    t["sigma2_between"], t["sigma2_within"] = s2b, msw
    return t


def _slope_linking_se(sc: Scope, tdata: pd.DataFrame) -> float:
    """Linking SE of the WLS trend slope: the slope re-evaluated under the linking replicates."""
    t = tdata["year"].to_numpy(float)
    w = tdata["weight"].to_numpy(float)
    tc = t - np.sum(w * t) / w.sum()
    den = np.sum(w * tc ** 2)
    cells = pd.DataFrame({"v": tdata["instrument_version"].astype(int).to_numpy(),
                          "b": tdata["band"].astype(str).to_numpy(),
                          "g": w * tc / den}).groupby(["v", "b"])["g"].sum()

    def slope_stat(tab):
        return float(sum(g * tab[(v, b)] for (v, b), g in cells.items()))
    return float(np.sqrt(sc.linking.variance("total", slope_stat)))


def trend_tables(sc: Scope, *, mixed: bool) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame,
                                                     list[str]]:
    """The trend of the linked index: per-year means, the slope (with its linking error), the
    stages, and warnings. In a municipal note the region's years are added (group «Регион»)."""
    le = sc.linking_errors("total")
    tdata = sc.data[sc.data["total_linked"].notna()]
    tr = trend(tdata, "total_linked", cluster=sc.cluster, weights="weight", linking_error=le,
               mixed=mixed and sc.cluster is not None, baseline=sc.baseline,
               confidence=sc.confidence)
    slope = tr.slope.copy()
    se_link = _slope_linking_se(sc, tdata)
    slope["se_linking"] = [se_link if "OLS" in m else np.nan for m in slope["model"]]
    slope["se_total"] = np.sqrt(slope["se"] ** 2 + slope["se_linking"].fillna(0) ** 2)
    dfree = max(int(slope["n_clusters"].iat[0]) - 1, 1)
    crit = stats.t.ppf(0.5 + sc.confidence / 2, dfree)
    slope["ci_low_total"] = slope["slope"] - crit * slope["se_total"]
    slope["ci_high_total"] = slope["slope"] + crit * slope["se_total"]
    slope["p_total"] = 2 * stats.t.sf(np.abs(slope["slope"] / slope["se_total"]), dfree)
    unlinked = [y for y in sc.years if not sc.linked_year(y)]
    slope["all_linked"] = not unlinked
    ty = tr.years.copy()
    ty["linked"] = [None if sc.version(y) == sc.target else sc.linked_year(y) for y in ty["year"]]
    ty["version"] = [sc.version(y) for y in ty["year"]]
    ty["le"] = [le[y] for y in ty["year"]]
    warns = []
    if unlinked:
        warns.append(f"Тренд {sc.years[0]}–{sc.year} включает несвязанные годы "
                     f"({years_text(unlinked)}): наклон смешивает изменения обучающихся и "
                     "изменения инструмента.")
    if sc.municipality is not None:
        rt = trend(sc.region[sc.region["total_linked"].notna()], "total_linked", weights="weight",
                   mixed=False, linking_error=le, baseline=sc.baseline)
        ty = pd.concat([ty.assign(group=sc.municipality_name), rt.years.assign(group="Регион")],
                       ignore_index=True)
    return ty, slope, tr.stages, warns


def cohorts(sc: Scope) -> tuple[pd.DataFrame, list[str]]:
    """The same students (by pseudonym) last year and this year, on the same band form."""
    year, data, out, notes = sc.year, sc.data, [], []
    firsts = [y for y in sc.compare_with if y == year - 1] or \
        ([year - 1] if year - 1 in sc.years else [])
    for y1 in firsts:
        pair = data[data["year"].isin([y1, year])]
        first = pair[pair["year"] == y1][["respondent_pid", "band"]]
        second = pair[pair["year"] == year][["respondent_pid", "band"]]
        mm = first.merge(second, on="respondent_pid", suffixes=("_1", "_2"))
        same = set(mm.loc[mm["band_1"] == mm["band_2"], "respondent_pid"])
        keep = pair[pair["respondent_pid"].isin(same)]
        keep = keep.drop_duplicates(["respondent_pid", "year"], keep=False)
        if keep["respondent_pid"].nunique() < 2:
            continue
        try:
            cc = cohort_change(keep, "total_linked", id="respondent_pid", years=(y1, year),
                               by="band", confidence=sc.confidence)
            cc = pd.concat([cc, cohort_change(keep, "total_linked", id="respondent_pid",
                                              years=(y1, year), confidence=sc.confidence)],
                           ignore_index=True)
            cc["n_form_change"] = len(mm) - len(same)
            cc["p_adj"] = adjust_p(cc["p"].to_numpy(), "holm")
            out.append(cc.drop(columns=[c for c in ("n_only_first", "n_only_second") if c in cc]))
        except DataError as exc:
            notes.append(f"Когорты {y1}–{year}: {exc}")
    return (pd.concat(out, ignore_index=True) if out else pd.DataFrame()), notes
