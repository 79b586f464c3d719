"""The instrument schema: the demo versions load, and every schema rule gives a Russian error."""
from pathlib import Path

import pytest
import yaml

from proforient_diag.errors import InstrumentError
from proforient_diag.instrument import anchors_between, load_instrument, normalize_text

ROOT = Path(__file__).resolve().parents[1]
V2026 = ROOT / "instruments" / "psd" / "2026.yaml"


@pytest.mark.parametrize("version,n_anchors", [(2018, 0), (2021, 57), (2024, 56), (2026, 56)])
def test_demo_versions_load(version, n_anchors):
    inst = load_instrument("psd", version)
    assert inst.version == version and inst.demo
    assert [b.id for b in inst.bands] == ["1-4", "5-7", "8-9", "10-11"]
    assert {b: len(inst.items_for(b)) for b in inst.band_ids} == {"1-4": 12, "5-7": 25, "8-9": 40, "10-11": 40}
    assert inst.scales_for("1-4") == ["MOT", "COG", "ACT"]
    assert len(inst.anchors) == n_anchors
    assert inst.response_scale_of("MOT_P01").max == 3 and inst.response_scale_of("MOT01").max == 5


def test_version_in_force_by_year():
    assert [load_instrument("psd", year=y).version for y in (2018, 2020, 2021, 2023, 2024, 2025, 2026, 2027)] == \
        [2018, 2018, 2021, 2021, 2024, 2024, 2026, 2026]
    with pytest.raises(InstrumentError, match="нет действующей версии"):
        load_instrument("psd", year=2017)


def test_anchors_are_the_unchanged_items():
    old, new = load_instrument("psd", 2018), load_instrument("psd", 2021)
    assert "MOT06" not in new.anchors and "MOT09" in new.item_ids and "MOT09" not in new.anchors
    assert set(new.anchors) == set(anchors_between(old, new))


def test_keys_levels_and_cfa_model():
    inst = load_instrument("psd", 2026)
    keys = inst.keys("5-7")
    assert keys["MOT04"] == -1 and keys["MOT01"] == 1 and sum(v == -1 for v in keys.values()) == 5
    assert inst.level_of("5-7", 44.999) == "низкий" and inst.level_of("5-7", 45.0) == "средний"
    assert inst.level_of("5-7", 70.0) == "высокий" and inst.level_of("1-4", 70.0) == "средний"
    assert inst.cfa_model("1-4").splitlines()[0] == "MOT =~ MOT_P01 + MOT_P02 + MOT_P03 + MOT_P04"


def test_normalize_text():
    assert normalize_text("  12. Мне всё равно,  кем я буду РАБОТАТЬ… ") == "мне все равно, кем я буду работать"


def _broken(tmp_path, mutate) -> Path:
    doc = yaml.safe_load(V2026.read_text(encoding="utf-8"))
    doc["previous_version"] = None
    doc["anchors"] = []
    mutate(doc)
    p = tmp_path / "2026.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def _item(doc, iid):
    return next(i for i in doc["items"] if i["id"] == iid)


@pytest.mark.parametrize("mutate,message", [
    (lambda d: _item(d, "MOT01").update(scale="XXX"), "неизвестной шкале «XXX»"),
    (lambda d: d["items"].append(dict(_item(d, "MOT01"))), "встречается дважды"),
    (lambda d: d["scales"][0].update(items=["MOT01"]) or d["scales"][1].update(items=["MOT01"]), "входит в две шкалы"),
    (lambda d: [b.update(response_scale=None) for b in d["bands"]], "не указана шкала ответов|нет шкалы ответов"),
    (lambda d: d["levels"]["cuts"].update({"5-7": [70, 45]}), "не возрастают"),
    (lambda d: d["levels"]["cuts"].update({"5-7": [45]}), "порогов должно быть 2"),
    (lambda d: d["bands"].append({"id": "12", "grades": [12], "response_scale": "agree5"})
     or d["levels"]["cuts"].update({"12": [1, 2]}), "нет ни одного задания"),
    (lambda d: _item(d, "MOT01").update(bands=["5-8"]), "неизвестная параллель «5-8»"),
    (lambda d: d.pop("items"), "нет обязательного поля «items»"),
])
def test_schema_errors_are_russian_and_name_the_file(tmp_path, mutate, message):
    p = _broken(tmp_path, mutate)
    with pytest.raises(InstrumentError, match=message) as ei:
        load_instrument(p)
    assert str(p) in str(ei.value)


def test_reverse_key_without_response_scale(tmp_path):
    def mutate(d):
        for b in d["bands"]:
            b["response_scale"] = None
        for it in d["items"]:
            it["response_scale"] = "agree5"
        _item(d, "MOT04")["response_scale"] = None
    with pytest.raises(InstrumentError, match="обратное, но у него нет шкалы ответов"):
        load_instrument(_broken(tmp_path, mutate))


def test_changed_anchor_wording_is_refused(tmp_path):
    for v in (2024, 2026):
        (tmp_path / f"{v}.yaml").write_text((ROOT / "instruments" / "psd" / f"{v}.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    p = tmp_path / "2026.yaml"
    doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    _item(doc, "MOT01")["text"] = "Совсем другая формулировка."
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InstrumentError, match="формулировка якорного задания «MOT01» изменилась"):
        load_instrument(p)


def test_not_yaml(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("items: [\n  - a: : :", encoding="utf-8")
    with pytest.raises(InstrumentError, match="не читается как YAML"):
        load_instrument(p)
