"""Completeness-and-accuracy rules as declared in a catalog item's ``tests:`` list.

Each rule is data: a stable id, a kind, a severity and the kind's parameters. This module
only parses and checks declarations (with ``file:line`` errors); ``soxauto.validation``
compiles them to SQL and runs them.

Kinds and their parameters (``?`` optional)::

    source_tie_out   sql | query, measures, by?       independent aggregate on the source
    running_tie_out  sql | query, measures, through, by?   the source as at each date it lists
                     vs the extract's running total: Σ over rows with ``through`` <= that date
    cross_source     other, measures, other_measures?, by?, other_by?    against another item
    not_null         columns?  (default: critical_columns)
    unique           columns?  (default: key)
    allowed_values   column, values
    range            column, min?, max?, sign?  (positive | negative | non_negative | non_zero)
    recompute        expect   (a boolean SQL expression that must hold on every row)
    witness          sql | query, expect (present | absent), by?   keys selected on the source
    referential      sql | query, by?   every extract row's key exists in the source query
    output_contract  —        columns and types exactly as declared
    freshness        column   (a timestamp on the extract that must be >= cutoff)
    history          measures?, periods?, threshold?  robust z-score vs earlier periods
    first_digit      column, threshold?   Benford first-digit MAD (default 0.015)
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

import sqlglot
from sqlglot.errors import ParseError

from ..errors import Problem, did_you_mean
from .dialects import check_dialects

SEVERITIES = ("error", "warn")
SIGNS = ("positive", "negative", "non_negative", "non_zero")

# kind -> (required parameters, optional parameters, default severity)
KINDS: Mapping[str, tuple[frozenset, frozenset, str]] = MappingProxyType({
    "source_tie_out": (frozenset({"measures"}), frozenset({"sql", "query", "by"}), "error"),
    "running_tie_out": (frozenset({"measures", "through"}), frozenset({"sql", "query", "by"}), "error"),
    "cross_source": (frozenset({"other", "measures"}), frozenset({"other_measures", "by", "other_by"}), "error"),
    "not_null": (frozenset(), frozenset({"columns"}), "error"),
    "unique": (frozenset(), frozenset({"columns"}), "error"),
    "allowed_values": (frozenset({"column", "values"}), frozenset(), "error"),
    "range": (frozenset({"column"}), frozenset({"min", "max", "sign"}), "error"),
    "recompute": (frozenset({"expect"}), frozenset(), "error"),
    "witness": (frozenset({"expect"}), frozenset({"sql", "query", "by"}), "error"),
    "referential": (frozenset(), frozenset({"sql", "query", "by"}), "error"),
    "output_contract": (frozenset(), frozenset(), "error"),
    "freshness": (frozenset({"column"}), frozenset(), "error"),
    "history": (frozenset(), frozenset({"measures", "periods", "threshold"}), "warn"),
    "first_digit": (frozenset({"column"}), frozenset({"threshold"}), "warn"),
})
COMMON = ("id", "kind", "severity", "description")


@dataclass(frozen=True)
class RuleSpec:
    id: str
    kind: str
    severity: str
    params: Mapping[str, Any]
    description: str = ""
    where: str = ""

    def get(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


def parse_rules(item_id: str, raw: list, at, columns: list[str], folder, problems: list[Problem]) -> tuple[RuleSpec, ...]:
    """Parse an item's ``tests:`` list. ``at(*path)`` gives ``file:line`` of a YAML path."""
    rules: list[RuleSpec] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw or []):
        where = at("tests", i)
        if not isinstance(entry, dict):
            problems.append(Problem(where, "a test is a mapping with id, kind and parameters"))
            continue
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append(Problem(at("tests", i, "kind"), f"unknown test kind '{kind}'{did_you_mean(str(kind), KINDS)}"))
            continue
        required, optional, default_severity = KINDS[kind]
        rule_id = str(entry.get("id") or "")
        if not rule_id.startswith(item_id + "."):
            problems.append(Problem(where, f"test id '{rule_id}' must start with '{item_id}.' (stable ids like {item_id}.tie_out)"))
        if rule_id in seen:
            problems.append(Problem(where, f"test id '{rule_id}' is used twice"))
        seen.add(rule_id)
        params = {k: v for k, v in entry.items() if k not in COMMON}
        for key in params:
            if key not in required | optional:
                allowed = sorted(required | optional)
                problems.append(Problem(at("tests", i, key), f"{kind} has no parameter '{key}'{did_you_mean(key, allowed)}"))
        for key in sorted(required - set(params)):
            problems.append(Problem(where, f"{kind} needs parameter '{key}'"))
        severity = entry.get("severity", default_severity)
        if severity not in SEVERITIES:
            problems.append(Problem(at("tests", i, "severity"), f"severity must be error or warn, not '{severity}'"))
        _check_columns(kind, params, columns, lambda k: at("tests", i, k), problems)
        if kind in ("source_tie_out", "running_tie_out", "witness", "referential"):
            params = _resolve_sql(params, folder, lambda k: at("tests", i, k), where, problems)
        for key in ("expect",) if kind == "recompute" else ():
            _check_expression(str(params.get(key, "")), at("tests", i, key), problems)
        for key in ("measures", "other_measures") if kind in ("source_tie_out", "running_tie_out", "cross_source") else ():
            value = params.get(key) or {}
            if not isinstance(value, dict):
                problems.append(Problem(at("tests", i, key), f"{key} maps a name to an aggregate, e.g. {{row_count: COUNT(*)}}"))
                continue
            for text in value.values():
                _check_expression(str(text), at("tests", i, key), problems)
        if kind == "history" and not isinstance(params.get("measures", []), list):
            problems.append(Problem(at("tests", i, "measures"), "history measures is a list of names (row_count or a money column)"))
        if kind == "range" and params.get("sign") not in (None, *SIGNS):
            problems.append(Problem(at("tests", i, "sign"), f"sign must be one of {', '.join(SIGNS)}"))
        if kind == "witness" and params.get("expect") not in ("present", "absent"):
            problems.append(Problem(at("tests", i, "expect"), "witness expect must be 'present' or 'absent'"))
        rules.append(RuleSpec(rule_id, kind, severity, MappingProxyType(params), str(entry.get("description", "")), where))
    return tuple(rules)


def _check_columns(kind, params, columns, at, problems) -> None:
    names = []
    for key in ("column", "through"):
        if key in params:
            names.append((key, params[key]))
    for key in ("columns", "by"):
        for c in params.get(key) or []:
            names.append((key, c))
    for key, col in names:
        if col not in columns:
            problems.append(Problem(at(key), f"unknown column '{col}' in {kind}{did_you_mean(str(col), columns)}"))


def _resolve_sql(params, folder, at, where, problems):
    if ("sql" in params) == ("query" in params):
        problems.append(Problem(where, "give exactly one of 'sql' (inline) or 'query' (a .sql file)"))
        return params
    if "query" in params:
        path = folder / params["query"]
        if not path.is_file():
            problems.append(Problem(at("query"), f"query file '{params['query']}' does not exist"))
            return params
        params = dict(params, sql=path.read_text("utf-8"))
    where_sql = at("sql" if "sql" in params else "query")
    try:
        query = sqlglot.parse_one(params["sql"], read="trino")
    except ParseError as e:
        problems.append(Problem(where_sql, f"SQL does not parse: {e.errors[0].get('description') if e.errors else e}"))
        return params
    # Tests run in the engine that ran the extract, so their SQL must be as portable as the query.
    for p in check_dialects(query, where_sql.rsplit(":", 1)[0], params["sql"]):
        problems.append(Problem(where_sql, p.message))
    return params


def _check_expression(text: str, where: str, problems: list[Problem]) -> None:
    try:
        sqlglot.parse_one(text, read="trino")
    except ParseError as e:
        problems.append(Problem(where, f"expression '{text}' does not parse: {e.errors[0].get('description') if e.errors else e}"))
