"""Values across the Athena API: execution parameters out, result rows back.

Athena's ``ExecutionParameters`` is a list of strings, one per ``?`` in text order; the server
parses each as one SQL literal (a string must be single-quoted, a date a typed literal). The
literals are built with sqlglot so quoting follows the Trino dialect's escaping rules; the
statement text itself never contains a value.

``GetQueryResults`` returns every value as text (``VarCharValue``; absent for NULL) with the
column types in ``ResultSetMetadata.ColumnInfo``; ``decode`` turns pages of rows into an Arrow
table of the declared types, money as decimal128 parsed from the text (never through float).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence

import pyarrow as pa
from sqlglot import exp

from ..errors import EngineError, UsageError


def literal(value: Any) -> str:
    """One execution parameter: the Trino literal Athena parses for ``value``."""
    if value is None:
        return exp.Null().sql(dialect="trino")
    if isinstance(value, bool):  # before int: bool is an int in Python
        return exp.Boolean(this=value).sql(dialect="trino")
    if isinstance(value, int):
        return exp.Literal.number(value).sql(dialect="trino")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise UsageError(f"parameter value {value} is not a finite decimal")
        return _typed("DECIMAL", format(value, "f"))
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise UsageError(f"parameter value {value.isoformat()} has a time zone; the lake's timestamps have none")
        return _typed("TIMESTAMP", value.isoformat(sep=" ", timespec="microseconds"))
    if isinstance(value, date):
        return _typed("DATE", value.isoformat())
    if isinstance(value, str):
        return exp.Literal.string(value).sql(dialect="trino")
    raise UsageError(f"parameter value {value!r} of type {type(value).__name__} cannot be sent to Athena; "
                     "use a string, integer, Decimal, date, datetime or boolean")


def _typed(keyword: str, text: str) -> str:
    # A typed literal (DATE '2025-09-30'): sqlglot only emits CAST(...), which Athena also
    # accepts, but the typed literal is what Athena's own examples and the evidence show.
    return keyword + " " + exp.Literal.string(text).sql(dialect="trino")


def literals(values: Sequence[Any]) -> list[str]:
    return [literal(v) for v in values]


# Athena type name (ColumnInfo.Type) -> Arrow type; decimal takes Precision and Scale.
_SIMPLE = {
    "varchar": pa.string(), "char": pa.string(), "string": pa.string(),
    "boolean": pa.bool_(),
    "tinyint": pa.int8(), "smallint": pa.int16(), "integer": pa.int32(), "int": pa.int32(), "bigint": pa.int64(),
    "date": pa.date32(), "timestamp": pa.timestamp("us"),
    "double": pa.float64(), "real": pa.float32(), "float": pa.float32(),
}


def arrow_type(info: dict) -> pa.DataType:
    name = str(info.get("Type", "")).lower()
    if name == "decimal":
        return pa.decimal128(int(info.get("Precision") or 38), int(info.get("Scale") or 0))
    if name in _SIMPLE:
        return _SIMPLE[name]
    raise EngineError(f"Athena returned column '{info.get('Name')}' of type '{name}', which SOXauto does not read; "
                      "cast it in the query to varchar, decimal, date, timestamp, boolean or an integer type")


def _parse(text: str, kind: pa.DataType) -> Any:
    if pa.types.is_string(kind):
        return text
    if pa.types.is_decimal(kind):
        return Decimal(text)
    if pa.types.is_boolean(kind):
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    if pa.types.is_integer(kind):
        return int(text)
    if pa.types.is_date(kind):
        return date.fromisoformat(text)
    if pa.types.is_timestamp(kind):
        return datetime.fromisoformat(text)
    return float(text)


def header_row(rows: list[dict], columns: list[dict]) -> list[dict]:
    """Rows without the header Athena puts first in the first page of a SELECT's results."""
    labels = [c.get("Label", c.get("Name")) for c in columns]
    if not rows or [d.get("VarCharValue") for d in rows[0].get("Data", [])] != labels:
        raise EngineError(f"Athena's first result row is not the header {labels}; the result cannot be read safely")
    return rows[1:]


def decode(columns: list[dict], rows: Iterable[dict]) -> pa.Table:
    """An Arrow table from ColumnInfo and data rows (header already removed)."""
    types = [arrow_type(c) for c in columns]
    names = [c["Name"] for c in columns]
    values: list[list[Any]] = [[] for _ in columns]
    for n, row in enumerate(rows, start=1):
        data = row.get("Data", [])
        if len(data) != len(columns):
            raise EngineError(f"Athena result row {n} has {len(data)} values for {len(columns)} columns")
        for i, cell in enumerate(data):
            text = cell.get("VarCharValue")
            try:
                values[i].append(None if text is None else _parse(text, types[i]))
            except (ValueError, ArithmeticError):
                raise EngineError(f"Athena result row {n}, column '{names[i]}': '{text}' is not a {types[i]}") from None
    arrays = []
    for name, v, t in zip(names, values, types):
        try:
            arrays.append(pa.array(v, type=t))
        except (pa.ArrowInvalid, OverflowError) as e:
            raise EngineError(f"Athena result column '{name}' does not fit its declared type {t}: {e}") from None
    return pa.Table.from_arrays(arrays, names=names)
