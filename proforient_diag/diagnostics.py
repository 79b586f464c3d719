"""The analysis behind the annual «аналитическая справка»: waves, weights, linking, changes, conclusions.

The annual note (``notebooks/annual_diagnostics.ipynb``) only calls this module and shows what it
returns. The steps:

1. :func:`load_waves` — every wave 2018…year through the multi-year :class:`~proforient_diag.store.Store`
   (pseudonymised ids; a cached DuckDB file, so a re-run reads the store in well under a second).
2. :func:`make_weights` — raking of each year's respondents to the enrolment
   (``enrolment.csv``: municipality × grade × sex) with trimming, and what the weights did.
3. :func:`link_versions` — the instrument versions put on one scale through their anchor items,
   with a linking error for every between-version comparison.
4. :func:`diagnose` — coverage, reliability, levels, profiles, changes since last year and since
   2018, subgroups, municipalities against the region, the trend with the roadmap stages, cohorts
   and the municipal appendix with small-cell suppression; :func:`conclusions` turns the numbers
   into Russian sentences and recommendations.

Weights
-------
The sample is one (two in Kemerovo and Novokuznetsk) school per municipality, so post-stratifying
to the full municipality × grade × sex table leaves cells of one to five students (and empty
ones). The weights are therefore **raked** (:func:`proforient_diag.weighting.rake`) to two joint
margins of the same enrolment: municipality × band (band = the instrument's grade band) and
grade × sex. Every weighted municipality × band and grade × sex total then equals the enrolment
exactly. Grades that were not surveyed (grade 1 in the sample design) and cells without a single
respondent are left out of the represented population and reported in the coverage table —
weights cannot represent students nobody asked. Trimming (Potter's trim-and-rerake) caps weights
at ``trim`` × the mean weight (default 0.05–4): wide bounds on purpose, because the large
weights here are structural (one school standing for a municipality of 80) and trimming them
would over-represent small municipalities; when a bound conflicts with a municipal total the
total wins and the note says so.

Linking across instrument versions
----------------------------------
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

Municipalities against the region
---------------------------------
With one sampled school a municipality's mean carries that school's effect, and the
cluster-robust SE of :func:`~proforient_diag.compare.compare_groups` degenerates (the residuals
of a single cluster sum to zero). The municipal mean is therefore compared with the region with
the random-school-effect variance :math:`\\hat\\sigma^2_b/k_m + \\hat\\sigma^2_w/n_m` (one-way
ANOVA estimates of the between- and within-school variances of the year, :math:`k_m` sampled
schools), plus the cluster-robust variance of the regional weighted mean (ignoring their positive
covariance: conservative), a normal reference and Benjamini–Hochberg adjustment over the
municipalities.

Own numerics, and why: the equating shifts and their replicates are a few group means (no
library does chained equating of a composite score), the municipal variance above (compare's CR1
is undefined with one school), everything else is :mod:`proforient_diag.compare`,
:mod:`proforient_diag.weighting`, :mod:`proforient_diag.privacy` and
:func:`proforient_diag.psychometrics.alpha`.

References
----------
.. [1] Kolen M. J., Brennan R. L. (2014). *Test Equating, Scaling, and Linking* (3rd ed.).
   Springer, ch. 4–5 (chained equating in the NEAT design), ch. 6 (IRT linking).
.. [2] OECD (2017). *PISA 2015 Technical Report*, ch. 12 (link error).
.. [3] Deming W. E., Stephan F. F. (1940); Potter F. (1990) — raking and weight trimming.
.. [4] Benjamini Y., Hochberg Y. (1995). *JRSS B* 57, 289–300.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from .compare import (adjust_p, cohort_change, compare_groups, compare_years,
                      level_shift, trend)
from .errors import DataError, InputFileError, StoreError
from .instrument import Instrument, anchors_between, load_instrument
from .privacy import FLAG_HIDDEN, assert_publishable, create_key, load_key, suppress
from .store import default_cache_dir
from .report.fmt import fmt_int, fmt_num
from .scoring import assign_levels
from .weighting import rake, weight_summary, weighted_mean

__all__ = ["Waves", "load_waves", "default_cache_dir", "Weights", "make_weights", "Linking",
           "link_versions", "Diagnostics", "diagnose", "conclusions", "municipal_appendix",
           "wave_dates", "BAND_ORDER", "LINKING_METHODS"]

BAND_ORDER = ["1-4", "5-7", "8-9", "10-11"]
LINKING_METHODS = ("anchor", "none")
HIGH, LOW = "высокий", "низкий"
_MONTHS = {1: "январь", 2: "февраль", 3: "март", 4: "апрель", 5: "май", 6: "июнь", 7: "июль",
           8: "август", 9: "сентябрь", 10: "октябрь", 11: "ноябрь", 12: "декабрь"}

#: Targeted recommendation per component (used when the component is the weakest).
RECOMMENDATIONS = {
    "MOT": "усилить мотивационную составляющую: встречи с представителями профессий региона, "
           "проекты «Билет в будущее», обсуждение ценности труда на классных часах",
    "COG": "расширить информирование о мире профессий, образовательных маршрутах и рынке труда "
           "Кузбасса: профориентационные уроки курса «Россия — мои горизонты», экскурсии на "
           "предприятия и в колледжи",
    "ACT": "увеличить долю практических форм: профессиональные пробы, кружки и объединения "
           "дополнительного образования, ведение портфолио и индивидуального плана",
    "EMO": "организовать психолого-педагогическое сопровождение выбора: консультации по снижению "
           "тревожности, тренинги принятия решений и самостоятельности",
    "REF": "развивать рефлексию выбора: соотнесение «хочу — могу — надо», обсуждение результатов "
           "диагностики с обучающимися и родителями, корректировка профессиональных планов",
}


# =========================================================================== waves

@dataclass(frozen=True)
class Waves:
    """All waves of the note, read back from the store with pseudonymous ids.

    Attributes
    ----------
    years : tuple of int
        Years with data (a requested year without a folder is listed in ``missing_years``).
    scores : DataFrame
        ``Store.scores`` of all years (``respondent_pid``, context, scale scores, total, level)
        plus ``area`` («город» / «село», from ``schools.csv``) when known.
    responses : DataFrame
        ``Store.responses`` (item answers, one column per item of any version).
    instruments : dict
        Version → :class:`~proforient_diag.instrument.Instrument`.
    enrolment : DataFrame
        ``enrolment.csv`` (year, municipality_code, grade, sex, n_enrolled) or empty.
    schools : DataFrame or None
        ``schools.csv``.
    loads : DataFrame
        Per year: files, rows, accepted, excluded (current file versions in the store).
    missing_years : tuple of int
    store_path : str
    key_source : str
        Where the pseudonymisation key came from (never the key).
    """

    years: tuple
    scores: pd.DataFrame
    responses: pd.DataFrame
    instruments: dict
    enrolment: pd.DataFrame
    schools: pd.DataFrame | None
    loads: pd.DataFrame
    missing_years: tuple = ()
    store_path: str = ""
    key_source: str = ""

    def version_of(self, year: int) -> int:
        """Instrument version used in ``year`` (from the data, else the one in force)."""
        v = self.scores.loc[self.scores["year"] == year, "instrument_version"]
        if len(v):
            return int(v.mode().iat[0])
        return load_instrument("psd", year=year).version

    def to_frame(self) -> pd.DataFrame:
        return self.scores

    def summary(self) -> str:
        n = self.scores.groupby("year").size()
        return (f"Волны {min(self.years)}–{max(self.years)}: " +
                ", ".join(f"{y} — {fmt_int(k)}" for y, k in n.items()) + " анкет.")


def _resolve_key(key) -> tuple[bytes | str, str]:
    if key is not None:
        return key, "ключ передан вызывающей программой"
    if os.environ.get("PROFORIENT_KEY", "").strip():
        return load_key(), "ключ из переменной окружения PROFORIENT_KEY"
    kpath = default_cache_dir() / "keys" / "local.key"
    if not kpath.exists():
        create_key(kpath)
    return load_key(kpath), ("локальный ключ кэша (создан create_key в каталоге кэша, вне папок "
                             "с данными и отчётами; PROFORIENT_KEY не задан)")


def _year_files(folder: Path) -> set[str]:
    from .ingest import SUPPORTED
    return {q.name for q in folder.rglob("*") if q.is_file() and q.suffix.lower() in SUPPORTED
            and not q.name.startswith(("~$", "."))}


def load_waves(data_dir: str | Path, years: Iterable[int], *, store_path: str | Path | None = None,
               key: bytes | str | None = None, instrument: str = "psd") -> Waves:
    """Load the waves ``years`` from ``data_dir/diagnostics/<year>`` through the multi-year store.

    Each year's folder is loaded with :meth:`Store.load` (files already in the store with the
    same SHA-256 are skipped, so a repeated run only reads the store back), then scores and item
    answers are read back with pseudonymous ids (``respondent_pid``).

    Parameters
    ----------
    data_dir : path
        The data folder (``diagnostics/<year>/``, ``enrolment.csv``, ``schools.csv``).
    years : iterable of int
        Years to read; the last one must exist, earlier missing folders are skipped and listed.
    store_path : path, optional
        The DuckDB store. Default: a cache file
        ``default_cache_dir()/stores/<hash of data_dir>-<key tag>.duckdb`` (the key tag is a
        pseudonym of a fixed string, so stores built with different keys never mix). A cache store
        holding a file that has since disappeared from the folder is rebuilt; a cache store locked
        by another process is replaced by a private temporary one.
    key : bytes or str, optional
        Pseudonymisation key. Default: :func:`~proforient_diag.privacy.load_key` when
        ``PROFORIENT_KEY`` is set; otherwise a key created once with
        :func:`~proforient_diag.privacy.create_key` in ``default_cache_dir()/keys/local.key``
        (mode 600) — a private location outside the data and the outputs. The key is never
        written to the store, the note or any output.
    instrument : str, default "psd"

    Returns
    -------
    Waves
    """
    from .store import Store, cache_store_path, with_store

    data_dir = Path(data_dir)
    years = sorted({int(y) for y in years})
    if not years:
        raise DataError("не заданы годы для загрузки.")
    present = [y for y in years if (data_dir / "diagnostics" / str(y)).is_dir()]
    if years[-1] not in present:
        raise InputFileError(f"нет папки с выгрузками за {years[-1]} год.",
                             file=data_dir / "diagnostics" / str(years[-1]))
    missing = tuple(y for y in years if y not in present)
    k, key_source = _resolve_key(key)
    if store_path is None:
        path, cache = cache_store_path(data_dir, k), True
    else:
        path, cache = Path(store_path), False

    def fill(st: Store):
        for y in present:
            folder = data_dir / "diagnostics" / str(y)
            st.load(y, folder, key=k, instrument=instrument)
            stored = set(st.loads(current=True).query("year == @y")["file"])
            if stored - _year_files(folder):
                return None  # a file left the folder since the store was filled
        return st.scores(present), st.responses(present), st.loads(current=True)

    got, used = with_store(path, fill, cache=cache)
    if got is None and cache:  # rebuild the cache store from the folder as it is now
        path.unlink(missing_ok=True)
        got, used = with_store(path, fill, cache=True)
    if got is None:
        raise StoreError("в хранилище есть файлы, которых больше нет в папке с данными; "
                         "укажите новое хранилище.", file=path)
    sc, rs, loads = got
    if isinstance(sc["level"].dtype, pd.CategoricalDtype) is False:
        sc["level"] = pd.Categorical(sc["level"], categories=["низкий", "средний", "высокий"],
                                     ordered=True)
    schools = None
    if (data_dir / "schools.csv").exists():
        schools = pd.read_csv(data_dir / "schools.csv", encoding="utf-8")
        urban = schools.set_index("school_id")["urban"].astype(str).str.lower()
        area = urban.map({"true": "город", "1": "город", "false": "село", "0": "село"})
        sc["area"] = sc["school_id"].map(area)
    enr = (pd.read_csv(data_dir / "enrolment.csv", encoding="utf-8")
           if (data_dir / "enrolment.csv").exists() else
           pd.DataFrame(columns=["year", "municipality_code", "grade", "sex", "n_enrolled"]))
    insts = {int(v): load_instrument(instrument, version=int(v))
             for v in sorted(sc["instrument_version"].unique())}
    lt = loads.groupby("year").agg(files=("file", "size"), rows=("rows", "sum"),
                                   accepted=("accepted", "sum"),
                                   excluded=("excluded", "sum")).reset_index()
    return Waves(years=tuple(present), scores=sc, responses=rs, instruments=insts,
                 enrolment=enr, schools=schools, loads=lt, missing_years=missing,
                 store_path=str(used) if used is not None else "временное хранилище",
                 key_source=key_source)


def wave_dates(scores: pd.DataFrame) -> pd.DataFrame:
    """Per year: first and last survey date and the month of the wave (Russian)."""
    d = pd.to_datetime(scores["date"], errors="coerce")
    g = scores.assign(_d=d).groupby("year")["_d"]
    out = pd.DataFrame({"Год": g.min().index, "Начало": g.min().dt.date.to_numpy(),
                        "Окончание": g.max().dt.date.to_numpy()})
    out["Месяц волны"] = [(_MONTHS.get(int(m)) if pd.notna(m) else None)
                          for m in g.agg(lambda s: s.dt.month.mode().iat[0]
                                         if s.notna().any() else np.nan)]
    return out.reset_index(drop=True)


# =========================================================================== weights

@dataclass(frozen=True)
class Weights:
    """Raked weights of every year and what they did.

    Attributes
    ----------
    weights : Series
        Aligned to ``Waves.scores`` (NaN for rows outside the represented population).
    summary_table : DataFrame
        Per year: :func:`~proforient_diag.weighting.weight_summary` rows (``год``, ``показатель``,
        ``значение``).
    coverage : DataFrame
        Per year × municipality × band: n (respondents), schools, enrolled, weighted n.
    uncovered : DataFrame
        Enrolment not represented (grades not surveyed, cells without respondents): year, reason,
        n_enrolled.
    notes : list of str
        Russian notes (trimming conflicts, respondents outside the enrolment table).
    trim : tuple
    """

    weights: pd.Series
    summary_table: pd.DataFrame
    coverage: pd.DataFrame
    uncovered: pd.DataFrame
    notes: tuple
    trim: tuple | None

    def to_frame(self) -> pd.DataFrame:
        return self.coverage

    def summary(self) -> str:
        return " ".join(self.notes) if self.notes else "Веса построены без замечаний."


def make_weights(waves: Waves, *, trim: tuple[float, float] | None = (0.05, 4.0)) -> Weights:
    """Rake each year's respondents to the enrolment (municipality × band and grade × sex).

    See the module docstring for the design. Respondents without a total score, or in a
    municipality/grade the enrolment table does not have, get no weight (NaN).

    In R: ``survey::rake(svydesign(ids = ~school_id, data = d), list(~mo_band, ~grade_sex),
    list(pop_mo_band, pop_grade_sex))`` then ``survey::trimWeights``.
    """
    sc = waves.scores
    w_all = pd.Series(np.nan, index=sc.index, name="weight")
    summ, cov, unc, notes = [], [], [], []
    if not len(waves.enrolment):
        return Weights(w_all.fillna(1.0), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                       ("Нет файла enrolment.csv: оценки не взвешены.",), trim)
    for y in waves.years:
        inst = waves.instruments[waves.version_of(y)]
        g2b = inst.grade_to_band
        s = sc[(sc["year"] == y) & sc["total"].notna()]
        e = waves.enrolment[waves.enrolment["year"] == y].copy()
        if not len(e):
            notes.append(f"{y}: нет численности обучающихся; оценки года не взвешены.")
            w_all.loc[s.index] = 1.0
            continue
        e["band"] = e["grade"].map(g2b)
        e["sex"] = e["sex"].astype(str)
        grades = set(s["grade"].unique())
        off = e[~e["grade"].isin(grades)]
        if len(off):
            unc.append({"year": y, "reason": "классы, не участвовавшие в диагностике ("
                        + ", ".join(str(int(g)) for g in sorted(off["grade"].unique())) + ")",
                        "n_enrolled": int(off["n_enrolled"].sum())})
        e = e[e["grade"].isin(grades)]
        known = s["municipality_code"].isin(set(e["municipality_code"])) & \
            s["sex"].astype(str).isin(set(e["sex"]))
        if (~known).any():
            notes.append(f"{y}: {int((~known).sum())} анкет вне таблицы численности "
                         "(муниципалитет или пол) не взвешены.")
        s = s[known]
        for _ in range(5):   # drop population cells that no respondent can represent
            mb = set(zip(s["municipality_code"], s["band"]))
            gs = set(zip(s["grade"], s["sex"].astype(str)))
            ok = np.array([(m, b) in mb and (g, x) in gs for m, b, g, x in
                           zip(e["municipality_code"], e["band"], e["grade"], e["sex"])])
            if ok.all():
                break
            unc.append({"year": y, "reason": "ячейки без респондентов (муниципалитет × параллель)",
                        "n_enrolled": int(e.loc[~ok, "n_enrolled"].sum())})
            e = e[ok]
        m1 = e.groupby(["municipality_code", "band"])["n_enrolled"].sum()
        m2 = e.groupby(["grade", "sex"])["n_enrolled"].sum()
        d = s.assign(sex=s["sex"].astype(str))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w = rake(d, {("municipality_code", "band"): m1, ("grade", "sex"): m2}, trim=trim)
        for c in caught:
            if issubclass(c.category, RuntimeWarning):
                notes.append(f"{y}: {c.message}")
        w_all.loc[w.index] = w.to_numpy()
        ws = weight_summary(w, trim=trim)
        summ.append(ws.assign(год=y))
        cv = d.assign(_w=w).groupby(["municipality_code", "band"]).agg(
            n=("_w", "size"), schools=("school_id", "nunique"), weighted_n=("_w", "sum"))
        cv = cv.join(m1.rename("enrolled"), how="outer").reset_index()
        cov.append(cv.assign(year=y))
    summary_table = (pd.concat(summ, ignore_index=True)[["год", "показатель", "значение"]]
                     if summ else pd.DataFrame())
    coverage = pd.concat(cov, ignore_index=True) if cov else pd.DataFrame()
    if len(coverage):
        coverage = coverage[["year", "municipality_code", "band", "n", "schools", "enrolled",
                             "weighted_n"]]
    uncovered = pd.DataFrame(unc, columns=["year", "reason", "n_enrolled"])
    return Weights(w_all, summary_table, coverage, uncovered, tuple(notes), trim)


# =========================================================================== linking

@dataclass(frozen=True)
class _Pair:
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
    def chain(self, version: int) -> list[_Pair]:
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


def _keyed_percent(resp: pd.DataFrame, inst: Instrument, items: list[str], band: str) -> np.ndarray:
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
        pcts = {y: _keyed_percent(per[y][0], per[y][1], items, b) for y in per}
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
    return _Pair(old, new, y_old, y_new, tuple(union), shift, se_s, jk, n_anch)


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
    if method not in LINKING_METHODS:
        raise ValueError(f"method={method!r} is not supported; choose one of {list(LINKING_METHODS)}")
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
                         f"{_years_text(yrs)} (версии {', '.join(map(str, older))}) несопоставимы "
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
                shares = _band_shares(sc[sc["year"].isin(yrs)], w, s)
                tab = lk.shift_table(s)
                row[f"shift_{s}"] = sum(shares.get(b, 0) * tab[(v, b)] for b in BAND_ORDER)
                row[f"le_{s}"] = lk.version_error(s, v, shares) if v != target and \
                    lk.is_linked(v) else (0.0 if v == target else np.nan)
            yrows.append(row)
    object.__setattr__(lk, "pairs", pairs_df)
    object.__setattr__(lk, "years", pd.DataFrame(yrows).sort_values("year").reset_index(drop=True))
    return lk


def _band_shares(df: pd.DataFrame, w: pd.Series, score: str = "total") -> dict:
    ww = w.reindex(df.index).fillna(0)
    ok = df[score].notna() if score in df else df["total"].notna()
    t = ww[ok].groupby(df.loc[ok, "band"].astype(str)).sum()
    return (t / t.sum()).to_dict() if t.sum() > 0 else {}


def _years_text(yrs) -> str:
    yrs = sorted(yrs)
    if len(yrs) == 1:
        return f"{yrs[0]} года"
    if yrs == list(range(yrs[0], yrs[-1] + 1)):
        return f"{yrs[0]}–{yrs[-1]} годов"
    return ", ".join(map(str, yrs)) + " годов"


# =========================================================================== the analysis

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

    def to_frame(self) -> pd.DataFrame:
        """The main change table."""
        return self.changes

    def summary(self) -> str:
        return " ".join(conclusions(self)[:3])


def _resolve_municipality(scores: pd.DataFrame, municipality) -> tuple[str | None, str | None]:
    if municipality is None or (isinstance(municipality, str) and not municipality.strip()):
        return None, None
    m = str(municipality).strip().lower()
    tab = scores[["municipality_code", "municipality"]].drop_duplicates()
    hit = tab[(tab["municipality_code"].astype(str).str.lower() == m)
              | (tab["municipality"].astype(str).str.lower() == m)]
    if not len(hit):
        raise DataError(f"муниципалитет «{municipality}» не найден в данных; укажите код (MO01) "
                        "или полное название.", column="municipality")
    return str(hit["municipality_code"].iat[0]), str(hit["municipality"].iat[0])


def _sig(ci_low, ci_high, p_adj, alpha=0.05) -> str:
    """«рост» / «снижение» / «нет» strictly from the CI and the adjusted p."""
    if not (np.isfinite(ci_low) and np.isfinite(ci_high)) or not np.isfinite(p_adj):
        return "нет"
    if p_adj < alpha and ci_low > 0:
        return "рост"
    if p_adj < alpha and ci_high < 0:
        return "снижение"
    return "нет"


def _wmean(df, col, w):
    ok = df[col].notna() & w.reindex(df.index).notna()
    ww = w.reindex(df.index)[ok]
    return float(np.sum(ww * df.loc[ok, col]) / ww.sum()) if ww.sum() > 0 else np.nan


def _muni_vs_region(cur: pd.DataFrame, score: str, confidence=0.95) -> pd.DataFrame:
    """Municipal means against the regional weighted mean (random-school variance; BH)."""
    d = cur[cur[score].notna()]
    reg = weighted_mean(d, score, "weight", cluster="school_id", confidence=confidence)
    # one-way ANOVA variance components over schools (unweighted)
    g = d.groupby("school_id")[score]
    n_i, m_i, v_i = g.size(), g.mean(), g.var(ddof=1)
    N, k = int(n_i.sum()), len(n_i)
    msw = float(((n_i - 1) * v_i).sum() / (N - k))
    msb = float((n_i * (m_i - d[score].mean()) ** 2).sum() / (k - 1))
    n0 = (N - (n_i ** 2).sum() / N) / (k - 1)
    s2b = max((msb - msw) / n0, 0.0)
    mg = d.groupby(["municipality_code", "municipality"])
    t = mg.agg(n=(score, "size"), schools=("school_id", "nunique"),
               mean=(score, "mean")).reset_index()
    t["mean"] = [_wmean(x, score, x["weight"]) for _, x in mg]
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


def _alpha_table(resp: pd.DataFrame, inst: Instrument) -> pd.DataFrame:
    """α per band × scale; a scale whose α cannot be computed keeps its row with the reason."""
    from .psychometrics import alpha
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
            pct = pd.DataFrame(_keyed_percent(r, inst, items, b), columns=items, index=r.index)
            flat = [i for i in items if pct[i].nunique(dropna=True) < 2]
            if flat:
                what = (f"у пункта {flat[0]}" if len(flat) == 1 else
                        f"у пунктов {', '.join(flat)}")
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


def _hide(table: pd.DataFrame, count_col: str, *, threshold: int, forced=None, total=None,
          group_cols=None, value_cols=None, keep=(), complementary: bool = True) -> pd.DataFrame:
    """:func:`~proforient_diag.privacy.suppress` with rows forced hidden and totals named.

    ``forced`` (boolean, aligned to ``table``) marks rows of groups hidden elsewhere in the note:
    they are hidden whatever their count, so one group is hidden in every table of the note.
    ``total`` marks total rows (so a lone hidden row next to its total is protected).
    ``value_cols`` defaults to every numeric column except ``group_cols`` and ``keep``.
    """
    if not len(table):
        return table.assign(flag=pd.Series(dtype=object))
    t = table.copy()
    n = pd.to_numeric(t[count_col], errors="coerce")
    if forced is not None:
        n = n.mask(np.asarray(forced, dtype=bool), 0)
    t["_n_privacy"] = n
    groups = [c for g in (group_cols or []) for c in ([g] if isinstance(g, str) else g)]
    if value_cols is None:
        value_cols = [c for c in table.columns
                      if c not in groups and c not in keep and c != "flag"
                      and pd.api.types.is_numeric_dtype(table[c])
                      and not pd.api.types.is_bool_dtype(table[c])]
    value_cols = list(dict.fromkeys([*value_cols, count_col]))
    tot = pd.Series(False if total is None else np.asarray(total, dtype=bool), index=t.index)
    out = suppress(t.drop(columns="flag", errors="ignore"), "_n_privacy", threshold=threshold,
                   imprecise_below=max(30, threshold), group_cols=group_cols,
                   value_cols=value_cols, total_rows=tot, complementary=complementary)
    return out.drop(columns="_n_privacy")


def _readjust(tab: pd.DataFrame, method: str = "holm") -> pd.DataFrame:
    """Adjusted p over the rows still shown; hidden rows get no verdict."""
    if not len(tab):
        return tab
    vis = tab["flag"] != FLAG_HIDDEN
    tab = tab.copy()
    tab["p_adj"] = np.nan
    if vis.any():
        tab.loc[vis, "p_adj"] = adjust_p(tab.loc[vis, "p"].to_numpy(), method)
    if "verdict" in tab:
        tab["verdict"] = tab["verdict"].astype(object)
        tab.loc[~vis, "verdict"] = ""
    return tab


def _hidden_groups(cur: pd.DataFrame, cb: pd.DataFrame, threshold: int) -> dict:
    """The groups of this year hidden in the note: band (from the coverage table), sex, area.

    Each partition gets primary and complementary suppression of its counts, as the coverage table
    does for the bands; every table of the note then hides the same groups.
    """
    out = {}
    if len(cb):
        out["band"] = set(cb.loc[(cb["flag"] == FLAG_HIDDEN) & cb["band"].isin(BAND_ORDER),
                                 "band"])
    for by in ("band", "sex", "area"):
        if by in out or by not in cur:
            continue
        t = cur.groupby(cur[by].astype(object), dropna=True).size().rename("n").reset_index()
        s = suppress(t, "n", threshold=threshold, value_cols=["n"])
        out[by] = set(s.loc[s["flag"] == FLAG_HIDDEN, by])
    return out


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


def diagnose(waves: Waves, year: int, *, compare_with: Iterable[int] | int | None = None,
             municipality: str | None = None, threshold: int = 10,
             linking: str = "anchor", weights: Weights | None = None,
             trim: tuple[float, float] | None = (0.05, 4.0), mixed: bool = False,
             baseline: int = 2018, confidence: float = 0.95) -> Diagnostics:
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
    if year not in waves.years:
        raise DataError(f"в загруженных данных нет {year} года.", column="year")
    years = [y for y in waves.years if y <= year]
    notes, warns = [], []
    W = weights if weights is not None else make_weights(waves, trim=trim)
    notes += list(W.notes)
    target = waves.version_of(year)
    inst = waves.instruments[target]
    scales = {s.id: s.name for s in inst.scales}
    score_cols = [*scales, "total"]
    lk = link_versions(waves, target, method=linking, scores=score_cols, weights=W.weights)
    warns += list(lk.warnings)
    d0 = waves.scores.assign(weight=W.weights)
    d0 = d0[d0["year"].isin(years) & d0["total"].notna() & d0["weight"].notna()]
    d0 = lk.apply(d0, score_cols)
    d0["level_linked"] = assign_levels(d0["total_linked"], d0["band"], inst).astype(object)
    d0["level_linked"] = pd.Categorical(d0["level_linked"], categories=list(inst.levels.labels),
                                        ordered=True)
    mcode, mname = _resolve_municipality(d0, municipality)
    data = d0 if mcode is None else d0[d0["municipality_code"] == mcode]
    n_sch = data.loc[data["year"] == year, "school_id"].nunique()
    cluster = "school_id" if data["school_id"].nunique() >= 5 else None
    if mcode is not None and cluster is None:
        notes.append(f"В выборке муниципального образования «{mname}» {n_sch} "
                     f"{'школа' if n_sch == 1 else 'школы'}: изменения относятся к обследованным "
                     "школам; стандартные ошибки не учитывают различий между школами "
                     "муниципалитета.")
    if compare_with is None:
        compare_with = [y for y in (year - 1, baseline) if y in years and y != year]
    elif isinstance(compare_with, (int, np.integer)):
        compare_with = [int(compare_with)]
    compare_with = sorted({int(y) for y in compare_with if int(y) in years and int(y) != year},
                          reverse=True)
    ly = lk.years.set_index("year")

    def le_dict(score, band=None):
        out = {}
        for y in years:
            v = int(ly.loc[y, "version"])
            if v == target or not lk.is_linked(v):
                out[y] = 0.0
            elif band is None:
                out[y] = float(ly.loc[y, f"le_{score}"])
            else:
                out[y] = float(np.sqrt(lk.variance(score, lambda t, v=v: t[(v, band)])))
        return out

    def linked_year(y):
        return lk.is_linked(int(ly.loc[y, "version"]))

    # ---- section 1–2: dates, participants, coverage, weights
    cur = data[data["year"] == year]
    dates = wave_dates(waves.scores[waves.scores["year"].isin(years)])
    part = waves.loads[waves.loads["year"].isin(years)].copy()
    part["version"] = [waves.version_of(int(y)) for y in part["year"]]
    part["schools"] = part["year"].map(waves.scores.groupby("year")["school_id"].nunique())
    part["municipalities"] = part["year"].map(
        waves.scores.groupby("year")["municipality_code"].nunique())
    cov_all = W.coverage[W.coverage["year"] == year] if len(W.coverage) else pd.DataFrame()
    cov = cov_all
    if mcode is not None and len(cov):
        cov = cov[cov["municipality_code"] == mcode]
    cur_all = d0[d0["year"] == year]
    if len(cov):
        cb = cov.groupby("band").agg(n=("n", "sum"), schools=("schools", "sum"),
                                     enrolled=("enrolled", "sum"),
                                     weighted_n=("weighted_n", "sum"))
        cb = cb.reindex([b for b in BAND_ORDER if b in cb.index])
        cb.loc["Всего"] = cb.sum()
        cb["schools"] = [cur.loc[cur["band"] == b, "school_id"].nunique() if b != "Всего"
                         else cur["school_id"].nunique() for b in cb.index]
        cb["coverage_pct"] = 100 * cb["n"] / cb["enrolled"]
        cb = cb.reset_index(names="band")
        cb = suppress(cb, "n", threshold=threshold, value_cols=["n", "coverage_pct", "weighted_n"],
                      total_rows=cb["band"] == "Всего")
        cm = cov_all.groupby("municipality_code").agg(n=("n", "sum"), enrolled=("enrolled", "sum"),
                                                      weighted_n=("weighted_n", "sum"))
        cm["schools"] = cur_all.groupby("municipality_code")["school_id"].nunique()
        cm["municipality"] = cur_all.groupby("municipality_code")["municipality"].first()
        cm["coverage_pct"] = 100 * cm["n"] / cm["enrolled"]
        cm = cm.reset_index()[["municipality_code", "municipality", "n", "schools", "enrolled",
                               "coverage_pct", "weighted_n"]]
        cm = suppress(cm, "n", threshold=threshold, value_cols=["n", "coverage_pct", "weighted_n"])
        hidden_munis = set(cm.loc[cm["flag"] == FLAG_HIDDEN, "municipality_code"])
        if mcode is not None:
            cm = cm[cm["municipality_code"] == mcode].reset_index(drop=True)
        assert_publishable(cm, threshold=threshold)
    else:
        cb = cm = pd.DataFrame()
        hidden_munis = set()
    # one set of hidden groups for the whole note: a band (sex, area) hidden here is hidden in
    # every table below, so no table undoes the complementary suppression of another
    hidden = _hidden_groups(cur, cb, threshold)
    hband = hidden.get("band", set())
    wsum = W.summary_table[W.summary_table["год"] == year].reset_index(drop=True) \
        if len(W.summary_table) else pd.DataFrame()
    if len(wsum):   # the number of observations is a count: an int, not 3184.0
        wsum["значение"] = pd.Series([int(v) if k in ("Число наблюдений", "Сумма весов (представленная численность)") else float(v)
                                     for k, v in zip(wsum["показатель"], wsum["значение"])],
                                    index=wsum.index, dtype=object)
    for _, u in W.uncovered[W.uncovered["year"] == year].iterrows():
        notes.append(f"Веса {year} года не представляют {fmt_int(u['n_enrolled'])} обучающихся: "
                     f"{u['reason']}.")
    est = []
    for y in years:
        x = data[data["year"] == y]
        hi = (x["level"].astype(object) == HIGH).astype(float)
        est.append({"year": y, "version": int(ly.loc[y, "version"]), "n": len(x),
                    "mean_unweighted": x["total"].mean(),
                    "mean_weighted": _wmean(x, "total", x["weight"]),
                    "mean_linked_weighted": _wmean(x, "total_linked", x["weight"]),
                    "high_unweighted": 100 * hi.mean(),
                    "high_weighted": 100 * np.sum(x["weight"] * hi) / x["weight"].sum(),
                    "linked": linked_year(y)})
    est = _hide(pd.DataFrame(est), "n", threshold=threshold, keep=("year", "version"),
                complementary=False)

    # ---- section 3: reliability of this year's version
    resp = waves.responses[waves.responses["year"] == year]
    if mcode is not None:
        resp = resp[resp["municipality_code"] == mcode]
    rel = _alpha_table(resp, inst)
    # alpha of a handful of answers is neither reliable nor private; a band hidden in the
    # coverage table is hidden here too (its n would undo the complementary suppression)
    rel = _hide(rel, "n", threshold=threshold, forced=rel["band"].isin(hband),
                value_cols=["n", "alpha", "ci_low", "ci_high"], complementary=False)
    if len(rel):
        rel.loc[rel["flag"] == FLAG_HIDDEN, "verdict"] = ""

    # ---- section 4–5: levels, profiles (this year, weighted)
    levels = list(inst.levels.labels)

    def level_rows(x, label_col, label):
        w = x["weight"]
        lv = x["level"].astype(object)
        r = {label_col: label, "n": len(x)}
        for L in levels:
            r[L] = float(100 * np.sum(w * (lv == L)) / w.sum()) if len(x) else np.nan
        return r
    lb = [level_rows(cur[cur["band"] == b], "band", b) for b in BAND_ORDER
          if (cur["band"] == b).any()]
    lb.append(level_rows(cur, "band", "Всего"))
    if mcode is not None:
        lb.append(level_rows(d0[d0["year"] == year], "band", "Регион"))
    lb = pd.DataFrame(lb)
    levels_band = _hide(lb, "n", threshold=threshold, forced=lb["band"].isin(hband),
                        total=lb["band"].isin(["Всего", "Регион"]), value_cols=["n", *levels])
    lm = municipal_appendix(cur_all, weights="weight", threshold=threshold,
                            levels=tuple(levels), hidden=hidden_munis)
    prof = []
    for grp, x in [*[(b, cur[cur["band"] == b]) for b in BAND_ORDER if (cur["band"] == b).any()],
                   ("Всего", cur)] + ([("Регион", d0[d0["year"] == year])] if mcode else []):
        r = {"band": grp, "n": len(x)}
        for s in score_cols:
            r[s] = _wmean(x, s, x["weight"]) if x[s].notna().any() else np.nan
        prof.append(r)
    prof = pd.DataFrame(prof)
    profiles = _hide(prof, "n", threshold=threshold, forced=prof["band"].isin(hband),
                     total=prof["band"].isin(["Всего", "Регион"]), value_cols=["n", *score_cols])

    # ---- section 6: changes
    ch_rows = []
    for s in score_cols:
        sub = data[data["year"].isin([*compare_with, year]) & data[f"{s}_linked"].notna()]
        if sub["year"].nunique() < 2:
            continue
        cy = compare_years(sub, f"{s}_linked", baseline=None, weights="weight", cluster=cluster,
                           linking_error=le_dict(s), confidence=confidence, adjust="none")
        # compare_years pairs consecutive years only; add each comparison year to ``year``
        for ref in compare_with:
            two = sub[sub["year"].isin([ref, year])]
            if two["year"].nunique() < 2:
                continue
            r = compare_years(two, f"{s}_linked", baseline=None, weights="weight",
                              cluster=cluster, linking_error=le_dict(s), confidence=confidence,
                              adjust="none").iloc[0].to_dict()
            r.update(score=s, reference=ref, group=year,
                     comparison="к предыдущему году" if ref == year - 1 else
                     ("к базовому году" if ref == baseline else f"к {ref} году"),
                     linked=linked_year(ref) and linked_year(year))
            ch_rows.append(r)
        del cy
    changes = pd.DataFrame(ch_rows)
    if len(changes):
        changes["n_min"] = np.minimum(changes["n_ref"], changes["n"])
        changes = _hide(changes, "n_min", threshold=threshold, keep=("reference", "group"),
                        complementary=False).drop(columns="n_min")
        changes = _readjust(changes, "holm")
        changes["verdict"] = [_sig(a, b, p) if lkd else "не связаны"
                              for a, b, p, lkd in zip(changes["ci_low"], changes["ci_high"],
                                                      changes["p_adj"], changes["linked"])]
        changes.loc[changes["flag"] == FLAG_HIDDEN, "verdict"] = ""
        changes["score_name"] = changes["score"].map({**scales, "total": inst.total_name})
    level_changes = _level_changes(data, year, compare_with, lk, ly, cluster, confidence, levels,
                                   baseline, inst)
    sub_rows = []
    for by in ("band", "sex", "area"):
        if by not in data:
            continue
        for gval in [g for g in (BAND_ORDER if by == "band" else sorted(data[by].dropna().unique()))
                     if (cur[by] == g).any()]:
            x = data[data[by] == gval]
            for ref in compare_with:
                two = x[x["year"].isin([ref, year])]
                if two["year"].nunique() < 2 or two.groupby("year").size().min() < 2:
                    continue
                cl = cluster if two["school_id"].nunique() >= 5 else None
                led = le_dict("total", gval if by == "band" else None)
                r = compare_years(two, "total_linked", baseline=None, weights="weight",
                                  cluster=cl, linking_error=led, confidence=confidence,
                                  adjust="none").iloc[0].to_dict()
                r.update(by=by, subgroup=gval, reference=ref, group=year,
                         linked=linked_year(ref) and linked_year(year))
                sub_rows.append(r)
    subgroup = pd.DataFrame(sub_rows)
    if len(subgroup):
        # a row describes the subgroup in both years: hide it when either year is small, when
        # the group is hidden elsewhere in the note, and one more row of a (by, reference) set
        # when only one is hidden (the whole-municipality change is published)
        subgroup["n_min"] = np.minimum(subgroup["n_ref"], subgroup["n"])
        forced = np.array([g in hidden.get(by, set())
                           for by, g in zip(subgroup["by"], subgroup["subgroup"])], dtype=bool)
        subgroup = _hide(subgroup, "n_min", threshold=threshold, forced=forced,
                         group_cols=[["by", "reference"]], keep=("reference", "group")
                         ).drop(columns="n_min")
        subgroup = _readjust(subgroup, "holm")
        subgroup["verdict"] = [_sig(a, b, p) if lkd else "не связаны" for a, b, p, lkd in
                               zip(subgroup["ci_low"], subgroup["ci_high"], subgroup["p_adj"],
                                   subgroup["linked"])]
        subgroup.loc[subgroup["flag"] == FLAG_HIDDEN, "verdict"] = ""
    gd = []
    for by, ref in (("sex", "м"), ("area", "село")):
        if by in cur and cur[by].nunique() == 2 and ref in set(cur[by]):
            r = compare_groups(cur, "total", by, weights="weight", cluster=cluster,
                               reference=ref, confidence=confidence)
            gd.append(r)
    group_diff = pd.concat(gd, ignore_index=True) if gd else pd.DataFrame()
    if len(group_diff):
        group_diff["n_min"] = np.minimum(group_diff["n_ref"], group_diff["n"])
        forced = np.array([g in hidden.get(by, set()) or r in hidden.get(by, set())
                           for by, g, r in zip(group_diff["by"], group_diff["group"],
                                               group_diff["reference"])], dtype=bool)
        group_diff = _hide(group_diff, "n_min", threshold=threshold, forced=forced,
                           complementary=False).drop(columns="n_min")
        group_diff = _readjust(group_diff, "holm")
    mvr = _muni_vs_region(cur_all, "total", confidence)
    mvr = _hide(mvr, "n", threshold=threshold,
                forced=mvr["municipality_code"].isin(hidden_munis),
                keep=("sigma2_between", "sigma2_within"))
    mvr = _readjust(mvr, "fdr_bh")
    mvr["verdict"] = [("выше региона" if lo > 0 else "ниже региона")
                      if p < 0.05 and (lo > 0 or hi < 0) else
                      ("" if f == FLAG_HIDDEN else "не отличается")
                      for lo, hi, p, f in zip(mvr["ci_low"], mvr["ci_high"], mvr["p_adj"],
                                              mvr["flag"])]
    assert_publishable(mvr, threshold=threshold)
    if mcode is not None:
        mvr = mvr[mvr["municipality_code"] == mcode].reset_index(drop=True)

    # ---- trend
    tdata = data[data["total_linked"].notna()]
    tr = trend(tdata, "total_linked", cluster=cluster, weights="weight",
               linking_error=le_dict("total"), mixed=mixed and cluster is not None,
               baseline=baseline, confidence=confidence)
    slope = tr.slope.copy()
    t = tdata["year"].to_numpy(float)
    w = tdata["weight"].to_numpy(float)
    tc = t - np.sum(w * t) / w.sum()
    den = np.sum(w * tc ** 2)
    vv = tdata["instrument_version"].astype(int).to_numpy()
    bb = tdata["band"].astype(str).to_numpy()
    cells = pd.DataFrame({"v": vv, "b": bb, "g": w * tc / den}).groupby(["v", "b"])["g"].sum()

    def slope_stat(tab):
        return float(sum(g * tab[(v, b)] for (v, b), g in cells.items()))
    se_link = float(np.sqrt(lk.variance("total", slope_stat)))
    slope["se_linking"] = [se_link if "OLS" in m else np.nan for m in slope["model"]]
    slope["se_total"] = np.sqrt(slope["se"] ** 2 + slope["se_linking"].fillna(0) ** 2)
    dfree = max(int(slope["n_clusters"].iat[0]) - 1, 1)
    crit = stats.t.ppf(0.5 + confidence / 2, dfree)
    slope["ci_low_total"] = slope["slope"] - crit * slope["se_total"]
    slope["ci_high_total"] = slope["slope"] + crit * slope["se_total"]
    slope["p_total"] = 2 * stats.t.sf(np.abs(slope["slope"] / slope["se_total"]), dfree)
    unl = [y for y in years if not linked_year(y)]
    slope["all_linked"] = not unl
    ty = tr.years.copy()
    ty["linked"] = [None if int(ly.loc[y, "version"]) == target else linked_year(y)
                    for y in ty["year"]]
    ty["version"] = [int(ly.loc[y, "version"]) for y in ty["year"]]
    ty["le"] = [le_dict("total")[y] for y in ty["year"]]
    if unl:
        warns.append(f"Тренд {years[0]}–{year} включает несвязанные годы ({_years_text(unl)}): "
                     "наклон смешивает изменения обучающихся и изменения инструмента.")
    if mcode is not None:
        rt = trend(d0[d0["total_linked"].notna()], "total_linked", weights="weight",
                   mixed=False, linking_error=le_dict("total"), baseline=baseline)
        ry = rt.years.assign(group="Регион")
        ty = pd.concat([ty.assign(group=mname), ry], ignore_index=True)

    # ---- cohorts
    coh = []
    for y1 in [y for y in compare_with if y == year - 1] or ([year - 1] if year - 1 in years else []):
        pair = data[data["year"].isin([y1, year])]
        first = pair[pair["year"] == y1][["respondent_pid", "band"]]
        second = pair[pair["year"] == year][["respondent_pid", "band"]]
        mm = first.merge(second, on="respondent_pid", suffixes=("_1", "_2"))
        same = set(mm.loc[mm["band_1"] == mm["band_2"], "respondent_pid"])
        moved = len(mm) - len(same)
        keep = pair[pair["respondent_pid"].isin(same)]
        keep = keep.drop_duplicates(["respondent_pid", "year"], keep=False)
        if keep["respondent_pid"].nunique() >= 2:
            try:
                cc = cohort_change(keep, "total_linked", id="respondent_pid", years=(y1, year),
                                   by="band", confidence=confidence)
                cc = pd.concat([cc, cohort_change(keep, "total_linked", id="respondent_pid",
                                                  years=(y1, year), confidence=confidence)],
                               ignore_index=True)
                cc["n_form_change"] = moved
                cc["p_adj"] = adjust_p(cc["p"].to_numpy(), "holm")
                cc = cc.drop(columns=[c for c in ("n_only_first", "n_only_second") if c in cc])
                coh.append(cc)
            except DataError as exc:
                notes.append(f"Когорты {y1}–{year}: {exc}")
    cohorts = pd.concat(coh, ignore_index=True) if coh else pd.DataFrame()
    if len(cohorts):
        # «все» is the total of the band rows: with one band hidden, another is hidden too
        cohorts = _hide(cohorts, "n_pairs", threshold=threshold,
                        forced=cohorts["group"].isin(hband), total=cohorts["group"] == "все",
                        group_cols=[["years"]], keep=("n_form_change",))
        cohorts = _readjust(cohorts, "holm")
        order = {b: i for i, b in enumerate([*BAND_ORDER, "все"])}
        cohorts = cohorts.sort_values(["years", "group"], key=lambda c: c.map(order)
                                      if c.name == "group" else c, kind="stable"
                                      ).reset_index(drop=True)

    # ---- appendix
    app = (lm if mcode is None else lm[lm["municipality_code"].isin([mcode, ""])]
           ).reset_index(drop=True)
    assert_publishable(app, threshold=threshold)
    for y in compare_with:
        v = int(ly.loc[y, "version"])
        if v != target and not lk.is_linked(v):
            warns.append(f"Сравнение {year} года с {y} годом выполнено между несвязанными "
                         f"версиями инструмента ({v} и {target}): разность показана справочно, "
                         "статистических выводов о ней не делается.")
    return Diagnostics(
        year=year, municipality=mcode, municipality_name=mname, target_version=target,
        compare_with=tuple(compare_with), threshold=threshold, scales=scales,
        total_name=inst.total_name, data=data, wave_dates=dates, participants=part,
        coverage_band=cb, coverage_municipality=cm, weight_summary=wsum, estimates=est,
        reliability=rel, levels_band=levels_band, levels_municipality=lm, profiles=profiles,
        changes=changes, level_changes=level_changes, subgroup_changes=subgroup,
        group_differences=group_diff, municipalities_vs_region=mvr, trend_years=ty,
        trend_slope=slope, trend_stages=tr.stages, cohorts=cohorts,
        linking_pairs=lk.pairs, linking_years=lk.years, appendix=app,
        linking_summary=lk.summary(), key_source=waves.key_source, notes=tuple(notes),
        warnings=tuple(warns))


def _level_changes(data, year, compare_with, lk: Linking, ly, cluster, confidence, levels,
                   baseline, lk_inst):
    """Percentage-point changes of level shares (linked levels) with the linking error added."""
    rows = []
    for ref in compare_with:
        two = data[data["year"].isin([ref, year])]
        if two["year"].nunique() < 2:
            continue
        res = level_shift(two, "year", "level_linked", weights="weight", cluster=cluster,
                          reference=ref, adjust="none", confidence=confidence)
        ch = res.changes.copy()
        v = int(ly.loc[ref, "version"])
        linked = lk.is_linked(v)
        x = two[two["year"] == ref]
        w = x["weight"].to_numpy(float)
        tot = x["total"].to_numpy(float)
        vb = list(zip(x["instrument_version"].astype(int), x["band"].astype(str)))
        le = {}
        if v != lk.target and linked:
            bands = x["band"].astype(str).to_numpy()

            inst_t = lk_inst
            cuts = [np.asarray(inst_t.levels.cuts[b], float) for b in bands]
            cutm = np.vstack(cuts) if len(cuts) else np.zeros((0, len(levels) - 1))

            def share(tab, k):
                # smoothed level indicator (bandwidth 1 index point): the index is discrete, and
                # a hard cut would turn a tiny replicate shift into a jump of a whole atom
                sh = np.array([tab[key] for key in vb])
                above = stats.norm.cdf((tot + sh)[:, None] - cutm)
                upper = np.column_stack([np.ones(len(tot)), above, np.zeros(len(tot))])
                pk = upper[:, k] - upper[:, k + 1]
                return 100 * float(np.sum(w * pk) / w.sum())
            for k, L in enumerate(levels):
                le[L] = float(np.sqrt(lk.variance("total", lambda t, k=k: share(t, k))))
        ch["se_linking_pp"] = ch["level"].map(le).fillna(0.0)
        se = np.sqrt(ch["se_pp"] ** 2 + ch["se_linking_pp"] ** 2)
        dfree = np.maximum(ch["n_clusters"] - 1, 1) if cluster else len(two) - 2
        crit = stats.t.ppf(0.5 + confidence / 2, dfree)
        ch["se_pp"] = se
        ch["ci_low_pp"], ch["ci_high_pp"] = ch["diff_pp"] - crit * se, ch["diff_pp"] + crit * se
        ch["p"] = 2 * stats.t.sf(np.abs(ch["diff_pp"] / se), dfree)
        ch["comparison"] = ("к предыдущему году" if ref == year - 1 else
                            "к базовому году" if ref == baseline else f"к {ref} году")
        ch["linked"] = linked
        rows.append(ch)
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if len(out):
        out["p_adj"] = adjust_p(out["p"].to_numpy(), "holm")
        out["verdict"] = [_sig(a, b, p) if lkd else "не связаны" for a, b, p, lkd in
                          zip(out["ci_low_pp"], out["ci_high_pp"], out["p_adj"], out["linked"])]
    return out


# =========================================================================== conclusions

def _n(x, d=1) -> str:
    return fmt_num(x, d)


def _shown(tab: pd.DataFrame) -> pd.DataFrame:
    """Rows a note publishes (hidden groups are never turned into sentences)."""
    if not len(tab) or "flag" not in tab:
        return tab
    return tab[tab["flag"] != FLAG_HIDDEN]


def _ci(lo, hi, d=1) -> str:
    if lo < 0 or hi < 0:
        return f"от {fmt_num(lo, d)} до {fmt_num(hi, d)}"
    return f"{fmt_num(lo, d)}–{fmt_num(hi, d)}"


def _verb(verdict: str) -> str:
    return {"рост": "выросла", "снижение": "снизилась"}.get(verdict, "не изменилась статистически "
                                                                     "значимо")


def _adjusted_only(lo: float, hi: float) -> str:
    """Why a change whose unadjusted CI excludes zero is still called not significant."""
    if (lo > 0) or (hi < 0):
        return (": доверительный интервал не включает 0, но после поправки на множественные "
                "сравнения изменение не значимо")
    return ""


def _points(x: float) -> str:
    a = abs(x)
    return f"{fmt_num(a, 1)} балла"


def conclusions(diag: Diagnostics) -> list[str]:
    """Russian conclusions and recommendations generated from the numbers of ``diag``.

    The verbs «выросла» / «снизилась» are used only when the 95 % CI (linking error included)
    excludes zero **and** the adjusted p is below 0.05; otherwise «не изменилась статистически
    значимо». Comparisons between unlinked versions are not turned into sentences (a warning
    says why). Recommendations name the weakest component of the year and the municipalities
    significantly below the region (Benjamini–Hochberg).
    """
    out: list[str] = []
    where = (f" в муниципальном образовании «{diag.municipality_name}»"
             if diag.municipality else "")
    sl = diag.trend_slope.iloc[0] if len(diag.trend_slope) else None
    ty = diag.trend_years
    if sl is not None and len(ty) >= 3 and bool(sl["all_linked"]):
        yrs = sorted(diag.data["year"].unique())
        v = _sig(sl["ci_low_total"], sl["ci_high_total"], sl["p_total"])
        if v == "нет":
            out.append(f"За {yrs[0]}–{yrs[-1]} годы средняя величина индекса{where} "
                       f"{_verb(v)}: наклон {fmt_num(sl['slope'], 2)} балла в год (95 % ДИ "
                       f"{_ci(sl['ci_low_total'], sl['ci_high_total'], 2)}).")
        else:
            out.append(f"За {yrs[0]}–{yrs[-1]} годы средняя величина индекса{where} {_verb(v)}: "
                       f"в среднем на {fmt_num(abs(sl['slope']), 2)} балла в год (95 % ДИ "
                       f"{_ci(sl['ci_low_total'], sl['ci_high_total'], 2)}; ошибка связывания "
                       "версий учтена).")
    ch = _shown(diag.changes)
    if len(ch):
        for _, r in ch[ch["score"] == "total"].iterrows():
            if not r["linked"]:
                continue
            v = r["verdict"]
            when = f"по сравнению с {int(r['reference'])} годом"
            if v == "нет":
                out.append(f"{when.capitalize()} средняя величина индекса{where} {_verb(v)} "
                           f"(разность {fmt_num(r['diff'], 1)} балла, 95 % ДИ "
                           f"{_ci(r['ci_low'], r['ci_high'])}; p с поправкой Холма "
                           f"{_p(r['p_adj'])}){_adjusted_only(r['ci_low'], r['ci_high'])}.")
            else:
                out.append(f"{when.capitalize()} средняя величина индекса{where} {_verb(v)} на "
                           f"{_points(r['diff'])} (95 % ДИ {_ci(r['ci_low'], r['ci_high'])}), "
                           f"g = {fmt_num(r['hedges_g'], 2)}, p с поправкой Холма "
                           f"{_p(r['p_adj'])}.")
    lc = diag.level_changes
    if len(lc):
        for _, r in lc[lc["level"].isin([HIGH, LOW])].iterrows():
            if not r["linked"]:
                continue
            v = r["verdict"]
            lvl = "высоким" if r["level"] == HIGH else "низким"
            when = f"по сравнению с {int(r['reference'])} годом"
            if v == "нет":
                out.append(f"Доля обучающихся с {lvl} уровнем {when} {_verb(v)} "
                           f"({fmt_num(r['diff_pp'], 1)} п. п., 95 % ДИ "
                           f"{_ci(r['ci_low_pp'], r['ci_high_pp'])}; p с поправкой Холма "
                           f"{_p(r['p_adj'])}){_adjusted_only(r['ci_low_pp'], r['ci_high_pp'])}.")
            else:
                out.append(f"Доля обучающихся с {lvl} уровнем {when} {_verb(v)} на "
                           f"{fmt_num(abs(r['diff_pp']), 1)} п. п. (95 % ДИ "
                           f"{_ci(r['ci_low_pp'], r['ci_high_pp'])}).")
    if len(ch):
        comp = ch[(ch["score"] != "total") & ch["linked"] & (ch["verdict"] != "нет")]
        for _, r in comp.iterrows():
            out.append(f"{r['score_name']}: средняя величина {_verb(r['verdict'])} на "
                       f"{_points(r['diff'])} по сравнению с {int(r['reference'])} годом "
                       f"(95 % ДИ {_ci(r['ci_low'], r['ci_high'])}, g = "
                       f"{fmt_num(r['hedges_g'], 2)}).")
    sg = _shown(diag.subgroup_changes)
    if len(sg):
        names = {"band": lambda g: f"в {g.replace('-', '–')} классах",
                 "sex": lambda g: "у девушек" if g == "ж" else "у юношей",
                 "area": lambda g: "в городских школах" if g == "город" else "в сельских школах"}
        for ref in sorted(sg["reference"].unique(), reverse=True):
            s = sg[(sg["reference"] == ref) & sg["linked"]]
            up = [names[r["by"]](r["subgroup"]) for _, r in s.iterrows() if r["verdict"] == "рост"]
            down = [names[r["by"]](r["subgroup"]) for _, r in s.iterrows()
                    if r["verdict"] == "снижение"]
            if up:
                out.append(f"По сравнению с {int(ref)} годом индекс статистически значимо вырос "
                           + ", ".join(up) + ".")
            if down:
                out.append(f"По сравнению с {int(ref)} годом индекс статистически значимо "
                           "снизился " + ", ".join(down) + ".")
    gd = _shown(diag.group_differences)
    if len(gd):
        for _, r in gd.iterrows():
            sig = r["p_adj"] < 0.05 and (r["ci_low"] > 0 or r["ci_high"] < 0)
            what = ("у девушек и юношей" if r["by"] == "sex" else
                    "в городских и сельских школах")
            if sig:
                hi = r["group"] if r["diff"] > 0 else r["reference"]
                who = {"ж": "у девушек", "м": "у юношей", "город": "в городских школах",
                       "село": "в сельских школах"}.get(hi, str(hi))
                out.append(f"В {diag.year} году индекс выше {who} на {_points(r['diff'])} "
                           f"(95 % ДИ {_ci(abs(r['ci_low']), abs(r['ci_high'])) if r['diff'] > 0 else _ci(-r['ci_high'], -r['ci_low'])}).")
            else:
                out.append(f"В {diag.year} году индекс {what} статистически значимо не "
                           "различается.")
    # recommendations
    prof = diag.profiles
    row = prof[prof["band"] == "Всего"]
    rec = []
    if len(row):
        vals = {s: float(row[s].iat[0]) for s in diag.scales if s in row and
                np.isfinite(row[s].iat[0])}
        if vals:
            weakest = min(vals, key=vals.get)
            out.append(f"Наименее сформирован {diag.scales[weakest].lower()} "
                       f"(средняя величина {fmt_num(vals[weakest], 1)} балла из 100).")
            rec.append(f"Рекомендуется {RECOMMENDATIONS.get(weakest, 'уделить внимание этому компоненту')}.")
    mv = _shown(diag.municipalities_vs_region)
    if len(mv) and diag.municipality is None:
        below = mv[mv["verdict"] == "ниже региона"]
        if len(below):
            rec.append("Органам управления образованием муниципальных образований " +
                       ", ".join(f"«{m}»" for m in below["municipality"]) + " (индекс статистически значимо ниже "
                       "регионального с поправкой Бенджамини — Хохберга) рекомендуется адресная "
                       "методическая поддержка школ и разбор результатов с педагогами-навигаторами.")
        else:
            out.append("Ни один муниципалитет статистически значимо не отстаёт от региона "
                       "(поправка Бенджамини — Хохберга).")
    elif len(mv):
        r = mv.iloc[0]
        verdict = {"выше региона": "статистически значимо выше регионального",
                   "ниже региона": "статистически значимо ниже регионального"}.get(
            r["verdict"], "статистически значимо не отличается от регионального")
        out.append(f"Индекс муниципального образования «{r['municipality']}» {verdict} "
                   f"(разность {fmt_num(r['diff'], 1)} балла, 95 % ДИ "
                   f"{_ci(r['ci_low'], r['ci_high'])}, p с поправкой {_p(r['p_adj'])}).")
        if r["verdict"] == "ниже региона":
            rec.append(f"Муниципальному образованию «{r['municipality']}» рекомендуется адресная методическая "
                       "поддержка школ и разбор результатов с педагогами-навигаторами.")
    lb = diag.levels_band
    lbb = lb[lb["band"].isin(BAND_ORDER)]
    if LOW in lbb:
        lbb = lbb[lbb[LOW].notna()]
    if len(lbb) and LOW in lbb:
        wb = lbb.loc[lbb[LOW].idxmax()]
        rec.append(f"Наибольшая доля обучающихся с низким уровнем — в {wb['band'].replace('-', '–')}"
                   f" классах ({fmt_num(wb[LOW], 1)} %): профориентационную работу в этой "
                   "параллели стоит усилить в первую очередь.")
    return out + rec


def _p(p) -> str:
    """«= 0,034» or «< 0,001» (to follow «p»)."""
    from .report.fmt import fmt_p
    t = fmt_p(p)
    return t if t.startswith("<") else f"= {t}"
