"""Query engines. Domain code uses the ``Engine`` protocol; ``connect`` picks the implementation."""

from __future__ import annotations

from ..lake.binding import Binding
from .base import Engine, QueryResult

__all__ = ["Engine", "QueryResult", "connect"]


def connect(binding: Binding, **options) -> Engine:
    if binding.engine == "duckdb":
        from .duckdb import DuckDBEngine

        return DuckDBEngine(binding, **options)
    if binding.engine == "mssql":
        from .mssql import MssqlEngine

        return MssqlEngine(binding, **options)
    if binding.engine == "athena":
        from .athena import AthenaEngine

        return AthenaEngine(binding, **options)
    from ..errors import UsageError

    raise UsageError(f"engine '{binding.engine}' is not available in this build")
