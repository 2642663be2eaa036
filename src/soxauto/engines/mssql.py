"""SQL Server through ODBC (pyodbc): T-SQL text, ``?`` parameters, DECIMAL kept as Decimal.

The physical names of the NAV data warehouse have spaces and need brackets
(``[AIG_Nav_DW].[dbo].[G_L Entries]``, ``[Entry No_]``); the binding gives them as written and
sqlglot quotes them, so no name is ever glued into SQL text by hand.

Where the connection comes from, strongest first: the ``connection`` option, the
``mssql_connection`` setting (``SOXAUTO_MSSQL_CONNECTION``, a full ODBC string, environment
only because it may hold a password), the binding file's ``connection`` block (``dsn``, or
``driver`` + ``server`` + ``database``, plus ``options``). The login (UID/PWD), when the string
has none: the AWS Secrets Manager secret the block names (``credentials: {secrets_manager:
{secret_id: ...}}``, ``aws.secrets``; re-read once when the server refuses the login, and after
``max_age_seconds``), else ``SOXAUTO_MSSQL_USER`` and ``SOXAUTO_MSSQL_PASSWORD``. The connection
string is never logged or put in an error; ``masked`` shows it with the password hidden.

``dialect`` is ``"tsql"`` in production: SQL Server 2019 or later, checked when the connection
opens, with every statement rewritten for what 2019 can say (``capability.SqlServer``).
``"postgres"`` exists so the driver plumbing (placeholders, Decimal, the binding's quoting,
temporary tables) can be tested for real through pyodbc against a local PostgreSQL: only the
SQL text differs (``capability.PostgresOverOdbc``, which has no version floor).
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from datetime import date, datetime, timezone
from datetime import time as clock
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..aws.secrets import DatabaseLogin, SecretSource, SecretSpec
from ..errors import BindingError, EngineError, UsageError
from ..lake.binding import Binding, TableBinding
from .base import QueryResult
from .capability import Capabilities, PostgresOverOdbc, SqlServer
from .render import Renderer

log = logging.getLogger(__name__)

ENV_CONNECTION, ENV_USER, ENV_PASSWORD = "SOXAUTO_MSSQL_CONNECTION", "SOXAUTO_MSSQL_USER", "SOXAUTO_MSSQL_PASSWORD"
QUERY_TIMEOUT, LOGIN_TIMEOUT, BATCH_ROWS = 3600, 30, 50_000
# SQLSTATEs of a statement stopped by its timeout: ODBC's own, and PostgreSQL's query_canceled.
TIMEOUT_STATES = ("HYT00", "HYT01", "57014")
# A refused login: ODBC's "invalid authorization specification" (SQL Server's error 18456
# arrives with it), and PostgreSQL's invalid_password / invalid_authorization_specification.
LOGIN_STATES = ("28000", "28P01")
_SECRET = re.compile(r"((?:^|;)\s*(?:PWD|PASSWORD)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)", re.IGNORECASE)
_PART = re.compile(r"\[((?:[^\]]|\]\])+)\]|([^.\[\]]+)")


# The production dialect, and the PostgreSQL stand-in of the ODBC tests (docs/sqlserver.md).
DIALECTS: Mapping[str, type[Capabilities]] = {"tsql": SqlServer, "postgres": PostgresOverOdbc}
# Editions that are always the current engine and report a fixed ProductVersion (12.x):
# Azure SQL Database (5) and Azure SQL Managed Instance (8).
EVERGREEN_EDITIONS = (5, 8)
YEARS = {11: 2012, 12: 2014, 13: 2016, 14: 2017, 15: 2019, 16: 2022, 17: 2025}
_PRODUCT = exp.select(
    exp.alias_(exp.cast(exp.Anonymous(this="SERVERPROPERTY", expressions=[exp.Literal.string("ProductVersion")]),
                        exp.DataType.build("NVARCHAR(128)", dialect="tsql")), "product_version"),
    exp.alias_(exp.cast(exp.Anonymous(this="SERVERPROPERTY", expressions=[exp.Literal.string("EngineEdition")]),
                        exp.DataType.build("INT")), "engine_edition"))


def physical_name(location: str, logical: str = "") -> exp.Table:
    """``[AIG_Nav_DW].[dbo].[G_L Entries]`` or ``AIG_Nav_DW.dbo.G_L Entries`` as a quoted table."""
    text, parts, pos = location.strip(), [], 0
    while (m := _PART.match(text, pos)) is not None:
        parts.append(m.group(1).replace("]]", "]") if m.group(1) is not None else m.group(2).strip())
        pos = m.end()
        if pos == len(text) or text[pos] != ".":
            break
        pos += 1
    if not parts or pos != len(text) or text.endswith(".") or len(parts) > 3 or not all(parts):
        raise BindingError(f"{logical or 'table'}: location '{location}' is not a SQL Server name; write "
                           "[database].[schema].[table] (brackets around names with spaces or dots)")
    names = [exp.to_identifier(p, quoted=True) for p in parts]
    return exp.Table(this=names[-1], db=names[-2] if len(names) > 1 else None,
                     catalog=names[-3] if len(names) > 2 else None)


def _odbc_value(value: str) -> str:
    # ODBC: a value holding ';', '{' or '}' or spaces at its ends goes in braces, '}' doubled.
    if re.search(r"[;{}]", value) or value != value.strip():
        return "{" + value.replace("}", "}}") + "}"
    return value


def connection_string(spec: str | Mapping[str, Any], environ: Mapping[str, str] | None = None,
                      login: DatabaseLogin | None = None) -> str:
    """The ODBC string for a full string or a binding's ``connection`` block. The login, when
    the string carries none: ``login`` (read from the block's secret, whose host, port and
    dbname also fill a missing server and database), else UID/PWD from the environment."""
    env = os.environ if environ is None else environ
    if isinstance(spec, str):
        text = spec.strip().rstrip(";")
    else:
        pairs: list[tuple[str, Any]] = []
        if spec.get("dsn"):
            pairs.append(("DSN", spec["dsn"]))
        else:
            server, database = spec.get("server"), spec.get("database")
            if login is not None and not server and login.host:
                server = login.host + (f",{login.port}" if login.port else "")
            if login is not None and not database and login.dbname:
                database = login.dbname
            found = {"driver": spec.get("driver"), "server": server, "database": database}
            missing = [k for k, v in found.items() if not v]
            if missing:
                raise UsageError(f"mssql connection: give dsn, or driver, server and database (missing: {', '.join(missing)})")
            pairs += [("DRIVER", found["driver"]), ("SERVER", server), ("DATABASE", database)]
        pairs += list((spec.get("options") or {}).items())
        text = ";".join(f"{k}={_odbc_value(str(v))}" for k, v in pairs)
    keys = {k.strip().upper() for k, _, _ in (p.partition("=") for p in text.split(";")) if k.strip()}
    user, password = (login.username, login.password) if login is not None else (env.get(ENV_USER), env.get(ENV_PASSWORD))
    if user and "UID" not in keys:
        text += f";UID={_odbc_value(user)}"
    if password and not keys & {"PWD", "PASSWORD"}:
        text += f";PWD={_odbc_value(password)}"
    return text


def masked(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "****", text)


def arrow_type(column: Sequence[Any]) -> pa.DataType:
    """The Arrow type of one ``cursor.description`` entry; DECIMAL keeps precision and scale."""
    name, code, _, _, precision, scale = column[:6]
    if code is Decimal:
        if not precision or precision > 38:
            raise EngineError(f"column '{name}': DECIMAL({precision}, {scale}) does not fit decimal128; "
                              "CAST it to DECIMAL(38, s) in the query")
        return pa.decimal128(int(precision), int(scale or 0))
    types = {str: pa.string(), int: pa.int64(), bool: pa.bool_(), date: pa.date32(),
             datetime: pa.timestamp("us"), clock: pa.time64("us"), float: pa.float64(),
             bytes: pa.binary(), bytearray: pa.binary()}
    if code in types:
        return types[code]
    return pa.string()  # uuid and other driver types: their text form


def to_arrow(description: Sequence[Sequence[Any]], batches) -> pa.Table:
    schema = pa.schema([pa.field(c[0], arrow_type(c)) for c in description])
    out = []
    for rows in batches:
        columns = list(zip(*rows)) if rows else [() for _ in schema]
        try:
            out.append(pa.record_batch([pa.array(list(col), type=f.type) for col, f in zip(columns, schema)], schema=schema))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
            raise EngineError(f"a value does not fit its column type ({e}); CAST the column in the query") from None
    return pa.Table.from_batches(out, schema=schema)


class MssqlEngine:
    name = "mssql"

    def __init__(self, binding: Binding, *, connection: str | Mapping[str, Any] | None = None,
                 dialect: str = "tsql", query_timeout: int | None = None, login_timeout: int = LOGIN_TIMEOUT,
                 fast_executemany: bool = True, environ: Mapping[str, str] | None = None,
                 connect: Callable[..., Any] | None = None, secret: SecretSource | None = None):
        """``connect`` opens the ODBC connection (``pyodbc.connect``; tests give a stand-in);
        ``secret`` reads the login (default: the binding's ``credentials`` block, if any)."""
        if dialect not in DIALECTS:
            raise UsageError(f"mssql engine: dialect '{dialect}' is not one of {', '.join(DIALECTS)}")
        self.binding, self.dialect = binding, dialect
        self.caps = DIALECTS[dialect]
        self._environ = os.environ if environ is None else environ
        self._spec = connection
        self._connect = connect
        raw = binding.connection.get("credentials")
        self._secret = secret or (SecretSource(SecretSpec.parse(raw, f"binding {binding.name}: connection"))
                                  if raw is not None else None)
        self.query_timeout = int(query_timeout or binding.connection.get("query_timeout") or QUERY_TIMEOUT)
        self.login_timeout, self.fast_executemany = int(login_timeout), fast_executemany
        try:
            self._tables = {tb.logical: physical_name(tb.location, tb.logical) for tb in binding.tables.values()}
        except BindingError as e:
            raise BindingError(f"binding {binding.name}: {e}") from None
        self._renderer = Renderer(self.caps, binding, self.source, positional=True)
        self._con = None
        self._version: str | None = None
        self._temporary: set[str] = set()

    # -- connection ---------------------------------------------------------------------------

    def _connection_text(self) -> str:
        return self._login_text()[0]

    def _login_text(self, *, fresh: bool = False) -> tuple[str, DatabaseLogin | None]:
        """The ODBC string and the login from the secret it carries (None without a secret)."""
        spec = self._spec or self._environ.get(ENV_CONNECTION) or dict(self.binding.connection)
        if not spec:
            raise UsageError(f"no SQL Server connection for binding '{self.binding.name}': add a connection block "
                             f"to the binding (dsn, or driver, server and database) or set {ENV_CONNECTION}")
        login = self._secret.login(fresh=fresh) if self._secret is not None else None
        return connection_string(spec, self._environ, login), login

    def connection(self):
        """The open pyodbc connection (opened on first use: rendering needs none). A login the
        server refuses is read again from its secret, once, and tried again if it changed (a
        rotation since it was read)."""
        if self._con is None:
            import pyodbc

            text, used = self._login_text()
            try:
                self._con = self._open(text)
            except pyodbc.Error as e:
                if self._secret is None or not _login_refused(e):
                    raise EngineError(f"cannot connect to {self._where(text)}: {_message(e)}") from None
                text, current = self._login_text(fresh=True)
                if current == used:
                    raise EngineError(f"cannot connect to {self._where(text)}: {_message(e)} (the login of secret "
                                      f"{self._secret.spec.secret_id} has not changed since it was read)") from None
                log.info("%s refused the login of secret %s; trying its current version %s", self._where(text),
                         self._secret.spec.secret_id, current.version_id or "unknown")
                try:
                    self._con = self._open(text)
                except pyodbc.Error as e2:
                    raise EngineError(f"cannot connect to {self._where(text)}: {_message(e2)}") from None
            try:
                self._con.timeout = self.query_timeout
            except pyodbc.Error:
                # psqlODBC has no connection-level query timeout; SQL Server's driver has.
                log.warning("the ODBC driver of %s has no query timeout; queries run without one", self._where(text))
            try:
                self._check_version(self._where(text))
            except Exception:
                self._con.close()
                self._con = None
                raise
        return self._con

    def _open(self, text: str):
        if self._connect is None:
            import pyodbc

            return pyodbc.connect(text, autocommit=True, timeout=self.login_timeout)
        return self._connect(text, autocommit=True, timeout=self.login_timeout)

    def _check_version(self, where: str) -> None:
        """Refuse a server older than the dialect's floor (SQL Server 2019): the rendering
        relies on it, and a too old server would fail later, statement by statement."""
        floor = self.caps.min_server_version
        if floor is None:
            return  # the PostgreSQL stand-in of the tests is no SQL Server: nothing to check
        import pyodbc

        cursor = self._con.cursor()
        try:
            row = cursor.execute(self.caps.generate(_PRODUCT)).fetchone()
            version, edition = (str(row[0] or ""), row[1]) if row is not None else ("", None)
        except pyodbc.Error:
            # Not answered (a server that is not SQL Server): the driver's SQL_DBMS_VER, which
            # ODBC defines as '##.##.####' and Microsoft's driver fills with the same version.
            version, edition = str(self._con.getinfo(pyodbc.SQL_DBMS_VER) or ""), None
        finally:
            cursor.close()
        major = version.strip().split(".", 1)[0]
        if edition in EVERGREEN_EDITIONS:
            return
        if not major.isdigit():
            raise EngineError(f"{where} reported the version '{version}', which is not a SQL Server version")
        if int(major) < floor:
            year = YEARS.get(int(major))
            raise UsageError(f"{where} runs SQL Server {version}{f' ({year})' if year else ''}; SOXauto needs SQL "
                             f"Server {YEARS[floor]} (version {floor}) or later. Upgrade the server, or bind the "
                             "NAV tables of a newer one")

    @staticmethod
    def _where(text: str) -> str:
        keys = dict((k.strip().upper(), v) for k, _, v in (p.partition("=") for p in text.split(";")))
        if keys.get("DSN"):
            return f"DSN {keys['DSN']}"
        return f"server {keys.get('SERVER', '?')}, database {keys.get('DATABASE', '?')}"

    def version(self) -> str:
        if self._version is None:
            con = self.connection()
            import pyodbc

            text = None
            if self.caps.version_statement:
                statement = sqlglot.parse_one(self.caps.version_statement, read=self.caps.dialect)
                try:
                    text = con.cursor().execute(self.caps.generate(statement)).fetchval()
                except pyodbc.Error:
                    text = None
            if not text:
                text = f"{con.getinfo(pyodbc.SQL_DBMS_NAME)} {con.getinfo(pyodbc.SQL_DBMS_VER)}"
            self._version = " ".join(str(text).split())
        return self._version

    # -- queries -------------------------------------------------------------------------------

    def source(self, tb: TableBinding) -> exp.Expression:
        return self._tables[tb.logical].copy()

    def render(self, query: exp.Expression, params: Mapping[str, Any]) -> tuple[str, Any]:
        return self._renderer.render(query, params)

    def run(self, query: exp.Expression, params: Mapping[str, Any]) -> QueryResult:
        sql, bound = self.render(query, params)
        version = self.version()
        started = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        table = self._fetch(sql, bound)
        return QueryResult(table=table, sql=sql, parameters=bound, engine=self.name, engine_version=version,
                           execution_id=str(uuid.uuid4()), started_at=started,
                           elapsed_seconds=time.perf_counter() - t0)

    def _fetch(self, sql: str, bound: list[Any]) -> pa.Table:
        import pyodbc

        cursor = self.connection().cursor()
        try:
            cursor.execute(sql, *bound) if bound else cursor.execute(sql)
            if cursor.description is None:
                raise EngineError(f"the query returned no result set\n--- SQL ---\n{sql}")
            description = cursor.description

            def batches():
                while rows := cursor.fetchmany(BATCH_ROWS):
                    yield rows

            return to_arrow(description, list(batches()) or [[]])
        except pyodbc.Error as e:
            raise self._error(e, sql) from None
        finally:
            cursor.close()

    def _error(self, e: Exception, sql: str) -> EngineError:
        state = e.args[0] if e.args and isinstance(e.args[0], str) else ""
        if state in TIMEOUT_STATES:
            return EngineError(f"SQL Server query timed out after {self.query_timeout} s (query_timeout in the "
                               f"binding's connection block raises it)\n--- SQL ---\n{sql}")
        return EngineError(f"SQL Server failed: {_message(e)}\n--- SQL ---\n{sql}")

    # -- extracts as temporary tables ------------------------------------------------------------

    def register(self, name: str, table: pa.Table) -> exp.Table:
        """Copy an extract into a session temporary table (``#name`` on SQL Server), so later
        statements of this engine can join it with the bound tables."""
        create, insert = temporary_table(name, table, self.caps)
        rows = list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns))))
        self.unregister(name)
        cursor = self.connection().cursor()
        try:
            cursor.execute(create)
            self._temporary.add(name)
            if rows:
                cursor.fast_executemany = self.fast_executemany
                cursor.executemany(insert, rows)
        except Exception as e:  # pyodbc.Error, or a value the driver cannot bind
            raise EngineError(f"cannot register '{name}' as a temporary table: {_message(e)}") from None
        finally:
            cursor.close()
        return temporary_name(name, self.caps)

    def unregister(self, name: str) -> None:
        if name not in self._temporary or self._con is None:
            return
        drop = exp.Drop(kind="TABLE", exists=True, tables=[temporary_name(name, self.caps)])
        self._con.cursor().execute(self.caps.generate(drop)).close()
        self._temporary.discard(name)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> "MssqlEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def temporary_name(name: str, caps: type[Capabilities]) -> exp.Table:
    """The session temporary table ``name`` (``[#name]`` on SQL Server)."""
    caps.check_temporary_name(caps.temporary_prefix + name)
    return exp.Table(this=exp.Identifier(this=name, quoted=True, temporary=bool(caps.temporary_prefix)))


def temporary_table(name: str, table: pa.Table, caps: type[Capabilities]) -> tuple[str, str]:
    """The CREATE of a session temporary table for ``table`` and the INSERT that fills it (one
    ``?`` per column). Text columns take the database's collation where the dialect asks for it:
    tempdb's may differ from the data warehouse's, and a join would then fail (Msg 468)."""
    target = temporary_name(name, caps)
    columns = []
    for f in table.schema:
        kind = column_type(f, table.column(f.name), caps)
        constraints = []
        if caps.temporary_text_collation and kind.is_type(*exp.DataType.TEXT_TYPES):
            collate = exp.CollateColumnConstraint(this=exp.var(caps.temporary_text_collation))
            constraints.append(exp.ColumnConstraint(kind=collate))
        columns.append(exp.ColumnDef(this=exp.to_identifier(f.name, quoted=True), kind=kind, constraints=constraints))
    create = exp.Create(kind="TABLE", this=exp.Schema(this=target.copy(), expressions=columns),
                        properties=exp.Properties(expressions=[exp.TemporaryProperty()]))
    insert = exp.insert(exp.Values(expressions=[exp.tuple_(*(exp.Placeholder() for _ in table.schema))]),
                        target.copy(), columns=[exp.to_identifier(f.name, quoted=True) for f in table.schema])
    return caps.generate(create), caps.generate(insert)


def column_type(field: pa.Field, values: pa.ChunkedArray, dialect: str | type[Capabilities]) -> exp.DataType:
    """The SQL type of a registered column: DECIMAL keeps precision and scale exactly."""
    caps = DIALECTS[dialect] if isinstance(dialect, str) else dialect
    t = field.type
    if pa.types.is_decimal(t):
        return exp.DataType.build(f"DECIMAL({t.precision}, {t.scale})")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        longest = max((len(v) for v in values.to_pylist() if v is not None), default=1)
        if longest > 4000:
            return exp.DataType.build(caps.long_text_type, dialect="tsql")
        return exp.DataType.build(f"{caps.text_type}({max(longest, 1)})")
    simple = [(pa.types.is_boolean, "BOOLEAN"), (pa.types.is_integer, "BIGINT"), (pa.types.is_date, "DATE"),
              (pa.types.is_timestamp, "TIMESTAMP"), (pa.types.is_floating, "DOUBLE")]
    for test, sql_type in simple:
        if test(t):
            return exp.DataType.build(sql_type)
    raise EngineError(f"column '{field.name}' of type {t} cannot be registered on SQL Server; CAST it in the query")


def _login_refused(e: Exception) -> bool:
    state = e.args[0] if e.args and isinstance(e.args[0], str) else ""
    return state in LOGIN_STATES or "18456" in str(e)


def _message(e: Exception) -> str:
    text = str(e.args[1]) if len(e.args) > 1 else str(e)
    return masked(" ".join(text.split()))

