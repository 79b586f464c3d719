"""polychoric against psych::polychoric (global thresholds) and polycor::polychor (bfi).

psych stops its one-dimensional ``optimize`` at the default tolerance
(≈1.2e-4), while proforient_diag solves the same two-step likelihood to 1e-10;
the stated tolerance against R is therefore 2e-4 for ρ (measured: ≤ 2.1e-5).
Thresholds are closed forms (qnorm of cumulative shares): 1e-6.
"""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from conftest import REFERENCE, load_reference
from proforient_diag.errors import DataError
from proforient_diag.psychometrics import PolychoricResult, polychoric
from proforient_diag.psychometrics.correlation import (_bvn_cdf, pair_tables,
                                                       polychoric_from_tables)

REF = load_reference("polychoric")
BFI = pd.read_csv(REFERENCE / "data" / "bfi.csv")
RHO_TOL = 2e-4
CLOSED = 1e-6


@pytest.mark.parametrize("name", ["A", "C", "all25"])
def test_matches_psych_polychoric(name):
    r = REF[name]
    res = polychoric(BFI[r["items"]])
    assert list(res.rho.index) == r["items"] and list(res.rho.columns) == r["items"]
    np.testing.assert_allclose(res.rho.to_numpy(), np.array(r["rho"]), rtol=0, atol=RHO_TOL)
    np.testing.assert_allclose(res.thresholds.to_numpy(), np.array(r["tau"]), rtol=0, atol=CLOSED)
    assert res.n_obs == r["n_obs"] and not res.smoothed
    assert list(res.thresholds.columns) == ["1|2", "2|3", "3|4", "4|5", "5|6"]


def test_matches_polycor_polychor_pairwise_thresholds():
    items = [f"A{i}" for i in range(1, 6)] + [f"E{i}" for i in range(1, 6)]
    res = polychoric(BFI[items], thresholds="pairwise", smooth=False)
    got = np.array([res.rho.loc[p["x"], p["y"]] for p in REF["polychor_pairs"]])
    want = np.array([p["rho"] for p in REF["polychor_pairs"]])
    np.testing.assert_allclose(got, want, rtol=0, atol=RHO_TOL)
    n = np.array([res.n_pairs.loc[p["x"], p["y"]] for p in REF["polychor_pairs"]])
    np.testing.assert_array_equal(n, [p["n"] for p in REF["polychor_pairs"]])


def test_three_categories_match_psych():
    x3 = BFI[["A1", "A2", "E1"]].apply(lambda s: pd.cut(s, [0, 2, 4, 6], labels=False) + 1)
    res = polychoric(x3)
    np.testing.assert_allclose(res.rho.to_numpy(), np.array(REF["three_cat"]["rho"]),
                               rtol=0, atol=RHO_TOL)
    np.testing.assert_allclose(res.thresholds.to_numpy(), np.array(REF["three_cat"]["tau"]),
                               rtol=0, atol=CLOSED)


def test_tables_from_chunks_add_up_to_the_whole():
    items = BFI[[f"C{i}" for i in range(1, 6)]]
    whole = pair_tables(items)
    parts = pair_tables(items.iloc[:1000], categories=range(1, 7)) + \
        pair_tables(items.iloc[1000:], categories=range(1, 7))
    np.testing.assert_array_equal(parts.counts, whole.counts)
    assert parts.n_rows == 2800
    # a cell checked by hand: C1 = 6 and C2 = 5
    assert whole.counts[0, 5, 1, 4] == int(((items.C1 == 6) & (items.C2 == 5)).sum())
    r1 = polychoric_from_tables(parts).rho.to_numpy()
    np.testing.assert_allclose(r1, np.array(REF["C"]["rho"]), rtol=0, atol=RHO_TOL)


def test_bivariate_normal_cdf_matches_scipy():
    rng = np.random.default_rng(0)
    h, k = rng.normal(size=40) * 1.5, rng.normal(size=40) * 1.5
    h[:3] = 0.0
    k[2:4] = 0.0
    for r in (-0.999, -0.6, 0.0, 0.45, 0.93, 0.9999):
        ours = _bvn_cdf(h, k, np.full(40, r))
        ref = np.array([multivariate_normal(cov=[[1, r], [r, 1]]).cdf([a, b]) for a, b in zip(h, k)])
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)


def test_recovers_planted_correlation_with_empty_category():
    rng = np.random.default_rng(42)
    z = rng.multivariate_normal([0, 0, 0], [[1, .6, .3], [.6, 1, .5], [.3, .5, 1]], size=20000)
    codes = np.digitize(z, [-1.0, 0.0, 0.8, 9.0]) + 1   # category 5 never used
    df = pd.DataFrame(codes, columns=["x", "y", "z"])
    res = polychoric(df, categories=range(1, 6))
    assert np.isposinf(res.thresholds.loc["x", "4|5"])
    np.testing.assert_allclose(res.rho.to_numpy()[[0, 0, 1], [1, 2, 2]], [.6, .3, .5], atol=0.03)
    # an empty category does not change the estimate (zero-width band, zero count)
    res4 = polychoric(df)
    np.testing.assert_allclose(res.rho.to_numpy(), res4.rho.to_numpy(), atol=1e-9)
    tidy = res.to_frame()
    assert list(tidy.columns) == ["item_x", "item_y", "rho", "n"] and len(tidy) == 3
    assert isinstance(res, PolychoricResult) and "Полихорические" in res.summary()


def test_bad_input():
    with pytest.raises(DataError, match="нет разброса"):
        polychoric(pd.DataFrame({"a": [1, 1, 1], "b": [1, 2, 3]}))
    with pytest.raises(ValueError, match="допустимые значения «global», «pairwise»"):
        polychoric(BFI[["A1", "A2"]], thresholds="local")
    with pytest.raises(DataError, match="нет среди категорий"):
        pair_tables(BFI[["A1", "A2"]], categories=[1, 2, 3])
