"""The package writer's shortcuts keep their promises: profile bounds taken from the Parquet
statistics equal the values computed from the data, the extract in ``--out`` is a copy of the
sealed ``data.parquet`` (not a link to it), a package that never reaches its seal leaves no
folder behind, and a package sealed with an unknown fingerprint definition never verifies."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from evkit import extract_args, make_lake, manifest, sha

from soxauto.catalog import load_catalog
from soxauto.cli import run
from soxauto.engines import connect
from soxauto.evidence import trusted_keys, verify_path
from soxauto.evidence import package as package_mod
from soxauto.evidence.canonical import canonical_bytes
from soxauto.evidence.facts import parquet_bounds
from soxauto.evidence.record import record
from soxauto.evidence.store import temp_folders
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

ROWS = [
    {"doc": "b", "amount": Decimal("-0.05"), "posted": date(2025, 9, 1), "at": None, "n": 7, "empty": None},
    {"doc": "ä", "amount": Decimal("-1500.00"), "posted": None, "at": datetime(2025, 9, 1, 8), "n": -3, "empty": None},
    {"doc": None, "amount": Decimal("12.50"), "posted": date(2024, 12, 31), "at": datetime(2025, 1, 1), "n": None,
     "empty": None},
    {"doc": "", "amount": None, "posted": date(2025, 1, 1), "at": datetime(2026, 2, 3, 4, 5, 6, 7), "n": 0, "empty": None},
    {"doc": "Z", "amount": Decimal("250.10"), "posted": None, "at": None, "n": 2**40, "empty": None},
]
SCHEMA = pa.schema([("doc", pa.string()), ("amount", pa.decimal128(18, 2)), ("posted", pa.date32()),
                    ("at", pa.timestamp("us")), ("n", pa.int64()), ("empty", pa.string())])



def test_bounds_from_parquet_statistics_are_the_data_bounds(tmp_path):
    # Two rows per row group: the bounds must combine groups, skip a group of NULLs only, and
    # order text by bytes ('Z' < 'b' < 'ä'), decimals by value.
    collected = []
    pq.write_table(pa.Table.from_pylist(ROWS, schema=SCHEMA), tmp_path / "d.parquet", row_group_size=2,
                   metadata_collector=collected)

    assert collected[0].num_row_groups == 3
    assert parquet_bounds(collected[0]) == {
        "doc": ("", "ä"),
        "amount": (Decimal("-1500.00"), Decimal("250.10")),
        "posted": (date(2024, 12, 31), date(2025, 9, 1)),
        "at": (datetime(2025, 1, 1), datetime(2026, 2, 3, 4, 5, 6, 7)),
        "n": (-3, 2**40),
    }  # "empty" has only NULLs: left to the profile, which records None
    assert canonical_bytes(parquet_bounds(collected[0])["amount"]) == b'["-1500.00","250.10"]'


def test_a_value_too_long_for_a_statistic_leaves_the_column_to_the_data():
    collected = []
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table({"s": ["a" * 5000, "b"], "n": [1, 2]}), sink, metadata_collector=collected)

    assert parquet_bounds(collected[0]) == {"n": (1, 2)}


def test_the_out_file_is_a_copy_of_the_sealed_extract(home, tmp_path):
    lake = make_lake(tmp_path / "lake")

    assert run(extract_args(lake, tmp_path / "out")) == 0

    sealed = home / "evidence" / "CR_04_EC_NG_202509" / "data.parquet"
    copy = tmp_path / "out" / "CR_04_EC_NG_202509.parquet"
    assert copy.read_bytes() == sealed.read_bytes()
    assert copy.stat().st_ino != sealed.stat().st_ino and sealed.stat().st_nlink == 1
    listed = {a["path"]: a["sha256"] for a in manifest(sealed.parent)["artifacts"]}
    assert listed["data.parquet"] == sha(copy)
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_a_package_that_fails_before_its_seal_leaves_no_folder(tmp_path, monkeypatch):
    lake = make_lake(tmp_path / "lake")
    store = tmp_path / "evidence"

    def broken(*args, **kwargs):
        raise RuntimeError("the tests crashed")

    monkeypatch.setattr("soxauto.evidence.record.validate", broken)
    with connect(lake_binding(lake)) as engine, pytest.raises(RuntimeError, match="the tests crashed"):
        record(engine, load_catalog(), "CR_04", Period(2025, 9), "EC_NG", store=store)

    assert temp_folders(store) == [] and [p.name for p in store.iterdir() if p.is_dir()] == []


def test_a_package_with_an_unknown_fingerprint_algorithm_does_not_verify(tmp_path, monkeypatch):
    lake = make_lake(tmp_path / "lake")
    store = tmp_path / "evidence"
    monkeypatch.setattr(package_mod, "ALGORITHM", "soxauto-fingerprint/1")
    with connect(lake_binding(lake)) as engine:
        written = record(engine, load_catalog(), "CR_04", Period(2025, 9), "EC_NG", store=store).package
    monkeypatch.undo()

    report = verify_path(written.path, trusted_keys(store))

    assert report.signature == "ok" and report.ledger == "ok"
    assert report.fingerprints == (("data.parquet", "unknown algorithm 'soxauto-fingerprint/1' "
                                                    "(this SOXauto computes soxauto-fingerprint/3)"),)
    assert not report.ok
    assert json.loads((written.path / "manifest.json").read_bytes())["fingerprint"]["algorithm"] == "soxauto-fingerprint/1"


def test_a_draft_is_locked_from_the_moment_it_exists_and_resumed_runs_do_not_collide(tmp_path):
    """Recovery removes unlocked temporary folders; a draft's folder is created and locked under
    the store lock, so recovery can never see it unlocked. Two drafts of the same package and run
    id (a resumed run) get distinct folders."""
    from soxauto.evidence.package import begin_package
    from soxauto.evidence.store import remove_if_abandoned
    from soxauto.extract import extract

    lake = make_lake(tmp_path / "lake")
    store = tmp_path / "evidence"
    with connect(lake_binding(lake)) as engine:
        result = extract(engine, load_catalog().item("CR_04"), Period(2025, 9), "EC_NG")
    with begin_package(store, result, run_id="run-1") as first, begin_package(store, result, run_id="run-1") as second:
        assert first.tmp != second.tmp and first.tmp.is_dir() and second.tmp.is_dir()
        assert remove_if_abandoned(first.tmp) is False and first.tmp.is_dir()
    assert temp_folders(store) == []
