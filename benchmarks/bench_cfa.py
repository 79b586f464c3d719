"""Timings of proforient_diag.psychometrics.cfa at regional scale (prints a table).

Run:  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_cfa.py [--quick]

Synthetic data (seeded): 4 correlated factors x 10 items each (loadings .5-.8), normal
responses; for WLSMV the items are cut into 4 categories; for FIML 8 % of the values are
set missing at random. For comparison, lavaan 0.6-14 ``cfa`` on 300 000 x 40 (ML) takes
about 1.6 s on this kind of machine (brief), and FIML at N = 10 000 x 40 over 100 s
(shared/R-CONVENTIONS.md).
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from proforient_diag.psychometrics.confirmatory import cfa, invariance  # noqa: E402


def make_data(n, n_factors=4, per_factor=10, seed=2024):
    rng = np.random.default_rng(seed)
    phi = np.full((n_factors, n_factors), 0.3) + 0.7 * np.eye(n_factors)
    eta = rng.standard_normal((n, n_factors)) @ np.linalg.cholesky(phi).T
    lam = rng.uniform(0.5, 0.8, size=n_factors * per_factor)
    fac = np.repeat(np.arange(n_factors), per_factor)
    x = eta[:, fac] * lam + rng.standard_normal((n, len(lam))) * np.sqrt(1 - lam ** 2)
    cols = [f"i{k + 1}" for k in range(len(lam))]
    df = pd.DataFrame(x, columns=cols)
    df["grp"] = np.where(rng.random(n) < 0.5, "A", "B")
    model = "\n".join(f"F{j + 1} =~ " + " + ".join(cols[j * per_factor:(j + 1) * per_factor])
                      for j in range(n_factors))
    return df, model, cols


def timed(fn, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main(quick=False):
    rows = []
    n_big = 30_000 if quick else 300_000
    df, model, cols = make_data(n_big)
    t, fit = timed(lambda: cfa(df, model), repeat=3)
    rows.append(("ML, 1 group", f"{n_big} x 40", t, f"chisq={fit.chisq:.1f}, df={fit.dof}"))
    t, _ = timed(lambda: np.cov(df[cols].to_numpy().T, bias=True), repeat=3)
    rows.append(("  of which: covariance matrix (np.cov)", f"{n_big} x 40", t, ""))
    t, fit = timed(lambda: cfa(df, model, group="grp", group_equal=("loadings", "intercepts")))
    rows.append(("ML, 2 groups, scalar", f"{n_big} x 40", t, f"chisq={fit.chisq:.1f}, df={fit.dof}"))
    t, tab = timed(lambda: invariance(df, model, group="grp"))
    rows.append(("invariance (4 levels + LRT)", f"{n_big} x 40", t, f"{len(tab)} rows"))

    n_ord, n_ord_items = (5_000, 20) if quick else (20_000, 20)
    d2, m2, c2 = make_data(n_ord, n_factors=4, per_factor=5, seed=7)
    cuts = [-0.8, 0.0, 0.8]
    ordd = pd.DataFrame({c: np.digitize(d2[c].to_numpy(), cuts) + 1 for c in c2})
    t, fit = timed(lambda: cfa(ordd, m2, estimator="WLSMV", ordered=True))
    rows.append(("WLSMV, 4 categories", f"{n_ord} x {n_ord_items}", t,
                 f"chisq.scaled={fit.chisq:.1f}, df={fit.dof}"))

    n_fiml = 2_000 if quick else 10_000
    d3, m3, c3 = make_data(n_fiml, n_factors=3, per_factor=4, seed=11)
    rng = np.random.default_rng(3)
    x = d3[c3].to_numpy().copy()
    x[rng.random(x.shape) < 0.08] = np.nan
    d3[c3] = x
    t, fit = timed(lambda: cfa(d3, m3, missing="fiml"))
    rows.append(("ML-FIML, 8 % missing", f"{n_fiml} x 12", t, f"chisq={fit.chisq:.1f}, df={fit.dof}"))

    out = pd.DataFrame(rows, columns=["case", "data", "seconds", "result"])
    with pd.option_context("display.width", 140, "display.max_colwidth", 60):
        print(out.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
