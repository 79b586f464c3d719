"""Polychoric correlations from pairwise contingency tables.

Two-step maximum likelihood (Olsson, 1979): thresholds first, then each ρ
with thresholds fixed. Two threshold conventions:

* ``thresholds="global"`` (default) — each item's thresholds come once from
  its own margins over all its answers, as ``psych::polychoric(global = TRUE)``;
* ``thresholds="pairwise"`` — each pair's thresholds from that pair's table
  margins, as ``polycor::polychor(x, y)`` (two-step, ``ML = FALSE``).

Why own numerics: no Python library in the stack (statsmodels, semopy,
factor-analyzer, pingouin) computes polychoric matrices, and calling R's
approach pair by pair (``optimize`` with a fresh bivariate-normal integration
at every step) is what makes R slow. Here

1. the **sufficient statistic** is the array of all pairwise contingency
   tables, built in one BLAS product of one-hot codes (:func:`pair_tables`);
   tables from row chunks simply add, so a national file can be streamed;
2. all pairs are solved **at once** by a safeguarded Newton iteration on the
   score: the bivariate normal CDF comes from Owen's T function
   (``scipy.special.owens_t``) and its ρ-derivative is the bivariate normal
   density (Plackett's identity ∂Φ₂/∂ρ = φ₂), so score and Hessian are
   closed-form. The iteration converges to ~1e-10, i.e. the exact two-step
   estimate; psych's ``optimize`` stops at its default tolerance
   (≈1.2e-4), which bounds the agreement with psych to about 1e-4.

Zero frequencies. An empty cell contributes ``0·log P = 0`` to the
likelihood, as in psych (``correct`` is not applied on psych's global path;
``correct = 0`` here by default). A category nobody chose gives a repeated
(or infinite) threshold, i.e. a zero-width band whose probability is 0 and
whose count is 0 — the same likelihood as dropping that row/column (what
polycor does). With ``correct > 0`` every empty cell in a non-empty row and
column gets ``correct`` pseudo-counts (psych's ``global = FALSE`` path,
where psych uses ``correct = 0.5``); with pairwise thresholds the
thresholds are then taken from the corrected margins, as in psych. A pair
whose table has fewer than two non-empty rows or columns gets NaN.

References
----------
1. Olsson, U. (1979). Maximum likelihood estimation of the polychoric
   correlation coefficient. Psychometrika, 44, 443–460.
2. Owen, D. B. (1956). Tables for computing bivariate normal probabilities.
   Annals of Mathematical Statistics, 27, 1075–1090.
3. Plackett, R. L. (1954). A reduction formula for normal multivariate
   integrals. Biometrika, 41, 351–360.
4. Revelle, W. (2022). psych 2.2.9 (``polychoric``, ``cor.smooth``);
   Fox, J. (2022). polycor 0.8-1 (``polychor``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from ..errors import DataError
from ..fmt import fmt_int, fmt_num
from ..options import check_range, options
from ._keys import as_item_matrix

__all__ = ["PairTables", "pair_tables", "polychoric", "polychoric_from_tables", "PolychoricResult"]

_THRESHOLDS = ("global", "pairwise")
_RHO_BOUND = 1.0 - 1e-7


# ---------------------------------------------------------------- tables

@dataclass(frozen=True)
class PairTables:
    """All pairwise contingency tables of an item block (a sufficient statistic).

    ``counts[i, a, j, b]`` is the number of rows with item ``i`` = category
    ``a`` and item ``j`` = category ``b`` (both answered);
    ``counts[i, a, i, a]`` are item ``i``'s own frequencies over all its
    answers. Tables of row chunks with the same items and categories add
    with ``+``.
    """

    items: tuple[str, ...]
    categories: tuple[float, ...]
    counts: np.ndarray = field(repr=False)
    n_rows: int

    def __add__(self, other: "PairTables") -> "PairTables":
        if not isinstance(other, PairTables):
            return NotImplemented
        if self.items != other.items or self.categories != other.categories:
            raise DataError("Таблицы сопряжённости построены по разным пунктам или категориям; "
                            "задайте одинаковые пункты и categories для всех частей файла.")
        return PairTables(self.items, self.categories, self.counts + other.counts,
                          self.n_rows + other.n_rows)

    @property
    def margins(self) -> np.ndarray:
        """Item × category frequencies over each item's answers."""
        k, c = len(self.items), len(self.categories)
        d = self.counts.reshape(k * c, k * c).diagonal()
        return d.reshape(k, c)

    @property
    def n_pairs(self) -> np.ndarray:
        """k × k numbers of rows where both items are answered."""
        return self.counts.sum(axis=(1, 3))


def pair_tables(items: pd.DataFrame, categories=None, *, chunk_size: int = 50_000) -> PairTables:
    """Build all pairwise contingency tables of an item block.

    Parameters
    ----------
    items : DataFrame
        Respondents in rows, items in columns, integer (or any discrete)
        codes, NaN = missing.
    categories : sequence of numbers, optional
        The response codes. By default every integer from the block's
        minimum to its maximum (psych's ``tabulate`` over the global range)
        or, for non-integer codes, the sorted distinct values. Give it
        explicitly when tables of several chunks will be added.
    chunk_size : int
        Rows per one-hot block (memory ≈ chunk_size × k × C × 4 bytes).

    Returns
    -------
    PairTables

    Notes
    -----
    With ``O`` the rows × (k·C) one-hot matrix (a missing answer is a zero
    row block), all tables at once are ``O'O``, computed in float32 per
    chunk (exact for counts below 2²⁴) and accumulated in int64.

    In R: ``table(x[, i], x[, j])`` for every pair (psych's ``tableFast``).
    """
    x, names = as_item_matrix(items, min_items=1, what="таблиц сопряжённости")
    miss = np.isnan(x)
    integral = bool(np.all(miss | (x == np.floor(x))))
    if categories is None:
        if integral:
            cats = np.arange(np.nanmin(x), np.nanmax(x) + 1)
        else:
            cats = np.unique(x[~miss])
    else:
        cats = np.asarray(sorted(set(float(c) for c in categories)), dtype=float)
    if cats.size > 50:
        raise DataError(f"В блоке {cats.size} категорий ответа; полихорическая корреляция "
                        f"рассчитана на порядковые пункты с немногими категориями.")
    k, c = x.shape[1], cats.size
    if integral and np.array_equal(cats, np.arange(cats[0], cats[0] + c)):
        idx = np.where(miss, 0, x - cats[0]).astype(np.int64)   # codes are consecutive integers
        bad = ~miss & ((idx < 0) | (idx >= c))
    else:
        idx = np.searchsorted(cats, np.where(miss, cats[0], x))
        bad = ~miss & ((idx >= c) | (cats[np.minimum(idx, c - 1)] != x))
    if bad.any():
        j = int(np.where(bad.any(axis=0))[0][0])
        raise DataError(f"Встречается код {x[bad][0]:g}, которого нет среди категорий "
                        f"{', '.join(f'{v:g}' for v in cats)}.", column=names[j])
    flat = np.where(miss, -1, idx + c * np.arange(k)[None, :])
    total = np.zeros((k * c, k * c), dtype=np.int64)
    kc = k * c
    for start in range(0, x.shape[0], chunk_size):
        block = flat[start:start + chunk_size]
        n_b = block.shape[0]
        onehot = np.zeros(n_b * kc, dtype=np.float32)
        pos = (block + (np.arange(n_b) * kc)[:, None])[block >= 0]
        onehot[pos] = 1.0
        onehot = onehot.reshape(n_b, kc)
        total += np.rint(onehot.T @ onehot).astype(np.int64)
    return PairTables(tuple(names), tuple(float(v) for v in cats),
                      total.reshape(k, c, k, c), int(x.shape[0]))


# ---------------------------------------------------------------- bivariate normal

def _bvn_cdf(h: np.ndarray, k: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Φ₂(h, k; ρ) for broadcastable arrays, infinite limits allowed (Owen's T)."""
    h, k, rho = np.broadcast_arrays(h, k, rho)
    out = np.zeros(h.shape)
    pos_h = np.isposinf(h)
    pos_k = np.isposinf(k)
    neg = np.isneginf(h) | np.isneginf(k)
    out[pos_h & pos_k] = 1.0
    m = pos_h & ~pos_k & ~neg
    out[m] = special.ndtr(k[m])
    m = pos_k & ~pos_h & ~neg
    out[m] = special.ndtr(h[m])
    fin = np.isfinite(h) & np.isfinite(k)
    if fin.any():
        hh, kk, r = h[fin], k[fin], rho[fin]
        # exact zeros: the formula's limit, reached with a tiny positive value
        hh = np.where(hh == 0.0, 1e-200, hh)
        kk = np.where(kk == 0.0, 1e-200, kk)
        s = np.sqrt((1.0 - r) * (1.0 + r))
        ah = (kk - r * hh) / (hh * s)
        ak = (hh - r * kk) / (kk * s)
        delta = np.where(np.sign(hh) == np.sign(kk), 0.0, 0.5)
        val = (0.5 * (special.ndtr(hh) + special.ndtr(kk))
               - special.owens_t(hh, ah) - special.owens_t(kk, ak) - delta)
        out[fin] = np.clip(val, 0.0, 1.0)
    return out


def _bvn_pdf(h, k, rho):
    """φ₂(h, k; ρ) and ∂φ₂/∂ρ; zero where a limit is infinite."""
    h, k, rho = np.broadcast_arrays(h, k, rho)
    fin = np.isfinite(h) & np.isfinite(k)
    hh = np.where(fin, h, 0.0)
    kk = np.where(fin, k, 0.0)
    om = (1.0 - rho) * (1.0 + rho)
    q = hh * hh - 2.0 * rho * hh * kk + kk * kk
    pdf = np.exp(-q / (2.0 * om)) / (2.0 * np.pi * np.sqrt(om))
    pdf = np.where(fin, pdf, 0.0)
    dlog = rho / om + hh * kk / om - rho * q / om ** 2
    return pdf, pdf * dlog


def _cells(F):
    return F[:, 1:, 1:] - F[:, :-1, 1:] - F[:, 1:, :-1] + F[:, :-1, :-1]


def _solve(tabs: np.ndarray, tr: np.ndarray, tc: np.ndarray, *, tol: float = 1e-10,
           max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Two-step ML ρ for each table with thresholds fixed; vectorised over tables.

    ``tabs`` (p, R, C) counts; ``tr`` (p, R−1), ``tc`` (p, C−1) thresholds.
    Returns (ρ, log-likelihood).
    """
    p = tabs.shape[0]
    inf = np.full((p, 1), np.inf)
    H = np.concatenate([-inf, tr, inf], axis=1)[:, :, None]
    K = np.concatenate([-inf, tc, inf], axis=1)[:, None, :]
    lo = np.full(p, -_RHO_BOUND)
    hi = np.full(p, _RHO_BOUND)
    rho = np.zeros(p)
    active = np.ones(p, dtype=bool)
    pos = tabs > 0

    def score(rr, sel):
        r3 = rr[:, None, None]
        Pc = _cells(_bvn_cdf(H[sel], K[sel], r3))
        pdf, dpdf = _bvn_pdf(H[sel], K[sel], r3)
        dP, d2P = _cells(pdf), _cells(dpdf)
        n = tabs[sel]
        ok = pos[sel] & (Pc > 0)
        Ps = np.where(ok, Pc, 1.0)
        s = np.where(ok, n * dP / Ps, 0.0).sum(axis=(1, 2))
        h2 = np.where(ok, n * (d2P / Ps - (dP / Ps) ** 2), 0.0).sum(axis=(1, 2))
        fisher = np.where(ok, n.sum(axis=(1, 2))[:, None, None] * dP ** 2 / Ps, 0.0).sum(axis=(1, 2))
        ll = np.where(ok, n * np.log(Ps), 0.0).sum(axis=(1, 2))
        return s, h2, fisher, ll

    for _ in range(max_iter):
        sel = np.where(active)[0]
        if sel.size == 0:
            break
        s, h2, fisher, _ = score(rho[sel], sel)
        up = s > 0
        lo[sel[up]] = rho[sel[up]]
        hi[sel[~up]] = rho[sel[~up]]
        curv = np.where(h2 < 0, -h2, np.maximum(fisher, 1e-300))
        new = rho[sel] + s / curv
        outside = ~((new > lo[sel]) & (new < hi[sel]))
        new = np.where(outside, 0.5 * (lo[sel] + hi[sel]), new)
        done = (np.abs(new - rho[sel]) < tol) | (hi[sel] - lo[sel] < tol)
        rho[sel] = new
        active[sel[done]] = False
    _, _, _, ll = score(rho, np.arange(p))
    return rho, ll


def _qnorm_cum(counts: np.ndarray) -> np.ndarray:
    """Thresholds Φ⁻¹ of cumulative proportions (last category dropped)."""
    tot = counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = np.cumsum(counts, axis=-1)[..., :-1] / tot
        return special.ndtri(np.clip(cum, 0.0, 1.0))


def _cor_smooth(R: np.ndarray, eig_tol: float = 1e-12) -> tuple[np.ndarray, bool]:
    """``psych::cor.smooth``: eigenvalue floor when R is not positive definite."""
    vals, vecs = np.linalg.eigh(R)
    if vals.min() >= np.finfo(float).eps:
        return R, False
    vals = np.where(vals < eig_tol, 100 * eig_tol, vals)
    vals = vals * R.shape[0] / vals.sum()
    S = (vecs * vals) @ vecs.T
    d = 1.0 / np.sqrt(np.diag(S))
    S = S * d[:, None] * d[None, :]
    np.fill_diagonal(S, 1.0)
    return S, True


# ---------------------------------------------------------------- result

@dataclass(frozen=True)
class PolychoricResult:
    """Polychoric correlation matrix with thresholds (see :func:`polychoric`)."""

    rho: pd.DataFrame
    thresholds: pd.DataFrame
    n_pairs: pd.DataFrame
    n_obs: int
    method: str
    smoothed: bool
    log_likelihood: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """Tidy pairs: ``item_x``, ``item_y``, ``rho``, ``n`` (lower triangle)."""
        names = list(self.rho.index)
        i, j = np.tril_indices(len(names), -1)
        return pd.DataFrame({"item_x": [names[a] for a in j], "item_y": [names[b] for b in i],
                             "rho": self.rho.to_numpy()[i, j],
                             "n": self.n_pairs.to_numpy()[i, j].astype(int)})

    def summary(self) -> str:
        """A short Russian description for a note."""
        r = self.to_frame()["rho"]
        how = ("пороги по маргиналам каждого пункта (как psych::polychoric)"
               if self.method == "global" else
               "пороги по маргиналам каждой пары (как polycor::polychor)")
        text = (f"Полихорические корреляции {len(self.rho)} пунктов, строк {fmt_int(self.n_obs)}; "
                f"{how}. Корреляции от {fmt_num(r.min())} до {fmt_num(r.max())}, "
                f"медиана {fmt_num(r.median())}.")
        if self.smoothed:
            text += " Матрица не была положительно определённой и сглажена (cor.smooth)."
        return text


@options(thresholds=_THRESHOLDS)
def polychoric_from_tables(tables: PairTables, *, thresholds: str = "global", correct: float = 0,
                           smooth: bool = True) -> PolychoricResult:
    """Polychoric correlations from pre-built :class:`PairTables` (see :func:`polychoric`)."""
    check_range("correct", correct, low=0)
    names, cats = list(tables.items), list(tables.categories)
    k, c = len(names), len(cats)
    if c < 2:
        raise DataError("У пунктов меньше двух категорий ответа; полихорическая корреляция "
                        "не определена.")
    marg = tables.margins.astype(float)
    const = [n for n, m in zip(names, marg) if (m > 0).sum() < 2]
    if const:
        raise DataError(f"У пунктов {', '.join(const)} нет разброса ответов; исключите их.",
                        column=const[0])
    tau = _qnorm_cum(marg)                                  # (k, c-1)
    ii, jj = np.tril_indices(k, -1)
    tabs = tables.counts[ii, :, jj, :].astype(float)        # (p, c, c): rows item i, cols item j
    rowm, colm = tabs.sum(axis=2), tabs.sum(axis=1)
    usable = ((rowm > 0).sum(axis=1) >= 2) & ((colm > 0).sum(axis=1) >= 2)
    if correct > 0:
        live = (rowm > 0)[:, :, None] & (colm > 0)[:, None, :]
        tabs = np.where(live & (tabs == 0), float(correct), tabs)
    if thresholds == "global":
        tr, tc = tau[ii], tau[jj]
    else:
        tr, tc = _qnorm_cum(tabs.sum(axis=2)), _qnorm_cum(tabs.sum(axis=1))
    rho = np.full(ii.size, np.nan)
    ll = np.full(ii.size, np.nan)
    if usable.any():
        r_u, ll_u = _solve(tabs[usable], tr[usable], tc[usable])
        rho[usable], ll[usable] = r_u, ll_u
    R = np.eye(k)
    R[ii, jj] = R[jj, ii] = rho
    L = np.full((k, k), np.nan)
    L[ii, jj] = L[jj, ii] = ll
    smoothed = False
    if smooth and not np.isnan(R).any():
        R, smoothed = _cor_smooth(R)
    idx = pd.Index(names, name="item")
    cut_names = [f"{cats[a]:g}|{cats[a + 1]:g}" for a in range(c - 1)]
    return PolychoricResult(
        rho=pd.DataFrame(R, index=idx, columns=names),
        thresholds=pd.DataFrame(tau, index=idx, columns=pd.Index(cut_names, name="cut")),
        n_pairs=pd.DataFrame(tables.n_pairs, index=idx, columns=names),
        n_obs=tables.n_rows, method=thresholds, smoothed=smoothed,
        log_likelihood=pd.DataFrame(L, index=idx, columns=names))


@options(thresholds=_THRESHOLDS)
def polychoric(items: pd.DataFrame, *, correct: float = 0, thresholds: str = "global",
               smooth: bool = True, categories=None) -> PolychoricResult:
    r"""Polychoric correlation matrix by two-step maximum likelihood.

    Parameters
    ----------
    items : DataFrame
        Respondents in rows, ordinal items in columns (integer codes,
        NaN = missing; pairwise-complete rows are used for each pair).
    correct : float, default 0
        Pseudo-count put in empty cells of non-empty rows/columns (psych
        applies its 0.5 only when ``global = FALSE``; 0 reproduces
        ``psych::polychoric`` with equal numbers of categories).
    thresholds : {"global", "pairwise"}, default "global"
        ``"global"``: each item's thresholds from its own margins
        (psych, ``global = TRUE``); ``"pairwise"``: from each pair's table
        (``polycor::polychor``, two-step).
    smooth : bool, default True
        Apply psych's ``cor.smooth`` when the matrix is not positive definite.
    categories : sequence, optional
        Response codes (see :func:`pair_tables`).

    Returns
    -------
    PolychoricResult
        ``rho`` (k × k DataFrame), ``thresholds`` (item × cut, the global
        ones), ``n_pairs``, ``n_obs`` (rows, psych's ``n.obs``), ``method``,
        ``smoothed``, ``log_likelihood`` per pair.

    Notes
    -----
    With thresholds :math:`\tau^x_a = \Phi^{-1}(\sum_{a'\le a} n_{a'}/n)` fixed,
    the cell probabilities are
    :math:`P_{ab}(\rho) = \Phi_2(\tau^x_a,\tau^y_b;\rho) - \Phi_2(\tau^x_{a-1},\tau^y_b;\rho)
    - \Phi_2(\tau^x_a,\tau^y_{b-1};\rho) + \Phi_2(\tau^x_{a-1},\tau^y_{b-1};\rho)` and ρ
    maximises :math:`\sum_{ab} n_{ab}\log P_{ab}(\rho)`; the score uses
    :math:`\partial\Phi_2/\partial\rho = \phi_2`. Solved to 1e-10 for all
    pairs simultaneously; agreement with psych is limited by psych's
    ``optimize`` tolerance (≈1.2e-4), with polycor likewise. See the module
    docstring for empty cells and for processing a large file in chunks
    (:func:`pair_tables` + ``+`` + :func:`polychoric_from_tables`).

    In R: ``psych::polychoric(x)$rho``, ``$tau``;
    ``polycor::polychor(x[, i], x[, j])`` for ``thresholds = "pairwise"``.

    References: Olsson (1979); Owen (1956); Plackett (1954); Revelle (2022);
    Fox (2022) — see the module docstring.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from proforient_diag.psychometrics import polychoric
    >>> rng = np.random.default_rng(1)
    >>> z = rng.multivariate_normal([0, 0], [[1, .5], [.5, 1]], size=20000)
    >>> df = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=["a", "b"])
    >>> round(float(polychoric(df).rho.loc["a", "b"]), 3)
    0.49
    """
    tables = pair_tables(items, categories)
    if len(tables.items) < 2:
        raise DataError("Для полихорических корреляций нужно не меньше двух пунктов.")
    return polychoric_from_tables(tables, thresholds=thresholds, correct=correct, smooth=smooth)
