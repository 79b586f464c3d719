"""Internal-consistency reliability: Cronbach's alpha with three CIs, split-half, Guttman λ.

Mirrors ``psych::alpha``, ``psych::alpha.ci`` and ``psych::splitHalf``
(psych 2.2.9). Own numerics because pingouin's ``cronbach_alpha`` uses
listwise deletion, has no λ6/ASE/Duhachek and rounds inside the computation,
and no Python library reproduces psych's pairwise conventions or its split
enumeration. Everything starts from the pairwise covariance matrix, so the
point estimates cost a few matrix products at any sample size; the bootstrap
recomputes those products with multinomial row weights (no row copies).

References
----------
1. Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
   tests. Psychometrika, 16, 297–334.
2. Guttman, L. (1945). A basis for analyzing test-retest reliability.
   Psychometrika, 10, 255–282.
3. Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference
   for coefficient alpha. Applied Psychological Measurement, 11, 93–103.
4. Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE).
   Journal of Applied Psychology, 89(5), 792–808.
5. Revelle, W. (2022). psych: Procedures for Psychological, Psychometric, and
   Personality Research. R package version 2.2.9.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, islice
from math import comb

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import DataError
from ..fmt import fmt_ci, fmt_int, fmt_num
from ..options import check_range
from ._keys import as_item_matrix, cov2cor, key_vector, pairwise_cov, reverse, smc
from .items import block_stats, item_table

__all__ = ["alpha", "AlphaResult", "split_half", "SplitHalfResult", "feldt_ci"]


def feldt_ci(alpha_value: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    r"""Feldt's confidence interval for coefficient alpha.

    .. math:: \bigl[1-(1-\alpha)F_{1-p/2}(n-1,(n-1)(k-1)),\;
              1-(1-\alpha)F_{p/2}(n-1,(n-1)(k-1))\bigr],\quad p = 1-\text{level}.

    In R: ``psych::alpha.ci(alpha, n.obs = n, n.var = k)``.
    """
    p = 1.0 - level
    d1, d2 = n - 1, (n - 1) * (k - 1)
    low = 1 - (1 - alpha_value) * stats.f.ppf(1 - p / 2, d1, d2)
    high = 1 - (1 - alpha_value) * stats.f.ppf(p / 2, d1, d2)
    return float(low), float(high)


@dataclass(frozen=True)
class AlphaResult:
    """Cronbach's alpha and companions for one scale (see :func:`alpha`)."""

    alpha: float
    std_alpha: float
    g6: float
    average_r: float
    median_r: float
    var_r: float
    s_n: float
    ase: float
    total_mean: float
    total_sd: float
    ci_feldt: tuple[float, float]
    ci_duhachek: tuple[float, float]
    ci_boot: tuple[float, float] | None
    n: int
    k: int
    n_boot: int
    keys: pd.Series = field(repr=False)
    items: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per statistic: ``statistic``, ``value``, ``ci_low``, ``ci_high``."""
        rows = [("alpha", self.alpha, *self.ci_feldt, "Feldt"),
                ("alpha", self.alpha, *self.ci_duhachek, "Duhachek"),
                ]
        if self.ci_boot is not None:
            rows.append(("alpha", self.alpha, *self.ci_boot, "bootstrap"))
        for name in ("std_alpha", "g6", "average_r", "median_r", "var_r", "s_n", "ase",
                     "total_mean", "total_sd", "n", "k"):
            rows.append((name, float(getattr(self, name)), np.nan, np.nan, ""))
        return pd.DataFrame(rows, columns=["statistic", "value", "ci_low", "ci_high", "ci_method"])

    def summary(self) -> str:
        """A short Russian description for a note."""
        text = (f"α Кронбаха = {fmt_num(self.alpha)} (95 % ДИ по Фельдту "
                f"{fmt_ci(*self.ci_feldt)}, по Духачеку {fmt_ci(*self.ci_duhachek)}"
                + (f", бутстреп {fmt_ci(*self.ci_boot)}" if self.ci_boot else "")
                + f"); стандартизованная α = {fmt_num(self.std_alpha)}, "
                f"λ6 Гуттмана = {fmt_num(self.g6)}, средняя межпунктовая r = "
                f"{fmt_num(self.average_r)}; пунктов {self.k}, строк {fmt_int(self.n)}.")
        better = self.items.index[self.items["alpha_if_dropped"] > self.alpha].tolist()
        if better:
            text += (" Без пунктов " + ", ".join(better) + " α была бы выше.")
        return text


def _boot_alpha(x: np.ndarray, n_boot: int, seed) -> np.ndarray:
    """Raw alpha on ``n_boot`` row resamples, as multinomial row weights."""
    rng = np.random.default_rng(seed)
    n, k = x.shape
    out = np.empty(n_boot)
    m = ~np.isnan(x)
    complete = bool(m.all())
    xc = np.where(m, x - np.nanmean(x, axis=0), 0.0)   # centred once; cov is shift-invariant
    mf = m.astype(float)
    for b in range(n_boot):  # loop over replicates; each is a few BLAS products
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        xw = xc * w[:, None]
        if complete:
            mu = w @ xc / n
            C = xw.T @ xc / (n - 1) - np.outer(mu, mu) * n / (n - 1)
        else:  # pairwise-complete covariance with row weights (see _keys.pairwise_moments)
            N = mf.T @ (mf * w[:, None])
            S = xw.T @ mf
            with np.errstate(invalid="ignore", divide="ignore"):
                C = (xw.T @ xc - S * S.T / N) / (N - 1)
        out[b] = (1.0 - np.trace(C) / C.sum()) * k / (k - 1)
    return out


def alpha(items: pd.DataFrame, keys=None, *, n_boot: int = 0, seed=None,
          level: float = 0.95) -> AlphaResult:
    r"""Cronbach's alpha with Guttman's λ6, ASE and Feldt, Duhachek and bootstrap CIs.

    Parameters
    ----------
    items : DataFrame
        Respondents in rows, the scale's items in columns (NaN = missing).
    keys : None, list of str, or dict/Series of ±1, optional
        Items to reverse (``max + min − x`` over the whole block). As in
        psych, nothing is reversed automatically.
    n_boot : int, default 0
        Bootstrap replicates for a percentile CI of raw alpha (0 = none).
    seed : int or numpy Generator, optional
        Seed of the bootstrap.
    level : float, default 0.95
        Confidence level of the Feldt and bootstrap intervals (the Duhachek
        interval is psych's ±1.96·ASE at 0.95, its normal quantile otherwise).

    Returns
    -------
    AlphaResult
        ``alpha`` (raw), ``std_alpha``, ``g6``, ``average_r``, ``median_r``,
        ``var_r``, ``s_n``, ``ase``, ``ci_feldt``, ``ci_duhachek``,
        ``ci_boot``, ``n`` (rows, incomplete included), ``k`` and ``items``
        (the table of :func:`item_analysis` plus ``alpha_se_if_dropped``).

    Notes
    -----
    With :math:`C` the pairwise covariance matrix of the keyed items and
    :math:`R` = cov2cor(C):

    .. math::
        \alpha = \frac{k}{k-1}\Bigl(1-\frac{\operatorname{tr}C}{\mathbf 1'C\mathbf 1}\Bigr),\quad
        \alpha_{std} = \frac{k}{k-1}\Bigl(1-\frac{k}{\mathbf 1'R\mathbf 1}\Bigr),\quad
        \lambda_6 = 1-\frac{k-\sum_i \mathrm{smc}_i}{\mathbf 1'R\mathbf 1},

    :math:`\bar r = (\mathbf 1'R\mathbf 1-k)/(k(k-1))`, S/N = :math:`k\bar r/(1-\bar r)`,
    ASE = :math:`\sqrt{Q/n}` with Duhachek's

    .. math:: Q = \frac{2k^2}{(k-1)^2(\mathbf 1'C\mathbf 1)^3}\bigl[\mathbf 1'C\mathbf 1
              (\operatorname{tr}C^2+(\operatorname{tr}C)^2) - 2\operatorname{tr}C\,
              \mathbf 1'C^2\mathbf 1\bigr],

    Duhachek CI = α ± 1.96·ASE, Feldt CI as :func:`feldt_ci`, with
    ``n = nrow(x)`` (psych counts incomplete rows). The bootstrap resamples
    rows (multinomial weights), recomputes pairwise covariances and takes
    the percentile interval (type 7 quantiles, as R's ``quantile``); psych
    draws its own random numbers, so only the point estimates match R.

    In R: ``psych::alpha(x, keys = c("A1"))``; ``psych::alpha.ci(a, n.obs, n.var)``;
    ``psych::alpha(x, n.iter = 1000)$boot.ci``.

    References: Cronbach (1951); Guttman (1945); Feldt et al. (1987);
    Duhachek & Iacobucci (2004); Revelle (2022) — see the module docstring.

    Examples
    --------
    >>> import pandas as pd
    >>> from proforient_diag.psychometrics import alpha
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [5, 4, 3, 2, 2]})
    >>> round(alpha(df, keys=["c"]).alpha, 4)
    0.9636

    In R: ``psych::alpha(df, keys = "c")$total$raw_alpha`` → 0.9636364.
    """
    check_range("n_boot", n_boot, low=0, integer=True)
    check_range("level", level, low=0, high=1, low_open=True, high_open=True)
    x, names = as_item_matrix(items, min_items=2, what="расчёта α")
    signs = key_vector(keys, names)
    st = block_stats(x, names, signs)
    tot = st["total"]
    n, k = st["n_rows"], st["k"]
    ase = float(np.sqrt(tot["Q"] / n))
    z = 1.96 if abs(level - 0.95) < 1e-12 else float(stats.norm.ppf(0.5 + level / 2))
    ci_boot = None
    if n_boot > 0:
        boots = _boot_alpha(reverse(x, signs), int(n_boot), seed)
        p = 1 - level
        lo, hi = np.quantile(boots, [p / 2, 1 - p / 2])
        ci_boot = (float(lo), float(hi))
    table = item_table(x, names, signs, st=st)
    table["alpha_se_if_dropped"] = np.sqrt(st["drop"]["Q"] / n)
    table["var_r_if_dropped"] = st["drop"]["var_r"]
    table["median_r_if_dropped"] = st["drop"]["med_r"]
    table["s_n_if_dropped"] = st["drop"]["sn"]
    with np.errstate(invalid="ignore"):
        total_mean = float(np.nanmean(st["total_score"]))
        total_sd = float(np.nanstd(st["total_score"], ddof=1))
    return AlphaResult(
        alpha=float(tot["raw"]), std_alpha=float(tot["std"]), g6=float(tot["g6"]),
        average_r=float(tot["av_r"]), median_r=float(tot["med_r"]), var_r=float(tot["var_r"]),
        s_n=float(tot["sn"]), ase=ase, total_mean=total_mean, total_sd=total_sd,
        ci_feldt=feldt_ci(float(tot["raw"]), n, k, level),
        ci_duhachek=(float(tot["raw"] - z * ase), float(tot["raw"] + z * ase)),
        ci_boot=ci_boot, n=int(n), k=int(k), n_boot=int(n_boot),
        keys=pd.Series(signs.astype(int), index=pd.Index(names, name="item"), name="key"),
        items=table)


# ---------------------------------------------------------------- split half

@dataclass(frozen=True)
class SplitHalfResult:
    """Split-half reliabilities of one scale (see :func:`split_half`)."""

    max_split: float
    min_split: float
    mean_split: float
    lambda2: float
    lambda4: float
    lambda6: float
    alpha: float
    average_r: float
    median_r: float
    n_splits: int
    enumerated: bool
    best_split: tuple[tuple[str, ...], tuple[str, ...]]
    worst_split: tuple[tuple[str, ...], tuple[str, ...]]
    keys: pd.Series = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per coefficient: ``statistic``, ``value``."""
        names = ["max_split", "min_split", "mean_split", "lambda2", "lambda4", "lambda6",
                 "alpha", "average_r", "median_r", "n_splits"]
        return pd.DataFrame({"statistic": names,
                             "value": [float(getattr(self, s)) for s in names]})

    def summary(self) -> str:
        """A short Russian description for a note."""
        how = "все разбиения" if self.enumerated else "случайная выборка разбиений"
        return (f"Надёжность расщепления: максимальная (λ4 Гуттмана) = {fmt_num(self.max_split)}, "
                f"средняя = {fmt_num(self.mean_split)}, минимальная = {fmt_num(self.min_split)}; "
                f"λ2 = {fmt_num(self.lambda2)}, λ6 = {fmt_num(self.lambda6)}, "
                f"α (станд.) = {fmt_num(self.alpha)}; {how}: {fmt_int(self.n_splits)}. "
                f"Лучшее разбиение: {', '.join(self.best_split[0])} | "
                f"{', '.join(self.best_split[1])}.")


def _first_pc_keys(R: np.ndarray) -> np.ndarray:
    """psych's check.keys: −1 for items loading negatively on the first PC."""
    vals, vecs = np.linalg.eigh(R)
    v = vecs[:, -1]
    if v.sum() < 0:  # psych::principal makes the column sum positive
        v = -v
    return np.where(v < 0, -1.0, 1.0)


def split_half(items: pd.DataFrame, keys=None, *, check_keys: bool = True,
               n_sample: int = 10_000, seed=None, psych_compatible: bool = True) -> SplitHalfResult:
    r"""Split-half reliabilities (max = Guttman's λ4, min, mean) and λ2, λ6, as psych::splitHalf.

    Parameters
    ----------
    items : DataFrame
        Respondents in rows, items in columns (NaN = missing).
    keys : None, list of str, or dict/Series of ±1, optional
        Keys to apply. When None and ``check_keys`` is True (psych's
        default), items loading negatively on the first principal component
        of R are reversed, exactly as ``splitHalf(check.keys = TRUE)``.
    check_keys : bool, default True
        See ``keys``.
    n_sample : int, default 10000
        psych's ``n.sample``: all splits are enumerated when there are at
        most this many, otherwise ``n_sample`` random halves are drawn.
    seed : int, optional
        Seed of the random halves (only when sampling).
    psych_compatible : bool, default True
        psych enumerates the first ``choose(k, ⌊k/2⌋)/2`` half-sets in
        lexicographic order. For an even k these are exactly all distinct
        splits; for an odd k they are only part of them (psych's quirk,
        mirrored here so numbers match R; the mean divides by the same
        non-integer count psych uses). Set False to enumerate every distinct
        split of an odd-length scale.

    Returns
    -------
    SplitHalfResult

    Notes
    -----
    psych works on the correlation matrix :math:`R` = cov2cor(pairwise cov)
    after keying. For a split into halves A, B the reliability is the
    Guttman–Rulon (Flanagan) coefficient on standardised items,

    .. math:: r_{AB} = \frac{4\,\mathbf 1_A' R\,\mathbf 1_B}{\mathbf 1'R\mathbf 1},

    λ4 = max over splits,
    :math:`\lambda_2 = (S_{off} + \sqrt{\tfrac{k}{k-1}\sum_{i\ne j} r_{ij}^2})/\mathbf 1'R\mathbf 1`,
    :math:`\lambda_6 = (S_{off} + \sum\mathrm{smc})/\mathbf 1'R\mathbf 1` and
    ``alpha`` is the standardised alpha, with :math:`S_{off}` the sum of the
    off-diagonal correlations. Random halves (more than ``n_sample``
    splits) use numpy's generator, so they match R only in distribution.

    In R: ``psych::splitHalf(x)`` (``check.keys = TRUE``).

    References: Guttman (1945); Revelle (2022); see the module docstring.
    """
    check_range("n_sample", n_sample, low=1, integer=True)
    x, names = as_item_matrix(items, min_items=2, what="надёжности расщепления")
    k = len(names)
    C0, _ = pairwise_cov(x)
    bad = [nm for nm, v in zip(names, np.diag(C0)) if not v > 0]
    if bad:
        raise DataError(f"У пунктов {', '.join(bad)} нет разброса ответов; исключите их.",
                        column=bad[0])
    R0 = cov2cor(C0)
    if keys is None and check_keys:
        signs = _first_pc_keys(R0)
    else:
        signs = key_vector(keys, names)
    R = R0 * signs[:, None] * signs[None, :]
    sumr = R.sum()
    off = R - np.diag(np.diag(R))
    sum_off = sumr - np.trace(R)
    sumsq_off = (off ** 2).sum()
    alpha_std = sum_off / sumr * k / (k - 1)
    lambda6 = (sum_off + smc(R).sum()) / sumr
    lambda2 = (sum_off + np.sqrt(sumsq_off * k / (k - 1))) / sumr
    low = R[np.tril_indices(k, -1)]
    m = k // 2
    count = comb(k, m) / 2
    if psych_compatible:
        n_enum = int(np.ceil(count))
        divisor = count
    else:
        n_enum = comb(k, m) if k % 2 else comb(k, m) // 2
        divisor = n_enum
    enumerated = n_enum <= n_sample
    if enumerated:
        # lexicographic order, as R's combn and psych's own enumeration
        rows = np.array(list(islice(combinations(range(k), m), n_enum)), dtype=np.intp)
        A = np.zeros((n_enum, k))
        A[np.arange(n_enum)[:, None], rows] = 1.0
    else:
        rng = np.random.default_rng(seed)
        idx = np.argsort(rng.random((n_sample, k)), axis=1)[:, :m]
        A = np.zeros((n_sample, k))
        A[np.arange(n_sample)[:, None], idx] = 1.0
        divisor = n_sample
    B = 1.0 - A
    rab = 4.0 * np.einsum("si,ij,sj->s", A, R, B) / sumr
    imax, imin = int(np.argmax(rab)), int(np.argmin(rab))

    def halves(row):
        a = tuple(n for n, v in zip(names, row) if v == 1)
        b = tuple(n for n, v in zip(names, row) if v == 0)
        return a, b

    return SplitHalfResult(
        max_split=float(rab[imax]), min_split=float(rab[imin]),
        mean_split=float(rab.sum() / divisor), lambda2=float(lambda2),
        lambda4=float(rab[imax]), lambda6=float(lambda6), alpha=float(alpha_std),
        average_r=float(low.mean()), median_r=float(np.median(low)),
        n_splits=int(rab.size), enumerated=bool(enumerated),
        best_split=halves(A[imax]), worst_split=halves(A[imin]),
        keys=pd.Series(signs.astype(int), index=pd.Index(names, name="item"), name="key"))
