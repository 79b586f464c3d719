"""Every public function given an unknown option answers in Russian with the allowed values,
before any work starts (the other arguments may be anything: the option is checked first)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pandas as pd
import pytest

import proforient_diag
from proforient_diag.errors import DiagError, OptionError
from proforient_diag.options import allowed_text

BAD = "нет-такого"
#: Parameters with a text default that name a column or a file, not an option.
NOT_OPTIONS = {"year", "cluster", "level", "id", "municipality", "score", "count", "count_col",
               "by", "outcome", "instrument", "source", "env", "flag", "band"}
#: Parameter names that are options wherever they appear.
OPTION_NAMES = {"method", "rotation", "cor", "fa", "adjust", "test", "estimator", "missing",
                "thresholds", "se", "kind", "linking", "r2_rule", "context", "which"}


def _public_functions():
    out = []
    for m in pkgutil.walk_packages(proforient_diag.__path__, "proforient_diag."):
        mod = importlib.import_module(m.name)
        for name, fn in vars(mod).items():   # every public function defined in the module
            if inspect.isfunction(fn) and fn.__module__ == m.name and not name.startswith("_"):
                out.append((f"{m.name}.{name}", fn))
    return out


FUNCTIONS = _public_functions()
DECLARED = [(name, fn, opt) for name, fn in FUNCTIONS for opt in getattr(fn, "__options__", {})]


def test_options_are_declared_where_they_are_taken():
    missing = []
    for name, fn in FUNCTIONS:
        declared = getattr(fn, "__options__", {})
        for p in inspect.signature(fn).parameters.values():
            if isinstance(p.default, str) and p.name in OPTION_NAMES \
                    and p.name not in NOT_OPTIONS and p.name not in declared:
                missing.append(f"{name}({p.name})")
    assert missing == []
    assert len(DECLARED) >= 30   # the test must not pass on an empty list


def _call_with(fn, option, value):
    kwargs = {p.name: None for p in inspect.signature(fn).parameters.values()
              if p.default is inspect.Parameter.empty
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    kwargs[option] = value
    return fn(**kwargs)


@pytest.mark.parametrize("name, fn, option", DECLARED,
                         ids=[f"{n}:{o}" for n, _, o in DECLARED])
def test_unknown_option_is_refused_in_russian(name, fn, option):
    allowed = fn.__options__[option]
    with pytest.raises(OptionError) as err:
        _call_with(fn, option, BAD)
    msg = str(err.value)
    assert msg.startswith(f"параметр «{option}»: допустимые значения ")
    assert allowed_text(allowed) in msg and f"передано «{BAD}»" in msg
    assert isinstance(err.value, (DiagError, ValueError))




@pytest.mark.parametrize("call, needle", [
    (lambda: __import__("proforient_diag.checks", fromlist=["x"]).prepare_check(
        "data_samples", 2026, band="12-13"), "параметр «band»: допустимые значения «1-4», «5-7»"),
    (lambda: proforient_diag.instrument_health(pd.DataFrame({"band": ["8-9"]}), "psd",
                                               groups=("класс",)), "параметр «groups»"),
    (lambda: proforient_diag.instrument_health(pd.DataFrame({"band": ["8-9"]}), "psd",
                                               n_boot=-1), "параметр «n_boot»: допустимо целое"),
    (lambda: proforient_diag.alpha(pd.DataFrame(np.eye(3)), level=1.5), "параметр «level»"),
    (lambda: proforient_diag.dif(pd.DataFrame(), ["a"], "sex", "ж", alpha=0), "параметр «alpha»"),
    (lambda: proforient_diag.suppress(pd.DataFrame({"n": [1]}), threshold=0),
     "параметр «threshold»: допустимо число ≥ 1"),
    (lambda: proforient_diag.rake(pd.DataFrame(), {}, trim=(2, 3)), "параметр «trim»"),
    (lambda: proforient_diag.grm(pd.DataFrame(), n_quad=2), "параметр «n_quad»"),
    (lambda: proforient_diag.cfa(pd.DataFrame(), "F =~ a + b", group_equal=["веса"]),
     "параметр «group_equal»: допустимые значения «loadings»"),
])
def test_options_that_depend_on_their_data(call, needle):
    with pytest.raises(OptionError, match=needle):
        call()
