"""McDonald's omega (Schmid–Leiman) against psych::omega 2.2.9 (tests/reference/omega.R)."""
import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, load_reference
from proforient_diag.psychometrics import omega
from proforient_diag.psychometrics.omega_sl import OmegaError

REF = load_reference("omega")
ITEMS = pd.read_csv(REFERENCE / "data" / "bfi.csv").iloc[:, :25]
ITER = 1e-3
CLOSED = 1e-6
ACE_KEYS = [-1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1]

CASES = {
    # id: (columns, n_factors, keys)  — the R call is written beside each case in omega.R
    "A_C_3": (slice(0, 10), 3, None),
    "all_3": (slice(0, 25), 3, None),
    "all_5": (slice(0, 25), 5, None),
    "E_N_2": (slice(10, 20), 2, None),
    "C_1": (slice(5, 10), 1, None),
    "ACE_keys_3": (slice(0, 15), 3, ACE_KEYS),
}


def _cols(cols):
    return np.array(cols, dtype=float).reshape(len(cols), -1).T


@pytest.mark.parametrize("case", list(CASES))
def test_omega_matches_psych(case):
    cols, nf, keys = CASES[case]
    ref = REF[case]
    res = omega(ITEMS.iloc[:, cols], n_factors=nf, keys=keys)
    assert res.omega_h == pytest.approx(ref["omega_h"], abs=ITER)
    assert res.omega_total == pytest.approx(ref["omega_total"], abs=ITER)
    assert res.omega_lim == pytest.approx(ref["omega_lim"], abs=ITER)
    assert res.ecv == pytest.approx(ref["ecv"], abs=ITER)
    assert res.alpha == pytest.approx(ref["alpha"], abs=CLOSED)
    assert res.g6 == pytest.approx(ref["g6"], abs=CLOSED)
    # keys: psych's flip = TRUE reverses items with negative general loadings
    np.testing.assert_array_equal(res.keys.to_numpy(), ref["key"])
    expected_names = [n.rstrip("-") for n in ref["sl_items"]]
    assert list(res.loadings.index) == expected_names
    assert list(res.loadings.columns) == ref["sl_columns"]
    np.testing.assert_allclose(res.loadings.to_numpy(), _cols(ref["sl"]), atol=ITER)
    np.testing.assert_allclose(res.g_loadings.to_numpy(), np.ravel(ref["gloading"]), atol=ITER)
    group = pd.DataFrame(ref["omega_group"]).replace("NA", np.nan).to_numpy(dtype=float)
    assert list(res.group.index) == ref["omega_group_rows"]
    np.testing.assert_allclose(res.group.to_numpy(), group, atol=ITER)
    if ref["phi"] is None:
        assert res.phi is None
    else:
        np.testing.assert_allclose(res.phi.to_numpy(), _cols(ref["phi"]), atol=ITER)


def test_omega_frame_and_summary():
    res = omega(ITEMS.iloc[:, :10], n_factors=3)
    tidy = res.to_frame()
    assert list(tidy.columns) == ["item", "factor", "loading"]
    assert len(tidy) == 10 * 4
    assert set(tidy.factor) == {"g", "F1*", "F2*", "F3*"}
    assert tidy.loc[(tidy.item == "A2") & (tidy.factor == "g"), "loading"].iloc[0] == \
        res.loadings.loc["A2", "g"]
    text = res.summary()
    assert "ω_h = 0,430" in text and "ω_t = 0,799" in text
    assert "A1, C4, C5" in text


def test_omega_keys_as_mapping_equal_sequence():
    cols = ITEMS.columns[:15]
    seq = omega(ITEMS[cols], 3, keys=ACE_KEYS)
    mapping = omega(ITEMS[cols], 3, keys=dict(zip(cols, ACE_KEYS)))
    assert mapping.omega_h == seq.omega_h
    pd.testing.assert_frame_equal(mapping.loadings, seq.loadings)


def test_omega_errors_are_russian():
    with pytest.raises(OmegaError, match="Ключей 3"):
        omega(ITEMS.iloc[:, :10], 3, keys=[1, -1, 1])
    with pytest.raises(OmegaError, match="\\+1 или −1"):
        omega(ITEMS.iloc[:, :5], 1, keys=[1, 2, 1, 1, 1])
    with pytest.raises(OmegaError, match="Число факторов"):
        omega(ITEMS.iloc[:, :5], 5)
    with pytest.raises(OmegaError, match="нет ключа"):
        omega(ITEMS.iloc[:, :5], 1, keys={"A1": -1})


def test_package_export_is_callable_after_module_import():
    import proforient_diag.psychometrics as pm
    import proforient_diag.psychometrics.omega_sl as module
    assert pm.omega(ITEMS.iloc[:, 5:10], 1).omega_total == \
        module.omega(ITEMS.iloc[:, 5:10], 1).omega_total == \
        pytest.approx(REF["C_1"]["omega_total"], abs=ITER)
    assert pm.OmegaResult is module.OmegaResult
