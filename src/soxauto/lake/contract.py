"""The source contract as typed values, loaded from ``contract.yaml`` beside this module."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import pyarrow as pa

from .. import yamlfile
from ..errors import UsageError, did_you_mean

# Logical type -> (SQL type in the canonical dialect, Arrow type written by the demo lake).
SQL_TYPES = {
    "id": "VARCHAR",
    "money": "DECIMAL(18, 2)",
    "rate": "DECIMAL(18, 6)",
    "date": "DATE",
    "ts": "TIMESTAMP",
    "bool": "BOOLEAN",
    "int": "BIGINT",
}
ARROW_TYPES = {
    "id": pa.string(),
    "money": pa.decimal128(18, 2),
    "rate": pa.decimal128(18, 6),
    "date": pa.date32(),
    "ts": pa.timestamp("us"),
    "bool": pa.bool_(),
    "int": pa.int64(),
}


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    nullable: bool

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.type]

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    def accepts(self, arrow_type: pa.DataType) -> bool:
        """Whether a physical Arrow type satisfies this logical type."""
        t = self.type
        if t == "id":
            return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type)
        if t in ("money", "rate"):
            want = ARROW_TYPES[t]
            return pa.types.is_decimal(arrow_type) and arrow_type.scale == want.scale and arrow_type.precision <= want.precision
        if t == "date":
            return pa.types.is_date(arrow_type)
        if t == "ts":
            return pa.types.is_timestamp(arrow_type) and arrow_type.tz is None
        if t == "bool":
            return pa.types.is_boolean(arrow_type)
        if t == "int":
            return pa.types.is_integer(arrow_type)
        raise AssertionError(t)


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    columns: tuple[ColumnSpec, ...]

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise UsageError(
            f"{self.qualified} has no column '{name}'{did_you_mean(name, self.column_names)}"
        )

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns])


@dataclass(frozen=True)
class Contract:
    tables: tuple[TableSpec, ...]

    def table(self, qualified: str) -> TableSpec:
        for t in self.tables:
            if t.qualified == qualified:
                return t
        raise UsageError(
            f"'{qualified}' is not a logical table of the source contract"
            f"{did_you_mean(qualified, self.names)}"
        )

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.qualified for t in self.tables)


def parse_type(text: str) -> tuple[str, bool]:
    nullable = text.endswith("?")
    base = text.rstrip("?")
    if base not in SQL_TYPES:
        raise UsageError(f"unknown logical type '{base}'{did_you_mean(base, SQL_TYPES)}")
    return base, nullable


@cache
def contract() -> Contract:
    raw = yamlfile.load(resources.files(__package__).joinpath("contract.yaml").read_text("utf-8"))
    tables = []
    for qualified, cols in raw.items():
        schema, name = qualified.split(".")
        specs = tuple(ColumnSpec(c, *parse_type(t)) for c, t in cols.items())
        tables.append(TableSpec(schema, name, specs))
    return Contract(tuple(tables))
