"""Instrument health: one verdict per item and per scale, with the reasons behind it.

:func:`instrument_health` runs the checks a psychometrician runs on every band form of an
instrument and turns them into decisions a methodologist can act on — «оставить» (keep),
«доработать» (revise) or «исключить» (drop) — each with its reasons in Russian and the
statistics behind them. Nothing is estimated here that the package does not already compute
and test against R: item statistics (:func:`~.items.item_analysis`), alpha with Feldt and
Duhachek CIs (:func:`~.reliability.alpha`), omega (:func:`~.omega_sl.omega`), Mantel–Haenszel
DIF (:func:`~.dif.dif`), the graded response model (:func:`~.irt.grm`), one-factor CFA and
invariance (:func:`~.confirmatory.cfa`, :func:`~.confirmatory.invariance`). The only numerics of
this module are the percentile bootstrap of omega (row weights on the pairwise covariance
matrix, as the alpha bootstrap) and the decision rules.

Decision rules
--------------
The thresholds are module constants (see :data:`RULES` and :func:`rules_table`), each with its
source; they come from the literature, not from any data set.

Items (a band form's items over the respondents of that band, keyed so that a higher code
means more of the trait):

* corrected item–total (item–rest) correlation ``r_drop`` < 0.20 → revise: Ebel & Frisbie's
  (1991) discrimination bands ("below .20: poor, reject or revise"), Everitt & Skrondal (2010)
  "item-total r should exceed .20"; ``r_drop`` < 0.10 → drop: below Cohen's (1988) smallest
  conventional correlation, the item shares practically nothing with its scale;
* more than 80 % of the answers in one extreme category (floor or ceiling) → revise: an item
  almost everybody answers the same way carries little information (Streiner, Norman &
  Cairney 2015 screen items by endorsement frequency; 80 % is the convention adopted here);
* alpha of the scale without the item exceeds alpha with it by more than 0.01 → revise
  (psych's ``alpha.drop``; the 0.01 margin keeps sampling noise out);
* Mantel–Haenszel DIF of ETS class C by sex, items keyed, matching on the scale's rest score,
  within the band form (Zwick 2012; polytomous classes of Zwick, Thayer & Mazzeo 1997)
  → revise (review the wording for bias);
* GRM discrimination a < 0.65 ("low" in Baker 2001, table 2-1) → revise; a < 0.35 ("very
  low") → drop.

Scales:

* alpha or omega_total < 0.70 → revise (group reporting, Nunnally & Bernstein 1994 and
  DOMAIN.md); < 0.50 → drop ("unacceptable", George & Mallery 2003);
* one-factor CFA (ML) with CFI < 0.90 or RMSEA > 0.10 → revise (below the older "acceptable"
  bounds: Bentler & Bonett 1980 for CFI, Browne & Cudeck 1993 for RMSEA; the notebook also
  shows Hu & Bentler's 1999 cut-offs);
* metric or scalar invariance not supported across a group (sex, year, band) → revise.
  Chen's (2007) combined rule: a level fails when CFI drops by 0.010 or more (Cheung &
  Rensvold 2002) **and** RMSEA rises by 0.015 or more or SRMR by 0.030 (metric) / 0.010
  (scalar) or more. (:func:`~.confirmatory.invariance` prints a stricter reading that needs
  all three within bounds; the table it returns is kept in :attr:`HealthResult.invariance`.)
* any item of the scale to revise or drop → revise.

The verdict is the most severe one among the rules that fire.

References
----------
1. Ebel, R. L., & Frisbie, D. A. (1991). *Essentials of Educational Measurement* (5th ed.).
   Prentice Hall.
2. Everitt, B. S., & Skrondal, A. (2010). *The Cambridge Dictionary of Statistics* (4th ed.).
3. Cohen, J. (1988). *Statistical Power Analysis for the Behavioral Sciences* (2nd ed.).
4. Streiner, D. L., Norman, G. R., & Cairney, J. (2015). *Health Measurement Scales* (5th ed.).
   Oxford University Press.
5. Zwick, R. (2012). A review of ETS differential item functioning assessment procedures.
   ETS RR-12-08.
6. Baker, F. B. (2001). *The Basics of Item Response Theory* (2nd ed.). ERIC.
7. Nunnally, J. C., & Bernstein, I. H. (1994). *Psychometric Theory* (3rd ed.). McGraw-Hill.
8. George, D., & Mallery, P. (2003). *SPSS for Windows Step by Step* (4th ed.). Allyn & Bacon.
9. Bentler, P. M., & Bonett, D. G. (1980). Significance tests and goodness of fit in the
   analysis of covariance structures. *Psychological Bulletin*, 88, 588–606.
10. Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In Bollen &
    Long (Eds.), *Testing Structural Equation Models*. Sage.
11. Cheung, G. W., & Rensvold, R. B. (2002). *SEM*, 9, 233–255.
12. Chen, F. F. (2007). *SEM*, 14, 464–504.
13. Hu, L., & Bentler, P. M. (1999). *SEM*, 6, 1–55.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, DiagError, OptionError
from ..fmt import fmt_int, fmt_num, fmt_p, fmt_pct
from ..options import check_choices, check_option, check_range, options
from ._keys import cov2cor, pairwise_cov

__all__ = ["instrument_health", "HealthResult", "RULES", "rules_table", "VERDICTS_RU",
           "keyed_form"]

# ----------------------------------------------------------------------------- thresholds
R_DROP_REVISE = 0.20      # Ebel & Frisbie (1991); Everitt & Skrondal (2010)
R_DROP_DROP = 0.10        # below Cohen's (1988) smallest conventional r
EXTREME_SHARE = 0.80      # share of answers in one extreme category (floor or ceiling)
ALPHA_GAIN = 0.01         # alpha_if_dropped > alpha + ALPHA_GAIN
DIF_CLASS = "C"           # ETS class (Zwick 2012)
GRM_A_LOW = 0.65          # Baker (2001): "low" is 0.35–0.64
GRM_A_VERY_LOW = 0.35     # Baker (2001): "very low" is 0.01–0.34
REL_REVISE = 0.70         # Nunnally & Bernstein (1994); DOMAIN.md, group reporting
REL_DROP = 0.50           # George & Mallery (2003): "unacceptable"
CFI_MIN = 0.90            # Bentler & Bonett (1980)
RMSEA_MAX = 0.10          # Browne & Cudeck (1993)
INV_DCFI = -0.010         # Cheung & Rensvold (2002)
INV_DRMSEA = 0.015        # Chen (2007)
INV_DSRMR = {"metric": 0.030, "scalar": 0.010}   # Chen (2007)
MIN_GROUP_N = 100         # complete answers per group for a multi-group CFA

RULES: dict[str, dict] = {
    "r_drop": dict(applies="пункт", revise=f"r < {R_DROP_REVISE}", drop=f"r < {R_DROP_DROP}",
                   what="скорректированная корреляция пункта с суммой остальных пунктов шкалы",
                   source="Ebel & Frisbie (1991); Everitt & Skrondal (2010); Cohen (1988)"),
    "extreme": dict(applies="пункт", revise=f"> {EXTREME_SHARE:.0%} ответов в крайней категории",
                    drop="", what="эффект пола или потолка",
                    source="Streiner, Norman & Cairney (2015); порог 80 % — принятое соглашение"),
    "alpha_rise": dict(applies="пункт", revise=f"α без пункта > α + {ALPHA_GAIN}", drop="",
                       what="α шкалы растёт без пункта", source="psych::alpha (alpha.drop)"),
    "dif": dict(applies="пункт", revise=f"класс {DIF_CLASS} по полу", drop="",
                what="дифференцированное функционирование (Мантел–Хензель, ETS)",
                source="Zwick (2012); Zwick, Thayer & Mazzeo (1997)"),
    "grm_a": dict(applies="пункт", revise=f"a < {GRM_A_LOW}", drop=f"a < {GRM_A_VERY_LOW}",
                  what="дискриминация в модели градуированных ответов",
                  source="Baker (2001), табл. 2-1"),
    "reliability": dict(applies="шкала", revise=f"α или ω < {REL_REVISE}",
                        drop=f"α или ω < {REL_DROP}", what="надёжность (групповая отчётность)",
                        source="Nunnally & Bernstein (1994); George & Mallery (2003)"),
    "fit": dict(applies="шкала", revise=f"CFI < {CFI_MIN} или RMSEA > {RMSEA_MAX}", drop="",
                what="согласие однофакторной модели шкалы (конфирматорный факторный анализ, "
                     "метод максимального правдоподобия)",
                source="Bentler & Bonett (1980); Browne & Cudeck (1993)"),
    "invariance": dict(applies="шкала", revise="метрическая или скалярная не подтверждена",
                       drop="", what="инвариантность по полу, годам, параллелям",
                       source="Chen (2007): ΔCFI ≤ −0,010 и (ΔRMSEA ≥ 0,015 или ΔSRMR ≥ "
                              "0,030 / 0,010) — неинвариантность; Cheung & Rensvold (2002)"),
    "items": dict(applies="шкала", revise="есть пункты «доработать» или «исключить»", drop="",
                  what="пункты шкалы", source="—"),
}

VERDICTS = ("keep", "revise", "drop")
VERDICTS_RU = {"keep": "оставить", "revise": "доработать", "drop": "исключить"}
_SEVERITY = {v: i for i, v in enumerate(VERDICTS)}
_SEX_RU = {"м": "юноши", "ж": "девушки"}
_GROUP_RU = {"sex": "полу", "year": "годам", "band": "параллелям"}
_LEVEL_RU = {"metric": "метрическая (нагрузки)", "scalar": "скалярная (пороги/интерцепты)"}
_GROUPS = ("sex", "band", "year")


def rules_table() -> pd.DataFrame:
    """The decision rules as a tidy table: rule, applies, what, revise, drop, source."""
    return (pd.DataFrame.from_dict(RULES, orient="index").rename_axis("rule").reset_index()
            [["rule", "applies", "what", "revise", "drop", "source"]])


def _worst(verdicts) -> str:
    verdicts = list(verdicts)
    return max(verdicts, key=_SEVERITY.__getitem__) if verdicts else "keep"


# ----------------------------------------------------------------------------- item rules
def item_verdict(row) -> tuple[str, str, dict]:
    """Apply the item rules to one row of statistics.

    ``row`` is a mapping with ``r_drop``, ``share_floor``, ``share_ceiling``,
    ``alpha_if_dropped``, ``scale_alpha``, ``dif_class``, ``dif_smd_sd``, ``dif_p``,
    ``dif_favoured``, ``grm_a`` (NaN or None = not computed, the rule does not fire).
    Returns ``(verdict, reasons, flags)``: verdict in :data:`VERDICTS`, reasons a Russian text
    (rules joined by «; »), flags a dict ``flag_<rule>`` → bool.
    """
    def num(key):
        v = row.get(key) if hasattr(row, "get") else row[key]
        try:
            v = float(v)
        except (TypeError, ValueError):
            return np.nan
        return v

    out, reasons = [], []
    flags = {f"flag_{r}": False for r in ("r_drop", "extreme", "alpha_rise", "dif", "grm_a")}
    r = num("r_drop")
    if r == r and r < R_DROP_REVISE:
        v = "drop" if r < R_DROP_DROP else "revise"
        out.append(v)
        flags["flag_r_drop"] = True
        reasons.append(f"низкая корреляция с суммой остальных пунктов шкалы: r = {fmt_num(r)} "
                       f"< {fmt_num(R_DROP_DROP if v == 'drop' else R_DROP_REVISE)}"
                       + (" (пункт почти не связан со шкалой)" if v == "drop" else ""))
    for key, word, where in (("share_ceiling", "эффект потолка", "высшей"),
                             ("share_floor", "эффект пола", "низшей")):
        s = num(key)
        if s == s and s > EXTREME_SHARE:
            out.append("revise")
            flags["flag_extreme"] = True
            reasons.append(f"{word}: {fmt_pct(s, share=True)} ответов в {where} категории "
                           f"(порог {fmt_pct(EXTREME_SHARE, 0, share=True)})")
    a_drop, a_all = num("alpha_if_dropped"), num("scale_alpha")
    if a_drop == a_drop and a_all == a_all and a_drop > a_all + ALPHA_GAIN:
        out.append("revise")
        flags["flag_alpha_rise"] = True
        reasons.append(f"без пункта α шкалы выросла бы с {fmt_num(a_all)} до {fmt_num(a_drop)} "
                       f"(больше чем на {fmt_num(ALPHA_GAIN)})")
    cls = row.get("dif_class") if hasattr(row, "get") else row["dif_class"]
    if isinstance(cls, str) and cls == DIF_CLASS:
        out.append("revise")
        flags["flag_dif"] = True
        fav = row.get("dif_favoured") if hasattr(row, "get") else row["dif_favoured"]
        smd, p = num("dif_smd_sd"), num("dif_p")
        reasons.append(f"DIF по полу класса {DIF_CLASS} (Мантел–Хензель, ETS): "
                       f"SMD/SD = {fmt_num(smd)}, p {_p_text(p)}"
                       + (f"; при равном остальном балле выше отвечают {fav}"
                          if isinstance(fav, str) and fav else ""))
    a = num("grm_a")
    if a == a and a < GRM_A_LOW:
        v = "drop" if a < GRM_A_VERY_LOW else "revise"
        out.append(v)
        flags["flag_grm_a"] = True
        reasons.append(f"слабая дискриминация в модели градуированных ответов: a = {fmt_num(a)} "
                       f"< {fmt_num(GRM_A_VERY_LOW if v == 'drop' else GRM_A_LOW)} "
                       f"(по Бейкеру: «{'очень низкая' if v == 'drop' else 'низкая'}»)")
    return _worst(out), "; ".join(reasons), flags


def _p_text(p) -> str:
    s = fmt_p(p)
    return s if s.startswith(("<", ">")) else f"= {s}"


# ----------------------------------------------------------------------------- scale rules
def scale_verdict(row, invariance_rows=(), item_verdicts=None) -> tuple[str, str, dict]:
    """Apply the scale rules.

    ``row``: mapping with ``alpha``, ``omega``, ``cfa_cfi``, ``cfa_rmsea`` (NaN = not
    computed). ``invariance_rows``: mappings with ``group``, ``level`` (``metric``/``scalar``),
    ``supported`` (bool), ``delta_cfi``, ``delta_rmsea``, ``delta_srmr``. ``item_verdicts``:
    mapping item → verdict of the scale's items. Returns ``(verdict, reasons, flags)``.
    """
    def num(key):
        try:
            return float(row.get(key))
        except (TypeError, ValueError):
            return np.nan

    out, reasons = [], []
    flags = {f"flag_{r}": False for r in ("reliability", "fit", "invariance", "items")}
    for key, name in (("alpha", "α Кронбаха"), ("omega", "ω общая")):
        v = num(key)
        if v == v and v < REL_REVISE:
            verdict = "drop" if v < REL_DROP else "revise"
            out.append(verdict)
            flags["flag_reliability"] = True
            reasons.append(f"{name} = {fmt_num(v)} < {fmt_num(REL_DROP if verdict == 'drop' else REL_REVISE)}"
                           + (" (неприемлемо)" if verdict == "drop"
                              else " (мало даже для групповой отчётности)"))
    cfi, rmsea = num("cfa_cfi"), num("cfa_rmsea")
    bad = []
    if cfi == cfi and cfi < CFI_MIN:
        bad.append(f"CFI = {fmt_num(cfi, 3)} < {fmt_num(CFI_MIN)}")
    if rmsea == rmsea and rmsea > RMSEA_MAX:
        bad.append(f"RMSEA = {fmt_num(rmsea, 3)} > {fmt_num(RMSEA_MAX)}")
    if bad:
        out.append("revise")
        flags["flag_fit"] = True
        reasons.append("плохое согласие однофакторной модели: " + ", ".join(bad))
    for inv in invariance_rows:
        if inv.get("level") in INV_DSRMR and _is_false(inv.get("supported")):
            out.append("revise")
            flags["flag_invariance"] = True
            reasons.append(f"не подтверждена {_LEVEL_RU[inv['level']]} инвариантность по "
                           f"{_GROUP_RU.get(inv['group'], inv['group'])}: ΔCFI = "
                           f"{fmt_num(inv['delta_cfi'], 3)}, ΔRMSEA = {fmt_num(inv['delta_rmsea'], 3)}, "
                           f"ΔSRMR = {fmt_num(inv['delta_srmr'], 3)}")
    bad_items = {i: v for i, v in (item_verdicts or {}).items() if v != "keep"}
    if bad_items:
        out.append("revise")
        flags["flag_items"] = True
        reasons.append("пункты: " + ", ".join(f"{i} ({VERDICTS_RU[v]})" for i, v in bad_items.items()))
    return _worst(out), "; ".join(reasons), flags


def _is_false(v) -> bool:
    return isinstance(v, (bool, np.bool_)) and not v


@options(level=tuple(INV_DSRMR))
def invariance_supported(level: str, d_cfi: float, d_rmsea: float, d_srmr: float) -> bool:
    """Chen's (2007) combined rule: non-invariance when CFI drops by at least 0.010 **and**
    RMSEA rises by at least 0.015 or SRMR by at least 0.030 (metric) / 0.010 (scalar).

    ΔCFI is the primary criterion (Cheung & Rensvold 2002), ΔRMSEA and ΔSRMR supplement it,
    as Chen (2007, p. 501) recommends. (:func:`~.confirmatory.invariance` prints a stricter
    reading that needs all three within bounds; with RMSEA at its floor of 0 in the
    configural model a rise of 0.015 alone is no evidence of non-invariance.)
    """
    worse_cfi = d_cfi <= INV_DCFI
    worse_other = d_rmsea >= INV_DRMSEA or d_srmr >= INV_DSRMR[level]
    return not bool(worse_cfi and worse_other)


# ----------------------------------------------------------------------------- data
def keyed_form(responses: pd.DataFrame, instrument, band: str) -> pd.DataFrame:
    """The items of a band form over the respondents of that band, reverse-keyed items recoded.

    Reversal is ``min + max − x`` with the item's response scale in that band (psych's
    ``reverse.code`` with the scale's bounds). Rows without a single answer to the form are
    dropped; the index of ``responses`` is kept. Only the item columns are returned.
    """
    if not isinstance(responses, pd.DataFrame):
        raise DataError("Ожидается таблица ответов pandas.DataFrame.")
    check_option("band", band, instrument.band_ids)
    if "band" not in responses.columns:
        raise DataError("В таблице ответов нет столбца band (параллель).", column="band")
    items = instrument.items_for(band)
    missing = [i for i in items if i not in responses.columns]
    if missing:
        raise DataError(f"В ответах нет столбцов пунктов формы {band}: {', '.join(missing[:5])}"
                        + (" и др." if len(missing) > 5 else "") + ".", column=missing[0])
    rows = responses["band"] == band
    x = responses.loc[rows, items].apply(pd.to_numeric, errors="coerce").astype(float)
    for it in items:
        if instrument.item_by_id[it].reverse:
            rs = instrument.response_scale_of(it, band)
            x[it] = rs.min + rs.max - x[it]
    return x[x.notna().any(axis=1)]


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True)
class HealthResult:
    """Verdicts on an instrument's items and scales (see :func:`instrument_health`).

    Attributes
    ----------
    items : pandas.DataFrame
        One row per band form × item: ``band``, ``scale``, ``item``, ``verdict`` (keep /
        revise / drop), ``verdict_ru``, ``reasons`` (Russian), then the statistics behind
        them — ``n``, ``mean``, ``sd``, ``share_floor``, ``share_ceiling``, ``r_drop``,
        ``alpha_if_dropped``, ``scale_alpha``, ``grm_a``, ``dif_class``, ``dif_smd_sd``,
        ``dif_p``, ``dif_favoured`` — and one ``flag_<rule>`` column per rule.
    scales : pandas.DataFrame
        One row per band form × scale: ``band``, ``scale``, ``verdict``, ``verdict_ru``,
        ``reasons``, ``n``, ``k``, ``alpha`` with ``alpha_feldt_low/high`` and
        ``alpha_duhachek_low/high``, ``omega`` (ω total, one factor) with its bootstrap
        ``omega_low/high``, ``cfa_n``, ``cfa_cfi``, ``cfa_tli``, ``cfa_rmsea``,
        ``cfa_srmr``, ``invariance`` (Russian: the levels that failed) and ``flag_<rule>``.
    invariance : pandas.DataFrame
        Tidy: ``band``, ``scale``, ``group``, ``level``, ``n``, ``groups`` (the values
        compared), ``items``, ``chisq``, ``df``, ``cfi``, ``rmsea``, ``srmr``, ``delta_cfi``,
        ``delta_rmsea``, ``delta_srmr``, ``supported``.
    dif : pandas.DataFrame
        The Mantel–Haenszel table of :func:`~.dif.dif` by sex with ``band``, ``scale``,
        ``focal``, ``reference`` prepended.
    notes : tuple of str
        Russian notes on checks that could not be run (too few answers, a model that failed).
    """

    items: pd.DataFrame
    scales: pd.DataFrame
    invariance: pd.DataFrame = field(repr=False)
    dif: pd.DataFrame = field(repr=False)
    notes: tuple = ()
    scale_names: dict = field(default_factory=dict, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """All verdicts, tidy: ``band``, ``scale``, ``item`` (NaN for a scale), ``kind``
        (``"item"``/``"scale"``), ``verdict``, ``verdict_ru``, ``reasons``."""
        cols = ["band", "scale", "item", "kind", "verdict", "verdict_ru", "reasons"]
        it = self.items.assign(kind="item")
        sc = self.scales.assign(kind="scale", item=np.nan)
        return pd.concat([sc[cols], it[cols]], ignore_index=True)

    def flagged(self) -> pd.DataFrame:
        """The rows of :meth:`to_frame` whose verdict is not «оставить»."""
        f = self.to_frame()
        return f[f["verdict"] != "keep"].reset_index(drop=True)

    def summary(self) -> str:
        """A short Russian text: counts of verdicts and the items to revise or drop, per form."""
        lines = []
        for band, it in self.items.groupby("band", sort=False):
            counts = it["verdict"].value_counts()
            sc = self.scales[self.scales["band"] == band]
            line = (f"Форма {band}: пунктов {fmt_int(len(it))} — оставить "
                    f"{fmt_int(counts.get('keep', 0))}, доработать {fmt_int(counts.get('revise', 0))}, "
                    f"исключить {fmt_int(counts.get('drop', 0))}.")
            bad = it[it["verdict"] != "keep"]
            for _, r in bad.iterrows():
                line += f" {r['item']} ({r['verdict_ru']}): {r['reasons']}."
            bad_sc = sc[sc["verdict"] != "keep"]
            line += (" Шкалы к доработке: " + ", ".join(
                f"«{self.scale_names.get(x, x)}»" for x in bad_sc["scale"]) + "."
                     if len(bad_sc) else " Все шкалы можно оставить.")
            lines.append(line)
        lines.extend(self.notes)
        return "\n".join(lines)


# ----------------------------------------------------------------------------- pieces
def _omega_total_1f(R: np.ndarray) -> float:
    """psych's ``omega.tot`` of a one-factor minres solution: 1 − Σ(1 − h²) / 1'R1."""
    from .factor import fit_minres

    lam, _, _ = fit_minres(R, 1)
    return float(1.0 - (np.diag(R) - (lam ** 2).sum(axis=1)).sum() / R.sum())


def _omega_boot(x: np.ndarray, n_boot: int, seed, level: float = 0.95):
    """Percentile CI of one-factor omega_total over row resamples (multinomial weights).

    Each replicate: the pairwise covariance with row weights, ``cov2cor``, a one-factor
    minres fit (the extraction :func:`~.omega_sl.omega` uses with ``n_factors=1``) and
    ω_t = 1 − Σu²/1'R1. Replicates with a singular matrix are skipped.
    """
    if n_boot <= 0:
        return np.nan, np.nan
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    vals = []
    for _ in range(n_boot):  # a loop over replicates; each is a few BLAS products and a fit
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        C, _ = pairwise_cov(x, w)
        R = cov2cor(C)
        if not np.isfinite(R).all():
            continue
        vals.append(_omega_total_1f(R))
    if len(vals) < max(10, n_boot // 2):
        return np.nan, np.nan
    p = 1 - level
    lo, hi = np.quantile(vals, [p / 2, 1 - p / 2])
    return float(lo), float(hi)


def marker_first(x: pd.DataFrame) -> list[str]:
    """Items with the most variable one first: it carries the factor's scale (marker)."""
    var = x.var()
    return [str(c) for c in var.sort_values(ascending=False, kind="stable").index]


def _one_factor(items: list[str], name: str = "F") -> str:
    return f"{name} =~ " + " + ".join(items)


def _sex_label(v) -> str:
    return _SEX_RU.get(str(v), str(v))


def _invariance_rows(data: pd.DataFrame, items: list[str], group: str, base: dict) -> tuple[list, str | None]:
    """Configural/metric/scalar fits of a one-factor model across ``group``; tidy rows."""
    from .confirmatory import invariance

    sub = data.loc[data[group].notna(), items + [group]].dropna()
    sizes = sub[group].value_counts()
    keep = sizes.index[sizes >= MIN_GROUP_N]
    small = sizes.index[sizes < MIN_GROUP_N]
    sub = sub[sub[group].isin(keep)]
    note = None
    if len(small):
        note = (f"Инвариантность по {_GROUP_RU.get(group, group)} ({base['band']}, {base['scale']}): "
                f"группы {', '.join(map(str, small))} пропущены — меньше {MIN_GROUP_N} полных ответов.")
    if len(keep) < 2:
        return [], note
    sub = sub.sort_values(group, kind="stable")
    model = _one_factor(marker_first(sub[items]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tab = invariance(sub, model, group, levels=("configural", "metric", "scalar"))
    rows = []
    for _, r in tab.iterrows():
        lev = r["level"]
        rows.append({**base, "group": group, "level": lev, "n": int(len(sub)),
                     "groups": ", ".join(map(str, keep.sort_values())), "items": ", ".join(items),
                     "chisq": r["chisq"], "df": r["df"], "cfi": r["cfi"], "rmsea": r["rmsea"],
                     "srmr": r["srmr"], "delta_cfi": r["delta_cfi"],
                     "delta_rmsea": r["delta_rmsea"], "delta_srmr": r["delta_srmr"],
                     "supported": (invariance_supported(lev, r["delta_cfi"], r["delta_rmsea"],
                                                        r["delta_srmr"])
                                   if lev in INV_DSRMR else np.nan)})
    return rows, note


def _shared_forms(instrument, scale: str, bands) -> tuple[list, list]:
    """The band forms of a scale and the items they all share (same response scale).

    Forms are dropped one at a time (the one whose removal leaves most shared items) until at
    least three items are shared or two forms remain.
    """
    def shared(fs):
        if not fs:
            return []
        items = instrument.items_for(fs[0], scale)
        rs0 = {i: instrument.response_scale_of(i, fs[0]).id for i in items}
        return [i for i in items if all(i in instrument.items_for(b, scale)
                                        and instrument.response_scale_of(i, b).id == rs0[i]
                                        for b in fs[1:])]

    forms = [b for b in bands if scale in instrument.scales_for(b)]
    common = shared(forms)
    while len(common) < 3 and len(forms) > 2:
        best = max(range(len(forms)), key=lambda j: len(shared(forms[:j] + forms[j + 1:])))
        forms = forms[:best] + forms[best + 1:]
        common = shared(forms)
    return forms, common


def _scale_checks(x: pd.DataFrame, ctx: pd.DataFrame, band: str, scale: str, rs, groups,
                  n_boot: int, seed, notes: list):
    """All statistics of one scale of one band form."""
    from .differential import dif
    from .irt import grm
    from .items import item_analysis
    from .confirmatory import cfa
    from .omega_sl import omega
    from .reliability import alpha

    items = list(x.columns)
    base = {"band": band, "scale": scale}
    ia = item_analysis(x, min_code=rs.min, max_code=rs.max)
    al = alpha(x)
    om = omega(x, n_factors=1, keys=np.ones(len(items)))
    om_lo, om_hi = _omega_boot(x.to_numpy(float), n_boot, seed)
    table = ia[["n", "mean", "sd", "share_floor", "share_ceiling", "r_drop",
                "alpha_if_dropped"]].copy()
    table["scale_alpha"] = al.alpha
    # GRM discrimination
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            g = grm(x, se="none")
        table["grm_a"] = g.items.set_index("item")["a"].reindex(items).to_numpy()
        if not g.converged:
            notes.append(f"Модель ГО ({band}, {scale}) не сошлась за отведённые итерации; "
                         "наклоны a приблизительны.")
    except DiagError as e:
        table["grm_a"] = np.nan
        notes.append(f"Модель ГО ({band}, {scale}) не оценена: {e}")
    # DIF by sex
    dif_rows = pd.DataFrame()
    table["dif_class"] = None
    table["dif_smd_sd"] = np.nan
    table["dif_p"] = np.nan
    table["dif_favoured"] = None
    if "sex" in ctx.columns:
        sx = ctx["sex"]
        levels = sorted(map(str, sx.dropna().unique()))
        if len(levels) == 2:
            focal, ref = levels[0], levels[1]
            try:
                d = dif(x.assign(sex=sx.astype("string")), items, "sex", focal=focal)
                dif_rows = d.assign(band=band, scale=scale, focal=focal, reference=ref)
                dd = d.set_index("item")
                table["dif_class"] = dd["class"].reindex(items).to_numpy()
                table["dif_smd_sd"] = dd["smd_sd"].reindex(items).to_numpy()
                table["dif_p"] = dd["p_value"].reindex(items).to_numpy()
                table["dif_favoured"] = np.where(dd["smd"].reindex(items) < 0, _sex_label(ref),
                                                 _sex_label(focal))
            except DiagError as e:
                notes.append(f"DIF по полу ({band}, {scale}) не рассчитан: {e}")
        else:
            notes.append(f"DIF по полу ({band}, {scale}) не рассчитан: в данных "
                         f"{len(levels)} значения пола вместо двух.")
    # one-factor CFA
    fit = dict(cfa_n=np.nan, cfa_cfi=np.nan, cfa_tli=np.nan, cfa_rmsea=np.nan, cfa_srmr=np.nan)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f = cfa(x, _one_factor(marker_first(x)))
        fit = dict(cfa_n=f.n_obs, cfa_cfi=f.cfi, cfa_tli=f.tli, cfa_rmsea=f.rmsea,
                   cfa_srmr=f.srmr)
    except DiagError as e:
        notes.append(f"КФА шкалы ({band}, {scale}) не оценена: {e}")
    # invariance within the form
    inv_rows = []
    data = x.join(ctx)
    for gcol in groups:
        if gcol == "band" or gcol not in ctx.columns:
            continue
        if ctx[gcol].nunique() < 2:
            continue
        try:
            rows, note = _invariance_rows(data, items, gcol, base)
        except DiagError as e:
            rows, note = [], f"Инвариантность по {_GROUP_RU.get(gcol, gcol)} ({band}, {scale}) не оценена: {e}"
        inv_rows.extend(rows)
        if note:
            notes.append(note)
    scale_row = {**base, "n": int(al.n), "k": len(items), "alpha": al.alpha,
                 "alpha_feldt_low": al.ci_feldt[0], "alpha_feldt_high": al.ci_feldt[1],
                 "alpha_duhachek_low": al.ci_duhachek[0], "alpha_duhachek_high": al.ci_duhachek[1],
                 "omega": om.omega_total, "omega_low": om_lo, "omega_high": om_hi, **fit}
    table = table.rename_axis("item").reset_index()
    table.insert(0, "scale", scale)
    table.insert(0, "band", band)
    return table, scale_row, inv_rows, dif_rows


def instrument_health(responses: pd.DataFrame, instrument, groups=_GROUPS, *,
                      band: str | None = None, n_boot: int = 100, seed: int = 0) -> HealthResult:
    """One verdict per item and per scale — keep, revise or drop — with reasons in Russian.

    Parameters
    ----------
    responses : pandas.DataFrame
        Accepted responses as :func:`proforient_diag.read_responses` returns them: columns
        ``band``, ``sex``, ``year`` (and ``instrument_version``) and one column per item with
        the **raw** codes (reverse-keyed items are recoded here).
    instrument : Instrument
        The instrument version whose band forms are checked; rows answered on another version
        (``instrument_version``) are left out.
    groups : sequence of {"sex", "band", "year"}
        Groups across which scale invariance is tested (metric and scalar). ``"band"``
        compares the items a scale shares across the band forms checked (``band=None``);
        ``"year"`` needs two or more years in ``responses``.
    band : str, optional
        Check one band form; default: every band form present in ``responses``.
    n_boot : int, default 100
        Bootstrap replicates of the omega CI (0 = no CI).
    seed : int, default 0
        Seed of the omega bootstrap.

    Returns
    -------
    HealthResult

    Notes
    -----
    Each band form is analysed on its own respondents (all years in ``responses`` pooled).
    For each scale: :func:`~.items.item_analysis` on the keyed items with the response scale's
    bounds (``r_drop``, floor/ceiling, ``alpha_if_dropped``); :func:`~.reliability.alpha`
    (Feldt and Duhachek CIs); one-factor ω_total (:func:`~.omega_sl.omega`, ``n_factors=1``,
    psych's ``omega.tot``) with a percentile bootstrap CI; :func:`~.irt.grm` slopes;
    :func:`~.dif.dif` Mantel–Haenszel by sex (complete answers to the scale, matching on the
    rest score); a one-factor ML CFA (marker: the item with the largest variance — the fit
    does not depend on it, but a near-constant marker such as a ceiling item makes the
    information matrix singular); :func:`~.confirmatory.invariance` across sex and years
    (groups with at least :data:`MIN_GROUP_N` complete answers). The rules and their sources
    are in the module docstring and :func:`rules_table`.

    In R: ``psych::alpha``, ``psych::omega(x, 1)``, ``mirt::mirt(x, 1, "graded")``,
    ``mantelhaen.test`` per item, ``lavaan::cfa`` and ``lavTestLRT`` — the pieces this
    function combines; there is no single R function for the verdicts.

    Examples
    --------
    >>> res = instrument_health(responses, load_instrument("psd", 2026), band="8-9")  # doctest: +SKIP
    >>> res.items.loc[res.items["verdict"] != "keep", ["item", "verdict_ru", "reasons"]]  # doctest: +SKIP
    """
    from ..instrument import Instrument, load_instrument

    if isinstance(instrument, str):
        instrument = load_instrument(instrument)
    if not isinstance(instrument, Instrument):
        raise OptionError("параметр «instrument»: ожидается версия инструмента (load_instrument) "
                          "или его идентификатор.", option="instrument", value=instrument)
    groups = check_choices("groups", groups, _GROUPS)
    check_range("n_boot", n_boot, low=0, integer=True)
    if not isinstance(responses, pd.DataFrame):
        raise DataError("Ожидается таблица ответов pandas.DataFrame.")
    if "band" not in responses.columns:
        raise DataError("В таблице ответов нет столбца band (параллель).", column="band")
    resp = responses
    if "instrument_version" in resp.columns:
        resp = resp[resp["instrument_version"] == instrument.version]
        if resp.empty:
            raise DataError(f"В ответах нет анкет версии {instrument.version} инструмента "
                            f"«{instrument.id}».", column="instrument_version")
    resp = resp.reset_index(drop=True)   # pooled years may repeat index labels
    present = [b for b in instrument.band_ids if (resp["band"] == b).any()]
    if band is not None:
        check_option("band", band, instrument.band_ids)
        if band not in present:
            raise DataError(f"В ответах нет обучающихся параллели {band}.", column="band")
        bands = [band]
    else:
        bands = present
        if not bands:
            raise DataError("В ответах нет ни одной параллели инструмента.", column="band")
    ctx_cols = [c for c in ("sex", "year", "band") if c in resp.columns]
    notes: list[str] = []
    item_tabs, scale_rows, inv_rows, dif_tabs = [], [], [], []
    keyed_all = {}
    for b in bands:
        xb = keyed_form(resp, instrument, b)
        ctx = resp.loc[xb.index, ctx_cols]
        keyed_all[b] = (xb, ctx)
        for s in instrument.scales_for(b):
            its = instrument.items_for(b, s)
            rs = instrument.response_scale_of(its[0], b)
            tab, srow, irows, drows = _scale_checks(xb[its], ctx, b, s, rs, groups, n_boot,
                                                    seed, notes)
            item_tabs.append(tab)
            scale_rows.append(srow)
            inv_rows.extend(irows)
            if len(drows):
                dif_tabs.append(drows)
    if "band" in groups and len(bands) >= 2:
        inv_rows.extend(_band_invariance(instrument, bands, keyed_all, notes))
    return _assemble(item_tabs, scale_rows, inv_rows, dif_tabs, notes, instrument)


def _band_invariance(instrument, bands, keyed_all, notes) -> list[dict]:
    """Invariance across band forms, on the items a scale shares across them; the rows are
    attached to every form they cover."""
    out = []
    for s in instrument.scale_ids:
        forms, common = _shared_forms(instrument, s, bands)
        if len(common) < 3 or len(forms) < 2:
            continue
        data = pd.concat([keyed_all[b][0][common].join(keyed_all[b][1][["band"]]) for b in forms])
        try:
            rows, note = _invariance_rows(data, common, "band",
                                          {"band": ", ".join(forms), "scale": s})
        except DiagError as e:
            rows, note = [], f"Инвариантность по параллелям ({s}) не оценена: {e}"
        for b in forms:
            out.extend({**r, "band": b, "forms": ", ".join(forms)} for r in rows)
        if note:
            notes.append(note)
    return out


def _assemble(item_tabs, scale_rows, inv_rows, dif_tabs, notes, instrument) -> HealthResult:
    """Verdicts of items and scales from the checks' tables."""
    items = pd.concat(item_tabs, ignore_index=True)
    verdicts = [item_verdict(r) for r in items.to_dict("records")]
    items.insert(3, "verdict", [v[0] for v in verdicts])
    items.insert(4, "verdict_ru", items["verdict"].map(VERDICTS_RU))
    items.insert(5, "reasons", [v[1] for v in verdicts])
    items = pd.concat([items, pd.DataFrame([v[2] for v in verdicts])], axis=1)
    inv = pd.DataFrame(inv_rows, columns=["band", "scale", "group", "level", "n", "groups",
                                          "items", "chisq", "df", "cfi", "rmsea", "srmr",
                                          "delta_cfi", "delta_rmsea", "delta_srmr", "supported",
                                          "forms"])
    scales = pd.DataFrame(scale_rows)
    s_verdicts, failed = [], []
    for r in scales.to_dict("records"):
        irows = inv[(inv["band"] == r["band"]) & (inv["scale"] == r["scale"])].to_dict("records")
        iv = items[(items["band"] == r["band"]) & (items["scale"] == r["scale"])]
        s_verdicts.append(scale_verdict(r, irows, dict(zip(iv["item"], iv["verdict"]))))
        failed.append(", ".join(f"{_GROUP_RU.get(x['group'], x['group'])}: {x['level']}"
                                for x in irows if _is_false(x["supported"])))
    scales.insert(2, "verdict", [v[0] for v in s_verdicts])
    scales.insert(3, "verdict_ru", scales["verdict"].map(VERDICTS_RU))
    scales.insert(4, "reasons", [v[1] for v in s_verdicts])
    scales["invariance"] = failed
    scales = pd.concat([scales, pd.DataFrame([v[2] for v in s_verdicts])], axis=1)
    dif_tab = (pd.concat(dif_tabs, ignore_index=True) if dif_tabs else pd.DataFrame())
    if len(dif_tab):
        front = ["band", "scale", "focal", "reference"]
        dif_tab = dif_tab[front + [c for c in dif_tab.columns if c not in front]]
    return HealthResult(items=items, scales=scales, invariance=inv, dif=dif_tab,
                        notes=tuple(dict.fromkeys(notes)),
                        scale_names=instrument.short_scale_names)
