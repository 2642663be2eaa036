"""Dialect safety: a function that some target engine lacks is a located catalog problem."""

from __future__ import annotations

import sqlglot

from soxauto.catalog.dialects import CAPABILITIES, DIALECTS, check_dialects, own_calls


def problems(sql: str, **kwargs) -> list[str]:
    query = sqlglot.parse_one(sql, read="trino")
    return [str(p) for p in check_dialects(query, "Q.sql", sql, **kwargs)]


def test_a_query_of_portable_functions_passes_in_every_dialect():
    sql = """\
SELECT
  e.company_id,
  CASE WHEN e.amount > 0 THEN 'debit' ELSE 'credit' END AS side,
  IF(e.user_id = :integration_user, 'Integration', 'Manual') AS integration_type,
  COALESCE(SUM(e.amount), CAST(0 AS DECIMAL(38, 6))) AS total,
  MIN(e.posting_date) AS first_posting, MAX(e.posting_date) AS last_posting,
  COUNT(*) AS entries, COUNT(DISTINCT e.document_no) AS documents,
  EXTRACT(YEAR FROM e.posting_date) AS posting_year,
  NULLIF(ABS(ROUND(e.amount, 2)), 0) AS size,
  SUBSTR(e.description, 1, 4) AS prefix, LENGTH(e.description) AS n_chars,
  ROW_NUMBER() OVER (PARTITION BY e.company_id ORDER BY e.entry_no) AS rn
FROM nav.gl_entries AS e
WHERE e.posting_date <= :cutoff
  AND e.posting_date >= DATE_ADD('day', -30, CAST(:as_of AS DATE))
  AND e.posting_date < CAST(:as_of AS DATE) + INTERVAL '1' DAY
  AND EXISTS (SELECT 1 FROM ref.companies AS c WHERE c.company_id = e.company_id)
  AND UPPER(e.description) LIKE 'EXPR%'
GROUP BY 1, 2, 3
"""
    assert problems(sql) == []


def test_regexp_like_is_reported_for_tsql_only_on_its_own_line():
    sql = "SELECT v.voucher_id\nFROM bob.store_credit_vouchers AS v\nWHERE REGEXP_LIKE(v.code, '^RF_')\n"
    assert problems(sql) == [
        "Q.sql:3: REGEXP_LIKE is not available in tsql (rendered as REGEXP_LIKE); "
        "use LIKE with a literal pattern, or add a dialect rule"
    ]


def test_starts_with_and_date_trunc_pass_through_to_tsql_unchanged_and_are_caught():
    sql = (
        "SELECT\n  STARTS_WITH(v.code, 'RF') AS is_refund,\n"
        "  DATE_TRUNC('month', v.created_at) AS created_month\nFROM bob.store_credit_vouchers AS v\n"
    )
    assert problems(sql) == [
        "Q.sql:2: STARTS_WITH is not available in tsql (rendered as STARTS_WITH); "
        "use LIKE 'prefix%', or add a dialect rule",
        "Q.sql:3: DATE_TRUNC is not available in tsql (rendered as DATETRUNC); "
        "compare with :period_start / :year_start / :as_of instead, or add a dialect rule",
    ]


def test_an_unknown_function_fails_once_whatever_the_dialects():
    sql = "SELECT\n  v.voucher_id,\n  FOO_BAR(v.code) AS x\nFROM bob.store_credit_vouchers AS v\n"
    assert problems(sql) == [
        "Q.sql:3: unknown function FOO_BAR: sqlglot cannot translate it; "
        "rewrite it with functions every target dialect has"
    ]


def test_a_function_inside_case_is_reported_once_not_again_by_the_case():
    sql = "SELECT\n  CASE\n    WHEN REGEXP_LIKE(v.code, 'x') THEN 1\n    ELSE 0\n  END AS m\nFROM t AS v\n"
    assert problems(sql) == [
        "Q.sql:3: REGEXP_LIKE is not available in tsql (rendered as REGEXP_LIKE); "
        "use LIKE with a literal pattern, or add a dialect rule"
    ]


def test_a_function_sqlglot_refuses_to_translate_names_the_reason():
    sql = "SELECT SPLIT_PART(v.code, '-', 1) AS country\nFROM t AS v\n"
    assert problems(sql) == [
        "Q.sql:1: SPLIT_PART cannot be rendered in tsql: SPLIT_PART can be transpiled to PARSENAME "
        "only for '.' delimiter and literal values; use SUBSTR and STRPOS"
    ]


def test_a_function_the_renderer_rewrites_for_sql_server_passes_as_the_engine_sends_it():
    """sqlglot alone writes BOOL_OR as LOGICAL_OR in T-SQL, which no SQL Server has; the
    engines' Renderer rewrites it (capability table: no boolean aggregates) to MAX over a CASE,
    and the check reads what the Renderer sends."""
    sql = "SELECT BOOL_OR(v.is_active) AS any_active, BOOL_AND(v.is_active) AS all_active FROM t AS v"
    query = sqlglot.parse_one(sql, read="trino")
    assert "LOGICAL_OR(" in query.sql(dialect="tsql")
    assert problems(sql) == []
    assert own_calls(query.selects[0].this, "tsql") == ["CAST", "MAX"]
    assert own_calls(query.selects[1].this, "tsql") == ["CAST", "MIN"]


def test_a_renamed_function_is_still_checked_under_the_name_it_renders_as():
    # DATE_TRUNC becomes DATETRUNC in T-SQL, which SQL Server 2019 does not have, and no
    # capability rewrite replaces it.
    sql = "SELECT DATE_TRUNC('month', v.created_at) AS m FROM t AS v"
    assert problems(sql) == [
        "Q.sql:1: DATE_TRUNC is not available in tsql (rendered as DATETRUNC); "
        "compare with :period_start / :year_start / :as_of instead, or add a dialect rule"
    ]


def test_only_the_requested_dialects_are_checked():
    sql = "SELECT REGEXP_LIKE(v.code, 'x') AS m FROM t AS v"
    assert problems(sql, dialects=("duckdb", "trino")) == []


def test_reading_the_clock_is_refused_because_a_rerun_would_differ():
    sql = "SELECT v.voucher_id\nFROM t AS v\nWHERE v.to_date < CURRENT_DATE\n"
    assert problems(sql) == [
        "Q.sql:3: CURRENT_DATE reads the clock, so a re-run would differ; use :cutoff, :as_of or :period_start"
    ]


def test_own_calls_leave_out_the_arguments_and_keep_the_wrappers_a_dialect_adds():
    least = sqlglot.parse_one("SELECT LEAST(COALESCE(a, 0), b) FROM t", read="trino").selects[0]
    # DuckDB wraps LEAST in a CASE for Trino's NULL semantics; COALESCE is the argument's name.
    assert own_calls(least, "duckdb") == ["LEAST"]
    assert own_calls(least, "tsql") == ["LEAST"]
    bool_or = sqlglot.parse_one("SELECT BOOL_OR(a) FROM t", read="trino").selects[0]
    assert own_calls(bool_or, "duckdb") == ["BOOL_OR", "CAST"]
    cast = sqlglot.parse_one("SELECT CAST(a AS DECIMAL(18, 2)) FROM t", read="trino").selects[0]
    assert own_calls(cast, "tsql") == ["CAST"]  # NUMERIC(18, 2) is a type, not a call


def test_capability_tables_cover_every_dialect_in_upper_case():
    assert set(CAPABILITIES) == set(DIALECTS) == {"duckdb", "trino", "tsql"}
    for names in CAPABILITIES.values():
        assert all(n == n.upper() for n in names)
    # Held to SQL Server 2019: none of these exists there.
    assert not {"REGEXP_LIKE", "STARTS_WITH", "GREATEST", "LEAST", "DATETRUNC", "LOGICAL_OR"} & CAPABILITIES["tsql"]
    assert {"REGEXP_LIKE", "STARTS_WITH", "IF"} <= CAPABILITIES["trino"]


def test_every_catalog_dialect_is_an_engine_capability_class_with_these_functions():
    """The catalog's dialect check and the engines' rendering read one table of function names:
    an engine's capability class (engines/capability.py) answers with the catalog's set."""
    from soxauto.engines.capability import capabilities

    for dialect in DIALECTS:
        caps = capabilities(dialect)
        assert caps.name == dialect and caps.functions() is CAPABILITIES[dialect]
    assert capabilities("tsql").min_server_version == 15  # the 2019 the table is held to
