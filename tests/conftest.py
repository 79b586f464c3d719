import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference"


def load_reference(name: str) -> dict:
    """Read the values an R script in tests/reference/ wrote (``name``.json)."""
    with open(REFERENCE / f"{name}.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def spec():
    """The roadmap monitoring spec (instruments/roadmap-monitoring.yaml)."""
    from proforient_diag.roadmap import load_monitoring_spec
    return load_monitoring_spec()


@pytest.fixture(scope="session")
def register():
    """The sample region's school list and school enrolment."""
    import pandas as pd
    samples = ROOT / "data_samples"
    return pd.read_csv(samples / "schools.csv"), pd.read_csv(samples / "school_enrolment.csv")
