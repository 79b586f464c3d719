"""Dimensionality checks and exploratory factor analysis, as R's psych computes them.

``kmo``, ``bartlett``, ``parallel_analysis`` and ``efa`` mirror ``psych::KMO``,
``psych::cortest.bartlett``, ``psych::fa.parallel`` and ``psych::fa`` (psych 2.2.9): pairwise
Pearson correlations by default (``cor(x, use = "pairwise")``), ``n = nrow(x)`` for the fit
statistics, factors sorted by their sums of squared loadings and flipped to positive column sums
after rotation, extraction labels (``MR2``, ``MR1``, …) kept through the sort.

Why the numerics are written here: factor-analyzer 0.5.1 is the only Python EFA library close
to psych, but ``FactorAnalyzer.fit`` fails with scikit-learn ≥ 1.8, its minres uses a different
objective start and stopping rule, it has no psych fit statistics (χ² with Bartlett's
correction, TLI, RMSEA with its CI, BIC) and its rotations differ from GPArotation (see
:mod:`proforient_diag.psychometrics.rotation`). Extraction is done here with numpy/scipy from
the correlation matrix only (a sufficient statistic), so the cost does not grow with the number
of respondents once the correlations are known; parallel analysis draws the simulated
correlation matrices from the Wishart distribution (Bartlett decomposition), which has exactly
the law of ``cor()`` of ``n`` independent normal rows, instead of generating the raw data.

References
----------
1. Kaiser, H. F., & Rice, J. (1974). Little Jiffy, Mark IV. *Educational and Psychological
   Measurement*, 34, 111–117.
2. Bartlett, M. S. (1951). The effect of standardization on a χ² approximation in factor
   analysis. *Biometrika*, 38, 337–344.
3. Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
   *Psychometrika*, 30, 179–185.
4. Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals (minres).
   *Psychometrika*, 31, 351–368.
5. Jöreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis.
   *Psychometrika*, 32, 443–482.
6. Tucker, L. R., & Lewis, C. (1973). A reliability coefficient for maximum likelihood factor
   analysis. *Psychometrika*, 38, 1–10.
7. Revelle, W. (2022). *psych: Procedures for Psychological, Psychometric, and Personality
   Research*, version 2.2.9.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from proforient_diag.errors import FactorDataError
from proforient_diag.options import options
from proforient_diag.psychometrics.rotation import POSSIBLE_ROTATIONS, rotate
from proforient_diag.fmt import fmt_num, fmt_p

POSSIBLE_METHODS = ("minres", "ml", "pa")
POSSIBLE_CORS = ("pearson", "polychoric")
POSSIBLE_PARALLEL_FA = ("fa", "pc", "both")
_LABELS = {"minres": "MR", "ml": "ML", "pa": "PA"}
_EPS = np.finfo(float).eps


# --------------------------------------------------------------------------- correlations
def _items_frame(df) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise FactorDataError("Ожидается таблица (pandas.DataFrame) с пунктами в столбцах.")
    if df.shape[1] < 3:
        raise FactorDataError(
            f"Для факторного анализа нужно не меньше 3 пунктов, получено {df.shape[1]}.")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise FactorDataError("Пункт содержит нечисловые ответы; перекодируйте его в числа.",
                              column=str(bad[0]))
    return df


def _is_correlation(df: pd.DataFrame) -> bool:
    a = df.to_numpy(dtype=float)
    return (a.shape[0] == a.shape[1] and list(df.index) == list(df.columns)
            and not np.isnan(a).any() and np.allclose(a, a.T)
            and np.allclose(np.diag(a), 1.0))


def pairwise_correlation(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlations on pairwise-complete cases and the pairwise counts.

    For each pair the means and standard deviations are taken over the rows where both items
    are answered, as ``cor(x, use = "pairwise")``; computed with matrix products of the
    centred data and the missingness indicator (no loop over pairs or respondents).

    In R: ``cor(x, use = "pairwise")``, ``psych::pairwiseCount(x)``.
    """
    x = df.to_numpy(dtype=float)
    obs = ~np.isnan(x)
    if obs.all():
        n = x.shape[0]
        r = np.corrcoef(x, rowvar=False)
        np.fill_diagonal(r, 1.0)
        return r, np.full((x.shape[1], x.shape[1]), float(n))
    m = obs.astype(float)
    x0 = np.where(obs, x - np.nanmean(x, axis=0), 0.0)
    n = m.T @ m
    sx = x0.T @ m                       # sx[i, j] = sum of x_i over rows where x_j observed
    sxx = (x0 ** 2).T @ m
    sxy = x0.T @ x0
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sx.T / n
        vi = sxx - sx ** 2 / n
        r = cov / np.sqrt(vi * vi.T)
    np.fill_diagonal(r, 1.0)
    return r, n


def _correlation(items: pd.DataFrame, cor: str) -> tuple[np.ndarray, np.ndarray]:
    r, npairs = pairwise_correlation(items)
    if cor == "polychoric":
        from proforient_diag.psychometrics.correlation import polychoric
        r = polychoric(items).rho.loc[items.columns, items.columns].to_numpy(dtype=float)
    if np.isnan(r).any():
        i, j = np.argwhere(np.isnan(r))[0]
        a, b = items.columns[i], items.columns[j]
        raise FactorDataError(
            f"Корреляция пунктов «{a}» и «{b}» не определена (постоянный пункт или нет "
            "общих ответов); исключите пункт из анализа.", column=str(a))
    return r, npairs


def prepare(df, cor: str, n_obs: int | None):
    """Return (names, R, n, np_obs) from raw items or a correlation matrix."""
    df = _items_frame(df)
    names = [str(c) for c in df.columns]
    if _is_correlation(df):
        return names, df.to_numpy(dtype=float), n_obs, None
    if len(df) < 3:
        raise FactorDataError(f"Слишком мало анкет для анализа: {len(df)}.")
    r, npairs = _correlation(df, cor)
    return names, r, len(df) if n_obs is None else n_obs, npairs


def smc(r: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` clipped to [0, 1] (psych::smc)."""
    s = 1 - 1 / np.diag(np.linalg.pinv(r))
    return np.clip(s, 0.0, 1.0)


def _cor_smooth(r: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(r)
    if w.min() >= _EPS:
        return r
    w = np.where(w < 1e-12, 100 * 1e-12, w)
    w = w * r.shape[0] / w.sum()
    x = (v * w) @ v.T
    d = np.sqrt(np.diag(x))
    return x / np.outer(d, d)


# --------------------------------------------------------------------------- KMO, Bartlett
@dataclass(frozen=True)
class KMOResult:
    """Kaiser–Meyer–Olkin measure of sampling adequacy.

    Attributes
    ----------
    overall : float
        Overall MSA.
    per_item : pandas.Series
        MSA of each item, indexed by item name.
    """

    overall: float
    per_item: pd.Series

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: item, msa (the last row, ``item = "overall"``, holds the overall MSA)."""
        rows = pd.DataFrame({"item": list(self.per_item.index) + ["overall"],
                             "msa": list(self.per_item.to_numpy()) + [self.overall]})
        return rows

    def summary(self) -> str:
        """A Russian sentence with the verdict (KMO ≥ 0,60 acceptable, < 0,50 unacceptable)."""
        verdict = ("приемлемо" if self.overall >= 0.6 else
                   "сомнительно" if self.overall >= 0.5 else "неприемлемо")
        weak = [str(i) for i, v in self.per_item.items() if v < 0.5]
        text = f"Мера адекватности выборки KMO = {fmt_num(self.overall, 3)} ({verdict})."
        if weak:
            text += " Пункты с MSA < 0,50: " + ", ".join(weak) + "."
        return text


def kmo(df: pd.DataFrame) -> KMOResult:
    """Kaiser–Meyer–Olkin measure of sampling adequacy.

    .. math::

        \\mathrm{MSA} = \\frac{\\sum_{i\\ne j} r_{ij}^2}{\\sum_{i\\ne j} r_{ij}^2 +
        \\sum_{i\\ne j} q_{ij}^2}, \\qquad
        \\mathrm{MSA}_j = \\frac{\\sum_{i\\ne j} r_{ij}^2}{\\sum_{i\\ne j} r_{ij}^2 +
        \\sum_{i\\ne j} q_{ij}^2},

    where :math:`q_{ij}` are the partial (anti-image) correlations, the off-diagonal elements of
    :math:`R^{-1}` scaled to unit diagonal [1]_.

    Parameters
    ----------
    df : pandas.DataFrame
        Item responses (rows = respondents), or a correlation matrix.

    Returns
    -------
    KMOResult

    References
    ----------
    .. [1] Kaiser, H. F., & Rice, J. (1974). Little Jiffy, Mark IV. *Educational and
       Psychological Measurement*, 34, 111–117.

    Examples
    --------
    In R: ``psych::KMO(x)`` (``$MSA``, ``$MSAi``).
    """
    names, r, _, _ = prepare(df, "pearson", None)
    try:
        q = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        q = r.copy()
    d = np.sqrt(np.diag(q))
    q = q / np.outer(d, d)
    r0 = r.copy()
    np.fill_diagonal(q, 0.0)
    np.fill_diagonal(r0, 0.0)
    r2, q2 = (r0 ** 2).sum(axis=0), (q ** 2).sum(axis=0)
    overall = float(r2.sum() / (r2.sum() + q2.sum()))
    return KMOResult(overall, pd.Series(r2 / (r2 + q2), index=names, name="msa"))


@dataclass(frozen=True)
class BartlettResult:
    """Bartlett's test of sphericity (H0: the correlation matrix is an identity)."""

    chisq: float
    df: int
    pvalue: float
    n_obs: int

    def to_frame(self) -> pd.DataFrame:
        """One-row table: chisq, df, pvalue, n_obs."""
        return pd.DataFrame([{"chisq": self.chisq, "df": self.df, "pvalue": self.pvalue,
                              "n_obs": self.n_obs}])

    def summary(self) -> str:
        """A Russian sentence with the test result."""
        return (f"Критерий сферичности Бартлетта: χ² = {fmt_num(self.chisq, 2)}, "
                f"df = {self.df}, p {'' if self.pvalue < 0.001 else '= '}{fmt_p(self.pvalue)}.")


def bartlett(df: pd.DataFrame, n_obs: int | None = None) -> BartlettResult:
    """Bartlett's test that the correlation matrix is an identity matrix.

    .. math:: \\chi^2 = -\\left(n - 1 - \\frac{2p + 5}{6}\\right) \\ln|R|, \\qquad
              df = \\frac{p(p-1)}{2}

    with :math:`n` the number of rows (incomplete ones included) and :math:`R` the pairwise
    correlation matrix [1]_.

    Parameters
    ----------
    df : pandas.DataFrame
        Item responses, or a correlation matrix (then ``n_obs`` is required).
    n_obs : int, optional
        Sample size; defaults to ``len(df)`` for raw data.

    References
    ----------
    .. [1] Bartlett, M. S. (1951). The effect of standardization on a χ² approximation in
       factor analysis. *Biometrika*, 38, 337–344.

    Examples
    --------
    In R: ``psych::cortest.bartlett(x, n = nrow(x))``.
    """
    names, r, n, _ = prepare(df, "pearson", n_obs)
    if n is None:
        raise FactorDataError("Для корреляционной матрицы укажите объём выборки n_obs.")
    p = len(names)
    sign, logdet = np.linalg.slogdet(r)
    chisq = float(-logdet * (n - 1 - (2 * p + 5) / 6))
    dof = p * (p - 1) // 2
    return BartlettResult(chisq, dof, float(stats.chi2.sf(chisq, dof)), int(n))


# --------------------------------------------------------------------------- extraction
def _top_eig(s: np.ndarray, nf: int):
    w, v = np.linalg.eigh(s)
    return w[::-1][:nf], v[:, ::-1][:, :nf], w[::-1]


def _converged(opt, lower: float, upper: float, tol: float = 1e-6) -> bool:
    """L-BFGS-B stationarity: the projected gradient is ~0 (its own flag trips on round-off)."""
    g = np.asarray(opt.jac, dtype=float)
    x = opt.x
    free = ~(((x <= lower + 1e-12) & (g > 0)) | ((x >= upper - 1e-12) & (g < 0)))
    return bool(np.all(np.abs(g[free]) < tol))


def _minres_out(psi, s, nf):
    w, v, _ = _top_eig(s - np.diag(psi), nf)
    return v * np.sqrt(np.maximum(w, 0.0))


def fit_minres(s: np.ndarray, nf: int):
    """ULS / minres: minimise the residuals of R − diag(ψ) with bounds 0.005 ≤ ψ ≤ 1."""
    def fun(psi):
        lam = _minres_out(psi, s, nf)
        res = s - np.diag(psi) - lam @ lam.T
        return 0.5 * float((res ** 2).sum()), -np.diag(res).copy()

    upper = max(smc(s).max(), 1.0)
    start = np.diag(s) - smc(s)
    start = np.clip(start, 0.005, upper)
    opt = optimize.minimize(fun, start, jac=True, method="L-BFGS-B",
                            bounds=[(0.005, upper)] * len(start),
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
    return _minres_out(opt.x, s, nf), opt.x, _converged(opt, 0.005, upper)


def _ml_out(psi, s, nf):
    sc = 1 / np.sqrt(psi)
    w, v, _ = _top_eig(s * np.outer(sc, sc), nf)
    return np.sqrt(psi)[:, None] * v * np.sqrt(np.maximum(w - 1, 0.0))


def _fit_ml(s: np.ndarray, nf: int):
    """Maximum likelihood as ``factanal``/psych: minimise over ψ with the profile likelihood."""
    p = s.shape[0]

    def fun(psi):
        sc = 1 / np.sqrt(psi)
        w, v = np.linalg.eigh(s * np.outer(sc, sc))
        w, v = w[::-1], v[:, ::-1]
        e = w[nf:]
        f = -(np.sum(np.log(e) - e) - nf + p)
        lam = np.sqrt(psi)[:, None] * v[:, :nf] * np.sqrt(np.maximum(w[:nf] - 1, 0.0))
        g = (lam ** 2).sum(axis=1) + psi - np.diag(s)
        return float(f), g / psi ** 2

    upper = max(smc(s).max(), 1.0)
    start = np.clip(np.diag(s) - smc(s), 0.005, upper)
    opt = optimize.minimize(fun, start, jac=True, method="L-BFGS-B",
                            bounds=[(0.005, upper)] * p,
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
    return _ml_out(opt.x, s, nf), opt.x, _converged(opt, 0.005, upper)


def _fit_pa(s: np.ndarray, nf: int, min_err: float = 0.001, max_iter: int = 50):
    """Principal axes, iterated exactly as psych (stop when Σh² changes by < 0.001)."""
    rm = s.copy()
    np.fill_diagonal(rm, smc(s))
    comm = np.trace(rm)
    err, it, converged = comm, 1, True
    values = None
    while err > min_err:
        w, v, values = _top_eig(rm, nf)
        lam = v * np.sqrt(w)
        new = (lam ** 2).sum(axis=1)
        comm1 = new.sum()
        np.fill_diagonal(rm, new)
        err = abs(comm - comm1)
        comm = comm1
        it += 1
        if it > max_iter:
            err, converged = 0.0, False
    return lam, values, converged


def _extract(r: np.ndarray, nf: int, method: str):
    """Unrotated loadings (columns flipped to positive sums), eigenvalues, convergence."""
    if method == "pa":
        lam, values, ok = _fit_pa(r, nf)
    else:
        lam, _, ok = (fit_minres if method == "minres" else _fit_ml)(r, nf)
        s = r.copy()
        np.fill_diagonal(s, (lam ** 2).sum(axis=1))
        values = np.linalg.eigvalsh(s)[::-1]
    sign = np.sign(lam.sum(axis=0))
    sign[sign == 0] = 1
    return lam * sign, values, ok


# --------------------------------------------------------------------------- fit statistics
def _fit_stats(r, lam, phi, n_obs, npairs, alpha=0.1):
    """psych::fa.stats: χ² with Bartlett's correction, TLI, RMSEA (+ CI), BIC, rms, crms."""
    p, nf = lam.shape
    model = lam @ (phi if phi is not None else np.eye(nf)) @ lam.T
    resid = r - model
    dof = p * (p - 1) / 2 - p * nf + nf * (nf - 1) / 2
    np.fill_diagonal(resid, 0.0)
    out = {"dof": dof}
    if npairs is None:
        rstar_off = float((resid ** 2).sum())
        nh = n_obs if n_obs is not None else np.nan
        out["rms"] = np.sqrt(rstar_off / (p * (p - 1)))
    else:
        rstar_off = float((resid ** 2 * npairs).sum())
        nh = 1 / np.mean(1 / npairs)
        out["rms"] = np.sqrt(rstar_off / (nh * p * (p - 1)))
    out["crms"] = np.sqrt(rstar_off / (2 * nh * dof)) if (dof > 0 and npairs is not None) else (
        np.sqrt(rstar_off / (2 * dof)) if dof > 0 else np.nan)
    m = model.copy()
    np.fill_diagonal(m, np.diag(r))
    m = _cor_smooth(m)
    rs = _cor_smooth(r)
    minvr = np.linalg.solve(m, rs)
    objective = float(np.trace(minvr) - np.linalg.slogdet(minvr)[1] - p)
    out["objective"] = objective
    f0 = float(np.trace(rs) - np.linalg.slogdet(rs)[1] - p)
    out["null_dof"] = p * (p - 1) / 2
    nan = float("nan")
    out.update(chisq=nan, pvalue=nan, tli=nan, rmsea=nan, rmsea_lower=nan, rmsea_upper=nan,
               bic=nan, null_chisq=nan)
    if n_obs is None:
        return out
    n = float(n_obs)
    chisq = max(objective * ((n - 1) - (2 * p + 5) / 6 - 2 * nf / 3), 0.0)
    out["chisq"] = chisq
    out["pvalue"] = float(stats.chi2.sf(chisq, dof)) if dof > 0 else nan
    mm = objective / dof if dof != 0 else nan
    m0 = f0 * 2 / (p * (p - 1))
    nm = (n - 1) - (2 * p + 5) / 6 - 2 * nf / 3
    out["null_chisq"] = f0 * ((n - 1) - (2 * p + 5) / 6)
    out["tli"] = (m0 - mm) / (m0 - 1 / nm)
    if dof > 0:
        rmsea = np.sqrt(max(chisq / (dof * n) - 1 / (n - 1), 0.0))
        tail = alpha / 2
        hi = max(n, chisq) + 2 * n
        upper = 0.0
        if stats.chi2.cdf(chisq, dof) > tail:
            try:
                root = optimize.brentq(lambda x: stats.ncx2.cdf(chisq, dof, x) - tail
                                       if x > 0 else stats.chi2.cdf(chisq, dof) - tail,
                                       0.0, hi, xtol=1e-10)
                upper = np.sqrt(root / (n - 1) / dof)
            except ValueError:
                upper = 0.0 if rmsea <= 0 else nan
        lower = 0.0
        if stats.chi2.cdf(chisq, dof) > 1 - tail:
            try:
                root = optimize.brentq(lambda x: stats.ncx2.cdf(chisq, dof, x) - 1 + tail
                                       if x > 0 else stats.chi2.cdf(chisq, dof) - 1 + tail,
                                       0.0, hi, xtol=1e-10)
                lower = np.sqrt(root / (n - 1) / dof)
            except ValueError:
                lower = nan
        if not np.isnan(upper) and upper < rmsea:
            upper = nan
        if not np.isnan(lower) and lower > rmsea:
            lower = nan
        out.update(rmsea=rmsea, rmsea_lower=lower, rmsea_upper=upper,
                   bic=chisq - dof * np.log(n))
    return out


# --------------------------------------------------------------------------- EFA
@dataclass(frozen=True)
class EFAResult:
    """An exploratory factor solution (psych::fa).

    Attributes
    ----------
    loadings : pandas.DataFrame
        Pattern loadings, items × factors; factor labels are psych's extraction labels
        (``MR1``…, ``ML1``…, ``PA1``…) in the order of decreasing sums of squared loadings.
    communalities, uniquenesses : pandas.Series
        :math:`h^2 = \\mathrm{diag}(\\Lambda\\Lambda')` of the unrotated solution and
        :math:`u^2 = 1 - h^2`.
    phi : pandas.DataFrame or None
        Factor correlations for oblique rotations, ``None`` otherwise.
    structure : pandas.DataFrame
        Structure matrix :math:`\\Lambda\\Phi` (equal to ``loadings`` for orthogonal solutions).
    variance : pandas.DataFrame
        psych's ``Vaccounted``: rows ``ss_loadings``, ``proportion_var``, ``cumulative_var``,
        ``proportion_explained``, ``cumulative_proportion``; columns are factors.
    chisq, dof, pvalue : float
        Likelihood-ratio χ² with Bartlett's correction (``STATISTIC``), its degrees of freedom
        and p-value.
    tli, rmsea, rmsea_lower, rmsea_upper, bic : float
        Tucker–Lewis index, RMSEA with its 90 % CI, BIC = χ² − df·ln n.
    rms, crms, objective, null_chisq, null_dof : float
        Root mean square off-diagonal residual (pairwise-n weighted), its df-corrected version,
        the ML discrepancy and the null model's χ² and df.
    eigenvalues : pandas.Series
        Eigenvalues of the observed correlation matrix (psych ``e.values``).
    common_eigenvalues : pandas.Series
        Eigenvalues of the reduced matrix with the fitted communalities (psych ``values``).
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    phi: pd.DataFrame | None
    structure: pd.DataFrame
    variance: pd.DataFrame
    chisq: float
    dof: float
    pvalue: float
    tli: float
    rmsea: float
    rmsea_lower: float
    rmsea_upper: float
    bic: float
    rms: float
    crms: float
    objective: float
    null_chisq: float
    null_dof: float
    eigenvalues: pd.Series
    common_eigenvalues: pd.Series
    n_factors: int
    n_obs: int | None
    method: str
    rotation: str
    cor: str
    converged: bool

    def to_frame(self) -> pd.DataFrame:
        """Tidy loadings: one row per item and factor (``item``, ``factor``, ``loading``)."""
        long = self.loadings.rename_axis("item").reset_index().melt(
            id_vars="item", var_name="factor", value_name="loading")
        return long

    def summary(self) -> str:
        """A short Russian text: the model, the fit and each item's main factor."""
        rot = "без вращения" if self.rotation == "none" else f"вращение {self.rotation}"
        lines = [f"Эксплораторный факторный анализ: факторов — {self.n_factors}, "
                 f"метод {self.method}, {rot}, корреляции: "
                 f"{'Пирсона' if self.cor == 'pearson' else 'полихорические'}."]
        if not np.isnan(self.chisq):
            lines.append(
                f"χ² = {fmt_num(self.chisq, 2)} (df = {fmt_num(self.dof, 0)}, p "
                f"{'' if self.pvalue < 0.001 else '= '}{fmt_p(self.pvalue)}), "
                f"TLI = {fmt_num(self.tli, 3)}, RMSEA = {fmt_num(self.rmsea, 3)} "
                f"[{fmt_num(self.rmsea_lower, 3)}; {fmt_num(self.rmsea_upper, 3)}], "
                f"BIC = {fmt_num(self.bic, 1)}.")
        lines.append(f"Среднеквадратичный остаток (RMSR) = {fmt_num(self.rms, 3)}.")
        main = self.loadings.abs().idxmax(axis=1)
        for f in self.loadings.columns:
            items = [str(i) for i in main.index[main == f]]
            ss = self.variance.loc["ss_loadings", f]
            lines.append(f"{f} (сумма квадратов нагрузок {fmt_num(ss, 2)}): "
                         + (", ".join(items) if items else "—"))
        weak = [str(i) for i, v in self.communalities.items() if v < 0.2]
        if weak:
            lines.append("Пункты с общностью h² < 0,20: " + ", ".join(weak) + ".")
        return "\n".join(lines)


@options(method=POSSIBLE_METHODS, rotation=POSSIBLE_ROTATIONS, cor=POSSIBLE_CORS)
def efa(df: pd.DataFrame, n_factors: int, method: str = "minres", rotation: str = "oblimin",
        cor: str = "pearson", n_obs: int | None = None) -> EFAResult:
    """Exploratory factor analysis as ``psych::fa``.

    Extraction (on the correlation matrix :math:`R`):

    * ``minres`` — minimise :math:`\\sum_{i<j}(r_{ij} - \\lambda_i'\\lambda_j)^2` over the
      uniquenesses :math:`0.005 \\le \\psi_i \\le 1` (L-BFGS-B from :math:`1 - \\mathrm{SMC}`);
      :math:`\\Lambda` are the first eigenvectors of :math:`R - \\Psi` scaled by the root
      eigenvalues [4]_.
    * ``ml`` — minimise :math:`F = \\ln|\\Sigma| + \\mathrm{tr}(\\Sigma^{-1}R) - \\ln|R| - p` with
      :math:`\\Sigma = \\Lambda\\Lambda' + \\Psi` (the ``factanal`` profile) [5]_.
    * ``pa`` — principal axes from SMC communalities, iterated until :math:`\\sum h^2` changes by
      less than 0.001 (at most 50 iterations), exactly as psych.

    Then the rotation (:mod:`~proforient_diag.psychometrics.rotation`), columns flipped to
    positive sums and sorted by :math:`\\mathrm{diag}(\\Phi\\Lambda'\\Lambda)`. Fit, with
    :math:`n` the number of rows and :math:`F` the ML discrepancy of the fitted model:
    :math:`\\chi^2 = F\\,(n - 1 - (2p+5)/6 - 2m/3)`,
    :math:`df = p(p-1)/2 - pm + m(m-1)/2`,
    :math:`TLI = (M_0 - M_m)/(M_0 - 1/n_m)` with :math:`M = F/df`,
    :math:`RMSEA = \\sqrt{\\max(\\chi^2/(df\\,n) - 1/(n-1), 0)}` (90 % CI by the noncentral χ²),
    :math:`BIC = \\chi^2 - df\\ln n` [6]_ [7]_.

    Parameters
    ----------
    df : pandas.DataFrame
        Item responses (rows = respondents, missing answers allowed), or a correlation matrix
        (index equal to columns, unit diagonal) together with ``n_obs``.
    n_factors : int
        Number of factors, 1 ≤ ``n_factors`` < number of items.
    method : {"minres", "ml", "pa"}
    rotation : {"none", "varimax", "promax", "oblimin", "geomin"}
        ``oblimin`` is ``GPArotation::oblimin`` (quartimin, γ = 0), ``geomin`` is
        ``GPArotation::geominQ`` (δ = 0.01), ``promax`` is psych's Kaiser-normalised promax
        (m = 4), ``varimax`` is ``stats::varimax``.
    cor : {"pearson", "polychoric"}
        Pairwise Pearson correlations, or polychoric ones from
        :func:`proforient_diag.psychometrics.correlation.polychoric`.
    n_obs : int, optional
        Sample size for the fit statistics; defaults to ``len(df)`` for raw data.

    Returns
    -------
    EFAResult

    Raises
    ------
    ValueError
        For an unknown ``method``, ``rotation`` or ``cor``.
    FactorDataError
        For unusable data or a bad number of factors.

    References
    ----------
    .. [4] Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals
       (minres). *Psychometrika*, 31, 351–368.
    .. [5] Jöreskog, K. G. (1967). Some contributions to maximum likelihood factor analysis.
       *Psychometrika*, 32, 443–482.
    .. [6] Tucker, L. R., & Lewis, C. (1973). A reliability coefficient for maximum likelihood
       factor analysis. *Psychometrika*, 38, 1–10.
    .. [7] Revelle, W. (2022). psych 2.2.9, ``fa`` and ``fa.stats``.

    Examples
    --------
    >>> res = efa(items, n_factors=5, method="minres", rotation="oblimin")  # doctest: +SKIP
    >>> res.loadings.round(2)                                              # doctest: +SKIP

    In R: ``psych::fa(x, nfactors = 5, fm = "minres", rotate = "oblimin")``;
    ``rotation="geomin"`` is ``rotate = "geominQ"``.
    """
    names, r, n, npairs = prepare(df, cor, n_obs)
    p = len(names)
    if not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors < p:
        raise FactorDataError(
            f"Число факторов должно быть целым от 1 до {p - 1}, получено {n_factors!r}.")
    nf = int(n_factors)
    lam0, values, converged = _extract(r, nf, method)
    comm = (lam0 ** 2).sum(axis=1)
    lam0 = np.where(lam0 == 0, 1e-15, lam0)
    rot = rotate(lam0, rotation if nf > 1 else "none")
    lam, phi = rot.loadings, rot.phi
    converged = converged and rot.converged
    sign = np.sign(lam.sum(axis=0))
    sign[sign == 0] = 1
    lam = lam * sign
    if phi is not None:
        phi = phi * np.outer(sign, sign)
    labels = np.array([f"{_LABELS[method]}{i + 1}" for i in range(nf)])
    if nf > 1:
        ev = np.diag(lam.T @ lam) if phi is None else np.diag(phi @ lam.T @ lam)
        order = np.argsort(-ev, kind="stable")
        lam, labels = lam[:, order], labels[order]
        if phi is not None:
            phi = phi[np.ix_(order, order)]
    fit = _fit_stats(r, lam, phi, n, npairs)
    vx = np.diag(lam.T @ lam) if phi is None else np.diag(phi @ lam.T @ lam)
    vtotal = float(p)
    variance = pd.DataFrame(
        [vx, vx / vtotal, np.cumsum(vx / vtotal), vx / vx.sum(), np.cumsum(vx / vx.sum())],
        index=["ss_loadings", "proportion_var", "cumulative_var", "proportion_explained",
               "cumulative_proportion"], columns=list(labels))
    load_df = pd.DataFrame(lam, index=names, columns=list(labels))
    phi_df = None if phi is None else pd.DataFrame(phi, index=list(labels), columns=list(labels))
    structure = load_df if phi is None else pd.DataFrame(lam @ phi, index=names,
                                                         columns=list(labels))
    k = np.arange(1, p + 1)
    return EFAResult(
        loadings=load_df,
        communalities=pd.Series(comm, index=names, name="h2"),
        uniquenesses=pd.Series(np.diag(r) - comm, index=names, name="u2"),
        phi=phi_df, structure=structure, variance=variance,
        chisq=fit["chisq"], dof=fit["dof"], pvalue=fit["pvalue"], tli=fit["tli"],
        rmsea=fit["rmsea"], rmsea_lower=fit["rmsea_lower"], rmsea_upper=fit["rmsea_upper"],
        bic=fit["bic"], rms=fit["rms"], crms=fit["crms"], objective=fit["objective"],
        null_chisq=fit["null_chisq"], null_dof=fit["null_dof"],
        eigenvalues=pd.Series(np.linalg.eigvalsh(r)[::-1], index=k, name="eigenvalue"),
        common_eigenvalues=pd.Series(values, index=k, name="eigenvalue"),
        n_factors=nf, n_obs=None if n is None else int(n), method=method,
        rotation=rotation, cor=cor, converged=converged)


# --------------------------------------------------------------------------- parallel analysis
@dataclass(frozen=True)
class ParallelResult:
    """Horn's parallel analysis (psych::fa.parallel).

    Attributes
    ----------
    observed_fa, observed_pc : pandas.Series
        Eigenvalues of the reduced matrix (communalities from a one-factor minres fit, as
        psych) and of the correlation matrix, indexed 1..p.
    simulated_fa, simulated_pc : pandas.Series
        Means over ``n_iter`` correlation matrices of independent normal data of the same size.
    quantile_fa, quantile_pc : pandas.Series
        Their 95th percentiles, which psych compares the observed values with.
    n_factors : int
        The suggested number: psych's ``nfact`` (``fa="fa"`` or ``"both"``) or ``ncomp``
        (``fa="pc"``) — the count of leading observed eigenvalues above the simulated 95th
        percentile.
    n_components : int
        psych's ``ncomp`` (the same rule on principal components).
    """

    observed_fa: pd.Series
    observed_pc: pd.Series
    simulated_fa: pd.Series
    simulated_pc: pd.Series
    quantile_fa: pd.Series
    quantile_pc: pd.Series
    n_factors: int
    n_components: int
    n_iter: int
    n_obs: int
    seed: int | None
    cor: str
    fa: str

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per eigenvalue number with observed, simulated and 95 % values."""
        return pd.DataFrame({
            "number": self.observed_fa.index.to_numpy(),
            "observed_fa": self.observed_fa.to_numpy(),
            "simulated_fa": self.simulated_fa.to_numpy(),
            "quantile_fa": self.quantile_fa.to_numpy(),
            "observed_pc": self.observed_pc.to_numpy(),
            "simulated_pc": self.simulated_pc.to_numpy(),
            "quantile_pc": self.quantile_pc.to_numpy(),
        })

    def summary(self) -> str:
        """A Russian sentence with the suggested numbers of factors and components."""
        return (f"Параллельный анализ (итераций: {self.n_iter}) предлагает факторов — "
                f"{self.n_factors}, главных компонент — {self.n_components}.")


def _wishart_cors(rng: np.random.Generator, n: int, p: int, n_iter: int) -> np.ndarray:
    """Correlation matrices of n × p independent normal data, via Bartlett's decomposition."""
    dfree = n - 1
    a = np.zeros((n_iter, p, p))
    il = np.tril_indices(p, -1)
    a[:, il[0], il[1]] = rng.standard_normal((n_iter, len(il[0])))
    diag = np.sqrt(rng.chisquare(dfree - np.arange(p)[None, :], size=(n_iter, p)))
    a[:, np.arange(p), np.arange(p)] = diag
    w = a @ np.transpose(a, (0, 2, 1))
    d = np.sqrt(np.einsum("kii->ki", w))
    return w / (d[:, :, None] * d[:, None, :])


def _first_not_above(observed: np.ndarray, threshold: np.ndarray) -> int:
    below = np.flatnonzero(~(observed > threshold))
    return int(below[0]) if below.size else len(observed)


@options(cor=POSSIBLE_CORS, fa=POSSIBLE_PARALLEL_FA)
def parallel_analysis(df: pd.DataFrame, n_iter: int = 20, seed: int | None = None,
                      cor: str = "pearson", fa: str = "fa") -> ParallelResult:
    """Horn's parallel analysis as ``psych::fa.parallel``.

    The observed principal-component eigenvalues are those of :math:`R`; the factor ones are
    those of :math:`R` with the communalities of a one-factor minres solution on the diagonal
    (psych's default ``SMC = FALSE``). Each of ``n_iter`` replicates is the correlation matrix
    of :math:`n \\times p` independent standard normal data (drawn here directly as a Wishart
    matrix, :math:`W \\sim W_p(n-1, I)`, :math:`R^* = D^{-1/2}WD^{-1/2}`) treated the same way.
    The suggestion is the number of leading observed eigenvalues greater than the 95th
    percentile of the simulated ones [3]_.

    Parameters
    ----------
    df : pandas.DataFrame
        Item responses; ``n`` is the number of rows.
    n_iter : int
        Number of simulated data sets (psych's ``n.iter``).
    seed : int, optional
        Seed of the random generator (``numpy.random.default_rng``).
    cor : {"pearson", "polychoric"}
        Correlations of the observed data (simulated ones are always Pearson, as psych).
    fa : {"fa", "pc", "both"}
        Which rule ``n_factors`` reports: factors (``"fa"``, ``"both"``) or components (``"pc"``).

    Returns
    -------
    ParallelResult

    References
    ----------
    .. [3] Horn, J. L. (1965). A rationale and test for the number of factors in factor
       analysis. *Psychometrika*, 30, 179–185.

    Examples
    --------
    In R: ``psych::fa.parallel(x, fa = "fa", n.iter = 20)`` (``$fa.values``, ``$pc.values``,
    ``$nfact``, ``$ncomp``; the simulated values differ with the random stream).
    """
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise FactorDataError(f"Число итераций должно быть положительным, получено {n_iter!r}.")
    names, r, n, _ = prepare(df, cor, None)
    if n is None:
        raise FactorDataError("Для параллельного анализа нужны исходные ответы, а не матрица.")
    p = len(names)
    obs_pc = np.linalg.eigvalsh(r)[::-1]
    _, obs_fa, _ = _extract(r, 1, "minres")
    rng = np.random.default_rng(seed)
    sims = _wishart_cors(rng, n, p, int(n_iter))
    sim_pc = np.linalg.eigvalsh(sims)[:, ::-1]
    sim_fa = np.vstack([_extract(s, 1, "minres")[1] for s in sims])
    q_pc = np.quantile(sim_pc, 0.95, axis=0)
    q_fa = np.quantile(sim_fa, 0.95, axis=0)
    nfact = _first_not_above(obs_fa, q_fa)
    ncomp = _first_not_above(obs_pc, q_pc)
    k = pd.Index(np.arange(1, p + 1), name="number")
    s = lambda v, nm: pd.Series(v, index=k, name=nm)  # noqa: E731
    return ParallelResult(
        observed_fa=s(obs_fa, "observed_fa"), observed_pc=s(obs_pc, "observed_pc"),
        simulated_fa=s(sim_fa.mean(axis=0), "simulated_fa"),
        simulated_pc=s(sim_pc.mean(axis=0), "simulated_pc"),
        quantile_fa=s(q_fa, "quantile_fa"), quantile_pc=s(q_pc, "quantile_pc"),
        n_factors=ncomp if fa == "pc" else nfact, n_components=ncomp, n_iter=int(n_iter),
        n_obs=int(n), seed=seed, cor=cor, fa=fa)
