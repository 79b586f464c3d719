"""Item statistics: distribution, floor/ceiling, corrected item-total r, alpha-if-dropped.

Mirrors the per-item part of ``psych::alpha`` (``item.stats``, ``alpha.drop``,
``response.freq``) so that a methodologist comparing with R sees the same
numbers. Built from the pairwise covariance matrix (a sufficient statistic),
so the cost is a few matrix products whatever the number of respondents;
no library (pingouin, factor-analyzer, semopy) offers psych's item table with
its pairwise-missing conventions, hence the own numerics.

References
----------
1. Revelle, W. (2022). psych: Procedures for Psychological, Psychometric, and
   Personality Research. R package version 2.2.9 (``alpha``).
2. Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
   tests. Psychometrika, 16, 297–334.
3. Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE).
   Journal of Applied Psychology, 89(5), 792–808.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from ._keys import as_item_matrix, cov2cor, key_vector, pairwise_cov, smc


def _alpha1(C: np.ndarray, R: np.ndarray) -> dict:
    """psych's internal ``alpha.1`` on one covariance/correlation matrix."""
    k = C.shape[0]
    sumC = C.sum()
    trC = np.trace(C)
    raw = (1.0 - trC / sumC) * k / (k - 1)
    sumR = R.sum()
    std = (1.0 - k / sumR) * k / (k - 1)
    g6 = 1.0 - (k - smc(R).sum()) / sumR
    av_r = (sumR - k) / (k * (k - 1))
    low = R[np.tril_indices(k, -1)]
    var_r = np.var(low, ddof=1) if low.size > 1 else np.nan
    med_r = float(np.median(low))
    sn = k * av_r / (1.0 - av_r)
    CC = C @ C
    Q = (2 * k ** 2 / ((k - 1) ** 2 * sumC ** 3)) * (
        sumC * (np.trace(CC) + trC ** 2) - 2 * trC * CC.sum())
    return dict(raw=raw, std=std, g6=g6, av_r=av_r, sn=sn, Q=Q, var_r=var_r, med_r=med_r)


def _check_variance(C: np.ndarray, names) -> None:
    bad = [n for n, v in zip(names, np.diag(C)) if not v > 0]
    if bad:
        raise DataError(f"У пунктов {', '.join(bad)} нет разброса ответов (все ответы "
                        f"одинаковы); исключите их из блока.", column=bad[0])


def block_stats(x: np.ndarray, names, signs: np.ndarray) -> dict:
    """All of psych::alpha's numbers for one block (x raw, signs ±1)."""
    n_rows, k = x.shape
    C0, _ = pairwise_cov(x)
    _check_variance(C0, names)
    C = C0 * signs[:, None] * signs[None, :]
    R = cov2cor(C)
    tot = _alpha1(C, R)
    m = ~np.isnan(x)
    centre = np.nanmean(x, axis=0)
    adjust = np.nanmax(x) + np.nanmin(x)
    means = np.where(signs < 0, adjust - centre, centre)      # item means after reversal
    sds = np.sqrt(np.diag(C))                                   # reversal keeps the variance
    # keyed, centred items; total = rowMeans(keyed x, na.rm = TRUE) as psych
    xk0 = np.where(m, (x - centre) * signs, 0.0)
    n_ans = m.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = (xk0.sum(axis=1) + np.where(m, means, 0.0).sum(axis=1)) / n_ans
    # raw.r = cor(total, x_j, use = "pairwise"): rows where x_j is answered
    mf = m.astype(float)
    tt = np.where(n_ans > 0, total - np.nanmean(total), 0.0)
    n_j = mf.sum(axis=0)
    st_ = tt @ mf
    stt = (tt * tt) @ mf
    sxt = xk0.T @ tt
    sx = xk0.sum(axis=0)
    sxx = (xk0 * xk0).sum(axis=0)
    raw_r = (sxt - sx * st_ / n_j) / np.sqrt((sxx - sx ** 2 / n_j) * (stt - st_ ** 2 / n_j))
    colR = R.sum(axis=0)
    std_r = colR / np.sqrt(R.sum())
    RC = R.copy()
    np.fill_diagonal(RC, smc(R))
    r_cor = RC.sum(axis=0) / np.sqrt(RC.sum())
    colC = C.sum(axis=0)
    dC = np.diag(C)
    v_drop = C.sum() - 2 * colC + dC
    # the rest score's variance from pairwise covariances can cancel to rounding noise (a
    # handful of rows): then r.drop is undefined, not a number of any size
    v_drop = np.where(v_drop > 1e-9 * max(float(np.trace(C)), np.finfo(float).tiny), v_drop, np.nan)
    with np.errstate(invalid="ignore"):
        r_drop = (colC - dC) / np.sqrt(dC * v_drop)
    # alpha if dropped (psych's alpha.drop); a loop over items, not respondents
    if k > 2:
        drops = []
        for i in range(k):
            keep = np.arange(k) != i
            drops.append(_alpha1(C[np.ix_(keep, keep)], R[np.ix_(keep, keep)]))
        drop = {key: np.array([d[key] for d in drops]) for key in drops[0]}
    else:  # one item left: no alpha; psych prints covariance ratios here
        drop = {key: np.full(k, np.nan) for key in
                ("raw", "std", "g6", "av_r", "sn", "Q", "var_r", "med_r")}
    return dict(C=C, R=R, total=tot, total_score=total, raw_r=raw_r, std_r=std_r,
                r_cor=r_cor, r_drop=r_drop, drop=drop, item_n=m.sum(axis=0), means=means,
                sds=sds, n_rows=n_rows, k=k)


def _code_label(code: float) -> str:
    return f"p_{int(code)}" if float(code).is_integer() else f"p_{code:g}"


def _distribution(x: np.ndarray, min_code=None, max_code=None):
    """Shares of each code among the answers given; floor/ceiling shares."""
    obs = x[~np.isnan(x)]
    codes = np.unique(obs)
    if min_code is not None and max_code is not None:
        if not (float(min_code).is_integer() and float(max_code).is_integer()):
            raise DataError("Границы шкалы ответов min_code и max_code должны быть целыми.")
        if min_code > max_code:
            raise DataError("Нижняя граница шкалы ответов min_code больше верхней max_code.")
        out = codes[(codes < min_code) | (codes > max_code)]
        if out.size:
            raise DataError(f"Встречаются коды вне шкалы ответов {int(min_code)}–{int(max_code)}: "
                            f"{', '.join(f'{c:g}' for c in out[:5])}.")
        codes = np.union1d(codes, np.arange(min_code, max_code + 1, dtype=float))
    elif (min_code is None) != (max_code is None):
        raise DataError("Укажите обе границы шкалы ответов (min_code и max_code) или ни одной.")
    if codes.size > 30:
        codes = None  # a continuous item: no distribution columns
    miss = np.isnan(x)
    answered = (~miss).sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if codes is not None:
            c = codes.size
            if np.array_equal(codes, np.arange(codes[0], codes[0] + c)):
                flat = (np.where(miss, 0, x - codes[0]).astype(np.int64)
                        + c * np.arange(x.shape[1])[None, :])
                counts = np.bincount(flat[~miss], minlength=c * x.shape[1]).reshape(-1, c)
            else:
                counts = (x[:, :, None] == codes[None, None, :]).sum(axis=0)
            dist = counts / answered[:, None]
        else:
            dist = None
        lo = np.full(x.shape[1], float(min_code)) if min_code is not None else np.nanmin(x, axis=0)
        hi = np.full(x.shape[1], float(max_code)) if max_code is not None else np.nanmax(x, axis=0)
        floor = (x == lo[None, :]).sum(axis=0) / answered
        ceiling = (x == hi[None, :]).sum(axis=0) / answered
    return codes, dist, floor, ceiling, answered


def item_analysis(items: pd.DataFrame, keys=None, *, min_code=None, max_code=None) -> pd.DataFrame:
    r"""Item statistics for one scale: distribution, floor/ceiling, item–total correlations.

    Parameters
    ----------
    items : DataFrame
        Respondents in rows, the scale's items in columns (numeric codes,
        NaN for a missing answer).
    keys : None, list of str, or dict/Series of ±1, optional
        Items to reverse before the correlational statistics. Reversal is
        ``max + min − x`` with ``min``/``max`` over the whole item block, as
        in psych.
    min_code, max_code : int, optional
        The response scale (e.g. 1 and 5). When given, floor/ceiling are the
        shares at these codes and every code of the scale gets a ``p_`` column
        even if nobody chose it; otherwise each item's observed min/max.

    Returns
    -------
    DataFrame
        One row per item (index ``item``) with columns

        * ``n`` – answers given; ``share_missing`` – share of rows without an answer;
        * ``mean``, ``sd`` – of the keyed item (psych's ``item.stats``);
        * ``share_floor``, ``share_ceiling``, ``p_<code>`` – shares among the
          answers given, on the **raw** codes as answered (psych's
          ``response.freq``); for a reversed item the floor is still the
          lowest code answered;
        * ``raw_r`` – r of the item with the mean of the keyed items
          (psych ``raw.r``, total from ``rowMeans(na.rm = TRUE)``);
        * ``std_r`` = :math:`\sum_j R_{ij} / \sqrt{\sum R}` (``std.r``);
        * ``r_cor`` – as ``std_r`` with SMCs on the diagonal (``r.cor``);
        * ``r_drop`` – corrected item–total r on the covariance matrix,
          :math:`(\sum_j C_{ij} - C_{ii}) / \sqrt{C_{ii}\sum_{j,l\ne i} C_{jl}}`;
        * ``alpha_if_dropped`` (raw), ``std_alpha_if_dropped``,
          ``g6_if_dropped``, ``average_r_if_dropped`` (psych's ``alpha.drop``).

        Correlational columns are NaN for an item without variance.

    Notes
    -----
    Covariances are pairwise-complete (``cov(x, use = "pairwise")``), then
    ``cov2cor``, exactly as ``psych::alpha``. With fewer than three items the
    ``*_if_dropped`` columns are NaN (one item has no alpha).

    In R: ``psych::alpha(x, keys = c("A1"))$item.stats``, ``$alpha.drop``,
    ``$response.freq``.

    Examples
    --------
    >>> import pandas as pd
    >>> from proforient_diag.psychometrics import item_analysis
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [5, 4, 3, 2, 2]})
    >>> item_analysis(df, keys=["c"], min_code=1, max_code=5)["r_drop"].round(3).tolist()
    [0.93, 0.884, 0.981]

    In R: ``psych::alpha(df, keys = "c")$item.stats$r.drop`` → 0.930 0.884 0.981.
    """
    x, names = as_item_matrix(items, min_items=1)
    signs = key_vector(keys, names)
    return item_table(x, names, signs, min_code, max_code)


def item_table(x, names, signs, min_code=None, max_code=None, st=None) -> pd.DataFrame:
    """The table of :func:`item_analysis`; ``st`` = precomputed :func:`block_stats`."""
    n_rows, k = x.shape
    codes, dist, floor, ceiling, answered = _distribution(x, min_code, max_code)
    with np.errstate(invalid="ignore"):
        centre = np.nanmean(x, axis=0)
        sds = np.nanstd(x, axis=0, ddof=1)
    means = np.where(signs < 0, np.nanmax(x) + np.nanmin(x) - centre, centre)
    cols = {"n": answered.astype(int), "share_missing": 1 - answered / n_rows,
            "mean": means, "sd": sds, "share_floor": floor, "share_ceiling": ceiling}
    if dist is not None:
        for j, c in enumerate(codes):
            cols[_code_label(c)] = dist[:, j]
    corr_cols = ["raw_r", "std_r", "r_cor", "r_drop", "alpha_if_dropped",
                 "std_alpha_if_dropped", "g6_if_dropped", "average_r_if_dropped"]
    for c in corr_cols:
        cols[c] = np.full(k, np.nan)
    ok = np.nan_to_num(sds, nan=0.0) > 0
    if ok.sum() >= 2:
        idx = np.where(ok)[0]
        if st is None or not ok.all():
            st = block_stats(x[:, idx], [names[i] for i in idx], signs[idx])
        for c, v in (("raw_r", st["raw_r"]), ("std_r", st["std_r"]), ("r_cor", st["r_cor"]),
                     ("r_drop", st["r_drop"]), ("alpha_if_dropped", st["drop"]["raw"]),
                     ("std_alpha_if_dropped", st["drop"]["std"]),
                     ("g6_if_dropped", st["drop"]["g6"]),
                     ("average_r_if_dropped", st["drop"]["av_r"])):
            cols[c][idx] = v
    return pd.DataFrame(cols, index=pd.Index(names, name="item"))
