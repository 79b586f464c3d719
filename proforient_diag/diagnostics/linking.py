"""The instrument versions on one scale: chained anchor mean equating and its linking error.

Versions 2018 (2018–2020), 2021 (2021–2023), 2024 (2024–2025) and 2026 replace a few items each
and keep the rest unchanged as anchors. The note reports every year **on the scale of the
version in force in the note's year** (so this year's numbers are the ones schools see and the
level cut scores apply unchanged). Method: **chained mean equating through the anchor items**
(the non-equivalent-groups anchor-test design [1]_, ch. 4), for each consecutive pair of versions
present in the data, each band form and each score (the five components and the index):

* the *anchor index* V is computed exactly as the score is (keyed answers as percent of the
  maximum, averaged within a component, components averaged into the index) but on the anchor
  items only — identical items, so V is on the same scale in both versions;
* on the last year P of the old version and the first year Q of the new one,
  :math:`D = \\text{full score} - V`; the shift that puts an old-version score on the new scale is
  :math:`c = \\bar D_Q - \\bar D_P`, so that :math:`x^{*} = x + c`; shifts of a chain of versions add up;
* **linking error**: the jackknife over anchor items (drop one anchor, recompute c;
  :math:`SE^2_{jk} = \\tfrac{m-1}{m}\\sum_a (c_{(a)} - \\bar c_{(\\cdot)})^2`, the PISA link error
  [2]_, which measures how much the shift depends on the particular anchors) plus the sampling
  variance of :math:`\\bar D_Q` and :math:`\\bar D_P`; errors of the pairs in a chain add in
  variance. For any statistic of the linked scores (a year's weighted mean, a band's mean, a
  level share, the trend slope) the linking variance is computed the same way: the statistic is
  re-evaluated under each jackknife replicate and each sampling perturbation of the shifts.

Why not the IRT route (GRM per band form, Stocking–Lord constants): the reported index is a mean
of percent scores, not θ; turning θ-scale constants into index points needs the test
characteristic curves of every form and adds model error, while the equating above works on the
reported metric itself and needs no model fit (seconds instead of minutes). :func:`irt.link
<proforient_diag.psychometrics.irt.link>` remains the check of anchor-item drift.

For ``compare_years`` the linking SE of a year is the linking SE of its version's mean (band
shares pooled over the version's years, so years of one version share one value and their
differences carry no linking error). It is exact for any comparison with a year of the current
version; for a comparison of two older versions ``compare_years`` adds both chains' variances,
an upper bound (conservative). A comparison between versions that could not be linked is never
a silent number: it is flagged in the tables (``linked = False``), warned about in
:attr:`Diagnostics.warnings` and left out of the conclusions.

Own numerics, and why: the equating shifts and their replicates are a few group means (no
library does chained equating of a composite score).

References
----------
.. [1] Kolen M. J., Brennan R. L. (2014). *Test Equating, Scaling, and Linking* (3rd ed.).
   Springer, ch. 4–5 (chained equating in the NEAT design), ch. 6 (IRT linking).
.. [2] OECD (2017). *PISA 2015 Technical Report*, ch. 12 (link error).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np
import pandas as pd

from ..instrument import Instrument, anchors_between
from ..options import options
from ..sources import Waves
from .labels import BAND_ORDER, years_text

__all__ = ["Linking", "link_versions", "keyed_percent", "band_shares", "LINKING_METHODS"]

LINKING_METHODS = ("anchor", "none")


@dataclass(frozen=True)
class VersionPair:
    old: int
    new: int
    year_old: int
    year_new: int
    anchors: tuple          # union over bands
    shift: dict             # (band, score) -> c
    se_sampling: dict       # (band, score) -> SE
    jk: dict                # (band, score) -> array over ``anchors`` (c without anchor a)
    n_anchors: dict         # band -> anchors in the form


@dataclass(frozen=True)
class Linking:
    """Instrument versions on the scale of the target version (chained anchor mean equating).

    Attributes
    ----------
    method : str
        ``"anchor"`` or ``"none"`` (no linking: every between-version comparison is flagged).
    target : int
        The reporting version (in force in the note's year).
    pairs : DataFrame
        One row per linked pair × band × score: old/new version, years used, n_anchors,
        shift (index points), se_jackknife, se_sampling, linking_error.
    years : DataFrame
        Per year: version, linked (True/False/None for target-version years), per-score
        mean shift and linking error (columns ``shift_<score>``, ``le_<score>``).
    warnings : tuple of str
    """

    method: str
    target: int
    pairs_: tuple = field(repr=False)
    version_years: dict = field(repr=False)
    unlinked: tuple = ()
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    years: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: tuple = ()

    # -- shifts ---------------------------------------------------------------------------------
    def chain(self, version: int) -> list[VersionPair]:
        """Pairs from ``version`` up to the target (empty for the target version)."""
        return [p for p in self.pairs_ if version <= p.old and p.new <= self.target]

    def is_linked(self, version: int) -> bool:
        return version == self.target or (self.method != "none" and version not in self.unlinked)

    def shift_table(self, score: str, override: dict | None = None) -> dict:
        """(version, band) → total shift of ``score``; ``override`` maps (pair index, band) →
        a replacement shift of that pair (for replicates)."""
        out = {}
        for v in self.version_years:
            for b in BAND_ORDER:
                tot = 0.0
                if v != self.target and self.is_linked(v):
                    for i, p in enumerate(self.pairs_):
                        if v <= p.old and p.new <= self.target:
                            c = (override or {}).get((i, b), p.shift.get((b, score), 0.0))
                            tot += c
                out[(v, b)] = tot
        return out

    def variance(self, score: str, stat) -> float:
        """Linking variance of ``stat(shift_table)`` (jackknife over anchors + sampling)."""
        base = stat(self.shift_table(score))
        var = 0.0
        for i, p in enumerate(self.pairs_):
            m = len(p.anchors)
            if m >= 2:
                vals = []
                for a in range(m):
                    ov = {(i, b): p.jk[(b, score)][a] for b in BAND_ORDER if (b, score) in p.jk}
                    vals.append(stat(self.shift_table(score, ov)))
                vals = np.asarray(vals, float)
                if np.isfinite(vals).all():
                    var += (m - 1) / m * np.sum((vals - vals.mean()) ** 2)
            for b in BAND_ORDER:
                if (b, score) in p.se_sampling and np.isfinite(p.se_sampling[(b, score)]):
                    ov = {(i, b): p.shift[(b, score)] + p.se_sampling[(b, score)]}
                    var += (stat(self.shift_table(score, ov)) - base) ** 2
        return float(var)

    def version_error(self, score: str, version: int, shares: dict) -> float:
        """Linking SE of a version's mean of ``score`` with band shares ``shares``."""
        def stat(tab):
            return sum(shares.get(b, 0) * tab[(version, b)] for b in BAND_ORDER)
        return float(np.sqrt(self.variance(score, stat)))

    def apply(self, df: pd.DataFrame, scores: Iterable[str]) -> pd.DataFrame:
        """Add ``<score>_linked`` columns (old-version scores moved to the target scale)."""
        out = df.copy()
        v = out["instrument_version"].astype(int).to_numpy()
        b = out["band"].astype(str).to_numpy()
        for s in scores:
            if s not in out:
                continue
            tab = self.shift_table(s)
            sh = np.array([tab.get((vv, bb), 0.0) for vv, bb in zip(v, b)], dtype=float)
            out[f"{s}_linked"] = out[s].to_numpy(dtype=float) + np.nan_to_num(sh)
        return out

    def to_frame(self) -> pd.DataFrame:
        return self.pairs

    def summary(self) -> str:
        if self.method == "none":
            return "Связывание версий не выполнялось."
        if not self.pairs_:
            return f"Все годы измерены версией {self.target}: связывание не требуется."
        parts = [f"{p.old}→{p.new} (по {p.year_old} и {p.year_new} гг., якорей "
                 f"{len(p.anchors)})" for p in self.pairs_]
        return ("Результаты приведены к шкале версии " + str(self.target) +
                " цепным выравниванием средних по якорным заданиям: " + "; ".join(parts) + ".")


def keyed_percent(resp: pd.DataFrame, inst: Instrument, items: list[str], band: str) -> np.ndarray:
    x = resp[items].to_numpy(dtype=float)
    out = np.empty_like(x)
    for j, it in enumerate(items):
        rs = inst.response_scale_of(it, band)
        v = np.where((x[:, j] >= rs.min) & (x[:, j] <= rs.max), x[:, j], np.nan)
        if inst.item_by_id[it].reverse:
            v = rs.min + rs.max - v
        out[:, j] = 100 * (v - rs.min) / (rs.max - rs.min)
    return out


def _anchor_scores(pct: np.ndarray, groups: dict[str, list[int]], drop: int | None = None
                   ) -> dict[str, np.ndarray]:
    """Component anchor scores (mean keyed percent of the component's anchors) and the index."""
    comp = {}
    for s, cols in groups.items():
        cols = [c for c in cols if c != drop]
        if not cols:
            comp[s] = np.full(pct.shape[0], np.nan)
            continue
        with np.errstate(invalid="ignore"):
            comp[s] = np.nanmean(pct[:, cols], axis=1) if pct.shape[0] else np.zeros(0)
    mat = np.column_stack([comp[s] for s in groups]) if groups else np.zeros((pct.shape[0], 0))
    comp["total"] = mat.mean(axis=1)   # NaN if any component has no anchor answer
    return comp


def _pair(waves: Waves, old: int, new: int, y_old: int, y_new: int, scores: list[str]):
    """Chained mean-equating shifts of one version pair, per band form and score.

    Replicates and the extra variance follow the module docstring: the linked change across the
    boundary is the anchor change Δ_A, the error is f·(Δ_U − Δ_A) with f the share of new-form
    items that are not anchors; its variance is f²·(SE²_jk(Δ_A) + s²_Δ/|U|), s²_Δ the variance of
    the anchors' item-level changes. Jackknife replicate of anchor a: c + f·(Δ_A − Δ_A(−a)).
    """
    io, inew = waves.instruments[old], waves.instruments[new]
    declared = set(inew.anchors) if inew.anchors else set(inew.item_ids)
    common = [a for a in anchors_between(io, inew) if a in declared]
    sc, rs = waves.scores, waves.responses
    key = ["year", "file", "sheet", "source_row"]
    shift, se_s, jk, n_anch = {}, {}, {}, {}
    union = sorted({a for b in BAND_ORDER for a in common
                    if b in io.band_by_id and b in inew.band_by_id
                    and b in inew.item_by_id[a].bands and b in io.item_by_id[a].bands})
    if len(union) < 2:
        return None
    for b in BAND_ORDER:
        if b not in io.band_by_id or b not in inew.band_by_id:
            continue
        per = {}
        for y, inst in ((y_old, io), (y_new, inew)):
            s = sc[(sc["year"] == y) & (sc["band"] == b) & (sc["instrument_version"] == inst.version)]
            r = rs[(rs["year"] == y) & (rs["band"] == b)]
            m = s[key + [c for c in scores if c in s]].merge(r, on=key, how="inner",
                                                            suffixes=("", "_r"))
            per[y] = (m, inst)
        items = [a for a in union if b in inew.item_by_id[a].bands and b in io.item_by_id[a].bands]
        comps = [c for c in inew.scales_for(b) if c in io.scales_for(b)]
        groups = {c: [j for j, a in enumerate(items) if inew.item_by_id[a].scale == c]
                  for c in comps}
        if len(items) < 2 or any(not g for g in groups.values()) or \
                min(len(per[y_old][0]), len(per[y_new][0])) < 2:
            continue
        n_anch[b] = len(items)
        pcts = {y: keyed_percent(per[y][0], per[y][1], items, b) for y in per}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            base = {y: _anchor_scores(pcts[y], groups) for y in per}
            item_change = np.nanmean(pcts[y_new], axis=0) - np.nanmean(pcts[y_old], axis=0)
        dev_total = np.zeros(len(union))
        extra_total = 0.0
        for sname in [*comps, "total"]:
            if sname not in per[y_old][0] or sname not in per[y_new][0]:
                continue
            xo = per[y_old][0][sname].to_numpy(float)
            xn = per[y_new][0][sname].to_numpy(float)
            do, dn = xo - base[y_old][sname], xn - base[y_new][sname]
            do, dn = do[np.isfinite(do)], dn[np.isfinite(dn)]
            if len(do) < 2 or len(dn) < 2:
                continue
            c = float(dn.mean() - do.mean())
            shift[(b, sname)] = c
            samp = float(np.sqrt(dn.var(ddof=1) / len(dn) + do.var(ddof=1) / len(do)))
            if sname == "total":
                jk[(b, sname)] = c + dev_total / max(len(comps), 1)
                se_s[(b, sname)] = float(np.sqrt(samp ** 2 + extra_total / max(len(comps), 1) ** 2))
                continue
            new_items = inew.items_for(b, sname)
            anc = [a for a in new_items if a in items]
            n_u = len(new_items) - len(anc)
            f = n_u / len(new_items) if new_items else 0.0
            dA = float(np.mean(base[y_new][sname][np.isfinite(base[y_new][sname])])
                       - np.mean(base[y_old][sname][np.isfinite(base[y_old][sname])]))
            dev = np.zeros(len(union))
            for ai, a in enumerate(union):
                if a not in items or inew.item_by_id[a].scale != sname:
                    continue
                j = items.index(a)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    vo = _anchor_scores(pcts[y_old], groups, drop=j)[sname]
                    vn = _anchor_scores(pcts[y_new], groups, drop=j)[sname]
                dA_a = float(np.mean(vn[np.isfinite(vn)]) - np.mean(vo[np.isfinite(vo)]))
                dev[ai] = f * (dA - dA_a)
            cols = groups[sname]
            s2 = float(np.var(item_change[cols], ddof=1)) if len(cols) >= 2 else 0.0
            extra = f ** 2 * s2 / n_u if n_u else 0.0
            jk[(b, sname)] = c + dev
            se_s[(b, sname)] = float(np.sqrt(samp ** 2 + extra))
            dev_total += dev
            extra_total += extra
    if not shift:
        return None
    return VersionPair(old, new, y_old, y_new, tuple(union), shift, se_s, jk, n_anch)


@options(method=LINKING_METHODS)
def link_versions(waves: Waves, target: int | None = None, *, method: str = "anchor",
                  scores: Iterable[str] | None = None, weights: pd.Series | None = None) -> Linking:
    """Put every year on the scale of the ``target`` version (default: the latest in the data).

    See the module docstring (chained mean equating through the anchor items; jackknife linking
    error over anchors plus sampling error). ``method="none"`` links nothing: every year of
    another version is marked unlinked and every comparison with it carries a warning.

    Parameters
    ----------
    waves : Waves
    target : int, optional
        Reporting version.
    method : {"anchor", "none"}
    scores : iterable of str, optional
        Score columns to link (default: the target's scales and ``total``).
    weights : Series, optional
        Weights aligned to ``waves.scores`` for the band shares of each version's mean.

    Returns
    -------
    Linking

    In R: ``equate::equate(x, y, type = "mean", method = "chained")`` per band form and score,
    the jackknife over anchors by hand.
    """
    sc = waves.scores
    ver_years: dict[int, list[int]] = {}
    for y in waves.years:
        ver_years.setdefault(waves.version_of(y), []).append(y)
    versions = sorted(ver_years)
    target = versions[-1] if target is None else int(target)
    inst_t = waves.instruments[target]
    scores = list(scores) if scores is not None else [*inst_t.scale_ids, "total"]
    pairs, unlinked, warns = [], set(), []
    older = [v for v in versions if v < target]
    if method == "anchor":
        chain_versions = [*older, target]
        for old, new in zip(chain_versions[:-1], chain_versions[1:]):
            p = _pair(waves, old, new, max(ver_years[old]), min(ver_years[new]), scores)
            if p is None:
                warns.append(f"Версии {old} и {new} не удалось связать (нет общих якорных заданий "
                             "или данных): сравнения результатов этих версий некорректны.")
                unlinked.update(v for v in older if v <= old)
            else:
                pairs.append(p)
    else:
        unlinked.update(older)
        if older:
            yrs = sorted(y for v in older for y in ver_years[v])
            warns.append("Шкалы версий инструмента не связаны: результаты "
                         f"{years_text(yrs)} (версии {', '.join(map(str, older))}) несопоставимы "
                         f"с результатами версии {target}; сравнения с ними показаны только "
                         "справочно и в выводы не включены.")
    lk = Linking(method=method, target=target, pairs_=tuple(pairs), version_years=ver_years,
                 unlinked=tuple(sorted(unlinked)), warnings=tuple(warns))
    # tidy tables
    rows = []
    for p in pairs:
        for (b, s), c in p.shift.items():
            reps = p.jk[(b, s)]
            m = len(p.anchors)
            se_jk = float(np.sqrt((m - 1) / m * np.sum((reps - reps.mean()) ** 2)))
            rows.append({"old_version": p.old, "new_version": p.new, "year_old": p.year_old,
                         "year_new": p.year_new, "band": b, "score": s,
                         "n_anchors": p.n_anchors.get(b, 0), "shift": c, "se_jackknife": se_jk,
                         "se_sampling_and_unique": p.se_sampling[(b, s)],
                         "linking_error": float(np.hypot(se_jk, p.se_sampling[(b, s)]))})
    pairs_df = pd.DataFrame(rows)
    if len(pairs_df):   # forms without replaced items: exact zeros, not floating-point dust
        num = ["shift", "se_jackknife", "se_sampling_and_unique", "linking_error"]
        pairs_df[num] = pairs_df[num].mask(pairs_df[num].abs() < 1e-9, 0.0)
    w = weights if weights is not None else pd.Series(1.0, index=sc.index)
    yrows = []
    for v, yrs in ver_years.items():
        for y in yrs:
            row = {"year": y, "version": v,
                   "linked": None if v == target else lk.is_linked(v)}
            for s in scores:
                shares = band_shares(sc[sc["year"].isin(yrs)], w, s)
                tab = lk.shift_table(s)
                row[f"shift_{s}"] = sum(shares.get(b, 0) * tab[(v, b)] for b in BAND_ORDER)
                row[f"le_{s}"] = lk.version_error(s, v, shares) if v != target and \
                    lk.is_linked(v) else (0.0 if v == target else np.nan)
            yrows.append(row)
    object.__setattr__(lk, "pairs", pairs_df)
    object.__setattr__(lk, "years", pd.DataFrame(yrows).sort_values("year").reset_index(drop=True))
    return lk


def band_shares(df: pd.DataFrame, w: pd.Series, score: str = "total") -> dict:
    ww = w.reindex(df.index).fillna(0)
    ok = df[score].notna() if score in df else df["total"].notna()
    t = ww[ok].groupby(df.loc[ok, "band"].astype(str)).sum()
    return (t / t.sum()).to_dict() if t.sum() > 0 else {}
