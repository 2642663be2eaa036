"""The capability table: one class of flags per dialect, and the rewrites every engine's
rendering applies because of them (docs/engines.md, "What each engine can say")."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal

import duckdb
import pytest
import sqlglot
from sqlglot import exp

from soxauto.catalog.dialects import CAPABILITIES  # the catalog reads the engines' FUNCTIONS table
from soxauto.engines.capability import DIALECTS, Athena, DuckDB, SqlServer, capabilities, typed_literal
from soxauto.engines.fake import FakeEngine
from soxauto.errors import UsageError
from soxauto.recon.keyjoin import key_query
from soxauto.recon.pack import load_pack


def q(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="trino")


def flat(text: str) -> str:
    """The rendered text on one line: what is compared is the SQL, not its pretty layout."""
    return re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", " ".join(text.split())))


def tsql(sql: str, params: dict | None = None) -> str:
    return flat(FakeEngine(dialect="tsql").render(q(sql), params or {})[0])


def test_the_table_holds_what_each_engine_documents():
    table = {name: (c.parameters_outside_where, c.null_safe_comparison, c.boolean_aggregates, c.boolean_values,
                    c.nested_ctes, c.temporary_text_collation, c.max_identifier_length, c.min_server_version)
             for name, c in DIALECTS.items()}
    assert table == {
        "duckdb": (True, True, True, True, True, None, None, None),
        "trino": (False, True, True, True, True, None, 255, None),  # Athena: '?' in WHERE only; Glue names 1-255 bytes
        "tsql": (True, False, False, False, False, "DATABASE_DEFAULT", 128, 15),  # SQL Server 2019
        "postgres": (True, True, True, True, True, None, 63, None),  # the ODBC stand-in of the tests
    }
    assert SqlServer.max_temporary_name_length == 116 and Athena.identifier_length_unit == "bytes"
    assert SqlServer.functions() is CAPABILITIES["tsql"] and DuckDB.functions() is CAPABILITIES["duckdb"]


def test_an_unknown_dialect_suggests_the_close_one():
    with pytest.raises(UsageError, match="no engine speaks the SQL dialect 'tsq'; did you mean 'tsql'"):
        capabilities("tsq")


# -- SQL Server 2019 ---------------------------------------------------------------------------


def test_is_distinct_from_becomes_not_exists_intersect_on_sql_server():
    text = tsql("SELECT SUM(CASE WHEN l.a IS DISTINCT FROM r.a THEN 1 ELSE 0 END) AS failing FROM l JOIN r ON l.k = r.k "
                "WHERE l.b IS NOT DISTINCT FROM r.b")
    assert "DISTINCT FROM" not in text
    assert "WHEN NOT EXISTS(SELECT l.a INTERSECT SELECT r.a) THEN 1" in text
    assert "WHERE EXISTS(SELECT l.b INTERSECT SELECT r.b)" in text


def test_a_null_safe_comparison_of_aggregates_uses_the_long_form():
    text = tsql("SELECT k FROM t GROUP BY k HAVING SUM(a) IS DISTINCT FROM SUM(b)")
    assert "INTERSECT" not in text and "DISTINCT FROM" not in text
    assert "HAVING NOT (SUM(a) = SUM(b) OR (SUM(a) IS NULL AND SUM(b) IS NULL))" in text


def test_boolean_aggregates_become_max_and_min_of_flags_on_sql_server():
    text = tsql("SELECT k, BOOL_OR(f) AS any_f, BOOL_AND(f) AS all_f FROM t GROUP BY k HAVING BOOL_OR(g)")
    for name in ("LOGICAL_OR", "LOGICAL_AND", "BOOL_OR", "BOOL_AND"):
        assert name not in text
    # a value (a select item) is the 0/1 aggregate as BIT; a condition compares it with 1
    assert "CAST(MAX(CASE WHEN f <> 0 THEN 1 WHEN NOT (f <> 0) THEN 0 END) AS BIT) AS any_f" in text
    assert "CAST(MIN(CASE WHEN f <> 0 THEN 1 WHEN NOT (f <> 0) THEN 0 END) AS BIT) AS all_f" in text
    assert "HAVING MAX(CASE WHEN g <> 0 THEN 1 WHEN NOT (g <> 0) THEN 0 END) = 1" in text


def test_a_dialect_with_boolean_values_but_no_boolean_aggregates_compares_the_flag_with_one():
    class NoBoolOr(DuckDB):
        boolean_aggregates = False

    query = q("SELECT BOOL_OR(f) AS any_f, BOOL_AND(f) OVER (PARTITION BY k) AS all_f FROM t")
    text = NoBoolOr.rewrite(query).sql("duckdb")
    assert text == ("SELECT MAX(CASE WHEN f THEN 1 WHEN NOT (f) THEN 0 END) = 1 AS any_f, "
                    "MIN(CASE WHEN f THEN 1 WHEN NOT (f) THEN 0 END) OVER (PARTITION BY k) = 1 AS all_f FROM t")


def test_the_vouchers_line_renders_without_a_boolean_aggregate_on_sql_server():
    pack = load_pack()
    spec = pack.line("VOUCHERS")
    query = key_query(spec, pack.family(spec), exp.to_table("cr03"), exp.to_table("ipe08"), exp.to_table("classified"))
    text, _ = FakeEngine(dialect="tsql").render(query, {"gl_accounts": ["18412"], "cutoff": date(2025, 9, 30),
                                                          "period_start": date(2025, 9, 1), "material_lcy": Decimal("1")})
    assert "LOGICAL_OR" not in text and "BOOL_OR" not in text
    assert "CAST(MAX(CASE WHEN is_expired <> 0 THEN 1" in text
    sqlglot.parse_one(text, read="tsql")


def test_conditions_where_sql_server_wants_values_become_bits_and_bits_where_it_wants_conditions_are_compared():
    text = tsql("SELECT a = b AS same, COALESCE(c > 0, FALSE) AS positive, TRUE AS yes FROM t "
                "WHERE flag AND (other) AND NOT gone")
    assert "CAST(CASE WHEN a = b THEN 1 WHEN NOT (a = b) THEN 0 END AS BIT) AS same" in text
    assert "COALESCE(CAST(CASE WHEN c > 0 THEN 1 WHEN NOT (c > 0) THEN 0 END AS BIT), CAST(0 AS BIT)) AS positive" in text
    assert "CAST(1 AS BIT) AS yes" in text
    assert "WHERE flag <> 0 AND (other <> 0) AND NOT gone <> 0" in text


def test_an_order_by_in_a_subquery_without_top_is_dropped_on_sql_server_only():
    sql = ("SELECT g, COUNT(*) AS n FROM (SELECT * FROM t ORDER BY k) AS s GROUP BY g "
           "UNION ALL SELECT g, n FROM (SELECT g, n FROM u ORDER BY n DESC LIMIT 3) AS top3 ORDER BY g")
    text = tsql(sql)
    assert text.count("ORDER BY") == 2  # the TOP 3 subquery's and the statement's own
    assert "FROM (SELECT * FROM t) AS s" in text and "TOP 3" in text
    assert FakeEngine(dialect="trino").render(q(sql), {})[0].count("ORDER BY") == 3


def test_nested_ctes_of_one_name_get_unique_names_before_sql_server_lifts_them():
    """A C&A statement merging two comparisons nests ``WITH l AS ..., r AS ...`` twice; T-SQL
    takes a WITH only at the top, where sqlglot lifts them, and two CTEs named ``l`` fail."""
    sql = ("WITH l AS (SELECT 0 AS z) "
           "SELECT x.a, y.b, l.z FROM (WITH l AS (SELECT 1 AS a) SELECT l.a FROM l) AS x "
           "CROSS JOIN (WITH l AS (SELECT 2 AS b), r AS (SELECT b FROM l) SELECT b FROM r AS r) AS y "
           "CROSS JOIN (WITH l AS (SELECT 3 AS c) SELECT c FROM (WITH l AS (SELECT 4 AS c) SELECT c FROM l) AS deep) AS w "
           "CROSS JOIN l")
    text = tsql(sql)
    assert text.startswith("WITH l AS (SELECT 0 AS z), l_2 AS (SELECT 1 AS a), l_3 AS (SELECT 2 AS b), "
                           "r AS (SELECT b AS b FROM l_3 AS l), l_4 AS (SELECT 3 AS c), l_5 AS (SELECT 4 AS c)")
    assert "FROM l_2 AS l) AS x" in text and text.endswith("CROSS JOIN l")
    back = sqlglot.parse_one(text, read="tsql").sql(dialect="duckdb")
    assert duckdb.connect().execute(back).fetchall() == duckdb.connect().execute(q(sql).sql("duckdb")).fetchall() == \
        [(1, 2, 0)]
    assert "l_2" not in FakeEngine(dialect="trino").render(q(sql), {})[0]  # Trino nests WITH: left as it is


def test_a_name_longer_than_sql_server_takes_is_a_usage_error():
    long = "a" * 129
    with pytest.raises(UsageError, match=f"name '{long}' is 129 characters long; SQL Server takes at most 128"):
        tsql(f"SELECT x AS {long} FROM t")
    assert tsql(f"SELECT x AS {'a' * 128} FROM t")
    with pytest.raises(UsageError, match="is 256 bytes long; Athena takes at most 255"):
        FakeEngine(dialect="trino").render(q(f"SELECT x AS {'é' * 128} FROM t"), {})


def test_other_dialects_are_left_as_they_are():
    sql = "SELECT BOOL_OR(f) AS o, a IS DISTINCT FROM b AS d FROM t WHERE c = :c"
    for dialect in ("duckdb", "trino"):
        text, params = FakeEngine(dialect=dialect, positional=dialect != "duckdb").render(q(sql), {"c": 1})
        assert "BOOL_OR" in text and "IS DISTINCT FROM" in text


# -- Athena: values outside WHERE as typed literals ---------------------------------------------

LITERALS = [
    (None, "NULL"),
    (True, "TRUE"),
    (-42, "-42"),
    ("O'Neil", "'O''Neil'"),
    (Decimal("-1500.10"), "CAST('-1500.10' AS DECIMAL(6, 2))"),
    (Decimal("0.05"), "CAST('0.05' AS DECIMAL(2, 2))"),
    (Decimal("1E+3"), "CAST('1000' AS DECIMAL(4, 0))"),
    (date(2025, 9, 30), "CAST('2025-09-30' AS DATE)"),
    (datetime(2025, 10, 1, 2, 0, 0, 123456), "CAST('2025-10-01 02:00:00.123456' AS TIMESTAMP(6))"),
]


@pytest.mark.parametrize(("value", "text"), LITERALS)
def test_typed_literals_are_built_by_sqlglot_with_their_exact_type(value, text):
    literal = typed_literal(value)
    assert literal.sql(dialect="trino") == text
    # evaluated by an engine, the literal is the value again (DuckDB reads Trino's CASTs alike)
    assert duckdb.connect().execute(exp.select(literal).sql(dialect="duckdb")).fetchone()[0] == value


@pytest.mark.parametrize(("value", "message"), [
    (Decimal("NaN"), "not a finite decimal"),
    (Decimal("1" * 39), "has 39 digits; a DECIMAL holds at most 38"),
    (datetime(2025, 10, 1, tzinfo=timezone.utc), "has a time zone"),
    (1.5, "of type float cannot be written as a literal"),
])
def test_a_value_without_an_exact_literal_is_refused(value, message):
    with pytest.raises(UsageError, match=message):
        typed_literal(value)


def test_athena_parameters_outside_where_become_literals_and_those_inside_stay_parameters():
    sql = """
    WITH recent AS (SELECT e.k, CASE WHEN e.d <= :cutoff THEN 1 ELSE 0 END AS due FROM e WHERE e.c = :company)
    SELECT r.k, :company AS company, SUM(r.due) AS n
    FROM recent AS r JOIN b ON b.k = r.k AND b.d = :cutoff
    WHERE r.k IN (:keys)
    GROUP BY r.k, :company
    HAVING SUM(r.due) > :floor
    """
    params = {"cutoff": date(2025, 9, 30), "company": "EC_NG", "keys": ["1", "2"], "floor": Decimal("0.5")}
    text, sent = FakeEngine(dialect="trino").render(q(sql), params)

    parsed = sqlglot.parse_one(text, read="trino")
    assert all(p.find_ancestor(exp.Where) is not None for p in parsed.find_all(exp.Placeholder))
    assert sent == ["EC_NG", "1", "2"]  # the CTE's WHERE, then the statement's WHERE
    assert "CASE WHEN e.d <= CAST('2025-09-30' AS DATE) THEN 1" in text
    assert "'EC_NG' AS company" in text and "AND b.d = CAST('2025-09-30' AS DATE)" in text
    assert "GROUP BY\n  r.k,\n  'EC_NG'" in text and "SUM(r.due) > CAST('0.5' AS DECIMAL(1, 1))" in text
