"""proforient-diag: career self-determination diagnostics of Kuzbass schools.

The public API is re-exported here lazily (``import proforient_diag as pd_``
does not import pandas-heavy modules until a name is used).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # foundation
    "load_instrument": "instrument",
    "list_instruments": "instrument",
    "Instrument": "instrument",
    "read_responses": "ingest",
    "IngestResult": "ingest",
    "score": "scoring",
    "ScoreResult": "scoring",
    "DiagError": "errors",
    "write_codebook": "codebook",
    "write_templates": "codebook",
    "Store": "store",
    "compare_groups": "compare",
    "compare_years": "compare",
    "level_shift": "compare",
    "trend": "compare",
    "cohort_change": "compare",
    "rake": "weighting",
    "poststratify": "weighting",
    "weighted_mean": "weighting",
    "design_effect": "weighting",
    "pseudonymise": "privacy",
    "load_key": "privacy",
    "create_key": "privacy",
    "suppress": "privacy",
    "assert_publishable": "privacy",
    "run_note": "report.runner",
    "run_batch": "report.runner",
}

_PSY = [
    "item_analysis", "alpha", "split_half", "omega", "polychoric", "kmo", "bartlett",
    "parallel_analysis", "efa", "cfa", "invariance", "dif", "grm", "link", "instrument_health",
]

__all__ = sorted([*_EXPORTS, *_PSY, "__version__"])


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    if name in _PSY:
        return getattr(importlib.import_module(f"{__name__}.psychometrics"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
