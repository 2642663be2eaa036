"""The proof items a close writes per entity: every bridge total and the unexplained amount of
every line re-foot from the listed rows, the file's hash is the one the run store records,
and the reader filters and refuses a run that has none."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.compute as pc
import pytest
from closekit import make_lake

from soxauto.cli import run
from soxauto.close.items import SCHEMA, UNEXPLAINED, items_path, read_items
from soxauto.close.store import RunStore
from soxauto.errors import UsageError

ENTITIES = ("HF_SN", "JM_EG")


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    lake = make_lake(tmp_path_factory.mktemp("lake") / "lake", first=(2025, 9), periods=1)
    home = tmp_path_factory.mktemp("home")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOXAUTO_HOME", str(home))
    try:
        code = run(["close", "--lake", str(lake), "--period", "2025-09", "--entities", *ENTITIES, "--json"])
    finally:
        mp.undo()
    runs = RunStore(f"sqlite:///{home / 'runs.sqlite'}")
    run_id = runs.runs()[0]["id"]
    yield home / "reports", run_id, runs
    runs.close()
    assert code in (0, 1, 2)


def total(table, line: str, bridge: str) -> Decimal:
    rows = table.filter(pc.and_(pc.equal(table["line"], line), pc.equal(table["bridge"], bridge)))
    return sum((v for v in rows["amount_lcy"].to_pylist()), Decimal("0.00"))


def test_every_bridge_and_unexplained_amount_refoots_from_the_items(closed):
    reports, run_id, runs = closed
    lines = runs.recon_lines(run_id)
    checked = 0
    for entity in ENTITIES:
        table = read_items(reports, run_id, entity=entity)
        assert table.schema == SCHEMA
        assert set(table["entity"].to_pylist()) == {entity}
        for ln in lines[entity]:
            for bridge, figures in ln["bridges"].items():
                assert total(table, ln["line"], bridge) == Decimal(figures["amount_lcy"])
                assert len(table.filter(pc.and_(pc.equal(table["line"], ln["line"]),
                                                pc.equal(table["bridge"], bridge)))) == figures["item_count"]
                checked += 1
            # unexplained = Σ unclaimed keys + the key-level tie-out difference (a finding, not an item)
            tie = Decimal(ln["key_level"]["tie_out_difference"] or "0")
            assert total(table, ln["line"], UNEXPLAINED) + tie == Decimal(ln["unexplained_lcy"])
    assert checked > 10


def test_the_run_store_records_the_file_hash_and_rows(closed):
    reports, run_id, runs = closed
    for step in [s for s in runs.steps(run_id) if s["stage"] == "reconcile"]:
        recorded = step["detail"]["items"]
        path = items_path(reports, run_id, step["entity"])
        assert recorded["path"] == str(path)
        assert recorded["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert recorded["rows"] == len(read_items(reports, run_id, entity=step["entity"]))


def test_reader_filters_and_refuses_a_run_without_items(closed, tmp_path):
    reports, run_id, runs = closed
    every = read_items(reports, run_id)
    assert set(every["entity"].to_pylist()) == set(ENTITIES)
    line = runs.recon_lines(run_id)["HF_SN"][0]["line"]
    some = read_items(reports, run_id, line=line, bridge=UNEXPLAINED)
    assert set(some["line"].to_pylist()) <= {line} and set(some["bridge"].to_pylist()) <= {UNEXPLAINED}
    assert len(some) == sum(len(read_items(reports, run_id, entity=e, line=line, bridge=UNEXPLAINED)) for e in ENTITIES)
    with pytest.raises(UsageError, match="no proof items"):
        read_items(tmp_path, run_id)
    with pytest.raises(UsageError, match="entity XX_YY"):
        read_items(reports, run_id, entity="XX_YY")
