"""SQL Server 2019 as the floor: the version checked when the connection opens, and temporary
tables whose text columns take the database's collation. A stand-in pyodbc connection answers
and records; the real driver plumbing is tested against PostgreSQL (test_mssql_odbc.py)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pyodbc
import pytest
import sqlglot
from sqlglot import exp

from soxauto.engines.mssql import MssqlEngine
from soxauto.errors import EngineError, UsageError
from soxauto.lake.binding import load_binding

BINDING = "engine: mssql\nconnection: {driver: ODBC Driver 18 for SQL Server, server: nav-dw, database: AIG_Nav_DW}\n"


class Cursor:
    def __init__(self, con: "Connection"):
        self.con, self.fast_executemany, self._row = con, False, None

    def execute(self, sql: str, *params):
        self.con.sent.append(sql)
        if "SERVERPROPERTY" in sql:
            if self.con.product is None:
                raise pyodbc.ProgrammingError("42000", "'SERVERPROPERTY' is not a recognized function")
            self._row = self.con.product
        return self

    def executemany(self, sql: str, rows) -> None:
        self.con.sent.append(sql)

    def fetchone(self):
        return self._row

    def close(self) -> None:
        pass


class Connection:
    """What pyodbc.connect returns, reduced to what the engine calls."""

    def __init__(self, product, dbms_ver: str = ""):
        self.product, self.dbms_ver, self.sent, self.closed, self.timeout = product, dbms_ver, [], False, 0

    def cursor(self) -> Cursor:
        return Cursor(self)

    def getinfo(self, what):
        return self.dbms_ver

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def nav(tmp_path):
    path = tmp_path / "nav.yaml"
    path.write_text(BINDING, "utf-8")
    return load_binding(path)


def opened(monkeypatch, nav, con: Connection, dialect: str = "tsql") -> MssqlEngine:
    monkeypatch.setattr(pyodbc, "connect", lambda *a, **k: con)
    return MssqlEngine(nav, dialect=dialect, environ={})


def test_sql_server_2017_is_refused_when_the_connection_opens_with_a_usage_error(monkeypatch, nav):
    con = Connection(("14.0.3456.2", 3))
    engine = opened(monkeypatch, nav, con)

    with pytest.raises(UsageError) as e:
        engine.connection()

    assert e.value.exit_code == 3
    assert str(e.value) == ("server nav-dw, database AIG_Nav_DW runs SQL Server 14.0.3456.2 (2017); SOXauto needs SQL "
                            "Server 2019 (version 15) or later. Upgrade the server, or bind the NAV tables of a newer one")
    assert con.closed and engine._con is None
    assert con.sent == ["SELECT CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128)) AS product_version, "
                        "CAST(SERVERPROPERTY('EngineEdition') AS INTEGER) AS engine_edition"]


@pytest.mark.parametrize("product", [("15.0.2000.5", 3), ("16.0.1000.6", 2), ("12.0.2000.8", 5), ("12.0.2000.8", 8)])
def test_sql_server_2019_and_later_and_azure_sql_are_accepted(monkeypatch, nav, product):
    con = Connection(product)
    assert opened(monkeypatch, nav, con).connection() is con and not con.closed


def test_a_server_that_does_not_answer_serverproperty_is_judged_by_the_drivers_version(monkeypatch, nav):
    with pytest.raises(UsageError, match="runs SQL Server 13.00.5026 \\(2016\\)"):
        opened(monkeypatch, nav, Connection(None, dbms_ver="13.00.5026")).connection()
    with pytest.raises(EngineError, match="reported the version 'unknown', which is not a SQL Server version"):
        opened(monkeypatch, nav, Connection(None, dbms_ver="unknown")).connection()


def test_the_postgresql_stand_in_of_the_odbc_tests_has_no_version_floor(monkeypatch, nav):
    from soxauto.engines.capability import PostgresOverOdbc, SqlServer

    con = Connection(None, dbms_ver="9.6.0")
    assert opened(monkeypatch, nav, con, dialect="postgres").connection() is con
    assert con.sent == [] and PostgresOverOdbc.min_server_version is None and SqlServer.min_server_version == 15


EXTRACT = pa.table({"voucher_id": ["V1", "V2"], "amount": pa.array([Decimal("1.00"), None], pa.decimal128(18, 2)),
                    "note": pa.array(["x" * 5000, None], pa.string()), "ok": [True, False]})


def test_text_columns_of_a_temporary_table_take_the_database_collation(monkeypatch, nav):
    con = Connection(("15.0.2000.5", 3))
    engine = opened(monkeypatch, nav, con)

    target = engine.register("rc_ipe_08_ec_ng_202509", EXTRACT)

    create, insert = con.sent[1:]
    assert create == ("CREATE TABLE [#rc_ipe_08_ec_ng_202509] ([voucher_id] NVARCHAR(2) COLLATE DATABASE_DEFAULT, "
                      "[amount] NUMERIC(18, 2), [note] NVARCHAR(MAX) COLLATE DATABASE_DEFAULT, [ok] BIT)")
    assert insert == "INSERT INTO [#rc_ipe_08_ec_ng_202509] ([voucher_id], [amount], [note], [ok]) VALUES (?, ?, ?, ?)"
    parsed = sqlglot.parse_one(create, read="tsql")
    collations = {c.name: [k.kind.this.name for k in c.constraints] for c in parsed.find_all(exp.ColumnDef)}
    assert collations == {"voucher_id": ["DATABASE_DEFAULT"], "amount": [], "note": ["DATABASE_DEFAULT"], "ok": []}
    assert target.sql("tsql") == "[#rc_ipe_08_ec_ng_202509]"


def test_the_postgresql_stand_in_creates_plain_temporary_tables():
    from soxauto.engines.capability import PostgresOverOdbc
    from soxauto.engines.mssql import temporary_table

    create, _ = temporary_table("x", EXTRACT, PostgresOverOdbc)
    assert "COLLATE" not in create and create.startswith('CREATE TEMPORARY TABLE "x" ("voucher_id" VARCHAR(2)')


def test_a_temporary_table_name_sql_server_cannot_hold_is_refused(monkeypatch, nav):
    engine = opened(monkeypatch, nav, Connection(("15.0.2000.5", 3)))
    with pytest.raises(UsageError, match="temporary table name '#r{116}' is 117 characters long; SQL Server takes at most 116"):
        engine.register("r" * 116, EXTRACT)

