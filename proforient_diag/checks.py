"""Glue for the instrument-check notebook: load a band form, run the checks, build Russian tables.

The notebook ``notebooks/instrument_check.ipynb`` only calls these functions and plots what
they return. Computations live in :mod:`proforient_diag.psychometrics`; this module reads the
data, keys the items (reverse-keyed items recoded ``min + max − x``), fixes the options the
note uses and renames columns for people.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .datafolder import DataFolder
from .errors import DataError, InstrumentError
from .fmt import fmt_ci, fmt_int, fmt_num, fmt_p
from .instrument import Instrument, load_instrument
from .options import check_option, options
from .psychometrics.health import (VERDICTS_RU, HealthResult, instrument_health, keyed_form,
                                   marker_first, rules_table)
from .sources import load_waves

__all__ = ["keyed_items", "years_in_force", "prepare_check", "CheckData", "sample_table",
           "item_table", "run_health", "reliability_table", "reliability_long", "structure_model", "dimensionality", "Dimensionality",
           "structure_cfa", "scale_fit_table", "invariance_table", "dif_table",
           "information_curves", "verdict_table", "rules_ru", "scale_names", "sources"]


def keyed_items(responses: pd.DataFrame, instrument: Instrument, band: str) -> pd.DataFrame:
    """The items of a band form over the respondents of that band, reverse-keyed items recoded
    ``min + max − x`` with the item's response scale; rows without any answer are dropped and
    the index of ``responses`` is kept. In R: ``psych::reverse.code(keys, x, mini, maxi)``."""
    return keyed_form(responses, instrument, band)


def years_in_force(data_dir: str | Path, instrument: str = "psd", version: int | None = None) -> list[int]:
    """Survey years of a data folder in which ``version`` of the instrument was in force (default
    version: the newest)."""
    inst = load_instrument(instrument, version)
    folder = DataFolder(data_dir)
    if not folder.diagnostics_years():
        raise DataError(f"Нет папки с данными диагностики: {folder.root / 'diagnostics'}.")
    out = []
    for y in folder.diagnostics_years():
        try:
            v = load_instrument(instrument, year=y).version
        except InstrumentError:  # no version in force that year
            continue
        if v == inst.version:
            out.append(y)
    if not out:
        raise DataError(f"В папке с данными нет ни одного года, когда действовала версия {inst.version}.")
    return out


@dataclass(frozen=True)
class CheckData:
    """One band form ready for the checks.

    Attributes
    ----------
    instrument : Instrument
    band : str
    years : list of int
    responses : DataFrame — the accepted rows of the band answered on this version.
    items : DataFrame — keyed items with ``sex``, ``year`` and ``band`` columns appended.
    scales : dict — scale id → item ids of the form.
    n_read, n_excluded : int — rows accepted for all bands and rows excluded at ingest.
    """

    instrument: Instrument
    band: str
    years: list
    responses: pd.DataFrame = field(repr=False)
    items: pd.DataFrame = field(repr=False)
    scales: dict = field(repr=False)
    n_read: int = 0
    n_excluded: int = 0

    @property
    def item_ids(self) -> list[str]:
        return [i for s in self.scales.values() for i in s]

    def scale_items(self, scale: str) -> pd.DataFrame:
        return self.items[self.scales[scale]]


def prepare_check(data_dir: str | Path, years=None, band: str = "8-9", instrument: str = "psd",
                  version: int | None = None, *, store_path: str | Path | None = None,
                  key: bytes | str | None = None) -> CheckData:
    """Read the survey years of one instrument version and prepare one band form.

    ``years``: an int, a list, or None for all years in force for ``version`` (default: the
    newest version) found in the data folder. The answers come through the notes' store route
    (:func:`proforient_diag.sources.load_waves`: the data folder's cache store unless
    ``store_path`` is given), as for every other note.
    """
    inst = load_instrument(instrument, version)
    check_option("band", band, inst.band_ids)
    if years is None:
        years = years_in_force(data_dir, instrument, inst.version)
    elif isinstance(years, (int, np.integer)):
        years = [int(years)]
    years = [int(y) for y in years]
    folder = DataFolder(data_dir)
    for y in years:
        if not folder.has_diagnostics(y):
            raise DataError(f"Нет папки с данными за {y} год: {folder.diagnostics_dir(y)}.")
    waves = load_waves(folder.root, years, store_path=store_path, key=key, instrument=instrument)
    resp = waves.responses
    n_read = len(resp)
    n_exc = int(waves.loads.loc[waves.loads["year"].isin(years), "excluded"].sum())
    resp = resp[(resp["instrument_version"] == inst.version) & (resp["band"] == band)]
    if resp.empty:
        raise DataError(f"Нет анкет формы {band} версии {inst.version} за {', '.join(map(str, years))}.")
    resp = resp.reset_index(drop=True)
    x = keyed_items(resp, inst, band)
    ctx = resp.loc[x.index, [c for c in ("sex", "year", "band") if c in resp.columns]]
    scales = {s: inst.items_for(band, s) for s in inst.scales_for(band)}
    return CheckData(instrument=inst, band=band, years=years, responses=resp.loc[x.index],
                     items=x.join(ctx), scales=scales, n_read=n_read, n_excluded=n_exc)


# ----------------------------------------------------------------------------- tables
def sample_table(check: CheckData) -> pd.DataFrame:
    """Respondents of the form by year and sex (counts), with a total row."""
    r = check.responses
    t = pd.crosstab(r["year"], r["sex"], margins=True, margins_name="Всего")
    t.index = t.index.map(str)
    t = t.rename_axis("Год").rename_axis(None, axis=1).reset_index()
    return t.rename(columns={"ж": "Девушки", "м": "Юноши"})


@functools.lru_cache(maxsize=1)
def _short_names() -> dict[str, str]:
    return load_instrument().short_scale_names   # the scale ids are the same in every version


def scale_names(values) -> list[str]:
    """Russian names of scale ids («MOT» → «Мотивационно-ценностный»), for the notes' tables;
    values that are not scale ids are kept."""
    names = _short_names()
    return [names.get(v, v) for v in values]


#: The literature of the note's methods (after the decision rules' sources), and the R
#: packages whose results the kit's statistics reproduce (checked in ``tests/reference/``).
METHOD_SOURCES = (
    "Hu L., Bentler P. M. Cutoff criteria for fit indexes in covariance structure analysis // "
    "Structural Equation Modeling. 1999. Vol. 6, no. 1. P. 1–55.",
    "Chen F. F. Sensitivity of goodness of fit indexes to lack of measurement invariance // "
    "Structural Equation Modeling. 2007. Vol. 14, no. 3. P. 464–504.",
    "Revelle W. psych: Procedures for Psychological, Psychometric, and Personality Research "
    "(пакет R; те же расчёты α, ω, статистик пунктов, полихорических корреляций и факторного "
    "анализа).",
    "Rosseel Y. lavaan: An R Package for Structural Equation Modeling // Journal of Statistical "
    "Software. 2012. Vol. 48, no. 2 (те же оценки конфирматорных моделей и инвариантности).",
)


def sources() -> list[str]:
    """The literature of the note: the decision rules' sources, numbered as the rules table
    cites them («[1]»), then :data:`METHOD_SOURCES`."""
    return list(dict.fromkeys([*rules_table()["source"], *METHOD_SOURCES]))


_ITEM_COLS = {"scale": "Шкала", "item": "Пункт", "text": "Формулировка", "reverse": "Обратный",
              "n": "n", "mean": "Среднее", "sd": "SD", "share_floor": "Мин. категория, %",
              "share_ceiling": "Макс. категория, %", "r_drop": "r с остальными",
              "alpha_if_dropped": "α без пункта"}


def item_table(check: CheckData) -> pd.DataFrame:
    """:func:`~proforient_diag.psychometrics.item_analysis` per scale on the keyed items,
    Russian headers (shares in %)."""
    from .psychometrics.items import item_analysis

    parts = []
    for s, its in check.scales.items():
        rs = check.instrument.response_scale_of(its[0], check.band)
        t = item_analysis(check.items[its], min_code=rs.min, max_code=rs.max).reset_index()
        t.insert(0, "scale", s)
        parts.append(t)
    t = pd.concat(parts, ignore_index=True)
    t["text"] = t["item"].map(lambda i: check.instrument.item_by_id[i].text)
    t["reverse"] = t["item"].map(lambda i: "да" if check.instrument.item_by_id[i].reverse else "")
    for c in ("share_floor", "share_ceiling"):
        t[c] = 100 * t[c]
    t["scale"] = scale_names(t["scale"])
    return t[list(_ITEM_COLS)].rename(columns=_ITEM_COLS)


def run_health(check: CheckData, groups=("sex", "band", "year"), *, n_boot: int = 100,
               seed: int = 0) -> HealthResult:
    """:func:`~proforient_diag.psychometrics.instrument_health` on the band form."""
    return instrument_health(check.responses, check.instrument, tuple(groups), band=check.band,
                             n_boot=n_boot, seed=seed)


def reliability_table(health: HealthResult) -> pd.DataFrame:
    """α with Feldt and Duhachek 95 % CIs and one-factor ω_total with its bootstrap CI."""
    s = health.scales
    return pd.DataFrame({
        "Шкала": scale_names(s["scale"]), "n": s["n"], "Пунктов": s["k"], "α": s["alpha"],
        "α: ДИ Фельдта": [_ci(a, b) for a, b in zip(s["alpha_feldt_low"], s["alpha_feldt_high"])],
        "α: ДИ Духачека": [_ci(a, b) for a, b in zip(s["alpha_duhachek_low"], s["alpha_duhachek_high"])],
        "ω общая": s["omega"],
        "ω: бутстреп-ДИ": [_ci(a, b) for a, b in zip(s["omega_low"], s["omega_high"])],
        "≥ 0,70": np.where(np.minimum(s["alpha"], s["omega"]) >= 0.70, "да", "нет"),
    })


def reliability_long(health: HealthResult) -> pd.DataFrame:
    """Tidy α and ω with CIs for a point-range figure: scale, coefficient, value, low, high."""
    s = health.scales
    a = pd.DataFrame({"scale": scale_names(s["scale"]), "coefficient": "α (ДИ Фельдта)", "value": s["alpha"],
                      "low": s["alpha_feldt_low"], "high": s["alpha_feldt_high"]})
    o = pd.DataFrame({"scale": scale_names(s["scale"]), "coefficient": "ω общая (бутстреп)", "value": s["omega"],
                      "low": s["omega_low"], "high": s["omega_high"]})
    return pd.concat([a, o], ignore_index=True)


def _ci(lo, hi) -> str:
    return fmt_ci(lo, hi)


def _factor_names(loadings: pd.DataFrame, intended: pd.Series) -> dict:
    """Name each factor by the scale whose items load on it most (mean |loading|); a scale that
    dominates two factors gets «(2)» on the second, so the reader sees a split scale."""
    out, used = {}, {}
    for f in loadings.columns:
        mean = loadings[f].abs().groupby(intended).mean().drop("", errors="ignore")
        name = scale_names([mean.idxmax()])[0] if len(mean) else str(f)
        used[name] = used.get(name, 0) + 1
        out[f] = f"Фактор «{name}»" + (f" ({used[name]})" if used[name] > 1 else "")
    return out


@dataclass(frozen=True)
class Dimensionality:
    """KMO, Bartlett, parallel analysis and EFA (oblimin) of a band form, polychoric."""

    kmo: object
    bartlett: object
    parallel: object
    efa: object
    n_scales: int

    def table(self) -> pd.DataFrame:
        k, b, p = self.kmo, self.bartlett, self.parallel
        return pd.DataFrame([
            ("KMO (общая мера адекватности выборки)", fmt_num(k.overall, 3), "≥ 0,60 (ниже 0,50 — неприемлемо)",
             "да" if k.overall >= 0.60 else "нет"),
            ("Критерий сферичности Бартлетта", f"χ² = {fmt_num(b.chisq, 1)}, df = {fmt_int(b.df)}, p {fmt_p(b.pvalue)}",
             "p < 0,05", "да" if b.pvalue < 0.05 else "нет"),
            ("Параллельный анализ (факторов)", str(p.n_factors), f"по замыслу: {self.n_scales}",
             "да" if p.n_factors == self.n_scales else "нет"),
            ("Параллельный анализ (компонент)", str(p.n_components), f"по замыслу: {self.n_scales}",
             "да" if p.n_components == self.n_scales else "нет"),
        ], columns=["Показатель", "Значение", "Критерий", "Выполнен"])

    def eigen_long(self) -> pd.DataFrame:
        """Tidy eigenvalues for the scree figure: number, series, value."""
        p = self.parallel
        frames = [("Наблюдаемые (факторы)", p.observed_fa), ("Случайные, 95-й процентиль", p.quantile_fa),
                  ("Наблюдаемые (компоненты)", p.observed_pc), ("Случайные компоненты, 95-й процентиль", p.quantile_pc)]
        return pd.concat([pd.DataFrame({"number": s.index, "series": name, "value": s.to_numpy()})
                          for name, s in frames], ignore_index=True)

    def loadings_table(self, scales: dict) -> pd.DataFrame:
        """Pattern loadings with the intended scale of each item."""
        L = self.efa.loadings.copy()
        owner = {i: s for s, its in scales.items() for i in its}
        intended = pd.Series([owner.get(i, "") for i in L.index], index=L.index)
        L = L.rename(columns=_factor_names(L, intended))
        L.insert(0, "Шкала", scale_names(intended))
        L.insert(0, "Пункт", L.index)
        L["h²"] = self.efa.communalities.reindex(L.index).to_numpy()
        return L.reset_index(drop=True)


def dimensionality(check: CheckData, *, seed: int = 1, n_iter: int = 20) -> Dimensionality:
    """KMO and Bartlett (Pearson, pairwise, as psych), parallel analysis and a minres EFA with
    oblimin on polychoric correlations, with as many factors as the form has scales."""
    from .psychometrics.factor import bartlett, efa, kmo, parallel_analysis

    x = check.items[check.item_ids]
    nf = len(check.scales)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return Dimensionality(kmo=kmo(x), bartlett=bartlett(x),
                              parallel=parallel_analysis(x, n_iter=n_iter, seed=seed, cor="polychoric"),
                              efa=efa(x, nf, method="minres", rotation="oblimin", cor="polychoric"),
                              n_scales=nf)


def structure_model(check: CheckData) -> str:
    """The intended structure (``instrument.cfa_model(band)``) with the most variable item of
    each scale first as its marker (same model and fit; a near-constant marker such as a
    ceiling item makes the information matrix singular)."""
    lines = []
    for line in check.instrument.cfa_model(check.band).splitlines():
        f, rhs = line.split("=~")
        its = [i.strip() for i in rhs.split("+")]
        lines.append(f"{f.strip()} =~ " + " + ".join(marker_first(check.items[its])))
    return "\n".join(lines)


def structure_cfa(check: CheckData):
    """ML CFA of the intended structure (listwise, as lavaan's default)."""
    from .psychometrics.confirmatory import cfa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return cfa(check.items, structure_model(check))


def scale_fit_table(health: HealthResult) -> pd.DataFrame:
    """One-factor CFA of each scale (from the health check) against Hu–Bentler cut-offs."""
    s = health.scales
    return pd.DataFrame({"Шкала": scale_names(s["scale"]), "N (полные ответы)": s["cfa_n"], "CFI": s["cfa_cfi"],
                         "TLI": s["cfa_tli"], "RMSEA": s["cfa_rmsea"], "SRMR": s["cfa_srmr"],
                         "Критерии Ху и Бентлера выполнены": np.where((s["cfa_cfi"] >= .95) & (s["cfa_tli"] >= .95)
                                                          & (s["cfa_rmsea"] <= .06) & (s["cfa_srmr"] <= .08),
                                                          "да", "нет")})


_GROUP_RU = {"sex": "пол", "year": "год", "band": "параллель"}
_LEVEL_RU = {"configural": "конфигуральная", "metric": "метрическая", "scalar": "скалярная"}


def invariance_table(health: HealthResult, group: str | None = None) -> pd.DataFrame:
    """Per-scale invariance fits with Russian headers (optionally one group)."""
    inv = health.invariance
    if group is not None:
        inv = inv[inv["group"] == group]
    sup = inv["supported"].map(lambda v: "" if not isinstance(v, (bool, np.bool_)) else ("да" if v else "нет"))
    return pd.DataFrame({"Шкала": scale_names(inv["scale"]), "Группа": inv["group"].map(_GROUP_RU),
                         "Группы": inv["groups"], "Уровень": inv["level"].map(_LEVEL_RU),
                         "N": inv["n"], "CFI": inv["cfi"], "RMSEA": inv["rmsea"], "SRMR": inv["srmr"],
                         "ΔCFI": inv["delta_cfi"], "ΔRMSEA": inv["delta_rmsea"],
                         "ΔSRMR": inv["delta_srmr"], "Подтверждена": sup}).reset_index(drop=True)


def dif_table(health: HealthResult) -> pd.DataFrame:
    """Mantel–Haenszel DIF by sex (girls focal), Russian headers."""
    d = health.dif
    if d.empty:
        return pd.DataFrame(columns=["Шкала", "Пункт", "n (юн.)", "n (дев.)", "χ² Мантела",
                                     "p", "SMD", "SMD/SD", "Класс ETS"])
    return pd.DataFrame({"Шкала": scale_names(d["scale"]), "Пункт": d["item"], "n (референтная)": d["n_reference"],
                         "n (фокальная)": d["n_focal"], "χ² Мантела": d["statistic"], "p": d["p_value"],
                         "SMD": d["smd"], "SMD/SD": d["smd_sd"], "Класс ETS": d["class"]})


def information_curves(check: CheckData, health: HealthResult | None = None,
                       theta=np.linspace(-4, 4, 81)) -> pd.DataFrame:
    """GRM item information on a θ grid, one GRM per scale: tidy scale, item, theta,
    information (and ``verdict_ru`` of each item when ``health`` is given)."""
    from .psychometrics.irt import grm

    parts = []
    for s, its in check.scales.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            g = grm(check.items[its], se="none")
        parts.append(g.item_information(theta).assign(scale=scale_names([s])[0]))
    out = pd.concat(parts, ignore_index=True)
    if health is not None:
        v = health.items.set_index("item")["verdict_ru"]
        out["verdict_ru"] = out["item"].map(v)
    return out


@options(kind=("item", "scale"))
def verdict_table(health: HealthResult, kind: str = "item") -> pd.DataFrame:
    """Verdicts with reasons, Russian headers; ``kind`` "item" or "scale"."""
    if kind == "item":
        t = health.items
        return pd.DataFrame({"Шкала": scale_names(t["scale"]), "Пункт": t["item"], "Решение": t["verdict_ru"],
                             "r с остальными": t["r_drop"], "Макс. категория, %": 100 * t["share_ceiling"],
                             "α без пункта": t["alpha_if_dropped"], "a (ГО)": t["grm_a"],
                             "DIF по полу": t["dif_class"], "Причины": t["reasons"]})
    t = health.scales
    return pd.DataFrame({"Шкала": scale_names(t["scale"]), "Решение": t["verdict_ru"], "α": t["alpha"],
                         "ω": t["omega"], "CFI": t["cfa_cfi"], "RMSEA": t["cfa_rmsea"],
                         "Причины": t["reasons"]})


def rules_ru() -> pd.DataFrame:
    """The decision rules with Russian headers."""
    r = rules_table()
    number = {src: i for i, src in enumerate(sources(), 1)}

    def comma(col):
        return col.astype(str).str.replace(r"(?<=\d)\.(?=\d)", ",", regex=True).str.replace(
            r"(?<=\d)%", "\u00a0%", regex=True)

    return pd.DataFrame({"Объект": r["applies"], "Что проверяется": comma(r["what"]),
                         f"«{VERDICTS_RU['revise']}»": comma(r["revise"]),
                         f"«{VERDICTS_RU['drop']}»": comma(r["drop"]),
                         "Источник": [f"[{number[x]}]" for x in r["source"]]})
