"""Privacy: stable pseudonyms, small-cell suppression and a guard against publishing identifiers.

The students are minors (152-ФЗ). The school keeps the key and assigns pseudonymous codes;
the institute receives coded data only, and every published table passes
:func:`assert_publishable`. Stable pseudonyms are a keyed hash (HMAC-SHA256), so the same
student gets the same code every year without the institute ever holding identities, and
nobody without the key can recompute a code from a known identity (a plain hash of a
name or a class-register number could be reversed by trying all candidates).

Own numerics: none. Hashing uses the standard library (:mod:`hmac`, :mod:`hashlib`); there
is no vectorised HMAC, so each *distinct* id is hashed once and the result is mapped back
to the rows. Suppression is pandas ``groupby``/``transform`` logic.

References
----------
1. Krawczyk H., Bellare M., Canetti R. (1997). HMAC: Keyed-hashing for message
   authentication. RFC 2104.
2. Hundepool A. et al. (2012). *Statistical Disclosure Control*. Wiley, ch. 4 (primary and
   secondary — complementary — cell suppression).
3. National Center for Health Statistics (2017). NCHS data presentation standards for
   proportions (suppress n < 30). NAEP reporting standards: n ≥ 62 and ≥ 5 schools.
4. Приказ Роскомнадзора № 140 от 19.06.2025 (требования к обезличиванию персональных данных).
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, PrivacyError
from .options import check_range

__all__ = [
    "pseudonymise", "student_key", "load_key", "create_key", "suppress", "assert_publishable",
    "personal_kind", "mask_personal", "FLAG_HIDDEN", "FLAG_IMPRECISE", "IDENTIFIER_TOKENS",
    "HIDDEN_VALUE",
]

FLAG_HIDDEN = "скрыто"
FLAG_IMPRECISE = "неточно"
_MIN_KEY_BYTES = 16
_HOWTO = ("создайте ключ командой «proforient-diag key ПУТЬ/К/КЛЮЧУ» и храните его отдельно от "
          "данных и результатов; затем укажите его параметром --key-file или в переменной "
          "окружения {env}")

#: Tokens of a column name that mark a direct identifier (compared after lower-casing and
#: splitting the name on non-letters and camelCase boundaries).
IDENTIFIER_TOKENS = frozenset({
    "фио", "фамилия", "имя", "отчество", "name", "surname", "firstname", "lastname",
    "middlename", "patronymic", "fullname", "birth", "birthday", "birthdate", "dob",
    "рождения", "деньрождения", "телефон", "тел", "phone", "mobile", "email", "mail",
    "почта", "snils", "снилс", "паспорт", "passport", "address", "адрес", "inn", "инн",
})
#: Multi-token identifiers (joined with "_").
_IDENTIFIER_PHRASES = ("respondent_id", "original_id", "orig_id", "e_mail", "first_name",
                       "last_name", "дата_рождения", "электронная_почта", "student_id",
                       "id_ученика")
#: Tokens saying the "name" belongs to an institution or an instrument, not a person.
_NON_PERSONAL = frozenset({
    "school", "школа", "школы", "municipality", "муниципалитет", "мо", "mo", "region",
    "регион", "scale", "шкала", "item", "пункт", "instrument", "level", "band", "oo",
    "organization", "organisation", "организация", "organisation", "indicator", "показатель",
    "file", "файл", "column", "variable", "переменная", "score", "балл",
})
_EMAIL_RE = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
_PHONE_RE = r"(?:\+7|(?<!\d)8)[\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?!\d)"
_TOTAL_LABELS = frozenset({"итого", "всего", "total", "все", "регион", "по региону"})
#: What a log shows instead of a cell that looks like personal data.
HIDDEN_VALUE = "значение скрыто"

# What looks like a person: strict forms for any cell, loose ones for a participant-code column
# (a code never holds two words, so two words there are taken for a name).
_NAME_STRICT = re.compile(
    r"^\s*[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?(?:\s+[А-ЯЁ][а-яё]+){1,2}\s*$"  # Фамилия Имя [Отчество]
    r"|[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s*[А-ЯЁ]\.?"                            # Фамилия И. О.
    r"|[А-ЯЁ]\.\s*[А-ЯЁ]\.\s*[А-ЯЁ][а-яё]+")                             # И. О. Фамилия
_NAME_LOOSE = re.compile(r"[А-ЯЁа-яё]{2,}\.?\s+[А-ЯЁа-яё]{1,}")
_DATE_RE = re.compile(r"^\s*(?:\d{1,2}[./-]\d{1,2}[./-](?:19|20)\d{2}|(?:19|20)\d{2}-\d{1,2}-\d{1,2}"
                      r"(?:[ T]00:00(?::00)?)?)\s*$")
_PHONE_PLAIN = re.compile(r"^\s*(?:\+?7|8)\d{10}\s*$")
_KINDS = {"email": "адрес электронной почты", "phone": "номер телефона",
          "date": "дата (возможно, дата рождения)", "name": "фамилия и имя (ФИО)"}
_ACCUSATIVE = {"адрес электронной почты": "адрес электронной почты",
               "номер телефона": "номер телефона",
               "дата (возможно, дата рождения)": "дату (возможно, дату рождения)",
               "фамилия и имя (ФИО)": "фамилию и имя (ФИО)"}


# --------------------------------------------------------------------------- personal data

def personal_kind(values: pd.Series, *, code: bool = False) -> pd.Series:
    """What personal data each cell looks like: «адрес электронной почты», «номер телефона»,
    «дата (возможно, дата рождения)», «фамилия и имя (ФИО)», or None.

    ``code=True`` for a participant-code column, where any two words are taken for a name and
    a date or a phone is never a code. Each distinct value is checked once.
    """
    v = pd.Series(values)
    uniq = pd.unique(v.astype(object).where(v.notna(), "").astype(str))
    kinds = {}
    for u in uniq:
        kind = None
        if re.search(_EMAIL_RE, u):
            kind = _KINDS["email"]
        elif re.search(_PHONE_RE, u) or _PHONE_PLAIN.match(u):
            kind = _KINDS["phone"]
        elif _DATE_RE.match(u):
            kind = _KINDS["date"]
        elif _NAME_STRICT.search(u) or (code and _NAME_LOOSE.search(u)):
            kind = _KINDS["name"]
        kinds[u] = kind
    return v.astype(object).where(v.notna(), "").astype(str).map(kinds)


def mask_personal(values, *, limit: int = 100) -> np.ndarray:
    """Cell texts for a log: personal-looking ones replaced by «значение скрыто (…)», long ones
    cut at ``limit`` characters; missing values stay None."""
    v = pd.Series(values, dtype=object)
    kind = personal_kind(v)
    text = v.astype(str)
    acc = kind.map(_ACCUSATIVE)
    out = np.where(kind.notna(), HIDDEN_VALUE + " (похоже на " + acc.fillna("") + ")",
                   np.where(text.str.len() > limit, text.str[:limit] + "…", text))
    out = out.astype(object)
    out[v.isna().to_numpy()] = None
    return out


# --------------------------------------------------------------------------- pseudonyms

def student_key(school: pd.Series, code: pd.Series) -> pd.Series:
    """What makes a student unique: the school and the code the school assigned.

    Schools number their own students (1, 2, 3 …), so a code alone can belong to two children;
    the pseudonym is therefore taken of ``school + "\\x1f" + code`` (the unit separator, which no
    cell holds, so that «1/2» + «3» and «1» + «2/3» stay apart). A student who changes school
    gets a code from the new school and is a new respondent there: cohorts follow students
    within a school (the note says how many pairs were found).
    """
    return (pd.Series(school).astype(str).str.strip() + "\x1f" +
            pd.Series(code).astype(str).str.strip().to_numpy())

def _as_key(key: bytes | str) -> bytes:
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)):
        raise PrivacyError("ключ псевдонимизации должен быть строкой или байтами.")
    if len(key) < _MIN_KEY_BYTES:
        raise PrivacyError(
            f"ключ псевдонимизации слишком короткий ({len(key)} байт, нужно не меньше "
            f"{_MIN_KEY_BYTES}): " + _HOWTO.format(env="PROFORIENT_KEY") + ".")
    return bytes(key)


def pseudonymise(ids: pd.Series, key: bytes | str) -> pd.Series:
    """Replace identifiers by stable keyed pseudonyms.

    ``code = "P" + hex(HMAC-SHA256(key, str(id).strip()))[:16]`` — 64 bits of the keyed
    hash, so a collision among even a million students has probability ≈ n²/2⁶⁵ ≈ 3·10⁻⁸.
    The same id and key give the same code in every year (cohort tracking); without the
    key the code cannot be recomputed from a guessed identity [1]_.

    Parameters
    ----------
    ids : pandas.Series
        Original identifiers (class-register numbers, codes); numbers and strings are
        hashed through their string form with surrounding spaces removed.
    key : bytes or str
        The secret key (at least 16 bytes), e.g. from :func:`load_key`. It never appears
        in the output.

    Returns
    -------
    pandas.Series
        Codes like ``"P3f9c0a1b2d4e5f60"`` with the index of ``ids``, named
        ``"respondent_id"``.

    Raises
    ------
    DataError
        If an identifier is missing.
    PrivacyError
        If the key is too short.

    References
    ----------
    .. [1] Krawczyk, Bellare, Canetti (1997). RFC 2104.

    Examples
    --------
    >>> pseudonymise(pd.Series(["12-345"]), "ключ-школы-не-для-публикации").str.len().iat[0]
    17

    In R: ``digest::hmac(key, id, algo = "sha256")`` then ``paste0("P", substr(h, 1, 16))``.
    """
    k = _as_key(key)
    ids = pd.Series(ids)
    missing = ids.isna()
    if missing.any():
        first = ids.index[missing.to_numpy()][0]
        raise DataError(f"пустой идентификатор в строке с индексом {first!r}: заполните "
                        "идентификаторы или исключите такие строки до псевдонимизации.")
    text = ids.astype(str).str.strip()
    uniq = pd.unique(text.to_numpy())
    codes = {u: "P" + hmac.new(k, u.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
             for u in uniq}
    return pd.Series(text.map(codes).to_numpy(), index=ids.index, name="respondent_id",
                     dtype=object)


def _key_from_text(raw: bytes, source: str) -> bytes:
    text = raw.strip()
    if not text:
        raise PrivacyError(f"ключ псевдонимизации ({source}) пуст: " +
                           _HOWTO.format(env="PROFORIENT_KEY") + ".")
    try:
        decoded = bytes.fromhex(text.decode("ascii"))
    except (ValueError, UnicodeDecodeError):
        decoded = text
    return _as_key(decoded)


def load_key(path: str | Path | None = None, env: str = "PROFORIENT_KEY") -> bytes:
    """Read the pseudonymisation key from a file or an environment variable.

    Order: the file ``path`` if given; otherwise the environment variable ``env``, whose
    value is either the key itself or the path of a key file. A key written by
    :func:`create_key` is hexadecimal text and is decoded to bytes; any other text is used
    as its UTF-8 bytes.

    Parameters
    ----------
    path : str or Path, optional
        Key file kept at the school, outside the data folder.
    env : str, default "PROFORIENT_KEY"
        Name of the environment variable to read when ``path`` is not given.

    Returns
    -------
    bytes
        The key (at least 16 bytes).

    Raises
    ------
    PrivacyError
        If neither the file nor the variable exists (the message says how to create a
        key), or the key is empty or too short.
    """
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise PrivacyError(f"файл ключа не найден: {_HOWTO.format(env=env)}.", file=p)
        return _key_from_text(p.read_bytes(), f"файл {p}")
    value = os.environ.get(env)
    if value is None or not value.strip():
        raise PrivacyError("ключ псевдонимизации не найден: не указан файл и не задана "
                           f"переменная окружения {env}; " + _HOWTO.format(env=env) + ".")
    candidate = Path(value.strip()).expanduser()
    try:
        is_file = candidate.is_file()
    except OSError:
        is_file = False
    if is_file:
        return _key_from_text(candidate.read_bytes(), f"файл {candidate}")
    return _key_from_text(value.encode("utf-8"), f"переменная {env}")


def create_key(path: str | Path, *, overwrite: bool = False) -> Path:
    """Create a new random key file (32 bytes from :mod:`secrets`, written as 64 hex chars).

    The file is readable by its owner only (mode 600 where the system allows). An existing
    key is never overwritten unless ``overwrite=True``: a lost or replaced key breaks the
    tracking of cohorts across years.

    Parameters
    ----------
    path : str or Path
        Where to write the key (keep it at the school, apart from the data).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The path written (the key itself is not returned).
    """
    p = Path(path).expanduser()
    if p.exists() and not overwrite:
        raise PrivacyError("файл ключа уже существует; замена ключа сделает несопоставимыми "
                           "псевдонимы прошлых лет. Укажите другой путь или overwrite=True.",
                           file=p)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    try:
        os.chmod(p, 0o600)
    except OSError:  # pragma: no cover - file systems without POSIX modes
        pass
    return p


# --------------------------------------------------------------------------- suppression

def _is_total_row(table: pd.DataFrame, label_cols: list[str]) -> pd.Series:
    mask = pd.Series(False, index=table.index)
    for c in label_cols:
        s = table[c]
        if s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype)):
            mask |= s.astype(str).str.strip().str.lower().isin(_TOTAL_LABELS).to_numpy()
    return mask


def suppress(table: pd.DataFrame, count_col: str = "n", *, threshold: int = 10,
             imprecise_below: int = 30, group_cols: list[str] | list[list[str]] | None = None,
             value_cols: list[str] | None = None, total_rows: pd.Series | None = None,
             schools_col: str | None = None, min_schools: int = 5,
             complementary: bool = True) -> pd.DataFrame:
    """Suppress small cells of a published table, with complementary suppression.

    Primary suppression: a row with ``count_col < threshold`` (or, if ``schools_col`` is
    given, fewer than ``min_schools`` schools) gets its value columns *and its count* set
    to NaN and ``flag = "скрыто"``. Rows with ``threshold ≤ n < imprecise_below`` keep
    their values and get ``flag = "неточно"``.

    Complementary (secondary) suppression [2]_: within each group (rows sharing the values
    of ``group_cols``; the whole table if ``None``), if exactly one non-total row is
    hidden, its count would follow from the group total by subtraction, so the visible
    non-total row with the smallest count is hidden too. If the group has a single
    non-total row and it is hidden, a visible total row of the group (it equals the cell)
    is hidden. ``group_cols`` may be a list of lists — several partitions of a
    multi-way table (e.g. ``[["year"], ["municipality_code"]]``) — and the rule is then
    applied to each partition in turn until nothing changes.

    Parameters
    ----------
    table : pandas.DataFrame
        Aggregated table with one row per cell.
    count_col : str, default "n"
        Column with the number of students behind each row.
    threshold : int, default 10
        Rows with fewer students are hidden (the kit default; DOMAIN.md).
    imprecise_below : int, default 30
        Rows with fewer students (but ≥ threshold) are flagged "неточно".
    group_cols : list of str or list of lists, optional
        Columns defining groups whose rows add up to a (published or knowable) total.
    value_cols : list of str, optional
        Columns to hide; default every numeric column not in ``group_cols``.
    total_rows : boolean Series, optional
        Marks total rows; default: rows where a text column not in ``group_cols`` reads
        «Итого», «Всего», «Total» or «Регион».
    schools_col, min_schools : str, int
        Optional number-of-schools column and its minimum (5 for municipal aggregates of
        school indicators).
    complementary : bool, default True
        Apply complementary suppression.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` with hidden values as NaN and a ``flag`` column with values
        ``""``, ``"неточно"`` or ``"скрыто"``.

    References
    ----------
    .. [2] Hundepool et al. (2012). *Statistical Disclosure Control*, §4.2.

    In R: ``sdcTable::protectTable(..., method = "SIMPLEHEURISTIC")`` (a fuller solver).
    """
    if count_col not in table.columns:
        raise DataError("в таблице нет столбца с числом обучающихся; укажите его в "
                        "аргументе count_col.", column=count_col)
    check_range("threshold", threshold, low=1)
    check_range("imprecise_below", imprecise_below, low=threshold)
    partitions: list[list[str]]
    if group_cols is None:
        partitions = [[]]
    elif all(isinstance(g, (list, tuple)) for g in group_cols):
        partitions = [list(g) for g in group_cols]
    else:
        partitions = [list(group_cols)]
    all_group = sorted({c for p in partitions for c in p})
    missing = [c for c in [*all_group, *(value_cols or [])] if c not in table.columns]
    if missing:
        raise DataError("в таблице нет столбца, указанного для подавления.", column=missing[0])
    out = table.copy()
    if value_cols is None:
        value_cols = [c for c in out.columns
                      if c not in all_group and pd.api.types.is_numeric_dtype(out[c])
                      and not pd.api.types.is_bool_dtype(out[c])]
    if count_col not in value_cols:
        value_cols = [*value_cols, count_col]
    n = pd.to_numeric(out[count_col], errors="coerce")
    if total_rows is None:
        label_cols = [c for c in out.columns if c not in all_group and c not in value_cols]
        is_total = _is_total_row(out, label_cols).to_numpy()
    else:
        is_total = pd.Series(total_rows, index=out.index).fillna(False).astype(bool).to_numpy()
    hidden = (n < threshold).fillna(True).to_numpy().copy()
    if schools_col is not None:
        hidden |= (pd.to_numeric(out[schools_col], errors="coerce") < min_schools
                   ).fillna(True).to_numpy()
    if complementary:
        pos = pd.RangeIndex(len(out))
        nvals = n.to_numpy(dtype=float)
        for _ in range(len(out) + 1):
            changed = False
            for part in partitions:
                keys = (np.zeros(len(out), dtype=np.int64) if not part else
                        out.groupby(part, dropna=False, sort=False).ngroup().to_numpy())
                frame = pd.DataFrame({"g": keys, "hid": hidden & ~is_total,
                                      "cell": ~is_total, "tot": is_total,
                                      "tot_vis": is_total & ~hidden,
                                      "cand": np.where(~is_total & ~hidden, nvals, np.inf)},
                                     index=pos)
                grp = frame.groupby("g", sort=False)
                n_hid = grp["hid"].transform("sum").to_numpy()
                n_cell = grp["cell"].transform("sum").to_numpy()
                # one hidden cell among several: hide the smallest visible cell
                need = grp["hid"].sum().eq(1) & grp["cell"].sum().gt(1) & \
                    grp["cand"].min().lt(np.inf)
                if need.any():
                    idx = frame[frame["g"].isin(need.index[need])].groupby(
                        "g", sort=False)["cand"].idxmin().to_numpy()
                    hidden[idx] = True
                    changed = True
                # a single hidden cell equals its total: hide the total
                lone = is_total & ~hidden & (n_cell == 1) & (n_hid == 1)
                if lone.any():
                    hidden |= lone
                    changed = True
            if not changed:
                break
    imprecise = ~hidden & (n >= threshold).to_numpy() & (n < imprecise_below).to_numpy()
    for c in value_cols:
        if not pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].astype(float)
        out.loc[hidden, c] = np.nan
    out["flag"] = np.select([hidden, imprecise], [FLAG_HIDDEN, FLAG_IMPRECISE], default="")
    return out


# --------------------------------------------------------------------------- guard

def _tokens(name: str) -> list[str]:
    s = re.sub(r"([a-zа-яё])([A-ZА-ЯЁ])", r"\1_\2", str(name))
    return [t for t in re.split(r"[^0-9a-zа-яё]+", s.lower()) if t]


def _identifier_column(name: str) -> bool:
    toks = _tokens(name)
    joined = "_".join(toks)
    if any(p in joined for p in _IDENTIFIER_PHRASES):
        return True
    if "original" in toks and "id" in toks:
        return True
    if "e" in toks and "mail" in toks:
        return True
    if not any(t in IDENTIFIER_TOKENS for t in toks):
        return False
    return not any(t in _NON_PERSONAL for t in toks)


def assert_publishable(df: pd.DataFrame, *, threshold: int = 10,
                       count_col: str | None = None) -> None:
    """Refuse a table that would disclose a student.

    Three checks, in order: (1) column names that are direct identifiers — ФИО, фамилия,
    имя, отчество, name/surname, birth/дата рождения, телефон/phone, e-mail, СНИЛС,
    паспорт, адрес/address, ИНН, respondent_id, original id (a "name" of a school,
    municipality, scale or item is allowed); (2) text values that look like e-mail
    addresses or Russian phone numbers; (3) counts ``1 ≤ n < threshold`` that are still
    visible (run :func:`suppress` first). ``count_col`` defaults to a column named ``n``
    when there is one.

    Parameters
    ----------
    df : pandas.DataFrame
        The table about to be published.
    threshold : int, default 10
        Smallest publishable count.
    count_col : str, optional
        Count column to check.

    Raises
    ------
    PrivacyError
        With a Russian message naming the offending column and, for values and counts, the
        row (its index label); ``exc.column`` and ``exc.row`` (1-based position) are set.
    """
    for c in df.columns:
        if _identifier_column(c):
            raise PrivacyError("таблица содержит прямой идентификатор обучающегося; удалите "
                               "этот столбец перед публикацией.", column=str(c))
    for c in df.columns:
        s = df[c]
        if not (s.dtype == object or isinstance(s.dtype, (pd.StringDtype,
                                                          pd.CategoricalDtype))):
            continue
        text = s.dropna().astype(str)
        for pattern, what in ((_EMAIL_RE, "адрес электронной почты"),
                              (_PHONE_RE, "номер телефона")):
            hit = text.str.contains(pattern, regex=True)
            if hit.any():
                label = hit.index[hit.to_numpy()][0]
                row = int(df.index.get_loc(label)) + 1 if df.index.is_unique else None
                raise PrivacyError(f"значение похоже на {what} (строка с индексом {label!r}); "
                                   "удалите или замените его перед публикацией.",
                                   column=str(c), row=row)
    if count_col is None and "n" in df.columns:
        count_col = "n"
    if count_col is not None:
        if count_col not in df.columns:
            raise DataError("нет столбца с числом обучающихся.", column=count_col)
        n = pd.to_numeric(df[count_col], errors="coerce")
        bad = (n >= 1) & (n < threshold)
        if bad.any():
            label = bad.index[bad.to_numpy()][0]
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise PrivacyError(
                f"в строке с индексом {label!r} опубликовано {int(n[label])} обучающихся "
                f"(меньше порога {threshold}); примените privacy.suppress перед публикацией.",
                column=count_col, row=row)
