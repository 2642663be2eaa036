"""The engine protocol and the result every engine returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Protocol, Sequence

import pyarrow as pa
from sqlglot import exp


@dataclass(frozen=True)
class QueryResult:
    """What ran and what came back. ``sql`` is the exact text sent to the engine and
    ``parameters`` the values bound by its driver (a mapping for named, a sequence for
    positional placeholders)."""

    table: pa.Table
    sql: str
    parameters: Mapping[str, Any] | Sequence[Any]
    engine: str
    engine_version: str
    execution_id: str
    started_at: datetime
    elapsed_seconds: float


class Stream:
    """A query's result arriving in record batches (``reader``); ``result`` gives the
    QueryResult once the batches are consumed, timed to the end of the stream. Engines that
    can stream offer ``stream(query, params, batch_rows) -> Stream``; it is optional."""

    def __init__(self, reader, *, sql: str, parameters, engine: str, engine_version: str, execution_id: str,
                 started_at: datetime, t0: float, on_close=None):
        self.reader, self.sql, self.parameters = reader, sql, parameters
        self.engine, self.engine_version, self.execution_id = engine, engine_version, execution_id
        self.started_at, self._t0, self._on_close = started_at, t0, on_close

    def result(self, table: pa.Table) -> QueryResult:
        import time

        return QueryResult(table, self.sql, self.parameters, self.engine, self.engine_version, self.execution_id,
                           self.started_at, time.perf_counter() - self._t0)

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.reader.close()
        finally:
            if self._on_close is not None:
                self._on_close()


class Engine(Protocol):
    name: str
    dialect: str

    def version(self) -> str: ...

    def render(self, query: exp.Expression, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL text and driver parameters this engine would run for ``query``."""
        ...

    def run(self, query: exp.Expression, params: Mapping[str, Any]) -> QueryResult: ...

    def register(self, name: str, table: pa.Table) -> exp.Table:
        """Make an extract queryable by later statements of this engine, as table ``name``."""
        ...

    def unregister(self, name: str) -> None: ...

    def close(self) -> None: ...


def rows(engine: Engine, query: exp.Expression, params: Mapping[str, Any]) -> tuple[list[dict], str]:
    """A small result (a test's one-row answer, a sample) as Python rows, and the SQL run. An
    engine may offer a faster ``rows`` of its own; the values must be those of ``run``'s table."""
    own = getattr(engine, "rows", None)
    if own is not None:
        return own(query, params)
    result = engine.run(query, params)
    return result.table.to_pylist(), result.sql
