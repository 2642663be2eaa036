"""IPE_10 customer prepayments: paid prepaid items not released (delivered, refunded, cancelled) by cutoff.

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

PAID = T(2025, 9, 10, 12, 0)


def item(soi: str, price: str, **cols) -> dict:
    row = {
        "company_id": "EC_NG",
        "sales_order_item_id": soi,
        "is_prepayment": True,
        "finance_verified_at": PAID,
        "delivery_type": "Standard",
        "paid_price": D(price),
    }
    row.update(cols)
    return row


ITEMS = [
    item("SOI-01", "100.00"),  # nothing happened: in_tv
    item("SOI-02", "200.00", package_delivered_at=T(2025, 10, 1, 0, 0, 0)),  # delivered exactly at as_of
    item("SOI-03", "300.00", package_delivered_at=T(2025, 9, 30, 23, 59, 59)),  # last second of cutoff
    item("SOI-04", "400.00", package_delivered_at=T(2025, 9, 1, 0, 0, 0)),  # exactly period start
    item("SOI-05", "500.00", package_delivered_at=T(2025, 8, 31, 23, 59, 59)),  # released before S: absent
    # Digital goods and gift cards are delivered when delivered_at is set; no parcel travels.
    item("SOI-06", "50.00", delivery_type="Digital Content", delivered_at=T(2025, 9, 15, 10, 0)),
    item("SOI-07", "60.00", delivery_type="Gift Card", package_delivered_at=T(2025, 9, 12)),
    # Physical goods are delivered when the package is; an item-level delivered_at does not count.
    item("SOI-08", "70.00", delivered_at=T(2025, 9, 5)),
    item("SOI-09", "80.00", refunded_at=T(2025, 9, 20), package_delivered_at=T(2025, 10, 3)),
    item("SOI-10", "999.00", cancelled_at=T(2025, 8, 15), package_delivered_at=T(2025, 9, 10)),  # absent
    item("SOI-11", "90.00", cancelled_at=T(2025, 10, 2), refunded_at=T(2025, 10, 5)),
    item("SOI-12", "999.00", finance_verified_at=None),  # not paid: absent
    item("SOI-13", "999.00", finance_verified_at=T(2025, 10, 1, 0, 0, 0)),  # paid after cutoff: absent
    item("SOI-14", "15.50", finance_verified_at=T(2025, 9, 30, 23, 59, 59)),  # paid in the last second
    item("SOI-15", "999.00", is_prepayment=False),  # not a prepayment: absent
    item("SOI-16", "999.00", company_id="JM_EG"),  # another company: absent
    item("SOI-17", "10.00", package_delivered_at=T(2025, 9, 25), cancelled_at=T(2025, 9, 22), refunded_at=T(2025, 9, 28)),
]

EXPECTED = [  # (sales_order_item_id, released_at, in_tv, paid_price)
    ("SOI-01", None, True, D("100.00")),
    ("SOI-02", T(2025, 10, 1), True, D("200.00")),
    ("SOI-03", T(2025, 9, 30, 23, 59, 59), False, D("300.00")),
    ("SOI-04", T(2025, 9, 1), False, D("400.00")),
    ("SOI-06", T(2025, 9, 15, 10, 0), False, D("50.00")),
    ("SOI-07", None, True, D("60.00")),
    ("SOI-08", None, True, D("70.00")),
    ("SOI-09", T(2025, 9, 20), False, D("80.00")),
    ("SOI-11", T(2025, 10, 2), True, D("90.00")),
    ("SOI-14", None, True, D("15.50")),
    ("SOI-17", T(2025, 9, 22), False, D("10.00")),
]


def run(lake, overrides=None):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_10"), Period.parse("2025-09"), "EC_NG", overrides)


def rows(result) -> list[tuple]:
    cols = ["sales_order_item_id", "released_at", "in_tv", "paid_price"]
    return [tuple(r[c] for c in cols) for r in result.table.select(cols).to_pylist()]


def test_population_context_and_absent_items(tmp_path):
    result = run(write_lake(tmp_path, {"oms.sales_order_items": ITEMS}))
    assert rows(result) == EXPECTED
    assert result.table.column_names == [c.name for c in result.item.output]


def test_target_value_and_control_totals(tmp_path):
    result = run(write_lake(tmp_path, {"oms.sales_order_items": ITEMS}))
    tv = sum((r["paid_price"] for r in result.table.to_pylist() if r["in_tv"]), D("0.00"))
    # in_tv: 100 + 200 + 60 + 70 + 90 + 15.50; context: 300 + 400 + 50 + 80 + 10
    assert tv == D("535.50")
    assert result.control_totals == {"paid_price": D("1375.50")}
    assert result.row_count == 11


def test_source_columns_are_carried(tmp_path):
    result = run(write_lake(tmp_path, {"oms.sales_order_items": ITEMS}))
    by_id = {r["sales_order_item_id"]: r for r in result.table.to_pylist()}
    assert by_id["SOI-17"]["cancelled_at"] == T(2025, 9, 22)
    assert by_id["SOI-17"]["refunded_at"] == T(2025, 9, 28)
    assert by_id["SOI-07"]["package_delivered_at"] == T(2025, 9, 12)
    assert by_id["SOI-07"]["delivery_type"] == "Gift Card"
    assert by_id["SOI-14"]["finance_verified_at"] == T(2025, 9, 30, 23, 59, 59)


def test_csv_lake_gives_the_same_extract(tmp_path):
    from_parquet = run(write_lake(tmp_path / "pq", {"oms.sales_order_items": ITEMS}))
    from_csv = run(write_lake(tmp_path / "csv", {"oms.sales_order_items": ITEMS}, fmt="csv"))
    assert from_csv.table.equals(from_parquet.table)
    assert rows(from_csv) == EXPECTED
