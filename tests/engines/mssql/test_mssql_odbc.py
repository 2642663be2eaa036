"""The SQL Server engine's driver plumbing for real: pyodbc, unixODBC and the PostgreSQL ODBC
driver against a throwaway PostgreSQL on loopback (see conftest.py for why PostgreSQL).

Tables carry NAV's physical names with spaces in a schema ``dbo`` and are read through a
three-part binding, so the catalog query runs unchanged; amounts are NUMERIC(18, 2) and must
come back as exact Decimals in decimal128 columns.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyodbc
import pytest
import sqlglot
from sqlglot import exp

from soxauto.catalog import load_catalog
from soxauto.engines import connect
from soxauto.errors import EngineError
from soxauto.extract import extract
from soxauto.lake.binding import load_binding
from soxauto.period import Period

BINDING = """\
engine: mssql
tables:
  nav.gl_entries:
    location: "[soxauto_test].[dbo].[G_L Entries]"
    columns: {company_id: Company, entry_no: Entry No_, posting_date: Posting Date, document_date: Document Date,
              document_no: Document No_, document_type: Document Type, external_document_no: External Document No_,
              gl_account_no: G_L Account No_, description: Description, amount: Amount,
              bal_account_type: Bal_ Account Type, bal_account_no: Bal_ Account No_, voucher_no: Voucher No_,
              source_type: Source Type, source_no: Source No_, user_id: User ID, source_code: Source Code,
              busline_code: Global Dimension 1 Code, comment: Comment, reversed: Reversed}
"""
DDL = [
    "CREATE SCHEMA IF NOT EXISTS dbo",
    'DROP TABLE IF EXISTS dbo."G_L Entries"',
    'CREATE TABLE dbo."G_L Entries" ("Company" VARCHAR(30) NOT NULL, "Entry No_" BIGINT NOT NULL, '
    '"Posting Date" DATE NOT NULL, "Document Date" DATE NOT NULL, "Document No_" VARCHAR(20) NOT NULL, '
    '"Document Type" VARCHAR(20), "External Document No_" VARCHAR(35), "G_L Account No_" VARCHAR(20) NOT NULL, '
    '"Description" VARCHAR(100) NOT NULL, "Amount" NUMERIC(18, 2) NOT NULL, "Bal_ Account Type" VARCHAR(20), '
    '"Bal_ Account No_" VARCHAR(20), "Voucher No_" VARCHAR(20), "Source Type" VARCHAR(20), "Source No_" VARCHAR(20), '
    '"User ID" VARCHAR(50) NOT NULL, "Source Code" VARCHAR(10), "Global Dimension 1 Code" VARCHAR(20), '
    '"Comment" VARCHAR(100), "Reversed" BOOLEAN NOT NULL)',
]
INSERT = ('INSERT INTO dbo."G_L Entries" ("Company", "Entry No_", "Posting Date", "Document Date", "Document No_", '
          '"G_L Account No_", "Description", "Amount", "User ID", "Reversed") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
BATCH = "JUMIA\\NAV31AFR.BATCH.SRVC"
#        company  entry  posted               document no  account  description  amount                       user             reversed
ROWS = [
    ("EC_NG", 1, date(2025, 9, 10), "GJ-1", "18412", "voucher", Decimal("12345678901234.56"), BATCH, False),
    ("EC_NG", 2, date(2025, 9, 30), "GJ-2", "13003", "manual", Decimal("0.01"), "JUMIA\\FIRST.LAST", False),
    ("EC_NG", 3, date(2025, 9, 15), "GJ-3", "18412", "refund", Decimal("-0.10"), BATCH, True),
    ("EC_NG", 4, date(2025, 10, 1), "GJ-4", "18412", "after cutoff", Decimal("5.00"), BATCH, False),
    ("EC_KE", 5, date(2025, 9, 10), "GJ-5", "18412", "other company", Decimal("7.00"), BATCH, False),
    ("EC_NG", 6, date(2025, 9, 10), "GJ-6", "99999", "other account", Decimal("9.00"), BATCH, False),
]


@pytest.fixture(scope="module")
def nav_tables(odbc_pg: str) -> str:
    con = pyodbc.connect(odbc_pg, autocommit=True)
    cur = con.cursor()
    for statement in DDL:
        cur.execute(statement)
    cur.executemany(INSERT, [(c, n, p, p, d, a, t, amt, u, r) for c, n, p, d, a, t, amt, u, r in ROWS])
    con.close()
    return odbc_pg


@pytest.fixture
def engine(nav_tables, tmp_path):
    path = tmp_path / "nav.yaml"
    path.write_text(BINDING, "utf-8")
    with connect(load_binding(path), connection=nav_tables, dialect="postgres") as e:
        yield e


def test_the_catalog_query_runs_unchanged_on_nav_names_with_exact_decimals(engine):
    item = load_catalog().item("CR_03")
    result = extract(engine, item, Period.parse("2025-09"), "EC_NG")
    table = result.table
    assert table.column("entry_no").to_pylist() == [1, 2, 3]
    assert table.schema.field("amount").type == pa.decimal128(18, 2)
    assert table.column("amount").to_pylist() == [Decimal("12345678901234.56"), Decimal("0.01"), Decimal("-0.10")]
    assert [type(v) for v in table.column("amount").to_pylist()] == [Decimal] * 3
    assert table.column("integration_type").to_pylist() == ["Integration", "Manual", "Integration"]
    assert table.column("reversed").to_pylist() == [False, False, True]
    assert table.column("posting_date").to_pylist() == [date(2025, 9, 10), date(2025, 9, 30), date(2025, 9, 15)]
    assert result.control_totals["amount"] == Decimal("12345678901234.47")
    q = result.query
    assert q.engine == "mssql" and q.engine_version.startswith("PostgreSQL 15")
    assert str(uuid.UUID(q.execution_id)) == q.execution_id
    assert 'FROM "soxauto_test"."dbo"."G_L Entries"' in q.sql and '"Entry No_" AS entry_no' in q.sql
    assert q.parameters[:3] == [BATCH, "EC_NG", date(2025, 9, 30)] and len(q.parameters) == 13


def test_positional_parameters_bind_decimals_dates_and_lists_in_text_order(engine):
    query = sqlglot.parse_one(
        "SELECT e.entry_no, e.amount FROM nav.gl_entries AS e WHERE e.amount <= :ceiling "
        "AND e.document_no IN (:docs) AND e.posting_date >= :since ORDER BY e.entry_no", read="trino")
    result = engine.run(query, {"since": date(2025, 9, 12), "docs": ["GJ-1", "GJ-2", "GJ-3", "GJ-4"],
                                "ceiling": Decimal("0.01")})
    assert result.parameters == [Decimal("0.01"), "GJ-1", "GJ-2", "GJ-3", "GJ-4", date(2025, 9, 12)]
    assert result.table.to_pylist() == [{"entry_no": 2, "amount": Decimal("0.01")},
                                        {"entry_no": 3, "amount": Decimal("-0.10")}]


def test_a_registered_extract_joins_the_bound_table_in_the_same_session(engine):
    tv = pa.table({"entry_no": pa.array([1, 2, 3], pa.int64()),
                   "amount_tv": pa.array([Decimal("12345678901234.56"), Decimal("0.02"), Decimal("-0.10")],
                                         pa.decimal128(18, 2)),
                   "note": ["same", "off by a cent", None]})
    target = engine.register("ds_tv", tv)
    query = sqlglot.parse_one(
        "SELECT e.entry_no, t.amount_tv - e.amount AS diff, t.note FROM nav.gl_entries AS e "
        "JOIN ds_tv AS t ON t.entry_no = e.entry_no WHERE e.company_id = :company_id ORDER BY e.entry_no", read="trino")
    query = query.transform(lambda n: exp.Table(this=target.this.copy(), alias=n.args.get("alias"))
                            if isinstance(n, exp.Table) and n.name == "ds_tv" else n)
    result = engine.run(query, {"company_id": "EC_NG"})
    assert result.table.column("diff").to_pylist() == [Decimal("0"), Decimal("0.01"), Decimal("0")]
    assert pa.types.is_decimal(result.table.schema.field("diff").type)
    assert result.table.column("note").to_pylist() == ["same", "off by a cent", None]
    engine.unregister("ds_tv")
    with pytest.raises(EngineError, match='relation "ds_tv" does not exist'):
        engine.run(query, {"company_id": "EC_NG"})


def test_registering_again_replaces_the_table_and_empty_extracts_work(engine):
    one = pa.table({"x": pa.array([Decimal("1.50")], pa.decimal128(9, 2))})
    target = engine.register("ds_again", one)
    engine.register("ds_again", one.slice(0, 0))
    result = engine.run(exp.select(exp.Count(this=exp.Star()).as_("n")).from_(target), {})
    assert result.table.column("n").to_pylist() == [0]


def test_a_failing_query_is_an_engine_error_with_the_driver_reason_and_the_sql(engine):
    query = sqlglot.parse_one("SELECT e.entry_no FROM nav.gl_entries AS e WHERE e.entry_no / :zero > 0", read="trino")
    with pytest.raises(EngineError) as e:
        engine.run(query, {"zero": 0})
    assert "SQL Server failed:" in str(e.value) and "division by zero" in str(e.value)
    assert '--- SQL ---\nSELECT\n  e.entry_no' in str(e.value)


def test_version_falls_back_to_the_driver_when_select_version_fails(nav_tables, tmp_path):
    path = tmp_path / "nav.yaml"
    path.write_text(BINDING, "utf-8")
    # dialect tsql sends SELECT @@VERSION, which PostgreSQL refuses: getinfo answers instead.
    with connect(load_binding(path), connection=nav_tables) as tsql:
        assert tsql.version().startswith("PostgreSQL 15.")


def test_a_driver_without_query_timeout_is_logged_once_as_a_warning(engine, caplog):
    with caplog.at_level(logging.WARNING, logger="soxauto.engines.mssql"):
        engine.version()
    assert [r.getMessage() for r in caplog.records] == [
        "the ODBC driver of server 127.0.0.1, database soxauto_test has no query timeout; queries run without one"]


def test_a_failed_login_names_the_server_and_never_the_password(odbc_pg, tmp_path):
    path = tmp_path / "nav.yaml"
    path.write_text(BINDING, "utf-8")
    bad = odbc_pg.replace("DATABASE=soxauto_test", "DATABASE=no_such_db")
    engine = connect(load_binding(path), connection=bad, dialect="postgres",
                     environ={"SOXAUTO_MSSQL_PASSWORD": "S3cr3t-pw"})
    with pytest.raises(EngineError) as e:
        engine.version()
    assert str(e.value).startswith("cannot connect to server 127.0.0.1, database no_such_db:")
    assert "no_such_db" in str(e.value) and "S3cr3t-pw" not in str(e.value)
