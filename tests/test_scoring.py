"""Scoring against hand-computed cases and an independent computation straight from the YAML."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from proforient_diag.ingest import read_responses
from proforient_diag.instrument import load_instrument
from proforient_diag.scoring import score, standard_scores

ROOT = Path(__file__).resolve().parents[1]
INST = load_instrument("psd", 2026)
EMPTY_NORMS = pd.DataFrame(columns=["band", "scale", "mean", "sd"])


def _one(band, answers: dict):
    row = {"band": band, **{i: np.nan for i in INST.items_for(band)}, **answers}
    return score(pd.DataFrame([row]), INST, norms=EMPTY_NORMS).scores.iloc[0]


def test_reverse_keys_use_the_response_scale_min_and_max():
    # 5–7 form, MOT: MOT01..MOT05, MOT04 reversed (1..5 → 6 − x)
    s = _one("5-7", {"MOT01": 5, "MOT02": 5, "MOT03": 5, "MOT04": 1, "MOT05": 5})
    assert s["MOT_mean"] == 5 and s["MOT"] == 100 and s["MOT_sum"] == 25
    s = _one("5-7", {"MOT01": 1, "MOT02": 1, "MOT03": 1, "MOT04": 5, "MOT05": 1})
    assert s["MOT_mean"] == 1 and s["MOT"] == 0
    # 1–4 form, 3-point scale: MOT_P04 reversed (1..3 → 4 − x)
    s = _one("1-4", {"MOT_P01": 3, "MOT_P02": 2, "MOT_P03": 2, "MOT_P04": 3})
    assert s["MOT_mean"] == pytest.approx((3 + 2 + 2 + 1) / 4)
    assert s["MOT"] == pytest.approx(100 * (2.0 - 1) / 2)


def test_prorating_at_the_threshold():
    # 5–7 MOT needs 3 of 5 answers: 3 answered → prorated; 2 answered → missing with a reason
    s = _one("5-7", {"MOT01": 4, "MOT02": 2, "MOT03": 3})
    assert s["MOT_n"] == 3 and s["MOT_mean"] == 3 and s["MOT_sum"] == 15
    df = pd.DataFrame([{"band": "5-7", **{i: np.nan for i in INST.items_for("5-7")}, "MOT01": 4, "MOT02": 2,
                        "respondent_id": "X", "source_file": "f.csv", "source_row": 7}])
    res = score(df, INST, norms=EMPTY_NORMS)
    assert np.isnan(res.scores.loc[0, "MOT"]) and np.isnan(res.scores.loc[0, "total"])
    m = res.missing.set_index("scale")
    assert m.loc["MOT", "reason"] == "отвечено на 2 из 5 заданий шкалы, нужно не меньше 3"
    assert m.loc["MOT", "source_row"] == 7 and m.loc["MOT", "source_file"] == "f.csv"
    assert m.loc["total", "reason"].startswith("индекс не вычислен")
    # 8–9: 8 items a scale, 5 needed
    items = INST.items_for("8-9", "COG")
    s = _one("8-9", {i: 4 for i in items[:5]})
    assert s["COG_n"] == 5 and s["COG_sum"] == pytest.approx(s["COG_mean"] * 8)


@pytest.mark.parametrize("band,total,level", [
    ("1-4", 49.99, "низкий"), ("1-4", 50.0, "средний"), ("1-4", 74.99, "средний"), ("1-4", 75.0, "высокий"),
    ("5-7", 44.99, "низкий"), ("5-7", 45.0, "средний"), ("8-9", 69.99, "средний"), ("10-11", 70.0, "высокий"),
])
def test_cut_score_boundaries_every_band(band, total, level):
    from proforient_diag.scoring import assign_levels
    got = assign_levels(pd.Series([total]), pd.Series([band]), INST)
    assert got.iloc[0] == level


def test_total_is_mean_of_band_scales():
    ans = {}
    for j, sc in enumerate(["MOT", "COG", "ACT", "EMO", "REF"]):
        for i in INST.items_for("10-11", sc):
            v = j + 1
            ans[i] = 6 - v if INST.item_by_id[i].reverse else v
    s = _one("10-11", ans)
    assert [s[c] for c in ["MOT", "COG", "ACT", "EMO", "REF"]] == [0, 25, 50, 75, 100]
    assert s["total"] == 50 and s["level"] == "средний"


def test_standard_scores_against_norms():
    norms = pd.DataFrame({"band": ["5-7"], "scale": ["total"], "mean": [60.0], "sd": [10.0]})
    z = standard_scores(pd.Series([60.0, 45.0, 80.0, 59.9, 100.0]), pd.Series(["5-7"] * 5), norms, "total")
    assert z["total_z"].tolist() == pytest.approx([0, -1.5, 2, -0.01, 4])
    assert z["total_t"].tolist() == pytest.approx([50, 35, 70, 49.9, 90])
    assert z["total_sten"].tolist() == [6, 3, 10, 5, 10]
    assert z["total_pr"].tolist() == pytest.approx([50, 6.680720, 97.724987, 49.601064, 99.996833], abs=1e-5)


def _independent(resp: pd.DataFrame, yaml_path: Path) -> pd.DataFrame:
    """Scores computed row by row straight from the YAML, without the package's model."""
    doc = yaml.safe_load(yaml_path.read_text(encoding="utf-8"))
    rs = doc["response_scales"]
    band_rs = {b["id"]: rs[b["response_scale"]] for b in doc["bands"]}
    out = []
    for _, r in resp.iterrows():
        b = r["band"]
        lo, hi = band_rs[b]["min"], band_rs[b]["max"]
        res = {}
        for sc in doc["scales"]:
            items = [it for it in doc["items"] if it["scale"] == sc["id"] and b in it["bands"]]
            if not items:
                continue
            vals = []
            for it in items:
                v = r[it["id"]]
                if v == v:
                    vals.append(lo + hi - v if it["reverse"] else v)
            need = sc["min_answered"][b]
            res[sc["id"]] = 100 * (sum(vals) / len(vals) - lo) / (hi - lo) if len(vals) >= need else np.nan
        comps = list(res.values())
        total = np.nan if any(c != c for c in comps) else sum(comps) / len(comps)
        cuts = doc["levels"]["cuts"][b]
        level = None if total != total else doc["levels"]["labels"][sum(total >= c for c in cuts)]
        out.append({**{k: v for k, v in res.items()}, "total": total, "level": level})
    return pd.DataFrame(out, index=resp.index)


def test_scores_agree_with_an_independent_computation_from_the_yaml():
    res = read_responses(ROOT / "data_samples" / "diagnostics" / "2026", year=2026)
    resp = res.responses.sample(600, random_state=1)
    mine = score(resp, INST).scores
    ref = _independent(resp, ROOT / "instruments" / "psd" / "2026.yaml")
    for c in ["MOT", "COG", "ACT", "EMO", "REF", "total"]:
        a, b = mine[c].to_numpy(float), ref[c].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        assert np.allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=1e-12), c
    assert [None if v != v else v for v in mine["level"].astype(object)] == \
        [None if v is None or v != v else v for v in ref["level"]]


def test_every_accepted_row_gets_a_score_row():
    res = read_responses(ROOT / "data_samples" / "diagnostics" / "2026", year=2026)
    sc = score(res.responses, INST)
    assert len(sc.scores) == len(res.responses)
    assert sc.scores["total"].notna().mean() > 0.97
    assert set(sc.missing["scale"]) <= {"MOT", "COG", "ACT", "EMO", "REF", "total"}
