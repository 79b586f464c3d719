"""The analysis objects behind the notes on ``data_samples/``, as tables and sentences.

``python tests/snapshot/build.py`` writes them under ``tests/snapshot/values/`` (CSV for tables,
JSON for sentences); ``tests/test_snapshot.py`` computes them again and compares. The refactor of
the note layer must leave them unchanged; a change of result is a separate commit that says why
and rewrites the values with this script.

What is covered: the regional diagnostics of 2026 and one municipal note (MO21, whose small
bands exercise the suppression), the monitoring analysis of 2018–2026 (aggregates, changes,
targets, rating, completeness, the association with the students' index, conclusions), one
instrument check (the 8–9 form of the 2026 version) and the CLI's ``validate`` and ``score``
outputs. Pseudonyms depend on the key: a fixed test key is used, and the store is a temporary
one, so nothing depends on the machine.
"""
from __future__ import annotations

import io
import json
import os
import re
import sys
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data_samples"
VALUES = Path(__file__).with_name("values")
KEY = b"snapshot-test-key-0123456789abcdef"
YEAR = 2026
MUNICIPALITY = "MO21"


def _frame(x) -> pd.DataFrame:
    df = x.copy() if isinstance(x, pd.DataFrame) else pd.DataFrame(x)
    df = df.reset_index(drop=True)
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(object)
    df.columns = [str(c) for c in df.columns]
    return df


def _data_digest(data: pd.DataFrame) -> pd.DataFrame:
    """The note's analysis frame, summarised (the frame itself holds pseudonyms and 30 000 rows)."""
    num = [c for c in data.columns if c.endswith("_linked") and c != "level_linked"] + ["weight"]
    g = data.groupby(["year", "band"], sort=True)
    out = g[num].agg(["count", "sum"])
    out.columns = [f"{a}_{b}" for a, b in out.columns]
    out["n"] = g.size()
    out["high_linked"] = g["level_linked"].agg(lambda s: int((s.astype(object) == "высокий").sum()))
    return out.reset_index()


def diagnostics_values(waves, municipality=None) -> dict:
    from proforient_diag.diagnostics import conclusions, diagnose

    d = diagnose(waves, YEAR, municipality=municipality)
    prefix = "municipal" if municipality else "regional"
    out = {}
    for name, value in vars(d).items():
        if isinstance(value, pd.DataFrame):
            out[f"{prefix}/{name}"] = _data_digest(value) if name == "data" else _frame(value)
    out[f"{prefix}/text"] = {
        "conclusions": conclusions(d), "linking_summary": d.linking_summary,
        "notes": list(d.notes), "warnings": list(d.warnings), "key_source": d.key_source,
        "scales": d.scales, "total_name": d.total_name, "target_version": d.target_version,
        "compare_with": list(d.compare_with), "summary": d.summary()}
    return out


def monitoring_values(store: Path) -> dict:
    from proforient_diag.monitoring import (activity_association, aggregate, change,
                                            composite_index, rank_intervals, targets)
    from proforient_diag.monitoring_findings import conclusions
    from proforient_diag.roadmap import load_monitoring_spec
    from proforient_diag.sources import load_monitoring, load_waves

    spec = load_monitoring_spec()
    res = load_monitoring(SAMPLES, range(spec.base_year, YEAR + 1), store_path=store, key=KEY)
    forms = res.forms
    agg = pd.concat([aggregate(forms, spec, "region"), aggregate(forms, spec, "municipality")],
                    ignore_index=True)
    ci = composite_index(agg, spec)
    waves = load_waves(SAMPLES, range(YEAR - 2, YEAR + 1), store_path=store, key=KEY)
    assoc = activity_association(waves.scores, forms)
    text = conclusions(agg, YEAR, spec=spec, completeness_table=res.completeness,
                       ranks=rank_intervals(forms, YEAR, spec), association=assoc)
    return {
        "monitoring/forms": _frame(forms), "monitoring/exclusions": _frame(res.exclusions),
        "monitoring/issues": _frame(res.issues), "monitoring/files": _frame(res.files),
        "monitoring/missing_schools": _frame(res.missing_schools),
        "monitoring/completeness": _frame(res.completeness), "monitoring/aggregate": _frame(agg),
        "monitoring/change": _frame(change(agg, [YEAR], spec)),
        "monitoring/targets": _frame(targets(agg[agg["level"] == "region"], spec)),
        "monitoring/composite": _frame(ci),
        "monitoring/association_coefficients": _frame(assoc.coefficients),
        "monitoring/association_fit": _frame(assoc.fit),
        "monitoring/summary": _frame(res.summary()),
        "monitoring/spec": _frame(spec.summary()),
        "monitoring/text": {"findings": [f.text for f in text.findings],
                            "conclusions": text.by_theme["text"].tolist(),
                            "recommendations": text.recommendations["text"].tolist(),
                            "association": assoc.summary(), "years": list(res.years)},
    }


def check_values(store: Path) -> dict:
    from proforient_diag import checks

    check = checks.prepare_check(SAMPLES, None, "8-9", instrument="psd", version=None,
                                 store_path=store, key=KEY)
    health = checks.run_health(check, ["sex", "band", "year"])
    dim = checks.dimensionality(check)
    fit = checks.structure_cfa(check)
    info = checks.information_curves(check, health)
    return {
        "check/sample": _frame(checks.sample_table(check)),
        "check/items": _frame(checks.item_table(check)),
        "check/reliability": _frame(checks.reliability_table(health)),
        "check/reliability_long": _frame(checks.reliability_long(health)),
        "check/dimensionality": _frame(dim.table()),
        "check/eigen": _frame(dim.eigen_long()),
        "check/loadings": _frame(dim.loadings_table(check.scales)),
        "check/cfa": _frame(fit.summary()),
        "check/scale_fit": _frame(checks.scale_fit_table(health)),
        "check/invariance": _frame(checks.invariance_table(health)),
        "check/dif": _frame(checks.dif_table(health)),
        "check/information": _frame(info),
        "check/verdict_items": _frame(checks.verdict_table(health, "item")),
        "check/verdict_scales": _frame(checks.verdict_table(health, "scale")),
        "check/rules": _frame(checks.rules_ru()),
        "check/text": {"summary": health.summary(), "years": check.years,
                       "model": checks.structure_model(check), "n_read": check.n_read,
                       "n_excluded": check.n_excluded},
    }


def _plain(text: str) -> str:
    """Console text without the padding of its columns (which depends on the paths' length)."""
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())


def cli_values() -> dict:
    from proforient_diag.cli import main

    folder = SAMPLES / "diagnostics" / str(YEAR)
    out = {}
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(["validate", str(folder), "--year", str(YEAR)])
    out["cli/text"] = {"validate": _plain(buf.getvalue().replace(str(ROOT), "<ROOT>")),
                       "validate_exit": code}
    with tempfile.TemporaryDirectory() as tmp:
        buf = io.StringIO()
        env_key = os.environ.pop("PROFORIENT_KEY", None)
        try:
            with redirect_stdout(buf):
                code = main(["score", str(folder), "--year", str(YEAR), "--out", tmp])
        finally:
            if env_key is not None:
                os.environ["PROFORIENT_KEY"] = env_key
        out["cli/text"]["score"] = _plain(buf.getvalue().replace(tmp, "<OUT>")
                                          .replace(Path(tmp).name, "<OUT>")
                                          .replace(str(ROOT), "<ROOT>"))
        out["cli/text"]["score_exit"] = code
        for name in ("scores", "exclusions", "issues", "missing_scores", "files"):
            df = pd.read_csv(Path(tmp) / f"{name}.csv", dtype=str, keep_default_na=False)
            out[f"cli/{name}"] = df.replace(str(ROOT), "<ROOT>", regex=False).apply(
                lambda s: s.str.replace(str(ROOT), "<ROOT>", regex=False))
    return out


def current() -> dict:
    """Every snapshot value, computed now (a temporary store and cache, the fixed key)."""
    from proforient_diag.sources import load_waves

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PROFORIENT_CACHE"] = str(Path(tmp) / "cache")
        store = Path(tmp) / "store.duckdb"
        waves = load_waves(SAMPLES, range(2018, YEAR + 1), store_path=store, key=KEY)
        out = {}
        out.update(diagnostics_values(waves))
        out.update(diagnostics_values(waves, MUNICIPALITY))
        out.update(monitoring_values(store))
        out.update(check_values(store))
        out.update(cli_values())
    return out


def write(values: dict, folder: Path = VALUES) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.rglob("*"):
        if old.is_file():
            old.unlink()
    for name, v in values.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(v, pd.DataFrame):  # large tables compressed (the tree stays small)
            name = p.with_suffix(".csv.gz" if len(v) > 2000 else ".csv")
            v.to_csv(name, index=False, float_format="%.17g",
                     compression={"method": "gzip", "mtime": 0} if len(v) > 2000 else None)
        else:
            p.with_suffix(".json").write_text(json.dumps(v, ensure_ascii=False, indent=1,
                                                         default=_json_default) + "\n",
                                              encoding="utf-8")


def _json_default(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    raise TypeError(type(x))


def stored(folder: Path = VALUES) -> dict:
    out = {}
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        name = str(p.relative_to(folder)).removesuffix(".gz").removesuffix(".csv")
        name = name.removesuffix(".json")
        if p.suffix in (".csv", ".gz"):
            out[name] = pd.read_csv(p, dtype=str, keep_default_na=False)
        else:
            out[name] = json.loads(p.read_text(encoding="utf-8"))
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    write(current())
    print(f"written to {VALUES}")
