"""Helpers shared by the validation tests."""

from __future__ import annotations

from soxauto.engines.duckdb import DuckDBEngine


class SpyEngine(DuckDBEngine):
    """The real engine, counting the statements it runs (through ``run`` or ``rows``)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.statements: list[str] = []

    def run(self, query, params):
        result = super().run(query, params)
        self.statements.append(result.sql)
        return result

    def rows(self, query, params):
        answer, sql = super().rows(query, params)
        self.statements.append(sql)
        return answer, sql
