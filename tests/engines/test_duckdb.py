"""The embedded DuckDB engine: bound parameters, exact money, lists, results, errors."""

from __future__ import annotations

import uuid
from datetime import date, timezone
from decimal import Decimal

import duckdb
import pyarrow as pa
import pytest
import sqlglot
from lakekit import D, write_lake

from soxauto.engines import connect
from soxauto.engines.duckdb import DuckDBEngine
from soxauto.errors import EngineError, LakeContractError
from soxauto.lake.binding import lake_binding

EVIL = "EC_NG'; DROP TABLE x; --"

ENTRIES = [
    {"company_id": "EC_NG", "entry_no": 1, "gl_account_no": "18412", "amount": D("0.10"), "posting_date": date(2025, 9, 1)},
    {"company_id": "EC_NG", "entry_no": 2, "gl_account_no": "18412", "amount": D("0.20"), "posting_date": date(2025, 9, 2)},
    {"company_id": "EC_NG", "entry_no": 3, "gl_account_no": "13003", "amount": D("-7.05"), "posting_date": date(2025, 9, 3)},
    {"company_id": EVIL, "entry_no": 4, "gl_account_no": "18412", "amount": D("99.99"), "posting_date": date(2025, 9, 4)},
    {"company_id": "JM_EG", "entry_no": 5, "gl_account_no": "18412", "amount": D("1.00"), "posting_date": date(2025, 9, 5)},
]


@pytest.fixture
def engine(tmp_path):
    with DuckDBEngine(lake_binding(write_lake(tmp_path / "lake", {"nav.gl_entries": ENTRIES}))) as e:
        yield e


def q(sql: str):
    return sqlglot.parse_one(sql, read="trino")


def test_a_hostile_company_id_is_a_plain_bound_value(engine):
    query = q("SELECT e.entry_no, e.company_id FROM nav.gl_entries AS e WHERE e.company_id = :company_id ORDER BY 1")

    result = engine.run(query, {"company_id": EVIL})

    assert result.table.to_pylist() == [{"entry_no": 4, "company_id": EVIL}]
    assert "DROP" not in result.sql and "EC_NG" not in result.sql
    assert "$company_id" in result.sql
    assert result.parameters == {"company_id": EVIL}
    # The other companies are still there: nothing was dropped or commented out.
    assert engine.run(query, {"company_id": "EC_NG"}).table.column("entry_no").to_pylist() == [1, 2, 3]


def test_money_comes_back_as_exact_decimals(engine):
    query = q(
        "SELECT SUM(e.amount) AS total, MIN(e.amount) AS lowest FROM nav.gl_entries AS e "
        "WHERE e.company_id = :company_id AND e.gl_account_no = '18412'"
    )

    result = engine.run(query, {"company_id": "EC_NG"})

    (row,) = result.table.to_pylist()
    assert row == {"total": Decimal("0.30"), "lowest": Decimal("0.10")}
    assert type(row["total"]) is Decimal and str(row["total"]) == "0.30"
    assert pa.types.is_decimal(result.table.schema.field("total").type)
    assert result.table.schema.field("total").type.scale == 2


def test_rows_give_the_values_of_the_arrow_result(engine):
    # The tests' one-row answers come through rows(); they must be what run() would give,
    # type for type: a SUM of integers is a HUGEINT, which Arrow gives as a Decimal.
    query = q(
        "SELECT SUM(e.entry_no) AS entries, COUNT(*) AS n, SUM(e.amount) AS total, MIN(e.posting_date) AS first, "
        "MAX(e.gl_account_no) AS account, SUM(CASE WHEN e.entry_no > 99 THEN e.entry_no END) AS none "
        "FROM nav.gl_entries AS e WHERE e.company_id = :company_id"
    )

    answer, sql = engine.rows(query, {"company_id": "EC_NG"})

    expected = engine.run(query, {"company_id": "EC_NG"}).table.to_pylist()
    assert answer == expected
    assert [[type(v) for v in row.values()] for row in answer] == [[type(v) for v in row.values()] for row in expected]
    assert answer[0]["entries"] == Decimal(6) and type(answer[0]["entries"]) is Decimal
    assert answer[0]["total"] == Decimal("-6.75") and answer[0]["first"] == date(2025, 9, 1)
    assert "$company_id" in sql and "EC_NG" not in sql


def test_rows_reuse_a_parsed_statement_but_bind_each_run_afresh(engine):
    # An item's test statement is the same text for every entity: parsed once, it must still
    # see each run's values and whatever table is registered under its name at that time.
    query = q("SELECT COUNT(*) AS n, SUM(d.amount) AS total FROM ds AS d WHERE d.company_id = :company_id")
    engine.register("ds", pa.table({"company_id": ["EC_NG", "EC_NG", "JM_EG"], "amount": pa.array([D("1.00"), D("2.50"), D("4.00")], pa.decimal128(18, 2))}))
    first, sql = engine.rows(query, {"company_id": "EC_NG"})
    other, _ = engine.rows(query, {"company_id": "JM_EG"})
    engine.unregister("ds")
    engine.register("ds", pa.table({"company_id": ["EC_NG"], "amount": pa.array([D("9.99")], pa.decimal128(18, 2))}))
    swapped, again = engine.rows(query, {"company_id": "EC_NG"})

    assert first == [{"n": 2, "total": D("3.50")}]
    assert other == [{"n": 1, "total": D("4.00")}]
    assert swapped == [{"n": 1, "total": D("9.99")}]
    assert again == sql and list(engine._parsed) == [sql]  # one parse for the three runs


def test_a_failure_in_rows_is_an_engine_error_naming_the_sql(engine):
    with pytest.raises(EngineError, match="--- SQL ---"):
        engine.rows(q("SELECT CAST(e.company_id AS INTEGER) AS x FROM nav.gl_entries AS e"), {})


def test_list_parameters_are_expanded_and_bound(engine):
    query = q(
        "SELECT e.entry_no FROM nav.gl_entries AS e "
        "WHERE e.company_id = :company_id AND e.gl_account_no IN (:accounts) ORDER BY e.entry_no"
    )

    both = engine.run(query, {"company_id": "EC_NG", "accounts": ["18412", "13003"]})
    one = engine.run(query, {"company_id": "EC_NG", "accounts": ["13003"]})
    none = engine.run(query, {"company_id": "EC_NG", "accounts": []})

    assert both.table.column("entry_no").to_pylist() == [1, 2, 3]
    assert both.parameters == {"accounts__0": "18412", "accounts__1": "13003", "company_id": "EC_NG"}
    assert one.table.column("entry_no").to_pylist() == [3]
    assert none.table.num_rows == 0
    assert "18412" not in both.sql


def test_not_in_an_empty_list_keeps_every_row(engine):
    query = q("SELECT e.entry_no FROM nav.gl_entries AS e WHERE e.gl_account_no NOT IN (:accounts) ORDER BY 1")

    result = engine.run(query, {"accounts": []})

    assert result.table.column("entry_no").to_pylist() == [1, 2, 3, 4, 5]
    assert result.parameters == {}


def test_dates_are_bound_as_dates(engine):
    query = q("SELECT e.entry_no FROM nav.gl_entries AS e WHERE e.posting_date <= :cutoff ORDER BY 1")

    result = engine.run(query, {"cutoff": date(2025, 9, 2)})

    assert result.table.column("entry_no").to_pylist() == [1, 2]


def test_the_result_records_what_ran(engine):
    query = q("SELECT COUNT(*) AS n FROM nav.gl_entries AS e WHERE e.company_id = :company_id")

    result = engine.run(query, {"company_id": "JM_EG"})

    assert result.table.to_pylist() == [{"n": 1}]
    assert result.engine == "duckdb"
    assert result.engine_version == duckdb.__version__ == engine.version()
    assert (result.sql, result.parameters) == engine.render(query, {"company_id": "JM_EG"})
    assert "read_parquet" in result.sql.lower() and "gl_entries" in result.sql
    assert uuid.UUID(result.execution_id).version == 4
    assert result.started_at.tzinfo is timezone.utc
    assert result.elapsed_seconds >= 0


def test_a_duckdb_failure_becomes_an_engine_error(engine):
    query = q("SELECT e.entry_no / :zero AS x FROM nav.gl_entries AS e WHERE CAST(e.company_id AS INTEGER) = 1")

    with pytest.raises(EngineError) as e:
        engine.run(query, {"zero": 0})

    assert "DuckDB failed" in str(e.value)
    assert "--- SQL ---" in str(e.value)
    assert e.value.exit_code == 4


def test_a_missing_table_folder_is_a_contract_error(tmp_path):
    lake = write_lake(tmp_path / "lake", {})
    (lake / "jdash" / "voucher_usage" / "part-0.parquet").unlink()

    with connect(lake_binding(lake)) as engine, pytest.raises(LakeContractError) as e:
        engine.run(q("SELECT u.voucher_id FROM jdash.voucher_usage AS u"), {})

    assert str(e.value) == f"jdash.voucher_usage: no parquet or csv files in {(lake / 'jdash' / 'voucher_usage').resolve()}"
    assert e.value.exit_code == 3


def test_csv_lakes_read_with_the_contract_types(tmp_path):
    lake = write_lake(tmp_path / "lake", {"nav.gl_entries": ENTRIES}, fmt="csv")

    with connect(lake_binding(lake)) as engine:
        result = engine.run(q("SELECT SUM(e.amount) AS total FROM nav.gl_entries AS e WHERE e.company_id = :c"), {"c": "EC_NG"})

    assert result.table.to_pylist() == [{"total": Decimal("-6.75")}]


def test_a_memory_limit_must_look_like_a_size(tmp_path):
    binding = lake_binding(tmp_path)
    with pytest.raises(EngineError, match="memory limit '1GB'; SET x' is not a size"):
        DuckDBEngine(binding, memory_limit="1GB'; SET x")
    with DuckDBEngine(binding, threads=2, memory_limit="512MiB") as engine:
        assert engine.version() == duckdb.__version__
