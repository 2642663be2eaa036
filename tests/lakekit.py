"""Write small hand-built lakes inside tests: rows as dicts, the contract fills the rest.

Columns a row omits get a neutral value of their type (NULL when nullable), so a test shows
only the columns that matter to it. Every one of the 17 tables is written (empty when not
given), so the lake is always complete.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from soxauto.lake.contract import contract

NEUTRAL = {
    "id": "x",
    "money": Decimal("0.00"),
    "rate": Decimal("1.000000"),
    "date": date(2000, 1, 1),
    "ts": datetime(2000, 1, 1),
    "bool": False,
    "int": 0,
}


def D(text: str | int) -> Decimal:
    """Money literal: D('12.50')."""
    return Decimal(str(text))


def companies(*pairs: tuple[str, str]) -> list[dict]:
    """``ref.companies`` rows in consolidation scope, from (company id, currency) pairs."""
    return [{"company_id": c, "company_name": c, "country_code": c[-2:], "currency": cur, "in_conso_scope": True}
            for c, cur in pairs]


def table_of(qualified: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    spec = contract().table(qualified)
    full = []
    for row in rows:
        unknown = set(row) - set(spec.column_names)
        if unknown:
            raise KeyError(f"{qualified} has no column(s) {sorted(unknown)}")
        full.append({c.name: row.get(c.name, None if c.nullable else NEUTRAL[c.type]) for c in spec.columns})
    return pa.Table.from_pylist(full, schema=spec.arrow_schema())


def write_lake(root: Path, tables: Mapping[str, Iterable[Mapping[str, Any]]], fmt: str = "parquet") -> Path:
    for spec in contract().tables:
        folder = root / spec.schema / spec.name
        folder.mkdir(parents=True, exist_ok=True)
        table = table_of(spec.qualified, tables.get(spec.qualified, []))
        if fmt == "parquet":
            pq.write_table(table, folder / "part-0.parquet")
        else:
            pacsv.write_csv(table, folder / "part-0.csv")
    return root
