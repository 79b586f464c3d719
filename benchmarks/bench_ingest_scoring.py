"""Ingestion and scoring at regional scale: one wave of the whole synthetic region (≈300 000 students).

Run: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_ingest_scoring.py
Writes the exports (one CSV per municipality, as the sample does) to a temporary folder, then times
read_responses and score. Nothing is committed.
"""
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from proforient_diag.ingest import read_responses  # noqa: E402
from proforient_diag.scoring import score  # noqa: E402
from proforient_diag.synth import make_region, simulate_wave  # noqa: E402


def main(year: int = 2026) -> None:
    t0 = time.perf_counter()
    region = make_region()
    df, inst = simulate_wave(region, year, sample=False)
    t_sim = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for code, part in df.groupby("municipality_code"):
            part.to_csv(Path(tmp) / f"{code}.csv", index=False)
        t_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = read_responses(tmp, year=year)
        t_read = time.perf_counter() - t0
    t0 = time.perf_counter()
    sc = score(res.responses, inst)
    t_score = time.perf_counter() - t0
    print(f"students simulated     {len(df):>9,}   {t_sim:6.1f} s")
    print(f"CSV written (34 files) {'':>9}   {t_write:6.1f} s")
    print(f"read_responses         {len(res.responses):>9,}   {t_read:6.1f} s")
    print(f"score                  {len(sc.scores):>9,}   {t_score:6.1f} s")


if __name__ == "__main__":
    main()
