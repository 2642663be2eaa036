"""The embedded engine: DuckDB over a folder of Parquet or CSV files per logical table."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import duckdb
from sqlglot import exp

from ..errors import EngineError, LakeContractError
from ..lake.binding import Binding, TableBinding
from ..lake.contract import contract
from .base import QueryResult, Stream
from .capability import DuckDB
from .render import Renderer


# Parsed statements kept per connection: an item's test statement, its parts and samples.
PARSED_CACHE = 1024


def _failed(error: Exception, sql: str) -> EngineError:
    return EngineError(f"DuckDB failed: {error}\n--- SQL ---\n{sql}")


class _Batches:
    """A DuckDB record batch reader whose errors (raised while batches are produced) are
    engine errors naming the SQL, like a failed ``run``."""

    def __init__(self, reader, sql: str):
        self._reader, self._sql = reader, sql
        self.schema = reader.schema

    def __iter__(self):
        while True:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                return
            except (duckdb.Error, OSError) as e:
                raise _failed(e, self._sql) from None
            yield batch

    def close(self) -> None:
        self._reader.close()


def table_files(tb: TableBinding) -> tuple[str, list[Path]]:
    """The format and files of one bound table; an error names the table and folder."""
    folder = Path(tb.location)
    if not folder.is_dir():
        raise LakeContractError(f"{tb.logical}: folder {folder} does not exist")
    formats = [tb.format] if tb.format else ["parquet", "csv"]
    for fmt in formats:
        files = sorted(folder.glob(f"*.{fmt}"))
        if files:
            return fmt, files
    raise LakeContractError(f"{tb.logical}: no {' or '.join(formats)} files in {folder}")


class DuckDBEngine:
    name = "duckdb"
    dialect = "duckdb"

    def __init__(self, binding: Binding, *, threads: int | None = None, memory_limit: str | None = None):
        self.binding = binding
        self._renderer = Renderer(DuckDB, binding, self.source, positional=False)
        self._views: set[str] = set()  # registered names that are views over spooled Parquet files
        self._parsed: dict[str, Any] = {}  # SQL text -> DuckDB's parsed statement (see rows)
        config: dict[str, object] = {}
        if threads:
            config["threads"] = int(threads)
        if memory_limit:
            config["memory_limit"] = _safe_size(memory_limit)
        try:
            self._con = duckdb.connect(":memory:", config=config)
            # Every item and test of an entity reads the same Parquet files: keep their footers
            # in memory instead of re-reading them per statement (the setting needs the parquet
            # extension loaded first).
            self._con.execute("LOAD parquet")
            self._con.execute("SET parquet_metadata_cache = true")
        except duckdb.Error as e:
            raise EngineError(f"DuckDB could not start: {e}") from None

    def version(self) -> str:
        return duckdb.__version__

    def source(self, tb: TableBinding) -> exp.Expression:
        fmt, files = table_files(tb)
        glob = exp.Literal.string(str(Path(tb.location) / f"*.{fmt}"))
        if fmt == "parquet":
            return exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[glob]))
        spec = contract().table(tb.logical)
        types = exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.to_identifier(tb.physical_column(c.name), quoted=True), expression=exp.Literal.string(c.sql_type))
                for c in spec.columns
            ]
        )
        args = [glob, _named("header", exp.true()), _named("types", types)]
        return exp.Table(this=exp.Anonymous(this="read_csv", expressions=args))

    def render(self, query: exp.Expression, params: Mapping[str, Any]) -> tuple[str, Any]:
        return self._renderer.render(query, params)

    def run(self, query: exp.Expression, params: Mapping[str, Any]) -> QueryResult:
        sql, bound = self.render(query, params)
        started = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        try:
            table = self._con.sql(sql, params=bound).to_arrow_table() if bound else self._con.sql(sql).to_arrow_table()
        except duckdb.Error as e:
            raise _failed(e, sql) from None
        return QueryResult(
            table=table,
            sql=sql,
            parameters=bound,
            engine=self.name,
            engine_version=self.version(),
            execution_id=str(uuid.uuid4()),
            started_at=started,
            elapsed_seconds=time.perf_counter() - t0,
        )

    def rows(self, query: exp.Expression, params: Mapping[str, Any]) -> tuple[list[dict], str]:
        """A small result as Python rows. DuckDB's own fetch, not the Arrow relation ``run``
        uses: a relation binds its statement once more before running it, which for a test's
        one-row answer costs as much as the answer (measured: the C&A statements of a period
        run in 77 % of the time). Values are those of ``run``'s table: a HUGEINT (the SUM of
        integers) comes back as the Decimal Arrow's decimal128(38, 0) gives, not as an int."""
        sql, bound = self.render(query, params)
        try:
            statement = self._parse(sql)
            cursor = self._con.execute(statement, bound) if bound else self._con.execute(statement)
            names = [d[0] for d in cursor.description]
            huge = [k for k, d in enumerate(cursor.description) if str(d[1]) in ("HUGEINT", "UHUGEINT")]
            fetched = cursor.fetchall()
        except duckdb.Error as e:
            raise _failed(e, sql) from None
        out = []
        for row in fetched:
            values = list(row)
            for k in huge:
                if values[k] is not None:
                    values[k] = Decimal(values[k])
            out.append(dict(zip(names, values)))
        return out, sql

    def _parse(self, sql: str):
        """DuckDB's parsed statement for ``sql``, parsed once per connection: an item's test
        statement is the same text for every entity (only the bound values differ), and
        executing the parsed statement skips DuckDB's parser and its script handling, about
        1 ms of a small statement's 3-5 ms. Binding and planning still happen on every
        execution, against the tables registered at that time."""
        statement = self._parsed.get(sql)
        if statement is None:
            parsed = self._con.extract_statements(sql)
            if len(parsed) != 1:
                return sql  # not one statement: let execute() report or run it as it is
            if len(self._parsed) >= PARSED_CACHE:
                self._parsed.clear()
            statement = self._parsed[sql] = parsed[0]
        return statement

    def stream(self, query: exp.Expression, params: Mapping[str, Any], batch_rows: int) -> Stream:
        """The result in record batches of ``batch_rows``: DuckDB produces them as they are
        read, so a large extract is never whole in Python's memory (DuckDB's own, for a sort,
        is bounded by ``memory_limit`` and spills to disk)."""
        sql, bound = self.render(query, params)
        started = datetime.now(timezone.utc)
        t0 = time.perf_counter()
        try:
            relation = self._con.sql(sql, params=bound) if bound else self._con.sql(sql)
            reader = relation.to_arrow_reader(batch_rows)
        except duckdb.Error as e:
            raise _failed(e, sql) from None
        return Stream(_Batches(reader, sql), sql=sql, parameters=bound, engine=self.name, engine_version=self.version(),
                      execution_id=str(uuid.uuid4()), started_at=started, t0=t0)

    def register(self, name: str, table) -> exp.Table:
        """Expose an extract to later queries as ``name``: an Arrow table zero-copy; a spooled
        extract (an Arrow dataset of Parquet files) as a view over DuckDB's own Parquet reader,
        which streams it within ``memory_limit``. (Measured on the largest scale-10 extract:
        its tests run 4x faster on the view than after loading it into a DuckDB table, and the
        reconciliation 1.5x, since each statement reads only the columns it needs.)"""
        files = getattr(table, "files", None)
        if files is None:
            self._con.register(name, table)
        else:
            try:
                self._con.read_parquet(list(files)).create_view(name)
            except duckdb.Error as e:
                raise EngineError(f"DuckDB could not read {', '.join(files)} as {name}: {e}") from None
            self._views.add(name)
        return exp.to_table(name)

    def unregister(self, name: str) -> None:
        if name in self._views:
            self._views.discard(name)
            self._con.execute(DuckDB.generate(exp.Drop(tables=[exp.to_table(name)], kind="VIEW", exists=True)))
        else:
            self._con.unregister(name)

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> "DuckDBEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _named(name: str, value: exp.Expression) -> exp.Expression:
    return exp.EQ(this=exp.column(name), expression=value)


def _safe_size(text: str) -> str:
    import re

    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text.strip()):
        raise EngineError(f"memory limit '{text}' is not a size like '4GiB'")
    return text.strip()
