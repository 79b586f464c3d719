"""item_analysis against psych 2.2.9 (alpha's item.stats, alpha.drop, response.freq) on bfi."""
import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, load_reference
from proforient_diag.errors import DataError
from proforient_diag.psychometrics import item_analysis

REF = load_reference("reliability")
BFI = pd.read_csv(REFERENCE / "data" / "bfi.csv")
CLOSED = 1e-6


@pytest.mark.parametrize("name", ["A", "C", "E", "N", "O", "AC"])
def test_item_table_matches_psych(name):
    r = REF[name]
    t = item_analysis(BFI[r["items"]], keys=r["keys"] or None)
    assert t.index.name == "item" and list(t.index) == r["items"]
    for col, key in [("n", "item_n"), ("mean", "item_mean"), ("sd", "item_sd"),
                     ("raw_r", "raw_r"), ("std_r", "std_r"), ("r_cor", "r_cor"),
                     ("r_drop", "r_drop"), ("alpha_if_dropped", "drop_raw_alpha"),
                     ("std_alpha_if_dropped", "drop_std_alpha"), ("g6_if_dropped", "drop_g6"),
                     ("average_r_if_dropped", "drop_average_r"),
                     ("share_missing", "freq_miss")]:
        np.testing.assert_allclose(t[col].to_numpy(float), r[key], rtol=0, atol=CLOSED,
                                   err_msg=col)
    cols = [f"p_{int(c)}" for c in r["freq_codes"]]
    np.testing.assert_allclose(t[cols].to_numpy(), np.array(r["freq"]), rtol=0, atol=CLOSED)
    # no arrays in cells: every column is a plain numeric column
    assert all(pd.api.types.is_numeric_dtype(dt) for dt in t.dtypes)


def test_floor_ceiling_observed_and_scale_bounds():
    df = pd.DataFrame({"a": [2, 2, 3, 4, np.nan], "b": [1, 2, 3, 3, 3], "c": [4, 3, 2, 2, 1]})
    t = item_analysis(df)
    # observed min/max of each item, shares among the answers given
    assert t.loc["a", "share_floor"] == pytest.approx(2 / 4)
    assert t.loc["a", "share_ceiling"] == pytest.approx(1 / 4)
    assert t.loc["b", "share_ceiling"] == pytest.approx(3 / 5)
    assert list(c for c in t.columns if c.startswith("p_")) == ["p_1", "p_2", "p_3", "p_4"]
    t5 = item_analysis(df, min_code=1, max_code=5)
    assert t5.loc["a", "share_floor"] == 0.0 and t5.loc["b", "share_floor"] == pytest.approx(0.2)
    assert t5.loc["c", "share_ceiling"] == 0.0
    assert t5["p_5"].tolist() == [0.0, 0.0, 0.0]
    assert t5.loc["a", "n"] == 4 and t5.loc["a", "share_missing"] == pytest.approx(0.2)


def test_reverse_key_uses_whole_block_range():
    # block range 1..5 although item c only uses 1..4: reversed c = 6 - c
    df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 4], "c": [4, 3, 2, 2, 1]})
    t = item_analysis(df, keys=["c"])
    assert t.loc["c", "mean"] == pytest.approx(6 - df["c"].mean())
    # psych's r.drop by hand for c: cor of reversed c with a + b
    rc = 6 - df["c"]
    assert t.loc["c", "r_drop"] == pytest.approx(np.corrcoef(rc, df["a"] + df["b"])[0, 1], abs=1e-12)
    # alpha without c, by the textbook formula
    C = np.cov(df[["a", "b"]].T)
    assert t.loc["c", "alpha_if_dropped"] == pytest.approx(2 * (1 - np.trace(C) / C.sum()), abs=1e-12)


def test_constant_item_is_described_but_not_correlated():
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [3, 3, 3, 3], "c": [1, 3, 2, 4], "d": [2, 3, 2, 4]})
    t = item_analysis(df, min_code=1, max_code=4)
    assert t.loc["b", "sd"] == 0 and t.loc["b", "p_3"] == 1.0
    assert np.isnan(t.loc["b", "r_drop"])
    assert np.isfinite(t.loc[["a", "c", "d"], "r_drop"]).all()


def test_bad_input_raises_russian_errors():
    with pytest.raises(DataError, match="не числовые"):
        item_analysis(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
    with pytest.raises(DataError, match="нет ни одного ответа"):
        item_analysis(pd.DataFrame({"a": [np.nan, np.nan], "b": [1, 2]}))
    with pytest.raises(DataError, match="вне шкалы"):
        item_analysis(pd.DataFrame({"a": [1, 7], "b": [1, 2]}), min_code=1, max_code=5)
    with pytest.raises(DataError, match="\\+1 или −1"):
        item_analysis(pd.DataFrame({"a": [1, 2], "b": [1, 2]}), keys={"a": 2})
