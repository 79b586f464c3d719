"""The corpus of bad inputs (tests/bad_inputs/): every case through the CLI and the Python API.

Each case of ``tests/bad_inputs/cases.yaml`` is a folder built by
``tests/bad_inputs/make_corpus.py`` from the sample files. For every case and every command it
lists (validate, score, load) the CLI runs in-process and the test asserts:

* no traceback and no «Внутренняя ошибка» in stdout/stderr;
* the exit code: 0 when some rows are usable (``usable: true``), 2 when nothing is usable;
* every ``must_say`` fragment in stdout+stderr (case-insensitive; a list = any of; a fragment
  «строка N» also matches «строке N», «строки N», «стр. N», «строка № N»);
* no ``must_not_say`` string in stdout, stderr or any file written under the output folder
  (score) or the store (load; the DuckDB tables are read back as text);
* ``score``: files.csv accounts for every record (accepted + excluded == rows_in_file);
  ``expect.outputs_safe``: no output cell that a spreadsheet would run as a formula;
* ``load``: ``expect.store_distinct_pids`` distinct pseudonyms in the store.

Through the Python API (``read_responses`` for answer sheets, ``read_forms`` for monitoring
forms) the accounting identity is checked per file against ``rows_in_file`` (the number of
records the generator wrote, not what the reader thinks), and ``expect`` (accepted rows,
excluded rows, values of accepted rows).

Many of these tests fail on the kit of today: that is the point of the corpus (see ``today:`` and
``defect:`` in cases.yaml). No test here is timed.
"""
from __future__ import annotations

import csv
import hashlib
import html
import math
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from proforient_diag.cli import main
from proforient_diag.errors import DiagError

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "bad_inputs"
REPO = HERE.parent
SPEC = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
ALL_CASES = SPEC["cases"]
CASES = [c for c in ALL_CASES if c.get("run", True)]
ALWAYS_NOT = ("traceback", "внутренняя ошибка")


def _case_dir(case) -> Path:
    return CORPUS / case["path"]


def _params_cli():
    return [pytest.param(c, cmd, id=f"{c['id']}-{cmd}") for c in CASES for cmd in c["commands"]]


def _params_cases(pred=lambda c: True):
    return [pytest.param(c, id=c["id"]) for c in CASES if pred(c)]


# ------------------------------------------------------------------------------ helpers

@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv("PROFORIENT_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # nothing may be written into the work tree
    return tmp_path


def run_cli(argv, capsys) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    cap = capsys.readouterr()
    return int(code), cap.out, cap.err


def _norm(text: str) -> str:
    return text.lower().replace("\u00a0", " ").replace("ё", "е")


_ROW = re.compile(r"^строка (\d+)$")


def says(text: str, fragment: str) -> bool:
    t = _norm(text)
    m = _ROW.match(fragment)
    if m:
        n = m.group(1)
        return re.search(rf"(?:строк\w*|стр\.)[ \t]*(?:№[ \t]*)?{n}(?!\d)", t) is not None
    return _norm(fragment) in t


def missing_fragments(text: str, must_say) -> list:
    out = []
    for item in must_say:
        alts = item if isinstance(item, list) else [item]
        if not any(says(text, a) for a in alts):
            out.append(item)
    return out


def _xlsx_text(path: Path) -> str:
    parts = []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                parts.append(html.unescape(z.read(name).decode("utf-8", "replace")))
    return "\n".join(parts)


def _duckdb_text(path: Path) -> str:
    import duckdb
    con = duckdb.connect(str(path), read_only=True)
    try:
        parts = []
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        for schema, name in tables:
            df = con.execute(f'SELECT * FROM "{schema}"."{name}"').fetchdf()
            parts.append(df.to_csv(index=False))
        return "\n".join(parts)
    finally:
        con.close()


def written_text(folder: Path) -> dict[Path, str]:
    """The text of every file under ``folder`` (CSV/text as is, XLSX cells, DuckDB tables)."""
    out = {}
    if not folder.exists():
        return out
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        if p.suffix.lower() in (".xlsx", ".xlsm"):
            out[p] = _xlsx_text(p)
        elif p.suffix.lower() == ".duckdb":
            out[p] = _duckdb_text(p)
        elif p.suffix.lower() in (".wal", ".lock", ".tmp"):
            out[p] = p.read_bytes().decode("utf-8", "ignore")
        else:
            out[p] = p.read_bytes().decode("utf-8", "replace")
    return out


def _is_number(s: str) -> bool:
    try:
        float(s.replace(",", "."))
        return True
    except ValueError:
        return False


def unsafe_cells(folder: Path) -> list[str]:
    """Output cells a spreadsheet would execute: CSV cells starting with = + - @ (or a tab/CR)
    that are not numbers, and XLSX formula cells."""
    import openpyxl
    bad = []
    for p in sorted(folder.rglob("*.csv")):
        with open(p, encoding="utf-8-sig", newline="") as fh:
            for i, row in enumerate(csv.reader(fh), start=1):
                for c in row:
                    if c[:1] in ("=", "+", "-", "@", "\t", "\r") and c != "-" and not _is_number(c):
                        bad.append(f"{p.name}:{i}: {c[:60]!r}")
    for p in sorted(folder.rglob("*.xlsx")):
        wb = openpyxl.load_workbook(p)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        bad.append(f"{p.name} [{ws.title}] {cell.coordinate}: formula {str(cell.value)[:60]!r}")
    return bad


def _file_name(label) -> str:
    return Path(re.sub(r" \[[^\]]*\]$", "", str(label))).name


def _read_forms():
    try:
        from proforient_diag.monitoring import read_forms
    except ImportError:  # the package may move it
        from proforient_diag.forms import read_forms  # type: ignore
    return read_forms


def read_api(case):
    """(result, error): the API's reading of the case folder; error is the DiagError raised."""
    folder = _case_dir(case)
    try:
        if case["kind"] == "forms":
            import pandas as pd
            schools = pd.read_csv(REPO / SPEC["register"]["schools"])
            enrolment = pd.read_csv(REPO / SPEC["register"]["enrolment"])
            return _read_forms()(folder, schools=schools, enrolment=enrolment, year=case["year"]), None
        from proforient_diag.ingest import read_responses
        return read_responses(folder, year=case["year"]), None
    except DiagError as exc:
        return None, exc


def accepted_frame(case, res):
    return res.forms if case["kind"] == "forms" else res.responses


def check_identity(case, files_rows: dict[str, tuple[int, int, int]], where: str) -> list[str]:
    """Problems with accepted + excluded == rows_in_file, per file."""
    problems = []
    uncountable = set(case.get("uncountable", []))
    for name, n in case["rows_in_file"].items():
        if name in uncountable:
            continue
        if name not in files_rows:
            if case["usable"] and n:
                problems.append(f"{where}: file {name} is not listed ({n} records in it)")
            continue
        rows, acc, exc = files_rows[name]
        read_any = rows or acc or exc
        if not case["usable"] and not read_any:
            continue
        if acc + exc != n:
            problems.append(f"{where}: {name}: accepted {acc} + excluded {exc} = {acc + exc}, "
                            f"but the file holds {n} records (the reader says rows={rows})")
    return problems


# ------------------------------------------------------------------------------ the corpus itself

def test_corpus_complete():
    assert len(CASES) >= 55
    ids = [c["id"] for c in ALL_CASES]
    assert len(ids) == len(set(ids))
    total = 0
    for c in CASES:
        d = _case_dir(c)
        assert d.is_dir(), d
        for name in c["rows_in_file"]:
            assert (d / name).is_file(), d / name
        names = {p.name for p in d.iterdir()}
        assert names == set(c["rows_in_file"]), (c["id"], names)
        total += sum(p.stat().st_size for p in d.iterdir())
        assert c["kind"] in ("diagnostics", "forms")
        assert set(c["commands"]) <= {"validate", "score", "load"}
    assert total < 2_500_000


# ------------------------------------------------------------------------------ the CLI

@pytest.mark.parametrize("case,command", _params_cli())
def test_cli(case, command, env, capsys):
    tmp = env
    folder = _case_dir(case)
    year = case["year"]
    opts = case.get("options") or {}
    out_dir = tmp / "out"
    store_dir = tmp / "store"
    if command == "validate":
        argv = ["validate", folder, "--year", year]
        scan = None
    elif command == "score":
        if opts.get("out_is_file"):
            out_dir = tmp / opts["out_is_file"]
            out_dir.write_text("это файл, а не папка\n", encoding="utf-8")
        argv = ["score", folder, "--year", year, "--out", out_dir]
        scan = out_dir
    else:
        key = tmp / "keys" / "proforient.key"
        key.parent.mkdir()
        code, _, err = run_cli(["key", key], capsys)
        assert code == 0, err
        argv = ["load", "--year", year, folder, "--store", store_dir / "proforient.duckdb",
                "--key-file", key]
        scan = store_dir
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(folder).iterdir()}
    code, out, err = run_cli(argv, capsys)
    said = out + "\n" + err
    problems = []
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in Path(folder).iterdir()}
    if after != before:
        problems.append(f"the raw files changed: {sorted(set(before.items()) ^ set(after.items()))}")
    for bad in ALWAYS_NOT:
        if bad in said.lower():
            problems.append(f"the output has «{bad}»: {err.strip()[:300]}")
    want = 0 if case["usable"] else 2
    if code != want:
        problems.append(f"exit code {code}, expected {want} (usable={case['usable']})")
    miss = missing_fragments(said, case["must_say"])
    if miss:
        problems.append(f"the message does not say {miss}")
    for s in case["must_not_say"]:
        if _norm(s) in _norm(said):
            problems.append(f"stdout/stderr contains «{s[:60]}»")
    texts = written_text(scan) if scan is not None and scan.is_dir() else {}
    for p, t in texts.items():
        for s in case["must_not_say"]:
            if _norm(s) in _norm(t):
                problems.append(f"{p.relative_to(tmp)} contains «{s[:60]}»")
    expect = case.get("expect") or {}
    if command == "score" and case["usable"] and code == 0:
        files_csv = out_dir / "files.csv"
        if not files_csv.exists():
            problems.append("score wrote no files.csv")
        else:
            import pandas as pd
            f = pd.read_csv(files_csv, encoding="utf-8-sig")
            rows = {Path(str(r.file)).name: (int(r.rows), int(r.accepted), int(r.excluded))
                    for r in f.itertuples()}
            problems += check_identity(case, rows, "files.csv")
        if expect.get("outputs_safe"):
            problems += [f"unsafe output cell {b}" for b in unsafe_cells(out_dir)]
    if command == "load" and "store_distinct_pids" in expect and code == 0:
        import duckdb
        con = duckdb.connect(str(store_dir / "proforient.duckdb"), read_only=True)
        try:
            n = con.execute("SELECT count(DISTINCT respondent_pid) FROM responses").fetchone()[0]
        finally:
            con.close()
        if n != expect["store_distinct_pids"]:
            problems.append(f"the store holds {n} distinct pseudonyms, expected "
                            f"{expect['store_distinct_pids']} (different students)")
    assert not problems, (f"{case['id']} [{command}]: {case['description']}\n  - "
                          + "\n  - ".join(problems) + f"\n--- stdout ---\n{out[:1500]}\n--- stderr ---\n{err[:1500]}")


# ------------------------------------------------------------------------------ the Python API

@pytest.mark.parametrize("case", _params_cases())
def test_rows_accounted(case, env):
    res, err = read_api(case)
    # a case made unusable by a command's option (score --out at a file) reads fine
    usable = case["usable"] or bool((case.get("options") or {}).get("out_is_file"))
    if res is None:
        assert not usable, f"{case['id']}: the reader refused a usable input: {err}"
        return
    rows = {}
    for r in res.files.itertuples():
        name = Path(str(r.file)).name
        rows[name] = (int(r.rows), int(r.accepted), int(r.excluded))
    problems = check_identity(case, rows, "files")
    n_acc = len(accepted_frame(case, res))
    if usable and n_acc == 0:
        problems.append("nothing accepted, but the case is usable")
    if not usable and n_acc:
        problems.append(f"{n_acc} rows accepted, but nothing in this case is usable")
    assert not problems, f"{case['id']}: {case['description']}\n  - " + "\n  - ".join(problems)


def _has_api_expect(c) -> bool:
    e = c.get("expect") or {}
    return any(k in e for k in ("accepted_total", "accepted_by_file", "excluded_rows", "values"))


def _same(actual, expected) -> bool:
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        try:
            a = float(actual)
        except (TypeError, ValueError):
            return False
        return not math.isnan(a) and abs(a - float(expected)) < 1e-9
    return str(actual) == str(expected)


@pytest.mark.parametrize("case", _params_cases(_has_api_expect))
def test_expected_content(case, env):
    res, err = read_api(case)
    assert res is not None, f"{case['id']}: the reader refused the input: {err}"
    e = case["expect"]
    acc = accepted_frame(case, res)
    names = acc["source_file"].map(_file_name) if len(acc) else acc.get("source_file")
    problems = []
    if "accepted_total" in e and len(acc) != e["accepted_total"]:
        problems.append(f"accepted {len(acc)} rows, expected {e['accepted_total']}")
    for name, n in (e.get("accepted_by_file") or {}).items():
        got = int((names == name).sum()) if len(acc) else 0
        if got != n:
            problems.append(f"{name}: accepted {got} rows, expected {n}")
    ex = res.exclusions
    for name, rows in (e.get("excluded_rows") or {}).items():
        if len(ex):
            mine = ex[ex["source_file"].map(_file_name) == name]
            have = {int(r) for r in mine["source_row"].dropna()}
        else:
            have = set()
        lost = sorted(set(rows) - have)
        if lost:
            problems.append(f"{name}: rows {lost} are not excluded")
    for v in e.get("values") or []:
        if not len(acc):
            problems.append(f"{v['file']} row {v['row']}: not accepted")
            continue
        hit = acc[(names == v["file"]) & (acc["source_row"].astype(int) == int(v["row"]))]
        if not len(hit):
            problems.append(f"{v['file']} row {v['row']}: not accepted")
        elif v["column"] not in hit.columns:
            problems.append(f"{v['file']} row {v['row']}: no column {v['column']}")
        elif not _same(hit.iloc[0][v["column"]], v["value"]):
            problems.append(f"{v['file']} row {v['row']} {v['column']}: {hit.iloc[0][v['column']]!r}, "
                            f"expected {v['value']!r}")
    assert not problems, f"{case['id']}: {case['description']}\n  - " + "\n  - ".join(problems)
