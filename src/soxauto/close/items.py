"""The proof items of a run: every key a bridge claims and every key left unexplained.

The reconciliation keeps its proof items in memory as Arrow tables; the run store keeps only
the figures. A close writes the items of each entity to ``<reports>/<run_id>/items/<ENTITY>.parquet``
so that the reports, the dashboard and the lake write-back list exactly the rows behind each
bridge total, without re-running a query. Columns:

    entity, period, line, bridge (bridge id, or UNEXPLAINED), key, amount_lcy DECIMAL(38,2),
    currency, material

ordered by the line's position in the pack, the bridge's order (UNEXPLAINED last) and key.
The file's SHA-256 and row count are recorded in the entity's reconcile step, so a reader can
tell the file is the one the close wrote.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import UsageError
from ..recon.result import PROOF_SCHEMA, EntityResult

UNEXPLAINED = "UNEXPLAINED"
SCHEMA = pa.schema([
    ("entity", pa.string()), ("period", pa.string()), ("line", pa.string()), ("bridge", pa.string()),
    ("key", pa.string()), ("amount_lcy", pa.decimal128(38, 2)), ("currency", pa.string()), ("material", pa.bool_()),
])


def items_path(reports_dir: Path, run_id: str, entity: str) -> Path:
    return Path(reports_dir) / run_id / "items" / f"{entity}.parquet"


def items_table(result: EntityResult) -> pa.Table:
    """Every proof item of the entity's lines, in the documented order."""
    parts = []
    for line in result.lines:
        groups = [(b.id, b.items) for b in line.bridges] + [(UNEXPLAINED, line.unexplained_items)]
        for bridge, items in groups:
            items = items.select(PROOF_SCHEMA.names).cast(PROOF_SCHEMA).sort_by([("key", "ascending")])
            n = items.num_rows

            def same(value: str) -> pa.Array:
                return pa.repeat(pa.scalar(value, pa.string()), n)

            parts.append(pa.table({
                "entity": same(result.company_id), "period": same(str(line.period)), "line": same(line.line),
                "bridge": same(bridge), "key": items["key"], "amount_lcy": items["amount_lcy"],
                "currency": same(line.currency), "material": items["material"],
            }, schema=SCHEMA))
    return pa.concat_tables(parts) if parts else SCHEMA.empty_table()


def write_items(reports_dir: Path, run_id: str, result: EntityResult) -> dict:
    """Write the entity's items atomically; returns what the reconcile step records."""
    table = items_table(result)
    path = items_path(reports_dir, run_id, result.company_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    os.replace(tmp, path)
    return {"path": str(path), "sha256": digest, "rows": table.num_rows}


def read_items(reports_dir: Path, run_id: str, *, entity: str | None = None, line: str | None = None,
               bridge: str | None = None) -> pa.Table:
    """The run's items, filtered. A run without items (none of its entities reconciled) is an
    error naming the folder, never an empty answer."""
    folder = Path(reports_dir) / run_id / "items"
    if entity is not None:
        files = [items_path(reports_dir, run_id, entity)]
        if not files[0].is_file():
            raise UsageError(f"run {run_id} has no proof items for entity {entity} (looked for {files[0]})")
    else:
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        if not files:
            raise UsageError(f"run {run_id} has no proof items under {folder}: was the run reconciled?")
    table = pa.concat_tables([pq.read_table(f, schema=SCHEMA) for f in files])
    for column, value in (("line", line), ("bridge", bridge)):
        if value is not None:
            table = table.filter(pc.equal(table[column], value))
    return table
