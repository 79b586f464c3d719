"""Estimation engine for confirmatory factor models (internal).

The model is lavaan's LISREL "all-y" measurement model, per group ``g``:

    Sigma_g = Lambda_g Psi_g Lambda_g' + Theta_g,      mu_g = nu_g + Lambda_g alpha_g.

A parameter table (one row per model entry and group, like lavaan's ``partable``) maps
every matrix entry to a fixed value or to a free parameter; equal labels and
``group.equal`` map several entries to the same free parameter (lavaan's simple
equality constraints), so ``npar`` and the degrees of freedom count each of them once.

Estimation is Fisher scoring with step halving on an analytic gradient and the
expected information (ML, FIML) or Gauss-Newton on the diagonally weighted least
squares function (DWLS). See :mod:`proforient_diag.psychometrics.cfa` for the formulas
and references.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from proforient_diag.errors import ConvergenceError, ModelSyntaxError
from proforient_diag.psychometrics._lavsyntax import ParsedTerm

LAMBDA, THETA, PSI, NU, ALPHA = 0, 1, 2, 3, 4

GROUP_EQUAL_OPTIONS = ("loadings", "intercepts", "means", "residuals", "residual.covariances",
                       "lv.variances", "lv.covariances")


@dataclass
class ParTable:
    """Parameter table: one row per model entry and group (internal, mutable while built)."""

    ov: list[str]
    lv: list[str]
    ngroups: int
    meanstructure: bool
    lhs: list[str] = field(default_factory=list)
    op: list[str] = field(default_factory=list)
    rhs: list[str] = field(default_factory=list)
    group: list[int] = field(default_factory=list)
    mat: list[int] = field(default_factory=list)
    row: list[int] = field(default_factory=list)
    col: list[int] = field(default_factory=list)
    fixed: list[float] = field(default_factory=list)   # NaN when free
    key: list[object] = field(default_factory=list)     # equality key (None when fixed)
    label: list[str] = field(default_factory=list)

    def add(self, lhs, op, rhs, g, mat, r, c, fixed, key, label=""):
        self.lhs.append(lhs); self.op.append(op); self.rhs.append(rhs); self.group.append(g)
        self.mat.append(mat); self.row.append(r); self.col.append(c)
        self.fixed.append(np.nan if fixed is None else float(fixed))
        self.key.append(None if fixed is not None else key); self.label.append(label or "")

    def finalize(self) -> None:
        ids: dict[object, int] = {}
        free = []
        for k in self.key:
            if k is None:
                free.append(-1)
            else:
                free.append(ids.setdefault(k, len(ids)))
        self.free = np.asarray(free, dtype=int)
        self.npar = len(ids)
        for name in ("group", "mat", "row", "col"):
            setattr(self, name + "_a", np.asarray(getattr(self, name), dtype=int))
        self.fixed_a = np.asarray(self.fixed, dtype=float)
        p, m = len(self.ov), len(self.lv)
        self.templates = []
        for g in range(self.ngroups):
            sel = self.group_a == g
            self.templates.append(_GroupIndex(self, sel, p, m))


class _GroupIndex:
    """Index arrays of one group's entries, for filling matrices and the Jacobian."""

    def __init__(self, pt: ParTable, sel: np.ndarray, p: int, m: int) -> None:
        self.p, self.m = p, m
        self.parts = {}
        for mat in (LAMBDA, THETA, PSI, NU, ALPHA):
            s = sel & (pt.mat_a == mat)
            self.parts[mat] = (pt.row_a[s], pt.col_a[s], pt.free[s], pt.fixed_a[s])

    def matrices(self, x: np.ndarray):
        p, m = self.p, self.m
        out = []
        shapes = {LAMBDA: (p, m), THETA: (p, p), PSI: (m, m), NU: (p,), ALPHA: (m,)}
        for mat in (LAMBDA, THETA, PSI, NU, ALPHA):
            r, c, f, v = self.parts[mat]
            val = np.where(f >= 0, x[np.maximum(f, 0)] if len(x) else 0.0, v)
            M = np.zeros(shapes[mat])
            if mat in (NU, ALPHA):
                M[r] = val
            else:
                M[r, c] = val
                if mat in (THETA, PSI):
                    M[c, r] = val
            out.append(M)
        return out  # Lambda, Theta, Psi, nu, alpha

    def implied(self, x):
        L, T, P, nu, al = self.matrices(x)
        return L @ P @ L.T + T, nu + L @ al, (L, T, P, nu, al)

    def jacobian(self, x, npar: int, mats=None):
        """d vec(Sigma)/d x as (npar, p, p) and d mu / d x as (npar, p)."""
        p = self.p
        L, T, P, nu, al = mats if mats is not None else self.matrices(x)
        dS = np.zeros((npar, p, p))
        dm = np.zeros((npar, p))
        r, c, f, _ = self.parts[LAMBDA]
        k = f >= 0
        if k.any():
            r, c, f = r[k], c[k], f[k]
            LP = L @ P
            E = np.zeros((len(f), p, p))
            idx = np.arange(len(f))
            E[idx, r, :] += LP[:, c].T
            E[idx, :, r] += LP[:, c].T
            np.add.at(dS, f, E)
            Em = np.zeros((len(f), p))
            Em[idx, r] = al[c]
            np.add.at(dm, f, Em)
        r, c, f, _ = self.parts[PSI]
        k = f >= 0
        if k.any():
            r, c, f = r[k], c[k], f[k]
            A, B = L[:, r].T, L[:, c].T
            E = np.einsum("ep,eq->epq", A, B)
            E = E + np.where((r != c)[:, None, None], np.transpose(E, (0, 2, 1)), 0.0)
            np.add.at(dS, f, E)
        r, c, f, _ = self.parts[THETA]
        k = f >= 0
        if k.any():
            r, c, f = r[k], c[k], f[k]
            np.add.at(dS, (f, r, c), 1.0)
            off = r != c
            np.add.at(dS, (f[off], c[off], r[off]), 1.0)
        r, _, f, _ = self.parts[NU]
        k = f >= 0
        if k.any():
            np.add.at(dm, (f[k], r[k]), 1.0)
        r, _, f, _ = self.parts[ALPHA]
        k = f >= 0
        if k.any():
            np.add.at(dm, f[k], L[:, r[k]].T)
        return dS, dm


def build_partable(terms: list[ParsedTerm], ngroups: int = 1, meanstructure: bool = False,
                   group_equal=(), categorical: bool = False, extra_ov: tuple = ()) -> ParTable:
    """Expand the user's terms into a full parameter table with lavaan's ``cfa()`` defaults.

    Defaults (as ``lavaan::cfa``): the first indicator of each factor has its loading
    fixed to 1 unless written with a modifier ``NA*``/a value; residual variances of the
    indicators, variances of the factors and covariances among factors are free unless
    written by the user; with a mean structure the indicator intercepts are free and the
    factor means fixed to 0 (free in groups 2..G when intercepts are held equal).
    """
    lv: list[str] = []
    for t in terms:
        if t.op == "=~" and t.lhs not in lv:
            lv.append(t.lhs)
    if not lv:
        raise ModelSyntaxError("в модели нет ни одного фактора («F =~ x1 + x2 + ...»)")
    ov: list[str] = []
    for t in terms:
        if t.op == "=~":
            if t.rhs in lv:
                raise ModelSyntaxError(
                    f"строка модели {t.line}: факторы второго порядка («{t.lhs} =~ {t.rhs}») не поддерживаются")
            if t.rhs not in ov:
                ov.append(t.rhs)
    for t in terms:
        if t.op == "~~":
            for name in (t.lhs, t.rhs):
                if name not in lv and name not in ov:
                    raise ModelSyntaxError(
                        f"строка модели {t.line}: переменная «{name}» в «~~» не входит ни в один фактор")
            if (t.lhs in lv) != (t.rhs in lv):
                raise ModelSyntaxError(
                    f"строка модели {t.line}: ковариация фактора и наблюдаемой переменной не поддерживается")
    ge = set(group_equal)
    pt = ParTable(ov=ov, lv=lv, ngroups=ngroups, meanstructure=meanstructure)
    oi = {v: i for i, v in enumerate(ov)}
    li = {v: i for i, v in enumerate(lv)}
    first = {}
    for t in terms:
        if t.op == "=~":
            first.setdefault(t.lhs, t.rhs)

    def key(kind, lhs, op, rhs, g, label):
        if label:
            return ("label", label)
        if kind in ge:
            return (op, lhs, rhs)
        return (op, lhs, rhs, g)

    for g in range(ngroups):
        user_cov = set()
        for t in terms:
            if t.op == "=~":
                fixed = t.fixed
                if fixed is None and not t.free_marker and first[t.lhs] == t.rhs:
                    fixed = 1.0
                pt.add(t.lhs, "=~", t.rhs, g, LAMBDA, oi[t.rhs], li[t.lhs], fixed,
                       key("loadings", t.lhs, "=~", t.rhs, g, t.label), t.label)
            else:
                is_lv = t.lhs in lv
                if categorical and not is_lv and t.lhs == t.rhs:
                    raise ModelSyntaxError(
                        f"строка модели {t.line}: для порядковых переменных остаточные дисперсии "
                        "не задаются (параметризация delta)")
                idx = li if is_lv else oi
                a, b = idx[t.lhs], idx[t.rhs]
                kind = ("lv.variances" if a == b else "lv.covariances") if is_lv else \
                    ("residuals" if a == b else "residual.covariances")
                user_cov.add((t.lhs, t.rhs)); user_cov.add((t.rhs, t.lhs))
                pt.add(t.lhs, "~~", t.rhs, g, PSI if is_lv else THETA, min(a, b), max(a, b),
                       t.fixed, key(kind, t.lhs, "~~", t.rhs, g, t.label), t.label)
        if not categorical:
            for v in ov:
                if (v, v) not in user_cov:
                    pt.add(v, "~~", v, g, THETA, oi[v], oi[v], None, key("residuals", v, "~~", v, g, ""))
        for v in lv:
            if (v, v) not in user_cov:
                pt.add(v, "~~", v, g, PSI, li[v], li[v], None, key("lv.variances", v, "~~", v, g, ""))
        for a in range(len(lv)):
            for b in range(a + 1, len(lv)):
                if (lv[a], lv[b]) not in user_cov:
                    pt.add(lv[a], "~~", lv[b], g, PSI, a, b, None,
                           key("lv.covariances", lv[a], "~~", lv[b], g, ""))
        if meanstructure:
            for v in ov:
                pt.add(v, "~1", "", g, NU, oi[v], 0, None, key("intercepts", v, "~1", "", g, ""))
            for v in lv:
                free_mean = g > 0 and "intercepts" in ge
                pt.add(v, "~1", "", g, ALPHA, li[v], 0, None if free_mean else 0.0,
                       key("means", v, "~1", "", g, ""))
    pt.finalize()
    pt.categorical = categorical
    return pt


def saturated_partable(ov: list[str], diagonal: bool, ngroups: int = 1) -> ParTable:
    """The unrestricted (``diagonal=False``) or independence (baseline) model with means."""
    pt = ParTable(ov=list(ov), lv=[], ngroups=ngroups, meanstructure=True)
    pt.categorical = False
    p = len(ov)
    for g in range(ngroups):
        for a in range(p):
            for b in range(a, p):
                if diagonal and a != b:
                    continue
                pt.add(ov[a], "~~", ov[b], g, THETA, a, b, None, ("~~", a, b, g))
        for a in range(p):
            pt.add(ov[a], "~1", "", g, NU, a, 0, None, ("~1", a, g))
    pt.finalize()
    return pt


def start_values(pt: ParTable, S_list, mean_list) -> np.ndarray:
    """Start values: loadings from each factor's first principal axis (scaled to the marker),
    half of the observed variances for residuals, sample means for intercepts."""
    x = np.full(pt.npar, np.nan)
    p, m = len(pt.ov), len(pt.lv)
    for g in range(pt.ngroups):
        S = S_list[g]
        sel = pt.group_a == g
        Lstart = np.zeros((p, m))
        Pstart = np.ones(m)
        for j in range(m):
            rows = sel & (pt.mat_a == LAMBDA) & (pt.col_a == j)
            items = pt.row_a[rows]
            if len(items) == 0:
                continue
            sub = S[np.ix_(items, items)]
            w, V = np.linalg.eigh(sub)
            lvec = V[:, -1] * np.sqrt(max(w[-1], 1e-8))
            if lvec.sum() < 0:
                lvec = -lvec
            fx = pt.fixed_a[rows]
            marker = np.flatnonzero(np.isfinite(fx) & (fx != 0))
            psi_rows = sel & (pt.mat_a == PSI) & (pt.row_a == j) & (pt.col_a == j)
            psi_fixed = pt.fixed_a[psi_rows]
            if len(marker) and abs(lvec[marker[0]]) > 1e-3:
                scale = lvec[marker[0]] / fx[marker[0]]
            elif len(psi_fixed) and np.isfinite(psi_fixed[0]) and psi_fixed[0] > 0:
                scale = np.sqrt(psi_fixed[0])
            else:
                scale = 1.0
            Lstart[items, j] = lvec / scale
            Pstart[j] = scale ** 2
        for i in np.flatnonzero(sel & (pt.free >= 0)):
            k = pt.free[i]
            if np.isfinite(x[k]):
                continue
            mat, r, c = pt.mat_a[i], pt.row_a[i], pt.col_a[i]
            if mat == LAMBDA:
                x[k] = Lstart[r, c]
            elif mat == PSI:
                x[k] = Pstart[r] if r == c else 0.0
            elif mat == THETA:
                x[k] = 0.5 * S[r, r] if r == c else 0.0
            elif mat == NU:
                x[k] = mean_list[g][r] if mean_list is not None else 0.0
            else:
                x[k] = 0.0
    x[~np.isfinite(x)] = 0.0
    return x


def _chol_inv_logdet(S):
    try:
        C = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return None, None
    Ci = np.linalg.inv(C)
    return Ci.T @ Ci, 2.0 * np.log(np.diag(C)).sum()


class MLObjective:
    """Minus the normal log-likelihood, summed over groups (complete data, sufficient stats)
    or over missing-data patterns (FIML); gradient and expected information."""

    def __init__(self, pt: ParTable, blocks):
        # blocks: list of (group, obs_index or None, n, S (n-divided), mean)
        self.pt, self.blocks = pt, blocks

    def value(self, x):
        total = 0.0
        cache = {}
        for g, obs, n, S, ybar in self.blocks:
            if g not in cache:
                cache[g] = self.pt.templates[g].implied(x)
            Sig, mu, _ = cache[g]
            if obs is not None:
                Sig, mu = Sig[np.ix_(obs, obs)], mu[obs]
            Si, ld = _chol_inv_logdet(Sig)
            if Si is None:
                return np.inf
            d = ybar - mu if ybar is not None else 0.0
            q = 0.0 if ybar is None else d @ Si @ d
            total += 0.5 * n * (len(Sig) * np.log(2 * np.pi) + ld + np.sum(Si * S) + q)
        return total

    def grad_info(self, x, info=True):
        pt = self.pt
        K = pt.npar
        g_out = np.zeros(K)
        I_out = np.zeros((K, K))
        cache = {}
        for g, obs, n, S, ybar in self.blocks:
            if g not in cache:
                tpl = pt.templates[g]
                Sig, mu, mats = tpl.implied(x)
                dS, dm = tpl.jacobian(x, K, mats)
                cache[g] = (Sig, mu, dS, dm)
            Sig, mu, dS, dm = cache[g]
            if obs is not None:
                Sig, mu = Sig[np.ix_(obs, obs)], mu[obs]
                dSo, dmo = dS[:, obs][:, :, obs], dm[:, obs]
            else:
                dSo, dmo = dS, dm
            Si, _ = _chol_inv_logdet(Sig)
            if ybar is not None:
                d = ybar - mu
                Sd = S + np.outer(d, d)
                Sid = Si @ d
            else:
                Sd = S
                Sid = np.zeros(len(Sig))
            W = 0.5 * n * (Si - Si @ Sd @ Si)
            K_, q = dSo.shape[0], dSo.shape[1]
            g_out += dSo.reshape(K_, q * q) @ W.ravel() - n * dmo @ Sid
            if info:
                # tr(Si dS_k Si dS_l) = vec(Si dS_k Si) . vec(dS_l) (all symmetric): BLAS
                B = (Si @ dSo @ Si).reshape(K_, q * q)
                I_out += 0.5 * n * (B @ dSo.reshape(K_, q * q).T) + n * (dmo @ Si @ dmo.T)
        return g_out, I_out


def fisher_scoring(obj, x0, max_iter: int = 500, tol: float = 1e-9):
    """Minimise ``obj.value`` by Fisher scoring with step halving."""
    x = x0.copy()
    f = obj.value(x)
    if not np.isfinite(f):
        raise ConvergenceError("начальные значения дают неположительно определённую матрицу; "
                               "проверьте модель и данные")
    for it in range(max_iter):
        g, H = obj.grad_info(x)
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, g, rcond=None)[0]
        t = 1.0
        while True:
            xn = x - t * step
            fn = obj.value(xn)
            if np.isfinite(fn) and fn <= f + 1e-12 * abs(f):
                break
            t *= 0.5
            if t < 1e-10:
                xn, fn = x, f
                break
        x_old, f_old = x, f
        x, f = xn, fn
        if np.max(np.abs(x - x_old)) < tol * (1 + np.max(np.abs(x))) or \
                (abs(f_old - f) < 1e-14 * (1 + abs(f)) and np.max(np.abs(g)) < 1e-6 * (1 + abs(f))):
            return x, f, it + 1
    raise ConvergenceError(f"оценивание не сошлось за {max_iter} итераций; проверьте идентификацию модели")


def numeric_hessian(obj, x, h: float = 1e-5):
    """Observed information: central differences of the analytic gradient."""
    K = len(x)
    H = np.zeros((K, K))
    for k in range(K):
        e = np.zeros(K)
        e[k] = h * max(1.0, abs(x[k]))
        gp, _ = obj.grad_info(x + e, info=False)
        gm, _ = obj.grad_info(x - e, info=False)
        H[:, k] = (gp - gm) / (2 * e[k])
    return 0.5 * (H + H.T)


# --------------------------------------------------------------------------- ordinal (WLSMV)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(40)
_SQ2PI = np.sqrt(2 * np.pi)


def _phi(x):
    return np.exp(-0.5 * x * x) / _SQ2PI


def _Phi(x):
    from scipy.special import ndtr
    return ndtr(x)


def bvn_cdf(h, k, r):
    """Bivariate standard normal cdf Φ2(h, k; r), vectorised; h, k may be ±inf.

    Φ2 = Φ(h)Φ(k) + (1/2π)∫_0^{asin r} exp(−(h² + k² − 2hk·sinθ)/(2cos²θ)) dθ,
    by 40-point Gauss–Legendre (Genz 2004, eq. 3 in the arcsine form).
    """
    h, k = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float))
    out = np.zeros(h.shape)
    fin = np.isfinite(h) & np.isfinite(k)
    hp, kp = h == np.inf, k == np.inf
    out[hp & np.isfinite(k)] = _Phi(k[hp & np.isfinite(k)])
    out[kp & np.isfinite(h)] = _Phi(h[kp & np.isfinite(h)])
    out[hp & kp] = 1.0
    if fin.any():
        hf, kf = h[fin], k[fin]
        a = np.arcsin(r)
        th = 0.5 * a * (_GL_X + 1.0)
        s, c2 = np.sin(th), np.cos(th) ** 2
        e = np.exp(-(hf[:, None] ** 2 + kf[:, None] ** 2 - 2 * hf[:, None] * kf[:, None] * s)
                   / (2 * c2))
        out[fin] = _Phi(hf) * _Phi(kf) + 0.5 * a * (e @ _GL_W) / (2 * np.pi)
    return out


def bvn_pdf(h, k, r):
    """Bivariate standard normal density φ2(h, k; r) (0 at infinite arguments)."""
    h, k = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float))
    out = np.zeros(h.shape)
    fin = np.isfinite(h) & np.isfinite(k)
    q = 1 - r * r
    hf, kf = h[fin], k[fin]
    out[fin] = np.exp(-(hf * hf - 2 * r * hf * kf + kf * kf) / (2 * q)) / (2 * np.pi * np.sqrt(q))
    return out


class OrdinalStats:
    """Two-step polychoric statistics and their asymptotic covariance (lavaan's muthen1984).

    Parameters
    ----------
    Y : ndarray (N, p) of int
        Categories coded 0..K_i-1 (every category observed).
    """

    def __init__(self, Y: np.ndarray):
        N, p = Y.shape
        self.N, self.p = N, p
        self.K = Y.max(axis=0) + 1
        self.tau = []
        for i in range(p):
            cum = np.cumsum(np.bincount(Y[:, i], minlength=self.K[i]))[:-1] / N
            self.tau.append(stats_norm_ppf(cum))
        self.text = [np.concatenate([[-np.inf], t, [np.inf]]) for t in self.tau]
        th_start = np.concatenate([[0], np.cumsum(self.K - 1)])
        self.th_index = [np.arange(th_start[i], th_start[i + 1]) for i in range(p)]
        nth = int(th_start[-1])
        # pairs in lavaan's vech(diagonal = FALSE) order: (2,1), (3,1), ..., (p,1), (3,2), ...
        self.pairs = [(i, j) for j in range(p) for i in range(j + 1, p)]
        npair = len(self.pairs)
        self.rho = np.zeros(npair)
        # univariate threshold scores per category: (K_i, K_i - 1)
        uni = []
        for i in range(p):
            t = self.text[i]
            P = _Phi(t[1:]) - _Phi(t[:-1])
            S = np.zeros((self.K[i], self.K[i] - 1))
            for k in range(self.K[i] - 1):
                S[k, k] = _phi(t[k + 1]) / P[k]        # tau_k is the upper bound of cat k
                S[k + 1, k] = -_phi(t[k + 1]) / P[k + 1]
            uni.append(S)
        pair_rho_sc = []
        A21 = np.zeros((npair, nth))
        for r_idx, (i, j) in enumerate(self.pairs):
            tab = np.bincount(Y[:, i] * self.K[j] + Y[:, j],
                              minlength=self.K[i] * self.K[j]).reshape(self.K[i], self.K[j])
            rho = self._fit_pair(tab, self.text[i], self.text[j])
            self.rho[r_idx] = rho
            P, dr, dti, dtj = self._cell_derivs(self.text[i], self.text[j], rho)
            srho = dr / P
            sti = dti / P[:, :, None]
            stj = dtj / P[:, :, None]
            pair_rho_sc.append(srho)
            # A21 = sum over cases of s_rho * s_tau (pair log-likelihood), from the table
            A21[r_idx, self.th_index[i]] = np.einsum("ab,ab,abk->k", tab, srho, sti)
            A21[r_idx, self.th_index[j]] = np.einsum("ab,ab,abk->k", tab, srho, stj)
        # INNER = SC'SC with SC = [threshold scores, rho scores] per case, in row chunks
        INNER = np.zeros((nth + npair, nth + npair))
        for start in range(0, N, 20000):
            Yc = Y[start:start + 20000]
            SC = np.empty((len(Yc), nth + npair))
            for i in range(p):
                SC[:, self.th_index[i]] = uni[i][Yc[:, i]]
            for r_idx, (i, j) in enumerate(self.pairs):
                SC[:, nth + r_idx] = pair_rho_sc[r_idx][Yc[:, i], Yc[:, j]]
            INNER += SC.T @ SC
        A11 = np.zeros((nth, nth))
        for i in range(p):
            ix = self.th_index[i]
            A11[np.ix_(ix, ix)] = INNER[np.ix_(ix, ix)]
        A22d = np.diag(INNER)[nth:]
        A11i = np.linalg.inv(A11)
        Binv = np.zeros_like(INNER)
        Binv[:nth, :nth] = A11i
        Binv[nth:, :nth] = -(A21 / A22d[:, None]) @ A11i
        Binv[nth:, nth:] = np.diag(1 / A22d)
        self.nth, self.npair = nth, npair
        self.acov = Binv @ INNER @ Binv.T        # asymptotic covariance of (tau, rho)
        self.gamma = N * self.acov               # lavaan's NACOV
        self.thresholds = np.concatenate(self.tau)

    @staticmethod
    def _cell_probs(ti, tj, rho):
        F = bvn_cdf(ti[:, None], tj[None, :], rho)
        return F[1:, 1:] - F[:-1, 1:] - F[1:, :-1] + F[:-1, :-1]

    def _fit_pair(self, tab, ti, tj):
        """ML polychoric with thresholds fixed: Fisher scoring, Brent as a fallback."""
        n = tab.sum()
        r = 0.0
        for _ in range(100):
            F = bvn_cdf(ti[:, None], tj[None, :], r)
            P = F[1:, 1:] - F[:-1, 1:] - F[1:, :-1] + F[:-1, :-1]
            f = bvn_pdf(ti[:, None], tj[None, :], r)
            dr = f[1:, 1:] - f[:-1, 1:] - f[1:, :-1] + f[:-1, :-1]
            if np.any(P <= 0):
                break
            step = np.sum(tab * dr / P) / (n * np.sum(dr * dr / P))
            r_new = float(np.clip(r + step, -0.999, 0.999))
            if abs(r_new - r) < 1e-11:
                return r_new
            r = r_new
        from scipy.optimize import minimize_scalar

        def nll(rr):
            P = np.clip(self._cell_probs(ti, tj, rr), 1e-300, None)
            return -np.sum(tab * np.log(P))
        res = minimize_scalar(nll, bounds=(-0.999, 0.999), method="bounded",
                              options={"xatol": 1e-10})
        return float(res.x)

    @staticmethod
    def _cell_derivs(ti, tj, rho):
        F = bvn_cdf(ti[:, None], tj[None, :], rho)
        P = F[1:, 1:] - F[:-1, 1:] - F[1:, :-1] + F[:-1, :-1]
        f = bvn_pdf(ti[:, None], tj[None, :], rho)
        dr = f[1:, 1:] - f[:-1, 1:] - f[1:, :-1] + f[:-1, :-1]
        s = np.sqrt(1 - rho * rho)
        Ki, Kj = len(ti) - 1, len(tj) - 1
        # d Phi2(h, k)/dh = phi(h) Phi((k - rho h)/s), at h = ti[1..Ki-1] over all k in tj
        hi = ti[1:-1]
        gi = _phi(hi)[:, None] * _Phi((tj[None, :] - rho * hi[:, None]) / s)   # (Ki-1, Kj+1)
        gi = gi[:, 1:] - gi[:, :-1]                                               # (Ki-1, Kj)
        dti = np.zeros((Ki, Kj, Ki - 1))
        for k in range(Ki - 1):
            dti[k, :, k] += gi[k]         # tau_k is the upper bound of row category k
            dti[k + 1, :, k] -= gi[k]     # ... and the lower bound of category k + 1
        hj = tj[1:-1]
        gj = _phi(hj)[:, None] * _Phi((ti[None, :] - rho * hj[:, None]) / s)
        gj = gj[:, 1:] - gj[:, :-1]                                               # (Kj-1, Ki)
        dtj = np.zeros((Ki, Kj, Kj - 1))
        for k in range(Kj - 1):
            dtj[:, k, k] += gj[k]
            dtj[:, k + 1, k] -= gj[k]
        return P, dr, dti, dtj


def stats_norm_ppf(p):
    from scipy.special import ndtri
    return ndtri(p)


class DWLSObjective:
    """Σ_r w_r (r_r − ρ_r(θ))² over the off-diagonal polychorics (delta parameterisation)."""

    def __init__(self, pt: ParTable, r: np.ndarray, w: np.ndarray, pairs):
        self.pt, self.r, self.w = pt, r, w
        self.ii = np.array([a for a, b in pairs]); self.jj = np.array([b for a, b in pairs])

    def sigma(self, x):
        Sig, _, _ = self.pt.templates[0].implied(x)
        return Sig[self.ii, self.jj]

    def delta(self, x):
        dS, _ = self.pt.templates[0].jacobian(x, self.pt.npar)
        return dS[:, self.ii, self.jj].T        # (ncor, npar)

    def value(self, x):
        e = self.r - self.sigma(x)
        return float(np.sum(self.w * e * e))

    def grad_info(self, x, info=True):
        D = self.delta(x)
        e = self.r - self.sigma(x)
        return -2 * D.T @ (self.w * e), 2 * D.T @ (self.w[:, None] * D)
