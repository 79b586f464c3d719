"""Synthetic roadmap-monitoring forms with planted truths.

For every school of the synthetic region (:func:`proforient_diag.synth.make_region`) and every year
2018–2026 a form is generated whose values depend on the school's size (students from
``Region.enrolment``) and on its planted career-guidance activity index ``a`` (standard normal,
the same index through which :mod:`proforient_diag.synth` raises students' latent scores). So the
association between activity and students' scores that the diagnostics generator plants can be
found through the indicators.

Model (t = year − 2018, σ(x) = 1/(1 + e^{−x}), all parameters in :data:`MONITORING_TRUTHS`):

* yes/no indicators: P(да) = σ(α + β·a + γ·t);
* 4.1 coverage, % = clip(25 + 3·t + 8·a + ε, 0, 100), ε ~ N(0, 4²) — planted growth 3 p.p./year;
* 4.2 portfolio coverage, % = clip(10 + 7·t + 6·a + ε, 0, 100), ε ~ N(0, 4²) — 7 p.p./year;
* 2.3 trained teachers ~ Poisson(n/100 · (0.5 + 0.15·t) · e^{0.35·a}) — per 100 students the mean
  grows by 0.15 a year (times E e^{0.35a});
* 4.3 joint events per level ~ Poisson(exp(α_l + β_l·a + γ_l·t) · (n/300)^{0.3});
* other counts Poisson with log-linear means in a, t and log size.

Dirt (recorded in the truths file): a few schools send no form; a percentage of 120; a negative
count; yes/no spelled «Да », «ДА», «+», «есть», «имеется», «yes», «1», «-», «0», «отсутствует»; a
duplicate form of one school; a school code not in the register; one form whose number of
students is double the register's; an empty row. Files: per year one XLSX per municipality group
(compact), two municipalities as CSV in Windows-1251 with semicolons and Russian headers.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .datafolder import DataFolder
from .roadmap import load_monitoring_spec
from .synth import make_region

__all__ = ["MONITORING_TRUTHS", "simulate_forms", "write_monitoring_samples"]

YEARS = list(range(2018, 2027))

MONITORING_TRUTHS: dict = {
    "seed": 2018,
    "yesno": {  # alpha, beta (activity), gamma (per year)
        "i1_1": [0.5, 1.0, 0.35], "i1_2": [0.0, 1.0, 0.40], "i1_3": [-0.5, 0.8, 0.30],
        "i2_1": [1.0, 1.0, 0.50], "i3_1": [-0.3, 0.9, 0.30], "i4_4_oo": [-1.0, 0.9, 0.15],
        "i5_1": [1.5, 0.8, 0.30], "i5_2": [0.2, 0.9, 0.35],
        "cal_mar": [0.5, 0.8, 0.20], "cal_apr": [0.3, 0.8, 0.20], "cal_may": [1.0, 0.8, 0.20],
        "cal_sep": [1.2, 0.8, 0.20], "cal_dec": [0.0, 0.8, 0.25],
    },
    "coverage_4_1": {"intercept": 25.0, "per_year": 3.0, "activity": 8.0, "noise_sd": 4.0},
    "portfolio_4_2": {"intercept": 10.0, "per_year": 7.0, "activity": 6.0, "noise_sd": 4.0},
    "trained_2_3": {"per_100_base": 0.5, "per_100_per_year": 0.15, "activity_log": 0.35},
    "counts": {  # log mean = alpha + beta*a + gamma*t + delta*log(n/300)
        "i1_4": [0.6, 0.30, 0.05, 0.3], "i2_2": [1.6, 0.30, 0.04, 0.6], "i3_2": [-1.2, 0.40, 0.08, 0.3],
        "i3_3": [-0.2, 0.40, 0.06, 0.3], "i4_4": [0.0, 0.50, 0.07, 0.4], "i4_5": [-0.3, 0.30, 0.05, 0.2],
        "i5_3": [0.5, 0.40, 0.08, 0.3],
        "i4_3_oo": [1.3, 0.40, 0.06, 0.3], "i4_3_mun": [0.5, 0.35, 0.04, 0.3], "i4_3_reg": [-0.4, 0.35, 0.05, 0.3],
        "i4_3_inter": [-1.8, 0.30, 0.03, 0.3], "i4_3_rus": [-1.2, 0.40, 0.12, 0.3], "i4_3_int": [-3.5, 0.30, 0.0, 0.3],
    },
    "no_form_rate": 0.02,
    "csv_cp1251_municipalities": ["MO03", "MO07"],
}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def simulate_forms(seed: int = MONITORING_TRUTHS["seed"], years=YEARS) -> pd.DataFrame:
    """Clean forms (numbers, yes/no as 1/0) of every school and year, before dirt and file splitting.

    Returns
    -------
    DataFrame
        year, school_id, municipality_code, n_students, activity and one column per form measure.
    """
    region = make_region(seed)
    s = region.schools.set_index("school_id")
    T = MONITORING_TRUTHS
    spec = load_monitoring_spec()
    parts = []
    for y in years:
        rng = np.random.default_rng([seed, y, 31])
        enr = region.enrolment(y).groupby("school_id")["n"].sum()
        ids = enr.index.to_numpy()
        n = enr.to_numpy().astype(float)
        a = s.loc[ids, "activity"].to_numpy()
        t = y - 2018
        d = pd.DataFrame({"year": y, "school_id": ids, "municipality_code": s.loc[ids, "municipality_code"].to_numpy(),
                          "n_students": n.astype(int), "activity": a})
        for c, (al, be, ga) in T["yesno"].items():
            d[c] = (rng.random(len(d)) < _sigmoid(al + be * a + ga * t)).astype(float)
        for c, (al, be, ga, de) in T["counts"].items():
            d[c] = rng.poisson(np.exp(al + be * a + ga * t + de * np.log(n / 300))).astype(float)
        c41, c42 = T["coverage_4_1"], T["portfolio_4_2"]
        d["i4_1"] = np.clip(c41["intercept"] + c41["per_year"] * t + c41["activity"] * a
                            + rng.normal(0, c41["noise_sd"], len(d)), 0, 100).round(0)
        d["i4_2"] = np.clip(c42["intercept"] + c42["per_year"] * t + c42["activity"] * a
                            + rng.normal(0, c42["noise_sd"], len(d)), 0, 100).round(0)
        tr = T["trained_2_3"]
        d["i2_3"] = rng.poisson(n / 100 * (tr["per_100_base"] + tr["per_100_per_year"] * t)
                                * np.exp(tr["activity_log"] * a)).astype(float)
        parts.append(d)
    out = pd.concat(parts, ignore_index=True)
    cols = spec.measures.loc[~spec.measures["derived"], "column"].tolist()
    return out[["year", "school_id", "municipality_code", "n_students", "activity"] + cols]


def _expected_region(forms: pd.DataFrame) -> dict:
    """Noise-free regional values of the planted-growth indicators per year (for the tests)."""
    T = MONITORING_TRUTHS
    out = {}
    for y, g in forms.groupby("year"):
        t = y - 2018
        n, a = g["n_students"].to_numpy(float), g["activity"].to_numpy()
        c41, c42, tr = T["coverage_4_1"], T["portfolio_4_2"], T["trained_2_3"]
        e41 = np.clip(c41["intercept"] + c41["per_year"] * t + c41["activity"] * a, 0, 100)
        e42 = np.clip(c42["intercept"] + c42["per_year"] * t + c42["activity"] * a, 0, 100)
        e23 = n / 100 * (tr["per_100_base"] + tr["per_100_per_year"] * t) * np.exp(tr["activity_log"] * a)
        out[str(y)] = {"i4_1_weighted_pct": float(np.sum(e41 * n) / n.sum()),
                       "i4_2_weighted_pct": float(np.sum(e42 * n) / n.sum()),
                       "i2_3_per_1000": float(1000 * e23.sum() / n.sum())}
    return out


_YES = ["да", "Да", "ДА", "Да ", "yes", "1", "+", "есть", "имеется"]
_NO = ["нет", "Нет", "НЕТ", "no", "0", "-", "отсутствует"]


def write_monitoring_samples(data_dir: str | Path, seed: int = MONITORING_TRUTHS["seed"],
                             years=YEARS) -> dict:
    """Write the monitoring part of a data folder (``data_samples``): forms per year in
    ``monitoring/<year>/`` and ``monitoring/truths_monitoring.json``.

    Parameters
    ----------
    data_dir : path
        The data folder (its ``monitoring/`` is created).
    seed : int
    years : iterable of int

    Returns
    -------
    dict
        The truths written to ``truths_monitoring.json``.
    """
    data = DataFolder(data_dir)
    folder = data.monitoring_dir()
    folder.mkdir(parents=True, exist_ok=True)
    spec = load_monitoring_spec()
    clean = simulate_forms(seed, years)
    meas = spec.measures[~spec.measures["derived"]].set_index("column")
    ctx = spec.context
    mo_names = dict(zip(*make_region(seed).schools[["municipality_code", "municipality"]].drop_duplicates().T.to_numpy()))
    yesno_cols = meas.index[meas["kind"] == "yesno"].tolist()
    dirt: dict = {"no_form": {}, "cells": [], "duplicate": {}, "unknown_school": {}, "n_students_off": {},
                  "empty_rows": {}}
    files = []
    for y in years:
        rng = np.random.default_rng([seed, y, 77])
        g = clean[clean["year"] == y].reset_index(drop=True)
        drop = rng.random(len(g)) < MONITORING_TRUTHS["no_form_rate"]
        dirt["no_form"][str(y)] = sorted(g.loc[drop, "school_id"].tolist())
        g = g.loc[~drop].reset_index(drop=True)
        cells = g.drop(columns=["activity"]).astype(object)
        for c in meas.index:
            if meas.loc[c, "kind"] == "count":
                cells[c] = g[c].astype(int).astype(str)
            elif meas.loc[c, "kind"] == "percent":
                cells[c] = g[c].map(lambda v: f"{v:.0f}")
        # yes/no spellings: mostly «да»/«нет», some variants
        for c in yesno_cols:
            v = g[c].to_numpy()
            var = rng.random(len(g)) < 0.15
            yes = np.where(var, rng.choice(_YES, len(g)), "да")
            no = np.where(var, rng.choice(_NO, len(g)), "нет")
            cells[c] = np.where(v == 1, yes, no)
        cells["n_students"] = g["n_students"].astype(str)
        # planted bad cells
        i, j, k = rng.choice(len(g), 3, replace=False)
        cells.loc[i, "i4_1"] = "120"
        cells.loc[j, "i1_4"] = "-3"
        cells.loc[k, "i5_1"] = "может быть"
        dirt["cells"] += [{"year": y, "school_id": cells.loc[i, "school_id"], "column": "i4_1", "value": "120"},
                          {"year": y, "school_id": cells.loc[j, "school_id"], "column": "i1_4", "value": "-3"},
                          {"year": y, "school_id": cells.loc[k, "school_id"], "column": "i5_1", "value": "может быть"}]
        m = rng.choice(len(g))
        cells.loc[m, "n_students"] = str(2 * int(g.loc[m, "n_students"]))
        dirt["n_students_off"][str(y)] = cells.loc[m, "school_id"]
        dup = cells.iloc[[rng.choice(len(g))]].copy()
        dirt["duplicate"][str(y)] = dup["school_id"].iloc[0]
        unk = cells.iloc[[0]].copy()
        unk["school_id"] = f"MO99-{y % 100:03d}"
        unk["municipality_code"] = cells["municipality_code"].iloc[0]
        dirt["unknown_school"][str(y)] = unk["school_id"].iloc[0]
        empty = pd.DataFrame([{c: "" for c in cells.columns}])
        empty["municipality_code"] = "MO03"  # lands in a CSV file (Excel drops empty rows)
        dirt["empty_rows"][str(y)] = 1
        cells = pd.concat([cells, dup, unk, empty], ignore_index=True)
        cells["municipality"] = cells["municipality_code"].map(mo_names).fillna("")
        cells.loc[cells["school_id"] == "", "municipality"] = ""
        ycol = cells["year"].astype(str).where(cells["school_id"] != "", "")
        cells["year"] = ycol
        header = {"school_id": ctx["school_id"]["header"], "municipality": ctx["municipality"]["header"],
                  "year": ctx["year"]["header"], "n_students": ctx["n_students"]["header"]}
        header.update(meas["header"].to_dict())
        order = ["school_id", "municipality", "year", "n_students"] + meas.index.tolist()
        ydir = data.monitoring_dir(y)
        ydir.mkdir(exist_ok=True)
        cp = cells["municipality_code"].isin(MONITORING_TRUTHS["csv_cp1251_municipalities"])
        for code in MONITORING_TRUTHS["csv_cp1251_municipalities"]:
            part = cells.loc[cells["municipality_code"] == code, order].rename(columns=header)
            p = ydir / f"monitoring_{y}_{code}.csv"
            part.to_csv(p, sep=";", index=False, encoding="cp1251")
            files.append(p)
        rest = cells.loc[~cp, order]
        p = ydir / f"monitoring_{y}.xlsx"
        num = rest.copy()
        for c in ["n_students"] + meas.index[meas["kind"] != "yesno"].tolist():
            v = pd.to_numeric(num[c], errors="coerce")
            num[c] = v.where(v.notna(), num[c]).astype(object)  # keep unreadable text as is
        num["year"] = pd.to_numeric(num["year"], errors="coerce").astype("Int64").astype(object).where(num["year"] != "", None)
        num = num.rename(columns=header)
        with pd.ExcelWriter(p, engine="openpyxl") as xw:
            num.to_excel(xw, sheet_name="Форма", index=False)
        files.append(p)
    truths = dict(MONITORING_TRUTHS)
    truths["planted_growth"] = {
        "i4_1": {"per_year_pp": MONITORING_TRUTHS["coverage_4_1"]["per_year"],
                 "note": "охват 4.1 растёт на 3 п. п. в год (до усечения 0–100)"},
        "i4_2": {"per_year_pp": MONITORING_TRUTHS["portfolio_4_2"]["per_year"],
                 "note": "охват Портфолио 4.2 растёт на 7 п. п. в год"},
        "i2_3": {"per_100_per_year": MONITORING_TRUTHS["trained_2_3"]["per_100_per_year"],
                 "note": "педагоги с КПК 2.3 на 100 обучающихся: +0,15·E[exp(0,35a)] в год"},
    }
    truths["expected_region"] = _expected_region(clean)
    truths["dirt"] = dirt
    truths["files"] = [str(p.relative_to(folder)) for p in files]
    with open(folder / "truths_monitoring.json", "w", encoding="utf-8") as fh:
        json.dump(truths, fh, ensure_ascii=False, indent=1)
    return truths
