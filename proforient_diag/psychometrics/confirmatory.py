"""Confirmatory factor analysis and measurement invariance, numerically equal to lavaan.

:func:`cfa` fits a measurement model written in lavaan syntax (``=~``, ``~~``, fixed
values, ``NA*``, labels, comments) by maximum likelihood (complete data from the
sufficient statistics, or full-information ML with missing values) or, for ordered
items, by WLSMV (DWLS on polychoric correlations, delta parameterisation, robust
standard errors and the scaled-shifted test). :func:`invariance` fits the configural,
metric, scalar and strict models across groups (lavaan's ``group.equal``) and tests them
as ``lavTestLRT`` does, with the Cheung–Rensvold and Chen verdicts.

Why our own estimator
---------------------
semopy 2.3.11 fits single-group ML CFA but has no SRMR, does not cap CFI at 1 the way
lavaan does, cannot constrain parameters across groups (no ``group.equal``, so no
invariance) and its ordinal path fails on current numpy/scipy; factor-analyzer's CFA
gives no fit indices. The models here are small (tens of parameters), so an exact
Fisher-scoring ML on the covariance matrices (analytic gradient and expected
information, as lavaan) is both simpler to verify and much faster than a general SEM
package: the data enter only through the per-group (or per missing-data pattern)
covariance matrices and means, which can be accumulated over batches.

Conventions (lavaan 0.6-14)
---------------------------
* ML: ``S`` is the covariance with divisor ``N``; ``F_ML = log|Σ| + tr(SΣ⁻¹) − log|S| − p
  (+ (ȳ − μ)'Σ⁻¹(ȳ − μ))``; ``χ² = Σ_g N_g F_g``; listwise deletion by default; the
  first loading of each factor is fixed to 1; multi-group models add intercepts
  (factor means fixed to 0, freed in groups 2..G when intercepts are held equal);
  groups are ordered by first appearance; standard errors from the expected
  information (FIML: observed information, as lavaan's default for ``missing = "ml"``).
* Fit: ``CFI = 1 − max(χ² − df, 0) / max(χ² − df, χ²_b − df_b, 0)``;
  ``TLI = 1 − ((χ² − df)·df_b) / ((χ²_b − df_b)·df)`` (not capped);
  ``RMSEA = √G · √max(χ²/(N·df) − 1/N, 0)`` with a 90 % CI from the non-central χ²;
  SRMR is lavaan's ``srmr_bentler`` (residuals scaled by the observed SDs, means
  included when the model has a mean structure, groups weighted by N_g/N);
  ``AIC = −2 logL + 2 npar``, ``BIC = −2 logL + npar·ln N``.
* WLSMV (reported statistics are lavaan's ``.scaled`` ones: ``chisq.scaled``,
  ``cfi.scaled``, ``tli.scaled``, ``rmsea.scaled``): thresholds ``τ = Φ⁻¹(cumulative
  proportions)``; each polychoric by ML with thresholds fixed (two-step); Γ (``NACOV``)
  from the case-wise scores as lavaan's ``muthen1984``; ``T = N·Σ w_r (r − ρ(θ))²`` with
  ``w = 1/diag(Γ)``; ``T_ss = a·T + b`` with ``a = √(df / tr(UΓUΓ))``,
  ``b = df − a·tr(UΓ)``, ``U = W − WΔ(Δ'WΔ)⁻¹Δ'W``; robust SEs from
  ``(Δ'WΔ)⁻¹Δ'WΓWΔ(Δ'WΔ)⁻¹ / N``. Here, as in lavaan 0.6-14 for DWLS, ``N`` is the
  number of complete cases minus one (also in RMSEA); Γ itself uses ``N``.
* FIML: minus the log-likelihood summed over missing-data patterns within groups;
  χ² against the saturated model fitted by the same FIML (lavaan's ``unrestricted.logl``),
  SRMR against its moments; baseline = FIML independence model.

Scope
-----
Supported: one or more groups with ``group.equal`` (ML, listwise or FIML); WLSMV with all
model items ordered, one group. Not supported (a clear ``ValueError``): multi-group or
partially ordered WLSMV (hence no ordinal invariance), lavaan's ``.robust`` indices for
WLSMV, robust ML (MLR), regressions among factors.

References
----------
1. Rosseel, Y. (2012). lavaan: An R package for structural equation modeling.
   *Journal of Statistical Software*, 48(2), 1–36.
2. Bollen, K. A. (1989). *Structural Equations with Latent Variables*. Wiley.
3. Muthén, B. (1984). A general structural equation model with dichotomous, ordered
   categorical, and continuous latent variable indicators. *Psychometrika*, 49, 115–132.
4. Asparouhov, T., & Muthén, B. (2010). Simple second order chi-square correction.
   Mplus technical appendix.
5. Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes. *SEM*, 6, 1–55.
6. Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for
   testing measurement invariance. *SEM*, 9, 233–255.
7. Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement
   invariance. *SEM*, 14, 464–504.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from proforient_diag.errors import DataError, OptionError
from proforient_diag.psychometrics import _sem
from proforient_diag.psychometrics._lavsyntax import parse_model
from proforient_diag.fmt import fmt_num, fmt_p
from proforient_diag.options import allowed_text, check_choices, options

__all__ = ["cfa", "CFAResult", "invariance"]

ESTIMATORS = ("ML", "WLSMV")
MISSING = ("listwise", "fiml")
LEVELS = ("configural", "metric", "scalar", "strict")
_LEVEL_EQUAL = {"configural": (), "metric": ("loadings",), "scalar": ("loadings", "intercepts"),
                "strict": ("loadings", "intercepts", "residuals")}
_ESTIMATE_COLUMNS = ["lhs", "op", "rhs", "group", "label", "est", "se", "z", "pvalue", "std_all"]


@dataclass(frozen=True)
class CFAResult:
    """A fitted confirmatory factor model (fields mirror lavaan's ``fitMeasures``).

    Attributes
    ----------
    chisq, dof, pvalue : float, int, float
        The model χ² test (WLSMV: the scaled-shifted ``chisq.scaled``).
    cfi, tli, rmsea : float
        Fit indices (WLSMV: ``cfi.scaled``, ``tli.scaled``, ``rmsea.scaled``).
    rmsea_ci : tuple of float
        90 % confidence interval of RMSEA (low, high).
    rmsea_pvalue : float
        p-value of the close-fit test H0: RMSEA ≤ .05.
    srmr : float
        lavaan's ``srmr`` (``srmr_bentler``; WLSMV: on the polychoric correlations).
    aic, bic, loglik : float
        Information criteria and log-likelihood (NaN for WLSMV).
    n_obs : int
        Number of respondents used.
    npar : int
        Number of free parameters (equality-constrained ones counted once).
    chisq_baseline, dof_baseline : float, int
        The independence (baseline) model test.
    notes : tuple of str
        Russian warnings a methodologist must see (negative variances — Heywood cases,
        standardized values beyond ±1), as lavaan's warnings.
    chisq_unscaled, scaling_factor, shift : float
        WLSMV only: the unscaled DWLS statistic, lavaan's ``chisq.scaling.factor`` (1/a)
        and the shift b; NaN for ML.
    estimator, missing : str
        As requested.
    group_labels : tuple of str
        Group values in order of first appearance (``("1",)`` without groups).
    estimates : pandas.DataFrame
        Tidy parameter table: lhs, op, rhs, group (1-based as in lavaan), label, est, se, z,
        pvalue, std_all (lavaan's ``parameterEstimates`` + ``standardizedSolution``).
        Fixed parameters have se = 0 and z, pvalue NaN, as in lavaan.
    loadings : pandas.DataFrame
        Standardized loadings (items × factors); with groups the index is (group, item).
    """

    chisq: float
    dof: int
    pvalue: float
    cfi: float
    tli: float
    rmsea: float
    rmsea_ci: tuple
    rmsea_pvalue: float
    srmr: float
    aic: float
    bic: float
    loglik: float
    n_obs: int
    npar: int
    chisq_baseline: float
    dof_baseline: int
    estimates: pd.DataFrame = field(repr=False)
    loadings: pd.DataFrame = field(repr=False)
    estimator: str = "ML"
    missing: str = "listwise"
    group_labels: tuple = ("1",)
    chisq_unscaled: float = float("nan")
    scaling_factor: float = float("nan")
    shift: float = float("nan")
    notes: tuple = ()

    def fit_measures(self) -> dict:
        """The fit statistics as a flat dict (names as in this class)."""
        return {"chisq": self.chisq, "df": self.dof, "pvalue": self.pvalue, "cfi": self.cfi,
                "tli": self.tli, "rmsea": self.rmsea, "rmsea_ci_lower": self.rmsea_ci[0],
                "rmsea_ci_upper": self.rmsea_ci[1], "rmsea_pvalue": self.rmsea_pvalue,
                "srmr": self.srmr, "aic": self.aic, "bic": self.bic, "loglik": self.loglik,
                "n_obs": self.n_obs, "npar": self.npar}

    def to_frame(self) -> pd.DataFrame:
        """The tidy parameter table (a copy of :attr:`estimates`)."""
        return self.estimates.copy()

    def summary(self) -> pd.DataFrame:
        """Fit indices in Russian with the Hu–Bentler (1999) benchmarks."""
        scaled = " (масштабированный, WLSMV)" if self.estimator == "WLSMV" else ""
        rows = [
            (f"χ²{scaled}", fmt_num(self.chisq, 3), "", ""),
            ("df", str(self.dof), "", ""),
            ("p", fmt_p(self.pvalue), "", ""),
            ("CFI", fmt_num(self.cfi, 3), "≥ 0,95", _ok(self.cfi >= 0.95)),
            ("TLI", fmt_num(self.tli, 3), "≥ 0,95", _ok(self.tli >= 0.95)),
            ("RMSEA [90 % ДИ]", f"{fmt_num(self.rmsea, 3)} [{fmt_num(self.rmsea_ci[0], 3)}; "
                                f"{fmt_num(self.rmsea_ci[1], 3)}]", "≤ 0,06", _ok(self.rmsea <= 0.06)),
            ("SRMR", fmt_num(self.srmr, 3), "≤ 0,08", _ok(self.srmr <= 0.08)),
            ("AIC", fmt_num(self.aic, 1), "", ""),
            ("BIC", fmt_num(self.bic, 1), "", ""),
            ("N", str(self.n_obs), "", ""),
        ] + [("Замечание", note, "", "") for note in self.notes]
        return pd.DataFrame(rows, columns=["Показатель", "Значение", "Критерий", "Вывод"])


def _notes(est: pd.DataFrame, group_labels) -> tuple:
    """Heywood cases and out-of-range standardized values, in Russian."""
    out = []
    multi = len(group_labels) > 1
    for row in est.itertuples(index=False):
        where = f" (группа «{group_labels[row.group - 1]}»)" if multi else ""
        if row.op == "~~" and row.lhs == row.rhs and row.est < 0:
            out.append(f"отрицательная дисперсия «{row.lhs}» = {fmt_num(row.est, 3)}{where}: "
                       "случай Хейвуда, решение недопустимо")
        elif row.op in ("~~", "=~") and row.lhs != row.rhs and abs(row.std_all) > 1:
            out.append(f"стандартизованное значение «{row.lhs} {row.op} {row.rhs}» = "
                       f"{fmt_num(row.std_all, 3)}{where} по модулю больше 1")
    return tuple(out)


def _ok(flag: bool) -> str:
    return "соответствует" if flag else "не соответствует"


# --------------------------------------------------------------------------- fit indices
def _rmsea(X2, df, N, G):
    if df <= 0:
        return 0.0
    return float(np.sqrt(max(X2 / N / df - 1.0 / N, 0.0)) * np.sqrt(G))


def _pchisq(x, df, ncp):
    return stats.chi2.cdf(x, df) if ncp <= 0 else stats.ncx2.cdf(x, df, ncp)


def _rmsea_ci(X2, df, N, G, level=0.90):
    """lavaan's ``lav_fit_rmsea_ci``: roots of the non-central χ² cdf in the ncp."""
    if df < 1 or not np.isfinite(X2):
        return (0.0, 0.0)
    up, lo = 1 - (1 - level) / 2, (1 - level) / 2
    f_low = lambda lam: _pchisq(X2, df, lam) - up  # noqa: E731
    f_up = lambda lam: _pchisq(X2, df, lam) - lo  # noqa: E731
    if f_low(0.0) < 0:
        low = 0.0
    else:
        lam = optimize.brentq(f_low, 0.0, X2, xtol=1e-12)
        low = np.sqrt(lam / (N * df)) * np.sqrt(G)
    n_rmsea = max(N, 4 * X2)
    if f_up(n_rmsea) > 0 or f_up(0.0) < 0:
        high = 0.0
    else:
        lam = optimize.brentq(f_up, 0.0, n_rmsea, xtol=1e-12)
        high = np.sqrt(lam / (N * df)) * np.sqrt(G)
    return (float(low), float(high))


def _rmsea_pvalue(X2, df, N, G, h0=0.05):
    if df <= 0:
        return float("nan")
    return float(1 - _pchisq(X2, df, N * df * h0 ** 2 / G))


def _cfi(X2, df, X2b, dfb):
    t1 = max(X2 - df, 0.0)
    t2 = max(X2 - df, X2b - dfb, 0.0)
    if np.isclose(t1, 0.0) and np.isclose(t2, 0.0):
        return 1.0
    return float(1 - t1 / t2)


def _tli(X2, df, X2b, dfb):
    t1 = (X2 - df) * dfb
    t2 = (X2b - dfb) * df
    if df > 0 and abs(t2) > 0:
        return float(1 - t1 / t2)
    return 1.0


def _srmr_group(S, ybar, Sig, mu, meanstructure):
    """lavaan's srmr_bentler for one group (residuals scaled by the observed SDs)."""
    sd = np.sqrt(np.diag(S))
    R = (S - Sig) / np.outer(sd, sd)
    iu = np.triu_indices(len(S))
    stats_ = R[iu]
    if meanstructure:
        stats_ = np.concatenate([(ybar - mu) / sd, stats_])
    return float(np.sqrt(np.sum(stats_ ** 2) / len(stats_)))


# --------------------------------------------------------------------------- helpers
def _check_options(estimator, missing, group_equal, ordered, group):
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    group_equal = tuple(group_equal or ())
    check_choices("group_equal", group_equal, _sem.GROUP_EQUAL_OPTIONS)
    if group_equal and group is None:
        raise OptionError("параметр «group_equal» задаётся только вместе с «group» "
                          "(многогрупповая модель).", option="group_equal", value=group_equal)
    if estimator == "WLSMV":
        if ordered is None or ordered is False:
            raise OptionError("estimator='WLSMV' поддерживается для порядковых заданий: укажите "
                              "ordered=True или список всех заданий модели.", option="ordered",
                              value=ordered)
        if group is not None:
            raise OptionError("estimator='WLSMV' поддерживается только для одной группы; "
                              "многогрупповые модели — estimator='ML'.", option="group", value=group)
        if missing != "listwise":
            raise OptionError("estimator='WLSMV' поддерживается только с missing='listwise'.",
                              option="missing", value=missing)
    elif ordered not in (None, False):
        raise OptionError("порядковые задания (ordered) оцениваются только с estimator='WLSMV'.",
                          option="ordered", value=ordered)
    return group_equal


def _numeric_items(df, items):
    if not isinstance(df, pd.DataFrame):
        raise DataError("Ожидается таблица pandas.DataFrame с ответами на задания.")
    absent = [c for c in items if c not in df.columns]
    if absent:
        raise DataError(f"В таблице нет столбцов модели: {', '.join(map(str, absent))}.",
                        column=str(absent[0]))
    X = df[items]
    for c in items:
        if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])):
            raise DataError("Ответы на задание должны быть числами.", column=str(c))
    return X.astype(float)


def _std_all(pt, x, g):
    """lavaan's std.all for every row of group g (uses the model-implied Σ)."""
    tpl = pt.templates[g]
    Sig, _, (L, T, P, nu, al) = tpl.implied(x)
    if pt.categorical:  # delta parameterisation: unit latent-response variances
        Sig = Sig + np.diag(1.0 - np.diag(Sig))
    sd_ov = np.sqrt(np.diag(Sig))
    sd_lv = np.sqrt(np.diag(P))
    out = {}
    for i in np.flatnonzero(pt.group_a == g):
        mat, r, c = pt.mat_a[i], pt.row_a[i], pt.col_a[i]
        if mat == _sem.LAMBDA:
            v = L[r, c] * sd_lv[c] / sd_ov[r]
        elif mat == _sem.THETA:  # residual covariances as residual correlations (lavaan)
            v = T[r, r] / Sig[r, r] if r == c else T[r, c] / np.sqrt(T[r, r] * T[c, c])
        elif mat == _sem.PSI:
            v = P[r, c] / (sd_lv[r] * sd_lv[c])
        elif mat == _sem.NU:
            v = nu[r] / sd_ov[r]
        else:
            v = al[r] / sd_lv[r]
        out[i] = v
    return out


def _estimate_table(pt, x, vcov):
    se_free = np.sqrt(np.clip(np.diag(vcov), 0, None))
    est = np.where(pt.free >= 0, x[np.maximum(pt.free, 0)], pt.fixed_a)
    se = np.where(pt.free >= 0, se_free[np.maximum(pt.free, 0)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(pt.free >= 0, est / se, np.nan)
    pval = 2 * stats.norm.sf(np.abs(z))
    std = {}
    for g in range(pt.ngroups):
        std.update(_std_all(pt, x, g))
    return pd.DataFrame({
        "lhs": pt.lhs, "op": pt.op, "rhs": pt.rhs, "group": pt.group_a + 1, "label": pt.label,
        "est": est, "se": se, "z": z, "pvalue": pval,
        "std_all": [std[i] for i in range(len(pt.lhs))]})


def _loadings_frame(est, pt, group_labels):
    lam = est[est["op"] == "=~"]
    frames = []
    for g, lab in enumerate(group_labels):
        sub = lam[lam["group"] == g + 1]
        tab = sub.pivot_table(index="rhs", columns="lhs", values="std_all", aggfunc="first")
        tab = tab.reindex(index=pt.ov, columns=pt.lv).fillna(0.0)
        tab.index.name, tab.columns.name = "item", None
        if len(group_labels) > 1:
            tab.index = pd.MultiIndex.from_product([[lab], tab.index], names=["group", "item"])
        frames.append(tab)
    return pd.concat(frames)


# --------------------------------------------------------------------------- ML
def _fit_ml(X, groups, group_labels, terms, group_equal, missing):
    G = len(group_labels)
    meanstructure = G > 1 or missing == "fiml"
    pt = _sem.build_partable(terms, ngroups=G, meanstructure=meanstructure, group_equal=group_equal)
    p = len(pt.ov)
    _check_df(G * (p * (p + 1) // 2 + (p if meanstructure else 0)), pt.npar)
    if missing == "fiml":
        return _fit_fiml(X, groups, group_labels, pt)
    S_list, m_list, n_list, blocks = [], [], [], []
    for g in range(G):
        Xg = X[groups == g]
        n = len(Xg)
        if n <= p:
            raise DataError(f"в группе «{group_labels[g]}» {n} полных наблюдений при {p} заданиях: "
                            "для ML нужно больше наблюдений, чем заданий")
        m = Xg.mean(axis=0)
        C = Xg - m
        S = C.T @ C / n
        if np.linalg.eigvalsh(S)[0] <= 1e-10 * max(np.trace(S), 1e-300):
            raise DataError(f"в группе «{group_labels[g]}» ковариационная матрица вырождена "
                            "(постоянное задание или линейная зависимость)")
        S_list.append(S); m_list.append(m); n_list.append(n)
        blocks.append((g, None, n, S, m if meanstructure else None))
    obj = _sem.MLObjective(pt, blocks)
    x0 = _sem.start_values(pt, S_list, m_list)
    x, f, _ = _sem.fisher_scoring(obj, x0)
    _, info = obj.grad_info(x)
    vcov = _inv(info)
    N = sum(n_list)
    logl = -f
    logl_h1 = sum(-0.5 * n * (p * np.log(2 * np.pi) + np.linalg.slogdet(S)[1] + p)
                  for n, S in zip(n_list, S_list))
    X2 = 2 * (logl_h1 - logl)
    X2b = sum(n * (np.log(np.diag(S)).sum() - np.linalg.slogdet(S)[1]) for n, S in zip(n_list, S_list))
    srmr_g = []
    for g in range(G):
        Sig, mu, _ = pt.templates[g].implied(x)
        srmr_g.append(_srmr_group(S_list[g], m_list[g], Sig, mu, meanstructure))
    srmr = float(np.dot(n_list, srmr_g) / N)
    return pt, x, vcov, dict(X2=X2, X2b=X2b, N=N, logl=logl, srmr=srmr, meanstructure=meanstructure)


def _fit_fiml(X, groups, group_labels, pt):
    """Full-information ML over missing-data patterns within groups (lavaan's missing = "ml")."""
    obs = ~np.isnan(X)
    keep = obs.any(axis=1)           # rows with no answer at all are dropped, as lavaan does
    X, obs, groups = X[keep], obs[keep], groups[keep]
    G = len(group_labels)
    p = X.shape[1]
    blocks, S_pair, means, n_g = [], [], [], []
    for g in range(G):
        Xg, Og = X[groups == g], obs[groups == g]
        if len(Xg) <= p:
            raise DataError(f"в группе «{group_labels[g]}» {len(Xg)} наблюдений при {p} заданиях: "
                            "для FIML нужно больше наблюдений, чем заданий")
        if (Og.sum(axis=0) < 2).any():
            bad = int(np.flatnonzero(Og.sum(axis=0) < 2)[0])
            raise DataError(f"в группе «{group_labels[g]}» на задание почти нет ответов",
                            column=pt.ov[bad])
        codes, inv = np.unique(Og, axis=0, return_inverse=True)
        inv = inv.ravel()
        for k, pat in enumerate(codes):
            rows = Xg[inv == k][:, pat]
            m = rows.mean(axis=0)
            C = rows - m
            blocks.append((g, np.flatnonzero(pat), len(rows), C.T @ C / len(rows), m))
        S = pd.DataFrame(Xg).cov(min_periods=2).to_numpy()
        S_pair.append(np.where(np.isfinite(S), S, 0.0))
        means.append(np.nanmean(Xg, axis=0))
        n_g.append(len(Xg))
    N = int(sum(n_g))

    def fit(ptab):
        obj = _sem.MLObjective(ptab, blocks)
        S0 = S_pair if ptab.lv else [np.diag(np.diag(S)) for S in S_pair]
        x, f, _ = _sem.fisher_scoring(obj, _sem.start_values(ptab, S0, means))
        return obj, x, f

    obj, x, f = fit(pt)
    vcov = _inv(_sem.numeric_hessian(obj, x))   # observed information, lavaan's default here
    sat = _sem.saturated_partable(pt.ov, diagonal=False, ngroups=G)
    _, xs, fs = fit(sat)
    base = _sem.saturated_partable(pt.ov, diagonal=True, ngroups=G)
    _, _, fb = fit(base)
    srmr_g = []
    for g in range(G):
        Sig1, mu1, _ = sat.templates[g].implied(xs)   # EM (h1) moments play the sample's role
        Sig, mu, _ = pt.templates[g].implied(x)
        srmr_g.append(_srmr_group(Sig1, mu1, Sig, mu, True))
    srmr = float(np.dot(n_g, srmr_g) / N)
    return pt, x, vcov, dict(X2=2 * (f - fs), X2b=2 * (fb - fs), N=N, logl=-f, srmr=srmr,
                             meanstructure=True, logl_h1=-fs)


def _inv(H):
    """Inverse of an information matrix; a singular one means the model is not identified."""
    ev = np.linalg.eigvalsh(0.5 * (H + H.T))
    if ev[0] <= 1e-10 * max(ev[-1], 1e-300):
        raise DataError("модель не идентифицирована (информационная матрица вырождена): "
                        "проверьте, что у каждого фактора задан масштаб и не меньше двух-трёх "
                        "индикаторов")
    return np.linalg.inv(H)


def _check_df(nstat, npar):
    if nstat - npar < 0:
        raise DataError(f"модель не идентифицирована: {npar} свободных параметров при {nstat} "
                        "выборочных моментах (df < 0)")


def _prepare_groups(df, group, n_rows):
    if group is None:
        return np.zeros(n_rows, dtype=int), ("1",)
    if group not in df.columns:
        raise DataError(f"В таблице нет столбца группы «{group}».", column=str(group))
    gcol = df[group]
    if gcol.isna().any():
        raise DataError("в столбце группы есть пропуски: удалите такие строки или задайте группу",
                        column=str(group))
    labels = pd.unique(gcol)
    if len(labels) < 2:
        raise DataError("для многогрупповой модели нужно не меньше двух групп", column=str(group))
    codes = pd.Categorical(gcol, categories=labels).codes.astype(int)
    return codes, tuple(str(v) for v in labels)


@options(estimator=ESTIMATORS, missing=MISSING)
def cfa(df: pd.DataFrame, model: str, estimator: str = "ML", group: str | None = None,
        missing: str = "listwise", ordered=None, group_equal=()) -> CFAResult:
    """Fit a confirmatory factor model written in lavaan syntax.

    Parameters
    ----------
    df : pandas.DataFrame
        Item responses (one row per respondent); extra columns are ignored.
    model : str
        lavaan model syntax: ``F =~ x1 + x2 + x3`` (first loading fixed to 1),
        ``a ~~ b`` (covariance), ``a ~~ a`` (variance), modifiers ``1*x`` (fixed),
        ``NA*x`` (free), ``lab*x`` (label, equal labels = equal parameters), ``#`` comments.
    estimator : {"ML", "WLSMV"}
        ML (normal theory) or WLSMV for ordered items (needs ``ordered``).
    group : str, optional
        Column defining groups; groups are ordered by first appearance; a mean
        structure is added as lavaan does.
    missing : {"listwise", "fiml"}
        Listwise deletion (lavaan's default) or full-information ML (``missing = "ml"``;
        slower: one block per missing-data pattern and group; standard errors from the
        observed information, as lavaan).
    ordered : True or list of str, optional
        The items are ordered categorical (WLSMV only; all items of the model).
    group_equal : sequence of str
        Parameters held equal across groups, as lavaan's ``group.equal``: any of
        ``"loadings"``, ``"intercepts"``, ``"means"``, ``"residuals"``,
        ``"residual.covariances"``, ``"lv.variances"``, ``"lv.covariances"``.

    Returns
    -------
    CFAResult
        Fit statistics, tidy estimates with standardized (std.all) values and the
        standardized loadings.

    Raises
    ------
    ModelSyntaxError
        The model cannot be parsed or uses unsupported syntax.
    DataError
        Missing columns, non-numeric items, too few observations, a singular covariance.
    ValueError
        An option value that is not supported (the message lists the allowed ones).

    Notes
    -----
    ML minimises ``F_ML = log|Σ(θ)| + tr(SΣ(θ)⁻¹) − log|S| − p`` (plus the mean term with
    a mean structure) with ``S`` the N-divided covariance; ``χ² = N·F_ML``.
    WLSMV minimises ``Σ_r w_r (r_r − ρ_r(θ))²`` over the polychoric correlations with
    ``w = 1/diag(Γ)`` and reports the scaled-shifted statistic and ``.scaled`` indices.
    See the module docstring for every formula and the references.

    In R: ``lavaan::cfa(model, data = df)``; ``cfa(model, data, group = "g",
    group.equal = "loadings")``; ``cfa(model, data, missing = "ml")``;
    ``cfa(model, data, ordered = TRUE, estimator = "WLSMV")`` with
    ``fitMeasures(fit)``, ``parameterEstimates(fit)``, ``standardizedSolution(fit)``.

    Examples
    --------
    >>> hs = pd.read_csv("tests/reference/data/HolzingerSwineford1939.csv")  # doctest: +SKIP
    >>> fit = cfa(hs, "visual =~ x1 + x2 + x3\\n textual =~ x4 + x5 + x6\\n"
    ...               "speed =~ x7 + x8 + x9")  # doctest: +SKIP
    >>> round(fit.chisq, 3), fit.dof  # doctest: +SKIP
    (85.306, 24)
    """
    group_equal = _check_options(estimator, missing, group_equal, ordered, group)
    terms = parse_model(model)
    probe = _sem.build_partable(terms, categorical=estimator == "WLSMV")
    items = probe.ov
    if ordered not in (None, True, False):
        ordered_list = [ordered] if isinstance(ordered, str) else list(ordered)
        if sorted(ordered_list) != sorted(items):
            raise OptionError("ordered: поддерживаются только модели, где порядковые все задания "
                             f"модели ({', '.join(items)})")
    X = _numeric_items(df, items)
    groups, group_labels = _prepare_groups(df, group, len(df))
    Xv = X.to_numpy()
    if estimator == "WLSMV":
        return _cfa_wlsmv(Xv, terms, items)
    if missing == "listwise":
        ok = ~np.isnan(Xv).any(axis=1)
        Xv, groups = Xv[ok], groups[ok]
    pt, x, vcov, res = _fit_ml(Xv, groups, group_labels, terms, group_equal, missing)
    G = len(group_labels)
    p = len(pt.ov)
    ms = res["meanstructure"]
    nstat = G * (p * (p + 1) // 2 + (p if ms else 0))
    df_ = nstat - pt.npar
    dfb = G * p * (p - 1) // 2
    N, X2, X2b = res["N"], res["X2"], res["X2b"]
    est = _estimate_table(pt, x, vcov)
    logl = res["logl"]
    return CFAResult(
        chisq=float(X2), dof=int(df_), pvalue=float(stats.chi2.sf(X2, df_)) if df_ > 0 else float("nan"),
        cfi=_cfi(X2, df_, X2b, dfb), tli=_tli(X2, df_, X2b, dfb), rmsea=_rmsea(X2, df_, N, G),
        rmsea_ci=_rmsea_ci(X2, df_, N, G), rmsea_pvalue=_rmsea_pvalue(X2, df_, N, G),
        srmr=res["srmr"], aic=float(-2 * logl + 2 * pt.npar),
        bic=float(-2 * logl + pt.npar * np.log(N)), loglik=float(logl), n_obs=int(N),
        npar=int(pt.npar), chisq_baseline=float(X2b), dof_baseline=int(dfb), estimates=est,
        loadings=_loadings_frame(est, pt, group_labels), estimator="ML", missing=missing,
        group_labels=group_labels, notes=_notes(est, group_labels))


def _scaled_shifted(T, UG, df):
    """Asparouhov–Muthén (2010) scaled-shifted statistic as lavaan: a·T + b."""
    tr1, tr2 = np.trace(UG), np.sum(UG * UG.T)
    a = np.sqrt(df / tr2)
    b = df - a * tr1
    return a * T + b, 1 / a, b


def _cfa_wlsmv(X, terms, items):
    """DWLS on polychorics with robust SEs and the scaled-shifted test (lavaan's WLSMV)."""
    X = X[~np.isnan(X).any(axis=1)]
    N, p = X.shape
    if N < 2 * p:
        raise DataError(f"для WLSMV слишком мало полных наблюдений: {N} при {p} заданиях")
    Y = np.empty(X.shape, dtype=int)
    for i in range(p):
        vals, codes = np.unique(X[:, i], return_inverse=True)
        if len(vals) < 2:
            raise DataError("у порядкового задания только одна категория ответа", column=items[i])
        if not np.allclose(vals, np.round(vals)):
            raise DataError("порядковое задание должно содержать целые коды категорий",
                            column=items[i])
        Y[:, i] = codes.ravel()
    st = _sem.OrdinalStats(Y)
    pt = _sem.build_partable(terms, categorical=True)
    _check_df(len(st.rho), pt.npar)
    nth = st.nth
    w = 1.0 / np.diag(st.gamma)[nth:]
    obj = _sem.DWLSObjective(pt, st.rho, w, st.pairs)
    R = np.eye(p)
    R[tuple(np.array(st.pairs).T)] = st.rho
    R = np.maximum(R, R.T)
    x, F, _ = _sem.fisher_scoring(obj, _sem.start_values(pt, [R], None))
    # lavaan uses N - 1 for DWLS: in the test statistic, the sampling covariance and RMSEA
    n1 = N - 1
    D = obj.delta(x)
    Gam = st.gamma[nth:, nth:]
    WD = w[:, None] * D
    Binv = _inv(D.T @ WD)
    vcov = Binv @ (WD.T @ Gam @ WD) @ Binv / n1
    U = np.diag(w) - WD @ Binv @ WD.T
    npair = len(st.rho)
    df_ = npair - pt.npar
    T = n1 * F
    X2, scale, shift = _scaled_shifted(T, U @ Gam, df_)
    Tb = n1 * float(np.sum(w * st.rho ** 2))
    X2b, _, _ = _scaled_shifted(Tb, w[:, None] * Gam, npair)
    resid = st.rho - obj.sigma(x)
    srmr = float(np.sqrt(np.sum(resid ** 2) / (npair + p)))
    est = _estimate_table(pt, x, vcov)
    Sig, _, _ = pt.templates[0].implied(x)
    th_se = np.sqrt(np.diag(st.gamma)[:nth] / n1)
    extra = []
    for i, item in enumerate(items):
        for k, ix in enumerate(st.th_index[i]):
            tau = st.thresholds[ix]
            z = tau / th_se[ix]
            extra.append((item, "|", f"t{k + 1}", tau, th_se[ix], z, 2 * stats.norm.sf(abs(z)), tau))
    for i, item in enumerate(items):
        res = 1.0 - Sig[i, i]
        extra.append((item, "~~", item, res, 0.0, np.nan, np.nan, res))
    for name in list(items) + list(pt.lv):
        extra.append((name, "~1", "", 0.0, 0.0, np.nan, np.nan, 0.0))
    add = pd.DataFrame(extra, columns=["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"])
    add.insert(3, "group", 1)
    add.insert(4, "label", "")
    est = pd.concat([est, add], ignore_index=True)
    df_b = npair
    return CFAResult(
        chisq=float(X2), dof=int(df_), pvalue=float(stats.chi2.sf(X2, df_)),
        cfi=_cfi(X2, df_, X2b, df_b), tli=_tli(X2, df_, X2b, df_b), rmsea=_rmsea(X2, df_, n1, 1),
        rmsea_ci=_rmsea_ci(X2, df_, n1, 1), rmsea_pvalue=_rmsea_pvalue(X2, df_, n1, 1), srmr=srmr,
        aic=float("nan"), bic=float("nan"), loglik=float("nan"), n_obs=int(N),
        npar=int(pt.npar + nth), chisq_baseline=float(X2b), dof_baseline=int(df_b), estimates=est,
        loadings=_loadings_frame(est, pt, ("1",)), estimator="WLSMV", missing="listwise",
        chisq_unscaled=float(T), scaling_factor=float(scale), shift=float(shift),
        notes=_notes(est, ("1",)))


# --------------------------------------------------------------------------- invariance
_CHEN_SRMR = {"metric": 0.030, "scalar": 0.010, "strict": 0.010}


def _verdict(level, d_cfi, d_rmsea, d_srmr):
    if level is None:
        return "точка отсчёта для сравнения (ограничения проверяются на следующих уровнях)"
    lim = _CHEN_SRMR[level]
    checks = [(d_cfi >= -0.01, f"ΔCFI = {fmt_num(d_cfi, 3)} {'≥' if d_cfi >= -0.01 else '<'} −0,010"),
              (d_rmsea <= 0.015, f"ΔRMSEA = {fmt_num(d_rmsea, 3)} {'≤' if d_rmsea <= 0.015 else '>'} 0,015"),
              (d_srmr <= lim, f"ΔSRMR = {fmt_num(d_srmr, 3)} {'≤' if d_srmr <= lim else '>'} "
                              f"{fmt_num(lim, 3)}")]
    ok = all(c for c, _ in checks)
    head = "инвариантность подтверждается" if ok else "инвариантность не подтверждается"
    return (f"{head} (Cheung–Rensvold: {checks[0][1]}; Chen: {checks[1][1]}, {checks[2][1]})")


@options(estimator=("ML",), levels=LEVELS)
def invariance(df: pd.DataFrame, model: str, group: str, levels=LEVELS,
               estimator: str = "ML") -> pd.DataFrame:
    """Measurement invariance across groups: configural, metric, scalar, strict.

    Parameters
    ----------
    df : pandas.DataFrame
        Item responses and the group column.
    model : str
        lavaan model syntax (see :func:`cfa`).
    group : str
        The group column; groups in order of first appearance.
    levels : sequence of str
        An ordered subset of ``("configural", "metric", "scalar", "strict")``; each level
        adds equality constraints: metric — ``group.equal = "loadings"``, scalar —
        ``c("loadings", "intercepts")``, strict — ``+ "residuals"``.
    estimator : {"ML"}
        Only ML is supported for invariance (χ² differences as ``lavTestLRT``).

    Returns
    -------
    pandas.DataFrame
        One row per level: level, chisq, df, pvalue, cfi, tli, rmsea, srmr, aic, bic,
        delta_cfi, delta_rmsea, delta_srmr, chisq_diff, df_diff, p_diff (each against the
        previous level) and verdict (Russian; the level is supported when
        ΔCFI ≥ −0,01 (Cheung & Rensvold 2002), ΔRMSEA ≤ 0,015 and ΔSRMR ≤ 0,030 for the
        metric and ≤ 0,010 for the scalar and strict levels (Chen 2007)).

    Notes
    -----
    ``chisq_diff = χ²_k − χ²_{k−1}``, ``df_diff = df_k − df_{k−1}``,
    ``p_diff = P(χ²_{df_diff} > chisq_diff)``: the plain likelihood-ratio test that
    ``lavTestLRT`` reports for ML.

    In R: ``fit1 <- cfa(model, data, group = "g")``; ``fit2 <- cfa(..., group.equal =
    "loadings")``; ``fit3 <- cfa(..., group.equal = c("loadings", "intercepts"))``;
    ``fit4 <- cfa(..., group.equal = c("loadings", "intercepts", "residuals"))``;
    ``lavTestLRT(fit1, fit2, fit3, fit4)``.
    """
    if isinstance(levels, str):
        levels = (levels,)
    levels = tuple(levels)
    check_choices("levels", levels, LEVELS)
    if not levels or list(levels) != sorted(levels, key=LEVELS.index) or \
            len(set(levels)) != len(levels):
        raise OptionError(f"параметр «levels»: уровни идут по порядку без повторов "
                          f"({allowed_text(LEVELS)}).", option="levels", value=levels,
                          allowed=LEVELS)
    rows = []
    prev = None
    for lev in levels:
        fit = cfa(df, model, estimator="ML", group=group, group_equal=_LEVEL_EQUAL[lev])
        row = {"level": lev, "chisq": fit.chisq, "df": fit.dof, "pvalue": fit.pvalue,
               "cfi": fit.cfi, "tli": fit.tli, "rmsea": fit.rmsea, "srmr": fit.srmr,
               "aic": fit.aic, "bic": fit.bic}
        if prev is None:
            row.update(delta_cfi=np.nan, delta_rmsea=np.nan, delta_srmr=np.nan,
                       chisq_diff=np.nan, df_diff=np.nan, p_diff=np.nan)
        else:
            dchi = fit.chisq - prev.chisq
            ddf = fit.dof - prev.dof
            row.update(delta_cfi=fit.cfi - prev.cfi, delta_rmsea=fit.rmsea - prev.rmsea,
                       delta_srmr=fit.srmr - prev.srmr, chisq_diff=dchi, df_diff=ddf,
                       p_diff=float(stats.chi2.sf(dchi, ddf)) if ddf > 0 else np.nan)
        row["verdict"] = _verdict(lev if prev is not None else None, row["delta_cfi"],
                                  row["delta_rmsea"], row["delta_srmr"])
        rows.append(row)
        prev = fit
    return pd.DataFrame(rows)
