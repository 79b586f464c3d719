"""Speed of compare_groups and trend at regional scale (300 000 students).

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_compare.py``.
Prints one row per call: wall time (best of ``--repeat``) and the size of the problem.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from proforient_diag.compare import compare_groups, level_shift, trend


def regional(n: int = 300_000, n_schools: int = 650, years=tuple(range(2018, 2026)),
             seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = rng.integers(0, n_schools, n)
    mun = school % 34
    year = rng.choice(np.array(years), n)
    eff = rng.normal(0, 6, n_schools)
    total = 50 + 0.8 * (year - years[0]) + eff[school] + rng.normal(0, 12, n)
    df = pd.DataFrame({
        "respondent_id": pd.Series(np.arange(n)).map("P{:08d}".format),
        "year": year, "school_id": pd.Series(school).map("S{:04d}".format),
        "municipality_code": pd.Series(mun + 1).map("MO{:02d}".format),
        "band": rng.choice(["1-4", "5-7", "8-9", "10-11"], n),
        "sex": rng.choice(["м", "ж"], n), "urban": school % 3 != 0,
        "total": total, "w": rng.uniform(0.5, 2.0, n)})
    df["level"] = pd.cut(df["total"], [-np.inf, 45, 58, np.inf],
                         labels=["низкий", "средний", "высокий"])
    return df


def timed(fn, repeat: int) -> float:
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    df = regional(args.n)
    cases = [
        ("compare_groups sex (cluster)", lambda: compare_groups(df, "total", "sex")),
        ("compare_groups 34 MO vs MO01 (cluster, weights)",
         lambda: compare_groups(df, "total", "municipality_code", weights="w",
                                reference="MO01", adjust="fdr_bh")),
        ("compare_groups 34 MO all 561 pairs (cluster)",
         lambda: compare_groups(df, "total", "municipality_code", adjust="fdr_bh")),
        ("compare_groups 34 MO vs MO01 mannwhitney",
         lambda: compare_groups(df, "total", "municipality_code", reference="MO01",
                                test="mannwhitney")),
        ("level_shift year (cluster)", lambda: level_shift(df, "year")),
        ("trend OLS cluster only", lambda: trend(df, "total", mixed=False)),
        ("trend OLS + MixedLM (MO + school)", lambda: trend(df, "total")),
    ]
    rows = []
    for name, fn in cases:
        rows.append({"call": name, "rows": len(df), "seconds": timed(fn, args.repeat)})
        print(f"{name:<52s} {rows[-1]['seconds']:8.2f} s", flush=True)
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
