"""IPE_12 packages delivered not reconciled: paid-on-delivery packages whose cash was not matched by cutoff.

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

DELIVERED = T(2025, 9, 10, 14, 0)


def package(pid: str, expected: str, **cols) -> dict:
    row = {
        "company_id": "EC_NG",
        "package_id": pid,
        "payment_method": "CashOnDelivery",
        "is_prepayment": False,
        "delivered_at": DELIVERED,
        "amount_expected": D(expected),
    }
    row.update(cols)
    return row


PACKAGES = [
    package("P01", "100.00"),
    package("P02", "200.00", reconciled_at=T(2025, 10, 1, 0, 0, 0)),  # reconciled at as_of: still open
    package("P03", "300.00", reconciled_at=T(2025, 9, 30, 23, 59, 59), amount_received=D("300.00")),
    package("P04", "400.00", reconciled_at=T(2025, 9, 1, 0, 0, 0), amount_received=D("390.00")),
    package("P05", "999.00", reconciled_at=T(2025, 8, 31, 23, 59, 59)),  # reconciled before S: absent
    package("P06", "999.00", delivered_at=T(2025, 10, 1, 0, 0, 0)),  # delivered at as_of: absent
    package("P07", "999.00", delivered_at=None),  # never delivered: absent
    package("P08", "999.00", is_prepayment=True),  # prepaid (IPE_10's business): absent
    package("P09", "999.00", payment_method="NoPayment"),  # free order: absent
    package("P10", "999.00", company_id="JM_EG"),  # another company: absent
    package("P11", "110.00", delivered_at=T(2025, 9, 30, 23, 59, 59), is_marketplace=True),
]

EXPECTED = [  # (package_id, reconciled_at, in_tv, amount_expected)
    ("P01", None, True, D("100.00")),
    ("P02", T(2025, 10, 1), True, D("200.00")),
    ("P03", T(2025, 9, 30, 23, 59, 59), False, D("300.00")),
    ("P04", T(2025, 9, 1), False, D("400.00")),
    ("P11", None, True, D("110.00")),
]


def run(lake):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_12"), Period.parse("2025-09"), "EC_NG")


def rows(result) -> list[tuple]:
    cols = ["package_id", "reconciled_at", "in_tv", "amount_expected"]
    return [tuple(r[c] for c in cols) for r in result.table.select(cols).to_pylist()]


def test_population_context_and_absent_packages(tmp_path):
    result = run(write_lake(tmp_path, {"oms.packages": PACKAGES}))
    assert rows(result) == EXPECTED
    by_id = {r["package_id"]: r for r in result.table.to_pylist()}
    assert by_id["P11"]["is_marketplace"] is True
    assert by_id["P11"]["delivered_at"] == T(2025, 9, 30, 23, 59, 59)


def test_target_value_and_control_totals(tmp_path):
    result = run(write_lake(tmp_path, {"oms.packages": PACKAGES}))
    tv = sum((r["amount_expected"] for r in result.table.to_pylist() if r["in_tv"]), D("0.00"))
    assert tv == D("410.00")  # 100 + 200 + 110
    assert result.control_totals == {"amount_expected": D("1110.00"), "amount_received": D("690.00")}


def test_csv_lake_gives_the_same_extract(tmp_path):
    from_parquet = run(write_lake(tmp_path / "pq", {"oms.packages": PACKAGES}))
    from_csv = run(write_lake(tmp_path / "csv", {"oms.packages": PACKAGES}, fmt="csv"))
    assert from_csv.table.equals(from_parquet.table)
    assert rows(from_csv) == EXPECTED
