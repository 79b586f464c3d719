"""Reference data of the region: Kuzbass's 34 municipal formations and the ways exports spell them.

``municipalities()`` is the list (code, name, kind) bundled from ``shared/reference``;
:func:`municipality_lookup` maps every spelling the kit recognises (the code, typed with Cyrillic
«М» and «О» too, the full name, the name without «городской/муниципальный округ», the town in
brackets, the pre-2019 «район» names, «ГО», and the aliases of ``data/municipality-aliases.csv``)
to ``(code, name)``; :func:`find_municipality` resolves one value or raises a Russian error.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import pandas as pd

from .errors import InputFileError
from .instrument import normalize_text

__all__ = ["municipalities", "municipality_lookup", "municipality_names", "find_municipality"]


@functools.cache
def _municipalities() -> pd.DataFrame:
    return pd.read_csv(Path(__file__).with_name("data") / "kuzbass-municipalities.csv", encoding="utf-8")


def municipalities() -> pd.DataFrame:
    """Kuzbass's 34 municipal formations (code, name, kind), bundled from shared/reference."""
    return _municipalities().copy()


def municipality_names() -> pd.Series:
    """Code → full name."""
    return _municipalities().set_index("code")["name"]


@functools.cache
def _lookup_table() -> dict[str, tuple[str, str]]:
    mo = municipalities()
    out: dict[str, tuple[str, str]] = {}
    short: dict[str, list[tuple[str, str]]] = {}
    for code, name in zip(mo["code"], mo["name"]):
        out[normalize_text(code)] = (code, name)
        out[normalize_text(name)] = (code, name)
        base = normalize_text(re.sub(r"\s*(городской|муниципальный)\s+округ.*$", "", name))
        base = re.sub(r"\s*\(.*\)", "", base)
        short.setdefault(base, []).append((code, name))
        m = re.search(r"\(г\.\s*([^)]+)\)", name)
        if m:
            short.setdefault(normalize_text(m.group(1)), []).append((code, name))
    for k, v in short.items():
        if len(v) == 1:
            out.setdefault(k, v[0])
    names = dict(zip(mo["code"], mo["name"]))
    for code, name in zip(mo["code"], mo["name"]):
        if name.endswith("муниципальный округ"):  # districts became okrugs in 2019–2021
            base = name.removesuffix(" муниципальный округ")
            for old_kind in ("район", "муниципальный район", "МР", "МО"):
                out.setdefault(normalize_text(f"{base} {old_kind}"), (code, name))
        if name.endswith("городской округ"):
            out.setdefault(normalize_text(name.replace("городской округ", "ГО")), (code, name))
    aliases = pd.read_csv(Path(__file__).with_name("data") / "municipality-aliases.csv", encoding="utf-8")
    for alias, code in zip(aliases["alias"], aliases["code"]):
        for a in {alias, re.sub(r"^(г\.|город|пгт)\s*", "", alias)}:
            out.setdefault(normalize_text(a), (code, names[code]))
            out.setdefault(normalize_text(a.replace("г. ", "г.")), (code, names[code]))
    for code in mo["code"]:  # codes typed with Cyrillic М and О
        out.setdefault(normalize_text(code.replace("M", "М").replace("O", "О")), (code, names[code]))
    return out


def municipality_lookup() -> dict[str, tuple[str, str]]:
    """Every recognised spelling (normalised with :func:`~proforient_diag.instrument.normalize_text`)
    → ``(code, name)``."""
    return dict(_lookup_table())


def find_municipality(value: str) -> tuple[str, str]:
    """``(code, name)`` of a municipality given by code or name; a Russian error otherwise."""
    hit = _lookup_table().get(normalize_text(str(value)))
    if hit is None:
        raise InputFileError(f"муниципалитет «{value}» не найден в справочнике Кузбасса; укажите код "
                             "(MO01–MO34) или полное название.")
    return hit
