"""CR_05 FX closing rates: the Closing rate of the cutoff's year and month."""

from __future__ import annotations

from decimal import Decimal

from lakekit import write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period


def R(text: str) -> Decimal:
    return Decimal(text)


RATES = [
    {"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": R("1650.000000")},
    {"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Average", "currency": "NGN", "rate_lcy_per_usd": R("1600.500000")},
    {"company_id": "EC_NG", "year": 2025, "month": 8, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": R("1580.000000")},
    {"company_id": "EC_NG", "year": 2024, "month": 9, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": R("1540.123456")},
    {"company_id": "JM_EG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "EGP", "rate_lcy_per_usd": R("48.900000")},
]


def run(lake, period="2025-09", company_id="EC_NG"):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("CR_05"), Period.parse(period), company_id)


def test_the_closing_rate_of_the_cutoff_month_only(tmp_path):
    result = run(write_lake(tmp_path, {"ref.fx_rates": RATES}))

    assert result.table.to_pylist() == [
        {"company_id": "EC_NG", "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN",
         "rate_lcy_per_usd": R("1650.000000")},
    ]
    assert result.control_totals == {"rate_lcy_per_usd": R("1650.000000")}


def test_each_company_gets_its_own_rate(tmp_path):
    result = run(write_lake(tmp_path, {"ref.fx_rates": RATES}), company_id="JM_EG")

    assert [(r["company_id"], r["rate_lcy_per_usd"]) for r in result.table.to_pylist()] == [("JM_EG", R("48.900000"))]


def test_a_missing_rate_is_an_empty_extract_never_a_rate_of_one(tmp_path):
    # Only an Average rate exists for October: the closing rate is missing.
    lake = write_lake(tmp_path, {"ref.fx_rates": RATES + [
        {"company_id": "EC_NG", "year": 2025, "month": 10, "rate_type": "Average", "currency": "NGN", "rate_lcy_per_usd": R("1700.000000")},
    ]})

    result = run(lake, period="2025-10")

    assert result.row_count == 0
    assert result.control_totals == {"rate_lcy_per_usd": R("0.000000")}


def test_year_and_month_follow_the_cutoff_in_january(tmp_path):
    lake = write_lake(tmp_path, {"ref.fx_rates": RATES + [
        {"company_id": "EC_NG", "year": 2026, "month": 1, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": R("1710.000000")},
        {"company_id": "EC_NG", "year": 2025, "month": 1, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": R("1490.000000")},
    ]})

    result = run(lake, period="2026-01")

    assert [(r["year"], r["month"], r["rate_lcy_per_usd"]) for r in result.table.to_pylist()] == [(2026, 1, R("1710.000000"))]


def test_csv_lake_gives_the_same_extract(tmp_path):
    parquet = run(write_lake(tmp_path / "parquet", {"ref.fx_rates": RATES}))
    csv = run(write_lake(tmp_path / "csv", {"ref.fx_rates": RATES}, fmt="csv"))

    assert csv.table.equals(parquet.table)
    assert csv.row_count == 1
