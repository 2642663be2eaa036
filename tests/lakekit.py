"""Write small hand-built lakes inside tests: rows as dicts, the contract fills the rest.

Columns a row omits get a neutral value of their type (NULL when nullable), so a test shows
only the columns that matter to it. Every one of the 17 tables is written (empty when not
given), so the lake is always complete.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from soxauto.lake.contract import contract

# Set by the session fixture in conftest.py: a folder every pytest-xdist worker of one run shares.
GENERATED_CACHE = "SOXAUTO_TEST_LAKE_CACHE"

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


def generated(root: Path, **args: Any) -> Path:
    """The demo lake ``generate(root, quiet=True, **args)`` would write, copied from one
    generation per distinct ``args`` per test run (shared by the parallel workers under a file
    lock). Sound because generation is byte-identical for equal arguments, which
    tests/lake/test_generate.py proves; each caller gets its own copy to change at will."""
    from soxauto.lake.generate import generate

    cache = os.environ.get(GENERATED_CACHE)
    if not cache:
        generate(root, quiet=True, **args)
        return root
    key = "-".join(f"{k}={args[k]}" for k in sorted(args)).replace("/", "_").replace(" ", "")
    folder = Path(cache) / key
    Path(cache).mkdir(parents=True, exist_ok=True)
    with open(Path(cache) / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "ground_truth.json").exists():
            partial = Path(cache) / f".{key}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            generate(partial, quiet=True, **args)
            partial.rename(folder)
    shutil.copytree(folder, root, dirs_exist_ok=True)
    return root
