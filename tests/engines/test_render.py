"""From a canonical query to engine text and driver parameters: lists, placeholders, tables."""

from __future__ import annotations

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from soxauto.engines.fake import FakeEngine
from soxauto.engines.render import bind_tables, expand_lists, referenced_parameters
from soxauto.errors import UsageError
from soxauto.lake.binding import lake_binding


def q(sql: str) -> exp.Expression:
    return sqlglot.parse_one(sql, read="trino")


def render(sql: str, params: dict, dialect: str = "trino"):
    return FakeEngine(dialect=dialect).render(q(sql), params)


def test_a_list_in_in_becomes_one_placeholder_per_element():
    text, params = render(
        "SELECT a FROM t WHERE a IN (:accounts) AND c = :company_id",
        {"accounts": ["18412", "13003", "13005"], "company_id": "EC_NG"},
    )
    assert text == "SELECT\n  a\nFROM t\nWHERE\n  a IN (?, ?, ?) AND c = ?"
    assert params == ["18412", "13003", "13005", "EC_NG"]


def test_a_list_may_share_an_in_with_other_values():
    text, params = render("SELECT a FROM t WHERE a IN ('X', :accounts)", {"accounts": ("1", "2")})
    assert "a IN ('X', ?, ?)" in text
    assert params == ["1", "2"]


def test_an_empty_list_makes_in_false_and_not_in_true():
    text, params = render("SELECT a FROM t WHERE a IN (:accounts)", {"accounts": []})
    assert text == "SELECT\n  a\nFROM t\nWHERE\n  FALSE"
    assert params == []

    text, params = render("SELECT a FROM t WHERE a NOT IN (:excluded) AND b = :b", {"excluded": [], "b": 1})
    assert text == "SELECT\n  a\nFROM t\nWHERE\n  NOT FALSE AND b = ?"
    assert params == [1]


def test_a_list_outside_in_is_an_error():
    with pytest.raises(UsageError, match=r"list parameter 'accounts' may only be used as IN \(:accounts\)"):
        render("SELECT a FROM t WHERE a = :accounts", {"accounts": ["1", "2"]})


def test_a_missing_parameter_suggests_the_close_one():
    with pytest.raises(UsageError) as e:
        render("SELECT a FROM t WHERE d <= :cutoff", {"cut_off": date(2025, 9, 30), "company_id": "EC_NG"})
    assert str(e.value) == "query parameter 'cutoff' has no value; did you mean 'cut_off'?"


def test_positional_placeholders_are_refused_in_catalog_sql():
    with pytest.raises(UsageError, match="positional '\\?' placeholders are not allowed"):
        render("SELECT a FROM t WHERE a = ?", {})


CTE_QUERY = """
WITH recent AS (
  SELECT e.entry_no, e.amount FROM nav.gl_entries AS e
  WHERE e.company_id = :company_id AND e.posting_date <= :cutoff
)
SELECT r.entry_no
FROM recent AS r
JOIN nav.gl_balances AS b ON b.company_id = :company_id
WHERE r.amount > :floor AND b.gl_account_no IN (:accounts) AND b.closing_date = :cutoff
"""
CTE_PARAMS = {"company_id": "EC_NG", "cutoff": date(2025, 9, 30), "floor": 1, "accounts": ["18412", "13003"]}
# Text order: company_id, cutoff (in the CTE), company_id (join), floor, both accounts, cutoff.
CTE_ORDER = ["EC_NG", date(2025, 9, 30), "EC_NG", 1, "18412", "13003", date(2025, 9, 30)]


def test_tsql_positional_parameters_follow_the_text_through_a_cte():
    engine = FakeEngine(dialect="tsql")

    text, params = engine.render(q(CTE_QUERY), CTE_PARAMS)

    assert text == (
        "WITH recent AS (\n"
        "  SELECT\n"
        "    e.entry_no AS entry_no,\n"
        "    e.amount AS amount\n"
        "  FROM nav.gl_entries AS e\n"
        "  WHERE\n"
        "    e.company_id = ? AND e.posting_date <= ?\n"
        ")\n"
        "SELECT\n"
        "  r.entry_no\n"
        "FROM recent AS r\n"
        "JOIN nav.gl_balances AS b\n"
        "  ON b.company_id = ?\n"
        "WHERE\n"
        "  r.amount > ?\n"
        "  AND b.gl_account_no IN (?, ?)\n"
        "  AND b.closing_date = ?"
    )
    assert params == CTE_ORDER


def test_trino_positional_parameters_follow_the_text_through_a_cte():
    text, params = FakeEngine(dialect="trino").render(q(CTE_QUERY), CTE_PARAMS)

    # Athena binds '?' only in WHERE: the join's company is a literal, the rest stay parameters.
    assert text.count("?") == 6 and "ON b.company_id = 'EC_NG'" in text
    assert params == [v for k, v in enumerate(CTE_ORDER) if k != 2]


def test_positional_order_follows_the_rendered_text_not_the_tree():
    # T-SQL moves LIMIT to TOP at the front of the SELECT: the bound order must move with it.
    text, params = render("SELECT a FROM t WHERE a = :company_id LIMIT 5", {"company_id": "EC_NG"}, "tsql")
    assert text == "SELECT\nTOP 5\n  a\nFROM t\nWHERE\n  a = ?"
    assert params == ["EC_NG"]


def test_named_placeholders_for_duckdb():
    engine = FakeEngine(dialect="duckdb", positional=False)

    text, params = engine.render(q(CTE_QUERY), CTE_PARAMS)

    assert "e.company_id = $company_id AND e.posting_date <= $cutoff" in text
    assert "b.gl_account_no IN ($accounts__0, $accounts__1)" in text
    assert params == {
        "accounts__0": "18412", "accounts__1": "13003", "company_id": "EC_NG",
        "cutoff": date(2025, 9, 30), "floor": 1,
    }


def test_expand_lists_leaves_the_input_query_untouched():
    query = q("SELECT a FROM t WHERE a IN (:accounts)")
    before = query.sql()

    expanded, flat = expand_lists(query, {"accounts": ["1"]})

    assert query.sql() == before
    assert expanded.sql() == "SELECT a FROM t WHERE a IN (:accounts__0)"
    assert flat == {"accounts__0": "1"}


def test_referenced_parameters_in_first_use_order():
    assert referenced_parameters(q(CTE_QUERY)) == ["company_id", "cutoff", "floor", "accounts"]


def test_bind_tables_swaps_logical_tables_only(tmp_path):
    binding = lake_binding(tmp_path)
    query = q(
        "WITH x AS (SELECT 1 AS n) "
        "SELECT c.company_id, x.n, r.y FROM ref.companies AS c, x, registered_extract AS r, nav.gl_accounts"
    )

    bound = bind_tables(query, binding, lambda tb: exp.to_table("src_" + tb.logical.replace(".", "_")))

    # Each logical table projects the columns the query names (gl_accounts, none: its first).
    assert bound.sql() == (
        "WITH x AS (SELECT 1 AS n) SELECT c.company_id, x.n, r.y FROM "
        "(SELECT \"company_id\" AS company_id FROM src_ref_companies) AS c, x, registered_extract AS r, "
        "(SELECT \"gl_account_no\" AS gl_account_no FROM src_nav_gl_accounts) AS gl_accounts"
    )


@pytest.mark.parametrize("text", [
    "SELECT * FROM ref.companies AS c",
    "SELECT c.* FROM ref.companies AS c",
    "SELECT c.company_id FROM ref.companies AS c NATURAL JOIN nav.gl_accounts AS a",
    "SELECT c.company_id FROM ref.companies AS c JOIN ref.fx_rates AS f USING (currency)",
])
def test_bind_tables_keeps_every_column_when_some_are_read_without_a_name(tmp_path, text):
    bound = bind_tables(q(text), lake_binding(tmp_path), lambda tb: exp.to_table("src"))

    assert "AS in_conso_scope" in bound.sql() and "AS country_code" in bound.sql()


def test_bind_tables_keeps_a_column_named_anywhere_in_the_query(tmp_path):
    text = ("SELECT COUNT(*) AS n FROM ref.companies AS c WHERE EXISTS "
            "(SELECT 1 FROM nav.gl_accounts AS a WHERE a.gl_account_no = c.country_code)")

    bound = bind_tables(q(text), lake_binding(tmp_path), lambda tb: exp.to_table("src"))

    assert bound.sql() == (
        "SELECT COUNT(*) AS n FROM (SELECT \"country_code\" AS country_code FROM src) AS c "
        "WHERE EXISTS(SELECT 1 FROM (SELECT \"gl_account_no\" AS gl_account_no FROM src) AS a "
        "WHERE a.gl_account_no = c.country_code)"
    )
