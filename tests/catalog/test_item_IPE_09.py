"""IPE_09 BOB sales orders: orders placed from the period start (inclusive) to as_of (exclusive)."""

from __future__ import annotations

from datetime import datetime

from lakekit import D, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

SEP = Period.parse("2025-09")  # S 2025-09-01, N 2025-10-01


def order(order_id, placed, total, company_id="EC_NG"):
    return {"company_id": company_id, "order_id": order_id, "order_nr": f"N{order_id}", "customer_id": "CU1",
            "order_date": placed, "total_amount": total, "order_status": "delivered"}


ORDERS = [
    order("O1", datetime(2025, 9, 1, 0, 0, 0), D("120.00")),  # first instant of the period: present
    order("O2", datetime(2025, 8, 31, 23, 59, 59), D("80.00")),  # the instant before: absent
    order("O3", datetime(2025, 9, 30, 23, 59, 59), D("45.50")),  # last second: present
    order("O4", datetime(2025, 10, 1, 0, 0, 0), D("60.00")),  # as_of itself: absent
    order("O5", datetime(2025, 9, 15, 12, 0, 0), D("999.00"), company_id="JM_EG"),  # another company: absent
    order("O6", datetime(2025, 9, 15, 12, 0, 0), D("10.25")),
]


def run(lake):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_09"), SEP, "EC_NG")


def test_orders_of_the_period_only(tmp_path):
    result = run(write_lake(tmp_path, {"bob.sales_orders": ORDERS}))

    assert [(r["order_id"], r["order_date"], r["total_amount"]) for r in result.table.to_pylist()] == [
        ("O1", datetime(2025, 9, 1, 0, 0, 0), D("120.00")),
        ("O3", datetime(2025, 9, 30, 23, 59, 59), D("45.50")),
        ("O6", datetime(2025, 9, 15, 12, 0, 0), D("10.25")),
    ]
    assert result.control_totals == {"total_amount": D("175.75")}


def test_output_columns_are_the_sales_orders_columns(tmp_path):
    result = run(write_lake(tmp_path, {"bob.sales_orders": ORDERS}))

    assert result.table.to_pylist()[0] == {
        "company_id": "EC_NG", "order_id": "O1", "order_nr": "NO1", "customer_id": "CU1",
        "order_date": datetime(2025, 9, 1, 0, 0, 0), "total_amount": D("120.00"), "order_status": "delivered",
    }
    assert load_catalog().item("IPE_09").target_values is None


def test_csv_lake_gives_the_same_extract(tmp_path):
    parquet = run(write_lake(tmp_path / "parquet", {"bob.sales_orders": ORDERS}))
    csv = run(write_lake(tmp_path / "csv", {"bob.sales_orders": ORDERS}, fmt="csv"))

    assert csv.table.equals(parquet.table)
    assert csv.row_count == 3
