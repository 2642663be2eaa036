"""The pre-flight (``soxauto.lake.preflight``): ``lake check`` on the tables a command reads."""

from __future__ import annotations

import shutil
from datetime import date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lakekit import D, companies, table_of, write_lake

from soxauto.catalog import load_catalog
from soxauto.errors import LakeContractError
from soxauto.lake.binding import lake_binding, load_binding
from soxauto.lake.preflight import ALWAYS, preflight, tables_read

BALANCES = [{"company_id": "EC_NG", "closing_date": date(2025, 9, 30), "gl_account_no": "18412", "currency": "NGN",
             "balance_lcy": D("-1500.00"), "refreshed_at": datetime(2025, 10, 1, 2, 0)}]


@pytest.fixture
def lake(tmp_path):
    return write_lake(tmp_path / "lake", {"ref.companies": companies(("EC_NG", "NGN")), "nav.gl_balances": BALANCES})


def test_the_tables_an_item_reads_come_from_its_query_and_its_tests():
    catalog = load_catalog()
    # CR_05's query reads ref.fx_rates; its tie-out reads ref.companies.
    assert tables_read([catalog.item("CR_05")]) == ("ref.companies", "ref.fx_rates", "nav.gl_balances")
    # IPE_09's query reads bob.sales_orders; a test reads oms.sales_order_items.
    assert tables_read([catalog.item("IPE_09")]) == (*ALWAYS, "bob.sales_orders", "oms.sales_order_items")
    # The close reads every table but the two no catalog item reads.
    every = tables_read(catalog.extractable())
    assert len(every) == 15 and "nav.gl_accounts" not in every and "nav.bank_accounts" not in every


def test_a_sound_lake_passes_and_is_counted(lake):
    checked = preflight(lake_binding(lake), ["nav.gl_balances", "ref.companies"], "extract")

    assert checked.tables == ("ref.companies", "nav.gl_balances")
    assert (checked.files, checked.rows, checked.absent, checked.skipped) == (2, 2, (), None)
    assert str(checked).startswith("pre-flight: 2 tables, 2 files, 2 rows satisfy the source contract (")


def test_only_the_tables_read_are_checked(lake):
    # A broken table the command does not read does not stop it.
    shutil.rmtree(lake / "nav" / "bank_accounts")
    (lake / "jdash" / "voucher_usage" / "part-0.parquet").write_bytes(b"not parquet")

    assert preflight(lake_binding(lake), ALWAYS, "extract").tables == ALWAYS


def test_a_breach_names_the_command_table_column_file_count_and_example(lake):
    path = lake / "ref" / "companies" / "part-0.parquet"
    pq.write_table(table_of("ref.companies", companies(("EC_NG", "NGN"), ("EC_NG", "NGN"))), path)

    with pytest.raises(LakeContractError) as e:
        preflight(lake_binding(lake), ALWAYS, "validate")

    assert e.value.exit_code == 3
    assert str(e.value).startswith(f"pre-flight of validate: lake:{lake.resolve()} breaks the source contract "
                                   "(1 problem(s)); nothing was run or written.")
    (problem,) = e.value.problems
    assert str(problem) == (f"ref.companies.company_id in {path.resolve()}: 2 row(s) share their key (company_id) with "
                            "another row of the table, which must have one row per key; for example company_id 'EC_NG'")


def test_a_table_without_files_is_left_to_the_steps_that_read_it(lake):
    shutil.rmtree(lake / "ref" / "fx_rates")
    (lake / "nav" / "gl_balances" / "part-0.parquet").unlink()

    checked = preflight(lake_binding(lake), [*ALWAYS, "ref.fx_rates"], "close")

    assert checked.tables == ("ref.companies",)
    assert checked.absent == ("ref.fx_rates", "nav.gl_balances")
    assert "no files for ref.fx_rates, nav.gl_balances (left to the steps that read them)" in str(checked)


def test_a_file_that_is_there_is_always_checked(lake):
    table = table_of("nav.gl_balances", BALANCES)
    floats = table.set_column(table.schema.get_field_index("balance_lcy"), "balance_lcy", pa.array([-1500.0]))
    pq.write_table(floats, lake / "nav" / "gl_balances" / "part-1.parquet")

    with pytest.raises(LakeContractError, match="column 'balance_lcy' is double"):
        preflight(lake_binding(lake), ALWAYS, "close")


def test_a_binding_of_another_engine_is_said_to_be_unchecked(tmp_path):
    path = tmp_path / "athena.yaml"
    path.write_text("engine: athena\nconnection: {region: eu-west-1}\n", "utf-8")

    checked = preflight(load_binding(path), ALWAYS, "recon")

    assert checked.tables == () and checked.skipped
    assert str(checked).startswith(f"pre-flight of recon: not run: binding '{path}' is for engine 'athena'")


def test_an_unknown_table_is_a_usage_error(lake):
    with pytest.raises(Exception, match="'ref.company' is not a logical table of the source contract"):
        preflight(lake_binding(lake), ["ref.company"], "close")


def test_with_the_catalog_the_items_compared_with_count_too():
    catalog = load_catalog()
    # JDASH's cross-source test compares it with IPE_08, which is extracted to test it.
    assert tables_read([catalog.item("JDASH")]) == (*ALWAYS, "jdash.voucher_usage")
    assert tables_read([catalog.item("JDASH")], catalog) == (*ALWAYS, "bob.store_credit_vouchers", "jdash.voucher_usage")
