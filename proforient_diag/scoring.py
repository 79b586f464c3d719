"""Scoring: reverse keys, prorated scale scores, the total index, levels and standard scores.

Rules (all derived from the instrument version, nothing hard-coded here):

* **Reversal.** A reverse-keyed item is scored ``min + max − x`` with the response scale's min and
  max (as ``psych::reverse.code`` and ``psych::scoreItems`` with keys).
* **Scale score.** The mean of the answered (keyed) items of the respondent's band form, if at least
  ``min_answered`` of them were answered; otherwise missing, with the reason recorded. The prorated
  sum is that mean times the number of items of the scale in the form, so it is on the scale of a
  complete answer sheet. ``<scale>`` itself is the score as a percentage of the maximum possible
  (POMP, Cohen et al. 1999): ``100·(mean − min)/(max − min)``, which puts 3-point and 5-point forms on
  one 0–100 metric.
* **Total index.** The mean of the scale POMP scores of the band form; missing if any scale is missing.
* **Levels.** Fixed cut scores of the version and band on the total index: level *k* is reached when
  the index is ≥ cut *k*. Cut scores never come from the sample.
* **Standard scores** against the version's stored norms table (band × scale mean and SD):
  z, T = 50 + 10z, sten = clip(⌊2z + 6⌋, 1, 10) (sten 5 ↔ z ∈ [−0,5; 0)), and the percentile
  rank 100·Φ(z) under the normal approximation (Canivez 2010; the norms store no empirical
  distribution).

Vectorised: one numpy pass per band × scale, no per-respondent loops.

References
----------
1. Cohen, P., Cohen, J., Aiken, L. S., & West, S. G. (1999). The problem of units and the
   circumstance for POMP. *Multivariate Behavioral Research*, 34(3), 315–346.
2. Revelle, W. (2024). psych: ``scoreItems``, ``reverse.code``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from .errors import DataError
from .instrument import Instrument

__all__ = ["score", "ScoreResult", "standard_scores", "assign_levels"]

CONTEXT = ["source_file", "source_row", "respondent_id", "year", "wave", "date", "school_id",
           "municipality_code", "municipality", "grade", "band", "sex", "instrument_version"]


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one instrument version.

    Attributes
    ----------
    scores : DataFrame
        One row per respondent: the context columns, then per scale ``<S>`` (0–100), ``<S>_mean``,
        ``<S>_sum`` (prorated), ``<S>_n`` (items answered); ``total`` and ``level``; standard scores
        ``<S>_z``, ``<S>_t``, ``<S>_sten``, ``<S>_pr`` for every scale and the total when norms exist.
    missing : DataFrame
        Why a scale or the total is missing: source_file, source_row, respondent_id, scale, reason.
    version : int
        The instrument version used.
    """

    scores: pd.DataFrame
    missing: pd.DataFrame
    version: int

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def summary(self) -> pd.DataFrame:
        """Means and level shares by band (Russian column names)."""
        s = self.scores
        out = s.groupby("band", observed=True).agg(n=("total", "size"), index_mean=("total", "mean"))
        shares = pd.crosstab(s["band"], s["level"], normalize="index") * 100
        out = out.join(shares)
        return out.rename(columns={"n": "Число обучающихся", "index_mean": "Средний индекс"})


def _level_categories(inst: Instrument) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(inst.levels.labels), ordered=True)


def assign_levels(total: pd.Series, band: pd.Series, inst: Instrument) -> pd.Series:
    """Levels by the version's fixed cut scores for each respondent's band (vectorised)."""
    codes = np.full(len(total), -1, dtype=int)
    t = total.to_numpy(dtype=float)
    b = band.astype(str).to_numpy()
    for bid, cuts in inst.levels.cuts.items():
        m = (b == bid) & ~np.isnan(t)
        codes[m] = (t[m, None] >= np.asarray(cuts)[None, :]).sum(axis=1)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=_level_categories(inst)), index=total.index)


def standard_scores(values: pd.Series, band: pd.Series, norms: pd.DataFrame, scale: str) -> pd.DataFrame:
    """z, T, sten and percentile rank of one scale against a norms table (band, scale, mean, sd)."""
    nm = norms[norms["scale"] == scale].set_index("band")
    mean = band.astype(str).map(nm["mean"]).astype(float)
    sd = band.astype(str).map(nm["sd"]).astype(float)
    z = (values.astype(float) - mean) / sd
    sten = np.clip(np.floor(2 * z + 6), 1, 10).astype("Int64")
    return pd.DataFrame({f"{scale}_z": z, f"{scale}_t": 50 + 10 * z,
                         f"{scale}_sten": sten,
                         f"{scale}_pr": 100 * norm.cdf(z)}, index=values.index)


def score(responses: pd.DataFrame, instrument: Instrument, *, norms: pd.DataFrame | None = None) -> ScoreResult:
    """Score responses of one instrument version.

    Parameters
    ----------
    responses : DataFrame
        Accepted rows from :func:`proforient_diag.ingest.read_responses`: a ``band`` column and one
        column per item (numeric codes, NaN for missing). Context columns are carried over.
    instrument : Instrument
        The version the responses were collected with.
    norms : DataFrame, optional
        Norms table (band, scale, mean, sd). Default: the version's stored norms, if any.

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> from proforient_diag import load_instrument, score
    >>> inst = load_instrument("psd", 2026)
    >>> df = pd.DataFrame({"band": ["5-7"], **{i: [4] for i in inst.items_for("5-7")}})
    >>> float(score(df, inst).scores.loc[0, "MOT"])   # MOT04 is reversed: 4 → 2
    65.0
    """
    if "band" not in responses.columns:
        raise DataError("в данных нет столбца «band» (параллель); подайте строки, принятые read_responses.",
                        column="band")
    n = len(responses)
    idx = responses.index
    band = responses["band"].astype(str)
    unknown = sorted(set(band.unique()) - set(instrument.band_ids))
    if unknown:
        raise DataError(f"неизвестные параллели {unknown}; в версии {instrument.version} есть "
                        f"{instrument.band_ids}.", column="band")
    out = {c: responses[c] for c in CONTEXT if c in responses.columns}
    missing_rows = []
    scale_pomp = {}
    for s in instrument.scales:
        mean_ = np.full(n, np.nan)
        sum_ = np.full(n, np.nan)
        pomp = np.full(n, np.nan)
        answered = np.zeros(n, dtype=int)
        for b in instrument.band_ids:
            items = instrument.items_for(b, s.id)
            rows = np.flatnonzero((band == b).to_numpy())
            if not items or rows.size == 0:
                continue
            missing_cols = [i for i in items if i not in responses.columns]
            if missing_cols:
                raise DataError(f"нет столбцов заданий {missing_cols} для параллели {b}.",
                                column=missing_cols[0])
            x = responses.iloc[rows][items].to_numpy(dtype=float)
            lo = np.array([instrument.response_scale_of(i, b).min for i in items], dtype=float)
            hi = np.array([instrument.response_scale_of(i, b).max for i in items], dtype=float)
            rev = np.array([instrument.item_by_id[i].reverse for i in items])
            x = np.where(rev[None, :], lo + hi - x, x)
            k = np.sum(~np.isnan(x), axis=1)
            need = s.min_answered.get(b, 1)
            ok = k >= need
            xs = np.where(ok[:, None] & ~np.isnan(x), x, 0.0)
            m = np.where(ok, xs.sum(axis=1) / np.maximum(k, 1), np.nan)
            # POMP with the item-wise min/max (equal within a band form in practice)
            span_lo, span_hi = lo.mean(), hi.mean()
            mean_[rows] = m
            sum_[rows] = m * len(items)
            pomp[rows] = 100 * (m - span_lo) / (span_hi - span_lo)
            answered[rows] = k
            bad = rows[~ok]
            if bad.size:
                missing_rows.append(pd.DataFrame({
                    "row": bad, "scale": s.id,
                    "reason": [f"отвечено на {kk} из {len(items)} заданий шкалы, нужно не меньше {need}"
                               for kk in k[~ok]]}))
        out[s.id] = pd.Series(pomp, index=idx)
        out[f"{s.id}_mean"] = pd.Series(mean_, index=idx)
        out[f"{s.id}_sum"] = pd.Series(sum_, index=idx)
        out[f"{s.id}_n"] = pd.Series(answered, index=idx)
        scale_pomp[s.id] = pomp

    # total: mean of the band's scales, all required
    total = np.full(n, np.nan)
    for b in instrument.band_ids:
        rows = np.flatnonzero((band == b).to_numpy())
        sc = instrument.scales_for(b)
        if rows.size == 0:
            continue
        mat = np.column_stack([scale_pomp[s][rows] for s in sc])
        complete = ~np.isnan(mat).any(axis=1)
        total[rows[complete]] = mat[complete].mean(axis=1)
        bad = rows[~complete]
        if bad.size:
            missing_rows.append(pd.DataFrame({
                "row": bad, "scale": "total",
                "reason": "индекс не вычислен: не хватает оценки хотя бы одной шкалы"}))
    out["total"] = pd.Series(total, index=idx)
    scores = pd.DataFrame(out, index=idx)
    scores["level"] = assign_levels(scores["total"], band, instrument)
    scores["instrument_version"] = instrument.version

    nrm = norms if norms is not None else instrument.norms()
    if nrm is not None:
        parts = [standard_scores(scores[s], band, nrm, s) for s in [*instrument.scale_ids, "total"]
                 if s in set(nrm["scale"])]
        if parts:
            scores = pd.concat([scores, *parts], axis=1)

    if missing_rows:
        miss = pd.concat(missing_rows, ignore_index=True)
        ctx = responses.iloc[miss["row"].to_numpy()]
        miss = pd.DataFrame({
            "source_file": ctx["source_file"].to_numpy() if "source_file" in ctx else None,
            "source_row": ctx["source_row"].to_numpy() if "source_row" in ctx else miss["row"].to_numpy() + 1,
            "respondent_id": ctx["respondent_id"].to_numpy() if "respondent_id" in ctx else None,
            "scale": miss["scale"].to_numpy(), "reason": miss["reason"].to_numpy()})
    else:
        miss = pd.DataFrame(columns=["source_file", "source_row", "respondent_id", "scale", "reason"])
    return ScoreResult(scores=scores, missing=miss,
                       version=instrument.version)
