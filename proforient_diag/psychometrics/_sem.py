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

from proforient_diag.errors import DataError, ModelSyntaxError
from proforient_diag.psychometrics._lavsyntax import ParsedTerm

LAMBDA, THETA, PSI, NU, ALPHA = 0, 1, 2, 3, 4

GROUP_EQUAL_OPTIONS = ("loadings", "intercepts", "means", "residuals", "residual.covariances",
                       "lv.variances", "lv.covariances")


class ConvergenceError(DataError):
    """The optimiser did not converge."""


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
        p, m = self.p, self.m
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
    return pt


def saturated_partable(ov: list[str], diagonal: bool) -> ParTable:
    """The unrestricted (``diagonal=False``) or independence (baseline) model with means."""
    pt = ParTable(ov=list(ov), lv=[], ngroups=1, meanstructure=True)
    p = len(ov)
    for a in range(p):
        for b in range(a, p):
            if diagonal and a != b:
                continue
            pt.add(ov[a], "~~", ov[b], 0, THETA, a, b, None, ("~~", a, b))
    for a in range(p):
        pt.add(ov[a], "~1", "", 0, NU, a, 0, None, ("~1", a))
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
            g_out += np.einsum("kij,ij->k", dSo, W) - n * dmo @ Sid
            if info:
                B = np.einsum("ij,kjl->kil", Si, dSo)
                I_out += 0.5 * n * np.einsum("kij,lji->kl", B, B) + n * (dmo @ Si @ dmo.T)
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
