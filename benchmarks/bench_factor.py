"""Timings of KMO, Bartlett, parallel analysis, EFA and omega at regional scale.

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_factor.py [--no-r]``.
Synthetic 5-point answers of 300 000 respondents to 40 items with 5 planted factors and 2 %
missing answers (seeded). When ``Rscript`` is available, psych's ``fa`` is timed on data of the
same size and structure generated in R (``--no-r`` skips it). Prints a table; asserts nothing.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import numpy as np
import pandas as pd

from proforient_diag.psychometrics.factor import (
    bartlett,
    efa,
    kmo,
    pairwise_correlation,
    parallel_analysis,
)
from proforient_diag.psychometrics.omega import omega

N, P, K = 300_000, 40, 5


def synthetic(n: int = N, p: int = P, k: int = K, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lam = np.zeros((p, k))
    lam[np.arange(p), np.arange(p) % k] = rng.uniform(0.4, 0.8, p)
    phi = 0.3 * np.ones((k, k)) + 0.7 * np.eye(k)
    f = rng.standard_normal((n, k)) @ np.linalg.cholesky(phi).T
    x = f @ lam.T + rng.standard_normal((n, p)) * np.sqrt(1 - (lam ** 2).sum(axis=1))
    x = np.clip(np.round(x * 1.2 + 3), 1, 5)
    x[rng.random((n, p)) < 0.02] = np.nan
    return pd.DataFrame(x, columns=[f"q{i + 1:02d}" for i in range(p)])


def timed(label: str, fn, rows: list, repeat: int = 1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    rows.append((label, best))
    return out


R_SCRIPT = f"""
suppressMessages(library(psych)); set.seed(1)
n <- {N}; p <- {P}; k <- {K}
lam <- matrix(0, p, k); lam[cbind(1:p, (0:(p-1)) %% k + 1)] <- runif(p, .4, .8)
phi <- matrix(.3, k, k); diag(phi) <- 1
f <- matrix(rnorm(n * k), n) %*% chol(phi)
x <- f %*% t(lam) + matrix(rnorm(n * p), n) %*% diag(sqrt(1 - rowSums(lam^2)))
x <- pmin(pmax(round(x * 1.2 + 3), 1), 5); x[runif(n * p) < .02] <- NA
x <- as.data.frame(x)
t1 <- system.time(f1 <- fa(x, nfactors = 5, rotate = "oblimin"))[["elapsed"]]
r <- cor(x, use = "pairwise")
t2 <- system.time(f2 <- fa(r, nfactors = 5, rotate = "oblimin", n.obs = n))[["elapsed"]]
t3 <- system.time(KMO(r))[["elapsed"]]
t4 <- system.time(omega(r, nfactors = 5, plot = FALSE))[["elapsed"]]
cat(t1, t2, t3, t4, "\\n")
"""


def main() -> None:
    rows: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    x = synthetic()
    gen = time.perf_counter() - t0
    full = x.fillna(3.0)
    r, _ = timed("pairwise correlations, 2 % missing", lambda: pairwise_correlation(x), rows)
    timed("correlations, complete data", lambda: pairwise_correlation(full), rows)
    rdf = pd.DataFrame(r, index=x.columns, columns=x.columns)
    timed("KMO (raw data)", lambda: kmo(x), rows)
    timed("Bartlett (raw data)", lambda: bartlett(x), rows)
    timed("efa minres+oblimin, 5 factors (raw data)", lambda: efa(x, 5), rows)
    for method in ("minres", "ml", "pa"):
        for rot in ("oblimin", "promax", "geomin"):
            timed(f"efa {method}+{rot}, 5 factors (correlation matrix)",
                  lambda: efa(rdf, 5, method=method, rotation=rot, n_obs=N), rows, repeat=3)
    timed("parallel analysis, 20 iterations (raw data)",
          lambda: parallel_analysis(x, n_iter=20, seed=1), rows)
    timed("omega, 5 factors (raw data)", lambda: omega(x, 5), rows)
    timed("omega, 5 factors (correlation matrix)", lambda: omega(rdf, 5), rows, repeat=3)

    width = max(len(r_[0]) for r_ in rows)
    print(f"proforient-diag factor benchmarks: {N:,} respondents × {P} items "
          f"(data generated in {gen:.2f} s)")
    print(f"{'step':<{width}}  seconds")
    for label, sec in rows:
        print(f"{label:<{width}}  {sec:8.3f}")

    if "--no-r" not in sys.argv and shutil.which("Rscript"):
        out = subprocess.run(["Rscript", "-e", R_SCRIPT], capture_output=True, text=True,
                             env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                                  "PATH": "/usr/bin:/bin"})
        vals = out.stdout.split()
        if len(vals) == 4:
            print("\nR psych 2.2.9 on data of the same size and structure")
            for label, sec in zip(("fa minres+oblimin (raw data)",
                                   "fa minres+oblimin (correlation matrix)",
                                   "KMO (correlation matrix)",
                                   "omega 5 factors (correlation matrix)"), vals):
                print(f"{label:<{width}}  {float(sec):8.3f}")
        else:
            print("\nR timing failed:", out.stderr.strip()[-300:])


if __name__ == "__main__":
    main()
