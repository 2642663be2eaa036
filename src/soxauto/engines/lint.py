"""Does a rendered statement keep to its dialect's capability table? The checks the statement
corpus (``soxauto sql render``, tests/engines) applies to every rendering:

* it parses in its dialect, as exactly one statement;
* every function it calls is one the dialect has (``Capabilities.functions``);
* Athena (``trino``): every ``?`` stands in a WHERE clause;
* SQL Server (``tsql``): nothing SQL Server 2019 lacks (``IS DISTINCT FROM``, ``LOGICAL_OR``,
  ``GREATEST`` ...), no condition where T-SQL wants a value, no value where it wants a
  condition, no ORDER BY in a subquery without TOP or OFFSET.

The checks read the text as the engine would receive it, parsed again by sqlglot: they judge
the output of ``render.Renderer``, not the expression it started from.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError

from .capability import capabilities

MISSING_IN_SQL_SERVER_2019 = re.compile(
    r"\b(LOGICAL_OR|LOGICAL_AND|BOOL_OR|BOOL_AND|GREATEST|LEAST|DATETRUNC)\s*\(|\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b", re.I)
_STRING = re.compile(r"'(?:[^']|'')*'")
_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\(")
# Words written NAME( that are types or syntax, not functions.
NOT_CALLS = frozenset({"DECIMAL", "NUMERIC", "VARCHAR", "NVARCHAR", "CHAR", "TIMESTAMP", "EXISTS", "VALUES", "OVER",
                       "IN"})


def problems(dialect: str, text: str) -> list[str]:
    """What is wrong with ``text`` as a statement for ``dialect``; empty when nothing is."""
    caps = capabilities(dialect)
    try:
        statements = sqlglot.parse(text, read=caps.dialect, error_level=ErrorLevel.RAISE)
    except ParseError as e:
        return [f"does not parse in {dialect}: {e}"]
    if len(statements) != 1 or statements[0] is None:
        return [f"{len(statements)} statements"]
    tree, found = statements[0], []
    code = _STRING.sub("''", text)  # a function name inside a string literal is not a call
    unknown = sorted({m.group(1).upper() for m in _CALL.finditer(code)} - caps.functions() - NOT_CALLS)
    if unknown:
        found.append(f"functions {dialect} does not have: {unknown}")
    if not caps.parameters_outside_where:
        outside = [p.parent.sql(caps.dialect) for p in tree.find_all(exp.Placeholder) if p.find_ancestor(exp.Where) is None]
        if outside:
            found.append(f"'?' outside WHERE: {outside}")
    if not caps.null_safe_comparison or not caps.boolean_aggregates:
        missing = MISSING_IN_SQL_SERVER_2019.search(code)
        if missing:
            found.append(f"{_floor(caps)} lacks {missing.group(0)}")
    if not caps.boolean_values or not caps.ordered_subqueries:
        found += tsql_grammar(tree)
    return found


def _floor(caps) -> str:
    """The oldest server the dialect is held to, by its product name (SQL Server 15 is 2019)."""
    return f"{caps.server} 2019" if caps.server == "SQL Server" and caps.min_server_version == 15 else caps.server


def tsql_grammar(tree: exp.Expression) -> list[str]:
    """T-SQL keeps search conditions (WHERE, HAVING, ON, CASE WHEN, AND/OR/NOT) and values
    apart, and allows ORDER BY in a subquery only with TOP or OFFSET."""
    found = []
    for node in tree.walk():
        if node is tree or isinstance(node, exp.Paren) or (isinstance(node.parent, exp.Escape) and node.arg_key == "this"):
            continue
        inner = node
        while isinstance(inner, (exp.Paren, exp.Escape)):
            inner = inner.this
        child, parent = node, node.parent
        while wrapped(parent, child):
            child, parent = parent, parent.parent
        searched = isinstance(parent, exp.If) and not (isinstance(parent.parent, exp.Case) and parent.parent.args.get("this"))
        wants_condition = (isinstance(parent, (exp.Where, exp.Having, exp.And, exp.Or, exp.Not))
                           or (isinstance(parent, exp.Join) and child.arg_key == "on")
                           or (searched and child.arg_key == "this"))
        is_condition = isinstance(inner, (exp.Predicate, exp.And, exp.Or, exp.Not, exp.Boolean))
        if is_condition and not wants_condition and not isinstance(parent, exp.Is):
            found.append(f"condition where T-SQL wants a value: {parent.sql('tsql')[:160]}")
        if wants_condition and not is_condition:
            found.append(f"value where T-SQL wants a condition: {parent.sql('tsql')[:160]}")
        if isinstance(node, exp.Query) and node.args.get("order") and not node.args.get("limit") \
                and not node.args.get("offset"):
            found.append(f"ORDER BY in a subquery without TOP: {node.sql('tsql')[:160]}")
    return found


def wrapped(parent: exp.Expression | None, child: exp.Expression) -> bool:
    """Parentheses, and LIKE's ESCAPE clause, belong to the condition they hold."""
    return isinstance(parent, exp.Paren) or (isinstance(parent, exp.Escape) and child.arg_key == "this")
