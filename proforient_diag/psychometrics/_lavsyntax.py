"""A parser for the subset of lavaan model syntax that measurement models need.

Supported (as in ``lavaan::lavaanify``):

* ``f =~ x1 + x2 + x3`` — a factor measured by indicators; the first loading is fixed
  to 1 unless it carries its own modifier (lavaan's default marker);
* ``a ~~ b`` — a (residual) covariance; ``a ~~ a`` — a (residual) variance;
* modifiers before a right-hand-side name: a fixed value (``1*x1``, ``0.5*x2``),
  ``NA*x1`` (free, used to free a marker loading) and a label (``a*x2``; equal labels
  mean equal parameters);
* comments after ``#`` or ``!``, statements separated by newlines or ``;``, and a
  statement continued on the next line when a line ends with ``+`` (or the next begins
  with it).

Anything else (regressions ``~``, intercepts ``~1``, thresholds ``|``, defined
parameters ``:=``, constraints ``==``/``<``/``>``, ``c(...)`` group modifiers) raises
:class:`proforient_diag.errors.ModelSyntaxError` naming what is supported.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from proforient_diag.errors import ModelSyntaxError

__all__ = ["ParsedTerm", "parse_model"]

_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SUPPORTED = "поддерживаются операторы «=~» и «~~», модификаторы «1*x», «NA*x», «метка*x» и комментарии «#»"


@dataclass(frozen=True)
class ParsedTerm:
    """One parameter written by the user.

    ``fixed`` is the fixed value (``None`` when free), ``free_marker`` is True for an
    explicit ``NA*`` modifier, ``label`` is the user label (``None`` when absent).
    """

    lhs: str
    op: str
    rhs: str
    fixed: float | None = None
    label: str | None = None
    free_marker: bool = False
    line: int = 0

    @property
    def has_modifier(self) -> bool:
        return self.fixed is not None or self.label is not None or self.free_marker


def _strip_comments(text: str) -> list[tuple[int, str]]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"[#!]", raw, maxsplit=1)[0]
        for part in line.split(";"):
            if part.strip():
                out.append((number, part.strip()))
    return out


def _join_continuations(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    joined: list[tuple[int, str]] = []
    for number, line in lines:
        if joined and (joined[-1][1].endswith("+") or line.startswith("+")
                       or joined[-1][1].endswith("=~") or joined[-1][1].endswith("~~")):
            joined[-1] = (joined[-1][0], joined[-1][1] + " " + line)
        else:
            joined.append((number, line))
    return joined


def _check_name(name: str, line: int) -> str:
    if not _NAME.match(name):
        raise ModelSyntaxError(
            f"строка модели {line}: «{name}» не является именем переменной; {_SUPPORTED}")
    return name


def _parse_term(term: str, line: int) -> tuple[str, float | None, str | None, bool]:
    parts = [p.strip() for p in term.split("*")]
    if len(parts) == 1:
        return _check_name(parts[0], line), None, None, False
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ModelSyntaxError(f"строка модели {line}: не удаётся разобрать «{term}»; {_SUPPORTED}")
    mod, name = parts
    name = _check_name(name, line)
    if mod == "NA":
        return name, None, None, True
    if _NUMBER.match(mod):
        value = float(mod)
        if not math.isfinite(value):
            raise ModelSyntaxError(f"строка модели {line}: фиксированное значение «{mod}» не конечно")
        return name, value, None, False
    if mod.startswith(("c(", "start(", "equal(", "label(")):
        raise ModelSyntaxError(
            f"строка модели {line}: модификатор «{mod}» не поддерживается; {_SUPPORTED}")
    if not _NAME.match(mod):
        raise ModelSyntaxError(f"строка модели {line}: модификатор «{mod}» не распознан; {_SUPPORTED}")
    return name, None, mod, False


def parse_model(model: str) -> list[ParsedTerm]:
    """Parse lavaan-style measurement syntax into a flat list of :class:`ParsedTerm`.

    Parameters
    ----------
    model : str
        The model description, e.g. ``"visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6"``.

    Returns
    -------
    list of ParsedTerm
        One entry per parameter the user wrote, in order of appearance.

    Raises
    ------
    ModelSyntaxError
        On an unsupported operator, a malformed term, a duplicated parameter or an
        empty model.

    Notes
    -----
    In R: ``lavaan::lavaanify(model)`` (the user rows of the parameter table).
    """
    if not isinstance(model, str) or not model.strip():
        raise ModelSyntaxError("модель пуста: опишите хотя бы один фактор, например «F =~ x1 + x2 + x3»")
    terms: list[ParsedTerm] = []
    seen: dict[tuple[str, str, str], int] = {}
    for line, stmt in _join_continuations(_strip_comments(model)):
        for bad in (":=", "==", "<", ">", "|"):
            if bad in stmt.replace("=~", ""):
                raise ModelSyntaxError(
                    f"строка модели {line}: оператор «{bad}» не поддерживается; {_SUPPORTED}")
        if "=~" in stmt:
            op = "=~"
        elif "~~" in stmt:
            op = "~~"
        elif "~" in stmt:
            raise ModelSyntaxError(
                f"строка модели {line}: регрессии и средние («~», «~1») не поддерживаются; {_SUPPORTED}")
        else:
            raise ModelSyntaxError(f"строка модели {line}: нет оператора в «{stmt}»; {_SUPPORTED}")
        lhs, rhs = (s.strip() for s in stmt.split(op, 1))
        if op in rhs or "~" in rhs:
            raise ModelSyntaxError(f"строка модели {line}: два оператора в одной строке «{stmt}»")
        lhs = _check_name(lhs, line)
        if not rhs:
            raise ModelSyntaxError(f"строка модели {line}: после «{op}» нет переменных")
        for term in rhs.split("+"):
            term = term.strip()
            if not term:
                raise ModelSyntaxError(f"строка модели {line}: пустое слагаемое в «{stmt}»")
            name, fixed, label, free = _parse_term(term, line)
            key = (lhs, op, name) if op == "=~" else (lhs, op, name) if lhs <= name else (name, op, lhs)
            if key in seen:
                raise ModelSyntaxError(
                    f"строка модели {line}: параметр «{lhs} {op} {name}» уже задан в строке {seen[key]}")
            seen[key] = line
            terms.append(ParsedTerm(lhs, op, name, fixed, label, free, line))
    return terms
