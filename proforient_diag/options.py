"""Options checked before any work starts, with the allowed values named in Russian.

One validator for every public function, after factor_analyzer's ``_arg_checker`` (a
``ValueError`` that lists the allowed options), but raising :class:`~proforient_diag.errors.OptionError`
(a :class:`~proforient_diag.errors.DiagError` and a ``ValueError``) with a Russian sentence::

    параметр «method»: допустимые значения «anchor», «none»; передано «anchr».

:func:`options` declares a function's options beside its signature and checks them on every call
before the body runs; the declaration stays on the function (``fn.__options__``), so a test can
call every public function with an unknown value. :func:`check_option` and :func:`check_range`
serve the few checks that depend on the data (a band of the instrument at hand, a number range).
"""
from __future__ import annotations

import functools
import inspect
from typing import Callable, Iterable

from .errors import OptionError

__all__ = ["check_option", "check_choices", "check_range", "options", "allowed_text"]


def _show(value) -> str:
    if isinstance(value, str):
        return f"«{value}»"
    return f"«{value!r}»"


def allowed_text(allowed: Iterable) -> str:
    """``«a», «b», «c»`` — the allowed values as a Russian list."""
    return ", ".join(_show(a) for a in allowed)


def check_option(name: str, value, allowed: Iterable):
    """Return ``value`` if it is one of ``allowed``; else raise :class:`OptionError`.

    Examples
    --------
    >>> check_option("method", "anchor", ("anchor", "none"))
    'anchor'
    """
    allowed = tuple(allowed)
    try:
        ok = value in allowed
    except TypeError:  # an unhashable or incomparable value
        ok = False
    if not ok:
        raise OptionError(f"параметр «{name}»: допустимые значения {allowed_text(allowed)}; "
                          f"передано {_show(value)}.", option=name, value=value, allowed=allowed)
    return value


def check_choices(name: str, values, allowed: Iterable) -> tuple:
    """Check every element of a list-valued option (e.g. ``group_equal``); return them as a tuple."""
    values = (values,) if isinstance(values, str) else tuple(values)
    allowed = tuple(allowed)
    bad = [v for v in values if v not in allowed]
    if bad:
        raise OptionError(f"параметр «{name}»: допустимые значения {allowed_text(allowed)}; "
                          f"передано {_show(bad[0])}.", option=name, value=bad[0], allowed=allowed)
    return values


def check_range(name: str, value, *, low=None, high=None, low_open: bool = False,
                high_open: bool = False, integer: bool = False, none: bool = False):
    """Check a number option against its range; return it.

    ``low``/``high`` are the bounds (``None``: unbounded), ``*_open`` makes a bound strict,
    ``integer`` requires a whole number, ``none`` allows ``None``.
    """
    if value is None and none:
        return value
    kind = "целое число" if integer else "число"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '≥'} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '≤'} {high}")
    need = kind + (" " + " и ".join(parts) if parts else "") + (" или None" if none else "")
    try:
        x = float(value)
        ok = not isinstance(value, bool) and x == x
    except (TypeError, ValueError):
        ok = False
    if ok and integer:
        ok = float(value).is_integer()
    if ok and low is not None:
        ok = x > low if low_open else x >= low
    if ok and high is not None:
        ok = x < high if high_open else x <= high
    if not ok:
        raise OptionError(f"параметр «{name}»: допустимо {need}; передано {_show(value)}.",
                          option=name, value=value)
    return value


def options(**spec) -> Callable:
    """Decorator: check the named options of every call before the function runs.

    ``spec`` maps a parameter name to its allowed values (a tuple; a list-valued parameter is
    checked element by element when its value is a list or tuple and the allowed values are
    strings) or to a callable ``check(name, value)`` that raises :class:`OptionError`.

    Examples
    --------
    >>> @options(method=("anchor", "none"))
    ... def link(data, method="anchor"):
    ...     return method
    >>> link(None, method="none")
    'none'
    """
    def wrap(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        unknown = set(spec) - set(sig.parameters)
        if unknown:  # a programming error, found at import
            raise TypeError(f"{fn.__qualname__}: no parameters {sorted(unknown)}")

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            bound = sig.bind_partial(*args, **kwargs)
            for name, allowed in spec.items():
                if name not in bound.arguments:
                    continue
                value = bound.arguments[name]
                if callable(allowed):
                    allowed(name, value)
                elif isinstance(value, (list, tuple)) and not any(
                        isinstance(a, (list, tuple)) for a in allowed):
                    check_choices(name, value, allowed)
                else:
                    check_option(name, value, allowed)
            return fn(*args, **kwargs)

        checked.__options__ = dict(spec)
        return checked
    return wrap
