"""IPE_34 marketplace refund liability: marketplace items whose refund and return are out of step at cutoff.

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

RNR = "Refunded not yet returned"
RYNR = "Returned not yet refunded"
SETTLED = "Settled"


def item(soi: str, price: str, refunded=None, returned=None, **cols) -> dict:
    row = {
        "company_id": "EC_NG",
        "sales_order_item_id": soi,
        "is_marketplace": True,
        "paid_price": D(price),
        "refunded_at": refunded,
        "returned_at": returned,
    }
    row.update(cols)
    return row


ITEMS = [
    item("M01", "100.00", refunded=T(2025, 9, 10)),
    item("M02", "200.00", refunded=T(2025, 9, 10), returned=T(2025, 10, 1, 0, 0, 0)),  # return at as_of
    item("M03", "300.00", returned=T(2025, 9, 30, 23, 59, 59)),
    item("M04", "400.00", returned=T(2025, 8, 20), refunded=T(2025, 10, 1, 0, 0, 0)),  # refund at as_of
    item("M05", "500.00", refunded=T(2025, 9, 5), returned=T(2025, 9, 20)),  # settled in the period
    item("M06", "600.00", refunded=T(2025, 8, 10), returned=T(2025, 9, 1, 0, 0, 0)),  # settled exactly at S
    item("M07", "999.00", refunded=T(2025, 8, 10), returned=T(2025, 8, 31, 23, 59, 59)),  # settled before S
    item("M08", "999.00"),  # neither refunded nor returned: absent
    item("M09", "999.00", refunded=T(2025, 10, 2)),  # refunded after cutoff: absent
    item("M10", "999.00", refunded=T(2025, 9, 10), is_marketplace=False),  # retail item: absent
    item("M11", "999.00", refunded=T(2025, 9, 10), company_id="JM_EG"),  # another company: absent
    item("M12", "120.00", refunded=T(2025, 6, 1)),  # an old refund still waiting for its return
]

EXPECTED = [  # (sales_order_item_id, refund_case, signed_amount, in_tv)
    ("M01", RNR, D("100.00"), True),
    ("M02", RNR, D("200.00"), True),
    ("M03", RYNR, D("-300.00"), True),
    ("M04", RYNR, D("-400.00"), True),
    ("M05", SETTLED, D("0.00"), False),
    ("M06", SETTLED, D("0.00"), False),
    ("M12", RNR, D("120.00"), True),
]


def run(lake):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_34"), Period.parse("2025-09"), "EC_NG")


def rows(result) -> list[tuple]:
    cols = ["sales_order_item_id", "refund_case", "signed_amount", "in_tv"]
    return [tuple(r[c] for c in cols) for r in result.table.select(cols).to_pylist()]


def test_cases_context_and_absent_items(tmp_path):
    result = run(write_lake(tmp_path, {"oms.sales_order_items": ITEMS}))
    assert rows(result) == EXPECTED
    by_id = {r["sales_order_item_id"]: r for r in result.table.to_pylist()}
    assert by_id["M06"]["paid_price"] == D("600.00")
    assert (by_id["M04"]["returned_at"], by_id["M04"]["refunded_at"]) == (T(2025, 8, 20), T(2025, 10, 1))


def test_target_value_and_control_totals(tmp_path):
    result = run(write_lake(tmp_path, {"oms.sales_order_items": ITEMS}))
    tv = sum((r["signed_amount"] for r in result.table.to_pylist() if r["in_tv"]), D("0.00"))
    assert tv == D("-280.00")  # 100 + 200 - 300 - 400 + 120
    assert result.control_totals == {"paid_price": D("2220.00"), "signed_amount": D("-280.00")}


def test_csv_lake_gives_the_same_extract(tmp_path):
    from_parquet = run(write_lake(tmp_path / "pq", {"oms.sales_order_items": ITEMS}))
    from_csv = run(write_lake(tmp_path / "csv", {"oms.sales_order_items": ITEMS}, fmt="csv"))
    assert from_csv.table.equals(from_parquet.table)
    assert rows(from_csv) == EXPECTED
