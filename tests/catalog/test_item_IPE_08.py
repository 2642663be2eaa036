"""IPE_08 store credit vouchers: the snapshot at the cutoff, liability vouchers in_tv, the rest context."""

from __future__ import annotations

from datetime import date, datetime

from lakekit import D, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

SEP = Period.parse("2025-09")  # C 2025-09-30, N 2025-10-01
C = date(2025, 9, 30)


def voucher(voucher_id, use, remaining, *, active=True, to_date=date(2025, 12, 31), snapshot=C,
            created=datetime(2025, 9, 1, 8, 0), company_id="EC_NG", **extra):
    return {"snapshot_date": snapshot, "company_id": company_id, "voucher_id": voucher_id, "code": f"CODE-{voucher_id}",
            "business_use": use, "voucher_type": "reusablecredit", "is_active": active,
            "discount_amount": remaining + D("10.00"), "used_discount_amount": D("10.00"), "remaining_amount": remaining,
            "created_at": created, "from_date": date(2025, 9, 1), "to_date": to_date, "times_used": 1, **extra}


VOUCHERS = [
    voucher("V01", "refund", D("100.00"), template_id="T-RF", customer_id="CU1"),
    voucher("V02", "store_credit", D("40.00"), to_date=C),  # expires on the cutoff: not expired
    voucher("V03", "apology_v2", D("25.00"), to_date=date(2025, 9, 29)),  # expired the day before
    voucher("V04", "marketing", D("10.00")),
    voucher("V05", "jforce", D("60.00"), active=False, inactive_at=datetime(2025, 9, 12, 10, 0), inactive_reason="converted_to_cash"),
    voucher("V06", "jpay_store_credit", D("30.00"), active=False, inactive_at=datetime(2025, 9, 13, 11, 0), inactive_reason="cancelled"),
    voucher("V07", "refund", D("20.00"), active=False, to_date=date(2025, 9, 15),
            inactive_at=datetime(2025, 9, 16, 0, 0), inactive_reason="expired"),
    voucher("V08", "refund", D("15.00"), created=datetime(2025, 10, 1, 0, 0, 0)),  # created at as_of: absent
    voucher("V09", "refund", D("5.00"), created=datetime(2025, 9, 30, 23, 59, 59)),  # last second: present
    voucher("V01", "refund", D("130.00"), snapshot=date(2025, 8, 31)),  # the August snapshot: absent
    voucher("V10", "refund", D("70.00"), snapshot=date(2025, 10, 31)),  # a later snapshot: absent
    voucher("V11", "refund", D("90.00"), company_id="JM_EG"),  # another company: absent
    voucher("V12", "newsletter", D("7.00")),
]


def run(lake, overrides=None):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_08"), SEP, "EC_NG", overrides=overrides)


def picked(result, *columns):
    return [tuple(row[c] for c in columns) for row in result.table.to_pylist()]


def test_snapshot_at_cutoff_with_expiry_and_scope(tmp_path):
    result = run(write_lake(tmp_path, {"bob.store_credit_vouchers": VOUCHERS}))

    assert picked(result, "voucher_id", "business_use", "remaining_amount", "is_expired", "in_tv", "inactive_reason") == [
        ("V01", "refund", D("100.00"), False, True, None),
        ("V02", "store_credit", D("40.00"), False, True, None),
        ("V03", "apology_v2", D("25.00"), True, False, None),
        ("V04", "marketing", D("10.00"), False, False, None),
        ("V05", "jforce", D("60.00"), False, False, "converted_to_cash"),
        ("V06", "jpay_store_credit", D("30.00"), False, False, "cancelled"),
        ("V07", "refund", D("20.00"), True, False, "expired"),
        ("V09", "refund", D("5.00"), False, True, None),
        ("V12", "newsletter", D("7.00"), False, False, None),
    ]
    assert result.control_totals == {
        "discount_amount": D("387.00"),
        "used_discount_amount": D("90.00"),
        "remaining_amount": D("297.00"),
    }


def test_target_value_is_the_remaining_amount_of_in_tv_vouchers(tmp_path):
    rows = run(write_lake(tmp_path, {"bob.store_credit_vouchers": VOUCHERS})).table.to_pylist()

    assert sum(r["remaining_amount"] for r in rows if r["in_tv"]) == D("145.00")


def test_snapshot_columns_pass_through_unchanged(tmp_path):
    first = run(write_lake(tmp_path, {"bob.store_credit_vouchers": VOUCHERS})).table.to_pylist()[0]

    assert first == {
        "snapshot_date": C, "company_id": "EC_NG", "voucher_id": "V01", "code": "CODE-V01", "business_use": "refund",
        "template_id": "T-RF", "voucher_type": "reusablecredit", "is_active": True, "discount_amount": D("110.00"),
        "used_discount_amount": D("10.00"), "remaining_amount": D("100.00"), "created_at": datetime(2025, 9, 1, 8, 0),
        "from_date": date(2025, 9, 1), "to_date": date(2025, 12, 31), "inactive_at": None, "inactive_reason": None,
        "customer_id": "CU1", "times_used": 1, "is_expired": False, "in_tv": True,
    }


def test_business_uses_override(tmp_path):
    result = run(write_lake(tmp_path, {"bob.store_credit_vouchers": VOUCHERS}), {"tv_business_uses": ["refund", "marketing"]})

    assert [v for v, in_tv in picked(result, "voucher_id", "in_tv") if in_tv] == ["V01", "V04", "V09"]


def test_csv_lake_gives_the_same_extract(tmp_path):
    parquet = run(write_lake(tmp_path / "parquet", {"bob.store_credit_vouchers": VOUCHERS}))
    csv = run(write_lake(tmp_path / "csv", {"bob.store_credit_vouchers": VOUCHERS}, fmt="csv"))

    assert csv.table.equals(parquet.table)
    assert csv.row_count == 9
