"""CR_03 NAV GL entries: the reconciled accounts' postings on or before the cutoff."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lakekit import D, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.lake.contract import contract
from soxauto.period import Period

SEP = Period.parse("2025-09")
BATCH = "JUMIA\\NAV31AFR.BATCH.SRVC"
PERSON = "JUMIA\\ADA.OBI"

ENTRIES = [
    # on the cutoff itself: included
    {"company_id": "EC_NG", "entry_no": 1, "posting_date": date(2025, 9, 30), "gl_account_no": "18412",
     "amount": D("-100.00"), "user_id": BATCH, "voucher_no": "V1", "document_no": "VCH-1"},
    # the day after the cutoff: excluded
    {"company_id": "EC_NG", "entry_no": 2, "posting_date": date(2025, 10, 1), "gl_account_no": "18412",
     "amount": D("-40.00"), "user_id": BATCH},
    # a manual journal from January: entries have no lower date bound
    {"company_id": "EC_NG", "entry_no": 3, "posting_date": date(2025, 1, 15), "gl_account_no": "13003",
     "amount": D("250.50"), "user_id": PERSON, "source_type": "Customer", "source_no": "C1"},
    # an account that is not reconciled: excluded
    {"company_id": "EC_NG", "entry_no": 4, "posting_date": date(2025, 9, 10), "gl_account_no": "60000",
     "amount": D("75.00"), "user_id": BATCH},
    # another company: excluded
    {"company_id": "JM_EG", "entry_no": 5, "posting_date": date(2025, 9, 10), "gl_account_no": "18412",
     "amount": D("-9.00"), "user_id": BATCH},
    # the service name without its domain is not the integration user
    {"company_id": "EC_NG", "entry_no": 6, "posting_date": date(2025, 9, 2), "gl_account_no": "18350",
     "amount": D("-33.25"), "user_id": "NAV31AFR.BATCH.SRVC"},
    # last year, integration: included
    {"company_id": "EC_NG", "entry_no": 7, "posting_date": date(2024, 12, 31), "gl_account_no": "13011",
     "amount": D("10.00"), "user_id": BATCH, "external_document_no": "T-7"},
]


def run(lake, overrides=None):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("CR_03"), SEP, "EC_NG", overrides=overrides)


def picked(result, *columns):
    return [tuple(row[c] for c in columns) for row in result.table.to_pylist()]


def test_entries_by_cutoff_on_reconciled_accounts_with_integration_type(tmp_path):
    result = run(write_lake(tmp_path, {"nav.gl_entries": ENTRIES}))

    assert picked(result, "entry_no", "gl_account_no", "amount", "integration_type") == [
        (1, "18412", D("-100.00"), "Integration"),
        (3, "13003", D("250.50"), "Manual"),
        (6, "18350", D("-33.25"), "Manual"),
        (7, "13011", D("10.00"), "Integration"),
    ]
    assert result.control_totals == {"amount": D("127.25")}


def test_output_is_every_gl_entries_column_then_integration_type(tmp_path):
    result = run(write_lake(tmp_path, {"nav.gl_entries": ENTRIES}))

    assert result.table.column_names == list(contract().table("nav.gl_entries").column_names) + ["integration_type"]
    first = result.table.to_pylist()[0]
    assert first["voucher_no"] == "V1"
    assert first["document_no"] == "VCH-1"
    assert first["source_type"] is None
    assert first["reversed"] is False
    assert first["posting_date"] == date(2025, 9, 30)


def test_integration_user_default_keeps_its_backslash():
    (param,) = [p for p in load_catalog().item("CR_03").parameters if p.name == "integration_user"]

    assert param.default == "JUMIA" + chr(92) + "NAV31AFR.BATCH.SRVC"


def test_overrides_of_accounts_and_integration_user(tmp_path):
    lake = write_lake(tmp_path, {"nav.gl_entries": ENTRIES})

    only_ar = run(lake, {"gl_accounts": ["13003", "60000"]})
    other_user = run(lake, {"integration_user": "NAV31AFR.BATCH.SRVC"})

    assert picked(only_ar, "entry_no") == [(3,), (4,)]
    assert picked(other_user, "entry_no", "integration_type") == [
        (1, "Manual"), (3, "Manual"), (6, "Integration"), (7, "Manual"),
    ]


def test_csv_lake_gives_the_same_extract(tmp_path):
    parquet = run(write_lake(tmp_path / "parquet", {"nav.gl_entries": ENTRIES}))
    csv = run(write_lake(tmp_path / "csv", {"nav.gl_entries": ENTRIES}, fmt="csv"))

    assert csv.table.equals(parquet.table)
    assert csv.row_count == 4
    assert csv.control_totals == {"amount": Decimal("127.25")}
