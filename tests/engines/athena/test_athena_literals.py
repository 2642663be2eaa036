"""Athena binds '?' only in a WHERE clause: a value anywhere else is written as a typed literal
built by sqlglot. What is sent, what the result records, and hostile values on that path."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlglot
from athenakit import Hooks, column, make_engine, queue_result, varchar
from sqlglot import exp
from sqlglot.errors import ErrorLevel

pytestmark = pytest.mark.usefixtures("aws")

# :cutoff in the select list, the CTE, ON and WHERE; :floor in HAVING; :company in WHERE only
SQL = """
WITH due AS (
  SELECT e.entry_no, e.amount, CASE WHEN e.posting_date <= :cutoff THEN 'due' ELSE 'later' END AS bucket
  FROM nav.gl_entries AS e
  WHERE e.company_id = :company
)
SELECT d.bucket, :label AS label, SUM(d.amount) AS amount
FROM due AS d
JOIN nav.gl_balances AS b ON b.closing_date = :cutoff
WHERE b.company_id = :company AND b.closing_date <= :cutoff
GROUP BY d.bucket
HAVING SUM(d.amount) <> :floor
"""
PARAMS = {"cutoff": date(2025, 9, 30), "company": "EC_NG", "label": "Sept", "floor": Decimal("0.00")}


def q(text: str):
    return sqlglot.parse_one(text, read="trino")


def test_only_where_values_are_execution_parameters_and_the_others_are_recorded_as_literals():
    hooks = Hooks()
    engine = make_engine(hooks, unload="never")
    queue_result([varchar("bucket"), varchar("label"), column("amount", "decimal", 38, 2)], [("due", "Sept", "1.00")])

    result = engine.run(q(SQL), PARAMS)

    (sent,) = hooks.started
    text = sent["QueryString"]
    parsed = sqlglot.parse_one(text, read="trino")
    assert all(p.find_ancestor(exp.Where) is not None for p in parsed.find_all(exp.Placeholder))
    assert sent["ExecutionParameters"] == ["'EC_NG'", "'EC_NG'", "DATE '2025-09-30'"]
    assert "WHEN e.posting_date <= CAST('2025-09-30' AS DATE)" in text and "'Sept' AS label" in text
    assert "ON b.closing_date = CAST('2025-09-30' AS DATE)" in text
    assert "HAVING\n  SUM(d.amount) <> CAST('0.00' AS DECIMAL(2, 2))" in text
    # the evidence gets the statement as executed and the values Athena bound
    assert result.sql == text and result.parameters == sent["ExecutionParameters"]
    assert result.details["literals"] == [
        {"parameter": "cutoff", "literal": "CAST('2025-09-30' AS DATE)"},
        {"parameter": "label", "literal": "'Sept'"},
        {"parameter": "cutoff", "literal": "CAST('2025-09-30' AS DATE)"},
        {"parameter": "floor", "literal": "CAST('0.00' AS DECIMAL(2, 2))"},
    ]


def test_a_list_outside_where_is_written_element_by_element():
    text, sent = make_engine(Hooks()).render(
        q("SELECT SUM(CASE WHEN v.business_use IN (:uses) THEN 1 ELSE 0 END) AS n FROM bob.store_credit_vouchers AS v "
          "WHERE v.company_id = :company"), {"uses": ["refund", "jforce"], "company": "EC_NG"})
    assert "v.business_use IN ('refund', 'jforce')" in text and sent == ["'EC_NG'"]


HOSTILE = [
    "O'Neil",
    "x' OR '1'='1",
    "'; DROP TABLE nav.gl_entries; --",
    "a -- comment",
    "/* open comment",
    "close */ comment",
    "semi;colon",
    "back\\slash\\' still",
    "new\nline and\ttab",
    "ünïcödé 🧾 ₦ 日本",
    "?",
    "$1 :company @p",
    "'' ''",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_written_as_a_literal_stays_one_literal_of_one_statement(value):
    engine = make_engine(Hooks())
    query = q("SELECT :v AS v, CASE WHEN g.description = :v THEN 1 ELSE 0 END AS same "
              "FROM nav.gl_entries AS g WHERE g.company_id = :company")

    text, sent = engine.render(query, {"v": value, "company": "EC_NG"})

    statements = sqlglot.parse(text, read="trino", error_level=ErrorLevel.RAISE)
    assert len(statements) == 1 and isinstance(statements[0], exp.Select)
    parsed = statements[0]
    assert [s.alias_or_name for s in parsed.selects] == ["v", "same"]
    literal = parsed.selects[0].this
    assert isinstance(literal, exp.Literal) and literal.is_string and literal.this == value
    (compared,) = [n for n in parsed.find_all(exp.EQ) if n.find_ancestor(exp.Case)]
    assert compared.expression.this == value
    assert len(list(parsed.find_all(exp.Placeholder))) == 1 and sent == ["'EC_NG'"]
    # and nothing else in the statement changed: the same tree as the query with the value put in
    expected = query.copy()
    for p in list(expected.find_all(exp.Placeholder)):
        if p.name == "v":
            p.replace(exp.Literal.string(value))
    assert parsed.selects[1].sql("trino") == expected.selects[1].sql("trino")


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_in_where_is_still_only_an_execution_parameter(value):
    text, sent = make_engine(Hooks()).render(q("SELECT g.entry_no FROM nav.gl_entries AS g WHERE g.description = :v"),
                                             {"v": value})
    assert value not in text or value == "?"
    assert sqlglot.parse_one(sent[0], read="trino").this == value
