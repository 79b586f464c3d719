"""DIF against R (tests/reference/dif.R): mantelhaen.test, Mantel's test written out, MASS::polr."""
import numpy as np
import pandas as pd
import pytest

from proforient_diag.errors import DataError
from proforient_diag.psychometrics.differential import dif
from tests.conftest import ROOT, load_reference

REF = load_reference("dif")
ITEMS = ["A1", "A2", "A3", "A4", "A5"]


@pytest.fixture(scope="module")
def bfi():
    b = pd.read_csv(ROOT / "tests" / "reference" / "data" / "bfi.csv")
    b["A1"] = 7 - b["A1"]
    return b


@pytest.fixture(scope="module")
def bfi01(bfi):
    d = bfi.copy()
    for it in ITEMS:
        d[it] = (bfi[it] >= 4).astype(float).where(bfi[it].notna())
    return d


@pytest.fixture(scope="module")
def logistic(bfi):
    return dif(bfi, ITEMS, "gender", focal=1, method="logistic").set_index("item")


def test_mh_dichotomous_matches_mantelhaen_test(bfi01):
    res = dif(bfi01, ITEMS, "gender", focal=1).set_index("item")
    assert list(res.index) == ITEMS
    for it in ITEMS:
        r = REF["mh_dichotomous"][it]
        row = res.loc[it]
        assert row["statistic"] == pytest.approx(r["statistic"], abs=1e-6)
        assert row["p_value"] == pytest.approx(r["p_value"], abs=1e-6)
        assert row["alpha_mh"] == pytest.approx(r["alpha_mh"], abs=1e-6)
        assert row["delta_mh"] == pytest.approx(r["delta_mh"], abs=1e-6)
        assert row["se_delta"] == pytest.approx(r["se_delta"], abs=1e-6)
        assert row["strata"] == ", ".join(f"{v:g}" for v in r["strata"])
        assert row["type"] == "дихотомическое"
    assert res["n_focal"].iloc[0] == REF["n_focal"]
    # A2: |D| = 1.07 >= 1 and significant, not >= 1.5 -> B; A1: |D| = 0.987 < 1 -> A
    assert res.loc["A2", "class"] == "B"
    assert res.loc["A1", "class"] == "A"
    assert set(res.loc[["A3", "A4", "A5"], "class"]) == {"A"}


def test_mantel_polytomous_and_smd(bfi):
    res = dif(bfi, ITEMS, "gender", focal=1, method="mh").set_index("item")
    for it in ITEMS:
        r = REF["mantel_polytomous"][it]
        row = res.loc[it]
        assert row["statistic"] == pytest.approx(r["statistic"], abs=1e-6)
        assert row["p_value"] == pytest.approx(r["p_value"], abs=1e-6)
        assert row["smd"] == pytest.approx(r["smd"], abs=1e-6)
        assert row["smd_sd"] == pytest.approx(r["smd_sd"], abs=1e-6)
        # strata with a single person are dropped exactly as in R (A4 loses rest score 5)
        assert row["strata"] == ", ".join(f"{v:g}" for v in r["strata"])
        assert np.isnan(row["delta_mh"])
    assert "5" not in res.loc["A4", "strata"].split(", ")
    # |SMD/SD| = .229 in (.17, .25], p < .05 -> BB; A4 .095 -> AA
    assert res.loc["A1", "class"] == "B"
    assert res.loc["A4", "class"] == "A"


def test_logistic_matches_polr(logistic):
    for it in ITEMS:
        r = REF["logistic_polytomous"][it]
        row = logistic.loc[it]
        for key in ("chi2_total", "chi2_uniform", "chi2_nonuniform"):
            assert row[key] == pytest.approx(r[key], abs=1e-4)
        for key in ("p_total", "p_uniform", "p_nonuniform"):
            assert row[key] == pytest.approx(r[key], abs=1e-6)
        assert row["loglik_m2"] == pytest.approx(r["loglik_m2"], abs=1e-4)
        assert row["beta_focal"] == pytest.approx(r["beta_focal"], abs=1e-4)
        assert row["r2_nagelkerke_delta"] == pytest.approx(r["r2n_m2"] - r["r2n_m0"], abs=1e-6)
        assert row["r2_mcfadden_delta"] == pytest.approx(r["r2mf_m2"] - r["r2mf_m0"], abs=1e-6)
        assert row["r2_nagelkerke_uniform"] == pytest.approx(r["r2n_m1"] - r["r2n_m0"], abs=1e-6)
    # every ΔR² is below .035 -> A under Jodoin–Gierl despite significant tests
    assert (logistic["class"] == "A").all()


def _planted(seed=1, n=4000, shift=1.2):
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    focal = rng.random(n) < 0.5
    b = np.linspace(-1.0, 1.0, 8)
    eta = 1.5 * (theta[:, None] - b[None, :])
    eta[:, 0] -= shift * focal   # item q1 is harder for the focal group
    x = (rng.random((n, 8)) < 1 / (1 + np.exp(-eta))).astype(float)
    df = pd.DataFrame(x, columns=[f"q{i + 1}" for i in range(8)])
    df["grp"] = np.where(focal, "F", "R")
    return df


def test_planted_dif_is_class_c():
    df = _planted()
    res = dif(df, [f"q{i + 1}" for i in range(8)], "grp", focal="F").set_index("item")
    # planted log-odds shift 1.2 -> D = 2.35 * 1.2 ~ 2.8 against the focal group
    assert res.loc["q1", "class"] == "C"
    assert res.loc["q1", "delta_mh"] < -1.5
    assert (res.drop("q1")["class"] != "C").all()
    lg = dif(df, [f"q{i + 1}" for i in range(8)], "grp", focal="F",
             method="logistic").set_index("item")
    assert lg.loc["q1", "p_uniform"] < 1e-6
    assert lg.loc["q1", "beta_focal"] < -0.8


def test_bad_input():
    df = _planted(n=200)
    items = [f"q{i + 1}" for i in range(8)]
    with pytest.raises(ValueError, match="mh"):
        dif(df, items, "grp", "F", method="sibtest")
    with pytest.raises(DataError, match="Фокальной группы"):
        dif(df, items, "grp", "X")
    with pytest.raises(DataError, match="нет столбцов"):
        dif(df, items + ["nope"], "grp", "F")
    df3 = df.copy()
    df3.loc[:10, "grp"] = "Z"
    with pytest.raises(DataError, match="ровно две группы"):
        dif(df3, items, "grp", "F")
