"""Psychometric checks, each validated against R (psych, lavaan, polycor, eRm).

Names are imported lazily so that importing the package stays fast; every
public function is listed in ``_EXPORTS`` with the module that defines it.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "item_analysis": "items",
    "alpha": "reliability",
    "AlphaResult": "reliability",
    "split_half": "reliability",
    "SplitHalfResult": "reliability",
    "omega": "omega_sl",
    "OmegaResult": "omega_sl",
    "polychoric": "correlation",
    "PolychoricResult": "correlation",
    "kmo": "factor",
    "bartlett": "factor",
    "parallel_analysis": "factor",
    "efa": "factor",
    "cfa": "confirmatory",
    "CFAResult": "confirmatory",
    "invariance": "confirmatory",
    "dif": "differential",
    "grm": "irt",
    "GRMResult": "irt",
    "link": "irt",
    "LinkResult": "irt",
    "instrument_health": "health",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
