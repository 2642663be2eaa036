"""The binding rename proof: catalog queries run unchanged on a lake whose physical table folders
and column names differ from the logical ones, and give the same result as on the logical lake.

Period 2025-09 for EC_NG: period_start 2025-09-01, cutoff 2025-09-30, as_of 2025-10-01.
"""

from __future__ import annotations

from datetime import date, datetime as T
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml
from lakekit import D, table_of, write_lake

from soxauto.catalog.loader import default_pack, load_item
from soxauto.cli import run
from soxauto.engines import connect
from soxauto.errors import BindingError, CatalogError, LakeContractError
from soxauto.extract import extract, time_bounds
from soxauto.lake.binding import lake_binding, load_binding
from soxauto.lake.check import check_lake
from soxauto.lake.contract import contract
from soxauto.period import Period

SEP = Period(2025, 9)
NG, EG = "EC_NG", "JM_EG"

# One small, sound lake in which every catalog item finds rows for EC_NG in 2025-09, plus
# rows each item must leave out (another company, another period).
TABLES = {
    "ref.companies": [
        {"company_id": NG, "company_name": "Jumia Nigeria", "country_code": "NG", "currency": "NGN", "in_conso_scope": True},
        {"company_id": EG, "company_name": "Jumia Egypt", "country_code": "EG", "currency": "EGP", "in_conso_scope": True},
    ],
    "ref.fx_rates": [
        {"company_id": NG, "year": 2025, "month": 9, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": D("1650.000000")},
        {"company_id": NG, "year": 2025, "month": 9, "rate_type": "Average", "currency": "NGN", "rate_lcy_per_usd": D("1600.500000")},
        {"company_id": NG, "year": 2025, "month": 8, "rate_type": "Closing", "currency": "NGN", "rate_lcy_per_usd": D("1540.000000")},
        {"company_id": EG, "year": 2025, "month": 9, "rate_type": "Closing", "currency": "EGP", "rate_lcy_per_usd": D("48.900000")},
    ],
    "nav.gl_accounts": [
        {"gl_account_no": "18412", "gl_account_name": "Vouchers", "account_class": "liability"},
        {"gl_account_no": "13003", "gl_account_name": "Customers", "account_class": "asset"},
    ],
    "nav.gl_entries": [
        {"company_id": NG, "entry_no": 1, "posting_date": date(2025, 9, 3), "document_date": date(2025, 9, 3),
         "document_no": "D1", "external_document_no": "V1", "gl_account_no": "18412", "description": "Voucher issuance",
         "amount": D("-50.00"), "voucher_no": "V1", "user_id": "JUMIA\\NAV31AFR.BATCH.SRVC"},
        {"company_id": NG, "entry_no": 2, "posting_date": date(2025, 9, 30), "document_date": date(2025, 9, 29),
         "document_no": "D2", "gl_account_no": "13003", "description": "Manual journal",
         "amount": D("0.10"), "source_type": "Customer", "source_no": "C1", "user_id": "JUMIA\\FIRST.LAST"},
        {"company_id": NG, "entry_no": 3, "posting_date": date(2025, 10, 1), "document_no": "D3",
         "gl_account_no": "13003", "amount": D("999.00"), "user_id": "JUMIA\\FIRST.LAST"},  # after cutoff
        {"company_id": EG, "entry_no": 1, "posting_date": date(2025, 9, 3), "document_no": "E1",
         "gl_account_no": "18412", "amount": D("-7.00"), "user_id": "JUMIA\\FIRST.LAST"},
    ],
    "nav.gl_balances": [
        {"company_id": NG, "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "NGN",
         "balance_lcy": D("-1500.00"), "refreshed_at": T(2025, 10, 1, 2, 0)},
        {"company_id": NG, "closing_date": date(2025, 9, 30), "gl_account_no": "13003", "currency": "NGN",
         "balance_lcy": D("250.10"), "refreshed_at": T(2025, 10, 1, 2, 0)},
        {"company_id": NG, "closing_date": date(2025, 9, 30), "gl_account_no": "99999", "currency": "NGN",
         "balance_lcy": D("1.00"), "refreshed_at": T(2025, 10, 1, 2, 0)},  # not a reconciled account
        {"company_id": NG, "closing_date": date(2025, 8, 31), "gl_account_no": "18412", "currency": "NGN",
         "balance_lcy": D("-900.00"), "refreshed_at": T(2025, 9, 1, 2, 0)},  # previous month-end
        {"company_id": EG, "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "EGP",
         "balance_lcy": D("-77.00"), "refreshed_at": T(2025, 10, 1, 2, 0)},  # another company
    ],
    "nav.customers": [
        {"company_id": NG, "customer_no": "C1", "customer_name": "Ada", "customer_posting_group": "B2C-NG-NAT"},
    ],
    "nav.customer_ledger_entries": [
        {"company_id": NG, "entry_no": 10, "customer_no": "C1", "posting_date": date(2025, 9, 2),
         "due_date": date(2025, 9, 15), "document_no": "INV1", "description": "Invoice",
         "customer_posting_group": "B2C-NG-NAT", "gl_account_no": "13003", "currency": "NGN",
         "original_amount": D("100.00"), "original_amount_lcy": D("100.00")},
    ],
    "nav.detailed_customer_ledger_entries": [
        {"company_id": NG, "entry_no": 100, "cust_ledger_entry_no": 10, "customer_no": "C1",
         "posting_date": date(2025, 9, 2), "entry_type": "Initial Entry", "amount_lcy": D("100.00")},
        {"company_id": NG, "entry_no": 101, "cust_ledger_entry_no": 10, "customer_no": "C1",
         "posting_date": date(2025, 9, 20), "entry_type": "Application", "amount_lcy": D("-40.00")},
    ],
    "nav.bank_accounts": [{"company_id": NG, "bank_account_no": "B1", "gl_account_no": "13011"}],
    "bob.store_credit_vouchers": [
        {"snapshot_date": date(2025, 9, 30), "company_id": NG, "voucher_id": "V1", "code": "RF_1",
         "business_use": "refund", "voucher_type": "reusablecredit", "is_active": True,
         "discount_amount": D("50.00"), "used_discount_amount": D("20.00"), "remaining_amount": D("30.00"),
         "created_at": T(2025, 9, 1, 8, 0), "from_date": date(2025, 9, 1), "to_date": date(2025, 12, 31), "times_used": 1},
        {"snapshot_date": date(2025, 9, 30), "company_id": NG, "voucher_id": "V2", "code": "MKT",
         "business_use": "marketing", "voucher_type": "coupon", "is_active": True,
         "discount_amount": D("5.00"), "remaining_amount": D("5.00"),
         "created_at": T(2025, 9, 2, 8, 0), "from_date": date(2025, 9, 1), "to_date": date(2025, 9, 10)},
        {"snapshot_date": date(2025, 8, 31), "company_id": NG, "voucher_id": "V1", "code": "RF_1",
         "business_use": "refund", "voucher_type": "reusablecredit", "is_active": True,
         "discount_amount": D("50.00"), "remaining_amount": D("50.00"),
         "created_at": T(2025, 8, 1, 8, 0), "from_date": date(2025, 8, 1), "to_date": date(2025, 12, 31)},
    ],
    "bob.sales_orders": [
        {"company_id": NG, "order_id": "O1", "order_nr": "N1", "customer_id": "C1", "order_date": T(2025, 9, 10, 9, 0),
         "total_amount": D("80.20"), "order_status": "delivered"},
        {"company_id": NG, "order_id": "O2", "order_nr": "N2", "customer_id": "C1", "order_date": T(2025, 10, 1, 0, 0),
         "total_amount": D("1.00"), "order_status": "new"},
    ],
    "oms.sales_order_items": [
        {"company_id": NG, "sales_order_item_id": "I1", "order_nr": "N1", "customer_id": "C1", "customer_type": "individual",
         "created_at": T(2025, 9, 5, 9, 0), "finance_verified_at": T(2025, 9, 5, 10, 0), "is_prepayment": True,
         "payment_method": "Card", "delivery_type": "Standard", "current_status": "shipped", "paid_price": D("80.20")},
        {"company_id": NG, "sales_order_item_id": "I2", "order_nr": "N3", "customer_id": "C1", "customer_type": "individual",
         "created_at": T(2025, 9, 6, 9, 0), "is_marketplace": True, "payment_method": "COD", "delivery_type": "Standard",
         "current_status": "refunded", "refunded_at": T(2025, 9, 20, 9, 0), "paid_price": D("15.30")},
    ],
    "oms.packages": [
        {"company_id": NG, "package_id": "P1", "package_number": "PN1", "order_nr": "N3", "payment_method": "COD",
         "delivered_at": T(2025, 9, 12, 15, 0), "amount_expected": D("44.40"), "status": "delivered"},
    ],
    "oms.collection_transactions": [
        {"company_id": NG, "transaction_id": "T1", "transaction_type": "Payment", "collection_partner": "GIG",
         "related_entity": "P1", "amount": D("75.50"), "event_at": T(2025, 9, 3, 11, 0), "status": "open"},
    ],
    "seller_center.transactions": [
        {"company_id": NG, "transaction_id": "S1", "transaction_no": "SN1", "transaction_type": "Commission",
         "asg_level_1": "Revenues", "amount": D("12.34"), "created_at": T(2025, 9, 8, 10, 0), "vendor_id": "SEL1"},
    ],
    "seller_center.account_statements": [
        {"company_id": NG, "account_statement_id": "AS1", "start_date": date(2025, 9, 1), "end_date": date(2025, 9, 15)},
    ],
    "jdash.voucher_usage": [
        {"company_id": NG, "voucher_id": "V1", "amount_used": D("20.00"), "used_at": T(2025, 9, 15, 12, 0), "order_nr": "N1"},
    ],
}

# Physical names chosen to break naive code: spaces, brackets, upper case, other folders.
FOLDERS = {"nav.gl_balances": "NAV/G_L Balances", "nav.gl_entries": "NAV/G_L Entries"}
COLUMNS = {"company_id": "COMPANY_ID", "closing_date": "Closing Date", "balance_lcy": "[Balance LCY]"}


def physical_folder(qualified: str) -> str:
    schema, name = qualified.split(".")
    return FOLDERS.get(qualified, f"{schema.upper()}/{name.replace('_', ' ').title()}")


def physical_column(name: str, i: int) -> str:
    if name in COLUMNS:
        return COLUMNS[name]
    title = name.replace("_", " ").title()
    return (name.upper(), title, f"[{title}]")[i % 3]


def write_renamed_lake(root: Path) -> Path:
    """The same rows as ``write_lake(TABLES)`` under physical names; every other table as CSV
    (half of those without a declared format, so it is detected). Returns the binding file."""
    tables = {}
    for k, spec in enumerate(contract().tables):
        mapping = {c.name: physical_column(c.name, i) for i, c in enumerate(spec.columns)}
        table = table_of(spec.qualified, TABLES.get(spec.qualified, []))
        table = table.rename_columns([mapping[n] for n in table.column_names])
        folder = root / "physical" / physical_folder(spec.qualified)
        folder.mkdir(parents=True)
        entry = {"location": physical_folder(spec.qualified), "columns": mapping}
        if k % 2:
            pacsv.write_csv(table, folder / "export 1.csv")
            if k % 4 == 1:
                entry["format"] = "csv"
        else:
            pq.write_table(table, folder / "Part 0.parquet")
        tables[spec.qualified] = entry
    path = root / "binding.yaml"
    path.write_text(yaml.safe_dump({"engine": "duckdb", "root": "physical", "tables": tables}, sort_keys=False), "utf-8")
    return path


def loadable_items():
    """Every extractable item of the pack that loads now (other items may be in the making)."""
    items = []
    for path in sorted((default_pack() / "catalog").glob("*.yaml")):
        problems: list = []
        try:
            item = load_item(path, problems)
        except CatalogError:
            continue
        if item is not None and not problems and item.extractable:
            items.append(item)
    return items


def test_cr_04_runs_unchanged_on_a_renamed_lake(tmp_path):
    write_lake(tmp_path / "logical", {"nav.gl_balances": TABLES["nav.gl_balances"]})
    renamed = tmp_path / "renamed" / "NAV" / "G_L Balances"
    renamed.mkdir(parents=True)
    table = table_of("nav.gl_balances", TABLES["nav.gl_balances"]).rename_columns(
        ["COMPANY_ID", "Closing Date", "GL Account No_", "currency", "[Balance LCY]", "refreshed_at"])
    pq.write_table(table, renamed / "part 0.parquet")
    binding_file = tmp_path / "renamed" / "binding.yaml"
    binding_file.write_text(
        "engine: duckdb\n"
        "tables:\n"
        "  nav.gl_balances:\n"
        "    location: NAV/G_L Balances\n"
        "    columns:\n"
        "      company_id: COMPANY_ID\n"
        "      closing_date: Closing Date\n"
        "      gl_account_no: GL Account No_\n"
        '      balance_lcy: "[Balance LCY]"\n',
        "utf-8",
    )
    item = next(i for i in loadable_items() if i.id == "CR_04")
    original_query = item.query.sql()

    with connect(lake_binding(tmp_path / "logical")) as engine:
        logical = extract(engine, item, SEP, NG)
    with connect(load_binding(binding_file)) as engine:
        physical = extract(engine, item, SEP, NG)

    assert item.query.sql() == original_query
    assert '"[Balance LCY]"' in physical.query.sql and "G_L Balances" in physical.query.sql
    assert physical.table.equals(logical.table)
    assert physical.table.to_pylist() == [
        {"company_id": NG, "closing_date": date(2025, 9, 30), "gl_account_no": "13003", "currency": "NGN",
         "balance_lcy": D("250.10"), "refreshed_at": T(2025, 10, 1, 2, 0)},
        {"company_id": NG, "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "NGN",
         "balance_lcy": D("-1500.00"), "refreshed_at": T(2025, 10, 1, 2, 0)},
    ]
    assert physical.control_totals == {"balance_lcy": D("-1249.90")}


def test_every_loadable_item_gives_the_same_result_on_the_renamed_lake(tmp_path):
    logical_lake = write_lake(tmp_path / "logical", TABLES)
    binding_file = write_renamed_lake(tmp_path / "renamed")
    items = loadable_items()
    assert "CR_04" in [i.id for i in items]

    with connect(lake_binding(logical_lake)) as a, connect(load_binding(binding_file)) as b:
        for item in items:
            # the horizon is read through each binding (refreshed_at renamed on the physical lake)
            logical = extract(a, item, SEP, NG, time_bounds(a, 45, SEP, NG))
            physical = extract(b, item, SEP, NG, time_bounds(b, 45, SEP, NG))
            assert logical.row_count > 0, f"{item.id}: the test lake gives it no rows; add some to TABLES"
            assert physical.table.equals(logical.table), item.id
            assert physical.control_totals == logical.control_totals, item.id


def test_lake_check_works_through_the_binding(tmp_path, capsys):
    binding_file = write_renamed_lake(tmp_path / "renamed")

    report = check_lake(binding=load_binding(binding_file))

    rows = {t.table: t.rows for t in report.tables}
    assert rows["nav.gl_balances"] == 5
    assert rows["bob.store_credit_vouchers"] == 3
    assert report.rows == sum(len(v) for v in TABLES.values())
    assert run(["lake", "check", "--binding", str(binding_file)]) == 0
    # Rich wraps at the terminal width, and the temporary path's length varies (per test worker).
    assert "satisfies the source contract" in " ".join(capsys.readouterr().out.split())


def test_lake_check_through_a_binding_names_logical_and_physical_column(tmp_path):
    binding_file = write_renamed_lake(tmp_path / "renamed")
    path = tmp_path / "renamed" / "physical" / "NAV" / "G_L Balances" / "Part 0.parquet"
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["[Balance LCY]"]), path)

    with pytest.raises(LakeContractError) as e:
        check_lake(binding=load_binding(binding_file))

    assert [str(p) for p in e.value.problems] == [
        f"nav.gl_balances.balance_lcy in {path}: column 'balance_lcy' (physical '[Balance LCY]') is missing"
    ]


def binding_error(tmp_path: Path, text: str) -> BindingError:
    path = tmp_path / "site.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(BindingError) as e:
        load_binding(path)
    return e.value


def test_unknown_logical_table_suggests_the_right_one(tmp_path):
    e = binding_error(tmp_path, "engine: duckdb\ntables:\n  nav.gl_balance:\n    location: NAV/G_L Balances\n")
    assert [str(p) for p in e.problems] == [
        f"{tmp_path / 'site.yaml'}: 'nav.gl_balance' is not a logical table; did you mean 'nav.gl_balances'?"
    ]


def test_unknown_column_suggests_the_right_one(tmp_path):
    e = binding_error(tmp_path, "tables:\n  nav.gl_balances:\n    columns: {closing_dat: Closing Date}\n")
    assert [str(p) for p in e.problems] == [
        f"{tmp_path / 'site.yaml'}: nav.gl_balances has no column 'closing_dat'; did you mean 'closing_date'?"
    ]


def test_unknown_engine_suggests_the_right_one(tmp_path):
    e = binding_error(tmp_path, "engine: duckbd\n")
    assert [str(p) for p in e.problems] == [f"{tmp_path / 'site.yaml'}: unknown engine 'duckbd'; did you mean 'duckdb'?"]


def test_binding_errors_are_reported_together_and_exit_3(tmp_path, capsys):
    path = tmp_path / "site.yaml"
    path.write_text("engine: athenna\ntables:\n  nav.gl_entrys: {}\n  ref.companies:\n    columns: {company: CO}\n", "utf-8")

    code = run(["lake", "check", "--binding", str(path)])

    err = capsys.readouterr().err
    assert code == 3
    assert "unknown engine 'athenna'; did you mean 'athena'?" in err
    assert "'nav.gl_entrys' is not a logical table; did you mean 'nav.gl_entries'?" in err
    assert "ref.companies has no column 'company'; did you mean 'company_id'?" in err
    assert err.count(str(path)) >= 3
