"""The proof items of a run: every key a bridge claims and every key left unexplained.

The reconciliation keeps its proof items in memory as Arrow tables; the run store keeps only
the figures. A close writes the items of each entity to ``<reports>/<run_id>/items/<ENTITY>.parquet``
so that the reports, the dashboard and the lake write-back list exactly the rows behind each
bridge total, without re-running a query. Columns:

    entity, period, line, bridge (bridge id, or UNEXPLAINED), key, amount_lcy DECIMAL(38,2),
    currency, material, and what explains the item (recon.items): nature, state (cleared |
    pending | uncleared, for timing and booking items), movement_lcy, cleared_lcy, open_lcy,
    first_cutoff (where its age run starts), window_end, age_days, disposition (explained |
    adjust), disposition_id, disposition_period

ordered by the line's position in the pack, the bridge's order (UNEXPLAINED last) and key.
Beside it, ``<ENTITY>.clearing.parquet`` holds the proof of clearing: every CR_06 entry of a
timing or booking item's key (entity, line, key, entry_no, document_no, posting_date,
amount_lcy presented like the line, counted: within the item's window and the data horizon).
The files' SHA-256 and row counts are recorded in the entity's reconcile step, so a reader can
tell the files are the ones the close wrote. Next month's close reads this file: the ages of
its items and the explained dispositions that roll forward come from here.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import UsageError
from ..recon.items import CLEARING_SCHEMA, ITEM_SCHEMA, UNCLAIMED
from ..recon.result import EntityResult

UNEXPLAINED = UNCLAIMED
LEAD = [("entity", pa.string()), ("period", pa.string()), ("line", pa.string()), ("bridge", pa.string())]
SCHEMA = pa.schema(LEAD + [ITEM_SCHEMA.field("key"), ITEM_SCHEMA.field("amount_lcy"), ("currency", pa.string())]
                   + [f for f in ITEM_SCHEMA if f.name not in ("key", "amount_lcy")])
CLEARING = pa.schema([("entity", pa.string()), ("line", pa.string())] + list(CLEARING_SCHEMA))


def items_path(reports_dir: Path, run_id: str, entity: str) -> Path:
    return Path(reports_dir) / run_id / "items" / f"{entity}.parquet"


def items_table(result: EntityResult) -> pa.Table:
    """Every proof item of the entity's lines, in the documented order."""
    parts = []
    for line in result.lines:
        groups = [(b.id, b.items) for b in line.bridges] + [(UNEXPLAINED, line.unexplained_items)]
        for bridge, items in groups:
            items = items.select(ITEM_SCHEMA.names).cast(ITEM_SCHEMA).sort_by([("key", "ascending")])
            n = items.num_rows
            lead = {"entity": result.company_id, "period": str(line.period), "line": line.line, "bridge": bridge,
                    "currency": line.currency}
            parts.append(pa.table({f.name: items[f.name] if f.name in ITEM_SCHEMA.names else pa.repeat(pa.scalar(lead[f.name], f.type), n)
                                   for f in SCHEMA}, schema=SCHEMA))
    return pa.concat_tables(parts) if parts else SCHEMA.empty_table()


def clearing_table(result: EntityResult) -> pa.Table:
    """The CR_06 entries behind each timing and booking item of the entity's lines."""
    parts = []
    for line in result.lines:
        rows = line.reconciling.clearing if line.reconciling is not None else CLEARING_SCHEMA.empty_table()
        n = rows.num_rows
        parts.append(pa.table({f.name: rows[f.name] if f.name in CLEARING_SCHEMA.names
                               else pa.repeat(pa.scalar(result.company_id if f.name == "entity" else line.line, f.type), n)
                               for f in CLEARING}, schema=CLEARING))
    return pa.concat_tables(parts) if parts else CLEARING.empty_table()


def clearing_path(reports_dir: Path, run_id: str, entity: str) -> Path:
    return Path(reports_dir) / run_id / "items" / f"{entity}.clearing.parquet"


def write_items(reports_dir: Path, run_id: str, result: EntityResult) -> dict:
    """Write the entity's items and their clearing entries atomically; returns what the
    reconcile step records."""
    out = _write(items_table(result), items_path(reports_dir, run_id, result.company_id))
    out["clearing"] = _write(clearing_table(result), clearing_path(reports_dir, run_id, result.company_id))
    return out


def _write(table: pa.Table, path: Path) -> dict:
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
        files = sorted(f for f in folder.glob("*.parquet") if not f.name.endswith(".clearing.parquet")) if folder.is_dir() else []
        if not files:
            raise UsageError(f"run {run_id} has no proof items under {folder}: was the run reconciled?")
    table = pa.concat_tables([pq.read_table(f, schema=SCHEMA) for f in files])
    for column, value in (("line", line), ("bridge", bridge)):
        if value is not None:
            table = table.filter(pc.equal(table[column], value))
    return table


def read_clearing(reports_dir: Path, run_id: str, entity: str, *, line: str | None = None) -> pa.Table:
    """The clearing entries the run recorded for an entity (its timing and booking items' proof)."""
    path = clearing_path(reports_dir, run_id, entity)
    if not path.is_file():
        raise UsageError(f"run {run_id} has no clearing entries for entity {entity} (looked for {path})")
    table = pq.read_table(path, schema=CLEARING)
    return table if line is None else table.filter(pc.equal(table["line"], line))
