"""Bounded memory: extracts above ``spool_rows`` stream from the engine to a Parquet file batch
by batch. A close that spools every extract of more than 50 rows must give the same evidence
(fingerprints, data hashes, profiles, control totals), the same test outcomes and the same
reconciliation, to the cent, as a close that holds every extract in memory."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from closekit import figures, make_lake

from soxauto.catalog import load_catalog
from soxauto.cli import run
from soxauto.engines import connect
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

ENTITIES = ("HF_SN", "JM_EG")


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    return make_lake(tmp_path_factory.mktemp("lake") / "lake", first=(2025, 9), periods=1)


def close(lake: Path, home: Path, spool_rows: int, capsys) -> dict:
    mp = pytest.MonkeyPatch()
    mp.setenv("SOXAUTO_HOME", str(home))
    mp.setenv("SOXAUTO_SPOOL_ROWS", str(spool_rows))
    try:
        code = run(["close", "--lake", str(lake), "--period", "2025-09", "--entities", *ENTITIES, "--json"])
    finally:
        mp.undo()
    assert code in (0, 1, 2)
    return json.loads(capsys.readouterr().out)


def evidence(home: Path, summary: dict) -> dict:
    out = {}
    for step in summary["steps"]:
        if step["stage"] != "evidence":
            continue
        manifest = json.loads((home / "evidence" / step["evidence_id"] / "manifest.json").read_text())
        files = {f["path"]: f["sha256"] for f in manifest["artifacts"]} if "artifacts" in manifest else {}
        profile = json.loads((home / "evidence" / step["evidence_id"] / "profile.json").read_text())
        tests = json.loads((home / "evidence" / step["evidence_id"] / "tests.json").read_text())
        out[step["evidence_id"]] = {
            "rows": step["rows"], "fingerprint": step["fingerprint"], "profile": profile,
            "outcomes": [(r["rule_id"], r["outcome"], r["failing_count"], r["observed"]) for r in tests["results"]],
            "csv": files.get("data.csv"),
        }
    return out


def test_spooled_and_in_memory_closes_agree_to_the_cent(lake, tmp_path, capsys):
    held = close(lake, tmp_path / "held", 10_000_000, capsys)
    spooled = close(lake, tmp_path / "spooled", 50, capsys)

    a, b = evidence(tmp_path / "held", held), evidence(tmp_path / "spooled", spooled)
    assert a == b
    big = [k for k, v in a.items() if v["rows"] > 50]
    assert len(big) >= 6, "the lake must make several extracts spool"
    assert figures(held["reconciliation"]) == figures(spooled["reconciliation"])
    assert held["reconciliation"]["summary"] == spooled["reconciliation"]["summary"]
    # nothing of the spool is left in the store, and every package verifies
    store = tmp_path / "spooled" / "evidence"
    assert not [p for p in store.iterdir() if p.name.startswith(".tmp-")]
    assert run(["evidence", "verify", "--all", "--store", str(store)]) == 0


def test_extract_spools_past_the_threshold_with_the_figures_of_the_whole(lake, tmp_path):
    catalog = load_catalog()
    engine = connect(lake_binding(lake))
    item = catalog.item("CR_03")
    held = extract(engine, item, Period(2025, 9), "HF_SN")
    spooled = extract(engine, item, Period(2025, 9), "HF_SN", spool=tmp_path, spool_rows=20)
    small = extract(engine, catalog.item("CR_05"), Period(2025, 9), "HF_SN", spool=tmp_path, spool_rows=10_000)

    assert held.row_count > 20 and spooled.table is None and spooled.row_count == held.row_count
    assert small.spooled is None and small.table is not None  # under the threshold: held in memory
    assert spooled.control_totals == held.control_totals and sum(held.control_totals.values()) != Decimal(0)
    from soxauto.evidence.fingerprint import fingerprint

    assert spooled.spooled.fingerprint == fingerprint(held.table)
    on_disk = pq.read_table(spooled.spooled.path)
    assert on_disk.cast(held.table.schema).equals(held.table)
    assert spooled.query.sql == held.query.sql and spooled.query.parameters == held.query.parameters
