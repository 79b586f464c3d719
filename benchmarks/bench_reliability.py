"""Speed of alpha, item analysis, split-half and polychoric at regional scale.

Generates seeded ordinal data (default 300 000 respondents × 40 five-point items,
one common factor, 2 % missing answers at random) and prints a table of
wall-clock timings. Run with one BLAS thread, as CI and R's reference runs do:

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_reliability.py

R for comparison (same size, psych 2.2.9, one core): psych::alpha ≈ 13 s,
psych::polychoric ≈ 9.5 s (figures from the task brief).
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from proforient_diag.psychometrics import alpha, item_analysis, polychoric, split_half  # noqa: E402
from proforient_diag.psychometrics.correlation import pair_tables  # noqa: E402


def make_data(n: int, k: int, missing: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    loadings = rng.uniform(0.4, 0.8, k)
    f = rng.standard_normal((n, 1))
    z = f * loadings + rng.standard_normal((n, k)) * np.sqrt(1 - loadings ** 2)
    cuts = np.array([-1.5, -0.5, 0.4, 1.2])
    x = (np.digitize(z, cuts) + 1).astype(float)
    x[:, ::7] = 6 - x[:, ::7]                      # some reversed items
    x[rng.random((n, k)) < missing] = np.nan
    return pd.DataFrame(x, columns=[f"q{i + 1:02d}" for i in range(k)])


def timed(label, fn, rows):
    t0 = time.perf_counter()
    fn()
    rows.append((label, time.perf_counter() - t0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--k", type=int, default=40)
    ap.add_argument("--missing", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--n-boot", type=int, default=20)
    a = ap.parse_args()
    df = make_data(a.n, a.k, a.missing, a.seed)
    keys = list(df.columns[::7])
    rows: list[tuple[str, float]] = []
    item_analysis(df.iloc[:1000], keys)             # warm-up (imports, first-touch memory)
    timed("item_analysis", lambda: item_analysis(df, keys), rows)
    timed("alpha (pairwise, all fields)", lambda: alpha(df, keys), rows)
    timed("alpha, complete rows only", lambda: alpha(df.dropna(), keys), rows)
    timed(f"alpha + bootstrap n_boot={a.n_boot}", lambda: alpha(df, keys, n_boot=a.n_boot, seed=1), rows)
    timed("split_half (10 000 random halves)", lambda: split_half(df, seed=1), rows)
    timed("pair_tables (sufficient statistic)", lambda: pair_tables(df), rows)
    timed("polychoric (global thresholds)", lambda: polychoric(df), rows)
    timed("polychoric (pairwise thresholds)", lambda: polychoric(df, thresholds="pairwise"), rows)
    print(f"n = {a.n:,}, k = {a.k}, missing = {a.missing:.0%}, "
          f"threads = {os.environ['OPENBLAS_NUM_THREADS']}")
    print(pd.DataFrame(rows, columns=["step", "seconds"]).to_string(index=False,
                                                                   float_format="%.2f"))


if __name__ == "__main__":
    main()
