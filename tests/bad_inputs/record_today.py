"""Record in cases.yaml what the kit does TODAY with every case (``today:``) and whether the case
is a defect (``defect:``: some test of tests/test_bad_inputs.py fails on it).

It runs the CLI in-process exactly as the test does (validate; score into a temporary folder;
load into a temporary store with a temporary key) and reads the case with the Python API, then
takes the test outcome from a JUnit XML report of tests/test_bad_inputs.py::

    python -m pytest tests/test_bad_inputs.py -p no:cacheprovider --junitxml=/tmp/bad_inputs.xml
    python tests/bad_inputs/record_today.py --junit /tmp/bad_inputs.xml --kit "commit abc1234"

Put the kit to record first on PYTHONPATH (e.g. a ``git archive`` of a commit) to record a fixed
version rather than a work tree in the middle of an edit. Light: one case at a time, one process.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import tempfile
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
YAML_PATH = HERE / "cases.yaml"
N_LINES = 4


def _head(text: str, tmp: Path | None = None) -> list[str]:
    text = text.replace(str(HERE) + "/", "")  # case paths relative to tests/bad_inputs/
    if tmp is not None:
        text = text.replace(str(tmp), "<tmp>")
    lines = [re.sub(r"\s{2,}", "  ", ln).strip() for ln in text.splitlines() if ln.strip()]
    return [ln[:400] for ln in lines[:N_LINES]]


def run_cli(argv) -> tuple[int, str, str]:
    from proforient_diag.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
        except Exception as exc:  # noqa: BLE001 — record, do not stop
            code, _ = -1, err.write(f"(raised {exc.__class__.__name__}: {exc})")
    return int(code), out.getvalue(), err.getvalue()


def api_today(case: dict, spec: dict, repo: Path):
    import pandas as pd
    from proforient_diag.errors import DiagError
    folder = HERE / case["path"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if case["kind"] == "forms":
                try:
                    from proforient_diag.monitoring import read_forms
                except ImportError:
                    from proforient_diag.forms import read_forms  # type: ignore
                res = read_forms(folder, schools=pd.read_csv(repo / spec["register"]["schools"]),
                                 enrolment=pd.read_csv(repo / spec["register"]["enrolment"]),
                                 year=case["year"])
            else:
                from proforient_diag.ingest import read_responses
                res = read_responses(folder, year=case["year"])
        except DiagError as exc:
            return f"отказ: {str(exc).replace(str(HERE) + '/', '')[:400]}"
        except Exception as exc:  # noqa: BLE001
            return f"падение: {exc.__class__.__name__}: {str(exc)[:300]}"
    return {Path(str(r.file)).name: {"rows": int(r.rows), "accepted": int(r.accepted),
                                     "excluded": int(r.excluded)} for r in res.files.itertuples()}


def failures(junit: Path) -> dict[str, dict[str, list[str]]]:
    """case id -> {failing test name: its first problems}."""
    out: dict[str, dict[str, list[str]]] = {}
    for tc in ET.parse(junit).iter("testcase"):
        f = tc.find("failure")
        if f is None:
            f = tc.find("error")
        if f is None:
            continue
        m = re.match(r"(test_\w+)\[(.+)\]$", tc.get("name", ""))
        if not m:
            continue
        test, param = m.groups()
        cid = param.rsplit("-", 1)[0] if test == "test_cli" else param
        text = (f.text or "").replace(str(HERE) + "/", "")
        text = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s']+", "<tmp>", text)
        probs = [ln[1:].strip()[2:] for ln in text.splitlines()
                 if ln.startswith("E ") and ln[1:].strip().startswith("- ")]
        if not probs:
            probs = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")][:1]
        out.setdefault(cid, {})[f"{test}[{param}]"] = [p[:300] for p in probs[:5]]
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--junit", type=Path, required=True)
    ap.add_argument("--kit", default="", help="which version of the kit was run (for the record)")
    args = ap.parse_args()
    import proforient_diag
    repo = HERE.parents[1]
    doc = yaml.safe_load(YAML_PATH.read_text(encoding="utf-8"))
    fails = failures(args.junit)
    kit = args.kit or str(Path(proforient_diag.__file__).resolve().parent)
    for case in doc["cases"]:
        if not case.get("run", True):
            continue
        today: dict = {"kit": kit}
        folder = HERE / case["path"]
        for cmd in case["commands"]:
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                if cmd == "validate":
                    argv = ["validate", folder, "--year", case["year"]]
                elif cmd == "score":
                    out = tmp / "out"
                    if (case.get("options") or {}).get("out_is_file"):
                        out = tmp / case["options"]["out_is_file"]
                        out.write_text("файл\n", encoding="utf-8")
                    argv = ["score", folder, "--year", case["year"], "--out", out]
                else:
                    key = tmp / "k.key"
                    run_cli(["key", key])
                    argv = ["load", "--year", case["year"], folder, "--store",
                            tmp / "store" / "s.duckdb", "--key-file", key]
                code, out_text, err_text = run_cli(argv)
                entry = {"exit": code}
                if _head(out_text):
                    entry["stdout"] = _head(out_text, tmp)
                if _head(err_text):
                    entry["stderr"] = _head(err_text, tmp)
            today[cmd] = entry
        today["api"] = api_today(case, doc, repo)
        today["failing_tests"] = dict(sorted(fails.get(case["id"], {}).items()))
        case["today"] = today
        case["defect"] = bool(fails.get(case["id"]))
        print(f"{'DEFECT' if case['defect'] else 'ok    '} {case['id']}", flush=True)
    YAML_PATH.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100),
                         encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
