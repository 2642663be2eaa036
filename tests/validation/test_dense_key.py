"""The bitmap count of an integer key (compile.dense_unique_query): the same surplus as
COUNT(*) - COUNT(DISTINCT key) on any keys, and chosen by validate() only where it is faster."""

from __future__ import annotations

import textwrap
from datetime import date

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakekit import D, write_lake
from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period
from soxauto.validation import Outcome, validate
from soxauto.validation import compile as c
from soxauto.validation import run as validation_run
from sqlglot import exp

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# Keys near each other (many per bitmap group) and anywhere in BIGINT's range, with NULLs.
KEYS = st.lists(st.one_of(st.none(), INT64, st.integers(min_value=-3000, max_value=3000)), max_size=300)


@settings(max_examples=150, deadline=None)
@given(KEYS)
def test_the_bitmap_surplus_equals_the_distinct_count_surplus(keys):
    con = duckdb.connect()
    con.register("ds", pa.table({"k": pa.array(keys, pa.int64())}))
    bitmap = c.dense_unique_query(exp.to_table("ds"), "k").sql(dialect="duckdb")
    (got,), = con.execute(bitmap).fetchall()
    (expected,), = con.execute("SELECT COUNT(*) - COUNT(DISTINCT k) FROM ds").fetchall()
    assert got == expected
    assert expected == len(keys) - len({k for k in keys if k is not None})


ITEM = """\
id: CR_03
title: entries
kind: CR
control: C-PG-1
owner: test
source_systems: [NAV]
version: 1.0.0
description: entries
query: CR_03.sql
output:
  - company_id: id
  - entry_no: int
  - amount: money
critical_columns: [company_id, entry_no, amount]
key: [entry_no]
tests:
  - id: CR_03.key
    kind: unique
  - id: CR_03.not_null
    kind: not_null
"""
SQL = """\
SELECT e.company_id, e.entry_no, e.amount
FROM nav.gl_entries AS e
WHERE e.company_id = :company_id AND e.posting_date <= :cutoff
ORDER BY e.entry_no
"""


def entry(no: int) -> dict:
    return {"company_id": "EC_NG", "entry_no": no, "gl_account_no": "18412", "amount": D("1.00"),
            "posting_date": date(2025, 9, 10)}


def run(tmp_path, numbers: list[int], spool_rows: int | None = None):
    folder = tmp_path / "pack" / "catalog"
    folder.mkdir(parents=True)
    (folder / "CR_03.yaml").write_text(textwrap.dedent(ITEM))
    (folder / "CR_03.sql").write_text(SQL)
    item = load_catalog(folder.parent).item("CR_03")
    lake = write_lake(tmp_path / "lake", {"nav.gl_entries": [entry(n) for n in numbers]})
    spool = tmp_path / "spool"
    spool.mkdir()
    with DuckDBEngine(lake_binding(lake)) as engine:
        ex = extract(engine, item, Period(2025, 9), "EC_NG", spool=spool if spool_rows else None, spool_rows=spool_rows or 0)
        assert (ex.spooled is not None) == bool(spool_rows)
        result = validate(engine, ex)
    return {r.rule_id: r for r in result.results}


def test_a_duplicated_dense_key_fails_through_the_bitmap_count(tmp_path, monkeypatch):
    monkeypatch.setattr(validation_run, "DENSE_MIN_ROWS", 1)

    # Keys 1000-1099 cross a bitmap group boundary (1024); 1030 is there twice.
    results = run(tmp_path, list(range(1000, 1100)) + [1030])

    key = results["CR_03.key"]
    assert key.outcome is Outcome.FAILED and key.failing_count == 1
    assert key.sample == ({"entry_no": 1030, "n": 2},)
    assert "BITSTRING_AGG" in key.sql[0] and "COUNT(DISTINCT" not in key.sql[0]
    assert results["CR_03.not_null"].outcome is Outcome.PASSED


def test_a_clean_dense_key_passes_through_the_bitmap_count(tmp_path, monkeypatch):
    monkeypatch.setattr(validation_run, "DENSE_MIN_ROWS", 1)

    key = run(tmp_path, list(range(1, 3000)))["CR_03.key"]

    assert key.outcome is Outcome.PASSED and key.failing_count == 0 and "BITSTRING_AGG" in key.sql[0]


@pytest.mark.parametrize("numbers", [
    [1, 10**12, 10**12],  # the range is far wider than the rows: a hash of the keys is faster
    [1, 2, 2],            # below DENSE_MIN_ROWS: the distinct count in the merged aggregate
], ids=["sparse", "small"])
def test_sparse_or_small_keys_keep_the_distinct_count(tmp_path, monkeypatch, numbers):
    if numbers[1] == 10**12:
        monkeypatch.setattr(validation_run, "DENSE_MIN_ROWS", 1)

    key = run(tmp_path, numbers)["CR_03.key"]

    assert key.outcome is Outcome.FAILED and key.failing_count == 1
    assert "COUNT(DISTINCT entry_no)" in key.sql[0] and "BITSTRING_AGG" not in key.sql[0]


def test_a_spooled_extract_reads_its_key_range_from_its_profile(tmp_path, monkeypatch):
    monkeypatch.setattr(validation_run, "DENSE_MIN_ROWS", 1)

    key = run(tmp_path, list(range(1000, 1100)) + [1030], spool_rows=10)["CR_03.key"]

    assert key.outcome is Outcome.FAILED and key.failing_count == 1 and "BITSTRING_AGG" in key.sql[0]
