"""alpha and split_half against psych 2.2.9 on psychTools::bfi (tests/reference/reliability.R)."""
import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, load_reference
from proforient_diag.errors import DataError
from proforient_diag.psychometrics import AlphaResult, SplitHalfResult, alpha, split_half

REF = load_reference("reliability")
BFI = pd.read_csv(REFERENCE / "data" / "bfi.csv")
SCALES = ["A", "C", "E", "N", "O", "AC", "A_nokeys"]
CLOSED = 1e-6  # closed forms


@pytest.fixture(scope="module", params=SCALES, ids=SCALES)
def case(request):
    r = REF[request.param]
    return r, alpha(BFI[r["items"]], keys=r["keys"] or None)


@pytest.mark.parametrize("field,key", [
    ("alpha", "raw_alpha"), ("std_alpha", "std_alpha"), ("g6", "g6"),
    ("average_r", "average_r"), ("median_r", "median_r"), ("s_n", "s_n"), ("ase", "ase"),
    ("total_mean", "total_mean"), ("total_sd", "total_sd"), ("n", "n"),
])
def test_alpha_totals_match_psych(case, field, key):
    r, res = case
    assert getattr(res, field) == pytest.approx(r[key], abs=CLOSED)


def test_alpha_confidence_intervals_match_psych(case):
    r, res = case
    assert res.ci_feldt == pytest.approx((r["feldt_lower"], r["feldt_upper"]), abs=CLOSED)
    assert res.ci_duhachek == pytest.approx((r["duhachek_lower"], r["duhachek_upper"]), abs=CLOSED)
    assert res.ci_boot is None


@pytest.mark.parametrize("col,key", [
    ("alpha_if_dropped", "drop_raw_alpha"), ("std_alpha_if_dropped", "drop_std_alpha"),
    ("g6_if_dropped", "drop_g6"), ("average_r_if_dropped", "drop_average_r"),
    ("s_n_if_dropped", "drop_s_n"), ("alpha_se_if_dropped", "drop_alpha_se"),
    ("var_r_if_dropped", "drop_var_r"), ("median_r_if_dropped", "drop_med_r"),
    ("raw_r", "raw_r"), ("std_r", "std_r"), ("r_cor", "r_cor"), ("r_drop", "r_drop"),
    ("mean", "item_mean"), ("sd", "item_sd"), ("n", "item_n"),
])
def test_alpha_item_table_matches_psych(case, col, key):
    r, res = case
    assert list(res.items.index) == r["items"]
    np.testing.assert_allclose(res.items[col].to_numpy(float), r[key], rtol=0, atol=CLOSED)


def test_alpha_result_shape_and_text():
    r = REF["A"]
    res = alpha(BFI[r["items"]], keys=["A1"])
    assert isinstance(res, AlphaResult)
    assert res.k == 5 and res.keys["A1"] == -1 and res.keys["A2"] == 1
    fr = res.to_frame()
    assert set(fr.columns) == {"statistic", "value", "ci_low", "ci_high", "ci_method"}
    feldt = fr[(fr.statistic == "alpha") & (fr.ci_method == "Feldt")].iloc[0]
    assert feldt.ci_low == pytest.approx(r["feldt_lower"], abs=CLOSED)
    text = res.summary()
    assert "α Кронбаха = 0,70" in text and "[0,69; 0,72]" in text
    with pytest.raises(Exception):
        res.alpha = 0.5  # frozen


def test_keys_as_mapping_and_dash_prefix_agree_with_list():
    items = BFI[REF["C"]["items"]]
    a = alpha(items, keys=["C4", "C5"]).alpha
    assert alpha(items, keys={"C4": -1, "C5": -1, "C1": 1}).alpha == pytest.approx(a, abs=1e-12)
    assert alpha(items, keys=pd.Series({"C4": -1, "C5": -1})).alpha == pytest.approx(a, abs=1e-12)
    assert alpha(items, keys=["-C4", "-C5"]).alpha == pytest.approx(a, abs=1e-12)
    assert a == pytest.approx(REF["C"]["raw_alpha"], abs=CLOSED)


def test_bootstrap_is_seeded_and_brackets_alpha():
    items = BFI[REF["A"]["items"]]
    r1 = alpha(items, keys=["A1"], n_boot=200, seed=7)
    r2 = alpha(items, keys=["A1"], n_boot=200, seed=7)
    assert r1.ci_boot == r2.ci_boot
    lo, hi = r1.ci_boot
    assert lo < r1.alpha < hi
    # the percentile interval has about the Feldt/Duhachek width (sampling error ≈ ase)
    assert hi - lo == pytest.approx(2 * 1.96 * r1.ase, rel=0.35)


def test_bootstrap_complete_data_path_equals_pairwise_path():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(300, 1)) + rng.normal(size=(300, 4))
    df = pd.DataFrame(np.clip(np.round(z + 3), 1, 5), columns=list("abcd"))
    from proforient_diag.psychometrics.reliability import _boot_alpha
    x = df.to_numpy(float)
    b_fast = _boot_alpha(x, 20, 11)
    # the first replicate equals an explicit resample of rows drawn with the same seed
    rng2 = np.random.default_rng(11)
    idx = rng2.integers(0, 300, 300)
    C = np.cov(x[idx].T)
    direct = (1 - np.trace(C) / C.sum()) * 4 / 3
    assert b_fast[0] == pytest.approx(direct, abs=1e-12)
    # with a missing answer the pairwise branch gives the same first replicate on complete rows
    x_nan = x.copy()
    x_nan[0, 0] = np.nan
    rng3 = np.random.default_rng(5)
    idx = rng3.integers(0, 300, 300)
    direct = alpha(pd.DataFrame(x_nan[idx], columns=list("abcd"))).alpha
    assert _boot_alpha(x_nan, 1, 5)[0] == pytest.approx(direct, abs=1e-12)


def test_constant_item_and_too_few_items_raise_russian_errors():
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 2, 2, 2], "c": [1, 3, 2, 4]})
    with pytest.raises(DataError, match="нет разброса"):
        alpha(df)
    with pytest.raises(DataError, match="не меньше 2 пунктов"):
        alpha(df[["a"]])
    with pytest.raises(DataError, match="нет в блоке"):
        alpha(df[["a", "c"]], keys=["zz"])
    with pytest.raises(ValueError, match="n_boot"):
        alpha(df[["a", "c"]], n_boot=-1)


# ---------------------------------------------------------------- split half

@pytest.mark.parametrize("name", SCALES)
def test_split_half_matches_psych(name):
    r = REF[name]
    res = split_half(BFI[r["items"]])
    s = r["split"]
    assert res.max_split == pytest.approx(s["maxrb"], abs=CLOSED)
    assert res.lambda4 == pytest.approx(s["maxrb"], abs=CLOSED)
    assert res.min_split == pytest.approx(s["minrb"], abs=CLOSED)
    assert res.mean_split == pytest.approx(s["meanr"], abs=CLOSED)
    assert res.lambda2 == pytest.approx(s["lambda2"], abs=CLOSED)
    assert res.lambda6 == pytest.approx(s["lambda6"], abs=CLOSED)
    assert res.alpha == pytest.approx(s["alpha"], abs=CLOSED)
    assert res.average_r == pytest.approx(s["av_r"], abs=CLOSED)
    assert res.median_r == pytest.approx(s["med_r"], abs=CLOSED)
    assert res.n_splits == s["n_splits"] and res.enumerated


def test_split_half_check_keys_reverses_negative_items_like_psych():
    res = split_half(BFI[REF["A"]["items"]])
    assert res.keys.to_dict() == {"A1": -1, "A2": 1, "A3": 1, "A4": 1, "A5": 1}


def test_split_half_odd_length_mirrors_psych_enumeration():
    r = REF["split9"]
    res = split_half(BFI[r["items"]])
    assert res.n_splits == r["n_splits"] == 63
    assert res.max_split == pytest.approx(r["maxrb"], abs=CLOSED)
    assert res.min_split == pytest.approx(r["minrb"], abs=CLOSED)
    assert res.mean_split == pytest.approx(r["meanr"], abs=CLOSED)
    full = split_half(BFI[r["items"]], psych_compatible=False)
    assert full.n_splits == 126
    assert full.max_split >= res.max_split and full.min_split <= res.min_split
    assert max(r["raw"]) == pytest.approx(res.max_split, abs=CLOSED)


def test_split_half_sixteen_items_all_6435_splits():
    r = REF["split16"]
    res = split_half(BFI[r["items"]])
    assert res.n_splits == 6435
    for f, k in [("max_split", "maxrb"), ("min_split", "minrb"), ("mean_split", "meanr"),
                 ("lambda2", "lambda2"), ("lambda6", "lambda6"), ("alpha", "alpha")]:
        assert getattr(res, f) == pytest.approx(r[k], abs=CLOSED)


def test_split_half_random_halves_are_seeded():
    r = REF["split16"]
    a = split_half(BFI[r["items"]], n_sample=500, seed=1)
    b = split_half(BFI[r["items"]], n_sample=500, seed=1)
    assert not a.enumerated and a.n_splits == 500
    assert a.mean_split == b.mean_split
    assert a.max_split <= r["maxrb"] + 1e-12 and a.min_split >= r["minrb"] - 1e-12
    assert a.mean_split == pytest.approx(r["meanr"], abs=0.01)
    assert isinstance(a, SplitHalfResult)
    assert "λ4" in a.summary() and len(a.to_frame()) == 10
