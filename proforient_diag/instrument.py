"""The instrument model: items, scales, response scales, bands, levels, versions and anchors.

An instrument version is one YAML file, ``instruments/<id>/<version>.yaml``; the schema is
described in ``instruments/README.md``. :func:`load_instrument` reads and validates it and returns
a frozen :class:`Instrument`. Everything about a particular instrument (scoring keys, cut scores,
CFA model syntax, codebooks, data-entry templates) is derived from this object; nothing is
hard-coded in Python.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable

import pandas as pd
import yaml

from .errors import InstrumentError

__all__ = [
    "ResponseScale", "Item", "Scale", "Band", "Levels", "Instrument",
    "load_instrument", "list_instruments", "instruments_dir", "normalize_text",
]


def normalize_text(text: object) -> str:
    """Normalise a question wording or an answer label for matching.

    Lower case, «ё» → «е», typographic quotes and dashes unified, numbering such as ``12.`` or
    ``12)`` at the start removed, runs of white space collapsed, trailing punctuation dropped.
    """
    s = str(text).replace("\u00a0", " ").strip().lower().replace("ё", "е")
    s = re.sub(r"[«»“”„\"']", "", s)
    s = re.sub(r"[‐‑‒–—−]", "-", s)
    s = re.sub(r"^\s*\d{1,3}\s*[.)]\s*", "", s)
    s = re.sub(r"\s+", " ", s)
    s = re.sub(r"[\s.,;:!?*…]+$", "", s)
    return s.strip()


@dataclass(frozen=True)
class ResponseScale:
    """Allowed answer codes with their Russian labels; ``min`` and ``max`` are used for reversal."""

    id: str
    name: str
    min: int
    max: int
    labels: dict[int, str]
    synonyms: dict[int, tuple[str, ...]] = field(default_factory=dict)

    @property
    def codes(self) -> list[int]:
        return sorted(self.labels)

    @cached_property
    def label_lookup(self) -> dict[str, int]:
        """Normalised label (and synonym, and the code as text) → code."""
        out: dict[str, int] = {}
        for code, label in self.labels.items():
            out[normalize_text(label)] = code
            out[str(code)] = code
        for code, words in self.synonyms.items():
            for w in words:
                out.setdefault(normalize_text(w), code)
        return out


@dataclass(frozen=True)
class Item:
    id: str
    scale: str
    text: str
    reverse: bool
    bands: tuple[str, ...]
    response_scale: str | None = None


@dataclass(frozen=True)
class Scale:
    id: str
    name: str
    min_answered: dict[str, int]
    description: str = ""


@dataclass(frozen=True)
class Band:
    id: str
    name: str
    grades: tuple[int, ...]
    response_scale: str | None
    reporting: str = "individual"


@dataclass(frozen=True)
class Levels:
    """Levels by fixed cut scores per band: level k is reached when the score is ≥ cut k."""

    labels: tuple[str, ...]
    metric: str
    cuts: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class Instrument:
    """One validated version of an instrument (see ``instruments/README.md``)."""

    id: str
    version: int
    title: str
    demo: bool
    previous_version: int | None
    response_scales: dict[str, ResponseScale]
    bands: tuple[Band, ...]
    scales: tuple[Scale, ...]
    items: tuple[Item, ...]
    total_name: str
    levels: Levels
    anchors: tuple[str, ...]
    norms_file: str | None
    path: Path

    # -- look-ups ---------------------------------------------------------------------------
    @cached_property
    def item_ids(self) -> list[str]:
        return [it.id for it in self.items]

    @cached_property
    def item_by_id(self) -> dict[str, Item]:
        return {it.id: it for it in self.items}

    @cached_property
    def band_by_id(self) -> dict[str, Band]:
        return {b.id: b for b in self.bands}

    @property
    def band_ids(self) -> list[str]:
        return [b.id for b in self.bands]

    @property
    def scale_ids(self) -> list[str]:
        return [s.id for s in self.scales]

    @cached_property
    def scale_by_id(self) -> dict[str, Scale]:
        return {s.id: s for s in self.scales}

    @cached_property
    def short_scale_names(self) -> dict[str, str]:
        """Scale names without the word «компонент» («Мотивационно-ценностный»), for tables."""
        return {s.id: s.name.replace(" компонент", "") for s in self.scales}

    def band_of_grade(self, grade: int) -> str | None:
        for b in self.bands:
            if grade in b.grades:
                return b.id
        return None

    @cached_property
    def grade_to_band(self) -> dict[int, str]:
        return {g: b.id for b in self.bands for g in b.grades}

    def items_for(self, band: str, scale: str | None = None) -> list[str]:
        """Item ids of a band form (optionally of one scale), in instrument order."""
        return [it.id for it in self.items if band in it.bands and (scale is None or it.scale == scale)]

    def scales_for(self, band: str) -> list[str]:
        """Scales that have items in a band form."""
        return [s.id for s in self.scales if self.items_for(band, s.id)]

    def response_scale_of(self, item_id: str, band: str | None = None) -> ResponseScale:
        it = self.item_by_id[item_id]
        rs = it.response_scale
        if rs is None:
            b = self.band_by_id[band or it.bands[0]]
            rs = b.response_scale
        return self.response_scales[rs]

    def keys(self, band: str) -> dict[str, int]:
        """Scoring keys of a band form: +1, or −1 for reverse-keyed items."""
        return {i: (-1 if self.item_by_id[i].reverse else 1) for i in self.items_for(band)}

    def cfa_model(self, band: str) -> str:
        """lavaan model syntax of the intended structure of a band form (one factor a scale)."""
        lines = []
        for s in self.scales_for(band):
            lines.append(f"{s} =~ " + " + ".join(self.items_for(band, s)))
        return "\n".join(lines)

    def item_table(self) -> pd.DataFrame:
        """A tidy table of the items: id, scale, wording, reverse key, bands, response scale."""
        rows = []
        for it in self.items:
            for b in it.bands:
                rs = self.response_scale_of(it.id, b)
                rows.append({"item": it.id, "scale": it.scale,
                             "scale_name": self.scale_by_id[it.scale].name, "text": it.text,
                             "reverse": it.reverse, "band": b, "response_scale": rs.id,
                             "min": rs.min, "max": rs.max,
                             "anchor": it.id in self.anchors})
        return pd.DataFrame(rows)

    def norms(self) -> pd.DataFrame | None:
        """The stored norms table (band, scale, mean, sd, n), or None if the version has none."""
        if not self.norms_file:
            return None
        p = self.path.parent / self.norms_file
        if not p.exists():
            return None
        return pd.read_csv(p, encoding="utf-8")

    def level_of(self, band: str, value: float) -> str | None:
        cuts = self.levels.cuts[band]
        if value != value:  # NaN
            return None
        k = sum(value >= c for c in cuts)
        return self.levels.labels[k]

    def __repr__(self) -> str:  # short, for notebooks
        return (f"Instrument({self.id!r}, version={self.version}, items={len(self.items)}, "
                f"bands={self.band_ids}, scales={self.scale_ids})")


# -- finding and loading ------------------------------------------------------------------------

def instruments_dir() -> Path:
    """Where instrument folders live: ``$PROFORIENT_INSTRUMENTS``, else ``./instruments``, else the
    ``instruments/`` folder of the source checkout."""
    env = os.environ.get("PROFORIENT_INSTRUMENTS")
    if env:
        return Path(env)
    cwd = Path.cwd() / "instruments"
    if cwd.is_dir():
        return cwd
    return Path(__file__).resolve().parents[1] / "instruments"


def list_instruments() -> pd.DataFrame:
    """All instrument versions found: id, version, title, file."""
    rows = []
    base = instruments_dir()
    for p in sorted(base.glob("*/*.yaml")):
        try:
            with open(p, encoding="utf-8") as fh:
                doc = yaml.safe_load(fh)
            if isinstance(doc, dict) and "items" in doc:
                rows.append({"id": doc.get("id"), "version": doc.get("version"),
                             "title": doc.get("title"), "file": str(p)})
        except yaml.YAMLError:
            continue
    return pd.DataFrame(rows, columns=["id", "version", "title", "file"])


def _versions(instrument_id: str) -> list[int]:
    folder = instruments_dir() / instrument_id
    return sorted(int(p.stem) for p in folder.glob("*.yaml") if p.stem.isdigit())


def load_instrument(source: str | Path = "psd", version: int | None = None, *,
                    year: int | None = None) -> Instrument:
    """Load and validate an instrument version.

    Parameters
    ----------
    source : str or Path
        An instrument id (a folder in :func:`instruments_dir`) or the path of a YAML file.
    version : int, optional
        The version (the year it came into force). Default: the newest.
    year : int, optional
        Instead of ``version``: the survey year; the version in force that year is loaded (the
        newest version not later than the year).

    Raises
    ------
    InstrumentError
        With a Russian message naming the file and the key, if the file breaks the schema.
    """
    if isinstance(source, int) and not isinstance(source, bool) and version is None:
        source, version = "psd", source  # load_instrument(2026): the version of the default
    if not isinstance(source, (str, Path)):
        raise InstrumentError(f"инструмент задаётся идентификатором или путём к файлу YAML, "
                              f"передано: {source!r}.")
    p = Path(source)
    if p.suffix.lower() in (".yaml", ".yml"):
        return _parse(p)
    versions = _versions(str(source))
    if not versions:
        raise InstrumentError(
            f"инструмент «{source}» не найден в папке {instruments_dir()}; "
            "проверьте идентификатор или задайте папку переменной PROFORIENT_INSTRUMENTS.")
    if year is not None:
        valid = [v for v in versions if v <= int(year)]
        if not valid:
            raise InstrumentError(
                f"для {year} года нет действующей версии инструмента «{source}» "
                f"(есть версии: {', '.join(map(str, versions))}).")
        version = valid[-1]
    if version is None:
        version = versions[-1]
    if int(version) not in versions:
        raise InstrumentError(
            f"версии {version} инструмента «{source}» нет (есть версии: "
            f"{', '.join(map(str, versions))}).")
    return _parse(instruments_dir() / str(source) / f"{int(version)}.yaml")


def _req(doc: dict, key: str, path: Path, where: str = ""):
    if key not in doc or doc[key] is None:
        raise InstrumentError(f"нет обязательного поля «{key}»{where}; добавьте его по образцу "
                              "из instruments/README.md.", file=path, column=key)
    return doc[key]


def _read_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except FileNotFoundError:
        raise InstrumentError("файл инструмента не найден.", file=path) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InstrumentError(f"файл не читается как YAML в UTF-8 ({exc.__class__.__name__}); "
                              "проверьте отступы и кодировку.", file=path) from None
    if not isinstance(doc, dict):
        raise InstrumentError("файл не описывает инструмент (ожидается словарь полей).", file=path)
    return doc


def _err(path: Path, msg: str, key: str | None = None) -> InstrumentError:
    return InstrumentError(msg, file=path, column=key)


def _parse_response_scales(doc: dict, path: Path) -> dict[str, ResponseScale]:
    rscales: dict[str, ResponseScale] = {}
    for rid, rs in (_req(doc, "response_scales", path) or {}).items():
        labels = {int(k): str(v) for k, v in _req(rs, "labels", path, f" у шкалы ответов {rid}").items()}
        lo, hi = int(rs.get("min", min(labels))), int(rs.get("max", max(labels)))
        if lo >= hi:
            raise _err(path, f"у шкалы ответов «{rid}» минимум {lo} не меньше максимума {hi}.",
                       "response_scales")
        syn = {int(k): tuple(str(w) for w in v) for k, v in (rs.get("synonyms") or {}).items()}
        rscales[str(rid)] = ResponseScale(str(rid), str(rs.get("name", rid)), lo, hi, labels, syn)
    return rscales


def _parse_bands(doc: dict, path: Path, rscales: dict) -> list[Band]:
    bands = []
    for b in _req(doc, "bands", path):
        bid = str(_req(b, "id", path, " у параллели"))
        rs = b.get("response_scale")
        if rs is not None and str(rs) not in rscales:
            raise _err(path, f"у параллели «{bid}» указана неизвестная шкала ответов «{rs}».", "bands")
        bands.append(Band(bid, str(b.get("name", bid)), tuple(int(g) for g in _req(b, "grades", path)),
                          None if rs is None else str(rs), str(b.get("reporting", "individual"))))
    band_ids = [b.id for b in bands]
    if len(set(band_ids)) != len(band_ids):
        raise _err(path, "идентификаторы параллелей повторяются.", "bands")
    all_grades = [g for b in bands for g in b.grades]
    if len(set(all_grades)) != len(all_grades):
        raise _err(path, "один и тот же класс отнесён к двум параллелям.", "bands")
    return bands


def _parse_scales(doc: dict, path: Path, band_ids: list[str]) -> tuple[list[Scale], dict[str, str]]:
    """The scales, and the scale of each item listed under a scale."""
    scales = []
    listed: dict[str, str] = {}
    for s in _req(doc, "scales", path):
        sid = str(_req(s, "id", path, " у шкалы"))
        ma = s.get("min_answered", 1)
        ma = {str(k): int(v) for k, v in ma.items()} if isinstance(ma, dict) else {b: int(ma) for b in band_ids}
        scales.append(Scale(sid, str(s.get("name", sid)), ma, str(s.get("description") or "")))
        for it in s.get("items") or []:
            if str(it) in listed:
                raise _err(path, f"задание «{it}» входит в две шкалы: «{listed[str(it)]}» и «{sid}»; "
                           "оставьте его в одной.", "scales")
            listed[str(it)] = sid
    scale_ids = [s.id for s in scales]
    if len(set(scale_ids)) != len(scale_ids):
        raise _err(path, "идентификаторы шкал повторяются.", "scales")
    return scales, listed


def _parse_item(raw: dict, path: Path, scale_ids, listed, bands, rscales) -> Item:
    band_ids = [b.id for b in bands]
    iid = str(_req(raw, "id", path, " у задания"))
    sc = str(_req(raw, "scale", path, f" у задания {iid}"))
    if sc not in scale_ids:
        raise _err(path, f"задание «{iid}» отнесено к неизвестной шкале «{sc}» (шкалы: "
                   f"{', '.join(scale_ids)}).", "items")
    if iid in listed and listed[iid] != sc:
        raise _err(path, f"задание «{iid}» входит в две шкалы: «{listed[iid]}» и «{sc}»; оставьте "
                   "его в одной.", "items")
    ib = tuple(str(x) for x in _req(raw, "bands", path, f" у задания {iid}"))
    for b in ib:
        if b not in band_ids:
            raise _err(path, f"у задания «{iid}» указана неизвестная параллель «{b}» (параллели: "
                       f"{', '.join(band_ids)}).", "items")
    rs = raw.get("response_scale")
    if rs is not None and str(rs) not in rscales:
        raise _err(path, f"у задания «{iid}» указана неизвестная шкала ответов «{rs}».", "items")
    reverse = bool(raw.get("reverse", False))
    if reverse and rs is None and any(next(x for x in bands if x.id == b).response_scale is None for b in ib):
        raise _err(path, f"задание «{iid}» помечено как обратное, но у него нет шкалы ответов "
                   "(минимума и максимума для обращения); укажите response_scale.", "items")
    return Item(iid, sc, str(_req(raw, "text", path, f" у задания {iid}")), reverse, ib,
                None if rs is None else str(rs))


def _parse_items(doc: dict, path: Path, scales, listed, bands, rscales) -> list[Item]:
    scale_ids = [s.id for s in scales]
    items: list[Item] = []
    seen: set[str] = set()
    for raw in _req(doc, "items", path):
        iid = str(_req(raw, "id", path, " у задания"))
        if iid in seen:
            raise _err(path, f"идентификатор задания «{iid}» встречается дважды; идентификаторы "
                       "должны быть уникальными.", "items")
        seen.add(iid)
        items.append(_parse_item(raw, path, scale_ids, listed, bands, rscales))
    for b in bands:
        if not any(b.id in it.bands for it in items):
            raise _err(path, f"в параллели «{b.id}» нет ни одного задания.", "bands")
        if b.response_scale is None and any(b.id in it.bands and it.response_scale is None for it in items):
            raise _err(path, f"у параллели «{b.id}» не указана шкала ответов, и не у всех её "
                       "заданий она есть.", "bands")
    return items


def _parse_levels(doc: dict, path: Path, band_ids: list[str]) -> Levels:
    lv = _req(doc, "levels", path)
    labels = tuple(str(x) for x in lv.get("labels", ["низкий", "средний", "высокий"]))
    cuts: dict[str, tuple[float, ...]] = {}
    for b in band_ids:
        c = (lv.get("cuts") or {}).get(b)
        if c is None:
            raise _err(path, f"для параллели «{b}» не заданы пороги уровней.", "levels")
        c = tuple(float(x) for x in c)
        if len(c) != len(labels) - 1:
            raise _err(path, f"для параллели «{b}» задано {len(c)} порогов, а уровней {len(labels)}: "
                       f"порогов должно быть {len(labels) - 1}.", "levels")
        if any(c[i] >= c[i + 1] for i in range(len(c) - 1)):
            raise _err(path, f"пороги уровней для параллели «{b}» не возрастают: {list(c)}.", "levels")
        cuts[b] = c
    unknown = set((lv.get("cuts") or {})) - set(band_ids)
    if unknown:
        raise _err(path, f"пороги заданы для неизвестных параллелей: "
                   f"{', '.join(sorted(map(str, unknown)))}.", "levels")
    return Levels(labels, str(lv.get("metric", "total")), cuts)


def _parse(path: Path) -> Instrument:
    doc = _read_yaml(path)
    rscales = _parse_response_scales(doc, path)
    bands = _parse_bands(doc, path, rscales)
    band_ids = [b.id for b in bands]
    scales, listed = _parse_scales(doc, path, band_ids)
    items = _parse_items(doc, path, scales, listed, bands, rscales)
    levels = _parse_levels(doc, path, band_ids)
    total = doc.get("total") or {}
    anchors = tuple(str(a) for a in (doc.get("anchors") or []))
    ids = {it.id for it in items}
    for a in anchors:
        if a not in ids:
            raise _err(path, f"якорное задание «{a}» отсутствует в списке заданий этой версии.", "anchors")
    inst = Instrument(
        id=str(_req(doc, "id", path)), version=int(_req(doc, "version", path)),
        title=str(_req(doc, "title", path)), demo=bool(doc.get("demo", False)),
        previous_version=doc.get("previous_version"), response_scales=rscales,
        bands=tuple(bands), scales=tuple(scales), items=tuple(items),
        total_name=str(total.get("name", "Общий индекс")), levels=levels, anchors=anchors,
        norms_file=doc.get("norms"), path=Path(path))
    _check_anchors(inst)
    return inst


def _check_anchors(inst: Instrument) -> None:
    """Anchors must exist, with the same wording, in the previous version."""
    if inst.previous_version is None or not inst.anchors:
        return
    prev_path = inst.path.parent / f"{int(inst.previous_version)}.yaml"
    if not prev_path.exists():
        return
    with open(prev_path, encoding="utf-8") as fh:
        prev = {str(i["id"]): normalize_text(i.get("text", "")) for i in (yaml.safe_load(fh) or {}).get("items", [])}
    for a in inst.anchors:
        if a not in prev:
            raise InstrumentError(f"якорного задания «{a}» нет в предыдущей версии "
                                  f"{inst.previous_version}.", file=inst.path, column="anchors")
        if prev[a] != normalize_text(inst.item_by_id[a].text):
            raise InstrumentError(f"формулировка якорного задания «{a}» изменилась по сравнению с "
                                  f"версией {inst.previous_version}: якорь должен быть неизменным.",
                                  file=inst.path, column="anchors")


def anchors_between(old: Instrument, new: Instrument) -> list[str]:
    """Items shared unchanged by two versions (same id and wording)."""
    return [i for i in new.item_ids if i in old.item_by_id
            and normalize_text(old.item_by_id[i].text) == normalize_text(new.item_by_id[i].text)]


def iter_versions(instrument_id: str = "psd") -> Iterable[Instrument]:
    for v in _versions(instrument_id):
        yield load_instrument(instrument_id, v)
