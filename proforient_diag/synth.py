"""Synthetic regional data with planted truths.

The generator builds a fictitious but realistic Kuzbass: the 34 real municipal formations, about
650 fictitious schools with realistic sizes (urban lyceums of 800–1 500, rural schools of 50–300,
small schools under 100 without grades 10–11), about 320 000 students in grades 1–11, cohorts that
shrink, and a survey wave in September 2018 then every May 2019–2026 with the instrument version
in force that year.

Model (all parameters are recorded in :func:`Truths.to_dict` and ``data_samples/truths.json``):

* latent component scores θ (5 components for grades 5–11, 3 for grades 1–4) correlated 0.5,
  θ = trend·(year − 2018) + grade effect + municipality effect + school effect + activity effect +
  sex effect + a stable student trait (for cohort tracking) + wave noise;
* answers from Samejima's graded response model, item parameters fixed per item id so that anchor
  items keep their parameters across versions;
* planted item flaws: a weak item (low discrimination), a ceiling item (very easy), an item with
  uniform sex DIF (boys endorse it more at equal θ);
* planted school career-guidance activity (a standard-normal index per school) with a known
  association with students' latent scores, used by the monitoring data;
* dirt as exports bring it: ≈ 3 % missing answers, break-offs, duplicates, out-of-range codes,
  empty rows, straight-lining, grades outside an XLSX form's band, an unknown municipality.

Everything is vectorised; a whole region (≈ 300 000 students) takes seconds.
"""
from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .datafolder import DataFolder
from .region import municipalities
from .instrument import Instrument, load_instrument

__all__ = ["Region", "make_region", "item_parameters", "simulate_wave", "write_samples",
           "wave_of", "TRUTHS", "expected_means", "YEARS"]

YEARS = list(range(2018, 2027))

#: Planted truths (the generator's parameters). Written to ``data_samples/truths.json``.
TRUTHS: dict = {
    "seed": 2018,
    "trend_per_year_sd": 0.06,           # latent SD units a year, every component
    "grade_effect_per_grade_sd": 0.04,
    "municipality_sd": 0.15,
    "school_sd": 0.20,
    "student_trait_share": 0.6,          # share of latent variance stable across years (cohorts)
    "component_correlation": 0.5,
    "activity_effect_sd": {"ACT": 0.20, "COG": 0.10, "MOT": 0.08, "EMO": 0.05, "REF": 0.08},
    "sex_effect_girls_sd": {"MOT": 0.10, "REF": 0.10, "EMO": -0.05},
    "weak_item": {"id": "COG06", "a": 0.35},
    "ceiling_item": {"id": "MOT01", "location_shift": -2.3},
    "dif_item": {"id": "ACT04", "focal": "ж", "reference": "м", "threshold_shift_boys": -0.9},
    "missing_cell_rate": 0.03,
    "breakoff_rate": 0.015,
    "duplicate_rate": 0.006,
    "out_of_range_rate": 0.002,
    "empty_row_rate": 0.002,
    "straightline_rate": 0.01,
    "null_contrast": "No difference between urban and rural schools was planted in the activity-free "
                     "part of the model apart from school and municipality random effects.",
}

_SCHOOLS_PER_MO = {
    "MO01": 12, "MO02": 20, "MO03": 7, "MO04": 80, "MO05": 5, "MO06": 17, "MO07": 2, "MO08": 16,
    "MO09": 15, "MO10": 8, "MO11": 85, "MO12": 9, "MO13": 5, "MO14": 30, "MO15": 4, "MO16": 12,
    "MO17": 20, "MO18": 15, "MO19": 12, "MO20": 25, "MO21": 16, "MO22": 20, "MO23": 22, "MO24": 25,
    "MO25": 20, "MO26": 20, "MO27": 20, "MO28": 16, "MO29": 17, "MO30": 15, "MO31": 12, "MO32": 14,
    "MO33": 9, "MO34": 15,
}
_TARGET_STUDENTS = 320_000


def wave_of(year: int) -> tuple[pd.Timestamp, int]:
    """Survey date and school year of a wave: September 2018, then May of each year."""
    if year == 2018:
        return pd.Timestamp(2018, 9, 20), 2018
    return pd.Timestamp(year, 5, 15), year - 1


@dataclass(frozen=True)
class Region:
    """Schools of the fictitious region with their random effects and activity."""

    schools: pd.DataFrame          # school_id, school_name, municipality_code, municipality, urban, size, has_senior
    municipality_effect: pd.Series  # by municipality_code
    seed: int

    def enrolment(self, year: int) -> pd.DataFrame:
        """Students per school × grade × sex in a wave's school year (cohorts shrink from 2017)."""
        _, sy = wave_of(year)
        s = self.schools
        grades = np.arange(1, 12)
        per_grade = s["size"].to_numpy()[:, None] / (9 + 2 * 0.5 * s["has_senior"].to_numpy()[:, None])
        weight = np.where(grades >= 10, 0.5, 1.0)[None, :] * np.where(
            (grades >= 10)[None, :] & ~s["has_senior"].to_numpy()[:, None], 0.0, 1.0)
        cohort = sy - grades + 1
        shrink = np.where(cohort > 2016, 0.96 ** (cohort - 2016), 1.0)[None, :]
        n = np.round(per_grade * weight * shrink).astype(int)
        boys = np.round(n * 0.51).astype(int)
        rows = []
        for sex, arr in (("м", boys), ("ж", n - boys)):
            rows.append(pd.DataFrame({
                "school_id": np.repeat(s["school_id"].to_numpy(), 11),
                "municipality_code": np.repeat(s["municipality_code"].to_numpy(), 11),
                "grade": np.tile(grades, len(s)), "sex": sex, "n": arr.ravel()}))
        out = pd.concat(rows, ignore_index=True)
        out.insert(0, "year", year)
        return out


def make_region(seed: int = TRUTHS["seed"]) -> Region:
    """Build the region's schools (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    mo = municipalities()
    rows = []
    for code, name, kind in zip(mo["code"], mo["name"], mo["kind"]):
        k = _SCHOOLS_PER_MO[code]
        city = kind == "городской округ"
        for j in range(k):
            urban = city if code != "MO20" else False
            if not city and j == 0:
                urban = True  # the district centre
            u = rng.random()
            if urban:
                size = rng.uniform(800, 1500) if u < 0.15 else (rng.uniform(150, 350) if u > 0.9 else rng.uniform(450, 950))
            else:
                size = rng.uniform(300, 600) if u < 0.15 else (rng.uniform(30, 99) if u > 0.7 else rng.uniform(100, 300))
            rows.append({"municipality_code": code, "municipality": name, "urban": bool(urban), "size": size})
    s = pd.DataFrame(rows)
    s["size"] *= _TARGET_STUDENTS / s["size"].sum()
    s["size"] = s["size"].round().astype(int)
    s["has_senior"] = s["size"] >= 100
    s.insert(0, "school_id", [f"{c}-{i:03d}" for c, i in zip(s["municipality_code"], s.groupby("municipality_code").cumcount() + 1)])
    kinds = np.where(s["size"] >= 800, "МБОУ «Лицей № {n}»", np.where(s["has_senior"], "МБОУ «СОШ № {n}»", "МБОУ «ООШ № {n}»"))
    s.insert(1, "school_name", [k.format(n=int(i[-3:])) for k, i in zip(kinds, s["school_id"])])
    s["school_effect"] = rng.normal(0, TRUTHS["school_sd"], len(s))
    s["activity"] = rng.normal(0, 1, len(s))
    me = pd.Series(rng.normal(0, TRUTHS["municipality_sd"], len(mo)), index=mo["code"].to_numpy())
    return Region(schools=s, municipality_effect=me, seed=seed)


def _item_rng(item_id: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([zlib.crc32(item_id.encode()), seed])


def item_parameters(inst: Instrument, seed: int = TRUTHS["seed"]) -> pd.DataFrame:
    """GRM parameters per item (a and ordered thresholds b_1..b_{K−1} on the keyed direction).

    Parameters depend only on the item id, so anchor items are identical across versions.
    """
    rows = []
    for it in inst.items:
        rs = inst.response_scale_of(it.id)
        k = rs.max - rs.min
        r = _item_rng(it.id, seed)
        a = r.uniform(1.2, 2.2)
        loc = r.normal(-0.4, 0.35)
        base = np.linspace(-1.5, 1.2, k) if k > 2 else np.array([-0.9, 0.5])
        b = loc + base + r.normal(0, 0.1, k)
        b = np.sort(b)
        if it.id == TRUTHS["weak_item"]["id"]:
            a = TRUTHS["weak_item"]["a"]
        if it.id == TRUTHS["ceiling_item"]["id"]:
            b = b + TRUTHS["ceiling_item"]["location_shift"]
        row = {"item": it.id, "scale": it.scale, "reverse": it.reverse, "min": rs.min, "max": rs.max, "a": a}
        row.update({f"b{j + 1}": v for j, v in enumerate(b)})
        rows.append(row)
    return pd.DataFrame(rows)


def _latent(n: int, rng: np.random.Generator, n_comp: int, corr: float) -> np.ndarray:
    cov = np.full((n_comp, n_comp), corr) + np.eye(n_comp) * (1 - corr)
    return rng.standard_normal((n, n_comp)) @ np.linalg.cholesky(cov).T


COMPONENTS = ["MOT", "COG", "ACT", "EMO", "REF"]


def _students(region: Region, year: int, schools: pd.DataFrame, sample: bool,
              rng: np.random.Generator) -> pd.DataFrame:
    """Students present in a wave (whole classes of the chosen schools)."""
    _, sy = wave_of(year)
    enr = region.enrolment(year)
    enr = enr[enr["school_id"].isin(schools["school_id"]) & (enr["n"] > 0)]
    if sample:
        enr = enr[enr["grade"] >= 2]
        urban = enr["school_id"].map(schools.set_index("school_id")["urban"])
        cap = np.where(urban, 9, 5)  # one class a grade: ~25 (urban) or ~13 (rural), per sex
        enr = enr.assign(n=np.minimum(enr["n"].to_numpy(), cap))
    counts = enr["n"].to_numpy()
    idx = np.repeat(np.arange(len(enr)), counts)
    st = enr.iloc[idx].reset_index(drop=True)
    pos = st.groupby(["school_id", "grade", "sex"]).cumcount().to_numpy()
    cohort = sy - st["grade"].to_numpy() + 1
    st["respondent_id"] = [f"{s}-{c}{x}{p:03d}" for s, c, x, p in
                           zip(st["school_id"], cohort, np.where(st["sex"] == "м", "M", "F"), pos)]
    return st.drop(columns=["n"])


def simulate_wave(region: Region, year: int, *, sample: bool = True, schools: pd.DataFrame | None = None,
                  seed: int | None = None) -> tuple[pd.DataFrame, Instrument]:
    """Clean responses of one wave (codes on the raw, unreversed scale) with context columns.

    ``sample=True`` surveys one class a grade (2–11) in the chosen schools with realistic
    non-response; ``sample=False`` surveys every student of the chosen schools (regional scale).
    """
    seed = region.seed if seed is None else seed
    rng = np.random.default_rng([seed, year])
    inst = load_instrument("psd", year=year)
    sch = region.schools if schools is None else schools
    st = _students(region, year, sch, sample, rng)
    if sample:  # participation: consent and absence; differs by municipality and grade
        mo_rate = pd.Series(np.random.default_rng([seed, 7]).uniform(0.45, 0.9, len(region.municipality_effect)),
                            index=region.municipality_effect.index)
        p = st["municipality_code"].map(mo_rate).to_numpy() * np.where(st["grade"] >= 10, 0.85, 1.0)
        trait_rng = np.random.default_rng([seed, 99])
        # a stable propensity per student so that the same students tend to take part every year
        prop = np.array([zlib.crc32(r.encode()) % 1000 for r in st["respondent_id"]]) / 1000
        keep = prop < p + 0.1 * (trait_rng.random(len(st)) - 0.5)
        st = st[keep].reset_index(drop=True)
    n = len(st)
    band = st["grade"].map(inst.grade_to_band).to_numpy()
    s_idx = st["school_id"].map(sch.set_index("school_id")["school_effect"]).to_numpy()
    act = st["school_id"].map(sch.set_index("school_id")["activity"]).to_numpy()
    m_idx = st["municipality_code"].map(region.municipality_effect).to_numpy()
    # stable student trait from the id (cohort tracking), plus wave noise
    share = TRUTHS["student_trait_share"]
    trait = np.vstack([_latent(1, np.random.default_rng([zlib.crc32(r.encode()), seed]), 5,
                               TRUTHS["component_correlation"])[0] for r in st["respondent_id"]]) if n < 60_000 else \
        _latent(n, np.random.default_rng([seed, year, 1]), 5, TRUTHS["component_correlation"])
    noise = _latent(n, rng, 5, TRUTHS["component_correlation"])
    theta = np.sqrt(share) * trait + np.sqrt(1 - share) * noise
    base = (TRUTHS["trend_per_year_sd"] * (year - 2018) + TRUTHS["grade_effect_per_grade_sd"] * (st["grade"].to_numpy() - 6)
            + s_idx + m_idx)
    girls = (st["sex"] == "ж").to_numpy()
    for j, c in enumerate(COMPONENTS):
        theta[:, j] += base + TRUTHS["activity_effect_sd"][c] * act + TRUTHS["sex_effect_girls_sd"].get(c, 0) * girls
    params = item_parameters(inst, seed).set_index("item")
    out = pd.DataFrame(index=range(n))
    dif = TRUTHS["dif_item"]
    for it in inst.items:
        mask = np.isin(band, it.bands)
        if not mask.any():
            continue
        p = params.loc[it.id]
        bcols = [c for c in params.columns if re.fullmatch(r"b\d+", c) and pd.notna(p[c])]
        b = p[bcols].to_numpy(dtype=float)
        th = theta[mask, COMPONENTS.index(it.scale)]
        shift = np.where(~girls[mask], dif["threshold_shift_boys"], 0.0) if it.id == dif["id"] else 0.0
        pstar = 1 / (1 + np.exp(-p["a"] * (th[:, None] - (b[None, :] + np.asarray(shift).reshape(-1, 1)))))
        u = rng.random(th.size)
        x = p["min"] + (u[:, None] < pstar).sum(axis=1)
        if it.reverse:
            x = p["min"] + p["max"] - x
        col = np.full(n, np.nan)
        col[mask] = x
        out[it.id] = col
    date, _ = wave_of(year)
    ctx = pd.DataFrame({"respondent_id": st["respondent_id"], "year": year, "date": date,
                        "school_id": st["school_id"], "municipality_code": st["municipality_code"],
                        "grade": st["grade"], "sex": st["sex"]})
    return pd.concat([ctx, out], axis=1), inst


def expected_means(region: Region, years=YEARS, n: int = 60_000, seed: int = 5) -> pd.DataFrame:
    """The population mean of the total index per year under the planted model (for tests).

    Simulated on a large fresh sample of the same design (all schools, one class a grade) without
    dirt, so it carries the trend and the instrument changes but not the sample's noise.
    """
    from .scoring import score
    rows = []
    for y in years:
        df, inst = simulate_wave(region, y, sample=True, seed=seed)
        df = df.sample(min(n, len(df)), random_state=seed).reset_index(drop=True)
        df["band"] = df["grade"].map(inst.grade_to_band)
        sc = score(df, inst, norms=pd.DataFrame(columns=["band", "scale", "mean", "sd"])).scores
        rows.append({"year": y, "total_mean": sc["total"].mean(),
                     **{f"{c}_mean": sc[c].mean() for c in COMPONENTS if c in sc},
                     "share_high": (sc["level"] == "высокий").mean()})
    return pd.DataFrame(rows)


# -- dirt and exports ---------------------------------------------------------------------------

def _contaminate(df: pd.DataFrame, inst: Instrument, rng: np.random.Generator) -> pd.DataFrame:
    """Add the dirt real exports bring (rates in ``TRUTHS``); returns a new frame of text cells."""
    items = [c for c in inst.item_ids if c in df.columns]
    x = df[items].to_numpy(dtype=float).copy()
    n, k = x.shape
    present = ~np.isnan(x)
    x[present & (rng.random((n, k)) < TRUTHS["missing_cell_rate"])] = np.nan
    brk = np.flatnonzero(rng.random(n) < TRUTHS["breakoff_rate"])
    for i in brk:  # answer the first ~30 % of the form, then stop
        cols = np.flatnonzero(~np.isnan(x[i]))
        x[i, cols[max(1, int(len(cols) * 0.3)):]] = np.nan
    sl = np.flatnonzero(rng.random(n) < TRUTHS["straightline_rate"])
    for i in sl:
        cols = np.flatnonzero(~np.isnan(x[i]))
        x[i, cols] = df[items].iloc[i, cols].max()
    cells = pd.DataFrame(x, columns=items).astype("Int64").astype(str).replace("<NA>", "")
    oor = rng.random((n, k)) < TRUTHS["out_of_range_rate"]
    oor &= present
    cells = cells.mask(pd.DataFrame(oor, columns=items), other=str(rng.choice(["0", "6", "55", "9"])))
    out = pd.concat([df.drop(columns=items).reset_index(drop=True), cells], axis=1)
    dups = out.iloc[np.flatnonzero(rng.random(n) < TRUTHS["duplicate_rate"])]
    n_empty = max(1, int(round(n * TRUTHS["empty_row_rate"])))
    empty = pd.DataFrame([{c: "" for c in out.columns}] * n_empty)
    empty["municipality_code"] = rng.choice(out["municipality_code"].unique(), n_empty)  # lands in some file
    out = pd.concat([out, dups, empty], ignore_index=True)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


_GOOGLE = {"MO09", "MO20"}
_XLSX = {"MO19", "MO31", "MO33"}
_TAB_BOM = {"MO08", "MO26"}
_CP1251 = {"MO04", "MO01", "MO02", "MO14", "MO17", "MO23", "MO27", "MO29"}
_SAV = ("MO16", 2024)


def _write_exports(df: pd.DataFrame, inst: Instrument, year: int, folder: Path, rng: np.random.Generator,
                   region: Region) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    mo = municipalities().set_index("code")["name"]
    written = []
    for code, part in df.groupby("municipality_code", sort=True):
        if code == "":
            continue
        part = part.copy()
        part["municipality"] = np.where(rng.random(len(part)) < 0.5, code, mo.get(code, code))
        if code == "MO04" and year == 2022:  # one row from an unknown municipality
            part.iloc[0, part.columns.get_loc("municipality")] = "Неизвестный район"
        base = folder / f"{code}_{year}"
        ctx = ["respondent_id", "school_id", "municipality", "grade", "sex", "date"]
        items = [c for c in inst.item_ids if c in part.columns]
        if code in _GOOGLE:
            g = part.copy()
            g["date"] = pd.to_datetime(g["date"], errors="coerce").dt.strftime("%d.%m.%Y %H:%M:%S").fillna("")
            g["sex"] = g["sex"].map({"м": "Мужской", "ж": "Женский"}).fillna("")
            for it in items:
                rs = inst.response_scale_of(it)
                g[it] = g[it].map(lambda v: rs.labels.get(int(v), v) if str(v).isdigit() and int(v) in rs.labels else v)
            g = g[ctx + items].rename(columns={"respondent_id": "Код участника", "school_id": "Школа",
                                               "municipality": "Муниципалитет", "grade": "Класс",
                                               "sex": "Пол", "date": "Отметка времени"})
            g = g.rename(columns={it: f"{i + 1}. {inst.item_by_id[it].text}" for i, it in enumerate(items)})
            p = base.with_suffix(".csv")
            g.to_csv(p, index=False, encoding="utf-8")
            written.append(p)
        elif code in _XLSX:
            for b in inst.band_ids:
                sub = part[part["grade"].astype(str).isin([str(x) for x in inst.band_by_id[b].grades])]
                if b == "8-9" and len(sub):  # a typing slip: a 10th-grader on the 8–9 form
                    sub = pd.concat([sub, part[part["grade"].astype(str) == "10"].head(1)])
                if not len(sub):
                    continue
                form = inst.items_for(b)
                t = sub[["respondent_id", "school_id", "municipality", "grade", "sex"] + form].copy()
                t.insert(5, "year", year)
                for c in form + ["grade", "year"]:
                    t[c] = pd.to_numeric(t[c], errors="coerce").where(lambda s: s.notna(), None)
                p = folder / f"{code}_{year}_{b}.xlsx"
                with pd.ExcelWriter(p, engine="openpyxl") as xw:
                    t.to_excel(xw, sheet_name="Анкета", index=False)
                written.append(p)
        elif (code, year) == _SAV:
            import pyreadstat
            t = part[["respondent_id", "school_id", "municipality", "grade", "sex"] + items].copy()
            t["sex"] = t["sex"].map({"м": 1, "ж": 2})
            for c in items + ["grade"]:
                t[c] = pd.to_numeric(t[c], errors="coerce")
            t.insert(5, "year", year)
            labels = {it: {float(k): v for k, v in inst.response_scale_of(it).labels.items()} for it in items}
            labels["sex"] = {1.0: "мужской", 2.0: "женский"}
            p = base.with_suffix(".sav")
            pyreadstat.write_sav(t, str(p), variable_value_labels=labels,
                                 column_labels=[{"respondent_id": "Код участника"}.get(c, inst.item_by_id[c].text if c in inst.item_by_id else c) for c in t.columns])
            written.append(p)
        else:
            t = part[ctx + items].copy()
            t["date"] = pd.to_datetime(t["date"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("")
            p = base.with_suffix(".csv")
            if code in _TAB_BOM:
                t.to_csv(p, index=False, sep="\t", encoding="utf-8-sig")
            elif code in _CP1251:
                t = t.rename(columns={"respondent_id": "Код участника", "school_id": "Код ОО",
                                      "municipality": "МО", "grade": "Класс", "sex": "Пол", "date": "Дата"})
                t.to_csv(p, index=False, sep=";", encoding="cp1251")
            else:
                t.to_csv(p, index=False, encoding="utf-8")
            written.append(p)
    return written


def sample_schools(region: Region, seed: int | None = None) -> pd.DataFrame:
    """The schools of the bundled sample: one a municipality, two in Kemerovo and Novokuznetsk."""
    rng = np.random.default_rng([region.seed if seed is None else seed, 11])
    picks = []
    for code, g in region.schools.groupby("municipality_code", sort=True):
        k = 2 if code in ("MO04", "MO11") else 1
        pool = g[g["has_senior"]]
        picks.append(pool.iloc[rng.choice(len(pool), size=min(k, len(pool)), replace=False)])
    return pd.concat(picks).reset_index(drop=True)


def write_samples(folder: str | Path, years=YEARS, seed: int = TRUTHS["seed"]) -> dict:
    """Write ``data_samples/``: survey exports per year, enrolment, schools and the planted truths."""
    data = DataFolder(folder)
    folder = data.root
    region = make_region(seed)
    sch = sample_schools(region)
    counts = {}
    for y in years:
        clean, inst = simulate_wave(region, y, sample=True, schools=sch, seed=seed)
        counts[y] = len(clean)
        dirty = _contaminate(clean, inst, np.random.default_rng([seed, y, 3]))
        _write_exports(dirty, inst, y, data.diagnostics_dir(y), np.random.default_rng([seed, y, 4]), region)
    enr = pd.concat([region.enrolment(y) for y in years])
    mo_enr = enr.groupby(["year", "municipality_code", "grade", "sex"], as_index=False)["n"].sum()
    mo_enr.rename(columns={"n": "n_enrolled"}).to_csv(data.enrolment_path, index=False, encoding="utf-8")
    school_enr = enr.groupby(["year", "school_id"], as_index=False)["n"].sum().rename(columns={"n": "n_students"})
    school_enr.to_csv(data.school_enrolment_path, index=False, encoding="utf-8")
    region.schools[["school_id", "school_name", "municipality_code", "municipality", "urban", "has_senior"]].to_csv(
        data.schools_path, index=False, encoding="utf-8")
    exp = expected_means(region, years)
    truths = dict(TRUTHS)
    truths["sample_schools"] = sch["school_id"].tolist()
    truths["respondents_before_dirt"] = {str(k): int(v) for k, v in counts.items()}
    truths["expected_means"] = exp.round(6).to_dict(orient="records")
    slope = np.polyfit(exp["year"], exp["total_mean"], 1)[0]
    truths["expected_total_slope_per_year"] = round(float(slope), 6)
    truths["school_activity"] = region.schools.set_index("school_id")["activity"].round(6).to_dict()
    truths["municipality_effect"] = region.municipality_effect.round(6).to_dict()
    with open(folder / "truths.json", "w", encoding="utf-8") as fh:
        json.dump(truths, fh, ensure_ascii=False, indent=1)
    return truths
