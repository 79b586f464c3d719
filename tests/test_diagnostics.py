"""The annual diagnostics analysis on the bundled sample (planted truths in data_samples/truths.json)."""
import dataclasses
import json

import numpy as np

from proforient_diag.instrument import load_instrument
import pandas as pd
import pytest

from proforient_diag.diagnostics import (BAND_ORDER, Waves, conclusions, diagnose, load_waves,
                                         make_weights, municipal_appendix)
from proforient_diag.privacy import FLAG_HIDDEN, FLAG_IMPRECISE, assert_publishable

KEY = b"test-key-for-diagnostics-0123456789"
CHANGE_WORDS = ("выросла", "снизилась", "вырос ", "снизился")


@pytest.fixture(scope="module")
def waves(root, tmp_path_factory):
    return load_waves(root / "data_samples", range(2018, 2027),
                      store_path=tmp_path_factory.mktemp("store") / "s.duckdb", key=KEY)


@pytest.fixture(scope="module")
def weights(waves):
    return make_weights(waves)


@pytest.fixture(scope="module")
def diag(waves, weights):
    return diagnose(waves, 2026, weights=weights)


@pytest.fixture(scope="module")
def truths(root):
    with open(root / "data_samples" / "truths.json", encoding="utf-8") as fh:
        return json.load(fh)


def test_waves_pseudonymous_and_complete(waves):
    assert waves.years == tuple(range(2018, 2027))
    assert "respondent_id" not in waves.scores.columns
    assert waves.scores["respondent_pid"].str.fullmatch(r"P[0-9a-f]{16}").all()
    assert set(waves.scores["instrument_version"]) == {2018, 2021, 2024, 2026}
    assert waves.scores.groupby("year").size().between(3000, 3400).all()


def test_planted_trend_recovered(diag, truths):
    s = diag.trend_slope.iloc[0]
    expected = truths["expected_total_slope_per_year"]
    assert s["slope"] > 0
    assert s["ci_low_total"] <= expected <= s["ci_high_total"]
    assert s["se_linking"] > 0 and s["se_total"] > s["se"]
    assert bool(s["all_linked"])


def test_linked_years_marked_and_linking_error_positive(diag):
    ly = diag.linking_years.set_index("year")
    assert ly.loc[2026, "linked"] is None and ly.loc[2026, "le_total"] == 0
    for y in range(2018, 2026):
        assert ly.loc[y, "linked"] is True
        assert ly.loc[y, "le_total"] > 0
    # years of one version share one linking error (it cancels in their difference)
    assert ly.loc[2018, "le_total"] == ly.loc[2020, "le_total"]
    assert (diag.linking_pairs["linking_error"] >= 0).all()
    assert (diag.linking_pairs.query("score == 'total'")["linking_error"] > 0).any()
    ch = diag.changes.set_index(["score", "reference"])
    assert ch.loc[("total", 2018), "se_linking"] > 0
    assert ch.loc[("total", 2025), "se_linking"] > 0
    ty = diag.trend_years.set_index("year")
    assert ty.loc[2019, "linked"] is True and ty.loc[2026, "linked"] is None


def test_unlinked_versions_warned_never_concluded(waves, weights):
    d = diagnose(waves, 2026, weights=weights, linking="none")
    assert any("не связаны" in w for w in d.warnings)
    ch = d.changes.set_index(["score", "reference"])
    assert not ch.loc[("total", 2018), "linked"]
    assert ch.loc[("total", 2018), "verdict"] == "не связаны"
    text = " ".join(conclusions(d))
    assert "2018 годом" not in text and "2025 годом" not in text
    assert not bool(d.trend_slope.iloc[0]["all_linked"])


def test_weighted_coverage_equals_enrolment(waves, weights):
    cov = weights.coverage
    assert len(cov) and cov["n"].notna().all()
    np.testing.assert_allclose(cov["weighted_n"], cov["enrolled"], rtol=1e-6)
    for y in waves.years:
        w = weights.weights[waves.scores["year"] == y].dropna()
        enr = waves.enrolment.query("year == @y")["n_enrolled"].sum()
        unc = weights.uncovered.query("year == @y")["n_enrolled"].sum()
        assert w.sum() == pytest.approx(enr - unc, rel=1e-6)
        # grade × sex margin holds too
        s = waves.scores.loc[w.index]
        got = w.groupby([s["grade"], s["sex"].astype(str)]).sum()
        e = waves.enrolment.query("year == @y").groupby(["grade", "sex"])["n_enrolled"].sum()
        np.testing.assert_allclose(got.to_numpy(), e.reindex(got.index).to_numpy(), rtol=1e-6)


def test_municipal_appendix_publishable(waves, diag):
    ids = set(waves.scores["respondent_pid"])
    for t in (diag.appendix, diag.levels_municipality, diag.coverage_municipality):
        assert_publishable(t, threshold=10, count_col="n")
        cells = set(t.astype(str).to_numpy().ravel())
        assert not cells & ids
        assert not any(c.startswith("P") and len(c) == 17 for c in cells)
        assert not {"respondent_pid", "respondent_id"} & set(t.columns)
    # a high threshold hides cells, with complementary suppression, and still passes the guard
    cur = diag.data[diag.data["year"] == 2026]
    app = municipal_appendix(cur, weights="weight", threshold=110, imprecise_below=130)
    hidden = app["flag"] == FLAG_HIDDEN
    assert hidden.sum() >= 2
    assert app.loc[hidden, ["n", "mean", "высокий"]].isna().all().all()
    visible = app.loc[~hidden, "n"]
    assert (visible >= 110).all()
    imprecise = app["n"].between(110, 129)
    assert imprecise.any() and (app.loc[imprecise, "flag"] == FLAG_IMPRECISE).all()
    assert_publishable(app, threshold=110)


def test_conclusions_follow_the_numbers(diag):
    text = conclusions(diag)
    assert any(s.startswith("За 2018–2026 годы") and "выросла" in s for s in text)
    for tab, lo, hi in ((diag.changes, "ci_low", "ci_high"),
                        (diag.level_changes, "ci_low_pp", "ci_high_pp"),
                        (diag.subgroup_changes, "ci_low", "ci_high")):
        zero = (tab[lo] <= 0) & (tab[hi] >= 0)
        assert (tab.loc[zero, "verdict"] == "нет").all()
        assert (tab.loc[tab["verdict"] == "рост", lo] > 0).all()
        assert (tab.loc[tab["p_adj"] >= 0.05, "verdict"] != "рост").all()
    # every sentence claiming change quotes a CI that excludes zero
    for s in text:
        if ("выросла на" in s or "снизилась на" in s) and "ДИ" in s:
            assert "ДИ от −" not in s or "снизилась" in s
    assert any(s.startswith("Рекомендуется") for s in text)


def _null_waves(waves: Waves) -> Waves:
    """2025 = 2026 with the score rows shuffled across the region within band × sex: no change."""
    rng = np.random.default_rng(1)
    sc = waves.scores[waves.scores["year"] == 2026].copy()
    cols = [c for c in sc.columns if c.split("_")[0] in ("MOT", "COG", "ACT", "EMO", "REF",
                                                          "total")] + ["level"]
    prev = sc.copy()
    prev["year"] = 2025
    prev["file"] = prev["file"].str.replace("2026", "2025")
    for _, idx in prev.groupby(["band", "sex"]).groups.items():
        perm = rng.permutation(idx)
        prev.loc[idx, cols] = prev.loc[perm, cols].to_numpy()
    scores = pd.concat([prev, sc], ignore_index=True)
    rs = waves.responses[waves.responses["year"] == 2026]
    enr = waves.enrolment.query("year == 2026")
    loads = waves.loads.query("year == 2026")
    return dataclasses.replace(
        waves, years=(2025, 2026), scores=scores,
        responses=pd.concat([rs.assign(year=2025), rs], ignore_index=True),
        enrolment=pd.concat([enr.assign(year=2025), enr], ignore_index=True),
        loads=pd.concat([loads.assign(year=2025), loads], ignore_index=True),
        instruments={2026: waves.instruments[2026]})


def test_null_case_claims_no_change(waves):
    d = diagnose(_null_waves(waves), 2026)
    assert (d.changes["verdict"] == "нет").all()
    assert (d.level_changes["verdict"] == "нет").all()
    assert (d.subgroup_changes["verdict"] == "нет").all()
    tot = d.changes.set_index("score").loc["total"]
    assert tot["ci_low"] < 0 < tot["ci_high"]
    text = conclusions(d)
    assert not any(w in s for s in text for w in CHANGE_WORDS)
    assert any("не изменилась статистически значимо" in s for s in text)


def test_municipality_restricts_the_note(waves, weights):
    d = diagnose(waves, 2026, weights=weights, municipality="MO04")
    assert set(d.data["municipality_code"]) == {"MO04"}
    assert d.municipality_name.startswith("Кемеровский")
    assert list(d.municipalities_vs_region["municipality_code"]) == ["MO04"]
    assert set(d.appendix["municipality"]) == {d.municipality_name, "Регион"}
    assert "Регион" in set(d.levels_band["band"])
    assert set(d.trend_years["group"]) == {d.municipality_name, "Регион"}
    assert set(d.levels_band["band"]) >= set(BAND_ORDER)


def test_unadjusted_ci_excluding_zero_is_explained_not_claimed():
    from proforient_diag.diagnostics.conclusions import _adjusted_only
    assert _adjusted_only(0.5, 6.1).startswith(": доверительный интервал не включает 0")
    assert _adjusted_only(-6.1, -0.5) != "" and _adjusted_only(-0.5, 6.1) == ""


# ----------------------------------------------------------------------------- small band

SMALL_MO, SMALL_BAND = "MO07", "10-11"


@pytest.fixture(scope="module")
def small_band_dir(root, tmp_path_factory):
    """data_samples with 2024–2026 only, and grades 10–11 of MO07 in 2026 cut to 6 rows."""
    import shutil
    ds = tmp_path_factory.mktemp("small") / "data"
    shutil.copytree(root / "data_samples", ds)
    for y in range(2018, 2024):   # fewer waves: the same tables, a faster test
        shutil.rmtree(ds / "diagnostics" / str(y))
    path = ds / "diagnostics" / "2026" / f"{SMALL_MO}_2026.csv"
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    grade = pd.to_numeric(d["grade"], errors="coerce")
    band = grade >= 10
    assert band.sum() > 20
    d[~band | (band & (band.cumsum() <= 6))].to_csv(path, index=False)
    return ds


@pytest.fixture(scope="module")
def small_diag(small_band_dir, tmp_path_factory):
    w = load_waves(small_band_dir, range(2018, 2027), key=KEY,
                   store_path=tmp_path_factory.mktemp("small_store") / "s.duckdb")
    return diagnose(w, 2026, municipality=SMALL_MO)


def _frames(diag):
    """Every published table of the result (the respondent-level ``data`` is not one)."""
    return {f.name: getattr(diag, f.name) for f in dataclasses.fields(diag)
            if isinstance(getattr(diag, f.name), pd.DataFrame) and f.name != "data"}


def _band_rows(name, t):
    """Rows of ``t`` describing one band, by band label."""
    if name == "subgroup_changes":
        return t[t["by"] == "band"], "subgroup"
    if name == "cohorts":
        return t, "group"
    return t, "band"


BAND_TABLES = ("coverage_band", "levels_band", "profiles", "reliability", "subgroup_changes",
               "cohorts")
TOTALS = {"Всего", "Регион", "все"}


def test_small_band_hidden_consistently_in_every_table(small_diag):
    d = small_diag
    frames = _frames(d)
    cb = d.coverage_band.set_index("band")
    assert cb.loc[SMALL_BAND, "flag"] == FLAG_HIDDEN
    assert np.isnan(cb.loc[SMALL_BAND, "n"])
    hidden = set(cb.index[(cb["flag"] == FLAG_HIDDEN) & cb.index.isin(BAND_ORDER)])
    assert len(hidden) >= 2          # complementary suppression against «Всего»
    assert cb.loc["Всего", "flag"] != FLAG_HIDDEN and cb.loc["Всего", "n"] >= 10

    # 1. no visible count below the threshold anywhere
    for name, t in frames.items():
        for c in t.columns:
            if c == "n" or (c.startswith("n_") and c != "n_form_change"):
                v = pd.to_numeric(t[c], errors="coerce")
                assert not ((v > 0) & (v < 10)).any(), (name, c, t.loc[(v > 0) & (v < 10)])

    # 2. the same bands are hidden in every band table, with all their numbers
    for name in BAND_TABLES:
        t, col = _band_rows(name, frames[name])
        assert len(t), name
        for b in hidden:
            rows = t[t[col] == b]
            assert len(rows), (name, b)
            assert (rows["flag"] == FLAG_HIDDEN).all(), (name, b)
            values = [c for c in ("n", "n_ref", "n_pairs", "mean", "mean_ref", "mean_first",
                                  "mean_second", "mean_change", "diff", "alpha", "df", "total",
                                  "высокий", "низкий", "ci_low", "p") if c in rows]
            assert rows[values].isna().all().all(), (name, b)
        shown = set(t.loc[t["flag"] != FLAG_HIDDEN, col]) & set(BAND_ORDER)
        assert not shown & hidden, name

    # 3. no single hidden cell next to a visible total (a band, sex or area set)
    sets = {"coverage_band": [], "levels_band": [], "profiles": [], "cohorts": ["years"],
            "subgroup_changes": ["by", "reference"]}
    for name, keys in sets.items():
        t = frames[name]
        label = "subgroup" if name == "subgroup_changes" else \
            ("group" if name == "cohorts" else "band")
        cells = t[~t[label].isin(TOTALS)]
        for _, g in (cells.groupby(keys) if keys else [((), cells)]):
            n_hidden = int((g["flag"] == FLAG_HIDDEN).sum())
            assert not (n_hidden == 1 and len(g) > 1), (name, g[[label, "flag"]])

    # hidden groups are never turned into sentences
    text = " ".join(conclusions(d))
    for b in hidden:
        assert f"{b.replace('-', '–')} классах" not in text


def test_small_band_rendered_note_passes_the_audit(root, small_band_dir, tmp_path, monkeypatch):
    from proforient_diag.report.audit import audit_notes
    from proforient_diag.report.runner import run_note

    monkeypatch.setenv("PROFORIENT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PROFORIENT_KEY", KEY.decode())
    out = tmp_path / "note"
    run_note(root / "notebooks" / "annual_diagnostics.ipynb", out,
             {"year": 2026, "data_dir": str(small_band_dir), "municipality": SMALL_MO,
              "suppress_threshold": 10}, name="small", title="Справка", formats=("html",),
             year=2026, keep_notebook=False)
    html = (out / "small.html").read_text(encoding="utf-8")
    problems = audit_notes(out)
    assert problems.empty, problems.to_string()
    assert "—<sup>*</sup>" in html and "Значение скрыто" in html
    assert "No description has been provided" not in html
    assert 'alt="Рисунок 1. ' in html
    # the cohort table's total row is a total: the hidden band rows come in pairs
    cohort = html[html.index("одних и тех же обучающихся"):]
    cohort = cohort[:cohort.index("</table>")]
    assert cohort.count("10–11\u00a0классы") == 1 and "все параллели" in cohort
    assert cohort.count("—<sup>*</sup>") >= 2 * 8


def test_reliability_keeps_a_scale_alpha_cannot_be_computed(waves, weights):
    d = diagnose(waves, 2026, weights=weights, municipality="MO07")
    rel = d.reliability.set_index(["band", "scale"])
    row = rel.loc[("8-9", "MOT")]
    assert np.isnan(row["alpha"]) and row["n"] >= 10
    text = load_instrument("psd", 2026).item_by_id["MOT01"].text.rstrip(".")
    assert row["verdict"] == f"не вычислена: у утверждения «{text}» нет разброса ответов"
    assert row["flag"] != FLAG_HIDDEN
    # every band × scale of the form is listed
    assert set(rel.index.get_level_values("band")) == set(BAND_ORDER)
    assert rel.loc[("5-7", "MOT"), "alpha"] > 0
    # the appendix has a plain index (no pandas «index» column in the note)
    assert list(d.appendix.index) == list(range(len(d.appendix)))
    # the number of observations is a count
    ws = d.weight_summary.set_index("показатель")["значение"]
    assert isinstance(ws["Число наблюдений"], int)
