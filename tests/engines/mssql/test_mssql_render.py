"""SQL Server rendering: the catalog queries bound to the physical NAV names, as T-SQL with
``?`` placeholders. Golden files make every change of the text a reviewable diff."""

from __future__ import annotations

import difflib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from soxauto.catalog import load_catalog
from soxauto.engines import connect
from soxauto.engines.mssql import MssqlEngine, arrow_type, column_type, connection_string, masked, physical_name, to_arrow
from soxauto.errors import BindingError, EngineError, UsageError
from soxauto.lake.binding import load_binding
from soxauto.period import Period

GOLDEN = Path(__file__).resolve().parent / "golden"

NAV_BINDING = """\
engine: mssql
connection: {driver: ODBC Driver 18 for SQL Server, server: "nav-dw.example.internal,1433", database: AIG_Nav_DW,
             options: {Encrypt: "yes"}}
tables:
  nav.gl_entries:
    location: "[AIG_Nav_DW].[dbo].[G_L Entries]"
    columns:
      company_id: Company
      entry_no: Entry No_
      posting_date: Posting Date
      document_date: Document Date
      document_no: Document No_
      document_type: Document Type
      external_document_no: External Document No_
      gl_account_no: G_L Account No_
      description: Description
      amount: Amount
      bal_account_type: Bal_ Account Type
      bal_account_no: Bal_ Account No_
      voucher_no: Voucher No_
      source_type: Source Type
      source_no: Source No_
      user_id: User ID
      source_code: Source Code
      busline_code: Global Dimension 1 Code
      comment: Comment
      reversed: Reversed
  nav.gl_balances:
    location: AIG_Nav_DW.dbo.G_L Balance View
    columns: {company_id: Company, closing_date: Closing Date, gl_account_no: G_L Account No_,
              currency: Currency Code, balance_lcy: Balance (LCY), refreshed_at: Refreshed At}
"""
ACCOUNTS = ["13003", "13004", "13005", "13009", "13011", "13012", "18304", "18317", "18350", "18412"]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture
def nav(tmp_path):
    path = tmp_path / "nav.yaml"
    path.write_text(NAV_BINDING, "utf-8")
    return load_binding(path)


@pytest.mark.parametrize("item_id", ["CR_03", "CR_04"])
def test_bound_catalog_query_matches_its_golden_tsql(catalog, nav, item_id, update_golden):
    item = catalog.item(item_id)
    text, params = MssqlEngine(nav).render(item.query, item.bind(Period.parse("2025-09"), "EC_NG"))
    golden = GOLDEN / f"{item_id}.nav.tsql.sql"
    if update_golden:
        golden.write_text(text + "\n", "utf-8")
        return
    assert golden.is_file(), f"{golden} is missing; review the SQL and run pytest --update-golden"
    expected = golden.read_text("utf-8")
    diff = "".join(difflib.unified_diff(expected.splitlines(True), (text + "\n").splitlines(True)))
    assert text + "\n" == expected, diff


def test_cr03_binds_brackets_and_positional_parameters_in_text_order(catalog, nav):
    item = catalog.item("CR_03")
    text, params = connect(nav).render(item.query, item.bind(Period.parse("2025-09"), "EC_NG"))
    assert "FROM [AIG_Nav_DW].[dbo].[G_L Entries]" in text
    assert "[Entry No_] AS entry_no" in text and "[G_L Account No_] AS gl_account_no" in text
    assert ":" not in text.replace("::", "") and text.count("?") == 13
    # CASE WHEN user_id = ? comes first in the text, then company, cutoff and the ten accounts.
    assert params == ["JUMIA\\NAV31AFR.BATCH.SRVC", "EC_NG", date(2025, 9, 30), *ACCOUNTS]
    parsed = sqlglot.parse_one(text, read="tsql", error_level=ErrorLevel.RAISE)
    source = parsed.find(exp.Subquery).this.find(exp.Table)
    assert (source.catalog, source.db, source.name) == ("AIG_Nav_DW", "dbo", "G_L Entries")
    inner = [s.this.name for s in parsed.find(exp.Subquery).this.selects]
    assert inner[:3] == ["Company", "Entry No_", "Posting Date"]
    assert [s.alias_or_name for s in parsed.selects][-1] == "integration_type"


def test_a_bare_three_part_name_with_spaces_is_quoted_like_the_bracketed_one(catalog, nav):
    item = catalog.item("CR_04")
    text, _ = MssqlEngine(nav).render(item.query, item.bind(Period.parse("2025-09"), "EC_NG"))
    assert "FROM [AIG_Nav_DW].[dbo].[G_L Balance View]" in text
    assert "[Balance (LCY)] AS balance_lcy" in text


def test_unlisted_tables_default_to_schema_dot_table():
    engine = MssqlEngine(load_binding_text("engine: mssql\n"))
    query = sqlglot.parse_one("SELECT c.company_id FROM ref.companies AS c WHERE c.currency = :ccy", read="trino")
    text, params = engine.render(query, {"ccy": "NGN"})
    assert "FROM [ref].[companies]" in text and params == ["NGN"]


def load_binding_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "b.yaml"
        path.write_text(text, "utf-8")
        return load_binding(path)


@pytest.mark.parametrize(("location", "parts"), [
    ("[AIG_Nav_DW].[dbo].[G_L Entries]", ("AIG_Nav_DW", "dbo", "G_L Entries")),
    ("AIG_Nav_DW.dbo.G_L Entries", ("AIG_Nav_DW", "dbo", "G_L Entries")),
    ("[dbo].[Cust_ Ledger Entry]", ("", "dbo", "Cust_ Ledger Entry")),
    ("[we]]ird].[a.b]", ("", "we]ird", "a.b")),
])
def test_physical_names_split_on_dots_outside_brackets(location, parts):
    t = physical_name(location)
    assert (t.catalog, t.db, t.name) == parts


@pytest.mark.parametrize("location", ["a..b", "[a].[b].[c].[d]", "[a] b", "", "[a].", "[open"])
def test_a_malformed_physical_name_is_a_binding_error(location):
    with pytest.raises(BindingError, match=r"nav.gl_entries: location .* is not a SQL Server name"):
        physical_name(location, "nav.gl_entries")


def test_a_password_in_the_binding_file_is_refused(tmp_path):
    path = tmp_path / "b.yaml"
    path.write_text("engine: mssql\nconnection: {dsn: NAV, options: {PWD: hunter2}}\n", "utf-8")
    with pytest.raises(BindingError) as e:
        load_binding(path)
    assert "connection: 'PWD' does not belong in a binding file; set SOXAUTO_MSSQL_PASSWORD" in str(e.value)
    assert "hunter2" not in str(e.value)


def test_connection_string_from_a_block_adds_credentials_from_the_environment(nav):
    env = {"SOXAUTO_MSSQL_USER": "svc_sox", "SOXAUTO_MSSQL_PASSWORD": "p;w}d"}
    text = connection_string(dict(nav.connection), env)
    assert text == ("DRIVER=ODBC Driver 18 for SQL Server;SERVER=nav-dw.example.internal,1433;DATABASE=AIG_Nav_DW;"
                    "Encrypt=yes;UID=svc_sox;PWD={p;w}}d}")
    assert masked(text).endswith("UID=svc_sox;PWD=****")
    assert connection_string("DSN=NAV;PWD=x", env) == "DSN=NAV;PWD=x;UID=svc_sox"
    assert masked("DSN=NAV;Password = {a;b}};c};X=1") == "DSN=NAV;Password = ****;X=1"


def test_a_block_without_server_or_dsn_says_what_is_missing():
    with pytest.raises(UsageError, match=r"give dsn, or driver, server and database \(missing: server\)"):
        connection_string({"driver": "ODBC Driver 18 for SQL Server", "database": "AIG_Nav_DW"}, {})


def test_the_environment_connection_string_beats_the_binding_block(nav, monkeypatch):
    engine = MssqlEngine(nav, environ={"SOXAUTO_MSSQL_CONNECTION": "DSN=Other;Trusted_Connection=yes"})
    assert engine._connection_text() == "DSN=Other;Trusted_Connection=yes"
    assert MssqlEngine(nav, environ={})._connection_text().startswith("DRIVER=ODBC Driver 18")
    with pytest.raises(UsageError, match="no SQL Server connection for binding"):
        MssqlEngine(load_binding_text("engine: mssql\n"), environ={})._connection_text()


def test_decimal_columns_keep_precision_and_scale_from_the_description():
    description = [("amount", Decimal, None, 18, 18, 2, True), ("n", int, None, 19, 19, 0, True),
                   ("d", date, None, 10, 10, 0, True), ("s", str, None, 20, 20, 0, True),
                   ("b", bool, None, 1, 1, 0, True)]
    rows = [(Decimal("12345678901234.56"), 1, date(2025, 9, 30), "x", True), (Decimal("-0.10"), None, None, None, False)]
    table = to_arrow(description, [rows])
    assert table.schema.types == [pa.decimal128(18, 2), pa.int64(), pa.date32(), pa.string(), pa.bool_()]
    assert table.column("amount").to_pylist() == [Decimal("12345678901234.56"), Decimal("-0.10")]
    empty = to_arrow(description, [[]])
    assert empty.num_rows == 0 and empty.schema.field("amount").type == pa.decimal128(18, 2)


def test_a_value_finer_than_its_scale_is_an_error_not_a_rounding():
    with pytest.raises(EngineError, match="does not fit its column type"):
        to_arrow([("x", Decimal, None, 28, 28, 2, True)], [[(Decimal("0.001"),)]])
    with pytest.raises(EngineError, match=r"DECIMAL\(39, 2\) does not fit decimal128"):
        arrow_type(("big", Decimal, None, 39, 39, 2, True))


def test_a_timeout_sqlstate_becomes_an_engine_error_naming_the_setting(nav):
    import pyodbc

    engine = MssqlEngine(nav, query_timeout=5)
    error = engine._error(pyodbc.OperationalError("HYT00", "[HYT00] [Microsoft][ODBC Driver 18] Query timeout expired"),
                          "SELECT 1")
    assert str(error).startswith("SQL Server query timed out after 5 s (query_timeout")
    other = engine._error(pyodbc.ProgrammingError("42S02", "[42S02] Invalid object name 'dbo.X'. (208)"), "SELECT 1")
    assert str(other) == "SQL Server failed: [42S02] Invalid object name 'dbo.X'. (208)\n--- SQL ---\nSELECT 1"


def test_an_unknown_dialect_is_refused(nav):
    with pytest.raises(UsageError, match="dialect 'mysql' is not one of tsql, postgres"):
        MssqlEngine(nav, dialect="mysql")


def test_registered_columns_get_exact_sql_server_types():
    table = pa.table({"amount": pa.array([Decimal("-0.10")], pa.decimal128(18, 2)), "code": ["RF_0012345678"],
                      "n": pa.array([1], pa.int64()), "ok": [True], "at": pa.array([0], pa.timestamp("us")),
                      "day": pa.array([date(2025, 9, 30)])})
    types = [column_type(f, table.column(f.name), "tsql").sql("tsql") for f in table.schema]
    assert types == ["NUMERIC(18, 2)", "NVARCHAR(13)", "BIGINT", "BIT", "DATETIME2", "DATE"]
    with pytest.raises(EngineError, match="column 'l' of type list<item: int64> cannot be registered"):
        column_type(pa.field("l", pa.list_(pa.int64())), pa.chunked_array([[[1]]]), "tsql")
