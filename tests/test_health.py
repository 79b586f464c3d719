"""instrument_health: the decision rules on hand-made tables and the verdicts on the sample data.

The sample data (``data_samples``, written by ``proforient_diag.synth``) plant three flaws
(``synth.TRUTHS``): a weak item COG06 (GRM a = 0.35; forms 8-9 and 10-11), a ceiling item
MOT01 and an item with DIF by sex ACT04 (boys answer higher at equal θ; forms 5-7, 8-9,
10-11). Every other item is clean (a between 1.2 and 2.2), so every other item must be kept.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from proforient_diag.errors import DataError
from proforient_diag.ingest import read_responses
from proforient_diag.instrument import load_instrument
from proforient_diag.psychometrics import instrument_health
from proforient_diag.psychometrics.health import (
    GRM_A_LOW, R_DROP_REVISE, HealthResult, _omega_boot, _omega_total_1f, _shared_forms,
    invariance_supported, item_verdict, keyed_form, rules_table, scale_verdict)
from proforient_diag.synth import TRUTHS

ROOT = Path(__file__).resolve().parents[1]
YEAR = 2026
WEAK, CEILING, DIF_ITEM = (TRUTHS["weak_item"]["id"], TRUTHS["ceiling_item"]["id"],
                           TRUTHS["dif_item"]["id"])


# ----------------------------------------------------------------------------- item rules
def _row(**kw):
    base = dict(r_drop=0.5, share_floor=0.05, share_ceiling=0.4, alpha_if_dropped=0.78,
                scale_alpha=0.80, dif_class="A", dif_smd_sd=0.02, dif_p=0.6, dif_favoured="девушки",
                grm_a=1.5)
    base.update(kw)
    return base


def test_clean_item_is_kept():
    verdict, reasons, flags = item_verdict(_row())
    assert verdict == "keep" and reasons == "" and not any(flags.values())


@pytest.mark.parametrize("r, expected", [(0.25, "keep"), (0.20, "keep"), (0.19, "revise"),
                                         (0.10, "revise"), (0.09, "drop"), (-0.3, "drop")])
def test_r_drop_bands(r, expected):
    verdict, reasons, flags = item_verdict(_row(r_drop=r))
    assert verdict == expected
    assert flags["flag_r_drop"] == (expected != "keep")
    if expected != "keep":
        assert "корреляция" in reasons


@pytest.mark.parametrize("key, share, expected", [("share_ceiling", 0.80, "keep"),
                                                   ("share_ceiling", 0.81, "revise"),
                                                   ("share_floor", 0.95, "revise")])
def test_floor_ceiling(key, share, expected):
    verdict, reasons, flags = item_verdict(_row(**{key: share}))
    assert verdict == expected
    if expected == "revise":
        assert flags["flag_extreme"]
        assert ("потолка" if key == "share_ceiling" else "пола") in reasons
        assert "порог 80\u00a0%" in reasons


@pytest.mark.parametrize("gain, expected", [(0.005, "keep"), (0.02, "revise")])
def test_alpha_rise(gain, expected):
    verdict, _, flags = item_verdict(_row(alpha_if_dropped=0.80 + gain))
    assert verdict == expected and flags["flag_alpha_rise"] == (expected == "revise")


@pytest.mark.parametrize("cls, expected", [("A", "keep"), ("B", "keep"), ("C", "revise"),
                                           (None, "keep")])
def test_dif_class(cls, expected):
    verdict, reasons, flags = item_verdict(_row(dif_class=cls, dif_smd_sd=-0.4, dif_p=1e-6,
                                                dif_favoured="юноши"))
    assert verdict == expected
    if expected == "revise":
        assert flags["flag_dif"] and "класса C" in reasons and "юноши" in reasons


@pytest.mark.parametrize("a, expected", [(0.65, "keep"), (0.64, "revise"), (0.35, "revise"),
                                         (0.34, "drop"), (float("nan"), "keep")])
def test_grm_discrimination(a, expected):
    verdict, reasons, _ = item_verdict(_row(grm_a=a))
    assert verdict == expected
    if expected != "keep":
        assert "по Бейкеру" in reasons


def test_worst_verdict_wins_and_all_reasons_listed():
    verdict, reasons, flags = item_verdict(_row(r_drop=0.15, grm_a=0.2, share_ceiling=0.9))
    assert verdict == "drop"
    assert reasons.count("; ") == 2
    assert flags["flag_r_drop"] and flags["flag_grm_a"] and flags["flag_extreme"]


# ----------------------------------------------------------------------------- scale rules
def _scale(**kw):
    base = dict(alpha=0.85, omega=0.86, cfa_cfi=0.98, cfa_rmsea=0.04)
    base.update(kw)
    return base


@pytest.mark.parametrize("kw, expected", [
    ({}, "keep"),
    ({"alpha": 0.69}, "revise"),
    ({"omega": 0.49}, "drop"),
    ({"cfa_cfi": 0.89}, "revise"),
    ({"cfa_rmsea": 0.11}, "revise"),
    ({"cfa_cfi": float("nan"), "cfa_rmsea": float("nan")}, "keep"),
])
def test_scale_rules(kw, expected):
    verdict, reasons, _ = scale_verdict(_scale(**kw))
    assert verdict == expected
    assert (reasons == "") == (expected == "keep")


def test_scale_inherits_item_problems_and_non_invariance():
    inv = [{"group": "sex", "level": "metric", "supported": True, "delta_cfi": 0.0,
            "delta_rmsea": 0.0, "delta_srmr": 0.0},
           {"group": "sex", "level": "scalar", "supported": False, "delta_cfi": -0.05,
            "delta_rmsea": 0.04, "delta_srmr": 0.02},
           {"group": "sex", "level": "configural", "supported": np.nan, "delta_cfi": np.nan,
            "delta_rmsea": np.nan, "delta_srmr": np.nan}]
    verdict, reasons, flags = scale_verdict(_scale(), inv, {"X1": "keep", "X2": "drop"})
    assert verdict == "revise"
    assert flags["flag_invariance"] and flags["flag_items"]
    assert "скалярная" in reasons and "по полу" in reasons and "X2 (исключить)" in reasons
    assert "X1" not in reasons


@pytest.mark.parametrize("level, d, expected", [
    ("metric", (-0.020, 0.020, 0.0), False),     # CFI drop supplemented by RMSEA
    ("metric", (-0.020, 0.0, 0.031), False),     # ... or by SRMR
    ("metric", (-0.020, 0.010, 0.020), True),    # CFI drop alone
    ("metric", (-0.005, 0.030, 0.040), True),    # RMSEA/SRMR alone: ΔCFI is primary
    ("scalar", (-0.011, 0.0, 0.011), False),     # scalar SRMR bound is 0.010
    ("scalar", (-0.011, 0.0, 0.009), True),
])
def test_chen_rule(level, d, expected):
    assert invariance_supported(level, *d) is expected


def test_chen_rule_rejects_unknown_level():
    with pytest.raises(ValueError, match="metric"):
        invariance_supported("configural", 0, 0, 0)


def test_rules_table_states_every_threshold_with_a_source():
    t = rules_table()
    assert {"r_drop", "extreme", "alpha_rise", "dif", "grm_a", "reliability", "fit",
            "invariance", "items"} == set(t["rule"])
    assert (t["source"].str.len() > 0).all()
    assert t.loc[t["rule"] == "r_drop", "revise"].item() == f"r < {R_DROP_REVISE}"
    assert t.loc[t["rule"] == "grm_a", "revise"].item() == f"a < {GRM_A_LOW}"


# ----------------------------------------------------------------------------- omega bootstrap
def test_bootstrap_omega_uses_the_same_estimator_as_omega():
    from proforient_diag.psychometrics import omega

    rng = np.random.default_rng(3)
    f = rng.standard_normal(400)
    x = pd.DataFrame({f"i{j}": 0.7 * f + rng.standard_normal(400) for j in range(6)})
    R = x.corr().to_numpy()
    assert _omega_total_1f(R) == pytest.approx(omega(x.corr(), n_factors=1).omega_total, abs=1e-8)
    lo, hi = _omega_boot(x.to_numpy(), 30, seed=1)
    assert lo < omega(x, n_factors=1).omega_total < hi
    assert (lo, hi) == _omega_boot(x.to_numpy(), 30, seed=1)      # seeded
    assert all(math.isnan(v) for v in _omega_boot(x.to_numpy(), 0, seed=1))


# ----------------------------------------------------------------------------- sample data
@pytest.fixture(scope="module")
def sample():
    resp = read_responses(ROOT / "data_samples" / "diagnostics" / str(YEAR), year=YEAR).responses
    inst = load_instrument("psd", year=YEAR)
    return resp, inst


@pytest.fixture(scope="module")
def health(sample):
    resp, inst = sample
    return instrument_health(resp, inst, n_boot=20, seed=0)


def _forms_with(inst, item):
    return [b for b in inst.band_ids if item in inst.items_for(b)]


def test_keyed_form_reverses_with_the_response_scale(sample):
    resp, inst = sample
    x = keyed_form(resp, inst, "8-9")
    assert list(x.columns) == inst.items_for("8-9")
    rev = [i for i, k in inst.keys("8-9").items() if k < 0]
    assert rev                                                   # the form has reversed items
    raw = resp.loc[x.index]
    for i in rev:
        pd.testing.assert_series_equal(x[i], 6 - raw[i], check_names=False)
    i = next(i for i, k in inst.keys("8-9").items() if k > 0)
    pd.testing.assert_series_equal(x[i], raw[i].astype(float), check_names=False)


def test_planted_weak_item_is_named(health, sample):
    _, inst = sample
    rows = health.items[health.items["item"] == WEAK]
    assert sorted(rows["band"]) == sorted(_forms_with(inst, WEAK)) == ["10-11", "8-9"]
    for _, r in rows.iterrows():
        assert r["verdict"] != "keep"
        assert r["flag_grm_a"] and r["grm_a"] < GRM_A_LOW          # planted a = 0.35
        assert r["flag_r_drop"] and r["r_drop"] < R_DROP_REVISE
        assert "дискриминация" in r["reasons"]


def test_planted_ceiling_item_is_named(health, sample):
    _, inst = sample
    rows = health.items[health.items["item"] == CEILING]
    assert sorted(rows["band"]) == sorted(_forms_with(inst, CEILING))
    for _, r in rows.iterrows():
        assert r["verdict"] == "revise"
        assert r["flag_extreme"] and r["share_ceiling"] > 0.8
        assert "потолка" in r["reasons"]


def test_planted_dif_item_is_named_with_its_direction(health, sample):
    _, inst = sample
    rows = health.items[health.items["item"] == DIF_ITEM]
    assert sorted(rows["band"]) == sorted(_forms_with(inst, DIF_ITEM))
    for _, r in rows.iterrows():
        assert r["verdict"] == "revise"
        assert r["flag_dif"] and r["dif_class"] == "C"
        assert r["dif_smd_sd"] < 0 and r["dif_favoured"] == "юноши"   # boys higher at equal θ
        assert "юноши" in r["reasons"]


def test_no_clean_item_is_flagged(health):
    clean = health.items[~health.items["item"].isin([WEAK, CEILING, DIF_ITEM])]
    flagged = clean.loc[clean["verdict"] != "keep", ["band", "item", "reasons"]]
    assert flagged.empty, flagged.to_string()


def test_only_the_dif_scale_fails_invariance_by_sex(health):
    inv = health.invariance
    failed = inv[(inv["group"] == "sex") & (inv["supported"] == False)]  # noqa: E712
    assert set(failed["scale"]) <= {"ACT", "MOT"}            # the scales with planted items
    act = failed[failed["scale"] == "ACT"]
    assert set(act["band"]) == {"5-7", "8-9", "10-11"} and set(act["level"]) == {"scalar"}


def test_statistics_behind_the_verdicts(health, sample):
    from proforient_diag.psychometrics import alpha, item_analysis, omega

    resp, inst = sample
    x = keyed_form(resp, inst, "8-9")[inst.items_for("8-9", "COG")]
    ia = item_analysis(x, min_code=1, max_code=5)
    got = health.items[(health.items["band"] == "8-9") & (health.items["scale"] == "COG")]
    np.testing.assert_allclose(got["r_drop"], ia["r_drop"], rtol=1e-12)
    np.testing.assert_allclose(got["share_ceiling"], ia["share_ceiling"], rtol=1e-12)
    sc = health.scales.set_index(["band", "scale"]).loc[("8-9", "COG")]
    a = alpha(x)
    assert sc["alpha"] == pytest.approx(a.alpha, abs=1e-12)
    assert (sc["alpha_feldt_low"], sc["alpha_feldt_high"]) == pytest.approx(a.ci_feldt)
    assert sc["omega"] == pytest.approx(omega(x, n_factors=1, keys=np.ones(8)).omega_total)
    assert sc["omega_low"] < sc["omega"] < sc["omega_high"]
    assert sc["n"] == len(x) and sc["k"] == 8


def test_result_shape_and_summary(health):
    assert isinstance(health, HealthResult)
    f = health.to_frame()
    assert list(f.columns) == ["band", "scale", "item", "kind", "verdict", "verdict_ru", "reasons"]
    assert len(f) == len(health.items) + len(health.scales)
    assert set(f["verdict_ru"]) <= {"оставить", "доработать", "исключить"}
    text = health.summary()
    for item in (WEAK, CEILING, DIF_ITEM):
        assert item in text
    assert set(health.flagged()["item"].dropna()) == {WEAK, CEILING, DIF_ITEM}


def test_cross_form_invariance_uses_shared_items(sample):
    _, inst = sample
    forms, common = _shared_forms(inst, "MOT", inst.band_ids)
    assert forms == ["5-7", "8-9", "10-11"]                    # the 1-4 form shares no item
    assert all(all(i in inst.items_for(b, "MOT") for b in forms) for i in common)
    assert len(common) >= 3


def test_bad_input(sample):
    resp, inst = sample
    with pytest.raises(ValueError, match="groups"):
        instrument_health(resp, inst, groups=("school",), band="8-9")
    with pytest.raises(ValueError, match="band"):
        instrument_health(resp, inst, band="12")
    with pytest.raises(DataError, match="band"):
        instrument_health(resp.drop(columns="band"), inst)
    with pytest.raises(DataError, match="версии"):
        instrument_health(resp, load_instrument("psd", 2018), band="8-9")
    with pytest.raises(ValueError, match="n_boot"):
        instrument_health(resp, inst, band="8-9", n_boot=-1)
