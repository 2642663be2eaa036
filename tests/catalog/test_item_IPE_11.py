"""IPE_11 marketplace accrued revenues: revenue transactions not on a statement ending by cutoff.

Period 2025-09: period_start 2025-09-01, cutoff 2025-09-30, as_of 2025-10-01 00:00:00.
"""

from __future__ import annotations

from datetime import date, datetime as T

from lakekit import D, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

CREATED = T(2025, 9, 10, 8, 0)

STATEMENTS = [
    {"company_id": "EC_NG", "account_statement_id": "ST-A", "end_date": date(2025, 8, 31)},  # before S
    {"company_id": "EC_NG", "account_statement_id": "ST-B", "end_date": date(2025, 9, 1)},  # exactly S
    {"company_id": "EC_NG", "account_statement_id": "ST-C", "end_date": date(2025, 9, 30)},  # exactly C
    {"company_id": "EC_NG", "account_statement_id": "ST-D", "end_date": date(2025, 10, 15)},  # after C
    # Another company's statement: an EC_NG transaction pointing at its id is on no statement.
    {"company_id": "JM_EG", "account_statement_id": "ST-E", "end_date": date(2025, 9, 15)},
]


def txn(tid: str, amount: str, statement: str | None = None, **cols) -> dict:
    row = {
        "company_id": "EC_NG",
        "transaction_id": tid,
        "asg_level_1": "Revenues",
        "amount": D(amount),
        "created_at": CREATED,
        "account_statement_id": statement,
    }
    row.update(cols)
    return row


TRANSACTIONS = [
    txn("T01", "100.00"),
    txn("T02", "999.00", "ST-A"),  # statemented before the period: absent
    txn("T03", "300.00", "ST-B"),
    txn("T04", "400.00", "ST-C"),
    txn("T05", "500.00", "ST-D"),
    txn("T06", "999.00", created_at=T(2025, 10, 1, 0, 0, 0)),  # created at as_of: absent
    txn("T07", "70.00", created_at=T(2025, 9, 30, 23, 59, 59)),
    txn("T08", "999.00", asg_level_1="Fees"),  # not revenue: absent
    txn("T09", "90.00", "ST-E"),
    txn("T10", "999.00", company_id="JM_EG"),  # another company: absent
    txn("T11", "-25.00"),  # a revenue reversal counts with its sign
]

EXPECTED = [  # (transaction_id, statement_end_date, in_tv, amount)
    ("T01", None, True, D("100.00")),
    ("T03", date(2025, 9, 1), False, D("300.00")),
    ("T04", date(2025, 9, 30), False, D("400.00")),
    ("T05", date(2025, 10, 15), True, D("500.00")),
    ("T07", None, True, D("70.00")),
    ("T09", None, True, D("90.00")),
    ("T11", None, True, D("-25.00")),
]

LAKE = {"seller_center.transactions": TRANSACTIONS, "seller_center.account_statements": STATEMENTS}


def run(lake):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_11"), Period.parse("2025-09"), "EC_NG")


def rows(result) -> list[tuple]:
    cols = ["transaction_id", "statement_end_date", "in_tv", "amount"]
    return [tuple(r[c] for c in cols) for r in result.table.select(cols).to_pylist()]


def test_population_context_and_absent_transactions(tmp_path):
    result = run(write_lake(tmp_path, LAKE))
    assert rows(result) == EXPECTED
    by_id = {r["transaction_id"]: r for r in result.table.to_pylist()}
    assert by_id["T09"]["account_statement_id"] == "ST-E"
    assert by_id["T07"]["created_at"] == T(2025, 9, 30, 23, 59, 59)


def test_target_value_and_control_totals(tmp_path):
    result = run(write_lake(tmp_path, LAKE))
    tv = sum((r["amount"] for r in result.table.to_pylist() if r["in_tv"]), D("0.00"))
    assert tv == D("735.00")  # 100 + 500 + 70 + 90 - 25
    assert result.control_totals == {"amount": D("1435.00")}  # plus context 300 + 400


def test_csv_lake_gives_the_same_extract(tmp_path):
    from_parquet = run(write_lake(tmp_path / "pq", LAKE))
    from_csv = run(write_lake(tmp_path / "csv", LAKE, fmt="csv"))
    assert from_csv.table.equals(from_parquet.table)
    assert rows(from_csv) == EXPECTED
