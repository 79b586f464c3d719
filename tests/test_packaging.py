"""pyproject.toml and environment.yml agree; the README's first lines are the two commands."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_installs_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pips = [d for d in env["dependencies"] if isinstance(d, dict)]
    names = [re.split(r"[<>=! ]", d)[0] for d in conda]
    assert sorted(names) == ["pip", "python"], "conda must provide only Python and pip"
    py = next(d for d in conda if d.startswith("python"))
    assert py.replace("python", "") == project["requires-python"]
    assert pips and any(re.fullmatch(r'-e\s+"?\.\[[a-z,]+\]"?', p) for p in pips[0]["pip"])
    extras = re.search(r"\[([a-z,]+)\]", pips[0]["pip"][0]).group(1).split(",")
    assert set(extras) <= set(project["optional-dependencies"])


def test_readme_starts_with_the_two_commands():
    lines = [l for l in (ROOT / "README.md").read_text(encoding="utf-8").splitlines() if l.strip()]
    block = lines[lines.index("```bash") + 1: lines.index("```bash") + 3]
    assert block[0].startswith('pip install -e ".[dev]" && proforient-diag annual --year 2026')
    assert block[1].startswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q" in ci and 'pip install -q -e ".[dev]"' in ci


def test_package_data_is_declared():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"proforient_diag" = ["data/*.csv"]' in text


def test_every_public_name_resolves_to_a_function_or_class_not_a_module():
    import importlib
    import types

    import proforient_diag as pdg
    import proforient_diag.psychometrics as psy
    for mod in (pdg, psy):
        for name in mod.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(mod, name)
            assert not isinstance(obj, types.ModuleType), f"{mod.__name__}.{name} is a module"
    # importing every submodule must not shadow an export
    for sub in ("omega_sl", "confirmatory", "irt", "differential", "factor", "reliability", "health"):
        importlib.import_module(f"proforient_diag.psychometrics.{sub}")
    assert callable(psy.omega) and callable(psy.cfa) and not isinstance(psy.cfa, types.ModuleType)
