"""Recovery of interrupted commits, and the ledger under concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from crashkit import run_jobs
from evkit import make_lake

from soxauto.catalog import load_catalog
from soxauto.engines import connect
from soxauto.evidence import ledger, trusted_keys, verify_store
from soxauto.evidence import package as package_mod
from soxauto.evidence.canonical import canonical_bytes
from soxauto.evidence.record import record
from soxauto.lake.binding import lake_binding
from soxauto.period import Period


class Died(BaseException):
    """Stands for the process dying at that point (the lock is released as on a real death)."""


@pytest.fixture
def setup(tmp_path, monkeypatch):
    for var in ("SOXAUTO_SIGNING_KEY", "SOXAUTO_SIGNING_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    lake = make_lake(tmp_path / "lake")
    with connect(lake_binding(lake)) as engine:
        yield engine, load_catalog(), tmp_path / "evidence"


def one(engine, catalog, store, entity="EC_NG"):
    return record(engine, catalog, "CR_04", Period(2025, 9), entity, store=store)


def test_a_package_renamed_but_never_ledgered_is_not_valid_and_is_rolled_back(setup, monkeypatch):
    engine, catalog, store = setup
    first = one(engine, catalog, store).package
    monkeypatch.setattr(package_mod.ledger, "append", lambda *a, **k: (_ for _ in ()).throw(Died()))
    with pytest.raises(Died):
        one(engine, catalog, store)
    monkeypatch.undo()

    report = verify_store(store, trusted_keys(store))
    in_place = next(p for p in report.packages if p.path == store / "CR_04_EC_NG_202509")
    assert in_place.signature == "ok" and in_place.ledger.startswith("ledger entry 1 committed manifest")
    assert not report.ok  # the uncommitted package is never reported valid

    third = one(engine, catalog, store).package  # the next commit rolls back, then commits
    assert third.recovered == ("removed uncommitted package CR_04_EC_NG_202509",
                               "put back CR_04_EC_NG_202509 (ledger 1) from history")
    assert [e.seq for e in ledger.read(store).entries] == [1, 2]
    assert third.seq == 2 and first.seq == 1
    assert verify_store(store, trusted_keys(store)).ok


def test_an_earlier_package_moved_aside_for_a_commit_that_died_is_put_back(setup, monkeypatch):
    engine, catalog, store = setup
    one(engine, catalog, store)
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the first moves the old package to history; die before the second
            raise Died()
        return real(src, dst)
    monkeypatch.setattr(package_mod.os, "replace", replace)
    with pytest.raises(Died):
        one(engine, catalog, store)
    monkeypatch.undo()
    assert not (store / "CR_04_EC_NG_202509").exists()
    assert not verify_store(store, trusted_keys(store)).ok  # the ledger's latest package is missing

    written = one(engine, catalog, store, entity="JM_EG").package

    assert "put back CR_04_EC_NG_202509 (ledger 1) from history" in written.recovered
    assert any(r.startswith("removed unfinished folder .tmp-CR_04_EC_NG_202509-") for r in written.recovered)
    assert verify_store(store, trusted_keys(store)).ok


def test_a_torn_ledger_line_is_reported_then_cut(setup):
    engine, catalog, store = setup
    one(engine, catalog, store)
    with open(store / "ledger.jsonl", "ab") as f:
        f.write(b'{"evidence_id":"CR_04_JM')

    report = verify_store(store, trusted_keys(store))
    assert any("unfinished line" in p for p in report.problems) and not report.ok

    written = one(engine, catalog, store, entity="JM_EG").package
    assert "cut an unfinished ledger line" in written.recovered
    assert written.seq == 2 and verify_store(store, trusted_keys(store)).ok


def test_a_damaged_ledger_is_never_extended(setup):
    engine, catalog, store = setup
    run_jobs(engine, catalog, store)
    lines = (store / "ledger.jsonl").read_bytes().splitlines(keepends=True)
    (store / "ledger.jsonl").write_bytes(lines[0] + lines[2])

    from soxauto.errors import IntegrityError
    with pytest.raises(IntegrityError, match="ledger is damaged"):
        one(engine, catalog, store, entity="JM_EG")
    assert len((store / "ledger.jsonl").read_bytes().splitlines()) == 2


def test_a_ledger_whose_last_entry_is_not_signed_by_the_key_is_never_extended(setup):
    engine, catalog, store = setup
    one(engine, catalog, store)
    entry = json.loads((store / "ledger.jsonl").read_bytes())
    entry["time"] = "2020-01-01T00:00:00.000000Z"  # backdated: the chain alone cannot tell (no entry follows)
    (store / "ledger.jsonl").write_bytes(canonical_bytes(entry) + b"\n")

    from soxauto.errors import IntegrityError
    with pytest.raises(IntegrityError, match=r"ledger.jsonl: the last entry \(1\): the signature does not verify"):
        one(engine, catalog, store, entity="JM_EG")
    assert len((store / "ledger.jsonl").read_bytes().splitlines()) == 1
    assert not (store / "CR_04_JM_EG_202509").exists()


APPENDER = """
import sys
from pathlib import Path
from soxauto.evidence import ledger, load_signer
store, tag = Path(sys.argv[1]), sys.argv[2]
signer = load_signer(store)
for i in range(40):
    with ledger.locked(store):
        ledger.append(store, f"X_{tag}_202509", f"{tag}{i:063d}"[-64:], f"run-{tag}-{i}", signer)
"""


def test_two_processes_appending_at_once_keep_one_unbroken_chain(tmp_path):
    store = tmp_path / "evidence"
    store.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(store), tag]) for tag in ("a", "b")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]

    read = ledger.read(store)

    assert read.problems == () and not read.torn_tail
    assert ledger.signature_problems(read, trusted_keys(store), store / ledger.LEDGER) == []
    assert [e.seq for e in read.entries] == list(range(1, 81))
    assert sorted(e.run_id for e in read.entries) == sorted(f"run-{t}-{i}" for t in "ab" for i in range(40))
    assert all(json.loads(line)["seq"] for line in (store / "ledger.jsonl").read_text().splitlines())
