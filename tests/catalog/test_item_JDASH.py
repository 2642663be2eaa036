"""JDASH operational voucher usage: every usage row before as_of, duplicates kept."""

from __future__ import annotations

from datetime import datetime

from lakekit import D, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

SEP = Period.parse("2025-09")  # N 2025-10-01


def usage(voucher_id, amount, used_at, order_nr=None, company_id="EC_NG"):
    return {"company_id": company_id, "voucher_id": voucher_id, "amount_used": amount, "used_at": used_at, "order_nr": order_nr}


USAGE = [
    usage("V01", D("10.00"), datetime(2025, 9, 30, 23, 59, 59), "N1"),  # last second: present
    usage("V01", D("10.00"), datetime(2025, 9, 30, 23, 59, 59), "N1"),  # an identical row: kept, summed
    usage("V02", D("7.50"), datetime(2025, 10, 1, 0, 0, 0), "N2"),  # as_of itself: absent
    usage("V01", D("5.00"), datetime(2025, 3, 1, 9, 30), "N0"),  # an earlier month: present (usage to date)
    usage("V03", D("40.00"), datetime(2025, 9, 10), "N3", company_id="JM_EG"),  # another company: absent
    usage("V02", D("2.50"), datetime(2025, 9, 1, 0, 0, 0)),  # no order number
]


def run(lake):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("JDASH"), SEP, "EC_NG")


def test_usage_before_as_of(tmp_path):
    result = run(write_lake(tmp_path, {"jdash.voucher_usage": USAGE}))

    assert result.table.to_pylist() == [
        {"company_id": "EC_NG", "voucher_id": "V01", "amount_used": D("5.00"), "used_at": datetime(2025, 3, 1, 9, 30), "order_nr": "N0"},
        {"company_id": "EC_NG", "voucher_id": "V01", "amount_used": D("10.00"), "used_at": datetime(2025, 9, 30, 23, 59, 59), "order_nr": "N1"},
        {"company_id": "EC_NG", "voucher_id": "V01", "amount_used": D("10.00"), "used_at": datetime(2025, 9, 30, 23, 59, 59), "order_nr": "N1"},
        {"company_id": "EC_NG", "voucher_id": "V02", "amount_used": D("2.50"), "used_at": datetime(2025, 9, 1), "order_nr": None},
    ]
    assert result.control_totals == {"amount_used": D("27.50")}


def test_item_is_an_uploaded_jdash_export_without_key_or_target_values():
    item = load_catalog().item("JDASH")

    assert (item.kind, item.source_systems, item.key, item.target_values) == ("IPE", ("JDASH",), (), None)
    assert "hash" in item.notes


def test_csv_lake_gives_the_same_extract(tmp_path):
    parquet = run(write_lake(tmp_path / "parquet", {"jdash.voucher_usage": USAGE}))
    csv = run(write_lake(tmp_path / "csv", {"jdash.voucher_usage": USAGE}, fmt="csv"))

    assert csv.table.equals(parquet.table)
    assert csv.row_count == 4
