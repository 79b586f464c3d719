"""Sections 3–5 and the appendix of the note: reliability, levels, profiles, municipalities.

Tables are built here unsuppressed (but for the municipal appendix, which carries its own
suppression because it is also published on its own); :mod:`.disclosure` makes them publishable.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import DataError
from ..instrument import Instrument
from ..privacy import assert_publishable, suppress
from ..psychometrics import alpha
from .coverage import weighted_mean_of
from .labels import BAND_ORDER
from .linking import keyed_percent
from .scope import Scope

__all__ = ["reliability", "levels_by_band", "profiles", "profiles_by_sex", "disagreed_items",
           "municipal_appendix"]


def reliability(resp: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """α per band × scale; a scale whose α cannot be computed keeps its row with the reason."""
    rows = []
    for b in inst.band_ids:
        r = resp[resp["band"] == b]
        if not len(r):
            continue
        for s in inst.scales_for(b):
            items = [i for i in inst.items_for(b, s) if i in r.columns and r[i].notna().any()]
            row = {"band": b, "scale": s, "scale_name": inst.scale_by_id[s].name,
                   "k": len(items), "n": len(r), "alpha": np.nan, "ci_low": np.nan,
                   "ci_high": np.nan}
            if len(items) < 2:
                rows.append({**row, "verdict": "не вычислена: на шкалу ответили меньше чем "
                                               "по двум пунктам"})
                continue
            pct = pd.DataFrame(keyed_percent(r, inst, items, b), columns=items, index=r.index)
            flat = [i for i in items if pct[i].nunique(dropna=True) < 2]
            if flat:  # named by the statement: an official does not know the item codes
                said = [f"«{inst.item_by_id[i].text.rstrip('.')}»" for i in flat]
                what = (f"у утверждения {said[0]}" if len(said) == 1 else
                        f"у утверждений {', '.join(said)}")
                rows.append({**row, "verdict": f"не вычислена: {what} нет разброса ответов"})
                continue
            try:
                a = alpha(pct)
            except DataError as exc:
                msg = exc.message.rstrip(".")
                rows.append({**row, "verdict": "не вычислена: " + msg[:1].lower() + msg[1:]})
                continue
            rows.append({**row, "k": a.k, "n": a.n, "alpha": a.alpha, "ci_low": a.ci_feldt[0],
                         "ci_high": a.ci_feldt[1],
                         "verdict": ("≥ 0,80" if a.alpha >= 0.8 else "≥ 0,70 (для групп)"
                                     if a.alpha >= 0.7 else "ниже 0,70")})
    return pd.DataFrame(rows, columns=["band", "scale", "scale_name", "k", "n", "alpha",
                                       "ci_low", "ci_high", "verdict"])


def _level_row(x: pd.DataFrame, label_col: str, label: str, levels: list[str]) -> dict:
    w = x["weight"]
    lv = x["level"].astype(object)
    r = {label_col: label, "n": len(x)}
    for L in levels:
        r[L] = float(100 * np.sum(w * (lv == L)) / w.sum()) if len(x) else np.nan
    return r


def _groups_of_year(sc: Scope) -> list[tuple[str, pd.DataFrame]]:
    """The bands of the note's year, «Всего», and «Регион» in a municipal note."""
    cur = sc.current
    out = [(b, cur[cur["band"] == b]) for b in BAND_ORDER if (cur["band"] == b).any()]
    out.append(("Всего", cur))
    if sc.municipality is not None:
        out.append(("Регион", sc.current_region))
    return out


def levels_by_band(sc: Scope) -> pd.DataFrame:
    """Weighted level shares (%) of the year by band, «Всего» (and «Регион»)."""
    return pd.DataFrame([_level_row(x, "band", g, sc.levels) for g, x in _groups_of_year(sc)])


def profiles(sc: Scope) -> pd.DataFrame:
    """Weighted mean component scores and index of the year by band, «Всего» (and «Регион»)."""
    rows = []
    for grp, x in _groups_of_year(sc):
        r = {"band": grp, "n": len(x)}
        for s in sc.score_cols:
            r[s] = weighted_mean_of(x, s, x["weight"]) if x[s].notna().any() else np.nan
        rows.append(r)
    return pd.DataFrame(rows)


def profiles_by_sex(sc: Scope) -> pd.DataFrame:
    """Weighted component means, index and level shares of the year by band × sex.

    One row per band and sex («ж», «м»), with ``n``; the suppression rule hides both sexes of a
    band when one is hidden (the band's total is published in the profiles table).
    """
    rows = []
    cur = sc.current
    for b in [*BAND_ORDER, "Всего"]:
        xb = cur if b == "Всего" else cur[cur["band"] == b]
        for sex in ("ж", "м"):
            x = xb[xb["sex"] == sex]
            if not len(x):
                continue
            r = {"band": b, "sex": sex, "n": len(x)}
            for col in sc.score_cols:
                r[col] = weighted_mean_of(x, col, x["weight"]) if x[col].notna().any() else np.nan
            r.update({k: v for k, v in _level_row(x, "band", b, sc.levels).items()
                      if k in sc.levels})
            rows.append(r)
    return pd.DataFrame(rows, columns=["band", "sex", "n", *sc.score_cols, *sc.levels])


def disagreed_items(resp: pd.DataFrame, inst: Instrument, *, top: int = 3) -> pd.DataFrame:
    """The statements students of each band most often answer unfavourably.

    An answer is unfavourable when it lies below the middle of the response scale once the
    item's key is applied: «совершенно / скорее не согласен» with a direct statement, «скорее /
    полностью согласен» with a reversed one, «нет» on the 1–4 form. The share is of the
    students who answered the item (unweighted: item answers carry no weights of their own).

    Returns
    -------
    pandas.DataFrame
        ``band, rank, item, scale, scale_name, text, reverse, n, unfavourable_pct``, ``top``
        rows per band, the most unfavourable first.
    """
    rows = []
    for b in inst.band_ids:
        r = resp[resp["band"] == b]
        items = [i for s in inst.scales_for(b) for i in inst.items_for(b, s)
                 if i in r.columns and r[i].notna().any()]
        if not len(r) or not items:
            continue
        pct = keyed_percent(r, inst, items, b)
        answered = np.isfinite(pct).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = 100 * (pct < 50).sum(axis=0) / answered
        order = np.argsort(-np.nan_to_num(share, nan=-1), kind="stable")[:top]
        for rank, j in enumerate(order, 1):
            it = inst.item_by_id[items[j]]
            rows.append({"band": b, "rank": rank, "item": it.id, "scale": it.scale,
                         "scale_name": inst.scale_by_id[it.scale].name, "text": it.text,
                         "reverse": it.reverse, "n": int(answered[j]),
                         "unfavourable_pct": float(share[j])})
    return pd.DataFrame(rows, columns=["band", "rank", "item", "scale", "scale_name", "text",
                                       "reverse", "n", "unfavourable_pct"])


def municipal_appendix(scores: pd.DataFrame, *, score: str = "total", weights: str | None = None,
                       threshold: int = 10, imprecise_below: int = 30,
                       levels=("низкий", "средний", "высокий"),
                       hidden: Iterable[str] = ()) -> pd.DataFrame:
    """Per municipality (and the region): n, schools, mean index and level shares (%).

    Suppressed with :func:`~proforient_diag.privacy.suppress` (rows with n < ``threshold``
    hidden, ``threshold`` ≤ n < ``imprecise_below`` flagged «неточно», complementary
    suppression against the regional row) and checked with
    :func:`~proforient_diag.privacy.assert_publishable` before it is returned. No respondent id
    or pseudonym is in the table. ``hidden`` lists municipality codes hidden elsewhere in the note
    (e.g. by complementary suppression of the coverage table): they are hidden here too.
    """
    d = scores[scores[score].notna()]
    w = d[weights] if weights else pd.Series(1.0, index=d.index)
    rows = []
    for (code, name), x in d.groupby(["municipality_code", "municipality"], sort=True):
        ww = w.loc[x.index]
        row = {"municipality_code": code, "municipality": name, "n": len(x),
               "schools": x["school_id"].nunique(),
               "mean": float(np.sum(ww * x[score]) / ww.sum())}
        lv = x["level"].astype(object)
        for L in levels:
            row[L] = float(100 * np.sum(ww * (lv == L)) / ww.sum())
        rows.append(row)
    lv = d["level"].astype(object)
    reg = {"municipality_code": "", "municipality": "Регион", "n": len(d),
           "schools": d["school_id"].nunique(), "mean": float(np.sum(w * d[score]) / w.sum()),
           **{L: float(100 * np.sum(w * (lv == L)) / w.sum()) for L in levels}}
    tab = pd.DataFrame([*rows, reg])
    forced = tab["municipality_code"].isin(set(hidden)) & (tab["municipality_code"] != "")
    tab["_n_privacy"] = tab["n"].mask(forced, 0)
    out = suppress(tab, "_n_privacy", threshold=threshold,
                   imprecise_below=max(imprecise_below, threshold),
                   value_cols=["n", "schools", "mean", *levels],
                   total_rows=tab["municipality_code"] == "").drop(columns="_n_privacy")
    assert_publishable(out, threshold=threshold)
    return out
