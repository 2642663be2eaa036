"""A closed run on a small generated lake (scale 0.01, one period, two entities), made once per
session and shared by the report tests; each test reads it and writes its reports elsewhere."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "close"))  # closekit: the close tests' lake helper

ENTITIES = ("HF_SN", "JM_EG")


@pytest.fixture(scope="session")
def closed(tmp_path_factory) -> dict:
    from closekit import make_lake

    from soxauto.cli import run

    lake = make_lake(tmp_path_factory.mktemp("reports-lake") / "lake")
    home = tmp_path_factory.mktemp("reports-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOXAUTO_HOME", str(home))
        for name in ("SOXAUTO_SIGNING_KEY", "SOXAUTO_SIGNING_KEY_FILE", "SOXAUTO_TSA_URL", "SOXAUTO_EVIDENCE_S3_BUCKET"):
            mp.delenv(name, raising=False)
        out = home / "close.json"
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = run(["close", "--lake", str(lake), "--period", "2025-09", "--entities", *ENTITIES, "--json"])
        out.write_text(buf.getvalue())
    summary = json.loads(buf.getvalue())
    assert code in (0, 1, 2), buf.getvalue()[-2000:]
    return {"home": home, "lake": lake, "run_id": summary["run_id"], "summary": summary,
            "run_store": f"sqlite:///{home / 'runs.sqlite'}", "reports": home / "reports", "evidence": home / "evidence"}


@pytest.fixture(scope="session")
def data(closed):
    from soxauto.close.store import RunStore
    from soxauto.reports.model import load_run

    runs = RunStore(closed["run_store"])
    try:
        yield load_run(runs, closed["run_id"], closed["reports"], closed["evidence"])
    finally:
        runs.close()
