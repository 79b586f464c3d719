"""Tests of the roadmap monitoring: spec against the roadmap text, form reading with full
accounting, hand-computed aggregation, planted growth and the planted activity association."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from proforient_diag.errors import DiagError, FormError
from proforient_diag.forms import read_forms, write_form_template
from proforient_diag.monitoring import (activity_association, aggregate, change, composite_index,
                                        rank_intervals,
                                        targets)
from proforient_diag.monitoring_findings import MONITORING_SECTIONS, conclusions, indicator_label

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data_samples"
MON = SAMPLES / "monitoring"
ROADMAP = ROOT.parent / "shared" / "seed" / "roadmap-2018-2027.txt"


@pytest.fixture(scope="module")
def sample(register, spec):
    schools, enrolment = register
    return read_forms(MON, schools=schools, enrolment=enrolment, spec=spec)


@pytest.fixture(scope="module")
def truths():
    return json.loads((MON / "truths_monitoring.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def agg(sample, spec):
    return pd.concat([aggregate(sample.forms, spec, "region"), aggregate(sample.forms, spec, "municipality")],
                     ignore_index=True)


# -- the spec -------------------------------------------------------------------------------------

EXPECTED_UNITS = {
    "1.1": "Ед.", "1.2": "Ед.", "1.3": "Ед.", "1.4": "Ед.",
    "2.1": "Чел.", "2.2": "Чел.", "2.3": "Чел.",
    "3.1": "Да/нет", "3.2": "Ед.", "3.3": "Ед.",
    "4.1": "Процент обучающихся от общего количества обучающихся ОО",
    "4.2": "Процент обучающихся от общего количества обучающихся ОО",
    "4.3": "Ед.", "4.4": "Чел.", "4.5": "Ед.",
    "5.1": "Кол.", "5.2": "Кол.", "5.3": "Кол.",
}


def test_spec_has_every_indicator_of_the_table(spec):
    ind = spec.indicators
    # the table has 4 + 3 + 3 + 5 + 3 = 18 rows (the organisational block numbers «4.2» twice, so
    # renumbered in order it is 4.1–4.5)
    assert ind["id"].tolist() == list(EXPECTED_UNITS)
    assert ind.groupby("criterion").size().to_dict() == {1: 4, 2: 3, 3: 3, 4: 5, 5: 3}
    assert dict(zip(ind["id"], ind["unit"])) == EXPECTED_UNITS
    assert dict(zip(spec.criteria["id"], spec.criteria["name"])) == {
        1: "Нормативный", 2: "Кадровый", 3: "Научно-методический", 4: "Организационный", 5: "Информационный"}
    renumbered = ind.set_index("id").loc[["4.3", "4.4", "4.5"]]
    assert renumbered["original_id"].tolist() == ["4.2", "4.3", "4.4"]
    assert "4.2" in renumbered.loc["4.3", "note"] and "дважды" in renumbered.loc["4.3", "note"]
    assert set(ind["type"]) == {"count", "presence", "share"}
    agg_of = dict(zip(ind["type"], ind["aggregation"]))
    assert agg_of == {"count": "sum", "presence": "share_yes", "share": "weighted_pct"}


def test_wordings_are_verbatim_from_the_roadmap(spec):
    # the table is a two-column layout flattened to text: unit words interleave with the wording,
    # so each wording's words must follow its number in order within the next 80 words
    words = ROADMAP.read_text(encoding="utf-8").split()
    starts = {}
    for i, w in enumerate(words):
        starts.setdefault(w, []).append(i)
    for r in spec.indicators.itertuples():
        target = r.wording.split()
        found = False
        for s in starts.get(f"{r.original_id}.", []):
            window = iter(words[s + 1:s + 90])
            if all(any(t == w for w in window) for t in target):
                found = True
                break
        assert found, r.id


def test_joint_events_by_level_portfolio_and_calendar(spec):
    m = spec.measures
    levels = m[(m["indicator"] == "4.3") & ~m["derived"]]["level"].tolist()
    assert levels == ["образовательной организации", "муниципалитета", "региона", "межрегиональный",
                      "всероссийский", "международный"]
    assert m.loc[m["derived"], "column"].tolist() == ["i4_3"]
    assert "Портфолио" in spec.indicators.set_index("id").loc["4.2", "wording"]
    ev = spec.raw["calendar"]["events"]
    assert [e["month"] for e in ev] == [3, 4, 5, 9, 12]
    assert ev[0]["name"] == "Фестиваль профессий"
    assert (m.loc[m["indicator"] == "к4.1", "kind"] == "yesno").all()
    assert "процентильный ранг" in spec.raw["composite"]["description"]


# -- reading the sample -------------------------------------------------------------------------

def test_sample_forms_full_accounting(sample, truths):
    f = sample.files
    assert (f["rows"] == f["accepted"] + f["excluded"]).all()
    assert f["accepted"].sum() == len(sample.forms)
    assert f["excluded"].sum() == len(sample.exclusions)
    assert len(f) == 27  # 9 years × (one XLSX + two cp1251 CSV)
    assert set(f["encoding"][f["format"] == "csv"]) == {"Windows-1251"}
    # per year: the unknown school, the duplicate form, the empty row
    ex = sample.exclusions
    assert len(ex) == 27
    assert ex["reason"].str.startswith("повторная форма").sum() == 9
    dups = ex[ex["reason"].str.startswith("повторная форма")]
    assert sorted(dups["school_id"]) == sorted(truths["dirt"]["duplicate"].values())
    assert sorted(ex.loc[ex["reason"].str.contains("нет в справочнике"), "school_id"]) == \
        sorted(truths["dirt"]["unknown_school"].values())
    assert (ex["reason"] == "пустая строка").sum() == 9
    # one form per school-year, and the schools that sent none are named
    assert not sample.forms.duplicated(["school_id", "year"]).any()
    for y, ids in truths["dirt"]["no_form"].items():
        got = sample.missing_schools.loc[sample.missing_schools["year"] == int(y), "school_id"].tolist()
        assert got == sorted(ids)
    comp = sample.completeness.set_index(["year", "level"]).loc[(2026, "region")]
    assert comp["expected"] - comp["received"] == len(truths["dirt"]["no_form"]["2026"])
    assert comp["share"] == pytest.approx(100 * comp["received"] / comp["expected"])


def test_planted_bad_cells_are_reported_and_blanked(sample, truths):
    iss = sample.issues
    forms = sample.forms.set_index(["year", "school_id"])
    col_of = {"i4_1": "4.1. Охват", "i1_4": "1.4. Число", "i5_1": "5.1. Профориентационный"}
    reason_of = {"i4_1": "процент должен быть от 0 до 100", "i1_4": "целым неотрицательным",
                 "i5_1": "не распознан как «да» или «нет»"}
    for c in truths["dirt"]["cells"]:
        if c["school_id"] in truths["dirt"]["no_form"][str(c["year"])]:
            continue
        hit = iss[(iss["school_id"] == c["school_id"]) & iss["column"].str.startswith(col_of[c["column"]])
                  & iss["source_file"].str.contains(f"/{c['year']}/")]
        assert len(hit) == 1, c
        assert reason_of[c["column"]] in hit["reason"].iloc[0]
        assert hit["value"].iloc[0] == c["value"]
        assert np.isnan(forms.loc[(c["year"], c["school_id"]), c["column"]])
    off = iss[iss["reason"].str.contains("расходится с контингентом")]
    assert sorted(off["school_id"]) == sorted(truths["dirt"]["n_students_off"].values())


# -- aggregation by hand ---------------------------------------------------------------------------

def test_aggregation_matches_hand_computation_for_krasnobrodsky(agg):
    # MO07 (Краснобродский ГО) has two schools; monitoring_2026_MO07.csv holds, per school:
    # n (register) 625 / 638; 4.1 % 36 / 43; 4.2 % 64 / 57; 1.3 нет / да; 1.4 0 / 2;
    # 2.3 7 / 13; 4.3 by level 6,2,2,0,1,0 / 5,2,1,0,1,0; 5.2 да / yes; April да / ДА; September нет / нет
    a = agg[(agg["unit"] == "MO07") & (agg["year"] == 2026)].set_index("measure")
    assert a.loc["i4_1", "value"] == pytest.approx((36 * 625 + 43 * 638) / (625 + 638), abs=1e-9)
    assert a.loc["i4_1", "value"] == pytest.approx(39.536025, abs=1e-6)
    assert a.loc["i4_2", "value"] == pytest.approx((64 * 625 + 57 * 638) / 1263, abs=1e-9)
    assert a.loc["i4_1", "n_students"] == 1263
    assert a.loc["i1_3", "value"] == 50.0 and a.loc["i1_3", "n_yes"] == 1
    assert a.loc["i1_4", "value"] == 2 and a.loc["i1_4", "per_1000"] == pytest.approx(2000 / 1263)
    assert a.loc["i2_3", "value"] == 20
    assert a.loc["i4_3", "value"] == (6 + 2 + 2 + 0 + 1 + 0) + (5 + 2 + 1 + 0 + 1 + 0)
    assert a.loc["i4_3_oo", "value"] == 11
    assert a.loc["i5_2", "value"] == 100.0 and a.loc["cal_apr", "value"] == 100.0
    assert a.loc["cal_sep", "value"] == 0.0
    assert (a["n_schools"] == 2).all()


def test_region_is_aggregated_from_schools(agg):
    r = agg[(agg["level"] == "region") & (agg["year"] == 2022)].set_index("measure")
    m = agg[(agg["level"] == "municipality") & (agg["year"] == 2022)]
    assert r.loc["i4_3", "value"] == m.loc[m["measure"] == "i4_3", "value"].sum()
    mm = m[m["measure"] == "i4_1"]
    assert r.loc["i4_1", "value"] == pytest.approx((mm["value"] * mm["n_students"]).sum() / mm["n_students"].sum())
    y = m[m["measure"] == "i1_1"]
    assert r.loc["i1_1", "value"] == pytest.approx(100 * y["n_yes"].sum() / y["n_schools"].sum())


def test_planted_growth_is_recovered(agg, truths, spec):
    reg = agg[agg["level"] == "region"]
    exp = truths["expected_region"]
    v41 = reg[reg["measure"] == "i4_1"].set_index("year")["value"]
    v42 = reg[reg["measure"] == "i4_2"].set_index("year")["value"]
    p23 = reg[reg["measure"] == "i2_3"].set_index("year")["per_1000"]
    # planted: +3 p.p./year (4.1), +7 p.p./year (4.2); expected regional values from the generator
    assert np.polyfit(v41.index, v41.to_numpy(), 1)[0] == pytest.approx(3.0, abs=0.25)
    assert np.polyfit(v42.index, v42.to_numpy(), 1)[0] == pytest.approx(7.0, abs=0.4)
    for y in (2018, 2026):
        assert v41[y] == pytest.approx(exp[str(y)]["i4_1_weighted_pct"], abs=1.0)
        assert v42[y] == pytest.approx(exp[str(y)]["i4_2_weighted_pct"], abs=1.5)
        assert p23[y] == pytest.approx(exp[str(y)]["i2_3_per_1000"], rel=0.05)
    ch = change(agg, [2026], spec).query("level == 'region'").set_index("measure")
    planted_41 = exp["2026"]["i4_1_weighted_pct"] - exp["2018"]["i4_1_weighted_pct"]
    assert ch.loc["i4_1", "change_base"] == pytest.approx(planted_41, abs=1.5)
    assert ch.loc["i4_2", "change_yoy"] > 0 and ch.loc["i4_1", "change_base"] > 20
    assert ch.loc["i4_1", "stage"] == 3 and ch.loc["i4_1", "stage_start"] == 2025
    assert ch.loc["i4_1", "change_stage"] == pytest.approx(v41[2026] - v41[2025])


def test_targets_and_composite_by_hand(spec):
    # three municipalities of one school each; 1.1 yes/yes/no, 4.1 %: 10, 30, 20
    forms = pd.DataFrame({"year": 2020, "school_id": ["MO01-001", "MO02-001", "MO03-001"],
                          "municipality_code": ["MO01", "MO02", "MO03"], "n_students": [100.0, 200.0, 300.0],
                          "i1_1": [1.0, 1.0, 0.0], "i4_1": [10.0, 30.0, 20.0]})
    a = aggregate(forms, spec, "municipality")
    ci = composite_index(a, spec)
    c1 = ci[ci["criterion"] == 1].set_index("unit")["index"]
    assert c1.to_dict() == {"MO01": 75.0, "MO02": 75.0, "MO03": 0.0}  # average rank of a tie
    c4 = ci[ci["criterion"] == 4].set_index("unit")["index"]
    assert c4.to_dict() == {"MO01": 0.0, "MO02": 100.0, "MO03": 50.0}
    overall = ci[ci["criterion"] == 0].set_index("unit")
    assert overall.loc["MO02", "index"] == pytest.approx(87.5) and overall.loc["MO02", "rank"] == 1
    r = aggregate(forms, spec, "region")
    t = targets(r, spec).set_index("measure")
    assert t.loc["i4_1", "value"] == pytest.approx((10 * 100 + 30 * 200 + 20 * 300) / 600)
    assert t.loc["i4_1", "gap"] == pytest.approx(100 - 13000 / 600)
    assert not t.loc["i1_1", "attained"] and bool(t.loc["i1_1", "assumption"])


def test_conclusions_only_state_the_numbers(agg, sample, spec):
    text = conclusions(agg, 2026, spec=spec, completeness_table=sample.completeness,
                       ranks=rank_intervals(sample.forms, 2026, spec, replicates=20))
    comp = sample.completeness.set_index(["year", "level"]).loc[(2026, "region")]
    from proforient_diag.fmt import fmt_int, fmt_pct
    f = text.findings
    assert 3 <= len(f) <= 7 and [x.number for x in f] == list(range(1, len(f) + 1))
    assert all(x.section in MONITORING_SECTIONS.values() for x in f)
    assert f[0].text == (f"В 2026 году форму мониторинга представили {fmt_int(comp['received'])} из "
                         f"{fmt_int(comp['expected'])} общеобразовательных организаций "
                         f"({fmt_pct(100 * comp['received'] / comp['expected'])}).")
    line41 = text.by_theme[text.by_theme["text"].str.startswith("Показатель 4.1 ")]["text"].iloc[0]
    v = agg.query("level == 'region' and year == 2026 and measure == 'i4_1'")["value"].iloc[0]
    d = v - agg.query("level == 'region' and year == 2025 and measure == 'i4_1'")["value"].iloc[0]
    assert f"{v:.1f}".replace(".", ",") + "\u00a0% (за год +" + f"{d:.1f}".replace(".", ",") in line41
    # counts per school, the unit they are counted in
    line53 = text.by_theme[text.by_theme["text"].str.startswith("Показатель 5.3 ")]["text"].iloc[0]
    r53 = agg.query("level == 'region' and year == 2026 and measure == 'i5_3'").iloc[0]
    assert f"{r53['value'] / r53['n_schools']:.1f}".replace(".", ",") + " на одну ОО" in line53
    assert text.by_theme["theme"].iloc[0] == "Критерий 1. Нормативный"
    rec = text.recommendations
    assert set(rec["addressee"]) <= {"ОО", "МОУО", "КРИРПО", "ЦЗН"}
    assert rec["finding"].isin([x.number for x in f]).all()
    # the kit's targets are presented as assumptions, never as «0 из 14 достигнуты»
    t = next(x.text for x in f if x.key == "targets")
    assert "не устанавливает" in t and "достигнуты по" not in t


def test_a_municipal_monitoring_text_compares_with_the_region(agg, sample, spec):
    ri = rank_intervals(sample.forms, 2026, spec, replicates=20)
    text = conclusions(agg, 2026, spec=spec, completeness_table=sample.completeness, ranks=ri,
                       municipality="MO21")
    c = sample.completeness.set_index(["year", "unit"]).loc[(2026, "MO21")]
    assert text.findings[0].text.startswith("В 2026 году форму мониторинга в муниципалитете "
                                            "«Крапивинский муниципальный округ» представили "
                                            f"{int(c['received'])} из {int(c['expected'])}")
    r = ri.set_index("unit").loc["MO21"]
    rating = next(x.text for x in text.findings if x.key == "rating")
    assert f"— {int(r['rank'])} из 34 (95\u00a0% интервал мест {int(r['rank_low'])}–{int(r['rank_high'])})" in rating


def test_indicator_labels_are_whole_phrases(spec):
    assert indicator_label(spec, "i4_2") == ("4.2 («охват обучающихся, ведущих Портфолио достижений с "
                                             "разделом по профориентации»)")
    assert indicator_label(spec, "i1_4") == "1.4 («число заключённых договоров/соглашений с социальными партнёрами»)"
    assert "…" not in "".join(indicator_label(spec, m) for m in spec.measures["column"])


def test_rating_does_not_separate_city_districts_from_municipal_districts(sample, spec):
    """No urban/rural difference in activity is planted in the sample: a rating that normalises
    counts by the unit they are counted in must not order the municipalities by settlement type
    (per 1 000 students put the 16 city districts in the bottom 20 places; per school, in the top
    10). A rank test of the overall index, city districts against municipal districts, each year
    of the third stage."""
    from scipy import stats

    agg = aggregate(sample.forms, spec, "municipality")
    ci = composite_index(agg, spec)
    for year in (2025, 2026):
        o = ci[(ci["year"] == year) & (ci["criterion"] == 0)]
        city = o["unit_name"].str.contains("городской округ")
        assert 10 < city.sum() < len(o) - 10
        p = stats.mannwhitneyu(o.loc[city, "index"], o.loc[~city, "index"]).pvalue
        assert p > 0.05, (year, p)


def test_size_ratio_by_hand(spec):
    # one count measure, four schools: sizes 100, 100, 400, 400; counts 1, 3, 2, 6
    forms = pd.DataFrame({"year": 2020, "school_id": ["MO01-001", "MO01-002", "MO02-001", "MO02-002"],
                          "municipality_code": ["MO01", "MO01", "MO02", "MO02"],
                          "n_students": [100.0, 100.0, 400.0, 400.0], "i1_4": [1.0, 3.0, 2.0, 6.0]})
    a = aggregate(forms, spec, "municipality").set_index("unit")
    lx, ln = np.log(np.array([1, 3, 2, 6]) + 0.5), np.log([100, 100, 400, 400])
    b = np.sum((lx - lx.mean()) * (ln - ln.mean())) / np.sum((ln - ln.mean()) ** 2)
    e = np.exp(b * (ln - ln.mean()))
    e *= 12 / e.sum()
    assert a.loc["MO01", "size_ratio"] == pytest.approx(4 / (e[0] + e[1]))
    assert a.loc["MO02", "size_ratio"] == pytest.approx(8 / (e[2] + e[3]))


def test_rank_intervals_hold_the_rank_and_the_rating_names_only_what_they_license(sample, spec, agg):
    ri = rank_intervals(sample.forms, 2026, spec, replicates=30)
    assert len(ri) == 34 and ((ri["rank_low"] <= ri["rank"]) & (ri["rank"] <= ri["rank_high"])).all()
    assert (ri["rank_high"] - ri["rank_low"]).median() >= 5    # one or two schools per municipality
    recs = conclusions(agg, 2026, spec=spec, ranks=ri).recommendations["text"].tolist()
    m = len(ri)
    bottom = ri[ri["rank_low"] > 2 * m / 3]["unit_name"]
    named = [r for r in recs if "нижней трети" in r]
    assert bool(named) == bool(len(bottom))
    if len(bottom):
        assert all(n in named[0] for n in bottom)


# -- validation messages -------------------------------------------------------------------------

def test_bad_cells_and_rows_in_a_small_form(tmp_path, register, spec):
    schools, enrolment = register
    p = tmp_path / "monitoring_2024.csv"
    p.write_text(
        "Код ОО;Год;Число обучающихся в ОО, чел.;1.1. Локальный план по профориентации обучающихся (да/нет);"
        "Наличие профориентационной программы;1.4. Число заключённых договоров/соглашений с социальными "
        "партнёрами, ед.;4.1. Охват обучающихся внеурочной деятельностью по профессиональному "
        "самоопределению, % от числа обучающихся ОО;4.2. Число обучающихся, ведущих Портфолио достижений с "
        "разделом по профориентации, чел.\n"
        "MO07-001;2024;635;Да ;+;2,5;120;10\n"
        "MO07-002;2024;648;отсутствует;имеется;-1;45,5;700\n"
        "MO99-999;2024;100;да;да;1;10;5\n"
        ";2024;100;да;да;1;10;5\n"
        "MO07-001;2024;635;да;да;1;10;5\n"
        "MO05-001;;635;возможно;да;1;10;5\n", encoding="cp1251")
    res = read_forms(p, schools=schools, enrolment=enrolment, spec=spec)
    assert res.files.loc[0, ["rows", "accepted", "excluded"]].tolist() == [6, 2, 4]
    ex = res.exclusions.set_index("source_row")
    assert "нет в справочнике школ" in ex.loc[4, "reason"] and ex.loc[4, "column"] == "Код ОО"
    assert ex.loc[5, "reason"].startswith("не указан код ОО")
    assert ex.loc[6, "reason"].startswith("повторная форма ОО за 2024 год (принята первая: monitoring_2024.csv, строка 2)")
    assert "не указан или не распознан год" in ex.loc[7, "reason"]
    f = res.forms.set_index("school_id")
    assert f.loc["MO07-001", "i1_1"] == 1.0 and f.loc["MO07-001", "i1_2"] == 1.0
    assert f.loc["MO07-002", "i1_1"] == 0.0 and f.loc["MO07-002", "i1_2"] == 1.0
    assert np.isnan(f.loc["MO07-001", "i4_1"]) and f.loc["MO07-002", "i4_1"] == 45.5
    assert np.isnan(f.loc["MO07-001", "i1_4"]) and np.isnan(f.loc["MO07-002", "i1_4"])
    # 4.2 given as a number of students over the register's students (2024: 669 and 682, within
    # 10 % of the form's 635 and 648, so no issue): 10 of 669 → 1.4948 %; 700 of 682 is impossible
    assert f.loc["MO07-001", "i4_2"] == pytest.approx(100 * 10 / 669)
    assert f.loc["MO07-001", "n_students"] == 669 and f.loc["MO07-001", "n_students_form"] == 635
    assert np.isnan(f.loc["MO07-002", "i4_2"])
    iss = res.issues
    by = {(r, c[:4]): why for r, c, why in zip(iss["source_row"], iss["column"], iss["reason"])}
    assert "процент должен быть от 0 до 100" in by[(2, "4.1.")]
    assert "целым неотрицательным" in by[(2, "1.4.")] and "целым неотрицательным" in by[(3, "1.4.")]
    assert "обучающихся в показателе (700) больше, чем обучающихся в ОО (682)" in by[(3, "4.2.")]
    assert len(iss) == 4
    # an exception names the file and says what to do, in Russian
    bad = tmp_path / "other.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(FormError) as e:
        read_forms(bad, schools=schools, spec=spec)
    assert isinstance(e.value, DiagError) and "other.csv" in str(e.value) and "Код ОО" in str(e.value)


def test_template_round_trip(tmp_path, register, spec):
    from openpyxl import load_workbook
    schools, enrolment = register
    mo07 = schools[schools["municipality_code"] == "MO07"]
    out = write_form_template(spec, 2027, tmp_path / "form.xlsx", schools=mo07)
    wb = load_workbook(out)
    ws = wb["Форма"]
    n_meas = int((~spec.measures["derived"]).sum())
    assert ws.max_column == 4 + n_meas
    kinds = {dv.type for dv in ws.data_validations.dataValidation}
    assert {"list", "whole", "decimal"} <= kinds
    assert wb["Показатели"].max_row == 1 + len(spec.indicators)
    ws["D2"] = 600
    ws["E2"] = "да"
    wb.save(out)
    res = read_forms(out, schools=schools, spec=spec)
    assert res.forms["school_id"].tolist() == mo07["school_id"].tolist()
    assert res.forms.loc[0, "i1_1"] == 1.0 and res.forms["year"].eq(2027).all()


def test_bad_level_option(sample, spec):
    with pytest.raises(ValueError, match="municipality"):
        aggregate(sample.forms, spec, level="school")


# -- diagnostics × monitoring ----------------------------------------------------------------------

def test_planted_activity_association_is_found(sample):
    from proforient_diag import load_instrument, read_responses, score
    years = [2024, 2025, 2026]
    resp = read_responses([SAMPLES / "diagnostics" / str(y) for y in years]).responses
    parts = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for y, g in resp.groupby("year"):
            parts.append(score(g, load_instrument("psd", year=int(y))).scores)
    scores = pd.concat(parts, ignore_index=True)
    res = activity_association(scores, sample.forms)
    c = res.coefficients.set_index(["model", "term"])
    between = c.loc[("composite", "activity_b")]
    # the diagnostics generator raises every component by 0.05–0.20 latent SD per SD of activity;
    # the indicators carry activity, so the between-school association is positive and significant
    assert between["estimate"] > 0 and between["p"] < 0.05 and between["ci_low"] > 0
    assert between["estimate"] == pytest.approx(1.97, abs=0.05)
    within = c.loc[("composite", "activity_w")]
    assert within["ci_low"] < 0 < within["ci_high"]  # none planted within schools
    fit = res.fit.set_index("model").loc["composite"]
    assert fit["n_schools"] == 36 and fit["converged"]
    text = res.summary()
    assert "связь, а не доказанное влияние" in text and "положительная связь" in text
