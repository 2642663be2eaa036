"""A fake engine for tests: renders SQL like a real engine, records every call, and answers
with canned Arrow tables. It runs no SQL, so tests that use it assert on what was sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

import pyarrow as pa
from sqlglot import exp

from .base import QueryResult
from .render import render

Answer = pa.Table | Callable[[str, Any], pa.Table] | Exception


@dataclass
class FakeEngine:
    """``answers`` are returned in order (the last one repeats); an Exception is raised."""

    answers: list[Answer] = field(default_factory=list)
    dialect: str = "trino"
    positional: bool = True
    name: str = "fake"
    calls: list[tuple[str, Any]] = field(default_factory=list)
    registered: dict[str, pa.Table] = field(default_factory=dict)

    def version(self) -> str:
        return "fake-1"

    def render(self, query: exp.Expression, params: Mapping[str, Any]) -> tuple[str, Any]:
        return render(query, self.dialect, None, None, params, positional=self.positional)

    def run(self, query: exp.Expression, params: Mapping[str, Any]) -> QueryResult:
        sql, bound = self.render(query, params)
        self.calls.append((sql, bound))
        if not self.answers:
            raise AssertionError("FakeEngine has no answer for this query")
        answer = self.answers[min(len(self.calls) - 1, len(self.answers) - 1)]
        if isinstance(answer, Exception):
            raise answer
        table = answer(sql, bound) if callable(answer) else answer
        return QueryResult(table, sql, bound, self.name, self.version(), str(uuid.uuid4()), datetime.now(timezone.utc), 0.0)

    def register(self, name: str, table: pa.Table) -> exp.Table:
        self.registered[name] = table
        return exp.to_table(name)

    def unregister(self, name: str) -> None:
        self.registered.pop(name, None)

    def close(self) -> None:
        pass
