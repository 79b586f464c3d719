"""Shared helpers for item blocks: validation, reverse keys, pairwise moments.

Used by :mod:`items`, :mod:`reliability` and :mod:`correlation`. Nothing here is
public API.

* Reverse keys follow psych: an item keyed −1 is recoded ``max + min − x``
  with ``min`` and ``max`` taken over the **whole item block**, not per item
  (1–6 items: ``7 − x``). In R: ``psych::alpha(x, keys = c("A1"))``,
  ``psych::reverse.code``.
* Pairwise covariances follow ``stats::cov(x, use = "pairwise")``: the
  covariance of two items is computed over the rows where both are present,
  with means over those rows; each item's variance uses all its answers.
  They are assembled from four cross-product matrices (counts, sums, sums of
  products, sums of squares), i.e. sufficient statistics, so one pass of
  BLAS matrix products replaces the per-pair loop (numpy/pandas have no
  pairwise-complete covariance that is both R-exact and vectorised:
  ``DataFrame.cov`` loops over pairs in Cython and is several times slower).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import DataError, OptionError


def as_item_matrix(items, *, min_items: int = 1, what: str = "анализа пунктов"):
    """Validate an item block and return ``(x, names)``: float array with NaN, names."""
    if isinstance(items, np.ndarray):
        items = pd.DataFrame(items, columns=[f"V{i + 1}" for i in range(items.shape[1])])
    if not isinstance(items, pd.DataFrame):
        raise DataError(f"Для {what} нужна таблица (DataFrame) со столбцами-пунктами, "
                        f"а передан объект типа {type(items).__name__}.")
    names = [str(c) for c in items.columns]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise DataError(f"Названия пунктов повторяются: {', '.join(dup)}; переименуйте столбцы.")
    if items.shape[1] < min_items:
        raise DataError(f"Для {what} нужно не меньше {min_items} пунктов, а передано "
                        f"{items.shape[1]}.")
    if items.shape[0] < 2:
        raise DataError(f"Для {what} нужно не меньше двух строк с ответами, а передано "
                        f"{items.shape[0]}.")
    bad = [n for n, dt in zip(names, items.dtypes)
           if not (pd.api.types.is_numeric_dtype(dt) or pd.api.types.is_bool_dtype(dt))]
    if bad:
        raise DataError(f"Пункты {', '.join(bad)} не числовые; перекодируйте ответы в числа "
                        f"(например, шкалой из инструмента).", column=bad[0])
    x = items.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        col = names[int(np.where(np.isinf(x).any(axis=0))[0][0])]
        raise DataError("В ответах встречается бесконечное значение; проверьте кодировку.",
                        column=col)
    empty = np.isnan(x).all(axis=0)
    if empty.any():
        col = names[int(np.where(empty)[0][0])]
        raise DataError("У пункта нет ни одного ответа; исключите его из блока.", column=col)
    return x, names


def key_vector(keys, names) -> np.ndarray:
    """Turn ``keys`` into a vector of +1/−1 aligned with ``names``.

    ``keys`` may be None (nothing reversed), a list of item names to reverse
    (a leading ``-`` is allowed, as in psych's ``"-A1"``), or a mapping /
    Series from item name to +1 or −1 (items not mentioned are +1).
    """
    signs = np.ones(len(names))
    if keys is None:
        return signs
    index = {n: i for i, n in enumerate(names)}
    if isinstance(keys, (Mapping, pd.Series)):
        pairs = list(keys.items())
    elif isinstance(keys, str):
        pairs = [(keys, -1)]
    else:
        try:
            pairs = [(k, -1) for k in keys]
        except TypeError:
            raise OptionError("keys: допустимы None, список пунктов для обращения или "
                             "словарь/Series «пункт → +1/−1».") from None
    for name, sign in pairs:
        name = str(name)
        if name.startswith("-") and name[1:] in index and name not in index:
            name, sign = name[1:], -1
        if name not in index:
            raise DataError(f"Ключ относится к пункту «{name}», которого нет в блоке; "
                            f"пункты блока: {', '.join(names)}.", column=name)
        try:
            s = float(sign)
        except (TypeError, ValueError):
            s = np.nan
        if s not in (1.0, -1.0):
            raise DataError(f"Ключ пункта «{name}» должен быть +1 или −1, а указан {sign!r}.",
                            column=name)
        signs[index[name]] = s
    return signs


def reverse(x: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Recode items with sign −1 as ``max + min − x`` over the whole block (psych)."""
    if not (signs < 0).any():
        return x
    adjust = np.nanmax(x) + np.nanmin(x)
    out = x.copy()
    neg = signs < 0
    out[:, neg] = adjust - x[:, neg]
    return out


def pairwise_moments(x: np.ndarray, w: np.ndarray | None = None):
    """Pairwise-complete cross-products of ``x`` (rows × items, NaN = missing).

    Returns ``(N, S, P, Q)`` with, over rows where items i and j are both
    present (weighted by the row counts ``w`` if given):
    ``N[i, j]`` the count, ``S[i, j]`` the sum of item i, ``P[i, j]`` the
    sum of ``x_i x_j`` and ``Q[i, j]`` the sum of ``x_i²``. Data are centred
    at the item means first to avoid cancellation.
    """
    m = ~np.isnan(x)
    centre = np.nanmean(x, axis=0)
    x0 = np.where(m, x - centre, 0.0)
    mf = m.astype(float)
    if w is not None:
        xw = x0 * w[:, None]
        mw = mf * w[:, None]
    else:
        xw, mw = x0, mf
    N = mf.T @ mw
    S = xw.T @ mf
    P = x0.T @ xw
    Q = (x0 * xw).T @ mf
    return N, S, P, Q


def pairwise_cov(x: np.ndarray, w: np.ndarray | None = None):
    """``cov(x, use = "pairwise")`` and the pairwise counts, as R computes them."""
    if w is None and not np.isnan(x).any():
        n = x.shape[0]
        xc = x - x.mean(axis=0)
        C = xc.T @ xc / (n - 1)
        return C, np.full(C.shape, float(n))
    N, S, P, _ = pairwise_moments(x, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = (P - S * S.T / N) / (N - 1)
    return C, N


def pairwise_cor(x: np.ndarray):
    """``cor(x, use = "pairwise")``: means and SDs from the pair's complete rows."""
    N, S, P, Q = pairwise_moments(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        cxy = P - S * S.T / N
        vx = Q - S * S / N
        R = cxy / np.sqrt(vx * vx.T)
    return R, N


def cov2cor(C: np.ndarray) -> np.ndarray:
    """``stats::cov2cor``: scale a covariance matrix to unit diagonal."""
    d = 1.0 / np.sqrt(np.diag(C))
    R = C * d[:, None] * d[None, :]
    np.fill_diagonal(R, 1.0)
    return R


def smc(R: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 − 1/diag(R⁻¹)`` as ``psych::smc``.

    psych inverts with its SVD pseudo-inverse (``Pinv``, tolerance
    √ε·d₁) and clips the result to [0, 1].
    """
    inv = np.linalg.pinv(R, rcond=np.sqrt(np.finfo(float).eps))
    out = 1.0 - 1.0 / np.diag(inv)
    return np.clip(out, 0.0, 1.0)
