"""McDonald's omega (hierarchical and total) from a Schmid–Leiman solution, as ``psych::omega``.

The path is psych's ``omegah``/``schmid`` (psych 2.2.9), step by step: pairwise Pearson
correlations; ``fa(R, nfactors, fm = "minres", rotate = "varimax")``; ``GPArotation::oblimin``
of those varimax loadings; a one-factor minres ``fa`` of the factor correlations gives the
general-factor loadings of the group factors (with two factors both are set to
:math:`\\sqrt{|\\phi_{12}|}`, psych's ``option = "equal"``); the Schmid–Leiman transformation;
items whose general loading is negative are reversed (``flip = TRUE``) unless ``keys`` are
given. Written here because no Python library performs the Schmid–Leiman omega
(``pingouin`` and ``factor_analyzer`` have none); the extraction and rotations come from
:mod:`proforient_diag.psychometrics.factor`.

References
----------
1. McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
2. Schmid, J., & Leiman, J. M. (1957). The development of hierarchical factor solutions.
   *Psychometrika*, 22, 53–61.
3. Zinbarg, R. E., Revelle, W., Yovel, I., & Li, W. (2005). Cronbach's α, Revelle's β, and
   McDonald's ω_H. *Psychometrika*, 70, 123–133.
4. Revelle, W., & Zinbarg, R. E. (2009). Coefficients alpha, beta, omega, and the glb.
   *Psychometrika*, 74, 145–154.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from proforient_diag.errors import OmegaError
from proforient_diag.psychometrics.factor import prepare, smc, efa
from proforient_diag.psychometrics.rotation import gpf_oblique
from proforient_diag.fmt import fmt_num


@dataclass(frozen=True)
class OmegaResult:
    """Omega coefficients and the Schmid–Leiman solution.

    Attributes
    ----------
    omega_h : float
        Hierarchical omega :math:`(\\sum g_i)^2 / \\mathbf{1}'R\\mathbf{1}`.
    omega_total : float
        :math:`1 - \\sum u_i^2 / \\mathbf{1}'R\\mathbf{1}`.
    alpha : float
        Standardised alpha of the (keyed) correlation matrix.
    omega_lim : float
        :math:`\\omega_h / \\omega_t` (omega_h of a test of infinite length).
    g6 : float
        Guttman's λ6 from squared multiple correlations.
    ecv : float
        Explained common variance of the general factor.
    loadings : pandas.DataFrame
        The Schmid–Leiman table indexed by item: ``g``, ``F1*``…, ``h2``, ``u2``, ``p2``
        (rows of reversed items are multiplied by −1, as psych prints them).
    group : pandas.DataFrame
        psych's ``omega.group``: rows ``g``, ``F1*``…, columns ``total``, ``general``,
        ``group``.
    phi : pandas.DataFrame or None
        Correlations of the oblimin group factors (None for one factor).
    g_loadings : pandas.Series
        Loadings of the group factors on the general factor (psych ``gloading``).
    keys : pandas.Series
        +1 / −1 for each item (−1 = reversed before computing the omegas).
    """

    omega_h: float
    omega_total: float
    alpha: float
    omega_lim: float
    g6: float
    ecv: float
    loadings: pd.DataFrame
    group: pd.DataFrame
    phi: pd.DataFrame | None
    g_loadings: pd.Series
    keys: pd.Series
    n_factors: int
    n_obs: int | None

    def to_frame(self) -> pd.DataFrame:
        """Tidy Schmid–Leiman loadings: ``item``, ``factor`` (``g``, ``F1*``, …), ``loading``."""
        cols = ["g"] + [f"F{i + 1}*" for i in range(self.n_factors)]
        return (self.loadings[cols].rename_axis("item").reset_index()
                .melt(id_vars="item", var_name="factor", value_name="loading"))

    def summary(self) -> str:
        """A Russian text: ω_h, ω_t, α and the reversed items."""
        text = (f"Омега иерархическая ω_h = {fmt_num(self.omega_h, 3)}, омега общая "
                f"ω_t = {fmt_num(self.omega_total, 3)}, α = {fmt_num(self.alpha, 3)} "
                f"(факторов: {self.n_factors}; доля общей дисперсии генерального фактора "
                f"ECV = {fmt_num(self.ecv, 3)}).")
        rev = [str(i) for i, k in self.keys.items() if k < 0]
        if rev:
            text += " Обратно учтены пункты: " + ", ".join(rev) + "."
        return text


def _keys_vector(keys, names: list[str]) -> np.ndarray:
    if isinstance(keys, (pd.Series, dict)):
        keys = pd.Series(keys, dtype=float)
        missing = [n for n in names if n not in keys.index]
        if missing:
            raise OmegaError(f"Для пункта нет ключа (+1 или −1): «{missing[0]}».",
                             column=missing[0])
        k = keys.loc[names].to_numpy(dtype=float)
    else:
        k = np.asarray(keys, dtype=float).ravel()
        if k.size != len(names):
            raise OmegaError(f"Ключей {k.size}, а пунктов {len(names)}; задайте +1 или −1 "
                             "для каждого пункта.")
    if not np.isin(k, (-1.0, 1.0)).all():
        raise OmegaError("Ключи пунктов должны быть равны +1 или −1.")
    return k


def omega(items: pd.DataFrame, n_factors: int = 3, keys=None) -> OmegaResult:
    """McDonald's omega_h and omega_total by the Schmid–Leiman transformation, as psych.

    With oblique group-factor loadings :math:`F` (minres, varimax, then oblimin) and their
    loadings :math:`\\gamma` on a second-order general factor,

    .. math::

        g_i = \\sum_k F_{ik}\\gamma_k, \\qquad
        s_{ik} = \\mathrm{sign}(F_{ik})\\,|F_{ik}|\\sqrt{1 - \\gamma_k^2}, \\qquad
        u_i^2 = 1 - h_i^2,

        \\omega_h = \\frac{(\\sum_i g_i)^2}{\\mathbf{1}'R\\mathbf{1}}, \\qquad
        \\omega_t = 1 - \\frac{\\sum_i u_i^2}{\\mathbf{1}'R\\mathbf{1}}, \\qquad
        \\alpha = \\frac{p}{p-1}\\,\\frac{\\mathbf{1}'R\\mathbf{1} - p}{\\mathbf{1}'R\\mathbf{1}},

    with :math:`h_i^2` the communalities of the factor solution and :math:`R` the correlation
    matrix after reversing the items with negative general loadings [1]_ [2]_ [3]_. With
    ``n_factors=1`` the general factor is the single minres factor and :math:`\\omega_t` comes
    from that one-factor model.

    Parameters
    ----------
    items : pandas.DataFrame
        Item responses (missing answers allowed: pairwise correlations) or a correlation
        matrix.
    n_factors : int, default 3
        Number of group factors.
    keys : sequence of ±1 or mapping item → ±1, optional
        Reverse keys applied before the analysis; when given, psych's automatic flipping
        (``flip = TRUE``) is switched off.

    Returns
    -------
    OmegaResult

    References
    ----------
    .. [1] McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
    .. [2] Schmid, J., & Leiman, J. M. (1957). The development of hierarchical factor
       solutions. *Psychometrika*, 22, 53–61.
    .. [3] Zinbarg, R. E., Revelle, W., Yovel, I., & Li, W. (2005). Cronbach's α, Revelle's
       β, and McDonald's ω_H. *Psychometrika*, 70, 123–133.

    Examples
    --------
    >>> res = omega(items, n_factors=3)           # doctest: +SKIP
    >>> res.omega_h, res.omega_total              # doctest: +SKIP

    In R: ``psych::omega(x, nfactors = 3)`` (``$omega_h``, ``$omega.tot``, ``$alpha``,
    ``$schmid$sl``, ``$omega.group``).
    """
    names, r, n, _ = prepare(items, "pearson", None)
    p = len(names)
    if not isinstance(n_factors, (int, np.integer)) or not 1 <= n_factors < p:
        raise OmegaError(
            f"Число факторов должно быть целым от 1 до {p - 1}, получено {n_factors!r}.")
    nf = int(n_factors)
    flip = keys is None
    key = np.ones(p) if keys is None else _keys_vector(keys, names)
    r = r * np.outer(key, key)
    rdf = pd.DataFrame(r, index=names, columns=names)

    orth = efa(rdf, nf, method="minres", rotation="varimax").loadings.to_numpy()
    if nf == 1:
        fload, phi, gload = orth, None, np.array([1.0])
    else:
        rot = gpf_oblique(orth, "oblimin", gam=0.0)
        fload, phi = rot.loadings, rot.phi
        if nf > 2:
            fnames = [f"F{i + 1}" for i in range(nf)]
            gload = efa(pd.DataFrame(phi, index=fnames, columns=fnames), 1,
                        method="minres", rotation="none").loadings.to_numpy()[:, 0]
        else:
            c = phi[0, 1]
            gload = np.array([np.sqrt(abs(c)), np.sign(c) * np.sqrt(abs(c))])
    g = fload @ gload
    h2 = (orth ** 2).sum(axis=1)
    u2 = np.diag(r) - h2
    uniq2 = np.clip(fload ** 2 - (fload * gload) ** 2, 0.0, None)
    sm = np.sign(fload) * np.sqrt(uniq2)
    p2 = g ** 2 / h2
    if flip:
        fk = np.sign(g)
        fk[fk == 0] = 1
        if fk.sum() < p:
            key = fk
            r = r * np.outer(fk, fk)
            g, sm = g * fk, sm * fk[:, None]
    vt = r.sum()
    gsq = g.sum() ** 2
    omega_t = (vt - u2.sum()) / vt
    alpha = (vt - np.trace(r)) / vt * p / (p - 1)
    g6 = (vt + smc(r).sum() - np.trace(r)) / vt
    ev = (g ** 2).sum(), (sm ** 2).sum()
    ecv = ev[0] / (ev[0] + ev[1])
    gcols = [f"F{i + 1}*" for i in range(nf)]
    sl = pd.DataFrame(np.column_stack([g, sm, h2, u2, p2]), index=names,
                      columns=["g"] + gcols + ["h2", "u2", "p2"])
    sub = np.argmax(np.abs(sm), axis=1)
    total, general, group = [omega_t], [gsq / vt], [np.nan]
    grs = 0.0
    for k in range(nf):
        idx = np.flatnonzero(sub == k)
        if idx.size == 0:
            total.append(np.nan), general.append(np.nan), group.append(np.nan)
            continue
        vgr = r[np.ix_(idx, idx)].sum()
        gr = sm[idx, k].sum()
        grs += gr ** 2
        gg = g[idx].sum() ** 2
        total.append((gr ** 2 + gg) / vgr)
        general.append(gg / vgr)
        group.append(gr ** 2 / vgr)
    group[0] = grs / vt
    group_df = pd.DataFrame({"total": total, "general": general, "group": group},
                            index=["g"] + gcols)
    fnames = [f"F{i + 1}" for i in range(nf)]
    return OmegaResult(
        omega_h=float(gsq / vt), omega_total=float(omega_t), alpha=float(alpha),
        omega_lim=float(gsq / (vt - u2.sum())), g6=float(g6), ecv=float(ecv),
        loadings=sl, group=group_df,
        phi=None if phi is None else pd.DataFrame(phi, index=fnames, columns=fnames),
        g_loadings=pd.Series(gload, index=fnames, name="g"),
        keys=pd.Series(key.astype(int), index=names, name="key"),
        n_factors=nf, n_obs=n)
