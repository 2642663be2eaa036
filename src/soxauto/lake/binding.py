"""Bindings: where each logical table physically lives for one environment.

A binding maps every logical table of the source contract to a physical location and, where
physical column names differ, maps logical column -> physical column. Catalog queries never
change: the engine substitutes each logical table with a projection of its physical source that
renames the columns back to their logical names (see ``engines.render.bind_tables``).

Binding file (YAML)::

    engine: duckdb            # duckdb | athena | mssql
    root: .                   # duckdb only: folder the locations are relative to (to this file)
    tables:
      nav.gl_entries:
        location: NAV/G_L Entries     # duckdb: a folder of Parquet or CSV files
        format: parquet               # duckdb only; detected from the files when omitted
        columns: {entry_no: "Entry No_", posting_date: "Posting Date"}

Tables a file does not list use the default location ``<root>/<schema>/<table>``.

A SQL Server binding names each table by its (up to three-part) physical name and may carry a
``connection`` block (``dsn``, or ``driver`` + ``server`` + ``database``, plus ODBC ``options``);
credentials never go in the file: it may name the AWS Secrets Manager secret that holds them
(``credentials``, see ``aws.secrets`` and ``engines.mssql``)::

    engine: mssql
    connection:
      driver: ODBC Driver 18 for SQL Server
      server: "nav-dw,1433"
      database: AIG_Nav_DW
      credentials: {secrets_manager: {secret_id: prod/soxauto/nav-dw, region: eu-west-1}}
    tables:
      nav.gl_entries:
        location: "[AIG_Nav_DW].[dbo].[G_L Entries]"
        columns: {entry_no: "Entry No_"}

An Athena binding names each table as Glue ``database.table``; its ``connection`` block holds
``region``, ``workgroup``, ``output`` and the other settings of ``engines.athena``::

    engine: athena
    connection: {region: eu-west-1, workgroup: soxauto, output: "s3://acme-athena-results/soxauto/"}
    tables:
      nav.gl_entries:
        location: process_central_fin_dwh.nav_gl_entries
        columns: {entry_no: entry_no_}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .. import yamlfile
from ..errors import BindingError, Problem, did_you_mean
from .contract import contract

ENGINES = ("duckdb", "athena", "mssql")
FORMATS = ("parquet", "csv")
# An Athena binding names each table as Glue ``database.table`` (engines.athena; soxauto lake map).
GLUE_TABLE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Connection keys that would put a credential in a file that gets copied and committed.
SECRET_KEYS = ("pwd", "password")


@dataclass(frozen=True)
class TableBinding:
    logical: str
    location: str
    format: str | None = None
    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def physical_column(self, logical_column: str) -> str:
        return self.columns.get(logical_column, logical_column)


@dataclass(frozen=True)
class Binding:
    engine: str
    tables: Mapping[str, TableBinding]
    name: str = "default"
    connection: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def table(self, logical: str) -> TableBinding:
        try:
            return self.tables[logical]
        except KeyError:
            raise BindingError(
                f"binding '{self.name}' does not map logical table '{logical}'"
                f"{did_you_mean(logical, self.tables)}"
            ) from None


def lake_binding(lake: str | Path) -> Binding:
    """The default embedded binding: ``<lake>/<schema>/<table>/*.parquet`` (or ``*.csv``)."""
    root = Path(lake).resolve()
    tables = {
        t.qualified: TableBinding(t.qualified, str(root / t.schema / t.name)) for t in contract().tables
    }
    return Binding("duckdb", MappingProxyType(tables), name=f"lake:{root}")


def load_binding(path: str | Path) -> Binding:
    path = Path(path)
    try:
        raw = yamlfile.load(path.read_text("utf-8")) or {}
    except (OSError, yamlfile.YAMLError) as e:
        raise BindingError(f"{path}: cannot read binding: {e}") from None
    problems: list[Problem] = []
    engine = raw.get("engine", "duckdb")
    if engine not in ENGINES:
        problems.append(Problem(str(path), f"unknown engine '{engine}'{did_you_mean(engine, ENGINES)}"))
    root = (path.parent / raw.get("root", ".")).resolve()
    known = contract()
    listed = raw.get("tables") or {}
    tables: dict[str, TableBinding] = {}
    for logical, spec in listed.items():
        if logical not in known.names:
            problems.append(Problem(str(path), f"'{logical}' is not a logical table{did_you_mean(logical, known.names)}"))
            continue
        spec = spec or {}
        columns = dict(spec.get("columns") or {})
        table = known.table(logical)
        for col in columns:
            if col not in table.column_names:
                problems.append(Problem(str(path), f"{logical} has no column '{col}'{did_you_mean(col, table.column_names)}"))
        fmt = spec.get("format")
        if fmt is not None and fmt not in FORMATS:
            problems.append(Problem(str(path), f"{logical}: unknown format '{fmt}'{did_you_mean(fmt, FORMATS)}"))
        location = str(spec.get("location") or f"{table.schema}/{table.name}")
        if engine == "duckdb":
            location = str((root / location).resolve())
        elif engine == "athena" and not GLUE_TABLE.fullmatch(location):
            problems.append(Problem(str(path), f"{logical}: location '{location}' is not a Glue table "
                                               "'database.table' (for example process_central_fin_dwh.nav_gl_entries)"))
        tables[logical] = TableBinding(logical, location, fmt, MappingProxyType(columns))
    for t in known.tables:
        if t.qualified not in tables:
            default = str(root / t.schema / t.name) if engine == "duckdb" else f"{t.schema}.{t.name}"
            tables[t.qualified] = TableBinding(t.qualified, default)
    connection = _connection(raw.get("connection"), str(path), problems)
    if problems:
        raise BindingError(f"binding {path} is not valid", problems)
    return Binding(engine, MappingProxyType(tables), name=str(path), connection=connection)


def _connection(raw, where: str, problems: list[Problem]) -> Mapping[str, object]:
    if raw is None:
        return MappingProxyType({})
    if not isinstance(raw, dict):
        problems.append(Problem(where, "connection must be a mapping (dsn, or driver, server and database)"))
        return MappingProxyType({})
    options = raw.get("options") or {}
    for key in [*raw, *(options if isinstance(options, dict) else {})]:
        if str(key).lower() in SECRET_KEYS:
            problems.append(Problem(where, f"connection: '{key}' does not belong in a binding file; "
                                           "set SOXAUTO_MSSQL_PASSWORD in the environment, or name an AWS Secrets "
                                           "Manager secret (credentials: {secrets_manager: {secret_id: ...}})"))
    if "credentials" in raw:
        from ..aws.secrets import SecretSpec
        from ..errors import UsageError

        try:
            SecretSpec.parse(raw["credentials"], "connection")
        except UsageError as e:
            problems.append(Problem(where, str(e)))
    return MappingProxyType(dict(raw))
