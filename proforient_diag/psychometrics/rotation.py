"""Factor rotations as R computes them (stats, psych, GPArotation).

The rotations are written here, in numpy, after the R sources they mirror, because no
Python library reproduces them exactly:

* ``factor_analyzer.Rotator`` (0.5.1) implements varimax with its own stopping rule and
  oblimin/geomin with a different line search and convergence test, and its promax does not
  apply psych's Kaiser normalisation, so results drift from R in the third decimal on local
  optima; factor-analyzer is also not a dependency of this kit.
* ``semopy`` and ``statsmodels`` have no oblique GPA rotations.

What is mirrored:

``varimax``
    ``stats::varimax(x, normalize = TRUE, eps = 1e-5)``: Kaiser-normalised rows, the SVD
    update of Kaiser's criterion, stopped when the criterion grows by less than ``eps``
    relatively.
``promax``
    psych's ``rotate = "promax"`` path: ``kaiser(f, rotate = "Promax")`` — rows divided by
    :math:`\\sqrt{h^2}`, ``psych::Promax(m = 4)`` (``stats::varimax``, then the target
    :math:`Q = X\\,|X|^{m-1}`, a least-squares fit :math:`U = (X'X)^{-1}X'Q` with columns
    rescaled by :math:`\\sqrt{\\mathrm{diag}((U'U)^{-1})}`), rows multiplied back.
``oblimin`` and ``geomin``
    ``GPArotation::GPFoblq`` (gradient projection, Bernaards & Jennrich 2005) with the
    ``vgQ.oblimin`` (:math:`\\gamma = 0`, quartimin) and ``vgQ.geomin``
    (:math:`\\delta = 0.01`) criteria, ``Tmat = I``, no Kaiser normalisation,
    ``eps = 1e-5``, ``maxit = 1000``, exactly the same step-halving line search.

References
----------
1. Kaiser, H. F. (1958). The varimax criterion for analytic rotation in factor analysis.
   *Psychometrika*, 23, 187–200.
2. Hendrickson, A. E., & White, P. O. (1964). Promax: a quick method for rotation to oblique
   simple structure. *British Journal of Statistical Psychology*, 17, 65–70.
3. Jennrich, R. I. (2002). A simple general method for oblique rotation. *Psychometrika*, 67,
   7–19.
4. Bernaards, C. A., & Jennrich, R. I. (2005). Gradient projection algorithms and software for
   arbitrary rotation criteria in factor analysis. *Educational and Psychological
   Measurement*, 65, 676–696.
5. Yates, A. (1987). *Multivariate exploratory data analysis*. SUNY Press (geomin).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..options import options

POSSIBLE_ROTATIONS = ("none", "varimax", "promax", "oblimin", "geomin")
ORTHOGONAL_ROTATIONS = ("none", "varimax")


@dataclass(frozen=True)
class Rotated:
    """A rotated loading matrix.

    Attributes
    ----------
    loadings : numpy.ndarray
        Rotated pattern loadings (items × factors).
    phi : numpy.ndarray or None
        Factor correlations (oblique rotations), ``None`` for orthogonal ones.
    rotmat : numpy.ndarray
        The rotation matrix ``T`` with ``loadings = A @ T`` (orthogonal) or
        ``loadings = A @ inv(T)'`` (oblique, GPArotation's ``Th``).
    converged : bool
        Whether the iterative criterion met its tolerance.
    """

    loadings: np.ndarray
    phi: np.ndarray | None
    rotmat: np.ndarray
    converged: bool


def varimax(x: np.ndarray, normalize: bool = True, eps: float = 1e-5) -> Rotated:
    """Varimax rotation exactly as ``stats::varimax``.

    Maximises :math:`\\sum_j [\\sum_i \\lambda_{ij}^4 - (\\sum_i \\lambda_{ij}^2)^2/p]` over
    orthogonal :math:`T` by the SVD iteration :math:`B = X'(Z^3 - Z\\,\\mathrm{diag}(1'Z^2)/p)`,
    :math:`T = UV'` (Kaiser 1958), stopping when :math:`d_{new} < d_{old}(1 + \\epsilon)`.

    In R: ``stats::varimax(x, normalize = TRUE, eps = 1e-5)``.
    """
    x = np.asarray(x, dtype=float)
    p, nc = x.shape
    if nc < 2:
        return Rotated(x.copy(), None, np.eye(nc), True)
    sc = np.sqrt((x ** 2).sum(axis=1)) if normalize else np.ones(p)
    xs = x / sc[:, None]
    tt = np.eye(nc)
    d = 0.0
    converged = False
    for _ in range(1000):
        z = xs @ tt
        b = xs.T @ (z ** 3 - z * ((z ** 2).sum(axis=0) / p))
        u, s, vt = np.linalg.svd(b)
        tt = u @ vt
        dpast = d
        d = s.sum()
        if d < dpast * (1 + eps):
            converged = True
            break
    z = (xs @ tt) * sc[:, None]
    return Rotated(z, None, tt, converged)


def promax(x: np.ndarray, m: int = 4) -> Rotated:
    """Promax as psych's ``fa(rotate = "promax")``: Kaiser-normalised ``psych::Promax``.

    Rows are divided by :math:`\\sqrt{h_i^2}`, varimax-rotated (``stats::varimax``), the target
    :math:`Q = X\\,|X|^{m-1}` is fitted by least squares :math:`U = (X'X)^{-1}X'Q`, the columns of
    :math:`U` rescaled by :math:`\\sqrt{\\mathrm{diag}((U'U)^{-1})}`, loadings :math:`XU` multiplied
    back by :math:`\\sqrt{h_i^2}`; :math:`\\Phi = U_t^{-1}U_t^{-1\\prime}` with
    :math:`U_t = T_{varimax}U`.

    In R: ``psych::kaiser(f, rotate = "Promax")`` (what ``psych::fa(rotate = "promax")`` calls).
    """
    x = np.asarray(x, dtype=float)
    h = np.sqrt((x ** 2).sum(axis=1))
    w = x / h[:, None]
    vm = varimax(w)
    xv = vm.loadings
    q = xv * np.abs(xv) ** (m - 1)
    u = np.linalg.lstsq(xv, q, rcond=None)[0]
    d = np.diag(np.linalg.inv(u.T @ u))
    u = u * np.sqrt(d)[None, :]
    z = xv @ u
    ut = vm.rotmat @ u
    ui = np.linalg.inv(ut)
    phi = ui @ ui.T
    return Rotated(z * h[:, None], phi, ut, vm.converged)


def _vgq_oblimin(lam: np.ndarray, gam: float = 0.0):
    p, k = lam.shape
    l2 = lam ** 2
    xm = l2 @ (np.ones((k, k)) - np.eye(k))
    if gam != 0:
        xm = (np.eye(p) - gam / p) @ xm
    return lam * xm, float((l2 * xm).sum() / 4)


def _vgq_geomin(lam: np.ndarray, delta: float = 0.01):
    p, k = lam.shape
    l2 = lam ** 2 + delta
    pro = np.exp(np.log(l2).sum(axis=1) / k)
    return (2.0 / k) * (lam / l2) * pro[:, None], float(pro.sum())


def gpf_oblique(a: np.ndarray, criterion: str = "oblimin", eps: float = 1e-5,
                maxit: int = 1000, **args) -> Rotated:
    """Oblique gradient-projection rotation, a line-by-line port of ``GPArotation::GPFoblq``.

    Minimises a criterion :math:`Q(\\Lambda)` over :math:`\\Lambda = A\\,(T')^{-1}` with
    unit-length columns of :math:`T`. The gradient :math:`G = -(\\Lambda' \\, \\partial Q /
    \\partial\\Lambda \\, T^{-1})'` is projected,
    :math:`G_p = G - T\\,\\mathrm{diag}(1'(T \\circ G))`, and the step size doubles
    then halves until the decrease exceeds :math:`\\tfrac12 s^2 \\alpha`;
    iteration stops when :math:`s = \\|G_p\\|_F < \\epsilon`.

    Parameters
    ----------
    a : ndarray
        Unrotated loadings (items × factors), at least two columns.
    criterion : {"oblimin", "geomin"}
        ``vgQ.oblimin`` (argument ``gam``, default 0 = quartimin) or ``vgQ.geomin``
        (argument ``delta``, default 0.01).

    In R: ``GPArotation::oblimin(A, Tmat = diag(ncol(A)))``,
    ``GPArotation::geominQ(A, delta = 0.01)``.
    """
    a = np.asarray(a, dtype=float)
    vgq = {"oblimin": _vgq_oblimin, "geomin": _vgq_geomin}[criterion]
    k = a.shape[1]
    tmat = np.eye(k)
    al = 1.0
    lam = a @ np.linalg.inv(tmat).T
    gq, f = vgq(lam, **args)
    g = -(lam.T @ gq @ np.linalg.inv(tmat)).T
    s = np.inf
    for _ in range(maxit + 1):
        gp = g - tmat * (tmat * g).sum(axis=0)[None, :]
        s = np.sqrt((gp ** 2).sum())
        if s < eps:
            break
        al *= 2
        for _ in range(11):
            xm = tmat - al * gp
            tmatt = xm / np.sqrt((xm ** 2).sum(axis=0))[None, :]
            tinv = np.linalg.inv(tmatt)
            lam = a @ tinv.T
            gqt, ft = vgq(lam, **args)
            if f - ft > 0.5 * s ** 2 * al:
                break
            al /= 2
        tmat = tmatt
        f = ft
        g = -(lam.T @ gqt @ tinv).T
    return Rotated(lam, tmat.T @ tmat, tmat, bool(s < eps))


@options(method=POSSIBLE_ROTATIONS)
def rotate(loadings: np.ndarray, method: str) -> Rotated:
    """Rotate unrotated loadings by name (one of :data:`POSSIBLE_ROTATIONS`)."""
    x = np.asarray(loadings, dtype=float)
    if method == "none" or x.shape[1] < 2:
        return Rotated(x.copy(), None, np.eye(x.shape[1]), True)
    if method == "varimax":
        return varimax(x)
    if method == "promax":
        return promax(x)
    if method == "oblimin":
        return gpf_oblique(x, "oblimin", gam=0.0)
    return gpf_oblique(x, "geomin", delta=0.01)
