"""Weights to known enrolment: post-stratification, raking, design effects, weighted means.

Participation differs between municipalities, grades and sexes; weighting to the known
enrolment (municipality × grade × sex, from the school forms) corrects the part of the
non-response that these variables explain. Standard errors must still respect the
clustering of students in schools, so :func:`weighted_mean` uses the Taylor linearisation
of the ratio (Hájek) estimator with schools as primary sampling units — the estimator of
R's ``survey::svymean`` with ``svydesign(ids = ~school_id, weights = ~w)``.

Own numerics: raking (iterative proportional fitting) is a few ``groupby`` sums per
iteration; statsmodels has no raking, and ``survey::rake`` is R-only. The linearised
variance is a closed form on cluster totals (checked against statsmodels WLS with
``cov_type="cluster"``, which is algebraically the same for an intercept-only model).

References
----------
1. Deming W. E., Stephan F. F. (1940). On a least squares adjustment of a sampled frequency
   table when the expected marginal totals are known. *Ann. Math. Stat.* 11, 427–444.
2. Kish L. (1965). *Survey Sampling*. Wiley (design effect 1 + CV² of the weights).
3. Lumley T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley, ch. 2, 7.
4. Potter F. (1990). A study of procedures to identify and trim extreme sampling weights.
   *Proc. Survey Research Methods Section, ASA*, 225–230.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .errors import DataError, OptionError

__all__ = ["rake", "poststratify", "design_effect", "weighted_mean", "WeightedMean",
           "weight_summary"]


def _check_trim(trim) -> None:
    ok = trim is None
    if not ok:
        try:
            lo, hi = trim
            ok = 0 < lo < 1 < hi
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise OptionError("параметр «trim»: нужна пара (lo, hi) с 0 < lo < 1 < hi или None; "
                          f"передано «{trim!r}».", option="trim", value=trim)


def _check_cols(df: pd.DataFrame, cols) -> None:
    for c in cols:
        if c not in df.columns:
            raise DataError("в данных нет столбца, нужного для взвешивания.", column=str(c))


def _margin_to_series(key, margin, count: str) -> tuple[list[str], pd.Series]:
    cols = [key] if isinstance(key, str) else list(key)
    if isinstance(margin, pd.DataFrame):
        if count in margin.columns:
            valcol = count
        else:
            num = [c for c in margin.columns if c not in cols
                   and pd.api.types.is_numeric_dtype(margin[c])]
            if len(num) != 1:
                raise DataError("в таблице итогов не найден столбец численности; назовите его "
                                f"«{count}».", column="/".join(cols))
            valcol = num[0]
        _check_cols(margin, cols)
        s = margin.groupby(cols, observed=True)[valcol].sum()
    else:
        s = pd.Series(margin)
    s = s.astype(float)
    if (s < 0).any() or s.isna().any():
        raise DataError("численности в таблице итогов должны быть неотрицательными числами.",
                        column="/".join(cols))
    return cols, s


def _cell_codes(df: pd.DataFrame, cols: list[str], target: pd.Series) -> np.ndarray:
    """Position of each row's cell in ``target.index`` (DataError if a cell is unknown)."""
    if len(cols) == 1:
        keys = pd.Index(df[cols[0]].to_numpy())
    else:
        keys = pd.MultiIndex.from_frame(df[cols])
    tindex = target.index
    if len(cols) > 1 and not isinstance(tindex, pd.MultiIndex):
        raise DataError("индекс итогов должен содержать значения всех столбцов ячейки.",
                        column="/".join(cols))
    codes = tindex.get_indexer(keys)
    if (codes < 0).any():
        bad = keys[np.flatnonzero(codes < 0)[0]]
        raise DataError(f"ячейки {bad!r} нет в таблице численностей; добавьте её или "
                        "объедините категории.", column="/".join(cols))
    return codes


def _trim(w: np.ndarray, trim) -> np.ndarray:
    lo, hi = trim
    m = w.mean()
    return np.clip(w, lo * m, hi * m)


def rake(df: pd.DataFrame, margins: dict, *, base_weights: pd.Series | None = None,
         count: str = "n_enrolled", max_iter: int = 100, tol: float = 1e-8,
         trim: tuple[float, float] | None = (0.3, 3.0)) -> pd.Series:
    r"""Rake weights to known marginal totals (iterative proportional fitting).

    Starting from base weights :math:`w^{(0)}` (1 by default), each margin :math:`m` with
    cells :math:`c` is matched in turn,

    .. math:: w_i \leftarrow w_i \, \frac{T_{m,c(i)}}{\sum_{j: c(j) = c(i)} w_j},

    until every weighted margin is within ``tol`` (relative) of its target [1]_. The fitted
    table preserves the sample's interactions (odds ratios) and matches the margins; it is
    the minimum-discrimination-information (raking-ratio) calibration. With ``trim``,
    weights are then clipped to ``[lo, hi]`` × mean weight and raked again, alternately,
    until both hold (Potter's trim-and-rerake [4]_); the last step is always a raking
    step, so the margins are met exactly and the bounds up to the last adjustment. When
    the bounds cannot be met together with the margins (a joint margin fixes a cell's
    weight), the margins win and a ``RuntimeWarning`` says so.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per student.
    margins : dict
        ``{column: totals}`` where ``totals`` is a Series indexed by the categories, or
        ``{(col1, col2): totals}`` for a joint margin (a MultiIndex Series, or a DataFrame
        with those columns and a count column ``count``).
    base_weights : pandas.Series, optional
        Starting (design) weights.
    count : str, default "n_enrolled"
        Name of the count column in DataFrame margins.
    max_iter : int, default 100
        Maximum IPF sweeps (and trim/rerake rounds).
    tol : float, default 1e-8
        Convergence tolerance on the largest relative margin error.
    trim : (float, float) or None, default (0.3, 3.0)
        Bounds as multiples of the mean weight; ``None`` disables trimming.

    Returns
    -------
    pandas.Series
        Weights named ``"weight"`` with the index of ``df``; they sum to the population
        total.

    Raises
    ------
    DataError
        A sample cell missing from the totals, a population cell with no respondents,
        margins with different grand totals, or no convergence.

    References
    ----------
    .. [1] Deming & Stephan (1940).
    .. [4] Potter (1990).

    Examples
    --------
    In R: ``survey::rake(svydesign(ids = ~1, data = d), list(~sex, ~urban),
    list(pop_sex, pop_urban))``.
    """
    _check_trim(trim)
    if not margins:
        raise DataError("не заданы итоги для взвешивания (margins).")
    parts = []
    totals = []
    for key, margin in margins.items():
        cols, target = _margin_to_series(key, margin, count)
        _check_cols(df, cols)
        codes = _cell_codes(df, cols, target)
        present = np.bincount(codes, minlength=len(target)) > 0
        empty = (~present) & (target.to_numpy() > 0)
        if empty.any():
            raise DataError(f"в ячейке {target.index[np.flatnonzero(empty)[0]]!r} нет ни одного "
                            "респондента, а численность положительна; объедините ячейку с "
                            "соседней.", column="/".join(cols))
        parts.append((cols, codes, target.to_numpy()))
        totals.append(target.sum())
    if max(totals) - min(totals) > 1e-6 * max(totals):
        raise DataError("итоги разных переменных дают разную общую численность "
                        f"({min(totals):g} и {max(totals):g}); согласуйте таблицы итогов.")
    if base_weights is None:
        w = np.ones(len(df))
    else:
        w = pd.Series(base_weights).reindex(df.index).to_numpy(dtype=float)
        if np.isnan(w).any() or (w <= 0).any():
            raise DataError("базовые веса должны быть положительными и без пропусков.")

    def ipf(w: np.ndarray) -> tuple[np.ndarray, float]:
        err = np.inf
        for _ in range(max_iter):
            for _, codes, target in parts:
                cur = np.bincount(codes, weights=w, minlength=len(target))
                factor = np.divide(target, cur, out=np.zeros_like(target), where=cur > 0)
                w = w * factor[codes]
            err = max(np.max(np.abs(np.bincount(codes, weights=w, minlength=len(target))
                                    - target) / np.maximum(target, 1e-300))
                      for _, codes, target in parts)
            if err < tol:
                break
        return w, err

    w, err = ipf(w)
    if trim is not None:
        lo, hi = trim
        for _ in range(max_iter):
            m = w.mean()
            if w.min() >= lo * m * (1 - 1e-9) and w.max() <= hi * m * (1 + 1e-9):
                break
            w, err = ipf(_trim(w, trim))
        m = w.mean()
        if w.min() < lo * m * 0.99 or w.max() > hi * m * 1.01:
            warnings.warn(f"границы усечения весов ({lo:g}; {hi:g}) × средний вес несовместимы с "
                          "итогами: итоги соблюдены, отношение веса к среднему от "
                          f"{w.min() / m:.3g} до {w.max() / m:.3g}; объедините ячейки.",
                          RuntimeWarning, stacklevel=2)
    if err >= tol:
        raise DataError(f"раскладка весов не сошлась за {max_iter} итераций (отклонение "
                        f"{err:.2g}); проверьте согласованность итогов или объедините ячейки.")
    return pd.Series(w, index=df.index, name="weight")


def poststratify(df: pd.DataFrame, cells: list[str], population: pd.DataFrame,
                 count: str = "n_enrolled", *, trim: tuple[float, float] | None = None
                 ) -> pd.Series:
    r"""Post-stratification weights :math:`w_i = N_{c(i)} / n_{c(i)}`.

    Every student in cell :math:`c` (e.g. municipality × grade × sex × year) represents
    :math:`N_c / n_c` enrolled students, so weighted cell totals equal the enrolment.
    With ``trim``, weights are clipped to ``[lo, hi]`` × mean weight and rescaled to keep
    the grand total (cell totals then hold only approximately).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per student.
    cells : list of str
        Columns defining the cells; all must also be columns of ``population``.
    population : pandas.DataFrame
        Enrolment counts with the ``cells`` columns and ``count``; rows for the same cell
        are summed.
    count : str, default "n_enrolled"
    trim : (float, float), optional

    Returns
    -------
    pandas.Series
        Weights named ``"weight"``.

    Raises
    ------
    DataError
        A sample cell absent from ``population`` or a populated cell without respondents
        (collapse cells or use :func:`rake`).

    In R: ``survey::postStratify(design, ~municipality_code + grade + sex, pop_table)``.
    """
    cells = list(cells)
    _check_cols(df, cells)
    _check_cols(population, [*cells, count])
    target = population.groupby(cells, observed=True)[count].sum().astype(float)
    codes = _cell_codes(df, cells, target)
    n = np.bincount(codes, minlength=len(target))
    empty = (n == 0) & (target.to_numpy() > 0)
    if empty.any():
        raise DataError(f"в ячейке {target.index[np.flatnonzero(empty)[0]]!r} нет ни одного "
                        "респондента, а численность положительна; объедините ячейки или "
                        "используйте rake().", column="/".join(cells))
    w = target.to_numpy()[codes] / n[codes]
    if trim is not None:
        total = w.sum()
        w = _trim(w, trim)
        w *= total / w.sum()
    return pd.Series(w, index=df.index, name="weight")


def design_effect(weights) -> float:
    r"""Kish's design effect due to unequal weights, :math:`1 + CV^2 = n\sum w^2 / (\sum w)^2`.

    :math:`CV` is the coefficient of variation of the weights with the population (``ddof
    = 0``) variance [2]_. The effective sample size is :math:`n / \mathrm{deff}`.

    References
    ----------
    .. [2] Kish (1965), §11.7.

    In R: ``1 + (sd(w) * sqrt((n - 1) / n) / mean(w))^2``.
    """
    w = np.asarray(weights, dtype=float)
    w = w[~np.isnan(w)]
    if w.size == 0 or w.sum() <= 0:
        raise DataError("веса пусты или их сумма не положительна.")
    return float(w.size * np.sum(w ** 2) / np.sum(w) ** 2)


@dataclass(frozen=True)
class WeightedMean:
    """A weighted mean with its linearised, cluster-aware standard error."""

    score: str
    mean: float
    se: float
    ci_low: float
    ci_high: float
    df: int
    n: int
    n_eff: float
    n_clusters: int
    deff: float

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy table."""
        return pd.DataFrame([self.__dict__])

    def summary(self) -> str:
        """Short Russian text."""
        from .fmt import fmt_ci, fmt_int, fmt_num
        return (f"{self.score}: взвешенное среднее {fmt_num(self.mean)} "
                f"(95 % ДИ {fmt_ci(self.ci_low, self.ci_high)}; SE {fmt_num(self.se, 3)}), "
                f"n = {fmt_int(self.n)}, эффективный n = {fmt_int(self.n_eff)}, "
                f"кластеров: {fmt_int(self.n_clusters)}.")


def weighted_mean(df: pd.DataFrame, score: str, weights=None, *,
                  cluster: str | None = "school_id", confidence: float = 0.95
                  ) -> WeightedMean:
    r"""Weighted mean with a Taylor-linearised standard error, clustered in schools.

    .. math::

        \hat\mu = \frac{\sum_i w_i y_i}{\sum_i w_i}, \qquad
        z_i = \frac{w_i (y_i - \hat\mu)}{\sum_j w_j}, \qquad
        \widehat{V}(\hat\mu) = \frac{G}{G-1} \sum_{g=1}^{G} \Big(\sum_{i \in g} z_i\Big)^2,

    with :math:`G` clusters (schools; each student is its own cluster when ``cluster`` is
    ``None``) [3]_. The CI uses the t distribution with :math:`G - 1` degrees of freedom.
    This equals ``survey::svymean`` (``ids = ~school_id``, with-replacement PSUs) and
    statsmodels ``WLS(y, 1, weights=w).fit(cov_type="cluster")``. Rows with a missing
    score are dropped.

    Parameters
    ----------
    df : pandas.DataFrame
    score : str
        Score column.
    weights : str, Series or None
        A column name, a Series aligned to ``df``, or ``None`` (equal weights).
    cluster : str or None, default "school_id"
    confidence : float, default 0.95

    Returns
    -------
    WeightedMean

    References
    ----------
    .. [3] Lumley (2010), §2.2 and §7.

    In R: ``survey::svymean(~total, svydesign(ids = ~school_id, weights = ~w, data = d))``.
    """
    _check_cols(df, [score] + ([cluster] if cluster else []))
    w = weights_array(df, weights)
    y = pd.to_numeric(df[score], errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(y) & ~np.isnan(w)
    if cluster:
        cl = df[cluster].to_numpy()[ok]
        if pd.isna(cl).any():
            raise DataError("пропущен код кластера (школы).", column=cluster)
    y, w = y[ok], w[ok]
    if y.size < 2:
        raise DataError("для среднего нужно хотя бы два наблюдения.", column=score)
    sw = w.sum()
    mu = float(np.sum(w * y) / sw)
    z = w * (y - mu) / sw
    if cluster:
        codes = pd.factorize(cl)[0]
        zt = np.bincount(codes, weights=z)
    else:
        zt = z
    g = zt.size
    if g < 2:
        raise DataError("для стандартной ошибки нужно хотя бы два кластера.", column=cluster)
    se = float(np.sqrt(g / (g - 1) * np.sum(zt ** 2)))
    crit = stats.t.ppf(0.5 + confidence / 2, g - 1)
    deff = design_effect(w)
    return WeightedMean(score=score, mean=mu, se=se, ci_low=mu - crit * se,
                        ci_high=mu + crit * se, df=g - 1, n=int(y.size),
                        n_eff=float(y.size / deff), n_clusters=int(g), deff=deff)


def weights_array(df: pd.DataFrame, weights) -> np.ndarray:
    if weights is None:
        return np.ones(len(df))
    if isinstance(weights, str):
        _check_cols(df, [weights])
        w = pd.to_numeric(df[weights], errors="coerce").to_numpy(dtype=float)
    else:
        w = pd.Series(weights).reindex(df.index).to_numpy(dtype=float)
    if (w[~np.isnan(w)] < 0).any():
        raise DataError("веса не могут быть отрицательными.")
    return w


def weight_summary(weights, *, trim: tuple[float, float] | None = (0.3, 3.0)
                   ) -> pd.DataFrame:
    """What the weights did, in Russian rows for the method section of a note.

    Rows: число наблюдений, сумма весов (= represented population), min, max, max/min,
    доля весов на границах усечения (if ``trim`` is given), эффект дизайна Киша 1 + CV²
    and эффективный объём выборки n / deff.

    Returns
    -------
    pandas.DataFrame
        Columns ``показатель`` and ``значение`` (float).
    """
    w = np.asarray(weights, dtype=float)
    w = w[~np.isnan(w)]
    deff = design_effect(w)
    rows = [("Число наблюдений", float(w.size)),
            ("Сумма весов (представленная численность)", float(np.round(w.sum(), 6))),
            ("Минимальный вес", float(w.min())),
            ("Максимальный вес", float(w.max())),
            ("Отношение максимального веса к минимальному",
             float(w.max() / w.min()) if w.min() > 0 else np.inf)]
    if trim is not None:
        m = w.mean()
        at = np.isclose(w, trim[0] * m, rtol=1e-6) | np.isclose(w, trim[1] * m, rtol=1e-6) \
            | (w < trim[0] * m) | (w > trim[1] * m)
        rows.append(("Доля весов на границах усечения", float(at.mean())))
    rows += [("Эффект дизайна Киша (1 + CV²)", deff),
             ("Эффективный объём выборки", float(w.size / deff))]
    return pd.DataFrame(rows, columns=["показатель", "значение"])
