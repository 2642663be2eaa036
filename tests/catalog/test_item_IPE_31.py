"""IPE_31 collections open items: non-zero collection events by cutoff not settled by cutoff,
for companies outside the excluded countries.

Period 2025-09: period_start 2025-09-01, cutoff 2025-09-30, as_of 2025-10-01 00:00:00.
"""

from __future__ import annotations

from datetime import datetime as T

from lakekit import D, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

EVENT = T(2025, 9, 10, 9, 30)

COMPANIES = [
    {"company_id": "EC_NG", "country_code": "NG", "currency": "NGN"},
    {"company_id": "JD_DZ", "country_code": "DZ", "currency": "DZD"},
    {"company_id": "JM_TN", "country_code": "TN", "currency": "TND"},
]


def txn(tid: str, amount: str, **cols) -> dict:
    row = {"company_id": "EC_NG", "transaction_id": tid, "amount": D(amount), "event_at": EVENT, "status": "open"}
    row.update(cols)
    return row


TRANSACTIONS = [
    txn("C01", "100.00"),
    txn("C02", "200.00", settled_at=T(2025, 10, 1, 0, 0, 0)),  # settled at as_of: still open
    txn("C03", "300.00", settled_at=T(2025, 9, 30, 23, 59, 59)),
    txn("C04", "-400.00", settled_at=T(2025, 9, 1, 0, 0, 0)),  # a reversal settled exactly at S
    txn("C05", "999.00", settled_at=T(2025, 8, 31, 23, 59, 59)),  # settled before S: absent
    txn("C06", "0.00"),  # zero amount: absent
    txn("C07", "999.00", event_at=T(2025, 10, 1, 0, 0, 0)),  # event at as_of: absent
    txn("C08", "50.00", event_at=T(2025, 9, 30, 23, 59, 59)),
    txn("C09", "999.00", company_id="JD_DZ"),  # another company: absent
    txn("TN1", "75.00", company_id="JM_TN"),
    txn("TN2", "25.00", company_id="JM_TN", settled_at=T(2025, 9, 15)),
]

LAKE = {"ref.companies": COMPANIES, "oms.collection_transactions": TRANSACTIONS}

EXPECTED = [  # (transaction_id, settled_at, in_tv, amount)
    ("C01", None, True, D("100.00")),
    ("C02", T(2025, 10, 1), True, D("200.00")),
    ("C03", T(2025, 9, 30, 23, 59, 59), False, D("300.00")),
    ("C04", T(2025, 9, 1), False, D("-400.00")),
    ("C08", None, True, D("50.00")),
]


def run(lake, company="EC_NG", overrides=None):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_31"), Period.parse("2025-09"), company, overrides)


def rows(result) -> list[tuple]:
    cols = ["transaction_id", "settled_at", "in_tv", "amount"]
    return [tuple(r[c] for c in cols) for r in result.table.select(cols).to_pylist()]


def test_population_context_and_absent_items(tmp_path):
    result = run(write_lake(tmp_path, LAKE))
    assert rows(result) == EXPECTED
    assert set(result.table.column("country_code").to_pylist()) == {"NG"}
    assert result.parameters["excluded_countries"] == ["TN", "TZ", "ZA"]


def test_target_value_and_control_totals(tmp_path):
    result = run(write_lake(tmp_path, LAKE))
    tv = sum((r["amount"] for r in result.table.to_pylist() if r["in_tv"]), D("0.00"))
    assert tv == D("350.00")  # 100 + 200 + 50
    assert result.control_totals == {"amount": D("250.00")}  # plus context 300 - 400


def test_company_in_an_excluded_country_returns_no_rows(tmp_path):
    result = run(write_lake(tmp_path, LAKE), company="JM_TN")
    assert result.row_count == 0
    assert result.control_totals == {"amount": D("0.00")}


def test_empty_exclusion_list_brings_the_company_back(tmp_path):
    result = run(write_lake(tmp_path, LAKE), company="JM_TN", overrides={"excluded_countries": []})
    assert rows(result) == [("TN1", None, True, D("75.00")), ("TN2", T(2025, 9, 15), False, D("25.00"))]
    assert result.table.column("country_code").to_pylist() == ["TN", "TN"]


def test_another_exclusion_list_replaces_the_default(tmp_path):
    lake = write_lake(tmp_path, LAKE)
    assert run(lake, overrides={"excluded_countries": ["NG", "GH"]}).row_count == 0
    assert [r[0] for r in rows(run(lake, company="JM_TN", overrides={"excluded_countries": ["NG"]}))] == ["TN1", "TN2"]


def test_company_missing_from_reference_data_returns_no_rows(tmp_path):
    lake = write_lake(tmp_path, {"ref.companies": COMPANIES[1:], "oms.collection_transactions": TRANSACTIONS})
    assert run(lake).row_count == 0


def test_csv_lake_gives_the_same_extract(tmp_path):
    from_parquet = run(write_lake(tmp_path / "pq", LAKE))
    from_csv = run(write_lake(tmp_path / "csv", LAKE, fmt="csv"))
    assert from_csv.table.equals(from_parquet.table)
    assert rows(from_csv) == EXPECTED
