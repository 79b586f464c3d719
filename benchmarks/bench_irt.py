"""Speed of the graded response model at regional scale: 300 000 persons × 40 items (5 categories).

Run once: OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_irt.py [n_persons]

First, when the PyPI package ``mirt`` (1.2, not a dependency: ``pip install mirt``) imports,
a validation against it on psychTools bfi N1..N5 (complete rows): largest absolute differences
of a, b and their SEs (mirt: EM, 61 Gauss–Hermite nodes, Oakes SEs; ours: 61 grid nodes).
Then prints a table: stage, wall-clock and CPU seconds (the machine may be shared), EM iterations, largest |error| of a and b against the planted values.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from proforient_diag.psychometrics.irt import grm, simulate_grm

ROOT = Path(__file__).resolve().parents[1]


def compare_with_mirt() -> pd.DataFrame | None:
    try:
        import mirt
    except ImportError:
        return None
    bfi = pd.read_csv(ROOT / "tests" / "reference" / "data" / "bfi.csv")
    d = bfi[["N1", "N2", "N3", "N4", "N5"]].dropna()
    t0 = time.perf_counter()
    f = mirt.fit_mirt((d.to_numpy() - 1).astype(int), model="GRM", n_quadpts=61, tol=1e-6,
                      max_iter=2000, item_names=list(d.columns))
    t_mirt = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = grm(d, n_quad=61).items
    t_ours = time.perf_counter() - t0
    coef = f.coef if not callable(f.coef) else f.coef()
    se = f.standard_errors if not callable(f.standard_errors) else f.standard_errors()
    bcols = [f"b_{k}" for k in range(1, 6)]
    rows = [
        ("a", np.max(np.abs(ours["a"].to_numpy() - coef["discrimination"].to_numpy()))),
        ("b", np.max(np.abs(ours[bcols].to_numpy()
                            - coef[[f"thresholds_{k}" for k in range(1, 6)]].to_numpy()))),
        ("se(a)", np.max(np.abs(ours["se_a"].to_numpy() - se["discrimination"]))),
        ("se(b)", np.max(np.abs(ours[["se_" + c for c in bcols]].to_numpy()
                                - se["thresholds"]))),
        ("logLik", abs(grm(d, n_quad=61).loglik - f.log_likelihood)),
    ]
    out = pd.DataFrame(rows, columns=["величина", "max|наша − mirt|"])
    out.attrs["times"] = (t_ours, t_mirt)
    return out


def main(n: int = 300_000, J: int = 40, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.8, 2.5, J)
    b = np.sort(rng.normal(0, 1.0, (J, 4)), axis=1)
    t0, c0 = time.perf_counter(), time.process_time()
    x = simulate_grm(a, b, n=n, missing=0.02, seed=seed)
    rows = [("симуляция данных", time.perf_counter() - t0, time.process_time() - c0,
             np.nan, np.nan, np.nan, "")]
    for se in ("crossprod", "none"):
        t0, c0 = time.perf_counter(), time.process_time()
        res = grm(x, se=se)
        t, c = time.perf_counter() - t0, time.process_time() - c0
        err_a = np.max(np.abs(res.items["a"].to_numpy() - a))
        err_b = np.nanmax(np.abs(res.items[[f"b_{k}" for k in range(1, 5)]].to_numpy() - b))
        rows.append((f"grm(se={se!r})", t, c, res.n_iter, err_a, err_b,
                     f"сходимость: {res.converged}"))
    return pd.DataFrame(rows, columns=["этап", "секунд (часы)", "секунд ЦП", "итераций EM", "max|Δa|", "max|Δb|",
                                       "примечание"])


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    cmp = compare_with_mirt()
    if cmp is not None:
        print("Сверка с PyPI mirt на bfi N1–N5 (n = 2694):")
        print(cmp.to_string(index=False))
        print("время: наша grm {:.2f} с, mirt.fit_mirt {:.2f} с\n".format(*cmp.attrs["times"]))
    print(f"GRM: {n} респондентов × 40 заданий, 5 категорий, 2 % пропусков")
    print(main(n).to_string(index=False))
