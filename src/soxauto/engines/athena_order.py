"""Row order of an UNLOAD result.

UNLOAD writes several Parquet files in parallel and keeps no order across them, while a catalog
query's ORDER BY is part of what the extract means (its evidence shows the rows in that order).
A query is unloaded only when its ORDER BY can be re-applied to the unloaded rows: every sort key
is an output column (by alias, by position, or as the same expression as a select item), each
with its own direction and NULL placement. Arrow's sort is stable and compares strings by code
point, as Trino does, so the restored order is one Athena itself could have returned; ties are
unordered in both.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

# (output column, "ascending" | "descending", "at_start" | "at_end"), as Arrow's sort_by takes them
SortKeys = list[tuple[str, str, str]]


def output_names(query: exp.Expression) -> list[str] | None:
    """The result's column names when they are explicit and unique (no ``*``), else None."""
    if not isinstance(query, exp.Select):
        return None
    names = []
    for s in query.selects:
        if isinstance(s, exp.Star) or (isinstance(s, exp.Column) and isinstance(s.this, exp.Star)):
            return None
        names.append(s.alias_or_name)
    if any(not n for n in names) or len(set(names)) != len(names):
        return None
    return names


def sort_keys(query: exp.Expression) -> SortKeys | None:
    """How to re-sort unloaded rows; None when the order cannot be restored from the output."""
    names = output_names(query)
    if names is None:
        return None
    order = query.args.get("order")
    if order is None:
        return []
    keys = []
    for ordered in order.expressions:
        name = _output_column(ordered.this, query, names)
        if name is None:
            return None
        keys.append((name, "descending" if ordered.args.get("desc") else "ascending",
                     "at_start" if ordered.args.get("nulls_first") else "at_end"))
    return keys


def _output_column(key: exp.Expression, query: exp.Select, names: list[str]) -> str | None:
    if isinstance(key, exp.Literal) and not key.is_string:
        k = int(key.this)
        return names[k - 1] if 1 <= k <= len(names) else None
    if isinstance(key, exp.Column) and not key.table and key.name in names:
        return key.name  # Trino resolves an ORDER BY name to an output column first
    for name, item in zip(names, query.selects):
        if (item.this if isinstance(item, exp.Alias) else item) == key:
            return name
    return None


def restore(table: pa.Table, order: SortKeys) -> pa.Table:
    if not order or table.num_rows < 2:
        return table
    return table.sort_by(order)
