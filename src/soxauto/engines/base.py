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
