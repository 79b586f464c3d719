import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from proforient_diag.errors import DataError, DiagError, PrivacyError
from proforient_diag.privacy import (assert_publishable, create_key, load_key, pseudonymise,
                                     suppress)

KEY = "ключ-школы-для-теста-0123456789"


# ----------------------------------------------------------------------------- pseudonyms

def test_pseudonymise_matches_hmac_sha256_by_hand():
    ids = pd.Series(["12-345", " 12-345 ", 777, "A-1"], index=[10, 11, 12, 13])
    out = pseudonymise(ids, KEY)
    expected = "P" + hmac.new(KEY.encode(), b"12-345", hashlib.sha256).hexdigest()[:16]
    assert out.iat[0] == expected
    assert out.iat[1] == expected          # surrounding spaces do not change the code
    assert out.iat[2] == "P" + hmac.new(KEY.encode(), b"777", hashlib.sha256).hexdigest()[:16]
    assert list(out.index) == [10, 11, 12, 13]
    assert out.str.fullmatch(r"P[0-9a-f]{16}").all()
    assert out.name == "respondent_id"


def test_pseudonyms_depend_on_key_and_never_contain_it():
    ids = pd.Series([f"id{i}" for i in range(1000)])
    a = pseudonymise(ids, KEY)
    b = pseudonymise(ids, KEY + "x")
    assert a.nunique() == 1000
    assert (a != b).all()
    assert not a.str.contains(KEY[:8]).any()
    assert a.attrs == {}


def test_pseudonymise_rejects_short_key_and_missing_id():
    with pytest.raises(PrivacyError, match="слишком короткий"):
        pseudonymise(pd.Series(["a"]), "short")
    with pytest.raises(DataError, match="пустой идентификатор"):
        pseudonymise(pd.Series(["a", None]), KEY)


def test_create_and_load_key_roundtrip(tmp_path, monkeypatch):
    path = create_key(tmp_path / "school" / "key.txt")
    raw = path.read_text().strip()
    assert len(raw) == 64
    key = load_key(path)
    assert key == bytes.fromhex(raw) and len(key) == 32
    assert (path.stat().st_mode & 0o777) == 0o600
    with pytest.raises(PrivacyError, match="уже существует"):
        create_key(path)
    monkeypatch.setenv("PROFORIENT_KEY", str(path))          # env holds a path
    assert load_key() == key
    monkeypatch.setenv("PROFORIENT_KEY", raw)                # env holds the key itself
    assert load_key() == key


def test_load_key_explains_how_to_create_one(tmp_path, monkeypatch):
    monkeypatch.delenv("PROFORIENT_KEY", raising=False)
    with pytest.raises(PrivacyError, match="командой «proforient-diag key") as exc:
        load_key()
    assert "--key-file" in str(exc.value) and "PROFORIENT_KEY" in str(exc.value)
    with pytest.raises(PrivacyError, match="не найден"):
        load_key(tmp_path / "нет.txt")
    assert issubclass(PrivacyError, DiagError)


# ----------------------------------------------------------------------------- suppression

def _table():
    return pd.DataFrame({
        "year": [2024] * 5 + [2025] * 4,
        "municipality": ["А", "Б", "В", "Г", "Итого", "А", "Б", "В", "Итого"],
        "n": [5, 40, 25, 100, 170, 50, 60, 70, 180],
        "mean": [61.0, 55.0, 58.0, 60.0, 59.0, 62.0, 57.0, 59.0, 59.2],
    })


def test_suppress_primary_imprecise_and_complementary():
    out = suppress(_table(), group_cols=["year"])
    # 2024: A (n=5) hidden; the smallest visible cell B? no: В (n=25) is smallest -> hidden too
    assert list(out["flag"]) == ["скрыто", "", "скрыто", "", "", "", "", "", ""]
    assert out.loc[[0, 2], ["n", "mean"]].isna().all().all()
    # total stays: with two hidden cells, 170 - 140 = 30 gives only their sum
    assert out.loc[4, "n"] == 170
    # 2025 is untouched
    assert out.loc[5:, "n"].tolist() == [50, 60, 70, 180]


def test_suppress_flags_imprecise_without_complementary():
    out = suppress(_table(), group_cols=["year"], complementary=False)
    assert list(out["flag"]) == ["скрыто", "", "неточно", "", "", "", "", "", ""]
    assert np.isnan(out.loc[0, "mean"]) and out.loc[2, "mean"] == 58.0


def test_suppress_hidden_cell_cannot_be_recovered_by_subtraction():
    out = suppress(_table(), group_cols=["year"])
    for _, grp in out.groupby("year"):
        cells = grp[grp["municipality"] != "Итого"]
        assert cells["n"].isna().sum() != 1


def test_suppress_single_cell_group_hides_its_total():
    t = pd.DataFrame({"year": [2024, 2024, 2025, 2025, 2025],
                      "school": ["S1", "Всего", "S1", "S2", "Всего"],
                      "n": [7, 7, 40, 3, 43], "share": [0.2, 0.2, 0.5, 0.1, 0.45]})
    out = suppress(t, group_cols=["year"])
    assert out["flag"].tolist() == ["скрыто", "скрыто", "скрыто", "скрыто", ""]


def test_suppress_two_way_partitions_reach_fixed_point():
    # 2x3 table, one tiny cell; rows and columns both have known totals
    t = pd.DataFrame({"sex": ["м", "м", "м", "ж", "ж", "ж"],
                      "band": ["5-7", "8-9", "10-11"] * 2,
                      "n": [50, 40, 4, 45, 35, 30]})
    out = suppress(t, group_cols=[["sex"], ["band"]])
    hidden = out["n"].isna()
    for cols in (["sex"], ["band"]):
        assert (hidden.groupby(t[cols[0]]).sum() != 1).all()
    assert hidden.sum() == 4      # the 2x2 rectangle of the smallest complements


def test_suppress_min_schools_and_errors():
    t = pd.DataFrame({"mo": ["MO01", "MO02", "MO03"], "n": [200, 300, 400],
                      "schools": [3, 12, 20], "value": [1.0, 2.0, 3.0]})
    out = suppress(t, schools_col="schools")
    assert out["flag"].tolist() == ["скрыто", "скрыто", ""]
    with pytest.raises(DataError, match="count_col"):
        suppress(t, count_col="N")


# ----------------------------------------------------------------------------- guard

@pytest.mark.parametrize("col", ["ФИО", "Фамилия", "имя", "Отчество", "name", "last_name",
                                 "Дата рождения", "birth_date", "телефон", "Phone",
                                 "e-mail", "Email", "СНИЛС", "snils", "паспорт",
                                 "Адрес", "respondent_id", "original id", "studentName"])
def test_assert_publishable_rejects_identifier_columns(col):
    df = pd.DataFrame({col: ["x"], "n": [50]})
    with pytest.raises(PrivacyError) as exc:
        assert_publishable(df)
    assert exc.value.column == col
    assert col in str(exc.value)


def test_assert_publishable_allows_school_names_and_aggregates():
    df = pd.DataFrame({"school_name": ["Лицей № 1"], "municipality": ["Кемерово"],
                       "scale_name": ["MOT"], "наименование": ["Итог"], "n": [120],
                       "mean": [61.2]})
    assert assert_publishable(df) is None


@pytest.mark.parametrize("value,what", [("ivanov@mail.ru", "почты"),
                                        ("+7 (905) 123-45-67", "телефона"),
                                        ("89051234567", "телефона")])
def test_assert_publishable_rejects_identifier_values(value, what):
    df = pd.DataFrame({"comment": ["ок", value], "n": [40, 50]})
    with pytest.raises(PrivacyError, match=what) as exc:
        assert_publishable(df)
    assert exc.value.column == "comment" and exc.value.row == 2


def test_assert_publishable_small_counts_before_and_after_suppress():
    t = _table()
    with pytest.raises(PrivacyError, match="меньше порога 10") as exc:
        assert_publishable(t)
    assert exc.value.row == 1 and exc.value.column == "n"
    assert assert_publishable(suppress(t, group_cols=["year"])) is None
    # years like 2018-2020 are not phone numbers
    assert assert_publishable(pd.DataFrame({"этап": ["I (2018–2020)"], "n": [10]})) is None
