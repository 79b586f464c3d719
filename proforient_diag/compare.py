"""Comparisons of groups, years and cohorts; level shifts; trends across the programme stages.

Students are clustered in schools, so a difference between groups of schools (urban and
rural, municipalities, years measured in the same schools) has a much larger standard
error than a simple-random-sample formula says (design effect 1 + (m − 1)ρ). Every
comparison here therefore reports two things side by side: the familiar test a reader of
SPSS output expects (Welch's t or Mann–Whitney, ignoring clustering and weights) and the
design-based (cluster-robust, weighted) difference that the kit uses for conclusions.

Own numerics, and why: the cluster-robust (CR1) covariance of all group means is built at
once from sufficient statistics — cluster × group sums of weighted residuals — instead of
fitting one statsmodels OLS per pair (561 fits for all pairs of 34 municipalities on
300 000 rows, each needing a dense design). For the two-group model
``score ~ 1 + [group == b]`` on the rows of groups *a* and *b* it is algebraically
identical to statsmodels ``OLS(...).fit(cov_type="cluster")`` (same small-sample factor
``G/(G−1)·(N−1)/(N−2)``, same ``G − 1`` degrees of freedom); the tests check this.
Slopes use statsmodels OLS/WLS with ``cov_type="cluster"`` and ``MixedLM`` directly;
Welch, Mann–Whitney and paired t use scipy. Holm/BH adjustment is a few lines of numpy
(:func:`adjust_p`, equal to statsmodels ``multipletests``, which runs ``gc.collect()`` on
every call and made simulation loops 20× slower).

References
----------
1. Cameron A. C., Miller D. L. (2015). A practitioner's guide to cluster-robust inference.
   *J. Human Resources* 50(2), 317–372.
2. Hedges L. V., Olkin I. (1985). *Statistical Methods for Meta-Analysis*. Academic Press
   (g, its bias correction J and large-sample SE).
3. Holm S. (1979). A simple sequentially rejective multiple test procedure. *Scand. J.
   Statist.* 6, 65–70. Benjamini Y., Hochberg Y. (1995). *JRSS B* 57, 289–300.
4. Rao J. N. K., Scott A. J. (1981). The analysis of categorical data from complex sample
   surveys. *JASA* 76, 221–230.
5. OECD (2017). *PISA 2015 Technical Report*, ch. 12 (linking error in trend comparisons).
6. Lakens D. (2013). Calculating and reporting effect sizes. *Front. Psychol.* 4, 863 (dz).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError
from .options import options
from .roadmap import BASE_YEAR, stage_labels
from .weighting import weights_array

__all__ = ["adjust_p", "compare_groups", "compare_years", "level_shift", "LevelShiftResult",
           "trend",
           "TrendResult", "cohort_change", "LEVELS", "ADJUST_METHODS", "TESTS"]

LEVELS = ("низкий", "средний", "высокий")
TESTS = ("welch", "mannwhitney")
ADJUST_METHODS = ("holm", "fdr_bh", "bonferroni", "none")


def _need(df: pd.DataFrame, cols) -> None:
    for c in cols:
        if c is not None and c not in df.columns:
            raise DataError("в данных нет нужного столбца.", column=str(c))


@options(method=ADJUST_METHODS)
def adjust_p(p, method: str = "holm") -> np.ndarray:
    r"""Adjust p-values for multiple comparisons.

    With :math:`p_{(1)} \le \dots \le p_{(m)}`: Holm [3]_
    :math:`\tilde p_{(i)} = \max_{j \le i} \min(1, (m - j + 1)\,p_{(j)})`;
    Benjamini–Hochberg :math:`\tilde p_{(i)} = \min_{j \ge i} \min(1, m\,p_{(j)}/j)`;
    Bonferroni :math:`\min(1, m\,p)`. Equal to statsmodels ``multipletests(p, method)``
    (whose every call runs ``gc.collect()``, 0.15 s — too slow for simulation loops).
    NaN p-values are left out of :math:`m` and stay NaN.

    In R: ``p.adjust(p, method = "holm")`` / ``"BH"`` / ``"bonferroni"``.
    """
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0 or method == "none":
        out[ok] = q
        return out
    order = np.argsort(q, kind="stable")
    qs = q[order]
    i = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - i + 1) * qs))
    elif method == "fdr_bh":
        adj = np.minimum.accumulate(np.minimum(1.0, m * qs / i)[::-1])[::-1]
    else:
        adj = np.minimum(1.0, m * qs)
    res = np.empty(m)
    res[order] = adj
    out[ok] = res
    return out


# --------------------------------------------------------------------------- the engine

@dataclass(frozen=True)
class _Cells:
    levels: list
    n: np.ndarray          # rows per group
    w_sum: np.ndarray      # sum of weights
    mean: np.ndarray       # weighted mean
    sd: np.ndarray         # weighted SD (reduces to the n - 1 SD without weights)
    n_eff: np.ndarray      # Kish effective n
    V: np.ndarray          # raw sandwich covariance of the group means (K x K)
    g_pair: np.ndarray     # clusters in group a or b (K x K); diagonal: clusters in a
    clustered: bool
    y: np.ndarray = field(repr=False)
    g: np.ndarray = field(repr=False)


def _levels_of(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = set(s.dropna().unique())
        return [c for c in s.cat.categories if c in present]
    vals = list(pd.unique(s.dropna()))
    try:
        return sorted(vals)
    except TypeError:
        return sorted(vals, key=str)


def _cells(df: pd.DataFrame, score, by: str, weights, cluster: str | None,
           levels: list | None = None, y: np.ndarray | None = None) -> _Cells:
    """Sufficient statistics of ``score`` by the groups of ``by``."""
    if y is None:
        _need(df, [score])
        y = pd.to_numeric(df[score], errors="coerce").to_numpy(dtype=float)
    _need(df, [by, cluster])
    w = weights_array(df, weights)
    grp = df[by]
    ok = ~np.isnan(y) & grp.notna().to_numpy() & ~np.isnan(w)
    if cluster is not None:
        ok &= df[cluster].notna().to_numpy()
    if levels is None:
        levels = _levels_of(grp[ok])
    g = pd.Categorical(grp[ok], categories=levels).codes.astype(np.int64)
    keep = g >= 0
    y, w, g = y[ok][keep], w[ok][keep], g[keep]
    K = len(levels)
    n = np.bincount(g, minlength=K).astype(float)
    if (n < 2).any():
        bad = levels[int(np.flatnonzero(n < 2)[0])]
        raise DataError(f"в группе «{bad}» меньше двух наблюдений; сравнение невозможно.",
                        column=by)
    w_sum = np.bincount(g, weights=w, minlength=K)
    mean = np.bincount(g, weights=w * y, minlength=K) / w_sum
    r = y - mean[g]
    wr = w * r
    var = np.bincount(g, weights=wr * r, minlength=K) / w_sum * n / (n - 1)
    n_eff = w_sum ** 2 / np.bincount(g, weights=w * w, minlength=K)
    if cluster is None:
        V = np.diag(np.bincount(g, weights=wr * wr, minlength=K)) / np.outer(w_sum, w_sum)
        g_pair = n[:, None] + n[None, :]
        np.fill_diagonal(g_pair, n)
    else:
        c = pd.factorize(df[cluster].to_numpy()[ok][keep])[0].astype(np.int64)
        C = int(c.max()) + 1
        key = c * K + g
        S = np.bincount(key, weights=wr, minlength=C * K).reshape(C, K)
        P = (np.bincount(key, minlength=C * K).reshape(C, K) > 0).astype(float)
        V = (S.T @ S) / np.outer(w_sum, w_sum)
        inter = P.T @ P
        cnt = np.diag(inter)
        g_pair = cnt[:, None] + cnt[None, :] - inter
        np.fill_diagonal(g_pair, cnt)
    return _Cells(levels=list(levels), n=n, w_sum=w_sum, mean=mean, sd=np.sqrt(var),
                  n_eff=n_eff, V=V, g_pair=g_pair, clustered=cluster is not None, y=y, g=g)


def _group_table(cells: _Cells, confidence: float) -> pd.DataFrame:
    """Per-group mean, design-based SE (intercept-only CR1 / HC1) and CI."""
    G = np.diag(cells.g_pair)
    se = np.sqrt(np.diag(cells.V) * G / (G - 1))
    df_ = G - 1
    crit = stats.t.ppf(0.5 + confidence / 2, df_)
    return pd.DataFrame({"group": cells.levels, "n": cells.n.astype(int),
                         "n_eff": cells.n_eff, "mean": cells.mean, "sd": cells.sd, "se": se,
                         "ci_low": cells.mean - crit * se, "ci_high": cells.mean + crit * se,
                         "n_clusters": G.astype(int)})


def _pairs(cells: _Cells, pairs: np.ndarray, *, test: str, design: bool, adjust: str,
           confidence: float, extra_var: np.ndarray | None = None) -> pd.DataFrame:
    """Statistics of ``mean[b] - mean[a]`` for each row (a, b) of ``pairs``."""
    a, b = pairs[:, 0], pairs[:, 1]
    m, sd, n, ne = cells.mean, cells.sd, cells.n, cells.n_eff
    diff = m[b] - m[a]
    # design-based (sandwich) SE: CR1 with clusters, HC1 without
    N = n[a] + n[b]
    G = cells.g_pair[a, b]
    raw = cells.V[a, a] + cells.V[b, b] - 2 * cells.V[a, b]
    se_rob = np.sqrt(np.maximum(raw, 0) * G / (G - 1) * (N - 1) / (N - 2))
    df_rob = np.where(cells.clustered, G - 1, N - 2).astype(float)
    # simple-random-sample Welch statistics (effective n with weights)
    va, vb = sd[a] ** 2 / ne[a], sd[b] ** 2 / ne[b]
    se_srs = np.sqrt(va + vb)
    df_w = (va + vb) ** 2 / (va ** 2 / (ne[a] - 1) + vb ** 2 / (ne[b] - 1))
    if test == "welch":
        p_test = stats.ttest_ind_from_stats(m[b], sd[b], ne[b], m[a], sd[a], ne[a],
                                            equal_var=False).pvalue
    else:
        order = np.argsort(cells.g, kind="stable")
        split = np.split(cells.y[order], np.cumsum(np.bincount(cells.g,
                                                               minlength=len(m)))[:-1])
        p_test = np.array([stats.mannwhitneyu(split[j], split[i],
                                              alternative="two-sided").pvalue
                           for i, j in zip(a, b)])
    se_link = np.zeros(len(a)) if extra_var is None else np.sqrt(extra_var)
    if design:
        se, df_ = np.sqrt(se_rob ** 2 + se_link ** 2), df_rob
        p = 2 * stats.t.sf(np.abs(diff / se), df_)
        method = "кластерно-устойчивая SE" if cells.clustered else "робастная SE (HC1)"
    else:
        se, df_ = np.sqrt(se_srs ** 2 + se_link ** 2), df_w
        p = p_test if extra_var is None or not np.any(extra_var) else \
            2 * stats.t.sf(np.abs(diff / se), df_)
        method = "t-критерий Уэлча" if test == "welch" else "U-критерий Манна — Уитни"
    crit = stats.t.ppf(0.5 + confidence / 2, df_)
    # Hedges' g (Hedges & Olkin 1985); in the design-based analysis its SE is scaled by deft
    n1, n2 = n[b], n[a]
    s_pool = np.sqrt(((n1 - 1) * sd[b] ** 2 + (n2 - 1) * sd[a] ** 2) / (n1 + n2 - 2))
    J = 1 - 3 / (4 * (n1 + n2) - 9)
    g_ = J * diff / s_pool
    e1, e2 = ne[b], ne[a]
    se_g = np.sqrt((e1 + e2) / (e1 * e2) + g_ ** 2 / (2 * (e1 + e2)))
    deft = se_rob / se_srs if design else np.ones(len(a))
    crit_g = stats.t.ppf(0.5 + confidence / 2, e1 + e2 - 2)
    out = pd.DataFrame({
        "reference": [cells.levels[i] for i in a], "group": [cells.levels[j] for j in b],
        "n_ref": n[a].astype(int), "mean_ref": m[a], "sd_ref": sd[a],
        "n": n[b].astype(int), "mean": m[b], "sd": sd[b],
        "diff": diff, "se": se, "ci_low": diff - crit * se, "ci_high": diff + crit * se,
        "df": df_, "p": p, "p_adj": np.nan, "method": method,
        "hedges_g": g_, "g_ci_low": g_ - crit_g * se_g * deft,
        "g_ci_high": g_ + crit_g * se_g * deft,
        "se_robust": se_rob, "n_clusters": G.astype(int), "deft": se_rob / se_srs,
        "se_srs": se_srs, "p_test": p_test, "se_linking": se_link,
    })
    if adjust == "none" or len(out) == 0:
        out["p_adj"] = out["p"]
    else:
        out["p_adj"] = adjust_p(out["p"].to_numpy(), adjust)
    return out


def _pair_index(levels: list, reference) -> np.ndarray:
    K = len(levels)
    if K < 2:
        raise DataError("для сравнения нужны хотя бы две группы.")
    if reference is None:
        ii, jj = np.triu_indices(K, 1)
        return np.column_stack([ii, jj])
    if reference not in levels:
        raise DataError(f"группы сравнения «{reference}» нет в данных; есть: "
                        f"{', '.join(map(str, levels))}.")
    r = levels.index(reference)
    others = np.array([k for k in range(K) if k != r])
    return np.column_stack([np.full(len(others), r), others])


# --------------------------------------------------------------------------- public API

@options(test=TESTS, adjust=ADJUST_METHODS)
def compare_groups(df: pd.DataFrame, score: str, by: str, *, weights=None,
                   cluster: str | None = "school_id", test: str = "welch",
                   adjust: str = "holm", reference=None, confidence: float = 0.95
                   ) -> pd.DataFrame:
    r"""Pairwise comparisons of a score between groups (vs a reference group or all pairs).

    For groups *a* (reference) and *b* the difference is :math:`\bar y_b - \bar y_a`
    (weighted means if ``weights``). Reported:

    * ``se``, ``ci_low``/``ci_high``, ``df``, ``p`` — the **primary** inference. With a
      ``cluster`` or ``weights`` it is design-based: the cluster-robust (CR1) standard
      error of the two-group regression ``score ~ 1 + [group = b]`` (WLS with weights) —
      exactly statsmodels ``OLS(...).fit(cov_type="cluster", use_t=True)`` — with a
      t reference on :math:`G - 1` df, :math:`G` the schools with students in *a* or *b*
      [1]_. Students in one school are not independent, so the SRS tests understate the
      SE (by the factor ``deft``) and reject a true null far too often; the tests show
      this. Without ``cluster`` and ``weights`` the primary p is the chosen ``test``
      (Welch's t; or Mann–Whitney's U, whose CI is still Welch's CI of the mean
      difference). The column ``method`` names the primary method.
    * ``p_test`` — Welch's t (with weights: weighted means and SDs, Kish effective n)
      or Mann–Whitney U (unweighted), ignoring clustering: what SPSS would print.
    * ``p_adj`` — ``p`` adjusted over the rows of the table: Holm (default; family-wise
      error) or Benjamini–Hochberg (``"fdr_bh"``, for many municipalities) [3]_.
    * ``hedges_g`` — :math:`g = J\,(\bar y_b - \bar y_a)/s_p`,
      :math:`s_p^2 = ((n_b-1)s_b^2 + (n_a-1)s_a^2)/(n_a+n_b-2)`,
      :math:`J = 1 - 3/(4(n_a+n_b) - 9)`; CI :math:`g \pm t_{n_a+n_b-2}\,SE_g\,\mathrm{deft}`
      with the Hedges–Olkin :math:`SE_g = \sqrt{(n_a+n_b)/(n_a n_b) + g^2/(2(n_a+n_b))}`
      [2]_ (as ``pingouin.compute_esci``), multiplied in the design-based analysis by
      :math:`\mathrm{deft} = SE_{robust}/SE_{SRS}` (> 1 for school-level contrasts, can be
      < 1 for within-school ones such as sex), so the CI of g agrees with ``p``.
    * ``se_robust``, ``deft``, ``se_srs``, ``n_clusters`` — the sandwich SE (CR1, or HC1
      without clusters), its ratio to the Welch SE, and :math:`G`.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per student.
    score : str
        Score column (e.g. ``"total"``, ``"MOT"``).
    by : str
        Grouping column (``"sex"``, ``"urban"``, ``"municipality_code"``, ``"band"``).
    weights : str or Series, optional
        Column name or Series of survey weights.
    cluster : str or None, default "school_id"
        Cluster column; ``None`` treats students as independent.
    test : {"welch", "mannwhitney"}
    adjust : {"holm", "fdr_bh", "bonferroni", "none"}
    reference : optional
        Reference group; ``None`` compares all pairs.
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per comparison with the columns above, plus ``score`` and ``by``.

    References
    ----------
    .. [1] Cameron & Miller (2015).
    .. [2] Hedges & Olkin (1985).
    .. [3] Holm (1979); Benjamini & Hochberg (1995).

    In R: ``lmtest::coeftest(lm(total ~ sex, d), sandwich::vcovCL(lm(...), ~school_id))``;
    ``t.test(total ~ sex, d)``; ``effsize::cohen.d(..., hedges.correction = TRUE)``.
    """
    cells = _cells(df, score, by, weights, cluster)
    pairs = _pair_index(cells.levels, reference)
    out = _pairs(cells, pairs, test=test, design=cluster is not None or weights is not None,
                 adjust=adjust, confidence=confidence)
    out.insert(0, "by", by)
    out.insert(0, "score", score)
    return out


def _linking_var(linking_error: dict | None, ya, yb) -> np.ndarray | None:
    """Linking variance of the differences yb - ya (see :func:`compare_years`)."""
    if not linking_error:
        return None
    la = np.array([float(linking_error.get(y, 0.0)) for y in ya])
    lb = np.array([float(linking_error.get(y, 0.0)) for y in yb])
    return np.where(np.isclose(la, lb), 0.0, la ** 2 + lb ** 2)


@options(test=TESTS, adjust=ADJUST_METHODS)
def compare_years(df: pd.DataFrame, score: str, years=None, *, year: str = "year",
                  baseline: int | None = BASE_YEAR, weights=None, cluster: str | None = "school_id",
                  test: str = "welch", adjust: str = "holm",
                  linking_error: dict | None = None, confidence: float = 0.95
                  ) -> pd.DataFrame:
    r"""Change of a score between years: since the previous year and since the baseline.

    Same statistics as :func:`compare_groups` (group = year, reference = the earlier year).
    Schools are clusters *across* years, so the covariance of two years' means that comes
    from the same schools enters the SE of their difference.

    Linking error [5]_: ``linking_error`` maps a year to the SE of the link that put
    that year's scores on the reporting scale (0 or absent for years measured with the
    base version). Years with equal values are taken to share one link (one instrument
    version), so it cancels in their difference; otherwise the linking variance
    :math:`le_a^2 + le_b^2` is added: :math:`SE = \sqrt{SE^2_{sampling} + SE^2_{link}}`.

    Parameters
    ----------
    df : pandas.DataFrame
    score : str
    years : sequence of int, optional
        Years to use (default all in the data).
    year : str, default "year"
    baseline : int or None, default 2018
        Baseline year; ``None`` or absent from the data: only year-on-year changes.
    weights, cluster, test, adjust, confidence
        As in :func:`compare_groups`.
    linking_error : dict {year: SE}, optional

    Returns
    -------
    pandas.DataFrame
        One row per comparison (``reference`` = earlier year, ``group`` = later year)
        with ``comparison`` = «к предыдущему году», «к базовому году» or both.

    In R: ``survey::svyby(~total, ~year, design, svymean, covmat = TRUE)`` then
    ``svycontrast``.
    """
    _need(df, [year])
    data = df if years is None else df[df[year].isin(list(years))]
    cells = _cells(data, score, year, weights, cluster)
    lv = cells.levels
    rows = {}
    for k in range(1, len(lv)):
        rows[(k - 1, k)] = ["к предыдущему году"]
    if baseline is not None and baseline in lv:
        b = lv.index(baseline)
        for k in range(b + 1, len(lv)):
            rows.setdefault((b, k), []).append("к базовому году")
    if not rows:
        raise DataError("для сравнения лет нужны хотя бы два года.", column=year)
    pairs = np.array(list(rows))
    extra = _linking_var(linking_error, [lv[i] for i in pairs[:, 0]],
                         [lv[j] for j in pairs[:, 1]])
    out = _pairs(cells, pairs, test=test, design=cluster is not None or weights is not None,
                 adjust=adjust, confidence=confidence, extra_var=extra)
    out.insert(0, "comparison", [" и ".join(v) if len(v) < 2 else
                                 "к предыдущему и базовому году" for v in rows.values()])
    out.insert(0, "score", score)
    return out


@dataclass(frozen=True)
class LevelShiftResult:
    """Shares of levels per group, their changes against a reference group, and a χ² test.

    Attributes
    ----------
    shares : DataFrame
        group, level, n (students in the group), share, se, ci_low, ci_high.
    changes : DataFrame
        level, reference, group, diff_pp (percentage points), se_pp, ci_low_pp,
        ci_high_pp, p, p_adj, n_clusters.
    test : DataFrame
        One row: chi2, df, p, cramers_v, mean_deff, chi2_adj, p_adj (design-corrected).
    """

    by: str
    level: str
    shares: pd.DataFrame
    changes: pd.DataFrame
    test: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Shares joined with their changes (tidy: one row per group × level)."""
        ch = self.changes.drop(columns=["reference"]).rename(
            columns={"p": "p_change", "p_adj": "p_change_adj"})
        return self.shares.merge(ch, on=["group", "level"], how="left")

    def summary(self) -> str:
        """Short Russian text."""
        from .fmt import fmt_num, fmt_p
        t = self.test.iloc[0]
        return (f"Распределение по уровням («{self.level}») по группам «{self.by}»: "
                f"χ² = {fmt_num(t['chi2'])}, df = {int(t['df'])}, p = {fmt_p(t['p'])}; "
                f"с поправкой на эффект дизайна {fmt_num(t['mean_deff'])}: "
                f"p = {fmt_p(t['p_adj'])}; V Крамера = {fmt_num(t['cramers_v'], 3)}.")


def _level_order(s: pd.Series) -> list:
    if isinstance(s.dtype, pd.CategoricalDtype):
        return list(s.cat.categories)
    vals = set(s.dropna().unique())
    if vals <= set(LEVELS):
        return [v for v in LEVELS if v in vals]
    return _levels_of(s)


@options(adjust=ADJUST_METHODS)
def level_shift(df: pd.DataFrame, by: str, level: str = "level", *, weights=None,
                cluster: str | None = "school_id", reference=None, adjust: str = "holm",
                confidence: float = 0.95) -> LevelShiftResult:
    r"""Shares of each level per group and their percentage-point changes, with χ² and V.

    A share is the mean of a 0/1 indicator, so its SE and the SE of a change
    :math:`100(\hat p_{b,k} - \hat p_{a,k})` come from the same cluster-robust engine as
    :func:`compare_groups` (per-group SE: the intercept-only CR1, i.e. the linearisation
    SE of ``survey::svymean``). CIs are Wald intervals on :math:`G - 1` df.

    The χ² test of independence (Pearson, no continuity correction) is computed on the
    (weighted, rescaled to :math:`n`) group × level table, with Cramér's
    :math:`V = \sqrt{\chi^2 / (n(\min(r, c) - 1))}`. Because students are clustered, the
    table also gives a first-order design correction [4]_: :math:`\chi^2_{adj} =
    \chi^2 / \bar d`, :math:`\bar d` = mean design effect of the group × level shares
    (sandwich variance / binomial variance; at least 1), referred to
    :math:`\chi^2_{(r-1)(c-1)}` — an approximation of the Rao–Scott correction that R's
    ``survey::svychisq(statistic = "Chisq")`` computes exactly.

    Parameters
    ----------
    df : pandas.DataFrame
    by : str
        Grouping column (usually ``"year"``).
    level : str, default "level"
        Ordered categorical level column.
    weights, cluster, adjust, confidence
        As in :func:`compare_groups`.
    reference : optional
        Reference group (default: the first group, e.g. the earliest year).

    Returns
    -------
    LevelShiftResult

    In R: ``survey::svyby(~level, ~year, design, svymean)``;
    ``chisq.test(table(d$year, d$level), correct = FALSE)``.
    """
    _need(df, [by, level])
    lv = _level_order(df[level])
    data = df[df[level].notna()]
    if len(lv) < 2:
        raise DataError("для сдвига уровней нужны хотя бы два уровня.", column=level)
    groups = _levels_of(data[by])
    pairs = _pair_index(groups, groups[0] if reference is None else reference)
    lev = data[level].astype(object).to_numpy()
    shares, changes, deffs = [], [], []
    for k in lv:
        y = (lev == k).astype(float)
        cells = _cells(data, None, by, weights, cluster, levels=groups, y=y)
        gt = _group_table(cells, confidence)
        gt.insert(1, "level", k)
        shares.append(gt[["group", "level", "n", "mean", "se", "ci_low", "ci_high",
                          "n_clusters"]].rename(columns={"mean": "share"}))
        binom = cells.mean * (1 - cells.mean) / cells.n
        with np.errstate(divide="ignore", invalid="ignore"):
            deffs.append(np.where(binom > 0, gt["se"].to_numpy() ** 2 / binom, np.nan))
        pr = _pairs(cells, pairs, test="welch", design=True, adjust="none",
                    confidence=confidence)
        changes.append(pd.DataFrame({
            "level": k, "reference": pr["reference"], "group": pr["group"],
            "diff_pp": 100 * pr["diff"], "se_pp": 100 * pr["se"],
            "ci_low_pp": 100 * pr["ci_low"], "ci_high_pp": 100 * pr["ci_high"],
            "p": pr["p"], "n_clusters": pr["n_clusters"]}))
    shares_df = pd.concat(shares, ignore_index=True)
    changes_df = pd.concat(changes, ignore_index=True)
    changes_df.insert(changes_df.columns.get_loc("p") + 1, "p_adj",
                      changes_df["p"] if adjust == "none"
                      else adjust_p(changes_df["p"].to_numpy(), adjust))
    # contingency table: weighted shares x group n (equals the counts without weights)
    tab = shares_df.pivot(index="group", columns="level", values="share").loc[groups, lv]
    n_g = shares_df.drop_duplicates("group").set_index("group").loc[groups, "n"]
    table = tab.to_numpy() * n_g.to_numpy()[:, None]
    table = table[:, table.sum(axis=0) > 0]
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    n_tot = table.sum()
    v = float(np.sqrt(chi2 / (n_tot * (min(table.shape) - 1))))
    d_bar = float(max(np.nanmean(np.concatenate(deffs)), 1.0)) if cluster or weights \
        is not None else 1.0
    test_df = pd.DataFrame([{"chi2": chi2, "df": int(dof), "p": p, "cramers_v": v,
                             "n": int(round(n_tot)), "mean_deff": d_bar,
                             "chi2_adj": chi2 / d_bar,
                             "p_adj": stats.chi2.sf(chi2 / d_bar, dof)}])
    return LevelShiftResult(by=by, level=level, shares=shares_df, changes=changes_df,
                            test=test_df)


@dataclass(frozen=True)
class TrendResult:
    """Trend of a score across years and programme stages.

    Attributes
    ----------
    score : str
    years : DataFrame
        Per year: n, n_eff, mean, sd, se (cluster-robust), CI, n_clusters.
    changes : DataFrame
        Year-on-year and since-baseline differences (:func:`compare_years` columns,
        linking error included).
    slope : DataFrame
        One row per model: ``"OLS, кластерно-устойчивая SE"`` (primary) and, if fitted,
        ``"MixedLM: школа (+ муниципалитет)"``; slope per year, se, CI, p, n, n_clusters,
        converged.
    stages : DataFrame
        Per stage: pooled mean with cluster-robust SE and CI.
    stage_changes : DataFrame
        Differences between consecutive stages.
    primary : str
        The model whose slope the kit reports, and why.
    """

    score: str
    years: pd.DataFrame
    changes: pd.DataFrame
    slope: pd.DataFrame
    stages: pd.DataFrame
    stage_changes: pd.DataFrame
    primary: str

    def to_frame(self) -> pd.DataFrame:
        """All tables stacked, with a ``table`` column («год», «изменение», «наклон»,
        «этап», «изменение между этапами»)."""
        parts = [("год", self.years), ("изменение", self.changes), ("наклон", self.slope),
                 ("этап", self.stages), ("изменение между этапами", self.stage_changes)]
        frames = [t.drop(columns=["score"], errors="ignore").assign(table=name)
                  for name, t in parts if len(t)]
        out = pd.concat(frames, ignore_index=True)
        out.insert(0, "score", self.score)
        return out[["score", "table", *[c for c in out.columns if c not in ("score", "table")]]]

    def summary(self) -> str:
        """Short Russian text."""
        from .fmt import fmt_ci, fmt_num, fmt_p
        s = self.slope.iloc[0]
        return (f"{self.score}: изменение за год {fmt_num(s['slope'])} балла "
                f"(95 % ДИ {fmt_ci(s['ci_low'], s['ci_high'])}, p = {fmt_p(s['p'])}; "
                f"{s['model']}), лет: {len(self.years)}.")


def _year_stage(years: np.ndarray, stages: dict) -> np.ndarray:
    out = np.full(len(years), None, dtype=object)
    for name, (a, b) in stages.items():
        out[(years >= a) & (years <= b)] = name
    return out


def trend(df: pd.DataFrame, score: str, *, year: str = "year",
          cluster: str | None = "school_id", weights=None, stages: dict | None = None,
          linking_error: dict | None = None, baseline: int | None = BASE_YEAR,
          mixed: bool = True, municipality: str | None = "municipality_code",
          covariates: tuple[str, ...] = ("band", "sex"), confidence: float = 0.95
          ) -> TrendResult:
    r"""Per-year means, the linear trend and stage means of a score.

    Primary slope: OLS (WLS with weights) of the score on the year,
    :math:`y_{ist} = \alpha + \beta\,(t - t_0) + e_{ist}`, with a cluster-robust (CR1)
    SE for students in schools and a t reference on :math:`G - 1` df [1]_. It is primary
    because it estimates the change of the (weighted) population mean that the note
    reports, stays valid whatever the within-school correlation and its change over
    years, and accepts weights.

    Second model (``mixed=True``): statsmodels ``MixedLM``
    ``score ~ year + C(band) + C(sex)`` with a random intercept for each municipality and
    a variance component for schools within municipalities (``groups`` = municipality,
    ``vc_formula={"school": "0 + C(school)"}``); without a municipality column, a random
    intercept for schools. It estimates the within-school, composition-adjusted slope
    (conditional on band and sex), is unweighted (MixedLM has no survey weights) and
    model-based, so it serves as a sensitivity check: a large gap between the two
    slopes means the trend is driven by changes in which schools or grades took part.
    REML, L-BFGS first and Powell if it fails (a municipality variance on the boundary
    stops gradient methods); ``converged`` in the ``slope`` table says whether it worked.

    ``linking_error`` (year → linking SE) adds linking variance to between-version
    differences in ``changes`` (see :func:`compare_years`) [5]_.

    Parameters
    ----------
    df : pandas.DataFrame
    score : str
    year : str, default "year"
    cluster : str or None, default "school_id"
    weights : str or Series, optional
    stages : dict {name: (first_year, last_year)}, optional
        Default: the roadmap stages I (2018–2020), II (2021–2024), III (2025–2027).
    linking_error : dict {year: SE}, optional
    baseline : int or None, default 2018
    mixed : bool, default True
        Fit the MixedLM sensitivity model.
    municipality : str or None, default "municipality_code"
    covariates : tuple of str, default ("band", "sex")
        Categorical covariates of the mixed model (those present in ``df``).
    confidence : float, default 0.95

    Returns
    -------
    TrendResult

    In R: ``lmtest::coeftest(m <- lm(total ~ year, d), sandwich::vcovCL(m, ~school_id))``;
    ``lme4::lmer(total ~ year + band + sex + (1 | municipality/school_id), d)``.
    """
    import statsmodels.api as sm

    stages = stage_labels() if stages is None else stages
    _need(df, [score, year, cluster])
    cells = _cells(df, score, year, weights, cluster)
    years_tab = _group_table(cells, confidence).rename(columns={"group": "year"})
    years_tab.insert(1, "stage", _year_stage(years_tab["year"].to_numpy(), stages))
    changes = compare_years(df, score, year=year, baseline=baseline, weights=weights,
                            cluster=cluster, linking_error=linking_error, adjust="holm",
                            confidence=confidence) if len(cells.levels) > 1 else \
        pd.DataFrame()
    # primary slope: OLS / WLS with cluster-robust SE
    y = pd.to_numeric(df[score], errors="coerce").to_numpy(dtype=float)
    t = pd.to_numeric(df[year], errors="coerce").to_numpy(dtype=float)
    w = weights_array(df, weights)
    ok = ~np.isnan(y) & ~np.isnan(t) & ~np.isnan(w)
    if cluster is not None:
        ok &= df[cluster].notna().to_numpy()
    t0 = float(np.nanmin(t[ok]))
    X = np.column_stack([np.ones(ok.sum()), t[ok] - t0])
    model = sm.WLS(y[ok], X, weights=w[ok])
    if cluster is not None:
        groups = pd.factorize(df[cluster].to_numpy()[ok])[0]
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
        n_cl = int(groups.max()) + 1
        name = "OLS, кластерно-устойчивая SE"
    else:
        fit = model.fit(cov_type="HC1", use_t=True)
        n_cl = int(ok.sum())
        name = "OLS, робастная SE (HC1)"
    ci = fit.conf_int(alpha=1 - confidence)
    slope_rows = [{"model": name, "slope": fit.params[1], "se": fit.bse[1],
                   "ci_low": ci[1, 0], "ci_high": ci[1, 1], "p": fit.pvalues[1],
                   "n": int(ok.sum()), "n_clusters": n_cl, "converged": True}]
    if mixed and cluster is not None:
        slope_rows.append(_mixed_slope(df[ok], score, year, t0, cluster, municipality,
                                       covariates, confidence))
    slope = pd.DataFrame(slope_rows)
    # stages
    st = _year_stage(pd.to_numeric(df[year], errors="coerce").to_numpy(), stages)
    names = [s for s in stages if (st == s).any()]
    stage_tab = pd.DataFrame()
    stage_changes = pd.DataFrame()
    if names:
        sdf = df.assign(_stage=st)
        sdf = sdf[sdf["_stage"].notna()]
        sc = _cells(sdf, score, "_stage", weights, cluster, levels=names)
        stage_tab = _group_table(sc, confidence).rename(columns={"group": "stage"})
        stage_tab.insert(1, "first_year", [stages[s][0] for s in names])
        stage_tab.insert(2, "last_year", [stages[s][1] for s in names])
        if len(names) > 1:
            pairs = np.column_stack([np.arange(len(names) - 1), np.arange(1, len(names))])
            stage_changes = _pairs(sc, pairs, test="welch",
                                   design=cluster is not None or weights is not None,
                                   adjust="holm", confidence=confidence)
    primary = (f"{name}: изменение взвешенного среднего по региону, устойчивое к "
               "внутришкольной корреляции и принимающее веса; MixedLM — проверка "
               "чувствительности (условный наклон с поправкой на состав, без весов).")
    return TrendResult(score=score, years=years_tab, changes=changes, slope=slope,
                       stages=stage_tab, stage_changes=stage_changes, primary=primary)


def _mixed_slope(df: pd.DataFrame, score, year, t0, cluster, municipality, covariates,
                 confidence) -> dict:
    from statsmodels.regression.mixed_linear_model import MixedLM

    d = pd.DataFrame({"y": pd.to_numeric(df[score]).to_numpy(dtype=float),
                      "t": pd.to_numeric(df[year]).to_numpy(dtype=float) - t0,
                      "school": df[cluster].astype(str).to_numpy()})
    rhs = ["t"]
    for i, c in enumerate(covariates):
        if c in df.columns and df[c].nunique() > 1:
            d[f"x{i}"] = df[c].astype(str).to_numpy()
            rhs.append(f"C(x{i})")
    formula = "y ~ " + " + ".join(rhs)
    use_mun = municipality is not None and municipality in df.columns \
        and df[municipality].nunique() > 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if use_mun:
            d["mun"] = df[municipality].astype(str).to_numpy()
            model = MixedLM.from_formula(formula, d, groups="mun", re_formula="1",
                                         vc_formula={"school": "0 + C(school)"})
            label = "MixedLM: муниципалитет + школа"
        else:
            model = MixedLM.from_formula(formula, d, groups="school")
            label = "MixedLM: школа"
        fit = model.fit(reml=True, method=["lbfgs", "powell"])
    conv = bool(getattr(fit, "converged", False))
    del caught  # optimiser warnings of a failed first attempt; ``converged`` is the verdict
    ci = fit.conf_int(alpha=1 - confidence).loc["t"]
    return {"model": label, "slope": fit.params["t"], "se": fit.bse["t"],
            "ci_low": ci.iloc[0], "ci_high": ci.iloc[1], "p": fit.pvalues["t"],
            "n": int(len(d)), "n_clusters": int(d["school"].nunique()), "converged": conv}


def cohort_change(df: pd.DataFrame, score: str, id: str = "respondent_id",
                  years: tuple[int, int] | None = None, *, year: str = "year",
                  by: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    r"""Change of the same (pseudonymous) students between two years.

    Students present in both years are paired on ``id``; with differences
    :math:`d_i = y_{i,2} - y_{i,1}`: mean change :math:`\bar d` with the t CI
    :math:`\bar d \pm t_{n-1} s_d/\sqrt n`, the paired t test (``scipy.stats.ttest_rel``)
    and :math:`d_z = \bar d / s_d` [6]_ with the CI
    :math:`d_z \pm t_{n-1}\sqrt{1/n + d_z^2/(2n)}` (as ``pingouin.compute_esci``,
    ``paired=True``). Students in only one year are counted (attrition), not used.

    Parameters
    ----------
    df : pandas.DataFrame
    score : str
    id : str, default "respondent_id"
    years : (int, int)
        First and second year.
    year : str, default "year"
    by : str, optional
        Grouping column, taken from the first year (e.g. ``"band"``, ``"municipality"``).
    confidence : float, default 0.95

    Returns
    -------
    pandas.DataFrame
        One row per group (a single row ``group = "все"`` without ``by``).

    Raises
    ------
    DataError
        If a student appears twice in a year or fewer than two pairs remain.

    In R: ``t.test(d2$total, d1$total, paired = TRUE)``;
    ``effectsize::repeated_measures_d(..., method = "z")``.
    """
    if years is None or len(years) != 2:
        raise DataError("укажите два года: years=(первый, второй).", column=year)
    y1, y2 = years
    _need(df, [score, id, year, by])
    cols = [id, score] + ([by] if by else [])
    a = df.loc[df[year] == y1, cols]
    b = df.loc[df[year] == y2, [id, score]]
    for part, yy in ((a, y1), (b, y2)):
        dup = part[id].duplicated()
        if dup.any():
            raise DataError(f"обучающийся «{part[id][dup].iloc[0]}» встречается в {yy} году "
                            "больше одного раза; оставьте одну запись.", column=id)
    m = a.merge(b, on=id, suffixes=("_1", "_2"))
    m = m.dropna(subset=[f"{score}_1", f"{score}_2"])
    if len(m) < 2:
        raise DataError(f"меньше двух обучающихся участвовали в {y1} и {y2} годах.",
                        column=id)
    m["_d"] = m[f"{score}_2"] - m[f"{score}_1"]
    key = m[by].astype(object) if by else pd.Series("все", index=m.index)
    agg = m.groupby(key, sort=True).agg(n_pairs=("_d", "size"),
                                        mean_first=(f"{score}_1", "mean"),
                                        mean_second=(f"{score}_2", "mean"),
                                        mean_change=("_d", "mean"), sd_change=("_d", "std"))
    n = agg["n_pairs"].to_numpy(dtype=float)
    se = agg["sd_change"].to_numpy() / np.sqrt(n)
    crit = stats.t.ppf(0.5 + confidence / 2, n - 1)
    tval = agg["mean_change"].to_numpy() / se
    dz = agg["mean_change"].to_numpy() / agg["sd_change"].to_numpy()
    se_dz = np.sqrt(1 / n + dz ** 2 / (2 * n))
    out = agg.reset_index(names="group")
    out["se"] = se
    out["ci_low"] = out["mean_change"] - crit * se
    out["ci_high"] = out["mean_change"] + crit * se
    out["t"] = tval
    out["df"] = n - 1
    out["p"] = 2 * stats.t.sf(np.abs(tval), n - 1)
    out["dz"] = dz
    out["dz_ci_low"] = dz - crit * se_dz
    out["dz_ci_high"] = dz + crit * se_dz
    only1 = ~a[id].isin(b[id])
    only2 = ~b[id].isin(a[id])
    if by:
        c1 = only1.groupby(a[by].astype(object)).sum()
        out["n_only_first"] = out["group"].map(c1).fillna(0).astype(int)
        out["n_only_second"] = int(only2.sum())
    else:
        out["n_only_first"] = int(only1.sum())
        out["n_only_second"] = int(only2.sum())
    out.insert(0, "years", f"{y1}–{y2}")
    out.insert(0, "score", score)
    return out
