"""IPE_07 customer balances at cutoff: open documents in_tv, documents applied in the period as context."""

from __future__ import annotations

from datetime import date

from lakekit import D, write_lake

from soxauto.catalog import load_catalog
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.extract import extract
from soxauto.lake.binding import lake_binding
from soxauto.period import Period

SEP = Period.parse("2025-09")  # S 2025-09-01, C 2025-09-30

CUSTOMERS = [
    {"company_id": "EC_NG", "customer_no": "C1", "customer_name": "Ada Stores", "customer_posting_group": "B2C-NG-NAT"},
    {"company_id": "EC_NG", "customer_no": "C2", "customer_name": "Bola Ltd", "customer_posting_group": "B2B-NG-NAT", "busline_code": "MP"},
    {"company_id": "EC_NG", "customer_no": "C3", "customer_name": "Chi Foods", "customer_posting_group": "B2C-NG-NAT"},
    {"company_id": "JM_EG", "customer_no": "C1", "customer_name": "Cairo Retail", "customer_posting_group": "NAT"},
]


def doc(entry_no, customer_no, posted, due, amount, group="B2C-NG-NAT", company_id="EC_NG", **extra):
    return {"company_id": company_id, "entry_no": entry_no, "customer_no": customer_no, "posting_date": posted,
            "due_date": due, "document_no": f"DOC-{entry_no}", "customer_posting_group": group,
            "gl_account_no": "13003", "currency": "NGN", "original_amount": amount, "original_amount_lcy": amount, **extra}


def detail(entry_no, cle_no, posted, amount, entry_type="Application", company_id="EC_NG"):
    return {"company_id": company_id, "entry_no": entry_no, "cust_ledger_entry_no": cle_no, "customer_no": "x",
            "posting_date": posted, "entry_type": entry_type, "amount_lcy": amount}


DOCUMENTS = [
    # 1 posted on the cutoff, open: in_tv, due after the cutoff
    doc(1, "C1", date(2025, 9, 30), date(2025, 10, 15), D("1000.00"), document_type="Invoice", busline_code="RETAIL"),
    # 2 partly applied before the period: open 300, long overdue
    doc(2, "C1", date(2025, 7, 10), date(2025, 3, 31), D("500.00")),
    # 3 fully applied in the period: context, due on the period start
    doc(3, "C2", date(2025, 9, 5), date(2025, 9, 1), D("800.00"), group="B2B-NG-NAT"),
    # 4 fully applied before the period (last application on the day before S): absent
    doc(4, "C2", date(2025, 6, 1), date(2025, 6, 30), D("400.00"), group="B2B-NG-NAT"),
    # 5 settled the day after the cutoff: still open at C; the document's group, not the master's
    doc(5, "C3", date(2025, 9, 15), date(2025, 9, 30), D("700.00"), group="B2C-NG-INT"),
    # 6 posted after the cutoff: absent
    doc(6, "C3", date(2025, 10, 1), date(2025, 10, 31), D("90.00")),
    # 7 a posting group outside the list: absent
    doc(7, "C3", date(2025, 9, 10), date(2025, 9, 20), D("50.00"), group="STAFF-LOANS"),
    # 8 is not used; 9 a credit memo, due the day after the cutoff
    doc(9, "C1", date(2025, 8, 15), date(2025, 10, 1), D("-150.00"), document_type="Credit Memo"),
    # 10 partly applied on the cutoff itself, due the day before the period start
    doc(10, "C2", date(2025, 9, 12), date(2025, 8, 31), D("600.00"), group="B2B-NG-NAT"),
    # 11 no detailed entries at all: remaining 0 with no application in the period: absent
    doc(11, "C3", date(2025, 9, 3), date(2025, 9, 3), D("80.00")),
    # 12 fully applied on the period start itself: context
    doc(12, "C3", date(2025, 8, 20), date(2025, 9, 15), D("200.00")),
    # another company's document with the same entry number as document 2: absent
    doc(2, "C1", date(2025, 9, 1), date(2025, 9, 30), D("999.00"), group="NAT", company_id="JM_EG"),
]

DETAILS = [
    detail(101, 1, date(2025, 9, 30), D("1000.00"), "Initial Entry"),
    detail(102, 2, date(2025, 7, 10), D("500.00"), "Initial Entry"),
    detail(103, 2, date(2025, 8, 20), D("-200.00")),
    detail(104, 3, date(2025, 9, 5), D("800.00"), "Initial Entry"),
    detail(105, 3, date(2025, 9, 20), D("-800.00")),
    detail(106, 4, date(2025, 6, 1), D("400.00"), "Initial Entry"),
    detail(107, 4, date(2025, 8, 31), D("-400.00")),
    detail(108, 5, date(2025, 9, 15), D("700.00"), "Initial Entry"),
    detail(109, 5, date(2025, 10, 1), D("-700.00")),
    detail(110, 6, date(2025, 10, 1), D("90.00"), "Initial Entry"),
    detail(111, 7, date(2025, 9, 10), D("50.00"), "Initial Entry"),
    detail(112, 9, date(2025, 8, 15), D("-150.00"), "Initial Entry"),
    detail(113, 10, date(2025, 9, 12), D("600.00"), "Initial Entry"),
    detail(114, 10, date(2025, 9, 30), D("-100.00")),
    detail(115, 12, date(2025, 8, 20), D("200.00"), "Initial Entry"),
    detail(116, 12, date(2025, 9, 1), D("-200.00")),
    # JM_EG's detailed entries on its own entry 2 must not touch EC_NG's document 2
    detail(117, 2, date(2025, 9, 1), D("999.00"), "Initial Entry", company_id="JM_EG"),
]

LAKE = {
    "nav.customers": CUSTOMERS,
    "nav.customer_ledger_entries": DOCUMENTS,
    "nav.detailed_customer_ledger_entries": DETAILS,
}


def run(lake, overrides=None):
    with DuckDBEngine(lake_binding(lake)) as engine:
        return extract(engine, load_catalog().item("IPE_07"), SEP, "EC_NG", overrides=overrides)


def picked(result, *columns):
    return [tuple(row[c] for c in columns) for row in result.table.to_pylist()]


def test_open_documents_in_tv_and_documents_applied_in_the_period_as_context(tmp_path):
    result = run(write_lake(tmp_path, LAKE))

    assert picked(result, "entry_no", "customer_no", "remaining_amount_lcy", "due_bucket", "in_tv") == [
        (1, "C1", D("1000.00"), "Not yet due", True),
        (2, "C1", D("300.00"), "Overdue", True),
        (3, "C2", D("0.00"), "Due this month", False),
        (5, "C3", D("700.00"), "Due this month", True),
        (9, "C1", D("-150.00"), "Not yet due", True),
        (10, "C2", D("500.00"), "Overdue", True),
        (12, "C3", D("0.00"), "Due this month", False),
    ]
    assert result.control_totals == {"original_amount_lcy": D("3650.00"), "remaining_amount_lcy": D("2350.00")}


def test_target_value_is_the_remaining_amount_of_in_tv_rows(tmp_path):
    rows = run(write_lake(tmp_path, LAKE)).table.to_pylist()

    assert sum(r["remaining_amount_lcy"] for r in rows if r["in_tv"]) == D("2350.00")
    assert {r["customer_no"] for r in rows if not r["in_tv"]} == {"C2", "C3"}


def test_document_columns_come_from_the_document_and_the_name_from_the_master(tmp_path):
    rows = {r["entry_no"]: r for r in run(write_lake(tmp_path, LAKE)).table.to_pylist()}

    assert rows[1] == {
        "company_id": "EC_NG", "entry_no": 1, "customer_no": "C1", "customer_name": "Ada Stores",
        "customer_posting_group": "B2C-NG-NAT", "busline_code": "RETAIL", "document_no": "DOC-1",
        "document_type": "Invoice", "posting_date": date(2025, 9, 30), "due_date": date(2025, 10, 15),
        "gl_account_no": "13003", "currency": "NGN", "original_amount_lcy": D("1000.00"),
        "remaining_amount_lcy": D("1000.00"), "due_bucket": "Not yet due", "in_tv": True,
    }
    assert (rows[5]["customer_name"], rows[5]["customer_posting_group"]) == ("Chi Foods", "B2C-NG-INT")
    assert rows[3]["busline_code"] is None


def test_a_document_of_a_customer_missing_from_the_master_is_kept_without_a_name(tmp_path):
    lake = write_lake(tmp_path, {**LAKE, "nav.customers": CUSTOMERS[1:]})  # C1 is missing

    result = run(lake)

    assert picked(result, "entry_no", "customer_no", "customer_name", "in_tv") == [
        (1, "C1", None, True), (2, "C1", None, True), (3, "C2", "Bola Ltd", False), (5, "C3", "Chi Foods", True),
        (9, "C1", None, True), (10, "C2", "Bola Ltd", True), (12, "C3", "Chi Foods", False),
    ]
    assert result.control_totals["remaining_amount_lcy"] == D("2350.00")


def test_posting_groups_override(tmp_path):
    result = run(write_lake(tmp_path, LAKE), {"posting_groups": ["STAFF-LOANS", "B2B-NG-NAT"]})

    assert picked(result, "entry_no", "customer_posting_group", "remaining_amount_lcy", "in_tv") == [
        (3, "B2B-NG-NAT", D("0.00"), False),
        (7, "STAFF-LOANS", D("50.00"), True),
        (10, "B2B-NG-NAT", D("500.00"), True),
    ]


def test_default_posting_groups_are_the_seventeen_of_the_spec():
    (param,) = load_catalog().item("IPE_07").parameters

    assert param.default == (
        "LOAN-REC-NAT", "B2B-NG-NAT", "B2C-NG-NAT", "B2C-NG-INT", "NTR-NG-NAT", "B2B-NG-INT", "NTR-NG-INT", "UE",
        "INL", "EXPORT", "EU", "NATIONAL", "OM", "NAT", "AUS", "EXCB2B-NAT", "EMP-NAT",
    )


def test_csv_lake_gives_the_same_extract(tmp_path):
    parquet = run(write_lake(tmp_path / "parquet", LAKE))
    csv = run(write_lake(tmp_path / "csv", LAKE, fmt="csv"))

    assert csv.table.equals(parquet.table)
    assert csv.row_count == 7
