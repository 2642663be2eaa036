"""The fake engine: renders like a real one, records every call, answers from a script."""

from __future__ import annotations

import pyarrow as pa
import pytest
import sqlglot

from soxauto.engines.fake import FakeEngine
from soxauto.errors import EngineError

QUERY = sqlglot.parse_one("SELECT a FROM t WHERE c = :company_id AND a IN (:accounts)", read="trino")
FIRST = pa.table({"a": ["18412"]})
SECOND = pa.table({"a": ["13003", "13005"]})


def test_it_records_every_call_with_its_bound_parameters():
    engine = FakeEngine([FIRST])

    engine.run(QUERY, {"company_id": "EC_NG", "accounts": ["18412"]})
    engine.run(QUERY, {"company_id": "JM_EG", "accounts": ["1", "2"]})

    assert engine.calls == [
        ("SELECT\n  a\nFROM t\nWHERE\n  c = ? AND a IN (?)", ["EC_NG", "18412"]),
        ("SELECT\n  a\nFROM t\nWHERE\n  c = ? AND a IN (?, ?)", ["JM_EG", "1", "2"]),
    ]


def test_answers_come_in_order_and_the_last_one_repeats():
    engine = FakeEngine([FIRST, SECOND])
    params = {"company_id": "EC_NG", "accounts": []}

    tables = [engine.run(QUERY, params).table for _ in range(3)]

    assert [t.column("a").to_pylist() for t in tables] == [["18412"], ["13003", "13005"], ["13003", "13005"]]


def test_a_callable_answer_sees_the_sql_and_parameters():
    seen = []

    def answer(sql, params):
        seen.append((sql.count("?"), params))
        return pa.table({"n": [len(params)]})

    engine = FakeEngine([answer])
    result = engine.run(QUERY, {"company_id": "EC_NG", "accounts": ["1", "2", "3"]})

    assert seen == [(4, ["EC_NG", "1", "2", "3"])]
    assert result.table.to_pylist() == [{"n": 4}]


def test_a_canned_exception_is_raised_and_the_call_still_recorded():
    engine = FakeEngine([FIRST, EngineError("Athena: query timed out")])
    params = {"company_id": "EC_NG", "accounts": ["1"]}

    assert engine.run(QUERY, params).table.equals(FIRST)
    with pytest.raises(EngineError, match="Athena: query timed out"):
        engine.run(QUERY, params)

    assert len(engine.calls) == 2


def test_without_answers_it_says_so():
    with pytest.raises(AssertionError, match="FakeEngine has no answer"):
        FakeEngine().run(QUERY, {"company_id": "EC_NG", "accounts": []})


def test_the_result_names_the_fake_engine():
    engine = FakeEngine([FIRST], dialect="tsql", name="mssql-fake")

    result = engine.run(QUERY, {"company_id": "EC_NG", "accounts": ["18412"]})

    assert (result.engine, result.engine_version) == ("mssql-fake", "fake-1")
    assert result.sql == engine.calls[0][0]
    assert result.parameters == ["EC_NG", "18412"]
    assert result.elapsed_seconds == 0.0


def test_named_rendering_when_not_positional():
    engine = FakeEngine([FIRST], dialect="duckdb", positional=False)

    result = engine.run(QUERY, {"company_id": "EC_NG", "accounts": ["18412"]})

    assert result.sql == "SELECT\n  a\nFROM t\nWHERE\n  c = $company_id AND a IN ($accounts__0)"
    assert result.parameters == {"accounts__0": "18412", "company_id": "EC_NG"}
